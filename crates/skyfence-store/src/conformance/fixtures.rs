//! Incidents, events, positions and raw records for the conformance suite and the SQLite
//! tests: the same data for every backend.

use std::sync::Arc;

use skyfence_core::detect::{
    Classification, Event, Fix, Incident, IncidentId, IncidentStatus, TargetInfo,
};
use skyfence_core::{
    Callsign, EmitterCategory, GeoPoint, Icao24, Protocol, RawFrame, RawRecord, ShortName, Signal,
    TargetId, Timestamp,
};

use crate::{FrameRecord, PositionRecord, TrackPoint};

/// 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000_000;

/// KLM1023, ICAO 4840d6: the identification frame of "The 1090 MHz Riddle" (Junzi Sun),
/// `8D4840D6202CC371C32CE0576098`.
pub const KLM1023_IDENT: [u8; 14] = [
    0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
];
/// A DF11 all-call reply of ICAO 484fde from pyModeS's tests, `5D484FDEA248F5`.
pub const ALL_CALL_484FDE: [u8; 7] = [0x5d, 0x48, 0x4f, 0xde, 0xa2, 0x48, 0xf5];

/// `T0 + offset_s` seconds.
pub fn ts(offset_s: i64) -> Timestamp {
    Timestamp::from_micros(T0 + offset_s * 1_000_000)
}

/// The ICAO target `addr`.
pub fn target(addr: u32) -> TargetId {
    TargetId::Icao(Icao24::new(addr).expect("24-bit address"))
}

/// A Remote ID target (an ASTM F3411 serial number).
pub fn remote_id(id: &str) -> TargetId {
    TargetId::RemoteId(ShortName::new(id).expect("short name"))
}

/// A sensor's track number (a radar's or ASTERIX source's own track).
pub fn track(sensor: &str, number: u32) -> TargetId {
    TargetId::Track {
        sensor: ShortName::new(sensor).expect("short name"),
        number,
    }
}

/// The three kinds of target, for cases that must hold for each.
pub fn all_kinds() -> [TargetId; 3] {
    [
        target(0x4840d6),
        remote_id("1581F5FJD228500D"),
        track("radar-kbl", 4711),
    ]
}

/// An open incident of `addr` in `zone` entering at `ts(entered_s)`, last seen 10 s later.
pub fn open_incident(addr: u32, zone: &str, entered_s: i64) -> Incident {
    open_incident_of(target(addr), zone, entered_s)
}

/// An open incident of target `t` in `zone` entering at `ts(entered_s)`, last seen 10 s
/// later.
pub fn open_incident_of(t: TargetId, zone: &str, entered_s: i64) -> Incident {
    let entered_at = ts(entered_s);
    let icao = t.icao().is_some();
    Incident {
        id: IncidentId::derive(t, zone, entered_at),
        zone: zone.to_string(),
        target: TargetInfo {
            id: t,
            callsign: if icao {
                Callsign::new(b"KLM1023")
            } else {
                None
            },
            category: if icao {
                EmitterCategory::new(b'B', 6)
            } else {
                None
            },
        },
        classification: Classification::Uav,
        authorised: false,
        permit: None,
        status: IncidentStatus::Open,
        entry_observed: true,
        entered_at,
        exited_at: None,
        last_seen_at: ts(entered_s + 10),
        entry: Fix::new(GeoPoint::new(33.2177, 69.8813), Some(48000)),
        exit: None,
        duration_s: 10.0,
        max_depth_m: 1250.5,
        max_alt_ft: Some(48000),
        reports: 20,
        cooperative: None,
        sensors: Vec::new(),
        operator: None,
        remoteid: None,
        verification: None,
    }
}

/// `i` closed at `ts(exit_s)`.
pub fn closed(i: &Incident, exit_s: i64) -> Incident {
    let mut c = i.clone();
    c.status = IncidentStatus::Closed;
    c.exited_at = Some(ts(exit_s));
    c.last_seen_at = ts(exit_s);
    c.exit = Some(Fix::new(GeoPoint::new(33.2511, 69.8889), Some(47000)));
    c.duration_s = (exit_s as f64) - c.entered_at.secs_since(ts(0));
    c.reports += 5;
    c
}

/// `i` lost, silent since `ts(last_s)`.
pub fn lost(i: &Incident, last_s: i64) -> Incident {
    let mut c = i.clone();
    c.status = IncidentStatus::Lost;
    c.last_seen_at = ts(last_s);
    c
}

/// The `confirmed` event of `i`, 5 s after its entry.
pub fn confirmed(i: &Incident) -> Event {
    Event::Confirmed {
        at: i.entered_at.add_micros(5_000_000),
        incident: i.clone(),
    }
}

/// The `closed` event of the closed incident `i`.
pub fn closed_event(i: &Incident) -> Event {
    Event::Closed {
        at: i.exited_at.expect("closed incident"),
        incident: i.clone(),
    }
}

/// An approach of `addr` to `zone` at `ts(at_s)`.
pub fn approach(addr: u32, zone: &str, at_s: i64) -> Event {
    approach_of(target(addr), zone, at_s)
}

/// An approach of target `t` to `zone` at `ts(at_s)`.
pub fn approach_of(t: TargetId, zone: &str, at_s: i64) -> Event {
    Event::Approach {
        at: ts(at_s),
        zone: zone.to_string(),
        target: TargetInfo {
            id: t,
            callsign: None,
            category: None,
        },
        position: Fix::new(GeoPoint::new(33.1, 69.7), None),
    }
}

/// A position of `addr` at `ts(at_s)` moving north 0.001° a second.
pub fn position(addr: u32, at_s: i64) -> PositionRecord {
    position_of(target(addr), at_s)
}

/// A position of target `t` at `ts(at_s)` moving north 0.001° a second.
pub fn position_of(t: TargetId, at_s: i64) -> PositionRecord {
    PositionRecord {
        target: t,
        point: TrackPoint {
            at: ts(at_s),
            lat: 33.2 + at_s as f64 * 0.001,
            lon: 69.881_3,
            alt_ft: if at_s % 2 == 0 { Some(48000) } else { None },
        },
    }
}

/// The KLM1023 frame as heard by `source` at `ts(at_s)` plus `micros`.
pub fn frame(addr: u32, at_s: i64, micros: i64, source: &Arc<str>) -> FrameRecord {
    FrameRecord {
        target: target(addr),
        at: ts(at_s).add_micros(micros),
        source: source.clone(),
        record: RawFrame {
            bytes: KLM1023_IDENT,
            len: 14,
            signal: Some(0x8c),
            mlat: false,
        }
        .into(),
    }
}

/// The DF11 all-call of 484fde as heard by `source` at `ts(at_s)`: no signal level, MLAT.
pub fn short_frame(addr: u32, at_s: i64, source: &Arc<str>) -> FrameRecord {
    let mut bytes = [0; 14];
    bytes[..7].copy_from_slice(&ALL_CALL_484FDE);
    FrameRecord {
        target: target(addr),
        at: ts(at_s),
        source: source.clone(),
        record: RawFrame {
            bytes,
            len: 7,
            signal: None,
            mlat: true,
        }
        .into(),
    }
}

/// A raw record of the protocol that fits target `t` (Mode S for ICAO, an ASTM F3411
/// message pack of 50 bytes with a dBm signal for Remote ID, an ASTERIX CAT048 record of
/// 20 bytes for a track) heard by `source` at `ts(at_s)`.
pub fn record_of(t: TargetId, at_s: i64, source: &Arc<str>) -> FrameRecord {
    let record = match t {
        TargetId::Icao(_) => RawRecord::from(RawFrame {
            bytes: KLM1023_IDENT,
            len: 14,
            signal: Some(0x8c),
            mlat: false,
        }),
        TargetId::RemoteId(_) => {
            // Message pack (type 0xF), 2 messages of 25 bytes after the 3-byte header,
            // padded; the content is opaque to the store.
            let data: Vec<u8> = (0..50u8).map(|i| 0xf2 ^ i).collect();
            let mut r = RawRecord::new(Protocol::RemoteId, &data);
            r.signal = Some(Signal::Dbm(-71));
            r
        }
        TargetId::Track { .. } => {
            let mut data = vec![48, 0, 20];
            data.extend((0..17u8).map(|i| i.wrapping_mul(37)));
            RawRecord::new(Protocol::Asterix, &data)
        }
    };
    FrameRecord {
        target: t,
        at: ts(at_s),
        source: source.clone(),
        record,
    }
}
