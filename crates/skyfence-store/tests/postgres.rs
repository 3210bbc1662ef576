//! The PostgreSQL backend beyond the conformance suite, against a real PostgreSQL 15 +
//! PostGIS server this test process starts (`skyfence_testkit::postgres`): the geometry
//! GIS analysts query, a server restart under a writer, and what a wrong URL or database
//! says. Skipped with a message without the server; a failure under `CI=true`.
//!
//! One test function: the server is stopped and started in the middle, which no other
//! test of this process may see.

use skyfence_store::conformance::fixtures::*;
use skyfence_store::pg::PgStore;
use skyfence_store::{IncidentStore, StoreBatch, StoreError, StoreOptions, StoreUrl};
use skyfence_testkit::postgres::server;

#[test]
fn geometry_a_server_restart_and_clear_errors() {
    let available = server().map(|_| ());
    if !skyfence_testkit::require_tool("PostgreSQL backend test", available) {
        return;
    }
    let pg = server().unwrap();
    let url = pg.schema_url("gis").unwrap();
    let mut store = PgStore::open_with(&url, StoreOptions::default()).unwrap();

    // A closed incident with 11 positions over its window and an open one with none.
    let a = closed(&open_incident(0x4840d6, "HELD-A", 0), 30);
    let b = open_incident(0x484fde, "AF", 20);
    store
        .apply(&StoreBatch {
            events: vec![confirmed(&a), confirmed(&b), closed_event(&a)],
            positions: (-20..=30)
                .step_by(5)
                .map(|s| position(0x4840d6, s))
                .collect(),
            ..StoreBatch::default()
        })
        .unwrap();

    // The geometry, as a GIS analyst reads it with psql: entry and exit points in
    // WGS-84, the track as a line of the stored positions in time order.
    let q = |sql: &str| pg.psql("skyfence", &format!("SET search_path = gis, public; {sql}"));
    assert_eq!(
        q(&format!(
            "SELECT ST_AsText(entry_point, 6), ST_AsText(exit_point, 6), ST_SRID(track),
                    ST_NPoints(track), ST_AsText(ST_StartPoint(track), 6),
                    ST_AsText(ST_EndPoint(track), 6)
             FROM incidents WHERE id = '{}'",
            a.id
        ))
        .unwrap(),
        "POINT(69.8813 33.2177)|POINT(69.8889 33.2511)|4326|11|POINT(69.8813 33.18)|POINT(69.8813 33.23)"
    );
    // The query docs/INTERFACES.md shows: incidents entering within 5 km of a point.
    assert_eq!(
        q("SELECT zone, status, to_char(entered AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')
           FROM incidents
           WHERE ST_DWithin(entry_point::geography, ST_SetSRID(ST_MakePoint(69.88, 33.22), 4326)::geography, 5000)
           ORDER BY entered_at")
        .unwrap(),
        "HELD-A|closed|2023-11-14 22:13:20\nAF|open|2023-11-14 22:13:40"
    );
    // An open incident's line follows new positions; one point is no line.
    let line = |id: &str| {
        q(&format!(
            "SELECT coalesce(ST_NPoints(track), 0) FROM incidents WHERE id = '{id}'"
        ))
    };
    assert_eq!(line(&b.id.to_string()).unwrap(), "0");
    store
        .apply(&StoreBatch {
            positions: vec![position(0x484fde, 21)],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(line(&b.id.to_string()).unwrap(), "0");
    store
        .apply(&StoreBatch {
            positions: vec![position(0x484fde, 22), position(0x484fde, 23)],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(line(&b.id.to_string()).unwrap(), "3");
    // Later positions extend the line (in time order within a batch).
    store
        .apply(&StoreBatch {
            positions: vec![position(0x484fde, 25), position(0x484fde, 24)],
            ..StoreBatch::default()
        })
        .unwrap();
    assert_eq!(line(&b.id.to_string()).unwrap(), "5");
    assert_eq!(
        q(&format!(
            "SELECT ST_AsText(ST_EndPoint(track), 6) FROM incidents WHERE id = '{}'",
            b.id
        ))
        .unwrap(),
        "POINT(69.8813 33.225)"
    );

    // The server restarts (a crash: immediate stop) under the writer: the write in
    // between fails as transient, the next one reconnects and stores; nothing is lost.
    pg.stop().unwrap();
    let c = open_incident(0x000001, "AF", 50);
    let batch = StoreBatch {
        events: vec![confirmed(&c)],
        ..StoreBatch::default()
    };
    let down = store.apply(&batch).unwrap_err();
    assert!(down.is_transient(), "{down:?}");
    pg.start().unwrap();
    let applied = store.apply(&batch).unwrap();
    assert_eq!(applied.event_seqs, vec![Some(4)]);
    assert_eq!(store.last_seq().unwrap(), 4);
    assert_eq!(store.events_since(0, 10).unwrap().len(), 4);

    // A database that holds other tables where ours would go is refused, not altered.
    q("CREATE SCHEMA other; CREATE TABLE other.incidents (x int)").unwrap();
    let other = url.replace("search_path%3Dgis", "search_path%3Dother");
    let e = PgStore::open_with(&other, StoreOptions::default()).unwrap_err();
    assert!(matches!(e, StoreError::NotSkyfence { .. }), "{e}");
    // A server nobody listens on names the store and the reason.
    let e = skyfence_store::open(
        &StoreUrl::parse("postgres://skyfence@127.0.0.1:1/skyfence").unwrap(),
        StoreOptions::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.starts_with("cannot open store postgres://skyfence@127.0.0.1:1/skyfence:"),
        "{e}"
    );
    // A database that does not exist: the server's own message.
    let e = PgStore::open_with(&pg.url("nosuchdb"), StoreOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("database \"nosuchdb\" does not exist"), "{e}");
}
