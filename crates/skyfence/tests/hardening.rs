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
        "GET /api/events HTTP/1.0\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\
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
    let (child, addr) = common::spawn_service(
        Command::new(BIN).args(["run", "--config"]).arg(&config),
        DEADLINE,
        |_| {},
    );
    let mut child = Killed(child);

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

    common::stop_gracefully(&mut child.0);
}

/// A loopback port nothing listens on now (bound and released).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The service under test, killed when the test ends however it ends: a failed assertion
/// must not leave it running.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the server closes `s` (EOF or reset) before the deadline; false when it is
/// still open then.
fn closed_by_server(s: &mut TcpStream) -> bool {
    use std::io::Read as _;
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    while started.elapsed() < Duration::from_secs(30) {
        match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return true,
        }
    }
    false
}

/// The value of metric line `name` (with its labels) in the `/metrics` text.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

/// Regression: slowloris connections stayed open for ever, and 1100 stalled connections
/// made the API unreachable; a listen source accepted anyone, any number of times.
/// Now: a request head not sent within `header_read_timeout_s` closes the connection;
/// beyond `max_connections` API connections are shed and the API answers again once
/// they close; a flooded listen source refuses what exceeds its `max_connections`
/// while the API stays reachable; a peer outside `allow_from` is refused.
#[test]
fn connections_are_limited_and_the_api_stays_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let (open_port, closed_port) = (free_port(), free_port());
    let config = config(
        dir.path(),
        "store.db",
        &format!(
            "[[source]]\nname = \"open\"\ntype = \"sbs\"\nlisten = \"127.0.0.1:{open_port}\"\nmax_connections = 2\n\n\
             [[source]]\nname = \"closed\"\ntype = \"sbs\"\nlisten = \"127.0.0.1:{closed_port}\"\nallow_from = [\"192.0.2.0/24\"]\n"
        ),
    );
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "listen = \"127.0.0.1:0\"",
        "listen = \"127.0.0.1:0\"\nmax_connections = 8\nheader_read_timeout_s = 1\nsend_timeout_s = 2",
    );
    std::fs::write(&config, text).unwrap();
    let (child, addr) = common::spawn_service(
        Command::new(BIN).args(["run", "--config"]).arg(&config),
        DEADLINE,
        |_| {},
    );
    let mut child = Killed(child);
    // The status of GET /api/health, 0 when the connection is refused or cut.
    let health = || {
        use std::io::Read as _;
        let Ok(mut s) = TcpStream::connect(addr) else {
            return 0;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
        let head =
            format!("GET /api/health HTTP/1.0\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
        if s.write_all(head.as_bytes()).is_err() {
            return 0;
        }
        let mut text = String::new();
        let _ = s.read_to_string(&mut text);
        text.split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(health(), 200);

    // Slowloris: half a request head, then nothing.
    let mut slow = TcpStream::connect(addr).unwrap();
    slow.write_all(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    assert!(
        closed_by_server(&mut slow),
        "a half-sent request head kept its connection"
    );

    // A slow reader: a few hundred pipelined requests for the border map, and nothing
    // read. Once the socket buffers are full the server's writes wait on the client;
    // after `send_timeout_s` the connection is closed, well before every response left.
    let mut reader = TcpStream::connect(addr).unwrap();
    let one = format!(
        "GET /map/borders.geojson HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
    );
    reader.write_all(one.repeat(400).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(6));
    let mut received = Vec::new();
    {
        use std::io::Read as _;
        reader
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    }
    let responses = received
        .windows(15)
        .filter(|w| w == b"HTTP/1.1 200 OK")
        .count();
    assert!(
        (1..400).contains(&responses),
        "{responses} of 400 responses ({} bytes) reached a reader that read nothing for 6 s",
        received.len()
    );

    // Eight idle connections fill the API; the ninth is closed at once.
    let idle: Vec<TcpStream> = (0..8).map(|_| TcpStream::connect(addr).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut ninth = TcpStream::connect(addr).unwrap();
    let _ = ninth.write_all(b"GET /api/health HTTP/1.0\r\nHost: x\r\n\r\n");
    assert!(closed_by_server(&mut ninth));
    drop(idle);
    // The idle ones end (closed by us, or by the header timeout) and the API answers.
    let until = Instant::now() + DEADLINE;
    while health() != 200 {
        assert!(Instant::now() < until, "the API never answered again");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A flood of receivers on a listen source: two are served, the rest refused, and
    // the API answers throughout.
    let open: SocketAddr = format!("127.0.0.1:{open_port}").parse().unwrap();
    let flood: Vec<TcpStream> = (0..40)
        .filter_map(|_| TcpStream::connect(open).ok())
        .collect();
    assert_eq!(flood.len(), 40);
    assert_eq!(health(), 200);
    // A peer outside allow_from: refused; its lines count nowhere.
    let closed: SocketAddr = format!("127.0.0.1:{closed_port}").parse().unwrap();
    let mut outsider = TcpStream::connect(closed).unwrap();
    let _ = outsider.write_all(
        b"MSG,3,1,1,0A0B0C,1,2023/11/14,22:00:00.000,2023/11/14,22:00:00.000,,1000,,,33.25,69.85,,,0,0,0,0\n",
    );
    assert!(closed_by_server(&mut outsider));
    let until = Instant::now() + DEADLINE;
    let metrics = loop {
        let (code, text) = common::http(addr, "GET", "/metrics", None, Some(TOKEN));
        assert_eq!(code, 200);
        if metric(
            &text,
            "skyfence_source_connections_refused_total{source=\"open\"}",
        ) >= 38.0
            && metric(
                &text,
                "skyfence_source_connections_refused_total{source=\"closed\"}",
            ) >= 1.0
        {
            break text;
        }
        assert!(Instant::now() < until, "refusals not counted:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        metric(&metrics, "skyfence_source_connected{source=\"open\"}"),
        2.0
    );
    assert_eq!(
        metric(&metrics, "skyfence_source_bytes_total{source=\"closed\"}"),
        0.0
    );
    assert!(metric(&metrics, "skyfence_http_connections_shed_total") >= 1.0);
    assert_eq!(metric(&metrics, "skyfence_http_send_timeouts_total"), 1.0);
    drop(flood);
    common::stop_gracefully(&mut child.0);
}
