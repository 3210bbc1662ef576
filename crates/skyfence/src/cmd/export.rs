//! `skyfence export INCIDENT_ID --out FILE.zip [--config FILE]`: writes the evidence
//! bundle of one incident (the format is documented in [`skyfence_bundle`]).
//!
//! It reads the store named by the config's `[store] path`: the incident's leaves (its
//! target's raw frames over the incident window, its state changes and acknowledgements),
//! the zone's and the configuration's leaves in force, a signed checkpoint that covers them
//! all and each leaf's inclusion proof in that checkpoint's tree. When no stored checkpoint
//! covers the leaves yet (the service signs one every `[evidence]` interval), export signs
//! one over the whole log with the log's key and stores it, as the service would.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use skyfence_core::detect::{Incident, IncidentId};
use skyfence_core::time::wall_clock;
use skyfence_evidence::{Checkpoint, DatasetKind, EvidenceLeaf, Note, Signer, VerifierKey};
use skyfence_store::SqliteStore;

use skyfence_bundle::build::{Evidence, build};
use skyfence_service::config::Config;
use skyfence_service::evidence;
use skyfence_service::exit::input_error;

/// Arguments of `skyfence export`.
#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The incident id (16 hex digits, as the API and `analyze` print it).
    #[arg(value_name = "INCIDENT_ID")]
    pub incident: String,
    /// Where to write the bundle (a zip file).
    #[arg(long, value_name = "FILE.zip")]
    pub out: PathBuf,
    /// The service's config file: its `[store] path` and `[evidence]` key. Without it,
    /// `skyfence.db` in the current directory.
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    pub config: Option<PathBuf>,
    /// The SQLite store itself, for a service run without a config file (`skyfence demo`
    /// writes `skyfence-demo.db`); the log key is then the file beside it with the
    /// extension `.key`.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

/// The log's signing key (`[evidence] key`, by default beside the store), if the file
/// exists: export never generates a key, only the service does.
fn log_signer(config: &Config, store_path: &Path) -> anyhow::Result<Option<Signer>> {
    let path = evidence::key_path(&config.evidence, &config.base_dir, store_path);
    if !path.exists() {
        return Ok(None);
    }
    evidence::load_log_key(&path, config.evidence.origin.as_deref())
        .map(Some)
        .map_err(|e| input_error(format!("{e:#}")))
}

/// The witness keys `[evidence] witnesses` names (already validated with the config).
fn witness_keys(config: &Config) -> Vec<VerifierKey> {
    config
        .evidence
        .witnesses
        .iter()
        .filter_map(|w| VerifierKey::parse(w).ok())
        .collect()
}

/// Runs `skyfence export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let id: IncidentId = args
        .incident
        .parse()
        .map_err(|e| input_error(format!("{e}")))?;
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(store) = &args.store {
        config.store.path = store.clone();
    }
    let store_path = config.base_dir.join(&config.store.path);
    if !store_path.exists() {
        return Err(input_error(format!(
            "store {} does not exist (give the service's --config, or --store FILE)",
            store_path.display()
        )));
    }
    let mut store = SqliteStore::open(&store_path)
        .with_context(|| format!("cannot open store {}", store_path.display()))?;
    let signer = log_signer(&config, &store_path)?;
    let mut evidence = gather(&mut store, id, signer.as_ref())?;
    evidence.witness_keys = witness_keys(&config);
    let bundle = build(&evidence).with_context(|| format!("building the bundle of {id}"))?;
    write_atomically(&args.out, |f| {
        bundle.write_zip(f).map(|_| ()).map_err(anyhow::Error::from)
    })?;
    eprintln!(
        "skyfence export: incident {id}: {} leaves, checkpoint of {} leaves, {} files -> {}",
        evidence.leaves.len(),
        Note::parse(evidence.checkpoint_note.as_bytes())
            .ok()
            .and_then(|n| Checkpoint::parse_body(&n.text).ok())
            .map_or(0, |c| c.size),
        bundle.files.len(),
        args.out.display()
    );
    eprintln!(
        "  verify with: skyfence verify {} --key '{}'",
        args.out.display(),
        evidence.log_key
    );
    Ok(())
}

/// Writes `path` through a temporary file in the same directory, renamed into place once
/// complete: a reader never sees half a bundle.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    // A rename would replace a device or FIFO (`--out /dev/null`) with a regular file;
    // a zip needs a seekable file anyway.
    if let Ok(meta) = std::fs::metadata(path)
        && !meta.is_file()
    {
        return Err(input_error(format!(
            "--out {}: exists and is not a regular file (a bundle is written as a new zip file)",
            path.display()
        )));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("bundle"),
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        write(&mut f)?;
        f.flush()?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Collects the evidence of incident `id` from the store, signing (and storing) a fresh
/// checkpoint with `signer` when no stored one covers every leaf.
pub fn gather(
    store: &mut SqliteStore,
    id: IncidentId,
    signer: Option<&Signer>,
) -> anyhow::Result<Evidence> {
    let mut leaves = store
        .incident_evidence(id)?
        .ok_or_else(|| input_error(format!("no incident {id} in the store")))?;
    // The zone comes from the incident's latest state change.
    let incident: Incident = leaves
        .iter()
        .rev()
        .filter_map(|(_, b)| EvidenceLeaf::decode(b).ok())
        .find_map(|l| match l {
            EvidenceLeaf::IncidentStateChanged {
                incident_id,
                incident_json,
                ..
            } if incident_id == id.0 => serde_json::from_str(&incident_json).ok(),
            _ => None,
        })
        .ok_or_else(|| {
            anyhow::anyhow!(
                "the evidence log holds no state change of incident {id} (was it stored before the log existed?)"
            )
        })?;
    let size = store.evidence_size()?;
    // The zone and configuration in force when the incident was first logged (its
    // confirmation): a later restart with other settings does not change what detected it.
    let in_force = leaves
        .iter()
        .filter(|(_, b)| b.get(1) == Some(&0x04))
        .map(|(i, _)| i + 1)
        .min()
        .unwrap_or(size);
    let zone = store
        .dataset_leaf(DatasetKind::Zones, &incident.zone, in_force)?
        .ok_or_else(|| anyhow::anyhow!("the evidence log holds no zone {:?}", incident.zone))?;
    let config = store
        .config_leaf(in_force)?
        .ok_or_else(|| anyhow::anyhow!("the evidence log holds no configuration"))?;
    leaves.push(zone);
    leaves.push(config);
    leaves.sort_by_key(|(i, _)| *i);
    leaves.dedup_by_key(|(i, _)| *i);
    let needed = leaves.last().map_or(0, |(i, _)| i + 1);

    let stored = store.latest_checkpoint()?;
    let (checkpoint_note, log_key) = match (stored, signer) {
        (Some(cp), signer) if cp.size >= needed => {
            let key = match signer {
                Some(s) => s.verifier_key(),
                None => anyhow::bail!(
                    "the bundle must carry the log's public key: give --config with the service's [evidence] key"
                ),
            };
            (cp.note, key)
        }
        (_, Some(signer)) => {
            evidence::sign_if_grown(store, signer, wall_clock())?;
            let cp = store
                .latest_checkpoint()?
                .ok_or_else(|| anyhow::anyhow!("the checkpoint just signed is not in the store"))?;
            (cp.note, signer.verifier_key())
        }
        (_, None) => anyhow::bail!(
            "no signed checkpoint covers the incident's leaves yet and no log key is configured to sign one \
             (give --config with the service's [evidence] key)"
        ),
    };
    let note = Note::parse(checkpoint_note.as_bytes())
        .map_err(|e| anyhow::anyhow!("stored checkpoint: {e}"))?;
    let cp = Checkpoint::parse_body(&note.text)
        .map_err(|e| anyhow::anyhow!("stored checkpoint: {e}"))?;
    let witness_keys: Vec<VerifierKey> = Vec::new();
    let proofs = leaves
        .iter()
        .map(|(i, _)| Ok((*i, store.inclusion_proof(*i, cp.size)?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Evidence {
        incident: id,
        checkpoint_note,
        log_key,
        witness_keys,
        leaves,
        proofs,
        exported_at: wall_clock(),
    })
}
