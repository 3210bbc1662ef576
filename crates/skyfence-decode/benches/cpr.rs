//! CPR arithmetic and the per-aircraft tracker, per message.
//!
//! - `nl/table` vs `nl/closed_form`: why the NL transition table (cpr.rs) is used.
//! - `global_airborne`, `global_surface`, `local_airborne`: one decode each, on the
//!   pairs of "The 1090 Megahertz Riddle".
//! - `tracker/steady_1000_aircraft`: `Tracker::resolve_position` over 10 s of traffic
//!   from 1000 placed aircraft, each sending alternating even/odd positions every
//!   0.5 s (20 000 messages, interleaved as a receiver hears them).
//! - `tracker/acquire_1000_aircraft`: the first 10 s of the same traffic on an empty
//!   tracker (table growth, pairs, confirmations).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use skyfence_core::{GeoPoint, Icao24, Timestamp};
use skyfence_decode::cpr::{self, CprPosition};
use skyfence_decode::tracker::{Tracker, TrackerConfig};

const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

fn air(odd: bool, lat: u32, lon: u32) -> CprPosition {
    CprPosition {
        odd,
        lat,
        lon,
        surface: false,
    }
}

fn surf(odd: bool, lat: u32, lon: u32) -> CprPosition {
    CprPosition {
        odd,
        lat,
        lon,
        surface: true,
    }
}

/// 1000 aircraft within ~250 km of (50°N, 8°E), straight lines at 150–250 m/s.
/// Returns the messages of seconds `[from_s, to_s)` in reception order.
fn traffic(from_s: f64, to_s: f64) -> Vec<(Icao24, Timestamp, CprPosition)> {
    const N: u32 = 1000;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rnd = move || {
        // xorshift64*: deterministic, good enough to spread aircraft.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        (seed.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    };
    let planes: Vec<_> = (0..N)
        .map(|i| {
            let lat = 50.0 + (rnd() - 0.5) * 4.5;
            let lon = 8.0 + (rnd() - 0.5) * 7.0;
            let speed = 150.0 + 100.0 * rnd();
            let heading = rnd() * std::f64::consts::TAU;
            let phase = rnd() * 0.5;
            (
                0x400000 + i * 7919,
                lat,
                lon,
                speed * heading.cos(),
                speed * heading.sin(),
                phase,
            )
        })
        .collect();
    let mut out = Vec::new();
    let mut k = (from_s / 0.5) as u32;
    while f64::from(k) * 0.5 < to_s {
        for &(addr, lat0, lon0, vn, ve, phase) in &planes {
            let t = f64::from(k) * 0.5 + phase;
            let lat = lat0 + vn * t / M_PER_DEG;
            let lon = lon0 + ve * t / (M_PER_DEG * lat0.to_radians().cos());
            out.push((
                Icao24::from_u32_masked(addr),
                Timestamp::from_micros(1_700_000_000_000_000 + (t * 1e6) as i64),
                cpr::encode_airborne(lat, lon, k % 2 == 1),
            ));
        }
        k += 1;
    }
    out.sort_by_key(|m| m.1);
    out
}

fn bench_arithmetic(c: &mut Criterion) {
    let lats: Vec<f64> = (0..1024)
        .map(|i| -90.0 + 180.0 * f64::from(i) / 1023.0)
        .collect();
    let mut g = c.benchmark_group("nl");
    g.throughput(Throughput::Elements(lats.len() as u64));
    g.bench_function("table", |b| {
        b.iter(|| {
            lats.iter()
                .map(|&l| u32::from(cpr::nl(black_box(l))))
                .sum::<u32>()
        })
    });
    g.bench_function("closed_form", |b| {
        b.iter(|| {
            lats.iter()
                .map(|&l| u32::from(cpr::nl_closed_form(black_box(l))))
                .sum::<u32>()
        })
    });
    g.finish();

    let (e, o) = (air(false, 93_000, 51_372), air(true, 74_158, 50_194));
    c.bench_function("global_airborne", |b| {
        b.iter(|| cpr::decode_global_airborne(black_box(e), black_box(o), black_box(false)))
    });
    let (se, so) = (surf(false, 115_609, 116_941), surf(true, 39_195, 110_320));
    let rx = GeoPoint::new(51.990, 4.375);
    c.bench_function("global_surface", |b| {
        b.iter(|| cpr::decode_global_surface(black_box(se), black_box(so), true, black_box(rx)))
    });
    let reference = GeoPoint::new(52.258, 3.918);
    c.bench_function("local_airborne", |b| {
        b.iter(|| cpr::decode_local(black_box(e), black_box(reference)))
    });
}

fn bench_tracker(c: &mut Criterion) {
    let warmup = traffic(0.0, 10.0);
    let steady = traffic(10.0, 20.0);
    let mut warm = Tracker::new(TrackerConfig::default());
    for &(icao, at, cpr) in &warmup {
        let _ = warm.resolve_position(icao, at, cpr);
    }
    // Every aircraft is placed after its first four messages: the steady run outputs a
    // position for every message.
    let mut check = warm.clone();
    let resolved = steady
        .iter()
        .filter(|&&(i, t, p)| matches!(check.resolve_position(i, t, p), Ok(Some(_))))
        .count();
    assert_eq!(resolved, steady.len(), "steady traffic not fully resolved");

    let mut g = c.benchmark_group("tracker");
    g.throughput(Throughput::Elements(steady.len() as u64));
    g.bench_function("steady_1000_aircraft", |b| {
        b.iter_batched_ref(
            || warm.clone(),
            |tr| {
                for &(icao, at, cpr) in &steady {
                    let _ = black_box(tr.resolve_position(icao, at, cpr));
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements(warmup.len() as u64));
    g.bench_function("acquire_1000_aircraft", |b| {
        b.iter_batched_ref(
            || Tracker::new(TrackerConfig::default()),
            |tr| {
                for &(icao, at, cpr) in &warmup {
                    let _ = black_box(tr.resolve_position(icao, at, cpr));
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_arithmetic, bench_tracker);
criterion_main!(benches);
