//! SEO and social fields (with fallbacks a frontend uses blindly) and translation
//! groups (the same story in several languages, for `hreflang` links).

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{problem, Expect, TestApp};

#[tokio::test]
async fn meta_falls_back_to_the_articles_own_fields() {
    let app = TestApp::spawn().await;
    let bare = app
        .create_article(json!({"title": "Mongolia looks to Seoul",
            "body": "Ulaanbaatar is courting investors from South Korea. ".repeat(10)}))
        .await;
    assert_eq!(
        bare["seo"],
        json!({"meta_title": null, "meta_description": null, "canonical_url": null,
            "social_image_url": null, "noindex": false})
    );
    assert_eq!(bare["meta"]["title"], "Mongolia looks to Seoul");
    let description = bare["meta"]["description"].as_str().unwrap();
    assert!(description.starts_with("Ulaanbaatar is courting"));
    assert!(description.chars().count() <= 161, "{description}");
    assert_eq!(bare["meta"]["robots"], "index, follow");
    assert_eq!(bare["meta"]["canonical_url"], Value::Null);

    let with_standfirst = app
        .create_article(json!({"title": "T", "standfirst": "The short of it."}))
        .await;
    assert_eq!(with_standfirst["meta"]["description"], "The short of it.");

    let set = app
        .create_article(json!({"title": "T2", "seo": {
            "meta_title": "Search title", "meta_description": "Search description",
            "canonical_url": "https://partner.example/story",
            "social_image_url": "https://cdn.example/card.jpg", "noindex": true}}))
        .await;
    assert_eq!(
        set["meta"],
        json!({"title": "Search title", "description": "Search description",
            "canonical_url": "https://partner.example/story",
            "image_url": "https://cdn.example/card.jpg", "robots": "noindex"})
    );
    let id = set["id"].as_str().unwrap();

    // PATCH replaces the object whole; PUT without it clears it.
    let patched: Value = app
        .patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"seo": {"meta_title": "Only this"}}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(patched["seo"]["meta_title"], "Only this");
    assert_eq!(patched["seo"]["noindex"], false);
    assert_eq!(
        patched["meta"]["description"], "T2",
        "the title is all it has"
    );
    let replaced: Value = app
        .put_json(&format!("/api/v1/articles/{id}"), &json!({"title": "T2"}))
        .await
        .expect(200)
        .await;
    assert_eq!(replaced["seo"]["meta_title"], Value::Null);

    // Bad values name their field and change nothing.
    let response = app
        .patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"seo": {"canonical_url": "javascript:alert(1)",
                "meta_title": "x".repeat(301), "robots": "x"}}),
        )
        .await;
    problem(response, 422).await;
    let response = app
        .patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"seo": {"canonical_url": "javascript:alert(1)",
                "meta_title": "x".repeat(301)}}),
        )
        .await;
    let body = problem(response, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["seo.meta_title", "seo.canonical_url"]);
}

#[tokio::test]
async fn seo_fields_are_kept_by_revisions_and_pending_changes() {
    let app = TestApp::spawn().await;
    let article = app
        .create_article(json!({"title": "Live", "status": "published",
            "seo": {"meta_title": "First"}}))
        .await;
    let id = article["id"].as_str().unwrap();
    app.patch_json(
        &format!("/api/v1/articles/{id}"),
        &json!({"seo": {"meta_title": "Second"}}),
    )
    .await
    .expect::<Value>(200)
    .await;
    let first: Value = app
        .get(&format!("/api/v1/articles/{id}/revisions/1"))
        .await
        .expect(200)
        .await;
    assert_eq!(first["article"]["seo"]["meta_title"], "First");
    assert_eq!(first["article"]["meta"]["title"], "First");
    let restored: Value = app
        .post(&format!("/api/v1/articles/{id}/revisions/1/restore"))
        .await
        .expect(200)
        .await;
    assert_eq!(restored["meta"]["title"], "First");

    app.put_json(
        &format!("/api/v1/articles/{id}/pending"),
        &json!({"title": "Live", "seo": {"noindex": true}}),
    )
    .await
    .expect::<Value>(200)
    .await;
    let public: Value = app
        .public_get(&format!("/api/v1/articles/{id}"))
        .await
        .expect(200)
        .await;
    assert_eq!(public["meta"]["robots"], "index, follow", "not yet");
    let published: Value = app
        .post(&format!("/api/v1/articles/{id}/pending/publish"))
        .await
        .expect(200)
        .await;
    assert_eq!(published["meta"]["robots"], "noindex");
}

fn languages(translations: &Value) -> Vec<(&str, &str)> {
    translations
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["language"].as_str().unwrap(), t["slug"].as_str().unwrap()))
        .collect()
}

#[tokio::test]
async fn translations_list_each_other_and_the_public_sees_only_published_ones() {
    let app = TestApp::spawn().await;
    let past = Utc::now() - Duration::days(1);
    let mn = app
        .create_article(
            json!({"title": "Монгол", "slug": "story-mn", "language": "mn",
            "status": "published", "published_at": past}),
        )
        .await;
    let en = app
        .create_article(
            json!({"title": "Story", "slug": "story-en", "language": "en",
            "translation_of": "story-mn", "status": "published", "published_at": past}),
        )
        .await;
    assert_eq!(languages(&en["translations"]), [("mn", "story-mn")]);
    let ko = app
        .create_article(
            json!({"title": "이야기", "slug": "story-ko", "language": "ko",
            "translation_of": en["id"]}),
        )
        .await;
    assert_eq!(
        languages(&ko["translations"]),
        [("en", "story-en"), ("mn", "story-mn")]
    );

    // Editors see every member; the public only published ones, and the draft
    // leaks nothing.
    let editors: Value = app.get("/api/v1/articles/story-mn").await.expect(200).await;
    assert_eq!(
        languages(&editors["translations"]),
        [("en", "story-en"), ("ko", "story-ko")]
    );
    let public: Value = app
        .public_get("/api/v1/articles/story-mn")
        .await
        .expect(200)
        .await;
    assert_eq!(languages(&public["translations"]), [("en", "story-en")]);
    let list = app
        .public_get("/api/v1/articles?language=mn")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("story-en") && !list.contains("story-ko"));
    let page: Value = app
        .public_get("/api/v1/articles?language=en")
        .await
        .expect(200)
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);

    // Publishing the Korean one changes the others' representation, so their
    // entity tags change too (no stale 304).
    let response = app.public_get("/api/v1/articles/story-mn").await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    app.post(&format!(
        "/api/v1/articles/{}/publish",
        ko["id"].as_str().unwrap()
    ))
    .await
    .expect::<Value>(200)
    .await;
    let response = app
        .public
        .get(app.url("/api/v1/articles/story-mn"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let public: Value = response.json().await.unwrap();
    assert_eq!(public["translations"].as_array().unwrap().len(), 2);

    // An editor's If-Match with the tag they read still works.
    let response = app.get("/api/v1/articles/story-mn").await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let response = app
        .client
        .patch(app.url("/api/v1/articles/story-mn"))
        .header("if-match", &etag)
        .json(&json!({"standfirst": "Edited."}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = mn;
}

#[tokio::test]
async fn a_group_holds_one_article_per_language_and_articles_leave_it() {
    let app = TestApp::spawn().await;
    app.create_article(json!({"title": "A", "slug": "a-en", "language": "en"}))
        .await;
    app.create_article(json!({"title": "A", "slug": "a-ko", "language": "ko",
        "translation_of": "a-en"}))
        .await;
    // A second English article in the group: 409, and nothing was created.
    let response = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "B", "slug": "b-en", "language": "en", "translation_of": "a-ko"}),
        )
        .await;
    problem(response, 409).await;
    problem(app.get("/api/v1/articles/b-en").await, 404).await;
    // Nor may a member change its language to one the group has.
    let response = app
        .patch_json("/api/v1/articles/a-ko", &json!({"language": "en"}))
        .await;
    problem(response, 409).await;
    // Unknown targets and oneself are 422s naming `translation_of`.
    for of in ["nobody", "a-ko", "Not a slug"] {
        let response = app
            .patch_json("/api/v1/articles/a-ko", &json!({"translation_of": of}))
            .await;
        let body = problem(response, 422).await;
        assert_eq!(body["errors"][0]["field"], "translation_of", "{of}");
    }
    // Leaving the group.
    let left: Value = app
        .patch_json("/api/v1/articles/a-ko", &json!({"translation_of": null}))
        .await
        .expect(200)
        .await;
    assert_eq!(left["translations"], json!([]));
    let en: Value = app.get("/api/v1/articles/a-en").await.expect(200).await;
    assert_eq!(en["translations"], json!([]));

    // A trashed member leaves room; restoring it while its language is taken is a
    // 409 and it stays in the trash.
    app.patch_json("/api/v1/articles/a-ko", &json!({"translation_of": "a-en"}))
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.delete("/api/v1/articles/a-ko").await.status(), 204);
    app.create_article(json!({"title": "A2", "slug": "a2-ko", "language": "ko",
        "translation_of": "a-en"}))
        .await;
    let response = app.post("/api/v1/trash/articles/a-ko/restore").await;
    problem(response, 409).await;
}

#[tokio::test]
async fn translations_and_meta_cost_an_article_read_no_query() {
    let app = TestApp::spawn().await;
    let past = Utc::now() - Duration::days(1);
    app.create_article(
        json!({"title": "Alone", "slug": "alone", "status": "published",
        "published_at": past}),
    )
    .await;
    app.create_article(json!({"title": "One", "slug": "one", "status": "published",
        "published_at": past, "seo": {"meta_title": "M"}}))
        .await;
    app.create_article(json!({"title": "Two", "slug": "two", "language": "ko",
        "translation_of": "one", "status": "published", "published_at": past}))
        .await;
    let (_, alone) = app
        .count_queries(app.public_get("/api/v1/articles/alone"))
        .await;
    let (_, grouped) = app
        .count_queries(app.public_get("/api/v1/articles/one"))
        .await;
    assert_eq!(alone, grouped);
}
