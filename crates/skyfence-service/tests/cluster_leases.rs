//! Partition leases of detector nodes against a real `nats-server -js`
//! (`skyfence_testkit::nats`, on 127.0.0.1): one node alone owns every partition; a
//! second node joins and takes its even share, every partition keeping exactly one
//! owner; a lease written behind its holder's back (a stale revision) is dropped by the
//! holder at its next renewal; a node that dies without a word (its task aborted, as by
//! `kill -9`) loses its partitions to the survivor within 10 s. Skipped with a message
//! without nats-server; a failure under `CI=true`.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use skyfence_service::leases::{
    self, ClusterView, LEASES_BUCKET, LeaseKeeper, LeaseMetrics, LeaseTiming, NodeInfo, lease_key,
};
use skyfence_testkit::nats::NatsServer;
use tokio::sync::watch;

const PARTITIONS: u32 = 32;
const DEADLINE: Duration = Duration::from_secs(30);

fn available() -> Result<(), String> {
    skyfence_testkit::nats::available().map(|_| ())
}

async fn keeper(
    js: &jetstream::Context,
    node: &str,
) -> (
    LeaseKeeper,
    watch::Receiver<leases::Ownership>,
    Arc<LeaseMetrics>,
) {
    let metrics = Arc::new(LeaseMetrics::default());
    let (k, rx) = LeaseKeeper::new(
        js,
        NodeInfo {
            node: node.into(),
            api: Some(format!("127.0.0.1:1{}", node.len())),
            consumer_lag: None,
        },
        PARTITIONS,
        LeaseTiming::default(),
        metrics.clone(),
    )
    .await
    .unwrap();
    (k, rx, metrics)
}

/// Every partition owned by exactly one node, and the owners' counts as expected.
fn assert_exclusive(view: &ClusterView) {
    let mut seen = BTreeSet::new();
    for n in &view.nodes {
        for p in &n.partitions {
            assert!(seen.insert(*p), "partition {p} has two owners: {view:?}");
        }
    }
}

async fn wait_view(
    js: &jetstream::Context,
    what: &str,
    ok: impl Fn(&ClusterView) -> bool,
) -> (ClusterView, Duration) {
    let started = Instant::now();
    loop {
        let v = leases::cluster_view(js, PARTITIONS, LeaseTiming::default())
            .await
            .unwrap();
        assert_exclusive(&v);
        if ok(&v) {
            return (v, started.elapsed());
        }
        assert!(
            started.elapsed() < DEADLINE,
            "gave up waiting for {what}: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn owned(v: &ClusterView, node: &str) -> usize {
    v.nodes
        .iter()
        .find(|n| n.node == node)
        .map_or(0, |n| n.partitions.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_spread_evenly_fence_stale_writers_and_move_when_a_node_dies() {
    if !skyfence_testkit::require_tool("cluster lease test", available()) {
        return;
    }
    let server = NatsServer::start_new().unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(client);
    let (_stop_tx, stop) = watch::channel(false);

    // One node alone owns everything.
    let (mut n1, rx1, m1) = keeper(&js, "n1").await;
    n1.step().await.unwrap();
    assert_eq!(rx1.borrow().held.len(), PARTITIONS as usize);
    assert!(
        m1.render()
            .contains("skyfence_cluster_partitions_owned 32\n")
    );
    let t1 = tokio::spawn(n1.run(stop.clone()));

    // A second node joins: 16 each, never a partition with two owners.
    let (n2, rx2, _m2) = keeper(&js, "n2").await;
    let t2 = tokio::spawn(n2.run(stop.clone()));
    let (v, _) = wait_view(&js, "an even split", |v| {
        owned(v, "n1") == 16 && owned(v, "n2") == 16
    })
    .await;
    assert!(v.unowned.is_empty(), "{v:?}");
    assert_eq!(v.nodes[1].api.as_deref(), Some("127.0.0.1:12"));
    // The node's own view agrees with the bucket.
    let mine: Vec<u32> = rx2.borrow().held.keys().copied().collect();
    assert_eq!(mine, v.nodes[1].partitions);

    // Fencing: somebody else writes a lease n2 holds; n2 drops it at its next renewal
    // instead of writing over it, and the other writer keeps it.
    let stolen = mine[0];
    let kv = js.get_key_value(LEASES_BUCKET).await.unwrap();
    let rev = kv.entry(lease_key(stolen)).await.unwrap().unwrap().revision;
    kv.update(lease_key(stolen), "intruder".into(), rev)
        .await
        .unwrap();
    let mut rx2w = rx2.clone();
    let started = Instant::now();
    while rx2w.borrow().held.contains_key(&stolen) {
        assert!(started.elapsed() < DEADLINE, "n2 kept a stolen lease");
        let _ = tokio::time::timeout(Duration::from_secs(1), rx2w.changed()).await;
    }
    assert!(
        !rx2.borrow()
            .may_write(stolen, LeaseTiming::default().write_margin)
    );
    let owner = kv.get(lease_key(stolen)).await.unwrap().unwrap();
    assert_eq!(&owner[..], b"intruder");

    // n2 dies without a word: its heartbeat and leases expire, n1 takes all 32 (the
    // intruder's lease too, once it expires) within 10 s of the death.
    t2.abort();
    let _ = t2.await;
    let (_, took) = wait_view(&js, "n1 owning every partition", |v| {
        owned(v, "n1") == PARTITIONS as usize && v.nodes.len() == 1
    })
    .await;
    assert!(
        took < Duration::from_secs(10),
        "partitions moved only after {took:?}"
    );
    assert!(rx1.borrow().held.keys().all(|p| {
        rx1.borrow()
            .may_write(*p, LeaseTiming::default().write_margin)
    }));
    t1.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopping_hands_its_partitions_over_at_once() {
    if !skyfence_testkit::require_tool("cluster lease test", available()) {
        return;
    }
    let server = NatsServer::start_new().unwrap();
    let client = async_nats::connect(server.url()).await.unwrap();
    let js = jetstream::new(client);
    let (stop_a_tx, stop_a) = watch::channel(false);
    let (_stop_b_tx, stop_b) = watch::channel(false);
    let (a, _rxa, _) = keeper(&js, "a").await;
    let (b, _rxb, mb) = keeper(&js, "b").await;
    let ta = tokio::spawn(a.run(stop_a));
    let tb = tokio::spawn(b.run(stop_b));
    wait_view(&js, "an even split", |v| {
        owned(v, "a") == 16 && owned(v, "b") == 16
    })
    .await;
    // A clean stop releases the leases and the heartbeat: no TTL to wait for.
    stop_a_tx.send_replace(true);
    ta.await.unwrap();
    let (v, took) = wait_view(&js, "b owning every partition", |v| {
        owned(v, "b") == PARTITIONS as usize
    })
    .await;
    assert_eq!(v.nodes.len(), 1, "{v:?}");
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(
        mb.render()
            .contains("skyfence_cluster_partitions_owned 32\n")
    );
    tb.abort();
}
