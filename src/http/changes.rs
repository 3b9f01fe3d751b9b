//! `/api/v1/changes`: the change feed. Every change to articles and tags, in
//! commit order, each with the resource as it is now or a tombstone: a builder
//! reads it from the start once, then from its last cursor.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::content::articles::{self, Article, Include};
use crate::content::events::{self, ResourceType};
use crate::content::pagination::{encode_cursor, PageRequest};
use crate::content::tags::{self, Tag};
use crate::db::DbPool;
use crate::error::AppResult;
use crate::http::conditional::json_with_etag;
use crate::http::connection;
use crate::http::extract::Query;
use crate::http::responses::BadParameter;

/// Where to read from.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesParams {
    /// The changes after this one: a `cursor` (or `next_cursor`) of an earlier
    /// answer; left out, from the first change.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// How many changes at most.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
}

/// The most bytes of article bodies (Markdown and HTML) one page carries.
const BODY_BUDGET: i64 = 4 << 20;

fn article_ids_in(found: &[events::Event]) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = found
        .iter()
        .filter(|e| e.resource() == ResourceType::Article)
        .map(|e| e.resource_id)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

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

/// The change feed
///
/// Every change to articles and tags after `cursor`, in commit order: the event
/// (`article.created`, `.updated`, `.published`, `.unpublished`, `.archived`,
/// `.trashed`, `.restored`, `.deleted`; `tag.created`, `.updated`, `.deleted`),
/// the resource's id and slug, and the resource as it is now, or `deleted: true`.
/// Applying the changes in order (upsert, or remove when `deleted`) reproduces
/// the content. Without a token, only what the public may see: a published
/// article that is unpublished, archived or trashed comes as a deletion, and
/// drafts never appear.
#[utoipa::path(
    tag = "changes",
    security((), ("bearer" = ["content:read"])),
    params(ChangesParams),
    responses(
        (status = 200, description = "A page of changes", body = ChangePage),
        (status = 400, response = BadParameter),
    )
)]
#[get("/changes")]
pub async fn list_changes(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    params: Query<ChangesParams>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::<i64>::parse(params.limit, params.cursor.as_deref())?;
    let after = page.after.unwrap_or(0);
    let audience = caller.audience();
    let mut conn = connection(&pool).await?;
    let mut found = events::after(&mut conn, after, page.limit + 1, audience).await?;
    let mut has_more = found.len() as i64 > page.limit;
    found.truncate(page.limit as usize);
    // A page carries at most BODY_BUDGET bytes of bodies (and at least one
    // change): the rest waits for the next page.
    let sizes = articles::body_sizes(&mut conn, &article_ids_in(&found)).await?;
    let mut carried = 0;
    let mut seen = std::collections::HashSet::new();
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

    let ids_of = |kind: ResourceType| -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = found
            .iter()
            .filter(|e| e.resource() == kind)
            .map(|e| e.resource_id)
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    let include = Include {
        body_html: true,
        ..Include::WHOLE
    };
    let article_ids = ids_of(ResourceType::Article);
    let mut current_articles: HashMap<Uuid, Article> =
        articles::find_many(&mut conn, &article_ids, include, audience)
            .await?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
    let tag_ids = ids_of(ResourceType::Tag);
    let mut current_tags: HashMap<Uuid, Tag> = tags::find_many(&mut conn, &tag_ids, audience)
        .await?
        .into_iter()
        .map(|t| (t.id, t))
        .collect();

    // Each resource is carried whole once per page: by its last change in it.
    let mut last_of: HashMap<Uuid, i64> = HashMap::new();
    for event in &found {
        last_of.insert(event.resource_id, event.seq);
    }
    let next_cursor = found
        .last()
        .map(|e| encode_cursor(&e.seq))
        .unwrap_or_else(|| encode_cursor(&after));
    let items = found
        .into_iter()
        .map(|event| {
            let last = last_of.get(&event.resource_id) == Some(&event.seq);
            let id = event.resource_id;
            let resource = event.resource();
            let (article, tag) = match event.resource() {
                ResourceType::Article if last => (current_articles.remove(&id), None),
                ResourceType::Tag if last => (None, current_tags.remove(&id)),
                _ => (None, None),
            };
            let exists = current_articles.contains_key(&id) || current_tags.contains_key(&id);
            Change {
                cursor: encode_cursor(&event.seq),
                event_id: event.id,
                kind: event.kind,
                resource,
                id: event.resource_id,
                slug: event.slug,
                version: event.version,
                at: event.created_at,
                deleted: article.is_none() && tag.is_none() && !exists,
                article,
                tag,
            }
        })
        .collect();
    let body = ChangePage {
        items,
        next_cursor,
        has_more,
    };
    json_with_etag(&req, StatusCode::OK, None, &body)
}
