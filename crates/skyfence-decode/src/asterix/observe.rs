//! ASTERIX reports into observations: which target (a Mode S address, else the
//! sensor's track number), which sensor (by SAC/SIC), and where (a radar's polar plot
//! placed on WGS-84 from its site).

use geographiclib_rs::{DirectGeodesic, Geodesic};
use skyfence_core::{
    Altitude, AltitudeDatum, EmitterCategory, GeoPoint, Identity, Observation, PositionKind,
    ShortName, SourceId, TargetId, Velocity, nacp_epu95_m,
};

use super::{AsterixItem, Polar, Report};
use crate::DropReason;
use crate::sensor::{Sensor, SensorType, Site};

/// Metres in a nautical mile.
const NM_M: f64 = 1852.0;
/// Metres in a foot.
const FT_M: f64 = 0.3048;

/// What one record gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// An observation of a target.
    Target(Box<Observation>),
    /// A radar plot with neither a Mode S address nor a track number: an observation
    /// without a target of its own (its `target` is the sensor's track 0 until the
    /// ingest step associates it with a track, see `associate`).
    Untracked(Box<Observation>),
    /// A service message (CAT034): about the sensor, not a target.
    Service,
    /// Not usable, for this reason.
    Dropped(DropReason),
}

/// The WGS-84 mean radius of curvature at latitude `lat` (degrees): √(M·N), metres.
fn gaussian_radius_m(lat: f64) -> f64 {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 6.694_379_990_14e-3;
    let s = lat.to_radians().sin();
    let w = 1.0 - E2 * s * s;
    A * (1.0 - E2).sqrt() / w
}

/// Places a radar's polar plot on WGS-84.
///
/// The slant range ρ joins the antenna (height `h_r` above the ellipsoid) and the target
/// (height `h_t`); on a sphere of the local mean radius R, the earth-centre angle γ
/// between them follows from the triangle (centre, antenna, target):
/// cos γ = ((R+h_r)² + (R+h_t)² − ρ²) / (2 (R+h_r)(R+h_t)). The ground distance R·γ is
/// then walked from the site along the azimuth on the WGS-84 ellipsoid (Karney's direct
/// geodesic). Refraction is neglected: it bends the ray but changes the slant range by
/// far less than the radar's range resolution.
///
/// `target_alt_m` is the target's height (from its flight level when known, read as
/// geometric height: pressure altitude differs by tens to a few hundred metres, a
/// horizontal error below a metre at usual ranges). Without it the target is taken at
/// the antenna's height; a target Δh above the antenna at slant range ρ is then placed
/// about Δh²/(2ρ) too far (3 km above at 20 km: 225 m; 300 m above at 10 km: 4.5 m).
pub fn polar_to_wgs84(site: &Site, polar: Polar, target_alt_m: Option<f64>) -> GeoPoint {
    let r = gaussian_radius_m(site.lat);
    let rho = polar.range_nm * NM_M;
    let a = r + site.alt_m;
    let b = r + target_alt_m.unwrap_or(site.alt_m);
    let cos_g = ((a * a + b * b - rho * rho) / (2.0 * a * b)).clamp(-1.0, 1.0);
    let ground_m = r * cos_g.acos();
    let (lat, lon): (f64, f64) =
        Geodesic::wgs84().direct(site.lat, site.lon, polar.azimuth_deg, ground_m);
    GeoPoint::new(lat, lon)
}

/// Places a CAT048 calculated Cartesian position (x east, y north, nautical miles, in
/// the radar's plane) on WGS-84 along the geodesic from the site.
pub fn cartesian_to_wgs84(site: &Site, x_nm: f64, y_nm: f64) -> GeoPoint {
    let azimuth = x_nm.atan2(y_nm).to_degrees();
    let (lat, lon): (f64, f64) =
        Geodesic::wgs84().direct(site.lat, site.lon, azimuth, x_nm.hypot(y_nm) * NM_M);
    GeoPoint::new(lat, lon)
}

/// The ADS-B emitter category of an I021/020 code (DO-260B sets A–C), when it has one.
pub fn emitter_category(ecat: u8) -> Option<EmitterCategory> {
    let (set, cat) = match ecat {
        1..=6 => (b'A', ecat),
        10 => (b'A', 7),
        11 => (b'B', 1),
        12 => (b'B', 2),
        16 => (b'B', 3),
        15 => (b'B', 4),
        13 => (b'B', 6),
        14 => (b'B', 7),
        20..=24 => (b'C', ecat - 19),
        _ => return None,
    };
    EmitterCategory::new(set, cat)
}

/// The sensor a report comes from: the declared sensor with its SAC/SIC, or, for a
/// tracker (CAT062) or ADS-B station (CAT021) nobody declared, one named `SAC/SIC`.
pub fn sensor_of<'a>(
    sensors: &'a [Sensor],
    r: &Report,
) -> Result<(ShortName, Option<&'a Sensor>), DropReason> {
    if let Some(s) = sensors
        .iter()
        .find(|s| s.kind.is_asterix() && s.sac_sic == Some((r.sac, r.sic)))
    {
        return Ok((s.name, Some(s)));
    }
    match r.category {
        62 | 21 => ShortName::new(&format!("{}/{}", r.sac, r.sic))
            .map(|n| (n, None))
            .map_err(|_| DropReason::UnknownSensor),
        _ => Err(DropReason::UnknownSensor),
    }
}

/// The observation of one ASTERIX record from `source`.
pub fn observe(sensors: &[Sensor], source: SourceId, item: &AsterixItem) -> Observed {
    let r = &item.report;
    if r.category == 34 {
        return Observed::Service;
    }
    if r.test {
        // A test target (radar RTQC transponders, test reports): not traffic.
        return Observed::Dropped(DropReason::SkippedRecord);
    }
    let (name, sensor) = match sensor_of(sensors, r) {
        Ok(s) => s,
        Err(reason) => return Observed::Dropped(reason),
    };
    let target = match (r.address, r.track_number) {
        (Some(a), _) => TargetId::Icao(a),
        (None, number) => TargetId::Track {
            sensor: name,
            // A plot without track number or address: nothing to follow it by but its
            // position (number 0 stands for "none"; the ingest step's gate decides).
            number: number.unwrap_or(0),
        },
    };
    let untracked = r.address.is_none() && r.track_number.is_none();
    let alt_m = r
        .flight_level
        .map(|fl| f64::from(fl) * 100.0 * FT_M)
        .or(r.geometric_height_ft.map(|h| f64::from(h) * FT_M));
    let site = sensor
        .and_then(|s| s.site)
        .filter(|_| sensor.is_some_and(|s| s.kind == SensorType::Radar));
    let (position, plot_range_nm) = match (r.position, r.polar, r.cartesian_nm, site) {
        (Some(p), ..) => (Some(p), None),
        (None, Some(polar), _, Some(site)) => (
            Some(polar_to_wgs84(&site, polar, alt_m)),
            Some(polar.range_nm),
        ),
        (None, None, Some((x, y)), Some(site)) => {
            (Some(cartesian_to_wgs84(&site, x, y)), Some(x.hypot(y)))
        }
        _ => (None, None),
    };
    let altitude = match (r.flight_level, r.geometric_height_ft) {
        (Some(fl), _) => Some(Altitude {
            feet: (f64::from(fl) * 100.0).round() as i32,
            datum: AltitudeDatum::Barometric,
        }),
        (None, Some(h)) => Some(Altitude {
            feet: h.round() as i32,
            datum: AltitudeDatum::Geometric,
        }),
        _ => None,
    };
    let velocity = (r.ground_speed_kt.is_some() || r.track_deg.is_some()).then_some(Velocity {
        gs_kt: r.ground_speed_kt,
        track_deg: r.track_deg,
        vrate_fpm: None,
    });
    let mut obs = Observation::of(target, item.at);
    obs.position = position;
    obs.position_kind = if r.category == 21 {
        PositionKind::Adsb
    } else {
        PositionKind::Radar
    };
    obs.nacp = r.nacp;
    obs.accuracy_m = match plot_range_nm {
        Some(range_nm) => Some(radar_plot_accuracy_m(range_nm * NM_M) as f32),
        None => r.nacp.and_then(nacp_epu95_m).map(|m| m as f32),
    };
    obs.altitude = altitude;
    obs.velocity = velocity;
    obs.identity = Identity {
        callsign: r.callsign,
        category: r.emitter_category.and_then(emitter_category),
        squawk: r.mode3a,
    };
    obs.source = source;
    obs.sensor = Some(name);
    obs.raw = Some(item.raw.clone());
    if untracked {
        return Observed::Untracked(Box::new(obs));
    }
    Observed::Target(Box::new(obs))
}

/// One standard deviation of a radar plot's range error, metres: the accuracy the
/// EUROCONTROL standard for radar surveillance in en-route airspace asks of a monopulse
/// SSR (the order of a primary radar's as well).
pub const RADAR_RANGE_SIGMA_M: f64 = 70.0;
/// One standard deviation of a radar plot's azimuth error, degrees (the same standard).
pub const RADAR_AZIMUTH_SIGMA_DEG: f64 = 0.08;

/// The 95 % horizontal error bound of a radar plot at slant range `range_m`: range and
/// cross-range (range × azimuth) errors taken as independent normal errors of
/// [`RADAR_RANGE_SIGMA_M`] and [`RADAR_AZIMUTH_SIGMA_DEG`]; the 95 % radius of a
/// circular normal error of the larger axis's σ is 2.45 σ (χ² with 2 degrees of
/// freedom), an upper bound for the ellipse: 171 m up to 27 NM, 317 m at 50 NM, 950 m
/// at 150 NM.
pub fn radar_plot_accuracy_m(range_m: f64) -> f64 {
    let cross = range_m * RADAR_AZIMUTH_SIGMA_DEG.to_radians();
    2.45 * RADAR_RANGE_SIGMA_M.max(cross)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asterix::{Detection, Report};
    use skyfence_core::airspace::geodesy::geodesic_distance_m;
    use skyfence_core::{Icao24, Protocol, RawRecord, Timestamp};

    const SITE: Site = Site {
        lat: 34.566,
        lon: 69.212,
        alt_m: 1791.0,
    };

    fn radar() -> Sensor {
        Sensor {
            name: ShortName::new("kabul-psr").unwrap(),
            kind: SensorType::Radar,
            sac_sic: Some((1, 2)),
            site: Some(SITE),
            clock: None,
        }
    }

    fn item(r: Report) -> AsterixItem {
        AsterixItem {
            at: Timestamp::from_secs(100),
            report: r,
            raw: RawRecord::new(Protocol::Asterix, &[48, 0, 4, 0]),
        }
    }

    #[test]
    fn slant_range_and_curvature() {
        // A target at the antenna's height h: the chord ρ at radius R+h subtends
        // γ = 2·asin(ρ / 2(R+h)); on the ellipsoid that is R·γ ≈ ρ·R/(R+h): 26 m short
        // of 50 NM for an antenna 1791 m up.
        let p = polar_to_wgs84(
            &SITE,
            Polar {
                range_nm: 50.0,
                azimuth_deg: 90.0,
            },
            None,
        );
        let d = geodesic_distance_m(SITE.lat, SITE.lon, p.lat, p.lon);
        let rho = 50.0 * NM_M;
        let r = gaussian_radius_m(SITE.lat);
        let expected = r * 2.0 * (rho / (2.0 * (r + SITE.alt_m))).asin();
        assert!((d - expected).abs() < 1.0, "{d} vs {expected}");
        assert!((rho - d - 26.0).abs() < 1.0, "{d}");
        assert!((p.lat - SITE.lat).abs() < 0.05 && p.lon > SITE.lon);
        // FL 350 (10 668 m) at 20 NM: about 8.9 km above the antenna, so the ground
        // distance is well short of the slant range (√(37 040² − 8 877²) ≈ 35 960 m,
        // lengthened a little by the curvature).
        let p = polar_to_wgs84(
            &SITE,
            Polar {
                range_nm: 20.0,
                azimuth_deg: 0.0,
            },
            Some(10_668.0),
        );
        let d = geodesic_distance_m(SITE.lat, SITE.lon, p.lat, p.lon);
        assert!((d - 35_960.0).abs() < 200.0, "{d}");
        assert!(p.lat > SITE.lat && (p.lon - SITE.lon).abs() < 1e-9);
    }

    #[test]
    fn targets_sensors_and_positions() {
        let sensors = [radar()];
        let psr = Report {
            category: 48,
            sac: 1,
            sic: 2,
            detection: Some(Detection::Psr),
            polar: Some(Polar {
                range_nm: 10.0,
                azimuth_deg: 45.0,
            }),
            track_number: Some(417),
            ..Report::default()
        };
        let Observed::Target(o) = observe(&sensors, SourceId(3), &item(psr)) else {
            panic!()
        };
        assert_eq!(o.target.to_string(), "kabul-psr/417");
        assert_eq!(o.position_kind, PositionKind::Radar);
        assert_eq!(o.source, SourceId(3));
        assert_eq!(o.raw.as_ref().unwrap().proto, Protocol::Asterix);
        let p = o.position.unwrap();
        assert!(p.lat > SITE.lat && p.lon > SITE.lon);
        // With a Mode S address: the ICAO target, as its ADS-B.
        let ms = Report {
            address: Icao24::new(0x4840d6),
            flight_level: Some(85.0),
            ..psr
        };
        let Observed::Target(o) = observe(&sensors, SourceId(0), &item(ms)) else {
            panic!()
        };
        assert_eq!(o.target.to_string(), "4840d6");
        assert_eq!(o.altitude.unwrap().feet, 8500);
        // Undeclared radar: its plots cannot be placed.
        let other = Report { sic: 9, ..psr };
        assert_eq!(
            observe(&sensors, SourceId(0), &item(other)),
            Observed::Dropped(DropReason::UnknownSensor)
        );
        // Undeclared tracker: sensor "SAC/SIC".
        let trk = Report {
            category: 62,
            sac: 7,
            sic: 100,
            position: Some(GeoPoint::new(34.0, 70.0)),
            track_number: Some(5),
            ..Report::default()
        };
        let Observed::Target(o) = observe(&sensors, SourceId(0), &item(trk)) else {
            panic!()
        };
        assert_eq!(o.target.to_string(), "7/100/5");
        assert_eq!(o.position, Some(GeoPoint::new(34.0, 70.0)));
        // A plot with nothing to follow it by; a service message; a test target.
        let plot = Report {
            track_number: None,
            ..psr
        };
        let Observed::Untracked(o) = observe(&sensors, SourceId(0), &item(plot)) else {
            panic!()
        };
        assert_eq!(o.sensor.unwrap().as_str(), "kabul-psr");
        assert!(o.position.is_some());
        // 10 NM: range error dominates (2.45 × 70 m); 150 NM: azimuth (2.45 × 388 m).
        assert!(
            (o.accuracy_m.unwrap() - 171.5).abs() < 0.1,
            "{:?}",
            o.accuracy_m
        );
        assert!((radar_plot_accuracy_m(150.0 * NM_M) - 950.0).abs() < 5.0);
        let svc = Report {
            category: 34,
            ..Report::default()
        };
        assert_eq!(
            observe(&sensors, SourceId(0), &item(svc)),
            Observed::Service
        );
        let test = Report { test: true, ..psr };
        assert_eq!(
            observe(&sensors, SourceId(0), &item(test)),
            Observed::Dropped(DropReason::SkippedRecord)
        );
    }

    #[test]
    fn cat021_uav_is_category_b6() {
        assert_eq!(emitter_category(13).unwrap().to_string(), "B6");
        assert!(emitter_category(13).unwrap().is_uav());
        assert_eq!(emitter_category(5).unwrap().to_string(), "A5");
        assert_eq!(emitter_category(0), None);
    }
}
