//! Responses a CDN can cache and purge exactly: `Cache-Control` by who asked,
//! `Vary: Authorization`, surrogate keys naming what an answer shows (and the
//! same keys in webhook payloads).

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{Expect, TestApp};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[tokio::test]
async fn public_reads_are_cacheable_and_name_what_they_show() {
    let app = TestApp::spawn().await;
    let past = Utc::now() - Duration::days(1);
    app.post_json("/api/v1/sections", &json!({"name": "Diplomacy"}))
        .await
        .expect::<Value>(201)
        .await;
    let author: Value = app
        .post_json("/api/v1/authors", &json!({"name": "Aya"}))
        .await
        .expect(201)
        .await;
    let article = app
        .create_article(
            json!({"title": "Cached", "slug": "cached", "status": "published",
            "published_at": past, "tags": ["Mongolia"], "section": "diplomacy",
            "authors": ["aya"]}),
        )
        .await;

    let response = app.public_get("/api/v1/articles/cached").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        header(&response, "cache-control"),
        "public, max-age=0, s-maxage=60, stale-while-revalidate=30"
    );
    assert!(header(&response, "vary").contains("Authorization"));
    let keys = header(&response, "surrogate-key");
    let keys: Vec<&str> = keys.split(' ').collect();
    assert!(keys.contains(&format!("article-{}", article["id"].as_str().unwrap()).as_str()));
    assert!(keys.contains(&format!("tag-{}", article["tags"][0]["id"].as_str().unwrap()).as_str()));
    assert!(keys.contains(&format!("author-{}", author["id"].as_str().unwrap()).as_str()));
    assert!(
        keys.contains(&format!("section-{}", article["section"]["id"].as_str().unwrap()).as_str())
    );
    assert_eq!(header(&response, "cache-tag"), keys.join(","));

    // A 304 is cacheable the same way.
    let etag = header(&response, "etag");
    let not_modified = app
        .public
        .get(app.url("/api/v1/articles/cached"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    assert!(header(&not_modified, "cache-control").starts_with("public"));

    // Lists name `articles` and each item.
    let list = app.public_get("/api/v1/articles").await;
    let keys = header(&list, "surrogate-key");
    assert!(keys.starts_with("articles "), "{keys}");
    assert!(keys.contains(&format!("article-{}", article["id"].as_str().unwrap())));

    // What a token unlocked is never stored; errors neither.
    let with_token = app.get("/api/v1/articles/cached").await;
    assert_eq!(header(&with_token, "cache-control"), "private, no-store");
    assert!(header(&with_token, "vary").contains("Authorization"));
    let missing = app.public_get("/api/v1/articles/nothing-here").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, "cache-control"), "no-store");
    // Writes are not marked cacheable.
    let created = app
        .post_json("/api/v1/tags", &json!({"name": "Fresh"}))
        .await;
    assert_eq!(created.status(), 201);
    assert!(created.headers().get("cache-control").is_none());
    // Files keep their own (immutable) policy; feeds theirs.
    let feed = app.public_get("/feeds/latest.json").await;
    assert_eq!(header(&feed, "cache-control"), "public, max-age=60");
}
