//! Inputs as users have them, each a regression test against the real binary: summaries
//! that count what was heard, a directory given as input, a zone file with a huge line.

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");

fn skyfence(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("SKYFENCE_LOG", "warn")
        .output()
        .expect("run skyfence")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The `A aircraft` of `decode`'s summary line.
fn aircraft_in_summary(o: &Output) -> u64 {
    let err = stderr(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("skyfence decode: ") && l.contains(" aircraft"))
        .unwrap_or_else(|| panic!("no summary line in {err}"));
    let before = line.split(" aircraft").next().unwrap();
    before.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn the_sbs_summary_counts_the_aircraft_heard() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("feed.sbs");
    std::fs::write(
        &path,
        "MSG,3,1,1,4CA2D6,1,2023/11/14,22:21:03.120,2023/11/14,22:21:03.120,,38000,,,53.1,-2.1,,,0,0,0,0\r\n\
         MSG,1,1,1,4CA2D6,1,2023/11/14,22:21:04.120,2023/11/14,22:21:04.120,RYR1234,,,,,,,,0,0,0,0\r\n\
         MSG,3,1,1,40621D,1,2023/11/14,22:21:05.120,2023/11/14,22:21:05.120,,12000,,,53.2,-2.2,,,0,0,0,0\r\n",
    )
    .unwrap();
    let out = skyfence(&["decode", "--input", &format!("sbs:{}", path.display())]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(aircraft_in_summary(&out), 2, "{}", stderr(&out));
}

/// An aircraft heard only at the start of a long recording is still counted at the end.
#[test]
fn the_decode_summary_counts_aircraft_heard_not_alive_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("frames.csv");
    // KLM1023 (4840d6) at t = 0, then 406b90 two hours later: the first one long expired.
    std::fs::write(
        &path,
        "1700000000.0,8D4840D6202CC371C32CE0576098\n\
         1700007200.0,8D406B902015A678D4D220AA4BDA\n\
         1700007300.0,8D406B902015A678D4D220AA4BDA\n",
    )
    .unwrap();
    let out = skyfence(&["decode", "--input", &format!("raw:{}", path.display())]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(aircraft_in_summary(&out), 2, "{}", stderr(&out));
}

#[test]
fn a_directory_as_input_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("raw:{}", dir.path().display());
    for args in [
        vec!["decode", "--input", &spec],
        vec!["analyze", "--input", &spec, "--country", "AF"],
    ] {
        let out = skyfence(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("directory"), "{}", stderr(&out));
    }
}

/// A zone file whose one line is a megabyte: the error names file and line and quotes a
/// bounded excerpt, not the line.
#[test]
fn a_zone_error_quotes_a_bounded_excerpt() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "X".repeat(1 << 20);
    let cases = [
        ("huge.air", format!("AC R\nAN ZONE\nDP {huge}\n")),
        ("huge2.air", format!("AC R\nAN ZONE\n{huge} 1\n")),
        (
            "huge.geojson",
            format!(
                r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"name":"{huge}"}},"geometry":{{"type":"Point","coordinates":[1,2]}}}}]}}"#
            ),
        ),
        (
            "huge2.geojson",
            format!(r#"{{"type":"{huge}","features":[]}}"#),
        ),
    ];
    for (name, text) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = skyfence(&[
            "airspace",
            "locate",
            "--lat",
            "34",
            "--lon",
            "69",
            "--zones",
            path.to_str().unwrap(),
        ]);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{name}: {}",
            &err[..err.len().min(500)]
        );
        assert!(err.len() < 2000, "{name}: {} bytes of stderr", err.len());
        assert!(err.contains(name), "{name}: {err}");
        assert!(
            err.contains("bytes)"),
            "{name}: the excerpt says it was cut: {err}"
        );
    }
}

fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A real-world OpenAir file (`testdata/zones/quirks.air`): strict refuses it naming
/// every problem (file, line, zone); `--lenient` (and `[[zones]] lenient = true`) loads
/// the readable zones and names each skipped one.
#[test]
fn quirky_openair_is_refused_with_every_problem_or_loaded_leniently() {
    let zones = repo_root().join("testdata/zones/quirks.air");
    let zones = zones.to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.csv");
    std::fs::write(&input, "").unwrap();
    let spec = format!("raw:{}", input.display());
    let strict = skyfence(&["analyze", "--input", &spec, "--zones", zones]);
    assert_eq!(strict.status.code(), Some(2), "{}", stderr(&strict));
    let err = stderr(&strict);
    for needle in [
        "quirks.air:15: feature 1 \"ALPHA\": duplicate zone name",
        "quirks.air:28: feature 2 \"BRAVO\": ceiling AH 2000ft AGL",
        "quirks.air:42: feature 4 \"TIE\": self-intersection",
        "quirks.air:50: feature 5 \"SLIVER\"",
    ] {
        assert!(err.contains(needle), "{needle}: {err}");
    }
    let lenient = skyfence(&["analyze", "--input", &spec, "--zones", zones, "--lenient"]);
    assert!(lenient.status.success(), "{}", stderr(&lenient));
    let err = stderr(&lenient);
    assert!(
        err.contains("zone skipped (lenient)") && err.contains("\"TIE\""),
        "{err}"
    );
    assert!(err.contains("\"SLIVER\""), "{err}");
    assert!(err.contains("ALPHA (2)"), "{err}");
    // The same from a config file.
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!("[[zones]]\nfile = {zones:?}\nlenient = true\n"),
    )
    .unwrap();
    let from_config = skyfence(&[
        "analyze",
        "--input",
        &spec,
        "--config",
        config.to_str().unwrap(),
    ]);
    assert!(from_config.status.success(), "{}", stderr(&from_config));
    assert!(stderr(&from_config).contains("\"SLIVER\""));
}

/// Comm-B replies from an address never heard in DF11/17/18: refused by default,
/// accepted with `--commb-trust-replies N` from the N-th consistent one, and counted in
/// the summary.
#[test]
fn commb_trust_replies_flag_trusts_repeated_consistent_replies() {
    use skyfence_core::Icao24;
    use skyfence_decode::modes;
    // BDS 2,0 "PAF1234 ": format byte 0x20, then 6-bit characters.
    let mut mb: u64 = 0x20;
    for c in *b"PAF1234 " {
        let i = match c {
            b'A'..=b'Z' => u64::from(c - b'A' + 1),
            b' ' => 32,
            _ => u64::from(c),
        };
        mb = (mb << 6) | i;
    }
    let mb: [u8; 7] = mb.to_be_bytes()[1..].try_into().unwrap();
    let icao = Icao24::new(0x3C6586).unwrap();
    let mut text = String::new();
    for i in 0..4 {
        let f = modes::encode_commb_altitude_reply(icao, 0, 35_000, mb).unwrap();
        let hex: String = f.iter().map(|b| format!("{b:02X}")).collect();
        text.push_str(&format!("{}.5,{hex}\n", 1_700_000_000 + i));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("commb.csv");
    std::fs::write(&path, text).unwrap();
    let spec = format!("raw:{}", path.display());
    let plain = skyfence(&["decode", "--input", &spec]);
    assert!(plain.status.success(), "{}", stderr(&plain));
    assert!(plain.stdout.is_empty());
    assert!(
        stderr(&plain).contains("unknown_address=4"),
        "{}",
        stderr(&plain)
    );
    let trusting = skyfence(&["decode", "--input", &spec, "--commb-trust-replies", "3"]);
    assert!(trusting.status.success(), "{}", stderr(&trusting));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&trusting.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["callsign"], "PAF1234");
    let err = stderr(&trusting);
    assert!(
        err.contains("unknown_address=2")
            && err.contains("Comm-B trusted by repetition: 1 addresses, 2 replies, 0 inconsistent"),
        "{err}"
    );
    let bad = skyfence(&["decode", "--input", &spec, "--commb-trust-replies", "1"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
}

/// `airspace locate --points FILE` answers every point from one index build, in order.
#[test]
fn locate_answers_many_points() {
    let zones = repo_root().join("testdata/zones/quirks.air");
    let dir = tempfile::tempdir().unwrap();
    let pts = dir.path().join("points.txt");
    std::fs::write(
        &pts,
        "# lat,lon[,alt]\n45.05,6.05\n45.05,6.05,12000\n\n10,10\n",
    )
    .unwrap();
    let out = skyfence(&[
        "airspace",
        "locate",
        "--lenient",
        "--zones",
        zones.to_str().unwrap(),
        "--points",
        pts.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["zones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|z| z["zone"].as_str().unwrap().to_string())
            .collect()
    };
    // Inside ALPHA, and inside France (a built-in country whose box holds the point).
    assert_eq!(names(&lines[0]), ["ALPHA", "FR"]);
    assert_eq!(names(&lines[1]), ["FR"], "above ALPHA's FL95");
    assert_eq!(lines[2]["lat"], 10.0);
    std::fs::write(&pts, "45.05;6.05\n").unwrap();
    let bad = skyfence(&["airspace", "locate", "--points", pts.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("points.txt:1:"), "{}", stderr(&bad));
}

/// Point-in-zone answers on leniently loaded OpenAir files agree with shapely on the same
/// polygons (`tests/oracle/compare_zones_shapely.py`): the quirks file and the two real
/// files of `testdata/zones/real/`, arcs and circles included (compared away from the
/// edges, where the two discretisations of an arc differ); every zone of each file is
/// either loaded or named as skipped.
#[test]
fn lenient_zones_agree_with_shapely() {
    let python = std::env::var("SKYFENCE_PYTHON").unwrap_or_else(|_| "python3".into());
    let available = Command::new(&python)
        .args(["-c", "import shapely, numpy"])
        .output()
        .map_err(|e| e.to_string())
        .and_then(|o| {
            if o.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{python} cannot import shapely; run: pip install shapely"
                ))
            }
        });
    if !skyfence_testkit::require_tool("shapely zone comparison", available) {
        return;
    }
    let root = repo_root();
    for file in [
        "testdata/zones/quirks.air",
        "testdata/zones/real/LK8000-DEMO.txt",
        "testdata/zones/real/AirspaceAus-DAA.txt",
    ] {
        let out = Command::new(&python)
            .arg(root.join("tests/oracle/compare_zones_shapely.py"))
            .arg("--skyfence")
            .arg(BIN)
            .arg("--zones")
            .arg(root.join(file))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprintln!("{text}");
        assert!(
            out.status.success() && text.contains("PASS:"),
            "{file}: {text}"
        );
    }
}
