//! Geometry validation at zone load.
//!
//! A zone's shape is evidence and the query engine's input: a ring that does not close,
//! has no area, or crosses itself makes "inside" ambiguous (crossing-number and
//! winding-number tests disagree on it), so such shapes are rejected when the zone is
//! loaded, with the polygon, ring and edge named. The rules are the OGC Simple Features
//! polygon rules (OGC 06-103r4, §6.1.11.1) that matter for point-in-zone answers:
//!
//! - every ring is closed and has at least three distinct corners and non-zero area;
//! - no two edges of the shape cross or overlap along a line (rings may touch at points);
//! - every hole lies inside its polygon's exterior, holes are not nested in each other,
//!   and no polygon lies inside another polygon's filled area.
//!
//! Orientation is not an error: [`orient_rings`] normalises it (exterior counter-
//! clockwise, holes clockwise, RFC 7946 §3.1.6).
//!
//! All predicates use exact orientation tests (`robust::orient2d`), so the verdict does
//! not depend on floating-point rounding.

use geo_types::{Coord, LineString, MultiPolygon};

/// What is wrong with a shape. Rings are numbered per polygon: ring 0 is the exterior,
/// ring `k` is hole `k - 1`; edge `i` runs from point `i` to point `i + 1`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// The shape has no polygon at all.
    #[error("the shape has no polygons, expected at least one")]
    Empty,
    /// First and last point of a ring differ. (`geo_types::Polygon::new` closes rings, so
    /// loaders report this while parsing, before a polygon exists.)
    #[error(
        "polygon {polygon} ring {ring} is not closed: first point ({:?}, {:?}), last point ({:?}, {:?}); a ring must end where it starts",
        first.0, first.1, last.0, last.1
    )]
    NotClosed {
        /// Polygon index.
        polygon: usize,
        /// Ring index (0 = exterior).
        ring: usize,
        /// First point (lon, lat).
        first: (f64, f64),
        /// Last point (lon, lat).
        last: (f64, f64),
    },
    /// Fewer than four points (three corners plus the closing point).
    #[error(
        "polygon {polygon} ring {ring} has {points} points, expected at least 4 (three corners and the closing point)"
    )]
    TooFewPoints {
        /// Polygon index.
        polygon: usize,
        /// Ring index (0 = exterior).
        ring: usize,
        /// Number of points found.
        points: usize,
    },
    /// A coordinate is not finite or out of the WGS-84 range.
    #[error(
        "polygon {polygon} ring {ring} point {point} is ({lon:?}, {lat:?}), expected longitude in [-180, 180] and latitude in [-90, 90]"
    )]
    BadCoordinate {
        /// Polygon index.
        polygon: usize,
        /// Ring index (0 = exterior).
        ring: usize,
        /// Point index.
        point: usize,
        /// Longitude found.
        lon: f64,
        /// Latitude found.
        lat: f64,
    },
    /// All points of a ring lie on one line.
    #[error(
        "polygon {polygon} ring {ring} is degenerate: all its points lie on one line (zero area)"
    )]
    ZeroArea {
        /// Polygon index.
        polygon: usize,
        /// Ring index (0 = exterior).
        ring: usize,
    },
    /// Two edges cross (a self-intersection, or two rings crossing each other).
    #[error(
        "self-intersection: polygon {polygon} ring {ring} edge {edge} crosses polygon {other_polygon} ring {other_ring} edge {other_edge} near ({lon:.6}, {lat:.6})"
    )]
    EdgesCross {
        /// Polygon of the first edge.
        polygon: usize,
        /// Ring of the first edge.
        ring: usize,
        /// Index of the first edge.
        edge: usize,
        /// Polygon of the second edge.
        other_polygon: usize,
        /// Ring of the second edge.
        other_ring: usize,
        /// Index of the second edge.
        other_edge: usize,
        /// Approximate crossing longitude.
        lon: f64,
        /// Approximate crossing latitude.
        lat: f64,
    },
    /// Two edges overlap along a line (a spike, or two rings sharing an edge).
    #[error(
        "self-intersection: polygon {polygon} ring {ring} edge {edge} overlaps polygon {other_polygon} ring {other_ring} edge {other_edge} along a line near ({lon:.6}, {lat:.6})"
    )]
    EdgesOverlap {
        /// Polygon of the first edge.
        polygon: usize,
        /// Ring of the first edge.
        ring: usize,
        /// Index of the first edge.
        edge: usize,
        /// Polygon of the second edge.
        other_polygon: usize,
        /// Ring of the second edge.
        other_ring: usize,
        /// Index of the second edge.
        other_edge: usize,
        /// A longitude on the overlap.
        lon: f64,
        /// A latitude on the overlap.
        lat: f64,
    },
    /// A hole is not inside its polygon's exterior ring.
    #[error("polygon {polygon} ring {ring} (a hole) lies outside the polygon's exterior ring")]
    HoleOutside {
        /// Polygon index.
        polygon: usize,
        /// Ring index of the hole.
        ring: usize,
    },
    /// A hole lies inside another hole of the same polygon, or coincides with a ring.
    #[error(
        "polygon {polygon} ring {ring} (a hole) lies inside or on ring {other_ring} of the same polygon"
    )]
    NestedHole {
        /// Polygon index.
        polygon: usize,
        /// Ring index of the inner hole.
        ring: usize,
        /// Ring index of the enclosing ring.
        other_ring: usize,
    },
    /// A polygon lies inside (or on) the filled area of another polygon of the zone.
    #[error(
        "polygon {inner} lies inside polygon {outer}; the polygons of one zone must not overlap (cut an enclave out as a hole instead)"
    )]
    NestedPolygon {
        /// The inner polygon.
        inner: usize,
        /// The enclosing polygon.
        outer: usize,
    },
}

/// Checks a shape against the rules in the module documentation.
///
/// Cost: `O(n log n)` to sort the `n` edges plus the pairs of edges whose x-ranges
/// overlap; linear-ish for real borders (Russia, 62 k vertices, is a few milliseconds).
pub fn validate_shape(shape: &MultiPolygon<f64>) -> Result<(), GeometryError> {
    if shape.0.is_empty() {
        return Err(GeometryError::Empty);
    }
    for (pi, polygon) in shape.0.iter().enumerate() {
        for (ri, ring) in rings(polygon).enumerate() {
            check_ring(pi, ri, ring)?;
        }
    }
    check_edges(shape)?;
    check_nesting(shape)
}

/// Normalises ring orientation in place: exteriors counter-clockwise, holes clockwise
/// (RFC 7946 §3.1.6), so every loader hands the index the same convention.
pub fn orient_rings(shape: &mut MultiPolygon<f64>) {
    for polygon in &mut shape.0 {
        polygon.exterior_mut(|ring| {
            if twice_signed_area(ring) < 0.0 {
                ring.0.reverse();
            }
        });
        polygon.interiors_mut(|holes| {
            for ring in holes {
                if twice_signed_area(ring) > 0.0 {
                    ring.0.reverse();
                }
            }
        });
    }
}

/// Twice the signed planar area of a closed ring in degrees² (positive when
/// counter-clockwise), by the shoelace formula.
pub fn twice_signed_area(ring: &LineString<f64>) -> f64 {
    ring.0
        .windows(2)
        .map(|w| (w[0].x - w[1].x) * (w[0].y + w[1].y))
        .sum::<f64>()
}

/// Where a point lies relative to a closed ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingPosition {
    /// Strictly inside.
    Inside,
    /// Strictly outside.
    Outside,
    /// On an edge or vertex.
    Boundary,
}

/// Exact point-in-ring test (crossing number with exact orientation predicates; a
/// point on an edge or vertex is [`RingPosition::Boundary`]).
pub fn ring_position(ring: &[Coord<f64>], p: Coord<f64>) -> RingPosition {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        let o = orient(a, b, p);
        if o == 0.0 && within_box(a, b, p) {
            return RingPosition::Boundary;
        }
        if (a.y > p.y) != (b.y > p.y) {
            // Upward edge: the crossing is right of p when p is left of a→b; downward
            // edge: when p is right of a→b.
            if (b.y > a.y && o > 0.0) || (b.y < a.y && o < 0.0) {
                inside = !inside;
            }
        }
    }
    if inside {
        RingPosition::Inside
    } else {
        RingPosition::Outside
    }
}

/// Brute-force exact lateral containment, `O(vertices)`: inside (or on) some polygon's
/// exterior and not strictly inside one of its holes, so the boundary counts as inside
/// (the zone is a closed set, as in `AirspaceIndex`). A reference for tests and one-off
/// queries; the detector's hot path uses the grid index.
pub fn shape_contains(shape: &MultiPolygon<f64>, lon: f64, lat: f64) -> bool {
    let c = Coord { x: lon, y: lat };
    shape.0.iter().any(|poly| {
        ring_position(&poly.exterior().0, c) != RingPosition::Outside
            && !poly
                .interiors()
                .iter()
                .any(|h| ring_position(&h.0, c) == RingPosition::Inside)
    })
}

fn rings(polygon: &geo_types::Polygon<f64>) -> impl Iterator<Item = &LineString<f64>> {
    std::iter::once(polygon.exterior()).chain(polygon.interiors())
}

fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    robust::orient2d(
        robust::Coord { x: a.x, y: a.y },
        robust::Coord { x: b.x, y: b.y },
        robust::Coord { x: c.x, y: c.y },
    )
}

/// Whether `p` (known collinear with `a`, `b`) lies on the closed segment `a`–`b`.
fn within_box(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    p.x >= a.x.min(b.x) && p.x <= a.x.max(b.x) && p.y >= a.y.min(b.y) && p.y <= a.y.max(b.y)
}

fn check_ring(polygon: usize, ring: usize, line: &LineString<f64>) -> Result<(), GeometryError> {
    let pts = &line.0;
    for (point, c) in pts.iter().enumerate() {
        let ok = c.x.is_finite()
            && c.y.is_finite()
            && (-180.0..=180.0).contains(&c.x)
            && (-90.0..=90.0).contains(&c.y);
        if !ok {
            return Err(GeometryError::BadCoordinate {
                polygon,
                ring,
                point,
                lon: c.x,
                lat: c.y,
            });
        }
    }
    if pts.len() < 4 {
        return Err(GeometryError::TooFewPoints {
            polygon,
            ring,
            points: pts.len(),
        });
    }
    let (first, last) = (pts[0], pts[pts.len() - 1]);
    if first != last {
        return Err(GeometryError::NotClosed {
            polygon,
            ring,
            first: (first.x, first.y),
            last: (last.x, last.y),
        });
    }
    // Non-zero area: some point off the line through the first two distinct points.
    let degenerate = match pts.iter().find(|c| **c != first) {
        None => true,
        Some(&second) => pts.iter().all(|&c| orient(first, second, c) == 0.0),
    };
    if degenerate {
        return Err(GeometryError::ZeroArea { polygon, ring });
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Edge {
    a: Coord<f64>,
    b: Coord<f64>,
    polygon: usize,
    ring: usize,
    index: usize,
    min_x: f64,
    max_x: f64,
}

/// Sweep over edges sorted by their smallest x; each edge is tested against the edges
/// still "active" (x-ranges overlapping) whose y-ranges overlap too.
fn check_edges(shape: &MultiPolygon<f64>) -> Result<(), GeometryError> {
    let mut edges = Vec::new();
    for (pi, polygon) in shape.0.iter().enumerate() {
        for (ri, ring) in rings(polygon).enumerate() {
            for (i, w) in ring.0.windows(2).enumerate() {
                let (a, b) = (w[0], w[1]);
                if a == b {
                    continue; // a repeated point is harmless: it adds no edge
                }
                edges.push(Edge {
                    a,
                    b,
                    polygon: pi,
                    ring: ri,
                    index: i,
                    min_x: a.x.min(b.x),
                    max_x: a.x.max(b.x),
                });
            }
        }
    }
    edges.sort_by(|e, f| e.min_x.total_cmp(&f.min_x));
    let mut active: Vec<Edge> = Vec::new();
    for e in &edges {
        active.retain(|f| f.max_x >= e.min_x);
        let (e_min_y, e_max_y) = (e.a.y.min(e.b.y), e.a.y.max(e.b.y));
        for f in &active {
            if f.a.y.max(f.b.y) < e_min_y || f.a.y.min(f.b.y) > e_max_y {
                continue;
            }
            check_pair(e, f)?;
        }
        active.push(*e);
    }
    Ok(())
}

fn check_pair(e: &Edge, f: &Edge) -> Result<(), GeometryError> {
    let o1 = orient(e.a, e.b, f.a);
    let o2 = orient(e.a, e.b, f.b);
    let o3 = orient(f.a, f.b, e.a);
    let o4 = orient(f.a, f.b, e.b);
    if o1 * o2 < 0.0 && o3 * o4 < 0.0 {
        // Proper crossing; the point is only for the message.
        let t = o3 / (o3 - o4);
        return Err(GeometryError::EdgesCross {
            polygon: e.polygon,
            ring: e.ring,
            edge: e.index,
            other_polygon: f.polygon,
            other_ring: f.ring,
            other_edge: f.index,
            lon: e.a.x + t * (e.b.x - e.a.x),
            lat: e.a.y + t * (e.b.y - e.a.y),
        });
    }
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: overlapping along a line when the projections share a positive length.
        let use_x = (e.b.x - e.a.x).abs() >= (e.b.y - e.a.y).abs();
        let key = |c: Coord<f64>| if use_x { c.x } else { c.y };
        let (e0, e1) = (key(e.a).min(key(e.b)), key(e.a).max(key(e.b)));
        let (f0, f1) = (key(f.a).min(key(f.b)), key(f.a).max(key(f.b)));
        let (lo, hi) = (e0.max(f0), e1.min(f1));
        if hi > lo {
            let on = [e.a, e.b, f.a, f.b]
                .into_iter()
                .find(|c| key(*c) >= lo && key(*c) <= hi)
                .unwrap_or(e.a);
            return Err(GeometryError::EdgesOverlap {
                polygon: e.polygon,
                ring: e.ring,
                edge: e.index,
                other_polygon: f.polygon,
                other_ring: f.ring,
                other_edge: f.index,
                lon: on.x,
                lat: on.y,
            });
        }
    }
    Ok(())
}

/// A position of ring `inner` relative to ring `outer` decided by the first vertex of
/// `inner` not on `outer` (with no crossings, one such vertex decides for the whole
/// ring); `Boundary` when every vertex is on `outer`.
fn ring_in_ring(inner: &LineString<f64>, outer: &LineString<f64>) -> RingPosition {
    for &c in &inner.0 {
        match ring_position(&outer.0, c) {
            RingPosition::Boundary => continue,
            decided => return decided,
        }
    }
    RingPosition::Boundary
}

type BBox = (f64, f64, f64, f64);

fn bbox(ring: &LineString<f64>) -> BBox {
    ring.0.iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |(x0, y0, x1, y1), c| (x0.min(c.x), y0.min(c.y), x1.max(c.x), y1.max(c.y)),
    )
}

fn boxes_overlap(a: BBox, b: BBox) -> bool {
    a.0 <= b.2 && b.0 <= a.2 && a.1 <= b.3 && b.1 <= a.3
}

fn check_nesting(shape: &MultiPolygon<f64>) -> Result<(), GeometryError> {
    for (pi, polygon) in shape.0.iter().enumerate() {
        let holes = polygon.interiors();
        for (hi, hole) in holes.iter().enumerate() {
            if ring_in_ring(hole, polygon.exterior()) != RingPosition::Inside {
                return Err(GeometryError::HoleOutside {
                    polygon: pi,
                    ring: hi + 1,
                });
            }
            for (hj, other) in holes.iter().enumerate() {
                if hi != hj
                    && boxes_overlap(bbox(hole), bbox(other))
                    && ring_in_ring(hole, other) != RingPosition::Outside
                {
                    return Err(GeometryError::NestedHole {
                        polygon: pi,
                        ring: hi + 1,
                        other_ring: hj + 1,
                    });
                }
            }
        }
    }
    // Polygon pairs: sweep over exterior bounding boxes sorted by min x.
    let mut order: Vec<(usize, BBox)> = shape
        .0
        .iter()
        .enumerate()
        .map(|(i, p)| (i, bbox(p.exterior())))
        .collect();
    order.sort_by(|a, b| a.1.0.total_cmp(&b.1.0));
    for (k, &(i, bi)) in order.iter().enumerate() {
        for &(j, bj) in &order[k + 1..] {
            if bj.0 > bi.2 {
                break;
            }
            if !boxes_overlap(bi, bj) {
                continue;
            }
            for (inner, outer) in [(i, j), (j, i)] {
                if polygon_in_polygon(&shape.0[inner], &shape.0[outer]) {
                    return Err(GeometryError::NestedPolygon { inner, outer });
                }
            }
        }
    }
    Ok(())
}

/// Whether polygon `inner`'s exterior lies in the filled area of `outer` (inside its
/// exterior and not inside one of its holes), or coincides with its exterior.
fn polygon_in_polygon(inner: &geo_types::Polygon<f64>, outer: &geo_types::Polygon<f64>) -> bool {
    match ring_in_ring(inner.exterior(), outer.exterior()) {
        RingPosition::Outside => false,
        RingPosition::Boundary => true,
        RingPosition::Inside => !outer
            .interiors()
            .iter()
            .any(|h| ring_in_ring(inner.exterior(), h) == RingPosition::Inside),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{MultiPolygon, Polygon};

    fn ring(points: &[(f64, f64)]) -> LineString<f64> {
        LineString::from(points.to_vec())
    }

    fn poly(ext: &[(f64, f64)], holes: &[&[(f64, f64)]]) -> Polygon<f64> {
        Polygon::new(ring(ext), holes.iter().map(|h| ring(h)).collect())
    }

    const SQUARE: &[(f64, f64)] = &[(0.0, 0.0), (4.0, 0.0), (4.0, 4.0), (0.0, 4.0), (0.0, 0.0)];

    #[test]
    fn valid_square_with_hole() {
        let hole: &[(f64, f64)] = &[(1.0, 1.0), (1.0, 2.0), (2.0, 2.0), (2.0, 1.0), (1.0, 1.0)];
        let shape = MultiPolygon(vec![poly(SQUARE, &[hole])]);
        assert_eq!(validate_shape(&shape), Ok(()));
    }

    #[test]
    fn bow_tie_is_a_self_intersection_at_its_centre() {
        let shape = MultiPolygon(vec![poly(
            &[(0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (0.0, 2.0), (0.0, 0.0)],
            &[],
        )]);
        match validate_shape(&shape) {
            Err(GeometryError::EdgesCross { lon, lat, .. }) => {
                assert_eq!((lon, lat), (1.0, 1.0));
            }
            other => panic!("expected a crossing, got {other:?}"),
        }
    }

    #[test]
    fn unclosed_too_short_zero_area_and_range() {
        let short = MultiPolygon(vec![poly(&[(0.0, 0.0), (1.0, 0.0), (0.0, 0.0)], &[])]);
        assert!(matches!(
            validate_shape(&short),
            Err(GeometryError::TooFewPoints { points: 3, .. })
        ));
        let flat = MultiPolygon(vec![poly(
            &[(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (0.0, 0.0)],
            &[],
        )]);
        assert_eq!(
            validate_shape(&flat),
            Err(GeometryError::ZeroArea {
                polygon: 0,
                ring: 0
            })
        );
        let far = MultiPolygon(vec![poly(
            &[(0.0, 0.0), (190.0, 0.0), (1.0, 1.0), (0.0, 0.0)],
            &[],
        )]);
        assert!(matches!(
            validate_shape(&far),
            Err(GeometryError::BadCoordinate { point: 1, .. })
        ));
        assert_eq!(
            validate_shape(&MultiPolygon(vec![])),
            Err(GeometryError::Empty)
        );
    }

    #[test]
    fn spike_overlaps_along_a_line() {
        let shape = MultiPolygon(vec![poly(
            &[
                (0.0, 0.0),
                (4.0, 0.0),
                (6.0, 0.0),
                (4.0, 0.0),
                (4.0, 4.0),
                (0.0, 0.0),
            ],
            &[],
        )]);
        assert!(matches!(
            validate_shape(&shape),
            Err(GeometryError::EdgesOverlap { .. })
        ));
    }

    #[test]
    fn nesting_rules() {
        let outside: &[(f64, f64)] = &[(5.0, 5.0), (6.0, 5.0), (6.0, 6.0), (5.0, 5.0)];
        let shape = MultiPolygon(vec![poly(SQUARE, &[outside])]);
        assert_eq!(
            validate_shape(&shape),
            Err(GeometryError::HoleOutside {
                polygon: 0,
                ring: 1
            })
        );
        let inner: &[(f64, f64)] = &[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 1.0)];
        let nested = MultiPolygon(vec![poly(SQUARE, &[]), poly(inner, &[])]);
        assert_eq!(
            validate_shape(&nested),
            Err(GeometryError::NestedPolygon { inner: 1, outer: 0 })
        );
        // An island in a lake (polygon inside a hole) is fine.
        let lake: &[(f64, f64)] = &[(0.5, 0.5), (3.5, 0.5), (3.5, 3.5), (0.5, 3.5), (0.5, 0.5)];
        let island = MultiPolygon(vec![poly(SQUARE, &[lake]), poly(inner, &[])]);
        assert_eq!(validate_shape(&island), Ok(()));
    }

    #[test]
    fn ring_position_on_edges_vertices_and_inside() {
        let r = ring(SQUARE);
        assert_eq!(
            ring_position(&r.0, Coord { x: 2.0, y: 2.0 }),
            RingPosition::Inside
        );
        assert_eq!(
            ring_position(&r.0, Coord { x: 4.0, y: 2.0 }),
            RingPosition::Boundary
        );
        assert_eq!(
            ring_position(&r.0, Coord { x: 4.0, y: 4.0 }),
            RingPosition::Boundary
        );
        assert_eq!(
            ring_position(&r.0, Coord { x: 4.1, y: 4.0 }),
            RingPosition::Outside
        );
        assert_eq!(
            ring_position(&r.0, Coord { x: -1.0, y: 0.0 }),
            RingPosition::Outside
        );
    }

    #[test]
    fn shape_contains_treats_boundary_as_inside_and_holes_as_outside() {
        let hole: &[(f64, f64)] = &[(1.0, 1.0), (1.0, 2.0), (2.0, 2.0), (2.0, 1.0), (1.0, 1.0)];
        let shape = MultiPolygon(vec![poly(SQUARE, &[hole])]);
        assert!(shape_contains(&shape, 3.0, 3.0));
        assert!(shape_contains(&shape, 0.0, 2.0)); // on the exterior
        assert!(shape_contains(&shape, 1.0, 1.5)); // on the hole's edge
        assert!(!shape_contains(&shape, 1.5, 1.5)); // in the hole
        assert!(!shape_contains(&shape, 5.0, 1.5));
    }

    #[test]
    fn orientation_is_normalised() {
        let cw: &[(f64, f64)] = &[(0.0, 0.0), (0.0, 4.0), (4.0, 4.0), (4.0, 0.0), (0.0, 0.0)];
        let ccw_hole: &[(f64, f64)] = &[(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 2.0), (1.0, 1.0)];
        let mut shape = MultiPolygon(vec![poly(cw, &[ccw_hole])]);
        orient_rings(&mut shape);
        assert!(twice_signed_area(shape.0[0].exterior()) > 0.0);
        assert!(twice_signed_area(&shape.0[0].interiors()[0]) < 0.0);
        assert_eq!(twice_signed_area(shape.0[0].exterior()), 32.0);
        assert_eq!(shape.0[0].exterior().0[1], Coord { x: 4.0, y: 0.0 });
        assert_eq!(shape.0[0].interiors()[0].0[1], Coord { x: 1.0, y: 2.0 });
    }
}
