//! Articles as served and as written: the representation, the write requests, and
//! the parameters of lists.

use chrono::{DateTime, Datelike, Utc};
use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

use super::seo::{PageMeta, SeoFields, SeoInput};
use super::teaser::DEFAULT_EXCERPT_CHARS;
use crate::content::article_access::{ArticleKey, Audience};
pub use crate::content::article_status::Status;
use crate::content::authors::AuthorRef;
use crate::content::citations::{Citation, CitationInput};
use crate::content::key_points::{KeyPointList, KeyPointListInput};
use crate::content::language::LanguageInput;
use crate::content::media::{ImageRef, LeadImageInput};
use crate::content::precondition::EntityState;
use crate::content::sections::SectionRef;
use crate::content::slug::SlugInput;
use crate::content::tags::{TagRef, TagReference};
use crate::content::text::{self, Line, Text};
use crate::content::translations::TranslationRef;
use crate::error::{AppError, AppResult};

/// A headline.
pub type Title = Line<300>;
/// The summary under the headline.
pub type Standfirst = Text<2000>;
/// Markdown, citations referred to as `[n]`.
pub type Body = Text<500_000>;

/// An article as served. Lists leave out the parts not asked for with `include`
/// (in the spec: `ArticleSummary`); a whole read has them all ([`WholeArticle`]).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = ArticleSummary)]
pub struct Article {
    pub id: Uuid,
    #[schema(example = "mongolia-looks-to-south-korea")]
    pub slug: String,
    pub title: String,
    /// The summary under the headline.
    pub standfirst: Option<String>,
    /// A BCP 47 language tag; it picks how the article is indexed for search.
    /// (Revisions recorded before articles had one leave it empty.)
    #[serde(default)]
    #[schema(example = "en")]
    pub language: String,
    /// Markdown. Left out of lists unless `include=body`. An image written
    /// `![alt](media:<id>)` shows uploaded media (see `body_media`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body rendered to sanitized HTML, `[n]` linked to `#citation-n`, each
    /// `media:` image an `<img>` with `srcset`, `width` and `height`; only with
    /// `include=body_html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_html: Option<String>,
    /// The media the body's `media:<id>` images name, by id (to resolve them when
    /// rendering `body` yourself); with `body` or `body_html`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_media: Option<Vec<ImageRef>>,
    /// A teaser: the standfirst, or else the body's first paragraph as plain text,
    /// cut at a word boundary to `excerpt_length` characters (default 200) with an
    /// ellipsis when cut. Plain text: escape it for HTML.
    #[serde(default)]
    #[schema(
        required = true,
        example = "Mongolia is turning to Seoul for the investment…"
    )]
    pub excerpt: String,
    /// Words in the body as read (its text, not its markup).
    #[serde(default)]
    #[schema(required = true)]
    pub word_count: i32,
    /// `word_count` at 230 words a minute, rounded up.
    #[serde(default)]
    #[schema(required = true)]
    pub reading_time_minutes: i32,
    pub status: Status,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change to the article or any of its parts; the `ETag`
    /// carries it.
    pub version: i32,
    /// The token that created the article (only for tokens that read unpublished
    /// content).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<Uuid>,
    /// The token that made the last change (as `created_by`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_by: Option<Uuid>,
    /// The byline, in order.
    #[serde(default)]
    #[schema(required = true)]
    pub authors: Vec<AuthorRef>,
    /// Its primary section (the kicker), if any.
    #[serde(default)]
    #[schema(required = true)]
    pub section: Option<SectionRef>,
    /// The image at its head, if any, with this article's caption and credit.
    #[serde(default)]
    #[schema(required = true)]
    pub lead_image: Option<ImageRef>,
    /// In the article's order.
    pub tags: Vec<TagRef>,
    /// The SEO and social fields as editors set them (each may be `null`).
    #[serde(default)]
    #[schema(required = true)]
    pub seo: SeoFields,
    /// What a page prints in its `<head>`: `seo` with every fallback applied.
    #[serde(default)]
    #[schema(required = true)]
    pub meta: PageMeta,
    /// The same story in other languages (for `hreflang` links), by language;
    /// without a token, only the published ones.
    #[serde(default)]
    #[schema(required = true)]
    pub translations: Vec<TranslationRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_point_lists: Option<Vec<KeyPointList>>,
    /// Ordered by number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citations: Option<Vec<Citation>>,
    /// Only on search hits (`q=`): where the article matches, as HTML-escaped text
    /// whose only markup is `<mark>` around the words found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

impl Article {
    /// The state its entity tags name.
    pub fn state(&self) -> EntityState {
        EntityState {
            id: self.id,
            version: self.version,
            phase: self.status.as_str(),
            context: crate::content::translations::fingerprint(&self.translations),
        }
    }
}

/// The spec's schema of an article read whole (a read by id or slug, and every
/// write's answer): [`Article`] with its body, key-point lists and citations always
/// there.
pub struct WholeArticle;

impl PartialSchema for WholeArticle {
    fn schema() -> RefOr<Schema> {
        let mut schema = <Article as PartialSchema>::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.description = Some(
                "An article, whole: its fields with its tags, key-point lists and citations; \
                 `body_html` only when asked for with `include=body_html`."
                    .into(),
            );
            let always_there: [(&str, RefOr<Schema>); 3] = [
                (
                    "body",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some("Markdown; citation n is referred to as `[n]`."))
                        .into(),
                ),
                (
                    "key_point_lists",
                    ArrayBuilder::new()
                        .items(Ref::from_schema_name("KeyPointList"))
                        .description(Some("In the article's order."))
                        .into(),
                ),
                (
                    "citations",
                    ArrayBuilder::new()
                        .items(Ref::from_schema_name("Citation"))
                        .description(Some("Ordered by number."))
                        .into(),
                ),
            ];
            for (name, part) in always_there {
                object.properties.insert(name.into(), part);
                object.required.push(name.into());
            }
        }
        schema
    }
}

impl ToSchema for WholeArticle {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Article")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((
            <Article as ToSchema>::name().into_owned(),
            <Article as PartialSchema>::schema(),
        ));
        <Article as ToSchema>::schemas(schemas);
    }
}

/// A part an article representation can be asked to carry (`include`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncludePart {
    /// The Markdown body.
    Body,
    /// The body rendered to sanitized HTML.
    BodyHtml,
    /// The key-point lists with their points.
    KeyPointLists,
    /// The citations.
    Citations,
}

impl IncludePart {
    const ALL: [(&'static str, IncludePart); 4] = [
        ("body", IncludePart::Body),
        ("body_html", IncludePart::BodyHtml),
        ("key_point_lists", IncludePart::KeyPointLists),
        ("citations", IncludePart::Citations),
    ];

    fn parse(value: &str) -> Option<IncludePart> {
        Self::ALL
            .iter()
            .find(|(name, _)| *name == value)
            .map(|(_, part)| *part)
    }
}

/// Which optional parts a representation carries, and how long its excerpt is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Include {
    pub body: bool,
    pub body_html: bool,
    pub key_point_lists: bool,
    pub citations: bool,
    /// The longest `excerpt`, in characters.
    pub excerpt_chars: u16,
}

impl Default for Include {
    /// A summary: no optional part, the default excerpt length.
    fn default() -> Include {
        Include {
            body: false,
            body_html: false,
            key_point_lists: false,
            citations: false,
            excerpt_chars: DEFAULT_EXCERPT_CHARS,
        }
    }
}

impl Include {
    /// Names this set of parts in entity tags, so that each gets tags of its own.
    pub fn variant(self) -> String {
        let parts = [
            self.body,
            self.body_html,
            self.key_point_lists,
            self.citations,
        ];
        let bits: String = parts.iter().map(|on| if *on { '1' } else { '0' }).collect();
        if self.excerpt_chars == DEFAULT_EXCERPT_CHARS {
            format!("article:{bits}")
        } else {
            format!("article:{bits}:{}", self.excerpt_chars)
        }
    }

    /// A whole article: everything but the rendered HTML.
    pub const WHOLE: Include = Include {
        body: true,
        body_html: false,
        key_point_lists: true,
        citations: true,
        excerpt_chars: DEFAULT_EXCERPT_CHARS,
    };

    /// Parses `include=body,body_html,key_point_lists,citations` on top of `base`.
    /// Each part must be named: `include=` or `include=body,` is refused (400), as
    /// the spec's enum says.
    pub fn parse(base: Include, value: Option<&str>) -> AppResult<Include> {
        let mut include = base;
        let Some(value) = value else {
            return Ok(include);
        };
        for part in value.split(',').map(str::trim) {
            match IncludePart::parse(part) {
                Some(IncludePart::Body) => include.body = true,
                Some(IncludePart::BodyHtml) => include.body_html = true,
                Some(IncludePart::KeyPointLists) => include.key_point_lists = true,
                Some(IncludePart::Citations) => include.citations = true,
                None => {
                    let known: Vec<&str> = IncludePart::ALL.iter().map(|(name, _)| *name).collect();
                    let what = if part.is_empty() {
                        "an empty part".to_string()
                    } else {
                        format!("unknown part `{part}`")
                    };
                    return Err(AppError::InvalidParameter(format!(
                        "include: {what}; name one or more of {}, separated by commas, or \
                         leave include out",
                        known.join(", ")
                    )));
                }
            }
        }
        Ok(include)
    }
}

/// The status an editor may ask for when writing a whole article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StatusInput {
    Draft,
    Published,
    Scheduled,
    Archived,
}

/// A whole article, to create (`POST`) or replace (`PUT`) in one request with its
/// key-point lists, citations and tags.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleInput {
    pub title: Title,
    /// Derived from the title when omitted.
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default)]
    pub standfirst: Option<Standfirst>,
    /// Markdown; refer to citation n as `[n]`.
    #[serde(default)]
    pub body: Option<Body>,
    /// BCP 47; when creating, default the service's (`CMS_DEFAULT_LANGUAGE`); when
    /// replacing, unchanged unless given.
    #[serde(default)]
    pub language: Option<LanguageInput>,
    /// `draft` when creating; unchanged when replacing. `published` and `scheduled`
    /// run the publishing check.
    #[serde(default)]
    pub status: Option<StatusInput>,
    /// For `scheduled`: when it goes live (in the future). For `published`: when it
    /// went live (default: now).
    #[serde(default)]
    pub published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub key_point_lists: Option<Vec<KeyPointListInput>>,
    #[serde(default)]
    #[schema(max_items = 200)]
    pub citations: Option<Vec<CitationInput>>,
    /// Tags by slug or name, in order; unknown names create the tag.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Option<Vec<TagReference>>,
    /// Its section, by slug (an existing one); none when left out.
    #[serde(default)]
    pub section: Option<SlugInput>,
    /// The byline: authors by slug, in order; none when left out.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub authors: Option<Vec<SlugInput>>,
    /// SEO and social fields; when replacing, left out clears them.
    #[serde(default)]
    pub seo: Option<SeoInput>,
    /// Its lead image (an uploaded media's id), with its own caption and credit
    /// when they differ from the image's; none when left out.
    #[serde(default)]
    pub lead_image: Option<LeadImageInput>,
    /// Makes the article a translation of another (by id or slug): it joins that
    /// article's translation group. Left out: unchanged.
    #[serde(default)]
    #[schema(max_length = 100, example = "mongolia-looks-to-south-korea")]
    pub translation_of: Option<String>,
}

/// A partial update: only the fields sent change. `standfirst: null` clears it; a
/// list of parts sent replaces that list whole. Status changes go through the
/// workflow endpoints (publish, schedule, unpublish, archive).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticlePatch {
    #[serde(default)]
    pub title: Option<Title>,
    #[serde(default)]
    pub slug: Option<SlugInput>,
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    pub standfirst: Option<Option<Standfirst>>,
    #[serde(default)]
    pub body: Option<Body>,
    #[serde(default)]
    pub language: Option<LanguageInput>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub key_point_lists: Option<Vec<KeyPointListInput>>,
    #[serde(default)]
    #[schema(max_items = 200)]
    pub citations: Option<Vec<CitationInput>>,
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Option<Vec<TagReference>>,
    /// Its section, by slug; `null` takes it out of its section.
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<SlugInput>)]
    pub section: Option<Option<SlugInput>>,
    /// The byline: authors by slug, in order (`[]` for none).
    #[serde(default)]
    #[schema(max_items = 20)]
    pub authors: Option<Vec<SlugInput>>,
    /// SEO and social fields, replaced whole (fields left out clear).
    #[serde(default)]
    pub seo: Option<SeoInput>,
    /// Its lead image; `null` removes it.
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<LeadImageInput>)]
    pub lead_image: Option<Option<LeadImageInput>>,
    /// Joins another article's translation group (by id or slug); `null` leaves
    /// the group.
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub translation_of: Option<Option<String>>,
}

/// When a scheduled article goes live.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// A moment in the future.
    pub published_at: DateTime<Utc>,
}

/// What an article list is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// The publication date; drafts (no date) last in either direction.
    PublishedAt,
    UpdatedAt,
    Title,
    /// Relevance to the search (`q`), best match first.
    Relevance,
}

/// How an article list is sorted: a key and a direction (`sort`). Ties are broken
/// by id, in the same direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    /// Newest first.
    pub const NEWEST: Sort = Sort {
        key: SortKey::PublishedAt,
        descending: true,
    };
    /// Best match first.
    pub const RELEVANCE: Sort = Sort {
        key: SortKey::Relevance,
        descending: true,
    };

    /// Every value `sort` takes: a key alone sorts in its usual direction (dates
    /// newest first, titles A to Z); `-key` or `key:desc` descending; `key:asc`
    /// ascending.
    pub const VALUES: [&'static str; 13] = [
        "published_at",
        "-published_at",
        "published_at:asc",
        "published_at:desc",
        "updated_at",
        "-updated_at",
        "updated_at:asc",
        "updated_at:desc",
        "title",
        "-title",
        "title:asc",
        "title:desc",
        "relevance",
    ];

    /// One of [`Sort::VALUES`].
    pub fn parse(value: &str) -> Option<Sort> {
        if value == "relevance" {
            return Some(Sort::RELEVANCE);
        }
        let (name, descending) = if let Some(name) = value.strip_prefix('-') {
            (name, Some(true))
        } else if let Some(name) = value.strip_suffix(":desc") {
            (name, Some(true))
        } else if let Some(name) = value.strip_suffix(":asc") {
            (name, Some(false))
        } else {
            (value, None)
        };
        let (key, usual) = match name {
            "published_at" => (SortKey::PublishedAt, true),
            "updated_at" => (SortKey::UpdatedAt, true),
            "title" => (SortKey::Title, false),
            _ => return None,
        };
        Some(Sort {
            key,
            descending: descending.unwrap_or(usual),
        })
    }
}

impl<'de> Deserialize<'de> for Sort {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Sort, D::Error> {
        let value = Cow::<str>::deserialize(deserializer)?;
        Sort::parse(&value).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown sort `{value}`; one of {}",
                Sort::VALUES.join(", ")
            ))
        })
    }
}

impl PartialSchema for Sort {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Sort::VALUES))
            .description(Some(
                "How a list is sorted. A key alone sorts in its usual direction: \
                 `published_at` newest first (drafts, with no date, last), `updated_at` \
                 most recently changed first, `title` A to Z, `relevance` best match first \
                 (only with `q`, where it is the default). `-key` or `key:desc` sorts \
                 descending, `key:asc` ascending.",
            ))
            .into()
    }
}

impl ToSchema for Sort {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Sort")
    }
}

/// The sort key of the last row of a page, tagged with its sort (the usual
/// directions keep their original tags, so cursors given out before directions
/// existed stay valid).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ArticleCursor {
    /// Published, newest first.
    P(Option<DateTime<Utc>>, Uuid),
    /// Published, oldest first.
    PA(Option<DateTime<Utc>>, Uuid),
    /// Updated, most recent first.
    U(DateTime<Utc>, Uuid),
    /// Updated, least recent first.
    UA(DateTime<Utc>, Uuid),
    /// Title, A to Z.
    T(String, Uuid),
    /// Title, Z to A.
    TD(String, Uuid),
    /// Relevance, as the database computes it (a `real`, exact in JSON).
    R(f32, Uuid),
}

/// The filters of an article list.
#[derive(Debug, Clone)]
pub struct ArticleFilter {
    /// Who reads; the public sees only what is published.
    pub audience: Audience,
    pub status: Option<Status>,
    /// Tag slugs: an article matches a group when it carries any tag of it, and
    /// must match every group.
    pub tag_groups: Vec<Vec<String>>,
    pub published_after: Option<DateTime<Utc>>,
    pub published_before: Option<DateTime<Utc>>,
    /// Only articles in this language (its tag, canonical case).
    pub language: Option<String>,
    /// Section slugs: an article matches a group when it is in any section of it,
    /// and must match every group (`/sections/{s}/articles?section=` narrows).
    pub section_groups: Vec<Vec<String>>,
    /// Author slugs: an article matches a group when its byline names any author
    /// of it, and must match every group.
    pub author_groups: Vec<Vec<String>>,
    /// A web-search query (`q`): only the articles it finds.
    pub search: Option<String>,
    /// Tag slugs no listed article may carry.
    pub tags_none: Vec<String>,
    /// Articles left out, by id or slug (the one being read, under "Latest").
    pub exclude: Vec<ArticleKey>,
}

impl ArticleFilter {
    /// Narrows the filter by what a client asked for: a status and a publication
    /// range.
    pub fn narrowed(
        mut self,
        status: Option<Status>,
        published_after: Option<DateTime<Utc>>,
        published_before: Option<DateTime<Utc>>,
    ) -> AppResult<Self> {
        for (name, moment) in [
            ("published_after", published_after),
            ("published_before", published_before),
        ] {
            if moment.is_some_and(|m| !text::YEARS.contains(&m.year())) {
                return Err(AppError::InvalidParameter(format!(
                    "{name} must be between the years 1 and 9999"
                )));
            }
        }
        self.status = status;
        self.published_after = published_after;
        self.published_before = published_before;
        Ok(self)
    }

    /// No filter but what `audience` may see.
    pub fn for_audience(audience: Audience) -> ArticleFilter {
        ArticleFilter {
            audience,
            status: None,
            tag_groups: Vec::new(),
            published_after: None,
            published_before: None,
            language: None,
            section_groups: Vec::new(),
            author_groups: Vec::new(),
            search: None,
            tags_none: Vec::new(),
            exclude: Vec::new(),
        }
    }
}
