//! The airspace index's hot path on the built-in Afghanistan zone (targets):
//! `locate` over 1 M random points in the bounding box + 1° (≤ 15 ns per point, ≥ 12×
//! GEOS prepared `contains_xy` on the same points, measured in the same run by
//! `benches/peers/geos_locate.py`), distance to the border within 50 km of it (≤ 1 µs),
//! points 80–200 km inside it (≤ ~20 µs), segment crossing (≤ 200 ns), and the index's size (≤ 4 MB). Rust peers: `geo`'s
//! `Contains` and its `PreparedGeometry` (relate), on a 10 000-point subset.
//!
//! Times are CPU time of the benchmark thread (see `CpuTime`); throughputs are printed
//! as CPU nanoseconds per element.
//!
//! Run: `cargo bench -p skyfence-core --bench index`. Set `SKYFENCE_NO_PEER=1` to skip
//! the GEOS peer (it needs python3 with shapely 2).

use std::hint::black_box;
use std::io::Write;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use geo::{BoundingRect, Contains, PreparedGeometry, Relate};
use geo_types::{MultiPolygon, Point};
use skyfence_core::GeoPoint;
use skyfence_core::airspace::{AirspaceIndex, ZoneId, builtin};

/// SplitMix64: deterministic points, identical in every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * ((self.next() >> 11) as f64 / (1u64 << 53) as f64)
    }
}

const N: usize = 1_000_000;

/// CPU time of the benchmark thread (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds: unlike
/// wall-clock time it does not count the time other processes hold the core. The GEOS
/// peer measures the same clock (`time.thread_time_ns`).
struct CpuTime;

fn thread_cpu_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

impl Measurement for CpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        thread_cpu_ns()
    }
    fn end(&self, i: u64) -> u64 {
        thread_cpu_ns().saturating_sub(i)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, v: &u64) -> f64 {
        *v as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (div, unit) = if typical < 1e3 {
            (1.0, "ns cpu")
        } else if typical < 1e6 {
            (1e3, "µs cpu")
        } else if typical < 1e9 {
            (1e6, "ms cpu")
        } else {
            (1e9, "s cpu")
        };
        values.iter_mut().for_each(|v| *v /= div);
        unit
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        let n = match t {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                *n as f64
            }
        };
        // Report the inverse: CPU nanoseconds per element.
        values.iter_mut().for_each(|v| *v /= n);
        "ns cpu/elem"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns cpu"
    }
}

fn geojson(shape: &MultiPolygon<f64>) -> String {
    let mut s = String::from("{\"type\":\"MultiPolygon\",\"coordinates\":[");
    for (i, p) in shape.0.iter().enumerate() {
        s.push_str(if i > 0 { ",[" } else { "[" });
        for (j, r) in std::iter::once(p.exterior())
            .chain(p.interiors())
            .enumerate()
        {
            s.push_str(if j > 0 { ",[" } else { "[" });
            let pts: Vec<String> =
                r.0.iter()
                    .map(|c| format!("[{:?},{:?}]", c.x, c.y))
                    .collect();
            s.push_str(&pts.join(","));
            s.push(']');
        }
        s.push(']');
    }
    s.push_str("]}");
    s
}

/// Runs the GEOS peer on the same zone and points; returns its output line.
fn geos_peer(shape: &MultiPolygon<f64>, pts: &[GeoPoint]) -> Option<String> {
    if std::env::var_os("SKYFENCE_NO_PEER").is_some() {
        return None;
    }
    let dir = std::env::temp_dir().join(format!("skyfence-index-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    std::fs::write(dir.join("zone.geojson"), geojson(shape)).ok()?;
    let mut f = std::fs::File::create(dir.join("points.f64")).ok()?;
    let mut buf = Vec::with_capacity(pts.len() * 16);
    for p in pts {
        buf.extend_from_slice(&p.lon.to_le_bytes());
        buf.extend_from_slice(&p.lat.to_le_bytes());
    }
    f.write_all(&buf).ok()?;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../benches/peers/geos_locate.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&dir)
        .output()
        .ok()?;
    let _ = std::fs::remove_dir_all(&dir);
    if !out.status.success() {
        eprintln!("geos peer failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn bench(c: &mut Criterion<CpuTime>) {
    let zone = builtin::load_country("AF").expect("built-in Afghanistan");
    let shape = zone.shape.clone();
    let bbox = shape.bounding_rect().expect("bbox");
    let idx = AirspaceIndex::new(vec![zone.clone()]);
    let z = ZoneId(0);
    let (nx, ny, nb, items) = idx.grid_stats(z).expect("zone");
    eprintln!(
        "AF: {} vertices, index heap {} bytes, fine grid {nx}x{ny}, {nb} boundary cells, {items} listed edges",
        shape
            .0
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum::<usize>(),
        idx.heap_bytes()
    );
    for code in ["PK", "IR", "RU"] {
        if let Ok(zc) = builtin::load_country(code) {
            eprintln!(
                "{code}: index heap {} bytes",
                AirspaceIndex::new(vec![zc]).heap_bytes()
            );
        }
    }

    let mut rng = Rng(42);
    let pts: Vec<GeoPoint> = (0..N)
        .map(|_| GeoPoint {
            lat: rng.range(bbox.min().y - 1.0, bbox.max().y + 1.0),
            lon: rng.range(bbox.min().x - 1.0, bbox.max().x + 1.0),
        })
        .collect();
    if let Some(line) = geos_peer(&shape, &pts) {
        eprintln!("{line}");
    }
    let inside = pts.iter().filter(|p| idx.contains(z, **p)).count();
    eprintln!("locate sample: {inside} of {N} points inside");

    let mut g = c.benchmark_group("af_locate_1m");
    g.throughput(Throughput::Elements(N as u64));
    g.sample_size(20);
    g.bench_function("skyfence_locate", |b| {
        let mut out = Vec::with_capacity(4);
        b.iter(|| {
            let mut n = 0usize;
            for p in &pts {
                idx.locate(*p, None, &mut out);
                n += out.len();
            }
            black_box(n)
        })
    });
    g.bench_function("skyfence_contains", |b| {
        b.iter(|| pts.iter().filter(|p| idx.contains(z, **p)).count())
    });
    g.finish();

    let sub = &pts[..10_000];
    let mut g = c.benchmark_group("af_locate_10k_rust_peers");
    g.throughput(Throughput::Elements(sub.len() as u64));
    g.sample_size(10);
    g.bench_function("geo_contains", |b| {
        b.iter(|| {
            sub.iter()
                .filter(|p| shape.contains(&Point::new(p.lon, p.lat)))
                .count()
        })
    });
    let prepared = PreparedGeometry::from(shape.clone());
    g.bench_function("geo_prepared_relate", |b| {
        b.iter(|| {
            sub.iter()
                .filter(|p| prepared.relate(&Point::new(p.lon, p.lat)).is_contains())
                .count()
        })
    });
    g.finish();

    // Points within 50 km of the border (inside or outside).
    let mut near = Vec::new();
    let mut rng = Rng(7);
    while near.len() < 10_000 {
        let p = GeoPoint {
            lat: rng.range(bbox.min().y - 0.5, bbox.max().y + 0.5),
            lon: rng.range(bbox.min().x - 0.5, bbox.max().x + 0.5),
        };
        if idx.distance_to_boundary_m(z, p) <= 50_000.0 {
            near.push(p);
        }
    }
    let mut g = c.benchmark_group("af_distance_within_50km");
    g.throughput(Throughput::Elements(near.len() as u64));
    g.sample_size(10);
    g.bench_function("skyfence_distance_to_boundary", |b| {
        b.iter(|| {
            near.iter()
                .map(|p| idx.distance_to_boundary_m(z, *p))
                .sum::<f64>()
        })
    });
    g.finish();

    // Points 80–200 km inside the border: the far path, where the tangent plane is
    // only a guide and the answer is refined with geodesics (target ≤ ~20 µs each).
    let mut far = Vec::new();
    let mut rng_far = Rng(11);
    while far.len() < 1_000 {
        let p = GeoPoint {
            lat: rng_far.range(bbox.min().y, bbox.max().y),
            lon: rng_far.range(bbox.min().x, bbox.max().x),
        };
        if idx.contains(z, p) {
            let d = idx.distance_to_boundary_m(z, p);
            if (80_000.0..=200_000.0).contains(&d) {
                far.push(p);
            }
        }
    }
    let mut g = c.benchmark_group("af_distance_far_80_200km");
    g.throughput(Throughput::Elements(far.len() as u64));
    g.sample_size(10);
    g.bench_function("skyfence_distance_to_boundary", |b| {
        b.iter(|| {
            far.iter()
                .map(|p| idx.distance_to_boundary_m(z, *p))
                .sum::<f64>()
        })
    });
    g.finish();

    // Steps of an aircraft: 2 km in a random direction from points near the border.
    let steps: Vec<(GeoPoint, GeoPoint)> = near
        .iter()
        .map(|p| {
            let a = rng.range(0.0, std::f64::consts::TAU);
            let q = GeoPoint::new(p.lat + 0.018 * a.sin(), p.lon + 0.022 * a.cos());
            (*p, q)
        })
        .collect();
    let crossing: Vec<(GeoPoint, GeoPoint)> = steps
        .iter()
        .copied()
        .filter(|(a, b)| idx.contains(z, *a) != idx.contains(z, *b))
        .collect();
    eprintln!(
        "crossing sample: {} of {} steps change side",
        crossing.len(),
        steps.len()
    );
    let mut g = c.benchmark_group("af_crossing");
    g.throughput(Throughput::Elements(steps.len() as u64));
    g.sample_size(10);
    g.bench_function("skyfence_first_crossing_2km_steps_near_border", |b| {
        b.iter(|| {
            steps
                .iter()
                .filter(|(a, q)| idx.first_crossing(z, *a, *q).is_some())
                .count()
        })
    });
    g.throughput(Throughput::Elements(crossing.len() as u64));
    g.bench_function("skyfence_first_crossing_2km_steps_that_cross", |b| {
        b.iter(|| {
            crossing
                .iter()
                .filter(|(a, q)| idx.first_crossing(z, *a, *q).is_some())
                .count()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("af_build");
    g.sample_size(10);
    g.bench_function("airspace_index_new", |b| {
        b.iter(|| AirspaceIndex::new(vec![zone.clone()]))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(CpuTime);
    targets = bench
}
criterion_main!(benches);
