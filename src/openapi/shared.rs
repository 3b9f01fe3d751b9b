//! What operations share, added to each so that a handler's annotation lists only
//! its own parameters and responses; shared pieces are components, referred to by
//! name.

use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::Components;
use utoipa::openapi::{OpenApi as OpenApiDoc, Ref, RefOr, Required};
use utoipa::ToResponse;

use crate::http::idempotency;
use crate::http::paths::NOT_FOUND_EXTENSION;
use crate::http::responses;

/// Adds what operations share, so that each handler's annotation lists only its own
/// parameters and responses: request ids everywhere; on the API, 503 when the
/// database is away or a deadline passes, 429 over a rate limit, 400 for a bad
/// header, `If-None-Match`/304 on reads and `If-Match`/412 on writes to an existing
/// resource; 400/408/413/415 wherever a body is read. Shared responses are
/// components, referred to by name.
pub(super) fn complete(api: &mut OpenApiDoc) {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("cms_<prefix>_<secret>")
        .description(Some(
            "An API token (`cms token create`, or `POST /api/v1/tokens` as an admin). \
             Scopes: `content:read` (drafts too), `content:write` (and read), `admin` \
             (everything, and tokens).",
        ))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    components
        .headers
        .insert("RequestId".into(), RefOr::T(request_id_header()));
    components
        .headers
        .insert("ETag".into(), RefOr::T(etag_header()));
    for (name, parameter) in shared_parameters() {
        components
            .parameters
            .insert(name.into(), RefOr::T(parameter));
    }
    for (name, mut response) in responses::all() {
        if let RefOr::T(response) = &mut response {
            add_request_id_header(response);
        }
        components.responses.insert(name.to_string(), response);
    }
    for (path, item) in api.paths.paths.iter_mut() {
        let in_api = path.starts_with(crate::http::API_PREFIX);
        // Tokens have no versions: revoking takes no If-Match.
        let addresses_resource =
            path.contains('{') && !path.starts_with(&format!("{}/tokens", crate::http::API_PREFIX));
        let operations = [
            (Method::Get, &mut item.get),
            (Method::Post, &mut item.post),
            (Method::Put, &mut item.put),
            (Method::Patch, &mut item.patch),
            (Method::Delete, &mut item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            refer_to_path_parameters(components, operation);
            if in_api || path == "/readyz" {
                add_response::<responses::Unavailable>(operation, "503");
            }
            if in_api && method == Method::Get {
                add_if_none_match(operation);
            }
            if in_api && method != Method::Get && addresses_resource {
                add_if_match(operation);
            }
            if in_api && method != Method::Get && idempotency::covers(method.as_http(), path) {
                add_idempotency_key(operation);
            }
            if operation.request_body.is_some() {
                add_response::<responses::BadBody>(operation, "400");
                add_response::<responses::PayloadTooLarge>(operation, "413");
                add_response::<responses::UnsupportedMediaType>(operation, "415");
                add_response::<responses::BodyTimeout>(operation, "408");
            }
            add_auth_problems(operation);
            if in_api || path == "/readyz" {
                add_response::<responses::RateLimited>(operation, "429");
            }
            if in_api {
                add_response::<responses::BadParameter>(operation, "400");
            }
            if in_api {
                add_etag(operation);
            }
            add_request_id(operation);
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    fn as_http(self) -> actix_web::http::Method {
        match self {
            Method::Get => actix_web::http::Method::GET,
            Method::Post => actix_web::http::Method::POST,
            Method::Put => actix_web::http::Method::PUT,
            Method::Patch => actix_web::http::Method::PATCH,
            Method::Delete => actix_web::http::Method::DELETE,
        }
    }
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
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .build()
}

/// Refers `status` to a shared response unless the operation states its own.
fn add_response<'s, R: ToResponse<'s>>(operation: &mut Operation, status: &str) {
    operation
        .responses
        .responses
        .entry(status.into())
        .or_insert_with(responses::reference::<R>);
}

/// 401 wherever a token is read (a bad one is refused even where none is needed),
/// 403 where one is required (a token may lack the scope). An operation open to
/// anyone says so first thing in its description, since docs pages draw a padlock on
/// every operation that takes a token at all.
fn add_auth_problems(operation: &mut Operation) {
    let Some(requirements) = &operation.security else {
        return;
    };
    let anonymous_allowed = requirements.iter().any(|requirement| {
        serde_json::to_value(requirement).is_ok_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
    });
    add_response::<responses::Unauthorized>(operation, "401");
    if anonymous_allowed {
        let public = "**No token needed** for published content; a token with \
                      `content:read` also sees drafts, scheduled and archived articles.";
        operation.description = Some(match operation.description.take() {
            Some(description) => format!("{public}\n\n{description}"),
            None => public.to_string(),
        });
    } else {
        add_response::<responses::Forbidden>(operation, "403");
    }
}

fn add_if_none_match(operation: &mut Operation) {
    add_parameter(operation, "IfNoneMatch");
    add_response::<responses::NotModified>(operation, "304");
}

fn add_if_match(operation: &mut Operation) {
    add_parameter(operation, "IfMatch");
    add_response::<responses::PreconditionFailed>(operation, "412");
}

/// `Idempotency-Key` on each write it applies to, with its 422 (another request
/// under the key) and 409 (the key's request still runs, or its outcome is
/// unknown) unless the operation states its own.
fn add_idempotency_key(operation: &mut Operation) {
    add_parameter(operation, "IdempotencyKey");
    add_response::<responses::IdempotencyKeyInProgress>(operation, "409");
    add_response::<responses::IdempotencyKeyReused>(operation, "422");
}

fn add_parameter(operation: &mut Operation, name: &str) {
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::Ref(Ref::new(format!(
            "#/components/parameters/{name}"
        ))));
}

/// The header parameters operations share, by component name.
fn shared_parameters() -> [(&'static str, Parameter); 4] {
    [
        ("IdempotencyKey", idempotency_key_parameter()),
        (
            "IfNoneMatch",
            header_parameter(
                "If-None-Match",
                "Entity tags of representations you hold (`\"v3-0123456789abcdef\"`, \
                 comma-separated, or `*`); 304 when one is current",
            ),
        ),
        (
            "IfMatch",
            header_parameter(
                "If-Match",
                "Apply the write only if the resource is still in the state this entity \
                 tag names (the `ETag` you read, quoted, as given; compared whole and \
                 strongly, so a weak or made-up tag fails with 412). For an article, the \
                 tag of any of its representations (another `include=`, one of its parts) \
                 will do. `*`: any state",
            ),
        ),
        (
            "RequestId",
            header_parameter(
                "X-Request-Id",
                "An id to trace this request by, echoed on the response; an unusable one \
                 is replaced",
            ),
        ),
    ]
}

/// `Idempotency-Key`: what it does, and its shape (as the service checks it).
fn idempotency_key_parameter() -> Parameter {
    let mut parameter = header_parameter(
        "Idempotency-Key",
        "Makes the write safe to retry: sent with a key of your choosing (a new UUID per \
         intended write, say), it is performed once; a retry with the same key and the \
         same request (method, path, query and body) answers the first response again \
         (status, headers and body, a refusal such as a 4xx included). Keys are per \
         token and kept for `CMS_IDEMPOTENCY_TTL_SECS` (24 hours by default). The same \
         key with another request: 422 (`/problems/idempotency-key-reused`). While the \
         first request still runs, a retry waits for its answer, or gets 409 \
         (`/problems/idempotency-key-in-progress`) with `Retry-After` if it does not \
         finish in time. When the first request's outcome is unknown (it answered a \
         5xx, or was cut off by its deadline or a disconnect, so it may have taken \
         effect), a retry gets 409 (`/problems/idempotency-outcome-unknown`) and \
         nothing runs again: check the resource, and send the write with a new key if \
         it is still needed. Not 1 to 255 printable ASCII characters without spaces: \
         400.",
    );
    parameter.schema = Some(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(crate::http::idempotency::MAX_KEY_LENGTH))
            .pattern(Some("^[!-~]+$"))
            .build()
            .into(),
    );
    parameter
}

/// The `ETag` of every JSON representation the API answers.
fn etag_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(
            "Strong entity tag of this representation: `\"v<version>-<hash>\"` for \
             versioned resources (an article and its parts carry the article's version; \
             each `include=` variant and each part has a tag of its own; a write to a \
             part answers with the tag a GET of the whole article then gives). Send it \
             as `If-None-Match` to revalidate, as `If-Match` to write",
        ))
        .build()
}

/// `ETag` on each success that carries a representation.
fn add_etag(operation: &mut Operation) {
    for (status, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            if matches!(status.as_str(), "200" | "201") && !response.content.is_empty() {
                response.headers.insert(
                    "ETag".into(),
                    RefOr::Ref(Ref::new("#/components/headers/ETag")),
                );
            }
        }
    }
}

/// The `X-Request-Id` response header, once.
fn request_id_header() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(
            "The request's id: the client's `X-Request-Id` when it sent a usable one \
             (1 to 128 printable ASCII characters), else a new UUID",
        ))
        .build()
}

fn add_request_id_header(response: &mut utoipa::openapi::response::Response) {
    response.headers.insert(
        "X-Request-Id".into(),
        RefOr::Ref(Ref::new("#/components/headers/RequestId")),
    );
}

/// The request-id header on each response the operation states itself (shared
/// responses carry it already), and the parameter.
fn add_request_id(operation: &mut Operation) {
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            add_request_id_header(response);
        }
    }
    add_parameter(operation, "RequestId");
}

/// Makes each path parameter a component, referred to by name (`article` ->
/// `ArticleKey`, `citation` -> `CitationId`), and gives the operation the 404 of its
/// last segment unless it states its own (`ArticleNotFound`, `CitationNotFound`...).
fn refer_to_path_parameters(components: &mut Components, operation: &mut Operation) {
    let mut not_found = None;
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(inline) = parameter else {
            continue;
        };
        if inline.parameter_in != ParameterIn::Path {
            continue;
        }
        let mut component = inline.clone();
        let description = component
            .extensions
            .take()
            .and_then(|mut extensions| extensions.remove(NOT_FOUND_EXTENSION));
        let capitalized = capitalize(&component.name);
        if let Some(serde_json::Value::String(description)) = description {
            not_found = Some((format!("{capitalized}NotFound"), description));
        }
        let is_id =
            serde_json::to_value(&component.schema).is_ok_and(|schema| schema["format"] == "uuid");
        let name = format!("{capitalized}{}", if is_id { "Id" } else { "Key" });
        *parameter = RefOr::Ref(Ref::new(format!("#/components/parameters/{name}")));
        components
            .parameters
            .entry(name)
            .or_insert(RefOr::T(component));
    }
    if let Some((name, description)) = not_found {
        let mut response = responses::problem(&description).build();
        add_request_id_header(&mut response);
        components
            .responses
            .entry(name.clone())
            .or_insert(RefOr::T(response));
        operation
            .responses
            .responses
            .entry("404".into())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}

fn capitalize(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
