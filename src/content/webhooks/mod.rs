//! Webhooks: subscriptions (an admin's), their deliveries and every attempt, and
//! the SQL of both. Sending is in [`delivery`]; signing in [`signature`].

pub mod delivery;
pub mod signature;
mod target;

use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::content::events::EVENT_TYPES;
use crate::content::pagination::{into_page, PageRequest};
use crate::content::precondition::{EntityState, Write};
use crate::content::text::{self, Line};
use crate::db::schema::{events, webhook_attempts, webhook_deliveries, webhooks};
use crate::error::{AppError, AppResult, FieldError};
pub use target::{check_target, sendable, PublicOnly};

/// How webhooks are sent (from the `CMS_WEBHOOK_*` settings).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Whether targets may be private, loopback or link-local addresses (local
    /// development and tests); off, they are refused.
    pub allow_private_targets: bool,
    /// The longest an attempt may take, connection included.
    pub timeout: Duration,
    /// How long a delivery is retried before it is marked failed.
    pub retry_for: Duration,
    /// The wait before the first retry; each next one doubles (with jitter), up to
    /// an hour.
    pub first_retry_after: Duration,
    /// Deliveries failed for good in a row after which a webhook is disabled.
    pub disable_after_failures: i32,
    /// How often a server looks for deliveries that are due.
    pub poll_every: Duration,
    /// Whether this server sends deliveries at all.
    pub deliver: bool,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            allow_private_targets: false,
            timeout: Duration::from_secs(10),
            retry_for: Duration::from_secs(24 * 3600),
            first_retry_after: Duration::from_secs(5),
            disable_after_failures: 5,
            poll_every: Duration::from_millis(500),
            deliver: true,
        }
    }
}

impl WebhookSettings {
    /// How long a worker holds a delivery it took: past it (the worker died),
    /// another takes it again. An attempt is cut off at `timeout`; the rest is
    /// room to record it (a pool wait, a slow database).
    pub fn lease(&self) -> Duration {
        self.timeout * 2 + Duration::from_secs(10)
    }
}

pub type Description = Line<500>;

/// A subscription: where events go, and which.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Webhook {
    pub id: Uuid,
    /// Where events are posted (`http` or `https`).
    #[schema(example = "https://build.example.com/hooks/cms")]
    pub url: String,
    /// The event types sent; empty: every type.
    #[schema(example = json!(["article.published", "article.unpublished"]))]
    pub events: Vec<String>,
    /// Inactive webhooks get no deliveries.
    pub active: bool,
    pub description: Option<String>,
    /// Deliveries that failed for good in a row (reset by a success).
    pub failed_in_a_row: i32,
    /// Why the server disabled it, if it did (set `active` to start again).
    pub disabled_reason: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    pub fn state(&self) -> EntityState {
        EntityState {
            id: self.id,
            version: self.version,
            phase: "",
            context: 0,
        }
    }
}

/// A new webhook, with its signing secret: shown this once.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The signing secret (Standard Webhooks: `whsec_` and the base64 of the key).
    /// It is not shown again.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = webhooks, check_for_backend(diesel::pg::Pg))]
struct WebhookRow {
    id: Uuid,
    url: String,
    events: Vec<Option<String>>,
    active: bool,
    description: Option<String>,
    failed_in_a_row: i32,
    disabled_reason: Option<String>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<WebhookRow> for Webhook {
    fn from(row: WebhookRow) -> Webhook {
        Webhook {
            id: row.id,
            url: row.url,
            events: row.events.into_iter().flatten().collect(),
            active: row.active,
            description: row.description,
            failed_in_a_row: row.failed_in_a_row,
            disabled_reason: row.disabled_reason,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

/// A webhook to create.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    #[schema(example = "https://build.example.com/hooks/cms")]
    pub url: String,
    /// The event types to send; left out or empty: every type.
    #[serde(default)]
    #[schema(example = json!(["article.published", "article.unpublished"]))]
    pub events: Vec<String>,
    #[serde(default = "active_by_default")]
    #[schema(default = true)]
    pub active: bool,
    #[serde(default)]
    pub description: Option<Description>,
}

fn active_by_default() -> bool {
    true
}

/// Changes to a webhook; what is left out stays.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `true` starts a disabled webhook again (its failure count is reset).
    pub active: Option<bool>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "crate::content::serde_helpers::present")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub description: Option<Option<Description>>,
}

/// The most event types a webhook may name.
const MAX_EVENT_TYPES: usize = 20;

fn check_events(events: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if events.len() > MAX_EVENT_TYPES {
        errors.push(FieldError::new(
            "events",
            format!("at most {MAX_EVENT_TYPES} event types"),
        ));
        return Vec::new();
    }
    let mut kept: Vec<String> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        if !EVENT_TYPES.contains(&event.as_str()) {
            errors.push(FieldError::new(
                format!("events[{i}]"),
                format!("is not an event type; one of {}", EVENT_TYPES.join(", ")),
            ));
        } else if !kept.contains(event) {
            kept.push(event.clone());
        }
    }
    kept
}

fn not_found() -> AppError {
    AppError::NotFound("No webhook has this id.".into())
}

/// Creates a webhook with a new signing secret.
pub async fn create(
    conn: &mut AsyncPgConnection,
    input: &NewWebhook,
    settings: &WebhookSettings,
) -> AppResult<CreatedWebhook> {
    let mut errors = Vec::new();
    let events = check_events(&input.events, &mut errors);
    let description = input
        .description
        .as_ref()
        .map(|d| d.check("description", &mut errors));
    text::checked((), errors)?;
    let url = check_target(&input.url, settings.allow_private_targets).await?;
    let secret = signature::new_secret()?;
    let row: WebhookRow = diesel::insert_into(webhooks::table)
        .values((
            webhooks::id.eq(Uuid::now_v7()),
            webhooks::url.eq(&url),
            webhooks::events.eq(&events),
            webhooks::active.eq(input.active),
            webhooks::secret.eq(&secret),
            webhooks::description.eq(description),
        ))
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await?;
    Ok(CreatedWebhook {
        webhook: row.into(),
        secret,
    })
}

/// Every webhook, oldest first (there are few).
pub async fn list(conn: &mut AsyncPgConnection) -> AppResult<Vec<Webhook>> {
    let rows: Vec<WebhookRow> = webhooks::table
        .select(WebhookRow::as_select())
        .order((webhooks::created_at, webhooks::id))
        .limit(1000)
        .load(conn)
        .await?;
    Ok(rows.into_iter().map(Webhook::from).collect())
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> AppResult<Webhook> {
    let row: WebhookRow = webhooks::table
        .find(id)
        .select(WebhookRow::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or_else(not_found)?;
    Ok(row.into())
}

/// Changes a webhook, if the precondition holds.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    patch: &WebhookPatch,
    settings: &WebhookSettings,
    write: &Write,
) -> AppResult<Webhook> {
    let mut errors = Vec::new();
    let events = patch
        .events
        .as_ref()
        .map(|events| check_events(events, &mut errors));
    let description = patch
        .description
        .as_ref()
        .map(|d| d.as_ref().map(|d| d.check("description", &mut errors)));
    text::checked((), errors)?;
    let url = match &patch.url {
        Some(url) => Some(check_target(url, settings.allow_private_targets).await?),
        None => None,
    };
    conn.transaction::<_, AppError, _>(async |conn| {
        let current: Webhook = webhooks::table
            .find(id)
            .select(WebhookRow::as_select())
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(not_found)?
            .into();
        write.precondition.check(&current.state())?;
        let restarted = patch.active == Some(true) && !current.active;
        let row: WebhookRow = diesel::update(webhooks::table.find(id))
            .set((
                webhooks::url.eq(url.unwrap_or(current.url)),
                webhooks::events.eq(events.unwrap_or(current.events)),
                webhooks::active.eq(patch.active.unwrap_or(current.active)),
                webhooks::description.eq(description.unwrap_or(current.description)),
                webhooks::failed_in_a_row.eq(if restarted {
                    0
                } else {
                    current.failed_in_a_row
                }),
                webhooks::disabled_reason.eq(if restarted {
                    None
                } else {
                    current.disabled_reason
                }),
                webhooks::version.eq(webhooks::version + 1),
                webhooks::updated_at.eq(diesel::dsl::now),
            ))
            .returning(WebhookRow::as_returning())
            .get_result(conn)
            .await?;
        if row.active {
            unpark(conn, id).await?;
        } else {
            park_if_inactive(conn, id).await?;
        }
        Ok(row.into())
    })
    .await
}

/// When deliveries of a webhook that is not active wait: far ahead, so that the
/// workers' scan of due deliveries never meets them.
const PARKED: &str = "'9999-01-01 00:00:00+00'";

/// Parks the pending deliveries of a webhook that is not active (any more).
pub(crate) async fn park_if_inactive(conn: &mut AsyncPgConnection, webhook: Uuid) -> AppResult<()> {
    diesel::sql_query(format!(
        "UPDATE webhook_deliveries d SET next_attempt_at = {PARKED}::timestamptz \
         FROM webhooks w WHERE w.id = $1 AND NOT w.active AND d.webhook_id = w.id \
           AND d.status = 'pending'"
    ))
    .bind::<diesel::sql_types::Uuid, _>(webhook)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sends the parked deliveries of a webhook made active again, now, each retried
/// for a whole retry period from now.
async fn unpark(conn: &mut AsyncPgConnection, webhook: Uuid) -> AppResult<()> {
    diesel::sql_query(format!(
        "UPDATE webhook_deliveries SET next_attempt_at = now(), retry_from = now() \
         WHERE webhook_id = $1 AND status = 'pending' \
           AND next_attempt_at >= {PARKED}::timestamptz"
    ))
    .bind::<diesel::sql_types::Uuid, _>(webhook)
    .execute(conn)
    .await?;
    Ok(())
}

/// Deletes a webhook and its deliveries, if the precondition holds.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid, write: &Write) -> AppResult<()> {
    conn.transaction::<_, AppError, _>(async |conn| {
        let current = find(conn, id).await?;
        write.precondition.check(&current.state())?;
        diesel::delete(webhooks::table.find(id))
            .execute(conn)
            .await?;
        Ok(())
    })
    .await
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not sent yet, or to be retried.
    Pending,
    Succeeded,
    /// Retried for the whole retry period without success.
    Failed,
}

impl DeliveryStatus {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    fn parse(value: &str) -> DeliveryStatus {
        match value {
            "succeeded" => DeliveryStatus::Succeeded,
            "failed" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        }
    }
}

/// One attempt to deliver.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Attempt {
    /// 1 for the first.
    pub number: i32,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's status code; `null` when there was no answer.
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The start of the receiver's answer (at most 1,000 characters).
    pub response_excerpt: Option<String>,
    /// Why there was no answer (timeout, refused connection, …).
    pub error: Option<String>,
}

/// One event sent (or to be sent) to one webhook, with every attempt.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    /// The event's id: the `webhook-id` header, the same on every attempt (a
    /// receiver deduplicates by it).
    pub event_id: Uuid,
    #[schema(example = "article.published")]
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: Vec<Attempt>,
    /// When it is tried next (pending ones).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a delivery is read as (with its event's id and type).
const DELIVERY_COLUMNS: (
    webhook_deliveries::id,
    webhook_deliveries::webhook_id,
    events::id,
    events::type_,
    webhook_deliveries::status,
    webhook_deliveries::next_attempt_at,
    webhook_deliveries::created_at,
    webhook_deliveries::updated_at,
) = (
    webhook_deliveries::id,
    webhook_deliveries::webhook_id,
    events::id,
    events::type_,
    webhook_deliveries::status,
    webhook_deliveries::next_attempt_at,
    webhook_deliveries::created_at,
    webhook_deliveries::updated_at,
);

type DeliveryRow = (
    Uuid,
    Uuid,
    Uuid,
    String,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
);

/// A webhook's deliveries, newest first (optionally only those in `status`), each
/// with its attempts: two queries.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    webhook: Uuid,
    status: Option<DeliveryStatus>,
    page: &PageRequest<(DateTime<Utc>, Uuid)>,
) -> AppResult<(Vec<Delivery>, Option<String>)> {
    find(conn, webhook).await?;
    let mut query = webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(page.limit + 1)
        .select(DELIVERY_COLUMNS)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(webhook_deliveries::status.eq(status.as_str()));
    }
    if let Some((at, id)) = page.after {
        query = query.filter(
            webhook_deliveries::created_at
                .lt(at)
                .or(webhook_deliveries::created_at
                    .eq(at)
                    .and(webhook_deliveries::id.lt(id))),
        );
    }
    let rows: Vec<DeliveryRow> = query.load(conn).await?;
    let items = with_attempts(conn, rows).await?;
    Ok(into_page(items, page.limit, |d: &Delivery| {
        (d.created_at, d.id)
    }))
}

/// (delivery, number, attempted at, status code, latency, excerpt, error)
type AttemptRow = (
    Uuid,
    i32,
    DateTime<Utc>,
    Option<i32>,
    i32,
    Option<String>,
    Option<String>,
);

async fn with_attempts(
    conn: &mut AsyncPgConnection,
    rows: Vec<DeliveryRow>,
) -> AppResult<Vec<Delivery>> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let attempts: Vec<AttemptRow> = webhook_attempts::table
        .filter(webhook_attempts::delivery_id.eq_any(&ids))
        .order((webhook_attempts::delivery_id, webhook_attempts::number))
        .select((
            webhook_attempts::delivery_id,
            webhook_attempts::number,
            webhook_attempts::attempted_at,
            webhook_attempts::status_code,
            webhook_attempts::latency_ms,
            webhook_attempts::response_excerpt,
            webhook_attempts::error,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, webhook_id, event_id, event_type, status, next, created_at, updated_at)| {
                let status = DeliveryStatus::parse(&status);
                Delivery {
                    id,
                    webhook_id,
                    event_id,
                    event_type,
                    status,
                    attempts: attempts
                        .iter()
                        .filter(|a| a.0 == id)
                        .map(|a| Attempt {
                            number: a.1,
                            attempted_at: a.2,
                            status_code: a.3,
                            latency_ms: a.4,
                            response_excerpt: a.5.clone(),
                            error: a.6.clone(),
                        })
                        .collect(),
                    // Parked ones wait for their webhook, not for a time.
                    next_attempt_at: (status == DeliveryStatus::Pending && next.year() < 9000)
                        .then_some(next),
                    created_at,
                    updated_at,
                }
            },
        )
        .collect())
}

/// Sends a delivery again, now, whatever became of it: it is pending again and is
/// retried for a whole retry period from now (its attempts are kept).
pub async fn redeliver(
    conn: &mut AsyncPgConnection,
    webhook: Uuid,
    delivery: Uuid,
) -> AppResult<Delivery> {
    let updated = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(delivery))
            .filter(webhook_deliveries::webhook_id.eq(webhook)),
    )
    .set((
        webhook_deliveries::status.eq("pending"),
        webhook_deliveries::next_attempt_at.eq(diesel::dsl::now),
        webhook_deliveries::retry_from.eq(diesel::dsl::now),
        webhook_deliveries::updated_at.eq(diesel::dsl::now),
    ))
    .execute(conn)
    .await?;
    if updated == 0 {
        return Err(AppError::NotFound(
            "This webhook has no delivery with this id.".into(),
        ));
    }
    let rows: Vec<DeliveryRow> = webhook_deliveries::table
        .inner_join(events::table)
        .filter(webhook_deliveries::id.eq(delivery))
        .select(DELIVERY_COLUMNS)
        .load(conn)
        .await?;
    with_attempts(conn, rows)
        .await?
        .pop()
        .ok_or_else(|| AppError::NotFound("This webhook has no delivery with this id.".into()))
}
