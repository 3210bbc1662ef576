//! The zone model.

/// What kind of airspace a zone is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneKind {
    /// A country's sovereign airspace (land and territorial sea), from the built-in boundaries.
    Country,
    /// A restricted, prohibited or danger area (OpenAir classes R, P, Q, ...).
    Restricted,
    /// Any other user-defined zone (GeoJSON).
    Custom,
}

/// Where a zone's geometry came from: cited by incidents as evidence.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Provenance {
    /// The file it was loaded from, or the built-in dataset's name.
    pub source: String,
    /// Dataset version (e.g. the npm package version), when known.
    pub version: Option<String>,
    /// SHA-256 of the zone's canonical geometry encoding, lowercase hex.
    pub sha256: String,
}

/// A 3-D airspace volume: a lateral shape between a floor and a ceiling, with an
/// approach-warning band outside it.
///
/// Coordinates are WGS-84 degrees with `x` = longitude in [-180, 180] and `y` = latitude.
/// A shape that crosses the antimeridian is stored split at ±180° into separate polygons
/// (as the source datasets do); the queries treat the seam as interior.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    /// Unique name.
    pub name: String,
    /// What kind of airspace.
    pub kind: ZoneKind,
    /// Lateral extent: polygons with holes.
    pub shape: geo_types::MultiPolygon<f64>,
    /// Lowest altitude (feet) that belongs to the zone; `None` = the surface.
    pub floor_ft: Option<i32>,
    /// Highest altitude (feet) that belongs to the zone; `None` = unlimited.
    pub ceiling_ft: Option<i32>,
    /// Width of the approach-warning band outside the zone, metres (0 = none).
    pub buffer_m: f64,
    /// Where the geometry came from.
    pub provenance: Provenance,
}

impl Zone {
    /// Whether `alt_ft` lies between floor and ceiling (inclusive). An unknown altitude
    /// counts as inside (docs/INTERFACES.md, "Zones").
    pub fn contains_altitude(&self, alt_ft: Option<i32>) -> bool {
        match alt_ft {
            None => true,
            Some(a) => {
                self.floor_ft.is_none_or(|f| a >= f) && self.ceiling_ft.is_none_or(|c| a <= c)
            }
        }
    }
}

impl Zone {
    /// Number of polygons in the lateral shape.
    pub fn polygon_count(&self) -> usize {
        self.shape.0.len()
    }

    /// Number of holes (interior rings) over all polygons: enclaves and lakes of other
    /// sovereignty are holes.
    pub fn hole_count(&self) -> usize {
        self.shape.0.iter().map(|p| p.interiors().len()).sum()
    }

    /// Number of stored vertices over all rings, counting each ring's closing point once
    /// (a closed ring of `n` distinct points counts `n`).
    pub fn vertex_count(&self) -> usize {
        self.shape
            .0
            .iter()
            .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
            .map(|r| r.0.len().saturating_sub(1))
            .sum()
    }

    /// The lateral bounding box `(min_lon, min_lat, max_lon, max_lat)`, or `None` for an
    /// empty shape.
    pub fn bounding_box(&self) -> Option<(f64, f64, f64, f64)> {
        let mut it = self.shape.0.iter().flat_map(|p| p.exterior().0.iter());
        let first = it.next()?;
        Some(it.fold(
            (first.x, first.y, first.x, first.y),
            |(x0, y0, x1, y1), c| (x0.min(c.x), y0.min(c.y), x1.max(c.x), y1.max(c.y)),
        ))
    }
}

/// Tag that starts the canonical geometry encoding; bump the number if the encoding
/// ever changes, so old and new hashes can never be confused.
const CANONICAL_GEOMETRY_TAG: &[u8] = b"skyfence-geometry-v1\n";

/// The canonical byte encoding of a shape, the input of [`geometry_sha256`].
///
/// Why a custom encoding: the hash must not depend on JSON formatting, key order or
/// number spelling, so a zone loaded from GeoJSON, OpenAir or the built-in file hashes
/// the same whenever its coordinates are the same `f64` values. Layout (all integers
/// little-endian `u64`, coordinates IEEE-754 `f64` bit patterns little-endian, `-0.0`
/// written as `+0.0`):
///
/// ```text
/// "skyfence-geometry-v1\n"  polygon_count
///   per polygon:  ring_count (exterior first, then holes in stored order)
///     per ring:   point_count (closing point included)  then  lon lat  per point
/// ```
pub fn canonical_geometry_bytes(shape: &geo_types::MultiPolygon<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(CANONICAL_GEOMETRY_TAG.len() + 8 + 16 * 64);
    out.extend_from_slice(CANONICAL_GEOMETRY_TAG);
    write_canonical(shape, |bytes| out.extend_from_slice(bytes));
    out
}

/// SHA-256 of [`canonical_geometry_bytes`], lowercase hex: the geometry fingerprint an
/// incident cites, which anyone holding the same zone file can recompute.
pub fn geometry_sha256(shape: &geo_types::MultiPolygon<f64>) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(CANONICAL_GEOMETRY_TAG);
    write_canonical(shape, |bytes| hasher.update(bytes));
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(64);
    for b in digest {
        hex.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
        hex.push(char::from(HEX_DIGITS[usize::from(b & 0x0f)]));
    }
    hex
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn write_canonical(shape: &geo_types::MultiPolygon<f64>, mut sink: impl FnMut(&[u8])) {
    let count = |n: usize| (n as u64).to_le_bytes();
    let coord = |v: f64| (if v == 0.0 { 0.0f64 } else { v }).to_bits().to_le_bytes();
    sink(&count(shape.0.len()));
    for polygon in &shape.0 {
        sink(&count(1 + polygon.interiors().len()));
        for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
            sink(&count(ring.0.len()));
            for c in &ring.0 {
                sink(&coord(c.x));
                sink(&coord(c.y));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{LineString, MultiPolygon, Polygon};

    fn square(x0: f64, y0: f64, side: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (x0, y0),
                (x0 + side, y0),
                (x0 + side, y0 + side),
                (x0, y0 + side),
                (x0, y0),
            ]),
            vec![],
        )])
    }

    #[test]
    fn canonical_bytes_layout() {
        let bytes = canonical_geometry_bytes(&square(0.0, 0.0, 1.0));
        // tag + polygon count + ring count + point count + 5 points * 16 bytes
        assert_eq!(bytes.len(), CANONICAL_GEOMETRY_TAG.len() + 8 * 3 + 5 * 16);
        assert_eq!(&bytes[..21], b"skyfence-geometry-v1\n");
        assert_eq!(&bytes[21..29], &1u64.to_le_bytes());
        assert_eq!(&bytes[37..45], &5u64.to_le_bytes());
        assert_eq!(&bytes[61..69], &1.0f64.to_bits().to_le_bytes());
    }

    #[test]
    fn sha256_is_hex_of_canonical_bytes() {
        use sha2::Digest;
        let shape = square(69.0, 34.0, 0.5);
        let expected = sha2::Sha256::digest(canonical_geometry_bytes(&shape));
        let hex: String = expected.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(geometry_sha256(&shape), hex);
        assert_eq!(hex.len(), 64);
    }

    #[test]
    fn sha256_ignores_sign_of_zero_but_not_coordinates() {
        let a = geometry_sha256(&square(0.0, 0.0, 1.0));
        let b = geometry_sha256(&square(-0.0, -0.0, 1.0));
        let c = geometry_sha256(&square(0.0, 0.0, 1.000_001));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn counts_and_bbox() {
        let mut shape = square(60.0, 29.0, 15.0);
        shape.0[0].interiors_push(LineString::from(vec![
            (61.0, 30.0),
            (61.0, 31.0),
            (62.0, 31.0),
            (61.0, 30.0),
        ]));
        let zone = Zone {
            name: "T".into(),
            kind: ZoneKind::Custom,
            shape,
            floor_ft: None,
            ceiling_ft: None,
            buffer_m: 0.0,
            provenance: Provenance {
                source: "test".into(),
                version: None,
                sha256: String::new(),
            },
        };
        assert_eq!(zone.polygon_count(), 1);
        assert_eq!(zone.hole_count(), 1);
        assert_eq!(zone.vertex_count(), 4 + 3);
        assert_eq!(zone.bounding_box(), Some((60.0, 29.0, 75.0, 44.0)));
    }
}
