//! Positions on the WGS-84 ellipsoid.

/// A horizontal position in WGS-84 degrees: latitude in [-90, 90], longitude in [-180, 180).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GeoPoint {
    /// Latitude, degrees north.
    pub lat: f64,
    /// Longitude, degrees east.
    pub lon: f64,
}

impl GeoPoint {
    /// A point; the longitude is wrapped into [-180, 180).
    pub fn new(lat: f64, lon: f64) -> Self {
        GeoPoint {
            lat,
            lon: wrap_lon(lon),
        }
    }

    /// Great-circle distance in metres on a sphere of the WGS-84 mean radius (haversine).
    /// Good to ~0.5 %: used for plausibility gates, not for evidence figures.
    pub fn haversine_m(self, other: GeoPoint) -> f64 {
        const R: f64 = 6_371_008.8;
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * R * a.sqrt().min(1.0).asin()
    }
}

/// Wraps a longitude into [-180, 180).
pub fn wrap_lon(lon: f64) -> f64 {
    if (-180.0..180.0).contains(&lon) {
        lon
    } else {
        (lon + 180.0).rem_euclid(360.0) - 180.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn haversine_kabul_to_islamabad() {
        let kabul = GeoPoint::new(34.5553, 69.2075);
        let islamabad = GeoPoint::new(33.6844, 73.0479);
        let d = kabul.haversine_m(islamabad);
        assert!((d - 365_000.0).abs() < 5_000.0, "{d}");
    }

    #[test]
    fn longitudes_wrap() {
        assert_eq!(GeoPoint::new(0.0, 190.0).lon, -170.0);
        assert_eq!(GeoPoint::new(0.0, -180.0).lon, -180.0);
        assert_eq!(GeoPoint::new(0.0, 180.0).lon, -180.0);
    }
}
