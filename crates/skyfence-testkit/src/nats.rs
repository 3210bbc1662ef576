//! Real `nats-server -js` processes for tests (the Debian package `nats-server`, which
//! `.ci/run` installs), on 127.0.0.1 with their JetStream storage in a temporary
//! directory. [`NatsServer::stop`] kills it (SIGKILL: a crash) and [`NatsServer::start`]
//! starts it again on the same port and storage, so a test can cut a client off and
//! reconnect it. Dropping the value kills the server and removes the directory.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One JetStream server.
#[derive(Debug)]
pub struct NatsServer {
    /// Its client port on 127.0.0.1.
    pub port: u16,
    dir: tempfile_dir::Dir,
    child: Option<Child>,
}

/// A directory removed on drop (the testkit has no dependencies).
mod tempfile_dir {
    use std::path::PathBuf;

    #[derive(Debug)]
    pub struct Dir(pub PathBuf);

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Where `nats-server` is, or why there is none (for [`crate::require_tool`]).
pub fn available() -> Result<PathBuf, String> {
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let p = PathBuf::from(dir).join("nats-server");
        if p.exists() {
            return Ok(p);
        }
    }
    Err("nats-server is not installed (apt-get install nats-server)".into())
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

impl NatsServer {
    /// Starts a server with JetStream on a free loopback port.
    pub fn start_new() -> Result<NatsServer, String> {
        available()?;
        let port = free_port()?;
        let dir = std::env::temp_dir().join(format!("skyfence-nats-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut server = NatsServer {
            port,
            dir: tempfile_dir::Dir(dir),
            child: None,
        };
        server.start()?;
        Ok(server)
    }

    /// The client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Starts the (stopped) server again: same port, same JetStream storage.
    pub fn start(&mut self) -> Result<(), String> {
        if self.child.is_some() {
            return Ok(());
        }
        let bin = available()?;
        let child = Command::new(bin)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .arg("-sd")
            .arg(self.dir.0.join("js"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start nats-server: {e}"))?;
        self.child = Some(child);
        // Ready when it accepts connections (bounded wait).
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline {
                return Err(format!("nats-server did not listen on port {}", self.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// Kills the server (SIGKILL), keeping its storage.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}
