//! The spec is the contract: generated from the code, served, committed, rendered.

use serde_json::Value;

use crate::helpers::TestApp;

const REGENERATE: &str = "cargo run -- openapi > openapi/openapi.json";

#[tokio::test]
async fn the_committed_spec_matches_the_served_one() {
    let app = TestApp::spawn().await;
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status(), 200);
    let served: Value = response.json().await.unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{path} is missing; create it with `{REGENERATE}`"));
    let committed: Value = serde_json::from_str(&committed)
        .unwrap_or_else(|_| panic!("{path} is not JSON; regenerate it with `{REGENERATE}`"));
    assert!(
        served == committed,
        "openapi/openapi.json differs from the spec the code generates; \
         regenerate it with `{REGENERATE}` and commit it"
    );
}

#[tokio::test]
async fn the_spec_is_openapi_3_1_and_documents_every_operation() {
    let app = TestApp::spawn().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(!spec["info"]["license"]["name"]
        .as_str()
        .unwrap_or("")
        .is_empty());
    let paths = spec["paths"].as_object().unwrap();
    for expected in ["/api/v1/tags", "/api/v1/tags/{tag}", "/healthz", "/readyz"] {
        assert!(paths.contains_key(expected), "{expected} is documented");
    }
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for (status, response) in responses {
                let response = resolve(&spec, response);
                assert!(
                    response["description"]
                        .as_str()
                        .is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has a description"
                );
                assert!(
                    response["headers"].get("X-Request-Id").is_some(),
                    "{method} {path} {status} documents X-Request-Id"
                );
            }
            if path.starts_with("/api/v1") {
                assert!(
                    responses.contains_key("503"),
                    "{method} {path} documents 503"
                );
            }
        }
    }
}

/// The object a `$ref` points to (`#/components/...`), or the value itself.
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    match value["$ref"].as_str() {
        Some(reference) => reference
            .trim_start_matches('#')
            .split('/')
            .skip(1)
            .fold(spec, |node, key| &node[key]),
        None => value,
    }
}

#[tokio::test]
async fn every_documented_path_is_routed() {
    let app = TestApp::spawn().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let concrete = path.replace("{tag}", "some-tag");
        for method in item.as_object().unwrap().keys() {
            let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let response = app
                .client
                .request(method.clone(), app.url(&concrete))
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_ne!(response.status(), 405, "{method} {concrete} is routed");
            // Feeds answer XML; any answer but the fallback's problem will do.
            let body: Value = response.json().await.unwrap_or(Value::Null);
            assert_ne!(
                body["detail"], "No resource exists at this path.",
                "{method} {concrete} reaches a handler, not the fallback"
            );
        }
    }
}

#[tokio::test]
async fn the_docs_page_is_served_without_any_cdn() {
    let app = TestApp::spawn().await;
    let redirect = app.get("/docs").await;
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/docs/");

    let page = app.get("/docs/").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"));
    assert!(
        !html.contains("https://"),
        "the page loads nothing from the network"
    );

    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        let response = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(response.status(), 200, "{asset} is served by the binary");
    }
    let initializer = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(initializer.contains("/openapi.json"));
}

#[tokio::test]
async fn the_spec_states_the_text_rules_the_service_applies() {
    use cms::content::text::{line_pattern, optional_line_pattern, SLUG_PATTERN, TEXT_PATTERN};
    let app = TestApp::spawn().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let schemas = &spec["components"]["schemas"];
    // Each written text field refers to the schema of its rule...
    let rule_of = |schema: &str, field: &str| {
        let property = &schemas[schema]["properties"][field];
        let reference = property["$ref"]
            .as_str()
            .or_else(|| property["oneOf"][0]["$ref"].as_str())
            .unwrap_or_else(|| panic!("{schema}.{field} refers to its rule: {property}"));
        reference
            .trim_start_matches("#/components/schemas/")
            .to_string()
    };
    for (schema, field, rule) in [
        ("ArticleInput", "title", "Line300"),
        ("ArticlePatch", "title", "Line300"),
        ("ArticleInput", "standfirst", "Text2000"),
        ("ArticlePatch", "standfirst", "Text2000"),
        ("ArticleInput", "body", "Text500000"),
        ("ArticleInput", "slug", "Slug"),
        ("TagPatch", "slug", "Slug"),
        ("NewTag", "name", "Line100"),
        ("NewTag", "description", "Text2000"),
        ("CitationInput", "title", "Line500"),
        ("CitationPatch", "publisher", "OptionalLine300"),
        ("CitationInput", "quote", "Text5000"),
        ("CitationInput", "url", "SourceUrl"),
        ("NewKeyPoint", "text", "Line1000"),
        ("KeyPointListPatch", "title", "Line200"),
        ("NewToken", "name", "Line100"),
    ] {
        assert_eq!(rule_of(schema, field), rule, "{schema}.{field}");
    }
    // ...whose limit and pattern are the ones the service checks.
    for (rule, pattern, max) in [
        ("Line300", line_pattern(), 300),
        ("Line1000", line_pattern(), 1000),
        ("OptionalLine300", optional_line_pattern(), 300),
        ("Text2000", TEXT_PATTERN.to_string(), 2000),
        ("Text500000", TEXT_PATTERN.to_string(), 500_000),
        ("Slug", SLUG_PATTERN.to_string(), 100),
    ] {
        assert_eq!(schemas[rule]["pattern"], pattern.as_str(), "{rule}");
        assert_eq!(schemas[rule]["maxLength"], max, "{rule}");
    }
    assert_eq!(schemas["Line300"]["minLength"], 1);
}

/// The spec's examples are real: each request example is accepted as written, and
/// each response example reads as what the API answers.
#[tokio::test]
async fn the_examples_in_the_spec_are_accepted_and_answered() {
    use cms::content::articles::Article;
    use cms::content::tags::Tag;

    use crate::helpers::Expect;

    let app = TestApp::spawn().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let example = |schema: &str| spec["components"]["schemas"][schema]["examples"][0].clone();

    app.post_json("/api/v1/tags", &example("NewTag"))
        .await
        .expect::<Tag>(201)
        .await;
    // The example article names a section and an author, which must exist.
    app.post_json(
        "/api/v1/sections",
        &serde_json::json!({"name": "Diplomacy"}),
    )
    .await
    .expect::<Value>(201)
    .await;
    app.post_json(
        "/api/v1/authors",
        &serde_json::json!({"name": "Aya Batbayar"}),
    )
    .await
    .expect::<Value>(201)
    .await;
    let article: Article = app
        .post_json("/api/v1/articles", &example("ArticleInput"))
        .await
        .expect(201)
        .await;
    let path = format!("/api/v1/articles/{}", article.id);
    for (method, suffix, schema) in [
        ("PATCH", "", "ArticlePatch"),
        ("POST", "/key-point-lists", "NewKeyPointList"),
        ("POST", "/citations", "CitationInput"),
        ("PUT", "/tags", "ArticleTagsInput"),
        ("POST", "/tags", "AddTagInput"),
        ("POST", "/schedule", "ScheduleInput"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(&format!("{path}{suffix}")))
            .json(&example(schema))
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(
            status.is_success(),
            "{method} {suffix} with the {schema} example: {status} {}",
            response.text().await.unwrap()
        );
    }
    app.post_json("/api/v1/tokens", &example("NewToken"))
        .await
        .expect::<Value>(201)
        .await;

    let whole: Article = serde_json::from_value(example("Article")).expect("an Article");
    assert!(whole.body.is_some() && whole.citations.is_some());
    let summary: Article = serde_json::from_value(example("ArticleSummary")).expect("a summary");
    assert!(summary.body.is_none());
    let _: Tag = serde_json::from_value(example("Tag")).expect("a Tag");
    assert_eq!(spec["servers"][0]["url"], cms::openapi::DEFAULT_PUBLIC_URL);
}

/// The spec's `maxItems` (utoipa takes only literals) are the limits the service
/// applies.
#[tokio::test]
async fn the_spec_states_the_list_limits_the_service_applies() {
    use cms::content::article_tags::MAX_TAGS;
    use cms::content::citations::MAX_CITATIONS;
    use cms::content::key_points::{MAX_LISTS, MAX_POINTS};
    let app = TestApp::spawn().await;
    let spec: Value = app.get("/openapi.json").await.json().await.unwrap();
    let schemas = &spec["components"]["schemas"];
    for (schema, field, max) in [
        ("ArticleInput", "key_point_lists", MAX_LISTS),
        ("ArticleInput", "citations", MAX_CITATIONS),
        ("ArticleInput", "tags", MAX_TAGS),
        ("ArticlePatch", "key_point_lists", MAX_LISTS),
        ("ArticlePatch", "citations", MAX_CITATIONS),
        ("ArticlePatch", "tags", MAX_TAGS),
        ("ArticleTagsInput", "tags", MAX_TAGS),
        ("KeyPointListInput", "points", MAX_POINTS),
        ("NewKeyPointList", "points", MAX_POINTS),
    ] {
        assert_eq!(
            schemas[schema]["properties"][field]["maxItems"], max,
            "{schema}.{field}"
        );
    }
}
