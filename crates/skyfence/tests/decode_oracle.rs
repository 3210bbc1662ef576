//! Differential test of `skyfence decode` against two independent decoders, pyModeS 3
//! and rs1090 (through their Python packages), on a real two-hour recording
//! (`testdata/long_flight.csv`, 172 432 frames; provenance in `testdata/README.md`).
//!
//! The comparison itself lives in `tests/oracle/compare_pymodes.py` (the oracles are
//! Python packages): every field that skyfence and an oracle both decode from the same
//! frame must agree (positions within 1e-4°, ground speed within 0.5 kt, track within
//! 0.1°, everything else exactly), skyfence must resolve at least as many positions as
//! each oracle, and every field the recording carries must have been compared at least
//! once. The agreement figures are printed on every run. The compared fields include
//! the extension keys `nacp` (TC 31 version ≥ 1 and TC 29 subtype 1) and `adsb_version`
//! (TC 31): 6 744 NACp values in the recording, all equal to both oracles'.
//!
//! The oracles are installed by `.ci/run` (`pip install pymodes rs1090`). Without them
//! this test fails in CI and is skipped, with a message, elsewhere
//! (`skyfence_testkit::require_tool`).

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

/// The repository root (this crate lives in `crates/skyfence`).
fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Python interpreter `.ci/run` installed the oracles into.
fn python() -> String {
    std::env::var("SKYFENCE_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

/// Writes straight to the process's stderr so the figures show even when the test
/// harness captures `println!` output of passing tests.
fn show(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// `Err` with the reason when the Python oracles cannot be imported.
fn oracles_available(python: &str) -> Result<(), String> {
    let out = Command::new(python)
        .args(["-c", "import pyModeS, rs1090"])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{python} cannot import pyModeS and rs1090 ({}); run: pip install pymodes rs1090",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

#[test]
fn decode_agrees_with_pymodes_and_rs1090_on_long_flight() {
    let python = python();
    if !skyfence_testkit::require_tool("differential decode test", oracles_available(&python)) {
        return;
    }
    let root = repo_root();
    let out = Command::new(&python)
        .arg(root.join("tests/oracle/compare_pymodes.py"))
        .arg("--skyfence")
        .arg(env!("CARGO_BIN_EXE_skyfence"))
        .arg("--input")
        .arg(root.join("testdata/long_flight.csv"))
        .arg("--oracle")
        .arg("pymodes,rs1090")
        .current_dir(&root)
        .output()
        .expect("run tests/oracle/compare_pymodes.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    show(&format!(
        "---- differential decode: skyfence vs pyModeS and rs1090 ----\n{stdout}{stderr}"
    ));
    assert!(
        out.status.success(),
        "skyfence disagrees with the oracles (exit status {:?}); figures above",
        out.status.code()
    );
    assert!(
        stdout.contains("PASS:"),
        "the comparison script printed no verdict"
    );
}

/// Comm-B (DF20/21): skyfence's register inference and every decoded field against
/// pyModeS's Comm-B decoders on the same real recording (`tests/oracle/compare_commb.py`):
/// no field disagrees, no register skyfence infers is one pyModeS's checks reject, and
/// 1,0, 1,7, 2,0, 4,0, 5,0 and 6,0 are each compared.
#[test]
fn commb_agrees_with_pymodes_on_long_flight() {
    let python = python();
    if !skyfence_testkit::require_tool("differential Comm-B test", oracles_available(&python)) {
        return;
    }
    let root = repo_root();
    let out = Command::new(&python)
        .arg(root.join("tests/oracle/compare_commb.py"))
        .arg("--skyfence")
        .arg(env!("CARGO_BIN_EXE_skyfence"))
        .arg("--input")
        .arg(root.join("testdata/long_flight.csv"))
        .current_dir(&root)
        .output()
        .expect("run tests/oracle/compare_commb.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    show(&format!(
        "---- differential Comm-B: skyfence vs pyModeS ----\n{stdout}{stderr}"
    ));
    assert!(
        out.status.success(),
        "skyfence's Comm-B disagrees with pyModeS (exit status {:?}); figures above",
        out.status.code()
    );
    assert!(
        stdout.contains("PASS:"),
        "the comparison script printed no verdict"
    );
}
