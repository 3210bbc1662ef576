//! Multilateration end to end: `skyfence simulate --scenario mlat-border` writes one Beast
//! recording per receiver (free-running 12 MHz clocks: offsets, drift, jitter, a counter
//! jump); the recordings read back through the same steps as `analyze` (codec, ingest,
//! multilateration) give fixes of the transponder-only aircraft within the stated error
//! of the truth, and `skyfence analyze` turns its border crossing into an incident.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use skyfence_core::{Icao24, SourceId, TargetId, Timestamp};
use skyfence_decode::codec::Item;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested};
use skyfence_decode::input::{InputReader, InputSpec};
use skyfence_decode::{ClockOptions, format};
use skyfence_mlat::geo;
use skyfence_mlat::solve::horizontal_distance_m;
use skyfence_mlat::{Engine, MlatConfig, ReceiverSite};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const TARGET: &str = "7a5c01";

fn temp_dir(name: &str) -> skyfence_testkit::scratch::Scratch {
    skyfence_testkit::scratch::scratch_dir(&format!("skyfence-mlat-{name}-"))
}

fn simulate(dir: &Path) {
    let out = Command::new(BIN)
        .args([
            "simulate",
            "--scenario",
            "mlat-border",
            "--seed",
            "3",
            "--out-dir",
        ])
        .arg(dir)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const START: &str = "2023-11-14T22:13:20Z";
const RECEIVERS: [&str; 6] = [
    "kabul",
    "jalalabad",
    "gardez",
    "khost",
    "asadabad",
    "pulialam",
];

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// The recordings through codec, ingest and multilateration, merged in time order as
/// `analyze` merges them: the engine and the fixes.
fn run_pipeline(dir: &Path, gps: bool) -> (Engine, Vec<skyfence_core::Observation>) {
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    let sensors = skyfence_decode::sensor::config::from_config_text(&config).unwrap();
    let sites = ReceiverSite::from_sensors(&sensors);
    assert_eq!(sites.len(), 6);
    let mut engine = Engine::new(sites, MlatConfig::default());
    let clock = ClockOptions {
        start: Some(Timestamp::parse_rfc3339(START).unwrap()),
        gps,
    };
    let beast = format::lookup("beast").unwrap();
    let mut inputs: Vec<InputReader> = RECEIVERS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            engine.bind(SourceId(i as u16), engine.receiver(name).unwrap());
            let spec = InputSpec::new(beast, Some(dir.join(format!("rx-{name}.beast"))));
            InputReader::open(&spec, clock).unwrap()
        })
        .collect();
    let mut ingest = Ingest::new(IngestConfig::default());
    let mut fixes = Vec::new();
    loop {
        let mut best: Option<(Timestamp, usize)> = None;
        for (i, input) in inputs.iter_mut().enumerate() {
            if let Some(t) = input.peek_at().unwrap()
                && best.is_none_or(|(bt, _)| t < bt)
            {
                best = Some((t, i));
            }
        }
        let Some((_, i)) = best else { break };
        let item = inputs[i].next_item().unwrap().unwrap();
        let source = SourceId(i as u16);
        if let Item::Frame(f) = &item {
            engine.frame(source, f);
        }
        if let Ingested::Accepted(obs) = ingest.observe(source, &item) {
            engine.decoded(&obs);
        }
        engine.poll(item.at(), &mut fixes);
    }
    engine.finish(&mut fixes);
    (engine, fixes)
}

#[test]
fn transponder_only_aircraft_is_multilaterated_and_its_crossing_is_an_incident() {
    let dir = temp_dir("e2e");
    simulate(&dir);
    let start = Timestamp::parse_rfc3339(START).unwrap();

    // The reference receiver's clock (the first declared, kabul): fix times are on it.
    let clocks = std::fs::read_to_string(dir.join("truth-clocks.csv")).unwrap();
    let kabul: Vec<&str> = clocks.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(kabul[0], "kabul");
    let (offset, drift): (f64, f64) = (kabul[2].parse().unwrap(), kabul[3].parse().unwrap());
    // The truth: the target's position at every transmission, as a function of time.
    let truth: Vec<(f64, f64, f64, f64)> = std::fs::read_to_string(dir.join("truth-mlat.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            let t = Timestamp::parse_rfc3339(v[1]).unwrap().secs_since(start);
            (
                t,
                v[2].parse().unwrap(),
                v[3].parse().unwrap(),
                v[4].parse().unwrap(),
            )
        })
        .collect();

    let (engine, fixes) = run_pipeline(&dir, false);
    let target = TargetId::Icao(Icao24::new(0x7a5c01).unwrap());
    assert!(
        fixes.iter().all(|f| f.target == target),
        "only the transponder-only aircraft gets MLAT positions"
    );
    assert!(
        fixes.len() > 1_000,
        "{} fixes; {:?}",
        fixes.len(),
        engine.stats()
    );
    let mut errors = Vec::new();
    for f in &fixes {
        // True emission time: the reference clock read `t + offset + drift · t`.
        let t = (f.at.secs_since(start) - offset) / (1.0 + drift);
        let (_, lat, lon, h) = *truth
            .iter()
            .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
            .unwrap();
        let p = f.position.unwrap();
        let e = horizontal_distance_m(&geo::to_ecef(lat, lon, h), &geo::to_ecef(p.lat, p.lon, h));
        errors.push(e);
    }
    let median = percentile(&mut errors, 0.5);
    let p95 = percentile(&mut errors, 0.95);
    eprintln!(
        "mlat-border: {} fixes, median {median:.1} m, 95th percentile {p95:.1} m",
        fixes.len()
    );
    assert!(median <= 100.0, "median horizontal error {median} m");
    assert!(p95 <= 300.0, "95th percentile {p95} m");

    // Khost's counter jumped once (300 s) and it came back.
    let khost = engine.receiver("khost").unwrap();
    assert_eq!(engine.jumps(khost), 1);
    for r in 0..6 {
        assert_eq!(
            engine.sync_state(r),
            skyfence_mlat::clock::SyncState::Synced,
            "{r}"
        );
        if r != khost {
            assert_eq!(engine.jumps(r), 0, "{r}");
        }
    }
    // The spoofer is flagged, no honest aircraft ever is.
    let checks: HashMap<u32, (u64, u64)> = engine
        .checks()
        .map(|(i, n, s)| (i.as_u32(), (n, s)))
        .collect();
    let (n, s) = checks[&0x70_0bad];
    assert!(
        n > 500 && s as f64 >= 0.98 * n as f64,
        "spoofer: {s} of {n}"
    );
    for icao in 0x70_0001..=0x70_0006u32 {
        let (n, s) = checks[&icao];
        assert!(n > 100, "{icao:06x}: {n} checks");
        assert_eq!(s, 0, "{icao:06x} flagged {s} times of {n}");
    }

    // `skyfence analyze` with one recording per receiver: the crossing is an incident.
    let mut cmd = Command::new(BIN);
    cmd.current_dir(&dir).args([
        "analyze",
        "--config",
        "config.toml",
        "--start",
        START,
        "--out",
        "incidents.jsonl",
    ]);
    for name in RECEIVERS {
        cmd.args(["--input", &format!("beast:rx-{name}.beast@{name}")]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("mlat:") && stderr.contains("khost=synced (1 jumps)"),
        "{stderr}"
    );
    let incidents = std::fs::read_to_string(dir.join("incidents.jsonl")).unwrap();
    let incident: serde_json::Value = incidents
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|i| i["target"]["id"] == TARGET)
        .unwrap_or_else(|| panic!("no incident for {TARGET}:\n{incidents}\n{stderr}"));
    let truth: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("truth-mlat.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    // Broadcast positions carry their verdict; the transponder-only aircraft none.
    assert!(incident.get("verification").is_none(), "{incident}");
    for line in incidents.lines() {
        let i: serde_json::Value = serde_json::from_str(line).unwrap();
        let id = i["target"]["id"].as_str().unwrap();
        if id == TARGET {
            continue;
        }
        let v = &i["verification"];
        assert_eq!(v["method"], "tdoa", "{i}");
        assert!(v["receivers"].as_u64().unwrap() >= 4, "{i}");
        let expect = if id == "700bad" {
            "spoof_suspected"
        } else {
            "consistent"
        };
        assert_eq!(v["verdict"], expect, "{i}");
    }
    assert_eq!(incident["zone"], "AF");
    assert_eq!(incident["entry_observed"], true);
    let entry = geo::to_ecef(
        incident["entry"]["lat"].as_f64().unwrap(),
        incident["entry"]["lon"].as_f64().unwrap(),
        0.0,
    );
    let true_entry = geo::to_ecef(
        truth["lat"].as_f64().unwrap(),
        truth["lon"].as_f64().unwrap(),
        0.0,
    );
    let miss = horizontal_distance_m(&true_entry, &entry);
    assert!(miss < 300.0, "entry {miss} m from the true crossing");
    let entered = Timestamp::parse_rfc3339(incident["entered_at"].as_str().unwrap()).unwrap();
    let true_entered = Timestamp::parse_rfc3339(truth["at"].as_str().unwrap()).unwrap();
    assert!(
        entered.secs_since(true_entered).abs() < 2.0,
        "entered {entered:?} vs {true_entered:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same network with GNSS-disciplined Radarcapes (GPS time of day, 15 ns): fixes
/// within 30 m median, through `analyze` too (its inputs read as GPS time).
#[test]
fn gnss_receivers_locate_within_thirty_metres() {
    let dir = temp_dir("gnss");
    let mut scenario = skyfence_sim::mlat::mlat_border();
    scenario.duration_s = 240.0;
    for site in &mut scenario.sites {
        site.clock = skyfence_decode::sensor::ReceiverClock::RadarcapeGps;
        site.jump = None;
    }
    // Every aircraft 200 s further along: the crossing (at 364 s) falls in the shorter run.
    for f in &mut scenario.flights {
        let (lat, lon) = f.at(200.0);
        (f.lat, f.lon) = (lat, lon);
    }
    skyfence_sim::mlat::simulate(&scenario, 5, &dir).unwrap();
    let start = Timestamp::parse_rfc3339(START).unwrap();
    let truth: Vec<(f64, f64, f64, f64)> = std::fs::read_to_string(dir.join("truth-mlat.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let v: Vec<&str> = l.split(',').collect();
            let t = Timestamp::parse_rfc3339(v[1]).unwrap().secs_since(start);
            (
                t,
                v[2].parse().unwrap(),
                v[3].parse().unwrap(),
                v[4].parse().unwrap(),
            )
        })
        .collect();
    let (engine, fixes) = run_pipeline(&dir, true);
    assert!(
        fixes.len() > 300,
        "{} fixes; {:?}",
        fixes.len(),
        engine.stats()
    );
    let mut errors: Vec<f64> = fixes
        .iter()
        .map(|f| {
            // GNSS clocks: fix times are true times.
            let t = f.at.secs_since(start);
            let (_, lat, lon, h) = *truth
                .iter()
                .min_by(|a, b| (a.0 - t).abs().total_cmp(&(b.0 - t).abs()))
                .unwrap();
            let p = f.position.unwrap();
            horizontal_distance_m(&geo::to_ecef(lat, lon, h), &geo::to_ecef(p.lat, p.lon, h))
        })
        .collect();
    let median = percentile(&mut errors, 0.5);
    let p95 = percentile(&mut errors, 0.95);
    eprintln!(
        "mlat-border, GNSS clocks: {} fixes, median {median:.1} m, 95th percentile {p95:.1} m",
        fixes.len()
    );
    assert!(median <= 30.0, "median {median} m");
    // `analyze` reads the receivers' timestamps as GPS time: the crossing is an incident.
    let mut cmd = Command::new(BIN);
    cmd.current_dir(&dir)
        .args(["analyze", "--config", "config.toml", "--start", START]);
    for name in RECEIVERS {
        cmd.args(["--input", &format!("beast:rx-{name}.beast@{name}")]);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(&format!("\"id\":\"{TARGET}\"")), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_input_naming_an_undeclared_sensor_is_refused() {
    let dir = temp_dir("undeclared");
    std::fs::write(
        dir.join("config.toml"),
        "[[zones]]\nfile = \"z.geojson\"\n\n[[sensor]]\nname = \"kabul\"\ntype = \"modes\"\nlat = 34.5\nlon = 69.2\nalt_m = 1800\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("z.geojson"),
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Z"},"geometry":{"type":"Polygon","coordinates":[[[69,34],[70,34],[70,35],[69,35],[69,34]]]}}]}"#,
    )
    .unwrap();
    std::fs::write(dir.join("a.beast"), b"").unwrap();
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "analyze",
            "--config",
            "config.toml",
            "--input",
            "beast:a.beast@gardez",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"gardez\" is not a [[sensor]]"),
        "{stderr}"
    );
    // The declared one is accepted (an empty recording: no fix, no incident).
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "analyze",
            "--config",
            "config.toml",
            "--input",
            "beast:a.beast@kabul",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
