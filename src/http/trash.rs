//! `/api/v1/trash/articles`: deleted articles, kept whole until restored or purged.
//! Editors list and restore them; admins purge them.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, Scope};
use crate::content::articles::trash::{self, TrashedArticle};
use crate::content::articles::WholeArticle;
use crate::content::pagination::PageRequest;
use crate::content::precondition::Write;
use crate::db::DbPool;
use crate::error::AppResult;
use crate::http::articles::{whole_article, ArticlePath};
use crate::http::conditional::{json_with_etag, precondition};
use crate::http::extract::Query;
use crate::http::responses::BadParameter;
use crate::http::revisions::PageParams;
use crate::http::{connection, with_next_link, write_connection};

/// One page of the trash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TrashPage {
    /// Most recently deleted first.
    pub items: Vec<TrashedArticle>,
    /// Cursor of the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// List the trash
///
/// Deleted articles (summaries), most recently deleted first, a page at a time.
/// Their slugs stay taken until they are purged.
#[utoipa::path(
    tag = "trash",
    security(("bearer" = ["content:read"])),
    params(PageParams),
    responses(
        (status = 200, description = "A page of deleted articles", body = TrashPage, headers(
            ("Link" = String, description = "`<url>; rel=\"next\"` when there is a next page"),
        )),
        (status = 400, response = BadParameter),
    )
)]
#[get("/trash/articles")]
pub async fn list_trash(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    params: Query<PageParams>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::ContentRead)?;
    let page = PageRequest::parse(params.limit, params.cursor.as_deref())?;
    let mut conn = connection(&pool).await?;
    let (items, next_cursor) = trash::list_trash(&mut conn, &page).await?;
    let response = json_with_etag(
        &req,
        StatusCode::OK,
        None,
        &TrashPage {
            items,
            next_cursor: next_cursor.clone(),
        },
    )?;
    Ok(with_next_link(&req, response, next_cursor.as_deref()))
}

/// Restore a deleted article
///
/// Back whole, as it was deleted: fields, parts, tags, status and history. A live
/// article is live again at once.
#[utoipa::path(
    tag = "trash",
    security(("bearer" = ["content:write"])),
    params(ArticlePath),
    responses(
        (status = 200, description = "The article, restored", body = WholeArticle),
    )
)]
#[post("/trash/articles/{article}/restore")]
pub async fn restore_article(
    req: HttpRequest,
    write: Write,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    let article = trash::restore(&mut conn, &key, &write).await?;
    whole_article(&req, &article)
}

/// Purge a deleted article
///
/// Removes it for good, with its parts and revisions; its slug is free again.
/// Admins only.
#[utoipa::path(
    tag = "trash",
    security(("bearer" = ["admin"])),
    params(ArticlePath),
    responses(
        (status = 204, description = "The article is gone for good"),
    )
)]
#[delete("/trash/articles/{article}")]
pub async fn purge_article(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    article: ArticlePath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let write = Write {
        precondition: precondition(&req),
        actor: caller.token_id,
    };
    let key = article.key()?;
    let mut conn = write_connection(&req, &pool).await?;
    trash::purge(&mut conn, &key, &write).await?;
    Ok(HttpResponse::NoContent().finish())
}
