//! `skyfence decode --input FMT:PATH [--start RFC3339]`: one JSON object per accepted
//! message on stdout (docs/INTERFACES.md, "Decoded message"); counts by drop reason on stderr.

use std::io::{self, BufWriter, Write};

use serde::Serialize;
use skyfence_core::{GeoPoint, Timestamp};
use skyfence_decode::Message;
use skyfence_decode::decoder::DecoderConfig;

use skyfence_service::exit::input_error;
use skyfence_service::input::{self, ClockOptions, InputSpec};

/// Arguments of `skyfence decode`.
#[derive(clap::Args, Debug)]
pub struct DecodeArgs {
    /// Input as FMT:PATH[@SENSOR]: FMT one of raw, beast, avr, sbs (the format
    /// registry); PATH `-` for standard input.
    #[arg(long, value_name = "FMT:PATH")]
    pub input: InputSpec,
    /// Time at which a Beast/AVR receiver's 12 MHz counter read zero (RFC 3339).
    /// Without it, Beast and AVR times count from 1970-01-01T00:00:00Z.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub start: Option<Timestamp>,
    /// Read Beast timestamps as Radarcape GPS time of day (on the date of --start).
    #[arg(long)]
    pub gps_clock: bool,
    /// Repair DF17 frames with a single bit in error (counted on stderr).
    #[arg(long)]
    pub correct_single_bit: bool,
    /// The receiver's location as LAT,LON: resolves surface positions of aircraft never
    /// seen airborne (surface CPR is ambiguous by 90° without a reference).
    #[arg(long, value_name = "LAT,LON", value_parser = parse_lat_lon)]
    pub receiver: Option<GeoPoint>,
}

/// clap value parser for `LAT,LON` in degrees.
pub fn parse_lat_lon(text: &str) -> Result<GeoPoint, String> {
    let err =
        || format!("invalid position {text:?}: expected LAT,LON in degrees, e.g. 34.53,69.17");
    let (lat, lon) = text.split_once(',').ok_or_else(err)?;
    let lat: f64 = lat.trim().parse().map_err(|_| err())?;
    let lon: f64 = lon.trim().parse().map_err(|_| err())?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(err());
    }
    Ok(GeoPoint::new(lat, lon))
}

/// clap value parser for RFC 3339 times.
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    Timestamp::parse_rfc3339(text).map_err(|e| e.to_string())
}

/// The JSON shape of one decoded message: keys absent when unknown.
#[derive(Serialize)]
struct DecodedJson {
    at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    df: Option<u8>,
    icao24: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tc: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callsign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt_ft: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt_geom_ft: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gs_kt: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_deg: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vrate_fpm: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    squawk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpr: Option<&'static str>,
    /// Extension key (docs/INTERFACES.md allows new keys): NACp 0–11 from ADS-B operational
    /// status (TC 31, version ≥ 1) or target state and status (TC 29 subtype 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    nacp: Option<u8>,
    /// Extension key: ADS-B version from operational status (TC 31).
    #[serde(skip_serializing_if = "Option::is_none")]
    adsb_version: Option<u8>,
}

/// Rounds degrees to 1e-6° (≈ 0.1 m), far below the 17-bit CPR resolution (≈ 5 m), so
/// the output is short and stable across platforms.
fn round_deg(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

impl From<&Message> for DecodedJson {
    fn from(m: &Message) -> Self {
        DecodedJson {
            at: m.at.to_rfc3339_micros(),
            df: m.df,
            icao24: m.icao24.to_string(),
            tc: m.tc,
            callsign: m.callsign.map(|c| c.to_string()),
            category: m.category.map(|c| c.to_string()),
            lat: m.position.map(|p| round_deg(p.lat)),
            lon: m.position.map(|p| round_deg(p.lon)),
            alt_ft: m.alt_ft,
            alt_geom_ft: m.alt_geom_ft,
            gs_kt: m.gs_kt,
            track_deg: m.track_deg,
            vrate_fpm: m.vrate_fpm,
            squawk: m.squawk.map(|s| s.to_string()),
            cpr: m.cpr.map(|c| c.as_str()),
            nacp: m.nacp,
            adsb_version: m.adsb_version,
        }
    }
}

/// Runs `skyfence decode`.
pub fn run(args: DecodeArgs) -> anyhow::Result<()> {
    if args.input.format.receiver_clock && args.start.is_none() {
        eprintln!(
            "skyfence decode: note: no --start given; {} times count from 1970-01-01T00:00:00Z",
            args.input.format.name
        );
    }
    if args.gps_clock && !args.input.format.receiver_clock {
        return Err(input_error(format!(
            "--gps-clock applies to {} input, not {}",
            skyfence_decode::format::names_where(|f| f.receiver_clock).replace(" or ", " and "),
            args.input.format.name
        )));
    }
    let clock = ClockOptions {
        start: args.start,
        gps: args.gps_clock,
    };
    let config = DecoderConfig {
        correct_single_bit: args.correct_single_bit,
        ..Default::default()
    };
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let result = input::read_messages(&args.input, clock, config, |m| {
        serde_json::to_writer(&mut out, &DecodedJson::from(m))?;
        out.write_all(b"\n")
    });
    let flushed = out.flush();
    match result.and_then(|stats| flushed.map(|()| stats).map_err(Into::into)) {
        Ok(stats) => {
            eprintln!("skyfence decode: {}", input::summary(&args.input, &stats));
            Ok(())
        }
        // A reader that went away (`| head`) is not a failure of ours.
        Err(e) if is_broken_pipe(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            || c.downcast_ref::<serde_json::Error>()
                .and_then(|j| j.io_error_kind())
                .is_some_and(|k| k == io::ErrorKind::BrokenPipe)
    })
}
