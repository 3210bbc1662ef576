//! The engine on a synthetic network: receivers with free-running 12 MHz counters
//! (offset, drift, one-tick jitter), ADS-B aircraft to synchronise from, a
//! transponder-only aircraft to locate, a spoofer.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skyfence_core::{
    Altitude, AltitudeDatum, GeoPoint, Icao24, Observation, ShortName, SourceId, Timestamp,
};
use skyfence_decode::{Frame, adsb, modes};

use super::*;
use crate::testgeo::{gauss, horizontal_m};

const SITES: [(f64, f64); 6] = [
    (34.52, 69.18),
    (34.85, 69.05),
    (34.30, 69.65),
    (34.10, 68.95),
    (34.75, 69.60),
    (34.45, 68.75),
];

/// A straight-flying aircraft: position at `t` seconds.
#[derive(Clone, Copy)]
struct Flight {
    icao: u32,
    lat: f64,
    lon: f64,
    alt_m: f64,
    /// Degrees per second north and east.
    dlat: f64,
    dlon: f64,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Adsb,
    /// Broadcasts positions `km` east of where it is.
    Spoofer(f64),
    /// DF11 and DF4 only.
    TransponderOnly,
    /// DF11 only: no altitude ever.
    AllCallOnly,
}

impl Flight {
    fn at(&self, t: f64) -> (f64, f64, f64) {
        (
            self.lat + self.dlat * t,
            self.lon + self.dlon * t,
            self.alt_m,
        )
    }
}

struct Network {
    sites: Vec<ReceiverSite>,
    clock: ReceiverClock,
    offsets: Vec<f64>,
    drifts: Vec<f64>,
    start: Timestamp,
}

impl Network {
    fn new(n: usize, rng: &mut ChaCha8Rng) -> Self {
        Self::with_clock(n, ReceiverClock::Beast, rng)
    }

    /// GNSS-disciplined Radarcapes: UTC time of day in nanoseconds, 15 ns jitter, the
    /// clocks agreeing within 20 ns.
    fn gnss(n: usize, rng: &mut ChaCha8Rng) -> Self {
        let mut net = Self::with_clock(n, ReceiverClock::RadarcapeGps, rng);
        net.offsets = (0..n).map(|_| rng.random_range(-20e-9..20e-9)).collect();
        net.drifts = vec![0.0; n];
        net
    }

    fn with_clock(n: usize, clock: ReceiverClock, rng: &mut ChaCha8Rng) -> Self {
        Network {
            clock,
            sites: SITES[..n]
                .iter()
                .enumerate()
                .map(|(i, &(lat, lon))| {
                    ReceiverSite::new(
                        ShortName::new(&format!("rx{i}")).unwrap(),
                        lat,
                        lon,
                        1_800.0,
                        clock,
                    )
                })
                .collect(),
            // Counters anchored within ±0.4 s of true time, drifting up to 5 ppm.
            offsets: (0..n).map(|_| rng.random_range(-0.4..0.4)).collect(),
            drifts: (0..n).map(|_| rng.random_range(-5e-6..5e-6)).collect(),
            start: Timestamp::from_secs(1_700_000_000),
        }
    }

    /// The copies of a transmission from `x` at true time `t` (seconds after start):
    /// (receiver, frame).
    fn receive(&self, x: &Ecef, t: f64, data: &[u8], rng: &mut ChaCha8Rng) -> Vec<(usize, Frame)> {
        let mut out = Vec::new();
        for (r, s) in self.sites.iter().enumerate() {
            let arrival = t + (x - s.ecef).norm() / C_MPS;
            let jitter = clock::jitter_s(self.clock) * gauss(rng);
            let own = arrival + self.offsets[r] + self.drifts[r] * arrival + jitter;
            let mut f = Frame::new(self.start, data).unwrap();
            f.at = self.start.add_micros((own * 1e6).floor() as i64);
            f.counter = Some(match self.clock {
                ReceiverClock::RadarcapeGps => {
                    // Seconds of the day first: nanoseconds since 1970 are beyond the
                    // precision of an f64 (256 ns steps).
                    let day_s = (self.start.as_micros() / 1_000_000).rem_euclid(86_400) as f64;
                    let ns = ((day_s + own) * 1e9).round() as u64 % 86_400_000_000_000;
                    ((ns / 1_000_000_000) << 30) | (ns % 1_000_000_000)
                }
                _ => ((100.0 + own) * 12e6).round() as u64,
            });
            out.push((r, f));
        }
        out
    }
}

struct Run {
    fixes: Vec<(Observation, f64)>,
    /// Checks of broadcast positions as evidence (with `evidence` on).
    checks: Vec<Observation>,
    engine: Engine,
}

/// Runs `flights` for `secs` seconds through an engine; each fix with its true
/// horizontal error.
fn run(
    net: &Network,
    flights: &[Flight],
    secs: f64,
    heard_by: &dyn Fn(f64) -> usize,
    seed: u64,
) -> Run {
    run_with(MlatConfig::default(), net, flights, secs, heard_by, seed)
}

fn run_with(
    config: MlatConfig,
    net: &Network,
    flights: &[Flight],
    secs: f64,
    heard_by: &dyn Fn(f64) -> usize,
    seed: u64,
) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut engine = Engine::new(net.sites.clone(), config);
    for r in 0..net.sites.len() {
        engine.bind(SourceId(r as u16), r);
    }
    // Every copy of every transmission, with the first copy's observation.
    let mut frames: Vec<(Timestamp, usize, Frame, Option<Observation>)> = Vec::new();
    let mut truth: Vec<(Icao24, f64, Ecef)> = Vec::new();
    for f in flights {
        let icao = Icao24::new(f.icao).unwrap();
        let mut t = rng.random_range(0.0..0.5);
        let mut odd = false;
        while t < secs {
            let (lat, lon, h) = f.at(t);
            let x = geo::to_ecef(lat, lon, h);
            let alt_ft = (h / 0.3048) as i32;
            let mut obs = Observation::new(icao, Timestamp::EPOCH);
            let data: Vec<u8> = match f.kind {
                Kind::Adsb | Kind::Spoofer(_) => {
                    let east = if let Kind::Spoofer(km) = f.kind {
                        km / 91.8
                    } else {
                        0.0
                    };
                    let claim = GeoPoint::new(lat, lon + east);
                    odd = !odd;
                    obs.position = Some(claim);
                    obs.altitude = Some(Altitude {
                        feet: alt_ft,
                        datum: AltitudeDatum::Barometric,
                    });
                    adsb::encode_airborne_position(icao, claim, Some(alt_ft), odd)
                        .unwrap()
                        .to_vec()
                }
                Kind::TransponderOnly | Kind::AllCallOnly => {
                    truth.push((icao, t, x));
                    if f.kind == Kind::TransponderOnly && rng.random_bool(0.5) {
                        obs.altitude = Some(Altitude {
                            feet: alt_ft,
                            datum: AltitudeDatum::Barometric,
                        });
                        modes::encode_altitude_reply(icao, 0, alt_ft)
                            .unwrap()
                            .to_vec()
                    } else {
                        modes::encode_all_call(icao, 5, 0).unwrap().to_vec()
                    }
                }
            };
            let mut copies = net.receive(&x, t, &data, &mut rng);
            copies.truncate(
                if matches!(f.kind, Kind::TransponderOnly | Kind::AllCallOnly) {
                    heard_by(t)
                } else {
                    copies.len()
                },
            );
            copies.sort_by_key(|c| c.1.at);
            for (i, (r, fr)) in copies.into_iter().enumerate() {
                let o = (i == 0).then(|| {
                    let mut o = obs.clone();
                    o.at = fr.at;
                    o.raw = Some(fr.raw.into());
                    o
                });
                frames.push((fr.at, r, fr, o));
            }
            t += rng.random_range(0.4..0.6);
        }
    }
    frames.sort_by_key(|f| f.0);
    let mut out = Vec::new();
    for (at, r, frame, obs) in &frames {
        engine.frame(SourceId(*r as u16), frame);
        if let Some(o) = obs {
            engine.decoded(o);
        }
        engine.poll(*at, &mut out);
    }
    engine.finish(&mut out);
    let (out, checks): (Vec<Observation>, Vec<Observation>) =
        out.into_iter().partition(|o| o.position.is_some());
    // Each fix against the truth nearest its time (positions move ≤ 250 m/s, so the
    // transmission a fix came from is the one within 1 s whose truth is nearest).
    let fixes = out
        .into_iter()
        .map(|o| {
            let p = o.position.unwrap();
            let h = f64::from(o.altitude.unwrap().feet) * 0.3048;
            let fx = geo::to_ecef(p.lat, p.lon, h);
            let t = o.at.secs_since(net.start);
            let err = truth
                .iter()
                .filter(|(i, tt, _)| TargetId::Icao(*i) == o.target && (tt - t).abs() < 1.0)
                .map(|(_, _, x)| horizontal_m(x, &fx))
                .fold(f64::INFINITY, f64::min);
            (o, err)
        })
        .collect();
    Run {
        fixes,
        checks,
        engine,
    }
}

fn sync_flights() -> Vec<Flight> {
    vec![
        Flight {
            icao: 0x700001,
            lat: 34.2,
            lon: 68.8,
            alt_m: 10_000.0,
            dlat: 0.002,
            dlon: 0.001,
            kind: Kind::Adsb,
        },
        Flight {
            icao: 0x700002,
            lat: 34.9,
            lon: 69.7,
            alt_m: 11_000.0,
            dlat: -0.001,
            dlon: -0.002,
            kind: Kind::Adsb,
        },
        Flight {
            icao: 0x700003,
            lat: 34.6,
            lon: 69.0,
            alt_m: 8_000.0,
            dlat: 0.0,
            dlon: 0.0025,
            kind: Kind::Adsb,
        },
        Flight {
            icao: 0x700004,
            lat: 34.3,
            lon: 69.5,
            alt_m: 9_500.0,
            dlat: 0.0015,
            dlon: -0.001,
            kind: Kind::Adsb,
        },
    ]
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn a_transponder_only_aircraft_is_located_within_beast_accuracy() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let net = Network::new(6, &mut rng);
    let mut flights = sync_flights();
    let target = Flight {
        icao: 0x7abcde,
        lat: 34.4,
        lon: 69.0,
        alt_m: 7_000.0,
        dlat: 0.001,
        dlon: 0.002,
        kind: Kind::TransponderOnly,
    };
    flights.push(target);
    let r = run(&net, &flights, 120.0, &|_| 6, 5);
    // Only the transponder-only aircraft is multilaterated into positions.
    assert!(
        r.fixes
            .iter()
            .all(|(o, _)| o.target == TargetId::Icao(Icao24::new(0x7abcde).unwrap()))
    );
    assert!(
        r.fixes
            .iter()
            .all(|(o, _)| o.position_kind == PositionKind::Mlat)
    );
    let s = r.engine.stats();
    // ~240 transmissions in 120 s; the first seconds go to synchronisation.
    assert!(s.fixes > 180, "{s:?}");
    let mut errors: Vec<f64> = r.fixes.iter().map(|f| f.1).collect();
    let median = percentile(&mut errors, 0.5);
    let p95 = percentile(&mut errors, 0.95);
    assert!(median <= 100.0, "median {median} m");
    assert!(p95 <= 300.0, "95th percentile {p95} m");
    // The stated accuracy is of the right size.
    let acc: f64 = r
        .fixes
        .iter()
        .map(|f| f64::from(f.0.accuracy_m.unwrap()))
        .sum::<f64>()
        / r.fixes.len() as f64;
    assert!(acc > 10.0 && acc < 1000.0, "mean accuracy {acc}");
    for rx in 0..6 {
        assert_eq!(r.engine.sync_state(rx), SyncState::Synced, "rx{rx}");
    }
    // Fix times are the true emission times (within a millisecond).
    for (o, _) in &r.fixes {
        let t = o.at.secs_since(net.start);
        assert!(t > 0.0 && t < 121.0);
    }
}

/// With evidence on (the live service), every fix carries the record it was computed
/// from: the record recomputes to the same fix, makes the same observation, and a
/// changed timestamp of one copy is caught.
#[test]
fn every_fix_carries_evidence_that_recomputes_it() {
    use crate::evidence::{FixEvidence, Mismatch};
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let net = Network::new(6, &mut rng);
    let mut flights = sync_flights();
    flights.push(Flight {
        icao: 0x7abcde,
        lat: 34.4,
        lon: 69.0,
        alt_m: 7_000.0,
        dlat: 0.001,
        dlon: 0.002,
        kind: Kind::TransponderOnly,
    });
    let config = MlatConfig {
        evidence: true,
        anchor_to_reference: false,
        ..MlatConfig::default()
    };
    let r = run_with(config, &net, &flights, 60.0, &|_| 6, 5);
    assert!(r.fixes.len() > 60, "{}", r.fixes.len());
    let mut reported = 0;
    for (o, _) in &r.fixes {
        let raw = o.raw.as_ref().expect("evidence");
        assert_eq!(raw.proto, skyfence_core::Protocol::Mlat);
        let e = FixEvidence::decode(raw.data()).unwrap();
        assert!(e.copies.len() >= 3);
        reported += usize::from(e.altitude_reported);
        e.recompute().unwrap_or_else(|m| panic!("{m}"));
        let again = e.observation();
        assert_eq!(
            (
                again.at,
                again.position,
                again.altitude,
                again.accuracy_m,
                again.target
            ),
            (o.at, o.position, o.altitude, o.accuracy_m, o.target)
        );
        let mut t = e.clone();
        t.copies[1].counter += 120;
        assert!(matches!(
            t.recompute(),
            Err(Mismatch::Moved { .. } | Mismatch::NoFix(_))
        ));
    }
    // DF4 replies carry their altitude, DF11 squitters do not: both kinds were fixed.
    assert!(reported > 0 && reported < r.fixes.len(), "{reported}");
}

/// With evidence on, every check of a broadcast position comes out as an observation
/// without a position carrying its [`CheckEvidence`]: it recomputes, its counts run
/// one by one per aircraft, and the last one's verdict is the engine's.
#[test]
fn every_check_carries_evidence_that_recomputes_it_and_the_verdict() {
    use crate::evidence::CheckEvidence;
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let net = Network::new(6, &mut rng);
    let mut flights = sync_flights();
    flights.push(Flight {
        icao: 0x7bad00,
        lat: 34.5,
        lon: 69.3,
        alt_m: 9_000.0,
        dlat: 0.0,
        dlon: 0.0,
        kind: Kind::Spoofer(20.0),
    });
    let config = MlatConfig {
        evidence: true,
        ..MlatConfig::default()
    };
    let r = run_with(config.clone(), &net, &flights, 60.0, &|_| 6, 7);
    assert!(r.checks.len() > 100, "{}", r.checks.len());
    let mut last: std::collections::HashMap<Icao24, CheckEvidence> = Default::default();
    for o in &r.checks {
        let raw = o.raw.as_ref().expect("evidence");
        assert_eq!(raw.proto, skyfence_core::Protocol::Mlat);
        let e = CheckEvidence::decode(raw.data()).unwrap();
        assert_eq!(o.target, TargetId::Icao(e.icao));
        let residual = e
            .recompute(config.verify_min_receivers, config.spoof_residual_m)
            .unwrap_or_else(|m| panic!("{m}"));
        assert!((residual - e.residual_m).abs() < 1e-6);
        let (checked, suspected) = last
            .get(&e.icao)
            .map_or((0, 0), |p| (p.checked, p.suspected));
        assert_eq!(e.checked, checked + 1);
        assert_eq!(e.suspected, suspected + u32::from(e.suspect));
        last.insert(e.icao, e);
    }
    let spoofer = Icao24::new(0x7bad00).unwrap();
    for (icao, e) in &last {
        let v = r.engine.verdict(*icao).unwrap();
        assert_eq!(e.verdict(), v.verdict, "{icao}");
        assert_eq!(e.copies.len(), v.receivers);
        let want = if *icao == spoofer {
            Verdict::SpoofSuspected
        } else {
            Verdict::Consistent
        };
        assert_eq!(v.verdict, want, "{icao}");
    }
    assert!(last.contains_key(&spoofer));
}

#[test]
fn fewer_than_four_receivers_without_altitude_give_no_fix() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let net = Network::new(6, &mut rng);
    let with = |kind| {
        let mut f = sync_flights();
        f.push(Flight {
            icao: 0x7abcde,
            lat: 34.4,
            lon: 69.0,
            alt_m: 7_000.0,
            dlat: 0.0,
            dlon: 0.002,
            kind,
        });
        f
    };
    // Three receivers and no altitude: every attempt refused, counted.
    let r = run(&net, &with(Kind::AllCallOnly), 60.0, &|_| 3, 6);
    let s = r.engine.stats();
    assert_eq!(s.fixes, 0, "{s:?}");
    assert!(r.fixes.is_empty());
    assert!(s.no_fix[0] > 100, "{s:?}");
    // Three receivers and DF4 altitude replies, after 15 s heard by all six: the
    // unambiguous fixes of the start are the prior that picks one of the two solutions
    // of three receivers and an altitude.
    let r = run(
        &net,
        &with(Kind::TransponderOnly),
        60.0,
        &|t| if t < 15.0 { 6 } else { 3 },
        6,
    );
    let s = r.engine.stats();
    let late = r
        .fixes
        .iter()
        .filter(|f| f.0.at.secs_since(net.start) > 16.0)
        .count();
    assert!(late > 50, "3 receivers + altitude: {late} fixes, {s:?}");
    let mut errors: Vec<f64> = r.fixes.iter().map(|f| f.1).collect();
    let median = percentile(&mut errors, 0.5);
    let worst = percentile(&mut errors, 1.0);
    assert!(median <= 100.0, "median {median} m");
    assert!(worst <= 2_000.0, "worst {worst} m");
    // Three receivers and the altitude from the start, no prior: the mirror solution is
    // refused as ambiguous, never reported.
    let r = run(&net, &with(Kind::TransponderOnly), 60.0, &|_| 3, 6);
    let mut errors: Vec<f64> = r.fixes.iter().map(|f| f.1).collect();
    if !errors.is_empty() {
        let worst = percentile(&mut errors, 1.0);
        assert!(worst <= 2_000.0, "worst {worst} m");
    }
    assert!(r.engine.stats().no_fix[5] > 0, "{:?}", r.engine.stats());
    // Two receivers: never.
    let r = run(&net, &with(Kind::TransponderOnly), 60.0, &|_| 2, 6);
    assert_eq!(r.engine.stats().fixes, 0);
}

#[test]
fn spoofers_are_flagged_and_honest_aircraft_are_not() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let net = Network::new(6, &mut rng);
    let mut flights = sync_flights();
    flights.push(Flight {
        icao: 0x7bad00,
        lat: 34.5,
        lon: 69.3,
        alt_m: 9_000.0,
        dlat: 0.0,
        dlon: 0.0,
        kind: Kind::Spoofer(20.0),
    });
    let r = run(&net, &flights, 60.0, &|_| 6, 7);
    assert!(
        r.checks.is_empty(),
        "checks are evidence only when asked for"
    );
    let v = r
        .engine
        .verification(Icao24::new(0x7bad00).unwrap())
        .expect("verified");
    assert_eq!(v.verdict, Verdict::SpoofSuspected, "{v:?}");
    assert!(v.residual_m > 1_000.0);
    for f in sync_flights() {
        let v = r
            .engine
            .verification(Icao24::new(f.icao).unwrap())
            .expect("verified");
        assert_eq!(v.verdict, Verdict::Consistent, "{:06x}: {v:?}", f.icao);
        assert!(v.residual_m < 100.0, "{v:?}");
    }
}

#[test]
fn gnss_clocks_locate_within_thirty_metres() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let net = Network::gnss(6, &mut rng);
    let mut flights = sync_flights();
    flights.push(Flight {
        icao: 0x7abcde,
        lat: 34.4,
        lon: 69.0,
        alt_m: 7_000.0,
        dlat: 0.001,
        dlon: 0.002,
        kind: Kind::TransponderOnly,
    });
    let r = run(&net, &flights, 60.0, &|_| 6, 8);
    assert!(r.fixes.len() > 90, "{:?}", r.engine.stats());
    let mut errors: Vec<f64> = r.fixes.iter().map(|f| f.1).collect();
    let median = percentile(&mut errors, 0.5);
    assert!(median <= 30.0, "median {median} m");
    // Better than the Beast clocks of the same geometry.
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let beast = Network::new(6, &mut rng);
    let rb = run(&beast, &flights, 60.0, &|_| 6, 8);
    let mut eb: Vec<f64> = rb.fixes.iter().map(|f| f.1).collect();
    assert!(
        median < percentile(&mut eb, 0.5),
        "gnss {median} m, beast {} m",
        percentile(&mut eb, 0.5)
    );
}
