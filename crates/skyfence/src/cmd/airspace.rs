//! `skyfence airspace list | show NAME | locate --lat X --lon Y [--alt-ft Z]`
//! (docs/INTERFACES.md, "Command line" and "Zones").
//!
//! Zone sources: the built-in countries (`data/countries-maritime-10m.bin`, named by
//! ISO alpha-2 code), plus `--zones FILE` (GeoJSON or OpenAir) and `--country CODE`.
//! Human-readable text by default; `--json` prints JSON lines. `locate` answers with the
//! same `AirspaceIndex` the detector uses, built over the zones that can contain the
//! point (the built-in countries whose bounding box holds it, plus the loaded zones).

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;
use skyfence_core::GeoPoint;
use skyfence_core::airspace::builtin::{self, ATTRIBUTION, Country};
use skyfence_core::airspace::load::{check_unique_names, load_zone_file_with};
use skyfence_core::airspace::{AirspaceIndex, Zone, ZoneId, ZoneKind};

use skyfence_service::exit::input_error;

/// Airspace subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AirspaceCommand {
    /// List the built-in countries (code, alpha-3, name, vertices) and any zones loaded
    /// with --zones / --country.
    List(ListArgs),
    /// Show one zone: a built-in country by ISO code (AF or AFG) or a zone from --zones.
    Show(ShowArgs),
    /// Which zones contain a position (all built-in countries unless --country narrows
    /// them, plus --zones), with the distance to each zone's border.
    Locate(LocateArgs),
}

/// Zone sources shared by the subcommands.
#[derive(clap::Args, Debug, Default)]
pub struct ZoneSources {
    /// A zone file (GeoJSON FeatureCollection or OpenAir); repeatable.
    #[arg(long = "zones", value_name = "FILE")]
    pub zones: Vec<PathBuf>,
    /// A built-in country, ISO 3166-1 alpha-2 or alpha-3 (AF or AFG); repeatable.
    #[arg(long = "country", value_name = "CODE")]
    pub countries: Vec<String>,
    /// Print JSON lines instead of text.
    #[arg(long)]
    pub json: bool,
    /// Load --zones files leniently: bad zones skipped (a warning each, naming file,
    /// line and zone), repeated names numbered, AGL ceilings loaded as unknown.
    #[arg(long)]
    pub lenient: bool,
}

/// `skyfence airspace list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    sources: ZoneSources,
}

/// `skyfence airspace show NAME`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// Zone name, or a built-in country's ISO alpha-2 / alpha-3 code.
    name: String,
    #[command(flatten)]
    sources: ZoneSources,
}

/// `skyfence airspace locate`.
#[derive(clap::Args, Debug)]
pub struct LocateArgs {
    /// Latitude, degrees north (WGS-84), in [-90, 90].
    #[arg(long, allow_hyphen_values = true, required_unless_present = "points")]
    lat: Option<f64>,
    /// Longitude, degrees east (WGS-84), in [-180, 180].
    #[arg(long, allow_hyphen_values = true, required_unless_present = "points")]
    lon: Option<f64>,
    /// Many points from one index build: a file of `LAT,LON[,ALT_FT]` lines (`#`
    /// comments and blank lines skipped), answered as JSON lines in file order.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["lat", "lon", "alt_ft"])]
    points: Option<PathBuf>,
    /// Altitude, feet (pressure altitude, as Mode S reports it); unknown when absent,
    /// which counts as inside every zone's altitude band.
    #[arg(long = "alt-ft", allow_hyphen_values = true)]
    alt_ft: Option<i32>,
    #[command(flatten)]
    sources: ZoneSources,
}

/// Runs an airspace subcommand.
pub fn run(command: AirspaceCommand) -> anyhow::Result<()> {
    match command {
        AirspaceCommand::List(args) => list(&args.sources),
        AirspaceCommand::Show(args) => show(&args.name, &args.sources),
        AirspaceCommand::Locate(args) => locate(&args),
    }
}

/// Loads `--zones` files and `--country` codes, in that order; names must be unique.
fn load_sources(sources: &ZoneSources) -> anyhow::Result<Vec<Zone>> {
    let mut zones = Vec::new();
    for path in &sources.zones {
        let loaded =
            load_zone_file_with(path, sources.lenient).map_err(|e| input_error(e.to_string()))?;
        for w in &loaded.warnings {
            eprintln!("skyfence airspace: warning: {w}");
        }
        for s in &loaded.skipped {
            eprintln!("skyfence airspace: zone skipped: {s}");
        }
        if !loaded.skipped.is_empty() {
            eprintln!(
                "skyfence airspace: {}: {} zones loaded, {} skipped (lenient)",
                path.display(),
                loaded.zones.len(),
                loaded.skipped.len()
            );
        }
        zones.extend(loaded.zones);
    }
    for code in &sources.countries {
        zones.push(load_builtin(code)?);
    }
    check_unique_names(&zones).map_err(|e| input_error(e.to_string()))?;
    Ok(zones)
}

fn load_builtin(code: &str) -> anyhow::Result<Zone> {
    builtin::load_country(code).map_err(|e| match e {
        builtin::BuiltinError::Corrupt(_) => anyhow::Error::new(e),
        _ => input_error(format!("--country {code}: {e}")),
    })
}

fn list(sources: &ZoneSources) -> anyhow::Result<()> {
    let zones = load_sources(sources)?;
    let file = builtin::borders().context("reading the built-in borders")?;
    let mut out = String::new();
    if !sources.json {
        out.push_str(&format!(
            "built-in countries ({} {}; {}):\n",
            file.dataset, file.version, ATTRIBUTION
        ));
        out.push_str("code  alpha-3  vertices  name\n");
    }
    for e in &file.entries {
        let c = e.country;
        if sources.json {
            out.push_str(&format!(
                "{}\n",
                json!({"source": "builtin", "name": c.alpha2, "alpha2": c.alpha2, "alpha3": c.alpha3,
                       "country": c.name, "kind": "country", "vertices": e.vertex_count})
            ));
        } else {
            out.push_str(&format!(
                "{:<4}  {:<7}  {:>8}  {}\n",
                c.alpha2, c.alpha3, e.vertex_count, c.name
            ));
        }
    }
    if !zones.is_empty() && !sources.json {
        out.push_str("\nloaded zones:\nname  kind  floor  ceiling  buffer  vertices  source\n");
    }
    for z in &zones {
        if sources.json {
            out.push_str(&format!("{}\n", zone_json(z)));
        } else {
            out.push_str(&format!(
                "{}  {}  {}  {}  {} m  {}  {}\n",
                z.name,
                kind_name(z.kind),
                altitude_text(z.floor_ft, "SFC"),
                altitude_text(z.ceiling_ft, "UNL"),
                z.buffer_m,
                z.vertex_count(),
                z.provenance.source
            ));
        }
    }
    print!("{out}");
    Ok(())
}

fn show(name: &str, sources: &ZoneSources) -> anyhow::Result<()> {
    let zones = load_sources(sources)?;
    let zone = match zones.into_iter().find(|z| z.name == name) {
        Some(z) => z,
        None => match builtin::country(name) {
            Some(_) => load_builtin(name)?,
            None => {
                return Err(input_error(format!(
                    "no zone named {name:?}: expected a built-in country code (AF or AFG) or a zone name from --zones"
                )));
            }
        },
    };
    let country = country_of(&zone);
    if sources.json {
        let mut v = zone_json(&zone);
        if let Some(c) = country {
            v["alpha3"] = json!(c.alpha3);
            v["country"] = json!(c.name);
            v["attribution"] = json!(ATTRIBUTION);
        }
        println!("{v}");
        return Ok(());
    }
    let mut out = String::new();
    match country {
        Some(c) => out.push_str(&format!(
            "name:        {} ({} / {})\n",
            zone.name, c.alpha3, c.name
        )),
        None => out.push_str(&format!("name:        {}\n", zone.name)),
    }
    out.push_str(&format!("kind:        {}\n", kind_name(zone.kind)));
    out.push_str(&format!(
        "floor:       {}\nceiling:     {}\nbuffer:      {} m\n",
        altitude_text(zone.floor_ft, "surface"),
        altitude_text(zone.ceiling_ft, "unlimited"),
        zone.buffer_m
    ));
    if let Some((x0, y0, x1, y1)) = zone.bounding_box() {
        out.push_str(&format!(
            "bbox:        lon {x0:.5} .. {x1:.5}, lat {y0:.5} .. {y1:.5}\n"
        ));
    }
    out.push_str(&format!(
        "polygons:    {}\nholes:       {}\nvertices:    {}\n",
        zone.polygon_count(),
        zone.hole_count(),
        zone.vertex_count()
    ));
    out.push_str(&format!("source:      {}\n", zone.provenance.source));
    if let Some(v) = &zone.provenance.version {
        out.push_str(&format!("version:     {v}\n"));
    }
    out.push_str(&format!("sha256:      {}\n", zone.provenance.sha256));
    if country.is_some() {
        out.push_str(&format!("attribution: {ATTRIBUTION}\n"));
    }
    print!("{out}");
    Ok(())
}

/// One point of `locate`: latitude, longitude, altitude (feet, unknown when absent).
type Query = (f64, f64, Option<i32>);

fn check_point(lat: f64, lon: f64, at: &str) -> anyhow::Result<()> {
    if !(-90.0..=90.0).contains(&lat) {
        return Err(input_error(format!(
            "{at}--lat {lat}: expected degrees in [-90, 90]"
        )));
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(input_error(format!(
            "{at}--lon {lon}: expected degrees in [-180, 180]"
        )));
    }
    Ok(())
}

/// Reads a `--points` file: `LAT,LON[,ALT_FT]` per line.
fn read_points(path: &std::path::Path) -> anyhow::Result<Vec<Query>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| input_error(format!("--points {}: {e}", path.display())))?;
    let mut points = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{}:{}: ", path.display(), n + 1);
        let bad = || {
            input_error(format!(
                "{at}{:?}: expected LAT,LON or LAT,LON,ALT_FT",
                skyfence_core::airspace::load::Excerpt(line)
            ))
        };
        let mut fields = line.split(',').map(str::trim);
        let lat: f64 = fields.next().and_then(|f| f.parse().ok()).ok_or_else(bad)?;
        let lon: f64 = fields.next().and_then(|f| f.parse().ok()).ok_or_else(bad)?;
        let alt = match fields.next() {
            None | Some("") => None,
            Some(f) => Some(f.parse::<i32>().map_err(|_| bad())?),
        };
        if fields.next().is_some() {
            return Err(bad());
        }
        check_point(lat, lon, &at)?;
        points.push((lat, lon, alt));
    }
    Ok(points)
}

fn locate(args: &LocateArgs) -> anyhow::Result<()> {
    let points = match (&args.points, args.lat, args.lon) {
        (Some(path), _, _) => read_points(path)?,
        (None, Some(lat), Some(lon)) => {
            check_point(lat, lon, "")?;
            vec![(lat, lon, args.alt_ft)]
        }
        _ => {
            return Err(input_error(
                "locate needs --lat and --lon, or --points FILE",
            ));
        }
    };
    let sources = &args.sources;
    let mut zones = load_sources(sources)?;
    if sources.countries.is_empty() {
        // Every built-in country whose bounding box holds a point (the rest cannot
        // contain one), skipping any already loaded under the same name.
        let file = builtin::borders().context("reading the built-in borders")?;
        for e in &file.entries {
            let (x0, y0, x1, y1) = e.bbox;
            let inside_box = points
                .iter()
                .any(|&(lat, lon, _)| lon >= x0 && lon <= x1 && lat >= y0 && lat <= y1);
            if inside_box && !zones.iter().any(|z| z.name == e.country.alpha2) {
                zones.push(load_builtin(e.country.alpha3)?);
            }
        }
    }
    // One index for every point.
    let index = AirspaceIndex::new(zones);
    let json = sources.json || args.points.is_some();
    let mut out = String::new();
    let mut ids = Vec::new();
    for &(lat, lon, alt_ft) in &points {
        let p = GeoPoint { lat, lon };
        ids.clear();
        index.locate(p, alt_ft, &mut ids);
        // (zone, distance to its lateral border in metres)
        let found: Vec<(&Zone, f64)> = ids
            .iter()
            .filter_map(|&id| Some((index.zone(id)?, index.distance_to_boundary_m(id, p))))
            .collect();
        // Zones whose approach-warning band holds the point (outside, within buffer_m).
        let near: Vec<(&Zone, f64)> = (0..index.zones().len())
            .filter_map(|i| u32::try_from(i).ok().map(ZoneId))
            .filter(|&id| index.in_buffer(id, p))
            .filter_map(|id| Some((index.zone(id)?, index.distance_to_boundary_m(id, p))))
            .filter(|(z, _)| z.contains_altitude(alt_ft))
            .collect();
        if json {
            let entry = |z: &Zone, d: f64| {
                let mut v = json!({"zone": z.name, "kind": kind_name(z.kind),
                                   "floor_ft": z.floor_ft, "ceiling_ft": z.ceiling_ft,
                                   "distance_to_border_m": round_m(d)});
                if let Some(c) = country_of(z) {
                    v["country"] = json!(c.name);
                }
                v
            };
            let list: Vec<_> = found.iter().map(|(z, d)| entry(z, *d)).collect();
            let near: Vec<_> = near.iter().map(|(z, d)| entry(z, *d)).collect();
            out.push_str(&format!(
                "{}\n",
                json!({"lat": lat, "lon": lon, "alt_ft": alt_ft, "zones": list,
                       "in_buffer": near})
            ));
            continue;
        }
        let alt = alt_ft.map_or_else(|| "altitude unknown".to_owned(), |a| format!("{a} ft"));
        out.push_str(&format!(
            "{:.5}, {:.5} ({alt}): inside {} zone{}\n",
            lat,
            lon,
            found.len(),
            if found.len() == 1 { "" } else { "s" }
        ));
        for (z, d) in &found {
            let label = country_of(z).map_or_else(String::new, |c| format!(" ({})", c.name));
            out.push_str(&format!(
                "  {}{label}  {}  {} .. {}  {} to the border\n",
                z.name,
                kind_name(z.kind),
                altitude_text(z.floor_ft, "SFC"),
                altitude_text(z.ceiling_ft, "UNL"),
                distance_text(*d)
            ));
        }
        for (z, d) in &near {
            out.push_str(&format!(
                "  approaching {}: {} outside (warning band {} m)\n",
                z.name,
                distance_text(*d),
                z.buffer_m
            ));
        }
    }
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// The ISO country of a built-in zone.
fn country_of(zone: &Zone) -> Option<&'static Country> {
    (zone.kind == ZoneKind::Country)
        .then(|| builtin::country(&zone.name))
        .flatten()
}

fn kind_name(kind: ZoneKind) -> &'static str {
    match kind {
        ZoneKind::Country => "country",
        ZoneKind::Restricted => "restricted",
        ZoneKind::Custom => "custom",
    }
}

/// Metres rounded to the decimetre for JSON output.
fn round_m(d: f64) -> f64 {
    (d * 10.0).round() / 10.0
}

fn distance_text(d: f64) -> String {
    if d >= 10_000.0 {
        format!("{:.1} km", d / 1000.0)
    } else {
        format!("{d:.0} m")
    }
}

fn altitude_text(ft: Option<i32>, none: &str) -> String {
    ft.map_or_else(|| none.to_owned(), |f| format!("{f} ft"))
}

fn zone_json(z: &Zone) -> serde_json::Value {
    json!({
        "name": z.name,
        "kind": kind_name(z.kind),
        "floor_ft": z.floor_ft,
        "ceiling_ft": z.ceiling_ft,
        "buffer_m": z.buffer_m,
        "bbox": z.bounding_box().map(|(a, b, c, d)| [a, b, c, d]),
        "polygons": z.polygon_count(),
        "holes": z.hole_count(),
        "vertices": z.vertex_count(),
        "source": z.provenance.source,
        "version": z.provenance.version,
        "sha256": z.provenance.sha256,
    })
}
