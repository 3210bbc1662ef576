//! ASTERIX on arbitrary bytes: never panics; decoding in two chunks (split where the
//! first byte says) gives exactly what decoding in one piece gives; every record's raw
//! evidence (a one-record data block) re-decodes to the same report; every report the
//! encoder can write decodes back to a record of the same length; placing any plot
//! from a radar site gives a finite position.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_core::Timestamp;
use skyfence_decode::DropCounts;
use skyfence_decode::asterix::observe::polar_to_wgs84;
use skyfence_decode::asterix::{self, AsterixDecoder, Report, encode};
use skyfence_decode::sensor::Site;

type Decoded = (Vec<(Timestamp, Report, Vec<u8>)>, DropCounts);

fn decode(chunks: &[&[u8]]) -> Decoded {
    let mut d = AsterixDecoder::new(Timestamp::from_secs(1_700_000_000));
    let mut out = Vec::new();
    for c in chunks {
        d.decode(c, &mut |at, r, rec| out.push((at, *r, rec.to_vec())));
    }
    d.finish();
    (out, *d.drops())
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let whole = decode(&[stream]);
    let cut = (usize::from(control) * 3).min(stream.len());
    let (a, b) = stream.split_at(cut);
    let split = decode(&[a, b]);
    // Reports hold floats; compare their debug text (NaN never arises from the wire).
    assert_eq!(format!("{split:?}"), format!("{whole:?}"));
    let site = Site {
        lat: 34.5,
        lon: 69.2,
        alt_m: 1800.0,
    };
    for (at, report, record) in &whole.0 {
        let item = asterix::item(*at, report, record);
        assert_eq!(asterix::decode_raw(item.raw.data()), Ok(*report));
        if let Some(bytes) = encode::record(report) {
            let (back, len) = asterix::decode_record(report.category, &bytes).unwrap();
            assert_eq!(len, bytes.len());
            assert_eq!((back.sac, back.sic, back.address), (report.sac, report.sic, report.address));
        }
        if let Some(polar) = report.polar {
            let alt = report.flight_level.map(|fl| f64::from(fl) * 30.48);
            let p = polar_to_wgs84(&site, polar, alt);
            assert!(p.lat.is_finite() && p.lon.is_finite());
        }
    }
});
