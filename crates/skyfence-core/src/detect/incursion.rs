//! The state of one target against one zone, and the geometry of its transitions.
//!
//! ```text
//!   (no slot) ──in buffer──▶ Near ──inside──▶ Entering ──confirm_s & ≥2 reports──▶ Inside
//!       │                     ▲  ◀──outside (noise: no incident)──┘                  │
//!       └──────inside─────────┼──────────────▶ Entering                               │
//!                             └──────────────outside: `closed`────────────────────────┤
//!                                  silence > track_timeout_s: `lost` (slot dropped) ◀─┘
//! ```
//!
//! "Inside" is 3-D: the lateral shape (holes excluded) and the altitude between floor and
//! ceiling (unknown altitude counts as inside, docs/INTERFACES.md "Zones").

use super::track::Report;
use super::zones::ZoneQueries;
use crate::airspace::{Zone, ZoneId};
use crate::position::wrap_lon;
use crate::{GeoPoint, Timestamp};

/// Where a (target, zone) pair stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Outside, but in (or recently in) the zone's buffer band.
    Near,
    /// Inside, not yet confirmed.
    Entering,
    /// Inside, confirmed: an open incident.
    Inside,
}

/// A border crossing as the incident records it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct BoundaryFix {
    pub at: Timestamp,
    pub pos: GeoPoint,
    pub alt_ft: Option<i32>,
    /// Interpolated on an observed segment (false: a report taken as the crossing).
    pub observed: bool,
}

/// Depth (`max_depth_m`) is measured (an airspace distance query, microseconds to
/// milliseconds far inside a large country) only when a report may lie deeper than the
/// deepest so far by more than this many metres plus [`DEPTH_SLACK_REL`] of the depth.
/// The bound: the distance to a border changes no faster than the target moves
/// (1-Lipschitz), so a report within `x` metres of a point measured at depth `d` is at
/// most `d + x` deep. Each incursion keeps the last [`DEPTH_REFS`] measured points and
/// takes the tightest bound. `max_depth_m` is therefore exact to within 25 m + 0.5 %
/// (docs/INTERFACES.md's golden tests allow 2 % + 100 m against the truth), and a target
/// cruising or loitering deep inside a country costs a query every few kilometres of
/// new ground instead of one per report.
pub(crate) const DEPTH_SLACK_M: f64 = 25.0;
/// See [`DEPTH_SLACK_M`].
pub(crate) const DEPTH_SLACK_REL: f64 = 5e-3;
/// Measured points kept per incursion for the depth bound.
pub(crate) const DEPTH_REFS: usize = 6;

/// A point where depth was measured.
#[derive(Clone, Copy, Debug, Default)]
struct DepthRef {
    lat: f64,
    lon: f64,
    depth_m: f32,
    /// The report count when this point last gave the tightest bound (least recently
    /// useful is replaced first).
    used: u32,
}

/// The state of one target against one zone.
#[derive(Clone, Debug)]
pub(crate) struct ZoneSlot {
    pub zone: ZoneId,
    pub phase: Phase,
    pub entry_observed: bool,
    /// Reports inside (Entering and Inside).
    pub reports: u32,
    /// Last report in the buffer band (approach events are not repeated within
    /// `track_timeout_s` of it).
    pub near_at: Option<Timestamp>,
    pub entered_at: Timestamp,
    pub entry: GeoPoint,
    pub entry_alt: Option<i32>,
    pub last_seen_at: Timestamp,
    pub max_depth_m: f64,
    pub max_alt_ft: Option<i32>,
    /// Measured points (the first `depth_refs_len`).
    depth_refs: [DepthRef; DEPTH_REFS],
    depth_refs_len: u8,
    /// The sensors whose reports inside this incursion counted: bits indexing the
    /// detector's table of sensor names (`Detector::sensor_bit`).
    pub sensors: u64,
}

impl ZoneSlot {
    /// A slot for a target in the zone's buffer band.
    pub fn near(zone: ZoneId, at: Timestamp) -> Self {
        ZoneSlot {
            zone,
            phase: Phase::Near,
            entry_observed: false,
            reports: 0,
            near_at: Some(at),
            entered_at: at,
            entry: GeoPoint { lat: 0.0, lon: 0.0 },
            entry_alt: None,
            last_seen_at: at,
            max_depth_m: 0.0,
            max_alt_ft: None,
            depth_refs: [DepthRef::default(); DEPTH_REFS],
            depth_refs_len: 0,
            sensors: 0,
        }
    }

    /// A confirmed incursion continued from a stored incident (after a restart), whose
    /// last report inside was at `last_pos`.
    pub fn resumed(zone: ZoneId, incident: &super::incident::Incident) -> Self {
        ZoneSlot {
            zone,
            phase: Phase::Inside,
            entry_observed: incident.entry_observed,
            reports: incident.reports,
            near_at: None,
            entered_at: incident.entered_at,
            entry: GeoPoint {
                lat: incident.entry.lat,
                lon: incident.entry.lon,
            },
            entry_alt: incident.entry.alt_ft,
            last_seen_at: incident.last_seen_at,
            max_depth_m: incident.max_depth_m,
            max_alt_ft: incident.max_alt_ft,
            depth_refs: [DepthRef::default(); DEPTH_REFS],
            depth_refs_len: 0,
            sensors: 0,
        }
    }

    /// Starts an incursion at `entry`, then records `cur` (the first report inside).
    pub fn enter<Q: ZoneQueries + ?Sized>(&mut self, q: &Q, entry: BoundaryFix, cur: Report) {
        self.phase = Phase::Entering;
        self.entry_observed = entry.observed;
        self.entered_at = entry.at;
        self.entry = entry.pos;
        self.entry_alt = entry.alt_ft;
        self.reports = 0;
        self.max_depth_m = 0.0;
        self.max_alt_ft = None;
        self.depth_refs_len = 0;
        self.sensors = 0;
        self.record_inside(q, cur);
    }

    /// Counts a report inside: report count, last seen, max altitude, depth.
    pub fn record_inside<Q: ZoneQueries + ?Sized>(&mut self, q: &Q, cur: Report) {
        self.reports = self.reports.saturating_add(1);
        self.last_seen_at = cur.at;
        if let Some(a) = cur.alt_ft {
            self.max_alt_ft = Some(self.max_alt_ft.map_or(a, |m| m.max(a)));
        }
        let refs = &mut self.depth_refs[..usize::from(self.depth_refs_len)];
        let cos_cur = if refs.is_empty() {
            1.0
        } else {
            cur.pos.lat.to_radians().cos()
        };
        let mut tightest = f64::INFINITY;
        let mut tightest_ix = 0;
        for (j, r) in refs.iter().enumerate() {
            let bound = f64::from(r.depth_m)
                + upper_distance_m(
                    GeoPoint {
                        lat: r.lat,
                        lon: r.lon,
                    },
                    cur.pos,
                    cos_cur,
                );
            if bound < tightest {
                tightest = bound;
                tightest_ix = j;
            }
        }
        if tightest <= self.max_depth_m * (1.0 + DEPTH_SLACK_REL) + DEPTH_SLACK_M {
            refs[tightest_ix].used = self.reports;
            return;
        }
        let d = q.distance_to_boundary_m(self.zone, cur.pos);
        if !d.is_finite() {
            return;
        }
        self.max_depth_m = self.max_depth_m.max(d);
        let new = DepthRef {
            lat: cur.pos.lat,
            lon: cur.pos.lon,
            // Rounded down so the bound stays an upper bound.
            depth_m: {
                let f = d as f32;
                if f64::from(f) > d { f.next_down() } else { f }
            },
            used: self.reports,
        };
        if usize::from(self.depth_refs_len) < DEPTH_REFS {
            self.depth_refs[usize::from(self.depth_refs_len)] = new;
            self.depth_refs_len += 1;
        } else if let Some(lru) = self.depth_refs.iter_mut().min_by_key(|r| r.used) {
            *lru = new;
        }
    }

    /// Back to outside after leaving (the incident, if any, has been emitted).
    pub fn leave(&mut self, at: Timestamp, near: bool) {
        self.phase = Phase::Near;
        self.reports = 0;
        self.depth_refs_len = 0;
        if near {
            self.near_at = Some(at);
        }
    }
}

const M_PER_DEG_EQUATORIAL: f64 = 6_378_137.0 * std::f64::consts::PI / 180.0;
const M_PER_DEG_MEAN: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// An upper bound (for steps up to a few tens of km, the only ones that can prune) of the
/// geodesic distance from `a` to `b`, given `cos_b` = cos(b.lat): equirectangular on the
/// equatorial radius with the largest cosine over the latitude span (cos is
/// 1-Lipschitz), plus 2 % and 1 m. No trigonometry: it runs for every report inside.
#[inline]
fn upper_distance_m(a: GeoPoint, b: GeoPoint, cos_b: f64) -> f64 {
    let dlat = b.lat - a.lat;
    let cos = (cos_b + dlat.abs().to_radians()).min(1.0);
    let dlon = wrap_lon(b.lon - a.lon) * cos;
    (dlat * dlat + dlon * dlon).sqrt() * M_PER_DEG_EQUATORIAL * 1.02 + 1.0
}

/// Whether the step `a` → `b` is longer than `allowed_m` metres (the plausibility gate),
/// equirectangular on the mean radius (within 0.5 % below a few hundred km: a spoofed
/// jump is tens to hundreds of km). The common short step is decided without
/// trigonometry (cos ≤ 1 bounds the distance from above).
#[inline]
pub(crate) fn step_exceeds(a: GeoPoint, b: GeoPoint, allowed_m: f64) -> bool {
    let dlat = b.lat - a.lat;
    let dlon = wrap_lon(b.lon - a.lon);
    let lim = allowed_m / M_PER_DEG_MEAN;
    let lim2 = lim * lim;
    if dlat * dlat + dlon * dlon <= lim2 {
        return false;
    }
    if dlat * dlat > lim2 {
        return true;
    }
    let x = dlon * (0.5 * (a.lat + b.lat)).to_radians().cos();
    dlat * dlat + x * x > lim2
}

/// The point at fraction `t` of the step `a` → `b`, linear in longitude (the short way)
/// and latitude, like the zone edges and [`crate::airspace::AirspaceIndex::first_crossing`].
fn lerp(a: Report, b: Report, t: f64) -> BoundaryFix {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        1.0
    };
    let dlon = wrap_lon(b.pos.lon - a.pos.lon);
    let pos = GeoPoint::new(
        a.pos.lat + t * (b.pos.lat - a.pos.lat),
        a.pos.lon + t * dlon,
    );
    let dt = b.at.micros_since(a.at) as f64;
    let at = a.at.add_micros((t * dt).round() as i64);
    let alt_ft = match (a.alt_ft, b.alt_ft) {
        (Some(x), Some(y)) => Some((f64::from(x) + t * f64::from(y - x)).round() as i32),
        (x, y) => y.or(x),
    };
    BoundaryFix {
        at,
        pos,
        alt_ft,
        observed: true,
    }
}

/// Fraction of the step where the altitude enters [floor, ceiling] (0 when it was already
/// inside vertically or an altitude is unknown).
fn vertical_entry(zone: &Zone, a0: Option<i32>, a1: Option<i32>) -> f64 {
    let (Some(a0), Some(a1)) = (a0, a1) else {
        return 0.0;
    };
    let (x0, x1) = (f64::from(a0), f64::from(a1));
    let f = match (zone.floor_ft, zone.ceiling_ft) {
        (Some(fl), _) if a0 < fl && a1 >= fl => (f64::from(fl) - x0) / (x1 - x0),
        (_, Some(c)) if a0 > c && a1 <= c => (x0 - f64::from(c)) / (x0 - x1),
        _ => 0.0,
    };
    if f.is_finite() {
        f.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// Fraction of the step where the altitude leaves [floor, ceiling] (1 when it does not).
fn vertical_exit(zone: &Zone, a0: Option<i32>, a1: Option<i32>) -> f64 {
    let (Some(a0), Some(a1)) = (a0, a1) else {
        return 1.0;
    };
    let (x0, x1) = (f64::from(a0), f64::from(a1));
    let f = match (zone.floor_ft, zone.ceiling_ft) {
        (Some(fl), _) if a1 < fl && a0 >= fl => (x0 - f64::from(fl)) / (x0 - x1),
        (_, Some(c)) if a1 > c && a0 <= c => (f64::from(c) - x0) / (x1 - x0),
        _ => 1.0,
    };
    if f.is_finite() {
        f.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

/// Where the target entered: interpolated on the step `prev` (outside) → `cur` (inside)
/// when there is a recent previous report; the later of the lateral crossing (from the
/// airspace index) and the vertical one, since both must hold. Without a previous report,
/// `cur` itself, unobserved.
pub(crate) fn entry_fix<Q: ZoneQueries + ?Sized>(
    q: &Q,
    zone_id: ZoneId,
    zone: &Zone,
    prev: Option<Report>,
    cur: Report,
) -> BoundaryFix {
    let Some(prev) = prev else {
        return BoundaryFix {
            at: cur.at,
            pos: cur.pos,
            alt_ft: cur.alt_ft,
            observed: false,
        };
    };
    let f_lat = if q.contains(zone_id, prev.pos) {
        0.0
    } else {
        // No crossing found can only be rounding at a vertex: take the first report inside.
        q.first_crossing(zone_id, prev.pos, cur.pos)
            .map_or(1.0, |c| c.fraction)
    };
    let f_alt = vertical_entry(zone, prev.alt_ft, cur.alt_ft);
    lerp(prev, cur, f_lat.max(f_alt))
}

/// Where the target left: interpolated on the step `prev` (inside) → `cur` (outside, as
/// `lat_in` and the altitude say), the earlier of the lateral and vertical exits.
pub(crate) fn exit_fix<Q: ZoneQueries + ?Sized>(
    q: &Q,
    zone_id: ZoneId,
    zone: &Zone,
    prev: Report,
    cur: Report,
    lat_in: bool,
) -> BoundaryFix {
    let f_lat = if lat_in {
        1.0
    } else {
        // None: `prev` lay on the boundary itself (a contact at the start is skipped).
        q.first_crossing(zone_id, prev.pos, cur.pos)
            .map_or(0.0, |c| c.fraction)
    };
    let f_alt = vertical_exit(zone, prev.alt_ft, cur.alt_ft);
    lerp(prev, cur, f_lat.min(f_alt))
}
