//! Test support shared by the workspace's tests; a dev-dependency only, never linked
//! into the binary.
//!
//! Tests that drive an external tool (the pyModeS and rs1090 decoders, dump1090, the
//! TAK parsers, chromium with node and playwright-core) ask [`require_tool`] whether
//! they may run: on a developer's machine a missing tool skips the test with a message,
//! while in CI, which installs every tool (`.ci/run`), a missing tool fails it, so a
//! broken install cannot pass as a green run.

use std::io::Write as _;

pub mod nats;
pub mod postgres;
pub mod scratch;

/// Whether a `CI` environment value means "running in CI": set, not empty, and neither
/// `0` nor `false` (`.ci/run` exports `CI=true`, as do the common CI services).
pub fn ci_value_means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Whether this process runs in CI, by the rule of [`ci_value_means_ci`] applied to the
/// `CI` environment variable.
pub fn in_ci() -> bool {
    ci_value_means_ci(std::env::var("CI").ok().as_deref())
}

/// Whether the test `what` (e.g. "differential decode test") can run: `available` is
/// `Ok` when its tools are there, else `Err` with what is missing and how to install
/// it. Missing tools fail the test (a panic) in CI ([`in_ci`]); elsewhere this prints
/// `skipping WHAT: WHY` to the process's stderr (past the test harness's capture, so it
/// shows for a passing test) and returns `false`, and the test returns early.
#[track_caller]
pub fn require_tool(what: &str, available: Result<(), String>) -> bool {
    decide(what, available, in_ci())
}

#[track_caller]
fn decide(what: &str, available: Result<(), String>, ci: bool) -> bool {
    let Err(why) = available else {
        return true;
    };
    assert!(!ci, "{what} cannot run under CI: {why}");
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "skipping {what}: {why}");
    let _ = err.flush();
    false
}

/// The Python of an oracle kept in its own virtual environment (two oracles install a
/// module of the same name): `$ENV_VAR` when set (`.ci/run` exports it), else
/// `$HOME/.cache/skyfence/venvs/VENV/bin/python`, where `.ci/run` creates it.
pub fn venv_python(env_var: &str, venv: &str) -> std::path::PathBuf {
    std::env::var_os(env_var)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            std::path::PathBuf::from(home)
                .join(".cache/skyfence/venvs")
                .join(venv)
                .join("bin/python")
        })
}

/// Whether `python` runs `check` (a line importing the oracle): for [`require_tool`],
/// with `what` and `install` (how to get it) in the reason when it does not.
pub fn python_runs(
    python: &std::path::Path,
    check: &str,
    what: &str,
    install: &str,
) -> Result<(), String> {
    let ok = std::process::Command::new(python)
        .args(["-c", check])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Ok(())
    } else {
        Err(format!("no {what} at {} ({install})", python.display()))
    }
}

/// Builds `tools/go-note-tlog` (a bundle checker written with the Go checksum
/// database's own `note` and `tlog` packages) into `out_dir`, in GOPATH mode against
/// Debian's `golang-golang-x-mod-dev`, and returns the program's path; `Err` says what is
/// missing (for [`require_tool`]); a failed build panics.
pub fn build_go_note_tlog(out_dir: &std::path::Path) -> Result<std::path::PathBuf, String> {
    const GOPATH: &str = "/usr/share/gocode";
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/go-note-tlog/main.go");
    let go = std::process::Command::new("go").arg("version").output();
    if !go.is_ok_and(|o| o.status.success()) {
        return Err("it needs the Go toolchain (Debian golang-go)".into());
    }
    if !std::path::Path::new(GOPATH)
        .join("src/golang.org/x/mod/sumdb/note")
        .is_dir()
    {
        return Err(format!(
            "it needs golang.org/x/mod in {GOPATH} (Debian golang-golang-x-mod-dev)"
        ));
    }
    let program = out_dir.join("go-note-tlog");
    let out = std::process::Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&program)
        .arg(&source)
        .env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", out_dir.join("go-cache"))
        .env("GOFLAGS", "")
        .output()
        .map_err(|e| format!("go build: {e}"))?;
    assert!(
        out.status.success(),
        "go build {} failed: {}",
        source.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_means_set_and_not_off() {
        for on in ["true", "1", "yes", "TRUE"] {
            assert!(ci_value_means_ci(Some(on)), "{on}");
        }
        for off in [None, Some(""), Some("0"), Some("false")] {
            assert!(!ci_value_means_ci(off), "{off:?}");
        }
    }

    #[test]
    fn available_tools_run_and_missing_ones_skip_outside_ci() {
        assert!(decide("t", Ok(()), true));
        assert!(decide("t", Ok(()), false));
        assert!(!decide("t", Err("no such tool".into()), false));
    }

    #[test]
    #[should_panic(expected = "t cannot run under CI: no such tool")]
    fn missing_tools_fail_in_ci() {
        decide("t", Err("no such tool".into()), true);
    }
}
