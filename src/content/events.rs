//! The outbox: every change to an article or a tag writes its events in the
//! transaction that makes it (so none is lost and none outlives a rollback), and
//! a delivery for each webhook that wants it. The change feed reads them in commit
//! order. The SQL that decides an article event's type is `record_article_events`
//! (migration `events_and_webhooks`); this module is every other event query.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Integer, Nullable, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::Audience;
use crate::db::schema::{articles, events};
use crate::error::{AppError, AppResult};

/// Every event type, as webhooks subscribe to them.
pub const EVENT_TYPES: [&str; 11] = [
    "article.created",
    "article.updated",
    "article.published",
    "article.unpublished",
    "article.archived",
    "article.trashed",
    "article.restored",
    "article.deleted",
    "tag.created",
    "tag.updated",
    "tag.deleted",
];

/// What changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResourceType {
    Article,
    Tag,
}

/// One event as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = events, check_for_backend(diesel::pg::Pg))]
pub struct Event {
    pub seq: i64,
    pub id: Uuid,
    #[diesel(column_name = type_)]
    pub kind: String,
    pub resource_type: String,
    pub resource_id: Uuid,
    pub slug: String,
    pub version: Option<i32>,
    pub public: bool,
    pub was_public: bool,
    pub created_at: DateTime<Utc>,
}

impl Event {
    pub fn resource(&self) -> ResourceType {
        match self.resource_type.as_str() {
            "tag" => ResourceType::Tag,
            _ => ResourceType::Article,
        }
    }
}

/// Records the events of a change to these articles, in the caller's transaction,
/// as its last write (the events' lock is held until the commit): `kind` names it
/// (`article.trashed`), or, when `None`, the database works it out from each
/// article and its last event (created, published, unpublished, archived or
/// updated); their tags' events come first (created, or seen or no longer seen by
/// the public). Pending copies have none. One statement.
pub(crate) async fn articles_changed(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    kind: Option<&str>,
) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::sql_query("SELECT record_article_events($1, $2)")
        .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
        .bind::<Nullable<Text>, _>(kind)
        .execute(conn)
        .await?;
    Ok(())
}

/// Records a change to a tag (`tag.created`, `tag.updated`, `tag.deleted`), in the
/// caller's transaction, as its last write; `public`: whether the public sees the
/// tag after it.
pub(crate) async fn tag_changed(
    conn: &mut AsyncPgConnection,
    kind: &str,
    id: Uuid,
    slug: &str,
    version: i32,
    public: bool,
) -> AppResult<()> {
    diesel::sql_query("SELECT record_events('tag', $1, $2, $3, $4, $5)")
        .bind::<Array<diesel::sql_types::Uuid>, _>(&[id][..])
        .bind::<Array<Text>, _>(&[kind][..])
        .bind::<Array<Text>, _>(&[slug][..])
        .bind::<Array<Integer>, _>(&[version][..])
        .bind::<Array<Bool>, _>(&[public][..])
        .execute(conn)
        .await?;
    Ok(())
}

/// How many scheduled articles one round announces at most.
const ANNOUNCE_BATCH: i64 = 100;

/// Announces the scheduled articles whose time has come (`article.published`),
/// each once however many servers run this at once (`FOR UPDATE SKIP LOCKED`:
/// a server skips the articles another is announcing). How many it announced.
pub async fn announce_due(conn: &mut AsyncPgConnection) -> AppResult<usize> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let due: Vec<Uuid> = articles::table
            .filter(articles::announce_at.le(diesel::dsl::now))
            .order(articles::announce_at)
            .limit(ANNOUNCE_BATCH)
            .select(articles::id)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        articles_changed(conn, &due, None).await?;
        Ok(due.len())
    })
    .await
}

/// The events after `after` (a `seq`) in commit order, at most `limit`. The public
/// gets only the changes that concern it: those after which it could see the
/// resource, and those that took it away (a deletion for it).
pub async fn after(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
    audience: Audience,
) -> AppResult<Vec<Event>> {
    let mut query = events::table
        .filter(events::seq.gt(after))
        .order(events::seq)
        .limit(limit)
        .select(Event::as_select())
        .into_boxed();
    if audience == Audience::Public {
        query = query.filter(events::public.or(events::was_public));
    }
    Ok(query.load(conn).await?)
}

/// One event by its `seq`.
pub async fn find(conn: &mut AsyncPgConnection, seq: i64) -> AppResult<Event> {
    events::table
        .find(seq)
        .select(Event::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("No event has this number.".into()))
}
