//! The SQLite schema and its migrations.
//!
//! The schema version lives in `PRAGMA user_version` (SQLite file format §1.3.13: a free
//! 32-bit integer in the database header). [`MIGRATIONS`]`[i]` takes a database from
//! version `i` to `i + 1`; each runs in its own transaction together with the version bump,
//! so a crash mid-migration leaves the previous version intact. A later change appends a
//! migration (never edits a shipped one). A file with a newer version is refused.
//!
//! `PRAGMA application_id` (header offset 68) marks the file as skyfence's, so pointing
//! `[store] path` at some other program's database fails instead of altering it.
//!
//! Conventions: times are integer microseconds since the Unix epoch (as `Timestamp`);
//! `target` is the target's store key (`TargetId::key`: the ICAO address as 6 lowercase hex
//! digits, `rid:ID` for a Remote ID, `trk:SENSOR/NUMBER` for a sensor's track number);
//! incident ids are their 16 hex digits; `protocol` is `Protocol::code` (1 Mode S,
//! 2 ASTERIX, 3 Remote ID).

/// `"SKYF"` as a big-endian integer.
pub const APPLICATION_ID: i64 = 0x534b_5946;

/// Schema migrations; the schema version is the number applied.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: incidents, events, positions, frames, acknowledgements, delivery cursors.
const V1: &str = r#"
-- One row per incident: its latest version as JSON (docs/INTERFACES.md "Incident") plus the
-- columns the API filters and sorts on.
CREATE TABLE incidents (
    id             TEXT PRIMARY KEY,
    zone           TEXT NOT NULL,
    target         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('open', 'closed', 'lost')),
    authorised     INTEGER NOT NULL,
    classification TEXT NOT NULL,
    entered_at     INTEGER NOT NULL,
    exited_at      INTEGER,
    last_seen_at   INTEGER NOT NULL,
    json           TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX incidents_by_entry  ON incidents (entered_at, id);
CREATE INDEX incidents_by_status ON incidents (status, entered_at);
CREATE INDEX incidents_by_zone   ON incidents (zone, entered_at);
CREATE INDEX incidents_by_target ON incidents (target, entered_at);
CREATE INDEX incidents_by_last_seen ON incidents (last_seen_at);

-- Every event, in the order stored: `seq` is the SSE id and the delivery cursor.
-- AUTOINCREMENT so a number is never reused, even after retention deletes the newest rows.
-- `dedup` makes re-applying a batch a no-op: "<incident id>/<kind>" for incident events
-- (an incident is confirmed once and ends once), "approach/<zone>/<target>/<at>" otherwise.
CREATE TABLE events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup       TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    zone        TEXT NOT NULL,
    target      TEXT NOT NULL,
    incident_id TEXT,
    json        TEXT NOT NULL
);
CREATE INDEX events_by_incident ON events (incident_id);
CREATE INDEX events_by_time ON events (at);

-- Track positions of targets with incidents, per target (a target inside nested zones has
-- several incidents but one track).
CREATE TABLE positions (
    target TEXT NOT NULL,
    at     INTEGER NOT NULL,
    lat    REAL NOT NULL,
    lon    REAL NOT NULL,
    alt_ft INTEGER,
    PRIMARY KEY (target, at)
) WITHOUT ROWID;

-- Raw frames of targets with incidents: the evidence (ARCHITECTURE.md invariant 5). The
-- same frame heard by two receivers is two rows; the same frame stored twice is one.
CREATE TABLE frames (
    target TEXT NOT NULL,
    at     INTEGER NOT NULL,
    source TEXT NOT NULL,
    bytes  BLOB NOT NULL,
    signal INTEGER,
    mlat   INTEGER NOT NULL,
    PRIMARY KEY (target, at, source, bytes)
) WITHOUT ROWID;

-- Operator acknowledgements: an audit log, append-only (retention may delete the rows of
-- purged incidents, nothing may change one).
CREATE TABLE acks (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT NOT NULL,
    at          INTEGER NOT NULL,
    operator    TEXT NOT NULL,
    note        TEXT NOT NULL
);
CREATE INDEX acks_by_incident ON acks (incident_id, seq);
CREATE TRIGGER acks_append_only BEFORE UPDATE ON acks
BEGIN
    SELECT RAISE(ABORT, 'acks are append-only');
END;

-- Alert delivery (outbox pattern over `events`): per sink, the last event sequence number
-- delivered. A sink advances it only after delivery, so delivery is at-least-once across
-- restarts.
CREATE TABLE delivery_cursors (
    sink TEXT PRIMARY KEY,
    seq  INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Version 3: alert delivery state: the attempt in progress per sink and the
/// dead letters operators see in `GET /api/alerts`.
const V3: &str = r#"
-- The delivery a sink is trying now (head of its line), so that the attempt count and
-- the age that decides dead-lettering survive a restart. At most one row per sink; the
-- row goes when the event is delivered or dead-lettered.
CREATE TABLE delivery_attempts (
    sink             TEXT PRIMARY KEY,
    seq              INTEGER NOT NULL,
    attempts         INTEGER NOT NULL,
    first_attempt_at INTEGER NOT NULL,
    last_attempt_at  INTEGER NOT NULL,
    last_error       TEXT NOT NULL
) WITHOUT ROWID;

-- Events a sink gave up on (too old, or refused for good). The sink's cursor has moved
-- past them; `retry` = 1 asks the sink to deliver the event once more (the row goes when
-- that succeeds).
CREATE TABLE dead_letters (
    sink             TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    incident_id      TEXT,
    event            TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    first_attempt_at INTEGER NOT NULL,
    last_attempt_at  INTEGER NOT NULL,
    last_error       TEXT NOT NULL,
    retry            INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sink, seq)
) WITHOUT ROWID;
"#;

/// Version 2: the evidence log (`crate::evidence`): leaves, Merkle nodes, signed
/// checkpoints and witness cosignatures.
const V2: &str = r#"
-- One row per leaf of the RFC 6962 evidence log. `bytes` is the leaf's canonical encoding
-- (skyfence_evidence::leaf), cleared (NULL) only by retention; `hash` its leaf hash
-- (level 0 of the tree), kept for ever; the other columns find an incident's leaves
-- (`target`, `at` for raw frames; `incident_id`) and a dataset's.
CREATE TABLE evidence_leaves (
    idx          INTEGER PRIMARY KEY,
    kind         INTEGER NOT NULL,
    at           INTEGER NOT NULL,
    target       TEXT,
    incident_id  TEXT,
    name         TEXT,
    dataset_kind INTEGER,
    hash         BLOB NOT NULL,
    bytes        BLOB
);
CREATE INDEX evidence_frames ON evidence_leaves (target, at) WHERE kind = 3;
CREATE INDEX evidence_by_incident ON evidence_leaves (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX evidence_datasets ON evidence_leaves (kind, dataset_kind, name, idx) WHERE kind IN (1, 2);
CREATE TRIGGER evidence_leaves_no_delete BEFORE DELETE ON evidence_leaves
BEGIN
    SELECT RAISE(ABORT, 'evidence leaves are append-only');
END;
CREATE TRIGGER evidence_leaves_only_clear BEFORE UPDATE ON evidence_leaves
WHEN NEW.bytes IS NOT NULL OR NEW.idx IS NOT OLD.idx OR NEW.kind IS NOT OLD.kind
  OR NEW.at IS NOT OLD.at OR NEW.target IS NOT OLD.target
  OR NEW.incident_id IS NOT OLD.incident_id OR NEW.name IS NOT OLD.name
  OR NEW.dataset_kind IS NOT OLD.dataset_kind OR NEW.hash IS NOT OLD.hash
BEGIN
    SELECT RAISE(ABORT, 'evidence leaves are append-only (retention may only clear bytes)');
END;

-- The complete subtrees of two or more leaves, (level >= 1, index).
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle nodes never change');
END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN
    SELECT RAISE(ABORT, 'merkle nodes never change');
END;

-- Signed checkpoints (C2SP tlog-checkpoint in a signed note), as the log signed them.
CREATE TABLE checkpoints (
    size INTEGER PRIMARY KEY,
    at   INTEGER NOT NULL,
    note TEXT NOT NULL
);

-- Witness cosignature lines (C2SP tlog-cosignature), per checkpoint, in arrival order.
CREATE TABLE cosignatures (
    size   INTEGER NOT NULL REFERENCES checkpoints (size),
    name   TEXT NOT NULL,
    key_id INTEGER NOT NULL,
    line   TEXT NOT NULL,
    at     INTEGER NOT NULL,
    UNIQUE (size, name, key_id)
);
"#;

/// Version 4: raw evidence of any protocol. `frames` gains `protocol` (existing rows are
/// Mode S frames, code 1) and `dbm` (a signal in dBm, from Bluetooth or Wi-Fi receivers;
/// `signal` stays the receiver's 0-255 level), and the protocol joins the primary key (the
/// same bytes in two protocols are two records). SQLite cannot change a primary key in
/// place, so the table is rebuilt. The index that finds an incident's raw evidence leaves
/// covers kind 0x06 (`RawRecord`) besides the legacy kind 0x03 (`RawFrame`).
const V4: &str = r#"
CREATE TABLE frames_v4 (
    target   TEXT NOT NULL,
    at       INTEGER NOT NULL,
    source   TEXT NOT NULL,
    protocol INTEGER NOT NULL DEFAULT 1,
    bytes    BLOB NOT NULL,
    signal   INTEGER,
    dbm      INTEGER,
    mlat     INTEGER NOT NULL,
    PRIMARY KEY (target, at, source, protocol, bytes)
) WITHOUT ROWID;
INSERT INTO frames_v4 (target, at, source, protocol, bytes, signal, dbm, mlat)
    SELECT target, at, source, 1, bytes, signal, NULL, mlat FROM frames;
DROP TABLE frames;
ALTER TABLE frames_v4 RENAME TO frames;

DROP INDEX evidence_frames;
CREATE INDEX evidence_frames ON evidence_leaves (target, at) WHERE kind IN (3, 6);
"#;

/// Version 5: the key rotation leaves (kind 0x08) by index, which every export and each
/// bundle of a dossier reads (without it, a scan of the whole log per bundle).
const V5: &str = r#"
CREATE INDEX evidence_rotations ON evidence_leaves (idx) WHERE kind = 8;
"#;

/// Version 6: the sensor state leaves (kind 0x09) by index, which every export reads to
/// show whether the sensors were up during the incident (without it, a scan of the whole
/// log per bundle).
const V6: &str = r#"
CREATE INDEX evidence_sensor_states ON evidence_leaves (idx) WHERE kind = 9;
"#;
