//! Entity tags and conditional requests.
//!
//! A versioned resource's `ETag` names its state and the representation sent
//! ([`EntityState::entity_tag`]), so a write's `If-Match` can tell whether it names
//! the current state, of any representation. Lists carry a plain content hash.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::Serialize;

use crate::content::precondition::Precondition;
use crate::error::{AppError, AppResult};

/// The entity tag of an unversioned representation: a hash of its bytes.
fn content_tag(body: &[u8]) -> String {
    format!("\"{:016x}\"", xxhash_rust::xxh3::xxh3_64(body))
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

/// Serializes `value` as JSON with its `ETag` (`etag`, or a hash of the bytes when
/// the resource is not versioned), or answers `304 Not Modified` when the client's
/// `If-None-Match` already names this representation.
pub fn json_with_etag(
    req: &HttpRequest,
    status: StatusCode,
    etag: Option<String>,
    value: &impl Serialize,
) -> AppResult<HttpResponse> {
    let body = serde_json::to_vec(value).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(with_etag(req, status, etag, "application/json", body))
}

/// Answers `body` (of `content_type`) with its `ETag` (`etag`, or a hash of the
/// bytes), or `304 Not Modified` when the client's `If-None-Match` already names it.
pub fn with_etag(
    req: &HttpRequest,
    status: StatusCode,
    etag: Option<String>,
    content_type: &str,
    body: Vec<u8>,
) -> HttpResponse {
    let etag = etag.unwrap_or_else(|| content_tag(&body));
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
            return HttpResponse::NotModified()
                .insert_header((header::ETAG, etag))
                .finish();
        }
    }
    HttpResponse::build(status)
        .insert_header((header::ETAG, etag))
        .content_type(content_type)
        .body(body)
}

/// Reads `If-Match` into the tags a write may apply to. A value that is not one of
/// our entity tags (malformed, weak, or of another state) can never match, so the
/// write fails its precondition (RFC 9110 §13.1.1) rather than going ahead.
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
    let strong = tags
        .into_iter()
        .filter(|(weak, _)| !weak)
        .map(|(_, tag)| tag.to_string())
        .collect();
    Precondition::Tags(strong)
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
