//! The `raw` format (`TIMESTAMP,HEX` lines): real recording lines, exact timestamps,
//! headers and comments, drops by reason, chunking invariance and round trips.

use proptest::prelude::*;
use skyfence_core::Timestamp;
use skyfence_decode::raw::{RawDecoder, encode_raw_line, parse_unix_seconds};
use skyfence_decode::{DropCounts, DropReason, Frame};

/// The first lines of rs1090's recording `crates/rs1090/data/short_flights.csv`
/// (xoolive/rs1090), preceded by the header rs1090's long recordings carry.
const RS1090: &str = "timestamp,rawmsg\n\
1753827785.8086092,8DADA5265851E6616376C2EB4463\n\
1753827785.8406525,8DADA526EA2D086FC55C085E782E\n\
1753827786.0808175,8DADA52699149F28704029B6C425\n";

fn hex(frame: &Frame) -> String {
    frame.data().iter().map(|b| format!("{b:02X}")).collect()
}

#[test]
fn reads_rs1090_recording_lines_with_exact_times() {
    let (frames, drops) = RawDecoder::decode_all(RS1090.as_bytes());
    assert_eq!(drops, DropCounts::default());
    let got: Vec<_> = frames
        .iter()
        .map(|f| (f.at.as_micros(), hex(f), f.counter))
        .collect();
    assert_eq!(
        got,
        [
            // .8086092 rounds to .808609
            (
                1_753_827_785_808_609,
                "8DADA5265851E6616376C2EB4463".into(),
                None
            ),
            // .8406525 rounds half away from zero to .840653
            (
                1_753_827_785_840_653,
                "8DADA526EA2D086FC55C085E782E".into(),
                None
            ),
            (
                1_753_827_786_080_818,
                "8DADA52699149F28704029B6C425".into(),
                None
            ),
        ]
    );
}

/// The whole of `testdata/long_flight.csv` (rs1090's two-hour recording, see
/// testdata/README.md): every line is a frame, none is dropped.
#[test]
fn reads_the_whole_long_flight_recording() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/long_flight.csv"
    );
    let bytes = std::fs::read(path).expect("testdata/long_flight.csv");
    let (frames, drops) = RawDecoder::decode_all(&bytes);
    assert_eq!(drops, DropCounts::default());
    assert_eq!(frames.len(), 172_432);
    assert_eq!(frames.iter().filter(|f| f.raw.len == 7).count(), 71_639);
    assert_eq!(frames[0].at, Timestamp::from_micros(1_698_140_962_119_813));
    assert_eq!(hex(&frames[0]), "210000BD6B441A");
    assert!(frames.windows(2).all(|w| w[0].at < w[1].at));
}

/// rs1090's original recording form: the hex field is a whole un-escaped Beast message
/// (here the first frame of long_flight.csv with counter 0x0123456789AB, signal 0x2f).
#[test]
fn reads_beast_messages_in_hex_keeping_counter_and_signal() {
    let text = "1698140962.119813,1a320123456789ab2f210000bd6b441a\n\
                1698140962.171425,1a330123456789ac00903907dbc1b50fca1ad701efd570\n\
                1698140962.2,1a340123456789ac00903907dbc1b50fca1ad701efd570\n";
    let (frames, drops) = RawDecoder::decode_all(text.as_bytes());
    assert_eq!(frames.len(), 2);
    assert_eq!(drops.get(DropReason::BadLength), 1);
    assert_eq!(frames[0].counter, Some(0x0123_4567_89ab));
    assert_eq!(frames[0].raw.signal, Some(0x2f));
    assert_eq!(hex(&frames[0]), "210000BD6B441A");
    assert_eq!(frames[0].at, Timestamp::from_micros(1_698_140_962_119_813));
    assert_eq!((frames[1].raw.len, frames[1].raw.signal), (14, None));
}

#[test]
fn parses_unix_seconds_exactly() {
    let p = |s: &str| parse_unix_seconds(s.as_bytes()).map(Timestamp::as_micros);
    assert_eq!(p("1700000000"), Some(1_700_000_000_000_000));
    assert_eq!(p("1700000000.12"), Some(1_700_000_000_120_000));
    assert_eq!(p("1700000000.0000004"), Some(1_700_000_000_000_000));
    assert_eq!(p("1700000000.0000005"), Some(1_700_000_000_000_001));
    assert_eq!(p("-1.5"), Some(-1_500_000));
    assert_eq!(p(".5"), Some(500_000));
    assert_eq!(p(""), None);
    assert_eq!(p("."), None);
    assert_eq!(p("1e9"), None);
    assert_eq!(p("17000000000000000000"), None);
    assert_eq!(p("2023-11-14T22:21:03Z"), None);
}

#[test]
fn comments_blank_lines_crlf_and_spaces_are_accepted() {
    let text = "# recorded at Kabul\r\n\r\n 1700000000.5 , 5d4ca7f9a0b84b \r\n1700000001,8D4840D6202CC371C32CE0576098";
    let (frames, drops) = RawDecoder::decode_all(text.as_bytes());
    assert_eq!(drops, DropCounts::default());
    assert_eq!(frames.len(), 2);
    assert_eq!(frames[0].at, Timestamp::from_micros(1_700_000_000_500_000));
    assert_eq!(hex(&frames[0]), "5D4CA7F9A0B84B");
    assert_eq!(frames[1].at, Timestamp::from_secs(1_700_000_001));
}

#[test]
fn bad_lines_are_counted_by_reason_and_time_may_go_backwards() {
    let text = "1700000002,8D4840D6202CC371C32CE0576098\n\
                garbage\n\
                yesterday,8D4840D6202CC371C32CE0576098\n\
                1700000001,8D4840D6202CC371C32CE05760\n\
                1700000001,8D4840D6202CC371C32CE05760XY\n\
                1700000001,7700\n\
                1700000001,8D4840D6202CC371C32CE0576098\n";
    let (frames, drops) = RawDecoder::decode_all(text.as_bytes());
    assert_eq!(frames.len(), 2);
    assert!(frames[1].at < frames[0].at);
    assert_eq!(drops.get(DropReason::Garbage), 7);
    assert_eq!(drops.get(DropReason::BadTimestamp), 1);
    assert_eq!(drops.get(DropReason::BadLength), 2);
    assert_eq!(drops.get(DropReason::BadHex), 1);
}

#[test]
fn encoder_writes_six_decimals_and_uppercase_hex() {
    let f = Frame::new(
        Timestamp::from_micros(1_753_827_785_808_609),
        &[0x5d, 0x4c, 0xa7, 0xf9, 0xa0, 0xb8, 0x4b],
    )
    .unwrap();
    let mut out = String::new();
    encode_raw_line(&f, &mut out);
    let g = Frame::new(Timestamp::from_micros(-1_500_000), f.data()).unwrap();
    encode_raw_line(&g, &mut out);
    assert_eq!(
        out,
        "1753827785.808609,5D4CA7F9A0B84B\n-1.500000,5D4CA7F9A0B84B\n"
    );
}

fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> (Vec<Frame>, DropCounts) {
    let mut d = RawDecoder::new();
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
    let text = format!("{RS1090}junk\r\n1700000001,77\n# c\n1700000001.5,5D4CA7F9A0B84B");
    let bytes = text.as_bytes();
    let whole = decode_in_pieces(bytes, &[]);
    assert_eq!(whole.0.len(), 4);
    for cut in 0..=bytes.len() {
        assert_eq!(decode_in_pieces(bytes, &[cut]), whole, "cut at {cut}");
    }
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_and_chunking_does_not_matter(
        bytes in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b'.'), Just(b'\n'), Just(b'1'), Just(b'A'),
                        any::<u8>()], 0..300),
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
             -4_000_000_000_000_000i64..4_000_000_000_000_000), 0..30),
    ) {
        let mut text = String::new();
        let mut expected = Vec::new();
        for (data, micros) in &frames {
            let f = Frame::new(Timestamp::from_micros(*micros), data).unwrap();
            encode_raw_line(&f, &mut text);
            expected.push(f);
        }
        let (decoded, drops) = RawDecoder::decode_all(text.as_bytes());
        prop_assert_eq!(drops, DropCounts::default());
        prop_assert_eq!(decoded, expected);
    }
}
