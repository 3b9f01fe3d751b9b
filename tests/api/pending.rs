//! Pending changes: a live article is edited without the public seeing it, until
//! the changes are published (now or on schedule) or discarded; preview links show
//! them to a frontend without a token, until they expire.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::helpers::{problem, Expect, TestApp};

const ARTICLE: &str = "/api/v1/articles/korea-week";
const PENDING: &str = "/api/v1/articles/korea-week/pending";

async fn live_article(app: &TestApp) -> Value {
    app.create_article(json!({
        "title": "Korea Week",
        "body": "Trade is small [1].",
        "status": "published",
        "key_point_lists": [{"title": "Key points", "points": ["a", "b"]}],
        "citations": [{"title": "Korea Herald"}],
        "tags": ["Mongolia"]
    }))
    .await
}

fn changes() -> Value {
    json!({
        "title": "Korea Week, updated",
        "body": "Trade is small [1], culture big [2].",
        "key_point_lists": [{"title": "Key points", "points": ["a", "b", "c"]}],
        "citations": [{"title": "Korea Herald"}, {"title": "Ministry"}],
        "tags": ["Mongolia", "Culture"]
    })
}

fn titles(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn pending_changes_stay_invisible_to_the_public_until_published() {
    let app = TestApp::spawn().await;
    let live = live_article(&app).await;
    let saved = app.put_json(PENDING, &changes()).await;
    let etag = saved.headers()["etag"].clone();
    let saved: Value = saved.expect(200).await;
    assert_eq!(saved["version"], 1);
    assert_eq!(
        saved["article"]["id"], live["id"],
        "presented as the article"
    );
    assert_eq!(saved["article"]["slug"], "korea-week");
    assert_eq!(saved["article"]["status"], "published");
    assert_eq!(saved["article"]["title"], "Korea Week, updated");
    assert_eq!(saved["article"]["citations"].as_array().unwrap().len(), 2);

    // Nobody reading the article sees them: not the public, not editors' reads or
    // lists (only the pending endpoint and previews show them).
    let public: Value = app.public_get(ARTICLE).await.expect(200).await;
    assert_eq!(public["title"], "Korea Week");
    let editors: Value = app.get_as(ARTICLE, 200).await;
    assert_eq!(editors, live, "the article itself is untouched");
    let list: Value = app.public_get("/api/v1/articles").await.expect(200).await;
    assert_eq!(titles(&list), ["Korea Week"]);
    let list: Value = app.get_as("/api/v1/articles", 200).await;
    assert_eq!(
        titles(&list),
        ["Korea Week"],
        "the copy is no article of its own"
    );
    problem(app.public_get(PENDING).await, 401).await;
    let read: Value = app.get_as(PENDING, 200).await;
    assert_eq!(read, saved);
    // A new tag named only in pending changes is not public.
    assert_eq!(app.public_get("/api/v1/tags/culture").await.status(), 404);

    let published = app
        .client
        .post(app.url(&format!("{PENDING}/publish")))
        .header("if-match", etag)
        .send()
        .await
        .unwrap();
    let published: Value = published.expect(200).await;
    assert_eq!(published["title"], "Korea Week, updated");
    assert_eq!(published["version"], live["version"].as_i64().unwrap() + 1);
    assert_eq!(
        published["published_at"], live["published_at"],
        "still live since then"
    );
    let mut expected = saved["article"].clone();
    for moving in ["version", "updated_at", "updated_by"] {
        expected[moving] = published[moving].clone();
    }
    assert_eq!(
        published, expected,
        "exactly what was pending, parts included"
    );
    let public: Value = app.public_get(ARTICLE).await.expect(200).await;
    let mut as_public = published.clone();
    for token_id in ["created_by", "updated_by"] {
        as_public.as_object_mut().unwrap().remove(token_id);
    }
    assert_eq!(
        public, as_public,
        "the same, without the tokens that wrote it"
    );
    problem(app.get(PENDING).await, 404).await;
    // The article's history has the change.
    let revisions: Value = app.get_as(&format!("{ARTICLE}/revisions"), 200).await;
    assert_eq!(revisions["items"][0]["title"], "Korea Week, updated");
}

#[tokio::test]
async fn pending_changes_are_versioned_and_can_be_discarded() {
    let app = TestApp::spawn().await;
    let live = live_article(&app).await;
    let first = app.put_json(PENDING, &changes()).await;
    let first_tag = first.headers()["etag"].clone();
    let mut again = changes();
    again["title"] = json!("Korea Week, second try");
    let second = app
        .client
        .put(app.url(PENDING))
        .header("if-match", first_tag.clone())
        .json(&again)
        .send()
        .await
        .unwrap();
    let second_tag = second.headers()["etag"].clone();
    let second: Value = second.expect(200).await;
    assert_eq!(second["version"], 2);
    // Another editor's save based on the first version is refused.
    let stale = app
        .client
        .put(app.url(PENDING))
        .header("if-match", first_tag.clone())
        .json(&changes())
        .send()
        .await
        .unwrap();
    problem(stale, 412).await;
    // The slug and status are not pending changes.
    let mut with_slug = changes();
    with_slug["slug"] = json!("elsewhere");
    let refused = app.put_json(PENDING, &with_slug).await;
    assert!(refused.status().is_client_error());

    let stale = app
        .client
        .delete(app.url(PENDING))
        .header("if-match", first_tag)
        .send()
        .await
        .unwrap();
    problem(stale, 412).await;
    let discarded = app
        .client
        .delete(app.url(PENDING))
        .header("if-match", second_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(discarded.status(), 204);
    problem(app.get(PENDING).await, 404).await;
    assert_eq!(app.get_as::<Value>(ARTICLE, 200).await, live);
    problem(app.post(&format!("{PENDING}/publish")).await, 404).await;
}

#[tokio::test]
async fn only_a_live_article_takes_pending_changes() {
    let app = TestApp::spawn().await;
    app.create_article(json!({"title": "Korea Week"})).await;
    problem(app.put_json(PENDING, &json!({"title": "Draft"})).await, 409).await;
}

#[tokio::test]
async fn scheduled_pending_changes_go_live_when_their_time_comes() {
    let app = TestApp::spawn().await;
    live_article(&app).await;
    app.put_json(PENDING, &changes())
        .await
        .expect::<Value>(200)
        .await;
    let at = chrono::Utc::now() + chrono::Duration::seconds(2);
    let scheduled: Value = app
        .post_json(&format!("{PENDING}/schedule"), &json!({"published_at": at}))
        .await
        .expect(200)
        .await;
    assert!(scheduled["publish_at"].is_string());
    let public: Value = app.public_get(ARTICLE).await.expect(200).await;
    assert_eq!(public["title"], "Korea Week", "not before its time");
    let mut title = String::new();
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let public: Value = app.public_get(ARTICLE).await.expect(200).await;
        title = public["title"].as_str().unwrap().to_string();
        if title != "Korea Week" {
            break;
        }
    }
    assert_eq!(title, "Korea Week, updated");
    problem(app.get(PENDING).await, 404).await;
    let past = app
        .post_json(
            &format!("{ARTICLE}/pending/schedule"),
            &json!({"published_at": "2020-01-01T00:00:00Z"}),
        )
        .await;
    assert!(past.status().is_client_error());
}

/// A link's token made here from the database's key, to check expiry.
async fn token_for(app: &TestApp, id: &str, expires: i64) -> String {
    let key: Vec<u8> = app
        .db()
        .await
        .query_one(
            "SELECT secret FROM server_secrets WHERE name = 'preview-links'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let mut message = uuid::Uuid::parse_str(id).unwrap().as_bytes().to_vec();
    message.extend_from_slice(&expires.to_be_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(&message);
    message.extend_from_slice(&mac.finalize().into_bytes()[..16]);
    URL_SAFE_NO_PAD.encode(message)
}

#[tokio::test]
async fn a_preview_link_shows_pending_changes_without_a_token_and_then_expires() {
    let app = TestApp::spawn().await;
    let live = live_article(&app).await;
    app.put_json(PENDING, &changes())
        .await
        .expect::<Value>(200)
        .await;
    let link: Value = app
        .post_json(
            &format!("{ARTICLE}/preview-links"),
            &json!({"expires_in": 600}),
        )
        .await
        .expect(201)
        .await;
    let path = link["path"].as_str().unwrap().to_string();
    assert!(link["url"].as_str().unwrap().ends_with(&path));
    let opened = app.public_get(&path).await;
    assert_eq!(opened.headers()["cache-control"], "private, no-store");
    assert_eq!(opened.headers()["x-robots-tag"], "noindex");
    let opened: Value = opened.expect(200).await;
    assert_eq!(opened["title"], "Korea Week, updated");
    assert_eq!(opened["id"], live["id"]);

    // Tampered with, or past its time, a link shows nothing.
    let token = path.rsplit('/').next().unwrap();
    let mut tampered = token.to_string();
    let flipped = if tampered.ends_with('A') { "B" } else { "A" };
    tampered.replace_range(tampered.len() - 1.., flipped);
    problem(
        app.public_get(&format!("/api/v1/previews/{tampered}"))
            .await,
        404,
    )
    .await;
    problem(app.public_get("/api/v1/previews/not-a-token").await, 404).await;
    let id = live["id"].as_str().unwrap();
    let now = chrono::Utc::now().timestamp();
    let fresh = token_for(&app, id, now + 60).await;
    assert_eq!(
        app.public_get(&format!("/api/v1/previews/{fresh}"))
            .await
            .status(),
        200
    );
    let expired = token_for(&app, id, now - 1).await;
    problem(
        app.public_get(&format!("/api/v1/previews/{expired}")).await,
        404,
    )
    .await;

    // Links are for editors to make; their lifetime is bounded.
    problem(
        app.public
            .post(app.url(&format!("{ARTICLE}/preview-links")))
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
        401,
    )
    .await;
    let too_long = app
        .post_json(
            &format!("{ARTICLE}/preview-links"),
            &json!({"expires_in": 604801}),
        )
        .await;
    problem(too_long, 422).await;
}

#[tokio::test]
async fn a_preview_link_to_a_draft_shows_the_draft() {
    let app = TestApp::spawn().await;
    app.create_article(json!({"title": "Not yet"})).await;
    assert_eq!(
        app.public_get("/api/v1/articles/not-yet").await.status(),
        404
    );
    let link: Value = app
        .post_json("/api/v1/articles/not-yet/preview-links", &json!({}))
        .await
        .expect(201)
        .await;
    let opened: Value = app
        .public_get(link["path"].as_str().unwrap())
        .await
        .expect(200)
        .await;
    assert_eq!(opened["title"], "Not yet");
    assert_eq!(opened["status"], "draft");
}

#[tokio::test]
async fn pending_changes_never_undo_a_newer_edit_of_the_article() {
    let app = TestApp::spawn().await;
    live_article(&app).await;
    let saved = app.put_json(PENDING, &changes()).await;
    let etag = saved.headers()["etag"].clone();
    // Another editor fixes the live article meanwhile.
    app.patch_json(ARTICLE, &json!({"standfirst": "A fix."}))
        .await
        .expect::<Value>(200)
        .await;
    // What the pending changes show of the article moved on, so their tag did too.
    let read = app
        .client
        .get(app.url(PENDING))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let body = problem(app.post(&format!("{PENDING}/publish")).await, 409).await;
    assert!(body["detail"].as_str().unwrap().contains("changed since"));
    let live: Value = app.get_as(ARTICLE, 200).await;
    assert_eq!(live["standfirst"], "A fix.", "the fix stays");
    // Saved again from the article as it is now, they publish.
    let mut again = changes();
    again["standfirst"] = json!("A fix.");
    app.put_json(PENDING, &again)
        .await
        .expect::<Value>(200)
        .await;
    let published: Value = app
        .post(&format!("{PENDING}/publish"))
        .await
        .expect(200)
        .await;
    assert_eq!(published["title"], "Korea Week, updated");
    assert_eq!(published["standfirst"], "A fix.");
}
