//! Preview links: a short-lived, signed URL through which anyone holding it (a
//! frontend rendering a preview) reads an article as editors see it, its pending
//! changes included, without a token. Signed with a key the database made once and
//! every replica shares; nothing is stored per link.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::pending;
use super::types::Article;
use crate::content::article_access::{key_matches, not_found, visible_to, ArticleKey, Audience};
use crate::db::schema::{articles, server_secrets};
use crate::error::{AppError, AppResult};

/// How long a link lives unless asked otherwise, and at most.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
pub const MAX_LIFETIME: Duration = Duration::from_secs(7 * 86_400);
/// The shortest lifetime a link may be given.
pub const MIN_LIFETIME: Duration = Duration::from_secs(60);

/// Bytes of the signature kept in a link (128 bits).
const SIGNATURE_LEN: usize = 16;
/// An article id, an expiry (seconds since the epoch) and a signature.
const TOKEN_LEN: usize = 16 + 8 + SIGNATURE_LEN;

/// A link's token and when it stops working.
#[derive(Debug, Clone)]
pub struct PreviewToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The lifetime a link is asked for, in seconds: [`DEFAULT_LIFETIME`] when none,
/// else within [`MIN_LIFETIME`] and [`MAX_LIFETIME`] (422 otherwise).
pub fn lifetime(seconds: Option<i32>) -> AppResult<Duration> {
    let Some(seconds) = seconds else {
        return Ok(DEFAULT_LIFETIME);
    };
    u64::try_from(seconds)
        .ok()
        .map(Duration::from_secs)
        .filter(|d| (MIN_LIFETIME..=MAX_LIFETIME).contains(d))
        .ok_or_else(|| {
            AppError::validation(
                "expires_in",
                format!(
                    "must be from {} to {} seconds",
                    MIN_LIFETIME.as_secs(),
                    MAX_LIFETIME.as_secs()
                ),
            )
        })
}

fn expired_or_forged() -> AppError {
    AppError::NotFound("This preview link is not valid, or it has expired.".into())
}

async fn signing_key(conn: &mut AsyncPgConnection) -> AppResult<Vec<u8>> {
    server_secrets::table
        .filter(server_secrets::name.eq("preview-links"))
        .select(server_secrets::secret)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::Internal("the preview-link key is missing".into()))
}

fn signature(key: &[u8], message: &[u8]) -> AppResult<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|_| AppError::Internal("unusable preview-link key".into()))?;
    mac.update(message);
    Ok(mac)
}

/// A link to the article `key` names, valid for `lifetime`.
pub async fn create(
    conn: &mut AsyncPgConnection,
    key: &ArticleKey,
    lifetime: Duration,
) -> AppResult<PreviewToken> {
    let id: Uuid = articles::table
        .filter(key_matches(key))
        .filter(visible_to(Audience::Editors))
        .select(articles::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    let lifetime = chrono::Duration::from_std(lifetime)
        .map_err(|_| AppError::Internal("lifetime out of range".into()))?;
    let expires_at = Utc::now() + lifetime;
    let mut message = Vec::with_capacity(TOKEN_LEN);
    message.extend_from_slice(id.as_bytes());
    message.extend_from_slice(&expires_at.timestamp().to_be_bytes());
    let key = signing_key(conn).await?;
    let signed = signature(&key, &message)?.finalize().into_bytes();
    message.extend_from_slice(&signed[..SIGNATURE_LEN]);
    Ok(PreviewToken {
        token: URL_SAFE_NO_PAD.encode(&message),
        expires_at: DateTime::from_timestamp(expires_at.timestamp(), 0).unwrap_or(expires_at),
    })
}

/// The article a link shows (its pending changes applied), when the link is
/// genuine and not expired; a 404 otherwise, the same whatever is wrong with it.
pub async fn open(conn: &mut AsyncPgConnection, token: &str) -> AppResult<Article> {
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .filter(|b| b.len() == TOKEN_LEN)
        .ok_or_else(expired_or_forged)?;
    let (message, signed) = bytes.split_at(16 + 8);
    let key = signing_key(conn).await?;
    signature(&key, message)?
        .verify_truncated_left(signed)
        .map_err(|_| expired_or_forged())?;
    let (id, expires) = message.split_at(16);
    let expires = i64::from_be_bytes(expires.try_into().map_err(|_| expired_or_forged())?);
    if expires <= Utc::now().timestamp() {
        return Err(expired_or_forged());
    }
    let id = Uuid::from_slice(id).map_err(|_| expired_or_forged())?;
    pending::preview(conn, id)
        .await
        .map_err(|error| match error {
            AppError::NotFound(_) => expired_or_forged(),
            other => other,
        })
}
