//! Beast framing: hand-built records and a published escaped example, resynchronisation
//! after garbage, skipped record types, the receiver clock (wrap, restart, MLAT magic,
//! Radarcape GPS), and properties: any chunking gives the same result as one piece,
//! encode → decode round-trips, arbitrary bytes never panic.

use proptest::prelude::*;
use skyfence_core::Timestamp;
use skyfence_decode::beast::{
    BeastClock, BeastDecoder, COUNTER_MODULUS, ClockStats, MLAT_MAGIC, counter_12mhz, encode_beast,
    encode_beast_since, radarcape_gps_counter, signal_dbfs,
};
use skyfence_decode::{DropCounts, DropReason, Frame};

/// 2023-11-14T22:13:20Z.
const START: Timestamp = Timestamp::from_secs(1_700_000_000);
const SEC: u64 = 12_000_000;

/// DF17 identification of KLM1023, the worked example of "The 1090 MHz Riddle"
/// (J. Sun, 2021), chapter "Aircraft identification".
const KLM1023: &str = "8D4840D6202CC371C32CE0576098";
/// DF11 all-call reply from the example in readsb's `net_io.c`
/// (`@03BA2A7C1DD15D4CA7F9A0B84B;`).
const DF11: &str = "5D4CA7F9A0B84B";

fn clock() -> BeastClock {
    BeastClock::Counter12Mhz { start: START }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A record built by hand (independently of the encoder): 0x1a, type, then the 48-bit
/// timestamp, the signal byte and the data, every 0x1a doubled.
fn record(kind: u8, counter: u64, signal: u8, data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1a, kind];
    let fields = counter.to_be_bytes()[2..]
        .iter()
        .copied()
        .chain([signal])
        .chain(data.iter().copied())
        .collect::<Vec<_>>();
    for b in fields {
        out.push(b);
        if b == 0x1a {
            out.push(0x1a);
        }
    }
    out
}

fn long(counter: u64) -> Vec<u8> {
    record(b'3', counter, 0x80, &hex(KLM1023))
}

fn at(micros: i64) -> Timestamp {
    START.add_micros(micros)
}

fn decode_in_pieces(clock: BeastClock, bytes: &[u8], cuts: &[usize]) -> (Vec<Frame>, DropCounts) {
    let mut d = BeastDecoder::new(clock);
    let mut frames = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        let cut = cut.clamp(from, bytes.len());
        d.decode(&bytes[from..cut], &mut |f| frames.push(f));
        from = cut;
    }
    d.decode(&bytes[from..], &mut |f| frames.push(f));
    d.finish();
    (frames, *d.drops())
}

#[test]
fn decodes_long_and_short_frames_with_time_counter_and_signal() {
    let mut bytes = long(SEC);
    bytes.extend(record(b'2', 2 * SEC + 6, 0x40, &hex(DF11)));
    let (frames, drops) = BeastDecoder::decode_all(clock(), &bytes);
    assert_eq!(drops, DropCounts::default());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].at, at(1_000_000));
    assert_eq!(frames[0].counter, Some(SEC));
    assert_eq!(frames[0].data(), hex(KLM1023));
    assert_eq!(frames[0].raw.signal, Some(0x80));
    assert!(!frames[0].raw.mlat);
    assert_eq!(frames[1].at, at(2_000_000)); // 6 ticks = 0.5 µs, floored
    assert_eq!(frames[1].raw.len, 7);
    assert_eq!(frames[1].data(), hex(DF11));
}

/// The escaped example of the adsbee project's Beast notes
/// (CoolNamesAllTaken/adsbee, firmware/common/comms/beast/beast.md): 0x1a in the signal
/// byte and in the data.
#[test]
fn unescapes_the_published_example_and_encodes_it_back() {
    let wire = [
        0x1a, 0x32, 0x08, 0x3e, 0x27, 0xb6, 0xcb, 0x6a, 0x1a, 0x1a, 0x00, 0xa1, 0x84, 0x1a, 0x1a,
        0xc3, 0xb3, 0x1d,
    ];
    let (frames, drops) = BeastDecoder::decode_all(clock(), &wire);
    assert_eq!(drops, DropCounts::default());
    assert_eq!(frames.len(), 1);
    let f = frames[0];
    assert_eq!(f.counter, Some(9_063_047_285_610));
    // 9063047285610 ticks / 12 = 755253940467.5 µs, floored.
    assert_eq!(f.at, at(755_253_940_467));
    assert_eq!(f.raw.signal, Some(0x1a));
    assert_eq!(f.data(), [0x00, 0xa1, 0x84, 0x1a, 0xc3, 0xb3, 0x1d]);
    let mut again = Vec::new();
    encode_beast(&f, &mut again);
    assert_eq!(again, wire);
}

#[test]
fn garbage_before_and_between_records_is_counted_in_bytes() {
    let mut bytes = b"hello".to_vec();
    bytes.extend(long(SEC));
    bytes.extend([0x00, 0xff]);
    bytes.extend(long(2 * SEC));
    let (frames, drops) = BeastDecoder::decode_all(clock(), &bytes);
    assert_eq!(frames.len(), 2);
    assert_eq!(drops.get(DropReason::Garbage), 7);
    assert_eq!(drops.total_messages(), 0);
}

#[test]
fn a_record_interrupted_by_a_new_one_is_truncated_and_the_next_decoded() {
    let mut bytes = long(SEC)[..9].to_vec();
    bytes.extend(long(2 * SEC));
    let (frames, drops) = BeastDecoder::decode_all(clock(), &bytes);
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0].counter, Some(2 * SEC));
    assert_eq!(drops.get(DropReason::Truncated), 1);
    assert_eq!(drops.get(DropReason::Garbage), 0);
}

#[test]
fn unknown_types_and_stray_escapes_are_garbage() {
    let mut bytes = vec![0x1a, 0x39, 0x1a, 0x1a, 0x07];
    bytes.extend(long(SEC));
    let (frames, drops) = BeastDecoder::decode_all(clock(), &bytes);
    assert_eq!(frames.len(), 1);
    assert_eq!(drops.get(DropReason::Garbage), 5);
}

/// Type '4' (Radarcape status), '5' (Radarcape position), '1' (Mode A/C), and readsb's
/// 0xe3 receiver id (here containing an escaped 0x1a) and 0xe4 UUID records are skipped
/// without losing sync; readsb's all-zero Mode A/C heartbeat is not even counted.
#[test]
fn skips_status_position_mode_ac_and_readsb_extensions_without_losing_sync() {
    let mut bytes = record(b'4', SEC, 0, &[0x11; 14]);
    bytes.extend(long(SEC));
    bytes.extend([0x1a, 0xe3, 0, 0, 0, 0x1a, 0x1a, 0, 0, 0, 0x42]);
    bytes.extend(long(2 * SEC));
    bytes.extend([0x1a, 0xe4]);
    bytes.extend(b"6f1c2b6e-47d4-4c4d-a4b5-1e2a4f0b9a1c");
    bytes.extend(record(b'1', 3 * SEC, 0x30, &[0x12, 0x34]));
    bytes.extend([0x1a, b'1', 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut position = vec![0x1a, b'5'];
    position.extend([0x22; 21]);
    bytes.extend(position);
    bytes.extend(long(4 * SEC));
    let (frames, drops) = BeastDecoder::decode_all(clock(), &bytes);
    let counters: Vec<_> = frames.iter().map(|f| f.counter).collect();
    assert_eq!(counters, [Some(SEC), Some(2 * SEC), Some(4 * SEC)]);
    assert_eq!(drops.get(DropReason::SkippedRecord), 5);
    assert_eq!(drops.get(DropReason::Garbage), 0);
}

#[test]
fn finish_counts_a_partial_last_record_and_a_later_chunk_completes_it() {
    let mut bytes = long(SEC);
    bytes.extend(&long(2 * SEC)[..10]);
    let mut d = BeastDecoder::new(clock());
    let mut n = 0;
    d.decode(&bytes, &mut |_| n += 1);
    assert_eq!(n, 1);
    let mut later = d.clone();
    later.decode(&long(2 * SEC)[10..], &mut |_| n += 1);
    later.finish();
    assert_eq!(n, 2);
    assert_eq!(later.drops().get(DropReason::Truncated), 0);
    d.finish();
    assert_eq!(d.drops().get(DropReason::Truncated), 1);
}

#[test]
fn counter_wrap_keeps_time_advancing() {
    let mut bytes = long(COUNTER_MODULUS - SEC);
    bytes.extend(long(SEC));
    let mut d = BeastDecoder::new(clock());
    let mut times = Vec::new();
    d.decode(&bytes, &mut |f| times.push(f.at));
    let before = ((COUNTER_MODULUS - SEC) / 12) as i64;
    assert_eq!(times, [at(before), at(before + 2_000_000)]);
    assert_eq!(
        d.clock_stats(),
        ClockStats {
            wraps: 1,
            restarts: 0
        }
    );
}

#[test]
fn receiver_restart_rebases_so_time_continues_from_the_last_frame() {
    let bytes = [
        long(100 * SEC),
        long(5 * SEC),
        long(6 * SEC),
        long(95 * SEC),
    ]
    .concat();
    let mut d = BeastDecoder::new(clock());
    let mut times = Vec::new();
    d.decode(&bytes, &mut |f| times.push(f.at));
    assert_eq!(
        times,
        [
            at(100_000_000),
            at(100_000_000),
            at(101_000_000),
            at(190_000_000)
        ]
    );
    assert_eq!(
        d.clock_stats(),
        ClockStats {
            wraps: 0,
            restarts: 1
        }
    );
}

/// Regression guard: a hostile stream that "wraps" the counter over and over must not
/// overflow the clock's arithmetic (it saturates instead of panicking).
#[test]
fn endless_wraps_never_overflow() {
    let pair = [long(COUNTER_MODULUS - 2), long(3)].concat();
    let mut d = BeastDecoder::new(clock());
    let mut last = START;
    let mut n = 0u64;
    for _ in 0..70_000 {
        d.decode(&pair, &mut |f| {
            assert!(f.at >= last);
            last = f.at;
            n += 1;
        });
    }
    assert_eq!(n, 140_000);
    // 2^16 wraps exhaust the u64 tick range; from there time stands still.
    assert!(d.clock_stats().wraps >= 65_536, "{:?}", d.clock_stats());
}

#[test]
fn small_backward_steps_are_reorderings_not_restarts() {
    let bytes = [long(10 * SEC), long(9 * SEC), long(11 * SEC)].concat();
    let mut d = BeastDecoder::new(clock());
    let mut times = Vec::new();
    d.decode(&bytes, &mut |f| times.push(f.at));
    assert_eq!(times, [at(10_000_000), at(9_000_000), at(11_000_000)]);
    assert_eq!(d.clock_stats(), ClockStats::default());
}

#[test]
fn mlat_magic_and_missing_timestamps_take_the_last_real_time() {
    let bytes = [long(3 * SEC), long(MLAT_MAGIC), long(0)].concat();
    let (frames, _) = BeastDecoder::decode_all(clock(), &bytes);
    assert_eq!(frames.len(), 3);
    assert_eq!((frames[1].at, frames[1].raw.mlat), (at(3_000_000), true));
    assert_eq!(frames[1].counter, Some(MLAT_MAGIC));
    assert_eq!((frames[2].at, frames[2].raw.mlat), (at(3_000_000), false));
    // Before any real timestamp: the start.
    let (frames, _) = BeastDecoder::decode_all(clock(), &long(MLAT_MAGIC));
    assert_eq!(frames[0].at, START);
}

#[test]
fn radarcape_gps_timestamps_are_utc_seconds_of_day_and_nanoseconds() {
    let gps = BeastClock::RadarcapeGps { date: START };
    // 22:21:03.120 = 80463 s of day, 120 000 000 ns.
    let counter = (80_463u64 << 30) | 120_000_000;
    assert_eq!(
        radarcape_gps_counter(Timestamp::parse_rfc3339("2023-11-14T22:21:03.120Z").unwrap()),
        counter
    );
    let bytes = [
        long(counter),
        long((3u64 << 30) | 1_050_000_000),
        long(counter + 1000),
    ]
    .concat();
    let (frames, drops) = BeastDecoder::decode_all(gps, &bytes);
    assert_eq!(drops.get(DropReason::BadTimestamp), 1);
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[0].at.to_rfc3339_micros(),
        "2023-11-14T22:21:03.120000Z"
    );
    assert_eq!(
        frames[1].at.to_rfc3339_micros(),
        "2023-11-14T22:21:03.120001Z"
    );
}

#[test]
fn signal_byte_to_dbfs() {
    assert_eq!(signal_dbfs(255), 0.0);
    assert!(
        (signal_dbfs(128) - -5.987).abs() < 0.001,
        "{}",
        signal_dbfs(128)
    );
    assert!(
        (signal_dbfs(26) - -19.831).abs() < 0.001,
        "{}",
        signal_dbfs(26)
    );
    assert!(
        (signal_dbfs(1) - -48.131).abs() < 0.001,
        "{}",
        signal_dbfs(1)
    );
    assert_eq!(signal_dbfs(0), f32::NEG_INFINITY);
}

#[test]
fn encoder_writes_mlat_magic_and_derives_counters_from_time() {
    let mut f = Frame::new(at(2_000_000), &hex(KLM1023)).unwrap();
    f.raw.mlat = true;
    let mut out = Vec::new();
    encode_beast(&f, &mut out);
    assert_eq!(out, record(b'3', MLAT_MAGIC, 0, &hex(KLM1023)));
    f.raw.mlat = false;
    out.clear();
    encode_beast_since(&f, START, &mut out);
    assert_eq!(out, record(b'3', 2 * SEC, 0, &hex(KLM1023)));
    assert_eq!(counter_12mhz(at(-1), START), COUNTER_MODULUS - 12);
}

/// A stream with every kind of content: escapes, garbage, skipped records, a truncated
/// record, a trailing partial one.
fn mixed_stream() -> Vec<u8> {
    let mut bytes = b"\x00junk".to_vec();
    bytes.extend(record(b'3', 0x1a1a_1a1a_1a1a, 0x1a, &hex(KLM1023)));
    bytes.extend(record(b'2', 2 * SEC, 0x1a, &[0x1a; 7]));
    bytes.extend(&long(3 * SEC)[..12]);
    bytes.extend([0x1a, 0xe3, 1, 2, 3, 4, 5, 6, 7, 8]);
    bytes.extend(long(4 * SEC));
    bytes.extend([0x1a, 0xe4]);
    bytes.extend([b'f'; 36]);
    bytes.extend(record(b'4', 4 * SEC, 0, &[0x1a; 14]));
    bytes.extend(long(MLAT_MAGIC));
    bytes.extend(&long(5 * SEC)[..20]);
    bytes
}

#[test]
fn splitting_at_every_position_gives_the_same_frames_and_drops() {
    let bytes = mixed_stream();
    let whole = decode_in_pieces(clock(), &bytes, &[]);
    assert_eq!(whole.0.len(), 4);
    assert_eq!(whole.1.get(DropReason::Truncated), 2);
    for cut in 0..=bytes.len() {
        assert_eq!(
            decode_in_pieces(clock(), &bytes, &[cut]),
            whole,
            "cut at {cut}"
        );
    }
    let every_byte: Vec<usize> = (0..bytes.len()).collect();
    assert_eq!(decode_in_pieces(clock(), &bytes, &every_byte), whole);
}

fn frame_strategy() -> impl Strategy<Value = (Vec<u8>, u8)> {
    (
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 7),
            proptest::collection::vec(any::<u8>(), 14)
        ],
        1u8..=255,
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_in_arbitrary_chunks_never_panic_and_match_one_piece(
        bytes in proptest::collection::vec(
            prop_oneof![Just(0x1au8), Just(b'2'), Just(b'3'), any::<u8>()], 0..400),
        cuts in proptest::collection::vec(0usize..400, 0..8),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = decode_in_pieces(clock(), &bytes, &[]);
        prop_assert_eq!(decode_in_pieces(clock(), &bytes, &cuts), whole);
        let gps = BeastClock::RadarcapeGps { date: START };
        prop_assert_eq!(decode_in_pieces(gps, &bytes, &cuts), decode_in_pieces(gps, &bytes, &[]));
    }

    #[test]
    fn encode_then_decode_round_trips(
        frames in proptest::collection::vec(frame_strategy(), 1..40),
        base in 1u64..(1 << 40),
        steps in proptest::collection::vec(0u64..1_000_000_000, 40),
        cuts in proptest::collection::vec(0usize..2000, 0..5),
    ) {
        let mut counter = base;
        let mut expected = Vec::new();
        let mut wire = Vec::new();
        for ((data, signal), step) in frames.iter().zip(&steps) {
            counter += step;
            let mut f = Frame::new(at((counter / 12) as i64), data).unwrap();
            f.counter = Some(counter);
            f.raw.signal = Some(*signal);
            encode_beast(&f, &mut wire);
            expected.push(f);
        }
        let mut cuts = cuts;
        cuts.sort_unstable();
        let (decoded, drops) = decode_in_pieces(clock(), &wire, &cuts);
        prop_assert_eq!(drops, DropCounts::default());
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn encode_since_start_then_decode_recovers_the_times(
        frames in proptest::collection::vec(frame_strategy(), 1..40),
        steps in proptest::collection::vec(1i64..100_000_000, 40),
    ) {
        let mut t = START;
        let mut wire = Vec::new();
        let mut times = Vec::new();
        for ((data, _), step) in frames.iter().zip(&steps) {
            t = t.add_micros(*step);
            let f = Frame::new(t, data).unwrap();
            encode_beast_since(&f, START, &mut wire);
            times.push(t);
        }
        let (decoded, _) = BeastDecoder::decode_all(clock(), &wire);
        prop_assert_eq!(decoded.iter().map(|f| f.at).collect::<Vec<_>>(), times);
    }
}
