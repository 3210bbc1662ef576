//! The zone readers on arbitrary text: GeoJSON (`parse_geojson`) and OpenAir
//! (`parse_openair`) never panic; a bad zone is an error naming the file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::airspace::load::parse_geojson;
use skyfence_core::airspace::openair::parse_openair;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = parse_geojson("fuzz.geojson", text) {
        assert!(e.to_string().contains("fuzz.geojson"), "{e}");
    }
    if let Err(e) = parse_openair("fuzz.txt", text) {
        assert!(e.to_string().contains("fuzz.txt"), "{e}");
    }
});
