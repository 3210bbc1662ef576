//! [`make`]: a dossier written from the store (cargo feature `store`).

use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use skyfence_bundle::build::{Evidence, ZoneCache, build_with};
use skyfence_core::Timestamp;
use skyfence_core::airspace::Zone;
use skyfence_evidence::{Checkpoint, DatasetKind, Note, Signer, VerifierKey};
use skyfence_store::export::{gather_incident_at, sign_if_grown};
use skyfence_store::{IncidentFilter, Store};

use crate::model::{
    self, FORMAT, FileEntry, LogInfo, Manifest, ManifestIncident, Meta, Model, Period, RENDERER,
    Row, VERSION,
};
use crate::{
    DossierError, Made, Progress, Request, files, hex, html, manifest_digest, manifest_statement,
    pdf, sha256_file, tables,
};

/// The most threads building bundles at once (one per core up to this).
const MAX_BUILDERS: usize = 8;

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
    let builders = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .clamp(1, MAX_BUILDERS);
    make_with(store, signer, witness_keys, req, now, progress, builders)
}

/// [`make`] with `builders` bundle builder threads (at least one).
fn make_with(
    store: &mut dyn Store,
    signer: &Signer,
    witness_keys: &[VerifierKey],
    req: &Request,
    now: Timestamp,
    progress: &mut dyn FnMut(Progress),
    builders: usize,
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
    // This thread reads each incident's evidence from the log (the store is one
    // connection) and hands it to the builders, one per core, which build, zip and hash
    // the bundles; this thread then takes the built bundles in the incidents' order
    // (whichever builder finished first), so the output is the same whatever the number
    // of builders. At most `in_flight` incidents are gathered but not yet taken, so memory
    // is bounded by a few of the largest incidents, not by the period.
    let builders = builders.max(1);
    let in_flight = builders + 1;
    std::thread::scope(|scope| -> Result<(), DossierError> {
        let (to_build, build_rx) = std::sync::mpsc::channel::<(usize, Evidence)>();
        let (built_tx, built) = std::sync::mpsc::channel::<(usize, Result<Built, DossierError>)>();
        let build_rx = std::sync::Arc::new(std::sync::Mutex::new(build_rx));
        for _ in 0..builders {
            let (build_rx, built_tx) = (build_rx.clone(), built_tx.clone());
            scope.spawn(move || {
                // Each builder parses and indexes each zone once.
                let mut zones = ZoneCache::default();
                loop {
                    // The lock is held only to take the next incident.
                    let next = build_rx.lock().map(|rx| rx.recv());
                    let Ok(Ok((k, evidence))) = next else {
                        break;
                    };
                    if built_tx
                        .send((k, build_one(&evidence, &mut zones)))
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(built_tx);
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
        let stopped = || DossierError::Other("a bundle builder stopped".into());
        // Built bundles that came before their turn, by position.
        let mut waiting: BTreeMap<usize, Built> = BTreeMap::new();
        let mut done = 0;
        // Waits for the next built bundle (any), then takes every bundle whose turn it is.
        let mut receive = |done: &mut usize| -> Result<(), DossierError> {
            let (k, b) = built.recv().map_err(|_| stopped())?;
            waiting.insert(k, b?);
            while let Some(b) = waiting.remove(done) {
                *done += 1;
                take(b, *done)?;
            }
            Ok(())
        };
        for (k, inc) in incidents.iter().enumerate() {
            while k - done >= in_flight {
                receive(&mut done)?;
            }
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
            to_build.send((k, evidence)).map_err(|_| stopped())?;
        }
        drop(to_build);
        while done < total {
            receive(&mut done)?;
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

fn build_one(evidence: &Evidence, zones: &mut ZoneCache) -> Result<Built, DossierError> {
    let id = evidence.incident;
    let bundle = build_with(evidence, zones)
        .map_err(|e| DossierError::Other(format!("incident {id}: bundle: {e}")))?;
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

pub(crate) fn select_in(
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

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> DossierError + '_ {
    move |source| DossierError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(all(test, feature = "fixture"))]
mod tests {
    use super::*;

    /// The dossier is the same, byte for byte, whatever the number of builders (so
    /// whatever the order they finish in) and from one run to the next.
    #[test]
    fn the_output_does_not_depend_on_the_builders() {
        let (dir, signer, from, to) = crate::fixture::store(40);
        let url = skyfence_store::StoreUrl::sqlite(dir.path().join("skyfence.db"));
        let mut store =
            skyfence_store::open(&url, skyfence_store::StoreOptions::default()).unwrap();
        let now = Timestamp::from_secs(1_800_000_000);
        let mut outs = Vec::new();
        for builders in [1, 3, 2] {
            let out = dir.path().join(format!("out-{builders}"));
            let req = Request {
                from,
                to,
                zones: Vec::new(),
                unauthorised_only: false,
                out: out.clone(),
            };
            let mut seen = Vec::new();
            let made = make_with(
                &mut *store,
                &signer,
                &[],
                &req,
                now,
                &mut |p| seen.push(p.done),
                builders,
            )
            .unwrap();
            let n = made.manifest.incidents.len();
            assert!(n >= 4, "only {n} incidents: too few to reorder");
            assert_eq!(seen, (1..=n).collect::<Vec<_>>());
            outs.push(out);
        }
        let files = |d: &Path| -> BTreeMap<String, Vec<u8>> {
            let mut m = BTreeMap::new();
            for sub in ["", files::INCIDENTS] {
                for e in std::fs::read_dir(d.join(sub)).unwrap() {
                    let p = e.unwrap().path();
                    if p.is_file() {
                        let name = p.strip_prefix(d).unwrap().display().to_string();
                        m.insert(name, std::fs::read(&p).unwrap());
                    }
                }
            }
            m
        };
        let first = files(&outs[0]);
        assert!(first.len() > 7);
        for out in &outs[1..] {
            let other = files(out);
            assert_eq!(
                first.keys().collect::<Vec<_>>(),
                other.keys().collect::<Vec<_>>()
            );
            for (name, bytes) in &first {
                assert!(other[name] == *bytes, "{name} differs in {}", out.display());
            }
        }
    }
}
