//! `first_crossing` against brute force: the smallest parameter at which the step meets
//! any (non-seam) edge, computed with `geo`'s `line_intersection` over every edge.

use geo::line_intersection::{LineIntersection, line_intersection};
use geo_types::{Coord, Line, LineString, MultiPolygon, Polygon};
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

/// Brute force: smallest t in (0, 1] where segment a→b meets an edge (not on the seam).
fn brute_first(shape: &MultiPolygon<f64>, a: (f64, f64), b: (f64, f64)) -> Option<f64> {
    let seg = Line::new(Coord { x: a.0, y: a.1 }, Coord { x: b.0, y: b.1 });
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let param = |c: Coord<f64>| ((c.x - a.0) * dx + (c.y - a.1) * dy) / (dx * dx + dy * dy);
    let mut best: Option<f64> = None;
    for p in &shape.0 {
        for r in std::iter::once(p.exterior()).chain(p.interiors()) {
            for l in r.lines() {
                if l.start.x == l.end.x && l.start.x.abs() == 180.0 {
                    continue;
                }
                let t = match line_intersection(seg, l) {
                    None => continue,
                    Some(LineIntersection::SinglePoint { intersection, .. }) => param(intersection),
                    Some(LineIntersection::Collinear { intersection }) => {
                        let (t0, t1) = (param(intersection.start), param(intersection.end));
                        if t0.min(t1) > 0.0 {
                            t0.min(t1)
                        } else {
                            t0.max(t1)
                        }
                    }
                };
                if t > 0.0 && best.is_none_or(|b| t < b) {
                    best = Some(t);
                }
            }
        }
    }
    best
}

fn check_steps(code: &str, n: usize, step_deg: f64, seed: u64) {
    let zone = builtin::load_country(code).expect("built-in country");
    let shape = zone.shape.clone();
    let idx = AirspaceIndex::new(vec![zone]);
    let z = ZoneId(0);
    let vs: Vec<Coord<f64>> = shape
        .0
        .iter()
        .flat_map(|p| p.exterior().0.clone())
        .collect();
    let mut rng = Rng(seed);
    let mut crossings = 0;
    for _ in 0..n {
        let c = vs[(rng.next() % vs.len() as u64) as usize];
        let a = GeoPoint::new(c.y + rng.range(-0.02, 0.02), c.x + rng.range(-0.02, 0.02));
        let b = GeoPoint::new(
            a.lat + rng.range(-step_deg, step_deg),
            a.lon + rng.range(-step_deg, step_deg),
        );
        let got = idx.first_crossing(z, a, b);
        let exp = brute_first(&shape, (a.lon, a.lat), (b.lon, b.lat));
        match (got, exp) {
            (None, None) => {}
            (Some(g), Some(t)) => {
                assert!(
                    (g.fraction - t).abs() < 1e-9,
                    "{code} {a:?}→{b:?}: {} vs {t}",
                    g.fraction
                );
                assert_eq!(g.entering, !idx.contains(z, a), "{a:?}");
                crossings += 1;
            }
            _ => panic!("{code} {a:?}→{b:?}: index {got:?}, brute force {exp:?}"),
        }
        if idx.contains(z, a) != idx.contains(z, b) {
            assert!(
                got.is_some(),
                "{code} {a:?}→{b:?} changes side without a crossing"
            );
        }
    }
    assert!(
        crossings > n / 10,
        "{code}: the sample crosses the border ({crossings})"
    );
}

#[test]
fn afghanistan_steps_match_brute_force() {
    check_steps("AF", 3_000, 0.03, 21);
    check_steps("AF", 300, 0.5, 22);
}

#[test]
fn italy_steps_match_brute_force() {
    // Holes (San Marino, the Vatican) and islands.
    check_steps("IT", 1_000, 0.03, 23);
}

fn square() -> Zone {
    let ring = |pts: &[(f64, f64)]| {
        let mut v: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
        v.push(v[0]);
        LineString(v)
    };
    Zone {
        name: "SQ".into(),
        kind: ZoneKind::Restricted,
        shape: MultiPolygon(vec![Polygon::new(
            ring(&[(10.0, 40.0), (12.0, 40.0), (12.0, 42.0), (10.0, 42.0)]),
            vec![ring(&[
                (10.75, 40.75),
                (11.25, 40.75),
                (11.25, 41.25),
                (10.75, 41.25),
            ])],
        )]),
        floor_ft: None,
        ceiling_ft: None,
        buffer_m: 0.0,
        provenance: Provenance {
            source: "test".into(),
            version: None,
            sha256: String::new(),
        },
    }
}

#[test]
fn entering_leaving_and_the_hole() {
    let idx = AirspaceIndex::new(vec![square()]);
    let z = ZoneId(0);
    // West to east through the south half: enters at lon 10 (fraction 0.25).
    let c = idx
        .first_crossing(z, GeoPoint::new(40.5, 9.0), GeoPoint::new(40.5, 13.0))
        .expect("entry");
    assert_eq!(c.fraction, 0.25);
    assert!(c.entering);
    assert_eq!((c.point.lat, c.point.lon), (40.5, 10.0));
    // From inside into the hole: leaves the zone at the hole's west edge (10.75).
    let c = idx
        .first_crossing(z, GeoPoint::new(41.0, 10.5), GeoPoint::new(41.0, 11.0))
        .expect("exit");
    assert_eq!(c.fraction, 0.5);
    assert!(!c.entering);
    // Entirely inside: none.
    assert_eq!(
        idx.first_crossing(z, GeoPoint::new(40.2, 10.2), GeoPoint::new(40.3, 11.9)),
        None
    );
    // Starting on the boundary and moving inside: the start contact is skipped.
    assert_eq!(
        idx.first_crossing(z, GeoPoint::new(40.0, 11.0), GeoPoint::new(40.2, 11.0)),
        None
    );
}

/// Fiji's territorial sea spans the antimeridian near 16.6 S 180: a step across the seam
/// inside it is no border crossing; a step from open sea across the seam into it is.
#[test]
fn antimeridian_steps() {
    let zone = builtin::load_country("FJ").expect("FJ");
    let idx = AirspaceIndex::new(vec![zone]);
    let z = ZoneId(0);
    let mut rng = Rng(4);
    let (mut inside_pairs, mut checked) = (0, 0);
    for _ in 0..20_000 {
        let lat = rng.range(-21.0, -12.0);
        let a = GeoPoint::new(lat, rng.range(179.95, 180.0));
        let b = GeoPoint::new(lat + rng.range(-0.01, 0.01), rng.range(-180.0, -179.95));
        let (ia, ib) = (idx.contains(z, a), idx.contains(z, b));
        let c = idx.first_crossing(z, a, b);
        if ia != ib {
            let c = c.expect("a side change across the seam has a crossing");
            assert_eq!(c.entering, !ia);
            checked += 1;
        }
        if ia && ib && c.is_none() {
            inside_pairs += 1;
        }
        if let Some(c) = c {
            // Whatever is reported lies on the step, in (0, 1].
            assert!(c.fraction > 0.0 && c.fraction <= 1.0);
        }
    }
    assert!(
        inside_pairs > 10,
        "steps across the seam inside Fiji: {inside_pairs}"
    );
    assert!(
        checked > 0,
        "steps entering Fiji across the seam: {checked}"
    );
}
