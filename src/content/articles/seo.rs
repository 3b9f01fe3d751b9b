//! What search engines and social cards read of an article: the fields editors
//! set (`seo`, each optional) and what a page should print (`meta`, each falling
//! back to the article's own fields, so a frontend uses it blindly).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[cfg(test)]
use super::teaser;
use crate::content::citations::SourceUrl;
use crate::content::media::ImageRef;
use crate::content::text::{Line, Text};
use crate::error::FieldError;

/// The longest meta description a page gets when the article has none: what
/// search engines show of one.
pub const DESCRIPTION_CHARS: u16 = 160;

/// The SEO and social fields as editors set them; each left out falls back (see
/// `meta`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeoFields {
    /// The `<title>` and social title, when it should differ from the headline.
    #[serde(default)]
    #[schema(required = true)]
    pub meta_title: Option<String>,
    /// The meta and social description.
    #[serde(default)]
    #[schema(required = true)]
    pub meta_description: Option<String>,
    /// Where the story canonically lives, when not on this site's own page (a
    /// syndicated story).
    #[serde(default)]
    #[schema(required = true)]
    pub canonical_url: Option<String>,
    /// The image social cards show.
    #[serde(default)]
    #[schema(required = true)]
    pub social_image_url: Option<String>,
    /// Asks search engines not to index the page.
    #[serde(default)]
    #[schema(required = true)]
    pub noindex: bool,
}

/// The SEO and social fields as written: each left out (or `null`) falls back.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeoInput {
    #[serde(default)]
    pub meta_title: Option<Line<300>>,
    #[serde(default)]
    pub meta_description: Option<Text<500>>,
    #[serde(default)]
    pub canonical_url: Option<SourceUrl>,
    #[serde(default)]
    pub social_image_url: Option<SourceUrl>,
    #[serde(default)]
    pub noindex: Option<bool>,
}

impl SeoInput {
    /// The fields, validated (errors under `seo.<field>`).
    pub(super) fn check(&self, errors: &mut Vec<FieldError>) -> SeoFields {
        SeoFields {
            meta_title: self
                .meta_title
                .as_ref()
                .map(|title| title.check("seo.meta_title", errors)),
            meta_description: self
                .meta_description
                .as_ref()
                .and_then(|description| description.check("seo.meta_description", errors)),
            canonical_url: self
                .canonical_url
                .as_ref()
                .map(|url| url.check("seo.canonical_url", errors)),
            social_image_url: self
                .social_image_url
                .as_ref()
                .map(|url| url.check("seo.social_image_url", errors)),
            noindex: self.noindex.unwrap_or(false),
        }
    }
}

/// What a page prints in its `<head>`, fallbacks applied.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PageMeta {
    /// `seo.meta_title`, else the headline.
    pub title: String,
    /// `seo.meta_description`, else the standfirst, else the body's first
    /// paragraph, cut to 160 characters, else the headline. Plain text.
    pub description: String,
    /// `seo.canonical_url`; `null`: the page's own URL is canonical.
    pub canonical_url: Option<String>,
    /// `seo.social_image_url`, else the lead image (root-relative); `null` when
    /// there is neither.
    pub image_url: Option<String>,
    /// `noindex` or `index, follow`, for `<meta name="robots">`.
    #[schema(example = "index, follow")]
    pub robots: String,
}

impl PageMeta {
    /// With the lead image as the social image when the editors set none.
    pub fn or_image(mut self, lead_image: Option<&ImageRef>) -> PageMeta {
        if self.image_url.is_none() {
            self.image_url = lead_image.map(|image| image.url.clone());
        }
        self
    }

    /// The meta of an article titled `title` with `seo`; `excerpt` gives its
    /// excerpt of at most so many characters (the description's fallback).
    pub fn of(title: &str, seo: &SeoFields, excerpt: impl FnOnce(u16) -> String) -> PageMeta {
        PageMeta {
            title: seo.meta_title.clone().unwrap_or_else(|| title.to_string()),
            description: seo.meta_description.clone().unwrap_or_else(|| {
                Some(excerpt(DESCRIPTION_CHARS))
                    .filter(|excerpt| !excerpt.is_empty())
                    .unwrap_or_else(|| title.to_string())
            }),
            canonical_url: seo.canonical_url.clone(),
            image_url: seo.social_image_url.clone(),
            robots: if seo.noindex {
                "noindex"
            } else {
                "index, follow"
            }
            .into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_field_falls_back_to_the_article() {
        let excerpt = |standfirst: Option<&'static str>, lead: String| {
            move |chars| teaser::excerpt(standfirst, &lead, chars)
        };
        let bare = PageMeta::of(
            "Headline",
            &SeoFields::default(),
            excerpt(Some("Standfirst."), "Lead.".into()),
        );
        assert_eq!(bare.title, "Headline");
        assert_eq!(bare.description, "Standfirst.");
        assert_eq!(bare.robots, "index, follow");
        let no_standfirst = PageMeta::of(
            "H",
            &SeoFields::default(),
            excerpt(None, "word ".repeat(60)),
        );
        assert!(no_standfirst.description.chars().count() <= 161);
        let set = SeoFields {
            meta_title: Some("Title".into()),
            meta_description: Some("Description".into()),
            canonical_url: Some("https://example.com/a".into()),
            social_image_url: None,
            noindex: true,
        };
        let meta = PageMeta::of(
            "Headline",
            &set,
            excerpt(Some("Standfirst."), String::new()),
        );
        assert_eq!(
            (
                meta.title.as_str(),
                meta.description.as_str(),
                meta.robots.as_str()
            ),
            ("Title", "Description", "noindex")
        );
    }
}
