//! Named cases of `skyfence analyze` through the real binary, on recordings built with
//! skyfence's own encoders: what the decoder must keep away from the detector.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use skyfence_core::{Callsign, EmitterCategory, GeoPoint, Icao24, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::adsb::{encode_airborne_position, encode_identification};
use skyfence_decode::raw::encode_raw_line;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

/// A 0.2° square near Torkham (34.0–34.2 N, 71.0–71.2 E), surface to unlimited.
const ZONE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
"properties":{"name":"BOX","buffer_m":2000},"geometry":{"type":"Polygon","coordinates":
[[[71.0,34.0],[71.2,34.0],[71.2,34.2],[71.0,34.2],[71.0,34.0]]]}}]}"#;

fn temp_dir(name: &str) -> skyfence_testkit::scratch::Scratch {
    skyfence_testkit::scratch::scratch_dir(&format!("skyfence-cases-{name}-"))
}

/// A UAV (B6) flying east along 34.1 N from 70.90 E, reporting every 0.5 s for
/// `seconds`, alternating even/odd, at `speed_deg_s` degrees of longitude a second.
/// `corrupt(k)` decides whether report k has one bit flipped (CRC no longer checks).
fn flight(seconds: u32, speed_deg_s: f64, corrupt: impl Fn(u32, f64) -> bool) -> Vec<Frame> {
    let icao = Icao24::new(0x700c0a).unwrap();
    let t0 = Timestamp::from_secs(1_700_000_000);
    let ident = encode_identification(
        icao,
        EmitterCategory::new(b'B', 6),
        &Callsign::new(b"TESTUAV").unwrap(),
    )
    .unwrap();
    let mut frames = vec![Frame::new(t0, &ident).unwrap()];
    for k in 0..seconds * 2 {
        let t = f64::from(k) * 0.5;
        let lon = 70.90 + speed_deg_s * t;
        let mut bytes =
            encode_airborne_position(icao, GeoPoint::new(34.1, lon), Some(3000), k % 2 == 1)
                .unwrap();
        if corrupt(k, lon) {
            bytes[7] ^= 0x10;
        }
        let at = t0.add_micros((t * 1e6) as i64 + 10_000);
        frames.push(Frame::new(at, &bytes).unwrap());
    }
    frames
}

fn analyze(dir: &Path, frames: &[Frame]) -> (Vec<Value>, Vec<Value>, String) {
    let mut text = String::from("timestamp,rawmsg\n");
    for f in frames {
        encode_raw_line(f, &mut text);
    }
    std::fs::write(dir.join("rec.csv"), text).unwrap();
    std::fs::write(dir.join("zone.geojson"), ZONE).unwrap();
    let out = Command::new(BIN)
        .args(["analyze", "--input"])
        .arg(format!("raw:{}", dir.join("rec.csv").display()))
        .arg("--zones")
        .arg(dir.join("zone.geojson"))
        .arg("--out")
        .arg(dir.join("incidents.jsonl"))
        .arg("--events")
        .arg(dir.join("events.jsonl"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let read = |name: &str| -> Vec<Value> {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    (read("incidents.jsonl"), read("events.jsonl"), stderr)
}

#[test]
fn crc_corrupted_frames_carrying_positions_inside_make_no_incident() {
    let dir = temp_dir("crc");
    // Control: 60 s east at 0.004°/s (70.90 → 71.14 E) enters the box at 71.0 E after
    // 25 s and stays inside for 35 s: one incident.
    let fast = flight(60, 0.004, |_, _| false);
    let (incidents, events, _) = analyze(&dir, &fast);
    assert_eq!(incidents.len(), 1, "control: the intact flight enters BOX");
    assert_eq!(incidents[0]["zone"], "BOX");
    assert_eq!(incidents[0]["classification"], "uav");
    assert!(events.iter().any(|e| e["event"] == "confirmed"));

    // The same flight with every frame east of 70.99 E corrupted: positions that would
    // place it inside never pass the CRC, so nothing enters.
    let corrupted = flight(60, 0.004, |_, lon| lon > 70.99);
    let (incidents, events, stderr) = analyze(&dir, &corrupted);
    assert!(incidents.is_empty(), "{incidents:?}");
    assert!(
        events.iter().all(|e| e["event"] == "approach"),
        "{events:?}"
    );
    let dropped = stderr
        .split_whitespace()
        .find_map(|w| w.strip_prefix("bad_crc="))
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(0);
    assert!(
        dropped > 30,
        "corrupted frames are counted as bad_crc: {stderr}"
    );
}

#[test]
fn events_file_holds_every_event_in_time_order() {
    let dir = temp_dir("events");
    // In and out again: 70.90 → 71.30 E crosses the whole box.
    let frames = flight(100, 0.004, |_, _| false);
    let (incidents, events, _) = analyze(&dir, &frames);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["status"], "closed");
    assert_eq!(incidents[0]["entry_observed"], true);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["approach", "confirmed", "closed"], "{events:?}");
    let times: Vec<Timestamp> = events
        .iter()
        .map(|e| Timestamp::parse_rfc3339(e["at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    // The confirmed and closed events carry the incident, with its final id.
    assert_eq!(events[1]["incident"]["id"], incidents[0]["id"]);
    assert_eq!(events[2]["incident"], incidents[0]);
}
