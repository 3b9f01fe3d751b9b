//! Configuration from environment variables, checked once at start.
//!
//! Every setting has a default, so that `cargo run --release` works with nothing set.
//! An invalid value stops the process with a message naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (the default).
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Everything the service reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// `DATABASE_URL`: an external PostgreSQL. When unset, a private one is started.
    pub database_url: Option<String>,
    /// `CMS_BIND`: address the HTTP server listens on.
    pub bind: SocketAddr,
    /// `CMS_DATA_DIR`: folder for the private PostgreSQL (`<dir>/postgres`).
    pub data_dir: PathBuf,
    /// `CMS_POSTGRES_BIN`: folder with `initdb` and `postgres` for the private server
    /// (default: search PATH, then /usr/lib/postgresql/*/bin).
    pub postgres_bin: Option<PathBuf>,
    /// `CMS_DB_POOL_SIZE`: maximum open database connections per process.
    pub pool_size: usize,
    /// `CMS_DB_TIMEOUT_MS`: how long a request waits for a database connection.
    pub db_timeout: Duration,
    /// `CMS_DB_CONNECT_TIMEOUT_MS`: how long a command waits at start for PostgreSQL
    /// to accept connections (trying again meanwhile) before it gives up.
    pub db_connect_timeout: Duration,
    /// `CMS_DB_STATEMENT_TIMEOUT_MS`: the longest one SQL statement may run.
    pub statement_timeout: Duration,
    /// `CMS_DB_LOCK_TIMEOUT_MS`: the longest a write waits for a row another write
    /// holds.
    pub lock_timeout: Duration,
    /// `CMS_REQUEST_TIMEOUT_MS`: the longest a request may take, body included.
    pub request_timeout: Duration,
    /// `CMS_BODY_TIMEOUT_MS`: the longest a client may take to send a request body.
    pub body_timeout: Duration,
    /// `CMS_IDEMPOTENCY_TTL_SECS`: how long a write sent with an `Idempotency-Key`
    /// is remembered (and replayed to a retry); after that the key is free again.
    pub idempotency_ttl: Duration,
    /// `CMS_METRICS_BIND`: address of the Prometheus `/metrics` listener (off when
    /// unset).
    pub metrics_bind: Option<SocketAddr>,
    /// `CMS_REDIS_URL`: a Redis that replicas share rate-limit counts through (when
    /// unset, each process counts on its own).
    pub redis_url: Option<String>,
    /// `CMS_CORS_ORIGINS`: comma-separated allowed origins, `*` for any, empty for none.
    pub cors_origins: CorsOrigins,
    /// `CMS_BODY_LIMIT`: largest accepted request body, in bytes.
    pub body_limit: usize,
    /// `CMS_MEDIA_DIR`: where uploaded images are stored (default
    /// `<CMS_DATA_DIR>/media`).
    pub media_dir: PathBuf,
    /// `CMS_MEDIA_MAX_BYTES`: largest accepted image upload, in bytes.
    pub media_max_bytes: usize,
    /// `CMS_MEDIA_S3_BUCKET` (with `CMS_MEDIA_S3_ENDPOINT`, `CMS_MEDIA_S3_REGION`):
    /// store media in an S3-compatible bucket instead of `media_dir`.
    pub media_s3: Option<crate::content::media::storage::S3Location>,
    /// `CMS_CACHE_MAX_AGE`, `CMS_CACHE_S_MAXAGE`, `CMS_CACHE_STALE_WHILE_REVALIDATE`:
    /// the `Cache-Control` of public reads, in seconds.
    pub cache: crate::http::caching::CachePolicy,
    /// `CMS_WEBHOOK_*`: how webhooks are sent.
    pub webhooks: crate::content::webhooks::WebhookSettings,
    /// `CMS_LOG_FORMAT`: `text` or `json`.
    pub log_format: LogFormat,
    /// `CMS_RATE_LIMIT_ANONYMOUS`: requests per minute per client address without a
    /// token (0: no limit).
    pub rate_limit_anonymous: u32,
    /// `CMS_RATE_LIMIT_TOKEN`: requests per minute per token (0: no limit).
    pub rate_limit_token: u32,
    /// `CMS_TRUST_FORWARDED`: take client addresses from `X-Forwarded-For`.
    pub trust_forwarded: bool,
    /// `CMS_WORKERS`: HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// `CMS_PUBLIC_URL`: the base URL clients reach the service at, which the spec
    /// names as its server.
    pub public_url: String,
    /// `CMS_ARTICLE_URL`: where an article's page is, with `{slug}` for its slug
    /// (feeds link there); unset: the API's own article URL.
    pub article_url: Option<String>,
    /// `CMS_REVISIONS_KEEP`: how many revisions to keep per article, the newest
    /// (`None`, from 0 or unset: all of them).
    pub revisions_keep: Option<u32>,
    /// `CMS_TRASH_PURGE_AFTER_DAYS`: how long a deleted article stays in the trash
    /// before it is purged for good (`None`, from 0 or unset: until an admin purges it).
    pub trash_purge_after: Option<Duration>,
    /// `CMS_DEFAULT_LANGUAGE`: the language (BCP 47) of an article created without
    /// one.
    pub default_language: String,
}

/// The longest `CMS_IDEMPOTENCY_TTL_SECS`: 30 days.
const MAX_IDEMPOTENCY_TTL_SECS: usize = 30 * 24 * 3600;

/// Which cross-origin callers browsers may let read the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    None,
    Any,
    List(Vec<String>),
}

/// A setting that could not be used, with the variable's name.
#[derive(Debug, thiserror::Error)]
#[error("invalid value {value:?} for {name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub reason: String,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup`, so that tests can supply their own.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        Ok(Config {
            database_url: get("DATABASE_URL"),
            bind: parse(&get, "CMS_BIND", "127.0.0.1:8080", |v| {
                v.parse::<SocketAddr>()
                    .map_err(|_| "expected an address such as 127.0.0.1:8080".into())
            })?,
            data_dir: PathBuf::from(get("CMS_DATA_DIR").unwrap_or_else(|| "data".into())),
            postgres_bin: get("CMS_POSTGRES_BIN").map(PathBuf::from),
            pool_size: parse(&get, "CMS_DB_POOL_SIZE", "16", |v| positive(v, 1, 1000))?,
            db_timeout: parse(&get, "CMS_DB_TIMEOUT_MS", "2000", millis)?,
            db_connect_timeout: parse(&get, "CMS_DB_CONNECT_TIMEOUT_MS", "30000", millis)?,
            statement_timeout: parse(&get, "CMS_DB_STATEMENT_TIMEOUT_MS", "5000", millis)?,
            lock_timeout: parse(&get, "CMS_DB_LOCK_TIMEOUT_MS", "2000", millis)?,
            request_timeout: parse(&get, "CMS_REQUEST_TIMEOUT_MS", "10000", millis)?,
            body_timeout: parse(&get, "CMS_BODY_TIMEOUT_MS", "8000", millis)?,
            idempotency_ttl: parse(&get, "CMS_IDEMPOTENCY_TTL_SECS", "86400", |v| {
                positive(v, 1, MAX_IDEMPOTENCY_TTL_SECS)
                    .map(|secs| Duration::from_secs(secs as u64))
            })?,
            metrics_bind: match get("CMS_METRICS_BIND") {
                None => None,
                Some(v) => Some(v.trim().parse::<SocketAddr>().map_err(|_| ConfigError {
                    name: "CMS_METRICS_BIND",
                    value: v.clone(),
                    reason: "expected an address such as 127.0.0.1:9464".into(),
                })?),
            },
            redis_url: get("CMS_REDIS_URL"),
            public_url: parse(
                &get,
                "CMS_PUBLIC_URL",
                crate::openapi::DEFAULT_PUBLIC_URL,
                |v| match url::Url::parse(v) {
                    Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => {
                        Ok(v.trim_end_matches('/').to_string())
                    }
                    _ => Err("expected an http(s) URL such as https://cms.example.com".into()),
                },
            )?,
            article_url: match get("CMS_ARTICLE_URL") {
                None => None,
                Some(v) => Some(article_url(v.trim()).map_err(|reason| ConfigError {
                    name: "CMS_ARTICLE_URL",
                    value: v.clone(),
                    reason,
                })?),
            },
            cors_origins: parse(&get, "CMS_CORS_ORIGINS", "", parse_cors)?,
            body_limit: parse(&get, "CMS_BODY_LIMIT", "8388608", |v| {
                positive(v, 1024, 1 << 30)
            })?,
            media_dir: match get("CMS_MEDIA_DIR") {
                Some(dir) => PathBuf::from(dir),
                None => PathBuf::from(get("CMS_DATA_DIR").unwrap_or_else(|| "data".into()))
                    .join("media"),
            },
            media_max_bytes: parse(&get, "CMS_MEDIA_MAX_BYTES", "20971520", |v| {
                positive(v, 1024, 1 << 30)
            })?,
            media_s3: get("CMS_MEDIA_S3_BUCKET")
                .filter(|bucket| !bucket.trim().is_empty())
                .map(|bucket| crate::content::media::storage::S3Location {
                    bucket,
                    endpoint: get("CMS_MEDIA_S3_ENDPOINT").filter(|e| !e.trim().is_empty()),
                    region: get("CMS_MEDIA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                    keys: None,
                }),
            log_format: parse(&get, "CMS_LOG_FORMAT", "text", |v| {
                match v.to_ascii_lowercase().as_str() {
                    "text" => Ok(LogFormat::Text),
                    "json" => Ok(LogFormat::Json),
                    _ => Err("expected `text` or `json`".into()),
                }
            })?,
            rate_limit_anonymous: parse(&get, "CMS_RATE_LIMIT_ANONYMOUS", "600", |v| {
                per_minute(v)
            })?,
            rate_limit_token: parse(&get, "CMS_RATE_LIMIT_TOKEN", "3000", per_minute)?,
            trust_forwarded: parse(&get, "CMS_TRUST_FORWARDED", "false", boolean)?,
            cache: crate::http::caching::CachePolicy {
                max_age: parse(&get, "CMS_CACHE_MAX_AGE", "0", seconds)?,
                s_maxage: parse(&get, "CMS_CACHE_S_MAXAGE", "60", seconds)?,
                stale_while_revalidate: parse(
                    &get,
                    "CMS_CACHE_STALE_WHILE_REVALIDATE",
                    "30",
                    seconds,
                )?,
            },
            webhooks: crate::content::webhooks::WebhookSettings {
                allow_private_targets: parse(
                    &get,
                    "CMS_WEBHOOK_ALLOW_PRIVATE_TARGETS",
                    "false",
                    boolean,
                )?,
                timeout: parse(&get, "CMS_WEBHOOK_TIMEOUT_MS", "10000", millis)?,
                retry_for: parse(&get, "CMS_WEBHOOK_RETRY_FOR_SECS", "86400", |v| {
                    positive(v, 1, 30 * 24 * 3600).map(|secs| Duration::from_secs(secs as u64))
                })?,
                first_retry_after: parse(&get, "CMS_WEBHOOK_FIRST_RETRY_MS", "5000", millis)?,
                disable_after_failures: parse(&get, "CMS_WEBHOOK_DISABLE_AFTER", "5", |v| {
                    positive(v, 1, 1000).map(|n| n as i32)
                })?,
                poll_every: parse(&get, "CMS_WEBHOOK_POLL_MS", "500", millis)?,
                deliver: parse(&get, "CMS_WEBHOOK_DELIVER", "true", boolean)?,
            },
            revisions_keep: parse(&get, "CMS_REVISIONS_KEEP", "0", |v| {
                v.parse::<u32>()
                    .map(|n| (n > 0).then_some(n))
                    .map_err(|_| "expected a whole number of revisions (0: keep all)".into())
            })?,
            trash_purge_after: parse(&get, "CMS_TRASH_PURGE_AFTER_DAYS", "0", |v| {
                match v.parse::<u32>() {
                    Ok(0) => Ok(None),
                    Ok(days) if days <= 36_500 => {
                        Ok(Some(Duration::from_secs(u64::from(days) * 86_400)))
                    }
                    _ => Err("expected a whole number of days up to 36500 (0: never)".into()),
                }
            })?,
            default_language: parse(&get, "CMS_DEFAULT_LANGUAGE", "en", |v| {
                crate::content::language::canonical(v.trim())
                    .map_err(|_| "expected a BCP 47 language tag such as en, ru or mn".into())
            })?,
            workers: match get("CMS_WORKERS") {
                None => None,
                Some(v) => Some(positive(&v, 1, 512).map_err(|reason| ConfigError {
                    name: "CMS_WORKERS",
                    value: v.clone(),
                    reason,
                })?),
            },
        })
    }
}

fn parse<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    let value = get(name).unwrap_or_else(|| default.to_string());
    parse(value.trim()).map_err(|reason| ConfigError {
        name,
        value,
        reason,
    })
}

fn positive(value: &str, min: usize, max: usize) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from {min} to {max}")),
    }
}

/// Seconds for a `Cache-Control` directive: 0 to a year.
fn seconds(value: &str) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if n <= 31_536_000 => Ok(n),
        _ => Err("expected a whole number of seconds from 0 to 31536000".into()),
    }
}

fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

fn millis(value: &str) -> Result<Duration, String> {
    positive(value, 1, 600_000).map(|ms| Duration::from_millis(ms as u64))
}

fn per_minute(value: &str) -> Result<u32, String> {
    value
        .parse::<u32>()
        .map_err(|_| "expected requests per minute, a whole number (0: no limit)".into())
}

fn article_url(value: &str) -> Result<String, String> {
    let probe = value.replace("{slug}", "probe");
    match url::Url::parse(&probe) {
        Ok(url) if value.contains("{slug}") && matches!(url.scheme(), "http" | "https") => {
            Ok(value.to_string())
        }
        _ => Err(
            "expected an http(s) URL with {slug}, such as https://news.example.com/{slug}".into(),
        ),
    }
}

fn parse_cors(value: &str) -> Result<CorsOrigins, String> {
    if value.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if value == "*" {
        return Ok(CorsOrigins::Any);
    }
    let origins: Vec<String> = value
        .split(',')
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .filter(|o| !o.is_empty())
        .collect();
    for origin in &origins {
        if !(origin.starts_with("http://") || origin.starts_with("https://")) {
            return Err(format!(
                "{origin:?} is not an origin such as https://example.com"
            ));
        }
    }
    Ok(CorsOrigins::List(origins))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn defaults_need_nothing_set() {
        let c = config(&[]).expect("defaults are valid");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, None);
        assert_eq!(c.cors_origins, CorsOrigins::None);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.revisions_keep, None, "every revision is kept");
        assert_eq!(c.trash_purge_after, None, "the trash is kept");
        assert_eq!(c.default_language, "en");
        assert_eq!(c.idempotency_ttl, Duration::from_secs(86_400));
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let err = config(&[("CMS_BIND", "localhost")]).unwrap_err();
        assert_eq!(err.name, "CMS_BIND");
        let err = config(&[("CMS_DB_POOL_SIZE", "0")]).unwrap_err();
        assert_eq!(err.name, "CMS_DB_POOL_SIZE");
        let err = config(&[("CMS_DB_CONNECT_TIMEOUT_MS", "soon")]).unwrap_err();
        assert_eq!(err.name, "CMS_DB_CONNECT_TIMEOUT_MS");
        let err = config(&[("CMS_CORS_ORIGINS", "example.com")]).unwrap_err();
        assert_eq!(err.name, "CMS_CORS_ORIGINS");
        let err = config(&[("CMS_TRASH_PURGE_AFTER_DAYS", "-1")]).unwrap_err();
        assert_eq!(err.name, "CMS_TRASH_PURGE_AFTER_DAYS");
        let err = config(&[("CMS_REVISIONS_KEEP", "many")]).unwrap_err();
        assert_eq!(err.name, "CMS_REVISIONS_KEEP");
        let err = config(&[("CMS_IDEMPOTENCY_TTL_SECS", "0")]).unwrap_err();
        assert_eq!(err.name, "CMS_IDEMPOTENCY_TTL_SECS");
        let err = config(&[("CMS_IDEMPOTENCY_TTL_SECS", "2592001")]).unwrap_err();
        assert_eq!(err.name, "CMS_IDEMPOTENCY_TTL_SECS");
        let err = config(&[("CMS_ARTICLE_URL", "https://news.example.com/")]).unwrap_err();
        assert_eq!(err.name, "CMS_ARTICLE_URL");
        let err = config(&[("CMS_LOG_FORMAT", "xml")]).unwrap_err();
        assert!(err.to_string().contains("CMS_LOG_FORMAT"));
    }

    #[test]
    fn cors_origins_are_a_list() {
        let c = config(&[("CMS_CORS_ORIGINS", "https://a.example, https://b.example/")])
            .expect("valid origins");
        assert_eq!(
            c.cors_origins,
            CorsOrigins::List(vec!["https://a.example".into(), "https://b.example".into()])
        );
    }
}
