//! Why a store operation failed. Every message names the database file, so an operator
//! running several services knows which one to look at.

use std::path::PathBuf;

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened or set up (permissions, not a database, disk full).
    #[error("cannot open store {path}: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The file was written by a newer skyfence: refuse rather than corrupt it.
    #[error(
        "store {path} has schema version {found}, newer than this skyfence supports (expected at most {supported}); upgrade skyfence"
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The file is an SQLite database of some other application.
    #[error(
        "store {path} is not a skyfence database (application_id {found:#010x}, expected {expected:#010x})"
    )]
    NotSkyfence {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA application_id` found in the file.
        found: i64,
        /// skyfence's id (`"SKYF"`).
        expected: i64,
    },
    /// SQLite would not switch the file to write-ahead logging (e.g. a network
    /// filesystem without shared memory): readers would block the writer.
    #[error(
        "store {path}: journal mode is {mode:?}, expected \"wal\" (is the file on a network filesystem?)"
    )]
    NoWal {
        /// The database file.
        path: PathBuf,
        /// The mode SQLite kept.
        mode: String,
    },
    /// A statement failed (I/O error, disk full, lock held too long).
    #[error("store {path}: {op} failed: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What the store was doing, e.g. `"apply batch"`.
        op: &'static str,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A stored row does not decode (edited by hand, or written by a broken build).
    #[error("store {path}: corrupt {table} row {key}: {reason}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// Which table.
        table: &'static str,
        /// The row's key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A value could not be written as JSON (not expected: every stored type serialises).
    #[error("store {path}: cannot encode {what} as JSON: {source}")]
    Encode {
        /// The database file.
        path: PathBuf,
        /// What was being encoded.
        what: &'static str,
        /// serde_json's reason.
        source: serde_json::Error,
    },
    /// The evidence log refused an operation (a leaf too long to encode, a proof for a size
    /// beyond the log, a cosignature over some other note) or found its nodes damaged.
    #[error("store {path}: {op}: {reason}")]
    Evidence {
        /// The database file.
        path: PathBuf,
        /// What the store was doing, e.g. `"add cosignature"`.
        op: &'static str,
        /// What is wrong.
        reason: String,
    },
}
