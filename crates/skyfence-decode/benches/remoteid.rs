//! Remote ID message decoding throughput: skyfence's stateless decoder and the
//! reference implementation (opendroneid-core-c through the `opendroneid` crate) on the
//! same 1 000 messages, a broadcast mix per drone and second: Basic ID, Location,
//! System, Operator ID, and one corrupted Location; and skyfence's per-drone assembly of
//! the same messages as received records into observations.
//!
//! `cargo bench -p skyfence-decode --bench remoteid`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use opendroneid::Message as _;
use skyfence_core::{GeoPoint, SourceId, Timestamp};
use skyfence_decode::remoteid::assemble::Assembler;
use skyfence_decode::remoteid::line::Record;
use skyfence_decode::remoteid::message::{
    BasicId, Decoded, IdType, Location, Message, OperatorId, System, UaType, decode_message,
    encode_message, encode_pack,
};

fn encode(message: Message) -> [u8; 25] {
    encode_message(&Decoded {
        version: 2,
        message,
    })
}

/// 200 drones × (Basic ID, Location, System, Operator ID, corrupted Location).
fn messages() -> Vec<[u8; 25]> {
    let mut out = Vec::new();
    for i in 0..200u32 {
        let mut uas_id = [0u8; 20];
        uas_id[..12].copy_from_slice(format!("SKYF{i:08}").as_bytes());
        let here = GeoPoint::new(33.0 + f64::from(i) * 0.01, 69.0 + f64::from(i) * 0.01);
        out.push(encode(Message::BasicId(BasicId {
            id_type: IdType::SerialNumber,
            ua_type: UaType(2),
            uas_id,
        })));
        let location = encode(Message::Location(Location {
            position: Some(here),
            direction_deg: Some(90.0),
            speed_ms: Some(12.5),
            vspeed_ms: Some(-1.0),
            alt_geo_m: Some(1_200.0),
            height_m: Some(100.0),
            h_accuracy: 10,
            tenths_after_hour: Some(1234),
            ..Location::default()
        }));
        out.push(location);
        out.push(encode(Message::System(System {
            operator: Some(GeoPoint::new(here.lat, here.lon - 0.01)),
            timestamp_s: Some(153_800_000),
            ..System::default()
        })));
        out.push(encode(Message::OperatorId(OperatorId {
            id_type: 0,
            id: uas_id,
        })));
        let mut bad = location;
        bad[5..9].copy_from_slice(&i32::MAX.to_le_bytes());
        out.push(bad);
    }
    out
}

fn bench_messages(c: &mut Criterion) {
    let msgs = messages();
    let mut g = c.benchmark_group("remoteid");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.bench_function("skyfence/decode_message", |b| {
        b.iter(|| {
            let mut positions = 0u32;
            for m in &msgs {
                if let Ok(Decoded {
                    message: Message::Location(l),
                    ..
                }) = decode_message(black_box(m))
                {
                    positions += u32::from(l.position.is_some());
                }
            }
            positions
        })
    });
    // The reference decodes each message type with its own function; the header picks it.
    g.bench_function("opendroneid/decode", |b| {
        b.iter(|| {
            let mut positions = 0u32;
            for m in &msgs {
                let m = black_box(&m[..]);
                match m[0] >> 4 {
                    0 => drop(black_box(opendroneid::BasicId::decode(m))),
                    1 => {
                        if let Ok(l) = opendroneid::Location::decode(m) {
                            positions += u32::from(l.latitude() != 0.0);
                        }
                    }
                    4 => drop(black_box(opendroneid::System::decode(m))),
                    5 => drop(black_box(opendroneid::OperatorId::decode(m))),
                    _ => {}
                }
            }
            positions
        })
    });
    // The same messages as packs of 4 (Bluetooth 5 / Wi-Fi), unpacked and decoded.
    let mut packs = Vec::new();
    for chunk in msgs.chunks(4) {
        let mut p = Vec::new();
        encode_pack(2, chunk, &mut p);
        packs.push(p);
    }
    g.bench_function("skyfence/decode_record_packs", |b| {
        b.iter(|| {
            let mut n = 0u32;
            for p in &packs {
                skyfence_decode::remoteid::decode_record(
                    black_box(p),
                    &mut |_| n += 1,
                    &mut |_| {},
                );
            }
            n
        })
    });
    // The per-drone assembly after decoding: the 1 000 messages as `remoteid` records
    // (each drone by its advertiser address, heard by one named receiver) through
    // `Assembler::observe_by` into observations, the drones' state kept across
    // iterations as a live receiver's would be.
    let receiver = skyfence_core::ShortName::new("rx-bench").ok();
    let records: Vec<Record> = msgs
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let drone = (k / 5) as u16;
            let mac = [0x60, 0x60, 0x1f, 0, (drone >> 8) as u8, drone as u8];
            let mut r = Record::new(Timestamp::from_secs(1_700_000_000), Some(mac), m).unwrap();
            r.receiver = receiver;
            r.rssi_dbm = Some(-70);
            r
        })
        .collect();
    let mut assembler = Assembler::new();
    g.bench_function("skyfence/assemble", |b| {
        b.iter(|| {
            let mut positions = 0u32;
            for r in &records {
                if let Some(o) = assembler.observe_by(SourceId(0), None, black_box(r)) {
                    positions += u32::from(o.position.is_some());
                }
            }
            positions
        })
    });
    g.finish();
}

criterion_group!(benches, bench_messages);
criterion_main!(benches);
