//! `skyfence verify DIR`: checks a whole dossier offline.
//!
//! 1. `dossier.json` reads as a dossier manifest and carries the log's signature over its
//!    own content (so an incident cannot be dropped from the list unnoticed).
//! 2. The checkpoint is signed by the log key (pinned with `--key`, or self-asserted), and
//!    is the size and root the manifest states.
//! 3. Every file on disk is listed with the right SHA-256, and every listed file is there.
//! 4. Every bundle passes the bundle verification (`skyfence verify FILE.zip`), carries
//!    exactly the dossier's checkpoint (so the one tree head includes every incident), and
//!    is the incident the manifest says, in the period, zones and selection it states.
//! 5. The CSV, GeoJSON, KML, HTML and PDF are re-created from the verified bundles and must
//!    be the files' exact bytes: every row, count, track and the map come from verified
//!    evidence.
//! 6. With the log ([`completeness`]): no incident of that period and those zones that the
//!    checkpoint covers is missing.
//!
//! Each failure names the file it is about.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufReader;
use std::path::Path;

use skyfence_bundle::archive::Bundle;
use skyfence_bundle::run::{UsageError, parse_keys};
use skyfence_core::Timestamp;
use skyfence_core::airspace::Zone;
use skyfence_evidence::{Checkpoint, Note, VerifierKey, open_checkpoint};
#[cfg(feature = "store")]
use skyfence_store::Store;

use crate::model::{self, Manifest, Meta, Model, Row};
use crate::{HashWriter, files, manifest_digest, manifest_statement, sha256_file, tables};

/// The outcome of [`verify_dir`]: the lines to print and the verdict.
#[derive(Clone, Debug, Default)]
pub struct DossierRun {
    /// One line naming the dossier, `PASS`/`FAIL`/`WARN` lines, then the verdict.
    pub lines: Vec<String>,
    /// True when nothing failed.
    pub passed: bool,
    /// What failed: the file (or check) each failure is about.
    pub failed: Vec<String>,
}

struct Report {
    lines: Vec<String>,
    failed: Vec<String>,
}

impl Report {
    fn pass(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.lines.push(format!("PASS {what}: {detail}"));
    }
    fn fail(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.lines.push(format!("FAIL {what}: {detail}"));
        if !self.failed.iter().any(|f| f == what) {
            self.failed.push(what.to_owned());
        }
    }
    fn warn(&mut self, what: &str, detail: impl std::fmt::Display) {
        self.lines.push(format!("WARN {what}: {detail}"));
    }
}

/// True when `dir` looks like a dossier (holds a `dossier.json`).
pub fn is_dossier(dir: &Path) -> bool {
    dir.is_dir() && dir.join(files::MANIFEST).is_file()
}

/// Reads a dossier's manifest.
pub fn read_manifest(dir: &Path) -> Result<Manifest, UsageError> {
    let path = dir.join(files::MANIFEST);
    let bytes = std::fs::read(&path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    let m: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
        UsageError(format!(
            "{}: not a skyfence dossier manifest: {e}",
            path.display()
        ))
    })?;
    if m.format != model::FORMAT {
        return Err(UsageError(format!(
            "{}: format {:?}, not {:?}",
            path.display(),
            m.format,
            model::FORMAT
        )));
    }
    if m.version != model::VERSION {
        return Err(UsageError(format!(
            "{}: dossier version {}, this verifier reads version {}",
            path.display(),
            m.version,
            model::VERSION
        )));
    }
    Ok(m)
}

/// Every file under `dir` (relative, `/`-separated), the manifest excepted.
fn files_on_disk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), String::new())];
    while let Some((d, prefix)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = format!("{prefix}{name}");
            if e.path().is_dir() {
                stack.push((e.path(), format!("{rel}/")));
            } else if rel != files::MANIFEST {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// The completeness check given to [`verify_dir_with`]: the ids of the incidents of a
/// manifest's period, zones and selection that the log holds and the dossier lacks.
pub type Completeness<'a> = &'a dyn Fn(&Manifest) -> Result<Vec<String>, String>;

/// Verifies the dossier in `dir` against the keys in `key_args` (as for a bundle), and,
/// with `store`, its completeness against the log.
#[cfg(feature = "store")]
pub fn verify_dir(
    dir: &Path,
    key_args: &[String],
    store: Option<&dyn Store>,
) -> Result<DossierRun, UsageError> {
    match store {
        Some(store) => verify_dir_with(dir, key_args, Some(&|m: &Manifest| completeness(m, store))),
        None => verify_dir_with(dir, key_args, None),
    }
}

/// Verifies the dossier in `dir` against the keys in `key_args` (as for a bundle), and,
/// with `completeness`, that no incident is missing from it. Needs no store: the
/// standalone verifier calls it without.
pub fn verify_dir_with(
    dir: &Path,
    key_args: &[String],
    completeness: Option<Completeness<'_>>,
) -> Result<DossierRun, UsageError> {
    let pins = parse_keys(key_args)?;
    let m = read_manifest(dir)?;
    let mut r = Report {
        lines: vec![format!("skyfence verify {}", dir.display())],
        failed: Vec::new(),
    };

    // 1, 2: the log key, the manifest's signature and the checkpoint.
    let log_key = match VerifierKey::parse(&m.log.key) {
        Ok(k) => Some(k),
        Err(e) => {
            r.fail(files::MANIFEST, format!("log key unreadable: {e}"));
            None
        }
    };
    if let Some(k) = &log_key {
        if pins.is_empty() {
            r.warn(
                "log key",
                format!(
                    "{} is the dossier's own (self-asserted); pin it with --key to know who signed",
                    k.name()
                ),
            );
        } else if pins.iter().any(|p| p == k) {
            r.pass("log key", format!("{} is one of the keys given", k.name()));
        } else {
            r.fail(
                "log key",
                format!(
                    "the dossier's log key {} is none of the --key given",
                    k.name()
                ),
            );
        }
        let digest = manifest_digest(&m);
        let signed = Note::parse(m.signature.as_bytes())
            .ok()
            .filter(|n| n.text == manifest_statement(&digest))
            .and_then(|n| n.open(std::slice::from_ref(k)).ok());
        match signed {
            Some(_) => r.pass(
                files::MANIFEST,
                format!("signed by the log key (manifest SHA-256 {digest})"),
            ),
            None => r.fail(
                files::MANIFEST,
                "the log's signature does not match the manifest's content (the manifest was changed)",
            ),
        }
        let witnesses: Vec<VerifierKey> = pins.iter().filter(|p| *p != k).cloned().collect();
        match open_checkpoint(m.checkpoint.as_bytes(), k, &witnesses) {
            Ok(v) => {
                let cp: &Checkpoint = &v.checkpoint;
                let root: String = cp.root.iter().map(|b| format!("{b:02x}")).collect();
                if cp.size == m.log.checkpoint_size
                    && root == m.log.checkpoint_root
                    && cp.origin == m.log.origin
                {
                    r.pass(
                        "checkpoint",
                        format!(
                            "signed by {}, {} leaves, root {root}, {} cosignature(s)",
                            cp.origin,
                            cp.size,
                            v.cosignatures.len()
                        ),
                    );
                } else {
                    r.fail(
                        files::MANIFEST,
                        "the checkpoint's origin, size or root differ from the manifest's log",
                    );
                }
            }
            Err(e) => r.fail("checkpoint", format!("not signed by the log key: {e}")),
        }
    }

    // 3: the files.
    let listed: BTreeMap<&str, &model::FileEntry> =
        m.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut files_ok = 0usize;
    for f in &m.files {
        if f.path.contains("..") || f.path.starts_with('/') || f.path.contains('\\') {
            r.fail(
                files::MANIFEST,
                format!("lists a path outside the dossier: {:?}", f.path),
            );
            continue;
        }
        match sha256_file(&dir.join(&f.path)) {
            Ok((sha, _)) if sha == f.sha256 => files_ok += 1,
            Ok((sha, _)) => r.fail(
                &f.path,
                format!(
                    "SHA-256 {sha} differs from the manifest's {} (the file was changed)",
                    f.sha256
                ),
            ),
            Err(e) => r.fail(
                &f.path,
                format!("listed in the manifest but unreadable: {e}"),
            ),
        }
    }
    for name in files_on_disk(dir) {
        if !listed.contains_key(name.as_str()) {
            r.fail(&name, "is not listed in the manifest");
        }
    }
    for required in [
        files::CSV,
        files::GEOJSON,
        files::KML,
        files::HTML,
        files::PDF,
    ] {
        if !listed.contains_key(required) {
            r.fail(required, "missing from the manifest");
        }
    }
    r.pass(
        "files",
        format!(
            "{files_ok} of {} listed files have the manifest's SHA-256",
            m.files.len()
        ),
    );

    // 4: the bundles, streamed into the re-created tables.
    let from = Timestamp::parse_rfc3339(&m.period.from);
    let to = Timestamp::parse_rfc3339(&m.period.to);
    let (Ok(from), Ok(to)) = (from, to) else {
        r.fail(files::MANIFEST, "the period is not two RFC 3339 times");
        return Ok(finish(r));
    };
    let bundle_files: BTreeSet<&str> = m
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| p.starts_with("incidents/"))
        .collect();
    let mut tables = tables::Tables::new(
        HashWriter::default(),
        HashWriter::default(),
        HashWriter::default(),
    )
    .map_err(|e| UsageError(e.to_string()))?;
    let mut rows: Vec<Row> = Vec::with_capacity(m.incidents.len());
    let mut zones: BTreeMap<String, Zone> = BTreeMap::new();
    let mut bundles_ok = 0usize;
    let mut seen = BTreeSet::new();
    for entry in &m.incidents {
        let path = entry.bundle.as_str();
        if !seen.insert(entry.id.clone()) {
            r.fail(
                files::MANIFEST,
                format!("lists incident {} twice", entry.id),
            );
        }
        if listed.get(path).map(|f| f.sha256.as_str()) != Some(entry.sha256.as_str()) {
            r.fail(
                files::MANIFEST,
                format!(
                    "incident {}: its bundle {path} is not in the file list with that SHA-256",
                    entry.id
                ),
            );
        }
        let bundle = match std::fs::File::open(dir.join(path)) {
            Err(e) => {
                r.fail(path, format!("incident {}: bundle missing: {e}", entry.id));
                continue;
            }
            Ok(f) => match Bundle::read_zip(BufReader::new(f)) {
                Ok(b) => b,
                Err(e) => {
                    r.fail(path, format!("not a readable evidence bundle: {e}"));
                    continue;
                }
            },
        };
        let v = match skyfence_bundle::verify::verify(&bundle, &pins) {
            Ok(v) => v,
            Err(e) => {
                r.fail(path, format!("not a verifiable bundle: {e}"));
                continue;
            }
        };
        if !v.passed() {
            r.fail(
                path,
                format!(
                    "bundle verification failed: {} (run skyfence verify {path} for details)",
                    v.failed().join(", ")
                ),
            );
            continue;
        }
        if bundle.get(skyfence_bundle::files::CHECKPOINT) != Some(m.checkpoint.as_bytes()) {
            r.fail(
                path,
                "carries another checkpoint than the dossier's: its inclusion is not proved by the dossier's checkpoint",
            );
            continue;
        }
        let facts = match model::bundle_facts(&bundle) {
            Ok(f) => f,
            Err(e) => {
                r.fail(path, e);
                continue;
            }
        };
        let i = &facts.incident;
        if i.id.to_string() != entry.id
            || i.zone != entry.zone
            || i.entered_at.to_rfc3339_millis() != entry.entered_at
        {
            r.fail(
                path,
                format!("holds incident {} of zone {} entered {}, not the manifest's {} of {} entered {}",
                    i.id, i.zone, i.entered_at.to_rfc3339_millis(), entry.id, entry.zone, entry.entered_at),
            );
        }
        if i.entered_at < from || i.entered_at >= to {
            r.fail(
                path,
                format!(
                    "incident {} entered {} outside the period",
                    i.id, i.entered_at
                ),
            );
        }
        if !m.zones.is_empty() && !m.zones.contains(&i.zone) {
            r.fail(
                path,
                format!(
                    "incident {} is in zone {}, not one of the dossier's",
                    i.id, i.zone
                ),
            );
        }
        if m.unauthorised_only && i.authorised {
            r.fail(
                path,
                format!(
                    "incident {} is authorised in an unauthorised-only dossier",
                    i.id
                ),
            );
        }
        tables
            .add(i, path, &entry.sha256, &facts.track)
            .map_err(|e| UsageError(e.to_string()))?;
        if !zones.contains_key(&i.zone)
            && let Some(z) = model::bundle_zone(&bundle)
        {
            zones.entry(z.name.clone()).or_insert(z);
        }
        rows.push(Row {
            map_track: model::thin(&facts.track, model::MAP_POINTS),
            incident: facts.incident,
            bundle: path.to_owned(),
            sha256: entry.sha256.clone(),
        });
        bundles_ok += 1;
    }
    let in_manifest: BTreeSet<&str> = m.incidents.iter().map(|i| i.bundle.as_str()).collect();
    for f in &bundle_files {
        if !in_manifest.contains(f) {
            r.fail(
                f,
                "a bundle that the manifest lists as a file but not as an incident",
            );
        }
    }
    if bundles_ok == m.incidents.len() {
        r.pass(
            "bundles",
            format!("all {bundles_ok} bundles verify and are included in the dossier's checkpoint"),
        );
    }

    // 5: the renderings, re-created from the verified bundles.
    let (c, g, k) = tables.finish().map_err(|e| UsageError(e.to_string()))?;
    let meta = Meta::of(&m);
    let model = Model {
        meta: &meta,
        rows: &rows,
        zones: &zones,
    };
    let counts = model::Counts::of(&rows);
    if m.renderer != model::RENDERER {
        r.warn(
            "renderings",
            format!(
                "made by {}, this is {}: the tables and reports are not re-created and compared",
                m.renderer,
                model::RENDERER
            ),
        );
    } else if bundles_ok == m.incidents.len() {
        let recreated = [
            (files::CSV, c.hex()),
            (files::GEOJSON, g.hex()),
            (files::KML, k.hex()),
            (
                files::HTML,
                crate::hex(&sha2::Digest::finalize(
                    <sha2::Sha256 as sha2::Digest>::new_with_prefix(crate::html::index_html(
                        &model,
                    )),
                )),
            ),
            (
                files::PDF,
                crate::hex(&sha2::Digest::finalize(
                    <sha2::Sha256 as sha2::Digest>::new_with_prefix(crate::pdf::dossier_pdf(
                        &model,
                    )),
                )),
            ),
        ];
        for (name, sha) in recreated {
            match listed.get(name) {
                Some(f) if f.sha256 == sha => r.pass(
                    name,
                    "re-created from the verified bundles, byte for byte the same",
                ),
                Some(_) => r.fail(
                    name,
                    "does not match what the verified bundles give (rows, counts or tracks differ)",
                ),
                None => {}
            }
        }
        r.pass(
            "counts",
            format!(
                "{} incidents ({} unauthorised, {} authorised; {} uav, {} aircraft, {} unknown) in {} zone(s)",
                counts.total,
                counts.authorised[1],
                counts.authorised[0],
                counts.by_class[0],
                counts.by_class[1],
                counts.by_class[2],
                counts.by_zone.len()
            ),
        );
    } else {
        r.warn(
            "renderings",
            "not compared: a bundle failed, so the verified content is incomplete",
        );
    }

    // 6: completeness.
    if let Some(completeness) = completeness {
        match completeness(&m) {
            Ok(missing) if missing.is_empty() => r.pass(
                "completeness",
                format!(
                    "every incident of the period that the log's first {} leaves hold is in the dossier",
                    m.log.checkpoint_size
                ),
            ),
            Ok(missing) => r.fail(
                "completeness",
                format!(
                    "{} incident(s) of the period missing from the dossier: {}",
                    missing.len(),
                    missing.join(", ")
                ),
            ),
            Err(e) => r.fail("completeness", format!("cannot read the log: {e}")),
        }
    }
    Ok(finish(r))
}

fn finish(r: Report) -> DossierRun {
    let mut lines = r.lines;
    let passed = r.failed.is_empty();
    lines.push(if passed {
        "VERDICT: VERIFIED: the dossier, every bundle and every rendering check out".to_owned()
    } else {
        format!("VERDICT: NOT VERIFIED: failed: {}", r.failed.join(", "))
    });
    DossierRun {
        lines,
        passed,
        failed: r.failed,
    }
}

/// The incidents of the dossier's period, zones and selection that the log holds at the
/// dossier's checkpoint (their first state change is among its leaves) and that the
/// dossier lacks, by id.
#[cfg(feature = "store")]
pub fn completeness(m: &Manifest, store: &dyn Store) -> Result<Vec<String>, String> {
    let from = Timestamp::parse_rfc3339(&m.period.from).map_err(|e| e.to_string())?;
    let to = Timestamp::parse_rfc3339(&m.period.to).map_err(|e| e.to_string())?;
    let expected = crate::select_in(store, from, to, &m.zones, m.unauthorised_only)
        .map_err(|e| e.to_string())?;
    let have: BTreeSet<&str> = m.incidents.iter().map(|i| i.id.as_str()).collect();
    let mut missing = Vec::new();
    for i in expected {
        let id = i.id.to_string();
        if have.contains(id.as_str()) {
            continue;
        }
        // Logged by the time of the checkpoint? (A later incident is not missing.)
        let leaves = store
            .incident_evidence(i.id)
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        let covered = leaves.iter().any(|(index, bytes)| {
            *index < m.log.checkpoint_size
                && matches!(skyfence_evidence::EvidenceLeaf::decode(bytes),
                    Ok(skyfence_evidence::EvidenceLeaf::IncidentStateChanged { incident_id, .. }) if incident_id == i.id.0)
        });
        if covered {
            missing.push(id);
        }
    }
    Ok(missing)
}
