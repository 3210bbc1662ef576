//! Incidents, events, positions and frames for the SQLite store tests: the conformance
//! suite's fixtures, plus temporary files.
#![allow(dead_code, unused_imports)] // each test file uses a different part

pub use skyfence_store::conformance::fixtures::*;

/// A temporary directory and the path of a store file inside it (kept while the
/// directory lives).
pub fn temp() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("skyfence.db");
    (dir, path)
}
