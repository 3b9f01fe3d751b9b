//! How every request reaches an article: the key that names it, who may see it,
//! and the one write hook. Every write to an article or any of its parts goes
//! through [`lock`] and [`touch`], so that versioning and the publishing check (and
//! later revisions, search and webhooks) hook in once. The articles module and the
//! parts' modules (key-point lists, citations, tags) both build on this one, and it
//! on neither.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Jsonb, Nullable};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::content::article_status::{Status, StoredStatus};
use crate::content::markdown;
use crate::content::precondition::{EntityState, Write};
use crate::content::slug::Key;
use crate::content::text;
use crate::content::translations;
use crate::db::schema::{articles, citations};
use crate::error::{AppError, AppResult, FieldError};

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
    pub language: String,
    /// The body's first paragraph as plain text; `None` for rows written before
    /// it was kept.
    pub lead_text: Option<String>,
    /// `None` for rows written before it was kept.
    pub word_count: Option<i32>,
    pub section_id: Option<Uuid>,
    /// Its section as `{id, slug, name}`, read with the row (no query of its own).
    #[diesel(select_expression = diesel::dsl::sql::<Nullable<Jsonb>>(SECTION_OF_ROW))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<Nullable<Jsonb>>)]
    pub section: Option<serde_json::Value>,
    /// Its byline as `[{id, slug, name}]` in order, read with the row.
    #[diesel(select_expression = diesel::dsl::sql::<Jsonb>(AUTHORS_OF_ROW))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<Jsonb>)]
    pub authors: serde_json::Value,
    /// The SEO fields as editors set them (`SeoFields`).
    pub seo: serde_json::Value,
    pub translation_group: Option<Uuid>,
    /// The other articles of its translation group, with their status and date (see
    /// `translations::visible`), read with the row.
    #[diesel(select_expression = diesel::dsl::sql::<Jsonb>(translations::TRANSLATIONS_OF_ROW))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<Jsonb>)]
    pub translations: serde_json::Value,
    pub lead_image_id: Option<Uuid>,
    /// Its lead image, the article's caption and credit applied (`ImageRef`), read
    /// with the row.
    #[diesel(select_expression = diesel::dsl::sql::<Nullable<Jsonb>>(LEAD_IMAGE_OF_ROW))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<Nullable<Jsonb>>)]
    pub lead_image: Option<serde_json::Value>,
    /// The images its body shows (`ImageRef`s, without caption overrides), read
    /// with the row.
    #[diesel(select_expression = diesel::dsl::sql::<Jsonb>(BODY_MEDIA_OF_ROW))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<Jsonb>)]
    pub body_media: serde_json::Value,
}

/// The images the body of the article row at hand shows, as a JSON array.
const BODY_MEDIA_OF_ROW: &str = "COALESCE((SELECT jsonb_agg(\
     article_lead_image(am.media_id, NULL, NULL) ORDER BY am.media_id) \
     FROM article_media am WHERE am.article_id = articles.id), '[]'::jsonb)";

/// The lead image of the article row at hand, as JSON (the function the snapshots
/// use too).
const LEAD_IMAGE_OF_ROW: &str = "article_lead_image(articles.lead_image_id, \
     articles.lead_image_caption, articles.lead_image_credit)";

/// The section of the article row at hand, as JSON.
const SECTION_OF_ROW: &str =
    "(SELECT jsonb_build_object('id', s.id, 'slug', s.slug, 'name', s.name) \
     FROM sections s WHERE s.id = articles.section_id)";

/// The byline of the article row at hand, as a JSON array in its order.
const AUTHORS_OF_ROW: &str = "COALESCE((SELECT jsonb_agg(jsonb_build_object(\
     'id', au.id, 'slug', au.slug, 'name', au.name) ORDER BY aa.position) \
     FROM article_authors aa JOIN authors au ON au.id = aa.author_id \
     WHERE aa.article_id = articles.id), '[]'::jsonb)";

impl ArticleRow {
    /// The status as readers see it now (visibility is decided at read time).
    pub fn status_at(&self, now: DateTime<Utc>) -> Status {
        self.status.seen_at(self.published_at, now)
    }

    /// The state its entity tags name, now, as editors see it (writes are theirs).
    pub fn state(&self) -> EntityState {
        EntityState {
            id: self.id,
            version: self.version,
            phase: self.status_at(Utc::now()).as_str(),
            context: translations::fingerprint(&translations::visible(&self.translations, None)),
        }
    }
}

/// Who reads: what they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone: published articles whose time has come. Anything else is not found.
    Public,
    /// Editors (a token with `content:read`): every article.
    Editors,
}

/// The articles `audience` may see, as a `WHERE` clause (never a trashed one).
pub(crate) fn visible_to(
    audience: Audience,
) -> Box<dyn BoxableExpression<articles::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>
{
    // A trashed article is gone for everyone until it is restored; the copy that
    // holds an article's pending changes is never an article of its own.
    let listed = articles::trashed_at
        .is_null()
        .and(articles::pending_for.is_null());
    match audience {
        Audience::Public => Box::new(
            listed.and(
                articles::status
                    .eq(StoredStatus::Published)
                    .and(articles::published_at.le(Utc::now()).assume_not_null()),
            ),
        ),
        Audience::Editors => Box::new(listed),
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

pub(crate) fn key_matches(
    key: &ArticleKey,
) -> Box<
    dyn BoxableExpression<articles::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool> + '_,
> {
    match key {
        Key::Id(id) => Box::new(articles::id.eq(*id)),
        Key::Slug(slug) => Box::new(articles::slug.eq(slug.as_str())),
    }
}

/// Locks the article for the rest of the transaction and checks `If-Match`. A
/// trashed article is not found: it takes no writes until it is restored.
pub(crate) async fn lock(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<ArticleRow> {
    let row = articles::table
        .filter(key_matches(key))
        .filter(articles::trashed_at.is_null())
        .filter(articles::pending_for.is_null())
        .select(ArticleRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    write.precondition.check(&row.state())?;
    Ok(row)
}

/// Records that the article changed: bumps its version, records who changed it,
/// when it is published or scheduled checks that it still may be (every `[n]` has
/// a citation n), and keeps the result as a revision. Every write to an existing
/// article calls this last, inside its transaction; `create` does the same through
/// [`after_write`].
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
    after_write(conn, &row, write).await?;
    Ok(row)
}

/// What follows any write: a published (or scheduled) article must pass the
/// publishing check, and the article as the write left it becomes a revision.
pub(crate) async fn after_write(
    conn: &mut AsyncPgConnection,
    row: &ArticleRow,
    write: &Write,
) -> AppResult<()> {
    if row.status == StoredStatus::Published {
        // Read here rather than through the citations module, which itself writes
        // through this hook.
        let numbers: Vec<i32> = citations::table
            .filter(citations::article_id.eq(row.id))
            .select(citations::number)
            .load(conn)
            .await?;
        // Reading the body's references is parsing it: off the async workers.
        let references = markdown::citation_references_off_thread(&row.body).await?;
        check_publishable(references, &numbers)?;
    }
    record_revisions(conn, &[row.id], write.actor).await
}

/// Bumps the version of these articles (locked by the caller, in id order), whose
/// representation changes though nobody edited them (a tag or section renamed or
/// deleted); their editors' `updated_at`/`updated_by` stay. Pending changes based on
/// such an article's version follow it: publishing them still undoes no edit, and a
/// rename must not make them stale (or unschedule them). Two statements.
pub(crate) async fn bump_versions(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> AppResult<()> {
    diesel::update(articles::table.filter(articles::id.eq_any(ids)))
        .set(articles::version.eq(articles::version + 1))
        .execute(conn)
        .await?;
    diesel::sql_query(
        "UPDATE articles c SET pending_base_version = l.version FROM articles l \
         WHERE c.pending_for = l.id AND l.id = ANY($1) \
           AND c.pending_base_version = l.version - 1",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// Keeps each of these articles, as it is now in this transaction, as the revision
/// of its current version, and rebuilds its search document (`article_search_document`:
/// title, standfirst and key points, citation titles, body): one statement, whatever
/// their number. The snapshot is built by the database (`article_snapshot`, the
/// `Article` schema as a read serves it), so that writes that change many articles
/// at once (a tag rename) stay set-based.
pub(crate) async fn record_revisions(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    actor: Option<Uuid>,
) -> AppResult<()> {
    // Each write records the version it made; a revision, once recorded, is never
    // rewritten. The search
    // document is not part of the snapshot, so that the snapshot (which sees the
    // rows as they were before this statement) is the same either way.
    diesel::sql_query(
        "WITH indexed AS (\
           UPDATE articles SET search_document = article_search_document(id) \
           WHERE id = ANY($1) RETURNING id) \
         INSERT INTO article_revisions (article_id, version, created_by, snapshot) \
         SELECT id, version, $2, article_snapshot(id) FROM articles WHERE id = ANY($1) \
         ON CONFLICT (article_id, version) DO NOTHING",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(actor)
    .execute(conn)
    .await?;
    // Every change that makes a revision is an event too (pending copies aside).
    crate::content::events::articles_changed(conn, ids, None).await
}

/// The publishing check: every `[n]` in the body (`references`) has a citation n.
pub(crate) fn check_publishable(references: Vec<i32>, citation_numbers: &[i32]) -> AppResult<()> {
    let problems: Vec<FieldError> = references
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

/// The current state of an article, for the `ETag` of its parts' representations.
pub async fn state(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<EntityState> {
    let (id, version, status, published_at) = articles::table
        .filter(key_matches(key))
        .filter(visible_to(audience))
        .select((
            articles::id,
            articles::version,
            articles::status,
            articles::published_at,
        ))
        .first::<(Uuid, i32, StoredStatus, Option<DateTime<Utc>>)>(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    Ok(EntityState {
        id,
        version,
        phase: status.seen_at(published_at, Utc::now()).as_str(),
        context: 0,
    })
}
