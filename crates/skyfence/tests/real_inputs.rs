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
