//! Records built by hand from the items' definitions in the EUROCONTROL specifications
//! (each byte explained), decoded field by field; the encoder's round trip; bad input.

use super::*;
use crate::asterix::encode::{self, RecordWriter};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A CAT048 Mode S roll-call plot of KLM1023 (4840D6).
const CAT048_PLOT: &str = concat!(
    "FD D6", // FSPEC: FRN 1-6 (010 140 020 040 070 090), FX; 8 9 11 13 14 (220 240 161 200 170)
    "19 C9", // I048/010 SAC 25, SIC 201
    "33 B4 F0", // I048/140 3 388 656 / 128 s = 26 473.875 s (07:21:13.875)
    "A0",    // I048/020 TYP 5 (Mode S roll-call), no FX
    "1A 40 40 00", // I048/040 RHO 0x1A40/256 = 26.25 NM, THETA 0x4000 = 90°
    "0A 1B", // I048/070 V=0 G=0 L=0, code 0o5033
    "01 54", // I048/090 340 × 1/4 = FL 85
    "48 40 D6", // I048/220
    "2C C3 71 C3 2C E0", // I048/240 "KLM1023 " in 6-bit characters
    "01 23", // I048/161 track 291
    "08 00 80 00", // I048/200 2048 × 2^-14 NM/s = 450 kt, heading 180°
    "40",    // I048/170 CNF 0 (confirmed), RAD 2, no FX
);

#[test]
fn cat048_plot_fields_from_the_spec_tables() {
    let rec = hex(CAT048_PLOT);
    let (r, len) = decode_record(48, &rec).unwrap();
    assert_eq!(len, rec.len());
    assert_eq!((r.category, r.sac, r.sic), (48, 25, 201));
    assert_eq!(r.time_of_day, Some(3_388_656));
    assert_eq!(r.time_of_day_s(), Some(26_473.875));
    assert_eq!(r.detection, Some(Detection::ModeSRollCall));
    assert!(!r.simulated && !r.test);
    let p = r.polar.unwrap();
    assert_eq!((p.range_nm, p.azimuth_deg), (26.25, 90.0));
    assert_eq!(r.mode3a.unwrap().to_string(), "5033");
    assert_eq!(r.flight_level, Some(85.0));
    assert_eq!(r.address.unwrap().to_string(), "4840d6");
    assert_eq!(r.callsign.unwrap().as_str(), "KLM1023");
    assert_eq!(r.track_number, Some(291));
    assert_eq!(r.ground_speed_kt, Some(450.0));
    assert_eq!(r.track_deg, Some(180.0));
    assert_eq!(
        (r.track_tentative, r.track_ended),
        (Some(false), Some(false))
    );
    assert_eq!(r.position, None);
}

#[test]
fn cat048_primary_only_track_and_invalid_codes() {
    let rec = hex(concat!(
        "F5 18",       // FRN 1 2 3 4 6 (no 070), FX; FRN 11 12 (161 042)
        "01 02",       // SAC 1 SIC 2
        "00 00 80",    // 1 s
        "31 80",       // TYP 1 (PSR), SIM, FX; extension TST (bit 8)
        "0C 80 C0 00", // 12.5 NM, 270°
        "81 54",       // I048/090 V=1: not validated, ignored
        "0F FF",       // I048/161: track 4095 (bits 16-13 spare)
        "FF 80 01 00", // I048/042 x = -128/128 = -1 NM, y = 2 NM
    ));
    let (r, _) = decode_record(48, &rec).unwrap();
    assert_eq!(r.detection, Some(Detection::Psr));
    assert!(r.simulated && r.test);
    assert_eq!(r.polar.unwrap().azimuth_deg, 270.0);
    assert_eq!(r.flight_level, None);
    assert_eq!(r.track_number, Some(4095));
    assert_eq!(r.cartesian_nm, Some((-1.0, 2.0)));
    assert_eq!(r.address, None);
}

#[test]
fn a_blank_identification_is_no_callsign() {
    // I048/240 of eight spaces (code 32 each): present but saying nothing; decoded as
    // no callsign, as asterix_decoder and Wireshark print none.
    let mut rec = hex(CAT048_PLOT);
    let at = rec.len() - 1 - 4 - 2 - 6; // I240, then I161, I200, I170
    rec[at..at + 6].copy_from_slice(&hex("82 08 20 82 08 20"));
    let (r, _) = decode_record(48, &rec).unwrap();
    assert_eq!(r.callsign, None);
    assert_eq!(r.address.map(|a| a.as_u32()), Some(0x4840D6));
}

#[test]
fn cat034_north_marker_and_status() {
    let rec = hex(concat!(
        "F4",       // FRN 1 2 3 4 (no 5) 6: 010 000 030 020 050
        "01 02",    // SAC 1 SIC 2
        "01",       // north marker
        "00 01 00", // 2 s
        "40",       // sector 64 × 360/256 = 90°
        "80 80",    // I034/050 primary COM; COM NOGO
    ));
    let (r, _) = decode_record(34, &rec).unwrap();
    let s = r.service.unwrap();
    assert_eq!(s.kind, ServiceKind::NorthMarker);
    assert_eq!(s.sector_deg, Some(90.0));
    assert_eq!(s.nogo, Some(true));
    assert_eq!(r.time_of_day_s(), Some(2.0));
}

#[test]
fn cat062_system_track() {
    // FSPEC: FRN 1 (010), 4 (070), 5 (105), 7 (185), FX → 1001101 1 = 0x9B; FRN 9 (060),
    // 11 (380), 12 (040), 13 (080), FX → 0101110 1 = 0x5D; FRN 17 (136) → 0010000 0 = 0x20.
    let rec = hex(concat!(
        "9B 5D 20",
        "01 64",                         // SAC 1 SIC 100
        "00 80 00",                      // 256 s
        "00 C0 00 00",                   // lat 0x00C00000 × 180/2^25 = 67.5°
        "FF 40 00 00",                   // lon -0x00C00000 → -67.5°
        "00 C8 00 00",                   // Vx 200 × 0.25 = 50 m/s east, Vy 0
        "02 00",                         // Mode 3/A 0o1000
        "C0 48 40 D6 2C C3 71 C3 2C E0", // I062/380 ADR and ID
        "01 A1",                         // track 417
        "03 40",                         // CNF tentative, FX; TSE (bit 7)
        "FF 9C",                         // FL -100/4 = -25
    ));
    let (r, len) = decode_record(62, &rec).unwrap();
    assert_eq!(len, rec.len());
    assert_eq!((r.sac, r.sic), (1, 100));
    assert_eq!(r.time_of_day_s(), Some(256.0));
    let p = r.position.unwrap();
    assert_eq!((p.lat, p.lon), (67.5, -67.5));
    assert!((r.ground_speed_kt.unwrap() - 97.192_23).abs() < 1e-3);
    assert_eq!(r.track_deg, Some(90.0));
    assert_eq!(r.mode3a.unwrap().to_string(), "1000");
    assert_eq!(r.address.unwrap().to_string(), "4840d6");
    assert_eq!(r.callsign.unwrap().as_str(), "KLM1023");
    assert_eq!(r.track_number, Some(417));
    assert_eq!((r.track_tentative, r.track_ended), (Some(true), Some(true)));
    assert_eq!(r.flight_level, Some(-25.0));
}

#[test]
fn cat021_uav_report() {
    // FSPEC: FRN 1 2 (010 040), 7 (131), FX → 1100001 1 = 0xC3; FRN 11 12 (080 073), FX
    // → 0001100 1 = 0x19; FRN 16 17 (140 090), 21 (145), FX → 0110001 1 = 0x63; FRN 26
    // (160), FX → 0000100 1 = 0x09; FRN 29 30 (170 020) → 1100000 0 = 0xC0.
    let rec = hex(concat!(
        "C3 19 63 09 C0",
        "02 03",                   // SAC 2 SIC 3
        "00",                      // I021/040 ATP 0 (24-bit address)
        "10 00 00 00 F0 00 00 00", // lat 2^28 × 180/2^30 = 45°, lon -2^28 → -45°
        "AB CD EF",                // I021/080
        "00 00 40",                // I021/073 0.5 s
        "00 10",                   // I021/140 16 × 6.25 = 100 ft
        "15 54",                   // I021/090 NIC 10, FX; SIL 2, NACp 10
        "00 28",                   // I021/145 FL 10
        "00 40 20 00",             // I021/160 64 × 2^-14 NM/s = 14.0625 kt, 45°
        "2C C3 71 C3 2C E0",
        "0D", // I021/020 13: unmanned aerial vehicle
    ));
    let (r, len) = decode_record(21, &rec).unwrap();
    assert_eq!(len, rec.len());
    let p = r.position.unwrap();
    assert_eq!((p.lat, p.lon), (45.0, -45.0));
    assert_eq!(r.address.unwrap().to_string(), "abcdef");
    assert_eq!(r.time_of_day_s(), Some(0.5));
    assert_eq!(r.geometric_height_ft, Some(100.0));
    assert_eq!((r.nic, r.sil, r.nacp), (Some(10), Some(2), Some(10)));
    assert_eq!(r.flight_level, Some(10.0));
    assert_eq!(r.ground_speed_kt, Some(14.0625));
    assert_eq!(r.track_deg, Some(45.0));
    assert_eq!(r.emitter_category, Some(EMITTER_UAV));
    assert_eq!(r.callsign.unwrap().as_str(), "KLM1023");
}

fn sample_reports() -> Vec<Report> {
    let plot = decode_record(48, &hex(CAT048_PLOT)).unwrap().0;
    let service = Report {
        category: 34,
        sac: 25,
        sic: 201,
        time_of_day: Some(1280),
        service: Some(Service {
            kind: ServiceKind::SectorCrossing,
            sector_deg: Some(45.0),
            rotation_period_s: Some(4.5),
            nogo: Some(false),
        }),
        ..Report::default()
    };
    let track = Report {
        category: 62,
        sac: 1,
        sic: 100,
        time_of_day: Some(12_800),
        position: Some(GeoPoint::new(34.5, 69.25)),
        ground_speed_kt: Some(120.0),
        track_deg: Some(30.0),
        track_number: Some(7),
        track_tentative: Some(false),
        track_ended: Some(false),
        flight_level: Some(120.25),
        address: Icao24::new(0x70c0de),
        ..Report::default()
    };
    let adsb = Report {
        category: 21,
        sac: 2,
        sic: 3,
        time_of_day: Some(64),
        position: Some(GeoPoint::new(33.9, 70.1)),
        address: Icao24::new(0x123456),
        emitter_category: Some(EMITTER_UAV),
        flight_level: Some(4.0),
        nic: Some(8),
        sil: Some(3),
        nacp: Some(9),
        ..Report::default()
    };
    vec![plot, service, track, adsb]
}

fn close(a: f32, b: f32, tol: f32) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn encoder_round_trips_every_category() {
    for r in sample_reports() {
        let rec = encode::record(&r).unwrap();
        let (back, len) = decode_record(r.category, &rec).unwrap();
        assert_eq!(len, rec.len(), "cat {}", r.category);
        let (mut a, mut b) = (r, back);
        // Quantised on the wire: compared within one LSB.
        for (x, y, tol) in [
            (&mut a.ground_speed_kt, &mut b.ground_speed_kt, 0.5),
            (&mut a.track_deg, &mut b.track_deg, 0.3),
        ] {
            if let (Some(p), Some(q)) = (*x, *y) {
                assert!(close(p, q, tol), "cat {}: {p} vs {q}", r.category);
                *y = *x;
            }
        }
        if let (Some(p), Some(q)) = (a.position, b.position) {
            assert!((p.lat - q.lat).abs() < 1e-5 && (p.lon - q.lon).abs() < 1e-5);
            b.position = a.position;
        }
        assert_eq!(a, b, "cat {}", r.category);
    }
}

#[test]
fn streams_cut_anywhere_give_the_same_records() {
    let mut stream = Vec::new();
    for r in sample_reports() {
        encode::block(r.category, &[encode::record(&r).unwrap()], &mut stream);
    }
    // Two records in one block, too.
    let plot = hex(CAT048_PLOT);
    encode::block(48, &[plot.clone(), plot], &mut stream);
    let whole = {
        let mut d = AsterixDecoder::new(Timestamp::from_secs(1_700_000_000));
        let mut got = Vec::new();
        d.decode(&stream, &mut |at, r, rec| got.push((at, *r, rec.to_vec())));
        d.finish();
        assert_eq!(d.drops().total_messages(), 0);
        got
    };
    assert_eq!(whole.len(), 6);
    for cut in 1..stream.len() {
        let mut d = AsterixDecoder::new(Timestamp::from_secs(1_700_000_000));
        let mut got = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            d.decode(part, &mut |at, r, rec| got.push((at, *r, rec.to_vec())));
        }
        d.finish();
        assert_eq!(got, whole, "cut at {cut}");
    }
    // 2023-11-14 is the date of 1 700 000 000 s; the plot is at 07:21:13.875.
    assert_eq!(
        whole[0].0.to_rfc3339_micros(),
        "2023-11-14T07:21:13.875000Z"
    );
}

#[test]
fn raw_evidence_is_a_one_record_block_that_decodes_back() {
    let plot = hex(CAT048_PLOT);
    let (r, _) = decode_record(48, &plot).unwrap();
    let it = item(Timestamp::from_secs(5), &r, &plot);
    assert_eq!(it.raw.proto, Protocol::Asterix);
    assert_eq!(&it.raw.data()[..3], &[48, 0, (plot.len() + 3) as u8]);
    assert_eq!(decode_raw(it.raw.data()), Ok(r));
    assert_eq!(decode_raw(&it.raw.data()[..10]), Err(DropReason::BadLength));
}

#[test]
fn time_of_day_rolls_over_at_midnight() {
    // Anchor 2023-11-14T12:00:00Z.
    let mut c = DayClock::new(Timestamp::from_secs(1_699_963_200));
    let tod = |s: u32| Some(s * 128);
    let t = |s| Timestamp::from_secs(s);
    let midnight = 1_699_920_000;
    assert_eq!(c.at(None), None);
    assert_eq!(c.at(tod(86_399)), Some(t(midnight + 86_399)));
    // Past midnight: the next day.
    assert_eq!(c.at(tod(1)), Some(t(midnight + 86_401)));
    // A late record from before midnight: the day before.
    assert_eq!(c.at(tod(86_398)), Some(t(midnight + 86_398)));
    assert_eq!(c.at(tod(2)), Some(t(midnight + 86_402)));
    // No time of its own: the last time.
    assert_eq!(c.at(None), Some(t(midnight + 86_402)));
    // 1/128 s rounds to the microsecond.
    assert_eq!(
        c.at(Some(3 * 128 + 1)).unwrap().as_micros() % 1_000_000,
        7_813
    );
}

#[test]
fn bad_input_is_counted_never_guessed() {
    let anchor = Timestamp::from_secs(0);
    let run = |bytes: &[u8]| {
        let mut d = AsterixDecoder::new(anchor);
        let mut n = 0;
        d.decode(bytes, &mut |_, _, _| n += 1);
        d.finish();
        (n, *d.drops())
    };
    // Unknown category: the whole block skipped, the next one read.
    let mut s = vec![1, 0, 5, 0xaa, 0xbb];
    encode::block(48, &[hex(CAT048_PLOT)], &mut s);
    let (n, drops) = run(&s);
    assert_eq!((n, drops.get(DropReason::UnknownCategory)), (1, 1));
    // A record whose FSPEC runs past the block: truncated.
    let (n, drops) = run(&[48, 0, 5, 0xff, 0xff]);
    assert_eq!((n, drops.get(DropReason::Truncated)), (0, 1));
    // A whole record without a time of day, none seen before: no time to give it.
    let (n, drops) = run(&[48, 0, 6, 0x80, 0x01, 0x02]);
    assert_eq!((n, drops.get(DropReason::BadTimestamp)), (0, 1));
    // An item running past the block.
    let (n, drops) = run(&[48, 0, 5, 0x80, 0x01]);
    assert_eq!((n, drops.get(DropReason::Truncated)), (0, 1));
    // A block cut by the end of the stream.
    let (n, drops) = run(&[48, 0, 20, 0x80]);
    assert_eq!((n, drops.get(DropReason::Truncated)), (0, 1));
    // A length shorter than the header: resynchronised byte by byte.
    let (_, drops) = run(&[48, 0, 1, 48, 0, 0]);
    assert!(drops.get(DropReason::BadLength) >= 1);
    // A spare FRN (CAT062 FRN 2): the rest of the block is skipped.
    let (n, drops) = run(&[62, 0, 6, 0x40, 0, 0]);
    assert_eq!((n, drops.get(DropReason::UnknownItem)), (0, 1));
    // No data source identifier.
    let (n, drops) = run(&[48, 0, 7, 0x40, 0, 0, 1]);
    assert_eq!((n, drops.get(DropReason::Unparsable)), (0, 1));
    // Any bytes at all: no panic.
    let mut x = 0x2545_f491_u32;
    for len in 0..400 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        let _ = run(&bytes);
        let _ = decode_raw(&bytes);
    }
}

#[test]
fn record_writer_sets_fspec_and_fx() {
    let mut out = Vec::new();
    RecordWriter::new()
        .item(8, &[1, 2, 3])
        .item(1, &[9, 9])
        .write(&mut out);
    assert_eq!(out, [0x81, 0x80, 9, 9, 1, 2, 3]);
}

#[test]
fn item_constants_match_the_tables() {
    use super::uap::{CAT021, CAT034, CAT048, CAT062, Uap};
    let checks: &[(&Uap, usize, &str)] = &[
        (&CAT048, cat048::I010, "I048/010"),
        (&CAT048, cat048::I140, "I048/140"),
        (&CAT048, cat048::I020, "I048/020"),
        (&CAT048, cat048::I040, "I048/040"),
        (&CAT048, cat048::I070, "I048/070"),
        (&CAT048, cat048::I090, "I048/090"),
        (&CAT048, cat048::I220, "I048/220"),
        (&CAT048, cat048::I240, "I048/240"),
        (&CAT048, cat048::I161, "I048/161"),
        (&CAT048, cat048::I042, "I048/042"),
        (&CAT048, cat048::I200, "I048/200"),
        (&CAT048, cat048::I170, "I048/170"),
        (&CAT034, cat034::I010, "I034/010"),
        (&CAT034, cat034::I000, "I034/000"),
        (&CAT034, cat034::I030, "I034/030"),
        (&CAT034, cat034::I020, "I034/020"),
        (&CAT034, cat034::I041, "I034/041"),
        (&CAT034, cat034::I050, "I034/050"),
        (&CAT062, cat062::I010, "I062/010"),
        (&CAT062, cat062::I070, "I062/070"),
        (&CAT062, cat062::I105, "I062/105"),
        (&CAT062, cat062::I185, "I062/185"),
        (&CAT062, cat062::I060, "I062/060"),
        (&CAT062, cat062::I245, "I062/245"),
        (&CAT062, cat062::I380, "I062/380"),
        (&CAT062, cat062::I040, "I062/040"),
        (&CAT062, cat062::I080, "I062/080"),
        (&CAT062, cat062::I136, "I062/136"),
        (&CAT021, cat021::I010, "I021/010"),
        (&CAT021, cat021::I040, "I021/040"),
        (&CAT021, cat021::I161, "I021/161"),
        (&CAT021, cat021::I071, "I021/071"),
        (&CAT021, cat021::I130, "I021/130"),
        (&CAT021, cat021::I131, "I021/131"),
        (&CAT021, cat021::I072, "I021/072"),
        (&CAT021, cat021::I080, "I021/080"),
        (&CAT021, cat021::I073, "I021/073"),
        (&CAT021, cat021::I075, "I021/075"),
        (&CAT021, cat021::I140, "I021/140"),
        (&CAT021, cat021::I090, "I021/090"),
        (&CAT021, cat021::I070, "I021/070"),
        (&CAT021, cat021::I145, "I021/145"),
        (&CAT021, cat021::I160, "I021/160"),
        (&CAT021, cat021::I077, "I021/077"),
        (&CAT021, cat021::I170, "I021/170"),
        (&CAT021, cat021::I020, "I021/020"),
    ];
    for (uap, frn, id) in checks {
        assert_eq!(uap.frn(id), Some(*frn), "{id}");
    }
}
