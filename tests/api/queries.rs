//! Reading never costs a query per part: the number of SQL statements of an article
//! read and of a 20-article list stays the same however many parts there are.
//! (Public reads; a token adds one statement to check it.)

use serde_json::{json, Value};

use crate::helpers::TestApp;

fn article(title: &str, size: usize) -> Value {
    json!({
        "title": title,
        "body": "Text [1].",
        "status": "published",
        "key_point_lists": (0..size).map(|i| json!({
            "title": format!("List {i}"),
            "points": (0..size).map(|j| format!("Point {j}")).collect::<Vec<_>>()
        })).collect::<Vec<_>>(),
        "citations": (0..size).map(|i| json!({"title": format!("Source {i}")})).collect::<Vec<_>>(),
        "tags": (0..size).map(|i| format!("Tag {title} {i}")).collect::<Vec<_>>(),
    })
}

#[tokio::test]
async fn reading_an_article_costs_the_same_queries_whatever_its_size() {
    let app = TestApp::spawn().await;
    app.create_article(article("small", 1)).await;
    app.create_article(article("large", 12)).await;
    let (small, small_queries) = app
        .count_queries(app.public_get("/api/v1/articles/small"))
        .await;
    let (large, large_queries) = app
        .count_queries(app.public_get("/api/v1/articles/large"))
        .await;
    assert_eq!(small.status(), 200);
    assert_eq!(large.status(), 200);
    let large: Value = large.json().await.unwrap();
    assert_eq!(
        large["key_point_lists"][11]["points"]
            .as_array()
            .unwrap()
            .len(),
        12
    );
    assert_eq!(small_queries, large_queries, "no query per part");
    assert_eq!(large_queries, 5, "article, tags, lists, points, citations");
}

#[tokio::test]
async fn a_page_of_twenty_articles_costs_the_same_queries_as_a_page_of_two() {
    let app = TestApp::spawn().await;
    for i in 0..2 {
        app.create_article(article(&format!("first {i}"), 3)).await;
    }
    let include = "include=body,key_point_lists,citations";
    let (two, two_queries) = app
        .count_queries(app.public_get(&format!("/api/v1/articles?limit=20&{include}")))
        .await;
    let two: Value = two.json().await.unwrap();
    assert_eq!(two["items"].as_array().unwrap().len(), 2);
    for i in 0..18 {
        app.create_article(article(&format!("more {i}"), 3)).await;
    }
    let (twenty, twenty_queries) = app
        .count_queries(app.public_get(&format!("/api/v1/articles?limit=20&{include}")))
        .await;
    let twenty: Value = twenty.json().await.unwrap();
    assert_eq!(twenty["items"].as_array().unwrap().len(), 20);
    assert_eq!(two_queries, twenty_queries, "no query per article");
    assert_eq!(
        twenty_queries, 5,
        "articles, tags, lists, points, citations"
    );

    let (_, summary_queries) = app
        .count_queries(app.public_get("/api/v1/articles?limit=20"))
        .await;
    assert_eq!(summary_queries, 2, "summaries with their tags");
}
