//! The workflow: publish, schedule, unpublish, archive.

use chrono::{DateTime, Datelike, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::read::find;
use super::types::*;
use crate::content::article_access::{lock, touch, ArticleKey, Audience};
use crate::content::article_status::StoredStatus;
use crate::content::precondition::Write;
use crate::content::slug::Key;
use crate::content::text;
use crate::db::schema::articles;
use crate::error::{AppError, AppResult};

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
