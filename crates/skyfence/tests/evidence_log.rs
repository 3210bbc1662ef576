//! The evidence log end to end: `skyfence run` records its zones, permits and
//! config and signs checkpoints; `skyfence witness --once` (the real binary, over real
//! loopback sockets, with the API's bearer token) cosigns them and the cosignature shows in
//! `GET /api/log/checkpoint`; a second store that diverges is refused as a fork; and
//! `skyfence log verify` passes an honest store and names each kind of tampering.
//!
//! Deadlines only stop a broken run from hanging; nothing asserts on time.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use skyfence_evidence::{EvidenceLeaf, VerifierKey, open_checkpoint};
use skyfence_store::{EvidenceLogStore, SqliteStore};

mod common;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const DEADLINE: Duration = Duration::from_secs(120);
const TOKEN: &str = "s3cret";
const ORIGIN: &str = "skyfence.test/e2e";

/// A 0.1° square with a hole (docs/INTERFACES.md "Zones" properties).
const ZONES: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature",
 "properties":{"name":"HELD-A","floor_ft":0,"ceiling_ft":60000,"buffer_m":1000},
 "geometry":{"type":"Polygon","coordinates":[
   [[69.8,33.2],[69.9,33.2],[69.9,33.3],[69.8,33.3],[69.8,33.2]],
   [[69.84,33.24],[69.86,33.24],[69.86,33.26],[69.84,33.24]]]}}]}"#;

/// A service directory: zones, config (token, 1 s checkpoints, fixed origin, the witness
/// keys `witnesses`), store, key.
fn service_dir(dir: &Path, store: &str, witnesses: &[&str]) -> PathBuf {
    let witnesses = witnesses
        .iter()
        .map(|w| format!("{w:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    std::fs::write(dir.join("zones.geojson"), ZONES).unwrap();
    let config = dir.join("skyfence.toml");
    std::fs::write(
        &config,
        format!(
            "[[zones]]\nfile = \"zones.geojson\"\n\n[server]\nlisten = \"127.0.0.1:0\"\napi_token = \"{TOKEN}\"\n\n\
             [store]\npath = \"{store}\"\n\n[evidence]\nkey = \"log.key\"\ncheckpoint_every_s = 1\norigin = \"{ORIGIN}\"\nwitnesses = [{witnesses}]\n\n\
             [[allow]]\ncallsign = \"PIA*\"\nreason = \"overflight permit 2023/114\"\n"
        ),
    )
    .unwrap();
    config
}

struct Service {
    child: Child,
    addr: SocketAddr,
}

impl Service {
    fn start(config: &Path) -> Service {
        let (child, addr) = common::spawn_service(
            Command::new(BIN).args(["run", "--config"]).arg(config),
            DEADLINE,
            |_| {},
        );
        Service { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        common::http(self.addr, "GET", path, None, token)
    }

    /// The latest checkpoint, once one of at least `min_size` leaves is signed.
    fn checkpoint_of_at_least(&self, min_size: u64) -> String {
        let until = Instant::now() + DEADLINE;
        loop {
            let (status, body) = self.get("/api/log/checkpoint", Some(TOKEN));
            if status == 200 {
                let size: u64 = body.lines().nth(1).unwrap().parse().unwrap();
                if size >= min_size {
                    return body;
                }
            }
            assert!(Instant::now() < until, "no checkpoint of {min_size} leaves");
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then wait: the graceful shutdown.
    fn stop(mut self) {
        common::stop_gracefully(&mut self.child);
    }
}

fn skyfence(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn witness(dir: &Path, url: &str, log_key: &str) -> Output {
    let key = dir.join("witness.key");
    let state = dir.join("witness.json");
    Command::new(BIN)
        .args([
            "witness",
            "--url",
            url,
            "--log-key",
            log_key,
            "--token",
            TOKEN,
        ])
        .arg("--key")
        .arg(&key)
        .arg("--state")
        .arg(&state)
        .args(["--name", "witness.test/other-government", "--once"])
        .output()
        .unwrap()
}

#[test]
fn a_witness_cosigns_an_honest_log_and_refuses_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let wdir = tempfile::tempdir().unwrap();
    // The witness's public key, configured in the service ([evidence] witnesses).
    let out = Command::new(BIN)
        .args([
            "witness",
            "--print-key",
            "--name",
            "witness.test/other-government",
        ])
        .arg("--key")
        .arg(wdir.path().join("witness.key"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let witness_vkey = text(&out.stdout).trim().to_string();
    let config = service_dir(dir.path(), "store.db", &[&witness_vkey]);
    let service = Service::start(&config);

    // The log key: generated at first start, mode 0600, printed by `skyfence log key`.
    let key_file = dir.path().join("log.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let out = skyfence(&["log", "key", "--config", config.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let log_vkey = text(&out.stdout).trim().to_string();
    assert!(log_vkey.starts_with(&format!("{ORIGIN}+")), "{log_vkey}");
    let (status, body) = service.get("/api/log/key", Some(TOKEN));
    assert_eq!((status, body.trim()), (200, log_vkey.as_str()));

    // The start recorded one zone, the permit set and the config: three leaves, signed.
    let note = service.checkpoint_of_at_least(3);
    assert_eq!(note.lines().nth(1), Some("3"), "{note}");
    // Every /api/log route wants the bearer token.
    assert_eq!(service.get("/api/log/checkpoint", None).0, 401);

    // The witness's first cosignature (trust on first use).
    let out = witness(wdir.path(), &service.url(), &log_vkey);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("cosigned size 3 (from first contact)"));
    let (_, note) = service.get("/api/log/checkpoint", Some(TOKEN));
    let log_key = VerifierKey::parse(&log_vkey).unwrap();
    let w_key = VerifierKey::parse(&witness_vkey).unwrap();
    let opened = open_checkpoint(note.as_bytes(), &log_key, std::slice::from_ref(&w_key)).unwrap();
    assert_eq!(opened.checkpoint.size, 3);
    assert_eq!(opened.cosignatures.len(), 1);
    assert_eq!(opened.cosignatures[0].name, "witness.test/other-government");

    // The log grows (another writer on the same store: the service is one of several);
    // the next checkpoint is proven consistent with the cosigned one and cosigned.
    {
        let mut store = SqliteStore::open(dir.path().join("store.db")).unwrap();
        for i in 0..5 {
            store
                .append_evidence(&EvidenceLeaf::ConfigChanged {
                    at_us: i,
                    source: "test".into(),
                    config: format!("change {i}").into_bytes(),
                })
                .unwrap();
        }
    }
    service.checkpoint_of_at_least(8);
    let out = witness(wdir.path(), &service.url(), &log_vkey);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("cosigned size 8 (from size 3)"),
        "{}",
        text(&out.stdout)
    );
    let state = std::fs::read_to_string(wdir.path().join("witness.json")).unwrap();
    service.stop();

    // `log verify` on the honest store: every check passes, with the witness's key.
    let out = skyfence(&[
        "log",
        "verify",
        "--config",
        config.to_str().unwrap(),
        "--witness-key",
        &witness_vkey,
    ]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains("verdict: VALID"), "{report}");
    assert!(
        report.contains("checkpoints 3 -> 8: consistent"),
        "{report}"
    );
    assert!(
        report.contains("cosigned by witness.test/other-government"),
        "{report}"
    );

    // A fork: a second store under the same key whose history differs (and is longer),
    // served at the same origin. The witness refuses, says why, keeps its state.
    let fork_dir = tempfile::tempdir().unwrap();
    let fork_config = service_dir(fork_dir.path(), "fork.db", &[&witness_vkey]);
    std::fs::copy(&key_file, fork_dir.path().join("log.key")).unwrap();
    {
        let mut store = SqliteStore::open(fork_dir.path().join("fork.db")).unwrap();
        for i in 0..10 {
            store
                .append_evidence(&EvidenceLeaf::ConfigChanged {
                    at_us: i,
                    source: "another history".into(),
                    config: format!("rewritten {i}").into_bytes(),
                })
                .unwrap();
        }
    }
    let fork = Service::start(&fork_config);
    fork.checkpoint_of_at_least(13);
    let out = witness(wdir.path(), &fork.url(), &log_vkey);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("REFUSED TO COSIGN"), "{stderr}");
    assert!(stderr.contains("inconsistent tree"), "{stderr}");
    assert!(stderr.contains("cosigned size 8"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(wdir.path().join("witness.json")).unwrap(),
        state,
        "a refused checkpoint leaves the state as it was"
    );
    let (_, note) = fork.get("/api/log/checkpoint", Some(TOKEN));
    assert!(
        !note.contains("witness.test"),
        "nothing was cosigned: {note}"
    );
    fork.stop();
}

/// An honest store, copied fresh for each tampering.
fn honest_store(dir: &Path) -> PathBuf {
    let path = dir.join("honest.db");
    {
        let mut store = SqliteStore::open(&path).unwrap();
        for i in 0..6u8 {
            store
                .append_evidence(&EvidenceLeaf::RawFrame {
                    sensor: "kabul-1".into(),
                    received_at_us: 1_700_000_000_000_000 + i64::from(i),
                    signal: Some(0x8c),
                    mlat: false,
                    // KLM1023's identification, "The 1090 MHz Riddle" (Junzi Sun).
                    frame: vec![
                        0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57,
                        0x60, 0x98,
                    ],
                })
                .unwrap();
            if i == 2 || i == 5 {
                store.close().unwrap();
                let out = skyfence(&["log", "checkpoint", "--store", path.to_str().unwrap()]);
                assert!(out.status.success(), "{}", text(&out.stderr));
                store = SqliteStore::open(&path).unwrap();
            }
        }
        store.close().unwrap();
    }
    path
}

fn tampered(honest: &Path, sql: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    std::fs::copy(honest, &path).unwrap();
    std::fs::copy(honest.with_extension("key"), path.with_extension("key")).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    (dir, path)
}

fn verify(path: &Path) -> (Option<i32>, String) {
    let out = skyfence(&["log", "verify", "--store", path.to_str().unwrap()]);
    (out.status.code(), text(&out.stdout) + &text(&out.stderr))
}

#[test]
fn log_verify_names_each_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let honest = honest_store(dir.path());
    let (code, report) = verify(&honest);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("ok    6 leaves"), "{report}");
    assert!(
        report.contains("checkpoints 3 -> 6: consistent"),
        "{report}"
    );
    assert!(report.contains("verdict: VALID"), "{report}");

    // Retention cleared every frame leaf's bytes (no incident keeps them): the hashes
    // remain and the log still verifies, saying what it could not show.
    let (_d, path) = tampered(&honest, "SELECT 1;");
    {
        use skyfence_store::IncidentStore as _;
        let mut store = SqliteStore::open(&path).unwrap();
        let far_future = skyfence_core::Timestamp::from_secs(4_000_000_000);
        store.purge_older_than(far_future).unwrap();
        assert!(store.evidence_leaves(0, 6).unwrap().is_empty());
        store.close().unwrap();
    }
    let (code, report) = verify(&path);
    assert_eq!(code, Some(0), "{report}");
    assert!(
        report.contains("6 leaves were cleared by retention"),
        "{report}"
    );
    assert!(report.contains("verdict: VALID"), "{report}");

    // One byte of a leaf changed (the trigger that forbids it dropped first, as an
    // attacker with the file would).
    let (_d, path) = tampered(
        &honest,
        "DROP TRIGGER evidence_leaves_only_clear;
         UPDATE evidence_leaves SET bytes = unhex(replace(hex(bytes), '8D4840D6', '8D4840D7'))
         WHERE idx = 4;",
    );
    let (code, report) = verify(&path);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("FAIL  leaf 4: bytes hash to"), "{report}");
    assert!(report.contains("verdict: INVALID"), "{report}");

    // A leaf deleted.
    let (_d, path) = tampered(
        &honest,
        "DROP TRIGGER evidence_leaves_no_delete; DELETE FROM evidence_leaves WHERE idx = 1;",
    );
    let (code, report) = verify(&path);
    assert_eq!(code, Some(1), "{report}");
    assert!(
        report.contains("FAIL  leaf 1: missing from the leaf table"),
        "{report}"
    );

    // A checkpoint's signature changed.
    let (_d, path) = tampered(
        &honest,
        "UPDATE checkpoints SET note = substr(note, 1, length(note) - 8) || 'AAAAAA=' || char(10)
         WHERE size = 6;",
    );
    let (code, report) = verify(&path);
    assert_eq!(code, Some(1), "{report}");
    assert!(report.contains("FAIL  checkpoint 6:"), "{report}");
}

/// Scenario seconds per wall second for the replayed recording.
const SPEED: f64 = 20.0;

/// A closed incident is signed at once: with `checkpoint_every_s` a day, the only
/// checkpoints after the start are those an incident closing (or being lost) triggers.
/// AFDRN6 (700c01) flies out of Afghanistan at 22:06:49 in the `af-pk-border` scenario
/// (sim::builtin), so its AF incident closes. The store then verifies as a whole.
#[test]
fn closing_an_incident_signs_a_checkpoint_that_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    let sim = dir.path().join("sim");
    let out = Command::new(BIN)
        .args([
            "simulate",
            "--scenario",
            "af-pk-border",
            "--formats",
            "beast",
        ])
        .arg("--out-dir")
        .arg(&sim)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let simulated = std::fs::read_to_string(sim.join("config.toml")).unwrap();
    let permits = simulated.find("[[allow]]").map_or("", |i| &simulated[i..]);
    let config = dir.path().join("skyfence.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
             [[zones]]\ncountry = \"AF\"\n\n[server]\nlisten = \"127.0.0.1:0\"\napi_token = \"{TOKEN}\"\n\n\
             [store]\npath = \"store.db\"\n\n[evidence]\ncheckpoint_every_s = 86400\norigin = \"{ORIGIN}\"\n\n{permits}",
            5.0 / SPEED,
            60.0 / SPEED,
            1000.0 * SPEED,
        ),
    )
    .unwrap();
    let replay = format!("beast:{}", sim.join("beast.bin").to_str().unwrap());
    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&config)
        .args(["--replay", &replay, "--speed", &SPEED.to_string()])
        .env("SKYFENCE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if !sent && let Some(rest) = line.strip_prefix("skyfence run: http://") {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
                sent = true;
            }
        }
    });
    let addr: SocketAddr = rx.recv_timeout(DEADLINE).unwrap().parse().unwrap();
    let service = Service { child, addr };
    let first = service.checkpoint_of_at_least(1);
    let first_size: u64 = first.lines().nth(1).unwrap().parse().unwrap();

    // Wait for AFDRN6's AF incident to close; find its `closed` leaf.
    let store = SqliteStore::open(dir.path().join("store.db")).unwrap();
    let until = Instant::now() + DEADLINE;
    let closed_leaf = loop {
        let leaves = store
            .evidence_leaves(0, store.evidence_size().unwrap())
            .unwrap();
        let found = leaves
            .iter()
            .find_map(|(i, b)| match EvidenceLeaf::decode(b) {
                Ok(EvidenceLeaf::IncidentStateChanged {
                    event,
                    incident_json,
                    ..
                }) if event == "closed" && incident_json.contains("\"700c01\"") => Some(*i),
                _ => None,
            });
        if let Some(i) = found {
            break i;
        }
        assert!(Instant::now() < until, "AFDRN6's incident never closed");
        thread::sleep(Duration::from_millis(200));
    };
    assert!(
        closed_leaf >= first_size,
        "logged after the first checkpoint"
    );
    // The close triggers a checkpoint that includes its leaf (no timer could: a day).
    let note = service.checkpoint_of_at_least(closed_leaf + 1);
    let size: u64 = note.lines().nth(1).unwrap().parse().unwrap();
    let log_key = VerifierKey::parse(service.get("/api/log/key", Some(TOKEN)).1.trim()).unwrap();
    let opened = open_checkpoint(note.as_bytes(), &log_key, &[]).unwrap();
    let proof = store.inclusion_proof(closed_leaf, size).unwrap();
    let bytes = &store.evidence_leaves(closed_leaf, closed_leaf + 1).unwrap()[0].1;
    skyfence_evidence::verify_inclusion(
        &skyfence_evidence::leaf_hash(bytes),
        closed_leaf,
        size,
        &proof,
        &opened.checkpoint.root,
    )
    .unwrap();
    drop(store);
    service.stop();

    // The whole store: thousands of raw frames, the incidents, the country zone.
    let out = skyfence(&["log", "verify", "--config", config.to_str().unwrap()]);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}{}", text(&out.stderr));
    assert!(report.contains("verdict: VALID"), "{report}");
}

/// `log rotate-key`: the retired key is kept, the new one installed, the log records the
/// rotation signed by both, `log verify` passes from either key, and the service's key
/// checks then accept the new key only. A rotation stopped before its checkpoint blocks
/// the old key and is finished by running the command again.
#[test]
fn rotating_the_log_key_keeps_the_chain_of_trust() {
    let dir = tempfile::tempdir().unwrap();
    let store = honest_store(dir.path());
    let s = store.to_str().unwrap();
    let key = store.with_extension("key");
    let vkey = |args: &[&str]| {
        let out = skyfence(args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    let old = vkey(&["log", "key", "--store", s]);

    let out = skyfence(&["log", "rotate-key", "--store", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.starts_with("rotated the log key of"), "{said}");
    assert!(said.contains(&format!("retired:   {old}")), "{said}");
    assert!(
        said.contains("rotation leaf 6, signed by both keys; checkpoint of size 7"),
        "{said}"
    );
    let new = vkey(&["log", "key", "--store", s]);
    assert_ne!(new, old);
    let retired: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("honest.key.retired-"))
        .collect();
    assert_eq!(retired.len(), 1, "{retired:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(&dir.path().join(&retired[0])), 0o600);
    }

    // The whole log verifies from the new key (default) and from the old one.
    let (code, report) = verify(&store);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("leaf 6: key rotation from"), "{report}");
    for anchor in [&old, &new] {
        let out = skyfence(&["log", "verify", "--store", s, "--log-key", anchor]);
        assert!(out.status.success(), "{}", text(&out.stdout));
    }
    // The new key signs on; the retired key is refused.
    let mut db = SqliteStore::open(&store).unwrap();
    db.append_evidence(&EvidenceLeaf::ConfigChanged {
        at_us: 1_700_000_000_100_000,
        source: "test".into(),
        config: b"#".to_vec(),
    })
    .unwrap();
    db.close().unwrap();
    let out = skyfence(&["log", "checkpoint", "--store", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::copy(dir.path().join(&retired[0]), dir.path().join("old.key")).unwrap();
    let swapped = dir.path().join("swapped.db");
    std::fs::copy(&store, &swapped).unwrap();
    std::fs::copy(dir.path().join("old.key"), swapped.with_extension("key")).unwrap();
    let out = skyfence(&["log", "checkpoint", "--store", swapped.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("did not sign the store's latest checkpoint"));

    // A rotation stopped after its leaf (the new key staged, no checkpoint yet).
    let mut db = SqliteStore::open(&store).unwrap();
    let current = skyfence_evidence::Signer::from_private_key_text(
        std::fs::read_to_string(&key).unwrap().trim_end(),
    )
    .unwrap();
    let next = skyfence_evidence::Signer::generate(current.name()).unwrap();
    let staged = dir.path().join("honest.key.next");
    std::fs::write(&staged, next.to_private_key_text() + "\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    db.append_evidence(&EvidenceLeaf::KeyRotated {
        at_us: 1_700_000_000_200_000,
        note: skyfence_evidence::sign_rotation(&current, &next, 1_700_000_000_200_000).unwrap(),
    })
    .unwrap();
    db.close().unwrap();
    let out = skyfence(&["log", "checkpoint", "--store", s]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr)
            .contains("that no checkpoint includes yet: run `skyfence log rotate-key` again"),
        "{}",
        text(&out.stderr)
    );
    let out = skyfence(&["log", "rotate-key", "--store", s]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("finished rotating"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(
        vkey(&["log", "key", "--store", s]),
        next.verifier_key().to_string()
    );
    let (code, report) = verify(&store);
    assert_eq!(code, Some(0), "{report}");
    assert!(report.contains("2 key rotations"), "{report}");
    // Still anchored by the very first key.
    let out = skyfence(&["log", "verify", "--store", s, "--log-key", &old]);
    assert!(out.status.success(), "{}", text(&out.stdout));
}
