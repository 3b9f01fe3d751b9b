//! Every failure is an RFC 9457 problem (`application/problem+json`) with a stable
//! `type`, and changes nothing.

use serde_json::json;

use crate::helpers::{problem, TestApp, TestOptions};

async fn tag_count(app: &TestApp) -> i64 {
    app.db()
        .await
        .query_one("SELECT count(*) FROM tags", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn an_unknown_route_is_404() {
    let app = TestApp::spawn().await;
    let body = problem(app.get("/api/v1/nothing-here").await, 404).await;
    assert_eq!(body["type"], "/problems/not-found");
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .put(app.url("/api/v1/tags/some-tag"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["allow"], "GET, HEAD, PATCH, DELETE");
    let body = problem(response, 405).await;
    assert_eq!(body["type"], "/problems/method-not-allowed");

    let response = app.delete("/api/v1/tags").await;
    assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
    problem(response, 405).await;
}

#[tokio::test]
async fn options_on_a_known_path_lists_the_allowed_methods() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/tags"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["allow"], "GET, HEAD, POST");
}

#[tokio::test]
async fn malformed_json_is_400_saying_where_it_broke() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/tags"))
        .header("content-type", "application/json")
        .body("{\"name\": \"South Korea\",\n \"slug\": }")
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert_eq!(body["type"], "/problems/malformed-body");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("line 2, column"), "{detail}");
    assert_eq!(tag_count(&app).await, 0);
}

#[tokio::test]
async fn an_empty_body_is_400() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/tags"))
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("empty"));
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/tags"))
        .header("content-type", "text/plain")
        .body("name=South Korea")
        .send()
        .await
        .unwrap();
    let body = problem(response, 415).await;
    assert_eq!(body["type"], "/problems/unsupported-media-type");
    assert_eq!(tag_count(&app).await, 0);
}

#[tokio::test]
async fn merge_patch_json_is_accepted_as_json() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Mongolia"})).await;
    let response = app
        .client
        .patch(app.url("/api/v1/tags/mongolia"))
        .header("content-type", "application/merge-patch+json")
        .body(r#"{"description": "Landlocked, between China and Russia"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn_with(TestOptions {
        body_limit: 2048,
        ..TestOptions::default()
    })
    .await;
    let body = json!({"name": "Big", "description": "x".repeat(4000)});
    let body = problem(app.post_json("/api/v1/tags", &body).await, 413).await;
    assert_eq!(body["type"], "/problems/payload-too-large");
    assert!(body["detail"].as_str().unwrap().contains("2048"));
    assert_eq!(tag_count(&app).await, 0);
}

#[tokio::test]
async fn invalid_fields_are_422_with_a_message_per_field() {
    let app = TestApp::spawn().await;
    let body = json!({"name": "  ", "slug": "Not A Slug", "description": "d".repeat(2001)});
    let body = problem(app.post_json("/api/v1/tags", &body).await, 422).await;
    assert_eq!(body["type"], "/problems/validation-error");
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "slug", "description"]);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("empty"));
    assert_eq!(tag_count(&app).await, 0);
}

#[tokio::test]
async fn a_missing_field_is_422_naming_it() {
    let app = TestApp::spawn().await;
    let body = problem(app.post_json("/api/v1/tags", &json!({})).await, 422).await;
    assert_eq!(
        body["errors"],
        json!([{"field": "name", "message": "is required"}])
    );
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_422_naming_it() {
    let app = TestApp::spawn().await;
    let body = problem(
        app.post_json("/api/v1/tags", &json!({"name": 42})).await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "name");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("wrong type"), "{message}");
}

#[tokio::test]
async fn an_unknown_field_is_422_rather_than_silently_ignored() {
    let app = TestApp::spawn().await;
    let body = problem(
        app.post_json(
            "/api/v1/tags",
            &json!({"name": "Mongolia", "colour": "blue"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "colour");
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("not a known field"));
}

#[tokio::test]
async fn a_json_array_instead_of_an_object_is_422_without_internal_names() {
    let app = TestApp::spawn().await;
    let response = app.post_json("/api/v1/tags", &json!(["Mongolia"])).await;
    let text = problem(response, 422).await.to_string();
    assert!(text.contains("expected a JSON object"), "{text}");
    assert!(!text.contains("NewTag"), "{text}");
}

#[tokio::test]
async fn a_taken_slug_is_409() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "South Korea"})).await;
    let body = problem(
        app.post_json("/api/v1/tags", &json!({"name": "South  Korea!"}))
            .await,
        409,
    )
    .await;
    assert_eq!(body["type"], "/problems/conflict");
    assert!(body["detail"].as_str().unwrap().contains("south-korea"));
    assert_eq!(tag_count(&app).await, 1);
}

#[tokio::test]
async fn a_bad_query_parameter_is_400() {
    let app = TestApp::spawn().await;
    for query in ["limit=abc", "limit=0", "limit=101", "cursor=not-a-cursor"] {
        let body = problem(app.get(&format!("/api/v1/tags?{query}")).await, 400).await;
        assert_eq!(body["type"], "/problems/invalid-parameter", "{query}");
    }
}

#[tokio::test]
async fn an_unknown_query_parameter_is_400_naming_it() {
    let app = TestApp::spawn().await;
    app.create_article(json!({"title": "Korea Week", "status": "published"}))
        .await;
    for (path, unknown) in [
        ("/api/v1/articles?search=korea", "search"),
        ("/api/v1/articles?populate=*", "populate"),
        ("/api/v1/articles/korea-week?fields=title", "fields"),
        ("/api/v1/tags?order=name", "order"),
        ("/api/v1/tags/korea/articles?q=x&searchTerm=y", "searchTerm"),
        ("/api/v1/articles/korea-week/related?count=3", "count"),
        ("/api/v1/trash/articles?page=2", "page"),
    ] {
        let body = problem(app.get(path).await, 400).await;
        assert_eq!(body["type"], "/problems/invalid-parameter", "{path}");
        let detail = body["detail"].as_str().unwrap();
        assert!(detail.contains(&format!("`{unknown}`")), "{path}: {detail}");
    }
    // The public is told the same.
    problem(app.public_get("/api/v1/articles?search=korea").await, 400).await;
}

#[tokio::test]
async fn errors_never_leak_sql_or_internal_names() {
    let app = TestApp::spawn().await;
    let responses = [
        app.post_json("/api/v1/tags", &json!({"name": "\u{0000}"}))
            .await,
        app.get("/api/v1/tags/%00").await,
        app.post_json(
            "/api/v1/tags",
            &json!({"name": "a", "description": "nul\u{0000}"}),
        )
        .await,
        app.post_json(
            "/api/v1/tags",
            &json!({"name": "a", "slug": "a".repeat(300)}),
        )
        .await,
    ];
    for response in responses {
        assert!(response.status().is_client_error(), "{}", response.status());
        let text = response.text().await.unwrap().to_lowercase();
        for leak in [
            "select",
            "insert",
            "diesel",
            "postgres",
            "constraint",
            "panicked",
        ] {
            assert!(!text.contains(leak), "{leak} in {text}");
        }
    }
}

#[tokio::test]
async fn hostile_values_are_refused_with_4xx_never_500() {
    use base64::Engine;
    let app = TestApp::spawn().await;
    let forged = |json: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
    let gets = [
        "/api/v1/articles?tag=%00".to_string(),
        "/api/v1/articles?published_after=-5000-01-01T00:00:00Z".to_string(),
        format!(
            "/api/v1/articles?sort=title&cursor={}",
            forged(r#"{"T":["a\u0000","0192e4a0-0000-7000-8000-000000000000"]}"#)
        ),
        format!(
            "/api/v1/articles?cursor={}",
            forged(r#"{"P":["-5000-01-01T00:00:00Z","0192e4a0-0000-7000-8000-000000000000"]}"#)
        ),
        format!(
            "/api/v1/tags?cursor={}",
            forged(r#"["a\u0000","0192e4a0-0000-7000-8000-000000000000"]"#)
        ),
    ];
    for path in gets {
        let status = app.get(&path).await.status();
        assert_eq!(status, 400, "{path}");
    }
    let posts = [
        json!({"title": "t", "citations": [{"title": "c", "date": "-5000-01-01"}]}),
        json!({"title": "t", "citations": [{"title": "c", "url": "https://x.example/\u{0000}"}]}),
        json!({"title": "t", "status": "published", "published_at": "-5000-01-01T00:00:00Z"}),
        json!({"title": "t", "standfirst": "nul \u{0000}"}),
        json!({"title": "t", "tags": ["bad \u{0007} tag"]}),
    ];
    for body in posts {
        let response = app.post_json("/api/v1/articles", &body).await;
        assert_eq!(response.status(), 422, "{body}");
    }
    let page: serde_json::Value = app.get("/api/v1/articles").await.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
}
