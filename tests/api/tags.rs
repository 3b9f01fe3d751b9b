//! `/api/v1/tags`: topics shared by articles.

use cms::content::tags::Tag;
use serde_json::{json, Value};

use crate::helpers::{problem, Expect, TestApp};

#[tokio::test]
async fn creating_a_tag_derives_its_slug_from_the_name() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json("/api/v1/tags", &json!({"name": "South Korea"}))
        .await;
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let tag: Tag = response.expect(201).await;
    assert_eq!(
        (tag.slug.as_str(), tag.name.as_str()),
        ("south-korea", "South Korea")
    );
    assert_eq!((tag.description, tag.version), (None, 1));
    assert_eq!(location, format!("/api/v1/tags/{}", tag.id));
    assert!(etag.starts_with("\"v1-"), "{etag}");
}

#[tokio::test]
async fn slugs_are_derived_from_any_script() {
    let app = TestApp::spawn().await;
    for (name, slug) in [
        ("Zürich Café", "zurich-cafe"),
        ("Монголия", "mongoliia"),
        ("Goryeo–Mongol  alliance", "goryeo-mongol-alliance"),
    ] {
        let tag = app.create_tag(json!({"name": name})).await;
        assert_eq!(tag["slug"], slug, "slug of {name}");
    }
}

#[tokio::test]
async fn a_given_slug_is_kept() {
    let app = TestApp::spawn().await;
    let tag = app
        .create_tag(json!({"name": "K-pop", "slug": "korean-pop", "description": "Music"}))
        .await;
    assert_eq!(tag["slug"], "korean-pop");
    assert_eq!(tag["description"], "Music");
}

#[tokio::test]
async fn a_name_without_letters_or_digits_gets_a_generated_slug() {
    let app = TestApp::spawn().await;
    let tag = app.create_tag(json!({"name": "!!!"})).await;
    let slug = tag["slug"].as_str().unwrap();
    assert!(slug.starts_with("tag-") && slug.len() == 12, "{slug}");
    let tag = app
        .create_tag(json!({"name": "???", "slug": "questions"}))
        .await;
    assert_eq!(tag["slug"], "questions");
}

#[tokio::test]
async fn a_tag_is_reachable_by_id_and_by_slug() {
    let app = TestApp::spawn().await;
    let created = app.create_tag(json!({"name": "Mongolia"})).await;
    let id = created["id"].as_str().unwrap();
    for key in [id, "mongolia"] {
        let response = app.get(&format!("/api/v1/tags/{key}")).await;
        assert_eq!(response.status(), 200);
        assert!(response.headers().contains_key("etag"));
        let tag: Value = response.json().await.unwrap();
        assert_eq!(tag, created);
    }
}

#[tokio::test]
async fn an_unknown_tag_is_404() {
    let app = TestApp::spawn().await;
    for key in [
        "nope",
        "0192e4a0-0000-7000-8000-000000000000",
        "Not%20A%20Slug",
    ] {
        let body = problem(app.get(&format!("/api/v1/tags/{key}")).await, 404).await;
        assert_eq!(body["type"], "/problems/not-found");
    }
}

#[tokio::test]
async fn a_matching_if_none_match_gets_304() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let first = app.get("/api/v1/tags/mongolia").await;
    let etag = first.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/api/v1/tags/mongolia"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"], etag);
    assert!(again.bytes().await.unwrap().is_empty());

    let stale = app
        .client
        .get(app.url("/api/v1/tags/mongolia"))
        .header("if-none-match", "\"v0-0000000000000000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}

#[tokio::test]
async fn the_list_has_an_etag_and_honours_if_none_match() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let first = app.get("/api/v1/tags").await;
    let etag = first.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url("/api/v1/tags"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);

    app.create_tag(json!({"name": "Korea"})).await;
    let changed = app
        .client
        .get(app.url("/api/v1/tags"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200, "a new tag changes the list's ETag");
}

#[tokio::test]
async fn tags_are_listed_by_name_a_page_at_a_time() {
    let app = TestApp::spawn().await;
    for name in [
        "banana", "Apple", "cherry", "Zürich", "apricot", "Éclair", "date",
    ] {
        app.create_tag(json!({"name": name})).await;
    }
    let mut names = Vec::new();
    let mut path = "/api/v1/tags?limit=3".to_string();
    let mut pages = 0;
    loop {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 200);
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let page: Value = response.json().await.unwrap();
        pages += 1;
        assert!(page["items"].as_array().unwrap().len() <= 3);
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                let link = link.expect("a Link header when there is a next page");
                assert!(link.contains(cursor) && link.ends_with("rel=\"next\""));
                path = format!("/api/v1/tags?limit=3&cursor={cursor}");
            }
            None => {
                assert!(link.is_none());
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        ["Apple", "apricot", "banana", "cherry", "date", "Éclair", "Zürich"]
    );
}

#[tokio::test]
async fn pages_stay_stable_when_tags_are_added_meanwhile() {
    let app = TestApp::spawn().await;
    for name in ["b", "d", "f", "h"] {
        app.create_tag(json!({"name": name})).await;
    }
    let first: Value = app.get("/api/v1/tags?limit=2").await.json().await.unwrap();
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    app.create_tag(json!({"name": "a"})).await;
    app.create_tag(json!({"name": "c"})).await;
    let second: Value = app
        .get(&format!("/api/v1/tags?limit=2&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["f", "h"],
        "no row repeated or skipped after the cursor"
    );
}

#[tokio::test]
async fn the_default_page_has_twenty_tags() {
    let app = TestApp::spawn().await;
    for i in 0..25 {
        app.create_tag(json!({"name": format!("tag {i:02}")})).await;
    }
    let page: Value = app.get("/api/v1/tags").await.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 20);
    assert!(page["next_cursor"].is_string());
    let page: Value = app
        .get("/api/v1/tags?limit=100")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 25);
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn patching_a_tag_changes_only_the_fields_sent() {
    let app = TestApp::spawn().await;
    let created = app
        .create_tag(json!({"name": "Mongolia", "description": "A country"}))
        .await;
    let response = app
        .patch_json(
            "/api/v1/tags/mongolia",
            &json!({"name": "Mongolia (country)"}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["etag"]
        .to_str()
        .unwrap()
        .starts_with("\"v2-"));
    let tag: Value = response.json().await.unwrap();
    assert_eq!(tag["name"], "Mongolia (country)");
    assert_eq!(
        tag["slug"], "mongolia",
        "renaming keeps the slug, so links keep working"
    );
    assert_eq!(tag["description"], "A country");
    assert_eq!(tag["version"], 2);
    assert_eq!(tag["created_at"], created["created_at"]);
    assert_ne!(tag["updated_at"], created["updated_at"]);
}

#[tokio::test]
async fn patching_with_null_clears_the_description() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia", "description": "A country"}))
        .await;
    let tag: Value = app
        .patch_json("/api/v1/tags/mongolia", &json!({"description": null}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tag["description"], Value::Null);
}

#[tokio::test]
async fn patching_the_slug_moves_the_tag() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let response = app
        .patch_json("/api/v1/tags/mongolia", &json!({"slug": "mn"}))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.get("/api/v1/tags/mn").await.status(), 200);
    assert_eq!(app.get("/api/v1/tags/mongolia").await.status(), 404);
}

#[tokio::test]
async fn patching_to_a_taken_slug_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    app.create_tag(json!({"name": "Korea"})).await;
    problem(
        app.patch_json(
            "/api/v1/tags/korea",
            &json!({"slug": "mongolia", "name": "X"}),
        )
        .await,
        409,
    )
    .await;
    let korea: Value = app.get("/api/v1/tags/korea").await.json().await.unwrap();
    assert_eq!(korea["name"], "Korea");
    assert_eq!(korea["version"], 1);
}

#[tokio::test]
async fn an_empty_patch_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let tag: Value = app
        .patch_json("/api/v1/tags/mongolia", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tag["version"], 1);
}

#[tokio::test]
async fn an_invalid_patch_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let body = problem(
        app.patch_json(
            "/api/v1/tags/mongolia",
            &json!({"name": "", "slug": "ok-slug"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "name");
    assert_eq!(app.get("/api/v1/tags/ok-slug").await.status(), 404);
}

#[tokio::test]
async fn patching_an_unknown_tag_is_404() {
    let app = TestApp::spawn().await;
    problem(
        app.patch_json("/api/v1/tags/nope", &json!({"name": "x"}))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn a_write_with_a_stale_if_match_is_412_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let read = app.get("/api/v1/tags/mongolia").await;
    let etag = read.headers()["etag"].clone();

    // Editor A saves with the tag they read: accepted.
    let first = app
        .client
        .patch(app.url("/api/v1/tags/mongolia"))
        .header("if-match", etag.clone())
        .json(&json!({"description": "by editor A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);

    // Editor B saves with the same, now stale, tag: refused.
    let second = app
        .client
        .patch(app.url("/api/v1/tags/mongolia"))
        .header("if-match", etag.clone())
        .json(&json!({"description": "by editor B"}))
        .send()
        .await
        .unwrap();
    let body = problem(second, 412).await;
    assert_eq!(body["type"], "/problems/precondition-failed");
    let tag: Value = app.get("/api/v1/tags/mongolia").await.json().await.unwrap();
    assert_eq!(tag["description"], "by editor A");

    let delete = app
        .client
        .delete(app.url("/api/v1/tags/mongolia"))
        .header("if-match", etag)
        .send()
        .await
        .unwrap();
    problem(delete, 412).await;
    assert_eq!(app.get("/api/v1/tags/mongolia").await.status(), 200);
}

#[tokio::test]
async fn if_match_accepts_the_current_etag_star_and_rejects_weak_tags() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let etag = app.get("/api/v1/tags/mongolia").await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    let patch = |if_match: String, name: &'static str| {
        app.client
            .patch(app.url("/api/v1/tags/mongolia"))
            .header("if-match", if_match)
            .json(&json!({"name": name}))
            .send()
    };
    assert_eq!(
        patch(format!("W/{etag}"), "weak").await.unwrap().status(),
        412
    );
    assert_eq!(
        patch("\"garbage\"".into(), "garbage")
            .await
            .unwrap()
            .status(),
        412
    );
    assert_eq!(
        patch(format!("\"x\", {etag}"), "listed")
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(patch("*".into(), "star").await.unwrap().status(), 200);
}

#[tokio::test]
async fn deleting_a_tag_removes_it() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let response = app.delete("/api/v1/tags/mongolia").await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.get("/api/v1/tags/mongolia").await.status(), 404);
    problem(app.delete("/api/v1/tags/mongolia").await, 404).await;
}

#[tokio::test]
async fn deleting_with_the_current_etag_succeeds() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let etag = app.get("/api/v1/tags/mongolia").await.headers()["etag"].clone();
    let response = app
        .client
        .delete(app.url("/api/v1/tags/mongolia"))
        .header("if-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn each_test_has_its_own_database() {
    let a = TestApp::spawn().await;
    let b = TestApp::spawn().await;
    a.create_tag(json!({"name": "Only in A"})).await;
    let page: Value = b.get("/api/v1/tags").await.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn a_malformed_if_match_fails_the_precondition_and_a_malformed_if_none_match_is_ignored() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let patch = app
        .client
        .patch(app.url("/api/v1/tags/mongolia"))
        .header("if-match", "v1")
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let body = problem(patch, 412).await;
    assert!(body["detail"].as_str().unwrap().contains("If-Match"));
    let get = app
        .client
        .get(app.url("/api/v1/tags/mongolia"))
        .header("if-none-match", "no quotes")
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 200);
    let tag: Value = get.json().await.unwrap();
    assert_eq!(tag["name"], "Mongolia");
}

#[tokio::test]
async fn renaming_or_deleting_a_tag_changes_the_version_and_etag_of_exactly_its_articles() {
    let app = TestApp::spawn().await;
    let tagged = app
        .create_article(json!({"title": "Tagged", "tags": ["Mongolia", "Trade"]}))
        .await;
    let untagged = app
        .create_article(json!({"title": "Untagged", "tags": ["Trade"]}))
        .await;
    let read = |id: &str| {
        let path = format!("/api/v1/articles/{id}");
        let app = &app;
        async move {
            let response = app.get(&path).await;
            let etag = response.headers()["etag"].to_str().unwrap().to_string();
            let article: Value = response.json().await.unwrap();
            (article["version"].as_i64().unwrap(), etag, article)
        }
    };
    let tagged_id = tagged["id"].as_str().unwrap();
    let untagged_id = untagged["id"].as_str().unwrap();
    let (v1, etag1, _) = read(tagged_id).await;
    let (u1, uetag1, _) = read(untagged_id).await;

    let renamed = app
        .patch_json(
            "/api/v1/tags/mongolia",
            &json!({"name": "Mongolia (country)"}),
        )
        .await;
    assert_eq!(renamed.status(), 200);
    let (v2, etag2, article) = read(tagged_id).await;
    assert_eq!(v2, v1 + 1, "the article's representation changed");
    assert_ne!(etag2, etag1);
    assert_eq!(article["tags"][0]["name"], "Mongolia (country)");
    let (u2, uetag2, _) = read(untagged_id).await;
    assert_eq!((u2, uetag2.as_str()), (u1, uetag1.as_str()), "not its tag");

    // A description is not part of an article: no change.
    let described = app
        .patch_json(
            "/api/v1/tags/mongolia",
            &json!({"description": "The country"}),
        )
        .await;
    assert_eq!(described.status(), 200);
    assert_eq!(read(tagged_id).await.0, v2);

    // A new slug is part of it.
    let reslugged = app
        .patch_json(
            "/api/v1/tags/mongolia",
            &json!({"slug": "mongolia-country"}),
        )
        .await;
    assert_eq!(reslugged.status(), 200);
    let (v2b, _, article) = read(tagged_id).await;
    assert_eq!(v2b, v2 + 1);
    assert_eq!(article["tags"][0]["slug"], "mongolia-country");
    assert_eq!(read(untagged_id).await.0, u1);
    let (v2, etag2) = (v2b, read(tagged_id).await.1);

    let deleted = app.delete("/api/v1/tags/mongolia-country").await;
    assert_eq!(deleted.status(), 204);
    let (v3, etag3, article) = read(tagged_id).await;
    assert_eq!(v3, v2 + 1);
    assert_ne!(etag3, etag2);
    assert_eq!(article["tags"].as_array().unwrap().len(), 1);
    assert_eq!(read(untagged_id).await.0, u1);
}

/// The tag list can say how many published articles carry each tag, and sort by
/// it; drafts, future and trashed articles do not count.
#[tokio::test]
async fn the_tag_list_counts_published_articles_and_sorts_by_them() {
    let app = TestApp::spawn().await;
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    let future = chrono::Utc::now() + chrono::Duration::days(1);
    for tags in [
        vec!["Korea", "Mongolia"],
        vec!["Korea"],
        vec!["Korea", "Energy"],
    ] {
        app.create_article(json!({"title": "Published", "status": "published",
            "published_at": past, "tags": tags}))
            .await;
    }
    app.create_article(json!({"title": "Draft", "tags": ["Mongolia", "Energy"]}))
        .await;
    app.create_article(json!({"title": "Later", "status": "scheduled",
        "published_at": future, "tags": ["Energy"]}))
        .await;
    let gone = app
        .create_article(json!({"title": "Gone", "status": "published", "tags": ["Energy"]}))
        .await;
    let gone_id = gone["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/articles/{gone_id}"))
            .await
            .status(),
        204
    );
    app.create_tag(json!({"name": "Unused"})).await;

    let counts = |page: &Value| -> Vec<(String, Value)> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["slug"].as_str().unwrap().to_string(),
                    t["article_count"].clone(),
                )
            })
            .collect()
    };
    let page: Value = app.get_as("/api/v1/tags", 200).await;
    assert!(page["items"][0].get("article_count").is_none(), "{page}");
    let page: Value = app.get_as("/api/v1/tags?include=article_count", 200).await;
    assert_eq!(
        counts(&page),
        [
            ("energy".to_string(), json!(1)),
            ("korea".to_string(), json!(3)),
            ("mongolia".to_string(), json!(1)),
            ("unused".to_string(), json!(0)),
        ]
    );
    let page: Value = app.get_as("/api/v1/tags?sort=-article_count", 200).await;
    let order: Vec<String> = counts(&page).into_iter().map(|(slug, _)| slug).collect();
    assert_eq!(order, ["korea", "energy", "mongolia", "unused"]);
    // Paged one at a time, the order holds.
    let mut seen = Vec::new();
    let mut path = "/api/v1/tags?sort=-article_count&limit=1".to_string();
    loop {
        let page: Value = app.get_as(&path, 200).await;
        seen.extend(counts(&page).into_iter().map(|(slug, _)| slug));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/tags?sort=-article_count&limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, order);
    // The public sees only tags with a published article, with the same counts.
    let page: Value = app
        .public_get("/api/v1/tags?sort=-article_count")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        counts(&page),
        [
            ("korea".to_string(), json!(3)),
            ("energy".to_string(), json!(1)),
            ("mongolia".to_string(), json!(1)),
        ]
    );
    for bad in ["sort=article_count", "include=articles"] {
        problem(app.get(&format!("/api/v1/tags?{bad}")).await, 400).await;
    }
}
