//! `skyfence-verify FILE.zip [--key PUB]...`: the bundle verifier alone, built from the
//! bundle crate without SQLite, the live service or anything that produced the bundle,
//! for the party that receives one. Prints what `skyfence verify` prints; exits 0 only
//! when every check passes, 1 when one fails, 2 for bad usage or an unreadable bundle.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: skyfence-verify FILE.zip [--key PUB]...";

fn main() -> ExitCode {
    let mut bundle: Option<PathBuf> = None;
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!(
                    "{USAGE}\n\nChecks an evidence bundle offline: signatures, inclusion proofs, \
                     the files against the leaves, re-decoding and re-detection.\n\
                     --key PUB  a key you trust: a C2SP vkey or a file of vkey lines (repeatable)"
                );
                return ExitCode::SUCCESS;
            }
            "--key" => match args.next() {
                Some(k) => keys.push(k),
                None => return usage("--key needs a value"),
            },
            _ if arg.starts_with("--key=") => keys.push(arg["--key=".len()..].to_string()),
            _ if arg.starts_with('-') => return usage(&format!("unknown option {arg:?}")),
            _ if bundle.is_none() => bundle = Some(PathBuf::from(arg)),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(bundle) = bundle else {
        return usage("no bundle given");
    };
    match skyfence_bundle::run::verify_file(&bundle, &keys) {
        Ok(run) => {
            for line in &run.lines {
                println!("{line}");
            }
            if run.passed {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "skyfence-verify: error: bundle {} failed verification: {}",
                    bundle.display(),
                    run.failed.join(", ")
                );
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("skyfence-verify: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("skyfence-verify: error: {problem}\n{USAGE}");
    ExitCode::from(2)
}
