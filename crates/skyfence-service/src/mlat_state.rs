//! The multilateration network's state for `GET /api/sensors` and `/metrics`: each Mode S
//! receiver's clock-synchronisation state (synced, unsynced, excluded after a counter
//! jump) and its pairs' offsets and drifts, and the engine's counters. The detector task
//! (which owns the engine) takes a snapshot every tick; readers copy it.

use std::fmt::Write as _;
use std::sync::Mutex;

use serde::Serialize;
use skyfence_mlat::Engine;
use skyfence_mlat::clock::SyncCounts;
use skyfence_mlat::engine::MlatStats;

use crate::metrics::label;
use crate::sensor_state::SensorView;

/// One pair of a receiver, seen from that receiver.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairView {
    /// The other receiver.
    pub with: String,
    /// The other receiver's clock less this one's at the pair's newest sync point,
    /// seconds.
    pub offset_s: f64,
    /// The other clock's rate against this one's, parts per million.
    pub drift_ppm: f64,
    /// Scatter of the sync points about the pair's line, nanoseconds.
    pub rms_ns: f64,
    /// Sync points on the line.
    pub points: usize,
    /// Whether the pair predicts offsets now.
    pub synced: bool,
}

/// A Mode S receiver's clock synchronisation (`clock_sync` of `GET /api/sensors`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClockSyncView {
    /// `beast`, `radarcape_gps` or `dump1090`.
    pub clock: &'static str,
    /// `synced`, `unsynced` or `excluded` (its counter jumped; back once a pair of it
    /// predicts again).
    pub state: &'static str,
    /// Counter jumps detected.
    pub jumps: u64,
    /// Its pairs with a clock relation.
    pub pairs: Vec<PairView>,
}

/// What the board holds: one snapshot of the engine.
#[derive(Clone, Debug, Default)]
struct Snapshot {
    receivers: Vec<(String, ClockSyncView)>,
    stats: MlatStats,
    sync: SyncCounts,
}

/// The latest snapshot (`None` when the service multilaterates nothing).
#[derive(Debug, Default)]
pub struct MlatBoard {
    snapshot: Mutex<Option<Snapshot>>,
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

impl MlatBoard {
    /// Takes a snapshot of `engine`.
    pub fn update(&self, engine: &Engine) {
        let pairs = engine.pair_clocks();
        let receivers = engine
            .sites()
            .iter()
            .enumerate()
            .map(|(i, site)| {
                let name = site.name.as_str();
                let mut mine = Vec::new();
                for p in &pairs {
                    // Seen from this receiver: the other's clock less this one's.
                    let (with, sign) = if p.a.as_str() == name {
                        (p.b, 1.0)
                    } else if p.b.as_str() == name {
                        (p.a, -1.0)
                    } else {
                        continue;
                    };
                    mine.push(PairView {
                        with: with.to_string(),
                        offset_s: round(sign * p.offset_s, 9),
                        drift_ppm: round(sign * p.drift_ppm, 4),
                        rms_ns: round(p.rms_ns, 1),
                        points: p.points,
                        synced: p.synced,
                    });
                }
                (
                    name.to_owned(),
                    ClockSyncView {
                        clock: site.clock.as_str(),
                        state: engine.sync_state(i).as_str(),
                        jumps: engine.jumps(i),
                        pairs: mine,
                    },
                )
            })
            .collect();
        let snap = Snapshot {
            receivers,
            stats: engine.stats().clone(),
            sync: engine.sync_counts(),
        };
        if let Ok(mut s) = self.snapshot.lock() {
            *s = Some(snap);
        }
    }

    /// Adds each Mode S receiver's `clock_sync` to the sensors listed.
    pub fn annotate(&self, views: &mut [SensorView]) {
        let Ok(s) = self.snapshot.lock() else { return };
        let Some(s) = s.as_ref() else { return };
        for v in views.iter_mut() {
            if let Some((_, c)) = s.receivers.iter().find(|(n, _)| *n == v.name) {
                v.clock_sync = Some(c.clone());
            }
        }
    }

    /// The `skyfence_mlat_*` metrics, in the Prometheus text format (nothing when the
    /// service multilaterates nothing).
    pub fn render(&self, out: &mut String) {
        let Ok(s) = self.snapshot.lock() else { return };
        let Some(s) = s.as_ref() else { return };
        let st = &s.stats;
        let counters: [(&str, &str, u64); 8] = [
            (
                "skyfence_mlat_frames_total",
                "frames of Mode S receivers taken (every copy)",
                st.frames,
            ),
            (
                "skyfence_mlat_groups_total",
                "copies of one transmission grouped across receivers",
                st.groups,
            ),
            (
                "skyfence_mlat_fixes_total",
                "multilateration fixes",
                st.fixes,
            ),
            (
                "skyfence_mlat_verified_total",
                "broadcast (ADS-B) positions checked against the times of arrival",
                st.verified,
            ),
            (
                "skyfence_mlat_spoof_suspected_total",
                "broadcast positions the times of arrival contradict",
                st.spoof_suspected,
            ),
            (
                "skyfence_mlat_sync_messages_total",
                "clock sync messages (ADS-B positions heard by two or more receivers)",
                s.sync.messages,
            ),
            (
                "skyfence_mlat_sync_outliers_total",
                "clock sync points rejected as outliers",
                s.sync.outliers,
            ),
            (
                "skyfence_mlat_counter_jumps_total",
                "receiver counter jumps detected (receiver excluded until it resynchronises)",
                s.sync.jumps,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        }
        out.push_str("# HELP skyfence_mlat_no_fix_total groups solved without a fix, by reason\n# TYPE skyfence_mlat_no_fix_total counter\n");
        for (reason, n) in st.no_fix_reasons() {
            let _ = writeln!(
                out,
                "skyfence_mlat_no_fix_total{{reason=\"{}\"}} {n}",
                reason.as_str()
            );
        }
        out.push_str("# HELP skyfence_mlat_receiver_state the receiver's clock-sync state (1 for its current state)\n# TYPE skyfence_mlat_receiver_state gauge\n");
        for (name, c) in &s.receivers {
            for state in ["synced", "unsynced", "excluded"] {
                let _ = writeln!(
                    out,
                    "skyfence_mlat_receiver_state{{receiver=\"{}\",state=\"{state}\"}} {}",
                    label(name),
                    u8::from(c.state == state)
                );
            }
        }
        let pairs = || {
            s.receivers.iter().flat_map(|(name, c)| {
                // Each pair once: from its first receiver in config order.
                c.pairs.iter().filter_map(move |p| {
                    let later = s.receivers.iter().position(|(n, _)| *n == p.with)
                        > s.receivers.iter().position(|(n, _)| n == name);
                    later.then_some((name, p))
                })
            })
        };
        type PairField = fn(&PairView) -> f64;
        let gauges: [(&str, &str, PairField); 4] = [
            (
                "skyfence_mlat_pair_offset_seconds",
                "receiver b's clock less receiver a's at the pair's newest sync point",
                |p| p.offset_s,
            ),
            (
                "skyfence_mlat_pair_drift_ppm",
                "receiver b's clock rate against receiver a's",
                |p| p.drift_ppm,
            ),
            (
                "skyfence_mlat_pair_rms_seconds",
                "scatter of the pair's sync points about its line",
                |p| p.rms_ns / 1e9,
            ),
            (
                "skyfence_mlat_pair_synced",
                "whether the pair predicts clock offsets now",
                |p| f64::from(u8::from(p.synced)),
            ),
        ];
        for (name, help, f) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (a, p) in pairs() {
                let _ = writeln!(
                    out,
                    "{name}{{a=\"{}\",b=\"{}\"}} {}",
                    label(a),
                    label(&p.with),
                    f(p)
                );
            }
        }
    }
}
