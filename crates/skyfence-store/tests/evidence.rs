//! The evidence log in the store: leaves appended in the same transaction as
//! the rows they prove, idempotence, several writing connections, retention, dataset
//! de-duplication, zone content round trips, checkpoints and cosignatures.

mod common;

use std::sync::Arc;

use common::*;
use skyfence_core::airspace::builtin;
use skyfence_core::airspace::load::parse_geojson;
use skyfence_evidence::{
    Checkpoint, DatasetContent, DatasetKind, EvidenceLeaf, Signer, Witness, leaf_hash,
    open_checkpoint, root_from_leaf_hashes, verify_consistency, verify_inclusion,
};
use skyfence_store::{
    IncidentStore, SqliteStore, StoreBatch, StoreOptions, zone_from_geojson, zone_geojson,
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

/// Every leaf's bytes, checked to hash to the stored level-0 node, and the root over them.
fn recomputed_root(store: &SqliteStore) -> [u8; 32] {
    let size = store.evidence_size().unwrap();
    let leaves = store.evidence_leaves(0, size).unwrap();
    assert_eq!(leaves.len() as u64, size, "every leaf has its bytes");
    let hashes: Vec<[u8; 32]> = leaves
        .iter()
        .enumerate()
        .map(|(i, (idx, bytes))| {
            assert_eq!(*idx, i as u64, "indexes are contiguous");
            EvidenceLeaf::decode(bytes).expect("leaf decodes");
            leaf_hash(bytes)
        })
        .collect();
    let stored: Vec<[u8; 32]> = store
        .evidence_leaf_hashes(0, size)
        .unwrap()
        .into_iter()
        .map(|(_, h)| h)
        .collect();
    assert_eq!(hashes, stored);
    root_from_leaf_hashes(&hashes)
}

#[test]
fn apply_logs_new_frames_and_incident_changes_once() {
    let (_dir, path) = temp();
    let (batch, a, b) = scenario();
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.evidence_size().unwrap(), 0);
    store.apply(&batch).unwrap();
    // Three incident events (the approach is not logged) and four frame rows.
    assert_eq!(store.evidence_size().unwrap(), 7);
    let root = store.evidence_root(7).unwrap();
    assert_eq!(root, recomputed_root(&store));

    // Events first, in batch order, then frames: confirmed A, confirmed B, closed A.
    let leaves: Vec<EvidenceLeaf> = store
        .evidence_leaves(0, 7)
        .unwrap()
        .iter()
        .map(|(_, b)| EvidenceLeaf::decode(b).unwrap())
        .collect();
    let EvidenceLeaf::IncidentStateChanged {
        incident_id,
        event,
        incident_json,
        at_us,
    } = &leaves[2]
    else {
        panic!("leaf 2 is {:?}", leaves[2]);
    };
    assert_eq!(*incident_id, a.id.0);
    assert_eq!(event, "closed");
    assert_eq!(*at_us, ts(30).as_micros());
    assert_eq!(incident_json, &serde_json::to_string(&a).unwrap());
    assert_eq!(
        leaves[3],
        EvidenceLeaf::RawFrame {
            sensor: "kabul-1".into(),
            received_at_us: ts(1).as_micros(),
            signal: Some(0x8c),
            mlat: false,
            frame: KLM1023_IDENT.to_vec(),
        }
    );
    assert_eq!(
        leaves[6],
        EvidenceLeaf::RawFrame {
            sensor: "kabul-1".into(),
            received_at_us: ts(21).as_micros(),
            signal: None,
            mlat: true,
            frame: ALL_CALL_484FDE.to_vec(),
        }
    );

    // Re-applying stores no row, so it appends no leaf.
    store.apply(&batch).unwrap();
    assert_eq!(store.evidence_size().unwrap(), 7);
    assert_eq!(store.evidence_root(7).unwrap(), root);

    // An incident's evidence: its frames in its window and its state changes, by index.
    let ev_a: Vec<u64> = store
        .incident_evidence(a.id)
        .unwrap()
        .unwrap()
        .iter()
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(ev_a, vec![0, 2, 3, 4, 5]);
    let ack = store
        .acknowledge(b.id, ts(40), "duty officer", "tracking")
        .unwrap();
    assert!(ack.is_some());
    assert_eq!(store.evidence_size().unwrap(), 8);
    let ev_b = store.incident_evidence(b.id).unwrap().unwrap();
    assert_eq!(ev_b.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 6, 7]);
    assert_eq!(
        EvidenceLeaf::decode(&ev_b[2].1).unwrap(),
        EvidenceLeaf::OperatorAck {
            incident_id: b.id.0,
            operator: "duty officer".into(),
            note: "tracking".into(),
            at_us: ts(40).as_micros(),
        }
    );
    // Each included in the tree the size says, by the stored proof.
    let root8 = store.evidence_root(8).unwrap();
    for (i, bytes) in &ev_b {
        let proof = store.inclusion_proof(*i, 8).unwrap();
        verify_inclusion(&leaf_hash(bytes), *i, 8, &proof, &root8).unwrap();
    }
    let proof = store.consistency_proof(7, 8).unwrap();
    verify_consistency(7, 8, &root, &root8, &proof).unwrap();
    // An unknown incident or acknowledgement logs nothing.
    let unknown = open_incident(0x000099, "AF", 0).id;
    assert!(store.incident_evidence(unknown).unwrap().is_none());
    assert!(
        store
            .acknowledge(unknown, ts(1), "x", "y")
            .unwrap()
            .is_none()
    );
    assert_eq!(store.evidence_size().unwrap(), 8);
}

#[test]
fn several_connections_append_without_sharing_an_index() {
    let (_dir, path) = temp();
    let (batch, _a, b) = scenario();
    SqliteStore::open(&path).unwrap().apply(&batch).unwrap();
    let threads: Vec<_> = (0..3)
        .map(|t| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut store = SqliteStore::open(&path).unwrap();
                for i in 0..40 {
                    if t == 0 {
                        store
                            .acknowledge(b.id, ts(100 + i), "officer", &format!("ack {i}"))
                            .unwrap();
                    } else {
                        let leaf = EvidenceLeaf::ConfigChanged {
                            at_us: i,
                            source: format!("writer {t}"),
                            config: format!("{t}/{i}").into_bytes(),
                        };
                        store.append_evidence(&leaf).unwrap();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.evidence_size().unwrap(), 7 + 120);
    let root = store.evidence_root(127).unwrap();
    assert_eq!(root, recomputed_root(&store));
    let acks = store.incident_evidence(b.id).unwrap().unwrap();
    assert_eq!(acks.len(), 2 + 40);
}

#[test]
fn retention_clears_purged_leaves_and_the_tree_still_verifies() {
    let (_dir, path) = temp();
    let options = StoreOptions {
        pre_entry: std::time::Duration::from_secs(60),
        ..StoreOptions::default()
    };
    let mut store = SqliteStore::open_with(&path, options).unwrap();
    let src: Arc<str> = Arc::from("kabul-1");
    let old = closed(&open_incident(0x000001, "AF", 0), 100);
    let open = open_incident(0x000002, "AF", 0);
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&old), closed_event(&old), confirmed(&open)],
            frames: vec![frame(1, 50, 0, &src), frame(2, 50, 0, &src)],
            ..StoreBatch::default()
        })
        .unwrap();
    store
        .acknowledge(old.id, ts(200), "officer", "seen")
        .unwrap();
    let size = store.evidence_size().unwrap();
    assert_eq!(size, 6);
    let root = store.evidence_root(size).unwrap();
    let before = store.evidence_leaf_hashes(0, size).unwrap();

    store.purge_older_than(ts(1000)).unwrap();
    assert_eq!(store.evidence_size().unwrap(), size);
    assert_eq!(store.evidence_root(size).unwrap(), root);
    assert_eq!(store.evidence_leaf_hashes(0, size).unwrap(), before);
    // Left: the open incident's confirmation and its target's frame.
    let kept: Vec<u64> = store
        .evidence_leaves(0, size)
        .unwrap()
        .iter()
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(kept, vec![2, 4]);
    let rows = store.evidence_leaf_rows(0, size).unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(rows.iter().filter(|r| r.bytes.is_none()).count(), 4);
    // The tree still grows from where it was.
    store
        .acknowledge(open.id, ts(2000), "officer", "x")
        .unwrap();
    let proof = store.consistency_proof(size, size + 1).unwrap();
    verify_consistency(
        size,
        size + 1,
        &root,
        &store.evidence_root(size + 1).unwrap(),
        &proof,
    )
    .unwrap();
}

#[test]
fn dataset_and_config_leaves_are_appended_only_when_they_change() {
    let (_dir, path) = temp();
    let mut store = SqliteStore::open(&path).unwrap();
    let zone = |content: &str, at: i64| EvidenceLeaf::DatasetLoaded {
        kind: DatasetKind::Zones,
        name: "HELD-A".into(),
        loaded_at_us: at,
        provenance_sha256: [7; 32],
        content: DatasetContent::Bytes(content.as_bytes().to_vec()),
    };
    let config = |text: &str, at: i64| EvidenceLeaf::ConfigChanged {
        at_us: at,
        source: "skyfence.toml".into(),
        config: text.as_bytes().to_vec(),
    };
    assert_eq!(store.append_if_changed(&zone("v1", 1)).unwrap(), Some(0));
    assert_eq!(
        store.append_if_changed(&config("a = 1", 1)).unwrap(),
        Some(1)
    );
    // A restart: same content at a later time.
    assert_eq!(store.append_if_changed(&zone("v1", 2)).unwrap(), None);
    assert_eq!(store.append_if_changed(&config("a = 1", 2)).unwrap(), None);
    assert_eq!(store.append_if_changed(&zone("v2", 3)).unwrap(), Some(2));
    assert_eq!(
        store.append_if_changed(&config("a = 2", 3)).unwrap(),
        Some(3)
    );
    // Another name is another dataset.
    let mut other = zone("v1", 4);
    if let EvidenceLeaf::DatasetLoaded { name, .. } = &mut other {
        *name = "HELD-B".into();
    }
    assert_eq!(store.append_if_changed(&other).unwrap(), Some(4));
    // Not a dataset leaf: refused.
    assert!(
        store
            .append_if_changed(&EvidenceLeaf::OperatorAck {
                incident_id: [0; 8],
                operator: String::new(),
                note: String::new(),
                at_us: 0,
            })
            .is_err()
    );

    // What was in force at each size.
    let at = |size| {
        store
            .dataset_leaf(DatasetKind::Zones, "HELD-A", size)
            .unwrap()
            .map(|(i, _)| i)
    };
    assert_eq!(
        (at(0), at(1), at(2), at(3), at(5)),
        (None, Some(0), Some(0), Some(2), Some(2))
    );
    assert_eq!(store.config_leaf(2).unwrap().map(|(i, _)| i), Some(1));
    assert_eq!(store.config_leaf(5).unwrap().map(|(i, _)| i), Some(3));
    assert_eq!(store.config_leaf(1).unwrap(), None);
    assert_eq!(
        store.dataset_names(DatasetKind::Zones, 5).unwrap(),
        ["HELD-A", "HELD-B"]
    );
    assert!(
        store
            .dataset_leaf(DatasetKind::Permits, "HELD-A", 5)
            .unwrap()
            .is_none()
    );
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
fn checkpoints_keep_their_note_and_gather_cosignatures() {
    let (_dir, path) = temp();
    let (batch, _, _) = scenario();
    let mut store = SqliteStore::open(&path).unwrap();
    store.apply(&batch).unwrap();
    let origin = "skyfence.example/test";
    let log = Signer::from_seed(origin, [5; 32]).unwrap();
    let cp = Checkpoint::new(origin, 7, store.evidence_root(7).unwrap()).unwrap();
    let note = cp.sign(&log).unwrap();
    assert!(
        store.add_checkpoint(8, ts(0), &note).is_err(),
        "beyond the log"
    );
    store.add_checkpoint(7, ts(50), &note).unwrap();
    store.add_checkpoint(7, ts(60), &note).unwrap(); // again: kept once
    assert_eq!(store.checkpoints().unwrap().len(), 1);

    let mut witness = Witness::new(Signer::from_seed("witness.example/w", [6; 32]).unwrap());
    witness.add_log(origin, log.verifier_key());
    let cosigned = witness.cosign(note.as_bytes(), &[], 1_700_000_000).unwrap();
    assert_eq!(store.add_cosignature(7, &cosigned.note).unwrap(), 1);
    assert_eq!(store.add_cosignature(7, &cosigned.note).unwrap(), 0);
    // A note over another text is refused.
    let other = Checkpoint::new(origin, 7, [0; 32])
        .unwrap()
        .sign(&log)
        .unwrap();
    assert!(store.add_cosignature(7, &other).is_err());
    assert!(store.add_cosignature(3, &cosigned.note).is_err());

    let latest = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(
        (latest.size, latest.at, latest.cosignatures),
        (7, ts(50), 1)
    );
    assert_eq!(latest.note, cosigned.note);
    let opened = open_checkpoint(
        latest.note.as_bytes(),
        &log.verifier_key(),
        &[witness.verifier_key()],
    )
    .unwrap();
    assert_eq!(opened.cosignatures.len(), 1);
    assert_eq!(opened.checkpoint.root, store.evidence_root(7).unwrap());
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

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

    /// However appends are split into transactions and connections, the stored tree is
    /// the RFC 6962 tree of the leaves in order, at every size.
    #[test]
    fn any_split_into_transactions_gives_the_rfc6962_tree(
        batches in proptest::collection::vec((0usize..2, 0usize..12), 1..8),
    ) {
        let (_dir, path) = temp();
        let mut stores = [SqliteStore::open(&path).unwrap(), SqliteStore::open(&path).unwrap()];
        let mut hashes = Vec::new();
        for (conn, n) in batches {
            for _ in 0..n {
                let leaf = EvidenceLeaf::ConfigChanged {
                    at_us: hashes.len() as i64,
                    source: format!("connection {conn}"),
                    config: vec![hashes.len() as u8],
                };
                let index = stores[conn].append_evidence(&leaf).unwrap();
                proptest::prop_assert_eq!(index, hashes.len() as u64);
                hashes.push(leaf_hash(&leaf.encode().unwrap()));
            }
        }
        let store = &stores[0];
        proptest::prop_assert_eq!(store.evidence_size().unwrap(), hashes.len() as u64);
        for size in 0..=hashes.len() {
            proptest::prop_assert_eq!(
                store.evidence_root(size as u64).unwrap(),
                root_from_leaf_hashes(&hashes[..size])
            );
        }
    }
}
