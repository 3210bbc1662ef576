//! `Observation`: what every source is normalised into before detection.
//!
//! Kept `Copy` and allocation-free: millions pass through the core each second.

use std::fmt;

use crate::{GeoPoint, Icao24, ShortName, TargetId, Timestamp};

/// Which datum an altitude is measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AltitudeDatum {
    /// Pressure altitude referenced to 1013.25 hPa (Mode S / ADS-B barometric altitude).
    Barometric,
    /// Height above the WGS-84 ellipsoid (ADS-B GNSS height, TC 20–22).
    Geometric,
}

/// An altitude in feet with its datum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Altitude {
    /// Feet.
    pub feet: i32,
    /// What the feet are measured from.
    pub datum: AltitudeDatum,
}

/// Horizontal and vertical motion as reported by the target.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Velocity {
    /// Ground speed, knots (or airspeed when `airspeed` is set).
    pub gs_kt: Option<f32>,
    /// Track over ground (or heading when `airspeed` is set), degrees clockwise from true north.
    pub track_deg: Option<f32>,
    /// Vertical rate, feet per minute, positive up.
    pub vrate_fpm: Option<i32>,
}

/// An 8-character flight identification (ADS-B TC 1–4), stored inline without allocation.
/// Trailing spaces are trimmed on display.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Callsign([u8; 8]);

impl Callsign {
    /// From up to 8 ASCII bytes; `None` when any byte is not printable ASCII.
    pub fn new(text: &[u8]) -> Option<Self> {
        if text.len() > 8 || !text.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            return None;
        }
        let mut b = [b' '; 8];
        b[..text.len()].copy_from_slice(text);
        Some(Callsign(b))
    }

    /// The callsign without trailing spaces.
    pub fn as_str(&self) -> &str {
        let end = self.0.iter().rposition(|&c| c != b' ').map_or(0, |i| i + 1);
        // Construction admits only ASCII, so this cannot fail.
        std::str::from_utf8(&self.0[..end]).unwrap_or("")
    }
}

impl fmt::Display for Callsign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Callsign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Callsign({:?})", self.as_str())
    }
}

impl serde::Serialize for Callsign {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// ADS-B emitter category (DO-260B §2.2.3.2.5.2): the set from the type code (TC 4 → A,
/// 3 → B, 2 → C, 1 → D) and the 3-bit category within it. Written as readsb writes it:
/// `"A3"` (large aircraft), `"B6"` (unmanned aerial vehicle).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EmitterCategory {
    set: u8,
    category: u8,
}

impl EmitterCategory {
    /// From set letter `b'A'..=b'D'` and category 0–7.
    pub fn new(set: u8, category: u8) -> Option<Self> {
        ((b'A'..=b'D').contains(&set) && category <= 7).then_some(EmitterCategory { set, category })
    }

    /// From an ADS-B identification type code (1–4) and the 3-bit CA field.
    pub fn from_type_code(tc: u8, ca: u8) -> Option<Self> {
        let set = match tc {
            4 => b'A',
            3 => b'B',
            2 => b'C',
            1 => b'D',
            _ => return None,
        };
        Self::new(set, ca)
    }

    /// Set letter, `b'A'..=b'D'`.
    pub fn set(self) -> u8 {
        self.set
    }

    /// Category within the set, 0–7.
    pub fn category(self) -> u8 {
        self.category
    }

    /// Category B6: unmanned aerial vehicle.
    pub fn is_uav(self) -> bool {
        self.set == b'B' && self.category == 6
    }
}

impl fmt::Display for EmitterCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.set as char, self.category)
    }
}

impl std::str::FromStr for EmitterCategory {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b = s.as_bytes();
        if b.len() == 2
            && b[1].is_ascii_digit()
            && let Some(c) = EmitterCategory::new(b[0].to_ascii_uppercase(), b[1] - b'0')
        {
            return Ok(c);
        }
        Err(format!(
            "invalid emitter category {s:?}: expected A0..D7, e.g. \"B6\""
        ))
    }
}

impl serde::Serialize for EmitterCategory {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A Mode A code (squawk), 4 octal digits, kept as its 12-bit value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Squawk(u16);

impl Squawk {
    /// From the 12-bit value (digits A B C D as 3 bits each, A most significant).
    pub fn new(code: u16) -> Option<Self> {
        (code <= 0o7777).then_some(Squawk(code))
    }

    /// The 12-bit value.
    pub fn value(self) -> u16 {
        self.0
    }
}

impl fmt::Display for Squawk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl serde::Serialize for Squawk {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What a target says about itself.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Identity {
    /// Flight identification.
    pub callsign: Option<Callsign>,
    /// Emitter category.
    pub category: Option<EmitterCategory>,
    /// Mode A code.
    pub squawk: Option<Squawk>,
}

/// A small interned source id (index into the runtime's list of configured sources).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub u16);

/// The raw Mode S frame as a Mode S receiver delivers it: up to 14 bytes, the receiver's
/// signal level and whether it was synthesised by multilateration rather than received
/// over the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RawFrame {
    /// Frame bytes; only the first `len` are meaningful.
    pub bytes: [u8; 14],
    /// 7 (short, 56 bits) or 14 (long, 112 bits).
    pub len: u8,
    /// Receiver signal byte (Beast: RSSI as sqrt(power) scaled to 255), when known.
    pub signal: Option<u8>,
    /// True when the frame carried the MLAT magic timestamp (not received over the air).
    pub mlat: bool,
}

impl RawFrame {
    /// The meaningful bytes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// The surveillance protocol raw evidence is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Protocol {
    /// A Mode S / ADS-B frame (7 or 14 bytes): `modes`.
    ModeS,
    /// One ASTERIX record with its data block's category: `asterix`.
    Asterix,
    /// One ASTM F3411 Remote ID message or message pack: `remoteid`.
    RemoteId,
    /// A multilateration fix with the copies it was computed from (each receiver's
    /// position, raw timestamp and clock offset; `skyfence_mlat::evidence`): `mlat`.
    Mlat,
}

impl Protocol {
    /// The name in JSON, evidence and bundles.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::ModeS => "modes",
            Protocol::Asterix => "asterix",
            Protocol::RemoteId => "remoteid",
            Protocol::Mlat => "mlat",
        }
    }

    /// The code in the canonical evidence encoding.
    pub const fn code(self) -> u8 {
        match self {
            Protocol::ModeS => 0x01,
            Protocol::Asterix => 0x02,
            Protocol::RemoteId => 0x03,
            Protocol::Mlat => 0x04,
        }
    }

    /// Reads [`Self::code`] back.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0x01 => Some(Protocol::ModeS),
            0x02 => Some(Protocol::Asterix),
            0x03 => Some(Protocol::RemoteId),
            0x04 => Some(Protocol::Mlat),
            _ => None,
        }
    }
}

impl std::str::FromStr for Protocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "modes" => Ok(Protocol::ModeS),
            "asterix" => Ok(Protocol::Asterix),
            "remoteid" => Ok(Protocol::RemoteId),
            "mlat" => Ok(Protocol::Mlat),
            other => Err(format!(
                "unknown protocol {other:?}: expected modes, asterix, remoteid or mlat"
            )),
        }
    }
}

/// How strongly a record was received.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Signal {
    /// A receiver's own 0–255 level (Beast: sqrt(power) scaled to 255).
    Level(u8),
    /// Received signal strength, dBm (Bluetooth / Wi-Fi RSSI).
    Dbm(i8),
}

/// Record bytes: inline up to the length of a Mode S frame (no allocation on the hot
/// path), shared beyond (an ASTERIX record or a Remote ID message pack).
#[derive(Clone, PartialEq, Eq, Hash)]
enum RawBytes {
    Inline { len: u8, buf: [u8; 14] },
    Shared(std::sync::Arc<[u8]>),
}

/// Raw evidence as it arrived: protocol-tagged bytes of any length with the receiver's
/// signal (ARCHITECTURE.md, invariant 5). Its sensor and receive time are the
/// observation's `source` and `at`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawRecord {
    /// The protocol of `bytes`.
    pub proto: Protocol,
    /// The receiver's signal, when it reports one.
    pub signal: Option<Signal>,
    /// True when synthesised by multilateration rather than received over the air.
    pub mlat: bool,
    bytes: RawBytes,
}

impl RawRecord {
    /// A record of `proto` holding `data`.
    pub fn new(proto: Protocol, data: &[u8]) -> Self {
        let bytes = if data.len() <= 14 {
            let mut buf = [0u8; 14];
            buf[..data.len()].copy_from_slice(data);
            RawBytes::Inline {
                len: data.len() as u8,
                buf,
            }
        } else {
            RawBytes::Shared(data.into())
        };
        RawRecord {
            proto,
            signal: None,
            mlat: false,
            bytes,
        }
    }

    /// The record's bytes.
    pub fn data(&self) -> &[u8] {
        match &self.bytes {
            RawBytes::Inline { len, buf } => &buf[..usize::from(*len)],
            RawBytes::Shared(b) => b,
        }
    }

    /// The Mode S frame, when this is one (7 or 14 bytes of `modes`).
    pub fn mode_s(&self) -> Option<RawFrame> {
        match (&self.bytes, self.proto) {
            (RawBytes::Inline { len, buf }, Protocol::ModeS) if *len == 7 || *len == 14 => {
                Some(RawFrame {
                    bytes: *buf,
                    len: *len,
                    signal: match self.signal {
                        Some(Signal::Level(l)) => Some(l),
                        _ => None,
                    },
                    mlat: self.mlat,
                })
            }
            _ => None,
        }
    }
}

impl From<RawFrame> for RawRecord {
    fn from(f: RawFrame) -> Self {
        let mut r = RawRecord::new(Protocol::ModeS, f.data());
        r.signal = f.signal.map(Signal::Level);
        r.mlat = f.mlat;
        r
    }
}

impl fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawRecord({} ", self.proto.as_str())?;
        for b in self.data() {
            write!(f, "{b:02x}")?;
        }
        write!(f, ", {:?}, mlat {})", self.signal, self.mlat)
    }
}

/// How a position was obtained.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PositionKind {
    /// Broadcast by the target itself over ADS-B (CPR-decoded): `adsb`.
    #[default]
    Adsb,
    /// Located from times of arrival at several receivers: `mlat`.
    Mlat,
    /// Measured by a radar, or by a tracker fusing radars: `radar`.
    Radar,
    /// Broadcast by a drone over Remote ID: `remoteid`.
    RemoteId,
    /// Reported by a receiver's BaseStation (SBS) feed, already decoded: `sbs`.
    Sbs,
}

impl PositionKind {
    /// The name in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            PositionKind::Adsb => "adsb",
            PositionKind::Mlat => "mlat",
            PositionKind::Radar => "radar",
            PositionKind::RemoteId => "remoteid",
            PositionKind::Sbs => "sbs",
        }
    }
}

/// The 95 % horizontal position bound of an ADS-B Navigation Accuracy Category for
/// Position (DO-260B §2.2.3.2.7.2.7, Table 2-70: Estimated Position Uncertainty), in
/// metres; `None` for NACp 0 (unknown or ≥ 10 NM) and values above 11. The one place
/// skyfence turns a NACp into an accuracy.
pub const fn nacp_epu95_m(nacp: u8) -> Option<f64> {
    Some(match nacp {
        11 => 3.0,
        10 => 10.0,
        9 => 30.0,
        8 => 92.6,
        7 => 185.2,
        6 => 555.6,
        5 => 926.0,
        4 => 1852.0,
        3 => 3704.0,
        2 => 7408.0,
        1 => 18_520.0,
        _ => return None,
    })
}

/// Where a drone's operator (remote pilot) stands, from Remote ID System and Operator ID
/// messages (ASTM F3411): incident key `operator`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OperatorFix {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// The operator's registration (Operator ID message), when heard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// When the position was valid: the System message's time, else its receive time.
    pub at: Timestamp,
    /// Where the operator stood over time, oldest first (see [`OperatorFix::moved_to`]);
    /// absent in incidents written before the key existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub track: Vec<OperatorPoint>,
}

/// One position of an operator's track (incident key `operator.track`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OperatorPoint {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// When the operator was first reported there.
    pub at: Timestamp,
}

impl OperatorFix {
    /// A track point is added when the operator has moved this far from the last one:
    /// System positions of a standing operator wander by the GNSS error (a few metres),
    /// which is no move.
    pub const TRACK_STEP_M: f64 = 15.0;
    /// The most track points kept: when the track is full and the operator moves
    /// again, every other point is dropped (the first kept) before the new one is
    /// added, so the track spans the whole flight at a coarser step and costs at most
    /// 6 × 24 bytes (within the 1 KB a tracked drone may cost, measured with a walking
    /// operator in the decode crate's `remoteid_memory` test).
    pub const TRACK_MAX: usize = 6;

    /// The operator first reported at `lat`, `lon` at `at`.
    pub fn new(lat: f64, lon: f64, id: Option<String>, at: Timestamp) -> Self {
        OperatorFix {
            lat,
            lon,
            id,
            at,
            track: vec![OperatorPoint { lat, lon, at }],
        }
    }

    /// Whether a report of the operator at `lat`, `lon` at `at` changes this fix.
    pub fn changes(&self, lat: f64, lon: f64, at: Timestamp) -> bool {
        (self.lat, self.lon, self.at) != (lat, lon, at)
    }

    /// The operator reported at `lat`, `lon` at `at`: the latest position, and a new
    /// track point when it is at least [`Self::TRACK_STEP_M`] from the last one.
    /// Reports older than the latest (a late copy from another path) change nothing.
    pub fn moved_to(&mut self, lat: f64, lon: f64, at: Timestamp) {
        if at < self.at {
            return;
        }
        (self.lat, self.lon, self.at) = (lat, lon, at);
        let moved = self.track.last().is_none_or(|p| {
            crate::airspace::geodesy::lambert_distance_m(p.lat, p.lon, lat, lon)
                >= Self::TRACK_STEP_M
        });
        if moved {
            if self.track.len() >= Self::TRACK_MAX {
                let mut i = 0;
                self.track.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
            }
            // Grown one point at a time: the track never holds spare capacity.
            self.track.reserve_exact(1);
            self.track.push(OperatorPoint { lat, lon, at });
        }
    }
}

/// What a drone says about itself over Remote ID besides its position: carried by
/// Remote ID observations, kept by the track, printed in incidents (incident keys
/// `operator` and `remoteid`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RemoteIdInfo {
    /// The UA type (Basic ID), e.g. `helicopter_or_multirotor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ua_type: Option<String>,
    /// Self-ID text (the operator's description of the flight).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_id: Option<String>,
    /// Whether an Authentication message was heard from the drone (not verified).
    #[serde(default)]
    pub authentication: bool,
    /// The operator's position and id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorFix>,
}

/// One normalised report about one target at one instant. Everything the detection core
/// knows arrives as an `Observation`, whichever sensor produced it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// Who.
    pub target: TargetId,
    /// When: the time carried by the data (receive time for live feeds).
    pub at: Timestamp,
    /// Where, once resolved (CPR decoded, measured or reported directly).
    pub position: Option<GeoPoint>,
    /// How `position` was obtained.
    pub position_kind: PositionKind,
    /// The 95 % horizontal bound of `position`'s error, metres, when known.
    pub accuracy_m: Option<f32>,
    /// How high.
    pub altitude: Option<Altitude>,
    /// How it moves.
    pub velocity: Option<Velocity>,
    /// What it says it is.
    pub identity: Identity,
    /// Which configured source (sensor) heard it.
    pub source: SourceId,
    /// The named sensor whose data this is, when known: a radar, tracker or ADS-B
    /// station by its SAC/SIC, a Mode S receiver named by its input or source
    /// (`FMT:PATH@SENSOR`, `[[source]] sensor`). Incidents list these in `sensors`.
    pub sensor: Option<ShortName>,
    /// The raw record, when the source delivers records (not for SBS).
    pub raw: Option<RawRecord>,
    /// Navigation accuracy category for position (NACp 0–11, DO-260B Table 2-70) the
    /// target last announced in this report (ADS-B operational status or target state);
    /// `None` when this report carries none. The track keeps the last one seen, so a
    /// position's accuracy can be stated downstream (Cursor-on-Target `ce`).
    pub nacp: Option<u8>,
    /// What a Remote ID drone says about itself and its operator, as assembled so far;
    /// `None` for other protocols.
    pub remoteid: Option<std::sync::Arc<RemoteIdInfo>>,
}

impl Observation {
    /// An observation of `target` at `at` carrying nothing else yet.
    pub fn of(target: TargetId, at: Timestamp) -> Self {
        Observation {
            target,
            at,
            position: None,
            position_kind: PositionKind::default(),
            accuracy_m: None,
            altitude: None,
            velocity: None,
            identity: Identity::default(),
            source: SourceId::default(),
            sensor: None,
            raw: None,
            nacp: None,
            remoteid: None,
        }
    }

    /// An observation of `icao` at `at` carrying nothing else yet.
    pub fn new(icao: Icao24, at: Timestamp) -> Self {
        Self::of(TargetId::Icao(icao), at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callsign_trims_and_rejects_non_ascii() {
        assert_eq!(Callsign::new(b"KLM1023 ").unwrap().as_str(), "KLM1023");
        assert_eq!(Callsign::new(b"").unwrap().as_str(), "");
        assert!(Callsign::new(b"KLM1023XX").is_none());
        assert!(Callsign::new(&[0xc3, 0xa9]).is_none());
    }

    #[test]
    fn emitter_category_as_readsb_writes_it() {
        let uav = EmitterCategory::from_type_code(3, 6).unwrap();
        assert_eq!(uav.to_string(), "B6");
        assert!(uav.is_uav());
        assert_eq!(
            EmitterCategory::from_type_code(4, 3).unwrap().to_string(),
            "A3"
        );
        assert!(EmitterCategory::from_type_code(5, 0).is_none());
        assert_eq!("a3".parse::<EmitterCategory>().unwrap().to_string(), "A3");
        assert!("E1".parse::<EmitterCategory>().is_err());
    }

    #[test]
    fn squawk_prints_four_octal_digits() {
        assert_eq!(Squawk::new(0o7700).unwrap().to_string(), "7700");
        assert_eq!(Squawk::new(0o0042).unwrap().to_string(), "0042");
        assert!(Squawk::new(0o10000).is_none());
    }

    #[test]
    fn raw_records_keep_mode_s_frames_inline_and_longer_records_whole() {
        let frame = RawFrame {
            bytes: [
                0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
            ],
            len: 14,
            signal: Some(0x80),
            mlat: false,
        };
        let r = RawRecord::from(frame);
        assert_eq!((r.proto, r.data()), (Protocol::ModeS, frame.data()));
        assert_eq!(r.signal, Some(Signal::Level(0x80)));
        assert_eq!(r.mode_s(), Some(frame));
        let long: Vec<u8> = (0..=60).collect();
        let a = RawRecord::new(Protocol::Asterix, &long);
        assert_eq!(a.data(), &long[..]);
        assert_eq!(a.mode_s(), None);
        for p in [Protocol::ModeS, Protocol::Asterix, Protocol::RemoteId] {
            assert_eq!(Protocol::from_code(p.code()), Some(p));
            assert_eq!(p.as_str().parse::<Protocol>(), Ok(p));
        }
    }

    #[test]
    fn nacp_table() {
        assert_eq!(nacp_epu95_m(9), Some(30.0));
        assert_eq!(nacp_epu95_m(1), Some(18_520.0));
        assert_eq!(nacp_epu95_m(0), None);
        assert_eq!(nacp_epu95_m(12), None);
    }

    #[test]
    fn observation_stays_small() {
        // Moved millions of times per second through channels: keep it within two and a
        // half cache lines. It held 128 bytes while targets were ICAO addresses and raw
        // evidence a Mode S frame; a sensor-neutral TargetId (32 bytes: a Remote ID or a
        // sensor's track inline) and a protocol-tagged RawRecord (32: a Mode S frame
        // inline, longer records shared) cost 32 more; a Remote ID drone's shared
        // self-description (one pointer, `None` for other protocols) 8 more; the named
        // sensor (a `ShortName` inline, so an incident can list every sensor that saw
        // the target without a lookup table shared by ingest and detector) 24 more.
        // Benches hold the speed.
        assert!(
            std::mem::size_of::<Observation>() <= 192,
            "{}",
            std::mem::size_of::<Observation>()
        );
    }
}

#[cfg(test)]
mod operator_track {
    use super::{OperatorFix, OperatorPoint};
    use crate::Timestamp;

    const M_PER_DEG_LAT: f64 = 110_600.0; // near 30° N

    #[test]
    fn a_standing_operator_is_one_point_and_a_walking_one_a_track() {
        let t = Timestamp::from_secs;
        let mut op = OperatorFix::new(30.94, 66.37, None, t(0));
        // GNSS wander of a few metres is no move.
        for k in 1..10 {
            let jitter = if k % 2 == 0 { 4.0 } else { -4.0 } / M_PER_DEG_LAT;
            op.moved_to(30.94 + jitter, 66.37, t(k));
        }
        assert_eq!(op.track.len(), 1);
        assert_eq!(op.at, t(9));
        // Walking 20 m north every 10 s: a point per step.
        for k in 1..=5 {
            op.moved_to(
                30.94 + 20.0 * f64::from(k) / M_PER_DEG_LAT,
                66.37,
                t(10 * i64::from(k) + 10),
            );
        }
        assert_eq!(op.track.len(), 6);
        assert_eq!(op.track[5].at, t(60));
        assert_eq!((op.lat, op.at), (op.track[5].lat, t(60)));
        // A late copy of an older report changes nothing.
        let before = op.clone();
        op.moved_to(31.0, 66.0, t(30));
        assert_eq!(op, before);
    }

    #[test]
    fn a_long_walk_is_thinned_keeping_the_first_and_the_newest_point() {
        let t = Timestamp::from_secs;
        let mut op = OperatorFix::new(30.0, 66.0, Some("OP".into()), t(0));
        for k in 1..=100 {
            op.moved_to(30.0 + 50.0 * k as f64 / M_PER_DEG_LAT, 66.0, t(k));
            assert!(
                op.track.len() <= OperatorFix::TRACK_MAX,
                "{}",
                op.track.len()
            );
            assert_eq!(op.track.first().map(|p| p.at), Some(t(0)));
            assert_eq!(op.track.last().map(|p| p.at), Some(t(k)));
            assert!(op.track.windows(2).all(|w| w[0].at < w[1].at));
        }
        assert!(op.track.len() >= OperatorFix::TRACK_MAX / 2);
        // Serialised under `track`, each point `lat`, `lon`, `at`; absent when empty.
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["track"][0]["lat"], 30.0);
        assert_eq!(json["track"][0]["at"], "1970-01-01T00:00:00.000Z");
        let mut old = op.clone();
        old.track.clear();
        let text = serde_json::to_string(&old).unwrap();
        assert!(!text.contains("track"), "{text}");
        let back: OperatorFix = serde_json::from_str(&text).unwrap();
        assert_eq!(back.track, Vec::<OperatorPoint>::new());
    }
}
