//! What a hostile client or an unlucky operator found, each a regression test against the
//! real `skyfence run` over loopback: SSE replay pages through every stored event (it
//! used to stop after the first 1000 and jump to the live feed) and answers an id beyond
//! the newest with a `reset` event.
//!
//! Deadlines only stop a broken run from hanging; nothing asserts on time.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use skyfence_store::conformance::fixtures::approach;
use skyfence_store::{IncidentStore, SqliteStore, StoreBatch};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const DEADLINE: Duration = Duration::from_secs(120);
const TOKEN: &str = "hardening-token";

/// A config for a store `store` in `dir` with a zone and the API token; `extra` is
/// appended.
fn config(dir: &Path, store: &str, extra: &str) -> PathBuf {
    std::fs::write(
        dir.join("zones.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"HELD-A"},
        "geometry":{"type":"Polygon","coordinates":[[[69.8,33.2],[69.9,33.2],[69.9,33.3],[69.8,33.2]]]}}]}"#,
    )
    .unwrap();
    let path = dir.join("skyfence.toml");
    std::fs::write(
        &path,
        format!(
            "[[zones]]\nfile = \"zones.geojson\"\n\n[server]\nlisten = \"127.0.0.1:0\"\napi_token = \"{TOKEN}\"\n\n\
             [store]\npath = \"{store}\"\n\n{extra}"
        ),
    )
    .unwrap();
    path
}

/// The SSE events (`event`, `id`, `data`) of `GET /api/events` with `Last-Event-ID: id`,
/// read until `enough` holds of what was read (or the deadline).
fn sse(
    addr: SocketAddr,
    last_event_id: u64,
    mut enough: impl FnMut(&[(String, Option<u64>, String)]) -> bool,
) -> Vec<(String, Option<u64>, String)> {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET /api/events HTTP/1.0\r\nHost: test\r\nAccept: text/event-stream\r\n\
         Authorization: Bearer {TOKEN}\r\nLast-Event-ID: {last_event_id}\r\n\r\n"
    )
    .unwrap();
    let started = Instant::now();
    let mut out = Vec::new();
    // An event's fields come in any order and end at a blank line.
    let (mut kind, mut id, mut data) = (String::new(), None, None);
    for line in BufReader::new(s).lines() {
        let Ok(line) = line else { break };
        if let Some(k) = line.strip_prefix("event: ") {
            kind = k.to_string();
        } else if let Some(i) = line.strip_prefix("id: ") {
            id = i.parse().ok();
        } else if let Some(d) = line.strip_prefix("data: ") {
            data = Some(d.to_string());
        } else if line.is_empty()
            && let Some(d) = data.take()
        {
            out.push((std::mem::take(&mut kind), id.take(), d));
            if enough(&out) {
                break;
            }
        }
        if started.elapsed() > DEADLINE {
            break;
        }
    }
    out
}

/// Regression: `Last-Event-ID: 0` with 1343 stored events delivered 1–1000 and then
/// jumped to the live feed. Every stored event now comes, in order, without a gap; an id
/// beyond the newest gets a `reset` event naming both.
#[test]
fn sse_replay_pages_through_every_stored_event() {
    const STORED: u64 = 1343;
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = SqliteStore::open(dir.path().join("store.db")).unwrap();
        for chunk in 0..(STORED / 100 + 1) {
            let events = (chunk * 100..((chunk + 1) * 100).min(STORED))
                .map(|i| approach(0x0a0000 + i as u32, "HELD-A", i as i64))
                .collect();
            store
                .apply(&StoreBatch {
                    events,
                    ..StoreBatch::default()
                })
                .unwrap();
        }
        assert_eq!(store.last_seq().unwrap(), STORED);
    }
    let config = config(dir.path(), "store.db", "");
    let (mut child, addr) = common::spawn_service(
        Command::new(BIN).args(["run", "--config"]).arg(&config),
        DEADLINE,
        |_| {},
    );

    let events = sse(addr, 0, |e| e.len() as u64 >= STORED);
    let ids: Vec<u64> = events.iter().filter_map(|(_, id, _)| *id).collect();
    assert_eq!(
        ids.len() as u64,
        STORED,
        "{:?}",
        &events[events.len().saturating_sub(3)..]
    );
    assert!(
        ids.iter().zip(1..).all(|(id, want)| *id == want),
        "ids out of order or with a gap"
    );
    assert!(events.iter().all(|(k, _, _)| k == "approach"));

    // From the middle: the rest, exactly.
    let events = sse(addr, 1200, |e| e.len() as u64 >= STORED - 1200);
    let ids: Vec<u64> = events.iter().filter_map(|(_, id, _)| *id).collect();
    assert_eq!(ids, (1201..=STORED).collect::<Vec<_>>());

    // Beyond the newest: a reset event first, naming the id and the newest.
    let events = sse(addr, 99_999, |e| !e.is_empty());
    let (kind, id, data) = &events[0];
    assert_eq!((kind.as_str(), *id), ("reset", None), "{events:?}");
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(v["last_event_id"], 99_999);
    assert_eq!(v["newest"], STORED);

    common::stop_gracefully(&mut child);
}
