//! Store throughput: one `apply` of a runtime-sized batch, and the API's queries.
//!
//! The service ingests up to 100k frames/s but stores only the frames of targets with
//! incidents, in batches every ~100 ms: `frames_1000` is such a batch when 10 % of all
//! traffic belongs to targets with incidents (1000 frames, 100 positions, 2 events), and
//! `frames_10000` one where all of it does. Elements are frames, so the reported rate is
//! frames stored per second, to compare with the ingest rate; a batch's time is to be
//! compared with its 100 ms period. Each batch has new keys
//! (later times), so every iteration really inserts.
//!
//! The same batches go to both backends in the same run: SQLite (`apply/sqlite_…`) and
//! PostgreSQL with PostGIS (`apply/postgres_…`, a real local server started by
//! `skyfence_testkit::postgres` on loopback with `fsync` off, so `full` measures
//! PostgreSQL's commit path without the disk's flush; SQLite's `full` does flush). Without
//! the server the PostgreSQL peer is skipped with a message.

use std::cell::Cell;
use std::sync::Arc;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use skyfence_core::detect::{
    Classification, Event, Fix, Incident, IncidentId, IncidentStatus, TargetInfo,
};
use skyfence_core::{GeoPoint, Icao24, RawFrame, TargetId, Timestamp};
use skyfence_store::pg::PgStore;
use skyfence_store::{
    Durability, FrameRecord, IncidentFilter, IncidentStore, PositionRecord, SqliteStore, Store,
    StoreBatch, StoreOptions, TrackPoint,
};

/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000_000_000;

/// `8D4840D6202CC371C32CE0576098`, "The 1090 MHz Riddle" (KLM1023 identification).
const FRAME: [u8; 14] = [
    0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
];

fn target(k: u32) -> TargetId {
    TargetId::Icao(Icao24::from_u32_masked(0x700000 + k))
}

fn incident(k: u32, entered_at: Timestamp, status: IncidentStatus) -> Incident {
    let t = target(k);
    Incident {
        id: IncidentId::derive(t, "AF", entered_at),
        zone: "AF".into(),
        target: TargetInfo {
            id: t,
            callsign: None,
            category: None,
        },
        classification: Classification::Unknown,
        authorised: false,
        permit: None,
        status,
        entry_observed: true,
        entered_at,
        exited_at: None,
        last_seen_at: entered_at,
        entry: Fix::new(GeoPoint::new(33.0, 69.0), Some(30000)),
        exit: None,
        duration_s: 0.0,
        max_depth_m: 0.0,
        max_alt_ft: Some(30000),
        reports: 2,
        cooperative: None,
        sensors: Vec::new(),
        operator: None,
        remoteid: None,
        verification: None,
    }
}

/// Batch number `n` (100 ms of data): `frames` frames spread over 100 targets, one
/// position per target, two `confirmed` events.
fn batch(n: u64, frames: usize, source: &Arc<str>) -> StoreBatch {
    let base = T0 + n as i64 * 100_000;
    let targets = 100;
    StoreBatch {
        events: (0..2)
            .map(|k| {
                let i = incident(
                    (n * 2 + k) as u32,
                    Timestamp::from_micros(base),
                    IncidentStatus::Open,
                );
                Event::Confirmed {
                    at: i.entered_at,
                    incident: i,
                }
            })
            .collect(),
        snapshots: Vec::new(),
        positions: (0..targets)
            .map(|k| PositionRecord {
                target: target(k),
                point: TrackPoint {
                    at: Timestamp::from_micros(base + k as i64),
                    lat: 33.0 + k as f64 * 1e-3,
                    lon: 69.0,
                    alt_ft: Some(30000),
                },
            })
            .collect(),
        frames: (0..frames)
            .map(|f| FrameRecord {
                target: target(f as u32 % targets),
                at: Timestamp::from_micros(base + f as i64),
                source: source.clone(),
                record: RawFrame {
                    bytes: FRAME,
                    len: 14,
                    signal: Some(0x80),
                    mlat: false,
                }
                .into(),
            })
            .collect(),
    }
}

fn bench_apply(c: &mut Criterion) {
    let source: Arc<str> = Arc::from("kabul-1");
    let mut g = c.benchmark_group("apply");
    let pg = skyfence_testkit::postgres::server()
        .map_err(|why| eprintln!("skipping the PostgreSQL peer: {why}"))
        .ok();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut k = 0;
    for backend in ["sqlite", "postgres"] {
        for (name, durability) in [("full", Durability::Full), ("normal", Durability::Normal)] {
            for frames in [1000usize, 10_000] {
                let options = StoreOptions {
                    durability,
                    ..StoreOptions::default()
                };
                k += 1;
                let mut store: Box<dyn Store> = match (backend, pg) {
                    ("sqlite", _) => Box::new(
                        SqliteStore::open_with(dir.path().join(format!("bench{k}.db")), options)
                            .expect("open store"),
                    ),
                    (_, Some(pg)) => {
                        let url = pg.schema_url(&format!("bench{k}")).expect("schema");
                        Box::new(PgStore::open_with(&url, options).expect("open store"))
                    }
                    (_, None) => continue,
                };
                let n = Cell::new(0u64);
                g.throughput(Throughput::Elements(frames as u64));
                g.bench_function(format!("{backend}_frames_{frames}_sync_{name}"), |b| {
                    b.iter_batched(
                        || {
                            n.set(n.get() + 1);
                            batch(n.get(), frames, &source)
                        },
                        |batch| store.apply(&batch).expect("apply"),
                        BatchSize::SmallInput,
                    )
                });
            }
        }
    }
    g.finish();
}

fn bench_queries(c: &mut Criterion) {
    let source: Arc<str> = Arc::from("kabul-1");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = SqliteStore::open_with(
        dir.path().join("bench.db"),
        StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )
    .expect("open store");
    // 5000 batches: 10 000 incidents, 500 000 positions, 500 000 frames.
    for n in 0..5000 {
        store.apply(&batch(n, 100, &source)).expect("apply");
    }
    let mut g = c.benchmark_group("query");
    g.bench_function("incidents_newest_100_of_10000", |b| {
        let f = IncidentFilter {
            limit: Some(100),
            ..IncidentFilter::default()
        };
        b.iter(|| store.incidents(&f).expect("query"))
    });
    g.bench_function("incidents_zone_since_of_10000", |b| {
        let f = IncidentFilter {
            zone: Some("AF".into()),
            since: Some(Timestamp::from_micros(T0 + 4990 * 100_000)),
            ..IncidentFilter::default()
        };
        b.iter(|| store.incidents(&f).expect("query"))
    });
    let id = incident(
        4000,
        Timestamp::from_micros(T0 + 2000 * 100_000),
        IncidentStatus::Open,
    )
    .id;
    g.bench_function("incident_with_track", |b| {
        b.iter(|| store.incident(id).expect("query"))
    });
    g.bench_function("events_since_1000_of_10000", |b| {
        b.iter(|| store.events_since(9000, 1000).expect("query"))
    });
    g.finish();
}

criterion_group!(benches, bench_apply, bench_queries);
criterion_main!(benches);
