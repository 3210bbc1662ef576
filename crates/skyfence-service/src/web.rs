//! The live map at `GET /` ("Live map"; docs/INTERFACES.md, "HTTP API").
//!
//! Everything the page needs is compiled into the binary, because operations rooms are
//! often air-gapped: the page (`crates/skyfence/web/`), MapLibre GL (vendored unmodified
//! from npm, `web/vendor/`), the world borders (the built-in dataset, simplified for
//! display) and the watched zones. An optional raster tile URL (`[server] tiles`) adds a
//! basemap for those who have a tile server; without it the map draws the borders alone.
//!
//! Routes ([`pages`] at the root, [`api_routes`] nested under `/api`):
//!
//! | route | what |
//! |---|---|
//! | `GET /`, `/app.js`, `/app.css` | the page |
//! | `GET /vendor/maplibre-gl.{js,css}`, `/vendor/maplibre-gl.LICENSE.txt` | MapLibre GL |
//! | `GET /map/borders.geojson` | the built-in world borders, simplified (public data) |
//! | `GET /api/zones` | the watched zones as a GeoJSON FeatureCollection |
//! | `GET /api/map-config` | `{tiles, tiles_attribution, attribution}` for the page |
//!
//! The two `/api` routes sit under `/api` so the service's bearer-token check covers them.
//! Static files are served with `Cache-Control: no-cache` and an `ETag` (a hash of the
//! bytes), so a browser revalidates cheaply and never keeps a page from an older binary.

use std::sync::OnceLock;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::json;
use skyfence_core::airspace::{Zone, builtin, multipolygon_geometry};

/// One embedded file: its bytes and content type.
struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
}

/// The embedded page and vendored library, by URL path.
const ASSETS: &[(&str, Asset)] = &[
    (
        "/",
        Asset {
            bytes: include_bytes!("../web/index.html"),
            content_type: "text/html; charset=utf-8",
        },
    ),
    (
        "/app.js",
        Asset {
            bytes: include_bytes!("../web/app.js"),
            content_type: "text/javascript; charset=utf-8",
        },
    ),
    (
        "/app.css",
        Asset {
            bytes: include_bytes!("../web/app.css"),
            content_type: "text/css; charset=utf-8",
        },
    ),
    (
        "/vendor/maplibre-gl.js",
        Asset {
            bytes: include_bytes!("../web/vendor/maplibre-gl.js"),
            content_type: "text/javascript; charset=utf-8",
        },
    ),
    (
        "/vendor/maplibre-gl.css",
        Asset {
            bytes: include_bytes!("../web/vendor/maplibre-gl.css"),
            content_type: "text/css; charset=utf-8",
        },
    ),
    (
        "/vendor/maplibre-gl.LICENSE.txt",
        Asset {
            bytes: include_bytes!("../web/vendor/maplibre-gl.LICENSE.txt"),
            content_type: "text/plain; charset=utf-8",
        },
    ),
];

/// Douglas–Peucker tolerance for the world borders, degrees (about 2 km): the borders are
/// a backdrop at world and region scale (about 1 MB of GeoJSON); the watched zones are
/// drawn in full detail.
const BORDERS_TOLERANCE_DEG: f64 = 0.02;
/// Tolerance for the watched zones, degrees (about 10 m, below a screen pixel at the
/// zoom levels at which a whole zone is in view).
const ZONES_TOLERANCE_DEG: f64 = 0.0001;

/// What the page needs from the service's configuration (`[server] tiles`).
#[derive(Clone, Debug, Default)]
pub struct MapOptions {
    /// A raster tile URL template (`{z}/{x}/{y}`); `None` draws the built-in borders on
    /// a plain background.
    pub tiles: Option<String>,
    /// Attribution the tile provider requires, shown on the map.
    pub tiles_attribution: Option<String>,
}

/// The map's data, serialised once at start: the watched zones and the page's settings.
/// Cheap to clone (shared bytes).
#[derive(Clone, Debug)]
pub struct MapData {
    zones: Bytes,
    config: Bytes,
}

impl MapData {
    /// Serialises `zones` (simplified for display) and `options`.
    pub fn new(zones: &[Zone], options: MapOptions) -> MapData {
        MapData {
            zones: Bytes::from(zones_geojson(zones).to_string()),
            config: Bytes::from(
                json!({
                    "tiles": options.tiles,
                    "tiles_attribution": options.tiles_attribution,
                    "attribution": builtin::ATTRIBUTION,
                })
                .to_string(),
            ),
        }
    }
}

/// The page, MapLibre and the world borders: public routes, to merge at the root of the
/// service's router (any state type: none of these handlers reads it).
pub fn pages<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let mut router = Router::new();
    for (path, asset) in ASSETS {
        router = router.route(
            path,
            get(move |headers: HeaderMap| async move {
                cached(&headers, asset.bytes, asset.content_type)
            }),
        );
    }
    router.route("/map/borders.geojson", get(borders_handler))
}

/// `/zones` and `/map-config`, to merge into the router nested at `/api` before its
/// bearer-token layer, so the token covers them like every other `/api` route.
pub fn api_routes<S>(map: MapData) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let MapData { zones, config } = map;
    Router::new()
        .route(
            "/zones",
            get(move || {
                let body = zones.clone();
                async move { json_response(body) }
            }),
        )
        .route(
            "/map-config",
            get(move || {
                let body = config.clone();
                async move { json_response(body) }
            }),
        )
}

fn json_response(body: Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// Serves embedded bytes with a validator, answering `304 Not Modified` to a matching
/// `If-None-Match` (RFC 9110 §13.1.2).
fn cached(request: &HeaderMap, bytes: &'static [u8], content_type: &'static str) -> Response {
    let tag = etag(bytes);
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let builder = Response::builder()
        .header(header::ETAG, &tag)
        .header(header::CACHE_CONTROL, "no-cache");
    if matches {
        return builder
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default();
    }
    builder
        .header(header::CONTENT_TYPE, HeaderValue::from_static(content_type))
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Body::from(bytes))
        .unwrap_or_default()
}

/// A strong entity tag: 64-bit FNV-1a of the bytes and their length, quoted (RFC 9110
/// §8.8.3). A cache validator, not a security property, so a fast non-cryptographic hash
/// is enough.
fn etag(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("\"{h:016x}-{:x}\"", bytes.len())
}

/// The world borders GeoJSON, built once on first request (decoding and simplifying the
/// whole dataset takes a moment, so it runs off the async workers).
async fn borders_handler(headers: HeaderMap) -> Response {
    static BORDERS: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    let built = match BORDERS.get() {
        Some(b) => b,
        None => {
            let made = tokio::task::spawn_blocking(borders_geojson)
                .await
                .map_err(|e| format!("borders task failed: {e}"))
                .and_then(|r| r);
            BORDERS.get_or_init(|| made)
        }
    };
    match built {
        Ok(bytes) => cached(&headers, bytes, "application/geo+json"),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.clone()).into_response(),
    }
}

/// Every built-in country as a simplified GeoJSON feature (`properties.code` = alpha-2).
fn borders_geojson() -> Result<Vec<u8>, String> {
    let file = builtin::borders().map_err(|e| format!("built-in borders: {e}"))?;
    let mut features = Vec::with_capacity(file.entries.len());
    for entry in &file.entries {
        let shape = file
            .decode(entry)
            .map_err(|e| format!("built-in borders, {}: {e}", entry.country.alpha3))?;
        if let Some(geometry) = multipolygon_json(&shape, BORDERS_TOLERANCE_DEG, 3) {
            features.push(json!({
                "type": "Feature",
                "properties": {"code": entry.country.alpha2, "name": entry.country.name},
                "geometry": geometry,
            }));
        }
    }
    serde_json::to_vec(&json!({"type": "FeatureCollection", "features": features}))
        .map_err(|e| format!("borders json: {e}"))
}

/// The watched zones as a GeoJSON FeatureCollection (RFC 7946), with the zone's name,
/// kind and vertical limits as properties.
pub fn zones_geojson(zones: &[Zone]) -> serde_json::Value {
    let features: Vec<_> = zones
        .iter()
        .filter_map(|z| {
            let geometry = multipolygon_json(&z.shape, ZONES_TOLERANCE_DEG, 5)?;
            Some(json!({
                "type": "Feature",
                "properties": {
                    "name": z.name,
                    "kind": z.kind,
                    "floor_ft": z.floor_ft,
                    "ceiling_ft": z.ceiling_ft,
                    "buffer_m": z.buffer_m,
                },
                "geometry": geometry,
            }))
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

/// A MultiPolygon geometry with each ring simplified and rounded to `decimals`; rings
/// that collapse are dropped (a polygon whose exterior collapses goes with its holes).
/// `None` when nothing is left. The simplified shape is written by the one zone
/// geometry writer, [`multipolygon_geometry`].
fn multipolygon_json(
    shape: &MultiPolygon<f64>,
    tolerance: f64,
    decimals: i32,
) -> Option<serde_json::Value> {
    let scale = 10f64.powi(decimals);
    let round = |v: f64| (v * scale).round() / scale;
    let simplified = |ring: &LineString<f64>| -> Option<LineString<f64>> {
        let pts: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
        let kept = simplify_ring(&pts, tolerance);
        (kept.len() >= 4).then(|| {
            kept.iter()
                .map(|p| Coord {
                    x: round(p[0]),
                    y: round(p[1]),
                })
                .collect()
        })
    };
    let polygons: Vec<Polygon<f64>> = shape
        .0
        .iter()
        .filter_map(|poly| {
            let exterior = simplified(poly.exterior())?;
            let holes = poly.interiors().iter().filter_map(simplified).collect();
            Some(Polygon::new(exterior, holes))
        })
        .collect();
    (!polygons.is_empty()).then(|| multipolygon_geometry(&MultiPolygon(polygons)))
}

/// Douglas–Peucker simplification of a ring (closed or not), returned closed; empty when
/// fewer than three distinct corners survive. Written here rather than taking the `geo`
/// crate into the binary for this one display-only function. Iterative, so a ring of any
/// length cannot overflow the stack.
fn simplify_ring(points: &[[f64; 2]], tolerance: f64) -> Vec<[f64; 2]> {
    let mut pts = points;
    if pts.len() > 1 && pts.first() == pts.last() {
        pts = &pts[..pts.len() - 1];
    }
    if pts.len() < 3 {
        return Vec::new();
    }
    // Split the ring at its first point and the point farthest from it, so each half is
    // an open polyline with distinct ends; index `pts.len()` stands for the first point
    // again (the closing point).
    let far = (1..pts.len())
        .max_by(|&a, &b| dist2(pts[0], pts[a]).total_cmp(&dist2(pts[0], pts[b])))
        .unwrap_or(1);
    let mut keep = vec![false; pts.len() + 1];
    keep[0] = true;
    keep[far] = true;
    keep[pts.len()] = true;
    let at = |i: usize| pts[i % pts.len()];
    let mut stack = vec![(0, far), (far, pts.len())];
    let tol2 = tolerance * tolerance;
    while let Some((a, b)) = stack.pop() {
        let mut best = (0.0, 0);
        for i in a + 1..b {
            let d = seg_dist2(at(i), at(a), at(b));
            if d > best.0 {
                best = (d, i);
            }
        }
        if best.0 > tol2 {
            keep[best.1] = true;
            stack.push((a, best.1));
            stack.push((best.1, b));
        }
    }
    let out: Vec<[f64; 2]> = (0..=pts.len()).filter(|&i| keep[i]).map(at).collect();
    if out.len() < 4 { Vec::new() } else { out }
}

fn dist2(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)
}

/// Squared distance from `p` to the segment `a`–`b` (planar, in degrees: display only).
fn seg_dist2(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let len2 = dx * dx + dy * dy;
    if len2 == 0.0 {
        return dist2(p, a);
    }
    let t = (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2).clamp(0.0, 1.0);
    dist2(p, [a[0] + t * dx, a[1] + t * dy])
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;
    use skyfence_core::airspace::{Provenance, ZoneKind};

    #[test]
    fn simplify_drops_collinear_points_and_keeps_corners() {
        // A 1°×1° square with a point in the middle of each side and one 0.001° bump.
        let ring = [
            [0.0, 0.0],
            [0.5, 0.0],
            [1.0, 0.0],
            [1.0, 0.5],
            [1.0, 1.0],
            [0.5, 1.001],
            [0.0, 1.0],
            [0.0, 0.5],
            [0.0, 0.0],
        ];
        let out = simplify_ring(&ring, 0.01);
        assert_eq!(
            out,
            vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [0.0, 0.0]]
        );
        // Below the bump's size, the bump stays.
        let fine = simplify_ring(&ring, 0.0001);
        assert!(fine.contains(&[0.5, 1.001]), "{fine:?}");
        // Degenerate rings collapse.
        assert!(simplify_ring(&[[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]], 0.1).is_empty());
        assert!(simplify_ring(&[[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 0.0]], 0.1).is_empty());
    }

    proptest::proptest! {
        /// Douglas–Peucker's guarantee: the simplified ring is a closed subsequence of the
        /// input starting at its first point, and every input point lies within the
        /// tolerance of it.
        #[test]
        fn simplified_ring_stays_within_tolerance(
            pts in proptest::collection::vec((-5.0f64..5.0, -5.0f64..5.0), 3..60),
            tolerance in 0.0f64..1.0,
        ) {
            let ring: Vec<[f64; 2]> = pts.iter().map(|&(x, y)| [x, y]).collect();
            let out = simplify_ring(&ring, tolerance);
            if out.is_empty() {
                return Ok(());
            }
            proptest::prop_assert!(out.len() >= 4);
            proptest::prop_assert_eq!(out[0], ring[0]);
            proptest::prop_assert_eq!(out[0], out[out.len() - 1]);
            let mut rest = ring.iter();
            for p in &out[..out.len() - 1] {
                proptest::prop_assert!(rest.any(|q| q == p), "{:?} out of order", p);
            }
            for p in &ring {
                let d = out
                    .windows(2)
                    .map(|w| seg_dist2(*p, w[0], w[1]))
                    .fold(f64::INFINITY, f64::min);
                proptest::prop_assert!(d.sqrt() <= tolerance + 1e-9, "{:?} is {} away", p, d.sqrt());
            }
        }
    }

    fn zone(name: &str, shape: Polygon<f64>) -> Zone {
        Zone {
            name: name.into(),
            kind: ZoneKind::Restricted,
            shape: MultiPolygon(vec![shape]),
            floor_ft: Some(1000),
            ceiling_ft: None,
            buffer_m: 5000.0,
            provenance: Provenance {
                source: "test".into(),
                version: None,
                sha256: String::new(),
            },
        }
    }

    #[test]
    fn zones_become_a_feature_collection_with_limits() {
        let square = polygon![
            (x: 69.5, y: 33.0),
            (x: 70.0, y: 33.0),
            (x: 70.0, y: 33.5),
            (x: 69.5, y: 33.5),
            (x: 69.5, y: 33.0)
        ];
        let v = zones_geojson(&[zone("HELD-A", square)]);
        assert_eq!(v["type"], "FeatureCollection");
        let f = &v["features"][0];
        assert_eq!(f["properties"]["name"], "HELD-A");
        assert_eq!(f["properties"]["kind"], "restricted");
        assert_eq!(f["properties"]["floor_ft"], 1000);
        assert!(f["properties"]["ceiling_ft"].is_null());
        assert_eq!(f["geometry"]["type"], "MultiPolygon");
        assert_eq!(
            f["geometry"]["coordinates"][0][0],
            json!([
                [69.5, 33.0],
                [70.0, 33.0],
                [70.0, 33.5],
                [69.5, 33.5],
                [69.5, 33.0]
            ])
        );
    }

    #[test]
    fn built_in_borders_simplify_to_a_small_world_map() {
        let bytes = borders_geojson().expect("built-in borders");
        let v: serde_json::Value = serde_json::from_slice(&bytes).expect("valid json");
        let features = v["features"].as_array().expect("features");
        assert!(features.len() > 200, "{} countries", features.len());
        assert!(features.iter().any(|f| f["properties"]["code"] == "PK"));
        // Small enough to load quickly on an operations-room network (about 1 MB).
        assert!(bytes.len() < 2_000_000, "{} bytes", bytes.len());
    }

    #[test]
    fn assets_have_types_and_revalidate() {
        let (_, page) = ASSETS.iter().find(|(p, _)| *p == "/").expect("index");
        assert_eq!(page.content_type, "text/html; charset=utf-8");
        assert!(
            std::str::from_utf8(page.bytes).is_ok_and(|s| s.contains("/vendor/maplibre-gl.js"))
        );
        let res = cached(&HeaderMap::new(), page.bytes, page.content_type);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[header::CONTENT_TYPE], page.content_type);
        let tag = res.headers()[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, tag);
        assert_eq!(
            cached(&again, page.bytes, page.content_type).status(),
            StatusCode::NOT_MODIFIED
        );
        // FNV-1a's offset basis for empty input (FNV spec, draft-eastlake-fnv).
        assert_eq!(etag(b""), "\"cbf29ce484222325-0\"");
    }

    #[test]
    fn map_config_carries_tiles_and_attribution() {
        let map = MapData::new(
            &[],
            MapOptions {
                tiles: Some("http://tiles.local/{z}/{x}/{y}.png".into()),
                tiles_attribution: None,
            },
        );
        let v: serde_json::Value = serde_json::from_slice(&map.config).expect("json");
        assert_eq!(v["tiles"], "http://tiles.local/{z}/{x}/{y}.png");
        assert_eq!(v["attribution"], builtin::ATTRIBUTION);
        let z: serde_json::Value = serde_json::from_slice(&map.zones).expect("json");
        assert_eq!(z, json!({"type": "FeatureCollection", "features": []}));
    }
}
