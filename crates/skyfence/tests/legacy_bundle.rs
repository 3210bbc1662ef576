//! Legacy evidence bundles: bundles already handed to third parties must keep verifying
//! with every later `skyfence verify`. Each committed bundle is the output of an older
//! `skyfence` from a real `skyfence run` (see `testdata/legacy/README.md`):
//!
//! - `bundle-v1.zip`, format 1, exported by commit 4d374118b392a35963d672659b1d6445fb046f8e
//!   (before the sensor-neutral redesign: Mode S frame leaves, kind 0x03);
//! - `bundle-v2.zip`, format 2, exported by the release built from commit 7f6d858 (raw
//!   record leaves, kind 0x06 version 2, and a `protocol` column in `frames.csv`).
//!
//! Each must verify with its pinned log key and fail with another log's key, re-detection
//! must reproduce its incident, and tampering with its evidence must still be caught. The
//! same checks run on every bundle: [`Legacy`] holds what differs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Files, read_bundle, write_bundle};
use serde_json::Value;
use sha2::{Digest, Sha256};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

/// The key of another log (of a run made the same way with another origin): a real key,
/// but not the one that signed either bundle.
const OTHER_VKEY: &str =
    "skyfence.test/legacy-v1+5f0884a4+AYaKzMDJ2lP3d7mJyW+WKV2QnsBaY5ZbR+SHavdN6+ou";

/// One committed legacy bundle and what its old code wrote into it.
struct Legacy {
    /// The file in `testdata/legacy`.
    file: &'static str,
    /// Its SHA-256: the bundle is the old code's output and is never regenerated; a
    /// different file here means these tests no longer test a legacy bundle.
    sha256: &'static str,
    /// `bundle.json`'s `version`.
    version: u64,
    /// The incident in the bundle.
    incident_id: &'static str,
    /// The log's key, also in the key file beside the bundle.
    log_vkey: &'static str,
    /// That key file in `testdata/legacy`.
    vkey_file: &'static str,
    /// The checkpoint the bundle's proofs lead to: its size and root.
    checkpoint_size: u64,
    checkpoint_root: &'static str,
    /// The hex of a raw frame leaf's first two bytes (encoding version, kind).
    frame_leaf_prefix: &'static str,
    /// The header line of `frames.csv`.
    frames_header: &'static str,
    /// `incident.json`'s `target.kind` (format 2 names every target by kind and id;
    /// format 1 had Mode S addresses only, and no `kind`).
    target_kind: Option<&'static str>,
}

/// AFDRN6 (`700c01`) crossing into the TORKHAM box, format 1: Mode S frame leaves
/// (version 0x01, kind 0x03).
const V1: Legacy = Legacy {
    file: "bundle-v1.zip",
    sha256: "d596dc51991493d215f2b58c13dbe94bd20ee97107dcf8990a6c71c77faff5eb",
    version: 1,
    incident_id: "6ec2b02c6ec519bc",
    log_vkey: "skyfence.test/legacy-bundle-v1+24e0799d+Afj8otRZYDDXtD3Sxza62ODOOd2+6WkL8AJYunQidyvs",
    vkey_file: "log.vkey",
    checkpoint_size: 828,
    checkpoint_root: "8ebe01bfa43849055f63a1c37985c5be633e97cdaf799971be421d5ced6446ed",
    frame_leaf_prefix: "0103",
    frames_header: "index,received_at,sensor,signal,mlat,hex",
    target_kind: None,
};

/// The same crossing recorded by the format-2 release: protocol-tagged raw record leaves
/// (version 0x02, kind 0x06, protocol Mode S) and `frames.csv` with a `protocol` column.
const V2: Legacy = Legacy {
    file: "bundle-v2.zip",
    sha256: "5092fbe025f71c59d5462c17b51f761784e4889ac6fa697d0d876fd670c72998",
    version: 2,
    incident_id: "0c7847ca8c8e8505",
    log_vkey: "skyfence.test/legacy-bundle-v2+671396fa+AWDMQ1jVKwDhitQcglEdJxxFc5vTV4tKI9k0EYHKBYkn",
    vkey_file: "log-v2.vkey",
    checkpoint_size: 828,
    checkpoint_root: "03c83acf4f41327af21fab3c007ac46d765a6fac8cbd506c9dde6ce1f385f5ee",
    frame_leaf_prefix: "0206",
    frames_header: "index,received_at,sensor,protocol,signal,mlat,hex",
    target_kind: Some("icao"),
};

fn legacy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/legacy")
}

impl Legacy {
    fn bundle(&self) -> PathBuf {
        legacy_dir().join(self.file)
    }

    fn key_file(&self) -> PathBuf {
        legacy_dir().join(self.vkey_file)
    }
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

/// Flips one bit of one byte of the first raw frame leaf (whose hex starts with
/// `prefix`, its encoding version and kind) in `leaves.txt`: the last hex digit of its
/// line, inside the frame's bytes (the last field of both kinds). Returns the leaf's
/// index.
fn flip_a_frame_leaf(files: &mut Files, prefix: &str) -> u64 {
    let text = String::from_utf8(files["leaves.txt"].clone()).unwrap();
    let mut index = None;
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| match l.split_once(' ') {
            Some((i, h)) if index.is_none() && !l.starts_with('#') && h.starts_with(prefix) => {
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

/// The committed file is the legacy bundle: its SHA-256, format version, incident, key,
/// and the leaf encoding and `frames.csv` columns its old code wrote.
fn is_the_legacy_one(b: &Legacy) {
    let bytes = std::fs::read(b.bundle()).unwrap();
    assert_eq!(hex(&Sha256::digest(&bytes)), b.sha256, "{}", b.file);
    let files = read_bundle(&b.bundle());
    let manifest: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    assert_eq!(manifest["format"], "skyfence-evidence-bundle");
    assert_eq!(manifest["version"], b.version);
    assert_eq!(manifest["incident"], b.incident_id);
    assert_eq!(manifest["log"]["key"], b.log_vkey);
    assert_eq!(manifest["log"]["checkpoint_size"], b.checkpoint_size);
    assert_eq!(manifest["log"]["checkpoint_root"], b.checkpoint_root);
    let incident: Value = serde_json::from_slice(&files["incident.json"]).unwrap();
    assert_eq!(incident["id"], b.incident_id);
    assert_eq!(incident["zone"], "TORKHAM");
    assert_eq!(incident["target"]["icao24"], "700c01");
    assert_eq!(
        incident["target"].get("kind").and_then(Value::as_str),
        b.target_kind
    );
    assert_eq!(incident["authorised"], false);
    assert_eq!(incident["status"], "closed");
    assert_eq!(incident["entry"]["alt_ft"], Value::Null);
    // Every frame is a leaf of the old code's encoding, and frames.csv has its columns.
    let leaves = String::from_utf8(files["leaves.txt"].clone()).unwrap();
    let frame_leaves = leaves
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, h)| h.starts_with(b.frame_leaf_prefix))
        .count();
    assert_eq!(frame_leaves, 822, "{}", b.file);
    let frames = String::from_utf8(files["frames.csv"].clone()).unwrap();
    assert_eq!(frames.lines().next(), Some(b.frames_header), "{}", b.file);
    assert_eq!(frames.lines().count(), 1 + 822, "{}", b.file);
    // The key file beside the bundle holds the same key.
    let keyfile = std::fs::read_to_string(b.key_file()).unwrap();
    assert!(keyfile.lines().any(|l| l.trim() == b.log_vkey), "{keyfile}");
}

/// Every check passes with the pinned key (as a file and inline), re-detection
/// reproduces the incident; without a key it verifies against its own, with a warning.
fn verifies_with_its_pinned_key(b: &Legacy) {
    let bundle = b.bundle();
    let key = b.key_file();
    let (code, text) = verify(&bundle, &["--key", key.to_str().unwrap()]);
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
        line(&text, "PASS manifest:").contains(&format!("version {},", b.version)),
        "{text}"
    );
    assert!(
        line(&text, "PASS log key:").contains(b.log_vkey),
        "the pinned key: {text}"
    );
    let signature = line(&text, "PASS checkpoint signature:");
    assert!(
        signature.contains(&format!("{} leaves", b.checkpoint_size))
            && signature.contains(b.checkpoint_root),
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
        b.incident_id,
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
    let (code, text) = verify(&bundle, &["--key", b.log_vkey]);
    assert_eq!(code, 0, "{text}");
    // Without a key it verifies against its own, with a warning saying so.
    let (code, text) = verify(&bundle, &[]);
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

/// Another log's key does not verify it: the log key check fails naming the bundle's key.
fn another_logs_key_does_not_verify(b: &Legacy) {
    let (code, text) = verify(&b.bundle(), &["--key", OTHER_VKEY]);
    assert_eq!(code, 1, "{text}");
    assert!(line(&text, "FAIL log key:").contains(b.log_vkey), "{text}");
    assert!(
        line(&text, "VERDICT:").starts_with("VERDICT: NOT VERIFIED"),
        "{text}"
    );
}

/// A flipped byte in a frame leaf is caught by the manifest and, with the manifest
/// corrected, by the inclusion proofs naming the leaf; rezipping alone changes nothing.
fn a_flipped_byte_in_a_frame_leaf_fails(b: &Legacy) {
    let dir = tempfile::tempdir().unwrap();
    let key = b.key_file();
    let key = key.to_str().unwrap();
    let original = read_bundle(&b.bundle());

    // As is: the manifest catches the changed file, the proofs the changed leaf.
    let mut files = original.clone();
    let index = flip_a_frame_leaf(&mut files, b.frame_leaf_prefix);
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

/// The same tests for each committed bundle, one module per bundle (`v1::...`, `v2::...`).
macro_rules! legacy_bundle_tests {
    ($($module:ident: $bundle:expr;)*) => {$(
        mod $module {
            use super::*;

            #[test]
            fn the_committed_bundle_is_the_legacy_one() {
                is_the_legacy_one(&$bundle);
            }

            #[test]
            fn the_legacy_bundle_verifies_with_its_pinned_key() {
                verifies_with_its_pinned_key(&$bundle);
            }

            #[test]
            fn another_logs_key_does_not_verify_the_legacy_bundle() {
                another_logs_key_does_not_verify(&$bundle);
            }

            #[test]
            fn a_flipped_byte_in_a_frame_leaf_fails_verification() {
                a_flipped_byte_in_a_frame_leaf_fails(&$bundle);
            }
        }
    )*};
}

legacy_bundle_tests! {
    v1: V1;
    v2: V2;
}
