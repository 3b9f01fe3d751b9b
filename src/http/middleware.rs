//! Cross-cutting request handling: request ids, access logs, and problem details for
//! errors produced outside our handlers.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use tracing::Instrument;

use crate::error::{Problem, PROBLEM_JSON};

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

    // Whatever is logged while the request is handled (an internal error, say)
    // carries its id.
    let span = tracing::info_span!("request", request_id = %id);
    let result = next.call(req).instrument(span).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match result {
        Ok(mut response) => {
            if let Ok(value) = HeaderValue::from_str(&id) {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            let status = response.status().as_u16();
            tracing::info!(request_id = %id, %method, %path, status, latency_ms, "request");
            Ok(response)
        }
        Err(error) => {
            let status = error.as_response_error().status_code().as_u16();
            tracing::info!(request_id = %id, %method, %path, status, latency_ms, "request");
            Err(error)
        }
    }
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
