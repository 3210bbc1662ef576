//! `Detector`: observations in, events out. Owns the [`TrackTable`] (ARCHITECTURE.md
//! invariant 2: one owner per track) and never reads a clock (invariant 1): time comes
//! from the observations and from [`Detector::tick`].

use super::config::DetectionConfig;
use super::event::Event;
use super::incident::{
    Classification, Fix, Incident, IncidentId, IncidentStatus, TargetInfo, round_to,
};
use super::incursion::{BoundaryFix, Phase, ZoneSlot, entry_fix, exit_fix, step_exceeds};
use super::permit::Permit;
use super::track::{Report, Track, TrackTable};
use super::zones::{BufferedZone, ZoneQueries};
use crate::airspace::{AirspaceIndex, ZoneId};
use crate::{GeoPoint, Observation, ShortName, TargetId, TargetKind, Timestamp};

/// Distance (metres) a position may move beyond `max_speed_mps · Δt` before it is
/// implausible: absorbs the rounding of position formats (SBS prints 5 decimals, CPR
/// resolves to ~5 m) and receive-time jitter between receivers, so two reports of the
/// same instant are not rejected for being a few metres apart.
pub const GATE_SLACK_M: f64 = 50.0;

/// A position report without its own altitude borrows the last altitude heard if it is
/// at most this old (Mode S often carries altitude and position in different replies).
pub const ALTITUDE_HOLD_US: i64 = 20_000_000;

/// Observations sweep silent tracks at most once per `track_timeout_s` / this many, and
/// at least one second apart: a sweep visits every track, so sweeping every data second
/// would cost a replay of 10 000 tracks more than the observations themselves. A `lost`
/// event may thus be emitted up to `track_timeout_s / 8` after its deadline during a
/// replay; its `at` is the deadline either way. [`Detector::tick`] always sweeps.
const SWEEPS_PER_TIMEOUT: i64 = 8;

/// What the detector has seen and dropped (ARCHITECTURE.md invariant 3: nothing is lost
/// silently).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DetectorStats {
    /// Observations received.
    pub observations: u64,
    /// Observations that carried a position.
    pub positions: u64,
    /// Positions accepted (they moved a target).
    pub accepted_positions: u64,
    /// Positions discarded for implying motion faster than `max_speed_mps`.
    pub implausible_motion: u64,
    /// Positions discarded for being older than the track's last accepted one.
    pub out_of_order: u64,
    /// Positions discarded for non-finite or out-of-range coordinates.
    pub invalid_position: u64,
    /// Tracks started.
    pub tracks_created: u64,
    /// Tracks forgotten after `track_timeout_s` of silence.
    pub tracks_expired: u64,
    /// `approach` events.
    pub approaches: u64,
    /// Stays inside that ended (left or went silent) before confirmation: border noise.
    pub unconfirmed_entries: u64,
    /// `confirmed` events.
    pub confirmed: u64,
    /// `closed` events.
    pub closed: u64,
    /// `lost` events.
    pub lost: u64,
}

/// Why an incident cannot be resumed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// The zone is not loaded any more.
    #[error(
        "cannot resume incident {id}: zone {zone:?} is not loaded (expected one of the configured zones)"
    )]
    UnknownZone {
        /// The incident id.
        id: String,
        /// Its zone.
        zone: String,
    },
    /// Only open incidents continue.
    #[error("cannot resume incident {id}: status is {status}, expected open")]
    NotOpen {
        /// The incident id.
        id: String,
        /// Its status.
        status: &'static str,
    },
}

/// The incursion detector ("The engine").
///
/// Feed it observations in time order ([`Detector::observe`]); in live use also call
/// [`Detector::tick`] about once a second so silent targets are declared lost; at the end
/// of a recording call [`Detector::finish`]. Generic over the zone queries so tests can
/// run it on a brute-force reference; production uses [`AirspaceIndex`].
#[derive(Debug)]
pub struct Detector<Q: ZoneQueries = AirspaceIndex> {
    zones: Q,
    config: DetectionConfig,
    confirm_us: i64,
    timeout_us: i64,
    permits: Vec<Permit>,
    buffered: Vec<BufferedZone>,
    tracks: TrackTable,
    scratch: Vec<ZoneId>,
    clock: Option<Timestamp>,
    next_sweep: Timestamp,
    stats: DetectorStats,
    /// The sensors named by observations so far, in the order first heard: an
    /// incursion's `sensors` are bits into this table (at most [`MAX_SENSORS`]).
    sensor_names: Vec<ShortName>,
}

/// Sensors an incident can name: the first 64 distinct sensor names the detector hears
/// (a national network has a few dozen); observations of later ones still count, but
/// their sensor is not listed.
pub const MAX_SENSORS: usize = 64;

/// The read-only parts the per-track code needs while a track is borrowed mutably.
struct Ctx<'a, Q: ZoneQueries> {
    q: &'a Q,
    permits: &'a [Permit],
    buffered: &'a [BufferedZone],
    confirm_us: i64,
    timeout_us: i64,
    sensors: &'a [ShortName],
}

impl<Q: ZoneQueries> Detector<Q> {
    /// A detector over `zones` with validated `config` and `permits` (see
    /// [`DetectionConfig::validate`] and [`Permit::validate`]).
    pub fn new(zones: Q, config: DetectionConfig, permits: Vec<Permit>) -> Self {
        let buffered = BufferedZone::of(zones.zones());
        Detector {
            confirm_us: config.confirm_us(),
            timeout_us: config.timeout_us().max(1),
            zones,
            config,
            permits,
            buffered,
            tracks: TrackTable::new(),
            scratch: Vec::with_capacity(8),
            clock: None,
            next_sweep: Timestamp::EPOCH,
            stats: DetectorStats::default(),
            sensor_names: Vec::new(),
        }
    }

    /// The zone queries (and through them the zones).
    pub fn zones(&self) -> &Q {
        &self.zones
    }

    /// The thresholds in use.
    pub fn config(&self) -> &DetectionConfig {
        &self.config
    }

    /// The permits in use.
    pub fn permits(&self) -> &[Permit] {
        &self.permits
    }

    /// The live tracks.
    pub fn tracks(&self) -> &TrackTable {
        &self.tracks
    }

    /// Counters so far.
    pub fn stats(&self) -> DetectorStats {
        self.stats
    }

    /// The latest time seen (observation or tick).
    pub fn clock(&self) -> Option<Timestamp> {
        self.clock
    }

    /// The name of a zone.
    pub fn zone_name(&self, zone: ZoneId) -> Option<&str> {
        self.zones
            .zones()
            .get(zone.0 as usize)
            .map(|z| z.name.as_str())
    }

    /// Processes one observation, appending any events to `out`.
    ///
    /// Identity (callsign, category, squawk), velocity and altitude merge into the track
    /// as they arrive. A position is discarded (and counted) when it is invalid, older
    /// than the track's last accepted one, or implies motion faster than
    /// `max_speed_mps` (+ [`GATE_SLACK_M`]) from it; after `track_timeout_s` without an
    /// accepted position the track starts afresh from the next one.
    pub fn observe(&mut self, obs: &Observation, out: &mut Vec<Event>) {
        self.stats.observations += 1;
        self.advance_clock(obs.at, out);
        let sensor_bit = obs.sensor.map_or(0, |s| self.sensor_bit(s));
        let ctx = Ctx {
            q: &self.zones,
            permits: &self.permits,
            buffered: &self.buffered,
            confirm_us: self.confirm_us,
            timeout_us: self.timeout_us,
            sensors: &self.sensor_names,
        };
        // The track's entry is the one cache miss of most observations: start loading it,
        // and place the position in the zones (which does not need the track) meanwhile.
        self.tracks.prefetch(&obs.target);
        let located = match obs.position {
            Some(p) if valid(p) => {
                ctx.q
                    .locate_lateral(GeoPoint::new(p.lat, p.lon), &mut self.scratch);
                true
            }
            _ => false,
        };
        let stats = &mut self.stats;
        let track = self
            .tracks
            .get_or_insert(obs.target, obs.at, &mut stats.tracks_created);
        track.heard_at = track.heard_at.max(obs.at);
        // Written only when heard: most observations carry none of these, and reading
        // the old value would touch a cache line the position path does not need.
        let id = obs.identity;
        if id.callsign.is_some() {
            track.callsign = id.callsign;
        }
        if id.category.is_some() {
            track.category = id.category;
        }
        if id.squawk.is_some() {
            track.squawk = id.squawk;
        }
        if obs.nacp.is_some() {
            track.nacp = obs.nacp;
        }
        if obs.remoteid.is_some() {
            track.set_remoteid(&obs.remoteid);
        }
        if obs.velocity.is_some() {
            track.velocity = obs.velocity;
        }
        let Some(pos) = obs.position else {
            if let Some(a) = obs.altitude
                && track.alt().is_none_or(|(_, t)| obs.at >= t)
            {
                track.set_alt(a.feet, obs.at);
            }
            return;
        };
        stats.positions += 1;
        if !located {
            stats.invalid_position += 1;
            return;
        }
        let pos = GeoPoint::new(pos.lat, pos.lon);
        if let Some(last) = track.last {
            let dt_us = obs.at.micros_since(last.at);
            if dt_us < 0 {
                stats.out_of_order += 1;
                return;
            }
            if dt_us > ctx.timeout_us {
                lose_slots(&ctx, stats, track, out);
            } else {
                let allowed = self.config.max_speed_mps * (dt_us as f64 / 1e6) + GATE_SLACK_M;
                if step_exceeds(last.pos, pos, allowed) {
                    stats.implausible_motion += 1;
                    return;
                }
            }
        }
        if let Some(a) = obs.altitude {
            track.set_alt(a.feet, obs.at);
        }
        let alt_ft = match obs.altitude {
            Some(a) => Some(a.feet),
            None => track
                .alt()
                .filter(|(_, t)| obs.at.micros_since(*t) <= ALTITUDE_HOLD_US)
                .map(|(a, _)| a),
        };
        stats.accepted_positions += 1;
        let cur = Report {
            at: obs.at,
            pos,
            alt_ft,
        };
        step_zones(&ctx, &self.scratch, stats, track, cur, sensor_bit, out);
        track.last = Some(cur);
    }

    /// Advances time to `now` without an observation (live use: about once a second):
    /// confirmed incursions silent for more than `track_timeout_s` become `lost`, and
    /// silent tracks are forgotten. Times before the latest seen are ignored.
    pub fn tick(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        self.advance_clock(now, out);
        if let Some(clock) = self.clock {
            self.sweep(clock, out);
        }
    }

    /// Ends the input at `end` (the last observation's time, or now): sweeps as
    /// [`Detector::tick`] does, then returns the incursions still inside, `open`,
    /// ordered by entry time, zone and id. The detector stays usable.
    pub fn finish(&mut self, end: Timestamp, out: &mut Vec<Event>) -> Vec<Incident> {
        self.tick(end, out);
        self.open_incidents()
    }

    /// The confirmed incursions in progress, `open`, ordered by entry time, zone and id.
    pub fn open_incidents(&self) -> Vec<Incident> {
        let ctx = &self.ctx();
        let mut v: Vec<Incident> = self
            .tracks
            .iter()
            .flat_map(|t| {
                let info = target_info(t);
                t.slots
                    .iter()
                    .filter(|s| s.phase == Phase::Inside)
                    .map(move |s| {
                        with_remoteid(
                            incident(ctx, info, s, IncidentStatus::Open, None),
                            t.remoteid(),
                        )
                    })
            })
            .collect();
        v.sort_by(|a, b| (a.entered_at, &a.zone, a.id).cmp(&(b.entered_at, &b.zone, b.id)));
        v
    }

    /// Hands targets over to another detector (a cluster node's partition moved away):
    /// forgets every track `keep` refuses, with no event; their open incidents stay
    /// open in the store for the new owner to resume. Returns how many were forgotten.
    pub fn release(&mut self, mut keep: impl FnMut(TargetId) -> bool) -> usize {
        let before = self.tracks.len();
        self.tracks.retain(|t| keep(t.target()));
        before - self.tracks.len()
    }

    /// Continues an open incident after a restart ("a restart resumes open
    /// incidents"): the target is tracked from `last` (its last report inside, from the
    /// store) with the incident's identity, counts and entry, so its next events carry the
    /// same id. No event is emitted.
    pub fn resume(&mut self, incident: &Incident, last: Report) -> Result<(), ResumeError> {
        if incident.status != IncidentStatus::Open {
            return Err(ResumeError::NotOpen {
                id: incident.id.to_string(),
                status: match incident.status {
                    IncidentStatus::Closed => "closed",
                    _ => "lost",
                },
            });
        }
        let Some(z) = self
            .zones
            .zones()
            .iter()
            .position(|z| z.name == incident.zone)
        else {
            return Err(ResumeError::UnknownZone {
                id: incident.id.to_string(),
                zone: incident.zone.clone(),
            });
        };
        let zone = ZoneId(z as u32);
        let sensors = incident
            .sensors
            .iter()
            .filter_map(|n| ShortName::new(n).ok())
            .fold(0, |m, n| m | self.sensor_bit(n));
        let target = incident.target.id;
        let stats = &mut self.stats;
        let track = self
            .tracks
            .get_or_insert(target, last.at, &mut stats.tracks_created);
        track.heard_at = track.heard_at.max(last.at);
        track.callsign = track.callsign.or(incident.target.callsign);
        track.category = track.category.or(incident.target.category);
        if track.last.is_none_or(|l| l.at <= last.at) {
            track.last = Some(last);
        }
        track.slots.retain(|s| s.zone != zone);
        let mut slot = ZoneSlot::resumed(zone, incident);
        slot.sensors = sensors;
        push_slot(&mut track.slots, slot);
        Ok(())
    }

    /// The bit of sensor `name` in incursions' sensor sets, interned on first use; 0
    /// (not recorded) beyond [`MAX_SENSORS`] names.
    fn sensor_bit(&mut self, name: ShortName) -> u64 {
        if let Some(i) = self.sensor_names.iter().position(|n| *n == name) {
            return 1 << i;
        }
        if self.sensor_names.len() >= MAX_SENSORS {
            return 0;
        }
        self.sensor_names.push(name);
        1 << (self.sensor_names.len() - 1)
    }

    fn ctx(&self) -> Ctx<'_, Q> {
        Ctx {
            q: &self.zones,
            permits: &self.permits,
            buffered: &self.buffered,
            confirm_us: self.confirm_us,
            timeout_us: self.timeout_us,
            sensors: &self.sensor_names,
        }
    }

    fn advance_clock(&mut self, at: Timestamp, out: &mut Vec<Event>) {
        if self.clock.is_none_or(|c| at > c) {
            self.clock = Some(at);
        }
        if let Some(clock) = self.clock
            && (clock >= self.next_sweep)
        {
            self.sweep(clock, out);
            let every = (self.timeout_us / SWEEPS_PER_TIMEOUT).max(1_000_000);
            let next = (clock.as_micros().div_euclid(every) + 1).saturating_mul(every);
            self.next_sweep = Timestamp::from_micros(next);
        }
    }

    /// Loses confirmed incursions silent for more than `track_timeout_s` at `now`,
    /// forgets stale approach state and silent tracks.
    fn sweep(&mut self, now: Timestamp, out: &mut Vec<Event>) {
        let ctx = Ctx {
            q: &self.zones,
            permits: &self.permits,
            buffered: &self.buffered,
            confirm_us: self.confirm_us,
            timeout_us: self.timeout_us,
            sensors: &self.sensor_names,
        };
        let stats = &mut self.stats;
        self.tracks.retain(|t| {
            if let Some(last) = t.last
                && now.micros_since(last.at) > ctx.timeout_us
            {
                lose_slots(&ctx, stats, t, out);
            }
            t.slots.retain(|s| {
                s.phase != Phase::Near
                    || s.near_at
                        .is_some_and(|n| now.micros_since(n) <= ctx.timeout_us)
            });
            let keep = now.micros_since(t.heard_at) <= ctx.timeout_us || !t.slots.is_empty();
            if !keep {
                stats.tracks_expired += 1;
            }
            keep
        });
    }
}

/// The target's identity as incidents print it.
fn target_info(t: &Track) -> TargetInfo {
    TargetInfo {
        id: t.target(),
        callsign: t.callsign,
        category: t.category,
    }
}

/// Ends every incursion of a track whose last report is too old: confirmed ones become
/// `lost` (at the last report inside + `track_timeout_s`), unconfirmed ones vanish.
fn lose_slots<Q: ZoneQueries>(
    ctx: &Ctx<'_, Q>,
    stats: &mut DetectorStats,
    track: &mut Track,
    out: &mut Vec<Event>,
) {
    let info = target_info(track);
    for s in &track.slots {
        match s.phase {
            Phase::Inside => {
                stats.lost += 1;
                out.push(Event::Lost {
                    at: s.last_seen_at.add_micros(ctx.timeout_us),
                    incident: with_remoteid(
                        incident(ctx, info, s, IncidentStatus::Lost, None),
                        track.remoteid(),
                    ),
                });
            }
            Phase::Entering => stats.unconfirmed_entries += 1,
            Phase::Near => {}
        }
    }
    track.slots.clear();
    track.last = None;
}

/// Adds what a Remote ID drone said about itself: `operator`, `remoteid`, and
/// `cooperative` (it identified itself).
fn with_remoteid(mut incident: Incident, remoteid: Option<&crate::RemoteIdInfo>) -> Incident {
    if let Some(info) = remoteid {
        incident.cooperative = Some(true);
        incident.operator.clone_from(&info.operator);
        incident.remoteid = Some(crate::detect::incident::RemoteIdSummary {
            ua_type: info.ua_type.clone(),
            self_id: info.self_id.clone(),
            authentication: info.authentication,
        });
    }
    incident
}

/// Builds the incident of `slot` as of now.
fn incident<Q: ZoneQueries>(
    ctx: &Ctx<'_, Q>,
    info: TargetInfo,
    slot: &ZoneSlot,
    status: IncidentStatus,
    exit: Option<BoundaryFix>,
) -> Incident {
    let zone = ctx
        .q
        .zones()
        .get(slot.zone.0 as usize)
        .map_or("", |z| z.name.as_str());
    let permit = ctx.permits.iter().find(|p| {
        p.covers(
            info.id,
            info.callsign.as_ref().map(|c| c.as_str()),
            zone,
            slot.entered_at,
        )
    });
    let end = exit.map_or(slot.last_seen_at, |e| e.at);
    Incident {
        id: IncidentId::derive(info.id, zone, slot.entered_at),
        zone: zone.to_string(),
        target: info,
        classification: Classification::of(info.id, info.category),
        authorised: permit.is_some(),
        permit: permit.map(|p| p.reason.clone()),
        status,
        entry_observed: slot.entry_observed,
        entered_at: slot.entered_at,
        exited_at: exit.map(|e| e.at),
        last_seen_at: slot.last_seen_at,
        entry: Fix::new(slot.entry, slot.entry_alt),
        exit: exit.map(|e| Fix::new(e.pos, e.alt_ft)),
        duration_s: round_to(end.secs_since(slot.entered_at), 1e3),
        max_depth_m: round_to(slot.max_depth_m, 10.0),
        max_alt_ft: slot.max_alt_ft,
        reports: slot.reports,
        cooperative: Some(info.id.kind() != TargetKind::Track),
        sensors: sensor_names(ctx.sensors, slot.sensors, info.id),
        operator: None,
        remoteid: None,
        verification: None,
    }
}

/// The names of the sensors in `set` (bits into `table`), sorted; a sensor's track
/// always names its sensor.
fn sensor_names(table: &[ShortName], set: u64, id: TargetId) -> Vec<String> {
    let mut names: Vec<ShortName> = table
        .iter()
        .enumerate()
        .filter(|(i, _)| set & (1 << i) != 0)
        .map(|(_, n)| *n)
        .collect();
    if let TargetId::Track { sensor, .. } = id
        && !names.contains(&sensor)
    {
        names.push(sensor);
    }
    names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    names.iter().map(|n| n.as_str().to_string()).collect()
}

/// Confirms `slot` if it has been inside long enough with enough reports.
fn try_confirm<'r, Q: ZoneQueries>(
    ctx: &Ctx<'_, Q>,
    stats: &mut DetectorStats,
    info: impl FnOnce() -> TargetInfo,
    remoteid: impl FnOnce() -> Option<&'r crate::RemoteIdInfo>,
    slot: &mut ZoneSlot,
    at: Timestamp,
    out: &mut Vec<Event>,
) {
    if slot.phase == Phase::Entering
        && slot.reports >= 2
        && at.micros_since(slot.entered_at) >= ctx.confirm_us
    {
        slot.phase = Phase::Inside;
        stats.confirmed += 1;
        out.push(Event::Confirmed {
            at,
            incident: with_remoteid(
                incident(ctx, info(), slot, IncidentStatus::Open, None),
                remoteid(),
            ),
        });
    }
}

/// Whether `cur` is in the approach band of `zone` at an altitude the zone covers.
fn in_band<Q: ZoneQueries>(ctx: &Ctx<'_, Q>, zone: ZoneId, cur: Report) -> bool {
    ctx.q.zones().get(zone.0 as usize).is_some_and(|z| {
        z.buffer_m > 0.0 && z.contains_altitude(cur.alt_ft) && ctx.q.in_buffer(zone, cur.pos)
    })
}

/// Steps every (target, zone) state of `track` with the accepted report `cur`.
fn step_zones<Q: ZoneQueries>(
    ctx: &Ctx<'_, Q>,
    scratch: &[ZoneId],
    stats: &mut DetectorStats,
    track: &mut Track,
    cur: Report,
    sensor_bit: u64,
    out: &mut Vec<Event>,
) {
    // `scratch` holds the zones whose lateral shape contains `cur.pos` (`observe` located
    // it before touching the track).
    // The common case: far from every zone and band.
    if scratch.is_empty()
        && track.slots.is_empty()
        && !ctx.buffered.iter().any(|b| b.may_contain(cur.pos))
    {
        return;
    }
    let zones = ctx.q.zones();
    let prev = track.last;
    // Read only when an event is made: the names sit outside the cache lines that the
    // position path touches (`Track`'s layout).
    let (key, callsign, category) = (&track.key, &track.callsign, &track.category);
    let info = || TargetInfo {
        id: key.id(),
        callsign: *callsign,
        category: *category,
    };
    let remoteid = || key.remoteid();
    let approach = |stats: &mut DetectorStats, out: &mut Vec<Event>, zone: ZoneId| {
        stats.approaches += 1;
        out.push(Event::Approach {
            at: cur.at,
            zone: zones
                .get(zone.0 as usize)
                .map_or(String::new(), |z| z.name.clone()),
            target: info(),
            position: Fix::new(cur.pos, cur.alt_ft),
        });
    };

    for slot in track.slots.iter_mut() {
        let Some(zone) = zones.get(slot.zone.0 as usize) else {
            continue;
        };
        let lat_in = scratch.contains(&slot.zone);
        let inside = lat_in && zone.contains_altitude(cur.alt_ft);
        match (slot.phase, inside) {
            (Phase::Near, false) => {
                if in_band(ctx, slot.zone, cur) {
                    if slot
                        .near_at
                        .is_none_or(|n| cur.at.micros_since(n) > ctx.timeout_us)
                    {
                        approach(stats, out, slot.zone);
                    }
                    slot.near_at = Some(cur.at);
                }
            }
            (Phase::Near, true) => {
                let e = entry_fix(ctx.q, slot.zone, zone, prev, cur);
                slot.enter(ctx.q, e, cur);
                slot.sensors |= sensor_bit;
                try_confirm(ctx, stats, info, remoteid, slot, cur.at, out);
            }
            (Phase::Entering | Phase::Inside, true) => {
                slot.record_inside(ctx.q, cur);
                slot.sensors |= sensor_bit;
                try_confirm(ctx, stats, info, remoteid, slot, cur.at, out);
            }
            (Phase::Entering, false) => {
                stats.unconfirmed_entries += 1;
                slot.leave(cur.at, in_band(ctx, slot.zone, cur));
            }
            (Phase::Inside, false) => {
                let exit = match prev {
                    Some(p) => exit_fix(ctx.q, slot.zone, zone, p, cur, lat_in),
                    None => BoundaryFix {
                        at: cur.at,
                        pos: cur.pos,
                        alt_ft: cur.alt_ft,
                        observed: false,
                    },
                };
                stats.closed += 1;
                out.push(Event::Closed {
                    at: cur.at,
                    incident: with_remoteid(
                        incident(ctx, info(), slot, IncidentStatus::Closed, Some(exit)),
                        remoteid(),
                    ),
                });
                slot.leave(cur.at, in_band(ctx, slot.zone, cur));
            }
        }
    }

    for &z in scratch.iter() {
        if track.slots.iter().any(|s| s.zone == z) {
            continue;
        }
        let Some(zone) = zones.get(z.0 as usize) else {
            continue;
        };
        if !zone.contains_altitude(cur.alt_ft) {
            continue;
        }
        let mut slot = ZoneSlot::near(z, cur.at);
        slot.near_at = None;
        let e = entry_fix(ctx.q, z, zone, prev, cur);
        slot.enter(ctx.q, e, cur);
        slot.sensors |= sensor_bit;
        try_confirm(ctx, stats, info, remoteid, &mut slot, cur.at, out);
        push_slot(&mut track.slots, slot);
    }

    for b in ctx.buffered {
        if b.may_contain(cur.pos)
            && !scratch.contains(&b.zone)
            && !track.slots.iter().any(|s| s.zone == b.zone)
            && in_band(ctx, b.zone, cur)
        {
            approach(stats, out, b.zone);
            push_slot(&mut track.slots, ZoneSlot::near(b.zone, cur.at));
        }
    }

    track.slots.retain(|s| {
        s.phase != Phase::Near
            || s.near_at
                .is_some_and(|n| cur.at.micros_since(n) <= ctx.timeout_us)
    });
}

/// Appends a slot growing the vector one element at a time: targets are near or in one
/// or two zones, and `Vec`'s default growth (4 at once) would triple a track's size.
fn push_slot(slots: &mut thin_vec::ThinVec<ZoneSlot>, slot: ZoneSlot) {
    if slots.len() == slots.capacity() {
        slots.reserve_exact(1);
    }
    slots.push(slot);
}

/// A position the detector can place: finite, within ±90° and ±180°.
#[inline]
fn valid(p: GeoPoint) -> bool {
    p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0
}
