//! `/api/v1/sections`: the managed list of sections, and each article's primary
//! section (its kicker).

use chrono::{Duration, Utc};
use cms::auth::Scope;
use serde_json::{json, Value};

use crate::helpers::{problem, Expect, TestApp};

async fn diplomacy(app: &TestApp) -> Value {
    app.post_json("/api/v1/sections", &json!({"name": "Diplomacy"}))
        .await
        .expect(201)
        .await
}

#[tokio::test]
async fn admins_keep_the_section_list_and_everyone_reads_it() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/api/v1/sections",
            &json!({"name": "Foreign Affairs", "description": "Beyond the borders."}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert!(response.headers().get("location").is_some());
    let section: Value = response.json().await.unwrap();
    assert_eq!(section["slug"], "foreign-affairs");
    diplomacy(&app).await;

    // Public: the list (by name) and each section, by slug or id.
    let list: Value = app.public_get("/api/v1/sections").await.expect(200).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Diplomacy", "Foreign Affairs"]);
    let id = section["id"].as_str().unwrap();
    let by_id: Value = app
        .public_get(&format!("/api/v1/sections/{id}"))
        .await
        .expect(200)
        .await;
    assert_eq!(by_id["slug"], "foreign-affairs");

    // Writes are an admin's: an editor's token is 403, none is 401.
    let editor = app.token(&[Scope::ContentWrite]).await;
    let client = reqwest::Client::new();
    let response = client
        .post(app.url("/api/v1/sections"))
        .bearer_auth(&editor)
        .json(&json!({"name": "Sport"}))
        .send()
        .await
        .unwrap();
    problem(response, 403).await;
    let response = client
        .post(app.url("/api/v1/sections"))
        .json(&json!({"name": "Sport"}))
        .send()
        .await
        .unwrap();
    problem(response, 401).await;

    // Clashes are 409; a bad field is 422 naming it.
    problem(
        app.post_json("/api/v1/sections", &json!({"name": "diplomacy"}))
            .await,
        409,
    )
    .await;
    let body = problem(
        app.post_json("/api/v1/sections", &json!({"name": " "}))
            .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "name", "{body}");

    // A stale If-Match is 412; the current one works.
    let response = app
        .client
        .patch(app.url("/api/v1/sections/foreign-affairs"))
        .header("if-match", "\"v9-0000000000000000000000000000\"")
        .json(&json!({"name": "World"}))
        .send()
        .await
        .unwrap();
    problem(response, 412).await;
    let response = app.get("/api/v1/sections/foreign-affairs").await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let renamed: Value = app
        .client
        .patch(app.url("/api/v1/sections/foreign-affairs"))
        .header("if-match", etag)
        .json(&json!({"name": "World", "description": null}))
        .send()
        .await
        .unwrap()
        .expect(200)
        .await;
    assert_eq!(renamed["name"], "World");
    assert_eq!(
        renamed["slug"], "foreign-affairs",
        "a rename keeps the slug"
    );
    assert_eq!(renamed["description"], Value::Null);
    assert_eq!(renamed["version"], 2);
}

#[tokio::test]
async fn there_are_at_most_200_sections() {
    let app = TestApp::spawn().await;
    app.db()
        .await
        .batch_execute(
            "INSERT INTO sections (id, slug, name) \
             SELECT gen_random_uuid(), 's-' || i, 'Section ' || i FROM generate_series(1, 199) i",
        )
        .await
        .unwrap();
    diplomacy(&app).await;
    let body = problem(
        app.post_json("/api/v1/sections", &json!({"name": "One too many"}))
            .await,
        409,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("200"), "{body}");
}

#[tokio::test]
async fn an_article_is_in_one_section_written_with_the_whole_article() {
    let app = TestApp::spawn().await;
    let section = diplomacy(&app).await;
    let article = app
        .create_article(json!({"title": "Envoy speaks", "section": "diplomacy"}))
        .await;
    assert_eq!(
        article["section"],
        json!({"id": section["id"], "slug": "diplomacy", "name": "Diplomacy"})
    );
    let id = article["id"].as_str().unwrap();

    // An unknown section is a 422 naming the field, and changes nothing.
    let body = problem(
        app.patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"section": "sport"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "section", "{body}");
    let body = problem(
        app.patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"section": "Not a slug"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "section", "{body}");
    let read: Value = app.get_as(&format!("/api/v1/articles/{id}"), 200).await;
    assert_eq!(read["section"]["slug"], "diplomacy");
    assert_eq!(read["version"], 1);

    // PATCH without it keeps it; null takes the article out; PUT without it too.
    let kept: Value = app
        .patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"title": "Envoy speaks up"}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(kept["section"]["slug"], "diplomacy");
    let out: Value = app
        .patch_json(&format!("/api/v1/articles/{id}"), &json!({"section": null}))
        .await
        .expect(200)
        .await;
    assert_eq!(out["section"], Value::Null);
    let back: Value = app
        .put_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"title": "Envoy speaks", "section": "diplomacy"}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(back["section"]["slug"], "diplomacy");
    let replaced: Value = app
        .put_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"title": "Envoy speaks"}),
        )
        .await
        .expect(200)
        .await;
    assert_eq!(replaced["section"], Value::Null);

    // Each change is a revision that holds the section, as a read showed it.
    let third: Value = app
        .get_as(&format!("/api/v1/articles/{id}/revisions/4"), 200)
        .await;
    assert_eq!(third["article"]["section"]["slug"], "diplomacy");
    let restored: Value = app
        .post(&format!("/api/v1/articles/{id}/revisions/4/restore"))
        .await
        .expect(200)
        .await;
    assert_eq!(restored["section"]["slug"], "diplomacy");
}

#[tokio::test]
async fn lists_filter_by_section_and_the_public_sees_only_published_articles() {
    let app = TestApp::spawn().await;
    diplomacy(&app).await;
    app.post_json("/api/v1/sections", &json!({"name": "Economy"}))
        .await
        .expect::<Value>(201)
        .await;
    let past = Utc::now() - Duration::days(1);
    for (slug, section) in [("a", "diplomacy"), ("b", "economy"), ("c", "diplomacy")] {
        app.create_article(json!({"title": slug, "slug": slug, "section": section,
            "status": "published", "published_at": past}))
            .await;
    }
    app.create_article(json!({"title": "draft", "slug": "d", "section": "diplomacy"}))
        .await;
    let slugs = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["slug"].as_str().unwrap().to_string())
            .collect()
    };
    let page: Value = app
        .public_get("/api/v1/articles?section=diplomacy&sort=title")
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&page), ["a", "c"]);
    let page: Value = app
        .public_get("/api/v1/sections/diplomacy/articles?sort=title")
        .await
        .expect(200)
        .await;
    assert_eq!(slugs(&page), ["a", "c"]);
    let page: Value = app
        .get_as("/api/v1/sections/diplomacy/articles?sort=title", 200)
        .await;
    assert_eq!(slugs(&page), ["a", "c", "d"]);
    let page: Value = app
        .get_as(
            "/api/v1/articles?section=diplomacy,economy&sort=title&count=exact",
            200,
        )
        .await;
    assert_eq!(page["total"], 4);
    // On a section's list, `section=` narrows: both must hold.
    let page: Value = app
        .get_as("/api/v1/sections/diplomacy/articles?section=economy", 200)
        .await;
    assert_eq!(slugs(&page), Vec::<String>::new());
    problem(app.public_get("/api/v1/sections/sport/articles").await, 404).await;
    problem(
        app.public_get("/api/v1/articles?section=Not%20a%20slug")
            .await,
        400,
    )
    .await;
}

#[tokio::test]
async fn renaming_a_section_changes_the_version_and_revision_of_exactly_its_articles() {
    let app = TestApp::spawn().await;
    diplomacy(&app).await;
    let inside = app
        .create_article(json!({"title": "In", "section": "diplomacy"}))
        .await;
    let outside = app.create_article(json!({"title": "Out"})).await;
    let response = app
        .patch_json("/api/v1/sections/diplomacy", &json!({"name": "Statecraft"}))
        .await;
    assert_eq!(response.status(), 200);
    let inside_id = inside["id"].as_str().unwrap();
    let read: Value = app
        .get_as(&format!("/api/v1/articles/{inside_id}"), 200)
        .await;
    assert_eq!(read["version"], 2);
    assert_eq!(read["section"]["name"], "Statecraft");
    assert_eq!(
        read["updated_at"], inside["updated_at"],
        "nobody edited the article"
    );
    let revision: Value = app
        .get_as(&format!("/api/v1/articles/{inside_id}/revisions/2"), 200)
        .await;
    assert_eq!(
        revision["article"], read,
        "the revision is the article as read"
    );
    let outside_id = outside["id"].as_str().unwrap();
    let read: Value = app
        .get_as(&format!("/api/v1/articles/{outside_id}"), 200)
        .await;
    assert_eq!(read["version"], 1);
    // A description alone changes no article.
    app.patch_json(
        "/api/v1/sections/diplomacy",
        &json!({"description": "Talks."}),
    )
    .await
    .expect::<Value>(200)
    .await;
    let read: Value = app
        .get_as(&format!("/api/v1/articles/{inside_id}"), 200)
        .await;
    assert_eq!(read["version"], 2);
}

#[tokio::test]
async fn a_section_in_use_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    diplomacy(&app).await;
    let article = app
        .create_article(json!({"title": "In", "section": "diplomacy"}))
        .await;
    let id = article["id"].as_str().unwrap();
    // Even trashed, the article is still in it.
    assert_eq!(
        app.delete(&format!("/api/v1/articles/{id}")).await.status(),
        204
    );
    let body = problem(app.delete("/api/v1/sections/diplomacy").await, 409).await;
    assert!(
        body["detail"].as_str().unwrap().contains("1 article"),
        "{body}"
    );
    app.post(&format!("/api/v1/trash/articles/{id}/restore"))
        .await
        .expect::<Value>(200)
        .await;
    app.patch_json(&format!("/api/v1/articles/{id}"), &json!({"section": null}))
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.delete("/api/v1/sections/diplomacy").await.status(), 204);
    problem(app.public_get("/api/v1/sections/diplomacy").await, 404).await;
    // Restoring a revision that named the deleted section leaves the article in
    // none (a section is an admin's to create again).
    let restored: Value = app
        .post(&format!("/api/v1/articles/{id}/revisions/1/restore"))
        .await
        .expect(200)
        .await;
    assert_eq!(restored["section"], Value::Null);
}

#[tokio::test]
async fn a_section_costs_an_article_read_no_query() {
    let app = TestApp::spawn().await;
    diplomacy(&app).await;
    let past = Utc::now() - Duration::days(1);
    app.create_article(
        json!({"title": "With", "slug": "with", "section": "diplomacy",
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
}

/// A rename is not an edit: pending changes saved before it still publish (and
/// carry the section over), and the revision diff names the section change.
#[tokio::test]
async fn a_rename_leaves_pending_changes_publishable_and_diffs_name_the_section() {
    let app = TestApp::spawn().await;
    diplomacy(&app).await;
    let article = app
        .create_article(json!({"title": "Live", "status": "published", "section": "diplomacy"}))
        .await;
    let id = article["id"].as_str().unwrap();
    app.put_json(
        &format!("/api/v1/articles/{id}/pending"),
        &json!({"title": "Live, edited", "section": "diplomacy"}),
    )
    .await
    .expect::<Value>(200)
    .await;
    app.patch_json("/api/v1/sections/diplomacy", &json!({"name": "Statecraft"}))
        .await
        .expect::<Value>(200)
        .await;
    let published: Value = app
        .post(&format!("/api/v1/articles/{id}/pending/publish"))
        .await
        .expect(200)
        .await;
    assert_eq!(published["title"], "Live, edited");
    assert_eq!(published["section"]["name"], "Statecraft");
    let out: Value = app
        .patch_json(&format!("/api/v1/articles/{id}"), &json!({"section": null}))
        .await
        .expect(200)
        .await;
    let version = out["version"].as_i64().unwrap();
    let diff: Value = app
        .get_as(
            &format!("/api/v1/articles/{id}/revisions/{version}/diff"),
            200,
        )
        .await;
    let fields: Vec<&str> = diff["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["section"], "{diff}");
}
