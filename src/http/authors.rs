//! `/api/v1/authors`: the people bylines name (editors keep the list; everyone
//! reads those a published article names) and each author's articles.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::content::articles::ArticleFilter;
use crate::content::authors::{self, Author, AuthorKey, AuthorPatch, NewAuthor};
use crate::content::pagination::PageRequest;
use crate::content::precondition::Write;
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::articles::{list_response, ListArticlesParams};
use crate::http::conditional::json_with_etag;
use crate::http::extract::{JsonBody, Query};
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::{BadParameter, InvalidFields};
use crate::http::{connection, with_location, with_next_link, write_connection, API_PREFIX};

/// Paging of the author list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListAuthorsParams {
    /// Page size.
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    /// Where the page starts: the `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// One page of authors.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AuthorPage {
    /// By name, then id.
    pub items: Vec<Author>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

fn answer(req: &HttpRequest, status: StatusCode, author: &Author) -> AppResult<HttpResponse> {
    json_with_etag(
        req,
        status,
        Some(author.state().entity_tag("author")),
        author,
    )
}

/// List authors
///
/// By name (then id), a page at a time. Without a token, only authors that a
/// published article names are listed.
#[utoipa::path(
    tag = "authors",
    security((), ("bearer" = ["content:read"])),
    params(ListAuthorsParams),
    responses(
        (status = 200, description = "A page of authors", body = AuthorPage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/authors")]
pub async fn list_authors(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    params: Query<ListAuthorsParams>,
) -> AppResult<HttpResponse> {
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let mut conn = connection(&pool).await?;
    let (items, next_cursor) = authors::list(&mut conn, &page, caller.audience()).await?;
    let body = AuthorPage {
        items,
        next_cursor: next_cursor.clone(),
    };
    let response = json_with_etag(&req, StatusCode::OK, None, &body)?;
    Ok(with_next_link(&req, response, next_cursor.as_deref()))
}

/// Create an author
///
/// The slug is derived from the name unless given (with a number when taken:
/// names need not be unique).
#[utoipa::path(
    tag = "authors",
    security(("bearer" = ["content:write"])),
    request_body(content = NewAuthor, content_type = "application/json"),
    responses(
        (status = 201, description = "The author was created", body = Author, headers(
            ("Location" = String, description = "URL of the new author"),
        )),
        (status = 409, description = "Another author has this slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/authors")]
pub async fn create_author(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    body: JsonBody<NewAuthor>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let author = authors::create(&mut conn, &input, &write).await?;
    let response = answer(&req, StatusCode::CREATED, &author)?;
    Ok(with_location(
        response,
        &format!("{API_PREFIX}/authors/{}", author.id),
    ))
}

/// Get an author
///
/// By id or by slug. Without a token, only authors that a published article
/// names are found.
#[utoipa::path(
    tag = "authors",
    security((), ("bearer" = ["content:read"])),
    params(AuthorPath),
    responses(
        (status = 200, description = "The author", body = Author),
    )
)]
#[get("/authors/{author}")]
pub async fn get_author(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    author: AuthorPath,
) -> AppResult<HttpResponse> {
    let mut conn = connection(&pool).await?;
    let author = authors::find(&mut conn, &author.key()?, caller.audience()).await?;
    answer(&req, StatusCode::OK, &author)
}

/// Update an author
///
/// Merge semantics: only the fields sent change; `bio: null` clears it, `links`
/// replaces the list. A new name or slug changes the version (and `ETag`) of every
/// article whose byline names the author, each with a revision.
#[utoipa::path(
    tag = "authors",
    security(("bearer" = ["content:write"])),
    params(AuthorPath),
    request_body(content = AuthorPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated author", body = Author),
        (status = 409, description = "Another author has this slug", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[patch("/authors/{author}")]
pub async fn update_author(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    author: AuthorPath,
    body: JsonBody<AuthorPatch>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let author = authors::update(&mut conn, &author.key()?, &input, &write).await?;
    answer(&req, StatusCode::OK, &author)
}

/// Delete an author
///
/// Only one no byline names: while any article (trashed ones and pending changes
/// included) names them, 409 says how many do.
#[utoipa::path(
    tag = "authors",
    security(("bearer" = ["content:write"])),
    params(AuthorPath),
    responses(
        (status = 204, description = "The author was deleted"),
        (status = 409, description = "Bylines name the author", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[delete("/authors/{author}")]
pub async fn delete_author(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    author: AuthorPath,
) -> AppResult<HttpResponse> {
    let mut conn = write_connection(&req, &pool).await?;
    authors::delete(&mut conn, &author.key()?, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List an author's articles
///
/// The articles whose byline names this author, with the filters, sort and
/// paging of `GET /articles`.
#[utoipa::path(
    tag = "authors",
    security((), ("bearer" = ["content:read"])),
    params(AuthorPath, ListArticlesParams),
    responses(
        (status = 200, description = "A page of articles", body = crate::http::articles::ArticlePage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/authors/{author}/articles")]
pub async fn list_author_articles(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    author: AuthorPath,
    params: Query<ListArticlesParams>,
) -> AppResult<HttpResponse> {
    let key = author.key()?;
    let mut conn = connection(&pool).await?;
    let author = authors::find(&mut conn, &key, caller.audience()).await?;
    let mut filter = ArticleFilter::for_audience(caller.audience());
    filter.author_groups.push(vec![author.slug]);
    list_response(&req, &mut conn, filter, &params).await
}

/// `{author}`: an author's id or slug.
pub struct AuthorSegment;
pub type AuthorPath = PathParam<AuthorSegment>;

impl Segment for AuthorSegment {
    const NAME: &'static str = "author";
    const DESCRIPTION: &'static str = "The author's id or slug";
    const NOT_FOUND: &'static str = "No author has this id or slug";
    const SHAPE: Shape = Shape::IdOrSlug;
    type Key = AuthorKey;
    fn parse(value: &str) -> AppResult<AuthorKey> {
        authors::parse_key(value)
    }
}
