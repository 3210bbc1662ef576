//! A store of real incidents to make dossiers from (feature `fixture`): for the bench and
//! the standalone verifier's tests.
//!
//! The store is filled the way the service fills it: the zone (Pakistan's built-in
//! border) and configuration leaves first, then per incident its confirmed and closed
//! events with the raw Mode S frames of its target, stored with `apply` (which appends
//! the evidence leaves). The frames are real: the `scale` simulator scenario's
//! transmissions of `n` simulated aircraft, and their incidents are what the detector
//! finds in those frames (an aircraft that never enters PK has none), so each bundle
//! re-decodes and re-runs detection on a real track as `export` does, and verifies.

use std::collections::BTreeMap;
use std::sync::Arc;

use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::detect::{DetectionConfig, Detector, Event};
use skyfence_core::{Icao24, RawFrame, SourceId, TargetId, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::codec::Item;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested, Lanes};
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

fn raw(bytes: &[u8; 14], len: u8) -> RawFrame {
    RawFrame {
        bytes: *bytes,
        len,
        signal: Some(0x80),
        mlat: false,
    }
}

/// A store of the incidents in zone PK of `n` simulated aircraft (those that enter it); returns its directory (the store is
/// `skyfence.db` in it), the log's signer and the period that holds every incident.
pub fn store(n: usize) -> (tempfile::TempDir, Signer, Timestamp, Timestamp) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (signer, from, to, _) = store_at(&dir.path().join("skyfence.db"), n, usize::MAX);
    (dir, signer, from, to)
}

/// Like [`store`], into the SQLite file `path` (which must not exist), keeping at most
/// `max_incidents` aircraft with incidents (the first by address); returns the log's
/// signer, the period that holds every incident and the number of incidents stored.
pub fn store_at(
    path: &std::path::Path,
    n: usize,
    max_incidents: usize,
) -> (Signer, Timestamp, Timestamp, usize) {
    let mut store = skyfence_store::open(
        &StoreUrl::sqlite(path.to_path_buf()),
        StoreOptions::default(),
    )
    .expect("store");
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
    let config = DetectionConfig {
        confirm_s: 5.0,
        track_timeout_s: 60.0,
        max_speed_mps: 1000.0,
    };
    let mut incidents = 0;
    for (addr, frames) in frames(n).into_iter().take(n) {
        if incidents >= max_incidents {
            break;
        }
        // The aircraft's incidents as the service's detector finds them in its frames
        // (so every bundle re-detects to the same incident and verifies).
        let mut ingest = Ingest::new(IngestConfig {
            lanes: Lanes::PerSource,
            ..IngestConfig::default()
        });
        let mut detector =
            Detector::new(AirspaceIndex::new(vec![zone.clone()]), config, Vec::new());
        let mut events = Vec::new();
        for (at, bytes, len) in &frames {
            let item = Item::Frame(Frame {
                at: *at,
                counter: None,
                raw: raw(bytes, *len),
            });
            if let Ingested::Accepted(obs) = ingest.observe(SourceId(0), &item) {
                detector.observe(&obs, &mut events);
            }
        }
        let Some(end) = frames.last() else {
            continue;
        };
        detector.tick(end.0.add_micros(120_000_000), &mut events);
        if !events.iter().any(|e| matches!(e, Event::Confirmed { .. })) {
            continue;
        }
        incidents += events
            .iter()
            .filter(|e| matches!(e, Event::Confirmed { .. }))
            .count();
        for e in &events {
            if let Some(i) = e.incident() {
                first = first.min(i.entered_at.as_micros());
                last = last.max(i.last_seen_at.as_micros());
            }
        }
        let target = TargetId::Icao(Icao24::from_u32_masked(addr));
        let batch = StoreBatch {
            events,
            snapshots: Vec::new(),
            positions: Vec::new(),
            frames: frames
                .iter()
                .map(|(at, bytes, len)| FrameRecord {
                    target,
                    at: *at,
                    source: source.clone(),
                    record: raw(bytes, *len).into(),
                })
                .collect(),
        };
        store.apply(&batch).expect("apply");
    }
    let signer = Signer::generate("skyfence.bench/dossier").expect("signer");
    (
        signer,
        Timestamp::from_micros(first),
        Timestamp::from_micros(last + 1),
        incidents,
    )
}
