//! Evidence log speed: appends per second, and the cost of generating and verifying
//! inclusion and consistency proofs in a log of one million leaves (the order of a busy
//! day of incident frames).

use criterion::{BatchSize, Criterion, Throughput, black_box, criterion_group, criterion_main};
use skyfence_evidence::{EvidenceLeaf, MerkleLog, verify_consistency, verify_inclusion};

const BIG: u64 = 1 << 20;

fn frame_leaf(i: u64) -> Vec<u8> {
    EvidenceLeaf::RawFrame {
        sensor: "kbl1".into(),
        received_at_us: 1_700_000_000_000_000 + i as i64,
        signal: Some(0xA0),
        mlat: false,
        frame: vec![
            0x8D, 0x48, 0x40, 0xD6, 0x20, 0x2C, 0xC3, 0x71, 0xC3, 0x2C, 0xE0, 0x57, 0x60, 0x98,
        ],
    }
    .encode()
    .expect("a 14-byte frame always encodes")
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle");
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("append_10k_raw_frame_leaves_in_memory", |b| {
        let leaves: Vec<Vec<u8>> = (0..10_000).map(frame_leaf).collect();
        b.iter_batched(
            MerkleLog::in_memory,
            |mut log| {
                for l in &leaves {
                    log.append(l).expect("in-memory append");
                }
                log
            },
            BatchSize::LargeInput,
        )
    });
    g.throughput(Throughput::Elements(1));

    let mut log = MerkleLog::in_memory();
    for i in 0..BIG {
        log.append(&i.to_le_bytes()).expect("in-memory append");
    }
    let size = BIG - 12_345; // not a power of two: the general case
    let root = log.root(size).expect("root");
    let index = 777_777;
    let leaf = log.leaf_hash_at(index).expect("leaf");
    let proof = log.inclusion_proof(index, size).expect("proof");
    let old = 300_001;
    let old_root = log.root(old).expect("old root");
    let cproof = log.consistency_proof(old, size).expect("consistency");

    g.bench_function("root_of_1m_leaf_log", |b| {
        b.iter(|| log.root(black_box(size)))
    });
    g.bench_function("inclusion_proof_generate_1m", |b| {
        b.iter(|| log.inclusion_proof(black_box(index), size))
    });
    g.bench_function("inclusion_proof_verify_1m", |b| {
        b.iter(|| verify_inclusion(&leaf, black_box(index), size, &proof, &root))
    });
    g.bench_function("consistency_proof_generate_1m", |b| {
        b.iter(|| log.consistency_proof(black_box(old), size))
    });
    g.bench_function("consistency_proof_verify_1m", |b| {
        b.iter(|| verify_consistency(black_box(old), size, &old_root, &root, &cproof))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
