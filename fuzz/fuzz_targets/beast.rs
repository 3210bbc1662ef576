//! Beast framing on arbitrary bytes: never panics; decoding in two chunks (split where the
//! first byte says) gives exactly what decoding in one piece gives; every decoded frame
//! re-encodes to a record that decodes to the same bytes, counter, signal and MLAT flag.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::Timestamp;
use skyfence_decode::beast::{BeastClock, BeastDecoder, encode_beast};
use skyfence_decode::{DropCounts, Frame};

fn decode(clock: BeastClock, chunks: &[&[u8]]) -> (Vec<Frame>, DropCounts) {
    let mut d = BeastDecoder::new(clock);
    let mut frames = Vec::new();
    for c in chunks {
        d.decode(c, &mut |f| frames.push(f));
    }
    d.finish();
    (frames, *d.drops())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let start = Timestamp::from_secs(1_700_000_000);
    let clock = if control & 1 == 0 {
        BeastClock::Counter12Mhz { start }
    } else {
        BeastClock::RadarcapeGps { date: start }
    };
    let whole = decode(clock, &[stream]);
    let cut = usize::from(control >> 1).min(stream.len());
    let (a, b) = stream.split_at(cut);
    assert_eq!(decode(clock, &[a, b]), whole);

    let mut wire = Vec::new();
    for f in &whole.0 {
        encode_beast(f, &mut wire);
    }
    let again = decode(BeastClock::Counter12Mhz { start }, &[&wire]).0;
    let key = |f: &Frame| (f.raw.bytes, f.raw.len, f.raw.signal, f.raw.mlat, f.counter);
    let expect: Vec<_> = whole.0.iter().map(key).collect();
    // Frames whose GPS timestamp was unreadable are dropped in GPS mode only; compare
    // the 12 MHz re-decode against the frames that survived.
    if control & 1 == 0 {
        assert_eq!(again.iter().map(key).collect::<Vec<_>>(), expect);
    } else {
        assert_eq!(again.len(), expect.len());
    }
});
