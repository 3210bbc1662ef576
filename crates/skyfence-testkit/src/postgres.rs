//! A real PostgreSQL server with PostGIS for tests, started once per test process on
//! 127.0.0.1 from the Debian packages `postgresql-15` and `postgresql-15-postgis-3`
//! (`.ci/run` installs them).
//!
//! [`server`] runs `initdb` into a fresh temporary directory (as the `postgres` user when
//! the tests run as root: initdb refuses root), starts it with `pg_ctl` on a free
//! loopback port (no Unix socket outside that directory, `fsync` off: the data are
//! thrown away), creates the database `skyfence` with PostGIS, and leaves behind a
//! watchdog that stops the server (`pg_ctl stop -m immediate`) and deletes the directory
//! as soon as the test process exits, however it exits.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// A running test server.
#[derive(Debug)]
pub struct PgServer {
    /// Its loopback port.
    pub port: u16,
    /// The temporary directory holding its data (`data/`) and log (`log`).
    pub dir: PathBuf,
    bin: PathBuf,
    /// The user the server runs as (`postgres` when the tests run as root).
    run_as: Option<String>,
}

impl PgServer {
    /// The URL of database `db` as the superuser `skyfence`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://skyfence@127.0.0.1:{}/{db}", self.port)
    }

    /// The URL of the `skyfence` database with the tables in `schema` (created if
    /// missing), PostGIS found in `public`: one scratch store per test without the cost
    /// of a database each.
    pub fn schema_url(&self, schema: &str) -> Result<String, String> {
        self.psql(
            "skyfence",
            &format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""),
        )?;
        Ok(format!(
            "{}?options=-csearch_path%3D{schema}%2Cpublic",
            self.url("skyfence")
        ))
    }

    /// Runs `sql` with `psql` in database `db`; its output, or why it failed.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "skyfence",
                "-d",
                db,
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run psql: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "psql -c {sql:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// `pg_ctl` with `args` against this server's data directory, as its user.
    pub fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.dir.join("data");
        let mut cmd = self.as_server_user("pg_ctl");
        cmd.arg("-D").arg(&data).args(args);
        run(cmd, "pg_ctl")
    }

    /// Stops the server at once (`-m immediate`, as a crash) ...
    pub fn stop(&self) -> Result<(), String> {
        self.pg_ctl(&["stop", "-m", "immediate", "-w"])
    }

    /// ... and starts it again on the same port.
    pub fn start(&self) -> Result<(), String> {
        let log = self.dir.join("log");
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -k {} -c fsync=off -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        self.pg_ctl(&[
            "start",
            "-w",
            "-t",
            "60",
            "-l",
            &log.to_string_lossy(),
            "-o",
            &opts,
        ])
    }

    fn as_server_user(&self, tool: &str) -> Command {
        let exe = self.bin.join(tool);
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(exe);
                c
            }
            None => Command::new(exe),
        }
    }
}

fn run(mut cmd: Command, what: &str) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            String::from_utf8_lossy(&out.stdout).trim()
        ))
    }
}

/// Where PostgreSQL 15's programs are.
fn bin_dir() -> Result<PathBuf, String> {
    let debian = Path::new("/usr/lib/postgresql/15/bin");
    if debian.join("initdb").exists() {
        return Ok(debian.to_path_buf());
    }
    Err(
        "PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin/initdb missing; \
         apt-get install postgresql-15 postgresql-15-postgis-3)"
            .into(),
    )
}

/// Whether this process runs as root (then the server runs as `postgres`).
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

fn start() -> Result<PgServer, String> {
    let bin = bin_dir()?;
    if !Path::new("/usr/share/postgresql/15/extension/postgis.control").exists() {
        return Err(
            "PostGIS for PostgreSQL 15 is not installed (apt-get install postgresql-15-postgis-3)"
                .into(),
        );
    }
    let run_as = is_root().then(|| "postgres".to_string());
    let dir = std::env::temp_dir().join(format!(
        "skyfence-pg-{}-{}",
        std::process::id(),
        free_port()?
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some(user) = &run_as {
        run(
            {
                let mut c = Command::new("chown");
                c.arg(user).arg(&dir);
                c
            },
            "chown",
        )?;
    }
    let server = PgServer {
        port: free_port()?,
        dir: dir.clone(),
        bin,
        run_as,
    };
    watchdog(&server);
    let mut initdb = server.as_server_user("initdb");
    initdb.arg("-D").arg(dir.join("data")).args([
        "-U",
        "skyfence",
        "--auth=trust",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    ]);
    run(initdb, "initdb")?;
    server.start()?;
    server.psql("postgres", "CREATE DATABASE skyfence")?;
    server.psql("skyfence", "CREATE EXTENSION postgis")?;
    Ok(server)
}

/// Stops the server and deletes its directory when this process ends.
fn watchdog(server: &PgServer) {
    let data = server.dir.join("data");
    let stop = match &server.run_as {
        Some(u) => format!(
            "runuser -u {u} -- {} -D '{}' stop -m immediate",
            server.bin.join("pg_ctl").display(),
            data.display()
        ),
        None => format!(
            "{} -D '{}' stop -m immediate",
            server.bin.join("pg_ctl").display(),
            data.display()
        ),
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{dir}'",
        pid = std::process::id(),
        dir = server.dir.display()
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// The process's test server, started at the first call; `Err` says why there is none
/// (for [`crate::require_tool`]).
pub fn server() -> Result<&'static PgServer, String> {
    static SERVER: OnceLock<Result<PgServer, String>> = OnceLock::new();
    SERVER.get_or_init(start).as_ref().map_err(Clone::clone)
}
