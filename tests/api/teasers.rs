//! Teasers for "Latest": every article carries an excerpt (its standfirst, else its
//! body's first paragraph as plain text, cut at a word boundary), a word count and
//! a reading time, worked out when it is written.

use serde_json::{json, Value};

use crate::helpers::{problem, TestApp};

const BODY: &str = "Mongolia is **turning** to Seoul for the investment its mines need [1], \
and Seoul is listening.\n\nA second paragraph that no excerpt shows.";

#[tokio::test]
async fn without_a_standfirst_the_excerpt_is_the_first_paragraph_as_plain_text() {
    let app = TestApp::spawn().await;
    let article = app
        .create_article(json!({"title": "Mongolia looks to South Korea", "body": BODY,
            "citations": [{"number": 1, "title": "Mining report", "url": "https://example.org/r"}]}))
        .await;
    assert_eq!(
        article["excerpt"],
        "Mongolia is turning to Seoul for the investment its mines need, and Seoul is listening."
    );
    let page: Value = app.get_as("/api/v1/articles", 200).await;
    assert_eq!(page["items"][0]["excerpt"], article["excerpt"]);
}

#[tokio::test]
async fn the_standfirst_is_the_excerpt_when_there_is_one() {
    let app = TestApp::spawn().await;
    let article = app
        .create_article(
            json!({"title": "T", "standfirst": "Ulaanbaatar courts Seoul.", "body": BODY}),
        )
        .await;
    assert_eq!(article["excerpt"], "Ulaanbaatar courts Seoul.");
}

#[tokio::test]
async fn excerpts_are_cut_at_a_word_boundary_with_an_ellipsis() {
    let app = TestApp::spawn().await;
    app.create_article(json!({"title": "T", "body": BODY}))
        .await;
    for (length, expected) in [
        (20, "Mongolia is turning…"),
        (21, "Mongolia is turning…"),
        (22, "Mongolia is turning…"),
        (23, "Mongolia is turning to…"),
        // A single word longer than the room is cut inside it.
        (5, "Mong…"),
    ] {
        let page: Value = app
            .get_as(&format!("/api/v1/articles?excerpt_length={length}"), 200)
            .await;
        let excerpt = page["items"][0]["excerpt"].as_str().unwrap();
        assert_eq!(excerpt, expected, "excerpt_length={length}");
        assert!(excerpt.chars().count() <= length);
    }
    // The default is 200 characters; the whole paragraph fits.
    let page: Value = app.get_as("/api/v1/articles", 200).await;
    assert!(!page["items"][0]["excerpt"].as_str().unwrap().ends_with('…'));
    for bad in ["0", "1001", "x"] {
        let body = problem(
            app.get(&format!("/api/v1/articles?excerpt_length={bad}"))
                .await,
            400,
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("excerpt_length"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn word_count_and_reading_time_follow_the_body() {
    let app = TestApp::spawn().await;
    let article = app
        .create_article(json!({"title": "T", "body": "# Heading here\n\nOne **two** three [link](https://example.org/a-long-url).\n\n- four\n- five"}))
        .await;
    assert_eq!(article["word_count"], 8, "{article}");
    assert_eq!(article["reading_time_minutes"], 1);
    let long = "word ".repeat(461);
    let id = article["id"].as_str().unwrap();
    let patched: Value = crate::helpers::Expect::expect(
        app.patch_json(&format!("/api/v1/articles/{id}"), &json!({"body": long}))
            .await,
        200,
    )
    .await;
    assert_eq!(patched["word_count"], 461);
    assert_eq!(
        patched["reading_time_minutes"], 3,
        "461 words at 230 a minute"
    );
    let empty = app.create_article(json!({"title": "Empty"})).await;
    assert_eq!(empty["word_count"], 0);
    assert_eq!(empty["reading_time_minutes"], 0);
    assert_eq!(empty["excerpt"], "");
}

/// Articles written before teasers were kept get them worked out when read, the
/// same as if they had been kept.
#[tokio::test]
async fn articles_written_before_teasers_were_kept_get_them_when_read() {
    let app = TestApp::spawn().await;
    let article = app
        .create_article(json!({"title": "T", "body": BODY}))
        .await;
    app.db()
        .await
        .execute(
            "UPDATE articles SET lead_text = NULL, word_count = NULL",
            &[],
        )
        .await
        .unwrap();
    let id = article["id"].as_str().unwrap();
    let read: Value = app.get_as(&format!("/api/v1/articles/{id}"), 200).await;
    assert_eq!(read["excerpt"], article["excerpt"]);
    assert_eq!(read["word_count"], article["word_count"]);
    let page: Value = app.get_as("/api/v1/articles?excerpt_length=23", 200).await;
    assert_eq!(page["items"][0]["excerpt"], "Mongolia is turning to…");
    // A server keeps them at start (in batches), and reads no longer parse bodies.
    let pool =
        cms::db::build_pool(app.db_config.clone(), cms::db::PoolOptions::default(), None).unwrap();
    let mut conn = pool.get().await.unwrap();
    assert_eq!(
        cms::content::articles::backfill_teasers(&mut conn, 100)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        cms::content::articles::backfill_teasers(&mut conn, 100)
            .await
            .unwrap(),
        0
    );
    let row = app
        .db()
        .await
        .query_one("SELECT lead_text, word_count FROM articles", &[])
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, Option<i32>>(1),
        article["word_count"].as_i64().map(|n| n as i32)
    );
    assert!(row
        .get::<_, Option<String>>(0)
        .unwrap()
        .starts_with("Mongolia is turning"));
    let again: Value = app.get_as(&format!("/api/v1/articles/{id}"), 200).await;
    assert_eq!(again["excerpt"], article["excerpt"]);
}

/// A revision shows the teaser of the article as it was.
#[tokio::test]
async fn revisions_carry_the_teaser_of_their_time() {
    let app = TestApp::spawn().await;
    let article = app
        .create_article(json!({"title": "T", "body": BODY}))
        .await;
    let id = article["id"].as_str().unwrap();
    let _: Value = crate::helpers::Expect::expect(
        app.patch_json(
            &format!("/api/v1/articles/{id}"),
            &json!({"body": "Now short."}),
        )
        .await,
        200,
    )
    .await;
    let first: Value = app
        .get_as(&format!("/api/v1/articles/{id}/revisions/1"), 200)
        .await;
    assert_eq!(first["article"]["excerpt"], article["excerpt"]);
    assert_eq!(first["article"]["word_count"], article["word_count"]);
    let second: Value = app
        .get_as(&format!("/api/v1/articles/{id}/revisions/2"), 200)
        .await;
    assert_eq!(second["article"]["excerpt"], "Now short.");
    assert_eq!(second["article"]["reading_time_minutes"], 1);
}
