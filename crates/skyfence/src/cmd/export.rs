//! `skyfence export INCIDENT_ID --out FILE.zip [--config FILE]`: writes the evidence
//! bundle of one incident (the format is documented in [`skyfence_bundle`]).
//!
//! It reads the store named by the config's `[store]` (`skyfence_store::export::
//! gather_incident`): the incident's leaves (its target's raw evidence over the incident
//! window, its state changes and acknowledgements), the zone's and the configuration's
//! leaves in force, a signed checkpoint that covers them all and each leaf's inclusion proof
//! in that checkpoint's tree. When no stored checkpoint covers the leaves yet (the service
//! signs one every `[evidence]` interval), export signs one over the whole log with the
//! log's key and stores it, as the service would. This command only parses and wires.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use skyfence_core::detect::IncidentId;
use skyfence_core::time::wall_clock;
use skyfence_evidence::{Checkpoint, Note, Signer, VerifierKey};
use skyfence_store::StoreOptions;
use skyfence_store::export::{GatherError, gather_incident};

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
    /// The service's config file: its `[store]` and `[evidence]` key. Without it,
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
/// exists: export never generates a key, only the service does. The key must be the one
/// that signed the store's latest checkpoint (as for `run`): export may sign a
/// checkpoint, and one signed by another key would break the log's chain.
pub(crate) fn log_signer(
    config: &Config,
    store: &dyn skyfence_store::Store,
    store_path: &Path,
) -> anyhow::Result<Option<Signer>> {
    let path = evidence::key_path(&config.evidence, &config.base_dir, store_path);
    if !path.exists() {
        return Ok(None);
    }
    evidence::load_continuing_key(store, &path, config.evidence.origin.as_deref())
        .map(Some)
        .map_err(|e| input_error(format!("{e:#}")))
}

/// The witness keys `[evidence] witnesses` names (already validated with the config).
pub(crate) fn witness_keys(config: &Config) -> Vec<VerifierKey> {
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
    let (config, mut store, signer) = open_store(args.config.as_deref(), args.store.as_deref())?;
    let gathered =
        gather_incident(&mut *store, id, signer.as_ref(), wall_clock()).map_err(|e| match e {
            GatherError::UnknownIncident(_) => input_error(e.to_string()),
            other => anyhow::Error::from(other),
        })?;
    let evidence = Evidence {
        incident: gathered.incident,
        checkpoint_note: gathered.checkpoint_note,
        log_key: gathered.log_key,
        witness_keys: witness_keys(&config),
        leaves: gathered.leaves,
        proofs: gathered.proofs,
        exported_at: wall_clock(),
    };
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

/// The config (or the default), the store it names (or `--store FILE`), and the log's
/// signing key when its file exists: what `export` and `dossier` read.
pub(crate) fn open_store(
    config_path: Option<&Path>,
    store_path: Option<&Path>,
) -> anyhow::Result<(Config, Box<dyn skyfence_store::Store>, Option<Signer>)> {
    let mut config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if let Some(store) = store_path {
        config.store.set_file(store.to_path_buf());
    }
    let url = config.store.location(&config.base_dir)?;
    if !url.exists() {
        return Err(input_error(format!(
            "store {url} does not exist (give the service's --config, or --store FILE)"
        )));
    }
    let store = skyfence_store::open(&url, StoreOptions::default())
        .with_context(|| format!("cannot open store {url}"))?;
    let signer = match url.file() {
        Some(file) => log_signer(&config, &*store, file)?,
        // A server's store: only a named `[evidence] key` (the path is not used then).
        None if config.evidence.key.is_some() => log_signer(&config, &*store, Path::new(""))?,
        None => None,
    };
    Ok((config, store, signer))
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
