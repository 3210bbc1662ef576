//! `pcap:PATH`: ASTERIX in the UDP payloads of pcap and pcapng captures (written here
//! with the `pcap-file` writers around Ethernet/IPv4/UDP frames built by `etherparse`),
//! each record stamped with its packet's capture time; chunking never changes what is
//! read; what is not ASTERIX over UDP is counted.

use std::borrow::Cow;
use std::time::Duration;

use etherparse::PacketBuilder;
use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use skyfence_core::Timestamp;
use skyfence_decode::DropReason;
use skyfence_decode::asterix::{Detection, Polar, Report, encode};
use skyfence_decode::codec::{ClockOptions, Item};
use skyfence_decode::format;

/// Capture times: 2023-11-14T22:13:20Z plus 4 s per packet.
const T0_US: u64 = 1_700_000_000_000_000;

/// One UDP datagram (127.0.0.1:8600 → 127.0.0.1:8600) in an Ethernet frame.
fn udp_frame(payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .udp(8600, 8600);
    let mut out = Vec::with_capacity(builder.size(payload.len()));
    builder.write(&mut out, payload).unwrap();
    out
}

/// A TCP segment: not a radar feed.
fn tcp_frame() -> Vec<u8> {
    let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
        .tcp(1000, 2000, 1, 1000);
    let mut out = Vec::new();
    builder.write(&mut out, b"hello").unwrap();
    out
}

/// Packet `k`: a data block of two CAT048 plots of track 417 and 418; the fifth packet
/// is TCP.
fn packets() -> Vec<(Duration, Vec<u8>)> {
    (0..10u64)
        .map(|k| {
            let at = Duration::from_micros(T0_US + 4_000_000 * k);
            if k == 4 {
                return (at, tcp_frame());
            }
            let plot = |track: u32| Report {
                category: 48,
                sac: 1,
                sic: 2,
                // The record's own time of day is not the record's time in a capture.
                time_of_day: Some(128),
                detection: Some(Detection::Psr),
                polar: Some(Polar {
                    range_nm: 10.0 + k as f64,
                    azimuth_deg: 45.0,
                }),
                track_number: Some(track),
                ..Report::default()
            };
            let mut block = Vec::new();
            encode::block(
                48,
                &[
                    encode::record(&plot(417)).unwrap(),
                    encode::record(&plot(418)).unwrap(),
                ],
                &mut block,
            );
            (at, udp_frame(&block))
        })
        .collect()
}

fn pcap_file() -> Vec<u8> {
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    for (at, frame) in packets() {
        w.write_packet(&PcapPacket::new(at, frame.len() as u32, &frame))
            .unwrap();
    }
    w.into_writer()
}

fn pcapng_file() -> Vec<u8> {
    let mut w = PcapNgWriter::new(Vec::new()).unwrap();
    let idb = InterfaceDescriptionBlock {
        linktype: DataLink::ETHERNET,
        snaplen: 0xffff,
        // The writer stores nanoseconds: say so (the default resolution is microseconds).
        options: vec![InterfaceDescriptionOption::IfTsResol(9)],
    };
    w.write_pcapng_block(idb).unwrap();
    for (at, frame) in packets() {
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: at,
            original_len: frame.len() as u32,
            data: Cow::Borrowed(&frame),
            options: vec![],
        };
        w.write_pcapng_block(epb).unwrap();
    }
    w.into_inner()
}

fn read(bytes: &[u8], chunk: usize) -> (Vec<(Timestamp, u32, f64)>, skyfence_decode::DropCounts) {
    let f = format::lookup("pcap").unwrap();
    let mut codec = f.codec(ClockOptions::default());
    let mut items = Vec::new();
    for c in bytes.chunks(chunk.max(1)) {
        codec.decode(c, &mut |i| items.push(i));
    }
    codec.finish(&mut |i| items.push(i));
    let got = items
        .into_iter()
        .map(|i| match i {
            // A damaged capture may hold records without these items.
            Item::Asterix(a) => (
                a.at,
                a.report.track_number.unwrap_or(u32::MAX),
                a.report.polar.map_or(-1.0, |p| p.range_nm),
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    (got, *codec.drops())
}

#[test]
fn pcap_and_pcapng_give_every_record_at_its_capture_time() {
    for (name, bytes) in [("pcap", pcap_file()), ("pcapng", pcapng_file())] {
        let (got, drops) = read(&bytes, bytes.len());
        assert_eq!(got.len(), 18, "{name}");
        assert_eq!(
            got[0],
            (Timestamp::from_micros(T0_US as i64), 417, 10.0),
            "{name}"
        );
        assert_eq!(got[1].1, 418, "{name}");
        // Packet 9 (the TCP one, 4, is skipped).
        assert_eq!(
            got[17],
            (
                Timestamp::from_micros((T0_US + 36_000_000) as i64),
                418,
                19.0
            ),
            "{name}"
        );
        assert_eq!(drops.get(DropReason::SkippedRecord), 1, "{name}");
        assert_eq!(drops.total_messages(), 1, "{name}");
        for chunk in [1, 7, 64, 1000] {
            assert_eq!(
                read(&bytes, chunk),
                (got.clone(), drops),
                "{name}, chunks of {chunk}"
            );
        }
        // Cut short: the last packet is counted, not guessed.
        let (cut, drops) = read(&bytes[..bytes.len() - 5], 4096);
        assert_eq!(cut.len(), 16, "{name}");
        assert_eq!(drops.get(DropReason::Truncated), 1, "{name}");
    }
}

#[test]
fn a_file_that_is_not_a_capture_is_garbage() {
    let (got, drops) = read(b"not a capture at all", 5);
    assert!(got.is_empty());
    assert_eq!(drops.get(DropReason::Garbage), 20);
}

#[test]
fn damaged_captures_never_panic_and_read_the_same_however_cut() {
    for bytes in [pcap_file(), pcapng_file()] {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..2000 {
            let mut damaged = bytes.clone();
            for _ in 0..3 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let at = (state % damaged.len() as u64) as usize;
                damaged[at] ^= (state >> 32) as u8 | 1;
            }
            // Neither pcap framing nor ASTERIX carries a checksum skyfence checks (nor
            // is the UDP checksum verified yet): a flipped bit may change, add or
            // swallow a packet. What must hold: no panic, and the same result however
            // the file is cut.
            assert_eq!(read(&damaged, 97), read(&damaged, damaged.len()));
        }
    }
}

#[test]
fn a_datagram_whose_checksum_fails_is_counted_and_skipped() {
    // Ethernet (14) + IPv4 (20): the UDP header at 34, its checksum at 40..42, the
    // payload from 42.
    let mut frames = packets();
    // Packet 2: a payload byte flipped after the checksum was computed (the range of
    // the first plot's record); packet 3: no checksum (0, allowed over IPv4).
    frames[2].1[50] ^= 0x10;
    frames[3].1[40..42].copy_from_slice(&[0, 0]);
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    for (at, frame) in &frames {
        w.write_packet(&PcapPacket::new(*at, frame.len() as u32, frame))
            .unwrap();
    }
    let bytes = w.into_writer();
    let (got, drops) = read(&bytes, bytes.len());
    assert_eq!(drops.get(DropReason::BadChecksum), 1);
    assert_eq!(drops.get(DropReason::SkippedRecord), 1);
    // Packets 0, 1, 3 and 5–9, two records each; nothing of packet 2.
    assert_eq!(got.len(), 16);
    assert!(got.iter().all(|(_, _, range)| *range != 12.0), "{got:?}");
    assert!(got.iter().any(|(_, _, range)| *range == 13.0), "{got:?}");
}
