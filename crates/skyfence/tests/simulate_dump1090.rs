//! dump1090-mutability decodes the simulator's Beast output to the true positions: the
//! `round-trip` scenario (no noise, loss or corruption) is simulated, its `beast.bin`
//! is sent to the daemon on loopback, and every position it prints on its SBS port must
//! lie within 5 m of the true track of that aircraft (17-bit CPR: ≈ 5.1 m latitude
//! steps, so ≤ 3.6 m; dump1090 prints 5 decimals, ≤ 0.8 m more).
//!
//! The daemon runs `--net-only` on free 127.0.0.1 ports and is killed when the test
//! ends. Without the daemon the test is skipped, except in CI, where it
//! fails (`skyfence_testkit::require_tool`).
//! The check is by distance to the nearest true point, not by time: the daemon stamps
//! messages with its own clock as they arrive.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

/// Kills and reaps the daemon however the test ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// Connects to `port`, retrying while the daemon starts.
fn connect(port: u16) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect((Ipv4Addr::LOCALHOST, port)) {
            Ok(s) => return s,
            Err(e) if Instant::now() > deadline => panic!("daemon port {port}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((lon2 - lon1).to_radians() / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

#[test]
fn dump1090_decodes_the_simulated_beast_stream_to_the_true_positions() {
    let path = std::env::var("SKYFENCE_DUMP1090").unwrap_or("dump1090-mutability".into());
    let installed = match Command::new(&path).arg("--help").output() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "{path} is not installed (apt-get install dump1090-mutability)"
        )),
    };
    if !skyfence_testkit::require_tool("simulate-to-dump1090 test", installed) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("skyfence-sim-dump1090-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios/round-trip.toml");
    let out = Command::new(BIN)
        .args([
            "simulate",
            "--scenario",
            scenario.to_str().unwrap(),
            "--seed",
            "3",
            "--out-dir",
        ])
        .arg(&dir)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let p = free_ports(5);
    let daemon = Daemon(
        Command::new(&path)
            .args([
                "--net-only",
                "--net-bind-address",
                "127.0.0.1",
                "--net-http-port",
                "0",
            ])
            .args([
                "--net-ri-port",
                &p[0].to_string(),
                "--net-ro-port",
                &p[1].to_string(),
            ])
            .args([
                "--net-sbs-port",
                &p[2].to_string(),
                "--net-bi-port",
                &p[3].to_string(),
            ])
            .args(["--net-bo-port", &p[4].to_string()])
            .args(["--net-heartbeat", "0", "--no-fix", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut sbs = connect(p[2]);
    sbs.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut beast = connect(p[3]);
    // The daemon only sends SBS to clients registered before a message is decoded.
    std::thread::sleep(Duration::from_millis(300));
    beast
        .write_all(&std::fs::read(dir.join("beast.bin")).unwrap())
        .unwrap();
    beast.flush().unwrap();
    let mut text = Vec::new();
    let mut buf = [0u8; 65536];
    let mut quiet_since = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(20);
    // Read until the daemon has been silent for 2 s.
    while Instant::now() < deadline && quiet_since.elapsed() < Duration::from_secs(2) {
        match sbs.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                text.extend_from_slice(&buf[..n]);
                quiet_since = Instant::now();
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("reading SBS: {e}"),
        }
    }
    drop(daemon);

    // True positions per aircraft.
    let tracks = std::fs::read_to_string(dir.join("truth-tracks.csv")).unwrap();
    let mut truth: std::collections::HashMap<String, Vec<(f64, f64)>> = Default::default();
    for line in tracks.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        truth
            .entry(f[1].to_owned())
            .or_default()
            .push((f[2].parse().unwrap(), f[3].parse().unwrap()));
    }
    let mut checked: std::collections::BTreeMap<String, usize> = Default::default();
    for line in String::from_utf8_lossy(&text).lines() {
        let f: Vec<&str> = line.split(',').collect();
        if f.len() < 16 || f[0] != "MSG" || f[14].is_empty() || f[15].is_empty() {
            continue;
        }
        let icao = f[4].to_ascii_lowercase();
        let (lat, lon): (f64, f64) = (f[14].parse().unwrap(), f[15].parse().unwrap());
        let nearest = truth[&icao]
            .iter()
            .map(|&(a, b)| distance_m(lat, lon, a, b))
            .fold(f64::INFINITY, f64::min);
        assert!(
            nearest < 5.0,
            "{icao}: dump1090 printed ({lat}, {lon}), {nearest:.1} m from the track"
        );
        *checked.entry(icao).or_default() += 1;
    }
    // All three aircraft placed, each many times.
    assert_eq!(checked.len(), 3, "{checked:?}");
    assert!(checked.values().all(|&n| n >= 20), "{checked:?}");
    let _ = std::fs::remove_dir_all(dir);
}
