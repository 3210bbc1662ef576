//! `[cluster]` and `[relay]`: where a national deployment's NATS JetStream cluster is,
//! and how a site relay spools when it cannot reach it (docs/INTERFACES.md, "Cluster").

use std::path::PathBuf;

use serde::Deserialize;

/// `[cluster]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The JetStream servers: one URL or a list (`nats://host:port`).
    pub nats: NatsUrls,
    /// This node's name, unique in the cluster (a relay's: its site's name): letters,
    /// digits, `-` and `_` (it becomes a NATS subject token).
    pub node: String,
    /// Partitions of the traffic, fixed for the life of a deployment (detector nodes).
    #[serde(default = "default_partitions")]
    pub partitions: u32,
}

fn default_partitions() -> u32 {
    32
}

/// One NATS URL or several.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum NatsUrls {
    /// `nats = "nats://127.0.0.1:4222"`.
    One(String),
    /// `nats = ["nats://a:4222", "nats://b:4222"]`.
    Many(Vec<String>),
}

impl NatsUrls {
    /// The URLs.
    pub fn urls(&self) -> Vec<&str> {
        match self {
            NatsUrls::One(u) => vec![u.as_str()],
            NatsUrls::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// Whether `name` can be one token of a NATS subject (and a file name).
pub fn is_subject_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ClusterConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        let urls = self.nats.urls();
        if urls.is_empty() {
            return Err((
                "nats",
                "[cluster] nats is empty: give at least one nats://HOST:PORT".into(),
            ));
        }
        for u in urls {
            let ok = ["nats://", "tls://"]
                .iter()
                .any(|s| u.strip_prefix(s).is_some_and(|rest| !rest.is_empty()));
            if !ok {
                return Err((
                    "nats",
                    format!(
                        "[cluster] nats = {u:?}: expected nats://HOST:PORT (or tls://HOST:PORT)"
                    ),
                ));
            }
        }
        if !is_subject_token(&self.node) {
            return Err((
                "node",
                format!(
                    "[cluster] node = {:?}: expected 1 to 64 letters, digits, '-' or '_' (it names the node in subjects)",
                    self.node
                ),
            ));
        }
        if !(1..=4096).contains(&self.partitions) {
            return Err((
                "partitions",
                format!(
                    "[cluster] partitions = {} is out of range (expected 1 to 4096)",
                    self.partitions
                ),
            ));
        }
        Ok(())
    }
}

/// `[relay]`: the site relay's spool (`skyfence relay`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// The spool directory, relative to the config file.
    #[serde(default = "default_spool")]
    pub spool: PathBuf,
    /// The most the spool may hold, MiB; a full spool stops reading the sources (the
    /// receivers' TCP backs up) and raises an alarm, never drops.
    #[serde(default = "default_spool_max_mb")]
    pub spool_max_mb: f64,
    /// Where `/metrics` of the relay is served (none when absent).
    pub metrics: Option<std::net::SocketAddr>,
}

fn default_spool() -> PathBuf {
    PathBuf::from("relay-spool")
}

fn default_spool_max_mb() -> f64 {
    1024.0
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            spool: default_spool(),
            spool_max_mb: default_spool_max_mb(),
            metrics: None,
        }
    }
}

impl RelayConfig {
    /// Checks the values; the error names the key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if !(self.spool_max_mb.is_finite()
            && self.spool_max_mb > 0.0
            && self.spool_max_mb <= 1_048_576.0)
        {
            return Err((
                "spool_max_mb",
                format!(
                    "[relay] spool_max_mb = {} is out of range (expected 0 < MB <= 1048576)",
                    self.spool_max_mb
                ),
            ));
        }
        Ok(())
    }

    /// The spool's bound in bytes.
    pub fn spool_max_bytes(&self) -> u64 {
        (self.spool_max_mb * 1_048_576.0) as u64
    }
}
