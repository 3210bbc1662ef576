//! ASTERIX CAT048 decode throughput: records per second through the streaming decoder
//! (FSPEC walk with the UAP table, the items skyfence reads, the day clock), on one
//! core. The buffer holds 100 000 records in data blocks of 10, shaped like a
//! Mode S radar's output: FSPEC of 2-3 octets, I048/010 140 020 040 070 090 220 240 161
//! 042 200 170, a tenth of the plots primary-only without address. Target: ≥ 5 M
//! records/s (BENCHMARKS.md).
//!
//! No peer runs in this bench: the C++ `asterix_decoder` is a Python extension, measured
//! (when installed) by hand on the same buffer, see BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skyfence_core::{Callsign, Icao24, Squawk, Timestamp};
use skyfence_decode::asterix::{AsterixDecoder, Detection, Polar, Report, encode};

const RECORDS: usize = 100_000;

fn stream() -> Vec<u8> {
    let mut out = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut block = Vec::with_capacity(10);
    for k in 0..RECORDS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let primary = state.is_multiple_of(10);
        let r = Report {
            category: 48,
            sac: 1,
            sic: 2,
            time_of_day: Some((3_600 * 128 + k as u64 * 5) as u32),
            detection: Some(if primary {
                Detection::Psr
            } else {
                Detection::ModeSRollCallPsr
            }),
            polar: Some(Polar {
                range_nm: (state % 200) as f64 + 0.5,
                azimuth_deg: (state % 3600) as f64 / 10.0,
            }),
            mode3a: (!primary).then(|| Squawk::new((state % 0o7777) as u16).unwrap()),
            flight_level: (!primary).then_some((state % 400) as f32),
            address: (!primary).then(|| Icao24::from_u32_masked(state as u32)),
            callsign: (!primary).then(|| Callsign::new(b"KLM1023").unwrap()),
            track_number: Some((state % 4096) as u32),
            cartesian_nm: Some((12.5, -3.25)),
            ground_speed_kt: Some(420.0),
            track_deg: Some(93.0),
            track_tentative: Some(false),
            ..Report::default()
        };
        block.push(encode::record(&r).unwrap());
        if block.len() == 10 {
            encode::block(48, &block, &mut out);
            block.clear();
        }
    }
    out
}

fn cat048(c: &mut Criterion) {
    let bytes = stream();
    let mut g = c.benchmark_group("asterix");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("cat048_decode_100k_records", |b| {
        b.iter(|| {
            let mut d = AsterixDecoder::new(Timestamp::from_secs(1_700_000_000));
            let mut n = 0u64;
            let mut fl = 0f32;
            d.decode(&bytes, &mut |_, r, _| {
                n += 1;
                fl += r.flight_level.unwrap_or(0.0);
            });
            assert_eq!(n, RECORDS as u64);
            std::hint::black_box(fl)
        });
    });
    g.finish();
}

criterion_group!(benches, cat048);
criterion_main!(benches);
