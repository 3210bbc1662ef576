//! A real incident in a real store, exported: shared by `export_verify.rs` and
//! `report_browser.rs` (each test binary makes its own, once).
//!
//! The simulator's `af-pk-border` scenario is cut to 22:04:40–22:20:00 and replayed at `SPEED` times real time by a
//! `[[source]] replay` of `skyfence run`: frames go through the real sources, decoder,
//! detector, store writer and evidence log, and the service signs checkpoints. Receive
//! times are the wall clock, so the detection thresholds are scaled by `SPEED` as in
//! `service_e2e.rs`; the config leaf records the scaled values and the verifier replays
//! with them. Four `PK` incidents of that window are exported (sim::builtin's story
//! table): AFUAV1's dash into North Waziristan (unauthorised, entry observed, closed at
//! 22:19:36: the main bundle), AFUAV3 going silent inside (lost), AFDRN7 first heard
//! inside (entry not observed, closed) and QTR350's overflight (authorised, still open at
//! the end). Deadlines only stop a broken run from hanging; nothing asserts on time.

// Each including test binary uses a different part of this module.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use skyfence_core::Timestamp;
use skyfence_decode::beast::{BeastClock, BeastDecoder, encode_beast};

pub const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
/// Scenario seconds per wall second.
const SPEED: f64 = 20.0;
const DEADLINE: Duration = Duration::from_secs(240);
/// The window of the scenario replayed, seconds after 22:00:00.
const FROM_S: f64 = 280.0;
const UNTIL_S: f64 = 1200.0;
/// AFUAV1's ICAO address.
pub const ICAO24: &str = "700a01";

/// The exported bundle of AFUAV1's PK incident and where it came from.
pub struct Exported {
    /// Holds the store, config, key and bundle.
    pub dir: tempfile::TempDir,
    /// The bundle.
    pub zip: PathBuf,
    /// The incident as the API served it.
    pub incident: Value,
    /// The log's public key (`vkey`), as the service's API serves it.
    pub vkey: String,
    /// The other incidents' bundles: what they show, the bundle, the incident.
    pub others: Vec<(&'static str, PathBuf, Value)>,
}

/// The other incidents exported: what each shows, its ICAO address and status.
const OTHERS: [(&str, &str, &str); 3] = [
    ("lost", "700a02", "lost"),
    ("entry not observed", "700c02", "closed"),
    ("open and authorised", "06a350", "open"),
];

fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    crate::common::http(addr, "GET", path, None, Some(API_TOKEN))
}

/// The config's API token: one of [`SECRETS`].
pub const API_TOKEN: &str = "tok-3c1f9a77e2b4";
/// Secrets the config carries (the API token, a tile URL's credentials and key, a webhook's
/// credentials, query token and HMAC secret): none may reach the evidence log or a bundle.
pub const SECRETS: [&str; 7] = [
    API_TOKEN,
    "tilepass-51d0",
    "tilekey-8e2a",
    "hookuser-77",
    "hookpass-a9c4",
    "hookquery-0b6e",
    "hooksecret-f3d2",
];

/// The scenario window as a Beast recording.
pub fn write_window(sim: &Path, out: &Path) {
    let bytes = std::fs::read(sim.join("beast.bin")).expect("beast.bin");
    let start = Timestamp::parse_rfc3339("2023-11-14T22:00:00Z").expect("start");
    let (mut frames, _) = BeastDecoder::decode_all(BeastClock::Counter12Mhz { start }, &bytes);
    frames.sort_by_key(|f| f.at);
    let mut beast = Vec::new();
    for f in frames
        .iter()
        .filter(|f| (FROM_S..=UNTIL_S).contains(&f.at.secs_since(start)))
    {
        encode_beast(f, &mut beast);
    }
    std::fs::write(out, beast).expect("write the window");
}

fn make() -> Exported {
    let dir = tempfile::tempdir().expect("temp dir");
    let sim = dir.path().join("sim");
    let status = Command::new(BIN)
        .args([
            "simulate",
            "--scenario",
            "af-pk-border",
            "--formats",
            "beast",
        ])
        .arg("--out-dir")
        .arg(&sim)
        .stderr(Stdio::null())
        .status()
        .expect("run simulate");
    assert!(status.success());
    write_window(&sim, &dir.path().join("window.bin"));
    let simulated = std::fs::read_to_string(sim.join("config.toml")).expect("sim config");
    let permits = simulated.find("[[allow]]").map_or("", |i| &simulated[i..]);
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
             [[zones]]\nfile = \"sim/zones.geojson\"\n\n[server]\nlisten = \"127.0.0.1:0\"\napi_token = \"{API_TOKEN}\"\n\
             tiles = \"https://tileuser:tilepass-51d0@127.0.0.1:9/{{z}}/{{x}}/{{y}}.png?key=tilekey-8e2a\"\n\n\
             [[alert]]\ntype = \"webhook\"\nurl = \"http://hookuser-77:hookpass-a9c4@127.0.0.1:9/in?token=hookquery-0b6e\"\n\
             secret = \"hooksecret-f3d2\"\nevents = [\"closed\"]\nmin_duration_s = 1e9\n\n\
             [store]\npath = \"skyfence.db\"\n\n[evidence]\norigin = \"skyfence.test/export-e2e\"\ncheckpoint_every_s = 1\n\n\
             [[source]]\nname = \"rx-replay\"\ntype = \"beast\"\nreplay = \"window.bin\"\nspeed = {SPEED}\n\n{permits}",
            5.0 / SPEED,
            60.0 / SPEED,
            1000.0 * SPEED,
        ),
    )
    .expect("write config");

    let mut child = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .env("SKYFENCE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start skyfence run");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(rest) = line.strip_prefix("skyfence run: http://") {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
                sent = true;
            }
            if std::env::var_os("SKYFENCE_TEST_LOG").is_some() {
                eprintln!("service: {line}");
            }
        }
    });
    let addr: SocketAddr = rx
        .recv_timeout(DEADLINE)
        .expect("the service printed its URL")
        .parse()
        .expect("an address");
    let started = Instant::now();
    let find = |list: &Value, icao24: &str, status: &str| {
        list.as_array()
            .into_iter()
            .flatten()
            .find(|i| i["target"]["icao24"] == icao24 && i["status"] == status)
            .cloned()
    };
    let (incident, others) = loop {
        let (code, body) = http_get(addr, "/api/incidents?zone=PK");
        if code == 200 {
            let list: Value = serde_json::from_str(&body).expect("incident list");
            let others: Vec<Value> = OTHERS
                .iter()
                .filter_map(|(_, icao24, status)| find(&list, icao24, status))
                .collect();
            if let Some(main) = find(&list, ICAO24, "closed")
                && others.len() == OTHERS.len()
            {
                break (main, others);
            }
        }
        assert!(
            started.elapsed() < DEADLINE,
            "gave up waiting for AFUAV1's PK incident to close and the others"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    let (status, vkey) = http_get(addr, "/api/log/key");
    assert_eq!(status, 200, "GET /api/log/key: {vkey}");
    // SIGTERM: the graceful shutdown commits the last batch and signs a last checkpoint.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("wait for the service");
    assert!(status.success(), "skyfence run exited with {status}");

    let export = |incident: &Value, zip: &Path| {
        let id = incident["id"].as_str().expect("an incident id");
        let out = Command::new(BIN)
            .arg("export")
            .arg(id)
            .arg("--out")
            .arg(zip)
            .arg("--config")
            .arg(&config)
            .output()
            .expect("run export");
        assert!(
            out.status.success(),
            "export {id} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let zip = dir.path().join("bundle.zip");
    export(&incident, &zip);
    let others = OTHERS
        .iter()
        .zip(others)
        .map(|((label, icao24, _), incident)| {
            let path = dir.path().join(format!("bundle-{icao24}.zip"));
            export(&incident, &path);
            (*label, path, incident)
        })
        .collect();
    Exported {
        dir,
        zip,
        incident,
        vkey: vkey.trim().to_string(),
        others,
    }
}

/// The bundle, made once per test binary.
pub fn exported() -> &'static Exported {
    static E: OnceLock<Exported> = OnceLock::new();
    E.get_or_init(make)
}

/// Runs `skyfence verify ZIP ARGS` in `cwd`: exit code and stdout.
pub fn verify(zip: &Path, args: &[&str], cwd: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("verify")
        .arg(zip)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}
