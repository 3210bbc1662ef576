//! Multilateration per fix and per sync message.
//!
//! - `solve/6rx`, `solve/5rx`: one fix from 6 or 5 Beast receivers (83 ns jitter) around
//!   Kabul, 256 different transmissions in turn, no altitude;
//! - `solve/4rx_alt`: 4 receivers and the reported altitude (one degree of freedom);
//! - `solve/3rx_alt_prior`: 3 receivers, the altitude and the previous fix (exactly
//!   determined: every start is run, the solutions compared);
//! - `sync/6rx`: one ADS-B position heard by 6 receivers into the pairwise clock
//!   relations (15 pairs, each a sliding least-squares line).
//!
//! Throughput is in fixes (or sync messages) per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skyfence_mlat::clock::ClockSync;
use skyfence_mlat::geo::{self, C_MPS, Ecef};
use skyfence_mlat::solve::{self, AltitudeConstraint, Measurement, SolveLimits};

const SITES: [(f64, f64); 6] = [
    (34.52, 69.18),
    (34.85, 69.05),
    (34.30, 69.65),
    (34.10, 68.95),
    (34.75, 69.60),
    (34.45, 68.75),
];

fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// 256 transmissions: (truth, measurements at every receiver).
fn cases(n: usize) -> Vec<(Ecef, Vec<Measurement>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let rx: Vec<Ecef> = SITES[..n]
        .iter()
        .map(|&(lat, lon)| geo::to_ecef(lat, lon, 1_800.0))
        .collect();
    (0..256)
        .map(|_| {
            let x = geo::to_ecef(
                rng.random_range(34.2..34.8),
                rng.random_range(68.9..69.5),
                9_000.0,
            );
            let m = rx
                .iter()
                .map(|r| Measurement {
                    receiver: *r,
                    t_s: 10.0 + (x - r).norm() / C_MPS + 83e-9 * gauss(&mut rng),
                    sigma_s: 83e-9,
                })
                .collect();
            (x, m)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let limits = SolveLimits::default();
    let alt = Some(AltitudeConstraint {
        h_m: 9_000.0,
        sigma_m: 60.0,
    });
    let mut g = c.benchmark_group("solve");
    g.throughput(Throughput::Elements(1));
    for (name, n, alt, prior) in [
        ("6rx", 6, None, false),
        ("5rx", 5, None, false),
        ("4rx_alt", 4, alt, false),
        ("3rx_alt_prior", 3, alt, true),
    ] {
        // Only the cases that solve (three receivers leave some positions of the area
        // outside their triangle too uncertain), or the bench would time refusals.
        let cases: Vec<_> = cases(n)
            .into_iter()
            .filter(|(x, m)| {
                let p = prior.then(|| x + Ecef::new(500.0, 0.0, 0.0));
                solve::solve_near(m, alt, p, &limits).is_ok()
            })
            .collect();
        assert!(cases.len() > 100, "{name}: {} cases solve", cases.len());
        let mut i = 0;
        g.bench_function(name, |b| {
            b.iter(|| {
                let (x, m) = &cases[i % cases.len()];
                i += 1;
                let p = prior.then(|| x + Ecef::new(500.0, 0.0, 0.0));
                black_box(solve::solve_near(black_box(m), alt, p, &limits))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sync");
    g.throughput(Throughput::Elements(1));
    g.bench_function("6rx", |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let offsets: Vec<f64> = (0..6).map(|_| rng.random_range(-0.4..0.4)).collect();
        let mut sync = ClockSync::new(6);
        let mut t = 0.0;
        let mut copies = vec![(0usize, 0.0f64); 6];
        b.iter(|| {
            t += 0.01;
            for (r, c) in copies.iter_mut().enumerate() {
                *c = (r, t + offsets[r] + 83e-9 * gauss(&mut rng));
            }
            sync.add_message(black_box(&copies));
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
