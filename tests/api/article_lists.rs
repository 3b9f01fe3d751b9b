//! Article lists: summaries, filters, sorts, stable cursor pages, tag pages.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp};

/// An article published `days_ago` days ago, with tags.
async fn published(app: &TestApp, title: &str, days_ago: i64, tags: &[&str]) -> Value {
    app.create_article(json!({
        "title": title,
        "body": format!("Body of {title}"),
        "status": "published",
        "published_at": Utc::now() - Duration::days(days_ago),
        "key_point_lists": [{"points": ["one"]}],
        "citations": [{"title": "Source"}],
        "tags": tags,
    }))
    .await
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn lists_are_summaries_with_tags_newest_first() {
    let app = TestApp::spawn().await;
    published(&app, "Old", 3, &["Mongolia"]).await;
    published(&app, "New", 1, &["Korea"]).await;
    app.create_article(json!({"title": "Draft"})).await;
    let page: Value = app.get("/api/v1/articles").await.json().await.unwrap();
    assert_eq!(
        titles(&page),
        ["New", "Old", "Draft"],
        "drafts (no date) last"
    );
    let first = &page["items"][0];
    assert!(first.get("body").is_none(), "no body in summaries");
    assert!(first.get("key_point_lists").is_none());
    assert!(first.get("citations").is_none());
    assert_eq!(first["tags"][0]["slug"], "korea");
    assert_eq!(page["next_cursor"], Value::Null);
}

#[tokio::test]
async fn include_adds_parts_to_summaries() {
    let app = TestApp::spawn().await;
    published(&app, "One", 1, &[]).await;
    let page: Value = app
        .get("/api/v1/articles?include=body,key_point_lists,citations,body_html")
        .await
        .json()
        .await
        .unwrap();
    let item = &page["items"][0];
    assert_eq!(item["body"], "Body of One");
    assert_eq!(item["body_html"], "<p>Body of One</p>\n");
    assert_eq!(item["key_point_lists"][0]["points"][0]["text"], "one");
    assert_eq!(item["citations"][0]["title"], "Source");
    let body = problem(app.get("/api/v1/articles?include=comments").await, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("comments"));
}

#[tokio::test]
async fn lists_filter_by_status_tag_and_publication_date() {
    let app = TestApp::spawn().await;
    published(&app, "Mongolia 10", 10, &["Mongolia"]).await;
    published(&app, "Korea 5", 5, &["Korea"]).await;
    published(&app, "Both 2", 2, &["Mongolia", "Korea"]).await;
    app.create_article(json!({"title": "Draft", "tags": ["Mongolia"]}))
        .await;
    app.create_article(json!({"title": "Archived", "status": "archived"}))
        .await;

    let get = |query: &'static str| {
        let app = &app;
        async move {
            let page: Value = app
                .get(&format!("/api/v1/articles?{query}"))
                .await
                .json()
                .await
                .unwrap();
            titles(&page)
        }
    };
    assert_eq!(
        get("status=published").await,
        ["Both 2", "Korea 5", "Mongolia 10"]
    );
    assert_eq!(get("status=draft").await, ["Draft"]);
    assert_eq!(get("status=archived").await, ["Archived"]);
    assert_eq!(
        get("tag=mongolia").await,
        ["Both 2", "Mongolia 10", "Draft"]
    );
    assert_eq!(
        get("tag=mongolia,korea&status=published").await,
        ["Both 2", "Korea 5", "Mongolia 10"]
    );
    let after = (Utc::now() - Duration::days(7)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let before =
        (Utc::now() - Duration::days(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let page: Value = app
        .get(&format!(
            "/api/v1/articles?published_after={after}&published_before={before}"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titles(&page), ["Korea 5"]);
    problem(app.get("/api/v1/articles?status=gone").await, 400).await;
    problem(
        app.get("/api/v1/articles?published_after=yesterday").await,
        400,
    )
    .await;
}

#[tokio::test]
async fn lists_sort_by_title_or_by_last_change() {
    let app = TestApp::spawn().await;
    published(&app, "banana", 1, &[]).await;
    published(&app, "Apple", 2, &[]).await;
    published(&app, "cherry", 3, &[]).await;
    app.patch_json("/api/v1/articles/apple", &json!({"body": "edited"}))
        .await;
    let page: Value = app
        .get("/api/v1/articles?sort=title")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titles(&page), ["Apple", "banana", "cherry"]);
    let page: Value = app
        .get("/api/v1/articles?sort=updated_at")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titles(&page)[0], "Apple");
}

#[tokio::test]
async fn cursor_pages_cover_every_article_once_even_while_articles_are_added() {
    let app = TestApp::spawn().await;
    for i in 0..7 {
        published(&app, &format!("Article {i}"), 10 + i, &[]).await;
    }
    for sort in ["published_at", "title", "updated_at"] {
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/articles?limit=3&sort={sort}");
        let mut added = false;
        loop {
            let response = app.get(&path).await;
            let link = response
                .headers()
                .get("link")
                .map(|l| l.to_str().unwrap().to_string());
            let page: Value = response.json().await.unwrap();
            seen.extend(
                titles(&page)
                    .into_iter()
                    .filter(|t| t.starts_with("Article")),
            );
            if !added {
                // A newer article arrives while the client pages.
                published(&app, &format!("Newer {sort}"), 0, &[]).await;
                added = true;
            }
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    assert!(link.unwrap().contains(&format!("sort={sort}")));
                    path = format!("/api/v1/articles?limit=3&sort={sort}&cursor={cursor}");
                }
                None => break,
            }
        }
        let mut unique = seen.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(seen.len(), 7, "{sort}: every article once: {seen:?}");
        assert_eq!(unique.len(), 7, "{sort}: no repeats");
    }
}

#[tokio::test]
async fn a_cursor_from_another_sort_is_400() {
    let app = TestApp::spawn().await;
    for i in 0..3 {
        published(&app, &format!("A{i}"), i, &[]).await;
    }
    let page: Value = app
        .get("/api/v1/articles?limit=1")
        .await
        .json()
        .await
        .unwrap();
    let cursor = page["next_cursor"].as_str().unwrap();
    problem(
        app.get(&format!("/api/v1/articles?sort=title&cursor={cursor}"))
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn a_tag_lists_its_articles() {
    let app = TestApp::spawn().await;
    published(&app, "In Mongolia", 2, &["Mongolia"]).await;
    published(&app, "In Korea", 1, &["Korea"]).await;
    let response = app.get("/api/v1/tags/mongolia/articles").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("etag"));
    let page: Value = response.json().await.unwrap();
    assert_eq!(titles(&page), ["In Mongolia"]);
    problem(app.get("/api/v1/tags/nowhere/articles").await, 404).await;
}

#[tokio::test]
async fn the_list_etag_changes_when_an_article_changes() {
    let app = TestApp::spawn().await;
    published(&app, "One", 1, &[]).await;
    let etag = app.get("/api/v1/articles").await.headers()["etag"].clone();
    let same = app
        .client
        .get(app.url("/api/v1/articles"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(same.status(), 304);
    app.patch_json("/api/v1/articles/one", &json!({"title": "One, edited"}))
        .await;
    let changed = app
        .client
        .get(app.url("/api/v1/articles"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
}
