//! Building and running the HTTP server.

use std::net::TcpListener;
use std::time::Duration;

use actix_cors::Cors;
use actix_web::dev::Server;
use actix_web::http::{header, Method};
use actix_web::middleware::{from_fn, Compress, Condition};
use actix_web::{web, App, HttpServer};
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::{Config, CorsOrigins};
use crate::content::articles::{self, pending};
use crate::content::events;
use crate::content::housekeeping::{self, Removed, Retention};
use crate::content::webhooks::{delivery, WebhookSettings};
use crate::db::local_postgres::{Durability, LocalPostgres, LocalPostgresError};
use crate::db::{self, DbPool, SetupError};
use crate::http::auth::AuthCache;
use crate::http::caching::CachePolicy;
use crate::http::extract::{path_error, query_error, BodyLimit};
use crate::http::idempotency::Idempotency;
use crate::http::metrics::{Metrics, MetricsAddress, METRICS_PATH};
use crate::http::middleware::RequestTimeout;
use crate::http::rate_limit::{identify_and_limit, RateLimiter, RateLimits};
use crate::http::shared_counts::SharedCounts;
use crate::http::{middleware, RouteTable, SiteLinks, WriteSlots};
use crate::openapi::{DOCS_PATH, SPEC_PATH};

/// Why a command of the binary could not run: the one error type at its edge.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] SetupError),
    #[error(transparent)]
    LocalPostgres(#[from] LocalPostgresError),
    #[error("cannot listen on {address} ({setting}): {source}")]
    Listen {
        address: std::net::SocketAddr,
        setting: &'static str,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Server(#[from] std::io::Error),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("cannot connect to PostgreSQL: {0}")]
    Connect(#[from] diesel::ConnectionError),
    /// A command refused its input (the message says what to change).
    #[error("{0}")]
    Refused(String),
}

/// HTTP settings that the app needs per request.
#[derive(Debug)]
pub struct HttpOptions {
    pub body_limit: usize,
    /// The longest a client may take to send a request body.
    pub body_timeout: Duration,
    /// The longest a request may take, body included.
    pub request_timeout: Duration,
    /// Where `/metrics` is served, if anywhere.
    pub metrics_listener: Option<TcpListener>,
    pub cors_origins: CorsOrigins,
    pub workers: Option<usize>,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
    pub rate_limits: RateLimits,
    /// A Redis to share rate-limit counts through, and the prefix of its keys.
    pub redis: Option<(String, String)>,
    /// The base URL the spec names as its server.
    pub public_url: String,
    /// The template of an article page's URL, with `{slug}` (feeds link to it);
    /// `None`: the API's own article URL.
    pub article_url: Option<String>,
    /// How long a write sent with an `Idempotency-Key` is remembered.
    pub idempotency_ttl: Duration,
    /// The language of an article created without one.
    pub default_language: String,
    /// Where uploaded images are stored.
    pub media_dir: std::path::PathBuf,
    /// The largest image upload, in bytes.
    pub media_max_bytes: usize,
    /// A bucket to store uploaded images in instead of `media_dir`.
    pub media_s3: Option<crate::content::media::storage::S3Location>,
    /// How webhooks are sent (and whether this server sends them).
    pub webhooks: WebhookSettings,
    /// The `Cache-Control` of public reads.
    pub cache: CachePolicy,
}

impl HttpOptions {
    pub fn from_config(config: &Config, metrics_listener: Option<TcpListener>) -> Self {
        HttpOptions {
            body_limit: config.body_limit,
            media_dir: config.media_dir.clone(),
            media_max_bytes: config.media_max_bytes,
            media_s3: config.media_s3.clone(),
            webhooks: config.webhooks.clone(),
            cache: config.cache,
            body_timeout: config.body_timeout,
            request_timeout: config.request_timeout,
            metrics_listener,
            cors_origins: config.cors_origins.clone(),
            workers: config.workers,
            shutdown_timeout: Duration::from_secs(30),
            rate_limits: RateLimits {
                anonymous_per_minute: config.rate_limit_anonymous,
                token_per_minute: config.rate_limit_token,
                trust_forwarded: config.trust_forwarded,
                window: Duration::from_secs(60),
            },
            redis: config
                .redis_url
                .clone()
                .map(|url| (url, "cms:ratelimit:".to_string())),
            public_url: config.public_url.clone(),
            article_url: config.article_url.clone(),
            idempotency_ttl: config.idempotency_ttl,
            default_language: config.default_language.clone(),
        }
    }
}

fn cors(origins: &CorsOrigins) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_any_header()
        .expose_headers([
            header::ETAG,
            header::LOCATION,
            header::LINK,
            header::RETRY_AFTER,
            middleware::REQUEST_ID,
        ])
        // Browsers enforce CORS; a request from another origin just gets no CORS
        // headers instead of an error.
        .block_on_origin_mismatch(false)
        .max_age(3600);
    match origins {
        CorsOrigins::None => {}
        CorsOrigins::Any => cors = cors.allow_any_origin(),
        CorsOrigins::List(list) => {
            for origin in list {
                cors = cors.allowed_origin(origin);
            }
        }
    }
    cors
}

/// Starts serving on `listener`. The returned server runs when awaited or spawned.
pub fn start_server(
    listener: TcpListener,
    pool: DbPool,
    options: HttpOptions,
) -> std::io::Result<Server> {
    let write_slots = web::Data::new(WriteSlots::new(
        pool.status().max_size,
        pool.timeouts().wait.unwrap_or(Duration::from_secs(2)),
    ));
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(publish_scheduled(pool.clone()));
            if options.webhooks.deliver {
                runtime.spawn(delivery::run(pool.clone(), options.webhooks.clone()));
            }
        }
        Err(_) => {
            tracing::warn!("no async runtime: scheduled pending changes will not be published")
        }
    }
    let webhook_settings = web::Data::new(options.webhooks.clone());
    let cache_policy = web::Data::new(options.cache);
    let pool = web::Data::new(pool);
    let spec = crate::openapi::spec_for(&options.public_url);
    let mut routes = RouteTable::from_openapi(&spec);
    routes.add(SPEC_PATH, vec![Method::GET, Method::HEAD]);
    routes.add(DOCS_PATH, vec![Method::GET, Method::HEAD]);
    let routes = web::Data::new(routes);
    let body_limit = BodyLimit {
        bytes: options.body_limit,
        timeout: options.body_timeout,
    };
    let request_timeout = RequestTimeout(options.request_timeout);
    let cors_enabled = options.cors_origins != CorsOrigins::None;
    let cors_origins = options.cors_origins.clone();
    let shared_counts = match &options.redis {
        Some((url, prefix)) => Some(
            SharedCounts::new(url, prefix)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        ),
        None => None,
    };
    let limiter = web::Data::new(RateLimiter::new(options.rate_limits, shared_counts));
    let auth_cache = web::Data::new(AuthCache::default());
    let links = web::Data::new(SiteLinks::new(
        &options.public_url,
        options.article_url.as_deref(),
    ));
    let default_language = web::Data::new(crate::http::articles::DefaultLanguage(
        options.default_language.clone(),
    ));
    let idempotency = web::Data::new(Idempotency::new(options.idempotency_ttl));
    let media_store = match &options.media_s3 {
        Some(bucket) => crate::content::media::storage::MediaStore::in_bucket(bucket)?,
        None => crate::content::media::storage::MediaStore::on_disk(&options.media_dir)?,
    };
    let media = web::Data::new(crate::http::media::MediaSettings::new(
        media_store,
        options.media_max_bytes,
    ));
    let metrics = web::Data::new(Metrics::new());
    let metrics_address = match &options.metrics_listener {
        Some(listener) => Some(web::Data::new(MetricsAddress(listener.local_addr()?))),
        None => None,
    };

    let mut server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .configure(crate::http::configure)
            .split_for_parts();
        let app = match &metrics_address {
            Some(address) => app.app_data(address.clone()),
            None => app,
        };
        app.app_data(pool.clone())
            .app_data(routes.clone())
            .app_data(limiter.clone())
            .app_data(auth_cache.clone())
            .app_data(links.clone())
            .app_data(default_language.clone())
            .app_data(metrics.clone())
            .app_data(write_slots.clone())
            .app_data(idempotency.clone())
            .app_data(media.clone())
            .app_data(webhook_settings.clone())
            .app_data(cache_policy.clone())
            .app_data(body_limit)
            .app_data(request_timeout)
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .app_data(web::PathConfig::default().error_handler(path_error))
            .route(METRICS_PATH, web::get().to(crate::http::metrics::metrics))
            .service(SwaggerUi::new(format!("{DOCS_PATH}/{{_:.*}}")).url(SPEC_PATH, spec.clone()))
            .service(web::redirect(DOCS_PATH, format!("{DOCS_PATH}/")))
            .default_service(web::to(crate::http::fallback))
            .wrap(from_fn(middleware::head_as_get))
            // Inside the rate limit and the caller's identification (a refused
            // request claims no key), inside the deadline (which bounds the wait
            // for a key another request holds).
            .wrap(from_fn(crate::http::idempotency::idempotency))
            .wrap(from_fn(identify_and_limit))
            .wrap(from_fn(middleware::deadline))
            .wrap(from_fn(middleware::problem_details))
            .wrap(from_fn(crate::http::caching::cache_headers))
            .wrap(Condition::new(cors_enabled, cors(&cors_origins)))
            .wrap(Compress::default())
            .wrap(from_fn(crate::http::metrics::metrics_port_only))
            .wrap(from_fn(middleware::request_context))
    })
    .shutdown_timeout(options.shutdown_timeout.as_secs())
    .listen(listener)?;
    if let Some(metrics_listener) = options.metrics_listener {
        server = server.listen(metrics_listener)?;
    }
    if let Some(workers) = options.workers {
        server = server.workers(workers);
    }
    Ok(server.run())
}

/// Everything `cms serve` does: database (private or external), migrations, server.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let (db_config, local) = database(&config)?;
    prepare_database(&db_config, config.db_connect_timeout).await?;
    let pool_options = db::PoolOptions {
        max_size: config.pool_size,
        wait: config.db_timeout,
        statement_timeout: config.statement_timeout,
        lock_timeout: config.lock_timeout,
    };
    let pool = db::build_pool(db_config, pool_options, None)?;
    let listen = |address, setting| {
        TcpListener::bind(address).map_err(|source| StartError::Listen {
            address,
            setting,
            source,
        })
    };
    let listener = listen(config.bind, "CMS_BIND")?;
    let metrics_listener = match config.metrics_bind {
        Some(address) => Some(listen(address, "CMS_METRICS_BIND")?),
        None => None,
    };
    tracing::info!(
        address = %config.bind,
        docs = %format!("http://{}{DOCS_PATH}/", config.bind),
        "serving the API"
    );
    if let Some(address) = config.metrics_bind {
        tracing::info!(%address, "serving Prometheus metrics at /metrics");
    }
    let options = HttpOptions::from_config(&config, metrics_listener);
    let retention = Retention {
        revisions_keep: config.revisions_keep,
        trash_purge_after: config.trash_purge_after,
    };
    if !retention.keeps_everything() {
        tokio::spawn(keep_house(pool.clone(), retention));
    }
    tokio::spawn(backfill_teasers(pool.clone()));
    let server = start_server(listener, pool, options)?;
    // actix stops accepting on SIGINT/SIGTERM and lets in-flight requests finish.
    let result = server.await.map_err(StartError::Server);
    stop(local).await?;
    result
}

/// How often a server looks for scheduled pending changes whose time has come.
const SCHEDULE_EVERY: Duration = Duration::from_secs(1);

/// Publishes scheduled pending changes when their time comes, for as long as the
/// process runs: every server does, and each change is published once between them.
async fn publish_scheduled(pool: DbPool) {
    let mut every = tokio::time::interval(SCHEDULE_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let published = match pool.get().await {
            Ok(mut conn) => match pending::publish_due(&mut conn).await {
                // Scheduled articles whose time has come are announced too.
                Ok(n) => events::announce_due(&mut conn).await.map(|m| n + m),
                Err(error) => Err(error),
            },
            Err(error) => Err(error.into()),
        };
        match published {
            Ok(0) => {}
            Ok(n) => tracing::info!(published = n, "published scheduled pending changes"),
            Err(error) => tracing::debug!(%error, "scheduled pending changes: trying again later"),
        }
    }
}

/// Keeps the teasers of articles written before teasers were kept, a batch at a
/// time, then stops (reads work them out until then).
async fn backfill_teasers(pool: DbPool) {
    let mut total = 0;
    loop {
        let done = match pool.get().await {
            Ok(mut conn) => articles::backfill_teasers(&mut conn, 100).await,
            Err(error) => Err(error.into()),
        };
        match done {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(error) => {
                tracing::warn!(%error, "keeping the teasers of older articles failed; next start tries again");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(
            articles = total,
            "kept the teasers of articles written before they were kept"
        );
    }
}

/// Applies the retention settings now and every [`housekeeping::EVERY`], for as
/// long as the server runs. A failed round is logged and tried again next time.
async fn keep_house(pool: DbPool, retention: Retention) {
    let mut every = tokio::time::interval(housekeeping::EVERY);
    loop {
        every.tick().await;
        let removed = match pool.get().await {
            Ok(mut conn) => retention.apply(&mut conn).await,
            Err(error) => Err(error.into()),
        };
        match removed {
            Ok(removed) if removed != Removed::default() => tracing::info!(
                revisions = removed.revisions,
                trashed_articles = removed.trashed_articles,
                "housekeeping removed what the retention settings no longer keep"
            ),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "housekeeping failed; trying again later"),
        }
    }
}

/// `cms migrate`: prepares the database and applies migrations, then stops.
pub async fn migrate(config: Config) -> Result<(), StartError> {
    let (db_config, local) = database(&config)?;
    let result = prepare_database(&db_config, config.db_connect_timeout).await;
    stop(local).await?;
    result
}

/// Stops the private PostgreSQL, if this process started it (one another process
/// runs is left running).
pub async fn stop(local: Option<LocalPostgres>) -> Result<(), StartError> {
    if let Some(local) = local.filter(|local| !local.is_attached()) {
        tracing::info!("stopping the private PostgreSQL");
        tokio::task::spawn_blocking(move || local.stop()).await?;
    }
    Ok(())
}

/// The database to use: `DATABASE_URL`, or a private cluster under `CMS_DATA_DIR`
/// (returned too, to be stopped with [`stop`]).
pub fn database(
    config: &Config,
) -> Result<(tokio_postgres::Config, Option<LocalPostgres>), StartError> {
    match &config.database_url {
        Some(url) => Ok((db::parse_database_url(url)?, None)),
        None => {
            let data_dir = config.data_dir.join("postgres");
            let local = LocalPostgres::start(
                &data_dir,
                config.postgres_bin.as_deref(),
                Durability::Persistent,
            )?;
            if local.is_attached() {
                tracing::info!(
                    data = %data_dir.display(),
                    "DATABASE_URL is unset: using the private PostgreSQL that a running cms \
                     serves from this folder (attached to it; it keeps running)"
                );
            } else {
                tracing::info!(
                    data = %data_dir.display(),
                    socket = %local.socket_dir().display(),
                    "DATABASE_URL is unset: started a private PostgreSQL (data kept in this folder)"
                );
            }
            Ok((local.config("cms"), Some(local)))
        }
    }
}

/// Waits up to `patience` (`CMS_DB_CONNECT_TIMEOUT_MS`) for the server, creates the
/// database if needed and applies pending migrations.
pub async fn prepare_database(
    db_config: &tokio_postgres::Config,
    patience: Duration,
) -> Result<(), StartError> {
    db::ensure_database(db_config, patience).await?;
    let applied = db::run_migrations(db_config).await?;
    tracing::info!(applied, "migrations are up to date");
    Ok(())
}
