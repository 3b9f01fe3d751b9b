//! `/api/v1/articles/{article}/tags`: an article's ordered tags. Every change bumps
//! the article's version; `If-Match` takes the article's `ETag`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::content::article_tags;
use crate::content::articles::{self};
use crate::content::tags::{self as tag_content, TagRef, TagReference};
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::auth::content_write;
use crate::http::conditional::json_with_etag;
use crate::http::extract::JsonBody;
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
    #[schema(
        example = "South Korea",
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$"
    )]
    pub tag: String,
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
    params(("article" = String, Path, description = "The article's id or slug")),
    responses(
        (status = 200, description = "The tags, in order", body = Vec<TagRef>,
            headers(("ETag" = String, description = "Entity tag (carries the article's version)"))),
        (status = 404, description = "No article has this id or slug", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[get("/articles/{article}/tags")]
pub async fn list_article_tags(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
) -> AppResult<HttpResponse> {
    let key = articles::parse_key(&path)?;
    let mut conn = connection(&pool).await?;
    let (tags, version) = article_tags::list_all(&mut conn, &key, caller.audience()).await?;
    json_with_etag(&req, StatusCode::OK, Some(version), &tags)
}

/// Set (or reorder) an article's tags
///
/// The whole ordered set, by slug or name; unknown names create the tag.
#[utoipa::path(
    tag = "article tags",
    security(("bearer" = ["content:write"])),
    params(("article" = String, Path, description = "The article's id or slug")),
    request_body(content = ArticleTagsInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The tags, in order", body = Vec<TagRef>, headers(
            ("ETag" = String, description = "Entity tag (carries the article's new version)"),
        )),
        (status = 404, description = "No article has this id or slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "A tag is not valid", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[put("/articles/{article}/tags")]
pub async fn set_article_tags(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
    body: JsonBody<ArticleTagsInput>,
) -> AppResult<HttpResponse> {
    let write = content_write(&req, &caller)?;
    let input = body.parse().await?;
    let key = articles::parse_key(&path)?;
    let mut conn = write_connection(&req, &pool).await?;
    let (tags, version) = article_tags::set(&mut conn, &key, &input.tags, &write).await?;
    json_with_etag(&req, StatusCode::OK, Some(version), &tags)
}

/// Add a tag to an article
///
/// By slug or name (an unknown name creates the tag), at `position` (default: last).
#[utoipa::path(
    tag = "article tags",
    security(("bearer" = ["content:write"])),
    params(("article" = String, Path, description = "The article's id or slug")),
    request_body(content = AddTagInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The article's tags, in order", body = Vec<TagRef>, headers(
            ("ETag" = String, description = "Entity tag (carries the article's new version)"),
        )),
        (status = 404, description = "No article has this id or slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 409, description = "The article has as many tags as it may", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[post("/articles/{article}/tags")]
pub async fn add_article_tag(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    path: web::Path<String>,
    body: JsonBody<AddTagInput>,
) -> AppResult<HttpResponse> {
    let write = content_write(&req, &caller)?;
    let input = body.parse().await?;
    let key = articles::parse_key(&path)?;
    let mut conn = write_connection(&req, &pool).await?;
    let (tags, version) =
        article_tags::add(&mut conn, &key, &input.tag, input.position, &write).await?;
    json_with_etag(&req, StatusCode::OK, Some(version), &tags)
}

/// Remove a tag from an article
///
/// The tag itself stays.
#[utoipa::path(
    tag = "article tags",
    security(("bearer" = ["content:write"])),
    params(
        ("article" = String, Path, description = "The article's id or slug"),
        ("tag" = String, Path, description = "The tag's id or slug"),
    ),
    responses(
        (status = 204, description = "The article no longer has the tag"),
        (status = 404, description = "No such article or tag, or the article does not have it",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/articles/{article}/tags/{tag}")]
pub async fn remove_article_tag(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    path: web::Path<(String, String)>,
) -> AppResult<HttpResponse> {
    let write = content_write(&req, &caller)?;
    let key = articles::parse_key(&path.0)?;
    let tag = tag_content::parse_key(&path.1)?;
    let mut conn = write_connection(&req, &pool).await?;
    article_tags::remove(&mut conn, &key, &tag, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}
