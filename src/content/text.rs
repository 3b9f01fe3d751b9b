//! Shared rules for text fields, declared once: the field types [`Line`],
//! [`OptionalLine`] and [`Text`] carry their limit as a type parameter, check a
//! value against it, and give the spec its schema (length, pattern), so that a
//! request the spec calls valid is one the service accepts. The database's checks
//! are tested against the same limits (`content::fields`).

use std::borrow::Cow;

use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::error::{AppError, AppResult, FieldError};

/// Characters no text field may hold: C0 and C1 controls.
const CONTROLS: &str = "\\u0000-\\u001F\\u007F-\\u009F";
/// Bidirectional embeddings, overrides and isolates.
const BIDI: &str = "\\u202A-\\u202E\\u2066-\\u2069";
/// Characters that show nothing besides whitespace (see [`is_invisible`]), as a
/// regex class body.
const INVISIBLE: &str = "\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u2060-\\u206F\\u2800\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF0-\\uFFFB";

/// A one-line text: no control characters (bidirectional overrides and isolates
/// included, which make look-alike names), at least one visible character (not
/// whitespace, not a zero-width or other invisible character).
pub fn line_pattern() -> String {
    format!("^{}$", line_body())
}

/// A one-line text that may be blank (blank counts as absent).
pub fn optional_line_pattern() -> String {
    format!("^(\\s*|{})$", line_body())
}

fn line_body() -> String {
    let allowed = format!("[^{CONTROLS}{BIDI}]*");
    format!("{allowed}[^\\s{CONTROLS}{BIDI}{INVISIBLE}]{allowed}")
}

/// A multi-line text: no control characters but tabs and line breaks.
pub const TEXT_PATTERN: &str = "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// A slug: lowercase ASCII words joined by single hyphens.
pub const SLUG_PATTERN: &str = "^[a-z0-9]+(-[a-z0-9]+)*$";

/// One line of 1 to `MAX` characters once trimmed; see [`line_pattern`].
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Line<const MAX: usize>(String);

/// One line of at most `MAX` characters, where blank means absent.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct OptionalLine<const MAX: usize>(String);

/// Text of at most `MAX` characters, line breaks and tabs allowed.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

impl<const MAX: usize> Line<MAX> {
    /// The longest value accepted, in characters.
    pub const MAX: usize = MAX;

    /// The value trimmed, or its errors recorded under `field`.
    pub fn check(&self, field: &str, errors: &mut Vec<FieldError>) -> String {
        line(field, &self.0, MAX, errors)
    }
}

/// A value to be checked where it is used (as one given on the command line).
impl<const MAX: usize> From<String> for Line<MAX> {
    fn from(value: String) -> Self {
        Line(value)
    }
}

impl<const MAX: usize> OptionalLine<MAX> {
    /// The longest value accepted, in characters.
    pub const MAX: usize = MAX;

    /// The value trimmed (`None` when blank), or its errors recorded under `field`.
    pub fn check(&self, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        optional_line(field, Some(&self.0), MAX, errors)
    }
}

impl<const MAX: usize> Text<MAX> {
    /// The longest value accepted, in characters.
    pub const MAX: usize = MAX;

    /// The value trimmed (`None` when blank), or its errors recorded under `field`.
    pub fn check(&self, field: &str, errors: &mut Vec<FieldError>) -> Option<String> {
        optional_text(field, Some(&self.0), MAX, errors)
    }

    /// The value exactly as sent (a body keeps its whitespace), or its errors
    /// recorded under `field`.
    pub fn check_verbatim(&self, field: &str, errors: &mut Vec<FieldError>) -> String {
        check_text(field, &self.0, MAX, errors);
        self.0.clone()
    }
}

/// The schema of a string field: its type, limits and pattern.
fn string_schema(
    description: String,
    min_length: Option<usize>,
    max_length: usize,
    pattern: String,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .min_length(min_length)
        .max_length(Some(max_length))
        .pattern(Some(pattern))
        .into()
}

impl<const MAX: usize> PartialSchema for Line<MAX> {
    fn schema() -> RefOr<Schema> {
        string_schema(
            format!(
                "One line of 1 to {MAX} characters (trimmed): no control characters, \
                 at least one visible character"
            ),
            Some(1),
            MAX,
            line_pattern(),
        )
    }
}

impl<const MAX: usize> ToSchema for Line<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Line{MAX}"))
    }
}

impl<const MAX: usize> PartialSchema for OptionalLine<MAX> {
    fn schema() -> RefOr<Schema> {
        string_schema(
            format!(
                "One line of at most {MAX} characters (trimmed; blank counts as absent): \
                 no control characters"
            ),
            None,
            MAX,
            optional_line_pattern(),
        )
    }
}

impl<const MAX: usize> ToSchema for OptionalLine<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("OptionalLine{MAX}"))
    }
}

impl<const MAX: usize> PartialSchema for Text<MAX> {
    fn schema() -> RefOr<Schema> {
        string_schema(
            format!(
                "Text of at most {MAX} characters: line breaks and tabs, no other \
                 control characters"
            ),
            None,
            MAX,
            TEXT_PATTERN.to_string(),
        )
    }
}

impl<const MAX: usize> ToSchema for Text<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Text{MAX}"))
    }
}

/// Bidirectional embeddings, overrides and isolates (U+202A-U+202E,
/// U+2066-U+2069): they reorder what a reader sees, so no name may hold them.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Characters that show nothing: whitespace, and the zero-width, filler and
/// formatting characters that [`INVISIBLE`] lists, and beyond the Basic
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
fn line(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) -> String {
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
fn optional_line(
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
fn optional_text(
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
fn check_text(field: &str, value: &str, max: usize, errors: &mut Vec<FieldError>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether a value meets a field type's schema (pattern and length), as a
    /// client generated from the spec checks it.
    fn schema_accepts<T: PartialSchema>(value: &str) -> bool {
        let schema = serde_json::to_value(T::schema()).expect("a schema serializes");
        let pattern = schema["pattern"].as_str().expect("a pattern");
        let length = value.chars().count() as u64;
        let min = schema["minLength"].as_u64().unwrap_or(0);
        let max = schema["maxLength"].as_u64().expect("a maxLength");
        regex_lite::Regex::new(pattern)
            .expect("the pattern compiles")
            .is_match(value)
            && (min..=max).contains(&length)
    }

    const SAMPLES: &[&str] = &[
        "",
        " ",
        "\t",
        "Mongolia looks to South Korea",
        " padded ",
        "line\nbreak",
        "tab\there",
        "\u{200B}",
        "\u{200B}\u{FEFF}",
        "a\u{202E}b",
        "bell\u{7}",
        "c1\u{85}",
        "Zürich — Монголия",
        "😀",
        // (Invisible-only names beyond the BMP, such as "\u{E0041}", are refused by
        // the check but not by the pattern, which cannot name them.)
        "x\u{E0041}",
    ];

    fn long(n: usize) -> String {
        "x".repeat(n)
    }

    /// What the spec calls valid, the service accepts: for each field type, every
    /// sample the schema accepts passes the check.
    #[test]
    fn the_schemas_accept_nothing_the_checks_refuse() {
        let mut samples: Vec<String> = SAMPLES.iter().map(|s| s.to_string()).collect();
        samples.extend([long(10), long(11), format!("{}\u{200B}", long(9))]);
        for sample in &samples {
            if schema_accepts::<Line<10>>(sample) {
                let mut errors = Vec::new();
                Line::<10>(sample.clone()).check("f", &mut errors);
                assert!(errors.is_empty(), "Line accepts {sample:?}: {errors:?}");
            }
            if schema_accepts::<OptionalLine<10>>(sample) {
                let mut errors = Vec::new();
                OptionalLine::<10>(sample.clone()).check("f", &mut errors);
                assert!(
                    errors.is_empty(),
                    "OptionalLine accepts {sample:?}: {errors:?}"
                );
            }
            if schema_accepts::<Text<10>>(sample) {
                let mut errors = Vec::new();
                Text::<10>(sample.clone()).check("f", &mut errors);
                Text::<10>(sample.clone()).check_verbatim("f", &mut errors);
                assert!(errors.is_empty(), "Text accepts {sample:?}: {errors:?}");
            }
        }
    }

    /// And the schemas are not vacuous: what the checks refuse for a reason the
    /// pattern can state, the schema refuses too.
    #[test]
    fn the_schemas_refuse_what_a_pattern_can_state() {
        for refused in [
            "",
            " ",
            "\u{200B}",
            "a\u{202E}b",
            "bell\u{7}",
            "line\nbreak",
        ] {
            assert!(!schema_accepts::<Line<10>>(refused), "{refused:?}");
        }
        assert!(!schema_accepts::<Line<10>>(&long(11)));
        assert!(schema_accepts::<Line<10>>("Zürich"));
        assert!(schema_accepts::<OptionalLine<10>>(" "));
        assert!(!schema_accepts::<OptionalLine<10>>("\u{200B}"));
        assert!(schema_accepts::<Text<10>>("line\nbreak"));
        assert!(!schema_accepts::<Text<10>>("bell\u{7}"));
    }
}
