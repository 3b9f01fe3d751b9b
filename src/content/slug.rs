//! URL slugs: lowercase ASCII words joined by hyphens, derived from titles and names.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

/// Longest slug accepted, in characters.
pub const MAX_SLUG_LEN: usize = 100;

/// A valid slug: `^[a-z0-9]+(-[a-z0-9]+)*$`, at most [`MAX_SLUG_LEN`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// Accepts a slug given by a client, or says why it is not one.
    pub fn parse(value: &str) -> Result<Slug, String> {
        if value.is_empty() {
            return Err("must not be empty".into());
        }
        if uuid::Uuid::parse_str(value).is_ok() {
            return Err("must not look like an id (a UUID)".into());
        }
        if value.chars().count() > MAX_SLUG_LEN {
            return Err(format!("must be at most {MAX_SLUG_LEN} characters"));
        }
        let words_ok = value.split('-').all(|word| {
            !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
        if !words_ok {
            return Err(
                "must be lowercase letters a-z and digits, in words joined by single hyphens \
                 (e.g. `south-korea`)"
                    .into(),
            );
        }
        Ok(Slug(value.to_string()))
    }

    /// Derives a slug from a title or name. Non-Latin scripts are transliterated
    /// ("Zürich" -> `zurich`, "Монголия" -> `mongoliia`); `None` when nothing is left.
    pub fn derive(text: &str) -> Option<Slug> {
        let ascii = deunicode::deunicode(text).to_ascii_lowercase();
        let mut slug = String::with_capacity(ascii.len());
        for word in ascii
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let extra = usize::from(!slug.is_empty()) + word.len();
            if slug.len() + extra > MAX_SLUG_LEN {
                if slug.is_empty() {
                    slug.push_str(&word[..MAX_SLUG_LEN]);
                }
                break;
            }
            if !slug.is_empty() {
                slug.push('-');
            }
            slug.push_str(word);
        }
        // A slug shaped like a UUID would be read as an id: not a slug.
        let usable = !slug.is_empty() && uuid::Uuid::parse_str(&slug).is_err();
        usable.then_some(Slug(slug))
    }

    /// Derives a slug, or when the text has nothing to derive one from ("!!!"), makes
    /// a unique one such as `tag-3f2a9c1b`.
    pub fn derive_or_fallback(text: &str, prefix: &str) -> Slug {
        Slug::derive(text).unwrap_or_else(|| Slug::unique_variant(prefix))
    }

    /// `base` with a random suffix (`south-korea-3f2a9c1b`), for when `base` is
    /// taken; still at most [`MAX_SLUG_LEN`] characters.
    pub fn unique_variant(base: &str) -> Slug {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let keep = base.len().min(MAX_SLUG_LEN - 9);
        let base = base[..keep].trim_end_matches('-');
        Slug(format!("{base}-{}", &id[..8]))
    }

    /// `base` numbered (`south-korea-2`), still at most [`MAX_SLUG_LEN`] characters.
    pub fn numbered_variant(base: &str, n: usize) -> String {
        let suffix = format!("-{n}");
        let keep = base.len().min(MAX_SLUG_LEN - suffix.len());
        format!("{}{suffix}", base[..keep].trim_end_matches('-'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// How a client names a resource in a path: by id or by slug.
#[derive(Debug, Clone)]
pub enum Key {
    Id(uuid::Uuid),
    Slug(Slug),
}

impl Key {
    /// A UUID or a slug; `None` for anything else, which can name nothing.
    pub fn parse(value: &str) -> Option<Key> {
        match uuid::Uuid::parse_str(value) {
            Ok(id) => Some(Key::Id(id)),
            Err(_) => Slug::parse(value).ok().map(Key::Slug),
        }
    }
}

/// Validates a slug field, collecting the error.
fn validate_field(field: &str, slug: &str, errors: &mut Vec<crate::error::FieldError>) -> String {
    match Slug::parse(slug) {
        Ok(slug) => slug.into_string(),
        Err(message) => {
            errors.push(crate::error::FieldError::new(field, message));
            String::new()
        }
    }
}

/// A slug as a client writes it: checked with [`Slug::parse`], stated in the spec
/// with the same limit and pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct SlugInput(String);

impl SlugInput {
    /// The slug, or its error recorded under `slug`.
    pub fn check(&self, errors: &mut Vec<crate::error::FieldError>) -> String {
        validate_field("slug", &self.0, errors)
    }

    /// The slug, or its error recorded under `field` (a slug naming something else:
    /// an article's `section`).
    pub fn check_named(&self, field: &str, errors: &mut Vec<crate::error::FieldError>) -> String {
        validate_field(field, &self.0, errors)
    }
}

impl PartialSchema for SlugInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(format!(
                "A URL slug: lowercase letters a-z and digits in words joined by single \
                 hyphens, at most {MAX_SLUG_LEN} characters, not shaped like a UUID"
            )))
            .examples([serde_json::json!("south-korea")])
            .max_length(Some(MAX_SLUG_LEN))
            .pattern(Some(crate::content::text::SLUG_PATTERN))
            .into()
    }
}

impl ToSchema for SlugInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Slug")
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_slugs_from_unicode_text() {
        let derive = |s: &str| Slug::derive(s).map(Slug::into_string);
        assert_eq!(derive("South Korea").as_deref(), Some("south-korea"));
        assert_eq!(derive("  Zürich -- Café ").as_deref(), Some("zurich-cafe"));
        assert_eq!(
            derive("Goryeo–Mongol alliance").as_deref(),
            Some("goryeo-mongol-alliance")
        );
        assert_eq!(derive("!!!"), None);
        let long = "word ".repeat(40);
        let slug = derive(&long).expect("a slug");
        assert!(slug.len() <= MAX_SLUG_LEN && !slug.ends_with('-'));
    }

    #[test]
    fn parses_only_canonical_slugs() {
        assert!(Slug::parse("south-korea").is_ok());
        assert!(Slug::parse("k-pop-2025").is_ok());
        for bad in ["", "South-Korea", "a--b", "-a", "a-", "a b", "ü"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
