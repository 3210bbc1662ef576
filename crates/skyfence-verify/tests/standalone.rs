//! The standalone verifier (`skyfence-verify`, built from the bundle and dossier crates
//! without their store: no SQLite, no live service) on a dossier made from a store of real
//! incidents, on one of its bundles, and on the legacy format-1 bundle: it prints exactly
//! what the libraries behind `skyfence verify` give, and its exit status says the verdict.

use std::path::{Path, PathBuf};
use std::process::Command;

use skyfence_dossier::{Request, make};
use skyfence_store::{StoreOptions, StoreUrl};

/// Runs `skyfence-verify ARGS...`: exit status, stdout, stderr.
fn standalone(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_skyfence-verify"))
        .args(args)
        .output()
        .expect("run skyfence-verify");
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
        String::from_utf8(out.stderr).expect("UTF-8 errors"),
    )
}

/// A dossier of the fixture's incidents in `dir/dossier`; returns it and the log's key.
fn dossier(dir: &Path) -> (PathBuf, String) {
    let (store_dir, signer, from, to) = skyfence_dossier::fixture::store(12);
    let url = StoreUrl::sqlite(store_dir.path().join("skyfence.db"));
    let mut store = skyfence_store::open(&url, StoreOptions::default()).expect("store");
    let out = dir.join("dossier");
    let req = Request {
        from,
        to,
        zones: Vec::new(),
        unauthorised_only: false,
        out: out.clone(),
    };
    let made = make(&mut *store, &signer, &[], &req, to, &mut |_| {}).expect("make");
    assert!(
        !made.manifest.incidents.is_empty(),
        "the fixture has no incident"
    );
    (out, signer.verifier_key().to_string())
}

fn last_line(s: &str) -> &str {
    s.lines().last().unwrap_or_default()
}

#[test]
fn the_standalone_verifier_verifies_a_dossier_its_bundles_and_the_legacy_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (out, key) = dossier(dir.path());
    let out_arg = out.to_str().unwrap();

    // The dossier: every check passes, with exactly the dossier crate's lines.
    let (code, stdout, stderr) = standalone(&[out_arg, "--key", &key]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        last_line(&stdout).starts_with("VERDICT: VERIFIED"),
        "{stdout}"
    );
    let lib =
        skyfence_dossier::verify::verify_dir_with(&out, std::slice::from_ref(&key), None).unwrap();
    assert_eq!(stdout, lib.lines.join("\n") + "\n");

    // One of its bundles alone (format 2): the bundle crate's lines.
    let bundle = std::fs::read_dir(out.join("incidents"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (code, stdout, stderr) = standalone(&[bundle.to_str().unwrap(), "--key", &key]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    let lib = skyfence_bundle::run::verify_file(&bundle, std::slice::from_ref(&key)).unwrap();
    assert_eq!(stdout, lib.lines.join("\n") + "\n");
    assert!(
        last_line(&stdout).starts_with("VERDICT: VERIFIED: all "),
        "{stdout}"
    );

    // A changed table: exit 1, the file named in the verdict and on stderr.
    let csv = out.join("incidents.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    std::fs::write(&csv, text.replacen(",false,", ",true,", 1)).unwrap();
    let (code, stdout, stderr) = standalone(&[out_arg, "--key", &key]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("FAIL incidents.csv:")),
        "{stdout}"
    );
    assert!(last_line(&stdout).contains("incidents.csv"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "dossier {out_arg} failed verification: incidents.csv"
        )),
        "{stderr}"
    );
    std::fs::write(&csv, text).unwrap();
    // Another key than the log's: exit 1.
    let legacy_key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/legacy/log.vkey"
    );
    let (code, stdout, _) = standalone(&[out_arg, "--key", legacy_key]);
    assert_eq!(code, Some(1), "{stdout}");

    // The legacy format-1 bundle with its pinned key; with another key it fails.
    let legacy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/legacy/bundle-v1.zip"
    );
    let (code, stdout, _) = standalone(&[legacy, "--key", legacy_key]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("VERDICT: VERIFIED"), "{stdout}");
    let (code, stdout, _) = standalone(&[legacy, "--key", &key]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("VERDICT: NOT VERIFIED"), "{stdout}");
    // The legacy format-2 bundle (raw record leaves) likewise.
    let legacy_v2 = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/legacy/bundle-v2.zip"
    );
    let legacy_v2_key = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/legacy/log-v2.vkey"
    );
    let (code, stdout, _) = standalone(&[legacy_v2, "--key", legacy_v2_key]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("VERDICT: VERIFIED"), "{stdout}");
    let (code, stdout, _) = standalone(&[legacy_v2, "--key", legacy_key]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("VERDICT: NOT VERIFIED"), "{stdout}");
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.zip");
    let (code, _, stderr) = standalone(&[missing.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.starts_with("skyfence-verify: error: "), "{stderr}");
    // A directory without a manifest is not a dossier.
    let (code, _, stderr) = standalone(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("dossier.json"), "{stderr}");
    let (code, _, stderr) = standalone(&[dir.path().to_str().unwrap(), "--store", "x.db"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("skyfence verify DIR --store"), "{stderr}");
    let (code, _, stderr) = standalone(&[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("usage: skyfence-verify"), "{stderr}");
}
