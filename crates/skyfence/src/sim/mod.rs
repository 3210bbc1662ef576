//! The scenario simulator behind `skyfence simulate` (issue 4): realistic border traffic
//! in the real wire formats, with the right answer.
//!
//! - [`kinematics`]: great-circle legs, turns at the type's rate, climbs, orbits.
//! - [`scenario`]: the scenario model and TOML scenario files; [`builtin`]: the
//!   `af-pk-border` demo (its story is in that module's documentation) and `scale`.
//! - [`surveillance`]: transponder schedules, position noise per NACp, jitter, spoofing,
//!   receivers with line of sight, loss, corruption and multi-receiver duplicates.
//! - [`truth`] with [`geometry`]: incidents and approach warnings from the true
//!   trajectories, independent of the detector.
//! - [`write`]: the recordings (raw, Beast, AVR, SBS), streamed.
//!
//! Reproducible: one ChaCha8 generator seeded with `--seed` drives every random choice,
//! in a fixed order, so the same seed gives the same bytes.

pub mod borders;
pub mod builtin;
pub mod geometry;
pub mod kinematics;
pub mod scenario;
pub mod surveillance;
pub mod truth;
pub mod write;

use std::fmt::Write as _;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use skyfence_core::Timestamp;

use kinematics::{Pilot, State};
use scenario::Scenario;
use surveillance::{Reception, SQUITTERS, Squitter, Transponder};
use truth::{FlightLog, SAMPLE_S};

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
}

struct Aircraft {
    state: State,
    pilot: Pilot,
    transponder: Transponder,
    active: bool,
    ended: bool,
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
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut recordings = write::Recordings::create(out_dir, scenario.start, formats)?;
    let mut tracks_csv = if scenario.truth {
        let path = out_dir.join("truth-tracks.csv");
        let f = fs::File::create(&path)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
        let mut w = BufWriter::new(f);
        w.write_all(
            b"timestamp,icao24,lat,lon,alt_ft,gs_mps,track_deg,vrate_fpm,broadcast_lat,broadcast_lon,spoofed,heard\n",
        )?;
        Some(w)
    } else {
        None
    };
    let mut aircraft: Vec<Aircraft> = scenario
        .flights
        .iter()
        .map(|f| Aircraft {
            state: f.initial,
            pilot: Pilot::new(
                f.legs.clone(),
                f.kind.performance(),
                f.initial.alt_ft,
                f.initial.gs_mps,
            ),
            transponder: Transponder::new(f.start_s, &mut rng),
            active: false,
            ended: false,
        })
        .collect();
    let mut logs: Vec<FlightLog> = vec![FlightLog::default(); aircraft.len()];
    // The truth's samples are the kinematic steps: they must be SAMPLE_S apart.
    let step_s = if scenario.truth {
        SAMPLE_S
    } else {
        scenario.step_s.clamp(0.01, 1.0)
    };
    let ticks = (scenario.duration_s / step_s).ceil() as u64;
    let mut batch: Vec<Reception> = Vec::with_capacity(1 << 16);
    let mut carry: Vec<Reception> = Vec::new();
    let rx_cos_lat: Vec<f64> = scenario
        .receivers
        .iter()
        .map(|r| r.lat.to_radians().cos())
        .collect();
    let mut last_at = scenario.start;
    let mut line = String::new();
    for k in 0..ticks {
        let t = k as f64 * step_s;
        let t1 = (k + 1) as f64 * step_s;
        // Receptions carried over from the previous tick (heard after it ended).
        let written = batch.len();
        batch.append(&mut carry);
        for (i, (ac, f)) in aircraft.iter_mut().zip(&scenario.flights).enumerate() {
            if ac.ended || t1 <= f.start_s {
                continue;
            }
            if t >= f.end_s {
                ac.ended = true;
                continue;
            }
            if !ac.active {
                ac.active = true;
                if scenario.truth {
                    logs[i].t0_s = t;
                    logs[i]
                        .samples
                        .push([ac.state.lat, ac.state.lon, ac.state.alt_ft]);
                }
            }
            let s0 = ac.state;
            let more = ac.pilot.step(&mut ac.state, step_s) || f.legs.is_empty();
            let s1 = ac.state;
            if scenario.truth {
                logs[i].samples.push([s1.lat, s1.lon, s1.alt_ft]);
            }
            for (slot, kind) in SQUITTERS.iter().enumerate() {
                while ac.transponder.next_s[slot] < t1 {
                    let tt = ac.transponder.next_s[slot].max(t);
                    ac.transponder.next_s[slot] = tt + kind.interval_s(&mut rng);
                    if !f.transmitting(tt) {
                        continue;
                    }
                    let st = s0.lerp(&s1, (tt - t) / step_s);
                    let at = scenario.start.add_micros((tt * 1e6).round() as i64);
                    let pos = (*kind == Squitter::Position).then(|| {
                        ac.transponder.broadcast_position(
                            f,
                            &st,
                            tt,
                            &scenario.surveillance,
                            &mut rng,
                        )
                    });
                    let Some((bytes, len, msg)) = ac.transponder.frame(*kind, f, &st, pos, at)
                    else {
                        continue;
                    };
                    let heard = surveillance::receive(
                        &scenario.receivers,
                        &rx_cos_lat,
                        &scenario.surveillance,
                        &st,
                        at,
                        bytes,
                        len,
                        msg,
                        &mut rng,
                        &mut batch,
                    );
                    if scenario.truth {
                        let log = &mut logs[i];
                        if heard {
                            log.heard.push(tt);
                        }
                        if let Some(b) = pos {
                            if heard && !b.spoofed {
                                log.reports.push((tt, [st.lat, st.lon, st.alt_ft]));
                            }
                            if let Some(w) = tracks_csv.as_mut() {
                                line.clear();
                                let _ = at.write_rfc3339(&mut line, 6);
                                let _ = writeln!(
                                    line,
                                    ",{:06x},{:.7},{:.7},{:.1},{:.2},{:.2},{:.0},{:.7},{:.7},{},{}",
                                    f.icao24.as_u32(),
                                    st.lat,
                                    st.lon,
                                    st.alt_ft,
                                    st.gs_mps,
                                    st.track_deg,
                                    st.vrate_fpm,
                                    b.lat,
                                    b.lon,
                                    b.spoofed,
                                    heard
                                );
                                w.write_all(line.as_bytes())?;
                            }
                        }
                    }
                }
            }
            if !more {
                ac.ended = true;
            }
        }
        batch[written..].sort_by_key(|r| (r.at, r.receiver));
        // A frame sent just before the tick's end may be heard just after it: keep those
        // for the next tick so that the recordings stay in time order.
        let tick_end = scenario.start.add_micros((t1 * 1e6).round() as i64);
        let split = written + batch[written..].partition_point(|r| r.at < tick_end);
        carry.extend_from_slice(&batch[split..]);
        batch.truncate(split);
        if let Some(r) = batch.last() {
            last_at = last_at.max(r.at);
        }
        // Hand full batches to the writers; keep the buffer otherwise.
        if batch.len() >= 1 << 14 {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(1 << 15));
            recordings.write(full)?;
        }
    }
    if let Some(r) = carry.last() {
        last_at = last_at.max(r.at);
    }
    batch.append(&mut carry);
    recordings.write(batch)?;
    let frames = recordings.finish()?;
    if let Some(mut w) = tracks_csv {
        w.flush()?;
    }
    let mut summary = Summary {
        frames,
        flights: scenario.flights.len(),
        ..Summary::default()
    };
    let truth_lines = if scenario.truth {
        truth::truth_lines(scenario, &logs, last_at.secs_since(scenario.start))
    } else {
        Vec::new()
    };
    summary.approaches = truth_lines
        .iter()
        .filter(|l| l.starts_with("{\"event\":\"approach\""))
        .count();
    summary.incidents = truth_lines.len() - summary.approaches;
    let mut text = truth_lines.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    write_file(out_dir, "truth.jsonl", &text)?;
    write_file(
        out_dir,
        "zones.geojson",
        &borders::to_geojson(&scenario.zones),
    )?;
    write_file(out_dir, "config.toml", &config_toml(scenario))?;
    write_file(out_dir, "README.md", &readme(scenario, seed, &summary))?;
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
/// permits (INTERFACES.md, "Config").
pub fn config_toml(scenario: &Scenario) -> String {
    let d = &scenario.detection;
    let mut s = format!(
        "# Written by `skyfence simulate` for scenario {}.\n\n[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n[[zones]]\nfile = \"zones.geojson\"\n",
        toml_str(&scenario.name),
        d.confirm_s,
        d.track_timeout_s,
        d.max_speed_mps
    );
    for p in &scenario.permits {
        s.push_str("\n[[allow]]\n");
        for (key, v) in [
            ("icao24", &p.icao24),
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

fn readme(scenario: &Scenario, seed: u64, summary: &Summary) -> String {
    let start = scenario.start.to_rfc3339_millis();
    let end = Timestamp::from_micros(
        scenario.start.as_micros() + (scenario.duration_s * 1e6).round() as i64,
    )
    .to_rfc3339_millis();
    let mut s = format!(
        "# Simulated scenario `{name}`\n\n{desc}\n\n\
         Generated by `skyfence simulate --scenario {name} --seed {seed}`: {frames} frames \
         from {flights} flights, {start} to {end}.\n\n\
         ## Files\n\n\
         | file | content |\n|---|---|\n\
         | `raw.csv` | every received frame, `timestamp,rawmsg` (Unix seconds) |\n\
         | `beast.bin` | the same frames as a Beast stream; the 12 MHz counter reads 0 at the start: decode with `--start {start}` |\n\
         | `avr.txt` | the same frames as `@`-timestamped AVR lines (same counter): `--start {start}` |\n\
         | `sbs.csv` | the same messages as SBS-1 BaseStation lines (frames that fail their CRC are absent) |\n\
         | `zones.geojson` | the zones guarded |\n\
         | `config.toml` | detection settings, the zones file and the permits: `skyfence analyze --config config.toml --input raw:raw.csv` |\n\
         | `truth.jsonl` | the right answer: incidents (INTERFACES.md shape) and approach warnings (`\"event\": \"approach\"`) |\n\
         | `truth-tracks.csv` | the true state at every position squitter, with the broadcast position |\n\n\
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
