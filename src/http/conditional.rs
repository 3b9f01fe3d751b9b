//! Entity tags and conditional requests.
//!
//! A versioned resource's `ETag` is `"v<version>-<hash>"`: the hash (of the bytes
//! sent) makes `If-None-Match` exact for every representation, and the version lets a
//! write's `If-Match` accept the tag of any representation of the current state.
//! Lists carry a plain content hash.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::content::precondition::Precondition;
use crate::error::{AppError, AppResult};

/// The entity tag of a representation (with its quotes).
pub fn entity_tag(version: Option<i32>, body: &[u8]) -> String {
    let hash = xxhash_rust::xxh3::xxh3_64(body);
    match version {
        Some(version) => format!("\"v{version}-{hash:016x}\""),
        None => format!("\"{hash:016x}\""),
    }
}

/// The listed tags of an `If-None-Match` / `If-Match` header as (weak, opaque tag);
/// `*` stays `*`.
fn listed_tags(value: &str) -> impl Iterator<Item = (bool, &str)> {
    value
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(|tag| match tag.strip_prefix("W/") {
            Some(strong) => (true, strong),
            None => (false, tag),
        })
}

/// Serializes `value` as JSON with its `ETag`, or answers `304 Not Modified` when the
/// client's `If-None-Match` already names this representation.
pub fn json_with_etag(
    req: &HttpRequest,
    status: StatusCode,
    version: Option<i32>,
    value: &impl Serialize,
) -> AppResult<HttpResponse> {
    let body = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
    let etag = entity_tag(version, &body);
    let is_read = req.method() == Method::GET || req.method() == Method::HEAD;
    if is_read && status == StatusCode::OK {
        let matches = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| listed_tags(v).any(|(_, tag)| tag == "*" || tag == etag));
        if matches {
            return Ok(HttpResponse::NotModified()
                .insert_header((header::ETAG, etag))
                .finish());
        }
    }
    Ok(HttpResponse::build(status)
        .insert_header((header::ETAG, etag))
        .content_type("application/json")
        .body(body))
}

/// Reads `If-Match` into the versions a write may apply to. A tag that is not one of
/// ours can never match, so it fails the precondition (RFC 9110 §13.1.1).
pub fn precondition(req: &HttpRequest) -> AppResult<Precondition> {
    let Some(value) = req.headers().get(header::IF_MATCH) else {
        return Ok(Precondition::None);
    };
    let value = value
        .to_str()
        .map_err(|_| AppError::InvalidParameter("If-Match is not a list of entity tags".into()))?;
    let mut versions = Vec::new();
    for (weak, tag) in listed_tags(value) {
        if tag == "*" {
            return Ok(Precondition::Exists);
        }
        // If-Match uses strong comparison: a weak tag never matches.
        let version = tag
            .strip_prefix("\"v")
            .and_then(|rest| rest.split(['-', '"']).next())
            .and_then(|v| v.parse::<i32>().ok());
        if let (Some(version), false) = (version, weak) {
            versions.push(version);
        }
    }
    Ok(Precondition::Versions(versions))
}
