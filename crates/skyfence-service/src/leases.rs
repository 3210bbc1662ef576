//! Partition leases of detector nodes (docs/INTERFACES.md, "Cluster").
//!
//! The traffic of a cluster is cut by target into `[cluster] partitions` partitions
//! ([`partition_of`]: a stable hash of the target's kind and identity, so a Mode S
//! address, a radar track and a Remote ID each land in one partition, the same one on
//! every node and in every release). Each partition has exactly one owner at a time: the
//! node holding its lease, a key `p-N` of the JetStream key-value bucket
//! [`LEASES_BUCKET`] whose value is the node's name.
//!
//! * **Liveness.** Each node puts its key in [`NODES_BUCKET`] every [`LeaseTiming::renew`];
//!   both buckets drop entries older than [`LeaseTiming::ttl`] (the stream's `max_age`), so
//!   a node that dies (`kill -9`, network cut) loses its heartbeat and its leases one TTL
//!   after its last renewal, without anybody deleting them.
//! * **Fair share.** The live nodes, sorted by name, split the partitions evenly
//!   ([`fair_share`]): with `P` partitions and `N` nodes, the first `P mod N` nodes own
//!   `P/N + 1`, the others `P/N`. A node holding more than its share releases the excess
//!   (a joining node takes its share); a node holding fewer takes free partitions.
//! * **Fencing by revision.** A lease is taken with a create-if-absent and renewed with
//!   an update that names the revision the node last wrote; JetStream refuses the update
//!   when anybody else wrote the key since (`Nats-Expected-Last-Subject-Sequence`). A
//!   refused renewal, or no successful renewal for longer than
//!   [`LeaseTiming::write_margin`] (shorter than the TTL, so before anybody else can take
//!   the key over), drops the partition at once: [`Ownership::may_write`] is false and the
//!   node's detector must stop writing its targets. A partition's new owner therefore
//!   never overlaps with a writing old owner, as long as the two nodes' clocks run at the
//!   same rate (they need not agree on the time of day).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use async_nats::jetstream::{self, kv};
use futures_util::StreamExt as _;
use serde::Serialize;
use skyfence_core::TargetId;
use tokio::sync::watch;

use crate::source::stopped;

/// The key-value bucket of partition leases: key `p-N`, value the owner's node name.
pub const LEASES_BUCKET: &str = "SKYFENCE_LEASES";
/// The key-value bucket of live nodes: key the node's name, value [`NodeInfo`] as JSON.
pub const NODES_BUCKET: &str = "SKYFENCE_NODES";

/// The partition of a target among `partitions` (at least 1): FNV-1a (64 bit) of the
/// target's kind byte and its canonical text (the incident JSON's `target.id`), modulo
/// `partitions`. Stable across nodes, processes and releases: it decides which node owns
/// a target, and a change would move every track.
pub fn partition_of(target: &TargetId, partitions: u32) -> u32 {
    // FNV-1a: a few lines, no dependency, and a stable definition (std's hashers are
    // free to change between releases).
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let kind = match target {
        TargetId::Icao(_) => b'i',
        TargetId::RemoteId(_) => b'r',
        TargetId::Track { .. } => b't',
    };
    let mut h = OFFSET;
    for b in std::iter::once(kind).chain(target.to_string().bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(PRIME);
    }
    (h % u64::from(partitions.max(1))) as u32
}

/// How many partitions the node at `index` of the `nodes` live nodes (sorted by name)
/// owns: `P/N`, plus one for the first `P mod N` nodes. The shares sum to `partitions`.
pub fn fair_share(partitions: u32, nodes: usize, index: usize) -> u32 {
    let n = nodes.max(1) as u32;
    let index = index as u32;
    partitions / n + u32::from(index < partitions % n)
}

/// The key of partition `p` in [`LEASES_BUCKET`].
pub fn lease_key(p: u32) -> String {
    format!("p-{p}")
}

/// Lease timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    /// Entries of both buckets expire this long after they were last written.
    pub ttl: Duration,
    /// Heartbeats and renewals this often (a third of the TTL: two renewals may fail
    /// before the lease is lost).
    pub renew: Duration,
    /// A lease not renewed for this long is no longer written under (before the TTL,
    /// leaving room for the other node's clock).
    pub write_margin: Duration,
}

impl Default for LeaseTiming {
    /// TTL 6 s, renewal every 2 s, writes stop 4.5 s after the last renewal: a dead
    /// node's partitions are free after at most 6 s and taken within one more renewal
    /// (≤ 8 s), inside the 10 s a take-over may take.
    fn default() -> Self {
        LeaseTiming {
            ttl: Duration::from_secs(6),
            renew: Duration::from_secs(2),
            write_margin: Duration::from_millis(4500),
        }
    }
}

/// What a node announces in [`NODES_BUCKET`].
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct NodeInfo {
    /// `[cluster] node`.
    pub node: String,
    /// Its HTTP API (`host:port`), when it serves one.
    pub api: Option<String>,
    /// Its raw-stream consumer's lag (messages not yet delivered) at the heartbeat.
    #[serde(default)]
    pub consumer_lag: Option<u64>,
}

/// One held lease.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Held {
    /// The key's revision this node last wrote (the fence).
    pub revision: u64,
    /// When it was last written, on this node's monotonic clock.
    pub renewed: Instant,
}

/// The partitions a node owns now (published on a `watch` channel).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ownership {
    /// Partition → its lease.
    pub held: BTreeMap<u32, Held>,
    /// The live nodes, sorted, as last read.
    pub live: Vec<String>,
}

impl Ownership {
    /// Whether this node may still write the state of partition `p`: it holds the lease
    /// and renewed it less than `margin` ago.
    pub fn may_write(&self, p: u32, margin: Duration) -> bool {
        self.held
            .get(&p)
            .is_some_and(|h| h.renewed.elapsed() < margin)
    }
}

/// The detector's side of the leases: whether a target's partition is owned now, and
/// may still be written under (renewed less than the write margin ago). Built only on a
/// detector node: the single-machine service has no filter and pays nothing.
#[derive(Debug)]
pub struct PartitionFilter {
    partitions: u32,
    rx: watch::Receiver<Ownership>,
    /// Per partition: writes allowed until then (`None`: not owned).
    until: Vec<Option<Instant>>,
    /// The partitions owned as of the last [`PartitionFilter::changes`].
    owned: Vec<bool>,
    first: bool,
    margin: Duration,
    skipped: u64,
}

/// Partitions gained and lost since the last look.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// Newly owned: their open incidents are to be resumed before their traffic.
    pub gained: Vec<u32>,
    /// No longer owned: their tracks are to be forgotten.
    pub lost: Vec<u32>,
}

impl PartitionFilter {
    /// A filter over `partitions` following the keeper's `rx`. It owns nothing until the
    /// first [`PartitionFilter::changes`].
    pub fn new(partitions: u32, rx: watch::Receiver<Ownership>, margin: Duration) -> Self {
        let n = partitions.max(1) as usize;
        PartitionFilter {
            partitions: partitions.max(1),
            rx,
            until: vec![None; n],
            owned: vec![false; n],
            first: true,
            margin,
            skipped: 0,
        }
    }

    /// The number of partitions.
    pub fn partitions(&self) -> u32 {
        self.partitions
    }

    /// Takes the keeper's latest ownership, returning what changed (`None`: nothing).
    /// The caller resumes the gained partitions' incidents and forgets the lost ones'
    /// tracks before it observes anything more.
    pub fn changes(&mut self) -> Option<Changes> {
        if !self.first && !self.rx.has_changed().unwrap_or(false) {
            return None;
        }
        self.first = false;
        let o = self.rx.borrow_and_update().clone();
        self.until.iter_mut().for_each(|u| *u = None);
        let mut now_owned = vec![false; self.owned.len()];
        for (p, h) in &o.held {
            if let Some(u) = self.until.get_mut(*p as usize) {
                *u = Some(h.renewed + self.margin);
                now_owned[*p as usize] = true;
            }
        }
        let mut c = Changes::default();
        for (p, (was, is)) in self.owned.iter().zip(&now_owned).enumerate() {
            match (was, is) {
                (false, true) => c.gained.push(p as u32),
                (true, false) => c.lost.push(p as u32),
                _ => {}
            }
        }
        self.owned = now_owned;
        (!c.gained.is_empty() || !c.lost.is_empty()).then_some(c)
    }

    /// Whether this node detects `target` now: its partition is owned and its lease
    /// fresh; counts the observations it leaves to the other nodes.
    pub fn owns(&mut self, target: &TargetId) -> bool {
        let p = partition_of(target, self.partitions) as usize;
        let mine = self.until[p].is_some_and(|u| Instant::now() < u);
        if !mine {
            self.skipped += 1;
        }
        mine
    }

    /// Observations left to other nodes so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

/// Counters of the lease keeper (`/metrics` of a detector node).
#[derive(Debug, Default)]
pub struct LeaseMetrics {
    /// Partitions owned now.
    pub owned: AtomicU64,
    /// Live nodes seen at the last heartbeat.
    pub live_nodes: AtomicU64,
    /// Leases taken.
    pub acquired: AtomicU64,
    /// Leases released to another node (rebalancing).
    pub released: AtomicU64,
    /// Leases lost (renewal refused or late).
    pub lost: AtomicU64,
}

impl LeaseMetrics {
    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let rows = [
            (
                "skyfence_cluster_partitions_owned",
                "gauge",
                "partitions whose lease this node holds",
                &self.owned,
            ),
            (
                "skyfence_cluster_live_nodes",
                "gauge",
                "detector nodes alive at the last heartbeat",
                &self.live_nodes,
            ),
            (
                "skyfence_cluster_leases_acquired_total",
                "counter",
                "partition leases taken",
                &self.acquired,
            ),
            (
                "skyfence_cluster_leases_released_total",
                "counter",
                "partition leases handed back for another node's share",
                &self.released,
            ),
            (
                "skyfence_cluster_leases_lost_total",
                "counter",
                "partition leases lost (renewal refused or late)",
                &self.lost,
            ),
        ];
        crate::metrics::render_plain(&rows)
    }
}

/// Opens `bucket`, creating it with `ttl` when absent. The bucket's stream is made here
/// with the settings of a key-value bucket (one value per key, roll-ups, direct gets,
/// new messages refused when full) rather than by the client's `create_key_value`, whose
/// account query the Debian `nats-server` 2.9 answers in a shape it does not parse.
async fn bucket(js: &jetstream::Context, name: &str, ttl: Duration) -> anyhow::Result<kv::Store> {
    if let Ok(s) = js.get_key_value(name).await {
        return Ok(s);
    }
    js.get_or_create_stream(jetstream::stream::Config {
        name: format!("KV_{name}"),
        subjects: vec![format!("$KV.{name}.>")],
        max_messages_per_subject: 1,
        max_age: ttl,
        storage: jetstream::stream::StorageType::File,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: jetstream::stream::DiscardPolicy::New,
        num_replicas: 1,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("key-value bucket {name}: {e}"))?;
    js.get_key_value(name)
        .await
        .map_err(|e| anyhow::anyhow!("key-value bucket {name}: {e}"))
}

/// Keeps one node's leases: heartbeats, renews, takes its fair share, releases the excess.
pub struct LeaseKeeper {
    node: String,
    info: NodeInfo,
    partitions: u32,
    timing: LeaseTiming,
    leases: kv::Store,
    nodes: kv::Store,
    state: Ownership,
    tx: watch::Sender<Ownership>,
    metrics: Arc<LeaseMetrics>,
    lag: Option<Arc<crate::node::NodeMetrics>>,
}

impl LeaseKeeper {
    /// Opens (or creates) the buckets; the keeper owns nothing until [`Self::run`].
    pub async fn new(
        js: &jetstream::Context,
        info: NodeInfo,
        partitions: u32,
        timing: LeaseTiming,
        metrics: Arc<LeaseMetrics>,
    ) -> anyhow::Result<(Self, watch::Receiver<Ownership>)> {
        let leases = bucket(js, LEASES_BUCKET, timing.ttl).await?;
        let nodes = bucket(js, NODES_BUCKET, timing.ttl).await?;
        let (tx, rx) = watch::channel(Ownership::default());
        Ok((
            LeaseKeeper {
                node: info.node.clone(),
                info,
                partitions,
                timing,
                leases,
                nodes,
                state: Ownership::default(),
                tx,
                metrics,
                lag: None,
            },
            rx,
        ))
    }

    /// Announces the node's consumer lag with each heartbeat.
    pub fn with_lag(mut self, node: Arc<crate::node::NodeMetrics>) -> Self {
        self.lag = Some(node);
        self
    }

    /// One round: heartbeat, renew, then take or release toward the fair share.
    pub async fn step(&mut self) -> anyhow::Result<()> {
        if let Some(n) = &self.lag {
            self.info.consumer_lag = Some(n.lag.load(Relaxed));
        }
        let json = serde_json::to_vec(&self.info)?;
        self.nodes
            .put(&self.node, json.into())
            .await
            .map_err(|e| anyhow::anyhow!("heartbeat: {e}"))?;
        let mut live = live_nodes(&self.nodes).await?;
        if !live.contains(&self.node) {
            live.push(self.node.clone());
            live.sort();
        }
        self.metrics.live_nodes.store(live.len() as u64, Relaxed);
        let index = live.iter().position(|n| *n == self.node).unwrap_or(0);
        let share = fair_share(self.partitions, live.len(), index) as usize;
        self.state.live = live;

        // Renew what is held, fenced by the revision last written.
        let held: Vec<(u32, Held)> = self.state.held.iter().map(|(p, h)| (*p, *h)).collect();
        for (p, h) in held {
            let started = Instant::now();
            let late = h.renewed.elapsed() >= self.timing.write_margin;
            match self
                .leases
                .update(lease_key(p), self.node.clone().into(), h.revision)
                .await
            {
                Ok(revision) if !late => {
                    self.state.held.insert(
                        p,
                        Held {
                            revision,
                            renewed: started,
                        },
                    );
                }
                Ok(revision) => {
                    // Too late to trust (another node may have had the key meanwhile, by
                    // its clock): give it back and start over.
                    let _ = self
                        .leases
                        .delete_expect_revision(lease_key(p), Some(revision))
                        .await;
                    self.lose(p, "renewed too late");
                }
                Err(e) => self.lose(p, &e.to_string()),
            }
        }

        // Give back the excess (a node joined): the highest partitions first.
        while self.state.held.len() > share {
            let Some((&p, &h)) = self.state.held.iter().next_back() else {
                break;
            };
            self.state.held.remove(&p);
            if let Err(e) = self
                .leases
                .delete_expect_revision(lease_key(p), Some(h.revision))
                .await
            {
                tracing::warn!(partition = p, "releasing the lease: {e}");
            }
            self.metrics.released.fetch_add(1, Relaxed);
            tracing::info!(partition = p, "partition released for another node's share");
        }

        // Take free partitions up to the share, starting where this node's share would
        // begin in an even split (nodes rarely race for the same key).
        if self.state.held.len() < share {
            let start =
                (index as u64 * u64::from(self.partitions) / self.state.live.len() as u64) as u32;
            for k in 0..self.partitions {
                if self.state.held.len() >= share {
                    break;
                }
                let p = (start + k) % self.partitions;
                if self.state.held.contains_key(&p) {
                    continue;
                }
                let started = Instant::now();
                if let Ok(revision) = self
                    .leases
                    .create(lease_key(p), self.node.clone().into())
                    .await
                {
                    self.state.held.insert(
                        p,
                        Held {
                            revision,
                            renewed: started,
                        },
                    );
                    self.metrics.acquired.fetch_add(1, Relaxed);
                    tracing::info!(partition = p, revision, "partition lease taken");
                }
            }
        }
        self.metrics
            .owned
            .store(self.state.held.len() as u64, Relaxed);
        self.tx.send_replace(self.state.clone());
        Ok(())
    }

    fn lose(&mut self, p: u32, why: &str) {
        self.state.held.remove(&p);
        self.metrics.lost.fetch_add(1, Relaxed);
        tracing::warn!(partition = p, "partition lease lost: {why}");
    }

    /// Runs rounds every [`LeaseTiming::renew`] until `shutdown`; then hands every lease
    /// back and removes the node's heartbeat, so the others take over at once.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if let Err(e) = self.step().await {
                tracing::warn!("lease round: {e:#}");
                // Nothing renewed: drop what is no longer safe to write under.
                let margin = self.timing.write_margin;
                let stale: Vec<u32> = self
                    .state
                    .held
                    .iter()
                    .filter(|(_, h)| h.renewed.elapsed() >= margin)
                    .map(|(p, _)| *p)
                    .collect();
                for p in stale {
                    self.lose(p, "not renewed in time");
                }
                self.metrics
                    .owned
                    .store(self.state.held.len() as u64, Relaxed);
                self.tx.send_replace(self.state.clone());
            }
            tokio::select! {
                () = tokio::time::sleep(self.timing.renew) => {}
                () = stopped(&mut shutdown) => break,
            }
        }
        self.release_all().await;
    }

    /// Hands every lease back and deletes the heartbeat.
    pub async fn release_all(&mut self) {
        let held = std::mem::take(&mut self.state.held);
        for (p, h) in held {
            let _ = self
                .leases
                .delete_expect_revision(lease_key(p), Some(h.revision))
                .await;
            self.metrics.released.fetch_add(1, Relaxed);
        }
        let _ = self.nodes.delete(&self.node).await;
        self.metrics.owned.store(0, Relaxed);
        self.tx.send_replace(self.state.clone());
    }
}

/// The live nodes' names, sorted.
async fn live_nodes(nodes: &kv::Store) -> anyhow::Result<Vec<String>> {
    let mut keys = nodes
        .keys()
        .await
        .map_err(|e| anyhow::anyhow!("listing nodes: {e}"))?;
    let mut out = Vec::new();
    while let Some(k) = keys.next().await {
        out.push(k.map_err(|e| anyhow::anyhow!("listing nodes: {e}"))?);
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `GET /api/cluster`: the live nodes and the partitions each owns.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ClusterView {
    /// `[cluster] partitions`.
    pub partitions: u32,
    /// The live nodes, sorted by name.
    pub nodes: Vec<NodeView>,
    /// Partitions nobody owns now (between a node's death and the take-over).
    pub unowned: Vec<u32>,
}

/// One node of [`ClusterView`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct NodeView {
    /// Its name.
    pub node: String,
    /// Its HTTP API, when announced.
    pub api: Option<String>,
    /// Its raw-stream consumer's lag at its last heartbeat, messages.
    pub consumer_lag: Option<u64>,
    /// The partitions whose lease it holds, ascending.
    pub partitions: Vec<u32>,
}

/// Reads the cluster's state from the two buckets (creating them when absent).
pub async fn cluster_view(
    js: &jetstream::Context,
    partitions: u32,
    timing: LeaseTiming,
) -> anyhow::Result<ClusterView> {
    let leases = bucket(js, LEASES_BUCKET, timing.ttl).await?;
    let nodes_kv = bucket(js, NODES_BUCKET, timing.ttl).await?;
    let mut nodes: BTreeMap<String, NodeView> = BTreeMap::new();
    for n in live_nodes(&nodes_kv).await? {
        let info = nodes_kv
            .get(n.as_str())
            .await
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_slice::<NodeInfo>(&v).ok());
        nodes.insert(
            n.clone(),
            NodeView {
                node: n,
                api: info.as_ref().and_then(|i| i.api.clone()),
                consumer_lag: info.and_then(|i| i.consumer_lag),
                partitions: Vec::new(),
            },
        );
    }
    let mut unowned = Vec::new();
    for p in 0..partitions {
        let owner = leases
            .get(lease_key(p))
            .await
            .with_context(|| format!("reading the lease of partition {p}"))?;
        match owner.map(|v| String::from_utf8_lossy(&v).into_owned()) {
            Some(o) if !o.is_empty() => nodes
                .entry(o.clone())
                .or_insert_with(|| NodeView {
                    node: o,
                    api: None,
                    consumer_lag: None,
                    partitions: Vec::new(),
                })
                .partitions
                .push(p),
            _ => unowned.push(p),
        }
    }
    Ok(ClusterView {
        partitions,
        nodes: nodes.into_values().collect(),
        unowned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::Icao24;

    #[test]
    fn shares_sum_to_the_partitions_and_differ_by_at_most_one() {
        for p in [1u32, 2, 7, 32, 100, 4096] {
            for n in 1..=9usize {
                let shares: Vec<u32> = (0..n).map(|i| fair_share(p, n, i)).collect();
                assert_eq!(shares.iter().sum::<u32>(), p, "{p} over {n}");
                let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
                assert!(hi - lo <= 1, "{p} over {n}: {shares:?}");
            }
        }
    }

    #[test]
    fn the_partition_of_a_target_is_fixed_and_in_range() {
        let klm = TargetId::Icao(Icao24::new(0x4840d6).unwrap());
        // Pinned: a change of the hash would move every target of a running cluster.
        assert_eq!(partition_of(&klm, 32), partition_of(&klm, 32));
        let pinned = partition_of(&klm, 1 << 20);
        assert_eq!(pinned, {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in b"i4840d6" {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
            (h % (1 << 20)) as u32
        });
        for a in 0..5000u32 {
            let t = TargetId::Icao(Icao24::from_u32_masked(a * 7919));
            assert!(partition_of(&t, 32) < 32);
            assert_eq!(partition_of(&t, 1), 0);
        }
    }

    #[test]
    fn targets_spread_over_the_partitions() {
        let mut counts = [0u32; 32];
        for a in 0..32_000u32 {
            let t = TargetId::Icao(Icao24::from_u32_masked(0x400000 + a * 13));
            counts[partition_of(&t, 32) as usize] += 1;
        }
        // 1 000 expected in each; a fair hash stays well within ±20 %.
        assert!(
            counts.iter().all(|&c| (800..=1200).contains(&c)),
            "{counts:?}"
        );
    }
}
