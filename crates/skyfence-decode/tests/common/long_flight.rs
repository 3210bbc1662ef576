//! testdata/long_flight.csv (rs1090 0.7.0, MIT; see testdata/README.md) as frames, for
//! the tests that run the decoder over a real recording.

use skyfence_core::Timestamp;
use skyfence_decode::Frame;

/// Every frame of the recording, at its recorded time.
pub fn recording() -> Vec<Frame> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/long_flight.csv"
    );
    let text = std::fs::read_to_string(path).expect("testdata/long_flight.csv");
    text.lines()
        .skip(1)
        .map(|line| {
            let (t, hex) = line.split_once(',').expect("TIMESTAMP,HEX");
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                .collect();
            let at = Timestamp::from_secs_f64(t.parse().expect("seconds")).expect("time");
            Frame::new(at, &bytes).expect("7 or 14 bytes")
        })
        .collect()
}
