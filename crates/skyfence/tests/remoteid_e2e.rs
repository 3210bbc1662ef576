//! Drone Remote ID through the real binary: a `remoteid` recording, built with
//! skyfence's own encoder, of a drone crossing into a zone while its operator stands
//! outside; `decode` prints its messages, `analyze` opens the incident with the
//! operator.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use skyfence_core::{GeoPoint, ShortName, Timestamp};
use skyfence_decode::remoteid::line::{Record, encode_line};
use skyfence_decode::remoteid::message::{
    AuthPage, AuthType, BasicId, Decoded, HeightReference, IdType, Location, Message, OperatorId,
    OperatorLocationType, SelfId, Status, System, UaType, encode_message, encode_pack,
};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

/// A 0.2° square near Torkham (34.0–34.2 N, 71.0–71.2 E), surface to unlimited.
const ZONE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
"properties":{"name":"BOX","buffer_m":2000},"geometry":{"type":"Polygon","coordinates":
[[[71.0,34.0],[71.2,34.0],[71.2,34.2],[71.0,34.2],[71.0,34.0]]]}}]}"#;

const SERIAL: &str = "1581F5FJD239C00DW22E";
const MAC: [u8; 6] = [0x60, 0x60, 0x1f, 0x12, 0x34, 0x56];
const T0: i64 = 1_700_000_000;

fn temp_dir(name: &str) -> skyfence_testkit::scratch::Scratch {
    skyfence_testkit::scratch::scratch_dir(&format!("skyfence-rid-{name}-"))
}

fn encode(message: Message) -> [u8; 25] {
    encode_message(&Decoded {
        version: 2,
        message,
    })
}

fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut b = [0u8; N];
    b[..text.len()].copy_from_slice(text.as_bytes());
    b
}

fn basic_id(serial: &str) -> [u8; 25] {
    encode(Message::BasicId(BasicId {
        id_type: IdType::SerialNumber,
        ua_type: UaType(2),
        uas_id: padded(serial),
    }))
}

fn location(lat: f64, lon: f64, at_s: i64) -> [u8; 25] {
    encode(Message::Location(Location {
        status: Status(2),
        height_ref: HeightReference::Takeoff,
        direction_deg: Some(90.0),
        speed_ms: Some(46.0),
        vspeed_ms: Some(0.0),
        position: Some(GeoPoint::new(lat, lon)),
        alt_baro_m: Some(1_180.0),
        alt_geo_m: Some(1_200.0),
        height_m: Some(120.0),
        h_accuracy: 10,
        v_accuracy: 4,
        baro_accuracy: 4,
        speed_accuracy: 3,
        tenths_after_hour: Some(((at_s % 3600) * 10) as u16),
        time_accuracy_tenths: Some(1),
    }))
}

fn system(lat: f64, lon: f64) -> [u8; 25] {
    encode(Message::System(System {
        operator_location_type: OperatorLocationType(1),
        classification_type: 1,
        operator: Some(GeoPoint::new(lat, lon)),
        area_count: 1,
        area_radius_m: 0,
        area_ceiling_m: None,
        area_floor_m: None,
        category_eu: 1,
        class_eu: 2,
        operator_alt_geo_m: Some(1_080.0),
        // 2023-11-14T22:13:20Z, seconds after 2019-01-01.
        timestamp_s: Some((T0 - 1_546_300_800) as u32),
    }))
}

/// A BLE drone (single messages from one advertiser address) flying east along
/// 34.1 N from 70.97 E at 0.0005°/s for 120 s (into BOX at 71.0 E after 60 s), its
/// operator standing at 34.1 N 70.95 E, outside; a pack-broadcasting drone far to the
/// west; and bad lines.
fn recording() -> String {
    let mut text = String::from("timestamp,receiver,rssi,transmitter,hex\n");
    let mut line = |at_us: i64, mac: Option<[u8; 6]>, bytes: &[u8]| {
        let mut r = Record::new(Timestamp::from_micros(at_us), mac, bytes).unwrap();
        r.receiver = Some(ShortName::new("torkham-rx").unwrap());
        r.rssi_dbm = Some(-71);
        encode_line(&r, &mut text);
    };
    let auth0 = encode(Message::Auth(AuthPage {
        auth_type: AuthType(1),
        page: 0,
        last_page: Some(0),
        length: Some(17),
        timestamp_s: Some(1),
        data: [0x5a; 23],
    }));
    let self_id = encode(Message::SelfId(SelfId {
        desc_type: 0,
        text: padded("Pipeline survey"),
    }));
    let operator = encode(Message::OperatorId(OperatorId {
        id_type: 0,
        id: padded("PAK-OP-12345"),
    }));
    for s in 0..120i64 {
        let us = (T0 + s) * 1_000_000;
        line(us, Some(MAC), &basic_id(SERIAL));
        line(
            us + 100_000,
            Some(MAC),
            &location(34.1, 70.97 + 0.0005 * s as f64, T0 + s),
        );
        if s % 3 == 0 {
            line(us + 200_000, Some(MAC), &system(34.1, 70.95));
            line(us + 300_000, Some(MAC), &operator);
        }
        if s % 10 == 0 {
            line(us + 400_000, Some(MAC), &self_id);
            line(us + 500_000, Some(MAC), &auth0);
            // The second drone: Basic ID and Location in one pack, no address.
            let mut pack = Vec::new();
            encode_pack(
                2,
                &[basic_id("SECONDDRONE01"), location(34.1, 70.5, T0 + s)],
                &mut pack,
            );
            line(us + 600_000, None, &pack);
        }
    }
    // Bad input: a short message, a pack whose count disagrees with its length, an
    // impossible latitude, a reserved message type.
    let mut pack = Vec::new();
    encode_pack(2, &[basic_id(SERIAL), basic_id(SERIAL)], &mut pack);
    pack[2] = 3;
    line(T0 * 1_000_000 + 950_000, None, &pack);
    let mut bad = location(34.1, 70.97, T0);
    bad[5..9].copy_from_slice(&i32::MAX.to_le_bytes());
    line(T0 * 1_000_000 + 960_000, Some(MAC), &bad);
    let mut reserved = basic_id(SERIAL);
    reserved[0] = 0x72;
    line(T0 * 1_000_000 + 970_000, Some(MAC), &reserved);
    text.push_str(&format!("{T0}.9,torkham-rx,-70,60:60:1f:12:34:56,0102\n"));
    text
}

fn run(args: &[&str], dir: &Path) -> (String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{args:?}: {stderr}");
    (String::from_utf8_lossy(&out.stdout).to_string(), stderr)
}

fn count(stderr: &str, key: &str) -> u64 {
    stderr
        .split(|c: char| c.is_whitespace() || c == ';')
        .find_map(|w| w.strip_prefix(key))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn decode_prints_every_remote_id_message_and_counts_the_bad_ones() {
    let dir = temp_dir("decode");
    std::fs::write(dir.join("rid.csv"), recording()).unwrap();
    let (stdout, stderr) = run(&["decode", "--input", "remoteid:rid.csv"], &dir);
    let objects: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(objects.iter().all(|o| o["proto"] == "remoteid"));
    let of_type = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    // 120 + 12 (second drone) Basic IDs, as many Locations, 40 System and Operator ID,
    // 12 Self-ID and Authentication; the bad pack's two Basic IDs are not among them.
    assert_eq!(of_type("basic_id"), 132, "{stderr}");
    assert_eq!(of_type("location"), 132);
    assert_eq!((of_type("system"), of_type("operator_id")), (40, 40));
    assert_eq!((of_type("self_id"), of_type("auth")), (12, 12));
    let loc = objects.iter().find(|o| o["type"] == "location").unwrap();
    assert_eq!(loc["transmitter"], "60:60:1f:12:34:56");
    assert_eq!(loc["receiver"], "torkham-rx");
    assert_eq!(loc["rssi_dbm"], -71);
    assert_eq!(loc["lat"], 34.1);
    assert_eq!(loc["lon"], 70.97);
    assert_eq!(loc["accuracy_m"], 10.0);
    assert_eq!(loc["alt_geo_m"], 1200.0);
    assert_eq!(loc["speed_ms"], 46.0);
    assert_eq!(loc["status"], "airborne");
    let basic = objects.iter().find(|o| o["type"] == "basic_id").unwrap();
    assert_eq!(basic["uas_id"], SERIAL);
    assert_eq!(basic["ua_type"], "helicopter_or_multirotor");
    let op = objects.iter().find(|o| o["type"] == "operator_id").unwrap();
    assert_eq!(op["operator_id"], "PAK-OP-12345");
    let sys = objects.iter().find(|o| o["type"] == "system").unwrap();
    assert_eq!(sys["timestamp"], "2023-11-14T22:13:20.000Z");
    assert_eq!(count(&stderr, "bad_length="), 2, "{stderr}");
    assert_eq!(count(&stderr, "bad_position="), 1, "{stderr}");
    assert_eq!(count(&stderr, "unsupported_format="), 1, "{stderr}");
}

#[test]
fn analyze_opens_the_incident_of_a_drone_crossing_with_its_operator() {
    let dir = temp_dir("analyze");
    std::fs::write(dir.join("rid.csv"), recording()).unwrap();
    std::fs::write(dir.join("zone.geojson"), ZONE).unwrap();
    let (_, stderr) = run(
        &[
            "analyze",
            "--input",
            "remoteid:rid.csv",
            "--zones",
            "zone.geojson",
            "--out",
            "incidents.jsonl",
        ],
        &dir,
    );
    let incidents: Vec<Value> = std::fs::read_to_string(dir.join("incidents.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(incidents.len(), 1, "{incidents:?} {stderr}");
    let i = &incidents[0];
    assert_eq!(i["zone"], "BOX");
    assert_eq!(i["target"]["kind"], "remoteid");
    assert_eq!(i["target"]["id"], SERIAL);
    assert_eq!(i["classification"], "uav");
    assert_eq!(i["cooperative"], true);
    assert_eq!(i["entry_observed"], true);
    let entry_lon = i["entry"]["lon"].as_f64().unwrap();
    assert!((entry_lon - 71.0).abs() < 0.001, "{entry_lon}");
    // 1200 m geodetic.
    assert_eq!(i["entry"]["alt_ft"], 3937);
    assert_eq!(
        i["operator"],
        serde_json::json!({"lat": 34.1, "lon": 70.95, "id": "PAK-OP-12345",
            "at": "2023-11-14T22:13:20.000Z",
            // A standing operator: one point.
            "track": [{"lat": 34.1, "lon": 70.95, "at": "2023-11-14T22:13:20.000Z"}]})
    );
    // The receiver each line names is the sensor.
    assert_eq!(i["sensors"], serde_json::json!(["torkham-rx"]));
    assert_eq!(i["remoteid"]["ua_type"], "helicopter_or_multirotor");
    assert_eq!(i["remoteid"]["self_id"], "Pipeline survey");
    assert_eq!(i["remoteid"]["authentication"], true);
}

/// The same drone as DragonSync JSON documents (one per second: Basic ID with the MAC,
/// Location, System, Operator ID, Self-ID, a receive time): the same incident.
#[test]
fn analyze_reads_a_receivers_json_alike() {
    let dir = temp_dir("json");
    let mut text = String::new();
    for s in 0..120i64 {
        let doc = serde_json::json!([
            {"timestamp": T0 + s, "receiver": "wardragon-1"},
            {"Basic ID": {"id_type": "Serial Number (ANSI/CTA-2063-A)", "id": SERIAL,
                "ua_type": "Helicopter (or Multirotor)", "MAC": "60:60:1f:12:34:56", "RSSI": -71}},
            {"Location/Vector Message": {"latitude": 34.1, "longitude": 70.97 + 0.0005 * s as f64,
                "geodetic_altitude": "1200.0 m", "speed": 46.0, "direction": 90}},
            {"Self-ID Message": {"text": "Pipeline survey"}},
            {"System Message": {"latitude": 34.1, "longitude": 70.95}},
            {"Operator ID Message": {"operator_id_type": "Operator ID", "operator_id": "PAK-OP-12345"}}
        ]);
        text.push_str(&doc.to_string());
        text.push('\n');
    }
    text.push_str("{\"Basic ID\": 3\n[not json\n");
    std::fs::write(dir.join("rid.jsonl"), text).unwrap();
    std::fs::write(dir.join("zone.geojson"), ZONE).unwrap();
    let (_, stderr) = run(
        &[
            "analyze",
            "--input",
            "remoteid:rid.jsonl",
            "--zones",
            "zone.geojson",
            "--out",
            "incidents.jsonl",
        ],
        &dir,
    );
    assert_eq!(count(&stderr, "unparsable="), 2, "{stderr}");
    let incidents: Vec<Value> = std::fs::read_to_string(dir.join("incidents.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(incidents.len(), 1, "{incidents:?} {stderr}");
    let i = &incidents[0];
    assert_eq!(i["target"]["id"], SERIAL);
    assert_eq!(i["classification"], "uav");
    let entry_lon = i["entry"]["lon"].as_f64().unwrap();
    assert!((entry_lon - 71.0).abs() < 0.001, "{entry_lon}");
    assert_eq!(i["entry"]["alt_ft"], 3937);
    assert_eq!(i["operator"]["id"], "PAK-OP-12345");
    assert_eq!(i["operator"]["lon"], 70.95);
    assert_eq!(i["remoteid"]["self_id"], "Pipeline survey");
}

/// `decode pcap:` of the opendroneid Wi-Fi beacon sample (testdata/remoteid): every
/// pack's messages, with the radiotap RSSI and the beacon's source address.
#[test]
fn decode_reads_remote_id_from_a_wifi_capture() {
    let dir = temp_dir("pcap");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/remoteid/odid_wifi_bcn_sample.pcap");
    let sample = sample.to_str().unwrap();
    let input = format!("pcap:{sample}");
    let (stdout, stderr) = run(&["decode", "--input", &input], &dir);
    let objects: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(objects.iter().all(|o| o["proto"] == "remoteid"));
    let of_type = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    // 21 beacons, each a pack with one of each message.
    assert_eq!(of_type("basic_id"), 21, "{stderr}");
    assert_eq!(of_type("location"), 21);
    assert_eq!((of_type("system"), of_type("operator_id")), (21, 21));
    let loc = objects.iter().find(|o| o["type"] == "location").unwrap();
    assert_eq!(loc["transmitter"], "84:cc:a8:60:43:24");
    assert_eq!(loc["rssi_dbm"], -33);
    assert_eq!(loc["at"], "2021-05-21T21:52:11.161999Z");
    assert!((loc["lat"].as_f64().unwrap() - 45.545747).abs() < 1e-6);
    let op = objects.iter().find(|o| o["type"] == "operator_id").unwrap();
    assert_eq!(op["operator_id"], "GBR-OP-123ABCD");
    assert!(stderr.contains("21 frames"), "{stderr}");
}
