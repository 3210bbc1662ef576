//! The headless-browser tests' harness: Debian's `chromium` driven by the Node scripts of
//! `tests/browser/` through `playwright-core`. Each script prints one JSON line with what
//! it saw and exits 1 when one of its checks fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `tests/browser/`, where the scripts and their `node_modules` are.
pub fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The browser: `SKYFENCE_CHROMIUM`, or Debian's `/usr/bin/chromium`.
pub fn chromium() -> PathBuf {
    PathBuf::from(
        std::env::var_os("SKYFENCE_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()),
    )
}

/// `target/NAME`: where screenshots are kept for a person to look at.
pub fn target_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join(name)
}

/// Whether chromium, node and playwright-core are there; `false` (after saying why)
/// means skip, which CI forbids (`skyfence_testkit::require_tool`).
pub fn tools_ready(test: &str) -> bool {
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
        missing.push("node".to_owned());
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
    skyfence_testkit::require_tool(test, available)
}

/// Runs `node SCRIPT PAGE SCREENSHOT CHROMIUM` with `env`, asserts that every check of
/// the script passed (the panic shows `context()`, e.g. the service's log) and that the
/// screenshot is a PNG, and returns the script's JSON report.
pub fn run_script(
    script: &str,
    page: &str,
    screenshot: &Path,
    env: &[(&str, &str)],
    context: impl FnOnce() -> String,
) -> serde_json::Value {
    let _ = std::fs::remove_file(screenshot);
    let out = Command::new("node")
        .arg(script)
        .arg(page)
        .arg(screenshot)
        .arg(chromium())
        .envs(env.iter().copied())
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
                "no report from {script}; stdout:\n{stdout}\nstderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    assert!(
        out.status.success() && report["ok"] == true,
        "browser checks of {script} failed: {report:#}\nstderr:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        context()
    );
    let png = std::fs::read(screenshot).expect("screenshot written");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "screenshot is a PNG");
    eprintln!("{script} screenshot: {}", screenshot.display());
    report
}
