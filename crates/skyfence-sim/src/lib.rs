//! The scenario simulator behind `skyfence simulate`: realistic border traffic
//! in the real wire formats, with the right answer.
//!
//! - [`kinematics`]: great-circle legs, turns at the type's rate, climbs, orbits.
//! - [`scenario`]: the scenario model and TOML scenario files; [`builtin`]: the
//!   `af-pk-border` demo (its story is in that module's documentation) and `scale`.
//! - [`surveillance`]: transponder schedules, position noise per NACp, jitter, spoofing,
//!   receivers with line of sight, loss, corruption and multi-receiver duplicates.
//! - [`truth`] with [`geometry`]: incidents and approach warnings from the true
//!   trajectories, independent of the detector.
//! - [`engine`]: the loop as a stream of time-ordered receptions ([`Simulator`]), for
//!   recordings or a live feed; [`write`]: the recordings (raw, Beast, AVR, SBS).
//!
//! Reproducible: one ChaCha8 generator seeded with `--seed` drives every random choice,
//! in a fixed order, so the same seed gives the same bytes.

pub mod borders;
pub mod builtin;
pub mod engine;
pub mod feed;
pub mod geometry;
pub mod kinematics;
pub mod mlat;
pub mod radar;
pub mod remoteid;
pub mod scenario;
pub mod surveillance;
pub mod tracker;
pub mod truth;
pub mod write;

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use skyfence_core::Timestamp;

pub use engine::Simulator;
use scenario::Scenario;
use surveillance::Reception;

/// What a run produced.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Summary {
    /// Frames written to each recording.
    pub frames: u64,
    /// Flights simulated.
    pub flights: usize,
    /// Incidents in truth.jsonl.
    pub incidents: usize,
    /// Approach warnings in truth.jsonl.
    pub approaches: usize,
    /// ASTERIX records written to `asterix.ast` (radar sites).
    pub asterix_records: u64,
    /// Remote ID receptions written to `remoteid.csv`.
    pub remoteid_messages: u64,
    /// CAT062 system tracks written to `tracker.ast`.
    pub tracker_records: u64,
}

/// Header of `remoteid.csv`.
pub const REMOTEID_CSV_HEADER: &str = "timestamp,receiver,rssi,transmitter,hex\n";

/// The recordings of the sensors other than Mode S receivers: radar sites' ASTERIX
/// (`asterix.ast`) and Remote ID receivers' lines (`remoteid.csv`), streamed.
struct OtherRecordings {
    asterix: Option<BufWriter<fs::File>>,
    tracker: Option<BufWriter<fs::File>>,
    remoteid: Option<BufWriter<fs::File>>,
    records: Vec<radar::RadarRecord>,
    heard: Vec<remoteid::Heard>,
    bytes: Vec<u8>,
    text: String,
    asterix_records: u64,
    remoteid_messages: u64,
    tracker_records: u64,
}

impl OtherRecordings {
    fn create(dir: &Path, scenario: &Scenario) -> anyhow::Result<Self> {
        let open = |name: &str| -> anyhow::Result<BufWriter<fs::File>> {
            let path = dir.join(name);
            let f = fs::File::create(&path)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
            Ok(BufWriter::new(f))
        };
        let asterix = if scenario.radars.is_empty() {
            None
        } else {
            Some(open("asterix.ast")?)
        };
        let tracker = match &scenario.tracker {
            Some(_) if !scenario.radars.is_empty() => Some(open("tracker.ast")?),
            _ => None,
        };
        let remoteid = if scenario.remoteid_receivers.is_empty() {
            None
        } else {
            let mut w = open("remoteid.csv")?;
            w.write_all(REMOTEID_CSV_HEADER.as_bytes())?;
            Some(w)
        };
        Ok(OtherRecordings {
            asterix,
            tracker,
            remoteid,
            records: Vec::new(),
            heard: Vec::new(),
            bytes: Vec::new(),
            text: String::new(),
            asterix_records: 0,
            remoteid_messages: 0,
            tracker_records: 0,
        })
    }

    fn write(&mut self, sim: &mut Simulator<'_>) -> anyhow::Result<()> {
        sim.take_asterix(&mut self.records);
        sim.take_remoteid(&mut self.heard);
        if let Some(w) = &mut self.asterix {
            self.bytes.clear();
            radar::blocks(&self.records, &mut self.bytes, |_, _| {});
            w.write_all(&self.bytes)?;
            self.asterix_records += self.records.len() as u64;
        }
        if let Some(w) = &mut self.tracker {
            self.records.clear();
            sim.take_tracker(&mut self.records);
            self.bytes.clear();
            radar::blocks(&self.records, &mut self.bytes, |_, _| {});
            w.write_all(&self.bytes)?;
            self.tracker_records += self.records.len() as u64;
        }
        if let Some(w) = &mut self.remoteid {
            self.text.clear();
            for h in &self.heard {
                remoteid::write_line(h, &mut self.text);
            }
            w.write_all(self.text.as_bytes())?;
            self.remoteid_messages += self.heard.len() as u64;
        }
        self.records.clear();
        self.heard.clear();
        Ok(())
    }

    fn finish(self) -> anyhow::Result<(u64, u64, u64)> {
        for w in [self.asterix, self.remoteid, self.tracker]
            .into_iter()
            .flatten()
        {
            w.into_inner()
                .map_err(|e| anyhow::anyhow!("cannot write a recording: {}", e.error()))?;
        }
        Ok((
            self.asterix_records,
            self.remoteid_messages,
            self.tracker_records,
        ))
    }
}

/// Runs `scenario` with `seed`, writing the recordings of `formats` and everything else
/// into `out_dir` (created if needed).
pub fn simulate(
    scenario: &Scenario,
    seed: u64,
    out_dir: &Path,
    formats: &[write::Format],
) -> anyhow::Result<Summary> {
    fs::create_dir_all(out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    let mut recordings = write::Recordings::create(out_dir, scenario.start, formats)?;
    let mut sim = Simulator::new(scenario, seed);
    if scenario.truth {
        let path = out_dir.join("truth-tracks.csv");
        let f = fs::File::create(&path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        let mut w = BufWriter::new(f);
        w.write_all(engine::TRACKS_CSV_HEADER.as_bytes())?;
        sim = sim.with_tracks_csv(Box::new(w));
    }
    let mut others = OtherRecordings::create(out_dir, scenario)?;
    let mut batch: Vec<Reception> = Vec::with_capacity(1 << 15);
    while sim.step(&mut batch)? {
        others.write(&mut sim)?;
        // Hand full batches to the writer threads.
        if batch.len() >= 1 << 14 {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(1 << 15));
            recordings.write(full)?;
        }
    }
    recordings.write(batch)?;
    others.write(&mut sim)?;
    let frames = recordings.finish()?;
    let (asterix_records, remoteid_messages, tracker_records) = others.finish()?;
    sim.flush()?;
    let mut summary = Summary {
        frames,
        flights: scenario.flights.len(),
        asterix_records,
        remoteid_messages,
        tracker_records,
        ..Summary::default()
    };
    let truth_lines = sim.truth_lines();
    summary.approaches = truth_lines
        .iter()
        .filter(|l| l.starts_with("{\"event\":\"approach\""))
        .count();
    summary.incidents = truth_lines.len() - summary.approaches;
    if scenario.truth {
        let mut text = truth_lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        write_file(out_dir, "truth.jsonl", &text)?;
    } else {
        // A stale truth from an earlier run in the same directory would mislead.
        let _ = fs::remove_file(out_dir.join("truth.jsonl"));
        tracing::warn!(
            "no truth.jsonl for this run: the truth keeps every trajectory in memory and is \
             computed for scenarios up to {} target-seconds",
            builtin::SCALE_TRUTH_MAX_TARGET_S
        );
    }
    write_file(
        out_dir,
        "zones.geojson",
        &borders::to_geojson(&scenario.zones),
    )?;
    write_file(out_dir, "config.toml", &config_toml(scenario))?;
    write_file(
        out_dir,
        "README.md",
        &readme(scenario, seed, &summary, formats),
    )?;
    Ok(summary)
}

fn write_file(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    fs::write(&path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

/// A TOML string literal (basic string with escapes).
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The detector configuration for the recordings: `[detection]`, the zones file and the
/// permits (docs/INTERFACES.md, "Config").
pub fn config_toml(scenario: &Scenario) -> String {
    let d = &scenario.detection;
    let mut s = format!(
        "# Written by `skyfence simulate` for scenario {}.\n\n[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n[[zones]]\nfile = \"zones.geojson\"\n",
        toml_str(&scenario.name),
        d.confirm_s,
        d.track_timeout_s,
        d.max_speed_mps
    );
    s.push_str(&sensors_toml(scenario));
    for p in &scenario.permits {
        s.push_str("\n[[allow]]\n");
        for (key, v) in [
            ("icao24", &p.icao24),
            ("id", &p.id),
            ("kind", &p.kind),
            ("callsign", &p.callsign),
            ("zone", &p.zone),
        ] {
            if let Some(v) = v {
                let _ = writeln!(s, "{key} = {}", toml_str(v));
            }
        }
        let _ = writeln!(s, "reason = {}", toml_str(&p.reason));
        for (key, v) in [("from", &p.from), ("until", &p.until)] {
            if let Some(v) = v {
                let _ = writeln!(s, "{key} = {}", toml_str(v));
            }
        }
    }
    s
}

/// The scenario's radar sites as `[[sensor]]` entries (docs/INTERFACES.md, "Sensors").
pub fn sensors_toml(scenario: &Scenario) -> String {
    let mut s = String::new();
    for r in &scenario.radars {
        let _ = write!(
            s,
            "\n[[sensor]]\nname = {}\ntype = \"radar\"\nsac = {}\nsic = {}\nlat = {}\nlon = {}\nalt_m = {}\n",
            toml_str(&r.name),
            r.sac,
            r.sic,
            r.lat,
            r.lon,
            r.alt_m
        );
    }
    if let Some(t) = &scenario.tracker {
        let _ = write!(
            s,
            "\n[[sensor]]\nname = {}\ntype = \"tracker\"\nsac = {}\nsic = {}\n",
            toml_str(&t.name),
            t.sac,
            t.sic
        );
    }
    s
}

fn readme(scenario: &Scenario, seed: u64, summary: &Summary, formats: &[write::Format]) -> String {
    let start = scenario.start.to_rfc3339_millis();
    let mut rows = String::new();
    for f in formats {
        let Some(writer) = f.writer else { continue };
        let what = match f.name {
            "raw" => "every received frame, `timestamp,rawmsg` (Unix seconds)".to_owned(),
            "beast" => format!(
                "the same frames as a Beast stream; the 12 MHz counter reads 0 at the start: \
                 decode with `--start {start}`"
            ),
            "avr" => format!(
                "the same frames as `@`-timestamped AVR lines (same counter): `--start {start}`"
            ),
            "sbs" => "the same messages as SBS-1 BaseStation lines (frames that fail \
                            their CRC are absent)"
                .to_owned(),
            _ => f.description.to_owned(),
        };
        let _ = writeln!(rows, "| `{}` | {what} |", writer.file_name);
    }
    if !scenario.radars.is_empty() {
        let _ = writeln!(
            rows,
            "| `asterix.ast` | {} ASTERIX records of the radar sites (CAT048 plots and tracks, CAT034 \
             north markers and sector crossings), concatenated data blocks; times of day: \
             `skyfence analyze --config config.toml --input asterix:asterix.ast --start {start}` |",
            summary.asterix_records
        );
    }
    if let Some(t) = scenario
        .tracker
        .as_ref()
        .filter(|_| summary.tracker_records > 0)
    {
        let _ = writeln!(
            rows,
            "| `tracker.ast` | {} CAT062 system tracks of the radar network's tracker `{}` \
             (SAC {}, SIC {}; every {} s, WGS-84 positions), concatenated data blocks: \
             `skyfence analyze --config config.toml --input asterix:tracker.ast --start {start}`; \
             it reports the targets the radars see, so analyse it instead of `asterix.ast`, \
             not beside it (its tracks are targets of their own) |",
            summary.tracker_records, t.name, t.sac, t.sic, t.period_s
        );
    }
    if !scenario.remoteid_receivers.is_empty() {
        let _ = writeln!(
            rows,
            "| `remoteid.csv` | {} Remote ID messages as the receivers heard them (`remoteid` \
             lines: time, receiver, RSSI, advertiser address, message) |",
            summary.remoteid_messages
        );
    }
    rows.push_str(
        "| `zones.geojson` | the zones guarded |\n\
         | `config.toml` | detection settings, the zones file and the permits: \
         `skyfence analyze --config config.toml --input raw:raw.csv` |\n\
         ",
    );
    if scenario.truth {
        rows.push_str(
            "| `truth.jsonl` | the right answer: incidents (docs/INTERFACES.md shape) and approach \
             warnings (`\"event\": \"approach\"`) |\n",
        );
        rows.push_str(
            "| `truth-tracks.csv` | the true state at every position squitter, with the \
             broadcast position |\n",
        );
    }
    let end = Timestamp::from_micros(
        scenario.start.as_micros() + (scenario.duration_s * 1e6).round() as i64,
    )
    .to_rfc3339_millis();
    let mut s = format!(
        "# Simulated scenario `{name}`\n\n{desc}\n\n\
         Generated by `skyfence simulate --scenario {name} --seed {seed}`: {frames} frames \
         from {flights} flights, {start} to {end}.\n\n\
         ## Files\n\n| file | content |\n|---|---|\n{rows}\n\
         The recordings merge {nrx} receivers ({names}): a frame heard by several receivers \
         appears once per receiver, timestamped with its own propagation delay.\n\n",
        name = scenario.name,
        desc = scenario.description,
        frames = summary.frames,
        flights = summary.flights,
        nrx = scenario.receivers.len(),
        names = scenario
            .receivers
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    if !scenario.radars.is_empty() {
        let sites: Vec<String> = scenario
            .radars
            .iter()
            .map(|r| {
                format!(
                    "`{}` (SAC {}, SIC {}; {} s per revolution, {} km)",
                    r.name, r.sac, r.sic, r.rotation_s, r.range_km
                )
            })
            .collect();
        let _ = write!(
            s,
            "Radar sites: {}. A target with a transponder answers with its Mode S address \
             (its plots belong to its ICAO target); one without is seen by the primary \
             radar alone: the site's track `SITE/NUMBER`, numbered in the order the site \
             first saw its targets.\n\n",
            sites.join(", ")
        );
    }
    if !scenario.remoteid_receivers.is_empty() {
        let names: Vec<&str> = scenario
            .remoteid_receivers
            .iter()
            .map(|r| r.name.as_str())
            .collect();
        let _ = write!(
            s,
            "Remote ID receivers: {}; each drone broadcasting Remote ID is the target named \
             by its serial number.\n\n",
            names.join(", ")
        );
    }
    if scenario.truth {
        let _ = write!(
            s,
            "## The truth ({inc} incidents, {app} approach warnings)\n\n\
             Computed from the true trajectories with the simulator's own geometry, not \
             the detector's. Compare with tolerance:\n\n\
             - `entered_at`/`exited_at` of observed crossings are the true crossings; a \
             detector interpolating between reports is within tens of metres and well \
             under a second, more for slow targets with noisy positions (NACp 8 drones: \
             a few seconds).\n\
             - When the entry was not observed, `entered_at` is the first position squitter \
             heard inside; a decoder needs an even/odd CPR pair first, so expect it a few \
             seconds later.\n\
             - `reports` counts distinct position squitters (intact, not spoofed) heard by at \
             least one receiver; the merged recordings hold one copy per receiver, so a \
             detector that counts every copy reports about as many times more as there are \
             receivers in range.\n\
             - `max_depth_m` is taken at the true positions (local metric, 0.1 %); \
             broadcast positions carry NACp noise and jitter.\n\
             - Approach warnings: the first report in a zone's buffer band, outside it, \
             after `track_timeout_s` neither inside nor in the band.\n\
             - Ids are the truth's own (`truth-ZONE-ICAO-MICROS`).\n",
            inc = summary.incidents,
            app = summary.approaches
        );
    } else {
        s.push_str("No truth is computed for this scenario.\n");
    }
    s
}
