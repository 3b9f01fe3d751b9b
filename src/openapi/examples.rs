//! Examples in the spec: one per request body and per main response schema. The
//! article is the seed article of the brief, as written (`examples/`) and as served
//! (`openapi/examples/`, captured from a real server); the parts of its answers are
//! cut from that served article, so every example is something the API really says.

use serde_json::{json, Value};
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi as OpenApiDoc, RefOr};

/// The seed article as an editor writes it.
pub const SEED_ARTICLE_INPUT: &str = include_str!("../../examples/seed-article.json");
/// The seed article as the API serves it whole.
pub const SEED_ARTICLE: &str = include_str!("../../openapi/examples/article.json");
/// A tag as the API serves it.
pub const TAG: &str = include_str!("../../openapi/examples/tag.json");
/// A token as the API answers its creation (the secret made up).
pub const TOKEN_CREATED: &str = include_str!("../../openapi/examples/token-created.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

/// The example of each schema, by component name.
fn examples() -> Vec<(&'static str, Value)> {
    let article = parse(SEED_ARTICLE);
    let mut summary = article.clone();
    if let Some(fields) = summary.as_object_mut() {
        for part in ["body", "body_html", "key_point_lists", "citations"] {
            fields.remove(part);
        }
    }
    let list = article["key_point_lists"][0].clone();
    let point = list["points"][0].clone();
    let citation = article["citations"][0].clone();
    let tag = parse(TAG);
    let created = parse(TOKEN_CREATED);
    let mut token = created.clone();
    if let Some(fields) = token.as_object_mut() {
        fields.remove("secret");
    }
    vec![
        ("ArticleInput", parse(SEED_ARTICLE_INPUT)),
        (
            "ArticlePatch",
            json!({"standfirst": null, "tags": ["Mongolia", "South Korea", "Diplomacy"]}),
        ),
        (
            "ScheduleInput",
            json!({"published_at": "2027-01-15T06:00:00Z"}),
        ),
        (
            "KeyPointListInput",
            json!({"title": "Key points", "points": ["Trade is small", "Culture is big"]}),
        ),
        (
            "NewKeyPointList",
            json!({"title": "What next", "points": ["A Korea Week in Ulaanbaatar"], "position": 1}),
        ),
        (
            "KeyPointListPatch",
            json!({"title": "In short", "position": 0}),
        ),
        (
            "NewKeyPoint",
            json!({"text": "Direct flights double in 2027", "position": 0}),
        ),
        (
            "KeyPointPatch",
            json!({"text": "Direct flights double next year"}),
        ),
        (
            "CitationInput",
            json!({
                "title": "Korea Herald",
                "publisher": "Korea Herald",
                "url": "https://www.koreaherald.com/",
                "date": "2025-01-15"
            }),
        ),
        (
            "CitationPatch",
            json!({"quote": "Culture first.", "author": null}),
        ),
        (
            "ArticleTagsInput",
            json!({"tags": ["Mongolia", "South Korea"]}),
        ),
        ("AddTagInput", json!({"tag": "Diplomacy", "position": 0})),
        (
            "NewTag",
            json!({"name": "South Korea", "description": "News about South Korea"}),
        ),
        (
            "TagPatch",
            json!({"description": "News from and about South Korea"}),
        ),
        (
            "NewToken",
            json!({"name": "newsroom frontend", "scopes": ["content:read"]}),
        ),
        ("Article", article.clone()),
        ("ArticleSummary", summary.clone()),
        (
            "ArticlePage",
            json!({"items": [summary], "next_cursor": null}),
        ),
        ("KeyPointList", list),
        ("KeyPoint", point),
        ("Citation", citation),
        ("TagRef", article["tags"][0].clone()),
        ("Tag", tag.clone()),
        ("TagPage", json!({"items": [tag], "next_cursor": null})),
        ("TokenList", json!({"items": [token.clone()]})),
        ("Token", token),
        ("NewTokenCreated", created),
    ]
}

/// Puts each example on its schema.
pub(super) fn add(api: &mut OpenApiDoc) {
    let Some(components) = api.components.as_mut() else {
        return;
    };
    for (name, example) in examples() {
        match components.schemas.get_mut(name) {
            Some(RefOr::T(Schema::Object(object))) => object.examples = vec![example],
            Some(RefOr::T(Schema::AllOf(all_of))) => all_of.examples = vec![example],
            _ => {}
        }
    }
}
