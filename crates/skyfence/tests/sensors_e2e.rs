//! Radar and Remote ID through the live service: a real `skyfence run` receives the
//! `af-pk-border-radar` radar sites' ASTERIX and the Chaman receiver's Remote ID lines
//! as UDP datagrams on 127.0.0.1 (30 times faster than real time, detection thresholds
//! scaled to match), and reports the silent drone's radar-only incursion and the Remote
//! ID drone's, with its operator, in the API and the store.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use skyfence_core::Timestamp;
use skyfence_store::{IncidentStore, SqliteStore};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const SPEED: f64 = 30.0;
/// The scenario seconds played: the two drones' crossings into Pakistan and back.
const FROM_S: f64 = 240.0;
const TO_S: f64 = 900.0;

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The config `skyfence simulate` wrote, detection scaled by `SPEED`, with the store,
/// an ephemeral API port and the two UDP sources.
fn write_config(dir: &Path, radar_port: u16, rid_port: u16) -> std::path::PathBuf {
    let text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let text = text
        .replace("confirm_s = 5\n", &format!("confirm_s = {}\n", 5.0 / SPEED))
        .replace(
            "track_timeout_s = 60\n",
            &format!("track_timeout_s = {}\n", 60.0 / SPEED),
        )
        .replace(
            "max_speed_mps = 1000\n",
            &format!("max_speed_mps = {}\n", 1000.0 * SPEED),
        );
    assert!(text.contains(&format!("confirm_s = {}\n", 5.0 / SPEED)));
    let text = format!(
        "{text}\n[server]\nlisten = \"127.0.0.1:0\"\n\n[store]\npath = \"live.db\"\n\n\
         [[source]]\nname = \"radar-feed\"\ntype = \"asterix\"\nlisten = \"127.0.0.1:{radar_port}\"\n\n\
         [[source]]\nname = \"rid-feed\"\ntype = \"remoteid\"\nlisten = \"127.0.0.1:{rid_port}\"\ntransport = \"udp\"\n"
    );
    let path = dir.join("live.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn incidents(addr: std::net::SocketAddr) -> Vec<Value> {
    let (status, body) = common::http(addr, "GET", "/api/incidents?zone=PK", None, None);
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v.as_array()
        .cloned()
        .or_else(|| v["incidents"].as_array().cloned())
        .unwrap_or_default()
}

fn of_kind<'a>(list: &'a [Value], kind: &str) -> Vec<&'a Value> {
    list.iter()
        .filter(|i| i["target"]["kind"] == kind && i["zone"] == "PK")
        .collect()
}

fn metres(a: &Value, lat: f64, lon: f64) -> f64 {
    let (la, lo) = (a["lat"].as_f64().unwrap(), a["lon"].as_f64().unwrap());
    let dy = (la - lat).to_radians() * 6_371_000.0;
    let dx = (lo - lon).to_radians() * 6_371_000.0 * lat.to_radians().cos();
    dx.hypot(dy)
}

/// Reads `GET /api/events` on its own thread and keeps every `sensor_up` and
/// `sensor_down` event as (kind, data).
fn sensor_events(
    addr: std::net::SocketAddr,
) -> std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>> {
    use std::io::{BufRead, BufReader, Write};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .write_all(
            b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n",
        )
        .unwrap();
    let out = seen.clone();
    std::thread::spawn(move || {
        let mut kind = String::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if let Some(k) = line.strip_prefix("event:") {
                kind = k.trim().to_string();
            } else if let Some(d) = line.strip_prefix("data:")
                && kind.starts_with("sensor_")
                && let Ok(v) = serde_json::from_str(d.trim())
            {
                out.lock().unwrap().push((kind.clone(), v));
            }
        }
    });
    seen
}

fn millis(v: &Value) -> i64 {
    Timestamp::parse_rfc3339(v.as_str().unwrap())
        .unwrap()
        .as_micros()
        / 1000
}

fn metrics_after(addr: std::net::SocketAddr) -> String {
    common::http(addr, "GET", "/metrics", None, None).1
}

#[test]
fn run_over_udp_reports_the_radar_only_and_remoteid_incursions() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(BIN)
        .current_dir(dir.path())
        .args([
            "simulate",
            "--scenario",
            "af-pk-border-radar",
            "--out-dir",
            ".",
            "--seed",
            "3",
            "--formats",
            "raw",
        ])
        .env("SKYFENCE_LOG", "warn")
        .status()
        .unwrap();
    assert!(status.success());
    let start = Timestamp::parse_rfc3339("2023-11-14T22:00:00Z").unwrap();
    let (asterix, remoteid) = skyfence_sim::feed::read(dir.path(), start).unwrap();
    assert!(asterix.len() > 1000 && remoteid.len() > 1000);
    let truth: Vec<Value> = std::fs::read_to_string(dir.path().join("truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let truth_track = truth
        .iter()
        .find(|t| t["zone"] == "PK" && t["target"]["kind"] == "track" && t.get("event").is_none())
        .expect("the truth has the radar-only incursion")
        .clone();

    let (radar_port, rid_port) = (free_udp_port(), free_udp_port());
    let config = write_config(dir.path(), radar_port, rid_port);
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .args(["run", "--config"])
        .arg(&config);
    let (mut child, addr) = common::spawn_service(&mut cmd, Duration::from_secs(60), |_| {});
    let changes = sensor_events(addr);

    // Both UDP sources are bound once the service has counted them as connected.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, metrics) = common::http(addr, "GET", "/metrics", None, None);
        let up = metrics
            .lines()
            .filter(|l| l.starts_with("skyfence_source_connected") && l.ends_with(" 1"))
            .count();
        if up >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "UDP sources not up:\n{metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Play both feeds in time order, paced by the wall clock at SPEED.
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut all: Vec<(Timestamp, u16, &[u8])> = asterix
        .iter()
        .map(|d| (d.at, radar_port, d.bytes.as_slice()))
        .chain(
            remoteid
                .iter()
                .map(|d| (d.at, rid_port, d.bytes.as_slice())),
        )
        .filter(|(at, ..)| {
            let s = at.secs_since(start);
            (FROM_S..TO_S).contains(&s)
        })
        .collect();
    all.sort_by_key(|(at, port, _)| (*at, *port));
    let t0 = all[0].0;
    let began = Instant::now();
    for (at, port, bytes) in &all {
        let due = Duration::from_secs_f64(at.secs_since(t0) / SPEED);
        if let Some(wait) = due.checked_sub(began.elapsed()) {
            std::thread::sleep(wait);
        }
        socket.send_to(bytes, ("127.0.0.1", *port)).unwrap();
    }

    // Both radars are turning (CAT034 at their rotation rate), with their sites.
    let (status, body) = common::http(addr, "GET", "/api/sensors", None, None);
    assert_eq!(status, 200, "{body}");
    let sensors: Value = serde_json::from_str(&body).unwrap();
    let psr = sensors
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "peshawar-psr")
        .unwrap_or_else(|| panic!("{sensors}"));
    assert_eq!(psr["state"], "up", "{psr}");
    assert_eq!(psr["type"], "radar");
    assert_eq!(psr["rotation_period_s"], 5.0);
    assert_eq!(psr["position"]["lat"], 34.01);
    assert!(psr["last_heard"].is_string());
    let kabul = sensors
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "kabul-psr")
        .unwrap();
    assert_eq!(
        (&kabul["state"], &kabul["rotation_period_s"]),
        (&serde_json::json!("up"), &serde_json::json!(10.0))
    );

    // Both incursions are closed once the drones are back and seen outside.
    let deadline = Instant::now() + Duration::from_secs(20);
    let list = loop {
        let list = incidents(addr);
        let closed = |kind: &str| of_kind(&list, kind).iter().any(|i| i["status"] == "closed");
        if closed("track") && closed("remoteid") {
            break list;
        }
        assert!(
            Instant::now() < deadline,
            "the PK incursions did not close: {list:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let track = of_kind(&list, "track");
    assert_eq!(track.len(), 1, "{track:?}");
    let t = track[0];
    assert_eq!(t["target"]["id"], truth_track["target"]["id"]);
    assert!(
        t["target"]["id"]
            .as_str()
            .unwrap()
            .starts_with("peshawar-psr/")
    );
    assert_eq!(t["cooperative"], false);
    assert_eq!(t["sensors"], serde_json::json!(["peshawar-psr"]));
    assert_eq!(t["authorised"], false);
    assert_eq!(t["classification"], "unknown");
    let (lat, lon) = (
        truth_track["entry"]["lat"].as_f64().unwrap(),
        truth_track["entry"]["lon"].as_f64().unwrap(),
    );
    // Receive times are the wall clock at 30x: a scan (5 s) is 0.17 s, and the crossing
    // is interpolated between the plots around it.
    assert!(
        metres(&t["entry"], lat, lon) < 400.0,
        "{t} vs {truth_track}"
    );
    assert!(t["max_depth_m"].as_f64().unwrap() > 3_000.0, "{t}");

    let rid = of_kind(&list, "remoteid");
    assert_eq!(rid.len(), 1, "{rid:?}");
    let r = rid[0];
    assert_eq!(r["target"]["id"], "AF1581RID0000001");
    assert_eq!(r["cooperative"], true);
    assert_eq!(r["classification"], "uav");
    assert_eq!(r["authorised"], false);
    assert_eq!(r["operator"]["id"], "AFG-OP-0042");
    assert!(metres(&r["operator"], 30.94, 66.37) < 1.0, "{r}");
    assert!(metres(&r["entry"], 30.9296, 66.3888) < 300.0, "{r}");
    // The receiver each Remote ID line names is the sensor (the source is "rid-feed").
    assert_eq!(r["sensors"], serde_json::json!(["chaman-rid"]), "{r}");

    // The feed has stopped: three rotations (at least 15 s) after its last north
    // marker, a radar is down, in the API and the metrics.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (_, body) = common::http(addr, "GET", "/api/sensors", None, None);
        let v: Value = serde_json::from_str(&body).unwrap();
        if v.as_array().unwrap().iter().all(|s| s["state"] == "down") {
            break;
        }
        assert!(Instant::now() < deadline, "radars still up: {v}");
        std::thread::sleep(Duration::from_millis(500));
    }
    let (_, metrics) = common::http(addr, "GET", "/metrics", None, None);
    assert!(
        metrics.contains("skyfence_sensor_up{sensor=\"peshawar-psr\",type=\"radar\"} 0\n"),
        "{metrics}"
    );
    assert!(metrics.contains("skyfence_sensor_last_heard_seconds{sensor=\"peshawar-psr\"} "));
    // Each radar came up once and went down once: `sensor_up` then `sensor_down` on
    // the event stream, the down one 15 s (Peshawar: 3 × 5 s) after its last marker,
    // counted in the metrics.
    let deadline = Instant::now() + Duration::from_secs(10);
    let changes = loop {
        let c = changes.lock().unwrap().clone();
        if c.iter().filter(|(k, _)| k == "sensor_down").count() >= 2 {
            break c;
        }
        assert!(Instant::now() < deadline, "sensor events: {c:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    for radar in ["peshawar-psr", "kabul-psr"] {
        let of: Vec<&(String, Value)> = changes
            .iter()
            .filter(|(_, v)| v["sensor"] == radar)
            .collect();
        let kinds: Vec<&str> = of.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(kinds, ["sensor_up", "sensor_down"], "{radar}: {changes:?}");
        let down = &of[1].1;
        assert_eq!(down["type"], "radar");
        let gap = millis(&down["at"]) - millis(&down["last_service"]);
        let limit = if radar == "peshawar-psr" {
            15_000
        } else {
            30_000
        };
        assert_eq!(gap, limit, "{down}");
        assert!(metrics_after(addr).contains(&format!(
            "skyfence_sensor_changes_total{{sensor=\"{radar}\",state=\"down\"}} 1\n"
        )));
    }

    common::stop_gracefully(&mut child);
    // The store holds the same incidents, with their raw records.
    let store = SqliteStore::open(dir.path().join("live.db")).unwrap();
    // The evidence log holds each radar's up and down (kind 0x09), at the times the
    // event stream gave: the coverage gap is provable from the log.
    use skyfence_store::EvidenceLogStore;
    let size = store.evidence_size().unwrap();
    let logged: Vec<(String, bool, i64, i64)> = store
        .evidence_leaves(0, size)
        .unwrap()
        .into_iter()
        .filter_map(
            |(_, bytes)| match skyfence_evidence::EvidenceLeaf::decode(&bytes) {
                Ok(skyfence_evidence::EvidenceLeaf::SensorState {
                    sensor,
                    up,
                    at_us,
                    last_heard_us,
                    ..
                }) => Some((sensor, up, at_us / 1000, last_heard_us / 1000)),
                _ => None,
            },
        )
        .collect();
    for radar in ["peshawar-psr", "kabul-psr"] {
        let of: Vec<&(String, bool, i64, i64)> = logged.iter().filter(|l| l.0 == radar).collect();
        assert_eq!(
            of.iter().map(|l| l.1).collect::<Vec<_>>(),
            [true, false],
            "{radar}: {logged:?}"
        );
        let down = changes
            .iter()
            .find(|(k, v)| k == "sensor_down" && v["sensor"] == radar)
            .unwrap();
        assert_eq!(of[1].2, millis(&down.1["at"]), "{radar}");
        assert_eq!(of[1].3, millis(&down.1["last_heard"]), "{radar}");
    }
    for (incident, proto) in [(t, "asterix"), (r, "remoteid")] {
        let id = incident["id"].as_str().unwrap().parse().unwrap();
        let stored = store.incident(id).unwrap().expect("stored");
        assert_eq!(
            stored.incident.target.id.to_string(),
            incident["target"]["id"].as_str().unwrap()
        );
        let frames = store.incident_frames(id).unwrap().unwrap();
        assert!(!frames.is_empty(), "{proto}: no raw records");
        assert!(
            frames.iter().all(|f| f.record.proto.as_str() == proto),
            "{proto}"
        );
        if proto == "remoteid" {
            // Raw Remote ID records are evidence with their receiver, time and RSSI.
            assert!(
                frames.iter().all(|f| &*f.source == "chaman-rid"
                    && matches!(f.record.signal, Some(skyfence_core::Signal::Dbm(_)))),
                "{:?}",
                frames.first()
            );
        }
    }
    drop(store);
    // Each incident exports as a bundle that verifies offline: the verifier re-decodes
    // the ASTERIX (with the logged config's sensors) and Remote ID records and re-runs
    // detection to the same incident.
    for (incident, name) in [(t, "track"), (r, "remoteid")] {
        let zip = dir.path().join(format!("{name}.zip"));
        let out = Command::new(BIN)
            .current_dir(dir.path())
            .args(["export", incident["id"].as_str().unwrap(), "--out"])
            .arg(&zip)
            .args(["--store", "live.db"])
            .env("SKYFENCE_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "export {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = Command::new(BIN)
            .arg("verify")
            .arg(&zip)
            .env("SKYFENCE_LOG", "warn")
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "verify {name}: {report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!report.contains("FAIL"), "{name}: {report}");
        for check in ["PASS decode", "PASS detection"] {
            assert!(report.contains(check), "{name}: no {check:?}: {report}");
        }
    }
}
