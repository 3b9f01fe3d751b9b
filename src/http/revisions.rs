//! `/api/v1/articles/{article}/revisions`: an article's history (editors only):
//! every change, one revision each; read one, compare two, restore one.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Scope};
use crate::content::articles::revisions::{self, Revision, RevisionDiff, RevisionSummary};
use crate::content::articles::WholeArticle;
use crate::content::pagination::PageRequest;
use crate::content::precondition::Write;
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::http::articles::{whole_article, ArticlePath};
use crate::http::conditional::json_with_etag;
use crate::http::extract::Query;
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::{BadParameter, SlugTaken};
use crate::http::{connection, with_next_link, write_connection};

/// Paging of a list that has no filters (revisions, the trash).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Where the page starts: the `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// One page of revisions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RevisionPage {
    /// Newest first.
    pub items: Vec<RevisionSummary>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// What to compare a revision with.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DiffParams {
    /// The older revision's version (default: the revision before this one).
    #[param(minimum = 1)]
    pub from: Option<i32>,
}

/// List an article's revisions
///
/// Every change to the article or its parts (a tag renamed included) made one,
/// newest first, a page at a time.
#[utoipa::path(
    tag = "revisions",
    security(("bearer" = ["content:read"])),
    params(ArticlePath, PageParams),
    responses(
        (status = 200, description = "A page of revisions", body = RevisionPage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/articles/{article}/revisions")]
pub async fn list_revisions(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    params: Query<PageParams>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let key = article.key()?;
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let mut conn = connection(&pool).await?;
    let (items, next_cursor) = revisions::list(&mut conn, &key, &page).await?;
    let response = json_with_etag(
        &req,
        StatusCode::OK,
        None,
        &RevisionPage {
            items,
            next_cursor: next_cursor.clone(),
        },
    )?;
    Ok(with_next_link(&req, response, next_cursor.as_deref()))
}

/// Get a revision
///
/// The whole article as the change that made this version left it.
#[utoipa::path(
    tag = "revisions",
    security(("bearer" = ["content:read"])),
    params(ArticlePath, VersionPath),
    responses(
        (status = 200, description = "The revision", body = Revision),
    )
)]
#[get("/articles/{article}/revisions/{version}")]
pub async fn get_revision(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    version: VersionPath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let key = article.key()?;
    let version = version.key()?;
    let mut conn = connection(&pool).await?;
    let revision = revisions::get(&mut conn, &key, version).await?;
    json_with_etag(&req, StatusCode::OK, None, &revision)
}

/// Compare two revisions
///
/// What changed from an older revision (`from`; default: the one before) to this
/// one: the article's fields, each with its value before and after, and its parts
/// (key-point lists and their points, citations, tags) added, removed, changed or
/// moved.
#[utoipa::path(
    tag = "revisions",
    security(("bearer" = ["content:read"])),
    params(ArticlePath, VersionPath, DiffParams),
    responses(
        (status = 200, description = "The changes", body = RevisionDiff),
        (status = 400, response = BadParameter),
    )
)]
#[get("/articles/{article}/revisions/{version}/diff")]
pub async fn diff_revisions(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    version: VersionPath,
    params: Query<DiffParams>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let key = article.key()?;
    let to = version.key()?;
    if params.from.is_some_and(|from| from < 1) {
        return Err(AppError::InvalidParameter(
            "from must be a version, 1 or more".into(),
        ));
    }
    let mut conn = connection(&pool).await?;
    let diff = revisions::diff(&mut conn, &key, to, params.from).await?;
    json_with_etag(&req, StatusCode::OK, None, &diff)
}

/// Restore a revision
///
/// Makes the article what this revision recorded: its fields and every part (with
/// their ids then), tags included. Its status stays (publish or unpublish through
/// the workflow). A change like any other: a new version and a new revision; the
/// history is kept. Takes the article's `ETag` as `If-Match`.
#[utoipa::path(
    tag = "revisions",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, VersionPath),
    responses(
        (status = 200, description = "The article, restored", body = WholeArticle),
        (status = 409, response = SlugTaken),
        (status = 422, description = "The article is live and the restored body fails the \
            publishing check", body = crate::error::Problem,
            content_type = "application/problem+json"),
    )
)]
#[post("/articles/{article}/revisions/{version}/restore")]
pub async fn restore_revision(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    version: VersionPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let version = version.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let article = revisions::restore(&mut conn, &key, version, &write).await?;
    whole_article(&req, &article)
}

/// `{version}`: a revision's version number.
pub struct VersionSegment;
pub type VersionPath = PathParam<VersionSegment>;

impl Segment for VersionSegment {
    const NAME: &'static str = "version";
    const DESCRIPTION: &'static str = "The revision's version number";
    const NOT_FOUND: &'static str = "No article has this id or slug, or it has no such revision";
    const SHAPE: Shape = Shape::Number;
    type Key = i32;
    fn parse(value: &str) -> AppResult<i32> {
        value
            .parse::<i32>()
            .ok()
            .filter(|v| *v >= 1)
            .ok_or_else(|| {
                AppError::NotFound("The article has no revision with this version.".into())
            })
    }
}
