//! `/api/v1/articles`: whole articles, written and read in one request.

use cms::content::articles::{Article, Status};
use serde_json::{json, Value};

use crate::helpers::{problem, Expect, TestApp};

fn whole_article() -> Value {
    json!({
        "title": "Mongolia looks to South Korea",
        "standfirst": "A third neighbour beyond China and Russia.",
        "body": "## Trade\n\nInvestment is under 10% [1], says the envoy [2].",
        "key_point_lists": [
            {"title": "Key points", "points": ["Trade is small", "Culture is big"]},
            {"title": "What next", "points": ["Korea Week"]}
        ],
        "citations": [
            {"title": "Korea Herald", "publisher": "Korea Herald", "url": "https://www.koreaherald.com/", "date": "2025-01-15"},
            {"title": "Korean Cultural Center", "author": "Staff", "quote": "Culture first."}
        ],
        "tags": ["Mongolia", "South Korea"]
    })
}

#[tokio::test]
async fn a_whole_article_is_created_in_one_request() {
    let app = TestApp::spawn().await;
    let response = app.post_json("/api/v1/articles", &whole_article()).await;
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    let article: Article = response.expect(201).await;

    assert_eq!(location, format!("/api/v1/articles/{}", article.id));
    assert!(etag.starts_with("\"v1-"), "{etag}");
    assert_eq!(article.slug, "mongolia-looks-to-south-korea");
    assert_eq!(article.status, Status::Draft);
    assert_eq!(article.published_at, None);
    assert_eq!(article.version, 1);
    assert_eq!(article.body.as_deref(), whole_article()["body"].as_str());
    let lists = article.key_point_lists.expect("the lists");
    assert_eq!(lists.len(), 2);
    assert_eq!(
        (lists[0].title.as_str(), lists[0].position),
        ("Key points", 0)
    );
    assert_eq!(lists[0].points[1].text, "Culture is big");
    assert_eq!(lists[0].points[1].position, 1);
    assert_eq!(lists[1].title, "What next");
    let citations = article.citations.expect("the citations");
    assert_eq!(citations[0].number, 1);
    assert_eq!(
        citations[0].url.as_deref(),
        Some("https://www.koreaherald.com/")
    );
    assert_eq!(
        citations[0].date.map(|d| d.to_string()).as_deref(),
        Some("2025-01-15")
    );
    assert_eq!(citations[1].number, 2, "numbered in order when not given");
    assert_eq!(citations[1].quote.as_deref(), Some("Culture first."));
    let tags: Vec<&str> = article.tags.iter().map(|t| t.slug.as_str()).collect();
    assert_eq!(tags, ["mongolia", "south-korea"]);
}

#[tokio::test]
async fn one_get_returns_the_article_whole_by_id_or_slug() {
    let app = TestApp::spawn().await;
    let created = app.create_article(whole_article()).await;
    let id = created["id"].as_str().unwrap();
    for key in [id, "mongolia-looks-to-south-korea"] {
        let article: Value = app.get_as(&format!("/api/v1/articles/{key}"), 200).await;
        assert_eq!(article, created);
    }
}

#[tokio::test]
async fn an_unknown_article_is_404() {
    let app = TestApp::spawn().await;
    for key in [
        "nope",
        "0192e4a0-0000-7000-8000-000000000000",
        "NOT%20a%20slug",
    ] {
        let body = problem(app.get(&format!("/api/v1/articles/{key}")).await, 404).await;
        assert_eq!(body["type"], "/problems/not-found");
    }
}

#[tokio::test]
async fn the_rendered_body_comes_on_request_sanitized_with_citations_linked() {
    let app = TestApp::spawn().await;
    let mut input = whole_article();
    input["body"] =
        json!("## Trade\n\nSmall [1].\n\n<script>alert(1)</script><img src=x onerror=alert(2)>");
    app.create_article(input).await;
    let plain: Article = app
        .get_as("/api/v1/articles/mongolia-looks-to-south-korea", 200)
        .await;
    assert!(plain.body_html.is_none(), "only on request");
    let article: Article = app
        .get_as(
            "/api/v1/articles/mongolia-looks-to-south-korea?include=body_html",
            200,
        )
        .await;
    let html = article.body_html.expect("the rendered body");
    assert!(html.contains("<h2>Trade</h2>"), "{html}");
    assert!(html.contains(r##"href="#citation-1""##), "{html}");
    assert!(html.contains("[1]</a>"), "{html}");
    assert!(
        !html.contains("<script") && !html.contains("onerror"),
        "{html}"
    );
}

#[tokio::test]
async fn tags_are_found_by_slug_or_name_and_unknown_names_create_them() {
    let app = TestApp::spawn().await;
    let existing = app.create_tag(json!({"name": "South Korea"})).await;
    let diplomacy = app
        .create_tag(json!({"name": "Diplomacy", "slug": "diplo"}))
        .await;
    let mut input = whole_article();
    input["tags"] = json!(["south-korea", "DIPLOMACY", "Mining", "Mining"]);
    let article = app.create_article(input).await;
    let tags = article["tags"].as_array().unwrap();
    assert_eq!(tags.len(), 3, "repeats collapse: {tags:?}");
    assert_eq!(tags[0]["id"], existing["id"]);
    assert_eq!(
        tags[1]["id"], diplomacy["id"],
        "found by name, ignoring case"
    );
    assert_eq!(tags[2]["slug"], "mining");
    let created: Value = app.get("/api/v1/tags/mining").await.json().await.unwrap();
    assert_eq!(created["name"], "Mining");
}

#[tokio::test]
async fn a_taken_slug_is_409_and_nothing_is_written() {
    let app = TestApp::spawn().await;
    app.create_article(whole_article()).await;
    let mut second = whole_article();
    second["slug"] = json!("mongolia-looks-to-south-korea");
    second["tags"] = json!(["Brand new tag"]);
    let body = problem(app.post_json("/api/v1/articles", &second).await, 409).await;
    assert!(body["detail"]
        .as_str()
        .unwrap()
        .contains("mongolia-looks-to-south-korea"));
    assert_eq!(body["errors"][0]["field"], "slug", "{body}");
    assert_eq!(
        body["errors"][0]["message"],
        "is taken; `mongolia-looks-to-south-korea-2` is free"
    );
    assert_eq!(
        app.get("/api/v1/tags/brand-new-tag").await.status(),
        404,
        "rolled back whole"
    );
}

#[tokio::test]
async fn a_derived_slug_that_is_taken_gets_the_next_free_number() {
    let app = TestApp::spawn().await;
    let slugs: Vec<String> = {
        let mut slugs = Vec::new();
        for _ in 0..3 {
            let article = app.create_article(json!({"title": "Korea Week"})).await;
            slugs.push(article["slug"].as_str().unwrap().to_string());
        }
        slugs
    };
    assert_eq!(slugs, ["korea-week", "korea-week-2", "korea-week-3"]);
    // Renaming by PUT derives again, and keeps clear of the others.
    let second = format!("/api/v1/articles/{}", slugs[1]);
    let replaced: Value = app
        .put_json(&second, &json!({"title": "Korea Week"}))
        .await
        .expect(200)
        .await;
    assert_eq!(
        replaced["slug"], "korea-week-2",
        "its own slug is not taken"
    );
    // Given explicitly, a taken slug is refused, naming a free one.
    let patch = app
        .patch_json(&second, &json!({"slug": "korea-week"}))
        .await;
    let body = problem(patch, 409).await;
    assert_eq!(
        body["errors"][0]["message"],
        "is taken; `korea-week-4` is free"
    );
    // Derived again, an article keeps its number even when a lower one came free.
    let first = format!("/api/v1/articles/{}", slugs[0]);
    assert_eq!(app.delete(&first).await.status(), 204);
    let third = format!("/api/v1/articles/{}", slugs[2]);
    let kept: Value = app
        .put_json(&third, &json!({"title": "Korea Week"}))
        .await
        .expect(200)
        .await;
    assert_eq!(kept["slug"], "korea-week-3", "its links stay");
}

#[tokio::test]
async fn invalid_parts_are_422_naming_each_field() {
    let app = TestApp::spawn().await;
    let input = json!({
        "title": "",
        "key_point_lists": [{"points": ["fine", "  "]}],
        "citations": [
            {"number": 1, "title": "A"},
            {"number": 1, "title": "B", "url": "ftp://example.com/x"},
            {"title": "C", "url": "not a url"}
        ],
        "tags": [""]
    });
    let body = problem(app.post_json("/api/v1/articles", &input).await, 422).await;
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for expected in [
        "title",
        "key_point_lists[0].points[1]",
        "citations[1].number",
        "citations[1].url",
        "citations[2].url",
        "tags[0]",
    ] {
        assert!(fields.contains(&expected), "{expected} in {fields:?}");
    }
    let page: Value = app.get("/api/v1/articles").await.json().await.unwrap();
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn a_date_that_is_not_a_date_is_422() {
    let app = TestApp::spawn().await;
    let mut input = whole_article();
    input["citations"][0]["date"] = json!("15/01/2025");
    let body = problem(app.post_json("/api/v1/articles", &input).await, 422).await;
    assert_eq!(body["errors"][0]["field"], "citations[0].date");
}

#[tokio::test]
async fn put_replaces_the_whole_article_and_keeps_its_status() {
    let app = TestApp::spawn().await;
    let created = app.create_article(whole_article()).await;
    app.post("/api/v1/articles/mongolia-looks-to-south-korea/unpublish")
        .await;
    let replacement = json!({
        "title": "Mongolia and Korea",
        "slug": "mongolia-and-korea",
        "body": "Short.",
        "tags": ["Trade"]
    });
    let response = app
        .put_json(
            &format!("/api/v1/articles/{}", created["id"].as_str().unwrap()),
            &replacement,
        )
        .await;
    assert_eq!(response.status(), 200);
    let article: Value = response.json().await.unwrap();
    assert_eq!(article["title"], "Mongolia and Korea");
    assert_eq!(article["standfirst"], Value::Null);
    assert_eq!(article["key_point_lists"], json!([]));
    assert_eq!(article["citations"], json!([]));
    assert_eq!(article["tags"][0]["slug"], "trade");
    assert_eq!(article["status"], "draft");
    assert_eq!(article["created_at"], created["created_at"]);
    assert!(article["version"].as_i64().unwrap() > 1);
    assert_eq!(
        app.get("/api/v1/articles/mongolia-looks-to-south-korea")
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn patch_changes_only_what_is_sent() {
    let app = TestApp::spawn().await;
    let created = app.create_article(whole_article()).await;
    let response = app
        .patch_json(
            "/api/v1/articles/mongolia-looks-to-south-korea",
            &json!({"title": "A new headline", "standfirst": null}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let article: Value = response.json().await.unwrap();
    assert_eq!(article["title"], "A new headline");
    assert_eq!(
        article["slug"], "mongolia-looks-to-south-korea",
        "the slug stays"
    );
    assert_eq!(article["standfirst"], Value::Null);
    assert_eq!(article["body"], created["body"]);
    assert_eq!(
        article["key_point_lists"], created["key_point_lists"],
        "parts untouched"
    );
    assert_eq!(article["citations"], created["citations"]);
    assert_eq!(article["tags"], created["tags"]);
    assert_eq!(article["version"], 2);
}

#[tokio::test]
async fn patch_with_a_list_of_parts_replaces_that_list() {
    let app = TestApp::spawn().await;
    app.create_article(whole_article()).await;
    let article: Value = app
        .patch_json(
            "/api/v1/articles/mongolia-looks-to-south-korea",
            &json!({"tags": ["Mining"], "key_point_lists": []}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(article["tags"].as_array().unwrap().len(), 1);
    assert_eq!(article["key_point_lists"], json!([]));
    assert_eq!(article["citations"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn two_editors_cannot_overwrite_each_other() {
    let app = TestApp::spawn().await;
    app.create_article(whole_article()).await;
    let path = "/api/v1/articles/mongolia-looks-to-south-korea";
    let etag = app.get(path).await.headers()["etag"].clone();
    let first = app
        .client
        .patch(app.url(path))
        .header("if-match", etag.clone())
        .json(&json!({"title": "Editor A"}))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    for request in [
        app.client
            .patch(app.url(path))
            .json(&json!({"title": "Editor B"})),
        app.client
            .put(app.url(path))
            .json(&json!({"title": "Editor B"})),
        app.client.delete(app.url(path)),
        app.client.post(app.url(&format!("{path}/publish"))),
    ] {
        let response = request
            .header("if-match", etag.clone())
            .send()
            .await
            .unwrap();
        problem(response, 412).await;
    }
    let article: Value = app.get(path).await.json().await.unwrap();
    assert_eq!(article["title"], "Editor A");
    assert_eq!(article["status"], "draft");
}

#[tokio::test]
async fn a_current_etag_gets_304() {
    let app = TestApp::spawn().await;
    app.create_article(whole_article()).await;
    let path = "/api/v1/articles/mongolia-looks-to-south-korea";
    let etag = app.get(path).await.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url(path))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Another representation of the same version has its own tag.
    let html = app
        .client
        .get(app.url(&format!("{path}?include=body_html")))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
}

#[tokio::test]
async fn if_match_compares_the_whole_tag() {
    let app = TestApp::spawn().await;
    app.create_article(whole_article()).await;
    let path = "/api/v1/articles/mongolia-looks-to-south-korea";
    let etag = app.get(path).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(etag.starts_with("\"v1-"), "{etag}");
    // Made up with the right version, or one character off: refused.
    let hex_len = etag.len() - "\"v1-\"".len();
    let mut off_by_one = etag.clone();
    let last = off_by_one.len() - 2;
    let flipped = if &off_by_one[last..last + 1] == "0" {
        "1"
    } else {
        "0"
    };
    off_by_one.replace_range(last..last + 1, flipped);
    for forged in [
        format!("\"v1-{}\"", "0".repeat(hex_len)),
        "\"v1\"".to_string(),
        off_by_one,
    ] {
        let response = app
            .client
            .patch(app.url(path))
            .header("if-match", forged.clone())
            .json(&json!({"title": "Forged"}))
            .send()
            .await
            .unwrap();
        problem(response, 412).await;
    }
    // Every representation of the current state has its own tag, and each is
    // accepted: the article read with other parts, or one of its parts.
    let tag_of = async |path: String| {
        let response = app.get(&path).await;
        response.headers()["etag"].to_str().unwrap().to_string()
    };
    let html_tag = tag_of(format!("{path}?include=body_html")).await;
    let citations_tag = tag_of(format!("{path}/citations")).await;
    assert_ne!(html_tag, etag);
    assert_ne!(citations_tag, etag);
    assert_ne!(citations_tag, html_tag);
    for (part, title) in [
        ("?include=body_html", "From HTML"),
        ("/citations", "From citations"),
    ] {
        let tag = tag_of(format!("{path}{part}")).await;
        let response = app
            .client
            .patch(app.url(path))
            .header("if-match", tag)
            .json(&json!({"title": title}))
            .send()
            .await
            .unwrap();
        let article: Value = response.expect(200).await;
        assert_eq!(article["title"], title);
    }
    // The tag of another article, at the same version, is not this one's.
    let other = app.create_article(json!({"title": "Other"})).await;
    let other_tag = app
        .get(&format!(
            "/api/v1/articles/{}",
            other["id"].as_str().unwrap()
        ))
        .await;
    let other_tag = other_tag.headers()["etag"].clone();
    let first = app.create_article(json!({"title": "Third"})).await;
    let response = app
        .client
        .patch(app.url(&format!(
            "/api/v1/articles/{}",
            first["id"].as_str().unwrap()
        )))
        .header("if-match", other_tag)
        .json(&json!({"title": "Not yours"}))
        .send()
        .await
        .unwrap();
    problem(response, 412).await;
}

#[tokio::test]
async fn deleting_a_tag_removes_it_from_its_articles() {
    let app = TestApp::spawn().await;
    app.create_article(whole_article()).await;
    assert_eq!(app.delete("/api/v1/tags/mongolia").await.status(), 204);
    let article: Value = app
        .get("/api/v1/articles/mongolia-looks-to-south-korea")
        .await
        .json()
        .await
        .unwrap();
    let tags: Vec<&str> = article["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["south-korea"]);
}

#[tokio::test]
async fn an_empty_patch_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_article(whole_article()).await;
    let article: Value = app
        .patch_json("/api/v1/articles/mongolia-looks-to-south-korea", &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(article["version"], 1);
}

#[tokio::test]
async fn replacing_as_archived_keeps_the_publication_date() {
    let app = TestApp::spawn().await;
    let live = app
        .create_article(
            json!({"title": "Live", "status": "published", "published_at": "2025-03-01T10:00:00Z"}),
        )
        .await;
    let archived: Value = app
        .put_json(
            "/api/v1/articles/live",
            &json!({"title": "Live", "status": "archived"}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(archived["status"], "archived");
    assert_eq!(archived["published_at"], live["published_at"]);
}

#[tokio::test]
async fn a_slug_that_looks_like_an_id_is_refused() {
    let app = TestApp::spawn().await;
    let body = problem(
        app.post_json(
            "/api/v1/articles",
            &json!({"title": "x", "slug": "0123456789abcdef0123456789abcdef"}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(body["errors"][0]["field"], "slug");
}

#[tokio::test]
async fn tags_made_by_an_article_write_record_who_made_them() {
    let app = TestApp::spawn().await;
    let created: Value = app
        .post_json(
            "/api/v1/tokens",
            &json!({"name": "alice", "scopes": ["content:write"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    app.public
        .post(app.url("/api/v1/articles"))
        .bearer_auth(created["secret"].as_str().unwrap())
        .json(&json!({"title": "x", "tags": ["Brand new"]}))
        .send()
        .await
        .unwrap();
    let tag: Value = app
        .get("/api/v1/tags/brand-new")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tag["created_by"], created["id"]);
}

#[tokio::test]
async fn include_names_known_parts_only() {
    let app = TestApp::spawn().await;
    let created = app.create_article(whole_article()).await;
    let path = format!("/api/v1/articles/{}", created["id"].as_str().unwrap());
    let article: Value = app
        .get_as(&format!("{path}?include=body_html,citations"), 200)
        .await;
    assert!(article["body_html"].is_string());
    for bad in ["", "body,", "bodies", "body,,citations"] {
        let body = problem(app.get(&format!("{path}?include={bad}")).await, 400).await;
        assert!(
            body["detail"].as_str().unwrap().starts_with("include: "),
            "{bad:?}: {body}"
        );
    }
    let list = app.get("/api/v1/articles?include=").await;
    problem(list, 400).await;
}
