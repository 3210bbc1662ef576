//! `tools/verify-bundle.py`, a verifier written from docs/BUNDLE.md alone (Python standard
//! library and the `cryptography` package's Ed25519), accepts a bundle this crate builds
//! and the legacy format-1 and format-2 bundles, and refuses a forged leaf (manifest corrected, as a
//! careful forger would) and a wrong pinned key: the other side
//! need not trust our verifier to check our evidence.
//!
//! The Python comes from `SKYFENCE_VERIFY_PYTHON` (`.ci/run` sets it to a cached virtual
//! environment) or `python3`; without `cryptography` the test skips locally and fails in
//! CI (`skyfence_testkit::require_tool`).

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use skyfence_bundle::archive::Bundle;

/// The committed legacy bundles (testdata/legacy/README.md): file, log origin, log key.
const LEGACY: [(&str, &str, &str); 2] = [
    (
        "bundle-v1.zip",
        "skyfence.test/legacy-bundle-v1",
        "skyfence.test/legacy-bundle-v1+24e0799d+Afj8otRZYDDXtD3Sxza62ODOOd2+6WkL8AJYunQidyvs",
    ),
    (
        "bundle-v2.zip",
        "skyfence.test/legacy-bundle-v2",
        "skyfence.test/legacy-bundle-v2+671396fa+AWDMQ1jVKwDhitQcglEdJxxFc5vTV4tKI9k0EYHKBYkn",
    ),
];

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> String {
    std::env::var("SKYFENCE_VERIFY_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn available() -> Result<(), String> {
    let out = Command::new(python())
        .args(["-c", "import cryptography"])
        .output()
        .map_err(|e| format!("{}: {e}", python()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{} lacks the cryptography package (pip install cryptography, or run .ci/run)",
            python()
        ))
    }
}

/// Runs the Python verifier: exit code and stdout + stderr.
fn verify_py(zip: &Path, keys: &[&str]) -> (Option<i32>, String) {
    let mut cmd = Command::new(python());
    cmd.arg(repo().join("tools/verify-bundle.py")).arg(zip);
    for k in keys {
        cmd.args(["--key", k]);
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("--- {}:\n{text}", zip.display());
    (out.status.code(), text)
}

fn write(bundle: &Bundle, path: &Path) {
    let zip = bundle.write_zip(Cursor::new(Vec::new())).unwrap();
    std::fs::write(path, zip.into_inner()).unwrap();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The legacy bundle with leaf 5 changed by one hex digit and the manifest corrected, as
/// a careful forger would.
fn forged_legacy(legacy: &Path, dir: &Path) -> PathBuf {
    let mut bundle = Bundle::read_zip(std::fs::File::open(legacy).unwrap()).unwrap();
    let leaves = String::from_utf8(bundle.files["leaves.txt"].clone()).unwrap();
    let line = leaves
        .lines()
        .find(|l| l.starts_with("5 "))
        .unwrap()
        .to_string();
    let last = line.chars().last().unwrap();
    let flipped = format!(
        "{}{}",
        &line[..line.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let forged = leaves.replacen(&line, &flipped, 1).into_bytes();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&bundle.files["bundle.json"]).unwrap();
    for f in manifest["files"].as_array_mut().unwrap() {
        if f["path"] == "leaves.txt" {
            f["sha256"] = hex(&Sha256::digest(&forged)).into();
            f["bytes"] = forged.len().into();
        }
    }
    bundle.files.insert("leaves.txt".into(), forged);
    bundle.files.insert(
        "bundle.json".into(),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );
    let path = dir.join("forged.zip");
    write(&bundle, &path);
    path
}

/// Another key of a legacy log's name.
fn other_key(origin: &str) -> String {
    skyfence_evidence::Signer::from_seed(origin, [7; 32])
        .unwrap()
        .verifier_key()
        .to_string()
}

#[test]
fn the_independent_python_verifier_agrees() {
    if !skyfence_testkit::require_tool("independent bundle verifier", available()) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (file, origin, key) in LEGACY {
        let legacy = repo().join("testdata/legacy").join(file);
        let (code, text) = verify_py(&legacy, &[key]);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains("PASS inclusion proofs: 827 leaves lead to the signed root"),
            "{text}"
        );
        assert!(text.contains("VERDICT: VERIFIED\n"), "{text}");

        // A forged leaf: the proof fails.
        let (code, text) = verify_py(&forged_legacy(&legacy, dir.path()), &[key]);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains("FAIL inclusion proofs: leaf 5 does not lead to the signed root"),
            "{text}"
        );

        // Another key of the same name pinned: refused.
        let (code, text) = verify_py(&legacy, &[&other_key(origin)]);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("FAIL log key:"), "{text}");
    }
}

/// Runs `tools/go-note-tlog` (built with the Go checksum database's `note` and `tlog`
/// packages): exit code and stdout + stderr.
fn verify_go(program: &Path, zip: &Path, key: &str) -> (Option<i32>, String) {
    let out = Command::new(program).arg(zip).arg(key).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("--- go-note-tlog {}:\n{text}", zip.display());
    (out.status.code(), text)
}

/// The checkpoint and every inclusion proof verify with Go's
/// `golang.org/x/mod/sumdb/note` and `sumdb/tlog`, the packages of the Go checksum
/// database (an implementation of signed notes and RFC 6962 proofs by others); a forged
/// leaf and another key are refused by them too.
#[test]
fn the_go_checksum_database_packages_agree() {
    let dir = tempfile::tempdir().unwrap();
    let program = match skyfence_testkit::build_go_note_tlog(dir.path()) {
        Ok(p) => p,
        Err(why) => {
            skyfence_testkit::require_tool("Go note/tlog oracle", Err(why));
            return;
        }
    };
    for (file, origin, key) in LEGACY {
        let legacy = repo().join("testdata/legacy").join(file);
        let (code, text) = verify_go(&program, &legacy, key);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains("PASS inclusion proofs: 827 leaves lead to the signed root (tlog)"),
            "{text}"
        );
        assert!(text.contains("size 828"), "{text}");

        let (code, text) = verify_go(&program, &forged_legacy(&legacy, dir.path()), key);
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("FAIL inclusion proofs: leaf 5:"), "{text}");

        let (code, text) = verify_go(&program, &legacy, &other_key(origin));
        assert_eq!(code, Some(1), "{text}");
        assert!(text.contains("FAIL checkpoint signature:"), "{text}");
    }
}
