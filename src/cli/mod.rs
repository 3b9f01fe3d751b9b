//! The `cms` command line: the binary's edge, where errors become messages and
//! exit codes.

mod token;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat};
use token::TokenCommand;

#[derive(Debug, Parser)]
#[command(name = "cms", version, about = "A headless CMS for editorial content")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default). Configuration comes from the environment.
    Serve,
    /// Create the database if needed and apply pending migrations, then exit.
    Migrate,
    /// Print the OpenAPI document (what openapi/openapi.json must hold).
    Openapi,
    /// Manage API tokens (the first admin token comes from here).
    #[command(subcommand)]
    Token(TokenCommand),
}

/// Parses the command line and runs the chosen command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", crate::openapi::spec_json());
        return ExitCode::SUCCESS;
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            crate::telemetry::init(LogFormat::Text);
            tracing::error!("{e}");
            eprintln!("cms: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(config.log_format);
    let result = actix_web::rt::System::new().block_on(async move {
        match command {
            Command::Migrate => crate::startup::migrate(config).await,
            Command::Token(command) => token::run(config, command).await,
            _ => crate::startup::serve(config).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error}");
            eprintln!("cms: {error}");
            ExitCode::FAILURE
        }
    }
}
