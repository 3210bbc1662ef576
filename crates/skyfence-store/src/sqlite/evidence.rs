//! The evidence log in the store: an RFC 6962 Merkle log of
//! [`EvidenceLeaf`]s, kept in the same SQLite file as the incidents it proves, plus the
//! signed checkpoints of it and the witnesses' cosignatures.
//!
//! # What goes in, and when
//!
//! - [`SqliteStore::apply`](crate::IncidentStore::apply) appends, in the transaction that
//!   stores them, one `RawRecord` leaf (kind 0x06) per newly stored raw record row (logs
//!   written before schema version 4 hold `RawFrame` leaves, kind 0x03, read alike) and one
//!   `IncidentStateChanged` leaf per newly stored incident event (`confirmed`, `closed`,
//!   `lost`; approach events have no incident and are not logged). A re-applied batch
//!   stores no new row, so it appends nothing.
//! - [`acknowledge`](crate::IncidentStore::acknowledge) appends an `OperatorAck` leaf in its
//!   transaction.
//! - The service records, at start, one `DatasetLoaded` leaf per zone (its content a GeoJSON
//!   FeatureCollection holding exactly that zone, see [`zone_geojson`]), one for the permit
//!   set and one `ConfigChanged` leaf, each only when it differs from the latest one of the
//!   same name ([`EvidenceLogStore::append_if_changed`]), so a restart does not grow the log.
//!
//! # Several writers
//!
//! The service writer, the API's acknowledgement writer and the checkpoint signer each
//! hold their own connection. Every append runs inside a `BEGIN IMMEDIATE` transaction
//! (SQLite takes the write lock at `BEGIN`, other writers wait `busy_timeout`) and reads
//! the tree size inside it, from the stored nodes: never from a value cached outside the
//! transaction. Two connections therefore never give two leaves the same index.
//!
//! # Tables (schema version 2)
//!
//! - `evidence_leaves`: index, kind, time, the columns that find an incident's leaves
//!   (`target`, `incident_id`) and a dataset's (`dataset_kind`, `name`), and the leaf's
//!   canonical bytes.
//! - `merkle_nodes`: the complete subtrees of two or more leaves ([`HashStore`] levels 1
//!   and up; level 0, the leaf hashes, is the `hash` column of `evidence_leaves`). Never
//!   updated, never deleted.
//! - `checkpoints`: tree size, signing time, the signed note as the log signed it.
//! - `cosignatures`: witness signature lines for a checkpoint; [`EvidenceLogStore::checkpoints`]
//!   returns each note with them appended.
//!
//! # Retention
//!
//! [`purge_older_than`](crate::IncidentStore::purge_older_than) deletes the frames and
//! incidents it purges; it also clears the *bytes* of their leaves (raw frames no kept
//! incident's window reaches; incident changes and acknowledgements of purged incidents),
//! so purged data does not live on in the log. The leaf hashes stay (`evidence_leaves.hash`): the
//! tree, every checkpoint and every proof still verify; only the content of those leaves
//! can no longer be shown. `skyfence log verify` counts such leaves separately. Dataset and
//! configuration leaves are never cleared.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use skyfence_core::detect::{Event, Incident, IncidentId};
use skyfence_core::{Signal, Timestamp};
use skyfence_evidence::merkle::{self, Hash, HashStore, MerkleLog, StoredNode, leaf_hash};
use skyfence_evidence::{DatasetKind, EvidenceLeaf, LeafSignal};

use super::{sql_err, target_key};
use crate::{
    EvidenceLogStore, FrameRecord, IndexedLeaf, LeafRow, MAX_COSIGNATURES, SqliteStore, StoreError,
    StoredCheckpoint,
};

/// The stored code of a dataset kind (the leaf encoding's byte).
pub(crate) fn dataset_code(kind: DatasetKind) -> i64 {
    match kind {
        DatasetKind::Zones => 1,
        DatasetKind::Dataset => 2,
        DatasetKind::Permits => 3,
    }
}

/// The [`HashStore`] of a connection (or a transaction, which dereferences to one): level
/// 0 (leaf hashes) in `evidence_leaves.hash`, higher levels in `merkle_nodes`. The leaf
/// row, with its hash, is inserted by [`Appender`] before the tree appends (one row per
/// leaf rather than two), so [`HashStore::append_nodes`] writes only levels 1 and up.
/// Appends must run inside a write transaction.
pub(crate) struct SqliteHashStore<'c> {
    conn: &'c Connection,
    /// The last node this store appended at each level. An append needs only left
    /// siblings, and in an append-only tree the left sibling at a level is the last node
    /// written there: a batch of appends reads no node back from SQLite.
    last: Vec<Option<(u64, Hash)>>,
}

impl<'c> SqliteHashStore<'c> {
    /// The tree of `conn`.
    pub(crate) fn new(conn: &'c Connection) -> Self {
        SqliteHashStore {
            conn,
            last: Vec::new(),
        }
    }
}

fn hash_store_err(e: rusqlite::Error) -> merkle::StoreError {
    merkle::StoreError(Box::new(e))
}

impl HashStore for SqliteHashStore<'_> {
    fn leaf_count(&self) -> Result<u64, merkle::StoreError> {
        // The primary key makes max() a single index probe.
        let next: i64 = self
            .conn
            .prepare_cached("SELECT coalesce(max(idx) + 1, 0) FROM evidence_leaves")
            .and_then(|mut st| st.query_row([], |r| r.get(0)))
            .map_err(hash_store_err)?;
        Ok(u64::try_from(next).unwrap_or(0))
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, merkle::StoreError> {
        if let Some(Some((i, h))) = self.last.get(usize::from(level))
            && *i == index
        {
            return Ok(Some(*h));
        }
        let blob: Option<Vec<u8>> = if level == 0 {
            self.conn
                .prepare_cached("SELECT hash FROM evidence_leaves WHERE idx = ?1")
                .and_then(|mut st| st.query_row([to_i64(index)], |r| r.get(0)).optional())
        } else {
            self.conn
                .prepare_cached("SELECT hash FROM merkle_nodes WHERE level = ?1 AND idx = ?2")
                .and_then(|mut st| {
                    st.query_row(params![level, to_i64(index)], |r| r.get(0))
                        .optional()
                })
        }
        .map_err(hash_store_err)?;
        blob.map(|b| {
            <Hash>::try_from(b.as_slice()).map_err(|_| {
                merkle::StoreError(
                    format!(
                        "merkle_nodes ({level}, {index}) holds {} bytes, expected 32",
                        b.len()
                    )
                    .into(),
                )
            })
        })
        .transpose()
    }

    fn append_nodes(&mut self, nodes: &[StoredNode]) -> Result<(), merkle::StoreError> {
        let mut st = self
            .conn
            .prepare_cached("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .map_err(hash_store_err)?;
        // Level 0 is the leaf row's `hash`, inserted by the caller before the append.
        for n in nodes.iter().filter(|n| n.level > 0) {
            st.execute(params![n.level, to_i64(n.index), &n.hash[..]])
                .map_err(hash_store_err)?;
        }
        for n in nodes {
            let level = usize::from(n.level);
            if self.last.len() <= level {
                self.last.resize(level + 1, None);
            }
            self.last[level] = Some((n.index, n.hash));
        }
        Ok(())
    }
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The columns a leaf is found by.
#[derive(Default)]
pub(crate) struct LeafColumns<'a> {
    pub(crate) at: i64,
    pub(crate) target: Option<String>,
    pub(crate) incident_id: Option<String>,
    pub(crate) name: Option<&'a str>,
    pub(crate) dataset_kind: Option<i64>,
}

pub(crate) fn columns_of(leaf: &EvidenceLeaf) -> LeafColumns<'_> {
    match leaf {
        EvidenceLeaf::DatasetLoaded {
            kind,
            name,
            loaded_at_us,
            ..
        } => LeafColumns {
            at: *loaded_at_us,
            name: Some(name),
            dataset_kind: Some(dataset_code(*kind)),
            ..LeafColumns::default()
        },
        EvidenceLeaf::ConfigChanged { at_us, source, .. } => LeafColumns {
            at: *at_us,
            name: Some(source),
            ..LeafColumns::default()
        },
        EvidenceLeaf::RawFrame { received_at_us, .. }
        | EvidenceLeaf::RawRecord { received_at_us, .. } => LeafColumns {
            at: *received_at_us,
            ..LeafColumns::default()
        },
        EvidenceLeaf::SensorState { at_us, .. } => LeafColumns {
            at: *at_us,
            ..LeafColumns::default()
        },
        EvidenceLeaf::KeyRotated { at_us, .. } => LeafColumns {
            at: *at_us,
            ..LeafColumns::default()
        },
        EvidenceLeaf::IncidentStateChanged {
            incident_id, at_us, ..
        }
        | EvidenceLeaf::OperatorAck {
            incident_id, at_us, ..
        } => LeafColumns {
            at: *at_us,
            incident_id: Some(IncidentId(*incident_id).to_string()),
            ..LeafColumns::default()
        },
    }
}

/// Appends leaves inside one write transaction. The tree size is read from the stored
/// nodes at the first append (inside the transaction), so a batch that logs nothing costs
/// nothing.
pub(crate) struct Appender<'t> {
    conn: &'t Connection,
    path: &'t std::path::Path,
    log: Option<MerkleLog<SqliteHashStore<'t>>>,
}

impl<'t> Appender<'t> {
    /// An appender over `conn`, which must be inside a `BEGIN IMMEDIATE` transaction.
    pub(crate) fn new(conn: &'t Connection, path: &'t std::path::Path) -> Self {
        Appender {
            conn,
            path,
            log: None,
        }
    }

    fn fail(&self, op: &'static str, e: impl std::fmt::Display) -> StoreError {
        StoreError::Conflict {
            store: self.path.display().to_string(),
            op,
            reason: e.to_string(),
        }
    }

    /// Appends `leaf` (its bytes and its tree nodes) and returns its index.
    pub(crate) fn append(
        &mut self,
        leaf: &EvidenceLeaf,
        target: Option<String>,
    ) -> Result<u64, StoreError> {
        let bytes = leaf
            .encode()
            .map_err(|e| self.fail("encode evidence leaf", e))?;
        let (conn, path) = (self.conn, self.path);
        let log = match &mut self.log {
            Some(log) => log,
            empty => empty.insert(MerkleLog::open(SqliteHashStore::new(conn)).map_err(|e| {
                StoreError::Conflict {
                    store: path.display().to_string(),
                    op: "open evidence log",
                    reason: e.to_string(),
                }
            })?),
        };
        let index = log.size();
        let hash = leaf_hash(&bytes);
        let mut cols = columns_of(leaf);
        cols.target = cols.target.or(target);
        conn.prepare_cached(
            "INSERT INTO evidence_leaves
               (idx, kind, at, target, incident_id, name, dataset_kind, hash, bytes)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut st| {
            st.execute(params![
                to_i64(index),
                leaf.kind_code(),
                cols.at,
                cols.target,
                cols.incident_id,
                cols.name,
                cols.dataset_kind,
                &hash[..],
                bytes,
            ])
        })
        .map_err(|source| sql_err(path, "append evidence leaf", source))?;
        log.append_leaf_hash(hash)
            .map_err(|e| StoreError::Conflict {
                store: path.display().to_string(),
                op: "append evidence leaf",
                reason: e.to_string(),
            })?;
        Ok(index)
    }

    /// Logs a newly stored raw record row as a `RawRecord` leaf (kind 0x06), whatever its
    /// protocol. Logs written before kind 0x06 hold `RawFrame` leaves (kind 0x03); both
    /// are read back alike.
    pub(crate) fn raw_record(&mut self, f: &FrameRecord) -> Result<u64, StoreError> {
        let leaf = EvidenceLeaf::RawRecord {
            sensor: f.source.to_string(),
            received_at_us: f.at.as_micros(),
            protocol: f.record.proto.code(),
            signal: match f.record.signal {
                None => LeafSignal::None,
                Some(Signal::Level(l)) => LeafSignal::Level(l),
                Some(Signal::Dbm(d)) => LeafSignal::Dbm(d),
            },
            mlat: f.record.mlat,
            record: f.record.data().to_vec(),
        };
        self.append(&leaf, Some(target_key(f.target)))
    }

    /// Logs a newly stored incident event; `incident_json` is the incident exactly as
    /// stored.
    pub(crate) fn incident_change(
        &mut self,
        event: &Event,
        incident: &Incident,
        incident_json: &str,
    ) -> Result<u64, StoreError> {
        let leaf = EvidenceLeaf::IncidentStateChanged {
            incident_id: incident.id.0,
            at_us: event.at().as_micros(),
            event: event.kind().to_owned(),
            incident_json: incident_json.to_owned(),
        };
        self.append(&leaf, Some(target_key(incident.target.id)))
    }

    /// Logs an operator acknowledgement.
    pub(crate) fn ack(
        &mut self,
        id: IncidentId,
        at: Timestamp,
        operator: &str,
        note: &str,
    ) -> Result<u64, StoreError> {
        let leaf = EvidenceLeaf::OperatorAck {
            incident_id: id.0,
            operator: operator.to_owned(),
            note: note.to_owned(),
            at_us: at.as_micros(),
        };
        self.append(&leaf, None)
    }
}

/// Retention (see the module documentation): clears the bytes of the leaves whose rows
/// the purge in the same transaction deleted. `lead_us` is the store's pre-entry window.
pub(crate) fn purge(conn: &Connection, cut_us: i64, lead_us: i64) -> rusqlite::Result<usize> {
    let frames = conn.execute(
        "UPDATE evidence_leaves SET bytes = NULL
         WHERE kind IN (3, 6) AND bytes IS NOT NULL AND at < ?1 AND NOT EXISTS (
             SELECT 1 FROM incidents i
             WHERE i.target = evidence_leaves.target AND evidence_leaves.at >= i.entered_at - ?2)",
        params![cut_us, lead_us],
    )?;
    let incident = conn.execute(
        "UPDATE evidence_leaves SET bytes = NULL
         WHERE kind IN (4, 5) AND bytes IS NOT NULL AND at < ?1
           AND incident_id NOT IN (SELECT id FROM incidents)",
        params![cut_us],
    )?;
    Ok(frames + incident)
}

/// The fields of a dataset or config leaf that say whether it changed (its time does not).
pub(crate) fn same_content(a: &EvidenceLeaf, b: &EvidenceLeaf) -> bool {
    match (a, b) {
        (
            EvidenceLeaf::DatasetLoaded {
                kind: k1,
                name: n1,
                provenance_sha256: p1,
                content: c1,
                ..
            },
            EvidenceLeaf::DatasetLoaded {
                kind: k2,
                name: n2,
                provenance_sha256: p2,
                content: c2,
                ..
            },
        ) => k1 == k2 && n1 == n2 && p1 == p2 && c1.sha256() == c2.sha256(),
        (
            EvidenceLeaf::ConfigChanged { config: c1, .. },
            EvidenceLeaf::ConfigChanged { config: c2, .. },
        ) => c1 == c2,
        _ => false,
    }
}

impl SqliteStore {
    /// The `(index, bytes)` rows of `sql`, a leaf query whose one parameter is the log
    /// size bound.
    fn indexed_leaves(
        &self,
        what: &'static str,
        sql: &str,
        size: u64,
    ) -> Result<Vec<IndexedLeaf>, StoreError> {
        let err = self.ev_err(what);
        let mut st = self.conn.prepare_cached(sql).map_err(&err)?;
        let rows = st
            .query_map(params![to_i64(size)], |r| {
                Ok((to_u64(r.get(0)?), r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    fn ev_err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |source| sql_err(&self.path, op, source)
    }

    fn ev_fail(&self, op: &'static str, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Conflict {
            store: self.path.display().to_string(),
            op,
            reason: reason.to_string(),
        }
    }

    fn with_cosignatures(
        &self,
        size: u64,
        at: i64,
        mut note: String,
    ) -> Result<StoredCheckpoint, StoreError> {
        let err = self.ev_err("read cosignatures");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT line FROM cosignatures WHERE size = ?1 ORDER BY at, rowid LIMIT ?2",
            )
            .map_err(&err)?;
        let lines = st
            .query_map(
                params![to_i64(size), to_i64(MAX_COSIGNATURES as u64)],
                |r| r.get::<_, String>(0),
            )
            .map_err(&err)?;
        let mut cosignatures = 0;
        for line in lines {
            note.push_str(&line.map_err(&err)?);
            note.push('\n');
            cosignatures += 1;
        }
        Ok(StoredCheckpoint {
            size,
            at: Timestamp::from_micros(at),
            note,
            cosignatures,
        })
    }
}

impl EvidenceLogStore for SqliteStore {
    fn log_location(&self) -> String {
        self.path.display().to_string()
    }

    fn evidence_node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        SqliteHashStore::new(&self.conn)
            .node(level, index)
            .map_err(|e| self.corrupt("merkle_nodes", format!("({level}, {index})"), e))
    }

    /// The number of leaves in the evidence log.
    fn evidence_size(&self) -> Result<u64, StoreError> {
        SqliteHashStore::new(&self.conn)
            .leaf_count()
            .map_err(|e| self.ev_fail("read evidence size", e))
    }

    /// The leaves with index in `start..end`, as `(index, EvidenceLeaf bytes)`, by index.
    /// Leaves whose bytes retention cleared are left out (their hashes remain: see
    /// [`SqliteStore::evidence_leaf_hashes`]).
    fn evidence_leaves(&self, start: u64, end: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        let err = self.ev_err("read evidence leaves");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx, bytes FROM evidence_leaves
                 WHERE idx >= ?1 AND idx < ?2 AND bytes IS NOT NULL ORDER BY idx",
            )
            .map_err(&err)?;
        let rows = st
            .query_map(params![to_i64(start), to_i64(end)], |r| {
                Ok((to_u64(r.get(0)?), r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The stored nodes of `level` (0 = leaf hashes) with index in `start..end`, by index:
    /// the complete subtrees of 2^level leaves, which `skyfence log verify` compares with
    /// the tree it rebuilds from the leaves.
    fn evidence_nodes(
        &self,
        level: u8,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let err = self.ev_err("read tree nodes");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx, hash FROM evidence_leaves
                 WHERE ?1 = 0 AND idx >= ?2 AND idx < ?3
                 UNION ALL
                 SELECT idx, hash FROM merkle_nodes
                 WHERE ?1 > 0 AND level = ?1 AND idx >= ?2 AND idx < ?3
                 ORDER BY idx",
            )
            .map_err(&err)?;
        let rows = st
            .query_map(params![level, to_i64(start), to_i64(end)], |r| {
                Ok((to_u64(r.get(0)?), r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (i, h) = row.map_err(&err)?;
            let h = <Hash>::try_from(h.as_slice())
                .map_err(|_| self.corrupt("merkle_nodes", i, "hash is not 32 bytes"))?;
            out.push((i, h));
        }
        Ok(out)
    }

    /// Every leaf row with index in `start..end` (cleared ones too), by index: for `skyfence log verify`, which must see gaps and cleared rows too.
    fn evidence_leaf_rows(&self, start: u64, end: u64) -> Result<Vec<LeafRow>, StoreError> {
        let err = self.ev_err("read evidence leaves");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx, kind, bytes FROM evidence_leaves
                 WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )
            .map_err(&err)?;
        let rows = st
            .query_map(params![to_i64(start), to_i64(end)], |r| {
                Ok(LeafRow {
                    index: to_u64(r.get(0)?),
                    kind: r.get(1)?,
                    bytes: r.get(2)?,
                })
            })
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The key rotation leaves under `size`: the kind column alone is filtered, so the
    /// bytes of no other leaf are read.
    fn key_rotation_leaves(&self, size: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        // The kind is written in the SQL, not bound: only then does SQLite use the
        // partial index on it.
        self.indexed_leaves(
            "read key rotation leaves",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE kind = 8 AND idx < ?1 AND bytes IS NOT NULL ORDER BY idx",
            size,
        )
    }

    /// The sensor state leaves under `size`, through their partial index.
    fn sensor_state_leaves(&self, size: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        self.indexed_leaves(
            "read sensor state leaves",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE kind = 9 AND idx < ?1 AND bytes IS NOT NULL ORDER BY idx",
            size,
        )
    }

    /// The leaves a bundle for incident `id` carries, by index: its target's `RawFrame`
    /// leaves over the incident's window (the same window as `incident_frames`), and its
    /// `IncidentStateChanged` and `OperatorAck` leaves. `None` when the incident is unknown.
    fn incident_evidence(&self, id: IncidentId) -> Result<Option<Vec<IndexedLeaf>>, StoreError> {
        let Some(incident) = self.load_incident(id)? else {
            return Ok(None);
        };
        let (lo, hi) = self.window(&incident)?;
        let err = self.ev_err("read incident evidence");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT idx, bytes FROM evidence_leaves
                 WHERE kind IN (3, 6) AND target = ?1 AND at BETWEEN ?2 AND ?3
                   AND bytes IS NOT NULL
                 UNION ALL
                 SELECT idx, bytes FROM evidence_leaves
                 WHERE incident_id = ?4 AND bytes IS NOT NULL
                 ORDER BY idx",
            )
            .map_err(&err)?;
        let rows = st
            .query_map(
                params![target_key(incident.target.id), lo, hi, id.to_string()],
                |r| Ok((to_u64(r.get(0)?), r.get::<_, Vec<u8>>(1)?)),
            )
            .map_err(&err)?;
        Ok(Some(rows.collect::<Result<_, _>>().map_err(&err)?))
    }

    /// The latest `DatasetLoaded` leaf of `kind` named `name` among the first `size`
    /// leaves: the dataset in force when the tree had `size` leaves.
    ///
    /// Here and in the other dataset and config queries, `kind IN (1, 2)` repeats the
    /// condition of the partial index `evidence_datasets`: SQLite uses a partial index
    /// only when the query states its condition (it does not infer it from `kind = 1`),
    /// and without it these queries walked the log back from `idx` row by row (a dossier
    /// asks twice per incident).
    fn dataset_leaf(
        &self,
        kind: DatasetKind,
        name: &str,
        size: u64,
    ) -> Result<Option<IndexedLeaf>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT idx, bytes FROM evidence_leaves
                 WHERE kind IN (1, 2) AND kind = 1 AND dataset_kind = ?1 AND name = ?2 AND idx < ?3
                   AND bytes IS NOT NULL
                 ORDER BY idx DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![dataset_code(kind), name, to_i64(size)], |r| {
                    Ok((to_u64(r.get(0)?), r.get::<_, Vec<u8>>(1)?))
                })
                .optional()
            })
            .map_err(self.ev_err("read dataset leaf"))
    }

    /// The names of the datasets of `kind` recorded among the first `size` leaves, sorted.
    fn dataset_names(&self, kind: DatasetKind, size: u64) -> Result<Vec<String>, StoreError> {
        let err = self.ev_err("read dataset names");
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT DISTINCT name FROM evidence_leaves
                 WHERE kind IN (1, 2) AND kind = 1 AND dataset_kind = ?1 AND idx < ?2 ORDER BY name",
            )
            .map_err(&err)?;
        let rows = st
            .query_map(params![dataset_code(kind), to_i64(size)], |r| r.get(0))
            .map_err(&err)?;
        rows.collect::<Result<_, _>>().map_err(&err)
    }

    /// The latest `ConfigChanged` leaf among the first `size` leaves: the configuration in
    /// force when the tree had `size` leaves (there is one configuration stream, whatever
    /// its source).
    fn config_leaf(&self, size: u64) -> Result<Option<IndexedLeaf>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT idx, bytes FROM evidence_leaves
                 WHERE kind IN (1, 2) AND kind = 2 AND idx < ?1 AND bytes IS NOT NULL
                 ORDER BY idx DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![to_i64(size)], |r| {
                    Ok((to_u64(r.get(0)?), r.get::<_, Vec<u8>>(1)?))
                })
                .optional()
            })
            .map_err(self.ev_err("read config leaf"))
    }

    /// Appends one leaf in its own `BEGIN IMMEDIATE` transaction and returns its index.
    fn append_evidence(&mut self, leaf: &EvidenceLeaf) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let err = |source| sql_err(&path, "append evidence", source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let index = Appender::new(&tx, &path).append(leaf, None)?;
        tx.commit().map_err(err)?;
        self.bound_wal();
        Ok(index)
    }

    /// Appends a `DatasetLoaded` or `ConfigChanged` leaf unless the latest leaf of the same
    /// dataset (kind and name) or the latest configuration has the same content; returns
    /// the new index, or `None` when nothing changed (a restart does not grow the log).
    /// Checked and appended in one `BEGIN IMMEDIATE` transaction.
    fn append_if_changed(&mut self, leaf: &EvidenceLeaf) -> Result<Option<u64>, StoreError> {
        let path = self.path.clone();
        let err = |source| sql_err(&path, "append dataset evidence", source);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let latest: Option<(i64, Option<Vec<u8>>)> = match leaf {
            EvidenceLeaf::DatasetLoaded { kind, name, .. } => tx
                .query_row(
                    "SELECT idx, bytes FROM evidence_leaves
                     WHERE kind IN (1, 2) AND kind = 1 AND dataset_kind = ?1 AND name = ?2
                     ORDER BY idx DESC LIMIT 1",
                    params![dataset_code(*kind), name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?,
            EvidenceLeaf::ConfigChanged { .. } => tx
                .query_row(
                    "SELECT idx, bytes FROM evidence_leaves WHERE kind IN (1, 2) AND kind = 2
                     ORDER BY idx DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(err)?,
            _ => {
                return Err(StoreError::Conflict {
                    store: path.display().to_string(),
                    op: "append dataset evidence",
                    reason: format!(
                        "leaf kind {:#04x} is not a dataset or configuration leaf",
                        leaf.kind_code()
                    ),
                });
            }
        };
        if let Some((idx, Some(bytes))) = latest {
            let previous = EvidenceLeaf::decode(&bytes).map_err(|e| StoreError::Corrupt {
                store: path.display().to_string(),
                table: "evidence_leaves",
                key: idx.to_string(),
                reason: e.to_string(),
            })?;
            if same_content(&previous, leaf) {
                return Ok(None);
            }
        }
        let index = Appender::new(&tx, &path).append(leaf, None)?;
        tx.commit().map_err(err)?;
        self.bound_wal();
        Ok(Some(index))
    }

    /// Stores a checkpoint the log signed over its first `size` leaves. Storing the same
    /// size again keeps the first note (a size has one root, and Ed25519 signatures are
    /// deterministic, so it is the same note).
    fn add_checkpoint(
        &mut self,
        size: u64,
        at: Timestamp,
        signed_note: &str,
    ) -> Result<(), StoreError> {
        if size > self.evidence_size()? {
            return Err(self.ev_fail(
                "add checkpoint",
                format!("checkpoint size {size} is beyond the log"),
            ));
        }
        self.conn
            .prepare_cached(
                "INSERT INTO checkpoints (size, at, note) VALUES (?1, ?2, ?3)
                 ON CONFLICT (size) DO NOTHING",
            )
            .and_then(|mut st| st.execute(params![to_i64(size), at.as_micros(), signed_note]))
            .map_err(self.ev_err("add checkpoint"))?;
        Ok(())
    }

    /// Stores the signature lines of `signed_note_with_cosig` that the stored checkpoint of
    /// `size` lacks (a witness's cosignatures). The note's text must be the stored
    /// checkpoint's text exactly. Verifying the cosignature against a witness key is the
    /// caller's job (the service does it when witness keys are configured); this stores it.
    /// Returns how many lines were new.
    fn add_cosignature(
        &mut self,
        size: u64,
        signed_note_with_cosig: &str,
    ) -> Result<usize, StoreError> {
        let stored: Option<String> = self
            .conn
            .prepare_cached("SELECT note FROM checkpoints WHERE size = ?1")
            .and_then(|mut st| st.query_row([to_i64(size)], |r| r.get(0)).optional())
            .map_err(self.ev_err("read checkpoint"))?;
        let Some(stored) = stored else {
            return Err(StoreError::NotFound {
                store: self.path.display().to_string(),
                op: "add cosignature",
                what: format!("no checkpoint of size {size} is stored"),
            });
        };
        let new =
            crate::cosign::new_signatures(&stored, signed_note_with_cosig, size).map_err(|r| {
                match r {
                    crate::cosign::Refused::Stored(e) => self.corrupt("checkpoints", size, e),
                    crate::cosign::Refused::Given(e) => self.ev_fail("add cosignature", e),
                }
            })?;
        let now = skyfence_core::time::wall_clock();
        let mut added = 0;
        let err = self.ev_err("add cosignature");
        let held: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM cosignatures WHERE size = ?1")
            .and_then(|mut st| st.query_row([to_i64(size)], |r| r.get(0)))
            .map_err(&err)?;
        let mut room = (MAX_COSIGNATURES as u64).saturating_sub(to_u64(held));
        let mut st = self
            .conn
            .prepare_cached(
                "INSERT INTO cosignatures (size, name, key_id, line, at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (size, name, key_id) DO NOTHING",
            )
            .map_err(&err)?;
        for sig in &new {
            if room == 0 {
                return Err(self.ev_fail("add cosignature", crate::cosign::full(size)));
            }
            let n = st
                .execute(params![
                    to_i64(size),
                    sig.name,
                    i64::from(sig.key_id),
                    sig.line(),
                    now.as_micros()
                ])
                .map_err(&err)?;
            room -= n as u64;
            added += n;
        }
        Ok(added)
    }

    /// Every stored checkpoint, by size, each note with its cosignatures appended.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let err = self.ev_err("read checkpoints");
        let mut st = self
            .conn
            .prepare_cached("SELECT size, at, note FROM checkpoints ORDER BY size")
            .map_err(&err)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        rows.into_iter()
            .map(|(size, at, note)| self.with_cosignatures(to_u64(size), at, note))
            .collect()
    }

    /// The checkpoint of the largest size, with its cosignatures.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let row: Option<(i64, i64, String)> = self
            .conn
            .prepare_cached("SELECT size, at, note FROM checkpoints ORDER BY size DESC LIMIT 1")
            .and_then(|mut st| {
                st.query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()
            })
            .map_err(self.ev_err("read checkpoint"))?;
        row.map(|(size, at, note)| self.with_cosignatures(to_u64(size), at, note))
            .transpose()
    }
}
