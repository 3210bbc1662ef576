//! What only the SQLite backend has to show, on real files: concurrent readers under WAL,
//! the append-only trigger on acknowledgements, schema and file checks, error kinds.
//! Everything every backend promises is in the conformance suite (tests/conformance.rs).

mod common;

use common::*;
use skyfence_store::{IncidentStore, SCHEMA_VERSION, SqliteStore, StoreBatch, StoreError};

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
        Err(StoreError::Backend { .. })
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
fn the_acks_table_refuses_updates() {
    let (_dir, path) = temp();
    let mut store = SqliteStore::open(&path).unwrap();
    let b = open_incident(0x484fde, "AF", 0);
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&b)],
            ..StoreBatch::default()
        })
        .unwrap();
    store
        .acknowledge(b.id, ts(30), "major khan", "fighters scrambled")
        .unwrap()
        .unwrap();
    let raw = rusqlite::Connection::open(&path).unwrap();
    let e = raw
        .execute("UPDATE acks SET note = 'nothing happened'", [])
        .unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
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
