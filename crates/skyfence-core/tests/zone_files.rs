//! Zone files under `testdata/zones/` (written for these tests) loaded through
//! `load_zone_file`: the good ones load with their properties, the bad ones fail with a
//! message naming the file, the line, the feature and the problem.

use std::path::PathBuf;

use skyfence_core::airspace::ZoneKind;
use skyfence_core::airspace::load::load_zone_file;
use skyfence_core::airspace::validate::shape_contains;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/zones")
        .join(name)
}

fn error(name: &str) -> String {
    let p = path(name);
    let msg = load_zone_file(&p)
        .expect_err("must be rejected")
        .to_string();
    let shown = p.display().to_string();
    assert!(msg.starts_with(&shown), "{msg}");
    msg[shown.len()..].to_owned()
}

#[test]
fn geojson_zones_load() {
    let zones = load_zone_file(&path("held.geojson")).expect("valid");
    assert_eq!(zones.len(), 2);
    let a = &zones[0];
    assert_eq!(a.name, "HELD-A");
    assert_eq!(
        (a.floor_ft, a.ceiling_ft, a.buffer_m),
        (Some(0), Some(18000), 5000.0)
    );
    assert!(a.provenance.source.ends_with("held.geojson"));
    assert_eq!(a.provenance.sha256.len(), 64);
    let b = &zones[1];
    assert_eq!((b.floor_ft, b.ceiling_ft), (Some(10000), None));
    assert_eq!(b.hole_count(), 1);
    assert!(shape_contains(&b.shape, 70.3, 34.3));
    assert!(!shape_contains(&b.shape, 70.15, 34.15)); // in the hole
    assert!(b.contains_altitude(Some(12000)) && !b.contains_altitude(Some(9000)));
}

#[test]
fn openair_zones_load() {
    let zones = load_zone_file(&path("restricted.air")).expect("valid");
    let names: Vec<_> = zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["KABUL-R1", "LOGAR-D2"]);
    assert!(zones.iter().all(|z| z.kind == ZoneKind::Restricted));
    assert_eq!(
        (zones[0].floor_ft, zones[0].ceiling_ft),
        (None, Some(15000))
    );
    assert_eq!(
        (zones[1].floor_ft, zones[1].ceiling_ft),
        (Some(1000), Some(12000))
    );
    // Centre of the circle in, 6 NM north of it out (radius 5 NM).
    assert!(shape_contains(&zones[0].shape, 69.2, 34.55));
    assert!(!shape_contains(&zones[0].shape, 69.2, 34.65));
}

#[test]
fn bad_files_name_file_line_and_feature() {
    assert_eq!(
        error("bad-self-intersection.geojson"),
        ":5: feature 1 \"BOW-TIE\": self-intersection: polygon 0 ring 0 edge 2 crosses polygon 0 ring 0 edge 0 near (70.500000, 34.500000)"
    );
    assert_eq!(
        error("bad-floor-above-ceiling.geojson"),
        ":2: feature 0 \"UPSIDE-DOWN\": floor 20000 ft is above ceiling 5000 ft"
    );
    assert_eq!(
        error("bad-duplicate-name.geojson"),
        ":5: feature 1 \"TWIN\": duplicate zone name \"TWIN\", already used by feature 0"
    );
    assert_eq!(
        error("bad-unclosed.geojson"),
        ":2: feature 0 \"OPEN-RING\": geometry.coordinates[0] is not closed: first position [69.0, 34.0], last [69.0, 34.5]; a ring must end where it starts"
    );
    assert_eq!(
        error("bad-syntax.geojson"),
        ":3:4: invalid JSON: expected `,` or `}`"
    );
    assert_eq!(
        error("bad-agl-ceiling.air"),
        ":4: feature 0 \"LOW-AGL\": ceiling AH 2000ft AGL is above ground level; skyfence has no terrain model, give the ceiling in ft MSL or as a flight level"
    );
    assert!(error("does-not-exist.geojson").starts_with(": cannot read the file: "));
}
