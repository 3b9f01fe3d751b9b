//! Access control: public reads of published content, scoped tokens for the rest,
//! tokens stored as hashes only, rate limits.

use std::time::Duration;

use chrono::Utc;
use cms::auth::Scope;
use cms::http::rate_limit::RateLimits;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::{create_token, problem, TestApp, TestOptions};

/// A published article with one of each part, a draft, a tag, and a token to aim
/// token operations at.
struct Fixtures {
    article: String,
    list: String,
    point: String,
    citation: String,
    token: String,
}

async fn fixtures(app: &TestApp) -> Fixtures {
    let article = app
        .create_article(json!({
            "title": "Public",
            "status": "published",
            "key_point_lists": [{"points": ["one"]}],
            "citations": [{"title": "Source"}],
            "tags": ["Topic"]
        }))
        .await;
    let created: Value = app
        .post_json(
            "/api/v1/tokens",
            &json!({"name": "target", "scopes": ["content:read"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    Fixtures {
        article: article["id"].as_str().unwrap().to_string(),
        list: article["key_point_lists"][0]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        point: article["key_point_lists"][0]["points"][0]["id"]
            .as_str()
            .unwrap()
            .to_string(),
        citation: article["citations"][0]["id"].as_str().unwrap().to_string(),
        token: created["id"].as_str().unwrap().to_string(),
    }
}

/// What an operation's `security` in the spec demands.
#[derive(Debug, PartialEq)]
enum Demand {
    Nothing,
    OptionalToken,
    Scope(Scope),
}

fn demand(operation: &Value) -> Demand {
    let Some(requirements) = operation["security"].as_array() else {
        return Demand::Nothing;
    };
    if requirements
        .iter()
        .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
    {
        return Demand::OptionalToken;
    }
    let scope = requirements[0]["bearer"][0].as_str().unwrap();
    Demand::Scope(Scope::parse(scope).unwrap())
}

#[tokio::test]
async fn every_endpoint_answers_each_kind_of_caller_as_documented() {
    let app = TestApp::spawn().await;
    let f = fixtures(&app).await;
    let expired = create_token(
        &app.db_config,
        &[Scope::Admin],
        Some(Utc::now() + chrono::Duration::milliseconds(300)),
    )
    .await;
    let revoked = app.token(&[Scope::Admin]).await;
    let revoked_prefix = &revoked[..12];
    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{revoked_prefix}"))
            .await
            .status(),
        204
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let read = app.token(&[Scope::ContentRead]).await;
    let write = app.token(&[Scope::ContentWrite]).await;
    let admin = app.token(&[Scope::Admin]).await;
    let garbage = "cms_00000000_".to_string() + &"x".repeat(43);

    let callers: Vec<(&str, Option<String>, Option<Scope>)> = vec![
        ("no token", None, None),
        ("garbage", Some(garbage), None),
        ("not bearer", Some("Basic dXNlcjpwYXNz".into()), None),
        ("expired", Some(expired), None),
        ("revoked", Some(revoked), None),
        ("content:read", Some(read), Some(Scope::ContentRead)),
        ("content:write", Some(write), Some(Scope::ContentWrite)),
        ("admin", Some(admin), Some(Scope::Admin)),
    ];
    let spec: Value = app.public_get("/openapi.json").await.json().await.unwrap();
    let mut checked = 0;
    for (template, item) in spec["paths"].as_object().unwrap() {
        let path = template
            .replace("{article}", &f.article)
            .replace("{list}", &f.list)
            .replace("{point}", &f.point)
            .replace("{citation}", &f.citation)
            .replace("{tag}", "topic")
            .replace("{token}", &f.token);
        for (method, operation) in item.as_object().unwrap() {
            let demand = demand(operation);
            for (who, header, scope) in &callers {
                let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let mut request = app.public.request(method.clone(), app.url(&path));
                if let Some(header) = header {
                    let value = if header.starts_with("Basic") {
                        header.clone()
                    } else {
                        format!("Bearer {header}")
                    };
                    request = request.header("authorization", value);
                }
                if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
                    request = request.json(&json!({}));
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let label = format!("{method} {template} as {who}: {status}");
                let valid_token = scope.is_some();
                let expected_denial = match (&demand, header, scope) {
                    (Demand::Nothing, _, _) => None,
                    (_, Some(_), None) => Some(401),
                    (Demand::OptionalToken, _, _) => None,
                    (Demand::Scope(_), None, _) => Some(401),
                    (Demand::Scope(needed), Some(_), Some(held)) => {
                        let granted = match held {
                            Scope::Admin => true,
                            Scope::ContentWrite => *needed != Scope::Admin,
                            Scope::ContentRead => *needed == Scope::ContentRead,
                        };
                        (!granted).then_some(403)
                    }
                };
                match expected_denial {
                    Some(401) => {
                        assert_eq!(status, 401, "{label}");
                        assert_eq!(
                            response.headers()["www-authenticate"],
                            "Bearer realm=\"cms\"",
                            "{label}"
                        );
                        let body = problem(response, 401).await;
                        assert_eq!(body["type"], "/problems/unauthorized", "{label}");
                    }
                    Some(403) => {
                        let body = problem(response, 403).await;
                        assert_eq!(body["type"], "/problems/forbidden", "{label}");
                    }
                    _ => assert!(
                        status != 401 && status != 403,
                        "{label} (valid token: {valid_token})"
                    ),
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 300, "{checked} requests checked");
}

#[tokio::test]
async fn drafts_and_unpublished_parts_do_not_exist_for_the_public() {
    let app = TestApp::spawn().await;
    let draft = app
        .create_article(json!({"title": "Draft", "citations": [{"title": "S"}], "tags": ["Topic"]}))
        .await;
    app.create_article(json!({"title": "Archived", "status": "archived"}))
        .await;
    app.create_article(json!({"title": "Live", "status": "published", "tags": ["Topic"]}))
        .await;
    let citation = draft["citations"][0]["id"].as_str().unwrap();
    for path in [
        "/api/v1/articles/draft".to_string(),
        "/api/v1/articles/archived".to_string(),
        "/api/v1/articles/draft/citations".to_string(),
        format!("/api/v1/articles/draft/citations/{citation}"),
        "/api/v1/articles/draft/key-point-lists".to_string(),
        "/api/v1/articles/draft/tags".to_string(),
    ] {
        let body = problem(app.public_get(&path).await, 404).await;
        assert_eq!(body["type"], "/problems/not-found", "{path}: 404, not 403");
    }
    let titles = |page: Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_string())
            .collect()
    };
    let page: Value = app
        .public_get("/api/v1/articles")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titles(page), ["Live"]);
    let page: Value = app
        .public_get("/api/v1/articles?status=draft")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titles(page), Vec::<String>::new());
    let page: Value = app
        .public_get("/api/v1/tags/topic/articles")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(titles(page), ["Live"]);
    // Editors see everything.
    let page: Value = app.get("/api/v1/articles").await.json().await.unwrap();
    assert_eq!(titles(page).len(), 3);
    let reader = app.token(&[Scope::ContentRead]).await;
    let response = app
        .public
        .get(app.url("/api/v1/articles/draft"))
        .bearer_auth(reader)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_scheduled_article_becomes_public_at_its_time() {
    let app = TestApp::spawn().await;
    let at = Utc::now() + chrono::Duration::milliseconds(1200);
    app.create_article(json!({"title": "Soon", "status": "scheduled", "published_at": at}))
        .await;
    assert_eq!(app.public_get("/api/v1/articles/soon").await.status(), 404);
    tokio::time::sleep(Duration::from_millis(1400)).await;
    assert_eq!(app.public_get("/api/v1/articles/soon").await.status(), 200);
}

#[tokio::test]
async fn tokens_are_stored_as_hashes_only() {
    let app = TestApp::spawn().await;
    let response = app
        .post_json(
            "/api/v1/tokens",
            &json!({"name": "frontend", "scopes": ["content:read"]}),
        )
        .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let created: Value = response.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(
        secret.len(),
        "cms_".len() + 8 + 1 + 43,
        "256 random bits, base64url"
    );

    let db = app.db().await;
    let rows = db
        .query(
            "SELECT row_to_json(t)::text, secret_hash FROM api_tokens t",
            &[],
        )
        .await
        .unwrap();
    let random_part = &secret[13..];
    let mut found = false;
    for row in rows {
        let text: String = row.get(0);
        assert!(
            !text.contains(random_part),
            "no secret in the table: {text}"
        );
        let hash: Vec<u8> = row.get(1);
        found |= hash == Sha256::digest(secret.as_bytes()).to_vec();
    }
    assert!(found, "the SHA-256 of the token is stored");

    // Listing never shows a secret.
    let list = app.get("/api/v1/tokens").await.text().await.unwrap();
    assert!(!list.contains(random_part));
    assert!(list.contains("frontend"));
}

#[tokio::test]
async fn admins_manage_tokens_and_revocation_is_immediate() {
    let app = TestApp::spawn().await;
    let created: Value = app
        .post_json(
            "/api/v1/tokens",
            &json!({"name": "editor", "scopes": ["content:write"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap();
    let id = created["id"].as_str().unwrap();
    let write = |name: &'static str| {
        app.public
            .post(app.url("/api/v1/tags"))
            .bearer_auth(secret)
            .json(&json!({"name": name}))
            .send()
    };
    assert_eq!(write("First").await.unwrap().status(), 201);
    let token: Value = app
        .get(&format!("/api/v1/tokens/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(token["last_used_at"].is_string());
    assert!(token.get("secret").is_none());
    assert_eq!(token["scopes"], json!(["content:write"]));

    assert_eq!(
        app.delete(&format!("/api/v1/tokens/{id}")).await.status(),
        204
    );
    let response = write("Second").await.unwrap();
    let body = problem(response, 401).await;
    assert!(body["detail"].as_str().unwrap().contains("revoked"));
    let token: Value = app
        .get(&format!("/api/v1/tokens/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(token["revoked_at"].is_string());

    problem(
        app.post_json(
            "/api/v1/tokens",
            &json!({"name": "x", "scopes": ["superuser"]}),
        )
        .await,
        422,
    )
    .await;
    problem(
        app.post_json("/api/v1/tokens", &json!({"name": "x", "scopes": []}))
            .await,
        422,
    )
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = TestApp::spawn().await;
    let at = Utc::now() + chrono::Duration::milliseconds(500);
    let created: Value = app
        .post_json(
            "/api/v1/tokens",
            &json!({"name": "short", "scopes": ["content:read"], "expires_at": at}),
        )
        .await
        .json()
        .await
        .unwrap();
    let secret = created["secret"].as_str().unwrap().to_string();
    let get = || {
        app.public
            .get(app.url("/api/v1/articles"))
            .bearer_auth(&secret)
            .send()
    };
    assert_eq!(get().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let body = problem(get().await.unwrap(), 401).await;
    assert!(body["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn content_records_which_token_created_and_last_changed_it() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    let mut secrets = Vec::new();
    for name in ["alice", "bob"] {
        let created: Value = app
            .post_json(
                "/api/v1/tokens",
                &json!({"name": name, "scopes": ["content:write"]}),
            )
            .await
            .json()
            .await
            .unwrap();
        ids.push(created["id"].clone());
        secrets.push(created["secret"].as_str().unwrap().to_string());
    }
    let article: Value = app
        .public
        .post(app.url("/api/v1/articles"))
        .bearer_auth(&secrets[0])
        .json(&json!({"title": "Authored"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(article["created_by"], ids[0]);
    assert_eq!(article["updated_by"], ids[0]);
    let changed: Value = app
        .public
        .post(app.url("/api/v1/articles/authored/citations"))
        .bearer_auth(&secrets[1])
        .json(&json!({"title": "Source"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(changed["number"].is_number());
    let article: Value = app
        .get("/api/v1/articles/authored")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(article["created_by"], ids[0]);
    assert_eq!(
        article["updated_by"], ids[1],
        "a part's change counts as the article's"
    );

    let tag: Value = app
        .public
        .post(app.url("/api/v1/tags"))
        .bearer_auth(&secrets[1])
        .json(&json!({"name": "Tagged"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tag["created_by"], ids[1]);
}

#[tokio::test]
async fn rate_limits_trip_with_429_and_recover() {
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: RateLimits {
            anonymous_per_minute: 3,
            token_per_minute: 5,
            trust_forwarded: false,
            window: Duration::from_secs(1),
        },
        ..TestOptions::default()
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let response = app.public_get("/api/v1/tags").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "3");
        assert_eq!(response.headers()["ratelimit-remaining"], remaining);
        assert!(response.headers().contains_key("ratelimit-reset"));
    }
    let limited = app.public_get("/api/v1/tags").await;
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(limited.headers()["ratelimit-remaining"], "0");
    let body = problem(limited, 429).await;
    assert_eq!(body["type"], "/problems/too-many-requests");

    // A token has its own allowance.
    let with_token = app.get("/api/v1/tags").await;
    assert_eq!(with_token.status(), 200);
    assert_eq!(with_token.headers()["ratelimit-limit"], "5");

    // The probes and the docs are not limited.
    assert_eq!(app.public_get("/healthz").await.status(), 200);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        app.public_get("/api/v1/tags").await.status(),
        200,
        "recovered"
    );
}

#[tokio::test]
async fn made_up_tokens_count_against_the_callers_address() {
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: RateLimits {
            anonymous_per_minute: 3,
            token_per_minute: 100,
            trust_forwarded: false,
            window: Duration::from_secs(60),
        },
        ..TestOptions::default()
    })
    .await;
    for i in 0..3 {
        let forged = format!("cms_{i:08x}_{}", "y".repeat(43));
        let response = app
            .public
            .get(app.url("/api/v1/tags"))
            .bearer_auth(forged)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401);
    }
    let forged = format!("cms_{:08x}_{}", 99, "y".repeat(43));
    let response = app
        .public
        .get(app.url("/api/v1/tags"))
        .bearer_auth(forged)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        429,
        "a fresh made-up token buys no fresh allowance"
    );
    // A real token has its own allowance.
    assert_eq!(app.get("/api/v1/tags").await.status(), 200);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_address_it_saw_is_limited_not_the_claimed_one() {
    let app = TestApp::spawn_with(TestOptions {
        rate_limits: RateLimits {
            anonymous_per_minute: 2,
            token_per_minute: 100,
            trust_forwarded: true,
            window: Duration::from_secs(60),
        },
        ..TestOptions::default()
    })
    .await;
    let get = |forwarded: String| {
        app.public
            .get(app.url("/api/v1/tags"))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    // The client varies what it claims; the proxy appends the address it saw.
    for claimed in ["9.9.9.1", "9.9.9.2"] {
        assert_eq!(
            get(format!("{claimed}, 203.0.113.7"))
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let limited = get("9.9.9.3, 203.0.113.7".into()).await.unwrap();
    assert_eq!(limited.status(), 429, "claims do not buy allowances");
    let other = get("9.9.9.3, 203.0.113.8".into()).await.unwrap();
    assert_eq!(other.status(), 200, "another client has its own");
}
