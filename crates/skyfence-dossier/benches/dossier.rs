//! Dossier throughput: `make` over a store of N incidents, bundles included.
//!
//! The store is filled the way the service fills it: the zone (Pakistan's built-in
//! border) and configuration leaves first, then per incident its confirmed and closed
//! events with the raw Mode S frames of its target, stored with `apply` (which appends
//! the evidence leaves). The frames are real: the `scale` simulator scenario's
//! transmissions, one simulated aircraft per incident, so each bundle re-decodes and
//! re-runs detection on a real track as `export` does.
//!
//! `dossier/make/10` is the criterion measurement; after it, one measured run of 1 000
//! incidents prints its wall time and the process's peak resident memory (BENCHMARKS.md).
//! `SKYFENCE_DOSSIER_BENCH_N` changes the measured run's size.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use skyfence_core::detect::{
    Classification, Event, Fix, Incident, IncidentId, IncidentStatus, TargetInfo,
};
use skyfence_core::{GeoPoint, Icao24, RawFrame, TargetId, Timestamp};
use skyfence_dossier::{Request, make};
use skyfence_evidence::{DatasetContent, DatasetKind, EvidenceLeaf, Signer};
use skyfence_store::{FrameRecord, StoreBatch, StoreOptions, StoreUrl};

/// Simulated seconds per aircraft: about 6 frames a second, 1 800 per incident.
const SECONDS: f64 = 300.0;

/// The frames of `n` simulated aircraft, by address (DF11/17/18, whose address is plain).
fn frames(n: usize) -> BTreeMap<u32, Vec<(Timestamp, [u8; 14], u8)>> {
    let scenario = skyfence_sim::builtin::scale(n, SECONDS, 7).expect("scale scenario");
    let mut sim = skyfence_sim::Simulator::new(&scenario, 7);
    let mut by_addr: BTreeMap<u32, Vec<(Timestamp, [u8; 14], u8)>> = BTreeMap::new();
    let mut batch = Vec::new();
    loop {
        let more = sim.step(&mut batch).expect("simulate");
        for r in batch.drain(..) {
            // One receiver only, so a frame is not stored twice.
            if r.receiver != 0 {
                continue;
            }
            let df = r.bytes[0] >> 3;
            if !matches!(df, 11 | 17 | 18) {
                continue;
            }
            let addr = u32::from_be_bytes([0, r.bytes[1], r.bytes[2], r.bytes[3]]);
            by_addr
                .entry(addr)
                .or_default()
                .push((r.at, r.bytes, r.len));
        }
        if !more {
            break;
        }
    }
    by_addr
}

/// A store of `n` incidents in zone PK; returns its directory, the signer and the period.
fn store(n: usize) -> (tempfile::TempDir, Signer, Timestamp, Timestamp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("skyfence.db");
    let mut store =
        skyfence_store::open(&StoreUrl::sqlite(path), StoreOptions::default()).expect("store");
    let zone = skyfence_sim::borders::country("PK").expect("PK border");
    let provenance =
        skyfence_evidence::hash_from_hex(&zone.provenance.sha256).expect("provenance hash");
    let t0 = Timestamp::from_secs(1_700_000_000);
    store
        .append_evidence(&EvidenceLeaf::DatasetLoaded {
            kind: DatasetKind::Zones,
            name: zone.name.clone(),
            loaded_at_us: t0.as_micros(),
            provenance_sha256: provenance,
            content: DatasetContent::Bytes(skyfence_core::airspace::zone_geojson(&zone)),
        })
        .expect("zone leaf");
    store
        .append_evidence(&EvidenceLeaf::ConfigChanged {
            at_us: t0.as_micros(),
            source: "bench".into(),
            config:
                b"[detection]\nconfirm_s = 5.0\ntrack_timeout_s = 60.0\nmax_speed_mps = 1000.0\n"
                    .to_vec(),
        })
        .expect("config leaf");
    let source: Arc<str> = Arc::from("rx-bench");
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for (addr, frames) in frames(n).into_iter().take(n) {
        let (Some(start), Some(end)) = (frames.first(), frames.last()) else {
            continue;
        };
        let target = TargetId::Icao(Icao24::from_u32_masked(addr));
        let entered_at = start.0;
        let incident = Incident {
            id: IncidentId::derive(target, &zone.name, entered_at),
            zone: zone.name.clone(),
            target: TargetInfo {
                id: target,
                callsign: None,
                category: None,
            },
            classification: Classification::Unknown,
            authorised: false,
            permit: None,
            status: IncidentStatus::Open,
            entry_observed: false,
            entered_at,
            exited_at: None,
            last_seen_at: end.0,
            entry: Fix::new(GeoPoint::new(33.0, 70.0), None),
            exit: None,
            duration_s: end.0.secs_since(entered_at),
            max_depth_m: 0.0,
            max_alt_ft: None,
            reports: frames.len() as u32,
            cooperative: None,
            sensors: Vec::new(),
            operator: None,
            remoteid: None,
        };
        let mut closed = incident.clone();
        closed.status = IncidentStatus::Closed;
        closed.exited_at = Some(end.0);
        closed.exit = Some(Fix::new(GeoPoint::new(33.1, 70.1), None));
        first = first.min(entered_at.as_micros());
        last = last.max(end.0.as_micros());
        let batch = StoreBatch {
            events: vec![
                Event::Confirmed {
                    at: entered_at,
                    incident,
                },
                Event::Closed {
                    at: end.0,
                    incident: closed,
                },
            ],
            snapshots: Vec::new(),
            positions: Vec::new(),
            frames: frames
                .iter()
                .map(|(at, bytes, len)| FrameRecord {
                    target,
                    at: *at,
                    source: source.clone(),
                    record: RawFrame {
                        bytes: *bytes,
                        len: *len,
                        signal: Some(0x80),
                        mlat: false,
                    }
                    .into(),
                })
                .collect(),
        };
        store.apply(&batch).expect("apply");
    }
    let signer = Signer::generate("skyfence.bench/dossier").expect("signer");
    (
        dir,
        signer,
        Timestamp::from_micros(first),
        Timestamp::from_micros(last + 1),
    )
}

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
