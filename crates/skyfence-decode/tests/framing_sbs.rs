//! SBS-1 BaseStation lines: the Kinetic "Barebones" socket-data examples, lines as
//! dump1090 and mlat-client write them, drops by reason, the encoder's exact output,
//! chunking invariance and encode → decode → encode stability.

use proptest::prelude::*;
use skyfence_core::{Callsign, GeoPoint, Icao24, Squawk, Timestamp};
use skyfence_decode::sbs::{SbsDecoder, encode_sbs, parse_line, sbs_message_type};
use skyfence_decode::{DropCounts, DropReason, Message};

/// The transmission examples of the BaseStation socket-data description
/// ("Barebones42_Socket_Data", homepages.mcb.net/bones/SBS), as quoted in many parsers.
/// Its MSG,2 example has 23 fields (one empty field too many), a known erratum.
const BAREBONES: &str = "\
SEL,,496,2286,4CA4E5,27215,2010/02/19,18:06:07.710,2010/02/19,18:06:07.710,RYR1427
ID,,496,7162,405637,27928,2010/02/19,18:06:07.115,2010/02/19,18:06:07.115,EZY691A
AIR,,496,5906,400F01,27931,2010/02/19,18:06:07.128,2010/02/19,18:06:07.128
STA,,5,179,400AE7,10103,2008/11/28,14:58:51.153,2008/11/28,14:58:51.153,RM
CLK,,496,-1,,-1,2010/02/19,18:18:19.036,2010/02/19,18:18:19.036
MSG,1,145,256,7404F2,11267,2008/11/28,23:48:18.611,2008/11/28,23:53:19.161,RJA1118,,,,,,,,,,,
MSG,2,496,603,400CB6,13168,2008/10/13,12:24:32.414,2008/10/13,12:28:52.074,,,0,76.4,258.3,54.05735,-4.38826,,,,,,0
MSG,3,496,211,4CA2D6,10057,2008/11/28,14:53:50.594,2008/11/28,14:58:51.153,,37000,,,51.45735,-1.02826,,,0,0,0,0
MSG,4,496,469,4CA767,27854,2010/02/19,17:58:13.039,2010/02/19,17:58:13.368,,,288.6,103.2,,,-832,,,,,
MSG,5,496,329,394A65,27868,2010/02/19,17:58:12.644,2010/02/19,17:58:13.368,,10000,,,,,,,0,,0,0
MSG,6,496,237,4CA215,27864,2010/02/19,17:58:12.846,2010/02/19,17:58:13.368,,33325,,,,,,0271,0,0,0,0
MSG,7,496,742,51106E,27929,2011/03/06,07:57:36.523,2011/03/06,07:57:37.054,,3775,,,,,,,,,,0
MSG,8,496,194,405F4E,27884,2010/02/19,17:58:13.244,2010/02/19,17:58:13.368,,,,,,,,,,,,0
";

fn t(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).unwrap()
}

fn icao(a: u32) -> Icao24 {
    Icao24::new(a).unwrap()
}

#[test]
fn reads_the_barebones_examples() {
    let (msgs, drops) = SbsDecoder::decode_all(BAREBONES.as_bytes());
    assert_eq!(drops.get(DropReason::SkippedRecord), 5);
    assert_eq!(drops.get(DropReason::Unparsable), 1); // the 23-field MSG,2
    assert_eq!(drops.total_messages(), 6);
    assert_eq!(msgs.len(), 7);

    let m1 = &msgs[0];
    assert_eq!(m1.icao24, icao(0x7404f2));
    assert_eq!(m1.at, t("2008-11-28T23:48:18.611Z"));
    assert_eq!(m1.callsign, Callsign::new(b"RJA1118"));
    assert_eq!(m1.df, None);

    let m3 = &msgs[1];
    assert_eq!(m3.alt_ft, Some(37_000));
    assert_eq!(m3.position, Some(GeoPoint::new(51.45735, -1.02826)));

    let m4 = &msgs[2];
    assert_eq!((m4.gs_kt, m4.track_deg), (Some(288.6), Some(103.2)));
    assert_eq!(m4.vrate_fpm, Some(-832));
    assert_eq!(m4.position, None);

    assert_eq!(msgs[3].alt_ft, Some(10_000));
    assert_eq!(msgs[4].squawk, Squawk::new(0o271));
    assert_eq!(msgs[4].alt_ft, Some(33_325));
    assert_eq!(msgs[5].alt_ft, Some(3_775));
    assert_eq!(msgs[5].at, t("2011-03-06T07:57:36.523Z"));
    assert_eq!(msgs[6].icao24, icao(0x405f4e));
    assert_eq!(msgs[6].alt_ft, None);
}

/// A dump1090 line (quoted in kevinhooke's dump1090 client) and the mlat-client sample in
/// readsb's `net_io.c`, both with CRLF, and readsb's `--gnss` form with `H` suffixes.
#[test]
fn reads_dump1090_mlat_client_and_readsb_gnss_lines() {
    let text = "MSG,3,1,1,AAABBB,1,2020/02/01,13:52:02.404,2020/02/01,13:52:02.422,,12900,,,38.61713,-121.85754,,,,,,\r\n\
                \r\n\
                MSG,3,1,1,4AC8B3,1,2019/12/10,19:10:46.320,2019/12/10,19:10:47.789,,36017,,,51.1001,10.1915,,,,,,\r\n\
                MSG,4,1,1,4AC8B3,1,2019/12/10,19:10:46.320,2019/12/10,19:10:47.789,,,450,271,,,-64H,,,,,0\r\n\
                MSG,3,1,1,4AC8B3,1,2019/12/10,19:10:46.320,2019/12/10,19:10:47.789,,36400H,,,51.1001,10.1915,,,,,,\r\n";
    let (msgs, drops) = SbsDecoder::decode_all(text.as_bytes());
    assert_eq!(drops, DropCounts::default());
    assert_eq!(msgs.len(), 4);
    assert_eq!(msgs[0].icao24, icao(0xaaabbb));
    assert_eq!(msgs[0].at, t("2020-02-01T13:52:02.404Z"));
    assert_eq!(msgs[0].alt_ft, Some(12_900));
    assert_eq!(msgs[0].position, Some(GeoPoint::new(38.61713, -121.85754)));
    assert_eq!(msgs[1].position, Some(GeoPoint::new(51.1001, 10.1915)));
    assert_eq!(msgs[2].vrate_fpm, Some(-64));
    assert_eq!((msgs[3].alt_ft, msgs[3].alt_geom_ft), (None, Some(36_400)));
}

#[test]
fn malformed_lines_are_counted_by_reason() {
    let base = "MSG,3,1,1,4CA2D6,1,2008/11/28,14:53:50.594,2008/11/28,14:58:51.153,,37000,,,51.45735,-1.02826,,,0,0,0,0";
    assert!(parse_line(base.as_bytes()).is_ok());
    let cases = [
        (base.replace("MSG,3", "MSG,9"), DropReason::Unparsable),
        (base.replace("4CA2D6", "4CA2D"), DropReason::Unparsable),
        (base.replace("4CA2D6", "4CA2DG"), DropReason::Unparsable),
        (base.replace("37000", "37k"), DropReason::Unparsable),
        (base.replace("51.45735", "91.5"), DropReason::Unparsable),
        (base.replace(",-1.02826", ","), DropReason::Unparsable),
        (base.replace("MSG", "FOO"), DropReason::Unparsable),
        (
            base.replace("2008/11/28,14:53", "2008/11/31,14:53"),
            DropReason::BadTimestamp,
        ),
        (
            base.replace("14:53:50.594", "24:53:50.594"),
            DropReason::BadTimestamp,
        ),
        (
            base.replace("2008/11/28,14:53:50.594", ","),
            DropReason::BadTimestamp,
        ),
        (format!("{base},extra"), DropReason::Unparsable),
        (
            "MSG,3,1,1,4CA2D6,1,2008/11/28".to_string(),
            DropReason::Unparsable,
        ),
    ];
    for (line, reason) in cases {
        assert_eq!(
            parse_line(line.as_bytes()).map(|_| ()),
            Err(reason),
            "{line}"
        );
    }
    let squawk =
        "MSG,6,1,1,4CA215,1,2010/02/19,17:58:12.846,2010/02/19,17:58:13.368,,,,,,,,7800,,,,";
    assert_eq!(
        parse_line(squawk.as_bytes()).map(|_| ()),
        Err(DropReason::Unparsable)
    );
}

/// The encoder writes what readsb writes: 22 fields, the time twice, CRLF.
#[test]
fn encoder_writes_readsb_lines() {
    let at = t("2023-11-14T22:21:03.120Z");
    let mut m = Message::new(at, icao(0xadf7c1));
    m.alt_ft = Some(48_000);
    m.position = Some(GeoPoint::new(33.2177, 69.8813));
    let mut out = String::new();
    assert!(encode_sbs(&m, &mut out));
    assert_eq!(
        out,
        "MSG,3,1,1,ADF7C1,1,2023/11/14,22:21:03.120,2023/11/14,22:21:03.120,,48000,,,33.217700,69.881300,,,,,,\r\n"
    );
    let mut v = Message::new(at, icao(0xadf7c1));
    v.gs_kt = Some(301.6);
    v.track_deg = Some(87.2);
    v.vrate_fpm = Some(-640);
    out.clear();
    encode_sbs(&v, &mut out);
    assert_eq!(
        out,
        "MSG,4,1,1,ADF7C1,1,2023/11/14,22:21:03.120,2023/11/14,22:21:03.120,,,302,87,,,-640,,,,,\r\n"
    );
    let mut s = Message::new(at, icao(0xadf7c1));
    s.squawk = Squawk::new(0o7700);
    s.callsign = Callsign::new(b"FORTE12");
    out.clear();
    encode_sbs(&s, &mut out);
    assert_eq!(
        out,
        "MSG,1,1,1,ADF7C1,1,2023/11/14,22:21:03.120,2023/11/14,22:21:03.120,FORTE12,,,,,,,7700,,-1,,\r\n"
    );
    assert_eq!(out.trim_end().split(',').count(), 22);
}

#[test]
fn message_type_follows_df_and_type_code_when_known() {
    let mut m = Message::new(Timestamp::EPOCH, icao(1));
    m.df = Some(17);
    m.tc = Some(11);
    assert_eq!(sbs_message_type(&m), Some(3));
    m.tc = Some(19);
    assert_eq!(sbs_message_type(&m), Some(4));
    m.tc = Some(31);
    assert_eq!(sbs_message_type(&m), None);
    let mut out = String::new();
    assert!(!encode_sbs(&m, &mut out));
    assert!(out.is_empty());
    m.df = Some(21);
    assert_eq!(sbs_message_type(&m), Some(6));
}

fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> (Vec<Message>, DropCounts) {
    let mut d = SbsDecoder::new();
    let mut msgs = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        let cut = cut.clamp(from, bytes.len());
        d.decode(&bytes[from..cut], &mut |m| msgs.push(m));
        from = cut;
    }
    d.decode(&bytes[from..], &mut |m| msgs.push(m));
    d.finish(&mut |m| msgs.push(m));
    (msgs, *d.drops())
}

#[test]
fn splitting_at_every_position_gives_the_same_result() {
    let bytes = BAREBONES.replace('\n', "\r\n");
    let bytes = bytes.as_bytes();
    let whole = decode_in_pieces(bytes, &[]);
    for cut in 0..=bytes.len() {
        assert_eq!(decode_in_pieces(bytes, &[cut]), whole, "cut at {cut}");
    }
}

fn message_strategy() -> impl Strategy<Value = Message> {
    (
        (0i64..4_000_000_000_000, 0u32..0x0100_0000),
        proptest::option::of("[A-Z0-9]{1,8}"),
        proptest::option::of(-1_000i32..60_000),
        proptest::option::of((0.0f32..2_000.0, 0.0f32..359.0)),
        proptest::option::of((-89.9f64..89.9, -179.9f64..179.9)),
        proptest::option::of(-6_000i32..6_000),
        proptest::option::of(0u16..0o10000),
    )
        .prop_map(|((ms, addr), cs, alt, vel, pos, rate, sq)| {
            let mut m = Message::new(
                Timestamp::from_micros(ms * 1000),
                Icao24::new(addr).unwrap(),
            );
            m.callsign = cs.and_then(|c| Callsign::new(c.as_bytes()));
            m.alt_ft = alt;
            if let Some((gs, track)) = vel {
                m.gs_kt = Some(gs);
                m.track_deg = Some(track);
            }
            m.position = pos.map(|(lat, lon)| GeoPoint::new(lat, lon));
            m.vrate_fpm = rate;
            m.squawk = sq.and_then(Squawk::new);
            m
        })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics_and_chunking_does_not_matter(
        bytes in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b'\n'), Just(b'/'), Just(b':'), Just(b'1'),
                        Just(b'M'), any::<u8>()], 0..300),
        cuts in proptest::collection::vec(0usize..300, 0..6),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(decode_in_pieces(&bytes, &cuts), decode_in_pieces(&bytes, &[]));
    }

    /// Encoding rounds speed and track to whole numbers and positions to 6 decimals; what
    /// is decoded then encodes to the same line, and the exact fields survive unchanged.
    #[test]
    fn encode_decode_encode_is_stable(m in message_strategy()) {
        let mut line = String::new();
        prop_assert!(encode_sbs(&m, &mut line));
        let (decoded, drops) = SbsDecoder::decode_all(line.as_bytes());
        prop_assert_eq!(drops, DropCounts::default());
        prop_assert_eq!(decoded.len(), 1);
        let d = decoded[0];
        prop_assert_eq!((d.at, d.icao24, d.callsign, d.alt_ft, d.vrate_fpm, d.squawk),
                        (m.at, m.icao24, m.callsign, m.alt_ft, m.vrate_fpm, m.squawk));
        if let (Some(a), Some(b)) = (d.position, m.position) {
            prop_assert!((a.lat - b.lat).abs() <= 5e-7 && (a.lon - b.lon).abs() <= 5e-7);
        } else {
            prop_assert_eq!(d.position.is_some(), m.position.is_some());
        }
        let mut again = String::new();
        encode_sbs(&d, &mut again);
        prop_assert_eq!(again, line);
    }
}
