//! Citations: the numbered sources of an article. The body refers to citation n as
//! `[n]`; numbers are unique per article and never reassigned behind an editor's back.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, NaiveDate};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::{self, ArticleKey, Audience};
use crate::content::precondition::Write;
use crate::content::text;
use crate::db::schema::citations;
use crate::error::{conflict_on, AppError, AppResult, FieldError};

pub const MAX_CITATIONS: usize = 200;
pub const MAX_NUMBER: i32 = 9999;

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
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    pub title: String,
    #[schema(max_length = 300, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    #[serde(default)]
    pub publisher: Option<String>,
    /// An absolute http(s) URL.
    #[schema(
        max_length = 2000,
        format = "uri",
        pattern = "^https?://[^\\s/?#]+([/?#]\\S*)?$"
    )]
    #[serde(default)]
    pub url: Option<String>,
    #[schema(max_length = 300, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub date: Option<NaiveDate>,
    #[schema(
        max_length = 5000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default)]
    pub quote: Option<String>,
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
    #[schema(
        min_length = 1,
        max_length = 500,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    #[serde(default)]
    pub title: Option<String>,
    #[schema(max_length = 300, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub publisher: Option<Option<String>>,
    #[schema(
        max_length = 2000,
        format = "uri",
        pattern = "^https?://[^\\s/?#]+([/?#]\\S*)?$"
    )]
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub url: Option<Option<String>>,
    #[schema(max_length = 300, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$")]
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub author: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub date: Option<Option<NaiveDate>>,
    #[schema(
        max_length = 5000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub quote: Option<Option<String>>,
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

fn validate_url(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value?.trim();
    if value.is_empty() {
        errors.push(FieldError::new(
            field,
            "must be a URL; leave it out (or null) for none",
        ));
        return None;
    }
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errors.push(FieldError::new(
            field,
            "must not contain spaces or control characters",
        ));
        return Some(value.to_string());
    }
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            if value.chars().count() > 2000 {
                errors.push(FieldError::new(field, "must be at most 2000 characters"));
            }
        }
        _ => errors.push(FieldError::new(
            field,
            "must be an absolute http or https URL, such as https://example.com/page",
        )),
    }
    Some(value.to_string())
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
        title: text::line(&field("title"), &input.title, 500, errors),
        publisher: text::optional_line(
            &field("publisher"),
            input.publisher.as_deref(),
            300,
            errors,
        ),
        url: validate_url(&field("url"), input.url.as_deref(), errors),
        author: text::optional_line(&field("author"), input.author.as_deref(), 300, errors),
        date: input
            .date
            .inspect(|d| text::check_year(&field("date"), d.year(), errors)),
        quote: text::optional_text(&field("quote"), input.quote.as_deref(), 5000, errors),
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

/// A citation id from a path; anything but a UUID names no citation (404).
pub fn parse_id(value: &str) -> AppResult<Uuid> {
    Uuid::parse_str(value).map_err(|_| not_found())
}

fn not_found() -> AppError {
    AppError::NotFound("The article has no citation with this id.".into())
}

async fn find_in(conn: &mut AsyncPgConnection, article_id: Uuid, id: Uuid) -> AppResult<Citation> {
    citations::table
        .filter(citations::id.eq(id))
        .filter(citations::article_id.eq(article_id))
        .select(Citation::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)
}

/// All citations of an article, with its version.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Vec<Citation>, i32)> {
    let (article_id, version) = article_access::version(conn, key, audience).await?;
    let all = load(conn, &[article_id])
        .await?
        .remove(&article_id)
        .unwrap_or_default();
    Ok((all, version))
}

/// One citation, with the article's version.
pub async fn get(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    id: Uuid,
    audience: Audience,
) -> AppResult<(Citation, i32)> {
    let (article_id, version) = article_access::version(conn, key, audience).await?;
    Ok((find_in(conn, article_id, id).await?, version))
}

/// Adds a citation (409 when its number is taken).
pub async fn add(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    input: &CitationInput,
    write: &Write,
) -> AppResult<(Citation, i32)> {
    let mut errors = Vec::new();
    if let Some(number) = input.number {
        validate_number("number", number, &mut errors);
    }
    let mut valid = validate_one("", input, input.number.unwrap_or(1), &mut errors);
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let used = numbers(conn, article.id).await?;
        if used.len() >= MAX_CITATIONS {
            return Err(AppError::Conflict(format!(
                "The article already has {MAX_CITATIONS} citations, the most it may have."
            )));
        }
        if input.number.is_none() {
            valid.number = used.iter().copied().max().unwrap_or(0) + 1;
            if valid.number > MAX_NUMBER {
                return Err(AppError::Conflict(format!(
                    "The article already uses number {MAX_NUMBER}; give this citation a free number."
                )));
            }
        }
        let ids = insert_all(conn, article.id, std::slice::from_ref(&valid)).await?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_in(conn, article.id, ids[0]).await?, row.version))
    })
    .await
}

/// Changes a citation.
pub async fn update(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    id: Uuid,
    patch: &CitationPatch,
    write: &Write,
) -> AppResult<(Citation, i32)> {
    // Validate what was sent before reading or locking anything.
    let mut errors = Vec::new();
    if let Some(number) = patch.number {
        validate_number("number", number, &mut errors);
    }
    let title = patch
        .title
        .as_deref()
        .map(|title| text::line("title", title, 500, &mut errors));
    let publisher = patch
        .publisher
        .as_ref()
        .map(|v| text::optional_line("publisher", v.as_deref(), 300, &mut errors));
    let url = patch
        .url
        .as_ref()
        .map(|v| validate_url("url", v.as_deref(), &mut errors));
    let author = patch
        .author
        .as_ref()
        .map(|v| text::optional_line("author", v.as_deref(), 300, &mut errors));
    let date = patch
        .date
        .map(|v| v.inspect(|d| text::check_year("date", d.year(), &mut errors)));
    let quote = patch
        .quote
        .as_ref()
        .map(|v| text::optional_text("quote", v.as_deref(), 5000, &mut errors));
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let current = find_in(conn, article.id, id).await?;
        let unchanged = ValidCitation {
            number: current.number,
            title: current.title.clone(),
            publisher: current.publisher.clone(),
            url: current.url.clone(),
            author: current.author.clone(),
            date: current.date,
            quote: current.quote.clone(),
        };
        let merged = ValidCitation {
            number: patch.number.unwrap_or(current.number),
            title: title.clone().unwrap_or(current.title.clone()),
            publisher: publisher.clone().unwrap_or(current.publisher.clone()),
            url: url.clone().unwrap_or(current.url.clone()),
            author: author.clone().unwrap_or(current.author.clone()),
            date: date.unwrap_or(current.date),
            quote: quote.clone().unwrap_or(current.quote.clone()),
        };
        // A patch that changes nothing leaves the version as it is.
        if merged == unchanged {
            return Ok((current, article.version));
        }
        diesel::update(citations::table.filter(citations::id.eq(id)))
            .set((
                citations::number.eq(merged.number),
                citations::title.eq(&merged.title),
                citations::publisher.eq(&merged.publisher),
                citations::url.eq(&merged.url),
                citations::author.eq(&merged.author),
                citations::published_on.eq(merged.date),
                citations::quote.eq(&merged.quote),
            ))
            .execute(conn)
            .await
            .map_err(conflict_on("citations_number_key", || {
                "Another citation of this article has this number.".into()
            }))?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((find_in(conn, article.id, id).await?, row.version))
    })
    .await
}

/// Deletes a citation. Other numbers stay as they are.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    id: Uuid,
    write: &Write,
) -> AppResult<i32> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let deleted = diesel::delete(
            citations::table
                .filter(citations::id.eq(id))
                .filter(citations::article_id.eq(article.id)),
        )
        .execute(conn)
        .await?;
        if deleted == 0 {
            return Err(not_found());
        }
        Ok(article_access::touch(conn, article.id, write)
            .await?
            .version)
    })
    .await
}
