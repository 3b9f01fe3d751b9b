//! Sections: a small managed list (admins keep it), each article in at most one,
//! its primary section (the kicker above its headline). Types, validation and all
//! section SQL.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::{bump_versions, record_revisions, Audience};
use crate::content::precondition::{EntityState, Write};
use crate::content::slug::{Key, Slug, SlugInput};
use crate::content::text::{self, Line, Text};
use crate::db::schema::{articles, sections};
use crate::error::{conflict_on, AppError, AppResult, FieldError};

/// A section's display name.
pub type SectionName = Line<100>;
/// What a section holds.
pub type SectionDescription = Text<2000>;

/// The most sections there may be: a kicker list, not a taxonomy.
pub const MAX_SECTIONS: i64 = 200;

/// A section as stored and as served.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, Deserialize, ToSchema)]
#[diesel(table_name = sections, check_for_backend(diesel::pg::Pg))]
pub struct Section {
    pub id: Uuid,
    /// Unique, URL-safe name; the section is also reachable by it.
    #[schema(example = "diplomacy")]
    pub slug: String,
    #[schema(example = "Diplomacy")]
    pub name: String,
    pub description: Option<String>,
    /// Bumped by every change; the `ETag` carries it.
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The token that created the section (only for tokens that read unpublished
    /// content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    /// The token that made the last change (as `created_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<Uuid>,
}

impl Section {
    /// The section as `audience` sees it: token ids are for editors.
    pub fn seen_by(mut self, audience: Audience) -> Section {
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

/// A section as an article shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SectionRef {
    pub id: Uuid,
    #[schema(example = "diplomacy")]
    pub slug: String,
    #[schema(example = "Diplomacy")]
    pub name: String,
}

/// A request to create a section.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSection {
    /// Display name (the kicker).
    pub name: SectionName,
    /// Derived from the name when omitted ("Foreign Affairs" -> `foreign-affairs`).
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default)]
    pub description: Option<SectionDescription>,
}

/// A partial update of a section: fields left out stay; `description: null` clears
/// it. Renaming keeps the slug unless a new one is given.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SectionPatch {
    #[serde(default)]
    pub name: Option<SectionName>,
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub description: Option<Option<SectionDescription>>,
}

/// How a client names a section: by id or by slug.
pub type SectionKey = Key;

/// Parses a path segment naming a section; anything but an id or a slug is a 404.
pub fn parse_key(value: &str) -> AppResult<SectionKey> {
    Key::parse(value).ok_or_else(not_found)
}

#[derive(Insertable)]
#[diesel(table_name = sections)]
struct SectionRecord {
    slug: String,
    name: String,
    description: Option<String>,
}

impl NewSection {
    fn validate(&self) -> AppResult<SectionRecord> {
        let mut errors = Vec::new();
        let name = self.name.check("name", &mut errors);
        let slug = match &self.slug {
            Some(slug) => slug.check(&mut errors),
            None => Slug::derive_or_fallback(&name, "section").into_string(),
        };
        let description = self
            .description
            .as_ref()
            .and_then(|description| description.check("description", &mut errors));
        text::checked(
            SectionRecord {
                slug,
                name,
                description,
            },
            errors,
        )
    }
}

/// A patch whose fields have been validated.
struct ValidSectionPatch {
    name: Option<String>,
    slug: Option<String>,
    description: Option<Option<String>>,
}

impl SectionPatch {
    /// Validates the fields sent, before anything is read or locked (so that bad
    /// input is a 422 whatever `If-Match` says).
    fn validate(&self) -> AppResult<ValidSectionPatch> {
        let mut errors = Vec::new();
        let valid = ValidSectionPatch {
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

impl ValidSectionPatch {
    /// The section's fields after the patch.
    fn apply_to(&self, current: &Section) -> SectionRecord {
        SectionRecord {
            name: self.name.clone().unwrap_or_else(|| current.name.clone()),
            slug: self.slug.clone().unwrap_or_else(|| current.slug.clone()),
            description: match &self.description {
                Some(description) => description.clone(),
                None => current.description.clone(),
            },
        }
    }
}

fn not_found() -> AppError {
    AppError::NotFound("No section has this id or slug.".into())
}

fn key_matches(
    key: &SectionKey,
) -> Box<
    dyn BoxableExpression<sections::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool> + '_,
> {
    match key {
        Key::Id(id) => Box::new(sections::id.eq(*id)),
        Key::Slug(slug) => Box::new(sections::slug.eq(slug.as_str())),
    }
}

/// Maps a clash with another section's slug or name to 409.
fn on_clash(record: &SectionRecord) -> impl FnOnce(diesel::result::Error) -> AppError + '_ {
    move |error| {
        let constraint = match &error {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                info,
            ) => info.constraint_name().map(str::to_string),
            _ => None,
        };
        match constraint.as_deref() {
            Some("sections_name_lower_key") => AppError::Conflict(format!(
                "A section named `{}` already exists (names are unique, whatever their case).",
                record.name
            )),
            _ => conflict_on("sections_slug_key", || {
                format!("A section with the slug `{}` already exists.", record.slug)
            })(error),
        }
    }
}

/// Creates a section (at most [`MAX_SECTIONS`]; creations wait for each other, so
/// the bound holds under races).
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: &NewSection,
    write: &Write,
) -> AppResult<Section> {
    let record = input.validate()?;
    conn.transaction::<_, AppError, _>(async |conn| {
        // Two keys: the one-key space is the article slugs'.
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext('cms'), hashtext('sections'))")
            .execute(conn)
            .await?;
        let count: i64 = sections::table.count().get_result(conn).await?;
        if count >= MAX_SECTIONS {
            return Err(AppError::Conflict(format!(
                "There are {MAX_SECTIONS} sections already, the most there may be; delete \
                 one first."
            )));
        }
        diesel::insert_into(sections::table)
            .values((
                sections::id.eq(Uuid::now_v7()),
                &record,
                sections::created_by.eq(write.actor),
                sections::updated_by.eq(write.actor),
            ))
            .returning(Section::as_returning())
            .get_result(conn)
            .await
            .map_err(on_clash(&record))
    })
    .await
}

/// A section by id or slug. Sections are public: they are the site's navigation.
pub async fn find(
    conn: &mut AsyncPgConnection,
    key: &SectionKey,
    audience: Audience,
) -> AppResult<Section> {
    sections::table
        .filter(key_matches(key))
        .select(Section::as_select())
        .first(conn)
        .await
        .optional()?
        .map(|section| section.seen_by(audience))
        .ok_or_else(not_found)
}

/// Every section, by name (then id): at most [`MAX_SECTIONS`], so one page.
pub async fn list(conn: &mut AsyncPgConnection, audience: Audience) -> AppResult<Vec<Section>> {
    let sections: Vec<Section> = sections::table
        .select(Section::as_select())
        .order((sections::name.asc(), sections::id.asc()))
        .limit(MAX_SECTIONS)
        .load(conn)
        .await?;
    Ok(sections
        .into_iter()
        .map(|section| section.seen_by(audience))
        .collect())
}

/// The id of the section an article write names by slug: a 422 naming `section`
/// when there is none.
pub(crate) async fn resolve(conn: &mut AsyncPgConnection, slug: &str) -> AppResult<Uuid> {
    sections::table
        .filter(sections::slug.eq(slug))
        .select(sections::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| {
            AppError::Validation(vec![FieldError::new(
                "section",
                format!("no section has the slug `{slug}`"),
            )])
        })
}

/// The id of a section an article recorded (a revision), if it still exists.
pub(crate) async fn still_there(
    conn: &mut AsyncPgConnection,
    recorded: &SectionRef,
) -> AppResult<Option<Uuid>> {
    Ok(sections::table
        .filter(sections::id.eq(recorded.id))
        .select(sections::id)
        .first(conn)
        .await
        .optional()?)
}

/// Locks the section for the rest of the transaction (`FOR UPDATE`) and checks
/// `If-Match`. An article write that puts an article in the section waits for it
/// (its foreign key check shares the key), so a rename touches every article in
/// the section and a deletion sees every one. (Writes that leave an article's
/// section as it is take no lock on it, so they never deadlock with a rename
/// that waits for their article.)
async fn lock(conn: &mut AsyncPgConnection, key: &SectionKey, write: &Write) -> AppResult<Section> {
    let current = sections::table
        .filter(key_matches(key))
        .select(Section::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    write.precondition.check(&current.state())?;
    Ok(current)
}

/// Applies a partial update, if the precondition holds. A new name or slug changes
/// how every article in the section reads: each gets a new version and revision
/// (set-based, as a tag rename). A patch that changes nothing keeps the version.
pub async fn update(
    conn: &mut AsyncPgConnection,
    key: &SectionKey,
    patch: &SectionPatch,
    write: &Write,
) -> AppResult<Section> {
    let patch = patch.validate()?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write).await?;
        let record = patch.apply_to(&current);
        if record.name == current.name
            && record.slug == current.slug
            && record.description == current.description
        {
            return Ok(current);
        }
        let touched = if record.name != current.name || record.slug != current.slug {
            touch_articles_in(conn, current.id).await?
        } else {
            Vec::new()
        };
        let section = diesel::update(sections::table.filter(sections::id.eq(current.id)))
            .set((
                sections::slug.eq(&record.slug),
                sections::name.eq(&record.name),
                sections::description.eq(&record.description),
                sections::version.eq(sections::version + 1),
                sections::updated_at.eq(diesel::dsl::now),
                sections::updated_by.eq(write.actor),
            ))
            .returning(Section::as_returning())
            .get_result(conn)
            .await
            .map_err(on_clash(&record))?;
        record_revisions(conn, &touched, write.actor).await?;
        Ok(section)
    })
    .await
}

/// Bumps the version of every article in the section (locked in id order, so two
/// such writes wait for each other instead of deadlocking); their ids.
async fn touch_articles_in(conn: &mut AsyncPgConnection, section_id: Uuid) -> AppResult<Vec<Uuid>> {
    let ids: Vec<Uuid> = articles::table
        .filter(articles::section_id.eq(section_id))
        .select(articles::id)
        .order(articles::id)
        .for_no_key_update()
        .load(conn)
        .await?;
    bump_versions(conn, &ids).await?;
    Ok(ids)
}

/// Deletes a section, if the precondition holds and no article (trashed ones and
/// pending changes included) is in it: 409 saying how many are.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    key: &SectionKey,
    write: &Write,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write).await?;
        let in_it: i64 = articles::table
            .filter(articles::section_id.eq(current.id))
            .count()
            .get_result(conn)
            .await?;
        if in_it > 0 {
            return Err(AppError::Conflict(format!(
                "{in_it} article(s) are in the section `{}` (trashed ones and pending changes \
                 count); move them to another section or none first (restore trashed ones \
                 to move them, or purge them).",
                current.slug
            )));
        }
        diesel::delete(sections::table.filter(sections::id.eq(current.id)))
            .execute(conn)
            .await
            .map_err(|error| match error {
                diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                    _,
                ) => AppError::Conflict(
                    "An article was just put in this section; move it first.".into(),
                ),
                other => other.into(),
            })?;
        Ok(())
    })
    .await
}
