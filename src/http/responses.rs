//! Problem responses that many operations share, each described once in the spec
//! (`components/responses`) and referred to by name from the operations, as in
//! `(status = 422, response = InvalidFields)`. (Each path segment brings its own 404:
//! `http::paths::Segment::NOT_FOUND`.)

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::ToResponse;

use crate::error::{PROBLEM_JSON, RETRY_AFTER_SECONDS, TIMED_OUT_RETRY_AFTER_SECONDS};

/// A problem-details response with a description.
pub fn problem(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

fn string_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}

fn integer_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
        .description(Some(description))
        .build()
}

/// Declares response types, each a unit struct whose `ToResponse` gives its name
/// and response, and [`all`], which lists them for the spec's components.
macro_rules! shared_responses {
    ($($(#[$doc:meta])* $name:ident => $response:expr;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl<'s> ToResponse<'s> for $name {
                fn response() -> (&'s str, RefOr<Response>) {
                    (stringify!($name), RefOr::T($response.build()))
                }
            }
        )*

        /// Every shared response, by name.
        pub fn all() -> Vec<(&'static str, RefOr<Response>)> {
            vec![$(<$name as ToResponse>::response()),*]
        }
    };
}

shared_responses! {
    /// 409 for an article slug given explicitly that another article has.
    SlugTaken => problem(
        "Another article has the slug given (`errors` names the `slug` field and a free \
         one; a slug derived from the title takes the next free number instead)",
    );
    /// 422 for a body with invalid fields.
    InvalidFields => problem("A field is not valid (`errors` lists each one)");
    /// 400 for a bad query parameter or header.
    BadParameter => problem(
        "A parameter or header is not valid (e.g. several `Authorization` headers)",
    );
    /// 400 for a body that is not JSON of the right shape.
    BadBody => problem("The body is not valid JSON (the detail says where it broke)");
    /// 401 wherever a token is read.
    Unauthorized => problem(
        "No valid token: missing (where one is required), malformed, unknown, expired or revoked",
    )
    .header("WWW-Authenticate", string_header("`Bearer realm=\"cms\"`"));
    /// 403 where a scope is required.
    Forbidden => problem("The token does not have the scope this needs");
    /// 408 when a body is sent too slowly.
    BodyTimeout => problem("The body did not arrive within the time limit")
        .header("Connection", string_header("`close`: the connection is not reused"));
    /// 412 when `If-Match` is stale.
    PreconditionFailed => problem("The resource changed since the `If-Match` tag was read");
    /// 413 for a body over the limit.
    PayloadTooLarge => problem("The body is larger than the configured limit");
    /// 415 for a body that is not plain JSON.
    UnsupportedMediaType => problem(
        "The body is not JSON (`Content-Type: application/json`), or is compressed \
         (`Content-Encoding`; send it uncompressed)",
    );
    /// 429 over a rate limit.
    RateLimited => problem("Too many requests; retry after `Retry-After` seconds")
        .header(
            "Retry-After",
            integer_header("Seconds until a request is let through again (rounded up)"),
        )
        .header(
            "RateLimit-Limit",
            integer_header("Requests allowed in a burst (refilled evenly over a minute)"),
        )
        .header("RateLimit-Remaining", integer_header("Requests that may still be made at once"))
        .header("RateLimit-Reset", integer_header("Seconds until the whole allowance is back"));
    /// 503 when the database is away or a deadline passes.
    Unavailable => problem(
        "The database is unreachable (`/problems/service-unavailable`), or the request \
         took too long (`/problems/timeout`: its deadline, a statement or lock timeout); \
         retry after `Retry-After` seconds",
    )
    .header(
        "Retry-After",
        integer_header(&format!(
            "Seconds to wait before retrying (currently {RETRY_AFTER_SECONDS} when the \
             database is away, {TIMED_OUT_RETRY_AFTER_SECONDS} after a timeout)"
        )),
    );
    /// 422 for an `Idempotency-Key` sent again with another request.
    IdempotencyKeyReused => problem(
        "The `Idempotency-Key` was first used for another request (method, path, query \
         or body): `/problems/idempotency-key-reused`; use a new key for a new request",
    );
    /// 409 while the request that first used an `Idempotency-Key` still runs, or
    /// when its outcome is unknown.
    IdempotencyKeyInProgress => problem(
        "A request with this `Idempotency-Key` is still in progress \
         (`/problems/idempotency-key-in-progress`); retry after `Retry-After` seconds \
         to get its response. Or the request first sent with the key started but its \
         outcome is unknown (`/problems/idempotency-outcome-unknown`: it was cut off by \
         its deadline or a disconnect, or failed with a 5xx, and may have taken \
         effect); it is not run again: check the resource, and send the write with a \
         new key if it is still needed",
    )
    .header(
        "Retry-After",
        integer_header(&format!(
            "Seconds to wait before retrying (currently {TIMED_OUT_RETRY_AFTER_SECONDS}); \
             only while the first request is in progress"
        )),
    );
    /// 304 for a current `If-None-Match`.
    NotModified => ResponseBuilder::new()
        .description("Not modified: the `If-None-Match` tag is current")
        .header("ETag", string_header("The current entity tag"));
}

/// A reference to a shared response, as operations hold it.
pub fn reference<'s, R: ToResponse<'s>>() -> RefOr<Response> {
    RefOr::Ref(Ref::from_response_name(R::response().0))
}
