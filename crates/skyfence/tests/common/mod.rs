//! What the integration tests that run the real `skyfence` binary as a service share:
//! starting `skyfence run` and learning its address, and plain HTTP/1.0 requests over
//! real loopback sockets (no HTTP client library between the test and the service).
//! Each test crate uses a part of it.
#![allow(dead_code)]

pub mod browser;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

/// Spawns `cmd` (a `skyfence run ...`) with its log at `info` on a piped stderr, and waits
/// up to `deadline` for the `skyfence run: http://ADDR/` line it prints once the API
/// listens. Every stderr line goes to `on_line` (and to the test's own stderr when
/// `SKYFENCE_TEST_LOG` is set).
pub fn spawn_service(
    cmd: &mut Command,
    deadline: Duration,
    mut on_line: impl FnMut(&str) + Send + 'static,
) -> (Child, SocketAddr) {
    let mut child = cmd
        .env("SKYFENCE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn skyfence run");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(rest) = line.strip_prefix("skyfence run: http://") {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
                sent = true;
            }
            if std::env::var_os("SKYFENCE_TEST_LOG").is_some() {
                eprintln!("service: {line}");
            }
            on_line(&line);
        }
    });
    let addr = rx
        .recv_timeout(deadline)
        .expect("the service printed its URL");
    (child, addr.parse().expect("the printed address parses"))
}

/// One HTTP/1.0 request (the server closes the connection after its response): the
/// status and the body. `body` is sent as JSON; `token` as a bearer token.
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the service");
    let mut head = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        head.push_str("Content-Type: application/json\r\n");
    }
    if method != "GET" || !body.is_empty() {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("request head");
    s.write_all(body.as_bytes()).expect("request body");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("response");
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// SIGTERM, then wait: the graceful shutdown must exit 0.
pub fn stop_gracefully(child: &mut Child) {
    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let status = child.wait().expect("wait for the service");
    assert!(status.success(), "{status}");
}

/// `skyfence simulate --scenario af-pk-border --formats FORMATS` into a new temporary
/// directory (recordings, zones, permits, truth).
pub fn simulate_af_pk_border(formats: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary directory");
    let status = Command::new(env!("CARGO_BIN_EXE_skyfence"))
        .args([
            "simulate",
            "--scenario",
            "af-pk-border",
            "--formats",
            formats,
        ])
        .arg("--out-dir")
        .arg(dir.path())
        .stderr(Stdio::null())
        .status()
        .expect("run skyfence simulate");
    assert!(status.success(), "skyfence simulate: {status}");
    dir
}

/// The frames of the scenario's `beast.bin` in `dir`, in time order (the recording's
/// 12 MHz counter starts at the scenario's second 0, sim::builtin::af_pk_border).
pub fn af_pk_border_frames(dir: &std::path::Path) -> Vec<skyfence_decode::Frame> {
    use skyfence_decode::beast::{BeastClock, BeastDecoder};
    let bytes = std::fs::read(dir.join("beast.bin")).expect("beast.bin");
    let start = skyfence_core::Timestamp::parse_rfc3339("2023-11-14T22:00:00Z").expect("time");
    let (mut frames, _) = BeastDecoder::decode_all(BeastClock::Counter12Mhz { start }, &bytes);
    frames.sort_by_key(|f| f.at);
    frames
}

/// A bundle's files by name.
pub type Files = std::collections::BTreeMap<String, Vec<u8>>;

/// Every file of the bundle zip at `zip`.
pub fn read_bundle(zip: &std::path::Path) -> Files {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(zip).unwrap()).unwrap();
    let mut files = Files::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        files.insert(f.name().unwrap().to_string(), bytes);
    }
    files
}

/// Writes `files` as a deflated zip at `out`.
pub fn write_bundle(files: &Files, out: &std::path::Path) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}
