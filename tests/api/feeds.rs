//! Feeds: the latest published articles as RSS 2.0, Atom and JSON Feed 1.1, each
//! read back by a feed-parsing library.

use serde_json::{json, Value};

use crate::helpers::{problem, TestApp};

async fn corpus(app: &TestApp) {
    for (title, at, extra) in [
        (
            "Oldest",
            "2026-01-01T08:00:00Z",
            json!({"standfirst": "A standfirst comes first."}),
        ),
        (
            "Middle",
            "2026-02-01T08:00:00Z",
            json!({"body": "## Heading\n\nThe first paragraph of a body that is long enough to be cut somewhere past its middle, at a word [1].\n\nNot this one.", "citations": [{"title": "Source"}]}),
        ),
        (
            "Newest",
            "2026-03-01T08:00:00Z",
            json!({"tags": ["Mongolia"], "body": "Short."}),
        ),
    ] {
        let mut input = json!({"title": title, "status": "published", "published_at": at});
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        app.create_article(input).await;
    }
    app.create_article(json!({"title": "A draft", "tags": ["Mongolia"]}))
        .await;
    let soon = chrono::Utc::now() + chrono::Duration::days(1);
    app.create_article(json!({"title": "Future", "status": "scheduled", "published_at": soon}))
        .await;
}

async fn fetch(app: &TestApp, path: &str, content_type: &str) -> feed_rs::model::Feed {
    let response = app.public_get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    assert_eq!(response.headers()["content-type"], content_type, "{path}");
    assert_eq!(response.headers()["cache-control"], "public, max-age=60");
    let bytes = response.bytes().await.unwrap();
    feed_rs::parser::parse(&bytes[..]).unwrap_or_else(|e| panic!("{path} does not parse: {e}"))
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

#[tokio::test]
async fn each_feed_parses_and_lists_the_published_articles_newest_first() {
    let app = TestApp::spawn().await;
    corpus(&app).await;
    for (path, content_type) in [
        ("/feeds/latest.xml", "application/rss+xml; charset=utf-8"),
        ("/feeds/latest.atom", "application/atom+xml; charset=utf-8"),
        ("/feeds/latest.json", "application/feed+json; charset=utf-8"),
    ] {
        let feed = fetch(&app, path, content_type).await;
        assert_eq!(titles(&feed), ["Newest", "Middle", "Oldest"], "{path}");
        let newest = &feed.entries[0];
        let link = &newest.links[0].href;
        assert_eq!(
            link, "http://127.0.0.1:8080/api/v1/articles/newest",
            "{path}: absolute links from the public URL"
        );
        assert!(newest.published.is_some(), "{path}");
        let summaries: Vec<String> = feed
            .entries
            .iter()
            .map(|e| {
                e.summary
                    .as_ref()
                    .map(|s| s.content.clone())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(summaries[2], "A standfirst comes first.", "{path}");
        assert_eq!(
            summaries[1],
            "The first paragraph of a body that is long enough to be cut somewhere past its \
             middle, at a word.",
            "{path}: the body's first paragraph, references left out"
        );
        assert_eq!(
            newest.categories[0].term.to_lowercase(),
            "mongolia",
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_tag_has_feeds_of_its_own() {
    let app = TestApp::spawn().await;
    corpus(&app).await;
    for (path, content_type) in [
        (
            "/feeds/tags/mongolia.xml",
            "application/rss+xml; charset=utf-8",
        ),
        (
            "/feeds/tags/mongolia.atom",
            "application/atom+xml; charset=utf-8",
        ),
        (
            "/feeds/tags/mongolia.json",
            "application/feed+json; charset=utf-8",
        ),
    ] {
        let feed = fetch(&app, path, content_type).await;
        assert_eq!(titles(&feed), ["Newest"], "{path}: no draft");
    }
    let json: Value = app
        .public_get("/feeds/tags/mongolia.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["version"], "https://jsonfeed.org/version/1.1");
    assert_eq!(
        json["feed_url"],
        "http://127.0.0.1:8080/feeds/tags/mongolia.json"
    );
    assert_eq!(json["items"][0]["content_html"], "<p>Short.</p>\n");
    problem(app.public_get("/feeds/tags/nothing.xml").await, 404).await;
}

#[tokio::test]
async fn a_feed_answers_304_until_it_changes() {
    let app = TestApp::spawn().await;
    corpus(&app).await;
    let first = app.public_get("/feeds/latest.atom").await;
    let etag = first.headers()["etag"].clone();
    let again = app
        .public
        .get(app.url("/feeds/latest.atom"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    app.patch_json(
        "/api/v1/articles/newest",
        &json!({"title": "Newest, changed"}),
    )
    .await;
    let changed = app
        .public
        .get(app.url("/feeds/latest.atom"))
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
}
