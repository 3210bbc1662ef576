//! `skyfence verify FILE.zip [--key PUB]...`: checks an evidence bundle offline:
//! signatures and cosignatures, every inclusion proof, that the readable files are what
//! the leaves say, and that re-decoding the raw frames and re-running detection with the
//! bundle's zone and settings gives the same incident. Prints one line per check and a
//! verdict; exits 0 only when every check passes, 1 when one fails, 2 when the file is not
//! a readable bundle or a `--key` is malformed.

use std::path::PathBuf;

use skyfence_service::exit::input_error;

/// Arguments of `skyfence verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// The evidence bundle (made by `skyfence export`).
    #[arg(value_name = "FILE.zip")]
    pub bundle: PathBuf,
    /// A key you trust, as a C2SP vkey (`name+keyid+base64`) or a file of vkey lines.
    /// The log's key must be one of them; cosignatures by the witness keys among them are
    /// checked and reported. Repeatable. Without it the log key is only self-asserted.
    #[arg(long, value_name = "PUB")]
    pub key: Vec<String>,
}

/// Runs `skyfence verify`: the bundle crate's verification, printed.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let run =
        skyfence_bundle::run::verify_file(&args.bundle, &args.key).map_err(|e| input_error(e.0))?;
    for line in &run.lines {
        println!("{line}");
    }
    if run.passed {
        Ok(())
    } else {
        anyhow::bail!(
            "bundle {} failed verification: {}",
            args.bundle.display(),
            run.failed.join(", ")
        )
    }
}
