//! `/api/v1/sections`: the managed list of sections (admins write it; everyone
//! reads it) and each section's articles.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Scope};
use crate::content::articles::ArticleFilter;
use crate::content::precondition::Write;
use crate::content::sections::{self, NewSection, Section, SectionKey, SectionPatch};
use crate::db::DbPool;
use crate::error::{AppResult, Problem};
use crate::http::articles::{list_response, ListArticlesParams};
use crate::http::conditional::{json_with_etag, precondition};
use crate::http::extract::{JsonBody, Query};
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::{BadParameter, InvalidFields};
use crate::http::{connection, with_location, write_connection, API_PREFIX};

/// Every section.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SectionList {
    /// By name (at most 200 sections exist).
    pub items: Vec<Section>,
}

/// A write to the section list: admins only.
fn admin_write(req: &HttpRequest, caller: &Caller) -> AppResult<Write> {
    caller.require(Scope::Admin)?;
    Ok(Write {
        precondition: precondition(req),
        actor: caller.token_id,
    })
}

fn answer(req: &HttpRequest, status: StatusCode, section: &Section) -> AppResult<HttpResponse> {
    json_with_etag(
        req,
        status,
        Some(section.state().entity_tag("section")),
        section,
    )
}

/// List sections
///
/// Every section, by name: the site's navigation, public.
#[utoipa::path(
    tag = "sections",
    security((), ("bearer" = ["content:read"])),
    responses(
        (status = 200, description = "Every section", body = SectionList),
    )
)]
#[get("/sections")]
pub async fn list_sections(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
) -> AppResult<HttpResponse> {
    let mut conn = connection(&pool).await?;
    let items = sections::list(&mut conn, caller.audience()).await?;
    json_with_etag(&req, StatusCode::OK, None, &SectionList { items })
}

/// Create a section
///
/// The slug is derived from the name unless given. At most 200 sections.
#[utoipa::path(
    tag = "sections",
    security(("bearer" = ["admin"])),
    request_body(content = NewSection, content_type = "application/json"),
    responses(
        (status = 201, description = "The section was created", body = Section, headers(
            ("Location" = String, description = "URL of the new section"),
        )),
        (status = 409, description = "Another section has this slug or name, or there are 200 already",
            body = Problem, content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/sections")]
pub async fn create_section(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    body: JsonBody<NewSection>,
) -> AppResult<HttpResponse> {
    let write = admin_write(&req, &caller)?;
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let section = sections::create(&mut conn, &input, &write).await?;
    let response = answer(&req, StatusCode::CREATED, &section)?;
    Ok(with_location(
        response,
        &format!("{API_PREFIX}/sections/{}", section.id),
    ))
}

/// Get a section
///
/// By id or by slug.
#[utoipa::path(
    tag = "sections",
    security((), ("bearer" = ["content:read"])),
    params(SectionPath),
    responses(
        (status = 200, description = "The section", body = Section),
    )
)]
#[get("/sections/{section}")]
pub async fn get_section(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    section: SectionPath,
) -> AppResult<HttpResponse> {
    let mut conn = connection(&pool).await?;
    let section = sections::find(&mut conn, &section.key()?, caller.audience()).await?;
    answer(&req, StatusCode::OK, &section)
}

/// Update a section
///
/// Merge semantics: only the fields sent change; `description: null` clears it.
/// A new name or slug changes the version (and `ETag`) of every article in the
/// section, each with a revision.
#[utoipa::path(
    tag = "sections",
    security(("bearer" = ["admin"])),
    params(SectionPath),
    request_body(content = SectionPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The updated section", body = Section),
        (status = 409, description = "Another section has this slug or name", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, response = InvalidFields),
    )
)]
#[patch("/sections/{section}")]
pub async fn update_section(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    section: SectionPath,
    body: JsonBody<SectionPatch>,
) -> AppResult<HttpResponse> {
    let write = admin_write(&req, &caller)?;
    let input = body.parse().await?;
    let mut conn = write_connection(&req, &pool).await?;
    let section = sections::update(&mut conn, &section.key()?, &input, &write).await?;
    answer(&req, StatusCode::OK, &section)
}

/// Delete a section
///
/// Only an empty one: while any article (trashed ones and pending changes
/// included) is in it, 409 says how many are.
#[utoipa::path(
    tag = "sections",
    security(("bearer" = ["admin"])),
    params(SectionPath),
    responses(
        (status = 204, description = "The section was deleted"),
        (status = 409, description = "Articles are in the section", body = Problem,
            content_type = "application/problem+json"),
    )
)]
#[delete("/sections/{section}")]
pub async fn delete_section(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    section: SectionPath,
) -> AppResult<HttpResponse> {
    let write = admin_write(&req, &caller)?;
    let mut conn = write_connection(&req, &pool).await?;
    sections::delete(&mut conn, &section.key()?, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a section's articles
///
/// The articles in this section, with the filters, sort and paging of
/// `GET /articles`.
#[utoipa::path(
    tag = "sections",
    security((), ("bearer" = ["content:read"])),
    params(SectionPath, ListArticlesParams),
    responses(
        (status = 200, description = "A page of articles", body = crate::http::articles::ArticlePage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/sections/{section}/articles")]
pub async fn list_section_articles(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    section: SectionPath,
    params: Query<ListArticlesParams>,
) -> AppResult<HttpResponse> {
    let key = section.key()?;
    let mut conn = connection(&pool).await?;
    let section = sections::find(&mut conn, &key, caller.audience()).await?;
    let mut filter = ArticleFilter::for_audience(caller.audience());
    filter.section_groups.push(vec![section.slug]);
    list_response(&req, &mut conn, filter, &params).await
}

/// `{section}`: a section's id or slug.
pub struct SectionSegment;
pub type SectionPath = PathParam<SectionSegment>;

impl Segment for SectionSegment {
    const NAME: &'static str = "section";
    const DESCRIPTION: &'static str = "The section's id or slug";
    const NOT_FOUND: &'static str = "No section has this id or slug";
    const SHAPE: Shape = Shape::IdOrSlug;
    type Key = SectionKey;
    fn parse(value: &str) -> AppResult<SectionKey> {
        sections::parse_key(value)
    }
}
