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

/// `testdata/zones/quirks.air` reproduces what real OpenAir files hold (inline comments,
/// 60 seconds, a repeated name, `AL 0ft AMSL`, an AGL ceiling, a Latin-1 name, a
/// self-intersecting zone, a three-point sliver). Strict: refused with every problem,
/// each naming file, line and zone. Lenient: every readable zone loaded, every skipped
/// one named.
#[test]
fn real_openair_quirks_strict_and_lenient() {
    use skyfence_core::airspace::load::load_zone_file_with;
    let p = path("quirks.air");
    let shown = p.display().to_string();
    let errors = load_zone_file_with(&p, false).expect_err("strict refuses");
    let lines: Vec<String> = errors.0.iter().map(|e| e.to_string()).collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");
    for l in &lines {
        assert!(l.starts_with(&format!("{shown}:")), "{l}");
    }
    assert!(
        lines[0].contains("duplicate zone name \"ALPHA\""),
        "{lines:#?}"
    );
    assert!(
        lines[1].contains("\"BRAVO\": ceiling AH 2000ft AGL is above ground level"),
        "{lines:#?}"
    );
    assert!(
        lines[2].contains("\"TIE\": self-intersection"),
        "{lines:#?}"
    );
    assert!(lines[3].contains("\"SLIVER\""), "{lines:#?}");

    let loaded = load_zone_file_with(&p, true).expect("lenient loads");
    let names: Vec<&str> = loaded.zones.iter().map(|z| z.name.as_str()).collect();
    assert_eq!(names, ["ALPHA", "ALPHA (2)", "BRAVO", "CH\u{e9}RY"]);
    let skipped: Vec<String> = loaded.skipped.iter().map(|e| e.to_string()).collect();
    assert_eq!(skipped.len(), 2, "{skipped:#?}");
    assert!(skipped[0].contains("feature 4 \"TIE\""), "{skipped:#?}");
    assert!(skipped[1].contains("feature 5 \"SLIVER\""), "{skipped:#?}");
    let warnings: Vec<String> = loaded.warnings.iter().map(|e| e.to_string()).collect();
    assert!(warnings[0].contains("read as Latin-1"), "{warnings:#?}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("loaded as \"ALPHA (2)\"")),
        "{warnings:#?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("ceiling unknown")),
        "{warnings:#?}"
    );
    let z = |i: usize| &loaded.zones[i];
    // Inline comment read away, FL95; 60 seconds is the next minute.
    assert_eq!((z(0).floor_ft, z(0).ceiling_ft), (None, Some(9500)));
    assert!(shape_contains(&z(0).shape, 6.05, 45.005));
    // AL 0ft AMSL is 0 ft, not the surface.
    assert_eq!((z(1).floor_ft, z(1).ceiling_ft), (Some(0), Some(5000)));
    // AGL floor read as MSL, AGL ceiling unknown: up to unlimited.
    assert_eq!((z(2).floor_ft, z(2).ceiling_ft), (Some(500), None));
}

/// The real OpenAir files under `testdata/zones/real/` (see `testdata/README.md`):
/// lenient loading accounts for every `AC` block of the file, each either loaded or
/// skipped with a warning that names it (index and name); strict refuses each file with
/// the same problems. Point-in-zone answers on these zones are checked against shapely in
/// `crates/skyfence/tests/real_inputs.rs`.
#[test]
fn real_openair_files_load_leniently_naming_every_skipped_zone() {
    use skyfence_core::airspace::load::load_zone_file_with;
    // (file, zones in the file, loaded, skipped zones whose altitude is given as
    // "NOTAM" (only a NOTAM says it), the other skipped zones in file order)
    let cases: [(&str, usize, usize, usize, &[&str]); 2] = [
        ("real/LK8000-DEMO.txt", 16, 15, 0, &["ATZ M AVIANO"]),
        (
            "real/AirspaceAus-DAA.txt",
            662,
            558,
            99,
            // Two self-intersecting, two "BCTA FT" floors, a three-point zone.
            &["DARWIN_CTZ_C", "R153D", "D210", "D383", "D738"],
        ),
    ];
    for (name, in_file, loaded_count, notam, others) in cases {
        let p = path(name);
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        let blocks = text
            .lines()
            .filter(|l| l.trim_start().to_ascii_uppercase().starts_with("AC "))
            .count();
        assert_eq!(blocks, in_file, "{name}");
        let loaded = load_zone_file_with(&p, true).expect("lenient loads");
        let skipped: Vec<(usize, String, String)> = loaded
            .skipped
            .iter()
            .map(|e| {
                let f = e.feature.as_ref().unwrap_or_else(|| panic!("{e}"));
                let zone = f.name.clone().unwrap_or_else(|| panic!("unnamed: {e}"));
                assert!(e.line.is_some(), "{e}");
                (f.index, zone, e.problem.to_string())
            })
            .collect();
        // One warning per skipped zone, every zone of the file accounted for.
        let mut indices: Vec<usize> = skipped.iter().map(|s| s.0).collect();
        indices.dedup();
        assert_eq!(indices.len(), skipped.len(), "{name}: {skipped:?}");
        assert_eq!(loaded.zones.len() + skipped.len(), in_file, "{name}");
        assert_eq!(loaded.zones.len(), loaded_count, "{name}");
        let (by_notam, rest): (Vec<_>, Vec<_>) = skipped
            .iter()
            .partition(|s| s.2.starts_with("altitude \"NOTAM\""));
        assert_eq!(by_notam.len(), notam, "{name}: {by_notam:?}");
        let names: Vec<&str> = rest.iter().map(|s| s.1.as_str()).collect();
        assert_eq!(names, others, "{name}: {rest:?}");
        // Strict: the same zones refused, and also those lenient mode loaded with a
        // warning: an AGL ceiling as unknown, a repeated name numbered.
        let warned = |needle: &str| {
            loaded
                .warnings
                .iter()
                .filter(|w| w.to_string().contains(needle))
                .count()
        };
        let (agl, renamed) = (warned("ceiling unknown"), warned("loaded as"));
        let strict = load_zone_file_with(&p, false).expect_err("strict refuses");
        eprintln!(
            "{name}: strict {} problems, {agl} AGL ceilings, {renamed} renamed",
            strict.0.len()
        );
        assert_eq!(strict.0.len(), skipped.len() + agl + renamed, "{name}");
        assert!(
            strict
                .0
                .iter()
                .all(|e| e.feature.is_some() && e.line.is_some())
        );
    }
}
