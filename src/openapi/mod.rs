//! The OpenAPI document: generated from the handlers' annotations, completed here with
//! what every operation shares, served at `/openapi.json` and committed as
//! `openapi/openapi.json` (a test fails when the two differ).

mod examples;
mod links;
mod shared;

use actix_web::App;
use utoipa::openapi::info::ContactBuilder;
use utoipa::openapi::server::Server;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

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
**Retries**: a write (`POST`, `PUT`, `PATCH`, `DELETE`) sent with an `Idempotency-Key` \
is performed once per token and key; a retry with the same key and request gets the \
first response again (`422` for the same key with another request, `409` while the \
first still runs, or when its outcome is unknown: a 5xx, or cut off, so it is not run \
again). Keys are kept 24 hours by default.\n\n\
Every `GET` also answers `HEAD`. Every response carries an `X-Request-Id` (yours, if \
you sent one).",
    ),
    tags(
        (name = "articles", description = "Whole articles and their workflow"),
        (name = "key-point lists", description = "An article's titled, ordered lists of key points"),
        (name = "citations", description = "An article's numbered sources, referred to as `[n]` in its body"),
        (name = "article tags", description = "An article's ordered tags"),
        (name = "article authors", description = "An article's byline: its authors, in order"),
        (name = "pending changes", description = "Changes to a live article saved without going live, published or discarded later; preview links"),
        (name = "revisions", description = "An article's history: every change kept whole, compared and restored (editors)"),
        (name = "trash", description = "Deleted articles, kept whole until restored or purged (editors; purging: admins)"),
        (name = "tags", description = "Named topics shared by many articles"),
        (name = "sections", description = "The managed list of sections: each article's primary section (its kicker)"),
        (name = "authors", description = "The people bylines name"),
        (name = "media", description = "Uploaded images (editors keep the library) and their files and renditions (public, by content hash, immutable)"),
        (name = "changes", description = "The change feed: every change to articles and tags in commit order, each with the resource as it is now or a tombstone (the public sees only public changes)"),
        (name = "webhooks", description = "Subscriptions to events, posted as JSON signed per Standard Webhooks, retried with backoff; their deliveries and every attempt (admin)"),
        (name = "tokens", description = "API tokens (admins only)"),
        (name = "feeds", description = "The latest published articles as RSS, Atom and JSON Feed (public)"),
        (name = "health", description = "Liveness and readiness probes"),
    ),
    components(schemas(
        crate::error::Problem,
        crate::error::FieldError,
        crate::content::webhooks::delivery::WebhookPayload,
        crate::content::articles::Sort,
        crate::content::articles::Status,
        crate::content::articles::IncludePart,
        crate::http::sparse::ArticleField,
        crate::http::articles::CountMode,
        crate::content::tags::TagSort,
        crate::http::tags::TagInclude,
    ))
)]
struct ApiDoc;

/// The base URL the spec names when none is configured: where `cms serve` listens
/// by default.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

/// The complete OpenAPI document, naming [`DEFAULT_PUBLIC_URL`] as its server (what
/// `openapi/openapi.json` holds).
pub fn spec() -> OpenApiDoc {
    spec_for(DEFAULT_PUBLIC_URL)
}

/// The complete OpenAPI document, naming `public_url` (`CMS_PUBLIC_URL`) as the
/// server that generated clients call by default.
pub fn spec_for(public_url: &str) -> OpenApiDoc {
    let (_, mut api) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::http::configure)
        .split_for_parts();
    let public_url = public_url.trim_end_matches('/');
    let mut server = Server::new(public_url);
    server.description = Some("This service".into());
    api.servers = Some(vec![server]);
    api.info.contact = Some(
        ContactBuilder::new()
            .name(Some("API documentation"))
            .url(Some(format!("{public_url}{DOCS_PATH}/")))
            .build(),
    );
    shared::complete(&mut api);
    examples::add(&mut api);
    links::add(&mut api);
    api
}

/// The spec as the committed file holds it: pretty JSON and a final newline.
pub fn spec_json() -> String {
    let mut json = spec().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}
