//! Path parameters as typed extractors. Each kind of segment (`{article}`, `{list}`,
//! `{point}`, `{citation}`, `{tag}`, `{token}`, `{version}`) is a [`Segment`], declared with its
//! resource's handlers: it says once how it is parsed, which 404 answers a value that
//! names nothing, and how the spec documents both.
//!
//! Extracting never fails: the key is taken with [`PathParam::key`] inside the
//! handler, after the caller is authorized, so that an anonymous write to a
//! malformed path is told 401, not 404.

use std::future::{ready, Ready};
use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use percent_encoding::percent_decode_str;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, Required};
use utoipa::IntoParams;

use crate::error::{AppError, AppResult};

/// Where a path parameter carries its 404's description to the spec's completion
/// (which takes it out again).
pub const NOT_FOUND_EXTENSION: &str = "x-not-found";

/// What values a segment takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// An id (a UUID) or a slug.
    IdOrSlug,
    /// Only an id (a UUID).
    Id,
    /// A whole number (such as a version).
    Number,
    /// An opaque token (base64url).
    Token,
}

/// One kind of path segment.
pub trait Segment {
    /// Its name in the route, as in `{article}`.
    const NAME: &'static str;
    /// What it names, for the spec.
    const DESCRIPTION: &'static str;
    /// The spec's description of the 404 when it names nothing (an operation's 404
    /// is that of its last segment).
    const NOT_FOUND: &'static str;
    /// What values can name the resource.
    const SHAPE: Shape;
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
        let schema = match S::SHAPE {
            Shape::Id => ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid))),
            Shape::IdOrSlug => ObjectBuilder::new().schema_type(Type::String),
            Shape::Number => ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
                .minimum(Some(1)),
            Shape::Token => ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^[A-Za-z0-9_-]+$")),
        };
        let not_found = ExtensionsBuilder::new()
            .add(NOT_FOUND_EXTENSION, S::NOT_FOUND)
            .build();
        vec![ParameterBuilder::new()
            .name(S::NAME)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(S::DESCRIPTION))
            .schema(Some(schema))
            .extensions(Some(not_found))
            .build()]
    }
}
