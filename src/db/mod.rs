//! The database: connection settings, the pool, embedded migrations, and the private
//! PostgreSQL used when no `DATABASE_URL` is given.
//!
//! Why diesel-async with deadpool: actix-web runs handlers on a small set of async
//! workers, and a blocking Diesel connection would stall a worker for the length of
//! every query. diesel-async keeps Diesel's typed query builder and speaks to
//! PostgreSQL through tokio-postgres (no libpq), and deadpool is the pool it supports
//! best, with timeouts that let a request fail fast while the database is away.

pub mod local_postgres;
pub mod reach;
pub mod schema;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use diesel::connection::InstrumentationEvent;
use diesel::ConnectionError;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::AsyncConnection;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use futures_util::FutureExt;

/// The migrations under `migrations/`, compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Shared pool of database connections.
pub type DbPool = Pool<AsyncPgConnection>;
/// A connection borrowed from the pool.
pub type DbConn = Object<AsyncPgConnection>;

/// Why the database could not be prepared at start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
    /// One line: where (host, port, database, user; never the password), why, how
    /// often it was tried, and what to check.
    #[error("cannot connect to PostgreSQL at {target}: {cause}{retried}; {hint}")]
    Unreachable {
        target: String,
        cause: String,
        retried: String,
        hint: &'static str,
    },
    #[error("cannot create database {name:?}: {reason}")]
    CreateDatabase { name: String, reason: String },
    #[error("migrations failed: {0}")]
    Migrations(String),
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
}

/// Parses a `postgres://` URL (or key=value string) into connection settings.
pub fn parse_database_url(url: &str) -> Result<tokio_postgres::Config, SetupError> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| SetupError::InvalidUrl(e.to_string()))?;
    if config.get_dbname().is_none() {
        config.dbname("cms");
    }
    if config.get_user().is_none() {
        config.user("postgres");
    }
    Ok(config)
}

/// Opens one connection with the given settings. The error names the server and
/// the cause (`127.0.0.1:5432, database "cms", user "cms": connection refused`).
pub async fn connect(
    config: &tokio_postgres::Config,
) -> Result<AsyncPgConnection, ConnectionError> {
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| ConnectionError::BadConnection(reach::describe(config, &e)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection).await
}

/// Counts the SQL statements run on a pool's connections, so that tests can check
/// that a request costs a fixed number of queries (no N+1).
#[derive(Debug, Default, Clone)]
pub struct QueryCounter(Arc<AtomicU64>);

impl QueryCounter {
    /// Statements run so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// How the pool and each of its connections behave.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    /// Most connections open at once.
    pub max_size: usize,
    /// How long a request waits for a connection (and for one to open).
    pub wait: Duration,
    /// The longest one statement may run (PostgreSQL cancels it then).
    pub statement_timeout: Duration,
    /// The longest a statement waits for a lock another transaction holds.
    pub lock_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_size: 16,
            wait: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
            lock_timeout: Duration::from_secs(2),
        }
    }
}

/// Builds the pool. Connections are opened lazily, so this never touches the network.
///
/// Each connection carries its own deadlines, so that no statement, lock wait or
/// forgotten transaction holds it for long: `statement_timeout`, `lock_timeout` and
/// `idle_in_transaction_session_timeout`. TCP keepalives find a peer that vanished
/// without closing the connection.
pub fn build_pool(
    config: tokio_postgres::Config,
    options: PoolOptions,
    counter: Option<QueryCounter>,
) -> Result<DbPool, SetupError> {
    let mut config = config;
    let timeout = options.wait;
    config.connect_timeout(timeout);
    config.keepalives(true);
    config.keepalives_idle(Duration::from_secs(30));
    config.keepalives_interval(Duration::from_secs(10));
    config.keepalives_retries(3);
    config.options(format!(
        "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
        options.statement_timeout.as_millis(),
        options.lock_timeout.as_millis(),
        (options.statement_timeout * 2).as_millis(),
    ));
    if config.get_application_name().is_none() {
        config.application_name("cms");
    }
    let mut manager_config = ManagerConfig::<AsyncPgConnection>::default();
    // A broken connection is detected without a round trip (tokio-postgres knows when
    // its socket closed), so skip the `SELECT 1` on every checkout.
    manager_config.recycling_method = RecyclingMethod::Fast;
    manager_config.custom_setup = Box::new(move |_url| {
        let config = config.clone();
        let counter = counter.clone();
        async move {
            let mut conn = connect(&config).await?;
            if let Some(QueryCounter(count)) = counter {
                conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                    if let InstrumentationEvent::StartQuery { .. } = event {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::new_with_config("", manager_config);
    Pool::builder(manager)
        .max_size(options.max_size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| SetupError::Pool(e.to_string()))
}

/// Waits (up to `patience`) for the server to accept connections, then creates the
/// configured database if it does not exist yet.
pub async fn ensure_database(
    config: &tokio_postgres::Config,
    patience: Duration,
) -> Result<(), SetupError> {
    let name = config.get_dbname().unwrap_or("cms").to_string();
    let mut maintenance = config.clone();
    maintenance.dbname("postgres");
    let client = reach::connect_with_retry(&maintenance, config, patience).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .map_err(|e| SetupError::CreateDatabase {
            name: name.clone(),
            reason: e
                .as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().into()),
        })?
        .is_some();
    if !exists {
        let sql = format!("CREATE DATABASE {}", quote_ident(&name));
        if let Err(e) = client.batch_execute(&sql).await {
            // Another replica may have created it at the same moment: PostgreSQL
            // says so with duplicate_database, or, when both got past its own
            // check, with a unique violation on its catalog.
            let raced = e.code() == Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE)
                || e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION);
            if !raced {
                return Err(SetupError::CreateDatabase {
                    name,
                    reason: e
                        .as_db_error()
                        .map_or_else(|| e.to_string(), |d| d.message().into()),
                });
            }
        }
        tracing::info!(database = %name, "created database");
    }
    Ok(())
}

/// Quotes an SQL identifier.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Applies pending migrations. An advisory lock makes replicas that start together
/// take turns instead of racing.
pub async fn run_migrations(config: &tokio_postgres::Config) -> Result<usize, SetupError> {
    use diesel_async::RunQueryDsl;
    const MIGRATION_LOCK: i64 = 0x636d_735f_6d69_6772; // "cms_migr"

    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| reach::unreachable(config, &e))?;
    let mut conn = AsyncPgConnection::try_from_client_and_connection(client, connection)
        .await
        .map_err(|e| SetupError::Migrations(e.to_string()))?;
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .await
        .map_err(|e| SetupError::Migrations(e.to_string()))?;
    // The wrapper drives the async connection with blocking calls: keep it off the
    // async workers. The lock goes with the session when the connection closes.
    tokio::task::spawn_blocking(move || {
        let mut wrapper = AsyncConnectionWrapper::<AsyncPgConnection>::from(conn);
        wrapper
            .run_pending_migrations(MIGRATIONS)
            .map(|applied| applied.len())
            .map_err(|e| SetupError::Migrations(e.to_string()))
    })
    .await
    .map_err(|e| SetupError::Migrations(e.to_string()))?
}
