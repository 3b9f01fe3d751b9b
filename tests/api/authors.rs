//! `/api/v1/authors` and bylines: the people an article names, in order.

use chrono::{Duration, Utc};
use cms::auth::Scope;
use serde_json::{json, Value};

use crate::helpers::{problem, Expect, TestApp};

async fn author(app: &TestApp, name: &str) -> Value {
    app.post_json("/api/v1/authors", &json!({"name": name}))
        .await
        .expect(201)
        .await
}

fn slugs(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["slug"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn editors_keep_authors_and_the_public_sees_only_those_with_published_work() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/api/v1/authors",
            &json!({"name": "Aya Batbayar", "bio": "Covers East Asia.",
                "links": [{"label": "Website", "url": "https://example.com/aya"}]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("location").is_some());
    let aya: Value = response.json().await.unwrap();
    assert_eq!(aya["slug"], "aya-batbayar");
    assert_eq!(aya["links"][0]["url"], "https://example.com/aya");
    assert!(aya["created_by"].is_string(), "editors see who wrote it");
    // Names need not be unique: a second Aya Batbayar gets a numbered slug.
    let namesake = author(&app, "Aya Batbayar").await;
    assert_eq!(namesake["slug"], "aya-batbayar-2");
    // A slug given that is taken is a 409.
    let response = app
        .post_json(
            "/api/v1/authors",
            &json!({"name": "Other", "slug": "aya-batbayar"}),
        )
        .await;
    problem(response, 409).await;

    // Nobody has published yet: to the public there are no authors.
    let list: Value = app.public_get("/api/v1/authors").await.expect(200).await;
    assert_eq!(list["items"], json!([]));
    problem(app.public_get("/api/v1/authors/aya-batbayar").await, 404).await;
    app.create_article(json!({"title": "Draft", "authors": ["aya-batbayar"]}))
        .await;
    problem(app.public_get("/api/v1/authors/aya-batbayar").await, 404).await;

    // Once a published article names her, she is public, without token ids.
    app.create_article(json!({"title": "Live", "status": "published",
        "authors": ["aya-batbayar"]}))
        .await;
    let public: Value = app
        .public_get("/api/v1/authors/aya-batbayar")
        .await
        .expect(200)
        .await;
    assert_eq!(public["bio"], "Covers East Asia.");
    assert!(public.get("created_by").is_none() && public.get("updated_by").is_none());
    let list: Value = app.public_get("/api/v1/authors").await.expect(200).await;
    assert_eq!(slugs(&list["items"]), ["aya-batbayar"]);
    let list: Value = app.get("/api/v1/authors").await.expect(200).await;
    assert_eq!(slugs(&list["items"]), ["aya-batbayar", "aya-batbayar-2"]);

    // Writes need content:write.
    let reader = app.token(&[Scope::ContentRead]).await;
    let response = reqwest::Client::new()
        .post(app.url("/api/v1/authors"))
        .bearer_auth(&reader)
        .json(&json!({"name": "Sneaky"}))
        .send()
        .await
        .unwrap();
    problem(response, 403).await;
}

#[tokio::test]
async fn an_author_is_updated_with_if_match_and_bad_input_names_its_field() {
    let app = TestApp::spawn().await;
    author(&app, "Aya").await;
    let response = app
        .patch_json(
            "/api/v1/authors/aya",
            &json!({"bio": "x".repeat(5001), "links": [{"label": "", "url": "ftp://x"}]}),
        )
        .await;
    let body = problem(response, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["bio", "links[0].label", "links[0].url"]);
    let too_many: Vec<Value> = (0..11)
        .map(|i| json!({"label": format!("L{i}"), "url": "https://example.com"}))
        .collect();
    let response = app
        .patch_json("/api/v1/authors/aya", &json!({"links": too_many}))
        .await;
    problem(response, 422).await;

    let response = app.get("/api/v1/authors/aya").await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let updated: Value = app
        .client
        .patch(app.url("/api/v1/authors/aya"))
        .header("if-match", &etag)
        .json(&json!({"bio": "Seoul correspondent."}))
        .send()
        .await
        .unwrap()
        .expect(200)
        .await;
    assert_eq!(updated["version"], 2);
    // The old ETag no longer matches.
    let response = app
        .client
        .patch(app.url("/api/v1/authors/aya"))
        .header("if-match", &etag)
        .json(&json!({"bio": null}))
        .send()
        .await
        .unwrap();
    problem(response, 412).await;
}

#[tokio::test]
async fn an_article_carries_its_ordered_byline_written_with_the_whole_article() {
    let app = TestApp::spawn().await;
    author(&app, "Aya").await;
    author(&app, "Bold").await;
    let article = app
        .create_article(json!({"title": "Two hands", "authors": ["bold", "aya"]}))
        .await;
    assert_eq!(slugs(&article["authors"]), ["bold", "aya"]);
    let id = article["id"].as_str().unwrap();

    // An unknown author, or one named twice, is a 422 naming the entry.
    let response = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "X", "authors": ["aya", "nobody", "aya"]}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "authors[1]");
    assert_eq!(body["errors"][1]["field"], "authors[2]");

    // PATCH reorders; PUT without authors clears the byline.
    let patched: Value = app
        .patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"authors": ["aya", "bold"]}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&patched["authors"]), ["aya", "bold"]);
    let replaced: Value = app
        .put_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"title": "Two hands"}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(replaced["authors"], json!([]));

    // The sub-resource: add (at a position), list, remove.
    let byline: Value = app
        .post_json(
            &format!("/api/v1/articles/{id}/authors"),
            &json!({"author": "aya"}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&byline), ["aya"]);
    let byline: Value = app
        .post_json(
            &format!("/api/v1/articles/{id}/authors"),
            &json!({"author": "bold", "position": 0}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&byline), ["bold", "aya"]);
    let response = app
        .delete(&format!("/api/v1/articles/{id}/authors/bold"))
        .await;
    assert_eq!(response.status(), 204);
    let byline: Value = app
        .get(&format!("/api/v1/articles/{id}/authors"))
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&byline), ["aya"]);
    let response = app
        .delete(&format!("/api/v1/articles/{id}/authors/bold"))
        .await;
    problem(response, 404).await;
    let byline: Value = app
        .put_json(
            &format!("/api/v1/articles/{id}/authors"),
            &json!({"authors": ["bold", "aya"]}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&byline), ["bold", "aya"]);
    let article: Value = app
        .get(&format!("/api/v1/articles/{id}"))
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&article["authors"]), ["bold", "aya"]);
}

#[tokio::test]
async fn an_authors_articles_are_listed_and_filtered_for_the_audience() {
    let app = TestApp::spawn().await;
    author(&app, "Aya").await;
    author(&app, "Bold").await;
    let past = Utc::now() - Duration::days(1);
    app.create_article(json!({"title": "Hers", "slug": "hers", "authors": ["aya"],
        "status": "published", "published_at": past}))
        .await;
    app.create_article(json!({"title": "Theirs", "slug": "theirs",
        "authors": ["bold", "aya"], "status": "published"}))
        .await;
    app.create_article(json!({"title": "Her draft", "slug": "her-draft", "authors": ["aya"]}))
        .await;
    app.create_article(json!({"title": "His", "slug": "his", "authors": ["bold"],
        "status": "published"}))
        .await;

    let page: Value = app
        .public_get("/api/v1/authors/aya/articles")
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&page["items"]), ["theirs", "hers"]);
    let page: Value = app
        .get("/api/v1/authors/aya/articles")
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&page["items"]).len(), 3);
    let page: Value = app
        .public_get("/api/v1/articles?author=bold&sort=title")
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&page["items"]), ["his", "theirs"]);
    let page: Value = app
        .public_get("/api/v1/articles?author=aya,bold&sort=title")
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&page["items"]), ["hers", "his", "theirs"]);
    problem(
        app.public_get("/api/v1/articles?author=Not%20A%20Slug")
            .await,
        400,
    )
    .await;
    problem(app.public_get("/api/v1/authors/nobody/articles").await, 404).await;
}

#[tokio::test]
async fn public_reads_name_no_token_and_an_unpublished_byline_leaks_nothing() {
    let app = TestApp::spawn().await;
    author(&app, "Aya").await;
    app.post_json("/api/v1/sections", &json!({"name": "Diplomacy"}))
        .await
        .expect::<Value>(201)
        .await;
    app.create_article(
        json!({"title": "Live", "slug": "live", "status": "published",
        "authors": ["aya"], "section": "diplomacy", "tags": ["Seoul"]}),
    )
    .await;
    app.create_article(json!({"title": "Secret", "slug": "secret", "authors": ["aya"]}))
        .await;

    for path in [
        "/api/v1/articles/live",
        "/api/v1/articles?limit=5",
        "/api/v1/tags/seoul",
        "/api/v1/tags",
        "/api/v1/sections/diplomacy",
        "/api/v1/sections",
        "/api/v1/authors/aya",
        "/api/v1/authors",
    ] {
        let body = app.public_get(path).await.text().await.unwrap();
        assert!(
            !body.contains("created_by") && !body.contains("updated_by"),
            "{path} names a token: {body}"
        );
    }
    let editors = app.get("/api/v1/articles/live").await.text().await.unwrap();
    assert!(editors.contains("created_by"));

    // The draft, its byline and the author's unpublished work stay hidden.
    problem(app.public_get("/api/v1/articles/secret").await, 404).await;
    problem(app.public_get("/api/v1/articles/secret/authors").await, 404).await;
    let page = app
        .public_get("/api/v1/authors/aya/articles")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("secret"));
}

#[tokio::test]
async fn an_author_on_a_byline_is_not_deleted_and_a_rename_versions_their_articles() {
    let app = TestApp::spawn().await;
    author(&app, "Aya").await;
    let article = app
        .create_article(json!({"title": "Hers", "authors": ["aya"]}))
        .await;
    let id = article["id"].as_str().unwrap();
    let body = problem(app.delete("/api/v1/authors/aya").await, 409).await;
    assert!(body["detail"].as_str().unwrap().contains("1 article"));

    let renamed: Value = app
        .patch_json(
            "/api/v1/authors/aya",
            &json!({"name": "Aya B.", "slug": "aya-b"}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(renamed["slug"], "aya-b");
    let read: Value = app
        .get(&format!("/api/v1/articles/{id}"))
        .await
        .expect(200)
        .await;
    assert_eq!(read["version"], 2);
    assert_eq!(read["authors"][0]["name"], "Aya B.");
    let diff: Value = app
        .get(&format!("/api/v1/articles/{id}/revisions/2/diff"))
        .await
        .expect(200)
        .await;
    assert_eq!(diff["fields"][0]["field"], "authors");

    // Restoring the first revision puts back the byline as recorded (by id).
    let restored: Value = app
        .post(&format!("/api/v1/articles/{id}/revisions/1/restore"))
        .await
        .expect(200)
        .await;
    assert_eq!(restored["authors"][0]["slug"], "aya-b");

    app.patch_json(&format!("/api/v1/articles/{id}"), &json!({"authors": []}))
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.delete("/api/v1/authors/aya-b").await.status(), 204);
    // An author deleted since drops out of a restored byline.
    let restored: Value = app
        .post(&format!("/api/v1/articles/{id}/revisions/1/restore"))
        .await
        .expect(200)
        .await;
    assert_eq!(restored["authors"], json!([]));
}

#[tokio::test]
async fn a_byline_costs_an_article_read_or_a_list_no_query() {
    let app = TestApp::spawn().await;
    author(&app, "Aya").await;
    author(&app, "Bold").await;
    let past = Utc::now() - Duration::days(1);
    app.create_article(
        json!({"title": "With", "slug": "with", "authors": ["aya", "bold"],
        "status": "published", "published_at": past}),
    )
    .await;
    app.create_article(json!({"title": "Without", "slug": "without",
        "status": "published", "published_at": past}))
        .await;
    let (_, with) = app
        .count_queries(app.public_get("/api/v1/articles/with"))
        .await;
    let (_, without) = app
        .count_queries(app.public_get("/api/v1/articles/without"))
        .await;
    assert_eq!(with, without);
    let (_, one) = app
        .count_queries(app.public_get("/api/v1/articles?limit=1"))
        .await;
    let (_, two) = app
        .count_queries(app.public_get("/api/v1/articles?limit=2"))
        .await;
    assert_eq!(one, two);
}
