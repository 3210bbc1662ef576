//! The durable store of skyfence: incidents, their tracks and raw evidence, the event
//! log, alert delivery state and the evidence log ("Store"; ARCHITECTURE.md
//! "IncidentStore trait; SQLite (default), PostgreSQL (later)").
//!
//! # Seams
//!
//! The service and the CLI see three traits and never a backend: [`IncidentStore`]
//! (batches, events, incidents, resume points, retention, acknowledgements),
//! [`DeliveryStore`] (alert cursors, attempts, dead letters) and [`EvidenceLogStore`] (the
//! RFC 6962 evidence log: leaves, tree nodes, checkpoints, cosignatures). [`Store`] is all
//! three plus opening more connections to the same store. Only [`open`] names a backend,
//! chosen by a [`StoreUrl`] (`sqlite:PATH`, or `postgres://…` for [`pg::PgStore`], cargo
//! feature `postgres`, on by default).
//! The `conformance` suite (cargo feature `conformance`) states what every backend
//! promises, using only the traits; `cargo test -p skyfence-store` runs it against SQLite
//! and against a PostgreSQL server the test starts (`tests/conformance_pg.rs`).
//! The calls are synchronous: the service runs them on blocking threads.
//!
//! The runtime writes from one blocking task in batches ([`StoreBatch`], about every
//! 100 ms), each in one transaction, and publishes an event only after
//! [`IncidentStore::apply`] has returned (ARCHITECTURE.md invariant 3: "every incident is
//! written before it is acknowledged or alerted"). Re-applying a batch is harmless, so a
//! writer that is unsure whether a commit happened simply applies it again. At start-up
//! [`IncidentStore::open_incidents`] gives each open incident with the last position to
//! hand to `Detector::resume`: a restart loses nothing and duplicates nothing.
//!
//! [`SqliteStore`] keeps everything in one SQLite file in WAL mode: readers (the HTTP API,
//! via [`Store::reader`]) never block the writer and see only committed batches.
//! See [`Durability`] for what a crash can and cannot lose.
//!
//! # How the runtime drives it
//!
//! 1. Start: `skyfence_store::open(&url, options)`; for each of `open_incidents()`,
//!    `detector.resume(&p.incident, p.last_or_entry())`. Continue SSE ids after
//!    `last_seq()`.
//! 2. Detector task: frames of targets without an incident go into a [`FrameRing`]; on a
//!    `confirmed` event the target's ring is taken into the batch, and until its
//!    incidents end its frames and positions go to the batch directly, with the events.
//! 3. Store task (blocking): every ~100 ms, `apply(&batch)`; then publish the events
//!    whose `Applied::event_seqs` entry is `Some(seq)` (SSE id = seq) and clear the batch.
//!    On error, keep the batch and apply it again (idempotent); never publish first.
//! 4. API: one [`Store::reader`] per blocking worker. Alerts: `events_since
//!    (delivery_cursor(sink))`, deliver, `delivered`. Retention: once an hour,
//!    `purge_older_than(now - retention)`.
//!
//! The same JSON shape of an incident (docs/INTERFACES.md, "Incident") is stored, served and
//! exported: the store keeps each incident's latest JSON and indexes the fields the API
//! filters on.

pub mod check;
#[cfg(feature = "conformance")]
pub mod conformance;
mod cosign;
mod error;
pub mod export;
mod model;
#[cfg(feature = "postgres")]
pub mod pg;
mod ring;
mod schema;
mod sqlite;
mod url;

pub use error::StoreError;

/// The most cosignatures one checkpoint keeps. A store holds only cosignatures the service
/// verified against a configured witness key, so this bounds what readers (export, the
/// checkpoint route, `log verify`, witnesses) ever see, also in a store written by an
/// older version that kept unverified ones: readers take the first this many.
pub const MAX_COSIGNATURES: usize = 16;
pub use export::{SignError, sign_if_grown};
pub use model::{
    Ack, Applied, DEFAULT_WAL_LIMIT_BYTES, DeadLetter, DeliveryAttempt, Durability, FrameRecord,
    IncidentDetail, IncidentFilter, IndexedLeaf, LeafRow, PositionRecord, Purged, ResumePoint,
    StoreBatch, StoreOptions, StoredCheckpoint, StoredEvent,
};
pub use ring::{FrameRing, RingFrame};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use skyfence_core::airspace::{zone_from_geojson, zone_geojson};
pub use skyfence_core::detect::TrackPoint;
pub use sqlite::SqliteStore;
pub use url::{KNOWN_SCHEMES, StoreUrl};

use skyfence_core::Timestamp;
use skyfence_core::detect::{Incident, IncidentId};
use skyfence_evidence::merkle::{self, Hash, HashStore, MerkleLog, StoredNode};
use skyfence_evidence::{DatasetKind, EvidenceLeaf};

/// Opens (creating if needed) the store `url` names: the one place that picks a backend.
pub fn open(url: &StoreUrl, options: StoreOptions) -> Result<Box<dyn Store>, StoreError> {
    match url {
        StoreUrl::Sqlite(path) => Ok(Box::new(SqliteStore::open_with(path, options)?)),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(url) => Ok(Box::new(pg::PgStore::open_with(url, options)?)),
        #[cfg(not(feature = "postgres"))]
        StoreUrl::Postgres(_) => Err(StoreError::Url {
            url: url.to_string(),
            reason: "the PostgreSQL backend is not built in (cargo feature `postgres`)".into(),
        }),
    }
}

/// A connection to a store: incidents and events, alert delivery and the evidence log,
/// plus more connections to the same store. Each connection is used by one thread at a
/// time (`Send`, not `Sync`); several connections may write (each write is one
/// transaction).
pub trait Store: IncidentStore + DeliveryStore + EvidenceLogStore {
    /// A read-only connection to the same store (the HTTP API's): it sees every write
    /// committed before each of its queries starts, and never blocks a writer.
    fn reader(&self) -> Result<Box<dyn Store>, StoreError>;

    /// Another writing connection to the same store with the same options (the
    /// acknowledgement writer, an alert sink, the checkpoint signer).
    fn writer(&self) -> Result<Box<dyn Store>, StoreError>;

    /// Housekeeping a live writer leaves to another connection so no commit waits for it
    /// (SQLite: copies the WAL into the database file, see [`StoreOptions::auto_checkpoint`]).
    /// Cheap when there is nothing to do.
    fn maintain(&self) -> Result<(), StoreError>;

    /// Where the store is, as messages name it (a file path, a URL without password).
    fn location(&self) -> String;

    /// A quick check of the store's own structure at start (SQLite: `PRAGMA
    /// quick_check`, which reads every page but skips the slower index-content checks):
    /// the problems found, none when it is sound. Backends with nothing cheaper than a
    /// full check report none.
    fn quick_check(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// Closes the connection, reporting a failure to flush. Dropping it closes it too,
    /// silently.
    fn close(self: Box<Self>) -> Result<(), StoreError>;
}

/// Incidents, their tracks and raw evidence, and the event log.
///
/// Writes take `&mut self` (one writer per connection); reads take `&self`.
/// Implementations are `Send`, so the runtime can move one into a blocking task.
pub trait IncidentStore: Send {
    /// Stores a batch in one transaction: all of it or (on error, or a crash) none of it.
    /// Idempotent: applying the same batch again stores nothing new. Event sequence
    /// numbers increase strictly, are never reused and have no gaps between the events of
    /// one call.
    fn apply(&mut self, batch: &StoreBatch) -> Result<Applied, StoreError>;

    /// Incidents matching `filter`, newest entry first (ties by id, descending).
    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError>;

    /// One incident with its track, or `None` when unknown (or purged).
    fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>, StoreError>;

    /// The raw evidence of an incident's target over the same window as its track (the
    /// evidence a bundle signs), oldest first; `None` when the incident is unknown.
    fn incident_frames(&self, id: IncidentId) -> Result<Option<Vec<FrameRecord>>, StoreError>;

    /// The open incidents, by entry time, zone and id, each with the position to resume
    /// it from.
    fn open_incidents(&self) -> Result<Vec<ResumePoint>, StoreError>;

    /// Up to `limit` events with sequence numbers above `after`, in order (SSE catch-up
    /// with `Last-Event-ID`, alert delivery).
    fn events_since(&self, after: u64, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;

    /// The stored event `seq`, `None` when there is none (never stored, or purged).
    fn event(&self, seq: u64) -> Result<Option<StoredEvent>, StoreError>;

    /// How many stored events have a sequence number above `seq` (a sink's backlog).
    fn events_after(&self, seq: u64) -> Result<u64, StoreError>;

    /// The highest sequence number ever given to an event (0 when none), even if
    /// retention deleted it: a new SSE client starts after it.
    fn last_seq(&self) -> Result<u64, StoreError>;

    /// Retention: deletes closed and lost incidents that ended before `cut_off` with
    /// their events and acknowledgements, approach events before it, and positions and
    /// frames before it that no remaining incident's window reaches; clears the bytes of
    /// the evidence leaves of what it deleted. Open incidents and their evidence are never
    /// deleted, nor an event some alert sink has not delivered (or holds as a dead
    /// letter).
    fn purge_older_than(&mut self, cut_off: Timestamp) -> Result<Purged, StoreError>;

    /// Appends an operator's acknowledgement of incident `id` to the audit log (and an
    /// `OperatorAck` leaf to the evidence log, in the same transaction); `None` when the
    /// incident is unknown.
    fn acknowledge(
        &mut self,
        id: IncidentId,
        at: Timestamp,
        operator: &str,
        note: &str,
    ) -> Result<Option<Ack>, StoreError>;

    /// The acknowledgements of incident `id`, oldest first.
    fn acks(&self, id: IncidentId) -> Result<Vec<Ack>, StoreError>;
}

/// Alert delivery state ("a durable outbox in the store"): the event log is the outbox;
/// per sink a cursor, the attempt in progress and the dead letters. See the delivery
/// module of the SQLite backend for the loop a sink runs.
pub trait DeliveryStore: Send {
    /// The last event sequence number delivered to alert sink `sink` (0 when none).
    fn delivery_cursor(&self, sink: &str) -> Result<u64, StoreError> {
        Ok(self.delivery_cursor_if_any(sink)?.unwrap_or(0))
    }

    /// The sink's delivery cursor, `None` when the sink has never run on this store (a
    /// new sink starts at the end of the log instead of replaying history).
    fn delivery_cursor_if_any(&self, sink: &str) -> Result<Option<u64>, StoreError>;

    /// Records that `sink` has delivered every event up to `seq`. Never moves back.
    fn set_delivery_cursor(&mut self, sink: &str, seq: u64) -> Result<(), StoreError>;

    /// The attempt in progress of `sink`, if any.
    fn delivery_attempt(&self, sink: &str) -> Result<Option<DeliveryAttempt>, StoreError>;

    /// Records a failed attempt of `sink` to deliver event `seq` at `at`; returns the
    /// attempt state with it counted. An attempt for another event (left by a crash) is
    /// replaced: counting starts again for `seq`.
    fn record_failed_attempt(
        &mut self,
        sink: &str,
        seq: u64,
        at: Timestamp,
        error: &str,
    ) -> Result<DeliveryAttempt, StoreError>;

    /// `sink` delivered event `seq`: in one transaction, its cursor moves to `seq` (never
    /// back), its attempt goes, and a dead letter for `seq` (an operator's retry) goes.
    fn delivered(&mut self, sink: &str, seq: u64) -> Result<(), StoreError>;

    /// `sink` gives up on `letter.seq`: in one transaction the dead letter is stored
    /// (replacing an earlier one for the same event, with its retry request cleared), the
    /// attempt goes and the cursor moves past the event.
    fn dead_letter(&mut self, letter: &DeadLetter) -> Result<(), StoreError>;

    /// The dead letters of `sink` (every sink's when `None`), by sink and sequence number.
    fn dead_letters(&self, sink: Option<&str>) -> Result<Vec<DeadLetter>, StoreError>;

    /// Asks `sink` to try dead letter `seq` again; false when there is no such dead
    /// letter.
    fn request_retry(&mut self, sink: &str, seq: u64) -> Result<bool, StoreError>;

    /// The oldest dead letter of `sink` an operator asked to retry, if any.
    fn next_retry(&self, sink: &str) -> Result<Option<u64>, StoreError>;

    /// Forgets the delivery cursors and in-progress attempts of every sink not in
    /// `sinks` (a sink removed from the config): retention keeps every event some cursor
    /// has not passed, so a cursor nobody advances would hold it back for ever. Dead
    /// letters are kept. Returns how many cursors were removed.
    fn retain_delivery_cursors(&mut self, sinks: &[&str]) -> Result<usize, StoreError>;
}

/// The evidence log: an append-only RFC 6962 Merkle tree of canonical [`EvidenceLeaf`]s
/// (skyfence-evidence), its signed checkpoints and witness cosignatures.
///
/// A backend stores leaves and the tree's complete subtrees (the nodes
/// [`skyfence_evidence::HashStore`] describes: level 0 are leaf hashes); the root and
/// the proofs are computed from those nodes here, the same for every backend.
pub trait EvidenceLogStore: Send {
    /// The number of leaves in the log.
    fn evidence_size(&self) -> Result<u64, StoreError>;

    /// The stored node `(level, index)` of the tree, `None` when not stored (yet).
    fn evidence_node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError>;

    /// The stored nodes of `level` (0 = leaf hashes) with index in `start..end`, by
    /// index: what `skyfence log verify` compares with the tree it rebuilds.
    fn evidence_nodes(
        &self,
        level: u8,
        start: u64,
        end: u64,
    ) -> Result<Vec<(u64, Hash)>, StoreError>;

    /// The stored leaf hashes with index in `start..end`, by index: the only trace of a
    /// leaf whose bytes retention cleared.
    fn evidence_leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.evidence_nodes(0, start, end)
    }

    /// The leaves with index in `start..end`, as `(index, EvidenceLeaf bytes)`, by index.
    /// Leaves whose bytes retention cleared are left out.
    fn evidence_leaves(&self, start: u64, end: u64) -> Result<Vec<IndexedLeaf>, StoreError>;

    /// Every leaf row with index in `start..end` (cleared ones too), by index: for a
    /// verifier that must see gaps and cleared rows.
    fn evidence_leaf_rows(&self, start: u64, end: u64) -> Result<Vec<LeafRow>, StoreError>;

    /// The key rotation leaves (kind 0x08) of index under `size`, by index. Rotations
    /// are rare, but this default reads every leaf row; a backend may index them.
    fn key_rotation_leaves(&self, size: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        leaves_of_kind(self, 0x08, size)
    }

    /// The sensor state leaves (kind 0x09: a declared sensor came up or went down) of
    /// index under `size`, by index. They are few (a change of a sensor's state), but this
    /// default reads every leaf row; a backend may index them.
    fn sensor_state_leaves(&self, size: u64) -> Result<Vec<IndexedLeaf>, StoreError> {
        leaves_of_kind(self, 0x09, size)
    }

    /// The leaves a bundle for incident `id` carries, by index: its target's raw evidence
    /// leaves (kinds 0x03 and 0x06) over the incident's window (the window of
    /// [`IncidentStore::incident_frames`]), and its `IncidentStateChanged` and
    /// `OperatorAck` leaves. `None` when the incident is unknown.
    fn incident_evidence(&self, id: IncidentId) -> Result<Option<Vec<IndexedLeaf>>, StoreError>;

    /// The latest `DatasetLoaded` leaf of `kind` named `name` among the first `size`
    /// leaves: the dataset in force when the tree had `size` leaves.
    fn dataset_leaf(
        &self,
        kind: DatasetKind,
        name: &str,
        size: u64,
    ) -> Result<Option<IndexedLeaf>, StoreError>;

    /// The names of the datasets of `kind` recorded among the first `size` leaves, sorted.
    fn dataset_names(&self, kind: DatasetKind, size: u64) -> Result<Vec<String>, StoreError>;

    /// The latest `ConfigChanged` leaf among the first `size` leaves.
    fn config_leaf(&self, size: u64) -> Result<Option<IndexedLeaf>, StoreError>;

    /// Appends one leaf in its own transaction and returns its index. Two connections
    /// never give two leaves the same index.
    fn append_evidence(&mut self, leaf: &EvidenceLeaf) -> Result<u64, StoreError>;

    /// Appends a `DatasetLoaded` or `ConfigChanged` leaf unless the latest leaf of the same
    /// dataset (kind and name) or the latest configuration has the same content; returns
    /// the new index, or `None` when nothing changed (a restart does not grow the log).
    /// Checked and appended in one transaction.
    fn append_if_changed(&mut self, leaf: &EvidenceLeaf) -> Result<Option<u64>, StoreError>;

    /// Stores a checkpoint the log signed over its first `size` leaves. Storing the same
    /// size again keeps the first note. A size beyond the log is a
    /// [`StoreError::Conflict`].
    fn add_checkpoint(
        &mut self,
        size: u64,
        at: Timestamp,
        signed_note: &str,
    ) -> Result<(), StoreError>;

    /// Stores the signature lines of `signed_note_with_cosig` that the stored checkpoint
    /// of `size` lacks (a witness's cosignatures); returns how many were new. No stored
    /// checkpoint of `size` is [`StoreError::NotFound`]; a note whose text differs is
    /// [`StoreError::Conflict`], and so is a new line beyond [`MAX_COSIGNATURES`] for the
    /// checkpoint. Verifying a cosignature is the caller's job.
    fn add_cosignature(
        &mut self,
        size: u64,
        signed_note_with_cosig: &str,
    ) -> Result<usize, StoreError>;

    /// Every stored checkpoint, by size, each note with its cosignatures appended.
    fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError>;

    /// The checkpoint of the largest size, with its cosignatures.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// The RFC 6962 audit path of leaf `index` in the tree of the first `size` leaves.
    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        open_tree(self)?
            .inclusion_proof(index, size)
            .map_err(|e| log_conflict(self, "inclusion proof", e))
    }

    /// The RFC 6962 audit paths of the leaves `indices` in the tree of the first `size`
    /// leaves, in the order given: each equals [`EvidenceLogStore::inclusion_proof`]. For
    /// the many leaves of one bundle: the size is read once, the nodes near each run of
    /// close indices are read with one [`EvidenceLogStore::evidence_nodes`] range per
    /// level, and a node the paths share is read once, so an incident's few thousand
    /// consecutive leaves cost a few dozen queries rather than one per node of every path.
    /// Memory: the nodes read, about two per leaf asked for.
    fn inclusion_proofs(&self, indices: &[u64], size: u64) -> Result<Vec<Vec<Hash>>, StoreError> {
        let view = CachedTreeView::prefetched(self, indices, size)?;
        let tree = MerkleLog::open(view).map_err(|e| log_conflict(self, "open log", e))?;
        indices
            .iter()
            .map(|&i| {
                tree.inclusion_proof(i, size)
                    .map_err(|e| log_conflict(self, "inclusion proof", e))
            })
            .collect()
    }

    /// The RFC 6962 consistency proof from the tree of `old` leaves to that of `new`.
    fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        open_tree(self)?
            .consistency_proof(old, new)
            .map_err(|e| log_conflict(self, "consistency proof", e))
    }

    /// The RFC 6962 root of the tree of the first `size` leaves.
    fn evidence_root(&self, size: u64) -> Result<Hash, StoreError> {
        open_tree(self)?
            .root(size)
            .map_err(|e| log_conflict(self, "tree root", e))
    }

    /// Where the log is kept, as messages name it (see [`Store::location`]).
    fn log_location(&self) -> String;
}

/// A read-only [`HashStore`] over a log's stored nodes, so the tree's roots and proofs are
/// computed by skyfence-evidence's [`MerkleLog`] for every backend alike.
struct TreeView<'a, S: ?Sized>(&'a S);

impl<S: EvidenceLogStore + ?Sized> HashStore for TreeView<'_, S> {
    fn leaf_count(&self) -> Result<u64, merkle::StoreError> {
        self.0
            .evidence_size()
            .map_err(|e| merkle::StoreError(Box::new(e)))
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, merkle::StoreError> {
        self.0
            .evidence_node(level, index)
            .map_err(|e| merkle::StoreError(Box::new(e)))
    }

    fn append_nodes(&mut self, _: &[StoredNode]) -> Result<(), merkle::StoreError> {
        Err(merkle::StoreError(
            "the tree view is read-only (leaves are appended with append_evidence)".into(),
        ))
    }
}

/// A read-only [`HashStore`] over a log's stored nodes that remembers every node it read
/// (the many audit paths of one bundle share most of their nodes), filled beforehand with
/// range reads around the leaves asked for.
struct CachedTreeView<'a, S: ?Sized> {
    store: &'a S,
    size: u64,
    nodes: std::cell::RefCell<std::collections::HashMap<(u8, u64), Hash>>,
}

impl<'a, S: EvidenceLogStore + ?Sized> CachedTreeView<'a, S> {
    /// Indices closer than this share one range read per level.
    const RUN_GAP: u64 = 64;

    /// The view with, for each run of `indices` (sorted, gaps under [`Self::RUN_GAP`]),
    /// the complete subtrees of every level from the run's left neighbour to its right
    /// one already read: the siblings the audit paths of tree size `size` take there.
    fn prefetched(store: &'a S, indices: &[u64], size: u64) -> Result<Self, StoreError> {
        let view = CachedTreeView {
            store,
            size: store.evidence_size()?,
            nodes: Default::default(),
        };
        let mut sorted: Vec<u64> = indices.iter().copied().filter(|&i| i < size).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for i in sorted {
            match runs.last_mut() {
                Some((_, hi)) if i - *hi < Self::RUN_GAP => *hi = i,
                _ => runs.push((i, i)),
            }
        }
        let mut nodes = view.nodes.borrow_mut();
        for (lo, hi) in runs {
            for level in 0..64u8 {
                // Complete subtrees of this level within the first `size` leaves.
                let complete = size >> level;
                let (a, b) = (
                    (lo >> level).saturating_sub(1),
                    ((hi >> level) + 2).min(complete),
                );
                // Two nodes or fewer: the single reads of the paths do as well.
                if b <= a + 2 {
                    break;
                }
                for (i, h) in store.evidence_nodes(level, a, b)? {
                    nodes.insert((level, i), h);
                }
            }
        }
        drop(nodes);
        Ok(view)
    }
}

impl<S: EvidenceLogStore + ?Sized> HashStore for CachedTreeView<'_, S> {
    fn leaf_count(&self) -> Result<u64, merkle::StoreError> {
        Ok(self.size)
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, merkle::StoreError> {
        if let Some(h) = self.nodes.borrow().get(&(level, index)) {
            return Ok(Some(*h));
        }
        let h = self
            .store
            .evidence_node(level, index)
            .map_err(|e| merkle::StoreError(Box::new(e)))?;
        if let Some(h) = h {
            self.nodes.borrow_mut().insert((level, index), h);
        }
        Ok(h)
    }

    fn append_nodes(&mut self, _: &[StoredNode]) -> Result<(), merkle::StoreError> {
        Err(merkle::StoreError(
            "the tree view is read-only (leaves are appended with append_evidence)".into(),
        ))
    }
}

fn open_tree<S: EvidenceLogStore + ?Sized>(
    store: &S,
) -> Result<MerkleLog<TreeView<'_, S>>, StoreError> {
    MerkleLog::open(TreeView(store)).map_err(|e| log_conflict(store, "open log", e))
}

fn log_conflict<S: EvidenceLogStore + ?Sized>(
    store: &S,
    op: &'static str,
    reason: impl std::fmt::Display,
) -> StoreError {
    StoreError::Conflict {
        store: store.log_location(),
        op,
        reason: reason.to_string(),
    }
}

/// The leaves of `kind` under `size`, by index, read from every leaf row 4 096 at a time:
/// the default of the kind-specific reads of [`EvidenceLogStore`], for a backend without
/// an index on the kind.
fn leaves_of_kind<S: EvidenceLogStore + ?Sized>(
    store: &S,
    kind: u8,
    size: u64,
) -> Result<Vec<IndexedLeaf>, StoreError> {
    const CHUNK: u64 = 4096;
    let mut out = Vec::new();
    let mut start = 0;
    while start < size {
        let end = size.min(start + CHUNK);
        out.extend(
            store
                .evidence_leaf_rows(start, end)?
                .into_iter()
                .filter(|r| r.kind == kind)
                .filter_map(|r| Some((r.index, r.bytes?))),
        );
        start = end;
    }
    Ok(out)
}
