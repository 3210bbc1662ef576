//! The scenario model: flights, receivers, zones, permits and detection settings, read
//! from a TOML scenario file or built in (`af-pk-border`, `scale`).
//!
//! A scenario file (see `examples/scenarios/*.toml`, every one parsed by a test):
//!
//! ```toml
//! name = "torkham-drone"
//! start = "2023-11-14T22:00:00Z"   # time of the first frame (RFC 3339, UTC)
//! duration_s = 600
//!
//! [detection]                        # copied into config.toml for the detector
//! confirm_s = 5
//! track_timeout_s = 60
//!
//! [surveillance]
//! loss = 0.05      # probability a receiver misses a frame at close range (grows with range)
//! corrupt = 0.002  # probability a received copy has bit errors (then it fails its CRC)
//! noise = true     # position noise per NACp (and the flights' jitter)
//!
//! [[zones]]
//! country = "PK"   # built-in sovereign airspace; or name + polygon = [[lat, lon], ...]
//! buffer_m = 3000
//!
//! [[receivers]]
//! name = "peshawar"
//! lat = 34.01
//! lon = 71.58
//!
//! [[allow]]        # permits, copied into config.toml (docs/INTERFACES.md, "Config")
//! callsign = "PIA*"
//! reason = "overflight permit 2023/114"
//!
//! [[flights]]
//! icao24 = "700c01"
//! kind = "small-drone"     # airliner | male-uav | small-drone | light
//! lat = 34.12
//! lon = 71.03
//! alt_ft = 1500
//! legs = [ { fly = [34.10, 71.13] }, { orbit = [34.10, 71.13], radius_m = 300, duration_s = 120 } ]
//! ```

use std::collections::BTreeSet;

use serde::Deserialize;
use skyfence_core::airspace::Zone;
use skyfence_core::{Callsign, EmitterCategory, Icao24, Squawk, Timestamp};

use super::kinematics::{AircraftKind, Leg, State};

/// Detection settings written into `config.toml`, and applied by the independent truth.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Detection {
    /// Continuously inside this long (and >= 2 reports) before an incursion is confirmed.
    #[serde(default = "default_confirm_s")]
    pub confirm_s: f64,
    /// Silence after which a track is lost.
    #[serde(default = "default_timeout_s")]
    pub track_timeout_s: f64,
    /// Positions implying faster motion are discarded.
    #[serde(default = "default_max_speed")]
    pub max_speed_mps: f64,
}

fn default_confirm_s() -> f64 {
    5.0
}
fn default_timeout_s() -> f64 {
    60.0
}
fn default_max_speed() -> f64 {
    1000.0
}

impl Default for Detection {
    fn default() -> Self {
        Detection {
            confirm_s: default_confirm_s(),
            track_timeout_s: default_timeout_s(),
            max_speed_mps: default_max_speed(),
        }
    }
}

/// How the receivers hear the traffic.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surveillance {
    /// Probability a receiver misses a frame at close range; it grows linearly to
    /// `loss + 0.3` at the edge of the receiver's range.
    #[serde(default = "default_loss")]
    pub loss: f64,
    /// Probability a received copy carries 1–3 flipped bits (it then fails its CRC).
    #[serde(default = "default_corrupt")]
    pub corrupt: f64,
    /// Position noise per NACp, and the flights' GPS jitter.
    #[serde(default = "default_true")]
    pub noise: bool,
}

fn default_loss() -> f64 {
    0.05
}
fn default_corrupt() -> f64 {
    0.002
}
fn default_true() -> bool {
    true
}

impl Default for Surveillance {
    fn default() -> Self {
        Surveillance {
            loss: default_loss(),
            corrupt: default_corrupt(),
            noise: true,
        }
    }
}

/// A receiver site. It hears a target within its range and within radio line of sight:
/// 4.12 km × (√antenna height + √target height), heights in metres above ground.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// Site name.
    pub name: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Antenna height above ground, metres.
    #[serde(default = "default_antenna")]
    pub height_m: f64,
    /// Largest range, kilometres.
    #[serde(default = "default_range")]
    pub range_km: f64,
}

fn default_antenna() -> f64 {
    30.0
}
fn default_range() -> f64 {
    400.0
}

/// A radar site ([`super::radar`]): a rotating primary and secondary surveillance radar
/// reporting in ASTERIX (CAT048 plots and tracks, CAT034 service messages).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadarSite {
    /// Site name (the `[[sensor]]` name in the written config).
    pub name: String,
    /// ASTERIX system area code.
    pub sac: u8,
    /// ASTERIX system identification code.
    pub sic: u8,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Antenna height above the WGS-84 ellipsoid, metres.
    pub alt_m: f64,
    /// Antenna height above the ground, metres (line of sight).
    #[serde(default = "default_radar_mast")]
    pub height_m: f64,
    /// Seconds per antenna revolution (4 to 12).
    #[serde(default = "default_rotation")]
    pub rotation_s: f64,
    /// Largest range, kilometres.
    #[serde(default = "default_radar_range")]
    pub range_km: f64,
    /// Probability of detection per scan of a target in coverage.
    #[serde(default = "default_pd")]
    pub pd: f64,
    /// Standard deviation of the slant range, metres.
    #[serde(default = "default_range_sigma")]
    pub range_sigma_m: f64,
    /// Standard deviation of the azimuth, degrees.
    #[serde(default = "default_azimuth_sigma")]
    pub azimuth_sigma_deg: f64,
    /// Mean number of false plots per scan.
    #[serde(default = "default_false_plots")]
    pub false_plots_per_scan: f64,
    /// Whether its secondary radar interrogates in Mode S: its plots of a transponder
    /// carry the Mode S address and identification. `false`: a conventional secondary
    /// radar (Mode A/C), as many in service are: its plots carry the Mode 3/A code and
    /// the Mode C altitude (100 ft steps) only, and a receiving system must associate
    /// them with the aircraft's other tracks by position.
    #[serde(default = "default_mode_s")]
    pub mode_s: bool,
}

/// A surveillance data processing system fed by the radar sites: it sends system tracks
/// in CAT062 ([`super::tracker`]).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackerSite {
    /// Its name (the `[[sensor]]` name in the written config).
    pub name: String,
    /// ASTERIX system area code.
    pub sac: u8,
    /// ASTERIX system identification code.
    pub sic: u8,
    /// Seconds between updates.
    #[serde(default = "default_tracker_period")]
    pub period_s: f64,
    /// Standard deviation of its position error, north and east, metres.
    #[serde(default = "default_tracker_sigma")]
    pub sigma_m: f64,
    /// How long a track is held without a plot, seconds.
    #[serde(default = "default_tracker_coast")]
    pub coast_s: f64,
}

fn default_tracker_period() -> f64 {
    4.0
}
fn default_tracker_sigma() -> f64 {
    30.0
}
fn default_tracker_coast() -> f64 {
    25.0
}

fn default_radar_mast() -> f64 {
    20.0
}
fn default_rotation() -> f64 {
    5.0
}
fn default_radar_range() -> f64 {
    150.0
}
fn default_pd() -> f64 {
    0.9
}
fn default_range_sigma() -> f64 {
    40.0
}
fn default_azimuth_sigma() -> f64 {
    0.08
}
fn default_false_plots() -> f64 {
    0.5
}
fn default_mode_s() -> bool {
    true
}

/// What a drone broadcasts over Remote ID ([`super::remoteid`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteIdSpec {
    /// UAS serial number (ANSI/CTA-2063-A, up to 20 characters): its target id.
    pub serial: String,
    /// Bluetooth advertiser address.
    pub mac: [u8; 6],
    /// Where its operator stands: latitude, longitude.
    pub operator: [f64; 2],
    /// Operator registration (up to 20 characters).
    pub operator_id: String,
    /// Self-ID text (up to 23 characters).
    pub self_id: String,
    /// How it broadcasts.
    pub transport: RidTransport,
}

/// How a drone broadcasts its Remote ID (ASTM F3411-22a §5.4.4–5.4.6): scenario key
/// `remote_id.transport`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RidTransport {
    /// Bluetooth 4 legacy advertising: one message per advertisement.
    #[default]
    Ble4,
    /// Bluetooth 5 long range (extended advertising): a message pack per advertisement.
    Ble5,
    /// A Wi-Fi beacon's vendor element: a message pack per beacon.
    WifiBeacon,
    /// A Wi-Fi NAN service discovery frame: a message pack per frame.
    WifiNan,
}

impl RidTransport {
    /// Whether it sends message packs (every transport but Bluetooth 4).
    pub fn packs(self) -> bool {
        self != RidTransport::Ble4
    }
}

/// `remote_id` of a flight in a scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RemoteIdToml {
    serial: String,
    mac: String,
    operator: [f64; 2],
    #[serde(default)]
    operator_id: String,
    #[serde(default)]
    self_id: String,
    #[serde(default)]
    transport: RidTransport,
}

/// A permit (docs/INTERFACES.md, "Config", `[[allow]]`): copied into `config.toml` and applied
/// by the truth. Globs use `*` and `?`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permit {
    /// Address glob (6 lowercase hex digits).
    pub icao24: Option<String>,
    /// Target id glob (the address, `RADAR/NUMBER` or the Remote ID serial number).
    pub id: Option<String>,
    /// Target kind: `icao`, `track` or `remoteid`.
    pub kind: Option<String>,
    /// Callsign glob.
    pub callsign: Option<String>,
    /// Zone name glob.
    pub zone: Option<String>,
    /// Why the target is allowed.
    pub reason: String,
    /// Start of validity (RFC 3339).
    pub from: Option<String>,
    /// End of validity (RFC 3339).
    pub until: Option<String>,
}

/// A zone of a scenario: a built-in country or an inline polygon.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneSpec {
    /// ISO code of a built-in country (its sovereign airspace).
    pub country: Option<String>,
    /// Name of an inline zone.
    pub name: Option<String>,
    /// Inline polygon, `[lat, lon]` vertices (closed automatically).
    pub polygon: Option<Vec<[f64; 2]>>,
    /// Lowest altitude of the zone, feet (surface when absent).
    pub floor_ft: Option<i32>,
    /// Highest altitude of the zone, feet (unlimited when absent).
    pub ceiling_ft: Option<i32>,
    /// Approach-warning band, metres.
    #[serde(default)]
    pub buffer_m: f64,
}

/// A time window, seconds from the scenario start.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Start, seconds.
    pub from_s: f64,
    /// End, seconds.
    pub to_s: f64,
}

/// GPS jitter: the broadcast position wanders with white noise of `sigma_m` per axis.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jitter {
    /// Start, seconds.
    pub from_s: f64,
    /// End, seconds.
    pub to_s: f64,
    /// Standard deviation per axis, metres.
    pub sigma_m: f64,
}

/// A spoofed position: the broadcast position is offset for a while (the true one is not).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spoof {
    /// Start, seconds.
    pub from_s: f64,
    /// End, seconds.
    pub to_s: f64,
    /// Offset north, metres.
    #[serde(default)]
    pub north_m: f64,
    /// Offset east, metres.
    #[serde(default)]
    pub east_m: f64,
}

/// One leg as written in a scenario file: exactly one of `fly`, `orbit`, `racetrack`.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct LegToml {
    fly: Option<[f64; 2]>,
    orbit: Option<[f64; 2]>,
    racetrack: Option<[[f64; 2]; 2]>,
    alt_ft: Option<f64>,
    speed_mps: Option<f64>,
    radius_m: Option<f64>,
    duration_s: Option<f64>,
    #[serde(default = "default_true")]
    clockwise: bool,
}

/// One flight as written in a scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct FlightToml {
    icao24: String,
    callsign: Option<String>,
    kind: AircraftKind,
    lat: f64,
    lon: f64,
    alt_ft: Option<f64>,
    speed_mps: Option<f64>,
    track_deg: Option<f64>,
    #[serde(default)]
    start_s: f64,
    end_s: Option<f64>,
    nacp: Option<u8>,
    squawk: Option<String>,
    #[serde(default)]
    no_altitude: bool,
    #[serde(default)]
    legs: Vec<LegToml>,
    #[serde(default)]
    transponder_off: Vec<Window>,
    #[serde(default)]
    jitter: Vec<Jitter>,
    #[serde(default)]
    spoof: Vec<Spoof>,
    #[serde(default = "default_true")]
    transponder: bool,
    remote_id: Option<RemoteIdToml>,
}

/// A scenario file.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioToml {
    name: String,
    #[serde(default)]
    description: String,
    start: String,
    duration_s: f64,
    #[serde(default)]
    detection: Detection,
    #[serde(default)]
    surveillance: Surveillance,
    #[serde(default)]
    zones: Vec<ZoneSpec>,
    receivers: Vec<Receiver>,
    #[serde(default)]
    radars: Vec<RadarSite>,
    #[serde(default)]
    tracker: Option<TrackerSite>,
    #[serde(default)]
    remoteid_receivers: Vec<Receiver>,
    #[serde(default)]
    allow: Vec<Permit>,
    flights: Vec<FlightToml>,
}

/// One simulated aircraft.
#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    /// Address.
    pub icao24: Icao24,
    /// Flight identification, broadcast every ~5 s when set.
    pub callsign: Option<Callsign>,
    /// Kind (performance and emitter category).
    pub kind: AircraftKind,
    /// Emitter category broadcast with the identification.
    pub category: Option<EmitterCategory>,
    /// Mode A code (DF5 replies are not simulated; kept for SBS and status messages).
    pub squawk: Option<Squawk>,
    /// When the flight appears, seconds from the start.
    pub start_s: f64,
    /// When it disappears (transponder and flight end), seconds from the start.
    pub end_s: f64,
    /// State at `start_s`.
    pub initial: State,
    /// The plan.
    pub legs: Vec<Leg>,
    /// Navigation accuracy category for position (DO-260B §2.2.3.2.7.2.11): sets the
    /// broadcast position's noise (σ = EPU / 2: NACp 8 → 46 m, 9 → 15 m, 10 → 5 m).
    pub nacp: u8,
    /// Broadcasts positions without altitude (and no DF4/DF11 altitude).
    pub no_altitude: bool,
    /// Transponder silent.
    pub transponder_off: Vec<Window>,
    /// GPS jitter episodes.
    pub jitter: Vec<Jitter>,
    /// Spoofed position episodes.
    pub spoof: Vec<Spoof>,
    /// Carries a Mode S transponder (ADS-B squitters, radar replies). Without one, only
    /// a primary radar sees it; its `icao24` is then an internal key, never sent.
    pub transponder: bool,
    /// Broadcasts Remote ID.
    pub remote_id: Option<RemoteIdSpec>,
}

impl Flight {
    /// A flight of `kind` at its cruise speed and altitude, heading `track_deg`.
    pub fn new(icao24: Icao24, kind: AircraftKind, lat: f64, lon: f64, track_deg: f64) -> Self {
        let (speed, alt) = kind.cruise();
        Flight {
            icao24,
            callsign: None,
            kind,
            category: kind.category(),
            squawk: None,
            start_s: 0.0,
            end_s: f64::INFINITY,
            initial: State {
                lat,
                lon,
                alt_ft: alt,
                track_deg,
                gs_mps: speed,
                vrate_fpm: 0.0,
            },
            legs: Vec::new(),
            // NACp 9 (EPU < 30 m): the GNSS receivers of ADS-B-equipped aircraft and of
            // the ADS-B transceivers small drones carry report it or better.
            nacp: 9,
            no_altitude: false,
            transponder_off: Vec::new(),
            jitter: Vec::new(),
            spoof: Vec::new(),
            transponder: true,
            remote_id: None,
        }
    }

    /// Whether the transponder transmits at `t_s`.
    pub fn transmitting(&self, t_s: f64) -> bool {
        self.transponder
            && t_s >= self.start_s
            && t_s < self.end_s
            && !self
                .transponder_off
                .iter()
                .any(|w| t_s >= w.from_s && t_s < w.to_s)
    }
}

/// A complete scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Name (the built-in's name or the file's `name`).
    pub name: String,
    /// The story, written into the output's README.md.
    pub description: String,
    /// Time of the scenario's second 0.
    pub start: Timestamp,
    /// Length, seconds.
    pub duration_s: f64,
    /// Detection settings.
    pub detection: Detection,
    /// Reception settings.
    pub surveillance: Surveillance,
    /// Zones (written to zones.geojson).
    pub zones: Vec<Zone>,
    /// Receiver sites.
    pub receivers: Vec<Receiver>,
    /// Radar sites (ASTERIX recording `asterix.ast`).
    pub radars: Vec<RadarSite>,
    /// The radar network's tracker (ASTERIX CAT062 recording `tracker.ast`), fed by
    /// the radar sites.
    pub tracker: Option<TrackerSite>,
    /// Remote ID receivers (recording `remoteid.csv`).
    pub remoteid_receivers: Vec<Receiver>,
    /// Permits.
    pub permits: Vec<Permit>,
    /// Flights.
    pub flights: Vec<Flight>,
    /// Whether to compute truth.jsonl and truth-tracks.csv (off for `scale`).
    pub truth: bool,
    /// Integration step of the kinematics, seconds: [`super::truth::SAMPLE_S`] when the
    /// truth is computed; `scale` uses 0.5 s (transmissions in between are interpolated).
    pub step_s: f64,
}

/// Why a scenario file was rejected; the message names the file, line or key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(pub String);

/// The 1-based line of byte offset `at` in `text`.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Parses a scenario file. `file` names it in error messages; `zone_for_country` supplies
/// built-in country zones.
pub fn parse_scenario(
    file: &str,
    text: &str,
    zone_for_country: &dyn Fn(&str) -> Option<Zone>,
) -> Result<Scenario, ScenarioError> {
    let raw: ScenarioToml = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        ScenarioError(format!("{file}: line {line}: {}", e.message().trim_end()))
    })?;
    let err = |key: String, what: String| ScenarioError(format!("{file}: {key}: {what}"));
    let start = Timestamp::parse_rfc3339(&raw.start).map_err(|_| {
        err(
            "start".into(),
            format!(
                "{:?} is not an RFC 3339 time (expected e.g. 2023-11-14T22:00:00Z)",
                raw.start
            ),
        )
    })?;
    if !(raw.duration_s > 0.0 && raw.duration_s <= 7.0 * 86_400.0) {
        return Err(err(
            "duration_s".into(),
            format!(
                "{} is out of range (expected 0 < duration_s <= 604800)",
                raw.duration_s
            ),
        ));
    }
    if raw.receivers.is_empty() {
        return Err(err(
            "receivers".into(),
            "expected at least one [[receivers]]".into(),
        ));
    }
    for (i, r) in raw.receivers.iter().enumerate() {
        check_lat_lon(r.lat, r.lon).map_err(|w| err(format!("receivers[{i}]"), w))?;
        if !((0.0..=1000.0).contains(&r.height_m) && r.range_km > 0.0 && r.range_km <= 1000.0) {
            return Err(err(
                format!("receivers[{i}]"),
                format!(
                    "height_m {} or range_km {} is out of range (0 to 1000 m, above 0 to 1000 km)",
                    r.height_m, r.range_km
                ),
            ));
        }
    }
    let mut sac_sic = BTreeSet::new();
    for (i, r) in raw.radars.iter().enumerate() {
        check_lat_lon(r.lat, r.lon).map_err(|w| err(format!("radars[{i}]"), w))?;
        let ok = (4.0..=12.0).contains(&r.rotation_s)
            && r.range_km > 0.0
            && r.range_km <= 500.0
            && (0.0..=1.0).contains(&r.pd)
            && (0.0..=1000.0).contains(&r.range_sigma_m)
            && (0.0..=5.0).contains(&r.azimuth_sigma_deg)
            && (0.0..=100.0).contains(&r.false_plots_per_scan)
            && (-1000.0..=9000.0).contains(&r.alt_m)
            && (0.0..=1000.0).contains(&r.height_m);
        if !ok {
            return Err(err(
                format!("radars[{i}]"),
                "rotation_s (4 to 12), range_km (above 0 to 500), pd (0 to 1), range_sigma_m (0 to 1000), azimuth_sigma_deg (0 to 5), false_plots_per_scan (0 to 100), alt_m (-1000 to 9000) or height_m (0 to 1000) is out of range".into(),
            ));
        }
        if !sac_sic.insert((r.sac, r.sic)) {
            return Err(err(
                format!("radars[{i}]"),
                format!("sac {} sic {} is used by an earlier radar", r.sac, r.sic),
            ));
        }
    }
    for (i, r) in raw.remoteid_receivers.iter().enumerate() {
        check_lat_lon(r.lat, r.lon).map_err(|w| err(format!("remoteid_receivers[{i}]"), w))?;
        if !(r.range_km > 0.0 && r.range_km <= 100.0) {
            return Err(err(
                format!("remoteid_receivers[{i}]"),
                format!("range_km {} is out of range (above 0 to 100)", r.range_km),
            ));
        }
    }
    let s = &raw.surveillance;
    if !((0.0..=1.0).contains(&s.loss) && (0.0..=1.0).contains(&s.corrupt)) {
        return Err(err(
            "surveillance".into(),
            format!(
                "loss {} or corrupt {} is not a probability (0 to 1)",
                s.loss, s.corrupt
            ),
        ));
    }
    let d = &raw.detection;
    if !(d.confirm_s >= 0.0
        && d.confirm_s <= 3600.0
        && d.track_timeout_s > 0.0
        && d.track_timeout_s <= 86_400.0
        && d.max_speed_mps > 0.0
        && d.max_speed_mps <= 10_000.0)
    {
        return Err(err(
            "detection".into(),
            "confirm_s (0 to 3600), track_timeout_s (above 0 to 86400) or max_speed_mps (above 0 to 10000) is out of range".into(),
        ));
    }
    let mut zones = Vec::new();
    for (i, z) in raw.zones.iter().enumerate() {
        zones.push(zone_from_spec(z, zone_for_country).map_err(|w| err(format!("zones[{i}]"), w))?);
    }
    let mut names = BTreeSet::new();
    for z in &zones {
        if !names.insert(z.name.clone()) {
            return Err(err(
                "zones".into(),
                format!("zone name {:?} appears twice", z.name),
            ));
        }
    }
    for (i, p) in raw.allow.iter().enumerate() {
        for (key, v) in [("from", &p.from), ("until", &p.until)] {
            if let Some(v) = v
                && Timestamp::parse_rfc3339(v).is_err()
            {
                return Err(err(
                    format!("allow[{i}].{key}"),
                    format!("{v:?} is not an RFC 3339 time"),
                ));
            }
        }
    }
    let mut flights = Vec::new();
    let mut addresses = BTreeSet::new();
    for (i, f) in raw.flights.iter().enumerate() {
        let flight =
            flight_from_toml(f).map_err(|(key, w)| err(format!("flights[{i}]{key}"), w))?;
        if !addresses.insert(flight.icao24) {
            return Err(err(
                format!("flights[{i}].icao24"),
                format!("address {} is used by an earlier flight", f.icao24),
            ));
        }
        flights.push(flight);
    }
    Ok(Scenario {
        name: raw.name,
        description: raw.description,
        start,
        duration_s: raw.duration_s,
        detection: raw.detection,
        surveillance: raw.surveillance,
        zones,
        receivers: raw.receivers,
        radars: raw.radars,
        tracker: raw.tracker,
        remoteid_receivers: raw.remoteid_receivers,
        permits: raw.allow,
        flights,
        truth: true,
        step_s: super::truth::SAMPLE_S,
    })
}

fn check_lat_lon(lat: f64, lon: f64) -> Result<(), String> {
    if (-85.0..=85.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
        Ok(())
    } else {
        Err(format!(
            "position ({lat}, {lon}) is out of range (expected latitude within ±85, longitude within ±180)"
        ))
    }
}

/// Builds a zone from its spec.
pub fn zone_from_spec(
    z: &ZoneSpec,
    zone_for_country: &dyn Fn(&str) -> Option<Zone>,
) -> Result<Zone, String> {
    let mut zone = match (&z.country, &z.polygon) {
        (Some(code), None) => zone_for_country(code)
            .ok_or_else(|| format!("country {code:?} is not a built-in country"))?,
        (None, Some(poly)) => {
            let name = z
                .name
                .clone()
                .ok_or_else(|| "an inline polygon needs a name".to_string())?;
            if poly.len() < 3 {
                return Err(format!(
                    "polygon has {} vertices (expected at least 3)",
                    poly.len()
                ));
            }
            for p in poly {
                check_lat_lon(p[0], p[1])?;
            }
            let mut ring: Vec<geo_types::Coord<f64>> = poly
                .iter()
                .map(|p| geo_types::coord! { x: p[1], y: p[0] })
                .collect();
            if ring.first() != ring.last()
                && let Some(first) = ring.first().copied()
            {
                ring.push(first);
            }
            let shape = geo_types::MultiPolygon(vec![geo_types::Polygon::new(
                geo_types::LineString(ring),
                vec![],
            )]);
            super::borders::zone(name, shape, "scenario file", None)
        }
        _ => return Err("expected exactly one of `country` and `polygon`".into()),
    };
    if let Some(name) = &z.name {
        zone.name = name.clone();
    }
    if let (Some(f), Some(c)) = (z.floor_ft, z.ceiling_ft)
        && f > c
    {
        return Err(format!("floor_ft {f} is above ceiling_ft {c}"));
    }
    zone.floor_ft = z.floor_ft;
    zone.ceiling_ft = z.ceiling_ft;
    if !(z.buffer_m >= 0.0 && z.buffer_m <= 100_000.0) {
        return Err(format!(
            "buffer_m {} is out of range (expected 0 to 100000)",
            z.buffer_m
        ));
    }
    zone.buffer_m = z.buffer_m;
    Ok(zone)
}

fn flight_from_toml(f: &FlightToml) -> Result<Flight, (String, String)> {
    let icao = f.icao24.parse::<Icao24>().map_err(|_| {
        (
            ".icao24".to_string(),
            format!("{:?} is not 6 hex digits", f.icao24),
        )
    })?;
    check_lat_lon(f.lat, f.lon).map_err(|w| (String::new(), w))?;
    let mut flight = Flight::new(icao, f.kind, f.lat, f.lon, f.track_deg.unwrap_or(0.0));
    if let Some(c) = &f.callsign {
        let upper = c.to_ascii_uppercase();
        let ok = upper.len() <= 8 && upper.bytes().all(|b| b.is_ascii_alphanumeric());
        flight.callsign = ok.then(|| Callsign::new(upper.as_bytes())).flatten();
        if flight.callsign.is_none() {
            return Err((
                ".callsign".into(),
                format!("{c:?} is not a callsign (expected up to 8 letters and digits)"),
            ));
        }
    }
    if let Some(a) = f.alt_ft {
        if !(-1000.0..=60_000.0).contains(&a) {
            return Err((
                ".alt_ft".into(),
                format!("{a} is out of range (-1000 to 60000)"),
            ));
        }
        flight.initial.alt_ft = a;
    }
    if let Some(v) = f.speed_mps {
        if !(0.0..=700.0).contains(&v) {
            return Err((
                ".speed_mps".into(),
                format!("{v} is out of range (0 to 700)"),
            ));
        }
        flight.initial.gs_mps = v;
    }
    let in_range = |key: &str, v: f64, lo: f64, hi: f64| -> Result<f64, (String, String)> {
        if (lo..=hi).contains(&v) {
            Ok(v)
        } else {
            Err((
                key.to_owned(),
                format!("{v} is out of range ({lo} to {hi})"),
            ))
        }
    };
    const WEEK_S: f64 = 7.0 * 86_400.0;
    flight.start_s = in_range(".start_s", f.start_s, 0.0, WEEK_S)?;
    flight.end_s = match f.end_s {
        Some(e) => in_range(".end_s", e, 0.0, WEEK_S)?,
        None => f64::INFINITY,
    };
    for (j, w) in f.transponder_off.iter().enumerate() {
        in_range(
            &format!(".transponder_off[{j}].from_s"),
            w.from_s,
            0.0,
            WEEK_S,
        )?;
        in_range(&format!(".transponder_off[{j}].to_s"), w.to_s, 0.0, WEEK_S)?;
    }
    for (j, w) in f.jitter.iter().enumerate() {
        in_range(&format!(".jitter[{j}].from_s"), w.from_s, 0.0, WEEK_S)?;
        in_range(&format!(".jitter[{j}].to_s"), w.to_s, 0.0, WEEK_S)?;
        in_range(&format!(".jitter[{j}].sigma_m"), w.sigma_m, 0.0, 100_000.0)?;
    }
    for (j, w) in f.spoof.iter().enumerate() {
        in_range(&format!(".spoof[{j}].from_s"), w.from_s, 0.0, WEEK_S)?;
        in_range(&format!(".spoof[{j}].to_s"), w.to_s, 0.0, WEEK_S)?;
        in_range(&format!(".spoof[{j}].north_m"), w.north_m, -1e6, 1e6)?;
        in_range(&format!(".spoof[{j}].east_m"), w.east_m, -1e6, 1e6)?;
    }
    if let Some(t) = f.track_deg {
        in_range(".track_deg", t, 0.0, 360.0)?;
    }
    if let Some(n) = f.nacp {
        if n > 11 {
            return Err((".nacp".into(), format!("{n} is out of range (0 to 11)")));
        }
        flight.nacp = n;
    }
    if let Some(s) = &f.squawk {
        flight.squawk = u16::from_str_radix(s, 8)
            .ok()
            .filter(|_| s.len() == 4)
            .and_then(Squawk::new);
        if flight.squawk.is_none() {
            return Err((".squawk".into(), format!("{s:?} is not 4 octal digits")));
        }
    }
    flight.no_altitude = f.no_altitude;
    for (j, l) in f.legs.iter().enumerate() {
        let leg = leg_from_toml(l).map_err(|w| (format!(".legs[{j}]"), w))?;
        flight.legs.push(leg);
    }
    // The first fly leg sets the initial heading when none is given.
    if f.track_deg.is_none()
        && let Some(Leg::Fly { lat, lon, .. }) = flight.legs.first()
    {
        flight.initial.track_deg = super::kinematics::bearing_deg(f.lat, f.lon, *lat, *lon);
    }
    flight.transponder = f.transponder;
    if let Some(r) = &f.remote_id {
        let mac =
            skyfence_decode::remoteid::line::parse_mac(r.mac.as_bytes()).ok_or_else(|| {
                (
                    ".remote_id.mac".to_string(),
                    format!("{:?} is not an address (expected aa:bb:cc:dd:ee:ff)", r.mac),
                )
            })?;
        check_lat_lon(r.operator[0], r.operator[1])
            .map_err(|w| (".remote_id.operator".to_string(), w))?;
        let printable = |t: &str, max: usize| {
            t.len() <= max && t.bytes().all(|b| b == b' ' || b.is_ascii_graphic())
        };
        if r.serial.is_empty() || !printable(&r.serial, 20) {
            return Err((
                ".remote_id.serial".into(),
                format!(
                    "{:?} is not a serial number (1 to 20 printable ASCII characters)",
                    r.serial
                ),
            ));
        }
        if !printable(&r.operator_id, 20) || !printable(&r.self_id, 23) {
            return Err((
                ".remote_id".into(),
                "operator_id (up to 20) or self_id (up to 23 printable ASCII characters) is too long or not ASCII".into(),
            ));
        }
        flight.remote_id = Some(RemoteIdSpec {
            serial: r.serial.clone(),
            mac,
            operator: r.operator,
            operator_id: r.operator_id.clone(),
            self_id: r.self_id.clone(),
            transport: r.transport,
        });
    }
    flight.transponder_off = f.transponder_off.clone();
    flight.jitter = f.jitter.clone();
    flight.spoof = f.spoof.clone();
    Ok(flight)
}

/// `v` when it is a finite number above 0 and at most a week's worth (of seconds or
/// metres), else an error naming `key`.
fn positive(key: &str, v: f64) -> Result<f64, String> {
    if v > 0.0 && v <= 604_800.0 {
        Ok(v)
    } else {
        Err(format!(
            "{key} {v} is out of range (expected 0 < {key} <= 604800)"
        ))
    }
}

fn leg_from_toml(l: &LegToml) -> Result<Leg, String> {
    if let Some(a) = l.alt_ft
        && !(-1000.0..=60_000.0).contains(&a)
    {
        return Err(format!("alt_ft {a} is out of range (-1000 to 60000)"));
    }
    if let Some(v) = l.speed_mps
        && !(0.0..=700.0).contains(&v)
    {
        return Err(format!("speed_mps {v} is out of range (0 to 700)"));
    }
    match (l.fly, l.orbit, l.racetrack) {
        (Some([lat, lon]), None, None) => {
            check_lat_lon(lat, lon)?;
            Ok(Leg::Fly {
                lat,
                lon,
                alt_ft: l.alt_ft,
                speed_mps: l.speed_mps,
            })
        }
        (None, Some([lat, lon]), None) => {
            check_lat_lon(lat, lon)?;
            Ok(Leg::Orbit {
                lat,
                lon,
                radius_m: positive("radius_m", l.radius_m.ok_or("an orbit needs radius_m")?)?,
                duration_s: positive(
                    "duration_s",
                    l.duration_s.ok_or("an orbit needs duration_s")?,
                )?,
                clockwise: l.clockwise,
            })
        }
        (None, None, Some([a, b])) => {
            check_lat_lon(a[0], a[1])?;
            check_lat_lon(b[0], b[1])?;
            Ok(Leg::Racetrack {
                a: (a[0], a[1]),
                b: (b[0], b[1]),
                duration_s: positive(
                    "duration_s",
                    l.duration_s.ok_or("a racetrack needs duration_s")?,
                )?,
            })
        }
        _ => Err("expected exactly one of `fly`, `orbit`, `racetrack`".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_country(_: &str) -> Option<Zone> {
        None
    }

    const MINIMAL: &str = r#"
name = "t"
start = "2023-11-14T22:00:00Z"
duration_s = 60
[[receivers]]
name = "r"
lat = 34.0
lon = 71.5
[[flights]]
icao24 = "700c01"
kind = "small-drone"
lat = 34.12
lon = 71.03
legs = [{ fly = [34.10, 71.13] }]
"#;

    #[test]
    fn parses_a_minimal_file() {
        let s = parse_scenario("t.toml", MINIMAL, &no_country).unwrap();
        assert_eq!(s.flights.len(), 1);
        assert_eq!(s.flights[0].icao24.as_u32(), 0x700c01);
        assert_eq!(
            s.flights[0].category.map(|c| c.to_string()),
            Some("B6".into())
        );
        assert_eq!(s.detection.confirm_s, 5.0);
    }

    #[test]
    fn syntax_error_names_its_line() {
        let bad = MINIMAL.replace("lon = 71.03", "lon = = 71.03");
        let e = parse_scenario("t.toml", &bad, &no_country).unwrap_err();
        assert!(e.0.starts_with("t.toml: line 13: "), "{}", e.0);
    }

    #[test]
    fn unknown_key_names_its_line() {
        let bad = MINIMAL.replace("kind = ", "knd = ");
        let e = parse_scenario("t.toml", &bad, &no_country).unwrap_err();
        assert!(e.0.starts_with("t.toml: line 11: "), "{}", e.0);
    }

    #[test]
    fn nan_and_negative_values_are_rejected() {
        let bad = MINIMAL.replace(
            "{ fly = [34.10, 71.13] }",
            "{ orbit = [34.10, 71.13], radius_m = nan, duration_s = 60 }",
        );
        let e = parse_scenario("t.toml", &bad, &no_country).unwrap_err();
        assert_eq!(
            e.0,
            "t.toml: flights[0].legs[0]: radius_m NaN is out of range (expected 0 < radius_m <= 604800)"
        );
        let bad = MINIMAL.replace("lon = 71.03", "lon = 71.03\nstart_s = -5");
        let e = parse_scenario("t.toml", &bad, &no_country).unwrap_err();
        assert_eq!(
            e.0,
            "t.toml: flights[0].start_s: -5 is out of range (0 to 604800)"
        );
    }

    #[test]
    fn bad_leg_names_its_key() {
        let bad = MINIMAL.replace("{ fly = [34.10, 71.13] }", "{ orbit = [34.10, 71.13] }");
        let e = parse_scenario("t.toml", &bad, &no_country).unwrap_err();
        assert_eq!(e.0, "t.toml: flights[0].legs[0]: an orbit needs radius_m");
    }
}
