//! Publishing: publish, schedule, unpublish, archive, and the publishing check.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp};

const PATH: &str = "/api/v1/articles/korea-week";

async fn draft(app: &TestApp, body: &str) -> Value {
    app.create_article(json!({
        "title": "Korea Week",
        "body": body,
        "citations": [{"title": "Korea Herald"}]
    }))
    .await
}

#[tokio::test]
async fn publishing_makes_an_article_published_now() {
    let app = TestApp::spawn().await;
    draft(&app, "Taekwondo and music [1].").await;
    let before = Utc::now();
    let response = app.post(&format!("{PATH}/publish")).await;
    assert_eq!(response.status(), 200);
    let article: Value = response.json().await.unwrap();
    assert_eq!(article["status"], "published");
    let at: chrono::DateTime<Utc> = article["published_at"].as_str().unwrap().parse().unwrap();
    assert!(at >= before - Duration::seconds(1) && at <= Utc::now());
    assert_eq!(article["version"], 2);
}

#[tokio::test]
async fn publishing_checks_every_citation_reference_and_publishes_nothing_on_failure() {
    let app = TestApp::spawn().await;
    draft(
        &app,
        "Known [1], unknown [4] and [7], a link [2](https://x.example).",
    )
    .await;
    let body = problem(app.post(&format!("{PATH}/publish")).await, 422).await;
    assert_eq!(body["type"], "/problems/validation-error");
    let messages: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "refers to [4], but the article has no citation 4",
            "refers to [7], but the article has no citation 7"
        ]
    );
    let article: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(article["status"], "draft");
    assert_eq!(article["version"], 1, "nothing changed");
}

#[tokio::test]
async fn a_published_article_cannot_be_edited_into_failing_the_check() {
    let app = TestApp::spawn().await;
    draft(&app, "Known [1].").await;
    app.post(&format!("{PATH}/publish")).await;
    problem(
        app.patch_json(PATH, &json!({"body": "Now [2]."})).await,
        422,
    )
    .await;
    let article: Value = app.get(PATH).await.json().await.unwrap();
    let citation = article["citations"][0]["id"].as_str().unwrap().to_string();
    problem(
        app.delete(&format!("{PATH}/citations/{citation}")).await,
        422,
    )
    .await;
    let article: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(article["body"], "Known [1].");
    assert_eq!(article["citations"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_scheduled_article_becomes_published_at_its_time_with_no_job() {
    let app = TestApp::spawn().await;
    draft(&app, "Soon [1].").await;
    let at = Utc::now() + Duration::milliseconds(1500);
    let response = app
        .post_json(&format!("{PATH}/schedule"), &json!({"published_at": at}))
        .await;
    assert_eq!(response.status(), 200);
    let article: Value = response.json().await.unwrap();
    assert_eq!(article["status"], "scheduled");
    let listed: Value = app
        .get("/api/v1/articles?status=published")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        listed["items"],
        json!([]),
        "not visible as published before its time"
    );
    let scheduled: Value = app
        .get("/api/v1/articles?status=scheduled")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(scheduled["items"].as_array().unwrap().len(), 1);

    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    let article: Value = app.get(PATH).await.json().await.unwrap();
    assert_eq!(article["status"], "published");
    let listed: Value = app
        .get("/api/v1/articles?status=published")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn scheduling_needs_a_future_date_and_passes_the_check() {
    let app = TestApp::spawn().await;
    draft(&app, "Missing [3].").await;
    let past = Utc::now() - Duration::hours(1);
    let body = problem(
        app.post_json(&format!("{PATH}/schedule"), &json!({"published_at": past}))
            .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "published_at");
    let future = Utc::now() + Duration::days(1);
    let body = problem(
        app.post_json(
            &format!("{PATH}/schedule"),
            &json!({"published_at": future}),
        )
        .await,
        422,
    )
    .await;
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("[3]"));
    problem(
        app.post_json(&format!("{PATH}/schedule"), &json!({})).await,
        422,
    )
    .await;
}

#[tokio::test]
async fn unpublishing_returns_to_draft_and_archiving_keeps_the_date() {
    let app = TestApp::spawn().await;
    draft(&app, "Text [1].").await;
    let published: Value = app
        .post(&format!("{PATH}/publish"))
        .await
        .json()
        .await
        .unwrap();
    let archived: Value = app
        .post(&format!("{PATH}/archive"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(archived["status"], "archived");
    assert_eq!(archived["published_at"], published["published_at"]);
    let republished: Value = app
        .post(&format!("{PATH}/publish"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        republished["published_at"], published["published_at"],
        "an article that was live keeps its date"
    );
    let drafted: Value = app
        .post(&format!("{PATH}/unpublish"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(drafted["status"], "draft");
    assert_eq!(drafted["published_at"], Value::Null);
    assert_eq!(drafted["version"], 5);
}

#[tokio::test]
async fn an_article_can_be_created_published_or_scheduled() {
    let app = TestApp::spawn().await;
    let published = app
        .create_article(json!({"title": "Live", "status": "published"}))
        .await;
    assert_eq!(published["status"], "published");
    assert!(published["published_at"].is_string());
    let at = Utc::now() + Duration::days(2);
    let scheduled = app
        .create_article(json!({"title": "Later", "status": "scheduled", "published_at": at}))
        .await;
    assert_eq!(scheduled["status"], "scheduled");
    let body = problem(
        app.post_json(
            "/api/v1/articles",
            &json!({"title": "Bad", "status": "published", "body": "[9]"}),
        )
        .await,
        422,
    )
    .await;
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("[9]"));
    problem(
        app.post_json(
            "/api/v1/articles",
            &json!({"title": "Bad", "status": "draft", "published_at": at}),
        )
        .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn workflow_steps_on_an_unknown_article_are_404() {
    let app = TestApp::spawn().await;
    for step in ["publish", "unpublish", "archive"] {
        problem(
            app.post(&format!("/api/v1/articles/nope/{step}")).await,
            404,
        )
        .await;
    }
}
