//! `pcap:PATH` with Remote ID: the opendroneid Wireshark-dissector sample captures
//! (testdata/remoteid, Apache-2.0) — Wi-Fi beacons and Wi-Fi NAN over radiotap, Bluetooth 5
//! long range from the nRF Sniffer — decode to one record per Remote ID frame. The
//! expected counts come from an independent byte scan of each packet for the carriers'
//! signatures (the vendor element OUI and type, the NAN service id, the Bluetooth service
//! data UUID and application code); the values are checked against the reference decoder
//! in `remoteid_oracle.rs`.

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use skyfence_core::Timestamp;
use skyfence_decode::DropReason;
use skyfence_decode::codec::{ClockOptions, Item, decode_all};
use skyfence_decode::format;
use skyfence_decode::remoteid::decode_record;
use skyfence_decode::remoteid::line::{Record, mac_string};

fn sample(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../testdata/remoteid/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every packet's bytes, read with `pcap-file`'s own readers.
fn packets(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    if bytes.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a]) {
        let mut r = PcapNgReader::new(bytes).unwrap();
        while let Some(block) = r.next_block() {
            if let Block::EnhancedPacket(p) = block.unwrap() {
                out.push(p.data.into_owned());
            }
        }
    } else {
        let mut r = PcapReader::new(bytes).unwrap();
        while let Some(p) = r.next_packet() {
            out.push(p.unwrap().data.into_owned());
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// What a byte scan finds: packets carrying a Remote ID signature, and among those the
/// offset of the payload (right after the carrier's counter).
fn scan(packet: &[u8]) -> Option<usize> {
    // Beacon vendor element: 221, length, FA:0B:BC, type 0x0D, counter.
    if let Some(i) = find(packet, &[0xfa, 0x0b, 0xbc, 0x0d])
        && i >= 2
        && packet[i - 2] == 221
    {
        return Some(i + 5);
    }
    // A NAN service discovery frame (public action, vendor specific, Wi-Fi Alliance OUI,
    // NAN) with a service descriptor of the Remote ID service id: id, instance,
    // requestor, control, info length, counter. (NAN synchronisation beacons name the
    // service too, in a vendor element, but carry no messages.)
    if find(packet, &[0x04, 0x09, 0x50, 0x6f, 0x9a, 0x13]).is_some()
        && let Some(i) = find(packet, &[0x88, 0x69, 0x19, 0x9d, 0x92, 0x09])
    {
        return Some(i + 6 + 5);
    }
    // Bluetooth service data: 0x16, UUID 0xFFFA (little-endian), app code 0x0D, counter.
    find(packet, &[0x16, 0xfa, 0xff, 0x0d]).map(|i| i + 5)
}

struct Decoded {
    records: Vec<Record>,
    drops: skyfence_decode::DropCounts,
    messages: usize,
    message_drops: Vec<DropReason>,
}

fn decode(name: &str) -> Decoded {
    let (items, drops) = decode_all(
        &mut *format::PCAP.codec(ClockOptions::default()),
        &sample(name),
    );
    let records: Vec<Record> = items
        .into_iter()
        .map(|i| match i {
            Item::RemoteId(r) => *r,
            other => panic!("{name}: {other:?}"),
        })
        .collect();
    let (mut messages, mut message_drops) = (0, Vec::new());
    for r in &records {
        decode_record(r.data(), &mut |_| messages += 1, &mut |d| {
            message_drops.push(d)
        });
    }
    Decoded {
        records,
        drops,
        messages,
        message_drops,
    }
}

#[test]
fn wifi_beacon_sample_every_frame_is_one_pack() {
    let name = "odid_wifi_bcn_sample.pcap";
    let packets = packets(&sample(name));
    let carriers: Vec<usize> = packets.iter().filter_map(|p| scan(p)).collect();
    assert_eq!((packets.len(), carriers.len()), (21, 21));
    let d = decode(name);
    assert_eq!(d.drops.total_messages(), 0, "{:?}", d.drops);
    assert_eq!(d.records.len(), carriers.len());
    // The packs are the bytes after the counter, as the scan found them.
    for ((r, p), at) in d.records.iter().zip(&packets).zip(carriers) {
        assert_eq!(r.data(), &p[at..at + r.data().len()]);
        assert_eq!(mac_string(r.transmitter.unwrap()), "84:cc:a8:60:43:24");
        assert!(r.rssi_dbm.is_some_and(|s| (-90..0).contains(&s)));
        assert!(r.is_pack());
    }
    assert!(d.message_drops.is_empty(), "{:?}", d.message_drops);
    // Each pack: Basic ID, Location, Authentication?, Self-ID, System, Operator ID.
    assert!(d.messages >= 5 * d.records.len(), "{}", d.messages);
    // Captured on 2021-05-21 (the radiotap file's packet times).
    let first = d.records[0].at;
    assert!(
        first > Timestamp::from_secs(1_621_555_200) && first < Timestamp::from_secs(1_621_641_600)
    );
}

#[test]
fn wifi_nan_sample_action_frames_carry_packs_and_sync_beacons_are_skipped() {
    let name = "odid_wifi_sample.pcap";
    let packets = packets(&sample(name));
    let carriers = packets.iter().filter(|p| scan(p).is_some()).count();
    assert_eq!((packets.len(), carriers), (63, 42));
    let d = decode(name);
    assert_eq!(d.records.len(), carriers);
    // The NAN synchronisation beacons carry no Remote ID.
    assert_eq!(
        d.drops.get(DropReason::SkippedRecord),
        (packets.len() - carriers) as u64
    );
    assert_eq!(
        d.drops.total_messages(),
        d.drops.get(DropReason::SkippedRecord)
    );
    assert!(d.message_drops.is_empty(), "{:?}", d.message_drops);
    assert_eq!(
        d.messages,
        d.records
            .iter()
            .map(|r| usize::from(r.data()[2]))
            .sum::<usize>()
    );
}

#[test]
fn bluetooth_5_long_range_sample_every_good_frame_is_read() {
    let name = "odid_bt5_lr_sample.pcapng";
    let packets = packets(&sample(name));
    // nRF Sniffer: board, 6-byte header, metadata (flags bit 0: CRC good).
    let good = |p: &Vec<u8>| p[8] & 1 == 1;
    let carriers: Vec<&Vec<u8>> = packets.iter().filter(|p| scan(p).is_some()).collect();
    let good_carriers: Vec<&&Vec<u8>> = carriers.iter().filter(|p| good(p)).collect();
    let d = decode(name);
    assert_eq!(d.records.len(), good_carriers.len());
    assert_eq!(
        d.drops.get(DropReason::BadCrc),
        (packets.iter().filter(|p| !good(p)).count()) as u64
    );
    assert_eq!(d.drops.total_messages(), d.drops.get(DropReason::BadCrc));
    // Packs with a count of zero carry no message: counted, nothing else is.
    let empty = good_carriers
        .iter()
        .filter(|p| p[scan(p).unwrap() + 2] == 0)
        .count();
    assert_eq!(d.message_drops.len(), empty, "{:?}", d.message_drops);
    assert!(d.message_drops.iter().all(|&r| r == DropReason::BadLength));
    assert!(
        d.records.len() > 200 && empty < 30,
        "{} {empty}",
        d.records.len()
    );
    for r in &d.records {
        assert_eq!(mac_string(r.transmitter.unwrap()), "e0:7d:ea:eb:2f:1c");
        assert!(r.rssi_dbm.is_some_and(|s| (-100..0).contains(&s)));
    }
    // pcapng times in the interface's resolution (microseconds): 2023-10-04.
    let first = d.records[0].at;
    assert!(
        first > Timestamp::from_secs(1_696_377_600) && first < Timestamp::from_secs(1_696_464_000),
        "{first:?}"
    );
    assert_eq!(
        d.messages,
        d.records
            .iter()
            .map(|r| usize::from(r.data()[2]))
            .sum::<usize>()
    );
}
