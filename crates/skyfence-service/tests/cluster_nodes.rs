//! Two detector nodes reading the relays' raw stream from a real `nats-server -js`
//! (`skyfence_testkit::nats`, on 127.0.0.1): the af-pk-border scenario published as a
//! relay publishes it (Beast bytes, one message per second of traffic, with the site,
//! source, connection and receive-time headers), read by each node through its own
//! durable consumer and detected only for the partitions it owns; the two nodes' events
//! together are exactly the events of one detector fed the same messages directly, each
//! on one node only. Skipped with a message without nats-server; a failure under
//! `CI=true`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::detect::{Detector, Event};
use skyfence_core::{SourceId, TargetId, Timestamp};
use skyfence_decode::beast::encode_beast;
use skyfence_service::config::Config;
use skyfence_service::leases::{Held, Ownership, PartitionFilter, fair_share, partition_of};
use skyfence_service::metrics::Metrics;
use skyfence_service::node::{self, NodeMetrics, RawFramer};
use skyfence_service::pipeline::DetectorTask;
use skyfence_service::relay::headers;
use skyfence_service::source::SourceBatch;
use skyfence_sim::Simulator;
use skyfence_testkit::nats::NatsServer;
use tokio::sync::{mpsc, watch};

const PARTITIONS: u32 = 32;
const DEADLINE: Duration = Duration::from_secs(60);

fn available() -> Result<(), String> {
    skyfence_testkit::nats::available().map(|_| ())
}

fn task(config: &Config, filter: Option<PartitionFilter>) -> DetectorTask {
    let zones = config.load_zones(&[], &[]).expect("zones");
    let detector = Detector::new(
        AirspaceIndex::new(zones),
        config.detection,
        config.permits.clone(),
    );
    let (tracks, _) = watch::channel(Arc::new(Vec::new()));
    let t = DetectorTask::new(
        detector,
        vec![Arc::from("cluster")],
        Arc::new(Metrics::new(["cluster".to_owned()])),
        tracks,
    );
    match filter {
        Some(f) => t.with_partitions(f),
        None => t,
    }
}

fn owning(parts: std::ops::Range<u32>) -> PartitionFilter {
    let now = Instant::now();
    let held = parts
        .map(|p| {
            (
                p,
                Held {
                    revision: 1,
                    renewed: now,
                },
            )
        })
        .collect();
    let (_tx, rx) = watch::channel(Ownership {
        held,
        live: vec!["n1".into(), "n2".into()],
    });
    PartitionFilter::new(PARTITIONS, rx, Duration::from_secs(3600))
}

/// A detector driven by the data's clock: each batch, then the once-a-second ticks up
/// to its time; its events as JSON with their targets.
struct Driven {
    task: DetectorTask,
    next_tick: Option<Timestamp>,
    last: Timestamp,
    events: Vec<(String, TargetId)>,
    items: usize,
}

impl Driven {
    fn new(task: DetectorTask) -> Self {
        Driven {
            task,
            next_tick: None,
            last: Timestamp::from_micros(0),
            events: Vec::new(),
            items: 0,
        }
    }

    fn collect(&mut self) {
        for e in self.task.take_job().batch.events {
            let target = match &e {
                Event::Approach { target, .. } => target.id,
                Event::Confirmed { incident, .. }
                | Event::Closed { incident, .. }
                | Event::Lost { incident, .. } => incident.target.id,
            };
            self.events
                .push((serde_json::to_string(&e).unwrap(), target));
        }
    }

    fn batch(&mut self, b: SourceBatch) {
        let Some(at) = b.items.last().map(|i| i.at()) else {
            return;
        };
        self.items += b.items.len();
        self.last = at;
        let mut next = self.next_tick.unwrap_or(at.add_micros(1_000_000));
        self.task.process(b);
        while next <= at {
            self.task.tick(next);
            self.collect();
            next = next.add_micros(1_000_000);
        }
        self.next_tick = Some(next);
    }

    fn finish(&mut self) {
        self.task.tick(self.last.add_micros(600_000_000));
        self.collect();
    }
}

fn multiset(v: &[(String, TargetId)]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (e, _) in v {
        *m.entry(e.clone()).or_default() += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_reading_the_raw_stream_detect_what_one_detector_does() {
    if !skyfence_testkit::require_tool("cluster node test", available()) {
        return;
    }
    let server = NatsServer::start_new().unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(client);

    let dir = tempfile::tempdir().unwrap();
    let scenario = skyfence_sim::builtin::af_pk_border().expect("af-pk-border");
    std::fs::write(
        dir.path().join("zones.geojson"),
        skyfence_sim::borders::to_geojson(&scenario.zones),
    )
    .unwrap();
    let config_path = dir.path().join("config.toml");
    std::fs::write(&config_path, skyfence_sim::config_toml(&scenario)).unwrap();
    let config = Config::load(&config_path).expect("config");

    // The nodes' consumers exist before the traffic (and read from the stream's start).
    let split = fair_share(PARTITIONS, 2, 0);
    let (stop_tx, stop) = watch::channel(false);
    let mut nodes = Vec::new();
    for (name, parts) in [("n1", 0..split), ("n2", split..PARTITIONS)] {
        let consumer = node::raw_consumer(&js, name).await.unwrap();
        let (tx, rx) = mpsc::channel(32);
        let metrics = Arc::new(NodeMetrics::default());
        tokio::spawn(node::read_raw(
            consumer,
            SourceId(0),
            tx,
            metrics.clone(),
            stop.clone(),
        ));
        nodes.push((Driven::new(task(&config, Some(owning(parts)))), rx, metrics));
    }

    // Publish the scenario as a relay would, one message per second of traffic; the
    // reference detector frames the same messages directly.
    let mut reference = Driven::new(task(&config, None));
    let mut framer = RawFramer::default();
    let mut sim = Simulator::new(&scenario, 7);
    let mut records = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut second = None;
    let mut last_at = scenario.start;
    let mut published = 0u64;
    let mut publish = |bytes: Vec<u8>, at: Timestamp, seq: u64| {
        let mut h = async_nats::HeaderMap::new();
        h.insert(
            async_nats::header::NATS_MESSAGE_ID,
            format!("site1/1/{seq}").as_str(),
        );
        h.insert(headers::SITE, "site1");
        h.insert(headers::SOURCE, "rx1");
        h.insert(headers::FORMAT, "beast");
        h.insert(headers::CONNECTION, "0");
        h.insert(headers::RECEIVED_US, at.as_micros().to_string().as_str());
        let mut items = Vec::new();
        framer.frame(&h, &bytes, &mut items).unwrap();
        reference.batch(SourceBatch {
            source: SourceId(0),
            received: Instant::now(),
            items,
        });
        let js = js.clone();
        async move {
            js.publish_with_headers("skyfence.raw.site1.rx1", h, bytes.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };
    loop {
        let more = sim.step(&mut records).expect("simulate");
        for r in records.drain(..) {
            let s = r.at.as_micros().div_euclid(1_000_000);
            if second.is_some_and(|x| x != s) && !pending.is_empty() {
                published += 1;
                publish(std::mem::take(&mut pending), last_at, published).await;
            }
            second = Some(s);
            last_at = r.at;
            encode_beast(&r.frame(scenario.start), &mut pending);
        }
        if !more {
            break;
        }
    }
    if !pending.is_empty() {
        published += 1;
        publish(std::mem::take(&mut pending), last_at, published).await;
    }
    reference.finish();

    // Each node reads every message and detects its own partitions.
    let started = Instant::now();
    for (driven, rx, metrics) in &mut nodes {
        while driven.items < reference.items {
            let left = DEADLINE.saturating_sub(started.elapsed());
            let b = tokio::time::timeout(left, rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "a node read {} of {} items in time",
                        driven.items, reference.items
                    )
                })
                .expect("reader stopped");
            driven.batch(b);
        }
        driven.finish();
        assert_eq!(metrics.messages.load(Relaxed), published);
        assert_eq!(metrics.bad_messages.load(Relaxed), 0);
    }
    stop_tx.send_replace(true);
    let (n1, n2) = (&nodes[0].0.events, &nodes[1].0.events);
    eprintln!(
        "{published} messages, {} items: one detector {} events, node 1 {}, node 2 {}",
        reference.items,
        reference.events.len(),
        n1.len(),
        n2.len()
    );
    let confirmed = reference
        .events
        .iter()
        .filter(|(e, _)| e.contains("\"confirmed\""))
        .count();
    assert!(confirmed >= 2, "too few incidents to compare");
    assert!(!n1.is_empty() && !n2.is_empty());
    let mut both = n1.clone();
    both.extend(n2.iter().cloned());
    assert_eq!(multiset(&both), multiset(&reference.events));
    for (events, range) in [(n1, 0..split), (n2, split..PARTITIONS)] {
        for (e, target) in events {
            assert!(range.contains(&partition_of(target, PARTITIONS)), "{e}");
        }
    }
}
