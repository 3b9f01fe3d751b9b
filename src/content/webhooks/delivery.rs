//! Sending deliveries: every server runs this worker. A worker takes due
//! deliveries with `FOR UPDATE SKIP LOCKED` and moves each past a lease before it
//! sends it, so servers never send the same delivery at once, and one killed
//! mid-delivery leaves it to be taken again when the lease is over (at least once;
//! receivers deduplicate by `webhook-id`, the event's id). Failures are retried
//! with exponential backoff and jitter for the retry period, then marked failed;
//! a webhook whose deliveries keep failing is disabled.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Bool, Integer, Interval, Nullable, Text, Timestamptz};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use std::sync::Arc;

use tokio::sync::Semaphore;

use super::{sendable, signature, PublicOnly, WebhookSettings};
use crate::content::events::ResourceType;
use crate::content::pagination::encode_cursor;
use crate::db::DbPool;
use crate::error::{AppError, AppResult};

/// The longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How much of a receiver's answer is kept, in bytes read and characters kept.
const EXCERPT_BYTES: usize = 4096;
const EXCERPT_CHARS: usize = 1000;

/// What a webhook receives: the Standard Webhooks shape. The representation is
/// not in it: fetch it (`data.url`), or follow the change feed from `data.cursor`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    #[serde(rename = "type")]
    #[schema(example = "article.published")]
    pub kind: String,
    /// When the change was committed.
    pub timestamp: DateTime<Utc>,
    pub data: WebhookData,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookData {
    /// The resource's id.
    pub id: Uuid,
    pub resource: ResourceType,
    pub slug: String,
    /// The resource's version after the change.
    pub version: Option<i32>,
    /// The resource in the API (root-relative).
    #[schema(example = "/api/v1/articles/0192f0c4-8e1a-7d2b-9c3e-4f5a6b7c8d9e")]
    pub url: String,
    /// The change feed's cursor just before this change: `GET
    /// /api/v1/changes?cursor=` with it starts at this change.
    pub cursor: String,
    /// The surrogate keys (`Surrogate-Key`, `Cache-Tag`) of the cached answers
    /// this change makes stale: purge them from a CDN.
    #[schema(example = json!(["article-0192f0c4-8e1a-7d2b-9c3e-4f5a6b7c8d9e", "articles"]))]
    pub surrogate_keys: Vec<String>,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    delivery_id: Uuid,
    #[diesel(sql_type = Integer)]
    attempt: i32,
    #[diesel(sql_type = Bool)]
    out_of_time: bool,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    webhook_id: Uuid,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    secret: String,
    #[diesel(sql_type = BigInt)]
    seq: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    event_id: Uuid,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    resource_type: String,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    resource_id: Uuid,
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Nullable<Integer>)]
    version: Option<i32>,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
}

impl Claimed {
    fn payload(&self) -> WebhookPayload {
        // The resource, its collection (in URLs and the lists' surrogate key), and
        // its own surrogate key's prefix.
        let (resource, collection, key) = match self.resource_type.as_str() {
            "tag" => (ResourceType::Tag, "tags", "tag"),
            _ => (ResourceType::Article, "articles", "article"),
        };
        WebhookPayload {
            kind: self.event_type.clone(),
            timestamp: self.created_at,
            data: WebhookData {
                id: self.resource_id,
                resource,
                slug: self.slug.clone(),
                version: self.version,
                url: format!("/api/v1/{collection}/{}", self.resource_id),
                cursor: encode_cursor(&(self.seq - 1)),
                surrogate_keys: vec![
                    format!("{key}-{}", self.resource_id),
                    collection.to_string(),
                ],
            },
        }
    }
}

/// What one attempt came to.
struct Outcome {
    status_code: Option<i32>,
    latency: Duration,
    excerpt: Option<String>,
    error: Option<String>,
}

impl Outcome {
    fn succeeded(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

/// How many deliveries one server sends at once.
const SENDERS: usize = 10;

/// Runs for as long as the process does: every `poll_every`, takes due deliveries
/// for its free senders and sends each on a task of its own (a slow receiver
/// holds one sender, not the others).
pub async fn run(pool: DbPool, settings: WebhookSettings) {
    let mut client = reqwest::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("cms-webhooks/", env!("CARGO_PKG_VERSION")));
    if !settings.allow_private_targets {
        client = client.dns_resolver(Arc::new(PublicOnly));
    }
    let client = match client.build() {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "no HTTP client: webhooks will not be sent");
            return;
        }
    };
    let senders = Arc::new(Semaphore::new(SENDERS));
    let mut every = tokio::time::interval(settings.poll_every);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // Take work until no more is due or every sender is busy.
        loop {
            let free = senders.available_permits();
            if free == 0 {
                break;
            }
            let claimed = match pool.get().await {
                Ok(mut conn) => claim(&mut conn, &settings, free as i64).await,
                Err(error) => Err(error.into()),
            };
            let claimed = match claimed {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::debug!(%error, "webhook deliveries: trying again later");
                    break;
                }
            };
            let taken = claimed.len();
            for delivery in claimed {
                let Ok(sender) = senders.clone().try_acquire_owned() else {
                    break;
                };
                let (pool, client, settings) = (pool.clone(), client.clone(), settings.clone());
                tokio::spawn(async move {
                    let _sender = sender;
                    send(&pool, &client, &settings, &delivery).await;
                });
            }
            if taken < free {
                break;
            }
        }
    }
}

/// One attempt, recorded. An attempt is cut off at the timeout, whatever it
/// waits for (a name lookup included), so that it ends within the lease.
async fn send(
    pool: &DbPool,
    client: &reqwest::Client,
    settings: &WebhookSettings,
    delivery: &Claimed,
) {
    let started = Instant::now();
    let outcome =
        match tokio::time::timeout(settings.timeout, attempt(client, settings, delivery)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome {
                status_code: None,
                latency: started.elapsed(),
                excerpt: None,
                error: Some("timed out".into()),
            },
        };
    let recorded = match pool.get().await {
        Ok(mut conn) => record(&mut conn, settings, delivery, &outcome).await,
        Err(error) => Err(error.into()),
    };
    if let Err(error) = recorded {
        tracing::warn!(%error, "a webhook attempt could not be recorded; it is retried");
    }
}

/// Takes due deliveries of active webhooks: each moved past the lease and its
/// attempt counted, in one statement.
async fn claim(
    conn: &mut AsyncPgConnection,
    settings: &WebhookSettings,
    limit: i64,
) -> AppResult<Vec<Claimed>> {
    let claimed = diesel::sql_query(
        "WITH due AS ( \
           SELECT d.id FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id \
           WHERE d.status = 'pending' AND d.next_attempt_at <= now() AND w.active \
           ORDER BY d.next_attempt_at LIMIT $1 \
           FOR UPDATE OF d SKIP LOCKED) \
         UPDATE webhook_deliveries d \
         SET next_attempt_at = now() + $2, attempts = d.attempts + 1, updated_at = now() \
         FROM due, webhooks w, events e \
         WHERE d.id = due.id AND w.id = d.webhook_id AND e.seq = d.event_seq \
         RETURNING d.id AS delivery_id, d.attempts AS attempt, \
           now() > d.retry_from + $3 AS out_of_time, w.id AS webhook_id, w.url, w.secret, \
           e.seq, e.id AS event_id, e.type AS event_type, e.resource_type, e.resource_id, \
           e.slug, e.version, e.created_at",
    )
    .bind::<BigInt, _>(limit)
    .bind::<Interval, _>(interval(settings.lease()))
    .bind::<Interval, _>(interval(settings.retry_for))
    .load(conn)
    .await?;
    Ok(claimed)
}

fn interval(duration: Duration) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(
        i64::try_from(duration.as_micros()).unwrap_or(i64::MAX),
    )
}

/// Posts the event, signed; what came of it.
async fn attempt(
    client: &reqwest::Client,
    settings: &WebhookSettings,
    delivery: &Claimed,
) -> Outcome {
    let started = Instant::now();
    let failed = |error: String| Outcome {
        status_code: None,
        latency: started.elapsed(),
        excerpt: None,
        error: Some(error),
    };
    // The allowed addresses may have changed since the webhook was written (a
    // name is checked as the client resolves it: `PublicOnly`).
    if !sendable(&delivery.url, settings.allow_private_targets) {
        return failed("target refused: not a public address".into());
    }
    let body = match serde_json::to_vec(&delivery.payload()) {
        Ok(body) => body,
        Err(error) => return failed(format!("payload: {error}")),
    };
    let id = delivery.event_id.to_string();
    let timestamp = Utc::now().timestamp();
    let signature = match signature::sign(&delivery.secret, &id, timestamp, &body) {
        Ok(signature) => signature,
        Err(error) => return failed(error.to_string()),
    };
    let sent = client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(error) => return failed(describe(&error)),
    };
    let status_code = Some(i32::from(response.status().as_u16()));
    // Only the start of the answer is read: a receiver cannot hold the worker
    // or its memory with a long one.
    let mut read = Vec::new();
    while read.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let excerpt: String = String::from_utf8_lossy(&read)
        .chars()
        .take(EXCERPT_CHARS)
        .collect();
    Outcome {
        status_code,
        latency: started.elapsed(),
        excerpt: (!excerpt.is_empty()).then_some(excerpt),
        error: None,
    }
}

/// A failed request in a few words (no internal detail of ours).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
    }
}

/// Keeps the attempt and decides what follows: done, a retry after a backoff, or
/// (out of time) failed for good, which may disable the webhook.
async fn record(
    conn: &mut AsyncPgConnection,
    settings: &WebhookSettings,
    delivery: &Claimed,
    outcome: &Outcome,
) -> AppResult<()> {
    use diesel_async::AsyncConnection;
    let latency_ms = i32::try_from(outcome.latency.as_millis()).unwrap_or(i32::MAX);
    let retry_in = backoff(settings.first_retry_after, delivery.attempt);
    let succeeded = outcome.succeeded();
    conn.transaction::<_, AppError, _>(async |conn| {
        diesel::sql_query(
            "INSERT INTO webhook_attempts (delivery_id, number, attempted_at, status_code, \
               latency_ms, response_excerpt, error) \
             VALUES ($1, $2, now(), $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind::<diesel::sql_types::Uuid, _>(delivery.delivery_id)
        .bind::<Integer, _>(delivery.attempt)
        .bind::<Nullable<Integer>, _>(outcome.status_code)
        .bind::<Integer, _>(latency_ms)
        .bind::<Nullable<Text>, _>(outcome.excerpt.as_deref())
        .bind::<Nullable<Text>, _>(outcome.error.as_deref())
        .execute(conn)
        .await?;
        if succeeded {
            diesel::sql_query(
                "UPDATE webhook_deliveries SET status = 'succeeded', updated_at = now() \
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind::<diesel::sql_types::Uuid, _>(delivery.delivery_id)
            .execute(conn)
            .await?;
            diesel::sql_query(
                "UPDATE webhooks SET failed_in_a_row = 0 WHERE id = $1 AND failed_in_a_row > 0",
            )
            .bind::<diesel::sql_types::Uuid, _>(delivery.webhook_id)
            .execute(conn)
            .await?;
        } else if delivery.out_of_time {
            // Unless another worker took it again meanwhile (a lease ran out).
            let failed = diesel::sql_query(
                "UPDATE webhook_deliveries SET status = 'failed', updated_at = now() \
                 WHERE id = $1 AND attempts = $2 AND status = 'pending'",
            )
            .bind::<diesel::sql_types::Uuid, _>(delivery.delivery_id)
            .bind::<Integer, _>(delivery.attempt)
            .execute(conn)
            .await?;
            if failed == 0 {
                return Ok(());
            }
            diesel::sql_query(
                "UPDATE webhooks SET failed_in_a_row = failed_in_a_row + 1, \
                   active = active AND failed_in_a_row + 1 < $2, \
                   disabled_reason = CASE WHEN active AND failed_in_a_row + 1 >= $2 \
                     THEN $3 ELSE disabled_reason END, \
                   updated_at = now(), version = version + 1 \
                 WHERE id = $1",
            )
            .bind::<diesel::sql_types::Uuid, _>(delivery.webhook_id)
            .bind::<Integer, _>(settings.disable_after_failures)
            .bind::<Text, _>(format!(
                "disabled after {} deliveries in a row failed for good",
                settings.disable_after_failures
            ))
            .execute(conn)
            .await?;
            super::park_if_inactive(conn, delivery.webhook_id).await?;
        } else {
            diesel::sql_query(
                "UPDATE webhook_deliveries SET next_attempt_at = now() + $2, updated_at = now() \
                 WHERE id = $1 AND attempts = $3 AND status = 'pending'",
            )
            .bind::<diesel::sql_types::Uuid, _>(delivery.delivery_id)
            .bind::<Interval, _>(interval(retry_in))
            .bind::<Integer, _>(delivery.attempt)
            .execute(conn)
            .await?;
        }
        Ok(())
    })
    .await?;
    if !succeeded {
        tracing::info!(
            delivery = %delivery.delivery_id,
            webhook = %delivery.webhook_id,
            attempt = delivery.attempt,
            status = ?outcome.status_code,
            error = ?outcome.error,
            "a webhook attempt failed"
        );
    }
    Ok(())
}

/// The wait before retry `attempt + 1`: `first` doubled per attempt, up to an hour,
/// then a random share of it between a half and the whole (jitter, so that the
/// retries of many deliveries spread out).
fn backoff(first: Duration, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let full = first.saturating_mul(1 << doublings).min(MAX_BACKOFF);
    let mut byte = [0u8; 1];
    let share = match getrandom::fill(&mut byte) {
        Ok(()) => 0.5 + f64::from(byte[0]) / 510.0,
        Err(_) => 0.75,
    };
    full.mul_f64(share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_an_hour() {
        let first = Duration::from_secs(5);
        for attempt in 1..40 {
            let wait = backoff(first, attempt);
            let full = first
                .saturating_mul(1 << (attempt - 1).min(20))
                .min(MAX_BACKOFF);
            assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
        }
    }
}
