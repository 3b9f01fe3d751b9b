//! Authors: the people a byline names. Editors keep the list; an article names
//! them in order. Types, validation and all author SQL (the byline itself is in
//! `article_authors`).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::{bump_versions, record_revisions, Audience};
use crate::content::article_status::StoredStatus;
use crate::content::citations::SourceUrl;
use crate::content::media::{self, ImageRef};
use crate::content::pagination::{into_page, PageRequest};
use crate::content::precondition::{EntityState, Write};
use crate::content::slug::{Key, Slug, SlugInput};
use crate::content::text::{self, Line, Text};
use crate::db::schema::{article_authors, articles, authors};
use crate::error::{conflict_on, AppError, AppResult, FieldError};

/// An author's display name (as the byline prints it).
pub type AuthorName = Line<200>;
/// A short biography.
pub type AuthorBio = Text<5000>;
/// What a link is (`Website`, `Mastodon`).
pub type LinkLabel = Line<100>;

/// The most links an author has.
pub const MAX_LINKS: usize = 10;

/// A link on an author's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuthorLink {
    #[schema(example = "Website")]
    pub label: String,
    #[schema(example = "https://example.com/~aya")]
    pub url: String,
}

/// A link as written.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorLinkInput {
    pub label: LinkLabel,
    pub url: SourceUrl,
}

/// An author as served.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Author {
    pub id: Uuid,
    /// Unique, URL-safe; the author is also reachable by it.
    #[schema(example = "aya-batbayar")]
    pub slug: String,
    #[schema(example = "Aya Batbayar")]
    pub name: String,
    pub bio: Option<String>,
    /// At most 10, in the author's order.
    pub links: Vec<AuthorLink>,
    /// Their picture, if any.
    #[serde(default)]
    #[schema(required = true)]
    pub avatar: Option<ImageRef>,
    /// Bumped by every change; the `ETag` carries it.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The token that created the author (only for tokens that read unpublished
    /// content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    /// The token that made the last change (as `created_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<Uuid>,
}

impl Author {
    /// The state its entity tags name.
    pub fn state(&self) -> EntityState {
        EntityState {
            id: self.id,
            version: self.version,
            phase: "",
            context: 0,
        }
    }

    /// The author as `audience` sees it: token ids are for editors.
    pub fn seen_by(mut self, audience: Audience) -> Author {
        if audience == Audience::Public {
            self.created_by = None;
            self.updated_by = None;
        }
        self
    }
}

/// An author as a byline shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuthorRef {
    pub id: Uuid,
    #[schema(example = "aya-batbayar")]
    pub slug: String,
    #[schema(example = "Aya Batbayar")]
    pub name: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = authors, check_for_backend(diesel::pg::Pg))]
struct AuthorRow {
    id: Uuid,
    slug: String,
    name: String,
    bio: Option<String>,
    links: serde_json::Value,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: Option<Uuid>,
    updated_by: Option<Uuid>,
    /// The avatar as an image reference, read with the row.
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Jsonb>>(
        "article_lead_image(authors.avatar_id, NULL, NULL)"
    ))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Jsonb>>)]
    avatar: Option<serde_json::Value>,
}

impl From<AuthorRow> for Author {
    fn from(row: AuthorRow) -> Author {
        Author {
            id: row.id,
            slug: row.slug,
            name: row.name,
            bio: row.bio,
            // Written only by this module, from validated links.
            links: serde_json::from_value(row.links).unwrap_or_default(),
            avatar: row.avatar.and_then(ImageRef::from_stored),
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            created_by: row.created_by,
            updated_by: row.updated_by,
        }
    }
}

/// A request to create an author.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAuthor {
    /// As the byline prints it. Names need not be unique; slugs are.
    pub name: AuthorName,
    /// Derived from the name when omitted ("Aya Batbayar" -> `aya-batbayar`, or
    /// `aya-batbayar-2` when that is taken).
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default)]
    pub bio: Option<AuthorBio>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub links: Option<Vec<AuthorLinkInput>>,
    /// Their picture: an uploaded media's id.
    #[serde(default)]
    pub avatar: Option<Uuid>,
}

/// A partial update of an author: fields left out stay; `bio: null` clears it;
/// `links` replaces the list. Renaming keeps the slug unless a new one is given.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthorPatch {
    #[serde(default)]
    pub name: Option<AuthorName>,
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<String>, max_length = 5000)]
    pub bio: Option<Option<AuthorBio>>,
    #[serde(default)]
    #[schema(max_items = 10)]
    pub links: Option<Vec<AuthorLinkInput>>,
    /// Their picture (an uploaded media's id); `null` removes it.
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<Uuid>)]
    pub avatar: Option<Option<Uuid>>,
}

/// How a client names an author: by id or by slug.
pub type AuthorKey = Key;

/// Parses a path segment naming an author; anything but an id or a slug is a 404.
pub fn parse_key(value: &str) -> AppResult<AuthorKey> {
    Key::parse(value).ok_or_else(not_found)
}

#[derive(Insertable)]
#[diesel(table_name = authors)]
struct AuthorRecord {
    slug: String,
    name: String,
    bio: Option<String>,
    links: serde_json::Value,
    avatar_id: Option<Uuid>,
}

fn check_links(links: &[AuthorLinkInput], errors: &mut Vec<FieldError>) -> serde_json::Value {
    if links.len() > MAX_LINKS {
        errors.push(FieldError::new(
            "links",
            format!("must have at most {MAX_LINKS} links"),
        ));
        return serde_json::Value::Array(Vec::new());
    }
    let checked: Vec<AuthorLink> = links
        .iter()
        .enumerate()
        .map(|(i, link)| AuthorLink {
            label: link.label.check(&format!("links[{i}].label"), errors),
            url: link.url.check(&format!("links[{i}].url"), errors),
        })
        .collect();
    serde_json::to_value(checked).unwrap_or_default()
}

impl NewAuthor {
    /// The record, and whether its slug was derived (not given).
    fn validate(&self) -> AppResult<(AuthorRecord, bool)> {
        let mut errors = Vec::new();
        let name = self.name.check("name", &mut errors);
        let slug = match &self.slug {
            Some(slug) => slug.check(&mut errors),
            None => Slug::derive_or_fallback(&name, "author").into_string(),
        };
        let bio = self
            .bio
            .as_ref()
            .and_then(|bio| bio.check("bio", &mut errors));
        let links = check_links(self.links.as_deref().unwrap_or_default(), &mut errors);
        let record = AuthorRecord {
            slug,
            name,
            bio,
            links,
            avatar_id: self.avatar,
        };
        text::checked((record, self.slug.is_none()), errors)
    }
}

/// A patch whose fields have been validated.
struct ValidAuthorPatch {
    name: Option<String>,
    slug: Option<String>,
    bio: Option<Option<String>>,
    links: Option<serde_json::Value>,
    avatar: Option<Option<Uuid>>,
}

impl AuthorPatch {
    /// Validates the fields sent, before anything is read or locked (so that bad
    /// input is a 422 whatever `If-Match` says).
    fn validate(&self) -> AppResult<ValidAuthorPatch> {
        let mut errors = Vec::new();
        let valid = ValidAuthorPatch {
            name: self
                .name
                .as_ref()
                .map(|name| name.check("name", &mut errors)),
            slug: self.slug.as_ref().map(|slug| slug.check(&mut errors)),
            bio: self
                .bio
                .as_ref()
                .map(|bio| bio.as_ref().and_then(|bio| bio.check("bio", &mut errors))),
            links: self
                .links
                .as_ref()
                .map(|links| check_links(links, &mut errors)),
            avatar: self.avatar,
        };
        text::checked(valid, errors)
    }
}

impl ValidAuthorPatch {
    /// The author's fields after the patch.
    fn apply_to(&self, current: &Author) -> AuthorRecord {
        AuthorRecord {
            name: self.name.clone().unwrap_or_else(|| current.name.clone()),
            slug: self.slug.clone().unwrap_or_else(|| current.slug.clone()),
            bio: match &self.bio {
                Some(bio) => bio.clone(),
                None => current.bio.clone(),
            },
            links: self
                .links
                .clone()
                .unwrap_or_else(|| serde_json::to_value(&current.links).unwrap_or_default()),
            avatar_id: self
                .avatar
                .unwrap_or_else(|| current.avatar.as_ref().map(|a| a.id)),
        }
    }
}

fn not_found() -> AppError {
    AppError::NotFound("No author has this id or slug.".into())
}

fn key_matches(
    key: &AuthorKey,
) -> Box<
    dyn BoxableExpression<authors::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool> + '_,
> {
    match key {
        Key::Id(id) => Box::new(authors::id.eq(*id)),
        Key::Slug(slug) => Box::new(authors::slug.eq(slug.as_str())),
    }
}

/// The authors `audience` may see: the public sees an author once a published
/// article names them (a new hire is not announced by the API).
fn visible_to(
    audience: Audience,
) -> Box<dyn BoxableExpression<authors::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>> {
    match audience {
        Audience::Public => Box::new(diesel::dsl::exists(
            article_authors::table
                .inner_join(articles::table)
                .filter(article_authors::author_id.eq(authors::id))
                .filter(articles::trashed_at.is_null())
                .filter(articles::status.eq(StoredStatus::Published))
                .filter(articles::published_at.le(Utc::now())),
        )),
        Audience::Editors => Box::new(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE")),
    }
}

/// How many numbered variants (`name-2` to `name-21`) a derived slug tries.
const SLUG_VARIANTS: usize = 20;

/// A derived slug that no author holds: the slug itself, else the first free
/// numbered variant, else a random suffix.
async fn free_slug(conn: &mut AsyncPgConnection, derived: &str) -> AppResult<String> {
    let candidates: Vec<String> = std::iter::once(derived.to_string())
        .chain((2..SLUG_VARIANTS + 2).map(|n| Slug::numbered_variant(derived, n)))
        .collect();
    let taken: Vec<String> = authors::table
        .filter(authors::slug.eq_any(&candidates))
        .select(authors::slug)
        .load(conn)
        .await?;
    Ok(candidates
        .into_iter()
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or_else(|| Slug::unique_variant(derived).into_string()))
}

fn on_clash(slug: &str) -> impl FnOnce(diesel::result::Error) -> AppError + '_ {
    conflict_on("authors_slug_key", move || {
        format!("An author with the slug `{slug}` already exists.")
    })
}

/// Creates an author.
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: &NewAuthor,
    write: &Write,
) -> AppResult<Author> {
    let (mut record, derived) = input.validate()?;
    if derived {
        record.slug = free_slug(conn, &record.slug).await?;
    }
    if let Some(avatar) = record.avatar_id {
        media::hold(conn, avatar, "avatar").await?;
    }
    let row: AuthorRow = diesel::insert_into(authors::table)
        .values((
            authors::id.eq(Uuid::now_v7()),
            &record,
            authors::created_by.eq(write.actor),
            authors::updated_by.eq(write.actor),
        ))
        .returning(AuthorRow::as_returning())
        .get_result(conn)
        .await
        .map_err(on_clash(&record.slug))?;
    Ok(row.into())
}

/// An author by id or slug, if `audience` may see them.
pub async fn find(
    conn: &mut AsyncPgConnection,
    key: &AuthorKey,
    audience: Audience,
) -> AppResult<Author> {
    let row: AuthorRow = authors::table
        .filter(key_matches(key))
        .filter(visible_to(audience))
        .select(AuthorRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    Ok(Author::from(row).seen_by(audience))
}

/// A page of the authors `audience` may see, by name (then id).
pub async fn list(
    conn: &mut AsyncPgConnection,
    page: &PageRequest<(String, Uuid)>,
    audience: Audience,
) -> AppResult<(Vec<Author>, Option<String>)> {
    let mut query = authors::table
        .filter(visible_to(audience))
        .select(AuthorRow::as_select())
        .order((authors::name.asc(), authors::id.asc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((name, id)) = &page.after {
        query = query.filter(
            authors::name
                .gt(name.clone())
                .or(authors::name.eq(name.clone()).and(authors::id.gt(*id))),
        );
    }
    let rows: Vec<AuthorRow> = query.load(conn).await?;
    let authors = rows
        .into_iter()
        .map(|row| Author::from(row).seen_by(audience))
        .collect();
    Ok(into_page(authors, page.limit, |a: &Author| {
        (a.name.clone(), a.id)
    }))
}

/// The ids of the authors an article write names by slug, in order: a 422 naming
/// `authors[i]` for a slug no author has or one named twice. The authors found are
/// locked against deletion until the transaction ends.
pub(crate) async fn resolve(
    conn: &mut AsyncPgConnection,
    slugs: &[String],
) -> AppResult<Vec<Uuid>> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let known: Vec<(Uuid, String)> = authors::table
        .filter(authors::slug.eq_any(slugs))
        .select((authors::id, authors::slug))
        .for_key_share()
        .load(conn)
        .await?;
    let mut ids = Vec::with_capacity(slugs.len());
    let mut errors = Vec::new();
    for (i, slug) in slugs.iter().enumerate() {
        match known.iter().find(|(_, s)| s == slug) {
            Some((id, _)) if ids.contains(id) => errors.push(FieldError::new(
                format!("authors[{i}]"),
                format!("names `{slug}` a second time"),
            )),
            Some((id, _)) => ids.push(*id),
            None => errors.push(FieldError::new(
                format!("authors[{i}]"),
                format!("no author has the slug `{slug}`"),
            )),
        }
    }
    text::checked(ids, errors)
}

/// The authors a revision recorded that still exist, in its order (an author
/// deleted since drops out of the byline).
pub(crate) async fn still_there(
    conn: &mut AsyncPgConnection,
    recorded: &[AuthorRef],
) -> AppResult<Vec<Uuid>> {
    let recorded_ids: Vec<Uuid> = recorded.iter().map(|a| a.id).collect();
    let existing: Vec<Uuid> = authors::table
        .filter(authors::id.eq_any(&recorded_ids))
        .select(authors::id)
        .for_key_share()
        .load(conn)
        .await?;
    Ok(recorded_ids
        .into_iter()
        .filter(|id| existing.contains(id))
        .collect())
}

/// Locks the author for the rest of the transaction (`FOR UPDATE`) and checks
/// `If-Match`. A byline write that names the author waits for it (its foreign key
/// check shares the key), so a rename touches every article naming them and a
/// deletion sees every one.
async fn lock(conn: &mut AsyncPgConnection, key: &AuthorKey, write: &Write) -> AppResult<Author> {
    let current: AuthorRow = authors::table
        .filter(key_matches(key))
        .select(AuthorRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let current = Author::from(current);
    write.precondition.check(&current.state())?;
    Ok(current)
}

/// Applies a partial update, if the precondition holds. A new name or slug
/// changes how every article naming the author reads: each gets a new version and
/// revision (set-based). A patch that changes nothing keeps the version.
pub async fn update(
    conn: &mut AsyncPgConnection,
    key: &AuthorKey,
    patch: &AuthorPatch,
    write: &Write,
) -> AppResult<Author> {
    let patch = patch.validate()?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write).await?;
        let record = patch.apply_to(&current);
        let current_links = serde_json::to_value(&current.links).unwrap_or_default();
        if record.name == current.name
            && record.slug == current.slug
            && record.bio == current.bio
            && record.links == current_links
            && record.avatar_id == current.avatar.as_ref().map(|a| a.id)
        {
            return Ok(current);
        }
        if let Some(avatar) = record.avatar_id {
            media::hold(conn, avatar, "avatar").await?;
        }
        let touched = if record.name != current.name || record.slug != current.slug {
            touch_articles_of(conn, current.id).await?
        } else {
            Vec::new()
        };
        let row: AuthorRow = diesel::update(authors::table.filter(authors::id.eq(current.id)))
            .set((
                authors::slug.eq(&record.slug),
                authors::name.eq(&record.name),
                authors::bio.eq(&record.bio),
                authors::links.eq(&record.links),
                authors::avatar_id.eq(record.avatar_id),
                authors::version.eq(authors::version + 1),
                authors::updated_at.eq(diesel::dsl::now),
                authors::updated_by.eq(write.actor),
            ))
            .returning(AuthorRow::as_returning())
            .get_result(conn)
            .await
            .map_err(on_clash(&record.slug))?;
        record_revisions(conn, &touched, write.actor).await?;
        Ok(row.into())
    })
    .await
}

/// Bumps the version of every article naming the author (locked in id order, so
/// two such writes wait for each other instead of deadlocking); their ids.
async fn touch_articles_of(conn: &mut AsyncPgConnection, author_id: Uuid) -> AppResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = articles::table
        .filter(
            articles::id.eq_any(
                article_authors::table
                    .filter(article_authors::author_id.eq(author_id))
                    .select(article_authors::article_id),
            ),
        )
        .select(articles::id)
        .order(articles::id)
        .for_no_key_update()
        .load(conn)
        .await?;
    bump_versions(conn, &ids).await?;
    Ok(ids)
}

/// Deletes an author, if the precondition holds and no byline (of trashed
/// articles and pending changes too) names them: 409 saying how many do.
pub async fn delete(conn: &mut AsyncPgConnection, key: &AuthorKey, write: &Write) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write).await?;
        let bylines: i64 = article_authors::table
            .filter(article_authors::author_id.eq(current.id))
            .count()
            .get_result(conn)
            .await?;
        if bylines > 0 {
            return Err(AppError::Conflict(format!(
                "{bylines} article(s) name `{}` in their byline (trashed ones and pending \
                 changes count); take them off those bylines first.",
                current.slug
            )));
        }
        diesel::delete(authors::table.filter(authors::id.eq(current.id)))
            .execute(conn)
            .await
            .map_err(|error| match error {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                    _,
                ) => AppError::Conflict(
                    "An article's byline just named this author; take them off it first.".into(),
                ),
                other => other.into(),
            })?;
        Ok(())
    })
    .await
}
