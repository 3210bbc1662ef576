//! AVR framing on arbitrary bytes: never panics; two chunks give the same as one piece.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::Timestamp;
use skyfence_decode::avr::AvrDecoder;
use skyfence_decode::beast::BeastClock;
use skyfence_decode::{DropCounts, Frame};

fn decode(chunks: &[&[u8]]) -> (Vec<Frame>, DropCounts) {
    let clock = BeastClock::Counter12Mhz {
        start: Timestamp::from_secs(1_700_000_000),
    };
    let mut d = AvrDecoder::new(clock);
    let mut frames = Vec::new();
    for c in chunks {
        d.decode(c, &mut |f| frames.push(f));
    }
    d.finish(&mut |f| frames.push(f));
    (frames, *d.drops())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let cut = usize::from(control).min(stream.len());
    let (a, b) = stream.split_at(cut);
    assert_eq!(decode(&[a, b]), decode(&[stream]));
});
