//! The durable store of skyfence: incidents, their tracks and raw frames, and the event
//! log ("Store"; ARCHITECTURE.md "IncidentStore trait; SQLite (default),
//! PostgreSQL (later)").
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
//! via [`SqliteStore::reader`]) never block the writer and see only committed batches.
//! See [`Durability`] for what a crash can and cannot lose.
//!
//! # How the runtime drives it
//!
//! 1. Start: `SqliteStore::open(path)`; for each of `open_incidents()`,
//!    `detector.resume(&p.incident, p.last_or_entry())`. Continue SSE ids after
//!    `last_seq()`.
//! 2. Detector task: frames of targets without an incident go into a [`FrameRing`]; on a
//!    `confirmed` event the target's ring is taken into the batch, and until its
//!    incidents end its frames and positions go to the batch directly, with the events.
//! 3. Store task (blocking): every ~100 ms, `apply(&batch)`; then publish the events
//!    whose `Applied::event_seqs` entry is `Some(seq)` (SSE id = seq) and clear the batch.
//!    On error, keep the batch and apply it again (idempotent); never publish first.
//! 4. API: one [`SqliteStore::reader`] per blocking worker. Alerts: `events_since
//!    (delivery_cursor(sink))`, deliver, `set_delivery_cursor`. Retention: once an hour,
//!    `purge_older_than(now - retention)`.
//!
//! The same JSON shape of an incident (docs/INTERFACES.md, "Incident") is stored, served and
//! exported: the store keeps each incident's latest JSON and indexes the fields the API
//! filters on.

mod delivery;
mod error;
mod evidence;
mod model;
mod ring;
mod schema;
mod sqlite;

pub use delivery::{DeadLetter, DeliveryAttempt};
pub use error::StoreError;
pub use evidence::{IndexedLeaf, LeafRow, StoredCheckpoint};
pub use model::{
    Ack, Applied, Durability, FrameRecord, IncidentDetail, IncidentFilter, PositionRecord, Purged,
    ResumePoint, StoreBatch, StoreOptions, StoredEvent,
};
pub use ring::{FrameRing, RingFrame};
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use skyfence_core::airspace::{zone_from_geojson, zone_geojson};
pub use skyfence_core::detect::TrackPoint;
pub use sqlite::SqliteStore;

use skyfence_core::Timestamp;
use skyfence_core::detect::{Incident, IncidentId};

/// Where incidents, their evidence and the event log are kept.
///
/// Writes take `&mut self` (one writer); reads take `&self`. Implementations are `Send`,
/// so the runtime can move one into a blocking task.
pub trait IncidentStore: Send {
    /// Stores a batch in one transaction: all of it or (on error, or a crash) none of it.
    /// Idempotent: applying the same batch again stores nothing new.
    fn apply(&mut self, batch: &StoreBatch) -> Result<Applied, StoreError>;

    /// Incidents matching `filter`, newest entry first (ties by id, descending).
    fn incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>, StoreError>;

    /// One incident with its track, or `None` when unknown (or purged).
    fn incident(&self, id: IncidentId) -> Result<Option<IncidentDetail>, StoreError>;

    /// The raw frames of an incident's target over the same window as its track (the
    /// evidence a bundle signs), oldest first; `None` when the incident is unknown.
    fn incident_frames(&self, id: IncidentId) -> Result<Option<Vec<FrameRecord>>, StoreError>;

    /// The open incidents, by entry time, zone and id, each with the position to resume
    /// it from.
    fn open_incidents(&self) -> Result<Vec<ResumePoint>, StoreError>;

    /// Up to `limit` events with sequence numbers above `after`, in order (SSE catch-up
    /// with `Last-Event-ID`, alert delivery).
    fn events_since(&self, after: u64, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;

    /// The highest sequence number ever given to an event (0 when none): a new SSE client
    /// starts after it.
    fn last_seq(&self) -> Result<u64, StoreError>;

    /// Retention: deletes closed and lost incidents that ended before `cut_off` with
    /// their events and acknowledgements, approach events before it, and positions and
    /// frames before it that no remaining incident's window reaches. Open incidents and
    /// their evidence are never deleted.
    fn purge_older_than(&mut self, cut_off: Timestamp) -> Result<Purged, StoreError>;

    /// Appends an operator's acknowledgement of incident `id` to the audit log; `None`
    /// when the incident is unknown.
    fn acknowledge(
        &mut self,
        id: IncidentId,
        at: Timestamp,
        operator: &str,
        note: &str,
    ) -> Result<Option<Ack>, StoreError>;

    /// The acknowledgements of incident `id`, oldest first.
    fn acks(&self, id: IncidentId) -> Result<Vec<Ack>, StoreError>;

    /// The last event sequence number delivered to alert sink `sink` (0 when none).
    fn delivery_cursor(&self, sink: &str) -> Result<u64, StoreError>;

    /// Records that `sink` has delivered every event up to `seq`. Never moves back.
    fn set_delivery_cursor(&mut self, sink: &str, seq: u64) -> Result<(), StoreError>;
}
