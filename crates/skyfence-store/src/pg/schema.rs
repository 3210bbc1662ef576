//! The PostgreSQL schema and its migrations.
//!
//! The same tables as the SQLite schema (`crate::schema`, at its version 4), with
//! PostgreSQL types, plus PostGIS geometry on `incidents` for GIS analysts. The schema
//! version and the application id live in `skyfence_meta` (PostgreSQL has no free header
//! fields); so does the last event sequence number (SQLite's `sqlite_sequence`), so a
//! number is never reused after retention deleted the newest events. [`MIGRATIONS`]`[i]`
//! takes a schema from version `i` to `i + 1`, each in one transaction with the version
//! bump (PostgreSQL's DDL is transactional) under an advisory lock, so two processes
//! starting at once do not both migrate. A later change appends a migration; a schema with
//! a newer version is refused.
//!
//! The tables live in the first schema of the connection's `search_path` (by default
//! `public`); PostGIS may live in any schema on the path.
//!
//! Conventions as in SQLite: times are `bigint` microseconds since the Unix epoch (the
//! incidents also carry `timestamptz` columns computed from them for people), `target` is
//! `TargetId::key`, incident ids are 16 hex digits, `protocol` is `Protocol::code`.

/// Schema migrations of the PostgreSQL backend; the schema version is the number applied.
pub const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build writes to PostgreSQL.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1: everything SQLite's versions 1 to 4 hold, and the incidents' geometry.
const V1: &str = r#"
CREATE TABLE skyfence_meta (
    key   text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO skyfence_meta (key, value) VALUES ('last_event_seq', 0);

-- One row per incident: its latest JSON (docs/INTERFACES.md "Incident"), the columns the
-- API filters on, and geometry in WGS-84 (SRID 4326) for GIS tools: the entry and exit
-- points and the track line over the incident's window (from the pre-entry window to the
-- end; kept current while the incident is open).
CREATE TABLE incidents (
    id             text PRIMARY KEY,
    zone           text NOT NULL,
    target         text NOT NULL,
    status         text NOT NULL CHECK (status IN ('open', 'closed', 'lost')),
    authorised     boolean NOT NULL,
    classification text NOT NULL,
    entered_at     bigint NOT NULL,
    exited_at      bigint,
    last_seen_at   bigint NOT NULL,
    json           text NOT NULL,
    entered        timestamptz GENERATED ALWAYS AS (to_timestamp(entered_at / 1e6)) STORED,
    exited         timestamptz GENERATED ALWAYS AS (to_timestamp(exited_at / 1e6)) STORED,
    entry_point    geometry(Point, 4326),
    exit_point     geometry(Point, 4326),
    track          geometry(LineString, 4326)
);
CREATE INDEX incidents_by_entry     ON incidents (entered_at, id);
CREATE INDEX incidents_by_status    ON incidents (status, entered_at);
CREATE INDEX incidents_by_zone      ON incidents (zone, entered_at);
CREATE INDEX incidents_by_target    ON incidents (target, entered_at);
CREATE INDEX incidents_by_last_seen ON incidents (last_seen_at);
CREATE INDEX incidents_entry_point  ON incidents USING gist (entry_point);
CREATE INDEX incidents_track        ON incidents USING gist (track);

-- Every event in the order stored; `seq` is the SSE id and the delivery cursor, given
-- under the writers' lock from skyfence_meta.last_event_seq (a sequence object would
-- leave gaps on rollback and could commit out of order). `dedup` as in SQLite.
CREATE TABLE events (
    seq         bigint PRIMARY KEY,
    dedup       text NOT NULL UNIQUE,
    kind        text NOT NULL,
    at          bigint NOT NULL,
    zone        text NOT NULL,
    target      text NOT NULL,
    incident_id text,
    json        text NOT NULL
);
CREATE INDEX events_by_incident ON events (incident_id);
CREATE INDEX events_by_time ON events (at);

CREATE TABLE positions (
    target text NOT NULL,
    at     bigint NOT NULL,
    lat    double precision NOT NULL,
    lon    double precision NOT NULL,
    alt_ft integer,
    PRIMARY KEY (target, at)
);

CREATE TABLE frames (
    target   text NOT NULL,
    at       bigint NOT NULL,
    source   text NOT NULL,
    protocol smallint NOT NULL,
    bytes    bytea NOT NULL,
    signal   smallint,
    dbm      smallint,
    mlat     boolean NOT NULL,
    PRIMARY KEY (target, at, source, protocol, bytes)
);

CREATE FUNCTION skyfence_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0];
END $$;

CREATE TABLE acks (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id text NOT NULL,
    at          bigint NOT NULL,
    operator    text NOT NULL,
    note        text NOT NULL
);
CREATE INDEX acks_by_incident ON acks (incident_id, seq);
CREATE TRIGGER acks_append_only BEFORE UPDATE ON acks
    FOR EACH ROW EXECUTE FUNCTION skyfence_refuse('acks are append-only');

CREATE TABLE delivery_cursors (
    sink text PRIMARY KEY,
    seq  bigint NOT NULL
);

CREATE TABLE delivery_attempts (
    sink             text PRIMARY KEY,
    seq              bigint NOT NULL,
    attempts         integer NOT NULL,
    first_attempt_at bigint NOT NULL,
    last_attempt_at  bigint NOT NULL,
    last_error       text NOT NULL
);

CREATE TABLE dead_letters (
    sink             text NOT NULL,
    seq              bigint NOT NULL,
    incident_id      text,
    event            text NOT NULL,
    attempts         integer NOT NULL,
    first_attempt_at bigint NOT NULL,
    last_attempt_at  bigint NOT NULL,
    last_error       text NOT NULL,
    retry            boolean NOT NULL DEFAULT false,
    PRIMARY KEY (sink, seq)
);

-- The evidence log (see the SQLite schema's version 2 and 4).
CREATE TABLE evidence_leaves (
    idx          bigint PRIMARY KEY,
    kind         smallint NOT NULL,
    at           bigint NOT NULL,
    target       text,
    incident_id  text,
    name         text,
    dataset_kind smallint,
    hash         bytea NOT NULL,
    bytes        bytea
);
CREATE INDEX evidence_frames ON evidence_leaves (target, at) WHERE kind IN (3, 6);
CREATE INDEX evidence_by_incident ON evidence_leaves (incident_id) WHERE incident_id IS NOT NULL;
CREATE INDEX evidence_datasets ON evidence_leaves (kind, dataset_kind, name, idx) WHERE kind IN (1, 2);
CREATE TRIGGER evidence_leaves_no_delete BEFORE DELETE ON evidence_leaves
    FOR EACH ROW EXECUTE FUNCTION skyfence_refuse('evidence leaves are append-only');
CREATE TRIGGER evidence_leaves_only_clear BEFORE UPDATE ON evidence_leaves
    FOR EACH ROW WHEN (NEW.bytes IS NOT NULL OR NEW.idx IS DISTINCT FROM OLD.idx
        OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.at IS DISTINCT FROM OLD.at
        OR NEW.target IS DISTINCT FROM OLD.target
        OR NEW.incident_id IS DISTINCT FROM OLD.incident_id
        OR NEW.name IS DISTINCT FROM OLD.name
        OR NEW.dataset_kind IS DISTINCT FROM OLD.dataset_kind
        OR NEW.hash IS DISTINCT FROM OLD.hash)
    EXECUTE FUNCTION skyfence_refuse('evidence leaves are append-only (retention may only clear bytes)');

CREATE TABLE merkle_nodes (
    level smallint NOT NULL,
    idx   bigint NOT NULL,
    hash  bytea NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER merkle_nodes_no_change BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION skyfence_refuse('merkle nodes never change');

CREATE TABLE checkpoints (
    size bigint PRIMARY KEY,
    at   bigint NOT NULL,
    note text NOT NULL
);

CREATE TABLE cosignatures (
    id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    size   bigint NOT NULL REFERENCES checkpoints (size),
    name   text NOT NULL,
    key_id bigint NOT NULL,
    line   text NOT NULL,
    at     bigint NOT NULL,
    UNIQUE (size, name, key_id)
);
"#;

/// Version 2 (SQLite's version 5): the key rotation leaves (kind 0x08) by index.
const V2: &str = r#"
CREATE INDEX evidence_rotations ON evidence_leaves (idx) WHERE kind = 8;
"#;

/// Version 3 (SQLite's version 6): the sensor state leaves (kind 0x09) by index.
const V3: &str = r#"
CREATE INDEX evidence_sensor_states ON evidence_leaves (idx) WHERE kind = 9;
"#;
