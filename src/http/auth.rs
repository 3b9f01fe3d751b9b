//! Who is calling: the `Authorization: Bearer` token, checked against the database,
//! and what that lets the caller see and do.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use crate::content::articles::Audience;
use crate::content::precondition::Write;
use crate::content::tokens::{self, Caller, Scope};
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::http::conditional::precondition;
use crate::http::connection;

/// The caller identified by the `identify_and_limit` middleware (which runs before
/// any extractor, so that a caller without rights hears that first).
impl FromRequest for Caller {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Caller, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let identified = req.extensions().get::<Caller>().cloned();
        let req = req.clone();
        Box::pin(async move {
            match identified {
                Some(caller) => Ok(caller),
                None => authenticate(&req).await,
            }
        })
    }
}

/// Checks the request's bearer token, if any: anonymous without one, 401 for one
/// that is malformed, unknown, expired or revoked.
pub async fn authenticate(req: &HttpRequest) -> AppResult<Caller> {
    let token = match bearer_token(req) {
        None => return Ok(Caller::anonymous()),
        Some(token) => token?,
    };
    let pool = req
        .app_data::<web::Data<DbPool>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("no database pool".into()))?;
    let mut conn = connection(&pool).await?;
    tokens::authenticate(&mut conn, &token).await
}

/// The token of an `Authorization: Bearer` header: `None` without the header, an
/// error when it is there but not a bearer token.
pub fn bearer_token(req: &HttpRequest) -> Option<AppResult<String>> {
    let value = req.headers().get(header::AUTHORIZATION)?;
    let token = value.to_str().ok().and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string())
    });
    Some(token.ok_or_else(|| {
        AppError::Unauthorized("The Authorization header must be `Bearer <token>`.".into())
    }))
}

/// What the caller may read.
pub fn audience(caller: &Caller) -> Audience {
    if caller.sees_unpublished() {
        Audience::Editors
    } else {
        Audience::Public
    }
}

/// Authorizes a content write (`content:write`) and gathers what it carries: the
/// `If-Match` precondition and the token that makes it.
pub fn content_write(req: &HttpRequest, caller: &Caller) -> AppResult<Write> {
    caller.require(Scope::ContentWrite)?;
    Ok(Write {
        precondition: precondition(req),
        actor: caller.token_id,
    })
}
