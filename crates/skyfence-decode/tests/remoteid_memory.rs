//! Memory per tracked drone, measured with a counting heap profiler: the whole state a
//! drone leaves behind in the ingest step (its Remote ID assembly: name, UA type,
//! Self-ID, operator, authentication pages) and in the detector (its track, inside a
//! zone), divided by the number of drones. The budget is 1 KB per track.
//!
//! dhat replaces the global allocator of this test binary only, hence its own file.

use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::airspace::geojson::zone_from_geojson;
use skyfence_core::detect::{DetectionConfig, Detector};
use skyfence_core::{GeoPoint, SourceId, Timestamp};
use skyfence_decode::codec::Item;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested};
use skyfence_decode::remoteid::line::Record;
use skyfence_decode::remoteid::message::{
    AuthPage, AuthType, BasicId, Decoded, IdType, Location, Message, OperatorId,
    OperatorLocationType, SelfId, System, UaType, encode_message,
};

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

const ZONE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
"properties":{"name":"BOX"},"geometry":{"type":"Polygon","coordinates":
[[[70.0,33.0],[71.0,33.0],[71.0,34.0],[70.0,34.0],[70.0,33.0]]]}}]}"#;

fn padded<const N: usize>(s: &str) -> [u8; N] {
    let mut b = [0u8; N];
    b[..s.len()].copy_from_slice(s.as_bytes());
    b
}

fn encode(message: Message) -> [u8; 25] {
    encode_message(&Decoded {
        version: 2,
        message,
    })
}

/// Drone `k`'s records: two seconds of every message type, full-length texts, then ten
/// System messages of an operator walking away; inside the zone (an open incursion) or
/// west of it.
fn records(k: u32, inside: bool) -> Vec<Record> {
    let mac = [0x60, 0x60, 0x1f, (k >> 16) as u8, (k >> 8) as u8, k as u8];
    let serial = format!("SKYF{k:016}");
    let at = |s: i64, ms: i64| Timestamp::from_micros((1_700_000_000 + s) * 1_000_000 + ms * 1000);
    let lon = if inside { 70.8 } else { 69.5 };
    let position = GeoPoint::new(33.1 + 0.00008 * f64::from(k), lon);
    let mut out = Vec::new();
    for s in 0..2 {
        let messages = [
            encode(Message::BasicId(BasicId {
                id_type: IdType::SerialNumber,
                ua_type: UaType(2),
                uas_id: padded(&serial),
            })),
            encode(Message::Location(Location {
                position: Some(position),
                alt_geo_m: Some(120.0),
                h_accuracy: 10,
                ..Location::default()
            })),
            encode(Message::System(System {
                operator_location_type: OperatorLocationType(1),
                operator: Some(GeoPoint::new(33.0, 69.9)),
                ..System::default()
            })),
            encode(Message::OperatorId(OperatorId {
                id_type: 0,
                id: padded("PAK-OP-1234567890123"),
            })),
            encode(Message::SelfId(SelfId {
                desc_type: 0,
                text: padded("Pipeline survey north 1"),
            })),
            encode(Message::Auth(AuthPage {
                auth_type: AuthType(1),
                page: 0,
                last_page: Some(0),
                length: Some(17),
                timestamp_s: Some(1),
                data: [0x5a; 23],
            })),
        ];
        for (i, m) in messages.iter().enumerate() {
            out.push(Record::new(at(s, 100 * i as i64), Some(mac), m).unwrap());
        }
    }
    // Then the operator walks, 30 m between System messages: their track fills up to
    // its bound (and is thinned once).
    for s in 2..12 {
        let walked = encode(Message::System(System {
            operator_location_type: OperatorLocationType(1),
            operator: Some(GeoPoint::new(33.0 + 0.00027 * s as f64, 69.9)),
            ..System::default()
        }));
        out.push(Record::new(at(s, 0), Some(mac), &walked).unwrap());
    }
    out
}

/// Bytes held per drone after `DRONES` drones were heard: the ingest step and the
/// detector, with their maps and tracks.
fn per_drone(inside: bool) -> (usize, usize) {
    const DRONES: u32 = 2000;
    let items: Vec<Item> = (0..DRONES)
        .flat_map(|k| records(k, inside))
        .map(|r| Item::RemoteId(Box::new(r)))
        .collect();
    let zones = AirspaceIndex::new(vec![zone_from_geojson(ZONE.as_bytes()).unwrap()]);
    let before = dhat::HeapStats::get();
    let mut ingest = Ingest::new(IngestConfig::default());
    let mut detector = Detector::new(zones, DetectionConfig::default(), vec![]);
    let mut events = Vec::new();
    let mut observed = 0u32;
    for item in &items {
        if let Ingested::Accepted(o) = ingest.observe(SourceId(0), item) {
            observed += 1;
            detector.observe(&o, &mut events);
            events.clear();
        }
    }
    let after = dhat::HeapStats::get();
    assert_eq!(detector.tracks().len(), DRONES as usize);
    assert!(observed >= 4 * DRONES, "{observed}");
    // The zone index moved in and the items were counted before.
    let per_drone = (after.curr_bytes - before.curr_bytes) / DRONES as usize;
    (per_drone, detector.tracks().bytes() / DRONES as usize)
}

#[test]
fn a_tracked_drone_stays_under_one_kilobyte() {
    let _profiler = dhat::Profiler::builder().testing().build();
    let (outside, track_outside) = per_drone(false);
    let (inside, track_inside) = per_drone(true);
    println!(
        "bytes per tracked drone: {outside} outside any zone ({track_outside} of them in the \
         detector's track table), {inside} with an open incursion ({track_inside})"
    );
    // Every drone here sends every message type, Authentication included (most send none).
    assert!(outside <= 1024, "{outside} bytes per tracked drone");
    assert!(
        inside <= 1024,
        "{inside} bytes per drone with an open incursion"
    );
}
