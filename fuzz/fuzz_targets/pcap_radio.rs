//! Whole radio captures: a valid pcap or pcapng container of one radio link type (802.11
//! with and without radiotap, Bluetooth LE link layer with and without its
//! pseudo-header, nRF Sniffer) around arbitrary packets, read by the `pcap` codec
//! through capture → link layer → transport → Remote ID. Never panics; every packet
//! gives one Remote ID record or one counted drop; what is read does not depend on
//! where the stream is cut.
//!
//! Input: a selector byte (link type, container, byte order, and bit 6: wrap each
//! packet's bytes as the message of a Bluetooth 4 legacy advertisement, so arbitrary
//! bytes reach the Remote ID decoder without coverage guidance), a cut length, then
//! packets, each a length byte and that many bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_decode::capture::PcapDecoder;
use skyfence_decode::codec::Item;

/// The radio link types the `pcap` codec reads (LINKTYPE_ numbers).
const LINKS: [u32; 5] = [105, 127, 251, 256, 272];

fn u32b(v: u32, big: bool) -> [u8; 4] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

fn u16b(v: u16, big: bool) -> [u8; 2] {
    if big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A classic pcap file (microsecond times) of `packets` on `link`.
fn pcap(link: u32, big: bool, packets: &[&[u8]]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&u32b(0xa1b2_c3d4, big));
    f.extend_from_slice(&u16b(2, big));
    f.extend_from_slice(&u16b(4, big));
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&u32b(65_535, big));
    f.extend_from_slice(&u32b(link, big));
    for (i, p) in packets.iter().enumerate() {
        f.extend_from_slice(&u32b(1_700_000_000 + i as u32, big));
        f.extend_from_slice(&u32b(1000 * i as u32, big));
        f.extend_from_slice(&u32b(p.len() as u32, big));
        f.extend_from_slice(&u32b(p.len() as u32, big));
        f.extend_from_slice(p);
    }
    f
}

/// A pcapng block of `kind` with `body` (padded to 4 bytes).
fn block(f: &mut Vec<u8>, kind: u32, body: &[u8], big: bool) {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    f.extend_from_slice(&u32b(kind, big));
    f.extend_from_slice(&u32b(len, big));
    f.extend_from_slice(body);
    f.resize(f.len() + padded - body.len(), 0);
    f.extend_from_slice(&u32b(len, big));
}

/// A pcapng file (one interface, microsecond times) of `packets` on `link`.
fn pcapng(link: u32, big: bool, packets: &[&[u8]]) -> Vec<u8> {
    let mut f = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&u32b(0x1a2b_3c4d, big));
    shb.extend_from_slice(&u16b(1, big));
    shb.extend_from_slice(&u16b(0, big));
    shb.extend_from_slice(&[0xff; 8]);
    block(&mut f, 0x0a0d_0d0a, &shb, big);
    let mut idb = Vec::new();
    idb.extend_from_slice(&u16b(link as u16, big));
    idb.extend_from_slice(&[0; 2]);
    idb.extend_from_slice(&u32b(0, big));
    block(&mut f, 1, &idb, big);
    for (i, p) in packets.iter().enumerate() {
        let t = 1_700_000_000_000_000u64 + 1000 * i as u64;
        let mut epb = Vec::new();
        epb.extend_from_slice(&u32b(0, big));
        epb.extend_from_slice(&u32b((t >> 32) as u32, big));
        epb.extend_from_slice(&u32b(t as u32, big));
        epb.extend_from_slice(&u32b(p.len() as u32, big));
        epb.extend_from_slice(&u32b(p.len() as u32, big));
        epb.extend_from_slice(p);
        block(&mut f, 6, &epb, big);
    }
    f
}

/// `message` as the Remote ID service data of an ADV_NONCONN_IND on the Bluetooth LE
/// link layer (access address, PDU, a CRC the reader does not check).
fn ble_advertisement(message: &[u8]) -> Vec<u8> {
    let message = &message[..message.len().min(200)];
    let mut p = vec![0xd6, 0xbe, 0x89, 0x8e, 0x02, (6 + 6 + message.len()) as u8];
    p.extend_from_slice(&[0x11, 0x22, 0x33, 0x44, 0x55, 0x66]);
    p.extend_from_slice(&[(5 + message.len()) as u8, 0x16, 0xfa, 0xff, 0x0d, 0x01]);
    p.extend_from_slice(message);
    p.extend_from_slice(&[0; 3]);
    p
}

fn read(chunks: &[&[u8]]) -> (Vec<String>, String) {
    let mut d = PcapDecoder::new();
    let mut items = Vec::new();
    for c in chunks {
        d.decode(c, &mut |i| items.push(i));
    }
    d.finish();
    let items = items
        .iter()
        .map(|i| match i {
            Item::RemoteId(r) => format!("{r:?}"),
            other => panic!("a radio capture gave {other:?}"),
        })
        .collect();
    (items, format!("{:?}", d.drops()))
}

fuzz_target!(|data: &[u8]| {
    let [selector, cut, rest @ ..] = data else {
        return;
    };
    let mut rest: &[u8] = rest;
    let mut packets: Vec<&[u8]> = Vec::new();
    while let [len, tail @ ..] = rest {
        let (p, t) = tail.split_at(usize::from(*len).min(tail.len()));
        packets.push(p);
        rest = t;
    }
    let mut link = LINKS[usize::from(selector & 0x0f) % LINKS.len()];
    let wrapped: Vec<Vec<u8>>;
    if selector & 0x40 != 0 {
        link = 251;
        wrapped = packets.iter().map(|p| ble_advertisement(p)).collect();
        packets = wrapped.iter().map(|p| p.as_slice()).collect();
    }
    let big = selector & 0x20 != 0;
    let file = if selector & 0x10 != 0 {
        pcapng(link, big, &packets)
    } else {
        pcap(link, big, &packets)
    };
    let whole = read(&[&file]);
    // Each packet: one record or one drop, the container dropping nothing.
    let mut d = PcapDecoder::new();
    let mut records = 0u64;
    d.decode(&file, &mut |_| records += 1);
    d.finish();
    assert_eq!(
        records + d.drops().total_messages(),
        packets.len() as u64,
        "{:?}",
        d.drops()
    );
    let at = usize::from(*cut) * file.len() / 256;
    let (a, b) = file.split_at(at);
    assert_eq!(read(&[a, b]), whole);
});
