//! Zone files: the GeoJSON loader (docs/INTERFACES.md, "Zones"), the error every loader
//! reports, and [`load_zone_file`], which picks GeoJSON or OpenAir for a path.
//!
//! Every zone is validated when it is loaded ([`super::validate`]): a bad zone file is
//! rejected as a whole with an error naming the file, the line, the feature (index and
//! name) and what is wrong, because a silently skipped zone is an unguarded area.

// Loading is a cold path, run once per file; a rich, unboxed error is worth its size.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;
use serde_json::value::RawValue;

use super::validate::{GeometryError, orient_rings, validate_shape};
use super::zone::{Provenance, Zone, ZoneKind, geometry_sha256};

/// Which feature of a file an error is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeatureRef {
    /// Position in the file, 0-based (GeoJSON: index in `features`; OpenAir: the n-th
    /// `AC` block).
    pub index: usize,
    /// The feature's name, when it has one.
    pub name: Option<String>,
}

/// What is wrong with a zone file.
#[derive(Debug, thiserror::Error)]
pub enum ZoneProblem {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// Valid JSON, but not a FeatureCollection, or a feature with a missing or
    /// ill-typed member or property.
    #[error("{0}")]
    Schema(String),
    /// An OpenAir record that cannot be read.
    #[error("{0}")]
    OpenAir(String),
    /// The geometry breaks a validity rule.
    #[error(transparent)]
    Geometry(#[from] GeometryError),
    /// The floor is above the ceiling.
    #[error("floor {floor_ft} ft is above ceiling {ceiling_ft} ft")]
    FloorAboveCeiling {
        /// Floor, feet.
        floor_ft: i32,
        /// Ceiling, feet.
        ceiling_ft: i32,
    },
    /// Two zones with one name: incidents name their zone, so names must be unique.
    #[error("duplicate zone name {:?}, already used by {first}", Excerpt(name))]
    DuplicateName {
        /// The repeated name.
        name: String,
        /// Where the first zone of that name came from.
        first: String,
    },
    /// The file holds no zone at all.
    #[error("no zones in the file, expected at least one")]
    NoZones,
}

/// The longest piece of input text an error message quotes, in characters.
pub const EXCERPT_CHARS: usize = 60;

/// Input text quoted in an error message, bounded: its `Debug` form is the text's first
/// [`EXCERPT_CHARS`] characters, quoted, then `…(N bytes)` when the text was longer, so a
/// 100 MB line gives a one-line message.
#[derive(Clone, Copy)]
pub struct Excerpt<'a>(pub &'a str);

impl fmt::Debug for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(EXCERPT_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((end, _)) => write!(f, "{:?}…({} bytes)", &self.0[..end], self.0.len()),
        }
    }
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(EXCERPT_CHARS) {
            None => f.write_str(self.0),
            Some((end, _)) => write!(f, "{}…({} bytes)", &self.0[..end], self.0.len()),
        }
    }
}

/// The longest problem text [`ZoneFileError`] displays, in characters: a backstop for
/// messages of other libraries (a JSON error quoting a huge string).
const MAX_PROBLEM_CHARS: usize = 400;

/// A zone file that cannot be loaded: names the file, the line (and column) and the
/// feature where there is one. Displays as
/// `FILE:LINE[:COLUMN]: feature INDEX "NAME": PROBLEM`.
#[derive(Debug)]
pub struct ZoneFileError {
    /// The file (as given by the user) or source name.
    pub file: String,
    /// 1-based line: of the JSON syntax error, of the start of the GeoJSON feature, or
    /// of the OpenAir record.
    pub line: Option<usize>,
    /// 1-based column, for JSON syntax errors.
    pub column: Option<usize>,
    /// The feature concerned.
    pub feature: Option<FeatureRef>,
    /// What is wrong.
    pub problem: ZoneProblem,
}

impl fmt::Display for ZoneFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if let Some(feature) = &self.feature {
            write!(f, "feature {}", feature.index)?;
            if let Some(name) = &feature.name {
                write!(f, " {:?}", Excerpt(name))?;
            }
            f.write_str(": ")?;
        }
        let problem = self.problem.to_string();
        match problem.char_indices().nth(MAX_PROBLEM_CHARS) {
            None => f.write_str(&problem),
            Some((end, _)) => write!(f, "{}…({} bytes)", &problem[..end], problem.len()),
        }
    }
}

impl std::error::Error for ZoneFileError {}

/// Every problem of a zone file that was refused (at least one), in file order.
#[derive(Debug)]
pub struct ZoneFileErrors(pub Vec<ZoneFileError>);

impl ZoneFileErrors {
    /// The first problem (what a strict loader that stops at the first one reports).
    pub fn into_first(self) -> ZoneFileError {
        self.0
            .into_iter()
            .next()
            .unwrap_or_else(|| ZoneFileError::new("", ZoneProblem::NoZones))
    }
}

impl fmt::Display for ZoneFileErrors {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ZoneFileErrors {}

/// A zone file as loaded: its zones, what was read with a warning (in both modes), and,
/// in lenient mode, the zones or records skipped (each with its problem).
#[derive(Debug, Default)]
pub struct LoadedZones {
    /// The zones.
    pub zones: Vec<Zone>,
    /// Quirks read safely: a Latin-1 file, a repeated name numbered, an AGL ceiling
    /// loaded as unknown (unlimited).
    pub warnings: Vec<ZoneFileError>,
    /// Lenient mode: what was skipped and why.
    pub skipped: Vec<ZoneFileError>,
}

/// The end of every loader: strict refuses the file when anything is wrong (with every
/// problem); lenient keeps the good zones and lists the skipped ones. No zone at all is
/// always an error.
pub(crate) fn conclude(
    file: &str,
    zones: Vec<Zone>,
    mut problems: Vec<ZoneFileError>,
    notes: Vec<ZoneFileError>,
    lenient: bool,
) -> Result<LoadedZones, ZoneFileErrors> {
    if zones.is_empty() {
        problems.push(ZoneFileError::new(file, ZoneProblem::NoZones));
        return Err(ZoneFileErrors(problems));
    }
    if !lenient && !problems.is_empty() {
        return Err(ZoneFileErrors(problems));
    }
    Ok(LoadedZones {
        zones,
        warnings: notes,
        skipped: problems,
    })
}

impl ZoneFileError {
    pub(crate) fn new(file: &str, problem: ZoneProblem) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            column: None,
            feature: None,
            problem,
        }
    }
}

/// Reads a zone file, choosing the format by extension (`.geojson`, `.json` → GeoJSON;
/// `.txt`, `.air`, `.openair` → OpenAir) or, for any other name, by content (a file
/// whose first non-blank character is `{` is GeoJSON).
pub fn load_zone_file(path: &Path) -> Result<Vec<Zone>, ZoneFileError> {
    load_zone_file_with(path, false)
        .map(|l| l.zones)
        .map_err(ZoneFileErrors::into_first)
}

/// Reads a zone file as [`load_zone_file`] does, reporting every problem rather than the
/// first; `lenient` skips bad zones (each reported) and loads the rest (OpenAir: repeated
/// names numbered, AGL ceilings loaded as unknown). An OpenAir file that is not UTF-8 is
/// read as Latin-1 (ISO 8859-1, what older files use), with a warning.
pub fn load_zone_file_with(path: &Path, lenient: bool) -> Result<LoadedZones, ZoneFileErrors> {
    let file = path.display().to_string();
    let one = |problem| ZoneFileErrors(vec![ZoneFileError::new(&file, problem)]);
    let bytes = read_bounded(path, MAX_ZONE_FILE_BYTES).map_err(|e| one(ZoneProblem::Io(e)))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let (text, latin1) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            let json = matches!(ext.as_deref(), Some("geojson" | "json"))
                || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
            if json {
                return Err(one(ZoneProblem::Schema(format!(
                    "not UTF-8 text (invalid byte at offset {offset}), expected a GeoJSON file in UTF-8"
                ))));
            }
            // Every byte is a Latin-1 character: U+0000 to U+00FF.
            let text: String = bytes.iter().map(|&b| char::from(b)).collect();
            (text, Some(offset))
        }
    };
    let geojson = match ext.as_deref() {
        Some("geojson" | "json") => true,
        Some("txt" | "air" | "openair") => false,
        _ => text.trim_start().starts_with('{'),
    };
    let mut loaded = if geojson {
        parse_geojson_with(&file, &text, lenient)?
    } else {
        super::openair::parse_openair_with(&file, &text, lenient)?
    };
    if let Some(offset) = latin1 {
        let line = 1 + text[..text
            .char_indices()
            .nth(offset)
            .map_or(text.len(), |(i, _)| i)]
            .matches('\n')
            .count();
        let mut w = ZoneFileError::new(
            &file,
            ZoneProblem::OpenAir(format!(
                "not UTF-8 (first invalid byte at offset {offset}): read as Latin-1 (ISO 8859-1)"
            )),
        );
        w.line = Some(line);
        loaded.warnings.insert(0, w);
    }
    Ok(loaded)
}

/// The largest zone file read (a national border in GeoJSON is a few MB).
pub const MAX_ZONE_FILE_BYTES: u64 = 256 << 20;

/// Reads a regular file of at most `limit` bytes: a device (`/dev/zero`), a FIFO or a
/// directory is refused rather than read until memory runs out, and so is a larger file
/// (also one that grows while read).
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a device, pipe or directory)",
        ));
    }
    if meta.len() > limit {
        return Err(std::io::Error::other(format!(
            "{} bytes, larger than the limit of {limit}",
            meta.len()
        )));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!(
            "larger than the limit of {limit} bytes"
        )));
    }
    Ok(bytes)
}

/// Checks that no zone name repeats across `zones` (several files and countries loaded
/// together), naming both sources when one does.
pub fn check_unique_names(zones: &[Zone]) -> Result<(), ZoneFileError> {
    let mut seen: HashMap<&str, &Zone> = HashMap::new();
    for zone in zones {
        if let Some(first) = seen.insert(&zone.name, zone) {
            return Err(ZoneFileError::new(
                &zone.provenance.source,
                ZoneProblem::DuplicateName {
                    name: zone.name.clone(),
                    first: first.provenance.source.clone(),
                },
            ));
        }
    }
    Ok(())
}

/// Validates a freshly built shape, normalises its orientation and wraps it in a zone
/// with provenance `source` (floor/ceiling checked here too): the last step of every
/// loader.
pub(crate) fn finish_zone(
    name: String,
    kind: ZoneKind,
    mut shape: MultiPolygon<f64>,
    floor_ft: Option<i32>,
    ceiling_ft: Option<i32>,
    buffer_m: f64,
    source: &str,
) -> Result<Zone, ZoneProblem> {
    if let (Some(floor_ft), Some(ceiling_ft)) = (floor_ft, ceiling_ft)
        && floor_ft > ceiling_ft
    {
        return Err(ZoneProblem::FloorAboveCeiling {
            floor_ft,
            ceiling_ft,
        });
    }
    validate_shape(&shape)?;
    orient_rings(&mut shape);
    let sha256 = geometry_sha256(&shape);
    Ok(Zone {
        name,
        kind,
        shape,
        floor_ft,
        ceiling_ft,
        buffer_m,
        provenance: Provenance {
            source: source.to_owned(),
            version: None,
            sha256,
        },
    })
}

#[derive(serde::Deserialize)]
struct FeatureCollection<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow)]
    features: Option<Vec<&'a RawValue>>,
}

/// Parses a GeoJSON FeatureCollection (RFC 7946) of zones; `file` names the source in
/// errors and provenance.
///
/// Each `Polygon` or `MultiPolygon` feature is one zone of kind [`ZoneKind::Custom`];
/// properties `name` (required, unique, non-empty string), `floor_ft` and `ceiling_ft`
/// (whole feet, absent or `null` = surface / unlimited), `buffer_m` (metres ≥ 0, default
/// 0). A third coordinate (altitude) in positions is allowed and ignored.
pub fn parse_geojson(file: &str, text: &str) -> Result<Vec<Zone>, ZoneFileError> {
    parse_geojson_with(file, text, false)
        .map(|l| l.zones)
        .map_err(ZoneFileErrors::into_first)
}

/// Parses a GeoJSON FeatureCollection as [`parse_geojson`] does, reporting every bad
/// feature; `lenient` skips them (each reported) and loads the rest.
pub fn parse_geojson_with(
    file: &str,
    text: &str,
    lenient: bool,
) -> Result<LoadedZones, ZoneFileErrors> {
    let one = |e: ZoneFileError| ZoneFileErrors(vec![e]);
    let collection: FeatureCollection<'_> = serde_json::from_str(text).map_err(|e| {
        let mut err = ZoneFileError::new(file, ZoneProblem::Json(strip_position(&e)));
        err.line = Some(e.line()).filter(|l| *l > 0);
        err.column = Some(e.column()).filter(|_| e.line() > 0);
        one(err)
    })?;
    let schema = |msg: String| ZoneFileError::new(file, ZoneProblem::Schema(msg));
    match collection.kind.as_deref() {
        Some("FeatureCollection") => {}
        Some(other) => {
            return Err(one(schema(format!(
                "GeoJSON type is {:?}, expected \"FeatureCollection\"",
                Excerpt(other)
            ))));
        }
        None => {
            return Err(one(schema(
                "no \"type\" member, expected a GeoJSON FeatureCollection".into(),
            )));
        }
    }
    let features = collection.features.ok_or_else(|| {
        one(schema(
            "no \"features\" array in the FeatureCollection".into(),
        ))
    })?;
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let mut zones = Vec::with_capacity(features.len());
    let mut names: HashMap<String, usize> = HashMap::new();
    for (index, raw) in features.iter().enumerate() {
        let line = line_of(text, raw.get());
        let mut feature_ref = FeatureRef { index, name: None };
        let at = |feature_ref: &FeatureRef, problem: ZoneProblem| ZoneFileError {
            file: file.to_owned(),
            line: Some(line),
            column: None,
            feature: Some(feature_ref.clone()),
            problem,
        };
        let value: Value = match serde_json::from_str(raw.get()) {
            Ok(v) => v,
            Err(e) => {
                problems.push(at(&feature_ref, ZoneProblem::Json(strip_position(&e))));
                continue;
            }
        };
        let mut zone = match parse_feature(&value, &mut feature_ref, file) {
            Ok(z) => z,
            Err(p) => {
                problems.push(at(&feature_ref, p));
                continue;
            }
        };
        if let Some(&first) = names.get(&zone.name) {
            let duplicate = ZoneProblem::DuplicateName {
                name: zone.name.clone(),
                first: format!("feature {first}"),
            };
            if !lenient {
                problems.push(at(&feature_ref, duplicate));
                continue;
            }
            // Lenient: numbered among the loaded zones, as OpenAir names are.
            let mut n = 2;
            while names.contains_key(&format!("{} ({n})", zone.name)) {
                n += 1;
            }
            let renamed = format!("{} ({n})", zone.name);
            notes.push(at(
                &feature_ref,
                ZoneProblem::Schema(format!("{duplicate}: loaded as {:?}", Excerpt(&renamed))),
            ));
            zone.name = renamed;
        }
        names.insert(zone.name.clone(), index);
        zones.push(zone);
    }
    conclude(file, zones, problems, notes, lenient)
}

/// serde_json appends " at line L column C" to its messages; we report those separately.
fn strip_position(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    match msg.rfind(" at line ") {
        Some(i) if e.line() > 0 => msg[..i].to_owned(),
        _ => msg,
    }
}

/// 1-based line on which `part` (a sub-slice of `text`) starts.
fn line_of(text: &str, part: &str) -> usize {
    // Pointer arithmetic on addresses only (no dereference): `part` borrows from `text`.
    let offset = (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let offset = offset.min(text.len());
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn parse_feature(
    value: &Value,
    feature_ref: &mut FeatureRef,
    file: &str,
) -> Result<Zone, ZoneProblem> {
    let schema = |msg: String| ZoneProblem::Schema(msg);
    let obj = value.as_object().ok_or_else(|| {
        schema(format!(
            "is {}, expected a GeoJSON Feature object",
            kind_of(value)
        ))
    })?;
    let props = match obj.get("properties") {
        Some(Value::Object(p)) => Some(p),
        None | Some(Value::Null) => None,
        Some(other) => {
            return Err(schema(format!(
                "\"properties\" is {}, expected an object",
                kind_of(other)
            )));
        }
    };
    let name = match props.and_then(|p| p.get("name")) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => {
            return Err(schema(
                "property \"name\" is empty, expected a zone name".into(),
            ));
        }
        None | Some(Value::Null) => {
            return Err(schema(
                "no \"name\" property, expected a unique zone name".into(),
            ));
        }
        Some(other) => {
            return Err(schema(format!(
                "property \"name\" is {}, expected a string",
                kind_of(other)
            )));
        }
    };
    feature_ref.name = Some(name.clone());
    match obj.get("type") {
        Some(Value::String(t)) if t == "Feature" => {}
        Some(other) => {
            return Err(schema(format!("\"type\" is {other}, expected \"Feature\"")));
        }
        None => return Err(schema("no \"type\" member, expected \"Feature\"".into())),
    }
    let floor_ft = feet_property(props, "floor_ft")?;
    let ceiling_ft = feet_property(props, "ceiling_ft")?;
    let buffer_m = match props.and_then(|p| p.get("buffer_m")) {
        None | Some(Value::Null) => 0.0,
        Some(v) => match v.as_f64() {
            Some(b) if b.is_finite() && b >= 0.0 => b,
            _ => {
                return Err(schema(format!(
                    "property \"buffer_m\" is {v}, expected a number of metres >= 0"
                )));
            }
        },
    };
    let geometry = match obj.get("geometry") {
        Some(Value::Object(g)) => g,
        None | Some(Value::Null) => {
            return Err(schema(
                "has no geometry, expected a Polygon or MultiPolygon".into(),
            ));
        }
        Some(other) => {
            return Err(schema(format!(
                "\"geometry\" is {}, expected an object",
                kind_of(other)
            )));
        }
    };
    let coords = geometry
        .get("coordinates")
        .ok_or_else(|| schema("geometry has no \"coordinates\"".into()))?;
    let shape = match geometry.get("type").and_then(Value::as_str) {
        Some("Polygon") => MultiPolygon(vec![parse_polygon(coords, "geometry.coordinates")?]),
        Some("MultiPolygon") => {
            let polys = coords.as_array().ok_or_else(|| {
                schema(format!(
                    "geometry.coordinates is {}, expected an array of polygons",
                    kind_of(coords)
                ))
            })?;
            MultiPolygon(
                polys
                    .iter()
                    .enumerate()
                    .map(|(i, p)| parse_polygon(p, &format!("geometry.coordinates[{i}]")))
                    .collect::<Result<_, _>>()?,
            )
        }
        Some(other) => {
            return Err(schema(format!(
                "geometry type is {:?}, expected \"Polygon\" or \"MultiPolygon\"",
                Excerpt(other)
            )));
        }
        None => return Err(schema("geometry has no \"type\" string".into())),
    };
    finish_zone(
        name,
        ZoneKind::Custom,
        shape,
        floor_ft,
        ceiling_ft,
        buffer_m,
        file,
    )
}

fn feet_property(
    props: Option<&serde_json::Map<String, Value>>,
    key: &str,
) -> Result<Option<i32>, ZoneProblem> {
    match props.and_then(|p| p.get(key)) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let feet = v.as_f64().filter(|f| {
                f.fract() == 0.0 && *f >= f64::from(i32::MIN) && *f <= f64::from(i32::MAX)
            });
            match feet {
                // In range and whole, checked above, so the cast is exact.
                Some(f) => Ok(Some(f as i32)),
                None => Err(ZoneProblem::Schema(format!(
                    "property {key:?} is {v}, expected a whole number of feet (or null)"
                ))),
            }
        }
    }
}

fn parse_polygon(value: &Value, path: &str) -> Result<Polygon<f64>, ZoneProblem> {
    let rings = value.as_array().ok_or_else(|| {
        ZoneProblem::Schema(format!(
            "{path} is {}, expected an array of rings",
            kind_of(value)
        ))
    })?;
    let mut parsed = rings
        .iter()
        .enumerate()
        .map(|(i, r)| parse_ring(r, &format!("{path}[{i}]")));
    let exterior = parsed.next().ok_or_else(|| {
        ZoneProblem::Schema(format!(
            "{path} has no rings, expected at least the exterior ring"
        ))
    })??;
    let holes = parsed.collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(exterior, holes))
}

fn parse_ring(value: &Value, path: &str) -> Result<LineString<f64>, ZoneProblem> {
    let points = value.as_array().ok_or_else(|| {
        ZoneProblem::Schema(format!(
            "{path} is {}, expected an array of positions",
            kind_of(value)
        ))
    })?;
    let coords = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let pair = p.as_array().and_then(|a| match a.as_slice() {
                [x, y] | [x, y, _] => Some((x.as_f64()?, y.as_f64()?)),
                _ => None,
            });
            pair.map(|(x, y)| Coord { x, y }).ok_or_else(|| {
                ZoneProblem::Schema(format!(
                    "{path}[{i}] is {p}, expected a position [longitude, latitude]"
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // RFC 7946 §3.1.6: a linear ring's first and last positions are identical.
    // (Checked here: `Polygon::new` would silently close it.)
    if let (Some(first), Some(last)) = (coords.first(), coords.last())
        && first != last
        && coords.len() >= 2
    {
        return Err(ZoneProblem::Schema(format!(
            "{path} is not closed: first position [{:?}, {:?}], last [{:?}, {:?}]; a ring must end where it starts",
            first.x, first.y, last.x, last.y
        )));
    }
    Ok(LineString(coords))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"name": "HELD-A", "floor_ft": 0, "ceiling_ft": 18000, "buffer_m": 5000},
   "geometry": {"type": "Polygon", "coordinates": [[[69.0, 34.0], [69.0, 35.0], [70.0, 35.0], [70.0, 34.0], [69.0, 34.0]]]}},
  {"type": "Feature", "properties": {"name": "HELD-B"},
   "geometry": {"type": "MultiPolygon", "coordinates": [[[[71.0, 34.0], [72.0, 34.0], [72.0, 35.0], [71.0, 34.0]]]]}}
]}"#;

    #[test]
    fn good_file_loads_with_properties_and_ccw_exteriors() {
        let zones = parse_geojson("good.geojson", GOOD).expect("valid file");
        assert_eq!(zones.len(), 2);
        let a = &zones[0];
        assert_eq!(a.name, "HELD-A");
        assert_eq!(
            (a.floor_ft, a.ceiling_ft, a.buffer_m),
            (Some(0), Some(18000), 5000.0)
        );
        assert_eq!(a.kind, ZoneKind::Custom);
        assert_eq!(a.provenance.source, "good.geojson");
        assert_eq!(a.provenance.sha256, geometry_sha256(&a.shape));
        // The exterior was clockwise in the file; it is stored counter-clockwise.
        assert_eq!(a.shape.0[0].exterior().0[1], Coord { x: 70.0, y: 34.0 });
        let b = &zones[1];
        assert_eq!((b.floor_ft, b.ceiling_ft, b.buffer_m), (None, None, 0.0));
        assert_eq!(b.vertex_count(), 3);
    }

    /// GeoJSON as it comes from other tools: lenient loading skips an unclosed ring
    /// (reported with its feature), numbers a repeated name, loads the rest; strict
    /// refuses the file naming both problems.
    #[test]
    fn lenient_geojson_skips_unclosed_rings_and_numbers_repeated_names() {
        let text = r#"{"type": "FeatureCollection", "features": [
  {"type": "Feature", "properties": {"name": "A"},
   "geometry": {"type": "Polygon", "coordinates": [[[69.0, 34.0], [69.0, 35.0], [70.0, 35.0], [69.0, 34.0]]]}},
  {"type": "Feature", "properties": {"name": "OPEN"},
   "geometry": {"type": "Polygon", "coordinates": [[[69.0, 34.0], [69.0, 35.0], [70.0, 35.0], [70.0, 34.5]]]}},
  {"type": "Feature", "properties": {"name": "A"},
   "geometry": {"type": "Polygon", "coordinates": [[[71.0, 34.0], [71.0, 35.0], [72.0, 35.0], [71.0, 34.0]]]}},
  {"type": "Feature", "properties": {"name": "A"},
   "geometry": {"type": "Polygon", "coordinates": [[[73.0, 34.0], [73.0, 35.0], [74.0, 35.0], [73.0, 34.0]]]}}
]}"#;
        let strict = parse_geojson_with("w.geojson", text, false).expect_err("strict refuses");
        let lines: Vec<String> = strict.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(
            lines[0].starts_with(
                "w.geojson:4: feature 1 \"OPEN\": geometry.coordinates[0] is not closed"
            ),
            "{lines:#?}"
        );
        assert!(
            lines[1].starts_with("w.geojson:6: feature 2 \"A\": duplicate zone name"),
            "{lines:#?}"
        );
        let loaded = parse_geojson_with("w.geojson", text, true).expect("lenient loads");
        let names: Vec<&str> = loaded.zones.iter().map(|z| z.name.as_str()).collect();
        assert_eq!(names, ["A", "A (2)", "A (3)"]);
        let skipped: Vec<String> = loaded.skipped.iter().map(ToString::to_string).collect();
        assert_eq!(skipped.len(), 1, "{skipped:#?}");
        assert!(
            skipped[0].starts_with(
                "w.geojson:4: feature 1 \"OPEN\": geometry.coordinates[0] is not closed"
            ),
            "{skipped:#?}"
        );
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert!(
            warnings[0].contains("feature 2 \"A\"") && warnings[0].ends_with("loaded as \"A (2)\""),
            "{warnings:#?}"
        );
        assert!(
            warnings[1].ends_with("loaded as \"A (3)\""),
            "{warnings:#?}"
        );
    }

    fn err(text: &str) -> String {
        parse_geojson("z.geojson", text)
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        assert_eq!(
            err("{\"type\": \"FeatureCollection\",\n \"features\": [,]}"),
            "z.geojson:2:15: invalid JSON: expected value"
        );
    }

    #[test]
    fn feature_errors_name_line_index_and_name() {
        let text = GOOD.replace("\"ceiling_ft\": 18000", "\"ceiling_ft\": -5");
        assert_eq!(
            err(&text),
            "z.geojson:2: feature 0 \"HELD-A\": floor 0 ft is above ceiling -5 ft"
        );
        let text = GOOD.replace("\"name\": \"HELD-B\"", "\"name\": \"HELD-A\"");
        assert_eq!(
            err(&text),
            "z.geojson:4: feature 1 \"HELD-A\": duplicate zone name \"HELD-A\", already used by feature 0"
        );
        let text = GOOD.replace("\"name\": \"HELD-B\"", "\"label\": \"HELD-B\"");
        assert_eq!(
            err(&text),
            "z.geojson:4: feature 1: no \"name\" property, expected a unique zone name"
        );
        let text = GOOD.replace("\"floor_ft\": 0", "\"floor_ft\": \"SFC\"");
        assert_eq!(
            err(&text),
            "z.geojson:2: feature 0 \"HELD-A\": property \"floor_ft\" is \"SFC\", expected a whole number of feet (or null)"
        );
        let text = GOOD.replace("\"type\": \"MultiPolygon\"", "\"type\": \"LineString\"");
        assert_eq!(
            err(&text),
            "z.geojson:4: feature 1 \"HELD-B\": geometry type is \"LineString\", expected \"Polygon\" or \"MultiPolygon\""
        );
        let text = GOOD.replace(
            "[70.0, 34.0], [69.0, 34.0]]]",
            "[70.0, 34.0], [69.0, 34.5]]]",
        );
        assert_eq!(
            err(&text),
            "z.geojson:2: feature 0 \"HELD-A\": geometry.coordinates[0] is not closed: first position [69.0, 34.0], last [69.0, 34.5]; a ring must end where it starts"
        );
        let text = GOOD.replace(
            "[[69.0, 34.0], [69.0, 35.0], [70.0, 35.0]",
            "[[69.0, 34.0], [70.0, 35.0], [69.0, 35.0]",
        );
        assert_eq!(
            err(&text),
            "z.geojson:2: feature 0 \"HELD-A\": self-intersection: polygon 0 ring 0 edge 2 crosses polygon 0 ring 0 edge 0 near (69.500000, 34.500000)"
        );
    }

    #[test]
    fn wrong_top_level_type() {
        assert_eq!(
            err(r#"{"type": "Feature", "features": []}"#),
            "z.geojson: GeoJSON type is \"Feature\", expected \"FeatureCollection\""
        );
        assert_eq!(
            err(r#"{"type": "FeatureCollection", "features": []}"#),
            "z.geojson: no zones in the file, expected at least one"
        );
    }

    #[test]
    fn names_unique_across_sources() {
        let mut zones = parse_geojson("a.geojson", GOOD).expect("valid");
        zones.extend(parse_geojson("b.geojson", GOOD).expect("valid"));
        assert_eq!(
            check_unique_names(&zones)
                .expect_err("duplicate")
                .to_string(),
            "b.geojson: duplicate zone name \"HELD-A\", already used by a.geojson"
        );
    }

    proptest::proptest! {
        /// Arbitrary (mostly JSON-ish) text never panics the loader.
        #[test]
        fn arbitrary_text_never_panics(text in r#"(\{|\}|\[|\]|,|:|"type"|"Feature"|"FeatureCollection"|"features"|"geometry"|"Polygon"|"coordinates"|"properties"|"name"|"floor_ft"|-?[0-9.]{1,4}|null|\n| ){0,80}"#) {
            let _ = parse_geojson("fuzz.geojson", &text);
        }
    }
}

#[cfg(test)]
mod bounded_read_tests {
    use super::*;

    /// Regression: a zone file `/dev/zero` was read until memory ran out.
    #[test]
    fn devices_directories_and_oversized_files_are_refused() {
        #[cfg(unix)]
        {
            let e = load_zone_file(Path::new("/dev/zero"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("/dev/zero") && e.contains("not a regular file"),
                "{e}"
            );
        }
        let dir = std::env::temp_dir();
        let e = load_zone_file(&dir).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let path = dir.join(format!("skyfence-bounded-{}.geojson", std::process::id()));
        std::fs::write(&path, vec![b' '; 100]).unwrap();
        let e = read_bounded(&path, 99).unwrap_err().to_string();
        assert!(e.contains("100 bytes, larger than the limit of 99"), "{e}");
        assert_eq!(read_bounded(&path, 100).unwrap().len(), 100);
        let _ = std::fs::remove_file(&path);
    }
}
