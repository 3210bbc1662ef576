//! One zone as GeoJSON and back: the writer beside the loader ([`super::load`]), so a
//! zone recorded in the evidence log or shipped in a bundle is rebuilt bit for bit.

use super::Zone;
use super::load::{ZoneFileError, ZoneProblem, parse_geojson};

/// The zone as a GeoJSON FeatureCollection (RFC 7946) holding exactly one Feature: the
/// content of its `DatasetLoaded` leaf. Properties `name`, `floor_ft`, `ceiling_ft`,
/// `buffer_m` (docs/INTERFACES.md "Zones"), plus `kind`, `source` and `version` (provenance,
/// ignored by the zone loader). Coordinates are the stored `f64` values printed in their
/// shortest round-trip form, so [`zone_from_geojson`] (and `parse_geojson`) rebuild the
/// same geometry bit for bit, and with it the same geometry hash.
pub fn zone_geojson(zone: &Zone) -> Vec<u8> {
    let polygons: Vec<serde_json::Value> = zone
        .shape
        .0
        .iter()
        .map(|p| {
            serde_json::Value::Array(
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| {
                        serde_json::Value::Array(
                            r.0.iter().map(|c| serde_json::json!([c.x, c.y])).collect(),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let kind = serde_json::to_value(zone.kind).unwrap_or(serde_json::Value::Null);
    let doc = serde_json::json!({
        "type": "FeatureCollection",
        "features": [{
            "type": "Feature",
            "properties": {
                "name": zone.name,
                "floor_ft": zone.floor_ft,
                "ceiling_ft": zone.ceiling_ft,
                "buffer_m": zone.buffer_m,
                "kind": kind,
                "source": zone.provenance.source,
                "version": zone.provenance.version,
            },
            "geometry": {"type": "MultiPolygon", "coordinates": polygons},
        }],
    });
    // serde_json writes maps in key order (no `preserve_order`): the same zone always
    // gives the same bytes, so an unchanged zone is recognised at the next start.
    doc.to_string().into_bytes()
}

/// Rebuilds the zone recorded by a `DatasetLoaded` leaf's content ([`zone_geojson`]):
/// a FeatureCollection of exactly one Feature, or a bare Feature. The zone loader checks
/// it as it checks any zone file; `kind`, `source` and `version` come back from the
/// properties, so the result equals the zone that was recorded.
pub fn zone_from_geojson(content: &[u8]) -> Result<Zone, Box<ZoneFileError>> {
    let bad = |msg: String| {
        Box::new(ZoneFileError {
            file: "evidence leaf".into(),
            line: None,
            column: None,
            feature: None,
            problem: ZoneProblem::Schema(msg),
        })
    };
    let text = std::str::from_utf8(content).map_err(|e| bad(format!("not UTF-8: {e}")))?;
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let collection = match value.get("type").and_then(serde_json::Value::as_str) {
        Some("Feature") => serde_json::json!({"type": "FeatureCollection", "features": [value]}),
        _ => value,
    };
    let features = collection
        .get("features")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    if features != 1 {
        return Err(bad(format!(
            "holds {features} features, expected exactly one zone"
        )));
    }
    let props = collection["features"][0]["properties"].clone();
    let source = props
        .get("source")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("evidence leaf")
        .to_owned();
    let mut zone = parse_geojson(&source, &collection.to_string())
        .map_err(Box::new)?
        .pop()
        .ok_or_else(|| bad("holds no zone".into()))?;
    if let Some(kind) = props
        .get("kind")
        .and_then(|k| serde_json::from_value(k.clone()).ok())
    {
        zone.kind = kind;
    }
    zone.provenance.version = props
        .get("version")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    Ok(zone)
}
