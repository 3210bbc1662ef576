//! Frames without a time of their own (AVR `*HEX;` as dump1090's port 30002 and
//! `rtl_adsb` write it; raw lines sharing one timestamp) still resolve positions, by
//! arrival order (`tracker.rs`, "Frames without their own time"), on a real recording:
//! testdata/long_flight.csv (rs1090 0.7.0, MIT; see testdata/README.md), written as a
//! Beast stream with its receiver counter and as plain AVR without any time.

#[path = "common/long_flight.rs"]
mod long_flight;

use long_flight::recording;
use skyfence_core::{GeoPoint, Timestamp};
use skyfence_decode::codec::{ClockOptions, Item, decode_all};
use skyfence_decode::decoder::{Decoder, DecoderConfig};
use skyfence_decode::format;

/// Every frame's position (`None` where the decoder gave none) and message time, in
/// input order; the count of untimed frames.
fn positions(
    format: &str,
    bytes: &[u8],
    start: Timestamp,
) -> (Vec<Option<GeoPoint>>, Vec<Option<Timestamp>>, u64) {
    let fmt = format::lookup(format).unwrap();
    let mut codec = fmt.codec(ClockOptions {
        start: Some(start),
        gps: false,
    });
    let (items, drops) = decode_all(&mut *codec, bytes);
    assert_eq!(drops.total_messages(), 0, "{format}: {drops:?}");
    let mut d = Decoder::new(DecoderConfig {
        pace_untimed: true,
        ..DecoderConfig::default()
    });
    let (mut out, mut times) = (Vec::new(), Vec::new());
    for i in &items {
        let Item::Frame(f) = i else { panic!("{i:?}") };
        let m = d.decode(f);
        out.push(m.and_then(|m| m.position));
        times.push(m.map(|m| m.at));
    }
    (out, times, d.untimed())
}

#[test]
fn plain_avr_resolves_the_positions_of_its_beast_recording() {
    let frames = recording();
    let start = frames[0].at;
    let mut beast = Vec::new();
    let mut avr = String::new();
    for f in &frames {
        skyfence_decode::beast::encode_beast_since(f, start, &mut beast);
        avr.push('*');
        for b in f.data() {
            avr.push_str(&format!("{b:02X}"));
        }
        avr.push_str(";\n");
    }
    let (timed, timed_at, timed_untimed) = positions("beast", &beast, start);
    let (untimed, untimed_at, untimed_count) = positions("avr", avr.as_bytes(), start);
    assert_eq!(timed.len(), frames.len());
    assert_eq!(untimed.len(), frames.len());
    assert_eq!(timed_untimed, 0, "the Beast stream has its times");
    assert_eq!(untimed_count, frames.len() as u64 - 1, "all but the first");
    // The paced clock is a lower bound of the true time, and moves.
    let mut last = start;
    for (i, (a, b)) in timed_at.iter().zip(&untimed_at).enumerate() {
        if let (Some(a), Some(b)) = (a, b) {
            assert!(b <= a, "frame {i}: paced {b} after the true time {a}");
            last = *b;
        }
    }
    assert!(
        last.micros_since(start) > 3_600_000_000 / 4,
        "paced clock ended at {last}"
    );
    let n_timed = timed.iter().flatten().count();
    let n_untimed = untimed.iter().flatten().count();
    eprintln!("positions: beast {n_timed}, avr {n_untimed}; untimed messages {untimed_count}");
    assert!(n_timed > 10_000, "{n_timed}");
    assert!(
        n_untimed * 100 >= n_timed * 95,
        "AVR without time resolved {n_untimed} of the {n_timed} positions of the Beast stream"
    );
    // Where both resolved a frame, they resolved it to the same point (the same local
    // decode against a reference in the same zone); and the AVR never resolved a point
    // the timed stream contradicts.
    let mut both = 0;
    for (i, (a, b)) in timed.iter().zip(&untimed).enumerate() {
        if let (Some(a), Some(b)) = (a, b) {
            both += 1;
            assert!(a.haversine_m(*b) < 1.0, "frame {i}: {a:?} vs {b:?}");
        }
    }
    assert!(both * 100 >= n_timed * 95, "{both} of {n_timed}");
}
