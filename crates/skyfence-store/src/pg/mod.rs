//! [`PgStore`]: the [`Store`] in a PostgreSQL database with PostGIS (`postgres://` store
//! URLs, cargo feature `postgres`). The only module (with its evidence and delivery parts)
//! that sees `tokio_postgres`; its errors become backend-neutral [`StoreError`]s in
//! [`pg_err`].
//!
//! # Promises, as SQLite's
//!
//! Every write is one transaction that first takes one transaction-scoped advisory lock
//! (`pg_advisory_xact_lock`, the key [`WRITE_LOCK`]): writers queue as SQLite's `BEGIN
//! IMMEDIATE` makes them, so the evidence log's size is read inside the lock (two
//! connections never give two leaves one index) and event sequence numbers are given and
//! committed in one order (a reader following `events_since` never sees seq 8 before seq
//! 7 commits). Readers are separate connections in read-only mode; PostgreSQL's MVCC lets
//! them read the last committed state without blocking the writers. The same conformance
//! suite runs on both backends (`tests/conformance_pg.rs` against a real server).
//!
//! # Connections
//!
//! A `PgStore` is one connection. The trait's model (one connection per writing task, one
//! per API reader worker, each opened with [`Store::writer`] / [`Store::reader`]) is the
//! pool: no connection is shared between threads. A connection the server dropped (a
//! restart) is replaced at the next call; the failed call returns a transient error
//! ([`StoreError::is_transient`]) so the writer applies its batch again (idempotent).
//!
//! # Geometry
//!
//! `incidents.entry_point`, `exit_point` (PostGIS `Point`, SRID 4326) and `track` (the
//! target's positions over the incident's window as a `LineString`, kept current while the
//! incident is open) let GIS tools query incidents directly, e.g.
//! `SELECT id, zone, ST_Length(track::geography) FROM incidents WHERE
//! ST_DWithin(entry_point::geography, ST_MakePoint(71.1, 34.0)::geography, 20000)`.

mod delivery;
mod evidence;
mod schema;

use std::cell::{Ref, RefCell};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use skyfence_core::detect::{Incident, IncidentId, IncidentStatus, Report};
use skyfence_core::{Protocol, RawRecord, Signal, Timestamp};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

pub use schema::SCHEMA_VERSION as PG_SCHEMA_VERSION;

use crate::model::EventRepr;
use crate::schema::APPLICATION_ID;
use crate::sqlite::{classification_str, dedup_key, event_target, signal_columns, status_str};
use crate::{
    Ack, Applied, Durability, FrameRecord, IncidentDetail, IncidentFilter, IncidentStore, Purged,
    ResumePoint, Store, StoreBatch, StoreError, StoreOptions, StoredEvent, TrackPoint,
};

/// The advisory lock every write transaction takes (skyfence's application id, `"SKYF"`).
pub const WRITE_LOCK: i64 = APPLICATION_ID;

type Params<'a> = [&'a (dyn ToSql + Sync)];

/// The runtime that drives every connection's socket: one worker thread for the whole
/// process. Callers wait for their queries with futures' executor, which (unlike a tokio
/// runtime's `block_on`) works on any thread, also inside the service's own runtime.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("skyfence-pg")
            .enable_all()
            .build()
            .expect("cannot start the PostgreSQL client's runtime thread")
    })
}

/// Waits for `f` on the calling thread.
fn wait<F: Future>(f: F) -> F::Output {
    futures_executor::block_on(f)
}

/// Checks a `postgres://` (or `postgresql://`) URL: parsable, and no TLS demanded (this
/// build speaks plain TCP: run the store on the host, over loopback, or through a tunnel).
pub fn check_url(url: &str) -> Result<(), String> {
    let config = tokio_postgres::Config::from_str(url).map_err(|e| describe(&e))?;
    if config.get_ssl_mode() == tokio_postgres::config::SslMode::Require {
        return Err(
            "sslmode=require: this build connects without TLS (use sslmode=disable or prefer, over loopback or a tunnel)"
                .into(),
        );
    }
    if config.get_hosts().is_empty() {
        return Err("no host (expected postgres://USER@HOST:PORT/DATABASE)".into());
    }
    Ok(())
}

/// The URL as messages print it: without the password (and its query parameters, which
/// may hold one).
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}@{host}")
        }
        None => format!("{scheme}://{rest}"),
    }
}

/// Turns the driver's error into the backend-neutral kind: a lock wait past the busy
/// timeout, a serialisation failure, a deadlock or a lost connection is
/// [`StoreError::Busy`] (worth trying again), anything else [`StoreError::Backend`].
pub(crate) fn pg_err(store: &str, op: &'static str, e: tokio_postgres::Error) -> StoreError {
    let store = store.to_string();
    let reason = describe(&e);
    let transient = match e.code() {
        Some(code) => [
            SqlState::LOCK_NOT_AVAILABLE,
            SqlState::T_R_SERIALIZATION_FAILURE,
            SqlState::T_R_DEADLOCK_DETECTED,
            SqlState::ADMIN_SHUTDOWN,
            SqlState::CANNOT_CONNECT_NOW,
        ]
        .contains(code),
        // The connection broke (the server restarted, the network): the next call
        // reconnects.
        None => {
            e.is_closed()
                || std::error::Error::source(&e)
                    .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
        }
    };
    if transient {
        StoreError::Busy { store, op, reason }
    } else {
        StoreError::Backend { store, op, reason }
    }
}

/// The server's message (with its detail and hint), or the driver's error and its cause.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(&format!(" ({d})"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; hint: {h}"));
        }
        return s;
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Prepared statements of one connection, by their text: prepared once, then each call
/// is one round trip.
#[derive(Default)]
pub(crate) struct Statements(RefCell<HashMap<&'static str, Statement>>);

impl Statements {
    pub(crate) async fn get(
        &self,
        c: &Client,
        sql: &'static str,
    ) -> Result<Statement, tokio_postgres::Error> {
        if let Some(s) = self.0.borrow().get(sql) {
            return Ok(s.clone());
        }
        let s = c.prepare(sql).await?;
        self.0.borrow_mut().insert(sql, s.clone());
        Ok(s)
    }

    fn clear(&self) {
        self.0.borrow_mut().clear();
    }
}

/// The PostgreSQL incident store: one connection.
pub struct PgStore {
    client: RefCell<Client>,
    url: Arc<str>,
    location: Arc<str>,
    options: StoreOptions,
    read_only: bool,
    stmts: Statements,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

/// Incident update as in SQLite (never moves a final or newer stored version back), with
/// the entry and exit points as geometry.
const UPSERT_INCIDENT: &str = "
INSERT INTO incidents (id, zone, target, status, authorised, classification, entered_at,
                       exited_at, last_seen_at, json, entry_point, exit_point)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,
        ST_SetSRID(ST_MakePoint($11, $12), 4326), ST_SetSRID(ST_MakePoint($13, $14), 4326))
ON CONFLICT (id) DO UPDATE SET
    zone = excluded.zone, target = excluded.target, status = excluded.status,
    authorised = excluded.authorised, classification = excluded.classification,
    entered_at = excluded.entered_at, exited_at = excluded.exited_at,
    last_seen_at = excluded.last_seen_at, json = excluded.json,
    entry_point = excluded.entry_point, exit_point = excluded.exit_point
WHERE incidents.status = 'open'
  AND (excluded.status <> 'open' OR excluded.last_seen_at >= incidents.last_seen_at)";

async fn connect(url: &str, location: &str) -> Result<Client, StoreError> {
    let open_err = |reason: String| StoreError::Open {
        store: location.to_string(),
        reason,
    };
    let config = tokio_postgres::Config::from_str(url).map_err(|e| open_err(e.to_string()))?;
    let (client, connection) = runtime()
        .spawn(async move { config.connect(NoTls).await })
        .await
        .map_err(|e| open_err(e.to_string()))?
        .map_err(|e| open_err(describe(&e)))?;
    let location = location.to_string();
    runtime().spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(store = %location, "PostgreSQL connection ended: {}", describe(&e));
        }
    });
    Ok(client)
}

impl PgStore {
    /// Opens the store at `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, the
    /// libpq URL forms; `?options=-csearch_path%3Dmyschema` puts the tables in another
    /// schema): connects, installs PostGIS if the database lacks it (which needs the right
    /// to create extensions), and migrates the schema to [`PG_SCHEMA_VERSION`].
    pub fn open_with(url: &str, options: StoreOptions) -> Result<Self, StoreError> {
        let location: Arc<str> = Arc::from(redact(url));
        check_url(url).map_err(|reason| StoreError::Url {
            url: location.to_string(),
            reason,
        })?;
        let mut store = Self::connect_as(Arc::from(url), location, options, false)?;
        wait(migrate(store.client.get_mut(), &store.location))?;
        Ok(store)
    }

    fn connect_as(
        url: Arc<str>,
        location: Arc<str>,
        options: StoreOptions,
        read_only: bool,
    ) -> Result<Self, StoreError> {
        let client = wait(connect(&url, &location))?;
        let store = PgStore {
            client: RefCell::new(client),
            url,
            location,
            options,
            read_only,
            stmts: Statements::default(),
        };
        wait(store.session_settings(&store.client.borrow()))?;
        Ok(store)
    }

    /// Per-connection settings: commit durability, the lock wait, read-only readers.
    async fn session_settings(&self, c: &Client) -> Result<(), StoreError> {
        let sync = match self.options.durability {
            Durability::Full => "on",
            Durability::Normal => "off",
        };
        let mut sql = format!(
            "SET synchronous_commit = {sync}; SET lock_timeout = '{}ms';",
            self.options.busy_timeout.as_millis().max(1)
        );
        if self.read_only {
            sql.push_str(" SET default_transaction_read_only = on;");
        }
        c.batch_execute(&sql).await.map_err(|e| StoreError::Open {
            store: self.location.to_string(),
            reason: describe(&e),
        })
    }

    /// The connection, replaced first when the server dropped it (a restart).
    fn client(&self) -> Result<Ref<'_, Client>, StoreError> {
        if self.client.borrow().is_closed() {
            // Still down: worth trying again later, like a lock wait.
            let transient = |e: StoreError| StoreError::Busy {
                store: self.location.to_string(),
                op: "reconnect",
                reason: match e {
                    StoreError::Open { reason, .. } => reason,
                    other => other.to_string(),
                },
            };
            let fresh = wait(connect(&self.url, &self.location)).map_err(transient)?;
            wait(self.session_settings(&fresh)).map_err(transient)?;
            self.stmts.clear();
            *self.client.borrow_mut() = fresh;
            tracing::info!(store = %self.location, "reconnected to PostgreSQL");
        }
        Ok(self.client.borrow())
    }

    /// The connection for a write transaction (reconnected first when needed).
    fn client_mut(&mut self) -> Result<(&mut Client, &Statements, &str), StoreError> {
        drop(self.client()?);
        Ok((self.client.get_mut(), &self.stmts, &self.location))
    }

    /// The options it was opened with.
    pub fn options(&self) -> StoreOptions {
        self.options
    }

    pub(crate) fn err(
        &self,
        op: &'static str,
    ) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        move |e| pg_err(&self.location, op, e)
    }

    pub(crate) fn corrupt(
        &self,
        table: &'static str,
        key: impl ToString,
        reason: impl ToString,
    ) -> StoreError {
        StoreError::Corrupt {
            store: self.location.to_string(),
            table,
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    fn pre_entry_us(&self) -> i64 {
        i64::try_from(self.options.pre_entry.as_micros()).unwrap_or(i64::MAX)
    }

    /// One query on this connection (reads).
    pub(crate) fn query(
        &self,
        op: &'static str,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<Vec<Row>, StoreError> {
        let c = self.client()?;
        wait(async {
            let st = self.stmts.get(&c, sql).await?;
            c.query(&st, params).await
        })
        .map_err(self.err(op))
    }

    /// One statement in its own transaction (autocommit); rows affected.
    pub(crate) fn execute(
        &self,
        op: &'static str,
        sql: &'static str,
        params: &Params<'_>,
    ) -> Result<u64, StoreError> {
        let c = self.client()?;
        wait(async {
            let st = self.stmts.get(&c, sql).await?;
            c.execute(&st, params).await
        })
        .map_err(self.err(op))
    }

    fn decode_incident(&self, key: &str, json: &str) -> Result<Incident, StoreError> {
        serde_json::from_str(json).map_err(|e| self.corrupt("incidents", key, e))
    }

    pub(crate) fn load_incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        let key = id.to_string();
        let rows = self.query(
            "read incident",
            "SELECT json FROM incidents WHERE id = $1",
            &[&key],
        )?;
        rows.first()
            .map(|r| self.decode_incident(&key, r.get(0)))
            .transpose()
    }

    /// The window of a target's track and frames that belongs to `incident` (as SQLite's).
    pub(crate) fn window(&self, incident: &Incident) -> Result<(i64, i64), StoreError> {
        let c = self.client()?;
        wait(window(&c, &self.stmts, incident, self.pre_entry_us()))
            .map_err(self.err("read an incident's window"))
    }

    fn positions_between(
        &self,
        target: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<TrackPoint>, StoreError> {
        let rows = self.query(
            "read positions",
            "SELECT at, lat, lon, alt_ft FROM positions
             WHERE target = $1 AND at BETWEEN $2 AND $3 ORDER BY at",
            &[&target, &lo, &hi],
        )?;
        Ok(rows.iter().map(track_point).collect())
    }
}

/// Installs PostGIS when missing and migrates the schema (see `schema`).
async fn migrate(client: &mut Client, location: &str) -> Result<(), StoreError> {
    let location = location.to_string();
    let open_err = |e: tokio_postgres::Error| StoreError::Open {
        store: location.clone(),
        reason: describe(&e),
    };
    let postgis: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'postgis')",
            &[],
        )
        .await
        .map_err(open_err)?
        .get(0);
    if !postgis
        && let Err(e) = client
            .batch_execute("CREATE EXTENSION IF NOT EXISTS postgis")
            .await
    {
        return Err(StoreError::Open {
            store: location.clone(),
            reason: format!(
                "PostGIS is not installed in this database and this user cannot install it ({}): \
                     have an administrator run CREATE EXTENSION postgis; in it (Debian package postgresql-15-postgis-3)",
                describe(&e)
            ),
        });
    }
    let tx = client.transaction().await.map_err(open_err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .await
        .map_err(open_err)?;
    let row = tx
        .query_one(
            "SELECT to_regclass('skyfence_meta') IS NOT NULL,
                        to_regclass('incidents') IS NOT NULL",
            &[],
        )
        .await
        .map_err(open_err)?;
    let (has_meta, has_incidents): (bool, bool) = (row.get(0), row.get(1));
    let mut version = 0;
    if has_meta {
        let rows = tx
            .query(
                "SELECT key, value FROM skyfence_meta
                     WHERE key IN ('application_id', 'schema_version')",
                &[],
            )
            .await
            .map_err(open_err)?;
        let meta: HashMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let app = meta.get("application_id").copied().unwrap_or(0);
        if app != APPLICATION_ID {
            return Err(StoreError::NotSkyfence {
                store: location,
                found: app,
                expected: APPLICATION_ID,
            });
        }
        version = meta.get("schema_version").copied().unwrap_or(0);
    } else if has_incidents {
        // Tables of some other application where ours would go.
        return Err(StoreError::NotSkyfence {
            store: location,
            found: 0,
            expected: APPLICATION_ID,
        });
    }
    if version > PG_SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            store: location,
            found: version,
            supported: PG_SCHEMA_VERSION,
        });
    }
    for sql in schema::MIGRATIONS.iter().skip(version.max(0) as usize) {
        tx.batch_execute(sql).await.map_err(open_err)?;
    }
    if version < PG_SCHEMA_VERSION {
        tx.execute(
            "INSERT INTO skyfence_meta (key, value)
                 VALUES ('application_id', $1), ('schema_version', $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&APPLICATION_ID, &PG_SCHEMA_VERSION],
        )
        .await
        .map_err(open_err)?;
    }
    tx.commit().await.map_err(open_err)
}

/// The window of `incident`'s track: from `pre_us` before its entry to the event that
/// ended it (see the SQLite backend's `window`, the same rule).
async fn window(
    c: &Client,
    stmts: &Statements,
    incident: &Incident,
    pre_us: i64,
) -> Result<(i64, i64), tokio_postgres::Error> {
    let lo = incident.entered_at.as_micros().saturating_sub(pre_us);
    let hi = match incident.status {
        IncidentStatus::Open => i64::MAX,
        IncidentStatus::Closed | IncidentStatus::Lost => {
            let st = stmts
                .get(
                    c,
                    "SELECT max(at) FROM events
                     WHERE incident_id = $1 AND kind IN ('closed', 'lost')",
                )
                .await?;
            let ended_at: Option<i64> = c.query_one(&st, &[&incident.id.to_string()]).await?.get(0);
            let last = incident
                .exited_at
                .unwrap_or(incident.last_seen_at)
                .max(incident.last_seen_at)
                .as_micros()
                .saturating_add(999);
            ended_at.map_or(last, |e| e.max(last))
        }
    };
    Ok((lo, hi))
}

fn track_point(r: &Row) -> TrackPoint {
    TrackPoint {
        at: Timestamp::from_micros(r.get(0)),
        lat: r.get(1),
        lon: r.get(2),
        alt_ft: r.get(3),
    }
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Why a write transaction failed: the driver's error, or one of the store's own (a
/// leaf that does not encode, a broken tree).
pub(crate) enum TxError {
    Pg(tokio_postgres::Error),
    Store(StoreError),
}

impl From<tokio_postgres::Error> for TxError {
    fn from(e: tokio_postgres::Error) -> Self {
        TxError::Pg(e)
    }
}

impl TxError {
    pub(crate) fn into_store(self, location: &str, op: &'static str) -> StoreError {
        match self {
            TxError::Pg(e) => pg_err(location, op, e),
            TxError::Store(e) => e,
        }
    }
}

/// Begins a write: the transaction and the writers' lock.
pub(crate) async fn begin_write(
    client: &mut Client,
) -> Result<tokio_postgres::Transaction<'_>, tokio_postgres::Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .await?;
    Ok(tx)
}

async fn upsert_incident(
    c: &Client,
    stmts: &Statements,
    i: &Incident,
    json: &str,
) -> Result<u64, tokio_postgres::Error> {
    let st = stmts.get(c, UPSERT_INCIDENT).await?;
    let (exit_lon, exit_lat) = match &i.exit {
        Some(x) => (Some(x.lon), Some(x.lat)),
        None => (None, None),
    };
    c.execute(
        &st,
        &[
            &i.id.to_string(),
            &i.zone,
            &i.target.id.key(),
            &status_str(i.status),
            &i.authorised,
            &classification_str(i.classification),
            &i.entered_at.as_micros(),
            &i.exited_at.map(Timestamp::as_micros),
            &i.last_seen_at.as_micros(),
            &json,
            &i.entry.lon,
            &i.entry.lat,
            &exit_lon,
            &exit_lat,
        ],
    )
    .await
}

/// The JSON of a batch, encoded before the transaction.
struct Encoded<'b> {
    events: Vec<(String, Option<String>)>,
    snapshots: Vec<(&'b Incident, String)>,
}

fn encode_batch<'b>(batch: &'b StoreBatch, location: &str) -> Result<Encoded<'b>, StoreError> {
    let enc = |what: &'static str, e: serde_json::Error| StoreError::Encode {
        store: location.to_string(),
        what,
        reason: e.to_string(),
    };
    let mut events = Vec::with_capacity(batch.events.len());
    for e in &batch.events {
        let json = serde_json::to_string(e).map_err(|x| enc("event", x))?;
        let incident = e
            .incident()
            .map(|i| serde_json::to_string(i).map_err(|x| enc("incident", x)))
            .transpose()?;
        events.push((json, incident));
    }
    let mut snapshots = Vec::new();
    for i in batch
        .snapshots
        .iter()
        .filter(|i| i.status == IncidentStatus::Open)
    {
        snapshots.push((i, serde_json::to_string(i).map_err(|x| enc("incident", x))?));
    }
    Ok(Encoded { events, snapshots })
}

/// The key of a raw record row.
type FrameKey = (String, i64, String, i16, Vec<u8>);

async fn apply_in(
    tx: &tokio_postgres::Transaction<'_>,
    stmts: &Statements,
    batch: &StoreBatch,
    encoded: &Encoded<'_>,
    pre_us: i64,
    appender: &mut evidence::Appender,
) -> Result<Applied, TxError> {
    let c = tx.client();
    let mut applied = Applied {
        event_seqs: Vec::with_capacity(batch.events.len()),
        ..Applied::default()
    };
    // Incidents whose stored track line is recomputed (an event changed their window).
    let mut touched: Vec<IncidentId> = Vec::new();
    // Positions this batch stored: target, time, lat, lon.
    let mut new_positions: (Vec<String>, Vec<i64>, Vec<f64>, Vec<f64>) = Default::default();
    let mut last_seq: Option<i64> = None;
    for (e, (json, incident_json)) in batch.events.iter().zip(&encoded.events) {
        let dedup = dedup_key(e);
        let st = stmts
            .get(c, "SELECT 1 FROM events WHERE dedup = $1")
            .await?;
        if c.query_opt(&st, &[&dedup]).await?.is_some() {
            applied.event_seqs.push(None);
            continue;
        }
        let seq = match last_seq {
            Some(s) => s + 1,
            None => {
                let st = stmts
                    .get(
                        c,
                        "SELECT value FROM skyfence_meta WHERE key = 'last_event_seq'",
                    )
                    .await?;
                let s: i64 = c.query_one(&st, &[]).await?.get(0);
                s + 1
            }
        };
        last_seq = Some(seq);
        let st = stmts
            .get(
                c,
                "INSERT INTO events (seq, dedup, kind, at, zone, target, incident_id, json)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .await?;
        c.execute(
            &st,
            &[
                &seq,
                &dedup,
                &e.kind(),
                &e.at().as_micros(),
                &e.zone(),
                &event_target(e).key(),
                &e.incident().map(|i| i.id.to_string()),
                json,
            ],
        )
        .await?;
        applied.event_seqs.push(Some(to_u64(seq)));
        if let (Some(i), Some(ij)) = (e.incident(), incident_json) {
            upsert_incident(c, stmts, i, ij).await?;
            appender.incident_change(c, stmts, e, i, ij).await?;
            touched.push(i.id);
        }
    }
    if let Some(seq) = last_seq {
        let st = stmts
            .get(
                c,
                "UPDATE skyfence_meta SET value = $1 WHERE key = 'last_event_seq'",
            )
            .await?;
        c.execute(&st, &[&seq]).await?;
    }
    for (i, json) in &encoded.snapshots {
        upsert_incident(c, stmts, i, json).await?;
    }
    if !batch.positions.is_empty() {
        let mut targets = Vec::with_capacity(batch.positions.len());
        let mut at = Vec::with_capacity(batch.positions.len());
        let mut lat = Vec::with_capacity(batch.positions.len());
        let mut lon = Vec::with_capacity(batch.positions.len());
        let mut alt = Vec::with_capacity(batch.positions.len());
        for p in &batch.positions {
            targets.push(p.target.key());
            at.push(p.point.at.as_micros());
            lat.push(p.point.lat);
            lon.push(p.point.lon);
            alt.push(p.point.alt_ft);
        }
        let st = stmts
            .get(
                c,
                "INSERT INTO positions (target, at, lat, lon, alt_ft)
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::float8[], $4::float8[], $5::int4[])
                 ON CONFLICT DO NOTHING
                 RETURNING target, at, lat, lon",
            )
            .await?;
        let rows = c.query(&st, &[&targets, &at, &lat, &lon, &alt]).await?;
        applied.positions = rows.len();
        for r in &rows {
            new_positions.0.push(r.get(0));
            new_positions.1.push(r.get(1));
            new_positions.2.push(r.get(2));
            new_positions.3.push(r.get(3));
        }
    }
    if !batch.frames.is_empty() {
        let n = batch.frames.len();
        let (mut targets, mut at, mut source, mut proto) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut bytes, mut level, mut dbm, mut mlat) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for f in &batch.frames {
            let (l, d) = signal_columns(f.record.signal);
            targets.push(f.target.key());
            at.push(f.at.as_micros());
            source.push(&*f.source);
            proto.push(i16::from(f.record.proto.code()));
            bytes.push(f.record.data());
            level.push(l.map(i16::from));
            dbm.push(d.map(i16::from));
            mlat.push(f.record.mlat);
        }
        let st = stmts
            .get(
                c,
                "INSERT INTO frames (target, at, source, protocol, bytes, signal, dbm, mlat)
                 SELECT * FROM unnest($1::text[], $2::int8[], $3::text[], $4::int2[],
                                      $5::bytea[], $6::int2[], $7::int2[], $8::bool[])
                 ON CONFLICT DO NOTHING
                 RETURNING target, at, source, protocol, bytes",
            )
            .await?;
        let rows = c
            .query(
                &st,
                &[&targets, &at, &source, &proto, &bytes, &level, &dbm, &mlat],
            )
            .await?;
        applied.frames = rows.len();
        if !rows.is_empty() {
            let mut new: HashSet<FrameKey> = rows
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
                .collect();
            // In batch order, each newly stored row once (a record twice in one batch is
            // one row).
            for (k, f) in batch.frames.iter().enumerate() {
                let key: FrameKey = (
                    targets[k].clone(),
                    at[k],
                    source[k].to_string(),
                    proto[k],
                    bytes[k].to_vec(),
                );
                if new.remove(&key) {
                    appender.raw_record(c, stmts, f).await?;
                }
            }
        }
    }
    appender.flush(c, stmts).await?;
    touched.sort_unstable();
    touched.dedup();
    for id in &touched {
        update_track(c, stmts, *id, pre_us).await?;
    }
    if !new_positions.0.is_empty() {
        extend_tracks(c, stmts, &new_positions, &touched, pre_us).await?;
    }
    Ok(applied)
}

/// Appends the batch's new positions to the track lines of the open incidents of their
/// targets (in time order, from the incident's window), without reading the whole track
/// again: the cost of a batch does not grow with the length of an incursion. A line not
/// yet made (fewer than two points so far) is computed whole. Positions that arrive out
/// of time order stay where they arrived in the line until the incident's next event
/// recomputes it ([`update_track`]).
async fn extend_tracks(
    c: &Client,
    stmts: &Statements,
    new: &(Vec<String>, Vec<i64>, Vec<f64>, Vec<f64>),
    recomputed: &[IncidentId],
    pre_us: i64,
) -> Result<(), tokio_postgres::Error> {
    let skip: Vec<String> = recomputed.iter().map(ToString::to_string).collect();
    let st = stmts
        .get(
            c,
            "WITH p AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::float8[], $4::float8[])
                        AS p(target, at, lat, lon))
             UPDATE incidents i SET track = coalesce(ST_MakeLine(i.track, (
                     SELECT ST_SetSRID(ST_MakeLine(ST_MakePoint(p.lon, p.lat) ORDER BY p.at), 4326)
                     FROM p WHERE p.target = i.target AND p.at >= i.entered_at - $5)), i.track)
             WHERE i.status = 'open' AND i.track IS NOT NULL AND i.target = ANY($1)
               AND NOT (i.id = ANY($6))",
        )
        .await?;
    c.execute(&st, &[&new.0, &new.1, &new.2, &new.3, &pre_us, &skip])
        .await?;
    let st = stmts
        .get(
            c,
            "SELECT id FROM incidents
             WHERE status = 'open' AND track IS NULL AND target = ANY($1) AND NOT (id = ANY($2))",
        )
        .await?;
    for row in c.query(&st, &[&new.0, &skip]).await? {
        let id: &str = row.get(0);
        if let Ok(id) = id.parse::<IncidentId>() {
            update_track(c, stmts, id, pre_us).await?;
        }
    }
    Ok(())
}

/// Recomputes an incident's track line from its positions over its window.
async fn update_track(
    c: &Client,
    stmts: &Statements,
    id: IncidentId,
    pre_us: i64,
) -> Result<(), tokio_postgres::Error> {
    let st = stmts
        .get(c, "SELECT json FROM incidents WHERE id = $1")
        .await?;
    let Some(row) = c.query_opt(&st, &[&id.to_string()]).await? else {
        return Ok(());
    };
    let Ok(incident) = serde_json::from_str::<Incident>(row.get(0)) else {
        return Ok(()); // reported as corrupt by every reader of the row
    };
    let (lo, hi) = window(c, stmts, &incident, pre_us).await?;
    let st = stmts
        .get(
            c,
            "UPDATE incidents SET track = (
                 SELECT CASE WHEN count(*) >= 2 THEN
                     ST_SetSRID(ST_MakeLine(ST_MakePoint(lon, lat) ORDER BY at), 4326) END
                 FROM positions p
                 WHERE p.target = incidents.target AND p.at BETWEEN $2 AND $3)
             WHERE id = $1",
        )
        .await?;
    c.execute(&st, &[&id.to_string(), &lo, &hi]).await?;
    Ok(())
}

impl IncidentStore for PgStore {
    fn apply(&mut self, batch: &StoreBatch) -> Result<Applied, StoreError> {
        let pre_us = self.pre_entry_us();
        let (client, stmts, location) = self.client_mut()?;
        let encoded = encode_batch(batch, location)?;
        let err = |e| pg_err(location, "apply batch", e);
        wait(async {
            let tx = begin_write(client).await.map_err(err)?;
            let mut appender = evidence::Appender::new(location);
            let applied = apply_in(&tx, stmts, batch, &encoded, pre_us, &mut appender)
                .await
                .map_err(|e| e.into_store(location, "apply batch"))?;
            tx.commit().await.map_err(err)?;
            Ok(applied)
        })
    }

    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
        // One statement for every filter: `$n IS NULL OR ...` conditions. PostgreSQL
        // plans a prepared statement's parameters per call for its first five calls and
        // then only if a generic plan is not worse, so the indexes still serve.
        let status = filter.status.map(status_str);
        let target = filter.target.map(|t| t.key());
        let since = filter.since.map(Timestamp::as_micros);
        let limit = i64::from(filter.limit.unwrap_or(IncidentFilter::DEFAULT_LIMIT));
        let rows = self.query(
            "list incidents",
            "SELECT id, json FROM incidents
             WHERE ($1::text IS NULL OR status = $1)
               AND ($2::text IS NULL OR zone = $2)
               AND ($3::text IS NULL OR target = $3)
               AND ($4::int8 IS NULL OR last_seen_at >= $4)
             ORDER BY entered_at DESC, id COLLATE \"C\" DESC LIMIT $5",
            &[&status, &filter.zone, &target, &since, &limit],
        )?;
        rows.iter()
            .map(|r| self.decode_incident(r.get(0), r.get(1)))
            .collect()
    }

    fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>, StoreError> {
        let Some(incident) = self.load_incident(id)? else {
            return Ok(None);
        };
        let (lo, hi) = self.window(&incident)?;
        let positions = self.positions_between(&incident.target.id.key(), lo, hi)?;
        Ok(Some(IncidentDetail {
            incident,
            positions,
        }))
    }

    fn incident_frames(&self, id: IncidentId) -> Result<Option<Vec<FrameRecord>>, StoreError> {
        let Some(incident) = self.load_incident(id)? else {
            return Ok(None);
        };
        let (lo, hi) = self.window(&incident)?;
        let target = incident.target.id;
        let rows = self.query(
            "read frames",
            "SELECT at, source, protocol, bytes, signal, dbm, mlat FROM frames
             WHERE target = $1 AND at BETWEEN $2 AND $3
             ORDER BY at, source COLLATE \"C\", protocol, bytes",
            &[&target.key(), &lo, &hi],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        let mut source: Arc<str> = Arc::from("");
        for r in &rows {
            let at: i64 = r.get(0);
            let src: &str = r.get(1);
            let code: i16 = r.get(2);
            let bytes: &[u8] = r.get(3);
            let level: Option<i16> = r.get(4);
            let dbm: Option<i16> = r.get(5);
            let key = || format!("{}@{at}", target.key());
            let Some(proto) = u8::try_from(code).ok().and_then(Protocol::from_code) else {
                return Err(self.corrupt(
                    "frames",
                    key(),
                    format!(
                        "protocol code {code}, expected 1 (Mode S), 2 (ASTERIX) or 3 (Remote ID)"
                    ),
                ));
            };
            if proto == Protocol::ModeS && bytes.len() != 7 && bytes.len() != 14 {
                return Err(self.corrupt(
                    "frames",
                    key(),
                    format!("frame of {} bytes, expected 7 or 14", bytes.len()),
                ));
            }
            if *source != *src {
                source = Arc::from(src);
            }
            let mut record = RawRecord::new(proto, bytes);
            record.signal =
                match (level, dbm) {
                    (Some(l), _) => Some(Signal::Level(u8::try_from(l).map_err(|_| {
                        self.corrupt("frames", key(), format!("signal level {l}"))
                    })?)),
                    (None, Some(d)) => {
                        Some(Signal::Dbm(i8::try_from(d).map_err(|_| {
                            self.corrupt("frames", key(), format!("signal {d} dBm"))
                        })?))
                    }
                    (None, None) => None,
                };
            record.mlat = r.get(6);
            out.push(FrameRecord {
                target,
                at: Timestamp::from_micros(at),
                source: source.clone(),
                record,
            });
        }
        Ok(Some(out))
    }

    fn open_incidents(&self) -> Result<Vec<ResumePoint>, StoreError> {
        let rows = self.query(
            "list open incidents",
            "SELECT id, json FROM incidents WHERE status = 'open'
             ORDER BY entered_at, zone COLLATE \"C\", id COLLATE \"C\"",
            &[],
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let incident = self.decode_incident(r.get(0), r.get(1))?;
            let last = self.query(
                "list open incidents",
                "SELECT at, lat, lon, alt_ft FROM positions
                 WHERE target = $1 AND at <= $2 ORDER BY at DESC LIMIT 1",
                &[
                    &incident.target.id.key(),
                    &incident.last_seen_at.as_micros(),
                ],
            )?;
            out.push(ResumePoint {
                incident,
                last: last.first().map(|r| Report::from(track_point(r))),
            });
        }
        Ok(out)
    }

    fn events_since(&self, after: u64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = self.query(
            "read events",
            "SELECT seq, json FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&to_i64(after), &i64::from(limit)],
        )?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                let repr: EventRepr =
                    serde_json::from_str(r.get(1)).map_err(|e| self.corrupt("events", seq, e))?;
                Ok(StoredEvent {
                    seq: to_u64(seq),
                    event: repr.into(),
                })
            })
            .collect()
    }

    fn event(&self, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
        let rows = self.query(
            "read event",
            "SELECT json FROM events WHERE seq = $1",
            &[&to_i64(seq)],
        )?;
        rows.first()
            .map(|r| {
                let repr: EventRepr =
                    serde_json::from_str(r.get(0)).map_err(|e| self.corrupt("events", seq, e))?;
                Ok(StoredEvent {
                    seq,
                    event: repr.into(),
                })
            })
            .transpose()
    }

    fn events_after(&self, seq: u64) -> Result<u64, StoreError> {
        let rows = self.query(
            "count events",
            "SELECT count(*) FROM events WHERE seq > $1",
            &[&to_i64(seq)],
        )?;
        Ok(rows.first().map_or(0, |r| to_u64(r.get(0))))
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        let rows = self.query(
            "read last event sequence",
            "SELECT value FROM skyfence_meta WHERE key = 'last_event_seq'",
            &[],
        )?;
        Ok(rows.first().map_or(0, |r| to_u64(r.get(0))))
    }

    fn purge_older_than(&mut self, cut_off: Timestamp) -> Result<Purged, StoreError> {
        let cut = cut_off.as_micros();
        let lead = self.pre_entry_us();
        let (client, _, location) = self.client_mut()?;
        let err = |e| pg_err(location, "purge", e);
        wait(async {
            let tx = begin_write(client).await.map_err(err)?;
            // See the SQLite backend: events some sink has not delivered (or holds as a
            // dead letter) are kept with their incident.
            const ENDED: &str = "SELECT id FROM incidents
                 WHERE status <> 'open' AND coalesce(exited_at, last_seen_at) < $1
                   AND NOT EXISTS (SELECT 1 FROM events e
                       WHERE e.incident_id = incidents.id
                         AND (e.seq > (SELECT coalesce(min(seq), 9223372036854775807)
                                       FROM delivery_cursors)
                              OR e.seq IN (SELECT seq FROM dead_letters)))";
            let ended: Vec<String> = tx
                .query(ENDED, &[&cut])
                .await
                .map_err(err)?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let acks = tx
                .execute("DELETE FROM acks WHERE incident_id = ANY($1)", &[&ended])
                .await
                .map_err(err)?;
            let mut events = tx
                .execute("DELETE FROM events WHERE incident_id = ANY($1)", &[&ended])
                .await
                .map_err(err)?;
            let incidents = tx
                .execute("DELETE FROM incidents WHERE id = ANY($1)", &[&ended])
                .await
                .map_err(err)?;
            events += tx
                .execute(
                    "DELETE FROM events e
                     WHERE e.incident_id IS NULL AND e.at < $1
                       AND NOT (e.seq > (SELECT coalesce(min(seq), 9223372036854775807)
                                         FROM delivery_cursors)
                                OR e.seq IN (SELECT seq FROM dead_letters))",
                    &[&cut],
                )
                .await
                .map_err(err)?;
            let positions = tx
                .execute(
                    "DELETE FROM positions WHERE at < $1 AND NOT EXISTS (
                         SELECT 1 FROM incidents i
                         WHERE i.target = positions.target AND positions.at >= i.entered_at - $2)",
                    &[&cut, &lead],
                )
                .await
                .map_err(err)?;
            let frames = tx
                .execute(
                    "DELETE FROM frames WHERE at < $1 AND NOT EXISTS (
                         SELECT 1 FROM incidents i
                         WHERE i.target = frames.target AND frames.at >= i.entered_at - $2)",
                    &[&cut, &lead],
                )
                .await
                .map_err(err)?;
            evidence::purge(tx.client(), cut, lead).await.map_err(err)?;
            tx.commit().await.map_err(err)?;
            Ok(Purged {
                incidents: incidents as usize,
                events: events as usize,
                positions: positions as usize,
                frames: frames as usize,
                acks: acks as usize,
            })
        })
    }

    fn acknowledge(
        &mut self,
        id: IncidentId,
        at: Timestamp,
        operator: &str,
        note: &str,
    ) -> Result<Option<Ack>, StoreError> {
        let key = id.to_string();
        let (client, stmts, location) = self.client_mut()?;
        let err = |e| pg_err(location, "acknowledge", e);
        wait(async {
            let tx = begin_write(client).await.map_err(err)?;
            let known = tx
                .query_opt("SELECT 1 FROM incidents WHERE id = $1", &[&key])
                .await
                .map_err(err)?
                .is_some();
            if !known {
                return Ok(None);
            }
            let seq: i64 = tx
                .query_one(
                    "INSERT INTO acks (incident_id, at, operator, note)
                     VALUES ($1, $2, $3, $4) RETURNING seq",
                    &[&key, &at.as_micros(), &operator, &note],
                )
                .await
                .map_err(err)?
                .get(0);
            let mut appender = evidence::Appender::new(location);
            let logged: Result<(), TxError> = async {
                appender
                    .ack(tx.client(), stmts, id, at, operator, note)
                    .await?;
                appender.flush(tx.client(), stmts).await
            }
            .await;
            logged.map_err(|e| e.into_store(location, "acknowledge"))?;
            tx.commit().await.map_err(err)?;
            Ok(Some(Ack {
                seq: to_u64(seq),
                incident_id: id,
                at,
                operator: operator.to_string(),
                note: note.to_string(),
            }))
        })
    }

    fn acks(&self, id: IncidentId) -> Result<Vec<Ack>, StoreError> {
        let rows = self.query(
            "read acks",
            "SELECT seq, at, operator, note FROM acks WHERE incident_id = $1 ORDER BY seq",
            &[&id.to_string()],
        )?;
        Ok(rows
            .iter()
            .map(|r| Ack {
                seq: to_u64(r.get(0)),
                incident_id: id,
                at: Timestamp::from_micros(r.get(1)),
                operator: r.get(2),
                note: r.get(3),
            })
            .collect())
    }
}

impl Store for PgStore {
    fn reader(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(PgStore::connect_as(
            self.url.clone(),
            self.location.clone(),
            self.options,
            true,
        )?))
    }

    fn writer(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(PgStore::connect_as(
            self.url.clone(),
            self.location.clone(),
            self.options,
            false,
        )?))
    }

    /// Nothing to do: PostgreSQL's autovacuum and checkpointer run in the server.
    fn maintain(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn location(&self) -> String {
        self.location.to_string()
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        // Commits are durable when they return; dropping the client ends the session.
        Ok(())
    }
}
