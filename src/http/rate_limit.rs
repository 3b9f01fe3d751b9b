//! Rate limits, refused before any database work: per token once the token is
//! known, per client address otherwise (IPv6 addresses grouped by /64). The
//! algorithm is GCRA (the `governor` crate): each caller has a burst of the
//! configured number of requests, refilled evenly over the window. Answers 429 with
//! `Retry-After` (rounded up, so that waiting that long is enough), and
//! `RateLimit-*` headers on every limited response.
//!
//! The counts live in this process, or, when `CMS_REDIS_URL` names a Redis, in
//! Redis, shared by every replica ([`SharedCounts`]; in this process again while
//! Redis is away).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::Quota;

use crate::auth::Caller;
use crate::error::AppError;
use crate::http::auth::{bearer_token, AuthCache};
use crate::http::metrics::Metrics;
use crate::http::shared_counts::SharedCounts;

/// Finished buckets are dropped every this many checks, when there are many.
const SWEEP_EVERY: u64 = 1024;
/// ... and "many" is more than this.
const SWEEP_ABOVE: usize = 10_000;

/// Requests per window; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub anonymous_per_minute: u32,
    pub token_per_minute: u32,
    /// Take the client address from `X-Forwarded-For` (behind a proxy you trust)
    /// rather than from the connection.
    pub trust_forwarded: bool,
    /// The window the counts refill over: a minute (tests shorten it).
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

type Buckets = governor::RateLimiter<
    String,
    DashMapStateStore<String>,
    DefaultClock,
    StateInformationMiddleware,
>;

/// One limit: a bucket per caller.
struct Limit {
    per_window: u32,
    window: Duration,
    buckets: Buckets,
    checks: AtomicU64,
}

impl Limit {
    fn new(per_window: u32, window: Duration) -> Option<Limit> {
        let burst = NonZeroU32::new(per_window)?;
        let quota = Quota::with_period(window / per_window)?.allow_burst(burst);
        Some(Limit {
            per_window,
            window,
            buckets: governor::RateLimiter::dashmap(quota)
                .with_middleware::<StateInformationMiddleware>(),
            checks: AtomicU64::new(0),
        })
    }

    fn check(&self, key: &str) -> Decision {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(SWEEP_EVERY)
            && self.buckets.len() > SWEEP_ABOVE
        {
            self.buckets.retain_recent();
            self.buckets.shrink_to_fit();
        }
        let per_request = self.window / self.per_window;
        match self.buckets.check_key(&key.to_string()) {
            Ok(state) => {
                let remaining = state.remaining_burst_capacity();
                Decision {
                    allowed: true,
                    limit: self.per_window,
                    remaining,
                    reset: seconds_up(per_request * (self.per_window - remaining)),
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.buckets.clock().now());
                Decision {
                    allowed: false,
                    limit: self.per_window,
                    remaining: 0,
                    reset: seconds_up(wait),
                }
            }
        }
    }
}

/// Whole seconds, rounded up: a client that waits this long is let through.
fn seconds_up(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

/// The limits of one process, shared by its workers.
pub struct RateLimiter {
    trust_forwarded: bool,
    anonymous: Option<Limit>,
    token: Option<Limit>,
    shared: Option<SharedCounts>,
}

/// The outcome of counting one request.
struct Decision {
    allowed: bool,
    limit: u32,
    remaining: u32,
    /// Seconds until the caller's whole allowance is back (or, when refused, until
    /// the next request is let through).
    reset: u64,
}

impl RateLimiter {
    /// Limits counted in this process, or through `shared` when given.
    pub fn new(limits: RateLimits, shared: Option<SharedCounts>) -> RateLimiter {
        RateLimiter {
            trust_forwarded: limits.trust_forwarded,
            anonymous: Limit::new(limits.anonymous_per_minute, limits.window),
            token: Limit::new(limits.token_per_minute, limits.window),
            shared,
        }
    }

    async fn anonymous(&self, address: &str) -> Option<Decision> {
        self.count(self.anonymous.as_ref()?, &format!("address:{address}"))
            .await
            .into()
    }

    /// Whether a token not seen lately may still be checked against the database
    /// for an address over its limit: a second allowance of the same size, so that
    /// a real token behind a crowded address still gets through, and made-up
    /// tokens cost at most that many queries.
    async fn may_verify(&self, address: &str) -> bool {
        match &self.anonymous {
            Some(limit) => {
                self.count(limit, &format!("verify:{address}"))
                    .await
                    .allowed
            }
            None => true,
        }
    }

    async fn token(&self, id: uuid::Uuid) -> Option<Decision> {
        self.count(self.token.as_ref()?, &format!("token:{id}"))
            .await
            .into()
    }

    async fn count(&self, limit: &Limit, key: &str) -> Decision {
        let interval = limit.window / limit.per_window;
        if let Some(shared) = &self.shared {
            if let Some(decision) = shared.check(key, limit.per_window, interval).await {
                return Decision {
                    allowed: decision.allowed,
                    limit: limit.per_window,
                    remaining: decision.remaining,
                    reset: seconds_up(decision.wait),
                };
            }
        }
        limit.check(key)
    }
}

fn insert_headers(headers: &mut header::HeaderMap, decision: &Decision) {
    for (name, value) in [
        ("ratelimit-limit", u64::from(decision.limit)),
        ("ratelimit-remaining", u64::from(decision.remaining)),
        ("ratelimit-reset", decision.reset),
    ] {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    }
}

/// The address a client calls from: the connection's peer, or with
/// `trust_forwarded` the address the nearest proxy saw (the last `X-Forwarded-For`
/// entry; the ones before it are whatever the client claimed). IPv6 addresses
/// stand for their /64, the block one subscriber usually holds.
fn client_address(req: &ServiceRequest, trust_forwarded: bool) -> String {
    // The last entry of the last line: a proxy may add its own line rather than
    // append to the client's.
    let forwarded = trust_forwarded
        .then(|| {
            req.headers()
                .get_all("x-forwarded-for")
                .last()?
                .to_str()
                .ok()
        })
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| {
            v.parse::<IpAddr>()
                .map_err(|_| v.chars().take(64).collect())
        });
    match forwarded.or_else(|| req.peer_addr().map(|a| Ok(a.ip()))) {
        Some(Ok(ip)) => address_group(ip),
        Some(Err(unparsed)) => unparsed,
        None => String::new(),
    }
}

fn address_group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Paths no limit applies to: the liveness probe and the metrics.
fn unlimited(path: &str) -> bool {
    path == "/healthz" || path == crate::http::metrics::METRICS_PATH
}

/// Identifies the caller of each API request and counts the request against its
/// limit: per token once the token is verified, per client address otherwise.
/// Tokens verified or refused lately are in the [`AuthCache`], so that a caller
/// over its limit is refused before any database work; a token not seen lately
/// costs one query, and counts against its address as well, so that made-up
/// tokens buy no fresh allowances. Other paths (the spec, the docs, the readiness
/// probe) are limited by address without reading credentials. The caller is left
/// in the request for the [`Caller`] extractor.
///
/// [`Caller`]: crate::auth::Caller
pub async fn identify_and_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if unlimited(req.path()) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let limiter = req.app_data::<web::Data<RateLimiter>>().cloned();
    let cache = req.app_data::<web::Data<AuthCache>>().cloned();
    let trust_forwarded = limiter.as_ref().is_some_and(|l| l.trust_forwarded);
    let address = client_address(&req, trust_forwarded);
    let by_address = async |limiter: &Option<web::Data<RateLimiter>>| match limiter {
        Some(limiter) => limiter.anonymous(&address).await,
        None => None,
    };
    let by_token = async |limiter: &Option<web::Data<RateLimiter>>, caller: &Caller| match (
        limiter,
        caller.token_id,
    ) {
        (Some(limiter), Some(id)) => limiter.token(id).await,
        _ => None,
    };

    let (decision, identified) = if !req.path().starts_with("/api/") {
        // Probes, the spec and the docs: limited by address, credentials unread.
        (by_address(&limiter).await, Ok(Caller::anonymous()))
    } else if req.headers().get_all(header::AUTHORIZATION).count() > 1 {
        (
            by_address(&limiter).await,
            Err(AppError::InvalidParameter(
                "Send one Authorization header, not several.".into(),
            )),
        )
    } else {
        // A token not even shaped like one is refused here, without a look in the
        // cache or the database.
        let bearer = bearer_token(req.request())
            .map(|token| token.and_then(|t| crate::auth::tokens::check_format(&t).map(|()| t)));
        match bearer {
            None => (by_address(&limiter).await, Ok(Caller::anonymous())),
            Some(Err(error)) => (by_address(&limiter).await, Err(error)),
            Some(Ok(token)) => match cache.as_ref().map(|c| c.get(&token)) {
                Some(Some(Ok(caller))) => {
                    let decision = by_token(&limiter, &caller).await;
                    (decision, Ok(caller))
                }
                // Refused lately: counted against the address, no query.
                Some(Some(Err(error))) => (by_address(&limiter).await, Err(error)),
                _ => {
                    // Not seen lately: counted against the address, then checked
                    // (over the limit, only within the verification allowance).
                    let decision = by_address(&limiter).await;
                    let over = decision.as_ref().is_some_and(|d| !d.allowed);
                    let may_verify = match &limiter {
                        Some(limiter) if over => limiter.may_verify(&address).await,
                        _ => true,
                    };
                    if !may_verify {
                        return refuse(req, decision, None);
                    }
                    let checked =
                        crate::http::auth::authenticate_token(req.request(), &token).await;
                    if let Some(cache) = &cache {
                        cache.put(&token, &checked);
                    }
                    match checked {
                        // A real token has its own allowance, whatever its address.
                        Ok(caller) => {
                            let decision = by_token(&limiter, &caller).await;
                            (decision, Ok(caller))
                        }
                        Err(error) => (decision, Err(error)),
                    }
                }
            },
        }
    };

    let refusal = match (&decision, identified) {
        (Some(decision), _) if !decision.allowed => None,
        (_, Err(error)) => Some(error),
        (_, Ok(caller)) => {
            req.extensions_mut().insert(caller);
            let mut response = next.call(req).await?;
            if let Some(decision) = &decision {
                insert_headers(response.headers_mut(), decision);
            }
            return Ok(response.map_into_left_body());
        }
    };
    refuse(req, decision, refusal)
}

/// Answers a refused request: 429 when over the limit, else `error`.
fn refuse<B>(
    req: ServiceRequest,
    decision: Option<Decision>,
    error: Option<AppError>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    let error = match &decision {
        Some(decision) if !decision.allowed => {
            if let Some(metrics) = req.app_data::<web::Data<Metrics>>() {
                metrics.rate_limited.inc();
            }
            AppError::TooManyRequests {
                retry_after: decision.reset,
            }
        }
        _ => error.unwrap_or_else(|| AppError::Internal("refused without a reason".into())),
    };
    let mut response = error.error_response();
    if let Some(decision) = &decision {
        insert_headers(response.headers_mut(), decision);
    }
    Ok(req.into_response(response).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_grouped_by_64_and_mapped_ipv4_is_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_group(a), address_group(b));
        assert_ne!(address_group(a), address_group(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(address_group(mapped), "192.0.2.7");
    }

    #[test]
    fn retry_after_is_rounded_up() {
        assert_eq!(seconds_up(Duration::from_millis(1)), 1);
        assert_eq!(seconds_up(Duration::from_millis(1001)), 2);
        assert_eq!(seconds_up(Duration::from_secs(3)), 3);
    }

    #[test]
    fn a_burst_is_allowed_then_refused_until_it_refills() {
        let limit = Limit::new(3, Duration::from_secs(60)).unwrap();
        for remaining in [2, 1, 0] {
            let decision = limit.check("k");
            assert!(decision.allowed);
            assert_eq!(decision.remaining, remaining);
        }
        let refused = limit.check("k");
        assert!(!refused.allowed);
        assert!((19..=20).contains(&refused.reset), "{}", refused.reset);
        assert!(limit.check("other").allowed);
    }
}
