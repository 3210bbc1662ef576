//! `skyfence load` ("Performance") kept working: a small paced run against a
//! service the tool starts itself, over loopback. Only the accounting is asserted —
//! every frame written is received and every frame received is decoded, a duplicate or
//! dropped by a counted reason — never a speed (speed lives in BENCHMARKS.md).

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

#[test]
fn a_small_load_run_accounts_for_every_frame() {
    let out = Command::new(BIN)
        .args([
            "load",
            "--targets",
            "300",
            "--rate",
            "3000",
            "--duration",
            "4",
            "--warmup",
            "1",
            "--json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "skyfence load failed: {stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let written = r["feed"]["frames"].as_f64().unwrap();
    let s = &r["service"];
    assert!(written > 0.0, "{r}");
    assert_eq!(r["feed"]["error"], Value::Null, "{r}");
    assert_eq!(s["received"].as_f64(), Some(written), "{r}");
    assert_eq!(s["lost_in_transit"].as_f64(), Some(0.0), "{r}");
    assert_eq!(s["unaccounted"].as_f64(), Some(0.0), "{r}");
    // Seven receivers hear most frames more than once (sim::builtin::scale).
    assert!(s["duplicates"].as_f64().unwrap() > 0.0, "{r}");
    let decoded = s["messages"].as_f64().unwrap();
    assert!(decoded > 0.0 && decoded < written, "{r}");
    assert!(s["tracks_max"].as_f64().unwrap() > 0.0, "{r}");
    assert!(s["rss_max_bytes"].as_u64().unwrap() > 0, "{r}");
    assert!(s["hwm_bytes"].as_u64().unwrap() > 0, "{r}");
    assert_eq!(r["sse"]["confirmed_unmatched"].as_u64(), Some(0), "{r}");
    // The store's WAL was measured and stayed under its limit (StoreOptions::wal_limit_bytes).
    let wal = s["wal_max_bytes"].as_u64().expect("the WAL was measured");
    assert!(
        wal <= skyfence_store::DEFAULT_WAL_LIMIT_BYTES,
        "WAL reached {wal} bytes: {r}"
    );
}
