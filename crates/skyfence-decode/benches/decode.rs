//! End-to-end decode throughput on a real recording, skyfence against rs1090 in the
//! same run (target: ≥ 10 M frames/s on one core for Beast parsing + CRC +
//! fields + CPR, ≥ 50× rs1090).
//!
//! Input: `testdata/long_flight.csv` (172 432 real frames, provenance in
//! `testdata/README.md`), read with skyfence's `raw` decoder and re-encoded as one Beast
//! buffer with skyfence's encoder (12 MHz counter from the recording's times) during
//! setup. Two sets of frames are measured:
//!
//! - `all`: every frame of the recording (DF 0/4/5/11/16/17/18/20/21);
//! - `adsb`: only its DF17/18 extended squitters, the ADS-B mix.
//!
//! Benchmarks (throughput in frames):
//!
//! - `skyfence/beast`: Beast bytes → `BeastDecoder` → `Decoder` (CRC, address
//!   admission, fields, CPR pairing and local decoding, speed gate): the whole path a
//!   live feed takes;
//! - `skyfence/frames`: the same `Decoder` on frames already split out, the work the
//!   rs1090 row does;
//! - `skyfence/json-lines`: `skyfence/frames` with every message written as the JSON
//!   line `skyfence decode` prints (`json::LineWriter`, into a reused buffer);
//! - `skyfence/frames-commb-off`: the same without Comm-B inference
//!   (`CommBInference::Off`), the decoder's work before it inferred DF20/21 registers;
//! - `rs1090/frames`: rs1090 0.7 on the same frame bytes: `Message::from_bytes` (its
//!   CRC and field decoding) and, for DF17/18, `cpr::decode_position` with its
//!   per-aircraft state, i.e. what its own offline `decode_positions` does. rs1090's
//!   Beast reader is asynchronous (tokio streams), so rs1090 gets the frames pre-split:
//!   that favours rs1090.
//!
//! A fresh decoder (no aircraft known) per iteration, so each iteration decodes the
//! recording exactly as `skyfence decode` does.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rs1090::decode::cpr::{AircraftState, Position, decode_position};
use rs1090::prelude::*;
use skyfence_core::{SourceId, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::beast::{BeastClock, BeastDecoder, encode_beast_since};
use skyfence_decode::codec::ClockOptions;
use skyfence_decode::decoder::{CommBInference, Decoder, DecoderConfig};
use skyfence_decode::format;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested};
use skyfence_decode::json::LineWriter;
use skyfence_decode::raw::RawDecoder;

/// The recording, as frames and as the Beast stream a receiver would have sent.
struct Recording {
    frames: Vec<Frame>,
    beast: Vec<u8>,
    clock: BeastClock,
}

fn load(filter: impl Fn(&Frame) -> bool) -> Recording {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/long_flight.csv"
    );
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let (frames, drops) = RawDecoder::decode_all(&text);
    assert_eq!(
        drops.total_messages(),
        0,
        "{path} should decode without drops"
    );
    let frames: Vec<Frame> = frames.into_iter().filter(|f| filter(f)).collect();
    let start = frames.first().map(|f| f.at).expect("recording has frames");
    let mut beast = Vec::with_capacity(frames.len() * 24);
    for f in &frames {
        encode_beast_since(f, start, &mut beast);
    }
    Recording {
        frames,
        beast,
        clock: BeastClock::Counter12Mhz { start },
    }
}

fn is_extended_squitter(f: &Frame) -> bool {
    matches!(f.data().first().map(|b| b >> 3), Some(17 | 18))
}

/// skyfence on the Beast stream: returns (messages, positions) so nothing is optimised out.
fn skyfence_beast(rec: &Recording) -> (u64, u64) {
    let mut beast = BeastDecoder::new(rec.clock);
    let mut decoder = Decoder::new(DecoderConfig::default());
    let (mut messages, mut positions) = (0u64, 0u64);
    beast.decode(&rec.beast, &mut |frame| {
        if let Some(m) = decoder.decode(&frame) {
            messages += 1;
            positions += u64::from(m.position.is_some());
        }
    });
    beast.finish();
    (messages, positions)
}

/// skyfence the way `analyze`, the live service and the verifier run it: the Beast codec
/// from the format registry (through the `Codec` trait) into the shared ingest step
/// (dedup → decode → `Observation`).
fn skyfence_ingest(rec: &Recording, start: Timestamp) -> (u64, u64) {
    let mut codec = format::BEAST.codec(ClockOptions {
        start: Some(start),
        gps: false,
    });
    let mut ingest = Ingest::new(IngestConfig::default());
    let (mut observations, mut positions) = (0u64, 0u64);
    codec.decode(&rec.beast, &mut |item| {
        if let Ingested::Accepted(o) = ingest.observe(SourceId(0), &item) {
            observations += 1;
            positions += u64::from(o.position.is_some());
        }
    });
    codec.finish(&mut |_| {});
    (observations, positions)
}

/// skyfence on frames already split out of their framing.
fn skyfence_frames(frames: &[Frame], commb: CommBInference) -> (u64, u64) {
    let mut decoder = Decoder::new(DecoderConfig {
        commb,
        ..DecoderConfig::default()
    });
    let (mut messages, mut positions) = (0u64, 0u64);
    for frame in frames {
        if let Some(m) = decoder.decode(frame) {
            messages += 1;
            positions += u64::from(m.position.is_some());
        }
    }
    (messages, positions)
}

/// skyfence on frames already split out, each message written as `decode`'s JSON line
/// (`json::LineWriter`): returns (lines, bytes).
fn skyfence_json_lines(frames: &[Frame], out: &mut Vec<u8>) -> (u64, u64) {
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut writer = LineWriter::default();
    let (mut lines, mut bytes) = (0u64, 0u64);
    out.clear();
    for frame in frames {
        if let Some(m) = decoder.decode(frame) {
            writer.write(out, &m);
            out.push(b'\n');
            lines += 1;
            if out.len() >= 1 << 16 {
                bytes += out.len() as u64;
                out.clear();
            }
        }
    }
    (lines, bytes + out.len() as u64)
}

/// rs1090 on the same frame bytes, with its CPR position decoding.
fn rs1090_frames(frames: &[(f64, Vec<u8>)]) -> (u64, u64) {
    let mut aircraft: BTreeMap<ICAO, AircraftState> = BTreeMap::new();
    let mut reference: Option<Position> = None;
    let (mut messages, mut positions) = (0u64, 0u64);
    for (ts, bytes) in frames {
        let Ok((_, mut msg)) = Message::from_bytes((bytes, 0)) else {
            continue;
        };
        messages += 1;
        let me = match &mut msg.df {
            ExtendedSquitterADSB(adsb) => Some((&mut adsb.message, adsb.icao24)),
            ExtendedSquitterTisB { cf, .. } => Some((&mut cf.me, cf.aa)),
            _ => None,
        };
        if let Some((me, icao)) = me {
            decode_position(me, *ts, &icao, &mut aircraft, &mut reference, &None);
            positions += u64::from(matches!(
                me,
                ME::BDS05 { inner, .. } if inner.latitude.is_some()
            ));
        }
        black_box(&msg);
    }
    (messages, positions)
}

fn bench_set(c: &mut Criterion, name: &str, rec: &Recording) {
    let n = rec.frames.len() as u64;
    let rs_frames: Vec<(f64, Vec<u8>)> = rec
        .frames
        .iter()
        .map(|f| (f.at.as_secs_f64(), f.data().to_vec()))
        .collect();

    // One pass of each outside the timing, to print what the runs decode.
    let (sm, sp) = skyfence_beast(rec);
    let (fm, fp) = skyfence_frames(&rec.frames, CommBInference::Infer);
    let start = rec.frames[0].at;
    let (im, ip) = skyfence_ingest(rec, start);
    let (rm, rp) = rs1090_frames(&rs_frames);
    eprintln!(
        "decode/{name}: {n} frames ({} Beast bytes); skyfence beast: {sm} messages, \
         {sp} positions; skyfence frames: {fm} messages, {fp} positions; \
         skyfence ingest: {im} observations, {ip} positions; \
         rs1090: {rm} messages, {rp} airborne positions",
        rec.beast.len()
    );

    let mut group = c.benchmark_group(format!("decode/{name}"));
    group.throughput(Throughput::Elements(n));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("skyfence/beast", |b| {
        b.iter(|| skyfence_beast(black_box(rec)))
    });
    group.bench_function("skyfence/frames", |b| {
        b.iter(|| skyfence_frames(black_box(&rec.frames), CommBInference::Infer))
    });
    // The same without Comm-B inference: the work builds before the inference did, for
    // comparisons with them (`benches/compare-builds.sh`).
    group.bench_function("skyfence/frames-commb-off", |b| {
        b.iter(|| skyfence_frames(black_box(&rec.frames), CommBInference::Off))
    });
    // The same, each message also written as a JSON line (`skyfence decode`'s output).
    let mut out = Vec::with_capacity(1 << 17);
    group.bench_function("skyfence/json-lines", |b| {
        b.iter(|| skyfence_json_lines(black_box(&rec.frames), &mut out))
    });
    group.bench_function("skyfence/ingest", |b| {
        b.iter(|| skyfence_ingest(black_box(rec), start))
    });
    // rs1090 takes about a second per pass over the recording: flat sampling keeps the
    // run short (10 samples of one pass each) without changing what is measured.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("rs1090/frames", |b| {
        b.iter(|| rs1090_frames(black_box(&rs_frames)))
    });
    group.finish();
}

fn decode_long_flight(c: &mut Criterion) {
    bench_set(c, "all", &load(|_| true));
    bench_set(c, "adsb", &load(is_extended_squitter));
}

criterion_group!(benches, decode_long_flight);
criterion_main!(benches);
