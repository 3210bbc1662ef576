//! `skyfence dossier (--config FILE | --store FILE) --from RFC3339 --to RFC3339
//! [--zone NAME]... [--unauthorised-only] --out DIR`: a period's incursions as one
//! verifiable document (the files are the dossier crate's, `skyfence_dossier`). This
//! command only opens the store as `export` does and reports progress.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use skyfence_core::time::wall_clock;
use skyfence_dossier::{DossierError, Request, make};
use skyfence_service::exit::input_error;

use super::export::{open_store, witness_keys};

/// Arguments of `skyfence dossier`.
#[derive(clap::Args, Debug)]
pub struct DossierArgs {
    /// The service's config file: its `[store]` and `[evidence]` key.
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    pub config: Option<PathBuf>,
    /// The SQLite store itself; the log key is then the file beside it with the
    /// extension `.key`.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Start of the period (inclusive; incidents are placed by their entry time).
    #[arg(long, value_name = "RFC3339")]
    pub from: String,
    /// End of the period (exclusive).
    #[arg(long, value_name = "RFC3339")]
    pub to: String,
    /// Only incidents in this zone (repeatable; default every zone).
    #[arg(long = "zone", value_name = "NAME")]
    pub zones: Vec<String>,
    /// Only incidents no permit covers.
    #[arg(long)]
    pub unauthorised_only: bool,
    /// The directory to write (new or empty).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn cli_error(e: DossierError) -> anyhow::Error {
    match e {
        DossierError::Usage(m) => input_error(m),
        DossierError::Gather {
            source: skyfence_store::export::GatherError::NoLogKey,
            ..
        }
        | DossierError::Gather {
            source: skyfence_store::export::GatherError::NoCheckpoint,
            ..
        } => input_error(e.to_string()),
        other => anyhow::Error::from(other),
    }
}

/// Runs `skyfence dossier`.
pub fn run(args: DossierArgs) -> anyhow::Result<()> {
    if args.config.is_none() && args.store.is_none() {
        return Err(input_error(
            "give the service's --config FILE or its --store FILE",
        ));
    }
    let req = Request::new(
        &args.from,
        &args.to,
        args.zones,
        args.unauthorised_only,
        args.out,
    )
    .map_err(cli_error)?;
    let (config, mut store, signer) = open_store(args.config.as_deref(), args.store.as_deref())?;
    let Some(signer) = signer else {
        return Err(input_error(
            "the dossier's checkpoint and manifest are signed with the log's key: give --config with the \
             service's [evidence] key (or --store FILE with FILE.key beside it)",
        ));
    };
    let started = Instant::now();
    let mut last = Instant::now();
    let mut progress = |p: skyfence_dossier::Progress| {
        if p.done == p.total || last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            eprintln!(
                "skyfence dossier: {}/{} incidents ({:.0} s)",
                p.done,
                p.total,
                started.elapsed().as_secs_f64()
            );
        }
    };
    let made = make(
        &mut *store,
        &signer,
        &witness_keys(&config),
        &req,
        wall_clock(),
        &mut progress,
    )
    .map_err(cli_error)?;
    let m = &made.manifest;
    if m.incidents.is_empty() {
        eprintln!(
            "skyfence dossier: no incursion in {} to {}: the dossier says so",
            m.period.from, m.period.to
        );
    }
    eprintln!(
        "skyfence dossier: {} incidents, checkpoint of {} leaves, {} files -> {}",
        m.incidents.len(),
        m.log.checkpoint_size,
        m.files.len() + 1,
        req.out.display()
    );
    eprintln!(
        "  verify with: skyfence verify {} --key '{}'",
        req.out.display(),
        m.log.key
    );
    Ok(())
}
