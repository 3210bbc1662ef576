//! SBS-1 BaseStation lines on arbitrary bytes: never panics; two chunks give the same as
//! one piece; every decoded message re-encodes to a line that decodes again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_decode::sbs::{SbsDecoder, encode_sbs};
use skyfence_decode::{DropCounts, Message};

fn decode(chunks: &[&[u8]]) -> (Vec<Message>, DropCounts) {
    let mut d = SbsDecoder::new();
    let mut msgs = Vec::new();
    for c in chunks {
        d.decode(c, &mut |m| msgs.push(m));
    }
    d.finish(&mut |m| msgs.push(m));
    (msgs, *d.drops())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let cut = usize::from(control).min(stream.len());
    let (a, b) = stream.split_at(cut);
    let whole = decode(&[stream]);
    assert_eq!(decode(&[a, b]), whole);
    for m in &whole.0 {
        let mut line = String::new();
        if encode_sbs(m, &mut line) {
            let (again, drops) = SbsDecoder::decode_all(line.as_bytes());
            assert_eq!(drops, DropCounts::default(), "{line}");
            assert_eq!(again.len(), 1, "{line}");
            assert_eq!((again[0].icao24, again[0].at), (m.icao24, m.at), "{line}");
        }
    }
});
