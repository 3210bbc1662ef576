//! `skyfence analyze` and `skyfence decode` of an ASTERIX recording through the real
//! binary: a drone without transponder, seen by one radar alone, crosses a zone and
//! becomes an incident of a track (`cooperative: false`), with its times of day
//! anchored on the date of `--start` across midnight.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use skyfence_core::{Icao24, Timestamp};
use skyfence_decode::asterix::{Detection, Polar, Report, Service, ServiceKind, encode};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

/// A 0.2° square (34.0–34.2 N, 71.0–71.2 E), surface to unlimited.
const ZONE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
"properties":{"name":"BOX","buffer_m":2000},"geometry":{"type":"Polygon","coordinates":
[[[71.0,34.0],[71.2,34.0],[71.2,34.2],[71.0,34.2],[71.0,34.0]]]}}]}"#;

/// The radar, 0.1° south of the zone, on its meridian.
const CONFIG: &str = r#"
[[sensor]]
name = "kabul-psr"
type = "radar"
sac = 1
sic = 2
lat = 33.9
lon = 71.1
alt_m = 300
"#;

fn temp_dir(name: &str) -> skyfence_testkit::scratch::Scratch {
    skyfence_testkit::scratch::scratch_dir(&format!("skyfence-asterix-{name}-"))
}

/// 330 scans of 4 s from 23:50:00: a north marker each scan; a primary-only track 417
/// flying north at 60 kt from 3 NM along azimuth 0 (through the zone, across midnight);
/// a Mode S aircraft at azimuth 200° (away from the zone); a plot of a radar nobody
/// declared (SIC 9).
fn recording() -> Vec<u8> {
    recording_with(0..0)
}

/// [`recording`] with the declared radar silent (no north marker, no plot) for the scans
/// of `outage`; the undeclared radar's plots go on.
fn recording_with(outage: std::ops::Range<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    let t0 = 86_400 - 600;
    for k in 0..330u32 {
        let tod = ((t0 + 4 * k) % 86_400) * 128;
        let base = Report {
            sac: 1,
            sic: 2,
            time_of_day: Some(tod),
            ..Report::default()
        };
        let north = Report {
            category: 34,
            service: Some(Service {
                kind: ServiceKind::NorthMarker,
                sector_deg: None,
                rotation_period_s: Some(4.0),
                nogo: None,
            }),
            ..base
        };
        let stranger = Report {
            category: 48,
            detection: Some(Detection::Psr),
            polar: Some(Polar {
                range_nm: 3.0 + f64::from(k) / 15.0,
                azimuth_deg: 0.0,
            }),
            flight_level: Some(10.0),
            track_number: Some(417),
            track_tentative: Some(false),
            sic: 9,
            ..base
        };
        if outage.contains(&k) {
            encode::block(48, &[encode::record(&stranger).unwrap()], &mut out);
            continue;
        }
        encode::block(34, &[encode::record(&north).unwrap()], &mut out);
        let drone = Report {
            category: 48,
            detection: Some(Detection::Psr),
            polar: Some(Polar {
                range_nm: 3.0 + f64::from(k) / 15.0,
                azimuth_deg: 0.0,
            }),
            flight_level: Some(10.0),
            track_number: Some(417),
            track_tentative: Some(false),
            ..base
        };
        let airliner = Report {
            category: 48,
            detection: Some(Detection::ModeSRollCallPsr),
            polar: Some(Polar {
                range_nm: 40.0,
                azimuth_deg: 200.0,
            }),
            flight_level: Some(350.0),
            address: Icao24::new(0x4840d6),
            track_number: Some(12),
            ..base
        };
        encode::block(
            48,
            &[
                encode::record(&drone).unwrap(),
                encode::record(&airliner).unwrap(),
                encode::record(&stranger).unwrap(),
            ],
            &mut out,
        );
    }
    out
}

fn run(dir: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
}

#[test]
fn a_radar_only_drone_crossing_a_zone_is_a_non_cooperative_incident() {
    let dir = temp_dir("analyze");
    std::fs::write(dir.join("rec.ast"), recording()).unwrap();
    std::fs::write(dir.join("zone.geojson"), ZONE).unwrap();
    std::fs::write(dir.join("config.toml"), CONFIG).unwrap();
    let (stdout, stderr) = run(
        &dir,
        &[
            "analyze",
            "--input",
            "asterix:rec.ast",
            "--config",
            "config.toml",
            "--zones",
            "zone.geojson",
            "--start",
            "2023-11-14T12:00:00Z",
        ],
    );
    let incidents: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(incidents.len(), 1, "{stdout}\n{stderr}");
    let i = &incidents[0];
    assert_eq!(i["target"]["kind"], "track");
    assert_eq!(i["target"]["id"], "kabul-psr/417");
    assert!(i["target"].get("icao24").is_none());
    assert_eq!(i["cooperative"], false);
    assert_eq!(i["sensors"], serde_json::json!(["kabul-psr"]));
    assert_eq!(i["classification"], "unknown");
    assert_eq!(i["status"], "closed");
    assert_eq!(i["entry_observed"], true);
    // Entry at 34.0 N: 5.99 NM from the radar, 2.99 NM flown at 60 kt after 23:50:00;
    // exit at 34.2 N (17.96 NM) after midnight, on the next day.
    let at = |k: &str| Timestamp::parse_rfc3339(i[k].as_str().unwrap()).unwrap();
    let midnight = Timestamp::parse_rfc3339("2023-11-15T00:00:00Z").unwrap();
    let entry = at("entered_at").secs_since(midnight);
    let exit = at("exited_at").secs_since(midnight);
    assert!(
        (entry - (-600.0 + 179.3)).abs() < 5.0,
        "{}",
        i["entered_at"]
    );
    assert!((exit - (-600.0 + 897.9)).abs() < 5.0, "{}", i["exited_at"]);
    assert!((i["entry"]["lon"].as_f64().unwrap() - 71.1).abs() < 1e-6);
    assert_eq!(i["entry"]["alt_ft"], 1000);
    // What was not used is counted by reason.
    assert!(stderr.contains("unknown_sensor=330"), "{stderr}");
}

/// `analyze --events` announces the declared radar's liveness by the data's time, as
/// `run` does by the clock: up with its first scan, down 15 s (three 4 s rotations, at
/// least 15 s) after the last north marker before its outage, up again with the scan
/// that ends it; the undeclared radar announces nothing.
#[test]
fn analyze_events_announce_the_radar_going_down_and_up_by_the_data_time() {
    let dir = temp_dir("liveness");
    // Silent for scans 100 to 129: 23:56:40 to 23:58:36.
    std::fs::write(dir.join("rec.ast"), recording_with(100..130)).unwrap();
    std::fs::write(dir.join("zone.geojson"), ZONE).unwrap();
    std::fs::write(dir.join("config.toml"), CONFIG).unwrap();
    let (_, stderr) = run(
        &dir,
        &[
            "analyze",
            "--input",
            "asterix:rec.ast",
            "--config",
            "config.toml",
            "--zones",
            "zone.geojson",
            "--start",
            "2023-11-14T12:00:00Z",
            "--events",
            "events.jsonl",
        ],
    );
    let events: Vec<Value> = std::fs::read_to_string(dir.join("events.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sensors: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"].as_str().unwrap().starts_with("sensor_"))
        .collect();
    let want = [
        r#"{"event":"sensor_up","at":"2023-11-14T23:50:00.000Z","sensor":"kabul-psr","type":"radar","last_heard":"2023-11-14T23:50:00.000Z","last_service":"2023-11-14T23:50:00.000Z"}"#,
        r#"{"event":"sensor_down","at":"2023-11-14T23:56:51.000Z","sensor":"kabul-psr","type":"radar","last_heard":"2023-11-14T23:56:36.000Z","last_service":"2023-11-14T23:56:36.000Z"}"#,
        r#"{"event":"sensor_up","at":"2023-11-14T23:58:40.000Z","sensor":"kabul-psr","type":"radar","last_heard":"2023-11-14T23:58:40.000Z","last_service":"2023-11-14T23:58:40.000Z"}"#,
    ];
    let want: Vec<Value> = want
        .iter()
        .map(|w| serde_json::from_str(w).unwrap())
        .collect();
    assert_eq!(sensors, want.iter().collect::<Vec<_>>(), "{events:?}");
    // The detection events are still there, and the summary counts the changes.
    assert!(
        events.iter().any(|e| e["event"] == "confirmed"),
        "{events:?}"
    );
    assert!(
        stderr.contains("  sensors: 2 sensor_up, 1 sensor_down"),
        "{stderr}"
    );
}

#[test]
fn decode_prints_every_record_with_proto_asterix() {
    let dir = temp_dir("decode");
    std::fs::write(dir.join("rec.ast"), recording()).unwrap();
    let (stdout, stderr) = run(
        &dir,
        &[
            "decode",
            "--input",
            "asterix:rec.ast",
            "--start",
            "2023-11-14T00:00:00Z",
        ],
    );
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 330 * 4, "{stderr}");
    assert!(lines.iter().all(|l| l["proto"] == "asterix"));
    assert_eq!(lines[0]["category"], 34);
    assert_eq!(lines[0]["message"], "north_marker");
    assert_eq!(lines[0]["rotation_period_s"], 4.0);
    assert_eq!(lines[0]["at"], "2023-11-14T23:50:00.000000Z");
    let drone = &lines[1];
    assert_eq!(drone["category"], 48);
    assert_eq!(
        (drone["sac"].as_u64(), drone["sic"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(drone["detection"], "psr");
    assert_eq!(drone["track_number"], 417);
    assert_eq!(drone["range_nm"], 3.0);
    assert_eq!(drone["flight_level"], 10.0);
    let airliner = &lines[2];
    assert_eq!(airliner["icao24"], "4840d6");
    // Azimuth LSB 360/2^16 degrees: 200° is sent as 36 409 × 0.0055°.
    assert_eq!(airliner["azimuth_deg"], 200.000610);
    // After midnight: the next day.
    let last = lines.last().unwrap();
    assert!(
        last["at"]
            .as_str()
            .unwrap()
            .starts_with("2023-11-15T00:11:56"),
        "{}",
        last["at"]
    );
    assert!(stderr.contains("nothing dropped"), "{stderr}");
}

/// The recording as a pcap capture: each data block a UDP datagram (loopback) captured
/// at the time its time of day stands for on 2023-11-14.
fn capture() -> Vec<u8> {
    use etherparse::PacketBuilder;
    use pcap_file::DataLink;
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    let stream = recording();
    let (mut pos, mut i) = (0, 0u64);
    let day = Timestamp::parse_rfc3339("2023-11-14T00:00:00Z")
        .unwrap()
        .as_micros() as u64;
    while pos < stream.len() {
        let len = usize::from(u16::from_be_bytes([stream[pos + 1], stream[pos + 2]]));
        let block = &stream[pos..pos + len];
        // Two blocks (CAT034, CAT048) per 4 s scan from 23:50:00.
        let at = day + (86_400 - 600 + 4 * (i / 2)) * 1_000_000;
        let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(8600, 8600);
        let mut frame = Vec::new();
        builder.write(&mut frame, block).unwrap();
        let packet = PcapPacket::new(
            std::time::Duration::from_micros(at),
            frame.len() as u32,
            &frame,
        );
        w.write_packet(&packet).unwrap();
        pos += len;
        i += 1;
    }
    w.into_writer()
}

#[test]
fn the_same_feed_captured_in_pcap_gives_the_same_incident() {
    let dir = temp_dir("pcap");
    std::fs::write(dir.join("rec.ast"), recording()).unwrap();
    std::fs::write(dir.join("rec.pcap"), capture()).unwrap();
    std::fs::write(dir.join("zone.geojson"), ZONE).unwrap();
    std::fs::write(dir.join("config.toml"), CONFIG).unwrap();
    let args = |input: &str| {
        let mut a = vec!["analyze", "--input"];
        a.push(input);
        a.extend(["--config", "config.toml", "--zones", "zone.geojson"]);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let mut ast = args("asterix:rec.ast");
    ast.extend(["--start".into(), "2023-11-14T12:00:00Z".into()]);
    let ast: Vec<&str> = ast.iter().map(String::as_str).collect();
    let pcap = args("pcap:rec.pcap");
    let pcap: Vec<&str> = pcap.iter().map(String::as_str).collect();
    let (from_ast, _) = run(&dir, &ast);
    let (from_pcap, stderr) = run(&dir, &pcap);
    assert_eq!(from_ast.lines().count(), 1);
    // Capture times are the times of day on their date: the same incident, byte for byte.
    assert_eq!(from_pcap, from_ast, "{stderr}");
}
