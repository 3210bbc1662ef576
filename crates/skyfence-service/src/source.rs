//! Live sources ("Service"): a TCP client dialling a receiver (Beast 30005, SBS
//! 30003, AVR 30002), a TCP server for receivers that push (Beast 30104), a UDP
//! receiver for datagram feeds (ASTERIX from radars, Remote ID lines; unicast or a
//! joined multicast group), and file replay at real or accelerated speed.
//!
//! Each source frames bytes with the pure codecs of `skyfence-decode`, stamps every frame
//! with its receive time (the machine clock, read here at the edge: the detection core
//! never reads a clock, ARCHITECTURE.md invariant 1), and sends batches to the detector
//! task over a bounded channel (invariant 2). A full channel makes the source wait, which
//! makes TCP push back on the receiver: nothing is dropped silently. Client sources
//! reconnect with exponential backoff; every source keeps counters in [`Metrics`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use skyfence_core::time::wall_clock;
use skyfence_core::{SourceId, Timestamp};
use skyfence_decode::codec::Codec;
use skyfence_decode::format::Format;
use skyfence_decode::{DropCounts, DropReason};
use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::metrics::{Metrics, SourceMetrics};
use crate::input::{ClockOptions, InputSpec, Item};

/// What a source sends the detector task: the items framed from one read.
#[derive(Debug)]
pub struct SourceBatch {
    /// Which configured source.
    pub source: SourceId,
    /// When the bytes arrived (for the arrival → event latency histogram).
    pub received: Instant,
    /// Frames (Beast, AVR) or decoded messages (SBS), stamped with the receive time.
    pub items: Vec<Item>,
}

/// How a source gets its bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum SourceKind {
    /// Dial `host:port`, reconnecting with backoff.
    Connect(String),
    /// Accept receivers that push on this address.
    Listen(SocketAddr, crate::netlimits::ListenLimits),
    /// Receive UDP datagrams (each holding whole records) on this address, from the
    /// senders `allow_from` admits; join a multicast group first when one is given.
    Udp {
        /// The address to bind.
        addr: SocketAddr,
        /// The IPv4 multicast group to join, and the interface to join it on.
        multicast: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>,
        /// Who may send (only `allow_from` is used).
        limits: crate::netlimits::ListenLimits,
    },
    /// Replay a recording, paced by its own times divided by `speed`, once.
    Replay {
        /// The recording (`FMT:PATH`).
        input: InputSpec,
        /// 1 is real time; 10 is ten times faster.
        speed: f64,
    },
}

/// One source to run.
#[derive(Clone, Debug)]
pub struct SourceSpec {
    /// Its index in the metrics and its id in observations.
    pub id: SourceId,
    /// `[[source]] name`.
    pub name: String,
    /// Wire format, from the registry (a replay source's is its input spec's).
    pub format: &'static Format,
    /// Where the bytes come from.
    pub kind: SourceKind,
}

/// Resolves when `shutdown` turns true (or its sender is gone).
pub async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Exponential backoff between connection attempts: 250 ms doubling to 30 s, back to
/// the start after a successful connection.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
}

impl Backoff {
    /// The first delay.
    pub const MIN: Duration = Duration::from_millis(250);
    /// The largest delay.
    pub const MAX: Duration = Duration::from_secs(30);

    /// A backoff at its first delay.
    pub fn new() -> Self {
        Backoff { next: Self::MIN }
    }

    /// The delay to wait now; the next one is twice as long (up to [`Backoff::MAX`]).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        d
    }

    /// Back to the first delay.
    pub fn reset(&mut self) {
        self.next = Self::MIN;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new()
    }
}

/// The codec of one connection, from the format registry, stamping every item with
/// its receive time.
pub(crate) struct Framer {
    codec: Box<dyn Codec>,
}

impl Framer {
    pub(crate) fn new(format: &'static Format) -> Self {
        // The receiver's counter is not used for time (receive time is), so its epoch
        // does not matter.
        Framer {
            codec: format.codec(ClockOptions::default()),
        }
    }

    /// Frames `chunk`, stamping each item with `at`.
    pub(crate) fn decode(&mut self, chunk: &[u8], at: Timestamp, out: &mut Vec<Item>) {
        self.codec.decode(chunk, &mut |mut item| {
            item.set_at(at);
            out.push(item);
        });
    }

    /// Frames one datagram, stamping each item with `at`: the datagram's end ends its
    /// records (a partial one is counted by the codec, never carried over).
    fn datagram(&mut self, datagram: &[u8], at: Timestamp, out: &mut Vec<Item>) {
        let mut push = |mut item: Item| {
            item.set_at(at);
            out.push(item);
        };
        self.codec.decode(datagram, &mut push);
        self.codec.finish(&mut push);
    }

    pub(crate) fn drops(&self) -> DropCounts {
        *self.codec.drops()
    }
}

/// `now - before`, reason by reason (both are running totals).
fn drops_since(now: &DropCounts, before: &DropCounts) -> DropCounts {
    let mut d = DropCounts::default();
    for r in DropReason::ALL {
        d.add_n(r, now.get(r).saturating_sub(before.get(r)));
    }
    d
}

/// Runs a source until `shutdown`.
pub async fn run(
    spec: SourceSpec,
    out: mpsc::Sender<SourceBatch>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    match spec.kind.clone() {
        SourceKind::Connect(addr) => run_client(&spec, &addr, out, metrics, shutdown).await,
        SourceKind::Listen(addr, ref limits) => {
            run_server(&spec, addr, limits, out, metrics, shutdown).await
        }
        SourceKind::Udp {
            addr,
            multicast,
            ref limits,
        } => run_udp(&spec, addr, multicast, limits, out, metrics, shutdown).await,
        SourceKind::Replay { input, speed } => {
            let name = spec.name.clone();
            let id = spec.id;
            let stop = shutdown.clone();
            let task = tokio::task::spawn_blocking(move || {
                replay(id, &input, speed, &out, &metrics, &stop)
            });
            match task.await {
                Ok(Ok(())) => tracing::info!(source = %name, "replay finished"),
                Ok(Err(e)) => tracing::error!(source = %name, "replay failed: {e:#}"),
                Err(e) => tracing::error!(source = %name, "replay task failed: {e}"),
            }
            stopped(&mut shutdown).await;
        }
    }
}

async fn run_client(
    spec: &SourceSpec,
    addr: &str,
    out: mpsc::Sender<SourceBatch>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(m) = metrics.sources.get(usize::from(spec.id.0)) else {
        return;
    };
    let mut backoff = Backoff::new();
    loop {
        let attempt = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr));
        let stream = tokio::select! {
            r = attempt => r,
            () = stopped(&mut shutdown) => return,
        };
        match stream {
            Ok(Ok(stream)) => {
                backoff.reset();
                tracing::info!(source = %spec.name, %addr, "connected");
                // A dialed receiver is ours to keep: no idle limit.
                let end =
                    read_connection(spec, stream, &out, m, Duration::MAX, &mut shutdown).await;
                match end {
                    ConnectionEnd::Shutdown => return,
                    ConnectionEnd::Closed(why) => {
                        tracing::warn!(source = %spec.name, %addr, "disconnected: {why}; reconnecting");
                    }
                }
            }
            Ok(Err(e)) => {
                m.connect_failures.fetch_add(1, Relaxed);
                tracing::debug!(source = %spec.name, %addr, "cannot connect: {e}");
            }
            Err(_) => {
                m.connect_failures.fetch_add(1, Relaxed);
                tracing::debug!(source = %spec.name, %addr, "connect timed out");
            }
        }
        let delay = backoff.next_delay();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

async fn run_server(
    spec: &SourceSpec,
    addr: SocketAddr,
    limits: &crate::netlimits::ListenLimits,
    out: mpsc::Sender<SourceBatch>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Backoff::new();
    let listener = loop {
        match TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(e) => {
                tracing::error!(source = %spec.name, %addr, "cannot listen: {e}; retrying");
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_delay()) => {}
                    () = stopped(&mut shutdown) => return,
                }
            }
        }
    };
    tracing::info!(source = %spec.name, %addr, "listening for receivers");
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let refused = |why: &str, peer: SocketAddr| {
        if let Some(m) = metrics.sources.get(usize::from(spec.id.0)) {
            m.refused.fetch_add(1, Relaxed);
        }
        tracing::debug!(source = %spec.name, %peer, "receiver refused: {why}");
    };
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stopped(&mut shutdown) => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                if !limits.allows(peer.ip()) {
                    refused("not in allow_from", peer);
                    continue;
                }
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    refused(
                        &format!(
                            "{} receivers connected (max_connections)",
                            limits.max_connections
                        ),
                        peer,
                    );
                    continue;
                };
                // Connection churn is per-peer detail (DEBUG); the counters say how much.
                tracing::debug!(source = %spec.name, %peer, "receiver connected");
                let (spec, out, metrics, mut shutdown) =
                    (spec.clone(), out.clone(), metrics.clone(), shutdown.clone());
                let idle = limits.idle_timeout;
                tokio::spawn(async move {
                    let _permit = permit;
                    let Some(m) = metrics.sources.get(usize::from(spec.id.0)) else {
                        return;
                    };
                    if let ConnectionEnd::Closed(why) =
                        read_connection(&spec, stream, &out, m, idle, &mut shutdown).await
                    {
                        tracing::debug!(source = %spec.name, %peer, "receiver disconnected: {why}");
                    }
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(source = %spec.name, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Binds a UDP socket on `addr`, joining `multicast` (group, interface) if given.
fn bind_udp(
    addr: SocketAddr,
    multicast: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>,
) -> std::io::Result<tokio::net::UdpSocket> {
    let socket = std::net::UdpSocket::bind(addr)?;
    if let Some((group, interface)) = multicast {
        socket.join_multicast_v4(&group, &interface)?;
    }
    socket.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(socket)
}

/// Receives datagrams until shutdown: each is framed on its own (a record cut by the
/// datagram's end is counted, never joined with the next datagram's bytes), stamped
/// with its receive time and forwarded.
async fn run_udp(
    spec: &SourceSpec,
    addr: SocketAddr,
    multicast: Option<(std::net::Ipv4Addr, std::net::Ipv4Addr)>,
    limits: &crate::netlimits::ListenLimits,
    out: mpsc::Sender<SourceBatch>,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Some(m) = metrics.sources.get(usize::from(spec.id.0)) else {
        return;
    };
    let mut backoff = Backoff::new();
    let socket = loop {
        match bind_udp(addr, multicast) {
            Ok(s) => break s,
            Err(e) => {
                tracing::error!(source = %spec.name, %addr, "cannot receive UDP: {e}; retrying");
                tokio::select! {
                    () = tokio::time::sleep(backoff.next_delay()) => {}
                    () = stopped(&mut shutdown) => return,
                }
            }
        }
    };
    tracing::info!(source = %spec.name, %addr, ?multicast, "receiving UDP datagrams");
    m.connects.fetch_add(1, Relaxed);
    m.connected.fetch_add(1, Relaxed);
    let mut framer = Framer::new(spec.format);
    let mut reported = DropCounts::default();
    // The largest UDP payload.
    let mut buf = vec![0u8; 65_536];
    loop {
        let received = tokio::select! {
            r = socket.recv_from(&mut buf) => r,
            () = stopped(&mut shutdown) => break,
        };
        let (n, peer) = match received {
            Ok(r) => r,
            Err(e) => {
                // ICMP errors and the like: wait a moment rather than spin.
                tracing::debug!(source = %spec.name, "recv failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if !limits.allows(peer.ip()) {
            m.refused.fetch_add(1, Relaxed);
            continue;
        }
        let arrived = Instant::now();
        m.bytes.fetch_add(n as u64, Relaxed);
        let mut items = Vec::new();
        framer.datagram(&buf[..n], wall_clock(), &mut items);
        let drops = framer.drops();
        m.add_drops(&drops_since(&drops, &reported));
        reported = drops;
        if items.is_empty() {
            continue;
        }
        m.frames.fetch_add(items.len() as u64, Relaxed);
        let batch = SourceBatch {
            source: spec.id,
            received: arrived,
            items,
        };
        tokio::select! {
            r = out.send(batch) => if r.is_err() { break },
            () = stopped(&mut shutdown) => break,
        }
    }
    m.connected.fetch_sub(1, Relaxed);
}

enum ConnectionEnd {
    Shutdown,
    Closed(String),
}

/// Reads one connection to its end, framing and forwarding what arrives.
async fn read_connection(
    spec: &SourceSpec,
    mut stream: TcpStream,
    out: &mpsc::Sender<SourceBatch>,
    m: &SourceMetrics,
    idle: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> ConnectionEnd {
    let _ = stream.set_nodelay(true);
    m.connects.fetch_add(1, Relaxed);
    m.connected.fetch_add(1, Relaxed);
    let mut framer = Framer::new(spec.format);
    let mut reported = DropCounts::default();
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        let n = tokio::select! {
            r = tokio::time::timeout(idle, stream.read(&mut buf)) => match r {
                Ok(r) => r,
                Err(_) => {
                    m.refused.fetch_add(1, Relaxed);
                    break ConnectionEnd::Closed(format!(
                        "silent for {} s (idle_timeout_s)",
                        idle.as_secs_f64()
                    ));
                }
            },
            () = stopped(shutdown) => break ConnectionEnd::Shutdown,
        };
        let n = match n {
            Ok(0) => break ConnectionEnd::Closed("closed by peer".into()),
            Ok(n) => n,
            Err(e) => break ConnectionEnd::Closed(e.to_string()),
        };
        let received = Instant::now();
        let now = wall_clock();
        m.bytes.fetch_add(n as u64, Relaxed);
        m.last_data_us.store(now.as_micros(), Relaxed);
        let mut items = Vec::new();
        framer.decode(&buf[..n], now, &mut items);
        let drops = framer.drops();
        m.add_drops(&drops_since(&drops, &reported));
        reported = drops;
        if items.is_empty() {
            continue;
        }
        m.frames.fetch_add(items.len() as u64, Relaxed);
        let batch = SourceBatch {
            source: spec.id,
            received,
            items,
        };
        // Waiting here is the backpressure: the receiver's TCP window fills up.
        tokio::select! {
            r = out.send(batch) => if r.is_err() { break ConnectionEnd::Shutdown },
            () = stopped(shutdown) => break ConnectionEnd::Shutdown,
        }
    };
    m.connected.fetch_sub(1, Relaxed);
    if matches!(end, ConnectionEnd::Closed(_)) {
        m.disconnects.fetch_add(1, Relaxed);
    }
    end
}

/// Replays a recording on a blocking thread: item times relative to the first item,
/// divided by `speed`, decide when each is sent; each is stamped with its send time.
fn replay(
    id: SourceId,
    input: &InputSpec,
    speed: f64,
    out: &mpsc::Sender<SourceBatch>,
    metrics: &Metrics,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let speed = if speed.is_finite() && speed > 0.0 {
        speed
    } else {
        1.0
    };
    let m = metrics
        .sources
        .get(usize::from(id.0))
        .ok_or_else(|| anyhow::anyhow!("source id {} has no counters", id.0))?;
    let mut reader = crate::input::open(input, ClockOptions::default())?;
    m.connects.fetch_add(1, Relaxed);
    m.connected.fetch_add(1, Relaxed);
    let started = Instant::now();
    let mut first: Option<Timestamp> = None;
    let mut pending: Vec<Item> = Vec::new();
    let mut reported = DropCounts::default();
    let result = loop {
        if *shutdown.borrow() {
            break Ok(());
        }
        let item = match reader.next_item() {
            Ok(i) => i,
            Err(e) => break Err(e.into()),
        };
        let due = item.as_ref().map(|i| {
            let t0 = *first.get_or_insert(i.at());
            let offset_s = i.at().secs_since(t0).max(0.0) / speed;
            started + Duration::from_secs_f64(offset_s.min(1e9))
        });
        // Send what is pending once the next item is due later (or at the end).
        let flush = due.is_none_or(|d| d > Instant::now());
        if flush && !send_pending(id, &mut pending, m, out) {
            break Ok(());
        }
        let drops = reader.drops();
        m.add_drops(&drops_since(&drops, &reported));
        reported = drops;
        let Some(item) = item else { break Ok(()) };
        if let Some(d) = due {
            // In short naps, so a long gap in the recording does not delay shutdown.
            loop {
                let wait = d.saturating_duration_since(Instant::now());
                if wait.is_zero() || *shutdown.borrow() {
                    break;
                }
                std::thread::sleep(wait.min(Duration::from_millis(100)));
            }
        }
        pending.push(item);
        if pending.len() >= 4096 && !send_pending(id, &mut pending, m, out) {
            break Ok(());
        }
    };
    m.bytes.fetch_add(reader.bytes, Relaxed);
    m.connected.fetch_sub(1, Relaxed);
    result
}

/// Stamps the replay's pending items with the time they are sent (their receive time)
/// and sends them; false when the detector task is gone. Nothing to send is success.
fn send_pending(
    id: SourceId,
    pending: &mut Vec<Item>,
    m: &SourceMetrics,
    out: &mpsc::Sender<SourceBatch>,
) -> bool {
    if pending.is_empty() {
        return true;
    }
    let now = wall_clock();
    for p in pending.iter_mut() {
        p.set_at(now);
    }
    m.frames.fetch_add(pending.len() as u64, Relaxed);
    let batch = SourceBatch {
        source: id,
        received: Instant::now(),
        items: std::mem::take(pending),
    };
    out.blocking_send(batch).is_ok()
}

/// How a source gets its bytes, for logs.
pub fn describe(kind: &SourceKind) -> String {
    match kind {
        SourceKind::Connect(a) => format!("connect {a}"),
        SourceKind::Listen(a, _) => format!("listen {a}"),
        SourceKind::Udp {
            addr,
            multicast: None,
            ..
        } => format!("udp {addr}"),
        SourceKind::Udp {
            addr,
            multicast: Some((group, interface)),
            ..
        } => format!("udp {addr}, multicast group {group} on {interface}"),
        SourceKind::Replay { input, speed } => format!("replay {input} at x{speed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<u128> = (0..10).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(
            delays,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]
        );
        b.reset();
        assert_eq!(b.next_delay().as_millis(), 250);
    }

    #[test]
    fn beast_frames_get_the_receive_time() {
        // `8D4840D6202CC371C32CE0576098` ("The 1090 MHz Riddle", KLM1023 identification)
        // as a Beast type-3 record with a zero timestamp and signal 0x80.
        let mut bytes = vec![0x1a, b'3', 0, 0, 0, 0, 0, 0, 0x80];
        bytes.extend([
            0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
        ]);
        let mut f = Framer::new(&skyfence_decode::format::BEAST);
        let mut items = Vec::new();
        let at = Timestamp::from_secs(1_700_000_000);
        f.decode(&bytes, at, &mut items);
        assert_eq!(items.len(), 1);
        let Item::Frame(frame) = items[0] else {
            panic!("expected a frame")
        };
        assert_eq!(frame.at, at);
        assert_eq!(frame.raw.bytes[..4], [0x8d, 0x48, 0x40, 0xd6]);
    }

    /// SBS lines arrive already decoded: the message, too, takes the receive time, and
    /// an AVR frame split across two reads is delivered once, whole.
    #[test]
    fn every_live_format_stamps_items_with_the_receive_time() {
        let at = Timestamp::from_secs(1_700_000_000);
        let sbs = b"MSG,3,1,1,4840D6,1,2023/11/14,22:13:20.000,2023/11/14,22:13:20.000,,38000,,,52.3,4.8,,,0,0,0,0\n";
        let mut f = Framer::new(&skyfence_decode::format::SBS);
        let mut items = Vec::new();
        f.decode(sbs, at, &mut items);
        let [Item::Decoded(m)] = &items[..] else {
            panic!("expected one decoded message, got {items:?}")
        };
        assert_eq!((m.at, m.alt_ft), (at, Some(38000)));
        let mut f = Framer::new(&skyfence_decode::format::AVR);
        let mut items = Vec::new();
        f.decode(b"*8D4840D6202CC3", at, &mut items);
        assert!(items.is_empty());
        f.decode(b"71C32CE0576098;\n", at.add_micros(5), &mut items);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].at(), at.add_micros(5));
        assert_eq!(f.drops().total_messages(), 0);
        // A Remote ID line split across two reads: one record, at the receive time, with
        // its transmitter and RSSI.
        let mut f = Framer::new(&skyfence_decode::format::REMOTEID);
        let mut items = Vec::new();
        let line = "1700000000.5,rx-1,-70,60:60:1f:12:34:56,\
                    0212313538314635464A443233394330304457323245000000\n";
        let (a, b) = line.split_at(30);
        f.decode(a.as_bytes(), at, &mut items);
        assert!(items.is_empty());
        f.decode(b.as_bytes(), at.add_micros(7), &mut items);
        let [Item::RemoteId(r)] = &items[..] else {
            panic!("expected one Remote ID record, got {items:?}")
        };
        assert_eq!(r.at, at.add_micros(7));
        assert_eq!(
            (r.rssi_dbm, r.transmitter),
            (Some(-70), Some([0x60, 0x60, 0x1f, 0x12, 0x34, 0x56]))
        );
        assert_eq!(&r.data()[2..22], b"1581F5FJD239C00DW22E");
        assert_eq!(f.drops().total_messages(), 0);
    }

    /// Each datagram ends its records: an ASTERIX block cut by the datagram's end is
    /// counted as truncated and its bytes never joined with the next datagram's.
    #[test]
    fn datagrams_are_framed_one_by_one() {
        use skyfence_decode::asterix::{Report, encode};
        let report = Report {
            category: 48,
            sac: 2,
            sic: 1,
            time_of_day: Some(128 * 3600),
            track_number: Some(4),
            ..Report::default()
        };
        let mut block = Vec::new();
        encode::block(48, &[encode::cat048(&report)], &mut block);
        let mut f = Framer::new(&skyfence_decode::format::ASTERIX);
        let at = Timestamp::from_secs(1_700_000_000);
        let mut items = Vec::new();
        f.datagram(&block[..block.len() - 1], at, &mut items);
        assert!(items.is_empty());
        assert_eq!(f.drops().get(DropReason::Truncated), 1);
        let mut two = block.clone();
        two.extend_from_slice(&block);
        f.datagram(&two, at, &mut items);
        assert_eq!(items.len(), 2);
        let Item::Asterix(a) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!((a.at, a.report.track_number), (at, Some(4)));
        // A Remote ID line in a datagram needs no newline.
        let mut f = Framer::new(&skyfence_decode::format::REMOTEID);
        let mut items = Vec::new();
        f.datagram(
            b"1700000000.5,rx-1,-70,60:60:1f:12:34:56,0212313538314635464A443233394330304457323245000000",
            at,
            &mut items,
        );
        assert_eq!(items.len(), 1);
        assert_eq!(f.drops().total_messages(), 0);
    }

    #[test]
    fn drop_deltas_subtract_reason_by_reason() {
        let mut a = DropCounts::default();
        a.add_n(DropReason::BadCrc, 5);
        let mut b = a;
        b.add_n(DropReason::BadCrc, 2);
        b.add_n(DropReason::Garbage, 9);
        let d = drops_since(&b, &a);
        assert_eq!(
            (d.get(DropReason::BadCrc), d.get(DropReason::Garbage)),
            (2, 9)
        );
    }
}
