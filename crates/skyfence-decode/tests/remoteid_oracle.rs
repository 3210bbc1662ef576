//! Differential tests against the reference implementation of ASTM F3411 Remote ID
//! (opendroneid-core-c, through the `opendroneid` crate): what it encodes skyfence
//! decodes to the same values, and what skyfence encodes it decodes to the same values.

use opendroneid as odid;
use opendroneid::Message as _;
use proptest::prelude::*;
use skyfence_decode::remoteid::message::{self as rid, Decoded, Message};

/// Values the reference gives as `f32` seconds or metres agree to its float rounding.
fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-3 * a.abs().max(1.0)
}

/// The reference's "unknown altitude" (−1000 m) as skyfence's `None`.
fn alt(v: f32) -> Option<f32> {
    (v != -1000.0).then_some(v)
}

fn same_alt(reference: f32, mine: Option<f32>) {
    match (alt(reference), mine) {
        (None, None) => {}
        (Some(a), Some(b)) => assert!(close(a, b), "{a} vs {b}"),
        other => panic!("altitude {other:?}"),
    }
}

fn same_lat_lon(lat: f64, lon: f64, mine: Option<skyfence_core::GeoPoint>) {
    match mine {
        None => assert_eq!((lat, lon), (0.0, 0.0)),
        Some(p) => {
            assert!((p.lat - lat).abs() < 1e-9, "{} vs {lat}", p.lat);
            // skyfence wraps +180° to −180° (the same meridian).
            let dlon = (p.lon - lon).abs();
            assert!(
                dlon < 1e-9 || (dlon - 360.0).abs() < 1e-9,
                "{} vs {lon}",
                p.lon
            );
        }
    }
}

/// The ASCII field as the reference hands it out: up to the first NUL.
fn c_text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Decodes `bytes` with the reference and asserts every field equals `mine`'s.
fn assert_reference_agrees(bytes: &[u8], mine: &Decoded) {
    match &mine.message {
        Message::BasicId(m) => {
            let r = odid::BasicId::decode(bytes).expect("reference decodes Basic ID");
            assert_eq!(
                r.id_type().map(|t| t as u32).ok(),
                Some(u32::from(m.id_type.code())).filter(|&c| c <= 4)
            );
            assert_eq!(
                r.ua_type().map(|t| t as u32).ok(),
                Some(u32::from(m.ua_type.0))
            );
            if m.id_type.is_text() {
                assert_eq!(r.uas_id(), c_text(&m.uas_id));
            }
        }
        Message::Location(m) => {
            let r = odid::Location::decode(bytes).expect("reference decodes Location");
            if let Ok(s) = r.status() {
                assert_eq!(s as u32, u32::from(m.status.0));
            }
            assert_eq!(
                r.height_type().map(|h| h as u32).ok(),
                Some(m.height_ref as u32)
            );
            assert_eq!(r.direction(), m.direction_deg);
            match (r.speed_horizontal(), m.speed_ms) {
                (Some(a), Some(b)) => assert!(close(a, b), "{a} vs {b}"),
                other => assert_eq!(other.0, other.1),
            }
            match (r.speed_vertical(), m.vspeed_ms) {
                (Some(a), Some(b)) => assert!(close(a, b), "{a} vs {b}"),
                other => assert_eq!(other.0, other.1),
            }
            same_lat_lon(r.latitude(), r.longitude(), m.position);
            same_alt(r.altitude_barometric().unwrap_or(-1000.0), m.alt_baro_m);
            same_alt(r.altitude_geodetic().unwrap_or(-1000.0), m.alt_geo_m);
            same_alt(r.height().unwrap_or(-1000.0), m.height_m);
            if let Ok(a) = r.horizontal_accuracy() {
                assert_eq!(a as u32, u32::from(m.h_accuracy));
            }
            if let Ok(a) = r.vertical_accuracy() {
                assert_eq!(a as u32, u32::from(m.v_accuracy));
            }
            if let Ok(a) = r.barometric_accuracy() {
                assert_eq!(a as u32, u32::from(m.baro_accuracy));
            }
            if let Ok(a) = r.speed_accuracy() {
                assert_eq!(a as u32, u32::from(m.speed_accuracy));
            }
            if let Ok(a) = r.timestamp_accuracy() {
                assert_eq!(a as u32, u32::from(m.time_accuracy_tenths.unwrap_or(0)));
            }
            match (r.timestamp(), m.tenths_after_hour) {
                (Some(s), Some(t)) => assert!(close(s, f32::from(t) / 10.0), "{s} vs {t}"),
                (None, None) => {}
                other => panic!("timestamp {other:?}"),
            }
        }
        Message::Auth(m) => {
            let r = odid::Auth::decode(bytes).expect("reference decodes Authentication");
            assert_eq!(r.data_page(), m.page);
            if let Ok(t) = r.auth_type() {
                assert_eq!(t as u32, u32::from(m.auth_type.0));
            }
            let data = r.auth_data();
            assert_eq!(&data[..m.data().len()], m.data());
            if m.page == 0 {
                assert_eq!(Some(r.last_page_index()), m.last_page);
                assert_eq!(Some(r.length()), m.length);
                assert_eq!(r.timestamp(), m.timestamp_s.unwrap_or(0));
            }
        }
        Message::SelfId(m) => {
            let r = odid::SelfId::decode(bytes).expect("reference decodes Self-ID");
            if let Ok(t) = r.desc_type() {
                assert_eq!(t as u32, u32::from(m.desc_type));
            }
            assert_eq!(r.desc(), c_text(&m.text));
        }
        Message::System(m) => {
            let r = odid::System::decode(bytes).expect("reference decodes System");
            if let Ok(t) = r.operator_location_type() {
                assert_eq!(t as u32, u32::from(m.operator_location_type.0));
            }
            if let Ok(t) = r.classification_type() {
                assert_eq!(t as u32, u32::from(m.classification_type));
            }
            same_lat_lon(r.operator_latitude(), r.operator_longitude(), m.operator);
            assert_eq!(r.area_count(), m.area_count);
            assert_eq!(r.area_radius(), m.area_radius_m);
            same_alt(r.area_ceiling(), m.area_ceiling_m);
            same_alt(r.area_floor(), m.area_floor_m);
            if let Ok(c) = r.category() {
                assert_eq!(c as u32, u32::from(m.category_eu));
            }
            if let Ok(c) = r.class_eu() {
                assert_eq!(c as u32, u32::from(m.class_eu));
            }
            same_alt(r.operator_altitude_geo(), m.operator_alt_geo_m);
            assert_eq!(r.timestamp(), m.timestamp_s.unwrap_or(0));
        }
        Message::OperatorId(m) => {
            let r = odid::OperatorId::decode(bytes).expect("reference decodes Operator ID");
            if let Ok(t) = r.operator_id_type() {
                assert_eq!(t as u32, u32::from(m.id_type));
            }
            assert_eq!(r.operator_id(), c_text(&m.id));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// skyfence encodes (every message it can decode from arbitrary bytes), the
    /// reference decodes the same values.
    #[test]
    fn reference_decodes_what_skyfence_encodes(
        kind in 0u8..=5,
        version in 0u8..=2,
        body in proptest::collection::vec(any::<u8>(), 24),
    ) {
        let mut bytes = vec![(kind << 4) | version];
        bytes.extend_from_slice(&body);
        if let Ok(mine) = rid::decode_message(&bytes) {
            let encoded = rid::encode_message(&mine);
            prop_assert_eq!(rid::decode_message(&encoded), Ok(mine));
            assert_reference_agrees(&encoded, &mine);
        }
    }

    /// The reference encodes a Location from physical values; skyfence decodes the
    /// values the reference decodes from the same bytes, within a step of the input.
    #[test]
    fn skyfence_decodes_the_reference_location(
        lat in -90.0f64..90.0, lon in -180.0f64..180.0,
        direction in 0.0f32..360.0, speed in 0.0f32..254.0, vspeed in -62.0f32..62.0,
        alt_baro in -999.0f32..30000.0, alt_geo in -999.0f32..30000.0, height in -999.0f32..3000.0,
        seconds in 0.0f32..3599.9, ground in any::<bool>(), status in 0u32..=4,
    ) {
        let status = [odid::Status::Undeclared, odid::Status::Ground, odid::Status::Airborne,
            odid::Status::Emergency, odid::Status::RemoteIdSystemFailure][status as usize];
        let reference = odid::Location::default()
            .with_status(status)
            .with_latitude(lat).unwrap()
            .with_longitude(lon).unwrap()
            .with_direction(direction).unwrap()
            .with_speed_horizontal(speed).unwrap()
            .with_speed_vertical(vspeed).unwrap()
            .with_altitude_barometric(alt_baro).unwrap()
            .with_altitude_geodetic(alt_geo).unwrap()
            .with_height(height).unwrap()
            .with_height_type(if ground { odid::HeightReference::Ground } else { odid::HeightReference::Takeoff })
            .with_horizontal_accuracy(odid::HorizontalAccuracy::LessThan10Meter)
            .with_vertical_accuracy(odid::VerticalAccuracy::LessThan3Meter)
            .with_timestamp(seconds).unwrap();
        let bytes = reference.encode_to_vec().unwrap();
        let mine = rid::decode_message(&bytes).expect("skyfence decodes the reference's Location");
        assert_reference_agrees(&bytes, &mine);
        let Message::Location(l) = mine.message else { panic!("{mine:?}") };
        let p = l.position.unwrap();
        prop_assert!((p.lat - lat).abs() <= 1e-7 && (p.lon - lon).abs() <= 1e-7);
        prop_assert!((l.speed_ms.unwrap() - speed).abs() <= 0.375 + 1e-3);
        prop_assert!((l.vspeed_ms.unwrap() - vspeed).abs() <= 0.25 + 1e-3);
        prop_assert!((l.alt_geo_m.unwrap() - alt_geo).abs() <= 0.25 + 1e-2);
        prop_assert_eq!(l.accuracy_m(), Some(10.0));
    }

    /// The reference encodes a System and an Operator ID; skyfence decodes the same.
    #[test]
    fn skyfence_decodes_the_reference_system_and_operator_id(
        lat in -90.0f64..90.0, lon in -180.0f64..180.0, count in any::<u16>(),
        radius in 0u16..2550, ceiling in -999.0f32..3000.0, alt in -999.0f32..3000.0,
        timestamp in 1u32.., id in "[A-Z0-9-]{1,20}",
    ) {
        let system = odid::System::default()
            .with_operator_location_type(odid::OperatorLocationType::LiveGnss)
            .with_classification_type(odid::ClassificationType::EuropeanUnion)
            .with_operator_latitude(lat).unwrap()
            .with_operator_longitude(lon).unwrap()
            .with_area_count(count)
            .with_area_radius(radius).unwrap()
            .with_area_ceiling(ceiling).unwrap()
            .with_area_floor(-999.0).unwrap()
            .with_category(odid::Category::Open)
            .with_class_eu(odid::ClassEu::Class1)
            .with_operator_altitude_geo(alt).unwrap()
            .with_timestamp(timestamp);
        let bytes = system.encode_to_vec().unwrap();
        let mine = rid::decode_message(&bytes).expect("skyfence decodes the reference's System");
        prop_assert_eq!(mine.version, 2);
        assert_reference_agrees(&bytes, &mine);
        let operator = odid::OperatorId::default().with_operator_id(&id).unwrap();
        let bytes = operator.encode_to_vec().unwrap();
        let mine = rid::decode_message(&bytes).unwrap();
        assert_reference_agrees(&bytes, &mine);
        let Message::OperatorId(o) = mine.message else { panic!() };
        prop_assert_eq!(o.id(), Some(id.as_str()));
    }
}

/// A message pack the reference builds (Basic ID, Location, System, Operator ID, Self-ID)
/// unpacks in skyfence to the same five messages; and the pack skyfence builds from them
/// the reference unpacks.
#[test]
fn message_packs_both_ways() {
    let basic = odid::BasicId::default()
        .with_id_type(odid::IdType::SerialNumber)
        .with_ua_type(odid::UaType::HelicopterOrMultirotor)
        .with_uas_id("1581F5FJD239C00DW22E")
        .unwrap();
    let location = odid::Location::default()
        .with_status(odid::Status::Airborne)
        .with_latitude(34.0)
        .unwrap()
        .with_longitude(71.1)
        .unwrap();
    let system = odid::System::default()
        .with_operator_latitude(34.01)
        .unwrap()
        .with_operator_longitude(71.09)
        .unwrap();
    let operator = odid::OperatorId::default()
        .with_operator_id("PAK-OP-12345")
        .unwrap();
    let self_id = odid::SelfId::default().with_desc("Survey").unwrap();
    let pack = odid::UasData::default()
        .with_basic_id(vec![basic])
        .with_location(Some(location))
        .with_system(Some(system))
        .with_operator_id(Some(operator))
        .with_self_id(Some(self_id))
        .encode_to_vec()
        .unwrap();
    let mut mine = Vec::new();
    let mut drops = Vec::new();
    rid::decode_record(&pack, &mut |d| mine.push(d), &mut |r| drops.push(r));
    assert_eq!(drops, []);
    assert_eq!(mine.len(), 5);
    for (d, bytes) in mine.iter().zip(pack[3..].chunks_exact(25)) {
        assert_reference_agrees(bytes, d);
    }
    let Message::BasicId(b) = mine[0].message else {
        panic!("{:?}", mine[0])
    };
    assert_eq!(b.target_name().unwrap().as_str(), "1581F5FJD239C00DW22E");

    let encoded: Vec<[u8; 25]> = mine.iter().map(rid::encode_message).collect();
    let mut ours = Vec::new();
    rid::encode_pack(2, &encoded, &mut ours);
    let theirs = odid::UasData::decode(&ours[..]).expect("reference unpacks skyfence's pack");
    assert_eq!(theirs.basic_id()[0].uas_id(), "1581F5FJD239C00DW22E");
    assert_eq!(theirs.location().unwrap().latitude(), 34.0);
    assert_eq!(theirs.system().unwrap().operator_longitude(), 71.09);
    assert_eq!(theirs.operator_id().unwrap().operator_id(), "PAK-OP-12345");
    assert_eq!(theirs.self_id().unwrap().desc(), "Survey");
}

/// Every message of the opendroneid sample captures (testdata/remoteid: Wi-Fi beacon,
/// Wi-Fi NAN, Bluetooth 5 long range), as skyfence reads them through `pcap:`, decodes
/// with the reference to the same values.
#[test]
fn sample_captures_agree_with_the_reference() {
    use skyfence_decode::codec::{ClockOptions, Item, decode_all};
    let mut checked = 0;
    for name in [
        "odid_wifi_bcn_sample.pcap",
        "odid_wifi_sample.pcap",
        "odid_bt5_lr_sample.pcapng",
    ] {
        let path = format!(
            "{}/../../testdata/remoteid/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).unwrap();
        let (items, _) = decode_all(
            &mut *skyfence_decode::format::PCAP.codec(ClockOptions::default()),
            &bytes,
        );
        for item in items {
            let Item::RemoteId(r) = item else {
                panic!("{name}: {item:?}")
            };
            let data = r.data();
            let messages: &[u8] = if r.is_pack() {
                rid::pack_messages(data).unwrap_or(&[])
            } else {
                data
            };
            for m in messages.chunks_exact(25) {
                // Messages of a reserved type or version are counted, not decoded.
                if let Ok(mine) = rid::decode_message(m) {
                    assert_reference_agrees(m, &mine);
                    checked += 1;
                }
            }
        }
    }
    // 21 beacon packs, 42 NAN packs and the Bluetooth packs: well over a thousand.
    assert!(checked > 1000, "{checked}");
}
