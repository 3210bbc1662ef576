//! The multilateration engine: every copy of a Mode S frame from every receiver in,
//! clock synchronisation and fixes out.
//!
//! The caller hands it each frame of a named receiver *before* duplicate removal
//! ([`Engine::frame`]), and each observation the ingest step made of the first copy
//! ([`Engine::decoded`]: the aircraft's address, reported altitude and, for ADS-B
//! position messages, the position it claims). Copies of the same bytes are grouped
//! across receivers; a group is complete [`MlatConfig::window_s`] after its first copy
//! (receivers' counters are anchored only coarsely, so copies of one transmission can
//! be that far apart in the merged stream), then:
//!
//! - an ADS-B position heard by two or more receivers is a sync message: the emission
//!   time on each receiver's clock is its reception time less the propagation from the
//!   claimed position ([`crate::clock`]). When enough synchronised receivers heard it,
//!   the claim is first checked against the times themselves (the residual of the
//!   claimed position, [`crate::solve::residual_at`]): a claim the times contradict is
//!   not used for synchronisation and marks its aircraft `spoof_suspected`;
//! - any other frame of an address-bearing downlink format (DF 4, 5, 11, 17, 18, 20,
//!   21) from an aircraft that broadcasts no position of its own is multilaterated: the
//!   copies' times are put on the clock of one receiver (the one with most synchronised
//!   partners in the group) through the pair offsets and solved
//!   ([`crate::solve::solve`]), with the last reported altitude when it is recent. A fix
//!   becomes an [`Observation`] with position kind `mlat` and its 95 % horizontal bound
//!   as accuracy.
//!
//! Times: a fix's time is its emission time on the clock of the first receiver declared
//! (the reference), anchored as that receiver's frames are (`--start` plus counter).

use std::collections::VecDeque;

use rustc_hash::FxHashMap;
use skyfence_core::{
    Altitude, AltitudeDatum, GeoPoint, Icao24, Observation, PositionKind, Protocol, RawRecord,
    ShortName, SourceId, TargetId, Timestamp,
};
use skyfence_decode::Frame;
use skyfence_decode::sensor::{ReceiverClock, Sensor, SensorType};

use crate::clock::{self, ClockSync, SyncCounts, SyncState};
use crate::evidence::{CheckEvidence, CopyEvidence, FixEvidence};
use crate::geo::{self, C_MPS, Ecef};
use crate::solve::{self, AltitudeConstraint, Measurement, NoFix, SolveLimits};

/// A Mode S receiver of the network.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiverSite {
    /// Its `[[sensor]]` name.
    pub name: ShortName,
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Antenna height above the ellipsoid, metres.
    pub alt_m: f64,
    /// Its clock.
    pub clock: ReceiverClock,
    /// ECEF of the antenna.
    pub ecef: Ecef,
}

impl ReceiverSite {
    /// A receiver at a position.
    pub fn new(name: ShortName, lat: f64, lon: f64, alt_m: f64, clock: ReceiverClock) -> Self {
        ReceiverSite {
            name,
            lat,
            lon,
            alt_m,
            clock,
            ecef: geo::to_ecef(lat, lon, alt_m),
        }
    }

    /// The Mode S receivers among the declared sensors (`type = "modes"`; the clock
    /// defaults to `beast`).
    pub fn from_sensors(sensors: &[Sensor]) -> Vec<ReceiverSite> {
        sensors
            .iter()
            .filter(|s| s.kind == SensorType::ModeS)
            .filter_map(|s| {
                let site = s.site?;
                Some(ReceiverSite::new(
                    s.name,
                    site.lat,
                    site.lon,
                    site.alt_m,
                    s.clock.unwrap_or(ReceiverClock::Beast),
                ))
            })
            .collect()
    }
}

/// Settings of the engine.
#[derive(Clone, Debug, PartialEq)]
pub struct MlatConfig {
    /// How long after its first copy a group is complete, seconds: at least twice the
    /// largest error of the receivers' coarse anchoring.
    pub window_s: f64,
    /// An aircraft that broadcast an ADS-B position this recently is not given MLAT
    /// positions (its own are in the stream; fixes only verify them), seconds.
    pub adsb_grace_s: f64,
    /// A reported altitude older than this does not constrain a fix, seconds.
    pub altitude_max_age_s: f64,
    /// Standard deviation of a reported (pressure) altitude as a height, metres.
    pub altitude_sigma_m: f64,
    /// Receivers needed to check a broadcast position (with the claim itself fitted,
    /// four give one degree of freedom).
    pub verify_min_receivers: usize,
    /// A claim whose range residual RMS exceeds this is `spoof_suspected`, metres.
    pub spoof_residual_m: f64,
    /// The solver's limits.
    pub limits: SolveLimits,
    /// Fix times on the first declared receiver's anchored clock (recordings, whose
    /// frame times are `--start` plus counter); when false, on the base receiver's
    /// receive time (the live service, whose frame times are the machine clock).
    pub anchor_to_reference: bool,
    /// Attach to each fix its [`FixEvidence`] as the observation's raw record
    /// (protocol `mlat`), for the evidence log.
    pub evidence: bool,
}

impl Default for MlatConfig {
    fn default() -> Self {
        MlatConfig {
            window_s: 2.0,
            adsb_grace_s: 30.0,
            altitude_max_age_s: 20.0,
            altitude_sigma_m: 60.0,
            verify_min_receivers: 4,
            spoof_residual_m: 1_000.0,
            limits: SolveLimits::default(),
            anchor_to_reference: true,
            evidence: false,
        }
    }
}

/// The verdict after `checked` claims of which `suspected` were contradicted:
/// `unverified` under [`VERDICT_MIN_CHECKS`] checks, `spoof_suspected` when more than
/// half were contradicted, else `consistent`.
pub fn verdict_of(checked: u64, suspected: u64) -> Verdict {
    if checked < VERDICT_MIN_CHECKS {
        Verdict::Unverified
    } else if suspected * 2 > checked {
        Verdict::SpoofSuspected
    } else {
        Verdict::Consistent
    }
}

/// A verdict on an aircraft's broadcast positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its transmitter is where it says.
    Consistent,
    /// The times of arrival contradict the position it broadcasts.
    SpoofSuspected,
    /// Not heard by enough synchronised receivers to tell.
    Unverified,
}

impl Verdict {
    /// The name in incidents and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Verdict::Consistent => "consistent",
            Verdict::SpoofSuspected => "spoof_suspected",
            Verdict::Unverified => "unverified",
        }
    }
}

/// The latest check of an aircraft's broadcast position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Verification {
    /// The verdict.
    pub verdict: Verdict,
    /// Receivers whose times were used.
    pub receivers: usize,
    /// RMS of the range residuals of the claimed position, metres.
    pub residual_m: f64,
    /// When (the message's time).
    pub at: Timestamp,
}

impl Verification {
    /// The incident key `verification` (method `tdoa`, residual rounded to 0.1 m).
    pub fn incident(&self) -> skyfence_core::detect::IncidentVerification {
        use skyfence_core::detect::{IncidentVerification, SpoofVerdict};
        let verdict = match self.verdict {
            Verdict::Consistent => SpoofVerdict::Consistent,
            Verdict::SpoofSuspected => SpoofVerdict::SpoofSuspected,
            Verdict::Unverified => SpoofVerdict::Unverified,
        };
        IncidentVerification::tdoa(self.receivers, self.residual_m, verdict)
    }
}

/// One pair of receivers' clock relation ([`Engine::pair_clocks`]).
#[derive(Clone, Debug, PartialEq)]
pub struct PairClock {
    /// The first receiver (config order).
    pub a: ShortName,
    /// The second.
    pub b: ShortName,
    /// b's clock less a's at the pair's newest sync point, seconds.
    pub offset_s: f64,
    /// b's rate against a's, parts per million.
    pub drift_ppm: f64,
    /// Residual standard error of the pair's line, nanoseconds.
    pub rms_ns: f64,
    /// Sync points on the line.
    pub points: usize,
    /// Whether the pair predicts offsets now.
    pub synced: bool,
}

/// What the engine counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MlatStats {
    /// Frames taken (from named receivers, with a timestamp, of a usable format).
    pub frames: u64,
    /// Frames of sources that are no declared receiver, or without a timestamp.
    pub frames_unusable: u64,
    /// Groups completed.
    pub groups: u64,
    /// Groups heard by one receiver only.
    pub single: u64,
    /// Groups whose aircraft address is unknown (the ingest step rejected the frame).
    pub unknown_address: u64,
    /// Groups of aircraft that broadcast their own positions (not multilaterated).
    pub adsb_targets: u64,
    /// Copies left out because their receiver was not synchronised to the group's base.
    pub unsynced_copies: u64,
    /// Solver runs.
    pub attempts: u64,
    /// Fixes.
    pub fixes: u64,
    /// No fix, by reason ([`NoFix::ALL`] order).
    pub no_fix: [u64; 6],
    /// Broadcast positions checked, and those found inconsistent.
    pub verified: u64,
    /// Broadcast positions the times contradict.
    pub spoof_suspected: u64,
    /// Fixes dropped because they were earlier than the aircraft's previous fix.
    pub late_fixes: u64,
}

impl MlatStats {
    /// No-fix counts with their reason.
    pub fn no_fix_reasons(&self) -> impl Iterator<Item = (NoFix, u64)> + '_ {
        NoFix::ALL.into_iter().zip(self.no_fix)
    }
}

/// One copy of a frame: receiver, reception on its own clock (s), its anchored time.
#[derive(Clone, Copy, Debug)]
struct Copy {
    rx: usize,
    counter: u64,
    t: f64,
    at: Timestamp,
}

/// Copies of one transmission.
#[derive(Clone, Debug)]
struct Group {
    first_at: Timestamp,
    copies: Vec<Copy>,
    icao: Option<Icao24>,
    /// The claimed position (ADS-B) as ECEF, with the claim.
    claim: Option<(Ecef, GeoPoint)>,
    /// The altitude reported in this very frame, metres.
    alt_m: Option<f64>,
}

/// Frame bytes as a map key.
type Key = (u8, [u8; 14]);

/// A copy used in a fix: its index in the group, its receiver's clock offset from the
/// base receiver's and that offset's standard error (seconds).
#[derive(Clone, Copy, Debug)]
struct Used {
    copy: usize,
    offset_s: f64,
    se_s: f64,
}

/// The engine (see the module documentation).
pub struct Engine {
    config: MlatConfig,
    sites: Vec<ReceiverSite>,
    /// Receiver index of each source id.
    by_source: Vec<Option<usize>>,
    source_of: Vec<SourceId>,
    groups: FxHashMap<Key, Vec<Group>>,
    pending: VecDeque<(Timestamp, Key)>,
    sync: ClockSync,
    last_adsb: FxHashMap<Icao24, Timestamp>,
    last_alt: FxHashMap<Icao24, (f64, Timestamp)>,
    verification: FxHashMap<Icao24, Verification>,
    /// Each aircraft's latest fix: the prior that picks one of two solutions when there
    /// is no redundancy.
    last_fix: FxHashMap<Icao24, (Ecef, Timestamp)>,
    /// Per aircraft, the time of its latest fix given out.
    last_emitted: FxHashMap<Icao24, Timestamp>,
    /// Per aircraft: claims checked, claims the times contradicted.
    checks: FxHashMap<Icao24, (u64, u64)>,
    /// Aircraft that broadcast ADS-B positions.
    claimants: rustc_hash::FxHashSet<Icao24>,
    /// The address and altitude of frames decoded before (not position messages): the
    /// same bytes again, a later transmission whose first copy duplicate removal kept
    /// from the ingest step (identical squitters a second apart), are the same aircraft.
    known: FxHashMap<Key, (Icao24, Option<f64>)>,
    stats: MlatStats,
    /// The latest time [`Engine::poll`] was given (when checks complete).
    now: Timestamp,
}

/// Claims checked before an aircraft gets a verdict other than `unverified`.
pub const VERDICT_MIN_CHECKS: u64 = 3;

/// Frames remembered by their bytes (about 100 bytes each); the memory is cleared when
/// full.
const MAX_KNOWN: usize = 100_000;

/// A previous fix older than this is no prior, seconds.
const PRIOR_MAX_AGE_S: f64 = 20.0;

/// Downlink formats that carry the aircraft address (in clear or in the parity).
fn usable_df(df: u8) -> bool {
    matches!(df, 4 | 5 | 11 | 17 | 18 | 20 | 21)
}

fn key_of(data: &[u8]) -> Key {
    let mut b = [0u8; 14];
    b[..data.len()].copy_from_slice(data);
    (data.len() as u8, b)
}

impl Engine {
    /// An engine for `sites`, no source bound yet.
    pub fn new(sites: Vec<ReceiverSite>, config: MlatConfig) -> Self {
        let n = sites.len();
        Engine {
            config,
            sites,
            by_source: Vec::new(),
            source_of: vec![SourceId::default(); n],
            groups: FxHashMap::default(),
            pending: VecDeque::new(),
            sync: ClockSync::new(n),
            last_adsb: FxHashMap::default(),
            last_alt: FxHashMap::default(),
            verification: FxHashMap::default(),
            last_fix: FxHashMap::default(),
            last_emitted: FxHashMap::default(),
            checks: FxHashMap::default(),
            claimants: rustc_hash::FxHashSet::default(),
            known: FxHashMap::default(),
            stats: MlatStats::default(),
            now: Timestamp::EPOCH,
        }
    }

    /// The receivers.
    pub fn sites(&self) -> &[ReceiverSite] {
        &self.sites
    }

    /// The index of the receiver named `name`.
    pub fn receiver(&self, name: &str) -> Option<usize> {
        self.sites.iter().position(|s| s.name.as_str() == name)
    }

    /// Frames of `source` come from receiver `rx`.
    pub fn bind(&mut self, source: SourceId, rx: usize) {
        let i = usize::from(source.0);
        if self.by_source.len() <= i {
            self.by_source.resize(i + 1, None);
        }
        self.by_source[i] = Some(rx);
        self.source_of[rx] = source;
    }

    /// The receiver whose frames `source` carries, when bound.
    pub fn receiver_of(&self, source: SourceId) -> Option<usize> {
        self.by_source.get(usize::from(source.0)).copied().flatten()
    }

    /// The counters.
    pub fn stats(&self) -> &MlatStats {
        &self.stats
    }

    /// The clock synchronisation's counters.
    pub fn sync_counts(&self) -> SyncCounts {
        self.sync.counts()
    }

    /// Counter jumps detected on receiver `rx`.
    pub fn jumps(&self, rx: usize) -> u64 {
        self.sync.jumps(rx)
    }

    /// Receiver `rx`'s synchronisation state.
    pub fn sync_state(&self, rx: usize) -> SyncState {
        self.sync.state(rx)
    }

    /// Every pair of receivers with a clock relation: offset (b's clock less a's at
    /// the pair's newest sync point), relative drift, scatter, points, and whether it
    /// predicts now.
    pub fn pair_clocks(&self) -> Vec<PairClock> {
        let n = self.sites.len();
        let mut v = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                let p = self.sync.pair(a, b);
                let Some(offset_s) = p.latest_offset() else {
                    continue;
                };
                v.push(PairClock {
                    a: self.sites[a].name,
                    b: self.sites[b].name,
                    offset_s,
                    drift_ppm: p.drift() * 1e6,
                    rms_ns: p.rms_s() * 1e9,
                    points: p.len(),
                    synced: self.sync.pair_synced(a, b),
                });
            }
        }
        v
    }

    /// The latest verification of `icao`'s broadcast positions.
    pub fn verification(&self, icao: Icao24) -> Option<Verification> {
        self.verification.get(&icao).copied()
    }

    /// The verdict on everything `icao` broadcast so far; `None` when it broadcast no
    /// position. `unverified` until [`VERDICT_MIN_CHECKS`] claims were checked;
    /// `spoof_suspected` when more than half of them were contradicted by the times of
    /// arrival; else `consistent`. Receivers and residual are the latest check's.
    pub fn verdict(&self, icao: Icao24) -> Option<Verification> {
        if !self.claimants.contains(&icao) {
            return None;
        }
        let (n, suspect) = self.checks.get(&icao).copied().unwrap_or((0, 0));
        let latest = self.verification.get(&icao).copied();
        let verdict = verdict_of(n, suspect);
        Some(Verification {
            verdict,
            receivers: latest.map_or(0, |v| v.receivers),
            residual_m: latest.map_or(0.0, |v| v.residual_m),
            at: latest.map_or(Timestamp::EPOCH, |v| v.at),
        })
    }

    /// Every aircraft whose broadcast positions were checked: (address, claims checked,
    /// claims the times contradicted).
    pub fn checks(&self) -> impl Iterator<Item = (Icao24, u64, u64)> + '_ {
        self.checks.iter().map(|(i, c)| (*i, c.0, c.1))
    }

    /// One frame as received by `source`, before duplicate removal.
    pub fn frame(&mut self, source: SourceId, frame: &Frame) {
        let rx = self.by_source.get(usize::from(source.0)).copied().flatten();
        let data = frame.data();
        let (Some(rx), Some(counter)) = (rx, frame.counter) else {
            self.stats.frames_unusable += 1;
            return;
        };
        let df = data[0] >> 3;
        if frame.raw.mlat || skyfence_decode::beast::is_mlat_counter(counter) || !usable_df(df) {
            self.stats.frames_unusable += 1;
            return;
        }
        self.stats.frames += 1;
        let copy = Copy {
            rx,
            counter,
            t: clock::counter_seconds(self.sites[rx].clock, counter),
            at: frame.at,
        };
        let key = key_of(data);
        let window_us = (self.config.window_s * 1e6) as i64;
        let groups = self.groups.entry(key).or_default();
        // The group this copy belongs to: same bytes, within the window, not yet heard
        // by this receiver and, where the clocks are synchronised, within the largest
        // time difference two receivers can see (2 ms: 600 km).
        let sync = &self.sync;
        // ADS-B positions change with every message: their bytes alone pair the copies
        // (and a receiver whose counter jumped must still meet the others in a sync
        // message, for the jump to be seen).
        let position = matches!(df, 17 | 18) && matches!(data[4] >> 3, 9..=18 | 20..=22);
        let found = groups.iter_mut().find(|g| {
            (copy.at.micros_since(g.first_at)).abs() <= window_us
                && g.copies.iter().all(|c| c.rx != rx)
                && (position || {
                    let c0 = g.copies[0];
                    sync.offset(c0.rx, rx, c0.t)
                        .is_none_or(|(off, _)| (copy.t - off - c0.t).abs() < 2e-3)
                })
        });
        match found {
            Some(g) => g.copies.push(copy),
            None => {
                groups.push(Group {
                    first_at: frame.at,
                    copies: vec![copy],
                    icao: None,
                    claim: None,
                    alt_m: None,
                });
                self.pending
                    .push_back((frame.at.add_micros(window_us), key));
            }
        }
    }

    /// The observation the ingest step made of a frame's first copy: its address,
    /// altitude and, for an ADS-B position, the claim.
    pub fn decoded(&mut self, obs: &Observation) {
        let Some(raw) = obs.raw.as_ref().and_then(|r| r.mode_s()) else {
            return;
        };
        if raw.mlat {
            return;
        }
        let TargetId::Icao(icao) = obs.target else {
            return;
        };
        let alt_m = obs.altitude.map(|a| f64::from(a.feet) * 0.3048);
        if let Some(h) = alt_m {
            self.last_alt.insert(icao, (h, obs.at));
        }
        let claim = match (obs.position, obs.position_kind) {
            (Some(p), PositionKind::Adsb) => {
                self.last_adsb.insert(icao, obs.at);
                self.claimants.insert(icao);
                let h = alt_m.or_else(|| self.last_alt.get(&icao).map(|a| a.0));
                h.map(|h| (geo::to_ecef(p.lat, p.lon, h), p))
            }
            _ => None,
        };
        let key = key_of(raw.data());
        if claim.is_none() {
            if self.known.len() >= MAX_KNOWN {
                self.known.clear();
            }
            self.known.insert(key, (icao, alt_m));
        }
        let Some(groups) = self.groups.get_mut(&key) else {
            return;
        };
        if let Some(g) = groups.last_mut() {
            g.icao = Some(icao);
            g.alt_m = alt_m;
            g.claim = claim;
        }
    }

    /// Completes the groups due by `now`, adding fixes to `out`.
    pub fn poll(&mut self, now: Timestamp, out: &mut Vec<Observation>) {
        self.now = self.now.max(now);
        while let Some(&(due, key)) = self.pending.front() {
            if due > now {
                break;
            }
            self.pending.pop_front();
            self.complete_oldest(key, out);
        }
    }

    /// Completes every group (end of input).
    pub fn finish(&mut self, out: &mut Vec<Observation>) {
        while let Some((_, key)) = self.pending.pop_front() {
            self.complete_oldest(key, out);
        }
    }

    fn complete_oldest(&mut self, key: Key, out: &mut Vec<Observation>) {
        let Some(groups) = self.groups.get_mut(&key) else {
            return;
        };
        if groups.is_empty() {
            return;
        }
        let mut g = groups.remove(0);
        if groups.is_empty() {
            self.groups.remove(&key);
        }
        if g.icao.is_none()
            && let Some(&(icao, alt_m)) = self.known.get(&key)
        {
            (g.icao, g.alt_m) = (Some(icao), alt_m);
        }
        self.stats.groups += 1;
        if g.copies.len() < 2 {
            self.stats.single += 1;
            return;
        }
        let Some(icao) = g.icao else {
            self.stats.unknown_address += 1;
            return;
        };
        if let Some((claim, _)) = g.claim {
            self.sync_message(icao, &g, &claim, &key, out);
            return;
        }
        if self
            .last_adsb
            .get(&icao)
            .is_some_and(|t| g.first_at.secs_since(*t).abs() <= self.config.adsb_grace_s)
        {
            self.stats.adsb_targets += 1;
            return;
        }
        if let Some(obs) = self.multilaterate(icao, &g, &key) {
            out.push(obs);
        }
    }

    /// The copies of `g` on the clock of its best-connected receiver: (base copy index,
    /// measurements, and for each measurement its copy's index with the offset of its
    /// receiver's clock from the base's and the offset's standard error).
    fn measurements(&mut self, g: &Group) -> Option<(usize, Vec<Measurement>, Vec<Used>)> {
        let copies = &g.copies;
        let linked = |i: usize| -> usize {
            copies
                .iter()
                .filter(|c| c.rx != copies[i].rx)
                .filter(|c| self.sync.offset(copies[i].rx, c.rx, copies[i].t).is_some())
                .count()
        };
        let base = (0..copies.len())
            .filter(|&i| self.sync.state(copies[i].rx) != SyncState::Excluded)
            .max_by_key(|&i| (linked(i), usize::MAX - i))?;
        let b = copies[base];
        let mut meas = Vec::with_capacity(copies.len());
        let mut used = Vec::with_capacity(copies.len());
        for (i, c) in copies.iter().enumerate() {
            let jitter = clock::jitter_s(self.sites[c.rx].clock);
            if c.rx == b.rx {
                meas.push(Measurement {
                    receiver: self.sites[c.rx].ecef,
                    t_s: c.t,
                    sigma_s: jitter,
                });
                used.push(Used {
                    copy: i,
                    offset_s: 0.0,
                    se_s: 0.0,
                });
                continue;
            }
            match self.sync.offset(b.rx, c.rx, b.t) {
                Some((off, se)) => {
                    meas.push(Measurement {
                        receiver: self.sites[c.rx].ecef,
                        t_s: c.t - off,
                        sigma_s: (jitter * jitter + se * se).sqrt(),
                    });
                    used.push(Used {
                        copy: i,
                        offset_s: off,
                        se_s: se,
                    });
                }
                None => self.stats.unsynced_copies += 1,
            }
        }
        Some((base, meas, used))
    }

    /// A sync message: check the claim where the clocks allow, then feed the clock
    /// relations with it unless the times contradict it.
    ///
    /// A receiver whose counter jumped and is not yet excluded would make an honest
    /// claim look false: with a receiver to spare the claim is judged by its best subset
    /// without one, and the message, added, excludes the receiver (its pairs disagree
    /// while the others agree). A false claim is kept out of the relations: some of its
    /// pairs can fall within the outlier bound, and those would both bend the lines and
    /// make the receivers of the others look as if they had jumped.
    fn sync_message(
        &mut self,
        icao: Icao24,
        g: &Group,
        claim: &Ecef,
        key: &Key,
        out: &mut Vec<Observation>,
    ) {
        if let Some((v, used)) = self.verify(g, claim) {
            self.stats.verified += 1;
            let suspect = v.verdict == Verdict::SpoofSuspected;
            self.stats.spoof_suspected += u64::from(suspect);
            let c = self.checks.entry(icao).or_default();
            c.0 += 1;
            c.1 += u64::from(suspect);
            let counts = *c;
            self.verification.insert(icao, v);
            // (A record holds at most 16 copies; a check over more is not evidenced.)
            if self.config.evidence && used.len() <= crate::evidence::MAX_COPIES {
                let frame = &key.1[..usize::from(key.0)];
                out.push(self.check_observation(
                    g,
                    frame,
                    claim,
                    (&v, &used),
                    (icao, counts.0, counts.1),
                ));
            }
            if suspect {
                return;
            }
        }
        let emissions: Vec<(usize, f64)> = g
            .copies
            .iter()
            .map(|c| (c.rx, c.t - (claim - self.sites[c.rx].ecef).norm() / C_MPS))
            .collect();
        self.sync.add_message(&emissions);
    }

    /// The verdict on a claimed position, when enough synchronised receivers heard it,
    /// with the copies used.
    fn verify(&mut self, g: &Group, claim: &Ecef) -> Option<(Verification, Vec<Used>)> {
        let (_, meas, used) = self.measurements(g)?;
        let residual_m = CheckEvidence::residual(
            &meas,
            claim,
            self.config.verify_min_receivers,
            self.config.spoof_residual_m,
        )?;
        let verdict = if residual_m > self.config.spoof_residual_m {
            Verdict::SpoofSuspected
        } else {
            Verdict::Consistent
        };
        Some((
            Verification {
                verdict,
                receivers: meas.len(),
                residual_m,
                at: g.first_at,
            },
            used,
        ))
    }

    /// A check as evidence: an observation of its aircraft without a position whose raw
    /// record (protocol `mlat`) is the [`CheckEvidence`]; it is evidence only, never
    /// detected.
    fn check_observation(
        &self,
        g: &Group,
        frame: &[u8],
        claim: &Ecef,
        (v, used): (&Verification, &[Used]),
        (icao, checked, suspected): (Icao24, u64, u64),
    ) -> Observation {
        let (lat, lon, h_m) = geo::from_ecef(claim);
        let e = CheckEvidence {
            icao,
            at: g.first_at,
            completed_at: self.now,
            frame: frame.to_vec(),
            copies: used.iter().map(|u| self.copy_evidence(g, u)).collect(),
            lat,
            lon,
            h_m,
            residual_m: v.residual_m,
            suspect: v.verdict == Verdict::SpoofSuspected,
            checked: u32::try_from(checked).unwrap_or(u32::MAX),
            suspected: u32::try_from(suspected).unwrap_or(u32::MAX),
        };
        let mut o = Observation::new(icao, g.first_at);
        o.source = used
            .first()
            .map_or(SourceId::default(), |u| self.source_of[g.copies[u.copy].rx]);
        o.raw = Some(RawRecord::new(Protocol::Mlat, &e.encode()));
        o
    }

    fn copy_evidence(&self, g: &Group, u: &Used) -> CopyEvidence {
        let c = g.copies[u.copy];
        let site = &self.sites[c.rx];
        CopyEvidence {
            receiver: site.name.as_str().to_owned(),
            lat: site.lat,
            lon: site.lon,
            alt_m: site.alt_m,
            clock: site.clock,
            counter: c.counter,
            received_at: c.at,
            offset_s: u.offset_s,
            offset_se_s: u.se_s,
        }
    }

    /// Solves one group; its observation, or `None` (counted).
    fn multilaterate(&mut self, icao: Icao24, g: &Group, key: &Key) -> Option<Observation> {
        let (base, meas, used) = self.measurements(g)?;
        let alt = g
            .alt_m
            .or_else(|| {
                self.last_alt.get(&icao).and_then(|&(h, t)| {
                    (g.first_at.secs_since(t).abs() <= self.config.altitude_max_age_s).then_some(h)
                })
            })
            .map(|h_m| AltitudeConstraint {
                h_m,
                sigma_m: self.config.altitude_sigma_m,
            });
        self.stats.attempts += 1;
        let prior = self
            .last_fix
            .get(&icao)
            .filter(|(_, t)| g.first_at.secs_since(*t).abs() <= PRIOR_MAX_AGE_S)
            .map(|p| p.0);
        let fix = match solve::solve_near(&meas, alt, prior, &self.config.limits) {
            Ok(f) => f,
            Err(reason) => {
                let i = NoFix::ALL.iter().position(|r| *r == reason).unwrap_or(0);
                self.stats.no_fix[i] += 1;
                return None;
            }
        };
        self.last_fix.insert(icao, (fix.ecef, g.first_at));
        // The emission time on the base receiver's clock, then on the reference's (the
        // first receiver) when their pair is synchronised.
        let b = g.copies[base];
        // `off`: the base receiver's clock less the reference's.
        let off = match self.sync.offset(0, b.rx, fix.emitted_s) {
            Some((off, _)) if b.rx != 0 && self.config.anchor_to_reference => off,
            _ => 0.0,
        };
        let at =
            b.at.add_micros(((fix.emitted_s - b.t - off) * 1e6).round() as i64);
        // Groups complete in the order of their first copy's receive time, and fix times
        // are emission times on the base receiver's clock (which differs from group to
        // group): a fix can come out earlier than the aircraft's previous one. It is
        // dropped (counted), so every aircraft's fixes leave in time order, the order a
        // bundle's re-detection sorts them in: both see the same sequence.
        if self.last_emitted.get(&icao).is_some_and(|prev| at < *prev) {
            self.stats.late_fixes += 1;
            return None;
        }
        self.last_emitted.insert(icao, at);
        self.stats.fixes += 1;
        let mut obs = self.observation(icao, g, &fix, at, b.rx);
        if self.config.evidence {
            let e = FixEvidence {
                icao,
                at,
                frame: key.1[..usize::from(key.0)].to_vec(),
                copies: used.iter().map(|u| self.copy_evidence(g, u)).collect(),
                base: used.iter().position(|u| u.copy == base).unwrap_or(0),
                altitude: alt,
                altitude_reported: g.alt_m.is_some(),
                prior,
                lat: fix.lat,
                lon: fix.lon,
                h_m: fix.h_m,
                accuracy_m: fix.horizontal_95_m,
            };
            // The observation made from the record, as a bundle's re-detection makes it.
            obs = Observation {
                source: obs.source,
                raw: Some(RawRecord::new(Protocol::Mlat, &e.encode())),
                ..e.observation()
            };
        }
        Some(obs)
    }

    fn observation(
        &self,
        icao: Icao24,
        g: &Group,
        fix: &solve::Fix,
        at: Timestamp,
        base_rx: usize,
    ) -> Observation {
        let mut o = Observation::new(icao, at);
        o.position = Some(GeoPoint::new(fix.lat, fix.lon));
        o.position_kind = PositionKind::Mlat;
        o.accuracy_m = Some(fix.horizontal_95_m as f32);
        o.altitude = Some(match g.alt_m {
            Some(h) => Altitude {
                feet: (h / 0.3048).round() as i32,
                datum: AltitudeDatum::Barometric,
            },
            None => Altitude {
                feet: (fix.h_m / 0.3048).round() as i32,
                datum: AltitudeDatum::Geometric,
            },
        });
        o.source = self.source_of[base_rx];
        o
    }
}

#[cfg(test)]
mod tests;
