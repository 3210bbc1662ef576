//! Model-based property test of the incursion state machine ("Verified").
//!
//! Random sequences of reports inside / outside the zone "BOX" with random gaps (some
//! longer than `track_timeout_s`), for two targets interleaved in time, run through the
//! detector and through a small reference model written directly from docs/INTERFACES.md's
//! rules. Reports alternate between lon 69.99 (outside) and 70.01 (inside) across the
//! zone's west edge (lon 70), so every observed crossing is at the step's midpoint.

mod detect_support;

use std::collections::HashMap;

use detect_support::*;
use proptest::prelude::*;
use skyfence_core::detect::{
    DetectionConfig, Detector, Event, IncidentId, IncidentLog, IncidentStatus,
};
use skyfence_core::{Icao24, Observation, Timestamp};

const CONFIRM_US: i64 = 5_000_000;
const TIMEOUT_US: i64 = 60_000_000;

/// What the model expects of one incident.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    status: IncidentStatus,
    entered_at: Timestamp,
    entry_observed: bool,
    exited_at: Option<Timestamp>,
    last_seen_at: Timestamp,
    reports: u32,
}

/// The reference model: one target's reports `(time, inside)`, with the input ending at
/// `end` → its incidents.
fn model(reports: &[(Timestamp, bool)], end: Timestamp) -> Vec<Expected> {
    struct Stay {
        entered_at: Timestamp,
        observed: bool,
        reports: u32,
        confirmed: bool,
        last_seen_at: Timestamp,
    }
    let done = |s: &Stay, status, exited_at| Expected {
        status,
        entered_at: s.entered_at,
        entry_observed: s.observed,
        exited_at,
        last_seen_at: s.last_seen_at,
        reports: s.reports,
    };
    let mut out = Vec::new();
    let mut stay: Option<Stay> = None;
    let mut prev: Option<Timestamp> = None;
    for &(t, inside) in reports {
        if let Some(p) = prev
            && t.micros_since(p) > TIMEOUT_US
        {
            // Silent too long: a confirmed stay is lost, an unconfirmed one forgotten.
            if let Some(s) = stay.take()
                && s.confirmed
            {
                out.push(done(&s, IncidentStatus::Lost, None));
            }
            prev = None;
        }
        let mid = |p: Timestamp| p.add_micros(t.micros_since(p) / 2);
        if inside {
            let s = stay.get_or_insert_with(|| Stay {
                entered_at: prev.map_or(t, mid),
                observed: prev.is_some(),
                reports: 0,
                confirmed: false,
                last_seen_at: t,
            });
            s.reports += 1;
            s.last_seen_at = t;
            if s.reports >= 2 && t.micros_since(s.entered_at) >= CONFIRM_US {
                s.confirmed = true;
            }
        } else if let Some(s) = stay.take()
            && s.confirmed
        {
            out.push(done(&s, IncidentStatus::Closed, prev.map(mid)));
        }
        prev = Some(t);
    }
    if let Some(s) = stay
        && s.confirmed
    {
        // Still inside at the end of the input, unless already silent too long.
        let status = if end.micros_since(s.last_seen_at) > TIMEOUT_US {
            IncidentStatus::Lost
        } else {
            IncidentStatus::Open
        };
        out.push(done(&s, status, None));
    }
    out
}

/// Gaps between reports, seconds: mostly short, sometimes exactly the timeout, sometimes
/// longer.
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![
        8 => prop::sample::select(vec![1i64, 2, 3, 4, 6]),
        1 => Just(60i64),
        1 => prop::sample::select(vec![61i64, 90, 300]),
    ]
}

/// One target's reports: (seconds since start, inside).
fn reports() -> impl Strategy<Value = Vec<(i64, bool)>> {
    prop::collection::vec((gap(), prop::bool::weighted(0.6)), 1..120).prop_map(|steps| {
        let mut t = 0;
        steps
            .into_iter()
            .map(|(g, inside)| {
                t += g;
                (t, inside)
            })
            .collect()
    })
}

fn observations(who: Icao24, reports: &[(i64, bool)]) -> Vec<Observation> {
    reports
        .iter()
        .enumerate()
        .map(|(k, &(t, inside))| {
            let lon = if inside { 70.01 } else { 69.99 };
            pos(who, t as f64, 33.2 + 0.0005 * k as f64, lon, Some(20_000))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_detector_follows_the_model(a in reports(), b in reports(), b_offset in 0i64..200) {
        let (ta, tb) = (Icao24::new(0xa00001).unwrap(), Icao24::new(0xb00002).unwrap());
        let b: Vec<(i64, bool)> = b.into_iter().map(|(t, i)| (t + b_offset, i)).collect();
        let mut obs = observations(ta, &a);
        obs.extend(observations(tb, &b));
        obs.sort_by_key(|o| o.at); // stable: equal times keep A before B

        let config = DetectionConfig {
            // The 0.02° steps (1.9 km) may take 1 s: only the state machine is under test.
            max_speed_mps: 5_000.0,
            ..DetectionConfig::default()
        };
        let mut det = Detector::new(box_zone(), config, vec![]);
        let mut events = Vec::new();
        for o in &obs {
            det.observe(o, &mut events);
        }
        let end = obs.last().unwrap().at;
        let open = det.finish(end, &mut events);

        // Invariants over the event stream, per (target, zone).
        let mut open_ids: HashMap<Icao24, IncidentId> = HashMap::new();
        let mut last_at: HashMap<Icao24, Timestamp> = HashMap::new();
        for e in &events {
            let i = e.incident().expect("BOX has no buffer: no approach events");
            let who = i.target.icao().unwrap();
            if let Some(t) = last_at.insert(who, e.at()) {
                prop_assert!(e.at() >= t, "event times decrease for {who}: {t} then {}", e.at());
            }
            match e {
                Event::Confirmed { .. } => {
                    prop_assert_eq!(i.status, IncidentStatus::Open);
                    prop_assert!(open_ids.insert(who, i.id).is_none(), "two open incidents");
                }
                Event::Closed { .. } | Event::Lost { .. } => {
                    prop_assert_eq!(open_ids.remove(&who), Some(i.id), "closed/lost without confirmed");
                }
                Event::Approach { .. } => unreachable!(),
            }
        }
        for i in &open {
            prop_assert_eq!(open_ids.get(&i.target.icao().unwrap()), Some(&i.id));
        }
        prop_assert_eq!(open_ids.len(), open.len());

        // The incidents against the model.
        let mut log = IncidentLog::new();
        events.iter().for_each(|e| log.record(e));
        let incidents = log.finish(open);
        for (who, reps) in [(ta, &a), (tb, &b)] {
            let got: Vec<Expected> = incidents
                .iter()
                .filter(|i| i.target.icao().unwrap() == who)
                .map(|i| Expected {
                    status: i.status,
                    entered_at: i.entered_at,
                    entry_observed: i.entry_observed,
                    exited_at: i.exited_at,
                    last_seen_at: i.last_seen_at,
                    reports: i.reports,
                })
                .collect();
            let timed: Vec<(Timestamp, bool)> = reps.iter().map(|&(t, i)| (at(t as f64), i)).collect();
            prop_assert_eq!(got, model(&timed, end), "target {}", who);
        }
    }
}
