//! The stateful decoder over a real two-hour recording: testdata/long_flight.csv (rs1090
//! 0.7.0, MIT; see testdata/README.md). Every field of every frame was compared with
//! pyModeS 3.6.1 during development (df, address, altitude, squawk, callsign, velocity,
//! CPR fields, surface movement): all agree except 5025 ground speeds that pyModeS
//! truncates to whole knots and one callsign with characters outside the 6-bit set
//! (pyModeS prints `Q#Z08#IT`, skyfence reports no callsign).

#[path = "common/long_flight.rs"]
mod long_flight;

use long_flight::recording;
use skyfence_core::Icao24;
use skyfence_decode::DropReason;
use skyfence_decode::decoder::{Decoder, DecoderConfig};

#[test]
fn long_flight_is_decoded_and_accounted() {
    let frames = recording();
    assert_eq!(frames.len(), 172_432);
    let mut d = Decoder::new(DecoderConfig::default());
    let klm1302 = Icao24::new(0x486257).unwrap();
    let mut positions = 0;
    let mut last_klm = None;
    for f in &frames {
        let Some(m) = d.decode(f) else { continue };
        if let Some(p) = m.position {
            positions += 1;
            // Every aircraft in the recording is between Toulouse and the Netherlands.
            assert!(
                (43.5..52.7).contains(&p.lat) && (0.8..4.9).contains(&p.lon),
                "{m:?}"
            );
            if m.icao24 == klm1302 {
                last_klm = Some(p);
            }
        }
    }
    // Every frame is either accepted or counted: 49 address/parity replies from
    // addresses not (or no longer) heard in DF11/17/18, and one DF18 with CF=1
    // (non-ICAO address, 91171c853643130264403a2292f4).
    assert_eq!(d.accepted(), 172_382);
    assert_eq!(d.drops().get(DropReason::UnknownAddress), 49);
    assert_eq!(d.drops().get(DropReason::UnsupportedFormat), 1);
    assert_eq!(d.drops().get(DropReason::BadCrc), 0);
    assert!(positions > 10_000, "{positions}");
    // KLM1302 ends the recording near Amsterdam Schiphol.
    let p = last_klm.expect("KLM1302 positions");
    assert!(
        (p.lat - 52.30).abs() < 0.05 && (p.lon - 4.76).abs() < 0.05,
        "{p:?}"
    );
}
