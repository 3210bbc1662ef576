//! Differential tests of skyfence's ASTERIX decoding against two independent decoders,
//! through the real `skyfence decode` binary:
//!
//! - asterix_decoder (Croatia Control's C++ decoder with its Python binding; CAT048 1.21,
//!   CAT034 1.27, CAT062 1.18) decodes the simulator's radar recording
//!   (`simulate --scenario af-pk-border-radar`: CAT048 plots and tracks, CAT034 service
//!   messages, CAT062 system tracks) and the sample recordings shipped inside the
//!   installed package (read from it at test time, never copied here: they are GPL);
//! - tshark (Wireshark's ASTERIX dissector; CAT048 1.31, CAT034 1.29, CAT062 1.19)
//!   dissects the same recording captured as UDP datagrams in a pcap file, which
//!   skyfence reads through its `pcap:` input.
//!
//! Every value the peer prints for an item skyfence reads must agree with skyfence's, and
//! every value skyfence prints must be printed by the peer (floating-point values within
//! the items' least significant bit).
//!
//! asterix_decoder lives in its own virtual environment (it installs a module named
//! `asterix`, as libasterix does): `.ci/run` creates it and exports
//! `SKYFENCE_ASTERIX_DECODER_PYTHON`; without it the tests look in
//! `$HOME/.cache/skyfence/venvs/asterix_decoder`. A missing peer skips a test locally and
//! fails it in CI (skyfence_testkit::require_tool).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Map, Value};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
/// asterix_decoder's Python and whether it imports.
fn python() -> PathBuf {
    skyfence_testkit::venv_python("SKYFENCE_ASTERIX_DECODER_PYTHON", "asterix_decoder")
}

fn asterix_decoder_available(python: &Path) -> Result<(), String> {
    skyfence_testkit::python_runs(
        python,
        "import asterix; asterix.parse(b'')",
        "asterix_decoder",
        "python3 -m venv DIR && DIR/bin/pip install asterix_decoder==0.7.11; set SKYFENCE_ASTERIX_DECODER_PYTHON=DIR/bin/python",
    )
}

const ORACLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/oracle/asterix_decoder_fields.py"
);

fn tshark_available() -> Result<(), String> {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(())
    } else {
        Err("no tshark on PATH (Debian package tshark)".into())
    }
}

/// Runs a program and returns its standard output as JSON lines.
fn json_lines(cmd: &mut Command) -> Vec<Value> {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// `skyfence decode --input INPUT`: one JSON object per ASTERIX record.
fn skyfence_decode(input: &str) -> Vec<Value> {
    json_lines(
        Command::new(BIN)
            .args(["decode", "--input", input])
            .env("SKYFENCE_LOG", "warn"),
    )
}

/// asterix_decoder's values for the records of a file (`raw` or `pcap`), in skyfence's
/// keys and units; records of categories skyfence does not read are left out.
fn asterix_decoder(python: &Path, kind: &str, path: &Path) -> Vec<Value> {
    json_lines(Command::new(python).arg(ORACLE).arg(kind).arg(path))
        .into_iter()
        .filter(|v| v.get("unsupported").is_none())
        .collect()
}

/// The largest difference allowed between two decodings of a key: half the item's least
/// significant bit, or the rounding of skyfence's JSON (degrees to 1e-6; single
/// precision for speeds and angles).
fn tolerance(key: &str) -> f64 {
    match key {
        "azimuth_deg" | "lat" | "lon" => 1e-6,
        "gs_kt" | "track_deg" | "sector_deg" | "rotation_period_s" => 1e-3,
        _ => 1e-9,
    }
}

fn same(key: &str, ours: &Value, theirs: &Value) -> bool {
    match (ours.as_f64(), theirs.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() <= tolerance(key),
        _ => ours == theirs,
    }
}

/// Keys of skyfence's output that carry no decoded item (or that the peer states in
/// other terms, compared apart).
fn ours_only(key: &str) -> bool {
    matches!(key, "proto" | "at")
}

/// Compares skyfence's records with a peer's, record by record: the same count, and for
/// each record the same keys and values. Returns how many values were compared.
fn compare(what: &str, ours: &[Value], theirs: &[Value]) -> usize {
    assert_eq!(ours.len(), theirs.len(), "{what}: record counts differ");
    assert!(!ours.is_empty(), "{what}: no records");
    let mut compared = 0;
    for (i, (o, t)) in ours.iter().zip(theirs).enumerate() {
        let (o, t) = (o.as_object().unwrap(), t.as_object().unwrap());
        let mut o: Map<String, Value> = o
            .iter()
            .filter(|(k, _)| !ours_only(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut t = t.clone();
        // CAT062 velocity: the peers print I062/185 as Vx, Vy; skyfence as speed and track.
        if let (Some(vx), Some(vy)) = (
            t.remove("vx_ms").and_then(|v| v.as_f64()),
            t.remove("vy_ms").and_then(|v| v.as_f64()),
        ) {
            let gs = o.remove("gs_kt").and_then(|v| v.as_f64());
            let trk = o.remove("track_deg").and_then(|v| v.as_f64());
            let want_gs = vx.hypot(vy) * 3600.0 / 1852.0;
            let want_trk = vx.atan2(vy).to_degrees().rem_euclid(360.0);
            assert!(
                gs.is_some_and(|g| (g - want_gs).abs() < 1e-3),
                "{what} record {i}: gs_kt {gs:?}, peer {want_gs} ({o:?})"
            );
            assert!(
                trk.is_some_and(|a| (a - want_trk).abs() < 1e-3),
                "{what} record {i}: track_deg {trk:?}, peer {want_trk} ({o:?})"
            );
            compared += 2;
        }
        for (k, v) in &t {
            let got = o.remove(k);
            assert!(
                got.as_ref().is_some_and(|g| same(k, g, v)),
                "{what} record {i}: {k} is {got:?} in skyfence, {v} in the peer\n skyfence {o:?}\n peer {t:?}"
            );
            compared += 1;
        }
        assert!(
            o.is_empty(),
            "{what} record {i}: skyfence decodes {o:?}, the peer does not\n peer {t:?}"
        );
    }
    compared
}

fn categories(records: &[Value]) -> BTreeMap<u64, usize> {
    let mut n = BTreeMap::new();
    for r in records {
        *n.entry(r["category"].as_u64().unwrap()).or_default() += 1;
    }
    n
}

/// `skyfence simulate --scenario af-pk-border-radar` into a new temporary directory.
fn simulate_radar() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args([
            "simulate",
            "--scenario",
            "af-pk-border-radar",
            "--formats",
            "raw",
        ])
        .arg("--out-dir")
        .arg(dir.path())
        .env("SKYFENCE_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

#[test]
fn asterix_decoder_decodes_the_simulator_output_to_the_same_values() {
    let python = python();
    if !skyfence_testkit::require_tool(
        "asterix_decoder differential test",
        asterix_decoder_available(&python),
    ) {
        return;
    }
    let dir = simulate_radar();
    let mut n = 0;
    let mut cats = BTreeMap::new();
    // The radar sites' recording, then the tracker's.
    for name in ["asterix.ast", "tracker.ast"] {
        let ast = dir.path().join(name);
        let ours = skyfence_decode(&format!("asterix:{}", ast.display()));
        let theirs = asterix_decoder(&python, "raw", &ast);
        n += compare(name, &ours, &theirs);
        cats.append(&mut categories(&ours));
    }
    eprintln!("asterix_decoder agrees on {n} values of {cats:?} records");
    for cat in [34, 48, 62] {
        assert!(
            cats.get(&cat).copied().unwrap_or(0) > 10,
            "CAT{cat:03}: {cats:?}"
        );
    }
}

#[test]
fn asterix_decoder_samples_decode_to_the_values_it_prints() {
    let python = python();
    if !skyfence_testkit::require_tool(
        "asterix_decoder sample recordings",
        asterix_decoder_available(&python),
    ) {
        return;
    }
    let samples = json_lines(Command::new(&python).arg(ORACLE).arg("samples"));
    assert!(samples.len() >= 5, "{samples:?}");
    let mut total = 0;
    for s in &samples {
        let (file, kind) = (s["file"].as_str().unwrap(), s["kind"].as_str().unwrap());
        let path = PathBuf::from(s["path"].as_str().unwrap());
        let fmt = if kind == "pcap" { "pcap" } else { "asterix" };
        let ours = skyfence_decode(&format!("{fmt}:{}", path.display()));
        let theirs = asterix_decoder(&python, kind, &path);
        let n = compare(file, &ours, &theirs);
        eprintln!("{file}: {} records, {n} values agree", ours.len());
        total += ours.len();
    }
    assert!(total > 100, "{total} records in the samples");
}

/// The fields tshark prints for the items skyfence reads, by category, with the key of
/// skyfence's output each one stands for and how to read tshark's text.
#[derive(Clone, Copy)]
enum Text {
    /// A decimal or `0x` hexadecimal integer.
    Int,
    /// A decimal number.
    Num,
    /// A decimal number, scaled.
    Scaled(f64),
    /// A 0/1 flag.
    Flag,
    /// Text, trailing spaces removed.
    Str,
    /// A Mode S address (`0x` hexadecimal) as six lower-case digits.
    Address,
    /// An octal Mode 3/A code as four digits.
    Octal,
}

const DETECTION: [&str; 8] = [
    "none",
    "psr",
    "ssr",
    "ssr_psr",
    "modes_allcall",
    "modes_rollcall",
    "modes_allcall_psr",
    "modes_rollcall_psr",
];

fn tshark_fields(category: u64) -> Vec<(&'static str, &'static str, Text)> {
    use Text::*;
    match category {
        48 => vec![
            ("asterix.048_010_SAC", "sac", Int),
            ("asterix.048_010_SIC", "sic", Int),
            ("asterix.048_140_VALUE", "time_of_day_s", Num),
            ("asterix.048_020_TYP", "detection", Int),
            ("asterix.048_020_SIM", "simulated", Flag),
            ("asterix.048_040_RHO", "range_nm", Num),
            ("asterix.048_040_THETA", "azimuth_deg", Num),
            ("asterix.048_070_MODE3A", "squawk", Octal),
            ("asterix.048_090_FL", "flight_level", Num),
            ("asterix.048_220_VALUE", "icao24", Address),
            ("asterix.048_240_VALUE", "callsign", Str),
            ("asterix.048_161_TRN", "track_number", Int),
            ("asterix.048_042_X", "x_nm", Num),
            ("asterix.048_042_Y", "y_nm", Num),
            // NM/s in Wireshark, knots in skyfence.
            ("asterix.048_200_GSP", "gs_kt", Scaled(3600.0)),
            ("asterix.048_200_HDG", "track_deg", Num),
            ("asterix.048_170_CNF", "track_tentative", Flag),
            ("asterix.048_170_TRE", "track_ended", Flag),
        ],
        34 => vec![
            ("asterix.034_010_SAC", "sac", Int),
            ("asterix.034_010_SIC", "sic", Int),
            ("asterix.034_030_VALUE", "time_of_day_s", Num),
            ("asterix.034_000_VALUE", "message", Int),
            ("asterix.034_020_VALUE", "sector_deg", Num),
            ("asterix.034_041_VALUE", "rotation_period_s", Num),
            ("asterix.034_050_COM_NOGO", "nogo", Flag),
        ],
        62 => vec![
            ("asterix.062_010_SAC", "sac", Int),
            ("asterix.062_010_SIC", "sic", Int),
            ("asterix.062_070_VALUE", "time_of_day_s", Num),
            ("asterix.062_105_LAT", "lat", Num),
            ("asterix.062_105_LON", "lon", Num),
            ("asterix.062_185_VX", "vx_ms", Num),
            ("asterix.062_185_VY", "vy_ms", Num),
            ("asterix.062_060_MODE3A", "squawk", Octal),
            ("asterix.062_380_ADR_VALUE", "icao24", Address),
            ("asterix.062_380_ID_VALUE", "callsign", Str),
            ("asterix.062_040_VALUE", "track_number", Int),
            ("asterix.062_080_CNF", "track_tentative", Flag),
            ("asterix.062_080_SIM", "simulated", Flag),
            ("asterix.062_080_TSE", "track_ended", Flag),
            // Flight levels in both.
            ("asterix.062_136_VALUE", "flight_level", Num),
        ],
        _ => Vec::new(),
    }
}

fn int(text: &str) -> u64 {
    match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).unwrap(),
        None => text.parse().unwrap(),
    }
}

/// tshark's fields of one record as skyfence's JSON would print them.
fn from_tshark(category: u64, texts: &[&str]) -> Value {
    let mut out = Map::new();
    out.insert("category".into(), category.into());
    for ((_, key, how), text) in tshark_fields(category).into_iter().zip(texts) {
        if text.is_empty() {
            continue;
        }
        let v: Value = match how {
            Text::Int => int(text).into(),
            Text::Num => text.parse::<f64>().unwrap().into(),
            Text::Scaled(k) => (text.parse::<f64>().unwrap() * k).into(),
            Text::Flag => (int(text) == 1).into(),
            Text::Str => text.trim_end().into(),
            Text::Address => format!("{:06x}", int(text)).into(),
            Text::Octal => format!("{:04}", text.parse::<u32>().unwrap()).into(),
        };
        out.insert(key.into(), v);
    }
    // skyfence's names for codes, and its flags printed only when set.
    if let Some(typ) = out.get("detection").and_then(Value::as_u64) {
        out.insert("detection".into(), DETECTION[typ as usize].into());
    }
    if let Some(msg) = out.get("message").and_then(Value::as_u64) {
        let name = ["other", "north_marker", "sector_crossing"]
            .get(msg as usize)
            .copied()
            .unwrap_or("other");
        out.insert("message".into(), name.into());
    }
    // A track status without its extension: skyfence reads the absent TRE (CAT048) or
    // TSE (CAT062) as not set, as the specification's default says.
    if out.contains_key("track_tentative") && !out.contains_key("track_ended") {
        out.insert("track_ended".into(), false.into());
    }
    if out.get("simulated") == Some(&Value::Bool(false)) {
        out.remove("simulated");
    }
    Value::Object(out)
}

/// The simulator's recording as a pcap capture: each record alone in a data block, each
/// block a UDP datagram (loopback, port 8600, which Wireshark dissects as ASTERIX) with
/// its checksum.
fn capture(ast: &[u8]) -> Vec<u8> {
    use etherparse::PacketBuilder;
    use pcap_file::DataLink;
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    use skyfence_core::Timestamp;
    use skyfence_decode::asterix::{AsterixDecoder, single_record_block};
    let header = PcapHeader {
        datalink: DataLink::ETHERNET,
        ..PcapHeader::default()
    };
    let mut w = PcapWriter::with_header(Vec::new(), header).unwrap();
    let mut decoder = AsterixDecoder::new(Timestamp::from_micros(0));
    let mut blocks = Vec::new();
    decoder.decode(ast, &mut |at, report, record| {
        let mut block = Vec::new();
        single_record_block(report.category, record, &mut block);
        blocks.push((at, block));
    });
    decoder.finish();
    assert_eq!(
        decoder.drops().nonzero().count(),
        0,
        "{:?}",
        decoder.drops()
    );
    for (at, block) in blocks {
        let builder = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64)
            .udp(8600, 8600);
        let mut frame = Vec::new();
        builder.write(&mut frame, &block).unwrap();
        let packet = PcapPacket::new(
            std::time::Duration::from_micros(at.as_micros() as u64),
            frame.len() as u32,
            &frame,
        );
        w.write_packet(&packet).unwrap();
    }
    w.into_writer()
}

#[test]
fn tshark_dissects_the_simulator_output_to_the_same_values() {
    if !skyfence_testkit::require_tool("tshark differential test", tshark_available()) {
        return;
    }
    let dir = simulate_radar();
    let mut ast = std::fs::read(dir.path().join("asterix.ast")).unwrap();
    ast.extend(std::fs::read(dir.path().join("tracker.ast")).unwrap());
    let pcap = dir.path().join("asterix.pcap");
    std::fs::write(&pcap, capture(&ast)).unwrap();
    let ours = skyfence_decode(&format!("pcap:{}", pcap.display()));
    // One tshark pass per category (its fields differ), each listing every packet: the
    // category's own fields stay empty in the other categories' packets.
    let mut columns: BTreeMap<u64, Vec<Vec<String>>> = BTreeMap::new();
    for cat in [48u64, 34, 62] {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r")
            .arg(&pcap)
            .args([
                "-n",
                "-T",
                "fields",
                "-E",
                "occurrence=f",
                "-E",
                "separator=/t",
            ])
            .args(["-e", "asterix.category"]);
        for (field, _, _) in tshark_fields(cat) {
            cmd.args(["-e", field]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect();
        columns.insert(cat, rows);
    }
    let mut theirs = Vec::with_capacity(columns[&48].len());
    for (p, first) in columns[&48].iter().enumerate() {
        let category = int(&first[0]);
        let row = &columns[&category][p];
        let texts: Vec<&str> = row[1..].iter().map(String::as_str).collect();
        theirs.push(from_tshark(category, &texts));
    }
    let n = compare("simulator capture (tshark)", &ours, &theirs);
    let cats = categories(&ours);
    eprintln!("tshark agrees on {n} values of {cats:?} records");
    for cat in [34, 48, 62] {
        assert!(
            cats.get(&cat).copied().unwrap_or(0) > 10,
            "CAT{cat:03}: {cats:?}"
        );
    }
}
