//! The OpenAPI document: generated from the handlers' annotations, completed here with
//! what every operation shares, served at `/openapi.json` and committed as
//! `openapi/openapi.json` (a test fails when the two differ).

use actix_web::App;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, RefOr, Required};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::{RETRY_AFTER_SECONDS, TIMED_OUT_RETRY_AFTER_SECONDS};

/// Where the spec is served.
pub const SPEC_PATH: &str = "/openapi.json";
/// Where the docs page is served.
pub const DOCS_PATH: &str = "/docs";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "CMS API",
        description = "A headless CMS for editorial content: articles with key-point lists, \
citations and tags, as JSON over HTTP.\n\n\
**Errors** are RFC 9457 problem details (`application/problem+json`) with a stable `type`.\n\n\
**Lists** are paged with opaque cursors: pass `next_cursor` back as `cursor`.\n\n\
**Caching and concurrency**: every representation has an `ETag`; send it back as \
`If-None-Match` to get `304 Not Modified`, or as `If-Match` on a write to be told \
(`412`) when someone else changed the resource first.\n\n\
**Access**: published articles, tags, the spec and the docs need no credentials. \
Drafts, scheduled and archived articles need a token with `content:read` (to anyone \
else they do not exist: 404); writes need `content:write`; tokens need `admin`. Send \
`Authorization: Bearer <token>`.\n\n\
**Limits**: requests are rate-limited per token (per address without one): `429` \
with `Retry-After`, and `RateLimit-*` headers on every answer. A request must be done \
within a deadline, its body sent within a shorter one (`503`/`408`); bodies are \
accepted uncompressed only.\n\n\
Every `GET` also answers `HEAD`. Every response carries an `X-Request-Id` (yours, if \
you sent one).",
    ),
    tags(
        (name = "articles", description = "Whole articles and their workflow"),
        (name = "key-point lists", description = "An article's titled, ordered lists of key points"),
        (name = "citations", description = "An article's numbered sources, referred to as `[n]` in its body"),
        (name = "article tags", description = "An article's ordered tags"),
        (name = "tags", description = "Named topics shared by many articles"),
        (name = "tokens", description = "API tokens (admins only)"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
    servers((url = "/", description = "This server")),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::content::articles::Sort,
        crate::content::articles::Status,
    ))
)]
struct ApiDoc;

/// The complete OpenAPI document of the service.
pub fn spec() -> OpenApiDoc {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::http::configure)
        .split_for_parts();
    complete(api)
}

/// Adds what operations share, so that each handler's annotation lists only its own
/// parameters and responses: request ids everywhere; on the API, 503 when the
/// database is away or a deadline passes, 429 over a rate limit, 400 for a bad
/// header, `If-None-Match`/304 on reads and `If-Match`/412 on writes to an existing
/// resource; 400/408/413/415 wherever a body is read.
fn complete(mut api: OpenApiDoc) -> OpenApiDoc {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("cms_<prefix>_<secret>")
        .description(Some(
            "An API token (`cms token create`, or `POST /api/v1/tokens` as an admin). \
             Scopes: `content:read` (drafts too), `content:write` (and read), `admin` \
             (everything, and tokens).",
        ))
        .build();
    api.components
        .get_or_insert_with(Default::default)
        .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    for (path, item) in api.paths.paths.iter_mut() {
        let in_api = path.starts_with(crate::http::API_PREFIX);
        // Tokens have no versions: revoking takes no If-Match.
        let addresses_resource = path.contains('{') && !path.starts_with("/api/v1/tokens");
        let operations = [
            (Method::Get, &mut item.get),
            (Method::Post, &mut item.post),
            (Method::Put, &mut item.put),
            (Method::Patch, &mut item.patch),
            (Method::Delete, &mut item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            if in_api || path == "/readyz" {
                add_unavailable(operation);
            }
            if in_api && method == Method::Get {
                add_if_none_match(operation);
            }
            if in_api && method != Method::Get && addresses_resource {
                add_if_match(operation);
            }
            if operation.request_body.is_some() {
                add_body_problems(operation);
            }
            add_auth_problems(operation);
            if in_api || path == "/readyz" {
                add_rate_limited(operation);
            }
            if in_api {
                add_response(
                    operation,
                    "400",
                    problem_response(
                        "A parameter or header is not valid (e.g. several `Authorization` headers)",
                    ),
                );
            }
            add_request_id(operation);
        }
    }
    api
}

#[derive(PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn problem_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        crate::error::PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build(),
    )
}

/// A conditional-request header. Its value is `*` or quoted entity tags,
/// comma-separated (RFC 9110); the schema states no pattern because any value is
/// handled: a malformed `If-None-Match` is ignored and a malformed `If-Match` can
/// match nothing (412).
fn header_parameter(name: &str, description: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(string_schema()))
        .build()
}

fn add_response(operation: &mut Operation, status: &str, response: ResponseBuilder) {
    if !operation.responses.responses.contains_key(status) {
        operation
            .responses
            .responses
            .insert(status.into(), response.build().into());
    }
}

/// 401 wherever a token is read (a bad one is refused even where none is needed),
/// 403 where one is required (a token may lack the scope).
fn add_auth_problems(operation: &mut Operation) {
    let Some(requirements) = &operation.security else {
        return;
    };
    let anonymous_allowed = requirements.iter().any(|requirement| {
        serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
    });
    let unauthorized = problem_response(
        "No valid token: missing (where one is required), malformed, unknown, expired or revoked",
    )
    .header(
        "WWW-Authenticate",
        HeaderBuilder::new()
            .schema(Some(string_schema()))
            .description(Some("`Bearer realm=\"cms\"`"))
            .build(),
    );
    add_response(operation, "401", unauthorized);
    if !anonymous_allowed {
        add_response(
            operation,
            "403",
            problem_response("The token does not have the scope this needs"),
        );
    }
}

/// 429 when a caller goes over its rate limit.
fn add_rate_limited(operation: &mut Operation) {
    let integer_header = |description: &str| {
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
            .description(Some(description))
            .build()
    };
    let response = problem_response("Too many requests; retry after `Retry-After` seconds")
        .header(
            "Retry-After",
            integer_header("Seconds until a request is let through again (rounded up)"),
        )
        .header(
            "RateLimit-Limit",
            integer_header("Requests allowed in a burst (refilled evenly over a minute)"),
        )
        .header(
            "RateLimit-Remaining",
            integer_header("Requests that may still be made at once"),
        )
        .header(
            "RateLimit-Reset",
            integer_header("Seconds until the whole allowance is back"),
        );
    add_response(operation, "429", response);
}

/// What any JSON body can get wrong, on every operation that takes one.
fn add_body_problems(operation: &mut Operation) {
    add_response(
        operation,
        "400",
        problem_response("The body is not valid JSON (the detail says where it broke)"),
    );
    add_response(
        operation,
        "413",
        problem_response("The body is larger than the configured limit"),
    );
    add_response(
        operation,
        "415",
        problem_response(
            "The body is not JSON (`Content-Type: application/json`), or is compressed \
             (`Content-Encoding`; send it uncompressed)",
        ),
    );
    add_response(
        operation,
        "408",
        problem_response("The body did not arrive within the time limit").header(
            "Connection",
            HeaderBuilder::new()
                .schema(Some(string_schema()))
                .description(Some("`close`: the connection is not reused"))
                .build(),
        ),
    );
}

fn add_unavailable(operation: &mut Operation) {
    let response = problem_response(
        "The database is unreachable (`/problems/service-unavailable`), or the request \
         took too long (`/problems/timeout`: its deadline, a statement or lock timeout); \
         retry after `Retry-After` seconds",
    )
    .header(
        "Retry-After",
        HeaderBuilder::new()
            .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
            .description(Some(format!(
                "Seconds to wait before retrying (currently {RETRY_AFTER_SECONDS} when the \
                 database is away, {TIMED_OUT_RETRY_AFTER_SECONDS} after a timeout)"
            )))
            .build(),
    );
    add_response(operation, "503", response);
}

fn add_if_none_match(operation: &mut Operation) {
    operation.parameters.get_or_insert_with(Vec::new).push(
        header_parameter(
            "If-None-Match",
            "Entity tags of representations you hold (`\"v3-0123456789abcdef\"`, \
             comma-separated, or `*`); 304 when one is current",
        )
        .into(),
    );
    let etag = HeaderBuilder::new()
        .schema(Some(string_schema()))
        .description(Some("The current entity tag"))
        .build();
    add_response(
        operation,
        "304",
        ResponseBuilder::new()
            .description("Not modified: the `If-None-Match` tag is current")
            .header("ETag", etag),
    );
}

fn add_if_match(operation: &mut Operation) {
    operation.parameters.get_or_insert_with(Vec::new).push(
        header_parameter(
            "If-Match",
            "Apply the write only if the resource is still at this entity tag (the \
             `ETag` you read, quoted, as given); `*` for any version",
        )
        .into(),
    );
    add_response(
        operation,
        "412",
        problem_response("The resource changed since the `If-Match` tag was read"),
    );
}

fn add_request_id(operation: &mut Operation) {
    let header = HeaderBuilder::new()
        .schema(Some(string_schema()))
        .description(Some(
            "The request's id: the client's `X-Request-Id` when it sent a usable one \
             (1 to 128 printable ASCII characters), else a new UUID",
        ))
        .build();
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response
                .headers
                .insert("X-Request-Id".into(), header.clone().into());
        }
    }
    let parameter = ParameterBuilder::new()
        .name("X-Request-Id")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "An id to trace this request by, echoed on the response; an unusable one \
             is replaced",
        ))
        .schema(Some(string_schema()))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter.into());
}

/// The spec as the committed file holds it: pretty JSON and a final newline.
pub fn spec_json() -> String {
    let mut json = spec().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
