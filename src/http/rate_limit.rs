//! Rate limits: a fixed one-minute window per token, and per client address for
//! callers without a token. Answers 429 with `Retry-After`, and `RateLimit-*`
//! headers on every limited response.
//!
//! The counts live in this process: with several replicas, each enforces the limit
//! on its own share of the traffic (see the README).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};

use crate::error::AppError;
use crate::http::auth::authenticate;

/// Above this many tracked callers, finished windows are dropped.
const SWEEP_ABOVE: usize = 10_000;

/// Requests per minute; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub anonymous_per_minute: u32,
    pub token_per_minute: u32,
    /// Take the client address from `Forwarded`/`X-Forwarded-For` (behind a proxy
    /// you trust) rather than from the connection.
    pub trust_forwarded: bool,
    /// The counting window: a minute (tests shorten it).
    pub window: Duration,
}

impl RateLimits {
    pub const OFF: RateLimits = RateLimits {
        anonymous_per_minute: 0,
        token_per_minute: 0,
        trust_forwarded: false,
        window: Duration::from_secs(60),
    };
}

struct Window {
    started: Instant,
    count: u32,
}

/// The counters, shared by the workers of one process.
pub struct RateLimiter {
    limits: RateLimits,
    windows: Mutex<HashMap<String, Window>>,
}

/// The outcome of counting one request.
struct Decision {
    allowed: bool,
    limit: u32,
    remaining: u32,
    reset: u64,
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits,
            windows: Mutex::new(HashMap::new()),
        }
    }

    fn count(&self, key: String, limit: u32) -> Decision {
        let now = Instant::now();
        let window_length = self.limits.window;
        // A poisoned lock only means another request panicked mid-count; the map
        // is still usable.
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, w| now.duration_since(w.started) < window_length);
        }
        let window = windows.entry(key).or_insert(Window {
            started: now,
            count: 0,
        });
        if now.duration_since(window.started) >= window_length {
            *window = Window {
                started: now,
                count: 0,
            };
        }
        let reset = window_length
            .saturating_sub(now.duration_since(window.started))
            .as_secs()
            .max(1);
        if window.count >= limit {
            return Decision {
                allowed: false,
                limit,
                remaining: 0,
                reset,
            };
        }
        window.count += 1;
        Decision {
            allowed: true,
            limit,
            remaining: limit - window.count,
            reset,
        }
    }
}

fn insert_headers(headers: &mut actix_web::http::header::HeaderMap, decision: &Decision) {
    for (name, value) in [
        ("ratelimit-limit", decision.limit as u64),
        ("ratelimit-remaining", decision.remaining as u64),
        ("ratelimit-reset", decision.reset),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

/// The address a client calls from: the connection's peer, or with
/// `trust_forwarded` the address the nearest proxy saw (the last `X-Forwarded-For`
/// entry; the ones before it are whatever the client claimed).
fn client_address(req: &ServiceRequest, trust_forwarded: bool) -> String {
    let forwarded = trust_forwarded
        .then(|| req.headers().get("x-forwarded-for")?.to_str().ok())
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty());
    forwarded
        .or_else(|| req.peer_addr().map(|a| a.ip().to_string()))
        .unwrap_or_default()
}

/// Identifies the caller of each API request and counts the request against its
/// limit: per token once the token is verified, per client address otherwise
/// (failed authentications included, so that made-up tokens cannot mint fresh
/// allowances). The caller is left in the request for the [`Caller`] extractor.
pub async fn identify_and_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if !req.path().starts_with("/api/") {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let limiter = req.app_data::<web::Data<RateLimiter>>().cloned();
    let limits = limiter.as_ref().map_or(RateLimits::OFF, |l| l.limits);
    let address = format!("address:{}", client_address(&req, limits.trust_forwarded));
    let identified = authenticate(req.request()).await;
    let (key, limit) = match &identified {
        Ok(caller) => match caller.token_id {
            Some(id) => (format!("token:{id}"), limits.token_per_minute),
            None => (address, limits.anonymous_per_minute),
        },
        Err(_) => (address, limits.anonymous_per_minute),
    };
    let decision = match &limiter {
        Some(limiter) if limit > 0 => Some(limiter.count(key, limit)),
        _ => None,
    };
    let refusal = match (&decision, identified) {
        (Some(decision), _) if !decision.allowed => Some(AppError::TooManyRequests {
            retry_after: decision.reset,
        }),
        (_, Err(error)) => Some(error),
        (_, Ok(caller)) => {
            req.extensions_mut().insert(caller);
            None
        }
    };
    if let Some(error) = refusal {
        let mut response = error.error_response();
        if let Some(decision) = &decision {
            insert_headers(response.headers_mut(), decision);
        }
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    if let Some(decision) = &decision {
        insert_headers(response.headers_mut(), decision);
    }
    Ok(response.map_into_left_body())
}
