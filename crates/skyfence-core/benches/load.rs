//! Loading zones: one built-in country from the embedded borders file (target:
//! ≤ 50 ms per country), the whole world, and validation of a large border.
//!
//! Run: `cargo bench -p skyfence-core --bench load`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use skyfence_core::airspace::builtin::{borders, load_all, load_country};
use skyfence_core::airspace::validate::validate_shape;

fn load(c: &mut Criterion) {
    // Afghanistan (the reference zone of the size budgets), Pakistan, and the two largest borders
    // (China, Russia), which bound the worst case.
    for code in ["AF", "PK", "CN", "RU"] {
        c.bench_function(&format!("load_country_{code}"), |b| {
            b.iter(|| load_country(black_box(code)))
        });
    }
    c.bench_function("parse_index", |b| b.iter(|| black_box(borders())));
    let mut group = c.benchmark_group("world");
    group.sample_size(10);
    group.bench_function("load_all_250_countries", |b| b.iter(load_all));
    group.finish();
    for code in ["AF", "RU"] {
        let zone = load_country(code).expect("built-in country");
        c.bench_function(&format!("validate_shape_{code}"), |b| {
            b.iter(|| validate_shape(black_box(&zone.shape)))
        });
    }
}

criterion_group!(benches, load);
criterion_main!(benches);
