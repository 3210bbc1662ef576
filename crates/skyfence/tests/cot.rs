//! Cursor-on-Target from `skyfence run` to TAK-ecosystem code ("Verified"): a
//! Beast receiver inside the test plays the simulator's `af-pk-border` scenario
//! (accelerated) to the service, whose two `[[alert]] type = "cot"` sinks send on
//! 127.0.0.1: incident events over TCP to a real TAK server (taky, started by the
//! test), which relays them to its clients, and live targets every second over UDP.
//! The client is `tests/oracle/cot_receive.py`: connected to taky and listening for the
//! UDP datagrams, it validates every event against the CoT base-event XML Schema and
//! parses it with taky's and takproto's (the TAK protocol buffers) parsers; this test
//! asserts what they read against the incident the API reports.
//!
//! The oracle needs `xmlschema`, `taky` and `takproto` (`.ci/run` installs them).
//! Without them the test says so and passes, except in CI, where it fails
//! (`skyfence_testkit::require_tool`).
//!
//! Receive times are the wall clock, so at `SPEED` times real time the detection
//! thresholds are scaled by `SPEED`. Deadlines only stop a broken run from hanging.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use skyfence_decode::Frame;
use skyfence_decode::beast::encode_beast;

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
/// Scenario seconds per wall second.
const SPEED: f64 = 20.0;
/// Far enough for a slow CI machine; a passing run takes a fraction of it.
const DEADLINE: Duration = Duration::from_secs(150);

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> String {
    std::env::var("SKYFENCE_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// `Err` with the reason when the oracle's packages cannot be imported.
fn oracle_available(python: &str) -> Result<(), String> {
    let out = Command::new(python)
        .args(["-c", "import xmlschema, takproto, taky.cot.models, lxml"])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{python} cannot import xmlschema, takproto and taky ({}); run: pip install xmlschema takproto taky",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// A taky TAK server (`python -m taky.cot`) on 127.0.0.1: plain TCP CoT on `port`,
/// no TLS, in-memory persistence, its files in `dir`.
struct Taky(Child);

impl Taky {
    fn start(python: &str, dir: &Path, port: u16) -> Taky {
        let conf = dir.join("taky.conf");
        std::fs::write(
            &conf,
            format!(
                "[taky]\nhostname = localhost\nnode_id = SKYFENCE-TEST\nbind_ip = 127.0.0.1\n\
                 redis = false\nroot_dir = .\n\n[cot_server]\nport = {port}\n\n[ssl]\nenabled = false\n"
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("taky.log")).unwrap();
        Taky(
            Command::new(python)
                .args(["-m", "taky.cot", "-c"])
                .arg(&conf)
                .current_dir(dir)
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start taky"),
        )
    }
}

impl Drop for Taky {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The oracle process and the JSON lines it printed.
struct Oracle {
    child: Child,
    udp: u16,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl Oracle {
    fn start(python: &str, taky_port: u16) -> Oracle {
        let root = repo_root();
        let mut child = Command::new(python)
            .arg(root.join("tests/oracle/cot_receive.py"))
            .arg("--xsd")
            .arg(root.join("tests/oracle/cot-event.xsd"))
            .args(["--taky-port", &taky_port.to_string()])
            // Runs until the test ends it.
            .args(["--udp-count", "100000", "--tcp-count", "100000"])
            .args(["--timeout", &DEADLINE.as_secs().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run tests/oracle/cot_receive.py");
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let ports: Value = serde_json::from_str(&first)
            .unwrap_or_else(|e| panic!("oracle's first line {first:?}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        Oracle {
            child,
            udp: ports["udp"].as_u64().unwrap() as u16,
            lines,
        }
    }

    fn seen(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }
}

impl Drop for Oracle {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The simulated scenario: its directory (zones, permits) and its frames.
struct Scenario {
    dir: tempfile::TempDir,
    frames: Vec<Frame>,
}

fn scenario() -> Scenario {
    let dir = common::simulate_af_pk_border("beast");
    let frames = common::af_pk_border_frames(dir.path());
    Scenario { dir, frames }
}

/// A Beast TCP server playing scenario seconds `from..until` at `SPEED` to the first
/// client, then closing.
fn serve_beast(frames: Vec<Frame>, from_s: f64, until_s: f64, stop: Arc<AtomicBool>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let epoch = Instant::now();
        let t0 = frames[0].at;
        let offset = |f: &Frame| f.at.secs_since(t0);
        let mut next = frames.partition_point(|f| offset(f) < from_s);
        let mut out = Vec::new();
        while !stop.load(Ordering::SeqCst) {
            let now = (from_s + epoch.elapsed().as_secs_f64() * SPEED).min(until_s);
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
    });
    addr
}

/// A `skyfence run` process and the address of its API.
struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Service {
    fn start(config: &Path) -> Service {
        let (child, addr) = common::spawn_service(
            Command::new(BIN).arg("run").arg("--config").arg(config),
            DEADLINE,
            |_| {},
        );
        Service { child, addr }
    }

    fn get(&self, path: &str) -> String {
        let (status, body) = common::http(self.addr, "GET", path, None, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn json(&self, path: &str) -> Value {
        serde_json::from_str(&self.get(path)).unwrap()
    }

    /// The value of the first `/metrics` line starting with `prefix`.
    fn metric(&self, prefix: &str) -> f64 {
        self.get("/metrics")
            .lines()
            .find_map(|l| l.strip_prefix(prefix)?.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < DEADLINE, "gave up waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// AFDRN7 (700c02, a UAV) is first heard inside Pakistan at 22:05:00 and flies out
/// into Afghanistan (the scenario's story table): an unauthorised PK incident that
/// is confirmed and then closed. Played from 22:04:40 to 22:12:00.
#[test]
fn incidents_and_live_targets_reach_tak_parsers_over_tcp_and_udp() {
    let python = python();
    if !skyfence_testkit::require_tool("CoT oracle test", oracle_available(&python)) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let taky_port = free_port();
    let _taky = Taky::start(&python, dir.path(), taky_port);
    let oracle = Oracle::start(&python, taky_port);
    wait_for("the oracle to connect to taky", || {
        oracle.seen().iter().any(|l| l["taky"] == "connected")
    });
    let sc = scenario();
    let stop = Arc::new(AtomicBool::new(false));
    let receiver = serve_beast(sc.frames.clone(), 280.0, 720.0, stop.clone());
    let simulated = std::fs::read_to_string(sc.dir.path().join("config.toml")).unwrap();
    let permits = simulated.find("[[allow]]").map_or("", |i| &simulated[i..]);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
             [[zones]]\nfile = {:?}\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n\
             [store]\npath = \"cot.db\"\n\n\
             [[source]]\nname = \"rx-1\"\ntype = \"beast\"\nconnect = \"{receiver}\"\n\n\
             [[alert]]\ntype = \"cot\"\nname = \"tak-server\"\ntcp = \"127.0.0.1:{}\"\ninterval_s = 0\n\n\
             [[alert]]\ntype = \"cot\"\nname = \"sa-udp\"\nudp = \"127.0.0.1:{}\"\ninterval_s = 1\n\
             incident_stale_s = 600\n\n{permits}",
            5.0 / SPEED,
            60.0 / SPEED,
            1000.0 * SPEED,
            sc.dir.path().join("zones.geojson").to_str().unwrap(),
            taky_port,
            oracle.udp,
        ),
    )
    .unwrap();
    let service = Service::start(&config);

    wait_for("the AFDRN7 PK incident to close", || {
        let list = service.json("/api/incidents?zone=PK&status=closed");
        list.as_array()
            .unwrap()
            .iter()
            .any(|i| i["target"]["icao24"] == "700c02")
    });
    let list = service.json("/api/incidents?zone=PK&status=closed");
    let drn7 = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["target"]["icao24"] == "700c02")
        .unwrap()
        .clone();
    let id = drn7["id"].as_str().unwrap().to_string();
    let uid = format!("skyfence-incident-{id}");
    wait_for("the closed incident's CoT relayed by taky", || {
        oracle.seen().iter().any(|l| {
            l["transport"] == "taky"
                && l["uid"] == uid.as_str()
                && l["skyfence"]["state"] == "closed"
        })
    });
    // Live targets carry the accuracy the target announced (ADS-B operational status,
    // which the simulator sends every ~2.5 s): wait for one sent after the first.
    let accurate = |l: &Value| {
        l["transport"] == "udp"
            && l["uid"] == "skyfence-700c02"
            && l["ce"].as_f64() != Some(9_999_999.0)
    };
    wait_for("AFDRN7's live CoT with its NACp over UDP", || {
        oracle.seen().iter().any(accurate)
    });
    stop.store(true, Ordering::SeqCst);
    let seen = oracle.seen();

    // Every event passed the schema and both parsers.
    let failures: Vec<&Value> = seen.iter().filter(|l| l.get("error").is_some()).collect();
    assert!(failures.is_empty(), "oracle failures: {failures:#?}");

    // The incident over TCP through the TAK server: confirmed, then closed (at least
    // once each, in that order).
    let tcp: Vec<&Value> = seen
        .iter()
        .filter(|l| l["transport"] == "taky" && l["uid"] == uid.as_str())
        .collect();
    let states: Vec<&str> = tcp
        .iter()
        .map(|l| l["skyfence"]["state"].as_str().unwrap())
        .collect();
    let confirmed = states
        .iter()
        .position(|s| *s == "confirmed")
        .expect("confirmed sent");
    let closed = states.iter().position(|s| *s == "closed").unwrap();
    assert!(confirmed < closed, "{states:?}");
    let c = tcp[closed];
    // An unauthorised UAV: suspect air, military fixed-wing drone; never hostile.
    assert_eq!(drn7["classification"], "uav");
    assert_eq!(drn7["authorised"], false);
    assert_eq!(c["type"], "a-s-A-M-F-Q");
    assert_eq!(c["how"], "m-g");
    assert_eq!(c["version"], "2.0");
    // At the entry point, the incident's own numbers; barometric feet as metres.
    let entry = &drn7["entry"];
    assert!(
        (c["lat"].as_f64().unwrap() - entry["lat"].as_f64().unwrap()).abs() < 1e-6,
        "{c}"
    );
    assert!(
        (c["lon"].as_f64().unwrap() - entry["lon"].as_f64().unwrap()).abs() < 1e-6,
        "{c}"
    );
    let hae = entry["alt_ft"]
        .as_f64()
        .map_or(9_999_999.0, |ft| (ft * 0.3048 * 10.0).round() / 10.0);
    assert_eq!(c["hae"].as_f64(), Some(hae), "{c}");
    // An incident's entry point is interpolated, not reported: no accuracy claimed.
    assert_eq!(c["ce"].as_f64(), Some(9_999_999.0));
    assert_eq!(c["le"].as_f64(), Some(9_999_999.0));
    assert_eq!(c["stale_after_time_s"].as_f64(), Some(3600.0));
    assert_eq!(c["proto"]["callsign"], "AFDRN7");
    assert_eq!(c["proto"]["type"], "a-s-A-M-F-Q");
    assert_eq!(c["skyfence"]["zone"], "PK");
    assert_eq!(c["skyfence"]["incident"], id.as_str());
    assert_eq!(c["skyfence"]["status"], "closed");
    assert_eq!(c["skyfence"]["authorised"], "false");
    assert_eq!(c["skyfence"]["icao24"], "700c02");
    assert!(
        c["remarks"]
            .as_str()
            .unwrap()
            .starts_with("Unauthorised incursion into PK: AFDRN7 (700c02, uav)"),
        "{c}"
    );

    // The live target over UDP: the track's own uid, valid for two intervals; `ce` from
    // the drone's NACp 9 (DO-260B Table 2-70: 95 % EPU < 30 m → σ = 30 / 2.4477 =
    // 12.26 m, written at 0.1 m) as both taky and takproto read it; `le` unknown
    // (barometric altitude).
    let live = seen.iter().find(|l| accurate(l)).unwrap();
    assert_eq!(live["ce"].as_f64(), Some(12.3), "{live}");
    assert!(
        (live["proto"]["ce"].as_f64().unwrap() - 12.3).abs() < 1e-9,
        "{live}"
    );
    assert_eq!(live["le"].as_f64(), Some(9_999_999.0), "{live}");
    assert_eq!(live["type"], "a-u-A-M-F-Q", "{live}");
    assert_eq!(live["stale_after_time_s"].as_f64(), Some(2.0));
    assert_eq!(live["proto"]["callsign"], "AFDRN7");
    let state = live["skyfence"]["state"].as_str().unwrap();
    assert!(state == "inside" || state == "approaching", "{live}");
    // The UDP sink also got the incident events, with its own stale time.
    assert!(
        seen.iter().any(|l| l["transport"] == "udp"
            && l["uid"] == uid.as_str()
            && l["stale_after_time_s"].as_f64() == Some(600.0)),
        "no incident event over UDP"
    );

    // Counted in /metrics.
    let tak = "{sink=\"tak-server\",destination=\"tcp://127.0.0.1:";
    assert!(
        service.metric(&format!(
            "skyfence_cot_incident_events_total{tak}{}\"}}",
            taky_port
        )) >= 2.0
    );
    assert!(
        service.metric(&format!(
            "skyfence_cot_connects_total{tak}{}\"}}",
            taky_port
        )) >= 1.0
    );
    let sa = format!(
        "{{sink=\"sa-udp\",destination=\"udp://127.0.0.1:{}\"}}",
        oracle.udp
    );
    assert!(service.metric(&format!("skyfence_cot_target_events_total{sa}")) >= 1.0);
}
