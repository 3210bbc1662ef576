//! Rebuilds the built-in borders file from the npm package
//! `@geo-maps/countries-maritime-10m` (see `data/README.md`):
//!
//! ```text
//! cd /tmp && npm pack @geo-maps/countries-maritime-10m && tar xzf geo-maps-countries-maritime-10m-0.6.0.tgz
//! cargo run --release -p import-borders -- /tmp/package data/countries-maritime-10m.bin
//! ```
//!
//! Steps, per feature (one per country, property `A3` = ISO 3166-1 alpha-3):
//! 1. quantise every coordinate to 1e-5° and check that this is lossless (the source is
//!    written with five decimals);
//! 2. rebuild polygons from the rings by even-odd nesting: the source stores enclaves
//!    (San Marino in Italy, Büsingen in Switzerland, Baarle's enclaves) as extra outer
//!    rings nested inside the country's ring, meaning "even-odd fill"; a ring nested in
//!    an odd number of others becomes a hole of its innermost container, one nested in
//!    an even number an outer ring of its own;
//! 3. orient (exterior counter-clockwise, holes clockwise), validate with
//!    `skyfence_core::airspace::validate::validate_shape`, and check the antimeridian
//!    (every longitude within [-180, 180]);
//! 4. encode with `skyfence_core::airspace::builtin::encode_borders`, then decode the
//!    written file and compare with step 3 coordinate for coordinate.

use std::path::PathBuf;

use anyhow::{Context, bail, ensure};
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;
use skyfence_core::airspace::builtin::{
    BordersFile, QuantisedShape, UNITS_PER_DEGREE, encode_borders,
};
use skyfence_core::airspace::validate::{
    RingPosition, orient_rings, ring_position, twice_signed_area, validate_shape,
};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [package, out] = args.as_slice() else {
        bail!(
            "usage: import-borders PACKAGE_DIR OUT_FILE (PACKAGE_DIR holds package.json and map.geo.json)"
        );
    };
    let package = PathBuf::from(package);
    let meta: Value = serde_json::from_slice(
        &std::fs::read(package.join("package.json")).context("reading package.json")?,
    )
    .context("parsing package.json")?;
    let name = meta["name"].as_str().context("package.json has no name")?;
    let version = meta["version"]
        .as_str()
        .context("package.json has no version")?;
    ensure!(
        name == "@geo-maps/countries-maritime-10m",
        "package is {name}, expected @geo-maps/countries-maritime-10m"
    );
    let map: Value = serde_json::from_slice(
        &std::fs::read(package.join("map.geo.json")).context("reading map.geo.json")?,
    )
    .context("parsing map.geo.json")?;
    let features = map["features"].as_array().context("no features array")?;

    let mut countries: Vec<(String, QuantisedShape)> = Vec::new();
    let mut expected: Vec<(String, MultiPolygon<f64>)> = Vec::new();
    let (mut total_vertices, mut max_error) = (0usize, 0f64);
    for (i, feature) in features.iter().enumerate() {
        let code = feature["properties"]["A3"]
            .as_str()
            .with_context(|| format!("feature {i} has no A3 property"))?
            .to_owned();
        let rings = source_rings(&feature["geometry"], &mut max_error)
            .with_context(|| format!("feature {i} ({code})"))?;
        let mut shape = even_odd_polygons(rings);
        orient_rings(&mut shape);
        validate_shape(&shape).with_context(|| format!("{code} is not valid after import"))?;
        let quantised: QuantisedShape = shape
            .0
            .iter()
            .map(|p| {
                std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| r.0[..r.0.len() - 1].iter().map(|c| quantise(*c)).collect())
                    .collect()
            })
            .collect();
        let vertices: usize = quantised.iter().flatten().map(Vec::len).sum();
        total_vertices += vertices;
        let holes: usize = shape.0.iter().map(|p| p.interiors().len()).sum();
        eprintln!(
            "{code}: {} polygons, {holes} holes, {vertices} vertices",
            shape.0.len()
        );
        countries.push((code.clone(), quantised));
        expected.push((code, shape));
    }
    let bytes = encode_borders(name, version, &countries)?;
    // Decode what we wrote and compare exactly.
    let file = BordersFile::parse(&bytes)?;
    for (code, shape) in &expected {
        let entry = file
            .entry(code)
            .with_context(|| format!("{code} missing after encoding"))?;
        ensure!(file.decode(entry)? == *shape, "{code} does not round-trip");
    }
    std::fs::write(out, &bytes).with_context(|| format!("writing {out}"))?;
    eprintln!(
        "wrote {out}: {} countries, {total_vertices} vertices, {} bytes; max quantisation error {max_error:e} degrees",
        countries.len(),
        bytes.len()
    );
    Ok(())
}

fn quantise(c: Coord<f64>) -> (i32, i32) {
    let q = |v: f64| (v * f64::from(UNITS_PER_DEGREE)).round() as i32;
    (q(c.x), q(c.y))
}

/// All rings of a Polygon/MultiPolygon geometry, each closed, as `f64` values that are
/// exactly the quantised ones (the largest quantisation change is tracked).
fn source_rings(geometry: &Value, max_error: &mut f64) -> anyhow::Result<Vec<LineString<f64>>> {
    let polygons: Vec<&Value> = match geometry["type"].as_str() {
        Some("Polygon") => vec![&geometry["coordinates"]],
        Some("MultiPolygon") => geometry["coordinates"]
            .as_array()
            .context("bad coordinates")?
            .iter()
            .collect(),
        other => bail!("geometry type {other:?}, expected Polygon or MultiPolygon"),
    };
    let mut rings = Vec::new();
    for polygon in polygons {
        for ring in polygon.as_array().context("bad polygon")? {
            let mut pts = Vec::new();
            for p in ring.as_array().context("bad ring")? {
                let (x, y) = (
                    p[0].as_f64().context("bad longitude")?,
                    p[1].as_f64().context("bad latitude")?,
                );
                ensure!(
                    (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y),
                    "coordinate ({x}, {y}) out of range"
                );
                let (qx, qy) = quantise(Coord { x, y });
                let scale = f64::from(UNITS_PER_DEGREE);
                let c = Coord {
                    x: f64::from(qx) / scale,
                    y: f64::from(qy) / scale,
                };
                *max_error = max_error.max((c.x - x).abs()).max((c.y - y).abs());
                // Consecutive duplicates (after quantisation) add no edge; drop them.
                if pts.last() != Some(&c) {
                    pts.push(c);
                }
            }
            if pts.first() != pts.last()
                && let Some(&first) = pts.first()
            {
                pts.push(first);
            }
            rings.push(LineString(pts));
        }
    }
    Ok(rings)
}

/// Rebuilds polygons with holes from rings under the even-odd rule (module docs, step 2).
/// Rings do not cross (checked afterwards by validation), so one vertex decides nesting.
fn even_odd_polygons(rings: Vec<LineString<f64>>) -> MultiPolygon<f64> {
    let areas: Vec<f64> = rings.iter().map(|r| twice_signed_area(r).abs()).collect();
    let boxes: Vec<(f64, f64, f64, f64)> = rings.iter().map(bbox).collect();
    // containers[i]: rings that contain ring i.
    let containers: Vec<Vec<usize>> = (0..rings.len())
        .map(|i| {
            (0..rings.len())
                .filter(|&j| {
                    j != i
                        && areas[j] > areas[i]
                        && box_inside(boxes[i], boxes[j])
                        && inside(&rings[i], &rings[j])
                })
                .collect()
        })
        .collect();
    let depth: Vec<usize> = containers.iter().map(Vec::len).collect();
    let mut polygons: Vec<(usize, Polygon<f64>)> = Vec::new();
    let mut slot = vec![usize::MAX; rings.len()];
    for i in (0..rings.len()).filter(|&i| depth[i].is_multiple_of(2)) {
        slot[i] = polygons.len();
        polygons.push((i, Polygon::new(rings[i].clone(), vec![])));
    }
    for i in (0..rings.len()).filter(|&i| depth[i] % 2 == 1) {
        // The innermost container is the one nested deepest.
        if let Some(&parent) = containers[i].iter().max_by_key(|&&j| depth[j]) {
            polygons[slot[parent]].1.interiors_push(rings[i].clone());
        }
    }
    MultiPolygon(polygons.into_iter().map(|(_, p)| p).collect())
}

fn inside(inner: &LineString<f64>, outer: &LineString<f64>) -> bool {
    inner
        .0
        .iter()
        .map(|c| ring_position(&outer.0, *c))
        .find(|p| *p != RingPosition::Boundary)
        == Some(RingPosition::Inside)
}

fn bbox(r: &LineString<f64>) -> (f64, f64, f64, f64) {
    r.0.iter().fold(
        (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ),
        |(a, b, c, d), p| (a.min(p.x), b.min(p.y), c.max(p.x), d.max(p.y)),
    )
}

fn box_inside(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 >= b.0 && a.1 >= b.1 && a.2 <= b.2 && a.3 <= b.3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x: f64, y: f64, s: f64) -> LineString<f64> {
        LineString::from(vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s), (x, y)])
    }

    #[test]
    fn nested_rings_become_holes_and_islands() {
        // Country, an enclave of another country in it, and a counter-enclave in that
        // (Baarle-Nassau / Baarle-Hertog style), plus a separate island.
        let rings = vec![
            square(0.0, 0.0, 10.0),
            square(2.0, 2.0, 4.0),
            square(3.0, 3.0, 1.0),
            square(20.0, 0.0, 1.0),
        ];
        let shape = even_odd_polygons(rings);
        assert_eq!(shape.0.len(), 3);
        assert_eq!(shape.0[0].interiors().len(), 1);
        assert_eq!(shape.0[0].interiors()[0], square(2.0, 2.0, 4.0));
        assert_eq!(shape.0[1].exterior(), &square(3.0, 3.0, 1.0));
        assert_eq!(shape.0[2].exterior(), &square(20.0, 0.0, 1.0));
        assert_eq!(validate_shape(&shape), Ok(()));
    }
}
