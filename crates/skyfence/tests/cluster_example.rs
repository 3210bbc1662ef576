//! `examples/cluster/start.sh`, the script the README gives for a cluster on loopback,
//! run as a user would: three routed `nats-server -js` processes, PostgreSQL with
//! PostGIS and two `skyfence run` detector nodes; `GET /api/cluster` on both nodes
//! shows the partitions split evenly, and `examples/cluster/stop.sh` stops every
//! process it started. Skipped with a message without nats-server or PostgreSQL; a
//! failure under `CI=true`.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const DEADLINE: Duration = Duration::from_secs(60);

fn available() -> Result<(), String> {
    skyfence_testkit::nats::available()?;
    skyfence_testkit::postgres::server().map(|_| ())
}

/// A base port whose block of 32 is free (the script's ports are BASE..BASE+31).
fn free_base() -> u16 {
    let seed = std::process::id() as u16 % 900;
    for k in 0..900u16 {
        let base = 30_000 + ((seed + k) % 900) * 32;
        if (base..base + 32).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
    panic!("no free block of 32 loopback ports");
}

#[test]
fn the_example_cluster_script_starts_two_nodes_that_split_the_partitions() {
    if !skyfence_testkit::require_tool("example cluster test", available()) {
        return;
    }
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cluster");
    let dir = tempfile::tempdir().unwrap();
    let base = free_base();
    let out = Command::new("sh")
        .arg(examples.join("start.sh"))
        .arg(dir.path())
        .env("SKYFENCE", BIN)
        .env("BASE_PORT", base.to_string())
        .env("PARTITIONS", "8")
        .output()
        .unwrap();
    let stop = || {
        Command::new("sh")
            .arg(examples.join("stop.sh"))
            .arg(dir.path())
            .status()
            .unwrap()
    };
    if !out.status.success() {
        stop();
        panic!(
            "start.sh failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let nodes: Vec<SocketAddr> = [30, 31]
        .iter()
        .map(|k| SocketAddr::from(([127, 0, 0, 1], base + k)))
        .collect();
    let started = Instant::now();
    let split = loop {
        let ok = nodes
            .iter()
            .all(|a| std::net::TcpStream::connect(a).is_ok());
        if ok {
            let (code, body) = common::http(nodes[0], "GET", "/api/cluster", None, None);
            if code == 200 {
                let v: Value = serde_json::from_str(&body).unwrap();
                let counts: Vec<usize> = v["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n["partitions"].as_array().unwrap().len())
                    .collect();
                if counts == [4, 4] {
                    break v;
                }
            }
        }
        if started.elapsed() > DEADLINE {
            stop();
            panic!("no even split in time");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let (code, body) = common::http(nodes[1], "GET", "/api/cluster", None, None);
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["node"], "n2");
    assert_eq!(v["nodes"], split["nodes"]);
    assert!(stop().success());
    let pids = std::fs::read_to_string(dir.path().join("pids")).unwrap();
    assert_eq!(pids.lines().count(), 5);
    let started = Instant::now();
    for pid in pids.lines() {
        while Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
        {
            assert!(started.elapsed() < DEADLINE, "process {pid} still runs");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
