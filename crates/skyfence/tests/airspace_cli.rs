//! `skyfence airspace` end to end: the built binary against the built-in borders and
//! the zone files in `testdata/zones/`. Places: city centres from OpenStreetMap
//! (rounded to 0.01°).

use std::path::PathBuf;
use std::process::{Command, Output};

fn skyfence(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skyfence"))
        .args(args)
        .output()
        .expect("the skyfence binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn zones(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/zones")
        .join(name)
        .display()
        .to_string()
}

/// The zone names in `locate --json` output.
fn located(lat: &str, lon: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["airspace", "locate", "--lat", lat, "--lon", lon, "--json"];
    args.extend_from_slice(extra);
    let out = skyfence(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON line");
    v["zones"]
        .as_array()
        .expect("zones array")
        .iter()
        .map(|z| z["zone"].as_str().expect("zone name").to_owned())
        .collect()
}

#[test]
fn kabul_is_in_afghanistan() {
    assert_eq!(located("34.53", "69.17", &[]), ["AF"]);
    let out = skyfence(&["airspace", "locate", "--lat", "34.53", "--lon", "69.17"]);
    let text = stdout(&out);
    assert!(text.contains("inside 1 zone"), "{text}");
    assert!(text.contains("AF (Afghanistan)"), "{text}");
}

#[test]
fn islamabad_is_in_pakistan() {
    assert_eq!(located("33.69", "73.05", &[]), ["PK"]);
}

#[test]
fn arabian_sea_beyond_12_nm_is_in_no_zone() {
    assert!(located("20.0", "64.0", &[]).is_empty());
}

#[test]
fn antimeridian_points() {
    assert_eq!(located("-18.14", "178.44", &[]), ["FJ"]); // Suva
    assert_eq!(located("66.32", "-179.12", &[]), ["RU"]); // Egvekinot
}

#[test]
fn zone_files_and_altitude() {
    let held = zones("held.geojson");
    let air = zones("restricted.air");
    let extra = ["--zones", held.as_str(), "--zones", air.as_str()];
    // Kabul: in HELD-A (SFC-18000), KABUL-R1 (SFC-FL150) and Afghanistan.
    assert_eq!(
        located("34.55", "69.2", &extra),
        ["HELD-A", "KABUL-R1", "AF"]
    );
    let mut high = extra.to_vec();
    high.extend(["--alt-ft", "16000"]);
    assert_eq!(located("34.55", "69.2", &high), ["HELD-A", "AF"]);
    // --country narrows the built-ins to those named.
    let mut only = extra.to_vec();
    only.extend(["--country", "PAK"]);
    assert_eq!(located("34.55", "69.2", &only), ["HELD-A", "KABUL-R1"]);
}

#[test]
fn show_accepts_both_codes_and_attributes_osm() {
    let a = stdout(&skyfence(&["airspace", "show", "AF"]));
    let b = stdout(&skyfence(&["airspace", "show", "AFG"]));
    assert_eq!(a, b);
    assert!(a.contains("name:        AF (AFG / Afghanistan)"), "{a}");
    assert!(a.contains("vertices:    26020"), "{a}");
    assert!(
        a.contains("source:      @geo-maps/countries-maritime-10m"),
        "{a}"
    );
    assert!(a.contains("version:     0.6.0"), "{a}");
    assert!(a.contains("© OpenStreetMap contributors"), "{a}");
    assert!(a.contains("ODbL"), "{a}");
    let sha = a
        .lines()
        .find_map(|l| l.strip_prefix("sha256:"))
        .map(str::trim)
        .expect("sha256 line");
    assert_eq!(sha.len(), 64);
    assert!(sha.bytes().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn show_a_zone_from_a_file() {
    let held = zones("held.geojson");
    let out = skyfence(&["airspace", "show", "HELD-B", "--zones", &held, "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(v["name"], "HELD-B");
    assert_eq!(v["floor_ft"], 10000);
    assert_eq!(v["ceiling_ft"], serde_json::Value::Null);
    assert_eq!(v["holes"], 1);
    assert_eq!(v["vertices"], 8);
    assert_eq!(v["bbox"], serde_json::json!([70.0, 34.0, 70.5, 34.5]));
}

#[test]
fn list_shows_every_builtin_country() {
    let out = skyfence(&["airspace", "list", "--json"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 250);
    let af: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON line"))
        .find(|v| v["alpha3"] == "AFG")
        .expect("Afghanistan listed");
    assert_eq!(af["alpha2"], "AF");
    assert_eq!(af["country"], "Afghanistan");
    assert_eq!(af["vertices"], 26020);
}

#[test]
fn bad_zone_file_exits_2_naming_the_file() {
    let bad = zones("bad-self-intersection.geojson");
    let out = skyfence(&[
        "airspace", "locate", "--lat", "34.5", "--lon", "69.2", "--zones", &bad,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad-self-intersection.geojson:5: feature 1 \"BOW-TIE\": self-intersection"),
        "{err}"
    );
}

#[test]
fn bad_arguments_exit_2() {
    let out = skyfence(&["airspace", "show", "ZZ"]);
    assert_eq!(out.status.code(), Some(2));
    let out = skyfence(&["airspace", "locate", "--lat", "95", "--lon", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lat 95"));
    let out = skyfence(&["airspace", "list", "--country", "XYZ"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn approach_band_and_distance_to_border() {
    // 0.02° east of HELD-A's east edge (lon 69.40) at 34.5° N: 0.02° of longitude there
    // is 1836.8 m on WGS-84 (N cos φ Δλ), inside HELD-A's 5000 m warning band.
    let held = zones("held.geojson");
    let out = skyfence(&[
        "airspace", "locate", "--lat", "34.5", "--lon", "69.42", "--zones", &held, "--json",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    let near = v["in_buffer"].as_array().expect("in_buffer array");
    assert_eq!(near.len(), 1);
    assert_eq!(near[0]["zone"], "HELD-A");
    let d = near[0]["distance_to_border_m"].as_f64().expect("distance");
    assert!((d - 1836.8).abs() <= 1.0, "{d}");
    assert_eq!(v["zones"][0]["zone"], "AF");
}
