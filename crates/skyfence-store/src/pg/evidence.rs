//! The evidence log in PostgreSQL: the same tables and rules as the SQLite backend's
//! (see that module: what is logged when, retention clearing bytes only), written in bulk.
//!
//! Appends happen inside a write transaction holding the writers' lock
//! ([`super::WRITE_LOCK`]). At the first append of a transaction the [`Appender`] reads
//! the tree size and the tree's right edge (the complete subtrees a new leaf's parents
//! are hashed with: one node per set bit of the size) into memory; every append after
//! that needs only nodes it made itself, so the transaction's leaves and nodes are
//! written at its end in two statements ([`Appender::flush`]) instead of two per leaf.

use std::cell::RefCell;
use std::collections::HashMap;

use skyfence_core::detect::{Event, Incident, IncidentId};
use skyfence_core::{Signal, Timestamp};
use skyfence_evidence::merkle::{self, Hash, HashStore, MerkleLog, StoredNode, leaf_hash};
use skyfence_evidence::{DatasetKind, EvidenceLeaf, LeafSignal};
use tokio_postgres::Client;

use super::{PgStore, Statements, TxError, begin_write, pg_err, to_i64, to_u64, wait};
use crate::sqlite::evidence::{columns_of, dataset_code, same_content};
use crate::{
    EvidenceLogStore, FrameRecord, IndexedLeaf, LeafRow, MAX_COSIGNATURES, StoreError,
    StoredCheckpoint,
};

/// The tree's nodes a transaction needs, in memory: the right edge read at its start and
/// every node it appended.
#[derive(Default)]
struct EdgeStore {
    size: u64,
    nodes: HashMap<(u8, u64), Hash>,
    new_nodes: RefCell<Vec<StoredNode>>,
}

impl HashStore for EdgeStore {
    fn leaf_count(&self) -> Result<u64, merkle::StoreError> {
        Ok(self.size)
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, merkle::StoreError> {
        Ok(self.nodes.get(&(level, index)).copied())
    }

    fn append_nodes(&mut self, nodes: &[StoredNode]) -> Result<(), merkle::StoreError> {
        for n in nodes {
            self.nodes.insert((n.level, n.index), n.hash);
            self.new_nodes.borrow_mut().push(*n);
        }
        Ok(())
    }
}

/// A leaf row to insert.
struct NewLeaf {
    index: i64,
    kind: i16,
    at: i64,
    target: Option<String>,
    incident_id: Option<String>,
    name: Option<String>,
    dataset_kind: Option<i16>,
    hash: Hash,
    bytes: Vec<u8>,
}

/// Appends leaves inside one write transaction (see the module documentation).
pub(crate) struct Appender {
    location: String,
    log: Option<MerkleLog<EdgeStore>>,
    leaves: Vec<NewLeaf>,
}

impl Appender {
    pub(crate) fn new(location: &str) -> Self {
        Appender {
            location: location.to_string(),
            log: None,
            leaves: Vec::new(),
        }
    }

    fn fail(&self, op: &'static str, reason: impl ToString) -> TxError {
        TxError::Store(StoreError::Conflict {
            store: self.location.clone(),
            op,
            reason: reason.to_string(),
        })
    }

    async fn load(c: &Client, stmts: &Statements) -> Result<EdgeStore, tokio_postgres::Error> {
        let st = stmts
            .get(c, "SELECT coalesce(max(idx) + 1, 0) FROM evidence_leaves")
            .await?;
        let size = to_u64(c.query_one(&st, &[]).await?.get(0));
        let mut levels = Vec::new();
        let mut indexes = Vec::new();
        for level in 1..64u8 {
            if size >> level & 1 == 1 {
                levels.push(i16::from(level));
                indexes.push(to_i64((size >> level) - 1));
            }
        }
        let leaf = if size & 1 == 1 { to_i64(size - 1) } else { -1 };
        let st = stmts
            .get(
                c,
                "SELECT 0::int2, idx, hash FROM evidence_leaves WHERE idx = $1
                 UNION ALL
                 SELECT level, idx, hash FROM merkle_nodes
                 WHERE (level, idx) IN (SELECT * FROM unnest($2::int2[], $3::int8[]))",
            )
            .await?;
        let mut store = EdgeStore {
            size,
            ..EdgeStore::default()
        };
        for row in c.query(&st, &[&leaf, &levels, &indexes]).await? {
            let level: i16 = row.get(0);
            let index: i64 = row.get(1);
            let hash: &[u8] = row.get(2);
            if let (Ok(level), Ok(hash)) = (u8::try_from(level), <Hash>::try_from(hash)) {
                store.nodes.insert((level, to_u64(index)), hash);
            }
        }
        Ok(store)
    }

    /// Appends `leaf` and returns its index (written at [`Appender::flush`]).
    pub(crate) async fn append(
        &mut self,
        c: &Client,
        stmts: &Statements,
        leaf: &EvidenceLeaf,
        target: Option<String>,
    ) -> Result<u64, TxError> {
        let bytes = match leaf.encode() {
            Ok(b) => b,
            Err(e) => return Err(self.fail("encode evidence leaf", e)),
        };
        if self.log.is_none() {
            let store = Self::load(c, stmts).await?;
            match MerkleLog::open(store) {
                Ok(log) => self.log = Some(log),
                Err(e) => return Err(self.fail("open evidence log", e)),
            }
        }
        let Some(log) = self.log.as_mut() else {
            return Err(self.fail("open evidence log", "not opened"));
        };
        let hash = leaf_hash(&bytes);
        let index = match log.append_leaf_hash(hash) {
            Ok(i) => i,
            Err(e) => return Err(self.fail("append evidence leaf", e)),
        };
        let cols = columns_of(leaf);
        self.leaves.push(NewLeaf {
            index: to_i64(index),
            kind: i16::from(leaf.kind_code()),
            at: cols.at,
            target: cols.target.or(target),
            incident_id: cols.incident_id,
            name: cols.name.map(str::to_string),
            dataset_kind: cols.dataset_kind.and_then(|k| i16::try_from(k).ok()),
            hash,
            bytes,
        });
        Ok(index)
    }

    /// Writes the leaves and nodes appended so far.
    pub(crate) async fn flush(&mut self, c: &Client, stmts: &Statements) -> Result<(), TxError> {
        if !self.leaves.is_empty() {
            let leaves = std::mem::take(&mut self.leaves);
            let idx: Vec<i64> = leaves.iter().map(|l| l.index).collect();
            let kind: Vec<i16> = leaves.iter().map(|l| l.kind).collect();
            let at: Vec<i64> = leaves.iter().map(|l| l.at).collect();
            let target: Vec<Option<&str>> = leaves.iter().map(|l| l.target.as_deref()).collect();
            let incident: Vec<Option<&str>> =
                leaves.iter().map(|l| l.incident_id.as_deref()).collect();
            let name: Vec<Option<&str>> = leaves.iter().map(|l| l.name.as_deref()).collect();
            let dataset: Vec<Option<i16>> = leaves.iter().map(|l| l.dataset_kind).collect();
            let hash: Vec<&[u8]> = leaves.iter().map(|l| &l.hash[..]).collect();
            let bytes: Vec<&[u8]> = leaves.iter().map(|l| &l.bytes[..]).collect();
            let st = stmts
                .get(
                    c,
                    "INSERT INTO evidence_leaves
                       (idx, kind, at, target, incident_id, name, dataset_kind, hash, bytes)
                     SELECT * FROM unnest($1::int8[], $2::int2[], $3::int8[], $4::text[],
                                          $5::text[], $6::text[], $7::int2[], $8::bytea[],
                                          $9::bytea[])",
                )
                .await?;
            c.execute(
                &st,
                &[
                    &idx, &kind, &at, &target, &incident, &name, &dataset, &hash, &bytes,
                ],
            )
            .await?;
        }
        let Some(log) = self.log.as_mut() else {
            return Ok(());
        };
        // Level 0 is the leaf row's `hash`.
        let nodes: Vec<StoredNode> = std::mem::take(&mut *log.store().new_nodes.borrow_mut())
            .into_iter()
            .filter(|n| n.level > 0)
            .collect();
        if !nodes.is_empty() {
            let level: Vec<i16> = nodes.iter().map(|n| i16::from(n.level)).collect();
            let idx: Vec<i64> = nodes.iter().map(|n| to_i64(n.index)).collect();
            let hash: Vec<&[u8]> = nodes.iter().map(|n| &n.hash[..]).collect();
            let st = stmts
                .get(
                    c,
                    "INSERT INTO merkle_nodes (level, idx, hash)
                     SELECT * FROM unnest($1::int2[], $2::int8[], $3::bytea[])",
                )
                .await?;
            c.execute(&st, &[&level, &idx, &hash]).await?;
        }
        Ok(())
    }

    pub(crate) async fn raw_record(
        &mut self,
        c: &Client,
        stmts: &Statements,
        f: &FrameRecord,
    ) -> Result<u64, TxError> {
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
        self.append(c, stmts, &leaf, Some(f.target.key())).await
    }

    pub(crate) async fn incident_change(
        &mut self,
        c: &Client,
        stmts: &Statements,
        event: &Event,
        incident: &Incident,
        incident_json: &str,
    ) -> Result<u64, TxError> {
        let leaf = EvidenceLeaf::IncidentStateChanged {
            incident_id: incident.id.0,
            at_us: event.at().as_micros(),
            event: event.kind().to_owned(),
            incident_json: incident_json.to_owned(),
        };
        self.append(c, stmts, &leaf, Some(incident.target.id.key()))
            .await
    }

    pub(crate) async fn ack(
        &mut self,
        c: &Client,
        stmts: &Statements,
        id: IncidentId,
        at: Timestamp,
        operator: &str,
        note: &str,
    ) -> Result<u64, TxError> {
        let leaf = EvidenceLeaf::OperatorAck {
            incident_id: id.0,
            operator: operator.to_owned(),
            note: note.to_owned(),
            at_us: at.as_micros(),
        };
        self.append(c, stmts, &leaf, None).await
    }
}

/// Retention: clears the bytes of the leaves whose rows the purge deleted (as SQLite's).
pub(crate) async fn purge(
    c: &Client,
    cut_us: i64,
    lead_us: i64,
) -> Result<u64, tokio_postgres::Error> {
    let frames = c
        .execute(
            "UPDATE evidence_leaves SET bytes = NULL
             WHERE kind IN (3, 6) AND bytes IS NOT NULL AND at < $1 AND NOT EXISTS (
                 SELECT 1 FROM incidents i
                 WHERE i.target = evidence_leaves.target
                   AND evidence_leaves.at >= i.entered_at - $2)",
            &[&cut_us, &lead_us],
        )
        .await?;
    let incident = c
        .execute(
            "UPDATE evidence_leaves SET bytes = NULL
             WHERE kind IN (4, 5) AND bytes IS NOT NULL AND at < $1
               AND incident_id NOT IN (SELECT id FROM incidents)",
            &[&cut_us],
        )
        .await?;
    Ok(frames + incident)
}

fn indexed(rows: &[tokio_postgres::Row]) -> Vec<IndexedLeaf> {
    rows.iter()
        .map(|r| (to_u64(r.get(0)), r.get::<_, Vec<u8>>(1)))
        .collect()
}

impl PgStore {
    fn ev_fail(&self, op: &'static str, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Conflict {
            store: self.location.to_string(),
            op,
            reason: reason.to_string(),
        }
    }

    /// One leaf appended in its own write transaction, unless `skip` says the latest
    /// leaf it finds makes it unnecessary.
    fn append_one(
        &mut self,
        op: &'static str,
        leaf: &EvidenceLeaf,
        check_changed: bool,
    ) -> Result<Option<u64>, StoreError> {
        let (client, stmts, location) = self.client_mut()?;
        let err = |e| pg_err(location, op, e);
        wait(async {
            let tx = begin_write(client).await.map_err(err)?;
            if check_changed {
                let latest = match leaf {
                    EvidenceLeaf::DatasetLoaded { kind, name, .. } => tx
                        .query_opt(
                            "SELECT idx, bytes FROM evidence_leaves
                             WHERE kind = 1 AND dataset_kind = $1 AND name = $2
                             ORDER BY idx DESC LIMIT 1",
                            &[&(dataset_code(*kind) as i16), &name.as_str()],
                        )
                        .await
                        .map_err(err)?,
                    EvidenceLeaf::ConfigChanged { .. } => tx
                        .query_opt(
                            "SELECT idx, bytes FROM evidence_leaves WHERE kind = 2
                             ORDER BY idx DESC LIMIT 1",
                            &[],
                        )
                        .await
                        .map_err(err)?,
                    _ => {
                        return Err(StoreError::Conflict {
                            store: location.to_string(),
                            op,
                            reason: format!(
                                "leaf kind {:#04x} is not a dataset or configuration leaf",
                                leaf.kind_code()
                            ),
                        });
                    }
                };
                if let Some(row) = latest {
                    let idx: i64 = row.get(0);
                    if let Some(bytes) = row.get::<_, Option<Vec<u8>>>(1) {
                        let previous =
                            EvidenceLeaf::decode(&bytes).map_err(|e| StoreError::Corrupt {
                                store: location.to_string(),
                                table: "evidence_leaves",
                                key: idx.to_string(),
                                reason: e.to_string(),
                            })?;
                        if same_content(&previous, leaf) {
                            return Ok(None);
                        }
                    }
                }
            }
            let mut appender = Appender::new(location);
            let appended: Result<u64, TxError> = async {
                let index = appender.append(tx.client(), stmts, leaf, None).await?;
                appender.flush(tx.client(), stmts).await?;
                Ok(index)
            }
            .await;
            let index = appended.map_err(|e: TxError| e.into_store(location, op))?;
            tx.commit().await.map_err(err)?;
            Ok(Some(index))
        })
    }

    fn with_cosignatures(
        &self,
        size: i64,
        at: i64,
        mut note: String,
    ) -> Result<StoredCheckpoint, StoreError> {
        let rows = self.query(
            "read cosignatures",
            "SELECT line FROM cosignatures WHERE size = $1 ORDER BY at, id LIMIT $2",
            &[&size, &(MAX_COSIGNATURES as i64)],
        )?;
        for r in &rows {
            note.push_str(r.get(0));
            note.push('\n');
        }
        Ok(StoredCheckpoint {
            size: to_u64(size),
            at: Timestamp::from_micros(at),
            note,
            cosignatures: rows.len(),
        })
    }
}

impl EvidenceLogStore for PgStore {
    fn log_location(&self) -> String {
        self.location.to_string()
    }

    fn evidence_size(&self) -> Result<u64, StoreError> {
        let rows = self.query(
            "read evidence size",
            "SELECT coalesce(max(idx) + 1, 0) FROM evidence_leaves",
            &[],
        )?;
        Ok(rows.first().map_or(0, |r| to_u64(r.get(0))))
    }

    fn evidence_node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        let rows = if level == 0 {
            self.query(
                "read tree node",
                "SELECT hash FROM evidence_leaves WHERE idx = $1",
                &[&to_i64(index)],
            )?
        } else {
            self.query(
                "read tree node",
                "SELECT hash FROM merkle_nodes WHERE level = $1 AND idx = $2",
                &[&i16::from(level), &to_i64(index)],
            )?
        };
        rows.first()
            .map(|r| {
                let b: &[u8] = r.get(0);
                <Hash>::try_from(b).map_err(|_| {
                    self.corrupt(
                        "merkle_nodes",
                        format!("({level}, {index})"),
                        format!("holds {} bytes, expected 32", b.len()),
                    )
                })
            })
            .transpose()
    }

    fn evidence_leaves(&self, start: u64, end: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        let rows = self.query(
            "read evidence leaves",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE idx >= $1 AND idx < $2 AND bytes IS NOT NULL ORDER BY idx",
            &[&to_i64(start), &to_i64(end)],
        )?;
        Ok(indexed(&rows))
    }

    fn evidence_nodes(
        &self,
        level: u8,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let rows = self.query(
            "read tree nodes",
            "SELECT idx, hash FROM evidence_leaves
             WHERE $1::int2 = 0 AND idx >= $2 AND idx < $3
             UNION ALL
             SELECT idx, hash FROM merkle_nodes
             WHERE $1::int2 > 0 AND level = $1::int2 AND idx >= $2 AND idx < $3
             ORDER BY idx",
            &[&i16::from(level), &to_i64(start), &to_i64(end)],
        )?;
        rows.iter()
            .map(|r| {
                let i = to_u64(r.get(0));
                let h: &[u8] = r.get(1);
                let h = <Hash>::try_from(h)
                    .map_err(|_| self.corrupt("merkle_nodes", i, "hash is not 32 bytes"))?;
                Ok((i, h))
            })
            .collect()
    }

    fn evidence_leaf_rows(&self, start: u64, end: u64) -> Result<Vec<LeafRow>, StoreError> {
        let rows = self.query(
            "read evidence leaves",
            "SELECT idx, kind, bytes FROM evidence_leaves
             WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            &[&to_i64(start), &to_i64(end)],
        )?;
        rows.iter()
            .map(|r| {
                let index = to_u64(r.get(0));
                let kind: i16 = r.get(1);
                Ok(LeafRow {
                    index,
                    kind: u8::try_from(kind).map_err(|_| {
                        self.corrupt("evidence_leaves", index, format!("kind {kind}"))
                    })?,
                    bytes: r.get(2),
                })
            })
            .collect()
    }

    fn key_rotation_leaves(&self, size: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        let rows = self.query(
            "read key rotation leaves",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE kind = 8 AND idx < $1 AND bytes IS NOT NULL ORDER BY idx",
            &[&to_i64(size)],
        )?;
        Ok(indexed(&rows))
    }

    fn sensor_state_leaves(&self, size: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        let rows = self.query(
            "read sensor state leaves",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE kind = 9 AND idx < $1 AND bytes IS NOT NULL ORDER BY idx",
            &[&to_i64(size)],
        )?;
        Ok(indexed(&rows))
    }

    fn incident_evidence(&self, id: IncidentId) -> Result<Option<Vec<IndexedLeaf>>, StoreError> {
        let Some(incident) = self.load_incident(id)? else {
            return Ok(None);
        };
        let (lo, hi) = self.window(&incident)?;
        let rows = self.query(
            "read incident evidence",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE kind IN (3, 6) AND target = $1 AND at BETWEEN $2 AND $3
               AND bytes IS NOT NULL
             UNION ALL
             SELECT idx, bytes FROM evidence_leaves
             WHERE incident_id = $4 AND bytes IS NOT NULL
             ORDER BY idx",
            &[&incident.target.id.key(), &lo, &hi, &id.to_string()],
        )?;
        Ok(Some(indexed(&rows)))
    }

    fn dataset_leaf(
        &self,
        kind: DatasetKind,
        name: &str,
        size: u64,
    ) -> Result<Option<IndexedLeaf>, StoreError> {
        let rows = self.query(
            "read dataset leaf",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE kind = 1 AND dataset_kind = $1 AND name = $2 AND idx < $3
               AND bytes IS NOT NULL
             ORDER BY idx DESC LIMIT 1",
            &[&(dataset_code(kind) as i16), &name, &to_i64(size)],
        )?;
        Ok(indexed(&rows).pop())
    }

    fn dataset_names(&self, kind: DatasetKind, size: u64) -> Result<Vec<String>, StoreError> {
        let rows = self.query(
            "read dataset names",
            "SELECT DISTINCT name COLLATE \"C\" AS n FROM evidence_leaves
             WHERE kind = 1 AND dataset_kind = $1 AND idx < $2 ORDER BY n",
            &[&(dataset_code(kind) as i16), &to_i64(size)],
        )?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    fn config_leaf(&self, size: u64) -> Result<Option<IndexedLeaf>, StoreError> {
        let rows = self.query(
            "read config leaf",
            "SELECT idx, bytes FROM evidence_leaves
             WHERE kind = 2 AND idx < $1 AND bytes IS NOT NULL
             ORDER BY idx DESC LIMIT 1",
            &[&to_i64(size)],
        )?;
        Ok(indexed(&rows).pop())
    }

    fn append_evidence(&mut self, leaf: &EvidenceLeaf) -> Result<u64, StoreError> {
        self.append_one("append evidence", leaf, false)?
            .ok_or_else(|| self.ev_fail("append evidence", "nothing appended"))
    }

    fn append_if_changed(&mut self, leaf: &EvidenceLeaf) -> Result<Option<u64>, StoreError> {
        self.append_one("append dataset evidence", leaf, true)
    }

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
        self.execute(
            "add checkpoint",
            "INSERT INTO checkpoints (size, at, note) VALUES ($1, $2, $3)
             ON CONFLICT (size) DO NOTHING",
            &[&to_i64(size), &at.as_micros(), &signed_note],
        )?;
        Ok(())
    }

    fn add_cosignature(
        &mut self,
        size: u64,
        signed_note_with_cosig: &str,
    ) -> Result<usize, StoreError> {
        let rows = self.query(
            "read checkpoint",
            "SELECT note FROM checkpoints WHERE size = $1",
            &[&to_i64(size)],
        )?;
        let Some(stored) = rows.first().map(|r| r.get::<_, String>(0)) else {
            return Err(StoreError::NotFound {
                store: self.location.to_string(),
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
        let held = self.query(
            "add cosignature",
            "SELECT count(*) FROM cosignatures WHERE size = $1",
            &[&to_i64(size)],
        )?;
        let held = held.first().map_or(0, |r| to_u64(r.get(0)));
        let mut room = (MAX_COSIGNATURES as u64).saturating_sub(held);
        let mut added = 0;
        for sig in &new {
            if room == 0 {
                return Err(self.ev_fail("add cosignature", crate::cosign::full(size)));
            }
            let n = self.execute(
                "add cosignature",
                "INSERT INTO cosignatures (size, name, key_id, line, at) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (size, name, key_id) DO NOTHING",
                &[
                    &to_i64(size),
                    &sig.name,
                    &i64::from(sig.key_id),
                    &sig.line(),
                    &now.as_micros(),
                ],
            )?;
            room -= n;
            added += n as usize;
        }
        Ok(added)
    }

    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let rows = self.query(
            "read checkpoints",
            "SELECT size, at, note FROM checkpoints ORDER BY size",
            &[],
        )?;
        rows.iter()
            .map(|r| self.with_cosignatures(r.get(0), r.get(1), r.get(2)))
            .collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        let rows = self.query(
            "read checkpoint",
            "SELECT size, at, note FROM checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )?;
        rows.first()
            .map(|r| self.with_cosignatures(r.get(0), r.get(1), r.get(2)))
            .transpose()
    }
}
