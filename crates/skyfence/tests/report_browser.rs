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

use common::browser::{self, target_file};
use std::io::Read;
use std::path::Path;

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

    if !browser::tools_ready("report browser test") {
        return;
    }
    let work = tempfile::tempdir().expect("temp dir");
    let file = work.path().join("report.html");
    std::fs::write(&file, &html).expect("write report");
    let screenshot = target_file("report.png");
    let report = browser::run_script(
        "report_test.mjs",
        file.to_str().unwrap(),
        &screenshot,
        &[],
        String::new,
    );
    assert_eq!(report["requests"], serde_json::json!([]));
    assert_eq!(report["consoleErrors"], serde_json::json!([]));
    assert_eq!(report["scripts"], 0);
    assert!(report["trackPoints"].as_u64() > Some(100), "{report}");
    let text = report["text"].as_str().expect("page text");
    assert!(text.to_lowercase().contains("timeline (utc)"), "{text}");
    assert!(text.contains("entered zone"), "{text}");
    assert!(text.contains("closed"), "{text}");
}
