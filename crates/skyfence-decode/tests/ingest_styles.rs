//! The ingest step gives the same observations however it is driven: the way `skyfence
//! analyze` drives it (a file through the `FMT:PATH` reader, item by item, one shared
//! decoder) and the way the live service's detector task does (bytes arriving in
//! arbitrary socket-sized chunks through the registry codec, items handed over in
//! batches, a decoder per source). Input: the first 40 000 frames of the real recording
//! testdata/long_flight.csv (rs1090 0.7.0, MIT; see testdata/README.md), with every
//! seventh frame received a second time 3 ms later, so duplicate removal is exercised.

use std::io::Cursor;

use skyfence_core::{Observation, SourceId};
use skyfence_decode::codec::{ClockOptions, Item};
use skyfence_decode::format::RAW;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested, Lanes};
use skyfence_decode::input::{InputReader, InputSpec};

fn recording_with_copies() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/long_flight.csv"
    );
    let text = std::fs::read_to_string(path).expect("testdata/long_flight.csv");
    let mut out = String::from("timestamp,rawmsg\n");
    for (i, line) in text.lines().skip(1).take(40_000).enumerate() {
        out.push_str(line);
        out.push('\n');
        if i % 7 == 0 {
            let (t, hex) = line.split_once(',').expect("TIMESTAMP,HEX");
            let t: f64 = t.parse().expect("seconds");
            out.push_str(&format!("{:.6},{hex}\n", t + 0.003));
        }
    }
    out.into_bytes()
}

const SOURCE: SourceId = SourceId(0);

/// `analyze`: the reader, one item at a time, a shared decoder.
fn analyze_style(bytes: &[u8]) -> (Vec<Observation>, u64) {
    let spec = InputSpec::new(&RAW, None);
    let mut reader = InputReader::from_reader(
        &spec,
        ClockOptions::default(),
        Box::new(Cursor::new(bytes.to_vec())),
    );
    let mut ingest = Ingest::new(IngestConfig {
        lanes: Lanes::Shared,
        ..IngestConfig::default()
    });
    let mut out = Vec::new();
    while let Some(item) = reader.next_item().expect("in memory") {
        if let Ingested::Accepted(obs) = ingest.observe(SOURCE, &item) {
            out.push(obs);
        }
    }
    (out, ingest.duplicates())
}

/// The live pipeline: chunks of 1 to 3000 bytes (a deterministic xorshift), each
/// chunk's items a batch, a decoder per source.
fn pipeline_style(bytes: &[u8]) -> (Vec<Observation>, u64) {
    let mut codec = RAW.codec(ClockOptions::default());
    let mut ingest = Ingest::new(IngestConfig {
        lanes: Lanes::PerSource,
        ..IngestConfig::default()
    });
    let mut out = Vec::new();
    let mut process = |batch: &[Item], ingest: &mut Ingest| {
        for item in batch {
            match ingest.observe(SOURCE, item) {
                Ingested::Accepted(obs) => out.push(obs),
                Ingested::Duplicate | Ingested::Rejected | Ingested::Service => {}
            }
        }
    };
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rest = bytes;
    let mut batch = Vec::new();
    while !rest.is_empty() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let n = (1 + (state % 3000) as usize).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        codec.decode(chunk, &mut |i| batch.push(i));
        process(&batch, &mut ingest);
        batch.clear();
    }
    codec.finish(&mut |i| batch.push(i));
    process(&batch, &mut ingest);
    (out, ingest.duplicates())
}

#[test]
fn analyze_and_pipeline_use_of_the_ingest_step_agree() {
    let bytes = recording_with_copies();
    let (a, a_dups) = analyze_style(&bytes);
    let (p, p_dups) = pipeline_style(&bytes);
    // Every inserted copy is a duplicate (and the recording may hold a few of its own).
    assert!(a_dups >= 40_000 / 7, "{a_dups}");
    assert_eq!(a_dups, p_dups);
    assert!(a.len() > 20_000, "{}", a.len());
    assert!(a.iter().filter(|o| o.position.is_some()).count() > 1000);
    assert!(a.iter().all(|o| o.source == SOURCE && o.raw.is_some()));
    assert_eq!(a.len(), p.len());
    for (i, (x, y)) in a.iter().zip(&p).enumerate() {
        assert_eq!(x, y, "observation {i}");
    }
}
