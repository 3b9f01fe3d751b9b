//! The tags of an article: an ordered set, referenced by slug or name when written
//! (unknown names create the tag).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::content::articles::{self, ArticleKey, Audience};
use crate::content::positions::{self, Siblings};
use crate::content::precondition::Write;
use crate::content::slug::Slug;
use crate::content::tags::{self as tag_content, TagRef, TagReference, MAX_NAME_LEN};
use crate::content::text;
use crate::db::schema::{article_tags, tags};
use crate::error::{AppError, AppResult, FieldError};

pub const MAX_TAGS: usize = 50;

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// Finds the tags that `references` name (by slug, else by name ignoring case),
/// creating those that do not exist. Returns their ids in order, without repeats.
/// Two queries whatever the number of tags (three when some are new).
pub(crate) async fn resolve(
    conn: &mut AsyncPgConnection,
    references: &[String],
) -> AppResult<Vec<Uuid>> {
    if references.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<(String, String)> = references
        .iter()
        .map(|r| {
            let name = r.trim().to_string();
            let slug = Slug::parse(&name)
                .unwrap_or_else(|_| Slug::derive_or_fallback(&name, "tag"))
                .into_string();
            (name, slug)
        })
        .collect();
    let slugs: Vec<String> = wanted.iter().map(|(_, s)| s.clone()).collect();
    let lower_names: Vec<String> = wanted.iter().map(|(n, _)| n.to_lowercase()).collect();
    let existing: Vec<(Uuid, String, String)> = tags::table
        .filter(
            tags::slug
                .eq_any(&slugs)
                .or(lower(tags::name).eq_any(&lower_names)),
        )
        .select((tags::id, tags::slug, tags::name))
        .load(conn)
        .await?;
    let find = |name: &str, slug: &str, existing: &[(Uuid, String, String)]| {
        existing
            .iter()
            .find(|(_, s, _)| s == name || s == slug)
            .or_else(|| {
                existing
                    .iter()
                    .find(|(_, _, n)| n.to_lowercase() == name.to_lowercase())
            })
            .map(|(id, _, _)| *id)
    };
    let missing: Vec<&(String, String)> = wanted
        .iter()
        .filter(|(name, slug)| find(name, slug, &existing).is_none())
        .collect();
    let mut all = existing;
    if !missing.is_empty() {
        let rows: Vec<_> = missing
            .iter()
            .map(|(name, slug)| {
                (
                    tags::id.eq(Uuid::now_v7()),
                    tags::slug.eq(slug.clone()),
                    tags::name.eq(name.clone()),
                )
            })
            .collect();
        // Another writer may create the same tag meanwhile: take theirs.
        diesel::insert_into(tags::table)
            .values(rows)
            .on_conflict(tags::slug)
            .do_nothing()
            .execute(conn)
            .await?;
        let missing_slugs: Vec<String> = missing.iter().map(|(_, s)| s.clone()).collect();
        let created: Vec<(Uuid, String, String)> = tags::table
            .filter(tags::slug.eq_any(&missing_slugs))
            .select((tags::id, tags::slug, tags::name))
            .load(conn)
            .await?;
        all.extend(created);
    }
    let mut ids = Vec::with_capacity(wanted.len());
    for (name, slug) in &wanted {
        if let Some(id) = find(name, slug, &all) {
            if !ids.contains(&id) {
                ids.push(id);
            }
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
    }
    references
        .iter()
        .enumerate()
        .map(|(i, r)| text::line(&format!("tags[{i}]"), &r.0, MAX_NAME_LEN, errors))
        .collect()
}

async fn tags_of(conn: &mut AsyncPgConnection, article_id: Uuid) -> AppResult<Vec<TagRef>> {
    Ok(load(conn, &[article_id])
        .await?
        .remove(&article_id)
        .unwrap_or_default())
}

/// The article's tags, with its version.
pub async fn list_all(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    audience: Audience,
) -> AppResult<(Vec<TagRef>, i32)> {
    let (article_id, version) = articles::version(conn, key, audience).await?;
    Ok((tags_of(conn, article_id).await?, version))
}

/// Replaces (and so reorders) the article's tags.
pub async fn set(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    references: &[TagReference],
    write: &Write,
) -> AppResult<(Vec<TagRef>, i32)> {
    let mut errors = Vec::new();
    let names = validate_references(references, &mut errors);
    text::checked((), errors)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = articles::lock(conn, key, write).await?;
        let ids = resolve(conn, &names).await?;
        replace(conn, article.id, &ids).await?;
        let row = articles::touch(conn, article.id, write).await?;
        Ok((tags_of(conn, article.id).await?, row.version))
    })
    .await
}

/// Adds one tag (at `position`, default last); adding a tag it has moves it there.
pub async fn add(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    reference: &str,
    position: Option<i32>,
    write: &Write,
) -> AppResult<(Vec<TagRef>, i32)> {
    let mut errors = Vec::new();
    let name = text::line("tag", reference, MAX_NAME_LEN, &mut errors);
    text::checked((), errors)?;
    positions::check_position(position)?;
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = articles::lock(conn, key, write).await?;
        let current: Vec<Uuid> = tags_of(conn, article.id)
            .await?
            .iter()
            .map(|t| t.id)
            .collect();
        let ids = resolve(conn, std::slice::from_ref(&name)).await?;
        let Some(tag_id) = ids.into_iter().next() else {
            return Err(AppError::Internal(
                "a tag reference resolved to nothing".into(),
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
        // Appending at a free position, then renumbering, keeps positions unique.
        if !current.contains(&tag_id) {
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
        let row = articles::touch(conn, article.id, write).await?;
        Ok((tags_of(conn, article.id).await?, row.version))
    })
    .await
}

/// Removes a tag from the article (the tag itself stays).
pub async fn remove(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    tag: &tag_content::TagKey,
    write: &Write,
) -> AppResult<i32> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let article = articles::lock(conn, key, write).await?;
        let tag_id = tag_content::find(conn, tag).await?.id;
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
        Ok(articles::touch(conn, article.id, write).await?.version)
    })
    .await
}
