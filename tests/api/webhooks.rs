//! Webhooks and the change feed: events written with the change (never for one
//! rolled back), signed per Standard Webhooks (checked with the reference library
//! when it is installed), retried, delivered once between replicas and after a
//! server is killed; the feed a builder replays to the public content.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::{database_url, problem, Expect, TestApp, TestOptions};

/// An app whose server sends webhooks.
async fn delivering_app() -> TestApp {
    let mut options = TestOptions::default();
    options.webhooks.deliver = true;
    TestApp::spawn_with(options).await
}

/// What the receiver does with a request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    /// Answer with this status.
    Answer(u16),
    /// Answer 500 this many times, then 200.
    FailThenSucceed(usize),
    /// Read the request and never answer.
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn id(&self) -> String {
        self.headers["webhook-id"].clone()
    }
}

/// A webhook receiver on this machine: a plain HTTP/1.1 server that records what
/// it gets and answers as told.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/cms", listener.local_addr().unwrap());
        let receiver = Receiver {
            url,
            received: Arc::default(),
            behaviour: Arc::new(Mutex::new(behaviour)),
        };
        let this = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let this = this.clone();
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else {
                        return;
                    };
                    let status = {
                        let mut behaviour = this.behaviour.lock().unwrap();
                        this.received.lock().unwrap().push(request);
                        match *behaviour {
                            Behaviour::Answer(status) => Some(status),
                            Behaviour::FailThenSucceed(0) => Some(200),
                            Behaviour::FailThenSucceed(n) => {
                                *behaviour = Behaviour::FailThenSucceed(n - 1);
                                Some(500)
                            }
                            Behaviour::Hang => None,
                        }
                    };
                    match status {
                        Some(status) => {
                            let answer = format!(
                                "HTTP/1.1 {status} X\r\ncontent-length: 8\r\nconnection: close\r\n\r\nreceived"
                            );
                            let _ = stream.write_all(answer.as_bytes()).await;
                        }
                        None => tokio::time::sleep(Duration::from_secs(600)).await,
                    }
                });
            }
        });
        receiver
    }

    fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().unwrap() = behaviour;
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `done` holds for what was received (at most 30 s).
    async fn wait_for(&self, what: &str, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "waited 30 s for {what}; received {} requests",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Received> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..header_end]).to_string();
    let headers: HashMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[header_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received { headers, body })
}

async fn create_webhook(app: &TestApp, url: &str, events: Value) -> Value {
    app.post_json("/api/v1/webhooks", &json!({"url": url, "events": events}))
        .await
        .expect(201)
        .await
}

/// Checks the signature as the Standard Webhooks specification defines it.
fn signature_verifies(secret: &str, received: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let signed = format!(
        "{}.{}.",
        received.headers["webhook-id"], received.headers["webhook-timestamp"]
    );
    mac.update(signed.as_bytes());
    mac.update(&received.body);
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    received.headers["webhook-signature"]
        .split(' ')
        .any(|candidate| candidate == expected)
}

/// Verifies with the `standardwebhooks` package from PyPI (the reference
/// implementation), when `CMS_TEST_WEBHOOK_PYTHON` names a Python that has it
/// (`.ci/run` installs it): a forged body must fail there too. Says so and returns
/// `false` when there is none.
fn reference_library_verifies(secret: &str, received: &Received) -> bool {
    let Ok(python) = std::env::var("CMS_TEST_WEBHOOK_PYTHON") else {
        eprintln!(
            "CMS_TEST_WEBHOOK_PYTHON is not set: signatures are checked here only, not with \
             the standardwebhooks package (.ci/run installs it)"
        );
        return false;
    };
    let script = "import json, sys\n\
        from standardwebhooks import Webhook\n\
        given = json.load(sys.stdin)\n\
        Webhook(given['secret']).verify(given['body'].encode(), given['headers'])\n\
        tampered = given['body'].replace('\"', \"'\", 1)\n\
        try:\n    Webhook(given['secret']).verify(tampered.encode(), given['headers'])\n    sys.exit(3)\n\
        except Exception:\n    pass\n\
        print('verified')\n";
    let mut child = Command::new(python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the Python named by CMS_TEST_WEBHOOK_PYTHON runs");
    let input = json!({
        "secret": secret,
        "body": String::from_utf8(received.body.clone()).unwrap(),
        "headers": {
            "webhook-id": received.headers["webhook-id"],
            "webhook-timestamp": received.headers["webhook-timestamp"],
            "webhook-signature": received.headers["webhook-signature"],
        },
    });
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "standardwebhooks: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("verified"));
    true
}

#[tokio::test]
async fn a_webhook_gets_each_event_it_wants_signed_per_standard_webhooks() {
    let app = delivering_app().await;
    let receiver = Receiver::start(Behaviour::Answer(204)).await;
    let webhook = create_webhook(
        &app,
        &receiver.url,
        json!(["article.published", "article.unpublished"]),
    )
    .await;
    let secret = webhook["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let id = webhook["id"].as_str().unwrap().to_string();
    // The secret is shown once.
    let read: Value = app
        .get(&format!("/api/v1/webhooks/{id}"))
        .await
        .expect(200)
        .await;
    assert!(read.get("secret").is_none());

    // A draft is created, then published: only the publication is wanted.
    let article = app
        .create_article(json!({"title": "Wired", "slug": "wired"}))
        .await;
    app.post("/api/v1/articles/wired/publish")
        .await
        .expect::<Value>(200)
        .await;
    let received = receiver
        .wait_for("the publication", |r| !r.is_empty())
        .await;
    let event = &received[0];
    let payload = event.json();
    assert_eq!(payload["type"], "article.published");
    assert_eq!(payload["data"]["id"], article["id"]);
    assert_eq!(payload["data"]["resource"], "article");
    assert_eq!(payload["data"]["slug"], "wired");
    assert_eq!(payload["data"]["version"], 2);
    assert_eq!(
        payload["data"]["url"],
        format!("/api/v1/articles/{}", article["id"].as_str().unwrap())
    );
    // The keys a CDN purges: those the article's cached answers carry.
    let article_key = format!("article-{}", article["id"].as_str().unwrap());
    assert_eq!(
        payload["data"]["surrogate_keys"],
        json!([article_key, "articles"])
    );
    assert_eq!(event.headers["content-type"], "application/json");
    let timestamp: i64 = event.headers["webhook-timestamp"].parse().unwrap();
    assert!((Utc::now().timestamp() - timestamp).abs() < 60);
    assert!(signature_verifies(&secret, event), "{:?}", event.headers);
    let mut forged = event.clone();
    forged.body = forged.body.replace_first(b"wired", b"wirEd");
    assert!(!signature_verifies(&secret, &forged));
    reference_library_verifies(&secret, event);

    // The change feed starts at the event from the payload's cursor.
    let feed: Value = app
        .get(&format!(
            "/api/v1/changes?cursor={}&limit=1",
            payload["data"]["cursor"].as_str().unwrap()
        ))
        .await
        .expect(200)
        .await;
    assert_eq!(feed["items"][0]["event_id"], event.id().as_str());

    // The delivery is listed with its attempt.
    let deliveries: Value = app
        .get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await
        .expect(200)
        .await;
    let delivery = &deliveries["items"][0];
    assert_eq!(delivery["status"], "succeeded");
    assert_eq!(delivery["event_id"], event.id().as_str());
    assert_eq!(delivery["attempts"][0]["status_code"], 204);
    assert_eq!(deliveries["items"].as_array().unwrap().len(), 1);

    // Redelivered: the same event again, under the same id.
    app.post(&format!(
        "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
        delivery["id"].as_str().unwrap()
    ))
    .await
    .expect::<Value>(202)
    .await;
    let received = receiver.wait_for("the redelivery", |r| r.len() == 2).await;
    let unknown = app
        .post(&format!(
            "/api/v1/webhooks/{id}/deliveries/{}/redeliver",
            uuid::Uuid::now_v7()
        ))
        .await;
    problem(unknown, 404).await;
    assert_eq!(received[1].id(), event.id());
    assert_eq!(received[1].body, event.body);
}

trait ReplaceFirst {
    fn replace_first(&self, from: &[u8], to: &[u8]) -> Vec<u8>;
}

impl ReplaceFirst for Vec<u8> {
    fn replace_first(&self, from: &[u8], to: &[u8]) -> Vec<u8> {
        let at = self.windows(from.len()).position(|w| w == from).unwrap();
        [&self[..at], to, &self[at + from.len()..]].concat()
    }
}

#[tokio::test]
async fn a_receiver_that_fails_twice_gets_the_event_on_the_third_try() {
    let app = delivering_app().await;
    let receiver = Receiver::start(Behaviour::FailThenSucceed(2)).await;
    let webhook = create_webhook(&app, &receiver.url, json!(["tag.created"])).await;
    app.create_tag(json!({"name": "Mining"})).await;
    let received = receiver.wait_for("three tries", |r| r.len() == 3).await;
    let ids: HashSet<String> = received.iter().map(Received::id).collect();
    assert_eq!(ids.len(), 1, "one event, three tries");
    // Each try is signed anew (its own timestamp), and all verify.
    let secret = webhook["secret"].as_str().unwrap();
    assert!(received.iter().all(|r| signature_verifies(secret, r)));

    let id = webhook["id"].as_str().unwrap();
    let deliveries: Value = app
        .get(&format!("/api/v1/webhooks/{id}/deliveries"))
        .await
        .expect(200)
        .await;
    let delivery = &deliveries["items"][0];
    let codes: Vec<&Value> = delivery["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| &a["status_code"])
        .collect();
    assert_eq!(codes, [&json!(500), &json!(500), &json!(200)]);
    assert_eq!(delivery["status"], "succeeded");
    assert_eq!(delivery["attempts"][0]["response_excerpt"], "received");
}

#[tokio::test]
async fn deliveries_that_keep_failing_are_marked_failed_and_the_webhook_disabled() {
    let mut options = TestOptions::default();
    options.webhooks.deliver = true;
    options.webhooks.retry_for = Duration::from_secs(1);
    options.webhooks.disable_after_failures = 2;
    let app = TestApp::spawn_with(options).await;
    let receiver = Receiver::start(Behaviour::Answer(503)).await;
    let webhook = create_webhook(&app, &receiver.url, json!(["tag.created"])).await;
    let id = webhook["id"].as_str().unwrap();
    app.create_tag(json!({"name": "One"})).await;
    app.create_tag(json!({"name": "Two"})).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let read = loop {
        let read: Value = app
            .get(&format!("/api/v1/webhooks/{id}"))
            .await
            .expect(200)
            .await;
        if read["active"] == false || Instant::now() > deadline {
            break read;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(read["active"], false, "{read}");
    assert_eq!(read["failed_in_a_row"], 2);
    assert!(read["disabled_reason"].as_str().unwrap().contains("failed"));
    let failed: Value = app
        .get(&format!("/api/v1/webhooks/{id}/deliveries?status=failed"))
        .await
        .expect(200)
        .await;
    assert_eq!(failed["items"].as_array().unwrap().len(), 2);
    // A disabled webhook gets nothing; set active, it starts again.
    let before = receiver.received().len();
    app.create_tag(json!({"name": "Three"})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), before);
    let restarted: Value = app
        .patch_json(&format!("/api/v1/webhooks/{id}"), &json!({"active": true}))
        .await
        .expect(200)
        .await;
    assert_eq!(restarted["failed_in_a_row"], 0);
    assert_eq!(restarted["disabled_reason"], Value::Null);
}

#[tokio::test]
async fn events_of_a_rolled_back_transaction_are_never_sent() {
    let app = delivering_app().await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    create_webhook(&app, &receiver.url, json!([])).await;
    app.create_article(json!({"title": "Steady", "slug": "steady"}))
        .await;
    receiver.wait_for("the creation", |r| r.len() == 1).await;

    // A fault injected after a write's events are in: the transaction of any
    // change that renames an article `doomed` fails once its events are written.
    app.db()
        .await
        .batch_execute(
            "CREATE FUNCTION fail_doomed() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.slug = 'doomed' THEN RAISE EXCEPTION 'injected fault'; END IF; \
             RETURN NEW; END $$; \
             CREATE TRIGGER fail_doomed AFTER INSERT ON events \
             FOR EACH ROW EXECUTE FUNCTION fail_doomed();",
        )
        .await
        .unwrap();
    let response = app
        .patch_json(
            "/api/v1/articles/steady",
            &json!({"slug": "doomed", "tags": ["Never"]}),
        )
        .await;
    assert!(response.status().is_server_error(), "{}", response.status());
    // Nothing of it happened: the slug, the tag, the events.
    app.get("/api/v1/articles/steady")
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.get("/api/v1/tags/never").await.status(), 404);
    // A write the API refuses (publishing with a missing citation) sends nothing.
    app.patch_json("/api/v1/articles/steady", &json!({"body": "As said [1]."}))
        .await
        .expect::<Value>(200)
        .await;
    problem(app.post("/api/v1/articles/steady/publish").await, 422).await;
    // A committed change after them is delivered, and only it.
    app.create_tag(json!({"name": "After"})).await;
    receiver.wait_for("the tag", |r| r.len() == 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let types: Vec<Value> = receiver
        .received()
        .iter()
        .map(|r| r.json()["type"].clone())
        .collect();
    assert_eq!(
        types,
        [
            json!("article.created"),
            json!("article.updated"),
            json!("tag.created")
        ]
    );
    assert!(receiver
        .received()
        .iter()
        .all(|r| r.json()["data"]["slug"] != "doomed" && r.json()["data"]["slug"] != "never"));
    let feed: Value = app.get("/api/v1/changes").await.expect(200).await;
    assert_eq!(feed["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn two_servers_deliver_100_events_exactly_once_between_them() {
    let app = delivering_app().await;
    app.spawn_replica().await;
    let receiver = Receiver::start(Behaviour::Answer(200)).await;
    create_webhook(&app, &receiver.url, json!(["tag.created"])).await;
    // Two writes of 50 new tags each: 100 events due at once, for both servers'
    // workers to take between them.
    for half in 0..2 {
        let tags: Vec<String> = (0..50).map(|n| format!("Topic {half}-{n}")).collect();
        app.create_article(json!({"title": format!("Tagged {half}"), "tags": tags}))
            .await;
    }
    receiver
        .wait_for("100 events", |r| {
            r.iter().map(Received::id).collect::<HashSet<_>>().len() == 100
        })
        .await;
    // Time for a duplicate to show up, if one were coming.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = receiver.received();
    assert_eq!(received.len(), 100, "each event once");
}

/// A `cms serve` process on the test's database.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    fn start(app: &TestApp) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("cms-webhook-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("cms.log");
        let child = Command::new(env!("CARGO_BIN_EXE_cms"))
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                database_url(app.db_config.get_dbname().unwrap()),
            )
            .env("CMS_DATA_DIR", &dir)
            .env("CMS_BIND", format!("127.0.0.1:{port}"))
            .env("CMS_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
            .env("CMS_WEBHOOK_TIMEOUT_MS", "2000")
            .env("CMS_WEBHOOK_POLL_MS", "100")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Server { child, log }
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(self.log.parent().unwrap());
    }
}

#[tokio::test]
async fn a_server_killed_mid_delivery_leaves_nothing_undelivered() {
    let mut options = TestOptions::default();
    options.webhooks.deliver = false;
    let app = TestApp::spawn_with(options).await;
    let receiver = Receiver::start(Behaviour::Hang).await;
    let webhook = create_webhook(&app, &receiver.url, json!(["tag.created"])).await;
    for n in 0..5 {
        app.create_tag(json!({"name": format!("Topic {n}")})).await;
    }
    // A server takes the five deliveries and is killed while the receiver holds
    // them unanswered.
    let server = Server::start(&app);
    receiver
        .wait_for("five held requests", |r| r.len() == 5)
        .await;
    server.kill();
    receiver.set(Behaviour::Answer(200));
    // Another server takes them again once their lease is over.
    app.spawn_replica().await;
    receiver
        .wait_for("the five again", |r| {
            r.len() >= 10 && r.iter().map(Received::id).collect::<HashSet<_>>().len() == 5
        })
        .await;
    let id = webhook["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let done: Value = app
            .get(&format!(
                "/api/v1/webhooks/{id}/deliveries?status=succeeded"
            ))
            .await
            .expect(200)
            .await;
        if done["items"].as_array().unwrap().len() == 5 {
            break;
        }
        assert!(Instant::now() < deadline, "not all succeeded: {done}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn webhook_targets_must_be_http_urls_and_writes_need_admin() {
    let mut options = TestOptions::default();
    options.webhooks.allow_private_targets = false;
    let app = TestApp::spawn_with(options).await;
    for (url, says) in [
        ("http://127.0.0.1:9/hook", "non-public"),
        ("http://localhost/hook", "non-public"),
        ("file:///etc/passwd", "http or https"),
        ("http://user:secret@example.com/", "password"),
    ] {
        let body = problem(
            app.post_json("/api/v1/webhooks", &json!({"url": url}))
                .await,
            422,
        )
        .await;
        assert_eq!(body["errors"][0]["field"], "url");
        assert!(
            body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(says),
            "{url}: {body}"
        );
    }
    let body = problem(
        app.post_json(
            "/api/v1/webhooks",
            &json!({"url": "http://93.184.215.14/", "events": ["article.exploded"]}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "events[0]");
    let editor = app.token(&[cms::auth::Scope::ContentWrite]).await;
    let response = app
        .public
        .get(app.url("/api/v1/webhooks"))
        .bearer_auth(editor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
}

/// Reads the whole feed from `cursor`, a page of `limit` at a time.
async fn read_feed(app: &TestApp, public: bool, limit: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor = String::new();
    loop {
        let path = format!("/api/v1/changes?limit={limit}&cursor={cursor}");
        let page: Value = if public {
            app.public_get(&path).await.expect(200).await
        } else {
            app.get(&path).await.expect(200).await
        };
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        cursor = page["next_cursor"].as_str().unwrap().to_string();
        if page["has_more"] == false {
            return items;
        }
    }
}

#[tokio::test]
async fn editors_read_every_change_in_commit_order() {
    let app = TestApp::spawn().await;
    app.create_article(json!({"title": "Life", "slug": "life"}))
        .await;
    app.post("/api/v1/articles/life/publish")
        .await
        .expect::<Value>(200)
        .await;
    app.patch_json("/api/v1/articles/life", &json!({"title": "Life, again"}))
        .await
        .expect::<Value>(200)
        .await;
    app.post("/api/v1/articles/life/archive")
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.delete("/api/v1/articles/life").await.status(), 204);
    app.post("/api/v1/trash/articles/life/restore")
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.delete("/api/v1/articles/life").await.status(), 204);
    assert_eq!(
        app.delete("/api/v1/trash/articles/life").await.status(),
        204
    );
    let tag = app.create_tag(json!({"name": "Life"})).await;
    app.patch_json("/api/v1/tags/life", &json!({"name": "Living"}))
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.delete("/api/v1/tags/life").await.status(), 204);

    let items = read_feed(&app, false, 2).await;
    let types: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "article.created",
            "article.published",
            "article.updated",
            "article.archived",
            "article.trashed",
            "article.restored",
            "article.trashed",
            "article.deleted",
            "tag.created",
            "tag.updated",
            "tag.deleted",
        ]
    );
    // Gone now: every change of theirs is a tombstone.
    assert!(items.iter().all(|i| i["deleted"] == true), "{items:?}");
    assert_eq!(items[9]["id"], tag["id"]);
    assert_eq!(items[9]["slug"], "life");
    // Read from its end, the feed has nothing new, and says where to go on from.
    let end: Value = app
        .get(&format!(
            "/api/v1/changes?cursor={}",
            items.last().unwrap()["cursor"].as_str().unwrap()
        ))
        .await
        .expect(200)
        .await;
    assert_eq!(end["items"], json!([]));
    assert_eq!(end["next_cursor"], items.last().unwrap()["cursor"]);
    assert_eq!(end["has_more"], false);
    let body = problem(app.get("/api/v1/changes?cursor=nope").await, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("cursor"));
}

#[tokio::test]
async fn a_builder_replaying_the_public_feed_gets_exactly_the_public_content() {
    let app = TestApp::spawn().await;
    let past = Utc::now() - chrono::Duration::days(1);
    for n in 0..5 {
        app.create_article(
            json!({"title": format!("Story {n}"), "slug": format!("story-{n}"),
            "status": "published", "published_at": past, "tags": ["News"],
            "body": format!("Body {n}.")}),
        )
        .await;
    }
    app.create_article(json!({"title": "Draft", "slug": "draft"}))
        .await;
    // Unpublished, trashed, and edited after publication.
    app.post("/api/v1/articles/story-1/unpublish")
        .await
        .expect::<Value>(200)
        .await;
    assert_eq!(app.delete("/api/v1/articles/story-2").await.status(), 204);
    app.patch_json(
        "/api/v1/articles/story-3",
        &json!({"title": "Story 3, updated"}),
    )
    .await
    .expect::<Value>(200)
    .await;
    // Scheduled a moment ahead: announced when its time comes.
    let soon = Utc::now() + chrono::Duration::seconds(2);
    let scheduled = app
        .create_article(
            json!({"title": "Soon", "slug": "soon", "status": "published",
            "published_at": soon}),
        )
        .await;

    let draft_id = app
        .get("/api/v1/articles/draft")
        .await
        .json::<Value>()
        .await
        .unwrap()["id"]
        .clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    let items = loop {
        let items = read_feed(&app, true, 3).await;
        if items.iter().any(|i| i["id"] == scheduled["id"]) || Instant::now() > deadline {
            break items;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(
        items
            .iter()
            .any(|i| i["id"] == scheduled["id"] && i["type"] == "article.published"),
        "the scheduled article is announced when its time comes"
    );
    assert!(
        items.iter().all(|i| i["id"] != draft_id),
        "drafts never appear"
    );
    assert!(items
        .iter()
        .all(|i| i["article"].get("created_by").is_none()));

    // Replay: upsert, or remove when deleted.
    let mut built: HashMap<String, Value> = HashMap::new();
    for item in items.iter().filter(|i| i["resource"] == "article") {
        let id = item["id"].as_str().unwrap().to_string();
        if item["deleted"] == true {
            built.remove(&id);
        } else if let Some(article) = item.get("article") {
            built.insert(id, article.clone());
        }
    }
    let listed: Value = app
        .public_get("/api/v1/articles?limit=100")
        .await
        .expect(200)
        .await;
    let mut public: HashMap<String, Value> = HashMap::new();
    for summary in listed["items"].as_array().unwrap() {
        let id = summary["id"].as_str().unwrap();
        let whole: Value = app
            .public_get(&format!("/api/v1/articles/{id}?include=body_html"))
            .await
            .expect(200)
            .await;
        public.insert(id.to_string(), whole);
    }
    let mut built_ids: Vec<&String> = built.keys().collect();
    let mut public_ids: Vec<&String> = public.keys().collect();
    built_ids.sort();
    public_ids.sort();
    assert_eq!(built_ids, public_ids);
    assert_eq!(built.len(), 4, "stories 0, 3, 4 and the scheduled one");
    for (id, article) in &public {
        assert_eq!(&built[id], article, "{id}");
    }
}

#[tokio::test]
async fn a_change_to_one_translation_is_a_change_to_the_others() {
    let app = TestApp::spawn().await;
    let past = Utc::now() - chrono::Duration::days(1);
    let english = app
        .create_article(
            json!({"title": "Korea Week", "slug": "korea-week", "status": "published",
            "published_at": past}),
        )
        .await;
    app.create_article(
        json!({"title": "Солонгосын долоо хоног", "slug": "korea-week-mn",
        "language": "mn", "translation_of": "korea-week", "status": "published",
        "published_at": past}),
    )
    .await;
    let before = read_feed(&app, true, 100).await;
    app.patch_json(
        "/api/v1/articles/korea-week-mn",
        &json!({"title": "Солонгос 7 хоног"}),
    )
    .await
    .expect::<Value>(200)
    .await;
    let after = read_feed(&app, true, 100).await;
    let new: Vec<&Value> = after[before.len()..].iter().collect();
    let english_change = new
        .iter()
        .find(|i| i["id"] == english["id"])
        .expect("the English article changed too: it lists the new title");
    assert_eq!(english_change["type"], "article.updated");
    assert_eq!(
        english_change["article"]["translations"][0]["title"],
        "Солонгос 7 хоног"
    );
}

#[tokio::test]
async fn a_feed_page_carries_at_most_4_mib_of_bodies() {
    let app = TestApp::spawn().await;
    // Six articles of about 1 MiB each (Markdown and its HTML).
    let paragraph = "word ".repeat(100_000);
    for n in 0..6 {
        app.create_article(json!({"title": format!("Long {n}"), "body": paragraph}))
            .await;
    }
    let first: Value = app.get("/api/v1/changes?limit=100").await.expect(200).await;
    let carried = first["items"].as_array().unwrap().len();
    assert!(
        (1..6).contains(&carried),
        "{carried} changes in the first page"
    );
    assert_eq!(first["has_more"], true);
    // The rest follows on the next pages, nothing lost.
    let all = read_feed(&app, false, 100).await;
    assert_eq!(all.len(), 6);
    assert!(all
        .iter()
        .all(|i| i["article"]["body"].as_str().unwrap().len() == 500_000));
    let body = problem(app.get("/api/v1/changes?limit=101").await, 400).await;
    assert!(body["detail"].as_str().unwrap().contains("limit"));
}
