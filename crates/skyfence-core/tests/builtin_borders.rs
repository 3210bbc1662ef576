//! The embedded world borders (`data/countries-maritime-10m.bin`): codes, antimeridian
//! countries, enclaves, and containment of known places checked with `geo::Contains`
//! as a brute-force reference. Place coordinates are city centres / island positions
//! from OpenStreetMap (rounded to 0.01°).

use geo::{Contains, Point};
use skyfence_core::airspace::builtin::{
    ATTRIBUTION, DATASET, DATASET_VERSION, borders, embedded_size, load_country,
};
use skyfence_core::airspace::validate::{twice_signed_area, validate_shape};
use skyfence_core::airspace::zone::geometry_sha256;
use skyfence_core::airspace::{Zone, ZoneKind};

fn contains(zone: &Zone, lat: f64, lon: f64) -> bool {
    zone.shape.contains(&Point::new(lon, lat))
}

#[test]
fn index_holds_all_250_features() {
    let file = borders().expect("embedded file parses");
    assert_eq!(file.dataset, DATASET);
    assert_eq!(file.version, DATASET_VERSION);
    assert_eq!(file.entries.len(), 250);
    let vertices: u64 = file.entries.iter().map(|e| u64::from(e.vertex_count)).sum();
    assert_eq!(vertices, 1_902_507);
    assert!(embedded_size() < 12 * 1024 * 1024);
    assert!(ATTRIBUTION.contains("© OpenStreetMap contributors"));
    assert!(ATTRIBUTION.contains("ODbL"));
}

#[test]
fn afghanistan_by_either_code() {
    let af = load_country("AF").expect("AF");
    let afg = load_country("afg").expect("afg");
    assert_eq!(af, afg);
    assert_eq!(af.name, "AF");
    assert_eq!(af.kind, ZoneKind::Country);
    assert_eq!((af.floor_ft, af.ceiling_ft, af.buffer_m), (None, None, 0.0));
    assert_eq!(af.provenance.source, "@geo-maps/countries-maritime-10m");
    assert_eq!(af.provenance.version.as_deref(), Some("0.6.0"));
    assert_eq!(af.provenance.sha256, geometry_sha256(&af.shape));
    // Kabul in, Islamabad and Tehran out.
    assert!(contains(&af, 34.53, 69.17));
    assert!(!contains(&af, 33.69, 73.05));
    assert!(!contains(&af, 35.69, 51.39));
    let (x0, y0, x1, y1) = af.bounding_box().expect("non-empty");
    assert!(
        x0 > 60.0 && x0 < 61.0 && x1 > 74.8 && x1 < 75.2,
        "lon {x0}..{x1}"
    );
    assert!(
        y0 > 29.3 && y0 < 29.5 && y1 > 38.4 && y1 < 38.6,
        "lat {y0}..{y1}"
    );
    assert_eq!(validate_shape(&af.shape), Ok(()));
}

#[test]
fn pakistan_includes_its_territorial_sea() {
    let pk = load_country("PAK").expect("PAK");
    assert!(contains(&pk, 33.69, 73.05)); // Islamabad
    assert!(contains(&pk, 24.86, 67.01)); // Karachi
    // 10 km off the coast south of Karachi (inside 12 NM), and ~110 km off (outside).
    assert!(contains(&pk, 24.70, 66.95));
    assert!(!contains(&pk, 23.80, 66.90));
}

#[test]
fn antimeridian_countries_are_split_valid_and_in_range() {
    for code in ["FJ", "RU", "US", "TV", "KI", "NZ", "AQ"] {
        let zone = load_country(code).expect(code);
        assert_eq!(validate_shape(&zone.shape), Ok(()), "{code}");
        for p in &zone.shape.0 {
            assert!(
                twice_signed_area(p.exterior()) > 0.0,
                "{code} exterior counter-clockwise"
            );
            for c in p
                .exterior()
                .0
                .iter()
                .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
            {
                assert!((-180.0..=180.0).contains(&c.x) && (-90.0..=90.0).contains(&c.y));
            }
        }
    }
    let fj = load_country("FJI").expect("FJI");
    let (x0, _, x1, _) = fj.bounding_box().expect("non-empty");
    assert_eq!((x0, x1), (-180.0, 180.0));
    assert!(contains(&fj, -18.14, 178.44)); // Suva, west of the antimeridian
    assert!(contains(&fj, -16.80, -179.95)); // Taveuni's territorial sea, east of it
    assert!(contains(&fj, -18.05, -178.60)); // Lau group (Lakeba area), east of it
    assert!(!contains(&fj, -21.14, -175.20)); // Nuku'alofa, Tonga
    let ru = load_country("RU").expect("RU");
    assert!(contains(&ru, 55.75, 37.62)); // Moscow
    assert!(contains(&ru, 66.32, -179.12)); // Egvekinot, Chukotka, east of the antimeridian
    assert!(contains(&ru, 66.16, -169.81)); // Uelen, near Cape Dezhnev
    assert!(contains(&ru, 64.73, 177.51)); // Anadyr
    assert!(!contains(&ru, 64.50, -165.40)); // Nome, Alaska
    let us = load_country("US").expect("US");
    assert!(contains(&us, 64.50, -165.40)); // Nome
    assert!(contains(&us, 52.84, 173.18)); // Attu Island, west of the antimeridian
}

#[test]
fn enclaves_are_holes() {
    // San Marino and the Vatican are holes of Italy, and zones of their own.
    let it = load_country("IT").expect("IT");
    assert_eq!(it.hole_count(), 2);
    let sm = load_country("SM").expect("SM");
    let (rome_vatican_lat, rome_vatican_lon) = (41.903, 12.453);
    assert!(!contains(&it, 43.94, 12.45)); // San Marino city
    assert!(contains(&sm, 43.94, 12.45));
    assert!(!contains(&it, rome_vatican_lat, rome_vatican_lon));
    assert!(contains(
        &load_country("VA").expect("VA"),
        rome_vatican_lat,
        rome_vatican_lon
    ));
    assert!(contains(&it, 41.89, 12.49)); // Rome, Colosseum
    // Lesotho is a hole of South Africa.
    let za = load_country("ZA").expect("ZA");
    assert!(!contains(&za, -29.31, 27.48)); // Maseru
    assert!(contains(&load_country("LS").expect("LS"), -29.31, 27.48));
    // Baarle: a Dutch enclave inside a Belgian enclave inside the Netherlands.
    let nl = load_country("NL").expect("NL");
    let be = load_country("BE").expect("BE");
    assert_eq!(validate_shape(&nl.shape), Ok(()));
    assert_eq!(validate_shape(&be.shape), Ok(()));
}

#[test]
fn unknown_and_unlisted_codes_are_errors() {
    assert_eq!(
        load_country("ZZ").expect_err("unknown").to_string(),
        "unknown country code \"ZZ\", expected an ISO 3166-1 alpha-2 or alpha-3 code such as AF or AFG"
    );
    assert!(load_country("").is_err());
}

mod brute_force {
    use super::*;
    use proptest::prelude::*;
    use skyfence_core::airspace::validate::shape_contains;
    use std::sync::OnceLock;

    fn afghanistan() -> &'static Zone {
        static AF: OnceLock<Zone> = OnceLock::new();
        AF.get_or_init(|| load_country("AF").expect("AF"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The exact brute-force test used by the loaders and the CLI agrees with
        /// `geo::Contains` over Afghanistan's bounding box plus 1° (points exactly on the
        /// border, where the two conventions differ, have probability zero here).
        #[test]
        fn shape_contains_matches_geo(lon in 59.5f64..75.9, lat in 28.4f64..39.5) {
            let af = afghanistan();
            prop_assert_eq!(shape_contains(&af.shape, lon, lat), contains(af, lat, lon));
        }
    }
}
