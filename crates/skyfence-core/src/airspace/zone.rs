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
    /// counts as inside (INTERFACES.md, "Zones").
    pub fn contains_altitude(&self, alt_ft: Option<i32>) -> bool {
        match alt_ft {
            None => true,
            Some(a) => {
                self.floor_ft.is_none_or(|f| a >= f) && self.ceiling_ft.is_none_or(|c| a <= c)
            }
        }
    }
}
