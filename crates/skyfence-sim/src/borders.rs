//! Zones for scenarios: built-in countries, inline polygons, and `zones.geojson` output.

use geo_types::MultiPolygon;
use skyfence_core::airspace::builtin;
use skyfence_core::airspace::zone::geometry_sha256;
use skyfence_core::airspace::{Provenance, Zone, ZoneKind, multipolygon_geometry};

/// A built-in country's sovereign airspace (alpha-2 or alpha-3 code), or `None`.
pub fn country(code: &str) -> Option<Zone> {
    builtin::load_country(code).ok()
}

/// A custom zone from a shape, surface to unlimited, no buffer.
pub fn zone(name: String, shape: MultiPolygon<f64>, source: &str, version: Option<String>) -> Zone {
    Zone {
        name,
        kind: ZoneKind::Custom,
        provenance: Provenance {
            source: source.to_owned(),
            version,
            sha256: geometry_sha256(&shape),
        },
        shape,
        floor_ft: None,
        ceiling_ft: None,
        buffer_m: 0.0,
    }
}

/// The zones as a GeoJSON FeatureCollection with the docs/INTERFACES.md properties (`name`,
/// `floor_ft`, `ceiling_ft`, `buffer_m`), coordinates `[lon, lat]` written with Rust's
/// shortest round-trip float formatting, so loading the file gives the same `f64`s and
/// therefore the same geometry SHA-256.
pub fn to_geojson(zones: &[Zone]) -> String {
    let features: Vec<serde_json::Value> = zones
        .iter()
        .map(|z| {
            let mut props = serde_json::Map::new();
            props.insert("name".into(), z.name.clone().into());
            if let Some(f) = z.floor_ft {
                props.insert("floor_ft".into(), f.into());
            }
            if let Some(c) = z.ceiling_ft {
                props.insert("ceiling_ft".into(), c.into());
            }
            props.insert("buffer_m".into(), z.buffer_m.into());
            props.insert("source".into(), z.provenance.source.clone().into());
            if let Some(v) = &z.provenance.version {
                props.insert("source_version".into(), v.clone().into());
            }
            props.insert("sha256".into(), z.provenance.sha256.clone().into());
            serde_json::json!({
                "type": "Feature",
                "properties": props,
                "geometry": multipolygon_geometry(&z.shape),
            })
        })
        .collect();
    let fc = serde_json::json!({"type": "FeatureCollection", "features": features});
    let mut s = serde_json::to_string(&fc).unwrap_or_default();
    s.push('\n');
    s
}
