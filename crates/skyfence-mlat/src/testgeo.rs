//! Synthetic geometry shared by the unit tests.

use rand::Rng;

use crate::geo::{self, C_MPS, Ecef};

/// Up to 8 receivers around Kabul, 30 to 60 km apart, at 1 800 m.
pub fn receivers(n: usize) -> Vec<Ecef> {
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
    SITES[..n]
        .iter()
        .map(|&(lat, lon)| geo::to_ecef(lat, lon, 1_800.0))
        .collect()
}

/// Arrival times at `rx` of a transmission from `x` sent at `t0`.
pub fn times(rx: &[Ecef], x: &Ecef, t0: f64) -> Vec<f64> {
    rx.iter().map(|r| t0 + (x - r).norm() / C_MPS).collect()
}

/// A standard normal deviate (Box–Muller).
pub fn gauss(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Horizontal distance between two ECEF points, metres (in the plane of the first).
pub fn horizontal_m(a: &Ecef, b: &Ecef) -> f64 {
    let (lat, lon, _) = geo::from_ecef(a);
    let d = geo::enu_rotation(lat, lon) * (b - a);
    d.x.hypot(d.y)
}
