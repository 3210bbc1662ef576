//! A dossier of a simulated week, checked against the simulator's truth.
//!
//! Seven days of the simulator's `af-pk-border` traffic (a different hour, seed and set
//! of flights each day, so the days differ) go through the service's own detector task
//! (`skyfence_service::pipeline::DetectorTask`: ingest, detection, the pre-entry rings
//! and the store batches of `skyfence run`) into a real SQLite store with its evidence
//! log, driven by the recording's own clock: a week in well under a minute. Then the real
//! binary writes the week's dossier of unauthorised incursions (`skyfence dossier`), and:
//!
//! - every incursion the truth holds is in it, and nothing else: per day and zone the
//!   counts of `incidents.csv` and `dossier.json` are the truth's, incident by incident
//!   (zone, target, entry time);
//! - `skyfence verify DIR --key --store` passes (signatures, every bundle re-detected,
//!   the renderings re-created, completeness against the log);
//! - removing an incident from the dossier (its bundle, manifest entry and CSV row)
//!   fails naming it. The other changes (a bundle, the manifest, the CSV, the PDF) are
//!   tested on a live run's dossier in `dossier.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use skyfence_core::Timestamp;
use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::detect::Detector;
use skyfence_decode::codec::Item;
use skyfence_service::config::Config;
use skyfence_service::evidence::{EvidenceSettings, load_log_key, record_start};
use skyfence_service::metrics::Metrics;
use skyfence_service::pipeline::{DetectorTask, PRE_ENTRY};
use skyfence_service::source::SourceBatch;
use skyfence_sim::Simulator;
use skyfence_sim::scenario::Scenario;
use skyfence_store::{Durability, StoreOptions};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const DAYS: i64 = 7;
const DAY_US: i64 = 86_400_000_000;
/// Monday 2023-11-13 00:00 UTC.
const WEEK_START_S: i64 = 1_699_833_600;
/// The hour of day (UTC) each day's traffic starts.
const HOURS: [i64; 7] = [22, 3, 9, 14, 19, 1, 6];

/// Day `d`'s scenario: `af-pk-border` starting at `HOURS[d]`; from day 1 only every other
/// flight (odd or even by day), so the days' counts differ and the dossier stays small
/// enough to verify twice in a debug build.
fn day(d: i64) -> Scenario {
    let mut s = skyfence_sim::builtin::af_pk_border().expect("af-pk-border");
    s.start = Timestamp::from_secs(WEEK_START_S)
        .add_micros(d * DAY_US + HOURS[d as usize] * 3_600_000_000);
    if d > 0 {
        let mut i = 0;
        s.flights.retain(|_| {
            i += 1;
            (i - 1 + d as usize).is_multiple_of(2)
        });
    }
    s
}

/// An incursion as the truth or the dossier states it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    day: i64,
    zone: String,
    target: String,
}

fn day_of(t: Timestamp) -> i64 {
    (t.as_micros() - WEEK_START_S * 1_000_000).div_euclid(DAY_US)
}

fn parse_time(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// What the week left: the directory (config, store, key), the truth's unauthorised
/// incursions with their entry times, and the log's public key.
struct Week {
    dir: tempfile::TempDir,
    truth: Vec<(Key, Timestamp, bool)>,
    vkey: String,
}

/// Simulates the week into a store, as `skyfence run` would have recorded it.
fn simulate_week() -> Week {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = day(0);
    // The config as `skyfence simulate` writes it, with the store beside it.
    std::fs::write(
        dir.path().join("zones.geojson"),
        skyfence_sim::borders::to_geojson(&first.zones),
    )
    .unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(
        &config_path,
        format!(
            "{}\n[store]\npath = \"skyfence.db\"\n",
            skyfence_sim::config_toml(&first)
        ),
    )
    .unwrap();
    let config = Config::load(&config_path).expect("config");
    let zones = config.load_zones(&[], &[]).expect("zones");
    let settings = EvidenceSettings::for_config(&config).expect("evidence settings");
    let signer = load_log_key(&settings.key_path, settings.origin.as_deref()).expect("log key");
    let url = config.store.location(&config.base_dir).expect("store url");
    let mut store = skyfence_store::open(
        &url,
        StoreOptions {
            pre_entry: PRE_ENTRY,
            durability: Durability::Normal,
            ..StoreOptions::default()
        },
    )
    .expect("store");
    let week_start = Timestamp::from_secs(WEEK_START_S);
    record_start(&mut *store, &zones, &config.permits, &settings, week_start)
        .expect("zone, permit and config leaves");

    let detector = Detector::new(
        AirspaceIndex::new(zones),
        config.detection,
        config.permits.clone(),
    );
    let (tracks, _) = tokio::sync::watch::channel(Arc::new(Vec::new()));
    let mut task = DetectorTask::new(
        detector,
        vec![Arc::from("sim")],
        Arc::new(Metrics::new(["sim".to_owned()])),
        tracks,
    );
    let mut apply = |task: &mut DetectorTask| {
        let job = task.take_job();
        if !job.batch.is_empty() {
            store.apply(&job.batch).expect("apply");
        }
    };
    let mut truth = Vec::new();
    let mut frames = 0u64;
    let started = Instant::now();
    for d in 0..DAYS {
        let scenario = day(d);
        let mut sim = Simulator::new(&scenario, d as u64 + 1);
        let mut batch = Vec::new();
        let mut next_tick = scenario.start.add_micros(1_000_000);
        let mut last = scenario.start;
        loop {
            let more = sim.step(&mut batch).expect("simulate");
            if !batch.is_empty() {
                frames += batch.len() as u64;
                last = batch.last().map_or(last, |r| r.at);
                let items = batch
                    .drain(..)
                    .map(|r| Item::Frame(r.frame(scenario.start)))
                    .collect();
                task.process(SourceBatch {
                    source: skyfence_core::SourceId(0),
                    received: Instant::now(),
                    items,
                });
            }
            // The service's once-a-second tick, on the recording's clock.
            while next_tick <= last {
                task.tick(next_tick);
                apply(&mut task);
                next_tick = next_tick.add_micros(1_000_000);
            }
            if !more {
                break;
            }
        }
        // The day's traffic has ended: its tracks time out (open incidents are lost).
        task.tick(last.add_micros(600_000_000));
        apply(&mut task);
        for line in sim.truth_lines() {
            let v: Value = serde_json::from_str(&line).unwrap();
            if v.get("event").is_some() || v["authorised"] != false {
                continue;
            }
            let entered = parse_time(v["entered_at"].as_str().unwrap());
            truth.push((
                Key {
                    day: day_of(entered),
                    zone: v["zone"].as_str().unwrap().to_owned(),
                    target: v["target"]["id"].as_str().unwrap().to_owned(),
                },
                entered,
                v["entry_observed"] == true,
            ));
        }
    }
    eprintln!(
        "simulated week: {frames} frames, {} unauthorised incursions in the truth, {:.1} s",
        truth.len(),
        started.elapsed().as_secs_f64()
    );
    truth.sort();
    Week {
        dir,
        truth,
        vkey: signer.verifier_key().to_string(),
    }
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .expect("run skyfence");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    eprintln!("--- skyfence {}:\n{text}", args.join(" "));
    (out.status.code().unwrap_or(-1), text)
}

fn csv_rows(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join("incidents.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// The length of the one CSV row of incident `id`.
fn victim_row_len(csv: &str, id: &str) -> usize {
    let rows: Vec<&str> = csv
        .split_inclusive("\r\n")
        .filter(|l| l.starts_with(id))
        .collect();
    assert_eq!(rows.len(), 1, "{id} has {} rows", rows.len());
    rows[0].len()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

#[test]
fn a_simulated_week_makes_a_dossier_that_matches_the_truth_and_verifies() {
    let week = simulate_week();
    let base = week.dir.path();
    let out: PathBuf = base.join("dossier");
    let from = Timestamp::from_secs(WEEK_START_S);
    let to = from.add_micros(DAYS * DAY_US);
    let (code, text) = run(&[
        "dossier",
        "--config",
        base.join("config.toml").to_str().unwrap(),
        "--from",
        &from.to_rfc3339_millis(),
        "--to",
        &to.to_rfc3339_millis(),
        "--unauthorised-only",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "dossier failed:\n{text}");

    // The truth: at least one unauthorised incursion on each day, and not the same
    // number every day (the days' flights differ).
    let mut truth_per_day: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for (k, _, _) in &week.truth {
        *truth_per_day.entry((k.day, k.zone.clone())).or_default() += 1;
    }
    for d in 0..DAYS {
        assert!(
            truth_per_day.keys().any(|(day, _)| *day == d),
            "the truth has no unauthorised incursion on day {d}: {truth_per_day:?}"
        );
    }

    // The CSV, incident by incident, against the truth.
    let rows = csv_rows(&out);
    let mut found: Vec<(Key, Timestamp, bool)> = rows
        .iter()
        .map(|r| {
            let entered = parse_time(&r["entered_at"]);
            assert_eq!(r["authorised"], "false", "{r:?}");
            (
                Key {
                    day: day_of(entered),
                    zone: r["zone"].clone(),
                    target: r["target_id"].clone(),
                },
                entered,
                r["entry_observed"] == "true",
            )
        })
        .collect();
    found.sort();
    let keys =
        |v: &[(Key, Timestamp, bool)]| v.iter().map(|(k, _, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(
        keys(&found),
        keys(&week.truth),
        "the dossier's incursions (left) are not the truth's (right)"
    );
    for ((k, t_found, obs_found), (_, t_truth, obs_truth)) in found.iter().zip(&week.truth) {
        assert_eq!(obs_found, obs_truth, "entry_observed of {k:?}");
        // Observed crossings are interpolated between noisy reports; unobserved ones are
        // the first report inside: seconds either way.
        let d = (t_found.as_micros() - t_truth.as_micros()).abs();
        assert!(
            d <= 10_000_000,
            "{k:?}: entered {t_found:?}, truth {t_truth:?}"
        );
    }

    // The manifest lists the same incidents, counted per day and zone like the truth.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("dossier.json")).unwrap()).unwrap();
    let listed = manifest["incidents"].as_array().unwrap();
    let mut manifest_per_day: BTreeMap<(i64, String), usize> = BTreeMap::new();
    for i in listed {
        let day = day_of(parse_time(i["entered_at"].as_str().unwrap()));
        *manifest_per_day
            .entry((day, i["zone"].as_str().unwrap().to_owned()))
            .or_default() += 1;
        assert!(out.join(i["bundle"].as_str().unwrap()).is_file(), "{i}");
    }
    assert_eq!(manifest_per_day, truth_per_day);
    // The report states the total and the count of each day.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let n = week.truth.len();
    assert!(
        html.contains(&format!(
            "<b>{n}</b> incidents: <span class=unauth>{n} unauthorised</span>"
        )),
        "index.html does not state {n} unauthorised incidents"
    );
    for d in 0..DAYS {
        let date = &from.add_micros(d * DAY_US).to_rfc3339_millis()[..10];
        let count: usize = truth_per_day
            .iter()
            .filter(|((day, _), _)| *day == d)
            .map(|(_, n)| n)
            .sum();
        let row = format!("<tr><td>{date}</td><td class=n>{count}</td>");
        assert!(html.contains(&row), "index.html has no row {row}");
    }

    // It verifies, complete against the log.
    let store = base.join("skyfence.db");
    let (code, text) = run(&[
        "verify",
        out.to_str().unwrap(),
        "--key",
        &week.vkey,
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "verify failed:\n{text}");
    assert!(!text.contains("FAIL"), "{text}");

    // One incursion removed (its bundle, its manifest entry and its CSV row): verify
    // fails naming it, and the log shows what is missing.
    let cut = base.join("dossier-cut");
    copy_dir(&out, &cut);
    let victim = listed[listed.len() / 2].clone();
    let id = victim["id"].as_str().unwrap();
    std::fs::remove_file(cut.join(victim["bundle"].as_str().unwrap())).unwrap();
    let mut m = manifest.clone();
    m["incidents"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["id"] != victim["id"]);
    m["files"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["path"] != victim["bundle"]);
    std::fs::write(
        cut.join("dossier.json"),
        serde_json::to_vec_pretty(&m).unwrap(),
    )
    .unwrap();
    let csv_text = std::fs::read_to_string(cut.join("incidents.csv")).unwrap();
    let kept: String = csv_text
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with(id))
        .collect();
    assert_eq!(
        kept.len() + victim_row_len(&csv_text, id),
        csv_text.len(),
        "one row of {id}"
    );
    std::fs::write(cut.join("incidents.csv"), kept).unwrap();
    let (code, text) = run(&[
        "verify",
        cut.to_str().unwrap(),
        "--key",
        &week.vkey,
        "--store",
        store.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "verify of a dossier missing {id} passed:\n{text}");
    assert!(
        text.lines().any(|l| l.starts_with("FAIL dossier.json:")),
        "the manifest's changed content is not named:\n{text}"
    );
    let line = text
        .lines()
        .find(|l| l.starts_with("FAIL completeness"))
        .unwrap_or_else(|| panic!("no completeness failure:\n{text}"));
    assert!(
        line.contains(id),
        "the missing incident {id} is not named: {line}"
    );
}
