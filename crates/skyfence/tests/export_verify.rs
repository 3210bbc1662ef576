//! `skyfence export` and `skyfence verify` end to end (part B, "Verified"): a
//! real incident from `skyfence run` (see `export_verify/setup.rs`) is exported from the
//! real store; the bundle verifies, also copied alone into a fresh directory with an empty
//! environment; and each tampering (one byte of a frame, a time, the zone, the incident, a
//! proof, a signature, a swapped key) makes verification fail naming the check that
//! caught it. Tampered bundles get a corrected manifest (a careful forger), so the check
//! that fails is the one beneath the manifest.

mod common;
#[path = "export_verify/setup.rs"]
mod setup;

use std::path::PathBuf;
use std::process::Command;

use common::{Files, read_bundle, write_bundle};
use serde_json::Value;
use setup::{ICAO24, SECRETS, exported, verify};
use sha2::{Digest, Sha256};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets `name`'s SHA-256 and length in `bundle.json`, as a forger would.
fn fix_manifest(files: &mut Files, name: &str) {
    let mut m: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    let bytes = &files[name];
    for f in m["files"].as_array_mut().unwrap() {
        if f["path"] == name {
            f["sha256"] = Value::from(hex(&Sha256::digest(bytes)));
            f["bytes"] = Value::from(bytes.len());
        }
    }
    files.insert("bundle.json".into(), serde_json::to_vec_pretty(&m).unwrap());
}

/// Writes a copy of the bundle with `change` applied to file `name` (manifest fixed),
/// verifies it, and returns the exit code and output.
fn tampered(label: &str, name: &str, change: impl FnOnce(&mut Vec<u8>)) -> (i32, String) {
    let e = exported();
    let mut files = read_bundle(&e.zip);
    let before = files[name].clone();
    change(files.get_mut(name).unwrap());
    assert_ne!(files[name], before, "{label}: the change changed nothing");
    fix_manifest(&mut files, name);
    let out = e.dir.path().join(format!("tampered-{label}.zip"));
    write_bundle(&files, &out);
    let (code, text) = verify(&out, &[], e.dir.path());
    eprintln!("--- {label}:\n{text}");
    (code, text)
}

fn fail_line<'a>(text: &'a str, check: &str) -> &'a str {
    let prefix = format!("FAIL {check}:");
    text.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{text}"))
}

/// The leaves.txt line (index, hex) of the first raw frame leaf: kind 0x03 (version 1) or
/// kind 0x06 (version 2), whichever the store wrote.
fn first_frame_leaf(files: &Files) -> (u64, String) {
    let text = std::str::from_utf8(&files["leaves.txt"]).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(_, h)| h.starts_with("0103") || h.starts_with("0206"))
        .map(|(i, h)| (i.parse().unwrap(), h.to_string()))
        .expect("a raw frame leaf")
}

/// How the verifier names a raw leaf of this hex: a kind 0x03 frame, or a kind 0x06 record
/// with its protocol.
fn raw_leaf_name(hex: &str) -> &'static str {
    if hex.starts_with("0103") {
        "raw frame"
    } else {
        "raw record (modes)"
    }
}

fn replace_line(bytes: &mut Vec<u8>, old: &str, new: &str) {
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(old));
    *bytes = text.replacen(old, new, 1).into_bytes();
}

/// Flips hex digit `at` of `hex` (0 ↔ 1, anything else to 0).
fn flip_hex(hex: &str, at: usize) -> String {
    let mut chars: Vec<char> = hex.chars().collect();
    chars[at] = if chars[at] == '0' { '1' } else { '0' };
    chars.into_iter().collect()
}

/// The config the service ran with carries an API token, a tile URL with credentials and
/// a key, and a webhook with credentials, a query token and an HMAC secret: no bundle
/// file holds any of them, as text or as the hex of a leaf, and `config.toml` says
/// secrets were removed while keeping the detection settings.
#[test]
fn no_secret_of_the_config_reaches_a_bundle() {
    let e = exported();
    let config = std::fs::read_to_string(e.dir.path().join("config.toml")).unwrap();
    for secret in SECRETS {
        assert!(config.contains(secret), "the test config lacks {secret}");
    }
    let bundles = std::iter::once(&e.zip).chain(e.others.iter().map(|(_, zip, _)| zip));
    for zip in bundles {
        let files = read_bundle(zip);
        for (name, bytes) in &files {
            let text = String::from_utf8_lossy(bytes);
            for secret in SECRETS {
                assert!(
                    !text.contains(secret),
                    "{secret} in {name} of {}",
                    zip.display()
                );
                assert!(
                    !text.contains(&hex(secret.as_bytes())),
                    "{secret} (hex) in {name} of {}",
                    zip.display()
                );
            }
        }
        let recorded = String::from_utf8_lossy(&files["config.toml"]);
        assert!(recorded.starts_with("# skyfence:"), "{recorded}");
        assert!(recorded.contains("secrets removed"), "{recorded}");
        assert!(recorded.contains("confirm_s"), "{recorded}");
        assert!(!recorded.contains("[server]") && !recorded.contains("webhook"));
    }
}

#[test]
fn an_untouched_bundle_verifies_with_and_without_the_pinned_key() {
    let e = exported();
    assert_eq!(e.incident["target"]["icao24"], ICAO24);
    assert_eq!(e.incident["authorised"], false);
    assert_eq!(e.incident["entry_observed"], true);

    let files = read_bundle(&e.zip);
    for name in [
        "bundle.json",
        "checkpoint.txt",
        "keys/log.vkey",
        "keys/witnesses.vkey",
        "leaves.txt",
        "proofs.txt",
        "incident.json",
        "zone.geojson",
        "config.toml",
        "frames.csv",
        "report.html",
        "track.kml",
        "track.geojson",
    ] {
        assert!(files.contains_key(name), "bundle lacks {name}");
    }
    let manifest: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    assert_eq!(manifest["format"], "skyfence-evidence-bundle");
    assert_eq!(manifest["version"], 4);
    assert_eq!(manifest["incident"], e.incident["id"]);
    assert_eq!(manifest["log"]["origin"], "skyfence.test/export-e2e");
    assert_eq!(manifest["log"]["key"], e.vkey.as_str());
    assert_eq!(
        String::from_utf8_lossy(&files["keys/log.vkey"]).trim(),
        e.vkey
    );
    // incident.json is the incident the API served, field for field (the API adds the
    // acknowledgement state, which the log keeps as leaves of its own).
    let incident: Value = serde_json::from_slice(&files["incident.json"]).unwrap();
    let mut served = e.incident.clone();
    for key in ["acknowledged", "acks"] {
        served.as_object_mut().unwrap().remove(key);
    }
    assert_eq!(incident, served);
    // frames.csv: a header and one line per frame of AFUAV1.
    let csv = String::from_utf8_lossy(&files["frames.csv"]);
    assert!(csv.starts_with("index,received_at,sensor,protocol,signal,mlat,hex\n"));
    let frames = csv.lines().skip(1).count();
    assert!(frames > 100, "{frames} frames");
    assert!(csv.lines().skip(1).all(|l| l.contains(",rx-replay,modes,")));
    // track.geojson names the target by kind and id, and by icao24 as it is a transponder.
    let gj: Value = serde_json::from_slice(&files["track.geojson"]).unwrap();
    let track = &gj["features"][0]["properties"];
    assert_eq!(track["kind"], "icao");
    assert_eq!(track["id"], ICAO24);
    assert_eq!(track["icao24"], ICAO24);

    let (code, text) = verify(&e.zip, &[], e.dir.path());
    eprintln!("{text}");
    assert_eq!(code, 0, "{text}");
    for check in [
        "manifest",
        "checkpoint signature",
        "leaves",
        "inclusion proofs",
        "incident",
        "zone",
        "config",
        "frames",
        "decode",
        "detection",
        "renderings",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("PASS {check}:"))),
            "no PASS {check} in:\n{text}"
        );
    }
    assert!(text.contains("WARN log key:"), "{text}");
    assert!(text.contains("only self-asserted"), "{text}");
    assert!(
        text.contains("VERDICT: VERIFIED against the bundle's own key"),
        "{text}"
    );
    let detection = text
        .lines()
        .find(|l| l.starts_with("PASS detection:"))
        .unwrap();
    assert!(
        detection.contains(e.incident["id"].as_str().unwrap()),
        "{detection}"
    );

    let (code, text) = verify(&e.zip, &["--key", &e.vkey], e.dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("PASS log key:"), "{text}");
    assert!(text.contains("(pinned)"), "{text}");
    assert!(text.contains("VERDICT: VERIFIED: all"), "{text}");
    // The key may also come from a file of vkey lines.
    let keyfile = e.dir.path().join("log.vkey");
    std::fs::write(&keyfile, format!("# the log\n{}\n", e.vkey)).unwrap();
    let (code, text) = verify(&e.zip, &["--key", keyfile.to_str().unwrap()], e.dir.path());
    assert_eq!(code, 0, "{text}");
}

#[test]
fn a_bundle_copied_alone_to_a_fresh_directory_verifies_with_an_empty_environment() {
    let e = exported();
    let fresh = tempfile::tempdir().unwrap();
    let copy = fresh.path().join("evidence.zip");
    std::fs::copy(&e.zip, &copy).unwrap();
    // The binary, copied too: nothing of the build tree or the service is needed.
    let bin: PathBuf = fresh.path().join("skyfence");
    std::fs::copy(setup::BIN, &bin).unwrap();
    let out = Command::new(&bin)
        .args(["verify", "evidence.zip", "--key", &e.vkey])
        .current_dir(fresh.path())
        .env_clear()
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("PASS detection:"), "{text}");
    assert!(text.contains("VERDICT: VERIFIED"), "{text}");

    // A separately built verifier (`.ci/run` builds the release binary on its own and
    // points this variable at it): the other side's build, not the one that exported.
    if let Some(other) = std::env::var_os("SKYFENCE_SEPARATE_VERIFIER") {
        let bin = fresh.path().join("skyfence-separate");
        std::fs::copy(&other, &bin)
            .unwrap_or_else(|e| panic!("SKYFENCE_SEPARATE_VERIFIER {other:?}: {e}"));
        let out = Command::new(&bin)
            .args(["verify", "evidence.zip", "--key", &e.vkey])
            .current_dir(fresh.path())
            .env_clear()
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("VERDICT: VERIFIED"), "{text}");
        eprintln!("verified by the separately built {other:?} too");
    }
}

#[test]
fn one_changed_byte_of_a_frame_fails_the_inclusion_proof_of_that_leaf() {
    let files = read_bundle(&exported().zip);
    let (index, hex) = first_frame_leaf(&files);
    // The last hex digit is in the frame's parity bits.
    let changed = flip_hex(&hex, hex.len() - 1);
    let (code, text) = tampered("frame", "leaves.txt", |b| {
        replace_line(
            b,
            &format!("{index} {hex}\n"),
            &format!("{index} {changed}\n"),
        )
    });
    assert_eq!(code, 1, "{text}");
    let line = fail_line(&text, "inclusion proofs");
    assert!(
        line.contains(&format!(
            "leaf {index} ({} from rx-replay",
            raw_leaf_name(&hex)
        )),
        "{line}"
    );
    assert!(text.contains("VERDICT: NOT VERIFIED"), "{text}");
}

#[test]
fn a_changed_frame_in_frames_csv_fails_the_frames_check() {
    let (code, text) = tampered("frames-csv", "frames.csv", |b| {
        let text = String::from_utf8(b.clone()).unwrap();
        let line = text.lines().nth(1).unwrap().to_string();
        let changed = flip_hex(&line, line.len() - 1);
        *b = text.replacen(&line, &changed, 1).into_bytes();
    });
    assert_eq!(code, 1, "{text}");
    assert!(fail_line(&text, "frames").contains("differs from the raw record leaves"));
}

#[test]
fn a_changed_receive_time_fails_the_inclusion_proof() {
    let files = read_bundle(&exported().zip);
    let (index, hex) = first_frame_leaf(&files);
    // version, kind, sensor length (4 bytes), sensor, then the 8-byte time: its last byte
    // (the same layout in kinds 0x03 and 0x06).
    let sensor_len = usize::from_str_radix(&hex[4..12], 16).unwrap();
    let at = 2 * (2 + 4 + sensor_len + 7) + 1;
    let changed = flip_hex(&hex, at);
    let (code, text) = tampered("time", "leaves.txt", |b| {
        replace_line(
            b,
            &format!("{index} {hex}\n"),
            &format!("{index} {changed}\n"),
        )
    });
    assert_eq!(code, 1, "{text}");
    assert!(
        fail_line(&text, "inclusion proofs")
            .contains(&format!("leaf {index} ({}", raw_leaf_name(&hex))),
        "{text}"
    );
}

#[test]
fn a_changed_time_in_the_incident_fails_the_incident_check() {
    let entered = exported().incident["entered_at"]
        .as_str()
        .unwrap()
        .to_string();
    // The last digit of the milliseconds changed.
    let later = flip_hex(&entered, entered.len() - 2);
    let (code, text) = tampered("incident-time", "incident.json", |b| {
        replace_line(b, &entered, &later)
    });
    assert_eq!(code, 1, "{text}");
    assert!(fail_line(&text, "incident").contains("is not the incident JSON of leaf"));
}

#[test]
fn a_changed_incident_figure_fails_the_incident_check() {
    let (code, text) = tampered("incident-depth", "incident.json", |b| {
        let text = String::from_utf8(b.clone()).unwrap();
        let at = text.find("\"max_depth_m\":").unwrap() + "\"max_depth_m\":".len();
        let mut bytes = text.into_bytes();
        bytes[at] = if bytes[at] == b'9' {
            b'1'
        } else {
            bytes[at] + 1
        };
        *b = bytes;
    });
    assert_eq!(code, 1, "{text}");
    fail_line(&text, "incident");
}

#[test]
fn a_changed_zone_fails_the_zone_check() {
    let (code, text) = tampered("zone", "zone.geojson", |b| {
        let text = String::from_utf8(b.clone()).unwrap();
        // The first digit of the first coordinate.
        let at = text.find("\"coordinates\":[[[[").unwrap() + "\"coordinates\":[[[[".len();
        let mut bytes = text.into_bytes();
        let at = at + bytes[at..].iter().position(u8::is_ascii_digit).unwrap();
        bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
        *b = bytes;
    });
    assert_eq!(code, 1, "{text}");
    assert!(
        fail_line(&text, "zone").contains("is not the zone of dataset leaf"),
        "{text}"
    );
}

#[test]
fn a_changed_proof_fails_the_inclusion_proof_of_that_leaf() {
    let files = read_bundle(&exported().zip);
    let text = String::from_utf8(files["proofs.txt"].clone()).unwrap();
    let line = text
        .lines()
        .find(|l| !l.starts_with('#') && l.contains(' '))
        .unwrap()
        .to_string();
    let index = line.split(' ').next().unwrap().to_string();
    let first_hash = line.find(' ').unwrap() + 1;
    let changed = flip_hex(&line, first_hash);
    let (code, out) = tampered("proof", "proofs.txt", |b| replace_line(b, &line, &changed));
    assert_eq!(code, 1, "{out}");
    assert!(
        fail_line(&out, "inclusion proofs").contains(&format!("leaf {index} (")),
        "{out}"
    );
}

#[test]
fn a_changed_signature_fails_the_checkpoint_signature() {
    let (code, text) = tampered("signature", "checkpoint.txt", |b| {
        let text = String::from_utf8(b.clone()).unwrap();
        let sig_line = text
            .lines()
            .find(|l| l.starts_with('\u{2014}'))
            .unwrap()
            .to_string();
        // A character in the middle of the base64 signature.
        let mut chars: Vec<char> = sig_line.chars().collect();
        let at = chars.len() - 10;
        chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
        let changed: String = chars.into_iter().collect();
        *b = text.replacen(&sig_line, &changed, 1).into_bytes();
    });
    assert_eq!(code, 1, "{text}");
    fail_line(&text, "checkpoint signature");
    // Without a verified checkpoint nothing leads to the root: proofs are not trusted.
    fail_line(&text, "inclusion proofs");
}

#[test]
fn a_bundle_re_signed_with_another_key_fails_only_against_the_pinned_key() {
    let e = exported();
    let mut files = read_bundle(&e.zip);
    let note = skyfence_evidence::Note::parse(&files["checkpoint.txt"]).unwrap();
    let forger = skyfence_evidence::Signer::generate("skyfence.test/export-e2e").unwrap();
    let forged = forger.sign_new_note(&note.text).unwrap();
    files.insert("checkpoint.txt".into(), forged.into_bytes());
    let vkey = forger.verifier_key().to_string();
    files.insert("keys/log.vkey".into(), format!("{vkey}\n").into_bytes());
    fix_manifest(&mut files, "checkpoint.txt");
    fix_manifest(&mut files, "keys/log.vkey");
    let mut m: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    m["log"]["key"] = Value::from(vkey.clone());
    files.insert("bundle.json".into(), serde_json::to_vec_pretty(&m).unwrap());
    let out = e.dir.path().join("forged-key.zip");
    write_bundle(&files, &out);
    // The renderings name the key, so they differ too; the signature itself verifies
    // under the forger's self-asserted key...
    let (_, text) = verify(&out, &[], e.dir.path());
    assert!(text.contains("PASS checkpoint signature:"), "{text}");
    assert!(text.contains("WARN log key:"), "{text}");
    // ...and fails against the key the verifier obtained from the operator.
    let (code, text) = verify(&out, &["--key", &e.vkey], e.dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        fail_line(&text, "log key").contains("is not among the 1 --key key(s)"),
        "{text}"
    );
}

#[test]
fn a_changed_report_fails_the_manifest_and_the_renderings() {
    let e = exported();
    let mut files = read_bundle(&e.zip);
    let report = files.get_mut("report.html").unwrap();
    let at = report.len() / 2;
    report[at] ^= 0x01;
    let out = e.dir.path().join("tampered-report.zip");
    write_bundle(&files, &out);
    let (code, text) = verify(&out, &[], e.dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        fail_line(&text, "manifest").contains("report.html has SHA-256"),
        "{text}"
    );
    fail_line(&text, "renderings");
}

/// A bundle drawn by another renderer version (another release of skyfence) still
/// verifies: its renderings are not compared, and the verifier says so.
#[test]
fn renderings_of_another_renderer_are_reported_not_compared() {
    let e = exported();
    let mut files = read_bundle(&e.zip);
    let mut m: Value = serde_json::from_slice(&files["bundle.json"]).unwrap();
    assert_eq!(m["renderer"], "skyfence-render/1");
    m["renderer"] = Value::from("skyfence-render/0");
    files.insert("bundle.json".into(), serde_json::to_vec_pretty(&m).unwrap());
    let out = e.dir.path().join("other-renderer.zip");
    write_bundle(&files, &out);
    let (code, text) = verify(&out, &["--key", &e.vkey], e.dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("WARN renderings:"), "{text}");
    assert!(
        text.contains("not compared, so they are not verified"),
        "{text}"
    );
    assert!(text.contains("PASS detection:"), "{text}");
}

#[test]
fn unreadable_bundles_and_bad_keys_exit_2() {
    let e = exported();
    // Regression: `--out` naming a device or FIFO must not be replaced by the zip (the
    // atomic rename turned `--out /dev/null` into a regular file). A FIFO stands in for
    // the device, so a regression cannot harm the machine running the test.
    let fifo = e.dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let out = Command::new(setup::BIN)
        .arg("export")
        .arg(e.incident["id"].as_str().unwrap())
        .arg("--out")
        .arg(&fifo)
        .arg("--config")
        .arg(e.dir.path().join("config.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a regular file"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!std::fs::metadata(&fifo).unwrap().is_file());
    let junk = e.dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip at all").unwrap();
    let (code, text) = verify(&junk, &[], e.dir.path());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not a readable evidence bundle"), "{text}");
    let (code, text) = verify(&e.zip, &["--key", "nobody+00000000+AAAA"], e.dir.path());
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("--key"), "{text}");
}

#[test]
fn the_kml_and_geojson_have_the_track_and_the_crossings() {
    let e = exported();
    let files = read_bundle(&e.zip);
    // KML 2.2, checked structurally with Python's XML parser: no XSD for KML 2.2 ships
    // in a Debian or PyPI package we can rely on offline, so the element order of the
    // schema (Feature: name, description, TimePrimitive, styleUrl, Geometry) is checked
    // by hand.
    let kml = e.dir.path().join("track.kml");
    std::fs::write(&kml, &files["track.kml"]).unwrap();
    let script = r#"
import sys, xml.etree.ElementTree as ET
ns = {'k': 'http://www.opengis.net/kml/2.2'}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == '{http://www.opengis.net/kml/2.2}kml', root.tag
doc = root.find('k:Document', ns)
pms = doc.findall('k:Placemark', ns)
order = ['name', 'description', 'TimeStamp', 'TimeSpan', 'styleUrl', 'LineString', 'Point']
for pm in pms:
    tags = [c.tag.split('}')[1] for c in pm]
    idx = [order.index(t) for t in tags]
    assert idx == sorted(idx), tags
line = doc.find('k:Placemark/k:LineString', ns)
assert line.find('k:altitudeMode', ns).text == 'absolute'
coords = line.find('k:coordinates', ns).text.split()
for c in coords:
    lon, lat, alt = map(float, c.split(','))
    assert -180 <= lon <= 180 and -90 <= lat <= 90 and alt >= 0
names = [pm.find('k:name', ns).text for pm in pms]
print(len(coords), ','.join(names))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&kml)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "KML check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = String::from_utf8_lossy(&out.stdout);
    let (n, names) = summary.trim().split_once(' ').unwrap();
    assert!(n.parse::<usize>().unwrap() > 100, "{summary}");
    assert_eq!(names, format!("Track {ICAO24},Entry,Exit"));

    let gj: Value = serde_json::from_slice(&files["track.geojson"]).unwrap();
    assert_eq!(gj["type"], "FeatureCollection");
    let roles: Vec<&str> = gj["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["track", "entry", "exit", "zone"]);
    let entry = &gj["features"][1]["geometry"]["coordinates"];
    assert_eq!(entry[0], e.incident["entry"]["lon"]);
    assert_eq!(entry[1], e.incident["entry"]["lat"]);
    assert_eq!(gj["features"][3]["properties"]["name"], "PK");
}

/// A witness cosigns the stored checkpoint (C2SP tlog-cosignature `cosignature/v1`); a
/// bundle exported afterwards carries the cosignature, and `verify` checks it against the
/// witness key pinned with `--key`.
#[test]
fn a_cosignature_by_a_pinned_witness_is_checked_and_reported() {
    let e = exported();
    let db = e.dir.path().join("skyfence.db");
    let witness = skyfence_evidence::Signer::generate("witness.test/one").unwrap();
    {
        use skyfence_store::EvidenceLogStore as _;
        let mut store = skyfence_store::SqliteStore::open(&db).unwrap();
        let cp = store
            .latest_checkpoint()
            .unwrap()
            .expect("a signed checkpoint");
        let mut note = skyfence_evidence::Note::parse(cp.note.as_bytes()).unwrap();
        note.signatures
            .push(witness.cosign(&note.text, 1_700_000_000));
        assert_eq!(store.add_cosignature(cp.size, &note.to_text()).unwrap(), 1);
    }
    let zip = e.dir.path().join("cosigned.zip");
    let out = Command::new(setup::BIN)
        .arg("export")
        .arg(e.incident["id"].as_str().unwrap())
        .arg("--out")
        .arg(&zip)
        .arg("--config")
        .arg(e.dir.path().join("config.toml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wkey = witness.cosignature_verifier_key().to_string();
    let (code, text) = verify(&zip, &["--key", &e.vkey, "--key", &wkey], e.dir.path());
    assert_eq!(code, 0, "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("PASS cosignatures:"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(
            "witness.test/one verifies (pinned witness, cosigned 2023-11-14T22:13:20.000Z)"
        ),
        "{line}"
    );
    // A pinned witness that did not cosign is reported, not failed.
    let other = skyfence_evidence::Signer::generate("witness.test/two").unwrap();
    let okey = other.cosignature_verifier_key().to_string();
    let (code, text) = verify(&zip, &["--key", &e.vkey, "--key", &okey], e.dir.path());
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("pinned witness witness.test/two did not cosign"),
        "{text}"
    );
}

/// Every kind of incident verifies: lost (re-detection must lose it at the same time),
/// first heard inside (entry not observed) and still open with a permit.
#[test]
fn lost_unobserved_and_open_incidents_verify_too() {
    let e = exported();
    for (label, zip, incident) in &e.others {
        let (code, text) = verify(zip, &["--key", &e.vkey], e.dir.path());
        assert_eq!(code, 0, "{label}:\n{text}");
        let detection = text
            .lines()
            .find(|l| l.starts_with("PASS detection:"))
            .unwrap_or_else(|| panic!("{label}:\n{text}"));
        let status = incident["status"].as_str().unwrap();
        assert!(
            detection.contains(&format!(" {status}, entered")),
            "{label}: {detection}"
        );
        let files = read_bundle(zip);
        let inside: Value = serde_json::from_slice(&files["incident.json"]).unwrap();
        assert_eq!(inside["id"], incident["id"], "{label}");
        assert_eq!(inside["status"], status, "{label}");
    }
    let labels: Vec<&str> = e.others.iter().map(|(l, _, _)| *l).collect();
    assert_eq!(
        labels,
        ["lost", "entry not observed", "open and authorised"]
    );
}

/// The data lines of `text` (not `#` comments) as byte ranges.
fn data_ranges(text: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        if !line.starts_with(b"#") {
            out.push(start..start + line.len());
        }
        start += line.len();
    }
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: 12,
        failure_persistence: None,
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// Any one changed byte of the evidence or of what must equal it (outside the
    /// comment lines, which carry nothing) fails verification with status 1, even with
    /// the manifest fixed to match.
    #[test]
    fn any_changed_byte_of_the_evidence_fails_verification(
        file in proptest::sample::select(vec![
            "leaves.txt", "proofs.txt", "checkpoint.txt", "incident.json",
            "zone.geojson", "config.toml", "frames.csv",
        ]),
        pick in proptest::prelude::any::<proptest::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let e = exported();
        let mut files = read_bundle(&e.zip);
        let bytes = files.get_mut(file).unwrap();
        let positions: Vec<usize> = data_ranges(bytes).into_iter().flatten().collect();
        let at = positions[pick.index(positions.len())];
        bytes[at] = bytes[at].wrapping_add(delta);
        fix_manifest(&mut files, file);
        let out = e.dir.path().join(format!("prop-{file}-{at}-{delta}.zip"));
        write_bundle(&files, &out);
        let (code, text) = verify(&out, &[], e.dir.path());
        proptest::prop_assert_eq!(code, 1, "byte {} of {} changed by {}:\n{}", at, file, delta, text);
        proptest::prop_assert!(text.contains("VERDICT: NOT VERIFIED"), "{}", text);
        let _ = std::fs::remove_file(&out);
    }
}

/// `--store` instead of `--config` (a service run without a config file, like `demo`):
/// the same store and the key beside it give a bundle that verifies against the pinned
/// key; a store that does not exist is a usage error naming it.
#[test]
fn export_from_the_store_file_alone() {
    let e = exported();
    let id = e.incident["id"].as_str().unwrap();
    let zip = e.dir.path().join("by-store.zip");
    let out = Command::new(setup::BIN)
        .args(["export", id, "--out"])
        .arg(&zip)
        .arg("--store")
        .arg(e.dir.path().join("skyfence.db"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, text) = verify(&zip, &["--key", &e.vkey], e.dir.path());
    assert_eq!(code, 0, "{text}");

    let missing = e.dir.path().join("no-such.db");
    let out = Command::new(setup::BIN)
        .args(["export", id, "--out"])
        .arg(e.dir.path().join("never.zip"))
        .arg("--store")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such.db") && err.contains("does not exist"),
        "{err}"
    );
}

/// The independent verifier (`tools/verify-bundle.py`, written from docs/BUNDLE.md with
/// the Python standard library and one Ed25519 package) verifies a bundle `skyfence
/// export` wrote, with the log key the API served pinned.
#[test]
fn the_independent_python_verifier_verifies_an_exported_bundle() {
    let Some(python) = python_verifier() else {
        return;
    };
    let e = exported();
    for zip in std::iter::once(&e.zip).chain(e.others.iter().map(|(_, z, _)| z)) {
        let (code, text) = python_verify(&python, zip, &e.vkey);
        assert_eq!(code, Some(0), "{}: {text}", zip.display());
        assert!(text.contains("PASS inclusion proofs:"), "{text}");
        assert!(text.contains("VERDICT: VERIFIED\n"), "{text}");
    }
}

/// The checkpoint and inclusion proofs of every bundle `skyfence export` wrote verify
/// with the Go checksum database's own `note` and `tlog` packages
/// (`tools/go-note-tlog`), with the log key the API served pinned.
#[test]
fn the_go_checksum_database_packages_verify_exported_bundles() {
    let build = tempfile::tempdir().unwrap();
    let program = match skyfence_testkit::build_go_note_tlog(build.path()) {
        Ok(p) => p,
        Err(why) => {
            skyfence_testkit::require_tool("Go note/tlog oracle", Err(why));
            return;
        }
    };
    let e = exported();
    for zip in std::iter::once(&e.zip).chain(e.others.iter().map(|(_, z, _)| z)) {
        let out = Command::new(&program)
            .arg(zip)
            .arg(&e.vkey)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{}: {text}", zip.display());
        assert!(text.contains("PASS inclusion proofs:"), "{text}");
        assert!(text.contains("VERDICT: VERIFIED\n"), "{text}");
    }
}

/// After `skyfence log rotate-key`, a bundle's checkpoint is signed by the new key: the
/// bundle carries the rotation leaf with its inclusion proof, and verifies trusting only
/// the old key (the pinned key's rotation is followed). A rotation that names the
/// pinned key as the one it retires but is not signed by it fails the `log key` check,
/// naming the leaf; so does a bundle whose rotations lead from none of the pinned keys.
#[test]
fn a_bundle_after_a_key_rotation_verifies_from_the_old_key_and_a_forged_rotation_fails() {
    use skyfence_evidence::note::Note;
    use skyfence_evidence::{EvidenceLeaf, Signer};
    use skyfence_store::EvidenceLogStore as _;
    let e = exported();
    let id = e.incident["id"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = |name: &str| {
        let db = dir.path().join(format!("{name}.db"));
        std::fs::copy(e.dir.path().join("skyfence.db"), &db).unwrap();
        std::fs::copy(e.dir.path().join("skyfence.key"), db.with_extension("key")).unwrap();
        db
    };
    let export = |db: &std::path::Path, zip: &std::path::Path| {
        let out = Command::new(setup::BIN)
            .args(["export", id, "--out"])
            .arg(zip)
            .arg("--store")
            .arg(db)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };

    // An honest rotation.
    let db = copy("rotated");
    let out = Command::new(setup::BIN)
        .args(["log", "rotate-key", "--store"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let zip = dir.path().join("rotated.zip");
    export(&db, &zip);
    let files = read_bundle(&zip);
    let new_key = String::from_utf8(files["keys/log.vkey"].clone()).unwrap();
    assert_ne!(
        new_key.trim(),
        e.vkey,
        "the checkpoint is signed by the new key"
    );
    let leaves = String::from_utf8(files["leaves.txt"].clone()).unwrap();
    let rotation = leaves
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .find(|(_, h)| {
            matches!(
                EvidenceLeaf::decode(&unhex(h)),
                Ok(EvidenceLeaf::KeyRotated { .. })
            )
        })
        .map(|(i, _)| i.to_string())
        .expect("the bundle carries the rotation leaf");
    let (code, text) = verify(&zip, &["--key", &e.vkey], dir.path());
    assert_eq!(code, 0, "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("PASS log key"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains(&format!("rotated by leaf {rotation}")) && line.contains(&e.vkey),
        "{line}"
    );
    let python = python_verifier();
    if let Some(python) = &python {
        let (code, text) = python_verify(python, &zip, &e.vkey);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains(&format!(
                "PASS log key: the pinned key rotated to it by leaf {rotation}"
            )),
            "{text}"
        );
    }
    // Trusting an unrelated key: the rotations lead from none of the pinned keys.
    let stranger = Signer::generate("stranger")
        .unwrap()
        .verifier_key()
        .to_string();
    let (code, text) = verify(&zip, &["--key", &stranger], dir.path());
    assert_eq!(code, 1, "{text}");
    assert!(
        fail_line(&text, "log key").contains("lead from none of them"),
        "{text}"
    );

    // A forged rotation: it names the pinned key as the one it retires, but another key
    // of the same name signed in its place; the forger's new key signs the checkpoint.
    let db = copy("forged");
    let old = Signer::from_private_key_text(
        std::fs::read_to_string(db.with_extension("key"))
            .unwrap()
            .trim_end(),
    )
    .unwrap();
    let impostor = Signer::generate(old.name()).unwrap();
    let new = Signer::generate(old.name()).unwrap();
    let at_us = 1_800_000_000_000_000;
    let statement = format!(
        "skyfence key rotation\nold {}\nnew {}\nat {at_us}\n",
        old.verifier_key(),
        new.verifier_key()
    );
    let note = Note {
        signatures: vec![impostor.sign_note(&statement), new.sign_note(&statement)],
        text: statement,
    }
    .to_text();
    let mut store = skyfence_store::SqliteStore::open(&db).unwrap();
    let index = store
        .append_evidence(&EvidenceLeaf::KeyRotated { at_us, note })
        .unwrap();
    skyfence_store::export::sign_if_grown(
        &mut store,
        &new,
        skyfence_core::Timestamp::from_micros(at_us),
    )
    .unwrap();
    store.close().unwrap();
    std::fs::write(db.with_extension("key"), new.to_private_key_text() + "\n").unwrap();
    let zip = dir.path().join("forged.zip");
    export(&db, &zip);
    let (code, text) = verify(&zip, &["--key", &e.vkey], dir.path());
    assert_eq!(code, 1, "{text}");
    let line = fail_line(&text, "log key");
    assert!(
        line.contains(&format!("leaf {index}: key rotation"))
            && line.contains("not signed by the old key"),
        "{line}"
    );
    if let Some(python) = &python {
        let (code, text) = python_verify(python, &zip, &e.vkey);
        assert_eq!(code, Some(1), "{text}");
        assert!(
            text.contains(&format!(
                "leaf {index}: the key rotation is not signed by the old key"
            )),
            "{text}"
        );
    }
}

/// The Python that runs `tools/verify-bundle.py` (`SKYFENCE_VERIFY_PYTHON`, else
/// `python3`), when it has the `cryptography` package; `None` (skipped, or a failure
/// under CI) otherwise.
fn python_verifier() -> Option<String> {
    let python = std::env::var("SKYFENCE_VERIFY_PYTHON").unwrap_or_else(|_| "python3".into());
    let available = Command::new(&python)
        .args(["-c", "import cryptography"])
        .output()
        .map_err(|e| format!("{python}: {e}"))
        .and_then(|o| {
            o.status.success().then_some(()).ok_or_else(|| {
                format!("{python} lacks the cryptography package (.ci/run installs it)")
            })
        });
    skyfence_testkit::require_tool("independent bundle verifier", available).then_some(python)
}

/// `tools/verify-bundle.py ZIP --key KEY`: exit code and output.
fn python_verify(python: &str, zip: &std::path::Path, key: &str) -> (Option<i32>, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/verify-bundle.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(zip)
        .args(["--key", key])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}
