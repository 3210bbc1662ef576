//! The live map in a real headless browser ("Verified"): starts `skyfence demo`
//! on a loopback port, then drives Debian's `chromium` through `playwright-core`
//! (`tests/browser/map_test.mjs`): the page loads without console errors, targets appear
//! and move, clicking an incident draws its track, and the incident is
//! acknowledged and annotated through the form, which the API then shows; the demo's
//! suspected spoofer is drawn ringed, with its verdict and residual in its popup and its
//! incident's panel, and the aircraft located by multilateration is on the map. The
//! screenshot goes to `target/map.png`.
//!
//! Needs `/usr/bin/chromium` (or `SKYFENCE_CHROMIUM`), `node` and
//! `tests/browser/node_modules/playwright-core` (`npm ci` there); `.ci/run` installs all
//! three. Without them the test says so and passes, except in CI, where a missing tool
//! fails it (`skyfence_testkit::require_tool`).

mod common;

use common::browser::{self, target_file};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the service when the test ends, however it ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One plain HTTP/1.1 GET on loopback; the status code, or `None` if nothing answers yet.
/// The read timeout is generous: a loaded machine (the browser tests run side by side)
/// can keep a debug build's first answers waiting for seconds; this is no speed check.
fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// One plain HTTP/1.1 GET on loopback; the JSON body of a 200 response.
fn http_get_json(addr: SocketAddr, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("response");
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a response head");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    // axum answers JSON with a Content-Length (no chunking) for these bodies.
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Starts `skyfence ARGS` in `work` and waits until `/` answers on `addr` (readiness,
/// not a speed check).
fn start(work: &Path, addr: SocketAddr, args: &[&str]) -> Service {
    let log = std::fs::File::create(work.join("service.log")).expect("log file");
    let service = Service(
        Command::new(env!("CARGO_BIN_EXE_skyfence"))
            .args(args)
            .current_dir(work)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start skyfence"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_status(addr, "/") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "skyfence {args:?} did not answer on {addr}; its log:\n{}",
            std::fs::read_to_string(work.join("service.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    service
}

/// Runs `map_test.mjs` against `url`; its JSON report, after asserting it passed.
fn browse(url: &str, screenshot: &Path, env: &[(&str, &str)], work: &Path) -> serde_json::Value {
    let report = browser::run_script("map_test.mjs", url, screenshot, env, || {
        let log = std::fs::read_to_string(work.join("service.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        format!("service log (tail):\n{}", tail.join("\n"))
    });
    eprintln!("{report}");
    report
}

#[test]
fn live_map_in_headless_chromium() {
    if !browser::tools_ready("map browser test") {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let listen = addr.to_string();
    let _service = start(
        work.path(),
        addr,
        &["demo", "--listen", &listen, "--speed", "20"],
    );
    assert_eq!(http_status(addr, "/vendor/maplibre-gl.js"), Some(200));
    assert_eq!(http_status(addr, "/map/borders.geojson"), Some(200));

    let live = target_file("map-live.png");
    let report = browse(
        &format!("http://{addr}/"),
        &target_file("map.png"),
        &[
            ("SKYFENCE_MAP_LIVE_PNG", live.to_str().expect("utf-8 path")),
            ("SKYFENCE_MAP_ACK_OPERATOR", "duty officer 7"),
            ("SKYFENCE_MAP_LOCATED", "7a5c01"),
        ],
        work.path(),
    );
    // What the browser saw, asserted here too so a failure names the value.
    assert_eq!(report["consoleErrors"], serde_json::json!([]));
    assert_eq!(report["pageErrors"], serde_json::json!([]));
    assert!(report["targetsFirst"].as_u64() > Some(0), "{report}");
    assert!(report["targetsMoved"].as_u64() > Some(0), "{report}");
    assert!(report["renderedTargets"].as_u64() > Some(0), "{report}");
    assert!(report["zones"].as_u64() > Some(0), "{report}");
    assert!(report["incidents"].as_u64() > Some(0), "{report}");
    assert!(report["trackFeatures"].as_u64() > Some(0), "{report}");
    // The demo's multilaterating network: the spoofer 700bad is ringed on the map, its
    // popup and its incident's panel state the verdict and the residual; the aircraft
    // that broadcasts no position (7a5c01) is on the map, placed by multilateration.
    assert_eq!(report["receivers"].as_u64(), Some(6), "{report}");
    assert_eq!(
        report["spoofed"],
        serde_json::json!(["icao:700bad"]),
        "{report}"
    );
    assert!(
        report["spoofRings"]
            .as_array()
            .is_some_and(|r| r.iter().any(|k| k == "icao:700bad")),
        "{report}"
    );
    assert_eq!(report["locatedDrawn"], true, "{report}");
    let popup = report["spoofPopup"].as_str().unwrap_or("");
    assert!(
        popup.contains("700bad") && popup.contains("spoof suspected · residual"),
        "{report}"
    );
    assert_eq!(report["spoofBadge"].as_u64(), Some(1), "{report}");
    let panel = report["spoofPanel"].as_str().unwrap_or("");
    assert!(
        panel.starts_with("broadcast positions: spoof suspected · residual")
            && panel.ends_with("receivers"),
        "{report}"
    );
    // No alert sink in the demo: the undelivered-alerts panel stays hidden.
    assert_eq!(report["alertsPanelHidden"], true, "{report}");

    // Acknowledged through the UI: the button turned from "Acknowledge" to "Add note",
    // the list marks the incident, and the API has both entries, in order.
    assert_eq!(report["ackButtonBefore"], "Acknowledge", "{report}");
    assert_eq!(report["ackButtonAfter"], "Add note", "{report}");
    assert_eq!(report["ackMarker"], true, "{report}");
    let id = report["ackedIncident"]
        .as_str()
        .expect("an acknowledged incident");
    let inc = http_get_json(addr, &format!("/api/incidents/{id}"));
    assert_eq!(inc["acknowledged"], true, "{inc}");
    let acks = inc["acks"].as_array().expect("acks");
    let entries: Vec<(&str, &str, &str)> = acks
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap_or(""),
                a["operator"].as_str().unwrap_or(""),
                a["note"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("acknowledgement", "duty officer 7", "seen on the map"),
            ("note", "duty officer 7", "pilot contacted"),
        ]
    );
    let list = http_get_json(addr, "/api/incidents");
    let listed = list
        .as_array()
        .and_then(|l| l.iter().find(|i| i["id"] == id))
        .expect("the incident in the list");
    assert_eq!(listed["acknowledged"], true);
    assert_eq!(listed["acks"].as_array().map(Vec::len), Some(2));
}

/// With `[server] api_token`, the page asks for the token, keeps it for the session and
/// sends it: the zones arrive and the live feed connects.
#[test]
fn live_map_asks_for_the_api_token() {
    if !browser::tools_ready("map browser test") {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let config = work.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[zones]]\ncountry = \"PK\"\n\n[server]\nlisten = \"{addr}\"\n\
             api_token = \"map-test-token\"\n\n[store]\npath = \"map.db\"\n\n\
             [[source]]\nname = \"idle\"\ntype = \"beast\"\nlisten = \"127.0.0.1:0\"\n"
        ),
    )
    .expect("write config");
    let _service = start(
        work.path(),
        addr,
        &["run", "--config", config.to_str().expect("utf-8 path")],
    );
    assert_eq!(
        http_status(addr, "/api/zones"),
        Some(401),
        "zones need the token"
    );
    let report = browse(
        &format!("http://{addr}/"),
        &target_file("map-token.png"),
        &[("SKYFENCE_MAP_TOKEN", "map-test-token")],
        work.path(),
    );
    assert_eq!(report["asked"], true, "{report}");
    assert_eq!(report["zones"].as_u64(), Some(1), "{report}");
    assert_eq!(report["link"], "live", "{report}");
}

/// A radar feeding CAT034 north markers over UDP is drawn at its site as up; when its
/// markers stop, the map marks it down (within three rotations, at least 15 s) and the
/// feed shows its `sensor_down` event.
#[test]
fn live_map_marks_a_silent_radar_down() {
    if !browser::tools_ready("map browser test") {
        return;
    }
    use skyfence_decode::asterix::{Report, Service, ServiceKind, encode};
    let work = tempfile::tempdir().expect("temp dir");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let radar_port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        s.local_addr().expect("addr").port()
    };
    let config = work.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[[zones]]\ncountry = \"PK\"\n\n[server]\nlisten = \"{addr}\"\n\n[store]\npath = \"map.db\"\n\n\
             [[sensor]]\nname = \"peshawar-psr\"\ntype = \"radar\"\nsac = 2\nsic = 1\nlat = 34.01\nlon = 71.58\nalt_m = 380\n\n\
             [[source]]\nname = \"radar-feed\"\ntype = \"asterix\"\nlisten = \"127.0.0.1:{radar_port}\"\n"
        ),
    )
    .expect("write config");
    let _service = start(
        work.path(),
        addr,
        &["run", "--config", config.to_str().expect("utf-8 path")],
    );
    // North markers once a second (a 1 s rotation: the 15 s floor applies) for 25 s,
    // then silence: bounded, loopback only.
    let feeder = std::thread::spawn(move || {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
        let north = Service {
            kind: ServiceKind::NorthMarker,
            sector_deg: Some(0.0),
            rotation_period_s: Some(1.0),
            nogo: None,
        };
        for k in 0..25u32 {
            let r = Report {
                category: 34,
                sac: 2,
                sic: 1,
                time_of_day: Some(k * 128),
                service: Some(north),
                ..Report::default()
            };
            let mut block = Vec::new();
            encode::block(34, &[encode::cat034(&r, &north)], &mut block);
            let _ = socket.send_to(&block, ("127.0.0.1", radar_port));
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    });
    let report = browse(
        &format!("http://{addr}/"),
        &target_file("map-sensor.png"),
        &[("SKYFENCE_MAP_SENSOR", "peshawar-psr@71.58,34.01")],
        work.path(),
    );
    feeder.join().expect("feeder");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["sensorDrawnUp"],
        serde_json::json!(["peshawar-psr:up"]),
        "{report}"
    );
    assert_eq!(
        report["sensorDrawnDown"],
        serde_json::json!(["peshawar-psr:down"]),
        "{report}"
    );
    // The page connected after the radar came up: its feed shows the `sensor_down`.
    assert!(report["sensorEvents"].as_u64() >= Some(1), "{report}");
    assert!(
        report["sensorFeed"][0]
            .as_str()
            .is_some_and(|l| l.contains("sensor down") && l.contains("peshawar-psr")),
        "{report}"
    );
    let sensors = http_get_json(addr, "/api/sensors");
    assert_eq!(sensors[0]["state"], "down", "{sensors}");
}

/// An alert sink that cannot deliver (a webhook to a closed loopback port) gives up on
/// its alerts after `dead_letter_after_s`; the map lists them under "Undelivered
/// alerts" (the live demo test checks the panel stays hidden without any). Traffic:
/// the `af-pk-border` scenario replayed 20 times faster than real time (thresholds
/// scaled to match).
#[test]
fn live_map_shows_undelivered_alerts() {
    if !browser::tools_ready("map browser test") {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let status = Command::new(env!("CARGO_BIN_EXE_skyfence"))
        .args([
            "simulate",
            "--scenario",
            "af-pk-border",
            "--formats",
            "beast",
        ])
        .arg("--out-dir")
        .arg(work.path())
        .stderr(Stdio::null())
        .status()
        .expect("run skyfence simulate");
    assert!(status.success());
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // Nothing listens here: every delivery is refused.
    let closed = free_port();
    let speed = 20.0;
    let config = work.path().join("dead.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
             [[zones]]\nfile = \"zones.geojson\"\n\n[server]\nlisten = \"{addr}\"\n\n\
             [store]\npath = \"dead.db\"\n\n\
             [[source]]\nname = \"rec\"\ntype = \"beast\"\nreplay = \"beast.bin\"\nspeed = {speed}\n\n\
             [[alert]]\ntype = \"webhook\"\nname = \"ops-hook\"\nurl = \"http://127.0.0.1:{closed}/hook\"\n\
             dead_letter_after_s = 0.5\nretry_initial_s = 0.1\nretry_max_s = 0.2\ntimeout_s = 1\n",
            5.0 / speed,
            60.0 / speed,
            1000.0 * speed,
        ),
    )
    .expect("write config");
    let _service = start(
        work.path(),
        addr,
        &["run", "--config", config.to_str().expect("utf-8 path")],
    );
    let report = browse(
        &format!("http://{addr}/"),
        &target_file("map-dead-letters.png"),
        &[("SKYFENCE_MAP_DEAD_LETTERS", "1")],
        work.path(),
    );
    assert!(report["deadLetters"].as_u64() >= Some(1), "{report}");
    let first = report["deadLetterTexts"][0].as_str().unwrap_or("");
    assert!(first.starts_with("ops-hook · confirmed"), "{report}");
    assert!(first.contains("attempts"), "{report}");
    // The API lists at least as many as the map showed.
    let alerts = http_get_json(addr, "/api/alerts");
    let sink = &alerts["sinks"][0];
    assert_eq!(sink["name"], "ops-hook");
    assert!(
        sink["dead_letters"].as_array().map(Vec::len)
            >= report["deadLetters"].as_u64().map(|n| n as usize),
        "{alerts}"
    );
}
