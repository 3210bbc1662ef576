//! Differential test against libasterix, an independent pure-Python implementation of
//! the EUROCONTROL specifications: `tests/oracle/asterix_encode.py` encodes records of
//! every edition of CAT048, CAT034, CAT062 and CAT021 it knows, with items skyfence reads
//! and items it only skips; skyfence must walk each record to its end and decode the
//! values the script built it from.
//!
//! libasterix lives in its own virtual environment (it installs a module named
//! `asterix`, as another oracle does): `.ci/run` creates it and exports
//! `SKYFENCE_LIBASTERIX_PYTHON`; without it the test looks in
//! `$HOME/.cache/skyfence/venvs/libasterix`, and skips (fails in CI) when absent.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use skyfence_decode::asterix::decode_raw;

fn python() -> PathBuf {
    skyfence_testkit::venv_python("SKYFENCE_LIBASTERIX_PYTHON", "libasterix")
}

fn available(python: &std::path::Path) -> Result<(), String> {
    skyfence_testkit::python_runs(
        python,
        "import asterix.generated",
        "libasterix",
        "python3 -m venv DIR && DIR/bin/pip install libasterix==0.36.3; set SKYFENCE_LIBASTERIX_PYTHON=DIR/bin/python",
    )
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn close(got: Option<f64>, want: &Value, tol: f64, what: &str) {
    let want = want.as_f64().unwrap();
    let got = got.unwrap_or_else(|| panic!("{what}: missing, expected {want}"));
    assert!((got - want).abs() <= tol, "{what}: {got}, expected {want}");
}

#[test]
fn records_libasterix_encodes_decode_to_their_values() {
    let python = python();
    if !skyfence_testkit::require_tool("libasterix differential test", available(&python)) {
        return;
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/oracle/asterix_encode.py"
    );
    let out = Command::new(&python).arg(script).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // CAT048 1.27-1.32, CAT034 1.27-1.29, CAT062 1.16-1.21, CAT021 2.1-2.7.
    assert_eq!(lines.len(), 6 + 3 + 6 + 7);
    for line in &lines {
        let what = format!(
            "CAT{:03} {}",
            line["category"],
            line["edition"].as_str().unwrap()
        );
        let bytes = hex(line["hex"].as_str().unwrap());
        let r = decode_raw(&bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            u64::from(r.category),
            line["category"].as_u64().unwrap(),
            "{what}"
        );
        let e = &line["expect"];
        let f = |k: &str| e.get(k).filter(|v| !v.is_null());
        assert_eq!(u64::from(r.sac), e["sac"].as_u64().unwrap(), "{what}");
        assert_eq!(u64::from(r.sic), e["sic"].as_u64().unwrap(), "{what}");
        assert_eq!(
            r.time_of_day.map(u64::from),
            e["time_of_day"].as_u64(),
            "{what}"
        );
        let text = |v: Option<String>| v.map(Value::from);
        assert_eq!(
            text(r.address.map(|a| a.to_string())).as_ref(),
            f("icao24"),
            "{what}: icao24"
        );
        assert_eq!(
            text(r.callsign.map(|c| c.to_string())).as_ref(),
            f("callsign"),
            "{what}: callsign"
        );
        assert_eq!(
            text(r.mode3a.map(|s| s.to_string())).as_ref(),
            f("squawk"),
            "{what}: squawk"
        );
        assert_eq!(
            r.track_number.map(u64::from),
            f("track_number").and_then(Value::as_u64),
            "{what}: track"
        );
        assert_eq!(
            r.track_tentative.map(Value::from).as_ref(),
            f("track_tentative"),
            "{what}"
        );
        assert_eq!(
            r.track_ended.map(Value::from).as_ref(),
            f("track_ended"),
            "{what}"
        );
        assert_eq!(
            text(r.detection.map(|d| d.as_str().to_owned())).as_ref(),
            f("detection"),
            "{what}"
        );
        for (key, got, tol) in [
            ("flight_level", r.flight_level.map(f64::from), 0.0),
            ("alt_geom_ft", r.geometric_height_ft.map(f64::from), 0.0),
            ("range_nm", r.polar.map(|p| p.range_nm), 1.0 / 256.0),
            (
                "azimuth_deg",
                r.polar.map(|p| p.azimuth_deg),
                360.0 / 65536.0,
            ),
            ("x_nm", r.cartesian_nm.map(|c| c.0), 1.0 / 128.0),
            ("y_nm", r.cartesian_nm.map(|c| c.1), 1.0 / 128.0),
            ("lat", r.position.map(|p| p.lat), 1e-5),
            ("lon", r.position.map(|p| p.lon), 1e-5),
            ("gs_kt", r.ground_speed_kt.map(f64::from), 0.25),
            ("track_deg", r.track_deg.map(f64::from), 0.01),
            (
                "sector_deg",
                r.service.and_then(|s| s.sector_deg).map(f64::from),
                1.5,
            ),
            (
                "rotation_period_s",
                r.service.and_then(|s| s.rotation_period_s).map(f64::from),
                0.01,
            ),
        ] {
            match f(key) {
                Some(want) => close(got, want, tol, &format!("{what}: {key}")),
                None => assert_eq!(got, None, "{what}: {key}"),
            }
        }
        for (key, got) in [
            ("emitter_category", r.emitter_category),
            ("nacp", r.nacp),
            ("nic", r.nic),
            ("sil", r.sil),
        ] {
            assert_eq!(
                got.map(u64::from),
                f(key).and_then(Value::as_u64),
                "{what}: {key}"
            );
        }
        if let Some(s) = r.service {
            assert_eq!(Some(&Value::from(s.kind.as_str())), f("message"), "{what}");
            assert_eq!(s.nogo.map(Value::from).as_ref(), f("nogo"), "{what}");
        }
    }
}
