//! The zone readers on arbitrary text: GeoJSON (`parse_geojson_with`) and OpenAir
//! (`parse_openair_with`), strict and lenient, never panic; every problem names the
//! file, and a lenient load that succeeds names the file in each skipped zone.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::airspace::load::parse_geojson_with;
use skyfence_core::airspace::openair::parse_openair_with;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for lenient in [false, true] {
        match parse_geojson_with("fuzz.geojson", text, lenient) {
            Err(e) => assert!(e.0.iter().all(|e| e.to_string().contains("fuzz.geojson")), "{e}"),
            Ok(l) => assert!(l.skipped.iter().all(|e| e.to_string().contains("fuzz.geojson"))),
        }
        match parse_openair_with("fuzz.txt", text, lenient) {
            Err(e) => assert!(e.0.iter().all(|e| e.to_string().contains("fuzz.txt")), "{e}"),
            Ok(l) => assert!(l.skipped.iter().all(|e| e.to_string().contains("fuzz.txt"))),
        }
    }
});
