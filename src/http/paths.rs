//! Path parameters as typed extractors. Each kind of segment (`{article}`, `{list}`,
//! `{point}`, `{citation}`, `{tag}`, `{token}`) says once how it is parsed, which
//! 404 answers a value that names nothing, and how the spec documents it.
//!
//! Extracting never fails: the key is taken with [`PathParam::key`] inside the
//! handler, after the caller is authorized, so that an anonymous write to a
//! malformed path is told 401, not 404.

use std::future::{ready, Ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use percent_encoding::percent_decode_str;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, Required};
use utoipa::IntoParams;
use uuid::Uuid;

use crate::content::article_access::{self, ArticleKey};
use crate::content::tags::{self, TagKey};
use crate::content::{citations, key_points};
use crate::error::{AppError, AppResult};

/// One kind of path segment.
pub trait Segment {
    /// Its name in the route, as in `{article}`.
    const NAME: &'static str;
    /// What it names, for the spec.
    const DESCRIPTION: &'static str;
    /// Whether only an id (a UUID) can name the resource; else an id or a slug.
    const ID_ONLY: bool;
    /// What the segment is parsed into.
    type Key;
    /// The key, or the domain's 404 when the value cannot name anything.
    fn parse(value: &str) -> AppResult<Self::Key>;
}

/// A path parameter of kind `S`, as sent (percent-decoded).
pub struct PathParam<S> {
    value: String,
    kind: PhantomData<S>,
}

impl<S: Segment> PathParam<S> {
    /// The parsed key, or the 404 of a value that names nothing.
    pub fn key(&self) -> AppResult<S::Key> {
        S::parse(&self.value)
    }

    /// The segment as the client sent it (for `Location` headers).
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<S: Segment> FromRequest for PathParam<S> {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Percent-decoded, as `web::Path` decodes it.
        let raw = req.match_info().get(S::NAME).unwrap_or_default();
        ready(Ok(PathParam {
            value: percent_decode_str(raw).decode_utf8_lossy().into_owned(),
            kind: PhantomData,
        }))
    }
}

impl<S: Segment> IntoParams for PathParam<S> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = if S::ID_ONLY {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        } else {
            ObjectBuilder::new().schema_type(Type::String)
        };
        vec![ParameterBuilder::new()
            .name(S::NAME)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(S::DESCRIPTION))
            .schema(Some(schema))
            .build()]
    }
}

/// `{article}`: an article's id or slug.
pub struct ArticleSegment;
pub type ArticlePath = PathParam<ArticleSegment>;

impl Segment for ArticleSegment {
    const NAME: &'static str = "article";
    const DESCRIPTION: &'static str = "The article's id or slug";
    const ID_ONLY: bool = false;
    type Key = ArticleKey;
    fn parse(value: &str) -> AppResult<ArticleKey> {
        article_access::parse_key(value)
    }
}

/// `{list}`: a key-point list's id.
pub struct ListSegment;
pub type ListPath = PathParam<ListSegment>;

impl Segment for ListSegment {
    const NAME: &'static str = "list";
    const DESCRIPTION: &'static str = "The list's id";
    const ID_ONLY: bool = true;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        key_points::parse_list_id(value)
    }
}

/// `{point}`: a key point's id.
pub struct PointSegment;
pub type PointPath = PathParam<PointSegment>;

impl Segment for PointSegment {
    const NAME: &'static str = "point";
    const DESCRIPTION: &'static str = "The point's id";
    const ID_ONLY: bool = true;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        key_points::parse_point_id(value)
    }
}

/// `{citation}`: a citation's id.
pub struct CitationSegment;
pub type CitationPath = PathParam<CitationSegment>;

impl Segment for CitationSegment {
    const NAME: &'static str = "citation";
    const DESCRIPTION: &'static str = "The citation's id";
    const ID_ONLY: bool = true;
    type Key = Uuid;
    fn parse(value: &str) -> AppResult<Uuid> {
        citations::parse_id(value)
    }
}

/// `{tag}`: a tag's id or slug.
pub struct TagSegment;
pub type TagPath = PathParam<TagSegment>;

impl Segment for TagSegment {
    const NAME: &'static str = "tag";
    const DESCRIPTION: &'static str = "The tag's id or slug";
    const ID_ONLY: bool = false;
    type Key = TagKey;
    fn parse(value: &str) -> AppResult<TagKey> {
        tags::parse_key(value)
    }
}

/// `{token}`: a token's id or prefix (`cms_3f2a9c1b`); any other value names no
/// token, which the lookup answers.
pub struct TokenSegment;
pub type TokenPath = PathParam<TokenSegment>;

impl Segment for TokenSegment {
    const NAME: &'static str = "token";
    const DESCRIPTION: &'static str = "The token's id or prefix";
    const ID_ONLY: bool = false;
    type Key = String;
    fn parse(value: &str) -> AppResult<String> {
        Ok(value.to_string())
    }
}
