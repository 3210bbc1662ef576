//! Connection limits of the HTTP API and of `listen` sources, so a flood of connections
//! (or connections that send nothing) cannot take the service's descriptors or its API:
//!
//! - the API serves at most `[server] max_connections` connections at once; one more is
//!   accepted and closed at once (shed, counted in
//!   `skyfence_http_connections_shed_total`), and a client that does not send a whole
//!   request head within `[server] header_read_timeout_s` (also while a kept-alive
//!   connection waits for its next request) is disconnected, as is one that leaves a
//!   response unread for `[server] send_timeout_s` (a slow reader; counted in
//!   `skyfence_http_send_timeouts_total`);
//! - a `listen` source serves at most its `max_connections` receivers, closes one silent
//!   for `idle_timeout_s`, and refuses peers outside its `allow_from` networks (each
//!   refusal counted in `skyfence_source_connections_refused_total`).

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::metrics::Metrics;
use super::source::stopped;

/// The default of `[server] max_connections`.
pub const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 256;
/// The default of `[server] header_read_timeout_s`.
pub const DEFAULT_HEADER_READ_TIMEOUT_S: u64 = 10;
/// The default of `[server] send_timeout_s`.
pub const DEFAULT_SEND_TIMEOUT_S: u64 = 30;
/// The default of a `listen` source's `max_connections`.
pub const DEFAULT_LISTEN_MAX_CONNECTIONS: usize = 16;
/// The default of a `listen` source's `idle_timeout_s`.
pub const DEFAULT_LISTEN_IDLE_TIMEOUT_S: f64 = 300.0;
/// How long shutdown waits for open API connections to finish their response.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The HTTP API's limits (`[server]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time to receive a whole request head.
    pub header_read_timeout: Duration,
    /// Time a write to the client may wait for it to read.
    pub send_timeout: Duration,
    /// Time a handler has to produce a response's head (`[server] request_timeout_s`);
    /// a streamed body (the live event stream) is not limited by it.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: DEFAULT_HTTP_MAX_CONNECTIONS,
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_S),
            send_timeout: Duration::from_secs(DEFAULT_SEND_TIMEOUT_S),
            request_timeout: Duration::from_secs(DEFAULT_REQUEST_TIMEOUT_S),
        }
    }
}

/// The default of `[server] request_timeout_s`.
pub const DEFAULT_REQUEST_TIMEOUT_S: u64 = 30;

/// Bounds the time each request's handler takes to answer (its response head): past
/// `limit`, the client gets `503` with a JSON error and the handler is dropped, so a
/// request stuck on a slow store cannot hold its connection and a worker forever.
fn limit_handler_time(app: Router, limit: Duration, metrics: Arc<Metrics>) -> Router {
    app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let metrics = metrics.clone();
            async move {
                let path = req.uri().path().to_owned();
                match tokio::time::timeout(limit, next.run(req)).await {
                    Ok(response) => response,
                    Err(_) => {
                        metrics.http_request_timeouts.fetch_add(1, Relaxed);
                        tracing::warn!(%path, "request took longer than request_timeout_s ({} s): answered 503", limit.as_secs());
                        let body = serde_json::json!({
                            "error": format!(
                                "the request took longer than the server's request_timeout_s ({} s)",
                                limit.as_secs()
                            )
                        });
                        axum::response::IntoResponse::into_response((
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(body),
                        ))
                    }
                }
            }
        },
    ))
}

/// A `listen` source's limits (`[[source]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ListenLimits {
    /// Receivers connected at once.
    pub max_connections: usize,
    /// A receiver silent this long is disconnected.
    pub idle_timeout: Duration,
    /// Networks receivers may connect from; empty: any.
    pub allow_from: Vec<Cidr>,
}

impl Default for ListenLimits {
    fn default() -> Self {
        ListenLimits {
            max_connections: DEFAULT_LISTEN_MAX_CONNECTIONS,
            idle_timeout: Duration::from_secs_f64(DEFAULT_LISTEN_IDLE_TIMEOUT_S),
            allow_from: Vec::new(),
        }
    }
}

impl ListenLimits {
    /// Whether a receiver at `peer` may connect.
    pub fn allows(&self, peer: IpAddr) -> bool {
        self.allow_from.is_empty() || self.allow_from.iter().any(|c| c.contains(peer))
    }
}

/// An IP network, `ADDR/PREFIX` (or a single address).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `10.0.0.0/8`, `fd00::/8` or a single address; the error says what was
    /// expected. Host bits must be zero (`10.1.0.0/8` is refused as probably a typo).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP network (expected e.g. \"10.0.0.0/8\")"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        let cidr = Cidr { net, prefix };
        if cidr.masked(net) != bits(net) {
            return Err(format!(
                "{text:?}: address bits are set beyond the /{prefix} prefix"
            ));
        }
        Ok(cidr)
    }

    fn masked(&self, ip: IpAddr) -> u128 {
        let width = if ip.is_ipv4() { 32 } else { 128 };
        let keep = u32::from(self.prefix);
        let mask = if keep == 0 {
            0
        } else {
            (u128::MAX << (128 - keep)) >> (128 - width)
        };
        bits(ip) & mask
    }

    /// Whether `ip` is in the network (an IPv4-mapped IPv6 peer counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        ip.is_ipv4() == self.net.is_ipv4() && self.masked(ip) == self.masked(self.net)
    }
}

fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.prefix)
    }
}

/// Serves `app` on `listener` until `shutdown` within `limits` (see the module
/// documentation), then lets open connections finish for a few seconds.
///
/// hyper's connection builder is used directly (not `axum::serve`) because only it takes
/// a header read timeout; connections are counted with a semaphore whose permit lives as
/// long as the connection.
pub async fn serve_http(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = limit_handler_time(app, limits.request_timeout, metrics.clone());
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stopped(&mut shutdown) => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!("http accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics.http_connections_shed.fetch_add(1, Relaxed);
            tracing::debug!(%peer, "http connection shed: {} connections open", limits.max_connections);
            drop(stream);
            continue;
        };
        // Without TCP_NODELAY an SSE event written in two segments waits for the
        // client's delayed ACK (up to 40 ms on Linux) before its second part leaves.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let (stream, stalled) = Watched::new(stream);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        let metrics = metrics.clone();
        let send_timeout = limits.send_timeout;
        tokio::spawn(async move {
            tokio::pin!(conn);
            let mut check = tokio::time::interval(send_timeout / 4);
            loop {
                tokio::select! {
                    ended = &mut conn => {
                        if let Err(e) = ended {
                            tracing::debug!(%peer, "http connection ended: {e}");
                        }
                        break;
                    }
                    _ = check.tick() => {
                        if stalled.longer_than(send_timeout) {
                            metrics.http_send_timeouts.fetch_add(1, Relaxed);
                            tracing::debug!(%peer, "http connection closed: the client read nothing for {send_timeout:?}");
                            break;
                        }
                    }
                }
            }
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            tracing::warn!("http connections still open at shutdown were dropped");
        }
    }
}

/// Since when a connection's writes have been waiting for the client to read.
struct Stall {
    /// Milliseconds since `base`, plus one, of the first write still waiting; 0: none.
    since_ms: AtomicU64,
    base: Instant,
}

impl Stall {
    fn longer_than(&self, limit: Duration) -> bool {
        match self.since_ms.load(Relaxed) {
            0 => false,
            since => self.base.elapsed().as_millis() as u64 + 1 - since > limit.as_millis() as u64,
        }
    }

    fn note<T>(&self, poll: &Poll<T>) {
        match poll {
            Poll::Pending => {
                if self.since_ms.load(Relaxed) == 0 {
                    let now = self.base.elapsed().as_millis() as u64 + 1;
                    self.since_ms.store(now, Relaxed);
                }
            }
            Poll::Ready(_) => self.since_ms.store(0, Relaxed),
        }
    }
}

/// A connection's stream that notes in its [`Stall`] whether a write is waiting on the
/// client: the send timeout's watch. Reads pass through untouched.
struct Watched<S> {
    inner: S,
    stall: Arc<Stall>,
}

impl<S> Watched<S> {
    fn new(inner: S) -> (Self, Arc<Stall>) {
        let stall = Arc::new(Stall {
            since_ms: AtomicU64::new(0),
            base: Instant::now(),
        });
        (
            Watched {
                inner,
                stall: stall.clone(),
            },
            stall,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.stall.note(&poll);
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.stall.note(&poll);
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    // Not a sign of progress: a TCP stream's flush is ready at once, whatever waits.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_contain() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.200.1.2".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        assert!(c.contains("::ffff:10.0.0.9".parse().unwrap()));
        assert!(!c.contains("fd00::1".parse().unwrap()));
        let one = Cidr::parse("127.0.0.1").unwrap();
        assert!(one.contains("127.0.0.1".parse().unwrap()));
        assert!(!one.contains("127.0.0.2".parse().unwrap()));
        let v6 = Cidr::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert_eq!(v6.to_string(), "fd00::/8");
        for bad in ["10.0.0.0/33", "10.1.0.0/8", "ten/8", "10.0.0.0/x", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    /// One HTTP/1.1 request on a fresh connection; the whole answer as text.
    async fn get(addr: std::net::SocketAddr, path: &str) -> String {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
        c.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut out = Vec::new();
        c.read_to_end(&mut out).await.unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A handler slower than `request_timeout` is answered 503 (and counted) while the
    /// server stays responsive; a streamed body longer than the limit is not cut.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_handler_is_answered_503_and_a_long_stream_is_not_cut() {
        use axum::routing::get as route;
        let stream = || async {
            let chunks = futures_util::stream::unfold(0u8, |i| async move {
                if i == 3 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(600)).await;
                Some((Ok::<_, std::io::Error>(format!("chunk{i};")), i + 1))
            });
            axum::body::Body::from_stream(chunks)
        };
        let app = Router::new()
            .route(
                "/slow",
                route(|| async {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    "never"
                }),
            )
            .route("/fast", route(|| async { "fast" }))
            .route("/stream", route(stream));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = Arc::new(Metrics::default());
        let (_stop, stopped) = watch::channel(false);
        let limits = HttpLimits {
            request_timeout: Duration::from_secs(1),
            ..HttpLimits::default()
        };
        tokio::spawn(serve_http(listener, app, limits, metrics.clone(), stopped));

        let slow = tokio::spawn(get(addr, "/slow"));
        // Meanwhile other requests are served.
        assert!(get(addr, "/fast").await.ends_with("fast"));
        let slow = slow.await.unwrap();
        assert!(slow.starts_with("HTTP/1.1 503"), "{slow}");
        assert!(slow.contains("request_timeout_s (1 s)"), "{slow}");
        assert_eq!(metrics.http_request_timeouts.load(Relaxed), 1);
        // 1.8 s of body after a prompt head: delivered whole.
        let streamed = get(addr, "/stream").await;
        assert!(streamed.starts_with("HTTP/1.1 200"), "{streamed}");
        assert!(
            streamed.contains("chunk0;") && streamed.contains("chunk2;"),
            "{streamed}"
        );
        assert_eq!(metrics.http_request_timeouts.load(Relaxed), 1);
        assert!(
            metrics
                .render()
                .contains("skyfence_http_request_timeouts_total 1")
        );
    }

    #[test]
    fn an_empty_allow_list_allows_anyone() {
        let open = ListenLimits::default();
        assert!(open.allows("192.0.2.1".parse().unwrap()));
        let closed = ListenLimits {
            allow_from: vec![Cidr::parse("192.0.2.0/24").unwrap()],
            ..ListenLimits::default()
        };
        assert!(closed.allows("192.0.2.77".parse().unwrap()));
        assert!(!closed.allows("127.0.0.1".parse().unwrap()));
    }
}
