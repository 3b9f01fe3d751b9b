//! Revisions: every change to an article keeps it whole; editors list them, read
//! one, compare two and restore one, and nothing rewrites the history.

use cms::auth::Scope;
use cms::content::housekeeping::Retention;
use serde_json::{json, Value};

use crate::helpers::{problem, Expect, TestApp};

const ARTICLE: &str = "/api/v1/articles/korea-week";

async fn article(app: &TestApp) -> Value {
    app.create_article(json!({
        "title": "Korea Week",
        "standfirst": "Culture first.",
        "body": "Trade is small [1].",
        "key_point_lists": [{"title": "Key points", "points": ["a", "b", "c"]}],
        "citations": [{"title": "Korea Herald"}, {"title": "Cultural Center"}],
        "tags": ["Mongolia", "Culture"]
    }))
    .await
}

/// The article as the API serves it, without what every change moves on.
fn content(article: &Value) -> Value {
    let mut article = article.clone();
    let object = article.as_object_mut().unwrap();
    for moving in ["version", "updated_at", "updated_by"] {
        object.remove(moving);
    }
    article
}

async fn revisions(app: &TestApp) -> Vec<Value> {
    let page: Value = app
        .get_as(&format!("{ARTICLE}/revisions?limit=100"), 200)
        .await;
    page["items"].as_array().unwrap().clone()
}

/// Nine changes of every kind after the creation: ten versions.
async fn ten_versions(app: &TestApp) -> Vec<Value> {
    let created = article(app).await;
    let mut seen = vec![created.clone()];
    let list_id = created["key_point_lists"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let lists = format!("{ARTICLE}/key-point-lists");
    let list = format!("{lists}/{list_id}");
    // Each change, then the article as a read gives it.
    async fn then_read(app: &TestApp, response: reqwest::Response) -> Value {
        assert!(response.status().is_success(), "{}", response.status());
        app.get_as(ARTICLE, 200).await
    }
    let response = app
        .patch_json(ARTICLE, &json!({"title": "Korea Week, day two"}))
        .await;
    seen.push(then_read(app, response).await);
    let response = app
        .post_json(&format!("{list}/points"), &json!({"text": "d"}))
        .await;
    seen.push(then_read(app, response).await);
    let response = app
        .patch_json(&list, &json!({"title": "What happened"}))
        .await;
    seen.push(then_read(app, response).await);
    let response = app
        .post_json(
            &format!("{ARTICLE}/citations"),
            &json!({"title": "Ministry"}),
        )
        .await;
    seen.push(then_read(app, response).await);
    let response = app
        .put_json(
            &format!("{ARTICLE}/tags"),
            &json!({"tags": ["Culture", "Seoul"]}),
        )
        .await;
    seen.push(then_read(app, response).await);
    let response = app
        .post_json(&lists, &json!({"title": "Next", "points": ["x"]}))
        .await;
    seen.push(then_read(app, response).await);
    let response = app
        .patch_json(
            ARTICLE,
            &json!({"body": "Trade is small [1], culture big [3]."}),
        )
        .await;
    seen.push(then_read(app, response).await);
    let response = app.post(&format!("{ARTICLE}/publish")).await;
    seen.push(then_read(app, response).await);
    let response = app.patch_json(ARTICLE, &json!({"standfirst": null})).await;
    seen.push(then_read(app, response).await);
    seen
}

#[tokio::test]
async fn ten_changes_make_ten_revisions_each_the_whole_article_as_read() {
    let app = TestApp::spawn().await;
    let seen = ten_versions(&app).await;
    let listed = revisions(&app).await;
    let versions: Vec<i64> = listed
        .iter()
        .map(|r| r["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, (1..=10).rev().collect::<Vec<_>>(), "newest first");
    assert_eq!(listed[0]["title"], "Korea Week, day two");
    assert_eq!(listed[0]["status"], "published");
    assert_eq!(listed[9]["status"], "draft");
    assert!(
        listed[0]["created_by"].is_string(),
        "the token that made it"
    );
    // Each revision is exactly the article a read gave at that version.
    for article in &seen {
        let version = article["version"].as_i64().unwrap();
        let revision: Value = app
            .get_as(&format!("{ARTICLE}/revisions/{version}"), 200)
            .await;
        assert_eq!(revision["version"], version);
        assert_eq!(&revision["article"], article, "revision {version}");
    }
}

#[tokio::test]
async fn restoring_the_third_revision_gives_back_exactly_the_third_article() {
    let app = TestApp::spawn().await;
    let seen = ten_versions(&app).await;
    let third = &seen[2];
    assert_eq!(third["version"], 3);
    let current = app.get(ARTICLE).await;
    let etag = current.headers()["etag"].to_str().unwrap().to_string();

    let response = app
        .client
        .post(app.url(&format!("{ARTICLE}/revisions/3/restore")))
        .header("if-match", etag.clone())
        .send()
        .await
        .unwrap();
    let restored: Value = response.expect(200).await;
    let mut expected = content(third);
    // Restoring brings content back, not the workflow: it stays published.
    expected["status"] = json!("published");
    expected["published_at"] = seen[9]["published_at"].clone();
    assert_eq!(content(&restored), expected, "parts and their ids included");
    assert_eq!(restored["version"], 11, "a new change");
    assert_eq!(app.get_as::<Value>(ARTICLE, 200).await, restored);
    // The history is kept, and grew by one.
    let listed = revisions(&app).await;
    assert_eq!(listed.len(), 11);
    let eleventh: Value = app.get_as(&format!("{ARTICLE}/revisions/11"), 200).await;
    assert_eq!(eleventh["article"], restored);
    // A stale ETag cannot restore over a newer change.
    let stale = app
        .client
        .post(app.url(&format!("{ARTICLE}/revisions/1/restore")))
        .header("if-match", etag)
        .send()
        .await
        .unwrap();
    problem(stale, 412).await;
}

#[tokio::test]
async fn a_diff_lists_exactly_what_changed() {
    let app = TestApp::spawn().await;
    let created = article(&app).await;
    let list = &created["key_point_lists"][0];
    let list_path = format!("{ARTICLE}/key-point-lists/{}", list["id"].as_str().unwrap());
    let c = list["points"][2]["id"].as_str().unwrap();
    // One change of each kind, each its own version: 2 to 6.
    app.patch_json(ARTICLE, &json!({"title": "Korea Week, again"}))
        .await
        .expect::<Value>(200)
        .await;
    app.patch_json(&format!("{list_path}/points/{c}"), &json!({"position": 0}))
        .await
        .expect::<Value>(200)
        .await;
    app.patch_json(
        &format!(
            "{ARTICLE}/citations/{}",
            created["citations"][1]["id"].as_str().unwrap()
        ),
        &json!({"title": "Korean Cultural Center"}),
    )
    .await
    .expect::<Value>(200)
    .await;
    assert_eq!(
        app.delete(&format!("{ARTICLE}/tags/mongolia"))
            .await
            .status(),
        204
    );
    app.post_json(
        &format!("{ARTICLE}/tags"),
        &json!({"tag": "Seoul", "position": 0}),
    )
    .await
    .expect::<Value>(200)
    .await;

    let diff: Value = app
        .get_as(&format!("{ARTICLE}/revisions/6/diff?from=1"), 200)
        .await;
    assert_eq!(
        (diff["from"].as_i64(), diff["to"].as_i64()),
        (Some(1), Some(6))
    );
    assert_eq!(
        diff["fields"],
        json!([{"field": "title", "from": "Korea Week", "to": "Korea Week, again"}])
    );
    // The list did not change itself; one point moved (the others only shifted).
    let lists = diff["key_point_lists"].as_array().unwrap();
    assert_eq!(lists.len(), 1, "{lists:?}");
    assert_eq!(lists[0]["change"], "changed");
    assert_eq!(lists[0]["fields"], json!([]));
    let points = lists[0]["points"].as_array().unwrap();
    assert_eq!(points.len(), 1, "{points:?}");
    assert_eq!(points[0]["id"], c);
    assert_eq!(points[0]["change"], "moved");
    assert_eq!(
        (
            points[0]["from_position"].as_i64(),
            points[0]["to_position"].as_i64()
        ),
        (Some(2), Some(0))
    );
    // One citation changed, field by field.
    let citations = diff["citations"].as_array().unwrap();
    assert_eq!(citations.len(), 1);
    assert_eq!(citations[0]["change"], "changed");
    assert_eq!(
        citations[0]["fields"],
        json!([{"field": "title", "from": "Cultural Center", "to": "Korean Cultural Center"}])
    );
    // Tags: one removed, one added; Culture stayed in place relative to the rest.
    let tags: Vec<(String, String)> = diff["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["change"].as_str().unwrap().into(),
                t["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    let mongolia = created["tags"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(tags.len(), 2, "{tags:?}");
    assert_eq!(tags[0], ("removed".to_string(), mongolia));
    assert_eq!(tags[1].0, "added");

    // Without `from`, a revision is compared with the one before it.
    let last: Value = app
        .get_as(&format!("{ARTICLE}/revisions/2/diff"), 200)
        .await;
    assert_eq!(last["from"], 1);
    assert_eq!(last["fields"].as_array().unwrap().len(), 1);
    assert_eq!(last["key_point_lists"], json!([]));
    problem(app.get(&format!("{ARTICLE}/revisions/1/diff")).await, 404).await;
    problem(
        app.get(&format!("{ARTICLE}/revisions/6/diff?from=99"))
            .await,
        404,
    )
    .await;
}

#[tokio::test]
async fn renaming_a_tag_records_a_revision_of_exactly_its_articles() {
    let app = TestApp::spawn().await;
    article(&app).await;
    app.create_article(json!({"title": "Elsewhere", "tags": ["Seoul"]}))
        .await;
    app.patch_json("/api/v1/tags/mongolia", &json!({"name": "Mongol Uls"}))
        .await
        .expect::<Value>(200)
        .await;
    let listed = revisions(&app).await;
    assert_eq!(listed.len(), 2);
    let latest: Value = app.get_as(&format!("{ARTICLE}/revisions/2"), 200).await;
    assert_eq!(latest["article"]["tags"][0]["name"], "Mongol Uls");
    let other: Value = app
        .get_as("/api/v1/articles/elsewhere/revisions", 200)
        .await;
    assert_eq!(other["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn revisions_are_for_editors_only() {
    let app = TestApp::spawn().await;
    article(&app).await;
    app.post(&format!("{ARTICLE}/publish")).await;
    let path = format!("{ARTICLE}/revisions");
    problem(app.public_get(&path).await, 401).await;
    problem(app.public_get(&format!("{path}/1")).await, 401).await;
    let reader = app.token(&[Scope::ContentRead]).await;
    let read = app
        .public
        .get(app.url(&path))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let restore = app
        .public
        .post(app.url(&format!("{path}/1/restore")))
        .bearer_auth(&reader)
        .send()
        .await
        .unwrap();
    problem(restore, 403).await;
    for missing in ["99", "0", "-1", "one"] {
        problem(app.get(&format!("{path}/{missing}")).await, 404).await;
    }
}

#[tokio::test]
async fn restoring_a_slug_another_article_took_is_a_409_naming_a_free_one() {
    let app = TestApp::spawn().await;
    article(&app).await;
    app.patch_json(ARTICLE, &json!({"slug": "korea-week-renamed"}))
        .await
        .expect::<Value>(200)
        .await;
    app.create_article(json!({"title": "Korea Week"})).await;
    let response = app
        .post("/api/v1/articles/korea-week-renamed/revisions/1/restore")
        .await;
    let body = problem(response, 409).await;
    assert_eq!(body["errors"][0]["field"], "slug");
}

#[tokio::test]
async fn retention_keeps_the_newest_revisions_it_is_set_to() {
    let app = TestApp::spawn().await;
    ten_versions(&app).await;
    let mut conn = cms::db::connect(&app.db_config).await.unwrap();
    let keep_three = Retention {
        revisions_keep: Some(3),
        trash_purge_after: None,
    };
    let removed = keep_three.apply(&mut conn).await.unwrap();
    assert_eq!(removed.revisions, 7);
    let versions: Vec<i64> = revisions(&app)
        .await
        .iter()
        .map(|r| r["version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [10, 9, 8]);
    // By default everything is kept.
    let removed = Retention::default().apply(&mut conn).await.unwrap();
    assert_eq!(removed.revisions, 0);
}

#[tokio::test]
async fn revisions_page_with_cursors_and_refuse_what_names_no_revision() {
    let app = TestApp::spawn().await;
    ten_versions(&app).await;
    let mut versions = Vec::new();
    let mut path = format!("{ARTICLE}/revisions?limit=4");
    loop {
        let page: Value = app.get_as(&path, 200).await;
        versions.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["version"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("{ARTICLE}/revisions?limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        versions,
        (1..=10).rev().collect::<Vec<_>>(),
        "each once, in order"
    );
    for bad in ["limit=0", "limit=101", "cursor=bm90LWEtY3Vyc29y"] {
        problem(app.get(&format!("{ARTICLE}/revisions?{bad}")).await, 400).await;
    }
    problem(
        app.get(&format!("{ARTICLE}/revisions/5/diff?from=0")).await,
        400,
    )
    .await;
}
