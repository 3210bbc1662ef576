//! The live map in a real headless browser (issue 6, "Verified"): starts `skyfence demo`
//! on a loopback port, then drives Debian's `chromium` through `playwright-core`
//! (`tests/browser/map_test.mjs`): the page loads without console errors, targets appear
//! and move, clicking an incident draws its track. The screenshot goes to
//! `target/map.png`.
//!
//! Needs `/usr/bin/chromium` (or `SKYFENCE_CHROMIUM`), `node` and
//! `tests/browser/node_modules/playwright-core` (`npm ci` there); `.ci/run` installs all
//! three. Without them the test says so and passes, except under `CI=true`, where a
//! missing tool fails it.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
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

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The missing prerequisites, if any.
fn missing_tools(chromium: &Path) -> Vec<String> {
    let mut missing = Vec::new();
    if !chromium.exists() {
        missing.push(format!("chromium at {}", chromium.display()));
    }
    if Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        missing.push("node".into());
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push("playwright-core (run `npm ci` in crates/skyfence/tests/browser)".into());
    }
    missing
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One plain HTTP/1.1 GET on loopback; the status code, or `None` if nothing answers yet.
fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

#[test]
fn live_map_in_headless_chromium() {
    let chromium = PathBuf::from(
        std::env::var_os("SKYFENCE_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
    );
    let missing = missing_tools(&chromium);
    if !missing.is_empty() {
        let msg = format!("map browser test needs: {}", missing.join(", "));
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
        eprintln!("skipping: {msg}");
        return;
    }

    let work = tempfile::tempdir().expect("temp dir");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let log = std::fs::File::create(work.path().join("service.log")).expect("log file");
    let service = Service(
        Command::new(env!("CARGO_BIN_EXE_skyfence"))
            .args(["demo", "--listen", &addr.to_string(), "--speed", "20"])
            .current_dir(work.path())
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .expect("start skyfence demo"),
    );

    // Wait for the service to answer (readiness, not a speed check).
    let deadline = Instant::now() + Duration::from_secs(60);
    while http_status(addr, "/api/health") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "skyfence demo did not answer on {addr}; its log:\n{}",
            std::fs::read_to_string(work.path().join("service.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(http_status(addr, "/"), Some(200), "GET / serves the map");
    assert_eq!(http_status(addr, "/vendor/maplibre-gl.js"), Some(200));

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("map.png");
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new("node")
        .arg("map_test.mjs")
        .arg(format!("http://{addr}/"))
        .arg(&screenshot)
        .arg(&chromium)
        .current_dir(browser_dir())
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!(
                "no report from map_test.mjs; stdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    drop(service);
    let service_log = std::fs::read_to_string(work.path().join("service.log")).unwrap_or_default();
    assert!(
        out.status.success() && report["ok"] == true,
        "browser checks failed: {report:#}\nstderr:\n{}\nservice log (tail):\n{}",
        String::from_utf8_lossy(&out.stderr),
        service_log
            .lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .join("\n")
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
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "screenshot is a PNG");
    eprintln!("map screenshot: {}; {report}", screenshot.display());
}
