//! Helpers shared by the detection tests: zones from GeoJSON text, observations, runs.
#![allow(dead_code)]

use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::airspace::load::parse_geojson;
use skyfence_core::detect::{DetectionConfig, Detector, Event, Incident, IncidentLog, Permit};
use skyfence_core::{
    Altitude, AltitudeDatum, Callsign, EmitterCategory, GeoPoint, Icao24, Observation, Timestamp,
};

/// 2023-11-14T22:13:20Z: the base time of every test flight.
pub const T0: i64 = 1_700_000_000;

/// A GeoJSON Polygon feature; `rings` are (lon, lat) rings, the exterior first.
pub fn feature(
    name: &str,
    rings: &[&[(f64, f64)]],
    floor_ft: Option<i32>,
    ceiling_ft: Option<i32>,
    buffer_m: f64,
) -> String {
    let rings: Vec<String> = rings
        .iter()
        .map(|r| {
            let pts: Vec<String> = r.iter().map(|(x, y)| format!("[{x},{y}]")).collect();
            format!("[{}]", pts.join(","))
        })
        .collect();
    let opt = |v: Option<i32>| v.map_or("null".to_string(), |v| v.to_string());
    format!(
        r#"{{"type":"Feature","properties":{{"name":"{name}","floor_ft":{},"ceiling_ft":{},"buffer_m":{buffer_m}}},"geometry":{{"type":"Polygon","coordinates":[{}]}}}}"#,
        opt(floor_ft),
        opt(ceiling_ft),
        rings.join(",")
    )
}

/// The closed ring of the box [lon0, lon1] × [lat0, lat1], counter-clockwise.
pub fn rect(lon0: f64, lat0: f64, lon1: f64, lat1: f64) -> Vec<(f64, f64)> {
    vec![
        (lon0, lat0),
        (lon1, lat0),
        (lon1, lat1),
        (lon0, lat1),
        (lon0, lat0),
    ]
}

/// An index over the features.
pub fn index(features: &[String]) -> AirspaceIndex {
    let text = format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    );
    AirspaceIndex::new(parse_geojson("test.geojson", &text).expect("test zones are valid"))
}

/// The zone "BOX": 70°E–71°E × 33°N–34°N, surface to unlimited, no buffer.
pub fn box_zone() -> AirspaceIndex {
    index(&[feature(
        "BOX",
        &[&rect(70.0, 33.0, 71.0, 34.0)],
        None,
        None,
        0.0,
    )])
}

/// A detector with the default thresholds.
pub fn detector(zones: AirspaceIndex, permits: Vec<Permit>) -> Detector {
    Detector::new(zones, DetectionConfig::default(), permits)
}

/// The ICAO address `adf7c1`.
pub fn icao() -> Icao24 {
    Icao24::new(0xadf7c1).unwrap()
}

/// `T0 + secs`.
pub fn at(secs: f64) -> Timestamp {
    Timestamp::from_secs(T0).add_micros((secs * 1e6).round() as i64)
}

/// A position report of `icao` at `T0 + secs`.
pub fn pos(icao: Icao24, secs: f64, lat: f64, lon: f64, alt_ft: Option<i32>) -> Observation {
    let mut o = Observation::new(icao, at(secs));
    o.position = Some(GeoPoint::new(lat, lon));
    o.altitude = alt_ft.map(|feet| Altitude {
        feet,
        datum: AltitudeDatum::Barometric,
    });
    o
}

/// An identification report (callsign and category) of `icao` at `T0 + secs`.
pub fn ident(icao: Icao24, secs: f64, callsign: &str, category: &str) -> Observation {
    let mut o = Observation::new(icao, at(secs));
    o.identity.callsign = Callsign::new(callsign.as_bytes());
    o.identity.category = Some(category.parse::<EmitterCategory>().unwrap());
    o
}

/// Runs the observations through `det`, then finishes at the last one's time: returns
/// every event and the final incidents.
pub fn run(det: &mut Detector, obs: &[Observation]) -> (Vec<Event>, Vec<Incident>) {
    let mut events = Vec::new();
    for o in obs {
        det.observe(o, &mut events);
    }
    let end = obs.last().map_or(Timestamp::EPOCH, |o| o.at);
    let open = det.finish(end, &mut events);
    let mut log = IncidentLog::new();
    for e in &events {
        log.record(e);
    }
    (events, log.finish(open))
}

/// A straight flight at constant altitude from (lat0, lon0) to (lat1, lon1), one report
/// every `step_s` seconds over `secs` seconds, starting at `T0 + start`.
#[allow(clippy::too_many_arguments)]
pub fn flight(
    icao: Icao24,
    start: f64,
    secs: f64,
    step_s: f64,
    from: (f64, f64),
    to: (f64, f64),
    alt_ft: Option<i32>,
) -> Vec<Observation> {
    let n = (secs / step_s).round() as usize;
    (0..=n)
        .map(|i| {
            let f = i as f64 / n as f64;
            pos(
                icao,
                start + i as f64 * step_s,
                from.0 + f * (to.0 - from.0),
                from.1 + f * (to.1 - from.1),
                alt_ft,
            )
        })
        .collect()
}

/// The kinds of the events, in order.
pub fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind()).collect()
}
