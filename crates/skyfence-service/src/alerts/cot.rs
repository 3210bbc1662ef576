//! The Cursor-on-Target sink (`[[alert]] type = "cot"`): incident events from the
//! alert dispatcher and, every `interval_s`, the live targets inside or approaching a
//! zone, as CoT XML ([`super::cot_xml`]) over UDP or to a TAK server over TCP.
//!
//! Delivery: over TCP an incident event counts as delivered once the whole event was
//! written to the connection; a failed write is a retryable error, the dispatcher tries
//! it again (after a reconnect), so incident events are delivered at least once (CoT
//! over TCP has no application-level acknowledgement: an event written just before the
//! connection breaks may be lost in the peer's socket buffer; TAK clients replace a
//! marker with the same uid, so repeats are harmless). UDP is best-effort by nature: a
//! datagram the network drops is never known to be lost; a send the OS refuses is
//! still reported as an error. Live target updates are never retried: the next one,
//! `interval_s` later, supersedes them.
//!
//! Multicast `239.2.3.1:6969` is the TAK convention for situational-awareness CoT on a
//! LAN (ATAK's default "SA multicast"); datagrams go out with the OS's default
//! multicast TTL (1: the local network only).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use skyfence_core::airspace::{AirspaceIndex, ZoneId};
use skyfence_core::detect::Event;
use skyfence_core::time::wall_clock;
use skyfence_core::{GeoPoint, Timestamp};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::cot_xml::{
    Affiliation, CotEvent, IncidentAffiliation, ZoneRelation, incident_event, target_event,
};
use super::{Alert, AlertSpec, DeliveryError, Sink};
use crate::config::{CotConfig, SinkConfig};
use crate::metrics::label;
use crate::pipeline::TrackView;

/// A TCP connection attempt gives up after this long.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A write that has not finished after this long counts as a broken connection
/// (connect + write stay within the dispatcher's default 10 s per attempt).
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// First wait after a failed connection attempt; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between connection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// At most this many live targets per round (a TAK client would drown in more; the
/// ones inside zones come first).
pub const MAX_TARGETS_PER_ROUND: usize = 500;

/// Where CoT goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CotDestination {
    /// UDP datagrams to a unicast or multicast address.
    Udp(String),
    /// A TAK server's plain-TCP CoT input (TAK Server's streaming port 8087 by default).
    Tcp(String),
}

impl CotDestination {
    /// `udp://host:port` or `tcp://host:port`, for logs, metrics and `GET /api/alerts`.
    pub fn describe(&self) -> String {
        match self {
            CotDestination::Udp(a) => format!("udp://{a}"),
            CotDestination::Tcp(a) => format!("tcp://{a}"),
        }
    }
}

/// One CoT sink's settings (from `[[alert]] type = "cot"`).
#[derive(Clone, Debug)]
pub struct CotSettings {
    /// The sink's name (metrics label, delivery cursor).
    pub name: String,
    /// Where to send.
    pub destination: CotDestination,
    /// Live targets every this often; `None`: incidents only.
    pub interval: Option<Duration>,
    /// Identity of live targets.
    pub affiliation: Affiliation,
    /// Identity of incidents.
    pub incident_affiliation: IncidentAffiliation,
    /// Validity of an incident marker, seconds.
    pub incident_stale_s: u32,
}

impl CotSettings {
    /// The CoT settings of a validated `[[alert]] type = "cot"` (`None` for another type).
    pub fn from_spec(spec: &AlertSpec) -> Option<CotSettings> {
        let SinkConfig::Cot(CotConfig {
            udp,
            tcp,
            interval_s,
            affiliation,
            incident_affiliation,
            incident_stale_s,
        }) = &spec.config.sink
        else {
            return None;
        };
        let destination = match (udp, tcp) {
            (Some(a), _) => CotDestination::Udp(a.clone()),
            (None, Some(a)) => CotDestination::Tcp(a.clone()),
            (None, None) => return None,
        };
        Some(CotSettings {
            name: spec.name.to_string(),
            destination,
            interval: (*interval_s > 0).then(|| Duration::from_secs(u64::from(*interval_s))),
            affiliation: *affiliation,
            incident_affiliation: IncidentAffiliation {
                unauthorised: *incident_affiliation,
                ..IncidentAffiliation::default()
            },
            incident_stale_s: *incident_stale_s,
        })
    }
}

/// Why a send failed. Every one is worth retrying (addresses resolve again, servers
/// come back), so the dispatcher gets them as retryable errors.
#[derive(Debug, thiserror::Error)]
pub enum CotError {
    /// The address did not resolve.
    #[error("cannot resolve CoT destination {addr:?}: {reason}")]
    Resolve {
        /// The configured `host:port`.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Connecting to the TAK server failed (or is waiting out its backoff).
    #[error("cannot connect to TAK server {addr}: {reason}")]
    Connect {
        /// The configured `host:port`.
        addr: String,
        /// Why.
        reason: String,
    },
    /// Sending failed.
    #[error("cannot send CoT to {dest}: {source}")]
    Send {
        /// `udp://…` or `tcp://…`.
        dest: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Counters of one CoT sink (`/metrics`, label `sink`).
#[derive(Debug, Default)]
pub struct CotMetrics {
    /// The sink's name.
    pub name: String,
    /// `udp://…` or `tcp://…`.
    pub destination: String,
    /// Incident events sent.
    pub incident_events: AtomicU64,
    /// Live target events sent.
    pub target_events: AtomicU64,
    /// Bytes sent.
    pub bytes: AtomicU64,
    /// Failed sends.
    pub send_errors: AtomicU64,
    /// TCP connections established.
    pub connects: AtomicU64,
    /// Failed TCP connection attempts.
    pub connect_failures: AtomicU64,
    /// TCP connection up now (0 or 1; always 0 for UDP).
    pub connected: AtomicI64,
}

/// Appends the CoT families of every sink to a Prometheus text exposition.
pub fn render_metrics(out: &mut String, sinks: &[Arc<CotMetrics>]) {
    use std::fmt::Write as _;
    if sinks.is_empty() {
        return;
    }
    type Field = fn(&CotMetrics) -> i64;
    let families: [(&str, &str, &str, Field); 7] = [
        (
            "skyfence_cot_incident_events_total",
            "counter",
            "incident CoT events sent",
            |m| m.incident_events.load(Relaxed) as i64,
        ),
        (
            "skyfence_cot_target_events_total",
            "counter",
            "live target CoT events sent",
            |m| m.target_events.load(Relaxed) as i64,
        ),
        (
            "skyfence_cot_bytes_total",
            "counter",
            "CoT bytes sent",
            |m| m.bytes.load(Relaxed) as i64,
        ),
        (
            "skyfence_cot_send_errors_total",
            "counter",
            "failed CoT sends",
            |m| m.send_errors.load(Relaxed) as i64,
        ),
        (
            "skyfence_cot_connects_total",
            "counter",
            "TAK server connections established",
            |m| m.connects.load(Relaxed) as i64,
        ),
        (
            "skyfence_cot_connect_failures_total",
            "counter",
            "failed TAK server connection attempts",
            |m| m.connect_failures.load(Relaxed) as i64,
        ),
        (
            "skyfence_cot_connected",
            "gauge",
            "TAK server connection up now",
            |m| m.connected.load(Relaxed),
        ),
    ];
    for (name, kind, help, field) in families {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for m in sinks {
            let _ = writeln!(
                out,
                "{name}{{sink=\"{}\",destination=\"{}\"}} {}",
                label(&m.name),
                label(&m.destination),
                field(m)
            );
        }
    }
}

/// A live TCP connection: the write half, and a task draining what the server sends
/// (a TAK server forwards other clients' CoT; unread, it would fill the socket and the
/// server would drop us). The task ending means the server closed the connection.
struct TcpLink {
    write: tokio::net::tcp::OwnedWriteHalf,
    drain: JoinHandle<()>,
}

impl Drop for TcpLink {
    fn drop(&mut self) {
        self.drain.abort();
    }
}

enum Link {
    Udp {
        socket: Option<UdpSocket>,
        addr: String,
    },
    Tcp {
        addr: String,
        link: Option<TcpLink>,
        backoff: Duration,
        next_attempt: Option<Instant>,
        /// True while an event is being written: still true at the next send means the
        /// previous send was cancelled mid-write (the dispatcher's timeout), leaving a
        /// partial event on the stream, so the connection must be replaced.
        writing: bool,
    },
}

/// Sends CoT events to one destination; shared by the incident path and the live
/// target task (one TCP connection per sink).
pub struct CotSender {
    link: Mutex<Link>,
    /// Counters.
    pub metrics: Arc<CotMetrics>,
    destination: String,
}

impl CotSender {
    /// A sender to `destination`; nothing is opened until the first send.
    pub fn new(name: &str, destination: &CotDestination) -> Self {
        let link = match destination {
            CotDestination::Udp(a) => Link::Udp {
                socket: None,
                addr: a.clone(),
            },
            CotDestination::Tcp(a) => Link::Tcp {
                addr: a.clone(),
                link: None,
                backoff: MIN_BACKOFF,
                next_attempt: None,
                writing: false,
            },
        };
        let described = destination.describe();
        CotSender {
            link: Mutex::new(link),
            metrics: Arc::new(CotMetrics {
                name: name.to_owned(),
                destination: described.clone(),
                ..CotMetrics::default()
            }),
            destination: described,
        }
    }

    /// Sends one event document. On TCP, a broken connection is dropped and the error
    /// returned; the next call reconnects (after a backoff of 0.5 s doubling to 30 s
    /// while connecting fails).
    pub async fn send(&self, xml: &str) -> Result<(), CotError> {
        let mut link = self.link.lock().await;
        let result = match &mut *link {
            Link::Udp { socket, addr } => self.send_udp(socket, addr, xml).await,
            Link::Tcp {
                addr,
                link,
                backoff,
                next_attempt,
                writing,
            } => {
                if std::mem::take(writing) && link.take().is_some() {
                    tracing::warn!(
                        dest = %self.destination,
                        "a cancelled send left a partial event: reconnecting"
                    );
                    self.metrics.connected.store(0, Relaxed);
                }
                *writing = true;
                let r = self.send_tcp(addr, link, backoff, next_attempt, xml).await;
                *writing = false;
                r
            }
        };
        match &result {
            Ok(()) => {
                self.metrics.bytes.fetch_add(xml.len() as u64, Relaxed);
            }
            Err(CotError::Connect { .. }) => {}
            Err(_) => {
                self.metrics.send_errors.fetch_add(1, Relaxed);
            }
        }
        result
    }

    async fn send_udp(
        &self,
        socket: &mut Option<UdpSocket>,
        addr: &str,
        xml: &str,
    ) -> Result<(), CotError> {
        let target = resolve(addr).await?;
        let send_err = |source| CotError::Send {
            dest: self.destination.clone(),
            source,
        };
        if socket.as_ref().is_none_or(|s| {
            s.local_addr()
                .map(|l| l.is_ipv4() != target.is_ipv4())
                .unwrap_or(true)
        }) {
            let any: SocketAddr = if target.is_ipv4() {
                (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
            } else {
                (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
            };
            *socket = Some(UdpSocket::bind(any).await.map_err(send_err)?);
        }
        let Some(s) = socket.as_ref() else {
            return Ok(());
        };
        let sent = s.send_to(xml.as_bytes(), target).await.map_err(send_err)?;
        if sent != xml.len() {
            return Err(send_err(std::io::Error::other(format!(
                "datagram truncated: {sent} of {} bytes sent",
                xml.len()
            ))));
        }
        Ok(())
    }

    async fn send_tcp(
        &self,
        addr: &str,
        link: &mut Option<TcpLink>,
        backoff: &mut Duration,
        next_attempt: &mut Option<Instant>,
        xml: &str,
    ) -> Result<(), CotError> {
        if link.as_ref().is_some_and(|l| l.drain.is_finished()) {
            tracing::warn!(dest = %self.destination, "TAK server closed the connection");
            *link = None;
            self.metrics.connected.store(0, Relaxed);
        }
        if link.is_none() {
            if let Some(t) = *next_attempt
                && Instant::now() < t
            {
                return Err(CotError::Connect {
                    addr: addr.to_owned(),
                    reason: format!(
                        "waiting {:.1} s before the next attempt",
                        t.saturating_duration_since(Instant::now()).as_secs_f64()
                    ),
                });
            }
            match connect(addr).await {
                Ok(stream) => {
                    tracing::info!(dest = %self.destination, "connected to TAK server");
                    let (mut read, write) = stream.into_split();
                    let drain = tokio::spawn(async move {
                        let mut buf = vec![0u8; 8192];
                        while let Ok(n) = read.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                        }
                    });
                    *link = Some(TcpLink { write, drain });
                    *backoff = MIN_BACKOFF;
                    *next_attempt = None;
                    self.metrics.connects.fetch_add(1, Relaxed);
                    self.metrics.connected.store(1, Relaxed);
                }
                Err(e) => {
                    self.metrics.connect_failures.fetch_add(1, Relaxed);
                    *next_attempt = Some(Instant::now() + *backoff);
                    *backoff = (*backoff * 2).min(MAX_BACKOFF);
                    tracing::warn!(dest = %self.destination, "{e}");
                    return Err(e);
                }
            }
        }
        let Some(l) = link.as_mut() else {
            return Ok(());
        };
        let written = tokio::time::timeout(WRITE_TIMEOUT, async {
            l.write.write_all(xml.as_bytes()).await?;
            l.write.flush().await
        })
        .await
        .unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "write timed out",
            ))
        });
        if let Err(source) = written {
            *link = None;
            self.metrics.connected.store(0, Relaxed);
            return Err(CotError::Send {
                dest: self.destination.clone(),
                source,
            });
        }
        Ok(())
    }
}

async fn resolve(addr: &str) -> Result<SocketAddr, CotError> {
    let err = |reason: String| CotError::Resolve {
        addr: addr.to_owned(),
        reason,
    };
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("no address".into()))
}

async fn connect(addr: &str) -> Result<TcpStream, CotError> {
    let target = resolve(addr).await?;
    let err = |reason: String| CotError::Connect {
        addr: addr.to_owned(),
        reason,
    };
    let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target))
        .await
        .map_err(|_| err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| err(e.to_string()))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// The sink: incident events (through [`CotSink::deliver_event`]) and the live target
/// feed ([`CotSink::run_targets`]) share one sender.
pub struct CotSink {
    settings: CotSettings,
    sender: Arc<CotSender>,
}

impl CotSink {
    /// A sink; nothing is opened until the first event.
    pub fn new(settings: CotSettings) -> Self {
        let sender = Arc::new(CotSender::new(&settings.name, &settings.destination));
        CotSink { settings, sender }
    }

    /// The sink's counters.
    pub fn metrics(&self) -> Arc<CotMetrics> {
        self.sender.metrics.clone()
    }

    /// The settings.
    pub fn settings(&self) -> &CotSettings {
        &self.settings
    }

    /// The CoT document for an incident event sent at `now` (`None` for events without
    /// an incident: approaches are shown by the live target feed).
    pub fn incident_xml(&self, event: &Event, now: Timestamp) -> Option<String> {
        incident_event(
            event,
            self.settings.incident_affiliation,
            now,
            self.settings.incident_stale_s,
        )
        .map(|c| c.to_xml())
    }

    /// Delivers one stored incident event; `Ok` once it was written to the destination
    /// (events without an incident are skipped as delivered).
    pub async fn deliver_event(&self, event: &Event) -> Result<(), CotError> {
        let Some(xml) = self.incident_xml(event, wall_clock()) else {
            return Ok(());
        };
        self.sender.send(&xml).await?;
        self.sender.metrics.incident_events.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Every `interval`, sends the live targets inside or approaching a zone, until
    /// `shutdown` turns true. Returns at once when the sink has no interval.
    pub async fn run_targets(
        self: Arc<Self>,
        tracks: watch::Receiver<Arc<Vec<TrackView>>>,
        index: Arc<AirspaceIndex>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let Some(interval) = self.settings.interval else {
            return;
        };
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let stale_us = i64::try_from(interval.as_micros().saturating_mul(2)).unwrap_or(i64::MAX);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                r = shutdown.changed() => {
                    if r.is_err() || *shutdown.borrow() {
                        return;
                    }
                    continue;
                }
            }
            let snapshot = tracks.borrow().clone();
            let now = wall_clock();
            let events = target_events(
                &snapshot,
                &index,
                self.settings.affiliation,
                now,
                now.add_micros(stale_us),
            );
            for e in events {
                match self.sender.send(&e.to_xml()).await {
                    Ok(()) => {
                        self.sender.metrics.target_events.fetch_add(1, Relaxed);
                    }
                    Err(err) => {
                        // The next round supersedes this one; do not hammer a dead link.
                        tracing::debug!("live target CoT not sent: {err}");
                        break;
                    }
                }
            }
        }
    }
}

/// One sink per `[[alert]] type = "cot"`, in config order: the dispatcher delivers
/// their incident events ([`super::start`]) and [`start_live_feeds`] their targets.
pub fn sinks(specs: &[AlertSpec]) -> Vec<Arc<CotSink>> {
    specs
        .iter()
        .filter_map(CotSettings::from_spec)
        .map(|s| Arc::new(CotSink::new(s)))
        .collect()
}

/// Starts the live target feed of every sink with an `interval_s`; `index` holds the
/// watched zones (for the approach buffers). No task for sinks without one.
pub fn start_live_feeds(
    sinks: &[Arc<CotSink>],
    tracks: &watch::Receiver<Arc<Vec<TrackView>>>,
    index: Option<Arc<AirspaceIndex>>,
    shutdown: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let Some(index) = index else {
        return Vec::new();
    };
    sinks
        .iter()
        .filter(|s| s.settings.interval.is_some())
        .map(|s| {
            tracing::info!(
                sink = %s.settings.name,
                dest = %s.settings.destination.describe(),
                interval_s = s.settings.interval.map_or(0, |d| d.as_secs()),
                "starting CoT live target feed"
            );
            tokio::spawn(
                s.clone()
                    .run_targets(tracks.clone(), index.clone(), shutdown.clone()),
            )
        })
        .collect()
}

/// The dispatcher's side: one attempt per stored incident event, in order; a failure
/// is retried by the dispatcher (TCP: after a reconnect), so TCP delivery is
/// at-least-once. Bounded in time by the connect (5 s) and write (10 s) timeouts.
impl Sink for CotSink {
    async fn deliver(&self, alert: &Alert) -> Result<(), DeliveryError> {
        self.deliver_event(&alert.event)
            .await
            .map_err(|e| DeliveryError::retryable(e.to_string()))
    }
}

/// The CoT events of one live-target round: every target with a position that is
/// inside a zone (the first zone the detector lists) or, failing that, in the approach
/// buffer of one (the first in zone order), inside ones first, at most
/// [`MAX_TARGETS_PER_ROUND`].
pub fn target_events(
    tracks: &[TrackView],
    index: &AirspaceIndex,
    affiliation: Affiliation,
    now: Timestamp,
    stale: Timestamp,
) -> Vec<CotEvent> {
    let mut inside = Vec::new();
    let mut approaching = Vec::new();
    for t in tracks {
        let (Some(lat), Some(lon)) = (t.lat, t.lon) else {
            continue;
        };
        if let Some(zone) = t.zones.first() {
            inside.extend(target_event(
                t,
                zone,
                ZoneRelation::Inside,
                affiliation,
                now,
                stale,
            ));
            continue;
        }
        let p = GeoPoint { lat, lon };
        let near = index.zones().iter().enumerate().find(|(i, z)| {
            z.buffer_m > 0.0
                && z.contains_altitude(t.alt_ft)
                && u32::try_from(*i).is_ok_and(|i| index.in_buffer(ZoneId(i), p))
        });
        if let Some((_, z)) = near {
            approaching.extend(target_event(
                t,
                &z.name,
                ZoneRelation::Approaching,
                affiliation,
                now,
                stale,
            ));
        }
    }
    inside.extend(approaching);
    inside.truncate(MAX_TARGETS_PER_ROUND);
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::detect::Classification;

    fn incident_closed() -> Event {
        let incident: skyfence_core::detect::Incident = serde_json::from_str(
            r#"{"id":"5e1f0c2d3b4a6978","zone":"HELD-A",
                "target":{"icao24":"adf7c1","callsign":"FORTE12","category":"B6"},
                "classification":"uav","authorised":false,"permit":null,"status":"closed",
                "entry_observed":true,"entered_at":"2023-11-14T22:21:03.120Z",
                "exited_at":"2023-11-14T22:26:36.480Z","last_seen_at":"2023-11-14T22:26:36.000Z",
                "entry":{"lat":33.2177,"lon":69.8813,"alt_ft":48000},
                "exit":{"lat":33.2511,"lon":69.8889,"alt_ft":48000},
                "duration_s":333.4,"max_depth_m":14856.0,"max_alt_ft":48000,"reports":666}"#,
        )
        .unwrap();
        Event::Closed {
            at: incident.exited_at.unwrap(),
            incident,
        }
    }

    fn settings(destination: CotDestination) -> CotSettings {
        CotSettings {
            name: "tak".into(),
            destination,
            interval: None,
            affiliation: Affiliation::Unknown,
            incident_affiliation: IncidentAffiliation::default(),
            incident_stale_s: 3600,
        }
    }

    /// The uid of the one event in `text`.
    fn uids(text: &str) -> Vec<String> {
        text.split("<event ")
            .skip(1)
            .filter_map(|e| {
                e.split("uid=\"")
                    .nth(1)?
                    .split('"')
                    .next()
                    .map(str::to_owned)
            })
            .collect()
    }

    #[tokio::test]
    async fn udp_datagrams_reach_a_loopback_listener() {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        let sink = CotSink::new(settings(CotDestination::Udp(addr)));
        sink.deliver_event(&incident_closed()).await.unwrap();
        let mut buf = vec![0u8; 65536];
        let n = rx.recv(&mut buf).await.unwrap();
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(text.starts_with("<event version=\"2.0\""), "{text}");
        assert!(text.ends_with("</event>"), "{text}");
        assert_eq!(uids(text), ["skyfence-incident-5e1f0c2d3b4a6978"]);
        assert!(text.contains("type=\"a-s-A-M-F-Q\""), "{text}");
        let m = sink.metrics();
        assert_eq!(m.incident_events.load(Relaxed), 1);
        assert_eq!(m.bytes.load(Relaxed), n as u64);
        assert_eq!(m.connects.load(Relaxed), 0);
        // An approach carries no incident: nothing is sent, and it counts as delivered.
        let i = match incident_closed() {
            Event::Closed { incident, .. } => incident,
            _ => unreachable!(),
        };
        let approach = Event::Approach {
            at: i.entered_at,
            zone: i.zone.clone(),
            target: i.target,
            position: i.entry,
        };
        sink.deliver_event(&approach).await.unwrap();
        assert_eq!(m.incident_events.load(Relaxed), 1);
    }

    #[tokio::test]
    async fn tcp_stream_reconnects_after_the_server_drops_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let sink = CotSink::new(settings(CotDestination::Tcp(addr)));
        let event = incident_closed();
        sink.deliver_event(&event).await.unwrap();
        let (mut first, _) = listener.accept().await.unwrap();
        let xml = sink.incident_xml(&event, wall_clock()).unwrap();
        let mut got = vec![0u8; xml.len()];
        first.read_exact(&mut got).await.unwrap();
        assert_eq!(
            uids(std::str::from_utf8(&got).unwrap()),
            ["skyfence-incident-5e1f0c2d3b4a6978"]
        );
        assert_eq!(sink.metrics().connected.load(Relaxed), 1);
        // The server goes away: the sender notices (its drain task ends) and, at the
        // latest after one failed write, dials again; the event then arrives on the
        // new connection.
        drop(first);
        let second = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).await.unwrap();
            text
        });
        let mut delivered_again = false;
        for _ in 0..50 {
            if sink.deliver_event(&event).await.is_ok()
                && sink.metrics().connects.load(Relaxed) == 2
            {
                delivered_again = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(delivered_again, "no reconnect");
        let m = sink.metrics();
        drop(sink);
        let text = second.await.unwrap();
        assert!(
            uids(&text)
                .iter()
                .all(|u| u == "skyfence-incident-5e1f0c2d3b4a6978")
        );
        assert!(!uids(&text).is_empty());
        assert_eq!(m.connects.load(Relaxed), 2);
    }

    #[tokio::test]
    async fn a_send_cancelled_mid_write_replaces_the_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let sender = CotSender::new("tak", &CotDestination::Tcp(addr));
        // A server that accepts but never reads: a 64 MiB "event" cannot fit in the
        // socket buffers, so the write blocks until the caller gives up on it (as the
        // dispatcher's per-attempt timeout does).
        let accepted = tokio::spawn(async move {
            let (first, _) = listener.accept().await.unwrap();
            let (second, _) = listener.accept().await.unwrap();
            (first, second)
        });
        let huge = "x".repeat(64 << 20);
        let cancelled = tokio::time::timeout(Duration::from_millis(200), sender.send(&huge)).await;
        assert!(cancelled.is_err(), "the write should still be blocked");
        assert_eq!(sender.metrics.connects.load(Relaxed), 1);
        // The next event goes on a new connection, not after the partial one.
        sender.send("<event/>").await.unwrap();
        assert_eq!(sender.metrics.connects.load(Relaxed), 2);
        let (_first, mut second) = accepted.await.unwrap();
        drop(sender);
        let mut text = String::new();
        second.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "<event/>");
    }

    #[tokio::test]
    async fn a_dead_tak_server_backs_off() {
        // A port nothing listens on: bind, note the port, close.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().to_string()
        };
        let sink = CotSink::new(settings(CotDestination::Tcp(addr.clone())));
        let e = sink.deliver_event(&incident_closed()).await.unwrap_err();
        assert!(matches!(e, CotError::Connect { .. }), "{e}");
        assert!(e.to_string().contains(&addr), "{e}");
        // Within the backoff no new attempt is made.
        let e = sink.deliver_event(&incident_closed()).await.unwrap_err();
        assert!(e.to_string().contains("waiting"), "{e}");
        let m = sink.metrics();
        assert_eq!(m.connect_failures.load(Relaxed), 1);
        assert_eq!(m.incident_events.load(Relaxed), 0);
        let mut text = String::new();
        render_metrics(&mut text, &[m]);
        assert!(
            text.contains(&format!(
                "skyfence_cot_connect_failures_total{{sink=\"tak\",destination=\"tcp://{addr}\"}} 1"
            )),
            "{text}"
        );
        assert!(
            text.contains("# TYPE skyfence_cot_connected gauge"),
            "{text}"
        );
    }

    #[test]
    fn config_keys_and_their_defaults() {
        use crate::config::Config;
        let c = Config::parse("[[alert]]\ntype = \"cot\"\nudp = \"239.2.3.1:6969\"\n").unwrap();
        let specs = super::super::specs_from_config(&c.alerts, &[]).unwrap();
        let s = CotSettings::from_spec(&specs[0]).unwrap();
        assert_eq!(s.name, "cot-1");
        assert_eq!(s.destination, CotDestination::Udp("239.2.3.1:6969".into()));
        assert_eq!(s.destination.describe(), "udp://239.2.3.1:6969");
        assert_eq!(s.interval, Some(Duration::from_secs(5)));
        assert_eq!(s.affiliation, Affiliation::Unknown);
        assert_eq!(s.incident_affiliation, IncidentAffiliation::default());
        assert_eq!(s.incident_affiliation.unauthorised, Affiliation::Suspect);
        assert_eq!(s.incident_stale_s, 3600);

        let c = Config::parse(
            "[[alert]]\ntype = \"cot\"\nname = \"tak\"\ntcp = \"127.0.0.1:8087\"\ninterval_s = 0\n\
             affiliation = \"pending\"\nincident_affiliation = \"hostile\"\nincident_stale_s = 60\n",
        )
        .unwrap();
        let specs = super::super::specs_from_config(&c.alerts, &[]).unwrap();
        let s = CotSettings::from_spec(&specs[0]).unwrap();
        assert_eq!(s.destination, CotDestination::Tcp("127.0.0.1:8087".into()));
        assert_eq!(s.interval, None);
        assert_eq!(s.affiliation, Affiliation::Pending);
        assert_eq!(s.incident_affiliation.unauthorised, Affiliation::Hostile);
        assert_eq!(s.incident_affiliation.authorised, Affiliation::Unknown);
        assert_eq!(s.incident_stale_s, 60);

        let e =
            Config::parse("[[alert]]\ntype = \"cot\"\nudp = \"127.0.0.1:1\"\ninterval_s = 4000\n")
                .unwrap_err();
        assert!(
            e.starts_with("line 4:") && e.contains("interval_s = 4000"),
            "{e}"
        );
        let e = Config::parse(
            "[[alert]]\ntype = \"cot\"\nudp = \"127.0.0.1:1\"\nincident_stale_s = 0\n",
        )
        .unwrap_err();
        assert!(e.contains("incident_stale_s = 0"), "{e}");
        let e = Config::parse(
            "[[alert]]\ntype = \"cot\"\nudp = \"127.0.0.1:1\"\naffiliation = \"enemy\"\n",
        )
        .unwrap_err();
        assert!(e.contains("enemy"), "{e}");
    }

    fn square(name: &str, buffer_m: f64) -> skyfence_core::airspace::Zone {
        use geo_types::{LineString, MultiPolygon, Polygon};
        let ring = LineString::from(vec![
            (69.0, 33.0),
            (70.0, 33.0),
            (70.0, 34.0),
            (69.0, 34.0),
            (69.0, 33.0),
        ]);
        let mut z = skyfence_sim::borders::zone(
            name.into(),
            MultiPolygon(vec![Polygon::new(ring, vec![])]),
            "test",
            None,
        );
        z.buffer_m = buffer_m;
        z
    }

    fn view(icao24: &str, lat: f64, lon: f64, zones: &[&str]) -> TrackView {
        TrackView {
            target: crate::api::TargetKeys(skyfence_core::TargetId::Icao(icao24.parse().unwrap())),
            callsign: None,
            lat: Some(lat),
            lon: Some(lon),
            alt_ft: Some(10_000),
            gs_kt: None,
            track_deg: None,
            last_seen_at: Timestamp::from_secs(1_700_000_000),
            classification: Classification::Unknown,
            zones: zones.iter().map(|z| z.to_string()).collect(),
            nacp: None,
            verification: None,
        }
    }

    #[test]
    fn live_round_takes_targets_inside_then_approaching() {
        // HELD-A: 33–34°N 69–70°E with a 10 km buffer. 33.95°N 70.05°E is ~4.6 km east
        // of the boundary (0.05° of longitude at 34°N); 33.5°N 71°E is ~93 km out.
        let index = AirspaceIndex::new(vec![square("HELD-A", 10_000.0)]);
        let now = Timestamp::from_secs(1_700_000_001);
        let tracks = vec![
            view("000001", 33.95, 70.05, &[]),
            view("000002", 33.5, 69.5, &["HELD-A"]),
            view("000003", 33.5, 71.0, &[]),
            TrackView {
                lat: None,
                ..view("000004", 0.0, 0.0, &["HELD-A"])
            },
        ];
        let events = target_events(&tracks, &index, Affiliation::Unknown, now, now);
        let got: Vec<(&str, &str, &str)> = events
            .iter()
            .map(|e| (e.uid.as_str(), e.skyfence.zone.as_str(), e.skyfence.state))
            .collect();
        assert_eq!(
            got,
            [
                ("skyfence-000002", "HELD-A", "inside"),
                ("skyfence-000001", "HELD-A", "approaching"),
            ]
        );
        // Without a buffer nothing approaches.
        let index = AirspaceIndex::new(vec![square("HELD-A", 0.0)]);
        assert_eq!(
            target_events(&tracks, &index, Affiliation::Unknown, now, now).len(),
            1
        );
    }

    #[tokio::test]
    async fn live_targets_go_out_every_interval() {
        let rx = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = rx.local_addr().unwrap().to_string();
        let mut s = settings(CotDestination::Udp(addr));
        s.interval = Some(Duration::from_millis(50));
        let sink = Arc::new(CotSink::new(s));
        let (_tracks_tx, tracks) =
            watch::channel(Arc::new(vec![view("000002", 33.5, 69.5, &["HELD-A"])]));
        let (stop_tx, stop) = watch::channel(false);
        let index = Arc::new(AirspaceIndex::new(vec![square("HELD-A", 0.0)]));
        let task = tokio::spawn(sink.clone().run_targets(tracks, index, stop));
        let mut buf = vec![0u8; 65536];
        for _ in 0..2 {
            let n = rx.recv(&mut buf).await.unwrap();
            let text = std::str::from_utf8(&buf[..n]).unwrap();
            assert_eq!(uids(text), ["skyfence-000002"]);
            assert!(text.contains("state=\"inside\""), "{text}");
        }
        stop_tx.send(true).unwrap();
        task.await.unwrap();
        assert!(sink.metrics().target_events.load(Relaxed) >= 2);
    }
}
