//! The test harness: one throwaway PostgreSQL cluster for the whole run (or the server
//! in `DATABASE_URL`), a migrated template database, and for each test its own
//! database cloned from the template and its own server on a free port.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cms::auth::tokens::NewToken;
use cms::auth::Scope;
use cms::config::CorsOrigins;
pub use cms::content::webhooks::WebhookSettings;
use cms::db::local_postgres::{Durability, LocalPostgres};
use cms::db::PoolOptions;
use cms::http::rate_limit::RateLimits;
use cms::startup::{start_server, HttpOptions};
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const TEMPLATE_DB: &str = "cms_test_template";

/// The server all tests share, with a migrated template database on it.
struct Cluster {
    /// Settings of the server; the database name is swapped per test.
    config: tokio_postgres::Config,
    /// Keeps the private server alive for the whole run (never dropped: the kernel
    /// stops it when the test process exits).
    _local: Option<std::sync::Mutex<LocalPostgres>>,
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();

fn cluster() -> &'static Cluster {
    CLUSTER.get_or_init(|| {
        // Set-up blocks (initdb, migrations): run it on a plain thread with its own
        // runtime, outside the test's async runtime.
        std::thread::spawn(start_cluster)
            .join()
            .expect("the test cluster could not be set up")
    })
}

fn start_cluster() -> Cluster {
    let (config, local) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => (
            cms::db::parse_database_url(&url).expect("DATABASE_URL is not valid"),
            None,
        ),
        _ => {
            let data_dir = test_cluster_dir();
            let local = LocalPostgres::start(&data_dir, None, Durability::Throwaway)
                .unwrap_or_else(|e| panic!("cannot start a PostgreSQL for the tests: {e}"));
            (local.config("postgres"), Some(std::sync::Mutex::new(local)))
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let admin = admin_client(&config).await;
        // Two statements: DROP/CREATE DATABASE cannot share a transaction.
        for sql in [
            format!("DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)"),
            format!("CREATE DATABASE {TEMPLATE_DB}"),
        ] {
            admin
                .batch_execute(&sql)
                .await
                .expect("cannot create the template database");
        }
        let mut template = config.clone();
        template.dbname(TEMPLATE_DB);
        cms::db::run_migrations(&template)
            .await
            .expect("migrations must apply to an empty database");
    });
    Cluster {
        config,
        _local: local,
    }
}

/// A fresh folder for this run's cluster under the system temp folder (which the
/// unprivileged `postgres` user can reach), after removing those of finished runs.
fn test_cluster_dir() -> PathBuf {
    let base = std::env::temp_dir().join("cms-test-postgres");
    std::fs::create_dir_all(&base).expect("cannot create the test cluster folder");
    if let Ok(entries) = std::fs::read_dir(&base) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.split('.').next())
                .and_then(|n| n.parse::<i32>().ok());
            // SAFETY: kill with signal 0 only checks whether the process exists.
            if let Some(pid) = pid.filter(|pid| unsafe { libc::kill(*pid, 0) } != 0) {
                let _ = pid;
                let path = entry.path();
                if path.is_dir() {
                    let _ = std::fs::remove_dir_all(path);
                } else {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
    base.join(std::process::id().to_string())
}

async fn admin_client(config: &tokio_postgres::Config) -> tokio_postgres::Client {
    let mut admin = config.clone();
    admin.dbname("postgres");
    let (client, connection) = admin
        .connect(tokio_postgres::NoTls)
        .await
        .expect("cannot connect to the test PostgreSQL");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A running app on its own database.
pub struct TestApp {
    pub address: String,
    /// Sends an admin token with every request (an editor with every scope).
    pub client: reqwest::Client,
    /// Sends no credentials: the public.
    pub public: reqwest::Client,
    /// Settings of this test's database (direct, not through any proxy).
    pub db_config: tokio_postgres::Config,
    pub server: actix_web::dev::ServerHandle,
    pub proxy: Option<DbProxy>,
    /// SQL statements the app has run on its database.
    pub queries: cms::db::QueryCounter,
    /// Where `/metrics` is served.
    pub metrics_address: String,
}

/// How to start a [`TestApp`].
pub struct TestOptions {
    pub body_limit: usize,
    pub cors_origins: CorsOrigins,
    /// Put a TCP proxy between the app and PostgreSQL, to cut the database off.
    pub behind_proxy: bool,
    pub rate_limits: RateLimits,
    pub pool: PoolOptions,
    pub request_timeout: Duration,
    pub body_timeout: Duration,
    /// A Redis URL and key prefix to share rate-limit counts through.
    pub redis: Option<(String, String)>,
    /// How long idempotency keys are remembered.
    pub idempotency_ttl: Duration,
    /// The largest image upload.
    pub media_max_bytes: usize,
    /// A bucket to store uploads in instead of a folder.
    pub media_s3: Option<cms::content::media::storage::S3Location>,
    /// How webhooks are sent: to local receivers, retried within moments.
    pub webhooks: WebhookSettings,
}

/// Webhook settings for tests: receivers on this machine are allowed, and
/// retries come quickly. The app's own server sends nothing unless a test asks
/// (`deliver`): its polling would show in the query counts of other tests.
pub fn test_webhook_settings() -> WebhookSettings {
    WebhookSettings {
        deliver: false,
        allow_private_targets: true,
        timeout: Duration::from_secs(3),
        first_retry_after: Duration::from_millis(200),
        poll_every: Duration::from_millis(100),
        ..WebhookSettings::default()
    }
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            body_limit: cms::http::DEFAULT_BODY_LIMIT,
            cors_origins: CorsOrigins::None,
            behind_proxy: false,
            rate_limits: RateLimits::OFF,
            pool: PoolOptions {
                max_size: 4,
                ..PoolOptions::default()
            },
            request_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(8),
            redis: None,
            idempotency_ttl: Duration::from_secs(86_400),
            media_max_bytes: cms::http::media::DEFAULT_MEDIA_MAX_BYTES,
            media_s3: None,
            webhooks: test_webhook_settings(),
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(TestOptions::default()).await
    }

    pub async fn spawn_with(options: TestOptions) -> TestApp {
        let cluster = cluster();
        let name = format!("cms_test_{}", uuid::Uuid::new_v4().simple());
        admin_client(&cluster.config)
            .await
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}"))
            .await
            .expect("cannot clone the template database");
        let mut db_config = cluster.config.clone();
        db_config.dbname(&name);

        let (app_db_config, proxy) = if options.behind_proxy {
            let proxy = DbProxy::start(db_config.clone()).await;
            let mut via_proxy = tokio_postgres::Config::new();
            via_proxy
                .host("127.0.0.1")
                .port(proxy.port)
                .user(db_config.get_user().unwrap_or("postgres"))
                .dbname(&name);
            if let Some(password) = db_config.get_password() {
                via_proxy.password(password);
            }
            (via_proxy, Some(proxy))
        } else {
            (db_config.clone(), None)
        };

        let queries = cms::db::QueryCounter::default();
        let pool = cms::db::build_pool(app_db_config, options.pool, Some(queries.clone()))
            .expect("a pool");
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let metrics_listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let metrics_address = format!(
            "http://{}",
            metrics_listener.local_addr().expect("an address")
        );
        let server = start_server(
            listener,
            pool,
            HttpOptions {
                body_limit: options.body_limit,
                body_timeout: options.body_timeout,
                request_timeout: options.request_timeout,
                metrics_listener: Some(metrics_listener),
                cors_origins: options.cors_origins,
                workers: Some(1),
                shutdown_timeout: Duration::from_secs(10),
                rate_limits: options.rate_limits,
                redis: options.redis,
                public_url: cms::openapi::DEFAULT_PUBLIC_URL.into(),
                article_url: None,
                idempotency_ttl: options.idempotency_ttl,
                default_language: "en".into(),
                media_dir: media_dir(&name),
                media_max_bytes: options.media_max_bytes,
                media_s3: options.media_s3.clone(),
                webhooks: options.webhooks.clone(),
                cache: Default::default(),
            },
        )
        .expect("the server starts");
        let handle = server.handle();
        tokio::spawn(server);
        let admin_token = create_token(&db_config, &[Scope::Admin], None).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::AUTHORIZATION,
            format!("Bearer {admin_token}")
                .parse()
                .expect("a header value"),
        );
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .default_headers(headers)
                .build()
                .expect("an HTTP client"),
            public: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("an HTTP client"),
            db_config,
            server: handle,
            proxy,
            queries,
            metrics_address,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn put_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .put(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Creates an article and returns its JSON.
    pub async fn create_article(&self, body: Value) -> Value {
        let response = self.post_json("/api/v1/articles", &body).await;
        let status = response.status();
        let text = response.text().await.expect("a body");
        assert_eq!(status, 201, "creating article {body}: {text}");
        serde_json::from_str(&text).expect("an article")
    }

    /// The SQL statements `request` costs.
    pub async fn count_queries<F: std::future::Future>(&self, request: F) -> (F::Output, u64) {
        let before = self.queries.count();
        let output = request.await;
        (output, self.queries.count() - before)
    }

    /// Creates a tag and returns its JSON.
    pub async fn create_tag(&self, body: Value) -> Value {
        let response = self.post_json("/api/v1/tags", &body).await;
        assert_eq!(response.status(), 201, "creating tag {body}");
        response.json().await.expect("a tag")
    }

    /// Starts another server on this test's database (a second replica), with the
    /// default options; returns its base URL.
    pub async fn spawn_replica(&self) -> String {
        let options = TestOptions::default();
        let pool = cms::db::build_pool(self.db_config.clone(), options.pool, None).expect("a pool");
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let server = start_server(
            listener,
            pool,
            HttpOptions {
                body_limit: options.body_limit,
                body_timeout: options.body_timeout,
                request_timeout: options.request_timeout,
                metrics_listener: None,
                cors_origins: options.cors_origins,
                workers: Some(1),
                shutdown_timeout: Duration::from_secs(10),
                rate_limits: options.rate_limits,
                redis: None,
                public_url: cms::openapi::DEFAULT_PUBLIC_URL.into(),
                article_url: None,
                idempotency_ttl: options.idempotency_ttl,
                default_language: "en".into(),
                media_dir: media_dir(self.db_config.get_dbname().unwrap_or_default()),
                media_max_bytes: options.media_max_bytes,
                media_s3: options.media_s3.clone(),
                webhooks: WebhookSettings {
                    deliver: true,
                    ..options.webhooks.clone()
                },
                cache: Default::default(),
            },
        )
        .expect("the replica starts");
        tokio::spawn(server);
        format!("http://127.0.0.1:{port}")
    }

    /// A direct connection to this test's database, to check what was stored.
    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, connection) = self
            .db_config
            .connect(tokio_postgres::NoTls)
            .await
            .expect("cannot connect to the test database");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }
}

/// Creates a token straight in the database, as `cms token create` does.
pub async fn create_token(
    db_config: &tokio_postgres::Config,
    scopes: &[Scope],
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
) -> String {
    let mut conn = cms::db::connect(db_config).await.expect("a connection");
    let input = NewToken {
        name: format!("test {scopes:?}").into(),
        scopes: scopes.to_vec(),
        expires_at,
    };
    cms::auth::tokens::create(&mut conn, &input)
        .await
        .expect("a token")
        .secret
}

impl TestApp {
    /// A new token with these scopes.
    pub async fn token(&self, scopes: &[Scope]) -> String {
        create_token(&self.db_config, scopes, None).await
    }

    /// GET without credentials.
    pub async fn public_get(&self, path: &str) -> reqwest::Response {
        self.public
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }
}

/// Typed reading of responses: the expected status and the decoded body in one
/// call, the body shown when the status is not the expected one.
pub(crate) trait Expect {
    /// Asserts the status and decodes the JSON body as `T`.
    async fn expect<T: serde::de::DeserializeOwned>(self, status: u16) -> T;
}

impl Expect for reqwest::Response {
    async fn expect<T: serde::de::DeserializeOwned>(self, status: u16) -> T {
        let url = self.url().to_string();
        let actual = self.status();
        let text = self.text().await.expect("a body");
        assert_eq!(actual, status, "status of {url}: {text}");
        serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("{url} answered an unexpected shape ({error}): {text}"))
    }
}

impl TestApp {
    /// GETs `path` with the admin token, expecting `status`, decoded as `T`.
    pub async fn get_as<T: serde::de::DeserializeOwned>(&self, path: &str, status: u16) -> T {
        self.get(path).await.expect(status).await
    }
}

/// Reads a problem details response, checking its media type and status.
pub async fn problem(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "status of {}", response.url());
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.expect("a JSON problem");
    assert_eq!(body["status"], status);
    assert!(body["type"].is_string() && body["title"].is_string() && body["detail"].is_string());
    body
}

/// A TCP proxy in front of the test database that can cut every connection off (as if
/// PostgreSQL went away) and let them through again, or delay them.
pub struct DbProxy {
    pub port: u16,
    down: Arc<AtomicBool>,
    delay_ms: Arc<AtomicU64>,
    cut: Arc<Notify>,
}

impl DbProxy {
    async fn start(target: tokio_postgres::Config) -> DbProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let down = Arc::new(AtomicBool::new(false));
        let delay_ms = Arc::new(AtomicU64::new(0));
        let cut = Arc::new(Notify::new());
        let (accept_down, accept_cut, accept_delay) = (down.clone(), cut.clone(), delay_ms.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if accept_down.load(Ordering::SeqCst) {
                    let _ = client.shutdown().await;
                    continue;
                }
                let target = target.clone();
                let cut = accept_cut.clone();
                let delay = accept_delay.clone();
                tokio::spawn(async move {
                    match connect_target(&target).await {
                        Ok(Target::Tcp(server)) => relay(client, server, delay, cut).await,
                        Ok(Target::Unix(server)) => relay(client, server, delay, cut).await,
                        Err(_) => {}
                    }
                });
            }
        });
        DbProxy {
            port,
            down,
            delay_ms,
            cut,
        }
    }

    /// Cuts every open connection and refuses new ones.
    pub fn go_down(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut.notify_waiters();
    }

    pub fn come_back(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// Delays every message from the app to the database.
    pub fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }
}

/// Copies bytes both ways until either side closes or the proxy cuts the line.
async fn relay<S>(client: TcpStream, server: S, delay: Arc<AtomicU64>, cut: Arc<Notify>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (client_read, client_write) = tokio::io::split(client);
    let (server_read, server_write) = tokio::io::split(server);
    let both_ways = async {
        tokio::join!(
            pipe(client_read, server_write, delay),
            pipe(server_read, client_write, Arc::new(AtomicU64::new(0))),
        )
    };
    tokio::select! {
        _ = both_ways => {}
        _ = cut.notified() => {}
    }
}

async fn pipe<R, W>(mut from: R, mut to: W, delay_ms: Arc<AtomicU64>)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let ms = delay_ms.load(Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

enum Target {
    Tcp(TcpStream),
    Unix(tokio::net::UnixStream),
}

async fn connect_target(config: &tokio_postgres::Config) -> std::io::Result<Target> {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Unix(dir)) => {
            let socket = dir.join(format!(".s.PGSQL.{port}"));
            Ok(Target::Unix(tokio::net::UnixStream::connect(socket).await?))
        }
        Some(tokio_postgres::config::Host::Tcp(host)) => Ok(Target::Tcp(
            TcpStream::connect((host.as_str(), port)).await?,
        )),
        None => Ok(Target::Tcp(TcpStream::connect(("127.0.0.1", port)).await?)),
    }
}

/// Settings of the test server (its `postgres` database).
/// Where the app of the test whose database is `dbname` (and its replicas) keeps
/// uploaded images.
pub fn media_dir(dbname: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("cms-test-media-{dbname}"))
}

pub fn server_config() -> tokio_postgres::Config {
    cluster().config.clone()
}

/// A `postgres://` URL for database `dbname` on the test server.
pub fn database_url(dbname: &str) -> String {
    let config = &cluster().config;
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or("postgres");
    match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Unix(dir)) => {
            let dir: String = dir
                .to_string_lossy()
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("postgresql://{user}@{dir}:{port}/{dbname}")
        }
        Some(tokio_postgres::config::Host::Tcp(host)) => match config.get_password() {
            Some(password) => format!(
                "postgresql://{user}:{}@{host}:{port}/{dbname}",
                String::from_utf8_lossy(password)
            ),
            None => format!("postgresql://{user}@{host}:{port}/{dbname}"),
        },
        None => format!("postgresql://{user}@localhost:{port}/{dbname}"),
    }
}
