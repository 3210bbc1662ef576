//! `skyfence verify FILE.zip [--key PUB]...`: checks an evidence bundle offline:
//! signatures and cosignatures, every inclusion proof, that the readable files are what
//! the leaves say, and that re-decoding the raw frames and re-running detection with the
//! bundle's zone and settings gives the same incident. Prints one line per check and a
//! verdict; exits 0 only when every check passes, 1 when one fails, 2 when the file is not
//! a readable bundle or a `--key` is malformed.

use std::path::PathBuf;

use skyfence_evidence::VerifierKey;

use skyfence_bundle::archive::Bundle;
use skyfence_bundle::verify::{Outcome, verify};
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

/// Reads `--key` values: a vkey itself, or a file holding vkey lines (`#` comments).
pub fn parse_keys(args: &[String]) -> anyhow::Result<Vec<VerifierKey>> {
    let mut keys = Vec::new();
    for arg in args {
        if let Ok(k) = VerifierKey::parse(arg.trim()) {
            keys.push(k);
            continue;
        }
        let text = std::fs::read_to_string(arg).map_err(|e| {
            input_error(format!(
                "--key {arg:?}: neither a vkey (name+keyid+base64) nor a readable file: {e}"
            ))
        })?;
        let mut found = 0;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let k = VerifierKey::parse(line)
                .map_err(|e| input_error(format!("--key file {arg} line {}: {e}", n + 1)))?;
            keys.push(k);
            found += 1;
        }
        if found == 0 {
            return Err(input_error(format!("--key file {arg}: no vkey line in it")));
        }
    }
    Ok(keys)
}

/// Runs `skyfence verify`.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let pins = parse_keys(&args.key)?;
    let path = &args.bundle;
    let file = std::fs::File::open(path)
        .map_err(|e| input_error(format!("cannot read bundle {}: {e}", path.display())))?;
    let bundle = Bundle::read_zip(std::io::BufReader::new(file)).map_err(|e| {
        input_error(format!(
            "{}: not a readable evidence bundle: {e}",
            path.display()
        ))
    })?;
    let v = verify(&bundle, &pins).map_err(|e| input_error(format!("{}: {e}", path.display())))?;
    println!("skyfence verify {}", path.display());
    for check in &v.checks {
        println!("{check}");
    }
    let total = v.checks.len();
    let warned = v
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Warn)
        .count();
    if v.passed() {
        if pins.is_empty() {
            println!(
                "VERDICT: VERIFIED against the bundle's own key: all {total} checks pass, but the log key is only \
                 self-asserted; pin it with --key to know who signed"
            );
        } else if warned > 0 {
            println!("VERDICT: VERIFIED: all {total} checks pass ({warned} with a caveat above)");
        } else {
            println!("VERDICT: VERIFIED: all {total} checks pass with the pinned key");
        }
        Ok(())
    } else {
        let failed = v.failed();
        println!(
            "VERDICT: NOT VERIFIED: {} of {total} checks failed: {}",
            failed.len(),
            failed.join(", ")
        );
        anyhow::bail!(
            "bundle {} failed verification: {}",
            path.display(),
            failed.join(", ")
        )
    }
}
