//! The trash: deleting an article hides it everywhere without losing it; editors
//! restore it whole, admins purge it for good.

use std::time::Duration;

use cms::auth::Scope;
use cms::content::housekeeping::Retention;
use serde_json::{json, Value};

use crate::helpers::{problem, Expect, TestApp};

const ARTICLE: &str = "/api/v1/articles/korea-week";

async fn published_article(app: &TestApp) -> Value {
    app.create_article(json!({
        "title": "Korea Week",
        "body": "Trade is small [1].",
        "status": "published",
        "key_point_lists": [{"title": "Key points", "points": ["a", "b"]}],
        "citations": [{"title": "Korea Herald"}],
        "tags": ["Mongolia"]
    }))
    .await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_deleted_article_is_absent_everywhere_and_comes_back_whole() {
    let app = TestApp::spawn().await;
    let article = published_article(&app).await;
    let id = article["id"].as_str().unwrap().to_string();
    let before = app.get(ARTICLE).await;
    let etag = before.headers()["etag"].clone();
    let before: Value = before.json().await.unwrap();

    assert_eq!(app.delete(ARTICLE).await.status(), 204);
    let by_id = format!("/api/v1/articles/{id}");
    for path in [
        ARTICLE.to_string(),
        by_id.clone(),
        format!("{ARTICLE}/key-point-lists"),
        format!("{ARTICLE}/citations"),
        format!("{ARTICLE}/tags"),
    ] {
        problem(app.get(&path).await, 404).await;
        assert_eq!(app.public_get(&path).await.status().as_u16(), 404, "{path}");
    }
    problem(app.get(&format!("{ARTICLE}/revisions")).await, 404).await;
    for list in [
        "/api/v1/articles",
        "/api/v1/articles?status=published",
        "/api/v1/tags/mongolia/articles",
    ] {
        let page: Value = app.get_as(list, 200).await;
        assert!(ids(&page).is_empty(), "{list} lists it");
        let public = app.public_get(list).await;
        if public.status() != 404 {
            let public: Value = public.expect(200).await;
            assert!(ids(&public).is_empty(), "{list} lists it to the public");
        }
    }
    // Its only tag is no longer public either (no public article carries it).
    assert_eq!(app.public_get("/api/v1/tags/mongolia").await.status(), 404);
    // No writes reach it, and deleting it again finds nothing.
    problem(app.patch_json(ARTICLE, &json!({"title": "x"})).await, 404).await;
    problem(app.delete(ARTICLE).await, 404).await;

    let trash: Value = app.get_as("/api/v1/trash/articles", 200).await;
    assert_eq!(ids(&trash), std::slice::from_ref(&id));
    assert!(trash["items"][0]["trashed_at"].is_string());
    assert!(trash["items"][0]["trashed_by"].is_string());
    assert_eq!(trash["items"][0]["title"], "Korea Week");

    let restored = app
        .post(&format!("/api/v1/trash/articles/{id}/restore"))
        .await;
    assert_eq!(restored.headers()["etag"], etag, "the same representation");
    let restored: Value = restored.expect(200).await;
    assert_eq!(
        restored, before,
        "parts, tags, status and version as they were"
    );
    assert_eq!(app.get_as::<Value>(ARTICLE, 200).await, before);
    assert_eq!(app.public_get(ARTICLE).await.status(), 200);
    let trash: Value = app.get_as("/api/v1/trash/articles", 200).await;
    assert!(ids(&trash).is_empty());
    // Its history came back with it.
    let revisions: Value = app.get_as(&format!("{ARTICLE}/revisions"), 200).await;
    assert_eq!(revisions["items"].as_array().unwrap().len(), 1);
    problem(
        app.post(&format!("/api/v1/trash/articles/{id}/restore"))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_trashed_article_keeps_its_slug_until_it_is_purged() {
    let app = TestApp::spawn().await;
    let article = published_article(&app).await;
    let id = article["id"].as_str().unwrap().to_string();
    app.delete(ARTICLE).await;
    let explicit = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "Other", "slug": "korea-week"}),
        )
        .await;
    problem(explicit, 409).await;
    let derived = app.create_article(json!({"title": "Korea Week"})).await;
    assert_eq!(derived["slug"], "korea-week-2");

    assert_eq!(
        app.delete("/api/v1/trash/articles/korea-week")
            .await
            .status(),
        204
    );
    let trash: Value = app.get_as("/api/v1/trash/articles", 200).await;
    assert!(ids(&trash).is_empty());
    let db = app.db().await;
    for (table, of_article) in [
        ("key_point_lists", "article_id = $1"),
        (
            "key_points",
            "list_id IN (SELECT id FROM key_point_lists WHERE article_id = $1)",
        ),
        ("citations", "article_id = $1"),
        ("article_tags", "article_id = $1"),
        ("article_revisions", "article_id = $1"),
        ("articles", "id = $1"),
    ] {
        let count: i64 = db
            .query_one(
                &format!(
                    "SELECT count(*) FROM {table} WHERE {}",
                    of_article.replace("$1", "$1::text::uuid")
                ),
                &[&id],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(count, 0, "{table} kept rows of the purged article");
    }
    assert_eq!(
        app.get("/api/v1/tags/mongolia").await.status(),
        200,
        "tags stay"
    );
    let reused = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "Other", "slug": "korea-week"}),
        )
        .await;
    assert_eq!(reused.status(), 201, "the slug is free again");
}

#[tokio::test]
async fn editors_restore_and_only_admins_purge() {
    let app = TestApp::spawn().await;
    published_article(&app).await;
    app.delete(ARTICLE).await;
    let trash = "/api/v1/trash/articles";
    problem(app.public_get(trash).await, 401).await;
    let writer = app.token(&[Scope::ContentWrite]).await;
    let purge = app
        .public
        .delete(app.url(&format!("{trash}/korea-week")))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    problem(purge, 403).await;
    let restore = app
        .public
        .post(app.url(&format!("{trash}/korea-week/restore")))
        .bearer_auth(&writer)
        .send()
        .await
        .unwrap();
    assert_eq!(restore.status(), 200);
    // Only what is in the trash can be purged.
    problem(app.delete(&format!("{trash}/korea-week")).await, 404).await;
    assert_eq!(app.get(ARTICLE).await.status(), 200);
}

#[tokio::test]
async fn the_trash_can_purge_itself_after_a_set_age() {
    let app = TestApp::spawn().await;
    published_article(&app).await;
    app.create_article(json!({"title": "Recent"})).await;
    app.delete(ARTICLE).await;
    app.delete("/api/v1/articles/recent").await;
    let db = app.db().await;
    db.execute(
        "UPDATE articles SET trashed_at = now() - interval '31 days' WHERE slug = 'korea-week'",
        &[],
    )
    .await
    .unwrap();
    let mut conn = cms::db::connect(&app.db_config).await.unwrap();
    let removed = Retention::default().apply(&mut conn).await.unwrap();
    assert_eq!(
        removed.trashed_articles, 0,
        "by default the trash keeps all"
    );
    let thirty_days = Retention {
        revisions_keep: None,
        trash_purge_after: Some(Duration::from_secs(30 * 86_400)),
    };
    let removed = thirty_days.apply(&mut conn).await.unwrap();
    assert_eq!(removed.trashed_articles, 1);
    let trash: Value = app.get_as("/api/v1/trash/articles", 200).await;
    let slugs: Vec<&str> = trash["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["recent"]);
}

#[tokio::test]
async fn the_trash_pages_with_cursors() {
    let app = TestApp::spawn().await;
    for n in 0..5 {
        let title = format!("Article {n}");
        let article = app.create_article(json!({"title": title})).await;
        app.delete(&format!(
            "/api/v1/articles/{}",
            article["id"].as_str().unwrap()
        ))
        .await;
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/trash/articles?limit=2".to_string();
    loop {
        let page: Value = app.get_as(&path, 200).await;
        seen.extend(ids(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/trash/articles?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 5);
    assert_eq!(unique.len(), 5, "no article twice");
}
