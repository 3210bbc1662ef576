//! The SQLite store on real files: round trips, idempotence, restart, filters, retention,
//! concurrent readers, acknowledgements, schema checks.

mod common;

use std::sync::Arc;

use common::*;
use skyfence_core::detect::{Event, IncidentStatus};
use skyfence_store::{
    IncidentFilter, IncidentStore, SCHEMA_VERSION, SqliteStore, StoreBatch, StoreError,
    StoreOptions,
};

/// A closed incident (A, 4840d6 in HELD-A), an open one (B, 484fde in AF), an approach,
/// with positions and frames of both targets.
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

#[test]
fn incidents_round_trip_through_a_reopened_file() {
    let (_dir, path) = temp();
    let (batch, a, b) = scenario();
    {
        let mut store = SqliteStore::open(&path).unwrap();
        let applied = store.apply(&batch).unwrap();
        assert_eq!(applied.event_seqs, vec![Some(1), Some(2), Some(3), Some(4)]);
        assert_eq!(applied.positions, 2 * 45);
        assert_eq!(applied.frames, 4);
    }
    let store = SqliteStore::open(&path).unwrap();
    // Newest entry first: B entered at +20 s, A at 0.
    assert_eq!(
        store.incidents(&IncidentFilter::default()).unwrap(),
        vec![b.clone(), a.clone()]
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
    assert_eq!(frames[0].frame.data(), &KLM1023_IDENT);
    assert_eq!(frames[0].frame.signal, Some(0x8c));
    let b_frames = store.incident_frames(b.id).unwrap().unwrap();
    assert_eq!(b_frames.len(), 1);
    assert_eq!(b_frames[0].frame.data(), &ALL_CALL_484FDE);
    assert_eq!(b_frames[0].frame.signal, None);
    assert!(b_frames[0].frame.mlat);

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
    assert!(
        store
            .incident(open_incident(1, "X", 0).id)
            .unwrap()
            .is_none()
    );
}

#[test]
fn reapplying_a_batch_stores_nothing_twice() {
    let (_dir, path) = temp();
    let (batch, a, b) = scenario();
    let mut store = SqliteStore::open(&path).unwrap();
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
        vec![b, a]
    );
}

#[test]
fn snapshots_follow_open_incidents_and_never_go_back() {
    let (_dir, path) = temp();
    let b = open_incident(0x484fde, "AF", 20);
    let mut store = SqliteStore::open(&path).unwrap();
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&b)],
            ..StoreBatch::default()
        })
        .unwrap();
    let mut later = b.clone();
    later.last_seen_at = ts(60);
    later.reports = 90;
    later.max_depth_m = 4000.0;
    store
        .apply(&StoreBatch {
            snapshots: vec![later.clone()],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(store.incident(b.id).unwrap().unwrap().incident, later);
    // An older snapshot (a retried batch) does not overwrite the newer one.
    store
        .apply(&StoreBatch {
            snapshots: vec![b.clone()],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(store.incident(b.id).unwrap().unwrap().incident.reports, 90);
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
    assert_eq!(store.incident(b.id).unwrap().unwrap().incident, gone);
    assert!(store.open_incidents().unwrap().is_empty());
}

#[test]
fn a_restart_resumes_each_open_incident_once_from_its_last_position() {
    let (_dir, path) = temp();
    let (batch, _a, b) = scenario();
    {
        let mut store = SqliteStore::open(&path).unwrap();
        store.apply(&batch).unwrap();
        store.apply(&batch).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let open = store.open_incidents().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].incident, b);
    // B was last seen at +30 s; positions exist every 10 s up to +40 s.
    let last = open[0].last.unwrap();
    assert_eq!(last.at, ts(30));
    assert_eq!(
        skyfence_store::TrackPoint::from(last),
        position(0x484fde, 30).point
    );
    assert_eq!(open[0].last_or_entry(), last);
    // Without positions, the entry point at the last time seen.
    let c = open_incident(0xabcdef, "AF", 100);
    let (_dir2, path2) = temp();
    let mut bare = SqliteStore::open(&path2).unwrap();
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

#[test]
fn filters_select_and_order_newest_first() {
    let (_dir, path) = temp();
    let mut store = SqliteStore::open(&path).unwrap();
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
    // Active since +160 s: i1 is open (last seen +10 s) but older, i2 ended at +150 s.
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

#[test]
fn retention_deletes_old_closed_incidents_and_keeps_open_ones_with_their_evidence() {
    let (_dir, path) = temp();
    let options = StoreOptions {
        pre_entry: std::time::Duration::from_secs(60),
        ..StoreOptions::default()
    };
    let mut store = SqliteStore::open_with(&path, options).unwrap();
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

#[test]
fn a_second_connection_reads_committed_batches_while_the_writer_works() {
    let (_dir, path) = temp();
    let mut writer = SqliteStore::open(&path).unwrap();
    let reader = writer.reader().unwrap();
    let b = open_incident(0x484fde, "AF", 0);
    writer
        .apply(&StoreBatch {
            events: vec![confirmed(&b)],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(reader.open_incidents().unwrap().len(), 1);

    // A write transaction in progress (held open by a raw connection, as the writer holds
    // one during `apply`) neither blocks the reader nor shows it uncommitted rows.
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch(&format!(
        "BEGIN IMMEDIATE; INSERT INTO positions VALUES ('484fde', {}, 33.0, 69.0, NULL);",
        T0 + 1_000_000
    ))
    .unwrap();
    assert!(reader.incident(b.id).unwrap().unwrap().positions.is_empty());
    raw.execute_batch("COMMIT").unwrap();
    assert_eq!(reader.incident(b.id).unwrap().unwrap().positions.len(), 1);
    // The reader is read-only.
    let mut reader = reader;
    assert!(matches!(
        reader.apply(&StoreBatch {
            positions: vec![position(0x484fde, 5)],
            ..StoreBatch::default()
        }),
        Err(StoreError::Sqlite { .. })
    ));

    // A writer thread commits batches of 100 positions while a reader thread polls: every
    // read sees whole batches only, and never fewer than before.
    let reader = writer.reader().unwrap();
    let batches = 50;
    let polls = std::thread::spawn(move || {
        let mut seen = Vec::new();
        loop {
            let n = reader.incident(b.id).unwrap().unwrap().positions.len() - 1;
            seen.push(n);
            if n == batches * 100 {
                return seen;
            }
            std::thread::yield_now();
        }
    });
    for k in 0..batches as i64 {
        writer
            .apply(&StoreBatch {
                positions: (0..100)
                    .map(|i| position(0x484fde, 10 + k * 100 + i))
                    .collect(),
                ..StoreBatch::default()
            })
            .unwrap();
    }
    let seen = polls.join().unwrap();
    assert!(seen.iter().all(|n| n % 100 == 0), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}

#[test]
fn acknowledgements_are_an_append_only_log() {
    let (_dir, path) = temp();
    let mut store = SqliteStore::open(&path).unwrap();
    let b = open_incident(0x484fde, "AF", 0);
    assert_eq!(
        store
            .acknowledge(b.id, ts(30), "ops", "before storing")
            .unwrap(),
        None
    );
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&b)],
            ..StoreBatch::default()
        })
        .unwrap();
    let first = store
        .acknowledge(b.id, ts(30), "major khan", "fighters scrambled")
        .unwrap()
        .unwrap();
    let second = store
        .acknowledge(b.id, ts(90), "lt. rahimi", "escorted out")
        .unwrap()
        .unwrap();
    assert_eq!((first.seq, second.seq), (1, 2));
    assert_eq!(store.acks(b.id).unwrap(), vec![first.clone(), second]);
    assert_eq!(
        serde_json::to_value(&first).unwrap()["at"],
        "2023-11-14T22:13:50.000Z"
    );
    let raw = rusqlite::Connection::open(&path).unwrap();
    let e = raw
        .execute("UPDATE acks SET note = 'nothing happened'", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
}

#[test]
fn delivery_cursors_start_at_zero_and_never_move_back() {
    let (_dir, path) = temp();
    let mut store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.delivery_cursor("webhook-0").unwrap(), 0);
    store.set_delivery_cursor("webhook-0", 7).unwrap();
    store.set_delivery_cursor("webhook-0", 3).unwrap();
    store.set_delivery_cursor("cot-1", 2).unwrap();
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.delivery_cursor("webhook-0").unwrap(), 7);
    assert_eq!(store.delivery_cursor("cot-1").unwrap(), 2);
}

#[test]
fn the_file_is_in_wal_mode_with_the_current_schema_version() {
    let (_dir, path) = temp();
    drop(SqliteStore::open(&path).unwrap());
    let raw = rusqlite::Connection::open(&path).unwrap();
    let q = |sql: &str| -> i64 { raw.query_row(sql, [], |r| r.get(0)).unwrap() };
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(q("PRAGMA user_version"), SCHEMA_VERSION);
    assert_eq!(q("PRAGMA application_id"), 0x534b_5946);
    // Reopening an up-to-date file migrates nothing and keeps its data.
    drop(raw);
    let mut store = SqliteStore::open(&path).unwrap();
    store
        .apply(&StoreBatch {
            events: vec![approach(1, "AF", 0)],
            ..StoreBatch::default()
        })
        .unwrap();
    store.close().unwrap();
    // Closing the last connection checkpointed the log into the file and removed it.
    assert!(!path.with_extension("db-wal").exists());
    assert_eq!(SqliteStore::open(&path).unwrap().last_seq().unwrap(), 1);
}

#[test]
fn foreign_and_newer_databases_are_refused_naming_the_file() {
    let (_dir, path) = temp();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
        .unwrap();
    drop(raw);
    let e = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(e, StoreError::NotSkyfence { found: 0, .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("not a skyfence database"), "{msg}");

    let (_dir2, path2) = temp();
    drop(SqliteStore::open(&path2).unwrap());
    let raw = rusqlite::Connection::open(&path2).unwrap();
    raw.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(raw);
    let e = SqliteStore::open(&path2).unwrap_err().to_string();
    assert!(
        e.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
        "{e}"
    );
    assert!(e.contains(&path2.display().to_string()), "{e}");

    let e = SqliteStore::open("/nonexistent-dir/skyfence.db")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("cannot open store /nonexistent-dir/skyfence.db"),
        "{e}"
    );
}

#[test]
fn a_corrupt_row_is_reported_with_its_table_and_key() {
    let (_dir, path) = temp();
    let mut store = SqliteStore::open(&path).unwrap();
    let b = open_incident(0x484fde, "AF", 0);
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&b)],
            ..StoreBatch::default()
        })
        .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    raw.execute("UPDATE incidents SET json = '{\"id\": 5}'", [])
        .unwrap();
    let e = store.open_incidents().unwrap_err().to_string();
    assert!(
        e.contains(&format!("corrupt incidents row {}", b.id)),
        "{e}"
    );
}

#[test]
fn retention_keeps_events_an_alert_sink_has_not_delivered() {
    let (_dir, path) = temp();
    let mut store = SqliteStore::open(&path).unwrap();
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
    let seqs: Vec<u64> = store
        .events_since(0, 10)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [4, 5]);

    // The hook is removed from the config: its cursor no longer holds retention back.
    assert_eq!(store.retain_delivery_cursors(&["cot"]).unwrap(), 1);
    assert_eq!(store.delivery_cursor_if_any("hook").unwrap(), None);
    let purged = store.purge_older_than(ts(1000)).unwrap();
    assert_eq!((purged.incidents, purged.events), (1, 2));
    assert!(store.events_since(0, 10).unwrap().is_empty());
}
