//! Structured logs via tracing: text for people, JSON for log shippers.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// What is logged unless `CMS_LOG` says otherwise: `info`, but not the HTTP
/// layer's complaints about malformed requests, which it answers with 400 itself
/// and logs at ERROR level (any client could fill the error log with them).
pub const DEFAULT_LOG_FILTER: &str = "info,actix_http::h1::dispatcher=off";

/// Installs the global subscriber. `CMS_LOG` (e.g. `debug`, `cms=debug,info`)
/// overrides [`DEFAULT_LOG_FILTER`].
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("CMS_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    // Colours only for a person at a terminal, not for files and log shippers.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}
