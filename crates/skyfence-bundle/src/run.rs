//! One verification of a bundle file as a person runs it: keys read from `--key`
//! arguments, the bundle opened, every check and the verdict as printed lines. `skyfence
//! verify` and the standalone `skyfence-verify` (built from this crate alone, so without
//! SQLite or the live service) print exactly these lines.

use std::path::Path;

use skyfence_evidence::VerifierKey;

use crate::archive::Bundle;
use crate::verify::{Outcome, verify};

/// What the user gave that cannot be used: an unreadable file, a file that is not a
/// bundle, a malformed key. Commands exit with status 2 for it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The outcome of [`verify_file`]: the lines to print and whether every check passed.
#[derive(Debug, Clone)]
pub struct VerifyRun {
    /// One line naming the bundle, one per check, then the verdict.
    pub lines: Vec<String>,
    /// True when every check passed (warnings allowed).
    pub passed: bool,
    /// The names of the checks that failed.
    pub failed: Vec<String>,
}

/// Reads `--key` values: a vkey itself (`name+keyid+base64`), or a file holding vkey
/// lines (`#` comments and blank lines skipped).
pub fn parse_keys(args: &[String]) -> Result<Vec<VerifierKey>, UsageError> {
    let mut keys = Vec::new();
    for arg in args {
        if let Ok(k) = VerifierKey::parse(arg.trim()) {
            keys.push(k);
            continue;
        }
        let text = std::fs::read_to_string(arg).map_err(|e| {
            UsageError(format!(
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
                .map_err(|e| UsageError(format!("--key file {arg} line {}: {e}", n + 1)))?;
            keys.push(k);
            found += 1;
        }
        if found == 0 {
            return Err(UsageError(format!("--key file {arg}: no vkey line in it")));
        }
    }
    Ok(keys)
}

/// Verifies the bundle at `path` against the keys in `key_args` (see [`parse_keys`]).
pub fn verify_file(path: &Path, key_args: &[String]) -> Result<VerifyRun, UsageError> {
    let pins = parse_keys(key_args)?;
    let file = std::fs::File::open(path)
        .map_err(|e| UsageError(format!("cannot read bundle {}: {e}", path.display())))?;
    let bundle = Bundle::read_zip(std::io::BufReader::new(file)).map_err(|e| {
        UsageError(format!(
            "{}: not a readable evidence bundle: {e}",
            path.display()
        ))
    })?;
    let v = verify(&bundle, &pins).map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
    let mut lines = vec![format!("skyfence verify {}", path.display())];
    lines.extend(v.checks.iter().map(ToString::to_string));
    let total = v.checks.len();
    let warned = v
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Warn)
        .count();
    let passed = v.passed();
    let failed: Vec<String> = v.failed().iter().map(ToString::to_string).collect();
    lines.push(if !passed {
        format!(
            "VERDICT: NOT VERIFIED: {} of {total} checks failed: {}",
            failed.len(),
            failed.join(", ")
        )
    } else if pins.is_empty() {
        format!(
            "VERDICT: VERIFIED against the bundle's own key: all {total} checks pass, but the log key is only \
             self-asserted; pin it with --key to know who signed"
        )
    } else if warned > 0 {
        format!("VERDICT: VERIFIED: all {total} checks pass ({warned} with a caveat above)")
    } else {
        format!("VERDICT: VERIFIED: all {total} checks pass with the pinned key")
    });
    Ok(VerifyRun {
        lines,
        passed,
        failed,
    })
}
