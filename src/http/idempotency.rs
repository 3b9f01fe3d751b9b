//! Idempotency keys: a write (`POST`, `PUT`, `PATCH`, `DELETE` under `/api/v1`) sent
//! with an `Idempotency-Key` header and a bearer token is performed once; a retry
//! with the same key and the same request gets the first response again (status,
//! headers, body), the same key with another request gets 422.
//!
//! The database row of the key (`idempotency_keys`, per token: the SHA-256 of the
//! bearer token) is the coordination point, so that this holds for requests racing
//! on several connections or replicas:
//!
//! * the request that inserts the row (`INSERT ... ON CONFLICT`) holds a lease
//!   (`locked_until`, the request deadline and a second) and runs the handler; its
//!   response is stored in the row, fenced by the lease;
//! * once the handler has started, the key is never given back: what it did may
//!   have committed. When its outcome is not known (a 5xx, the request cut off by
//!   its deadline or a disconnect, a response that could not be read or stored) the
//!   row is marked `outcome_unknown` (in the background when the request's future
//!   is dropped), and a retry gets 409 `/problems/idempotency-outcome-unknown`: it
//!   must check the resource and use a new key, nothing runs twice. A row whose
//!   lease passed with no response stored (its process died, or the marker could
//!   not be written) counts as outcome unknown too. Only a refusal that did nothing
//!   (401, 408, 429) deletes the row, so that a retry runs (and made-up tokens
//!   leave nothing behind);
//! * a request that finds the row completed replays it, one whose outcome is
//!   unknown answers 409; one that finds it in progress polls (a connection per
//!   look, none held between them) until it is completed or its outcome unknown, or
//!   the request's own deadline nears (409, retry later);
//! * a finished row (completed, or outcome unknown) older than
//!   `CMS_IDEMPOTENCY_TTL_SECS` counts as absent (the next request with the key
//!   takes it over), and expired rows are deleted in bounded batches, at most once
//!   a minute per process.
//!
//! It runs after the caller is identified and counted against the rate limit
//! (refused tokens, 429s and callers without `content:write` claim no key, and their
//! bodies are not read), and within the request deadline. Requests without a
//! bearer token are left alone (the handler refuses them), and so is everything
//! without the header, and token creation (its answer carries the new token's
//! secret, which is stored nowhere).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{to_bytes, BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse, ResponseError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Double, Text, Timestamptz};
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};

use crate::auth::{Caller, Scope};
use crate::db::schema::idempotency_keys;
use crate::db::DbPool;
use crate::error::{AppError, AppResult};
use crate::http::auth::bearer_token;
use crate::http::extract::{read_body, BodyLimit};
use crate::http::middleware::{Deadline, RequestTimeout, REQUEST_ID};
use crate::http::RouteTable;

/// The request header.
pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
/// The longest key, in characters (printable ASCII, no spaces).
pub const MAX_KEY_LENGTH: usize = 255;
/// How often a request waiting for another with the same key looks again.
const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// A waiting request answers 409 this long before its deadline (a quarter of the
/// request timeout when that is shorter), so that the 409 beats the deadline's 503.
const DEADLINE_MARGIN: Duration = Duration::from_secs(1);
/// Expired keys are deleted at most this often per process...
const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// ... at most this many at a time.
const SWEEP_BATCH: i64 = 1000;

/// How long keys are kept (`CMS_IDEMPOTENCY_TTL_SECS`), and when this process last
/// deleted expired ones.
pub struct Idempotency {
    ttl: Duration,
    last_sweep: Mutex<Option<Instant>>,
}

impl Idempotency {
    pub fn new(ttl: Duration) -> Idempotency {
        Idempotency {
            ttl,
            last_sweep: Mutex::new(None),
        }
    }

    /// Whether it is time to delete expired keys (and, if so, notes that it is done).
    fn sweep_due(&self) -> bool {
        let mut last = self.last_sweep.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let due = last.is_none_or(|at| now.duration_since(at) >= SWEEP_EVERY.min(self.ttl));
        if due {
            *last = Some(now);
        }
        due
    }
}

/// Whether a key applies to `method` on `path` (a path of the API, or its
/// template in the spec): every write (`PUT` too: a retried conditional `PUT` would
/// otherwise answer 412 once the first attempt went through) but creating a token,
/// whose answer carries the token's secret, which is never stored.
pub fn covers(method: Method, path: &str) -> bool {
    let write = [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(&method);
    let in_api = path
        .strip_prefix(crate::http::API_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
    let new_token =
        method == Method::POST && path.strip_prefix(crate::http::API_PREFIX) == Some("/tokens");
    write && in_api && !new_token
}

/// Whether a route takes the request: a path that does not exist (404) or does not
/// take the method (405) is answered as without a key.
fn routed(req: &ServiceRequest) -> bool {
    req.app_data::<web::Data<RouteTable>>()
        .is_none_or(|routes| {
            routes
                .allowed_methods(req.path())
                .is_some_and(|methods| methods.contains(req.method()))
        })
}

/// Performs a keyed write once; see the module documentation.
pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let settings = req.app_data::<web::Data<Idempotency>>().cloned();
    let pool = req.app_data::<web::Data<DbPool>>().cloned();
    let token = bearer_token(req.request()).and_then(Result::ok);
    let (Some(settings), Some(pool), Some(token)) = (settings, pool, token) else {
        return pass(req, next).await;
    };
    if !covers(req.method().clone(), req.path())
        || !req.headers().contains_key(IDEMPOTENCY_KEY)
        || !routed(&req)
    {
        return pass(req, next).await;
    }
    // A caller who may not write at all hears so (403) from the handler, with no
    // key claimed and no body read. (Every write needs `content:write` at least.)
    let may_write = req
        .extensions()
        .get::<Caller>()
        .is_none_or(|caller| caller.has(Scope::ContentWrite));
    if !may_write {
        return pass(req, next).await;
    }
    let request = match Keyed::read(&mut req, &token).await {
        Ok(request) => request,
        Err(error) => return Ok(req.error_response(error)),
    };
    if settings.sweep_due() {
        actix_web::rt::spawn(sweep(pool.clone(), settings.ttl));
    }
    let timeout = req
        .app_data::<RequestTimeout>()
        .map_or(Duration::from_secs(10), |t| t.0);
    let deadline = req
        .extensions()
        .get::<Deadline>()
        .map_or_else(|| Instant::now() + timeout, |d| d.0);
    let wait_until = deadline
        .checked_sub(DEADLINE_MARGIN.min(timeout / 4))
        .unwrap_or(deadline);
    let lease = timeout + Duration::from_secs(1);

    let lease = match claim(&pool, &request, lease, settings.ttl, wait_until).await {
        Ok(Claimed::Run(lease)) => lease,
        Ok(Claimed::Replay(stored)) => {
            tracing::debug!(key = %request.key, "replaying the stored response");
            return Ok(match stored.response() {
                Ok(response) => req.into_response(response),
                Err(error) => req.error_response(error),
            });
        }
        Err(error) => return Ok(req.error_response(error)),
    };

    // From here on the handler runs: dropped (the deadline passed, the client went
    // away) before it settles, the claim marks the key's outcome unknown.
    let mut claim = Claim {
        pool: pool.clone(),
        scope: request.scope.clone(),
        key: request.key.clone(),
        lease,
        settled: false,
        releasing: false,
    };
    req.set_payload(Payload::from(request.body.clone()));
    let response = match next.call(req).await {
        Ok(response) => response,
        Err(error) => {
            match outcome(error.as_response_error().status_code()) {
                Outcome::Release => claim.release().await,
                Outcome::Store | Outcome::Unknown => claim.mark_unknown().await,
            }
            return Err(error);
        }
    };
    let status = response.status();
    let (http_request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let body = match to_bytes(body).await {
        Ok(body) => body,
        Err(error) => {
            claim.mark_unknown().await;
            let error: Box<dyn std::error::Error> = error.into();
            let error = AppError::Internal(format!("reading a response body failed: {error}"));
            return Ok(ServiceResponse::new(http_request, error.error_response()));
        }
    };
    let stored = match outcome(status) {
        Outcome::Store => Stored::capture(status, head.headers(), body.clone()),
        Outcome::Release => {
            claim.release().await;
            None
        }
        Outcome::Unknown => {
            claim.mark_unknown().await;
            None
        }
    };
    match stored {
        Some(stored) => {
            claim.store(&stored).await;
            let response = stored.response().unwrap_or_else(|e| e.error_response());
            Ok(ServiceResponse::new(http_request, response))
        }
        None => {
            if !claim.settled {
                // A response that cannot be stored (a header that is not text).
                claim.mark_unknown().await;
            }
            Ok(ServiceResponse::new(
                http_request,
                head.set_body(BoxBody::new(body)),
            ))
        }
    }
}

async fn pass(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// What becomes of a key once its handler answered.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The response is kept for replay.
    Store,
    /// A refusal that did nothing and that a retry may cure (408, 429), or a
    /// refused token (401: made-up tokens must leave nothing behind): the key is
    /// given back.
    Release,
    /// A 5xx: the handler may have committed before it failed, so the key is
    /// marked outcome unknown (a retry gets 409, never a second run).
    Unknown,
}

fn outcome(status: StatusCode) -> Outcome {
    if status.is_server_error() {
        Outcome::Unknown
    } else if status == StatusCode::UNAUTHORIZED
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
    {
        Outcome::Release
    } else {
        Outcome::Store
    }
}

/// A keyed request, its body read.
struct Keyed {
    /// SHA-256 of the bearer token.
    scope: Vec<u8>,
    key: String,
    method: String,
    path: String,
    /// SHA-256 of the method, path, query and body.
    hash: Vec<u8>,
    body: web::Bytes,
}

impl Keyed {
    /// Checks the key and reads the body (within the body's size and time limits).
    async fn read(req: &mut ServiceRequest, token: &str) -> AppResult<Keyed> {
        let key = key(req.headers())?;
        let limit = req.app_data::<BodyLimit>().copied().unwrap_or_default();
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<usize>().ok());
        if declared.is_some_and(|length| length > limit.bytes) {
            return Err(AppError::PayloadTooLarge { limit: limit.bytes });
        }
        let body = tokio::time::timeout(limit.timeout, read_body(req.take_payload(), limit.bytes))
            .await
            .map_err(|_| AppError::RequestTimeout(limit.timeout))??
            .freeze();
        let method = req.method().as_str().to_string();
        let path = req.path().to_string();
        let target = req
            .uri()
            .path_and_query()
            .map_or(path.as_str(), |p| p.as_str());
        let hash = request_hash(&method, target, &body);
        Ok(Keyed {
            scope: scope(token),
            key,
            method,
            path,
            hash,
            body,
        })
    }
}

/// Whose keys a request's are: the SHA-256 of its bearer token.
pub fn scope(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// What tells two requests with one key apart: the SHA-256 of the method, the path
/// with its query (`target`) and the body, each preceded by its length.
pub fn request_hash(method: &str, target: &str, body: &[u8]) -> Vec<u8> {
    let mut hash = Sha256::new();
    for part in [method.as_bytes(), target.as_bytes(), body] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().to_vec()
}

/// The `Idempotency-Key` header: one, of 1 to [`MAX_KEY_LENGTH`] printable ASCII
/// characters without spaces (400 otherwise).
fn key(headers: &HeaderMap) -> AppResult<String> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY);
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(AppError::InvalidParameter(
            "Send one Idempotency-Key header, not several.".into(),
        ));
    };
    let value = value.as_bytes();
    if value.is_empty() || value.len() > MAX_KEY_LENGTH || !value.iter().all(u8::is_ascii_graphic) {
        return Err(AppError::InvalidParameter(format!(
            "The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable ASCII \
             characters without spaces (a UUID, say)."
        )));
    }
    Ok(String::from_utf8_lossy(value).into_owned())
}

/// What looking up a key found for this request.
enum Claimed {
    /// This request holds the key, under a lease that ends then: run it.
    Run(DateTime<Utc>),
    /// The key's request completed: answer its response.
    Replay(Stored),
}

/// A stored response: status, headers (in order, repeated ones repeated) and body.
struct Stored {
    status: u16,
    headers: Vec<(String, String)>,
    body: web::Bytes,
}

/// Headers that describe this connection or this exchange rather than the
/// response, and that the layers around this one set on every response anyway.
fn kept(name: &HeaderName) -> bool {
    !matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "te"
            | "trailer"
            | "upgrade"
            | "content-length"
            | "date"
    ) && *name != REQUEST_ID
}

impl Stored {
    /// The response to store; `None` when a header value is not text (never the
    /// case for the API's own headers), so that it is not stored.
    fn capture(status: StatusCode, headers: &HeaderMap, body: web::Bytes) -> Option<Stored> {
        let mut kept_headers = Vec::new();
        for (name, value) in headers.iter().filter(|(name, _)| kept(name)) {
            kept_headers.push((name.as_str().to_string(), value.to_str().ok()?.to_string()));
        }
        Some(Stored {
            status: status.as_u16(),
            headers: kept_headers,
            body,
        })
    }

    fn response(&self) -> AppResult<HttpResponse> {
        let broken = |what: &str| AppError::Internal(format!("a stored response has a bad {what}"));
        let status = StatusCode::from_u16(self.status).map_err(|_| broken("status"))?;
        let mut response = HttpResponse::build(status);
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| broken("header"))?;
            let value = HeaderValue::from_str(value).map_err(|_| broken("header"))?;
            response.append_header((name, value));
        }
        Ok(response.body(self.body.clone()))
    }

    fn headers_json(&self) -> serde_json::Value {
        self.headers
            .iter()
            .map(|(name, value)| serde_json::json!([name, value]))
            .collect()
    }

    fn from_row(status: i16, headers: serde_json::Value, body: Vec<u8>) -> AppResult<Stored> {
        let broken = || AppError::Internal("a stored response has bad headers".into());
        let pairs = headers.as_array().ok_or_else(broken)?;
        let mut headers = Vec::with_capacity(pairs.len());
        for pair in pairs {
            match pair.as_array().map(Vec::as_slice) {
                Some([serde_json::Value::String(name), serde_json::Value::String(value)]) => {
                    headers.push((name.clone(), value.clone()));
                }
                _ => return Err(broken()),
            }
        }
        Ok(Stored {
            status: u16::try_from(status).map_err(|_| broken())?,
            headers,
            body: body.into(),
        })
    }
}

/// Inserts the key's row for this request, or takes over a finished one (its
/// response stored, its outcome unknown, or its lease passed with neither) that is
/// older than the TTL; returns the new lease, or nothing when the key is another
/// request's.
const CLAIM: &str = "\
INSERT INTO idempotency_keys AS k (scope, key, method, path, request_hash, locked_until)
VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
ON CONFLICT (scope, key) DO UPDATE SET
    method = excluded.method,
    path = excluded.path,
    request_hash = excluded.request_hash,
    response_status = NULL,
    response_headers = NULL,
    response_body = NULL,
    outcome_unknown = false,
    created_at = now(),
    locked_until = excluded.locked_until
WHERE (k.response_status IS NOT NULL OR k.outcome_unknown OR k.locked_until < now())
  AND k.created_at < now() - make_interval(secs => $7)
RETURNING locked_until";

#[derive(QueryableByName)]
struct Lease {
    #[diesel(sql_type = Timestamptz)]
    locked_until: DateTime<Utc>,
}

/// The request hash, the stored response, and whether the outcome is unknown
/// (marked so, or the lease passed with no response stored).
type KeyRow = (
    Vec<u8>,
    Option<i16>,
    Option<serde_json::Value>,
    Option<Vec<u8>>,
    bool,
);

/// Claims the key, or replays its response, or waits for the request that holds it
/// (until `wait_until`: 409 then); 422 when the key belongs to another request, 409
/// when its request's outcome is unknown.
async fn claim(
    pool: &DbPool,
    request: &Keyed,
    lease: Duration,
    ttl: Duration,
    wait_until: Instant,
) -> AppResult<Claimed> {
    loop {
        {
            let mut conn = crate::http::connection(pool).await?;
            let claimed = diesel::sql_query(CLAIM)
                .bind::<Bytea, _>(request.scope.as_slice())
                .bind::<Text, _>(request.key.as_str())
                .bind::<Text, _>(request.method.as_str())
                .bind::<Text, _>(request.path.as_str())
                .bind::<Bytea, _>(request.hash.as_slice())
                .bind::<Double, _>(lease.as_secs_f64())
                .bind::<Double, _>(ttl.as_secs_f64())
                .get_result::<Lease>(&mut conn)
                .await
                .optional()?;
            if let Some(claimed) = claimed {
                return Ok(Claimed::Run(claimed.locked_until));
            }
            let row: Option<KeyRow> = idempotency_keys::table
                .find((request.scope.as_slice(), request.key.as_str()))
                .select((
                    idempotency_keys::request_hash,
                    idempotency_keys::response_status,
                    idempotency_keys::response_headers,
                    idempotency_keys::response_body,
                    idempotency_keys::outcome_unknown
                        .or(idempotency_keys::locked_until.lt(diesel::dsl::now)),
                ))
                .first(&mut conn)
                .await
                .optional()?;
            match row {
                // Deleted meanwhile (released, or expired): claim it again.
                None => {}
                Some((hash, ..)) if hash != request.hash => {
                    return Err(AppError::IdempotencyKeyReused)
                }
                Some((_, Some(status), Some(headers), Some(body), _)) => {
                    return Stored::from_row(status, headers, body).map(Claimed::Replay)
                }
                Some((.., true)) => return Err(AppError::IdempotencyOutcomeUnknown),
                // In progress elsewhere.
                Some(_) => {}
            }
        }
        if Instant::now() + POLL_INTERVAL >= wait_until {
            return Err(AppError::IdempotencyKeyInProgress);
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// The key this request holds while its handler runs, until its response is
/// stored, its outcome marked unknown or the key released. Dropped unsettled (the
/// deadline passed, the client went away), it marks the outcome unknown in the
/// background (or, cut off while releasing, finishes releasing), so that a retry
/// hears 409 at once rather than waiting for the lease, and never runs again.
struct Claim {
    pool: web::Data<DbPool>,
    scope: Vec<u8>,
    key: String,
    lease: DateTime<Utc>,
    settled: bool,
    /// The key is being given back (a refusal that did nothing).
    releasing: bool,
}

impl Claim {
    /// Stores the response (only while this request still holds the key).
    async fn store(&mut self, stored: &Stored) {
        let result = async {
            let mut conn = crate::http::connection(&self.pool).await?;
            let stored_rows = diesel::update(
                idempotency_keys::table
                    .find((self.scope.as_slice(), self.key.as_str()))
                    .filter(idempotency_keys::locked_until.eq(self.lease))
                    .filter(idempotency_keys::response_status.is_null())
                    .filter(idempotency_keys::outcome_unknown.eq(false)),
            )
            .set((
                idempotency_keys::response_status.eq(stored.status as i16),
                idempotency_keys::response_headers.eq(stored.headers_json()),
                idempotency_keys::response_body.eq(stored.body.as_ref()),
            ))
            .execute(&mut conn)
            .await?;
            Ok::<usize, AppError>(stored_rows)
        }
        .await;
        // Cut off before this point, the outcome is marked unknown on drop (which
        // changes nothing once the response is stored).
        match result {
            Ok(1) => self.settled = true,
            Ok(_) => {
                self.settled = true;
                tracing::warn!(
                    key = %self.key,
                    "the idempotency key was taken over before its response was stored"
                );
            }
            Err(error) => {
                tracing::warn!(
                    key = %self.key,
                    %error,
                    "the response of a keyed request could not be stored"
                );
                self.mark_unknown().await;
            }
        }
    }

    /// Notes that the request ran (or may have) with no response to replay, so that
    /// a retry gets 409 instead of running again. Should this fail too, the lease
    /// passing has the same effect.
    async fn mark_unknown(&mut self) {
        let result = mark_unknown(&self.pool, &self.scope, &self.key, self.lease).await;
        self.settled = true;
        if let Err(error) = result {
            tracing::warn!(
                key = %self.key,
                %error,
                "an idempotency key could not be marked outcome unknown"
            );
        }
    }

    /// Gives the key up, so that a retry runs again: only for a refusal that did
    /// nothing.
    async fn release(&mut self) {
        self.releasing = true;
        let result = release(&self.pool, &self.scope, &self.key, self.lease).await;
        self.settled = true;
        if let Err(error) = result {
            tracing::warn!(key = %self.key, %error, "an idempotency key could not be released");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            // No runtime to write with: the lease passing marks the outcome unknown.
            return;
        };
        let (pool, scope, key, lease, releasing) = (
            self.pool.clone(),
            std::mem::take(&mut self.scope),
            std::mem::take(&mut self.key),
            self.lease,
            self.releasing,
        );
        runtime.spawn(async move {
            if releasing {
                if let Err(error) = release(&pool, &scope, &key, lease).await {
                    tracing::warn!(%key, %error, "an idempotency key could not be released");
                }
            } else if let Err(error) = mark_unknown(&pool, &scope, &key, lease).await {
                tracing::warn!(
                    %key,
                    %error,
                    "an idempotency key could not be marked outcome unknown"
                );
            }
        });
    }
}

async fn mark_unknown(
    pool: &DbPool,
    scope: &[u8],
    key: &str,
    lease: DateTime<Utc>,
) -> AppResult<()> {
    let mut conn = crate::http::connection(pool).await?;
    diesel::update(
        idempotency_keys::table
            .find((scope, key))
            .filter(idempotency_keys::locked_until.eq(lease))
            .filter(idempotency_keys::response_status.is_null()),
    )
    .set(idempotency_keys::outcome_unknown.eq(true))
    .execute(&mut conn)
    .await?;
    Ok(())
}

async fn release(pool: &DbPool, scope: &[u8], key: &str, lease: DateTime<Utc>) -> AppResult<()> {
    let mut conn = crate::http::connection(pool).await?;
    diesel::delete(
        idempotency_keys::table
            .find((scope, key))
            .filter(idempotency_keys::locked_until.eq(lease))
            .filter(idempotency_keys::response_status.is_null()),
    )
    .execute(&mut conn)
    .await?;
    Ok(())
}

/// Deletes up to [`SWEEP_BATCH`] expired keys, oldest first; rows another replica
/// is deleting are skipped.
const SWEEP: &str = "\
DELETE FROM idempotency_keys
WHERE (scope, key) IN (
    SELECT scope, key FROM idempotency_keys
    WHERE created_at < now() - make_interval(secs => $1)
      AND (response_status IS NOT NULL OR outcome_unknown OR locked_until < now())
    ORDER BY created_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)";

async fn sweep(pool: web::Data<DbPool>, ttl: Duration) {
    let result = async {
        let mut conn = crate::http::connection(&pool).await?;
        let deleted = diesel::sql_query(SWEEP)
            .bind::<Double, _>(ttl.as_secs_f64())
            .bind::<BigInt, _>(SWEEP_BATCH)
            .execute(&mut conn)
            .await?;
        Ok::<usize, AppError>(deleted)
    }
    .await;
    match result {
        Ok(0) => {}
        Ok(deleted) => tracing::debug!(deleted, "expired idempotency keys deleted"),
        Err(error) => tracing::warn!(%error, "expired idempotency keys could not be deleted"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(IDEMPOTENCY_KEY, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn a_key_is_one_header_of_printable_ascii() {
        assert_eq!(key(&headers(&["abc-123"])).unwrap(), "abc-123");
        assert!(key(&headers(&[&"k".repeat(MAX_KEY_LENGTH)])).is_ok());
        assert!(key(&headers(&[&"k".repeat(MAX_KEY_LENGTH + 1)])).is_err());
        assert!(key(&headers(&[""])).is_err());
        assert!(key(&headers(&["a b"])).is_err());
        assert!(key(&headers(&["a", "b"])).is_err());
    }

    #[test]
    fn only_a_refusal_that_did_nothing_gives_the_key_back() {
        assert_eq!(outcome(StatusCode::CREATED), Outcome::Store);
        assert_eq!(outcome(StatusCode::CONFLICT), Outcome::Store);
        assert_eq!(outcome(StatusCode::BAD_REQUEST), Outcome::Store);
        for status in [401, 408, 429] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(outcome(status), Outcome::Release, "{status}");
        }
        for status in [500, 502, 503, 504] {
            let status = StatusCode::from_u16(status).unwrap();
            assert_eq!(outcome(status), Outcome::Unknown, "{status}");
        }
    }

    #[test]
    fn hop_by_hop_and_per_request_headers_are_not_kept() {
        for name in ["connection", "date", "content-length", "x-request-id"] {
            assert!(!kept(&HeaderName::from_static(name)), "{name}");
        }
        for name in ["etag", "location", "content-type", "link"] {
            assert!(kept(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn stored_headers_survive_the_round_trip() {
        let mut map = HeaderMap::new();
        map.insert(header::ETAG, HeaderValue::from_static("\"v1-abc\""));
        map.append(header::LINK, HeaderValue::from_static("<a>; rel=\"next\""));
        map.append(header::LINK, HeaderValue::from_static("<b>; rel=\"prev\""));
        let stored = Stored::capture(StatusCode::CREATED, &map, web::Bytes::from("{}")).unwrap();
        let back = Stored::from_row(201, stored.headers_json(), b"{}".to_vec()).unwrap();
        assert_eq!(back.headers, stored.headers);
        let response = back.response().unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers().get_all(header::LINK).count(), 2);
    }
}
