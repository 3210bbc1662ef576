//! skyfence's encoders checked by a real receiver daemon: frames built by
//! `skyfence_decode` (ADS-B identification, even/odd airborne positions, velocity over
//! ground, DF5 identity replies) are sent as Beast binary to dump1090-mutability on
//! loopback, and what it decodes, read back from its SBS (BaseStation) output, must be
//! what was encoded.
//!
//! The daemon runs `--net-only` (no radio) with every port on 127.0.0.1, chosen free at
//! run time, and is killed when the test ends, also when it fails (see [`Daemon`]).
//! `.ci/run` installs it (`apt-get install dump1090-mutability`); without it this test
//! fails in CI and is skipped, with a message, elsewhere
//! (`skyfence_testkit::require_tool`).
//!
//! dump1090-mutability's own rounding sets the tolerances: it prints ground speed and
//! track in whole units (speed truncated; track seen up to 1.2° off the exact
//! `atan2` value of the encoded components, e.g. 182.88° printed as 184), positions
//! with 5 decimals, altitude in feet and vertical rate in ft/min exactly.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skyfence_core::{Callsign, EmitterCategory, GeoPoint, Icao24, Squawk, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::adsb::{
    encode_airborne_position, encode_identification, encode_velocity_ground,
};
use skyfence_decode::beast::encode_beast_since;
use skyfence_decode::modes::encode_identity_reply;

/// The daemon's executable (override with `SKYFENCE_DUMP1090`).
fn dump1090_path() -> String {
    std::env::var("SKYFENCE_DUMP1090").unwrap_or_else(|_| "dump1090-mutability".to_owned())
}

/// One aircraft as encoded: the truth the daemon's output is checked against.
struct Aircraft {
    icao: u32,
    callsign: &'static str,
    category: (u8, u8),
    lat: f64,
    lon: f64,
    alt_ft: i32,
    gs_kt: f32,
    track_deg: f32,
    /// A multiple of 64 ft/min, the resolution of the vertical rate field.
    vrate_fpm: i32,
    /// Mode A code as 4 octal digits.
    squawk: &'static str,
}

/// Aircraft spread over both hemispheres, both sides of the Greenwich meridian and a
/// high latitude (few longitude zones), with climbs, descents and level flight.
const FLEET: &[Aircraft] = &[
    Aircraft {
        icao: 0x4ca7b5,
        callsign: "EIN123",
        category: (b'A', 3),
        lat: 53.421_3,
        lon: -6.270_1,
        alt_ft: 37_000,
        gs_kt: 451.0,
        track_deg: 95.0,
        vrate_fpm: -640,
        squawk: "2201",
    },
    Aircraft {
        icao: 0x3c6586,
        callsign: "DLH4AB",
        category: (b'A', 5),
        lat: 50.033_3,
        lon: 8.570_6,
        alt_ft: 12_025,
        gs_kt: 280.0,
        track_deg: 250.3,
        vrate_fpm: 1984,
        squawk: "1000",
    },
    Aircraft {
        icao: 0x70c0d1,
        callsign: "AFG101",
        category: (b'A', 3),
        lat: 34.561_2,
        lon: 69.207_5,
        alt_ft: 31_000,
        gs_kt: 430.0,
        track_deg: 12.5,
        vrate_fpm: 0,
        squawk: "7700",
    },
    Aircraft {
        icao: 0x7c1abc,
        callsign: "QFA1",
        category: (b'A', 5),
        lat: -33.946_1,
        lon: 151.177_2,
        alt_ft: 41_000,
        gs_kt: 520.0,
        track_deg: 300.0,
        vrate_fpm: -1216,
        squawk: "3012",
    },
    Aircraft {
        icao: 0xa1b2c3,
        callsign: "N123AB",
        category: (b'A', 1),
        lat: 40.641_3,
        lon: -73.778_1,
        alt_ft: 2_500,
        gs_kt: 140.0,
        track_deg: 310.0,
        vrate_fpm: 704,
        squawk: "1200",
    },
    Aircraft {
        icao: 0x4ab3c2,
        callsign: "SAS4416",
        category: (b'A', 3),
        lat: 78.246_1,
        lon: 15.465_6,
        alt_ft: 8_000,
        gs_kt: 210.0,
        track_deg: 175.0,
        vrate_fpm: -1024,
        squawk: "6001",
    },
];

/// A running dump1090-mutability, killed (and reaped) when dropped, so no test
/// outcome leaves it behind.
struct Daemon {
    child: Child,
    beast_in: u16,
    sbs_out: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` distinct TCP ports free on 127.0.0.1 right now (held open together so they
/// differ, then released for the daemon).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local address").port())
        .collect()
}

/// Starts the daemon on fresh loopback ports and waits until its SBS port accepts;
/// retries with other ports if one was taken in between.
fn start_daemon(path: &str) -> Daemon {
    let mut last_error = String::new();
    for _attempt in 0..3 {
        let p = free_ports(5);
        let child = Command::new(path)
            .args(["--net-only", "--net-bind-address", "127.0.0.1"])
            .args(["--net-http-port", "0"])
            .args(["--net-ri-port", &p[0].to_string()])
            .args(["--net-ro-port", &p[1].to_string()])
            .args(["--net-sbs-port", &p[2].to_string()])
            .args(["--net-bi-port", &p[3].to_string()])
            .args(["--net-bo-port", &p[4].to_string()])
            .args(["--net-heartbeat", "0", "--no-fix", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let mut daemon = Daemon {
            child,
            beast_in: p[3],
            sbs_out: p[2],
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = daemon.child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = daemon.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                last_error = format!("{path} exited with {status}: {}", err.trim());
                break;
            }
            let ready = [daemon.sbs_out, daemon.beast_in].iter().all(|&port| {
                TcpStream::connect_timeout(
                    &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                    Duration::from_millis(200),
                )
                .is_ok()
            });
            if ready {
                return daemon;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if last_error.is_empty() {
            last_error = format!("{path} did not open its ports within 10 s");
        }
    }
    panic!("could not start dump1090-mutability: {last_error}");
}

/// The Beast stream for the whole fleet: per aircraft, identification twice (dump1090
/// forwards an address's messages only once it has heard it more than once), an even
/// and an odd airborne position of the same point, the velocity and a DF5 reply.
fn fleet_beast_stream() -> Vec<u8> {
    let start = Timestamp::from_secs(1_700_000_000);
    let mut at = start;
    let mut out = Vec::new();
    let mut push = |bytes: &[u8], out: &mut Vec<u8>| {
        at = at.add_micros(100_000);
        let frame = Frame::new(at, bytes).expect("a 7- or 14-byte frame");
        encode_beast_since(&frame, start, out);
    };
    for a in FLEET {
        let icao = Icao24::new(a.icao).expect("24-bit address");
        let callsign = Callsign::new(a.callsign.as_bytes()).expect("valid callsign");
        let category = EmitterCategory::new(a.category.0, a.category.1).expect("category");
        let position = GeoPoint::new(a.lat, a.lon);
        let squawk = Squawk::new(u16::from_str_radix(a.squawk, 8).expect("octal squawk"))
            .expect("12-bit squawk");
        let ident = encode_identification(icao, Some(category), &callsign).expect("encode ident");
        push(&ident, &mut out);
        push(&ident, &mut out);
        for odd in [false, true] {
            let pos = encode_airborne_position(icao, position, Some(a.alt_ft), odd)
                .expect("encode position");
            push(&pos, &mut out);
        }
        let vel = encode_velocity_ground(icao, a.gs_kt, a.track_deg, Some(a.vrate_fpm));
        push(&vel, &mut out);
        let id = encode_identity_reply(icao, 0, squawk).expect("encode DF5");
        push(&id, &mut out);
        push(&id, &mut out);
    }
    out
}

/// What dump1090 reported for one address, merged over its SBS lines.
#[derive(Default, Debug)]
struct Reported {
    callsign: Option<String>,
    alt_ft: Option<i32>,
    position: Option<(f64, f64)>,
    gs_kt: Option<f64>,
    track_deg: Option<f64>,
    vrate_fpm: Option<i32>,
    squawk: Option<String>,
    /// SBS "Emergency" flag (field 20): set by dump1090 for squawks 7500/7600/7700.
    emergency: Option<bool>,
}

impl Reported {
    fn complete(&self) -> bool {
        self.callsign.is_some()
            && self.alt_ft.is_some()
            && self.position.is_some()
            && self.gs_kt.is_some()
            && self.track_deg.is_some()
            && self.vrate_fpm.is_some()
            && self.squawk.is_some()
    }
}

/// Parses one SBS line (`MSG,type,session,aircraft,HEX,flight,date,time,date,time,
/// callsign,altitude,speed,track,lat,lon,vrate,squawk,...`) into `seen`.
fn record_sbs_line(line: &str, seen: &mut HashMap<u32, Reported>) {
    let f: Vec<&str> = line.trim_end().split(',').collect();
    if f.len() < 18 || f[0] != "MSG" {
        return;
    }
    let Ok(icao) = u32::from_str_radix(f[4], 16) else {
        return;
    };
    let r = seen.entry(icao).or_default();
    let text = |i: usize| Some(f[i].trim()).filter(|s| !s.is_empty());
    if let Some(cs) = text(10) {
        r.callsign = Some(cs.to_owned());
    }
    if let Some(v) = text(11).and_then(|s| s.parse().ok()) {
        r.alt_ft = Some(v);
    }
    if let Some(v) = text(12).and_then(|s| s.parse().ok()) {
        r.gs_kt = Some(v);
    }
    if let Some(v) = text(13).and_then(|s| s.parse().ok()) {
        r.track_deg = Some(v);
    }
    if let (Some(lat), Some(lon)) = (
        text(14).and_then(|s| s.parse().ok()),
        text(15).and_then(|s| s.parse().ok()),
    ) {
        r.position = Some((lat, lon));
    }
    if let Some(v) = text(16).and_then(|s| s.parse().ok()) {
        r.vrate_fpm = Some(v);
    }
    if let Some(sq) = text(17) {
        r.squawk = Some(sq.to_owned());
        r.emergency = text(19).map(|e| e == "-1");
    }
}

/// Angle between two bearings, degrees.
fn angle_between(a: f64, b: f64) -> f64 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

#[test]
fn dump1090_decodes_what_skyfence_encodes() {
    let path = dump1090_path();
    let installed = match Command::new(&path).arg("--help").output() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "{path} is not installed (apt-get install dump1090-mutability)"
        )),
    };
    if !skyfence_testkit::require_tool("dump1090 test", installed) {
        return;
    }
    let daemon = start_daemon(&path);

    let mut sbs = TcpStream::connect((Ipv4Addr::LOCALHOST, daemon.sbs_out)).expect("connect SBS");
    sbs.set_read_timeout(Some(Duration::from_millis(200)))
        .expect("read timeout");
    let mut beast =
        TcpStream::connect((Ipv4Addr::LOCALHOST, daemon.beast_in)).expect("connect Beast in");
    // dump1090 sends SBS only to clients connected when a message is decoded: give it
    // a moment to register the SBS client before the frames arrive.
    std::thread::sleep(Duration::from_millis(300));
    beast.write_all(&fleet_beast_stream()).expect("send Beast");
    beast.flush().expect("flush Beast");

    let mut seen: HashMap<u32, Reported> = HashMap::new();
    let mut pending = String::new();
    let mut transcript = String::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut buf = [0u8; 8192];
    while Instant::now() < deadline {
        if FLEET
            .iter()
            .all(|a| seen.get(&a.icao).is_some_and(Reported::complete))
        {
            break;
        }
        match sbs.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                while let Some(end) = pending.find('\n') {
                    let line: String = pending.drain(..=end).collect();
                    transcript.push_str(&line);
                    record_sbs_line(&line, &mut seen);
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("reading SBS output: {e}"),
        }
    }
    drop(daemon);

    let mut failures = Vec::new();
    for a in FLEET {
        let Some(r) = seen.get(&a.icao) else {
            failures.push(format!("{:06x}: nothing decoded", a.icao));
            continue;
        };
        let who = format!("{:06x} {}", a.icao, a.callsign);
        if r.callsign.as_deref() != Some(a.callsign) {
            failures.push(format!("{who}: callsign {:?}", r.callsign));
        }
        if r.alt_ft != Some(a.alt_ft) {
            failures.push(format!(
                "{who}: altitude {:?}, encoded {}",
                r.alt_ft, a.alt_ft
            ));
        }
        match r.position {
            // CPR quantises to 360/60/2^17 ≈ 4.6e-5° of latitude and a zone/2^17 of
            // longitude (< 1e-4° up to 60° and < 3e-4° at 78°), rounded to the nearest
            // step; dump1090 prints 5 decimals.
            Some((lat, lon)) => {
                let lon_tol = 1e-4 / a.lat.to_radians().cos().max(0.2);
                if (lat - a.lat).abs() > 1e-4 || (lon - a.lon).abs() > lon_tol {
                    failures.push(format!(
                        "{who}: position ({lat}, {lon}), encoded ({}, {})",
                        a.lat, a.lon
                    ));
                }
            }
            None => failures.push(format!("{who}: no position")),
        }
        match r.gs_kt {
            // Components are whole knots, and dump1090 truncates the speed it prints.
            Some(gs) if (gs - f64::from(a.gs_kt)).abs() < 1.5 => {}
            other => failures.push(format!(
                "{who}: ground speed {other:?}, encoded {}",
                a.gs_kt
            )),
        }
        match r.track_deg {
            Some(t) if angle_between(t, f64::from(a.track_deg)) <= 2.0 => {}
            other => failures.push(format!("{who}: track {other:?}, encoded {}", a.track_deg)),
        }
        if r.vrate_fpm != Some(a.vrate_fpm) {
            failures.push(format!(
                "{who}: vertical rate {:?}, encoded {}",
                r.vrate_fpm, a.vrate_fpm
            ));
        }
        if r.squawk.as_deref() != Some(a.squawk) {
            failures.push(format!(
                "{who}: squawk {:?}, encoded {}",
                r.squawk, a.squawk
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "dump1090-mutability decoded something other than what skyfence encoded:\n{}",
        failures.join("\n")
    );
}
