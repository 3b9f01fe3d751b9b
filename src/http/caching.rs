//! Responses a CDN can cache and purge exactly. Public reads (`GET`/`HEAD` under
//! `/api/v1` without a token) carry `Cache-Control` from the settings; anything
//! a token asked for is `private, no-store`, and errors are `no-store`. Every API
//! answer varies by `Authorization` (a token sees more). Reads name what they show
//! in `Surrogate-Key` (space-separated, Fastly) and `Cache-Tag` (comma-separated,
//! Cloudflare): `article-<id>`, `tag-<id>`, `author-<id>`, `section-<id>`,
//! `media-<id>`, and `articles` on lists; webhook payloads name the keys a change
//! makes stale, for the CDN to purge.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, Error, HttpResponse};

use crate::content::articles::Article;
use crate::http::API_PREFIX;

/// How long shared caches and browsers may keep a public read (from the
/// `CMS_CACHE_*` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// `max-age`, for browsers: 0 makes them revalidate (cheaply, by `ETag`).
    pub max_age: u32,
    /// `s-maxage`, for shared caches (a CDN purges by surrogate key on writes).
    pub s_maxage: u32,
    /// `stale-while-revalidate`: how long a stale copy may be served while a
    /// fresh one is fetched.
    pub stale_while_revalidate: u32,
}

impl Default for CachePolicy {
    fn default() -> CachePolicy {
        CachePolicy {
            max_age: 0,
            s_maxage: 60,
            stale_while_revalidate: 30,
        }
    }
}

impl CachePolicy {
    fn public(&self) -> String {
        format!(
            "public, max-age={}, s-maxage={}, stale-while-revalidate={}",
            self.max_age, self.s_maxage, self.stale_while_revalidate
        )
    }
}

const SURROGATE_KEY: HeaderName = HeaderName::from_static("surrogate-key");
const CACHE_TAG: HeaderName = HeaderName::from_static("cache-tag");

/// Sets `Cache-Control` (unless the handler did) and `Vary: Authorization` on the
/// API's answers.
pub async fn cache_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let api = req.path().starts_with(API_PREFIX);
    let read = matches!(*req.method(), Method::GET | Method::HEAD);
    let with_token = req.headers().contains_key(header::AUTHORIZATION);
    let policy = req
        .app_data::<web::Data<CachePolicy>>()
        .map(|p| *p.get_ref())
        .unwrap_or_default();
    let mut res = next.call(req).await?;
    if !api {
        return Ok(res);
    }
    let status = res.status();
    let headers = res.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Authorization"));
    if read && !headers.contains_key(header::CACHE_CONTROL) {
        let value = if with_token {
            "private, no-store".to_string()
        } else if status.is_success() || status == actix_web::http::StatusCode::NOT_MODIFIED {
            policy.public()
        } else {
            "no-store".to_string()
        };
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header::CACHE_CONTROL, value);
        }
    }
    Ok(res)
}

/// The surrogate keys of what an article shows: itself, its tags, authors,
/// section and lead image.
pub fn article_keys(article: &Article) -> Vec<String> {
    let mut keys = vec![format!("article-{}", article.id)];
    keys.extend(article.tags.iter().map(|t| format!("tag-{}", t.id)));
    keys.extend(article.authors.iter().map(|a| format!("author-{}", a.id)));
    keys.extend(article.section.iter().map(|s| format!("section-{}", s.id)));
    keys.extend(article.lead_image.iter().map(|i| format!("media-{}", i.id)));
    keys
}

/// The surrogate keys of a list of articles: `articles` (any new article may
/// join it) and each one's own key.
pub fn list_keys(articles: &[Article]) -> Vec<String> {
    std::iter::once("articles".to_string())
        .chain(articles.iter().map(|a| format!("article-{}", a.id)))
        .collect()
}

/// Names `keys` in `Surrogate-Key` and `Cache-Tag`, each once.
pub fn with_surrogate_keys(mut response: HttpResponse, keys: Vec<String>) -> HttpResponse {
    let mut unique: Vec<String> = Vec::with_capacity(keys.len());
    for key in keys {
        if !unique.contains(&key) {
            unique.push(key);
        }
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&unique.join(" ")) {
        headers.insert(SURROGATE_KEY, value);
    }
    if let Ok(value) = HeaderValue::from_str(&unique.join(",")) {
        headers.insert(CACHE_TAG, value);
    }
    response
}
