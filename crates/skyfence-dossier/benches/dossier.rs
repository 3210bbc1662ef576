//! Dossier throughput: `make` over a store of the incidents of N simulated aircraft,
//! bundles included.
//!
//! The store is `skyfence_dossier::fixture::store`: filled the way the service fills it,
//! with the real Mode S frames of the `scale` scenario's aircraft and the incidents the
//! detector finds in them (only aircraft that enter PK give one), so each bundle
//! re-decodes and re-runs detection on a real track as `export` does.
//!
//! `dossier/make/10` is the criterion measurement (10 aircraft); after it, one measured run
//! of 1 000 aircraft prints its wall time and the process's peak resident memory (BENCHMARKS.md).
//! `SKYFENCE_DOSSIER_BENCH_N` changes the measured run's size.

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use skyfence_core::Timestamp;
use skyfence_dossier::fixture::store;
use skyfence_dossier::{Request, make};
use skyfence_evidence::Signer;
use skyfence_store::{StoreOptions, StoreUrl};

fn run(dir: &std::path::Path, signer: &Signer, from: Timestamp, to: Timestamp, out: &str) -> usize {
    let url = StoreUrl::sqlite(dir.join("skyfence.db"));
    let mut store = skyfence_store::open(&url, StoreOptions::default()).expect("store");
    let out = dir.join(out);
    let _ = std::fs::remove_dir_all(&out);
    let req = Request {
        from,
        to,
        zones: Vec::new(),
        unauthorised_only: false,
        out,
    };
    let made = make(&mut *store, signer, &[], &req, to, &mut |_| {}).expect("make");
    made.manifest.incidents.len()
}

fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn bench(c: &mut Criterion) {
    let (dir, signer, from, to) = store(10);
    let mut g = c.benchmark_group("dossier");
    g.sample_size(10);
    g.bench_function("make/10", |b| {
        b.iter(|| run(dir.path(), &signer, from, to, "out"));
    });
    g.finish();
    drop(dir);

    // One measured run of 1 000 incidents (the figure): wall time and peak RSS.
    let started = Instant::now();
    let n: usize = std::env::var("SKYFENCE_DOSSIER_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (dir, signer, from, to) = store(n);
    let filled = started.elapsed();
    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let n = run(dir.path(), &signer, from, to, "out-1000");
    let took = started.elapsed();
    let bytes: u64 = walk(&dir.path().join("out-1000"));
    eprintln!(
        "dossier of {n} incidents: {:.1} s (store filled in {:.1} s), {:.0} MB written; peak RSS {} KiB before, {} KiB after",
        took.as_secs_f64(),
        filled.as_secs_f64(),
        bytes as f64 / 1e6,
        rss_before.unwrap_or(0),
        peak_rss_kib().unwrap_or(0)
    );
}

fn walk(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        e.metadata().map_or(0, |m| m.len())
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

criterion_group!(benches, bench);
criterion_main!(benches);
