//! The right answer: incidents and approach warnings implied by the true trajectories.
//!
//! Computed here, from the trajectories the simulator flew and the messages the receivers
//! actually heard, with the simulator's own geometry ([`super::geometry`]) and its own
//! reading of the docs/INTERFACES.md rules — no code shared with the detector, so a detector
//! bug cannot hide in both.
//!
//! Method, per flight and zone:
//! 1. The true state is sampled every 0.1 s. Inside-ness (lateral shape, and altitude
//!    between floor and ceiling unless the flight broadcasts no altitude, which counts
//!    as inside) is tested every second; where it changes, the 0.1 s samples locate the
//!    step and bisection on that step finds the crossing to a microsecond.
//!    Intervals separated by an excursion outside that no broadcast position showed
//!    are joined: nothing a receiver heard shows the target outside.
//! 2. Each true inside interval is split where the target fell silent (no intact message
//!    heard) for `track_timeout_s`: the detector loses the track there.
//! 3. A part becomes an incident when some position report inside comes `confirm_s` or
//!    more after its start, with ≥ 2 reports. Its entry is the true crossing when the
//!    track was already held outside (`entry_observed`), else the first report inside.
//!    It is `closed` at the true exit when a report after the exit shows the target out,
//!    `lost` when the track fell silent for `track_timeout_s` before the recording's
//!    last frame, else `open`.
//! 4. `max_depth_m` is taken over the broadcast positions of the reports inside (the
//!    depth is defined over reports, and a target whose GPS jitters reports deeper
//!    positions than it flies), `max_alt_ft` over their altitudes; reports are the intact position squitters heard by at least one receiver,
//!    spoofed ones excluded (the detector's speed gate should discard them).
//! 5. Approach warnings: a report outside a zone and within its `buffer_m` of the
//!    boundary, when the target was neither inside nor in the band during the preceding
//!    `track_timeout_s` (no warning for a target that has just left, or lingers).
//!
//! Permits are matched here with their own glob matcher (`*`, `?`) on icao24, callsign
//! and zone, and the validity window against the entry time.

use skyfence_core::Timestamp;
use skyfence_core::airspace::Zone;

use super::geometry::Shape;
use super::kinematics::distance_m;
use super::scenario::{Flight, Permit, Scenario};

/// Sampling step of the true trajectory, seconds.
pub const SAMPLE_S: f64 = 0.1;

/// A position report: (time in seconds from the start, true lat, lon, alt_ft).
pub type Report = (f64, [f64; 3], [f64; 2]);

/// What the simulator recorded about one flight for the truth.
#[derive(Clone, Debug, Default)]
pub struct FlightLog {
    /// Time of the first sample, seconds from the scenario start.
    pub t0_s: f64,
    /// True (lat, lon, alt_ft) every [`SAMPLE_S`].
    pub samples: Vec<[f64; 3]>,
    /// Intact, not spoofed position reports heard: (time, true lat, lon, alt_ft,
    /// broadcast lat, lon).
    pub reports: Vec<Report>,
    /// Times of every intact message heard.
    pub heard: Vec<f64>,
    /// A radar site's track number of the flight (radar logs only).
    pub track: u32,
}

impl FlightLog {
    /// The interpolated true (lat, lon, alt_ft) at `t_s` (clamped to the samples).
    pub fn at(&self, t_s: f64) -> [f64; 3] {
        let Some(last) = self.samples.len().checked_sub(1) else {
            return [0.0; 3];
        };
        let x = ((t_s - self.t0_s) / SAMPLE_S).clamp(0.0, last as f64);
        let k = (x.floor() as usize).min(last.saturating_sub(1));
        let f = x - k as f64;
        let (a, b) = (self.samples[k], self.samples[(k + 1).min(last)]);
        [
            a[0] + (b[0] - a[0]) * f,
            a[1] + (b[1] - a[1]) * f,
            a[2] + (b[2] - a[2]) * f,
        ]
    }

    fn end_s(&self) -> f64 {
        self.t0_s + self.samples.len().saturating_sub(1) as f64 * SAMPLE_S
    }
}

/// A glob match with `*` (any run) and `?` (one character), ASCII case-insensitive.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<u8>, Vec<u8>) = (
        pattern.bytes().map(|b| b.to_ascii_lowercase()).collect(),
        text.bytes().map(|b| b.to_ascii_lowercase()).collect(),
    );
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The first permit covering `target`'s incident in `zone` entered at `at`. An address
/// pattern covers ICAO targets only; a callsign pattern, targets that broadcast one.
pub fn permit_for<'a>(
    permits: &'a [Permit],
    target: &Target,
    zone: &str,
    at: Timestamp,
) -> Option<&'a Permit> {
    permits.iter().find(|p| {
        p.icao24
            .as_deref()
            .is_none_or(|g| target.icao24.as_deref().is_some_and(|a| glob(g, a)))
            && p.id.as_deref().is_none_or(|g| glob(g, &target.id))
            && p.kind.as_deref().is_none_or(|k| k == target.kind)
            && p.callsign
                .as_deref()
                .is_none_or(|g| target.callsign.as_deref().is_some_and(|c| glob(g, c)))
            && p.zone.as_deref().is_none_or(|g| glob(g, zone))
            && p.from
                .as_deref()
                .and_then(|f| Timestamp::parse_rfc3339(f).ok())
                .is_none_or(|f| at >= f)
            && p.until
                .as_deref()
                .and_then(|u| Timestamp::parse_rfc3339(u).ok())
                .is_none_or(|u| at <= u)
    })
}

/// A true inside interval: `[from_s, to_s]`, and whether each end is a real crossing
/// (rather than the flight's first or last sample).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Interval {
    from_s: f64,
    to_s: f64,
    entered: bool,
    exited: bool,
}

/// Joins inside intervals separated by an excursion outside that no position report
/// showed (a corner of the border clipped between two squitters, or so thin that every
/// broadcast position in it, with its GNSS error, still lies inside): nothing any
/// detector receives shows the target outside, so for the truth it never left.
fn observable(shape: &Shape, intervals: Vec<Interval>, reports: &[Report]) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::with_capacity(intervals.len());
    for iv in intervals {
        if let Some(prev) = out.last_mut()
            && !reports
                .iter()
                .any(|(t, _, b)| *t > prev.to_s && *t < iv.from_s && !shape.contains(b[0], b[1]))
        {
            prev.to_s = iv.to_s;
            prev.exited = iv.exited;
            continue;
        }
        out.push(iv);
    }
    out
}

fn inside(shape: &Shape, zone: &Zone, flight: &Flight, p: [f64; 3]) -> bool {
    let alt_ok = flight.no_altitude
        || (zone.floor_ft.is_none_or(|f| p[2] >= f64::from(f))
            && zone.ceiling_ft.is_none_or(|c| p[2] <= f64::from(c)));
    alt_ok && shape.contains(p[0], p[1])
}

/// The true inside intervals of one flight in one zone.
fn intervals(shape: &Shape, zone: &Zone, flight: &Flight, log: &FlightLog) -> Vec<Interval> {
    let n = log.samples.len();
    if n == 0 {
        return Vec::new();
    }
    let test = |k: usize| inside(shape, zone, flight, log.samples[k]);
    let t_of = |k: usize| log.t0_s + k as f64 * SAMPLE_S;
    // The time in step k..k+1 where inside-ness changes, by bisection.
    let crossing = |k: usize| {
        let was = test(k);
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if inside(shape, zone, flight, log.at(t_of(k) + mid * SAMPLE_S)) == was {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        t_of(k) + hi * SAMPLE_S
    };
    let mut out = Vec::new();
    let mut state = test(0);
    let mut open = state.then_some((t_of(0), false));
    let mut k = 0;
    while k + 1 < n {
        let next = (k + 10).min(n - 1);
        if test(next) != state {
            // Find every change within the coarse step.
            for j in k..next {
                let now = test(j + 1);
                if now != state {
                    let t = crossing(j);
                    if now {
                        open = Some((t, true));
                    } else if let Some((from_s, entered)) = open.take() {
                        out.push(Interval {
                            from_s,
                            to_s: t,
                            entered,
                            exited: true,
                        });
                    }
                    state = now;
                }
            }
        }
        k = next;
    }
    if let Some((from_s, entered)) = open {
        out.push(Interval {
            from_s,
            to_s: log.end_s(),
            entered,
            exited: false,
        });
    }
    out
}

/// Splits a flight's heard-message times into tracks: runs with gaps under `timeout_s`.
/// Returns (first, last) heard time of each.
fn tracks(heard: &[f64], timeout_s: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    for &t in heard {
        match out.last_mut() {
            Some(last) if t - last.1 < timeout_s => last.1 = t,
            _ => out.push((t, t)),
        }
    }
    out
}

fn ts(start: Timestamp, t_s: f64) -> Timestamp {
    start.add_micros((t_s * 1e6).round() as i64)
}

/// A position in an incident or warning.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Point {
    /// Latitude, degrees (6 decimals).
    pub lat: f64,
    /// Longitude, degrees (6 decimals).
    pub lon: f64,
    /// Altitude, feet; `null` for a target that broadcasts none.
    pub alt_ft: Option<i64>,
}

fn point(p: [f64; 3], flight: &Flight) -> Point {
    Point {
        lat: (p[0] * 1e6).round() / 1e6,
        lon: (p[1] * 1e6).round() / 1e6,
        alt_ft: (!flight.no_altitude).then(|| p[2].round() as i64),
    }
}

/// The target of an incident (docs/INTERFACES.md, "Incident").
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Target {
    /// `icao` (a Mode S transponder), `track` (a radar's own track of a target without
    /// one) or `remoteid` (a drone's Remote ID serial number).
    pub kind: &'static str,
    /// The target id: its ICAO address, `RADAR/NUMBER` or the serial number.
    pub id: String,
    /// 6 lowercase hex digits (ICAO targets only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icao24: Option<String>,
    /// Flight identification, when broadcast.
    pub callsign: Option<String>,
    /// Emitter category, when broadcast.
    pub category: Option<String>,
}

fn target(flight: &Flight) -> (Target, &'static str) {
    // The category is only known to a receiver through identification squitters, which
    // a flight without a callsign does not send.
    let category = flight.callsign.and(flight.category);
    let classification = match category {
        Some(c) if c.is_uav() => "uav",
        Some(_) => "aircraft",
        None => "unknown",
    };
    (
        Target {
            kind: "icao",
            id: format!("{:06x}", flight.icao24.as_u32()),
            icao24: Some(format!("{:06x}", flight.icao24.as_u32())),
            callsign: flight.callsign.map(|c| c.as_str().to_owned()),
            category: category.map(|c| c.to_string()),
        },
        classification,
    )
}

/// The operator of a Remote ID drone, as its System and Operator ID messages say.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Operator {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Operator registration.
    pub id: Option<String>,
}

/// The truth's logs: per flight for its Mode S transponder, per radar site and flight
/// for the site's own tracks (plots without address), per flight for its Remote ID.
pub struct Logs<'a> {
    /// Mode S (indexed like the scenario's flights).
    pub modes: &'a [FlightLog],
    /// Radar tracks, `[site][flight]` (empty when there are no radars).
    pub radar: &'a [Vec<FlightLog>],
    /// Remote ID, per flight.
    pub remoteid: &'a [FlightLog],
}

/// One target of the truth: a flight as one sensor's target.
struct Subject<'a> {
    flight: std::borrow::Cow<'a, Flight>,
    target: Target,
    classification: &'static str,
    cooperative: bool,
    sensors: Vec<String>,
    operator: Option<Operator>,
    log: std::borrow::Cow<'a, FlightLog>,
}

/// Every target of the truth: each transponder's ICAO target; each radar site's track
/// of a flight it saw without address (no altitude: a primary radar measures none);
/// each Remote ID drone.
fn subjects<'a>(scenario: &'a Scenario, logs: &Logs<'a>) -> Vec<Subject<'a>> {
    let mut out = Vec::new();
    for (i, flight) in scenario.flights.iter().enumerate() {
        let Some(modes) = logs.modes.get(i) else {
            continue;
        };
        if flight.transponder {
            let (target, classification) = target(flight);
            out.push(Subject {
                flight: std::borrow::Cow::Borrowed(flight),
                target,
                classification,
                cooperative: true,
                sensors: Vec::new(),
                operator: None,
                log: std::borrow::Cow::Borrowed(modes),
            });
        }
        for (ri, site) in scenario.radars.iter().enumerate() {
            let Some(log) = logs.radar.get(ri).and_then(|l| l.get(i)) else {
                continue;
            };
            if log.reports.is_empty() {
                continue;
            }
            // The site numbers tracks in the order it first sees them: recover the
            // number from the plots of every flight (the first plot of each).
            let number = track_number(logs.radar[ri].as_slice(), i);
            let mut f = flight.clone();
            f.no_altitude = true;
            out.push(Subject {
                flight: std::borrow::Cow::Owned(f),
                target: Target {
                    kind: "track",
                    id: format!("{}/{number}", site.name),
                    icao24: None,
                    callsign: None,
                    category: None,
                },
                classification: "unknown",
                cooperative: false,
                sensors: vec![site.name.clone()],
                operator: None,
                log: std::borrow::Cow::Owned(FlightLog {
                    t0_s: modes.t0_s,
                    samples: modes.samples.clone(),
                    reports: log.reports.clone(),
                    heard: log.heard.clone(),
                    track: log.track,
                }),
            });
        }
        if let (Some(rid), Some(log)) = (&flight.remote_id, logs.remoteid.get(i))
            && !log.heard.is_empty()
        {
            out.push(Subject {
                flight: std::borrow::Cow::Borrowed(flight),
                target: Target {
                    kind: "remoteid",
                    id: rid.serial.clone(),
                    icao24: None,
                    callsign: None,
                    category: None,
                },
                classification: "uav",
                cooperative: true,
                sensors: Vec::new(),
                operator: Some(Operator {
                    lat: rid.operator[0],
                    lon: rid.operator[1],
                    id: (!rid.operator_id.is_empty()).then(|| rid.operator_id.clone()),
                }),
                log: std::borrow::Cow::Owned(FlightLog {
                    t0_s: modes.t0_s,
                    samples: modes.samples.clone(),
                    reports: log.reports.clone(),
                    heard: log.heard.clone(),
                    track: log.track,
                }),
            });
        }
    }
    out
}

/// The track number site logs `logs` gave flight `i` (the simulator records it with
/// the plots: sites number targets from 1 in the order they first see them).
fn track_number(logs: &[FlightLog], i: usize) -> u32 {
    logs.get(i).map_or(0, |l| l.track)
}

/// One incident, in the docs/INTERFACES.md shape and key order.
#[derive(Clone, Debug, serde::Serialize)]
struct Incident<'a> {
    id: String,
    zone: &'a str,
    target: &'a Target,
    classification: &'static str,
    authorised: bool,
    permit: Option<&'a str>,
    status: &'static str,
    entry_observed: bool,
    entered_at: String,
    exited_at: Option<String>,
    last_seen_at: String,
    entry: Point,
    exit: Option<Point>,
    duration_s: f64,
    max_depth_m: f64,
    max_alt_ft: Option<i64>,
    reports: usize,
    cooperative: bool,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    sensors: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    operator: Option<&'a Operator>,
}

/// One approach warning: a target entered a zone's buffer band from outside.
#[derive(Clone, Debug, serde::Serialize)]
struct Approach<'a> {
    event: &'static str,
    zone: &'a str,
    target: &'a Target,
    classification: &'static str,
    at: String,
    position: Point,
    distance_m: f64,
}

/// The truth lines, sorted by time: incidents (the docs/INTERFACES.md Incident shape) and
/// approach warnings (`{"event": "approach", ...}`). `recording_end_s` is the time of
/// the last frame written.
pub fn truth_lines(scenario: &Scenario, logs: &Logs<'_>, recording_end_s: f64) -> Vec<String> {
    let det = &scenario.detection;
    let start = scenario.start;
    let mut lines: Vec<(i64, String)> = Vec::new();
    let subjects = subjects(scenario, logs);
    for zone in &scenario.zones {
        let shape = Shape::new(zone);
        for subject in &subjects {
            let (flight, log) = (subject.flight.as_ref(), subject.log.as_ref());
            let (tgt, classification) = (&subject.target, subject.classification);
            let tracks = tracks(&log.heard, det.track_timeout_s);
            let track_of = |t: f64| tracks.iter().position(|&(a, b)| t >= a && t <= b);
            for iv in observable(&shape, intervals(&shape, zone, flight, log), &log.reports) {
                let inside_reports: Vec<&Report> = log
                    .reports
                    .iter()
                    .filter(|(t, ..)| *t >= iv.from_s && *t <= iv.to_s)
                    .collect();
                // Parts of the interval, one per track.
                let mut parts: Vec<(usize, Vec<&Report>)> = Vec::new();
                for r in inside_reports {
                    let Some(tr) = track_of(r.0) else { continue };
                    match parts.last_mut() {
                        Some((t, v)) if *t == tr => v.push(r),
                        _ => parts.push((tr, vec![r])),
                    }
                }
                let n_parts = parts.len();
                for (pi, (tr, reps)) in parts.into_iter().enumerate() {
                    let (tr_from, tr_to) = tracks[tr];
                    let held_outside = log
                        .reports
                        .iter()
                        .any(|(t, ..)| *t < iv.from_s && *t >= tr_from);
                    let entry_observed = pi == 0 && iv.entered && held_outside;
                    let since = if entry_observed { iv.from_s } else { reps[0].0 };
                    let confirmed =
                        reps.len() >= 2 && reps.iter().any(|(t, ..)| t - since >= det.confirm_s);
                    if !confirmed {
                        continue;
                    }
                    let last = pi + 1 == n_parts;
                    let seen_out_after = log
                        .reports
                        .iter()
                        .any(|(t, ..)| *t > iv.to_s && *t <= tr_to);
                    let status = if last && iv.exited && seen_out_after {
                        "closed"
                    } else if recording_end_s - tr_to >= det.track_timeout_s {
                        "lost"
                    } else {
                        "open"
                    };
                    let last_seen = log
                        .heard
                        .iter()
                        .copied()
                        .filter(|&t| t >= tr_from && t <= tr_to.min(iv.to_s))
                        .fold(since, f64::max);
                    let entry_p = if entry_observed {
                        log.at(iv.from_s)
                    } else {
                        reps[0].1
                    };
                    let (exited_at, exit) = if status == "closed" {
                        (
                            Some(ts(start, iv.to_s).to_rfc3339_millis()),
                            Some(point(log.at(iv.to_s), flight)),
                        )
                    } else {
                        (None, None)
                    };
                    let end = if status == "closed" {
                        iv.to_s
                    } else {
                        last_seen
                    };
                    let max_depth = max_depth_m(&shape, &reps);
                    let max_alt = reps.iter().map(|(_, p, _)| p[2]).fold(f64::MIN, f64::max);
                    let entered_at = ts(start, since);
                    let permit = permit_for(&scenario.permits, tgt, &zone.name, entered_at);
                    let id = format!("truth-{}-{}-{}", zone.name, tgt.id, entered_at.as_micros());
                    let incident = Incident {
                        id,
                        zone: &zone.name,
                        target: tgt,
                        classification,
                        authorised: permit.is_some(),
                        permit: permit.map(|p| p.reason.as_str()),
                        status,
                        entry_observed,
                        entered_at: entered_at.to_rfc3339_millis(),
                        exited_at,
                        last_seen_at: ts(start, last_seen).to_rfc3339_millis(),
                        entry: point(entry_p, flight),
                        exit,
                        duration_s: ((end - since) * 10.0).round() / 10.0,
                        max_depth_m: max_depth.round(),
                        max_alt_ft: (!flight.no_altitude).then(|| max_alt.round() as i64),
                        reports: reps.len(),
                        cooperative: subject.cooperative,
                        sensors: &subject.sensors,
                        operator: subject.operator.as_ref(),
                    };
                    let text = serde_json::to_string(&incident).unwrap_or_default();
                    lines.push((entered_at.as_micros(), text));
                }
            }
            if zone.buffer_m > 0.0 {
                for (t, p) in approaches(&shape, zone, flight, log, det.track_timeout_s) {
                    let at = ts(start, t);
                    let line = Approach {
                        event: "approach",
                        zone: &zone.name,
                        target: tgt,
                        classification,
                        at: at.to_rfc3339_millis(),
                        position: point(p, flight),
                        distance_m: shape.distance_m(p[0], p[1]).round(),
                    };
                    let text = serde_json::to_string(&line).unwrap_or_default();
                    lines.push((at.as_micros(), text));
                }
            }
        }
    }
    lines.sort();
    lines.into_iter().map(|(_, l)| l).collect()
}

/// The largest depth over the reports' broadcast positions, skipping reports that cannot beat the maximum
/// (depth changes by at most the distance moved).
fn max_depth_m(shape: &Shape, reps: &[&Report]) -> f64 {
    let mut best = 0.0f64;
    let mut anchor: Option<([f64; 2], f64)> = None;
    for p in reps.iter().map(|r| r.2) {
        if let Some((a, d)) = anchor
            && d + distance_m(a[0], a[1], p[0], p[1]) * 1.01 <= best
        {
            continue;
        }
        let d = shape.distance_m(p[0], p[1]);
        best = best.max(d);
        anchor = Some((p, d));
    }
    best
}

/// Times and true positions of approach warnings for one flight and zone: a report at
/// an altitude the zone covers, laterally outside it and within its buffer band, when the target was neither inside nor
/// in the band during the preceding `timeout_s` (so a target that lingers near the
/// border, or has just left the zone, is not warned about again).
fn approaches(
    shape: &Shape,
    zone: &Zone,
    flight: &Flight,
    log: &FlightLog,
    timeout_s: f64,
) -> Vec<(f64, [f64; 3])> {
    let mut out = Vec::new();
    let mut last_near: Option<f64> = None;
    let mut anchor: Option<([f64; 3], f64)> = None;
    for &(t, p, _) in &log.reports {
        // Only a target at an altitude the zone covers can approach it.
        let alt_ok = flight.no_altitude
            || (zone.floor_ft.is_none_or(|f| p[2] >= f64::from(f))
                && zone.ceiling_ft.is_none_or(|c| p[2] <= f64::from(c)));
        if !alt_ok {
            continue;
        }
        if shape.contains(p[0], p[1]) {
            last_near = Some(t);
            anchor = None;
            continue;
        }
        // Skip the distance computation while the target cannot have reached the band
        // (the distance to the boundary changes by at most the distance moved).
        let far = anchor
            .is_some_and(|(a, d)| d - distance_m(a[0], a[1], p[0], p[1]) * 1.01 > zone.buffer_m);
        if far {
            continue;
        }
        let d = shape.distance_m(p[0], p[1]);
        anchor = Some((p, d));
        if d <= zone.buffer_m {
            if last_near.is_none_or(|n| t - n > timeout_s) {
                out.push((t, p));
            }
            last_near = Some(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinematics::AircraftKind;
    use crate::scenario::{Detection, Surveillance};
    use geo_types::{LineString, MultiPolygon, Polygon};
    use proptest::prelude::*;
    use skyfence_core::Icao24;

    /// A 0.2° square (70.0–70.2 E, 34.0–34.2 N), surface to 5,000 ft, 1 km band.
    fn square_zone() -> Zone {
        let ring = LineString::from(vec![
            (70.0, 34.0),
            (70.2, 34.0),
            (70.2, 34.2),
            (70.0, 34.2),
            (70.0, 34.0),
        ]);
        let mut z = super::super::borders::zone(
            "SQ".into(),
            MultiPolygon(vec![Polygon::new(ring, vec![])]),
            "test",
            None,
        );
        z.ceiling_ft = Some(5_000);
        z.buffer_m = 1_000.0;
        z
    }

    /// A flight due east along 34.1 N from 69.9 E to 70.3 E at 100 m/s and `alt_ft`,
    /// every squitter heard (2 Hz positions).
    fn eastbound(icao: u32, alt_ft: f64) -> (Flight, FlightLog) {
        let mut f = Flight::new(
            Icao24::from_u32_masked(icao),
            AircraftKind::MaleUav,
            34.1,
            69.9,
            90.0,
        );
        f.callsign = skyfence_core::Callsign::new(b"TEST1");
        // 0.4° of longitude at 34.1 N ≈ 36.9 km: 369 s at 100 m/s.
        let lon_per_s = 0.4 / 369.0;
        let n = 3690;
        let samples: Vec<[f64; 3]> = (0..=n)
            .map(|k| [34.1, 69.9 + lon_per_s * k as f64 * SAMPLE_S, alt_ft])
            .collect();
        let mut log = FlightLog {
            t0_s: 0.0,
            samples,
            ..FlightLog::default()
        };
        for k in 0..738 {
            let t = k as f64 * 0.5;
            let p = log.at(t);
            log.reports.push((t, p, [p[0], p[1]]));
            log.heard.push(t);
        }
        (f, log)
    }

    fn modes_only(logs: &[FlightLog]) -> Logs<'_> {
        Logs {
            modes: logs,
            radar: &[],
            remoteid: &[],
        }
    }

    fn scenario(flights: Vec<Flight>) -> Scenario {
        Scenario {
            name: "t".into(),
            description: String::new(),
            start: Timestamp::from_secs(1_700_000_000),
            duration_s: 369.0,
            detection: Detection::default(),
            surveillance: Surveillance::default(),
            zones: vec![square_zone()],
            receivers: Vec::new(),
            radars: Vec::new(),
            tracker: None,
            remoteid_receivers: Vec::new(),
            permits: Vec::new(),
            flights,
            truth: true,
            step_s: SAMPLE_S,
        }
    }

    #[test]
    fn crossing_below_the_ceiling_is_an_incident_above_it_is_not() {
        let (low, low_log) = eastbound(0x700001, 1_000.0);
        let (high, high_log) = eastbound(0x700002, 10_000.0);
        let s = scenario(vec![low, high]);
        let lines = truth_lines(&s, &modes_only(&[low_log, high_log]), 368.5);
        let v: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let incidents: Vec<_> = v.iter().filter(|x| x.get("event").is_none()).collect();
        assert_eq!(incidents.len(), 1, "{lines:?}");
        let i = incidents[0];
        assert_eq!(i["target"]["icao24"], "700001");
        assert_eq!(i["status"], "closed");
        assert_eq!(i["entry_observed"], true);
        assert_eq!(i["classification"], "uav");
        // Entry at 70.0 E: 0.1° / (0.4° / 369 s) = 92.25 s after the start.
        assert_eq!(i["entered_at"], "2023-11-14T22:14:52.250Z");
        assert_eq!(i["entry"]["lon"], 70.0);
        // Exit at 70.2 E: 276.75 s.
        assert_eq!(i["exited_at"], "2023-11-14T22:17:56.750Z");
        assert_eq!(i["duration_s"], 184.5);
        // Deepest at the centre: 0.1° of longitude at 34.1 N on WGS-84 = 0.1 × N(φ) cos φ
        // × π/180 with N = 6 384 860 m, cos φ = 0.828 02: 9 227 m.
        let depth = i["max_depth_m"].as_f64().unwrap();
        assert!((depth - 9_227.0).abs() < 2.0, "{depth}");
        // Reports at 92.5 … 276.5 s.
        assert_eq!(i["reports"], 369);
        // One approach warning, for the low flight 1 km before its entry (at 82.5 s, the
        // first report in the band): the high one flies above the zone's ceiling.
        let approaches: Vec<_> = v.iter().filter(|x| x["event"] == "approach").collect();
        assert_eq!(approaches.len(), 1, "{lines:?}");
        assert_eq!(approaches[0]["target"]["icao24"], "700001");
        assert_eq!(approaches[0]["at"], "2023-11-14T22:14:42.500Z");
    }

    #[test]
    fn silence_inside_loses_the_track_and_reappearing_opens_another() {
        let (f, mut log) = eastbound(0x700003, 1_000.0);
        // Silent from 150 s to 230 s (80 s > 60 s timeout), inside the zone.
        log.reports.retain(|(t, ..)| !(150.0..230.0).contains(t));
        log.heard.retain(|t| !(150.0..230.0).contains(t));
        let s = scenario(vec![f]);
        let lines = truth_lines(&s, &modes_only(&[log]), 368.5);
        let v: Vec<serde_json::Value> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .filter(|x: &serde_json::Value| x.get("event").is_none())
            .collect();
        assert_eq!(v.len(), 2, "{lines:?}");
        assert_eq!(v[0]["status"], "lost");
        assert_eq!(v[0]["last_seen_at"], "2023-11-14T22:15:49.500Z");
        assert_eq!(v[1]["entry_observed"], false);
        assert_eq!(v[1]["entered_at"], "2023-11-14T22:17:10.000Z");
        assert_eq!(v[1]["status"], "closed");
    }

    proptest! {
        /// The pruned depth maximum equals the maximum over every report.
        #[test]
        fn pruned_max_depth_equals_brute_force(
            pts in proptest::collection::vec((34.0f64..34.2, 70.0f64..70.2), 1..60)
        ) {
            let shape = Shape::new(&square_zone());
            let reps: Vec<Report> = pts
                .iter()
                .enumerate()
                .map(|(i, &(lat, lon))| (i as f64, [lat, lon, 0.0], [lat, lon]))
                .collect();
            let refs: Vec<&Report> = reps.iter().collect();
            let brute = reps
                .iter()
                .map(|(_, _, p)| shape.distance_m(p[0], p[1]))
                .fold(0.0, f64::max);
            prop_assert!((max_depth_m(&shape, &refs) - brute).abs() < 1e-6);
        }
    }

    #[test]
    fn glob_matches_like_a_shell() {
        assert!(glob("PIA*", "PIA301"));
        assert!(glob("pia*", "PIA301"));
        assert!(!glob("PIA*", "UAE612"));
        assert!(glob("7?0*", "700a01"));
        assert!(glob("*", ""));
        assert!(glob("*01", "700a01"));
        assert!(!glob("*02", "700a01"));
    }

    #[test]
    fn tracks_split_at_timeout() {
        assert_eq!(
            tracks(&[0.0, 1.0, 30.0, 95.0, 96.0], 60.0),
            vec![(0.0, 30.0), (95.0, 96.0)]
        );
    }
}
