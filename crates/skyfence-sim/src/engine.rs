//! The simulation loop as a stream: [`Simulator`] advances the scenario one step at a
//! time and hands out the receptions of that step in time order, so a caller can write
//! recordings ([`super::simulate`]) or feed a live service in real time (`skyfence demo`).

use std::fmt::Write as _;
use std::io::Write;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use skyfence_core::Timestamp;

use super::kinematics::{Pilot, State};
use super::radar::{Plot, RadarRecord, RadarState, Seen};
use super::remoteid::{Broadcaster, Heard, Sent};
use super::scenario::Scenario;
use super::surveillance::{self, Reception, SQUITTERS, Squitter, Transponder};
use super::tracker::TrackerState;
use super::truth::{FlightLog, SAMPLE_S};

/// Header of `truth-tracks.csv`.
pub const TRACKS_CSV_HEADER: &str = "timestamp,icao24,lat,lon,alt_ft,gs_mps,track_deg,vrate_fpm,broadcast_lat,broadcast_lon,spoofed,heard\n";

struct Aircraft {
    state: State,
    pilot: Pilot,
    transponder: Transponder,
    active: bool,
    ended: bool,
}

/// A scenario being run: one ChaCha8 generator seeded with the seed drives every random
/// choice in a fixed order, so the same seed gives the same receptions. A second stream
/// of the same seed drives the operational status squitters ([`Squitter::own_stream`]).
pub struct Simulator<'a> {
    scenario: &'a Scenario,
    rng: ChaCha8Rng,
    status_rng: ChaCha8Rng,
    aircraft: Vec<Aircraft>,
    logs: Vec<FlightLog>,
    rx_cos_lat: Vec<f64>,
    step_s: f64,
    tick: u64,
    ticks: u64,
    carry: Vec<Reception>,
    last_at: Timestamp,
    tracks_csv: Option<Box<dyn Write + 'a>>,
    line: String,
    /// The radar stream of the seed (stream 2) and each site's state.
    radar_rng: ChaCha8Rng,
    radars: Vec<RadarState>,
    /// The tracker's stream of the seed (stream 4) and its state.
    tracker_rng: ChaCha8Rng,
    tracker: Option<TrackerState>,
    /// Its CAT062 records not yet taken ([`Simulator::take_tracker`]).
    tracker_records: Vec<RadarRecord>,
    /// ASTERIX records of the steps not yet taken ([`Simulator::take_asterix`]).
    asterix: Vec<RadarRecord>,
    plots: Vec<Plot>,
    /// The Remote ID stream of the seed (stream 3) and each drone's schedule.
    rid_rng: ChaCha8Rng,
    broadcasters: Vec<Option<Broadcaster>>,
    /// Remote ID receptions not yet taken ([`Simulator::take_remoteid`]).
    remoteid: Vec<Heard>,
    sent: Vec<Sent>,
    /// Per flight, whether a receiver has heard its Basic ID (before that, its Remote
    /// ID messages name no target).
    rid_named: Vec<bool>,
    /// Truth logs of the targets other than Mode S: per site and flight, the plots
    /// without address (a radar's own track); per flight, its Remote ID.
    radar_logs: Vec<Vec<FlightLog>>,
    rid_logs: Vec<FlightLog>,
    /// Each active flight's state at the start and end of the current step.
    step_states: Vec<Option<(State, State)>>,
}

impl<'a> Simulator<'a> {
    /// Starts `scenario` with `seed`. When the scenario computes truth, the true
    /// trajectories are kept for [`Simulator::truth_lines`].
    pub fn new(scenario: &'a Scenario, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut status_rng = ChaCha8Rng::seed_from_u64(seed);
        status_rng.set_stream(1);
        let mut radar_rng = ChaCha8Rng::seed_from_u64(seed);
        radar_rng.set_stream(2);
        let mut rid_rng = ChaCha8Rng::seed_from_u64(seed);
        rid_rng.set_stream(3);
        let mut tracker_rng = ChaCha8Rng::seed_from_u64(seed);
        tracker_rng.set_stream(4);
        // A flight without transponder draws its (unused) schedule from a generator of
        // its own, so the Mode S frames of the others stay what they were.
        let mut unused = ChaCha8Rng::seed_from_u64(0);
        let n = scenario.flights.len();
        let radars = scenario
            .radars
            .iter()
            .map(|_| RadarState::new(n, &mut radar_rng))
            .collect();
        let broadcasters = scenario
            .flights
            .iter()
            .map(|f| {
                f.remote_id
                    .as_ref()
                    .map(|_| Broadcaster::new(f.start_s, &mut rid_rng))
            })
            .collect();
        let aircraft: Vec<Aircraft> = scenario
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
                transponder: if f.transponder {
                    Transponder::new(f.start_s, &mut rng, &mut status_rng)
                } else {
                    Transponder::new(f.start_s, &mut unused.clone(), &mut unused)
                },
                active: false,
                ended: false,
            })
            .collect();
        // The truth's samples are the kinematic steps: they must be SAMPLE_S apart.
        let step_s = if scenario.truth {
            SAMPLE_S
        } else {
            scenario.step_s.clamp(0.01, 1.0)
        };
        Simulator {
            scenario,
            rng,
            status_rng,
            logs: vec![FlightLog::default(); aircraft.len()],
            aircraft,
            rx_cos_lat: scenario
                .receivers
                .iter()
                .map(|r| r.lat.to_radians().cos())
                .collect(),
            step_s,
            tick: 0,
            ticks: (scenario.duration_s / step_s).ceil() as u64,
            carry: Vec::new(),
            last_at: scenario.start,
            tracks_csv: None,
            line: String::new(),
            radar_rng,
            radars,
            tracker_rng,
            tracker: scenario.tracker.as_ref().map(|_| TrackerState::new(n)),
            tracker_records: Vec::new(),
            asterix: Vec::new(),
            plots: Vec::new(),
            rid_rng,
            broadcasters,
            remoteid: Vec::new(),
            sent: Vec::new(),
            rid_named: vec![false; n],
            radar_logs: if scenario.truth {
                vec![vec![FlightLog::default(); n]; scenario.radars.len()]
            } else {
                Vec::new()
            },
            rid_logs: vec![FlightLog::default(); n],
            step_states: vec![None; n],
        }
    }

    /// Hands out the ASTERIX records of the steps taken so far, in time order.
    pub fn take_asterix(&mut self, out: &mut Vec<RadarRecord>) {
        out.append(&mut self.asterix);
    }

    /// Hands out the tracker's CAT062 records of the steps taken so far, in time order.
    pub fn take_tracker(&mut self, out: &mut Vec<RadarRecord>) {
        out.append(&mut self.tracker_records);
    }

    /// Hands out the Remote ID receptions of the steps taken so far, in time order.
    pub fn take_remoteid(&mut self, out: &mut Vec<Heard>) {
        out.append(&mut self.remoteid);
    }

    /// Also writes one `truth-tracks.csv` row (after [`TRACKS_CSV_HEADER`], which the
    /// caller writes) per position squitter: the true state and the broadcast position.
    pub fn with_tracks_csv(mut self, out: Box<dyn Write + 'a>) -> Self {
        self.tracks_csv = Some(out);
        self
    }

    /// Advances one step and appends its receptions to `out`, in time order (ties by
    /// receiver). Returns `Ok(false)` once the scenario is over (the last call hands out
    /// the receptions still in flight).
    pub fn step(&mut self, out: &mut Vec<Reception>) -> std::io::Result<bool> {
        if self.tick >= self.ticks {
            if self.carry.is_empty() {
                return Ok(false);
            }
            if let Some(r) = self.carry.last() {
                self.last_at = self.last_at.max(r.at);
            }
            out.append(&mut self.carry);
            return Ok(false);
        }
        let scenario = self.scenario;
        let step_s = self.step_s;
        let t = self.tick as f64 * step_s;
        let t1 = (self.tick + 1) as f64 * step_s;
        self.tick += 1;
        // Receptions carried over from the previous step (heard after it ended).
        let written = out.len();
        out.append(&mut self.carry);
        self.step_states.iter_mut().for_each(|s| *s = None);
        for (i, (ac, f)) in self.aircraft.iter_mut().zip(&scenario.flights).enumerate() {
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
                    self.logs[i].t0_s = t;
                    self.logs[i]
                        .samples
                        .push([ac.state.lat, ac.state.lon, ac.state.alt_ft]);
                }
            }
            let s0 = ac.state;
            let more = ac.pilot.step(&mut ac.state, step_s) || f.legs.is_empty();
            let s1 = ac.state;
            if scenario.truth {
                self.logs[i].samples.push([s1.lat, s1.lon, s1.alt_ft]);
            }
            self.step_states[i] = Some((s0, s1));
            // A flight without transponder sends nothing (and draws nothing).
            for (slot, kind) in SQUITTERS.iter().enumerate().filter(|_| f.transponder) {
                while ac.transponder.next_s[slot] < t1 {
                    let tt = ac.transponder.next_s[slot].max(t);
                    let rng = if kind.own_stream() {
                        &mut self.status_rng
                    } else {
                        &mut self.rng
                    };
                    ac.transponder.next_s[slot] = tt + kind.interval_s(rng);
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
                            &mut self.rng,
                        )
                    });
                    let Some((bytes, len, msg)) = ac.transponder.frame(*kind, f, &st, pos, at)
                    else {
                        continue;
                    };
                    let heard = surveillance::receive(
                        &scenario.receivers,
                        &self.rx_cos_lat,
                        &scenario.surveillance,
                        &st,
                        at,
                        bytes,
                        len,
                        msg,
                        if kind.own_stream() {
                            &mut self.status_rng
                        } else {
                            &mut self.rng
                        },
                        out,
                    );
                    if !scenario.truth {
                        continue;
                    }
                    let log = &mut self.logs[i];
                    if heard {
                        log.heard.push(tt);
                    }
                    let Some(b) = pos else { continue };
                    if heard && !b.spoofed {
                        log.reports
                            .push((tt, [st.lat, st.lon, st.alt_ft], [b.lat, b.lon]));
                    }
                    if let Some(w) = self.tracks_csv.as_mut() {
                        let line = &mut self.line;
                        line.clear();
                        let _ = at.write_rfc3339(line, 6);
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
            if !more {
                ac.ended = true;
            }
        }
        self.other_sensors(t, t1);
        out[written..].sort_by_key(|r| (r.at, r.receiver));
        // A frame sent just before the step's end may be heard just after it: keep those
        // for the next step so that the output stays in time order.
        let step_end = scenario.start.add_micros((t1 * 1e6).round() as i64);
        let split = written + out[written..].partition_point(|r| r.at < step_end);
        self.carry.extend_from_slice(&out[split..]);
        out.truncate(split);
        if let Some(r) = out.last() {
            self.last_at = self.last_at.max(r.at);
        }
        Ok(true)
    }

    /// The radars' and Remote ID receivers' share of the step `[t, t1)`.
    fn other_sensors(&mut self, t: f64, t1: f64) {
        let scenario = self.scenario;
        if !scenario.radars.is_empty() {
            let seen: Vec<Seen> = self
                .step_states
                .iter()
                .enumerate()
                .filter_map(|(index, s)| {
                    let (s0, s1) = (*s)?;
                    let f = &scenario.flights[index];
                    let answers = f.transmitting(t);
                    Some(Seen {
                        index,
                        s0,
                        s1,
                        address: answers.then_some(f.icao24),
                        callsign: f.callsign.filter(|_| answers),
                        squawk: f.squawk.filter(|_| answers),
                        altitude: answers && !f.no_altitude,
                    })
                })
                .collect();
            let first = self.asterix.len();
            for (ri, (state, site)) in self.radars.iter_mut().zip(&scenario.radars).enumerate() {
                state.step(
                    ri,
                    site,
                    scenario.start,
                    t,
                    t1,
                    &seen,
                    &mut self.radar_rng,
                    &mut self.asterix,
                    &mut self.plots,
                );
            }
            self.asterix[first..].sort_by_key(|r| (r.at, r.radar));
            if let (Some(tracker), Some(site)) = (self.tracker.as_mut(), &scenario.tracker) {
                for p in &self.plots {
                    tracker.plotted(p.index, p.t_s);
                }
                tracker.step(
                    site,
                    scenario.start,
                    t,
                    t1,
                    &seen,
                    &mut self.tracker_rng,
                    &mut self.tracker_records,
                );
            }
            for p in self.plots.drain(..) {
                // Plots of a transponder belong to its ICAO target, those of a Remote ID
                // drone to its Remote ID target (the association gate joins them); the
                // rest are the site's own tracks.
                if p.addressed || scenario.flights[p.index].remote_id.is_some() || !scenario.truth {
                    continue;
                }
                let log = &mut self.radar_logs[p.radar][p.index];
                log.track = p.track;
                let s = p.state;
                log.reports
                    .push((p.t_s, [s.lat, s.lon, s.alt_ft], p.measured));
                log.heard.push(p.t_s);
            }
        }
        if !scenario.remoteid_receivers.is_empty() {
            let first = self.remoteid.len();
            for (i, b) in self.broadcasters.iter_mut().enumerate() {
                let (Some(b), Some((s0, s1))) = (b.as_mut(), self.step_states[i]) else {
                    continue;
                };
                let Some(spec) = scenario.flights[i].remote_id.as_ref() else {
                    continue;
                };
                b.step(
                    spec,
                    scenario.start,
                    (t, t1),
                    (&s0, &s1),
                    &scenario.remoteid_receivers,
                    &scenario.surveillance,
                    &mut self.rid_rng,
                    &mut self.remoteid,
                    &mut self.sent,
                );
                for sent in self.sent.drain(..) {
                    if !sent.heard {
                        continue;
                    }
                    self.rid_named[i] |= sent.basic_id;
                    if !self.rid_named[i] || !scenario.truth {
                        continue;
                    }
                    let log = &mut self.rid_logs[i];
                    log.heard.push(sent.t_s);
                    if sent.location {
                        let s = sent.state;
                        log.reports
                            .push((sent.t_s, [s.lat, s.lon, s.alt_ft], sent.broadcast));
                    }
                }
            }
            self.remoteid[first..].sort_by_key(|h| h.record.at);
        }
    }

    /// Flushes the tracks CSV, if any.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match self.tracks_csv.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// The truth lines ([`super::truth::truth_lines`]) for what has been simulated,
    /// with the recording ending at the last reception; empty when the scenario computes
    /// no truth.
    pub fn truth_lines(&self) -> Vec<String> {
        if !self.scenario.truth {
            return Vec::new();
        }
        super::truth::truth_lines(
            self.scenario,
            &super::truth::Logs {
                modes: &self.logs,
                radar: &self.radar_logs,
                remoteid: &self.rid_logs,
            },
            self.last_at.secs_since(self.scenario.start),
        )
    }
}
