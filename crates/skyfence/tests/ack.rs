//! Acknowledging incidents through the HTTP API of `skyfence run`: `POST
//! /api/incidents/{id}/ack` stores the acknowledgement and later notes in order, behind
//! the bearer token; `GET /api/incidents` and `GET /api/incidents/{id}` carry them as
//! the extension fields `acknowledged` and `acks`; each entry is audit-logged and
//! pushed to SSE clients as an `ack` event (without an id); the store keeps them.
//!
//! The incident is written into the store before the service starts (the incident of
//! docs/INTERFACES.md, "Incident"), so the test needs no traffic.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};
use skyfence_core::detect::{Event, Incident};
use skyfence_store::{IncidentStore, SqliteStore, StoreBatch};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const TOKEN: &str = "ack-test-token";
const ID: &str = "5e1f0c2d3b4a6978";

/// The incident of docs/INTERFACES.md ("Incident"), with a 16-hex-digit id.
fn forte12() -> Incident {
    serde_json::from_value(json!({
        "id": ID,
        "zone": "HELD-A",
        "target": {"icao24": "adf7c1", "callsign": "FORTE12", "category": "B6"},
        "classification": "uav",
        "authorised": false,
        "permit": null,
        "status": "closed",
        "entry_observed": true,
        "entered_at": "2023-11-14T22:21:03.120Z",
        "exited_at": "2023-11-14T22:26:36.480Z",
        "last_seen_at": "2023-11-14T22:26:36.000Z",
        "entry": {"lat": 33.2177, "lon": 69.8813, "alt_ft": 48000},
        "exit": {"lat": 33.2511, "lon": 69.8889, "alt_ft": 48000},
        "duration_s": 333.4,
        "max_depth_m": 14856.0,
        "max_alt_ft": 48000,
        "reports": 666
    }))
    .unwrap()
}

/// A store holding the closed incident, and a config for it: the HELD-A square, the
/// token, an idle pushing source.
fn prepare(dir: &Path) -> std::path::PathBuf {
    let mut store = SqliteStore::open(dir.join("ack.db")).unwrap();
    let incident = forte12();
    store
        .apply(&StoreBatch {
            events: vec![Event::Closed {
                at: incident.exited_at.unwrap(),
                incident,
            }],
            ..StoreBatch::default()
        })
        .unwrap();
    drop(store);
    std::fs::write(
        dir.join("zones.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"HELD-A"},
           "geometry":{"type":"Polygon","coordinates":[[[69,33],[70,33],[70,34],[69,34],[69,33]]]}}]}"#,
    )
    .unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[zones]]\nfile = \"zones.geojson\"\n\n[server]\nlisten = \"127.0.0.1:0\"\n\
             api_token = \"{TOKEN}\"\n\n[store]\npath = \"ack.db\"\n\n\
             [[source]]\nname = \"idle\"\ntype = \"beast\"\nlisten = \"127.0.0.1:0\"\n"
        ),
    )
    .unwrap();
    config
}

/// SSE events as `(event, id, data)`, collected by a reader thread.
type Pushed = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

/// A `skyfence run` process, its API address and its log lines.
struct Service {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Service {
    fn start(config: &Path) -> Service {
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let (child, addr) = common::spawn_service(
            Command::new(BIN).arg("run").arg("--config").arg(config),
            Duration::from_secs(120),
            move |line| lines.lock().unwrap().push(line.to_string()),
        );
        Service { child, addr, log }
    }

    /// One HTTP/1.0 request; the status and the body.
    fn request(&self, method: &str, path: &str, body: Option<&str>, token: bool) -> (u16, String) {
        common::http(self.addr, method, path, body, token.then_some(TOKEN))
    }

    fn post_ack(&self, id: &str, body: &str) -> (u16, Value) {
        let (status, text) = self.request(
            "POST",
            &format!("/api/incidents/{id}/ack"),
            Some(body),
            true,
        );
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Reads `GET /api/events` on a thread, collecting `(event, id, data)`.
    fn sse(&self) -> Pushed {
        let events = Arc::new(Mutex::new(Vec::new()));
        let mut s = TcpStream::connect(self.addr).unwrap();
        write!(
            s,
            "GET /api/events HTTP/1.0\r\nHost: {}\r\nAccept: text/event-stream\r\n\
             Authorization: Bearer {TOKEN}\r\n\r\n",
            self.addr
        )
        .unwrap();
        // The handler subscribes before it answers: once the head is here, no entry
        // posted afterwards can be missed.
        let mut reader = BufReader::new(s);
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert!(status.contains(" 200 "), "GET /api/events: {status}");
        let out = events.clone();
        thread::spawn(move || {
            let (mut kind, mut id) = (String::new(), None);
            for line in reader.lines().map_while(Result::ok) {
                if let Some(k) = line.strip_prefix("event: ") {
                    kind = k.to_string();
                } else if let Some(i) = line.strip_prefix("id: ") {
                    id = Some(i.to_string());
                } else if let Some(d) = line.strip_prefix("data: ")
                    && let Ok(v) = serde_json::from_str(d)
                {
                    out.lock().unwrap().push((kind.clone(), id.take(), v));
                } else if line.is_empty() {
                    id = None;
                }
            }
        });
        events
    }

    fn json(&self, path: &str) -> Value {
        let (status, body) = self.request("GET", path, None, true);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// SIGTERM, then wait: the graceful shutdown.
    fn stop(mut self) {
        common::stop_gracefully(&mut self.child);
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn entries(acks: &Value) -> Vec<(String, String, String)> {
    acks.as_array()
        .expect("acks is an array")
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or("").to_owned(),
                a["operator"].as_str().unwrap_or("").to_owned(),
                a["note"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn acknowledgement_and_notes_are_stored_in_order_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let config = prepare(dir.path());
    let service = Service::start(&config);

    // Before: not acknowledged, no entries; the INTERFACES fields are all there.
    let before = service.json(&format!("/api/incidents/{ID}"));
    assert_eq!(before["acknowledged"], false);
    assert_eq!(before["acks"], json!([]));
    assert_eq!(before["status"], "closed");

    // The token guards the route.
    let (status, _) = service.request(
        "POST",
        &format!("/api/incidents/{ID}/ack"),
        Some(r#"{"operator":"ops"}"#),
        false,
    );
    assert_eq!(status, 401);

    // Bad requests name what is wrong.
    let (status, body) = service.post_ack("not-an-id", r#"{"operator":"ops"}"#);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("\"not-an-id\""),
        "{body}"
    );
    let (status, body) = service.post_ack(ID, r#"{"note":"no operator"}"#);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("operator"),
        "{body}"
    );
    let (status, body) = service.post_ack(ID, r#"{"operator":"   "}"#);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("1 to 64"),
        "{body}"
    );
    let long = json!({"operator": "ops", "note": "n".repeat(2001)}).to_string();
    let (status, body) = service.post_ack(ID, &long);
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("2001 characters"),
        "{body}"
    );
    // An unknown incident.
    let (status, body) = service.post_ack("0000000000000000", r#"{"operator":"ops"}"#);
    assert_eq!(status, 404);
    assert_eq!(body["error"], "no incident 0000000000000000");

    // SSE clients are told of each entry.
    let events = service.sse();

    // The acknowledgement, then two notes.
    let (status, first) = service.post_ack(
        ID,
        r#"{"operator":"duty officer 2","note":"seen, calling the tower"}"#,
    );
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["kind"], "acknowledgement");
    assert_eq!(first["operator"], "duty officer 2");
    assert_eq!(first["note"], "seen, calling the tower");
    assert_eq!(first["incident_id"], ID);
    assert!(first["at"].as_str().unwrap().ends_with('Z'), "{first}");
    let (status, second) = service.post_ack(
        ID,
        r#"{"operator":"duty officer 2","note":"pilot contacted"}"#,
    );
    assert_eq!(status, 201);
    assert_eq!(second["kind"], "note");
    let (status, third) = service.post_ack(ID, r#"{"operator":"supervisor"}"#);
    assert_eq!(status, 201);
    assert_eq!(third["kind"], "note");
    assert!(first["seq"].as_u64() < second["seq"].as_u64());
    assert!(second["seq"].as_u64() < third["seq"].as_u64());

    let expected = vec![
        (
            "acknowledgement".to_owned(),
            "duty officer 2".to_owned(),
            "seen, calling the tower".to_owned(),
        ),
        (
            "note".to_owned(),
            "duty officer 2".to_owned(),
            "pilot contacted".to_owned(),
        ),
        ("note".to_owned(), "supervisor".to_owned(), String::new()),
    ];
    let detail = service.json(&format!("/api/incidents/{ID}"));
    assert_eq!(detail["acknowledged"], true);
    assert_eq!(entries(&detail["acks"]), expected);
    // The INTERFACES shape is intact beside the extension fields.
    let want = serde_json::to_value(forte12()).unwrap();
    for (k, v) in want.as_object().unwrap() {
        assert_eq!(&detail[k], v, "field {k}");
    }
    assert!(detail["positions"].is_array());
    let list = service.json("/api/incidents");
    assert_eq!(list[0]["id"], ID);
    assert_eq!(list[0]["acknowledged"], true);
    assert_eq!(entries(&list[0]["acks"]), expected);

    // Pushed as SSE `ack` events, in order, without ids.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while events.lock().unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "gave up waiting for 3 ack events"
        );
        thread::sleep(Duration::from_millis(50));
    }
    let pushed = events.lock().unwrap().clone();
    let kinds: Vec<(&str, Option<&str>, &str, &str)> = pushed
        .iter()
        .map(|(k, id, v)| {
            (
                k.as_str(),
                id.as_deref(),
                v["kind"].as_str().unwrap_or(""),
                v["incident_id"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("ack", None, "acknowledgement", ID),
            ("ack", None, "note", ID),
            ("ack", None, "note", ID),
        ]
    );
    assert_eq!(pushed[0].2, first);

    // Audit-logged, one line per entry.
    let log = service.log.lock().unwrap().join("\n");
    assert!(
        log.contains("incident acknowledgement") && log.contains("duty officer 2"),
        "{log}"
    );
    assert_eq!(log.matches("incident note").count(), 2, "{log}");
    drop(log);
    service.stop();

    // Stored: the store has them after the service stopped.
    let store = SqliteStore::open(dir.path().join("ack.db")).unwrap();
    let acks = store.acks(ID.parse().unwrap()).unwrap();
    let ops: Vec<&str> = acks.iter().map(|a| a.operator.as_str()).collect();
    assert_eq!(ops, ["duty officer 2", "duty officer 2", "supervisor"]);
}
