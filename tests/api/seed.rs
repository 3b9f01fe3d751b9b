//! The example article (examples/seed-article.json, from the seed fixture) goes in
//! with one request, as the README's quickstart sends it (its section and author
//! made first, the example image uploaded as its lead image), and comes back whole.

use serde_json::{json, Value};

use crate::helpers::{Expect, TestApp};

#[tokio::test]
async fn the_seed_article_is_posted_and_read_back_whole() {
    let app = TestApp::spawn().await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/seed-article.json"
    ))
    .unwrap();
    let mut input: Value = serde_json::from_str(&text).unwrap();
    app.post_json("/api/v1/sections", &json!({"name": "Diplomacy"}))
        .await
        .expect::<Value>(201)
        .await;
    app.post_json("/api/v1/authors", &json!({"name": "Aya Batbayar"}))
        .await
        .expect::<Value>(201)
        .await;
    let image = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/steppe.png")).unwrap();
    let media: Value = app
        .client
        .post(app.url("/api/v1/media?alt=The%20steppe%20at%20dusk"))
        .body(image)
        .send()
        .await
        .unwrap()
        .expect(201)
        .await;
    input["lead_image"] = json!({"media": media["id"], "caption": "Ulaanbaatar's edge."});
    let created = app.create_article(input.clone()).await;
    assert_eq!(created["section"]["name"], "Diplomacy");
    assert_eq!(created["authors"][0]["name"], "Aya Batbayar");
    assert_eq!(created["lead_image"]["id"], media["id"]);
    assert_eq!(created["lead_image"]["caption"], "Ulaanbaatar's edge.");
    let path = format!("/api/v1/articles/{}", created["slug"].as_str().unwrap());
    let article: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(article, created);

    assert_eq!(article["title"], input["title"]);
    assert_eq!(article["standfirst"], input["standfirst"]);
    assert_eq!(article["body"], input["body"]);
    assert!(article["body"]
        .as_str()
        .unwrap()
        .starts_with("## Freestyle Chat"));
    assert_eq!(article["status"], "published");

    let lists = article["key_point_lists"].as_array().unwrap();
    assert_eq!(lists.len(), 1);
    assert_eq!(lists[0]["title"], "Key points");
    let points: Vec<&Value> = lists[0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["text"])
        .collect();
    let expected: Vec<&Value> = input["key_point_lists"][0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert_eq!(points.len(), 10);
    assert_eq!(points, expected);

    let citations = article["citations"].as_array().unwrap();
    assert_eq!(citations.len(), 3);
    for (citation, given) in citations.iter().zip(input["citations"].as_array().unwrap()) {
        assert_eq!(citation["number"], given["number"]);
        assert_eq!(citation["title"], given["title"]);
        assert_eq!(citation["publisher"], given["publisher"]);
    }
    assert_eq!(citations[0]["title"], "Korea Herald");

    let tags: Vec<&Value> = article["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["name"])
        .collect();
    let expected: Vec<&Value> = input["tags"].as_array().unwrap().iter().collect();
    assert_eq!(tags, expected);
}
