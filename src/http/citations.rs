//! `/api/v1/articles/{article}/citations`: an article's numbered sources. Every
//! change bumps the article's version; `If-Match` takes the article's `ETag`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};

use crate::auth::Caller;
use crate::content::citations::{self, Citation, CitationInput, CitationPatch};
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

/// List an article's citations
///
/// By number; the `ETag` carries the article's version.
#[utoipa::path(
    tag = "citations",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The citations, by number", body = Vec<Citation>),
    )
)]
#[get("/articles/{article}/citations")]
pub async fn list_citations(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = connection(&pool).await?;
    let (all, state) = citations::list_all(&mut conn, &key, caller.audience()).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(state.entity_tag("citations")),
        &all,
    )
}

/// Add a citation
///
/// Numbered one more than the highest in use unless `number` is given.
#[utoipa::path(
    tag = "citations",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    request_body(content = CitationInput, content_type = "application/json"),
    responses(
        (status = 201, description = "The new citation", body = Citation, headers(
            ("Location" = String, description = "URL of the new citation"),
        )),
        (status = 409, description = "The number is taken, or the article has as many citations as it may",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/articles/{article}/citations")]
pub async fn add_citation(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    body: JsonBody<CitationInput>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (citation, state) = citations::add(&mut conn, &key, &input, &write).await?;
    let response = part_written(&req, &state, StatusCode::CREATED, &citation)?;
    let location = format!(
        "{API_PREFIX}/articles/{}/citations/{}",
        article.as_str(),
        citation.id
    );
    Ok(with_location(response, &location))
}

/// Get a citation
///
/// One of the article's citations, by id.
#[utoipa::path(
    tag = "citations",
    security((), ("bearer" = ["content:read"])),
    params(ArticlePath, CitationPath),
    responses(
        (status = 200, description = "The citation", body = Citation),
    )
)]
#[get("/articles/{article}/citations/{citation}")]
pub async fn get_citation(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    citation: CitationPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let id = citation.key()?;
    let mut conn = connection(&pool).await?;
    let (citation, state) = citations::get(&mut conn, &key, id, caller.audience()).await?;
    json_with_etag(
        &req,
        StatusCode::OK,
        Some(state.entity_tag(&format!("citation:{}", citation.id))),
        &citation,
    )
}

/// Update a citation
///
/// Merge semantics; `null` clears an optional field. A new `number` renumbers it
/// (409 when taken): update the body's `[n]` to match.
#[utoipa::path(
    tag = "citations",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, CitationPath),
    request_body(content = CitationPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The citation", body = Citation),
        (status = 409, description = "Another citation has this number", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "A field is not valid, or a published article would fail the publishing check",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/articles/{article}/citations/{citation}")]
pub async fn update_citation(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    citation: CitationPath,
    body: JsonBody<CitationPatch>,
) -> AppResult<HttpResponse> {
    let input = body.parse().await?;
    let key = article.key()?;
    let id = citation.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let (citation, state) = citations::update(&mut conn, &key, id, &input, &write).await?;
    part_written(&req, &state, StatusCode::OK, &citation)
}

/// Delete a citation
///
/// Other citations keep their numbers. A published article whose body still
/// refers to it cannot lose it (422).
#[utoipa::path(
    tag = "citations",
    security(("bearer" = ["content:write"])),
    params(ArticlePath, CitationPath),
    responses(
        (status = 204, description = "The citation was deleted", headers(
            ("ETag" = String, description = "The entity tag a GET of the whole article now gives"),
        )),
        (status = 422, description = "A published article would fail the publishing check",
            body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/articles/{article}/citations/{citation}")]
pub async fn delete_citation(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
    citation: CitationPath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let id = citation.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let state = citations::delete(&mut conn, &key, id, &write).await?;
    Ok(part_deleted(&state))
}

/// `{citation}`: a citation's id.
pub struct CitationSegment;
pub type CitationPath = PathParam<CitationSegment>;

impl Segment for CitationSegment {
    const NAME: &'static str = "citation";
    const DESCRIPTION: &'static str = "The citation's id";
    const NOT_FOUND: &'static str = "No such article or citation";
    const SHAPE: Shape = Shape::Id;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        citations::parse_id(value)
    }
}
