//! One zone as GeoJSON and back: the writer beside the loader ([`super::load`]), so a
//! zone recorded in the evidence log or shipped in a bundle is rebuilt bit for bit.

use geo_types::{LineString, MultiPolygon};

use super::Zone;
use super::load::{ZoneFileError, ZoneProblem, parse_geojson};

/// A shape as a GeoJSON MultiPolygon geometry object (RFC 7946 §3.1.7): each polygon
/// its exterior ring then its holes, each position `[lon, lat]` as the stored `f64`
/// printed in its shortest round-trip form, so reading it back gives the same bits.
/// The one writer of zone geometry: the evidence leaf ([`zone_geojson`]), the bundle's
/// `track.geojson`, the simulator's `zones.geojson` and the live map (after its display
/// simplification) all write their shapes through it.
pub fn multipolygon_geometry(shape: &MultiPolygon<f64>) -> serde_json::Value {
    let ring = |r: &LineString<f64>| -> serde_json::Value {
        r.0.iter().map(|c| serde_json::json!([c.x, c.y])).collect()
    };
    let polygons: serde_json::Value = shape
        .0
        .iter()
        .map(|p| -> serde_json::Value {
            std::iter::once(p.exterior())
                .chain(p.interiors())
                .map(ring)
                .collect()
        })
        .collect();
    serde_json::json!({"type": "MultiPolygon", "coordinates": polygons})
}

/// The zone as one GeoJSON Feature: properties `name`, `floor_ft`, `ceiling_ft`,
/// `buffer_m` (docs/INTERFACES.md "Zones"), plus `kind`, `source` and `version`
/// (provenance, ignored by the zone loader), and its [`multipolygon_geometry`].
pub fn zone_feature(zone: &Zone) -> serde_json::Value {
    let kind = serde_json::to_value(zone.kind).unwrap_or(serde_json::Value::Null);
    serde_json::json!({
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
        "geometry": multipolygon_geometry(&zone.shape),
    })
}

/// The zone as a GeoJSON FeatureCollection (RFC 7946) holding exactly its
/// [`zone_feature`]: the content of its `DatasetLoaded` leaf. [`zone_from_geojson`] (and
/// `parse_geojson`) rebuild the same zone, geometry bit for bit, and with it the same
/// geometry hash.
pub fn zone_geojson(zone: &Zone) -> Vec<u8> {
    let doc = serde_json::json!({
        "type": "FeatureCollection",
        "features": [zone_feature(zone)],
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

#[cfg(test)]
mod tests {
    use geo_types::{Coord, LineString, MultiPolygon, Polygon};
    use proptest::prelude::*;

    use super::*;
    use crate::airspace::ZoneKind;
    use crate::airspace::load::finish_zone;

    /// A star-shaped ring around `(cx, cy)`: `n` corners at increasing angles (corner `k`
    /// within the `k`-th of `n` equal sectors, in its first 80 %), at radii between
    /// `r / 2` and `r`. Increasing angles around the centre make it simple; every gap
    /// between corners is under 0.72 π for `n >= 5`, so the ring holds the disc of radius
    /// `r / 2 · cos(0.36 π) > 0.2 r` around the centre.
    fn star(cx: f64, cy: f64, r: f64, corners: &[(f64, f64)]) -> LineString<f64> {
        let n = corners.len() as f64;
        let mut ring: Vec<Coord<f64>> = corners
            .iter()
            .enumerate()
            .map(|(k, &(u, v))| {
                let a = (k as f64 + 0.8 * u) / n * std::f64::consts::TAU;
                let rad = r * (0.5 + 0.5 * v);
                Coord {
                    x: cx + rad * a.cos(),
                    y: cy + rad * a.sin(),
                }
            })
            .collect();
        ring.push(ring[0]);
        LineString(ring)
    }

    fn corners() -> impl Strategy<Value = Vec<(f64, f64)>> {
        prop::collection::vec((0.0..1.0f64, 0.0..1.0f64), 5..12)
    }

    /// One polygon in the `slot`-th 100°-wide band of longitude: an exterior of radius
    /// up to 10° and up to two holes of radius up to 0.08 of it, 0.2 of it apart, inside
    /// the disc the exterior is sure to hold.
    fn polygon(slot: usize) -> impl Strategy<Value = Polygon<f64>> {
        (
            -10.0..10.0f64,
            -60.0..60.0f64,
            0.01..10.0f64,
            corners(),
            prop::collection::vec(corners(), 0..=2),
        )
            .prop_map(move |(dx, cy, r, outer, holes)| {
                let cx = -120.0 + 100.0 * slot as f64 + dx;
                let holes = holes
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        let side = if i == 0 { -0.1 } else { 0.1 };
                        star(cx + side * r, cy, 0.08 * r, c)
                    })
                    .collect();
                Polygon::new(star(cx, cy, r, &outer), holes)
            })
    }

    fn zone() -> impl Strategy<Value = Zone> {
        let shape = (1..=3usize).prop_flat_map(|n| {
            (0..n)
                .map(polygon)
                .collect::<Vec<_>>()
                .prop_map(MultiPolygon)
        });
        let limits = (
            prop::option::of(-2_000..60_000i32),
            prop::option::of(0..100_000i32),
        )
            .prop_map(|(f, c)| match (f, c) {
                (Some(f), Some(c)) if f > c => (Some(c), Some(f)),
                limits => limits,
            });
        let buffer = prop_oneof![Just(0.0), 0.0..1e6f64, any::<u32>().prop_map(f64::from)];
        let kind = prop_oneof![
            Just(ZoneKind::Country),
            Just(ZoneKind::Restricted),
            Just(ZoneKind::Custom),
        ];
        (
            "[A-Z][A-Za-z0-9 _./-]{0,15}",
            kind,
            shape,
            limits,
            buffer,
            "[a-z0-9_./-]{1,20}",
            prop::option::of("[0-9.]{1,8}"),
        )
            .prop_map(
                |(name, kind, shape, (floor, ceiling), buffer, source, version)| {
                    let mut z = finish_zone(name, kind, shape, floor, ceiling, buffer, &source)
                        .expect("the generated zone is valid");
                    z.provenance.version = version;
                    z
                },
            )
    }

    fn bits(shape: &MultiPolygon<f64>) -> Vec<Vec<Vec<(u64, u64)>>> {
        shape
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.0.iter().map(|c| (c.x.to_bits(), c.y.to_bits())).collect())
                    .collect()
            })
            .collect()
    }

    proptest! {
        /// A zone written by the one writer and read back by the loader is the same zone:
        /// name, kind, limits, buffer, provenance, and every coordinate bit for bit.
        #[test]
        fn zones_round_trip_through_geojson(z in zone()) {
            let back = zone_from_geojson(&zone_geojson(&z)).unwrap();
            prop_assert_eq!(bits(&back.shape), bits(&z.shape));
            prop_assert_eq!(back.buffer_m.to_bits(), z.buffer_m.to_bits());
            prop_assert_eq!(&back, &z);
            // The geometry hash is recomputed from the geometry read back.
            prop_assert_eq!(&back.provenance.sha256, &crate::airspace::zone::geometry_sha256(&z.shape));
        }
    }

    #[test]
    fn the_feature_is_the_collections_only_member() {
        let square = LineString::from(vec![(0.5, 0.5), (1.5, 0.5), (1.5, 1.25), (0.5, 0.5)]);
        let z = finish_zone(
            "Z".into(),
            ZoneKind::Restricted,
            MultiPolygon(vec![Polygon::new(square, vec![])]),
            Some(100),
            None,
            250.0,
            "z.geojson",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(zone_geojson(&z)).unwrap(),
            r#"{"features":[{"geometry":{"coordinates":[[[[0.5,0.5],[1.5,0.5],[1.5,1.25],[0.5,0.5]]]],"type":"MultiPolygon"},"properties":{"buffer_m":250.0,"ceiling_ft":null,"floor_ft":100,"kind":"restricted","name":"Z","source":"z.geojson","version":null},"type":"Feature"}],"type":"FeatureCollection"}"#
        );
        assert_eq!(
            multipolygon_geometry(&z.shape).to_string(),
            r#"{"coordinates":[[[[0.5,0.5],[1.5,0.5],[1.5,1.25],[0.5,0.5]]]],"type":"MultiPolygon"}"#
        );
    }
}
