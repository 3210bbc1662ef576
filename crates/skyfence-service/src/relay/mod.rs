//! `skyfence relay --config FILE`: a site's relay into the cluster.
//!
//! Each live `[[source]]` (`connect` or `listen`, any live registry format) is read as
//! bytes; every read becomes one JetStream message on `skyfence.raw.SITE.SOURCE` with
//! the receive time and the site stamped in its headers (the clock is read here, at the
//! edge, as the single-machine service's sources do), and a message id
//! (`Nats-Msg-Id: SITE/RUN/SEQ`) so JetStream drops a message published twice. The bytes
//! stay as the receiver sent them (the evidence is kept raw); a consumer frames each
//! `(source, connection)` byte stream with the format's registry codec, exactly as the
//! live service frames a connection, so records cut across two reads are whole again.
//!
//! NATS unreachable, or a publish not acknowledged: the message goes to the on-disk
//! [`spool::Spool`], and so does everything after it until the spool is empty again, so
//! JetStream receives the site's messages in order. The spool is published from its head
//! whenever NATS is connected. A full spool is an alarm (an ERROR log line and
//! `skyfence_relay_spool_full_total`): the relay stops reading its sources, so the
//! receivers' TCP connections back up, and drops nothing.

pub mod spool;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use anyhow::Context as _;
use async_nats::jetstream;
use skyfence_core::time::wall_clock;
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::cluster::{ClusterConfig, RelayConfig, is_subject_token};
use crate::config::{Config, SourceConfig};
use crate::exit::input_error;
use crate::source::{Backoff, stopped};
use spool::{Record, Spool};

/// The JetStream stream the relays publish into.
pub const RAW_STREAM: &str = "SKYFENCE_RAW";
/// Its subjects: `skyfence.raw.SITE.SOURCE`.
pub const RAW_SUBJECTS: &str = "skyfence.raw.>";
/// How long JetStream remembers message ids to drop duplicates (a spooled message
/// published again after an acknowledgement was lost).
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// Header names of a relayed message.
pub mod headers {
    /// The site (`[cluster] node` of the relay).
    pub const SITE: &str = "Skyfence-Site";
    /// The `[[source]] name`.
    pub const SOURCE: &str = "Skyfence-Source";
    /// The registry format of the payload.
    pub const FORMAT: &str = "Skyfence-Format";
    /// The connection of the source the bytes came from (one byte stream each).
    pub const CONNECTION: &str = "Skyfence-Connection";
    /// The receive time, µs since the Unix epoch (UTC).
    pub const RECEIVED_US: &str = "Skyfence-Received-Us";
}

/// The relay's counters (`/metrics` when `[relay] metrics` is set).
#[derive(Debug, Default)]
pub struct RelayMetrics {
    /// Reads from sources (messages made).
    pub messages: AtomicU64,
    /// Bytes read from sources.
    pub bytes: AtomicU64,
    /// Messages JetStream acknowledged (first publish or from the spool).
    pub published: AtomicU64,
    /// Acknowledgements saying the message was a duplicate (already stored).
    pub duplicates: AtomicU64,
    /// Messages written to the spool.
    pub spooled: AtomicU64,
    /// Bytes in the spool now.
    pub spool_bytes: AtomicU64,
    /// Times the spool filled up (each an alarm).
    pub spool_full: AtomicU64,
    /// 1 while connected to NATS.
    pub connected: AtomicU64,
}

impl RelayMetrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let rows = [
            (
                "skyfence_relay_messages_total",
                "counter",
                "reads from the sources, one message each",
                &self.messages,
            ),
            (
                "skyfence_relay_bytes_total",
                "counter",
                "bytes read from the sources",
                &self.bytes,
            ),
            (
                "skyfence_relay_published_total",
                "counter",
                "messages JetStream acknowledged",
                &self.published,
            ),
            (
                "skyfence_relay_duplicates_total",
                "counter",
                "acknowledgements of messages JetStream already held",
                &self.duplicates,
            ),
            (
                "skyfence_relay_spooled_total",
                "counter",
                "messages written to the spool",
                &self.spooled,
            ),
            (
                "skyfence_relay_spool_bytes",
                "gauge",
                "bytes waiting in the spool",
                &self.spool_bytes,
            ),
            (
                "skyfence_relay_spool_full_total",
                "counter",
                "times the spool filled up (an alarm: sources paused)",
                &self.spool_full,
            ),
            (
                "skyfence_relay_nats_connected",
                "gauge",
                "1 while connected to NATS",
                &self.connected,
            ),
        ];
        crate::metrics::render_plain(&rows)
    }
}

/// One read of a source.
#[derive(Debug)]
struct Chunk {
    source: Arc<str>,
    format: &'static str,
    connection: u64,
    received_us: i64,
    bytes: Vec<u8>,
}

/// The relay's part of a config, checked.
#[derive(Debug)]
pub struct RelaySettings {
    /// `[cluster]`.
    pub cluster: ClusterConfig,
    /// `[relay]`, with the spool directory resolved against the config's directory.
    pub relay: RelayConfig,
    /// The live `[[source]]`s.
    pub sources: Vec<SourceConfig>,
}

impl RelaySettings {
    /// From a loaded config: needs `[cluster]` and at least one live `[[source]]`.
    pub fn from_config(config: &Config, path: &Path) -> anyhow::Result<Self> {
        let cluster = config.cluster.clone().ok_or_else(|| {
            input_error(format!(
                "config {}: skyfence relay needs [cluster] with nats = \"nats://HOST:PORT\" and node = \"SITE\"",
                path.display()
            ))
        })?;
        if config.sources.is_empty() {
            return Err(input_error(format!(
                "config {}: no [[source]] to relay",
                path.display()
            )));
        }
        for s in &config.sources {
            if s.replay.is_some() {
                return Err(input_error(format!(
                    "config {}: [[source]] {:?}: a relay publishes live inputs (connect or listen), not replays",
                    path.display(),
                    s.name
                )));
            }
            if !is_subject_token(&s.name) {
                return Err(input_error(format!(
                    "config {}: [[source]] name {:?}: a relayed source's name is 1 to 64 letters, digits, '-' or '_' (it becomes a subject token)",
                    path.display(),
                    s.name
                )));
            }
        }
        let mut relay = config.relay.clone();
        relay.spool = config.base_dir.join(&relay.spool);
        Ok(RelaySettings {
            cluster,
            relay,
            sources: config.sources.clone(),
        })
    }
}

/// Runs the relay until `shutdown`; then publishes or spools what was read and returns.
pub async fn run(
    settings: RelaySettings,
    metrics: Arc<RelayMetrics>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (mut spool, cut) = Spool::open(&settings.relay.spool, settings.relay.spool_max_bytes())
        .context("opening the relay spool")?;
    if cut > 0 {
        tracing::error!(
            spool = %settings.relay.spool.display(),
            bytes = cut,
            "the spool's last record was cut short by a crash and is lost"
        );
    }
    if spool.pending() {
        tracing::info!(
            bytes = spool.depth(),
            "spool holds messages from an earlier run"
        );
    }
    metrics.spool_bytes.store(spool.depth(), Relaxed);
    let site = settings.cluster.node.clone();
    let urls: Vec<async_nats::ServerAddr> = settings
        .cluster
        .nats
        .urls()
        .iter()
        .map(|u| u.parse().with_context(|| format!("[cluster] nats = {u:?}")))
        .collect::<anyhow::Result<_>>()?;
    let client = async_nats::ConnectOptions::new()
        .name(format!("skyfence-relay {site}"))
        .retry_on_initial_connect()
        .connect(urls)
        .await
        .context("connecting to NATS")?;
    let js = jetstream::new(client.clone());

    // At most 64 reads (of up to 64 KiB) wait for the publisher: beyond that the
    // sources stop reading and the receivers' TCP backs up.
    let (tx, rx) = mpsc::channel::<Chunk>(64);
    let mut tasks = Vec::new();
    for s in &settings.sources {
        let (s, tx, stop) = (s.clone(), tx.clone(), shutdown.clone());
        let m = metrics.clone();
        tasks.push(tokio::spawn(
            async move { read_source(s, tx, m, stop).await },
        ));
    }
    drop(tx);
    let publisher = Publisher {
        site,
        run: wall_clock().as_micros(),
        seq: 0,
        client,
        js,
        stream_ready: false,
        metrics,
    };
    let result = publisher.run(&mut spool, rx, shutdown).await;
    for t in tasks {
        t.abort();
    }
    result
}

struct Publisher {
    site: String,
    run: i64,
    seq: u64,
    client: async_nats::Client,
    js: jetstream::Context,
    stream_ready: bool,
    metrics: Arc<RelayMetrics>,
}

impl Publisher {
    fn connected(&self) -> bool {
        let up = self.client.connection_state() == async_nats::connection::State::Connected;
        self.metrics.connected.store(u64::from(up), Relaxed);
        up
    }

    /// Publishes `r` and waits for JetStream's acknowledgement.
    async fn publish(&mut self, r: &Record) -> anyhow::Result<()> {
        if !self.stream_ready {
            self.js
                .get_or_create_stream(jetstream::stream::Config {
                    name: RAW_STREAM.to_string(),
                    subjects: vec![RAW_SUBJECTS.to_string()],
                    duplicate_window: DUPLICATE_WINDOW,
                    storage: jetstream::stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| anyhow::anyhow!("stream {RAW_STREAM}: {e}"))?;
            self.stream_ready = true;
        }
        let mut h = async_nats::HeaderMap::new();
        h.insert(async_nats::header::NATS_MESSAGE_ID, r.id.as_str());
        h.insert(headers::SITE, self.site.as_str());
        h.insert(headers::SOURCE, r.source.as_str());
        h.insert(headers::FORMAT, r.format.as_str());
        h.insert(headers::CONNECTION, r.connection.to_string().as_str());
        h.insert(headers::RECEIVED_US, r.received_us.to_string().as_str());
        let subject = format!("skyfence.raw.{}.{}", self.site, r.source);
        let ack = self
            .js
            .publish_with_headers(subject, h, bytes::Bytes::from(r.payload.clone()))
            .await
            .map_err(|e| anyhow::anyhow!("publish: {e}"))?
            .await
            .map_err(|e| anyhow::anyhow!("acknowledgement: {e}"))?;
        self.metrics.published.fetch_add(1, Relaxed);
        if ack.duplicate {
            self.metrics.duplicates.fetch_add(1, Relaxed);
        }
        Ok(())
    }

    /// Publishes the spool from its head while NATS takes it; false when it stopped
    /// early (NATS down or refusing).
    async fn drain(&mut self, spool: &mut Spool) -> anyhow::Result<bool> {
        while self.connected() {
            let Some(r) = spool.peek()?.cloned() else {
                return Ok(true);
            };
            if let Err(e) = self.publish(&r).await {
                tracing::warn!(
                    spooled = spool.depth(),
                    "cannot publish from the spool: {e:#}"
                );
                return Ok(false);
            }
            spool.pop()?;
            self.metrics.spool_bytes.store(spool.depth(), Relaxed);
            if !spool.pending() {
                tracing::info!("spool empty: publishing directly again");
            }
        }
        Ok(!spool.pending())
    }

    fn record(&mut self, c: Chunk) -> Record {
        self.seq += 1;
        Record {
            id: format!("{}/{}/{}", self.site, self.run, self.seq),
            source: c.source.to_string(),
            format: c.format.to_string(),
            connection: c.connection,
            received_us: c.received_us,
            payload: c.bytes,
        }
    }

    fn spool(&self, spool: &mut Spool, r: &Record) -> anyhow::Result<()> {
        spool.push(r)?;
        self.metrics.spooled.fetch_add(1, Relaxed);
        self.metrics.spool_bytes.store(spool.depth(), Relaxed);
        Ok(())
    }

    async fn run(
        mut self,
        spool: &mut Spool,
        mut rx: mpsc::Receiver<Chunk>,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        let retry = Duration::from_millis(250);
        let mut alarmed = false;
        loop {
            if spool.pending() && self.connected() {
                self.drain(spool).await?;
            }
            if spool.is_full() {
                if !alarmed {
                    alarmed = true;
                    self.metrics.spool_full.fetch_add(1, Relaxed);
                    tracing::error!(
                        bytes = spool.depth(),
                        "ALARM: the relay spool is full; the sources are paused until NATS takes the spool (nothing is dropped)"
                    );
                }
                tokio::select! {
                    () = tokio::time::sleep(retry) => continue,
                    () = stopped(&mut shutdown) => break,
                }
            }
            alarmed = false;
            let chunk = tokio::select! {
                c = rx.recv() => c,
                () = tokio::time::sleep(retry), if spool.pending() => continue,
                () = stopped(&mut shutdown) => break,
            };
            let Some(chunk) = chunk else { break };
            let r = self.record(chunk);
            if spool.pending() || !self.connected() {
                self.spool(spool, &r)?;
                continue;
            }
            if let Err(e) = self.publish(&r).await {
                tracing::warn!("NATS did not take a message, spooling from here on: {e:#}");
                self.spool(spool, &r)?;
            }
        }
        // Shutdown: what the sources already read is published or spooled, never lost.
        rx.close();
        while let Some(chunk) = rx.recv().await {
            let r = self.record(chunk);
            self.spool(spool, &r)?;
        }
        if spool.pending() && self.connected() {
            let _ = tokio::time::timeout(Duration::from_secs(5), self.drain(spool)).await;
        }
        if spool.pending() {
            tracing::info!(
                bytes = spool.depth(),
                "stopping with messages in the spool; the next run publishes them"
            );
        }
        Ok(())
    }
}

/// Reads one source until shutdown: a receiver dialled (reconnecting with backoff) or
/// receivers accepted.
async fn read_source(
    s: SourceConfig,
    tx: mpsc::Sender<Chunk>,
    metrics: Arc<RelayMetrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name: Arc<str> = Arc::from(s.name.as_str());
    let format = s.format.name;
    let connections = Arc::new(AtomicU64::new(0));
    if let Some(addr) = &s.connect {
        let mut backoff = Backoff::new();
        loop {
            let attempt = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr));
            let stream = tokio::select! {
                r = attempt => r,
                () = stopped(&mut shutdown) => return,
            };
            if let Ok(Ok(stream)) = stream {
                backoff.reset();
                tracing::info!(source = %name, %addr, "connected");
                let conn = connections.fetch_add(1, Relaxed);
                let why =
                    read_stream(stream, &name, format, conn, &tx, &metrics, &mut shutdown).await;
                match why {
                    None => return,
                    Some(why) => {
                        tracing::warn!(source = %name, %addr, "disconnected: {why}; reconnecting")
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(backoff.next_delay()) => {}
                () = stopped(&mut shutdown) => return,
            }
        }
    }
    let Some(addr) = s.listen else { return };
    let limits = match s.listen_limits() {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(source = %name, "allow_from: {e}");
            return;
        }
    };
    let listener = match TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(source = %name, %addr, "cannot listen: {e}");
            return;
        }
    };
    tracing::info!(source = %name, addr = %listener.local_addr().unwrap_or(addr), "listening for receivers");
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stopped(&mut shutdown) => return,
        };
        let Ok((stream, peer)) = accepted else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) if limits.allows(peer.ip()) => p,
            _ => {
                tracing::warn!(source = %name, %peer, "receiver refused (allow_from or max_connections)");
                continue;
            }
        };
        let conn = connections.fetch_add(1, Relaxed);
        let (name, tx, metrics, mut stop) =
            (name.clone(), tx.clone(), metrics.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _permit = permit;
            if let Some(why) =
                read_stream(stream, &name, format, conn, &tx, &metrics, &mut stop).await
            {
                tracing::debug!(source = %name, %peer, "receiver disconnected: {why}");
            }
        });
    }
}

/// Forwards one connection's reads; `None` at shutdown, else why it ended.
async fn read_stream(
    mut stream: TcpStream,
    source: &Arc<str>,
    format: &'static str,
    connection: u64,
    tx: &mpsc::Sender<Chunk>,
    metrics: &RelayMetrics,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<String> {
    let _ = stream.set_nodelay(true);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            r = stream.read(&mut buf) => r,
            () = stopped(shutdown) => return None,
        };
        let n = match n {
            Ok(0) => return Some("closed by the peer".into()),
            Ok(n) => n,
            Err(e) => return Some(e.to_string()),
        };
        metrics.messages.fetch_add(1, Relaxed);
        metrics.bytes.fetch_add(n as u64, Relaxed);
        let chunk = Chunk {
            source: source.clone(),
            format,
            connection,
            received_us: wall_clock().as_micros(),
            bytes: buf[..n].to_vec(),
        };
        // A full channel (publisher behind, spool full) waits: TCP backs up.
        if tx.send(chunk).await.is_err() {
            return None;
        }
    }
}

/// Serves `GET /metrics` of the relay on `addr` until shutdown.
pub async fn serve_metrics(
    addr: SocketAddr,
    metrics: Arc<RelayMetrics>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ([relay] metrics)"))?;
    let local = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let m = metrics.clone();
            async move { m.render() }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopped(&mut shutdown).await })
            .await;
    });
    Ok(local)
}
