//! Golden replays: every built-in simulator scenario, analysed, gives the simulator's
//! truth — the same incidents, times within 2 s, crossing points within 300 m, depth
//! within 2 % + 100 m — and the same recording as raw, beast and sbs gives the same
//! incidents.
//!
//! The truth is computed by the simulator from the true trajectories with its own
//! geometry, so a detector bug cannot hide in both.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use skyfence_testkit::scratch::Scratch;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

fn temp_dir(name: &str) -> Scratch {
    skyfence_testkit::scratch::scratch_dir(&format!("skyfence-golden-{name}-"))
}

fn run(args: &[&str]) -> std::process::Output {
    let out = Command::new(BIN)
        .args(args)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "skyfence {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn secs(v: &Value) -> f64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    skyfence_core::Timestamp::parse_rfc3339(s)
        .unwrap()
        .as_secs_f64()
}

fn metres(a: &Value, b: &Value) -> f64 {
    let p = |v: &Value| {
        skyfence_core::GeoPoint::new(v["lat"].as_f64().unwrap(), v["lon"].as_f64().unwrap())
    };
    p(a).haversine_m(p(b))
}

fn key(i: &Value) -> (String, String) {
    (
        i["zone"].as_str().unwrap().to_string(),
        i["target"]["icao24"].as_str().unwrap().to_string(),
    )
}

/// Pairs each truth incident with the detected incident of the same zone and target
/// whose entry time is closest, and checks the figures; every mismatch is described
/// in `report`.
fn compare(truth: &[Value], got: &[Value], has_category: bool, report: &mut Vec<String>) {
    let mut used = vec![false; got.len()];
    for t in truth {
        let best = got
            .iter()
            .enumerate()
            .filter(|(i, g)| !used[*i] && key(g) == key(t))
            .min_by(|(_, a), (_, b)| {
                let da = (secs(&a["entered_at"]) - secs(&t["entered_at"])).abs();
                let db = (secs(&b["entered_at"]) - secs(&t["entered_at"])).abs();
                da.total_cmp(&db)
            });
        let Some((i, g)) = best else {
            report.push(format!(
                "missing: {} {:?} entered {}",
                t["zone"],
                key(t),
                t["entered_at"]
            ));
            continue;
        };
        used[i] = true;
        let name = format!("{:?} entered {}", key(t), t["entered_at"]);
        for field in [
            "status",
            "authorised",
            "permit",
            "classification",
            "entry_observed",
        ] {
            // SBS carries no emitter category: a target heard only over SBS is `unknown`.
            if field == "classification" && !has_category && g[field] == "unknown" {
                continue;
            }
            if g[field] != t[field] {
                report.push(format!(
                    "{name}: {field} {} != truth {}",
                    g[field], t[field]
                ));
            }
        }
        // An observed crossing is interpolated between reports: tight tolerances. An
        // entry first seen inside depends on when the first position was resolved (an
        // even/odd pair, then a confirming fix): a few seconds later, hundreds of metres
        // further in.
        let observed = t["entry_observed"] == Value::Bool(true);
        let (dt_max, dm_max) = if observed {
            (2.0, 300.0)
        } else {
            (5.0, 1500.0)
        };
        let dt = (secs(&g["entered_at"]) - secs(&t["entered_at"])).abs();
        if dt > dt_max {
            report.push(format!("{name}: entered_at off by {dt:.2} s"));
        }
        let dm = metres(&g["entry"], &t["entry"]);
        if dm > dm_max {
            report.push(format!("{name}: entry point off by {dm:.0} m"));
        }
        if t["status"] == "closed" && g["status"] == "closed" {
            let dt = (secs(&g["exited_at"]) - secs(&t["exited_at"])).abs();
            if dt > 2.0 {
                report.push(format!("{name}: exited_at off by {dt:.2} s"));
            }
            let dm = metres(&g["exit"], &t["exit"]);
            if dm > 300.0 {
                report.push(format!("{name}: exit point off by {dm:.0} m"));
            }
        }
        // Likewise the depth: the reports before the first fix are not the detector's.
        let (gd, td) = (
            g["max_depth_m"].as_f64().unwrap(),
            t["max_depth_m"].as_f64().unwrap(),
        );
        if (gd - td).abs() > 0.02 * td + if observed { 100.0 } else { dm_max } {
            report.push(format!("{name}: max_depth_m {gd} vs truth {td}"));
        }
    }
    for (g, used) in got.iter().zip(&used) {
        if !used {
            report.push(format!("extra: {:?} entered {}", key(g), g["entered_at"]));
        }
    }
}

fn start_of(dir: &Path) -> String {
    // The simulator writes the counter's zero time into its README.
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let i = readme.find("--start ").expect("README names --start") + "--start ".len();
    readme[i..]
        .split(|c: char| c == '`' || c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// The truth's incidents (approach warnings left out).
fn truth_incidents(dir: &Path) -> Vec<Value> {
    lines(&dir.join("truth.jsonl"))
        .into_iter()
        .filter(|v| v.get("event").is_none())
        .collect()
}

/// Runs `skyfence analyze` over `DIR/file` as `fmt` with the scenario's config and
/// returns the incidents it wrote.
fn analyze(dir: &Path, fmt: &str, file: &str, start: Option<&str>) -> Vec<Value> {
    let out = dir.join(format!("incidents-{fmt}.jsonl"));
    let spec = format!("{fmt}:{}", dir.join(file).display());
    let config = dir.join("config.toml");
    let mut args = vec![
        "analyze",
        "--input",
        &spec,
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    if let Some(start) = start {
        args.extend(["--start", start]);
    }
    run(&args);
    lines(&out)
}

#[test]
fn af_pk_border_matches_truth_in_every_format() {
    let dir = temp_dir("af-pk");
    let d = dir.to_str().unwrap();
    run(&[
        "simulate",
        "--scenario",
        "af-pk-border",
        "--out-dir",
        d,
        "--seed",
        "7",
    ]);
    let truth = truth_incidents(&dir);
    assert!(
        truth.len() >= 10,
        "the demo scenario has a handful of incidents: {}",
        truth.len()
    );
    let start = start_of(&dir);
    let mut per_format = Vec::new();
    for input in ["raw:raw.csv", "beast:beast.bin", "sbs:sbs.csv"] {
        let (fmt, file) = input.split_once(':').unwrap();
        let got = analyze(&dir, fmt, file, (fmt == "beast").then_some(start.as_str()));
        let mut report = Vec::new();
        compare(&truth, &got, fmt != "sbs", &mut report);
        assert!(
            report.is_empty(),
            "{fmt}: {} differences from truth:\n{}",
            report.len(),
            report.join("\n")
        );
        per_format.push((fmt, got));
    }
    // Across formats: the same incidents (ids derive from target, zone and entry time,
    // which differ within each format's precision, so compare keys and statuses).
    let summary = |v: &[Value]| {
        let mut s: Vec<_> = v
            .iter()
            .map(|i| (key(i), i["status"].to_string()))
            .collect();
        s.sort();
        s
    };
    for (fmt, got) in &per_format[1..] {
        assert_eq!(summary(got), summary(&per_format[0].1), "{fmt} vs raw");
    }
}

#[test]
fn scale_matches_truth() {
    // Small enough for the simulator to keep its truth (targets × seconds ≤ 200 000).
    let dir = temp_dir("scale");
    let d = dir.to_str().unwrap();
    run(&[
        "simulate",
        "--scenario",
        "scale",
        "--targets",
        "60",
        "--duration",
        "300",
        "--out-dir",
        d,
        "--seed",
        "3",
        "--formats",
        "raw",
    ]);
    let truth = truth_incidents(&dir);
    assert!(
        truth.len() >= 20,
        "scale flights enter AF and PK: {}",
        truth.len()
    );
    let mut report = Vec::new();
    compare(
        &truth,
        &analyze(&dir, "raw", "raw.csv", None),
        true,
        &mut report,
    );
    assert!(
        report.is_empty(),
        "{} differences from truth:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// The same capture as Beast and as plain AVR (`*HEX;` lines without any time, as
/// dump1090's port 30002 writes them): the same incidents (target, zone, status), their
/// paced times never later than the true ones and their durations a little shorter
/// (tracker.rs, "Frames without their own time"), and a warning that says so.
#[test]
fn af_pk_border_as_plain_avr_gives_the_beast_incidents() {
    let dir = temp_dir("af-pk-plain-avr");
    let d = dir.to_str().unwrap();
    run(&[
        "simulate",
        "--scenario",
        "af-pk-border",
        "--out-dir",
        d,
        "--seed",
        "7",
    ]);
    let start = start_of(&dir);
    // `@` + 12 hex digits of counter → `*`: the same frames in the same order, no time.
    let timed = std::fs::read_to_string(dir.join("avr.txt")).unwrap();
    let plain: String = timed
        .lines()
        .map(|l| {
            assert!(l.starts_with('@') && l.len() > 13, "{l}");
            format!("*{}\n", &l[13..])
        })
        .collect();
    std::fs::write(dir.join("plain.avr"), plain).unwrap();
    let beast = analyze(&dir, "beast", "beast.bin", Some(&start));
    let out = dir.join("incidents-plain.jsonl");
    let spec = format!("avr:{}", dir.join("plain.avr").display());
    let config = dir.join("config.toml");
    let result = run(&[
        "analyze",
        "--input",
        &spec,
        "--config",
        config.to_str().unwrap(),
        "--start",
        &start,
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(stderr.contains("had no time of their own"), "{stderr}");
    let plain = lines(&out);
    assert!(beast.len() >= 10, "{}", beast.len());
    let by_key = |v: &[Value]| {
        let mut s: Vec<_> = v
            .iter()
            .map(|i| ((key(i), i["status"].to_string()), i.clone()))
            .collect();
        s.sort_by(|a, b| a.0.cmp(&b.0));
        s
    };
    let (b, p) = (by_key(&beast), by_key(&plain));
    assert_eq!(
        b.iter().map(|x| &x.0).collect::<Vec<_>>(),
        p.iter().map(|x| &x.0).collect::<Vec<_>>(),
        "plain AVR vs Beast"
    );
    for ((k, bi), (_, pi)) in b.iter().zip(&p) {
        assert!(
            secs(&pi["entered_at"]) <= secs(&bi["entered_at"]) + 1e-3,
            "{k:?}: paced entry {} after the true {}",
            pi["entered_at"],
            bi["entered_at"]
        );
        let (bd, pd) = (
            bi["duration_s"].as_f64().unwrap(),
            pi["duration_s"].as_f64().unwrap(),
        );
        assert!(
            (0.6 * bd..=bd + 1.0).contains(&pd),
            "{k:?}: paced duration {pd} vs true {bd}"
        );
    }
}
