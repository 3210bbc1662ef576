//! The HTTP API (docs/INTERFACES.md, "HTTP API"): REST over the store, the current tracks from
//! the detector task, Server-Sent Events of stored events, Prometheus `/metrics`, and the
//! page at `/`. With `[server] api_token`, every `/api` route needs
//! `Authorization: Bearer TOKEN`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use skyfence_core::detect::{IncidentId, IncidentStatus};
use skyfence_core::{TargetId, Timestamp};
use skyfence_store::{IncidentFilter, Store, StoreError};
use tokio::sync::{broadcast, watch};

use super::metrics::Metrics;
use super::pipeline::{Published, TrackView};
use super::web;

/// Largest request body accepted (every route is a GET; this bounds what a client can
/// make us read).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Events an SSE client catching up (`Last-Event-ID`, or after falling behind) reads from
/// the store per query.
const CATCH_UP: u32 = 1000;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// `[server] api_token`.
    pub token: Option<Arc<str>>,
    /// Read connections to the store.
    pub readers: Arc<ReaderPool>,
    /// The detector task's latest view of the tracks.
    pub tracks: watch::Receiver<Arc<Vec<TrackView>>>,
    /// Stored events, as they are published.
    pub events: broadcast::Sender<Arc<Published>>,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// Turns true at shutdown (ends SSE streams so the server can stop).
    pub shutdown: watch::Receiver<bool>,
    /// The live map's zones and settings (`/api/zones`, `/api/map-config`).
    pub map: web::MapData,
    /// The evidence log (`/api/log/...`, for witnesses).
    pub evidence: super::evidence::LogApi,
    /// The write connection of `POST /api/incidents/{id}/ack`.
    pub ack: super::ack::AckState,
    /// On a detector node of a cluster: `GET /api/cluster` and the node's counters.
    pub cluster: Option<ClusterApi>,
}

/// A detector node's view of its cluster.
#[derive(Clone)]
pub struct ClusterApi {
    /// This node's name.
    pub node: String,
    /// JetStream, where the leases are.
    pub js: async_nats::jetstream::Context,
    /// `[cluster] partitions`.
    pub partitions: u32,
    /// The lease timing.
    pub timing: super::leases::LeaseTiming,
    /// The lease keeper's counters.
    pub leases: Arc<super::leases::LeaseMetrics>,
    /// The raw-stream reader's counters.
    pub reader: Arc<super::node::NodeMetrics>,
}

/// Store read connections, reused across requests (a connection is `Send` but not
/// `Sync`; each request borrows one on a blocking thread).
pub struct ReaderPool {
    origin: Mutex<Box<dyn Store>>,
    idle: Mutex<Vec<Box<dyn Store>>>,
}

impl ReaderPool {
    /// A pool opening readers of `origin`'s store.
    pub fn new(origin: Box<dyn Store>) -> Self {
        ReaderPool {
            origin: Mutex::new(origin),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` with a reader on a blocking thread.
    pub async fn with<R: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, ApiError> {
        let pool = self.clone();
        tokio::task::spawn_blocking(move || {
            let reader = pool.idle.lock().ok().and_then(|mut v| v.pop());
            let reader = match reader {
                Some(r) => r,
                None => pool
                    .origin
                    .lock()
                    .map_err(|_| ApiError::internal("store reader lock poisoned"))?
                    .reader()
                    .map_err(ApiError::store)?,
            };
            let result = f(&*reader).map_err(ApiError::store);
            if let Ok(mut idle) = pool.idle.lock()
                && idle.len() < 8
            {
                idle.push(reader);
            }
            result
        })
        .await
        .map_err(|e| ApiError::internal(format!("store task failed: {e}")))?
    }
}

/// An error response: `{"error": "..."}` with a status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    /// 404 with `message`.
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }

    fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    fn store(e: StoreError) -> Self {
        tracing::error!("store query failed: {e}");
        Self::internal(format!("store query failed: {e}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

/// The router of the whole service.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/incidents", get(incidents))
        .route("/incidents/{id}", get(incident))
        .route("/tracks", get(tracks))
        .route("/sensors", get(sensors))
        .route("/cluster", get(cluster))
        .route("/events", get(events))
        .merge(web::api_routes(state.map.clone()))
        .merge(super::evidence::routes(state.evidence.clone()))
        .merge(super::alerts::api::routes())
        .merge(super::ack::routes(state.ack.clone()))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    // The counters name sources, zones and sinks: behind the token like `/api`.
    let metrics_route = Router::new()
        .route("/metrics", get(metrics))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_token));
    Router::new()
        .nest("/api", api)
        .merge(metrics_route)
        .merge(web::pages())
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// Whether `host` (a `Host` header) names this machine by address: an IP literal or
/// `localhost`, with or without a port.
fn host_is_an_address(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        // `[v6]` or `[v6]:port`
        match rest.split_once(']') {
            Some((v6, port)) if port.is_empty() || port.starts_with(':') => {
                return v6.parse::<std::net::Ipv6Addr>().is_ok();
            }
            _ => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// Without an API token, the service answers only requests addressed to it by IP address
/// or `localhost`: a web page from elsewhere whose name an attacker re-points at this
/// machine (DNS rebinding) sends its own name as `Host` and is refused (403). With a
/// token every request must carry it, so any name is served.
async fn check_host(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.token.is_some() {
        return next.run(req).await;
    }
    let host = req
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("\u{fffd}"));
    match host {
        // HTTP/1.0 without Host: not a browser.
        None => next.run(req).await,
        Some(h) if host_is_an_address(h.trim()) => next.run(req).await,
        Some(h) => (
            StatusCode::FORBIDDEN,
            Json(serde_json::json!({ "error": format!(
                "Host {h:?} is not an address of this service: without [server] api_token only \
                 requests to an IP address or localhost are served (set api_token to serve it by name)"
            ) })),
        )
            .into_response(),
    }
}

/// Equal-time comparison, so the token cannot be guessed byte by byte from response
/// times (hand-written: four lines do not earn a dependency).
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(token) = &state.token else {
        return next.run(req).await;
    };
    // RFC 9110 section 11.1: the scheme name is case-insensitive.
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if given.is_some_and(|g| same_bytes(g.as_bytes(), token.as_bytes())) {
        return next.run(req).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({ "error": "missing or wrong bearer token (Authorization: Bearer TOKEN)" })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// `GET /api/health`: `ok`; `degraded` with reasons (the store cannot be read, or a
/// commit failed in the last minute); 503 `failing` when every commit fails, so nothing
/// can be stored.
async fn health(State(state): State<AppState>) -> Response {
    let read = state.readers.with(|s| s.last_seq()).await;
    health_report(
        &state.metrics,
        read.err().map(|e| e.message),
        skyfence_core::time::wall_clock(),
    )
    .into_response()
}

/// The status and body of `/api/health` (see [`health`]).
fn health_report(
    metrics: &Metrics,
    read_error: Option<String>,
    now: Timestamp,
) -> (StatusCode, Json<serde_json::Value>) {
    let (failing, mut reasons) = metrics.store_problems();
    if let Some(e) = read_error {
        reasons.push(format!("store: cannot be read: {e}"));
    }
    reasons.extend(metrics.source_problems(now));
    reasons.extend(metrics.sensor_problems(now));
    if failing {
        let body = serde_json::json!({ "status": "failing", "reasons": reasons });
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body));
    }
    if reasons.is_empty() {
        return (StatusCode::OK, Json(serde_json::json!({ "status": "ok" })));
    }
    let body = serde_json::json!({ "status": "degraded", "reasons": reasons });
    (StatusCode::OK, Json(body))
}

/// The query of `GET /api/incidents`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentsQuery {
    /// `open`, `closed` or `lost`.
    pub status: Option<String>,
    /// Exact zone name.
    pub zone: Option<String>,
    /// RFC 3339: incidents active at or after it.
    pub since: Option<String>,
    /// At most this many (default 1000).
    pub limit: Option<u32>,
}

impl IncidentsQuery {
    /// The store filter; the error names the bad parameter and what was expected.
    pub fn filter(&self) -> Result<IncidentFilter, String> {
        let status = match self.status.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some("open") => Some(IncidentStatus::Open),
            Some("closed") => Some(IncidentStatus::Closed),
            Some("lost") => Some(IncidentStatus::Lost),
            Some(other) => {
                return Err(format!(
                    "status={other:?} is not a status (expected open, closed or lost)"
                ));
            }
        };
        let since = match self.since.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => Some(Timestamp::parse_rfc3339(s).map_err(|e| {
                format!("since={s:?} is not an RFC 3339 time (e.g. 2023-11-14T22:00:00Z): {e}")
            })?),
        };
        Ok(IncidentFilter {
            status,
            zone: self.zone.clone().filter(|z| !z.is_empty()),
            target: None,
            since,
            limit: self.limit,
        })
    }
}

async fn incidents(
    State(state): State<AppState>,
    query: Result<Query<IncidentsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = query.filter().map_err(ApiError::bad_request)?;
    let list = state
        .readers
        .with(move |s| super::ack::annotate_list(s, s.incidents(&filter)?))
        .await?;
    Ok(Json(list).into_response())
}

async fn incident(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let parsed: IncidentId = id.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "incident id {id:?} is not an incident id (expected 16 hex digits)"
        ))
    })?;
    let found = state.readers.with(move |s| match s.incident(parsed)? {
        Some(d) => super::ack::annotate_detail(s, d).map(Some),
        None => Ok(None),
    });
    match found.await? {
        Some(detail) => Ok(Json(detail).into_response()),
        None => Err(ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("no incident {id}"),
        }),
    }
}

/// A target as `GET /api/tracks` names it: the keys `kind`, `id` and (only when the address
/// is known) `icao24`, as an incident's `target` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TargetKeys(pub TargetId);

impl Serialize for TargetKeys {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let icao = self.0.icao();
        let mut m = s.serialize_map(Some(2 + usize::from(icao.is_some())))?;
        m.serialize_entry("kind", self.0.kind().as_str())?;
        m.serialize_entry("id", &format_args!("{}", self.0))?;
        if let Some(a) = icao {
            m.serialize_entry("icao24", &format_args!("{a}"))?;
        }
        m.end()
    }
}

async fn tracks(State(state): State<AppState>) -> Response {
    let snapshot: Arc<Vec<TrackView>> = state.tracks.borrow().clone();
    match serde_json::to_vec(&*snapshot) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => ApiError::internal(format!("cannot encode tracks: {e}")).into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    state
        .metrics
        .sensors
        .render(skyfence_core::time::wall_clock(), &mut text);
    state.metrics.mlat.render(&mut text);
    if let Some(c) = &state.cluster {
        text.push_str(&c.leases.render());
        text.push_str(&c.reader.render());
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}

/// `GET /api/cluster`: this node, the live nodes with the partitions each owns and its
/// consumer lag, and the partitions nobody owns now; 404 on a single machine.
async fn cluster(State(state): State<AppState>) -> Response {
    let Some(c) = &state.cluster else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({
                "error": "not a cluster node: this service runs without [cluster]"
            })),
        )
            .into_response();
    };
    match super::leases::cluster_view(&c.js, c.partitions, c.timing).await {
        Ok(view) => {
            let mut v = serde_json::to_value(&view).unwrap_or_default();
            v["node"] = serde_json::Value::from(c.node.clone());
            Json(v).into_response()
        }
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                serde_json::json!({ "error": format!("cannot read the cluster's leases: {e:#}") }),
            ),
        )
            .into_response(),
    }
}

/// `GET /api/sensors`: every declared sensor with its state as of now.
async fn sensors(State(state): State<AppState>) -> Response {
    let mut views = state
        .metrics
        .sensors
        .views(skyfence_core::time::wall_clock());
    state.metrics.mlat.annotate(&mut views);
    Json(views).into_response()
}

/// An SSE stream's state: live events after `last`, with a backlog read from the store
/// (at connection with `Last-Event-ID`, and when the client fell behind the live feed).
struct Feed {
    state: AppState,
    live: broadcast::Receiver<Arc<Published>>,
    backlog: VecDeque<Arc<Published>>,
    /// The last page read from the store was full: more stored events follow it.
    more: bool,
    last: u64,
    /// Acknowledgements as they are stored (`ack` events, `seq` 0: not in the event log,
    /// so they carry no SSE id and are not replayed).
    acks: broadcast::Receiver<Arc<str>>,
    /// Sensors coming up and going down (`sensor_up`, `sensor_down`; like acks, `seq`
    /// 0: not in the event log).
    sensors: broadcast::Receiver<Arc<crate::sensor_state::SensorChange>>,
}

/// The SSE event that says `skipped` stored events after id `after` cannot be sent (the
/// retention purge removed them): the stream resumes at `after + skipped + 1`.
fn gap_event(after: u64, skipped: u64) -> Arc<Published> {
    Arc::new(Published {
        seq: 0,
        kind: "gap",
        json: serde_json::json!({
            "after": after,
            "skipped": skipped,
            "resumes_at": after + skipped + 1,
        })
        .to_string(),
    })
}

impl Feed {
    /// Reads the next page of stored events after `last` into the backlog; notes whether
    /// more follow, so [`Feed::next`] pages through the whole backlog before going live.
    async fn catch_up(&mut self) {
        let after = self.last;
        match self
            .state
            .readers
            .with(move |s| s.events_since(after, CATCH_UP))
            .await
        {
            Ok(events) => {
                self.more = events.len() == CATCH_UP as usize;
                self.backlog.extend(
                    events
                        .iter()
                        .map(|e| Arc::new(Published::new(e.seq, &e.event))),
                );
            }
            Err(e) => {
                self.more = false;
                tracing::warn!("sse catch-up failed: {}", e.message);
            }
        }
    }

    async fn next(&mut self) -> Option<Arc<Published>> {
        loop {
            if let Some(p) = self.backlog.front().cloned() {
                if p.seq <= self.last {
                    self.backlog.pop_front();
                    continue;
                }
                // Stored events are numbered without gaps; one here was purged.
                if p.seq > self.last + 1 {
                    let after = self.last;
                    self.last = p.seq - 1;
                    return Some(gap_event(after, p.seq - 1 - after));
                }
                self.backlog.pop_front();
                self.last = p.seq;
                return Some(p);
            }
            if self.more {
                self.catch_up().await;
                continue;
            }
            let mut shutdown = self.state.shutdown.clone();
            let received = tokio::select! {
                r = self.live.recv() => r,
                a = self.acks.recv() => match a {
                    Ok(json) => {
                        return Some(Arc::new(Published {
                            seq: 0,
                            kind: "ack",
                            json: json.to_string(),
                        }));
                    }
                    // A client that fell behind skips them (it re-reads incidents).
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    // The sender lives in `self.state`: never closed while we run.
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                c = self.sensors.recv() => match c {
                    Ok(change) => {
                        return Some(Arc::new(Published {
                            seq: 0,
                            kind: change.event,
                            json: serde_json::to_string(&*change).unwrap_or_default(),
                        }));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                () = super::source::stopped(&mut shutdown) => return None,
            };
            match received {
                // Events between the last sent and this one are in the store: read them
                // (this one with them) rather than jump.
                Ok(p) if p.seq > self.last + 1 => {
                    self.catch_up().await;
                    if self.backlog.is_empty() {
                        // The store could not be read: send it after a gap event.
                        self.backlog.push_back(p);
                    }
                }
                Ok(p) if p.seq > self.last => {
                    self.last = p.seq;
                    return Some(p);
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = state.events.subscribe();
    let acks = state.ack.subscribe();
    let sensors = state.metrics.sensors.subscribe();
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut feed = Feed {
        state,
        live,
        backlog: VecDeque::new(),
        more: false,
        last: 0,
        acks,
        sensors,
    };
    let newest = feed
        .state
        .readers
        .with(|s| s.last_seq())
        .await
        .unwrap_or_default();
    let mut reset = None;
    match last_event_id {
        Some(id) if id <= newest => {
            feed.last = id;
            feed.catch_up().await;
        }
        // An id this store never gave (another store, or one restored from a backup):
        // say so, and go on from the newest as a new client would.
        Some(id) => {
            feed.last = newest;
            reset = Some(Arc::new(Published {
                seq: 0,
                kind: "reset",
                json: serde_json::json!({"last_event_id": id, "newest": newest}).to_string(),
            }));
        }
        // A new client starts with what happens from now on.
        None => feed.last = newest,
    }
    let mut first = reset;
    let stream = futures_util::stream::unfold(feed, move |mut feed| {
        let first = first.take();
        async move {
            let p = match first {
                Some(p) => p,
                None => feed.next().await?,
            };
            let mut event = SseEvent::default().event(p.kind).data(p.json.as_str());
            if p.seq > 0 {
                event = event.id(p.seq.to_string());
            }
            Some((Ok(event), feed))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incident_query_validates_each_parameter() {
        let q = IncidentsQuery {
            status: Some("closed".into()),
            zone: Some("PK".into()),
            since: Some("2023-11-14T22:00:00Z".into()),
            limit: None,
        };
        let f = q.filter().unwrap();
        assert_eq!(f.status, Some(IncidentStatus::Closed));
        assert_eq!(f.zone.as_deref(), Some("PK"));
        assert_eq!(f.since, Some(Timestamp::from_secs(1_699_999_200)));
        let e = IncidentsQuery {
            status: Some("gone".into()),
            ..Default::default()
        }
        .filter()
        .unwrap_err();
        assert!(
            e.contains("\"gone\"") && e.contains("open, closed or lost"),
            "{e}"
        );
        let e = IncidentsQuery {
            since: Some("yesterday".into()),
            ..Default::default()
        }
        .filter()
        .unwrap_err();
        assert!(e.contains("\"yesterday\""), "{e}");
    }

    /// Regression: health said ok while nothing could be stored.
    #[test]
    fn health_names_silent_sources() {
        let metrics = Metrics::new(["radar".to_owned(), "site-1".to_owned()]);
        let start = metrics
            .started_us
            .load(std::sync::atomic::Ordering::Relaxed);
        let at = |s: i64| Timestamp::from_micros(start + s * 1_000_000);
        assert!(metrics.source_problems(at(59)).is_empty());
        metrics.sources[1]
            .last_data_us
            .store(at(50).as_micros(), std::sync::atomic::Ordering::Relaxed);
        metrics.sources[1]
            .connected
            .store(1, std::sync::atomic::Ordering::Relaxed);
        metrics.sources[0]
            .connect_failures
            .store(3, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(
            metrics.source_problems(at(100)),
            ["source radar: no data for 100 s since start, no connection up (3 attempts failed)"]
        );
        assert_eq!(
            metrics.source_problems(at(111)),
            [
                "source radar: no data for 111 s since start, no connection up (3 attempts failed)",
                "source site-1: no data for 61 s, 1 connection up"
            ]
        );
        // Degraded, still 200: the service works, a source does not.
        let (status, Json(body)) = health_report(&metrics, None, at(111));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "degraded", "{body}");
        assert_eq!(body["reasons"].as_array().unwrap().len(), 2, "{body}");
    }

    #[test]
    fn health_names_sensors_that_are_down() {
        let config = crate::config::Config::parse(
            "[[sensor]]\nname = \"kabul-psr\"\ntype = \"radar\"\nsac = 1\nsic = 2\nlat = 34.5\nlon = 69.2\nalt_m = 1800\n\n\
             [[sensor]]\nname = \"kabul-1\"\ntype = \"modes\"\nlat = 34.5\nlon = 69.1\nalt_m = 1800\n",
        )
        .unwrap();
        let metrics = Metrics {
            sensors: crate::sensor_state::SensorBoard::new(&config.sensors),
            ..Metrics::new([])
        };
        let start = metrics
            .started_us
            .load(std::sync::atomic::Ordering::Relaxed);
        let at = |s: i64| Timestamp::from_micros(start + s * 1_000_000);
        // Within the first minute a radar may not have sent its first service message.
        assert!(metrics.sensor_problems(at(30)).is_empty());
        assert_eq!(
            metrics.sensor_problems(at(90)),
            ["sensor kabul-psr (radar): down, never heard"]
        );
        let (status, Json(body)) = health_report(&metrics, None, at(90));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "degraded", "{body}");
    }

    #[test]
    fn health_follows_the_store_writer() {
        let metrics = Metrics::default();
        let (status, Json(body)) = health_report(&metrics, None, Timestamp::EPOCH);
        assert_eq!(
            (status, body),
            (StatusCode::OK, serde_json::json!({"status": "ok"}))
        );

        metrics.store_failed("database or disk is full");
        let (status, Json(body)) = health_report(&metrics, None, Timestamp::EPOCH);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["status"], "failing");
        let reason = body["reasons"][0].as_str().unwrap();
        assert!(
            reason.contains("every commit failing") && reason.contains("disk is full"),
            "{reason}"
        );

        metrics.store_committed();
        let (status, Json(body)) = health_report(&metrics, None, Timestamp::EPOCH);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "degraded");
        assert!(
            body["reasons"][0]
                .as_str()
                .unwrap()
                .contains("since recovered"),
            "{body}"
        );

        let (status, Json(body)) = health_report(
            &Metrics::default(),
            Some("disk I/O error".into()),
            Timestamp::EPOCH,
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["status"], "degraded");
        assert_eq!(body["reasons"][0], "store: cannot be read: disk I/O error");
    }

    /// Regression: with no token, any `Host` was served (DNS rebinding).
    #[test]
    fn hosts_by_address_only() {
        for ok in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:80",
            "[::1]:8080",
            "[::1]",
            "192.0.2.10:443",
        ] {
            assert!(host_is_an_address(ok), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:8080",
            "127.0.0.1.nip.io",
            "[::1",
            "[zz]:1",
            "",
        ] {
            assert!(!host_is_an_address(bad), "{bad}");
        }
    }

    #[test]
    fn token_comparison() {
        assert!(same_bytes(b"secret", b"secret"));
        assert!(!same_bytes(b"secret", b"secreT"));
        assert!(!same_bytes(b"secret", b"secre"));
    }

    fn view(target: TargetId) -> TrackView {
        TrackView {
            target: TargetKeys(target),
            callsign: None,
            lat: Some(33.5),
            lon: Some(69.5),
            alt_ft: Some(400),
            gs_kt: None,
            track_deg: None,
            last_seen_at: Timestamp::from_secs(1_700_000_000),
            classification: skyfence_core::detect::Classification::Uav,
            zones: vec!["HELD-A".into()],
            nacp: None,
            verification: None,
        }
    }

    #[test]
    fn tracks_name_kind_and_id_and_icao24_only_when_known() {
        use skyfence_core::TargetKind;
        let json = |kind, id: &str| {
            serde_json::to_value(view(TargetId::parse(kind, id).unwrap())).unwrap()
        };
        let v = json(TargetKind::Icao, "adf7c1");
        assert_eq!(
            (&v["kind"], &v["id"], &v["icao24"]),
            (&"icao".into(), &"adf7c1".into(), &"adf7c1".into())
        );
        // The keys the list had before are all still there.
        for key in [
            "callsign",
            "lat",
            "lon",
            "alt_ft",
            "gs_kt",
            "track_deg",
            "last_seen_at",
            "classification",
            "zones",
            "nacp",
        ] {
            assert!(v.get(key).is_some(), "{key} missing from {v}");
        }
        let v = json(TargetKind::RemoteId, "1581F5FJD239C00DW22E");
        assert_eq!(
            (&v["kind"], &v["id"]),
            (&"remoteid".into(), &"1581F5FJD239C00DW22E".into())
        );
        assert!(v.get("icao24").is_none(), "{v}");
        let v = json(TargetKind::Track, "kabul-psr/417");
        assert_eq!(
            (&v["kind"], &v["id"]),
            (&"track".into(), &"kabul-psr/417".into())
        );
        assert!(v.get("icao24").is_none(), "{v}");
    }

    #[test]
    fn an_approach_event_names_its_target_by_kind_and_id() {
        use skyfence_core::detect::{Event, Fix, TargetInfo};
        let target = TargetId::parse(skyfence_core::TargetKind::RemoteId, "DRONE1").unwrap();
        let event = Event::Approach {
            at: Timestamp::from_secs(1_700_000_000),
            zone: "HELD-A".into(),
            target: TargetInfo {
                id: target,
                callsign: None,
                category: None,
            },
            position: Fix {
                lat: 33.5,
                lon: 69.5,
                alt_ft: Some(400),
            },
        };
        let p = Published::new(7, &event);
        assert_eq!(p.kind, "approach");
        let v: serde_json::Value = serde_json::from_str(&p.json).unwrap();
        assert_eq!(v["target"]["kind"], "remoteid");
        assert_eq!(v["target"]["id"], "DRONE1");
        assert!(v["target"].get("icao24").is_none(), "{v}");
    }
}
