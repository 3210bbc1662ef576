//! AVR framing: the record variants readsb reads, drops by reason, time from the
//! receiver timestamp or the latest known time, chunking invariance and round trips.

use proptest::prelude::*;
use skyfence_core::Timestamp;
use skyfence_decode::avr::{AvrDecoder, encode_avr};
use skyfence_decode::beast::{BeastClock, MLAT_MAGIC};
use skyfence_decode::{DropCounts, DropReason, Frame};

/// 2023-11-14T22:13:20Z.
const START: Timestamp = Timestamp::from_secs(1_700_000_000);

fn clock() -> BeastClock {
    BeastClock::Counter12Mhz { start: START }
}

fn decode(text: &str) -> (Vec<Frame>, DropCounts) {
    AvrDecoder::decode_all(clock(), text.as_bytes())
}

fn hex(frame: &Frame) -> String {
    frame.data().iter().map(|b| format!("{b:02X}")).collect()
}

/// Examples: `*8D4840D6202CC371C32CE0576098;` (KLM1023 identification, "The 1090 MHz
/// Riddle"), `*59A880E10968EF;` and `*96A328343B1CA6AB3CE9AD87897A;` (the AVR notes of
/// the adsb-tools project, protocols/raw.md), `@03BA2A7C1DD15D4CA7F9A0B84B;` (the
/// example in readsb's `net_io.c`).
#[test]
fn reads_plain_and_timestamped_records() {
    let text = "*8D4840D6202CC371C32CE0576098;\r\n\
                *59A880E10968EF;\n\
                @03BA2A7C1DD15D4CA7F9A0B84B;\n\
                :96A328343B1CA6AB3CE9AD87897A;\n";
    let (frames, drops) = decode(text);
    assert_eq!(drops, DropCounts::default());
    let got: Vec<_> = frames.iter().map(|f| (hex(f), f.counter, f.at)).collect();
    // 0x03BA2A7C1DD1 = 4098111577553 ticks = 341509298129.4 µs.
    let t = START.add_micros(341_509_298_129);
    assert_eq!(
        got,
        [
            ("8D4840D6202CC371C32CE0576098".to_string(), None, START),
            ("59A880E10968EF".to_string(), None, START),
            ("5D4CA7F9A0B84B".to_string(), Some(0x03BA_2A7C_1DD1), t),
            ("96A328343B1CA6AB3CE9AD87897A".to_string(), None, t),
        ]
    );
}

#[test]
fn percent_and_angle_variants_carry_timestamp_and_signal() {
    let text = "%00000B71B0005D4CA7F9A0B84B;\n<00000B71B000805D4CA7F9A0B84B;\n";
    let (frames, drops) = decode(text);
    assert_eq!(drops, DropCounts::default());
    assert_eq!(frames.len(), 2);
    // 0xB71B000 = 192 000 000 ticks = 16 s.
    assert_eq!(frames[0].at, START.add_micros(16_000_000));
    assert_eq!(frames[0].raw.signal, None);
    assert_eq!(frames[1].raw.signal, Some(0x80));
    assert_eq!(hex(&frames[1]), "5D4CA7F9A0B84B");
}

#[test]
fn mlat_magic_is_flagged() {
    let (frames, _) = decode("@FF004D4C41545D4CA7F9A0B84B;\n");
    assert!(frames[0].raw.mlat);
    assert_eq!(frames[0].counter, Some(MLAT_MAGIC));
    assert_eq!(frames[0].at, START);
}

#[test]
fn bad_records_are_counted_by_reason() {
    let text = "*8D4840D6202CC371C32CE057609;\n\
                *8D4840D6202CC371C32CE05760ZZ;\n\
                *8D4840D6202CC371C32CE0576098\n\
                hello\n\
                \n\
                *0000;\n\
                *7700;\n\
                @03BA2A7C;\n\
                *8D4840D6202CC371C32CE0576098;(123,45,6789)\n";
    let (frames, drops) = decode(text);
    assert_eq!(frames.len(), 1);
    assert_eq!(drops.get(DropReason::BadLength), 2);
    assert_eq!(drops.get(DropReason::BadHex), 1);
    assert_eq!(drops.get(DropReason::Truncated), 1);
    assert_eq!(drops.get(DropReason::Garbage), 5);
    assert_eq!(drops.get(DropReason::SkippedRecord), 1);
}

#[test]
fn a_last_line_without_newline_is_decoded_at_finish() {
    let mut d = AvrDecoder::new(clock());
    let mut n = 0;
    d.decode(b"*8D4840D6202CC371C32CE0576098;\n*59A880E1", &mut |_| {
        n += 1
    });
    assert_eq!(n, 1);
    d.decode(b"0968EF;", &mut |_| n += 1);
    assert_eq!(n, 1);
    d.finish(&mut |_| n += 1);
    assert_eq!(n, 2);
    assert_eq!(*d.drops(), DropCounts::default());
}

#[test]
fn encoder_writes_star_or_at_lines() {
    let mut f = Frame::new(START, &[0x5d, 0x4c, 0xa7, 0xf9, 0xa0, 0xb8, 0x4b]).unwrap();
    let mut out = String::new();
    encode_avr(&f, &mut out);
    f.counter = Some(0x03BA_2A7C_1DD1);
    encode_avr(&f, &mut out);
    f.counter = None;
    f.raw.mlat = true;
    encode_avr(&f, &mut out);
    assert_eq!(
        out,
        "*5D4CA7F9A0B84B;\n@03BA2A7C1DD15D4CA7F9A0B84B;\n@FF004D4C41545D4CA7F9A0B84B;\n"
    );
}

fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> (Vec<Frame>, DropCounts) {
    let mut d = AvrDecoder::new(clock());
    let mut frames = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        let cut = cut.clamp(from, bytes.len());
        d.decode(&bytes[from..cut], &mut |f| frames.push(f));
        from = cut;
    }
    d.decode(&bytes[from..], &mut |f| frames.push(f));
    d.finish(&mut |f| frames.push(f));
    (frames, *d.drops())
}

#[test]
fn splitting_at_every_position_gives_the_same_result() {
    let text =
        b"*8D4840D6202CC371C32CE0576098;\r\n@03BA2A7C1DD15D4CA7F9A0B84B;\njunk\r\n*0000;\n*12;";
    let whole = decode_in_pieces(text, &[]);
    assert_eq!(whole.0.len(), 2);
    for cut in 0..=text.len() {
        assert_eq!(decode_in_pieces(text, &[cut]), whole, "cut at {cut}");
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_and_chunking_does_not_matter(
        bytes in proptest::collection::vec(
            prop_oneof![Just(b'*'), Just(b'@'), Just(b';'), Just(b'\n'), Just(b'\r'),
                        Just(b'A'), Just(b'0'), any::<u8>()], 0..300),
        cuts in proptest::collection::vec(0usize..300, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(decode_in_pieces(&bytes, &cuts), decode_in_pieces(&bytes, &[]));
    }

    #[test]
    fn encode_then_decode_round_trips(
        frames in proptest::collection::vec(
            (prop_oneof![proptest::collection::vec(any::<u8>(), 7),
                         proptest::collection::vec(any::<u8>(), 14)],
             1u64..(1 << 44)), 1..30),
    ) {
        let mut text = String::new();
        let mut frames = frames;
        frames.sort_by_key(|(_, c)| *c);
        let mut expected = Vec::new();
        for (data, counter) in &frames {
            let mut f = Frame::new(START.add_micros((counter / 12) as i64), data).unwrap();
            f.counter = Some(*counter);
            encode_avr(&f, &mut text);
            expected.push(f);
        }
        let (decoded, drops) = AvrDecoder::decode_all(clock(), text.as_bytes());
        prop_assert_eq!(drops, DropCounts::default());
        prop_assert_eq!(decoded, expected);
    }
}
