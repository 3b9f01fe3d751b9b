//! The API outlives its database: while PostgreSQL is away requests fail fast with
//! 503, and they succeed again once it is back, with no restart.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{problem, TestApp, TestOptions};

#[tokio::test]
async fn requests_fail_fast_with_503_while_the_database_is_down_then_recover() {
    let app = TestApp::spawn_with(TestOptions {
        behind_proxy: true,
        ..TestOptions::default()
    })
    .await;
    let proxy = app.proxy.as_ref().unwrap();
    app.create_tag(json!({"name": "Before"})).await;

    proxy.go_down();
    for path in ["/api/v1/tags", "/api/v1/tags/before", "/readyz"] {
        let started = Instant::now();
        let response = app.get(path).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path} fails fast"
        );
        assert_eq!(response.headers()["retry-after"], "5");
        let body = problem(response, 503).await;
        assert_eq!(body["type"], "/problems/service-unavailable");
        let text = body.to_string().to_lowercase();
        assert!(!text.contains("connection refused") && !text.contains("postgres"));
    }
    let write = app
        .post_json("/api/v1/tags", &json!({"name": "During"}))
        .await;
    problem(write, 503).await;
    // The liveness probe does not need the database.
    assert_eq!(app.get("/healthz").await.status(), 200);

    proxy.come_back();
    let response = app.get("/api/v1/tags/before").await;
    assert_eq!(response.status(), 200, "recovered without a restart");
    assert_eq!(app.get("/readyz").await.status(), 200);
    app.create_tag(json!({"name": "After"})).await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let app = TestApp::spawn_with(TestOptions {
        behind_proxy: true,
        ..TestOptions::default()
    })
    .await;
    app.create_tag(json!({"name": "Slow"})).await;
    let proxy = app.proxy.as_ref().unwrap();
    proxy.set_delay(Duration::from_millis(700));

    let in_flight = tokio::spawn({
        let client = app.client.clone();
        let url = app.url("/api/v1/tags/slow");
        async move { client.get(url).send().await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stopping = tokio::spawn({
        let server = app.server.clone();
        async move { server.stop(true).await }
    });

    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    stopping.await.unwrap();
    let after = app.client.get(app.url("/healthz")).send().await;
    assert!(after.is_err(), "no new connections after shutdown");
}
