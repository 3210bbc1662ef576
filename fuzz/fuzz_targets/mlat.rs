//! Multilateration on arbitrary receptions: bytes cut into up to four receivers' Beast
//! streams (sites and clocks chosen by the first byte), every frame through the ingest
//! step and the engine, as `analyze` does. Never panics, whatever the timestamps (wraps,
//! zeros, GPS fields out of range, copies of one frame at absurd time differences), and
//! every fix it gives is a finite position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::{ShortName, SourceId, Timestamp};
use skyfence_decode::beast::{BeastClock, BeastDecoder};
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested};
use skyfence_decode::sensor::ReceiverClock;
use skyfence_decode::{Frame, Item};
use skyfence_mlat::{Engine, MlatConfig, ReceiverSite};

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let n = usize::from(control & 3) + 1;
    let clock = if control & 4 == 0 {
        ReceiverClock::Beast
    } else {
        ReceiverClock::RadarcapeGps
    };
    let sites = (0..n)
        .map(|i| {
            let f = i as f64;
            ReceiverSite::new(
                ShortName::new(&format!("rx{i}")).unwrap(),
                34.0 + 0.3 * f,
                69.0 + 0.2 * (f * f),
                1_000.0 + 100.0 * f,
                clock,
            )
        })
        .collect();
    let mut engine = Engine::new(sites, MlatConfig::default());
    let start = Timestamp::from_secs(1_700_000_000);
    let beast_clock = match clock {
        ReceiverClock::RadarcapeGps => BeastClock::RadarcapeGps { date: start },
        _ => BeastClock::Counter12Mhz { start },
    };
    // Receiver i's stream: every n-th 23-byte slice of the input.
    let mut frames: Vec<(usize, Frame)> = Vec::new();
    for i in 0..n {
        engine.bind(SourceId(i as u16), i);
        let mut d = BeastDecoder::new(beast_clock);
        for chunk in stream.chunks(23).skip(i).step_by(n) {
            d.decode(chunk, &mut |f| frames.push((i, f)));
        }
        d.finish();
    }
    frames.sort_by_key(|(_, f)| f.at);
    let mut ingest = Ingest::new(IngestConfig::default());
    let mut fixes = Vec::new();
    for (i, f) in frames {
        let source = SourceId(i as u16);
        engine.frame(source, &f);
        if let Ingested::Accepted(obs) = ingest.observe(source, &Item::Frame(f)) {
            engine.decoded(&obs);
        }
        engine.poll(f.at, &mut fixes);
    }
    engine.finish(&mut fixes);
    for fix in &fixes {
        let p = fix.position.unwrap();
        assert!(p.lat.is_finite() && p.lon.is_finite() && p.lat.abs() <= 90.0);
        assert!(fix.accuracy_m.is_some_and(f32::is_finite));
    }
});
