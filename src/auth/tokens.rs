//! API tokens: who may do what. A token is `cms_<prefix>_<secret>`; the prefix finds
//! the row and identifies the token in lists, the secret (256 random bits) is shown
//! once and stored only as its SHA-256 digest, compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Caller, Scope};
use crate::content::text::{self, Line};
use crate::db::schema::api_tokens;
use crate::error::{AppError, AppResult, FieldError};

/// A token as listed: never its secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub id: Uuid,
    pub name: String,
    /// Identifies the token: its first characters, `cms_<prefix>_...`.
    #[schema(example = "cms_3f2a9c1b")]
    pub prefix: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new token, with its secret: shown this once, never again.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewTokenCreated {
    #[serde(flatten)]
    pub token: Token,
    /// The bearer token to send as `Authorization: Bearer <token>`. Store it now:
    /// only its hash is kept.
    #[schema(example = "cms_3f2a9c1b_x7Jc...")]
    pub secret: String,
}

/// What a token is for.
pub type TokenName = Line<100>;

/// A request for a new token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, e.g. "newsroom frontend".
    pub name: TokenName,
    #[schema(min_items = 1, max_items = 3)]
    pub scopes: Vec<Scope>,
    /// When it stops working (default: never).
    #[serde(default)]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens, check_for_backend(diesel::pg::Pg))]
struct TokenRow {
    id: Uuid,
    name: String,
    prefix: String,
    secret_hash: Vec<u8>,
    /// `text[]`, whose elements PostgreSQL lets be NULL (as the schema says); the
    /// table's CHECK admits none, and [`TokenRow::scopes`] would skip one.
    scopes: Vec<Option<String>>,
    created_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    fn scopes(&self) -> Vec<Scope> {
        self.scopes
            .iter()
            .flatten()
            .filter_map(|s| Scope::parse(s))
            .collect()
    }

    fn into_token(self) -> Token {
        Token {
            scopes: self.scopes(),
            id: self.id,
            name: self.name,
            prefix: format!("cms_{}", self.prefix),
            created_at: self.created_at,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            revoked_at: self.revoked_at,
        }
    }
}

fn random_bytes<const N: usize>() -> AppResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::Internal(format!("no randomness available: {e}")))?;
    Ok(bytes)
}

fn digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Why a presented token does not authenticate anyone; all answer 401.
fn unauthorized(reason: &str) -> AppError {
    AppError::Unauthorized(format!("The bearer token {reason}."))
}

fn malformed() -> AppError {
    unauthorized("is malformed; tokens look like cms_<8 hex>_<43 characters>")
}

/// 401 unless the presented token has the shape of a token: checked before any
/// cache or database, so that junk costs nothing.
pub fn check_format(presented: &str) -> AppResult<()> {
    split_token(presented).map(|_| ()).ok_or_else(malformed)
}

/// Splits `cms_<prefix>_<secret>`.
fn split_token(presented: &str) -> Option<(&str, &str)> {
    let rest = presented.strip_prefix("cms_")?;
    let (prefix, secret) = rest.split_once('_')?;
    let prefix_ok = prefix.len() == 8 && prefix.bytes().all(|b| b.is_ascii_hexdigit());
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (prefix_ok && secret_ok).then_some((prefix, secret))
}

/// Checks a presented bearer token: one query, plus an update of `last_used_at`
/// at most once a minute.
pub async fn authenticate(conn: &mut AsyncPgConnection, presented: &str) -> AppResult<Caller> {
    let Some((prefix, _)) = split_token(presented) else {
        return Err(malformed());
    };
    let row: Option<TokenRow> = api_tokens::table
        .filter(api_tokens::prefix.eq(prefix))
        .select(TokenRow::as_select())
        .first(conn)
        .await
        .optional()?;
    // Compare digests in constant time; an unknown prefix compares against a dummy
    // so that both paths cost the same.
    let presented_digest = digest(presented);
    let stored = row.as_ref().map_or(&[0u8; 32][..], |r| &r.secret_hash[..]);
    let matches: bool = presented_digest.ct_eq(stored).into();
    let row = match row {
        Some(row) if matches => row,
        _ => return Err(unauthorized("is not valid")),
    };
    let now = Utc::now();
    if row.revoked_at.is_some() {
        return Err(unauthorized("has been revoked"));
    }
    if row.expires_at.is_some_and(|at| at <= now) {
        return Err(unauthorized("has expired"));
    }
    if row
        .last_used_at
        .is_none_or(|at| now.signed_duration_since(at).num_seconds() >= 60)
    {
        diesel::update(api_tokens::table.filter(api_tokens::id.eq(row.id)))
            .set(api_tokens::last_used_at.eq(now))
            .execute(conn)
            .await?;
    }
    Ok(Caller {
        token_id: Some(row.id),
        scopes: row.scopes(),
        expires_at: row.expires_at,
    })
}

/// Creates a token and returns it with its secret (the only time it is shown).
pub async fn create(conn: &mut AsyncPgConnection, input: &NewToken) -> AppResult<NewTokenCreated> {
    let mut errors = Vec::new();
    let name = input.name.check("name", &mut errors);
    if input.scopes.is_empty() {
        errors.push(FieldError::new("scopes", "must name at least one scope"));
    }
    if let Some(at) = input.expires_at {
        text::check_year("expires_at", at.year(), &mut errors);
        if at <= Utc::now() {
            errors.push(FieldError::new("expires_at", "must be in the future"));
        }
    }
    text::checked((), errors)?;
    let mut scopes: Vec<String> = input
        .scopes
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    scopes.sort();
    scopes.dedup();
    // A prefix clash (1 in 4 billion per pair) is retried with a new one.
    for _ in 0..3 {
        let prefix = hex(&random_bytes::<4>()?);
        let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
        let full = format!("cms_{prefix}_{secret}");
        let inserted = diesel::insert_into(api_tokens::table)
            .values((
                api_tokens::id.eq(Uuid::now_v7()),
                api_tokens::name.eq(&name),
                api_tokens::prefix.eq(&prefix),
                api_tokens::secret_hash.eq(digest(&full)),
                api_tokens::scopes.eq(&scopes),
                api_tokens::expires_at.eq(input.expires_at),
            ))
            .on_conflict(api_tokens::prefix)
            .do_nothing()
            .returning(TokenRow::as_returning())
            .get_result(conn)
            .await
            .optional()?;
        if let Some(row) = inserted {
            return Ok(NewTokenCreated {
                token: row.into_token(),
                secret: full,
            });
        }
    }
    Err(AppError::Internal(
        "could not find a free token prefix".into(),
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// All tokens, newest first (revoked ones too: they are the record of who did what).
pub async fn list(conn: &mut AsyncPgConnection) -> AppResult<Vec<Token>> {
    let rows: Vec<TokenRow> = api_tokens::table
        .order((api_tokens::created_at.desc(), api_tokens::id.desc()))
        .select(TokenRow::as_select())
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(TokenRow::into_token).collect())
}

/// How a token is named: by id, or by its prefix (`cms_3f2a9c1b` or `3f2a9c1b`).
fn find_filter(
    key: &str,
) -> Option<
    Box<
        dyn BoxableExpression<api_tokens::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>,
    >,
> {
    if let Ok(id) = Uuid::parse_str(key) {
        return Some(Box::new(api_tokens::id.eq(id)));
    }
    let prefix = key.strip_prefix("cms_").unwrap_or(key);
    let ok = prefix.len() == 8 && prefix.bytes().all(|b| b.is_ascii_hexdigit());
    ok.then(|| {
        Box::new(api_tokens::prefix.eq(prefix.to_ascii_lowercase()))
            as Box<dyn BoxableExpression<_, _, SqlType = _>>
    })
}

fn not_found() -> AppError {
    AppError::NotFound("No token has this id or prefix.".into())
}

/// One token, by id or prefix.
pub async fn find(conn: &mut AsyncPgConnection, key: &str) -> AppResult<Token> {
    let filter = find_filter(key).ok_or_else(not_found)?;
    api_tokens::table
        .filter(filter)
        .select(TokenRow::as_select())
        .first(conn)
        .await
        .optional()?
        .map(TokenRow::into_token)
        .ok_or_else(not_found)
}

/// Revokes a token: it stops working at once. Revoking twice changes nothing.
pub async fn revoke(conn: &mut AsyncPgConnection, key: &str) -> AppResult<Token> {
    let filter = find_filter(key).ok_or_else(not_found)?;
    let revoked: Option<TokenRow> = diesel::update(
        api_tokens::table
            .filter(filter)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(diesel::dsl::now))
    .returning(TokenRow::as_returning())
    .get_result(conn)
    .await
    .optional()?;
    match revoked {
        Some(row) => Ok(row.into_token()),
        // Already revoked (or unknown): report it as it is.
        None => find(conn, key).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_include_narrower_ones() {
        assert!(Scope::Admin.grants(Scope::ContentWrite));
        assert!(Scope::ContentWrite.grants(Scope::ContentRead));
        assert!(!Scope::ContentRead.grants(Scope::ContentWrite));
        assert!(!Scope::ContentWrite.grants(Scope::Admin));
    }

    #[test]
    fn only_well_formed_tokens_split() {
        let secret = "a".repeat(43);
        assert!(split_token(&format!("cms_0123abcd_{secret}")).is_some());
        assert!(split_token(&format!("cms_0123abcz_{secret}")).is_none());
        assert!(split_token("cms_0123abcd_short").is_none());
        assert!(split_token("Bearer whatever").is_none());
    }
}
