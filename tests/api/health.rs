//! Probes and what every response carries: request ids, CORS, compression.

use cms::config::CorsOrigins;
use serde_json::json;

use crate::helpers::{TestApp, TestOptions};

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_answers_when_the_database_is_reachable() {
    let app = TestApp::spawn().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ready"}));
}

#[tokio::test]
async fn every_response_carries_a_new_request_id() {
    let app = TestApp::spawn().await;
    let first = app.get("/healthz").await;
    let second = app.get("/no-such-page").await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    let (a, b) = (id(&first), id(&second));
    assert!(uuid::Uuid::parse_str(&a).is_ok(), "{a} is a UUID");
    assert_ne!(a, b, "each request gets its own id");
}

#[tokio::test]
async fn a_request_id_given_by_the_client_is_echoed() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/v1/tags"))
        .header("x-request-id", "editor-42.trace")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "editor-42.trace");
}

#[tokio::test]
async fn an_unusable_request_id_is_replaced() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "x".repeat(500))
        .send()
        .await
        .unwrap();
    let id = response.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
}

#[tokio::test]
async fn cors_lets_configured_origins_read_responses() {
    let app = TestApp::spawn_with(TestOptions {
        cors_origins: CorsOrigins::List(vec!["https://news.example".into()]),
        ..TestOptions::default()
    })
    .await;
    let allowed = app
        .client
        .get(app.url("/api/v1/tags"))
        .header("origin", "https://news.example")
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://news.example"
    );
    let exposed = allowed.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("etag") && exposed.contains("x-request-id"));

    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/tags"))
        .header("origin", "https://news.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, if-match")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://news.example"
    );

    let other = app
        .client
        .get(app.url("/api/v1/tags"))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn without_cors_origins_no_cors_headers_are_sent() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(app.url("/api/v1/tags"))
        .header("origin", "https://news.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_accepts_it() {
    let app = TestApp::spawn().await;
    for i in 0..30 {
        app.create_tag(
            json!({"name": format!("Topic number {i}"), "description": "x".repeat(200)}),
        )
        .await;
    }
    let response = app
        .client
        .get(app.url("/api/v1/tags?limit=30"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-encoding"], "gzip");
}
