//! Counters of the live service and their Prometheus text exposition (`GET /metrics`,
//! docs/INTERFACES.md "HTTP API": frames by source and drop reason, tracks, incidents,
//! latency).
//!
//! Written without a metrics crate: the set is small and fixed, plain atomics are what
//! such a crate would give us, and the text format (Prometheus exposition format 0.0.4)
//! is a few lines per family.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use skyfence_core::detect::DetectorStats;
use skyfence_decode::DropCounts;

use super::alerts::SinkMetrics;

/// Counters of one configured source (all its connections together).
#[derive(Debug, Default)]
pub struct SourceMetrics {
    /// `[[source]] name`.
    pub name: String,
    /// Connections up now (a listening source may have several).
    pub connected: AtomicI64,
    /// Connections established since start.
    pub connects: AtomicU64,
    /// Connections lost or closed by the peer since start.
    pub disconnects: AtomicU64,
    /// Failed connection attempts (client sources).
    pub connect_failures: AtomicU64,
    /// Receivers refused by a listen source (over `max_connections`, outside
    /// `allow_from`) or disconnected for idling past `idle_timeout_s`.
    pub refused: AtomicU64,
    /// Bytes received.
    pub bytes: AtomicU64,
    /// Frames (or SBS lines) delivered by the framing layer.
    pub frames: AtomicU64,
    /// Messages accepted by the Mode S decoder.
    pub messages: AtomicU64,
    /// Frames dropped as copies of one transmission already heard (by any source)
    /// within a second.
    pub duplicates: AtomicU64,
    /// Messages dropped because their time was more than `pipeline::MAX_AHEAD` ahead of
    /// the machine clock.
    pub future_time: AtomicU64,
    /// Dropped by the framing layer (source task) and the decoder (detector task), by
    /// reason.
    pub drops: Mutex<DropCounts>,
    /// When bytes last arrived (microseconds since the Unix epoch; 0: never), for
    /// `/api/health`.
    pub last_data_us: AtomicI64,
}

impl SourceMetrics {
    /// Adds `counts` to this source's drops.
    pub fn add_drops(&self, counts: &DropCounts) {
        if counts.nonzero().next().is_some()
            && let Ok(mut d) = self.drops.lock()
        {
            d.merge(counts);
        }
    }
}

/// Upper bounds of the latency histogram buckets, seconds: 100 µs to 1 s.
pub const LATENCY_BUCKETS_S: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
];

/// A fixed-bucket histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let s = d.as_secs_f64();
        if let Some(i) = LATENCY_BUCKETS_S.iter().position(|&b| s <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cumulative = 0;
        for (b, n) in LATENCY_BUCKETS_S.iter().zip(&self.buckets) {
            cumulative += n.load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Every counter of the service. Sources and the detector task write, `/metrics` reads.
#[derive(Debug, Default)]
pub struct Metrics {
    /// By `SourceId` (the index in the config's `[[source]]` list).
    pub sources: Vec<SourceMetrics>,
    /// The declared sensors and when each was last heard (`GET /api/sensors`).
    pub sensors: crate::sensor_state::SensorBoard,
    /// The multilateration network's clock sync and counters (`crate::mlat_state`).
    pub mlat: crate::mlat_state::MlatBoard,
    /// Live tracks (set by the detector task each tick).
    pub tracks: AtomicU64,
    /// Open incidents (set by the detector task each tick).
    pub incidents_open: AtomicU64,
    /// Events published, by kind: approach, confirmed, closed, lost.
    pub events: [AtomicU64; 4],
    /// Frame arrival at a source → event published (stored, then sent to SSE clients).
    pub event_latency: Histogram,
    /// The same, for `confirmed` events only (the latency an operator waits for).
    pub confirmed_latency: Histogram,
    /// Store batches committed.
    pub store_batches: AtomicU64,
    /// How long each store transaction took (statements and commit, fsync included).
    pub store_commit: Histogram,
    /// Store commits that failed (and were retried).
    pub store_errors: AtomicU64,
    /// API connections accepted and closed at once: `[server] max_connections` were open.
    pub http_connections_shed: AtomicU64,
    /// API connections closed because the client read nothing of a response for
    /// `[server] send_timeout_s`.
    pub http_send_timeouts: AtomicU64,
    /// API requests answered 503 because their handler took longer than
    /// `[server] request_timeout_s`.
    pub http_request_timeouts: AtomicU64,
    /// The store writer's state for `/api/health` ([`Metrics::store_failed`],
    /// [`Metrics::store_committed`]).
    pub store_health: Mutex<StoreHealth>,
    /// Raw frames pushed out of the pre-entry ring by its per-target bound.
    pub ring_capped: AtomicU64,
    /// The detector's own counters (positions accepted and discarded, tracks).
    pub detector: Mutex<DetectorStats>,
    /// Alert sinks, in config order (`[[alert]]`; see `service::alerts`).
    pub alert_sinks: Vec<Arc<SinkMetrics>>,
    /// Cursor-on-Target transports (`[[alert]] type = "cot"`; see `service::alerts::cot`).
    pub cot_sinks: Vec<Arc<super::alerts::cot::CotMetrics>>,
    /// When the service started (microseconds since the Unix epoch), for `/api/health`.
    pub started_us: AtomicI64,
}

/// A source silent for longer than this makes `/api/health` say `degraded`.
pub const SOURCE_SILENCE_US: i64 = 60_000_000;

/// What `/api/health` says of the store writer.
#[derive(Debug, Default)]
pub struct StoreHealth {
    /// Since when every commit has failed (`None`: the last one succeeded).
    pub failing_since: Option<std::time::Instant>,
    /// When a commit last failed, and why.
    pub last_failure: Option<(std::time::Instant, String)>,
}

/// How long after a failed commit (followed by successful ones) health says `degraded`.
pub const STORE_RECOVERY_WINDOW: std::time::Duration = std::time::Duration::from_secs(60);

impl Metrics {
    /// The store writer's commit failed with `error` (it retries).
    pub fn store_failed(&self, error: &str) {
        let now = std::time::Instant::now();
        if let Ok(mut h) = self.store_health.lock() {
            h.failing_since.get_or_insert(now);
            h.last_failure = Some((now, error.to_owned()));
        }
    }

    /// The store writer committed.
    pub fn store_committed(&self) {
        if let Ok(mut h) = self.store_health.lock() {
            h.failing_since = None;
        }
    }

    /// The store writer's problems for `/api/health`: whether nothing can be stored now
    /// (every commit failing), and the reasons for a `degraded` or failing status.
    pub fn store_problems(&self) -> (bool, Vec<String>) {
        let Ok(h) = self.store_health.lock() else {
            return (false, Vec::new());
        };
        match (&h.failing_since, &h.last_failure) {
            (Some(since), Some((_, e))) => (
                true,
                vec![format!(
                    "store: every commit failing for {:.0} s (retried): {e}",
                    since.elapsed().as_secs_f64()
                )],
            ),
            (None, Some((at, e))) if at.elapsed() < STORE_RECOVERY_WINDOW => (
                false,
                vec![format!(
                    "store: a commit failed {:.0} s ago (since recovered): {e}",
                    at.elapsed().as_secs_f64()
                )],
            ),
            _ => (false, Vec::new()),
        }
    }
}

/// The event kinds in the order of [`Metrics::events`].
pub const EVENT_KINDS: [&str; 4] = ["approach", "confirmed", "closed", "lost"];

/// A Prometheus label value: backslash, double quote and newline escaped.
pub(crate) fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counters for the sources named, in config order.
    pub fn new(source_names: impl IntoIterator<Item = String>) -> Self {
        Metrics {
            sources: source_names
                .into_iter()
                .map(|name| SourceMetrics {
                    name,
                    ..SourceMetrics::default()
                })
                .collect(),
            started_us: AtomicI64::new(skyfence_core::time::wall_clock().as_micros()),
            ..Metrics::default()
        }
    }

    /// The sensors' problems for `/api/health` at `now`: each declared radar, tracker
    /// or ADS-B station that is down (`GET /api/sensors`), once the service has run for
    /// [`SOURCE_SILENCE_US`] (a radar's first service message may take a rotation). Mode S
    /// receivers are left out: the sources that feed them are checked already.
    pub fn sensor_problems(&self, now: skyfence_core::Timestamp) -> Vec<String> {
        if now.as_micros() - self.started_us.load(Relaxed) <= SOURCE_SILENCE_US {
            return Vec::new();
        }
        self.sensors
            .views(now)
            .into_iter()
            .filter(|v| v.state != "up" && v.kind != "modes")
            .map(|v| {
                let heard = v
                    .last_heard
                    .map_or_else(|| "never heard".to_owned(), |t| format!("last heard {t}"));
                format!("sensor {} ({}): down, {heard}", v.name, v.kind)
            })
            .collect()
    }

    /// The sources' problems for `/api/health` at `now`: each source that received
    /// nothing for more than [`SOURCE_SILENCE_US`] (since start, when it never did), and
    /// whether it is connected at all.
    pub fn source_problems(&self, now: skyfence_core::Timestamp) -> Vec<String> {
        let started = self.started_us.load(Relaxed);
        self.sources
            .iter()
            .filter_map(|s| {
                let last = s.last_data_us.load(Relaxed);
                let silent_us = now.as_micros() - if last == 0 { started } else { last };
                if silent_us <= SOURCE_SILENCE_US {
                    return None;
                }
                let since = if last == 0 { " since start" } else { "" };
                let connected = match s.connected.load(Relaxed) {
                    0 => match s.connect_failures.load(Relaxed) {
                        0 => ", no connection up".to_owned(),
                        n => format!(", no connection up ({n} attempts failed)"),
                    },
                    n => format!(", {n} connection{} up", if n == 1 { "" } else { "s" }),
                };
                Some(format!(
                    "source {}: no data for {} s{since}{connected}",
                    s.name,
                    silent_us / 1_000_000
                ))
            })
            .collect()
    }

    /// Counts one published event of `kind` (as [`skyfence_core::detect::Event::kind`]).
    pub fn count_event(&self, kind: &str) {
        if let Some(i) = EVENT_KINDS.iter().position(|k| *k == kind) {
            self.events[i].fetch_add(1, Relaxed);
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        type Field = fn(&SourceMetrics) -> u64;
        let per_source: [(&str, &str, &str, Field); 9] = [
            (
                "skyfence_source_connected",
                "gauge",
                "connections up now",
                |s| u64::try_from(s.connected.load(Relaxed)).unwrap_or(0),
            ),
            (
                "skyfence_source_connects_total",
                "counter",
                "connections established",
                |s| s.connects.load(Relaxed),
            ),
            (
                "skyfence_source_disconnects_total",
                "counter",
                "connections lost",
                |s| s.disconnects.load(Relaxed),
            ),
            (
                "skyfence_source_connect_failures_total",
                "counter",
                "failed connection attempts",
                |s| s.connect_failures.load(Relaxed),
            ),
            (
                "skyfence_source_connections_refused_total",
                "counter",
                "receivers refused (max_connections, allow_from) or idle past idle_timeout_s",
                |s| s.refused.load(Relaxed),
            ),
            (
                "skyfence_source_bytes_total",
                "counter",
                "bytes received",
                |s| s.bytes.load(Relaxed),
            ),
            (
                "skyfence_frames_total",
                "counter",
                "frames received, by source",
                |s| s.frames.load(Relaxed),
            ),
            (
                "skyfence_messages_total",
                "counter",
                "messages accepted by the decoder, by source",
                |s| s.messages.load(Relaxed),
            ),
            (
                "skyfence_frames_duplicate_total",
                "counter",
                "frames dropped as copies of a transmission already heard within 1 s, by source",
                |s| s.duplicates.load(Relaxed),
            ),
        ];
        for (name, kind, help, get) in per_source {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for s in &self.sources {
                let _ = writeln!(out, "{name}{{source=\"{}\"}} {}", label(&s.name), get(s));
            }
        }
        let name = "skyfence_frames_dropped_total";
        let _ = writeln!(
            out,
            "# HELP {name} frames, lines or bytes (reason garbage) dropped, by source and reason\n# TYPE {name} counter"
        );
        for s in &self.sources {
            let drops = s.drops.lock().map(|d| *d).unwrap_or_default();
            for (reason, n) in drops.nonzero() {
                let _ = writeln!(
                    out,
                    "{name}{{source=\"{}\",reason=\"{reason}\"}} {n}",
                    label(&s.name)
                );
            }
            let future = s.future_time.load(Relaxed);
            if future > 0 {
                let _ = writeln!(
                    out,
                    "{name}{{source=\"{}\",reason=\"future_time\"}} {future}",
                    label(&s.name)
                );
            }
        }
        let d = self.detector.lock().map(|d| *d).unwrap_or_default();
        let name = "skyfence_positions_dropped_total";
        let _ = writeln!(
            out,
            "# HELP {name} positions the detector discarded, by reason\n# TYPE {name} counter"
        );
        for (reason, n) in [
            ("implausible_motion", d.implausible_motion),
            ("out_of_order", d.out_of_order),
            ("invalid_position", d.invalid_position),
        ] {
            let _ = writeln!(out, "{name}{{reason=\"{reason}\"}} {n}");
        }
        for (name, kind, help, v) in [
            (
                "skyfence_positions_accepted_total",
                "counter",
                "positions the detector accepted",
                d.accepted_positions,
            ),
            (
                "skyfence_tracks",
                "gauge",
                "live tracks",
                self.tracks.load(Relaxed),
            ),
            (
                "skyfence_incidents_open",
                "gauge",
                "confirmed incursions in progress",
                self.incidents_open.load(Relaxed),
            ),
            (
                "skyfence_store_batches_total",
                "counter",
                "store transactions committed",
                self.store_batches.load(Relaxed),
            ),
            (
                "skyfence_http_connections_shed_total",
                "counter",
                "API connections closed at once because max_connections were open",
                self.http_connections_shed.load(Relaxed),
            ),
            (
                "skyfence_http_send_timeouts_total",
                "counter",
                "API connections closed because the client stopped reading for send_timeout_s",
                self.http_send_timeouts.load(Relaxed),
            ),
            (
                "skyfence_http_request_timeouts_total",
                "counter",
                "API requests answered 503 because the handler took longer than request_timeout_s",
                self.http_request_timeouts.load(Relaxed),
            ),
            (
                "skyfence_store_errors_total",
                "counter",
                "store transactions failed and retried",
                self.store_errors.load(Relaxed),
            ),
            (
                "skyfence_ring_capped_total",
                "counter",
                "raw frames pushed out of the pre-entry ring by its per-target bound",
                self.ring_capped.load(Relaxed),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        let name = "skyfence_events_total";
        let _ = writeln!(
            out,
            "# HELP {name} events stored and published, by kind\n# TYPE {name} counter"
        );
        for (k, n) in EVENT_KINDS.iter().zip(&self.events) {
            let _ = writeln!(out, "{name}{{kind=\"{k}\"}} {}", n.load(Relaxed));
        }
        self.event_latency.render(
            &mut out,
            "skyfence_event_latency_seconds",
            "frame arrival at a source to the event stored and published",
        );
        self.store_commit.render(
            &mut out,
            "skyfence_store_commit_seconds",
            "time of one store transaction, commit included",
        );
        self.confirmed_latency.render(
            &mut out,
            "skyfence_confirmed_latency_seconds",
            "frame arrival at a source to a confirmed event stored and published",
        );
        super::alerts::render_metrics(&mut out, &self.alert_sinks);
        super::alerts::cot::render_metrics(&mut out, &self.cot_sinks);
        out
    }
}

/// Plain (unlabelled) counters and gauges in the Prometheus text format: one
/// `(name, kind, help, value)` row each, as the relay, the cluster node and its lease
/// keeper report theirs.
pub(crate) fn render_plain(rows: &[(&str, &str, &str, &AtomicU64)]) -> String {
    let mut out = String::new();
    for (name, kind, help, v) in rows {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
            v.load(Relaxed)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_decode::DropReason;

    #[test]
    fn renders_sources_drops_and_histogram() {
        let m = Metrics::new(["kabul-1".to_string()]);
        m.sources[0].frames.fetch_add(7, Relaxed);
        let mut d = DropCounts::default();
        d.add_n(DropReason::BadCrc, 3);
        m.sources[0].add_drops(&d);
        m.event_latency.observe(Duration::from_micros(300));
        m.event_latency.observe(Duration::from_millis(2));
        m.count_event("confirmed");
        let text = m.render();
        assert!(
            text.contains("skyfence_frames_total{source=\"kabul-1\"} 7\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "skyfence_frames_dropped_total{source=\"kabul-1\",reason=\"bad_crc\"} 3\n"
            ),
            "{text}"
        );
        assert!(text.contains("skyfence_event_latency_seconds_bucket{le=\"0.00025\"} 0\n"));
        assert!(text.contains("skyfence_event_latency_seconds_bucket{le=\"0.0005\"} 1\n"));
        assert!(text.contains("skyfence_event_latency_seconds_bucket{le=\"0.0025\"} 2\n"));
        assert!(text.contains("skyfence_event_latency_seconds_count 2\n"));
        assert!(text.contains("skyfence_events_total{kind=\"confirmed\"} 1\n"));
    }

    #[test]
    fn escapes_label_values() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
