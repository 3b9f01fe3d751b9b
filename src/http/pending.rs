//! `/api/v1/articles/{article}/pending`: changes to a live article saved without
//! going live, then published (now or at a set time) or discarded; and preview
//! links (`/articles/{article}/preview-links`, `/previews/{token}`) through which a
//! frontend shows them without a token.

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Scope};
use crate::content::articles::pending::{self, PendingChanges, PendingInput};
use crate::content::articles::preview;
use crate::content::articles::{ScheduleInput, WholeArticle};
use crate::content::precondition::Write;
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::articles::{whole_article, ArticlePath};
use crate::http::conditional::json_with_etag;
use crate::http::extract::JsonBody;
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::InvalidFields;
use crate::http::{connection, write_connection, SiteLinks, API_PREFIX};

fn pending_response(
    req: &HttpRequest,
    (changes, copy_id): (PendingChanges, uuid::Uuid),
) -> AppResult<HttpResponse> {
    let etag = changes.state(copy_id).entity_tag("pending");
    json_with_etag(req, StatusCode::OK, Some(etag), &changes)
}

/// Get an article's pending changes
///
/// The article as it will read once they are published, with their own version.
/// 404 when it has none.
#[utoipa::path(
    tag = "pending changes",
    security(("bearer" = ["content:read"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The pending changes", body = PendingChanges),
    )
)]
#[get("/articles/{article}/pending")]
pub async fn get_pending(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    pending_response(&req, pending::get(&mut conn, &key).await?)
}

/// Save pending changes
///
/// The whole article as it should read once they are published: its fields and
/// parts (parts left out are emptied; the slug and status change on the article
/// itself). The public keeps reading the article as it is. Only a published or
/// scheduled article takes them. Each save is a new version of the changes (send
/// their `ETag` as `If-Match`) and a revision of them.
#[utoipa::path(
    tag = "pending changes",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = PendingInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The pending changes", body = PendingChanges),
        (status = 409, description = "The article is a draft or archived: edit it directly",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[put("/articles/{article}/pending")]
pub async fn save_pending(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<PendingInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    pending_response(&req, pending::save(&mut conn, &key, input, &write).await?)
}

/// Discard pending changes
///
/// The article stays as it reads.
#[utoipa::path(
    tag = "pending changes",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    responses(
        (status = 204, description = "The pending changes are gone"),
    )
)]
#[delete("/articles/{article}/pending")]
pub async fn discard_pending(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    pending::discard(&mut conn, &key, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Publish pending changes
///
/// The article becomes what they hold, at once: a new version and revision of the
/// article; the publishing check runs (422 changes nothing). The changes are gone.
#[utoipa::path(
    tag = "pending changes",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The article, changed", body = WholeArticle),
        (status = 422, description = "The publishing check failed", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[post("/articles/{article}/pending/publish")]
pub async fn publish_pending(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let article = pending::publish(&mut conn, &key, &write).await?;
    whole_article(&req, &article)
}

/// Schedule pending changes
///
/// Published onto the article at `published_at` (in the future) by the server,
/// within about a second of it. Saving them again keeps the schedule.
#[utoipa::path(
    tag = "pending changes",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = ScheduleInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The pending changes, scheduled", body = PendingChanges),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/articles/{article}/pending/schedule")]
pub async fn schedule_pending(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<ScheduleInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let scheduled = pending::schedule(&mut conn, &key, input.published_at, &write).await?;
    pending_response(&req, scheduled)
}

/// How long a preview link lives.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPreviewLink {
    /// Seconds (60 to 604800, a week); default 3600.
    #[schema(minimum = 60, maximum = 604800)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub expires_in: Option<i32>,
}

/// A preview link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewLink {
    /// Opens the preview without a token, until `expires_at`.
    pub url: String,
    /// The same, relative to the API's host.
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// Create a preview link
///
/// A signed URL through which anyone holding it reads the article as editors see
/// it, its pending changes applied, without a token, until it expires. Links
/// cannot be revoked one by one: keep them short-lived.
#[utoipa::path(
    tag = "pending changes",
    security(("bearer" = ["content:read"])),
    params(ArticlePath),
    request_body(content = NewPreviewLink, content_type = "application/json"),
    responses(
        (status = 201, description = "The link", body = PreviewLink),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/articles/{article}/preview-links")]
pub async fn create_preview_link(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    links: web::Data<SiteLinks>,
    article: ArticlePath,
    body: JsonBody<NewPreviewLink>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let input = body.parse().await?;
    let lifetime = preview::lifetime(input.expires_in)?;
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    let link = preview::create(&mut conn, &key, lifetime).await?;
    let path = format!("{API_PREFIX}/previews/{}", link.token);
    let body = PreviewLink {
        url: format!("{}{path}", links.public_url),
        path,
        expires_at: link.expires_at,
    };
    let mut response = json_with_etag(&req, StatusCode::CREATED, None, &body)?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Open a preview link
///
/// The article as editors see it, its pending changes applied; no token needed.
/// 404 once the link has expired (or when it was never valid). Never cached, never
/// indexed.
#[utoipa::path(
    tag = "pending changes",
    security(()),
    params(PreviewTokenPath),
    responses(
        (status = 200, description = "The article, as it will read", body = WholeArticle),
    )
)]
#[get("/previews/{token}")]
pub async fn open_preview(
    req: HttpRequest,
    pool: web::Data<DbPool>,
    token: PreviewTokenPath,
) -> AppResult<HttpResponse> {
    let mut conn = connection(&pool).await?;
    let article = preview::open(&mut conn, token.as_str()).await?;
    let mut response = json_with_etag(&req, StatusCode::OK, None, &article)?;
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::HeaderName::from_static("x-robots-tag"),
        header::HeaderValue::from_static("noindex"),
    );
    Ok(response)
}

/// `{token}`: a preview link's token.
pub struct PreviewTokenSegment;
pub type PreviewTokenPath = PathParam<PreviewTokenSegment>;

impl Segment for PreviewTokenSegment {
    const NAME: &'static str = "token";
    const DESCRIPTION: &'static str = "The preview link's token, as given";
    const NOT_FOUND: &'static str = "The link is not valid, or it has expired";
    const SHAPE: Shape = Shape::Token;
    type Key = String;
    fn parse(value: &str) -> AppResult<String> {
        Ok(value.to_string())
    }
}
