//! The simulator's own point-in-zone and distance-to-border geometry, for the truth.
//!
//! Deliberately independent of the detector's airspace index (`skyfence_core::airspace`:
//! cell grid, crossing-number on boundary cells, geodesic refinement) so that a bug in
//! one cannot hide in both. Here: the even-odd rule over every ring of the
//! zone, with the edges bucketed into latitude bands so that a horizontal ray only meets
//! the edges of its own band; distance is the minimum over edges in a local
//! tangent plane with the WGS-84 meridian and prime-vertical radii at the point, searched
//! band by band outward until no closer edge can exist. That local metric is within
//! 0.1 % of the geodesic distance up to ~100 km, enough for `max_depth_m` and approach
//! warnings (see the tolerance notes in the output README).

use skyfence_core::airspace::Zone;

/// WGS-84 semi-major axis, metres.
const A: f64 = 6_378_137.0;
/// WGS-84 first eccentricity squared.
const E2: f64 = 6.694_379_990_14e-3;

/// Height of a latitude band, degrees.
const BAND_DEG: f64 = 0.05;

/// One zone's lateral shape prepared for the truth's queries.
#[derive(Clone, Debug)]
pub struct Shape {
    /// Edges as (lon0, lat0, lon1, lat1).
    edges: Vec<[f64; 4]>,
    /// Edge indices per latitude band.
    bands: Vec<Vec<u32>>,
    min_lat: f64,
    max_lat: f64,
    min_lon: f64,
    max_lon: f64,
}

impl Shape {
    /// Prepares `zone`'s shape.
    pub fn new(zone: &Zone) -> Self {
        let mut edges = Vec::new();
        for p in &zone.shape.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    edges.push([w[0].x, w[0].y, w[1].x, w[1].y]);
                }
                // Close an unclosed ring.
                if let (Some(f), Some(l)) = (ring.0.first(), ring.0.last())
                    && f != l
                {
                    edges.push([l.x, l.y, f.x, f.y]);
                }
            }
        }
        let (mut min_lat, mut max_lat, mut min_lon, mut max_lon) = (90.0, -90.0, 180.0, -180.0);
        for e in &edges {
            min_lat = e[1].min(e[3]).min(min_lat);
            max_lat = e[1].max(e[3]).max(max_lat);
            min_lon = e[0].min(e[2]).min(min_lon);
            max_lon = e[0].max(e[2]).max(max_lon);
        }
        let n_bands = if edges.is_empty() {
            0
        } else {
            (((max_lat - min_lat) / BAND_DEG).floor() as usize + 1).min(100_000)
        };
        let mut bands = vec![Vec::new(); n_bands];
        for (i, e) in edges.iter().enumerate() {
            let lo = ((e[1].min(e[3]) - min_lat) / BAND_DEG).floor() as usize;
            let hi = ((e[1].max(e[3]) - min_lat) / BAND_DEG).floor() as usize;
            for b in bands
                .iter_mut()
                .take(hi.min(n_bands.saturating_sub(1)) + 1)
                .skip(lo)
            {
                b.push(i as u32);
            }
        }
        Shape {
            edges,
            bands,
            min_lat,
            max_lat,
            min_lon,
            max_lon,
        }
    }

    fn band(&self, lat: f64) -> Option<usize> {
        if lat < self.min_lat || lat > self.max_lat || self.bands.is_empty() {
            return None;
        }
        Some((((lat - self.min_lat) / BAND_DEG).floor() as usize).min(self.bands.len() - 1))
    }

    /// Whether (lat, lon) is inside (even-odd rule over all rings: holes excluded).
    /// Points exactly on an edge may go either way, as for any crossing-number test.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        if lon < self.min_lon || lon > self.max_lon {
            return false;
        }
        let Some(b) = self.band(lat) else {
            return false;
        };
        let mut inside = false;
        for &i in &self.bands[b] {
            let [x0, y0, x1, y1] = self.edges[i as usize];
            if (y0 > lat) != (y1 > lat) {
                let x = x0 + (lat - y0) / (y1 - y0) * (x1 - x0);
                if x > lon {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Distance in metres from (lat, lon) to the nearest edge (the lateral boundary,
    /// holes included), in the local tangent plane at the point.
    pub fn distance_m(&self, lat: f64, lon: f64) -> f64 {
        if self.edges.is_empty() {
            return f64::INFINITY;
        }
        let phi = lat.to_radians();
        let w = (1.0 - E2 * phi.sin().powi(2)).sqrt();
        let m = A * (1.0 - E2) / (w * w * w); // meridian radius
        let n = A / w; // prime vertical radius
        let ky = m.to_radians(); // metres per degree of latitude
        let kx = n.to_radians() * phi.cos(); // metres per degree of longitude
        let dist_to = |i: u32| {
            let [x0, y0, x1, y1] = self.edges[i as usize];
            let ax = (x0 - lon) * kx;
            let ay = (y0 - lat) * ky;
            let bx = (x1 - lon) * kx;
            let by = (y1 - lat) * ky;
            let (dx, dy) = (bx - ax, by - ay);
            let len2 = dx * dx + dy * dy;
            let t = if len2 > 0.0 {
                (-(ax * dx + ay * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            (ax + t * dx).hypot(ay + t * dy)
        };
        let nb = self.bands.len() as i64;
        let centre = ((lat - self.min_lat) / BAND_DEG).floor() as i64;
        let mut best = f64::INFINITY;
        let mut ring = 0i64;
        loop {
            // Bands `ring` away on either side are at least this far in latitude.
            let gap_deg = if ring == 0 {
                0.0
            } else {
                (ring - 1) as f64 * BAND_DEG
            };
            if gap_deg * ky > best {
                break;
            }
            let mut any = false;
            for b in [centre - ring, centre + ring] {
                if (0..nb).contains(&b) {
                    any = true;
                    for &i in &self.bands[b as usize] {
                        best = best.min(dist_to(i));
                    }
                }
                if ring == 0 {
                    break;
                }
            }
            if !any && (centre - ring < 0 && centre + ring >= nb) {
                break;
            }
            ring += 1;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{LineString, MultiPolygon, Polygon};

    fn square_with_hole() -> Zone {
        let ext = LineString::from(vec![
            (70.0, 30.0),
            (71.0, 30.0),
            (71.0, 31.0),
            (70.0, 31.0),
            (70.0, 30.0),
        ]);
        let hole = LineString::from(vec![
            (70.4, 30.4),
            (70.6, 30.4),
            (70.6, 30.6),
            (70.4, 30.6),
            (70.4, 30.4),
        ]);
        super::super::borders::zone(
            "SQ".into(),
            MultiPolygon(vec![Polygon::new(ext, vec![hole])]),
            "test",
            None,
        )
    }

    #[test]
    fn contains_respects_holes() {
        let s = Shape::new(&square_with_hole());
        assert!(s.contains(30.2, 70.2));
        assert!(!s.contains(30.5, 70.5)); // in the hole
        assert!(!s.contains(31.2, 70.5));
        assert!(!s.contains(30.5, 71.01));
    }

    #[test]
    fn distance_matches_known_values() {
        let s = Shape::new(&square_with_hole());
        // 0.1° of latitude south of the north edge at 30.9 N: ~ 11.09 km (WGS-84
        // meridian arc at 31° N: 110.86 km per degree).
        let d = s.distance_m(30.9, 70.2);
        assert!((d - 11_086.0).abs() < 15.0, "{d}");
        // The hole's edge is nearest from (30.5, 70.35): 0.05° of longitude at 30.5 N
        // = 0.05 × 111.32 km × cos(30.5°) ≈ 4.80 km.
        let d = s.distance_m(30.5, 70.35);
        assert!((d - 4_798.0).abs() < 10.0, "{d}");
        // Far outside: the search still terminates with the right answer (1° of lat).
        let d = s.distance_m(32.0, 70.5);
        assert!((d - 110_900.0).abs() < 300.0, "{d}");
    }
}
