//! A detector node's input: the relays' raw stream ([`crate::relay::RAW_STREAM`]) read
//! through the node's durable JetStream consumer, framed and handed to the detector task
//! as [`SourceBatch`]es.
//!
//! Where the partition key is computed: here, on the detector node, after framing and
//! decoding. A relay publishes the bytes its receivers sent, per site and source (the
//! evidence is kept raw, and a record may be cut across two reads, so only a consumer
//! that sees a connection's whole byte stream can frame it). Every node therefore reads
//! the whole raw stream and frames and decodes every message (the cheap part: about
//! 0.1 µs a frame), and its detector task keeps only the observations of targets in the
//! partitions it owns ([`crate::leases::PartitionFilter`]): tracking, detection, the
//! store's writes and alerts, the costly parts, are split between the nodes.
//!
//! Each node's consumer is durable (`detector-NODE`, explicit acknowledgement): a node
//! restarted resumes after the last message it acknowledged. A message is acknowledged
//! once the detector task has queued its frames.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt as _;
use skyfence_core::{SourceId, Timestamp};
use skyfence_decode::codec::Item;
use skyfence_store::Store;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cluster::ClusterConfig;
use crate::leases::{
    LeaseKeeper, LeaseMetrics, LeaseTiming, NodeInfo, Ownership, PartitionFilter, partition_of,
};
use crate::pipeline::{DetectorTask, ResumeSource};
use crate::relay::{RAW_STREAM, headers};
use crate::source::{Framer, SourceBatch, stopped};

/// The name of a detector node's one source, the raw stream, in `/metrics`.
pub const RAW_SOURCE: &str = "cluster";

/// A detector node connected to its cluster, before its tasks start.
pub struct Node {
    /// What `GET /api/cluster` and `/metrics` read.
    pub api: crate::api::ClusterApi,
    keeper: LeaseKeeper,
    ownership: watch::Receiver<Ownership>,
    consumer: consumer::PullConsumer,
    timing: LeaseTiming,
}

/// Connects to the cluster's JetStream: the lease buckets and this node's consumer.
pub async fn connect(
    c: &ClusterConfig,
    api_addr: std::net::SocketAddr,
    timing: LeaseTiming,
) -> anyhow::Result<Node> {
    let urls: Vec<async_nats::ServerAddr> = c
        .nats
        .urls()
        .iter()
        .map(|u| u.parse().with_context(|| format!("[cluster] nats = {u:?}")))
        .collect::<anyhow::Result<_>>()?;
    let client = async_nats::ConnectOptions::new()
        .name(format!("skyfence-node {}", c.node))
        .retry_on_initial_connect()
        .connect(urls)
        .await
        .context("connecting to NATS ([cluster] nats)")?;
    let js = jetstream::new(client);
    let reader = Arc::new(NodeMetrics::default());
    let leases = Arc::new(LeaseMetrics::default());
    // A JetStream cluster just started has no meta leader for a few seconds: the
    // buckets and the consumer are retried for up to 60 s.
    let started = Instant::now();
    let (keeper, ownership, consumer) = loop {
        let attempt = async {
            let (keeper, ownership) = LeaseKeeper::new(
                &js,
                NodeInfo {
                    node: c.node.clone(),
                    api: Some(api_addr.to_string()),
                    consumer_lag: None,
                },
                c.partitions,
                timing,
                leases.clone(),
            )
            .await?;
            let consumer = raw_consumer(&js, &c.node).await?;
            anyhow::Ok((keeper, ownership, consumer))
        };
        match attempt.await {
            Ok(v) => break v,
            Err(e) if started.elapsed() < Duration::from_secs(60) => {
                tracing::warn!("JetStream not ready, retrying: {e:#}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e.context("JetStream ([cluster] nats)")),
        }
    };
    let keeper = keeper.with_lag(reader.clone());
    tracing::info!(node = %c.node, partitions = c.partitions, "detector node connected to the cluster");
    Ok(Node {
        api: crate::api::ClusterApi {
            node: c.node.clone(),
            js,
            partitions: c.partitions,
            timing,
            leases,
            reader,
        },
        keeper,
        ownership,
        consumer,
        timing,
    })
}

impl Node {
    /// Gives the detector task its partition filter and its take-over reader, and starts
    /// the lease keeper and the raw-stream reader.
    pub fn start(
        self,
        task: DetectorTask,
        store: Box<dyn Store>,
        out: &mpsc::Sender<SourceBatch>,
        shutdown: &watch::Receiver<bool>,
    ) -> (DetectorTask, Vec<JoinHandle<()>>) {
        let partitions = self.api.partitions;
        let filter = PartitionFilter::new(partitions, self.ownership, self.timing.write_margin);
        let store = std::sync::Mutex::new(store);
        let resume: ResumeSource = Box::new(move |gained: &[u32]| {
            let read = || -> anyhow::Result<Vec<_>> {
                let store = store
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the take-over reader is poisoned"))?;
                Ok(store
                    .open_incidents()?
                    .into_iter()
                    .filter(|r| gained.contains(&partition_of(&r.incident.target.id, partitions)))
                    .map(|r| {
                        let last = r.last_or_entry();
                        (r.incident, last)
                    })
                    .collect())
            };
            // The detector task waits for the store here, as it must: no traffic of
            // these partitions is observed before their incidents are resumed.
            tokio::task::block_in_place(read)
        });
        let task = task.with_partitions(filter).with_resume_source(resume);
        let handles = vec![
            tokio::spawn(self.keeper.run(shutdown.clone())),
            tokio::spawn(read_raw(
                self.consumer,
                SourceId(0),
                out.clone(),
                self.api.reader.clone(),
                shutdown.clone(),
            )),
        ];
        (task, handles)
    }
}

/// The durable consumer of node `node` on the raw stream.
pub fn consumer_name(node: &str) -> String {
    format!("detector-{node}")
}

/// The node's reading counters (`/metrics` of a detector node).
#[derive(Debug, Default)]
pub struct NodeMetrics {
    /// Raw messages read.
    pub messages: AtomicU64,
    /// Frames and messages framed out of them.
    pub items: AtomicU64,
    /// Messages skipped: no or bad relay headers, unknown format.
    pub bad_messages: AtomicU64,
    /// Messages of the raw stream not yet delivered to this node (its consumer's lag).
    pub lag: AtomicU64,
}

impl NodeMetrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let rows = [
            (
                "skyfence_cluster_raw_messages_total",
                "counter",
                "relayed messages this node read",
                &self.messages,
            ),
            (
                "skyfence_cluster_raw_items_total",
                "counter",
                "frames and messages framed out of them",
                &self.items,
            ),
            (
                "skyfence_cluster_raw_bad_messages_total",
                "counter",
                "relayed messages skipped (missing or bad headers, unknown format)",
                &self.bad_messages,
            ),
            (
                "skyfence_cluster_consumer_lag",
                "gauge",
                "raw messages waiting for this node",
                &self.lag,
            ),
        ];
        crate::metrics::render_plain(&rows)
    }
}

/// Frames relayed messages: one codec per relayed byte stream (site, source,
/// connection), as the live service frames one connection.
#[derive(Default)]
pub struct RawFramer {
    framers: HashMap<(String, String, u64), Framer>,
}

/// Why a relayed message was skipped.
#[derive(Debug, PartialEq, Eq)]
pub enum BadMessage {
    /// A relay header is missing or not a number: the name of the header.
    Header(&'static str),
    /// The format header names no format of the registry.
    Format(String),
}

impl RawFramer {
    /// Frames one message's payload, stamping its items with the relay's receive time.
    pub fn frame(
        &mut self,
        h: &HeaderMap,
        payload: &[u8],
        out: &mut Vec<Item>,
    ) -> Result<(), BadMessage> {
        let get = |name: &'static str| {
            h.get(name)
                .map(|v| v.as_str().to_owned())
                .ok_or(BadMessage::Header(name))
        };
        let site = get(headers::SITE)?;
        let source = get(headers::SOURCE)?;
        let format = get(headers::FORMAT)?;
        let connection: u64 = get(headers::CONNECTION)?
            .parse()
            .map_err(|_| BadMessage::Header(headers::CONNECTION))?;
        let received: i64 = get(headers::RECEIVED_US)?
            .parse()
            .map_err(|_| BadMessage::Header(headers::RECEIVED_US))?;
        let framer = match self.framers.entry((site, source, connection)) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                let f =
                    skyfence_decode::format::lookup(&format).ok_or(BadMessage::Format(format))?;
                v.insert(Framer::new(f))
            }
        };
        framer.decode(payload, Timestamp::from_micros(received), out);
        Ok(())
    }
}

/// The node's durable consumer on the raw stream (created when absent).
pub async fn raw_consumer(
    js: &jetstream::Context,
    node: &str,
) -> anyhow::Result<consumer::PullConsumer> {
    let stream = js
        .get_or_create_stream(jetstream::stream::Config {
            name: RAW_STREAM.to_string(),
            subjects: vec![crate::relay::RAW_SUBJECTS.to_string()],
            duplicate_window: crate::relay::DUPLICATE_WINDOW,
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("stream {RAW_STREAM}: {e}"))?;
    let name = consumer_name(node);
    stream
        .get_or_create_consumer(
            &name,
            consumer::pull::Config {
                durable_name: Some(name.clone()),
                deliver_policy: consumer::DeliverPolicy::All,
                ack_policy: consumer::AckPolicy::Explicit,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("consumer {name}: {e}"))
}

/// Reads the raw stream until `shutdown`, sending each message's items as one batch of
/// `source` and acknowledging the message once the batch is queued.
pub async fn read_raw(
    mut consumer: consumer::PullConsumer,
    source: SourceId,
    out: mpsc::Sender<SourceBatch>,
    metrics: Arc<NodeMetrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut framer = RawFramer::default();
    let mut last_lag = Instant::now() - Duration::from_secs(10);
    loop {
        if last_lag.elapsed() >= Duration::from_secs(1) {
            last_lag = Instant::now();
            if let Ok(info) = consumer.info().await {
                metrics.lag.store(info.num_pending, Relaxed);
            }
        }
        let fetched = consumer
            .fetch()
            .max_messages(256)
            .expires(Duration::from_millis(500))
            .messages();
        let mut messages = tokio::select! {
            m = fetched => match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("reading the raw stream: {e}");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(500)) => continue,
                        () = stopped(&mut shutdown) => return,
                    }
                }
            },
            () = stopped(&mut shutdown) => return,
        };
        loop {
            let next = tokio::select! {
                n = messages.next() => n,
                () = stopped(&mut shutdown) => return,
            };
            let Some(msg) = next else { break };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::debug!("raw stream batch ended: {e}");
                    break;
                }
            };
            metrics.messages.fetch_add(1, Relaxed);
            let mut items = Vec::new();
            let empty = HeaderMap::new();
            let h = msg.headers.as_ref().unwrap_or(&empty);
            match framer.frame(h, &msg.payload, &mut items) {
                Ok(()) => {}
                Err(why) => {
                    metrics.bad_messages.fetch_add(1, Relaxed);
                    tracing::warn!(subject = %msg.subject, "relayed message skipped: {why:?}");
                }
            }
            if !items.is_empty() {
                metrics.items.fetch_add(items.len() as u64, Relaxed);
                let batch = SourceBatch {
                    source,
                    received: Instant::now(),
                    items,
                };
                tokio::select! {
                    r = out.send(batch) => if r.is_err() { return },
                    () = stopped(&mut shutdown) => return,
                }
            }
            if let Err(e) = msg.ack().await {
                tracing::warn!("acknowledging a raw message: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(format: &str, connection: &str, at: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(headers::SITE, "s1");
        h.insert(headers::SOURCE, "rx");
        h.insert(headers::FORMAT, format);
        h.insert(headers::CONNECTION, connection);
        h.insert(headers::RECEIVED_US, at);
        h
    }

    #[test]
    fn a_record_cut_across_two_messages_is_framed_whole_with_the_relays_time() {
        // `*8D4840D6202CC371C32CE0576098;` (AVR), cut in two.
        let line = b"*8D4840D6202CC371C32CE0576098;\n";
        let mut f = RawFramer::default();
        let mut out = Vec::new();
        f.frame(&h("avr", "3", "1000000"), &line[..10], &mut out)
            .unwrap();
        assert!(out.is_empty());
        f.frame(&h("avr", "3", "2000000"), &line[10..], &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].at(), Timestamp::from_micros(2_000_000));
        // Another connection of the same source is another byte stream.
        f.frame(&h("avr", "4", "3000000"), &line[10..], &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn messages_without_relay_headers_or_with_an_unknown_format_are_refused() {
        let mut f = RawFramer::default();
        let mut out = Vec::new();
        assert_eq!(
            f.frame(&HeaderMap::new(), b"x", &mut out),
            Err(BadMessage::Header(headers::SITE))
        );
        assert_eq!(
            f.frame(&h("avr", "x", "1"), b"x", &mut out),
            Err(BadMessage::Header(headers::CONNECTION))
        );
        assert_eq!(
            f.frame(&h("avr", "1", "soon"), b"x", &mut out),
            Err(BadMessage::Header(headers::RECEIVED_US))
        );
        assert_eq!(
            f.frame(&h("morse", "1", "1"), b"x", &mut out),
            Err(BadMessage::Format("morse".into()))
        );
        assert!(out.is_empty());
    }
}
