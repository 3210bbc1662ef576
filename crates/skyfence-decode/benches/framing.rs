//! Framing throughput: frames per second each decoder gets through a realistic buffer.
//!
//! The Beast buffer holds 100 000 frames (80 % DF17 long, 20 % short), built from the
//! frames of rs1090's `short_flights.csv` with timestamps 1–40 ms apart; a few percent of
//! the records contain an escaped 0x1a (in the timestamp, signal or data) so that both
//! the fast path and the un-escaping path are measured. Target: ≤ 20 ns/frame.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skyfence_core::Timestamp;
use skyfence_decode::Frame;
use skyfence_decode::avr::{AvrDecoder, encode_avr};
use skyfence_decode::beast::{BeastClock, BeastDecoder, encode_beast};
use skyfence_decode::codec::{ClockOptions, Item};
use skyfence_decode::raw::{RawDecoder, encode_raw_line};

const FRAMES: usize = 100_000;
const START: Timestamp = Timestamp::from_secs(1_753_827_785);

/// Frames from rs1090's `crates/rs1090/data/short_flights.csv` plus a DF11 and a DF4.
const SAMPLES: [&str; 6] = [
    "8DADA5265851E6616376C2EB4463",
    "8DADA526EA2D086FC55C085E782E",
    "8DADA52699149F28704029B6C425",
    "8DAB27605835A28DD30A31798BC3",
    "5D4CA7F9A0B84B",
    "20001838CA3804",
];

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap_or(0))
        .collect()
}

/// A deterministic frame sequence (xorshift, no RNG dependency needed for a bench).
fn frames() -> Vec<Frame> {
    let samples: Vec<Vec<u8>> = SAMPLES.iter().map(|s| hex(s)).collect();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut counter = 12_000_000u64;
    (0..FRAMES)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            counter += 12_000 + state % 480_000;
            let pick = if i % 5 == 4 { 4 + (i / 5) % 2 } else { i % 4 };
            let mut f = Frame::new(START, &samples[pick]).unwrap_or_else(|| unreachable!());
            f.counter = Some(counter);
            f.raw.signal = Some(if state.is_multiple_of(50) {
                0x1a
            } else {
                (state >> 8) as u8 | 1
            });
            f
        })
        .collect()
}

fn bench_framing(c: &mut Criterion) {
    let frames = frames();
    let mut beast = Vec::new();
    let mut avr = String::new();
    let mut raw = String::new();
    for f in &frames {
        encode_beast(f, &mut beast);
        encode_avr(f, &mut avr);
        encode_raw_line(f, &mut raw);
    }
    let escaped = beast.windows(2).filter(|w| w == &[0x1a, 0x1a]).count();
    eprintln!(
        "beast buffer: {} frames, {} bytes, {} escaped 0x1a",
        FRAMES,
        beast.len(),
        escaped
    );
    let clock = BeastClock::Counter12Mhz { start: START };

    let mut group = c.benchmark_group("framing");
    group.throughput(Throughput::Elements(FRAMES as u64));
    group.bench_function("beast_100k_frames_one_buffer", |b| {
        b.iter(|| {
            let mut d = BeastDecoder::new(clock);
            let mut n = 0u64;
            d.decode(std::hint::black_box(&beast), &mut |f| {
                n += u64::from(f.raw.len);
            });
            d.finish();
            n
        })
    });
    group.bench_function("beast_100k_frames_4k_chunks", |b| {
        b.iter(|| {
            let mut d = BeastDecoder::new(clock);
            let mut n = 0u64;
            for chunk in std::hint::black_box(&beast).chunks(4096) {
                d.decode(chunk, &mut |f| n += u64::from(f.raw.len));
            }
            d.finish();
            n
        })
    });
    // The same stream through the object-safe `Codec` trait the registry hands out (what
    // `FMT:PATH` readers and live sources use): the cost of the indirection per frame.
    group.bench_function("beast_100k_frames_4k_chunks_codec_trait", |b| {
        b.iter(|| {
            let mut d = skyfence_decode::format::BEAST.codec(ClockOptions {
                start: Some(START),
                gps: false,
            });
            let mut n = 0u64;
            for chunk in std::hint::black_box(&beast).chunks(4096) {
                d.decode(chunk, &mut |i| {
                    if let Item::Frame(f) = i {
                        n += u64::from(f.raw.len);
                    }
                });
            }
            d.finish(&mut |_| {});
            n
        })
    });
    group.bench_function("avr_100k_lines", |b| {
        b.iter(|| {
            let mut d = AvrDecoder::new(clock);
            let mut n = 0u64;
            d.decode(std::hint::black_box(avr.as_bytes()), &mut |f| {
                n += u64::from(f.raw.len);
            });
            d.finish(&mut |_| {});
            n
        })
    });
    group.bench_function("raw_100k_lines", |b| {
        b.iter(|| {
            let mut d = RawDecoder::new();
            let mut n = 0u64;
            d.decode(std::hint::black_box(raw.as_bytes()), &mut |f| {
                n += u64::from(f.raw.len);
            });
            d.finish(&mut |_| {});
            n
        })
    });
    group.finish();
}

criterion_group!(benches, bench_framing);
criterion_main!(benches);
