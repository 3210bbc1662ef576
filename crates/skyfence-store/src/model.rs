//! What goes into the store and what comes out of it.

use std::sync::Arc;
use std::time::Duration;

use skyfence_core::detect::{
    Event, Fix, Incident, IncidentId, IncidentStatus, Report, TargetInfo, TrackPoint,
};
use skyfence_core::{GeoPoint, RawRecord, TargetId, Timestamp};

/// Everything the runtime writes in one go (about every 100 ms): stored in one
/// transaction, so after a crash either all of it is there or none of it.
///
/// Re-applying a batch (the runtime retries one whose commit it did not see) adds nothing
/// twice: events are unique by incident and kind, positions by (target, time), raw records
/// by (target, time, source, protocol, bytes).
#[derive(Clone, Debug, Default)]
pub struct StoreBatch {
    /// Detector events in the order emitted. Each incident event also writes its incident.
    pub events: Vec<Event>,
    /// Current versions of open incidents (from `Detector::open_incidents`), so the stored
    /// copy's `last_seen_at`, `reports` and depth follow the target between events and a
    /// restart resumes from recent counts. Ignored for an incident the store already holds
    /// as closed or lost, or holds with a later `last_seen_at`; ignored unless `open`.
    pub snapshots: Vec<Incident>,
    /// Track positions of targets with incidents.
    pub positions: Vec<PositionRecord>,
    /// Raw evidence (records of any protocol) of targets with incidents, including the
    /// pre-entry ring.
    pub frames: Vec<FrameRecord>,
}

impl StoreBatch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.snapshots.is_empty()
            && self.positions.is_empty()
            && self.frames.is_empty()
    }

    /// Empties the batch, keeping its allocations for the next one.
    pub fn clear(&mut self) {
        self.events.clear();
        self.snapshots.clear();
        self.positions.clear();
        self.frames.clear();
    }
}

/// A track position to store.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionRecord {
    /// Whose.
    pub target: TargetId,
    /// Where and when.
    pub point: TrackPoint,
}

/// A raw record to store (or read back) as evidence: a Mode S frame, an ASTERIX record or
/// a Remote ID message, as received (ARCHITECTURE.md invariant 5).
#[derive(Clone, Debug, PartialEq)]
pub struct FrameRecord {
    /// Whose.
    pub target: TargetId,
    /// Receive time (or GNSS time) of the record.
    pub at: Timestamp,
    /// The configured source's name (`[[source]] name`); shared, not copied per record.
    pub source: Arc<str>,
    /// The protocol-tagged bytes with their signal and MLAT flag.
    pub record: RawRecord,
}

/// Which incidents `GET /api/incidents` lists.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentFilter {
    /// Only this status.
    pub status: Option<IncidentStatus>,
    /// Only this zone (exact name).
    pub zone: Option<String>,
    /// Only this target.
    pub target: Option<TargetId>,
    /// Only incidents active at or after this time (`last_seen_at >= since`), so an
    /// incursion that began before `since` and goes on is listed.
    pub since: Option<Timestamp>,
    /// At most this many (newest first); [`IncidentFilter::DEFAULT_LIMIT`] when `None`.
    pub limit: Option<u32>,
}

impl IncidentFilter {
    /// The limit when none is given: bounds the response of an unfiltered request.
    pub const DEFAULT_LIMIT: u32 = 1000;
}

/// An incident with its track: the body of `GET /api/incidents/{id}` (the incident's
/// fields plus `positions`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IncidentDetail {
    /// The incident.
    #[serde(flatten)]
    pub incident: Incident,
    /// The target's positions from [`StoreOptions::pre_entry`] before entry to the exit
    /// (closed), last report (lost) or now (open), oldest first.
    pub positions: Vec<TrackPoint>,
}

/// An open incident and where to resume it from after a restart (`Detector::resume`).
#[derive(Clone, Debug, PartialEq)]
pub struct ResumePoint {
    /// The stored incident (status `open`).
    pub incident: Incident,
    /// The target's last stored position at or before the incident's `last_seen_at`;
    /// `None` when no position was stored.
    pub last: Option<Report>,
}

impl ResumePoint {
    /// The report to resume from: the last stored position, or failing that the entry
    /// point at `last_seen_at` (the best the store knows).
    pub fn last_or_entry(&self) -> Report {
        self.last.unwrap_or(Report {
            at: self.incident.last_seen_at,
            pos: GeoPoint {
                lat: self.incident.entry.lat,
                lon: self.incident.entry.lon,
            },
            alt_ft: self.incident.entry.alt_ft,
        })
    }
}

/// A stored event with its sequence number (the SSE `id:`, the delivery cursor).
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Position in the store's event log, increasing, never reused.
    pub seq: u64,
    /// The event.
    pub event: Event,
}

/// What [`crate::IncidentStore::apply`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// For each event of the batch, in order: its sequence number when newly stored,
    /// `None` when the store already had it (a re-applied batch: do not publish again).
    pub event_seqs: Vec<Option<u64>>,
    /// Positions newly stored.
    pub positions: usize,
    /// Frames newly stored.
    pub frames: usize,
}

/// What [`crate::IncidentStore::purge_older_than`] deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    /// Closed and lost incidents.
    pub incidents: usize,
    /// Events (of those incidents, and approach events before the cut-off).
    pub events: usize,
    /// Positions.
    pub positions: usize,
    /// Frames.
    pub frames: usize,
    /// Acknowledgements of purged incidents.
    pub acks: usize,
}

/// An operator's acknowledgement of an incident (`POST /api/incidents/{id}/ack`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ack {
    /// Position in the audit log.
    pub seq: u64,
    /// The incident.
    pub incident_id: IncidentId,
    /// When it was acknowledged.
    pub at: Timestamp,
    /// Who acknowledged (as authenticated by the API).
    pub operator: String,
    /// Their note.
    pub note: String,
}

/// How hard a commit presses the data onto the disk (`PRAGMA synchronous`, with WAL).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// `FULL`: the WAL is fsync'ed at every commit. A committed batch survives a process
    /// kill, an OS crash and a power cut. The default: at one commit per ~100 ms batch the
    /// fsync costs little, and an incident is evidence.
    #[default]
    Full,
    /// `NORMAL`: fsync only at checkpoints. A committed batch survives a process kill
    /// (`kill -9`: it is in the OS page cache, which the kernel writes out), but an OS
    /// crash or power cut may lose the last commits (never corrupts the file). For
    /// disks where fsync is slow.
    Normal,
}

/// Settings of a [`crate::SqliteStore`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Commit durability.
    pub durability: Durability,
    /// How far before an incident's entry its track (and evidence) reaches: the length of
    /// the runtime's pre-entry ring. Used by [`crate::IncidentStore::incident`] and by
    /// retention, which keeps this much before every kept incident.
    pub pre_entry: Duration,
    /// How long a statement waits for another connection's lock before failing.
    pub busy_timeout: Duration,
    /// Whether a commit that fills the WAL past 1000 pages checkpoints it then and there
    /// (SQLite's default). A live writer sets this to false and calls
    /// [`crate::SqliteStore::checkpoint`] from another connection, so no commit waits
    /// for a checkpoint's fsync of the database file.
    pub auto_checkpoint: bool,
    /// The most bytes the write-ahead log may take on disk: a writer empties it after a
    /// commit that takes it past half of this (a checkpoint that waits for readers), and
    /// the file is trimmed back to this after every checkpoint that resets it (SQLite's
    /// `journal_size_limit`).
    pub wal_limit_bytes: u64,
}

/// The default of [`StoreOptions::wal_limit_bytes`].
pub const DEFAULT_WAL_LIMIT_BYTES: u64 = 64 << 20;

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            durability: Durability::Full,
            pre_entry: Duration::from_secs(300),
            busy_timeout: Duration::from_secs(5),
            auto_checkpoint: true,
            wal_limit_bytes: DEFAULT_WAL_LIMIT_BYTES,
        }
    }
}

/// Reads back the JSON `Event` serialises to (core's `Event` is write-only).
#[derive(serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub(crate) enum EventRepr {
    Approach {
        at: Timestamp,
        zone: String,
        target: TargetInfo,
        position: Fix,
    },
    Confirmed {
        at: Timestamp,
        incident: Incident,
    },
    Closed {
        at: Timestamp,
        incident: Incident,
    },
    Lost {
        at: Timestamp,
        incident: Incident,
    },
}

impl From<EventRepr> for Event {
    fn from(e: EventRepr) -> Self {
        match e {
            EventRepr::Approach {
                at,
                zone,
                target,
                position,
            } => Event::Approach {
                at,
                zone,
                target,
                position,
            },
            EventRepr::Confirmed { at, incident } => Event::Confirmed { at, incident },
            EventRepr::Closed { at, incident } => Event::Closed { at, incident },
            EventRepr::Lost { at, incident } => Event::Lost { at, incident },
        }
    }
}

/// The event a sink is trying to deliver now, and how that has gone so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// The event's sequence number.
    pub seq: u64,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the first attempt was made (the age that decides dead-lettering counts from
    /// here, across restarts).
    pub first_attempt_at: Timestamp,
    /// When the latest attempt was made.
    pub last_attempt_at: Timestamp,
    /// Why the latest attempt failed.
    pub last_error: String,
}

/// An event a sink gave up on: shown in `GET /api/alerts` (the shape of each entry of
/// `dead_letters`) and retried on an operator's request.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    /// The sink's name (`[[alert]] name`).
    #[serde(skip)]
    pub sink: String,
    /// The event's sequence number.
    pub seq: u64,
    /// The incident, `null` for an approach event.
    pub incident_id: Option<IncidentId>,
    /// The event kind (`confirmed`, `closed`, `lost`, `approach`).
    pub event: String,
    /// Attempts made.
    pub attempts: u32,
    /// First attempt.
    pub first_attempt_at: Timestamp,
    /// Last attempt.
    pub last_attempt_at: Timestamp,
    /// Why the last attempt failed.
    pub last_error: String,
    /// True when an operator asked for another try that has not finished yet.
    pub retrying: bool,
}

/// One leaf as `(index, EvidenceLeaf bytes)`.
pub type IndexedLeaf = (u64, Vec<u8>);

/// One row of the leaf table, for a verifier that must see every row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafRow {
    /// The leaf index.
    pub index: u64,
    /// The kind byte stored beside the leaf.
    pub kind: u8,
    /// The leaf's bytes; `None` once retention cleared them (the hash stays in the tree).
    pub bytes: Option<Vec<u8>>,
}

/// A signed checkpoint as stored, with every cosignature received for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// When the log signed it.
    pub at: Timestamp,
    /// The signed note (C2SP tlog-checkpoint in a signed note): the log's signature line
    /// first, then the witnesses' cosignature lines in the order they arrived.
    pub note: String,
    /// How many cosignature lines were added to the log's note.
    pub cosignatures: usize,
}
