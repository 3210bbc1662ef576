//! Packet captures (pcap and pcapng) as recordings: the container is read by the
//! `pcap-file` crate, which yields each packet's capture time, link type and bytes;
//! [`udp_payload`] (with `etherparse`) takes a UDP datagram's payload out of an
//! Ethernet, Linux cooked, loopback or raw IP frame. What the payload carries is the
//! caller's business: [`PcapDecoder`] reads ASTERIX data blocks from UDP payloads and
//! Remote ID from Bluetooth LE and 802.11 frames, choosing by link type.

use std::time::Duration;

/// The link types of captured packets (re-exported: callers of [`CaptureReader`] and of
/// [`crate::remoteid::radio`] name them).
pub use pcap_file::DataLink;
use pcap_file::PcapError;
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use skyfence_core::Timestamp;

use crate::asterix::{self, Report};
use crate::codec::Item;
use crate::{DropCounts, DropReason, remoteid};

/// The file's container, once its first bytes are known.
enum Container {
    /// Not enough bytes yet to tell.
    Unknown,
    /// Legacy pcap.
    Pcap(PcapParser),
    /// pcapng.
    PcapNg(Box<PcapNgParser>),
    /// Not a capture, or broken beyond recovery: the rest is counted as garbage.
    Broken,
}

/// pcapng Section Header Block type.
const PCAPNG_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// pcap magic numbers (microsecond and nanosecond, both byte orders).
const PCAP_MAGICS: [[u8; 4]; 4] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
];

/// Streaming reader of a pcap or pcapng file fed in chunks of any size: each packet's
/// capture time, link type and bytes, in file order.
pub struct CaptureReader {
    pending: Vec<u8>,
    container: Container,
    drops: DropCounts,
}

fn timestamp(d: Duration) -> Timestamp {
    Timestamp::from_micros(i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// An Enhanced Packet Block's time in the units its interface declares: `pcap-file`
/// hands out the 64-bit count as nanoseconds whatever the interface's `if_tsresol`
/// (pcapng, IETF draft §4.2: 10^-N s, or 2^-N s with the high bit set; 10^-6 s when the
/// option is absent) and without its `if_tsoffset` (seconds).
fn pcapng_time(raw: Duration, options: &[InterfaceDescriptionOption<'_>]) -> Timestamp {
    let count = raw.as_nanos();
    let mut resol = 6u8;
    let mut offset_s = 0i64;
    for o in options {
        match o {
            InterfaceDescriptionOption::IfTsResol(r) => resol = *r,
            InterfaceDescriptionOption::IfTsOffset(s) => {
                offset_s = i64::try_from(*s).unwrap_or(i64::MAX);
            }
            _ => {}
        }
    }
    let micros = if resol & 0x80 == 0 {
        let exp = u32::from(resol);
        if exp >= 6 {
            10u128.checked_pow(exp - 6).map_or(0, |d| count / d)
        } else {
            count.saturating_mul(10u128.pow(6 - exp))
        }
    } else {
        // A power of two: count × 10^6 / 2^N.
        let exp = u32::from(resol & 0x7f);
        count
            .saturating_mul(1_000_000)
            .checked_shr(exp)
            .unwrap_or(0)
    };
    Timestamp::from_micros(i64::try_from(micros).unwrap_or(i64::MAX))
        .add_micros(offset_s.saturating_mul(1_000_000))
}

impl CaptureReader {
    /// A reader at the start of a file.
    pub fn new() -> Self {
        CaptureReader {
            pending: Vec::new(),
            container: Container::Unknown,
            drops: DropCounts::default(),
        }
    }

    /// What was dropped so far (broken containers, packets without a time).
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }

    /// Reads the next chunk, calling `out` for every complete packet.
    pub fn feed(&mut self, chunk: &[u8], out: &mut dyn FnMut(Timestamp, DataLink, &[u8])) {
        self.pending.extend_from_slice(chunk);
        let mut pending = std::mem::take(&mut self.pending);
        let used = self.packets(&pending, out);
        pending.drain(..used);
        self.pending = pending;
    }

    /// Ends the file: a packet cut short is counted as truncated.
    pub fn finish(&mut self) {
        if !self.pending.is_empty() {
            match self.container {
                Container::Broken => {
                    self.drops
                        .add_n(DropReason::Garbage, self.pending.len() as u64);
                }
                _ => self.drops.add(DropReason::Truncated),
            }
            self.pending.clear();
        }
    }

    /// Reads the complete packets at the start of `data`: how many bytes were used.
    fn packets(&mut self, data: &[u8], out: &mut dyn FnMut(Timestamp, DataLink, &[u8])) -> usize {
        let mut src = data;
        if let Container::Unknown = self.container {
            let Some(magic) = src.get(..4) else {
                return 0;
            };
            if magic == PCAPNG_MAGIC {
                match PcapNgParser::new(src) {
                    Ok((rem, p)) => {
                        self.container = Container::PcapNg(Box::new(p));
                        src = rem;
                    }
                    Err(PcapError::IncompleteBuffer) => return 0,
                    Err(_) => self.container = Container::Broken,
                }
            } else if PCAP_MAGICS.iter().any(|m| m == magic) {
                match PcapParser::new(src) {
                    Ok((rem, p)) => {
                        self.container = Container::Pcap(p);
                        src = rem;
                    }
                    Err(PcapError::IncompleteBuffer) => return 0,
                    Err(_) => self.container = Container::Broken,
                }
            } else {
                self.container = Container::Broken;
            }
        }
        loop {
            match &mut self.container {
                Container::Unknown => return data.len() - src.len(),
                Container::Broken => {
                    self.drops.add_n(DropReason::Garbage, src.len() as u64);
                    return data.len();
                }
                Container::Pcap(p) => match p.next_packet(src) {
                    Ok((rem, packet)) => {
                        out(
                            timestamp(packet.timestamp),
                            p.header().datalink,
                            &packet.data,
                        );
                        src = rem;
                    }
                    Err(PcapError::IncompleteBuffer) => return data.len() - src.len(),
                    Err(_) => match p.next_raw_packet(src) {
                        // Framed by its lengths, but with a fraction of a second out of
                        // range (a microsecond count of 1 000 000 or more): the packet
                        // cannot be placed in time, and the packets after it can.
                        Ok((rem, raw))
                            if !valid_fraction(raw.ts_frac, p.header().ts_resolution) =>
                        {
                            self.drops.add(DropReason::BadTimestamp);
                            src = rem;
                        }
                        _ => {
                            // A packet header that makes no sense: the framing is lost.
                            self.drops.add(DropReason::BadLength);
                            self.container = Container::Broken;
                        }
                    },
                },
                Container::PcapNg(p) => match p.next_block(src) {
                    Ok((rem, block)) => {
                        if let Block::EnhancedPacket(epb) = &block {
                            match p.packet_interface(epb) {
                                Some(idb) => out(
                                    pcapng_time(epb.timestamp, &idb.options),
                                    idb.linktype,
                                    &epb.data,
                                ),
                                None => self.drops.add(DropReason::Unparsable),
                            }
                        } else if let Block::SimplePacket(_) = &block {
                            // No time of capture: the packet cannot be placed in time.
                            self.drops.add(DropReason::BadTimestamp);
                        }
                        src = rem;
                    }
                    Err(PcapError::IncompleteBuffer) => return data.len() - src.len(),
                    Err(_) => {
                        self.drops.add(DropReason::BadLength);
                        self.container = Container::Broken;
                    }
                },
            }
        }
    }
}

/// Whether a pcap packet header's fraction of a second is below one second in its
/// file's resolution (what the pcap-file crate checks before handing a packet out).
fn valid_fraction(frac: u32, resolution: pcap_file::TsResolution) -> bool {
    match resolution {
        pcap_file::TsResolution::MicroSecond => frac < 1_000_000,
        pcap_file::TsResolution::NanoSecond => frac < 1_000_000_000,
    }
}

impl Default for CaptureReader {
    fn default() -> Self {
        Self::new()
    }
}

/// The payload of the UDP datagram in a captured frame of link type `link`, when it
/// holds one (Ethernet, Linux cooked capture, BSD loopback, raw IPv4/IPv6).
pub fn udp_payload(link: DataLink, frame: &[u8]) -> Option<&[u8]> {
    use etherparse::{SlicedPacket, TransportSlice};
    let sliced = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(frame).ok()?,
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(frame).ok()?,
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(frame).ok()?,
        // BSD loopback: a 4-byte address family, then the IP packet.
        DataLink::NULL | DataLink::LOOP => SlicedPacket::from_ip(frame.get(4..)?).ok()?,
        _ => return None,
    };
    match sliced.transport? {
        TransportSlice::Udp(udp) => Some(udp.payload()),
        _ => None,
    }
}

/// What a captured frame holds, for a UDP feed ([`checked_udp_payload`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UdpFrame<'a> {
    /// A UDP datagram's payload, its checksum verified (or absent: 0 over IPv4).
    Payload(&'a [u8]),
    /// A UDP datagram whose checksum does not match its bytes (RFC 768; RFC 8200 §8.1
    /// for IPv6, where it is mandatory): damaged, so not read.
    BadChecksum,
    /// Not a UDP datagram.
    NotUdp,
}

/// The UDP payload of a captured frame, as [`udp_payload`], once its checksum is
/// verified over the pseudo-header (RFC 768). A datagram cut by the capture's snapshot
/// length cannot be verified; it is handed out as captured. A capture taken on the
/// sending host with checksum offload shows checksums the card had not yet filled in:
/// those datagrams count as bad, and a feed recorded that way must be recorded again
/// on the receiving side.
pub fn checked_udp_payload(link: DataLink, frame: &[u8]) -> UdpFrame<'_> {
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    let sliced = match link {
        DataLink::ETHERNET => SlicedPacket::from_ethernet(frame).ok(),
        DataLink::LINUX_SLL => SlicedPacket::from_linux_sll(frame).ok(),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => SlicedPacket::from_ip(frame).ok(),
        DataLink::NULL | DataLink::LOOP => {
            frame.get(4..).and_then(|f| SlicedPacket::from_ip(f).ok())
        }
        _ => None,
    };
    let Some(sliced) = sliced else {
        return UdpFrame::NotUdp;
    };
    let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
        return UdpFrame::NotUdp;
    };
    let payload = udp.payload();
    let sent = udp.checksum();
    let whole = usize::from(udp.length()) == payload.len() + 8;
    let header = udp.to_header();
    let computed = match &sliced.net {
        Some(NetSlice::Ipv4(ip)) if sent != 0 && whole => {
            let h = ip.header();
            header.calc_checksum_ipv4_raw(h.source(), h.destination(), payload)
        }
        Some(NetSlice::Ipv6(ip)) if whole => {
            let h = ip.header();
            header.calc_checksum_ipv6_raw(h.source(), h.destination(), payload)
        }
        _ => return UdpFrame::Payload(payload),
    };
    match computed {
        Ok(c) if c == sent => UdpFrame::Payload(payload),
        _ => UdpFrame::BadChecksum,
    }
}

/// `pcap`: the records a capture carries, each stamped with its packet's capture time.
/// Where to look is decided by the packet's link type, here and only here:
///
/// - radio links (802.11 with or without radiotap, Bluetooth LE link layer, nRF
///   Sniffer; [`remoteid::radio::is_radio_link`]): the Remote ID message or pack of a
///   Wi-Fi beacon, NAN frame or Bluetooth advertisement ([`remoteid::radio`]);
/// - every other link: ASTERIX data blocks in UDP payloads ([`udp_payload`]).
pub struct PcapDecoder {
    capture: CaptureReader,
    /// Dropped while decoding payloads.
    payload_drops: DropCounts,
    /// The container's and the payloads' drops together.
    drops: DropCounts,
}

impl PcapDecoder {
    /// A decoder at the start of a capture.
    pub fn new() -> Self {
        PcapDecoder {
            capture: CaptureReader::new(),
            payload_drops: DropCounts::default(),
            drops: DropCounts::default(),
        }
    }

    /// Reads the next chunk, calling `out` with every ASTERIX record and Remote ID record.
    pub fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        let drops = &mut self.payload_drops;
        self.capture.feed(chunk, &mut |at, link, frame| {
            if remoteid::radio::is_radio_link(link) {
                remoteid::radio::records(at, link, frame, drops, &mut |r| {
                    out(Item::RemoteId(Box::new(r)));
                });
            } else {
                udp_asterix(at, link, frame, drops, out);
            }
        });
        self.merge_drops();
    }

    /// Ends the capture.
    pub fn finish(&mut self) {
        self.capture.finish();
        self.merge_drops();
    }

    fn merge_drops(&mut self) {
        self.drops = self.payload_drops;
        self.drops.merge(self.capture.drops());
    }

    /// What was dropped so far: the container's and the payloads' decoding.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }
}

/// The ASTERIX records in the UDP payload of one captured frame.
fn udp_asterix(
    at: Timestamp,
    link: DataLink,
    frame: &[u8],
    drops: &mut DropCounts,
    out: &mut dyn FnMut(Item),
) {
    let payload = match checked_udp_payload(link, frame) {
        UdpFrame::Payload(p) => p,
        // Damaged in transit or on disk: its bytes cannot be trusted.
        UdpFrame::BadChecksum => {
            drops.add(DropReason::BadChecksum);
            return;
        }
        // Not UDP (ARP, TCP, ICMP…): not a radar feed.
        UdpFrame::NotUdp => {
            drops.add(DropReason::SkippedRecord);
            return;
        }
    };
    asterix::decode_datagram(payload, drops, &mut |report: &Report, record: &[u8]| {
        out(Item::Asterix(Box::new(asterix::item(at, report, record))));
    });
}

impl Default for PcapDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl crate::codec::Codec for PcapDecoder {
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        PcapDecoder::decode(self, chunk, out);
    }

    fn finish(&mut self, _out: &mut dyn FnMut(Item)) {
        // A packet is complete or counted as truncated: nothing to hand out.
        PcapDecoder::finish(self);
    }

    fn drops(&self) -> &DropCounts {
        PcapDecoder::drops(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet whose microsecond count is out of range is dropped as untimed, and the
    /// capture goes on: the packets after it are read (found by fuzzing: the whole rest
    /// of the file was garbage).
    #[test]
    fn a_packet_with_an_out_of_range_fraction_is_dropped_alone() {
        for big in [false, true] {
            let u32b = |v: u32| {
                if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                }
            };
            let mut f = Vec::new();
            f.extend_from_slice(&u32b(0xa1b2_c3d4));
            // Version 2.4.
            for v in [2u16, 4] {
                f.extend_from_slice(&if big {
                    v.to_be_bytes()
                } else {
                    v.to_le_bytes()
                });
            }
            f.extend_from_slice(&[0; 8]);
            f.extend_from_slice(&u32b(65_535));
            f.extend_from_slice(&u32b(1)); // Ethernet
            for (i, usec) in [
                (0u32, 250_000u32),
                (1, 1_000_000),
                (2, 999_999),
                (3, u32::MAX),
            ] {
                f.extend_from_slice(&u32b(1_700_000_000 + i));
                f.extend_from_slice(&u32b(usec));
                f.extend_from_slice(&u32b(3));
                f.extend_from_slice(&u32b(3));
                f.extend_from_slice(&[i as u8; 3]);
            }
            let mut r = CaptureReader::new();
            let mut got = Vec::new();
            // Fed a byte at a time: the skip does not depend on where chunks end.
            for b in &f {
                r.feed(std::slice::from_ref(b), &mut |at, _, data| {
                    got.push((at, data.to_vec()))
                });
            }
            r.finish();
            assert_eq!(
                got,
                vec![
                    (Timestamp::from_micros(1_700_000_000_250_000), vec![0; 3]),
                    (Timestamp::from_micros(1_700_000_002_999_999), vec![2; 3]),
                ]
            );
            assert_eq!(r.drops().get(DropReason::BadTimestamp), 2);
            assert_eq!(r.drops().total_messages(), 2, "{:?}", r.drops());
        }
    }

    #[test]
    fn pcapng_times_follow_the_interface_resolution_and_offset() {
        use InterfaceDescriptionOption::{IfTsOffset, IfTsResol};
        // pcap-file hands the raw 64-bit count out as nanoseconds.
        let raw = Duration::from_nanos(1_700_000_000_123_456);
        // No option: microseconds.
        assert_eq!(
            pcapng_time(raw, &[]),
            Timestamp::from_micros(1_700_000_000_123_456)
        );
        assert_eq!(
            pcapng_time(raw, &[IfTsResol(9)]),
            Timestamp::from_micros(1_700_000_000_123)
        );
        assert_eq!(
            pcapng_time(Duration::from_nanos(1_700_000_000_123), &[IfTsResol(3)]),
            Timestamp::from_micros(1_700_000_000_123_000)
        );
        // 2^-10 s: 1024 counts a second.
        assert_eq!(
            pcapng_time(
                Duration::from_nanos(1024 * 5 + 512),
                &[IfTsResol(0x80 | 10)]
            ),
            Timestamp::from_micros(5_500_000)
        );
        assert_eq!(
            pcapng_time(
                Duration::from_nanos(1_000_000),
                &[IfTsResol(6), IfTsOffset(100)]
            ),
            Timestamp::from_micros(101_000_000)
        );
        // Absurd resolutions give a time, not a panic.
        let _ = pcapng_time(raw, &[IfTsResol(127)]);
        let _ = pcapng_time(raw, &[IfTsResol(0xff)]);
        let _ = pcapng_time(raw, &[IfTsResol(0), IfTsOffset(u64::MAX)]);
    }
}
