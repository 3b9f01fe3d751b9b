//! `/api/v1/articles/{article}/key-point-lists`: an article's key-point lists and
//! their points. Every change bumps the article's version; `If-Match` takes the
//! article's `ETag`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};

use crate::auth::Caller;
use crate::content::key_points::{
    self, KeyPoint, KeyPointList, KeyPointListPatch, KeyPointPatch, NewKeyPoint, NewKeyPointList,
};
use crate::content::precondition::Write;
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::articles::ArticlePath;
use crate::http::articles::{part_deleted, part_written};
use crate::http::conditional::json_with_etag;
use crate::http::extract::JsonBody;
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::InvalidFields;
use crate::http::{connection, with_location, write_connection, API_PREFIX};
use uuid::Uuid;

/// List an article's key-point lists
///
/// In order, with their points; the `ETag` carries the article's version.
#[utoipa::path(
    tag = "key-point lists",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The lists, in order, with their points", body = Vec<KeyPointList>),
    )
)]
#[get("/articles/{article}/key-point-lists")]
pub async fn list_key_point_lists(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    let (lists, state) = key_points::list_all(&mut conn, &key, caller.audience()).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(state.entity_tag("key-point-lists")),
        &lists,
    )
}

/// Add a key-point list
///
/// At `position` (default: last); the lists after it shift.
#[utoipa::path(
    tag = "key-point lists",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = NewKeyPointList, content_type = "application/json"),
    responses(
        (status = 201, description = "The new list", body = KeyPointList, headers(
            ("Location" = String, description = "URL of the new list"),
        )),
        (status = 409, description = "The article has as many lists as it may", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/articles/{article}/key-point-lists")]
pub async fn add_key_point_list(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<NewKeyPointList>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (list, state) = key_points::add_list(&mut conn, &key, &input, &write).await?;
    let location = format!(
        "{API_PREFIX}/articles/{}/key-point-lists/{}",
        article.as_str(),
        list.id
    );
    let response = part_written(&req, &state, StatusCode::CREATED, &list)?;
    Ok(with_location(response, &location))
}

/// Get a key-point list
///
/// One of the article's lists, with its points.
#[utoipa::path(
    tag = "key-point lists",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath, ListPath),
    responses(
        (status = 200, description = "The list with its points", body = KeyPointList),
    )
)]
#[get("/articles/{article}/key-point-lists/{list}")]
pub async fn get_key_point_list(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    list: ListPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let list_id = list.key()?;
    let mut conn = connection(&pool).await?;
    let (list, state) = key_points::get(&mut conn, &key, list_id, caller.audience()).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(state.entity_tag(&format!("key-point-list:{}", list.id))),
        &list,
    )
}

/// Rename or move a key-point list
///
/// `position` moves it (0-based); the other lists shift.
#[utoipa::path(
    tag = "key-point lists",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, ListPath),
    request_body(content = KeyPointListPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The list", body = KeyPointList),
        (status = 422, response = InvalidFields),
    )
)]
#[patch("/articles/{article}/key-point-lists/{list}")]
pub async fn update_key_point_list(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    list: ListPath,
    body: JsonBody<KeyPointListPatch>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let list_id = list.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (list, state) = key_points::update_list(&mut conn, &key, list_id, &input, &write).await?;
    part_written(&req, &state, StatusCode::OK, &list)
}

/// Delete a key-point list
///
/// With its points; the lists after it move up.
#[utoipa::path(
    tag = "key-point lists",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, ListPath),
    responses(
        (status = 204, description = "The list was deleted", headers(
            ("ETag" = String, description = "The entity tag a GET of the whole article now gives"),
        )),
    )
)]
#[delete("/articles/{article}/key-point-lists/{list}")]
pub async fn delete_key_point_list(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    list: ListPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let list_id = list.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let state = key_points::delete_list(&mut conn, &key, list_id, &write).await?;
    Ok(part_deleted(&state))
}

/// Add a key point
///
/// At `position` (default: last); the points after it shift.
#[utoipa::path(
    tag = "key-point lists",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, ListPath),
    request_body(content = NewKeyPoint, content_type = "application/json"),
    responses(
        (status = 201, description = "The new point", body = KeyPoint, headers(
            ("Location" = String, description = "URL of the new point"),
        )),
        (status = 409, description = "The list has as many points as it may", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/articles/{article}/key-point-lists/{list}/points")]
pub async fn add_key_point(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    list: ListPath,
    body: JsonBody<NewKeyPoint>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let list_id = list.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (point, state) = key_points::add_point(&mut conn, &key, list_id, &input, &write).await?;
    let location = format!(
        "{API_PREFIX}/articles/{}/key-point-lists/{list_id}/points/{}",
        article.as_str(),
        point.id
    );
    let response = part_written(&req, &state, StatusCode::CREATED, &point)?;
    Ok(with_location(response, &location))
}

/// Rewrite or move a key point
///
/// `position` moves it (0-based); the other points shift.
#[utoipa::path(
    tag = "key-point lists",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, ListPath, PointPath),
    request_body(content = KeyPointPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The point", body = KeyPoint),
        (status = 422, response = InvalidFields),
    )
)]
#[patch("/articles/{article}/key-point-lists/{list}/points/{point}")]
pub async fn update_key_point(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    list: ListPath,
    point: PointPath,
    body: JsonBody<KeyPointPatch>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let list_id = list.key()?;
    let point_id = point.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (point, state) =
        key_points::update_point(&mut conn, &key, list_id, point_id, &input, &write).await?;
    part_written(&req, &state, StatusCode::OK, &point)
}

/// Delete a key point
///
/// The points after it move up.
#[utoipa::path(
    tag = "key-point lists",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, ListPath, PointPath),
    responses(
        (status = 204, description = "The point was deleted", headers(
            ("ETag" = String, description = "The entity tag a GET of the whole article now gives"),
        )),
    )
)]
#[delete("/articles/{article}/key-point-lists/{list}/points/{point}")]
pub async fn delete_key_point(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    list: ListPath,
    point: PointPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let list_id = list.key()?;
    let point_id = point.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let state = key_points::delete_point(&mut conn, &key, list_id, point_id, &write).await?;
    Ok(part_deleted(&state))
}

/// `{list}`: a key-point list's id.
pub struct ListSegment;
pub type ListPath = PathParam<ListSegment>;

impl Segment for ListSegment {
    const NAME: &'static str = "list";
    const DESCRIPTION: &'static str = "The list's id";
    const NOT_FOUND: &'static str = "No such article or list";
    const SHAPE: Shape = Shape::Id;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        key_points::parse_list_id(value)
    }
}

/// `{point}`: a key point's id.
pub struct PointSegment;
pub type PointPath = PathParam<PointSegment>;

impl Segment for PointSegment {
    const NAME: &'static str = "point";
    const DESCRIPTION: &'static str = "The point's id";
    const NOT_FOUND: &'static str = "No such article, list or point";
    const SHAPE: Shape = Shape::Id;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        key_points::parse_point_id(value)
    }
}
