//! `skyfence relay` through the binary: its config errors, `skyfence run` refusing a
//! detector node's config with a `[[source]]` (sources belong to relays), and a relay publishing a receiver's
//! bytes to a real `nats-server -js` (`skyfence_testkit::nats`) with its `/metrics`
//! saying so, then stopping cleanly on SIGTERM.

mod common;

use std::io::{BufRead, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

fn write(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let p = dir.join("relay.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The example relay config (examples/relay.toml) loads and is a relay's.
#[test]
fn the_example_relay_config_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/relay.toml");
    let config = skyfence_service::config::Config::load(&path).unwrap();
    let settings = skyfence_service::relay::RelaySettings::from_config(&config, &path).unwrap();
    assert_eq!(settings.cluster.node, "kabul");
    assert_eq!(settings.cluster.nats.urls().len(), 3);
    assert_eq!(settings.sources.len(), 2);
    assert!(settings.relay.spool.ends_with("relay-spool"));
}

#[test]
fn config_errors_exit_2_naming_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let no_cluster = write(
        dir.path(),
        "[[source]]\nname = \"rx\"\ntype = \"beast\"\nlisten = \"127.0.0.1:0\"\n",
    );
    let out = Command::new(BIN)
        .args(["relay", "--config"])
        .arg(&no_cluster)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("skyfence relay needs [cluster]"), "{err}");

    let replay = write(
        dir.path(),
        "[cluster]\nnats = \"nats://127.0.0.1:4222\"\nnode = \"s1\"\n\n\
         [[source]]\nname = \"rx\"\ntype = \"beast\"\nreplay = \"x.bin\"\n",
    );
    let out = Command::new(BIN)
        .args(["relay", "--config"])
        .arg(&replay)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not replays"), "{err}");

    let run = write(
        dir.path(),
        "[cluster]\nnats = \"nats://127.0.0.1:4222\"\nnode = \"n1\"\n\n[[zones]]\ncountry = \"AF\"\n\n\
         [[source]]\nname = \"rx\"\ntype = \"beast\"\nlisten = \"127.0.0.1:0\"\n",
    );
    let out = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("belongs in a relay's config"), "{err}");
}

#[test]
fn the_relay_binary_publishes_and_counts() {
    let available = skyfence_testkit::nats::available().map(|_| ());
    if !skyfence_testkit::require_tool("relay binary test", available) {
        return;
    }
    let nats = skyfence_testkit::nats::NatsServer::start_new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = write(
        dir.path(),
        &format!(
            "[cluster]\nnats = \"{}\"\nnode = \"site-cli\"\n\n[relay]\nmetrics = \"127.0.0.1:0\"\n\n\
             [[source]]\nname = \"rx\"\ntype = \"beast\"\nlisten = \"{listen}\"\n",
            nats.url()
        ),
    );
    let mut child = Command::new(BIN)
        .args(["relay", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("skyfence relay: metrics at http://") {
                let _ = tx.send(rest.trim_end_matches("/metrics").to_string());
            }
        }
    });
    let metrics: SocketAddr = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap()
        .parse()
        .unwrap();
    let started = Instant::now();
    let mut conn = loop {
        if let Ok(c) = TcpStream::connect(listen) {
            break c;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no listen source"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    conn.write_all(&[
        0x1a, 0x33, 0, 0, 0, 0, 0, 1, 0x80, 0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3,
        0x2c, 0xe0, 0x57, 0x60, 0x98,
    ])
    .unwrap();
    let value = |body: &str, name: &str| -> u64 {
        body.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    loop {
        let (code, body) = common::http(metrics, "GET", "/metrics", None, None);
        assert_eq!(code, 200);
        if value(&body, "skyfence_relay_published_total") == 1 {
            assert_eq!(value(&body, "skyfence_relay_bytes_total"), 23);
            assert_eq!(value(&body, "skyfence_relay_nats_connected"), 1);
            assert_eq!(value(&body, "skyfence_relay_spool_full_total"), 0);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    common::stop_gracefully(&mut child);
}
