//! Cross-cutting request handling: request ids, access logs, and problem details for
//! errors produced outside our handlers.

use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{ConnectionType, Method};
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpMessage, HttpResponse};
use tracing::Instrument;

use crate::error::{AppError, Problem, PROBLEM_JSON};
use crate::http::metrics::Metrics;

/// The longest a request may take (`CMS_REQUEST_TIMEOUT_MS`).
#[derive(Debug, Clone, Copy)]
pub struct RequestTimeout(pub Duration);

/// When the request's deadline passes, for work inside it that should answer before
/// then (set by [`deadline`]).
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

/// Answers 503 when a request is not done within its deadline, and drops the work:
/// a stalled database or a slow query cannot hold a request (and its connection)
/// longer than that. A connection dropped mid-transaction is discarded by the pool.
///
/// The answer is an error rather than a response because a response needs the
/// request, and a copy of the request kept while routing runs would stop routing;
/// actix turns the error into the same problem details.
pub async fn deadline(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let timeout = req.app_data::<RequestTimeout>().copied();
    let Some(RequestTimeout(timeout)) = timeout else {
        return next.call(req).await;
    };
    req.extensions_mut()
        .insert(Deadline(Instant::now() + timeout));
    match tokio::time::timeout(timeout, next.call(req)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_ms = timeout.as_millis() as u64,
                "request deadline passed"
            );
            Err(AppError::TimedOut(format!(
                "The request took longer than {} s; retry shortly.",
                timeout.as_secs_f64()
            ))
            .into())
        }
    }
}

/// Serves `HEAD` as `GET` on every route. The connection still knows the request
/// was `HEAD`, and sends the headers (with the length) without the body.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Header carrying the request id, in and out.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A client's request id is kept when it is short, printable ASCII.
fn usable_request_id(value: &HeaderValue) -> Option<String> {
    let value = value.to_str().ok()?;
    let ok = !value.is_empty() && value.len() <= 128 && value.bytes().all(|b| b.is_ascii_graphic());
    ok.then(|| value.to_string())
}

/// Gives every request an id (the client's `x-request-id`, or a new UUID), echoes it
/// on the response, and logs one line per request.
pub async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(usable_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.path().to_string();
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");

    // Whatever is logged while the request is handled (an internal error, say)
    // carries its id.
    let span = tracing::info_span!("request", request_id = %id);
    let result = next.call(req).instrument(span).await;
    let elapsed = started.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let (status, route) = match &result {
        Ok(response) => (
            response.status().as_u16(),
            response.request().match_pattern(),
        ),
        Err(error) => (error.as_response_error().status_code().as_u16(), None),
    };
    tracing::info!(request_id = %id, %method, %path, status, latency_ms, "request");
    if let Some(metrics) = metrics {
        metrics.record(
            method.as_str(),
            route.as_deref().unwrap_or("unmatched"),
            status,
            elapsed,
        );
    }
    let mut response = result?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    // A refused request may leave its body unread; without this, the connection
    // would read (and discard) whatever the client keeps sending.
    if status >= 400 && has_body {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

/// Turns error responses that did not come from [`crate::error::AppError`] (actix's own
/// rejections, CORS, the docs page) into problem details, keeping their status and
/// headers. Type `about:blank` means the status says it all (RFC 9457 §4.2.1).
pub async fn problem_details(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let response = next.call(req).await?.map_into_boxed_body();
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return Ok(response);
    }
    let (request, old) = response.into_parts();
    let title = status.canonical_reason().unwrap_or("Error").to_string();
    let problem = Problem {
        problem_type: "about:blank".into(),
        detail: format!("{title}."),
        title,
        status: status.as_u16(),
        errors: Vec::new(),
    };
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    let body = serde_json::to_vec(&problem).unwrap_or_default();
    let new = new.content_type(PROBLEM_JSON).body(body);
    Ok(ServiceResponse::new(request, new))
}
