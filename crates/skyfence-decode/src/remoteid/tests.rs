//! Messages built byte by byte from the F3411-22a tables, decoded to known values;
//! every way a message can be wrong; decode ∘ encode on arbitrary bytes.

use proptest::prelude::*;

use super::message::*;
use crate::DropReason;

fn decode(b: &[u8]) -> Result<Decoded, DropReason> {
    decode_message(b)
}

fn basic_id_bytes() -> [u8; 25] {
    let mut b = [0u8; 25];
    b[0] = 0x02; // Basic ID, version 2
    b[1] = 0x12; // serial number, helicopter or multirotor
    b[2..22].copy_from_slice(b"1581F5FJD239C00DW22E");
    b
}

/// A Location / Vector message: airborne, height above ground, direction 190° (10 + 180,
/// E/W flag set), 10 m/s, −2 m/s, 34.5° N 69.2° E, pressure altitude 120 m, geodetic
/// 125 m, height 50 m, accuracies (h < 10 m, v < 10 m, baro < 25 m, speed < 3 m/s), at
/// 1234.5 s after the hour ± 0.2 s.
fn location_bytes() -> [u8; 25] {
    let mut b = [0u8; 25];
    b[0] = 0x12;
    b[1] = 0x20 | 0x04 | 0x02;
    b[2] = 10;
    b[3] = 40;
    b[4] = (-4i8) as u8;
    b[5..9].copy_from_slice(&345_000_000i32.to_le_bytes());
    b[9..13].copy_from_slice(&692_000_000i32.to_le_bytes());
    b[13..15].copy_from_slice(&2240u16.to_le_bytes());
    b[15..17].copy_from_slice(&2250u16.to_le_bytes());
    b[17..19].copy_from_slice(&2100u16.to_le_bytes());
    b[19] = 0x4a;
    b[20] = 0x32;
    b[21..23].copy_from_slice(&12_345u16.to_le_bytes());
    b[23] = 2;
    b
}

#[test]
fn basic_id_serial_number() {
    let d = decode(&basic_id_bytes()).unwrap();
    assert_eq!(d.version, 2);
    let Message::BasicId(m) = d.message else {
        panic!("{d:?}")
    };
    assert_eq!(m.id_type, IdType::SerialNumber);
    assert_eq!(m.ua_type.as_str(), "helicopter_or_multirotor");
    assert_eq!(m.id_bytes(), b"1581F5FJD239C00DW22E");
    assert_eq!(m.target_name().unwrap().as_str(), "1581F5FJD239C00DW22E");
}

#[test]
fn basic_id_binary_ids_are_named_in_base64url() {
    let mut b = basic_id_bytes();
    b[1] = 0x42; // specific session id
    b[2..22].fill(0);
    b[2] = 1; // IETF DRIP
    b[3..19].copy_from_slice(&[0xfb; 16]);
    let Message::BasicId(m) = decode(&b).unwrap().message else {
        panic!()
    };
    assert_eq!(m.id_type, IdType::SpecificSession);
    // 17 bytes → 23 characters: 0x01 0xfb 0xfb → "Afv7", then 0xfb×3 → "-_v7"...
    let name = m.target_name().unwrap();
    assert_eq!(name.as_str(), "Afv7-_v7-_v7-_v7-_v7-_s");
    // An all-zero id names nothing.
    b[2..22].fill(0);
    let Message::BasicId(m) = decode(&b).unwrap().message else {
        panic!()
    };
    assert_eq!(m.target_name(), None);
}

#[test]
fn location_fields_follow_the_tables() {
    let b = location_bytes();
    let d = decode(&b).unwrap();
    assert_eq!(d.version, 2);
    let Message::Location(l) = d.message else {
        panic!("{d:?}")
    };
    assert_eq!(l.status.as_str(), "airborne");
    assert_eq!(l.height_ref, HeightReference::Ground);
    assert_eq!(l.direction_deg, Some(190.0));
    assert_eq!(l.speed_ms, Some(10.0));
    assert_eq!(l.vspeed_ms, Some(-2.0));
    let p = l.position.unwrap();
    assert!(
        (p.lat - 34.5).abs() < 1e-9 && (p.lon - 69.2).abs() < 1e-9,
        "{p:?}"
    );
    assert_eq!(l.alt_baro_m, Some(120.0));
    assert_eq!(l.alt_geo_m, Some(125.0));
    assert_eq!(l.height_m, Some(50.0));
    assert_eq!(l.accuracy_m(), Some(10.0));
    assert_eq!(vertical_accuracy_m(l.v_accuracy), Some(10.0));
    assert_eq!(vertical_accuracy_m(l.baro_accuracy), Some(25.0));
    assert_eq!(speed_accuracy_ms(l.speed_accuracy), Some(3.0));
    assert_eq!(l.tenths_after_hour, Some(12_345));
    assert_eq!(l.time_accuracy_tenths, Some(2));
    assert_eq!(encode_message(&d), b);
}

#[test]
fn location_speed_multiplier_and_unknowns() {
    let mut b = location_bytes();
    // 0.75 m/s steps above 63.75: code 100 → 138.75 m/s.
    b[1] |= 0x01;
    b[3] = 100;
    let Message::Location(l) = decode(&b).unwrap().message else {
        panic!()
    };
    assert_eq!(l.speed_ms, Some(138.75));
    // Every field at its "unknown" code.
    b[1] = 0x03; // E/W and multiplier set
    b[2] = 181; // 361°
    b[3] = 255; // 255 m/s
    b[4] = 126; // 63 m/s
    b[5..19].fill(0);
    b[19..21].fill(0);
    b[21..23].copy_from_slice(&0xffffu16.to_le_bytes());
    b[23] = 0;
    let d = decode(&b).unwrap();
    let Message::Location(l) = d.message else {
        panic!()
    };
    assert_eq!(l, Location::default());
    assert_eq!(l.accuracy_m(), None);
    assert_eq!(encode_message(&d), b);
}

#[test]
fn system_operator_area_and_eu_classification() {
    let mut b = [0u8; 25];
    b[0] = 0x42;
    b[1] = 0x01 | (1 << 2); // live GNSS, EU classification
    b[2..6].copy_from_slice(&340_100_000i32.to_le_bytes());
    b[6..10].copy_from_slice(&711_000_000i32.to_le_bytes());
    b[10..12].copy_from_slice(&1u16.to_le_bytes());
    b[12] = 50; // 500 m
    b[13..15].copy_from_slice(&2400u16.to_le_bytes()); // 200 m
    b[15..17].copy_from_slice(&2000u16.to_le_bytes()); // 0 m
    b[17] = 0x12; // open category, class 1 (C1)
    b[18..20].copy_from_slice(&2700u16.to_le_bytes()); // 350 m
    b[20..24].copy_from_slice(&153_800_000u32.to_le_bytes());
    let d = decode(&b).unwrap();
    let Message::System(s) = d.message else {
        panic!()
    };
    assert_eq!(s.operator_location_type.as_str(), "live_gnss");
    assert_eq!(s.classification_type, 1);
    let op = s.operator.unwrap();
    assert!((op.lat - 34.01).abs() < 1e-9 && (op.lon - 71.1).abs() < 1e-9);
    assert_eq!((s.area_count, s.area_radius_m), (1, 500));
    assert_eq!((s.area_ceiling_m, s.area_floor_m), (Some(200.0), Some(0.0)));
    assert_eq!((s.category_eu, s.class_eu), (1, 2));
    assert_eq!(s.operator_alt_geo_m, Some(350.0));
    assert_eq!(s.timestamp_s, Some(153_800_000));
    assert_eq!(encode_message(&d), b);
    // F3411-19 (version 0) reserves bytes 17–24; EN 4709-002 senders fill them in
    // version 0 too, and they are read alike. A strict F3411-19 sender's zeros read as
    // undeclared and unknown.
    b[0] = 0x40;
    let Message::System(s) = decode(&b).unwrap().message else {
        panic!()
    };
    assert_eq!(
        (s.category_eu, s.operator_alt_geo_m, s.timestamp_s),
        (1, Some(350.0), Some(153_800_000))
    );
    b[17..].fill(0);
    let Message::System(s) = decode(&b).unwrap().message else {
        panic!()
    };
    assert_eq!(
        (
            s.category_eu,
            s.class_eu,
            s.operator_alt_geo_m,
            s.timestamp_s
        ),
        (0, 0, None, None)
    );
    assert!(s.operator.is_some());
}

#[test]
fn auth_pages_self_id_and_operator_id() {
    let mut b = [0u8; 25];
    b[0] = 0x22;
    b[1] = 0x10; // UAS ID signature, page 0
    b[2] = 2; // pages 0–2
    b[3] = 60; // bytes
    b[4..8].copy_from_slice(&100u32.to_le_bytes());
    b[8..25].copy_from_slice(&[0xaa; 17]);
    let d = decode(&b).unwrap();
    let Message::Auth(a) = d.message else {
        panic!()
    };
    assert_eq!(a.auth_type.as_str(), "uas_id_signature");
    assert_eq!(
        (a.page, a.last_page, a.length, a.timestamp_s),
        (0, Some(2), Some(60), Some(100))
    );
    assert_eq!(a.data(), &[0xaa; 17]);
    assert_eq!(encode_message(&d), b);
    // Page 0 announcing 16 pages after it, or more data than three pages hold.
    let mut bad = b;
    bad[2] = 16;
    assert_eq!(decode(&bad), Err(DropReason::Unparsable));
    bad[2] = 2;
    bad[3] = 17 + 2 * 23 + 1;
    assert_eq!(decode(&bad), Err(DropReason::Unparsable));
    b[1] = 0x12; // page 2
    b[2..25].copy_from_slice(&[0x55; 23]);
    let Message::Auth(a) = decode(&b).unwrap().message else {
        panic!()
    };
    assert_eq!((a.page, a.last_page), (2, None));
    assert_eq!(a.data(), &[0x55; 23]);

    let mut s = [0u8; 25];
    s[0] = 0x32;
    s[2..2 + 14].copy_from_slice(b"Survey flight ");
    let Message::SelfId(m) = decode(&s).unwrap().message else {
        panic!()
    };
    assert_eq!((m.desc_type, m.text()), (0, Some("Survey flight")));

    let mut o = [0u8; 25];
    o[0] = 0x52;
    o[2..2 + 12].copy_from_slice(b"PAK-OP-12345");
    let Message::OperatorId(m) = decode(&o).unwrap().message else {
        panic!()
    };
    assert_eq!((m.id_type, m.id()), (0, Some("PAK-OP-12345")));
}

#[test]
fn bad_messages_are_dropped_by_reason() {
    let good = location_bytes();
    assert_eq!(decode(&good[..24]), Err(DropReason::BadLength));
    let mut long = good.to_vec();
    long.push(0);
    assert_eq!(decode(&long), Err(DropReason::BadLength));
    assert_eq!(decode(&[]), Err(DropReason::BadLength));
    let mut b = good;
    b[0] = 0x62; // reserved type 6
    assert_eq!(decode(&b), Err(DropReason::UnsupportedFormat));
    b[0] = 0x13; // version 3
    assert_eq!(decode(&b), Err(DropReason::UnsupportedFormat));
    b[0] = 0x12;
    b[5..9].copy_from_slice(&900_000_001i32.to_le_bytes()); // 90.0000001° N
    assert_eq!(decode(&b), Err(DropReason::BadPosition));
    b[5..9].copy_from_slice(&0i32.to_le_bytes());
    b[9..13].copy_from_slice(&(-1_800_000_001i32).to_le_bytes());
    assert_eq!(decode(&b), Err(DropReason::BadPosition));
    // Operator positions too.
    let mut s = [0u8; 25];
    s[0] = 0x42;
    s[2..6].copy_from_slice(&i32::MIN.to_le_bytes());
    assert_eq!(decode(&s), Err(DropReason::BadPosition));
}

fn record(bytes: &[u8]) -> (Vec<Decoded>, Vec<DropReason>) {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    let n = decode_record(bytes, &mut |d| ok.push(d), &mut |r| bad.push(r));
    assert_eq!(n, ok.len());
    (ok, bad)
}

#[test]
fn message_packs_unpack_and_bad_packs_are_one_drop() {
    let mut pack = Vec::new();
    let mut bad_lat = location_bytes();
    bad_lat[5..9].copy_from_slice(&i32::MAX.to_le_bytes());
    encode_pack(2, &[basic_id_bytes(), location_bytes(), bad_lat], &mut pack);
    assert_eq!(pack.len(), 3 + 3 * 25);
    assert_eq!(&pack[..3], &[0xf2, 25, 3]);
    let (ok, bad) = record(&pack);
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0].message.message_type(), MessageType::BasicId);
    assert_eq!(ok[1].message.message_type(), MessageType::Location);
    assert_eq!(bad, [DropReason::BadPosition]);
    // The count disagrees with the length (one message missing, one too many).
    assert_eq!(record(&pack[..pack.len() - 25]).1, [DropReason::BadLength]);
    let mut longer = pack.clone();
    longer.extend_from_slice(&[0; 25]);
    assert_eq!(record(&longer).1, [DropReason::BadLength]);
    // A count of 0 or 10, a size byte other than 25.
    for (i, v) in [(2, 0), (2, 10), (1, 24)] {
        let mut p = pack.clone();
        p[i] = v;
        assert_eq!(record(&p).1, [DropReason::BadLength], "byte {i} = {v}");
    }
    // A pack inside a pack.
    let mut inner = [0u8; 25];
    inner[0] = 0xf2;
    let mut nested = Vec::new();
    encode_pack(2, &[inner], &mut nested);
    assert_eq!(
        record(&nested),
        (vec![], vec![DropReason::UnsupportedFormat])
    );
    assert_eq!(record(&[0xf2]).1, [DropReason::BadLength]);
    assert_eq!(record(&[]).1, [DropReason::BadLength]);
    // A single message goes through too.
    assert_eq!(record(&basic_id_bytes()).0.len(), 1);
}

proptest! {
    /// Any 25 bytes: decoding never panics, and what decodes re-encodes to bytes that
    /// decode to the same values (reserved bits aside).
    #[test]
    fn decode_encode_decode_is_stable(bytes in proptest::collection::vec(any::<u8>(), 25)) {
        if let Ok(d) = decode_message(&bytes) {
            let again = decode_message(&encode_message(&d));
            prop_assert_eq!(again, Ok(d));
            if let Message::Location(l) = d.message
                && let Some(p) = l.position
            {
                prop_assert!(p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0);
            }
        }
    }

    /// Any bytes as a record: no panic, and every message is delivered or dropped.
    #[test]
    fn any_record_is_decoded_or_counted(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (mut ok, mut bad) = (0usize, 0usize);
        decode_record(&bytes, &mut |_| ok += 1, &mut |_| bad += 1);
        prop_assert!(ok + bad >= 1);
    }
}

mod line_and_assembly {
    use skyfence_core::{
        AltitudeDatum, PositionKind, Protocol, Signal, SourceId, TargetId, Timestamp,
    };

    use super::{basic_id_bytes, location_bytes};
    use crate::DropReason;
    use crate::remoteid::assemble::Assembler;
    use crate::remoteid::line::{Record, RemoteIdLineDecoder, encode_line, parse_mac};
    use crate::remoteid::message::encode_pack;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02X}")).collect()
    }

    const MAC: &str = "0a:1b:2c:3d:4e:5f";

    fn system_bytes() -> [u8; 25] {
        let mut b = [0u8; 25];
        b[0] = 0x42;
        b[1] = 0x01;
        b[2..6].copy_from_slice(&340_100_000i32.to_le_bytes());
        b[6..10].copy_from_slice(&711_000_000i32.to_le_bytes());
        b[20..24].copy_from_slice(&153_800_000u32.to_le_bytes());
        b
    }

    fn operator_bytes() -> [u8; 25] {
        let mut o = [0u8; 25];
        o[0] = 0x52;
        o[2..14].copy_from_slice(b"PAK-OP-12345");
        o
    }

    #[test]
    fn lines_parse_and_bad_lines_are_counted_by_reason() {
        let mut pack = Vec::new();
        encode_pack(2, &[basic_id_bytes(), location_bytes()], &mut pack);
        let text = format!(
            "timestamp,receiver,rssi,transmitter,hex\n\
             # a comment\n\
             1700000000.5,rx-1,-67,{MAC},{}\n\
             1700000001,,,,{}\r\n\
             1700000002,rx-1,-67,,{}\n\
             1700000003,rx-1,-67,{MAC},{}\n\
             1700000004,rx-1,-67,{MAC},{}FF\n\
             1700000005,rx-1,-67,{MAC},{}0\n\
             1700000006,rx-1,-67,{MAC},XX{}\n\
             yesterday,rx-1,-67,{MAC},{}\n\
             1700000007,rx 1,-67,{MAC},{}\n\
             1700000008,rx-1,loud,{MAC},{}\n\
             1700000009,rx-1,-67,0a:1b:2c:3d:4e,{}\n\
             1700000010,rx-1,-67,{MAC}\n\
             no commas here\n\
             1700000011,rx-1,-67.4,{MAC},{}",
            hex(&basic_id_bytes()),
            hex(&pack),
            hex(&location_bytes()), // a single message without a transmitter
            hex(&location_bytes()[..24]),
            hex(&location_bytes()),
            hex(&location_bytes()),
            hex(&location_bytes()[1..]),
            hex(&location_bytes()),
            hex(&location_bytes()),
            hex(&location_bytes()),
            hex(&location_bytes()),
            hex(&location_bytes()),
        );
        let (records, drops) = RemoteIdLineDecoder::decode_all(text.as_bytes());
        assert_eq!(records.len(), 3, "{records:?}");
        assert_eq!(records[0].at, Timestamp::from_micros(1_700_000_000_500_000));
        assert_eq!(records[0].receiver.unwrap().as_str(), "rx-1");
        assert_eq!(records[0].rssi_dbm, Some(-67));
        assert_eq!(records[0].transmitter, parse_mac(MAC.as_bytes()));
        assert_eq!(records[0].data(), &basic_id_bytes());
        assert!(records[1].is_pack() && records[1].transmitter.is_none());
        assert_eq!(records[2].rssi_dbm, Some(-67));
        assert_eq!(drops.get(DropReason::BadLength), 4, "{drops:?}");
        assert_eq!(drops.get(DropReason::BadHex), 1);
        assert_eq!(drops.get(DropReason::BadTimestamp), 1);
        assert_eq!(drops.get(DropReason::Unparsable), 4);
        assert_eq!(drops.get(DropReason::Garbage), 14);
        // Any chunking gives the same.
        let mut d = RemoteIdLineDecoder::new();
        let mut again = Vec::new();
        for c in text.as_bytes().chunks(7) {
            d.decode(c, &mut |r| again.push(r));
        }
        d.finish(&mut |r| again.push(r));
        assert_eq!(again, records);
        assert_eq!(*d.drops(), drops);
        // What encode_line writes reads back the same.
        let mut line = String::new();
        for r in &records {
            encode_line(r, &mut line);
        }
        assert_eq!(RemoteIdLineDecoder::decode_all(line.as_bytes()).0, records);
    }

    #[test]
    fn evidence_bytes_carry_the_transmitter_and_read_back() {
        let at = Timestamp::from_secs(1);
        let mac = parse_mac(MAC.as_bytes());
        let single = Record::new(at, mac, &location_bytes()).unwrap();
        let mut pack = Vec::new();
        encode_pack(2, &[basic_id_bytes(), location_bytes()], &mut pack);
        for r in [
            single,
            Record::new(at, None, &pack).unwrap(),
            Record::new(at, mac, &pack).unwrap(),
        ] {
            let mut bytes = Vec::new();
            r.evidence_bytes(&mut bytes);
            assert_eq!(Record::from_evidence(at, &bytes), Some(r));
        }
        assert_eq!(Record::new(at, None, &location_bytes()), None);
        assert_eq!(Record::from_evidence(at, &[0; 30]), None);
    }

    #[test]
    fn a_drone_is_assembled_by_transmitter_into_observations() {
        let mac = parse_mac(MAC.as_bytes());
        let rec = |s: i64, bytes: &[u8]| {
            let mut r = Record::new(Timestamp::from_secs(s), mac, bytes).unwrap();
            r.rssi_dbm = Some(-70);
            r
        };
        let mut a = Assembler::new();
        let src = SourceId(2);
        // A Location before any Basic ID names nothing.
        assert_eq!(a.observe(src, &rec(0, &location_bytes())), None);
        assert_eq!(a.drops(src).get(DropReason::UnknownAddress), 1);
        let basic = a.observe(src, &rec(1, &basic_id_bytes())).unwrap();
        assert_eq!(
            basic.target,
            TargetId::RemoteId(skyfence_core::ShortName::new("1581F5FJD239C00DW22E").unwrap())
        );
        assert_eq!(basic.position, None);
        assert_eq!(
            basic.remoteid.as_ref().unwrap().ua_type.as_deref(),
            Some("helicopter_or_multirotor")
        );
        a.observe(src, &rec(2, &system_bytes())).unwrap();
        let op = a.observe(src, &rec(3, &operator_bytes())).unwrap();
        let fix = op.remoteid.as_ref().unwrap().operator.clone().unwrap();
        assert_eq!(fix.id.as_deref(), Some("PAK-OP-12345"));
        assert!((fix.lat - 34.01).abs() < 1e-9 && (fix.lon - 71.1).abs() < 1e-9);
        // 153 800 000 s after 2019-01-01.
        assert_eq!(fix.at, Timestamp::from_secs(1_546_300_800 + 153_800_000));
        let loc = a.observe(src, &rec(4, &location_bytes())).unwrap();
        assert_eq!(loc.position_kind, PositionKind::RemoteId);
        let p = loc.position.unwrap();
        assert!((p.lat - 34.5).abs() < 1e-9 && (p.lon - 69.2).abs() < 1e-9);
        assert_eq!(loc.accuracy_m, Some(10.0));
        let alt = loc.altitude.unwrap();
        assert_eq!((alt.feet, alt.datum), (410, AltitudeDatum::Geometric)); // 125 m
        let v = loc.velocity.unwrap();
        assert!((v.gs_kt.unwrap() - 19.438).abs() < 0.01);
        assert_eq!((v.track_deg, v.vrate_fpm), (Some(190.0), Some(-394)));
        let raw = loc.raw.unwrap();
        assert_eq!(raw.proto, Protocol::RemoteId);
        assert_eq!(raw.signal, Some(Signal::Dbm(-70)));
        assert_eq!(&raw.data()[..6], &mac.unwrap());
        assert_eq!(&raw.data()[6..], &location_bytes());
        assert!(!loc.remoteid.as_ref().unwrap().authentication);
        // The same drone heard by another source is another assembly.
        assert_eq!(a.observe(SourceId(0), &rec(5, &location_bytes())), None);
        // Authentication pages: presence flagged, data assembled.
        let mut page0 = [0u8; 25];
        page0[0] = 0x22;
        page0[1] = 0x10;
        page0[2] = 1;
        page0[3] = 20;
        page0[8..25].copy_from_slice(&[7; 17]);
        let mut page1 = [0u8; 25];
        page1[0] = 0x22;
        page1[1] = 0x11;
        page1[2..25].copy_from_slice(&[9; 23]);
        let o = a.observe(src, &rec(6, &page1)).unwrap();
        assert!(o.remoteid.as_ref().unwrap().authentication);
        assert_eq!(a.authentication(src, mac.unwrap()), None);
        a.observe(src, &rec(7, &page0)).unwrap();
        let mut want = vec![7u8; 17];
        want.extend_from_slice(&[9; 3]);
        assert_eq!(a.authentication(src, mac.unwrap()), Some(want));
        a.expire(Timestamp::from_secs(100));
        assert_eq!(a.drones(), 0);
    }

    /// The receiver a line names is the observation's sensor (so the evidence names
    /// it), and each receiver assembles its drones apart: a bundle's re-detection,
    /// which replays each receiver's records as one lane, puts the same records
    /// together as the service did.
    #[test]
    fn the_receiver_named_by_a_record_is_its_sensor_and_its_own_assembly() {
        let mac = parse_mac(MAC.as_bytes());
        let name = |s: &str| skyfence_core::ShortName::new(s).unwrap();
        let rec = |s: i64, receiver: Option<&str>, bytes: &[u8]| {
            let mut r = Record::new(Timestamp::from_secs(s), mac, bytes).unwrap();
            r.receiver = receiver.map(name);
            r
        };
        let mut a = Assembler::new();
        let src = SourceId(1);
        let feed = Some(name("rid-feed"));
        let o = a
            .observe_by(src, feed, &rec(0, Some("rx-north"), &basic_id_bytes()))
            .unwrap();
        assert_eq!(o.sensor, Some(name("rx-north")));
        let o = a
            .observe_by(src, feed, &rec(1, Some("rx-north"), &location_bytes()))
            .unwrap();
        assert_eq!(o.sensor, Some(name("rx-north")));
        assert!(o.position.is_some());
        // Another receiver on the same source has not heard the Basic ID yet.
        assert_eq!(
            a.observe_by(src, feed, &rec(2, Some("rx-south"), &location_bytes())),
            None
        );
        assert_eq!(a.drops(src).get(DropReason::UnknownAddress), 1);
        // A line without a receiver is the source's sensor's, again apart...
        assert_eq!(
            a.observe_by(src, feed, &rec(3, None, &location_bytes())),
            None
        );
        let o = a
            .observe_by(src, feed, &rec(4, None, &basic_id_bytes()))
            .unwrap();
        assert_eq!(o.sensor, feed);
        // ... and the same lane as a replayed leaf named after that sensor, whatever
        // source replays it.
        let o = a
            .observe_by(
                SourceId(7),
                None,
                &rec(5, Some("rid-feed"), &location_bytes()),
            )
            .unwrap();
        assert!(o.position.is_some());
        assert_eq!(a.drones(), 3); // rx-north, rx-south (unnamed yet), rid-feed
    }

    #[test]
    fn a_pack_without_a_transmitter_names_itself() {
        let mut pack = Vec::new();
        encode_pack(
            2,
            &[basic_id_bytes(), location_bytes(), system_bytes()],
            &mut pack,
        );
        let r = Record::new(Timestamp::from_secs(9), None, &pack).unwrap();
        let mut a = Assembler::new();
        let o = a.observe(SourceId(0), &r).unwrap();
        assert_eq!(o.target.to_string(), "1581F5FJD239C00DW22E");
        assert!(o.position.is_some());
        assert!(o.remoteid.as_ref().unwrap().operator.is_some());
        assert_eq!(o.raw.unwrap().data(), &pack[..]);
        // A pack with no Basic ID and no transmitter names nothing.
        let mut anon = Vec::new();
        encode_pack(2, &[location_bytes()], &mut anon);
        let r = Record::new(Timestamp::from_secs(9), None, &anon).unwrap();
        assert_eq!(a.observe(SourceId(0), &r), None);
        assert_eq!(a.drops(SourceId(0)).get(DropReason::UnknownAddress), 1);
    }
}

/// Frames built field by field from F3411-22a §5.4.4–5.4.6, the Bluetooth Core
/// specification's advertising PDUs and IEEE 802.11 management frames.
mod transports {
    use super::{basic_id_bytes, location_bytes};
    use crate::remoteid::message::{decode_record, encode_pack};
    use crate::remoteid::transport::*;

    /// The Remote ID AD structure: length, 0x16, UUID 0xFFFA (little-endian), 0x0D,
    /// counter, payload.
    fn service_data(counter: u8, payload: &[u8]) -> Vec<u8> {
        let mut ad = vec![(5 + payload.len()) as u8, 0x16, 0xfa, 0xff, 0x0d, counter];
        ad.extend_from_slice(payload);
        ad
    }

    /// Advertiser 60:60:1F:12:34:56, sent least significant byte first.
    const ADV_A_AIR: [u8; 6] = [0x56, 0x34, 0x12, 0x1f, 0x60, 0x60];
    const ADV_A: [u8; 6] = [0x60, 0x60, 0x1f, 0x12, 0x34, 0x56];

    #[test]
    fn bluetooth_4_legacy_advertising() {
        // Flags AD first (as phones send), then the Remote ID service data: 31 bytes of
        // AdvData would not fit flags too, so the flags are left out as drones do.
        let adv_data = service_data(7, &location_bytes());
        assert_eq!(adv_data.len(), 31);
        let mut pdu = vec![0x42, (6 + adv_data.len()) as u8]; // ADV_NONCONN_IND, TxAdd random
        pdu.extend_from_slice(&ADV_A_AIR);
        pdu.extend_from_slice(&adv_data);
        let c = ble_legacy_pdu(&pdu).unwrap();
        assert_eq!(c.transmitter, Some(ADV_A));
        assert_eq!(c.counter, 7);
        assert_eq!(c.payload, &location_bytes());
        // Another AD structure before it is skipped.
        let mut with_flags = vec![0x02, 0x01, 0x06];
        with_flags.extend_from_slice(&adv_data);
        assert_eq!(
            ble_advertising_data(&with_flags),
            Some((7, &location_bytes()[..]))
        );
        // Not Remote ID: another UUID, another app code, a connectable scan response type,
        // a length past the end.
        let mut other = adv_data.clone();
        other[2] = 0xfb;
        assert_eq!(ble_advertising_data(&other), None);
        let mut other = adv_data.clone();
        other[4] = 0x0e;
        assert_eq!(ble_advertising_data(&other), None);
        let mut scan_rsp = pdu.clone();
        scan_rsp[0] = 0x44;
        assert_eq!(ble_legacy_pdu(&scan_rsp), None);
        assert_eq!(ble_legacy_pdu(&pdu[..pdu.len() - 1]), None);
        assert_eq!(ble_advertising_data(&[0x1e, 0x16, 0xfa]), None);
    }

    #[test]
    fn bluetooth_5_extended_advertising_carries_a_pack() {
        let mut pack = Vec::new();
        encode_pack(2, &[basic_id_bytes(), location_bytes()], &mut pack);
        let adv_data = service_data(3, &pack);
        // Extended header: flags (AdvA, ADI), AdvA, ADI (2 bytes).
        let mut ext = vec![0x01 | 0x08];
        ext.extend_from_slice(&ADV_A_AIR);
        ext.extend_from_slice(&[0x01, 0x10]);
        let mut body = vec![ext.len() as u8]; // AdvMode 0 (non-connectable)
        body.extend_from_slice(&ext);
        body.extend_from_slice(&adv_data);
        let mut pdu = vec![0x07, body.len() as u8];
        pdu.extend_from_slice(&body);
        let c = ble_extended_pdu(&pdu).unwrap();
        assert_eq!((c.transmitter, c.counter), (Some(ADV_A), 3));
        assert_eq!(c.payload, &pack[..]);
        let mut n = 0;
        decode_record(c.payload, &mut |_| n += 1, &mut |r| panic!("{r:?}"));
        assert_eq!(n, 2);
        assert_eq!(ble_legacy_pdu(&pdu), None);
        assert_eq!(ble_extended_pdu(&pdu[..20]), None);
    }

    /// An 802.11 management header: frame control, duration, DA, SA, BSSID, sequence.
    fn mgmt_header(subtype: u8, sa: [u8; 6]) -> Vec<u8> {
        let mut f = vec![subtype << 4, 0x00, 0, 0];
        f.extend_from_slice(&[0xff; 6]);
        f.extend_from_slice(&sa);
        f.extend_from_slice(&sa);
        f.extend_from_slice(&[0x10, 0x00]);
        f
    }

    const SA: [u8; 6] = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

    #[test]
    fn wifi_beacon_vendor_element() {
        let mut pack = Vec::new();
        encode_pack(2, &[basic_id_bytes(), location_bytes()], &mut pack);
        let mut f = mgmt_header(8, SA);
        f.extend_from_slice(&[0; 8]); // timestamp
        f.extend_from_slice(&100u16.to_le_bytes()); // beacon interval
        f.extend_from_slice(&0x0401u16.to_le_bytes()); // capabilities
        f.extend_from_slice(&[0, 6]); // SSID element
        f.extend_from_slice(b"UAS-ID");
        f.extend_from_slice(&[1, 1, 0x8c]); // supported rates
        let mut vendor = vec![0xfa, 0x0b, 0xbc, 0x0d, 42];
        vendor.extend_from_slice(&pack);
        f.push(221);
        f.push(vendor.len() as u8);
        f.extend_from_slice(&vendor);
        let c = wifi_beacon(&f).unwrap();
        assert_eq!((c.transmitter, c.counter), (Some(SA), 42));
        assert_eq!(c.payload, &pack[..]);
        // Behind a radiotap header (version 0, 8 bytes, no fields).
        let mut rt = vec![0, 0, 8, 0, 0, 0, 0, 0];
        rt.extend_from_slice(&f);
        assert_eq!(wifi_beacon(strip_radiotap(&rt).unwrap()), Some(c));
        // Another vendor's element, a probe response, a cut frame.
        let mut other = f.clone();
        let at = f.len() - vendor.len();
        other[at] = 0x00;
        assert_eq!(wifi_beacon(&other), None);
        let mut probe = f.clone();
        probe[0] = 5 << 4;
        assert_eq!(wifi_beacon(&probe), None);
        assert_eq!(wifi_beacon(&f[..f.len() - 1]), None);
        assert_eq!(wifi_nan(&f), None);
    }

    #[test]
    fn wifi_nan_service_discovery_frame() {
        let mut pack = Vec::new();
        encode_pack(2, &[basic_id_bytes(), location_bytes()], &mut pack);
        let mut f = mgmt_header(13, SA);
        f.extend_from_slice(&[0x04, 0x09, 0x50, 0x6f, 0x9a, 0x13]);
        // A service id list attribute (0x02) first, then the service descriptor (0x03).
        f.extend_from_slice(&[0x02, 6, 0]);
        f.extend_from_slice(&NAN_SERVICE_ID);
        let mut sda = NAN_SERVICE_ID.to_vec();
        sda.extend_from_slice(&[0x01, 0x00, 0x10, (1 + pack.len()) as u8, 9]);
        sda.extend_from_slice(&pack);
        f.push(0x03);
        f.extend_from_slice(&(sda.len() as u16).to_le_bytes());
        f.extend_from_slice(&sda);
        let c = wifi_nan(&f).unwrap();
        assert_eq!((c.transmitter, c.counter), (Some(SA), 9));
        assert_eq!(c.payload, &pack[..]);
        // A matching filter before the service info is skipped.
        let mut filtered = f.clone();
        let control_at = f.len() - sda.len() + 8;
        filtered[control_at] = 0x14;
        filtered.insert(control_at + 1, 0);
        let sda_len_at = f.len() - sda.len() - 2;
        filtered[sda_len_at..sda_len_at + 2]
            .copy_from_slice(&((sda.len() + 1) as u16).to_le_bytes());
        assert_eq!(wifi_nan(&filtered).map(|c| c.payload), Some(&pack[..]));
        // Another service id; a cut frame.
        let mut other = f.clone();
        other[f.len() - sda.len()] ^= 1;
        assert_eq!(wifi_nan(&other), None);
        assert_eq!(wifi_nan(&f[..f.len() - 1]), None);
        assert_eq!(wifi_beacon(&f), None);
    }
}
