//! Sparse fieldsets (`fields=`): an article list that carries only the fields a
//! frontend asked for ("Latest" needs a title, a slug and an excerpt, not bodies).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::schema::{AnyOfBuilder, Schema};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use crate::content::articles::{Article, Include};
use crate::error::{AppError, AppResult};

/// A field of an article, as `fields=` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleField {
    Id,
    Slug,
    Title,
    Standfirst,
    Language,
    Excerpt,
    WordCount,
    ReadingTimeMinutes,
    Body,
    BodyHtml,
    BodyMedia,
    Status,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
    Version,
    CreatedBy,
    UpdatedBy,
    Authors,
    Section,
    LeadImage,
    Tags,
    Seo,
    Meta,
    Translations,
    KeyPointLists,
    Citations,
    Snippet,
}

/// Every field name `fields=` takes: the article's keys as served.
const NAMES: [&str; 28] = [
    "id",
    "slug",
    "title",
    "standfirst",
    "language",
    "excerpt",
    "word_count",
    "reading_time_minutes",
    "body",
    "body_html",
    "body_media",
    "status",
    "published_at",
    "created_at",
    "updated_at",
    "version",
    "created_by",
    "updated_by",
    "authors",
    "section",
    "lead_image",
    "tags",
    "seo",
    "meta",
    "translations",
    "key_point_lists",
    "citations",
    "snippet",
];

/// The fields asked for; `None`: all of them.
#[derive(Debug, Clone, Default)]
pub struct ArticleFields(Option<Vec<&'static str>>);

impl ArticleFields {
    /// Parses `fields=a,b,c`: each must be a field name (400 naming the first that
    /// is not).
    pub fn parse(value: Option<&str>) -> AppResult<ArticleFields> {
        let Some(value) = value else {
            return Ok(ArticleFields(None));
        };
        let mut names = vec!["id"];
        for name in value.split(',').map(str::trim) {
            let Some(known) = NAMES.iter().find(|n| **n == name) else {
                let what = if name.is_empty() {
                    "an empty field name".to_string()
                } else {
                    format!(
                        "unknown field `{}`",
                        crate::content::markdown::cut_at_word(name, 60)
                    )
                };
                return Err(AppError::InvalidParameter(format!(
                    "fields: {what}; name one or more of {}, separated by commas",
                    NAMES.join(", ")
                )));
            };
            if !names.contains(known) {
                names.push(known);
            }
        }
        Ok(ArticleFields(Some(names)))
    }

    /// `include` with the parts the fields name added.
    pub fn include(&self, mut include: Include) -> Include {
        if let Some(names) = &self.0 {
            // The images a body names come with the body.
            include.body |= names.contains(&"body") || names.contains(&"body_media");
            include.body_html |= names.contains(&"body_html");
            include.key_point_lists |= names.contains(&"key_point_lists");
            include.citations |= names.contains(&"citations");
        }
        include
    }

    /// The articles as served: only the fields asked for. Without `fields=`
    /// they are served as they are (no detour through JSON values).
    pub fn apply(&self, articles: Vec<Article>) -> AppResult<ListedArticles> {
        let Some(names) = &self.0 else {
            return Ok(ListedArticles::Whole(articles));
        };
        articles
            .iter()
            .map(|article| {
                let mut value = serde_json::to_value(article)
                    .map_err(|e| AppError::Internal(format!("serializing an article: {e}")))?;
                if let Value::Object(object) = &mut value {
                    object.retain(|key, _| names.contains(&key.as_str()));
                }
                Ok(value)
            })
            .collect::<AppResult<Vec<Value>>>()
            .map(ListedArticles::Sparse)
    }
}

/// The items of an article list: whole summaries, or only the fields asked for.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ListedArticles {
    Whole(Vec<Article>),
    Sparse(Vec<Value>),
}

/// The spec's schema of an article in a list: a summary, or with `fields=` only
/// the fields named.
pub struct ListedArticle;

impl PartialSchema for ListedArticle {
    fn schema() -> RefOr<Schema> {
        let mut sparse = <Article as PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut sparse {
            object.description = Some(
                "An article with only the fields `fields=` named (`id` is always there).".into(),
            );
            object.required = vec!["id".into()];
        }
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("ArticleSummary"))
            .item(sparse)
            .into()
    }
}

impl ToSchema for ListedArticle {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ListedArticle")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            <Article as ToSchema>::name().into_owned(),
            <Article as PartialSchema>::schema(),
        ));
        <Article as ToSchema>::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fields=` names exactly the keys an article is served with.
    #[test]
    fn field_names_are_the_served_keys() {
        let article: Article = serde_json::from_value(serde_json::json!({
            "id": "00000000-0000-7000-8000-000000000000",
            "slug": "a", "title": "A", "standfirst": null, "language": "en",
            "excerpt": "", "word_count": 0, "reading_time_minutes": 0,
            "body": "", "body_html": "", "body_media": [], "status": "draft", "published_at": null,
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
            "version": 1, "created_by": "00000000-0000-7000-8000-000000000001",
            "updated_by": "00000000-0000-7000-8000-000000000001", "tags": [],
            "key_point_lists": [], "citations": [], "snippet": "", "section": null,
            "authors": [], "translations": []
        }))
        .expect("a whole article");
        let value = serde_json::to_value(&article).expect("serializes");
        let mut keys: Vec<&str> = value
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        let mut names = NAMES.to_vec();
        keys.sort_unstable();
        names.sort_unstable();
        assert_eq!(keys, names);
        for name in NAMES {
            let field: ArticleField =
                serde_json::from_value(Value::String(name.into())).expect("an ArticleField");
            let _ = field;
        }
    }
}
