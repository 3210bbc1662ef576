//! Build → zip → read → verify, for every target kind: a Mode S incident, a Remote ID
//! incident and an ASTERIX track incident verify fully (re-decoded and re-detected); an
//! incident resting on records of a protocol this verifier does not know verifies every
//! check but re-decoding and re-detection, which say in WARN lines that it cannot
//! re-decode them. Also the legacy format-1 bundle exported by the release before
//! format 2 (testdata/legacy/bundle-v1.zip) and the format-2 bundle exported by the
//! release before format 3 (testdata/legacy/bundle-v2.zip) still verify byte for byte.

use skyfence_bundle::replay::Decoding;
use std::io::Cursor;

use skyfence_bundle::archive::Bundle;
use skyfence_bundle::build::{Evidence, build};
use skyfence_bundle::replay;
use skyfence_bundle::verify::{Outcome, Verification, verify};
use skyfence_core::airspace::zone::geometry_sha256;
use skyfence_core::detect::{Incident, IncidentId};
use skyfence_core::{GeoPoint, Icao24, Protocol, TargetId, TargetKind, Timestamp};
use skyfence_evidence::{
    Checkpoint, DatasetContent, DatasetKind, EvidenceLeaf, LeafSignal, MerkleLog, Signer,
    hash_from_hex,
};

const ZONE: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"BOX"},"geometry":{"type":"Polygon","coordinates":[[[60,30],[61,30],[61,31],[60,31],[60,30]]]}}]}"#;
const CONFIG: &str = "[detection]\nconfirm_s = 1\ntrack_timeout_s = 10\n";
const T0: i64 = 1_700_000_000_000_000;

/// A log being written: leaves in append order, as the service appends them.
struct Log {
    merkle: MerkleLog<skyfence_evidence::MemoryStore>,
    leaves: Vec<(u64, Vec<u8>)>,
}

impl Log {
    /// A log holding the zone and config leaves.
    fn new() -> Log {
        let mut log = Log {
            merkle: MerkleLog::in_memory(),
            leaves: Vec::new(),
        };
        let zone = replay::zone_from_geojson(ZONE).unwrap();
        log.append(&EvidenceLeaf::DatasetLoaded {
            kind: DatasetKind::Zones,
            name: "BOX".into(),
            loaded_at_us: T0,
            provenance_sha256: hash_from_hex(&geometry_sha256(&zone.shape)).unwrap(),
            content: DatasetContent::Bytes(ZONE.as_bytes().to_vec()),
        });
        log.append(&EvidenceLeaf::ConfigChanged {
            at_us: T0,
            source: "config.toml".into(),
            config: CONFIG.as_bytes().to_vec(),
        });
        log
    }

    fn append(&mut self, leaf: &EvidenceLeaf) -> u64 {
        let bytes = leaf.encode().unwrap();
        let index = self.merkle.append(&bytes).unwrap();
        self.leaves.push((index, bytes));
        index
    }

    /// Logs `incident` as its state change at `at` and gathers the evidence of it.
    fn evidence(mut self, incident: &Incident, at: Timestamp) -> (Evidence, Signer) {
        self.append(&EvidenceLeaf::IncidentStateChanged {
            incident_id: incident.id.0,
            at_us: at.as_micros(),
            event: "confirmed".into(),
            incident_json: serde_json::to_string(incident).unwrap(),
        });
        let signer = Signer::from_seed("skyfence.test/round-trip", [7; 32]).unwrap();
        let size = self.merkle.size();
        let note = Checkpoint::new(
            "skyfence.test/round-trip",
            size,
            self.merkle.root(size).unwrap(),
        )
        .unwrap()
        .sign(&signer)
        .unwrap();
        let proofs = (0..size)
            .map(|i| (i, self.merkle.inclusion_proof(i, size).unwrap()))
            .collect();
        let evidence = Evidence {
            incident: incident.id,
            checkpoint_note: note,
            log_key: signer.verifier_key(),
            witness_keys: Vec::new(),
            leaves: self.leaves,
            proofs,
            exported_at: at.add_micros(60_000_000),
        };
        (evidence, signer)
    }
}

/// Builds, zips, reads back and verifies with the log key pinned.
fn round_trip(evidence: &Evidence, signer: &Signer) -> (Bundle, Verification) {
    let bundle = build(evidence).unwrap();
    let zip = bundle.write_zip(Cursor::new(Vec::new())).unwrap();
    let back = Bundle::read_zip(Cursor::new(zip.into_inner())).unwrap();
    assert_eq!(back, bundle);
    let v = verify(&back, &[signer.verifier_key()]).unwrap();
    for c in &v.checks {
        eprintln!("{c}");
    }
    (back, v)
}

fn check<'v>(v: &'v Verification, name: &str) -> &'v skyfence_bundle::verify::Check {
    v.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no {name} check"))
}

fn text(bundle: &Bundle, name: &str) -> String {
    String::from_utf8(bundle.get(name).unwrap().to_vec()).unwrap()
}

/// A protocol code no [`Protocol`] has: this verifier cannot re-decode its records.
const UNKNOWN_PROTOCOL: u8 = 0x07;

/// The evidence of an ICAO target flying into the box, logged as Mode S frames, then
/// `unknown` records of protocol 0x07 (one this verifier does not know).
fn mode_s_evidence(unknown: u8) -> (Evidence, Signer) {
    let icao = Icao24::new(0x700c01).unwrap();
    let target = TargetId::Icao(icao);
    let mut log = Log::new();
    let mut records = Vec::new();
    // Eastbound along 30.5° N from 59.98° E into the box at 60°, two positions a second,
    // even and odd in turn, at 10 000 ft; level 200 (kind 0x06) then 0x03 in turn, so the
    // bundle holds both raw leaf kinds.
    for i in 0..40i64 {
        let at = T0 + 1_000_000 + i * 500_000;
        let p = GeoPoint::new(30.5, 59.98 + i as f64 * 0.0015);
        let frame =
            skyfence_decode::adsb::encode_airborne_position(icao, p, Some(10_000), i % 2 == 1)
                .unwrap();
        let leaf = if i % 2 == 0 {
            EvidenceLeaf::RawRecord {
                sensor: "rx-1".into(),
                received_at_us: at,
                protocol: Protocol::ModeS.code(),
                signal: LeafSignal::Level(200),
                mlat: false,
                record: frame.to_vec(),
            }
        } else {
            EvidenceLeaf::RawFrame {
                sensor: "rx-1".into(),
                received_at_us: at,
                signal: Some(180),
                mlat: false,
                frame: frame.to_vec(),
            }
        };
        let index = log.append(&leaf);
        records.push(replay::RecordLeaf::from_leaf(index, &leaf).unwrap());
    }
    let until = Timestamp::from_micros(T0 + 1_000_000 + 39 * 500_000);
    let (detection, permits) = replay::settings_from_config(CONFIG).unwrap();
    let zone = replay::zone_from_geojson(ZONE).unwrap();
    let live = replay::replay(
        &records,
        target,
        zone,
        detection,
        permits,
        &Decoding::default(),
        until,
    );
    assert!(live.unsupported.is_empty());
    let incident = live
        .open
        .first()
        .expect("the flight enters the box")
        .clone();
    // Remote ID records of the same sensor after the flight: in the log, not in the
    // incident.
    for i in 0..unknown {
        log.append(&EvidenceLeaf::RawRecord {
            sensor: "rx-1".into(),
            received_at_us: T0 + 30_000_000 + i64::from(i),
            protocol: UNKNOWN_PROTOCOL,
            signal: LeafSignal::None,
            mlat: false,
            record: vec![0x0d, 0x01, 0x02],
        });
    }
    log.evidence(&incident, until)
}

#[test]
fn a_mode_s_incident_with_records_of_another_protocol_passes_detection_and_says_so() {
    let (evidence, signer) = mode_s_evidence(2);
    let (_, v) = round_trip(&evidence, &signer);
    let decode = check(&v, "decode");
    assert_eq!(decode.outcome, Outcome::Warn, "{decode}");
    assert!(
        decode.detail.starts_with("40 of 40 raw frames decode")
            && decode
                .detail
                .contains("cannot re-decode 2 record(s) of protocol 0x07 (first: leaf 42) yet"),
        "{decode}"
    );
    // The re-decoded frames give the incident: a PASS that names what was not replayed.
    let detection = check(&v, "detection");
    assert_eq!(detection.outcome, Outcome::Pass, "{detection}");
    assert!(
        detection.detail.ends_with(
            "(from the Mode S, ASTERIX and Remote ID records alone; 2 record(s) of protocol 0x07 (first: leaf 42) not re-decoded)"
        ),
        "{detection}"
    );
    assert!(v.passed(), "{:?}", v.failed());
}

#[test]
fn a_mode_s_incident_verifies_fully() {
    let (evidence, signer) = mode_s_evidence(0);
    let (bundle, v) = round_trip(&evidence, &signer);
    assert!(v.passed(), "{:?}", v.failed());
    for c in &v.checks {
        assert_eq!(c.outcome, Outcome::Pass, "{c}");
    }
    assert!(
        check(&v, "decode")
            .detail
            .starts_with("40 of 40 raw frames decode")
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(bundle.get("bundle.json").unwrap()).unwrap();
    assert_eq!(manifest["version"], 4);
    let csv = text(&bundle, "frames.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("index,received_at,sensor,protocol,signal,mlat,hex")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("2,2023-11-14T22:13:21.000000Z,rx-1,modes,200,0,8d700c01"),
        "{csv}"
    );
    assert!(
        lines.next().unwrap().contains(",rx-1,modes,180,0,8d700c01"),
        "{csv}"
    );
    let geojson: serde_json::Value = serde_json::from_str(&text(&bundle, "track.geojson")).unwrap();
    let track = &geojson["features"][0]["properties"];
    assert_eq!(
        (&track["kind"], &track["id"], &track["icao24"]),
        (&"icao".into(), &"700c01".into(), &"700c01".into())
    );
    let report = text(&bundle, "report.html");
    assert!(report.contains("<th>ICAO address</th><td><span class=\"mono\">700c01</span>"));
    assert!(report.contains("<th>Raw records in evidence</th><td>40 (modes 40) from rx-1</td>"));
}

/// A bundle of an incident by `target` resting on `records` of `protocol` alone.
fn non_mode_s(target: TargetId, protocol: u8, signal: LeafSignal) -> (Bundle, Verification) {
    let mut log = Log::new();
    for i in 0..3i64 {
        log.append(&EvidenceLeaf::RawRecord {
            sensor: "sensor-a".into(),
            received_at_us: T0 + i * 1_000_000,
            protocol,
            signal,
            mlat: false,
            record: vec![0x0d, 0x01, i as u8, 0xff, 0x20],
        });
    }
    let entered = Timestamp::from_micros(T0 + 1_000_000);
    let mut incident: Incident = serde_json::from_value(serde_json::json!({
        "id": "0000000000000000", "zone": "BOX",
        "target": {"kind": target.kind().as_str(), "id": target.to_string(), "callsign": null, "category": null},
        "classification": "uav", "authorised": false, "permit": null, "status": "open",
        "entry_observed": false, "entered_at": "2023-11-14T22:13:21.000Z", "exited_at": null,
        "last_seen_at": "2023-11-14T22:13:22.000Z",
        "entry": {"lat": 30.5, "lon": 60.01, "alt_ft": 400}, "exit": null,
        "duration_s": 1.0, "max_depth_m": 960.0, "max_alt_ft": 400, "reports": 2
    }))
    .unwrap();
    incident.id = IncidentId::derive(target, "BOX", entered);
    let (evidence, signer) = log.evidence(&incident, Timestamp::from_micros(T0 + 2_000_000));
    round_trip(&evidence, &signer)
}

fn assert_cannot_redecode(v: &Verification, protocol: &str, target: &str) {
    // Every check of the container, the log and the readable files passes.
    for name in [
        "manifest",
        "log key",
        "checkpoint signature",
        "cosignatures",
        "leaves",
        "inclusion proofs",
        "incident",
        "zone",
        "config",
        "frames",
        "renderings",
    ] {
        assert_eq!(check(v, name).outcome, Outcome::Pass, "{}", check(v, name));
    }
    let decode = check(v, "decode");
    assert_eq!(decode.outcome, Outcome::Warn, "{decode}");
    assert!(
        decode.detail.contains(&format!(
            "cannot re-decode 3 record(s) of protocol {protocol} (first: leaf 2) yet"
        )),
        "{decode}"
    );
    let detection = check(v, "detection");
    assert_eq!(detection.outcome, Outcome::Warn, "{detection}");
    assert!(
        detection.detail.starts_with(&format!(
            "not re-done: the incident rests on 3 record(s) of protocol {protocol}"
        )),
        "{detection}"
    );
    assert!(
        detection
            .detail
            .contains(&format!("finds no incursion of {target} into BOX")),
        "{detection}"
    );
    // Warnings, not failures: the evidence itself is intact.
    assert!(v.passed(), "{:?}", v.failed());
}

/// The evidence of a drone flying into the box, logged as the Remote ID records the
/// service keeps (advertiser address + message, as `Record::evidence_bytes` writes them):
/// a Basic ID and a Location each second, a System every 3 s.
fn remote_id_evidence() -> (Evidence, Signer, TargetId) {
    use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested, Lanes};
    use skyfence_decode::remoteid::line::Record;
    use skyfence_decode::remoteid::message::{
        AuthPage, AuthType, BasicId, Decoded, IdType, Location, Message, OperatorLocationType,
        System, UaType, encode_message,
    };
    let mac = [0x60, 0x60, 0x1f, 0x12, 0x34, 0x56];
    let encode = |message| {
        encode_message(&Decoded {
            version: 2,
            message,
        })
    };
    let mut uas_id = [0u8; 20];
    uas_id.copy_from_slice(b"1581F5FJD239C00DW22E");
    let basic = encode(Message::BasicId(BasicId {
        id_type: IdType::SerialNumber,
        ua_type: UaType(2),
        uas_id,
    }));
    // The operator walks east, about 48 m between System messages, to 59.97° E.
    let system = |s: i64| {
        encode(Message::System(System {
            operator_location_type: OperatorLocationType(1),
            operator: Some(GeoPoint::new(30.5, 59.97 - (18 - s) as f64 / 3.0 * 0.0005)),
            ..System::default()
        }))
    };
    let mut log = Log::new();
    let mut records = Vec::new();
    let mut ingest = Ingest::new(IngestConfig {
        dedup: false,
        lanes: Lanes::PerSource,
        ..IngestConfig::default()
    });
    let mut target = None;
    for s in 0..20i64 {
        let location = encode(Message::Location(Location {
            position: Some(GeoPoint::new(30.5, 59.99 + s as f64 * 0.002)),
            alt_geo_m: Some(120.0),
            h_accuracy: 10,
            ..Location::default()
        }));
        let mut messages = vec![basic, location];
        if s % 3 == 0 {
            messages.push(system(s));
        }
        // Two Authentication pages (page 0 announcing one more, 30 bytes in all).
        if s == 5 || s == 6 {
            let page = (s - 5) as u8;
            messages.push(encode(Message::Auth(AuthPage {
                auth_type: AuthType(1),
                page,
                last_page: (page == 0).then_some(1),
                length: (page == 0).then_some(30),
                timestamp_s: (page == 0).then_some(153_800_000),
                data: [0xa0 + page; 23],
            })));
        }
        for (k, m) in messages.iter().enumerate() {
            let at = Timestamp::from_micros(T0 + 1_000_000 + s * 1_000_000 + k as i64 * 1000);
            let record = Record::new(at, Some(mac), m).unwrap();
            let mut bytes = Vec::new();
            record.evidence_bytes(&mut bytes);
            // As the service: records that give an observation of the drone are logged.
            let item = skyfence_decode::codec::Item::RemoteId(Box::new(record));
            let Ingested::Accepted(obs) = ingest.observe(skyfence_core::SourceId(0), &item) else {
                continue;
            };
            target = Some(obs.target);
            let leaf = EvidenceLeaf::RawRecord {
                sensor: "rid-rx".into(),
                received_at_us: at.as_micros(),
                protocol: Protocol::RemoteId.code(),
                signal: LeafSignal::Dbm(-67),
                mlat: false,
                record: bytes,
            };
            let index = log.append(&leaf);
            records.push(replay::RecordLeaf::from_leaf(index, &leaf).unwrap());
        }
    }
    let target = target.unwrap();
    let until = Timestamp::from_micros(T0 + 20_000_000);
    let (detection, permits) = replay::settings_from_config(CONFIG).unwrap();
    let zone = replay::zone_from_geojson(ZONE).unwrap();
    let live = replay::replay(
        &records,
        target,
        zone,
        detection,
        permits,
        &Decoding::default(),
        until,
    );
    assert!(live.unsupported.is_empty());
    let incident = live.open.first().expect("the drone enters the box").clone();
    assert_eq!(
        incident.operator.as_ref().map(|o| (o.lat, o.lon)),
        Some((30.5, 59.97))
    );
    assert!(incident.remoteid.is_some());
    assert_eq!(incident.cooperative, Some(true));
    let (evidence, signer) = log.evidence(&incident, until);
    (evidence, signer, target)
}

#[test]
fn a_remote_id_incident_is_re_decoded_and_re_detected() {
    let (evidence, signer, target) = remote_id_evidence();
    assert_eq!(target.to_string(), "1581F5FJD239C00DW22E");
    let (bundle, v) = round_trip(&evidence, &signer);
    assert!(v.passed(), "{:?}", v.failed());
    for c in &v.checks {
        assert_eq!(c.outcome, Outcome::Pass, "{c}");
    }
    let decode = check(&v, "decode");
    assert!(
        decode
            .detail
            .starts_with("49 of 49 raw frames decode (skyfence-decode) to 1581F5FJD239C00DW22E"),
        "{decode}"
    );
    let csv = text(&bundle, "frames.csv");
    assert!(
        csv.contains(",rid-rx,remoteid,-67dBm,0,60601f12345602"),
        "{csv}"
    );
    let geojson: serde_json::Value = serde_json::from_str(&text(&bundle, "track.geojson")).unwrap();
    let track = &geojson["features"][0]["properties"];
    assert_eq!(
        (&track["kind"], &track["id"]),
        (&"remoteid".into(), &"1581F5FJD239C00DW22E".into())
    );
    assert!(track.get("icao24").is_none(), "{track}");
    let report = text(&bundle, "report.html");
    assert!(
        report.contains("<th>Remote ID</th><td><span class=\"mono\">1581F5FJD239C00DW22E</span>")
    );
    assert!(report.contains("49 (remoteid 49) from rid-rx"), "{report}");
    assert!(
        report.contains("<th>Operator</th><td>30.500000, 59.970000 at "),
        "{report}"
    );
    assert!(report.contains("<th>UA type</th><td>helicopter_or_multirotor</td>"));
    // The Authentication pages are evidence like every record (raw leaves of their own,
    // not copied into observations or the incident), and the incident says one was sent.
    assert!(
        report.contains("<th>Authentication message</th><td>present (signature not verified)"),
        "{report}"
    );
    // Page 0 and page 1 (message type 2, version 2; auth type 1, page number).
    for page in ["2210", "2211"] {
        assert!(
            csv.contains(&format!(",rid-rx,remoteid,-67dBm,0,60601f123456{page}")),
            "no page {page}: {csv}"
        );
    }
    let kml = text(&bundle, "track.kml");
    assert!(kml.contains("<Placemark><name>Operator</name>"), "{kml}");
    assert!(
        kml.contains("<coordinates>59.970000,30.500000,0 60.000000,30.500000,0</coordinates>"),
        "{kml}"
    );
    let operator = geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["role"] == "operator")
        .expect("an operator feature");
    assert_eq!(
        operator["geometry"]["coordinates"],
        serde_json::json!([59.97, 30.5])
    );
    // Where the operator stood over time: seven System positions 48 m apart (the full
    // track of six thinned to every other point when the seventh came), in the incident,
    // the report, the KML and the GeoJSON.
    let walk = |k: usize| 59.967 + k as f64 * 0.0005;
    let json: serde_json::Value = serde_json::from_str(&text(&bundle, "incident.json")).unwrap();
    let points = json["operator"]["track"]
        .as_array()
        .expect("operator.track");
    assert_eq!(points.len(), 4, "{json}");
    for (p, k) in points.iter().zip([0, 2, 4, 6]) {
        assert!((p["lon"].as_f64().unwrap() - walk(k)).abs() < 1e-6, "{p}");
        assert_eq!(p["lat"], 30.5);
    }
    assert!(report.contains("<th>Operator track</th><td>30.500000, 59.967000 from "));
    assert!(report.contains("class=\"operator-track\""), "{report}");
    assert!(
        kml.contains("<Placemark><name>Operator track</name>"),
        "{kml}"
    );
    let op_track = geojson["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["role"] == "operator_track")
        .expect("an operator track feature");
    assert_eq!(
        op_track["geometry"]["coordinates"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(op_track["properties"]["times"].as_array().unwrap().len(), 4);
}

#[test]
fn a_remote_id_incident_whose_operator_was_altered_fails_detection() {
    let (evidence, _, _) = remote_id_evidence();
    // Re-log the same records with the incident's operator moved 5 km east.
    let (_, last) = evidence.leaves.last().unwrap();
    let Ok(EvidenceLeaf::IncidentStateChanged {
        at_us,
        incident_json,
        ..
    }) = EvidenceLeaf::decode(last)
    else {
        panic!("the last leaf is the incident")
    };
    let mut incident: Incident = serde_json::from_str(&incident_json).unwrap();
    incident.operator.as_mut().unwrap().lon = 60.03;
    let mut log = Log::new();
    // Leaves 0 and 1 are the zone and config that Log::new writes again.
    for (_, b) in &evidence.leaves[2..evidence.leaves.len() - 1] {
        log.append(&EvidenceLeaf::decode(b).unwrap());
    }
    let (evidence, signer) = log.evidence(&incident, Timestamp::from_micros(at_us));
    let (_, v) = round_trip(&evidence, &signer);
    let detection = check(&v, "detection");
    assert_eq!(detection.outcome, Outcome::Fail, "{detection}");
    assert!(detection.detail.contains("operator"), "{detection}");
}

/// The same records logged with `change` applied to the incident: the verification.
fn relogged(change: impl FnOnce(&mut Incident)) -> Verification {
    let (evidence, _, _) = remote_id_evidence();
    let (_, last) = evidence.leaves.last().unwrap();
    let Ok(EvidenceLeaf::IncidentStateChanged {
        at_us,
        incident_json,
        ..
    }) = EvidenceLeaf::decode(last)
    else {
        panic!("the last leaf is the incident")
    };
    let mut incident: Incident = serde_json::from_str(&incident_json).unwrap();
    change(&mut incident);
    let mut log = Log::new();
    for (_, b) in &evidence.leaves[2..evidence.leaves.len() - 1] {
        log.append(&EvidenceLeaf::decode(b).unwrap());
    }
    let (evidence, signer) = log.evidence(&incident, Timestamp::from_micros(at_us));
    round_trip(&evidence, &signer).1
}

/// The operator's track may begin before the evidence kept, so it is not compared
/// (its latest position is): incidents written before tracks existed, or whose track
/// began earlier, re-detect.
#[test]
fn an_incident_written_before_operator_tracks_still_re_detects() {
    let v = relogged(|i| i.operator.as_mut().unwrap().track.clear());
    assert_eq!(check(&v, "detection").outcome, Outcome::Pass);
}

#[test]
fn a_track_incident_resting_on_an_unknown_protocol_says_it_cannot_redecode_it() {
    let target = TargetId::parse(TargetKind::Track, "kabul-psr/417").unwrap();
    let (bundle, v) = non_mode_s(target, UNKNOWN_PROTOCOL, LeafSignal::None);
    assert_cannot_redecode(&v, "0x07", "kabul-psr/417");
    assert!(text(&bundle, "frames.csv").contains(",sensor-a,0x07,,0,0d0100ff20\n"));
}

#[test]
fn remote_id_records_that_do_not_decode_fail_the_decode_check() {
    // Records that are no Remote ID message at all.
    let target = TargetId::parse(TargetKind::RemoteId, "1581F5FJD239C00DW22E").unwrap();
    let (_, v) = non_mode_s(target, Protocol::RemoteId.code(), LeafSignal::Dbm(-67));
    let decode = check(&v, "decode");
    assert_eq!(decode.outcome, Outcome::Fail, "{decode}");
    assert!(
        decode.detail.contains("none of the 3 frames decodes"),
        "{decode}"
    );
    assert_eq!(check(&v, "detection").outcome, Outcome::Fail);
}

/// The config of the ASTERIX bundles: the radar 0.1° south of the box's west half.
const RADAR_CONFIG: &str = "[detection]\nconfirm_s = 1\ntrack_timeout_s = 30\n\n\
    [[sensor]]\nname = \"kabul-psr\"\ntype = \"radar\"\nsac = 1\nsic = 2\n\
    lat = 29.9\nlon = 60.2\nalt_m = 500\n";

/// The evidence of a primary-radar track (no address) flying north into the box,
/// logged as the one-record ASTERIX CAT048 data blocks the service stores; `tamper`
/// may change a record's bytes.
fn asterix_evidence(tamper: impl Fn(usize, &mut Vec<u8>)) -> (Evidence, Signer, TargetId) {
    asterix_evidence_with(tamper, &[])
}

/// [`asterix_evidence`] with `sensors` (kind 0x09 leaves) logged after the records.
fn asterix_evidence_with(
    tamper: impl Fn(usize, &mut Vec<u8>),
    sensors: &[EvidenceLeaf],
) -> (Evidence, Signer, TargetId) {
    use skyfence_decode::asterix::{self, Detection, Polar, Report, encode};
    let mut log = Log::new();
    log.append(&EvidenceLeaf::ConfigChanged {
        at_us: T0 + 1,
        source: "config.toml".into(),
        config: RADAR_CONFIG.as_bytes().to_vec(),
    });
    let mut records = Vec::new();
    let midnight = T0.div_euclid(86_400_000_000) * 86_400_000_000;
    // 0.1° of latitude is 6.0 NM: from 5 NM to 7.4 NM along azimuth 0, one scan in 4 s.
    for k in 0..25usize {
        let at = T0 + 4_000_000 * k as i64;
        let report = Report {
            category: 48,
            sac: 1,
            sic: 2,
            time_of_day: Some(((at - midnight) / 7812) as u32),
            detection: Some(Detection::Psr),
            polar: Some(Polar {
                range_nm: 5.0 + 0.1 * k as f64,
                azimuth_deg: 0.0,
            }),
            flight_level: Some(5.0),
            track_number: Some(417),
            ..Report::default()
        };
        let mut block = Vec::new();
        asterix::single_record_block(48, &encode::record(&report).unwrap(), &mut block);
        tamper(k, &mut block);
        let leaf = EvidenceLeaf::RawRecord {
            sensor: "radar-feed".into(),
            received_at_us: at,
            protocol: Protocol::Asterix.code(),
            signal: LeafSignal::None,
            mlat: false,
            record: block,
        };
        let index = log.append(&leaf);
        records.push(replay::RecordLeaf::from_leaf(index, &leaf).unwrap());
    }
    for leaf in sensors {
        log.append(leaf);
    }
    let target = TargetId::parse(TargetKind::Track, "kabul-psr/417").unwrap();
    let until = Timestamp::from_micros(T0 + 4_000_000 * 24);
    let (detection, permits) = replay::settings_from_config(RADAR_CONFIG).unwrap();
    let decoding = replay::decoding_from_config(RADAR_CONFIG).unwrap();
    let zone = replay::zone_from_geojson(ZONE).unwrap();
    let live = replay::replay(&records, target, zone, detection, permits, &decoding, until);
    assert!(live.unsupported.is_empty());
    let incident = live.open.first().expect("the track enters the box").clone();
    let (evidence, signer) = log.evidence(&incident, until);
    (evidence, signer, target)
}

#[test]
fn an_asterix_track_incident_is_re_decoded_and_re_detected() {
    let (evidence, signer, target) = asterix_evidence(|_, _| {});
    let (bundle, v) = round_trip(&evidence, &signer);
    assert!(v.passed(), "{:?}", v.failed());
    for c in &v.checks {
        assert_eq!(c.outcome, Outcome::Pass, "{c}");
    }
    let decode = check(&v, "decode");
    assert!(
        decode.detail.starts_with(
            "25 of 25 raw frames decode (skyfence-decode) to kabul-psr/417, 25 positions"
        ),
        "{decode}"
    );
    let incident: Incident = serde_json::from_str(&text(&bundle, "incident.json")).unwrap();
    assert_eq!(incident.target.id, target);
    assert_eq!(incident.cooperative, Some(false));
    assert_eq!(incident.sensors, ["kabul-psr"]);
    // One-record CAT048 data blocks as evidence.
    assert!(text(&bundle, "frames.csv").contains(",radar-feed,asterix,,0,30"));
}

/// The radar's changes of state as its leaves record them: up 100 s before the records
/// begin, down at +60 s (last heard at +48 s), up again at +80 s; the other sensor up.
fn radar_states() -> Vec<EvidenceLeaf> {
    let state = |sensor: &str, s: i64, up: bool, heard: i64| EvidenceLeaf::SensorState {
        at_us: T0 + s * 1_000_000,
        sensor: sensor.into(),
        sensor_type: "radar".into(),
        up,
        last_heard_us: T0 + heard * 1_000_000,
    };
    vec![
        state("kabul-psr", -100, true, -100),
        state("herat-ssr", -90, true, -90),
        state("kabul-psr", 60, false, 48),
        state("kabul-psr", 80, true, 80),
    ]
}

#[test]
fn a_radar_down_during_the_incursion_is_a_proven_coverage_gap_in_the_report() {
    let (evidence, signer, _) = asterix_evidence_with(|_, _| {}, &radar_states());
    let (bundle, v) = round_trip(&evidence, &signer);
    assert!(v.passed(), "{:?}", v.failed());
    for c in &v.checks {
        assert_eq!(c.outcome, Outcome::Pass, "{c}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(bundle.get("bundle.json").unwrap()).unwrap();
    assert_eq!(manifest["version"], 4);
    // The four leaves are in the bundle, counted and proven with the others.
    let leaves = check(&v, "leaves");
    assert!(
        leaves.detail.contains(", 4 sensor state changes"),
        "{leaves}"
    );
    let incident: Incident = serde_json::from_str(&text(&bundle, "incident.json")).unwrap();
    let entered = incident.entered_at;
    assert!(
        entered > Timestamp::from_micros(T0) && entered < Timestamp::from_micros(T0 + 60_000_000),
        "{entered:?}"
    );
    // Open: the incursion ends at the last position, +96 s.
    let sensors = check(&v, "sensors");
    assert!(
        sensors.detail.starts_with("4 sensor state leaves (kind 0x09); herat-ssr (radar): up for the whole incursion; kabul-psr (radar): DOWN during the incursion: from 2023-11-14T22:14:20.000Z to 2023-11-14T22:14:40.000Z (coverage gap of 20.0 s of "),
        "{sensors}"
    );
    assert!(
        sensors
            .detail
            .contains("1 sensor(s) did not cover the whole incursion"),
        "{sensors}"
    );
    let report = text(&bundle, "report.html");
    assert!(
        report.contains("<h2>Sensors during the incursion</h2>"),
        "{report}"
    );
    assert!(
        report.contains("Coverage gap: radar kabul-psr was down during the incursion: from 2023-11-14T22:14:20.000Z to 2023-11-14T22:14:40.000Z"),
        "{report}"
    );
    assert!(report.contains(
        "<td>sensor down</td><td>kabul-psr (radar), last heard 2023-11-14T22:14:08.000Z</td>"
    ));
    // The gap hatched on the altitude profile.
    assert!(report.contains(">kabul-psr down</text>"));

    // A sensor leaf altered in the bundle (down turned up): its proof no longer leads to
    // the signed root.
    let mut forged = evidence.clone();
    let down = forged
        .leaves
        .iter_mut()
        .find(|(_, b)| {
            matches!(
                EvidenceLeaf::decode(b),
                Ok(EvidenceLeaf::SensorState { up: false, .. })
            )
        })
        .unwrap();
    let EvidenceLeaf::SensorState {
        at_us,
        sensor,
        sensor_type,
        last_heard_us,
        ..
    } = EvidenceLeaf::decode(&down.1).unwrap()
    else {
        unreachable!()
    };
    down.1 = EvidenceLeaf::SensorState {
        at_us,
        sensor,
        sensor_type,
        up: true,
        last_heard_us,
    }
    .encode()
    .unwrap();
    let (bundle, v) = round_trip(&forged, &signer);
    assert_eq!(v.failed(), ["inclusion proofs"]);
    assert!(
        check(&v, "inclusion proofs").detail.contains(
            "(sensor kabul-psr up at 2023-11-14T22:14:20.000000Z) is not in the signed log"
        ),
        "{}",
        check(&v, "inclusion proofs")
    );
    // And the report it rendered no longer shows the gap it hid.
    assert!(!text(&bundle, "report.html").contains("Coverage gap"));
}

#[test]
fn a_radar_down_for_the_whole_incursion_is_said_so() {
    let state = |s: i64, up: bool| EvidenceLeaf::SensorState {
        at_us: T0 + s * 1_000_000,
        sensor: "kabul-psr".into(),
        sensor_type: "radar".into(),
        up,
        last_heard_us: T0 + (s - 12) * 1_000_000,
    };
    let (evidence, signer, _) =
        asterix_evidence_with(|_, _| {}, &[state(-100, true), state(-50, false)]);
    let (bundle, v) = round_trip(&evidence, &signer);
    assert!(v.passed(), "{:?}", v.failed());
    let sensors = check(&v, "sensors");
    assert!(
        sensors
            .detail
            .contains("kabul-psr (radar): DOWN for the whole incursion ("),
        "{sensors}"
    );
    let report = text(&bundle, "report.html");
    assert!(report.contains("<td><b>down</b></td>"), "{report}");
    assert!(report.contains("Coverage gap: radar kabul-psr was down for the whole incursion"));
}

/// A bundle without sensor leaves has no sensor section and no sensors check, so what
/// earlier formats rendered is unchanged.
#[test]
fn without_sensor_leaves_the_report_has_no_sensor_section() {
    let (evidence, signer, _) = asterix_evidence(|_, _| {});
    let (bundle, v) = round_trip(&evidence, &signer);
    assert!(v.checks.iter().all(|c| c.name != "sensors"));
    assert!(!text(&bundle, "report.html").contains("Sensors during the incursion"));
}

#[test]
fn an_asterix_record_that_does_not_decode_is_named() {
    // Record 12 logged cut short (its block length still says the whole): the verifier
    // names it and re-detects from the other 24, as the service did.
    let (evidence, signer, _) = asterix_evidence(|k, block| {
        if k == 12 {
            block.pop();
        }
    });
    let (_, v) = round_trip(&evidence, &signer);
    assert!(v.passed(), "{:?}", v.failed());
    let decode = check(&v, "decode");
    assert_eq!(decode.outcome, Outcome::Pass, "{decode}");
    // Leaves 0-2 are the zone and the two configs: record 12 is leaf 15.
    assert!(
        decode.detail.starts_with("24 of 25 raw frames decode (skyfence-decode) to kabul-psr/417, 24 positions; 1 frame(s) do not decode on their own (e.g. leaf 15"),
        "{decode}"
    );
    assert_eq!(check(&v, "detection").outcome, Outcome::Pass);
}

#[test]
fn asterix_records_of_a_radar_the_config_does_not_declare_do_not_decode() {
    // The same records, replayed with a config that lost the radar's [[sensor]]: its
    // polar plots cannot be placed, so nothing decodes to the incident's target.
    let (evidence, _, target) = asterix_evidence(|_, _| {});
    let records: Vec<replay::RecordLeaf> = evidence
        .leaves
        .iter()
        .filter_map(|(i, bytes)| {
            replay::RecordLeaf::from_leaf(*i, &EvidenceLeaf::decode(bytes).unwrap())
        })
        .collect();
    assert_eq!(records.len(), 25);
    let (detection, permits) = replay::settings_from_config(CONFIG).unwrap();
    let zone = replay::zone_from_geojson(ZONE).unwrap();
    let until = Timestamp::from_micros(T0 + 100_000_000);
    let r = replay::replay(
        &records,
        target,
        zone,
        detection,
        permits,
        &Decoding::default(),
        until,
    );
    assert_eq!((r.frames, r.decoded, r.undecodable.len()), (25, 0, 25));
    assert!(r.incidents().is_empty());
}

#[test]
fn the_legacy_format_1_bundle_still_verifies_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/legacy/bundle-v1.zip"
    );
    let bundle = Bundle::read_zip(std::fs::File::open(path).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(bundle.get("bundle.json").unwrap()).unwrap();
    assert_eq!(manifest["version"], 1);
    let v = verify(&bundle, &[]).unwrap();
    for c in &v.checks {
        let want = if c.name == "log key" {
            Outcome::Warn
        } else {
            Outcome::Pass
        };
        assert_eq!(c.outcome, want, "{c}");
    }
    // frames.csv and the renderings were re-created in format 1 and compared byte for byte.
    assert!(check(&v, "frames").detail.contains("raw frame leaves"));
    assert!(
        check(&v, "renderings")
            .detail
            .contains("exactly what the verified evidence renders")
    );
    assert!(text(&bundle, "frames.csv").starts_with("index,received_at,sensor,signal,mlat,hex\n"));
}

#[test]
fn the_legacy_format_2_bundle_still_verifies_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/legacy/bundle-v2.zip"
    );
    let bundle = Bundle::read_zip(std::fs::File::open(path).unwrap()).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_slice(bundle.get("bundle.json").unwrap()).unwrap();
    assert_eq!(manifest["version"], 2);
    let v = verify(&bundle, &[]).unwrap();
    for c in &v.checks {
        let want = if c.name == "log key" {
            Outcome::Warn
        } else {
            Outcome::Pass
        };
        assert_eq!(c.outcome, want, "{c}");
    }
    // Its raw frames are kind 0x06 raw record leaves, listed with their protocol, and
    // frames.csv and the renderings were re-created and compared byte for byte.
    assert!(check(&v, "frames").detail.contains("822 raw record leaves"));
    assert!(check(&v, "detection").detail.contains("same incident"));
    assert!(
        check(&v, "renderings")
            .detail
            .contains("exactly what the verified evidence renders")
    );
    assert!(
        text(&bundle, "frames.csv")
            .starts_with("index,received_at,sensor,protocol,signal,mlat,hex\n")
    );
}

#[test]
fn a_format_1_bundle_may_not_hold_kind_0x06_leaves() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/legacy/bundle-v1.zip"
    );
    let mut bundle = Bundle::read_zip(std::fs::File::open(path).unwrap()).unwrap();
    // Append a kind 0x06 leaf line: the leaves check names it and the format.
    let leaf = EvidenceLeaf::RawRecord {
        sensor: "rx".into(),
        received_at_us: T0,
        protocol: Protocol::RemoteId.code(),
        signal: LeafSignal::None,
        mlat: false,
        record: vec![1, 2, 3],
    };
    let mut leaves = text(&bundle, "leaves.txt");
    leaves.push_str(&format!(
        "999999 {}\n",
        skyfence_evidence::to_hex(&leaf.encode().unwrap())
    ));
    bundle
        .files
        .insert("leaves.txt".into(), leaves.into_bytes());
    let v = verify(&bundle, &[]).unwrap();
    let c = check(&v, "leaves");
    assert_eq!(c.outcome, Outcome::Fail, "{c}");
    assert!(
        c.detail.contains("leaf 999999 is a kind 0x06 raw record: bundle format 1 carries raw frames as kind 0x03 leaves only"),
        "{c}"
    );
}
