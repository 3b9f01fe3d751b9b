//! The HTTP layer: one module per resource, each handler thin (parse, call the
//! domain, map the result). Routes are registered here and nowhere else.

pub mod article_authors;
pub mod article_tags;
pub mod articles;
pub mod auth;
pub mod authors;
pub mod caching;
pub mod changes;
pub mod citations;
pub mod conditional;
pub mod extract;
pub mod feeds;
pub mod health;
pub mod idempotency;
pub mod key_points;
pub mod media;
pub mod metrics;
pub mod middleware;
pub mod paths;
pub mod pending;
pub mod rate_limit;
pub mod responses;
pub mod revisions;
pub mod sections;
pub mod shared_counts;
pub mod sparse;
pub mod tags;
pub mod tokens;
pub mod trash;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use diesel_async::AsyncPgConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::db::{DbConn, DbPool};
use crate::error::{AppError, AppResult};

/// Request body limit when none is configured (8 MiB: an article at its largest,
/// 500,000 characters of body, even with every character escaped as `\uXXXX`).
pub const DEFAULT_BODY_LIMIT: usize = 8 << 20;

/// Prefix of the versioned API.
pub const API_PREFIX: &str = "/api/v1";

/// Registers every documented route.
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(feeds::latest_rss)
        .service(feeds::latest_atom)
        .service(feeds::latest_json)
        .service(feeds::tag_rss)
        .service(feeds::tag_atom)
        .service(feeds::tag_json)
        .service(
            scope(API_PREFIX)
                .service(articles::list_articles)
                .service(articles::create_article)
                .service(articles::get_article)
                .service(articles::replace_article)
                .service(articles::update_article)
                .service(articles::delete_article)
                .service(articles::publish_article)
                .service(articles::schedule_article)
                .service(articles::unpublish_article)
                .service(articles::archive_article)
                .service(articles::related_articles)
                .service(pending::get_pending)
                .service(pending::save_pending)
                .service(pending::discard_pending)
                .service(pending::publish_pending)
                .service(pending::schedule_pending)
                .service(pending::create_preview_link)
                .service(pending::open_preview)
                .service(revisions::list_revisions)
                .service(revisions::get_revision)
                .service(revisions::diff_revisions)
                .service(revisions::restore_revision)
                .service(trash::list_trash)
                .service(trash::restore_article)
                .service(trash::purge_article)
                .service(key_points::list_key_point_lists)
                .service(key_points::add_key_point_list)
                .service(key_points::get_key_point_list)
                .service(key_points::update_key_point_list)
                .service(key_points::delete_key_point_list)
                .service(key_points::add_key_point)
                .service(key_points::update_key_point)
                .service(key_points::delete_key_point)
                .service(citations::list_citations)
                .service(citations::add_citation)
                .service(citations::get_citation)
                .service(citations::update_citation)
                .service(citations::delete_citation)
                .service(article_tags::list_article_tags)
                .service(article_tags::set_article_tags)
                .service(article_tags::add_article_tag)
                .service(article_tags::remove_article_tag)
                .service(article_authors::list_article_authors)
                .service(article_authors::set_article_authors)
                .service(article_authors::add_article_author)
                .service(article_authors::remove_article_author)
                .service(tags::list_tags)
                .service(tags::create_tag)
                .service(tags::get_tag)
                .service(tags::list_tag_articles)
                .service(tags::update_tag)
                .service(tags::delete_tag)
                .service(sections::list_sections)
                .service(sections::create_section)
                .service(sections::get_section)
                .service(sections::list_section_articles)
                .service(sections::update_section)
                .service(sections::delete_section)
                .service(authors::list_authors)
                .service(authors::create_author)
                .service(authors::get_author)
                .service(authors::list_author_articles)
                .service(authors::update_author)
                .service(authors::delete_author)
                .service(media::get_media_file)
                .service(media::get_media_rendition)
                .service(media::upload_media)
                .service(media::list_media)
                .service(media::get_media)
                .service(media::update_media)
                .service(media::delete_media)
                .service(tokens::list_tokens)
                .service(tokens::create_token)
                .service(tokens::get_token)
                .service(tokens::revoke_token)
                .service(changes::list_changes)
                .service(webhooks::list_webhooks)
                .service(webhooks::create_webhook)
                .service(webhooks::get_webhook)
                .service(webhooks::update_webhook)
                .service(webhooks::delete_webhook)
                .service(webhooks::list_deliveries)
                .service(webhooks::redeliver),
        );
}

/// Adds `Link: <...>; rel="next"` (the same request with the next cursor) when there
/// is a next page.
pub fn with_next_link(
    req: &HttpRequest,
    mut response: HttpResponse,
    next: Option<&str>,
) -> HttpResponse {
    let Some(cursor) = next else {
        return response;
    };
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if key != "cursor" {
            query.append_pair(&key, &value);
        }
    }
    query.append_pair("cursor", cursor);
    let link = format!("<{}?{}>; rel=\"next\"", req.path(), query.finish());
    if let Ok(link) = header::HeaderValue::from_str(&link) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// Where things are for clients, for absolute links: the API's base URL
/// (`CMS_PUBLIC_URL`) and the template of an article's page (`CMS_ARTICLE_URL`).
#[derive(Debug, Clone)]
pub struct SiteLinks {
    pub public_url: String,
    /// With `{slug}` where the article's slug goes.
    pub article_url: String,
}

impl SiteLinks {
    /// Links to the API's own article URLs unless a page template is set.
    pub fn new(public_url: &str, article_url: Option<&str>) -> SiteLinks {
        let public_url = public_url.trim_end_matches('/').to_string();
        let article_url = article_url
            .map(str::to_string)
            .unwrap_or_else(|| format!("{public_url}{API_PREFIX}/articles/{{slug}}"));
        SiteLinks {
            public_url,
            article_url,
        }
    }

    /// The absolute URL of an article's page.
    pub fn article_url(&self, slug: &str) -> String {
        self.article_url.replace("{slug}", slug)
    }
}

/// Adds `Location` (the URL of a created resource).
pub fn with_location(mut response: HttpResponse, location: &str) -> HttpResponse {
    if let Ok(location) = header::HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Borrows a database connection; 503 when none can be had in time.
pub async fn connection(pool: &DbPool) -> AppResult<DbConn> {
    Ok(pool.get().await?)
}

/// How many connections writes may hold at once: most of the pool, never all of
/// it, so that writers waiting on a locked row cannot starve reads of everything
/// else.
pub struct WriteSlots {
    slots: Arc<Semaphore>,
    wait: Duration,
}

impl WriteSlots {
    pub fn new(pool_size: usize, wait: Duration) -> WriteSlots {
        let slots = (pool_size - pool_size / 4).clamp(1, pool_size.max(1));
        WriteSlots {
            slots: Arc::new(Semaphore::new(slots)),
            wait,
        }
    }
}

/// A connection held by a write, with its write slot.
pub struct WriteConn {
    conn: DbConn,
    _slot: OwnedSemaphorePermit,
}

impl std::ops::Deref for WriteConn {
    type Target = AsyncPgConnection;
    fn deref(&self) -> &AsyncPgConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteConn {
    fn deref_mut(&mut self) -> &mut AsyncPgConnection {
        &mut self.conn
    }
}

/// Borrows a connection for a write: a write slot first, then the connection; 503
/// when either cannot be had in time.
pub async fn write_connection(req: &HttpRequest, pool: &DbPool) -> AppResult<WriteConn> {
    let slots = req
        .app_data::<web::Data<WriteSlots>>()
        .ok_or_else(|| AppError::Internal("no write slots".into()))?;
    let slot = tokio::time::timeout(slots.wait, slots.slots.clone().acquire_owned())
        .await
        .map_err(|_| AppError::TimedOut("Too many writes are waiting; retry shortly.".into()))?
        .map_err(|_| AppError::Internal("write slots closed".into()))?;
    Ok(WriteConn {
        conn: connection(pool).await?,
        _slot: slot,
    })
}

/// The documented paths and their methods, so that a known path with the wrong
/// method gets 405 (with `Allow`) instead of 404.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

impl RouteTable {
    pub fn from_openapi(api: &utoipa::openapi::OpenApi) -> Self {
        let mut table = RouteTable::default();
        for (path, item) in &api.paths.paths {
            let operations = [
                (Method::GET, item.get.is_some()),
                (Method::HEAD, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::PATCH, item.patch.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ];
            let methods = operations
                .into_iter()
                .filter_map(|(method, present)| present.then_some(method))
                .collect();
            table.add(path, methods);
        }
        table
    }

    pub fn add(&mut self, template: &str, methods: Vec<Method>) {
        let segments = template.split('/').map(str::to_string).collect();
        self.routes.push((segments, methods));
    }

    /// The methods allowed on `path`, if it is a known path.
    pub fn allowed_methods(&self, path: &str) -> Option<&[Method]> {
        let segments: Vec<&str> = path.split('/').collect();
        self.routes
            .iter()
            .find(|(template, _)| {
                template.len() == segments.len()
                    && template.iter().zip(&segments).all(|(t, s)| {
                        (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                    })
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

/// Answers requests that no route took: 405 on a known path, 404 otherwise.
pub async fn fallback(req: HttpRequest, routes: web::Data<RouteTable>) -> AppResult<HttpResponse> {
    match routes.allowed_methods(req.path()) {
        Some(methods) if req.method() == Method::OPTIONS => {
            let allow: Vec<&str> = methods.iter().map(Method::as_str).collect();
            Ok(HttpResponse::NoContent()
                .insert_header((header::ALLOW, allow.join(", ")))
                .finish())
        }
        Some(methods) => Err(AppError::MethodNotAllowed {
            allow: methods.to_vec(),
        }),
        None => Err(AppError::RouteNotFound),
    }
}
