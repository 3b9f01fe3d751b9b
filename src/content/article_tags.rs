//! The tags of an article: an ordered set, referenced by slug or name when written
//! (unknown names create the tag).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::content::article_access::{self, ArticleKey, Audience};
use crate::content::positions::{self, Siblings};
use crate::content::precondition::{EntityState, Write};
use crate::content::slug::Slug;
use crate::content::tags::{self as tag_content, TagRef, TagReference};
use crate::content::text;
use crate::db::schema::{article_tags, tags};
use crate::error::{AppError, AppResult, FieldError};

pub const MAX_TAGS: usize = 50;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A tag as an article write names it.
struct Reference {
    name: String,
    /// The reference itself, when it is a valid slug: it may name a tag by slug.
    as_slug: Option<String>,
    /// The slug a new tag of this name gets.
    derived: String,
}

impl Reference {
    fn new(reference: &str) -> Reference {
        let name = reference.trim().to_string();
        Reference {
            as_slug: Slug::parse(&name).ok().map(Slug::into_string),
            derived: Slug::derive_or_fallback(&name, "tag").into_string(),
            name,
        }
    }

    /// The tag among `known` (id, slug, name) this names: by slug, else by name
    /// ignoring case. Never by a derived slug: "C++" must not find the "C#" of `c`.
    fn find(&self, known: &[(Uuid, String, String)]) -> Option<Uuid> {
        let by_slug = self
            .as_slug
            .as_ref()
            .and_then(|slug| known.iter().find(|(_, s, _)| s == slug));
        let lower = self.name.to_lowercase();
        by_slug
            .or_else(|| known.iter().find(|(_, _, n)| n.to_lowercase() == lower))
            .map(|(id, _, _)| *id)
    }
}

/// Finds the tags that `references` name (by slug, else by name ignoring case),
/// creating those that do not exist (recording `actor` as their author). Returns
/// their ids in order, without repeats. The tags found are locked against deletion
/// until the transaction ends. Two queries (three when some are new).
pub(crate) async fn resolve(
    conn: &mut AsyncPgConnection,
    references: &[String],
    actor: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    if references.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<Reference> = references.iter().map(|r| Reference::new(r)).collect();
    let slugs: Vec<String> = wanted
        .iter()
        .flat_map(|r| r.as_slug.iter().chain([&r.derived]))
        .cloned()
        .collect();
    let lower_names: Vec<String> = wanted.iter().map(|r| r.name.to_lowercase()).collect();
    let mut known: Vec<(Uuid, String, String)> = tags::table
        .filter(
            tags::slug
                .eq_any(&slugs)
                .or(lower(tags::name).eq_any(&lower_names)),
        )
        .select((tags::id, tags::slug, tags::name))
        .for_key_share()
        .load(conn)
        .await?;

    // New tags, one per name, in slug order (so that two writers creating the same
    // tags always insert them in the same order and cannot deadlock).
    let mut new: Vec<(String, String)> = Vec::new();
    for reference in wanted.iter().filter(|r| r.find(&known).is_none()) {
        let lower = reference.name.to_lowercase();
        if new.iter().any(|(name, _)| name.to_lowercase() == lower) {
            continue;
        }
        let taken = |slug: &str| {
            known.iter().any(|(_, s, _)| s == slug) || new.iter().any(|(_, s)| s == slug)
        };
        let slug = if taken(&reference.derived) {
            Slug::unique_variant(&reference.derived).into_string()
        } else {
            reference.derived.clone()
        };
        new.push((reference.name.clone(), slug));
    }
    if !new.is_empty() {
        new.sort_by(|a, b| a.1.cmp(&b.1));
        let rows: Vec<_> = new
            .iter()
            .map(|(name, slug)| {
                (
                    tags::id.eq(Uuid::now_v7()),
                    tags::slug.eq(slug.clone()),
                    tags::name.eq(name.clone()),
                    tags::created_by.eq(actor),
                    tags::updated_by.eq(actor),
                )
            })
            .collect();
        // Another writer may create the same tag meanwhile (same slug, or same name
        // in any case): the insert waits for it and skips the row, and the select
        // below takes theirs. One name gives one tag, however many writers race.
        // Their `tag.created` events come with the article's, at the end of the
        // write (`record_article_events`).
        diesel::insert_into(tags::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        let new_slugs: Vec<String> = new.iter().map(|(_, s)| s.clone()).collect();
        let new_names: Vec<String> = new.iter().map(|(n, _)| n.to_lowercase()).collect();
        let created: Vec<(Uuid, String, String)> = tags::table
            .filter(
                tags::slug
                    .eq_any(&new_slugs)
                    .or(lower(tags::name).eq_any(&new_names)),
            )
            .select((tags::id, tags::slug, tags::name))
            .for_key_share()
            .load(conn)
            .await?;
        known.extend(created);
    }
    let mut ids = Vec::with_capacity(wanted.len());
    for reference in &wanted {
        let id = reference.find(&known).ok_or_else(|| {
            AppError::Conflict(format!(
                "The tag `{}` was changed by someone else meanwhile; retry.",
                reference.name
            ))
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The tags a revision recorded, as they can be attached now: each by its id while
/// it exists, else (deleted since) by its name, which creates it again.
pub(crate) async fn resolve_recorded(
    conn: &mut AsyncPgConnection,
    recorded: &[TagRef],
    actor: Option<Uuid>,
) -> AppResult<Vec<Uuid>> {
    let recorded_ids: Vec<Uuid> = recorded.iter().map(|t| t.id).collect();
    let existing: Vec<Uuid> = tags::table
        .filter(tags::id.eq_any(&recorded_ids))
        .select(tags::id)
        .for_key_share()
        .load(conn)
        .await?;
    let gone: Vec<String> = recorded
        .iter()
        .filter(|t| !existing.contains(&t.id))
        .map(|t| t.name.clone())
        .collect();
    let mut recreated = resolve(conn, &gone, actor).await?.into_iter();
    let mut ids = Vec::with_capacity(recorded.len());
    for tag in recorded {
        let id = if existing.contains(&tag.id) {
            Some(tag.id)
        } else {
            recreated.next()
        };
        if let Some(id) = id.filter(|id| !ids.contains(id)) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// Makes `tag_ids` (in order) the article's tags.
pub(crate) async fn replace(
    conn: &mut AsyncPgConnection,
    article_id: Uuid,
    tag_ids: &[Uuid],
) -> AppResult<()> {
    diesel::delete(article_tags::table.filter(article_tags::article_id.eq(article_id)))
        .execute(conn)
        .await?;
    if tag_ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = tag_ids
        .iter()
        .enumerate()
        .map(|(i, tag_id)| {
            (
                article_tags::article_id.eq(article_id),
                article_tags::tag_id.eq(*tag_id),
                article_tags::position.eq(i as i32),
            )
        })
        .collect();
    diesel::insert_into(article_tags::table)
        .values(rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// The tags of many articles at once, in each article's order: one query.
pub(crate) async fn load(
    conn: &mut AsyncPgConnection,
    article_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<TagRef>>> {
    let rows: Vec<(Uuid, TagRef)> = article_tags::table
        .inner_join(tags::table)
        .filter(article_tags::article_id.eq_any(article_ids))
        .order((article_tags::article_id, article_tags::position))
        .select((article_tags::article_id, TagRef::as_select()))
        .load(conn)
        .await?;
    let mut by_article: HashMap<Uuid, Vec<TagRef>> = HashMap::new();
    for (article_id, tag) in rows {
        by_article.entry(article_id).or_default().push(tag);
    }
    Ok(by_article)
}

/// Validates the tag references of a write (`tags[i]`).
pub(crate) fn validate_references(
    references: &[TagReference],
    errors: &mut Vec<FieldError>,
) -> Vec<String> {
    if references.len() > MAX_TAGS {
        errors.push(FieldError::new(
            "tags",
            format!("must have at most {MAX_TAGS} tags"),
        ));
        return Vec::new();
    }
    references
        .iter()
        .enumerate()
        .map(|(i, r)| r.check(&format!("tags[{i}]"), errors))
        .collect()
}

async fn tags_of(conn: &mut AsyncPgConnection, article_id: Uuid) -> AppResult<Vec<TagRef>> {
    Ok(load(conn, &[article_id])
        .await?
        .remove(&article_id)
        .unwrap_or_default())
}

/// The article's tags, with its state.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Vec<TagRef>, EntityState)> {
    let state = article_access::state(conn, key, audience).await?;
    let article_id = state.id;
    Ok((tags_of(conn, article_id).await?, state))
}

/// Replaces (and so reorders) the article's tags.
pub async fn set(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    references: &[TagReference],
    write: &Write,
) -> AppResult<(Vec<TagRef>, EntityState)> {
    let mut errors = Vec::new();
    let names = validate_references(references, &mut errors);
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let ids = resolve(conn, &names, write.actor).await?;
        replace(conn, article.id, &ids).await?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((tags_of(conn, article.id).await?, row.state()))
    })
    .await
}

/// Adds one tag (at `position`, default last); adding a tag it has moves it there.
pub async fn add(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    reference: &TagReference,
    position: Option<i32>,
    write: &Write,
) -> AppResult<(Vec<TagRef>, EntityState)> {
    let mut errors = Vec::new();
    let name = reference.check("tag", &mut errors);
    text::checked((), errors)?;
    positions::check_position(position)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let current: Vec<Uuid> = tags_of(conn, article.id)
            .await?
            .iter()
            .map(|t| t.id)
            .collect();
        let ids = resolve(conn, std::slice::from_ref(&name), write.actor).await?;
        let Some(tag_id) = ids.into_iter().next() else {
            return Err(AppError::Conflict(
                "The tag changed meanwhile; retry.".into(),
            ));
        };
        let others = current.iter().filter(|id| **id != tag_id).count();
        if others >= MAX_TAGS {
            return Err(AppError::Conflict(format!(
                "The article already has {MAX_TAGS} tags, the most it may have."
            )));
        }
        let position = positions::clamp_position(position, others);
        let order = positions::moved(&current, tag_id, position);
        // Deleting a tag leaves a gap in the positions of its articles: close the
        // gaps, append at the free end, then put everything in its place.
        if !current.contains(&tag_id) {
            let siblings = Siblings::ArticleTags {
                article_id: article.id,
            };
            positions::renumber(conn, siblings, &current).await?;
            diesel::insert_into(article_tags::table)
                .values((
                    article_tags::article_id.eq(article.id),
                    article_tags::tag_id.eq(tag_id),
                    article_tags::position.eq(current.len() as i32),
                ))
                .execute(conn)
                .await?;
        }
        positions::renumber(
            conn,
            Siblings::ArticleTags {
                article_id: article.id,
            },
            &order,
        )
        .await?;
        let row = article_access::touch(conn, article.id, write).await?;
        Ok((tags_of(conn, article.id).await?, row.state()))
    })
    .await
}

/// Removes a tag from the article (the tag itself stays).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    tag: &tag_content::TagKey,
    write: &Write,
) -> AppResult<EntityState> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = article_access::lock(conn, key, write).await?;
        let tag_id = tag_content::find(conn, tag, Audience::Editors).await?.id;
        let deleted = diesel::delete(
            article_tags::table
                .filter(article_tags::article_id.eq(article.id))
                .filter(article_tags::tag_id.eq(tag_id)),
        )
        .execute(conn)
        .await?;
        if deleted == 0 {
            return Err(AppError::NotFound(
                "The article does not have this tag.".into(),
            ));
        }
        let remaining: Vec<Uuid> = tags_of(conn, article.id)
            .await?
            .iter()
            .map(|t| t.id)
            .collect();
        positions::renumber(
            conn,
            Siblings::ArticleTags {
                article_id: article.id,
            },
            &remaining,
        )
        .await?;
        Ok(article_access::touch(conn, article.id, write)
            .await?
            .state())
    })
    .await
}
