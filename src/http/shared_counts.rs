//! Rate-limit counts shared by replicas through Redis (`CMS_REDIS_URL`): the same
//! GCRA as the in-process limiter, run as one Lua script per request so that it is
//! atomic, on Redis' clock so that replicas' clocks need not agree.
//!
//! When Redis cannot answer within [`SharedCounts::PATIENCE`], the request is
//! counted in this process instead (and a warning logged at most once a minute):
//! a Redis outage weakens the limit to per-replica, it never stops the service.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// GCRA: KEYS[1] holds the theoretical arrival time (µs); ARGV: emission interval
/// (µs), burst. Returns {allowed, remaining, µs until reset or retry}.
const GCRA: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local allow_at = tat - (burst - 1) * interval
if now < allow_at then
  return {0, 0, allow_at - now}
end
local new_tat = tat + interval
redis.call('SET', KEYS[1], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1)
return {1, math.floor((now + burst * interval - new_tat) / interval), new_tat - now}
";

/// What Redis decided for one request.
pub struct SharedDecision {
    pub allowed: bool,
    pub remaining: u32,
    /// Until the whole allowance is back, or (refused) until a retry is let in.
    pub wait: Duration,
}

/// A connection to Redis, opened lazily and reopened after failures.
pub struct SharedCounts {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    connection: Mutex<Option<ConnectionManager>>,
    last_attempt: Mutex<Option<Instant>>,
    last_warning: Mutex<Option<Instant>>,
}

impl SharedCounts {
    /// How long a request waits for Redis before counting locally.
    pub const PATIENCE: Duration = Duration::from_millis(100);

    /// Counts through the Redis at `url`, under keys starting with `prefix`.
    pub fn new(url: &str, prefix: &str) -> Result<SharedCounts, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid Redis URL: {e}"))?;
        Ok(SharedCounts {
            client,
            prefix: prefix.to_string(),
            script: redis::Script::new(GCRA),
            connection: Mutex::new(None),
            last_attempt: Mutex::new(None),
            last_warning: Mutex::new(None),
        })
    }

    async fn connection(&self) -> Option<ConnectionManager> {
        if let Some(connection) = lock(&self.connection).clone() {
            return Some(connection);
        }
        // One attempt a second at most, so that an absent Redis costs little.
        {
            let mut last = lock(&self.last_attempt);
            if last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)) {
                return None;
            }
            *last = Some(Instant::now());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Self::PATIENCE))
            .set_response_timeout(Some(Self::PATIENCE))
            .set_number_of_retries(1);
        let connecting = self.client.get_connection_manager_with_config(config);
        let connection = self.answer(tokio::time::timeout(Self::PATIENCE * 2, connecting).await)?;
        *lock(&self.connection) = Some(connection.clone());
        Some(connection)
    }

    /// Counts one request against `key`'s allowance of `burst` requests, refilled
    /// one every `interval`; `None` when Redis cannot answer in time.
    pub async fn check(&self, key: &str, burst: u32, interval: Duration) -> Option<SharedDecision> {
        let mut connection = self.connection().await?;
        let mut invocation = self.script.key(format!("{}{key}", self.prefix));
        invocation
            .arg(interval.as_micros().max(1) as u64)
            .arg(burst);
        let invocation = invocation.invoke_async::<(i64, i64, i64)>(&mut connection);
        let (allowed, remaining, wait) =
            self.answer(tokio::time::timeout(Self::PATIENCE, invocation).await)?;
        Some(SharedDecision {
            allowed: allowed == 1,
            remaining: u32::try_from(remaining.max(0)).unwrap_or(0),
            wait: Duration::from_micros(u64::try_from(wait.max(0)).unwrap_or(0)),
        })
    }

    /// Redis' answer, if it gave one in time (else a warning, and `None`).
    fn answer<T>(
        &self,
        outcome: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> Option<T> {
        match outcome {
            Ok(Ok(value)) => Some(value),
            Ok(Err(e)) => {
                self.warn(&e.to_string());
                None
            }
            Err(_) => {
                self.warn("no answer in time");
                None
            }
        }
    }

    fn warn(&self, error: &str) {
        let mut last = lock(&self.last_warning);
        if last.is_none_or(|at| at.elapsed() >= Duration::from_secs(60)) {
            *last = Some(Instant::now());
            tracing::warn!(
                error,
                "Redis is unavailable: rate limits are counted in this process until it is back"
            );
        }
    }
}

/// A poisoned lock only means another request panicked while holding it; the
/// value is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
