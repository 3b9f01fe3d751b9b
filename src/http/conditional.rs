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

/// A parsed `If-Match` / `If-None-Match` header.
enum EntityTags<'a> {
    Any,
    /// (weak, opaque tag with its quotes)
    List(Vec<(bool, &'a str)>),
}

/// Parses an entity-tag list (RFC 9110 §8.8.3); a malformed header is a 400, not a
/// silent mismatch.
fn entity_tags<'a>(
    req: &'a HttpRequest,
    name: header::HeaderName,
) -> AppResult<Option<EntityTags<'a>>> {
    let Some(value) = req.headers().get(&name) else {
        return Ok(None);
    };
    let display = if name == header::IF_MATCH {
        "If-Match"
    } else {
        "If-None-Match"
    };
    let invalid = || {
        AppError::InvalidParameter(format!(
            "{display} must be `*` or a comma-separated list of quoted entity tags, such as \"v3-0123456789abcdef\""
        ))
    };
    let value = value.to_str().map_err(|_| invalid())?.trim();
    if value == "*" {
        return Ok(Some(EntityTags::Any));
    }
    let mut tags = Vec::new();
    for item in value.split(',').map(str::trim) {
        let (weak, tag) = match item.strip_prefix("W/") {
            Some(tag) => (true, tag),
            None => (false, item),
        };
        let quoted = tag.len() >= 2
            && tag.starts_with('"')
            && tag.ends_with('"')
            && !tag[1..tag.len() - 1].contains('"');
        if !quoted {
            return Err(invalid());
        }
        tags.push((weak, tag));
    }
    Ok(Some(EntityTags::List(tags)))
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
        // If-None-Match compares weakly: W/"x" matches "x".
        let matches = match entity_tags(req, header::IF_NONE_MATCH)? {
            None => false,
            Some(EntityTags::Any) => true,
            Some(EntityTags::List(tags)) => tags.iter().any(|(_, tag)| *tag == etag),
        };
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
    let tags = match entity_tags(req, header::IF_MATCH)? {
        None => return Ok(Precondition::None),
        Some(EntityTags::Any) => return Ok(Precondition::Exists),
        Some(EntityTags::List(tags)) => tags,
    };
    // If-Match compares strongly: a weak tag never matches.
    let versions = tags
        .into_iter()
        .filter(|(weak, _)| !weak)
        .filter_map(|(_, tag)| {
            tag.strip_prefix("\"v")
                .and_then(|rest| rest.split(['-', '"']).next())
                .and_then(|v| v.parse::<i32>().ok())
        })
        .collect();
    Ok(Precondition::Versions(versions))
}
