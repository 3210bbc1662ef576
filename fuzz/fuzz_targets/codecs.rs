//! Every codec of the format registry, driven through the `Codec` trait with arbitrary
//! chunking: never panics, and the items, drop counts and clock statistics do not depend
//! on where the stream is cut (a socket read may end anywhere).
//!
//! Input: a selector byte (format, clock mode), a count of cuts and the cut lengths,
//! then the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::Timestamp;
use skyfence_decode::codec::{ClockOptions, Codec, Item};
use skyfence_decode::format::{FORMATS, Format};

/// Items as text: `Debug` compares NaN fields (SBS may carry them) as equal.
fn run(format: &Format, clock: ClockOptions, chunks: &[&[u8]]) -> (Vec<String>, String) {
    let mut codec: Box<dyn Codec> = format.codec(clock);
    let mut items: Vec<Item> = Vec::new();
    for c in chunks {
        codec.decode(c, &mut |i| items.push(i));
    }
    codec.finish(&mut |i| items.push(i));
    let items = items.iter().map(|i| format!("{i:?}")).collect();
    let stats = format!("{:?} {:?}", codec.drops(), codec.clock_stats());
    (items, stats)
}

fuzz_target!(|data: &[u8]| {
    let [selector, cuts, rest @ ..] = data else {
        return;
    };
    let format = FORMATS[usize::from(*selector) % FORMATS.len()];
    let clock = ClockOptions {
        start: Some(Timestamp::from_secs(1_700_000_000)),
        gps: selector & 0x80 != 0,
    };
    let cuts = usize::from(*cuts % 16).min(rest.len());
    let (lengths, stream) = rest.split_at(cuts);
    let whole = run(format, clock, &[stream]);
    let mut chunks = Vec::new();
    let mut tail = stream;
    for &len in lengths {
        let (a, b) = tail.split_at(usize::from(len).min(tail.len()));
        chunks.push(a);
        tail = b;
    }
    chunks.push(tail);
    assert_eq!(run(format, clock, &chunks), whole, "{}", format.name);
});
