//! Shared rules for text fields, and the JSON Schema patterns that state them in the
//! spec, so that a request the spec calls valid is one the service accepts.
//! (utoipa's `#[schema(pattern = ...)]` takes only literals: the request types repeat
//! these patterns, and tests/api/openapi.rs checks that the spec states these.)

use crate::error::{AppError, AppResult, FieldError};

/// A one-line text: no control characters (bidirectional overrides and isolates
/// included, which make look-alike names), at least one visible character (not
/// whitespace, not a zero-width or other invisible character).
pub const LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*[^\\s\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB][^\\u0000-\\u001F\\u007F-\\u009F\\u202A-\\u202E\\u2066-\\u2069]*$";

/// A multi-line text: no control characters but tabs and line breaks.
pub const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// A slug: lowercase ASCII words joined by single hyphens.
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// Bidirectional embeddings, overrides and isolates (U+202A-U+202E,
/// U+2066-U+2069): they reorder what a reader sees, so no name may hold them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: whitespace, and the zero-width, filler and
/// formatting characters that [`LINE_PATTERN`] lists, and beyond the Basic
/// Multilingual Plane (which the pattern, an ECMA-262 regex without the `u` flag,
/// cannot name) the tag characters, variation selectors and format controls.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Validates a required one-line text, returning it trimmed.
pub fn line(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let value = value.trim();
    if value.is_empty() {
        errors.push(FieldError::new(field, "must not be empty"));
    } else if value.chars().any(is_bidi_control) {
        errors.push(FieldError::new(
            field,
            "must not contain bidirectional control characters (U+202A-U+202E, U+2066-U+2069)",
        ));
    } else if value.chars().all(is_invisible) {
        errors.push(FieldError::new(field, "must contain a visible character"));
    } else if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if value.chars().any(char::is_control) {
        errors.push(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    value.to_string()
}

/// Validates an optional one-line text; blank counts as absent.
pub fn optional_line(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    Some(line(field, value, max, errors))
}

/// Validates a multi-line text (tabs and line breaks allowed), without trimming
/// inner whitespace; blank counts as absent.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    check_text(field, value, max, errors);
    Some(value.to_string())
}

/// Checks a multi-line text in place.
pub fn check_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
    if value.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    } else if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.push(FieldError::new(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
}

/// The value when no field was invalid, else all the field errors at once.
pub fn checked<T>(value: T, errors: Vec<FieldError>) -> AppResult<T> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(AppError::Validation(errors))
    }
}

/// Earliest and latest years accepted in dates and times: what any reader expects of
/// editorial content, and well inside what PostgreSQL stores.
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

/// Checks that a date or moment lies within [`YEARS`].
pub fn check_year(field: &str, year: i32, errors: &mut Vec<FieldError>) {
    if !YEARS.contains(&year) {
        errors.push(FieldError::new(
            field,
            "must be a date between the years 1 and 9999",
        ));
    }
}

/// Whether every RFC 3339 moment inside a JSON value (such as a decoded cursor) lies
/// within [`YEARS`].
pub fn moments_in_range(value: &serde_json::Value) -> bool {
    match value {
        // Parsed as serde parses a DateTime, which also takes years beyond 4 digits.
        serde_json::Value::String(s) => match s.parse::<chrono::DateTime<chrono::Utc>>() {
            Ok(moment) => YEARS.contains(&chrono::Datelike::year(&moment)),
            Err(_) => true,
        },
        serde_json::Value::Array(items) => items.iter().all(moments_in_range),
        serde_json::Value::Object(map) => map.values().all(moments_in_range),
        _ => true,
    }
}
