//! The WAL stays bounded under heavy writing while readers keep snapshots open.
//!
//! Regression: checkpoints were PASSIVE only, which copy the WAL into the database file but
//! never restart it while some reader is using it; with the API's readers overlapping, a
//! busy service's WAL grew to gigabytes (only shutdown truncated it). Here a writer appends
//! 64 MiB of leaves as fast as it can, two readers keep overlapping read transactions open
//! the whole time, and a housekeeping thread calls `maintain` every 100 ms as the service
//! does; the WAL file's size, sampled after every commit, stays within
//! `wal_limit_bytes`. Every loop is bounded by a count, not a clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use skyfence_evidence::EvidenceLeaf;
use skyfence_store::{Durability, EvidenceLogStore, SqliteStore, Store, StoreOptions};

const LIMIT: u64 = 16 << 20;
const LEAF_BYTES: usize = 64 << 10;
const LEAVES: usize = 1024;

#[test]
fn heavy_writing_with_overlapping_readers_keeps_the_wal_under_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wal.db");
    let options = StoreOptions {
        durability: Durability::Normal,
        auto_checkpoint: false,
        wal_limit_bytes: LIMIT,
        ..StoreOptions::default()
    };
    let mut writer = SqliteStore::open_with(&path, options).unwrap();
    let housekeeper = SqliteStore::open_with(&path, options).unwrap();
    let done = Arc::new(AtomicBool::new(false));

    // Two readers, each holding a read transaction for 20 ms, offset by 10 ms: at every
    // moment one of them is using a snapshot.
    let readers: Vec<_> = (0..2u64)
        .map(|k| {
            let (path, done) = (path.clone(), done.clone());
            thread::spawn(move || {
                thread::sleep(Duration::from_millis(10 * k));
                let mut conn = rusqlite::Connection::open(&path).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                let mut reads = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let tx = conn.transaction().unwrap();
                    let _: i64 = tx
                        .query_row("SELECT count(*) FROM evidence_leaves", [], |r| r.get(0))
                        .unwrap();
                    thread::sleep(Duration::from_millis(20));
                    tx.commit().unwrap();
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    let keeper = {
        let done = done.clone();
        thread::spawn(move || {
            let mut failures = 0u32;
            while !done.load(Ordering::Relaxed) {
                if housekeeper.maintain().is_err() {
                    failures += 1;
                }
                thread::sleep(Duration::from_millis(100));
            }
            failures
        })
    };

    let mut wal_max = 0;
    for i in 0..LEAVES {
        let mut config = vec![b'x'; LEAF_BYTES];
        config[..8].copy_from_slice(&(i as u64).to_le_bytes());
        writer
            .append_evidence(&EvidenceLeaf::ConfigChanged {
                at_us: i as i64,
                source: "wal test".into(),
                config,
            })
            .unwrap();
        wal_max = wal_max.max(writer.wal_bytes());
    }
    done.store(true, Ordering::Relaxed);
    let reads: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let failures = keeper.join().unwrap();
    eprintln!(
        "{} MiB written; WAL at most {:.1} MiB (limit {} MiB); {reads} reads; {failures} busy checkpoints",
        (LEAVES * LEAF_BYTES) >> 20,
        wal_max as f64 / f64::from(1 << 20),
        LIMIT >> 20
    );
    assert!(reads > 0, "the readers never read");
    assert!(
        wal_max <= LIMIT,
        "the WAL reached {wal_max} bytes, over its limit of {LIMIT}"
    );
    assert_eq!(writer.evidence_size().unwrap(), LEAVES as u64);
}
