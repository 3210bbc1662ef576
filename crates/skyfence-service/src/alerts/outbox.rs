//! The delivery task of one sink: the store's event log is the outbox, the sink's
//! delivery cursor is its position in it ("delivery from a durable outbox in
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
use skyfence_store::{DeadLetter, Store, StoreError, StoredEvent};
use tokio::sync::{broadcast, watch};

use super::{Alert, AlertSpec, DeliveryPolicy, Sink, SinkMetrics};
use crate::pipeline::Published;
use crate::source::stopped;
use skyfence_core::time::wall_clock;

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
    store: Arc<Mutex<Box<dyn Store>>>,
    shutdown: watch::Receiver<bool>,
}

impl Outbox {
    /// Runs `f` on the blocking pool, trying again every second while the store fails;
    /// `None` at shutdown.
    async fn call<R: Send + 'static>(
        &mut self,
        what: &'static str,
        f: impl Fn(&mut dyn Store) -> Result<R, StoreError> + Send + Sync + 'static,
    ) -> Option<R> {
        let f = Arc::new(f);
        loop {
            let (store, f) = (self.store.clone(), f.clone());
            let result = tokio::task::spawn_blocking(move || {
                let mut s = store.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut **s).map_err(|e| e.to_string())
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
    store: Box<dyn Store>,
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

        // 2. New events after the cursor. Wake-ups queued while delivering are all
        // answered by this one read.
        while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) = wake.try_recv() {}
        let after = cursor;
        let Some(batch) = outbox
            .call("read events", move |s| s.events_since(after, READ_BATCH))
            .await
        else {
            return;
        };
        if batch.is_empty() {
            if let Some(p) = outbox
                .call("read last event sequence", move |s| {
                    Ok(s.last_seq()?.saturating_sub(after))
                })
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
            .call("read last event sequence", move |s| {
                Ok(s.last_seq()?.saturating_sub(cursor))
            })
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
    use crate::alerts::{DeliveryError, Rule, SinkMetrics};
    use crate::config::Config;
    use proptest::prelude::*;
    use skyfence_core::detect::{Event, Incident};
    use skyfence_store::{StoreBatch, StoreOptions, StoreUrl};

    fn open_store(path: &std::path::Path) -> Box<dyn Store> {
        skyfence_store::open(&StoreUrl::sqlite(path), StoreOptions::default()).unwrap()
    }
    use std::collections::VecDeque;
    use std::time::Instant;

    /// The docs/INTERFACES.md example incident with id `id`, status and permit as given.
    fn incident(id: &str, status: &str, authorised: bool) -> Incident {
        serde_json::from_value(serde_json::json!({
            "id": id, "zone": "HELD-A",
            "target": {"icao24": "adf7c1", "callsign": "FORTE12", "category": "B6"},
            "classification": "uav", "authorised": authorised, "permit": null,
            "status": status, "entry_observed": true,
            "entered_at": "2023-11-14T22:21:03.120Z",
            "exited_at": if status == "closed" { serde_json::json!("2023-11-14T22:26:36.480Z") } else { serde_json::Value::Null },
            "last_seen_at": "2023-11-14T22:26:36.000Z",
            "entry": {"lat": 33.2177, "lon": 69.8813, "alt_ft": 48000},
            "exit": if status == "closed" { serde_json::json!({"lat": 33.2511, "lon": 69.8889, "alt_ft": 48000}) } else { serde_json::Value::Null },
            "duration_s": 333.4, "max_depth_m": 14856.0, "max_alt_ft": 48000, "reports": 666
        }))
        .unwrap()
    }

    fn confirmed(id: &str, authorised: bool) -> Event {
        let i = incident(id, "open", authorised);
        Event::Confirmed {
            at: i.entered_at,
            incident: i,
        }
    }

    fn closed(id: &str) -> Event {
        let i = incident(id, "closed", false);
        Event::Closed {
            at: i.exited_at.unwrap(),
            incident: i,
        }
    }

    /// A sink answering from a script (then `Ok`), recording what it was given.
    #[derive(Default)]
    struct ScriptedSink {
        script: Mutex<VecDeque<Result<(), DeliveryError>>>,
        seen: Mutex<Vec<(u64, String)>>,
    }

    impl Sink for ScriptedSink {
        async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
            self.seen
                .lock()
                .unwrap()
                .push((alert.seq, alert.idempotency_key()));
            self.script.lock().unwrap().pop_front().unwrap_or(Ok(()))
        }
    }

    fn spec_named(name: &str) -> AlertSpec {
        let c = Config::parse(&format!(
            "[[alert]]\ntype = \"webhook\"\nname = \"{name}\"\nurl = \"http://127.0.0.1:9/\"\n\
             retry_initial_s = 0.001\nretry_max_s = 0.002\n"
        ))
        .unwrap();
        let (rule, policy) = Rule::from_config(&c.alerts[0], 0, &["HELD-A"]).unwrap();
        AlertSpec {
            name: Arc::from(name),
            rule,
            policy,
            config: c.alerts[0].clone(),
        }
    }

    /// Polls `done` every 5 ms; panics after 30 s (only a broken dispatcher is that slow).
    async fn wait_until(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "gave up waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn delivers_matches_in_order_retries_and_dead_letters_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = open_store(&path);
        let batch = StoreBatch {
            events: vec![
                confirmed("00000000000000a1", false), // seq 1: delivered on the 3rd try
                confirmed("00000000000000b2", true),  // seq 2: authorised, skipped
                closed("00000000000000a1"),           // seq 3
                confirmed("00000000000000c3", false), // seq 4: refused for good
                closed("00000000000000c3"),           // seq 5
            ],
            ..StoreBatch::default()
        };
        store.apply(&batch).unwrap();
        store.set_delivery_cursor("hook", 0).unwrap();

        let sink = Arc::new(ScriptedSink::default());
        sink.script.lock().unwrap().extend([
            Err(DeliveryError::retryable("http 503")),
            Err(DeliveryError::retryable("connection refused")),
            Ok(()),
            Ok(()),
            Err(DeliveryError::permanent("http 404")),
        ]);
        let spec = spec_named("hook");
        let metrics = Arc::new(SinkMetrics::new(&spec));
        let (events, _) = broadcast::channel(16);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(
            sink.clone(),
            spec,
            open_store(&path),
            events.subscribe(),
            metrics.clone(),
            stopped.clone(),
        ));
        wait_until("cursor at 5", || metrics.delivered_seq.load(Relaxed) == 5).await;

        // A sink new to the store starts at the end of the log.
        let late_spec = spec_named("late");
        let late_metrics = Arc::new(SinkMetrics::new(&late_spec));
        let late_sink = Arc::new(ScriptedSink::default());
        let late = tokio::spawn(run(
            late_sink.clone(),
            late_spec,
            open_store(&path),
            events.subscribe(),
            late_metrics.clone(),
            stopped,
        ));
        wait_until("late cursor", || {
            late_metrics.delivered_seq.load(Relaxed) == 5
        })
        .await;
        stop.send(true).unwrap();
        task.await.unwrap();
        late.await.unwrap();

        let seen: Vec<u64> = sink.seen.lock().unwrap().iter().map(|(s, _)| *s).collect();
        assert_eq!(seen, [1, 1, 1, 3, 4, 5]);
        assert_eq!(sink.seen.lock().unwrap()[3].1, "00000000000000a1/closed");
        assert!(late_sink.seen.lock().unwrap().is_empty());
        assert_eq!(metrics.delivered.load(Relaxed), 3);
        assert_eq!(metrics.failed_attempts.load(Relaxed), 3);
        assert_eq!(metrics.dead_lettered.load(Relaxed), 1);

        let store = open_store(&path);
        assert_eq!(store.delivery_cursor("hook").unwrap(), 5);
        assert_eq!(store.delivery_cursor("late").unwrap(), 5);
        assert_eq!(store.delivery_attempt("hook").unwrap(), None);
        let dead = store.dead_letters(Some("hook")).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(
            (dead[0].seq, dead[0].attempts, dead[0].event.as_str()),
            (4, 1, "confirmed")
        );
        assert_eq!(
            dead[0].incident_id,
            Some("00000000000000c3".parse().unwrap())
        );
        assert_eq!(dead[0].last_error, "http 404");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_old_failing_delivery_is_dead_lettered_and_a_retry_request_resends_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = open_store(&path);
        store
            .apply(&StoreBatch {
                events: vec![confirmed("00000000000000d4", false)],
                ..StoreBatch::default()
            })
            .unwrap();
        store.set_delivery_cursor("hook", 0).unwrap();
        // A previous run already tried it two hours ago (the store remembers).
        let long_ago = wall_clock().add_micros(-7_200_000_000);
        store
            .record_failed_attempt("hook", 1, long_ago, "connection refused")
            .unwrap();

        let sink = Arc::new(ScriptedSink::default());
        sink.script
            .lock()
            .unwrap()
            .push_back(Err(DeliveryError::retryable("http 502")));
        let spec = spec_named("hook");
        let metrics = Arc::new(SinkMetrics::new(&spec));
        let (events, _) = broadcast::channel(16);
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(
            sink.clone(),
            spec,
            open_store(&path),
            events.subscribe(),
            metrics.clone(),
            stopped,
        ));
        wait_until("the dead letter", || {
            metrics.dead_lettered.load(Relaxed) == 1
        })
        .await;
        let letter = store.dead_letters(Some("hook")).unwrap().remove(0);
        assert_eq!((letter.attempts, letter.first_attempt_at), (2, long_ago));
        assert_eq!(letter.last_error, "http 502");

        assert!(store.request_retry("hook", 1).unwrap());
        wait_until("the retry", || metrics.delivered.load(Relaxed) == 1).await;
        stop.send(true).unwrap();
        task.await.unwrap();
        assert_eq!(store.dead_letters(None).unwrap(), vec![]);
        assert_eq!(sink.seen.lock().unwrap().len(), 2);
    }

    /// A sink that always fails retryably.
    struct DownSink;

    impl Sink for DownSink {
        async fn deliver(&self, _: &Alert) -> Result<(), DeliveryError> {
            Err(DeliveryError::retryable("connection refused"))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stuck_sink_holds_up_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = open_store(&path);
        store
            .apply(&StoreBatch {
                events: vec![
                    confirmed("00000000000000e5", false),
                    closed("00000000000000e5"),
                ],
                ..StoreBatch::default()
            })
            .unwrap();
        store.set_delivery_cursor("stuck", 0).unwrap();
        store.set_delivery_cursor("hook", 0).unwrap();
        let (events, _) = broadcast::channel(16);
        let (stop, stopped) = watch::channel(false);
        let (stuck_spec, hook_spec) = (spec_named("stuck"), spec_named("hook"));
        let stuck_metrics = Arc::new(SinkMetrics::new(&stuck_spec));
        let hook_metrics = Arc::new(SinkMetrics::new(&hook_spec));
        let stuck = tokio::spawn(run(
            DownSink,
            stuck_spec,
            open_store(&path),
            events.subscribe(),
            stuck_metrics.clone(),
            stopped.clone(),
        ));
        wait_until("the stuck sink to fail", || {
            stuck_metrics.failed_attempts.load(Relaxed) >= 3
        })
        .await;
        let sink = Arc::new(ScriptedSink::default());
        let hook = tokio::spawn(run(
            sink.clone(),
            hook_spec,
            open_store(&path),
            events.subscribe(),
            hook_metrics.clone(),
            stopped,
        ));
        wait_until("the other sink to deliver both", || {
            hook_metrics.delivered.load(Relaxed) == 2
        })
        .await;
        stop.send(true).unwrap();
        stuck.await.unwrap();
        hook.await.unwrap();
        assert_eq!(stuck_metrics.delivered.load(Relaxed), 0);
        let store = open_store(&path);
        assert_eq!(store.delivery_cursor("stuck").unwrap(), 0);
        assert_eq!(store.delivery_cursor("hook").unwrap(), 2);
        let attempt = store.delivery_attempt("stuck").unwrap().unwrap();
        assert_eq!(attempt.seq, 1);
        assert!(attempt.attempts >= 3, "{attempt:?}");
    }

    proptest! {
        /// For every attempt count, jitter and Retry-After: the delay lies between half
        /// the capped exponential and the cap (or the Retry-After, capped), and without
        /// Retry-After it never shrinks as attempts grow.
        #[test]
        fn backoff_stays_within_its_bounds(
            attempts in 1u32..200,
            jitter in 0.0f64..2.0,
            initial_ms in 1u64..10_000,
            extra_ms in 0u64..600_000,
            retry_after_s in proptest::option::of(0u64..100_000),
        ) {
            let p = DeliveryPolicy {
                retry_initial: Duration::from_millis(initial_ms),
                retry_max: Duration::from_millis(initial_ms + extra_ms),
                ..DeliveryPolicy::default()
            };
            let ra = retry_after_s.map(Duration::from_secs);
            let d = backoff(&p, attempts, ra, jitter);
            prop_assert!(d <= p.retry_max);
            let exp = p.retry_initial.saturating_mul(1u32 << (attempts - 1).min(30)).min(p.retry_max);
            prop_assert!(d >= exp / 2 - Duration::from_nanos(1));
            if let Some(r) = ra {
                prop_assert!(d >= r.min(p.retry_max));
            } else {
                prop_assert!(backoff(&p, attempts + 1, None, jitter) >= d);
            }
        }
    }

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
