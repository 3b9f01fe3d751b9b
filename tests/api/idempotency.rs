//! `Idempotency-Key`: a write sent with a key is performed once per token and key;
//! retries replay its response, racing ones included, on one server or several.

use std::collections::BTreeMap;
use std::time::Duration;

use cms::auth::Scope;
use cms::db::PoolOptions;
use cms::http::idempotency::{request_hash, scope};
use cms::http::rate_limit::RateLimits;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{problem, TestApp, TestOptions};

/// A response as a client sees it, less what differs on every response whatever
/// the request (`date`, `x-request-id`) and the rate-limit counts.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    headers: BTreeMap<String, Vec<String>>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v[0].as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let mut headers: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in response.headers() {
        let name = name.as_str();
        if name == "date" || name == "x-request-id" || name.starts_with("ratelimit-") {
            continue;
        }
        headers
            .entry(name.to_string())
            .or_default()
            .push(value.to_str().expect("a text header").to_string());
    }
    let body = response.text().await.expect("a body");
    Answer {
        status,
        headers,
        body,
    }
}

/// A client of its own (so that requests sent at once go on connections of their
/// own), sending `token`.
fn client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().expect("a header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("an HTTP client")
}

/// Sends `method url` with `key` and, when given, `body` as JSON.
async fn send(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    key: &str,
    body: Option<&Value>,
) -> Answer {
    let mut request = client.request(method, url).header("Idempotency-Key", key);
    if let Some(body) = body {
        request = request.json(body);
    }
    answer(request.send().await.expect("request sent")).await
}

fn article(title: &str) -> Value {
    json!({"title": title, "body": "Text [1].", "citations": [{"title": "A source"}]})
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.db()
        .await
        .query_one(sql, &[])
        .await
        .expect("a count")
        .get(0)
}

async fn articles(app: &TestApp) -> i64 {
    count(app, "SELECT count(*) FROM articles").await
}

/// Every answer equals the first, which is returned.
fn all_alike(answers: Vec<Answer>) -> Answer {
    let first = answers[0].clone();
    for (i, other) in answers.iter().enumerate() {
        assert_eq!(other, &first, "answer {i} differs from the first");
    }
    first
}

#[tokio::test]
async fn twenty_concurrent_posts_with_one_key_create_one_article_and_answer_alike() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let url = app.url("/api/v1/articles");
    let body = article("Twenty at once");
    let clients: Vec<reqwest::Client> = (0..20).map(|_| client(&token)).collect();

    let answers = join_all(
        clients
            .iter()
            .map(|c| send(c, Method::POST, &url, "create-once", Some(&body))),
    )
    .await;

    let first = all_alike(answers);
    assert_eq!(first.status, 201, "{}", first.body);
    let created = first.json();
    assert_eq!(
        first.header("location"),
        Some(format!("/api/v1/articles/{}", created["id"].as_str().unwrap()).as_str())
    );
    assert!(first.header("etag").is_some_and(|e| e.starts_with("\"v1-")));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(articles(&app).await, 1, "one article, whatever the race");
    assert_eq!(
        count(&app, "SELECT count(*) FROM idempotency_keys").await,
        1
    );
}

#[tokio::test]
async fn concurrent_posts_with_one_key_on_two_replicas_create_one_article() {
    let app = TestApp::spawn().await;
    let replica = app.spawn_replica().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let urls = [
        app.url("/api/v1/articles"),
        format!("{replica}/api/v1/articles"),
    ];
    let body = article("Two replicas");
    let clients: Vec<reqwest::Client> = (0..20).map(|_| client(&token)).collect();

    let answers = join_all(
        clients
            .iter()
            .enumerate()
            .map(|(i, c)| send(c, Method::POST, &urls[i % 2], "replicas", Some(&body))),
    )
    .await;

    let first = all_alike(answers);
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(articles(&app).await, 1);
}

#[tokio::test]
async fn a_retry_replays_the_first_response_even_after_the_resource_changed() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");
    let body = article("Once");

    let first = send(&client, Method::POST, &url, "k1", Some(&body)).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let id = first.json()["id"].as_str().unwrap().to_string();
    // Changed meanwhile: a replay still answers what the first request did.
    let changed = app
        .patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"title": "Renamed"}),
        )
        .await;
    assert_eq!(changed.status(), 200);

    let retry = send(&client, Method::POST, &url, "k1", Some(&body)).await;
    assert_eq!(retry, first);
    assert_eq!(retry.json()["title"], "Once");
    assert_eq!(articles(&app).await, 1);

    // Without the key, the same body is another article.
    let other = app.post_json("/api/v1/articles", &body).await;
    assert_eq!(other.status(), 201);
    assert_eq!(articles(&app).await, 2);
}

#[tokio::test]
async fn the_same_key_with_another_request_is_refused_with_422() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");
    let first = send(&client, Method::POST, &url, "k2", Some(&article("First"))).await;
    assert_eq!(first.status, 201);

    let response = client
        .post(&url)
        .header("Idempotency-Key", "k2")
        .json(&article("Second"))
        .send()
        .await
        .unwrap();
    let body = problem(response, 422).await;
    assert_eq!(body["type"], "/problems/idempotency-key-reused");
    assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));

    // Another path, or another query, is another request too.
    let tags = client
        .post(app.url("/api/v1/tags"))
        .header("Idempotency-Key", "k2")
        .json(&article("First"))
        .send()
        .await
        .unwrap();
    problem(tags, 422).await;
    let query = client
        .post(format!("{url}?x=1"))
        .header("Idempotency-Key", "k2")
        .json(&article("First"))
        .send()
        .await
        .unwrap();
    problem(query, 422).await;

    assert_eq!(articles(&app).await, 1);
    assert_eq!(count(&app, "SELECT count(*) FROM tags").await, 0);
    // The first request is still the key's.
    let retry = send(&client, Method::POST, &url, "k2", Some(&article("First"))).await;
    assert_eq!(retry, first);
}

#[tokio::test]
async fn keys_are_per_token() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/articles");
    let body = article("Per token");
    let one = client(&app.token(&[Scope::ContentWrite]).await);
    let two = client(&app.token(&[Scope::ContentWrite]).await);

    let first = send(&one, Method::POST, &url, "shared", Some(&body)).await;
    let second = send(&two, Method::POST, &url, "shared", Some(&body)).await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_ne!(first.json()["id"], second.json()["id"]);
    assert_eq!(articles(&app).await, 2);
    // Each token's retry replays its own.
    assert_eq!(
        send(&two, Method::POST, &url, "shared", Some(&body)).await,
        second
    );
    assert_eq!(articles(&app).await, 2);
}

#[tokio::test]
async fn a_patch_and_a_delete_with_a_key_are_replayed() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let created = app.create_article(article("Patched")).await;
    let url = app.url(&format!(
        "/api/v1/articles/{}",
        created["id"].as_str().unwrap()
    ));
    let patch = json!({"title": "Patched once"});

    let patched = send(&client, Method::PATCH, &url, "p", Some(&patch)).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.json()["version"], 2);
    let retried = send(&client, Method::PATCH, &url, "p", Some(&patch)).await;
    assert_eq!(retried, patched);
    let version: i32 = app
        .db()
        .await
        .query_one("SELECT version FROM articles", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(version, 2, "the patch was applied once");

    let deleted = send(&client, Method::DELETE, &url, "d", None).await;
    assert_eq!(deleted.status, 204);
    // A second DELETE without the key finds nothing; with it, the first is replayed.
    assert_eq!(app.delete(&url[app.address.len()..]).await.status(), 404);
    assert_eq!(
        send(&client, Method::DELETE, &url, "d", None).await,
        deleted
    );
}

#[tokio::test]
async fn a_key_past_its_ttl_performs_the_request_again() {
    let app = TestApp::spawn_with(TestOptions {
        idempotency_ttl: Duration::from_secs(1),
        ..TestOptions::default()
    })
    .await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");
    let body = article("Expires");

    let first = send(&client, Method::POST, &url, "ttl", Some(&body)).await;
    let replay = send(&client, Method::POST, &url, "ttl", Some(&body)).await;
    assert_eq!(replay, first, "replayed within the TTL");
    assert_eq!(articles(&app).await, 1);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = send(&client, Method::POST, &url, "ttl", Some(&body)).await;
    assert_eq!(again.status, 201);
    assert_ne!(again.json()["id"], first.json()["id"]);
    assert_eq!(articles(&app).await, 2);
    // And the key now replays the new response.
    assert_eq!(
        send(&client, Method::POST, &url, "ttl", Some(&body)).await,
        again
    );
}

#[tokio::test]
async fn an_invalid_key_is_refused_with_400_naming_the_header() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");
    let too_long = "k".repeat(256);
    for key in [
        "".as_bytes(),
        too_long.as_bytes(),
        b"with space",
        "caf\u{e9}".as_bytes(),
    ] {
        let value = reqwest::header::HeaderValue::from_bytes(key).unwrap();
        let response = client
            .post(&url)
            .header("Idempotency-Key", value)
            .json(&article("Invalid key"))
            .send()
            .await
            .unwrap();
        let body = problem(response, 400).await;
        assert_eq!(body["type"], "/problems/invalid-parameter");
        assert!(body["detail"].as_str().unwrap().contains("Idempotency-Key"));
    }
    let two = client
        .post(&url)
        .header("Idempotency-Key", "a")
        .header("Idempotency-Key", "b")
        .json(&article("Invalid key"))
        .send()
        .await
        .unwrap();
    problem(two, 400).await;
    assert_eq!(articles(&app).await, 0);
    assert_eq!(
        count(&app, "SELECT count(*) FROM idempotency_keys").await,
        0
    );
}

#[tokio::test]
async fn a_refused_request_is_replayed_as_it_was_refused() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");

    // 400: not JSON.
    let response = client
        .post(&url)
        .header("Idempotency-Key", "bad-json")
        .header("Content-Type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .unwrap();
    let malformed = answer(response).await;
    assert_eq!(malformed.status, 400);
    let retry = client
        .post(&url)
        .header("Idempotency-Key", "bad-json")
        .header("Content-Type", "application/json")
        .body("{\"title\":")
        .send()
        .await
        .unwrap();
    assert_eq!(answer(retry).await, malformed);

    // 409: the slug is taken. Once it is free (the article deleted and purged from
    // the trash), a retry still answers 409: the request was answered, and is not
    // performed again.
    let taken = app.create_article(article("Taken")).await;
    let body = json!({"title": "Another", "slug": "taken", "body": "Text."});
    let conflict = send(&client, Method::POST, &url, "slug", Some(&body)).await;
    assert_eq!(conflict.status, 409, "{}", conflict.body);
    let id = taken["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/articles/{id}")).await.status(),
        204
    );
    assert_eq!(
        app.delete(&format!("/api/v1/trash/articles/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        send(&client, Method::POST, &url, "slug", Some(&body)).await,
        conflict
    );
    assert_eq!(articles(&app).await, 0);
    // Without the key it goes through now.
    assert_eq!(app.post_json("/api/v1/articles", &body).await.status(), 201);
}

#[tokio::test]
async fn requests_without_a_token_or_with_a_bad_one_leave_no_key() {
    let app = TestApp::spawn().await;
    let url = app.url("/api/v1/articles");
    let anonymous = app
        .public
        .post(&url)
        .header("Idempotency-Key", "anon")
        .json(&article("Nobody"))
        .send()
        .await
        .unwrap();
    problem(anonymous, 401).await;
    let made_up = client("cms_abcdef01_0123456789abcdef0123456789abcdef0123456789a");
    let refused = send(
        &made_up,
        Method::POST,
        &url,
        "made-up",
        Some(&article("No")),
    )
    .await;
    assert_eq!(refused.status, 401);
    assert_eq!(
        count(&app, "SELECT count(*) FROM idempotency_keys").await,
        0
    );
}

/// Puts a key's row in place as another request would leave it: running, under a
/// lease that ends in `lease_ms` (negative: passed).
async fn running(app: &TestApp, token: &str, key: &str, body: &Value, lease_ms: i64) {
    let body = serde_json::to_vec(body).unwrap();
    let hash = request_hash("POST", "/api/v1/articles", &body);
    app.db()
        .await
        .execute(
            "INSERT INTO idempotency_keys (scope, key, method, path, request_hash, locked_until) \
             VALUES ($1, $2, 'POST', '/api/v1/articles', $3, \
                     now() + make_interval(secs => $4::float8 / 1000))",
            &[&scope(token), &key, &hash, &(lease_ms as f64)],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_request_waits_for_one_in_progress_then_answers_409() {
    // It waits until a quarter of its 2 s before its deadline.
    let app = TestApp::spawn_with(TestOptions {
        request_timeout: Duration::from_secs(2),
        ..TestOptions::default()
    })
    .await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let body = article("Still running");
    running(&app, &token, "busy", &body, 60_000).await;

    let started = std::time::Instant::now();
    let response = client
        .post(app.url("/api/v1/articles"))
        .header("Idempotency-Key", "busy")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let problem = problem(response, 409).await;
    assert_eq!(problem["type"], "/problems/idempotency-key-in-progress");
    assert!(
        started.elapsed() >= Duration::from_millis(1400),
        "it waited for the other request first: {:?}",
        started.elapsed()
    );
    assert_eq!(articles(&app).await, 0);

    // Another request under the same key is refused at once.
    let other = send(
        &client,
        Method::POST,
        &app.url("/api/v1/articles"),
        "busy",
        Some(&article("Other")),
    )
    .await;
    assert_eq!(other.status, 422);
}

/// Asserts that `answer` is the 409 for a key whose request's outcome is unknown.
fn assert_outcome_unknown(answer: &Answer) {
    assert_eq!(answer.status, 409, "{}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    let problem = answer.json();
    assert_eq!(problem["type"], "/problems/idempotency-outcome-unknown");
    assert!(problem["detail"].as_str().unwrap().contains("new key"));
    assert_eq!(
        answer.header("retry-after"),
        None,
        "retrying with this key cannot help"
    );
}

/// Waits (up to 5 s) until the only key's row is marked outcome unknown, which a
/// request cut off does in the background.
async fn marked_unknown(app: &TestApp) -> bool {
    for _ in 0..200 {
        let marked = count(
            app,
            "SELECT count(*) FROM idempotency_keys WHERE outcome_unknown",
        )
        .await;
        if marked == 1 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    false
}

#[tokio::test]
async fn a_key_whose_lease_passed_unfinished_counts_as_outcome_unknown() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let body = article("Died");
    // Its request died (its process stopped): it never stored an answer, nor marked
    // its outcome unknown, and its lease is past. It may have committed.
    running(&app, &token, "abandoned", &body, -1_000).await;

    let url = app.url("/api/v1/articles");
    let answer = send(&client, Method::POST, &url, "abandoned", Some(&body)).await;
    assert_outcome_unknown(&answer);
    assert_eq!(articles(&app).await, 0, "nothing ran again");
    // Another request under the key is still refused as such.
    let other = send(
        &client,
        Method::POST,
        &url,
        "abandoned",
        Some(&article("Other")),
    )
    .await;
    assert_eq!(other.status, 422);
}

#[tokio::test]
async fn a_request_that_finishes_while_another_waits_is_replayed_to_it() {
    // The waiting request sees the running one finish: its row gets an answer.
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let body = article("Finished meanwhile");
    running(&app, &token, "late", &body, 60_000).await;
    let db = app.db().await;
    let finish = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        db.execute(
            "UPDATE idempotency_keys SET response_status = 201, \
             response_headers = '[[\"content-type\", \"application/json\"], [\"etag\", \"\\\"v9\\\"\"]]', \
             response_body = '{\"done\": true}'::bytea",
            &[],
        )
        .await
        .unwrap();
    };
    let url = app.url("/api/v1/articles");
    let (answer, ()) = tokio::join!(
        send(&client, Method::POST, &url, "late", Some(&body)),
        finish
    );
    assert_eq!(answer.status, 201);
    assert_eq!(answer.body, "{\"done\": true}");
    assert_eq!(answer.header("etag"), Some("\"v9\""));
    assert_eq!(articles(&app).await, 0, "the waiting request ran nothing");
}

#[tokio::test]
async fn a_caller_who_may_not_write_claims_no_key() {
    let app = TestApp::spawn().await;
    let reader = client(&app.token(&[Scope::ContentRead]).await);
    let url = app.url("/api/v1/articles");
    let refused = send(&reader, Method::POST, &url, "r", Some(&article("No"))).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        count(&app, "SELECT count(*) FROM idempotency_keys").await,
        0
    );
}

#[tokio::test]
async fn creating_a_token_is_not_covered_its_secret_is_stored_nowhere() {
    let app = TestApp::spawn().await;
    let admin = client(&app.token(&[Scope::Admin]).await);
    let url = app.url("/api/v1/tokens");
    let body = json!({"name": "frontend", "scopes": ["content:read"]});
    let first = send(&admin, Method::POST, &url, "t", Some(&body)).await;
    let second = send(&admin, Method::POST, &url, "t", Some(&body)).await;
    assert_eq!((first.status, second.status), (201, 201));
    assert_ne!(first.json()["secret"], second.json()["secret"]);
    assert_eq!(
        count(&app, "SELECT count(*) FROM idempotency_keys").await,
        0
    );
}

/// Makes every insert into `articles` run `body` (PL/pgSQL) first.
async fn on_article_insert(app: &TestApp, body: &str) {
    app.db()
        .await
        .batch_execute(&format!(
            "CREATE FUNCTION on_insert() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN {body}; RETURN NEW; END $$; \
             CREATE TRIGGER on_insert BEFORE INSERT ON articles \
             FOR EACH ROW EXECUTE FUNCTION on_insert();"
        ))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_5xx_leaves_the_outcome_unknown_and_a_retry_answers_409() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");
    let body = article("Fails once");
    // The service answers 503 to a statement timeout. (A 5xx may follow a commit:
    // it is never taken as "nothing happened".)
    on_article_insert(
        &app,
        "RAISE EXCEPTION 'canceling statement due to statement timeout'",
    )
    .await;

    let failed = send(&client, Method::POST, &url, "retry-me", Some(&body)).await;
    assert_eq!(failed.status, 503, "{}", failed.body);
    assert_eq!(
        failed.json()["type"],
        "/problems/timeout",
        "the request itself gets its own answer"
    );
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM idempotency_keys \
             WHERE outcome_unknown AND response_status IS NULL"
        )
        .await,
        1,
        "the key is kept, marked outcome unknown"
    );

    app.db()
        .await
        .batch_execute("DROP TRIGGER on_insert ON articles")
        .await
        .unwrap();
    let retried = send(&client, Method::POST, &url, "retry-me", Some(&body)).await;
    assert_outcome_unknown(&retried);
    assert_eq!(articles(&app).await, 0, "the retry ran nothing");
    // Another request under the key: 422 as ever. A new key runs.
    let other = send(
        &client,
        Method::POST,
        &url,
        "retry-me",
        Some(&article("Else")),
    )
    .await;
    assert_eq!(other.status, 422);
    let fresh = send(&client, Method::POST, &url, "retry-me-2", Some(&body)).await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_eq!(articles(&app).await, 1);
}

#[tokio::test]
async fn a_request_cut_off_by_its_deadline_after_its_write_committed_is_not_run_again() {
    // The write commits, then the deadline passes while the response is being
    // stored (this test holds the key's row locked meanwhile, as a slow database
    // would, then kills the storing connection): the request answers 503, and the
    // key must not be given back.
    let app = TestApp::spawn_with(TestOptions {
        request_timeout: Duration::from_secs(2),
        pool: PoolOptions {
            max_size: 4,
            lock_timeout: Duration::from_secs(20),
            ..PoolOptions::default()
        },
        ..TestOptions::default()
    })
    .await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    // Room for this test to lock the key's row after the request claimed it and
    // before its write commits.
    on_article_insert(&app, "PERFORM pg_sleep(0.5)").await;
    let url = app.url("/api/v1/articles");
    let body = article("Committed");

    let locker = app.db().await;
    let lock_the_key = async {
        for _ in 0..400 {
            if count(&app, "SELECT count(*) FROM idempotency_keys").await == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        locker
            .batch_execute("BEGIN; SELECT 1 FROM idempotency_keys FOR UPDATE")
            .await
            .unwrap();
        assert_eq!(
            articles(&app).await,
            0,
            "the row was locked before the write committed"
        );
    };
    let (cut, ()) = tokio::join!(
        send(&client, Method::POST, &url, "cut", Some(&body)),
        lock_the_key
    );
    assert_eq!(cut.status, 503, "{}", cut.body);
    assert_eq!(cut.json()["type"], "/problems/timeout");
    assert_eq!(
        articles(&app).await,
        1,
        "the write committed before the deadline"
    );
    // The response never gets stored: its statement, sent before the deadline,
    // is cancelled (as when the database fails it).
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM (SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND wait_event_type = 'Lock' \
             AND query LIKE '%SET \"response_status\"%') AS t"
        )
        .await,
        1,
        "the response was being stored when the deadline passed"
    );
    locker.batch_execute("ROLLBACK").await.unwrap();

    // The retry, whenever it comes, hears that the outcome is unknown.
    let retried = send(&client, Method::POST, &url, "cut", Some(&body)).await;
    assert_outcome_unknown(&retried);
    assert!(
        marked_unknown(&app).await,
        "the key is marked outcome unknown"
    );
    let again = send(&client, Method::POST, &url, "cut", Some(&body)).await;
    assert_outcome_unknown(&again);
    assert_eq!(articles(&app).await, 1, "no second article");
}

#[tokio::test]
async fn a_request_cut_off_by_its_deadline_while_its_handler_runs_is_not_run_again() {
    // Cut off mid-write, it is not known whether the write committed (here it did
    // not, but the service cannot tell): the retry is told so rather than run.
    let app = TestApp::spawn_with(TestOptions {
        request_timeout: Duration::from_secs(1),
        ..TestOptions::default()
    })
    .await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    on_article_insert(&app, "PERFORM pg_sleep(3)").await;

    let url = app.url("/api/v1/articles");
    let body = article("Slow");
    let cut = send(&client, Method::POST, &url, "slow", Some(&body)).await;
    assert_eq!(cut.status, 503, "{}", cut.body);
    assert!(
        marked_unknown(&app).await,
        "the key is marked outcome unknown when the request is dropped"
    );
    let retried = send(&client, Method::POST, &url, "slow", Some(&body)).await;
    assert_outcome_unknown(&retried);
    assert_eq!(articles(&app).await, 0);
}

#[tokio::test]
async fn a_key_whose_outcome_is_unknown_expires_with_the_ttl() {
    let app = TestApp::spawn_with(TestOptions {
        idempotency_ttl: Duration::from_secs(1),
        ..TestOptions::default()
    })
    .await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");
    let body = article("Expires unknown");
    on_article_insert(&app, "RAISE EXCEPTION 'boom'").await;
    let failed = send(&client, Method::POST, &url, "u", Some(&body)).await;
    assert_eq!(failed.status, 500, "{}", failed.body);
    app.db()
        .await
        .batch_execute("DROP TRIGGER on_insert ON articles")
        .await
        .unwrap();
    assert_outcome_unknown(&send(&client, Method::POST, &url, "u", Some(&body)).await);

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = send(&client, Method::POST, &url, "u", Some(&body)).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(articles(&app).await, 1);
    assert_eq!(
        send(&client, Method::POST, &url, "u", Some(&body)).await,
        again
    );
}

#[tokio::test]
async fn a_request_refused_before_its_handler_ran_leaves_its_key_free() {
    // One write a second per token: the second is refused (429) before any key is
    // claimed, and the key stays free for the retry.
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: RateLimits {
            anonymous_per_minute: 100,
            token_per_minute: 1,
            trust_forwarded: false,
            window: Duration::from_secs(1),
        },
        ..TestOptions::default()
    })
    .await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let client = client(&token);
    let url = app.url("/api/v1/articles");
    let first = send(&client, Method::POST, &url, "a", Some(&article("A"))).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let body = article("B");
    let refused = send(&client, Method::POST, &url, "b", Some(&body)).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(
        count(
            &app,
            "SELECT count(*) FROM idempotency_keys WHERE key = 'b'"
        )
        .await,
        0
    );

    tokio::time::sleep(Duration::from_millis(1200)).await;
    let retried = send(&client, Method::POST, &url, "b", Some(&body)).await;
    assert_eq!(retried.status, 201, "{}", retried.body);
    assert_eq!(articles(&app).await, 2);
}

#[tokio::test]
async fn a_request_no_route_takes_is_answered_as_without_a_key() {
    let app = TestApp::spawn().await;
    let client = client(&app.token(&[Scope::ContentWrite]).await);
    let url = app.url("/api/v1/articles");
    let body = article("Routed");
    let created = send(&client, Method::POST, &url, "k", Some(&body)).await;
    assert_eq!(created.status, 201);

    // 405 and 404 as ever, not 422 for a key used with another request.
    let wrong_method = send(&client, Method::PUT, &url, "k", Some(&body)).await;
    assert_eq!(wrong_method.status, 405, "{}", wrong_method.body);
    let nowhere = app.url("/api/v1/nowhere");
    let unknown = send(&client, Method::POST, &nowhere, "k", Some(&body)).await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(
        count(&app, "SELECT count(*) FROM idempotency_keys").await,
        1
    );
}
