//! The evidence log in the SQLite store: a failed append stores none of the batch, zone
//! content round trips. What every backend promises about the log (leaves appended with
//! the rows they prove, idempotence, several writers, retention, datasets, checkpoints,
//! cosignatures, the RFC 6962 tree) is in the conformance suite (tests/conformance.rs).

mod common;

use std::sync::Arc;

use common::*;
use skyfence_core::airspace::builtin;
use skyfence_core::airspace::load::parse_geojson;
use skyfence_store::conformance::recomputed_root;
use skyfence_store::{
    EvidenceLogStore, IncidentStore, SqliteStore, StoreBatch, zone_from_geojson, zone_geojson,
};

/// A closed incident (A, 4840d6) and an open one (B, 484fde), frames of both.
fn scenario() -> (
    StoreBatch,
    skyfence_core::detect::Incident,
    skyfence_core::detect::Incident,
) {
    let a_open = open_incident(0x4840d6, "HELD-A", 0);
    let a = closed(&a_open, 30);
    let b = open_incident(0x484fde, "AF", 20);
    let kabul: Arc<str> = Arc::from("kabul-1");
    let batch = StoreBatch {
        events: vec![
            approach(0x4840d6, "HELD-A", -5),
            confirmed(&a_open),
            confirmed(&b),
            closed_event(&a),
        ],
        snapshots: vec![],
        positions: vec![position(0x4840d6, 1), position(0x484fde, 21)],
        frames: vec![
            frame(0x4840d6, 1, 0, &kabul),
            frame(0x4840d6, 1, 0, &Arc::from("herat-2")),
            frame(0x4840d6, 2, 500, &kabul),
            short_frame(0x484fde, 21, &kabul),
        ],
    };
    (batch, a, b)
}

/// A zone with a hole, floor, ceiling and buffer (docs/INTERFACES.md "Zones" properties).
const HELD_A: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
 "properties":{"name":"HELD-A","floor_ft":1000,"ceiling_ft":45000,"buffer_m":2500.5},
 "geometry":{"type":"Polygon","coordinates":[
   [[69.8,33.2],[69.95,33.2],[69.95,33.3],[69.8,33.3],[69.8,33.2]],
   [[69.85,33.23],[69.87,33.23],[69.87,33.25],[69.85,33.23]]]}}]}"#;

#[test]
fn zone_content_rebuilds_the_same_zone() {
    let file_zone = parse_geojson("held.geojson", HELD_A).unwrap().remove(0);
    let afghanistan = builtin::load_country("AF").unwrap();
    for zone in [file_zone, afghanistan] {
        let content = zone_geojson(&zone);
        // Deterministic: a restart recognises the same zone.
        assert_eq!(content, zone_geojson(&zone));
        let back = zone_from_geojson(&content).unwrap();
        assert_eq!(back, zone, "zone {}", zone.name);
        // The plain zone loader reads it too, with the same geometry and hash.
        let text = std::str::from_utf8(&content).unwrap();
        let plain = parse_geojson("leaf", text).unwrap().remove(0);
        assert_eq!(plain.shape, zone.shape);
        assert_eq!(plain.provenance.sha256, zone.provenance.sha256);
        assert_eq!(
            (plain.floor_ft, plain.ceiling_ft, plain.buffer_m),
            (zone.floor_ft, zone.ceiling_ft, zone.buffer_m)
        );
    }
    assert!(zone_from_geojson(b"{\"type\":\"FeatureCollection\",\"features\":[]}").is_err());
    assert!(zone_from_geojson(b"\xff").is_err());
}

#[test]
fn a_failed_append_stores_none_of_the_batch() {
    let (_dir, path) = temp();
    let (batch, a, _) = scenario();
    let mut store = SqliteStore::open(&path).unwrap();
    // A stray node where the second leaf's parent goes: the second append fails.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute(
        "INSERT INTO merkle_nodes (level, idx, hash) VALUES (1, 0, zeroblob(32))",
        [],
    )
    .unwrap();
    let err = store.apply(&batch).unwrap_err().to_string();
    assert!(err.contains("append evidence leaf"), "{err}");
    // Nothing of the batch was stored: no event, no incident, no frame, no leaf.
    assert_eq!(store.last_seq().unwrap(), 0);
    assert!(store.incident(a.id).unwrap().is_none());
    assert_eq!(store.evidence_size().unwrap(), 0);
    assert!(store.evidence_leaves(0, 10).unwrap().is_empty());
    // Once the damage is gone the same batch goes in whole.
    raw.execute_batch(
        "DROP TRIGGER merkle_nodes_no_delete; DELETE FROM merkle_nodes WHERE level = 1;",
    )
    .unwrap();
    store.apply(&batch).unwrap();
    assert_eq!(store.evidence_size().unwrap(), 7);
    assert_eq!(store.incident_frames(a.id).unwrap().unwrap().len(), 3);
    assert_eq!(store.evidence_root(7).unwrap(), recomputed_root(&store));
}
