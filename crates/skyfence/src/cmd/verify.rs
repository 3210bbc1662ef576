//! `skyfence verify FILE.zip|DIR [--key PUB]... [--store FILE]`: checks an evidence bundle
//! offline: signatures and cosignatures, every inclusion proof, that the readable files
//! are what the leaves say, and that re-decoding the raw frames and re-running detection
//! with the bundle's zone and settings gives the same incident. Given a dossier directory,
//! checks the whole dossier (`skyfence_dossier::verify`): its signed manifest, every
//! bundle as above, the checkpoint that includes them all, and that the tables and reports
//! are what the verified bundles give; with `--store`, also that no incident of the
//! period is missing. Prints one line per check and a verdict; exits 0 only when every
//! check passes, 1 when one fails, 2 when the input is not readable or a `--key` is
//! malformed.

use std::path::PathBuf;

use anyhow::Context as _;
use skyfence_service::exit::input_error;
use skyfence_store::{StoreOptions, StoreUrl};

/// Arguments of `skyfence verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The evidence bundle (made by `skyfence export`) or dossier directory (made by
    /// `skyfence dossier`).
    #[arg(value_name = "FILE.zip|DIR")]
    pub bundle: PathBuf,
    /// A key you trust, as a C2SP vkey (`name+keyid+base64`) or a file of vkey lines.
    /// The log's key must be one of them; cosignatures by the witness keys among them are
    /// checked and reported. Repeatable. Without it the log key is only self-asserted.
    #[arg(long, value_name = "PUB")]
    pub key: Vec<String>,
    /// For a dossier: the log's store (or a witness's mirror of it), to check that no
    /// incident of the dossier's period and zones is missing.
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

/// Runs `skyfence verify`: the bundle crate's (or the dossier crate's) verification, printed.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    if args.bundle.is_dir() {
        return run_dossier(args);
    }
    if args.store.is_some() {
        return Err(input_error(
            "--store checks a dossier's completeness: give a dossier directory",
        ));
    }
    let run =
        skyfence_bundle::run::verify_file(&args.bundle, &args.key).map_err(|e| input_error(e.0))?;
    print_verdict("bundle", &args.bundle, &run.lines, run.passed, &run.failed)
}

fn run_dossier(args: VerifyArgs) -> anyhow::Result<()> {
    let store = match &args.store {
        Some(path) => {
            if !path.exists() {
                return Err(input_error(format!(
                    "--store {}: no such file",
                    path.display()
                )));
            }
            let url = StoreUrl::sqlite(path.clone());
            Some(
                skyfence_store::open(&url, StoreOptions::default())
                    .with_context(|| format!("cannot open store {url}"))?,
            )
        }
        None => None,
    };
    let run = skyfence_dossier::verify::verify_dir(&args.bundle, &args.key, store.as_deref())
        .map_err(|e| input_error(e.0))?;
    print_verdict("dossier", &args.bundle, &run.lines, run.passed, &run.failed)
}

/// Prints a verification's lines; an error naming what failed unless it passed.
fn print_verdict(
    what: &str,
    path: &std::path::Path,
    lines: &[String],
    passed: bool,
    failed: &[String],
) -> anyhow::Result<()> {
    for line in lines {
        println!("{line}");
    }
    if passed {
        Ok(())
    } else {
        anyhow::bail!(
            "{what} {} failed verification: {}",
            path.display(),
            failed.join(", ")
        )
    }
}
