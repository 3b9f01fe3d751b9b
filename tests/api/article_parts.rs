//! An article's parts as sub-resources: an editor changes one part without
//! resending the rest, and every change bumps the article's version.

use serde_json::{json, Value};

use crate::helpers::{problem, TestApp};

const ARTICLE: &str = "/api/v1/articles/korea-week";

async fn article(app: &TestApp) -> Value {
    app.create_article(json!({
        "title": "Korea Week",
        "key_point_lists": [{"title": "Key points", "points": ["a", "b", "c"]}],
        "citations": [{"title": "Korea Herald"}, {"title": "Cultural Center"}],
        "tags": ["Mongolia", "Culture"]
    }))
    .await
}

async fn version(app: &TestApp) -> i64 {
    let article: Value = app.get(ARTICLE).await.json().await.unwrap();
    article["version"].as_i64().unwrap()
}

fn texts(list: &Value) -> Vec<String> {
    list["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn key_point_lists_can_be_added_renamed_moved_and_deleted() {
    let app = TestApp::spawn().await;
    article(&app).await;
    let lists_path = format!("{ARTICLE}/key-point-lists");

    let response = app
        .post_json(
            &lists_path,
            &json!({"title": "Background", "points": ["x"], "position": 0}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert!(response.headers()["etag"]
        .to_str()
        .unwrap()
        .starts_with("\"v2-"));
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let added: Value = response.json().await.unwrap();
    assert_eq!(added["position"], 0);
    assert_eq!(app.get(&location).await.status(), 200);

    let lists: Value = app.get(&lists_path).await.json().await.unwrap();
    let titles: Vec<&str> = lists
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["title"].as_str().unwrap())
        .collect();
    assert_eq!(titles, ["Background", "Key points"]);

    let id = added["id"].as_str().unwrap();
    let moved: Value = app
        .patch_json(
            &format!("{lists_path}/{id}"),
            &json!({"title": "Context", "position": 1}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(moved["title"], "Context");
    assert_eq!(moved["position"], 1);

    assert_eq!(
        app.delete(&format!("{lists_path}/{id}")).await.status(),
        204
    );
    let lists: Value = app.get(&lists_path).await.json().await.unwrap();
    assert_eq!(lists.as_array().unwrap().len(), 1);
    assert_eq!(lists[0]["position"], 0);
    assert_eq!(version(&app).await, 4);
}

#[tokio::test]
async fn key_points_can_be_added_rewritten_moved_and_deleted() {
    let app = TestApp::spawn().await;
    let created = article(&app).await;
    let list_id = created["key_point_lists"][0]["id"].as_str().unwrap();
    let points_path = format!("{ARTICLE}/key-point-lists/{list_id}/points");
    let list_path = format!("{ARTICLE}/key-point-lists/{list_id}");

    let response = app
        .post_json(&points_path, &json!({"text": "first", "position": 0}))
        .await;
    assert_eq!(response.status(), 201);
    let point: Value = response.json().await.unwrap();
    let list: Value = app.get(&list_path).await.json().await.unwrap();
    assert_eq!(texts(&list), ["first", "a", "b", "c"]);

    let id = point["id"].as_str().unwrap();
    let response = app
        .patch_json(
            &format!("{points_path}/{id}"),
            &json!({"text": "last", "position": 3}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let list: Value = app.get(&list_path).await.json().await.unwrap();
    assert_eq!(texts(&list), ["a", "b", "c", "last"]);

    let b = list["points"][1]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("{points_path}/{b}")).await.status(),
        204
    );
    let list: Value = app.get(&list_path).await.json().await.unwrap();
    assert_eq!(texts(&list), ["a", "c", "last"]);
    let positions: Vec<i64> = list["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, [0, 1, 2]);
    assert_eq!(version(&app).await, 4);
}

#[tokio::test]
async fn a_position_past_the_end_appends_and_unknown_parts_are_404() {
    let app = TestApp::spawn().await;
    let created = article(&app).await;
    let list_id = created["key_point_lists"][0]["id"].as_str().unwrap();
    let point: Value = app
        .post_json(
            &format!("{ARTICLE}/key-point-lists/{list_id}/points"),
            &json!({"text": "x", "position": 9}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(point["position"], 3, "appended after a, b, c");
    problem(
        app.post_json(
            &format!("{ARTICLE}/key-point-lists/{list_id}/points"),
            &json!({"text": "x", "position": -1}),
        )
        .await,
        422,
    )
    .await;
    let unknown = "0192e4a0-0000-7000-8000-000000000000";
    problem(
        app.get(&format!("{ARTICLE}/key-point-lists/{unknown}"))
            .await,
        404,
    )
    .await;
    problem(
        app.get(&format!("{ARTICLE}/key-point-lists/not-a-uuid"))
            .await,
        404,
    )
    .await;
    problem(
        app.patch_json(
            &format!("{ARTICLE}/key-point-lists/{list_id}/points/{unknown}"),
            &json!({"text": "x"}),
        )
        .await,
        404,
    )
    .await;
    problem(
        app.delete(&format!("{ARTICLE}/citations/{unknown}")).await,
        404,
    )
    .await;
    assert_eq!(version(&app).await, 2, "only the appended point changed it");
}

#[tokio::test]
async fn a_list_of_another_article_cannot_be_reached_through_this_one() {
    let app = TestApp::spawn().await;
    article(&app).await;
    let other = app
        .create_article(json!({"title": "Other", "key_point_lists": [{"points": ["o"]}]}))
        .await;
    let foreign = other["key_point_lists"][0]["id"].as_str().unwrap();
    problem(
        app.get(&format!("{ARTICLE}/key-point-lists/{foreign}"))
            .await,
        404,
    )
    .await;
    problem(
        app.delete(&format!("{ARTICLE}/key-point-lists/{foreign}"))
            .await,
        404,
    )
    .await;
    let still: Value = app
        .get("/api/v1/articles/other")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(still["key_point_lists"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn citations_can_be_added_updated_renumbered_and_deleted() {
    let app = TestApp::spawn().await;
    article(&app).await;
    let path = format!("{ARTICLE}/citations");
    let response = app
        .post_json(
            &path,
            &json!({"title": "Columbia University", "url": "https://www.columbia.edu/"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let added: Value = response.json().await.unwrap();
    assert_eq!(added["number"], 3, "next free number");

    let id = added["id"].as_str().unwrap();
    let updated: Value = app
        .patch_json(
            &format!("{path}/{id}"),
            &json!({"number": 10, "url": null, "author": "Dept."}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(updated["number"], 10);
    assert_eq!(updated["url"], Value::Null);
    assert_eq!(updated["author"], "Dept.");
    assert_eq!(updated["title"], "Columbia University");

    let body = problem(
        app.patch_json(&format!("{path}/{id}"), &json!({"number": 1}))
            .await,
        409,
    )
    .await;
    assert_eq!(body["type"], "/problems/conflict");
    problem(
        app.post_json(&path, &json!({"title": "Dup", "number": 2}))
            .await,
        409,
    )
    .await;
    problem(
        app.post_json(
            &path,
            &json!({"title": "Bad", "url": "javascript:alert(1)"}),
        )
        .await,
        422,
    )
    .await;

    assert_eq!(app.delete(&format!("{path}/{id}")).await.status(), 204);
    let all: Value = app.get(&path).await.json().await.unwrap();
    let numbers: Vec<i64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, [1, 2], "the others keep their numbers");
    assert_eq!(version(&app).await, 4);
}

#[tokio::test]
async fn article_tags_can_be_added_moved_replaced_and_removed() {
    let app = TestApp::spawn().await;
    article(&app).await;
    let path = format!("{ARTICLE}/tags");
    let slugs = |tags: &Value| -> Vec<String> {
        tags.as_array()
            .unwrap()
            .iter()
            .map(|t| t["slug"].as_str().unwrap().to_string())
            .collect()
    };

    let tags: Value = app
        .post_json(&path, &json!({"tag": "Trade", "position": 0}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&tags), ["trade", "mongolia", "culture"]);
    let tags: Value = app
        .post_json(&path, &json!({"tag": "mongolia"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        slugs(&tags),
        ["trade", "culture", "mongolia"],
        "a tag it has moves"
    );

    let tags: Value = app
        .put_json(&path, &json!({"tags": ["culture", "Mining", "trade"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&tags), ["culture", "mining", "trade"]);

    assert_eq!(app.delete(&format!("{path}/mining")).await.status(), 204);
    let tags: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(slugs(&tags), ["culture", "trade"]);
    problem(app.delete(&format!("{path}/mining")).await, 404).await;
    assert_eq!(
        app.get("/api/v1/tags/mining").await.status(),
        200,
        "the tag itself stays"
    );
    assert_eq!(version(&app).await, 5);
}

#[tokio::test]
async fn part_writes_honour_the_articles_if_match() {
    let app = TestApp::spawn().await;
    article(&app).await;
    let etag = app.get(ARTICLE).await.headers()["etag"].clone();
    let ok = app
        .client
        .post(app.url(&format!("{ARTICLE}/citations")))
        .header("if-match", etag.clone())
        .json(&json!({"title": "New"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let next_etag = ok.headers()["etag"].clone();
    let stale = app
        .client
        .put(app.url(&format!("{ARTICLE}/tags")))
        .header("if-match", etag)
        .json(&json!({"tags": []}))
        .send()
        .await
        .unwrap();
    problem(stale, 412).await;
    let fresh = app
        .client
        .put(app.url(&format!("{ARTICLE}/tags")))
        .header("if-match", next_etag)
        .json(&json!({"tags": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        fresh.status(),
        200,
        "the ETag of a part write carries the article's version"
    );
}

#[tokio::test]
async fn whole_numbers_may_be_written_as_floats_but_fractions_and_empty_urls_are_refused() {
    let app = TestApp::spawn().await;
    article(&app).await;
    let response = app
        .post_json(
            &format!("{ARTICLE}/citations"),
            &json!({"title": "Float", "number": 7.0}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let citation: Value = response.json().await.unwrap();
    assert_eq!(citation["number"], 7);
    let body = problem(
        app.post_json(
            &format!("{ARTICLE}/citations"),
            &json!({"title": "Half", "number": 7.5}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "number");
    let body = problem(
        app.post_json(
            &format!("{ARTICLE}/citations"),
            &json!({"title": "No URL", "url": ""}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "url");
    let ok = app
        .post_json(
            &format!("{ARTICLE}/citations"),
            &json!({"title": "Null URL", "url": null}),
        )
        .await;
    assert_eq!(ok.status(), 201);
}

#[tokio::test]
async fn a_citation_after_the_highest_number_needs_a_number_of_its_own() {
    let app = TestApp::spawn().await;
    app.create_article(
        json!({"title": "Korea Week", "citations": [{"title": "Last", "number": 9999}]}),
    )
    .await;
    let body = problem(
        app.post_json(&format!("{ARTICLE}/citations"), &json!({"title": "Next"}))
            .await,
        409,
    )
    .await;
    assert!(body["detail"].as_str().unwrap().contains("9999"));
    let ok = app
        .post_json(
            &format!("{ARTICLE}/citations"),
            &json!({"title": "Next", "number": 5}),
        )
        .await;
    assert_eq!(ok.status(), 201);
    problem(
        app.post_json(
            "/api/v1/articles",
            &json!({"title": "Full", "citations": [{"title": "A", "number": 9999}, {"title": "B"}]}),
        )
        .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn deleting_a_tag_leaves_no_hole_that_breaks_adding_one() {
    let app = TestApp::spawn().await;
    app.create_article(json!({"title": "Korea Week", "tags": ["a", "b", "c"]}))
        .await;
    assert_eq!(app.delete("/api/v1/tags/b").await.status(), 204);
    let response = app
        .post_json(&format!("{ARTICLE}/tags"), &json!({"tag": "d"}))
        .await;
    assert_eq!(response.status(), 200);
    let tags: Value = response.json().await.unwrap();
    let slugs: Vec<&str> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["a", "c", "d"]);
}

#[tokio::test]
async fn a_new_tag_name_never_attaches_another_tag_with_the_same_derived_slug() {
    let app = TestApp::spawn().await;
    let csharp = app.create_tag(json!({"name": "C#", "slug": "c"})).await;
    app.create_article(json!({"title": "Korea Week", "tags": ["C++"]}))
        .await;
    let article: Value = app.get(ARTICLE).await.json().await.unwrap();
    let tag = &article["tags"][0];
    assert_eq!(tag["name"], "C++");
    assert_ne!(tag["id"], csharp["id"]);
    assert!(tag["slug"].as_str().unwrap().starts_with("c-"), "{tag}");
}

#[tokio::test]
async fn patches_that_change_nothing_keep_the_version() {
    let app = TestApp::spawn().await;
    let created = article(&app).await;
    let citation = created["citations"][0]["id"].as_str().unwrap();
    let list = &created["key_point_lists"][0];
    let list_id = list["id"].as_str().unwrap();
    let point_id = list["points"][0]["id"].as_str().unwrap();
    for (path, body) in [
        (format!("{ARTICLE}/citations/{citation}"), json!({})),
        (
            format!("{ARTICLE}/citations/{citation}"),
            json!({"title": "Korea Herald"}),
        ),
        (
            format!("{ARTICLE}/key-point-lists/{list_id}"),
            json!({"position": 0}),
        ),
        (
            format!("{ARTICLE}/key-point-lists/{list_id}/points/{point_id}"),
            json!({"text": "a", "position": 0}),
        ),
    ] {
        assert_eq!(app.patch_json(&path, &body).await.status(), 200, "{path}");
    }
    assert_eq!(version(&app).await, 1);
}

#[tokio::test]
async fn a_part_write_answers_the_etag_the_next_get_of_the_article_answers() {
    let app = TestApp::spawn().await;
    let citation = article(&app).await["citations"][0]["id"].clone();
    let citation = citation.as_str().unwrap();
    let mut etag = app.get(ARTICLE).await.headers()["etag"].clone();
    for (method, path, body) in [
        (
            "POST",
            format!("{ARTICLE}/citations"),
            json!({"title": "New"}),
        ),
        (
            "PUT",
            format!("{ARTICLE}/tags"),
            json!({"tags": ["Culture"]}),
        ),
        ("POST", format!("{ARTICLE}/tags"), json!({"tag": "Trade"})),
        (
            "POST",
            format!("{ARTICLE}/key-point-lists"),
            json!({"title": "Also", "points": ["One"]}),
        ),
        ("DELETE", format!("{ARTICLE}/tags/trade"), json!(null)),
        (
            "DELETE",
            format!("{ARTICLE}/citations/{citation}"),
            json!(null),
        ),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        // Chained: each write takes the tag the previous one answered.
        let written = app
            .client
            .request(method.clone(), app.url(&path))
            .header("if-match", etag.clone())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            written.status().is_success(),
            "{method} {path}: {}",
            written.status()
        );
        etag = written.headers()["etag"].clone();
        let read = app
            .client
            .get(app.url(ARTICLE))
            .header("if-none-match", etag.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            read.status(),
            304,
            "after {method} {path}, the article is as tagged"
        );
    }
}
