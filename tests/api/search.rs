//! Full-text search (`q=` on article lists) and related articles ("Read also"), on
//! a small corpus written for them.

use chrono::{Duration, Utc};
use serde_json::{json, Value};

use cms::content::articles::{self, ArticleFilter, Audience, Sort};
use cms::content::pagination::PageRequest;

use crate::helpers::{problem, TestApp};

fn encode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

/// Publishes an article (`days_ago` days ago) from `fields`.
async fn publish(app: &TestApp, days_ago: i64, fields: Value) -> Value {
    let mut body = json!({
        "status": "published",
        "published_at": Utc::now() - Duration::days(days_ago),
    });
    for (k, v) in fields.as_object().unwrap() {
        body[k] = v.clone();
    }
    app.create_article(body).await
}

fn slugs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page: {page}"))
        .iter()
        .map(|a| a["slug"].as_str().unwrap().to_string())
        .collect()
}

async fn search(app: &TestApp, query: &str) -> Value {
    let response = app.public_get(&format!("/api/v1/articles?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

async fn found(app: &TestApp, q: &str) -> Vec<String> {
    slugs(&search(app, &format!("q={}", encode(q))).await)
}

/// The corpus of the ranking tests.
async fn corpus(app: &TestApp) {
    publish(
        app,
        5,
        json!({"slug": "title-hit", "title": "New airport opens in Ulaanbaatar",
        "body": "Flights start in May."}),
    )
    .await;
    publish(
        app,
        1,
        json!({"slug": "body-hit", "title": "Weekly roundup",
        "body": "The airport. An airport, airports and more airport news: airport, airport."}),
    )
    .await;
    publish(
        app,
        4,
        json!({"slug": "key-point-hit", "title": "Transport",
        "key_point_lists": [{"points": ["A second airport is planned."]}]}),
    )
    .await;
    publish(
        app,
        3,
        json!({"slug": "citation-hit", "title": "Aviation",
        "body": "See [1].", "citations": [{"title": "Airport statistics 2025"}]}),
    )
    .await;
    publish(
        app,
        2,
        json!({"slug": "phrase", "title": "South Korea invests",
        "body": "Seoul and Ulaanbaatar signed a deal."}),
    )
    .await;
    publish(
        app,
        2,
        json!({"slug": "no-phrase", "title": "Korea looks south",
        "body": "Investors from Korea head to the south of Mongolia, not China."}),
    )
    .await;
    publish(
        app,
        6,
        json!({"slug": "mongolian", "language": "mn",
        "title": "Ерөнхийлөгчийн айлчлал",
        "body": "Монгол Улсын Ерөнхийлөгч Улаанбаатар хотод элчин сайдыг хүлээн авлаа."}),
    )
    .await;
    publish(
        app,
        6,
        json!({"slug": "russian", "language": "ru",
        "title": "Москва объявила о новых санкциях", "body": "Подробности позже."}),
    )
    .await;
    publish(
        app,
        6,
        json!({"slug": "korean", "language": "ko",
        "title": "한국 대사 인터뷰",
        "body": "한국 대사는 몽골 발전에 한국 투자가 중요하다고 말했다."}),
    )
    .await;
}

#[tokio::test]
async fn a_title_hit_outranks_a_key_point_a_citation_and_a_body_hit() {
    let app = TestApp::spawn().await;
    corpus(&app).await;
    assert_eq!(
        found(&app, "airport").await,
        ["title-hit", "key-point-hit", "citation-hit", "body-hit"],
        "weights: title, key points, citation titles, body (however often)"
    );
    // Another sort, when asked for, wins over relevance: newest first.
    let page = search(&app, "q=airport&sort=published_at").await;
    assert_eq!(
        slugs(&page),
        ["body-hit", "citation-hit", "key-point-hit", "title-hit"]
    );
}

#[tokio::test]
async fn phrases_exclusions_and_alternatives_follow_web_search_syntax() {
    let app = TestApp::spawn().await;
    corpus(&app).await;
    let mut both = found(&app, "south korea").await;
    both.sort();
    assert_eq!(both, ["no-phrase", "phrase"], "all the words, anywhere");
    assert_eq!(found(&app, "\"south korea\"").await, ["phrase"]);
    assert_eq!(found(&app, "korea -china").await, ["phrase"]);
    let mut either = found(&app, "flights or investors").await;
    either.sort();
    assert_eq!(either, ["no-phrase", "title-hit"]);
    // English words are stemmed: `investing` finds "invests".
    assert_eq!(found(&app, "investing").await, ["phrase"]);
}

#[tokio::test]
async fn cyrillic_and_hangul_text_is_found_in_its_own_language() {
    let app = TestApp::spawn().await;
    corpus(&app).await;
    assert_eq!(found(&app, "Улаанбаатар").await, ["mongolian"]);
    assert_eq!(
        found(&app, "ерөнхийлөгч").await,
        ["mongolian"],
        "case folded"
    );
    // Russian is stemmed: another form of the word finds it.
    assert_eq!(found(&app, "санкции").await, ["russian"]);
    assert_eq!(found(&app, "몽골").await, ["korean"]);
    assert_eq!(found(&app, "\"한국 대사\"").await, ["korean"]);
    assert_eq!(found(&app, "한국 -몽골").await, Vec::<String>::new());
    let article: Value = app
        .public_get("/api/v1/articles/korean")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(article["language"], "ko");
    // The language filter narrows a search.
    let page = search(&app, &format!("q={}&language=ru", encode("Улаанбаатар"))).await;
    assert_eq!(slugs(&page), Vec::<String>::new());
    let page = search(&app, "language=mn").await;
    assert_eq!(slugs(&page), ["mongolian"]);
}

#[tokio::test]
async fn each_hit_has_a_snippet_escaped_for_html() {
    let app = TestApp::spawn().await;
    publish(
        &app,
        1,
        json!({"slug": "risky", "title": "Markup",
        "standfirst": "Fares: 5 < 6 & 7 > 3 <script>alert(1)</script> at the <b>airport</b>.",
        "body": "More about the \"airport\" later."}),
    )
    .await;
    let page = search(&app, "q=airport").await;
    let snippet = page["items"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>airport</mark>"), "{snippet}");
    assert!(snippet.contains("5 &lt; 6 &amp; 7 &gt; 3"), "{snippet}");
    assert!(
        !snippet.contains("<script") && !snippet.contains("<b>"),
        "{snippet}"
    );
    assert!(
        snippet.contains("&quot;<mark>airport</mark>&quot;"),
        "{snippet}"
    );
    let without_marks = snippet.replace("<mark>", "").replace("</mark>", "");
    assert!(!without_marks.contains('<'), "no other markup: {snippet}");
    let list = search(&app, "").await;
    assert!(
        list["items"][0].get("snippet").is_none(),
        "only on search hits"
    );
    let article: Value = app
        .public_get("/api/v1/articles/risky")
        .await
        .json()
        .await
        .unwrap();
    assert!(article.get("snippet").is_none());
}

#[tokio::test]
async fn unpublished_trashed_and_future_articles_are_never_public_hits() {
    let app = TestApp::spawn().await;
    publish(&app, 1, json!({"slug": "live", "title": "Harbour news"})).await;
    app.create_article(json!({"slug": "draft", "title": "Harbour draft"}))
        .await;
    app.create_article(
        json!({"slug": "future", "title": "Harbour future", "status": "scheduled",
        "published_at": Utc::now() + Duration::days(2)}),
    )
    .await;
    publish(
        &app,
        1,
        json!({"slug": "trashed", "title": "Harbour trashed"}),
    )
    .await;
    assert_eq!(app.delete("/api/v1/articles/trashed").await.status(), 204);
    // Pending changes are never found either.
    let live: Value = app.get("/api/v1/articles/live").await.json().await.unwrap();
    let pending = app
        .put_json(
            "/api/v1/articles/live/pending",
            &json!({"title": "Secret lighthouse"}),
        )
        .await;
    assert_eq!(pending.status(), 200, "{}", pending.text().await.unwrap());
    assert_eq!(live["version"], 1);

    assert_eq!(found(&app, "harbour").await, ["live"]);
    assert_eq!(found(&app, "lighthouse").await, Vec::<String>::new());
    let editors: Value = app
        .get("/api/v1/articles?q=harbour&sort=title")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        slugs(&editors),
        ["draft", "future", "live"],
        "never the trash"
    );
    let editors: Value = app
        .get("/api/v1/articles?q=lighthouse")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&editors), Vec::<String>::new(), "nor pending changes");
}

#[tokio::test]
async fn every_write_keeps_the_search_document_current() {
    let app = TestApp::spawn().await;
    publish(
        &app,
        1,
        json!({"slug": "story", "title": "Meadow title", "body": "Plain body."}),
    )
    .await;
    let patch = app
        .patch_json("/api/v1/articles/story", &json!({"title": "Glacier title"}))
        .await;
    assert_eq!(patch.status(), 200);
    assert_eq!(found(&app, "glacier").await, ["story"]);
    assert_eq!(found(&app, "meadow").await, Vec::<String>::new());
    // A part written on its own.
    let list = app
        .post_json(
            "/api/v1/articles/story/key-point-lists",
            &json!({"title": "Points", "points": ["Steppe wildlife"]}),
        )
        .await;
    assert_eq!(list.status(), 201, "{}", list.text().await.unwrap());
    assert_eq!(found(&app, "wildlife").await, ["story"]);
    let citation = app
        .post_json(
            "/api/v1/articles/story/citations",
            &json!({"title": "Tundra report"}),
        )
        .await;
    assert_eq!(citation.status(), 201);
    assert_eq!(found(&app, "tundra").await, ["story"]);
    // Published pending changes are found once published, not before.
    let pending = app
        .put_json(
            "/api/v1/articles/story/pending",
            &json!({"title": "Volcano title"}),
        )
        .await;
    assert_eq!(pending.status(), 200);
    assert_eq!(found(&app, "volcano").await, Vec::<String>::new());
    let published = app.post("/api/v1/articles/story/pending/publish").await;
    assert_eq!(
        published.status(),
        200,
        "{}",
        published.text().await.unwrap()
    );
    assert_eq!(found(&app, "volcano").await, ["story"]);
    assert_eq!(
        found(&app, "wildlife").await,
        Vec::<String>::new(),
        "the points went"
    );
    // A language change re-indexes: Russian stems, `simple` does not.
    publish(
        &app,
        1,
        json!({"slug": "ru", "title": "новых санкциях", "language": "mn"}),
    )
    .await;
    assert_eq!(found(&app, "санкции").await, Vec::<String>::new());
    let patch = app
        .patch_json("/api/v1/articles/ru", &json!({"language": "ru"}))
        .await;
    assert_eq!(patch.status(), 200);
    assert_eq!(found(&app, "санкции").await, ["ru"]);
}

#[tokio::test]
async fn a_search_combines_with_filters_and_pages_with_cursors() {
    let app = TestApp::spawn().await;
    // Seven hits of the same relevance (a tie on rank, broken by id), two tagged.
    for i in 0..7 {
        let tags = if i % 3 == 0 {
            json!(["Ports"])
        } else {
            json!([])
        };
        publish(
            &app,
            i + 1,
            json!({"slug": format!("hit-{i}"), "title": "Container ships",
            "tags": tags}),
        )
        .await;
    }
    publish(
        &app,
        1,
        json!({"slug": "better", "title": "Container ships and container ports",
        "standfirst": "Container traffic."}),
    )
    .await;
    publish(
        &app,
        1,
        json!({"slug": "miss", "title": "Something else", "tags": ["Ports"]}),
    )
    .await;

    let mut seen = Vec::new();
    let mut query = "q=container&limit=3".to_string();
    loop {
        let page = search(&app, &query).await;
        seen.extend(slugs(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("q=container&limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 8, "every hit once: {seen:?}");
    assert_eq!(seen[0], "better");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 8, "no hit twice: {seen:?}");

    let tagged = search(&app, "q=container&tag=ports").await;
    let mut tagged = slugs(&tagged);
    tagged.sort();
    assert_eq!(tagged, ["hit-0", "hit-3", "hit-6"]);
    let page = search(
        &app,
        &format!(
            "q=container&sort=published_at&published_before={}",
            encode(&(Utc::now() - Duration::hours(84)).to_rfc3339())
        ),
    )
    .await;
    assert_eq!(slugs(&page), ["hit-3", "hit-4", "hit-5", "hit-6"]);
    let page = search(&app, "q=container&status=published&limit=2&sort=title").await;
    assert_eq!(page["items"][1]["title"], "Container ships");
    // A cursor of another sort is refused, not misread.
    let cursor = page["next_cursor"].as_str().unwrap();
    let response = app
        .public_get(&format!("/api/v1/articles?q=container&cursor={cursor}"))
        .await;
    problem(response, 400).await;
    // Tag pages take a search too.
    let page = search_path(&app, "/api/v1/tags/ports/articles?q=container").await;
    assert_eq!(page.len(), 3);
}

async fn search_path(app: &TestApp, path: &str) -> Vec<String> {
    let response = app.public_get(path).await;
    assert_eq!(response.status(), 200);
    slugs(&response.json().await.unwrap())
}

#[tokio::test]
async fn a_search_page_costs_the_queries_of_any_page() {
    let app = TestApp::spawn().await;
    for i in 0..5 {
        publish(
            &app,
            1,
            json!({"title": format!("Reindeer {i}"), "tags": ["Taiga"]}),
        )
        .await;
    }
    let (response, queries) = app
        .count_queries(app.public_get("/api/v1/articles?q=reindeer&limit=20"))
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(queries, 2, "summaries with their snippets, and their tags");
}

#[tokio::test]
async fn odd_queries_answer_400_or_an_empty_page_never_500() {
    let app = TestApp::spawn().await;
    corpus(&app).await;
    for q in [
        "the and of",
        "-",
        "\"",
        "or",
        "- \" or \"\"",
        "--airport",
        "\"\"",
        "&|!:*()<->",
        "🦀 🇲🇳",
        "a\u{0301}\u{200b}\u{202e}",
        "'airport'",
        "\\",
        "airport:*",
        "((((",
    ] {
        let response = app
            .public_get(&format!("/api/v1/articles?q={}", encode(q)))
            .await;
        assert_eq!(response.status(), 200, "{q:?}");
    }
    assert!(
        found(&app, "the and of").await.is_empty(),
        "stop words find nothing"
    );
    let longest = "airport ".repeat(25);
    assert_eq!(longest.trim().chars().count(), 199);
    assert_eq!(found(&app, &longest).await.len(), 4);
    for (q, why) in [
        ("x".repeat(201), "too long"),
        ("air\0port".to_string(), "a NUL"),
        ("air\u{1b}port".to_string(), "a control character"),
    ] {
        let response = app
            .public_get(&format!("/api/v1/articles?q={}", encode(&q)))
            .await;
        let body = problem(response, 400).await;
        assert!(
            body["detail"].as_str().unwrap().contains("q"),
            "{why}: {body}"
        );
    }
    let response = app.public_get("/api/v1/articles?sort=relevance").await;
    problem(response, 400).await;
    let response = app.public_get("/api/v1/articles?language=english").await;
    problem(response, 400).await;
}

#[tokio::test]
async fn the_language_is_a_bcp47_tag_defaulting_to_the_setting() {
    let app = TestApp::spawn().await;
    let article = app.create_article(json!({"title": "Plain"})).await;
    assert_eq!(article["language"], "en");
    let article = app
        .create_article(json!({"title": "Brazil", "language": "pt-br"}))
        .await;
    assert_eq!(article["language"], "pt-BR", "canonical case");
    for bad in ["english", "", "en_US", "e"] {
        let response = app
            .post_json(
                "/api/v1/articles",
                &json!({"title": "Bad", "language": bad}),
            )
            .await;
        let body = problem(response, 422).await;
        assert_eq!(body["errors"][0]["field"], "language", "{bad:?}: {body}");
    }
    // PUT keeps it unless given.
    let put = app
        .put_json("/api/v1/articles/brazil", &json!({"title": "Brazil again"}))
        .await;
    let put: Value = put.json().await.unwrap();
    assert_eq!(put["language"], "pt-BR");
}

// ---- Related articles.

#[tokio::test]
async fn related_articles_rank_rare_shared_tags_and_title_words_newest_first_on_ties() {
    let app = TestApp::spawn().await;
    // `common` is on many articles, `rare` on two.
    for i in 0..6 {
        publish(
            &app,
            30 + i,
            json!({"slug": format!("filler-{i}"), "title": format!("Filler {i}"),
            "tags": ["Common"]}),
        )
        .await;
    }
    publish(
        &app,
        10,
        json!({"slug": "me", "title": "Gobi desert dinosaur fossils",
        "tags": ["Common", "Rare"]}),
    )
    .await;
    publish(
        &app,
        9,
        json!({"slug": "rare-tag", "title": "Unrelated words", "tags": ["Rare"]}),
    )
    .await;
    publish(
        &app,
        8,
        json!({"slug": "both", "title": "Dinosaur fossils found",
        "tags": ["Rare", "Common"]}),
    )
    .await;
    publish(
        &app,
        7,
        json!({"slug": "title-words", "title": "New fossils in the Gobi"}),
    )
    .await;
    publish(
        &app,
        2,
        json!({"slug": "common-newer", "title": "Other", "tags": ["Common"]}),
    )
    .await;
    publish(
        &app,
        3,
        json!({"slug": "common-older", "title": "Another", "tags": ["Common"]}),
    )
    .await;
    // Never listed: unpublished, future, trashed, nothing in common.
    app.create_article(
        json!({"slug": "draft", "title": "Gobi dinosaur fossils draft",
        "tags": ["Rare"]}),
    )
    .await;
    app.create_article(
        json!({"slug": "future", "title": "Gobi dinosaur fossils later",
        "tags": ["Rare"], "status": "scheduled",
        "published_at": Utc::now() + Duration::days(1)}),
    )
    .await;
    publish(
        &app,
        1,
        json!({"slug": "trashed", "title": "Gobi dinosaur fossils gone",
        "tags": ["Rare"]}),
    )
    .await;
    assert_eq!(app.delete("/api/v1/articles/trashed").await.status(), 204);
    publish(
        &app,
        1,
        json!({"slug": "stranger", "title": "Nothing shared"}),
    )
    .await;

    let related: Value = app
        .public_get("/api/v1/articles/me/related?limit=20")
        .await
        .json()
        .await
        .unwrap();
    let order = slugs(&related);
    // both: rare 1/ln 4 + common 1/ln 11 + two of four title words; rare-tag:
    // 1/ln 4; the common ones 1/ln 11 each, newest first; title-words: two of four
    // title words (0.30).
    assert_eq!(
        order,
        [
            "both",
            "rare-tag",
            "common-newer",
            "common-older",
            "filler-0",
            "filler-1",
            "filler-2",
            "filler-3",
            "filler-4",
            "filler-5",
            "title-words"
        ],
    );
    for never in ["me", "draft", "future", "trashed", "stranger"] {
        assert!(!order.contains(&never.to_string()), "{never}: {order:?}");
    }
    assert!(
        related["items"][0]["tags"].is_array(),
        "summaries with tags"
    );
    // Editors get the same list; the default limit is 5; a bad limit is 400.
    let editors: Value = app
        .get("/api/v1/articles/me/related?limit=20")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&editors), order);
    let default: Value = app
        .public_get("/api/v1/articles/me/related")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(slugs(&default), order[..5]);
    for bad in ["0", "21", "x"] {
        let response = app
            .public_get(&format!("/api/v1/articles/me/related?limit={bad}"))
            .await;
        assert_eq!(response.status(), 400, "{bad}");
    }
    // The public cannot ask about an unpublished article; editors can.
    assert_eq!(
        app.public_get("/api/v1/articles/draft/related")
            .await
            .status(),
        404
    );
    let from_draft: Value = app
        .get("/api/v1/articles/draft/related")
        .await
        .json()
        .await
        .unwrap();
    assert!(slugs(&from_draft).contains(&"me".to_string()));
    assert_eq!(
        app.public_get("/api/v1/articles/nope/related")
            .await
            .status(),
        404
    );
}

/// At 100,000 articles a selective search runs on the GIN index, not on a scan of
/// every article (the plan of the very query the list runs, binds and all).
#[tokio::test]
async fn at_100000_articles_a_search_runs_on_its_index() {
    let app = TestApp::spawn().await;
    app.db()
        .await
        .batch_execute(
            "INSERT INTO articles (id, slug, title, body, status, published_at, language, \
                                   search_document) \
             SELECT gen_random_uuid(), 'bulk-' || i, t, 'Body ' || i, 'published', \
                    now() - i * interval '1 minute', 'en', \
                    setweight(to_tsvector('english', t), 'A') \
             FROM generate_series(1, 100000) i \
             CROSS JOIN LATERAL (SELECT 'Report ' || i || ' on ' || CASE WHEN i % 1000 = 0 \
                 THEN 'the airport' ELSE (ARRAY['harbour', 'mining', 'coal'])[i % 3 + 1] END \
                 AS t) title; \
             ANALYZE articles;",
        )
        .await
        .unwrap();
    let pool =
        cms::db::build_pool(app.db_config.clone(), cms::db::PoolOptions::default(), None).unwrap();
    let mut conn = pool.get().await.unwrap();
    let mut filter = ArticleFilter::for_audience(Audience::Public);
    filter.search = Some("airport".into());
    let page = PageRequest {
        limit: 20,
        after: None,
    };
    let plan = articles::explain_list(&mut conn, &filter, Sort::RELEVANCE, &page)
        .await
        .unwrap()
        .join("\n");
    assert!(
        plan.contains("Bitmap Index Scan on articles_search_document_idx"),
        "{plan}"
    );
    assert!(!plan.contains("Seq Scan on articles"), "{plan}");
    // And the list finds every one of them.
    let page: Value = app
        .public_get("/api/v1/articles?q=airport&count=exact&limit=5")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 100, "{page}");
}
