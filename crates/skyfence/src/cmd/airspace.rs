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
use skyfence_core::airspace::load::{check_unique_names, load_zone_file};
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
    #[arg(long, allow_hyphen_values = true)]
    lat: f64,
    /// Longitude, degrees east (WGS-84), in [-180, 180].
    #[arg(long, allow_hyphen_values = true)]
    lon: f64,
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
        zones.extend(load_zone_file(path).map_err(|e| input_error(e.to_string()))?);
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

fn locate(args: &LocateArgs) -> anyhow::Result<()> {
    if !(-90.0..=90.0).contains(&args.lat) {
        return Err(input_error(format!(
            "--lat {}: expected degrees in [-90, 90]",
            args.lat
        )));
    }
    if !(-180.0..=180.0).contains(&args.lon) {
        return Err(input_error(format!(
            "--lon {}: expected degrees in [-180, 180]",
            args.lon
        )));
    }
    let sources = &args.sources;
    let mut zones = load_sources(sources)?;
    if sources.countries.is_empty() {
        // Every built-in country whose bounding box holds the point (the rest cannot
        // contain it), skipping any already loaded under the same name.
        let file = builtin::borders().context("reading the built-in borders")?;
        for e in &file.entries {
            let (x0, y0, x1, y1) = e.bbox;
            let inside_box = args.lon >= x0 && args.lon <= x1 && args.lat >= y0 && args.lat <= y1;
            if inside_box && !zones.iter().any(|z| z.name == e.country.alpha2) {
                zones.push(load_builtin(e.country.alpha3)?);
            }
        }
    }
    let p = GeoPoint {
        lat: args.lat,
        lon: args.lon,
    };
    let index = AirspaceIndex::new(zones);
    let mut ids = Vec::new();
    index.locate(p, args.alt_ft, &mut ids);
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
        .filter(|(z, _)| z.contains_altitude(args.alt_ft))
        .collect();
    if sources.json {
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
        println!(
            "{}",
            json!({"lat": args.lat, "lon": args.lon, "alt_ft": args.alt_ft, "zones": list,
                   "in_buffer": near})
        );
        return Ok(());
    }
    let alt = args
        .alt_ft
        .map_or_else(|| "altitude unknown".to_owned(), |a| format!("{a} ft"));
    let mut out = format!(
        "{:.5}, {:.5} ({alt}): inside {} zone{}\n",
        args.lat,
        args.lon,
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    );
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
    print!("{out}");
    Ok(())
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
