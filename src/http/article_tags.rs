//! `/api/v1/articles/{article}/tags`: an article's ordered tags. Every change bumps
//! the article's version; `If-Match` takes the article's `ETag`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::content::article_tags;
use crate::content::precondition::Write;
use crate::content::tags::{TagRef, TagReference};
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::articles::ArticlePath;
use crate::http::articles::{part_deleted, part_written};
use crate::http::conditional::json_with_etag;
use crate::http::extract::JsonBody;
use crate::http::responses::InvalidFields;
use crate::http::tags::TagPath;
use crate::http::{connection, write_connection};

/// The whole, ordered set of an article's tags.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleTagsInput {
    /// Tags by slug or name, in order; unknown names create the tag.
    #[schema(max_items = 50)]
    pub tags: Vec<TagReference>,
}

/// One tag to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddTagInput {
    /// The tag's slug or name; an unknown name creates the tag.
    pub tag: TagReference,
    /// Where to put it (0-based; default: last). A tag the article has moves there.
    #[schema(minimum = 0)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub position: Option<i32>,
}

/// List an article's tags
///
/// In the article's order.
#[utoipa::path(
    tag = "article tags",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The tags, in order", body = Vec<TagRef>),
    )
)]
#[get("/articles/{article}/tags")]
pub async fn list_article_tags(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    let (tags, state) = article_tags::list_all(&mut conn, &key, caller.audience()).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(state.entity_tag("article-tags")),
        &tags,
    )
}

/// Set (or reorder) an article's tags
///
/// The whole ordered set, by slug or name; unknown names create the tag.
#[utoipa::path(
    tag = "article tags",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = ArticleTagsInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The tags, in order", body = Vec<TagRef>),
        (status = 422, description = "A tag is not valid", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[put("/articles/{article}/tags")]
pub async fn set_article_tags(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<ArticleTagsInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (tags, state) = article_tags::set(&mut conn, &key, &input.tags, &write).await?;
    part_written(&req, &state, StatusCode::OK, &tags)
}

/// Add a tag to an article
///
/// By slug or name (an unknown name creates the tag), at `position` (default: last).
#[utoipa::path(
    tag = "article tags",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = AddTagInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The article's tags, in order", body = Vec<TagRef>),
        (status = 409, description = "The article has as many tags as it may", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/articles/{article}/tags")]
pub async fn add_article_tag(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<AddTagInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (tags, state) =
        article_tags::add(&mut conn, &key, &input.tag, input.position, &write).await?;
    part_written(&req, &state, StatusCode::OK, &tags)
}

/// Remove a tag from an article
///
/// The tag itself stays.
#[utoipa::path(
    tag = "article tags",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, TagPath),
    responses(
        (status = 204, description = "The article no longer has the tag", headers(
            ("ETag" = String, description = "The entity tag a GET of the whole article now gives"),
        )),
        (status = 404, description = "No such article or tag, or the article does not have it",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/articles/{article}/tags/{tag}")]
pub async fn remove_article_tag(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    tag: TagPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let tag = tag.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let state = article_tags::remove(&mut conn, &key, &tag, &write).await?;
    Ok(part_deleted(&state))
}
