//! `/api/v1/changes`: the change feed (built in
//! [`content::changes`](crate::content::changes)). A builder reads it from the
//! start once, then from its last cursor.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::content::changes::{self, ChangePage};
use crate::content::pagination::PageRequest;
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
    let mut conn = connection(&pool).await?;
    let body = changes::page(
        &mut conn,
        page.after.unwrap_or(0),
        page.limit,
        caller.audience(),
    )
    .await?;
    json_with_etag(&req, StatusCode::OK, None, &body)
}
