//! `/api/v1/articles/{article}/authors`: an article's byline. Every change bumps
//! the article's version; `If-Match` takes the article's `ETag`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::content::article_authors;
use crate::content::authors::AuthorRef;
use crate::content::precondition::Write;
use crate::content::slug::SlugInput;
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::articles::{part_deleted, part_written, ArticlePath};
use crate::http::authors::AuthorPath;
use crate::http::conditional::json_with_etag;
use crate::http::extract::JsonBody;
use crate::http::responses::InvalidFields;
use crate::http::{connection, write_connection};

/// The whole byline, in order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BylineInput {
    /// Authors by slug, in order (`[]` for none).
    #[schema(max_items = 20)]
    pub authors: Vec<SlugInput>,
}

/// One author to add to a byline.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddAuthorInput {
    /// The author's slug.
    pub author: SlugInput,
    /// Where to put them (0-based; default: last). An author the byline names
    /// moves there.
    #[schema(minimum = 0)]
    #[serde(
        default,
        deserialize_with = "crate::content::serde_helpers::whole_number"
    )]
    pub position: Option<i32>,
}

/// List an article's authors
///
/// The byline, in order.
#[utoipa::path(
    tag = "article authors",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The byline, in order", body = Vec<AuthorRef>),
    )
)]
#[get("/articles/{article}/authors")]
pub async fn list_article_authors(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    let (authors, state) = article_authors::list_all(&mut conn, &key, caller.audience()).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(state.entity_tag("article-authors")),
        &authors,
    )
}

/// Set (or reorder) an article's authors
///
/// The whole byline, by slug, in order.
#[utoipa::path(
    tag = "article authors",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = BylineInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The byline, in order", body = Vec<AuthorRef>),
        (status = 422, response = InvalidFields),
    )
)]
#[put("/articles/{article}/authors")]
pub async fn set_article_authors(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<BylineInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (authors, state) = article_authors::set(&mut conn, &key, &input.authors, &write).await?;
    part_written(&req, &state, StatusCode::OK, &authors)
}

/// Add an author to an article
///
/// By slug, at `position` (default: last).
#[utoipa::path(
    tag = "article authors",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = AddAuthorInput, content_type = "application/json"),
    responses(
        (status = 200, description = "The byline, in order", body = Vec<AuthorRef>),
        (status = 409, description = "The byline names as many authors as it may", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/articles/{article}/authors")]
pub async fn add_article_author(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<AddAuthorInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (authors, state) =
        article_authors::add(&mut conn, &key, &input.author, input.position, &write).await?;
    part_written(&req, &state, StatusCode::OK, &authors)
}

/// Remove an author from an article
///
/// The author stays.
#[utoipa::path(
    tag = "article authors",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, AuthorPath),
    responses(
        (status = 204, description = "The byline no longer names the author", headers(
            ("ETag" = String, description = "The entity tag a GET of the whole article now gives"),
        )),
        (status = 404, description = "No such article or author, or the byline does not name them",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/articles/{article}/authors/{author}")]
pub async fn remove_article_author(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    author: AuthorPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let author = author.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let state = article_authors::remove(&mut conn, &key, &author, &write).await?;
    Ok(part_deleted(&state))
}
