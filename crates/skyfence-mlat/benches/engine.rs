//! The engine's throughput: `engine/8rx`, every copy of 30 s of traffic heard by 8
//! Beast receivers (free-running clocks: offsets, drift, 83 ns jitter) from 40 ADS-B
//! aircraft (sync messages, each claim checked) and 10 transponder-only aircraft (DF11
//! and DF4, multilaterated), through `Engine::frame`, `decoded` and `poll` as `analyze`
//! calls them (the ingest step's observations are prepared beforehand: decoding is
//! measured by the decode benches). Throughput in frames (copies) per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skyfence_core::{
    Altitude, AltitudeDatum, GeoPoint, Icao24, Observation, ShortName, SourceId, Timestamp,
};
use skyfence_decode::sensor::ReceiverClock;
use skyfence_decode::{Frame, adsb, modes};
use skyfence_mlat::geo::{self, C_MPS};
use skyfence_mlat::{Engine, MlatConfig, ReceiverSite};

const SITES: [(f64, f64); 8] = [
    (34.52, 69.18),
    (34.85, 69.05),
    (34.30, 69.65),
    (34.10, 68.95),
    (34.75, 69.60),
    (34.45, 68.75),
    (34.95, 69.40),
    (34.20, 69.30),
];

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

type Stream = Vec<(Timestamp, u16, Frame, Option<Observation>)>;

fn traffic(secs: f64) -> (Vec<ReceiverSite>, Stream) {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let start = Timestamp::from_secs(1_700_000_000);
    let sites: Vec<ReceiverSite> = SITES
        .iter()
        .enumerate()
        .map(|(i, &(lat, lon))| {
            ReceiverSite::new(
                ShortName::new(&format!("rx{i}")).unwrap(),
                lat,
                lon,
                1_800.0,
                ReceiverClock::Beast,
            )
        })
        .collect();
    let offsets: Vec<f64> = (0..8).map(|_| rng.random_range(-0.4..0.4)).collect();
    let drifts: Vec<f64> = (0..8).map(|_| rng.random_range(-5e-6..5e-6)).collect();
    let mut stream = Stream::new();
    for k in 0..50u32 {
        let icao = Icao24::new(0x70_0000 + k).unwrap();
        let adsb_aircraft = k < 40;
        let (lat0, lon0) = (rng.random_range(34.0..35.0), rng.random_range(68.7..69.8));
        let (dlat, dlon) = (
            rng.random_range(-0.002..0.002),
            rng.random_range(-0.002..0.002),
        );
        let h = rng.random_range(3_000.0..12_000.0);
        let alt_ft = (h / 0.3048) as i32;
        let mut t = rng.random_range(0.0..0.5);
        let mut odd = false;
        while t < secs {
            let (lat, lon) = (lat0 + dlat * t, lon0 + dlon * t);
            let x = geo::to_ecef(lat, lon, h);
            let mut obs = Observation::new(icao, start);
            obs.altitude = Some(Altitude {
                feet: alt_ft,
                datum: AltitudeDatum::Barometric,
            });
            let data: Vec<u8> = if adsb_aircraft {
                odd = !odd;
                obs.position = Some(GeoPoint::new(lat, lon));
                adsb::encode_airborne_position(icao, GeoPoint::new(lat, lon), Some(alt_ft), odd)
                    .unwrap()
                    .to_vec()
            } else if rng.random_bool(0.5) {
                modes::encode_altitude_reply(icao, 0, alt_ft)
                    .unwrap()
                    .to_vec()
            } else {
                obs.altitude = None;
                modes::encode_all_call(icao, 5, 0).unwrap().to_vec()
            };
            let mut first = true;
            for (r, s) in sites.iter().enumerate() {
                let arrival = t + (x - s.ecef).norm() / C_MPS;
                let own = arrival + offsets[r] + drifts[r] * arrival + 83e-9 * gauss(&mut rng);
                let mut f = Frame::new(start, &data).unwrap();
                f.at = start.add_micros((own * 1e6) as i64);
                f.counter = Some(((100.0 + own) * 12e6).round() as u64);
                let o = first.then(|| {
                    let mut o = obs.clone();
                    o.at = f.at;
                    o.raw = Some(f.raw.into());
                    o
                });
                first = false;
                stream.push((f.at, r as u16, f, o));
            }
            t += rng.random_range(0.4..0.6);
        }
    }
    stream.sort_by_key(|s| s.0);
    (sites, stream)
}

fn bench(c: &mut Criterion) {
    let (sites, stream) = traffic(30.0);
    // `live`: the live service's settings (fix times on receive times, each fix with its
    // evidence record encoded).
    let run = |live: bool| {
        let config = MlatConfig {
            evidence: live,
            anchor_to_reference: !live,
            ..MlatConfig::default()
        };
        let mut engine = Engine::new(sites.clone(), config);
        for r in 0..8 {
            engine.bind(SourceId(r), usize::from(r));
        }
        let mut out = Vec::new();
        for (at, r, f, o) in &stream {
            engine.frame(SourceId(*r), f);
            if let Some(o) = o {
                engine.decoded(o);
            }
            engine.poll(*at, &mut out);
        }
        engine.finish(&mut out);
        (engine.stats().fixes, engine.stats().verified)
    };
    // The traffic must exercise both halves, or the bench would time nothing.
    let (fixes, verified) = run(false);
    assert!(
        fixes > 400 && verified > 1_500,
        "{fixes} fixes, {verified} checks"
    );
    let mut g = c.benchmark_group("engine");
    g.throughput(Throughput::Elements(stream.len() as u64));
    g.sample_size(10);
    g.bench_function("8rx", |b| b.iter(|| black_box(run(false))));
    g.bench_function("8rx_evidence", |b| b.iter(|| black_box(run(true))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
