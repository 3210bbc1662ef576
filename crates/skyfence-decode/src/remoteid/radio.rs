//! Remote ID in packet captures of the radio link: the capture's link-layer header
//! (the pcap/pcapng link type) peeled off down to the Bluetooth LE advertising PDU or the
//! 802.11 management frame, which [`super::transport`] reads. The capture container is
//! read by [`crate::capture::CaptureReader`]; the `pcap` codec hands every packet of a
//! link type [`is_radio_link`] accepts to [`records`].
//!
//! | link type | header | what follows |
//! |---|---|---|
//! | 127 `IEEE802_11_RADIOTAP` | radiotap (version 0; its flags say whether a 4-byte FCS ends the frame, or the FCS failed; its antenna signal is the RSSI) | an 802.11 frame |
//! | 105 `IEEE802_11` | none | an 802.11 frame, without FCS |
//! | 251 `BLUETOOTH_LE_LL` | none | access address (4), PDU, CRC (3) |
//! | 256 `BLUETOOTH_LE_LL_WITH_PHDR` | 10 bytes: channel, signal power (dBm), noise, access-address offenses, reference access address, flags (bit 1: signal power valid; bits 14–15: PHY, 2 = LE Coded) | access address, [coding indicator on LE Coded], PDU, CRC |
//! | 272 `NORDIC_BLE` (nRF Sniffer) | board id (1), a 6-byte header whose fourth byte is the protocol version (1–3), then packet metadata: its own length (10), flags (bit 0: CRC good; bits 4–6: PHY, 2 = LE Coded), channel, RSSI as a magnitude (−dBm), event counter (2), time (4) | as above |
//!
//! Only advertising-channel PDUs (access address 0x8E89BED6) are read. A frame that is
//! not a Remote ID carrier (another beacon, another advertiser, a data PDU) is counted
//! [`DropReason::SkippedRecord`]; a frame whose CRC or FCS the receiver marked as failed
//! [`DropReason::BadCrc`]; a header cut short [`DropReason::Truncated`]; a carried payload
//! that is neither a 25-byte message nor a message pack [`DropReason::BadLength`]. What
//! the messages say is judged later, by the ingest step, as for `remoteid` lines.

use pcap_file::DataLink;
use skyfence_core::Timestamp;

use super::line::Record;
use super::message::MessageType;
use super::transport::{self, Carried};
use crate::{DropCounts, DropReason};

/// The access address of Bluetooth LE advertising channels (primary and secondary).
pub const ADVERTISING_ACCESS_ADDRESS: u32 = 0x8e89_bed6;

/// Whether packets of `link` are radio frames this module reads (else the `pcap` codec
/// looks for UDP in them).
pub fn is_radio_link(link: DataLink) -> bool {
    matches!(
        link,
        DataLink::IEEE802_11_RADIOTAP
            | DataLink::IEEE802_11
            | DataLink::BLUETOOTH_LE_LL
            | DataLink::BLUETOOTH_LE_LL_WITH_PHDR
            | DataLink::NORDIC_BLE
    )
}

/// The Remote ID record a captured radio frame of link type `link` carries, received at
/// `at`: handed to `out`, or counted in `drops` by reason.
pub fn records(
    at: Timestamp,
    link: DataLink,
    frame: &[u8],
    drops: &mut DropCounts,
    out: &mut dyn FnMut(Record),
) {
    match carried(link, frame) {
        Ok((carried, rssi_dbm)) => {
            match Record::new(at, carried.transmitter, unpadded(carried.payload)) {
                Some(mut r) => {
                    r.rssi_dbm = rssi_dbm;
                    out(r);
                }
                None => drops.add(DropReason::BadLength),
            }
        }
        Err(reason) => drops.add(reason),
    }
}

/// A message pack without the bytes its carrier adds after it. Bluetooth 5 transmitters
/// send an advertising data structure of fixed size (the full 9-message pack, 228 bytes)
/// and fill what the pack's count leaves unused; the reference decoder reads `count`
/// messages and ignores the rest. A pack whose count does not fit, and any other
/// payload, is returned whole (and judged by its length).
fn unpadded(payload: &[u8]) -> &[u8] {
    match payload {
        [h, 25, count @ 1..=9, ..] if h >> 4 == MessageType::Pack as u8 => payload
            .get(..3 + 25 * usize::from(*count))
            .unwrap_or(payload),
        _ => payload,
    }
}

/// The Remote ID payload of one frame, with the RSSI its capture header gives.
fn carried(link: DataLink, frame: &[u8]) -> Result<(Carried<'_>, Option<i8>), DropReason> {
    match link {
        DataLink::IEEE802_11_RADIOTAP => {
            let rt = radiotap(frame).ok_or(DropReason::Truncated)?;
            if rt.bad_fcs {
                return Err(DropReason::BadCrc);
            }
            let mut body = &frame[rt.len..];
            if rt.fcs_at_end {
                body = body
                    .get(..body.len().saturating_sub(4))
                    .filter(|b| !b.is_empty())
                    .ok_or(DropReason::Truncated)?;
            }
            Ok((wifi(body)?, rt.signal_dbm))
        }
        DataLink::IEEE802_11 => Ok((wifi(frame)?, None)),
        DataLink::BLUETOOTH_LE_LL => Ok((ble_packet(frame, false)?, None)),
        DataLink::BLUETOOTH_LE_LL_WITH_PHDR => {
            let (phdr, packet) = frame.split_at_checked(10).ok_or(DropReason::Truncated)?;
            let flags = u16::from_le_bytes([phdr[8], phdr[9]]);
            let coded = (flags >> 14) & 0x03 == 2;
            let rssi = (flags & 0x0002 != 0).then_some(phdr[1] as i8);
            Ok((ble_packet(packet, coded)?, rssi))
        }
        DataLink::NORDIC_BLE => {
            let (carried, rssi) = nordic_ble(frame)?;
            Ok((carried, Some(rssi)))
        }
        _ => Err(DropReason::SkippedRecord),
    }
}

/// A beacon's vendor element or a NAN service discovery frame.
fn wifi(frame: &[u8]) -> Result<Carried<'_>, DropReason> {
    transport::wifi_beacon(frame)
        .or_else(|| transport::wifi_nan(frame))
        .ok_or(DropReason::SkippedRecord)
}

/// A Bluetooth LE packet from its access address on (a coding indicator byte after it on
/// the LE Coded PHY): the Remote ID payload of a legacy or extended advertising PDU.
fn ble_packet(packet: &[u8], coded: bool) -> Result<Carried<'_>, DropReason> {
    let (aa, rest) = packet.split_at_checked(4).ok_or(DropReason::Truncated)?;
    if u32::from_le_bytes([aa[0], aa[1], aa[2], aa[3]]) != ADVERTISING_ACCESS_ADDRESS {
        // A data channel packet.
        return Err(DropReason::SkippedRecord);
    }
    let pdu = if coded {
        rest.get(1..).ok_or(DropReason::Truncated)?
    } else {
        rest
    };
    let [header, len, ..] = pdu else {
        return Err(DropReason::Truncated);
    };
    // The PDU is its 2-byte header and `len` bytes; the 3-byte CRC follows.
    if pdu.len() < 2 + usize::from(*len) {
        return Err(DropReason::Truncated);
    }
    let found = if header & 0x0f == 7 {
        transport::ble_extended_pdu(pdu)
    } else {
        transport::ble_legacy_pdu(pdu)
    };
    found.ok_or(DropReason::SkippedRecord)
}

/// An nRF Sniffer packet (link type 272, protocol versions 1–3): the Remote ID payload and
/// the RSSI, dBm.
fn nordic_ble(frame: &[u8]) -> Result<(Carried<'_>, i8), DropReason> {
    // Board id (1), then 6 header bytes whose fourth is the protocol version; version 0
    // (0xBEEF-framed, before 2016) is not read.
    let version = *frame.get(3).ok_or(DropReason::Truncated)?;
    if !(1..=3).contains(&version) {
        return Err(DropReason::Unparsable);
    }
    let meta = frame.get(7..).ok_or(DropReason::Truncated)?;
    let [meta_len, flags, _channel, rssi, ..] = meta else {
        return Err(DropReason::Truncated);
    };
    if flags & 0x01 == 0 {
        return Err(DropReason::BadCrc);
    }
    let coded = (flags >> 4) & 0x07 == 2;
    let packet = meta
        .get(usize::from(*meta_len)..)
        .ok_or(DropReason::Truncated)?;
    let rssi = i8::try_from(-i16::from(*rssi)).unwrap_or(i8::MIN);
    Ok((ble_packet(packet, coded)?, rssi))
}

/// What skyfence reads of a radiotap header.
#[derive(Debug, PartialEq, Eq)]
struct Radiotap {
    /// The header's length: the 802.11 frame starts there.
    len: usize,
    /// The frame ends with its 4-byte FCS (flags bit 0x10).
    fcs_at_end: bool,
    /// The receiver found the FCS wrong (flags bit 0x40).
    bad_fcs: bool,
    /// Antenna signal, dBm (field 5).
    signal_dbm: Option<i8>,
}

/// Reads a radiotap header (version 0): its length, the flags field (1) and the dBm
/// antenna signal (5), skipping the fields before them (TSFT, rate, channel, FHSS) by
/// their sizes and alignments. Fields are aligned to their natural size from the start
/// of the header; extended presence bitmaps (bit 31) are skipped.
fn radiotap(frame: &[u8]) -> Option<Radiotap> {
    let [0, _pad, lo, hi, ..] = frame else {
        return None;
    };
    let len = usize::from(u16::from_le_bytes([*lo, *hi]));
    let header = frame.get(..len)?;
    let present = u32::from_le_bytes(header.get(4..8)?.try_into().ok()?);
    let mut at = 8;
    let mut word = present;
    while word & 0x8000_0000 != 0 {
        word = u32::from_le_bytes(header.get(at..at + 4)?.try_into().ok()?);
        at += 4;
    }
    let mut rt = Radiotap {
        len,
        fcs_at_end: false,
        bad_fcs: false,
        signal_dbm: None,
    };
    // (bit, alignment, size) of the fields up to the antenna signal.
    const FIELDS: [(u32, usize, usize); 6] = [
        (0, 8, 8),
        (1, 1, 1),
        (2, 1, 1),
        (3, 2, 4),
        (4, 1, 2),
        (5, 1, 1),
    ];
    for (bit, align, size) in FIELDS {
        if present & (1 << bit) == 0 {
            continue;
        }
        at = at.next_multiple_of(align);
        let field = header.get(at..at + size)?;
        match bit {
            1 => {
                rt.fcs_at_end = field[0] & 0x10 != 0;
                rt.bad_fcs = field[0] & 0x40 != 0;
            }
            5 => rt.signal_dbm = Some(field[0] as i8),
            _ => {}
        }
        at += size;
    }
    Some(rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radiotap_fields_are_found_past_their_alignment() {
        // TSFT (8, aligned to 8), flags with FCS, rate, channel (aligned to 2), signal.
        let mut h = vec![0u8, 0, 0, 0];
        h.extend_from_slice(&(0b10_1111u32).to_le_bytes());
        h.extend_from_slice(&[0; 8]); // TSFT at 8
        h.push(0x10); // flags
        h.push(2); // rate
        h.extend_from_slice(&[0x6c, 0x09, 0xa0, 0x00]); // channel at 18
        h.push((-61i8) as u8);
        let len = h.len() as u16;
        h[2..4].copy_from_slice(&len.to_le_bytes());
        let rt = radiotap(&h).unwrap();
        assert_eq!(
            rt,
            Radiotap {
                len: 23,
                fcs_at_end: true,
                bad_fcs: false,
                signal_dbm: Some(-61)
            }
        );
        // Cut inside the fields: no header.
        let mut short = h.clone();
        short[2] = 12;
        assert_eq!(radiotap(&short), None);
        assert_eq!(radiotap(&[1, 0, 8, 0, 0, 0, 0, 0]), None);
    }

    #[test]
    fn non_radio_links_and_short_headers_are_counted() {
        let mut drops = DropCounts::default();
        let mut n = 0;
        let at = Timestamp::from_secs(0);
        records(at, DataLink::ETHERNET, &[0; 40], &mut drops, &mut |_| {
            n += 1
        });
        records(
            at,
            DataLink::BLUETOOTH_LE_LL,
            &[0xd6, 0xbe],
            &mut drops,
            &mut |_| n += 1,
        );
        records(
            at,
            DataLink::NORDIC_BLE,
            &[3, 0, 0, 0],
            &mut drops,
            &mut |_| n += 1,
        );
        records(
            at,
            DataLink::IEEE802_11_RADIOTAP,
            &[0, 0, 40, 0],
            &mut drops,
            &mut |_| n += 1,
        );
        assert_eq!(n, 0);
        assert_eq!(drops.get(DropReason::SkippedRecord), 1);
        assert_eq!(drops.get(DropReason::Truncated), 2);
        assert_eq!(drops.get(DropReason::Unparsable), 1);
        assert!(!is_radio_link(DataLink::ETHERNET));
        assert!(is_radio_link(DataLink::NORDIC_BLE));
    }
}
