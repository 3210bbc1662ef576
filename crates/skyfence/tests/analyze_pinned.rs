//! Pinned `skyfence analyze` output: the incidents (and events) that commit
//! 4d374118b392a35963d672659b1d6445fb046f8e, before the sensor-neutral redesign, wrote for
//! fixed simulator recordings, kept byte for byte under `testdata/pinned/` (see its
//! README). A refactoring that changes one byte of what `analyze` prints fails here and
//! names the first line that differs.
//!
//! The recordings are not stored: each test regenerates them with `skyfence simulate`
//! and first checks their SHA-256 against `testdata/pinned/inputs.sha256`. When the
//! simulator's output changes, the test says so instead of comparing `analyze` on
//! different input with output pinned from the old one.
//!
//! There is no switch to rewrite the pins: they record what the old code did, and new
//! code must not be their source.
//!
//! Two changes are documented and applied to the pins before comparing, byte for byte:
//! every incident's and event's `target` object now leads with `"kind":"icao"` and
//! `"id"` (the same 6 hex digits as `icao24`), and every incident ends in
//! `"cooperative":true` after `reports` — see [`pinned_as_now`]. Nothing else may
//! differ.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

/// The `--start` of the Beast and AVR recordings (the scenarios start at 22:00:00Z).
const START: &str = "2023-11-14T22:00:00.000Z";

fn pinned_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/pinned")
}

fn run(args: &[&str]) {
    let out = Command::new(BIN)
        .args(args)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .expect("run skyfence");
    assert!(
        out.status.success(),
        "skyfence {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `inputs.sha256` (`sha256sum` format, `HASH  SIMDIR/FILE`): the expected hash of
/// `SIMDIR/FILE`.
fn pinned_input_hash(name: &str) -> String {
    let path = pinned_dir().join("inputs.sha256");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter_map(|l| l.split_once("  "))
        .find(|(_, file)| *file == name)
        .map(|(hash, _)| hash.to_string())
        .unwrap_or_else(|| panic!("{} has no line for {name}", path.display()))
}

/// Checks the SHA-256 of each of `files` in `dir` (the simulator's output directory,
/// called `sim_name` in `inputs.sha256`).
fn check_inputs(dir: &Path, sim_name: &str, files: &[&str]) {
    let mut changed = Vec::new();
    for file in files {
        let name = format!("{sim_name}/{file}");
        let expected = pinned_input_hash(&name);
        assert_eq!(expected.len(), 64, "{name}: not a SHA-256 in inputs.sha256");
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = sha256_hex(&bytes);
        if got != expected {
            changed.push(format!(
                "  {name}: sha256 {got} ({} bytes), pinned {expected}",
                bytes.len()
            ));
        }
    }
    assert!(
        changed.is_empty(),
        "the recording changed: `skyfence simulate` no longer writes the input the pins in \
         testdata/pinned/ were made from, so comparing `analyze` with them would compare \
         different things. Changed:\n{}",
        changed.join("\n")
    );
}

/// The pinned bytes as the current format writes them: each `"target":{"icao24":"HEX"`
/// becomes `"target":{"kind":"icao","id":"HEX","icao24":"HEX"` (incident JSON gained
/// `target.kind` and `target.id`; every pinned target is a Mode S address), and each
/// incident's closing `"reports":N}` becomes `"reports":N,"cooperative":true}` (incident
/// JSON gained `cooperative`; a Mode S target identifies itself).
fn pinned_as_now(pinned: &[u8]) -> Vec<u8> {
    const OLD: &[u8] = b"\"target\":{\"icao24\":\"";
    let mut out = Vec::with_capacity(pinned.len() + pinned.len() / 8);
    let mut rest = pinned;
    while let Some(at) = rest.windows(OLD.len()).position(|w| w == OLD) {
        let hex = &rest[at + OLD.len()..at + OLD.len() + 6];
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(b"\"target\":{\"kind\":\"icao\",\"id\":\"");
        out.extend_from_slice(hex);
        out.extend_from_slice(b"\",\"icao24\":\"");
        rest = &rest[at + OLD.len()..];
    }
    out.extend_from_slice(rest);
    with_cooperative(&out)
}

/// `"reports":N}` → `"reports":N,"cooperative":true}` everywhere in `bytes`.
fn with_cooperative(bytes: &[u8]) -> Vec<u8> {
    const KEY: &[u8] = b"\"reports\":";
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    let mut rest = bytes;
    while let Some(at) = rest.windows(KEY.len()).position(|w| w == KEY) {
        let digits = rest[at + KEY.len()..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let end = at + KEY.len() + digits;
        out.extend_from_slice(&rest[..end]);
        if rest.get(end) == Some(&b'}') {
            out.extend_from_slice(COOPERATIVE);
        }
        rest = &rest[end..];
    }
    out.extend_from_slice(rest);
    out
}

/// What [`with_cooperative`] inserts.
const COOPERATIVE: &[u8] = b",\"cooperative\":true";

/// The first difference between `got` and the pinned file `name` (as [`pinned_as_now`]
/// writes it), if any: line number, both lines, both line counts.
fn first_difference(name: &str, got: &[u8]) -> Option<String> {
    let path = pinned_dir().join(name);
    let pinned = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let want = pinned_as_now(&pinned);
    assert!(
        !want.is_empty(),
        "{}: the pinned file is empty",
        path.display()
    );
    if got == want.as_slice() {
        return None;
    }
    let (g, w) = (String::from_utf8_lossy(got), String::from_utf8_lossy(&want));
    let (gl, wl): (Vec<&str>, Vec<&str>) = (g.split('\n').collect(), w.split('\n').collect());
    let at = gl
        .iter()
        .zip(&wl)
        .position(|(a, b)| a != b)
        .unwrap_or(gl.len().min(wl.len()));
    let (got_line, pinned_line) = (
        gl.get(at).copied().unwrap_or("<end of output>"),
        wl.get(at).copied().unwrap_or("<end of pinned file>"),
    );
    let column = got_line
        .bytes()
        .zip(pinned_line.bytes())
        .position(|(a, b)| a != b)
        .unwrap_or(got_line.len().min(pinned_line.len()));
    Some(format!(
        "{name}: differs from the pin first at line {}, byte {} of the line (output {} lines, {} bytes; pinned {} lines, {} bytes)\n    got:    {got_line}\n    pinned: {pinned_line}",
        at + 1,
        column + 1,
        g.lines().count(),
        got.len(),
        w.lines().count(),
        want.len(),
    ))
}

/// Runs `skyfence analyze --input FMT:DIR/FILE --config DIR/config.toml [--start START]`
/// writing incidents and events into `out_dir`, and compares both with the pins
/// `PIN.incidents.jsonl` (and `PIN.events.jsonl` when `events` is set). Returns the
/// differences found.
fn analyze_and_compare(
    dir: &Path,
    out_dir: &Path,
    fmt: &str,
    file: &str,
    pin: &str,
    events: bool,
) -> Vec<String> {
    let spec = format!("{fmt}:{}", dir.join(file).display());
    let config = dir.join("config.toml");
    let incidents_out = out_dir.join(format!("{pin}.incidents.jsonl"));
    let events_out = out_dir.join(format!("{pin}.events.jsonl"));
    let mut args = vec![
        "analyze",
        "--input",
        &spec,
        "--config",
        config.to_str().unwrap(),
        "--out",
        incidents_out.to_str().unwrap(),
        "--events",
        events_out.to_str().unwrap(),
    ];
    if fmt == "beast" || fmt == "avr" {
        args.extend(["--start", START]);
    }
    run(&args);
    let mut report = Vec::new();
    let incidents = std::fs::read(&incidents_out).unwrap();
    report.extend(first_difference(
        &format!("{pin}.incidents.jsonl"),
        &incidents,
    ));
    if events {
        let got = std::fs::read(&events_out).unwrap();
        report.extend(first_difference(&format!("{pin}.events.jsonl"), &got));
    }
    report
}

#[test]
fn af_pk_border_analysis_is_byte_identical_to_the_pins() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("af-pk-border-seed7");
    run(&[
        "simulate",
        "--scenario",
        "af-pk-border",
        "--seed",
        "7",
        "--formats",
        "raw,beast,avr,sbs",
        "--out-dir",
        sim.to_str().unwrap(),
    ]);
    check_inputs(
        &sim,
        "af-pk-border-seed7",
        &[
            "raw.csv",
            "beast.bin",
            "avr.txt",
            "sbs.csv",
            "config.toml",
            "zones.geojson",
        ],
    );
    let mut report = Vec::new();
    for (fmt, file, events) in [
        ("raw", "raw.csv", true),
        ("beast", "beast.bin", false),
        ("avr", "avr.txt", false),
        ("sbs", "sbs.csv", true),
    ] {
        let pin = format!("af-pk-border-seed7.{fmt}");
        report.extend(analyze_and_compare(
            &sim,
            tmp.path(),
            fmt,
            file,
            &pin,
            events,
        ));
    }
    assert!(
        report.is_empty(),
        "`skyfence analyze` output changed:\n{}",
        report.join("\n")
    );
}

#[test]
fn scale_analysis_is_byte_identical_to_the_pins() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = tmp.path().join("scale-100x600-seed11");
    run(&[
        "simulate",
        "--scenario",
        "scale",
        "--targets",
        "100",
        "--duration",
        "600",
        "--seed",
        "11",
        "--formats",
        "raw",
        "--out-dir",
        sim.to_str().unwrap(),
    ]);
    check_inputs(
        &sim,
        "scale-100x600-seed11",
        &["raw.csv", "config.toml", "zones.geojson"],
    );
    let report = analyze_and_compare(
        &sim,
        tmp.path(),
        "raw",
        "raw.csv",
        "scale-100x600-seed11.raw",
        true,
    );
    assert!(
        report.is_empty(),
        "`skyfence analyze` output changed:\n{}",
        report.join("\n")
    );
}

/// The comparison itself: a one-byte change in the middle of a pinned file is reported
/// at the right line, and the pinned file compares equal to itself.
#[test]
fn a_changed_byte_is_reported_with_its_line() {
    let name = "af-pk-border-seed7.raw.incidents.jsonl";
    let pinned = std::fs::read(pinned_dir().join(name)).unwrap();
    let want = pinned_as_now(&pinned);
    // The rewrite touches every target and nothing else.
    let targets = pinned
        .windows(11)
        .filter(|w| *w == b"\"target\":{\"")
        .count();
    assert!(targets > 0);
    let incidents = pinned.windows(10).filter(|w| *w == b"\"reports\":").count();
    assert_eq!(
        want.len(),
        pinned.len()
            + targets * r#""kind":"icao","id":"adf7c1","#.len()
            + incidents * COOPERATIVE.len()
    );
    assert_eq!(first_difference(name, &want), None);
    let lines: Vec<&[u8]> = want.split(|&b| b == b'\n').collect();
    assert!(lines.len() > 3, "{name} has {} lines", lines.len());
    // Change the last digit of the third line's `reports`.
    let mut changed = want.clone();
    let third_end = lines[..3].iter().map(|l| l.len() + 1).sum::<usize>() - 1;
    let digit = third_end - 1 - COOPERATIVE.len() - 1;
    assert!(
        changed[digit].is_ascii_digit(),
        "{name} line 3 ends in `reports`"
    );
    changed[digit] = if changed[digit] == b'9' {
        b'0'
    } else {
        changed[digit] + 1
    };
    let report = first_difference(name, &changed).expect("a difference");
    // The digit before `,"cooperative":true}`: byte (length - 1 - that) of the line,
    // counting from 1.
    let at = format!(
        "first at line 3, byte {} of the line",
        lines[2].len() - 1 - COOPERATIVE.len()
    );
    assert!(report.contains(&at), "{report}");
}
