//! `AirspaceIndex::locate` / `contains` against brute force.
//!
//! The reference is `geo`'s `Intersects` (point ∈ closed polygon, boundary included, the
//! index's rule) evaluated on the zone's own `MultiPolygon`; away from the boundary that
//! is the same as `geo::Contains`, the reference of the random-point test.
//! `SKYFENCE_INDEX_POINTS` sets the number of random points of the long test (default
//! 200 000; the one-off long run used 5 000 000).

use geo::{Contains, Intersects};
use geo_types::{Coord, LineString, MultiPolygon, Point, Polygon};
use proptest::prelude::*;
use skyfence_core::GeoPoint;
use skyfence_core::airspace::{AirspaceIndex, Provenance, Zone, ZoneId, ZoneKind, builtin};

fn zone(
    name: &str,
    shape: MultiPolygon<f64>,
    floor_ft: Option<i32>,
    ceiling_ft: Option<i32>,
) -> Zone {
    Zone {
        name: name.to_owned(),
        kind: ZoneKind::Custom,
        shape,
        floor_ft,
        ceiling_ft,
        buffer_m: 0.0,
        provenance: Provenance {
            source: "test".to_owned(),
            version: None,
            sha256: String::new(),
        },
    }
}

fn ring(pts: &[(f64, f64)]) -> LineString<f64> {
    let mut v: Vec<Coord<f64>> = pts.iter().map(|&(x, y)| Coord { x, y }).collect();
    v.push(v[0]);
    LineString(v)
}

/// A 2°×2° square at (10..12, 40..42) with a 0.5° hole in the middle.
fn square_with_hole() -> MultiPolygon<f64> {
    MultiPolygon(vec![Polygon::new(
        ring(&[(10.0, 40.0), (12.0, 40.0), (12.0, 42.0), (10.0, 42.0)]),
        vec![ring(&[
            (10.75, 40.75),
            (11.25, 40.75),
            (11.25, 41.25),
            (10.75, 41.25),
        ])],
    )])
}

/// A deterministic generator (SplitMix64) so that failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

#[test]
fn edges_vertices_and_holes() {
    let idx = AirspaceIndex::new(vec![zone("SQ", square_with_hole(), None, None)]);
    let z = ZoneId(0);
    let at = |lat: f64, lon: f64| idx.contains(z, GeoPoint::new(lat, lon));
    assert!(at(40.5, 10.5), "interior");
    assert!(!at(41.0, 11.0), "inside the hole");
    assert!(at(40.0, 11.0), "on the south edge");
    assert!(at(40.0, 10.0), "on a vertex");
    assert!(at(42.0, 12.0), "on the far vertex");
    assert!(at(41.0, 10.75), "on the hole's west edge");
    assert!(at(40.75, 10.75), "on the hole's vertex");
    assert!(!at(39.999_999, 11.0), "just south");
    assert!(!at(41.0, 12.000_001), "just east");
    assert!(!at(41.0, 11.249_999), "just inside the hole");
}

#[test]
fn altitude_band_and_multiple_zones() {
    let low = zone("LOW", square_with_hole(), None, Some(5_000));
    let high = zone("HIGH", square_with_hole(), Some(10_000), None);
    let idx = AirspaceIndex::new(vec![low, high]);
    let mut out = Vec::with_capacity(4);
    let p = GeoPoint::new(40.5, 10.5);
    idx.locate(p, Some(3_000), &mut out);
    assert_eq!(out, vec![ZoneId(0)]);
    idx.locate(p, Some(12_000), &mut out);
    assert_eq!(out, vec![ZoneId(1)]);
    idx.locate(p, Some(7_000), &mut out);
    assert!(out.is_empty());
    idx.locate(p, None, &mut out);
    assert_eq!(out, vec![ZoneId(0), ZoneId(1)]);
    idx.locate(GeoPoint::new(41.0, 11.0), None, &mut out);
    assert!(out.is_empty(), "the hole belongs to neither");
}

/// Fiji in the built-in borders is split at ±180° (the Lau group west of the seam,
/// Vanua Levu's east tip east of it): points on both sides are inside, and the seam
/// itself (lon 180 = -180) is interior where the shape spans it.
#[test]
fn antimeridian_fiji() {
    let fj = builtin::load_country("FJ").expect("built-in Fiji");
    let shape = fj.shape.clone();
    let idx = AirspaceIndex::new(vec![fj]);
    let z = ZoneId(0);
    let mut rng = Rng(7);
    let (mut inside, mut n) = (0, 0);
    while n < 20_000 {
        let lon = rng.range(176.0, 184.0);
        let lat = rng.range(-22.0, -11.0);
        let p = GeoPoint::new(lat, lon);
        let expect = shape.intersects(&Point::new(p.lon, p.lat))
            || (p.lon == -180.0 && shape.intersects(&Point::new(180.0, p.lat)));
        assert_eq!(idx.contains(z, p), expect, "{p:?}");
        inside += expect as usize;
        n += 1;
    }
    assert!(inside > 100, "the sample reaches Fiji: {inside}");
    // Suva, Viti Levu (18.1416 S, 178.4419 E): inside the territorial sea.
    assert!(idx.contains(z, GeoPoint::new(-18.1416, 178.4419)));
    // Both sides of the seam near 16.5 S (within Fiji's territorial sea on both sides).
    let east = shape.intersects(&Point::new(179.99, -16.5));
    let west = shape.intersects(&Point::new(-179.99, -16.5));
    assert_eq!(idx.contains(z, GeoPoint::new(-16.5, 179.99)), east);
    assert_eq!(idx.contains(z, GeoPoint::new(-16.5, -179.99)), west);
}

/// A point near a country border: a random vertex moved by up to ~1 km.
fn near_border(rng: &mut Rng, shape: &MultiPolygon<f64>) -> (f64, f64) {
    let rings: Vec<&LineString<f64>> = shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .collect();
    let r = rings[(rng.next() % rings.len() as u64) as usize];
    let c = r.0[(rng.next() % r.0.len() as u64) as usize];
    (c.x + rng.range(-0.01, 0.01), c.y + rng.range(-0.01, 0.01))
}

fn check_country(code: &str, points: usize, seed: u64) {
    let zone = builtin::load_country(code).expect("built-in country");
    let shape = zone.shape.clone();
    let idx = AirspaceIndex::new(vec![zone]);
    let bbox = geo::BoundingRect::bounding_rect(&shape).expect("bbox");
    let mut rng = Rng(seed);
    let mut inside = 0usize;
    for i in 0..points {
        let (x, y) = if i % 2 == 0 {
            (
                rng.range(bbox.min().x - 1.0, bbox.max().x + 1.0),
                rng.range(bbox.min().y - 1.0, bbox.max().y + 1.0),
            )
        } else {
            near_border(&mut rng, &shape)
        };
        let expect = shape.contains(&Point::new(x, y));
        let got = idx.contains(ZoneId(0), GeoPoint { lat: y, lon: x });
        if got != expect {
            // Only a point exactly on the boundary may differ from `Contains` (interior).
            assert!(
                shape.intersects(&Point::new(x, y)) && got,
                "{code}: ({x}, {y}) index {got}, geo {expect}"
            );
        }
        inside += got as usize;
    }
    assert!(
        inside > points / 10,
        "{code}: the sample reaches the country ({inside})"
    );
}

fn point_count() -> usize {
    std::env::var("SKYFENCE_INDEX_POINTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000)
}

#[test]
fn afghanistan_matches_geo_contains() {
    check_country("AF", point_count(), 1);
}

#[test]
fn pakistan_and_italy_match_geo_contains() {
    // Italy has enclaves (San Marino, the Vatican) that the importer turns into holes.
    check_country("PK", point_count() / 4, 2);
    check_country("IT", point_count() / 4, 3);
}

fn star_polygon(radii: &[f64], cx: f64, cy: f64, scale: f64) -> LineString<f64> {
    let n = radii.len();
    let pts: Vec<(f64, f64)> = radii
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let a = i as f64 / n as f64 * std::f64::consts::TAU;
            // Round to 1e-3 so that grid-aligned and repeated coordinates occur.
            (
                ((cx + scale * r * a.cos()) * 1e3).round() / 1e3,
                ((cy + scale * r * a.sin()) * 1e3).round() / 1e3,
            )
        })
        .collect();
    ring(&pts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Random star-shaped polygons with a star-shaped hole: vertices, edge points and
    /// random points agree with `geo::Intersects` (closed set).
    #[test]
    fn random_polygons_match_geo(
        outer in prop::collection::vec(0.6f64..1.0, 5..40),
        hole in prop::collection::vec(0.1f64..0.3, 3..12),
        pts in prop::collection::vec((-1.2f64..1.2, -1.2f64..1.2), 200),
        ts in prop::collection::vec(0.0f64..1.0, 20),
    ) {
        let ext = star_polygon(&outer, 20.0, 30.0, 1.0);
        let int = star_polygon(&hole, 20.0, 30.0, 1.0);
        let shape = MultiPolygon(vec![Polygon::new(ext.clone(), vec![int.clone()])]);
        let idx = AirspaceIndex::new(vec![zone("P", shape.clone(), None, None)]);
        let mut probes: Vec<(f64, f64)> = pts.iter().map(|&(x, y)| (20.0 + x, 30.0 + y)).collect();
        for r in [&ext, &int] {
            for (k, w) in r.0.windows(2).enumerate() {
                probes.push((w[0].x, w[0].y));
                let t = ts[k % ts.len()];
                probes.push((w[0].x + t * (w[1].x - w[0].x), w[0].y + t * (w[1].y - w[0].y)));
                // Along grid-aligned lines through a vertex.
                probes.push((w[0].x + 0.05, w[0].y));
                probes.push((w[0].x, w[0].y - 0.05));
            }
        }
        for (x, y) in probes {
            let expect = shape.intersects(&Point::new(x, y));
            prop_assert_eq!(idx.contains(ZoneId(0), GeoPoint { lat: y, lon: x }), expect, "({}, {})", x, y);
        }
    }
}
