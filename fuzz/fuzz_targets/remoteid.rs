//! Remote ID records (one message or a message pack) on arbitrary bytes: never panics;
//! every record is delivered or counted; every decoded message re-encodes to bytes that
//! decode to the same values; no position outside ±90°/±180°.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_decode::remoteid::message::{Message, decode_message, decode_record, encode_message};

fuzz_target!(|data: &[u8]| {
    let mut delivered = Vec::new();
    let mut dropped = 0usize;
    decode_record(data, &mut |d| delivered.push(d), &mut |_| dropped += 1);
    assert!(!delivered.is_empty() || dropped > 0);
    for d in &delivered {
        assert_eq!(decode_message(&encode_message(d)), Ok(*d));
        let position = match d.message {
            Message::Location(l) => l.position,
            Message::System(s) => s.operator,
            _ => None,
        };
        if let Some(p) = position {
            assert!(p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0, "{p:?}");
        }
    }
});
