//! `skyfence simulate --scenario af-pk-border-radar`: radar sites in ASTERIX and Remote
//! ID receivers beside the Mode S receivers. The Mode S recordings are those of
//! `af-pk-border` byte for byte; the new recordings are reproducible, decode cleanly
//! (CAT034 at the rotation rate, CAT048 from the declared sites), and `analyze` finds the
//! truth's radar-only and Remote ID incidents.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use skyfence_core::Timestamp;
use skyfence_decode::asterix::{AsterixDecoder, ServiceKind};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

fn temp_dir(name: &str) -> skyfence_testkit::scratch::Scratch {
    skyfence_testkit::scratch::scratch_dir(&format!("skyfence-simsens-{name}-"))
}

/// Runs skyfence, which must succeed; its stderr.
fn run(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "skyfence {args:?}: {stderr}");
    stderr
}

fn simulate(scenario: &str, dir: &Path, seed: u64, formats: &str) {
    run(
        dir,
        &[
            "simulate",
            "--scenario",
            scenario,
            "--out-dir",
            ".",
            "--seed",
            &seed.to_string(),
            "--formats",
            formats,
        ],
    );
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(name).display()))
}

fn lines(dir: &Path, name: &str) -> Vec<Value> {
    String::from_utf8(read(dir, name))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn millis(v: &Value) -> i64 {
    Timestamp::parse_rfc3339(v.as_str().unwrap())
        .unwrap()
        .as_micros()
        / 1000
}

/// Metres between two `{lat, lon}` objects (equirectangular: a few km at most here).
fn metres(a: &Value, b: &Value) -> f64 {
    let (la, lo) = (a["lat"].as_f64().unwrap(), a["lon"].as_f64().unwrap());
    let (lb, lob) = (b["lat"].as_f64().unwrap(), b["lon"].as_f64().unwrap());
    let dy = (la - lb).to_radians() * 6_371_000.0;
    let dx = (lo - lob).to_radians() * 6_371_000.0 * la.to_radians().cos();
    dx.hypot(dy)
}

const START: &str = "2023-11-14T22:00:00Z";

#[test]
fn radar_and_remoteid_recordings_are_reproducible_and_leave_mode_s_alone() {
    let (a, b, c, plain) = (
        temp_dir("a"),
        temp_dir("b"),
        temp_dir("c"),
        temp_dir("plain"),
    );
    simulate("af-pk-border-radar", &a, 7, "raw");
    simulate("af-pk-border-radar", &b, 7, "raw");
    simulate("af-pk-border-radar", &c, 8, "raw");
    simulate("af-pk-border", &plain, 7, "raw");
    for f in ["asterix.ast", "remoteid.csv", "truth.jsonl", "config.toml"] {
        assert!(read(&a, f) == read(&b, f), "{f} differs with one seed");
    }
    assert!(read(&a, "asterix.ast") != read(&c, "asterix.ast"));
    assert!(read(&a, "remoteid.csv") != read(&c, "remoteid.csv"));
    // Radars and Remote ID draw from streams of their own: not one Mode S frame moved.
    assert!(read(&a, "raw.csv") == read(&plain, "raw.csv"));
    assert!(!plain.join("asterix.ast").exists() && !plain.join("remoteid.csv").exists());
    // The config declares the radar sites.
    let config = String::from_utf8(read(&a, "config.toml")).unwrap();
    assert!(config.contains("name = \"peshawar-psr\"\ntype = \"radar\"\nsac = 2\nsic = 1\n"));

    // Every ASTERIX record decodes; north markers come once per revolution.
    let bytes = read(&a, "asterix.ast");
    let mut d = AsterixDecoder::new(Timestamp::parse_rfc3339(START).unwrap());
    let (mut north, mut plots, mut psr_only) = ([0u32; 2], [0u32; 2], 0u32);
    let (first, last) = (
        Timestamp::parse_rfc3339(START).unwrap(),
        Timestamp::parse_rfc3339("2023-11-14T22:25:00.2Z").unwrap(),
    );
    d.decode(&bytes, &mut |at, r, _| {
        assert!(at >= first && at <= last, "{at}");
        let site = match (r.sac, r.sic) {
            (2, 1) => 0,
            (1, 2) => 1,
            other => panic!("unknown SAC/SIC {other:?}"),
        };
        match r.category {
            34 => {
                let s = r.service.unwrap();
                assert_eq!(s.rotation_period_s, Some([5.0, 10.0][site]));
                north[site] += u32::from(s.kind == ServiceKind::NorthMarker);
            }
            48 => {
                plots[site] += 1;
                if r.address.is_none() && r.track_number.is_some() {
                    psr_only += 1;
                    assert_eq!(r.flight_level, None);
                }
            }
            c => panic!("category {c}"),
        }
    });
    d.finish();
    assert_eq!(d.drops().total_messages(), 0, "{:?}", d.drops());
    // 1500 s at 5 s and 10 s per revolution.
    assert!((299..=301).contains(&north[0]), "{north:?}");
    assert!((149..=151).contains(&north[1]), "{north:?}");
    assert!(plots[0] > 1000 && plots[1] > 100, "{plots:?}");
    assert!(psr_only > 50, "{psr_only}");
    for d in [a, b, c, plain] {
        let _ = std::fs::remove_dir_all(d);
    }
}

#[test]
fn analyze_finds_the_radar_only_and_remoteid_incidents_of_the_truth() {
    let dir = temp_dir("analyze");
    simulate("af-pk-border-radar", &dir, 3, "raw");
    run(
        &dir,
        &[
            "analyze",
            "--config",
            "config.toml",
            "--input",
            "asterix:asterix.ast",
            "--input",
            "remoteid:remoteid.csv",
            "--start",
            START,
            "--out",
            "incidents.jsonl",
        ],
    );
    let truth = lines(&dir, "truth.jsonl");
    let found = lines(&dir, "incidents.jsonl");
    let pk = |v: &[Value], kind: &str| -> Vec<Value> {
        v.iter()
            .filter(|i| i.get("event").is_none() && i["zone"] == "PK")
            .filter(|i| i["target"]["kind"] == kind)
            .cloned()
            .collect()
    };
    // The silent drone: a radar track, not cooperative, seen by Peshawar alone.
    let (t, f) = (pk(&truth, "track"), pk(&found, "track"));
    assert_eq!((t.len(), f.len()), (1, 1), "{t:?}\n{f:?}");
    let (t, f) = (&t[0], &f[0]);
    assert_eq!(f["target"]["id"], t["target"]["id"]);
    assert!(
        t["target"]["id"]
            .as_str()
            .unwrap()
            .starts_with("peshawar-psr/")
    );
    assert_eq!(f["cooperative"], false);
    assert_eq!(f["sensors"], serde_json::json!(["peshawar-psr"]));
    assert_eq!(f["classification"], "unknown");
    assert_eq!(f["authorised"], false);
    assert_eq!(f["status"], "closed");
    assert_eq!(f["entry_observed"], true);
    // One scan is 5 s; the plots carry 40 m range and 0.08° azimuth noise (~65 m at
    // 46 km): the crossing is interpolated between plots.
    assert!((millis(&f["entered_at"]) - millis(&t["entered_at"])).abs() <= 6_000);
    assert!(metres(&f["entry"], &t["entry"]) < 300.0, "{f} vs {t}");
    assert!(metres(&f["exit"], &t["exit"]) < 300.0, "{f} vs {t}");
    let (fd, td) = (
        f["max_depth_m"].as_f64().unwrap(),
        t["max_depth_m"].as_f64().unwrap(),
    );
    assert!((fd - td).abs() < 250.0, "{fd} vs {td}");
    assert!(f.get("operator").is_none());

    // The Remote ID drone: cooperative, its operator standing in Afghanistan.
    let (t, f) = (pk(&truth, "remoteid"), pk(&found, "remoteid"));
    assert_eq!((t.len(), f.len()), (1, 1), "{t:?}\n{f:?}");
    let (t, f) = (&t[0], &f[0]);
    assert_eq!(f["target"]["id"], "AF1581RID0000001");
    assert_eq!(f["target"]["id"], t["target"]["id"]);
    assert_eq!(f["cooperative"], true);
    assert_eq!(f["classification"], "uav");
    assert_eq!(f["authorised"], false);
    assert_eq!(f["status"], "closed");
    assert_eq!(f["operator"]["id"], "AFG-OP-0042");
    assert!(metres(&f["operator"], &t["operator"]) < 1.0, "{f}");
    assert!(
        metres(
            &f["operator"],
            &serde_json::json!({"lat": 30.94, "lon": 66.37})
        ) < 1.0
    );
    assert_eq!(f["remoteid"]["self_id"], "Border survey");
    assert!((millis(&f["entered_at"]) - millis(&t["entered_at"])).abs() <= 2_000);
    assert!(metres(&f["entry"], &t["entry"]) < 50.0, "{f} vs {t}");
    assert_eq!(f["max_alt_ft"], t["max_alt_ft"]);
    let _ = std::fs::remove_dir_all(dir);
}

/// The simulator's config with the Mode S recording declared as a receiver, so its
/// reports are named in incidents' `sensors`.
fn config_with_receiver(dir: &Path) {
    let mut config = String::from_utf8(read(dir, "config.toml")).unwrap();
    config.push_str(
        "\n[[sensor]]\nname = \"pk-adsb\"\ntype = \"modes\"\nlat = 33.0\nlon = 70.0\nalt_m = 500\n",
    );
    std::fs::write(dir.join("c2.toml"), config).unwrap();
}

fn analyze_radar_and_adsb(dir: &Path, asterix: &str, out: &str) -> Vec<Value> {
    analyze_radar_and_adsb_stderr(dir, asterix, out).0
}

/// [`analyze_radar_and_adsb`] with its stderr summary.
fn analyze_radar_and_adsb_stderr(dir: &Path, asterix: &str, out: &str) -> (Vec<Value>, String) {
    let stderr = run(
        dir,
        &[
            "analyze",
            "--config",
            "c2.toml",
            "--input",
            "raw:raw.csv@pk-adsb",
            "--input",
            &format!("asterix:{asterix}"),
            "--start",
            START,
            "--out",
            out,
        ],
    );
    (lines(dir, out), stderr)
}

/// `(zone, target id, status)` of every incident, sorted.
fn keys(v: &[Value]) -> Vec<(String, String, String)> {
    let mut k: Vec<_> = v
        .iter()
        .filter(|i| i.get("event").is_none())
        .map(|i| {
            (
                i["zone"].as_str().unwrap().to_string(),
                i["target"]["id"].as_str().unwrap().to_string(),
                i["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    k.sort();
    k
}

/// An aircraft seen by ADS-B and by radar is one target: one incident per truth
/// incursion whose `sensors` lists the receiver and the radars, whether the radar reads
/// its Mode S address or only its Mode 3/A code and flight level (then the gate
/// associates the radar's track with the ADS-B track); the silent drone stays the
/// radar's track, seen by Peshawar alone.
#[test]
fn radar_and_adsb_of_one_aircraft_are_one_target() {
    let dir = temp_dir("fusion");
    simulate("af-pk-border-radar", &dir, 3, "raw");
    config_with_receiver(&dir);
    let found = analyze_radar_and_adsb(&dir, "asterix.ast", "incidents.jsonl");
    let truth: Vec<Value> = lines(&dir, "truth.jsonl")
        .into_iter()
        .filter(|i| i["target"]["kind"] != "remoteid")
        .collect();
    assert_eq!(
        keys(&found),
        keys(&truth),
        "one incident per truth incident"
    );
    let mut both = 0;
    for f in &found {
        let sensors: Vec<&str> = f["sensors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        if f["target"]["kind"] == "track" {
            assert_eq!(sensors, ["peshawar-psr"], "{f}");
            assert_eq!(f["cooperative"], false);
            continue;
        }
        assert!(sensors.contains(&"pk-adsb"), "{f}");
        both += usize::from(sensors.iter().any(|s| s.ends_with("-psr")));
    }
    assert!(
        both >= 8,
        "{both} incidents list a radar beside the receiver"
    );

    // The same radars as conventional secondary radars (`af-pk-border-ssr`): the
    // simulator's plots of aircraft carry their Mode 3/A code and Mode C altitude, no
    // address and no identification; its Mode S frames are the same.
    let ssr = temp_dir("fusion-ssr");
    simulate("af-pk-border-ssr", &ssr, 3, "raw");
    assert_eq!(read(&ssr, "raw.csv"), read(&dir, "raw.csv"));
    config_with_receiver(&ssr);
    let mut d = AsterixDecoder::new(Timestamp::parse_rfc3339(START).unwrap());
    let (mut mode3a_only, mut with_level, mut addressed) = (0, 0, 0);
    d.decode(&read(&ssr, "asterix.ast"), &mut |_, r, _| {
        if r.category == 48 {
            if r.address.is_some() || r.callsign.is_some() {
                addressed += 1;
            } else if r.detection == Some(skyfence_decode::asterix::Detection::SsrPsr) {
                mode3a_only += 1;
                // Mode C: whole hundreds of feet.
                if let Some(fl) = r.flight_level {
                    assert_eq!(fl.fract(), 0.0, "{fl}");
                    with_level += 1;
                }
            }
        }
    });
    assert_eq!(addressed, 0);
    assert!(
        mode3a_only > 1000 && with_level > 900,
        "{mode3a_only} {with_level}"
    );
    let (gated, stderr) = analyze_radar_and_adsb_stderr(&ssr, "asterix.ast", "gated.jsonl");
    // Without addresses, every plot joined an aircraft through the gate: its own, or
    // its radar track's binding the gate made earlier.
    let assoc = stderr
        .lines()
        .find(|l| l.contains("radar association:"))
        .unwrap_or_else(|| panic!("{stderr}"));
    let count = |suffix: &str| -> u64 {
        assoc
            .split(", ")
            .find_map(|p| p.split(": ").last().unwrap().strip_suffix(suffix))
            .unwrap_or_else(|| panic!("{assoc}"))
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (bound, gated_now) = (
        count(" reports by their track's binding (a Mode S address or the gate before)"),
        count(" by the gate"),
    );
    assert!(gated_now > 0 && bound + gated_now > 1000, "{assoc}");
    // Every aircraft's radar track joins its ADS-B track, with one exception the gate
    // is there for: while 700a03 broadcasts a spoofed position (80 km east of where it
    // flies), the radars' plots of it fall outside its ADS-B track's gate and are a
    // target of their own (with Mode S, the address joined them regardless).
    let spoofed: Vec<(i64, Value)> = String::from_utf8(read(&dir, "truth-tracks.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|c| c[10] == "true")
        .map(|c| {
            (
                millis(&Value::from(c[0])),
                serde_json::json!({"lat": c[2].parse::<f64>().unwrap(), "lon": c[3].parse::<f64>().unwrap()}),
            )
        })
        .collect();
    let (fk, mut extra) = (keys(&found), 0);
    for g in &gated {
        let k = &keys(std::slice::from_ref(g))[0];
        if fk.contains(k) {
            // The right aircraft: an incident of the Mode S run with the same entry
            // lists the same radars as when the address joined them.
            assert!(
                found.iter().any(|f| keys(std::slice::from_ref(f))[0] == *k
                    && f["entered_at"] == g["entered_at"]
                    && f["sensors"] == g["sensors"]),
                "{g}"
            );
            continue;
        }
        extra += 1;
        assert_eq!(g["target"]["kind"], "track", "{g}");
        let at = millis(&g["entered_at"]);
        assert!(
            spoofed
                .iter()
                .any(|(t, p)| (t - at).abs() < 1_000 && metres(p, &g["entry"]) < 1_000.0),
            "{g} is no spoofing aircraft's true position"
        );
    }
    let _ = std::fs::remove_dir_all(ssr);
    assert!(extra <= 2, "{extra}");
    assert_eq!(gated.len(), found.len() + extra);
    let _ = std::fs::remove_dir_all(dir);
}

/// A Remote ID drone the radar also paints is one target: in
/// `examples/scenarios/khyber-radar.toml` the drone `AF1581RID0000777` crosses the
/// Khyber border within `peshawar-psr`'s coverage and `landi-kotal-rid`'s range. Its
/// radar plots join its Remote ID target through the gate, so its one PK incident lists
/// both sensors and the radar makes no track incident of it; the silent drone stays the
/// radar's own track. Without the gate taking Remote ID targets, the drone's plots were
/// a second, non-cooperative target.
#[test]
fn a_radar_plot_of_a_remote_id_drone_joins_it_and_the_incident_lists_both_sensors() {
    let dir = temp_dir("rid-radar");
    let scenario =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/scenarios/khyber-radar.toml");
    simulate(scenario.to_str().unwrap(), &dir, 1, "raw");
    // The Remote ID receiver declared, so its records are named in `sensors`.
    let mut config = String::from_utf8(read(&dir, "config.toml")).unwrap();
    config.push_str("\n[[sensor]]\nname = \"landi-kotal-rid\"\ntype = \"remoteid\"\n");
    std::fs::write(dir.join("c2.toml"), config).unwrap();
    let stderr = run(
        &dir,
        &[
            "analyze",
            "--config",
            "c2.toml",
            "--input",
            "asterix:asterix.ast",
            "--input",
            "remoteid:remoteid.csv@landi-kotal-rid",
            "--start",
            START,
            "--out",
            "incidents.jsonl",
        ],
    );
    let found = lines(&dir, "incidents.jsonl");
    // The truth's targets, each found (the silent drone's radar track may cross the
    // winding border more than once in the plots' noise).
    let truth = lines(&dir, "truth.jsonl");
    let mut found_keys = keys(&found);
    found_keys.dedup();
    assert_eq!(found_keys, keys(&truth), "{found:?}\n{stderr}");
    let pk: Vec<&Value> = found.iter().filter(|i| i["zone"] == "PK").collect();
    let rid: Vec<&&Value> = pk
        .iter()
        .filter(|i| i["target"]["kind"] == "remoteid")
        .collect();
    assert_eq!(rid.len(), 1, "{pk:?}");
    assert_eq!(rid[0]["target"]["id"], "AF1581RID0000777");
    assert_eq!(
        rid[0]["sensors"],
        serde_json::json!(["landi-kotal-rid", "peshawar-psr"]),
        "{}",
        rid[0]
    );
    // The only radar track is the silent drone's: the truth's track target.
    let silent = keys(&truth)
        .into_iter()
        .find(|(_, id, _)| id.starts_with("peshawar-psr/"))
        .unwrap();
    for t in pk.iter().filter(|i| i["target"]["kind"] == "track") {
        assert_eq!(t["target"]["id"], silent.1.as_str(), "{t}");
        assert_eq!(t["sensors"], serde_json::json!(["peshawar-psr"]));
    }
    assert!(stderr.contains("radar association:"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Remote ID over every transport (`examples/scenarios/khyber-transports.toml`): each
/// drone's incident is found as the truth has it, with its operator on either side of
/// the border; the drone with Remote ID off is a radar track alone; damaged copies are
/// counted by reason and never give a position.
#[test]
fn remote_id_over_every_transport_with_operators_on_both_sides() {
    let dir = temp_dir("transports");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/scenarios/khyber-transports.toml")
        .canonicalize()
        .unwrap();
    simulate(scenario.to_str().unwrap(), &dir, 5, "raw");
    let csv = String::from_utf8(read(&dir, "remoteid.csv")).unwrap();
    // Bluetooth 4 sends single messages (50 hex digits), the others packs of five.
    let hex_lengths = |mac: &str| -> BTreeSet<usize> {
        csv.lines()
            .filter(|l| l.contains(mac))
            .map(|l| l.rsplit(',').next().unwrap().len())
            .collect()
    };
    assert!(hex_lengths("60:60:1f:af:01:01").contains(&50));
    for mac in [
        "60:60:1f:af:01:02",
        "62:60:1f:af:01:03",
        "62:60:1f:af:01:04",
    ] {
        assert!(hex_lengths(mac).contains(&(2 * (3 + 5 * 25))), "{mac}");
    }
    let out = Command::new(BIN)
        .current_dir(&dir)
        .args(["decode", "--input", "remoteid:remoteid.csv"])
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let count = |key: &str| -> u64 {
        stderr
            .split(|c: char| c.is_whitespace() || c == ';')
            .find_map(|w| w.strip_prefix(key))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    for key in ["bad_length=", "unsupported_format=", "bad_position="] {
        assert!(count(key) > 0, "no {key}: {stderr}");
    }
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        if let (Some(lat), Some(lon)) = (v["lat"].as_f64(), v["lon"].as_f64()) {
            assert!(
                (33.9..34.2).contains(&lat) && (70.9..71.3).contains(&lon),
                "{v}"
            );
        }
    }
    run(
        &dir,
        &[
            "analyze",
            "--config",
            "config.toml",
            "--input",
            "asterix:asterix.ast",
            "--input",
            "remoteid:remoteid.csv",
            "--start",
            START,
            "--out",
            "incidents.jsonl",
        ],
    );
    let truth = lines(&dir, "truth.jsonl");
    let found = lines(&dir, "incidents.jsonl");
    let pk = |v: &[Value], kind: &str| -> Vec<Value> {
        let mut of: Vec<Value> = v
            .iter()
            .filter(|i| i.get("event").is_none() && i["zone"] == "PK")
            .filter(|i| i["target"]["kind"] == kind)
            .cloned()
            .collect();
        of.sort_by_key(|i| i["target"]["id"].as_str().unwrap().to_string());
        of
    };
    let (t, f) = (pk(&truth, "remoteid"), pk(&found, "remoteid"));
    let ids = |v: &[Value]| -> Vec<String> {
        v.iter()
            .map(|i| i["target"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        ids(&f),
        [
            "AF1581RID0000101",
            "AF1581RID0000102",
            "PK1581RID0000103",
            "PK1581RID0000104"
        ]
    );
    assert_eq!(ids(&t), ids(&f));
    for (t, f) in t.iter().zip(&f) {
        assert!(metres(&f["operator"], &t["operator"]) < 1.0, "{f}");
        assert!(metres(&f["entry"], &t["entry"]) < 100.0, "{f} vs {t}");
        // The radar paints every drone: its plots join the drone's Remote ID target
        // through the association gate, so the one incident lists both sensors.
        assert_eq!(
            f["sensors"],
            serde_json::json!(["landi-kotal-rid", "peshawar-psr"])
        );
        let afghan = f["target"]["id"].as_str().unwrap().starts_with("AF");
        // Afghan operators stand west of the border (71.04° E), Pakistani east (71.15°).
        let lon = f["operator"]["lon"].as_f64().unwrap();
        assert_eq!(lon < 71.1, afghan, "{f}");
    }
    // The radar sees all five drones, but only the one with Remote ID switched off is
    // a radar track of its own: the others' plots joined their Remote ID targets.
    let (t, f) = (pk(&truth, "track"), pk(&found, "track"));
    assert_eq!((t.len(), f.len()), (1, 1), "{t:?}\n{f:?}");
    assert_eq!(ids(&t), ids(&f));
    assert!(f.iter().all(|i| i.get("operator").is_none()));
    let _ = std::fs::remove_dir_all(dir);
}
