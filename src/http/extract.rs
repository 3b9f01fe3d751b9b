//! Request extractors whose failures are problem details.

use std::marker::PhantomData;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldError};

/// The largest accepted request body, in bytes (from `CMS_BODY_LIMIT`), and how
/// long a client may take to send it (`CMS_BODY_TIMEOUT_MS`).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub bytes: usize,
    pub timeout: Duration,
}

impl Default for BodyLimit {
    fn default() -> Self {
        BodyLimit {
            bytes: crate::http::DEFAULT_BODY_LIMIT,
            timeout: Duration::from_secs(8),
        }
    }
}

/// A JSON request body, not yet read.
///
/// Reading waits for [`JsonBody::parse`], which a handler calls once it has
/// authorized the caller: whoever may not write learns that (401/403) without the
/// body being read at all. Then, unlike `actix_web::web::Json`, it refuses
/// compressed bodies (a small gzip body can inflate to gigabytes), stops reading at
/// the size limit and at the time limit, tells apart a body that is not JSON at all
/// (400, with the line and column where parsing stopped) from JSON of the wrong
/// shape (422, naming the field), and answers every failure as problem details.
pub struct JsonBody<T> {
    payload: Payload,
    limit: BodyLimit,
    content_type_ok: bool,
    encoding: Option<String>,
    declared_length: Option<usize>,
    _shape: PhantomData<T>,
}

impl<T: DeserializeOwned> JsonBody<T> {
    /// Reads the body as `T`: 415 unless it is uncompressed JSON, 413 past the size
    /// limit, 408 past the time limit, 400 unless it parses, 422 unless it has the
    /// right shape.
    pub async fn parse(self) -> Result<T, AppError> {
        if !self.content_type_ok {
            return Err(AppError::UnsupportedMediaType(
                "Send the body as JSON, with `Content-Type: application/json`.".into(),
            ));
        }
        if let Some(encoding) = &self.encoding {
            return Err(AppError::UnsupportedEncoding(format!(
                "Request bodies are accepted uncompressed only, not as `{encoding}`."
            )));
        }
        let limit = self.limit.bytes;
        if self.declared_length.is_some_and(|length| length > limit) {
            return Err(AppError::PayloadTooLarge { limit });
        }
        let bytes = tokio::time::timeout(self.limit.timeout, read_body(self.payload, limit))
            .await
            .map_err(|_| AppError::RequestTimeout(self.limit.timeout))??;
        parse_json_object(&bytes)
    }
}

/// Reads a payload up to `limit` bytes (413 past it).
pub(crate) async fn read_body(
    mut payload: Payload,
    limit: usize,
) -> Result<web::BytesMut, AppError> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| AppError::MalformedBody("The request body could not be read.".into()))?;
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

impl<T: 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let header = |name| {
            req.headers()
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(str::trim)
        };
        let encoding = header(header::CONTENT_ENCODING)
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("identity"))
            .map(|e| e.chars().take(40).collect());
        std::future::ready(Ok(JsonBody {
            payload: payload.take(),
            limit: req.app_data::<BodyLimit>().copied().unwrap_or_default(),
            content_type_ok: is_json(req),
            encoding,
            declared_length: header(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
            _shape: PhantomData,
        }))
    }
}

/// `application/json`, or any `application/*+json` (such as merge-patch+json).
fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return false;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a JSON object. (serde would also build a struct from an array of its
/// field values, which no client means.)
pub fn parse_json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'{') | None => parse_json(bytes),
        Some(_) => match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => Err(AppError::validation("body", "expected a JSON object")),
            Err(_) => parse_json(bytes),
        },
    }
}

/// Parses JSON, mapping syntax errors to 400 and shape errors to 422 with the field path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(&mut *deserializer) {
        // One JSON value and nothing after it but whitespace.
        Ok(value) => match deserializer.end() {
            Ok(()) => Ok(value),
            Err(error) => Err(AppError::MalformedBody(format!(
                "The body has more after its JSON value, at line {}, column {}; send one \
                 JSON object.",
                error.line(),
                error.column()
            ))),
        },
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    Err(AppError::Validation(vec![field_error(&path, &inner)]))
                }
                serde_json::error::Category::Eof if bytes.iter().all(u8::is_ascii_whitespace) => {
                    Err(AppError::MalformedBody(
                        "The request body is empty; send a JSON object.".into(),
                    ))
                }
                _ => Err(AppError::MalformedBody(format!(
                    "The body is not valid JSON: {} at line {}, column {}.",
                    syntax_message(&inner),
                    inner.line(),
                    inner.column()
                ))),
            }
        }
    }
}

/// serde_json's message without its " at line L column C" suffix (we add our own).
fn syntax_message(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message,
    }
}

/// Turns a serde data error into a field and a message without internal type names.
fn field_error(path: &str, error: &serde_json::Error) -> FieldError {
    let message = syntax_message(error);
    let join = |name: &str| {
        if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_string);
    if let Some(name) = message.strip_prefix("missing field ").and_then(quoted) {
        return FieldError::new(join(&name), "is required");
    }
    if message.starts_with("unknown field ") {
        // serde names the field first, then the accepted ones.
        let name = quoted(&message).unwrap_or_default();
        let expected = message
            .split_once("expected ")
            .map(|(_, e)| format!("; expected {}", e.replace('`', "")))
            .unwrap_or_default();
        // serde_path_to_error already appended the unknown field to the path.
        let field = if path.ends_with(&name) {
            path.to_string()
        } else {
            join(&name)
        };
        return FieldError::new(field, format!("is not a known field{expected}"));
    }
    let field = if path == "." {
        "body".to_string()
    } else {
        path.to_string()
    };
    if message.starts_with("unknown variant ") {
        // serde: "unknown variant `x`, expected one of `a`, `b`" (or "expected `a` or `b`").
        let expected = message
            .split_once("expected ")
            .map(|(_, e)| e.replace("one of ", "").replace('`', ""))
            .unwrap_or_default();
        return FieldError::new(field, format!("must be one of {expected}"));
    }
    let message = message
        .replace("invalid type: ", "wrong type: ")
        .replace('`', "");
    // "expected struct NewTag" names an internal type; say what the client must send.
    let message = match message.find("expected struct ") {
        Some(index) => format!("{}expected a JSON object", &message[..index]),
        None => message,
    };
    FieldError::new(field, message)
}

/// The query string, deserialized as `T`; a parameter that is unknown or holds a
/// value `T` does not take is a 400 that names it (`web::Query` names neither).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = AppError;
    type Future = std::future::Ready<Result<Query<T>, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        let deserializer = serde_urlencoded::Deserializer::new(pairs);
        std::future::ready(
            serde_path_to_error::deserialize::<_, T>(deserializer)
                .map(Query)
                .map_err(|error| {
                    let parameter = error.path().to_string();
                    let message = error.into_inner().to_string();
                    AppError::InvalidParameter(if parameter == "." {
                        format!("The query string is not valid: {message}.")
                    } else {
                        format!("{parameter}: {message}")
                    })
                }),
        )
    }
}

/// Maps `web::Query` failures to problem details.
pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _: &HttpRequest,
) -> actix_web::Error {
    AppError::InvalidParameter(format!("The query string is not valid: {error}.")).into()
}

/// Maps `web::Path` failures to problem details.
pub fn path_error(error: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    AppError::InvalidParameter(format!("The path is not valid: {error}.")).into()
}
