//! The real detector writing through the store, stopped mid-incursion and restarted from
//! the file ("A restart resumes open incidents: no loss, no duplicates").

use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::airspace::load::parse_geojson;
use skyfence_core::detect::{DetectionConfig, Detector, Event, IncidentStatus};
use skyfence_core::{Altitude, AltitudeDatum, GeoPoint, Icao24, Observation, Timestamp};
use skyfence_store::{
    IncidentFilter, IncidentStore, PositionRecord, SqliteStore, StoreBatch, TrackPoint,
};

/// 2023-11-14T22:13:20Z.
const T0: i64 = 1_700_000_000;

/// "BOX": 70°E–71°E × 33°N–34°N, surface to unlimited.
fn zones() -> AirspaceIndex {
    let text = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
        "properties":{"name":"BOX"},"geometry":{"type":"Polygon","coordinates":
        [[[70,33],[71,33],[71,34],[70,34],[70,33]]]}}]}"#;
    AirspaceIndex::new(parse_geojson("box.geojson", text).expect("valid zone"))
}

fn detector() -> Detector {
    Detector::new(zones(), DetectionConfig::default(), vec![])
}

/// East along 33.5°N at 31 000 ft, a report every 2 s: in across 70°E at t = 1 s, out
/// across 71°E after t = 234 s (the flight of skyfence-core's detect cases).
fn flight() -> Vec<Observation> {
    let a = Icao24::new(0xadf7c1).expect("24-bit");
    let pos = |secs: f64, lon: f64| {
        let mut o = Observation::new(
            a,
            Timestamp::from_secs(T0).add_micros((secs * 1e6).round() as i64),
        );
        o.position = Some(GeoPoint::new(33.5, lon));
        o.altitude = Some(Altitude {
            feet: 31_000,
            datum: AltitudeDatum::Barometric,
        });
        o
    };
    let mut obs = vec![pos(0.0, 69.99)];
    for k in 0..=115 {
        obs.push(pos(2.0 + 2.0 * k as f64, 70.01 + 0.0085 * k as f64));
    }
    obs.push(pos(234.0, 70.995));
    obs.push(pos(236.0, 71.015));
    obs
}

/// The runtime's loop in miniature: observe, and every 5 observations store a batch
/// (events, open incidents, positions); returns the events the store accepted as new
/// (those the runtime would publish).
fn run(det: &mut Detector, store: &mut SqliteStore, obs: &[Observation]) -> Vec<Event> {
    let mut published = Vec::new();
    let mut batch = StoreBatch::default();
    for chunk in obs.chunks(5) {
        for o in chunk {
            det.observe(o, &mut batch.events);
            if let (Some(p), Some(alt)) = (o.position, o.altitude) {
                batch.positions.push(PositionRecord {
                    target: o.target,
                    point: TrackPoint {
                        at: o.at,
                        lat: p.lat,
                        lon: p.lon,
                        alt_ft: Some(alt.feet),
                    },
                });
            }
        }
        batch.snapshots = det.open_incidents();
        let applied = store.apply(&batch).expect("apply");
        for (e, seq) in batch.events.iter().zip(&applied.event_seqs) {
            if seq.is_some() {
                published.push(e.clone());
            }
        }
        batch.clear();
    }
    published
}

#[test]
fn a_restart_mid_incursion_continues_the_same_incident_once() {
    let obs = flight();
    // Uninterrupted, for reference.
    let dir = tempfile::tempdir().unwrap();
    let mut reference = SqliteStore::open(dir.path().join("reference.db")).unwrap();
    let whole = run(&mut detector(), &mut reference, &obs);
    assert_eq!(
        whole.iter().map(Event::kind).collect::<Vec<_>>(),
        ["confirmed", "closed"]
    );
    let expected = whole[1].incident().unwrap().clone();

    // Stopped after 50 observations (a batch boundary: what the last batch held is on
    // disk), incursion in progress.
    let path = dir.path().join("skyfence.db");
    let first = {
        let mut store = SqliteStore::open(&path).unwrap();
        run(&mut detector(), &mut store, &obs[..50])
    };
    assert_eq!(
        first.iter().map(Event::kind).collect::<Vec<_>>(),
        ["confirmed"]
    );

    // Restart: resume from the file, go on with the rest of the flight.
    let mut store = SqliteStore::open(&path).unwrap();
    let mut det = detector();
    let open = store.open_incidents().unwrap();
    assert_eq!(open.len(), 1);
    // Resumed from the last report stored, with the counts of the last snapshot.
    assert_eq!(open[0].last_or_entry().at, obs[49].at);
    assert_eq!(open[0].incident.last_seen_at, obs[49].at);
    for p in &open {
        det.resume(&p.incident, p.last_or_entry()).unwrap();
    }
    let second = run(&mut det, &mut store, &obs[50..]);
    assert_eq!(
        second.iter().map(Event::kind).collect::<Vec<_>>(),
        ["closed"]
    );

    // One incident, the same as without the restart; each event once.
    let stored = store.incidents(&IncidentFilter::default()).unwrap();
    assert_eq!(stored.len(), 1);
    let got = &stored[0];
    assert_eq!(got.id, expected.id);
    assert_eq!(got.status, IncidentStatus::Closed);
    assert_eq!(
        (got.entered_at, got.exited_at, got.reports),
        (expected.entered_at, expected.exited_at, expected.reports)
    );
    let kinds: Vec<&str> = store
        .events_since(0, 100)
        .unwrap()
        .iter()
        .map(|e| e.event.kind())
        .collect();
    assert_eq!(kinds, ["confirmed", "closed"]);
    // The whole track is there once: every position report of the flight, up to and
    // including the first one outside (the report that closed the incident).
    let track = store.incident(got.id).unwrap().unwrap().positions;
    assert_eq!(track.len(), obs.len());
}
