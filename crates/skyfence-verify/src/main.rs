//! `skyfence-verify FILE.zip|DIR [--key PUB]...`: the offline verifier alone, for the
//! party that receives an evidence bundle or a whole dossier. Built from the bundle and
//! dossier crates without their store (no SQLite, no live service, nothing that produced
//! what it checks). Prints what `skyfence verify` prints; exits 0 only when every check
//! passes, 1 when one fails, 2 for bad usage or unreadable input.
//!
//! A dossier's completeness against the log (`skyfence verify DIR --store FILE`) needs
//! the log itself, so it is left to `skyfence verify`.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: skyfence-verify FILE.zip|DIR [--key PUB]...";

fn main() -> ExitCode {
    let mut input: Option<PathBuf> = None;
    let mut keys = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!(
                    "{USAGE}\n\nChecks an evidence bundle (FILE.zip) offline: signatures, inclusion \
                     proofs, the files against the leaves, re-decoding and re-detection; or a \
                     dossier directory (DIR): its signed manifest, every bundle as above, the one \
                     checkpoint that includes them, and every table and report against the \
                     verified bundles.\n\
                     --key PUB  a key you trust: a C2SP vkey or a file of vkey lines (repeatable)"
                );
                return ExitCode::SUCCESS;
            }
            "--key" => match args.next() {
                Some(k) => keys.push(k),
                None => return usage("--key needs a value"),
            },
            _ if arg.starts_with("--key=") => keys.push(arg["--key=".len()..].to_string()),
            "--store" => {
                return usage(
                    "--store (completeness against the log) is checked by `skyfence verify DIR --store FILE`, which reads the log",
                );
            }
            _ if arg.starts_with('-') => return usage(&format!("unknown option {arg:?}")),
            _ if input.is_none() => input = Some(PathBuf::from(arg)),
            _ => return usage(&format!("unexpected argument {arg:?}")),
        }
    }
    let Some(input) = input else {
        return usage("no bundle or dossier given");
    };
    let (what, run) = if input.is_dir() {
        (
            "dossier",
            skyfence_dossier::verify::verify_dir_with(&input, &keys, None)
                .map(|r| (r.lines, r.passed, r.failed)),
        )
    } else {
        (
            "bundle",
            skyfence_bundle::run::verify_file(&input, &keys).map(|r| (r.lines, r.passed, r.failed)),
        )
    };
    match run {
        Ok((lines, passed, failed)) => {
            for line in &lines {
                println!("{line}");
            }
            if passed {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "skyfence-verify: error: {what} {} failed verification: {}",
                    input.display(),
                    failed.join(", ")
                );
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("skyfence-verify: error: {}", e.0);
            ExitCode::from(2)
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("skyfence-verify: error: {problem}\n{USAGE}");
    ExitCode::from(2)
}
