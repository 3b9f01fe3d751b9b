//! `cms token create|list|revoke`: tokens managed straight in the database (the
//! first admin token comes from here).

use clap::Subcommand;
use diesel_async::AsyncPgConnection;

use crate::auth::tokens::{self, NewToken};
use crate::auth::Scope;
use crate::config::Config;
use crate::db;
use crate::error::AppError;
use crate::startup::{database, prepare_database, stop, StartError};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (the only time its secret is shown).
    Create {
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// A scope: content:read, content:write or admin (repeat for several).
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// When it stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z).
        #[arg(long)]
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token, by id or prefix.
    Revoke {
        /// The token's id or prefix (cms_3f2a9c1b).
        token: String,
    },
}

/// Runs a token command on the configured database (starting the private
/// PostgreSQL for the time of the command when no server runs it).
pub async fn run(config: Config, command: TokenCommand) -> Result<(), StartError> {
    let (db_config, local) = database(&config)?;
    let result = async {
        prepare_database(&db_config, config.db_connect_timeout).await?;
        let mut conn = db::connect(&db_config).await?;
        run_command(&mut conn, command).await.map_err(refusal)
    }
    .await;
    stop(local).await?;
    result
}

/// What a refused command tells its user: each invalid field, or the detail.
fn refusal(error: AppError) -> StartError {
    StartError::Refused(match error {
        AppError::Validation(errors) => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.problem().detail,
    })
}

async fn run_command(conn: &mut AsyncPgConnection, command: TokenCommand) -> Result<(), AppError> {
    match command {
        TokenCommand::Create {
            name,
            scopes,
            expires_at,
        } => {
            let scopes = scopes
                .iter()
                .map(|s| {
                    Scope::parse(s).ok_or_else(|| {
                        AppError::validation(
                            "scope",
                            format!("`{s}` is not one of content:read, content:write, admin"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let created = tokens::create(
                conn,
                &NewToken {
                    name: name.into(),
                    scopes,
                    expires_at,
                },
            )
            .await?;
            println!("{}", created.secret);
            eprintln!(
                "Created token {} ({}) with scopes {}. This is the only time its secret is shown.",
                created.token.prefix,
                created.token.name,
                scope_list(&created.token.scopes)
            );
        }
        TokenCommand::List => {
            for token in tokens::list(conn).await? {
                let state = match (token.revoked_at, token.expires_at) {
                    (Some(_), _) => "revoked".to_string(),
                    (None, Some(at)) => format!("expires {}", at.to_rfc3339()),
                    (None, None) => "active".to_string(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    token.id,
                    token.prefix,
                    scope_list(&token.scopes),
                    state,
                    token.name
                );
            }
        }
        TokenCommand::Revoke { token } => {
            let revoked = tokens::revoke(conn, &token).await?;
            eprintln!("Revoked token {} ({}).", revoked.prefix, revoked.name);
        }
    }
    Ok(())
}

fn scope_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
