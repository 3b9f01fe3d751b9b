//! Translations: the same story in several languages, each its own article with
//! its own workflow, joined in a group. Reads list the others (for `hreflang`
//! links); a group holds at most one live article per language.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_status::StoredStatus;
use crate::content::slug::Key;
use crate::db::schema::articles;
use crate::error::{AppError, AppResult, FieldError};

/// Another language's version of the story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TranslationRef {
    pub id: Uuid,
    #[schema(example = "mongolia-looks-to-south-korea-ko")]
    pub slug: String,
    /// BCP 47, for `hreflang`.
    #[schema(example = "ko")]
    pub language: String,
    pub title: String,
}

/// A member of the group as the article row reads it.
#[derive(Deserialize)]
struct Member {
    id: Uuid,
    slug: String,
    language: String,
    title: String,
    status: String,
    published_at: Option<DateTime<Utc>>,
}

/// The other articles of the group (as the row's JSON has them), by language:
/// every one for editors (`live_at: None`), else those published by `live_at`.
pub(crate) fn visible(
    members: &serde_json::Value,
    live_at: Option<DateTime<Utc>>,
) -> Vec<TranslationRef> {
    let members: Vec<Member> = Vec::<Member>::deserialize(members).unwrap_or_default();
    members
        .into_iter()
        .filter(|m| match live_at {
            None => true,
            Some(now) => {
                m.status == StoredStatus::Published.as_str()
                    && m.published_at.is_some_and(|at| at <= now)
            }
        })
        .map(|m| TranslationRef {
            id: m.id,
            slug: m.slug,
            language: m.language,
            title: m.title,
        })
        .collect()
}

/// The other members of the row's group, with what decides who sees them (read
/// with the row: no query of its own).
pub(crate) const TRANSLATIONS_OF_ROW: &str = "COALESCE((SELECT jsonb_agg(jsonb_build_object(\
     'id', t.id, 'slug', t.slug, 'language', t.language, 'title', t.title, \
     'status', t.status, 'published_at', t.published_at) ORDER BY t.language, t.id) \
     FROM articles t WHERE t.translation_group = articles.translation_group \
     AND t.id <> articles.id AND t.trashed_at IS NULL AND t.pending_for IS NULL), '[]'::jsonb)";

/// Maps a second article in one language of a group to 409.
pub(crate) fn on_clash() -> impl FnOnce(diesel::result::Error) -> AppError {
    crate::error::conflict_on("articles_translation_language_key", || {
        "Its translation group already has an article in this language (a group holds \
         one per language); change the language or leave the group first."
            .into()
    })
}

fn invalid(message: &str) -> AppError {
    AppError::Validation(vec![FieldError::new("translation_of", message)])
}

/// Puts article `id` in the translation group of the article
/// `of` names, starting a group when it has none.
pub(crate) async fn join(conn: &mut AsyncPgConnection, id: Uuid, of: &str) -> AppResult<()> {
    let named: Option<Uuid> = match Key::parse(of) {
        Some(Key::Id(target)) => Some(target),
        Some(Key::Slug(slug)) => articles::table
            .filter(articles::slug.eq(slug.as_str()))
            .select(articles::id)
            .first(conn)
            .await
            .optional()?,
        None => return Err(invalid("must be an article's id or slug")),
    };
    let target: Option<Option<Uuid>> = match named {
        Some(target_id) => articles::table
            .filter(articles::id.eq(target_id))
            .filter(articles::trashed_at.is_null())
            .filter(articles::pending_for.is_null())
            .select(articles::translation_group)
            .for_no_key_update()
            .first(conn)
            .await
            .optional()?,
        None => None,
    };
    let (Some(target_id), Some(group)) = (named, target) else {
        return Err(invalid("no article has this id or slug"));
    };
    if target_id == id {
        return Err(invalid("an article is not a translation of itself"));
    }
    let group = match group {
        Some(group) => group,
        None => {
            // A group is named after the article it started from.
            diesel::update(articles::table.filter(articles::id.eq(target_id)))
                .set(articles::translation_group.eq(target_id))
                .execute(conn)
                .await?;
            target_id
        }
    };
    diesel::update(articles::table.filter(articles::id.eq(id)))
        .set(articles::translation_group.eq(group))
        .execute(conn)
        .await
        .map_err(on_clash())?;
    Ok(())
}

/// Takes article `id` out of its translation group.
pub(crate) async fn leave(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<()> {
    diesel::update(articles::table.filter(articles::id.eq(id)))
        .set(articles::translation_group.eq(None::<Uuid>))
        .execute(conn)
        .await?;
    Ok(())
}

/// A hash of the translations a reader sees: part of the article's entity tag, so
/// that a translation published, renamed or added changes it (0 for none, so tags
/// of articles without translations stay as they were).
pub(crate) fn fingerprint(translations: &[TranslationRef]) -> u64 {
    if translations.is_empty() {
        return 0;
    }
    let mut bytes = Vec::new();
    for t in translations {
        bytes.extend_from_slice(t.id.as_bytes());
        for text in [&t.slug, &t.language, &t.title] {
            bytes.extend_from_slice(text.as_bytes());
            bytes.push(0);
        }
    }
    xxhash_rust::xxh3::xxh3_64(&bytes)
}
