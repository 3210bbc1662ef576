//! The stateful decoder on published frames with known values, and its counting rules.
//!
//! Sources of the frames: Junzi Sun, "The 1090 Megahertz Riddle" (2nd ed.) and the
//! pyModeS test-suite (tests/test_surv.py, test_bds05/06/09/61.py); every value below was
//! also confirmed with pyModeS 3.6.1 `pyModeS.decode`.

use proptest::prelude::*;
use skyfence_core::{Callsign, EmitterCategory, GeoPoint, Icao24, Squawk, Timestamp};
use skyfence_decode::adsb::{self, Emergency};
use skyfence_decode::decoder::{Decoder, DecoderConfig};
use skyfence_decode::modes;
use skyfence_decode::{CprFormat, DropReason, Frame, Message};

fn bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn t(secs: f64) -> Timestamp {
    Timestamp::from_secs(1_457_996_400).add_micros((secs * 1e6) as i64)
}

fn frame(at: Timestamp, data: &[u8]) -> Frame {
    Frame::new(at, data).unwrap()
}

fn feed(d: &mut Decoder, at: Timestamp, hex: &str) -> Option<Message> {
    d.decode(&frame(at, &bytes(hex)))
}

fn icao(a: u32) -> Icao24 {
    Icao24::new(a).unwrap()
}

/// Makes `a` known to the decoder with an all-call reply at `at`.
fn announce(d: &mut Decoder, at: Timestamp, a: u32) {
    let f = modes::encode_all_call(icao(a), 5, 0).unwrap();
    assert!(d.decode(&frame(at, &f)).is_some());
}

#[test]
fn identification_klm1023() {
    let mut d = Decoder::new(DecoderConfig::default());
    let m = feed(&mut d, t(0.0), "8D4840D6202CC371C32CE0576098").unwrap();
    assert_eq!((m.df, m.icao24, m.tc), (Some(17), icao(0x4840D6), Some(4)));
    assert_eq!(m.callsign.unwrap().as_str(), "KLM1023");
    assert_eq!(m.category.unwrap().to_string(), "A0");
    assert_eq!(
        m.raw.unwrap().data(),
        &bytes("8D4840D6202CC371C32CE0576098")[..]
    );
    assert_eq!((m.position, m.alt_ft, m.squawk), (None, None, None));
    assert_eq!(d.accepted(), 1);
    assert_eq!(d.drops().total_messages(), 0);
}

#[test]
fn airborne_position_pair() {
    // The 1090 Megahertz Riddle: odd at t0, even 2 s later; the pair resolves to
    // 52.2572°N 3.91937°E (the even, newest message), 38000 ft. The tracker places an
    // aircraft only once a later message of each format confirms the pair, so the two
    // frames are heard again (the aircraft's position is unchanged in this data).
    let mut d = Decoder::new(DecoderConfig::default());
    let odd = feed(&mut d, t(0.0), "8D40621D58C386435CC412692AD6").unwrap();
    assert_eq!((odd.alt_ft, odd.cpr), (Some(38000), Some(CprFormat::Odd)));
    let even = feed(&mut d, t(2.0), "8D40621D58C382D690C8AC2863A7").unwrap();
    assert_eq!(
        (even.alt_ft, even.cpr),
        (Some(38000), Some(CprFormat::Even))
    );
    assert_eq!(even.on_ground, Some(false));
    assert_eq!(even.position, None, "a pair alone is not yet trusted");
    feed(&mut d, t(3.0), "8D40621D58C386435CC412692AD6").unwrap();
    let even = feed(&mut d, t(4.0), "8D40621D58C382D690C8AC2863A7").unwrap();
    let p = even.position.expect("a confirmed pair resolves");
    assert!((p.lat - 52.2572).abs() < 1e-4, "{p:?}");
    assert!((p.lon - 3.91937).abs() < 1e-4, "{p:?}");
    assert_eq!(d.drops().total_messages(), 0);
}

#[test]
fn velocities() {
    let mut d = Decoder::new(DecoderConfig::default());
    let m = feed(&mut d, t(0.0), "8D485020994409940838175B284F").unwrap();
    assert_eq!(m.tc, Some(19));
    assert!((m.gs_kt.unwrap() - 159.2).abs() < 0.05);
    assert!((m.track_deg.unwrap() - 182.88).abs() < 0.01);
    assert_eq!(m.vrate_fpm, Some(-832));
    let m = feed(&mut d, t(0.0), "8DA05F219B06B6AF189400CBC33F").unwrap();
    assert!((m.heading_deg.unwrap() - 243.98).abs() < 0.01);
    assert_eq!((m.tas_kt, m.ias_kt, m.gs_kt), (Some(375), None, None));
    assert_eq!(m.vrate_fpm, Some(-2304));
}

#[test]
fn status_and_surface() {
    let mut d = Decoder::new(DecoderConfig::default());
    let m = feed(&mut d, t(0.0), "8DA2C1B6E112B600000000760759").unwrap();
    assert_eq!(m.squawk.unwrap().to_string(), "6513");
    assert_eq!(m.emergency, Some(Emergency::None));
    // DF18 CF=0 surface report (pyModeS tests/test_bds06.py): 14.5 kt, 101.25°.
    let m = feed(&mut d, t(0.0), "903a23ff426a4e65f7487a775d17").unwrap();
    assert_eq!((m.df, m.icao24, m.tc), (Some(18), icao(0x3A23FF), Some(8)));
    assert_eq!((m.gs_kt, m.track_deg), (Some(14.5), Some(101.25)));
    assert_eq!((m.on_ground, m.cpr), (Some(true), Some(CprFormat::Odd)));
}

#[test]
fn position_accuracy_and_version() {
    // testdata/long_flight.csv (real recording), values checked with pyModeS 3.6.1.
    let mut d = Decoder::new(DecoderConfig::default());
    let m = feed(&mut d, t(0.0), "8d398101f8010002004abc91825d").unwrap();
    assert_eq!(
        (m.tc, m.nacp, m.adsb_version),
        (Some(31), Some(10), Some(2))
    );
    // The observation for the detection core carries it on.
    assert_eq!(m.to_observation(Default::default()).nacp, Some(10));
    // Target state and status (TC 29 subtype 1): NACp, no version.
    let m = feed(&mut d, t(1.0), "8d486257ea0dc848017e006c5a48").unwrap();
    assert_eq!((m.tc, m.nacp, m.adsb_version), (Some(29), Some(11), None));
    // Any other message: neither.
    let m = feed(&mut d, t(2.0), "8DA2C1B6E112B600000000760759").unwrap();
    assert_eq!((m.nacp, m.adsb_version), (None, None));
    assert_eq!(m.to_observation(Default::default()).nacp, None);
}

#[test]
fn address_parity_replies_need_a_known_address() {
    let mut d = Decoder::new(DecoderConfig::default());
    // DF20, address ef649e recovered from the parity: unknown so far.
    assert!(feed(&mut d, t(0.0), "A0001838CA3E51F0A8000047A6B9").is_none());
    assert_eq!(d.drops().get(DropReason::UnknownAddress), 1);
    announce(&mut d, t(1.0), 0xEF649E);
    let m = feed(&mut d, t(2.0), "A0001838CA3E51F0A8000047A6B9").unwrap();
    assert_eq!(
        (m.df, m.icao24, m.alt_ft),
        (Some(20), icao(0xEF649E), Some(38000))
    );
    assert_eq!(m.on_ground, Some(false));
    // DF21 squawk 2035 (43a1e9), DF4 38000 ft (dbbd0a), DF5 3615 (6ef430), DF5 0356 FS=2.
    announce(&mut d, t(2.0), 0x43A1E9);
    let m = feed(&mut d, t(3.0), "A800161110010080E6000041C8E8").unwrap();
    assert_eq!(m.squawk.unwrap().to_string(), "2035");
    announce(&mut d, t(3.0), 0xDBBD0A);
    let m = feed(&mut d, t(3.0), "20001838CA3E51").unwrap();
    assert_eq!((m.df, m.alt_ft), (Some(4), Some(38000)));
    announce(&mut d, t(3.0), 0x6EF430);
    let m = feed(&mut d, t(3.0), "28001A1B3D5B58").unwrap();
    assert_eq!(
        (m.df, m.squawk.map(|s| s.to_string())),
        (Some(5), Some("3615".into()))
    );
    assert_eq!(d.accepted(), 4 + 4); // four all-calls, four replies
    assert_eq!(d.drops().total_messages(), 1);
}

#[test]
fn air_air_surveillance_replies() {
    // DF0 and DF16 from testdata/long_flight.csv (the rs1090 recording); pyModeS 3.6.1:
    // 44061c on the ground at 550 ft, 398101 airborne at 525 ft.
    let mut d = Decoder::new(DecoderConfig::default());
    announce(&mut d, t(0.0), 0x44061C);
    announce(&mut d, t(0.0), 0x398101);
    let m = feed(&mut d, t(1.0), "064600be1c7bcb").unwrap();
    assert_eq!((m.df, m.icao24), (Some(0), icao(0x44061C)));
    assert_eq!((m.alt_ft, m.on_ground), (Some(550), Some(true)));
    let m = feed(&mut d, t(1.0), "804100bd5807d498e051b9344476").unwrap();
    assert_eq!((m.df, m.icao24), (Some(16), icao(0x398101)));
    assert_eq!((m.alt_ft, m.on_ground), (Some(525), Some(false)));
}

#[test]
fn rejections_are_counted_by_reason() {
    let mut d = Decoder::new(DecoderConfig::default());
    // pyModeS tests: a DF17 with a bad CRC.
    assert!(feed(&mut d, t(0.0), "8D4CA251204994B1C36E60A5343D").is_none());
    // DF1 is not decoded.
    assert!(feed(&mut d, t(0.0), "08001838CA3E51").is_none());
    // A DF17 cut to 7 bytes, a DF4 stretched to 14.
    assert!(feed(&mut d, t(0.0), "8D4840D6202CC3").is_none());
    assert!(feed(&mut d, t(0.0), "20001838CA3E51F0A8000047A6B9").is_none());
    let mut bad = frame(t(0.0), &bytes("20001838CA3E51"));
    bad.raw.len = 15;
    assert!(d.decode(&bad).is_none());
    assert_eq!(d.drops().get(DropReason::BadCrc), 1);
    assert_eq!(d.drops().get(DropReason::UnsupportedFormat), 1);
    assert_eq!(d.drops().get(DropReason::BadLength), 3);
    assert_eq!(d.accepted(), 0);
}

#[test]
fn single_bit_correction_is_opt_in_and_needs_a_known_address() {
    let frame_hex = "8D4CA251204994B1C36E60A5343D"; // one parity bit off
    let mut d = Decoder::new(DecoderConfig {
        correct_single_bit: true,
        ..DecoderConfig::default()
    });
    assert!(feed(&mut d, t(0.0), frame_hex).is_none());
    assert_eq!(d.drops().get(DropReason::BadCrc), 1);
    announce(&mut d, t(1.0), 0x4CA251);
    let m = feed(&mut d, t(2.0), frame_hex).unwrap();
    assert_eq!(m.callsign.unwrap().as_str(), "RYR1069");
    assert_eq!(m.corrected_bit, Some(107));
    assert_eq!(
        m.raw.unwrap().data(),
        &bytes(frame_hex)[..],
        "raw stays as received"
    );
    assert_eq!(d.corrected(), 1);

    let mut off = Decoder::new(DecoderConfig::default());
    announce(&mut off, t(1.0), 0x4CA251);
    assert!(feed(&mut off, t(2.0), frame_hex).is_none());
    assert_eq!(
        (off.corrected(), off.drops().get(DropReason::BadCrc)),
        (0, 1)
    );
}

#[test]
fn known_addresses_expire() {
    let mut d = Decoder::new(DecoderConfig::default());
    announce(&mut d, t(0.0), 0xEF649E);
    assert!(feed(&mut d, t(1.0), "A0001838CA3E51F0A8000047A6B9").is_some());
    // An hour of silence later the address is no longer trusted.
    d.expire(t(3600.0));
    assert!(feed(&mut d, t(3600.0), "A0001838CA3E51F0A8000047A6B9").is_none());
    assert_eq!(d.drops().get(DropReason::UnknownAddress), 1);
}

#[test]
fn encoded_messages_decode_through_the_decoder() {
    let a = icao(0x7C1234);
    let mut d = Decoder::new(DecoderConfig::default());
    let cs = Callsign::new(b"FORTE12").unwrap();
    let uav = EmitterCategory::new(b'B', 6);
    let f = adsb::encode_identification(a, uav, &cs).unwrap();
    let m = d.decode(&frame(t(0.0), &f)).unwrap();
    assert_eq!(
        (m.callsign, m.category.map(|c| c.to_string())),
        (Some(cs), Some("B6".into()))
    );
    let f = adsb::encode_velocity_ground(a, 350.0, 90.0, Some(-1024));
    let m = d.decode(&frame(t(0.1), &f)).unwrap();
    assert_eq!(
        (m.gs_kt, m.track_deg, m.vrate_fpm),
        (Some(350.0), Some(90.0), Some(-1024))
    );
    let f = adsb::encode_status(
        a,
        Emergency::UnlawfulInterference,
        Squawk::new(0o7500).unwrap(),
    );
    let m = d.decode(&frame(t(0.2), &f)).unwrap();
    assert_eq!(m.emergency, Some(Emergency::UnlawfulInterference));
    let f = modes::encode_commb_altitude_reply(a, 0, 48000, [0; 7]).unwrap();
    assert_eq!(d.decode(&frame(t(0.3), &f)).unwrap().alt_ft, Some(48000));
    let f = modes::encode_identity_reply(a, 1, Squawk::new(0o1200).unwrap()).unwrap();
    let m = d.decode(&frame(t(0.4), &f)).unwrap();
    assert_eq!(
        (m.squawk.map(|s| s.value()), m.on_ground),
        (Some(0o1200), Some(true))
    );
    // Positions near Kabul, alternating even and odd every 0.5 s: resolved once the
    // pair is confirmed by a later message of each format.
    let here = GeoPoint::new(34.5553, 69.2075);
    let mut last = None;
    for i in 0..4 {
        let odd = i % 2 == 1;
        let f = adsb::encode_airborne_position(a, here, Some(48000), odd).unwrap();
        let m = d.decode(&frame(t(1.0 + 0.5 * f64::from(i)), &f)).unwrap();
        assert_eq!(m.alt_ft, Some(48000));
        assert_eq!(
            m.cpr,
            Some(if odd { CprFormat::Odd } else { CprFormat::Even })
        );
        last = m.position;
    }
    let p = last.expect("a confirmed pair resolves");
    assert!(p.haversine_m(here) < 10.0, "{p:?}");
    assert_eq!(d.accepted(), 9);
}

/// Frame-level reasons: every frame is either accepted or counted under one of these.
const FRAME_REASONS: [DropReason; 5] = [
    DropReason::BadLength,
    DropReason::BadCrc,
    DropReason::UnknownAddress,
    DropReason::UnsupportedFormat,
    DropReason::Truncated,
];

proptest! {
    #[test]
    fn arbitrary_frames_never_panic_and_are_all_accounted(
        frames in proptest::collection::vec(
            (any::<bool>(), proptest::array::uniform14(any::<u8>()), 0u8..16), 1..64),
        fix: bool,
    ) {
        let mut d = Decoder::new(DecoderConfig { correct_single_bit: fix, ..DecoderConfig::default() });
        for (i, (long, b, len)) in frames.iter().enumerate() {
            let mut f = frame(t(i as f64), if *long { &b[..] } else { &b[..7] });
            if *len > 14 {
                f.raw.len = *len;
            }
            let _ = d.decode(&f);
        }
        let dropped: u64 = FRAME_REASONS.iter().map(|&r| d.drops().get(r)).sum();
        prop_assert_eq!(d.accepted() + dropped, frames.len() as u64);
    }
}
