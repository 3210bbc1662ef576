//! ASTERIX CAT048 decode throughput: records per second through the streaming decoder
//! (FSPEC walk with the UAP table, the items skyfence reads, the day clock), on one
//! core. The buffer holds 100 000 records in data blocks of 10, shaped like a
//! Mode S radar's output: FSPEC of 2-3 octets, I048/010 140 020 040 070 090 220 240 161
//! 042 200 170, a tenth of the plots primary-only without address. Target: ≥ 5 M
//! records/s (BENCHMARKS.md).
//!
//! The peer, in the same run: the C++ `asterix_decoder` (a Python extension) parsing the
//! same buffer, timed inside its Python process around `asterix.parse` alone (process
//! start and file read excluded; the conversion of its results into Python objects is
//! part of its parse and cannot be taken out). Its interpreter is
//! `SKYFENCE_ASTERIX_DECODER_PYTHON`, else `$HOME/.cache/skyfence/venvs/asterix_decoder`
//! (as `.ci/run` installs it); without it that bench is skipped with a note.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skyfence_core::{Callsign, Icao24, Squawk, Timestamp};
use skyfence_decode::asterix::{AsterixDecoder, Detection, Polar, Report, encode};

const RECORDS: usize = 100_000;

fn stream() -> Vec<u8> {
    let mut out = Vec::new();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut block = Vec::with_capacity(10);
    for k in 0..RECORDS {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let primary = state.is_multiple_of(10);
        let r = Report {
            category: 48,
            sac: 1,
            sic: 2,
            time_of_day: Some((3_600 * 128 + k as u64 * 5) as u32),
            detection: Some(if primary {
                Detection::Psr
            } else {
                Detection::ModeSRollCallPsr
            }),
            polar: Some(Polar {
                range_nm: (state % 200) as f64 + 0.5,
                azimuth_deg: (state % 3600) as f64 / 10.0,
            }),
            mode3a: (!primary).then(|| Squawk::new((state % 0o7777) as u16).unwrap()),
            flight_level: (!primary).then_some((state % 400) as f32),
            address: (!primary).then(|| Icao24::from_u32_masked(state as u32)),
            callsign: (!primary).then(|| Callsign::new(b"KLM1023").unwrap()),
            track_number: Some((state % 4096) as u32),
            cartesian_nm: Some((12.5, -3.25)),
            ground_speed_kt: Some(420.0),
            track_deg: Some(93.0),
            track_tentative: Some(false),
            ..Report::default()
        };
        block.push(encode::record(&r).unwrap());
        if block.len() == 10 {
            encode::block(48, &block, &mut out);
            block.clear();
        }
    }
    out
}

fn cat048(c: &mut Criterion) {
    let bytes = stream();
    let mut g = c.benchmark_group("asterix");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.bench_function("cat048_decode_100k_records", |b| {
        b.iter(|| {
            let mut d = AsterixDecoder::new(Timestamp::from_secs(1_700_000_000));
            let mut n = 0u64;
            let mut fl = 0f32;
            d.decode(&bytes, &mut |_, r, _| {
                n += 1;
                fl += r.flight_level.unwrap_or(0.0);
            });
            assert_eq!(n, RECORDS as u64);
            std::hint::black_box(fl)
        });
    });
    g.finish();
    asterix_decoder_peer(c, &bytes);
}

/// The peer's interpreter, when asterix_decoder is installed there.
fn peer_python() -> Option<std::path::PathBuf> {
    let python = std::env::var_os("SKYFENCE_ASTERIX_DECODER_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            std::path::PathBuf::from(home).join(".cache/skyfence/venvs/asterix_decoder/bin/python")
        });
    let ok = std::process::Command::new(&python)
        .args(["-c", "import asterix"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// Times `iters` parses of the file at `path` inside one Python process (after one
/// untimed parse that checks the record count).
const PEER_SCRIPT: &str = r#"
import sys, time, asterix
data = open(sys.argv[1], "rb").read()
iters, want = int(sys.argv[2]), int(sys.argv[3])
n = len(asterix.parse(data))
assert n == want, (n, want)
t = time.perf_counter_ns()
for _ in range(iters):
    asterix.parse(data)
print(time.perf_counter_ns() - t)
"#;

fn asterix_decoder_peer(c: &mut Criterion, bytes: &[u8]) {
    let Some(python) = peer_python() else {
        eprintln!(
            "asterix/asterix_decoder_parse_100k_records: skipped, asterix_decoder not installed"
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("skyfence-bench-asterix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cat048.ast");
    std::fs::write(&path, bytes).unwrap();
    let mut g = c.benchmark_group("asterix");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(10);
    g.bench_function("asterix_decoder_parse_100k_records", |b| {
        b.iter_custom(|iters| {
            let out = std::process::Command::new(&python)
                .arg("-c")
                .arg(PEER_SCRIPT)
                .arg(&path)
                .arg(iters.to_string())
                .arg(RECORDS.to_string())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let ns: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
            std::time::Duration::from_nanos(ns)
        });
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, cat048);
criterion_main!(benches);
