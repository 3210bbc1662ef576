//! An evidence bundle's `report.html` in a real headless browser ("Verified"):
//! a real incident from `skyfence run` is exported (see `export_verify/setup.rs`), its
//! report is opened offline from the file alone in Debian's `chromium` through
//! `playwright-core` (`tests/browser/report_test.mjs`), with JavaScript disabled: no
//! request leaves the file, nothing errs, the map and the altitude profile are drawn and
//! the figures are there. The screenshot goes to `target/report.png`.
//!
//! Needs `/usr/bin/chromium` (or `SKYFENCE_CHROMIUM`), `node` and
//! `tests/browser/node_modules/playwright-core`; `.ci/run` installs all three. Without
//! them the test says so and passes, except in CI, where it fails
//! (`skyfence_testkit::require_tool`).

mod common;
#[path = "export_verify/setup.rs"]
mod setup;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

fn chromium() -> PathBuf {
    PathBuf::from(
        std::env::var_os("SKYFENCE_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
    )
}

/// Whether the browser tools are there; `false` (after saying why) means skip, which
/// CI forbids (`skyfence_testkit::require_tool`).
fn tools_ready() -> bool {
    let mut missing = Vec::new();
    if !chromium().exists() {
        missing.push(format!("chromium at {}", chromium().display()));
    }
    if !Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        missing.push("node".to_string());
    }
    if !browser_dir()
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push("playwright-core (run `npm ci` in crates/skyfence/tests/browser)".into());
    }
    let available = match missing.is_empty() {
        true => Ok(()),
        false => Err(format!("it needs {}", missing.join(", "))),
    };
    skyfence_testkit::require_tool("report browser test", available)
}

/// `target/NAME`.
fn target_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join(name)
}

fn report_html(zip: &Path) -> String {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).expect("bundle")).expect("zip");
    let mut f = archive
        .by_name("report.html")
        .expect("report.html in the bundle");
    let mut text = String::new();
    f.read_to_string(&mut text).expect("UTF-8 report");
    text
}

#[test]
fn the_report_is_self_contained_and_renders_offline() {
    let e = setup::exported();
    let html = report_html(&e.zip);
    // Self-contained by construction: no script, no link, no external reference. The
    // only URL is the SVG namespace, an identifier that is never fetched.
    let lower = html.to_ascii_lowercase();
    for forbidden in [
        "<script", "<link", "<img", "src=", "href=", "url(http", "@import",
    ] {
        assert!(
            !lower.contains(forbidden),
            "report.html holds {forbidden:?}"
        );
    }
    let urls: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 30).min(html.len())])
        .filter(|u| !u.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(urls.is_empty(), "external URLs in report.html: {urls:?}");
    // Every figure of the incident is printed.
    let id = e.incident["id"].as_str().expect("id");
    for needle in [
        id,
        setup::ICAO24,
        "AFUAV1",
        "B6",
        "uav",
        "UNAUTHORISED",
        e.incident["entered_at"].as_str().expect("entered_at"),
        e.incident["exited_at"].as_str().expect("exited_at"),
        &format!(
            "{:.1} m",
            e.incident["max_depth_m"].as_f64().expect("depth")
        ),
        &format!("{:.6}", e.incident["entry"]["lat"].as_f64().expect("lat")),
        &e.vkey,
        "skyfence verify BUNDLE.zip --key",
    ] {
        assert!(html.contains(needle), "report.html lacks {needle:?}");
    }

    if !tools_ready() {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("report.html");
    std::fs::write(&file, &html).expect("write report");
    let screenshot = target_file("report.png");
    let _ = std::fs::remove_file(&screenshot);
    let out = Command::new("node")
        .arg("report_test.mjs")
        .arg(&file)
        .arg(&screenshot)
        .arg(chromium())
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
                "no report from report_test.mjs; stdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        out.status.success() && report["ok"] == true,
        "browser checks failed: {report:#}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["requests"], serde_json::json!([]));
    assert_eq!(report["consoleErrors"], serde_json::json!([]));
    assert_eq!(report["scripts"], 0);
    assert!(report["trackPoints"].as_u64() > Some(100), "{report}");
    let text = report["text"].as_str().expect("page text");
    assert!(text.to_lowercase().contains("timeline (utc)"), "{text}");
    assert!(text.contains("entered zone"), "{text}");
    assert!(text.contains("closed"), "{text}");
    let png = std::fs::read(&screenshot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "screenshot is a PNG");
    eprintln!("report screenshot: {}", screenshot.display());
}
