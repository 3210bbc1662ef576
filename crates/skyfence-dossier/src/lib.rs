//! The dossier: a period's incursions as one verifiable document to hand across the table.
//!
//! `skyfence dossier` ([`make`]) writes into an empty directory:
//!
//! | file | content |
//! |---|---|
//! | `incidents/ID.zip` | each incident's evidence bundle, built exactly as `skyfence export` builds it |
//! | `incidents.csv` | a header row ([`tables::CSV_HEADER`]), one row per incident, newest first |
//! | `incidents.geojson` | per incident an entry Point and its track LineString (RFC 7946) |
//! | `incidents.kml` | per incident a Folder with the entry Placemark and the track (KML 2.2) |
//! | `index.html` | self-contained, no script: period, zones, counts, the map, the table, the log key and checkpoint |
//! | `dossier.pdf` | the same for print: A4, page numbers, the map as vector paths |
//! | `dossier.json` | the manifest ([`model::Manifest`]): every file with its SHA-256, the incidents, the one signed checkpoint that includes every incident's evidence, and the log's signature over the manifest |
//!
//! An incident belongs to the period when it entered its zone at or after `from` and
//! before `to`. Every bundle is gathered at the same checkpoint (signed first when the log
//! grew since the latest), so one signed tree head proves every incident.
//!
//! The incidents stream: each incident's evidence is gathered from the log on the calling
//! thread, its bundle built on one of a builder thread per core, and the built bundles
//! written and rendered into the CSV, GeoJSON and KML files in the incidents' order,
//! whichever builder finished first (so the output does not depend on the number of
//! cores). At most one incident more than there are builders is in memory at once, and
//! only a small summary of each (the incident and a thinned track for the map) is kept
//! for the report, so memory grows with the largest incident, not with the period.
//!
//! `skyfence verify DIR` ([`verify::verify_dir`]) re-creates every rendering from the
//! verified bundles and compares (see [`verify`]).
//!
//! Cargo feature `store` (on by default) brings [`make`] and the completeness check
//! against the log; without it the crate only verifies, and its dependency tree holds no
//! database (the standalone `skyfence-verify` is built that way).

#[cfg(feature = "fixture")]
pub mod fixture;
pub mod html;
pub mod map;
pub mod model;
pub mod pdf;
pub mod tables;
pub mod verify;

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use skyfence_core::Timestamp;

use model::Manifest;

#[cfg(feature = "store")]
mod make;
#[cfg(feature = "store")]
pub(crate) use make::select_in;
#[cfg(feature = "store")]
pub use make::{make, select};
#[cfg(feature = "store")]
use skyfence_store::StoreError;
#[cfg(feature = "store")]
use skyfence_store::export::GatherError;

/// File names in a dossier directory.
pub mod files {
    /// The manifest.
    pub const MANIFEST: &str = "dossier.json";
    /// The report for a screen.
    pub const HTML: &str = "index.html";
    /// The report for print.
    pub const PDF: &str = "dossier.pdf";
    /// The table.
    pub const CSV: &str = "incidents.csv";
    /// Entry points and tracks.
    pub const GEOJSON: &str = "incidents.geojson";
    /// Entry points and tracks for Google Earth.
    pub const KML: &str = "incidents.kml";
    /// The folder of bundles.
    pub const INCIDENTS: &str = "incidents";
}

/// Why a dossier cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum DossierError {
    /// The user's mistake (bad time, unknown zone, output not empty): exit status 2.
    #[error("{0}")]
    Usage(String),
    /// The store failed.
    #[cfg(feature = "store")]
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An incident's evidence could not be gathered.
    #[cfg(feature = "store")]
    #[error("incident {id}: {source}")]
    Gather {
        /// Which.
        id: String,
        /// Why.
        source: GatherError,
    },
    /// Something else (signing, building a bundle).
    #[error("{0}")]
    Other(String),
    /// A file could not be written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: String,
        /// Why.
        source: io::Error,
    },
}

/// What to put in a dossier.
#[derive(Clone, Debug)]
pub struct Request {
    /// Start of the period (inclusive).
    pub from: Timestamp,
    /// End of the period (exclusive).
    pub to: Timestamp,
    /// Only these zones (empty: all).
    pub zones: Vec<String>,
    /// Only unauthorised incidents.
    pub unauthorised_only: bool,
    /// The output directory (absent or empty).
    pub out: PathBuf,
}

impl Request {
    /// Reads and checks the command's arguments: both times RFC 3339, `from` before `to`,
    /// the output directory absent or empty.
    pub fn new(
        from: &str,
        to: &str,
        zones: Vec<String>,
        unauthorised_only: bool,
        out: PathBuf,
    ) -> Result<Request, DossierError> {
        let parse = |flag: &str, text: &str| {
            Timestamp::parse_rfc3339(text).map_err(|e| {
                DossierError::Usage(format!(
                    "{flag} {text:?}: not an RFC 3339 time (e.g. 2023-11-01T00:00:00Z): {e}"
                ))
            })
        };
        let from_t = parse("--from", from)?;
        let to_t = parse("--to", to)?;
        if from_t >= to_t {
            return Err(DossierError::Usage(format!(
                "--from {from} is not before --to {to}: the period is empty"
            )));
        }
        match std::fs::read_dir(&out) {
            Ok(mut entries) => {
                if entries.next().is_some() {
                    return Err(DossierError::Usage(format!(
                        "--out {}: the directory is not empty (a dossier is written into a new or empty directory)",
                        out.display()
                    )));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(DossierError::Usage(format!(
                    "--out {}: not a usable directory: {e}",
                    out.display()
                )));
            }
        }
        Ok(Request {
            from: from_t,
            to: to_t,
            zones,
            unauthorised_only,
            out,
        })
    }
}

/// Progress of a run, for a long period's progress line.
#[derive(Clone, Copy, Debug)]
pub struct Progress {
    /// Incidents written.
    pub done: usize,
    /// Incidents in the dossier.
    pub total: usize,
}

/// What [`make`] wrote.
#[derive(Clone, Debug)]
pub struct Made {
    /// The manifest.
    pub manifest: Manifest,
}

/// The text the log signs to vouch for a manifest: one line, so it can never read as a
/// checkpoint (which has at least three).
pub fn manifest_statement(manifest_sha256: &str) -> String {
    format!("skyfence-dossier-manifest sha256:{manifest_sha256}\n")
}

/// The SHA-256 (hex) of a manifest with its `signature` emptied: what the signature covers.
pub fn manifest_digest(m: &Manifest) -> String {
    let mut unsigned = m.clone();
    unsigned.signature = String::new();
    hex(&Sha256::digest(unsigned.to_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 (hex) and size of a file, read in blocks.
pub fn sha256_file(path: &Path) -> io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((hex(&h.finalize()), n))
}

/// A writer that only hashes (the verifier's re-rendering).
#[derive(Default)]
pub struct HashWriter(pub Sha256);

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl HashWriter {
    /// The hex digest.
    pub fn hex(self) -> String {
        hex(&self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{FORMAT, LogInfo, Period, RENDERER, VERSION};

    fn err(r: Result<Request, DossierError>) -> String {
        match r {
            Err(DossierError::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn requests_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("new");
        let ok = Request::new(
            "2023-11-01T00:00:00Z",
            "2023-12-01T00:00:00Z",
            vec![],
            false,
            out.clone(),
        )
        .unwrap();
        assert!(ok.from < ok.to);
        let m = err(Request::new(
            "2023-11-01",
            "2023-12-01T00:00:00Z",
            vec![],
            false,
            out.clone(),
        ));
        assert!(
            m.contains("--from \"2023-11-01\": not an RFC 3339 time"),
            "{m}"
        );
        let m = err(Request::new(
            "2023-12-01T00:00:00Z",
            "2023-11-01T00:00:00Z",
            vec![],
            false,
            out.clone(),
        ));
        assert!(m.contains("is not before --to"), "{m}");
        let m = err(Request::new(
            "2023-11-01T00:00:00Z",
            "2023-11-01T00:00:00Z",
            vec![],
            false,
            out,
        ));
        assert!(m.contains("the period is empty"), "{m}");
        std::fs::write(dir.path().join("x"), b"x").unwrap();
        let m = err(Request::new(
            "2023-11-01T00:00:00Z",
            "2023-12-01T00:00:00Z",
            vec![],
            false,
            dir.path().to_path_buf(),
        ));
        assert!(m.contains("not empty"), "{m}");
    }

    #[test]
    fn the_manifest_digest_ignores_only_the_signature() {
        let mut m = Manifest {
            format: FORMAT.into(),
            version: VERSION,
            created_at: "2023-11-01T00:00:00.000Z".into(),
            renderer: RENDERER.into(),
            period: Period {
                from: "a".into(),
                to: "b".into(),
            },
            zones: vec![],
            unauthorised_only: false,
            log: LogInfo {
                origin: "o".into(),
                key: "k".into(),
                checkpoint_size: 1,
                checkpoint_root: "00".into(),
            },
            checkpoint: String::new(),
            incidents: vec![],
            files: vec![],
            signature: String::new(),
        };
        let d = manifest_digest(&m);
        m.signature = "anything".into();
        assert_eq!(manifest_digest(&m), d);
        m.unauthorised_only = true;
        assert_ne!(manifest_digest(&m), d);
        assert_eq!(manifest_statement(&d).lines().count(), 1);
    }
}
