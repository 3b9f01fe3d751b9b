//! Who is calling and what they may do: the caller of a request (anonymous, or the
//! holder of a token with scopes), and the API tokens that identify callers. Kept
//! apart from the content domain, which only asks what a caller may see.

pub mod tokens;

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::articles::Audience;
use crate::error::{AppError, AppResult};

/// What a token may do. `admin` includes the others; `content:write` includes
/// `content:read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// Read drafts, scheduled, archived content: everything.
    #[serde(rename = "content:read")]
    ContentRead,
    /// Write content.
    #[serde(rename = "content:write")]
    ContentWrite,
    /// Manage tokens (and everything else).
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ContentRead => "content:read",
            Scope::ContentWrite => "content:write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Scope> {
        match value {
            "content:read" => Some(Scope::ContentRead),
            "content:write" => Some(Scope::ContentWrite),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// Whether holding `self` grants `wanted`.
    pub fn grants(self, wanted: Scope) -> bool {
        match self {
            Scope::Admin => true,
            Scope::ContentWrite => matches!(wanted, Scope::ContentWrite | Scope::ContentRead),
            Scope::ContentRead => wanted == Scope::ContentRead,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who is calling: nobody in particular, or the holder of a valid token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub token_id: Option<Uuid>,
    scopes: Vec<Scope>,
    /// When the token stops working, if it ever does.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller::default()
    }

    pub fn is_anonymous(&self) -> bool {
        self.token_id.is_none()
    }

    /// Whether the caller holds `scope` (directly or through a broader one).
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.iter().any(|held| held.grants(scope))
    }

    /// Requires `scope`: 401 for an anonymous caller, 403 for a token without it.
    pub fn require(&self, scope: Scope) -> AppResult<()> {
        if self.has(scope) {
            Ok(())
        } else if self.is_anonymous() {
            Err(AppError::Unauthorized(format!(
                "This needs a token with the `{scope}` scope: send `Authorization: Bearer <token>`."
            )))
        } else {
            Err(AppError::Forbidden(format!(
                "This token does not have the `{scope}` scope."
            )))
        }
    }

    /// Whether the caller may see content that is not public (drafts and the like).
    pub fn sees_unpublished(&self) -> bool {
        self.has(Scope::ContentRead)
    }
}

impl Caller {
    /// The holder of token `token_id` with these scopes.
    pub fn token(token_id: Uuid, scopes: Vec<Scope>, expires_at: Option<DateTime<Utc>>) -> Caller {
        Caller {
            token_id: Some(token_id),
            scopes,
            expires_at,
        }
    }

    /// What the caller may read.
    pub fn audience(&self) -> Audience {
        if self.sees_unpublished() {
            Audience::Editors
        } else {
            Audience::Public
        }
    }
}
