//! An article's language: a BCP 47 tag (`en`, `ru`, `mn-Cyrl`, `pt-BR`), which
//! picks the text-search configuration its search document is built with (see the
//! `article_search_config` SQL function).

use std::borrow::Cow;

use serde::Deserialize;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::{PartialSchema, ToSchema};

use crate::error::FieldError;

/// The longest tag taken (the database checks the same).
pub const MAX_LANGUAGE_LEN: usize = 35;
/// The shape of a tag as the spec states it (case-insensitive in BCP 47).
pub const LANGUAGE_PATTERN: &str = "^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$";

/// A language tag in its canonical case (`mn-cyrl-mn` is `mn-Cyrl-MN`), or why
/// it is not one: a primary subtag of 2 or 3 letters, then subtags of 1 to 8
/// letters or digits.
pub fn canonical(tag: &str) -> Result<String, &'static str> {
    const SHAPE: &str = "must be a BCP 47 language tag such as `en`, `mn` or `pt-BR`";
    if tag.is_empty() || tag.len() > MAX_LANGUAGE_LEN {
        return Err(SHAPE);
    }
    let mut out = Vec::new();
    for (i, sub) in tag.split('-').enumerate() {
        let ok = if i == 0 {
            (2..=3).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphabetic())
        } else {
            (1..=8).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_alphanumeric())
        };
        if !ok {
            return Err(SHAPE);
        }
        let lower = sub.to_ascii_lowercase();
        out.push(match (i, sub.len()) {
            (0, _) => lower,
            // A region (`BR`) in capitals, a script (`Cyrl`) capitalized.
            (_, 2) if sub.bytes().all(|b| b.is_ascii_alphabetic()) => sub.to_ascii_uppercase(),
            (_, 4) if sub.bytes().all(|b| b.is_ascii_alphabetic()) => {
                let mut s = lower;
                s[..1].make_ascii_uppercase();
                s
            }
            _ => lower,
        });
    }
    Ok(out.join("-"))
}

/// A language tag as a client writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct LanguageInput(String);

impl LanguageInput {
    /// The tag in its canonical case, or its error recorded under `language`.
    pub fn check(&self, errors: &mut Vec<FieldError>) -> String {
        canonical(&self.0).unwrap_or_else(|message| {
            errors.push(FieldError::new("language", message));
            String::new()
        })
    }
}

impl PartialSchema for LanguageInput {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "A BCP 47 language tag (`en`, `ru`, `mn`, `ko`, `pt-BR`). It picks how the \
                 article is indexed for search: PostgreSQL's stemmer for the language when \
                 it has one (English, Russian, German, French, Spanish and 24 more), else \
                 whole words with accents folded.",
            ))
            .examples([serde_json::json!("en")])
            .max_length(Some(MAX_LANGUAGE_LEN))
            .pattern(Some(LANGUAGE_PATTERN))
            .into()
    }
}

impl ToSchema for LanguageInput {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Language")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_case_and_shape() {
        assert_eq!(canonical("EN").as_deref(), Ok("en"));
        assert_eq!(canonical("pt-br").as_deref(), Ok("pt-BR"));
        assert_eq!(canonical("mn-cyrl-mn").as_deref(), Ok("mn-Cyrl-MN"));
        assert_eq!(canonical("es-419").as_deref(), Ok("es-419"));
        for bad in [
            "",
            "e",
            "english",
            "en_US",
            "en-",
            "-en",
            "en--us",
            "ко",
            "en-abcdefghi",
        ] {
            assert!(canonical(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
