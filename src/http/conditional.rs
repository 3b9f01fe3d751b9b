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
#[derive(Debug, PartialEq, Eq)]
enum EntityTags<'a> {
    Any,
    /// (weak, opaque tag with its quotes)
    List(Vec<(bool, &'a str)>),
}

/// Parses an entity-tag list (RFC 9110 §8.8.3): `*`, or quoted tags (commas allowed
/// inside the quotes), comma-separated. `None` when the header is absent or
/// malformed.
fn entity_tags(req: &HttpRequest, name: header::HeaderName) -> Option<EntityTags<'_>> {
    let value = req.headers().get(&name)?.to_str().ok()?;
    parse_entity_tags(value)
}

fn parse_entity_tags(value: &str) -> Option<EntityTags<'_>> {
    let value = value.trim();
    if value == "*" {
        return Some(EntityTags::Any);
    }
    let mut tags = Vec::new();
    let mut rest = value;
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let (weak, quoted) = match rest.strip_prefix("W/") {
            Some(after) => (true, after),
            None => (false, rest),
        };
        let inner = quoted.strip_prefix('"')?;
        let end = inner.find('"')?;
        tags.push((weak, &quoted[..end + 2]));
        rest = &inner[end + 1..];
        if !(rest.is_empty() || rest.starts_with([' ', '\t', ','])) {
            return None;
        }
    }
    (!tags.is_empty()).then_some(EntityTags::List(tags))
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
        // If-None-Match compares weakly: W/"x" matches "x". A malformed one is
        // ignored: the client just gets the full response.
        let matches = match entity_tags(req, header::IF_NONE_MATCH) {
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

/// Reads `If-Match` into the versions a write may apply to. A value that is not one
/// of our entity tags (malformed, weak, or of another version) can never match, so
/// the write fails its precondition (RFC 9110 §13.1.1) rather than going ahead.
pub fn precondition(req: &HttpRequest) -> Precondition {
    if !req.headers().contains_key(header::IF_MATCH) {
        return Precondition::None;
    }
    let tags = match entity_tags(req, header::IF_MATCH) {
        Some(EntityTags::Any) => return Precondition::Exists,
        Some(EntityTags::List(tags)) => tags,
        None => Vec::new(),
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
    Precondition::Versions(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entity_tag_lists() {
        assert_eq!(parse_entity_tags("*"), Some(EntityTags::Any));
        assert_eq!(
            parse_entity_tags(r#""a", W/"b,c" ,"""#),
            Some(EntityTags::List(vec![
                (false, "\"a\""),
                (true, "\"b,c\""),
                (false, "\"\"")
            ]))
        );
        for bad in ["", "0", "v1", "\"a", "\"a\"b", "W/", "*, \"a\""] {
            assert_eq!(parse_entity_tags(bad), None, "{bad:?}");
        }
    }
}
