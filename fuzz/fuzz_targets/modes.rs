//! The Mode S decoder on arbitrary frames: a sequence of 7- and 14-byte frames (the
//! first byte of each record chooses the length and the time step) fed to one
//! `Decoder`, so that the per-aircraft state (address table, CPR pairing) is exercised
//! too. Never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::Timestamp;
use skyfence_decode::Frame;
use skyfence_decode::decoder::{Decoder, DecoderConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let mut decoder = Decoder::new(DecoderConfig {
        correct_single_bit: control & 1 == 1,
        ..DecoderConfig::default()
    });
    let mut at = Timestamp::from_secs(1_700_000_000);
    while let Some((&head, tail)) = rest.split_first() {
        let len = if head & 0x80 == 0 { 14 } else { 7 };
        if tail.len() < len {
            break;
        }
        let (bytes, tail) = tail.split_at(len);
        // Steps of 0 to 31.75 s, occasionally backwards by up to 1.27 s.
        let step = if head & 0x40 == 0 {
            i64::from(head & 0x3f) * 500_000
        } else {
            -i64::from(head & 0x3f) * 20_000
        };
        at = at.add_micros(step);
        if let Some(frame) = Frame::new(at, bytes) {
            let _ = decoder.decode(&frame);
        }
        rest = tail;
    }
    let _ = decoder.drops().total_messages();
});
