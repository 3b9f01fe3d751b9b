//! No request can take the service down, and every fault has a fast answer: what
//! an attacker or a bad day in production sends, and what the service answers.

use std::time::{Duration, Instant};

use cms::auth::Scope;
use cms::db::PoolOptions;
use cms::http::rate_limit::RateLimits;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{problem, server_config, TestApp, TestOptions};

/// Sends raw bytes and reads the status line of the answer (within `patience`).
async fn raw_status(app: &TestApp, request: &[u8], patience: Duration) -> Option<u16> {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.ok()?;
    stream.write_all(request).await.ok()?;
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(patience, stream.read(&mut buffer))
        .await
        .ok()?
        .ok()?;
    let head = String::from_utf8_lossy(&buffer[..read]).to_string();
    head.split_whitespace().nth(1)?.parse().ok()
}

async fn count_tags_named(app: &TestApp, name: &str) -> i64 {
    app.db()
        .await
        .query_one(
            "SELECT count(*) FROM tags WHERE lower(name) = lower($1)",
            &[&name],
        )
        .await
        .unwrap()
        .get(0)
}

// 1. Rendering

#[tokio::test]
async fn a_body_of_nested_html_renders_quickly_once_and_never_stalls_other_readers() {
    let app = TestApp::spawn().await;
    let body = "<div>".repeat(60_000) + &"> ".repeat(20_000) + "deep";
    let article = app
        .create_article(json!({"title": "Deep", "body": body, "status": "published"}))
        .await;
    let stored: bool = app
        .db()
        .await
        .query_one("SELECT body_html IS NOT NULL FROM articles", &[])
        .await
        .unwrap()
        .get(0);
    assert!(stored, "rendered once, when written");

    let path = format!(
        "/api/v1/articles/{}?include=body_html",
        article["slug"].as_str().unwrap()
    );
    let started = Instant::now();
    let reads: Vec<_> = (0..4)
        .map(|_| {
            let (client, url) = (app.public.clone(), app.url(&path));
            tokio::spawn(async move { client.get(url).send().await })
        })
        .collect();
    let health = app.public_get("/healthz").await;
    assert_eq!(health.status(), 200);
    for read in reads {
        let response = read.await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        let article: Value = response.json().await.unwrap();
        let html = article["body_html"].as_str().unwrap();
        assert!(html.contains("deep") && html.matches("<div>").count() <= 32);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn an_article_stored_before_bodies_were_rendered_on_write_is_rendered_when_read() {
    let app = TestApp::spawn().await;
    app.create_article(
        json!({"title": "Old", "body": "**bold** [1]", "status": "published",
        "citations": [{"title": "Source"}]}),
    )
    .await;
    app.db()
        .await
        .execute("UPDATE articles SET body_html = NULL", &[])
        .await
        .unwrap();
    let read: Value = app
        .public_get("/api/v1/articles?include=body_html")
        .await
        .json()
        .await
        .unwrap();
    let html = read["items"][0]["body_html"].as_str().unwrap();
    assert!(
        html.contains("<strong>bold</strong>") && html.contains("#citation-1"),
        "{html}"
    );
    let stored: Option<String> = app
        .db()
        .await
        .query_one("SELECT body_html FROM articles", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored.as_deref(), Some(html), "rendered once, then kept");
}

#[tokio::test]
async fn a_reference_inside_an_html_block_is_linked_and_checked_on_publish() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "Boxed", "body": "<div>see [1]</div>\n", "status": "published"}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "body");
    let article = app
        .create_article(json!({
            "title": "Boxed",
            "body": "<div>see [1]</div>\n",
            "status": "published",
            "citations": [{"title": "A source"}]
        }))
        .await;
    let read: Value = app
        .get(&format!(
            "/api/v1/articles/{}?include=body_html",
            article["id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(read["body_html"]
        .as_str()
        .unwrap()
        .contains("href=\"#citation-1\""));
}

// 2. Request bodies

#[tokio::test]
async fn a_compressed_body_is_refused_unread_with_415() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/api/v1/tags"))
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(vec![0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00])
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["accept-encoding"], "identity");
    let body = problem(response, 415).await;
    assert!(body["detail"].as_str().unwrap().contains("uncompressed"));
    assert_eq!(count_tags_named(&app, "x").await, 0);
}

#[tokio::test]
async fn a_request_that_cannot_write_is_refused_before_its_body_is_read() {
    let app = TestApp::spawn().await;
    // Headers announce 50 MB; no body follows. The answer must not wait for it.
    let request = b"POST /api/v1/articles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{";
    let status = raw_status(&app, request, Duration::from_secs(3)).await;
    assert_eq!(status, Some(401));

    let reader = app.token(&[Scope::ContentRead]).await;
    let request = format!(
        "POST /api/v1/articles HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {reader}\r\n\
         Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{{"
    );
    let status = raw_status(&app, request.as_bytes(), Duration::from_secs(3)).await;
    assert_eq!(status, Some(403));
}

#[tokio::test]
async fn a_refused_request_with_a_chunked_body_closes_the_connection() {
    let app = TestApp::spawn().await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(
            b"POST /api/v1/tags HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Transfer-Encoding: chunked\r\n\r\n1000\r\n",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(3), async {
        // Keep sending; the server must answer and close rather than read it all.
        let chunk = vec![b'x'; 4096];
        for _ in 0..2000 {
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
        }
        stream.read_to_end(&mut answer).await
    })
    .await;
    assert!(read.is_ok(), "the connection was closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.to_lowercase().contains("connection: close"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_body_sent_too_slowly_gets_408() {
    let app = TestApp::spawn_with(TestOptions {
        body_timeout: Duration::from_millis(500),
        ..TestOptions::default()
    })
    .await;
    let token = app.token(&[Scope::ContentWrite]).await;
    let address = app.address.trim_start_matches("http://").to_string();
    let mut stream = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /api/v1/tags HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut buffer = vec![0u8; 4096];
    let mut answer = String::new();
    // One byte every 200 ms, never finishing in time.
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if stream.write_all(b" ").await.is_err() {
            break;
        }
        if let Ok(Ok(n)) =
            tokio::time::timeout(Duration::from_millis(10), stream.read(&mut buffer)).await
        {
            answer.push_str(&String::from_utf8_lossy(&buffer[..n]));
            break;
        }
    }
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn data_after_the_json_body_is_400_and_changes_nothing() {
    let app = TestApp::spawn().await;
    for body in [r#"{"name":"a"}{"name":"b"}"#, r#"{"name":"a"} junk"#] {
        let response = app
            .client
            .post(app.url("/api/v1/tags"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let problem = problem(response, 400).await;
        assert_eq!(problem["type"], "/problems/malformed-body");
    }
    assert_eq!(count_tags_named(&app, "a").await, 0);
}

#[tokio::test]
async fn the_largest_body_the_rules_allow_fits_the_default_size_limit() {
    let app = TestApp::spawn().await;
    let body = "ß漢".repeat(250_000);
    let article = app
        .create_article(json!({"title": "Long", "body": body}))
        .await;
    assert_eq!(article["body"].as_str().unwrap().chars().count(), 500_000);
}

#[tokio::test]
async fn validation_errors_are_listed_up_to_a_bound() {
    let app = TestApp::spawn().await;
    let points = vec![""; 300_000];
    let response = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "Many", "key_point_lists": [{"points": points}]}),
        )
        .await;
    let text = response.text().await.unwrap();
    assert!(text.len() < 10_000, "{} bytes", text.len());
    assert!(text.contains("at most 100 points"), "{text}");

    let lists: Vec<Value> = (0..20).map(|_| json!({"points": vec![""; 100]})).collect();
    let response = app
        .post_json(
            "/api/v1/articles",
            &json!({"title": "Many", "key_point_lists": lists}),
        )
        .await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"].as_array().unwrap().len(), 100);
    assert_eq!(
        body["detail"],
        "2000 fields are not valid; the first 100 are listed."
    );
}

// 3. Deadlines

/// An app whose writes wait at most `lock_timeout` for a row lock.
async fn app_with_lock_timeout(lock_timeout: Duration) -> TestApp {
    TestApp::spawn_with(TestOptions {
        pool: PoolOptions {
            max_size: 4,
            lock_timeout,
            ..PoolOptions::default()
        },
        ..TestOptions::default()
    })
    .await
}

/// Locks the article with `slug` in a transaction of another client, until that
/// client rolls back (or is dropped).
async fn lock_article_elsewhere(app: &TestApp, slug: &str) -> tokio_postgres::Client {
    let outside = app.db().await;
    outside.batch_execute("BEGIN").await.unwrap();
    outside
        .execute(
            "SELECT 1 FROM articles WHERE slug = $1 FOR UPDATE",
            &[&slug],
        )
        .await
        .unwrap();
    outside
}

#[tokio::test]
async fn a_row_locked_elsewhere_fails_its_writers_fast_and_never_starves_other_reads() {
    let app = TestApp::spawn_with(TestOptions {
        pool: PoolOptions {
            max_size: 4,
            lock_timeout: Duration::from_millis(300),
            ..PoolOptions::default()
        },
        ..TestOptions::default()
    })
    .await;
    let locked = app.create_article(json!({"title": "Locked"})).await;
    let other = app.create_article(json!({"title": "Other"})).await;
    let outside = app.db().await;
    outside.batch_execute("BEGIN").await.unwrap();
    outside
        .execute(
            "SELECT 1 FROM articles WHERE slug = 'locked' FOR UPDATE",
            &[],
        )
        .await
        .unwrap();

    let started = Instant::now();
    let writers: Vec<_> = (0..8)
        .map(|i| {
            let client = app.client.clone();
            let url = app.url(&format!(
                "/api/v1/articles/{}",
                locked["id"].as_str().unwrap()
            ));
            tokio::spawn(async move {
                client
                    .patch(url)
                    .json(&json!({"standfirst": format!("try {i}")}))
                    .send()
                    .await
            })
        })
        .collect();
    let other_path = format!("/api/v1/articles/{}", other["id"].as_str().unwrap());
    for _ in 0..5 {
        assert_eq!(app.get(&other_path).await.status(), 200, "reads go on");
    }
    for writer in writers {
        let response = writer.await.unwrap().unwrap();
        assert_eq!(response.headers()["retry-after"], "1");
        let body = problem(response, 503).await;
        assert_eq!(body["type"], "/problems/timeout");
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    outside.batch_execute("ROLLBACK").await.unwrap();
    let after = app
        .patch_json(
            &format!("/api/v1/articles/{}", locked["id"].as_str().unwrap()),
            &json!({"standfirst": "at last"}),
        )
        .await;
    assert_eq!(after.status(), 200);
}

#[tokio::test]
async fn a_stalled_database_is_answered_within_the_request_deadline() {
    let app = TestApp::spawn_with(TestOptions {
        behind_proxy: true,
        request_timeout: Duration::from_millis(800),
        ..TestOptions::default()
    })
    .await;
    app.create_tag(json!({"name": "Slow"})).await;
    let proxy = app.proxy.as_ref().unwrap();
    proxy.set_delay(Duration::from_secs(30));
    let started = Instant::now();
    let response = app.get("/api/v1/tags/slow").await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let body = problem(response, 503).await;
    assert_eq!(body["type"], "/problems/timeout");
    proxy.set_delay(Duration::ZERO);
}

// 4 and 6. Tags

#[tokio::test]
async fn one_name_gives_one_tag_however_many_writers_race() {
    let app = TestApp::spawn().await;
    let creates: Vec<_> = (0..20)
        .map(|i| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/articles"));
            tokio::spawn(async move {
                client
                    .post(url)
                    .json(&json!({"title": format!("Race {i}"), "tags": ["!!!"]}))
                    .send()
                    .await
            })
        })
        .collect();
    for create in creates {
        assert_eq!(create.await.unwrap().unwrap().status(), 201);
    }
    assert_eq!(count_tags_named(&app, "!!!").await, 1);

    let article = app.create_article(json!({"title": "Sharp"})).await;
    let url = app.url(&format!(
        "/api/v1/articles/{}/tags",
        article["id"].as_str().unwrap()
    ));
    let adds: Vec<_> = (0..20)
        .map(|_| {
            let (client, url) = (app.client.clone(), url.clone());
            tokio::spawn(async move { client.post(url).json(&json!({"tag": "C#"})).send().await })
        })
        .collect();
    for add in adds {
        let status = add.await.unwrap().unwrap().status().as_u16();
        assert!(status == 200 || status == 201 || status == 503, "{status}");
    }
    assert_eq!(count_tags_named(&app, "C#").await, 1);

    let clash = app
        .post_json("/api/v1/tags", &json!({"name": "c#", "slug": "c-sharp"}))
        .await;
    let body = problem(clash, 409).await;
    assert!(body["detail"].as_str().unwrap().contains("named"));
}

#[tokio::test]
async fn a_tag_only_drafts_use_is_not_public() {
    let app = TestApp::spawn().await;
    let draft = app
        .create_article(json!({"title": "Plan", "tags": ["Secret plan"]}))
        .await;
    let listed: Value = app.public_get("/api/v1/tags").await.json().await.unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 0);
    problem(app.public_get("/api/v1/tags/secret-plan").await, 404).await;
    problem(
        app.public_get("/api/v1/tags/secret-plan/articles").await,
        404,
    )
    .await;
    assert_eq!(
        app.get("/api/v1/tags/secret-plan").await.status(),
        200,
        "editors see it"
    );

    let publish = app
        .post(&format!(
            "/api/v1/articles/{}/publish",
            draft["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(publish.status(), 200);
    let listed: Value = app.public_get("/api/v1/tags").await.json().await.unwrap();
    assert_eq!(listed["items"][0]["name"], "Secret plan");
    assert_eq!(
        app.public_get("/api/v1/tags/secret-plan").await.status(),
        200
    );
}

// 5. The database going away mid-statement

#[tokio::test]
async fn a_database_shutting_down_mid_statement_is_503_not_500() {
    let app = app_with_lock_timeout(Duration::from_secs(20)).await;
    let article = app.create_article(json!({"title": "Held"})).await;
    // A write waits on a row lock held elsewhere: its statement is in flight when
    // the server terminates its session (as at shutdown: SQLSTATE 57P01).
    let outside = lock_article_elsewhere(&app, "held").await;
    let in_flight = {
        let client = app.client.clone();
        let url = app.url(&format!(
            "/api/v1/articles/{}",
            article["id"].as_str().unwrap()
        ));
        tokio::spawn(async move {
            client
                .patch(url)
                .json(&json!({"title": "Moved"}))
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let database = app.db_config.get_dbname().unwrap().to_string();
    app.db()
        .await
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND wait_event_type = 'Lock'",
            &[&database],
        )
        .await
        .unwrap();
    let response = in_flight.await.unwrap().unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let body = problem(response, 503).await;
    assert_eq!(body["type"], "/problems/service-unavailable");
    outside.batch_execute("ROLLBACK").await.unwrap();
    let read: Value = app.get("/api/v1/articles/held").await.json().await.unwrap();
    assert_eq!(
        read["title"], "Held",
        "nothing changed; and the service recovered"
    );
}

// 7. Replicas starting together

#[tokio::test]
async fn replicas_starting_together_on_a_new_database_all_succeed() {
    let mut config = server_config();
    let name = format!("cms_test_{}", uuid::Uuid::new_v4().simple());
    config.dbname(&name);
    let starts: Vec<_> = (0..20)
        .map(|_| {
            let config = config.clone();
            tokio::spawn(async move {
                cms::db::ensure_database(&config, Duration::from_secs(10)).await?;
                cms::db::run_migrations(&config).await
            })
        })
        .collect();
    for start in starts {
        start.await.unwrap().expect("every replica starts");
    }
}

// 9. Rate limits

#[tokio::test]
async fn a_caller_over_its_limit_is_refused_before_any_database_work() {
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: RateLimits {
            anonymous_per_minute: 2,
            token_per_minute: 2,
            trust_forwarded: false,
            window: Duration::from_secs(60),
        },
        ..TestOptions::default()
    })
    .await;
    for _ in 0..2 {
        assert_eq!(app.get("/api/v1/tags").await.status(), 200);
    }
    let (statuses, queries) = app
        .count_queries(async {
            let mut statuses = Vec::new();
            for _ in 0..20 {
                statuses.push(app.get("/api/v1/tags").await.status().as_u16());
            }
            statuses
        })
        .await;
    assert!(statuses.iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(queries, 0, "refusals cost no queries");

    // Made-up tokens from an address over its limit: a few are checked (a real
    // token behind a crowded address must still get through), then none.
    for _ in 0..2 {
        let _ = app.public_get("/api/v1/tags").await;
    }
    let (statuses, queries) = app
        .count_queries(async {
            let mut statuses = Vec::new();
            for i in 0..12 {
                let forged = format!("cms_{i:08x}_{}", "z".repeat(43));
                let response = app
                    .public
                    .get(app.url("/api/v1/tags"))
                    .bearer_auth(forged)
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        })
        .await;
    assert!(statuses.iter().all(|s| *s == 429), "{statuses:?}");
    assert!(queries <= 2, "{queries} queries for 12 made-up tokens");

    // The spec and the readiness probe count too; the liveness probe does not.
    for path in ["/openapi.json", "/readyz"] {
        let _ = app.public_get(path).await;
    }
    assert_eq!(app.public_get("/openapi.json").await.status(), 429);
    assert_eq!(app.public_get("/healthz").await.status(), 200);
}

#[tokio::test]
async fn waiting_as_long_as_retry_after_says_is_enough() {
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: RateLimits {
            anonymous_per_minute: 2,
            token_per_minute: 100,
            trust_forwarded: false,
            window: Duration::from_millis(1500),
        },
        ..TestOptions::default()
    })
    .await;
    let mut refused = None;
    for _ in 0..3 {
        let response = app.public_get("/api/v1/articles").await;
        if response.status() == 429 {
            refused = Some(response);
        }
    }
    let refused = refused.expect("the third request is refused");
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(wait, 1, "750 ms, rounded up");
    let body = problem(refused, 429).await;
    assert_eq!(body["detail"], "Slow down: retry in 1 second.");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(app.public_get("/api/v1/articles").await.status(), 200);
}

fn limits(per_minute: u32) -> RateLimits {
    RateLimits {
        anonymous_per_minute: per_minute,
        token_per_minute: per_minute,
        trust_forwarded: false,
        window: Duration::from_secs(60),
    }
}

#[tokio::test]
async fn replicas_share_their_counts_through_redis_when_one_is_configured() {
    const REDIS: &str = "127.0.0.1:6379";
    if TcpStream::connect(REDIS).await.is_err() {
        eprintln!("skipping: no Redis at {REDIS} (the shared-counts path needs one)");
        return;
    }
    let redis = Some((
        format!("redis://{REDIS}/"),
        format!("cms-test:{}:", uuid::Uuid::new_v4().simple()),
    ));
    let replica = || {
        TestApp::spawn_with(TestOptions {
            rate_limits: limits(3),
            redis: redis.clone(),
            ..TestOptions::default()
        })
    };
    let (a, b) = (replica().await, replica().await);
    assert_eq!(a.public_get("/api/v1/tags").await.status(), 200);
    assert_eq!(b.public_get("/api/v1/tags").await.status(), 200);
    let last = a.public_get("/api/v1/tags").await;
    assert_eq!(last.status(), 200);
    assert_eq!(last.headers()["ratelimit-remaining"], "0");
    let refused = b.public_get("/api/v1/tags").await;
    assert_eq!(refused.headers()["retry-after"], "20");
    problem(refused, 429).await;
}

#[tokio::test]
async fn without_its_redis_the_service_counts_in_process_and_keeps_answering() {
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: limits(2),
        // Nothing listens on port 9 here.
        redis: Some(("redis://127.0.0.1:9/".into(), "cms-test:".into())),
        ..TestOptions::default()
    })
    .await;
    let started = Instant::now();
    let statuses: Vec<u16> = statuses_of(&app, 3).await;
    assert_eq!(statuses, [200, 200, 429]);
    assert!(started.elapsed() < Duration::from_secs(3));
}

async fn statuses_of(app: &TestApp, n: usize) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..n {
        statuses.push(app.public_get("/api/v1/tags").await.status().as_u16());
    }
    statuses
}

// 12. Smaller

#[tokio::test]
async fn head_answers_every_get_route_with_headers_and_no_body() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Headed"})).await;
    for path in [
        "/api/v1/tags",
        "/api/v1/tags/headed",
        "/healthz",
        "/openapi.json",
    ] {
        let get = app.get(path).await;
        let length = get.bytes().await.unwrap().len();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "{path}");
        assert!(head.headers().contains_key("x-request-id"));
        if let Some(declared) = head.headers().get("content-length") {
            assert_eq!(declared.to_str().unwrap(), length.to_string(), "{path}");
        }
        assert!(head.bytes().await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn invisible_names_and_bidi_overrides_are_refused() {
    let app = TestApp::spawn().await;
    for name in [
        "\u{200B}\u{200B}",
        "\u{2800}",
        "\u{3164}",
        "\u{FEFF} \u{00AD}",
    ] {
        let response = app.post_json("/api/v1/tags", &json!({"name": name})).await;
        let body = problem(response, 422).await;
        assert_eq!(
            body["errors"][0]["message"],
            "must contain a visible character"
        );
        let response = app
            .post_json("/api/v1/articles", &json!({"title": name}))
            .await;
        problem(response, 422).await;
    }
    let response = app
        .post_json("/api/v1/tags", &json!({"name": "admin\u{202E}txt.exe"}))
        .await;
    let body = problem(response, 422).await;
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("bidirectional"));
    // Letters of any script are visible.
    app.create_tag(json!({"name": "עברית"})).await;
}

#[tokio::test]
async fn two_authorization_headers_are_400() {
    let app = TestApp::spawn().await;
    let token = app.token(&[Scope::Admin]).await;
    let response = app
        .public
        .get(app.url("/api/v1/articles"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", "Bearer cms_00000000_forged")
        .send()
        .await
        .unwrap();
    let body = problem(response, 400).await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("one Authorization"));
}

#[tokio::test]
async fn an_unknown_choice_names_the_choices_in_plain_words() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json("/api/v1/articles", &json!({"title": "x", "status": "live"}))
        .await;
    let body = problem(response, 422).await;
    assert_eq!(body["errors"][0]["field"], "status");
    assert_eq!(
        body["errors"][0]["message"],
        "must be one of draft, published, scheduled, archived"
    );
}

// Metrics

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let app = TestApp::spawn().await;
    app.create_tag(json!({"name": "Counted"})).await;
    assert_eq!(app.get("/api/v1/tags/counted").await.status(), 200);
    let metrics = app
        .public
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"cms_http_requests_total{method="GET",route="/api/v1/tags/{tag}",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("cms_http_request_duration_seconds_bucket"));
    assert!(text.contains("cms_db_pool_max 4"));
    assert!(text.contains("cms_rate_limited_total 0"));
    // A made-up method is counted as "other", so clients cannot add series at will.
    let brew = reqwest::Method::from_bytes(b"BREWCOFFEE").unwrap();
    app.public
        .request(brew, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    let text = app
        .public
        .get(format!("{}/metrics", app.metrics_address))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!text.contains("BREWCOFFEE"), "{text}");
    assert!(text.contains(r#"method="other""#), "{text}");
    problem(app.public_get("/metrics").await, 404).await;
    // The metrics port serves nothing else: it is no second way into the API.
    let elsewhere = app
        .client
        .get(format!("{}/api/v1/tags", app.metrics_address))
        .send()
        .await
        .unwrap();
    problem(elsewhere, 404).await;
}

#[tokio::test]
async fn behind_a_proxy_the_last_forwarded_line_is_the_one_that_counts() {
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: RateLimits {
            trust_forwarded: true,
            ..limits(2)
        },
        ..TestOptions::default()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let response = app
            .public
            .get(app.url("/api/v1/tags"))
            .header("x-forwarded-for", format!("9.9.9.{i}"))
            .header("x-forwarded-for", "203.0.113.9")
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}
