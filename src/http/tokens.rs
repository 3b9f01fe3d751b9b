//! `/api/v1/tokens`: API tokens, managed by admins.

use actix_web::http::{header, StatusCode};
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::tokens::{self, NewToken, NewTokenCreated, Token};
use crate::auth::{Caller, Scope};
use crate::db::DbPool;
use crate::error::AppResult;
use crate::http::auth::AuthCache;
use crate::http::conditional::json_with_etag;
use crate::http::extract::JsonBody;
use crate::http::paths::{PathParam, Segment, Shape};
use crate::http::responses::InvalidFields;
use crate::http::{connection, with_location, API_PREFIX};

/// All tokens.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TokenList {
    /// Newest first, revoked ones included (they record who did what).
    pub items: Vec<Token>,
}

/// List tokens
///
/// Never their secrets: those are shown once, at creation.
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = ["admin"])),
    responses(
        (status = 200, description = "The tokens", body = TokenList),
    )
)]
#[get("/tokens")]
pub async fn list_tokens(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let mut conn = connection(&pool).await?;
    let items = tokens::list(&mut conn).await?;
    json_with_etag(&req, StatusCode::OK, None, &TokenList { items })
}

/// Create a token
///
/// The answer holds the secret, the only time it is shown: store it.
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = ["admin"])),
    request_body(content = NewToken, content_type = "application/json"),
    responses(
        (status = 201, description = "The token, with its secret", body = NewTokenCreated,
            headers(("Location" = String, description = "URL of the token"))),
        (status = 422, response = InvalidFields),
    )
)]
#[post("/tokens")]
pub async fn create_token(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    body: JsonBody<NewToken>,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let input = body.parse().await?;
    let mut conn = connection(&pool).await?;
    let created = tokens::create(&mut conn, &input).await?;
    let response = json_with_etag(&req, StatusCode::CREATED, None, &created)?;
    let mut response = with_location(
        response,
        &format!("{API_PREFIX}/tokens/{}", created.token.id),
    );
    // The secret must not linger in caches.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

/// Get a token
///
/// By id or prefix (`cms_3f2a9c1b`).
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = ["admin"])),
    params(TokenPath),
    responses(
        (status = 200, description = "The token", body = Token),
    )
)]
#[get("/tokens/{token}")]
pub async fn get_token(
    req: HttpRequest,
    caller: Caller,
    pool: web::Data<DbPool>,
    token: TokenPath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let mut conn = connection(&pool).await?;
    let token = tokens::find(&mut conn, &token.key()?).await?;
    json_with_etag(&req, StatusCode::OK, None, &token)
}

/// Revoke a token
///
/// It stops working at once on the server that revokes it, and within 10 seconds
/// on every other replica. The token stays listed, as revoked.
#[utoipa::path(
    tag = "tokens",
    security(("bearer" = ["admin"])),
    params(TokenPath),
    responses(
        (status = 204, description = "The token is revoked"),
    )
)]
#[delete("/tokens/{token}")]
pub async fn revoke_token(
    caller: Caller,
    pool: web::Data<DbPool>,
    cache: web::Data<AuthCache>,
    token: TokenPath,
) -> AppResult<HttpResponse> {
    caller.require(Scope::Admin)?;
    let mut conn = connection(&pool).await?;
    let revoked = tokens::revoke(&mut conn, &token.key()?).await?;
    cache.forget(revoked.id);
    Ok(HttpResponse::NoContent().finish())
}

/// `{token}`: a token's id or prefix (`cms_3f2a9c1b`); any other value names no
/// token, which the lookup answers.
pub struct TokenSegment;
pub type TokenPath = PathParam<TokenSegment>;

impl Segment for TokenSegment {
    const NAME: &'static str = "token";
    const DESCRIPTION: &'static str = "The token's id or prefix";
    const NOT_FOUND: &'static str = "No token has this id or prefix";
    const SHAPE: Shape = Shape::IdOrSlug;
    type Key = String;
    fn parse(value: &str) -> AppResult<String> {
        Ok(value.to_string())
    }
}
