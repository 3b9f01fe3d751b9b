//! Validating what a write carries, and merging a patch into the current article.

use chrono::{DateTime, Datelike, Utc};

use super::seo::SeoFields;
use super::types::*;
use crate::content::article_access::ArticleRow;
use crate::content::article_status::StoredStatus;
use crate::content::media::ValidLeadImage;
use crate::content::slug::Slug;
use crate::content::{article_authors, article_tags, citations, key_points, markdown, text};
use crate::error::{AppResult, FieldError};

/// The article's own fields, validated.
pub(super) struct ArticleFields {
    pub(super) slug: String,
    /// Whether the slug was derived from the title (not given): a taken one then
    /// gets a free suffix instead of a 409.
    pub(super) slug_derived: bool,
    pub(super) title: String,
    pub(super) standfirst: Option<String>,
    pub(super) body: String,
    /// The body rendered, when the body is new; `None` keeps the stored rendering.
    pub(super) rendered: Option<markdown::RenderedBody>,
    /// The language tag, canonical; `None` keeps the stored one (or, creating,
    /// takes the default).
    pub(super) language: Option<String>,
}

/// Everything a whole-article write carries, validated.
pub(super) struct ValidArticle {
    pub(super) fields: ArticleFields,
    pub(super) status: Option<(StoredStatus, Option<DateTime<Utc>>)>,
    pub(super) key_point_lists: Option<Vec<key_points::ValidList>>,
    pub(super) citations: Option<Vec<citations::ValidCitation>>,
    pub(super) tags: Option<Vec<String>>,
    /// The section's slug: `Some(None)` takes the article out of its section,
    /// `None` leaves it as it is.
    pub(super) section: Option<Option<String>>,
    /// Author slugs, in order; `None` leaves the byline as it is.
    pub(super) authors: Option<Vec<String>>,
    /// `None` leaves them as they are.
    pub(super) seo: Option<SeoFields>,
    /// `Some(None)` removes it, `None` leaves it as it is.
    pub(super) lead_image: Option<Option<ValidLeadImage>>,
    /// Another article's id or slug: join its translation group; `Some(None)`
    /// leaves the group; `None` changes nothing.
    pub(super) translation_of: Option<Option<String>>,
}

/// The stored status and date for a requested status.
pub(super) fn stored_status(
    status: StatusInput,
    published_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    errors: &mut Vec<FieldError>,
) -> (StoredStatus, Option<DateTime<Utc>>) {
    if let Some(at) = published_at {
        text::check_year("published_at", at.year(), errors);
    }
    match status {
        StatusInput::Draft => {
            if published_at.is_some() {
                errors.push(FieldError::new(
                    "published_at",
                    "only published and scheduled articles have a publication date",
                ));
            }
            (StoredStatus::Draft, None)
        }
        StatusInput::Published => (StoredStatus::Published, Some(published_at.unwrap_or(now))),
        StatusInput::Scheduled => match published_at {
            Some(at) if at > now => (StoredStatus::Published, Some(at)),
            _ => {
                errors.push(FieldError::new(
                    "published_at",
                    "a scheduled article needs a publication date in the future",
                ));
                (StoredStatus::Published, Some(now))
            }
        },
        StatusInput::Archived => (StoredStatus::Archived, published_at),
    }
}

impl ArticleInput {
    pub(super) fn validate(&self, now: DateTime<Utc>) -> AppResult<ValidArticle> {
        let mut errors = Vec::new();
        let title = self.title.check("title", &mut errors);
        let slug = match &self.slug {
            Some(slug) => slug.check(&mut errors),
            None => Slug::derive_or_fallback(&title, "article").into_string(),
        };
        let standfirst = self
            .standfirst
            .as_ref()
            .and_then(|standfirst| standfirst.check("standfirst", &mut errors));
        let body = self
            .body
            .as_ref()
            .map(|body| body.check_verbatim("body", &mut errors))
            .unwrap_or_default();
        let language = self
            .language
            .as_ref()
            .map(|language| language.check(&mut errors));
        let status = match self.status {
            Some(status) => Some(stored_status(status, self.published_at, now, &mut errors)),
            None if self.published_at.is_some() => {
                errors.push(FieldError::new(
                    "published_at",
                    "give a status (published or scheduled) with a publication date",
                ));
                None
            }
            None => None,
        };
        let key_point_lists = self
            .key_point_lists
            .as_deref()
            .map(|lists| key_points::validate_lists(lists, &mut errors));
        let citations = self
            .citations
            .as_deref()
            .map(|citations| citations::validate_all(citations, &mut errors));
        let tags = self
            .tags
            .as_deref()
            .map(|tags| article_tags::validate_references(tags, &mut errors));
        let section = Some(
            self.section
                .as_ref()
                .map(|section| section.check_named("section", &mut errors)),
        );
        let authors = self
            .authors
            .as_deref()
            .map(|authors| article_authors::validate_slugs(authors, &mut errors));
        let seo = self.seo.as_ref().map(|seo| seo.check(&mut errors));
        let lead_image = Some(
            self.lead_image
                .as_ref()
                .map(|image| image.check(&mut errors)),
        );
        text::checked(
            ValidArticle {
                fields: ArticleFields {
                    slug,
                    slug_derived: self.slug.is_none(),
                    title,
                    standfirst,
                    body,
                    rendered: None,
                    language,
                },
                status,
                key_point_lists,
                citations,
                tags,
                section,
                authors,
                seo,
                lead_image,
                translation_of: self.translation_of.clone().map(Some),
            },
            errors,
        )
    }
}

/// A patch whose fields have been validated.
pub(super) struct ValidPatch {
    pub(super) title: Option<String>,
    pub(super) slug: Option<String>,
    pub(super) standfirst: Option<Option<String>>,
    pub(super) body: Option<String>,
    pub(super) language: Option<String>,
    pub(super) key_point_lists: Option<Vec<key_points::ValidList>>,
    pub(super) citations: Option<Vec<citations::ValidCitation>>,
    pub(super) tags: Option<Vec<String>>,
    pub(super) section: Option<Option<String>>,
    pub(super) authors: Option<Vec<String>>,
    pub(super) seo: Option<SeoFields>,
    pub(super) lead_image: Option<Option<ValidLeadImage>>,
    pub(super) translation_of: Option<Option<String>>,
}

impl ArticlePatch {
    /// Validates the fields sent, before anything is read or locked.
    pub(super) fn validate(&self) -> AppResult<ValidPatch> {
        let mut errors = Vec::new();
        let valid = ValidPatch {
            title: self
                .title
                .as_ref()
                .map(|title| title.check("title", &mut errors)),
            slug: self.slug.as_ref().map(|slug| slug.check(&mut errors)),
            standfirst: self.standfirst.as_ref().map(|standfirst| {
                standfirst
                    .as_ref()
                    .and_then(|standfirst| standfirst.check("standfirst", &mut errors))
            }),
            body: self
                .body
                .as_ref()
                .map(|body| body.check_verbatim("body", &mut errors)),
            language: self
                .language
                .as_ref()
                .map(|language| language.check(&mut errors)),
            key_point_lists: self
                .key_point_lists
                .as_deref()
                .map(|lists| key_points::validate_lists(lists, &mut errors)),
            citations: self
                .citations
                .as_deref()
                .map(|citations| citations::validate_all(citations, &mut errors)),
            tags: self
                .tags
                .as_deref()
                .map(|tags| article_tags::validate_references(tags, &mut errors)),
            section: self.section.as_ref().map(|section| {
                section
                    .as_ref()
                    .map(|section| section.check_named("section", &mut errors))
            }),
            authors: self
                .authors
                .as_deref()
                .map(|authors| article_authors::validate_slugs(authors, &mut errors)),
            seo: self.seo.as_ref().map(|seo| seo.check(&mut errors)),
            lead_image: self
                .lead_image
                .as_ref()
                .map(|image| image.as_ref().map(|image| image.check(&mut errors))),
            translation_of: self.translation_of.clone(),
        };
        text::checked(valid, errors)
    }
}

impl ValidPatch {
    pub(super) fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.slug.is_none()
            && self.standfirst.is_none()
            && self.body.is_none()
            && self.language.is_none()
            && self.key_point_lists.is_none()
            && self.citations.is_none()
            && self.tags.is_none()
            && self.section.is_none()
            && self.authors.is_none()
            && self.seo.is_none()
            && self.lead_image.is_none()
            && self.translation_of.is_none()
    }

    /// The whole-article write this patch makes of the current article.
    pub(super) fn apply_to(self, current: &ArticleRow) -> ValidArticle {
        ValidArticle {
            fields: ArticleFields {
                slug: self.slug.unwrap_or_else(|| current.slug.clone()),
                slug_derived: false,
                title: self.title.unwrap_or_else(|| current.title.clone()),
                standfirst: self
                    .standfirst
                    .unwrap_or_else(|| current.standfirst.clone()),
                body: self.body.unwrap_or_else(|| current.body.clone()),
                rendered: None,
                language: self.language,
            },
            status: None,
            key_point_lists: self.key_point_lists,
            citations: self.citations,
            tags: self.tags,
            section: self.section,
            authors: self.authors,
            seo: self.seo,
            lead_image: self.lead_image,
            translation_of: self.translation_of,
        }
    }
}
