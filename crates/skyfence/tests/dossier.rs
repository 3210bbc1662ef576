//! `skyfence dossier` and `skyfence verify DIR` end to end: the real incidents of a real
//! `skyfence run` (see `export_verify/setup.rs`) are written as one dossier from the
//! store; the dossier verifies (with the pinned key and against the store for
//! completeness); and changing a bundle, the manifest, the CSV or the PDF, or removing an
//! incident, makes verification fail naming the file. Bad arguments exit 2 with a clear
//! message, and an empty period gives a dossier that says so.

mod common;
#[path = "export_verify/setup.rs"]
mod setup;

use common::browser::{self, target_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use setup::{BIN, exported};

/// The dossier of the run's unauthorised incidents in zone PK (made once; the tampering
/// tests copy it, and each verification re-detects every bundle, so it is kept small).
struct Made {
    dir: PathBuf,
    manifest: Value,
}

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().expect("run skyfence");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn config() -> String {
    exported()
        .dir
        .path()
        .join("config.toml")
        .display()
        .to_string()
}

fn store() -> String {
    exported()
        .dir
        .path()
        .join("skyfence.db")
        .display()
        .to_string()
}

/// The run's incidents carry receive times of the wall clock: a day either side covers
/// them all.
fn period() -> (String, String) {
    let now = skyfence_core::time::wall_clock();
    (
        now.add_micros(-86_400_000_000).to_rfc3339_millis(),
        now.add_micros(86_400_000_000).to_rfc3339_millis(),
    )
}

/// `skyfence dossier --config CONFIG --from --to (the run's period) --out OUT EXTRA...`.
fn dossier(out: &Path, extra: &[&str]) -> (i32, String) {
    let (from, to) = period();
    let config = config();
    let mut args = vec![
        "dossier",
        "--config",
        &config,
        "--from",
        &from,
        "--to",
        &to,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn made() -> &'static Made {
    static M: OnceLock<Made> = OnceLock::new();
    M.get_or_init(|| {
        let dir = exported().dir.path().join("dossier");
        let (code, text) = dossier(&dir, &["--zone", "PK", "--unauthorised-only"]);
        assert_eq!(code, 0, "dossier failed:\n{text}");
        assert!(
            text.contains("incidents"),
            "no progress or summary:\n{text}"
        );
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("dossier.json")).unwrap()).unwrap();
        Made { dir, manifest }
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A copy of the dossier named `label`.
fn copy(label: &str) -> PathBuf {
    let to = exported().dir.path().join(format!("dossier-{label}"));
    let _ = std::fs::remove_dir_all(&to);
    copy_dir(&made().dir, &to);
    to
}

fn verify(dir: &Path, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["verify", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, text) = run(&args);
    eprintln!("--- verify {}:\n{text}", dir.display());
    (code, text)
}

fn incident_ids() -> Vec<String> {
    made().manifest["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_dossier_holds_every_incident_and_verifies() {
    let m = made();
    let e = exported();
    let ids = incident_ids();
    // Every unauthorised incident the export test exported is in it, no authorised one.
    for inc in std::iter::once(&e.incident).chain(e.others.iter().map(|(_, _, i)| i)) {
        let id = inc["id"].as_str().unwrap();
        let authorised = inc["authorised"].as_bool().unwrap();
        assert_eq!(ids.iter().any(|i| i == id), !authorised, "incident {id}");
        assert_eq!(
            m.dir.join(format!("incidents/{id}.zip")).is_file(),
            !authorised
        );
    }
    for name in [
        "index.html",
        "dossier.pdf",
        "incidents.csv",
        "incidents.geojson",
        "incidents.kml",
        "dossier.json",
    ] {
        assert!(m.dir.join(name).is_file(), "{name} missing");
    }
    // The CSV: a header and one row per incident, in the manifest's order (newest first).
    let mut csv = csv_rows(&m.dir);
    let header = csv.remove(0);
    assert_eq!(header[0], "id");
    assert_eq!(
        csv.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
        ids,
        "CSV rows are not the manifest's incidents"
    );
    let entered: Vec<&str> = csv.iter().map(|r| r[11].as_str()).collect();
    let mut sorted = entered.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(entered, sorted, "not newest first");
    // The GeoJSON: an entry point and a track per incident.
    let g: Value = serde_json::from_slice(&std::fs::read(m.dir.join("incidents.geojson")).unwrap())
        .expect("incidents.geojson is JSON");
    let features = g["features"].as_array().unwrap();
    assert_eq!(features.len(), 2 * ids.len());
    assert!(
        features
            .iter()
            .any(|f| f["geometry"]["type"] == "LineString"
                && f["geometry"]["coordinates"].as_array().unwrap().len() > 10)
    );
    // The KML parses as XML with a Folder per incident.
    let kml = std::fs::read_to_string(m.dir.join("incidents.kml")).unwrap();
    let doc = roxmltree::Document::parse(&kml).expect("incidents.kml is XML");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.has_tag_name("Folder"))
            .count(),
        ids.len()
    );
    // The HTML links each bundle, shows the key and the checkpoint, and has no script.
    let html = std::fs::read_to_string(m.dir.join("index.html")).unwrap();
    for id in &ids {
        assert!(html.contains(&format!("href=\"incidents/{id}.zip\"")));
    }
    assert!(html.contains(&e.vkey), "the log key is not shown");
    assert!(html.contains("<svg") && html.contains("<polyline"));
    // No script, no link to fetch: the only URL is the SVG namespace, never fetched.
    let lower = html.to_ascii_lowercase();
    for forbidden in ["<script", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!lower.contains(forbidden), "index.html holds {forbidden:?}");
    }
    let urls: Vec<&str> = html
        .match_indices("http")
        .map(|(i, _)| &html[i..(i + 30).min(html.len())])
        .filter(|u| !u.starts_with("http://www.w3.org/2000/svg"))
        .collect();
    assert!(urls.is_empty(), "external URLs in index.html: {urls:?}");
    // The PDF is a PDF.
    assert!(
        std::fs::read(m.dir.join("dossier.pdf"))
            .unwrap()
            .starts_with(b"%PDF-")
    );

    for r in &csv {
        assert_eq!(r[1], "PK");
        assert_eq!(r[7], "false");
    }
    let (code, text) = verify(&m.dir, &["--key", &e.vkey, "--store", &store()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS completeness"), "{text}");
    assert!(text.contains("PASS incidents.csv"), "{text}");
    assert!(text.contains("PASS dossier.pdf"), "{text}");
    assert!(text.contains("VERDICT: VERIFIED"), "{text}");
    // Without the pinned key it verifies but says the key is self-asserted.
    let (code, text) = verify(&m.dir, &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("WARN log key"), "{text}");
    // With another key it fails.
    let other = skyfence_evidence::Signer::generate("someone-else")
        .unwrap()
        .verifier_key()
        .to_string();
    let (code, text) = verify(&m.dir, &["--key", &other]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL log key"), "{text}");
}

#[test]
fn every_zone_in_one_dossier() {
    let out = exported().dir.path().join("dossier-all");
    let (code, text) = dossier(&out, &[]);
    assert_eq!(code, 0, "{text}");
    let rows = csv_rows(&out);
    let zones: std::collections::BTreeSet<&str> = rows[1..].iter().map(|r| r[1].as_str()).collect();
    assert!(zones.len() >= 2, "one zone only: {zones:?}");
    assert!(
        rows.len() > incident_ids().len(),
        "no more incidents than PK's"
    );
    let (code, text) = verify(&out, &["--key", &exported().vkey, "--store", &store()]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS completeness"), "{text}");
}

fn csv_rows(dir: &Path) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(dir.join("incidents.csv"))
        .expect("incidents.csv");
    r.records()
        .map(|rec| {
            rec.expect("a CSV record")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn fails_naming(dir: &Path, file: &str) -> String {
    let (code, text) = verify(dir, &[]);
    assert_eq!(code, 1, "verify passed a changed dossier:\n{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with(&format!("FAIL {file}:"))),
        "no FAIL line naming {file}:\n{text}"
    );
    let verdict = text
        .lines()
        .find(|l| l.starts_with("VERDICT"))
        .unwrap_or_default();
    assert!(
        verdict.contains(file),
        "the verdict does not name {file}: {verdict}"
    );
    text
}

#[test]
fn a_changed_bundle_fails_naming_it() {
    let dir = copy("bundle");
    let id = &incident_ids()[0];
    let path = dir.join(format!("incidents/{id}.zip"));
    let mut bytes = std::fs::read(&path).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    std::fs::write(&path, bytes).unwrap();
    fails_naming(&dir, &format!("incidents/{id}.zip"));
}

#[test]
fn a_changed_csv_fails_naming_it() {
    let dir = copy("csv");
    let path = dir.join("incidents.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    // A forger makes an unauthorised incursion look authorised.
    let changed = text.replacen(",false,", ",true,", 1);
    assert_ne!(text, changed);
    std::fs::write(&path, changed).unwrap();
    fails_naming(&dir, "incidents.csv");
}

#[test]
fn a_changed_pdf_fails_naming_it() {
    let dir = copy("pdf");
    let path = dir.join("dossier.pdf");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"% appended\n");
    std::fs::write(&path, bytes).unwrap();
    fails_naming(&dir, "dossier.pdf");
}

#[test]
fn a_changed_manifest_fails_naming_it() {
    let dir = copy("manifest");
    let path = dir.join("dossier.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["period"]["from"] = Value::from("2000-01-01T00:00:00.000Z");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    fails_naming(&dir, "dossier.json");
}

#[test]
fn a_removed_incident_fails_naming_it() {
    // The bundle deleted.
    let dir = copy("removed");
    let id = incident_ids()[1].clone();
    let bundle = format!("incidents/{id}.zip");
    std::fs::remove_file(dir.join(&bundle)).unwrap();
    fails_naming(&dir, &bundle);

    // A careful forger: the bundle, its manifest entries and its CSV row all removed.
    let dir = copy("removed-all");
    std::fs::remove_file(dir.join(&bundle)).unwrap();
    let path = dir.join("dossier.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["incidents"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["id"] != id.as_str());
    m["files"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["path"] != bundle.as_str());
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let csv = std::fs::read_to_string(dir.join("incidents.csv")).unwrap();
    let kept: String = csv
        .split_inclusive("\r\n")
        .filter(|l| !l.starts_with(&id))
        .collect();
    std::fs::write(dir.join("incidents.csv"), kept).unwrap();
    fails_naming(&dir, "dossier.json");
    // And the log says which incident is missing.
    let (code, text) = verify(&dir, &["--store", &store()]);
    assert_eq!(code, 1);
    let line = text
        .lines()
        .find(|l| l.starts_with("FAIL completeness"))
        .unwrap_or_else(|| panic!("no completeness failure:\n{text}"));
    assert!(line.contains(&id), "{line}");
}

#[test]
fn bad_arguments_exit_2_with_a_clear_message() {
    let (from, to) = period();
    let out = exported().dir.path().join("dossier-bad");
    let out = out.to_str().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--from", "yesterday", "--to", &to, "--out", out],
            "--from \"yesterday\": not an RFC 3339 time",
        ),
        (
            &["--from", &to, "--to", &from, "--out", out],
            "is not before --to",
        ),
        (
            &[
                "--from", &from, "--to", &to, "--zone", "NOWHERE", "--out", out,
            ],
            "--zone \"NOWHERE\": no such zone",
        ),
        (
            &[
                "--from",
                &from,
                "--to",
                &to,
                "--out",
                made().dir.to_str().unwrap(),
            ],
            "the directory is not empty",
        ),
    ];
    for (args, message) in cases {
        let mut all = vec!["dossier", "--config"];
        let c = config();
        all.push(&c);
        all.extend_from_slice(args);
        let (code, text) = run(&all);
        assert_eq!(code, 2, "{args:?}: {text}");
        assert!(
            text.contains(message),
            "{args:?}: expected {message:?} in:\n{text}"
        );
    }
}

#[test]
fn an_empty_period_says_so_and_verifies() {
    let out = exported().dir.path().join("dossier-empty");
    let (code, text) = run(&[
        "dossier",
        "--store",
        &store(),
        "--from",
        "2001-01-01T00:00:00Z",
        "--to",
        "2001-02-01T00:00:00Z",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("no incursion"), "{text}");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("No incursion was recorded in this period."));
    assert_eq!(csv_rows(&out).len(), 1, "only the header");
    let (code, text) = verify(&out, &["--store", &store()]);
    assert_eq!(code, 0, "{text}");
}

#[test]
fn the_zone_filter_keeps_authorised_incidents() {
    let out = exported().dir.path().join("dossier-pk");
    let (code, text) = dossier(&out, &["--zone", "PK"]);
    assert_eq!(code, 0, "{text}");
    let rows = csv_rows(&out);
    assert!(
        rows.len() > incident_ids().len() + 1,
        "no authorised PK incident"
    );
    for r in &rows[1..] {
        assert_eq!(r[1], "PK");
    }
    // QTR350's authorised overflight is in it, with its permit.
    let e = exported();
    let (_, _, qtr) = e
        .others
        .iter()
        .find(|(label, _, _)| *label == "open and authorised")
        .unwrap();
    let row = rows
        .iter()
        .find(|r| r[0] == qtr["id"].as_str().unwrap())
        .expect("the authorised overflight");
    assert_eq!(row[7], "true");
    assert_eq!(row[8], qtr["permit"].as_str().unwrap());
}

fn tool_runs(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `dossier.pdf` through poppler (Debian poppler-utils): `pdfinfo` reads it as A4 pages,
/// `pdftotext` finds the period, every incident, the log key and the page numbers, and
/// `pdftoppm` draws the first page, kept as `target/dossier-pdf-1.png`.
#[test]
fn the_pdf_renders_with_poppler() {
    let m = made();
    let pdf = m.dir.join("dossier.pdf");
    let available = if tool_runs("pdftoppm", "-v") && tool_runs("pdfinfo", "-v") {
        Ok(())
    } else {
        Err("it needs pdftoppm, pdfinfo and pdftotext (Debian poppler-utils)".to_owned())
    };
    if !skyfence_testkit::require_tool("dossier PDF rendering", available) {
        return;
    }
    let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    assert!(info.status.success(), "pdfinfo rejects the PDF");
    let info = String::from_utf8_lossy(&info.stdout);
    assert!(info.contains("(A4)"), "not A4:\n{info}");
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("a page count");
    assert!(pages >= 2, "{info}");

    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    for id in incident_ids() {
        assert!(text.contains(&id), "the PDF lacks incident {id}");
    }
    let key = made().manifest["log"]["key"].as_str().unwrap();
    assert!(text.contains(key), "the PDF lacks the log key");
    assert!(
        text.contains(&format!("page {pages} of {pages}")),
        "no page numbers"
    );
    assert!(text.contains("Airspace incursions"));

    let prefix = target_file("dossier-pdf");
    let png = target_file("dossier-pdf-1.png");
    let _ = std::fs::remove_file(&png);
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(&prefix)
        .status()
        .unwrap();
    assert!(status.success(), "pdftoppm failed");
    let bytes = std::fs::read(&png).expect("pdftoppm wrote page 1");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    eprintln!("dossier PDF page 1: {}", png.display());
}

/// `index.html` in headless Chromium, offline, JavaScript off: no request, no script, the
/// map drawn with every incident's entry point; the screenshot is
/// `target/dossier-html.png`.
#[test]
fn the_html_renders_offline_in_chromium() {
    let m = made();
    if !browser::tools_ready("dossier browser test") {
        return;
    }
    let index = m.dir.join("index.html");
    let screenshot = target_file("dossier-html.png");
    let report = browser::run_script(
        "dossier_test.mjs",
        index.to_str().unwrap(),
        &screenshot,
        &[],
        String::new,
    );
    let n = incident_ids().len() as u64;
    assert_eq!(report["entries"].as_u64(), Some(n), "{report}");
    assert_eq!(report["bundleLinks"].as_u64(), Some(n), "{report}");
    assert!(report["polylines"].as_u64() > Some(n), "{report}");
    let text = report["text"].as_str().unwrap();
    assert!(text.contains(&format!("{n} incidents")), "{text}");
    assert!(text.contains("Evidence log"), "{text}");
}
