//! Pending changes to a live article: edits saved (versioned, with revisions) on a
//! hidden copy of the article, which no read, list or public request shows, until
//! they are published onto the article (at once, or at a set time) or discarded.
//! The copy is an article row of its own (`pending_for` names the live one), so
//! its parts, versions and revisions work as an article's do.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::body::{self, Unknown};
use super::read::{assemble, find};
use super::types::*;
use super::write::{apply_recorded, update_fields, write_parts};
use crate::content::article_access::{
    after_write, lock, not_found, touch, ArticleKey, ArticleRow, Audience,
};
use crate::content::article_status::StoredStatus;
use crate::content::citations::CitationInput;
use crate::content::key_points::KeyPointListInput;
use crate::content::language::LanguageInput;
use crate::content::precondition::{EntityState, Precondition, Write};
use crate::content::slug::{Key, SlugInput};
use crate::content::tags::TagReference;
use crate::content::{markdown, media};
use crate::db::schema::articles;
use crate::error::{conflict_on, AppError, AppResult};

/// An article's pending changes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PendingChanges {
    /// The article as it will read once they are published (its id, slug, status,
    /// dates and version are the live article's).
    #[schema(value_type = WholeArticle)]
    pub article: Article,
    /// Their own version, bumped by each save; their `ETag` carries it.
    pub version: i32,
    /// When they were last saved, and by which token.
    pub saved_at: DateTime<Utc>,
    pub saved_by: Option<Uuid>,
    /// When they are to be published, if they are scheduled.
    pub publish_at: Option<DateTime<Utc>>,
}

impl PendingChanges {
    /// The state their entity tags name: the copy's, in the context of what they
    /// show of the live article (its version and status) and of their schedule.
    pub fn state(&self, copy_id: Uuid) -> EntityState {
        EntityState {
            id: copy_id,
            version: self.version,
            phase: "pending",
            context: context(self.article.version, self.article.status, self.publish_at),
        }
    }
}

fn context(live_version: i32, live_status: Status, publish_at: Option<DateTime<Utc>>) -> u64 {
    let at = publish_at.map(|at| at.timestamp_micros());
    xxhash_rust::xxh3::xxh3_64(
        format!("{live_version}\n{}\n{at:?}", live_status.as_str()).as_bytes(),
    )
}

/// The copy holding an article's pending changes, with when it is to be published
/// and the live version it was saved against.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = articles, check_for_backend(diesel::pg::Pg))]
struct PendingCopy {
    #[diesel(embed)]
    row: ArticleRow,
    pending_publish_at: Option<DateTime<Utc>>,
    pending_base_version: Option<i32>,
}

impl PendingCopy {
    /// As [`PendingChanges::state`], from the rows.
    fn state(&self, live: &ArticleRow) -> EntityState {
        EntityState {
            id: self.row.id,
            version: self.row.version,
            phase: "pending",
            context: context(
                live.version,
                live.status_at(Utc::now()),
                self.pending_publish_at,
            ),
        }
    }

    /// Refuses to publish over an article that changed since the changes were
    /// saved: that edit would be undone without anyone seeing it.
    fn check_base(&self, live: &ArticleRow) -> AppResult<()> {
        match self.pending_base_version {
            Some(base) if base != live.version => Err(AppError::Conflict(format!(
                "The article changed since these pending changes were saved (version {base}, \
                 now {}): save them again from the article as it is now, or discard them.",
                live.version
            ))),
            _ => Ok(()),
        }
    }
}

fn none_pending() -> AppError {
    AppError::NotFound("The article has no pending changes.".into())
}

/// Locks the live article (its own `If-Match` is not asked: the changes have
/// their own versions).
async fn lock_live(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<ArticleRow> {
    let any_state = Write {
        precondition: Precondition::None,
        actor: write.actor,
    };
    lock(conn, key, &any_state).await
}

async fn copy_of(
    conn: &mut AsyncPgConnection,
    live_id: Uuid,
    for_update: bool,
) -> AppResult<Option<PendingCopy>> {
    let query = articles::table
        .filter(articles::pending_for.eq(live_id))
        .select(PendingCopy::as_select());
    Ok(if for_update {
        query.for_update().first(conn).await.optional()?
    } else {
        query.first(conn).await.optional()?
    })
}

/// Pending changes as written: the whole article as it should read, its fields
/// and parts; not its slug or status, which change on the article itself.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PendingInput {
    pub title: Title,
    #[serde(default)]
    pub standfirst: Option<Standfirst>,
    /// Markdown; refer to citation n as `[n]`.
    #[serde(default)]
    pub body: Option<Body>,
    /// BCP 47; the article's unless given.
    #[serde(default)]
    pub language: Option<LanguageInput>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub key_point_lists: Option<Vec<KeyPointListInput>>,
    #[serde(default)]
    #[schema(max_items = 200)]
    pub citations: Option<Vec<CitationInput>>,
    /// Tags by slug or name, in order; unknown names create the tag (at once).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Option<Vec<TagReference>>,
    /// Its section, by slug; none when left out.
    #[serde(default)]
    pub section: Option<SlugInput>,
    /// The byline: authors by slug, in order; none when left out.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub authors: Option<Vec<SlugInput>>,
    /// SEO and social fields; none when left out.
    #[serde(default)]
    pub seo: Option<super::seo::SeoInput>,
    /// Its lead image; none when left out.
    #[serde(default)]
    pub lead_image: Option<crate::content::media::LeadImageInput>,
}

/// Saves pending changes (parts left out are emptied, as a `PUT` of the article
/// does). Only a published or scheduled article takes them; a draft is edited
/// directly. `If-Match` takes the tag of the pending changes.
pub async fn save(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    pending: PendingInput,
    write: &Write,
) -> AppResult<(PendingChanges, Uuid)> {
    let input = ArticleInput {
        title: pending.title,
        slug: None,
        standfirst: pending.standfirst,
        body: pending.body,
        language: pending.language,
        status: None,
        published_at: None,
        key_point_lists: pending.key_point_lists,
        citations: pending.citations,
        tags: pending.tags,
        section: pending.section,
        authors: pending.authors,
        seo: pending.seo,
        lead_image: pending.lead_image,
        translation_of: None,
    };
    let mut valid = input.validate(Utc::now())?;
    valid.fields.rendered = Some(body::render(conn, &valid.fields.body, Unknown::Refused).await?);
    valid.key_point_lists.get_or_insert_with(Vec::new);
    valid.citations.get_or_insert_with(Vec::new);
    valid.tags.get_or_insert_with(Vec::new);
    valid.authors.get_or_insert_with(Vec::new);
    valid.seo.get_or_insert_with(Default::default);
    let live_id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let live = lock_live(conn, key, write).await?;
            if live.status != StoredStatus::Published {
                return Err(AppError::Conflict(
                    "Only a published or scheduled article holds pending changes; edit a \
                     draft or an archived article directly."
                        .into(),
                ));
            }
            let mut valid = valid;
            match copy_of(conn, live.id, true).await? {
                Some(copy) => {
                    write.precondition.check(&copy.state(&live))?;
                    valid.fields.slug = copy.row.slug.clone();
                    update_fields(conn, &copy.row, &valid).await?;
                    diesel::update(articles::table.filter(articles::id.eq(copy.row.id)))
                        .set(articles::pending_base_version.eq(live.version))
                        .execute(conn)
                        .await?;
                    write_parts(conn, copy.row.id, &valid, true, write).await?;
                    touch(conn, copy.row.id, write).await?;
                }
                None => {
                    if write.precondition != Precondition::None {
                        return Err(AppError::PreconditionFailed(
                            "The article has no pending changes for If-Match to name; send \
                             the first save without it."
                                .into(),
                        ));
                    }
                    let fields = &valid.fields;
                    // A copy's slug is never shown or looked up; a random one cannot
                    // collide with an article's (and a clash would be a 409, not a 500).
                    let row = diesel::insert_into(articles::table)
                        .values((
                            articles::id.eq(Uuid::now_v7()),
                            articles::slug.eq(format!("pending-{}", Uuid::new_v4().simple())),
                            articles::pending_base_version.eq(live.version),
                            articles::title.eq(&fields.title),
                            articles::standfirst.eq(&fields.standfirst),
                            articles::body.eq(&fields.body),
                            articles::body_html.eq(fields.rendered.as_ref().map(|r| &r.html)),
                            articles::lead_text.eq(fields.rendered.as_ref().map(|r| &r.lead)),
                            articles::word_count.eq(fields.rendered.as_ref().map(|r| r.word_count)),
                            articles::language
                                .eq(fields.language.as_deref().unwrap_or(&live.language)),
                            articles::status.eq(StoredStatus::Draft),
                            articles::pending_for.eq(live.id),
                            articles::created_by.eq(write.actor),
                            articles::updated_by.eq(write.actor),
                        ))
                        .returning(ArticleRow::as_returning())
                        .get_result(conn)
                        .await
                        .map_err(conflict_on("articles_slug_key", || {
                            "Saving pending changes clashed with another write; retry.".into()
                        }))?;
                    let shown = fields.rendered.as_ref().map_or(&[][..], |r| &r.media);
                    media::show_in_body(conn, row.id, shown).await?;
                    write_parts(conn, row.id, &valid, false, write).await?;
                    after_write(conn, &row, write).await?;
                }
            }
            Ok(live.id)
        })
        .await?;
    get(conn, &Key::Id(live_id)).await
}

/// An article's pending changes, as the article will read once they are published;
/// with the id of the copy that holds them (for their `ETag`).
pub async fn get(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
) -> AppResult<(PendingChanges, Uuid)> {
    let live = find(conn, key, Include::WHOLE, Audience::Editors).await?;
    let copy = copy_of(conn, live.id, false)
        .await?
        .ok_or_else(none_pending)?;
    let copy_id = copy.row.id;
    Ok((present(conn, &live, copy, Include::WHOLE).await?, copy_id))
}

/// The article as it reads, or, when it has pending changes, as it will read once
/// they are published (for previews).
pub async fn preview(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Article> {
    let with_html = Include {
        body_html: true,
        ..Include::WHOLE
    };
    let live = find(conn, &Key::Id(id), with_html, Audience::Editors).await?;
    match copy_of(conn, live.id, false).await? {
        Some(copy) => Ok(present(conn, &live, copy, with_html).await?.article),
        None => Ok(live),
    }
}

async fn present(
    conn: &mut AsyncPgConnection,
    live: &Article,
    copy: PendingCopy,
    include: Include,
) -> AppResult<PendingChanges> {
    let saved_at = copy.row.updated_at;
    let saved_by = copy.row.updated_by;
    let version = copy.row.version;
    let mut article = assemble(conn, vec![copy.row], include, Audience::Editors)
        .await?
        .pop()
        .ok_or_else(none_pending)?;
    article.id = live.id;
    article.slug = live.slug.clone();
    // Translations link the live article; its pending copy is in no group.
    article.translations = live.translations.clone();
    article.status = live.status;
    article.published_at = live.published_at;
    article.created_at = live.created_at;
    article.created_by = live.created_by;
    article.version = live.version;
    Ok(PendingChanges {
        article,
        version,
        saved_at,
        saved_by,
        publish_at: copy.pending_publish_at,
    })
}

/// Discards an article's pending changes. `If-Match` takes their tag.
pub async fn discard(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let live = lock_live(conn, key, write).await?;
        let copy = copy_of(conn, live.id, true)
            .await?
            .ok_or_else(none_pending)?;
        write.precondition.check(&copy.state(&live))?;
        diesel::delete(articles::table.filter(articles::id.eq(copy.row.id)))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// Publishes an article's pending changes onto it now: the article becomes what
/// they hold (a new version and revision of the article; the publishing check
/// runs), and they are gone. `If-Match` takes their tag.
pub async fn publish(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<Article> {
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let live = lock_live(conn, key, write).await?;
            let copy = copy_of(conn, live.id, true)
                .await?
                .ok_or_else(none_pending)?;
            write.precondition.check(&copy.state(&live))?;
            copy.check_base(&live)?;
            apply(conn, &live, &copy.row, write).await?;
            Ok(live.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// Schedules an article's pending changes to be published at `at` (in the future).
/// `If-Match` takes their tag; the schedule is a save (a new version of them).
pub async fn schedule(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    at: DateTime<Utc>,
    write: &Write,
) -> AppResult<(PendingChanges, Uuid)> {
    if at <= Utc::now() {
        return Err(AppError::validation(
            "published_at",
            "must be in the future; to publish now, use publish",
        ));
    }
    let live_id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let live = lock_live(conn, key, write).await?;
            let copy = copy_of(conn, live.id, true)
                .await?
                .ok_or_else(none_pending)?;
            write.precondition.check(&copy.state(&live))?;
            copy.check_base(&live)?;
            diesel::update(articles::table.filter(articles::id.eq(copy.row.id)))
                .set(articles::pending_publish_at.eq(at))
                .execute(conn)
                .await?;
            touch(conn, copy.row.id, write).await?;
            Ok(live.id)
        })
        .await?;
    get(conn, &Key::Id(live_id)).await
}

/// Inside a transaction holding both: makes `live` what `copy` holds, then deletes
/// the copy (whose parts' ids the article then takes).
async fn apply(
    conn: &mut AsyncPgConnection,
    live: &ArticleRow,
    copy: &ArticleRow,
    write: &Write,
) -> AppResult<ArticleRow> {
    let snapshot: serde_json::Value = diesel::select(diesel::dsl::sql::<diesel::sql_types::Jsonb>(
        &format!("article_snapshot('{}'::uuid)", copy.id),
    ))
    .get_result(conn)
    .await?;
    let mut held: Article = serde_json::from_value(snapshot)
        .map_err(|e| AppError::Internal(format!("pending changes do not read back: {e}")))?;
    held.id = live.id;
    held.slug = live.slug.clone();
    // Rendered when the changes were saved; rendering again would hold the lock.
    let stored: (Option<String>, Option<String>, Option<i32>) = articles::table
        .filter(articles::id.eq(copy.id))
        .select((
            articles::body_html,
            articles::lead_text,
            articles::word_count,
        ))
        .first(conn)
        .await?;
    let rendered = match stored {
        (Some(html), Some(lead), Some(word_count)) => markdown::RenderedBody {
            html,
            lead,
            word_count,
            media: media::shown_in_body(conn, copy.id).await?,
        },
        _ => {
            body::render(
                conn,
                held.body.as_deref().unwrap_or_default(),
                Unknown::LeftOut,
            )
            .await?
        }
    };
    diesel::delete(articles::table.filter(articles::id.eq(copy.id)))
        .execute(conn)
        .await?;
    apply_recorded(conn, live, &held, &rendered, write).await
}

/// Publishes the pending changes whose time has come, each once however many
/// servers run this at once: the article is locked first (as every other write
/// does, so none deadlocks with this), then the copy; a server that got there
/// second finds it gone. Changes that can no longer be published (their article was trashed,
/// or they fail the publishing check) stay pending, unscheduled, for an editor to
/// look at. How many were published.
pub async fn publish_due(conn: &mut AsyncPgConnection) -> AppResult<usize> {
    // (copy, live article, who saved them, when they are due)
    type Due = (Uuid, Option<Uuid>, Option<Uuid>, Option<DateTime<Utc>>);
    let due: Vec<Due> = articles::table
        .filter(articles::pending_publish_at.le(Utc::now()))
        .select((
            articles::id,
            articles::pending_for,
            articles::updated_by,
            articles::pending_publish_at,
        ))
        .order(articles::pending_publish_at)
        .limit(100)
        .load(conn)
        .await?;
    let mut published = 0;
    for (copy_id, live_id, actor, scheduled_at) in due {
        let write = Write {
            precondition: Precondition::None,
            actor,
        };
        let applied = conn
            .transaction::<_, AppError, _>(async |conn| {
                let live_id = live_id.ok_or_else(not_found)?;
                let live = lock(conn, &Key::Id(live_id), &write).await?;
                let copy: Option<PendingCopy> = articles::table
                    .filter(articles::id.eq(copy_id))
                    .filter(articles::pending_publish_at.le(Utc::now()))
                    .select(PendingCopy::as_select())
                    .for_update()
                    .first(conn)
                    .await
                    .optional()?;
                match copy {
                    Some(copy) => {
                        copy.check_base(&live)?;
                        apply(conn, &live, &copy.row, &write).await.map(|_| true)
                    }
                    None => Ok(false),
                }
            })
            .await;
        match applied {
            Ok(true) => published += 1,
            Ok(false) => {}
            // Lasting: the article is gone, changed since, or the changes fail the
            // publishing check. They stay pending, unscheduled, for an editor (unless
            // one scheduled them anew meanwhile).
            Err(
                error @ (AppError::NotFound(_)
                | AppError::Conflict(_)
                | AppError::Validation(_)
                | AppError::FieldConflict { .. }),
            ) => {
                tracing::warn!(
                    copy = %copy_id,
                    %error,
                    "scheduled pending changes cannot be published; they stay pending, \
                     unscheduled"
                );
                diesel::update(
                    articles::table
                        .filter(articles::id.eq(copy_id))
                        .filter(articles::pending_publish_at.eq(scheduled_at)),
                )
                .set(articles::pending_publish_at.eq(None::<DateTime<Utc>>))
                .execute(conn)
                .await?;
            }
            // Passing (a lock held too long, a lost connection): the next round retries.
            Err(error) => {
                tracing::info!(copy = %copy_id, %error, "scheduled pending changes: retrying")
            }
        }
    }
    Ok(published)
}
