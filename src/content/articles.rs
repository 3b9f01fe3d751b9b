//! Articles: the representation, validation, workflow and all article SQL. The parts
//! (key-point lists, citations, tags) have modules of their own; every write to an
//! article or a part goes through [`lock`] and [`touch`], so that versioning and the
//! publishing check (and later revisions, search and webhooks) hook in once.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::content::article_status::Status;
use crate::content::article_status::StoredStatus;
use crate::content::citations::{self, Citation, CitationInput};
use crate::content::key_points::{self, KeyPointList, KeyPointListInput};
use crate::content::markdown;
use crate::content::pagination::{into_page, PageRequest};
use crate::content::precondition::Write;
use crate::content::slug::{self, Key, Slug};
use crate::content::tags::{TagRef, TagReference};
use crate::content::{article_tags, text};
use crate::db::schema::{article_tags as article_tags_table, articles, tags};
use crate::error::{conflict_on, AppError, AppResult, FieldError};

pub const MAX_TITLE_LEN: usize = 300;
pub const MAX_STANDFIRST_LEN: usize = 2000;
pub const MAX_BODY_LEN: usize = 500_000;

/// An article row as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
pub struct ArticleRow {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub standfirst: Option<String>,
    pub body: String,
    pub status: StoredStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: Option<Uuid>,
    pub updated_by: Option<Uuid>,
}

impl ArticleRow {
    /// The status as readers see it now (visibility is decided at read time).
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        self.status.seen_at(self.published_at, now)
    }
}

/// An article as served. Lists leave out the parts not asked for with `include`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Article {
    pub id: Uuid,
    #[schema(example = "mongolia-looks-to-south-korea")]
    pub slug: String,
    pub title: String,
    /// The summary under the headline.
    pub standfirst: Option<String>,
    /// Markdown. Left out of lists unless `include=body`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body rendered to sanitized HTML, `[n]` linked to `#citation-n`; only
    /// with `include=body_html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    pub status: Status,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change to the article or any of its parts; the `ETag`
    /// carries it.
    pub version: i32,
    /// The token that created the article.
    pub created_by: Option<Uuid>,
    /// The token that made the last change.
    pub updated_by: Option<Uuid>,
    /// In the article's order.
    pub tags: Vec<TagRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_point_lists: Option<Vec<KeyPointList>>,
    /// Ordered by number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Citation>>,
}

/// Which optional parts a representation carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Include {
    pub body: bool,
    pub body_html: bool,
    pub key_point_lists: bool,
    pub citations: bool,
}

impl Include {
    /// A whole article: everything but the rendered HTML.
    pub const WHOLE: Include = Include {
        body: true,
        body_html: false,
        key_point_lists: true,
        citations: true,
    };

    /// Parses `include=body,body_html,key_point_lists,citations` on top of `base`.
    pub fn parse(base: Include, value: Option<&str>) -> AppResult<Include> {
        let mut include = base;
        for part in value
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match part {
                "body" => include.body = true,
                "body_html" => include.body_html = true,
                "key_point_lists" => include.key_point_lists = true,
                "citations" => include.citations = true,
                other => {
                    return Err(AppError::InvalidParameter(format!(
                        "include: unknown part `{other}`; use body, body_html, key_point_lists \
                         or citations"
                    )))
                }
            }
        }
        Ok(include)
    }
}

/// The status an editor may ask for when writing a whole article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusInput {
    Draft,
    Published,
    Scheduled,
    Archived,
}

/// A whole article, to create (`POST`) or replace (`PUT`) in one request with its
/// key-point lists, citations and tags.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFF8][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    pub title: String,
    /// Derived from the title when omitted.
    #[schema(max_length = 100, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    #[serde(default)]
    pub slug: Option<String>,
    #[schema(
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default)]
    pub standfirst: Option<String>,
    /// Markdown; refer to citation n as `[n]`.
    #[schema(
        max_length = 500000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default)]
    pub body: Option<String>,
    /// `draft` when creating; unchanged when replacing. `published` and `scheduled`
    /// run the publishing check.
    #[serde(default)]
    pub status: Option<StatusInput>,
    /// For `scheduled`: when it goes live (in the future). For `published`: when it
    /// went live (default: now).
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub key_point_lists: Option<Vec<KeyPointListInput>>,
    #[serde(default)]
    #[schema(max_items = 200)]
    pub citations: Option<Vec<CitationInput>>,
    /// Tags by slug or name, in order; unknown names create the tag.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Option<Vec<TagReference>>,
}

/// A partial update: only the fields sent change. `standfirst: null` clears it; a
/// list of parts sent replaces that list whole. Status changes go through the
/// workflow endpoints (publish, schedule, unpublish, archive).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticlePatch {
    #[schema(
        min_length = 1,
        max_length = 300,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFF8][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    #[serde(default)]
    pub title: Option<String>,
    #[schema(max_length = 100, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")]
    #[serde(default)]
    pub slug: Option<String>,
    #[schema(
        max_length = 2000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub standfirst: Option<Option<String>>,
    #[schema(
        max_length = 500000,
        pattern = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$"
    )]
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub key_point_lists: Option<Vec<KeyPointListInput>>,
    #[serde(default)]
    #[schema(max_items = 200)]
    pub citations: Option<Vec<CitationInput>>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Option<Vec<TagReference>>,
}

/// When a scheduled article goes live.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// A moment in the future.
    pub published_at: DateTime<Utc>,
}

/// Who reads: what they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: published articles whose time has come. Anything else is not found.
    Public,
    /// Editors (a token with `content:read`): every article.
    Editors,
}

/// The articles `audience` may see, as a `WHERE` clause.
fn visible_to(
    audience: Audience,
) -> Box<dyn BoxableExpression<articles::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
{
    match audience {
        Audience::Public => Box::new(
            articles::status
                .eq(StoredStatus::Published)
                .and(articles::published_at.le(Utc::now()).assume_not_null()),
        ),
        Audience::Editors => Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE")),
    }
}

/// How a client names an article in a path: by id or by slug.
pub type ArticleKey = Key;

/// Parses a path segment naming an article; anything but an id or a slug is a 404.
pub fn parse_key(value: &str) -> AppResult<ArticleKey> {
    Key::parse(value).ok_or_else(not_found)
}

pub(crate) fn not_found() -> AppError {
    AppError::NotFound("No article has this id or slug.".into())
}

fn key_matches(
    key: &ArticleKey,
) -> Box<
    dyn BoxableExpression<articles::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool> + '_,
> {
    match key {
        Key::Id(id) => Box::new(articles::id.eq(*id)),
        Key::Slug(slug) => Box::new(articles::slug.eq(slug.as_str())),
    }
}

/// The article's own fields, validated.
struct ArticleFields {
    slug: String,
    title: String,
    standfirst: Option<String>,
    body: String,
    /// The body rendered, when the body is new; `None` keeps the stored rendering.
    body_html: Option<String>,
}

/// Renders a body off the async workers (rendering is linear, but a body of
/// 500,000 characters still takes milliseconds).
async fn rendered(body: &str) -> AppResult<String> {
    let body = body.to_string();
    tokio::task::spawn_blocking(move || markdown::render(&body))
        .await
        .map_err(|e| AppError::Internal(format!("rendering failed: {e}")))
}

/// Everything a whole-article write carries, validated.
struct ValidArticle {
    fields: ArticleFields,
    status: Option<(StoredStatus, Option<DateTime<Utc>>)>,
    key_point_lists: Option<Vec<key_points::ValidList>>,
    citations: Option<Vec<citations::ValidCitation>>,
    tags: Option<Vec<String>>,
}

/// The stored status and date for a requested status.
fn stored_status(
    status: StatusInput,
    published_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> (StoredStatus, Option<DateTime<Utc>>) {
    if let Some(at) = published_at {
        text::check_year("published_at", at.year(), errors);
    }
    match status {
        StatusInput::Draft => {
            if published_at.is_some() {
                errors.push(FieldError::new(
                    "published_at",
                    "only published and scheduled articles have a publication date",
                ));
            }
            (StoredStatus::Draft, None)
        }
        StatusInput::Published => (StoredStatus::Published, Some(published_at.unwrap_or(now))),
        StatusInput::Scheduled => match published_at {
            Some(at) if at > now => (StoredStatus::Published, Some(at)),
            _ => {
                errors.push(FieldError::new(
                    "published_at",
                    "a scheduled article needs a publication date in the future",
                ));
                (StoredStatus::Published, Some(now))
            }
        },
        StatusInput::Archived => (StoredStatus::Archived, published_at),
    }
}

impl ArticleInput {
    fn validate(&self, now: DateTime<Utc>) -> AppResult<ValidArticle> {
        let mut errors = Vec::new();
        let title = text::line("title", &self.title, MAX_TITLE_LEN, &mut errors);
        let slug = match &self.slug {
            Some(slug) => slug::validate_field(slug, &mut errors),
            None => Slug::derive_or_fallback(&title, "article").into_string(),
        };
        let standfirst = text::optional_text(
            "standfirst",
            self.standfirst.as_deref(),
            MAX_STANDFIRST_LEN,
            &mut errors,
        );
        let body = self.body.clone().unwrap_or_default();
        text::check_text("body", &body, MAX_BODY_LEN, &mut errors);
        let status = match self.status {
            Some(status) => Some(stored_status(status, self.published_at, now, &mut errors)),
            None if self.published_at.is_some() => {
                errors.push(FieldError::new(
                    "published_at",
                    "give a status (published or scheduled) with a publication date",
                ));
                None
            }
            None => None,
        };
        let key_point_lists = self
            .key_point_lists
            .as_deref()
            .map(|lists| key_points::validate_lists(lists, &mut errors));
        let citations = self
            .citations
            .as_deref()
            .map(|citations| citations::validate_all(citations, &mut errors));
        let tags = self
            .tags
            .as_deref()
            .map(|tags| article_tags::validate_references(tags, &mut errors));
        text::checked(
            ValidArticle {
                fields: ArticleFields {
                    slug,
                    title,
                    standfirst,
                    body,
                    body_html: None,
                },
                status,
                key_point_lists,
                citations,
                tags,
            },
            errors,
        )
    }
}

/// A patch whose fields have been validated.
struct ValidPatch {
    title: Option<String>,
    slug: Option<String>,
    standfirst: Option<Option<String>>,
    body: Option<String>,
    key_point_lists: Option<Vec<key_points::ValidList>>,
    citations: Option<Vec<citations::ValidCitation>>,
    tags: Option<Vec<String>>,
}

impl ArticlePatch {
    /// Validates the fields sent, before anything is read or locked.
    fn validate(&self) -> AppResult<ValidPatch> {
        let mut errors = Vec::new();
        let valid = ValidPatch {
            title: self
                .title
                .as_deref()
                .map(|title| text::line("title", title, MAX_TITLE_LEN, &mut errors)),
            slug: self
                .slug
                .as_deref()
                .map(|slug| slug::validate_field(slug, &mut errors)),
            standfirst: self.standfirst.as_ref().map(|standfirst| {
                text::optional_text(
                    "standfirst",
                    standfirst.as_deref(),
                    MAX_STANDFIRST_LEN,
                    &mut errors,
                )
            }),
            body: self.body.as_ref().map(|body| {
                text::check_text("body", body, MAX_BODY_LEN, &mut errors);
                body.clone()
            }),
            key_point_lists: self
                .key_point_lists
                .as_deref()
                .map(|lists| key_points::validate_lists(lists, &mut errors)),
            citations: self
                .citations
                .as_deref()
                .map(|citations| citations::validate_all(citations, &mut errors)),
            tags: self
                .tags
                .as_deref()
                .map(|tags| article_tags::validate_references(tags, &mut errors)),
        };
        text::checked(valid, errors)
    }
}

impl ValidPatch {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.slug.is_none()
            && self.standfirst.is_none()
            && self.body.is_none()
            && self.key_point_lists.is_none()
            && self.citations.is_none()
            && self.tags.is_none()
    }

    /// The whole-article write this patch makes of the current article.
    fn apply_to(self, current: &ArticleRow) -> ValidArticle {
        ValidArticle {
            fields: ArticleFields {
                slug: self.slug.unwrap_or_else(|| current.slug.clone()),
                title: self.title.unwrap_or_else(|| current.title.clone()),
                standfirst: self
                    .standfirst
                    .unwrap_or_else(|| current.standfirst.clone()),
                body: self.body.unwrap_or_else(|| current.body.clone()),
                body_html: None,
            },
            status: None,
            key_point_lists: self.key_point_lists,
            citations: self.citations,
            tags: self.tags,
        }
    }
}

/// Locks the article for the rest of the transaction and checks `If-Match`.
pub(crate) async fn lock(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<ArticleRow> {
    let row = articles::table
        .filter(key_matches(key))
        .select(ArticleRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    write.precondition.check(row.version)?;
    Ok(row)
}

/// Records that the article changed: bumps its version, records who changed it and,
/// when it is published or scheduled, checks that it still may be (every `[n]` has
/// a citation n). Every write to an existing article calls this last, inside its
/// transaction; `create` runs the same check through [`after_write`].
pub(crate) async fn touch(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    write: &Write,
) -> AppResult<ArticleRow> {
    let row = diesel::update(articles::table.filter(articles::id.eq(id)))
        .set((
            articles::version.eq(articles::version + 1),
            articles::updated_at.eq(diesel::dsl::now),
            articles::updated_by.eq(write.actor),
        ))
        .returning(ArticleRow::as_returning())
        .get_result(conn)
        .await?;
    after_write(conn, &row).await?;
    Ok(row)
}

/// What must hold after any write: a published (or scheduled) article passes the
/// publishing check.
async fn after_write(conn: &mut AsyncPgConnection, row: &ArticleRow) -> AppResult<()> {
    if row.status == StoredStatus::Published {
        let numbers = citations::numbers(conn, row.id).await?;
        check_publishable(&row.body, &numbers)?;
    }
    Ok(())
}

/// The publishing check: every `[n]` in the body has a citation n.
fn check_publishable(body: &str, citation_numbers: &[i32]) -> AppResult<()> {
    let problems: Vec<FieldError> = markdown::citation_references(body)
        .into_iter()
        .filter(|n| !citation_numbers.contains(n))
        .map(|n| {
            FieldError::new(
                "body",
                format!("refers to [{n}], but the article has no citation {n}"),
            )
        })
        .collect();
    text::checked((), problems)
}

/// Creates a whole article with its parts, in one transaction.
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: &ArticleInput,
    write: &Write,
) -> AppResult<Article> {
    let mut valid = input.validate(Utc::now())?;
    valid.fields.body_html = Some(rendered(&valid.fields.body).await?);
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let (status, published_at) = valid.status.unwrap_or((StoredStatus::Draft, None));
            let fields = &valid.fields;
            let row = diesel::insert_into(articles::table)
                .values((
                    articles::id.eq(Uuid::now_v7()),
                    articles::slug.eq(&fields.slug),
                    articles::title.eq(&fields.title),
                    articles::standfirst.eq(&fields.standfirst),
                    articles::body.eq(&fields.body),
                    articles::body_html.eq(&fields.body_html),
                    articles::status.eq(&status),
                    articles::published_at.eq(published_at),
                    articles::created_by.eq(write.actor),
                    articles::updated_by.eq(write.actor),
                ))
                .returning(ArticleRow::as_returning())
                .get_result(conn)
                .await
                .map_err(conflict_on("articles_slug_key", || {
                    format!("An article with the slug `{}` already exists.", fields.slug)
                }))?;
            write_parts(conn, row.id, &valid, false, write).await?;
            after_write(conn, &row).await?;
            Ok(row.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// Writes the parts a whole-article write carries, replacing what was there.
async fn write_parts(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    valid: &ValidArticle,
    replace: bool,
    write: &Write,
) -> AppResult<()> {
    if let Some(lists) = &valid.key_point_lists {
        if replace {
            key_points::delete_all(conn, id).await?;
        }
        key_points::insert_lists(conn, id, lists, 0).await?;
    }
    if let Some(citations) = &valid.citations {
        if replace {
            citations::delete_all(conn, id).await?;
        }
        citations::insert_all(conn, id, citations).await?;
    }
    if let Some(tags) = &valid.tags {
        let tag_ids = article_tags::resolve(conn, tags, write.actor).await?;
        article_tags::replace(conn, id, &tag_ids).await?;
    }
    Ok(())
}

/// Replaces a whole article (`PUT`): its fields and every part. Parts left out are
/// emptied; the status is kept unless one is given.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    input: &ArticleInput,
    write: &Write,
) -> AppResult<Article> {
    let mut valid = input.validate(Utc::now())?;
    valid.fields.body_html = Some(rendered(&valid.fields.body).await?);
    valid.key_point_lists.get_or_insert_with(Vec::new);
    valid.citations.get_or_insert_with(Vec::new);
    valid.tags.get_or_insert_with(Vec::new);
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let current = lock(conn, key, write).await?;
            // Replacing as `published` (an article already live) or `archived`
            // without a date keeps the date it has.
            let mut valid = valid;
            if let (Some((status, at)), None) = (&mut valid.status, input.published_at) {
                let live_since = current.published_at.filter(|t| *t <= Utc::now());
                let keep = match *status {
                    StoredStatus::Published => {
                        current.status == StoredStatus::Published && live_since.is_some()
                    }
                    StoredStatus::Archived => true,
                    StoredStatus::Draft => false,
                };
                if keep {
                    *at = current.published_at;
                }
            }
            update_fields(conn, current.id, &valid).await?;
            write_parts(conn, current.id, &valid, true, write).await?;
            touch(conn, current.id, write).await?;
            Ok(current.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

async fn update_fields(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    valid: &ValidArticle,
) -> AppResult<()> {
    let fields = &valid.fields;
    let target = articles::table.filter(articles::id.eq(id));
    diesel::update(target)
        .set((
            articles::slug.eq(&fields.slug),
            articles::title.eq(&fields.title),
            articles::standfirst.eq(&fields.standfirst),
            articles::body.eq(&fields.body),
        ))
        .execute(conn)
        .await
        .map_err(conflict_on("articles_slug_key", || {
            format!("An article with the slug `{}` already exists.", fields.slug)
        }))?;
    if let Some(body_html) = &fields.body_html {
        diesel::update(target)
            .set(articles::body_html.eq(body_html))
            .execute(conn)
            .await?;
    }
    if let Some((status, published_at)) = &valid.status {
        diesel::update(target)
            .set((
                articles::status.eq(status),
                articles::published_at.eq(published_at),
            ))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Applies a partial update (`PATCH`).
pub async fn update(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    patch: &ArticlePatch,
    write: &Write,
) -> AppResult<Article> {
    let patch = patch.validate()?;
    let body_html = match &patch.body {
        Some(body) => Some(rendered(body).await?),
        None => None,
    };
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let current = lock(conn, key, write).await?;
            // An empty patch changes nothing, so the version stays.
            if patch.is_empty() {
                return Ok(current.id);
            }
            let mut valid = patch.apply_to(&current);
            valid.fields.body_html = body_html;
            update_fields(conn, current.id, &valid).await?;
            write_parts(conn, current.id, &valid, true, write).await?;
            touch(conn, current.id, write).await?;
            Ok(current.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// Deletes an article and its parts.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write).await?;
        diesel::delete(articles::table.filter(articles::id.eq(current.id)))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// A workflow step.
#[derive(Debug, Clone, Copy)]
pub enum Transition {
    /// Live now (or keep the date it went live).
    Publish,
    /// Live at a future moment.
    Schedule(DateTime<Utc>),
    /// Back to draft.
    Unpublish,
    /// Out of circulation, date kept.
    Archive,
}

/// Moves an article through its workflow. Publishing and scheduling run the
/// publishing check; a failing check changes nothing.
pub async fn transition(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    transition: Transition,
    write: &Write,
) -> AppResult<Article> {
    let now = Utc::now();
    if let Transition::Schedule(at) = transition {
        let mut errors = Vec::new();
        text::check_year("published_at", at.year(), &mut errors);
        text::checked((), errors)?;
        if at <= now {
            return Err(AppError::validation(
                "published_at",
                "must be in the future; to publish now, use publish",
            ));
        }
    }
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let current = lock(conn, key, write).await?;
            let (status, published_at) = match transition {
                Transition::Publish => {
                    let keep = current
                        .published_at
                        .filter(|at| *at <= now && current.status != StoredStatus::Draft);
                    (StoredStatus::Published, Some(keep.unwrap_or(now)))
                }
                Transition::Schedule(at) => (StoredStatus::Published, Some(at)),
                Transition::Unpublish => (StoredStatus::Draft, None),
                Transition::Archive => (StoredStatus::Archived, current.published_at),
            };
            diesel::update(articles::table.filter(articles::id.eq(current.id)))
                .set((
                    articles::status.eq(status),
                    articles::published_at.eq(published_at),
                ))
                .execute(conn)
                .await?;
            touch(conn, current.id, write).await?;
            Ok(current.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// One article with the parts asked for.
pub async fn find(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    include: Include,
    audience: Audience,
) -> AppResult<Article> {
    let row = articles::table
        .filter(key_matches(key))
        .filter(visible_to(audience))
        .select(ArticleRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let mut articles = assemble(conn, vec![row], include).await?;
    articles.pop().ok_or_else(not_found)
}

/// Turns rows into representations, loading each kind of part for all rows at once:
/// a fixed number of queries whatever the number of rows or parts.
async fn assemble(
    conn: &mut AsyncPgConnection,
    rows: Vec<ArticleRow>,
    include: Include,
) -> AppResult<Vec<Article>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let mut tags = article_tags::load(conn, &ids).await?;
    let mut lists = if include.key_point_lists {
        key_points::load(conn, &ids).await?
    } else {
        HashMap::new()
    };
    let mut cites = if include.citations {
        citations::load(conn, &ids).await?
    } else {
        HashMap::new()
    };
    let mut html = if include.body_html {
        bodies_html(conn, &rows).await?
    } else {
        HashMap::new()
    };
    let now = Utc::now();
    Ok(rows
        .into_iter()
        .map(|row| Article {
            id: row.id,
            status: row.status_at(now),
            body_html: html.remove(&row.id),
            body: include.body.then_some(row.body),
            slug: row.slug,
            title: row.title,
            standfirst: row.standfirst,
            published_at: row.published_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            created_by: row.created_by,
            updated_by: row.updated_by,
            tags: tags.remove(&row.id).unwrap_or_default(),
            key_point_lists: include
                .key_point_lists
                .then(|| lists.remove(&row.id).unwrap_or_default()),
            citations: include
                .citations
                .then(|| cites.remove(&row.id).unwrap_or_default()),
        })
        .collect())
}

/// The rendered bodies of `rows`, as stored when each body was written (one query;
/// only asked for with `include=body_html`, so lists do not carry them otherwise).
/// Rows written before bodies were stored rendered are rendered now.
async fn bodies_html(
    conn: &mut AsyncPgConnection,
    rows: &[ArticleRow],
) -> AppResult<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let stored: Vec<(Uuid, Option<String>)> = articles::table
        .filter(articles::id.eq_any(&ids))
        .select((articles::id, articles::body_html))
        .load(conn)
        .await?;
    let mut html = HashMap::with_capacity(rows.len());
    for (id, body_html) in stored {
        let body_html = match body_html {
            Some(body_html) => body_html,
            None => match rows.iter().find(|r| r.id == id) {
                Some(row) => rendered(&row.body).await?,
                None => continue,
            },
        };
        html.insert(id, body_html);
    }
    Ok(html)
}

/// How article lists are sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Newest first; drafts (no date) last.
    #[default]
    PublishedAt,
    /// Most recently changed first.
    UpdatedAt,
    /// A to Z.
    Title,
}

/// The sort key of the last row of a page, tagged with its sort.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ArticleCursor {
    P(Option<DateTime<Utc>>, Uuid),
    U(DateTime<Utc>, Uuid),
    T(String, Uuid),
}

/// The filters of an article list.
#[derive(Debug, Clone)]
pub struct ArticleFilter {
    /// Who reads; the public sees only what is published.
    pub audience: Audience,
    pub status: Option<Status>,
    /// Tag slugs: an article matches a group when it carries any tag of it, and
    /// must match every group.
    pub tag_groups: Vec<Vec<String>>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
}

impl ArticleFilter {
    /// Narrows the filter by what a client asked for: a status, tag slugs
    /// (comma-separated: any of them), a publication range.
    pub fn narrowed(
        mut self,
        status: Option<Status>,
        tags: Option<&str>,
        published_after: Option<DateTime<Utc>>,
        published_before: Option<DateTime<Utc>>,
    ) -> AppResult<Self> {
        for (name, moment) in [
            ("published_after", published_after),
            ("published_before", published_before),
        ] {
            if moment.is_some_and(|m| !text::YEARS.contains(&m.year())) {
                return Err(AppError::InvalidParameter(format!(
                    "{name} must be between the years 1 and 9999"
                )));
            }
        }
        let group = tags
            .unwrap_or("")
            .split(',')
            .filter(|t| !t.is_empty())
            .map(|t| {
                Slug::parse(t).map(Slug::into_string).map_err(|_| {
                    AppError::InvalidParameter(format!("tag: `{t}` is not a tag slug"))
                })
            })
            .collect::<AppResult<Vec<String>>>()?;
        if !group.is_empty() {
            self.tag_groups.push(group);
        }
        self.status = status;
        self.published_after = published_after;
        self.published_before = published_before;
        Ok(self)
    }

    /// No filter but what `audience` may see.
    pub fn for_audience(audience: Audience) -> ArticleFilter {
        ArticleFilter {
            audience,
            status: None,
            tag_groups: Vec::new(),
            published_after: None,
            published_before: None,
        }
    }
}

/// One page of articles.
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &ArticleFilter,
    sort: Sort,
    include: Include,
    page: &PageRequest<ArticleCursor>,
) -> AppResult<(Vec<Article>, Option<String>)> {
    let now = Utc::now();
    let mut query = articles::table
        .select(ArticleRow::as_select())
        .filter(visible_to(filter.audience))
        .limit(page.limit + 1)
        .into_boxed();
    query = match filter.status {
        None => query,
        Some(Status::Draft) => query.filter(articles::status.eq(StoredStatus::Draft)),
        Some(Status::Archived) => query.filter(articles::status.eq(StoredStatus::Archived)),
        Some(Status::Published) => query
            .filter(articles::status.eq(StoredStatus::Published))
            .filter(articles::published_at.le(now)),
        Some(Status::Scheduled) => query
            .filter(articles::status.eq(StoredStatus::Published))
            .filter(articles::published_at.gt(now)),
    };
    for group in &filter.tag_groups {
        let tagged = article_tags_table::table
            .inner_join(tags::table)
            .filter(tags::slug.eq_any(group.clone()))
            .select(article_tags_table::article_id);
        query = query.filter(articles::id.eq_any(tagged));
    }
    if let Some(after) = filter.published_after {
        query = query.filter(articles::published_at.gt(after));
    }
    if let Some(before) = filter.published_before {
        query = query.filter(articles::published_at.lt(before));
    }
    let mismatch =
        || AppError::InvalidParameter("cursor belongs to a list with another sort".into());
    query = match sort {
        Sort::PublishedAt => {
            let query = query.order((
                articles::published_at.desc().nulls_last(),
                articles::id.desc(),
            ));
            match &page.after {
                None => query,
                Some(ArticleCursor::P(Some(at), id)) => query.filter(
                    articles::published_at
                        .lt(*at)
                        .or(articles::published_at.eq(*at).and(articles::id.lt(*id)))
                        .or(articles::published_at.is_null()),
                ),
                Some(ArticleCursor::P(None, id)) => query
                    .filter(articles::published_at.is_null())
                    .filter(articles::id.lt(*id)),
                Some(_) => return Err(mismatch()),
            }
        }
        Sort::UpdatedAt => {
            let query = query.order((articles::updated_at.desc(), articles::id.desc()));
            match &page.after {
                None => query,
                Some(ArticleCursor::U(at, id)) => query.filter(
                    articles::updated_at
                        .lt(*at)
                        .or(articles::updated_at.eq(*at).and(articles::id.lt(*id))),
                ),
                Some(_) => return Err(mismatch()),
            }
        }
        Sort::Title => {
            let query = query.order((articles::title.asc(), articles::id.asc()));
            match &page.after {
                None => query,
                Some(ArticleCursor::T(title, id)) => query.filter(
                    articles::title
                        .gt(title.clone())
                        .or(articles::title.eq(title.clone()).and(articles::id.gt(*id))),
                ),
                Some(_) => return Err(mismatch()),
            }
        }
    };
    let rows = query.load(conn).await?;
    let (rows, next) = into_page(rows, page.limit, |row: &ArticleRow| match sort {
        Sort::PublishedAt => ArticleCursor::P(row.published_at, row.id),
        Sort::UpdatedAt => ArticleCursor::U(row.updated_at, row.id),
        Sort::Title => ArticleCursor::T(row.title.clone(), row.id),
    });
    Ok((assemble(conn, rows, include).await?, next))
}

/// The current version of an article, for the `ETag` of its parts' representations.
pub async fn version(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Uuid, i32)> {
    articles::table
        .filter(key_matches(key))
        .filter(visible_to(audience))
        .select((articles::id, articles::version))
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)
}
