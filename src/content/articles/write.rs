//! Writing whole articles: create, replace, update, delete, each in one transaction
//! through the write hook.

use chrono::Utc;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::body::{self, Unknown};
use super::input::*;
use super::read::find;
use super::types::*;
use crate::content::article_access::{
    after_write, lock, not_found, touch, ArticleKey, ArticleRow, Audience,
};
use crate::content::article_status::StoredStatus;
use crate::content::media::{self, ValidLeadImage};
use crate::content::precondition::Write;
use crate::content::slug::{Key, Slug};
use crate::content::{
    article_authors, article_tags, authors, citations, events, key_points, markdown, sections,
    translations,
};
use crate::db::schema::articles;
use crate::error::{conflict_on, AppError, AppResult, FieldError};

/// Creates a whole article with its parts, in one transaction.
/// `default_language` is the language of an article that names none.
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: &ArticleInput,
    default_language: &str,
    write: &Write,
) -> AppResult<Article> {
    let mut valid = input.validate(Utc::now())?;
    valid.fields.rendered = Some(body::render(conn, &valid.fields.body, Unknown::Refused).await?);
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let (status, published_at) = valid.status.unwrap_or((StoredStatus::Draft, None));
            let fields = &valid.fields;
            let slug = claim_slug(conn, &fields.slug, fields.slug_derived, None).await?;
            let row = diesel::insert_into(articles::table)
                .values((
                    articles::id.eq(Uuid::now_v7()),
                    articles::slug.eq(&slug),
                    articles::title.eq(&fields.title),
                    articles::standfirst.eq(&fields.standfirst),
                    articles::body.eq(&fields.body),
                    articles::body_html.eq(fields.rendered.as_ref().map(|r| &r.html)),
                    articles::lead_text.eq(fields.rendered.as_ref().map(|r| &r.lead)),
                    articles::word_count.eq(fields.rendered.as_ref().map(|r| r.word_count)),
                    articles::language.eq(fields.language.as_deref().unwrap_or(default_language)),
                    articles::status.eq(&status),
                    articles::published_at.eq(published_at),
                    articles::created_by.eq(write.actor),
                    articles::updated_by.eq(write.actor),
                ))
                .returning(ArticleRow::as_returning())
                .get_result(conn)
                .await
                .map_err(conflict_on("articles_slug_key", || {
                    format!("An article with the slug `{slug}` already exists.")
                }))?;
            let rendered = fields.rendered.as_ref();
            media::show_in_body(conn, row.id, rendered.map_or(&[], |r| &r.media)).await?;
            write_parts(conn, row.id, &valid, false, write).await?;
            after_write(conn, &row, write).await?;
            Ok(row.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// How many numbered variants (`slug-2` to `slug-21`) are looked up at once for a
/// free slug; past them a random suffix is used.
const SLUG_VARIANTS: usize = 20;

/// The slug to store: `wanted` when no other article has it; when it is taken,
/// the first free `wanted-2`, `wanted-3`... if it was derived from the title, and
/// otherwise a 409 that names the `slug` field and a free one. Writes claiming the
/// same slug wait for each other (a transaction-scoped advisory lock), so two of them
/// never pick the same free one.
async fn claim_slug(
    conn: &mut AsyncPgConnection,
    wanted: &str,
    derived: bool,
    own_id: Option<Uuid>,
) -> AppResult<String> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
        .bind::<diesel::sql_types::Text, _>(wanted)
        .execute(conn)
        .await?;
    let candidates: Vec<String> = std::iter::once(wanted.to_string())
        .chain((2..SLUG_VARIANTS + 2).map(|n| Slug::numbered_variant(wanted, n)))
        .collect();
    let holders: Vec<(String, Uuid)> = articles::table
        .filter(articles::slug.eq_any(&candidates))
        .select((articles::slug, articles::id))
        .load(conn)
        .await?;
    // Free for this article: no other article holds it (its own slug is its own).
    let free_for_it = |slug: &String| {
        !holders
            .iter()
            .any(|(s, id)| s == slug && Some(*id) != own_id)
    };
    // Derived again from the same title, an article keeps the slug it holds (its
    // links stay), even when a lower number has come free.
    let own = holders.iter().find(|(_, id)| Some(*id) == own_id);
    if let (true, Some((slug, _))) = (derived, own) {
        return Ok(slug.clone());
    }
    if free_for_it(&candidates[0]) {
        return Ok(wanted.to_string());
    }
    if derived {
        let free = candidates.iter().skip(1).find(|c| free_for_it(c)).cloned();
        return Ok(free.unwrap_or_else(|| Slug::unique_variant(wanted).into_string()));
    }
    // A suggestion is a slug nobody holds, this article included.
    let free = candidates
        .iter()
        .skip(1)
        .find(|candidate| !holders.iter().any(|(slug, _)| slug == *candidate))
        .cloned()
        .unwrap_or_else(|| Slug::unique_variant(wanted).into_string());
    Err(AppError::FieldConflict {
        detail: format!("An article with the slug `{wanted}` already exists; `{free}` is free."),
        error: FieldError::new("slug", format!("is taken; `{free}` is free")),
    })
}

/// Writes the parts a whole-article write carries, replacing what was there.
pub(super) async fn write_parts(
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
    match &valid.section {
        // A new article is in no section until it is put in one.
        Some(None) if !replace => {}
        Some(section) => {
            let section_id = match section {
                Some(slug) => Some(sections::resolve(conn, slug).await?),
                None => None,
            };
            diesel::update(articles::table.filter(articles::id.eq(id)))
                .set(articles::section_id.eq(section_id))
                .execute(conn)
                .await?;
        }
        None => {}
    }
    if let Some(slugs) = &valid.authors {
        // A new article has no byline to clear.
        if replace || !slugs.is_empty() {
            let author_ids = authors::resolve(conn, slugs).await?;
            article_authors::replace(conn, id, &author_ids).await?;
        }
    }
    if let Some(seo) = &valid.seo {
        diesel::update(articles::table.filter(articles::id.eq(id)))
            .set(articles::seo.eq(serde_json::to_value(seo).unwrap_or_default()))
            .execute(conn)
            .await?;
    }
    match &valid.lead_image {
        // A new article has no lead image until it is given one.
        Some(None) if !replace => {}
        Some(image) => {
            if let Some(image) = image {
                media::hold(conn, image.media, "lead_image.media").await?;
            }
            set_lead_image(conn, id, image.as_ref()).await?;
        }
        None => {}
    }
    match &valid.translation_of {
        Some(Some(of)) => translations::join(conn, id, of).await?,
        Some(None) => translations::leave(conn, id).await?,
        None => {}
    }
    Ok(())
}

async fn set_lead_image(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    image: Option<&ValidLeadImage>,
) -> AppResult<()> {
    diesel::update(articles::table.filter(articles::id.eq(id)))
        .set((
            articles::lead_image_id.eq(image.map(|i| i.media)),
            articles::lead_image_caption.eq(image.and_then(|i| i.caption.as_deref())),
            articles::lead_image_credit.eq(image.and_then(|i| i.credit.as_deref())),
        ))
        .execute(conn)
        .await?;
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
    valid.fields.rendered = Some(body::render(conn, &valid.fields.body, Unknown::Refused).await?);
    valid.key_point_lists.get_or_insert_with(Vec::new);
    valid.citations.get_or_insert_with(Vec::new);
    valid.tags.get_or_insert_with(Vec::new);
    valid.authors.get_or_insert_with(Vec::new);
    valid.seo.get_or_insert_with(Default::default);
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
            update_fields(conn, &current, &valid).await?;
            write_parts(conn, current.id, &valid, true, write).await?;
            touch(conn, current.id, write).await?;
            Ok(current.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

pub(super) async fn update_fields(
    conn: &mut AsyncPgConnection,
    current: &ArticleRow,
    valid: &ValidArticle,
) -> AppResult<()> {
    let fields = &valid.fields;
    let id = current.id;
    // Its own slug, kept, needs no claim.
    let slug = if fields.slug == current.slug {
        fields.slug.clone()
    } else {
        claim_slug(conn, &fields.slug, fields.slug_derived, Some(id)).await?
    };
    let target = articles::table.filter(articles::id.eq(id));
    diesel::update(target)
        .set((
            articles::slug.eq(&slug),
            articles::title.eq(&fields.title),
            articles::standfirst.eq(&fields.standfirst),
            articles::body.eq(&fields.body),
        ))
        .execute(conn)
        .await
        .map_err(conflict_on("articles_slug_key", || {
            format!("An article with the slug `{slug}` already exists.")
        }))?;
    if let Some(language) = &fields.language {
        diesel::update(target)
            .set(articles::language.eq(language))
            .execute(conn)
            .await
            .map_err(translations::on_clash())?;
    }
    if let Some(rendered) = &fields.rendered {
        diesel::update(target)
            .set((
                articles::body_html.eq(&rendered.html),
                articles::lead_text.eq(&rendered.lead),
                articles::word_count.eq(rendered.word_count),
            ))
            .execute(conn)
            .await?;
        media::show_in_body(conn, id, &rendered.media).await?;
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
    let rendered = match &patch.body {
        Some(body) => Some(body::render(conn, body, Unknown::Refused).await?),
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
            valid.fields.rendered = rendered;
            update_fields(conn, &current, &valid).await?;
            write_parts(conn, current.id, &valid, true, write).await?;
            touch(conn, current.id, write).await?;
            Ok(current.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// Moves an article to the trash: gone from every read and list, and from writes,
/// until it is restored; its parts, tags, revisions and slug stay. Its version does
/// not change (its content does not).
pub async fn delete(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = lock(conn, key, write).await?;
        diesel::update(articles::table.filter(articles::id.eq(current.id)))
            .set((
                articles::trashed_at.eq(diesel::dsl::now),
                articles::trashed_by.eq(write.actor),
            ))
            .execute(conn)
            .await?;
        events::articles_changed(conn, &[current.id], Some("article.trashed")).await?;
        Ok(())
    })
    .await
}

/// Makes an article what `recorded` (a revision of it) was: fields and every part,
/// parts with their recorded ids, tags by id (or by name when deleted since). Its
/// status stays: restoring content must not unpublish or publish it. A new version
/// and revision; the history is not rewritten.
pub(super) async fn restore_recorded(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    recorded: &Article,
    write: &Write,
) -> AppResult<Article> {
    // Rendered before the article is locked: a long body must not hold its lock.
    let recorded_body = recorded.body.as_deref().unwrap_or_default();
    let rendered = body::render(conn, recorded_body, Unknown::LeftOut).await?;
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let current = lock(conn, key, write).await?;
            if current.id != recorded.id {
                // The key now names another article (its slug moved meanwhile).
                return Err(not_found());
            }
            apply_recorded(conn, &current, recorded, &rendered, write).await?;
            Ok(current.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// Inside a transaction that holds `current`, writes `recorded`'s content onto it
/// (fields, `rendered` from its body, parts with their ids, tags), then
/// touches it. The parts' ids must be free: a revision's, once the article's own
/// parts are gone, or those of a copy deleted first.
pub(super) async fn apply_recorded(
    conn: &mut AsyncPgConnection,
    current: &ArticleRow,
    recorded: &Article,
    rendered: &markdown::RenderedBody,
    write: &Write,
) -> AppResult<ArticleRow> {
    let body = recorded.body.clone().unwrap_or_default();
    let slug = if recorded.slug == current.slug {
        current.slug.clone()
    } else {
        claim_slug(conn, &recorded.slug, false, Some(current.id)).await?
    };
    diesel::update(articles::table.filter(articles::id.eq(current.id)))
        .set((
            articles::slug.eq(&slug),
            articles::title.eq(&recorded.title),
            articles::standfirst.eq(&recorded.standfirst),
            articles::body.eq(&body),
            articles::body_html.eq(&rendered.html),
            articles::lead_text.eq(&rendered.lead),
            articles::word_count.eq(rendered.word_count),
        ))
        .execute(conn)
        .await?;
    media::show_in_body(conn, current.id, &rendered.media).await?;
    // Revisions recorded before articles had a language keep the current one.
    if !recorded.language.is_empty() {
        diesel::update(articles::table.filter(articles::id.eq(current.id)))
            .set(articles::language.eq(&recorded.language))
            .execute(conn)
            .await
            .map_err(translations::on_clash())?;
    }
    // Its translation group is a link between articles, not content: it stays.
    diesel::update(articles::table.filter(articles::id.eq(current.id)))
        .set(articles::seo.eq(serde_json::to_value(&recorded.seo).unwrap_or_default()))
        .execute(conn)
        .await?;
    key_points::delete_all(conn, current.id).await?;
    let lists = recorded.key_point_lists.as_deref().unwrap_or_default();
    key_points::restore_lists(conn, current.id, lists).await?;
    citations::delete_all(conn, current.id).await?;
    let all = recorded.citations.as_deref().unwrap_or_default();
    citations::restore_all(conn, current.id, all).await?;
    let tag_ids = article_tags::resolve_recorded(conn, &recorded.tags, write.actor).await?;
    article_tags::replace(conn, current.id, &tag_ids).await?;
    // A section deleted since is not recreated: the article is then in none.
    let section_id = match &recorded.section {
        Some(section) => sections::still_there(conn, section).await?,
        None => None,
    };
    if section_id != current.section_id {
        diesel::update(articles::table.filter(articles::id.eq(current.id)))
            .set(articles::section_id.eq(section_id))
            .execute(conn)
            .await?;
    }
    // An image deleted since is not put back; the caption and credit shown then
    // are kept as the article's own.
    let lead_image = match &recorded.lead_image {
        Some(image) if media::still_there(conn, image.id).await? => Some(ValidLeadImage {
            media: image.id,
            caption: image.caption.clone(),
            credit: image.credit.clone(),
        }),
        _ => None,
    };
    set_lead_image(conn, current.id, lead_image.as_ref()).await?;
    // Authors deleted since drop out of the byline.
    let author_ids = authors::still_there(conn, &recorded.authors).await?;
    article_authors::replace(conn, current.id, &author_ids).await?;
    touch(conn, current.id, write).await
}
