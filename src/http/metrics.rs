//! `GET /metrics` in Prometheus' text format: requests by route and status,
//! latencies, the database pool, and rate-limit refusals. Served only on the
//! address `CMS_METRICS_BIND` names, a port for the operator's scraper rather than
//! for the public.

use std::net::SocketAddr;
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

use crate::db::DbPool;
use crate::error::{AppError, AppResult};

/// Where Prometheus scrapes (on the metrics address only).
pub const METRICS_PATH: &str = "/metrics";

/// The service's metrics, shared by its workers.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pub rate_limited: IntCounter,
    pool_size: IntGauge,
    pool_available: IntGauge,
    pool_waiting: IntGauge,
    pool_max: IntGauge,
}

/// The address the metrics listener is bound to.
#[derive(Debug, Clone, Copy)]
pub struct MetricsAddress(pub SocketAddr);

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new_custom(Some("cms".into()), None).unwrap_or_default();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered"),
            &["method", "route", "status"],
        );
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route"],
        );
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        // The names and labels are constants: building them cannot fail.
        let metrics = (|| -> prometheus::Result<Metrics> {
            Ok(Metrics {
                requests: requests?,
                latency: latency?,
                rate_limited: IntCounter::new(
                    "rate_limited_total",
                    "Requests refused by a rate limit",
                )?,
                pool_size: gauge("db_pool_connections", "Open database connections")?,
                pool_available: gauge("db_pool_idle", "Open connections not in use")?,
                pool_waiting: gauge(
                    "db_pool_waiting",
                    "Requests waiting for a database connection",
                )?,
                pool_max: gauge("db_pool_max", "Most connections the pool may open")?,
                registry,
            })
        })();
        let metrics = metrics.expect("metric definitions are valid");
        for collector in [
            Box::new(metrics.requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(metrics.latency.clone()),
            Box::new(metrics.rate_limited.clone()),
            Box::new(metrics.pool_size.clone()),
            Box::new(metrics.pool_available.clone()),
            Box::new(metrics.pool_waiting.clone()),
            Box::new(metrics.pool_max.clone()),
        ] {
            // Each name is registered once, here.
            let _ = metrics.registry.register(collector);
        }
        metrics
    }

    /// Records one answered request. `route` is the route's pattern (such as
    /// `/api/v1/articles/{article}`), never the raw path, so that the number of
    /// series stays bounded.
    pub fn record(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        // Methods are whatever a client sends: the known ones, else "other".
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        let status = status.to_string();
        self.requests
            .with_label_values(&[method, route, status.as_str()])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(elapsed.as_secs_f64());
    }

    fn render(&self, pool: &DbPool) -> AppResult<String> {
        let status = pool.status();
        self.pool_size.set(status.size as i64);
        self.pool_available.set(status.available as i64);
        self.pool_waiting.set(status.waiting as i64);
        self.pool_max.set(status.max_size as i64);
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .map_err(|e| AppError::Internal(e.to_string()))?;
        String::from_utf8(out).map_err(|e| AppError::Internal(e.to_string()))
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

/// On the metrics address, nothing but `/metrics`: that port is for the
/// operator's scraper, and must not become a second way into the API (past a
/// proxy, say).
pub async fn metrics_port_only(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let on_metrics_port = req
        .app_data::<web::Data<MetricsAddress>>()
        .is_some_and(|a| req.app_config().local_addr() == a.0);
    if on_metrics_port && req.path() != METRICS_PATH {
        let response = AppError::RouteNotFound.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// `GET /metrics`, on the metrics address only (404 elsewhere).
pub async fn metrics(
    req: HttpRequest,
    metrics: web::Data<Metrics>,
    address: Option<web::Data<MetricsAddress>>,
    pool: web::Data<DbPool>,
) -> AppResult<HttpResponse> {
    let on_metrics_port = address.is_some_and(|a| req.app_config().local_addr() == a.0);
    if !on_metrics_port {
        return Err(AppError::RouteNotFound);
    }
    let body = metrics.render(&pool)?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(body))
}
