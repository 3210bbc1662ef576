//! WGS-84 geodetic ⇄ Earth-centred, Earth-fixed (ECEF) coordinates, and the local
//! east/north/up frame (NIMA TR8350.2, §4 and §7.1; the inverse by Heikkinen's closed
//! form, as given in Zhu, "Conversion of Earth-centered Earth-fixed coordinates to
//! geodetic coordinates", IEEE Trans. AES 30(3), 1994).

use nalgebra::{Matrix3, Vector3};

/// WGS-84 semi-major axis, metres.
pub const A_M: f64 = 6_378_137.0;
/// WGS-84 flattening.
pub const F: f64 = 1.0 / 298.257_223_563;
/// First eccentricity squared.
pub const E2: f64 = F * (2.0 - F);
/// Speed of light in vacuum, m/s (what the receivers' time differences measure; the
/// ~0.03 % slower propagation in the lower atmosphere is below the clock noise).
pub const C_MPS: f64 = 299_792_458.0;

/// A point in ECEF, metres.
pub type Ecef = Vector3<f64>;

/// The ECEF point of latitude and longitude (degrees) and height above the ellipsoid (m).
pub fn to_ecef(lat_deg: f64, lon_deg: f64, h_m: f64) -> Ecef {
    let (sl, cl) = lat_deg.to_radians().sin_cos();
    let (so, co) = lon_deg.to_radians().sin_cos();
    let n = A_M / (1.0 - E2 * sl * sl).sqrt();
    Vector3::new(
        (n + h_m) * cl * co,
        (n + h_m) * cl * so,
        (n * (1.0 - E2) + h_m) * sl,
    )
}

/// Latitude, longitude (degrees) and height above the ellipsoid (m) of an ECEF point
/// (Heikkinen's exact closed form: no iteration, millimetre-exact near the Earth).
pub fn from_ecef(p: &Ecef) -> (f64, f64, f64) {
    let b = A_M * (1.0 - F);
    let ep2 = (A_M * A_M - b * b) / (b * b);
    let (x, y, z) = (p.x, p.y, p.z);
    let r = x.hypot(y);
    if r < 1e-9 {
        // On the axis: a pole.
        let lat = if z >= 0.0 { 90.0 } else { -90.0 };
        return (lat, 0.0, z.abs() - b);
    }
    let ff = 54.0 * b * b * z * z;
    let g = r * r + (1.0 - E2) * z * z - E2 * (A_M * A_M - b * b);
    let c = E2 * E2 * ff * r * r / (g * g * g);
    let s = (1.0 + c + (c * c + 2.0 * c).sqrt()).cbrt();
    let pp = ff / (3.0 * (s + 1.0 / s + 1.0).powi(2) * g * g);
    let q = (1.0 + 2.0 * E2 * E2 * pp).sqrt();
    let r0 = -(pp * E2 * r) / (1.0 + q)
        + (0.5 * A_M * A_M * (1.0 + 1.0 / q)
            - pp * (1.0 - E2) * z * z / (q * (1.0 + q))
            - 0.5 * pp * r * r)
            .max(0.0)
            .sqrt();
    let u = ((r - E2 * r0).powi(2) + z * z).sqrt();
    let v = ((r - E2 * r0).powi(2) + (1.0 - E2) * z * z).sqrt();
    let z0 = b * b * z / (A_M * v);
    let h = u * (1.0 - b * b / (A_M * v));
    let lat = (z + ep2 * z0).atan2(r).to_degrees();
    let lon = y.atan2(x).to_degrees();
    (lat, lon, h)
}

/// The rotation from ECEF to local east, north, up at a latitude and longitude
/// (degrees): its rows are the east, north and up unit vectors.
pub fn enu_rotation(lat_deg: f64, lon_deg: f64) -> Matrix3<f64> {
    let (sl, cl) = lat_deg.to_radians().sin_cos();
    let (so, co) = lon_deg.to_radians().sin_cos();
    Matrix3::new(-so, co, 0.0, -sl * co, -sl * so, cl, cl * co, cl * so, sl)
}

/// The ellipsoid normal (local up) at a latitude and longitude (degrees).
pub fn up(lat_deg: f64, lon_deg: f64) -> Vector3<f64> {
    let (sl, cl) = lat_deg.to_radians().sin_cos();
    let (so, co) = lon_deg.to_radians().sin_cos();
    Vector3::new(cl * co, cl * so, sl)
}

/// Whether `target` is above the horizon of a site at `site` (with `up` its local
/// vertical), allowing `margin_rad` below it (radio refraction lets VHF/UHF see a little
/// beyond the geometric horizon: the 4/3-Earth rule).
pub fn above_horizon(site: &Ecef, site_up: &Vector3<f64>, target: &Ecef, margin_rad: f64) -> bool {
    let d = target - site;
    let n = d.norm();
    n > 0.0 && (d.dot(site_up) / n).asin() > -margin_rad
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_points() {
        // On the equator at the prime meridian: (a, 0, 0).
        let p = to_ecef(0.0, 0.0, 0.0);
        assert!((p - Vector3::new(A_M, 0.0, 0.0)).norm() < 1e-6);
        // The pole: (0, 0, b).
        let p = to_ecef(90.0, 0.0, 0.0);
        assert!((p.z - 6_356_752.314_245).abs() < 1e-3, "{}", p.z);
    }

    #[test]
    fn round_trip_millimetres() {
        for &(lat, lon, h) in &[
            (34.52, 69.18, 1800.0),
            (-33.9, 151.2, 10_000.0),
            (89.9, -120.0, 30.0),
            (0.0, 179.99, -50.0),
            (51.47, -0.45, 12_000.0),
        ] {
            let (la, lo, hh) = from_ecef(&to_ecef(lat, lon, h));
            assert!((la - lat).abs() < 1e-9, "{lat} {la}");
            assert!((lo - lon).abs() < 1e-9, "{lon} {lo}");
            assert!((hh - h).abs() < 1e-3, "{h} {hh}");
        }
    }

    #[test]
    fn enu_rows_are_orthonormal_and_up_is_the_normal() {
        let r = enu_rotation(34.5, 69.2);
        assert!((r * r.transpose() - Matrix3::identity()).norm() < 1e-12);
        let u = up(34.5, 69.2);
        assert!((r.row(2).transpose() - u).norm() < 1e-12);
        // A point 1000 m above the site is 1000 m up.
        let d = to_ecef(34.5, 69.2, 1000.0) - to_ecef(34.5, 69.2, 0.0);
        let enu = r * d;
        assert!((enu.z - 1000.0).abs() < 1e-6 && enu.x.abs() < 1e-6 && enu.y.abs() < 1e-6);
    }

    #[test]
    fn horizon() {
        let site = to_ecef(34.5, 69.2, 1800.0);
        let u = up(34.5, 69.2);
        assert!(above_horizon(&site, &u, &to_ecef(35.5, 69.2, 9000.0), 0.0));
        // 2000 km away at 10 km: below the horizon.
        assert!(!above_horizon(
            &site,
            &u,
            &to_ecef(52.5, 69.2, 10_000.0),
            0.0
        ));
    }
}
