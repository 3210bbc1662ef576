//! Remote ID records (one message or a message pack) on arbitrary bytes: never panics;
//! every record is delivered or counted; every decoded message re-encodes to bytes that
//! decode to the same values; no position outside ±90°/±180°. The same bytes as
//! Bluetooth and Wi-Fi frames and as `remoteid` text lines: never a panic, and what a
//! transport finds lies inside the frame. The same bytes as a receiver's JSON document
//! and as a captured radio frame of every link type `pcap` reads: one record or one
//! counted drop each.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_decode::remoteid::line::RemoteIdLineDecoder;
use skyfence_decode::remoteid::message::{Message, decode_message, decode_record, encode_message};
use skyfence_decode::capture::DataLink;
use skyfence_decode::remoteid::{json, radio, transport};
use skyfence_decode::DropCounts;
use skyfence_core::Timestamp;

fuzz_target!(|data: &[u8]| {
    let mut delivered = Vec::new();
    let mut dropped = 0usize;
    decode_record(data, &mut |d| delivered.push(d), &mut |_| dropped += 1);
    assert!(!delivered.is_empty() || dropped > 0);
    for d in &delivered {
        assert_eq!(decode_message(&encode_message(d)), Ok(*d));
        let position = match d.message {
            Message::Location(l) => l.position,
            Message::System(s) => s.operator,
            _ => None,
        };
        if let Some(p) = position {
            assert!(p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0, "{p:?}");
        }
    }
    for carried in [
        transport::ble_legacy_pdu(data),
        transport::ble_extended_pdu(data),
        transport::wifi_beacon(data),
        transport::wifi_nan(data),
    ]
    .into_iter()
    .flatten()
    {
        assert!(carried.payload.len() < data.len());
        decode_record(carried.payload, &mut |_| {}, &mut |_| {});
    }
    let _ = transport::strip_radiotap(data);
    let (records, _) = RemoteIdLineDecoder::decode_all(data);
    for r in &records {
        decode_record(r.data(), &mut |_| {}, &mut |_| {});
    }
    // The same bytes as a receiver's JSON document, and as a captured frame of every
    // radio link type the `pcap` codec reads (radiotap, 802.11, Bluetooth LE link layer
    // with and without its pseudo-header, nRF Sniffer): a record, or one drop.
    let _ = json::record(data);
    for link in [
        DataLink::IEEE802_11_RADIOTAP,
        DataLink::IEEE802_11,
        DataLink::BLUETOOTH_LE_LL,
        DataLink::BLUETOOTH_LE_LL_WITH_PHDR,
        DataLink::NORDIC_BLE,
    ] {
        let mut drops = DropCounts::default();
        let mut n = 0u64;
        radio::records(Timestamp::EPOCH, link, data, &mut drops, &mut |r| {
            assert!(r.data().len() < data.len());
            n += 1;
        });
        assert_eq!(n + drops.total_messages(), 1);
    }
});
