//! The detector's throughput (target: ≥ 5 M observations/s on one core with
//! 10 000 live tracks against the Afghanistan zone, ≤ 1 KB per live track).
//!
//! Workload `af_10k_tracks`: 10 000 targets, each flying a circle of 2.5 km radius at
//! ~245 m/s with a position report every 2 s, centres uniform over Afghanistan's
//! bounding box widened by 1° (about 40 % of them inside the country, some circling
//! across its border: confirmed, closed and re-entered incursions, depth queries). The
//! motion is periodic (one circle = 32 reports), so each iteration replays one period
//! shifted in time and the detector stays in steady state. `af_10k_tracks_inside` puts
//! every centre inside the country (every report updates an open incident).
//!
//! Run: `cargo bench -p skyfence-core --bench detect`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skyfence_core::airspace::{AirspaceIndex, builtin};
use skyfence_core::detect::{DetectionConfig, Detector, Event, ZoneQueries};
use skyfence_core::{Altitude, AltitudeDatum, GeoPoint, Icao24, Observation, Timestamp};

/// SplitMix64: the same workload in every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

const TRACKS: u32 = 10_000;
const REPORTS_PER_PERIOD: u32 = 32;
const STEP_US: i64 = 2_000_000;
const PERIOD_US: i64 = STEP_US * REPORTS_PER_PERIOD as i64;
const RADIUS_DEG: f64 = 0.0225;
const T0: i64 = 1_700_000_000_000_000;

/// One report of the period, compact (the stream of one period is 320 000 of these).
#[derive(Clone, Copy)]
struct Compact {
    icao: Icao24,
    offset_us: i64,
    lat: f64,
    lon: f64,
}

fn workload(index: &AirspaceIndex, only_inside: bool) -> Vec<Compact> {
    let af = &index.zones()[0];
    let (x0, y0, x1, y1) = af.bounding_box().expect("AF has a shape");
    let mut rng = Rng(5);
    let centres: Vec<GeoPoint> = (0..TRACKS)
        .map(|_| {
            loop {
                let c = GeoPoint::new(rng.range(y0 - 1.0, y1 + 1.0), rng.range(x0 - 1.0, x1 + 1.0));
                if !only_inside
                    || index.distance_to_boundary_m(skyfence_core::airspace::ZoneId(0), c) > 5_000.0
                        && ZoneQueries::contains(index, skyfence_core::airspace::ZoneId(0), c)
                {
                    break c;
                }
            }
        })
        .collect();
    let mut out = Vec::with_capacity((TRACKS * REPORTS_PER_PERIOD) as usize);
    for k in 0..REPORTS_PER_PERIOD {
        for (i, c) in centres.iter().enumerate() {
            // Spread each target's report time over the step, as receivers hear them.
            let offset_us = i64::from(k) * STEP_US + (i as i64 * 997) % STEP_US;
            let a = std::f64::consts::TAU * (f64::from(k) + (i % 7) as f64 / 7.0)
                / f64::from(REPORTS_PER_PERIOD);
            out.push(Compact {
                icao: Icao24::new(0x700000 + i as u32).expect("24-bit"),
                offset_us,
                lat: c.lat + RADIUS_DEG * a.sin(),
                lon: c.lon + RADIUS_DEG * a.cos() / c.lat.to_radians().cos(),
            });
        }
    }
    out.sort_by_key(|c| c.offset_us);
    out
}

fn observation(c: &Compact, period: i64) -> Observation {
    let mut o = Observation::new(
        c.icao,
        Timestamp::from_micros(T0 + period * PERIOD_US + c.offset_us),
    );
    o.position = Some(GeoPoint {
        lat: c.lat,
        lon: c.lon,
    });
    o.altitude = Some(Altitude {
        feet: 30_000,
        datum: AltitudeDatum::Barometric,
    });
    o
}

fn bench_case(c: &mut Criterion, name: &str, index: &AirspaceIndex, only_inside: bool) {
    let stream = workload(index, only_inside);
    let mut det = Detector::new(index.clone(), DetectionConfig::default(), vec![]);
    let mut events: Vec<Event> = Vec::with_capacity(1024);
    let mut period = 0i64;
    // Two periods of warm-up: every track exists, every incursion is confirmed.
    for _ in 0..2 {
        for s in &stream {
            det.observe(&observation(s, period), &mut events);
        }
        period += 1;
    }
    let st = det.stats();
    let tracks = det.tracks();
    eprintln!(
        "{name}: {} tracks, {} bytes per track, {} open incursions, {} confirmed / {} closed so far",
        tracks.len(),
        tracks.bytes() / tracks.len().max(1),
        tracks
            .iter()
            .map(|t| t.zones_confirmed().count())
            .sum::<usize>(),
        st.confirmed,
        st.closed
    );
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(stream.len() as u64));
    g.sample_size(10);
    g.bench_function(name, |b| {
        b.iter(|| {
            for s in &stream {
                det.observe(&observation(s, period), &mut events);
            }
            period += 1;
            black_box(events.len());
            events.clear();
        })
    });
    g.finish();
    let st = det.stats();
    assert_eq!(st.implausible_motion, 0);
    assert_eq!(st.accepted_positions, st.positions);
}

fn detect(c: &mut Criterion) {
    let af = builtin::load_country("AF").expect("the built-in borders include AF");
    let index = AirspaceIndex::new(vec![af]);
    bench_case(c, "af_10k_tracks", &index, false);
    bench_case(c, "af_10k_tracks_inside", &index, true);
}

criterion_group!(benches, detect);
criterion_main!(benches);
