//! Tags: named topics shared by many articles. Types, validation and all tag SQL.

use chrono::{DateTime, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Timestamptz};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::{bump_versions, record_revisions, Audience};
use crate::content::article_status::StoredStatus;
use crate::content::events;
use crate::content::pagination::{into_page, PageRequest};
use crate::content::precondition::{EntityState, Write};
use crate::content::slug::{Key, Slug, SlugInput};
use crate::content::text::{self, Line, Text};
use crate::db::schema::{article_tags, articles, tags};
use crate::error::{conflict_on, AppError, AppResult};

/// A tag's display name.
pub type TagName = Line<100>;
/// What a tag is about.
pub type TagDescription = Text<2000>;

/// A tag as stored and as served. (The row and the representation are the same
/// fields today; they split when they diverge.)
#[derive(
    Debug, Clone, Queryable, QueryableByName, Selectable, Serialize, Deserialize, ToSchema,
)]
#[diesel(table_name = tags, check_for_backend(diesel::pg::Pg))]
pub struct Tag {
    pub id: Uuid,
    /// Unique, URL-safe name of the tag; the tag is also reachable by it.
    #[schema(example = "south-korea")]
    pub slug: String,
    #[schema(example = "South Korea")]
    pub name: String,
    pub description: Option<String>,
    /// Bumped by every change; the `ETag` carries it.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The token that created the tag (only for tokens that read unpublished
    /// content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    /// The token that made the last change (as `created_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<Uuid>,
}

impl Tag {
    /// The tag as `audience` sees it: token ids are for editors.
    pub fn seen_by(mut self, audience: Audience) -> Tag {
        if audience == Audience::Public {
            self.created_by = None;
            self.updated_by = None;
        }
        self
    }

    /// The state its entity tags name.
    pub fn state(&self) -> EntityState {
        EntityState {
            id: self.id,
            version: self.version,
            phase: "",
            context: 0,
        }
    }
}

/// A tag as an article lists it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = tags, check_for_backend(diesel::pg::Pg))]
pub struct TagRef {
    pub id: Uuid,
    #[schema(example = "south-korea")]
    pub slug: String,
    #[schema(example = "South Korea")]
    pub name: String,
}

/// A tag named in an article write: its slug or its name (an unknown name creates
/// the tag); the rule of a tag's name.
pub type TagReference = TagName;

/// A request to create a tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Display name.
    pub name: TagName,
    /// Derived from the name when omitted ("South Korea" -> `south-korea`).
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default)]
    pub description: Option<TagDescription>,
}

/// A partial update of a tag: fields left out stay as they are; `description: null`
/// clears the description. Renaming a tag keeps its slug unless a new one is given,
/// so that links to it keep working.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPatch {
    #[serde(default)]
    pub name: Option<TagName>,
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub description: Option<Option<TagDescription>>,
}

/// How a client names a tag in a path: by id or by slug.
pub type TagKey = Key;

/// Parses a path segment naming a tag; anything but an id or a slug is a 404.
pub fn parse_key(value: &str) -> AppResult<TagKey> {
    Key::parse(value).ok_or_else(not_found)
}

/// The sort key of the last tag of a page. (Untagged: cursors of the name order
/// given out before counts existed stay valid.)
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TagCursor {
    /// By name, then id.
    Name(String, Uuid),
    /// By published articles (most first), then name, then id.
    Count(i64, String, Uuid),
}

/// How the tag list is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
pub enum TagSort {
    /// A to Z (then by id).
    #[default]
    #[serde(rename = "name")]
    Name,
    /// Most published articles first (then A to Z); implies `include=article_count`.
    #[serde(rename = "-article_count")]
    ArticleCountDescending,
}

/// A tag in the tag list: with, when asked for, how many articles carry it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ListedTag {
    #[serde(flatten)]
    pub tag: Tag,
    /// How many published articles carry the tag (only with
    /// `include=article_count` or `sort=-article_count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article_count: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = tags)]
struct TagRecord {
    slug: String,
    name: String,
    description: Option<String>,
}

impl NewTag {
    fn validate(&self) -> AppResult<TagRecord> {
        let mut errors = Vec::new();
        let name = self.name.check("name", &mut errors);
        let slug = match &self.slug {
            Some(slug) => slug.check(&mut errors),
            None => Slug::derive_or_fallback(&name, "tag").into_string(),
        };
        let description = self
            .description
            .as_ref()
            .and_then(|description| description.check("description", &mut errors));
        text::checked(
            TagRecord {
                slug,
                name,
                description,
            },
            errors,
        )
    }
}

/// A patch whose fields have been validated.
struct ValidTagPatch {
    name: Option<String>,
    slug: Option<String>,
    description: Option<Option<String>>,
}

impl TagPatch {
    /// Validates the fields sent, before anything is read or locked.
    fn validate(&self) -> AppResult<ValidTagPatch> {
        let mut errors = Vec::new();
        let valid = ValidTagPatch {
            name: self
                .name
                .as_ref()
                .map(|name| name.check("name", &mut errors)),
            slug: self.slug.as_ref().map(|slug| slug.check(&mut errors)),
            description: self.description.as_ref().map(|description| {
                description
                    .as_ref()
                    .and_then(|description| description.check("description", &mut errors))
            }),
        };
        text::checked(valid, errors)
    }
}

impl ValidTagPatch {
    /// The tag's fields after the patch.
    fn apply_to(&self, current: &Tag) -> TagRecord {
        TagRecord {
            slug: self.slug.clone().unwrap_or_else(|| current.slug.clone()),
            name: self.name.clone().unwrap_or_else(|| current.name.clone()),
            description: match &self.description {
                Some(description) => description.clone(),
                None => current.description.clone(),
            },
        }
    }
}

fn not_found() -> AppError {
    AppError::NotFound("No tag has this id or slug.".into())
}

/// The `WHERE` clause selecting the tag a key names.
fn key_matches(
    key: &TagKey,
) -> Box<dyn BoxableExpression<tags::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool> + '_>
{
    match key {
        Key::Id(id) => Box::new(tags::id.eq(*id)),
        Key::Slug(slug) => Box::new(tags::slug.eq(slug.as_str())),
    }
}

/// The tags `audience` may see, as a `WHERE` clause: the public sees a tag once a
/// published article carries it (a tag only drafts use is not public yet).
fn visible_to(
    audience: Audience,
) -> Box<dyn BoxableExpression<tags::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>> {
    match audience {
        Audience::Public => Box::new(diesel::dsl::exists(
            article_tags::table
                .inner_join(articles::table)
                .filter(article_tags::tag_id.eq(tags::id))
                .filter(articles::trashed_at.is_null())
                .filter(articles::status.eq(StoredStatus::Published))
                .filter(articles::published_at.le(Utc::now())),
        )),
        Audience::Editors => Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE")),
    }
}

/// Maps a clash with another tag's slug or name to 409.
fn on_clash(record: &TagRecord) -> impl FnOnce(diesel::result::Error) -> AppError + '_ {
    move |error| {
        let constraint = match &error {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            ) => info.constraint_name().map(str::to_string),
            _ => None,
        };
        match constraint.as_deref() {
            Some("tags_name_lower_key") => AppError::Conflict(format!(
                "A tag named `{}` already exists (names are unique, whatever their case).",
                record.name
            )),
            _ => conflict_on("tags_slug_key", || {
                format!("A tag with the slug `{}` already exists.", record.slug)
            })(error),
        }
    }
}

/// Creates a tag.
pub async fn create(conn: &mut AsyncPgConnection, input: &NewTag, write: &Write) -> AppResult<Tag> {
    let record = input.validate()?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let tag = diesel::insert_into(tags::table)
            .values((
                tags::id.eq(Uuid::now_v7()),
                &record,
                tags::created_by.eq(write.actor),
                tags::updated_by.eq(write.actor),
            ))
            .returning(Tag::as_returning())
            .get_result(conn)
            .await
            .map_err(on_clash(&record))?;
        // No article carries it yet: not public.
        events::tag_changed(conn, "tag.created", tag.id, &tag.slug, tag.version, false).await?;
        Ok(tag)
    })
    .await
}

/// Whether the public sees the tag (a published article carries it).
async fn is_public(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        tags::table
            .filter(tags::id.eq(id))
            .filter(visible_to(Audience::Public)),
    ))
    .get_result(conn)
    .await?)
}

/// The tags among `ids` that `audience` may see, in no particular order.
pub async fn find_many(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    audience: Audience,
) -> AppResult<Vec<Tag>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let tags: Vec<Tag> = tags::table
        .filter(tags::id.eq_any(ids))
        .filter(visible_to(audience))
        .select(Tag::as_select())
        .load(conn)
        .await?;
    Ok(tags.into_iter().map(|tag| tag.seen_by(audience)).collect())
}

/// Finds a tag by id or slug, if `audience` may see it.
pub async fn find(
    conn: &mut AsyncPgConnection,
    key: &TagKey,
    audience: Audience,
) -> AppResult<Tag> {
    tags::table
        .filter(key_matches(key))
        .filter(visible_to(audience))
        .select(Tag::as_select())
        .first(conn)
        .await
        .optional()?
        .map(|tag| tag.seen_by(audience))
        .ok_or_else(not_found)
}

/// How many articles published by `now` carry each tag: a subquery per tag, on the
/// `(tag_id, article_id)` index.
fn published_articles(
    now: DateTime<Utc>,
) -> Box<dyn BoxableExpression<tags::table, Pg, SqlType = Nullable<BigInt>>> {
    Box::new(
        article_tags::table
            .inner_join(articles::table)
            .filter(article_tags::tag_id.eq(tags::id))
            .filter(articles::trashed_at.is_null())
            .filter(articles::pending_for.is_null())
            .filter(articles::status.eq(StoredStatus::Published))
            .filter(articles::published_at.le(now))
            .count()
            .single_value(),
    )
}

/// One page of the tags `audience` may see, in `sort` order, each with its count
/// of published articles when `with_counts` (or when sorted by it).
pub async fn list(
    conn: &mut AsyncPgConnection,
    page: &PageRequest<TagCursor>,
    audience: Audience,
    sort: TagSort,
    with_counts: bool,
) -> AppResult<(Vec<ListedTag>, Option<String>)> {
    let mismatch =
        || AppError::InvalidParameter("cursor belongs to a list with another sort".into());
    let now = Utc::now();
    let rows = match sort {
        TagSort::ArticleCountDescending => {
            let after = match &page.after {
                None => None,
                Some(TagCursor::Count(count, name, id)) => Some((*count, name.clone(), *id)),
                Some(TagCursor::Name(..)) => return Err(mismatch()),
            };
            by_count(conn, page.limit + 1, audience, now, after).await?
        }
        TagSort::Name => {
            let count = if with_counts {
                published_articles(now)
            } else {
                Box::new(diesel::dsl::sql::<Nullable<BigInt>>("NULL::bigint"))
            };
            let mut query = tags::table
                .select((Tag::as_select(), count))
                .filter(visible_to(audience))
                .order((tags::name.asc(), tags::id.asc()))
                .limit(page.limit + 1)
                .into_boxed();
            match &page.after {
                None => {}
                Some(TagCursor::Name(name, id)) => {
                    query = query.filter(
                        tags::name
                            .gt(name.clone())
                            .or(tags::name.eq(name.clone()).and(tags::id.gt(*id))),
                    )
                }
                Some(TagCursor::Count(..)) => return Err(mismatch()),
            }
            query.load::<(Tag, Option<i64>)>(conn).await?
        }
    };
    let (rows, next) = into_page(rows, page.limit, |(tag, count)| match sort {
        TagSort::Name => TagCursor::Name(tag.name.clone(), tag.id),
        TagSort::ArticleCountDescending => {
            TagCursor::Count(count.unwrap_or_default(), tag.name.clone(), tag.id)
        }
    });
    let tags = rows
        .into_iter()
        .map(|(tag, article_count)| ListedTag {
            tag: tag.seen_by(audience),
            article_count,
        })
        .collect();
    Ok((tags, next))
}

/// A tag with its count of published articles, as [`by_count`] reads it.
#[derive(QueryableByName)]
struct CountedTag {
    #[diesel(embed)]
    tag: Tag,
    #[diesel(sql_type = BigInt)]
    article_count: i64,
}

/// Up to `limit` tags, most published articles first (then by name and id), after
/// `after`: every tag's articles counted once, in one aggregate over the published
/// ones.
async fn by_count(
    conn: &mut AsyncPgConnection,
    limit: i64,
    audience: Audience,
    now: DateTime<Utc>,
    after: Option<(i64, String, Uuid)>,
) -> AppResult<Vec<(Tag, Option<i64>)>> {
    let (after_count, after_name, after_id) = match after {
        Some((count, name, id)) => (Some(count), Some(name), Some(id)),
        None => (None, None, None),
    };
    let rows: Vec<CountedTag> = diesel::sql_query(
        "WITH counts AS ( \
             SELECT at.tag_id, count(*) AS n \
             FROM article_tags at JOIN articles a ON a.id = at.article_id \
             WHERE a.trashed_at IS NULL AND a.pending_for IS NULL \
               AND a.status = 'published' AND a.published_at <= $1 \
             GROUP BY at.tag_id) \
         SELECT t.*, coalesce(c.n, 0) AS article_count \
         FROM tags t LEFT JOIN counts c ON c.tag_id = t.id \
         WHERE ($2 OR c.n > 0) \
           AND ($3::bigint IS NULL OR coalesce(c.n, 0) < $3 \
                OR (coalesce(c.n, 0) = $3 AND (t.name > $4 OR (t.name = $4 AND t.id > $5)))) \
         ORDER BY coalesce(c.n, 0) DESC, t.name, t.id \
         LIMIT $6",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Bool, _>(audience == Audience::Editors)
    .bind::<Nullable<BigInt>, _>(after_count)
    .bind::<Nullable<diesel::sql_types::Text>, _>(after_name)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after_id)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| (row.tag, Some(row.article_count)))
        .collect())
}

/// Locks the tag for the rest of the transaction and checks `If-Match`: for a
/// change (`FOR NO KEY UPDATE`, which lets article writes
/// that attach it go on) or for its deletion (`FOR UPDATE`).
async fn lock(
    conn: &mut AsyncPgConnection,
    key: &TagKey,
    write: &Write,
    deleting: bool,
) -> AppResult<Tag> {
    let query = tags::table
        .filter(key_matches(key))
        .select(Tag::as_select());
    let current = if deleting {
        query.for_update().first(conn).await
    } else {
        query.for_no_key_update().first(conn).await
    }
    .optional()?
    .ok_or_else(not_found)?;
    write.precondition.check(&current.state())?;
    Ok(current)
}

/// Applies a partial update, if the precondition holds. A patch that changes
/// nothing leaves the version as it is.
pub async fn update(
    conn: &mut AsyncPgConnection,
    key: &TagKey,
    patch: &TagPatch,
    write: &Write,
) -> AppResult<Tag> {
    let patch = patch.validate()?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write, false).await?;
        let record = patch.apply_to(&current);
        if record.name == current.name
            && record.slug == current.slug
            && record.description == current.description
        {
            return Ok(current);
        }
        let touched = if record.name != current.name || record.slug != current.slug {
            touch_articles_carrying(conn, current.id).await?
        } else {
            Vec::new()
        };
        let tag = diesel::update(tags::table.filter(tags::id.eq(current.id)))
            .set((
                tags::slug.eq(&record.slug),
                tags::name.eq(&record.name),
                tags::description.eq(&record.description),
                tags::version.eq(tags::version + 1),
                tags::updated_at.eq(diesel::dsl::now),
                tags::updated_by.eq(write.actor),
            ))
            .returning(Tag::as_returning())
            .get_result(conn)
            .await
            .map_err(on_clash(&record))?;
        record_revisions(conn, &touched, write.actor).await?;
        let public = is_public(conn, tag.id).await?;
        events::tag_changed(conn, "tag.updated", tag.id, &tag.slug, tag.version, public).await?;
        Ok(tag)
    })
    .await
}

/// Bumps the version (and so the `ETag`) of every article that carries the tag,
/// whose representation is about to change with the tag's name or slug, or lose it.
/// Its editors' `updated_at`/`updated_by` stay: nobody edited the article. Two
/// statements whatever the number of articles; their rows are locked in id order,
/// so two tag writes sharing articles wait for each other instead of deadlocking.
/// Returns their ids, for their revisions once the tag has changed.
async fn touch_articles_carrying(
    conn: &mut AsyncPgConnection,
    tag_id: Uuid,
) -> AppResult<Vec<Uuid>> {
    let carrying = article_tags::table
        .filter(article_tags::tag_id.eq(tag_id))
        .select(article_tags::article_id);
    let ids: Vec<Uuid> = articles::table
        .filter(articles::id.eq_any(carrying))
        .select(articles::id)
        .order(articles::id)
        .for_no_key_update()
        .load(conn)
        .await?;
    bump_versions(conn, &ids).await?;
    Ok(ids)
}

/// Deletes a tag, if the precondition holds.
pub async fn delete(conn: &mut AsyncPgConnection, key: &TagKey, write: &Write) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write, true).await?;
        let touched = touch_articles_carrying(conn, current.id).await?;
        diesel::delete(tags::table.filter(tags::id.eq(current.id)))
            .execute(conn)
            .await?;
        record_revisions(conn, &touched, write.actor).await?;
        let (id, slug, version) = (current.id, &current.slug, current.version + 1);
        events::tag_changed(conn, "tag.deleted", id, slug, version, false).await
    })
    .await
}
