//! The conformance suite: what every store backend promises, stated once and checked
//! through the traits alone ([`Store`], [`IncidentStore`](crate::IncidentStore),
//! [`DeliveryStore`](crate::DeliveryStore), [`EvidenceLogStore`]), so a new backend
//! (PostgreSQL) passes the same cases unchanged.
//!
//! A backend's tests give a [`Backend`] (how to open a named store) to
//! [`conformance_suite!`](crate::conformance_suite), which makes one `#[test]` per case:
//!
//! ```ignore
//! skyfence_store::conformance_suite!(skyfence_store::conformance::SqliteBackend::new());
//! ```
//!
//! The crate using the macro needs `proptest` among its dev-dependencies (one case is a
//! property test). Cases panic on the first broken promise.
//!
//! Enabled by the cargo feature `conformance`; `cargo test -p skyfence-store` runs it on
//! SQLite.

pub mod fixtures;

use std::sync::Arc;

use skyfence_core::detect::{Event, Incident, IncidentStatus};
use skyfence_core::{Protocol, Signal, TargetId};
use skyfence_evidence::{
    Checkpoint, DatasetContent, DatasetKind, EvidenceLeaf, LeafSignal, Signer, Witness, leaf_hash,
    open_checkpoint, root_from_leaf_hashes, verify_consistency, verify_inclusion,
};

use crate::check::{Verdict, verify_log};
use crate::export::gather_incident;
use crate::{
    DeadLetter, EvidenceLogStore, IncidentFilter, SqliteStore, Store, StoreBatch, StoreError,
    StoreOptions, TrackPoint,
};
use fixtures::*;

/// How the suite opens stores of one backend.
pub trait Backend: Sync {
    /// Opens store `name` with `options`. The first open of a name gives an empty store;
    /// opening the same name again (after dropping every connection, or beside them)
    /// gives the same store: a restart, or another connection.
    fn open(&self, name: &str, options: StoreOptions) -> Box<dyn Store>;

    /// [`Backend::open`] with [`StoreOptions::default`].
    fn open_default(&self, name: &str) -> Box<dyn Store> {
        self.open(name, StoreOptions::default())
    }
}

/// SQLite files in a temporary directory, removed with it.
pub struct SqliteBackend {
    dir: tempfile::TempDir,
}

impl SqliteBackend {
    /// A backend over a fresh temporary directory.
    pub fn new() -> Self {
        SqliteBackend {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }
}

impl Default for SqliteBackend {
    fn default() -> Self {
        Self::new()
    }
}

impl Backend for SqliteBackend {
    fn open(&self, name: &str, options: StoreOptions) -> Box<dyn Store> {
        let path = self.dir.path().join(format!("{name}.db"));
        Box::new(SqliteStore::open_with(&path, options).expect("open sqlite store"))
    }
}

/// One `#[test]` per conformance case, each on a fresh `$backend` (an expression giving a
/// [`Backend`]). Needs `proptest` as a dev-dependency of the crate using it.
///
/// `conformance_suite!(BACKEND, if READY)` runs each case only when the expression `READY`
/// is true: for a backend on a server the test may not find (it decides, e.g. with
/// `skyfence_testkit::require_tool`, whether to skip or, in CI, to fail).
#[macro_export]
macro_rules! conformance_suite {
    ($backend:expr) => {
        $crate::conformance_suite!($backend, if true);
    };
    ($backend:expr, if $ready:expr) => {
        $crate::conformance_suite!(@cases $backend; $ready;
            incidents_round_trip_through_a_reopened_store,
            reapplying_a_batch_stores_nothing_twice,
            snapshots_follow_open_incidents_and_never_go_back,
            a_restart_resumes_each_open_incident_once_from_its_last_position,
            filters_select_and_order_newest_first,
            event_sequence_numbers_increase_without_gaps_across_restarts,
            every_kind_of_target_round_trips_through_every_table,
            raw_records_of_every_protocol_round_trip_with_their_signal,
            retention_deletes_old_closed_incidents_and_keeps_open_ones_with_their_evidence,
            retention_keeps_events_an_alert_sink_has_not_delivered,
            acknowledgements_are_an_append_only_log,
            delivery_cursors_start_at_zero_and_never_move_back,
            failed_attempts_count_per_event_and_survive_reopen,
            dead_letters_move_the_cursor_and_retry_on_request,
            apply_logs_new_records_and_incident_changes_once,
            several_connections_append_without_sharing_an_index,
            retention_clears_purged_leaves_and_the_tree_still_verifies,
            dataset_and_config_leaves_are_appended_only_when_they_change,
            checkpoints_keep_their_note_and_gather_cosignatures,
            a_gathered_incident_proves_every_leaf_and_the_log_verifies,
            a_gathered_incident_carries_each_sensors_state_over_its_window,
            a_rotated_key_verifies_along_its_chain_and_nowhere_else,
            batched_inclusion_proofs_equal_the_single_ones,
        );
        proptest::proptest! {
            #![proptest_config(proptest::prelude::ProptestConfig::with_cases(12))]

            /// However appends are split into transactions and connections, the stored
            /// tree is the RFC 6962 tree of the leaves in order, at every size.
            #[test]
            fn any_split_into_transactions_gives_the_rfc6962_tree(
                batches in proptest::collection::vec((0usize..2, 0usize..12), 1..8),
            ) {
                if $ready {
                    $crate::conformance::any_split_into_transactions_gives_the_rfc6962_tree(
                        &$backend,
                        &batches,
                    );
                }
            }
        }
    };
    (@cases $backend:expr; $ready:expr; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                if $ready {
                    $crate::conformance::$case(&$backend);
                }
            }
        )*
    };
}

/// A closed incident (A, 4840d6 in HELD-A), an open one (B, 484fde in AF), an approach,
/// with positions every 10 s from -400 s to +40 s and frames of both targets.
fn scenario() -> (StoreBatch, Incident, Incident) {
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
        positions: (-400..=40)
            .step_by(10)
            .flat_map(|s| [position(0x4840d6, s), position(0x484fde, s)])
            .collect(),
        frames: vec![
            frame(0x4840d6, 1, 0, &kabul),
            frame(0x4840d6, 1, 0, &Arc::from("herat-2")),
            frame(0x4840d6, 2, 500, &kabul),
            short_frame(0x484fde, 21, &kabul),
        ],
    };
    (batch, a, b)
}

/// The same incidents with one position of each target (the evidence cases count leaves,
/// which positions do not add to).
fn evidence_scenario() -> (StoreBatch, Incident, Incident) {
    let (mut batch, a, b) = scenario();
    batch.positions = vec![position(0x4840d6, 1), position(0x484fde, 21)];
    (batch, a, b)
}

fn seqs(store: &dyn Store) -> Vec<u64> {
    store
        .events_since(0, 1000)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect()
}

/// A batch is stored whole and reads back the same after a restart: incidents (the JSON
/// served is the JSON stored), the track over the pre-entry window, frames in order,
/// events with their sequence numbers.
pub fn incidents_round_trip_through_a_reopened_store(b: &dyn Backend) {
    let (batch, a, bb) = scenario();
    {
        let mut store = b.open_default("s");
        let applied = store.apply(&batch).unwrap();
        assert_eq!(applied.event_seqs, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(applied.positions, 2 * 45);
        assert_eq!(applied.frames, 4);
    }
    let store = b.open_default("s");
    // Newest entry first: B entered at +20 s, A at 0.
    assert_eq!(
        store.incidents(&IncidentFilter::default()).unwrap(),
        vec![bb.clone(), a.clone()]
    );
    // The JSON served is the JSON stored, field for field.
    let detail = store.incident(a.id).unwrap().unwrap();
    assert_eq!(
        serde_json::to_value(&detail.incident).unwrap(),
        serde_json::to_value(&a).unwrap()
    );
    // Track: 300 s before entry (the default pre-entry window) to the exit at +30 s.
    let times: Vec<i64> = detail
        .positions
        .iter()
        .map(|p| p.at.micros_since(ts(0)) / 1_000_000)
        .collect();
    assert_eq!(times, (-300..=30).step_by(10).collect::<Vec<_>>());
    assert_eq!(detail.positions[0], position(0x4840d6, -300).point);
    // The API body is the incident's fields plus `positions`.
    let body = serde_json::to_value(&detail).unwrap();
    assert_eq!(body["id"], a.id.to_string());
    assert_eq!(body["status"], "closed");
    assert_eq!(body["positions"][0]["alt_ft"], 48000);
    assert_eq!(body["positions"][0]["at"], "2023-11-14T22:08:20.000Z");

    // Frames: A's three, in time order, two receivers for the same frame kept apart.
    let frames = store.incident_frames(a.id).unwrap().unwrap();
    let seen: Vec<(&str, i64)> = frames
        .iter()
        .map(|f| (&*f.source, f.at.micros_since(ts(0))))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("herat-2", 1_000_000),
            ("kabul-1", 1_000_000),
            ("kabul-1", 2_000_500)
        ]
    );
    assert_eq!(frames[0].record.data(), &KLM1023_IDENT);
    assert_eq!(frames[0].record.proto, Protocol::ModeS);
    assert_eq!(frames[0].record.signal, Some(Signal::Level(0x8c)));
    assert_eq!(frames[0], batch.frames[1]);
    let b_frames = store.incident_frames(bb.id).unwrap().unwrap();
    assert_eq!(b_frames.len(), 1);
    assert_eq!(b_frames[0].record.data(), &ALL_CALL_484FDE);
    assert_eq!(b_frames[0].record.signal, None);
    assert!(b_frames[0].record.mlat);

    // Events come back in order with their sequence numbers.
    let events = store.events_since(0, 100).unwrap();
    assert_eq!(
        events.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        events.iter().map(|e| e.event.clone()).collect::<Vec<_>>(),
        batch.events
    );
    assert_eq!(
        store.events_since(2, 1).unwrap()[0].event.kind(),
        "confirmed"
    );
    assert_eq!(store.last_seq().unwrap(), 4);
    assert_eq!(store.event(3).unwrap().unwrap().event, batch.events[2]);
    assert_eq!(store.event(9).unwrap(), None);
    assert_eq!(store.events_after(1).unwrap(), 3);
    assert!(
        store
            .incident(open_incident(1, "X", 0).id)
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .incident_frames(open_incident(1, "X", 0).id)
            .unwrap()
            .is_none()
    );
}

/// Re-applying a batch stores nothing twice, and an older batch never moves an incident
/// back.
pub fn reapplying_a_batch_stores_nothing_twice(b: &dyn Backend) {
    let (batch, a, bb) = scenario();
    let mut store = b.open_default("s");
    store.apply(&batch).unwrap();
    let again = store.apply(&batch).unwrap();
    assert_eq!(again.event_seqs, vec![None; 4]);
    assert_eq!((again.positions, again.frames), (0, 0));
    assert_eq!(store.events_since(0, 100).unwrap().len(), 4);
    assert_eq!(store.incident_frames(a.id).unwrap().unwrap().len(), 3);

    // An older batch re-applied after a newer one never moves an incident back: A stays
    // closed although its `confirmed` (status open) is applied again.
    let stale = StoreBatch {
        events: vec![confirmed(&open_incident(0x4840d6, "HELD-A", 0))],
        snapshots: vec![open_incident(0x4840d6, "HELD-A", 0)],
        ..StoreBatch::default()
    };
    assert_eq!(store.apply(&stale).unwrap().event_seqs, vec![None]);
    assert_eq!(store.incident(a.id).unwrap().unwrap().incident, a);
    assert_eq!(
        store.incidents(&IncidentFilter::default()).unwrap(),
        vec![bb, a]
    );
}

/// Snapshots update open incidents, never with an older version, and never reopen a
/// final (lost) one.
pub fn snapshots_follow_open_incidents_and_never_go_back(b: &dyn Backend) {
    let bb = open_incident(0x484fde, "AF", 20);
    let mut store = b.open_default("s");
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&bb)],
            ..StoreBatch::default()
        })
        .unwrap();
    let mut later = bb.clone();
    later.last_seen_at = ts(60);
    later.reports = 90;
    later.max_depth_m = 4000.0;
    store
        .apply(&StoreBatch {
            snapshots: vec![later.clone()],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(store.incident(bb.id).unwrap().unwrap().incident, later);
    // An older snapshot (a retried batch) does not overwrite the newer one.
    store
        .apply(&StoreBatch {
            snapshots: vec![bb.clone()],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(store.incident(bb.id).unwrap().unwrap().incident.reports, 90);
    // Lost is final: a later snapshot does not reopen it.
    let gone = lost(&later, 60);
    store
        .apply(&StoreBatch {
            events: vec![Event::Lost {
                at: ts(120),
                incident: gone.clone(),
            }],
            ..StoreBatch::default()
        })
        .unwrap();
    let mut zombie = later.clone();
    zombie.last_seen_at = ts(200);
    store
        .apply(&StoreBatch {
            snapshots: vec![zombie],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(store.incident(bb.id).unwrap().unwrap().incident, gone);
    assert!(store.open_incidents().unwrap().is_empty());
}

/// After a restart each open incident is resumed once, from its last stored position at
/// or before its `last_seen_at`, or from its entry point without positions.
pub fn a_restart_resumes_each_open_incident_once_from_its_last_position(b: &dyn Backend) {
    let (batch, _a, bb) = scenario();
    {
        let mut store = b.open_default("s");
        store.apply(&batch).unwrap();
        store.apply(&batch).unwrap();
    }
    let store = b.open_default("s");
    let open = store.open_incidents().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].incident, bb);
    // B was last seen at +30 s; positions exist every 10 s up to +40 s.
    let last = open[0].last.unwrap();
    assert_eq!(last.at, ts(30));
    assert_eq!(TrackPoint::from(last), position(0x484fde, 30).point);
    assert_eq!(open[0].last_or_entry(), last);
    // Without positions, the entry point at the last time seen.
    let c = open_incident(0xabcdef, "AF", 100);
    let mut bare = b.open_default("bare");
    bare.apply(&StoreBatch {
        events: vec![confirmed(&c)],
        ..StoreBatch::default()
    })
    .unwrap();
    let p = &bare.open_incidents().unwrap()[0];
    assert_eq!(p.last, None);
    assert_eq!(p.last_or_entry().at, c.last_seen_at);
    assert_eq!(p.last_or_entry().pos.lat, c.entry.lat);
}

/// Filters by status, zone, target, activity and limit; newest entry first, ties by id
/// descending.
pub fn filters_select_and_order_newest_first(b: &dyn Backend) {
    let mut store = b.open_default("s");
    let i1 = open_incident(0x000001, "AF", 0);
    let i2 = closed(&open_incident(0x000002, "AF", 100), 150);
    let i3 = open_incident(0x000003, "HELD-A", 200);
    let i4 = lost(&open_incident(0x000004, "HELD-A", 300), 320);
    // Same entry time as i3: ties go by id, descending.
    let i5 = open_incident(0x000005, "AF", 200);
    let events = vec![
        confirmed(&i1),
        confirmed(&i2),
        closed_event(&i2),
        confirmed(&i3),
        Event::Lost {
            at: ts(380),
            incident: i4.clone(),
        },
        confirmed(&i5),
    ];
    store
        .apply(&StoreBatch {
            events,
            ..StoreBatch::default()
        })
        .unwrap();
    let ids = |f: IncidentFilter| -> Vec<u32> {
        store
            .incidents(&f)
            .unwrap()
            .iter()
            .map(|i| i.target.icao().unwrap().as_u32())
            .collect()
    };
    let (first, second) = if i5.id > i3.id { (5, 3) } else { (3, 5) };
    assert_eq!(ids(IncidentFilter::default()), vec![4, first, second, 2, 1]);
    assert_eq!(
        ids(IncidentFilter {
            status: Some(IncidentStatus::Open),
            ..Default::default()
        }),
        if first == 5 {
            vec![5, 3, 1]
        } else {
            vec![3, 5, 1]
        }
    );
    assert_eq!(
        ids(IncidentFilter {
            zone: Some("HELD-A".into()),
            ..Default::default()
        }),
        vec![4, 3]
    );
    // Active since +150 s: i1 is open (last seen +10 s) but older, i2 ended at +150 s.
    assert_eq!(
        ids(IncidentFilter {
            since: Some(ts(150)),
            ..Default::default()
        }),
        vec![4, first, second, 2]
    );
    assert_eq!(
        ids(IncidentFilter {
            since: Some(ts(151)),
            zone: Some("AF".into()),
            ..Default::default()
        }),
        vec![5]
    );
    assert_eq!(
        ids(IncidentFilter {
            target: Some(target(2)),
            ..Default::default()
        }),
        vec![2]
    );
    assert_eq!(
        ids(IncidentFilter {
            limit: Some(2),
            ..Default::default()
        }),
        vec![4, first]
    );
    assert_eq!(
        ids(IncidentFilter {
            status: Some(IncidentStatus::Lost),
            zone: Some("AF".into()),
            ..Default::default()
        }),
        Vec::<u32>::new()
    );
}

/// Sequence numbers increase strictly by one across batches and restarts, a re-applied
/// event takes none, and a number is never reused after retention deleted the newest
/// events.
pub fn event_sequence_numbers_increase_without_gaps_across_restarts(b: &dyn Backend) {
    let mut expected = Vec::new();
    for round in 0..4i64 {
        let mut store = b.open_default("s");
        assert_eq!(store.last_seq().unwrap(), expected.len() as u64);
        let batch = StoreBatch {
            events: (0..3)
                .map(|k| approach(0x000100 + k, "AF", round * 10 + i64::from(k)))
                .collect(),
            ..StoreBatch::default()
        };
        let applied = store.apply(&batch).unwrap();
        let new: Vec<u64> = applied.event_seqs.iter().map(|s| s.unwrap()).collect();
        let next = expected.len() as u64 + 1;
        assert_eq!(new, (next..next + 3).collect::<Vec<_>>());
        expected.extend(new);
        // A retry (the writer did not see its commit) takes no number.
        assert_eq!(store.apply(&batch).unwrap().event_seqs, vec![None; 3]);
        assert_eq!(seqs(&*store), expected);
    }
    // Retention deletes every approach (all before the cut-off, no sink): the next event
    // still continues the sequence, after a restart too.
    let mut store = b.open_default("s");
    assert_eq!(store.purge_older_than(ts(100)).unwrap().events, 12);
    assert!(seqs(&*store).is_empty());
    drop(store);
    let mut store = b.open_default("s");
    assert_eq!(store.last_seq().unwrap(), 12);
    let applied = store
        .apply(&StoreBatch {
            events: vec![approach(0x000200, "AF", 500)],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(applied.event_seqs, vec![Some(13)]);
}

/// ICAO, Remote ID and track targets are stored and found again by their id in every
/// table: incidents (and the target filter), events, positions, raw records, resume
/// points, acknowledgements and the evidence log's incident leaves.
pub fn every_kind_of_target_round_trips_through_every_table(b: &dyn Backend) {
    let mut store = b.open_default("s");
    let src: Arc<str> = Arc::from("kabul-1");
    let kinds = all_kinds();
    let incidents: Vec<Incident> = kinds
        .iter()
        .enumerate()
        .map(|(k, t)| open_incident_of(*t, "AF", 100 * k as i64))
        .collect();
    let mut batch = StoreBatch::default();
    for (k, (t, i)) in kinds.iter().zip(&incidents).enumerate() {
        let at = 100 * k as i64;
        batch.events.push(approach_of(*t, "AF", at - 5));
        batch.events.push(confirmed(i));
        batch.positions.push(position_of(*t, at + 1));
        batch.positions.push(position_of(*t, at + 2));
        batch.frames.push(record_of(*t, at + 1, &src));
    }
    let applied = store.apply(&batch).unwrap();
    assert_eq!((applied.positions, applied.frames), (6, 3));
    drop(store);
    let mut store = b.open_default("s");
    for (k, (t, i)) in kinds.iter().zip(&incidents).enumerate() {
        let at = 100 * k as i64;
        let listed = store
            .incidents(&IncidentFilter {
                target: Some(*t),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(listed, vec![i.clone()], "target {t}");
        assert_eq!(listed[0].target.id, *t);
        let detail = store.incident(i.id).unwrap().unwrap();
        assert_eq!(
            detail.positions,
            vec![position_of(*t, at + 1).point, position_of(*t, at + 2).point],
            "target {t}"
        );
        let frames = store.incident_frames(i.id).unwrap().unwrap();
        assert_eq!(frames, vec![record_of(*t, at + 1, &src)], "target {t}");
        assert_eq!(frames[0].target, *t);
        let ack = store
            .acknowledge(i.id, ts(at + 50), "ops", "seen")
            .unwrap()
            .unwrap();
        assert_eq!(store.acks(i.id).unwrap(), vec![ack]);
        // State change, raw record and acknowledgement leaves.
        let leaves = store.incident_evidence(i.id).unwrap().unwrap();
        let kinds: Vec<u8> = leaves
            .iter()
            .map(|(_, l)| EvidenceLeaf::decode(l).unwrap().kind_code())
            .collect();
        let mut sorted = kinds.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, vec![0x04, 0x05, 0x06], "target {t}: {kinds:?}");
    }
    let events = store.events_since(0, 100).unwrap();
    let targets: Vec<TargetId> = events
        .iter()
        .map(|e| match &e.event {
            Event::Approach { target, .. } => target.id,
            other => other.incident().unwrap().target.id,
        })
        .collect();
    assert_eq!(
        targets,
        vec![kinds[0], kinds[0], kinds[1], kinds[1], kinds[2], kinds[2]]
    );
    let open: Vec<TargetId> = store
        .open_incidents()
        .unwrap()
        .iter()
        .map(|r| r.incident.target.id)
        .collect();
    assert_eq!(open, kinds.to_vec());
    // Each resumes from its own last position, not another kind's.
    for r in store.open_incidents().unwrap() {
        let k = kinds
            .iter()
            .position(|t| *t == r.incident.target.id)
            .unwrap() as i64;
        assert_eq!(r.last.unwrap().at, ts(100 * k + 2));
    }
}

/// Raw records keep their protocol, bytes of any length, signal (level or dBm) and MLAT
/// flag; the same bytes in two protocols are two records; each new record is logged once
/// as a `RawRecord` leaf (kind 0x06).
pub fn raw_records_of_every_protocol_round_trip_with_their_signal(b: &dyn Backend) {
    let mut store = b.open_default("s");
    let src: Arc<str> = Arc::from("dock-7");
    let t = remote_id("1581F5FJD228500D");
    let i = open_incident_of(t, "AF", 0);
    let rid = record_of(t, 1, &src);
    // The same bytes read as another protocol (a misconfigured source): a second record.
    let mut as_asterix = rid.clone();
    as_asterix.record = skyfence_core::RawRecord::new(Protocol::Asterix, rid.record.data());
    as_asterix.record.mlat = true;
    let batch = StoreBatch {
        events: vec![confirmed(&i)],
        frames: vec![rid.clone(), as_asterix.clone()],
        ..StoreBatch::default()
    };
    assert_eq!(store.apply(&batch).unwrap().frames, 2);
    assert_eq!(store.apply(&batch).unwrap().frames, 0);
    let frames = store.incident_frames(i.id).unwrap().unwrap();
    assert_eq!(frames.len(), 2);
    let back_rid = frames
        .iter()
        .find(|f| f.record.proto == Protocol::RemoteId)
        .unwrap();
    assert_eq!(back_rid, &rid);
    assert_eq!(back_rid.record.data().len(), 50);
    assert_eq!(back_rid.record.signal, Some(Signal::Dbm(-71)));
    assert!(frames.contains(&as_asterix));
    let leaves: Vec<EvidenceLeaf> = store
        .evidence_leaves(0, store.evidence_size().unwrap())
        .unwrap()
        .iter()
        .map(|(_, l)| EvidenceLeaf::decode(l).unwrap())
        .collect();
    assert_eq!(leaves.len(), 3, "{leaves:?}");
    assert!(leaves.contains(&EvidenceLeaf::RawRecord {
        sensor: "dock-7".into(),
        received_at_us: ts(1).as_micros(),
        protocol: Protocol::RemoteId.code(),
        signal: LeafSignal::Dbm(-71),
        mlat: false,
        record: rid.record.data().to_vec(),
    }));
    assert!(leaves.contains(&EvidenceLeaf::RawRecord {
        sensor: "dock-7".into(),
        received_at_us: ts(1).as_micros(),
        protocol: Protocol::Asterix.code(),
        signal: LeafSignal::None,
        mlat: true,
        record: rid.record.data().to_vec(),
    }));
}

/// Retention deletes closed incidents that ended before the cut-off with their events,
/// acknowledgements, positions and frames, keeps open and recent ones with everything in
/// their windows, and never reuses a sequence number.
pub fn retention_deletes_old_closed_incidents_and_keeps_open_ones_with_their_evidence(
    b: &dyn Backend,
) {
    let options = StoreOptions {
        pre_entry: std::time::Duration::from_secs(60),
        ..StoreOptions::default()
    };
    let mut store = b.open("s", options);
    let src: Arc<str> = Arc::from("kabul-1");
    // Old and closed: goes. Old but open: stays. Closed after the cut-off: stays.
    let old = closed(&open_incident(0x000001, "AF", 0), 100);
    let open = open_incident(0x000002, "AF", 0);
    let recent = closed(&open_incident(0x000003, "AF", 900), 1100);
    let batch = StoreBatch {
        events: vec![
            approach(0x000001, "AF", -10),
            approach(0x000003, "AF", 1050),
            confirmed(&old),
            closed_event(&old),
            confirmed(&open),
            confirmed(&recent),
            closed_event(&recent),
        ],
        positions: (-100..=1100)
            .step_by(50)
            .flat_map(|s| [position(1, s), position(2, s), position(3, s)])
            .collect(),
        frames: [1, 2, 3]
            .into_iter()
            .flat_map(|a| {
                [
                    frame(a, -100, 0, &src),
                    frame(a, 50, 0, &src),
                    frame(a, 1000, 0, &src),
                ]
            })
            .collect(),
        ..StoreBatch::default()
    };
    store.apply(&batch).unwrap();
    store
        .acknowledge(old.id, ts(200), "duty officer", "seen")
        .unwrap();
    store
        .acknowledge(open.id, ts(200), "duty officer", "tracking")
        .unwrap();

    let purged = store.purge_older_than(ts(1000)).unwrap();
    assert_eq!(purged.incidents, 1);
    assert_eq!(purged.events, 3); // old's confirmed and closed, the approach at -10 s
    assert_eq!(purged.acks, 1);
    // Target 1: every position before 1000 s (22 of them, -100..=950); target 2 (open,
    // entered at 0, window from -60 s): the one at -100; target 3 (kept incident
    // entered at 900, window from 840): those before 840 (-100..=800, 19).
    assert_eq!(purged.positions, 22 + 1 + 19);
    // Frames: target 1 at -100 and 50; target 2 at -100; target 3 at -100 and 50.
    assert_eq!(purged.frames, 5);

    assert!(store.incident(old.id).unwrap().is_none());
    assert!(store.acks(old.id).unwrap().is_empty());
    assert_eq!(store.open_incidents().unwrap()[0].incident, open);
    let open_track = store.incident(open.id).unwrap().unwrap().positions;
    assert_eq!(open_track.first().unwrap().at, ts(-50));
    assert_eq!(open_track.len(), 24); // -50..=1100
    assert_eq!(store.incident_frames(open.id).unwrap().unwrap().len(), 2);
    assert_eq!(store.incident(recent.id).unwrap().unwrap().incident, recent);
    assert_eq!(store.acks(open.id).unwrap().len(), 1);
    let kinds: Vec<&str> = store
        .events_since(0, 100)
        .unwrap()
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert_eq!(kinds, vec!["approach", "confirmed", "confirmed", "closed"]);
    // Sequence numbers are never reused after a purge.
    assert_eq!(store.last_seq().unwrap(), 7);
    store
        .apply(&StoreBatch {
            events: vec![approach(9, "AF", 2000)],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(store.events_since(7, 10).unwrap()[0].seq, 8);
}

/// Retention keeps an event (and its incident) until every alert sink's cursor has passed
/// it; forgetting a removed sink releases what it held.
pub fn retention_keeps_events_an_alert_sink_has_not_delivered(b: &dyn Backend) {
    let mut store = b.open_default("s");
    let old = closed(&open_incident(0x000001, "AF", 0), 100);
    let older = closed(&open_incident(0x000004, "AF", -500), -400);
    store
        .apply(&StoreBatch {
            events: vec![
                confirmed(&older),             // seq 1
                closed_event(&older),          // seq 2
                approach(0x000001, "AF", -10), // seq 3
                confirmed(&old),               // seq 4
                closed_event(&old),            // seq 5
            ],
            ..StoreBatch::default()
        })
        .unwrap();
    // One webhook has delivered up to the approach (seq 3), another everything.
    store.set_delivery_cursor("hook", 3).unwrap();
    store.set_delivery_cursor("cot", 5).unwrap();
    let purged = store.purge_older_than(ts(1000)).unwrap();
    // `older` and the approach were delivered everywhere: gone. `old`'s two events are
    // still in hook's outbox: kept, with the incident.
    assert_eq!((purged.incidents, purged.events), (1, 3));
    assert!(store.incident(older.id).unwrap().is_none());
    assert_eq!(store.incident(old.id).unwrap().unwrap().incident, old);
    assert_eq!(seqs(&*store), [4, 5]);

    // The hook is removed from the config: its cursor no longer holds retention back.
    assert_eq!(store.retain_delivery_cursors(&["cot"]).unwrap(), 1);
    assert_eq!(store.delivery_cursor_if_any("hook").unwrap(), None);
    let purged = store.purge_older_than(ts(1000)).unwrap();
    assert_eq!((purged.incidents, purged.events), (1, 2));
    assert!(store.events_since(0, 10).unwrap().is_empty());

    // A dead letter holds its event too, until retried.
    let kept = closed(&open_incident(0x000007, "AF", 0), 50);
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&kept), closed_event(&kept)], // seq 6, 7
            ..StoreBatch::default()
        })
        .unwrap();
    store.dead_letter(&letter("cot", 6, &kept)).unwrap();
    store.set_delivery_cursor("cot", 7).unwrap();
    let purged = store.purge_older_than(ts(1000)).unwrap();
    assert_eq!((purged.incidents, purged.events), (0, 0));
    assert_eq!(seqs(&*store), [6, 7]);
    store.delivered("cot", 6).unwrap();
    let purged = store.purge_older_than(ts(1000)).unwrap();
    assert_eq!((purged.incidents, purged.events), (1, 2));
}

fn letter(sink: &str, seq: u64, i: &Incident) -> DeadLetter {
    DeadLetter {
        sink: sink.into(),
        seq,
        incident_id: Some(i.id),
        event: "confirmed".into(),
        attempts: 3,
        first_attempt_at: ts(60),
        last_attempt_at: ts(90),
        last_error: "http 404".into(),
        retrying: false,
    }
}

/// Acknowledgements of a known incident are appended in order with increasing numbers;
/// an unknown incident is refused.
pub fn acknowledgements_are_an_append_only_log(b: &dyn Backend) {
    let mut store = b.open_default("s");
    let bb = open_incident(0x484fde, "AF", 0);
    assert_eq!(
        store
            .acknowledge(bb.id, ts(30), "ops", "before storing")
            .unwrap(),
        None
    );
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&bb)],
            ..StoreBatch::default()
        })
        .unwrap();
    let first = store
        .acknowledge(bb.id, ts(30), "major khan", "fighters scrambled")
        .unwrap()
        .unwrap();
    let second = store
        .acknowledge(bb.id, ts(90), "lt. rahimi", "escorted out")
        .unwrap()
        .unwrap();
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(
        store.acks(bb.id).unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        serde_json::to_value(&first).unwrap()["at"],
        "2023-11-14T22:13:50.000Z"
    );
    drop(store);
    let store = b.open_default("s");
    assert_eq!(store.acks(bb.id).unwrap(), vec![first, second]);
}

/// Cursors start at zero (and `None` for a sink never seen), never move back, and survive
/// a restart.
pub fn delivery_cursors_start_at_zero_and_never_move_back(b: &dyn Backend) {
    let mut store = b.open_default("s");
    assert_eq!(store.delivery_cursor("webhook-0").unwrap(), 0);
    assert_eq!(store.delivery_cursor_if_any("webhook-0").unwrap(), None);
    store.set_delivery_cursor("webhook-0", 7).unwrap();
    store.set_delivery_cursor("webhook-0", 3).unwrap();
    store.set_delivery_cursor("cot-1", 2).unwrap();
    drop(store);
    let store = b.open_default("s");
    assert_eq!(store.delivery_cursor("webhook-0").unwrap(), 7);
    assert_eq!(store.delivery_cursor_if_any("cot-1").unwrap(), Some(2));
}

fn store_with_approaches(b: &dyn Backend, n: i64) -> Box<dyn Store> {
    let mut s = b.open_default("s");
    let batch = StoreBatch {
        events: (0..n).map(|i| approach(0x700c02, "PK", i)).collect(),
        ..StoreBatch::default()
    };
    s.apply(&batch).unwrap();
    s
}

/// Failed attempts are counted per event and survive a restart; another event starts
/// counting again; delivery clears the attempt and moves the cursor.
pub fn failed_attempts_count_per_event_and_survive_reopen(b: &dyn Backend) {
    let mut s = store_with_approaches(b, 3);
    assert_eq!(s.delivery_cursor_if_any("hook").unwrap(), None);
    let t0 = ts(100);
    let t1 = ts(101);
    s.record_failed_attempt("hook", 1, t0, "http 503").unwrap();
    let a = s
        .record_failed_attempt("hook", 1, t1, "connection refused")
        .unwrap();
    assert_eq!(a.attempts, 2);
    assert_eq!(a.first_attempt_at, t0);
    assert_eq!(a.last_attempt_at, t1);
    assert_eq!(a.last_error, "connection refused");
    drop(s);
    let mut s = b.open_default("s");
    assert_eq!(s.delivery_attempt("hook").unwrap(), Some(a));
    // Another event starts counting again.
    let bb = s.record_failed_attempt("hook", 2, t1, "http 500").unwrap();
    assert_eq!((bb.seq, bb.attempts, bb.first_attempt_at), (2, 1, t1));
    s.delivered("hook", 2).unwrap();
    assert_eq!(s.delivery_attempt("hook").unwrap(), None);
    assert_eq!(s.delivery_cursor("hook").unwrap(), 2);
    assert_eq!(s.events_after(2).unwrap(), 1);
}

/// A dead letter moves the cursor past its event and clears the attempt; an operator's
/// retry request is seen by the sink, and a successful retry removes the letter without
/// moving the cursor back.
pub fn dead_letters_move_the_cursor_and_retry_on_request(b: &dyn Backend) {
    let mut s = store_with_approaches(b, 3);
    let t0 = ts(100);
    let a = s.record_failed_attempt("hook", 2, t0, "http 404").unwrap();
    let letter = DeadLetter {
        sink: "hook".into(),
        seq: 2,
        incident_id: Some("0123456789abcdef".parse().unwrap()),
        event: "confirmed".into(),
        attempts: a.attempts,
        first_attempt_at: a.first_attempt_at,
        last_attempt_at: a.last_attempt_at,
        last_error: a.last_error.clone(),
        retrying: false,
    };
    s.dead_letter(&letter).unwrap();
    assert_eq!(s.delivery_cursor("hook").unwrap(), 2);
    assert_eq!(s.delivery_attempt("hook").unwrap(), None);
    assert_eq!(s.dead_letters(Some("hook")).unwrap(), vec![letter.clone()]);
    assert_eq!(s.dead_letters(Some("other")).unwrap(), vec![]);
    assert_eq!(s.next_retry("hook").unwrap(), None);
    assert!(!s.request_retry("hook", 3).unwrap());
    assert!(s.request_retry("hook", 2).unwrap());
    assert_eq!(s.next_retry("hook").unwrap(), Some(2));
    assert!(s.dead_letters(None).unwrap()[0].retrying);
    // The retry works: the dead letter goes, the cursor stays where it was.
    s.set_delivery_cursor("hook", 3).unwrap();
    s.delivered("hook", 2).unwrap();
    assert_eq!(s.dead_letters(None).unwrap(), vec![]);
    assert_eq!(s.delivery_cursor("hook").unwrap(), 3);
    let e = s.event(2).unwrap().unwrap();
    assert_eq!(e.seq, 2);
    assert_eq!(e.event, approach(0x700c02, "PK", 1));
    assert_eq!(s.event(9).unwrap(), None);
}

/// Every leaf's bytes, checked to hash to the stored level-0 node, and the root over them.
pub fn recomputed_root(store: &dyn EvidenceLogStore) -> [u8; 32] {
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

/// `apply` logs one leaf per new incident event (not approaches) and per new raw record,
/// in the batch's transaction, and nothing when re-applied; an incident's evidence is its
/// records in its window plus its state changes and acknowledgements, each provable.
pub fn apply_logs_new_records_and_incident_changes_once(b: &dyn Backend) {
    let (batch, a, bb) = evidence_scenario();
    let mut store = b.open_default("s");
    assert_eq!(store.evidence_size().unwrap(), 0);
    store.apply(&batch).unwrap();
    // Three incident events (the approach is not logged) and four frame rows.
    assert_eq!(store.evidence_size().unwrap(), 7);
    let root = store.evidence_root(7).unwrap();
    assert_eq!(root, recomputed_root(&*store));

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
        EvidenceLeaf::RawRecord {
            sensor: "kabul-1".into(),
            received_at_us: ts(1).as_micros(),
            protocol: Protocol::ModeS.code(),
            signal: LeafSignal::Level(0x8c),
            mlat: false,
            record: KLM1023_IDENT.to_vec(),
        }
    );
    assert_eq!(
        leaves[6],
        EvidenceLeaf::RawRecord {
            sensor: "kabul-1".into(),
            received_at_us: ts(21).as_micros(),
            protocol: Protocol::ModeS.code(),
            signal: LeafSignal::None,
            mlat: true,
            record: ALL_CALL_484FDE.to_vec(),
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
        .acknowledge(bb.id, ts(40), "duty officer", "tracking")
        .unwrap();
    assert!(ack.is_some());
    assert_eq!(store.evidence_size().unwrap(), 8);
    let ev_b = store.incident_evidence(bb.id).unwrap().unwrap();
    assert_eq!(ev_b.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [1, 6, 7]);
    assert_eq!(
        EvidenceLeaf::decode(&ev_b[2].1).unwrap(),
        EvidenceLeaf::OperatorAck {
            incident_id: bb.id.0,
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
    // A proof beyond the log is refused.
    assert!(matches!(
        store.inclusion_proof(3, 9),
        Err(StoreError::Conflict { .. })
    ));
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

/// Three connections writing at once (acknowledgements and appended leaves) never give
/// two leaves the same index, and the tree stays the RFC 6962 tree of the leaves.
pub fn several_connections_append_without_sharing_an_index(b: &dyn Backend) {
    let (batch, _a, bb) = evidence_scenario();
    b.open_default("s").apply(&batch).unwrap();
    std::thread::scope(|scope| {
        for t in 0..3 {
            scope.spawn(move || {
                let mut store = b.open_default("s");
                for i in 0..40 {
                    if t == 0 {
                        store
                            .acknowledge(bb.id, ts(100 + i), "officer", &format!("ack {i}"))
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
            });
        }
    });
    let store = b.open_default("s");
    assert_eq!(store.evidence_size().unwrap(), 7 + 120);
    let root = store.evidence_root(127).unwrap();
    assert_eq!(root, recomputed_root(&*store));
    let acks = store.incident_evidence(bb.id).unwrap().unwrap();
    assert_eq!(acks.len(), 2 + 40);
}

/// Retention clears the bytes of purged leaves but keeps their hashes: roots, proofs and
/// growth are unaffected.
pub fn retention_clears_purged_leaves_and_the_tree_still_verifies(b: &dyn Backend) {
    let options = StoreOptions {
        pre_entry: std::time::Duration::from_secs(60),
        ..StoreOptions::default()
    };
    let mut store = b.open("s", options);
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
    assert_eq!(
        rows.iter().map(|r| r.kind).collect::<Vec<_>>(),
        [4, 4, 4, 6, 6, 5]
    );
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

/// Dataset and configuration leaves are appended only when their content changed, and the
/// one in force at any size is found.
pub fn dataset_and_config_leaves_are_appended_only_when_they_change(b: &dyn Backend) {
    let mut store = b.open_default("s");
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

/// A checkpoint is stored once per size (never beyond the log); cosignatures over the
/// same text are gathered once each; another text or an unknown size is refused.
pub fn checkpoints_keep_their_note_and_gather_cosignatures(b: &dyn Backend) {
    let (batch, _, _) = evidence_scenario();
    let mut store = b.open_default("s");
    store.apply(&batch).unwrap();
    let origin = "skyfence.example/test";
    let log = Signer::from_seed(origin, [5; 32]).unwrap();
    let cp = Checkpoint::new(origin, 7, store.evidence_root(7).unwrap()).unwrap();
    let note = cp.sign(&log).unwrap();
    assert!(
        matches!(
            store.add_checkpoint(8, ts(0), &note),
            Err(StoreError::Conflict { .. })
        ),
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
    assert!(matches!(
        store.add_cosignature(7, &other),
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.add_cosignature(3, &cosigned.note),
        Err(StoreError::NotFound { .. })
    ));

    drop(store);
    let store = b.open_default("s");
    let latest = store.latest_checkpoint().unwrap().unwrap();
    assert_eq!(
        (latest.size, latest.at, latest.cosignatures),
        (7, ts(50), 1)
    );
    assert_eq!(latest.note, cosigned.note);
    assert_eq!(store.checkpoints().unwrap(), vec![latest.clone()]);
    let opened = open_checkpoint(
        latest.note.as_bytes(),
        &log.verifier_key(),
        &[witness.verifier_key()],
    )
    .unwrap();
    assert_eq!(opened.cosignatures.len(), 1);
    assert_eq!(opened.checkpoint.root, store.evidence_root(7).unwrap());
}

/// Export's gathering signs a checkpoint when none covers the incident, and every leaf it
/// returns is proven by its proof in that checkpoint; the whole-log check passes, counts
/// each kind, and fails a checkpoint signed by another key.
pub fn a_gathered_incident_proves_every_leaf_and_the_log_verifies(b: &dyn Backend) {
    let (batch, a, _) = evidence_scenario();
    let mut store = b.open_default("s");
    let zone = EvidenceLeaf::DatasetLoaded {
        kind: DatasetKind::Zones,
        name: "HELD-A".into(),
        loaded_at_us: ts(-60).as_micros(),
        provenance_sha256: [7; 32],
        content: DatasetContent::Bytes(b"{}".to_vec()),
    };
    let config = EvidenceLeaf::ConfigChanged {
        at_us: ts(-60).as_micros(),
        source: "skyfence.toml".into(),
        config: b"[store]\n".to_vec(),
    };
    store.append_if_changed(&zone).unwrap();
    store.append_if_changed(&config).unwrap();
    store.apply(&batch).unwrap();
    let signer = Signer::from_seed("skyfence.example/test", [5; 32]).unwrap();
    assert!(matches!(
        gather_incident(&mut *store, a.id, None, ts(100)),
        Err(crate::export::GatherError::NoCheckpoint)
    ));
    let got = gather_incident(&mut *store, a.id, Some(&signer), ts(100)).unwrap();
    assert_eq!(store.checkpoints().unwrap().len(), 1);
    // Zone and config, A's confirmation, closing and its three frames.
    let indexes: Vec<u64> = got.leaves.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, vec![0, 1, 2, 4, 5, 6, 7]);
    let note = skyfence_evidence::Note::parse(got.checkpoint_note.as_bytes()).unwrap();
    let cp = Checkpoint::parse_body(&note.text).unwrap();
    assert_eq!(cp.size, 9);
    for ((i, bytes), (j, proof)) in got.leaves.iter().zip(&got.proofs) {
        assert_eq!(i, j);
        verify_inclusion(&leaf_hash(bytes), *i, cp.size, proof, &cp.root).unwrap();
    }
    // Already covered: no second checkpoint.
    gather_incident(&mut *store, a.id, Some(&signer), ts(200)).unwrap();
    assert_eq!(store.checkpoints().unwrap().len(), 1);

    let report = verify_log(&*store, &signer.verifier_key(), &[]).unwrap();
    assert!(report.is_valid(), "{report:?}");
    assert!(
        report.lines.iter().any(|(v, l)| *v == Verdict::Ok
            && l.contains("9 leaves")
            && l.contains("1 datasets, 1 config changes, 4 raw frames, 3 incident changes")),
        "{report:?}"
    );
    let other = Signer::from_seed("skyfence.example/test", [9; 32]).unwrap();
    let report = verify_log(&*store, &other.verifier_key(), &[]).unwrap();
    assert_eq!(report.failed, 1, "{report:?}");

    // Gathered at that checkpoint after the log grew (another frame of A, leaf 9): the
    // same leaves, the new one left out, every proof in the old tree.
    let mut later = batch
        .frames
        .iter()
        .find(|f| f.target == a.target.id)
        .expect("a frame of A")
        .clone();
    later.at = later.at.add_micros(1);
    store
        .apply(&StoreBatch {
            frames: vec![later],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(store.evidence_size().unwrap(), 10);
    assert!(
        store
            .incident_evidence(a.id)
            .unwrap()
            .unwrap()
            .iter()
            .any(|(i, _)| *i == 9),
        "the new frame is A's evidence"
    );
    let at = crate::export::gather_incident_at(
        &mut *store,
        a.id,
        &got.checkpoint_note,
        signer.verifier_key(),
    )
    .unwrap();
    let at_indexes: Vec<u64> = at.leaves.iter().map(|(i, _)| *i).collect();
    assert_eq!(at_indexes, indexes);
    for ((i, bytes), (j, proof)) in at.leaves.iter().zip(&at.proofs) {
        assert_eq!(i, j);
        verify_inclusion(&leaf_hash(bytes), *i, cp.size, proof, &cp.root).unwrap();
    }
}

/// Export's gathering carries the sensor state leaves (kind 0x09) of the incident's
/// window: each sensor's latest change at or before the entry (however long before),
/// every change from the entry to the incident's end, none after a closed incident's
/// end; for an open incident every later change too. Each is proven like the others.
pub fn a_gathered_incident_carries_each_sensors_state_over_its_window(b: &dyn Backend) {
    let (batch, a, open_b) = evidence_scenario();
    let mut store = b.open_default("s");
    store
        .append_if_changed(&EvidenceLeaf::DatasetLoaded {
            kind: DatasetKind::Zones,
            name: "HELD-A".into(),
            loaded_at_us: ts(-60).as_micros(),
            provenance_sha256: [7; 32],
            content: DatasetContent::Bytes(b"{}".to_vec()),
        })
        .unwrap();
    store
        .append_if_changed(&EvidenceLeaf::DatasetLoaded {
            kind: DatasetKind::Zones,
            name: "AF".into(),
            loaded_at_us: ts(-60).as_micros(),
            provenance_sha256: [8; 32],
            content: DatasetContent::Bytes(b"{}".to_vec()),
        })
        .unwrap();
    store
        .append_if_changed(&EvidenceLeaf::ConfigChanged {
            at_us: ts(-60).as_micros(),
            source: "skyfence.toml".into(),
            config: b"[store]\n".to_vec(),
        })
        .unwrap();
    let state = |sensor: &str, s: i64, up: bool| EvidenceLeaf::SensorState {
        at_us: ts(s).as_micros(),
        sensor: sensor.into(),
        sensor_type: "radar".into(),
        up,
        last_heard_us: ts(s - 12).as_micros(),
    };
    // psr: down an hour before, up 10 minutes before A's entry, down and up again during
    // A (which entered at 0 and closed at +30), down long after.
    for (sensor, s, up) in [
        ("psr", -3600, false),
        ("psr", -600, true),
        ("ssr", -7200, true),
        ("psr", 10, false),
        ("psr", 20, true),
        ("psr", 500, false),
    ] {
        store.append_evidence(&state(sensor, s, up)).unwrap();
    }
    store.apply(&batch).unwrap();
    let signer = Signer::from_seed("skyfence.example/test", [5; 32]).unwrap();
    let sensors_of = |got: &crate::export::IncidentEvidence| -> Vec<(String, i64, bool)> {
        got.leaves
            .iter()
            .filter_map(|(_, bytes)| match EvidenceLeaf::decode(bytes).unwrap() {
                EvidenceLeaf::SensorState {
                    at_us, sensor, up, ..
                } => Some((sensor, (at_us - ts(0).as_micros()) / 1_000_000, up)),
                _ => None,
            })
            .collect()
    };
    let got = gather_incident(&mut *store, a.id, Some(&signer), ts(1000)).unwrap();
    let s = |n: &str, t: i64, up: bool| (n.to_owned(), t, up);
    assert_eq!(
        sensors_of(&got),
        vec![
            s("psr", -600, true),
            s("ssr", -7200, true),
            s("psr", 10, false),
            s("psr", 20, true)
        ]
    );
    let note = skyfence_evidence::Note::parse(got.checkpoint_note.as_bytes()).unwrap();
    let cp = Checkpoint::parse_body(&note.text).unwrap();
    assert_eq!(got.leaves.len(), got.proofs.len());
    for ((i, bytes), (j, proof)) in got.leaves.iter().zip(&got.proofs) {
        assert_eq!(i, j);
        verify_inclusion(&leaf_hash(bytes), *i, cp.size, proof, &cp.root).unwrap();
    }
    // B entered at +20 and is still open: psr's up at +20 is its state at the entry, its
    // down at +500 falls in the open incident.
    let got = gather_incident(&mut *store, open_b.id, Some(&signer), ts(1000)).unwrap();
    assert_eq!(
        sensors_of(&got),
        vec![
            s("ssr", -7200, true),
            s("psr", 20, true),
            s("psr", 500, false)
        ]
    );
}

/// [`EvidenceLogStore::inclusion_proofs`] gives, for any set of leaves (runs, scattered,
/// at the tree's right edge, repeated, unsorted) and any tree size, exactly the audit
/// paths [`EvidenceLogStore::inclusion_proof`] gives one by one, in the order asked; an
/// index beyond the size is refused as the single proof refuses it.
pub fn batched_inclusion_proofs_equal_the_single_ones(b: &dyn Backend) {
    let mut store = b.open_default("s");
    for n in 0..300u32 {
        let leaf = EvidenceLeaf::ConfigChanged {
            at_us: i64::from(n),
            source: "proofs".into(),
            config: n.to_le_bytes().to_vec(),
        };
        store.append_evidence(&leaf).unwrap();
    }
    let sets: Vec<Vec<u64>> = vec![
        (0..300).collect(),
        (100..230).collect(),
        vec![0, 1, 150, 151, 152, 153, 299],
        vec![297, 3, 298, 3, 64, 65],
        (0..300).step_by(70).collect(),
    ];
    for size in [1u64, 2, 3, 7, 64, 65, 129, 200, 255, 256, 257, 299, 300] {
        for set in &sets {
            let within: Vec<u64> = set.iter().copied().filter(|&i| i < size).collect();
            let single: Vec<Vec<_>> = within
                .iter()
                .map(|&i| store.inclusion_proof(i, size).unwrap())
                .collect();
            assert_eq!(
                store.inclusion_proofs(&within, size).unwrap(),
                single,
                "size {size}, leaves {within:?}"
            );
        }
    }
    assert!(matches!(
        store.inclusion_proofs(&[5, 300], 300),
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.inclusion_proofs(&[5], 301),
        Err(StoreError::Conflict { .. })
    ));
}

/// However appends are split into transactions and connections (`(connection, leaves)`
/// pairs), the stored tree is the RFC 6962 tree of the leaves in order, at every size.
pub fn any_split_into_transactions_gives_the_rfc6962_tree(
    b: &dyn Backend,
    batches: &[(usize, usize)],
) {
    let mut stores = [b.open_default("s"), b.open_default("s")];
    let mut hashes = Vec::new();
    for &(conn, n) in batches {
        for _ in 0..n {
            let leaf = EvidenceLeaf::ConfigChanged {
                at_us: hashes.len() as i64,
                source: format!("connection {conn}"),
                config: vec![hashes.len() as u8],
            };
            let index = stores[conn].append_evidence(&leaf).unwrap();
            assert_eq!(index, hashes.len() as u64);
            hashes.push(leaf_hash(&leaf.encode().unwrap()));
        }
    }
    let store = &stores[0];
    assert_eq!(store.evidence_size().unwrap(), hashes.len() as u64);
    for size in 0..=hashes.len() {
        assert_eq!(
            store.evidence_root(size as u64).unwrap(),
            root_from_leaf_hashes(&hashes[..size])
        );
    }
}

/// A key rotation (kind 0x08, signed by both keys) moves the whole-log check from one
/// key to the next: checkpoints before it verify with the old key, after it with the new
/// one, from either key as the anchor; a checkpoint signed by the retired key after the
/// rotation, a key outside the chain and a rotation signed by one key only all fail.
pub fn a_rotated_key_verifies_along_its_chain_and_nowhere_else(b: &dyn Backend) {
    use crate::export::sign_if_grown;
    let old = Signer::from_seed("skyfence.example/test", [5; 32]).unwrap();
    let new = Signer::from_seed("skyfence.example/test", [6; 32]).unwrap();
    let stranger = Signer::from_seed("skyfence.example/test", [7; 32]).unwrap();
    let config = |n: u8| EvidenceLeaf::ConfigChanged {
        at_us: ts(i64::from(n)).as_micros(),
        source: "skyfence.toml".into(),
        config: vec![b'#', n],
    };
    let rotation = |by: &Signer| EvidenceLeaf::KeyRotated {
        at_us: ts(10).as_micros(),
        note: skyfence_evidence::sign_rotation(&old, by, ts(10).as_micros()).unwrap(),
    };
    let build = |name: &str, rotated: &EvidenceLeaf, after: &Signer| {
        let mut store = b.open_default(name);
        store.append_evidence(&config(1)).unwrap();
        sign_if_grown(&mut *store, &old, ts(1)).unwrap().unwrap();
        store.append_evidence(rotated).unwrap();
        sign_if_grown(&mut *store, after, ts(11)).unwrap().unwrap();
        store.append_evidence(&config(2)).unwrap();
        sign_if_grown(&mut *store, after, ts(12)).unwrap().unwrap();
        store
    };

    let store = build("rotated", &rotation(&new), &new);
    // The rotation leaves, as a bundle gathers them: only those under the size asked.
    let rotations = store.key_rotation_leaves(3).unwrap();
    assert_eq!(rotations.len(), 1, "{rotations:?}");
    assert_eq!(rotations[0].0, 1);
    assert_eq!(
        EvidenceLeaf::decode(&rotations[0].1).unwrap(),
        rotation(&new)
    );
    assert!(store.key_rotation_leaves(1).unwrap().is_empty());
    for anchor in [&old, &new] {
        let report = verify_log(&*store, &anchor.verifier_key(), &[]).unwrap();
        assert!(report.is_valid(), "{report:?}");
        assert!(
            report.lines.iter().any(|(v, l)| *v == Verdict::Ok
                && l.starts_with("leaf 1: key rotation from")
                && l.ends_with("signed by both")),
            "{report:?}"
        );
        assert!(
            report
                .lines
                .iter()
                .any(|(_, l)| l.contains("1 key rotations")),
            "{report:?}"
        );
    }
    let report = verify_log(&*store, &stranger.verifier_key(), &[]).unwrap();
    assert!(!report.is_valid(), "{report:?}");
    assert!(
        report
            .lines
            .iter()
            .any(|(v, l)| *v == Verdict::Fail && l.contains("none of the keys")),
        "{report:?}"
    );

    // The retired key goes on signing after the rotation: those checkpoints fail.
    let store = build("retired", &rotation(&new), &old);
    let report = verify_log(&*store, &new.verifier_key(), &[]).unwrap();
    assert_eq!(report.failed, 2, "{report:?}");

    // A rotation the old key never signed (the new key alone claims the log).
    let mut note = skyfence_evidence::Note::parse(
        skyfence_evidence::sign_rotation(&old, &new, ts(10).as_micros())
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    note.signatures.remove(0);
    let unsigned = EvidenceLeaf::KeyRotated {
        at_us: ts(10).as_micros(),
        note: note.to_text(),
    };
    let store = build("unsigned", &unsigned, &new);
    let report = verify_log(&*store, &old.verifier_key(), &[]).unwrap();
    assert!(!report.is_valid(), "{report:?}");
    assert!(
        report.lines.iter().any(|(v, l)| *v == Verdict::Fail
            && l.contains("leaf 1: key rotation: the rotation note is not signed by the old key")),
        "{report:?}"
    );
}
