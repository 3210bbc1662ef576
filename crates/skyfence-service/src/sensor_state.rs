//! What the service last heard from each declared sensor (`[[sensor]]`), for
//! `GET /api/sensors` and the `skyfence_sensor_*` metrics.
//!
//! ASTERIX records name their sensor by SAC/SIC. A radar announces that it is turning
//! with CAT034 service messages (a north marker each revolution, sector crossings in
//! between): a radar is `up` while one arrived within three rotation periods (at least
//! [`MIN_SILENCE_S`]; the period is read from I034/041 when the radar sends it, else
//! [`DEFAULT_ROTATION_S`] is assumed), and `down` after. A radar that never sent a
//! service message, and every other sensor, is `up` while any of its records arrived
//! within [`HEARD_WITHIN_S`]. A sensor never heard is `down`. Times are receive times
//! (the machine clock, read at the edge).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU64};

use serde::Serialize;
use skyfence_core::Timestamp;
use skyfence_decode::codec::Item;
use skyfence_decode::sensor::{Sensor, SensorType};

/// Service messages may be this late before a radar is `down`, at the least, seconds.
pub const MIN_SILENCE_S: f64 = 15.0;
/// The rotation period assumed for a radar that does not send I034/041, seconds (the
/// slowest en-route radars).
pub const DEFAULT_ROTATION_S: f64 = 12.0;
/// Any record within this long keeps a sensor without service messages `up`, seconds.
pub const HEARD_WITHIN_S: f64 = 60.0;

const NEVER: i64 = i64::MIN;

/// One sensor's state.
#[derive(Debug)]
struct Status {
    sensor: Sensor,
    /// Last record of any kind, µs since the epoch ([`NEVER`] before the first).
    last_heard_us: AtomicI64,
    /// Last CAT034 service message.
    last_service_us: AtomicI64,
    /// The rotation period the radar announced, µs (0: not announced).
    rotation_us: AtomicI64,
    /// The state last announced by [`SensorBoard::changes`]: [`UNKNOWN`], [`UP`] or
    /// [`DOWN`].
    announced: AtomicU8,
    /// `sensor_up` and `sensor_down` changes announced.
    changes: [AtomicU64; 2],
}

const UNKNOWN: u8 = 0;
const UP: u8 = 1;
const DOWN: u8 = 2;

/// A sensor's change of state: the `sensor_up` and `sensor_down` events.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SensorChange {
    /// `sensor_up` or `sensor_down`.
    pub event: &'static str,
    /// When it changed: for `sensor_up` the record that brought it up, for
    /// `sensor_down` the moment its silence passed the limit (its last service message
    /// or record plus the limit), so the gap it leaves runs from `last_heard` to the
    /// next `sensor_up`.
    pub at: String,
    /// `[[sensor]] name`.
    pub sensor: String,
    /// `radar`, `tracker`, `adsb` or `modes`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Its last record, RFC 3339.
    pub last_heard: Option<String>,
    /// A radar's last service message (CAT034), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_service: Option<String>,
    /// `at`, µs since the epoch.
    #[serde(skip)]
    pub at_us: i64,
    /// `last_heard`, µs since the epoch.
    #[serde(skip)]
    pub last_heard_us: Option<i64>,
}

impl SensorChange {
    /// The evidence leaf that records it (kind 0x09), when the sensor was ever heard
    /// (every change is of a sensor heard).
    pub fn leaf(&self) -> Option<skyfence_evidence::EvidenceLeaf> {
        Some(skyfence_evidence::EvidenceLeaf::SensorState {
            at_us: self.at_us,
            sensor: self.sensor.clone(),
            sensor_type: self.kind.to_string(),
            up: self.event == "sensor_up",
            last_heard_us: self.last_heard_us?,
        })
    }
}

/// Every declared sensor's state (lock-free: the detector task writes, the API reads).
#[derive(Debug)]
pub struct SensorBoard {
    sensors: Vec<Status>,
    /// `sensor_up` / `sensor_down` events for the SSE stream (not in the event log).
    feed: tokio::sync::broadcast::Sender<Arc<SensorChange>>,
}

impl Default for SensorBoard {
    fn default() -> Self {
        SensorBoard::new(&[])
    }
}

/// One sensor as `GET /api/sensors` lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SensorView {
    /// `[[sensor]] name`.
    pub name: String,
    /// `radar`, `tracker`, `adsb` or `modes`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// SAC/SIC of an ASTERIX sensor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sac: Option<u8>,
    /// See `sac`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sic: Option<u8>,
    /// Where it stands (`lat`, `lon`, `alt_m`), when declared.
    pub position: Option<Position>,
    /// `up` or `down`.
    pub state: &'static str,
    /// Its last record, RFC 3339; `null` when never heard.
    pub last_heard: Option<String>,
    /// A radar's last service message (CAT034), RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_service: Option<String>,
    /// The rotation period the radar announced, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_period_s: Option<f64>,
    /// A Mode S receiver's clock synchronisation (`crate::mlat_state`), when the
    /// service multilaterates.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clock_sync: Option<crate::mlat_state::ClockSyncView>,
}

/// A sensor's position.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Position {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Height above the WGS-84 ellipsoid, metres.
    pub alt_m: f64,
}

fn at(us: i64) -> Option<Timestamp> {
    (us != NEVER).then(|| Timestamp::from_micros(us))
}

impl SensorBoard {
    /// The board of `sensors`, none heard yet.
    pub fn new(sensors: &[Sensor]) -> Self {
        SensorBoard {
            sensors: sensors
                .iter()
                .map(|s| Status {
                    sensor: s.clone(),
                    last_heard_us: AtomicI64::new(NEVER),
                    last_service_us: AtomicI64::new(NEVER),
                    rotation_us: AtomicI64::new(0),
                    announced: AtomicU8::new(UNKNOWN),
                    changes: [AtomicU64::new(0), AtomicU64::new(0)],
                })
                .collect(),
            feed: tokio::sync::broadcast::channel(64).0,
        }
    }

    /// The `sensor_up` / `sensor_down` events as they are announced.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Arc<SensorChange>> {
        self.feed.subscribe()
    }

    /// The sensors whose state changed since the last call, as of `now` (the detector
    /// task calls this every tick): a sensor heard for the first time, or heard again
    /// after being down, is `sensor_up`; one that fell silent past its limit is
    /// `sensor_down`. A sensor never heard announces nothing. Each change is counted
    /// (`skyfence_sensor_changes_total`) and sent to the SSE stream.
    pub fn changes(&self, now: Timestamp) -> Vec<SensorChange> {
        let mut out = Vec::new();
        for s in &self.sensors {
            let up = Self::is_up(s, now);
            let before = s.announced.load(Relaxed);
            let heard = at(s.last_heard_us.load(Relaxed));
            let service = at(s.last_service_us.load(Relaxed));
            let (event, when) = match (before, up) {
                (UP, false) => ("sensor_down", Self::down_at(s).unwrap_or(now)),
                (UNKNOWN | DOWN, true) => ("sensor_up", heard.unwrap_or(now)),
                _ => continue,
            };
            s.announced.store(if up { UP } else { DOWN }, Relaxed);
            s.changes[usize::from(!up)].fetch_add(1, Relaxed);
            let change = SensorChange {
                event,
                at: when.to_rfc3339_millis(),
                sensor: s.sensor.name.to_string(),
                kind: s.sensor.kind.as_str(),
                last_heard: heard.map(|t| t.to_rfc3339_millis()),
                last_service: service.map(|t| t.to_rfc3339_millis()),
                at_us: when.as_micros(),
                last_heard_us: heard.map(|t| t.as_micros()),
            };
            // No subscriber is no error.
            let _ = self.feed.send(Arc::new(change.clone()));
            out.push(change);
        }
        out
    }

    /// When a sensor that is down went down: its last service message (radars that
    /// send them) or record plus the silence its kind is allowed.
    fn down_at(s: &Status) -> Option<Timestamp> {
        let limit = |secs: f64| (secs * 1e6).round() as i64;
        match (s.sensor.kind, at(s.last_service_us.load(Relaxed))) {
            (SensorType::Radar, Some(t)) => Some(t.add_micros(limit(Self::radar_limit_s(s)))),
            _ => at(s.last_heard_us.load(Relaxed)).map(|t| t.add_micros(limit(HEARD_WITHIN_S))),
        }
    }

    /// How long a radar's service messages may be silent before it is down, seconds.
    fn radar_limit_s(s: &Status) -> f64 {
        let rotation = match s.rotation_us.load(Relaxed) {
            0 => DEFAULT_ROTATION_S,
            us => us as f64 / 1e6,
        };
        (3.0 * rotation).max(MIN_SILENCE_S)
    }

    /// Notes an item's sensor as heard at the item's (receive) time.
    pub fn heard(&self, item: &Item) {
        let Item::Asterix(a) = item else { return };
        let r = &a.report;
        let Some(s) = self
            .sensors
            .iter()
            .find(|s| s.sensor.kind.is_asterix() && s.sensor.sac_sic == Some((r.sac, r.sic)))
        else {
            return;
        };
        let us = a.at.as_micros();
        s.last_heard_us.fetch_max(us, Relaxed);
        if let Some(service) = &r.service {
            s.last_service_us.fetch_max(us, Relaxed);
            if let Some(p) = service.rotation_period_s.filter(|p| *p > 0.0) {
                s.rotation_us
                    .store((f64::from(p) * 1e6).round() as i64, Relaxed);
            }
        }
    }

    /// Notes the sensor named `name` as heard at `at` (a Mode S receiver's frames,
    /// matched to it by the source that names it).
    pub fn heard_named(&self, name: &str, at: Timestamp) {
        if let Some(s) = self.sensors.iter().find(|s| s.sensor.name.as_str() == name) {
            s.last_heard_us.fetch_max(at.as_micros(), Relaxed);
        }
    }

    fn is_up(s: &Status, now: Timestamp) -> bool {
        let since = |us: i64| at(us).map(|t| now.secs_since(t));
        match (s.sensor.kind, since(s.last_service_us.load(Relaxed))) {
            (SensorType::Radar, Some(silent)) => silent <= Self::radar_limit_s(s),
            _ => since(s.last_heard_us.load(Relaxed)).is_some_and(|s| s <= HEARD_WITHIN_S),
        }
    }

    /// Every sensor as of `now`, in config order.
    pub fn views(&self, now: Timestamp) -> Vec<SensorView> {
        self.sensors
            .iter()
            .map(|s| {
                let rotation = s.rotation_us.load(Relaxed);
                SensorView {
                    name: s.sensor.name.to_string(),
                    kind: s.sensor.kind.as_str(),
                    sac: s.sensor.sac_sic.map(|(a, _)| a),
                    sic: s.sensor.sac_sic.map(|(_, b)| b),
                    position: s.sensor.site.map(|p| Position {
                        lat: p.lat,
                        lon: p.lon,
                        alt_m: p.alt_m,
                    }),
                    state: if Self::is_up(s, now) { "up" } else { "down" },
                    last_heard: at(s.last_heard_us.load(Relaxed)).map(|t| t.to_rfc3339_millis()),
                    last_service: at(s.last_service_us.load(Relaxed))
                        .map(|t| t.to_rfc3339_millis()),
                    rotation_period_s: (rotation > 0).then(|| rotation as f64 / 1e6),
                    clock_sync: None,
                }
            })
            .collect()
    }

    /// `skyfence_sensor_up` and `skyfence_sensor_last_heard_seconds` for every sensor as
    /// of `now`, in the Prometheus text format.
    pub fn render(&self, now: Timestamp, out: &mut String) {
        use std::fmt::Write as _;
        if self.sensors.is_empty() {
            return;
        }
        out.push_str("# HELP skyfence_sensor_up whether the sensor is up (radars: CAT034 service messages within three rotations; others: heard within 60 s)\n# TYPE skyfence_sensor_up gauge\n");
        for s in &self.sensors {
            let _ = writeln!(
                out,
                "skyfence_sensor_up{{sensor=\"{}\",type=\"{}\"}} {}",
                s.sensor.name,
                s.sensor.kind.as_str(),
                u8::from(Self::is_up(s, now))
            );
        }
        out.push_str("# HELP skyfence_sensor_changes_total sensor_up and sensor_down events announced\n# TYPE skyfence_sensor_changes_total counter\n");
        for s in &self.sensors {
            for (i, state) in ["up", "down"].iter().enumerate() {
                let _ = writeln!(
                    out,
                    "skyfence_sensor_changes_total{{sensor=\"{}\",state=\"{state}\"}} {}",
                    s.sensor.name,
                    s.changes[i].load(Relaxed)
                );
            }
        }
        out.push_str("# HELP skyfence_sensor_last_heard_seconds Unix time of the sensor's last record (absent: never heard)\n# TYPE skyfence_sensor_last_heard_seconds gauge\n");
        for s in &self.sensors {
            if let Some(t) = at(s.last_heard_us.load(Relaxed)) {
                let _ = writeln!(
                    out,
                    "skyfence_sensor_last_heard_seconds{{sensor=\"{}\"}} {:.3}",
                    s.sensor.name,
                    t.as_micros() as f64 / 1e6
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::{Protocol, RawRecord, ShortName};
    use skyfence_decode::asterix::{AsterixItem, Report, Service, ServiceKind};
    use skyfence_decode::sensor::Site;

    fn sensor(name: &str, kind: SensorType, sac_sic: Option<(u8, u8)>) -> Sensor {
        Sensor {
            name: ShortName::new(name).unwrap(),
            kind,
            sac_sic,
            site: Some(Site {
                lat: 34.0,
                lon: 71.5,
                alt_m: 380.0,
            }),
            clock: None,
        }
    }

    fn item(at: Timestamp, sac: u8, sic: u8, service: Option<Service>) -> Item {
        Item::Asterix(Box::new(AsterixItem {
            at,
            report: Report {
                category: if service.is_some() { 34 } else { 48 },
                sac,
                sic,
                service,
                ..Report::default()
            },
            raw: RawRecord::new(Protocol::Asterix, &[48, 0, 3]),
        }))
    }

    #[test]
    fn a_radar_is_up_while_its_north_markers_come() {
        let board = SensorBoard::new(&[
            sensor("psr", SensorType::Radar, Some((2, 1))),
            sensor("sdps", SensorType::Tracker, Some((1, 100))),
            sensor("rx", SensorType::ModeS, None),
        ]);
        let t0 = Timestamp::from_secs(1_700_000_000);
        let state = |now: Timestamp| -> Vec<&'static str> {
            board.views(now).iter().map(|v| v.state).collect()
        };
        assert_eq!(state(t0), ["down", "down", "down"]);
        let north = Service {
            kind: ServiceKind::NorthMarker,
            sector_deg: Some(0.0),
            rotation_period_s: Some(5.0),
            nogo: None,
        };
        board.heard(&item(t0, 2, 1, Some(north)));
        board.heard(&item(t0, 1, 100, None));
        // Another SAC/SIC is nobody's.
        board.heard(&item(t0, 9, 9, Some(north)));
        assert_eq!(state(t0.add_micros(14_000_000)), ["up", "up", "down"]);
        // Plots alone do not keep a radar that stopped turning up: 15 s (3 × 5 s) after
        // its last north marker it is down.
        board.heard(&item(t0.add_micros(20_000_000), 2, 1, None));
        assert_eq!(state(t0.add_micros(20_000_000)), ["down", "up", "down"]);
        let v = &board.views(t0)[0];
        assert_eq!(v.rotation_period_s, Some(5.0));
        assert_eq!(v.last_heard.as_deref(), Some("2023-11-14T22:13:40.000Z"));
        assert_eq!(v.last_service.as_deref(), Some("2023-11-14T22:13:20.000Z"));
        assert_eq!((v.sac, v.sic, v.kind), (Some(2), Some(1), "radar"));
        assert_eq!(state(t0.add_micros(61_000_000)), ["down", "down", "down"]);
        let mut text = String::new();
        board.render(t0.add_micros(1_000_000), &mut text);
        assert!(
            text.contains("skyfence_sensor_up{sensor=\"psr\",type=\"radar\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("skyfence_sensor_up{sensor=\"rx\",type=\"modes\"} 0\n"));
        assert!(
            text.contains("skyfence_sensor_last_heard_seconds{sensor=\"psr\"} 1700000020.000\n")
        );
        assert!(!text.contains("last_heard_seconds{sensor=\"rx\"}"));
    }

    #[test]
    fn changes_are_announced_once_with_their_times_and_counted() {
        let board = SensorBoard::new(&[
            sensor("psr", SensorType::Radar, Some((2, 1))),
            sensor("sdps", SensorType::Tracker, Some((1, 100))),
        ]);
        let mut feed = board.subscribe();
        let t0 = Timestamp::from_secs(1_700_000_000);
        let s = |secs: i64| t0.add_micros(secs * 1_000_000);
        // Never heard: nothing to announce.
        assert!(board.changes(t0).is_empty());
        let north = Service {
            kind: ServiceKind::NorthMarker,
            sector_deg: Some(0.0),
            rotation_period_s: Some(5.0),
            nogo: None,
        };
        board.heard(&item(s(1), 2, 1, Some(north)));
        let c = board.changes(s(2));
        assert_eq!(c.len(), 1);
        assert_eq!((c[0].event, c[0].sensor.as_str()), ("sensor_up", "psr"));
        assert_eq!(c[0].at, s(1).to_rfc3339_millis());
        assert!(board.changes(s(3)).is_empty(), "announced once");
        let sent = feed.try_recv().unwrap();
        assert_eq!(sent.event, "sensor_up");
        let json = serde_json::to_string(&*sent).unwrap();
        assert!(json.contains("\"sensor\":\"psr\""), "{json}");
        assert!(!json.contains("_us"), "{json}");
        assert_eq!(
            sent.leaf(),
            Some(skyfence_evidence::EvidenceLeaf::SensorState {
                at_us: s(1).as_micros(),
                sensor: "psr".into(),
                sensor_type: "radar".into(),
                up: true,
                last_heard_us: s(1).as_micros(),
            })
        );
        // The radar keeps turning until 31 s, then stops: down 15 s (3 rotations of 5 s)
        // after its last north marker.
        for k in 1..=6 {
            board.heard(&item(s(1 + 5 * k), 2, 1, Some(north)));
            assert!(board.changes(s(2 + 5 * k)).is_empty());
        }
        assert!(board.changes(s(46)).is_empty());
        let c = board.changes(s(47));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].event, "sensor_down");
        assert_eq!(c[0].at, s(46).to_rfc3339_millis());
        assert_eq!(
            c[0].last_service.as_deref(),
            Some(s(31).to_rfc3339_millis().as_str())
        );
        // Back: up again at its first marker.
        board.heard(&item(s(100), 2, 1, Some(north)));
        let c = board.changes(s(101));
        assert_eq!(
            (c[0].event, c[0].at.clone()),
            ("sensor_up", s(100).to_rfc3339_millis())
        );
        let mut text = String::new();
        board.render(s(101), &mut text);
        assert!(
            text.contains("skyfence_sensor_changes_total{sensor=\"psr\",state=\"up\"} 2\n"),
            "{text}"
        );
        assert!(text.contains("skyfence_sensor_changes_total{sensor=\"psr\",state=\"down\"} 1\n"));
        assert!(text.contains("skyfence_sensor_changes_total{sensor=\"sdps\",state=\"up\"} 0\n"));
    }
}
