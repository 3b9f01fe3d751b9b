//! The trash: a deleted article keeps its row, parts, tags, revisions and slug until
//! an editor restores it or an admin (or the automatic purge) removes it for good.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::read::{assemble, find};
use super::types::*;
use crate::content::article_access::{key_matches, ArticleKey, ArticleRow, Audience};
use crate::content::events;
use crate::content::pagination::{into_page, PageRequest};
use crate::content::precondition::Write;
use crate::content::slug::Key;
use crate::db::schema::articles;
use crate::error::{AppError, AppResult};

/// An article in the trash, as listed: its summary, and when and by whom it was
/// deleted.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrashedArticle {
    #[serde(flatten)]
    pub article: Article,
    pub trashed_at: DateTime<Utc>,
    /// The token that deleted it.
    pub trashed_by: Option<Uuid>,
}

/// Where a page of the trash ends: (trashed at, id), most recently trashed first.
pub type TrashCursor = (DateTime<Utc>, Uuid);

fn not_in_trash() -> AppError {
    AppError::NotFound("No article in the trash has this id or slug.".into())
}

/// One page of the trash, most recently deleted first.
pub async fn list_trash(
    conn: &mut AsyncPgConnection,
    page: &PageRequest<TrashCursor>,
) -> AppResult<(Vec<TrashedArticle>, Option<String>)> {
    let mut query = articles::table
        .filter(articles::trashed_at.is_not_null())
        .select((
            ArticleRow::as_select(),
            articles::trashed_at.assume_not_null(),
            articles::trashed_by,
        ))
        .order((articles::trashed_at.desc(), articles::id.desc()))
        .limit(page.limit + 1)
        .into_boxed();
    if let Some((at, id)) = page.after {
        query = query.filter(
            articles::trashed_at
                .lt(at)
                .or(articles::trashed_at.eq(at).and(articles::id.lt(id))),
        );
    }
    let rows: Vec<(ArticleRow, DateTime<Utc>, Option<Uuid>)> = query.load(conn).await?;
    let (rows, next) = into_page(rows, page.limit, |(row, at, _)| (*at, row.id));
    let (rows, trashed): (Vec<ArticleRow>, Vec<_>) = rows
        .into_iter()
        .map(|(row, at, by)| (row, (at, by)))
        .unzip();
    let articles = assemble(conn, rows, Include::default(), Audience::Editors).await?;
    let items = articles
        .into_iter()
        .zip(trashed)
        .map(|(article, (trashed_at, trashed_by))| TrashedArticle {
            article,
            trashed_at,
            trashed_by,
        })
        .collect();
    Ok((items, next))
}

/// Locks a trashed article for the rest of the transaction and checks `If-Match`.
async fn lock_trashed(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<ArticleRow> {
    let row = articles::table
        .filter(key_matches(key))
        .filter(articles::trashed_at.is_not_null())
        .select(ArticleRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_in_trash)?;
    write.precondition.check(&row.state())?;
    Ok(row)
}

/// Takes an article out of the trash, whole: as it was when it was deleted.
pub async fn restore(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    write: &Write,
) -> AppResult<Article> {
    let id = conn
        .transaction::<_, AppError, _>(async |conn| {
            let row = lock_trashed(conn, key, write).await?;
            diesel::update(articles::table.filter(articles::id.eq(row.id)))
                .set((
                    articles::trashed_at.eq(None::<DateTime<Utc>>),
                    articles::trashed_by.eq(None::<Uuid>),
                ))
                .execute(conn)
                .await
                .map_err(crate::content::translations::on_clash())?;
            events::articles_changed(conn, &[row.id], Some("article.restored")).await?;
            Ok(row.id)
        })
        .await?;
    find(conn, &Key::Id(id), Include::WHOLE, Audience::Editors).await
}

/// Removes a trashed article for good, with its parts and revisions.
pub async fn purge(conn: &mut AsyncPgConnection, key: &ArticleKey, write: &Write) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let row = lock_trashed(conn, key, write).await?;
        events::articles_changed(conn, &[row.id], Some("article.deleted")).await?;
        diesel::delete(articles::table.filter(articles::id.eq(row.id)))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// How many articles one round of housekeeping purges at most.
const PURGE_BATCH: i64 = 500;

/// Removes for good the articles trashed longer than `age` ago (at most
/// [`PURGE_BATCH`] a round; the next round takes the rest); how many.
pub async fn purge_older_than(conn: &mut AsyncPgConnection, age: Duration) -> AppResult<usize> {
    let age = chrono::Duration::from_std(age)
        .map_err(|_| AppError::Internal("trash age out of range".into()))?;
    let cutoff = Utc::now() - age;
    conn.transaction::<_, AppError, _>(async |conn| {
        // Each replica purges what no other is purging; each article's deletion is
        // announced once.
        let ids: Vec<Uuid> = articles::table
            .filter(articles::trashed_at.lt(cutoff))
            .order(articles::trashed_at)
            .limit(PURGE_BATCH)
            .select(articles::id)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        events::articles_changed(conn, &ids, Some("article.deleted")).await?;
        Ok(
            diesel::delete(articles::table.filter(articles::id.eq_any(&ids)))
                .execute(conn)
                .await?,
        )
    })
    .await
}
