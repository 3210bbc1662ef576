//! End-to-end tests of `skyfence run` through real loopback sockets (
//! "Verified"): a Beast server inside the test plays the simulator's `af-pk-border`
//! scenario (accelerated) to the service's Beast client source; the HTTP API, the SSE
//! stream and `/metrics` are read over HTTP.
//!
//! Receive times are the wall clock, so at `SPEED` times real time the detection
//! thresholds in the test configs are divided (durations) or multiplied (speeds) by
//! `SPEED`. Deadlines below only stop a broken run from hanging; nothing asserts on time.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use skyfence_core::Timestamp;
use skyfence_core::detect::IncidentId;
use skyfence_decode::Frame;
use skyfence_decode::beast::encode_beast;
use skyfence_store::{IncidentStore, SqliteStore};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
/// Scenario seconds per wall second.
const SPEED: f64 = 20.0;
/// Far enough for a slow CI machine; a passing run takes a fraction of it.
const DEADLINE: Duration = Duration::from_secs(120);

/// The simulated scenario, once per test binary: its frames and its zone file.
struct Scenario {
    dir: tempfile::TempDir,
    frames: Vec<Frame>,
    zones: PathBuf,
}

fn scenario() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(|| {
        let dir = common::simulate_af_pk_border("beast,sbs");
        let frames = common::af_pk_border_frames(dir.path());
        assert!(frames.len() > 100_000, "{} frames", frames.len());
        Scenario {
            zones: dir.path().join("zones.geojson"),
            dir,
            frames,
        }
    })
}

/// A receiver: a Beast TCP server playing scenario seconds `from..until` at `SPEED`,
/// paced by a clock that keeps running while it is down (as a real receiver's sky does).
struct BeastReceiver {
    addr: SocketAddr,
    up: Arc<AtomicBool>,
    epoch: Instant,
    from_s: f64,
    until_s: f64,
    accept: Option<thread::JoinHandle<()>>,
}

impl BeastReceiver {
    fn start(from_s: f64, until_s: f64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut r = BeastReceiver {
            addr,
            up: Arc::new(AtomicBool::new(true)),
            epoch: Instant::now(),
            from_s,
            until_s,
            accept: None,
        };
        r.serve(listener);
        r
    }

    /// Scenario seconds now.
    fn position(epoch: Instant, from_s: f64) -> f64 {
        from_s + epoch.elapsed().as_secs_f64() * SPEED
    }

    /// True once the whole range has been played.
    fn finished(&self) -> bool {
        Self::position(self.epoch, self.from_s) > self.until_s + 1.0
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).unwrap();
        let (up, epoch, from_s, until_s) = (self.up.clone(), self.epoch, self.from_s, self.until_s);
        self.accept = Some(thread::spawn(move || {
            let mut players = Vec::new();
            while up.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let up = up.clone();
                        players.push(thread::spawn(move || {
                            play(stream, &up, epoch, from_s, until_s)
                        }));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
            for p in players {
                let _ = p.join();
            }
        }));
    }

    /// Closes the listener and every connection.
    fn go_down(&mut self) {
        self.up.store(false, Ordering::SeqCst);
        if let Some(a) = self.accept.take() {
            a.join().unwrap();
        }
    }

    /// Listens again on the same port.
    fn come_back(&mut self) {
        self.up.store(true, Ordering::SeqCst);
        let listener = TcpListener::bind(self.addr).unwrap();
        self.serve(listener);
    }
}

impl Drop for BeastReceiver {
    fn drop(&mut self) {
        self.go_down();
    }
}

fn play(mut stream: TcpStream, up: &AtomicBool, epoch: Instant, from_s: f64, until_s: f64) {
    let frames = &scenario().frames;
    let t0 = frames[0].at;
    let offset = |f: &Frame| f.at.secs_since(t0);
    let mut next = frames.partition_point(|f| offset(f) < BeastReceiver::position(epoch, from_s));
    let mut out = Vec::new();
    while up.load(Ordering::SeqCst) {
        let now = BeastReceiver::position(epoch, from_s).min(until_s);
        let end = next + frames[next..].partition_point(|f| offset(f) <= now);
        for f in &frames[next..end] {
            encode_beast(f, &mut out);
        }
        next = end;
        if !out.is_empty() && stream.write_all(&out).is_err() {
            return;
        }
        out.clear();
        thread::sleep(Duration::from_millis(10));
    }
}

/// A `skyfence run` process and the address of its API.
struct Service {
    child: Child,
    addr: SocketAddr,
    token: Option<String>,
}

impl Service {
    fn start(config: &Path, token: Option<&str>) -> Service {
        Self::start_with(config, token, &[])
    }

    fn start_with(config: &Path, token: Option<&str>, extra: &[&str]) -> Service {
        let (child, addr) = common::spawn_service(
            Command::new(BIN)
                .arg("run")
                .arg("--config")
                .arg(config)
                .args(extra),
            DEADLINE,
            |_| {},
        );
        Service {
            child,
            addr,
            token: token.map(str::to_string),
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path, self.token.as_deref())
    }

    fn json(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn metric(&self, line_prefix: &str) -> f64 {
        let (_, body) = self.get("/metrics");
        body.lines()
            .find_map(|l| l.strip_prefix(line_prefix)?.trim().parse().ok())
            .unwrap_or(0.0)
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

/// One HTTP/1.0 GET (the server closes the connection after the response).
/// One HTTP/1.0 GET with the extra header line `header` (no CRLF): the status and the
/// whole response.
fn raw_get(addr: SocketAddr, path: &str, header: &str) -> (u16, String) {
    use std::io::Read as _;
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{header}\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

fn http_get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    common::http(addr, "GET", path, None, token)
}

/// Reads an SSE stream on a thread, collecting `(event, data)` pairs.
fn sse(
    addr: SocketAddr,
    token: Option<&str>,
    last_event_id: Option<u64>,
) -> Arc<Mutex<Vec<(String, Value)>>> {
    let events = Arc::new(Mutex::new(Vec::new()));
    let mut s = TcpStream::connect(addr).unwrap();
    let mut auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    if let Some(id) = last_event_id {
        auth.push_str(&format!("Last-Event-ID: {id}\r\n"));
    }
    write!(
        s,
        "GET /api/events HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n{auth}\r\n"
    )
    .unwrap();
    let out = events.clone();
    thread::spawn(move || {
        let mut kind = String::new();
        for line in BufReader::new(s).lines().map_while(Result::ok) {
            if let Some(k) = line.strip_prefix("event: ") {
                kind = k.to_string();
            } else if let Some(d) = line.strip_prefix("data: ")
                && let Ok(v) = serde_json::from_str(d)
            {
                out.lock().unwrap().push((kind.clone(), v));
            }
        }
    });
    events
}

/// Waits until `done` holds; panics (naming `what`) after [`DEADLINE`].
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A config for the scenario at `SPEED`: the scenario's own thresholds (confirm 5 s,
/// timeout 60 s, 1000 m/s) scaled, or `timeout_s` scenario seconds; its permits.
fn write_config(dir: &Path, receiver: SocketAddr, timeout_s: f64, token: Option<&str>) -> PathBuf {
    let token = token
        .map(|t| format!("api_token = \"{t}\"\n"))
        .unwrap_or_default();
    let text = format!(
        "[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
         [[zones]]\nfile = {:?}\n\n[server]\nlisten = \"127.0.0.1:0\"\n{token}\n\
         [store]\npath = \"test.db\"\n\n[[source]]\nname = \"rx-1\"\ntype = \"beast\"\nconnect = \"{receiver}\"\n",
        5.0 / SPEED,
        timeout_s / SPEED,
        1000.0 * SPEED,
        scenario().zones.to_str().unwrap(),
    );
    // The scenario's permits (`[[allow]]`, written by `skyfence simulate`).
    let simulated = std::fs::read_to_string(scenario().dir.path().join("config.toml")).unwrap();
    let permits = simulated.find("[[allow]]").map_or("", |i| &simulated[i..]);
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("{text}\n{permits}")).unwrap();
    path
}

fn find<'a>(incidents: &'a Value, zone: &str, icao24: &str) -> Vec<&'a Value> {
    incidents
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["zone"] == zone && i["target"]["icao24"] == icao24)
        .collect()
}

/// AFDRN7 (700c02) is first heard inside Pakistan at 22:05:00 and flies out into
/// Afghanistan (sim::builtin, the story table; truth.jsonl): an unauthorised PK
/// incident, entry not observed, closed. Played from 22:04:40 to 22:12:00.
#[test]
fn incidents_reach_the_api_and_sse_from_a_beast_receiver() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = BeastReceiver::start(280.0, 720.0);
    let config = write_config(dir.path(), receiver.addr, 60.0, None);
    let service = Service::start(&config, None);
    assert_eq!(
        service.json("/api/health"),
        serde_json::json!({"status": "ok"})
    );
    let events = sse(service.addr, None, None);

    wait_for("the AFDRN7 PK incident to close", || {
        let list = service.json("/api/incidents?zone=PK&status=closed");
        !find(&list, "PK", "700c02").is_empty()
    });
    let list = service.json("/api/incidents?zone=PK&status=closed");
    let drn7 = find(&list, "PK", "700c02")[0];
    assert_eq!(drn7["authorised"], false);
    assert_eq!(drn7["entry_observed"], false);
    assert_eq!(drn7["target"]["callsign"], "AFDRN7");
    assert_eq!(drn7["classification"], "uav");
    assert!(drn7["exit"].is_object(), "{drn7}");

    // The SSE stream delivered its confirmation, with the same id, before the close.
    let id = drn7["id"].as_str().unwrap().to_string();
    wait_for("the closed event on SSE", || {
        events
            .lock()
            .unwrap()
            .iter()
            .any(|(k, v)| k == "closed" && v["incident"]["id"] == id)
    });
    let seen = events.lock().unwrap().clone();
    let confirmed = seen
        .iter()
        .position(|(k, v)| k == "confirmed" && v["incident"]["id"] == id)
        .expect("a confirmed event for AFDRN7 PK");
    let closed = seen
        .iter()
        .position(|(k, v)| k == "closed" && v["incident"]["id"] == id)
        .unwrap();
    assert!(confirmed < closed);
    assert_eq!(seen[confirmed].1["event"], "confirmed");
    assert_eq!(seen[confirmed].1["incident"]["status"], "open");

    // A client reconnecting with `Last-Event-ID` gets the stored events after it, with
    // the same ids and data as the live stream.
    let replayed = sse(service.addr, None, Some(0));
    wait_for("the stored events after Last-Event-ID 0", || {
        replayed
            .lock()
            .unwrap()
            .iter()
            .any(|(k, v)| k == "closed" && v["incident"]["id"] == id)
    });
    let replayed = replayed.lock().unwrap().clone();
    let again = replayed
        .iter()
        .find(|(k, v)| k == "confirmed" && v["incident"]["id"] == id)
        .expect("the confirmed event again");
    assert_eq!(again.1, seen[confirmed].1);

    // The incident with its track: positions inside Pakistan near Chaman (30.92, 66.45).
    let detail = service.json(&format!("/api/incidents/{id}"));
    assert_eq!(detail["id"], id.as_str());
    let positions = detail["positions"].as_array().unwrap();
    assert!(positions.len() >= 2, "{detail}");
    for p in positions {
        assert!((p["lat"].as_f64().unwrap() - 30.92).abs() < 0.5, "{p}");
        assert!((p["lon"].as_f64().unwrap() - 66.45).abs() < 0.5, "{p}");
        assert!(p["at"].is_string());
    }
    // Unknown and malformed ids.
    assert_eq!(service.get("/api/incidents/0000000000000000").0, 404);
    assert_eq!(service.get("/api/incidents/xyz").0, 400);
    assert_eq!(service.get("/api/incidents?status=gone").0, 400);

    // Live tracks carry the contract's fields.
    let tracks = service.json("/api/tracks");
    let t = &tracks.as_array().unwrap()[0];
    for key in [
        "icao24",
        "callsign",
        "lat",
        "lon",
        "alt_ft",
        "gs_kt",
        "track_deg",
        "last_seen_at",
        "classification",
        "zones",
    ] {
        assert!(t.get(key).is_some(), "{key} missing in {t}");
    }
    let (_, metrics) = service.get("/metrics");
    assert!(
        metrics.contains("skyfence_frames_total{source=\"rx-1\"}"),
        "{metrics}"
    );
    assert!(service.metric("skyfence_events_total{kind=\"confirmed\"}") >= 1.0);
    assert!(service.metric("skyfence_event_latency_seconds_count") >= 1.0);

    // AFDRN6 (700c01) crosses from Afghanistan into Pakistan at Torkham at 22:06:49
    // (entry observed). Its raw frames are evidence from before the entry: the
    // pre-entry ring went into the store with the confirmation.
    let list = service.json("/api/incidents?zone=PK");
    let drn6 = find(&list, "PK", "700c01");
    assert_eq!(drn6.len(), 1, "{list}");
    assert_eq!(drn6[0]["entry_observed"], true);
    let drn6_id: IncidentId = drn6[0]["id"].as_str().unwrap().parse().unwrap();
    let entered_at = Timestamp::parse_rfc3339(drn6[0]["entered_at"].as_str().unwrap()).unwrap();
    service.stop();
    let store = SqliteStore::open(dir.path().join("test.db")).unwrap();
    let frames = store.incident_frames(drn6_id).unwrap().unwrap();
    assert!(
        frames
            .iter()
            .all(|f| f.target.to_string() == "700c01" && &*f.source == "rx-1")
    );
    // At 20x, 20 scenario seconds before the entry are 1 s of receive time. (The ring
    // keeps at most 512 frames per target: at this speed, about 4 s of receive time.)
    let before = frames
        .iter()
        .filter(|f| f.at < entered_at.add_micros(-1_000_000))
        .count();
    assert!(
        before > 0,
        "{} frames, none 20 scenario seconds before the entry",
        frames.len()
    );
    assert!(frames.iter().any(|f| f.at > entered_at));
}

/// The receiver goes away and comes back on the same port: the service reconnects,
/// carries on, and the counters show one disconnect and two connections.
#[test]
fn the_service_reconnects_to_a_receiver_that_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = BeastReceiver::start(0.0, 400.0);
    let config = write_config(dir.path(), receiver.addr, 60.0, None);
    let service = Service::start(&config, None);
    let frames = "skyfence_frames_total{source=\"rx-1\"}";
    wait_for("frames", || service.metric(frames) > 1000.0);
    receiver.go_down();
    wait_for("the disconnect to be counted", || {
        service.metric("skyfence_source_disconnects_total{source=\"rx-1\"}") == 1.0
    });
    assert_eq!(
        service.metric("skyfence_source_connected{source=\"rx-1\"}"),
        0.0
    );
    let before = service.metric(frames);
    receiver.come_back();
    wait_for("the reconnection", || {
        service.metric("skyfence_source_connects_total{source=\"rx-1\"}") == 2.0
    });
    wait_for("frames after the reconnection", || {
        service.metric(frames) > before + 1000.0
    });
    assert_eq!(
        service.metric("skyfence_source_connected{source=\"rx-1\"}"),
        1.0
    );
    assert_eq!(
        service.metric("skyfence_source_disconnects_total{source=\"rx-1\"}"),
        1.0
    );
    // Detection carried on: incidents from before and after the outage are stored.
    wait_for("incidents", || {
        !service
            .json("/api/incidents")
            .as_array()
            .unwrap()
            .is_empty()
    });
    service.stop();
}

/// With `[server] api_token`, every /api route needs the bearer token; /metrics and the
/// page do not.
#[test]
fn the_bearer_token_guards_every_api_route() {
    let dir = tempfile::tempdir().unwrap();
    // A receiver that is never there: the source keeps retrying in the background.
    let nobody = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = write_config(dir.path(), nobody, 60.0, Some("s3cret"));
    let service = Service::start(&config, Some("s3cret"));
    for path in [
        "/api/health",
        "/api/incidents",
        "/api/tracks",
        "/api/incidents/0000000000000000",
    ] {
        assert_eq!(http_get(service.addr, path, None).0, 401, "{path}");
        assert_eq!(http_get(service.addr, path, Some("wrong")).0, 401, "{path}");
    }
    assert_eq!(http_get(service.addr, "/api/events", None).0, 401);
    assert_eq!(
        service.get("/api/health"),
        (200, "{\"status\":\"ok\"}".to_string())
    );
    assert_eq!(service.get("/api/incidents"), (200, "[]".to_string()));
    // The counters name sources, zones and sinks: behind the token too.
    assert_eq!(http_get(service.addr, "/metrics", None).0, 401);
    assert_eq!(service.get("/metrics").0, 200);
    // RFC 9110: the scheme name is case-insensitive.
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let (code, _) = raw_get(
            service.addr,
            "/api/health",
            &format!("Authorization: {scheme} s3cret"),
        );
        assert_eq!(code, 200, "{scheme}");
    }
    assert_eq!(http_get(service.addr, "/", None).0, 200);
    service.stop();
}

/// `kill -9` in the middle of the scenario, then a restart on the same store: every
/// incident confirmed before the kill is there exactly once, and the open ones go on
/// under the same id.
#[test]
fn a_killed_service_resumes_its_open_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = BeastReceiver::start(280.0, 720.0);
    // A long timeout (300 scenario s = 15 s here) so the restart gap never loses a track.
    let config = write_config(dir.path(), receiver.addr, 300.0, None);
    let mut service = Service::start(&config, None);
    wait_for("the AFDRN7 PK incident to open", || {
        let list = service.json("/api/incidents?zone=PK&status=open");
        !find(&list, "PK", "700c02").is_empty()
    });
    let before = service.json("/api/incidents");
    let open_id = find(&before, "PK", "700c02")[0]["id"].clone();
    let _ = service.child.kill();
    let _ = service.child.wait();
    drop(service);

    let service = Service::start(&config, None);
    wait_for("the receiver to finish", || receiver.finished());
    wait_for("the AFDRN7 PK incident to close", || {
        let list = service.json("/api/incidents?zone=PK&status=closed");
        !find(&list, "PK", "700c02").is_empty()
    });
    let all = service.json("/api/incidents");
    let after = all.as_array().unwrap();
    for b in before.as_array().unwrap() {
        let n = after.iter().filter(|a| a["id"] == b["id"]).count();
        assert_eq!(n, 1, "incident {} appears {n} times", b["id"]);
    }
    let drn7 = find(&all, "PK", "700c02");
    assert_eq!(drn7.len(), 1, "{drn7:?}");
    assert_eq!(
        drn7[0]["id"], open_id,
        "the open incident continued under its id"
    );
    assert_eq!(drn7[0]["status"], "closed");
    service.stop();
}

/// The other two ways traffic arrives: a receiver pushing Beast to a listening source
/// (port 30104 style) and an SBS-1 (port 30003) feed the service dials. Both are heard:
/// tracks with callsigns appear and each source counts its connection and messages.
#[test]
fn pushing_receivers_and_sbs_feeds_are_heard() {
    let dir = tempfile::tempdir().unwrap();
    // A free port for the listening source (bound, read, released).
    let push_addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sbs = TcpListener::bind("127.0.0.1:0").unwrap();
    let sbs_addr = sbs.local_addr().unwrap();
    let text = format!(
        "[detection]\nmax_speed_mps = 100000\n\n[[zones]]\nfile = {:?}\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\n[store]\npath = \"test.db\"\n\n\
         [[source]]\nname = \"push-1\"\ntype = \"beast\"\nlisten = \"{push_addr}\"\n\n\
         [[source]]\nname = \"sbs-1\"\ntype = \"sbs\"\nconnect = \"{sbs_addr}\"\n",
        scenario().zones.to_str().unwrap(),
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, text).unwrap();
    let service = Service::start(&config, None);

    // The SBS feed: the first 3000 lines of the scenario's SBS recording, then quiet.
    let lines = std::fs::read_to_string(scenario().dir.path().join("sbs.csv")).unwrap();
    let lines: Vec<String> = lines
        .lines()
        .take(3000)
        .map(|l| format!("{l}\r\n"))
        .collect();
    let sbs_feed = thread::spawn(move || {
        let (mut s, _) = sbs.accept().unwrap();
        for chunk in lines.chunks(100) {
            s.write_all(chunk.concat().as_bytes()).unwrap();
            thread::sleep(Duration::from_millis(10));
        }
        s
    });
    // The pushing receiver: the scenario's first 3000 Beast frames.
    let mut push = TcpStream::connect(push_addr);
    wait_for("the listening source", || {
        push.is_ok() || {
            push = TcpStream::connect(push_addr);
            push.is_ok()
        }
    });
    let mut push = push.unwrap();
    for chunk in scenario().frames[..3000].chunks(100) {
        let mut out = Vec::new();
        for f in chunk {
            encode_beast(f, &mut out);
        }
        push.write_all(&out).unwrap();
        thread::sleep(Duration::from_millis(10));
    }
    let _sbs_conn = sbs_feed.join().unwrap();
    wait_for("both sources' messages", || {
        service.metric("skyfence_frames_total{source=\"push-1\"}") == 3000.0
            && service.metric("skyfence_messages_total{source=\"push-1\"}") > 500.0
            && service.metric("skyfence_messages_total{source=\"sbs-1\"}") > 1000.0
    });
    assert_eq!(
        service.metric("skyfence_source_connected{source=\"push-1\"}"),
        1.0
    );
    assert_eq!(
        service.metric("skyfence_source_connected{source=\"sbs-1\"}"),
        1.0
    );
    wait_for("tracks with callsigns", || {
        let tracks = service.json("/api/tracks");
        let named = tracks
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["callsign"].is_string() && t["lat"].is_number())
            .count();
        named >= 5
    });
    let tracks = service.json("/api/tracks");
    let thy = tracks
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["icao24"] == "4b8a16")
        .expect("THY716 is in the air from the start");
    assert_eq!(thy["callsign"], "THY716");
    assert_eq!(thy["classification"], "aircraft");
    drop(push);
    service.stop();
}

/// `skyfence run --replay beast:FILE --speed X`: a recording replayed as a live source,
/// paced by its own times, gives the scenario's first incidents.
#[test]
fn a_recording_replays_as_a_live_source() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = write_config(dir.path(), nobody, 60.0, None);
    let recording = scenario().dir.path().join("beast.bin");
    let replay = format!("beast:{}", recording.to_str().unwrap());
    let speed = SPEED.to_string();
    let service = Service::start_with(&config, None, &["--replay", &replay, "--speed", &speed]);
    // THY716 (4b8a16) is over Afghanistan from second 0 with an overflight permit.
    wait_for("THY716's authorised AF incident", || {
        let list = service.json("/api/incidents?zone=AF");
        !find(&list, "AF", "4b8a16").is_empty()
    });
    let list = service.json("/api/incidents?zone=AF");
    let thy = find(&list, "AF", "4b8a16")[0];
    assert_eq!(thy["authorised"], true);
    assert_eq!(thy["target"]["callsign"], "THY716");
    assert!(service.metric("skyfence_frames_total{source=\"replay-1\"}") > 0.0);
    service.stop();
}

/// The same from the config file: `[[source]] replay` and `speed`, with the `[store]`
/// keys `durability = "normal"` and `retention_days`.
#[test]
fn a_config_replay_source_with_normal_durability_finds_the_incident() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = write_config(dir.path(), nobody, 60.0, None);
    let recording = scenario().dir.path().join("beast.bin");
    let mut text = std::fs::read_to_string(&config).unwrap().replace(
        "path = \"test.db\"\n",
        "path = \"test.db\"\ndurability = \"normal\"\nretention_days = 30\n",
    );
    text.push_str(&format!(
        "\n[[source]]\nname = \"rec\"\ntype = \"beast\"\nreplay = {:?}\nspeed = {SPEED}\n",
        recording.to_str().unwrap()
    ));
    std::fs::write(&config, text).unwrap();
    let service = Service::start(&config, None);
    // THY716 (4b8a16) is over Afghanistan from second 0 with an overflight permit.
    wait_for("THY716's authorised AF incident", || {
        let list = service.json("/api/incidents?zone=AF");
        !find(&list, "AF", "4b8a16").is_empty()
    });
    assert!(service.metric("skyfence_frames_total{source=\"rec\"}") > 0.0);
    assert!(service.metric("skyfence_confirmed_latency_seconds_count") > 0.0);
    service.stop();
}

/// `--retention-days`: at start (and hourly) the store forgets closed incidents that
/// ended longer ago; open ones stay. AFDRN6 (700c01) is inside Afghanistan at 22:04:40
/// and crosses into Pakistan at 22:06:49 (sim::builtin): its AF incident closes.
#[test]
fn retention_purges_closed_incidents_and_keeps_open_ones() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = BeastReceiver::start(280.0, 480.0);
    // A long timeout (15 s here), so no incident is lost while the service is down.
    let config = write_config(dir.path(), receiver.addr, 300.0, None);
    let service = Service::start(&config, None);
    wait_for("AFDRN6's AF incident to close", || {
        let list = service.json("/api/incidents?zone=AF&status=closed");
        !find(&list, "AF", "700c01").is_empty()
    });
    let open = service.json("/api/incidents?status=open");
    let open_ids: Vec<Value> = open
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].clone())
        .collect();
    assert!(!open_ids.is_empty());
    service.stop();
    drop(receiver);

    // 0.00001 days = 0.864 s: everything closed before the restart is older than that.
    let service = Service::start_with(&config, None, &["--retention-days", "0.00001"]);
    wait_for("the purge", || {
        service
            .json("/api/incidents?status=closed")
            .as_array()
            .unwrap()
            .is_empty()
    });
    let after = service.json("/api/incidents?status=open");
    for id in &open_ids {
        assert_eq!(
            after
                .as_array()
                .unwrap()
                .iter()
                .filter(|i| &i["id"] == id)
                .count(),
            1,
            "open incident {id} kept"
        );
    }
    assert_eq!(
        service.get("/api/incidents?status=closed"),
        (200, "[]".to_string())
    );
    service.stop();
}

/// Without an API token, only requests addressed by IP or `localhost` are served: a page
/// whose DNS name an attacker points at this machine (DNS rebinding) is refused.
#[test]
fn without_a_token_requests_by_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nobody = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = write_config(dir.path(), nobody, 60.0, None);
    let service = Service::start(&config, None);
    let by_ip = format!("Host: 127.0.0.1:{}", service.addr.port());
    for (host, want) in [
        (by_ip.as_str(), 200),
        ("Host: localhost", 200),
        ("Host: attacker.example", 403),
        ("Host: attacker.example:8080", 403),
    ] {
        // raw_get adds its own Host line; a second one would be ambiguous: send alone.
        use std::io::Read as _;
        let mut s = TcpStream::connect(service.addr).unwrap();
        write!(s, "GET /api/health HTTP/1.0\r\n{host}\r\n\r\n").unwrap();
        let mut text = String::new();
        s.read_to_string(&mut text).unwrap();
        let code: u16 = text
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        assert_eq!(code, want, "{host}: {text}");
    }
    service.stop();
}
