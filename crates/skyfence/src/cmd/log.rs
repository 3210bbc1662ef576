//! `skyfence log verify`, `checkpoint`, `key` and `rotate-key`: check the whole evidence
//! log kept in a store, sign a checkpoint by hand, print the log's public key, and
//! replace the signing key (recorded in the log, signed by both keys).
//!
//! `verify` prints the report of `skyfence_store::check::verify_log`, which trusts nothing
//! in the store: it recomputes every leaf hash from the leaf bytes, rebuilds the RFC 6962
//! tree from them and compares every stored node, opens every stored checkpoint with the
//! log's public key (and the cosignatures with the witness keys given), compares each
//! checkpoint's root with the rebuilt tree's, and checks an RFC 6962 consistency proof
//! between each pair of consecutive checkpoints. Exit 0 only if every check passes.

use std::path::PathBuf;

use anyhow::Context as _;
use skyfence_evidence::VerifierKey;
use skyfence_store::check::verify_log;
use skyfence_store::{Store, StoreOptions, StoreUrl};

use skyfence_service::config::Config;
use skyfence_service::evidence::{self as log_service, load_log_key};
use skyfence_service::exit::input_error;

/// `skyfence log ...`.
#[derive(clap::Subcommand, Debug)]
pub enum LogCommand {
    /// Check every leaf, the tree, every checkpoint's signature and root, and the
    /// consistency between consecutive checkpoints; exit 0 only if all pass.
    Verify(VerifyArgs),
    /// Sign a checkpoint of the whole log now (with the service's key), if it grew.
    Checkpoint(StoreArgs),
    /// Print the log's public key (the `vkey` verifiers and witnesses need).
    Key(StoreArgs),
    /// Replace the log's signing key: the log records the change, signed by the old and
    /// the new key, and the new key signs from then on. Stop the service first.
    RotateKey(RotateArgs),
}

/// Arguments of `skyfence log rotate-key`.
#[derive(clap::Args, Debug)]
pub struct RotateArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The new key file (a private key of the log's name, mode 0600). Default: a new
    /// key is generated.
    #[arg(long, value_name = "FILE")]
    pub new_key: Option<PathBuf>,
}

/// Which store, and which key.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// The service's config file (its [store] path and [evidence] key).
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    pub config: Option<PathBuf>,
    /// The SQLite store itself (the key is then looked for beside it, as FILE.key).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

/// Arguments of `skyfence log verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The log's public key (`vkey`, as `skyfence log key` prints it). Default: derived
    /// from the service's key file.
    #[arg(long, value_name = "VKEY")]
    pub log_key: Option<String>,
    /// A witness's public key; its cosignatures must verify. Repeatable.
    #[arg(long, value_name = "VKEY")]
    pub witness_key: Vec<String>,
}

/// The store and key path `args` name.
fn locate(args: &StoreArgs) -> anyhow::Result<(StoreUrl, PathBuf, Option<String>)> {
    match (&args.config, &args.store) {
        (Some(c), _) => {
            let config = Config::load(c)?;
            let store = config.store.location(&config.base_dir)?;
            let key = match (&config.evidence.key, store.file()) {
                (None, Some(file)) => {
                    log_service::key_path(&config.evidence, &config.base_dir, file)
                }
                (Some(k), _) => config.base_dir.join(k),
                (None, None) => {
                    return Err(input_error(format!(
                        "store {store} is not a file: give [evidence] key = \"FILE\" in {}",
                        c.display()
                    )));
                }
            };
            Ok((store, key, config.evidence.origin.clone()))
        }
        (None, Some(s)) => Ok((StoreUrl::sqlite(s), s.with_extension("key"), None)),
        (None, None) => Err(input_error(
            "give --config FILE (the service's config) or --store FILE (its SQLite store)",
        )),
    }
}

fn open_store(url: &StoreUrl) -> anyhow::Result<Box<dyn Store>> {
    if !url.exists() {
        return Err(input_error(format!("store {url} does not exist")));
    }
    skyfence_store::open(url, StoreOptions::default())
        .with_context(|| format!("cannot open store {url}"))
}

/// Runs `skyfence log ...`.
pub fn run(command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Verify(args) => verify(&args),
        LogCommand::Checkpoint(args) => {
            let (store_path, key_path, origin) = locate(&args)?;
            let mut store = open_store(&store_path)?;
            let signer = log_service::load_continuing_key(&*store, &key_path, origin.as_deref())?;
            let now = skyfence_core::time::wall_clock();
            match log_service::sign_if_grown(&mut *store, &signer, now)? {
                Some(size) => println!("signed checkpoint of size {size}"),
                None => println!(
                    "the log has not grown since its latest checkpoint (size {})",
                    store.evidence_size()?
                ),
            }
            Ok(())
        }
        LogCommand::RotateKey(args) => rotate_key(&args),
        LogCommand::Key(args) => {
            let (_, key_path, origin) = locate(&args)?;
            if !key_path.exists() {
                return Err(input_error(format!(
                    "no log key at {} (the service creates it at its first start)",
                    key_path.display()
                )));
            }
            let signer = load_log_key(&key_path, origin.as_deref())?;
            println!("{}", signer.verifier_key());
            Ok(())
        }
    }
}

fn rotate_key(args: &RotateArgs) -> anyhow::Result<()> {
    let (store_path, key_path, origin) = locate(&args.store)?;
    let mut store = open_store(&store_path)?;
    let current = match skyfence_service::key_rotation::pending(&*store)? {
        Some(_) => None,
        None => Some(log_service::load_continuing_key(
            &*store,
            &key_path,
            origin.as_deref(),
        )?),
    };
    let now = skyfence_core::time::wall_clock();
    let r = skyfence_service::key_rotation::rotate(
        &mut *store,
        &key_path,
        current.as_ref(),
        args.new_key.as_deref(),
        now,
    )?;
    println!(
        "{} the log key of {store_path}",
        if r.resumed {
            "finished rotating"
        } else {
            "rotated"
        }
    );
    println!("retired:   {} (kept at {})", r.old, r.retired.display());
    println!("in force:  {} ({})", r.new, key_path.display());
    println!(
        "rotation leaf {}, signed by both keys; checkpoint of size {} signed by the new key",
        r.leaf, r.checkpoint
    );
    println!(
        "give the new public key to verifiers and witnesses; `skyfence log verify` follows the chain from either key"
    );
    Ok(())
}

fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let (store_path, key_path, origin) = locate(&args.store)?;
    let log_key = match &args.log_key {
        Some(k) => VerifierKey::parse(k).map_err(|e| input_error(format!("--log-key: {e}")))?,
        None if key_path.exists() => load_log_key(&key_path, origin.as_deref())?.verifier_key(),
        None => {
            return Err(input_error(format!(
                "no log key: give --log-key VKEY or keep the key at {}",
                key_path.display()
            )));
        }
    };
    let witness_keys = args
        .witness_key
        .iter()
        .map(|k| VerifierKey::parse(k).map_err(|e| input_error(format!("--witness-key: {e}"))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = open_store(&store_path)?;
    println!("evidence log of {store_path}");
    println!("log key {log_key}");
    let report = verify_log(&*store, &log_key, &witness_keys)?;
    for (verdict, line) in &report.lines {
        println!("{:<5} {line}", verdict.label());
    }
    if report.is_valid() {
        println!("verdict: VALID ({} checks passed)", report.passed);
        Ok(())
    } else {
        println!(
            "verdict: INVALID ({} of {} checks failed)",
            report.failed,
            report.failed + report.passed
        );
        anyhow::bail!(
            "evidence log of {store_path} failed {} checks",
            report.failed
        )
    }
}
