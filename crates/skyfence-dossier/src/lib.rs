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
//! The incidents stream: each bundle is built, written and rendered into the CSV, GeoJSON
//! and KML files as it comes, at most four incidents are in memory at once (one gathered
//! from the log while the one before is built on a second thread), and only a small
//! summary of each (the incident and a thinned track for the map) is kept for the report,
//! so memory grows with the largest incident, not with the period.
//!
//! `skyfence verify DIR` ([`verify::verify_dir`]) re-creates every rendering from the
//! verified bundles and compares (see [`verify`]).

pub mod html;
pub mod map;
pub mod model;
pub mod pdf;
pub mod tables;
pub mod verify;

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use skyfence_bundle::build::{Evidence, build};
use skyfence_core::Timestamp;
use skyfence_core::airspace::Zone;
use skyfence_evidence::{Checkpoint, DatasetKind, Note, Signer, VerifierKey};
use skyfence_store::export::{GatherError, gather_incident_at, sign_if_grown};
use skyfence_store::{IncidentFilter, Store, StoreError};

use model::{
    FORMAT, FileEntry, LogInfo, Manifest, ManifestIncident, Meta, Model, Period, RENDERER, Row,
    VERSION,
};

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
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An incident's evidence could not be gathered.
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

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DossierError + '_ {
    move |source| DossierError::Io {
        path: path.display().to_string(),
        source,
    }
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

/// Writes the dossier of `req` from `store`. `signer` is the log's key (a checkpoint is
/// signed first when the log grew since the latest); `witness_keys` go into each bundle as
/// export puts them; `progress` is told after each incident.
pub fn make(
    store: &mut dyn Store,
    signer: &Signer,
    witness_keys: &[VerifierKey],
    req: &Request,
    now: Timestamp,
    progress: &mut dyn FnMut(Progress),
) -> Result<Made, DossierError> {
    // The incidents first, then the checkpoint: everything listed is in the tree signed.
    let size = store.evidence_size()?;
    let known = store.dataset_names(DatasetKind::Zones, size)?;
    for z in &req.zones {
        if !known.iter().any(|k| k == z) {
            return Err(DossierError::Usage(format!(
                "--zone {z:?}: no such zone in the evidence log (it knows: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
    }
    let mut incidents = select(&*store, req)?;
    model::sort_newest_first(&mut incidents, |i| {
        (i.entered_at.as_micros(), i.id.to_string())
    });

    sign_if_grown(store, signer, now).map_err(|e| DossierError::Other(e.to_string()))?;
    let checkpoint = store
        .latest_checkpoint()?
        .ok_or_else(|| DossierError::Other("the evidence log has no signed checkpoint".into()))?;
    let log_key = signer.verifier_key();
    let note = Note::parse(checkpoint.note.as_bytes())
        .map_err(|e| DossierError::Other(format!("stored checkpoint: {e}")))?;
    let cp = Checkpoint::parse_body(&note.text)
        .map_err(|e| DossierError::Other(format!("stored checkpoint: {e}")))?;
    let log = LogInfo {
        origin: cp.origin.clone(),
        key: log_key.to_string(),
        checkpoint_size: cp.size,
        checkpoint_root: hex(&cp.root),
    };

    let out = &req.out;
    let dir = out.join(files::INCIDENTS);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let create = |name: &str| -> Result<BufWriter<std::fs::File>, DossierError> {
        let path = out.join(name);
        std::fs::File::create(&path)
            .map(BufWriter::new)
            .map_err(io_err(&path))
    };
    let mut tables = tables::Tables::new(
        create(files::CSV)?,
        create(files::GEOJSON)?,
        create(files::KML)?,
    )
    .map_err(io_err(out))?;

    let mut rows: Vec<Row> = Vec::with_capacity(incidents.len());
    let mut listed = Vec::with_capacity(incidents.len());
    let mut file_entries = Vec::new();
    let mut zones: BTreeMap<String, Zone> = BTreeMap::new();
    let total = incidents.len();
    // Two stages on two threads, so reading the log overlaps building the bundles: this
    // thread gathers incident k+1 from the store while the worker builds, zips and reads
    // back incident k; the channels hold one item each, so at most four incidents are
    // in memory whatever the period.
    std::thread::scope(|scope| -> Result<(), DossierError> {
        let (to_build, build_rx) = std::sync::mpsc::sync_channel::<Evidence>(1);
        let (built_tx, built) = std::sync::mpsc::sync_channel::<Result<Built, DossierError>>(1);
        scope.spawn(move || {
            for evidence in build_rx {
                if built_tx.send(build_one(&evidence)).is_err() {
                    break;
                }
            }
        });
        let mut take = |b: Built, done: usize| -> Result<(), DossierError> {
            let rel = format!("{}/{}.zip", files::INCIDENTS, b.facts.incident.id);
            let path = out.join(&rel);
            std::fs::write(&path, &b.zip).map_err(io_err(&path))?;
            tables
                .add(&b.facts.incident, &rel, &b.sha256, &b.facts.track)
                .map_err(io_err(out))?;
            if !zones.contains_key(&b.facts.incident.zone)
                && let Some(z) = model::bundle_zone(&b.bundle)
            {
                zones.entry(z.name.clone()).or_insert(z);
            }
            listed.push(ManifestIncident {
                id: b.facts.incident.id.to_string(),
                zone: b.facts.incident.zone.clone(),
                entered_at: b.facts.incident.entered_at.to_rfc3339_millis(),
                bundle: rel.clone(),
                sha256: b.sha256.clone(),
            });
            file_entries.push(FileEntry {
                path: rel.clone(),
                sha256: b.sha256.clone(),
                bytes: b.zip.len() as u64,
            });
            rows.push(Row {
                map_track: model::thin(&b.facts.track, model::MAP_POINTS),
                incident: b.facts.incident,
                bundle: rel,
                sha256: b.sha256,
            });
            progress(Progress { done, total });
            Ok(())
        };
        let mut done = 0;
        for (k, inc) in incidents.iter().enumerate() {
            let gathered = gather_incident_at(store, inc.id, &checkpoint.note, log_key.clone())
                .map_err(|source| DossierError::Gather {
                    id: inc.id.to_string(),
                    source,
                })?;
            let evidence = Evidence {
                incident: gathered.incident,
                checkpoint_note: gathered.checkpoint_note,
                log_key: gathered.log_key,
                witness_keys: witness_keys.to_vec(),
                leaves: gathered.leaves,
                proofs: gathered.proofs,
                exported_at: now,
            };
            to_build
                .send(evidence)
                .map_err(|_| DossierError::Other("the bundle builder stopped".into()))?;
            if k > 0 {
                let b = built
                    .recv()
                    .map_err(|_| DossierError::Other("the bundle builder stopped".into()))??;
                done += 1;
                take(b, done)?;
            }
        }
        drop(to_build);
        for b in built {
            done += 1;
            take(b?, done)?;
        }
        Ok(())
    })?;
    let (mut c, mut g, mut kml) = tables.finish().map_err(io_err(out))?;
    c.flush().map_err(io_err(out))?;
    g.flush().map_err(io_err(out))?;
    kml.flush().map_err(io_err(out))?;
    drop((c, g, kml));

    let meta = Meta {
        created_at: now.to_rfc3339_millis(),
        period: Period {
            from: req.from.to_rfc3339_millis(),
            to: req.to.to_rfc3339_millis(),
        },
        zones: req.zones.clone(),
        unauthorised_only: req.unauthorised_only,
        log,
        checkpoint: checkpoint.note.clone(),
    };
    let model = Model {
        meta: &meta,
        rows: &rows,
        zones: &zones,
    };
    let html_path = out.join(files::HTML);
    std::fs::write(&html_path, html::index_html(&model)).map_err(io_err(&html_path))?;
    let pdf_path = out.join(files::PDF);
    std::fs::write(&pdf_path, pdf::dossier_pdf(&model)).map_err(io_err(&pdf_path))?;

    for name in [
        files::CSV,
        files::GEOJSON,
        files::KML,
        files::HTML,
        files::PDF,
    ] {
        let path = out.join(name);
        let (sha256, bytes) = sha256_file(&path).map_err(io_err(&path))?;
        file_entries.push(FileEntry {
            path: name.to_owned(),
            sha256,
            bytes,
        });
    }
    file_entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut manifest = Manifest {
        format: FORMAT.to_owned(),
        version: VERSION,
        created_at: meta.created_at.clone(),
        renderer: RENDERER.to_owned(),
        period: meta.period.clone(),
        zones: meta.zones.clone(),
        unauthorised_only: meta.unauthorised_only,
        log: meta.log.clone(),
        checkpoint: meta.checkpoint.clone(),
        incidents: listed,
        files: file_entries,
        signature: String::new(),
    };
    manifest.signature = signer
        .sign_new_note(&manifest_statement(&manifest_digest(&manifest)))
        .map_err(|e| DossierError::Other(format!("signing the manifest: {e}")))?;
    let path = out.join(files::MANIFEST);
    std::fs::write(&path, manifest.to_bytes()).map_err(io_err(&path))?;
    Ok(Made { manifest })
}

/// One incident's bundle, built: the bundle, its zip and the zip's SHA-256, and what
/// the dossier reads out of it.
struct Built {
    bundle: skyfence_bundle::archive::Bundle,
    zip: Vec<u8>,
    sha256: String,
    facts: model::BundleFacts,
}

fn build_one(evidence: &Evidence) -> Result<Built, DossierError> {
    let id = evidence.incident;
    let bundle =
        build(evidence).map_err(|e| DossierError::Other(format!("incident {id}: bundle: {e}")))?;
    let zip = bundle
        .write_zip(io::Cursor::new(Vec::new()))
        .map_err(|e| DossierError::Other(format!("incident {id}: zip: {e}")))?
        .into_inner();
    let sha256 = hex(&Sha256::digest(&zip));
    let facts = model::bundle_facts(&bundle)
        .map_err(|e| DossierError::Other(format!("incident {id}: {e}")))?;
    Ok(Built {
        bundle,
        zip,
        sha256,
        facts,
    })
}

/// The incidents of the request, as the store lists them: entered in the period, in the
/// zones asked for, unauthorised only when asked.
pub fn select(
    store: &dyn Store,
    req: &Request,
) -> Result<Vec<skyfence_core::detect::Incident>, DossierError> {
    select_in(store, req.from, req.to, &req.zones, req.unauthorised_only)
}

fn select_in(
    store: &dyn Store,
    from: Timestamp,
    to: Timestamp,
    zones: &[String],
    unauthorised_only: bool,
) -> Result<Vec<skyfence_core::detect::Incident>, DossierError> {
    let all = store.incidents(&IncidentFilter {
        since: Some(from),
        limit: Some(u32::MAX),
        ..IncidentFilter::default()
    })?;
    Ok(all
        .into_iter()
        .filter(|i| i.entered_at >= from && i.entered_at < to)
        .filter(|i| zones.is_empty() || zones.contains(&i.zone))
        .filter(|i| !unauthorised_only || !i.authorised)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

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
