//! Who is calling: the `Authorization: Bearer` token, checked against the database,
//! and what that lets the caller see and do.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use sha2::{Digest, Sha256};

use crate::auth::tokens;
use crate::auth::{Caller, Scope};
use crate::content::precondition::Write;
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

/// A content write: the caller must hold `content:write` (401/403 otherwise, before
/// the body is read); carries the request's `If-Match` and who writes.
impl FromRequest for Write {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Write, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let caller = Caller::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move { content_write(&req, &caller.await?) })
    }
}

/// Checks the request's bearer token, if any: anonymous without one, 401 for one
/// that is malformed, unknown, expired or revoked.
pub async fn authenticate(req: &HttpRequest) -> AppResult<Caller> {
    match bearer_token(req) {
        None => Ok(Caller::anonymous()),
        Some(token) => authenticate_token(req, &token?).await,
    }
}

/// Checks a bearer token against the database (its shape first, without).
pub async fn authenticate_token(req: &HttpRequest, token: &str) -> AppResult<Caller> {
    tokens::check_format(token)?;
    let pool = req
        .app_data::<web::Data<DbPool>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("no database pool".into()))?;
    let mut conn = connection(&pool).await?;
    tokens::authenticate(&mut conn, token).await
}

/// Tokens checked lately, so that most requests need no query to know their
/// caller (and a rate limit can refuse them before any database work). An entry
/// lasts [`AuthCache::TTL`] at most, and never past the token's expiry; revoking
/// a token through this process forgets it at once, through another replica (or
/// the command line) within the TTL.
pub struct AuthCache {
    /// Tokens found valid: only real tokens get here, so it stays small.
    valid: Mutex<HashMap<[u8; 32], (Caller, Instant)>>,
    /// Tokens refused (well-formed but unknown, expired, revoked): anyone can make
    /// these up, so they are kept apart, and dropped first when there are too many.
    refused: Mutex<HashMap<[u8; 32], (String, Instant)>>,
}

/// What checking a token found: its caller, or why it was refused.
type Checked = Result<Caller, AppError>;

impl Default for AuthCache {
    fn default() -> Self {
        AuthCache {
            valid: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
        }
    }
}

impl AuthCache {
    /// How long a verified token is trusted without asking the database again.
    pub const TTL: Duration = Duration::from_secs(10);
    /// At most this many tokens are remembered.
    const CAPACITY: usize = 10_000;

    fn key(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// What checking the token found, if it was checked lately.
    pub fn get(&self, token: &str) -> Option<Checked> {
        let key = Self::key(token);
        let now = Instant::now();
        if let Some((caller, until)) = lock(&self.valid).get(&key) {
            if now < *until {
                return Some(Ok(caller.clone()));
            }
        }
        let refused = lock(&self.refused);
        let (detail, until) = refused.get(&key)?;
        (now < *until).then(|| Err(AppError::Unauthorized(detail.clone())))
    }

    /// Remembers what checking a token found: a caller, or a refusal (but not a
    /// failure to check, such as the database being away).
    pub fn put(&self, token: &str, checked: &Checked) {
        let now = Instant::now();
        let key = Self::key(token);
        match checked {
            Ok(caller) => {
                let mut until = now + Self::TTL;
                if let Some(expires) = caller.expires_at {
                    let left = (expires - chrono::Utc::now()).to_std().unwrap_or_default();
                    until = until.min(now + left);
                }
                let mut valid = lock(&self.valid);
                if valid.len() >= Self::CAPACITY {
                    valid.retain(|_, (_, until)| *until > now);
                }
                if valid.len() < Self::CAPACITY {
                    valid.insert(key, (caller.clone(), until));
                }
            }
            Err(AppError::Unauthorized(detail)) => {
                let mut refused = lock(&self.refused);
                if refused.len() >= Self::CAPACITY {
                    refused.retain(|_, (_, until)| *until > now);
                    if refused.len() >= Self::CAPACITY {
                        refused.clear();
                    }
                }
                refused.insert(key, (detail.clone(), now + Self::TTL));
            }
            Err(_) => {}
        }
    }

    /// Forgets a token (when it is revoked).
    pub fn forget(&self, token_id: uuid::Uuid) {
        lock(&self.valid).retain(|_, (caller, _)| caller.token_id != Some(token_id));
    }
}

/// A poisoned lock only means another request panicked while holding it; the map
/// is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
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

/// Authorizes a content write (`content:write`) and gathers what it carries: the
/// `If-Match` precondition and the token that makes it.
fn content_write(req: &HttpRequest, caller: &Caller) -> AppResult<Write> {
    caller.require(Scope::ContentWrite)?;
    Ok(Write {
        precondition: precondition(req),
        actor: caller.token_id,
    })
}
