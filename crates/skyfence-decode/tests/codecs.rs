//! Every codec of the format registry, through the `Codec` trait: what it delivers,
//! drops and counts of its clock does not depend on where the stream is cut. The inputs
//! mix valid records of every format (written by the registry's simulator encoders)
//! with arbitrary bytes; the fuzz target `codecs` checks the same on any input.

use proptest::prelude::*;
use skyfence_core::{Protocol, Timestamp};
use skyfence_decode::codec::{ClockOptions, Item};
use skyfence_decode::decoder::{Decoder, DecoderConfig};
use skyfence_decode::format::{Encode, FORMATS, Format};
use skyfence_decode::remoteid::encode_pack;
use skyfence_decode::remoteid::line::{Record, encode_line};
use skyfence_decode::{Frame, beast};

const START: Timestamp = Timestamp::from_secs(1_700_000_000);

/// KLM1023's identification and 40621D's even position ("The 1090 Megahertz Riddle").
const FRAMES: [&str; 2] = [
    "8D4840D6202CC371C32CE0576098",
    "8D40621D58C382D690C8AC2863A7",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `n` valid records of `format`, a millisecond apart.
fn records(format: &Format, n: usize) -> Vec<u8> {
    if format.protocol == Protocol::RemoteId {
        return remoteid_records(n);
    }
    let Some(w) = format.writer else {
        return Vec::new();
    };
    let mut decoder = Decoder::new(DecoderConfig::default());
    let (mut bytes, mut text) = (w.header.as_bytes().to_vec(), String::new());
    for k in 0..n {
        let at = START.add_micros(1000 * k as i64);
        let mut f = Frame::new(at, &hex(FRAMES[k % 2])).unwrap();
        f.counter = Some(beast::counter_12mhz(at, START));
        match w.encode {
            Encode::FrameBytes(e) => e(&f, &mut bytes),
            Encode::FrameText(e) => e(&f, &mut text),
            Encode::MessageText(e) => {
                if let Some(m) = decoder.decode(&f) {
                    e(&m, &mut text);
                }
            }
        }
    }
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// `n` Remote ID lines: Basic ID messages from one transmitter, then message packs.
fn remoteid_records(n: usize) -> Vec<u8> {
    let mut basic = [0u8; 25];
    basic[0] = 0x02;
    basic[1] = 0x12;
    basic[2..10].copy_from_slice(b"SKYF0001");
    let mut text = String::from("timestamp,receiver,rssi,transmitter,hex\n");
    for k in 0..n {
        let at = START.add_micros(1000 * k as i64);
        let record = if k % 2 == 0 {
            Record::new(at, Some([1, 2, 3, 4, 5, 6]), &basic)
        } else {
            let mut pack = Vec::new();
            encode_pack(2, &[basic, basic], &mut pack);
            Record::new(at, None, &pack)
        };
        encode_line(&record.unwrap(), &mut text);
    }
    text.into_bytes()
}

/// Items as text (`Debug` compares NaN fields alike), drops and clock statistics.
fn run(format: &Format, chunks: &[&[u8]]) -> (Vec<String>, String) {
    let clock = ClockOptions {
        start: Some(START),
        gps: false,
    };
    let mut codec = format.codec(clock);
    let mut items: Vec<Item> = Vec::new();
    for c in chunks {
        codec.decode(c, &mut |i| items.push(i));
    }
    codec.finish(&mut |i| items.push(i));
    (
        items.iter().map(|i| format!("{i:?}")).collect(),
        format!("{:?} {:?}", codec.drops(), codec.clock_stats()),
    )
}

#[test]
fn valid_records_of_every_format_decode_without_drops() {
    for f in FORMATS {
        assert_eq!(f.codec(ClockOptions::default()).drops().total_messages(), 0);
        // Formats without a simulator encoder (ASTERIX) have their own stream tests.
        if f.writer.is_none() {
            continue;
        }
        let bytes = records(f, 50);
        let (items, stats) = run(f, &[&bytes]);
        assert_eq!(items.len(), 50, "{}: {stats}", f.name);
        // Mode S receiver clocks (Beast, AVR counters) report wraps and restarts.
        assert_eq!(
            f.codec(ClockOptions::default()).clock_stats().is_some(),
            f.receiver_clock,
            "{}",
            f.name
        );
    }
}

proptest! {
    #[test]
    fn chunking_never_changes_what_a_codec_delivers(
        which in 0..FORMATS.len(),
        n in 0usize..40,
        noise in proptest::collection::vec(any::<u8>(), 0..64),
        at in 0usize..4096,
        cuts in proptest::collection::vec(0usize..64, 0..12),
    ) {
        let format = FORMATS[which];
        let mut stream = records(format, n);
        let at = at.min(stream.len());
        stream.splice(at..at, noise);
        let whole = run(format, &[&stream]);
        let mut chunks = Vec::new();
        let mut rest = &stream[..];
        for c in cuts {
            let (a, b) = rest.split_at(c.min(rest.len()));
            chunks.push(a);
            rest = b;
        }
        chunks.push(rest);
        prop_assert_eq!(run(format, &chunks), whole);
    }
}
