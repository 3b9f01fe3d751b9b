//! `/api/v1/tags`: create, list, read, update and delete tags.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::content::articles::ArticleFilter;
use crate::content::pagination::PageRequest;
use crate::content::precondition::Write;
use crate::content::tags::TagKey;
use crate::content::tags::{self, ListedTag, NewTag, Tag, TagPatch, TagSort};
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::articles::{list_response, ListArticlesParams};
use crate::http::conditional::json_with_etag;
use crate::http::extract::{JsonBody, Query};
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::{BadParameter, InvalidFields};
use crate::http::{connection, with_location, with_next_link, write_connection, API_PREFIX};

/// Sort, counts and paging of the tag list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListTagsParams {
    /// `name` (A to Z, the default) or `-article_count` (most published articles
    /// first, then A to Z).
    pub sort: Option<TagSort>,
    /// `article_count` adds to each tag how many published articles carry it.
    pub include: Option<TagInclude>,
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Where the page starts: the `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// What the tag list can add to each tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TagInclude {
    /// How many published articles carry the tag.
    ArticleCount,
}

/// One page of tags.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TagPage {
    pub items: Vec<ListedTag>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// List tags
///
/// Tags sorted by name (then id), or by how many published articles carry them
/// (`sort=-article_count`), a page at a time. Follow `next_cursor` (or the
/// `Link: rel="next"` header) until it is `null`. Without a token, only tags that
/// a published article carries are listed.
#[utoipa::path(
    tag = "tags",
    security((), ("bearer" = ["content:read"])),
    params(ListTagsParams),
    responses(
        (status = 200, description = "A page of tags", body = TagPage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/tags")]
pub async fn list_tags(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    params: Query<ListTagsParams>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let mut conn = connection(&pool).await?;
    let (items, next_cursor) = tags::list(
        &mut conn,
        &page,
        caller.audience(),
        params.sort.unwrap_or_default(),
        params.include == Some(TagInclude::ArticleCount),
    )
    .await?;
    let page_body = TagPage {
        items,
        next_cursor: next_cursor.clone(),
    };
    let response = json_with_etag(&req, StatusCode::OK, None, &page_body)?;
    Ok(with_next_link(&req, response, next_cursor.as_deref()))
}

/// Create a tag
///
/// The slug is derived from the name unless given ("South Korea" -> `south-korea`).
#[utoipa::path(
    tag = "tags",
    security(("bearer" = ["content:write"])),
    request_body(content = NewTag, content_type = "application/json"),
    responses(
        (status = 201, description = "The tag was created", body = Tag, headers(
            ("Location" = String, description = "URL of the new tag"),
        )),
        (status = 409, description = "Another tag has this slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/tags")]
pub async fn create_tag(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    body: JsonBody<NewTag>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let tag = tags::create(&mut conn, &input, &write).await?;
    let response = json_with_etag(
        &req,
        StatusCode::CREATED,
        Some(tag.state().entity_tag("tag")),
        &tag,
    )?;
    Ok(with_location(
        response,
        &format!("{API_PREFIX}/tags/{}", tag.id),
    ))
}

/// Get a tag
///
/// By id or by slug. Without a token, only tags that a published article carries
/// are found.
#[utoipa::path(
    tag = "tags",
    security((), ("bearer" = ["content:read"])),
    params(TagPath),
    responses(
        (status = 200, description = "The tag", body = Tag),
    )
)]
#[get("/tags/{tag}")]
pub async fn get_tag(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    tag: TagPath,
) -> AppResult<HttpResponse> {
    let mut conn = connection(&pool).await?;
    let tag = tags::find(&mut conn, &tag.key()?, caller.audience()).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(tag.state().entity_tag("tag")),
        &tag,
    )
}

/// Update a tag
///
/// Merge semantics: only the fields sent change; `description: null` clears it.
/// Send the `ETag` you read as `If-Match` so that you never overwrite someone
/// else's change. A new name or slug changes the version (and `ETag`) of every
/// article that carries the tag.
#[utoipa::path(
    tag = "tags",
    security(("bearer" = ["content:write"])),
    params(TagPath),
    request_body(content = TagPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated tag", body = Tag),
        (status = 409, description = "Another tag has this slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[patch("/tags/{tag}")]
pub async fn update_tag(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    tag: TagPath,
    body: JsonBody<TagPatch>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let tag = tags::update(&mut conn, &tag.key()?, &input, &write).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(tag.state().entity_tag("tag")),
        &tag,
    )
}

/// Delete a tag
///
/// Articles lose the tag (their version and `ETag` change); they are not deleted.
#[utoipa::path(
    tag = "tags",
    security(("bearer" = ["content:write"])),
    params(TagPath),
    responses(
        (status = 204, description = "The tag was deleted"),
    )
)]
#[delete("/tags/{tag}")]
pub async fn delete_tag(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    tag: TagPath,
) -> AppResult<HttpResponse> {
    let mut conn = write_connection(&req, &pool).await?;
    tags::delete(&mut conn, &tag.key()?, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a tag's articles
///
/// The articles carrying this tag, with the filters, sort and paging of
/// `GET /articles` (a `tag` filter narrows further).
#[utoipa::path(
    tag = "tags",
    security((), ("bearer" = ["content:read"])),
    params(TagPath, ListArticlesParams),
    responses(
        (status = 200, description = "A page of articles", body = crate::http::articles::ArticlePage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/tags/{tag}/articles")]
pub async fn list_tag_articles(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    tag: TagPath,
    params: Query<ListArticlesParams>,
) -> AppResult<HttpResponse> {
    let key = tag.key()?;
    let mut conn = connection(&pool).await?;
    let tag = tags::find(&mut conn, &key, caller.audience()).await?;
    let mut filter = ArticleFilter::for_audience(caller.audience());
    filter.tag_groups.push(vec![tag.slug]);
    list_response(&req, &mut conn, filter, &params).await
}

/// `{tag}`: a tag's id or slug.
pub struct TagSegment;
pub type TagPath = PathParam<TagSegment>;

impl Segment for TagSegment {
    const NAME: &'static str = "tag";
    const DESCRIPTION: &'static str = "The tag's id or slug";
    const NOT_FOUND: &'static str = "No tag has this id or slug";
    const SHAPE: Shape = Shape::IdOrSlug;
    type Key = TagKey;
    fn parse(value: &str) -> AppResult<TagKey> {
        tags::parse_key(value)
    }
}
