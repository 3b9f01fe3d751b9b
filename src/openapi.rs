//! The OpenAPI document: generated from the handlers' annotations, completed here with
//! what every operation shares, served at `/openapi.json` and committed as
//! `openapi/openapi.json` (a test fails when the two differ).

use actix_web::App;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::error::RETRY_AFTER_SECONDS;

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
Every response carries an `X-Request-Id` (yours, if you sent one).",
    ),
    tags(
        (name = "tags", description = "Named topics shared by many articles"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError))
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

/// Adds what every operation shares, so that each handler's annotation lists only
/// its own responses.
fn complete(mut api: OpenApiDoc) -> OpenApiDoc {
    for (path, item) in api.paths.paths.iter_mut() {
        let uses_database = path.starts_with(crate::http::API_PREFIX) || path == "/readyz";
        let operations = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for operation in operations.into_iter().flatten() {
            if uses_database {
                add_unavailable(operation);
            }
            add_request_id(operation);
        }
    }
    api
}

fn add_unavailable(operation: &mut Operation) {
    if operation.responses.responses.contains_key("503") {
        return;
    }
    let response = ResponseBuilder::new()
        .description("The database is unreachable; retry after `Retry-After` seconds")
        .content(
            crate::error::PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                .description(Some(format!(
                    "Seconds to wait before retrying (currently {RETRY_AFTER_SECONDS})"
                )))
                .build(),
        )
        .build();
    operation
        .responses
        .responses
        .insert("503".into(), response.into());
}

fn add_request_id(operation: &mut Operation) {
    let header = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(
            "The request's id: the client's `X-Request-Id` when it sent one, else a new UUID",
        ))
        .build();
    for response in operation.responses.responses.values_mut() {
        if let utoipa::openapi::RefOr::T(response) = response {
            response
                .headers
                .insert("X-Request-Id".into(), header.clone().into());
        }
    }
    let parameter = utoipa::openapi::path::ParameterBuilder::new()
        .name("X-Request-Id")
        .parameter_in(utoipa::openapi::path::ParameterIn::Header)
        .required(utoipa::openapi::Required::False)
        .description(Some(
            "An id to trace this request by; echoed on the response",
        ))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(128)),
        ))
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
