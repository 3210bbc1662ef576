//! `skyfence simulate`: reproducibility, the af-pk-border story in its truth, decoding
//! the recordings back to the true trajectories, and scenario-file errors.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use skyfence_core::Timestamp;
use skyfence_decode::beast::{BeastClock, BeastDecoder};
use skyfence_decode::decoder::{Decoder, DecoderConfig};
use skyfence_decode::raw::RawDecoder;
use skyfence_decode::sbs::SbsDecoder;
use skyfence_decode::{Frame, Message};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A fresh directory under the system temp dir, unique to this test process and `name`.
fn temp_dir(name: &str) -> skyfence_testkit::scratch::Scratch {
    skyfence_testkit::scratch::scratch_dir(&format!("skyfence-sim-{name}-"))
}

fn simulate(scenario: &str, out: &Path, seed: u64) -> std::process::Output {
    Command::new(BIN)
        .args(["simulate", "--scenario", scenario, "--out-dir"])
        .arg(out)
        .args(["--seed", &seed.to_string()])
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap()
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

const FILES: [&str; 9] = [
    "raw.csv",
    "beast.bin",
    "avr.txt",
    "sbs.csv",
    "zones.geojson",
    "config.toml",
    "truth.jsonl",
    "truth-tracks.csv",
    "README.md",
];

fn truth(dir: &Path) -> Vec<serde_json::Value> {
    String::from_utf8(read(dir, "truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Incidents (not approach warnings) of `callsign` in `zone`.
fn incidents<'a>(
    t: &'a [serde_json::Value],
    zone: &str,
    callsign: &str,
) -> Vec<&'a serde_json::Value> {
    t.iter()
        .filter(|v| v.get("event").is_none())
        .filter(|v| v["zone"] == zone && v["target"]["callsign"] == callsign)
        .collect()
}

#[test]
fn af_pk_border_same_seed_same_bytes_and_its_story_in_the_truth() {
    let (a, b, c) = (temp_dir("afpk-a"), temp_dir("afpk-b"), temp_dir("afpk-c"));
    for (dir, seed) in [(&a, 7), (&b, 7), (&c, 8)] {
        let out = simulate("af-pk-border", dir, seed);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for f in FILES {
        assert!(
            read(&a, f) == read(&b, f),
            "{f} differs between two runs with seed 7"
        );
    }
    assert!(
        read(&a, "raw.csv") != read(&c, "raw.csv"),
        "seeds 7 and 8 gave the same raw.csv"
    );

    let t = truth(&a);
    // AFUAV1 dashes into Pakistan and back: one unauthorised UAV incident, entry seen.
    let uav1 = incidents(&t, "PK", "AFUAV1");
    assert_eq!(uav1.len(), 1, "{uav1:?}");
    assert_eq!(uav1[0]["status"], "closed");
    assert_eq!(uav1[0]["authorised"], false);
    assert_eq!(uav1[0]["classification"], "uav");
    assert_eq!(uav1[0]["target"]["category"], "B6");
    assert_eq!(uav1[0]["entry_observed"], true);
    assert!(uav1[0]["max_depth_m"].as_f64().unwrap() > 10_000.0);
    // AFUAV3 goes silent inside: lost, then a second incident not entry-observed.
    let uav3 = incidents(&t, "PK", "AFUAV3");
    assert_eq!(uav3.len(), 2, "{uav3:?}");
    assert_eq!(uav3[0]["status"], "lost");
    assert_eq!(uav3[0]["exit"], serde_json::Value::Null);
    assert_eq!(uav3[1]["entry_observed"], false);
    assert_eq!(uav3[1]["status"], "closed");
    // The Torkham drone broadcasts no altitude.
    let drn6 = incidents(&t, "PK", "AFDRN6");
    assert_eq!(drn6.len(), 1);
    assert_eq!(drn6[0]["max_alt_ft"], serde_json::Value::Null);
    assert_eq!(drn6[0]["entry"]["alt_ft"], serde_json::Value::Null);
    // The Chaman drone is first heard inside Pakistan.
    let drn7 = incidents(&t, "PK", "AFDRN7");
    assert_eq!(drn7.len(), 1);
    assert_eq!(drn7[0]["entry_observed"], false);
    // The spoofed jump puts no incident in Pakistan.
    assert!(incidents(&t, "PK", "AFUAV5").is_empty());
    // Airliners are authorised by their permits.
    let thy = incidents(&t, "PK", "THY716");
    assert_eq!(thy.len(), 1);
    assert_eq!(thy[0]["authorised"], true);
    assert_eq!(thy[0]["permit"], "overflight permit TR-2023/0412");
    // The config carries the permits and the zones file.
    let config = String::from_utf8(read(&a, "config.toml")).unwrap();
    assert!(config.contains("file = \"zones.geojson\""));
    assert!(config.contains("callsign = \"THY*\""));
    // The README gives the Beast --start.
    let readme = String::from_utf8(read(&a, "README.md")).unwrap();
    assert!(readme.contains("--start 2023-11-14T22:00:00.000Z"));
    for d in [a, b, c] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// One row of truth-tracks.csv: the true state at a position squitter.
struct TruthRow {
    at: Timestamp,
    lat: f64,
    lon: f64,
    alt_ft: f64,
}

fn truth_tracks(dir: &Path) -> HashMap<String, Vec<TruthRow>> {
    let text = String::from_utf8(read(dir, "truth-tracks.csv")).unwrap();
    let mut out: HashMap<String, Vec<TruthRow>> = HashMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        out.entry(f[1].to_owned()).or_default().push(TruthRow {
            at: Timestamp::parse_rfc3339(f[0]).unwrap(),
            lat: f[2].parse().unwrap(),
            lon: f[3].parse().unwrap(),
            alt_ft: f[4].parse().unwrap(),
        });
    }
    out
}

/// Haversine, metres.
fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let h = ((p2 - p1) / 2.0).sin().powi(2)
        + p1.cos() * p2.cos() * ((lon2 - lon1).to_radians() / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

/// Checks every decoded position against the true position of the squitter it came from
/// (the truth row of the same aircraft transmitted at most 2 ms before reception: radio
/// propagation over 400 km takes 1.3 ms). Returns how many positions were checked.
fn check_positions(messages: &[Message], tracks: &HashMap<String, Vec<TruthRow>>) -> usize {
    let mut checked = 0;
    for m in messages {
        let Some(p) = m.position else { continue };
        let icao = format!("{:06x}", m.icao24.as_u32());
        let rows = &tracks[&icao];
        let row = rows
            .iter()
            .filter(|r| r.at <= m.at && m.at.micros_since(r.at) <= 2_000)
            .min_by_key(|r| m.at.micros_since(r.at))
            .unwrap_or_else(|| {
                panic!(
                    "no squitter of {icao} just before {}",
                    m.at.to_rfc3339_millis()
                )
            });
        // 17-bit airborne CPR: latitude steps of 6°/2^17 ≈ 5.1 m, so the decoded point
        // is within ~3.6 m of the encoded one; plus < 1 m of motion in 2 ms.
        let d = distance_m(row.lat, row.lon, p.lat, p.lon);
        assert!(
            d < 5.0,
            "{icao} at {}: decoded {p:?} is {d:.1} m from the truth",
            m.at.to_rfc3339_millis()
        );
        if let Some(alt) = m.alt_ft {
            // 25-ft altitude steps.
            assert!(
                (f64::from(alt) - row.alt_ft).abs() <= 13.0,
                "{icao}: {alt} vs {}",
                row.alt_ft
            );
        }
        checked += 1;
    }
    checked
}

fn decode_frames(frames: &[Frame]) -> Vec<Message> {
    let mut d = Decoder::new(DecoderConfig::default());
    frames.iter().filter_map(|f| d.decode(f)).collect()
}

#[test]
fn decoding_the_recordings_gives_the_true_trajectories() {
    let dir = temp_dir("round-trip");
    let scenario = repo_root().join("examples/scenarios/round-trip.toml");
    let out = simulate(scenario.to_str().unwrap(), &dir, 3);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tracks = truth_tracks(&dir);
    let squitters: usize = tracks.values().map(Vec::len).sum();

    let (raw_frames, raw_drops) = RawDecoder::decode_all(&read(&dir, "raw.csv"));
    assert_eq!(raw_drops.total_messages(), 0);
    let raw_msgs = decode_frames(&raw_frames);
    let n = check_positions(&raw_msgs, &tracks);
    // Every squitter is heard by one or two receivers; all but the first of each
    // aircraft resolve (global pair, then local).
    assert!(
        n >= squitters,
        "{n} positions decoded from {squitters} squitters"
    );

    let start = Timestamp::parse_rfc3339("2023-11-14T22:00:00Z").unwrap();
    let (beast_frames, beast_drops) =
        BeastDecoder::decode_all(BeastClock::Counter12Mhz { start }, &read(&dir, "beast.bin"));
    assert_eq!(beast_drops.total_messages(), 0);
    assert_eq!(beast_frames.len(), raw_frames.len());
    for (b, r) in beast_frames.iter().zip(&raw_frames) {
        assert_eq!(b.data(), r.data());
        // The 12 MHz counter floors to the microsecond.
        assert!(
            (b.at.micros_since(r.at)).abs() <= 1,
            "{} vs {}",
            b.at.as_micros(),
            r.at.as_micros()
        );
    }
    assert_eq!(check_positions(&decode_frames(&beast_frames), &tracks), n);

    // Every ADS-B transmitter announces its position accuracy (TC 31, version 2) about
    // every 2.5 s: the scenario's default NACp 9.
    let status: Vec<&Message> = raw_msgs.iter().filter(|m| m.tc == Some(31)).collect();
    assert!(!status.is_empty(), "no operational status decoded");
    for m in &status {
        assert_eq!((m.nacp, m.adsb_version), (Some(9), Some(2)), "{m:?}");
    }
    let (sbs_msgs, sbs_drops) = SbsDecoder::decode_all(&read(&dir, "sbs.csv"));
    assert_eq!(sbs_drops.total_messages(), 0);
    // BaseStation has no transmission type for operational status (readsb writes none).
    assert_eq!(sbs_msgs.len(), raw_frames.len() - status.len());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn scenario_file_with_a_syntax_error_fails_naming_its_line() {
    let dir = temp_dir("bad-syntax");
    let good =
        std::fs::read_to_string(repo_root().join("examples/scenarios/torkham-drone.toml")).unwrap();
    let bad = good.replacen("duration_s = 900", "duration_s = = 900", 1);
    let line = bad
        .lines()
        .position(|l| l.starts_with("duration_s"))
        .unwrap()
        + 1;
    let path = dir.join("bad.toml");
    std::fs::write(&path, bad).unwrap();
    let out = simulate(path.to_str().unwrap(), &dir.join("out"), 1);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("bad.toml: line {line}: ")),
        "stderr does not name line {line}: {stderr}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unknown_scenario_is_a_usage_error() {
    let dir = temp_dir("unknown");
    let out = simulate("no-such-scenario", &dir, 1);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("af-pk-border, af-pk-border-radar, af-pk-border-ssr, scale")
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn every_example_scenario_runs() {
    let dir = repo_root().join("examples/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let out_dir = temp_dir(&format!("example-{n}"));
            let out = simulate(path.to_str().unwrap(), &out_dir, 1);
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(!read(&out_dir, "raw.csv").is_empty());
            let _ = std::fs::remove_dir_all(out_dir);
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn scale_writes_the_requested_traffic() {
    let dir = temp_dir("scale");
    let out = Command::new(BIN)
        .args([
            "simulate",
            "--scenario",
            "scale",
            "--targets",
            "20",
            "--duration",
            "30",
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
    let (frames, drops) = RawDecoder::decode_all(&read(&dir, "raw.csv"));
    assert_eq!(drops.total_messages(), 0);
    // 20 targets × 30 s × 5.2 squitters/s, heard by one to six receivers.
    assert!((2_000..20_000).contains(&frames.len()), "{}", frames.len());
    let addresses: std::collections::BTreeSet<u32> = frames
        .iter()
        .filter(|f| f.data()[0] >> 3 == 17)
        .map(|f| u32::from_be_bytes([0, f.data()[1], f.data()[2], f.data()[3]]))
        .collect();
    assert_eq!(addresses.len(), 20);
    assert!(
        frames.windows(2).all(|w| w[0].at <= w[1].at),
        "frames out of time order"
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn millis(v: &serde_json::Value) -> i64 {
    Timestamp::parse_rfc3339(v.as_str().unwrap())
        .unwrap()
        .as_micros()
        / 1000
}

/// The detector (`skyfence analyze` with the written config) finds what the simulator's
/// independent truth says, within the tolerances the output README states.
#[test]
fn analyze_finds_the_truth_of_torkham_drone() {
    let dir = temp_dir("analyze-torkham");
    let scenario = repo_root().join("examples/scenarios/torkham-drone.toml");
    let out = simulate(scenario.to_str().unwrap(), &dir, 5);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args([
            "analyze",
            "--input",
            "raw:raw.csv",
            "--config",
            "config.toml",
            "--out",
            "incidents.jsonl",
            "--events",
            "events.jsonl",
        ])
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = |name: &str| -> Vec<serde_json::Value> {
        String::from_utf8(read(&dir, name))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let truth = truth(&dir);
    let found = lines("incidents.jsonl");
    let expected: Vec<_> = truth.iter().filter(|v| v.get("event").is_none()).collect();
    // The drone in PK and in the restricted area, the airliner in PK under its permit.
    assert_eq!(expected.len(), 3, "{expected:?}");
    assert_eq!(found.len(), expected.len(), "{found:?}");
    for t in &expected {
        let f = found
            .iter()
            .find(|f| f["zone"] == t["zone"] && f["target"]["icao24"] == t["target"]["icao24"])
            .unwrap_or_else(|| panic!("not found: {t}"));
        for key in [
            "status",
            "entry_observed",
            "authorised",
            "permit",
            "classification",
        ] {
            assert_eq!(f[key], t[key], "{key}: {f} vs {t}");
        }
        assert_eq!(f["target"], t["target"]);
        // Observed crossings: the detector interpolates between noisy reports of a
        // 20 m/s drone (NACp 8: σ ≈ 46 m), so a few seconds.
        let tolerance_ms = 5_000;
        let d = (millis(&f["entered_at"]) - millis(&t["entered_at"])).abs();
        assert!(d <= tolerance_ms, "entered_at: {f} vs {t}");
        if t["status"] == "closed" {
            let d = (millis(&f["exited_at"]) - millis(&t["exited_at"])).abs();
            assert!(d <= tolerance_ms, "exited_at: {f} vs {t}");
        }
        let (fd, td) = (
            f["max_depth_m"].as_f64().unwrap(),
            t["max_depth_m"].as_f64().unwrap(),
        );
        assert!(
            (fd - td).abs() <= 0.01 * td + 200.0,
            "max_depth_m: {fd} vs {td}"
        );
    }
    let approaches = |v: &[serde_json::Value]| -> Vec<(String, String)> {
        let mut a: Vec<(String, String)> = v
            .iter()
            .filter(|e| e["event"] == "approach")
            .map(|e| (e["zone"].to_string(), e["target"]["icao24"].to_string()))
            .collect();
        a.sort();
        a
    };
    assert_eq!(approaches(&lines("events.jsonl")), approaches(&truth));
    let _ = std::fs::remove_dir_all(dir);
}
