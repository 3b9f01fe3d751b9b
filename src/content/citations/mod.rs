//! Citations: the numbered sources of an article. The body refers to citation n as
//! `[n]`; numbers are unique per article and never reassigned behind an editor's back.
//! (Types, validation and the writes of a whole article are here; citations as
//! sub-resources in `sub_resources.rs`.)

mod sub_resources;
pub use sub_resources::*;

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::{self, ArticleKey, Audience};
use crate::content::precondition::{EntityState, Write};
use crate::content::text::{self, Line, OptionalLine, Text};
use crate::db::schema::citations;
use crate::error::{conflict_on, AppError, AppResult, FieldError};

pub const MAX_CITATIONS: usize = 200;
pub const MAX_NUMBER: i32 = 9999;
/// The source's title.
pub type CitationTitle = Line<500>;
/// Who published the source; also the author's name.
pub type SourceName = OptionalLine<300>;
/// A quote from the source, or a note about it.
pub type Quote = Text<5000>;
/// Longest source URL accepted, in characters.
pub const MAX_URL_LEN: usize = 2000;

/// A source of the article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema, Queryable, Selectable)]
#[diesel(table_name = citations, check_for_backend(diesel::pg::Pg))]
pub struct Citation {
    pub id: Uuid,
    /// The n of `[n]` in the body; frontends anchor it as `#citation-n`.
    #[schema(example = 1)]
    pub number: i32,
    #[schema(example = "Korea Herald")]
    pub title: String,
    pub publisher: Option<String>,
    pub url: Option<String>,
    pub author: Option<String>,
    /// Publication date of the source.
    #[diesel(column_name = published_on)]
    pub date: Option<NaiveDate>,
    /// A quote from the source, or a note about it.
    pub quote: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = citations, check_for_backend(diesel::pg::Pg))]
struct CitationRow {
    article_id: Uuid,
    #[diesel(embed)]
    citation: Citation,
}

/// A citation to write.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitationInput {
    /// Default: one more than the highest number in use.
    #[schema(minimum = 1, maximum = 9999)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub number: Option<i32>,
    pub title: CitationTitle,
    #[serde(default)]
    pub publisher: Option<SourceName>,
    #[serde(default)]
    pub url: Option<SourceUrl>,
    #[serde(default)]
    pub author: Option<SourceName>,
    #[serde(default)]
    pub date: Option<NaiveDate>,
    #[serde(default)]
    pub quote: Option<Quote>,
}

/// A change to a citation: fields sent change, `null` clears an optional one.
/// Changing `number` renumbers it (the body's `[n]` must follow).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitationPatch {
    #[schema(minimum = 1, maximum = 9999)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub number: Option<i32>,
    #[serde(default)]
    pub title: Option<CitationTitle>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub publisher: Option<Option<SourceName>>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub url: Option<Option<SourceUrl>>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub author: Option<Option<SourceName>>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub quote: Option<Option<Quote>>,
}

/// A validated citation (number assigned).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ValidCitation {
    number: i32,
    title: String,
    publisher: Option<String>,
    url: Option<String>,
    author: Option<String>,
    date: Option<NaiveDate>,
    quote: Option<String>,
}

/// An absolute http(s) URL of at most [`MAX_URL_LEN`] characters.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct SourceUrl(String);

impl SourceUrl {
    /// The URL trimmed, or its errors recorded under `field`.
    pub(crate) fn check(&self, field: &str, errors: &mut Vec<FieldError>) -> String {
        validate_url(field, &self.0, errors)
    }
}

impl utoipa::PartialSchema for SourceUrl {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(format!(
                "An absolute http(s) URL of at most {MAX_URL_LEN} characters"
            )))
            .format(Some(utoipa::openapi::SchemaFormat::Custom("uri".into())))
            .max_length(Some(MAX_URL_LEN))
            .pattern(Some("^https?://[^\\s/?#]+([/?#]\\S*)?$"))
            .into()
    }
}

impl utoipa::ToSchema for SourceUrl {}

fn validate_url(field: &str, value: &str, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(
            field,
            "must be a URL; leave it out (or null) for none",
        ));
        return String::new();
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errors.push(FieldError::new(
            field,
            "must not contain spaces or control characters",
        ));
        return value.to_string();
    }
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            if value.chars().count() > MAX_URL_LEN {
                errors.push(FieldError::new(
                    field,
                    format!("must be at most {MAX_URL_LEN} characters"),
                ));
            }
        }
        _ => errors.push(FieldError::new(
            field,
            "must be an absolute http or https URL, such as https://example.com/page",
        )),
    }
    value.to_string()
}

fn validate_number(field: &str, number: i32, errors: &mut Vec<FieldError>) {
    if !(1..=MAX_NUMBER).contains(&number) {
        errors.push(FieldError::new(
            field,
            format!("must be between 1 and {MAX_NUMBER}"),
        ));
    }
}

fn validate_one(
    prefix: &str,
    input: &CitationInput,
    number: i32,
    errors: &mut Vec<FieldError>,
) -> ValidCitation {
    let field = |name: &str| format!("{prefix}{name}");
    ValidCitation {
        number,
        title: input.title.check(&field("title"), errors),
        publisher: input
            .publisher
            .as_ref()
            .and_then(|v| v.check(&field("publisher"), errors)),
        url: input.url.as_ref().map(|v| v.check(&field("url"), errors)),
        author: input
            .author
            .as_ref()
            .and_then(|v| v.check(&field("author"), errors)),
        date: input
            .date
            .inspect(|d| text::check_year(&field("date"), d.year(), errors)),
        quote: input
            .quote
            .as_ref()
            .and_then(|v| v.check(&field("quote"), errors)),
    }
}

/// Validates the citations of a whole-article write; those without a number get
/// the next free ones, in order.
pub(crate) fn validate_all(
    inputs: &[CitationInput],
    errors: &mut Vec<FieldError>,
) -> Vec<ValidCitation> {
    if inputs.len() > MAX_CITATIONS {
        errors.push(FieldError::new(
            "citations",
            format!("must have at most {MAX_CITATIONS} citations"),
        ));
        return Vec::new();
    }
    let mut used = HashSet::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some(number) = input.number {
            validate_number(&format!("citations[{i}].number"), number, errors);
            if !used.insert(number) {
                errors.push(FieldError::new(
                    format!("citations[{i}].number"),
                    format!("{number} is used by another citation of this article"),
                ));
            }
        }
    }
    let mut next = used.iter().copied().max().unwrap_or(0);
    inputs
        .iter()
        .enumerate()
        .map(|(i, input)| {
            let number = input.number.unwrap_or_else(|| {
                next += 1;
                next
            });
            if input.number.is_none() && number > MAX_NUMBER {
                errors.push(FieldError::new(
                    format!("citations[{i}].number"),
                    format!("no number is free after {MAX_NUMBER}; give one"),
                ));
            }
            validate_one(&format!("citations[{i}]."), input, number, errors)
        })
        .collect()
}

/// Inserts citations in one statement.
pub(crate) async fn insert_all(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    all: &[ValidCitation],
) -> AppResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = all.iter().map(|_| Uuid::now_v7()).collect();
    if all.is_empty() {
        return Ok(ids);
    }
    let rows: Vec<_> = all
        .iter()
        .zip(&ids)
        .map(|(c, id)| {
            (
                citations::id.eq(*id),
                citations::article_id.eq(article_id),
                citations::number.eq(c.number),
                citations::title.eq(c.title.clone()),
                citations::publisher.eq(c.publisher.clone()),
                citations::url.eq(c.url.clone()),
                citations::author.eq(c.author.clone()),
                citations::published_on.eq(c.date),
                citations::quote.eq(c.quote.clone()),
            )
        })
        .collect();
    diesel::insert_into(citations::table)
        .values(rows)
        .execute(conn)
        .await
        .map_err(conflict_on("citations_number_key", || {
            "Another citation of this article has this number.".into()
        }))?;
    Ok(ids)
}

/// Puts back citations as a revision recorded them, ids included: one statement.
pub(crate) async fn restore_all(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    all: &[Citation],
) -> AppResult<()> {
    if all.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = all
        .iter()
        .map(|c| {
            (
                citations::id.eq(c.id),
                citations::article_id.eq(article_id),
                citations::number.eq(c.number),
                citations::title.eq(c.title.clone()),
                citations::publisher.eq(c.publisher.clone()),
                citations::url.eq(c.url.clone()),
                citations::author.eq(c.author.clone()),
                citations::published_on.eq(c.date),
                citations::quote.eq(c.quote.clone()),
            )
        })
        .collect();
    diesel::insert_into(citations::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn delete_all(conn: &mut AsyncPgConnection, article_id: Uuid) -> AppResult<()> {
    diesel::delete(citations::table.filter(citations::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The numbers in use in an article.
pub(crate) async fn numbers(conn: &mut AsyncPgConnection, article_id: Uuid) -> AppResult<Vec<i32>> {
    Ok(citations::table
        .filter(citations::article_id.eq(article_id))
        .select(citations::number)
        .load(conn)
        .await?)
}

/// The citations of many articles at once, by number: one query.
pub(crate) async fn load(
    conn: &mut AsyncPgConnection,
    article_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<Citation>>> {
    let rows: Vec<CitationRow> = citations::table
        .filter(citations::article_id.eq_any(article_ids))
        .order((citations::article_id, citations::number))
        .select(CitationRow::as_select())
        .load(conn)
        .await?;
    let mut by_article: HashMap<Uuid, Vec<Citation>> = HashMap::new();
    for row in rows {
        by_article
            .entry(row.article_id)
            .or_default()
            .push(row.citation);
    }
    Ok(by_article)
}
