//! `distance_to_boundary_m` and `in_buffer` against a brute-force geodesic minimum.
//!
//! The reference is independent of the index: for every edge (seam edges excluded) a
//! lower bound (inner-sphere haversine to an end point minus an upper bound of the
//! edge's length) orders the edges; the exact distance to an edge is a golden-section
//! minimisation along it of Karney's geodesic (geographiclib-rs), until no lower bound
//! can beat the best. The index must agree within 0.1 % or 1 m.
//! `SKYFENCE_INDEX_DIST_POINTS` sets the number of points per country (default 300).

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use geographiclib_rs::{Geodesic, InverseGeodesic};
use skyfence_core::GeoPoint;
use skyfence_core::airspace::{AirspaceIndex, Provenance, Zone, ZoneId, ZoneKind, builtin};

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

/// An edge as ((lon, lat), (lon, lat)).
type Edge = ((f64, f64), (f64, f64));

fn edges_of(shape: &MultiPolygon<f64>) -> Vec<Edge> {
    let mut v = Vec::new();
    for p in &shape.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            for w in r.0.windows(2) {
                let (a, b) = ((w[0].x, w[0].y), (w[1].x, w[1].y));
                let seam = a.0 == b.0 && a.0.abs() == 180.0;
                if a != b && !seam {
                    v.push((a, b));
                }
            }
        }
    }
    v
}

fn wrap(d: f64) -> f64 {
    if d > 180.0 {
        d - 360.0
    } else if d < -180.0 {
        d + 360.0
    } else {
        d
    }
}

/// Geodesic distance from p to the lon/lat-straight edge a–b: scan, then golden section.
fn edge_distance(g: &Geodesic, p: GeoPoint, a: (f64, f64), b: (f64, f64)) -> f64 {
    let dl = wrap(b.0 - a.0);
    let f = |t: f64| -> f64 {
        let s: f64 = g.inverse(p.lat, p.lon, a.1 + t * (b.1 - a.1), a.0 + t * dl);
        s
    };
    let n = 32;
    let (mut bi, mut bv) = (0, f64::INFINITY);
    for i in 0..=n {
        let v = f(i as f64 / n as f64);
        if v < bv {
            (bi, bv) = (i, v);
        }
    }
    let (mut lo, mut hi) = (
        (bi.max(1) - 1) as f64 / n as f64,
        ((bi + 1).min(n)) as f64 / n as f64,
    );
    for _ in 0..80 {
        let (m1, m2) = (lo + (hi - lo) / 3.0, hi - (hi - lo) / 3.0);
        if f(m1) < f(m2) { hi = m2 } else { lo = m1 }
    }
    bv.min(f(0.5 * (lo + hi)))
}

fn brute_force(edges: &[Edge], p: GeoPoint) -> f64 {
    const R_MIN: f64 = 6_335_439.327; // a (1 - e²): never longer than a geodesic
    const R_MAX: f64 = 6_399_593.626; // a² / b: never shorter
    let hav = |lat1: f64, lon1: f64, lat2: f64, lon2: f64| {
        let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
        let h = ((p2 - p1) / 2.0).sin().powi(2)
            + p1.cos() * p2.cos() * (wrap(lon2 - lon1).to_radians() / 2.0).sin().powi(2);
        2.0 * h.sqrt().min(1.0).asin()
    };
    let mut lbs: Vec<(f64, usize)> = edges
        .iter()
        .enumerate()
        .map(|(i, &(a, b))| {
            let len = R_MAX
                * ((b.1 - a.1).powi(2) + wrap(b.0 - a.0).powi(2))
                    .sqrt()
                    .to_radians();
            let d = R_MIN * hav(p.lat, p.lon, a.1, a.0).max(hav(p.lat, p.lon, b.1, b.0));
            ((d - len).max(0.0), i)
        })
        .collect();
    lbs.sort_by(|x, y| x.0.total_cmp(&y.0));
    let g = Geodesic::wgs84();
    let mut best = f64::INFINITY;
    for (lb, i) in lbs {
        if lb > best {
            break;
        }
        best = best.min(edge_distance(&g, p, edges[i].0, edges[i].1));
    }
    best
}

fn check(idx: &AirspaceIndex, shape: &MultiPolygon<f64>, pts: &[GeoPoint], what: &str) {
    let edges = edges_of(shape);
    let mut worst = 0.0f64;
    for &p in pts {
        let got = idx.distance_to_boundary_m(ZoneId(0), p);
        let exp = brute_force(&edges, p);
        let err = (got - exp).abs();
        assert!(
            err <= (0.001 * exp).max(1.0),
            "{what}: {p:?}: index {got} m, brute force {exp} m"
        );
        worst = worst.max(err / exp.max(1.0));
    }
    eprintln!(
        "{what}: {} points, worst relative error {worst:.2e}",
        pts.len()
    );
}

fn count() -> usize {
    std::env::var("SKYFENCE_INDEX_DIST_POINTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300)
}

fn vertices(shape: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
    shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.clone())
        .collect()
}

fn sample(shape: &MultiPolygon<f64>, n: usize, seed: u64, near_deg: f64) -> Vec<GeoPoint> {
    let vs = vertices(shape);
    let mut rng = Rng(seed);
    (0..n)
        .map(|i| {
            let c = vs[(rng.next() % vs.len() as u64) as usize];
            // Near the border (≤ ~1 km) for a third, up to `near_deg` otherwise.
            let r = if i % 3 == 0 { 0.01 } else { near_deg };
            GeoPoint::new(
                (c.y + rng.range(-r, r)).clamp(-89.9, 89.9),
                c.x + rng.range(-r, r),
            )
        })
        .collect()
}

#[test]
fn afghanistan_distances_match_brute_force() {
    let zone = builtin::load_country("AF").expect("AF");
    let shape = zone.shape.clone();
    let idx = AirspaceIndex::new(vec![zone]);
    check(&idx, &shape, &sample(&shape, count(), 11, 0.6), "AF");
    // Deep inside: farther than the local plane's range (refined geodesically).
    let deep: Vec<GeoPoint> = [(33.0, 66.0), (34.5, 67.5), (34.0, 64.5)]
        .iter()
        .map(|&(a, b)| GeoPoint::new(a, b))
        .collect();
    check(&idx, &shape, &deep, "AF deep");
}

/// Russia: high latitudes (Franz Josef Land ~81°N) and the antimeridian (Chukotka is
/// split at ±180°; the seam is not a border, and distances reach across it).
#[test]
fn russia_high_latitude_and_seam() {
    let zone = builtin::load_country("RU").expect("RU");
    let shape = zone.shape.clone();
    let idx = AirspaceIndex::new(vec![zone]);
    let mut pts = sample(&shape, count() / 3, 12, 1.5);
    let mut rng = Rng(5);
    for _ in 0..20 {
        pts.push(GeoPoint::new(
            rng.range(64.0, 72.0),
            rng.range(178.0, 182.0),
        ));
        pts.push(GeoPoint::new(rng.range(79.0, 82.0), rng.range(40.0, 65.0)));
    }
    check(&idx, &shape, &pts, "RU");
}

#[test]
fn fiji_across_the_seam() {
    let zone = builtin::load_country("FJ").expect("FJ");
    let shape = zone.shape.clone();
    let idx = AirspaceIndex::new(vec![zone]);
    let mut rng = Rng(9);
    let pts: Vec<GeoPoint> = (0..60)
        .map(|_| GeoPoint::new(rng.range(-21.0, -12.0), rng.range(178.5, 181.5)))
        .collect();
    check(&idx, &shape, &pts, "FJ");
}

fn square(buffer_m: f64) -> Zone {
    let ring = |pts: &[(f64, f64)]| {
        let mut v: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
        v.push(v[0]);
        LineString(v)
    };
    Zone {
        name: "SQ".into(),
        kind: ZoneKind::Restricted,
        shape: MultiPolygon(vec![Polygon::new(
            ring(&[(10.0, 60.0), (12.0, 60.0), (12.0, 61.0), (10.0, 61.0)]),
            vec![ring(&[
                (10.8, 60.4),
                (11.2, 60.4),
                (11.2, 60.6),
                (10.8, 60.6),
            ])],
        )]),
        floor_ft: None,
        ceiling_ft: None,
        buffer_m,
        provenance: Provenance {
            source: "test".into(),
            version: None,
            sha256: String::new(),
        },
    }
}

/// A square at 60°N with a hole; long edges (111 km) exercise the along-edge refinement.
#[test]
fn square_with_hole_and_buffer() {
    let zone = square(2_000.0);
    let shape = zone.shape.clone();
    let idx = AirspaceIndex::new(vec![zone]);
    let z = ZoneId(0);
    // Centre of the hole: 0.1° of latitude to the hole's north/south edges = 11 132 m
    // (meridian arc 60.5→60.6°, GeodSolve), nearer than 0.2° of longitude (≈ 10 950 m
    // at 60.5°N): the east/west edges win.
    let d = idx.distance_to_boundary_m(z, GeoPoint::new(60.5, 11.0));
    let exp = brute_force(&edges_of(&shape), GeoPoint::new(60.5, 11.0));
    assert!(
        (d - exp).abs() < 1.0 && (10_900.0..11_000.0).contains(&d),
        "{d} vs {exp}"
    );
    let mut rng = Rng(3);
    let pts: Vec<GeoPoint> = (0..count())
        .map(|_| GeoPoint::new(rng.range(59.5, 61.5), rng.range(9.0, 13.0)))
        .collect();
    check(&idx, &shape, &pts, "square");
    // Buffer band: 2 km outside the south edge (60°N). 1 km south is in it, 3 km is not,
    // inside the zone is not, and the hole (outside the zone) has its own band.
    let km = 1.0 / 111.2;
    assert!(idx.in_buffer(z, GeoPoint::new(60.0 - km, 11.0)));
    assert!(!idx.in_buffer(z, GeoPoint::new(60.0 - 3.0 * km, 11.0)));
    assert!(!idx.in_buffer(z, GeoPoint::new(60.0 + km, 11.0)));
    assert!(idx.in_buffer(z, GeoPoint::new(60.4 + km, 11.0)));
    assert!(!idx.in_buffer(z, GeoPoint::new(60.5, 11.0)));
}
