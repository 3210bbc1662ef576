//! WGS-84 distance arithmetic for the airspace index.
//!
//! Three tools, each with a stated error:
//!
//! * [`LocalFrame`]: a plane centred on the query point in which a vertex `(λ, φ)` maps to
//!   `x = Δλ · N(φp) · (cos φ + cos φp) / 2`, `y = Δφ · M(φm)` (N and M are the WGS-84
//!   prime-vertical and meridional radii of curvature, φm the mid latitude). Distances
//!   from the centre are the classical mid-latitude ("flat-earth with local radii")
//!   approximation of the geodesic: their relative error grows like `(d / a)² · tan² φ`;
//!   the index uses it only up to [`NEAR_LIMIT_M`], where the tests bound it below 0.05 %
//!   (the `local_frame_error_bound` test; end to end, `tests/index_distance.rs`), and refines farther answers with Karney's
//!   geodesic ([`geodesic_distance_m`]).
//! * [`box_lower_bound_m`] / [`cell_lower_bound_sq`]: rigorous lower bounds of the geodesic
//!   distance to a latitude/longitude box, used to stop the grid's ring search. They hold
//!   because the ellipsoid's line element `ds² = M² dφ² + N² cos² φ dλ²` is never shorter
//!   than that of a sphere of radius `a (1 - e²)` (the smallest radius of curvature,
//!   meridional at the equator) in the same coordinates.
//! * [`geodesic_distance_m`]: Karney's algorithm (geographiclib), accurate to nanometres.
//! * [`lambert_distance_m`]: the Andoyer–Lambert formula, within [`LAMBERT_REL_ERR`] of it
//!   (measured), a cheap filter that leaves Karney only a handful of candidates far from
//!   a border.

use geographiclib_rs::{Geodesic, InverseGeodesic};

/// WGS-84 semi-major axis, metres (NIMA TR8350.2, table 3.1).
pub const WGS84_A: f64 = 6_378_137.0;
/// WGS-84 flattening (NIMA TR8350.2, table 3.1).
pub const WGS84_F: f64 = 1.0 / 298.257_223_563;
/// First eccentricity squared, `f (2 - f)`.
pub const WGS84_E2: f64 = WGS84_F * (2.0 - WGS84_F);
/// The smallest radius of curvature of the WGS-84 ellipsoid, `a (1 - e²)` (meridional, at
/// the equator): a sphere of this radius never over-estimates a geodesic distance.
pub const R_MIN_M: f64 = WGS84_A * (1.0 - WGS84_E2);

/// Beyond this distance the local-plane approximation is refined with a true geodesic.
pub const NEAR_LIMIT_M: f64 = 50_000.0;

/// Relative error bound the search assumes for [`LocalFrame`] distances up to
/// [`NEAR_LIMIT_M`]: the worst case measured over 200 000 random point pairs at
/// latitudes up to 85° is 3.3e-4 (`local_frame_error_bound` test checks the table of
/// [`local_frame_rel_err`]).
pub const NEAR_REL_ERR: f64 = 5e-4;

/// A bound of the relative error of [`LocalFrame`] distances at `d_m` metres (latitudes up
/// to 85°), from the same measurement with a margin of 2×: 4.6e-5 at 10 km, 3.3e-4 at
/// 50 km, 1.2e-3 at 100 km, 4.7e-3 at 200 km, 1.8e-2 at 400 km, 0.1 at 800 km, 0.65 beyond.
pub fn local_frame_rel_err(d_m: f64) -> f64 {
    const TABLE: [(f64, f64); 7] = [
        (10e3, 1e-4),
        (50e3, NEAR_REL_ERR),
        (100e3, 2.5e-3),
        (200e3, 1e-2),
        (400e3, 4e-2),
        (800e3, 0.2),
        (1600e3, 1.2),
    ];
    TABLE
        .iter()
        .find(|(d, _)| d_m <= *d)
        .map_or(1.5, |&(_, e)| e)
}

/// Coefficient of the latitude-aware bound [`local_frame_rel_err_at`]: twice the largest
/// `rel · cos² φ* / (d / a)²` measured by the `local_frame_error_bound` test.
const LOCAL_FRAME_K: f64 = LOCAL_FRAME_K_MEASURED * 2.0;
const LOCAL_FRAME_K_MEASURED: f64 = 0.26;

/// A tighter bound than [`local_frame_rel_err`] of the relative error of [`LocalFrame`]
/// distances at `d_m` metres from a point at latitude `lat` (degrees): the error of the
/// mid-latitude plane grows like `(d / a)² · tan² φ` plus a latitude-free `(d / a)²`
/// term, so it is bounded by `K · (d / a)² / cos² φ*`, φ* the largest latitude within
/// `d` of the point (`|φ| + d / R_MIN`, capped at 89°), from 10 km on. K is measured
/// (2× margin) by the `local_frame_error_bound` test over the same random pairs as the
/// table; the smaller of the two bounds is returned. At 34° N it is 4e-4 at 150 km, where the table says 1e-2.
pub fn local_frame_rel_err_at(d_m: f64, lat: f64) -> f64 {
    if d_m < 10e3 {
        // Rounding dominates the tiny errors there: the table's bound only.
        return local_frame_rel_err(d_m);
    }
    let phi = (lat.abs() + (d_m / R_MIN_M).to_degrees())
        .min(89.0)
        .to_radians();
    let c = phi.cos();
    let r = d_m / WGS84_A;
    (LOCAL_FRAME_K * r * r / (c * c)).min(local_frame_rel_err(d_m))
}

/// Distances up to which [`lambert_distance_m`] is within [`LAMBERT_REL_ERR`] (relative)
/// of the geodesic: the range the `lambert_error_bound` test measures.
pub const LAMBERT_MAX_M: f64 = 3_000e3;
/// ... and from which on.
pub const LAMBERT_MIN_M: f64 = 10e3;

/// Relative error bound of [`lambert_distance_m`] between [`LAMBERT_MIN_M`] and
/// [`LAMBERT_MAX_M`] at latitudes up to 85°: twice the worst case of the
/// `lambert_error_bound` test.
pub const LAMBERT_REL_ERR: f64 = LAMBERT_REL_ERR_MEASURED * 2.0;
const LAMBERT_REL_ERR_MEASURED: f64 = 1.5e-6;

/// Andoyer–Lambert distance on WGS-84 (metres): the great-circle angle σ between the
/// reduced latitudes, corrected to first order in the flattening (Lambert 1942, "The
/// distance between two widely separated points on the surface of the earth", J. Wash.
/// Acad. Sci. 32(5)). A handful of trigonometric calls, far cheaper than Karney's
/// iterative inverse; its error is of order
/// f² and bounded by [`LAMBERT_REL_ERR`] in the range the index uses it, as a filter
/// before the exact geodesic. Hand-written because it is a dozen lines and geographiclib-rs
/// does not offer it.
pub fn lambert_distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (s1, c1) = lat1.to_radians().sin_cos();
    let (s2, c2) = lat2.to_radians().sin_cos();
    // Reduced latitudes: tan β = (1 − f) tan φ.
    let b1 = ((1.0 - WGS84_F) * s1).atan2(c1);
    let b2 = ((1.0 - WGS84_F) * s2).atan2(c2);
    let dl = wrap_dlon(lon2 - lon1).to_radians();
    let (sdb, sdl) = ((0.5 * (b2 - b1)).sin(), (0.5 * dl).sin());
    let h = (sdb * sdb + b1.cos() * b2.cos() * sdl * sdl).clamp(0.0, 1.0);
    if h == 0.0 {
        return 0.0;
    }
    let sigma = 2.0 * h.sqrt().atan2((1.0 - h).sqrt());
    // sin²(σ/2) = h, cos²(σ/2) = 1 − h.
    let (sp, cp) = (0.5 * (b1 + b2)).sin_cos();
    let (sq, cq) = (0.5 * (b2 - b1)).sin_cos();
    let ss = sigma.sin();
    let x = (sigma - ss) * sp * sp * cq * cq / (1.0 - h).max(f64::MIN_POSITIVE);
    let y = (sigma + ss) * cp * cp * sq * sq / h;
    WGS84_A * (sigma - 0.5 * WGS84_F * (x + y))
}

/// Wraps a longitude difference (degrees) into [-180, 180].
#[inline]
pub fn wrap_dlon(d: f64) -> f64 {
    if d > 180.0 {
        d - 360.0
    } else if d < -180.0 {
        d + 360.0
    } else {
        d
    }
}

/// A plane tangent at a query point, in metres (see the module documentation).
#[derive(Clone, Copy, Debug)]
pub struct LocalFrame {
    /// Query longitude, degrees.
    pub lon: f64,
    /// Query latitude, degrees.
    pub lat: f64,
    /// cos of the query latitude.
    pub cos_lat: f64,
    /// Metres per degree of longitude per unit of cos(latitude): `N(φp) · π / 180`.
    kx: f64,
    /// Meridional radius at the query latitude, metres per degree.
    ky: f64,
    /// dM/dφ at the query latitude, metres per degree per degree.
    dky: f64,
}

impl LocalFrame {
    /// The frame centred at (`lat`, `lon`) degrees.
    pub fn new(lat: f64, lon: f64) -> Self {
        let phi = lat.to_radians();
        let (s, c) = phi.sin_cos();
        let w2 = 1.0 - WGS84_E2 * s * s;
        let w = w2.sqrt();
        let n = WGS84_A / w;
        let m = WGS84_A * (1.0 - WGS84_E2) / (w2 * w);
        // dM/dφ = 3 a (1 - e²) e² sin φ cos φ / W⁵
        let dm = 3.0 * WGS84_A * (1.0 - WGS84_E2) * WGS84_E2 * s * c / (w2 * w2 * w);
        let deg = std::f64::consts::PI / 180.0;
        LocalFrame {
            lon,
            lat,
            cos_lat: c,
            kx: n * deg,
            ky: m * deg,
            dky: dm * deg * deg,
        }
    }

    /// The plane coordinates (metres) of a vertex at (`lon`, `lat`) whose latitude has
    /// cosine `cos_lat` (precomputed per vertex by the index).
    #[inline]
    pub fn project(&self, lon: f64, lat: f64, cos_lat: f64) -> (f64, f64) {
        let dlon = wrap_dlon(lon - self.lon);
        let dlat = lat - self.lat;
        let x = dlon * self.kx * 0.5 * (cos_lat + self.cos_lat);
        let y = dlat * (self.ky + 0.5 * self.dky * dlat);
        (x, y)
    }

    /// A lower bound of the squared plane distance (m²) from the centre to every point
    /// (λ, φ) of the box `lon0..=lon1` × `lat0..=lat1` (degrees, `lon1 ≥ lon0`; a box
    /// 360° wide covers every longitude), where `cos_min` bounds cos φ from below over
    /// the box.
    ///
    /// [`LocalFrame::project`] maps a point to `x = Δλ · kx · (cos φ + cos φp) / 2` and
    /// `y = Δφ · (ky + dky · Δφ / 2)`. Over the box, `|Δλ|` (wrapped) is at least the
    /// angular gap between the query's meridian and the box's longitude arc, and the
    /// factor at least `kx · (cos_min + cos φp) / 2`; `y` is increasing in Δφ (dky · Δφ
    /// is far below ky for any Δφ on Earth), so `|y|` is at least its value at the
    /// nearer latitude side. Each coordinate is bounded independently, so the sum of
    /// squares bounds x² + y². Exact in the same metric the near-border distances use,
    /// so a box beyond the best edge so far cannot hold a nearer one.
    #[inline]
    pub(crate) fn box_lower_bound_sq(
        &self,
        lon0: f64,
        lat0: f64,
        lon1: f64,
        lat1: f64,
        cos_min: f64,
    ) -> f64 {
        // The query longitude may lie up to 360° outside [-180, 180] (an index shifts
        // it towards a zone near the antimeridian): two wraps bring any difference
        // into [-180, 180].
        let w0 = wrap_dlon(wrap_dlon(lon0 - self.lon));
        let w1 = w0 + (lon1 - lon0);
        // The box's arc is [w0, w1] relative to the query meridian (0 ≡ 360): the gap is
        // w0 going east, 360 − w1 going west (both ≤ 0 when the arc covers the
        // meridian), or −w1 when the whole arc lies west.
        let gap = w0.min(360.0 - w1).max(-w1).max(0.0);
        let x = gap * self.kx * 0.5 * (cos_min.max(0.0) + self.cos_lat);
        let dlat = (lat0 - self.lat).max(0.0) + (lat1 - self.lat).min(0.0);
        let y = dlat * (self.ky + 0.5 * self.dky * dlat);
        x * x + y * y
    }

    /// Squared plane distance from the centre to the segment between two projected
    /// points, and the segment parameter of the nearest point.
    #[inline]
    pub fn seg_dist_sq(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len2 = dx * dx + dy * dy;
        let t = if len2 > 0.0 {
            (-(a.0 * dx + a.1 * dy) / len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (x, y) = (a.0 + t * dx, a.1 + t * dy);
        (x * x + y * y, t)
    }

    /// Plane distance (metres) from the centre to the lon/lat-straight segment `a`–`b`,
    /// following the segment's curvature in the plane: the chord between the projected
    /// end points is refined by re-projecting the nearest point (Newton steps on the
    /// parameter), which matters only for edges longer than a few kilometres.
    pub fn segment_distance_m(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        let pa = self.project(a.0, a.1, a.1.to_radians().cos());
        let pb = self.project(b.0, b.1, b.1.to_radians().cos());
        let (d2, t) = Self::seg_dist_sq(pa, pb);
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        if dx * dx + dy * dy < 1_000.0 * 1_000.0 {
            return d2.sqrt();
        }
        self.refine_on_edge(a, b, t).0
    }

    /// Minimises the plane distance along the lon/lat segment `a`–`b` (points as
    /// (lon, lat) degrees) near parameter `t0` with Newton steps on the exact curve
    /// (returns (distance, parameter)). Faster than [`LocalFrame::refine_on_edge`]'s
    /// bracketing search (one `sin_cos` per step, three or four steps, where the
    /// bracketing takes forty `cos`): for a start at the chord's nearest point, which is
    /// off the curve's by about the bow over the edge's length, Newton converges
    /// quadratically. Every value kept is the plane distance of a point of the segment
    /// (or an end), so the answer never falls below the true minimum; when the curve
    /// is not convex at the iterate the steps stop and the best value so far stands.
    pub fn curve_distance_m(&self, a: (f64, f64), b: (f64, f64), t0: f64) -> (f64, f64) {
        const RAD: f64 = std::f64::consts::PI / 180.0;
        let dl = wrap_dlon(b.0 - a.0);
        let dp = b.1 - a.1;
        let l0 = wrap_dlon(a.0 - self.lon);
        let d0 = a.1 - self.lat;
        let kxh = 0.5 * self.kx;
        let dpr = dp * RAD;
        // The ends first (a valid answer if the steps go nowhere).
        let end = |t: f64| {
            let lat = a.1 + t * dp;
            let (x, y) = self.project(a.0 + t * dl, lat, lat.to_radians().cos());
            x * x + y * y
        };
        let (fa, fb) = (end(0.0), end(1.0));
        let mut best = if fa <= fb { (fa, 0.0) } else { (fb, 1.0) };
        let mut t = t0.clamp(0.0, 1.0);
        for _ in 0..5 {
            let (s, c) = ((a.1 + t * dp) * RAD).sin_cos();
            let l = l0 + t * dl;
            let d = d0 + t * dp;
            let x = l * kxh * (c + self.cos_lat);
            let x1 = kxh * (dl * (c + self.cos_lat) - l * s * dpr);
            let x2 = kxh * (-2.0 * dl * s * dpr - l * c * dpr * dpr);
            let y = d * (self.ky + 0.5 * self.dky * d);
            let y1 = dp * (self.ky + self.dky * d);
            let y2 = self.dky * dp * dp;
            let f = x * x + y * y;
            if f < best.0 {
                best = (f, t);
            }
            let g = x * x1 + y * y1;
            let h = x1 * x1 + y1 * y1 + x * x2 + y * y2;
            if h <= 0.0 {
                break;
            }
            let next = (t - g / h).clamp(0.0, 1.0);
            if (next - t).abs() < 1e-12 {
                break;
            }
            t = next;
        }
        (best.0.sqrt(), best.1)
    }

    /// Minimises the plane distance along the lon/lat segment `a`–`b` starting from
    /// parameter `t0`: returns (distance, parameter).
    pub fn refine_on_edge(&self, a: (f64, f64), b: (f64, f64), t0: f64) -> (f64, f64) {
        let dlon = wrap_dlon(b.0 - a.0);
        let at = |t: f64| {
            let lon = a.0 + t * dlon;
            let lat = a.1 + t * (b.1 - a.1);
            self.project(lon, lat, lat.to_radians().cos())
        };
        let f = |t: f64| {
            let (x, y) = at(t);
            x * x + y * y
        };
        // Golden-section search on a bracket around t0, then a check of both ends: the
        // distance along one edge is unimodal for edges much shorter than the radius.
        let (mut lo, mut hi) = ((t0 - 0.1).max(0.0), (t0 + 0.1).min(1.0));
        if f(lo) < f(t0) || f(hi) < f(t0) {
            lo = 0.0;
            hi = 1.0;
        }
        let ((lo, hi), _) = golden_section(&f, lo, hi, 40, 1e-9);
        let t = 0.5 * (lo + hi);
        let mut best = (f(t), t);
        for e in [0.0, 1.0] {
            let v = f(e);
            if v < best.0 {
                best = (v, e);
            }
        }
        (best.0.sqrt(), best.1)
    }
}

/// Geodesic distance on WGS-84 in metres (Karney 2013, via geographiclib-rs).
pub fn geodesic_distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let s12: f64 = Geodesic::wgs84().inverse(lat1, lon1, lat2, lon2);
    s12
}

/// Geodesic distance (metres) from (`lat`, `lon`) to the nearest point of the
/// lon/lat-straight segment `a`–`b` (points as (lon, lat) degrees): golden-section search on
/// the segment parameter with Karney's inverse solution at each step. Slow (tens of µs):
/// used beyond [`NEAR_LIMIT_M`] and by the tests as the reference.
pub fn geodesic_segment_distance_m(lat: f64, lon: f64, a: (f64, f64), b: (f64, f64)) -> f64 {
    let g = Geodesic::wgs84();
    let dlon = wrap_dlon(b.0 - a.0);
    let f = |t: f64| -> f64 {
        let plon = a.0 + t * dlon;
        let plat = a.1 + t * (b.1 - a.1);
        let s: f64 = g.inverse(lat, lon, plat, plon);
        s
    };
    // Coarse scan first so that a long edge's minimum is bracketed, then golden section.
    const SCAN: usize = 16;
    let mut best_i = 0;
    let mut best_v = f64::INFINITY;
    for i in 0..=SCAN {
        let v = f(i as f64 / SCAN as f64);
        if v < best_v {
            best_v = v;
            best_i = i;
        }
    }
    let lo = (best_i as f64 - 1.0).max(0.0) / SCAN as f64;
    let hi = (best_i as f64 + 1.0).min(SCAN as f64) / SCAN as f64;
    let (_, probed) = golden_section(&f, lo, hi, 60, 1e-8);
    best_v.min(probed)
}

/// Golden-section search for the minimum of `f` on `[lo, hi]` (assumed unimodal there),
/// until the bracket is narrower than `tol` or after `max_iter` steps. Returns the final
/// bracket and the smallest value evaluated at its two interior probes.
fn golden_section(
    f: &impl Fn(f64) -> f64,
    mut lo: f64,
    mut hi: f64,
    max_iter: usize,
    tol: f64,
) -> ((f64, f64), f64) {
    const G: f64 = 0.618_033_988_749_895;
    let mut x1 = hi - G * (hi - lo);
    let mut x2 = lo + G * (hi - lo);
    let (mut f1, mut f2) = (f(x1), f(x2));
    for _ in 0..max_iter {
        if f1 < f2 {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - G * (hi - lo);
            f1 = f(x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + G * (hi - lo);
            f2 = f(x2);
        }
        if hi - lo < tol {
            break;
        }
    }
    ((lo, hi), f1.min(f2))
}

/// Lower bound (metres) of the geodesic distance from a point inside a latitude/longitude
/// box to any point outside it. Each side is given as the angular offset from the point
/// (degrees, non-negative) or `None` when nothing lies beyond that side.
///
/// A path leaving the box crosses one of its sides; a parallel is at least `R_MIN · Δφ`
/// away, a meridian at least `R_MIN · asin(cos φ · |sin Δλ|)` (distance to its great
/// circle on the inner sphere) ≥ `R_MIN · cos φ · |sin Δλ|`.
pub fn box_lower_bound_m(
    cos_lat: f64,
    north: Option<f64>,
    south: Option<f64>,
    east: Option<f64>,
    west: Option<f64>,
) -> f64 {
    let mut lb = f64::INFINITY;
    for d in [north, south].into_iter().flatten() {
        lb = lb.min(R_MIN_M * d.max(0.0).to_radians());
    }
    for d in [east, west].into_iter().flatten() {
        let d = d.max(0.0);
        let s = if d >= 90.0 { 0.0 } else { d.to_radians().sin() };
        lb = lb.min(R_MIN_M * cos_lat * s);
    }
    lb
}

/// Lower bound of the squared geodesic distance (m²) from a point to a box, given the
/// latitude gap `dlat` and the longitude gap `dlon` (degrees, ≥ 0, `dlon` ≤ 180), the
/// cosine of the point's latitude and the smallest cosine of latitude over the box.
///
/// Haversine law on the inner sphere: `hav d = hav Δφ + cos φ1 cos φ2 hav Δλ`, each term
/// bounded below; `d ≥ 2 R asin √h ≥ 2 R √h`, and `sin x ≥ x − x³/6` for x ≥ 0.
#[inline]
pub fn cell_lower_bound_sq(dlat: f64, dlon: f64, cos_p: f64, cos_box_min: f64) -> f64 {
    #[inline]
    fn sin_half_lb(deg: f64) -> f64 {
        let h = deg.to_radians() * 0.5;
        (h - h * h * h / 6.0).max(0.0)
    }
    let sa = sin_half_lb(dlat);
    let sb = sin_half_lb(dlon);
    let h = sa * sa + cos_p * cos_box_min * sb * sb;
    4.0 * R_MIN_M * R_MIN_M * h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wellington (41.32 S, 174.81 E) to Salamanca (40.96 N, 5.50 W): 19 959 679.267 m,
    /// the worked example of GeographicLib's Python documentation (`Geodesic.WGS84.Inverse`).
    #[test]
    fn geodesic_wellington_salamanca() {
        let d = geodesic_distance_m(-41.32, 174.81, 40.96, -5.50);
        assert!((d - 19_959_679.267).abs() < 0.01, "{d}");
    }

    #[test]
    fn local_frame_matches_geodesic_within_bound() {
        for &(lat, lon, dlat, dlon) in &[
            (34.0, 69.0, 0.3, 0.4),
            (0.0, 10.0, -0.25, 0.3),
            (70.0, 30.0, 0.2, 0.8),
            (-60.0, 179.9, 0.2, 0.3),
        ] {
            let f = LocalFrame::new(lat, lon);
            let q = (wrap_dlon(lon + dlon), lat + dlat);
            let (x, y) = f.project(q.0, q.1, q.1.to_radians().cos());
            let approx = (x * x + y * y).sqrt();
            let exact = geodesic_distance_m(lat, lon, q.1, q.0);
            assert!(exact < NEAR_LIMIT_M, "{exact}");
            assert!(
                (approx - exact).abs() <= exact * NEAR_REL_ERR,
                "{lat} {lon}: {approx} vs {exact}"
            );
        }
    }

    #[test]
    fn lower_bounds_do_not_exceed_geodesic() {
        // A point at 60°N, box side 1° east: the nearest point beyond is ≥ the bound.
        let lb = box_lower_bound_m(60f64.to_radians().cos(), None, None, Some(1.0), None);
        let d = geodesic_distance_m(60.0, 10.0, 60.0, 11.0);
        assert!(lb <= d && lb > 0.9 * d, "{lb} {d}");
        let lb2 = cell_lower_bound_sq(
            0.5,
            0.5,
            60f64.to_radians().cos(),
            60.5f64.to_radians().cos(),
        );
        let d2 = geodesic_distance_m(60.0, 10.0, 60.5, 10.5);
        assert!(
            lb2.sqrt() <= d2 && lb2.sqrt() > 0.9 * d2,
            "{} {d2}",
            lb2.sqrt()
        );
    }

    /// [`LAMBERT_REL_ERR`]: random pairs (xorshift, fixed seed) at latitudes up to 85°
    /// and distances from [`LAMBERT_MIN_M`] to [`LAMBERT_MAX_M`], against Karney's direct
    /// solution.
    #[test]
    fn lambert_error_bound() {
        use geographiclib_rs::DirectGeodesic;
        let g = Geodesic::wgs84();
        let mut s = 987654u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut worst = 0f64;
        for _ in 0..100_000 {
            let lat = -85.0 + 170.0 * rnd();
            let lon = -180.0 + 360.0 * rnd();
            let d = LAMBERT_MIN_M + (LAMBERT_MAX_M - LAMBERT_MIN_M) * rnd().powi(2);
            let az = 360.0 * rnd();
            let (lat2, lon2, _): (f64, f64, f64) = g.direct(lat, lon, az, d);
            if lat2.abs() > 85.0 {
                continue;
            }
            let rel = (lambert_distance_m(lat, lon, lat2, lon2) - d).abs() / d;
            worst = worst.max(rel);
        }
        eprintln!("lambert worst relative error {worst:e}");
        assert!(worst <= LAMBERT_REL_ERR_MEASURED, "{worst}");
    }

    /// The error table of [`local_frame_rel_err`]: random pairs (xorshift, fixed seed) at
    /// latitudes up to 85° and distances up to 3 000 km, against Karney's direct solution.
    #[test]
    fn local_frame_error_bound() {
        use geographiclib_rs::DirectGeodesic;
        let g = Geodesic::wgs84();
        let mut s = 12345u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut worst_k = 0f64;
        for _ in 0..50_000 {
            let lat = -85.0 + 170.0 * rnd();
            let lon = -180.0 + 360.0 * rnd();
            let d = 3_000e3 * rnd().powi(2) + 1.0;
            let az = 360.0 * rnd();
            let (lat2, lon2, _): (f64, f64, f64) = g.direct(lat, lon, az, d);
            if lat2.abs() > 85.0 {
                continue;
            }
            let f = LocalFrame::new(lat, lon);
            let (x, y) = f.project(lon2, lat2, lat2.to_radians().cos());
            let rel = ((x * x + y * y).sqrt() - d).abs() / d;
            assert!(rel <= local_frame_rel_err(d), "{lat} {lon} {az} {d}: {rel}");
            let phi = (lat.abs() + (d / R_MIN_M).to_degrees())
                .min(89.0)
                .to_radians();
            if d >= 10e3 {
                let k = rel * phi.cos().powi(2) / (d / WGS84_A).powi(2);
                worst_k = worst_k.max(k);
            }
            assert!(rel <= local_frame_rel_err_at(d, lat), "{lat} {d}: {rel}");
        }
        eprintln!("local frame worst K {worst_k:e}");
        assert!(worst_k <= LOCAL_FRAME_K_MEASURED, "{worst_k}");
    }
}
