//! `skyfence run`, `export` and `verify` with `[store] url = "postgres://…"`: the same
//! incidents as with SQLite land in a real PostgreSQL 15 + PostGIS server this test
//! starts (`skyfence_testkit::postgres`), with their geometry, and a bundle exported from
//! that store verifies. Skipped with a message without the server; a failure under
//! `CI=true`.
//!
//! The `af-pk-border` window of `export_verify` is replayed at `SPEED` times real time
//! (thresholds scaled, as there); deadlines only stop a broken run from hanging.

mod common;
#[path = "export_verify/setup.rs"]
mod setup;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_skyfence");
const SPEED: f64 = 20.0;
const DEADLINE: Duration = Duration::from_secs(240);
const TOKEN: &str = "tok-pg";

#[test]
fn a_service_on_postgres_stores_incidents_with_geometry_and_exports_verifiable_bundles() {
    let available = skyfence_testkit::postgres::server().map(|_| ());
    if !skyfence_testkit::require_tool("PostgreSQL service test", available) {
        return;
    }
    let pg = skyfence_testkit::postgres::server().unwrap();
    let schema = format!("e2e_{}", std::process::id());
    let url = pg.schema_url(&schema).unwrap();
    let sim = common::simulate_af_pk_border("beast");
    let dir = sim.path();
    setup::write_window(dir, &dir.join("window.bin"));
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
             [[zones]]\nfile = \"zones.geojson\"\n\n[server]\nlisten = \"127.0.0.1:0\"\napi_token = \"{TOKEN}\"\n\n\
             [store]\nurl = \"{url}\"\n\n[evidence]\nkey = \"log.key\"\norigin = \"skyfence.test/pg\"\ncheckpoint_every_s = 1\n\n\
             [[source]]\nname = \"rx-replay\"\ntype = \"beast\"\nreplay = \"window.bin\"\nspeed = {SPEED}\n",
            5.0 / SPEED,
            60.0 / SPEED,
            1000.0 * SPEED,
        ),
    )
    .unwrap();

    let (mut child, addr) = common::spawn_service(
        Command::new(BIN).arg("run").arg("--config").arg(&config),
        DEADLINE,
        |_| {},
    );
    let started = Instant::now();
    // AFUAV1's dash into Pakistan closes at 22:19:36 (the window's end is 22:20:00).
    let afuav1 = loop {
        let (code, body) = common::http(addr, "GET", "/api/incidents?zone=PK", None, Some(TOKEN));
        if code == 200 {
            let list: Value = serde_json::from_str(&body).unwrap();
            if let Some(i) = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|i| i["target"]["icao24"] == setup::ICAO24 && i["status"] == "closed")
            {
                break i.clone();
            }
        }
        assert!(
            started.elapsed() < DEADLINE,
            "no closed PK incident of AFUAV1"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    common::stop_gracefully(&mut child);

    // In PostgreSQL, as a GIS analyst sees it: every incident the API lists has its
    // entry point, and AFUAV1's closed one its exit point and a track line.
    let (_, body) = {
        let (mut child, addr) = common::spawn_service(
            Command::new(BIN).arg("run").arg("--config").arg(&config),
            DEADLINE,
            |_| {},
        );
        let r = common::http(addr, "GET", "/api/incidents", None, Some(TOKEN));
        common::stop_gracefully(&mut child);
        r
    };
    let listed = serde_json::from_str::<Value>(&body)
        .unwrap()
        .as_array()
        .unwrap()
        .len();
    assert!(listed >= 4, "{body}");
    let q = |sql: &str| {
        pg.psql(
            "skyfence",
            &format!("SET search_path = {schema}, public; {sql}"),
        )
        .unwrap()
    };
    assert_eq!(
        q("SELECT count(*) FROM incidents WHERE entry_point IS NOT NULL"),
        listed.to_string()
    );
    let id = afuav1["id"].as_str().unwrap();
    assert_eq!(
        q(&format!(
            "SELECT zone, status, exit_point IS NOT NULL, ST_NPoints(track) > 10 FROM incidents WHERE id = '{id}'"
        )),
        "PK|closed|t|t"
    );

    // Exported from the PostgreSQL store, verified like any bundle.
    let zip = dir.join("bundle.zip");
    let out = Command::new(BIN)
        .args(["export", id, "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&zip)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (code, text) = setup::verify(&zip, &[], dir);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("VERDICT: VERIFIED"), "{text}");
}
