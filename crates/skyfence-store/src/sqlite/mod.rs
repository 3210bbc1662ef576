//! [`SqliteStore`]: the [`Store`] in one SQLite file, WAL mode. The only module (with
//! the evidence and delivery parts of the same backend) that sees `rusqlite`; its errors
//! become backend-neutral [`StoreError`]s in [`sql_err`].

mod delivery;
pub(crate) mod evidence;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};
use skyfence_core::detect::{Classification, Event, Incident, IncidentId, IncidentStatus, Report};
use skyfence_core::{Protocol, RawRecord, Signal, TargetId, Timestamp};

use crate::model::EventRepr;
use crate::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};
use crate::{
    Ack, Applied, Durability, FrameRecord, IncidentDetail, IncidentFilter, IncidentStore, Purged,
    ResumePoint, Store, StoreBatch, StoreError, StoreOptions, StoredEvent, TrackPoint,
};

/// Turns SQLite's error into the backend-neutral kind: a lock held past the busy timeout
/// is [`StoreError::Busy`] (worth trying again), anything else [`StoreError::Backend`].
/// The message names the file and the operation.
pub(crate) fn sql_err(path: &Path, op: &'static str, e: rusqlite::Error) -> StoreError {
    let store = path.display().to_string();
    let reason = e.to_string();
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Busy { store, op, reason }
        }
        _ => StoreError::Backend { store, op, reason },
    }
}

/// The SQLite incident store.
///
/// One `SqliteStore` is the writer; [`SqliteStore::reader`] opens read-only connections to
/// the same file for the API. WAL mode lets readers see the last committed batch while the
/// writer commits the next, without blocking each other.
#[derive(Debug)]
pub struct SqliteStore {
    pub(crate) conn: Connection,
    pub(crate) path: Arc<Path>,
    options: StoreOptions,
    /// When emptying the WAL last failed (a reader held an old snapshot past the busy
    /// timeout): not tried again for [`WAL_RETRY_AFTER`].
    wal_failed_at: Mutex<Option<Instant>>,
}

/// How long a writer waits before trying again to empty a WAL it could not, after an
/// attempt that waited for readers.
pub const WAL_RETRY_AFTER: Duration = Duration::from_millis(200);
/// How long a writer emptying a WAL past five eighths of its limit waits for readers of
/// older snapshots (below that it does not wait at all).
pub const WAL_READER_WAIT: Duration = Duration::from_millis(250);
/// An attempt to empty the WAL that fails faster than this did not wait for readers.
const WAL_FAST_FAILURE: Duration = Duration::from_millis(20);

/// Incident update: insert, or replace the stored version unless it is final (closed or
/// lost) or newer than this one. Re-applying an old batch therefore never moves an
/// incident back.
const UPSERT_INCIDENT: &str = "
INSERT INTO incidents (id, zone, target, status, authorised, classification, entered_at,
                       exited_at, last_seen_at, json)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
ON CONFLICT (id) DO UPDATE SET
    zone = excluded.zone, target = excluded.target, status = excluded.status,
    authorised = excluded.authorised, classification = excluded.classification,
    entered_at = excluded.entered_at, exited_at = excluded.exited_at,
    last_seen_at = excluded.last_seen_at, json = excluded.json
WHERE incidents.status = 'open'
  AND (excluded.status <> 'open' OR excluded.last_seen_at >= incidents.last_seen_at)";

impl SqliteStore {
    /// Opens (creating if needed) the store at `path` with [`StoreOptions::default`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, StoreOptions::default())
    }

    /// Opens (creating if needed) the store at `path`: WAL journal, the synchronous level
    /// of `options.durability`, and the schema migrated to [`SCHEMA_VERSION`].
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self, StoreError> {
        let path: Arc<Path> = Arc::from(path.as_ref());
        let open_err = |source: rusqlite::Error| StoreError::Open {
            store: path.display().to_string(),
            reason: source.to_string(),
        };
        let mut conn = Connection::open(&path).map_err(open_err)?;
        conn.busy_timeout(options.busy_timeout).map_err(open_err)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal {
                store: path.display().to_string(),
                mode,
            });
        }
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(open_err)?;
        if !options.auto_checkpoint {
            conn.pragma_update(None, "wal_autocheckpoint", 0)
                .map_err(open_err)?;
        }
        // After a checkpoint that resets the WAL, its file is truncated to this size
        // rather than kept at its high-water mark.
        let _: i64 = conn
            .query_row(
                &format!(
                    "PRAGMA journal_size_limit = {}",
                    i64::try_from(options.wal_limit_bytes).unwrap_or(i64::MAX)
                ),
                [],
                |r| r.get(0),
            )
            .map_err(open_err)?;
        migrate(&mut conn, &path)?;
        Ok(SqliteStore {
            conn,
            path,
            options,
            wal_failed_at: Mutex::new(None),
        })
    }

    /// A read-only connection to the same file, for a reader thread (the HTTP API). It
    /// sees every batch committed before each of its queries starts.
    pub fn reader(&self) -> Result<Self, StoreError> {
        let path = self.path.clone();
        let open_err = |source: rusqlite::Error| StoreError::Open {
            store: path.display().to_string(),
            reason: source.to_string(),
        };
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(self.options.busy_timeout)
            .map_err(open_err)?;
        Ok(SqliteStore {
            conn,
            path,
            options: self.options,
            wal_failed_at: Mutex::new(None),
        })
    }

    /// Closes the connection, reporting a failure to flush (graceful shutdown: the last
    /// connection to close checkpoints the WAL into the database file). Dropping the
    /// store closes it too, silently.
    pub fn close(self) -> Result<(), StoreError> {
        let path = self.path.to_path_buf();
        self.conn
            .close()
            .map_err(|(_, source)| sql_err(&path, "close", source))
    }

    /// Copies committed WAL pages into the database file without waiting for readers
    /// or writers (`PRAGMA wal_checkpoint(PASSIVE)`), for a connection that checkpoints
    /// on behalf of a writer opened with `auto_checkpoint: false`. Returns the WAL's
    /// size and the pages checkpointed, in pages.
    pub fn checkpoint(&self) -> Result<(u64, u64), StoreError> {
        let (_busy, log, done): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(self.err("checkpoint"))?;
        Ok((to_u64(log), to_u64(done)))
    }

    /// Copies the whole WAL into the database file and empties it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`): waits (up to the busy timeout) for the writer's
    /// current transaction and for readers of older snapshots, and holds new writers off
    /// meanwhile, so a stream of commits cannot starve it. Returns whether it completed
    /// (false: a reader still used the WAL when the busy timeout ran out; tried again at
    /// the next call).
    pub fn checkpoint_truncate(&self) -> Result<bool, StoreError> {
        let (busy, _log, _done): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(self.err("checkpoint"))?;
        Ok(busy == 0)
    }

    /// The writer's half of the WAL policy, run after each of its commits: once the WAL
    /// passes half of [`StoreOptions::wal_limit_bytes`], empty it
    /// ([`SqliteStore::checkpoint_truncate`]) if that needs no waiting; past five
    /// eighths, waiting up to [`WAL_READER_WAIT`] for readers; past three quarters,
    /// waiting for it.
    ///
    /// Done by the writer between its own transactions, because a checkpoint on another
    /// connection must win the write lock from a writer that takes it again at once,
    /// and under heavy ingest it never does. The copying is not the writer's: passive
    /// checkpoints on another connection (housekeeping, [`Store::maintain`], run about
    /// ten times a second by the service) copy the WAL into the database file without
    /// blocking anyone, so what is left to the writer is the tail written since the last
    /// of them, the database file's sync and the reset. Below five eighths it never
    /// waits: a reader still on an old snapshot (or another connection's checkpoint)
    /// makes the attempt return at once, and the next commit tries again, so no commit
    /// (and no event behind it) is held up by readers while they come and go. Readers
    /// that always overlap can starve that; then it waits for them a short while (tried
    /// again [`WAL_RETRY_AFTER`] after a wait that failed), and past three quarters as
    /// long as any statement waits for a lock, so the WAL cannot outgrow its limit by
    /// more than the commits readers hold up.
    pub(crate) fn bound_wal(&self) {
        let (wal, limit) = (self.wal_bytes(), self.options.wal_limit_bytes);
        if wal <= limit / 2 {
            return;
        }
        // How long this attempt may wait for readers, and whether a failed wait of
        // that length holds the next attempts off for a while.
        let (wait, held_off) = if wal > limit / 4 * 3 {
            (self.options.busy_timeout, false)
        } else if wal > limit / 8 * 5 {
            (WAL_READER_WAIT, true)
        } else {
            (Duration::ZERO, false)
        };
        let mut failed_at = self
            .wal_failed_at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held_off && failed_at.is_some_and(|t| t.elapsed() < WAL_RETRY_AFTER) {
            return;
        }
        let started = Instant::now();
        let _ = self.conn.busy_timeout(wait);
        let done = self.checkpoint_truncate().unwrap_or(false);
        let _ = self.conn.busy_timeout(self.options.busy_timeout);
        *failed_at = (!done && started.elapsed() >= WAL_FAST_FAILURE).then(Instant::now);
    }

    /// The size of the WAL file on disk, bytes (0 when there is none).
    pub fn wal_bytes(&self) -> u64 {
        let mut wal = self.path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(&wal).map_or(0, |m| m.len())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The options it was opened with.
    pub fn options(&self) -> StoreOptions {
        self.options
    }

    pub(crate) fn err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| sql_err(&self.path, op, source)
    }

    pub(crate) fn corrupt(
        &self,
        table: &'static str,
        key: impl ToString,
        reason: impl ToString,
    ) -> StoreError {
        StoreError::Corrupt {
            store: self.path.display().to_string(),
            table,
            key: key.to_string(),
            reason: reason.to_string(),
        }
    }

    fn pre_entry_us(&self) -> i64 {
        i64::try_from(self.options.pre_entry.as_micros()).unwrap_or(i64::MAX)
    }

    fn decode_incident(&self, key: &str, json: &str) -> Result<Incident, StoreError> {
        serde_json::from_str(json).map_err(|e| self.corrupt("incidents", key, e))
    }

    /// The stored incident `id`, if any.
    pub(crate) fn load_incident(&self, id: IncidentId) -> Result<Option<Incident>, StoreError> {
        let key = id.to_string();
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT json FROM incidents WHERE id = ?1")
            .and_then(|mut st| st.query_row([&key], |r| r.get(0)).optional())
            .map_err(self.err("read incident"))?;
        json.map(|j| self.decode_incident(&key, &j)).transpose()
    }

    /// The window of a target's track and frames that belongs to `incident`.
    pub(crate) fn window(&self, incident: &Incident) -> Result<(i64, i64), StoreError> {
        let lo = incident
            .entered_at
            .as_micros()
            .saturating_sub(self.pre_entry_us());
        let hi = match incident.status {
            IncidentStatus::Open => i64::MAX,
            // Up to the time of the event that ended it: for `closed` the report that
            // showed the target outside (after the interpolated exit; without it nobody
            // re-running detection on the frames could see the incident close), for
            // `lost` the end of the silence. The incident's own times are read back from
            // JSON at millisecond precision, the events' at the microsecond.
            IncidentStatus::Closed | IncidentStatus::Lost => {
                let ended_at: Option<i64> = self
                    .conn
                    .prepare_cached(
                        "SELECT max(at) FROM events
                         WHERE incident_id = ?1 AND kind IN ('closed', 'lost')",
                    )
                    .and_then(|mut st| st.query_row([incident.id.to_string()], |r| r.get(0)))
                    .map_err(self.err("read an incident's window"))?;
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

    fn positions_between(
        &self,
        target: &str,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<TrackPoint>, StoreError> {
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT at, lat, lon, alt_ft FROM positions
                 WHERE target = ?1 AND at BETWEEN ?2 AND ?3 ORDER BY at",
            )
            .map_err(self.err("read positions"))?;
        let rows = st
            .query_map(params![target, lo, hi], track_point)
            .map_err(self.err("read positions"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.err("read positions"))
    }
}

/// Applies the schema migrations the file lacks, each in its own transaction.
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let open_err = |source: rusqlite::Error| StoreError::Open {
        store: path.display().to_string(),
        reason: source.to_string(),
    };
    let app: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(open_err)?;
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(open_err)?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .map_err(open_err)?;
    // A fresh file has neither id nor tables; anything else must be ours.
    if app != APPLICATION_ID && (app != 0 || tables != 0) {
        return Err(StoreError::NotSkyfence {
            store: path.display().to_string(),
            found: app,
            expected: APPLICATION_ID,
        });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            store: path.display().to_string(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        let tx = conn.transaction().map_err(open_err)?;
        tx.execute_batch(sql).map_err(open_err)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .map_err(open_err)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(open_err)?;
        tx.commit().map_err(open_err)?;
    }
    Ok(())
}

fn track_point(r: &rusqlite::Row<'_>) -> rusqlite::Result<TrackPoint> {
    Ok(TrackPoint {
        at: Timestamp::from_micros(r.get(0)?),
        lat: r.get(1)?,
        lon: r.get(2)?,
        alt_ft: r.get(3)?,
    })
}

pub(crate) fn status_str(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Open => "open",
        IncidentStatus::Closed => "closed",
        IncidentStatus::Lost => "lost",
    }
}

pub(crate) fn classification_str(c: Classification) -> &'static str {
    match c {
        Classification::Uav => "uav",
        Classification::Aircraft => "aircraft",
        Classification::Unknown => "unknown",
    }
}

/// The stored form of a target id: [`TargetId::key`] (the ICAO address as printed,
/// `rid:ID`, `trk:SENSOR/NUMBER`), read back with [`TargetId::from_key`].
pub(crate) fn target_key(t: TargetId) -> String {
    t.key()
}

/// The columns `signal` (a receiver's 0-255 level) and `dbm` of a record's signal.
pub(crate) fn signal_columns(s: Option<Signal>) -> (Option<u8>, Option<i8>) {
    match s {
        Some(Signal::Level(l)) => (Some(l), None),
        Some(Signal::Dbm(d)) => (None, Some(d)),
        None => (None, None),
    }
}

/// Writes `incident` with [`UPSERT_INCIDENT`]; the incident JSON is `json`.
fn upsert_incident(tx: &Transaction<'_>, i: &Incident, json: &str) -> rusqlite::Result<usize> {
    tx.prepare_cached(UPSERT_INCIDENT)?.execute(params![
        i.id.to_string(),
        i.zone,
        target_key(i.target.id),
        status_str(i.status),
        i.authorised,
        classification_str(i.classification),
        i.entered_at.as_micros(),
        i.exited_at.map(Timestamp::as_micros),
        i.last_seen_at.as_micros(),
        json,
    ])
}

/// The key that makes an event unique (see the `events` table).
pub(crate) fn dedup_key(e: &Event) -> String {
    match e {
        Event::Approach {
            at, zone, target, ..
        } => format!(
            "approach/{zone}/{}/{}",
            target_key(target.id),
            at.as_micros()
        ),
        _ => match e.incident() {
            Some(i) => format!("{}/{}", i.id, e.kind()),
            None => format!("{}/{}", e.kind(), e.at().as_micros()),
        },
    }
}

pub(crate) fn event_target(e: &Event) -> TargetId {
    match e {
        Event::Approach { target, .. } => target.id,
        Event::Confirmed { incident, .. }
        | Event::Closed { incident, .. }
        | Event::Lost { incident, .. } => incident.target.id,
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl IncidentStore for SqliteStore {
    fn apply(&mut self, batch: &StoreBatch) -> Result<Applied, StoreError> {
        // Encode before the transaction: nothing below can fail but SQLite.
        let mut event_json = Vec::with_capacity(batch.events.len());
        for e in &batch.events {
            let json = serde_json::to_string(e).map_err(|source| StoreError::Encode {
                store: self.path.display().to_string(),
                what: "event",
                reason: source.to_string(),
            })?;
            let incident_json = match e.incident() {
                Some(i) => Some(
                    serde_json::to_string(i).map_err(|source| StoreError::Encode {
                        store: self.path.display().to_string(),
                        what: "incident",
                        reason: source.to_string(),
                    })?,
                ),
                None => None,
            };
            event_json.push((json, incident_json));
        }
        let mut snapshot_json = Vec::with_capacity(batch.snapshots.len());
        for i in batch
            .snapshots
            .iter()
            .filter(|i| i.status == IncidentStatus::Open)
        {
            let json = serde_json::to_string(i).map_err(|source| StoreError::Encode {
                store: self.path.display().to_string(),
                what: "incident",
                reason: source.to_string(),
            })?;
            snapshot_json.push((i, json));
        }

        let path = self.path.clone();
        let err = |source| sql_err(&path, "apply batch", source);
        // IMMEDIATE: the evidence log's size is read inside the write lock (several writers).
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let mut evidence = evidence::Appender::new(&tx, &path);
        let mut applied = Applied {
            event_seqs: Vec::with_capacity(batch.events.len()),
            ..Applied::default()
        };
        {
            let mut insert_event = tx
                .prepare_cached(
                    // Not `INSERT OR IGNORE` alone: an ignored row still advances the
                    // AUTOINCREMENT counter (sqlite_sequence), so a re-applied batch would
                    // leave a gap in the sequence numbers. A row that is not generated
                    // takes no number.
                    "INSERT OR IGNORE INTO events (dedup, kind, at, zone, target, incident_id, json)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7
                     WHERE NOT EXISTS (SELECT 1 FROM events WHERE dedup = ?1)",
                )
                .map_err(err)?;
            for (e, (json, incident_json)) in batch.events.iter().zip(&event_json) {
                let n = insert_event
                    .execute(params![
                        dedup_key(e),
                        e.kind(),
                        e.at().as_micros(),
                        e.zone(),
                        target_key(event_target(e)),
                        e.incident().map(|i| i.id.to_string()),
                        json,
                    ])
                    .map_err(err)?;
                if n == 0 {
                    applied.event_seqs.push(None);
                    continue;
                }
                applied
                    .event_seqs
                    .push(Some(to_u64(tx.last_insert_rowid())));
                if let (Some(i), Some(ij)) = (e.incident(), incident_json) {
                    upsert_incident(&tx, i, ij).map_err(err)?;
                    evidence.incident_change(e, i, ij)?;
                }
            }
            for (i, json) in &snapshot_json {
                upsert_incident(&tx, i, json).map_err(err)?;
            }
            let mut insert_position = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO positions (target, at, lat, lon, alt_ft)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(err)?;
            for p in &batch.positions {
                applied.positions += insert_position
                    .execute(params![
                        target_key(p.target),
                        p.point.at.as_micros(),
                        p.point.lat,
                        p.point.lon,
                        p.point.alt_ft,
                    ])
                    .map_err(err)?;
            }
            let mut insert_frame = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO frames
                         (target, at, source, protocol, bytes, signal, dbm, mlat)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(err)?;
            for f in &batch.frames {
                let (level, dbm) = signal_columns(f.record.signal);
                let stored = insert_frame
                    .execute(params![
                        target_key(f.target),
                        f.at.as_micros(),
                        &*f.source,
                        f.record.proto.code(),
                        f.record.data(),
                        level,
                        dbm,
                        f.record.mlat,
                    ])
                    .map_err(err)?;
                if stored == 1 {
                    evidence.raw_record(f)?;
                }
                applied.frames += stored;
            }
        }
        tx.commit().map_err(err)?;
        self.bound_wal();
        Ok(applied)
    }

    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError> {
        use rusqlite::types::Value;
        let err = self.err("list incidents");
        // Only the conditions given, so SQLite can pick the index that fits (a generic
        // `?1 IS NULL OR ...` statement defeats every index). At most 16 statement shapes,
        // each prepared once.
        // With `since`, the range on `last_seen_at` is the selective part (the API's
        // "what happened lately"), but without statistics SQLite prefers an index that
        // saves the sort and scans every row: name the index.
        let mut sql = String::from(if filter.since.is_some() {
            "SELECT id, json FROM incidents INDEXED BY incidents_by_last_seen WHERE 1"
        } else {
            "SELECT id, json FROM incidents WHERE 1"
        });
        let mut args: Vec<Value> = Vec::with_capacity(5);
        if let Some(s) = filter.status {
            sql.push_str(" AND status = ?");
            args.push(Value::Text(status_str(s).into()));
        }
        if let Some(z) = &filter.zone {
            sql.push_str(" AND zone = ?");
            args.push(Value::Text(z.clone()));
        }
        if let Some(t) = filter.target {
            sql.push_str(" AND target = ?");
            args.push(Value::Text(target_key(t)));
        }
        if let Some(since) = filter.since {
            sql.push_str(" AND last_seen_at >= ?");
            args.push(Value::Integer(since.as_micros()));
        }
        sql.push_str(" ORDER BY entered_at DESC, id DESC LIMIT ?");
        args.push(Value::Integer(i64::from(
            filter.limit.unwrap_or(IncidentFilter::DEFAULT_LIMIT),
        )));
        let mut st = self.conn.prepare_cached(&sql).map_err(&err)?;
        let rows = st
            .query_map(rusqlite::params_from_iter(args), |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(&err)?;
            out.push(self.decode_incident(&id, &json)?);
        }
        Ok(out)
    }

    fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>, StoreError> {
        let Some(incident) = self.load_incident(id)? else {
            return Ok(None);
        };
        let (lo, hi) = self.window(&incident)?;
        let positions = self.positions_between(&target_key(incident.target.id), lo, hi)?;
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
        let err = self.err("read frames");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT at, source, protocol, bytes, signal, dbm, mlat FROM frames
                 WHERE target = ?1 AND at BETWEEN ?2 AND ?3 ORDER BY at, source, protocol, bytes",
            )
            .map_err(&err)?;
        let rows = st
            .query_map(params![target_key(target), lo, hi], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, u8>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, Option<u8>>(4)?,
                    r.get::<_, Option<i8>>(5)?,
                    r.get::<_, bool>(6)?,
                ))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        // Consecutive frames mostly share their source: share its name too.
        let mut source: Arc<str> = Arc::from("");
        for row in rows {
            let (at, src, code, bytes, level, dbm, mlat) = row.map_err(&err)?;
            let key = || format!("{}@{at}", target.key());
            let Some(proto) = Protocol::from_code(code) else {
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
            let mut record = RawRecord::new(proto, &bytes);
            record.signal = match (level, dbm) {
                (Some(l), _) => Some(Signal::Level(l)),
                (None, Some(d)) => Some(Signal::Dbm(d)),
                (None, None) => None,
            };
            record.mlat = mlat;
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
        let err = self.err("list open incidents");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT id, json FROM incidents WHERE status = 'open'
                 ORDER BY entered_at, zone, id",
            )
            .map_err(&err)?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(&err)?;
        let mut open = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(&err)?;
            open.push(self.decode_incident(&id, &json)?);
        }
        let mut last = self
            .conn
            .prepare_cached(
                "SELECT at, lat, lon, alt_ft FROM positions
                 WHERE target = ?1 AND at <= ?2 ORDER BY at DESC LIMIT 1",
            )
            .map_err(&err)?;
        let mut out = Vec::with_capacity(open.len());
        for incident in open {
            let p = last
                .query_row(
                    params![
                        target_key(incident.target.id),
                        incident.last_seen_at.as_micros()
                    ],
                    track_point,
                )
                .optional()
                .map_err(&err)?;
            out.push(ResumePoint {
                incident,
                last: p.map(Report::from),
            });
        }
        Ok(out)
    }

    fn events_since(&self, after: u64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let err = self.err("read events");
        let mut st = self
            .conn
            .prepare_cached("SELECT seq, json FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2")
            .map_err(&err)?;
        let rows = st
            .query_map(params![to_i64(after), limit], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, json) = row.map_err(&err)?;
            let repr: EventRepr =
                serde_json::from_str(&json).map_err(|e| self.corrupt("events", seq, e))?;
            out.push(StoredEvent {
                seq: to_u64(seq),
                event: repr.into(),
            });
        }
        Ok(out)
    }

    /// The stored event `seq`, `None` when there is none (never stored, or purged).
    fn event(&self, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT json FROM events WHERE seq = ?1")
            .and_then(|mut st| st.query_row([to_i64(seq)], |r| r.get(0)).optional())
            .map_err(self.err("read event"))?;
        let Some(json) = json else {
            return Ok(None);
        };
        let repr: EventRepr =
            serde_json::from_str(&json).map_err(|e| self.corrupt("events", seq, e))?;
        Ok(Some(StoredEvent {
            seq,
            event: repr.into(),
        }))
    }

    /// How many stored events have a sequence number above `seq` (a sink's backlog).
    fn events_after(&self, seq: u64) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM events WHERE seq > ?1")
            .and_then(|mut st| st.query_row([to_i64(seq)], |r| r.get(0)))
            .map_err(self.err("count events"))?;
        Ok(to_u64(n))
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        // sqlite_sequence keeps the highest AUTOINCREMENT value even after its row is
        // deleted; it has no row before the first event.
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'events'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.err("read last event sequence"))?;
        Ok(seq.map_or(0, to_u64))
    }

    fn purge_older_than(&mut self, cut_off: Timestamp) -> Result<Purged, StoreError> {
        let cut = cut_off.as_micros();
        let lead = self.pre_entry_us();
        let path = self.path.clone();
        let err = |source| sql_err(&path, "purge", source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        // Alert delivery reads the events table as its outbox: an event some sink's
        // cursor has not passed yet (a webhook down for longer than the retention), or
        // one an operator may retry from the dead letters, is kept with its incident
        // until it has been delivered.
        const UNDELIVERED: &str = "e.seq > (SELECT coalesce(min(seq), 9223372036854775807)
                    FROM delivery_cursors)
             OR e.seq IN (SELECT seq FROM dead_letters)";
        let ended = format!(
            "SELECT id FROM incidents
             WHERE status <> 'open' AND coalesce(exited_at, last_seen_at) < ?1
               AND NOT EXISTS (SELECT 1 FROM events e
                               WHERE e.incident_id = incidents.id AND ({UNDELIVERED}))"
        );
        let acks = tx
            .execute(
                &format!("DELETE FROM acks WHERE incident_id IN ({ended})"),
                [cut],
            )
            .map_err(err)?;
        let mut events = tx
            .execute(
                &format!("DELETE FROM events WHERE incident_id IN ({ended})"),
                [cut],
            )
            .map_err(err)?;
        let incidents = tx
            .execute(
                &format!("DELETE FROM incidents WHERE id IN ({ended})"),
                [cut],
            )
            .map_err(err)?;
        events += tx
            .execute(
                &format!(
                    "DELETE FROM events AS e
                     WHERE e.incident_id IS NULL AND e.at < ?1 AND NOT ({UNDELIVERED})"
                ),
                [cut],
            )
            .map_err(err)?;
        // Every incident left is kept: keep whatever of its target's track lies in its
        // window (from `pre_entry` before its entry on).
        let positions = tx
            .execute(
                "DELETE FROM positions WHERE at < ?1 AND NOT EXISTS (
                     SELECT 1 FROM incidents i
                     WHERE i.target = positions.target AND positions.at >= i.entered_at - ?2)",
                params![cut, lead],
            )
            .map_err(err)?;
        let frames = tx
            .execute(
                "DELETE FROM frames WHERE at < ?1 AND NOT EXISTS (
                     SELECT 1 FROM incidents i
                     WHERE i.target = frames.target AND frames.at >= i.entered_at - ?2)",
                params![cut, lead],
            )
            .map_err(err)?;
        evidence::purge(&tx, cut, lead).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Purged {
            incidents,
            events,
            positions,
            frames,
            acks,
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
        let path = self.path.clone();
        let err = |source| sql_err(&path, "acknowledge", source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let known = tx
            .query_row("SELECT 1 FROM incidents WHERE id = ?1", [&key], |_| Ok(()))
            .optional()
            .map_err(err)?
            .is_some();
        if !known {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO acks (incident_id, at, operator, note) VALUES (?1, ?2, ?3, ?4)",
            params![key, at.as_micros(), operator, note],
        )
        .map_err(err)?;
        let seq = to_u64(tx.last_insert_rowid());
        evidence::Appender::new(&tx, &path).ack(id, at, operator, note)?;
        tx.commit().map_err(err)?;
        Ok(Some(Ack {
            seq,
            incident_id: id,
            at,
            operator: operator.to_string(),
            note: note.to_string(),
        }))
    }

    fn acks(&self, id: IncidentId) -> Result<Vec<Ack>, StoreError> {
        let err = self.err("read acks");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT seq, at, operator, note FROM acks WHERE incident_id = ?1 ORDER BY seq",
            )
            .map_err(&err)?;
        let rows = st
            .query_map([id.to_string()], |r| {
                Ok(Ack {
                    seq: to_u64(r.get(0)?),
                    incident_id: id,
                    at: Timestamp::from_micros(r.get(1)?),
                    operator: r.get(2)?,
                    note: r.get(3)?,
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }
}

impl Store for SqliteStore {
    fn reader(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::reader(self)?))
    }

    fn writer(&self) -> Result<Box<dyn Store>, StoreError> {
        Ok(Box::new(SqliteStore::open_with(&self.path, self.options)?))
    }

    fn maintain(&self) -> Result<(), StoreError> {
        self.checkpoint().map(|_| ())
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn quick_check(&self) -> Result<Vec<String>, StoreError> {
        // At most 20 problems: enough to say what is wrong, never a flood.
        let run = || -> rusqlite::Result<Vec<String>> {
            let mut stmt = self.conn.prepare("PRAGMA quick_check(20)")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            let mut problems = Vec::new();
            for row in rows {
                let line = row?;
                if line != "ok" {
                    problems.push(line);
                }
            }
            Ok(problems)
        };
        match run() {
            Ok(problems) => Ok(problems),
            // Damage bad enough to stop the check is its finding, not a failure to check.
            Err(e)
                if matches!(
                    e.sqlite_error_code(),
                    Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
                ) =>
            {
                Ok(vec![e.to_string()])
            }
            Err(e) => Err(self.err("quick check")(e)),
        }
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        SqliteStore::close(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EvidenceLogStore;
    use skyfence_core::detect::{Fix, TargetInfo};
    use skyfence_core::{GeoPoint, Icao24, RawFrame};
    use skyfence_evidence::{EvidenceLeaf, root_from_leaf_hashes};

    /// `8D4840D6202CC371C32CE0576098` ("The 1090 MHz Riddle", KLM1023 identification).
    const KLM1023: [u8; 14] = [
        0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
    ];
    const T0: i64 = 1_700_000_000_000_000;

    fn incident(t: TargetId) -> Incident {
        let entered_at = Timestamp::from_micros(T0);
        Incident {
            id: IncidentId::derive(t, "AF", entered_at),
            zone: "AF".into(),
            target: TargetInfo {
                id: t,
                callsign: None,
                category: None,
            },
            classification: Classification::Unknown,
            authorised: false,
            permit: None,
            status: IncidentStatus::Open,
            entry_observed: true,
            entered_at,
            exited_at: None,
            last_seen_at: Timestamp::from_micros(T0 + 10_000_000),
            entry: Fix::new(GeoPoint::new(33.2, 69.9), Some(9000)),
            exit: None,
            duration_s: 10.0,
            max_depth_m: 100.0,
            max_alt_ft: Some(9000),
            reports: 3,
            cooperative: None,
            sensors: Vec::new(),
            operator: None,
            remoteid: None,
            verification: None,
        }
    }

    /// The start's quick check finds a damaged page and says where; a sound store passes.
    #[test]
    fn quick_check_finds_a_damaged_page() {
        use crate::Store as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = SqliteStore::open(&path).unwrap();
        for k in 0..400u32 {
            store
                .append_evidence(&skyfence_evidence::EvidenceLeaf::ConfigChanged {
                    at_us: i64::from(k),
                    source: "t".into(),
                    config: vec![b'x'; 200],
                })
                .unwrap();
        }
        assert_eq!(store.quick_check().unwrap(), Vec::<String>::new());
        store.close().unwrap();

        // Overwrite the middle of the file (past the header page) with garbage.
        let mut bytes = std::fs::read(&path).unwrap();
        assert!(bytes.len() > 16 * 4096, "{}", bytes.len());
        let mid = bytes.len() / 2 / 4096 * 4096;
        bytes[mid..mid + 4096].fill(0xA5);
        std::fs::write(&path, &bytes).unwrap();
        let store = SqliteStore::open(&path).unwrap();
        let problems = store.quick_check().unwrap();
        assert!(!problems.is_empty(), "the damage went unnoticed");
        assert!(problems.len() <= 20, "{problems:?}");
    }

    /// A file written by schema version 3 (Mode S frames only, `RawFrame` leaves of kind
    /// 0x03) is migrated in place: its frames read back as Mode S records, its old
    /// leaves still belong to the incident, and new records are logged as kind 0x06
    /// beside them in the same tree.
    #[test]
    fn a_version_3_file_migrates_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v3.db");
        let t = TargetId::Icao(Icao24::new(0x4840d6).unwrap());
        let i = incident(t);
        {
            let mut conn = Connection::open(&path).unwrap();
            for (v, sql) in MIGRATIONS[..3].iter().enumerate() {
                let tx = conn.transaction().unwrap();
                tx.execute_batch(sql).unwrap();
                tx.pragma_update(None, "user_version", v as i64 + 1)
                    .unwrap();
                tx.pragma_update(None, "application_id", APPLICATION_ID)
                    .unwrap();
                tx.commit().unwrap();
            }
            let json = serde_json::to_string(&i).unwrap();
            conn.execute(
                "INSERT INTO incidents (id, zone, target, status, authorised, classification,
                                        entered_at, exited_at, last_seen_at, json)
                 VALUES (?1, 'AF', '4840d6', 'open', 0, 'unknown', ?2, NULL, ?3, ?4)",
                params![i.id.to_string(), T0, T0 + 10_000_000, json],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO frames (target, at, source, bytes, signal, mlat)
                 VALUES ('4840d6', ?1, 'kabul-1', ?2, 140, 0)",
                params![T0 + 1_000_000, &KLM1023[..]],
            )
            .unwrap();
            let tx = conn.transaction().unwrap();
            let old_leaf = EvidenceLeaf::RawFrame {
                sensor: "kabul-1".into(),
                received_at_us: T0 + 1_000_000,
                signal: Some(140),
                mlat: false,
                frame: KLM1023.to_vec(),
            };
            evidence::Appender::new(&tx, &path)
                .append(&old_leaf, Some("4840d6".into()))
                .unwrap();
            tx.commit().unwrap();
        }

        let mut store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let old_frame = FrameRecord {
            target: t,
            at: Timestamp::from_micros(T0 + 1_000_000),
            source: Arc::from("kabul-1"),
            record: RawRecord::from(RawFrame {
                bytes: KLM1023,
                len: 14,
                signal: Some(140),
                mlat: false,
            }),
        };
        assert_eq!(
            store.incident_frames(i.id).unwrap().unwrap(),
            vec![old_frame.clone()]
        );
        assert_eq!(
            store.incidents(&IncidentFilter::default()).unwrap(),
            vec![i.clone()]
        );

        // A new record of the same target: logged as kind 0x06, found with the old leaf.
        let mut new_frame = old_frame.clone();
        new_frame.at = Timestamp::from_micros(T0 + 2_000_000);
        let applied = store
            .apply(&StoreBatch {
                frames: vec![old_frame.clone(), new_frame.clone()],
                ..StoreBatch::default()
            })
            .unwrap();
        assert_eq!(applied.frames, 1, "the migrated row is the same record");
        let leaves = store.incident_evidence(i.id).unwrap().unwrap();
        let kinds: Vec<u8> = leaves
            .iter()
            .map(|(_, b)| EvidenceLeaf::decode(b).unwrap().kind_code())
            .collect();
        assert_eq!(kinds, vec![0x03, 0x06]);
        assert_eq!(
            store.incident_frames(i.id).unwrap().unwrap(),
            vec![old_frame, new_frame]
        );
        let hashes: Vec<_> = leaves
            .iter()
            .map(|(_, b)| skyfence_evidence::leaf_hash(b))
            .collect();
        assert_eq!(
            store.evidence_root(2).unwrap(),
            root_from_leaf_hashes(&hashes)
        );
    }

    /// Remote ID and track targets use their store keys in every table's `target`
    /// column, so an ICAO address never collides with a Remote ID that looks like one.
    #[test]
    fn target_columns_hold_the_store_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path().join("k.db")).unwrap();
        let rid = TargetId::parse(skyfence_core::TargetKind::RemoteId, "4840d6").unwrap();
        let icao = TargetId::Icao(Icao24::new(0x4840d6).unwrap());
        let (a, b) = (incident(rid), incident(icao));
        store
            .apply(&StoreBatch {
                events: vec![
                    Event::Confirmed {
                        at: a.entered_at,
                        incident: a.clone(),
                    },
                    Event::Confirmed {
                        at: b.entered_at,
                        incident: b.clone(),
                    },
                ],
                ..StoreBatch::default()
            })
            .unwrap();
        let keys: Vec<String> = store
            .conn
            .prepare("SELECT target FROM incidents ORDER BY target")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, ["4840d6", "rid:4840d6"]);
        let only = |t| {
            store
                .incidents(&IncidentFilter {
                    target: Some(t),
                    ..IncidentFilter::default()
                })
                .unwrap()
        };
        assert_eq!(only(rid), vec![a]);
        assert_eq!(only(icao), vec![b]);
    }
}
