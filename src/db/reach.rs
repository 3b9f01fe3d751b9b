//! Reaching PostgreSQL: waiting for it at start, and saying in one line why it
//! cannot be reached (where, as whom, the cause and what to check), never with the
//! password.

use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::config::Host;
use tokio_postgres::error::SqlState;

use super::SetupError;

/// Where a connection goes, without the password: `127.0.0.1:5432, database "cms",
/// user "postgres"`, or the socket folder of a server on a Unix socket.
pub fn target(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            // One port for all hosts, or one per host; 5432 when none is given.
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]:{port}"),
                Host::Tcp(name) => format!("{name}:{port}"),
                Host::Unix(dir) => format!("the socket in {} (port {port})", dir.display()),
            }
        })
        .collect();
    let place = if hosts.is_empty() {
        // tokio-postgres needs a host; say so rather than invent one.
        "no host".to_string()
    } else {
        hosts.join(", ")
    };
    format!(
        "{place}, database {:?}, user {:?}",
        config.get_dbname().unwrap_or("?"),
        config.get_user().unwrap_or("?")
    )
}

/// Why a connection attempt failed, in words, and whether trying again may help.
#[derive(Debug)]
pub struct Cause {
    /// What happened, e.g. `connection refused`.
    pub text: String,
    /// What to check, e.g. `is PostgreSQL running there? check DATABASE_URL`.
    pub hint: &'static str,
    /// Waiting cannot fix it (wrong password, no such database).
    pub permanent: bool,
}

/// Explains a failed connection attempt (`tokio-postgres` itself only says "error
/// connecting to server"; the reason is in its source chain).
pub fn cause(error: &tokio_postgres::Error, unix_socket: bool) -> Cause {
    const CHECK_URL: &str = "check DATABASE_URL";
    if let Some(db) = error.as_db_error() {
        let code = db.code();
        let (hint, permanent) = if *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
        {
            (
                "check the user and password in DATABASE_URL (and the server's pg_hba.conf)",
                true,
            )
        } else if *code == SqlState::INVALID_CATALOG_NAME {
            ("check the database name in DATABASE_URL", true)
        } else if *code == SqlState::CANNOT_CONNECT_NOW {
            ("PostgreSQL is starting or stopping; wait for it", false)
        } else if *code == SqlState::TOO_MANY_CONNECTIONS {
            (
                "the server is at max_connections; lower CMS_DB_POOL_SIZE or raise it",
                false,
            )
        } else {
            (CHECK_URL, false)
        };
        return Cause {
            text: db.message().to_string(),
            hint,
            permanent,
        };
    }
    let chain = chain(error);
    if let Some(io) = io_source(error) {
        use std::io::ErrorKind;
        let (text, hint) = match io.kind() {
            ErrorKind::ConnectionRefused if unix_socket => (
                "connection refused (no server on that socket)".to_string(),
                "is the PostgreSQL of that folder running? see its log",
            ),
            ErrorKind::ConnectionRefused => (
                "connection refused".to_string(),
                "is PostgreSQL running and listening on that host and port? check DATABASE_URL",
            ),
            ErrorKind::NotFound if unix_socket => (
                "no server socket there".to_string(),
                "is the PostgreSQL of that folder running? see its log",
            ),
            ErrorKind::TimedOut => (
                "no answer (connection timed out)".to_string(),
                "check the host and port in DATABASE_URL, and any firewall on the way",
            ),
            ErrorKind::PermissionDenied => (
                format!("permission denied ({io})"),
                "check who may use that socket",
            ),
            _ if io.to_string().contains("lookup address") => (
                format!("the host name cannot be resolved ({io})"),
                "check the host name in DATABASE_URL",
            ),
            _ => (chain, CHECK_URL),
        };
        return Cause {
            text,
            hint,
            permanent: false,
        };
    }
    if chain.ends_with("password missing") {
        return Cause {
            text: "the server asks for a password and none was given".into(),
            hint: "add it to DATABASE_URL (postgres://user:password@host:port/database)",
            permanent: true,
        };
    }
    // Authentication that never reached the server or a configuration that cannot
    // work: trying again changes nothing.
    let permanent = chain.starts_with("authentication error") || chain.starts_with("invalid");
    Cause {
        text: chain,
        hint: CHECK_URL,
        permanent,
    }
}

/// The error and its sources, joined: `error connecting to server: Connection refused`.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(next) = source {
        let part = next.to_string();
        if !text.ends_with(&part) {
            text = format!("{text}: {part}");
        }
        source = next.source();
    }
    text
}

fn io_source(error: &tokio_postgres::Error) -> Option<&std::io::Error> {
    let mut source = std::error::Error::source(error);
    while let Some(next) = source {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        source = next.source();
    }
    None
}

fn is_unix(config: &tokio_postgres::Config) -> bool {
    matches!(config.get_hosts().first(), Some(Host::Unix(_)))
}

/// The error that names the server, the cause and what to check.
pub fn unreachable(config: &tokio_postgres::Config, error: &tokio_postgres::Error) -> SetupError {
    unreachable_after(config, cause(error, is_unix(config)), 1, Duration::ZERO)
}

fn unreachable_after(
    config: &tokio_postgres::Config,
    cause: Cause,
    tries: u32,
    waited: Duration,
) -> SetupError {
    let retried = if tries > 1 {
        format!(" (tried {tries} times over {})", seconds(waited))
    } else {
        String::new()
    };
    SetupError::Unreachable {
        target: target(config),
        cause: cause.text,
        retried,
        hint: cause.hint,
    }
}

/// One connection attempt, with a short answer on failure: `target: cause`.
pub fn describe(config: &tokio_postgres::Config, error: &tokio_postgres::Error) -> String {
    format!("{}: {}", target(config), cause(error, is_unix(config)).text)
}

/// Connects, trying again every half second for up to `patience` while the server
/// is not there yet (it may be starting). Logs one line when it starts waiting and
/// one when the server answers; a cause that waiting cannot fix (wrong password, no
/// such database) ends the wait at once. The error names the server, the cause and
/// how often it was tried. Messages name `shown`'s database and user (the configured
/// ones, when `config` goes to the maintenance database).
pub async fn connect_with_retry(
    config: &tokio_postgres::Config,
    shown: &tokio_postgres::Config,
    patience: Duration,
) -> Result<tokio_postgres::Client, SetupError> {
    let started = Instant::now();
    let deadline = started + patience;
    let mut tries = 0u32;
    loop {
        tries += 1;
        // Each try ends in time (a host that drops packets never refuses), and no
        // later than the deadline.
        let left = deadline.saturating_duration_since(Instant::now());
        let limit = left.clamp(Duration::from_millis(500), Duration::from_secs(5));
        let mut attempt = config.clone();
        if config.get_connect_timeout().is_none() {
            attempt.connect_timeout(limit);
        }
        // A server that accepts the connection but never answers is given a little
        // longer than the connection itself.
        let answer_limit = limit + Duration::from_millis(500);
        let answer = tokio::time::timeout(answer_limit, attempt.connect(tokio_postgres::NoTls));
        let explained = match answer.await {
            Ok(Ok((client, connection))) => {
                tokio::spawn(async move {
                    let _ = connection.await;
                });
                if tries > 1 {
                    tracing::info!(
                        "PostgreSQL at {} answered after {}",
                        target(shown),
                        seconds(started.elapsed())
                    );
                }
                return Ok(client);
            }
            Ok(Err(error)) => cause(&error, is_unix(config)),
            // Connected, but the server said nothing in time.
            Err(_) => Cause {
                text: format!("no answer within {}", seconds(answer_limit)),
                hint: "is that port a PostgreSQL server? check DATABASE_URL",
                permanent: false,
            },
        };
        if explained.permanent || Instant::now() >= deadline {
            return Err(unreachable_after(
                shown,
                explained,
                tries,
                started.elapsed(),
            ));
        }
        if tries == 1 {
            tracing::warn!(
                "waiting for PostgreSQL at {}: {}; trying again every 0.5 s for up to {} \
                 (CMS_DB_CONNECT_TIMEOUT_MS)",
                target(shown),
                explained.text,
                seconds(patience)
            );
        }
        tokio::time::sleep(Duration::from_millis(500).min(left)).await;
    }
}

/// `30 s`, `1.5 s`.
fn seconds(duration: Duration) -> String {
    let tenths = (duration.as_millis() + 50) / 100;
    if tenths.is_multiple_of(10) {
        format!("{} s", tenths / 10)
    } else {
        format!("{}.{} s", tenths / 10, tenths % 10)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_names_host_port_database_and_user_but_not_the_password() {
        let config: tokio_postgres::Config = "postgres://editor:s3cret@db.example:6543/news"
            .parse()
            .unwrap();
        let text = target(&config);
        assert_eq!(text, r#"db.example:6543, database "news", user "editor""#);
        assert!(!text.contains("s3cret"));
    }

    #[test]
    fn a_unix_socket_target_names_its_folder() {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path("/srv/cms/data/postgres")
            .port(5432)
            .user("postgres")
            .dbname("cms");
        assert_eq!(
            target(&config),
            r#"the socket in /srv/cms/data/postgres (port 5432), database "cms", user "postgres""#
        );
    }
}
