//! The change feed: a page of events after a cursor, each with the resource as
//! it is now (read as `audience` may see it) or a tombstone. The events' SQL is
//! in [`events`].

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::article_access::Audience;
use crate::content::articles::{self, Article, Include};
use crate::content::events::{self, Event, ResourceType};
use crate::content::pagination::encode_cursor;
use crate::content::tags::{self, Tag};
use crate::error::AppResult;

/// The most bytes of article bodies (Markdown and HTML) one page carries.
const BODY_BUDGET: i64 = 4 << 20;

/// One change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Change {
    /// This change's place in the feed: the changes after it start here.
    pub cursor: String,
    /// The event's id (a webhook delivery's `webhook-id`).
    pub event_id: Uuid,
    #[serde(rename = "type")]
    #[schema(example = "article.published")]
    pub kind: String,
    pub resource: ResourceType,
    /// The resource's id.
    pub id: Uuid,
    /// Its slug when it changed.
    pub slug: String,
    /// Its version after the change.
    pub version: Option<i32>,
    /// When the change was committed.
    pub at: DateTime<Utc>,
    /// `true`: remove the resource. It was deleted or trashed, or (for the public)
    /// it is no longer published; or it is gone by now. `false` on a change
    /// carrying no representation: a later change in the page carries it.
    pub deleted: bool,
    /// The article as it is now (body, rendered body and every part), unless
    /// `deleted`; carried by its last change in the page only (earlier ones are
    /// superseded by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<Article>,
    /// The tag as it is now, unless `deleted` (as `article`: by its last change
    /// in the page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<Tag>,
}

/// A page of the change feed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangePage {
    /// In commit order.
    pub items: Vec<Change>,
    /// Where to read next: the last change's cursor, or the one given when there
    /// was nothing new. Never `null`: keep it, and ask again later.
    pub next_cursor: String,
    /// Whether more changes are there already (ask again at once).
    pub has_more: bool,
}

/// The ids of the resources of `kind` the events name, each once.
fn ids_of(found: &[Event], kind: ResourceType) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = found
        .iter()
        .filter(|e| e.resource() == kind)
        .map(|e| e.resource_id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The changes after `after` (a `seq`; 0: from the first), at most `limit`, and
/// at most [`BODY_BUDGET`] bytes of bodies (but at least one change). Each
/// resource is carried whole once: by its last change in the page.
pub async fn page(
    conn: &mut AsyncPgConnection,
    after: i64,
    limit: i64,
    audience: Audience,
) -> AppResult<ChangePage> {
    let mut found = events::after(conn, after, limit + 1, audience).await?;
    let mut has_more = found.len() as i64 > limit;
    found.truncate(limit as usize);
    let sizes = articles::body_sizes(conn, &ids_of(&found, ResourceType::Article)).await?;
    let mut carried = 0;
    let mut seen = HashSet::new();
    let fits = found
        .iter()
        .position(|event| {
            if seen.insert(event.resource_id) {
                carried += sizes.get(&event.resource_id).copied().unwrap_or(0);
            }
            carried > BODY_BUDGET
        })
        .map_or(found.len(), |at| at.max(1));
    if fits < found.len() {
        found.truncate(fits);
        has_more = true;
    }

    let include = Include {
        body_html: true,
        ..Include::WHOLE
    };
    let article_ids = ids_of(&found, ResourceType::Article);
    let mut current_articles: HashMap<Uuid, Article> =
        articles::find_many(conn, &article_ids, include, audience)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    let tag_ids = ids_of(&found, ResourceType::Tag);
    let mut current_tags: HashMap<Uuid, Tag> = tags::find_many(conn, &tag_ids, audience)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();

    let last_of: HashMap<Uuid, i64> = found.iter().map(|e| (e.resource_id, e.seq)).collect();
    let next_cursor = encode_cursor(&found.last().map_or(after, |e| e.seq));
    let items = found
        .into_iter()
        .map(|event| {
            let id = event.resource_id;
            let resource = event.resource();
            let last = last_of.get(&id) == Some(&event.seq);
            let (article, tag) = match resource {
                ResourceType::Article if last => (current_articles.remove(&id), None),
                ResourceType::Tag if last => (None, current_tags.remove(&id)),
                _ => (None, None),
            };
            // An earlier change of a resource a later one carries is not a deletion.
            let carried_later =
                current_articles.contains_key(&id) || current_tags.contains_key(&id);
            Change {
                cursor: encode_cursor(&event.seq),
                event_id: event.id,
                kind: event.kind,
                resource,
                id,
                slug: event.slug,
                version: event.version,
                at: event.created_at,
                deleted: article.is_none() && tag.is_none() && !carried_later,
                article,
                tag,
            }
        })
        .collect();
    Ok(ChangePage {
        items,
        next_cursor,
        has_more,
    })
}
