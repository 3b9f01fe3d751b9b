//! Keyset (cursor) pagination. A cursor is the sort key of the last row of a page,
//! encoded so that clients treat it as opaque; the next page starts after that key,
//! so pages stay stable while rows are inserted.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AppError;

/// Page size when the client gives none.
pub const DEFAULT_LIMIT: i64 = 20;
/// Largest page size a client may ask for.
pub const MAX_LIMIT: i64 = 100;

/// A validated page request: how many rows, starting after which key.
#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    pub limit: i64,
    pub after: Option<K>,
}

impl<K: DeserializeOwned> PageRequest<K> {
    /// Validates the raw `limit` and `cursor` parameters.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::InvalidParameter(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        // An empty cursor is the first page, like no cursor.
        let after = cursor
            .filter(|c| !c.is_empty())
            .map(decode_cursor)
            .transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// Encodes a sort key as an opaque cursor.
pub fn encode_cursor<K: Serialize>(key: &K) -> String {
    // Serializing a tuple of strings, numbers and UUIDs cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

fn decode_cursor<K: DeserializeOwned>(cursor: &str) -> Result<K, AppError> {
    let invalid = || {
        AppError::InvalidParameter(
            "cursor is not valid; use the next_cursor of a previous page as it was given".into(),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    // A forged cursor must not smuggle a NUL (which PostgreSQL text cannot hold)
    // or an out-of-range date into a query.
    let text = std::str::from_utf8(&bytes).map_err(|_| invalid())?;
    if text.contains("\\u0000") {
        return Err(invalid());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| invalid())?;
    if !crate::content::text::moments_in_range(&value) {
        return Err(invalid());
    }
    serde_json::from_value(value).map_err(|_| invalid())
}

/// Splits `limit + 1` fetched rows into a page and the cursor of the next one.
pub fn into_page<T, K: Serialize>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> K,
) -> (Vec<T>, Option<String>) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    if rows.len() > limit {
        rows.truncate(limit);
        let next = rows.last().map(|last| encode_cursor(&key(last)));
        (rows, next)
    } else {
        (rows, None)
    }
}
