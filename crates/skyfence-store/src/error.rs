//! Why a store operation failed, whatever the backend. Every message names the store (the
//! database file, or the URL of a server), so an operator running several services knows
//! which one to look at. No backend's error type appears here: a backend turns its own
//! errors into these kinds (the SQLite module's `From` mapping), keeping its reason as text.

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be opened or set up (permissions, not a database, disk full,
    /// server unreachable).
    #[error("cannot open store {store}: {reason}")]
    Open {
        /// The store (file path or URL).
        store: String,
        /// The backend's reason.
        reason: String,
    },
    /// The store was written by a newer skyfence: refuse rather than corrupt it.
    #[error(
        "store {store} has schema version {found}, newer than this skyfence supports (expected at most {supported}); upgrade skyfence"
    )]
    SchemaTooNew {
        /// The store.
        store: String,
        /// The schema version found.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The file is a database of some other application.
    #[error(
        "store {store} is not a skyfence database (application_id {found:#010x}, expected {expected:#010x})"
    )]
    NotSkyfence {
        /// The store.
        store: String,
        /// The application id found.
        found: i64,
        /// skyfence's id (`"SKYF"`).
        expected: i64,
    },
    /// SQLite would not switch the file to write-ahead logging (e.g. a network
    /// filesystem without shared memory): readers would block the writer.
    #[error(
        "store {store}: journal mode is {mode:?}, expected \"wal\" (is the file on a network filesystem?)"
    )]
    NoWal {
        /// The store.
        store: String,
        /// The mode SQLite kept.
        mode: String,
    },
    /// The store URL names no backend of this build (`[store] url`).
    #[error("store url {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it (unknown scheme, backend not built in).
        reason: String,
    },
    /// What the operation needs does not exist (a checkpoint to cosign).
    #[error("store {store}: {op}: {what}")]
    NotFound {
        /// The store.
        store: String,
        /// What the store was doing, e.g. `"add cosignature"`.
        op: &'static str,
        /// What is missing.
        what: String,
    },
    /// The operation contradicts what is stored or what the log allows (a proof for a
    /// size beyond the log, a cosignature over some other note, a leaf too long to
    /// encode).
    #[error("store {store}: {op}: {reason}")]
    Conflict {
        /// The store.
        store: String,
        /// What the store was doing.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Another connection held a lock longer than the busy timeout: trying again later
    /// may succeed.
    #[error("store {store}: {op} failed: {reason}")]
    Busy {
        /// The store.
        store: String,
        /// What the store was doing.
        op: &'static str,
        /// The backend's reason.
        reason: String,
    },
    /// A statement failed (I/O error, disk full, constraint, connection lost).
    #[error("store {store}: {op} failed: {reason}")]
    Backend {
        /// The store.
        store: String,
        /// What the store was doing, e.g. `"apply batch"`.
        op: &'static str,
        /// The backend's reason.
        reason: String,
    },
    /// A stored row does not decode (edited by hand, or written by a broken build), or
    /// the evidence log's nodes are damaged.
    #[error("store {store}: corrupt {table} row {key}: {reason}")]
    Corrupt {
        /// The store.
        store: String,
        /// Which table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value could not be written as JSON (not expected: every stored type serialises).
    #[error("store {store}: cannot encode {what} as JSON: {reason}")]
    Encode {
        /// The store.
        store: String,
        /// What was being encoded.
        what: &'static str,
        /// serde_json's reason.
        reason: String,
    },
}

impl StoreError {
    /// True for a failure that may pass when tried again ([`StoreError::Busy`]).
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Busy { .. })
    }
}
