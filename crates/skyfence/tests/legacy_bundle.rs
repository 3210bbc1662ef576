//! A legacy evidence bundle: `testdata/legacy/bundle-v1.zip` was exported by commit
//! 4d374118b392a35963d672659b1d6445fb046f8e (before the sensor-neutral redesign) from a
//! real `skyfence run` (see `testdata/legacy/README.md`). Bundles already handed out must
//! keep verifying with every later `skyfence verify`: this one must verify with its
//! pinned log key, re-detection must reproduce its incident, and tampering with its
//! evidence must still be caught.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Files, read_bundle, write_bundle};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

/// SHA-256 of the committed bundle: the bundle is the old code's output and is never
/// regenerated; a different file here means these tests no longer test a legacy bundle.
const BUNDLE_SHA256: &str = "d596dc51991493d215f2b58c13dbe94bd20ee97107dcf8990a6c71c77faff5eb";
/// The incident in the bundle: AFDRN6 (`700c01`) crossing into the TORKHAM box.
const INCIDENT_ID: &str = "6ec2b02c6ec519bc";
/// The log's key (also in `testdata/legacy/log.vkey`).
const LOG_VKEY: &str =
    "skyfence.test/legacy-bundle-v1+24e0799d+Afj8otRZYDDXtD3Sxza62ODOOd2+6WkL8AJYunQidyvs";
/// The key of another log (of a run made the same way with another origin): a real key,
/// but not the one that signed the bundle.
const OTHER_VKEY: &str =
    "skyfence.test/legacy-v1+5f0884a4+AYaKzMDJ2lP3d7mJyW+WKV2QnsBaY5ZbR+SHavdN6+ou";

fn legacy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/legacy")
}

fn bundle() -> PathBuf {
    legacy_dir().join("bundle-v1.zip")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `skyfence verify ZIP ARGS`: exit code and stdout followed by stderr.
fn verify(zip: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("verify")
        .arg(zip)
        .args(args)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .expect("run skyfence verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

/// Flips one bit of one byte of the first raw frame leaf (kind byte 0x03) in
/// `leaves.txt`: the last hex digit of its line, inside the frame's bytes. Returns the
/// leaf's index.
fn flip_a_frame_leaf(files: &mut Files) -> u64 {
    let text = String::from_utf8(files["leaves.txt"].clone()).unwrap();
    let mut index = None;
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| match l.split_once(' ') {
            Some((i, h)) if index.is_none() && !l.starts_with('#') && h.starts_with("0103") => {
                index = Some(i.parse::<u64>().unwrap());
                let (head, last) = h.split_at(h.len() - 1);
                let last = u8::from_str_radix(last, 16).unwrap() ^ 1;
                format!("{i} {head}{last:x}")
            }
            _ => l.to_string(),
        })
        .collect();
    let changed = lines.join("\n").into_bytes();
    assert_eq!(changed.len(), files["leaves.txt"].len());
    assert_ne!(changed, files["leaves.txt"], "the flip changed nothing");
    files.insert("leaves.txt".into(), changed);
    index.expect("a raw frame leaf in leaves.txt")
}

/// Sets `name`'s SHA-256 and length in `bundle.json`, as a careful forger would.
fn fix_manifest(files: &mut Files, name: &str) {
    let mut m: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    let bytes = &files[name];
    let mut found = false;
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == name {
            f["sha256"] = Value::from(hex(&Sha256::digest(bytes)));
            f["bytes"] = Value::from(bytes.len());
            found = true;
        }
    }
    assert!(found, "bundle.json lists no {name}");
    files.insert("bundle.json".into(), serde_json::to_vec_pretty(&m).unwrap());
}

#[test]
fn the_committed_bundle_is_the_legacy_one() {
    let bytes = std::fs::read(bundle()).unwrap();
    assert_eq!(hex(&Sha256::digest(&bytes)), BUNDLE_SHA256);
    let files = read_bundle(&bundle());
    let manifest: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    assert_eq!(manifest["format"], "skyfence-evidence-bundle");
    assert_eq!(manifest["version"], 1);
    assert_eq!(manifest["incident"], INCIDENT_ID);
    assert_eq!(manifest["log"]["key"], LOG_VKEY);
    let incident: Value = serde_json::from_slice(&files["incident.json"]).unwrap();
    assert_eq!(incident["id"], INCIDENT_ID);
    assert_eq!(incident["zone"], "TORKHAM");
    assert_eq!(incident["target"]["icao24"], "700c01");
    assert_eq!(incident["authorised"], false);
    assert_eq!(incident["status"], "closed");
    assert_eq!(incident["entry"]["alt_ft"], Value::Null);
    // The key file beside the bundle holds the same key.
    let keyfile = std::fs::read_to_string(legacy_dir().join("log.vkey")).unwrap();
    assert!(keyfile.lines().any(|l| l.trim() == LOG_VKEY), "{keyfile}");
}

#[test]
fn the_legacy_bundle_verifies_with_its_pinned_key() {
    let key = legacy_dir().join("log.vkey");
    let (code, text) = verify(&bundle(), &["--key", key.to_str().unwrap()]);
    assert_eq!(code, 0, "verify failed:\n{text}");
    assert!(
        !text.lines().any(|l| l.starts_with("FAIL")),
        "a check failed:\n{text}"
    );
    for check in [
        "manifest",
        "log key",
        "checkpoint signature",
        "cosignatures",
        "leaves",
        "inclusion proofs",
        "incident",
        "zone",
        "config",
        "frames",
        "decode",
        "detection",
        "renderings",
    ] {
        line(&text, &format!("PASS {check}:"));
    }
    assert!(
        line(&text, "PASS log key:").contains(LOG_VKEY),
        "the pinned key: {text}"
    );
    let signature = line(&text, "PASS checkpoint signature:");
    assert!(
        signature.contains("828 leaves")
            && signature
                .contains("8ebe01bfa43849055f63a1c37985c5be633e97cdaf799971be421d5ced6446ed"),
        "{signature}"
    );
    let leaves = line(&text, "PASS leaves:");
    assert!(
        leaves.contains("827 leaves")
            && leaves.contains("822 raw frames")
            && leaves.contains("2 incident state changes")
            && leaves.contains("1 acknowledgements"),
        "{leaves}"
    );
    assert!(
        line(&text, "PASS inclusion proofs:").contains("all 827 leaves"),
        "{text}"
    );
    assert!(
        line(&text, "PASS decode:").contains("822 of 822 raw frames"),
        "{text}"
    );
    // Re-detection on the bundle's frames, zone and settings gives the same incident.
    let detection = line(&text, "PASS detection:");
    for part in [
        "same incident",
        INCIDENT_ID,
        "closed",
        "342 reports",
        "authorised false",
    ] {
        assert!(detection.contains(part), "no {part:?} in: {detection}");
    }
    assert!(
        line(&text, "VERDICT:").starts_with("VERDICT: VERIFIED: all 13 checks pass"),
        "{text}"
    );

    // The key given inline works the same.
    let (code, text) = verify(&bundle(), &["--key", LOG_VKEY]);
    assert_eq!(code, 0, "{text}");
    // Without a key it verifies against its own, with a warning saying so.
    let (code, text) = verify(&bundle(), &[]);
    assert_eq!(code, 0, "{text}");
    assert!(
        line(&text, "WARN log key:").contains("self-asserted"),
        "{text}"
    );
    assert!(
        line(&text, "VERDICT:").starts_with("VERDICT: VERIFIED against the bundle's own key"),
        "{text}"
    );
}

#[test]
fn another_logs_key_does_not_verify_the_legacy_bundle() {
    let (code, text) = verify(&bundle(), &["--key", OTHER_VKEY]);
    assert_eq!(code, 1, "{text}");
    assert!(line(&text, "FAIL log key:").contains(LOG_VKEY), "{text}");
    assert!(
        line(&text, "VERDICT:").starts_with("VERDICT: NOT VERIFIED"),
        "{text}"
    );
}

#[test]
fn a_flipped_byte_in_a_frame_leaf_fails_verification() {
    let dir = tempfile::tempdir().unwrap();
    let key = legacy_dir().join("log.vkey");
    let key = key.to_str().unwrap();
    let original = read_bundle(&bundle());

    // As is: the manifest catches the changed file, the proofs the changed leaf.
    let mut files = original.clone();
    let index = flip_a_frame_leaf(&mut files);
    let careless = dir.path().join("careless.zip");
    write_bundle(&files, &careless);
    let (code, text) = verify(&careless, &["--key", key]);
    assert_eq!(code, 1, "{text}");
    assert!(
        line(&text, "FAIL manifest:").contains("leaves.txt"),
        "{text}"
    );
    assert!(
        line(&text, "FAIL inclusion proofs:").contains(&format!("leaf {index} ")),
        "{text}"
    );
    assert!(
        line(&text, "VERDICT:").starts_with("VERDICT: NOT VERIFIED"),
        "{text}"
    );

    // With the manifest corrected: the inclusion proof still fails, naming the leaf.
    fix_manifest(&mut files, "leaves.txt");
    let careful = dir.path().join("careful.zip");
    write_bundle(&files, &careful);
    let (code, text) = verify(&careful, &["--key", key]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("PASS manifest:")),
        "the manifest was corrected:\n{text}"
    );
    assert!(
        line(&text, "FAIL inclusion proofs:").contains(&format!("leaf {index} ")),
        "{text}"
    );
    assert!(
        line(&text, "VERDICT:").starts_with("VERDICT: NOT VERIFIED"),
        "{text}"
    );

    // The rewriting itself is harmless: the untouched files rezipped still verify.
    let rezipped = dir.path().join("rezipped.zip");
    write_bundle(&original, &rezipped);
    let (code, text) = verify(&rezipped, &["--key", key]);
    assert_eq!(code, 0, "{text}");
}
