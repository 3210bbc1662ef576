//! Crash test ("`kill -9` the service ... every incident confirmed before the
//! kill is there exactly once"): a child process writes batches and reports each commit;
//! it is killed with SIGKILL while writing, three times over, each new writer resuming
//! from what the file holds; the reopened file holds every reported batch exactly once
//! and no partial batch.
//!
//! The child is this test binary itself, running the ignored test `crash_writer_child`
//! with the database path in an environment variable.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::*;
use skyfence_core::detect::Event;
use skyfence_store::{
    Durability, IncidentFilter, IncidentStore, SqliteStore, StoreBatch, StoreOptions,
};

const CHILD_DB: &str = "SKYFENCE_STORE_CRASH_CHILD_DB";
const FRAMES_PER_BATCH: usize = 400;
const POSITIONS_PER_BATCH: usize = 50;

fn addr(n: u64) -> u32 {
    0x100000 + n as u32
}

/// Batch `n`: incident `n` confirmed, incident `n - 1` closed, then the positions and
/// frames of target `n`.
fn crash_batch(n: u64) -> StoreBatch {
    let src: Arc<str> = Arc::from("kabul-1");
    let entered = n as i64 * 100;
    let mut events = vec![confirmed(&open_incident(addr(n), "AF", entered))];
    if n > 0 {
        let prev = open_incident(addr(n - 1), "AF", entered - 100);
        events.push(closed_event(&closed(&prev, entered - 50)));
    }
    StoreBatch {
        events,
        snapshots: Vec::new(),
        positions: (0..POSITIONS_PER_BATCH as i64)
            .map(|s| position(addr(n), entered + s))
            .collect(),
        frames: (0..FRAMES_PER_BATCH as i64)
            .map(|k| frame(addr(n), entered, k * 1000, &src))
            .collect(),
    }
}

/// The writer, run as a child process by `kill_9_mid_write_loses_no_committed_batch`.
/// Durability NORMAL: the claim under test is that a process kill loses no commit even
/// without an fsync per commit.
#[test]
#[ignore = "child process of kill_9_mid_write_loses_no_committed_batch"]
fn crash_writer_child() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let mut store = SqliteStore::open_with(
        &path,
        StoreOptions {
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )
    .expect("child opens the store");
    // A restarted writer goes on after the last batch it finds, retrying that one first
    // (it cannot know whether its report got out before the kill).
    let found = store
        .incidents(&IncidentFilter {
            limit: Some(u32::MAX),
            ..IncidentFilter::default()
        })
        .expect("child reads the store")
        .len() as u64;
    if found > 0 {
        store
            .apply(&crash_batch(found - 1))
            .expect("child retries the last batch");
    }
    let mut out = std::io::stdout().lock();
    for n in found..found + 100_000 {
        store.apply(&crash_batch(n)).expect("child applies a batch");
        // Reported only once `apply` has returned, i.e. after the commit.
        if writeln!(out, "committed {n}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return; // the parent has gone
        }
    }
}

#[test]
fn kill_9_mid_write_loses_no_committed_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("skyfence.db");
    // Three writers in turn, each killed while writing, each resuming after the last.
    let mut reported: Option<u64> = None;
    for round in 1..=3u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "crash_writer_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = 0;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("committed ") {
                let n: u64 = n.parse().unwrap();
                assert!(reported.is_none_or(|r| n > r), "batch {n} reported twice");
                reported = Some(n);
                lines += 1;
                // Kill at a different point of the cycle each round.
                if lines >= 40 * round + round * 7 % 5 {
                    break;
                }
            }
        }
        // The child keeps writing batches until the signal lands: SIGKILL, as `kill -9`.
        child.kill().unwrap();
        let status = child.wait().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "{status:?}");
        }
    }
    let reported = reported.expect("the children reported commits");
    assert!(reported >= 40 + 80 + 120);

    let mut store = SqliteStore::open(&path).unwrap();
    let incidents = store
        .incidents(&IncidentFilter {
            limit: Some(1_000_000),
            ..IncidentFilter::default()
        })
        .unwrap();
    // Batches 0..k are there (k ≥ every reported one + 1), later ones not at all.
    let k = incidents.len() as u64;
    eprintln!("{} batches reported committed, {k} found", reported + 1);
    assert!(
        k > reported,
        "{k} incidents, {} batches reported",
        reported + 1
    );
    let mut expected_events: Vec<Event> = Vec::new();
    for n in 0..k {
        let b = crash_batch(n);
        expected_events.extend(b.events);
    }
    // Every event exactly once, in commit order.
    let stored: Vec<Event> = store
        .events_since(0, u32::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(stored.len(), expected_events.len());
    assert!(stored == expected_events, "events differ from the batches");
    // Incident n is closed by batch n + 1: only the last batch's incident is open.
    let open = store.open_incidents().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        open[0].incident,
        open_incident(addr(k - 1), "AF", (k - 1) as i64 * 100)
    );
    // No batch is partial: each present target has all its positions and frames, and
    // nothing of the next batch is there.
    let raw = rusqlite::Connection::open(&path).unwrap();
    let count = |table: &str, n: u64| -> usize {
        raw.query_row(
            &format!("SELECT count(*) FROM {table} WHERE target = ?1"),
            [target(addr(n)).to_string()],
            |r| r.get(0),
        )
        .unwrap()
    };
    for n in 0..k {
        assert_eq!(count("positions", n), POSITIONS_PER_BATCH, "batch {n}");
        assert_eq!(count("frames", n), FRAMES_PER_BATCH, "batch {n}");
    }
    assert_eq!(count("positions", k), 0);
    assert_eq!(count("frames", k), 0);

    // The restarted writer retries the batch it was not sure of and goes on: nothing twice.
    let retry = store.apply(&crash_batch(k - 1)).unwrap();
    assert_eq!(retry.event_seqs.iter().flatten().count(), 0);
    assert_eq!((retry.positions, retry.frames), (0, 0));
    let next = store.apply(&crash_batch(k)).unwrap();
    assert_eq!(next.event_seqs.iter().flatten().count(), 2);
    assert_eq!(store.open_incidents().unwrap().len(), 1);
}
