//! `skyfence decode --input FMT:PATH [--start RFC3339]`: one JSON object per accepted
//! message on stdout (docs/INTERFACES.md, "Decoded message"); counts by drop reason on stderr.

use std::io::{self, BufWriter, Write};

use serde::Serialize;
use serde_json::{Value, json};
use skyfence_core::{GeoPoint, Protocol, Timestamp};
use skyfence_decode::asterix::AsterixItem;
use skyfence_decode::decoder::{DecoderConfig, Message};
use skyfence_decode::json::round_deg;
use skyfence_decode::remoteid::line::{Record, mac_string};
use skyfence_decode::remoteid::message::{
    Decoded, EPOCH_2019_UNIX_S, Message as RidMessage, speed_accuracy_ms, vertical_accuracy_m,
};

use skyfence_service::exit::input_error;
use skyfence_service::input::{self, ClockOptions, InputSpec, Item};

/// Arguments of `skyfence decode`.
#[derive(clap::Args, Debug)]
pub struct DecodeArgs {
    /// Input as FMT:PATH[@SENSOR]: FMT one of raw, beast, avr, sbs, asterix, pcap, remoteid (the format
    /// registry); PATH `-` for standard input.
    #[arg(long, value_name = "FMT:PATH")]
    pub input: InputSpec,
    /// Time at which a Beast/AVR receiver's 12 MHz counter read zero (RFC 3339); ASTERIX
    /// times of day fall on its date (UTC). Without it, Beast and AVR times count from
    /// 1970-01-01T00:00:00Z and ASTERIX times fall on that date.
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub start: Option<Timestamp>,
    /// Read Beast timestamps as Radarcape GPS time of day (on the date of --start).
    #[arg(long)]
    pub gps_clock: bool,
    /// Repair DF17 frames with a single bit in error (counted on stderr).
    #[arg(long)]
    pub correct_single_bit: bool,
    /// Trust a Comm-B (DF20/21) address never heard in DF11/17/18 once N of its replies
    /// within 60 s carry a register the content checks infer and agree with one another
    /// (squawk, callsign, altitude); 0 refuses them all (counted on stderr).
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = parse_commb_trust)]
    pub commb_trust_replies: u32,
    /// The receiver's location as LAT,LON: resolves surface positions of aircraft never
    /// seen airborne (surface CPR is ambiguous by 90° without a reference).
    #[arg(long, value_name = "LAT,LON", value_parser = parse_lat_lon)]
    pub receiver: Option<GeoPoint>,
}

/// clap value parser for `--commb-trust-replies`: 0 (off) or 2 to 1000.
pub fn parse_commb_trust(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n == 0 || (2..=1000).contains(&n) => Ok(n),
        _ => Err(format!(
            "invalid count {text:?}: expected 0 (refuse replies from addresses not heard in DF11/17/18) or 2 to 1000 replies"
        )),
    }
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

/// The JSON shape of one ASTERIX record (`proto: "asterix"`): keys absent when the
/// record has no such item.
#[derive(Serialize)]
struct AsterixJson {
    proto: &'static str,
    at: String,
    category: u8,
    sac: u8,
    sic: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_of_day_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sector_deg: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation_period_s: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nogo: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detection: Option<&'static str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    simulated: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    test: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    icao24: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    callsign: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    squawk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_tentative: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_ended: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    range_nm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    azimuth_deg: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x_nm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y_nm: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lat: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lon: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flight_level: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    alt_geom_ft: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gs_kt: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    track_deg: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    emitter_category: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nacp: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nic: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sil: Option<u8>,
}

impl From<&AsterixItem> for AsterixJson {
    fn from(a: &AsterixItem) -> Self {
        let r = &a.report;
        let s = r.service;
        AsterixJson {
            proto: "asterix",
            at: a.at.to_rfc3339_micros(),
            category: r.category,
            sac: r.sac,
            sic: r.sic,
            time_of_day_s: r.time_of_day_s(),
            message: s.map(|s| s.kind.as_str()),
            sector_deg: s.and_then(|s| s.sector_deg),
            rotation_period_s: s.and_then(|s| s.rotation_period_s),
            nogo: s.and_then(|s| s.nogo),
            detection: r.detection.map(|d| d.as_str()),
            simulated: r.simulated,
            test: r.test,
            icao24: r.address.map(|a| a.to_string()),
            callsign: r.callsign.map(|c| c.to_string()),
            squawk: r.mode3a.map(|s| s.to_string()),
            track_number: r.track_number,
            track_tentative: r.track_tentative,
            track_ended: r.track_ended,
            range_nm: r.polar.map(|p| p.range_nm),
            azimuth_deg: r.polar.map(|p| round_deg(p.azimuth_deg)),
            x_nm: r.cartesian_nm.map(|c| c.0),
            y_nm: r.cartesian_nm.map(|c| c.1),
            lat: r.position.map(|p| round_deg(p.lat)),
            lon: r.position.map(|p| round_deg(p.lon)),
            flight_level: r.flight_level,
            alt_geom_ft: r.geometric_height_ft,
            gs_kt: r.ground_speed_kt,
            track_deg: r.track_deg,
            emitter_category: r.emitter_category,
            nacp: r.nacp,
            nic: r.nic,
            sil: r.sil,
        }
    }
}

/// `skyfence decode` of an ASTERIX input: every record as it arrived (polar plots stay
/// polar: placing them needs the radar's `[[sensor]]`, which `analyze --config` reads).
/// A capture (`pcap`) may also carry Remote ID: each of its messages as with `remoteid`.
fn run_asterix(args: &DecodeArgs, clock: ClockOptions) -> anyhow::Result<()> {
    let mut input = input::open(&args.input, clock)?;
    let stdout = io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 16, stdout);
    let mut records = 0u64;
    let mut rejected = skyfence_decode::DropCounts::default();
    let result = (|| -> anyhow::Result<()> {
        while let Some(item) = input.next_item()? {
            match &item {
                Item::Asterix(a) => {
                    records += 1;
                    serde_json::to_writer(&mut out, &AsterixJson::from(&**a))?;
                    out.write_all(b"\n")?;
                }
                Item::RemoteId(r) => {
                    let mut failed = Ok(());
                    skyfence_decode::remoteid::decode_record(
                        r.data(),
                        &mut |d| {
                            records += 1;
                            if failed.is_ok() {
                                failed = serde_json::to_writer(&mut out, &remoteid_json(r, &d))
                                    .map_err(io::Error::from)
                                    .and_then(|()| out.write_all(b"\n"));
                            }
                        },
                        &mut |reason| rejected.add(reason),
                    );
                    failed?;
                }
                _ => {}
            }
        }
        out.flush()?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            let mut drops = input.drops();
            drops.merge(&rejected);
            let stats = input::InputStats {
                bytes: input.bytes,
                frames: input.items,
                messages: records,
                drops,
                ..Default::default()
            };
            eprintln!("skyfence decode: {}", input::summary(&args.input, &stats));
            Ok(())
        }
        Err(e) if is_broken_pipe(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A System or Authentication time (seconds since 2019-01-01) as RFC 3339.
fn time_2019(seconds: Option<u32>) -> Option<String> {
    seconds.map(|s| Timestamp::from_secs(EPOCH_2019_UNIX_S + i64::from(s)).to_rfc3339_millis())
}

/// The JSON of one Remote ID message (docs/INTERFACES.md, "Decoded message"): `proto`
/// `remoteid`, the record's time, receiver, RSSI and transmitter, the message's protocol
/// version and type, and its fields; keys absent when unknown.
fn remoteid_json(record: &Record, d: &Decoded) -> Value {
    let mut v = json!({
        "proto": "remoteid",
        "at": record.at.to_rfc3339_micros(),
        "receiver": record.receiver.map(|r| r.to_string()),
        "rssi_dbm": record.rssi_dbm,
        "transmitter": record.transmitter.map(mac_string),
        "version": d.version,
        "type": d.message.message_type().as_str(),
    });
    let fields = match &d.message {
        RidMessage::BasicId(b) => json!({
            "id_type": b.id_type.as_str(),
            "ua_type": b.ua_type.as_str(),
            "uas_id": if b.id_type.is_text() {
                String::from_utf8_lossy(b.id_bytes()).into_owned()
            } else {
                hex(b.id_bytes())
            },
            "target": b.target_name().map(|n| n.as_str().to_string()),
        }),
        RidMessage::Location(l) => json!({
            "status": l.status.as_str(),
            "lat": l.position.map(|p| round_deg(p.lat)),
            "lon": l.position.map(|p| round_deg(p.lon)),
            "accuracy_m": l.accuracy_m(),
            "alt_baro_m": l.alt_baro_m,
            "alt_geo_m": l.alt_geo_m,
            "height_m": l.height_m,
            "height_ref": l.height_ref.as_str(),
            "v_accuracy_m": vertical_accuracy_m(l.v_accuracy),
            "baro_accuracy_m": vertical_accuracy_m(l.baro_accuracy),
            "direction_deg": l.direction_deg,
            "speed_ms": l.speed_ms,
            "vspeed_ms": l.vspeed_ms,
            "speed_accuracy_ms": speed_accuracy_ms(l.speed_accuracy),
            "time_after_hour_s": l.tenths_after_hour.map(|t| f64::from(t) / 10.0),
            "time_accuracy_s": l.time_accuracy_tenths.map(|t| f64::from(t) / 10.0),
        }),
        RidMessage::Auth(a) => json!({
            "auth_type": a.auth_type.as_str(),
            "page": a.page,
            "last_page": a.last_page,
            "length": a.length,
            "timestamp": time_2019(a.timestamp_s),
            "data": hex(a.data()),
        }),
        RidMessage::SelfId(s) => json!({
            "desc_type": s.desc_type,
            "text": s.text(),
        }),
        RidMessage::System(s) => json!({
            "operator_location_type": s.operator_location_type.as_str(),
            "classification_type": s.classification_type,
            "operator_lat": s.operator.map(|p| round_deg(p.lat)),
            "operator_lon": s.operator.map(|p| round_deg(p.lon)),
            "operator_alt_geo_m": s.operator_alt_geo_m,
            "area_count": s.area_count,
            "area_radius_m": s.area_radius_m,
            "area_ceiling_m": s.area_ceiling_m,
            "area_floor_m": s.area_floor_m,
            "category_eu": s.category_eu,
            "class_eu": s.class_eu,
            "timestamp": time_2019(s.timestamp_s),
        }),
        RidMessage::OperatorId(o) => json!({
            "operator_id_type": o.id_type,
            "operator_id": o.id(),
        }),
    };
    if let (Value::Object(all), Value::Object(fields)) = (&mut v, fields) {
        all.extend(fields);
        all.retain(|_, x| !x.is_null());
    }
    v
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
    if args.input.format.protocol == Protocol::Asterix {
        return run_asterix(&args, clock);
    }
    let config = DecoderConfig {
        correct_single_bit: args.correct_single_bit,
        pace_untimed: true,
        commb_trust_replies: args.commb_trust_replies,
        ..Default::default()
    };
    let result = if args.input.format.protocol == Protocol::RemoteId {
        let stdout = io::stdout().lock();
        let mut out = BufWriter::with_capacity(1 << 16, stdout);
        input::read_remoteid_messages(&args.input, clock, |record, message| {
            serde_json::to_writer(&mut out, &remoteid_json(record, message))?;
            out.write_all(b"\n")
        })
        .and_then(|stats| {
            out.flush()?;
            Ok(stats)
        })
    } else {
        write_messages_pipelined(&args, clock, config)
    };
    match result {
        Ok(stats) => {
            if let Some(w) = input::untimed_warning(stats.untimed, stats.frames) {
                eprintln!("skyfence decode: {w}");
            }
            eprintln!("skyfence decode: {}", input::summary(&args.input, &stats));
            Ok(())
        }
        // A reader that went away (`| head`) is not a failure of ours.
        Err(e) if is_broken_pipe(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Messages handed from the decoding thread to the writing one at a time.
const BATCH: usize = 1024;

/// Decodes Mode S input on this thread and writes its JSON lines on a second one, so
/// that formatting and the writes to a pipe overlap the decoding (which is sequential:
/// one decoder state per input). Lines go out through one buffer
/// (`skyfence_decode::json`, no allocation per message), 64 KiB at a time. Batches of
/// messages travel through a bounded channel (at most 4 in flight, about 1 MB) and come
/// back empty to be refilled.
fn write_messages_pipelined(
    args: &DecodeArgs,
    clock: ClockOptions,
    config: DecoderConfig,
) -> anyhow::Result<input::InputStats> {
    use std::sync::mpsc;
    let (full_tx, full_rx) = mpsc::sync_channel::<Vec<Message>>(4);
    let (empty_tx, empty_rx) = mpsc::channel::<Vec<Message>>();
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> io::Result<()> {
            let mut out = io::stdout().lock();
            let mut line = Vec::with_capacity(1 << 17);
            let mut json = skyfence_decode::json::LineWriter::default();
            for mut batch in full_rx {
                for m in &batch {
                    json.write(&mut line, m);
                    line.push(b'\n');
                    if line.len() >= 1 << 16 {
                        out.write_all(&line)?;
                        line.clear();
                    }
                }
                batch.clear();
                // The decoding side may have finished: then the batch is not needed.
                let _ = empty_tx.send(batch);
            }
            out.write_all(&line)?;
            out.flush()
        });
        let mut batch = Vec::with_capacity(BATCH);
        let decoded = input::read_messages(&args.input, clock, config, |m| {
            batch.push(*m);
            if batch.len() == BATCH {
                let next = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| Vec::with_capacity(BATCH));
                if full_tx.send(std::mem::replace(&mut batch, next)).is_err() {
                    // The writer stopped on an error, which is reported below.
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "output closed"));
                }
            }
            Ok(())
        });
        if decoded.is_ok() && !batch.is_empty() {
            // A send error means the writer stopped on an error, reported below.
            let _ = full_tx.send(batch);
        }
        drop(full_tx);
        let written = writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the output thread panicked")));
        // The writer's error first: a closed pipe makes the decoding side stop too.
        written?;
        decoded
    })
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
