//! The cases the detection requirements name, each a test, run on the real `AirspaceIndex`.
//!
//! Zones are small boxes near the Afghanistan–Pakistan border (70°E–71°E × 33°N–34°N);
//! flights are synthetic with hand-computed expectations (each test says how).

mod detect_support;

use detect_support::*;
use skyfence_core::airspace::geodesy::geodesic_distance_m;
use skyfence_core::detect::{
    Classification, DetectionConfig, Detector, Event, Glob, IncidentStatus, Permit, Report,
};
use skyfence_core::{GeoPoint, Icao24, Observation, TargetId};

/// The flight of `crossing_point_interpolation_values`: in across lon 70 at t = 1 s,
/// east along lat 33.5, out across lon 71 at t = 234.5 s.
fn crossing_flight() -> Vec<Observation> {
    let a = icao();
    let mut obs = vec![
        ident(a, -10.0, "FORTE12", "B6"),
        pos(a, 0.0, 33.5, 69.99, Some(30_000)),
    ];
    for k in 0..=115 {
        obs.push(pos(
            a,
            2.0 + 2.0 * k as f64,
            33.5,
            70.01 + 0.0085 * k as f64,
            Some(31_000),
        ));
    }
    obs.push(pos(a, 234.0, 33.5, 70.995, Some(31_000)));
    obs.push(pos(a, 236.0, 33.5, 71.015, Some(32_000)));
    obs
}

#[test]
fn crossing_point_interpolation_values() {
    let mut det = detector(box_zone(), vec![]);
    let (events, incidents) = run(&mut det, &crossing_flight());
    assert_eq!(kinds(&events), ["confirmed", "closed"]);
    // Entered at fraction 0.5 of 0 s → 2 s: t = 1 s, 5 s later (t = 6 s) confirmed.
    assert_eq!(events[0].at(), at(6.0));
    assert_eq!(events[1].at(), at(236.0));
    let i = &incidents[0];
    assert_eq!(i.status, IncidentStatus::Closed);
    assert!(i.entry_observed);
    assert_eq!(i.entered_at, at(1.0));
    assert_eq!(
        (i.entry.lat, i.entry.lon, i.entry.alt_ft),
        (33.5, 70.0, Some(30_500))
    );
    // Exit at fraction 0.25 of 70.995 → 71.015 (234 s → 236 s, 31 000 → 32 000 ft).
    assert_eq!(i.exited_at, Some(at(234.5)));
    let exit = i.exit.unwrap();
    assert_eq!(
        (exit.lat, exit.lon, exit.alt_ft),
        (33.5, 71.0, Some(31_250))
    );
    assert_eq!(i.last_seen_at, at(234.0));
    assert_eq!(i.duration_s, 233.5);
    assert_eq!(i.reports, 117);
    assert_eq!(i.max_alt_ft, Some(31_000));
    assert_eq!(i.classification, Classification::Uav);
    // Deepest report: lon 70.503 (k = 58), 0.497° from the east edge.
    let expected = geodesic_distance_m(33.5, 70.503, 33.5, 71.0);
    assert!(
        (i.max_depth_m - expected).abs() < expected * 2e-3,
        "{} vs {expected}",
        i.max_depth_m
    );
    // The contract of docs/INTERFACES.md, byte for byte (id: printf
    // 'skyfence-incident-v1\nadf7c1\nBOX\n1700000001000' | sha256sum, first 16 digits).
    let json = serde_json::to_string(i).unwrap();
    let expected_json = format!(
        concat!(
            r#"{{"id":"3525d017336c49b4","zone":"BOX","target":{{"kind":"icao","id":"adf7c1","icao24":"adf7c1","callsign":"FORTE12","category":"B6"}},"#,
            r#""classification":"uav","authorised":false,"permit":null,"status":"closed","entry_observed":true,"#,
            r#""entered_at":"2023-11-14T22:13:21.000Z","exited_at":"2023-11-14T22:17:14.500Z","last_seen_at":"2023-11-14T22:17:14.000Z","#,
            r#""entry":{{"lat":33.5,"lon":70.0,"alt_ft":30500}},"exit":{{"lat":33.5,"lon":71.0,"alt_ft":31250}},"#,
            r#""duration_s":233.5,"max_depth_m":{},"max_alt_ft":31000,"reports":117,"cooperative":true}}"#
        ),
        i.max_depth_m
    );
    assert_eq!(json, expected_json);
}

#[test]
fn a_rerun_gives_the_same_incidents() {
    let a = run(&mut detector(box_zone(), vec![]), &crossing_flight()).1;
    let b = run(&mut detector(box_zone(), vec![]), &crossing_flight()).1;
    assert_eq!(a, b);
}

#[test]
fn jitter_along_a_border_gives_no_incident() {
    // Along the west edge (lon 70) for 10 minutes, position noise of ±0.0004° (≈ 37 m)
    // putting it inside for at most 3 reports (< 3 s) at a time.
    let pattern = [1, 1, -1, 1, -1, -1, 1, 1, 1, -1];
    let obs: Vec<Observation> = (0..600)
        .map(|k| {
            let side = pattern[k % pattern.len()] as f64;
            pos(
                icao(),
                k as f64,
                33.2 + 0.001 * k as f64,
                70.0 + 0.0004 * side,
                Some(20_000),
            )
        })
        .collect();
    let mut det = detector(box_zone(), vec![]);
    let (events, incidents) = run(&mut det, &obs);
    assert!(events.is_empty(), "{events:?}");
    assert!(incidents.is_empty());
    // Three stays inside per 10 reports, none confirmed.
    assert_eq!(det.stats().unconfirmed_entries, 3 * 60);
    assert_eq!(det.stats().accepted_positions, 600);
}

#[test]
fn a_spoofed_jump_gives_no_incident() {
    // West of the zone at ~93 m/s; single jumps 90 km into the zone, then a consistent
    // spoofed track inside interleaved with the real one: never accepted.
    let mut obs = flight(
        icao(),
        0.0,
        300.0,
        1.0,
        (33.5, 69.5),
        (33.5, 69.8),
        Some(30_000),
    );
    obs.insert(101, pos(icao(), 100.5, 33.5, 70.5, Some(30_000)));
    for k in 0..20 {
        let t = 200.5 + k as f64;
        let o = pos(icao(), t, 33.5, 70.5 + 0.001 * k as f64, Some(30_000));
        let i = obs.iter().position(|x| x.at > o.at).unwrap();
        obs.insert(i, o);
    }
    let mut det = detector(box_zone(), vec![]);
    let (events, incidents) = run(&mut det, &obs);
    assert!(events.is_empty(), "{events:?}");
    assert!(incidents.is_empty());
    assert_eq!(det.stats().implausible_motion, 21);
    assert_eq!(det.stats().accepted_positions, 301);
    assert_eq!(
        det.tracks()
            .get(skyfence_core::TargetId::Icao(icao()))
            .unwrap()
            .last_report()
            .unwrap()
            .pos,
        GeoPoint::new(33.5, 69.8)
    );
}

#[test]
fn lost_then_heard_again_inside_gives_two_incidents() {
    let a = icao();
    let mut obs = vec![pos(a, 0.0, 33.5, 69.99, Some(30_000))];
    for k in 0..10 {
        obs.push(pos(
            a,
            2.0 + 2.0 * k as f64,
            33.5,
            70.01 + 0.0085 * k as f64,
            Some(30_000),
        ));
    }
    // Silent from t = 20 s to t = 150 s (> track_timeout_s = 60), back deeper inside.
    for k in 0..10 {
        obs.push(pos(
            a,
            150.0 + 2.0 * k as f64,
            33.6,
            70.4 + 0.0085 * k as f64,
            Some(30_000),
        ));
    }
    let mut det = detector(box_zone(), vec![]);
    let (events, incidents) = run(&mut det, &obs);
    assert_eq!(kinds(&events), ["confirmed", "lost", "confirmed"]);
    // Lost at the last report inside + 60 s.
    assert_eq!(events[1].at(), at(80.0));
    // The second stay was first heard at 150 s: confirmed on the report 5 s later or more.
    assert_eq!(events[2].at(), at(156.0));
    assert_eq!(incidents.len(), 2);
    let (first, second) = (&incidents[0], &incidents[1]);
    assert_eq!(first.status, IncidentStatus::Lost);
    assert!(first.entry_observed);
    assert_eq!(first.entered_at, at(1.0));
    assert_eq!(first.last_seen_at, at(20.0));
    assert_eq!((first.exit, first.exited_at), (None, None));
    assert_eq!(first.duration_s, 19.0);
    assert_eq!(first.reports, 10);
    assert_eq!(second.status, IncidentStatus::Open);
    assert!(!second.entry_observed);
    assert_eq!(second.entered_at, at(150.0));
    assert_eq!((second.entry.lat, second.entry.lon), (33.6, 70.4));
    assert_eq!(second.reports, 10);
    assert_ne!(first.id, second.id);
}

#[test]
fn above_a_zones_ceiling_gives_no_incident() {
    let zones = index(&[feature(
        "LOW",
        &[&rect(70.0, 33.0, 71.0, 34.0)],
        None,
        Some(10_000),
        0.0,
    )]);
    let obs = flight(
        icao(),
        0.0,
        600.0,
        2.0,
        (33.5, 69.9),
        (33.5, 71.1),
        Some(35_000),
    );
    let mut det = detector(zones, vec![]);
    let (events, _) = run(&mut det, &obs);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn descending_through_the_ceiling_enters_where_the_altitude_crosses_it() {
    let zones = index(&[feature(
        "LOW",
        &[&rect(70.0, 33.0, 71.0, 34.0)],
        None,
        Some(10_000),
        0.0,
    )]);
    let a = icao();
    let mut obs = vec![
        pos(a, 0.0, 33.5, 70.5, Some(10_600)),
        pos(a, 2.0, 33.5, 70.51, Some(9_800)),
    ];
    for k in 1..=5 {
        obs.push(pos(
            a,
            2.0 + 2.0 * k as f64,
            33.5,
            70.51 + 0.01 * k as f64,
            Some(9_000),
        ));
    }
    let (events, incidents) = run(&mut detector(zones, vec![]), &obs);
    assert_eq!(kinds(&events), ["confirmed"]);
    // Fraction (10 600 − 10 000) / 800 = 0.75 of the step.
    let i = &incidents[0];
    assert!(i.entry_observed);
    assert_eq!(i.entered_at, at(1.5));
    assert_eq!(
        (i.entry.lat, i.entry.lon, i.entry.alt_ft),
        (33.5, 70.5075, Some(10_000))
    );
    assert_eq!(i.max_alt_ft, Some(9_800));
}

#[test]
fn enclaves_and_holes() {
    let hole = rect(70.4, 33.4, 70.6, 33.6);
    let zones = index(&[feature(
        "HOLED",
        &[&rect(70.0, 33.0, 71.0, 34.0), &hole],
        None,
        None,
        0.0,
    )]);
    // Entirely inside the hole (an enclave of other sovereignty): nothing.
    let enclave = flight(
        icao(),
        0.0,
        100.0,
        1.0,
        (33.5, 70.45),
        (33.5, 70.55),
        Some(20_000),
    );
    let mut det = detector(zones.clone(), vec![]);
    assert!(run(&mut det, &enclave).0.is_empty());

    // First heard inside the zone at lon 70.2, east into the hole: closed at its edge,
    // fraction (70.4 − 70.395) / 0.015 = 1/3 of the step from 26 s to 28 s.
    let b = Icao24::new(0x750001).unwrap();
    let obs: Vec<Observation> = (0..=16)
        .map(|k| {
            pos(
                b,
                2.0 * k as f64,
                33.5,
                70.2 + 0.015 * k as f64,
                Some(20_000),
            )
        })
        .collect();
    let mut det = detector(zones, vec![]);
    let (events, incidents) = run(&mut det, &obs);
    assert_eq!(kinds(&events), ["confirmed", "closed"]);
    let i = &incidents[0];
    assert!(!i.entry_observed);
    assert_eq!(i.entered_at, at(0.0));
    let exited = i.exited_at.unwrap();
    assert!(
        (exited.micros_since(at(26.0)) - 666_667).abs() <= 1,
        "{exited}"
    );
    assert_eq!(i.exit.unwrap().lon, 70.4);
    assert_eq!(i.reports, 14);
    // Depth counts the hole's edge as boundary: the deepest report is the first (lon 70.2,
    // 0.2° from both the west edge and the hole), not ~0.4° as without the hole.
    let expected = geodesic_distance_m(33.5, 70.2, 33.5, 70.0);
    assert!(
        (i.max_depth_m - expected).abs() < expected * 2e-3,
        "{} vs {expected}",
        i.max_depth_m
    );
}

#[test]
fn a_permit_with_a_validity_window() {
    let permit = Permit {
        icao24: None,
        id: None,
        kind: None,
        callsign: Some(Glob::new("PIA*")),
        zone: Some(Glob::new("B?X")),
        reason: "overflight permit 2023/114".into(),
        from: Some(at(-86_400.0)),
        until: Some(at(3_600.0)),
    };
    permit.validate().unwrap();
    let (a, b, c) = (
        Icao24::new(0x760001).unwrap(),
        Icao24::new(0x760002).unwrap(),
        Icao24::new(0x484001).unwrap(),
    );
    let through = |who: Icao24, start: f64| {
        flight(
            who,
            start,
            200.0,
            2.0,
            (33.5, 69.99),
            (33.5, 70.5),
            Some(30_000),
        )
    };
    let mut obs = vec![ident(a, -1.0, "PIA301", "A3")];
    obs.extend(through(a, 0.0)); // inside the window
    obs.push(ident(c, 1_000.0, "KLM7", "A5"));
    obs.extend(through(c, 1_000.0)); // inside the window, other callsign
    obs.push(ident(b, 7_199.0, "PIA302", "A3"));
    obs.extend(through(b, 7_200.0)); // after the window
    let mut det = detector(box_zone(), vec![permit]);
    let (_, incidents) = run(&mut det, &obs);
    let by = |who: Icao24| {
        incidents
            .iter()
            .find(|i| i.target.icao().unwrap() == who)
            .unwrap()
    };
    assert!(by(a).authorised);
    assert_eq!(by(a).permit.as_deref(), Some("overflight permit 2023/114"));
    assert_eq!(by(a).classification, Classification::Aircraft);
    assert!(!by(c).authorised);
    assert_eq!(by(c).permit, None);
    assert!(!by(b).authorised);
    assert_eq!(by(b).target.callsign.unwrap().as_str(), "PIA302");
}

#[test]
fn a_target_with_no_altitude() {
    // Floor 1 000 ft, ceiling 5 000 ft: an unknown altitude counts as inside.
    let zones = index(&[feature(
        "MID",
        &[&rect(70.0, 33.0, 71.0, 34.0)],
        Some(1_000),
        Some(5_000),
        0.0,
    )]);
    let obs = flight(icao(), 0.0, 100.0, 2.0, (33.5, 69.99), (33.5, 70.4), None);
    let (events, incidents) = run(&mut detector(zones, vec![]), &obs);
    assert_eq!(kinds(&events), ["confirmed"]);
    let i = &incidents[0];
    assert_eq!(i.status, IncidentStatus::Open);
    assert_eq!(i.entry.alt_ft, None);
    assert_eq!(i.max_alt_ft, None);
    assert_eq!(i.classification, Classification::Unknown);
    assert_eq!(i.target.callsign, None);
    let v = serde_json::to_value(i).unwrap();
    assert_eq!(v["entry"]["alt_ft"], serde_json::Value::Null);
    assert_eq!(v["max_alt_ft"], serde_json::Value::Null);
    assert_eq!(v["exit"], serde_json::Value::Null);
}

#[test]
fn approach_is_announced_once_in_the_buffer_band() {
    let zones = index(&[feature(
        "BUF",
        &[&rect(70.0, 33.0, 71.0, 34.0)],
        None,
        None,
        10_000.0,
    )]);
    // Toward the west edge, stopping 0.05° (≈ 4.6 km) short of it; the band starts
    // 10 km out, at lon ≈ 69.892.
    let obs = flight(
        icao(),
        0.0,
        250.0,
        1.0,
        (33.5, 69.70),
        (33.5, 69.95),
        Some(30_000),
    );
    let mut det = detector(zones, vec![]);
    let (events, incidents) = run(&mut det, &obs);
    assert_eq!(kinds(&events), ["approach"]);
    assert!(incidents.is_empty());
    let Event::Approach {
        zone,
        position,
        at: when,
        target,
    } = &events[0]
    else {
        unreachable!()
    };
    assert_eq!(zone, "BUF");
    assert_eq!(target.icao(), Some(icao()));
    let edge_lon = 70.0 - 10_000.0 / geodesic_distance_m(33.5, 69.0, 33.5, 70.0);
    assert!(
        position.lon >= edge_lon && position.lon < edge_lon + 0.0011,
        "{position:?}"
    );
    assert_eq!(
        *when,
        obs.iter()
            .find(|o| o.position.unwrap().lon == position.lon)
            .unwrap()
            .at
    );
}

#[test]
fn silence_is_noticed_by_other_traffic_and_by_tick() {
    let a = icao();
    let far = Icao24::new(0x3c6444).unwrap();
    let mut obs = flight(a, 0.0, 20.0, 2.0, (33.5, 69.99), (33.5, 70.1), Some(30_000));
    // Another target far from the zone keeps the clock moving.
    obs.extend(flight(
        far,
        22.0,
        100.0,
        2.0,
        (40.0, 10.0),
        (40.0, 10.2),
        Some(30_000),
    ));
    let mut det = detector(box_zone(), vec![]);
    let mut events = Vec::new();
    for o in &obs {
        det.observe(o, &mut events);
    }
    assert_eq!(kinds(&events), ["confirmed", "lost"]);
    assert_eq!(events[1].at(), at(80.0));

    // Live use: a tick does the same without traffic.
    let mut det = detector(box_zone(), vec![]);
    let mut events = Vec::new();
    for o in &obs[..11] {
        det.observe(o, &mut events);
    }
    det.tick(at(79.0), &mut events);
    assert_eq!(kinds(&events), ["confirmed"]);
    det.tick(at(81.0), &mut events);
    assert_eq!(kinds(&events), ["confirmed", "lost"]);
    assert_eq!(events[1].at(), at(80.0));
    assert_eq!(det.tracks().len(), 0);
    assert_eq!(det.stats().tracks_expired, 1);
}

#[test]
fn out_of_order_positions_are_dropped() {
    let a = icao();
    let obs = [
        pos(a, 10.0, 33.5, 69.0, None),
        pos(a, 9.0, 33.5, 70.5, None),
    ];
    let mut det = detector(box_zone(), vec![]);
    run(&mut det, &obs);
    assert_eq!(det.stats().out_of_order, 1);
    assert_eq!(det.stats().accepted_positions, 1);
}

#[test]
fn a_resumed_incident_keeps_its_id() {
    let obs = crossing_flight();
    let mut first = detector(box_zone(), vec![]);
    let (_, open) = run(&mut first, &obs[..50]);
    assert_eq!(open[0].status, IncidentStatus::Open);
    let last = obs[49].clone();
    let mut second = detector(box_zone(), vec![]);
    second
        .resume(
            &open[0],
            Report {
                at: last.at,
                pos: last.position.unwrap(),
                alt_ft: Some(31_000),
            },
        )
        .unwrap();
    let (events, incidents) = run(&mut second, &obs[50..]);
    assert_eq!(kinds(&events), ["closed"]);
    let whole = run(&mut detector(box_zone(), vec![]), &obs).1;
    assert_eq!(incidents[0].id, whole[0].id);
    assert_eq!(incidents[0].reports, whole[0].reports);
    assert_eq!(incidents[0].exited_at, whole[0].exited_at);
}

#[test]
fn a_live_track_stays_under_one_kilobyte() {
    // 10 000 targets, each inside the zone and near a buffered second zone.
    let zones = index(&[
        feature("BOX", &[&rect(70.0, 33.0, 71.0, 34.0)], None, None, 0.0),
        feature(
            "NEAR",
            &[&rect(71.0, 33.0, 72.0, 34.0)],
            None,
            None,
            50_000.0,
        ),
    ]);
    let mut det = Detector::new(zones, DetectionConfig::default(), vec![]);
    let mut events = Vec::new();
    for k in 0..10_000u32 {
        let who = Icao24::new(0x100000 + k).unwrap();
        for s in 0..2 {
            let o = pos(who, s as f64, 33.1 + 0.00008 * k as f64, 70.8, Some(30_000));
            det.observe(&o, &mut events);
        }
    }
    let tracks = det.tracks();
    assert_eq!(tracks.len(), 10_000);
    let per_track = tracks.bytes() / tracks.len();
    assert!(per_track <= 1024, "{per_track} bytes per track");
}

#[test]
fn the_track_keeps_the_last_nacp() {
    // NACp arrives in its own ADS-B messages (operational status / target state), not
    // with positions: the track keeps the last one announced until another replaces it.
    let mut det = detector(box_zone(), vec![]);
    let mut events = Vec::new();
    det.observe(&pos(icao(), 0.0, 33.1, 70.8, Some(30_000)), &mut events);
    let nacp = |det: &skyfence_core::detect::Detector| {
        det.tracks()
            .get(skyfence_core::TargetId::Icao(icao()))
            .and_then(|t| t.nacp())
    };
    assert_eq!(nacp(&det), None);
    let mut status = Observation::new(icao(), at(1.0));
    status.nacp = Some(9);
    det.observe(&status, &mut events);
    det.observe(&pos(icao(), 2.0, 33.1, 70.81, Some(30_000)), &mut events);
    assert_eq!(nacp(&det), Some(9));
    status.at = at(3.0);
    status.nacp = Some(10);
    det.observe(&status, &mut events);
    assert_eq!(nacp(&det), Some(10));
}

/// An incident names every sensor whose reports counted inside the zone, sorted: an
/// aircraft seen by a Mode S receiver and a radar is one target with both; a report
/// before the entry, from a third sensor, does not count; a report without a named
/// sensor adds none. A resumed incident keeps its sensors.
#[test]
fn incidents_list_the_sensors_of_their_reports_inside() {
    let a = icao();
    let name = |s: &str| Some(skyfence_core::ShortName::new(s).unwrap());
    let mut obs = Vec::new();
    let mut o = pos(a, 0.0, 33.5, 69.99, Some(30_000));
    o.sensor = name("outside-rx");
    obs.push(o);
    for k in 0..20 {
        let mut o = pos(
            a,
            2.0 + k as f64,
            33.5,
            70.01 + 0.001 * k as f64,
            Some(30_000),
        );
        o.sensor = match k % 4 {
            0 => name("kabul-psr"),
            1 => None,
            _ => name("adsb-1"),
        };
        obs.push(o);
    }
    let mut det = detector(box_zone(), vec![]);
    let (_, incidents) = run(&mut det, &obs);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].sensors, ["adsb-1", "kabul-psr"]);
    assert_eq!(incidents[0].cooperative, Some(true));

    // After a restart the incident continues with the same sensors, and a new one
    // joins them.
    let mut det2 = detector(box_zone(), vec![]);
    let last = obs.last().unwrap();
    det2.resume(
        &incidents[0],
        Report {
            at: last.at,
            pos: last.position.unwrap(),
            alt_ft: Some(30_000),
        },
    )
    .unwrap();
    let mut o = pos(a, 30.0, 33.5, 70.05, Some(30_000));
    o.sensor = name("peshawar-psr");
    let (_, incidents) = run(&mut det2, &[o]);
    assert_eq!(
        incidents[0].sensors,
        ["adsb-1", "kabul-psr", "peshawar-psr"]
    );
}

/// A detector handing targets over (a cluster node's partition moved away) forgets
/// their tracks without an event, even when they are inside a zone with an open
/// incident; the other targets go on, and the forgotten ones are never reported lost.
#[test]
fn released_targets_are_forgotten_without_an_event() {
    let (a, b) = (icao(), Icao24::new(0x4840d6).unwrap());
    let mut det = detector(box_zone(), vec![]);
    let mut obs = Vec::new();
    for k in 0..10 {
        for t in [a, b] {
            obs.push(pos(
                t,
                k as f64,
                33.5,
                70.01 + 0.001 * k as f64,
                Some(30_000),
            ));
        }
    }
    let mut events = Vec::new();
    for o in &obs {
        det.observe(o, &mut events);
    }
    assert_eq!(det.open_incidents().len(), 2);
    let forgotten = det.release(|t| t != TargetId::Icao(b));
    assert_eq!(forgotten, 1);
    assert!(det.tracks().get(TargetId::Icao(b)).is_none());
    let open = det.open_incidents();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].target.id, TargetId::Icao(a));
    // Long silence: only `a`'s incident is lost; `b` is not this detector's any more.
    events.clear();
    det.tick(at(10_000.0), &mut events);
    assert_eq!(kinds(&events), ["lost"]);
    assert_eq!(det.release(|_| true), 0);
}
