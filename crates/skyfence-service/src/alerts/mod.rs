//! Alert delivery: every `[[alert]]` is a rule (which events: kinds, zones,
//! classifications, thresholds, authorised or not) bound to a sink (a webhook, CoT).
//!
//! The store is the outbox (ARCHITECTURE.md: "alert delivery works from the stored
//! outbox with retries"). One task per sink ([`outbox::run`]), each with its own store
//! connection, reads the events after its delivery cursor in order, skips those its rule
//! does not match, and delivers the others one at a time with exponential backoff. The
//! cursor moves past an event only once the sink has accepted it (a 2xx for a webhook)
//! or once it has been dead-lettered, in the same transaction: delivery is
//! at-least-once across restarts, in order, and a sink that is down never blocks
//! detection (which only writes the store) or another sink. The store writer's
//! broadcast of published events only wakes the tasks up; a task that misses it finds
//! the events on its next poll.
//!
//! A delivery still failing `dead_letter_after_s` after its first attempt, or refused
//! for good (a webhook's 4xx other than 408 and 429), becomes a dead letter: stored,
//! counted, logged, listed by `GET /api/alerts`, and delivered again on
//! `POST /api/alerts/dead/{sink}/{seq}/retry`.

pub mod api;
pub mod cot;
pub mod cot_xml;
pub mod outbox;
pub mod rules;
pub mod webhook;

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use skyfence_core::airspace::Zone;
use skyfence_core::detect::Event;
use skyfence_store::Store;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use crate::config::{AlertConfig, CotConfig, SinkConfig, WebhookConfig};
use crate::exit::input_error;
use crate::metrics::label;
use crate::pipeline::Published;

pub use rules::{Rule, validate_config};

/// How urgent a rule's alerts are (`[[alert]] level`), carried in each alert so the
/// receiving side can route them (a chat channel, a pager, a siren).
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum AlertLevel {
    /// For information.
    Advisory,
    /// Needs attention.
    Caution,
    /// Needs action now (the default: an unauthorised incursion is why skyfence exists).
    #[default]
    Warning,
}

/// One stored event on its way to a sink, as its rule matched it.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    /// The event's sequence number in the store (the outbox position).
    pub seq: u64,
    /// The event, with its incident (or, for `approach`, its target).
    pub event: Event,
    /// The rule's (and sink's) name.
    pub rule: Arc<str>,
    /// The rule's level.
    pub level: AlertLevel,
}

impl Alert {
    /// The key a receiver deduplicates on: `<incident id>/<event>` (an incident is
    /// confirmed once and ends once), for `approach` `approach/<zone>/<target id>/<time in
    /// µs>`. The same as the store's event key, so a redelivery after a restart, a
    /// retry or an operator's retry carries the same key.
    pub fn idempotency_key(&self) -> String {
        match &self.event {
            Event::Approach {
                at, zone, target, ..
            } => format!("approach/{zone}/{}/{}", target.id, at.as_micros()),
            e => match e.incident() {
                Some(i) => format!("{}/{}", i.id, e.kind()),
                None => format!("{}/{}", e.kind(), e.at().as_micros()),
            },
        }
    }
}

/// Why a delivery attempt failed, and whether trying again can help.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// What went wrong, for the log and the dead letter (`last_error`).
    pub message: String,
    /// False when the receiver refused the alert for good: dead-letter it now.
    pub retryable: bool,
    /// The receiver asked to wait this long (HTTP `Retry-After`), capped by the
    /// backoff's maximum.
    pub retry_after: Option<Duration>,
}

impl DeliveryError {
    /// A failure worth retrying (connection refused, timeout, 5xx).
    pub fn retryable(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: true,
            retry_after: None,
        }
    }

    /// A refusal no retry will change (e.g. HTTP 400, 401, 404).
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            message: message.into(),
            retryable: false,
            retry_after: None,
        }
    }
}

/// Where alerts go: a webhook, a CoT feed. The dispatcher ([`outbox::run`]) calls
/// `deliver` for one alert at a time, in store order, and decides about retries and
/// dead letters; a sink only says whether this one attempt worked.
pub trait Sink: Send + Sync + 'static {
    /// One attempt to deliver `alert`. `Ok` only once the receiver has it (a webhook:
    /// a 2xx response). Must give up on its own after a bounded time (a timeout).
    fn deliver(&self, alert: &Alert) -> impl Future<Output = Result<(), DeliveryError>> + Send;
}

impl<S: Sink> Sink for Arc<S> {
    fn deliver(&self, alert: &Alert) -> impl Future<Output = Result<(), DeliveryError>> + Send {
        (**self).deliver(alert)
    }
}

/// Retry timing of one sink (`[[alert]] retry_initial_s`, `retry_max_s`,
/// `dead_letter_after_s`, `timeout_s`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DeliveryPolicy {
    /// Delay after the first failure; doubles after each further one.
    pub retry_initial: Duration,
    /// Longest delay.
    pub retry_max: Duration,
    /// A delivery failing this long after its first attempt is dead-lettered.
    pub dead_letter_after: Duration,
    /// Time limit of one attempt.
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    /// 1 s doubling to 5 min; dead letter after an hour; 10 s per attempt.
    fn default() -> Self {
        DeliveryPolicy {
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            dead_letter_after: Duration::from_secs(3600),
            timeout: Duration::from_secs(10),
        }
    }
}

/// One validated `[[alert]]`: its rule, its retry timing and its sink's settings.
#[derive(Clone, Debug)]
pub struct AlertSpec {
    /// The rule's (and sink's) name.
    pub name: Arc<str>,
    /// Which events.
    pub rule: Rule,
    /// Retry timing.
    pub policy: DeliveryPolicy,
    /// The `[[alert]]` entry (type-specific keys: url, secret, udp, tcp, ...).
    pub config: AlertConfig,
}

impl AlertSpec {
    /// `webhook` or `cot`.
    pub fn kind(&self) -> &'static str {
        self.config.sink.kind()
    }

    /// Where the alerts go, for the API, logs and metrics: the URL without user
    /// information, query and fragment (which may carry credentials or a token), or the
    /// CoT address.
    pub fn target(&self) -> String {
        match &self.config.sink {
            SinkConfig::Webhook(WebhookConfig { url, .. }) => match reqwest::Url::parse(url) {
                Ok(mut u) => {
                    let _ = u.set_username("");
                    let _ = u.set_password(None);
                    u.set_query(None);
                    u.set_fragment(None);
                    u.to_string()
                }
                Err(_) => url.split(['?', '#']).next().unwrap_or(url).to_string(),
            },
            SinkConfig::Cot(CotConfig { udp, tcp, .. }) => match (udp, tcp) {
                (Some(a), _) => format!("udp://{a}"),
                (None, Some(a)) => format!("tcp://{a}"),
                (None, None) => String::new(),
            },
        }
    }
}

/// Validates the `[[alert]]` entries against the loaded zones (every zone glob must
/// match a zone; the error names the rule) and builds their specs.
pub fn specs_from_config(alerts: &[AlertConfig], zones: &[Zone]) -> anyhow::Result<Vec<AlertSpec>> {
    let names: Vec<&str> = zones.iter().map(|z| z.name.as_str()).collect();
    alerts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let (rule, policy) =
                Rule::from_config(a, i, &names).map_err(|e| input_error(e.to_string()))?;
            Ok(AlertSpec {
                name: Arc::from(rule.name()),
                rule,
                policy,
                config: a.clone(),
            })
        })
        .collect()
}

/// Upper bounds of the delivery latency buckets, seconds: 10 ms to an hour (a delivery
/// includes its retries).
pub const DELIVERY_BUCKETS_S: [f64; 14] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
];

/// Counters of one sink, rendered in `/metrics` with a `sink` label.
#[derive(Debug, Default)]
pub struct SinkMetrics {
    /// The sink's name.
    pub name: String,
    /// `webhook` or `cot`.
    pub kind: &'static str,
    /// Where it delivers ([`AlertSpec::target`]).
    pub target: String,
    /// Alerts the receiver accepted.
    pub delivered: AtomicU64,
    /// Attempts that failed (each retry counts).
    pub failed_attempts: AtomicU64,
    /// Alerts given up on.
    pub dead_lettered: AtomicU64,
    /// Event sequence numbers after the sink's cursor (not all of them will match its
    /// rule; cheaper than counting rows, and exact unless retention left gaps).
    pub pending: AtomicU64,
    /// The sink's delivery cursor.
    pub delivered_seq: AtomicU64,
    latency_buckets: [AtomicU64; DELIVERY_BUCKETS_S.len()],
    latency_count: AtomicU64,
    latency_sum_us: AtomicU64,
}

impl SinkMetrics {
    /// Counters for `spec`'s sink.
    pub fn new(spec: &AlertSpec) -> Self {
        SinkMetrics {
            name: spec.name.to_string(),
            kind: spec.kind(),
            target: spec.target(),
            ..SinkMetrics::default()
        }
    }

    /// Records one delivery's latency: the event's time (the receive time of the report
    /// that decided it) to the receiver's acceptance, retries included.
    pub fn observe_latency(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = DELIVERY_BUCKETS_S.iter().position(|&b| s <= b) {
            self.latency_buckets[i].fetch_add(1, Relaxed);
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_us
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }
}

/// Appends the alert sinks' families to a Prometheus text exposition (format 0.0.4).
pub fn render_metrics(out: &mut String, sinks: &[Arc<SinkMetrics>]) {
    type Field = fn(&SinkMetrics) -> u64;
    let families: [(&str, &str, &str, Field); 5] = [
        (
            "skyfence_alerts_delivered_total",
            "counter",
            "alerts the receiver accepted, by sink",
            |s| s.delivered.load(Relaxed),
        ),
        (
            "skyfence_alerts_failed_attempts_total",
            "counter",
            "delivery attempts that failed (each retry counts), by sink",
            |s| s.failed_attempts.load(Relaxed),
        ),
        (
            "skyfence_alerts_dead_lettered_total",
            "counter",
            "alerts given up on (too old or refused for good), by sink",
            |s| s.dead_lettered.load(Relaxed),
        ),
        (
            "skyfence_alerts_pending",
            "gauge",
            "event sequence numbers after the sink's delivery cursor, by sink",
            |s| s.pending.load(Relaxed),
        ),
        (
            "skyfence_alerts_delivered_seq",
            "gauge",
            "the sink's delivery cursor (event sequence number), by sink",
            |s| s.delivered_seq.load(Relaxed),
        ),
    ];
    for (name, kind, help, get) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for s in sinks {
            let _ = writeln!(
                out,
                "{name}{{sink=\"{}\",type=\"{}\"}} {}",
                label(&s.name),
                s.kind,
                get(s)
            );
        }
    }
    let name = "skyfence_alert_delivery_latency_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} event time to the receiver's acceptance, retries included, by sink\n# TYPE {name} histogram"
    );
    for s in sinks {
        let sink = label(&s.name);
        let mut cumulative = 0;
        for (b, n) in DELIVERY_BUCKETS_S.iter().zip(&s.latency_buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{sink=\"{sink}\",le=\"{b}\"}} {cumulative}"
            );
        }
        let count = s.latency_count.load(Relaxed);
        let sum = s.latency_sum_us.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{name}_bucket{{sink=\"{sink}\",le=\"+Inf\"}} {count}\n{name}_sum{{sink=\"{sink}\"}} {sum}\n{name}_count{{sink=\"{sink}\"}} {count}"
        );
    }
}

/// Counters for each spec, in config order (for [`start`] and `Metrics`).
pub fn sink_metrics(specs: &[AlertSpec]) -> Vec<Arc<SinkMetrics>> {
    specs
        .iter()
        .map(|s| Arc::new(SinkMetrics::new(s)))
        .collect()
}

/// Starts one delivery task per alert spec, each with its own store connection to
/// `store_path`. `metrics[i]` belongs to `specs[i]`. A new sink starts at the end of
/// the event log (it does not replay history); a known one resumes after its cursor.
/// `cot` holds the CoT sinks ([`cot::sinks`]), matched to their specs by name.
pub fn start(
    specs: Vec<AlertSpec>,
    metrics: &[Arc<SinkMetrics>],
    cot: &[Arc<cot::CotSink>],
    store: &dyn Store,
    events: &broadcast::Sender<Arc<Published>>,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    // Cursors of sinks no longer configured would hold retention back for ever (the
    // store keeps every event a cursor has not passed).
    let names: Vec<&str> = specs.iter().map(|s| &*s.name).collect();
    let forgotten = store
        .writer()
        .and_then(|mut s| s.retain_delivery_cursors(&names))
        .map_err(|e| anyhow::anyhow!("cannot update the alert delivery cursors: {e}"))?;
    if forgotten > 0 {
        tracing::info!(
            sinks = forgotten,
            "alert sinks no longer configured: their delivery cursors are forgotten"
        );
    }
    let mut tasks = Vec::new();
    for (spec, m) in specs.into_iter().zip(metrics) {
        let store = store
            .writer()
            .map_err(|e| anyhow::anyhow!("alert {:?}: cannot open the store: {e}", &*spec.name))?;
        let wake = events.subscribe();
        let (m, shutdown) = (m.clone(), shutdown.clone());
        tracing::info!(
            sink = %spec.name,
            kind = spec.kind(),
            target = %spec.target(),
            "starting alert sink"
        );
        let task = match &spec.config.sink {
            SinkConfig::Webhook(_) => {
                let sink = webhook::WebhookSink::new(&spec)?;
                tokio::spawn(outbox::run(sink, spec, store, wake, m, shutdown))
            }
            SinkConfig::Cot(_) => {
                let Some(sink) = cot
                    .iter()
                    .find(|s| s.settings().name == *spec.name)
                    .cloned()
                else {
                    anyhow::bail!("alert {:?}: no CoT sink was built for it", &*spec.name);
                };
                tokio::spawn(outbox::run(sink, spec, store, wake, m, shutdown))
            }
        };
        tasks.push(task);
    }
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_hide_credentials_and_tokens() {
        let c = crate::config::Config::parse(
            "[[alert]]\ntype = \"webhook\"\nurl = \"https://bot:pw@chat.example.mil:8443/hooks/a?token=T#x\"\n",
        )
        .unwrap();
        let spec = &specs_from_config(&c.alerts, &[]).unwrap()[0];
        assert_eq!(spec.target(), "https://chat.example.mil:8443/hooks/a");
        assert_eq!(spec.kind(), "webhook");
        assert_eq!(&*spec.name, "webhook-1");
    }

    #[test]
    fn renders_per_sink_families_and_latency() {
        let m = SinkMetrics {
            name: "ops \"room\"".into(),
            kind: "webhook",
            ..SinkMetrics::default()
        };
        m.delivered.fetch_add(2, Relaxed);
        m.pending.store(7, Relaxed);
        m.observe_latency(Duration::from_millis(300));
        m.observe_latency(Duration::from_secs(40));
        let mut out = String::new();
        render_metrics(&mut out, &[Arc::new(m)]);
        let sink = "sink=\"ops \\\"room\\\"\"";
        for line in [
            format!("skyfence_alerts_delivered_total{{{sink},type=\"webhook\"}} 2\n"),
            format!("skyfence_alerts_pending{{{sink},type=\"webhook\"}} 7\n"),
            format!("skyfence_alerts_dead_lettered_total{{{sink},type=\"webhook\"}} 0\n"),
            format!("skyfence_alert_delivery_latency_seconds_bucket{{{sink},le=\"0.25\"}} 0\n"),
            format!("skyfence_alert_delivery_latency_seconds_bucket{{{sink},le=\"0.5\"}} 1\n"),
            format!("skyfence_alert_delivery_latency_seconds_bucket{{{sink},le=\"30\"}} 1\n"),
            format!("skyfence_alert_delivery_latency_seconds_bucket{{{sink},le=\"60\"}} 2\n"),
            format!("skyfence_alert_delivery_latency_seconds_count{{{sink}}} 2\n"),
            format!("skyfence_alert_delivery_latency_seconds_sum{{{sink}}} 40.3\n"),
        ] {
            assert!(out.contains(&line), "{line} not in\n{out}");
        }
    }
}
