//! The query surface of article lists that frontends build pages with: sparse
//! fieldsets, sort direction, exclusions, all-of and none-of tag filters and an
//! optional total.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp};

/// Publishes `slug` `days_ago` days ago with `tags`.
async fn publish(app: &TestApp, slug: &str, days_ago: i64, tags: &[&str]) -> Value {
    app.create_article(json!({
        "title": format!("Title {slug}"), "slug": slug, "body": "Some words here.",
        "status": "published", "published_at": Utc::now() - Duration::days(days_ago),
        "tags": tags,
    }))
    .await
}

fn slugs(page: &Value) -> Vec<&str> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect()
}

/// a (3 days ago, korea+mongolia), b (2, korea), c (1, mongolia+energy).
async fn three(app: &TestApp) {
    publish(app, "a", 3, &["Korea", "Mongolia"]).await;
    publish(app, "b", 2, &["Korea"]).await;
    publish(app, "c", 1, &["Mongolia", "Energy"]).await;
}

#[tokio::test]
async fn fields_keeps_only_the_fields_named_and_the_id() {
    let app = TestApp::spawn().await;
    three(&app).await;
    let page: Value = app
        .get_as("/api/v1/articles?fields=title,slug,excerpt", 200)
        .await;
    for item in page["items"].as_array().unwrap() {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["excerpt", "id", "slug", "title"], "{item}");
    }
    // Naming a part includes it.
    let page: Value = app
        .get_as("/api/v1/articles?fields=body&limit=1", 200)
        .await;
    assert_eq!(page["items"][0]["body"], "Some words here.");
    for bad in ["fields=title,nope", "fields=", "fields=title,,slug"] {
        let body = problem(app.get(&format!("/api/v1/articles?{bad}")).await, 400).await;
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains("fields"), "{bad}: {detail}");
    }
    let body = problem(app.get("/api/v1/articles?fields=title,nope").await, 400).await;
    assert!(
        body["detail"].as_str().unwrap().contains("`nope`"),
        "{body}"
    );
}

#[tokio::test]
async fn sort_takes_a_direction() {
    let app = TestApp::spawn().await;
    three(&app).await;
    for (sort, expected) in [
        ("published_at", ["c", "b", "a"]),
        ("-published_at", ["c", "b", "a"]),
        ("published_at:desc", ["c", "b", "a"]),
        ("published_at:asc", ["a", "b", "c"]),
        ("title", ["a", "b", "c"]),
        ("-title", ["c", "b", "a"]),
        ("title:asc", ["a", "b", "c"]),
        ("updated_at", ["c", "b", "a"]),
        ("updated_at:asc", ["a", "b", "c"]),
    ] {
        let page: Value = app
            .get_as(&format!("/api/v1/articles?sort={sort}"), 200)
            .await;
        assert_eq!(slugs(&page), expected, "sort={sort}");
        // Cursors page through in the same order.
        let mut seen = Vec::new();
        let mut path = format!("/api/v1/articles?sort={sort}&limit=1");
        loop {
            let page: Value = app.get_as(&path, 200).await;
            seen.extend(slugs(&page).iter().map(|s| s.to_string()));
            match page["next_cursor"].as_str() {
                Some(cursor) => {
                    path = format!("/api/v1/articles?sort={sort}&limit=1&cursor={cursor}")
                }
                None => break,
            }
        }
        assert_eq!(seen, expected, "paging sort={sort}");
    }
    // A draft (no date) comes last in either direction.
    app.create_article(json!({"title": "Draft", "slug": "d"}))
        .await;
    for sort in ["-published_at", "published_at:asc"] {
        let page: Value = app
            .get_as(&format!("/api/v1/articles?sort={sort}"), 200)
            .await;
        assert_eq!(slugs(&page).last(), Some(&"d"), "sort={sort}");
    }
    // A cursor of one direction is refused by the other.
    let page: Value = app.get_as("/api/v1/articles?sort=title&limit=1", 200).await;
    let cursor = page["next_cursor"].as_str().unwrap();
    let body = problem(
        app.get(&format!("/api/v1/articles?sort=-title&cursor={cursor}"))
            .await,
        400,
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("cursor"),
        "{body}"
    );
    for bad in ["-relevance", "title:up", "+title", "name"] {
        let body = problem(app.get(&format!("/api/v1/articles?sort={bad}")).await, 400).await;
        assert!(
            body["detail"].as_str().unwrap().contains("sort"),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn exclude_leaves_out_articles_by_id_or_slug() {
    let app = TestApp::spawn().await;
    three(&app).await;
    let a: Value = app.get_as("/api/v1/articles/a", 200).await;
    let id = a["id"].as_str().unwrap();
    let page: Value = app
        .get_as(&format!("/api/v1/articles?exclude={id},c"), 200)
        .await;
    assert_eq!(slugs(&page), ["b"]);
    let too_many = (0..51)
        .map(|n| format!("s{n}"))
        .collect::<Vec<_>>()
        .join(",");
    for (bad, says) in [("Not A Slug", "exclude"), (too_many.as_str(), "at most 50")] {
        let body = problem(
            app.get(&format!("/api/v1/articles?exclude={bad}")).await,
            400,
        )
        .await;
        assert!(body["detail"].as_str().unwrap().contains(says), "{body}");
    }
}

#[tokio::test]
async fn tag_filters_take_any_of_all_of_and_none_of() {
    let app = TestApp::spawn().await;
    three(&app).await;
    for (query, expected) in [
        ("tag=korea,energy", vec!["c", "b", "a"]),
        ("tag_all=korea,mongolia", vec!["a"]),
        ("tag_all=mongolia", vec!["c", "a"]),
        ("tag_none=korea", vec!["c"]),
        ("tag_none=korea,energy", vec![]),
        ("tag=mongolia&tag_none=energy", vec!["a"]),
        ("tag_all=korea&tag_none=mongolia", vec!["b"]),
        ("tag_none=unknown-tag", vec!["c", "b", "a"]),
    ] {
        let page: Value = app.get_as(&format!("/api/v1/articles?{query}"), 200).await;
        assert_eq!(slugs(&page), expected, "{query}");
    }
    // Each slug counts once; at most 20 per filter.
    let twenty_one = (0..21)
        .map(|n| format!("t{n}"))
        .collect::<Vec<_>>()
        .join(",");
    let repeated = vec!["korea"; 40].join(",");
    let page: Value = app
        .get_as(&format!("/api/v1/articles?tag_all={repeated}"), 200)
        .await;
    assert_eq!(slugs(&page), ["b", "a"]);
    for name in ["tag", "tag_all", "tag_none"] {
        let body = problem(
            app.get(&format!("/api/v1/articles?{name}={twenty_one}"))
                .await,
            400,
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("at most 20"),
            "{body}"
        );
    }
    for bad in ["tag_all=Not%20a%20slug", "tag_none=x%2Cy%20z"] {
        let body = problem(app.get(&format!("/api/v1/articles?{bad}")).await, 400).await;
        let name = bad.split('=').next().unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains(name),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn count_exact_adds_the_total_and_only_when_asked() {
    let app = TestApp::spawn().await;
    three(&app).await;
    let page: Value = app.get_as("/api/v1/articles?limit=1", 200).await;
    assert!(page.get("total").is_none(), "{page}");
    let page: Value = app
        .get_as("/api/v1/articles?limit=1&count=exact&tag=mongolia", 200)
        .await;
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    // The total is of the whole list, whichever page it comes with.
    let cursor = page["next_cursor"].as_str().unwrap();
    let next: Value = app
        .get_as(
            &format!("/api/v1/articles?limit=1&count=exact&tag=mongolia&cursor={cursor}"),
            200,
        )
        .await;
    assert_eq!(next["total"], 2);
    // The public counts only what it sees.
    app.create_article(json!({"title": "Draft", "tags": ["Mongolia"]}))
        .await;
    let page: Value = app
        .public_get("/api/v1/articles?count=exact&tag=mongolia")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    let page: Value = app
        .get_as("/api/v1/articles?count=exact&tag=mongolia", 200)
        .await;
    assert_eq!(page["total"], 3);
    let body = problem(app.get("/api/v1/articles?count=estimate").await, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("count"), "{body}");
}

/// A page of "Latest" without the article being read, with only what a teaser
/// shows, counts no more queries than a plain page.
#[tokio::test]
async fn the_query_surface_costs_no_extra_queries() {
    let app = TestApp::spawn().await;
    three(&app).await;
    let (_, plain) = app
        .count_queries(app.public_get("/api/v1/articles?limit=2"))
        .await;
    let (_, shaped) = app
        .count_queries(app.public_get(
            "/api/v1/articles?limit=2&fields=title,slug,excerpt&exclude=a&tag_none=energy&sort=-published_at",
        ))
        .await;
    assert_eq!(shaped, plain);
}
