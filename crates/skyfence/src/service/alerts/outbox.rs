//! The delivery task of one sink: the store's event log is the outbox, the sink's
//! delivery cursor is its position in it (issue 7: "delivery from a durable outbox in
//! the store with exponential backoff — at-least-once across restarts").
//!
//! In order, for each event after the cursor: an event the rule does not match only
//! moves the cursor; a matching one is tried until the sink accepts it (cursor moves),
//! it is refused for good, or its first attempt is older than `dead_letter_after` (dead
//! letter, cursor moves). Failed attempts are stored, so attempt counts and the age that
//! decides dead-lettering go on across restarts. Dead letters an operator asked to
//! retry are tried before the next new event. The task only ever blocks itself: store
//! calls run on the blocking pool with the task's own connection.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skyfence_core::Timestamp;
use skyfence_store::{DeadLetter, IncidentStore, SqliteStore, StoreError, StoredEvent};
use tokio::sync::{broadcast, watch};

use super::{Alert, AlertSpec, DeliveryPolicy, Sink, SinkMetrics};
use crate::service::pipeline::Published;
use crate::service::source::{stopped, wall_clock};

/// Events read from the store per query.
const READ_BATCH: u32 = 256;
/// How often an idle task looks at the store without a wake-up (a missed broadcast, an
/// operator's retry request).
const IDLE_POLL: Duration = Duration::from_secs(1);
/// Wait before trying a failed store call again.
const STORE_RETRY: Duration = Duration::from_secs(1);

/// The delay before attempt `attempts + 1`, after `attempts` failures: `initial ·
/// 2^(attempts-1)`, at most `max`, times a random factor in [0.5, 1] so many services
/// restarted together do not retry in step ("equal jitter"). A receiver's `Retry-After`
/// raises it (still capped at `max`).
pub fn backoff(
    policy: &DeliveryPolicy,
    attempts: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let doublings = attempts.saturating_sub(1).min(30);
    let base = policy
        .retry_initial
        .saturating_mul(1u32 << doublings)
        .min(policy.retry_max);
    let jittered = base.mul_f64(jitter.clamp(0.5, 1.0));
    match retry_after {
        Some(r) => jittered.max(r.min(policy.retry_max)),
        None => jittered,
    }
}

/// The sink's store connection, used from the blocking pool.
struct Outbox {
    store: Arc<Mutex<SqliteStore>>,
    shutdown: watch::Receiver<bool>,
}

impl Outbox {
    /// Runs `f` on the blocking pool, trying again every second while the store fails;
    /// `None` at shutdown.
    async fn call<R: Send + 'static>(
        &mut self,
        what: &'static str,
        f: impl Fn(&mut SqliteStore) -> Result<R, StoreError> + Send + Sync + 'static,
    ) -> Option<R> {
        let f = Arc::new(f);
        loop {
            let (store, f) = (self.store.clone(), f.clone());
            let result = tokio::task::spawn_blocking(move || {
                let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut s).map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("store task failed: {e}"))
            .and_then(|r| r);
            match result {
                Ok(r) => return Some(r),
                Err(e) => tracing::error!("alert delivery: {what} failed, retrying: {e}"),
            }
            if self.sleep(STORE_RETRY).await {
                return None;
            }
        }
    }

    /// Sleeps `d`; true when shutdown came first.
    async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => false,
            () = stopped(&mut self.shutdown) => true,
        }
    }
}

/// How one event's delivery ended.
enum Outcome {
    Delivered,
    DeadLettered,
    Shutdown,
}

/// Delivers `spec`'s alerts through `sink` until `shutdown`. `store` is this task's own
/// connection; `wake` carries the store writer's published events (a hint that the log
/// grew).
pub async fn run<S: Sink>(
    sink: S,
    spec: AlertSpec,
    store: SqliteStore,
    mut wake: broadcast::Receiver<Arc<Published>>,
    metrics: Arc<SinkMetrics>,
    shutdown: watch::Receiver<bool>,
) {
    let name: Arc<str> = spec.name.clone();
    let mut outbox = Outbox {
        store: Arc::new(Mutex::new(store)),
        shutdown: shutdown.clone(),
    };
    // A sink new to this store starts at the end of the log.
    let key = name.clone();
    let Some(mut cursor) = outbox
        .call("read delivery cursor", move |s| {
            match s.delivery_cursor_if_any(&key)? {
                Some(c) => Ok(c),
                None => {
                    let last = s.last_seq()?;
                    s.set_delivery_cursor(&key, last)?;
                    Ok(last)
                }
            }
        })
        .await
    else {
        return;
    };
    metrics.delivered_seq.store(cursor, Relaxed);
    tracing::info!(sink = %name, after = cursor, "alert delivery resumes");
    loop {
        // 1. Dead letters an operator asked to retry.
        let key = name.clone();
        let Some(retry) = outbox
            .call("read retry requests", move |s| {
                let Some(seq) = s.next_retry(&key)? else {
                    return Ok(None);
                };
                Ok(Some((seq, s.event(seq)?)))
            })
            .await
        else {
            return;
        };
        if let Some((seq, stored)) = retry {
            let outcome = match stored {
                Some(e) => deliver(&sink, &spec, &mut outbox, &metrics, e).await,
                None => {
                    // Purged by retention: nothing left to send; the letter says so.
                    let key = name.clone();
                    outbox
                        .call("store dead letter", move |s| {
                            let old = s
                                .dead_letters(Some(&key))?
                                .into_iter()
                                .find(|d| d.seq == seq);
                            let now = wall_clock();
                            let letter = DeadLetter {
                                last_error:
                                    "the event is no longer in the store (retention): cannot retry"
                                        .into(),
                                last_attempt_at: now,
                                ..old.unwrap_or_else(|| gone_letter(&key, seq, now))
                            };
                            s.dead_letter(&letter)
                        })
                        .await;
                    Outcome::DeadLettered
                }
            };
            if matches!(outcome, Outcome::Shutdown) {
                return;
            }
            continue;
        }

        // 2. New events after the cursor.
        let after = cursor;
        let Some(batch) = outbox
            .call("read events", move |s| s.events_since(after, READ_BATCH))
            .await
        else {
            return;
        };
        if batch.is_empty() {
            if let Some(p) = outbox
                .call("count events", move |s| s.events_after(after))
                .await
            {
                metrics.pending.store(p, Relaxed);
            }
            let mut stop = shutdown.clone();
            tokio::select! {
                r = wake.recv() => {
                    if let Err(broadcast::error::RecvError::Closed) = r {
                        // The writer is gone (shutting down): poll until told to stop.
                        if outbox.sleep(IDLE_POLL).await { return; }
                    }
                }
                () = tokio::time::sleep(IDLE_POLL) => {}
                () = stopped(&mut stop) => return,
            }
            continue;
        }
        let mut skipped: Option<u64> = None;
        for stored in batch {
            let seq = stored.seq;
            if !spec.rule.matches(&stored.event) {
                skipped = Some(seq);
                cursor = seq;
                continue;
            }
            if let Some(to) = skipped.take() {
                let key = name.clone();
                outbox
                    .call("write delivery cursor", move |s| {
                        s.set_delivery_cursor(&key, to)
                    })
                    .await;
            }
            match deliver(&sink, &spec, &mut outbox, &metrics, stored).await {
                Outcome::Delivered | Outcome::DeadLettered => cursor = seq,
                Outcome::Shutdown => return,
            }
            metrics.delivered_seq.store(cursor, Relaxed);
        }
        if let Some(to) = skipped {
            let key = name.clone();
            if outbox
                .call("write delivery cursor", move |s| {
                    s.set_delivery_cursor(&key, to)
                })
                .await
                .is_none()
            {
                return;
            }
        }
        metrics.delivered_seq.store(cursor, Relaxed);
        if let Some(p) = outbox
            .call("count events", move |s| s.events_after(cursor))
            .await
        {
            metrics.pending.store(p, Relaxed);
        }
    }
}

/// A dead letter for event `seq` with nothing known about it.
fn gone_letter(sink: &str, seq: u64, now: Timestamp) -> DeadLetter {
    DeadLetter {
        sink: sink.to_string(),
        seq,
        incident_id: None,
        event: String::new(),
        attempts: 0,
        first_attempt_at: now,
        last_attempt_at: now,
        last_error: String::new(),
        retrying: false,
    }
}

/// Tries one event until it is delivered, dead-lettered or shutdown comes.
async fn deliver<S: Sink>(
    sink: &S,
    spec: &AlertSpec,
    outbox: &mut Outbox,
    metrics: &SinkMetrics,
    stored: StoredEvent,
) -> Outcome {
    let name = spec.name.clone();
    let seq = stored.seq;
    let alert = Alert {
        seq,
        event: stored.event,
        rule: name.clone(),
        level: spec.rule.level(),
    };
    let mut stop = outbox.shutdown.clone();
    loop {
        let attempt_at = wall_clock();
        let result = tokio::select! {
            r = sink.deliver(&alert) => r,
            () = stopped(&mut stop) => return Outcome::Shutdown,
        };
        let error = match result {
            Ok(()) => {
                let key = name.clone();
                if outbox
                    .call("record delivery", move |s| s.delivered(&key, seq))
                    .await
                    .is_none()
                {
                    return Outcome::Shutdown;
                }
                metrics.delivered.fetch_add(1, Relaxed);
                let age = wall_clock().secs_since(alert.event.at());
                metrics.observe_latency(Duration::try_from_secs_f64(age).unwrap_or_default());
                tracing::debug!(sink = %name, seq, key = %alert.idempotency_key(), "alert delivered");
                return Outcome::Delivered;
            }
            Err(e) => e,
        };
        metrics.failed_attempts.fetch_add(1, Relaxed);
        let (key, message) = (name.clone(), error.message.clone());
        let Some(state) = outbox
            .call("record delivery attempt", move |s| {
                s.record_failed_attempt(&key, seq, attempt_at, &message)
            })
            .await
        else {
            return Outcome::Shutdown;
        };
        let age_s = attempt_at.secs_since(state.first_attempt_at);
        let too_old = age_s >= spec.policy.dead_letter_after.as_secs_f64();
        if !error.retryable || too_old {
            let why = if error.retryable {
                format!("still failing {age_s:.0} s after the first attempt")
            } else {
                "refused for good".to_string()
            };
            tracing::warn!(
                sink = %name,
                seq,
                key = %alert.idempotency_key(),
                attempts = state.attempts,
                "alert dead-lettered ({why}): {}",
                state.last_error
            );
            let letter = DeadLetter {
                sink: name.to_string(),
                seq,
                incident_id: alert.event.incident().map(|i| i.id),
                event: alert.event.kind().to_string(),
                attempts: state.attempts,
                first_attempt_at: state.first_attempt_at,
                last_attempt_at: state.last_attempt_at,
                last_error: state.last_error.clone(),
                retrying: false,
            };
            if outbox
                .call("store dead letter", move |s| s.dead_letter(&letter))
                .await
                .is_none()
            {
                return Outcome::Shutdown;
            }
            metrics.dead_lettered.fetch_add(1, Relaxed);
            return Outcome::DeadLettered;
        }
        let delay = backoff(
            &spec.policy,
            state.attempts,
            error.retry_after,
            rand::random_range(0.5..=1.0),
        );
        tracing::info!(
            sink = %name,
            seq,
            attempts = state.attempts,
            retry_in_ms = delay.as_millis() as u64,
            "alert delivery failed, will retry: {}",
            error.message
        );
        if outbox.sleep(delay).await {
            return Outcome::Shutdown;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_with_equal_jitter() {
        let p = DeliveryPolicy::default();
        let secs = |attempts, jitter| backoff(&p, attempts, None, jitter).as_secs_f64();
        assert_eq!(secs(1, 1.0), 1.0);
        assert_eq!(secs(2, 1.0), 2.0);
        assert_eq!(secs(3, 1.0), 4.0);
        assert_eq!(secs(9, 1.0), 256.0);
        assert_eq!(secs(10, 1.0), 300.0, "capped at 5 min");
        assert_eq!(secs(1_000, 1.0), 300.0, "no overflow");
        assert_eq!(secs(3, 0.5), 2.0);
        assert_eq!(secs(3, 0.0), 2.0, "jitter never below half");
        // Retry-After raises the delay, capped by retry_max.
        let ra = |s| backoff(&p, 1, Some(Duration::from_secs(s)), 1.0).as_secs_f64();
        assert_eq!(ra(30), 30.0);
        assert_eq!(ra(86_400), 300.0);
    }
}
