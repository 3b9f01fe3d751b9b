//! The one error type of the service and its one mapping to HTTP: RFC 9457 problem
//! details (`application/problem+json`).
//!
//! Details shown to clients are written for them; database and internal errors are
//! logged with the request and answered with a generic message, never with SQL or
//! internal names.

use actix_web::http::{header, Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Seconds a client should wait before retrying while the database is unavailable.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Seconds a client should wait before retrying a request that timed out.
pub const TIMED_OUT_RETRY_AFTER_SECONDS: u32 = 1;

/// At most this many field errors are listed in one response; the detail says how
/// many there were.
pub const MAX_LISTED_ERRORS: usize = 100;

/// An RFC 9457 problem details object.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/validation-error",
    "title": "The request is not valid",
    "status": 422,
    "detail": "1 field is not valid",
    "errors": [{"field": "name", "message": "must not be empty"}]
}))]
pub struct Problem {
    #[serde(rename = "type")]
    #[schema(schema_with = problem_type_schema)]
    pub problem_type: String,
    /// A short summary of the kind of problem; the same for every occurrence.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, for humans.
    pub detail: String,
    /// One entry per invalid field (validation errors), or the field whose value
    /// clashes with existing data (a 409 such as a taken slug).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, e.g. `name` or `citations[2].url`.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A kind of problem: its stable `type` and its `title`.
#[derive(Debug, Clone, Copy)]
struct ProblemType {
    uri: &'static str,
    title: &'static str,
}

const fn problem_type(uri: &'static str, title: &'static str) -> ProblemType {
    ProblemType { uri, title }
}

const NOT_FOUND: ProblemType = problem_type("/problems/not-found", "Resource not found");
const METHOD_NOT_ALLOWED: ProblemType =
    problem_type("/problems/method-not-allowed", "Method not allowed");
const MALFORMED_BODY: ProblemType =
    problem_type("/problems/malformed-body", "Malformed request body");
const INVALID_PARAMETER: ProblemType =
    problem_type("/problems/invalid-parameter", "Invalid request parameter");
const UNSUPPORTED_MEDIA_TYPE: ProblemType =
    problem_type("/problems/unsupported-media-type", "Unsupported media type");
const REQUEST_TIMEOUT: ProblemType = problem_type(
    "/problems/request-timeout",
    "The request body arrived too slowly",
);
const PAYLOAD_TOO_LARGE: ProblemType =
    problem_type("/problems/payload-too-large", "Request body too large");
const VALIDATION_ERROR: ProblemType =
    problem_type("/problems/validation-error", "The request is not valid");
const CONFLICT: ProblemType = problem_type("/problems/conflict", "Conflict with the current state");
const PRECONDITION_FAILED: ProblemType = problem_type(
    "/problems/precondition-failed",
    "The resource has changed since you read it",
);
const UNAUTHORIZED: ProblemType = problem_type("/problems/unauthorized", "Authentication required");
const FORBIDDEN: ProblemType = problem_type("/problems/forbidden", "Not allowed");
const TOO_MANY_REQUESTS: ProblemType =
    problem_type("/problems/too-many-requests", "Too many requests");
const SERVICE_UNAVAILABLE: ProblemType = problem_type(
    "/problems/service-unavailable",
    "Service temporarily unavailable",
);
const TIMEOUT: ProblemType = problem_type("/problems/timeout", "The request took too long");
const IDEMPOTENCY_KEY_REUSED: ProblemType = problem_type(
    "/problems/idempotency-key-reused",
    "The idempotency key was used for another request",
);
const IDEMPOTENCY_KEY_IN_PROGRESS: ProblemType = problem_type(
    "/problems/idempotency-key-in-progress",
    "A request with this idempotency key is still in progress",
);
const IDEMPOTENCY_OUTCOME_UNKNOWN: ProblemType = problem_type(
    "/problems/idempotency-outcome-unknown",
    "The outcome of the request with this idempotency key is unknown",
);
const INTERNAL_ERROR: ProblemType =
    problem_type("/problems/internal-error", "Internal server error");

/// Every kind of problem the API answers, as the spec lists them.
const PROBLEM_TYPES: [ProblemType; 19] = [
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    MALFORMED_BODY,
    INVALID_PARAMETER,
    UNSUPPORTED_MEDIA_TYPE,
    REQUEST_TIMEOUT,
    PAYLOAD_TOO_LARGE,
    VALIDATION_ERROR,
    CONFLICT,
    PRECONDITION_FAILED,
    UNAUTHORIZED,
    FORBIDDEN,
    TOO_MANY_REQUESTS,
    SERVICE_UNAVAILABLE,
    TIMEOUT,
    IDEMPOTENCY_KEY_REUSED,
    IDEMPOTENCY_KEY_IN_PROGRESS,
    IDEMPOTENCY_OUTCOME_UNKNOWN,
    INTERNAL_ERROR,
];

/// The schema of a problem's `type`: one of [`PROBLEM_TYPES`].
fn problem_type_schema() -> utoipa::openapi::schema::Object {
    let listed: Vec<String> = PROBLEM_TYPES
        .iter()
        .map(|kind| format!("`{}` ({})", kind.uri, kind.title))
        .collect();
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(PROBLEM_TYPES.iter().map(|kind| kind.uri)))
        .description(Some(format!(
            "A stable identifier of the kind of problem; clients branch on this. One of: {}.",
            listed.join(", ")
        )))
        .build()
}

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The addressed resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The path matches no route.
    #[error("no route matches this path")]
    RouteNotFound,
    /// The path exists, but not with this method.
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<Method> },
    /// The body is not well-formed JSON.
    #[error("{0}")]
    MalformedBody(String),
    /// A query or path parameter cannot be parsed.
    #[error("{0}")]
    InvalidParameter(String),
    /// The body has a media type other than JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is compressed (`Content-Encoding`), which is not accepted.
    #[error("{0}")]
    UnsupportedEncoding(String),
    /// The client did not send the whole body in time.
    #[error("the request body did not arrive within {} s", .0.as_secs_f64())]
    RequestTimeout(std::time::Duration),
    /// The body is larger than the configured limit.
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Well-formed input that breaks the rules, one message per field.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// The change clashes with existing data (e.g. a taken slug).
    #[error("{0}")]
    Conflict(String),
    /// A field's value clashes with existing data (e.g. a slug that is taken); the
    /// problem names the field, and the message may suggest a value that is free.
    #[error("{detail}")]
    FieldConflict { detail: String, error: FieldError },
    /// `If-Match` named a version that is no longer current.
    #[error("{0}")]
    PreconditionFailed(String),
    /// No usable credentials: none, or a token that is malformed, unknown, expired
    /// or revoked.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials without the needed scope.
    #[error("{0}")]
    Forbidden(String),
    /// The caller made too many requests; retry after this many seconds.
    #[error("too many requests")]
    TooManyRequests { retry_after: u64 },
    /// The database cannot be reached right now.
    #[error("the database is unavailable")]
    Unavailable,
    /// The work took too long (a deadline, a statement or lock timeout); retrying
    /// shortly may succeed.
    #[error("{0}")]
    TimedOut(String),
    /// An `Idempotency-Key` sent again with another request (method, path, query or
    /// body) than the one it was first used for.
    #[error(
        "This Idempotency-Key was used for another request (method, path, query or body); \
         use a new key for a new request."
    )]
    IdempotencyKeyReused,
    /// The request that first used this `Idempotency-Key` has not finished yet.
    #[error(
        "A request with this Idempotency-Key is still in progress; retry after \
         `Retry-After` seconds to get its response."
    )]
    IdempotencyKeyInProgress,
    /// The request that first used this `Idempotency-Key` started, but how it ended
    /// is not known (cut off by its deadline or a disconnect, a server error, or its
    /// answer could not be kept): it may have taken effect, so it is not run again.
    #[error(
        "The request first sent with this Idempotency-Key was started, but its outcome \
         is unknown (it was cut off, or failed with a server error): it may or may not \
         have taken effect. Check the resource, then, if the write is still needed, \
         send it with a new key."
    )]
    IdempotencyOutcomeUnknown,
    /// A bug or an unexpected failure; the message is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    /// The stable `type` and `title` of each kind of problem.
    fn kind(&self) -> (&'static str, &'static str) {
        let kind = match self {
            AppError::NotFound(_) | AppError::RouteNotFound => NOT_FOUND,
            AppError::MethodNotAllowed { .. } => METHOD_NOT_ALLOWED,
            AppError::MalformedBody(_) => MALFORMED_BODY,
            AppError::InvalidParameter(_) => INVALID_PARAMETER,
            AppError::UnsupportedMediaType(_) | AppError::UnsupportedEncoding(_) => {
                UNSUPPORTED_MEDIA_TYPE
            }
            AppError::RequestTimeout(_) => REQUEST_TIMEOUT,
            AppError::PayloadTooLarge { .. } => PAYLOAD_TOO_LARGE,
            AppError::Validation(_) => VALIDATION_ERROR,
            AppError::Conflict(_) | AppError::FieldConflict { .. } => CONFLICT,
            AppError::PreconditionFailed(_) => PRECONDITION_FAILED,
            AppError::Unauthorized(_) => UNAUTHORIZED,
            AppError::Forbidden(_) => FORBIDDEN,
            AppError::TooManyRequests { .. } => TOO_MANY_REQUESTS,
            AppError::Unavailable => SERVICE_UNAVAILABLE,
            AppError::TimedOut(_) => TIMEOUT,
            AppError::IdempotencyKeyReused => IDEMPOTENCY_KEY_REUSED,
            AppError::IdempotencyKeyInProgress => IDEMPOTENCY_KEY_IN_PROGRESS,
            AppError::IdempotencyOutcomeUnknown => IDEMPOTENCY_OUTCOME_UNKNOWN,
            AppError::Internal(_) => INTERNAL_ERROR,
        };
        (kind.uri, kind.title)
    }

    fn detail(&self) -> String {
        match self {
            AppError::RouteNotFound => "No resource exists at this path.".into(),
            AppError::MethodNotAllowed { allow } => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                format!("This resource allows {}.", allow.join(", "))
            }
            AppError::Validation(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                many if many.len() > MAX_LISTED_ERRORS => format!(
                    "{} fields are not valid; the first {MAX_LISTED_ERRORS} are listed.",
                    many.len()
                ),
                many => format!("{} fields are not valid.", many.len()),
            },
            AppError::Unavailable => {
                "The database cannot be reached right now; retry shortly.".into()
            }
            AppError::TooManyRequests { retry_after: 1 } => "Slow down: retry in 1 second.".into(),
            AppError::TooManyRequests { retry_after } => {
                format!("Slow down: retry in {retry_after} seconds.")
            }
            AppError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
            other => other.to_string(),
        }
    }

    /// The problem details body of this error.
    pub fn problem(&self) -> Problem {
        let (problem_type, title) = self.kind();
        Problem {
            problem_type: problem_type.into(),
            title: title.into(),
            status: self.status_code().as_u16(),
            detail: self.detail(),
            errors: match self {
                AppError::Validation(errors) => {
                    errors.iter().take(MAX_LISTED_ERRORS).cloned().collect()
                }
                AppError::FieldConflict { error, .. } => vec![error.clone()],
                _ => Vec::new(),
            },
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::NotFound(_) | AppError::RouteNotFound => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::MalformedBody(_) | AppError::InvalidParameter(_) => StatusCode::BAD_REQUEST,
            AppError::UnsupportedMediaType(_) | AppError::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            AppError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Validation(_) | AppError::IdempotencyKeyReused => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Conflict(_)
            | AppError::FieldConflict { .. }
            | AppError::IdempotencyKeyInProgress
            | AppError::IdempotencyOutcomeUnknown => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable | AppError::TimedOut(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let AppError::Internal(message) = self {
            tracing::error!(error = %message, "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            AppError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
            }
            AppError::TimedOut(_) | AppError::IdempotencyKeyInProgress => {
                response.insert_header((
                    header::RETRY_AFTER,
                    TIMED_OUT_RETRY_AFTER_SECONDS.to_string(),
                ));
            }
            AppError::UnsupportedEncoding(_) => {
                response.insert_header((header::ACCEPT_ENCODING, "identity"));
            }
            AppError::MethodNotAllowed { allow } => {
                let allow: Vec<&str> = allow.iter().map(Method::as_str).collect();
                response.insert_header((header::ALLOW, allow.join(", ")));
            }
            AppError::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"cms\""));
            }
            AppError::TooManyRequests { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            _ => {}
        }
        // Serializing plain strings and numbers cannot fail; fall back to an empty body.
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        response.body(body)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => AppError::NotFound("The resource does not exist.".into()),
            // A concurrent delete removed what this write refers to.
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => AppError::Conflict(
                "The request refers to something that was deleted meanwhile; retry.".into(),
            ),
            Error::DatabaseError(
                DatabaseErrorKind::UnableToSendCommand | DatabaseErrorKind::ClosedConnection,
                info,
            ) => {
                tracing::warn!(error = info.message(), "database connection lost");
                AppError::Unavailable
            }
            // A read-only standby (after a failover, before the pool reconnects).
            Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, info) => {
                tracing::warn!(error = info.message(), "database is read-only");
                AppError::Unavailable
            }
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => contended(),
            Error::DatabaseError(DatabaseErrorKind::Unknown, info) => transient(info.message())
                .unwrap_or_else(|| AppError::Internal(info.message().into())),
            other => AppError::Internal(other.to_string()),
        }
    }
}

fn contended() -> AppError {
    AppError::TimedOut("Another request is changing the same content; retry shortly.".into())
}

/// The database errors that retrying later can cure, told by their message since
/// diesel-async keeps no SQLSTATE for them. (The private PostgreSQL runs with the
/// C locale; an external one must report in English for this to apply, or these
/// are answered as 500.)
fn transient(message: &str) -> Option<AppError> {
    let has = |text: &str| message.contains(text);
    if has("statement timeout") || has("canceling statement due to user request") {
        // 57014
        Some(AppError::TimedOut(
            "The database took too long to answer; retry shortly.".into(),
        ))
    } else if has("lock timeout") || has("deadlock detected") || has("could not obtain lock") {
        // 55P03, 40P01
        Some(contended())
    } else if has("administrator command")
        || has("shutting down")
        || has("starting up")
        || has("recovery")
        || has("terminating connection")
        || has("idle-in-transaction")
        || has("too many clients")
        || has("read-only transaction")
    {
        // 57P01-57P03, 25P03, 53300, 25006: the server is going away, coming back,
        // full or a standby.
        tracing::warn!(error = message, "database unavailable");
        Some(AppError::Unavailable)
    } else {
        None
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(error = %error, "no database connection available");
        AppError::Unavailable
    }
}

/// Maps a violation of the unique constraint `constraint` to a 409 with `detail`;
/// any other database error as usual. Use with `map_err` on the write that may clash.
pub fn conflict_on(
    constraint: &'static str,
    detail: impl FnOnce() -> String,
) -> impl FnOnce(diesel::result::Error) -> AppError {
    move |error| match &error {
        diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            info,
        ) if info.constraint_name() == Some(constraint) => AppError::Conflict(detail()),
        _ => AppError::from(error),
    }
}

/// Result type of handlers and domain functions.
pub type AppResult<T> = Result<T, AppError>;
