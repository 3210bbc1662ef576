//! Incidents, events, positions and frames for the store tests.
#![allow(dead_code)] // each test file uses a different part

use std::sync::Arc;

use skyfence_core::detect::{
    Classification, Event, Fix, Incident, IncidentId, IncidentStatus, TargetInfo,
};
use skyfence_core::{Callsign, EmitterCategory, GeoPoint, Icao24, RawFrame, TargetId, Timestamp};
use skyfence_store::{FrameRecord, PositionRecord, TrackPoint};

/// 2023-11-14T22:13:20Z.
pub const T0: i64 = 1_700_000_000_000_000;

/// KLM1023, ICAO 4840d6: the identification frame of "The 1090 MHz Riddle" (Junzi Sun),
/// `8D4840D6202CC371C32CE0576098`.
pub const KLM1023_IDENT: [u8; 14] = [
    0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
];
/// A DF11 all-call reply of ICAO 484fde from pyModeS's tests, `5D484FDEA248F5`.
pub const ALL_CALL_484FDE: [u8; 7] = [0x5d, 0x48, 0x4f, 0xde, 0xa2, 0x48, 0xf5];

pub fn ts(offset_s: i64) -> Timestamp {
    Timestamp::from_micros(T0 + offset_s * 1_000_000)
}

pub fn target(addr: u32) -> TargetId {
    TargetId::Icao(Icao24::new(addr).expect("24-bit address"))
}

/// An open incident of `addr` in `zone` entering at `ts(entered_s)`, last seen 10 s later.
pub fn open_incident(addr: u32, zone: &str, entered_s: i64) -> Incident {
    let t = target(addr);
    let entered_at = ts(entered_s);
    Incident {
        id: IncidentId::derive(t, zone, entered_at),
        zone: zone.to_string(),
        target: TargetInfo {
            id: t,
            callsign: Callsign::new(b"KLM1023"),
            category: EmitterCategory::new(b'B', 6),
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

pub fn confirmed(i: &Incident) -> Event {
    Event::Confirmed {
        at: i.entered_at.add_micros(5_000_000),
        incident: i.clone(),
    }
}

pub fn closed_event(i: &Incident) -> Event {
    Event::Closed {
        at: i.exited_at.expect("closed incident"),
        incident: i.clone(),
    }
}

pub fn approach(addr: u32, zone: &str, at_s: i64) -> Event {
    Event::Approach {
        at: ts(at_s),
        zone: zone.to_string(),
        target: TargetInfo {
            id: target(addr),
            callsign: None,
            category: None,
        },
        position: Fix::new(GeoPoint::new(33.1, 69.7), None),
    }
}

/// A position of `addr` at `ts(at_s)` moving north 0.001° a second.
pub fn position(addr: u32, at_s: i64) -> PositionRecord {
    PositionRecord {
        target: target(addr),
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
        frame: RawFrame {
            bytes: KLM1023_IDENT,
            len: 14,
            signal: Some(0x8c),
            mlat: false,
        },
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
        frame: RawFrame {
            bytes,
            len: 7,
            signal: None,
            mlat: true,
        },
    }
}

/// A temporary directory and the path of a store file inside it (kept while the
/// directory lives).
pub fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("skyfence.db");
    (dir, path)
}
