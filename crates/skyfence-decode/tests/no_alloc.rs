//! "No allocation per frame", checked with a counting heap profiler: Beast
//! framing plus the stateful Mode S decoder over the real recording
//! (testdata/long_flight.csv, rs1090 0.7.0, MIT) allocate only when the per-aircraft
//! maps grow, never per frame.
//!
//! dhat replaces the global allocator of this test binary only, hence its own file.

use skyfence_core::Timestamp;
use skyfence_decode::beast::{BeastClock, BeastDecoder, encode_beast_since};
use skyfence_decode::decoder::{Decoder, DecoderConfig};
use skyfence_decode::raw::RawDecoder;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

#[test]
fn beast_framing_and_decoding_allocate_nothing_per_frame() {
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/long_flight.csv"
    ))
    .expect("testdata/long_flight.csv");
    let (frames, _) = RawDecoder::decode_all(&text);
    let start = Timestamp::from_secs(frames[0].at.as_micros() / 1_000_000);
    let mut beast = Vec::new();
    for f in &frames {
        encode_beast_since(f, start, &mut beast);
    }
    let (first, second) = beast.split_at(beast.len() / 2);

    let _profiler = dhat::Profiler::builder().testing().build();
    let mut framer = BeastDecoder::new(BeastClock::Counter12Mhz { start });
    let mut decoder = Decoder::new(DecoderConfig::default());
    let mut accepted = 0u64;
    // Warm-up: the first hour meets most aircraft and sizes the maps.
    for chunk in first.chunks(4096) {
        framer.decode(chunk, &mut |f| {
            accepted += u64::from(decoder.decode(&f).is_some())
        });
    }
    let before = dhat::HeapStats::get();
    let mut n = 0u64;
    for chunk in second.chunks(4096) {
        framer.decode(chunk, &mut |f| {
            n += 1;
            accepted += u64::from(decoder.decode(&f).is_some());
        });
    }
    let after = dhat::HeapStats::get();
    let allocations = after.total_blocks - before.total_blocks;
    assert!(n > 80_000, "{n} frames in the second half");
    assert!(accepted > 150_000, "{accepted} messages accepted");
    // Map growth for aircraft first heard in the second hour is a handful of
    // allocations; one per frame would be tens of thousands.
    assert!(allocations < 32, "{allocations} allocations for {n} frames");
}
