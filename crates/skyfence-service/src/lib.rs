//! The live service behind `skyfence run` and `skyfence demo`: sources →
//! detector task → store writer → HTTP API and Server-Sent Events.
//!
//! ```text
//! source tasks ──bounded mpsc──▶ detector task ──bounded mpsc──▶ store writer (blocking)
//!  (framing, receive time)        (decoders, Detector,            (commit, then publish)
//!                                  pre-entry rings, tick 1 s)            │
//!                                          │ tracks view (watch)         │ events (broadcast)
//!                                          └──────────▶ HTTP API ◀──────┘
//! ```
//!
//! [`Service::start`] resumes the store's open incidents into the detector before any
//! source connects; [`Service::shutdown`] stops the sources, lets the detector task hand
//! its last batch to the writer and waits until the writer has committed it.

pub mod ack;
pub mod alerts;
pub mod api;
pub mod cluster;
pub mod config;
pub mod config_leaf;
pub mod evidence;
pub mod exit;
pub mod input;
pub mod key_rotation;
pub mod leases;
pub mod metrics;
pub mod mlat_state;
pub mod netlimits;
pub mod node;
pub mod pipeline;
pub mod relay;
pub mod sensor_state;
pub mod sensors;
pub mod source;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use skyfence_core::SourceId;
use skyfence_core::airspace::{AirspaceIndex, Zone};
use skyfence_core::detect::{DetectionConfig, Detector, Permit};
use skyfence_store::{Durability, StoreOptions, StoreUrl};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::{Config, StoreDurability};
use crate::input::InputSpec;
use metrics::Metrics;
use source::{SourceKind, SourceSpec};

/// Batches queued from the sources to the detector task: enough to ride out a slow
/// moment, small enough that backpressure reaches the receivers quickly. A batch is one
/// socket read (up to 64 KiB, ~2800 Beast frames): 32 of them hold under a second of
/// 100k frames/s and at most ~5 MB.
const SOURCE_QUEUE: usize = 32;
/// Jobs queued from the detector task to the store writer.
const STORE_QUEUE: usize = 64;
/// Events buffered for SSE clients; one that falls further behind catches up from the
/// store.
const EVENT_BUFFER: usize = 4096;

/// Everything the service needs, validated (from a [`Config`] or built by `demo`).
#[derive(Debug)]
pub struct Settings {
    /// Detection thresholds.
    pub detection: DetectionConfig,
    /// The zones watched.
    pub zones: Vec<Zone>,
    /// Permits.
    pub permits: Vec<Permit>,
    /// The HTTP API's address.
    pub listen: SocketAddr,
    /// The HTTP API's connection limits (`[server] max_connections`,
    /// `header_read_timeout_s`, `send_timeout_s`, `request_timeout_s`).
    pub http_limits: netlimits::HttpLimits,
    /// Bearer token for `/api`.
    pub api_token: Option<String>,
    /// The store (`[store] url` or `path`; relative paths resolved).
    pub store: StoreUrl,
    /// The sources, in order (their index is their `SourceId`).
    pub sources: Vec<SourceSpec>,
    /// The declared sensors (`[[sensor]]`): ASTERIX records are matched to them by
    /// SAC/SIC and radar plots placed from their sites.
    pub sensors: Vec<skyfence_decode::sensor::Sensor>,
    /// How long closed and lost incidents are kept; `None`: for ever.
    pub retention: Option<Duration>,
    /// Commit durability of the store (`[store] durability`).
    pub durability: Durability,
    /// The live map's options (`[server] tiles`).
    pub map: web::MapOptions,
    /// Alert rules and their sinks (`[[alert]]`), checked against the zones.
    pub alerts: Vec<alerts::AlertSpec>,
    /// The evidence log's key, checkpoints and the configuration recorded (`[evidence]`).
    pub evidence: evidence::EvidenceSettings,
    /// Sources that name a Mode S receiver (`[[source]] sensor` of a `[[sensor]] type =
    /// "modes"`): their frames are multilaterated.
    pub receivers: Vec<(SourceId, String)>,
    /// Comm-B trust by repetition (`[decoder] commb_trust_replies`; 0: off).
    pub commb_trust_replies: u32,
    /// How many times faster than the machine clock the Mode S receivers' counters run:
    /// 1 in the field; `skyfence demo --speed X` plays recordings X times faster, and
    /// the multilateration windows kept in receive time shrink to match.
    pub replay_speed: f64,
    /// `[cluster]`: this service is a detector node of a cluster (node.rs, leases.rs).
    pub cluster: Option<cluster::ClusterConfig>,
    /// The partition leases' timing (a detector node's).
    pub lease_timing: leases::LeaseTiming,
}

impl Settings {
    /// From a loaded config and its zones. A relative store path is relative to the
    /// config file, like its zone files.
    pub fn from_config(config: Config, zones: Vec<Zone>) -> anyhow::Result<Settings> {
        let mut sources = Vec::new();
        let mut receivers = Vec::new();
        for (i, s) in config.sources.iter().enumerate() {
            let id = u16::try_from(i).context("more than 65535 sources")?;
            let limits = s
                .listen_limits()
                .map_err(|e| anyhow::anyhow!("source {:?}: {e}", s.name))?;
            let kind = match (&s.connect, s.listen, &s.replay) {
                (None, Some(addr), _) if s.transport() == config::Transport::Udp => {
                    SourceKind::Udp {
                        addr,
                        multicast: s.multicast_group.map(|g| {
                            (
                                g,
                                s.multicast_interface
                                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED),
                            )
                        }),
                        limits,
                    }
                }
                (Some(addr), _, _) => SourceKind::Connect(addr.clone()),
                (None, Some(addr), _) => SourceKind::Listen(addr, limits),
                (None, None, Some(file)) => SourceKind::Replay {
                    input: InputSpec::new(s.format, Some(config.base_dir.join(file))),
                    speed: s.speed.unwrap_or(1.0),
                },
                (None, None, None) => {
                    anyhow::bail!("source {:?} has none of connect, listen or replay", s.name)
                }
            };
            if let Some(sensor) = &s.sensor
                && config.sensors.iter().any(|x| {
                    x.name.as_str() == sensor
                        && x.kind == skyfence_decode::sensor::SensorType::ModeS
                })
            {
                receivers.push((SourceId(id), sensor.clone()));
            }
            sources.push(SourceSpec {
                id: SourceId(id),
                name: s.name.clone(),
                format: s.format,
                kind,
            });
        }
        let alert_specs = alerts::specs_from_config(&config.alerts, &zones)?;
        let evidence = evidence::EvidenceSettings::for_config(&config)?;
        Ok(Settings {
            cluster: config.cluster.clone(),
            lease_timing: leases::LeaseTiming::default(),
            commb_trust_replies: config.decoder.commb_trust_replies,
            replay_speed: 1.0,
            receivers,
            evidence,
            detection: config.detection,
            alerts: alert_specs,
            zones,
            permits: config.permits,
            listen: config.server.listen,
            http_limits: netlimits::HttpLimits {
                max_connections: config.server.max_connections,
                header_read_timeout: Duration::from_secs(config.server.header_read_timeout_s),
                send_timeout: Duration::from_secs(config.server.send_timeout_s),
                request_timeout: Duration::from_secs(config.server.request_timeout_s),
            },
            map: web::MapOptions {
                tiles: config.server.tiles,
                tiles_attribution: config.server.tiles_attribution,
            },
            api_token: config.server.api_token,
            store: config.store.location(&config.base_dir)?,
            sources,
            sensors: config.sensors.clone(),
            retention: config
                .store
                .retention_days
                .map(|d| Duration::from_secs_f64(d * 86_400.0)),
            durability: match config.store.durability {
                StoreDurability::Full => Durability::Full,
                StoreDurability::Normal => Durability::Normal,
            },
        })
    }
}

/// A running service.
pub struct Service {
    /// Where the HTTP API listens (the real port when `listen` had port 0).
    pub api_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    sources: Vec<JoinHandle<()>>,
    detector: JoinHandle<()>,
    writer: JoinHandle<()>,
    checkpointer: JoinHandle<()>,
    server: JoinHandle<()>,
    alerts: Vec<JoinHandle<()>>,
    evidence: (evidence::LogApi, JoinHandle<()>),
    events: broadcast::Sender<Arc<pipeline::Published>>,
}

impl Service {
    /// Opens the store, resumes its open incidents, binds the API and starts the sources.
    pub async fn start(settings: Settings) -> anyhow::Result<Service> {
        let Settings {
            detection,
            zones,
            permits,
            listen,
            http_limits,
            api_token,
            store: store_url,
            sources,
            sensors,
            map,
            retention,
            alerts: alert_specs,
            durability,
            evidence: evidence_settings,
            receivers,
            commb_trust_replies,
            replay_speed,
            cluster,
            lease_timing,
        } = settings;
        let options = StoreOptions {
            pre_entry: pipeline::PRE_ENTRY,
            durability,
            // `pipeline::checkpoint_store` checkpoints on its own connection.
            auto_checkpoint: false,
            ..StoreOptions::default()
        };
        let url = store_url.clone();
        let (store, resumed) = tokio::task::spawn_blocking(move || {
            let s = skyfence_store::open(&url, options)?;
            let started = std::time::Instant::now();
            let problems = s.quick_check()?;
            let open = s.open_incidents()?;
            Ok::<_, skyfence_store::StoreError>((s, open, problems, started.elapsed()))
        })
        .await?
        .with_context(|| format!("cannot open store {store_url}"))
        .and_then(|(s, open, problems, took)| {
            check_store(&store_url.to_string(), &problems, took)?;
            Ok((s, open))
        })?;
        let log = evidence::start(&evidence_settings, &*store, &zones, &permits).await?;
        let map = web::MapData::new(&zones, map);
        // The CoT live target feed tests positions against the zones' approach buffers
        // itself (the tracks view lists only the zones a target is inside).
        let cot_index = alert_specs
            .iter()
            .filter_map(alerts::cot::CotSettings::from_spec)
            .any(|s| s.interval.is_some())
            .then(|| Arc::new(AirspaceIndex::new(zones.clone())));
        let mut detector = Detector::new(AirspaceIndex::new(zones), detection, permits);
        // A detector node resumes open incidents partition by partition, as it takes
        // their leases (pipeline::DetectorTask::with_resume_source).
        let resumed = if cluster.is_some() {
            Vec::new()
        } else {
            resumed
        };
        for r in &resumed {
            if let Err(e) = detector.resume(&r.incident, r.last_or_entry()) {
                tracing::warn!("cannot resume incident {}: {e}", r.incident.id);
            }
        }
        tracing::info!(
            store = %store_url,
            resumed = resumed.len(),
            "store open"
        );

        let alert_metrics = alerts::sink_metrics(&alert_specs);
        let cot_sinks = alerts::cot::sinks(&alert_specs);
        let metrics = Arc::new(Metrics {
            sensors: sensor_state::SensorBoard::new(&sensors),
            alert_sinks: alert_metrics.clone(),
            cot_sinks: cot_sinks.iter().map(|s| s.metrics()).collect(),
            ..Metrics::new(if cluster.is_some() {
                vec![node::RAW_SOURCE.to_owned()]
            } else {
                sources.iter().map(|s| s.name.clone()).collect()
            })
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (events_tx, _) = broadcast::channel(EVENT_BUFFER);
        let (tracks_tx, tracks_rx) = watch::channel(Arc::new(Vec::new()));
        let cot_tracks = tracks_rx.clone();
        let readers = Arc::new(api::ReaderPool::new(
            store.reader().context("opening a store reader")?,
        ));
        let ack_writer = store
            .writer()
            .context("opening the acknowledgement writer")?;
        let resume_reader = match &cluster {
            Some(_) => Some(store.reader().context("opening the take-over reader")?),
            None => None,
        };

        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen} ([server] listen)"))?;
        let api_addr = listener.local_addr()?;
        let node = match &cluster {
            Some(c) => Some(node::connect(c, api_addr, lease_timing).await?),
            None => None,
        };
        let state = api::AppState {
            token: api_token.map(Arc::from),
            readers,
            tracks: tracks_rx,
            events: events_tx.clone(),
            metrics: metrics.clone(),
            shutdown: shutdown_rx.clone(),
            map,
            evidence: log.clone(),
            ack: ack::AckState::new(ack_writer),
            cluster: node.as_ref().map(|n| n.api.clone()),
        };
        let app = api::router(state);
        let server = tokio::spawn(netlimits::serve_http(
            listener,
            app,
            http_limits,
            metrics.clone(),
            shutdown_rx.clone(),
        ));
        tracing::info!("http api listening on http://{api_addr}/");

        // Alert delivery reads the store (the outbox); published events only wake it.
        let mut alert_tasks = alerts::start(
            alert_specs,
            &alert_metrics,
            &cot_sinks,
            &*store,
            &events_tx,
            &shutdown_rx,
        )?;
        alert_tasks.extend(alerts::cot::start_live_feeds(
            &cot_sinks,
            &cot_tracks,
            cot_index,
            &shutdown_rx,
        ));
        let checkpoints = evidence::spawn_checkpoints(
            log.clone(),
            evidence_settings.checkpoint_every,
            events_tx.subscribe(),
            shutdown_rx.clone(),
        );
        let (store_tx, store_rx) = mpsc::channel(STORE_QUEUE);
        let writer_metrics = metrics.clone();
        let wal_conn = store
            .writer()
            .context("opening the store's checkpoint connection")?;
        // Sensors coming up and going down, logged as evidence (kind 0x09) on a
        // connection of their own, so a bundle's log shows when a radar was looking.
        let sensor_log = store
            .writer()
            .context("opening the store's sensor log connection")?;
        tokio::spawn(log_sensor_changes(
            sensor_log,
            metrics.sensors.subscribe(),
            shutdown_rx.clone(),
        ));
        let checkpoint_stop = shutdown_rx.clone();
        let checkpointer = tokio::task::spawn_blocking(move || {
            pipeline::checkpoint_store(wal_conn, checkpoint_stop);
        });
        let published = events_tx.clone();
        let writer = tokio::task::spawn_blocking(move || {
            pipeline::write_store(store, store_rx, events_tx, writer_metrics);
        });
        let (source_tx, source_rx) = mpsc::channel(SOURCE_QUEUE);
        let names: Vec<Arc<str>> = if cluster.is_some() {
            vec![Arc::from(node::RAW_SOURCE)]
        } else {
            sources.iter().map(|s| Arc::from(s.name.as_str())).collect()
        };
        let mlat = pipeline::mlat_engine(&sensors, &receivers, replay_speed);
        // A Mode S receiver's frames are named after its `[[source]] sensor`; every other
        // source's after the source.
        let source_sensors: Vec<Option<String>> = sources
            .iter()
            .map(|s| {
                receivers
                    .iter()
                    .find(|(id, _)| *id == s.id)
                    .map(|(_, name)| name.clone())
            })
            .collect();
        let mut task = pipeline::DetectorTask::new(detector, names, metrics.clone(), tracks_tx)
            .with_retention(retention)
            .with_ingest(
                sensors,
                &source_sensors,
                skyfence_decode::decoder::DecoderConfig {
                    commb_trust_replies,
                    ..Default::default()
                },
            )
            .with_mlat(mlat);
        for r in &resumed {
            task.resumed(&r.incident);
        }
        let mut handles = Vec::new();
        if let (Some(n), Some(reader)) = (node, resume_reader) {
            let (t, h) = n.start(task, reader, &source_tx, &shutdown_rx);
            task = t;
            handles.extend(h);
        }
        let detector = tokio::spawn(task.run(source_rx, store_tx, shutdown_rx.clone()));
        for spec in sources {
            tracing::info!(source = %spec.name, format = spec.format.name, "starting source: {}", source::describe(&spec.kind));
            handles.push(tokio::spawn(source::run(
                spec,
                source_tx.clone(),
                metrics.clone(),
                shutdown_rx.clone(),
            )));
        }
        Ok(Service {
            api_addr,
            shutdown,
            sources: handles,
            detector,
            writer,
            checkpointer,
            server,
            alerts: alert_tasks,
            evidence: (log, checkpoints),
            events: published,
        })
    }

    /// The events as they are published (after the store committed them), as SSE
    /// clients receive them.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<pipeline::Published>> {
        self.events.subscribe()
    }

    /// Stops the sources and the API, and returns once the store has committed
    /// everything the detector saw.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        drop(self.events);
        let _ = self.shutdown.send(true);
        for h in self.sources {
            let _ = h.await;
        }
        self.detector.await.context("detector task failed")?;
        self.writer.await.context("store writer failed")?;
        self.checkpointer
            .await
            .context("store checkpointer failed")?;
        // A last checkpoint covers everything the writer committed.
        let _ = self.evidence.1.await;
        self.evidence.0.sign_now().await;
        // Alert tasks stop at once; what they had not delivered waits in the store.
        for h in self.alerts {
            let _ = tokio::time::timeout(Duration::from_secs(5), h).await;
        }
        // Open HTTP connections get a moment to finish; the store is already flushed.
        let _ = tokio::time::timeout(Duration::from_secs(5), self.server).await;
        Ok(())
    }
}

/// SIGINT (Ctrl-C) and SIGTERM, caught from the moment this is created: create it
/// before announcing the service, so a signal sent right after the announcement is
/// never the default "terminate at once".
pub struct ShutdownSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Installs the handlers (inside the runtime).
    pub fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignal {
                interrupt: signal(SignalKind::interrupt()).context("cannot catch SIGINT")?,
                terminate: signal(SignalKind::terminate()).context("cannot catch SIGTERM")?,
            })
        }
        #[cfg(not(unix))]
        Ok(ShutdownSignal {})
    }

    /// Resolves at the first SIGINT or SIGTERM.
    pub async fn wait(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => tracing::info!("SIGINT: shutting down"),
            _ = self.terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C: shutting down");
        }
    }
}

/// A multi-threaded runtime for the service (2 worker threads are plenty: the detector
/// is one task, the store writer a blocking thread).
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("skyfence")
        .build()
        .context("cannot start the async runtime")
}

/// Refuses a store that failed its quick integrity check at start: going on would sign
/// new evidence on top of damaged data.
fn check_store(
    location: &str,
    problems: &[String],
    took: std::time::Duration,
) -> anyhow::Result<()> {
    if problems.is_empty() {
        tracing::info!(store = %location, took_ms = took.as_millis() as u64, "store integrity check passed");
        return Ok(());
    }
    anyhow::bail!(
        "store {location} failed its integrity check at start ({} problem{}: {}); \
         restore it from a backup (or a witness's mirror of the evidence log) and check \
         the restored log with `skyfence log verify`",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" },
        problems.join("; ")
    )
}

/// Appends each sensor change (`sensor_state::SensorChange`) to the evidence log as a
/// kind-0x09 leaf, until shutdown. A failed append is logged and retried with the next
/// change's (the change itself stays on the event stream and in the metrics).
async fn log_sensor_changes(
    store: Box<dyn skyfence_store::Store>,
    mut changes: broadcast::Receiver<Arc<sensor_state::SensorChange>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let store = Arc::new(std::sync::Mutex::new(store));
    loop {
        let change = tokio::select! {
            c = changes.recv() => c,
            () = source::stopped(&mut shutdown) => return,
        };
        let change = match change {
            Ok(c) => c,
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("sensor log fell behind: {n} sensor changes not logged");
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(leaf) = change.leaf() else { continue };
        let store = store.clone();
        let appended = tokio::task::spawn_blocking(move || match store.lock() {
            Ok(mut s) => s.append_evidence(&leaf).map_err(|e| e.to_string()),
            Err(_) => Err("the sensor log's store connection is poisoned".into()),
        })
        .await;
        match appended {
            Ok(Ok(index)) => {
                tracing::debug!(sensor = %change.sensor, index, "{} logged", change.event)
            }
            Ok(Err(e)) => {
                tracing::warn!(sensor = %change.sensor, "cannot log {}: {e}", change.event)
            }
            Err(e) => tracing::warn!("sensor log task: {e}"),
        }
    }
}
