//! Mode S decoding throughput: the CRC variants, and the whole stateful decoder (CRC,
//! fields, address rule, CPR) on a synthetic mix of 100 aircraft.
//!
//! `cargo bench -p skyfence-decode --bench modes`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skyfence_core::{Callsign, EmitterCategory, GeoPoint, Icao24, Squawk, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::adsb;
use skyfence_decode::crc;
use skyfence_decode::decoder::{Decoder, DecoderConfig};
use skyfence_decode::modes;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn bench_crc(c: &mut Criterion) {
    let long: [u8; 14] = hex("8D4840D6202CC371C32CE0576098").try_into().unwrap();
    let short: [u8; 7] = hex("20001838CA3E51").try_into().unwrap();
    let mut g = c.benchmark_group("crc");
    g.throughput(Throughput::Elements(1));
    g.bench_function("syndrome_long_tables", |b| {
        b.iter(|| crc::syndrome_long(black_box(&long)))
    });
    g.bench_function("syndrome_long_bytewise", |b| {
        b.iter(|| crc::syndrome_bytewise(black_box(&long)))
    });
    g.bench_function("syndrome_short_tables", |b| {
        b.iter(|| crc::syndrome_short(black_box(&short)))
    });
    g.bench_function("syndrome_short_bytewise", |b| {
        b.iter(|| crc::syndrome_bytewise(black_box(&short)))
    });
    g.finish();
}

/// A traffic mix close to a real feed: per aircraft and cycle, 2 airborne positions,
/// 2 velocities, 1 identification, 1 all-call, 1 DF4, 1 DF5, 1 DF20, 1 DF21, plus one
/// corrupted frame.
fn traffic() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..100u32 {
        let a = Icao24::new(0x700000 + i).unwrap();
        let here = GeoPoint::new(33.0 + f64::from(i) * 0.02, 69.0 + f64::from(i) * 0.03);
        let alt = 10_000 + 300 * i as i32;
        let cs = Callsign::new(format!("AFG{i:03}").as_bytes()).unwrap();
        let sq = Squawk::new(0o1000 + i as u16).unwrap();
        out.push(modes::encode_all_call(a, 5, 0).unwrap().to_vec());
        out.push(
            adsb::encode_identification(a, EmitterCategory::new(b'A', 3), &cs)
                .unwrap()
                .to_vec(),
        );
        out.push(
            adsb::encode_airborne_position(a, here, Some(alt), false)
                .unwrap()
                .to_vec(),
        );
        out.push(adsb::encode_velocity_ground(a, 420.0, 75.0, Some(-640)).to_vec());
        out.push(
            adsb::encode_airborne_position(a, here, Some(alt), true)
                .unwrap()
                .to_vec(),
        );
        out.push(adsb::encode_velocity_airspeed(a, Some(80.0), 300, false, Some(0)).to_vec());
        out.push(modes::encode_altitude_reply(a, 0, alt).unwrap().to_vec());
        out.push(modes::encode_identity_reply(a, 0, sq).unwrap().to_vec());
        out.push(
            modes::encode_commb_altitude_reply(a, 0, alt, [0x10, 0, 0, 0, 0, 0, 0])
                .unwrap()
                .to_vec(),
        );
        out.push(
            modes::encode_commb_identity_reply(a, 0, sq, [0x20, 0, 0, 0, 0, 0, 0])
                .unwrap()
                .to_vec(),
        );
        let mut bad = adsb::encode_velocity_ground(a, 421.0, 76.0, None);
        bad[9] ^= 0x55;
        out.push(bad.to_vec());
    }
    out
}

fn bench_decoder(c: &mut Criterion) {
    let frames: Vec<Frame> = traffic()
        .iter()
        .map(|f| Frame::new(Timestamp::EPOCH, f).unwrap())
        .collect();
    let mut g = c.benchmark_group("decoder");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("mixed_100_aircraft", |b| {
        let mut d = Decoder::new(DecoderConfig::default());
        let mut now = Timestamp::from_secs(1_700_000_000);
        b.iter(|| {
            let mut n = 0u32;
            for f in &frames {
                let mut f = *f;
                now = now.add_micros(1000);
                f.at = now;
                n += u32::from(d.decode(black_box(&f)).is_some());
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, bench_crc, bench_decoder);
criterion_main!(benches);
