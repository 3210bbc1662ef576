//! End-to-end tests of alert webhooks ("Verified"): `skyfence run` replays the
//! simulator's `af-pk-border` recording (accelerated) and delivers its unauthorised
//! incursions to a real HTTP receiver on loopback (axum, inside the test) that refuses
//! deliveries, goes down across a service restart and comes back.
//!
//! Receive times are the wall clock, so at `SPEED` times real time the detection
//! thresholds are divided by `SPEED` (as in `service_e2e.rs`). Deadlines below only stop
//! a broken run from hanging; nothing asserts on time.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use skyfence_core::Timestamp;
use skyfence_core::detect::Event;
use skyfence_store::{IncidentStore, SqliteStore};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
/// Scenario seconds per wall second.
const SPEED: f64 = 20.0;
/// Far enough for a slow CI machine; a passing run takes a fraction of it.
const DEADLINE: Duration = Duration::from_secs(180);
/// The webhook's shared secret.
const SECRET: &str = "e2e-shared-secret";

/// The simulated scenario, once per test binary: its directory (beast.bin, zones,
/// permits).
fn scenario() -> &'static tempfile::TempDir {
    static S: OnceLock<tempfile::TempDir> = OnceLock::new();
    S.get_or_init(|| common::simulate_af_pk_border("beast"))
}

/// What the receiver answers.
#[derive(Clone, Copy, Debug)]
enum Answer {
    /// 503 for the next `n` requests, then 200.
    RefuseFirst(usize),
    /// Always this status.
    Always(u16),
    /// Take the request (logged as accepted, 200) but answer only once released: the
    /// sender never learns that it was delivered.
    Hold,
}

/// One request the receiver got, and what it answered.
#[derive(Clone, Debug)]
struct Received {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// Whether `X-Skyfence-Signature` is `sha256=` + the HMAC-SHA256 of the body under
    /// [`SECRET`] (computed here with the hmac crate, independently of the service).
    fn signature_verifies(&self) -> bool {
        let Some(hex) = self.header("x-skyfence-signature").strip_prefix("sha256=") else {
            return false;
        };
        let Ok(tag) = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
            .collect::<Result<Vec<u8>, _>>()
        else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(&self.body);
        mac.verify_slice(&tag).is_ok()
    }
}

struct HookState {
    answer: Mutex<Answer>,
    /// Turns true to let held requests be answered.
    release: tokio::sync::watch::Sender<bool>,
    log: Mutex<Vec<Received>>,
}

async fn hook(State(s): State<Arc<HookState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let (status, hold) = {
        let mut a = s.answer.lock().unwrap();
        match *a {
            Answer::RefuseFirst(0) => (200, false),
            Answer::RefuseFirst(n) => {
                *a = Answer::RefuseFirst(n - 1);
                (503, false)
            }
            Answer::Always(code) => (code, false),
            Answer::Hold => (200, true),
        }
    };
    let headers = headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    s.log.lock().unwrap().push(Received {
        status,
        headers,
        body: body.to_vec(),
    });
    if hold {
        let _ = s.release.subscribe().wait_for(|r| *r).await;
    }
    StatusCode::from_u16(status).unwrap()
}

/// A webhook receiver on loopback that can go down and come back on the same port.
struct Receiver {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    state: Arc<HookState>,
    running: Option<(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    )>,
}

impl Receiver {
    fn start(answer: Answer) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let mut r = Receiver {
            addr: listener.local_addr().unwrap(),
            rt,
            state: Arc::new(HookState {
                answer: Mutex::new(answer),
                release: tokio::sync::watch::channel(false).0,
                log: Mutex::new(Vec::new()),
            }),
            running: None,
        };
        r.serve(listener);
        r
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(self.state.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = self.rt.spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        self.running = Some((stop, task));
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Closes the listener and every connection: deliveries now fail to connect.
    fn go_down(&mut self) {
        if let Some((stop, task)) = self.running.take() {
            let _ = stop.send(());
            self.rt.block_on(task).unwrap();
        }
    }

    /// Listens again on the same port.
    fn come_back(&mut self, answer: Answer) {
        self.set_answer(answer);
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind(self.addr))
            .unwrap();
        self.serve(listener);
    }

    fn set_answer(&self, answer: Answer) {
        self.state.release.send_replace(false);
        *self.state.answer.lock().unwrap() = answer;
    }

    /// Answers the held requests.
    fn release(&self) {
        self.state.release.send_replace(true);
    }

    fn log(&self) -> Vec<Received> {
        self.state.log.lock().unwrap().clone()
    }

    fn accepted(&self) -> Vec<Received> {
        self.log().into_iter().filter(|r| r.status == 200).collect()
    }
}

/// A `skyfence run` process and the address of its API.
struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Service {
    /// `skyfence run --config CONFIG`, replaying the scenario's recording when `replay`.
    fn start(config: &Path, replay: bool) -> Service {
        let mut cmd = Command::new(BIN);
        cmd.arg("run").arg("--config").arg(config);
        if replay {
            let recording = scenario().path().join("beast.bin");
            cmd.arg("--replay")
                .arg(format!("beast:{}", recording.to_str().unwrap()))
                .arg("--speed")
                .arg(SPEED.to_string());
        }
        let (child, addr) = common::spawn_service(&mut cmd, DEADLINE, |_| {});
        Service { child, addr }
    }

    fn request(&self, method: &str, path: &str) -> (u16, String) {
        common::http(self.addr, method, path, None, None)
    }

    fn json(&self, path: &str) -> Value {
        let (status, body) = self.request("GET", path);
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    fn metric(&self, line_prefix: &str) -> f64 {
        let (_, body) = self.request("GET", "/metrics");
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

/// Waits until `done` holds; panics (naming `what`) after [`DEADLINE`].
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// A config for the scenario at `SPEED` (confirm 5 s, a track timeout of 3600 scenario
/// seconds so that no incident is lost while a test runs, 1000 m/s), its zones and
/// permits, and `alert` (an `[[alert]]` table).
fn write_config(dir: &Path, alert: &str) -> PathBuf {
    let zones = scenario().path().join("zones.geojson");
    let text = format!(
        "[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
         [[zones]]\nfile = {:?}\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n\
         [store]\npath = \"alerts.db\"\n\n{alert}\n",
        5.0 / SPEED,
        3600.0 / SPEED,
        1000.0 * SPEED,
        zones.to_str().unwrap(),
    );
    let simulated = std::fs::read_to_string(scenario().path().join("config.toml")).unwrap();
    let permits = simulated.find("[[allow]]").map_or("", |i| &simulated[i..]);
    let path = dir.join("config.toml");
    std::fs::write(&path, format!("{text}\n{permits}")).unwrap();
    path
}

/// For each rule, the idempotency keys of the stored events it matches: what the
/// receiver must get. `ops`: `confirmed`, `closed`, `lost` of unauthorised incidents;
/// `near-pk`: approaches of zone PK.
fn expected_keys(db: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let store = SqliteStore::open(db).unwrap();
    let events = store.events_since(0, 1_000_000).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in &events {
        match &e.event {
            Event::Approach {
                at, zone, target, ..
            } if zone == "PK" => {
                out.entry("near-pk".into()).or_default().insert(format!(
                    "approach/PK/{}/{}",
                    target.id,
                    at.as_micros()
                ));
            }
            Event::Approach { .. } => {}
            other => {
                let i = other.incident().unwrap();
                if !i.authorised {
                    out.entry("ops".into()).or_default().insert(format!(
                        "{}/{}",
                        i.id,
                        other.kind()
                    ));
                }
            }
        }
    }
    out
}

/// The key a delivery's body implies, computed from the body alone.
fn key_of(v: &Value) -> String {
    match v["event"].as_str().unwrap() {
        "approach" => format!(
            "approach/{}/{}/{}",
            v["zone"].as_str().unwrap(),
            v["target"]["icao24"].as_str().unwrap(),
            Timestamp::parse_rfc3339(v["at"].as_str().unwrap())
                .unwrap()
                .as_micros()
        ),
        kind => format!("{}/{kind}", v["incident"]["id"].as_str().unwrap()),
    }
}

/// The receiver refuses the first 3 deliveries (503), takes one without answering
/// while the service stops, is down while the service starts again over the same store,
/// and comes back: for both rules (unauthorised incidents; approaches of PK), every
/// matching stored event arrives, in store order; the unanswered one arrives twice, and
/// repeats carry the same idempotency key (and the same event); every signature
/// verifies with the secret.
#[test]
fn every_alert_arrives_across_refusals_an_outage_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut receiver = Receiver::start(Answer::RefuseFirst(3));
    let timing = "retry_initial_s = 0.05\nretry_max_s = 0.5\ntimeout_s = 5\n";
    let config = write_config(
        dir.path(),
        &format!(
            "[[alert]]\ntype = \"webhook\"\nname = \"ops\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n\
             events = [\"confirmed\", \"closed\", \"lost\"]\nlevel = \"warning\"\n{timing}\n\
             [[alert]]\ntype = \"webhook\"\nname = \"near-pk\"\nurl = \"{url}\"\nsecret = \"{SECRET}\"\n\
             events = [\"approach\"]\nzones = [\"PK\"]\nlevel = \"advisory\"\n{timing}",
            url = receiver.url()
        ),
    );
    let failed = "skyfence_alerts_failed_attempts_total{sink=\"ops\",type=\"webhook\"}";

    // Run 1: three refusals, then deliveries.
    let service = Service::start(&config, true);
    wait_for("an incident delivery after the three refusals", || {
        receiver
            .accepted()
            .iter()
            .any(|r| r.json()["rule"] == "ops")
    });
    assert_eq!(
        receiver.log()[..3]
            .iter()
            .filter(|r| r.status == 503)
            .count(),
        3
    );
    // The next delivery reaches the receiver, which holds its answer while the service
    // stops: the service never learns it was delivered, so it must send it again.
    let taken = receiver.log().len();
    receiver.set_answer(Answer::Hold);
    wait_for("a held incident delivery", || {
        receiver.log()[taken..]
            .iter()
            .any(|r| r.json()["rule"] == "ops")
    });
    service.stop();
    receiver.release();
    receiver.go_down();

    // Run 2, receiver still down: the undelivered event is tried again after the restart.
    let service = Service::start(&config, true);
    wait_for("a failed attempt after the restart", || {
        service.metric(failed) >= 1.0
    });
    let before_return = receiver.accepted().len();
    receiver.come_back(Answer::RefuseFirst(0));
    wait_for("deliveries after the receiver came back", || {
        receiver
            .accepted()
            .iter()
            .skip(before_return)
            .filter(|r| r.json()["rule"] == "ops")
            .count()
            >= 2
    });
    // The service counts a delivery once it has recorded it, just after the response.
    wait_for("the per-sink delivery metrics", || {
        service.metric("skyfence_alerts_delivered_total{sink=\"ops\",type=\"webhook\"}") >= 2.0
            && service.metric("skyfence_alert_delivery_latency_seconds_count{sink=\"ops\"}") >= 2.0
    });
    service.stop();

    // Run 3, no traffic: whatever is still in the outbox goes out.
    let service = Service::start(&config, false);
    wait_for("the outboxes to drain", || {
        let a = service.json("/api/alerts");
        a["sinks"][0]["pending"] == 0 && a["sinks"][1]["pending"] == 0
    });
    let status = service.json("/api/alerts");
    let mut delivered_seq = Vec::new();
    for (sink, name) in status["sinks"]
        .as_array()
        .unwrap()
        .iter()
        .zip(["ops", "near-pk"])
    {
        assert_eq!(sink["name"], name);
        assert_eq!(sink["type"], "webhook");
        assert_eq!(sink["target"], receiver.url());
        assert_eq!(sink["dead_letters"], serde_json::json!([]));
        delivered_seq.push(sink["delivered_seq"].as_u64().unwrap());
    }
    service.stop();

    let db = dir.path().join("alerts.db");
    let store = SqliteStore::open(&db).unwrap();
    let last = store.last_seq().unwrap();
    assert_eq!(delivered_seq, [last, last], "every event handled");
    drop(store);
    let expected = expected_keys(&db);
    // At least: one delivered in run 1, the held one, and one more of run 2.
    assert!(expected["ops"].len() >= 3, "{expected:?}");
    assert!(!expected["near-pk"].is_empty(), "{expected:?}");

    let log = receiver.log();
    let mut by_key: BTreeMap<(String, String), Vec<Value>> = BTreeMap::new();
    for r in &log {
        assert!(r.signature_verifies(), "bad signature on {:?}", r.headers);
        let v = r.json();
        let rule = v["rule"].as_str().unwrap().to_string();
        let key = r.header("idempotency-key").to_string();
        assert_eq!(key, key_of(&v));
        assert_eq!(r.header("x-skyfence-event"), v["event"]);
        assert_eq!(r.header("content-type"), "application/json");
        assert!(
            r.header("user-agent").starts_with("skyfence/"),
            "{:?}",
            r.headers
        );
        match rule.as_str() {
            "ops" => {
                assert_eq!(v["level"], "warning");
                assert_eq!(v["incident"]["authorised"], false);
            }
            "near-pk" => {
                assert_eq!(v["level"], "advisory");
                assert_eq!(v["zone"], "PK");
                assert!(v["position"]["lat"].is_number(), "{v}");
            }
            other => panic!("unexpected rule {other}"),
        }
        if r.status == 200 {
            by_key.entry((rule, key)).or_default().push(v);
        }
    }
    let mut received: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rule, key) in by_key.keys() {
        received
            .entry(rule.clone())
            .or_default()
            .insert(key.clone());
    }
    assert_eq!(
        received, expected,
        "every matching event arrived, nothing else"
    );
    for (key, copies) in &by_key {
        // A repeat is the same event: same sequence number, kind and incident.
        for c in copies {
            assert_eq!(c["seq"], copies[0]["seq"], "{key:?}");
            assert_eq!(c["incident"], copies[0]["incident"], "{key:?}");
            assert_eq!(c["event"], copies[0]["event"], "{key:?}");
        }
    }
    let accepted: usize = by_key.values().map(Vec::len).sum();
    assert!(
        by_key
            .iter()
            .any(|((rule, _), copies)| rule == "ops" && copies.len() >= 2),
        "the delivery the service never saw answered was sent again"
    );
    eprintln!(
        "{} incident and {} approach events matched; {} requests: {} refused (503), {} accepted, {} of them repeats",
        expected["ops"].len(),
        expected["near-pk"].len(),
        log.len(),
        log.iter().filter(|r| r.status == 503).count(),
        accepted,
        accepted - by_key.len()
    );
    // Each rule delivers in store order (a retry never overtakes a later event).
    for rule in ["ops", "near-pk"] {
        let order: Vec<u64> = log
            .iter()
            .filter(|r| r.status == 200)
            .map(Received::json)
            .filter(|v| v["rule"] == rule)
            .map(|v| v["seq"].as_u64().unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "{rule}: {order:?}");
    }
}

/// A receiver that always fails: after `dead_letter_after_s` the alert is dead-lettered,
/// listed by `GET /api/alerts` and counted; a 4xx is dead-lettered at its first attempt;
/// an operator's retry delivers both once the receiver accepts again.
#[test]
fn failing_deliveries_become_visible_dead_letters_and_can_be_retried() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(Answer::Always(500));
    let config = write_config(
        dir.path(),
        &format!(
            "[[alert]]\ntype = \"webhook\"\nname = \"ops\"\nurl = \"{}\"\nsecret = \"{SECRET}\"\n\
             retry_initial_s = 0.05\nretry_max_s = 0.2\ndead_letter_after_s = 1\n",
            receiver.url()
        ),
    );
    let service = Service::start(&config, true);
    let dead = |service: &Service| -> Vec<Value> {
        service.json("/api/alerts")["sinks"][0]["dead_letters"]
            .as_array()
            .unwrap()
            .clone()
    };
    wait_for("a dead letter", || !dead(&service).is_empty());
    let first = dead(&service)[0].clone();
    assert!(first["attempts"].as_u64().unwrap() >= 2, "{first}");
    assert!(
        first["last_error"].as_str().unwrap().contains("http 500"),
        "{first}"
    );
    assert!(first["incident_id"].is_string(), "{first}");
    assert!(
        ["confirmed", "closed", "lost"].contains(&first["event"].as_str().unwrap()),
        "{first}"
    );
    assert!(
        first["first_attempt_at"].as_str().unwrap() < first["last_attempt_at"].as_str().unwrap()
    );
    // Counted just after it is stored.
    wait_for("the dead-letter metric", || {
        service.metric("skyfence_alerts_dead_lettered_total{sink=\"ops\",type=\"webhook\"}") >= 1.0
    });

    // 410 Gone: refused for good, dead-lettered at the first attempt.
    receiver.set_answer(Answer::Always(410));
    wait_for("a dead letter after one 410", || {
        dead(&service)
            .iter()
            .any(|d| d["last_error"].as_str().unwrap().contains("http 410"))
    });
    let gone = dead(&service)
        .into_iter()
        .find(|d| d["last_error"].as_str().unwrap().contains("http 410"))
        .unwrap();
    let tries_410 = receiver
        .log()
        .iter()
        .filter(|r| r.status == 410 && r.json()["seq"] == gone["seq"])
        .count();
    assert_eq!(tries_410, 1, "no retry after a 410: {gone}");

    // The receiver is fixed: the operator retries both.
    receiver.set_answer(Answer::RefuseFirst(0));
    for d in [&first, &gone] {
        let path = format!("/api/alerts/dead/ops/{}/retry", d["seq"]);
        let (status, body) = service.request("POST", &path);
        assert_eq!(status, 202, "{body}");
    }
    assert_eq!(
        service
            .request("POST", "/api/alerts/dead/ops/999999/retry")
            .0,
        404
    );
    assert_eq!(
        service.request("POST", "/api/alerts/dead/nobody/1/retry").0,
        404
    );
    wait_for("both retried letters delivered", || {
        let seqs: BTreeSet<u64> = receiver
            .accepted()
            .iter()
            .map(|r| r.json()["seq"].as_u64().unwrap())
            .collect();
        seqs.contains(&first["seq"].as_u64().unwrap())
            && seqs.contains(&gone["seq"].as_u64().unwrap())
    });
    wait_for("the retried letters to leave the list", || {
        dead(&service)
            .iter()
            .all(|d| d["seq"] != first["seq"] && d["seq"] != gone["seq"])
    });
    for r in receiver.log() {
        assert!(r.signature_verifies());
    }
    service.stop();
}
