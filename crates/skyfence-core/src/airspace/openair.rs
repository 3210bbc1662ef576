//! The OpenAir airspace format (the de-facto format of gliding and paragliding
//! airspace files, as described in the "OpenAir Format" note of Winpilot/SeeYou).
//!
//! Records read, one per line (`*` starts a comment line):
//!
//! | record | meaning |
//! |---|---|
//! | `AC class` | starts a zone; classes `R`, `P`, `Q` are [`ZoneKind::Restricted`], others [`ZoneKind::Custom`] |
//! | `AN name` | zone name (required, unique in the file) |
//! | `AL alt` / `AH alt` | floor / ceiling (absent: surface / unlimited) |
//! | `V X=coord` | arc or circle centre (kept until set again) |
//! | `V D=+` / `V D=-` | arc direction, clockwise / counter-clockwise; reset to `+` at each `AC` |
//! | `DP coord` | a polygon point |
//! | `DC r` | a circle of `r` NM around the centre (the whole zone) |
//! | `DA r, a1, a2` | an arc of `r` NM from true bearing `a1` to `a2` around the centre |
//! | `DB coord1, coord2` | an arc from `coord1` to `coord2` around the centre |
//! | `SP`, `SB`, `AT`, `AY`, `AF`, `AG`, `V Z=` | display hints: ignored |
//!
//! Coordinates are `DD:MM[:SS[.s]] N|S DDD:MM[:SS[.s]] E|W` (minutes may carry a decimal
//! fraction; `DD.dddd N` is accepted too).
//!
//! Altitudes: `GND`/`SFC`/`0` (surface), `UNL`/`UNLIM`/`UNLIMITED`/`UNLTD` (unlimited, also
//! followed by a unit or datum: `UNL FT`),
//! `FL95` (flight level 95 = 9,500 ft pressure altitude, the same datum as Mode S
//! altitude), or a number with unit `ft` (default) or `m` and datum `MSL`/`AMSL`/`ALT`
//! (default MSL) or `AGL`/`ASFC`/`SFC`/`GND`. Metres are converted at 0.3048 m/ft, floors
//! rounded down and ceilings rounded up, so the zone never shrinks.
//!
//! **AGL:** skyfence has no terrain model, so a height above ground cannot be turned into
//! an altitude. An AGL *floor* is read as the same number of feet MSL: since terrain is
//! at or above sea level, that floor is at or below the published one, and the zone only
//! grows (no target inside the published volume is missed). An AGL *ceiling* cannot be
//! made safe that way (it would cut the zone at sea-level terrain), so it is rejected
//! with an error: give the ceiling in feet MSL or as a flight level.
//!
//! Arcs and circles are densified so that no edge (straight in longitude/latitude, as
//! the index reads edges) strays more than 100 m from the true arc, checked at each
//! edge's midpoint, on a sphere with the Gaussian radius of curvature of WGS-84 at the
//! centre's latitude (error of that approximation: below 0.1 m per kilometre of radius
//! for the radii OpenAir files use). Zones crossing the antimeridian are rejected (split
//! them into two zones).
//!
//! **Real files** (`testdata/zones/real/` holds two, tested against shapely): every zone
//! with a problem is reported with its first problem (file, line, index and name of the
//! zone; later records of a zone already found bad are not checked further). Strict
//! mode refuses the file with all of them; lenient mode skips exactly those zones (one
//! warning each), numbers a repeated name `NAME (2)`, `NAME (3)` among the loaded
//! zones, and loads an AGL ceiling as unknown (unlimited) with a warning. Inline `*`
//! comments after a record's data, 60 seconds in a coordinate (the next minute) and
//! `UNL FT` are read in both modes; a file that is not UTF-8 is read as Latin-1.

// Loading is a cold path, run once per file; a rich, unboxed error is worth its size.
#![allow(clippy::result_large_err)]

use geo_types::{Coord, LineString, MultiPolygon, Polygon};

use super::load::{
    Excerpt, FeatureRef, LoadedZones, ZoneFileError, ZoneFileErrors, ZoneProblem, conclude,
    finish_zone,
};
use super::zone::{Zone, ZoneKind};

/// Largest allowed distance between a densified arc's chord and the true arc, metres.
pub const MAX_CHORD_ERROR_M: f64 = 100.0;

/// The densification aims a little below [`MAX_CHORD_ERROR_M`] so rounding can never
/// push it over.
const TARGET_CHORD_ERROR_M: f64 = 95.0;

/// One nautical mile in metres (exact, by definition).
pub const METRES_PER_NM: f64 = 1852.0;

/// WGS-84 semi-major axis (m) and flattening (NIMA TR8350.2, §3).
const WGS84_A: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;

struct Builder {
    index: usize,
    line: usize,
    class: String,
    name: Option<String>,
    floor_ft: Option<i32>,
    ceiling_ft: Option<i32>,
    points: Vec<Coord<f64>>,
    circle: bool,
    /// A record of this zone could not be read (already reported): the zone is skipped.
    broken: bool,
}

/// Parses an OpenAir file strictly; `file` names the source in errors and provenance.
/// The first problem is the error; [`parse_openair_with`] reports them all.
pub fn parse_openair(file: &str, text: &str) -> Result<Vec<Zone>, ZoneFileError> {
    parse_openair_with(file, text, false)
        .map(|l| l.zones)
        .map_err(ZoneFileErrors::into_first)
}

/// Strips an inline comment (`*` after the data, as real files write
/// `DP 45:00:00 N 006:00:00 E * corner`) from a record's argument.
fn strip_comment(rest: &str) -> &str {
    rest.split_once('*').map_or(rest, |(data, _)| data).trim()
}

/// Parses an OpenAir file, reporting every problem (module docs, "Real files"): strict
/// (`lenient` false) refuses the file with all of them; lenient skips each bad zone with
/// a warning, numbers repeated names and loads the rest.
pub fn parse_openair_with(
    file: &str,
    text: &str,
    lenient: bool,
) -> Result<LoadedZones, ZoneFileErrors> {
    let mut zones: Vec<Zone> = Vec::new();
    let mut names: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut current: Option<Builder> = None;
    let mut centre: Option<Coord<f64>> = None;
    let mut clockwise = true;
    let mut count = 0usize;
    // Problems that make the file or a zone unusable (strict: errors; lenient: the zone
    // is skipped, a warning each), and quirks read safely (warnings in both modes).
    let mut problems: Vec<ZoneFileError> = Vec::new();
    let mut notes: Vec<ZoneFileError> = Vec::new();

    let finish = |b: Builder,
                  zones: &mut Vec<Zone>,
                  names: &mut std::collections::HashMap<String, usize>,
                  problems: &mut Vec<ZoneFileError>,
                  notes: &mut Vec<ZoneFileError>| {
        if b.broken {
            return;
        }
        let feature = FeatureRef {
            index: b.index,
            name: b.name.clone(),
        };
        let err = |problem| ZoneFileError {
            file: file.to_owned(),
            line: Some(b.line),
            column: None,
            feature: Some(feature.clone()),
            problem,
        };
        let Some(mut name) = b.name.clone() else {
            problems.push(err(ZoneProblem::OpenAir(
                "no AN record, expected a zone name".into(),
            )));
            return;
        };
        if let Some(first) = names.get(&name) {
            let duplicate = ZoneProblem::DuplicateName {
                name: name.clone(),
                first: format!("feature {first}"),
            };
            if !lenient {
                problems.push(err(duplicate));
                return;
            }
            let mut n = 2;
            while names.contains_key(&format!("{name} ({n})")) {
                n += 1;
            }
            let renamed = format!("{name} ({n})");
            notes.push(err(ZoneProblem::OpenAir(format!(
                "{duplicate}: loaded as {:?}",
                Excerpt(&renamed)
            ))));
            name = renamed;
        }
        let mut ring = b.points;
        if ring.first() != ring.last()
            && let Some(&first) = ring.first()
        {
            ring.push(first);
        }
        if let Some(w) = ring.windows(2).find(|w| (w[0].x - w[1].x).abs() > 180.0) {
            problems.push(err(ZoneProblem::OpenAir(format!(
                "the zone crosses the antimeridian between longitudes {} and {}; split it into two zones",
                w[0].x, w[1].x
            ))));
            return;
        }
        let kind = match b.class.as_str() {
            "R" | "P" | "Q" => ZoneKind::Restricted,
            _ => ZoneKind::Custom,
        };
        let shape = MultiPolygon(vec![Polygon::new(LineString(ring), vec![])]);
        match finish_zone(
            name.clone(),
            kind,
            shape,
            b.floor_ft,
            b.ceiling_ft,
            0.0,
            file,
        ) {
            Ok(zone) => {
                names.insert(name, b.index);
                zones.push(zone);
            }
            Err(problem) => problems.push(err(problem)),
        }
    };

    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('*') {
            continue;
        }
        let (record, rest) = match line.split_once(char::is_whitespace) {
            Some((r, rest)) => (r, rest.trim()),
            None => (line, ""),
        };
        let record = record.to_ascii_uppercase();
        // Names keep a `*` (a name may hold one); every other record's data ends there.
        let rest = if record == "AN" {
            rest
        } else {
            strip_comment(rest)
        };
        if record == "AC" {
            if let Some(b) = current.take() {
                finish(b, &mut zones, &mut names, &mut problems, &mut notes);
            }
            current = Some(Builder {
                index: count,
                line: line_no,
                class: rest.to_ascii_uppercase(),
                name: None,
                floor_ft: None,
                ceiling_ft: None,
                points: Vec::new(),
                circle: false,
                broken: false,
            });
            count += 1;
            clockwise = true;
            continue;
        }
        let feature = current.as_ref().map(|b| FeatureRef {
            index: b.index,
            name: b.name.clone(),
        });
        let fail = |msg: String| ZoneFileError {
            file: file.to_owned(),
            line: Some(line_no),
            column: None,
            feature: feature.clone(),
            problem: ZoneProblem::OpenAir(msg),
        };
        let result = (|| -> Result<(), ZoneFileError> {
            if matches!(record.as_str(), "SP" | "SB" | "AT" | "AY" | "AF" | "AG") {
                return Ok(());
            }
            if record == "V" {
                let (var, value) = rest.split_once('=').ok_or_else(|| {
                    fail(format!(
                        "V record {:?}, expected V X=coord or V D=+/-",
                        Excerpt(rest)
                    ))
                })?;
                match var.trim().to_ascii_uppercase().as_str() {
                    "X" => centre = Some(parse_coord(value).map_err(&fail)?),
                    "D" => {
                        clockwise = match value.trim() {
                            "+" => true,
                            "-" => false,
                            other => {
                                return Err(fail(format!(
                                    "V D={}, expected V D=+ or V D=-",
                                    Excerpt(other)
                                )));
                            }
                        }
                    }
                    "Z" | "W" => {}
                    other => {
                        return Err(fail(format!(
                            "unknown variable V {}=, expected X, D, Z or W",
                            Excerpt(other)
                        )));
                    }
                }
                return Ok(());
            }
            let Some(b) = current.as_mut() else {
                return Err(fail(format!("{record} record before the first AC record")));
            };
            match record.as_str() {
                "AN" => b.name = Some(rest.to_owned()).filter(|s| !s.is_empty()),
                "AL" => {
                    b.floor_ft = match parse_altitude(rest).map_err(&fail)? {
                        Altitude::Surface => None,
                        Altitude::Unlimited => {
                            return Err(fail(format!(
                                "floor AL {}, expected an altitude below unlimited",
                                Excerpt(rest)
                            )));
                        }
                        // AGL floors read as MSL: see the module documentation.
                        Altitude::Feet { low, .. } => Some(low),
                    };
                }
                "AH" => {
                    b.ceiling_ft = match parse_altitude(rest).map_err(&fail)? {
                        Altitude::Unlimited => None,
                        Altitude::Surface => {
                            return Err(fail(format!(
                                "ceiling AH {} is the surface, expected an altitude above it",
                                Excerpt(rest)
                            )));
                        }
                        Altitude::Feet { agl: true, .. } if lenient => {
                            notes.push(fail(format!(
                                "ceiling AH {} is above ground level and skyfence has no terrain model: ceiling unknown, the zone is loaded up to unlimited",
                                Excerpt(rest)
                            )));
                            None
                        }
                        Altitude::Feet { agl: true, .. } => {
                            return Err(fail(format!(
                                "ceiling AH {} is above ground level; skyfence has no terrain model, give the ceiling in ft MSL or as a flight level",
                                Excerpt(rest)
                            )));
                        }
                        Altitude::Feet { high, .. } => Some(high),
                    };
                }
                "DP" | "DA" | "DB" | "DC" if b.circle => {
                    return Err(fail(format!(
                        "{record} after DC: a DC circle is the whole zone"
                    )));
                }
                "DP" => b.points.push(parse_coord(rest).map_err(&fail)?),
                "DC" => {
                    let c = centre.ok_or_else(|| {
                        fail("DC without a centre, expected V X= before it".into())
                    })?;
                    let r_nm = parse_radius(rest).map_err(&fail)?;
                    if !b.points.is_empty() {
                        return Err(fail(
                            "DC after polygon points: a DC circle is the whole zone".into(),
                        ));
                    }
                    b.points = circle(c, r_nm * METRES_PER_NM);
                    b.circle = true;
                }
                "DA" => {
                    let c = centre.ok_or_else(|| {
                        fail("DA without a centre, expected V X= before it".into())
                    })?;
                    let parts: Vec<&str> = rest.split(',').map(str::trim).collect();
                    let [r, a1, a2] = parts.as_slice() else {
                        return Err(fail(format!(
                            "DA {:?}, expected DA radius_nm, start_deg, end_deg",
                            Excerpt(rest)
                        )));
                    };
                    let r_nm = parse_radius(r).map_err(&fail)?;
                    let bearing = |s: &str| {
                        s.parse::<f64>()
                            .ok()
                            .filter(|a| a.is_finite())
                            .ok_or_else(|| {
                                fail(format!("DA bearing {:?}, expected degrees", Excerpt(s)))
                            })
                    };
                    let (a1, a2) = (bearing(a1)?, bearing(a2)?);
                    let r_m = r_nm * METRES_PER_NM;
                    b.points.extend(arc(c, r_m, r_m, a1, a2, clockwise));
                }
                "DB" => {
                    let c = centre.ok_or_else(|| {
                        fail("DB without a centre, expected V X= before it".into())
                    })?;
                    let (p1, p2) = rest.split_once(',').ok_or_else(|| {
                        fail(format!(
                            "DB {:?}, expected DB coord1, coord2",
                            Excerpt(rest)
                        ))
                    })?;
                    let p1 = parse_coord(p1).map_err(&fail)?;
                    let p2 = parse_coord(p2).map_err(&fail)?;
                    let sphere = Sphere::at(c.y);
                    let (r1, r2) = (sphere.distance(c, p1), sphere.distance(c, p2));
                    if r1 < 1.0 {
                        return Err(fail(
                            "DB start point is the centre, expected a point on the arc".into(),
                        ));
                    }
                    let mut pts = arc(
                        c,
                        r1,
                        r2,
                        sphere.bearing(c, p1),
                        sphere.bearing(c, p2),
                        clockwise,
                    );
                    // The arc's ends are the given points exactly.
                    if let Some(first) = pts.first_mut() {
                        *first = p1;
                    }
                    if let Some(last) = pts.last_mut() {
                        *last = p2;
                    }
                    b.points.extend(pts);
                }
                "DY" => {
                    return Err(fail(
                        "DY airway records are not supported, expected a polygon, arc or circle"
                            .into(),
                    ));
                }
                other => {
                    return Err(fail(format!(
                        "unknown record {:?}, expected AC, AN, AL, AH, V, DP, DC, DA or DB",
                        Excerpt(other)
                    )));
                }
            }

            Ok(())
        })();
        if let Err(e) = result {
            // The rest of this zone cannot be trusted: skip it, reported once (its first
            // problem), so a skipped zone is one warning and one in the skipped count.
            match current.as_mut() {
                Some(b) if b.broken => {}
                Some(b) => {
                    b.broken = true;
                    problems.push(e);
                }
                None => problems.push(e),
            }
        }
    }
    if let Some(b) = current.take() {
        finish(b, &mut zones, &mut names, &mut problems, &mut notes);
    }
    conclude(file, zones, problems, notes, lenient)
}

/// A parsed `AL`/`AH` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Altitude {
    Surface,
    Unlimited,
    /// `low`/`high`: the value rounded down / up to whole feet.
    Feet {
        low: i32,
        high: i32,
        agl: bool,
    },
}

fn parse_altitude(text: &str) -> Result<Altitude, String> {
    let upper = text.trim().to_ascii_uppercase();
    let bad = || {
        format!(
            "altitude {:?}, expected GND, SFC, UNL, FLnnn or a number with ft/m and MSL/AGL",
            Excerpt(text)
        )
    };
    match upper.as_str() {
        "GND" | "SFC" | "SURFACE" | "0" => return Ok(Altitude::Surface),
        "UNL" | "UNLIM" | "UNLIMITED" | "UNLTD" => return Ok(Altitude::Unlimited),
        _ => {}
    }
    // Real files write a unit or datum after "unlimited" ("UNL FT"): still unlimited.
    let mut words = upper.split_whitespace();
    if matches!(words.next(), Some("UNL" | "UNLIM" | "UNLIMITED" | "UNLTD"))
        && words.all(|w| matches!(w, "FT" | "M" | "MSL" | "AMSL" | "STD"))
    {
        return Ok(Altitude::Unlimited);
    }
    if let Some(fl) = upper.strip_prefix("FL") {
        let level: u32 = fl.trim().parse().map_err(|_| bad())?;
        let ft = i32::try_from(level)
            .ok()
            .and_then(|l| l.checked_mul(100))
            .ok_or_else(bad)?;
        return Ok(Altitude::Feet {
            low: ft,
            high: ft,
            agl: false,
        });
    }
    let digits_end = upper
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(upper.len());
    let value: f64 = upper[..digits_end].parse().map_err(|_| bad())?;
    // Split letters from the rest: "1500FT AMSL", "1500 ft MSL", "500M", "1000AGL".
    let rest = upper[digits_end..].replace(['.'], " ");
    let mut metres = false;
    let mut agl = false;
    let mut tokens: Vec<String> = Vec::new();
    for token in rest.split_whitespace() {
        // "1500FTMSL" style: peel a unit prefix off a glued datum.
        if let Some(datum) = token.strip_prefix("FT").filter(|d| !d.is_empty()) {
            tokens.push("FT".into());
            tokens.push(datum.into());
        } else if let Some(datum) = token
            .strip_prefix('M')
            .filter(|d| !d.is_empty() && *d != "SL")
        {
            tokens.push("M".into());
            tokens.push(datum.into());
        } else {
            tokens.push(token.into());
        }
    }
    for token in &tokens {
        match token.as_str() {
            "FT" | "F" => {}
            "M" => metres = true,
            "MSL" | "AMSL" | "ALT" => {}
            "AGL" | "AGND" | "ASFC" | "SFC" | "GND" => agl = true,
            _ => return Err(bad()),
        }
    }
    let ft = if metres { value / 0.3048 } else { value };
    if !(0.0..=f64::from(i32::MAX)).contains(&ft) {
        return Err(bad());
    }
    // "0 ft AGL" is the surface; "0 ft AMSL" is sea level, a floor of 0 ft (not the
    // surface: terrain below sea level exists).
    if ft == 0.0 && (agl || tokens.is_empty()) {
        return Ok(Altitude::Surface);
    }
    // In range (checked above), so the casts are exact after rounding.
    Ok(Altitude::Feet {
        low: ft.floor() as i32,
        high: ft.ceil() as i32,
        agl,
    })
}

fn parse_radius(text: &str) -> Result<f64, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|r| r.is_finite() && *r > 0.0 && *r <= 1000.0)
        .ok_or_else(|| {
            format!(
                "radius {:?}, expected nautical miles in (0, 1000]",
                Excerpt(text)
            )
        })
}

/// Parses `DD:MM[:SS] N DDD:MM[:SS] E` (or decimal degrees with hemisphere letters).
pub fn parse_coord(text: &str) -> Result<Coord<f64>, String> {
    let bad = || {
        format!(
            "coordinate {:?}, expected DD:MM:SS N DDD:MM:SS E",
            Excerpt(text.trim())
        )
    };
    let upper = text.trim().to_ascii_uppercase();
    let ns = upper.find(['N', 'S']).ok_or_else(bad)?;
    let lat = parse_dms(&upper[..ns]).ok_or_else(bad)?;
    let rest = &upper[ns + 1..];
    let ew = rest.find(['E', 'W']).ok_or_else(bad)?;
    let lon = parse_dms(&rest[..ew]).ok_or_else(bad)?;
    if !rest[ew + 1..].trim().is_empty() || lat > 90.0 || lon > 180.0 {
        return Err(bad());
    }
    let lat = if upper.as_bytes()[ns] == b'S' {
        -lat
    } else {
        lat
    };
    let lon = if rest.as_bytes()[ew] == b'W' {
        -lon
    } else {
        lon
    };
    Ok(Coord { x: lon, y: lat })
}

fn parse_dms(text: &str) -> Option<f64> {
    let parts: Vec<f64> = text
        .trim()
        .split(':')
        .map(|p| {
            p.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
        })
        .collect::<Option<_>>()?;
    match parts.as_slice() {
        [d] => Some(*d),
        [d, m] if *m < 60.0 => Some(d + m / 60.0),
        // Real files write 60 seconds for the next minute ("45:29:60"): the same point.
        [d, m, s] if *m < 60.0 && *s <= 60.0 => Some(d + m / 60.0 + s / 3600.0),
        _ => None,
    }
}

/// A local sphere approximating WGS-84 around a latitude (Gaussian radius `sqrt(M N)`).
#[derive(Clone, Copy, Debug)]
pub struct Sphere {
    /// Radius, metres.
    pub radius_m: f64,
}

impl Sphere {
    /// The osculating sphere at `lat_deg`: radius `sqrt(M N)` where `M`, `N` are the
    /// meridional and prime-vertical radii of curvature of WGS-84.
    pub fn at(lat_deg: f64) -> Self {
        let e2 = WGS84_F * (2.0 - WGS84_F);
        let s = lat_deg.to_radians().sin();
        let w2 = 1.0 - e2 * s * s;
        let m = WGS84_A * (1.0 - e2) / (w2 * w2.sqrt());
        let n = WGS84_A / w2.sqrt();
        Self {
            radius_m: (m * n).sqrt(),
        }
    }

    /// Great-circle distance (haversine), metres.
    pub fn distance(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let (p1, p2) = (a.y.to_radians(), b.y.to_radians());
        let dp = p2 - p1;
        let dl = (b.x - a.x).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * self.radius_m * h.sqrt().min(1.0).asin()
    }

    /// Initial true bearing from `a` to `b`, degrees in [0, 360).
    pub fn bearing(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        let (p1, p2) = (a.y.to_radians(), b.y.to_radians());
        let dl = (b.x - a.x).to_radians();
        let y = dl.sin() * p2.cos();
        let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
        y.atan2(x).to_degrees().rem_euclid(360.0)
    }

    /// The point `distance_m` from `from` along true bearing `bearing_deg`.
    pub fn destination(&self, from: Coord<f64>, distance_m: f64, bearing_deg: f64) -> Coord<f64> {
        let d = distance_m / self.radius_m;
        let (p1, l1) = (from.y.to_radians(), from.x.to_radians());
        let t = bearing_deg.to_radians();
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * t.cos())
            .clamp(-1.0, 1.0)
            .asin();
        let l2 = l1 + (t.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        let lon = (l2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
        Coord {
            x: lon,
            y: p2.to_degrees(),
        }
    }
}

/// Number of equal steps for an arc of `sweep_deg` at radius `r_m` so that each chord's
/// sagitta `r (1 - cos(Δ/2))` stays within [`TARGET_CHORD_ERROR_M`].
fn steps(r_m: f64, sweep_deg: f64) -> usize {
    let max_step = if r_m <= TARGET_CHORD_ERROR_M {
        std::f64::consts::PI
    } else {
        2.0 * (1.0 - TARGET_CHORD_ERROR_M / r_m).acos()
    };
    // Bounded by the radius limit (1000 NM) and 360°, so the cast cannot overflow.
    ((sweep_deg.to_radians() / max_step).ceil() as usize).max(1)
}

/// Points of an arc around `centre` from bearing `from_deg` to `to_deg`, the radius
/// moving linearly from `r1_m` to `r2_m` (equal for `DA`; a `DB` arc's ends may sit at
/// slightly different distances), both ends included.
fn arc(
    centre: Coord<f64>,
    r1_m: f64,
    r2_m: f64,
    from_deg: f64,
    to_deg: f64,
    clockwise: bool,
) -> Vec<Coord<f64>> {
    let sweep = if clockwise {
        to_deg - from_deg
    } else {
        from_deg - to_deg
    }
    .rem_euclid(360.0);
    densify(
        centre,
        r1_m,
        r2_m,
        from_deg,
        if clockwise { sweep } else { -sweep },
    )
}

/// Points from bearing `from_deg` turning by `turn_deg` (positive = clockwise), with
/// both ends, each edge within [`TARGET_CHORD_ERROR_M`] of the arc.
fn densify(
    centre: Coord<f64>,
    r1_m: f64,
    r2_m: f64,
    from_deg: f64,
    turn_deg: f64,
) -> Vec<Coord<f64>> {
    let sphere = Sphere::at(centre.y);
    let (sweep, sign) = (turn_deg.abs(), turn_deg.signum());
    let make = |n: usize| -> Vec<Coord<f64>> {
        (0..=n)
            .map(|k| {
                let f = k as f64 / n as f64;
                sphere.destination(
                    centre,
                    r1_m + f * (r2_m - r1_m),
                    from_deg + sign * f * sweep,
                )
            })
            .collect()
    };
    // Zone edges are straight in longitude/latitude (the index's convention), which
    // bows away from the great-circle chord at high latitudes: start from the sagitta
    // step count, then double it until every edge's midpoint is within the target of
    // the arc.
    let mut n = steps(r1_m.max(r2_m), sweep);
    loop {
        let pts = make(n);
        let worst = pts
            .windows(2)
            .enumerate()
            .map(|(k, w)| {
                let mid = Coord {
                    x: (w[0].x + w[1].x) / 2.0,
                    y: (w[0].y + w[1].y) / 2.0,
                };
                let f = (k as f64 + 0.5) / n as f64;
                (r1_m + f * (r2_m - r1_m) - sphere.distance(centre, mid)).abs()
            })
            .fold(0.0, f64::max);
        if worst <= TARGET_CHORD_ERROR_M || n >= MAX_ARC_STEPS {
            return pts;
        }
        n = (n * 2).min(MAX_ARC_STEPS);
    }
}

/// Upper bound on the steps of one arc (a 1000 NM full circle needs about 1,100).
const MAX_ARC_STEPS: usize = 1 << 16;

/// A closed circle (clockwise from north) of radius `r_m` around `centre`.
fn circle(centre: Coord<f64>, r_m: f64) -> Vec<Coord<f64>> {
    let mut pts = densify(centre, r_m, r_m, 0.0, 360.0);
    // The last point is the first one again, up to rounding: close exactly.
    pts.pop();
    pts.push(pts[0]);
    pts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_in_all_spellings() {
        let c = parse_coord("34:30:00 N 069:10:30 E").expect("valid");
        assert!((c.x - 69.175).abs() < 1e-12 && c.y == 34.5);
        let c = parse_coord("39:29.9 N 119:46.1 W").expect("valid");
        assert!((c.y - 39.498_333_333).abs() < 1e-9 && (c.x + 119.768_333_333).abs() < 1e-9);
        let c = parse_coord("33.5S 151.25E").expect("valid");
        assert_eq!((c.x, c.y), (151.25, -33.5));
        assert!(parse_coord("34:61:00 N 069:10:30 E").is_err());
        assert!(parse_coord("34:30:00 069:10:30 E").is_err());
        assert!(parse_coord("91:00:00 N 069:10:30 E").is_err());
    }

    #[test]
    fn altitudes() {
        use Altitude::*;
        let ft = |low, high, agl| Ok(Feet { low, high, agl });
        assert_eq!(parse_altitude("GND"), Ok(Surface));
        assert_eq!(parse_altitude("sfc"), Ok(Surface));
        assert_eq!(parse_altitude("UNL"), Ok(Unlimited));
        assert_eq!(parse_altitude("UNL FT"), Ok(Unlimited));
        assert_eq!(parse_altitude("unlim ft msl"), Ok(Unlimited));
        assert!(parse_altitude("UNL AGL").is_err());
        assert!(parse_altitude("NOTAM").is_err());
        assert_eq!(parse_altitude("FL95"), ft(9500, 9500, false));
        assert_eq!(parse_altitude("FL 245"), ft(24500, 24500, false));
        assert_eq!(parse_altitude("1500ft MSL"), ft(1500, 1500, false));
        assert_eq!(parse_altitude("1500 FT AMSL"), ft(1500, 1500, false));
        assert_eq!(parse_altitude("1500FTMSL"), ft(1500, 1500, false));
        assert_eq!(parse_altitude("2000"), ft(2000, 2000, false));
        assert_eq!(parse_altitude("1000ft AGL"), ft(1000, 1000, true));
        assert_eq!(parse_altitude("1000 SFC"), ft(1000, 1000, true));
        // 500 m = 1640.42 ft: floor rounds down, ceiling up.
        assert_eq!(parse_altitude("500m"), ft(1640, 1641, false));
        assert_eq!(parse_altitude("500 M MSL"), ft(1640, 1641, false));
        assert!(parse_altitude("high").is_err());
        assert!(parse_altitude("1500 parsecs").is_err());
    }

    #[test]
    fn arcs_stay_within_100_m_chord_error() {
        let centre = Coord { x: 69.2, y: 34.5 };
        let sphere = Sphere::at(centre.y);
        for r_nm in [0.5, 2.0, 10.0, 50.0, 200.0] {
            let r = r_nm * METRES_PER_NM;
            let pts = arc(centre, r, r, 10.0, 280.0, true);
            for p in &pts {
                assert!(
                    (sphere.distance(centre, *p) - r).abs() < 1e-6 * r,
                    "vertex on the arc"
                );
            }
            for w in pts.windows(2) {
                // The chord's midpoint is its farthest point from the arc.
                let mid = Coord {
                    x: (w[0].x + w[1].x) / 2.0,
                    y: (w[0].y + w[1].y) / 2.0,
                };
                let sagitta = r - sphere.distance(centre, mid);
                assert!(
                    sagitta <= MAX_CHORD_ERROR_M,
                    "r {r_nm} NM: sagitta {sagitta} m"
                );
                assert!(sagitta >= 0.0);
            }
            // Not absurdly dense either: the sagitta count, doubled at most twice for the
            // bow of lon/lat-straight edges.
            let min_steps =
                (270f64.to_radians() / (2.0 * (1.0 - MAX_CHORD_ERROR_M / r).acos())).ceil();
            assert!((pts.len() - 1) as f64 <= 4.0 * min_steps.max(1.0));
        }
    }

    #[test]
    fn arc_direction_and_ends() {
        let c = Coord { x: 10.0, y: 50.0 };
        let cw = arc(c, 5000.0, 5000.0, 0.0, 90.0, true);
        let ccw = arc(c, 5000.0, 5000.0, 0.0, 90.0, false);
        let s = Sphere::at(50.0);
        // Clockwise 0→90 stays in the north-east quadrant; counter-clockwise goes round
        // through west and south.
        for p in &cw[1..cw.len() - 1] {
            let b = s.bearing(c, *p);
            assert!(b > 0.0 && b < 90.0, "cw bearing {b}");
        }
        for p in &ccw[1..ccw.len() - 1] {
            let b = s.bearing(c, *p);
            assert!(b > 90.0 && b < 360.0, "ccw bearing {b}");
        }
        assert!(ccw.len() > 2 * cw.len());
        assert!((s.bearing(c, cw[cw.len() - 1]) - 90.0).abs() < 1e-9);
    }

    const FILE: &str = "\
* Test OpenAir file written for skyfence
AC R
AN KABUL-R1
AL GND
AH FL150
V X=34:33:00 N 069:12:00 E
DC 5

AC Q
AN PIE-SLICE
AL 1000ft AGL
AH 12000ft MSL
V X=34:00:00 N 070:00:00 E
DP 34:00:00 N 070:00:00 E
V D=-
DA 10, 90, 0
DP 34:00:00 N 070:00:00 E

AC D
AN DB-ARC
AL 500m
AH UNL
V X=33:00:00 N 071:00:00 E
DP 33:00:00 N 071:00:00 E
DB 33:10:00 N 071:00:00 E, 33:00:00 N 071:11:55 E
";

    #[test]
    fn file_with_circle_arcs_and_altitudes() {
        let zones = parse_openair("test.air", FILE).expect("valid file");
        assert_eq!(zones.len(), 3);
        let r1 = &zones[0];
        assert_eq!(r1.name, "KABUL-R1");
        assert_eq!(r1.kind, ZoneKind::Restricted);
        assert_eq!((r1.floor_ft, r1.ceiling_ft), (None, Some(15000)));
        let centre = Coord { x: 69.2, y: 34.55 };
        let s = Sphere::at(centre.y);
        for p in &r1.shape.0[0].exterior().0 {
            assert!((s.distance(centre, *p) - 5.0 * METRES_PER_NM).abs() < 1e-6);
        }
        let pie = &zones[1];
        assert_eq!(pie.kind, ZoneKind::Restricted);
        // AGL floor read as MSL (module documentation).
        assert_eq!((pie.floor_ft, pie.ceiling_ft), (Some(1000), Some(12000)));
        // Centre + a 90° arc of 10 NM in 8 steps (11.6° each keeps the sagitta under
        // 95 m at 18.5 km) = 1 + 9 distinct vertices.
        assert_eq!(pie.vertex_count(), 10);
        let db = &zones[2];
        assert_eq!(db.kind, ZoneKind::Custom);
        assert_eq!((db.floor_ft, db.ceiling_ft), (Some(1640), None));
        assert!(db.vertex_count() > 5);
    }

    fn err(text: &str) -> String {
        parse_openair("bad.air", text)
            .expect_err("must fail")
            .to_string()
    }

    #[test]
    fn errors_name_file_line_and_zone() {
        assert_eq!(
            err("AC R\nAN X\nAH 1000 AGL\n"),
            "bad.air:3: feature 0 \"X\": ceiling AH 1000 AGL is above ground level; skyfence has no terrain model, give the ceiling in ft MSL or as a flight level"
        );
        assert_eq!(
            err("AC R\nAN X\nDP 34:00:00 N 069:00:00 E\nDP 34:00:00 X 069:30:00 E\n"),
            "bad.air:4: feature 0 \"X\": coordinate \"34:00:00 X 069:30:00 E\", expected DD:MM:SS N DDD:MM:SS E"
        );
        assert_eq!(
            err("AC R\nAN X\nAL FL100\nAH FL50\nV X=34:00:00 N 069:00:00 E\nDC 1\n"),
            "bad.air:1: feature 0 \"X\": floor 10000 ft is above ceiling 5000 ft"
        );
        assert_eq!(
            err("AC R\nAN X\nV X=34:00:00 N 069:00:00 E\nDC 1\nAC R\nAN X\nDC 2\n"),
            "bad.air:5: feature 1 \"X\": duplicate zone name \"X\", already used by feature 0"
        );
        assert_eq!(
            err("AC R\nAN Y\nDP 34:00:00 N 069:00:00 E\nDP 35:00:00 N 070:00:00 E\n"),
            "bad.air:1: feature 0 \"Y\": polygon 0 ring 0 has 3 points, expected at least 4 (three corners and the closing point)"
        );
        assert_eq!(
            err("AN Y\n"),
            "bad.air:1: AN record before the first AC record"
        );
        assert!(err("AC R\nAN Z\nDP 34:00:00 N 069:00:00 E\nDP 35:00:00 N 070:00:00 E\nDP 34:00:00 N 070:00:00 E\nDP 35:00:00 N 069:00:00 E\n")
            .starts_with("bad.air:1: feature 0 \"Z\": self-intersection: "));
    }

    proptest::proptest! {
        /// Every densified arc, any radius, sweep and direction: vertices on the arc and
        /// every chord within 100 m of it.
        #[test]
        fn any_arc_within_chord_error(
            lat in -80.0f64..80.0, lon in -170.0f64..170.0, r_nm in 0.05f64..150.0,
            from in 0.0f64..360.0, to in 0.0f64..360.0, clockwise in proptest::bool::ANY,
        ) {
            let centre = Coord { x: lon, y: lat };
            let sphere = Sphere::at(lat);
            let r = r_nm * METRES_PER_NM;
            let pts = arc(centre, r, r, from, to, clockwise);
            for w in pts.windows(2) {
                let mid = Coord { x: (w[0].x + w[1].x) / 2.0, y: (w[0].y + w[1].y) / 2.0 };
                let error = (r - sphere.distance(centre, mid)).abs();
                proptest::prop_assert!(error <= MAX_CHORD_ERROR_M, "chord error {} m", error);
            }
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn arbitrary_text_never_panics(text in "(AC|AN|AL|AH|DP|DA|DB|DC|V X=|V D=|[0-9:. NSEW,+-]|\n){0,60}") {
            let _ = parse_openair("fuzz.air", &text);
        }
    }
}
