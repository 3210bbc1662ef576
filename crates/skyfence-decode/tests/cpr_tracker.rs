//! Behaviour of the per-aircraft CPR state (`skyfence_decode::tracker`): the trust rule,
//! the speed gate, time going backwards, expiry.
//!
//! Flights are synthetic: positions on a straight line, encoded with the crate's own
//! encoders (checked against "The 1090 Megahertz Riddle" and pyModeS in `cpr.rs`).
//! Corrupted frames are real frames with one bit flipped, the kind of error a
//! one-bit CRC correction can introduce; each test asserts the premise (where the
//! corrupted pair lands) before the behaviour.

use skyfence_core::{GeoPoint, Icao24, Timestamp};
use skyfence_decode::DropReason;
use skyfence_decode::cpr::{self, CprPosition};
use skyfence_decode::tracker::{Tracker, TrackerConfig};

const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;
const T0: i64 = 1_700_000_000_000_000;

fn at(t_s: f64) -> Timestamp {
    Timestamp::from_micros(T0 + (t_s * 1e6).round() as i64)
}

fn icao() -> Icao24 {
    Icao24::from_u32_masked(0x4ca2b1)
}

/// A straight, level flight: `v_north`, `v_east` in m/s from `start` at t = 0.
#[derive(Clone, Copy)]
struct Flight {
    start: GeoPoint,
    v_north: f64,
    v_east: f64,
}

impl Flight {
    fn airliner() -> Self {
        Flight {
            start: GeoPoint::new(50.0, 8.0),
            v_north: 120.0,
            v_east: 200.0,
        }
    }

    fn truth(&self, t_s: f64) -> GeoPoint {
        let lat = self.start.lat + self.v_north * t_s / M_PER_DEG;
        let lon =
            self.start.lon + self.v_east * t_s / (M_PER_DEG * self.start.lat.to_radians().cos());
        GeoPoint::new(lat, lon)
    }

    fn msg(&self, t_s: f64, odd: bool) -> CprPosition {
        let p = self.truth(t_s);
        cpr::encode_airborne(p.lat, p.lon, odd)
    }

    fn surface_msg(&self, t_s: f64, odd: bool) -> CprPosition {
        let p = self.truth(t_s);
        cpr::encode_surface(p.lat, p.lon, odd)
    }
}

/// Message `k` of an alternating stream: every 0.5 s, even first.
fn slot(k: u32) -> (f64, bool) {
    (f64::from(k) * 0.5, k % 2 == 1)
}

fn flip_lat_bit(mut c: CprPosition, bit: u32) -> CprPosition {
    c.lat ^= 1 << bit;
    c
}

fn assert_near(p: GeoPoint, truth: GeoPoint, tol_m: f64) {
    let d = p.haversine_m(truth);
    assert!(
        d <= tol_m,
        "({}, {}) is {d:.1} m from the truth ({}, {})",
        p.lat,
        p.lon,
        truth.lat,
        truth.lon
    );
}

/// Feeds messages `range` of the alternating stream; returns what each one gave.
fn feed(
    tr: &mut Tracker,
    f: &Flight,
    range: std::ops::Range<u32>,
) -> Vec<Result<Option<GeoPoint>, DropReason>> {
    range
        .map(|k| {
            let (t, odd) = slot(k);
            tr.resolve_position(icao(), at(t), f.msg(t, odd))
        })
        .collect()
}

#[test]
fn clean_acquisition_outputs_from_the_fourth_message_then_every_message() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    let out = feed(&mut tr, &f, 0..40);
    // E1: no pair; O1: tentative fix; E2: confirms even; O2: confirms odd → placed.
    assert_eq!(out[..3], [Ok(None), Ok(None), Ok(None)]);
    for (k, r) in out.iter().enumerate().skip(3) {
        let p = r.expect("accepted").expect("resolved");
        assert_near(p, f.truth(slot(k as u32).0), 6.0);
    }
    let (fix, when) = tr.position(icao()).expect("placed");
    assert_eq!(when, at(slot(39).0));
    assert_near(fix, f.truth(slot(39).0), 6.0);
}

#[test]
fn one_confirmation_rule_outputs_from_the_third_message() {
    let f = Flight::airliner();
    let mut tr = Tracker::new(TrackerConfig {
        confirm_both_formats: false,
        ..TrackerConfig::default()
    });
    let out = feed(&mut tr, &f, 0..4);
    assert_eq!(out[..2], [Ok(None), Ok(None)]);
    assert_near(out[2].unwrap().unwrap(), f.truth(1.0), 6.0);
    assert_near(out[3].unwrap().unwrap(), f.truth(1.5), 6.0);
}

/// A corrupted-but-CRC-valid odd frame whose pair lands far away
/// must never produce a position, and the track must continue correctly.
#[test]
fn bad_odd_frame_in_the_first_pair_yields_no_position() {
    let f = Flight::airliner();
    // Premise: bit 11 of the odd latitude flipped puts the global pair ~670 km south.
    let bad_odd = flip_lat_bit(f.msg(0.5, true), 11);
    let landed = cpr::decode_global_airborne(f.msg(0.0, false), bad_odd, true).expect("decodes");
    assert!(landed.haversine_m(f.truth(0.5)) > 500_000.0);

    let mut tr = Tracker::default();
    let mut outputs = Vec::new();
    for k in 0..20 {
        let (t, odd) = slot(k);
        let msg = if k == 1 { bad_odd } else { f.msg(t, odd) };
        if let Ok(Some(p)) = tr.resolve_position(icao(), at(t), msg) {
            assert_near(p, f.truth(t), 6.0);
            outputs.push(k);
        }
    }
    // The bad pair is discarded when the next odd frame contradicts it; the good pair
    // (E2, O2) is then confirmed by E3 and O3: output from message 5 on, every message.
    assert_eq!(outputs, (5..20).collect::<Vec<_>>());
}

#[test]
fn bad_odd_frame_on_a_placed_track_is_rejected_and_the_track_continues() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..10);
    let before = tr.position(icao()).expect("placed");

    let (t, odd) = slot(11);
    assert!(odd);
    let bad_odd = flip_lat_bit(f.msg(t, true), 11);
    let landed = cpr::decode_global_airborne(f.msg(slot(10).0, false), bad_odd, true)
        .expect("the bad pair decodes");
    assert!(landed.haversine_m(f.truth(t)) > 500_000.0);
    // Messages 10 (good), 11 (bad), 12.. (good).
    assert!(matches!(
        tr.resolve_position(icao(), at(slot(10).0), f.msg(slot(10).0, false)),
        Ok(Some(_))
    ));
    assert_eq!(
        tr.resolve_position(icao(), at(t), bad_odd),
        Err(DropReason::ImplausibleMotion)
    );
    assert_ne!(tr.position(icao()), Some(before));
    assert_near(tr.position(icao()).unwrap().0, f.truth(slot(10).0), 6.0);
    // The next even pairs with the bad odd (global and local disagree: a strike, but
    // the local position is right); the following odd clears it.
    for k in 12..30 {
        let (t, odd) = slot(k);
        let p = tr
            .resolve_position(icao(), at(t), f.msg(t, odd))
            .expect("accepted")
            .expect("resolved");
        assert_near(p, f.truth(t), 6.0);
    }
}

/// Why both formats must confirm: when the *older* frame of the first pair is bad and
/// the next message has the good frame's format (the even in between was lost), one
/// confirmation places the aircraft ~680 km away. The default rule waits for an even
/// message too, which exposes the bad fix.
#[test]
fn bad_older_frame_fools_one_confirmation_but_not_the_default_rule() {
    let f = Flight::airliner();
    let bad_even = flip_lat_bit(f.msg(0.0, false), 11);
    let landed = cpr::decode_global_airborne(bad_even, f.msg(0.5, true), true).expect("decodes");
    assert!(landed.haversine_m(f.truth(0.5)) > 600_000.0);
    // Stream: E1 (bad), O1, [E2 lost], O2, E3, O3, ...
    let stream = |tr: &mut Tracker| -> Vec<(u32, GeoPoint)> {
        let mut out = Vec::new();
        for k in [0u32, 1, 3, 4, 5, 6, 7, 8, 9] {
            let (t, odd) = slot(k);
            let msg = if k == 0 { bad_even } else { f.msg(t, odd) };
            if let Ok(Some(p)) = tr.resolve_position(icao(), at(t), msg) {
                out.push((k, p));
            }
        }
        out
    };

    let mut weak = Tracker::new(TrackerConfig {
        confirm_both_formats: false,
        ..TrackerConfig::default()
    });
    let out = stream(&mut weak);
    assert_eq!(out[0].0, 3);
    assert!(
        out[0].1.haversine_m(f.truth(1.5)) > 600_000.0,
        "fooled, as documented"
    );

    let mut strict = Tracker::default();
    for (k, p) in stream(&mut strict) {
        assert_near(p, f.truth(slot(k).0), 6.0);
    }
}

#[test]
fn speed_gate_rejects_a_jump_without_moving_the_aircraft() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..10);
    let before = tr.position(icao()).expect("placed");
    // 30 km north of the track, 0.5 s later: 60 km/s.
    let (t, odd) = slot(10);
    let p = f.truth(t);
    let jumped = cpr::encode_airborne(p.lat + 30_000.0 / M_PER_DEG, p.lon, odd);
    assert_eq!(
        tr.resolve_position(icao(), at(t), jumped),
        Err(DropReason::ImplausibleMotion)
    );
    assert_eq!(tr.position(icao()), Some(before));
    // The real track goes on.
    let (t, odd) = slot(11);
    assert_near(
        tr.resolve_position(icao(), at(t), f.msg(t, odd))
            .unwrap()
            .unwrap(),
        f.truth(t),
        6.0,
    );
}

#[test]
fn a_real_relocation_is_reacquired_after_max_rejections() {
    // The address moves 100 km at once (e.g. a second aircraft squawking the same
    // address): max_rejections (3) rejections, then a fresh acquisition there.
    let f = Flight::airliner();
    let g = Flight {
        start: GeoPoint::new(50.9, 8.0),
        ..f
    };
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..10);
    let out = feed(&mut tr, &g, 10..20);
    let reasons: Vec<_> = out.iter().take(3).copied().collect();
    assert_eq!(reasons, vec![Err(DropReason::ImplausibleMotion); 3]);
    // The third rejection restarts from that message's pair (11 odd + 12 even, both on
    // the new track): 13 (odd) and 14 (even) confirm it.
    assert_eq!(out[3], Ok(None));
    for (i, r) in out.iter().enumerate().skip(4) {
        let t = slot(10 + i as u32).0;
        assert_near(r.unwrap().unwrap(), g.truth(t), 6.0);
    }
}

#[test]
fn out_of_order_frames_are_resolved_but_do_not_move_the_aircraft() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..10);
    let newest = tr.position(icao()).expect("placed");
    // A frame from 0.3 s before the newest one arrives late (another receiver).
    let t = slot(9).0 - 0.3;
    let p = tr
        .resolve_position(icao(), at(t), f.msg(t, false))
        .expect("accepted")
        .expect("resolved");
    assert_near(p, f.truth(t), 6.0);
    assert_eq!(tr.position(icao()), Some(newest));
    // And the stream continues from the newest frames.
    let out = feed(&mut tr, &f, 10..14);
    for (i, r) in out.iter().enumerate() {
        assert_near(r.unwrap().unwrap(), f.truth(slot(10 + i as u32).0), 6.0);
    }
}

#[test]
fn duplicates_from_merged_receivers_do_not_confirm() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    // E1, O1, then the same two frames again, 2 ms later, from a second receiver.
    for (t, odd, sent) in [
        (0.0, false, 0.0),
        (0.5, true, 0.5),
        (0.002, false, 0.0),
        (0.502, true, 0.5),
    ] {
        assert_eq!(
            tr.resolve_position(icao(), at(t), f.msg(sent, odd)),
            Ok(None)
        );
    }
    // Real new frames confirm: output with O2.
    assert_eq!(
        tr.resolve_position(icao(), at(1.0), f.msg(1.0, false)),
        Ok(None)
    );
    assert_near(
        tr.resolve_position(icao(), at(1.5), f.msg(1.5, true))
            .unwrap()
            .unwrap(),
        f.truth(1.5),
        6.0,
    );
}

#[test]
fn clock_jump_back_does_not_stall_the_aircraft() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..10);
    // The feed restarts an hour earlier (e.g. a second recording): the old state is in
    // the future, too far to pair or decode against. Acquisition starts over.
    let back = -3600.0;
    let mut outputs = 0;
    for k in 0..10 {
        let (t, odd) = slot(k);
        let r = tr.resolve_position(icao(), at(back + t), f.msg(t, odd));
        if let Ok(Some(p)) = r {
            assert_near(p, f.truth(t), 6.0);
            outputs += 1;
        }
    }
    assert_eq!(outputs, 7);
}

#[test]
fn a_stale_position_is_no_reference() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..10);
    // 120 s of silence (> position_expiry_s = 60): the next frames need a new pair
    // and confirmations.
    let out: Vec<_> = (0..5)
        .map(|k| {
            let t = 125.0 + f64::from(k) * 0.5;
            tr.resolve_position(icao(), at(t), f.msg(t, k % 2 == 1))
        })
        .collect();
    assert_eq!(out[..3], [Ok(None), Ok(None), Ok(None)]);
    assert_near(out[3].unwrap().unwrap(), f.truth(126.5), 6.0);
}

#[test]
fn addresses_are_known_within_the_expiry_and_forgotten_after() {
    let mut tr = Tracker::default();
    let a = icao();
    let b = Icao24::from_u32_masked(0x3c6444);
    assert!(!tr.is_known(a, at(0.0)));
    assert!(tr.is_empty());
    tr.note_address(a, at(0.0));
    assert!(tr.is_known(a, at(0.0)));
    assert!(tr.is_known(a, at(60.0)));
    assert!(!tr.is_known(a, at(60.001)));
    // A reply slightly older than the squitter (another receiver) is trusted.
    assert!(tr.is_known(a, at(-1.0)));
    assert!(!tr.is_known(b, at(0.0)));
    tr.note_address(b, at(30.0));
    // An older note does not shorten the trust...
    tr.note_address(b, at(29.0));
    assert!(tr.is_known(b, at(90.0)));
    // ...but a clock jump back beyond the expiry restarts it.
    tr.note_address(b, at(-1000.0));
    assert!(tr.is_known(b, at(-1000.0)));
    assert_eq!(tr.len(), 2);

    let mut tr = Tracker::default();
    tr.note_address(a, at(0.0));
    tr.note_address(b, at(30.0));
    tr.expire(at(60.0));
    assert_eq!(tr.len(), 2);
    tr.expire(at(60.5));
    assert_eq!(tr.len(), 1);
    assert!(!tr.is_known(a, at(1.0)));
    assert!(tr.is_known(b, at(31.0)));
    tr.expire(at(1000.0));
    assert!(tr.is_empty());
}

#[test]
fn position_messages_keep_an_aircraft_alive() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..4);
    tr.expire(at(1.5 + 60.0));
    assert_eq!(tr.len(), 1);
    tr.expire(at(1.5 + 61.0));
    assert_eq!(tr.len(), 0);
}

#[test]
fn out_of_range_fields_are_bad_cpr_and_create_no_state() {
    let mut tr = Tracker::default();
    let bad = CprPosition {
        odd: false,
        lat: 1 << 17,
        lon: 0,
        surface: false,
    };
    assert_eq!(
        tr.resolve_position(icao(), at(0.0), bad),
        Err(DropReason::BadCpr)
    );
    assert!(tr.is_empty());
}

#[test]
fn a_pair_straddling_an_nl_boundary_is_bad_cpr_when_unplaced() {
    let t = cpr::NL_TRANSITIONS[20]; // NL 39 → 38, 49.43°
    let e = cpr::encode_airborne(t - 0.005, 8.0, false);
    let o = cpr::encode_airborne(t + 0.005, 8.0, true);
    let mut tr = Tracker::default();
    assert_eq!(tr.resolve_position(icao(), at(0.0), e), Ok(None));
    assert_eq!(
        tr.resolve_position(icao(), at(0.5), o),
        Err(DropReason::BadCpr)
    );
}

#[test]
fn surface_positions_need_a_reference() {
    // Taxiing at 10 m/s at Schiphol.
    let f = Flight {
        start: GeoPoint::new(52.3086, 4.7639),
        v_north: 6.0,
        v_east: 8.0,
    };
    let run = |tr: &mut Tracker| -> Vec<Result<Option<GeoPoint>, DropReason>> {
        (0..8)
            .map(|k| {
                let (t, odd) = slot(k);
                tr.resolve_position(icao(), at(t), f.surface_msg(t, odd))
            })
            .collect()
    };
    // No receiver and never seen airborne: nothing can be resolved, nothing rejected.
    let mut blind = Tracker::default();
    assert!(run(&mut blind).iter().all(|r| *r == Ok(None)));
    // With the receiver's position: the usual acquisition, 1.25 m precision.
    let mut tr = Tracker::new(TrackerConfig {
        receiver: Some(GeoPoint::new(52.0, 4.5)),
        ..TrackerConfig::default()
    });
    let out = run(&mut tr);
    assert_eq!(out[..3], [Ok(None), Ok(None), Ok(None)]);
    for (k, r) in out.iter().enumerate().skip(3) {
        assert_near(r.unwrap().unwrap(), f.truth(slot(k as u32).0), 2.0);
    }
}

#[test]
fn landing_switches_to_surface_positions_against_the_airborne_track() {
    // Final approach at 70 m/s, then rolling out on the runway: the surface messages
    // decode locally against the last airborne position, no receiver needed.
    let f = Flight {
        start: GeoPoint::new(52.30, 4.76),
        v_north: 70.0,
        v_east: 0.0,
    };
    let mut tr = Tracker::default();
    feed(&mut tr, &f, 0..10);
    for k in 10..16 {
        let (t, odd) = slot(k);
        let p = tr
            .resolve_position(icao(), at(t), f.surface_msg(t, odd))
            .expect("accepted")
            .expect("resolved");
        assert_near(p, f.truth(t), 2.0);
    }
}

#[test]
fn antimeridian_crossing_is_tracked() {
    let f = Flight {
        start: GeoPoint::new(-16.8, 179.97),
        v_north: 0.0,
        v_east: 250.0,
    };
    let mut tr = Tracker::default();
    let out = feed(&mut tr, &f, 0..60);
    for (k, r) in out.iter().enumerate().skip(3) {
        let p = r.unwrap().unwrap();
        assert_near(p, f.truth(slot(k as u32).0), 6.0);
    }
    assert!(tr.position(icao()).unwrap().0.lon < -179.0);
}

/// Frames without their own time (plain AVR): every message at one timestamp. The
/// stream is placed by arrival order, from the fourth message as with times; copies
/// (the same bits again) never count.
#[test]
fn untimed_frames_are_placed_by_arrival_order_and_copies_do_not_count() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    let same = at(0.0);
    // E1, O1, then each again (a copy: same bits, same time): nothing.
    for (sent, odd) in [(0.0, false), (0.5, true), (0.0, false), (0.5, true)] {
        assert_eq!(
            tr.resolve_position(icao(), same, f.msg(sent, odd)),
            Ok(None)
        );
    }
    // E2 confirms even; O2 confirms odd: placed, then every message.
    assert_eq!(
        tr.resolve_position(icao(), same, f.msg(1.0, false)),
        Ok(None)
    );
    for k in 3..40 {
        let (sent, odd) = slot(k);
        let p = tr
            .resolve_position(icao(), same, f.msg(sent, odd))
            .expect("accepted")
            .expect("resolved");
        assert_near(p, f.truth(sent), 6.0);
    }
}

/// The safety of the rule does not rest on time: without any, a corrupted odd frame in
/// the first pair still never yields a position, and the track still comes.
#[test]
fn untimed_bad_frame_in_the_first_pair_yields_no_position() {
    let f = Flight::airliner();
    let bad_odd = flip_lat_bit(f.msg(0.5, true), 11);
    let mut tr = Tracker::default();
    let mut outputs = Vec::new();
    for k in 0..20 {
        let (t, odd) = slot(k);
        let msg = if k == 1 { bad_odd } else { f.msg(t, odd) };
        if let Ok(Some(p)) = tr.resolve_position(icao(), at(0.0), msg) {
            assert_near(p, f.truth(t), 6.0);
            outputs.push(k);
        }
    }
    assert_eq!(outputs, (5..20).collect::<Vec<_>>());
}

/// Without time, a gap cannot be seen: after one, the aircraft is far beyond the slack
/// of its last position; it is rejected a few times, then re-acquired by arrival order,
/// never placed between the two places.
#[test]
fn untimed_gap_is_reacquired_without_a_position_in_between() {
    let f = Flight::airliner();
    let mut tr = Tracker::default();
    for k in 0..10 {
        let (t, odd) = slot(k);
        let _ = tr.resolve_position(icao(), at(0.0), f.msg(t, odd));
    }
    assert!(tr.position(icao()).is_some());
    // Ten minutes later (≈ 140 km on): the same timestamp.
    let mut placed_after = None;
    for k in 1200..1240 {
        let (t, odd) = slot(k);
        match tr.resolve_position(icao(), at(0.0), f.msg(t, odd)) {
            Ok(Some(p)) => {
                assert_near(p, f.truth(t), 6.0);
                placed_after.get_or_insert(k);
            }
            Ok(None) | Err(DropReason::ImplausibleMotion) => {
                assert!(placed_after.is_none(), "message {k} dropped after placing");
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    let first = placed_after.expect("re-acquired");
    assert!(first < 1200 + 10, "re-acquired at message {first}");
}
