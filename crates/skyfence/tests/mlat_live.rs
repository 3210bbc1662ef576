//! Multilateration in the live service: a real `skyfence run` takes the `mlat-border`
//! network's six Beast receivers as six TCP sources on 127.0.0.1 (each `[[source]]`
//! naming its `[[sensor]] type = "modes"`), ten times faster than real time with the
//! detection thresholds scaled to match. The transponder-only aircraft, which broadcasts
//! no position, is located from the copies' times and its border crossing is an
//! incident; the receivers' clock synchronisation (a counter jump included) is in
//! `GET /api/sensors` and `/metrics`; the incident's bundle verifies with every fix
//! recomputed from the raw timestamps, and a changed timestamp fails it, named. The
//! spoofer's incident carries its `verification` verdict in the API, the store and its
//! bundle, and keeps it across a restart.

mod common;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use skyfence_core::Timestamp;
use skyfence_decode::beast::{BeastClock, BeastDecoder};
use skyfence_evidence::EvidenceLeaf;
use skyfence_mlat::FixEvidence;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const SPEED: f64 = 10.0;
const START: &str = "2023-11-14T22:13:20Z";
/// The scenario seconds played: Khost's counter jump (300 s) and the crossing (364 s).
const FROM_S: f64 = 280.0;
const TO_S: f64 = 420.0;
const TARGET: &str = "7a5c01";
const RECEIVERS: [&str; 6] = [
    "kabul",
    "jalalabad",
    "gardez",
    "khost",
    "asadabad",
    "pulialam",
];

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One frame as a Beast message (type '2' short, '3' long; 0x1a escaped by doubling).
fn beast(frame: &skyfence_decode::Frame, out: &mut Vec<u8>) {
    let data = frame.data();
    let mut body = Vec::with_capacity(8 + data.len());
    body.extend_from_slice(&frame.counter.unwrap().to_be_bytes()[2..]);
    body.push(frame.raw.signal.unwrap_or(0));
    body.extend_from_slice(data);
    out.push(0x1a);
    out.push(if data.len() == 7 { b'2' } else { b'3' });
    for b in body {
        out.push(b);
        if b == 0x1a {
            out.push(0x1a);
        }
    }
}

fn write_config(dir: &Path, ports: &[u16]) -> std::path::PathBuf {
    let mut text = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    text.push_str(&format!(
        "\n[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\n[store]\npath = \"live.db\"\n",
        5.0 / SPEED,
        60.0 / SPEED,
        1000.0 * SPEED
    ));
    for (name, port) in RECEIVERS.iter().zip(ports) {
        text.push_str(&format!(
            "\n[[source]]\nname = \"feed-{name}\"\ntype = \"beast\"\nlisten = \"127.0.0.1:{port}\"\nsensor = \"{name}\"\n"
        ));
    }
    let path = dir.join("live.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn metres(a: &Value, lat: f64, lon: f64) -> f64 {
    let (la, lo) = (a["lat"].as_f64().unwrap(), a["lon"].as_f64().unwrap());
    let dy = (la - lat).to_radians() * 6_371_000.0;
    let dx = (lo - lon).to_radians() * 6_371_000.0 * lat.to_radians().cos();
    dx.hypot(dy)
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd.env("SKYFENCE_LOG", "warn").output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The service under test, fed the whole window.
struct Live {
    dir: tempfile::TempDir,
    child: std::process::Child,
    addr: std::net::SocketAddr,
    conns: Vec<TcpStream>,
    truth: Value,
}

/// One service at a time: each is paced against the wall clock.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Simulates the `mlat-border` network, starts `skyfence run` with its six receivers as
/// TCP sources and pushes the window's frames, paced.
fn start_and_feed() -> Live {
    let dir = tempfile::tempdir().unwrap();
    let (ok, text) = run(Command::new(BIN).current_dir(dir.path()).args([
        "simulate",
        "--scenario",
        "mlat-border",
        "--seed",
        "3",
        "--out-dir",
        ".",
    ]));
    assert!(ok, "{text}");
    let start = Timestamp::parse_rfc3339(START).unwrap();
    let truth: Value = serde_json::from_str(
        std::fs::read_to_string(dir.path().join("truth-mlat.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();

    // Every receiver's frames in the window, as Beast messages, with their times.
    let mut all: Vec<(Timestamp, usize, Vec<u8>)> = Vec::new();
    for (i, name) in RECEIVERS.iter().enumerate() {
        let bytes = std::fs::read(dir.path().join(format!("rx-{name}.beast"))).unwrap();
        let (frames, _) = BeastDecoder::decode_all(BeastClock::Counter12Mhz { start }, &bytes);
        for f in frames {
            if (FROM_S..TO_S).contains(&f.at.secs_since(start)) {
                let mut msg = Vec::new();
                beast(&f, &mut msg);
                all.push((f.at, i, msg));
            }
        }
    }
    all.sort_by_key(|(at, i, _)| (*at, *i));
    assert!(all.len() > 10_000, "{}", all.len());

    let ports: Vec<u16> = RECEIVERS.iter().map(|_| free_tcp_port()).collect();
    let config = write_config(dir.path(), &ports);
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .args(["run", "--config"])
        .arg(&config);
    let (child, addr) = common::spawn_service(&mut cmd, Duration::from_secs(60), |_| {});

    // Each receiver pushes its feed over its own TCP connection, all paced together.
    let mut conns: Vec<TcpStream> = ports
        .iter()
        .map(|p| {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                match TcpStream::connect(("127.0.0.1", *p)) {
                    Ok(s) => break s,
                    Err(e) => {
                        assert!(Instant::now() < deadline, "port {p}: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
            }
        })
        .collect();
    let t0 = all[0].0;
    let began = Instant::now();
    let mut pending: Vec<Vec<u8>> = vec![Vec::new(); RECEIVERS.len()];
    for (at, i, msg) in &all {
        let due = Duration::from_secs_f64(at.secs_since(t0) / SPEED);
        if let Some(wait) = due.checked_sub(began.elapsed())
            && wait > Duration::from_millis(2)
        {
            for (c, p) in conns.iter_mut().zip(pending.iter_mut()) {
                c.write_all(p).unwrap();
                p.clear();
            }
            std::thread::sleep(wait);
        }
        pending[*i].extend_from_slice(msg);
    }
    for (c, p) in conns.iter_mut().zip(pending.iter_mut()) {
        c.write_all(p).unwrap();
    }
    Live {
        dir,
        child,
        addr,
        conns,
        truth,
    }
}

#[test]
fn run_multilaterates_the_transponder_only_crossing_and_its_bundle_recomputes_the_fixes() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Live {
        dir,
        mut child,
        addr,
        conns,
        truth,
    } = start_and_feed();

    // Tracks of aircraft that broadcast positions carry the verdict on them: the
    // spoofer's are contradicted by the times of arrival, the others' are not.
    let (status, body) = common::http(addr, "GET", "/api/tracks", None, None);
    assert_eq!(status, 200, "{body}");
    let tracks: Value = serde_json::from_str(&body).unwrap();
    let verdict = |id: &str| -> Value {
        tracks
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["id"] == id)
            .map(|t| t["verification"].clone())
            .unwrap_or_else(|| panic!("no track {id}: {tracks}"))
    };
    let spoofer = verdict("700bad");
    assert_eq!(spoofer["verdict"], "spoof_suspected", "{spoofer}");
    assert_eq!(spoofer["method"], "tdoa");
    assert!(
        spoofer["residual_m"].as_f64().unwrap() > 1_000.0,
        "{spoofer}"
    );
    assert_eq!(verdict("700001")["verdict"], "consistent", "{tracks}");
    assert!(verdict(TARGET).is_null(), "{tracks}");

    // The crossing is an incident of the transponder-only aircraft.
    let deadline = Instant::now() + Duration::from_secs(30);
    let incident = loop {
        let (status, body) = common::http(addr, "GET", "/api/incidents?zone=AF", None, None);
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let list = v
            .as_array()
            .cloned()
            .or_else(|| v["incidents"].as_array().cloned())
            .unwrap_or_default();
        if let Some(i) = list.iter().find(|i| i["target"]["id"] == TARGET) {
            break i.clone();
        }
        assert!(Instant::now() < deadline, "no incident of {TARGET}: {v}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(incident["zone"], "AF");
    assert_eq!(incident["entry_observed"], true, "{incident}");
    let miss = metres(
        &incident["entry"],
        truth["lat"].as_f64().unwrap(),
        truth["lon"].as_f64().unwrap(),
    );
    assert!(
        miss < 500.0,
        "entry {miss} m from the true crossing: {incident}"
    );

    // The receivers' clock synchronisation: every receiver synced again, Khost's jump
    // seen, pairs with their offsets and drifts.
    let (status, body) = common::http(addr, "GET", "/api/sensors", None, None);
    assert_eq!(status, 200, "{body}");
    let sensors: Value = serde_json::from_str(&body).unwrap();
    for s in sensors.as_array().unwrap() {
        assert_eq!(s["type"], "modes", "{s}");
        assert_eq!(s["state"], "up", "{s}");
        let c = &s["clock_sync"];
        assert_eq!(c["clock"], "beast", "{s}");
        assert_eq!(c["state"], "synced", "{s}");
        let pairs = c["pairs"].as_array().unwrap();
        assert!(pairs.len() >= 3, "{s}");
        for p in pairs {
            // Offsets within the anchoring (±0.4 s, and the 50 ms jump), drifts ≤ 10 ppm.
            assert!(p["offset_s"].as_f64().unwrap().abs() < 1.0, "{p}");
            assert!(p["drift_ppm"].as_f64().unwrap().abs() < 10.0, "{p}");
        }
        let jumps = if s["name"] == "khost" { 1 } else { 0 };
        assert_eq!(c["jumps"], jumps, "{s}");
    }
    let (_, metrics) = common::http(addr, "GET", "/metrics", None, None);
    let value = |prefix: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(prefix))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{metrics}"))
    };
    assert!(value("skyfence_mlat_fixes_total ") > 50.0, "{metrics}");
    assert!(value("skyfence_mlat_verified_total ") > 100.0, "{metrics}");
    assert!(
        value("skyfence_mlat_spoof_suspected_total ") > 10.0,
        "{metrics}"
    );
    assert_eq!(value("skyfence_mlat_counter_jumps_total "), 1.0);
    assert_eq!(
        value("skyfence_mlat_receiver_state{receiver=\"khost\",state=\"synced\"}"),
        1.0
    );
    assert!(metrics.contains("skyfence_mlat_pair_drift_ppm{a=\"kabul\",b=\"jalalabad\"} "));

    drop(conns);
    common::stop_gracefully(&mut child);

    // The bundle: every fix recomputed from the copies' raw timestamps, and detection
    // re-run on the recomputed fixes gives the incident.
    let id = incident["id"].as_str().unwrap();
    let zip = dir.path().join("mlat.zip");
    let (ok, text) = run(Command::new(BIN)
        .current_dir(dir.path())
        .args(["export", id, "--out"])
        .arg(&zip)
        .args(["--store", "live.db"]));
    assert!(ok, "export: {text}");
    let (ok, report) = run(Command::new(BIN).arg("verify").arg(&zip));
    assert!(ok, "verify: {report}");
    assert!(!report.contains("FAIL"), "{report}");
    for check in ["PASS mlat", "PASS detection"] {
        assert!(report.contains(check), "no {check:?}: {report}");
    }
    assert!(report.contains("raw timestamps of"), "{report}");

    // One receiver's timestamp of one copy moved by 10 µs (3 km of range): the leaf's
    // proof fails, and so does the fix, naming the leaf and why.
    let mut files = common::read_bundle(&zip);
    let leaves = String::from_utf8(files["leaves.txt"].clone()).unwrap();
    let (index, hex) = leaves
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find_map(|(i, h)| {
            let bytes = unhex(h);
            match EvidenceLeaf::decode(&bytes).ok()? {
                EvidenceLeaf::RawRecord { protocol: 0x04, .. } => {
                    Some((i.to_string(), h.to_string()))
                }
                _ => None,
            }
        })
        .expect("a multilateration leaf");
    let mut leaf = EvidenceLeaf::decode(&unhex(&hex)).unwrap();
    let EvidenceLeaf::RawRecord { record, .. } = &mut leaf else {
        unreachable!()
    };
    let mut fix = FixEvidence::decode(record).unwrap();
    fix.copies[1].counter += 120;
    *record = fix.encode();
    let tampered: String = leaf
        .encode()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    files.insert(
        "leaves.txt".into(),
        leaves
            .replacen(&format!("{index} {hex}"), &format!("{index} {tampered}"), 1)
            .into_bytes(),
    );
    fix_manifest(&mut files, "leaves.txt");
    let bad = dir.path().join("tampered.zip");
    common::write_bundle(&files, &bad);
    let (ok, report) = run(Command::new(BIN).arg("verify").arg(&bad));
    assert!(!ok, "a changed timestamp verified: {report}");
    let line = report
        .lines()
        .find(|l| l.starts_with("FAIL mlat:"))
        .unwrap_or_else(|| panic!("no FAIL mlat line: {report}"));
    // 3 km of range on one of six receivers: the copies no longer describe one
    // transmission (no fix), or describe another place.
    assert!(
        line.contains(&format!("leaf {index}:"))
            && (line.contains("from the recorded one") || line.contains("give no fix")),
        "{line}"
    );
    eprintln!("{report}");
}

#[test]
fn run_gives_the_spoofers_incident_its_verdict_through_store_api_and_bundle() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Live {
        dir,
        mut child,
        addr,
        conns,
        ..
    } = start_and_feed();
    // Incidents of aircraft that broadcast positions carry the verdict too: the
    // spoofer's, once its track is lost (the feed has ended) and the loss is logged with
    // the verdict over everything it broadcast; an honest aircraft's is consistent; the
    // transponder-only aircraft's (lost as well) has none.
    let deadline = Instant::now() + Duration::from_secs(40);
    let (spoofed, honest, located) = loop {
        let (status, body) = common::http(addr, "GET", "/api/incidents?zone=AF", None, None);
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let list = v
            .as_array()
            .cloned()
            .or_else(|| v["incidents"].as_array().cloned())
            .unwrap_or_default();
        let of = |id: &str| list.iter().find(|i| i["target"]["id"] == id).cloned();
        if let (Some(s), Some(h), Some(t)) = (of("700bad"), of("700001"), of(TARGET))
            && s["status"] == "lost"
            && t["status"] == "lost"
        {
            assert!(t["verification"].is_null(), "{v}");
            break (s, h, t);
        }
        assert!(
            Instant::now() < deadline,
            "the spoofer's incident is not lost: {v}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let v = &spoofed["verification"];
    assert_eq!(v["method"], "tdoa", "{spoofed}");
    assert_eq!(v["verdict"], "spoof_suspected", "{spoofed}");
    assert!(v["receivers"].as_u64().unwrap() >= 4, "{spoofed}");
    assert!(v["residual_m"].as_f64().unwrap() > 1_000.0, "{spoofed}");
    assert_eq!(honest["verification"]["verdict"], "consistent", "{honest}");
    // The incident JSON keeps its keys in their order, `verification` last.
    let (_, body) = common::http(addr, "GET", "/api/incidents?zone=AF", None, None);
    assert!(
        body.contains(",\"verification\":{\"method\":\"tdoa\",\"receivers\":"),
        "{body}"
    );

    drop(conns);
    common::stop_gracefully(&mut child);

    // The spoofer's bundle carries the logged verdict, and verifies.
    let zip = dir.path().join("spoofer.zip");
    let (ok, text) = run(Command::new(BIN)
        .current_dir(dir.path())
        .args(["export", spoofed["id"].as_str().unwrap(), "--out"])
        .arg(&zip)
        .args(["--store", "live.db"]));
    assert!(ok, "export: {text}");
    let files = common::read_bundle(&zip);
    let logged: Value = serde_json::from_slice(&files["incident.json"]).unwrap();
    assert_eq!(logged["status"], "lost", "{logged}");
    assert_eq!(logged["verification"], spoofed["verification"], "{logged}");
    // `verify` recomputes every check of its broadcast positions from the receivers'
    // raw timestamps, and the verdict from them.
    let (ok, report) = run(Command::new(BIN).arg("verify").arg(&zip));
    assert!(ok && !report.contains("FAIL"), "verify: {report}");

    // The transponder-only aircraft's incident, lost too: detection re-run on its
    // recomputed fixes gives the logged loss (the engine gives every aircraft's fixes
    // out in time order, the order the re-detection reads them in).
    let lost = dir.path().join("located.zip");
    let (ok, text) = run(Command::new(BIN)
        .current_dir(dir.path())
        .args(["export", located["id"].as_str().unwrap(), "--out"])
        .arg(&lost)
        .args(["--store", "live.db"]));
    assert!(ok, "export: {text}");
    let (ok, lost_report) = run(Command::new(BIN).arg("verify").arg(&lost));
    assert!(ok && !lost_report.contains("FAIL"), "verify: {lost_report}");
    assert!(lost_report.contains("PASS detection"), "{lost_report}");

    let line = report
        .lines()
        .find(|l| l.starts_with("PASS verdict:"))
        .unwrap_or_else(|| panic!("no PASS verdict line: {report}"));
    assert!(
        line.contains("spoof_suspected") && line.contains("as the incident states"),
        "{line}"
    );

    // One check whose record says the claim was consistent: the leaf's proof fails, and
    // the verdict check names the leaf and why.
    let mut files = common::read_bundle(&zip);
    let leaves = String::from_utf8(files["leaves.txt"].clone()).unwrap();
    let (index, hex) = leaves
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find_map(|(i, h)| match EvidenceLeaf::decode(&unhex(h)).ok()? {
            EvidenceLeaf::RawRecord {
                protocol: 0x04,
                record,
                ..
            } if record.first() == Some(&0x02) => Some((i.to_string(), h.to_string())),
            _ => None,
        })
        .expect("a check leaf");
    let mut leaf = EvidenceLeaf::decode(&unhex(&hex)).unwrap();
    let EvidenceLeaf::RawRecord { record, .. } = &mut leaf else {
        unreachable!()
    };
    let mut check = skyfence_mlat::evidence::CheckEvidence::decode(record).unwrap();
    assert!(check.suspect, "{check:?}");
    check.suspect = false;
    check.suspected -= 1;
    *record = check.encode();
    let tampered: String = leaf
        .encode()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    files.insert(
        "leaves.txt".into(),
        leaves
            .replacen(&format!("{index} {hex}"), &format!("{index} {tampered}"), 1)
            .into_bytes(),
    );
    fix_manifest(&mut files, "leaves.txt");
    let bad = dir.path().join("tampered-check.zip");
    common::write_bundle(&files, &bad);
    let (ok, report) = run(Command::new(BIN).arg("verify").arg(&bad));
    assert!(!ok, "a changed check verified: {report}");
    let line = report
        .lines()
        .find(|l| l.starts_with("FAIL verdict:"))
        .unwrap_or_else(|| panic!("no FAIL verdict line: {report}"));
    assert!(
        line.contains(&format!("leaf {index}:")) && line.contains("contradicted"),
        "{line}"
    );
}

/// A restart resumes the spoofer's open incident with the verdict it was stored with:
/// the restarted service hears nothing more of it (no feed), so its engine has no
/// verdict of its own; the incident's snapshots and the loss that ends it keep the
/// stored one.
#[test]
fn a_restart_keeps_the_resumed_incidents_verdict() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Live {
        dir,
        mut child,
        addr,
        conns,
        ..
    } = start_and_feed();
    let spoofer = |addr| -> Option<Value> {
        let (status, body) = common::http(addr, "GET", "/api/incidents?zone=AF", None, None);
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v.as_array()
            .and_then(|l| l.iter().find(|i| i["target"]["id"] == "700bad").cloned())
    };
    // Stopped while the spoofer's incident is open (the feed has just ended).
    let before = spoofer(addr).expect("the spoofer's incident");
    assert_eq!(before["status"], "open", "{before}");
    assert_eq!(
        before["verification"]["verdict"], "spoof_suspected",
        "{before}"
    );
    drop(conns);
    common::stop_gracefully(&mut child);

    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path())
        .args(["run", "--config"])
        .arg(dir.path().join("live.toml"));
    let (mut child, addr) = common::spawn_service(&mut cmd, Duration::from_secs(60), |_| {});
    // Resumed, and snapshotted by the ticks since (one a second): still the verdict.
    std::thread::sleep(Duration::from_millis(2_500));
    let resumed = spoofer(addr).expect("the resumed incident");
    assert_eq!(resumed["id"], before["id"]);
    // (The store's last snapshot, at the stop, may hold a check more than `before`.)
    let stored = resumed["verification"].clone();
    assert_eq!(stored["verdict"], "spoof_suspected", "{resumed}");
    assert!(stored["residual_m"].as_f64() > Some(1_000.0), "{resumed}");
    // Never heard again: lost, and the loss logged with the stored verdict.
    let deadline = Instant::now() + Duration::from_secs(60);
    let lost = loop {
        let i = spoofer(addr).expect("the incident");
        if i["status"] == "lost" {
            break i;
        }
        assert!(Instant::now() < deadline, "not lost: {i}");
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(lost["verification"], stored, "{lost}");
    common::stop_gracefully(&mut child);
    let zip = dir.path().join("resumed.zip");
    let (ok, text) = run(Command::new(BIN)
        .current_dir(dir.path())
        .args(["export", lost["id"].as_str().unwrap(), "--out"])
        .arg(&zip)
        .args(["--store", "live.db"]));
    assert!(ok, "export: {text}");
    let logged: Value =
        serde_json::from_slice(&common::read_bundle(&zip)["incident.json"]).unwrap();
    assert_eq!(logged["status"], "lost", "{logged}");
    assert_eq!(logged["verification"], stored, "{logged}");
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

/// Sets `name`'s SHA-256 and length in `bundle.json`, as a forger would.
fn fix_manifest(files: &mut common::Files, name: &str) {
    use sha2::Digest as _;
    let mut m: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    let bytes = &files[name];
    let sha: String = sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == name {
            f["sha256"] = Value::from(sha.clone());
            f["bytes"] = Value::from(bytes.len());
        }
    }
    files.insert("bundle.json".into(), serde_json::to_vec_pretty(&m).unwrap());
}
