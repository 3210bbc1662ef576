//! `skyfence load` ("Performance"): drives a live `skyfence run` over real
//! loopback TCP and measures the service's performance figures — frame arrival →
//! `confirmed` SSE event latency, sustained ingest with every frame accounted for, and
//! the service's memory with many live tracks.
//!
//! 1. **Traffic.** The simulator's `scale` scenario (`--targets` aircraft heard by seven
//!    receivers, about 15 frames per target-second, with duplicates, loss and CRC
//!    corruption) is simulated and Beast-encoded into memory before anything is timed.
//! 2. **Service.** Unless `--api`/`--feed` name a running one, a `skyfence run` child is
//!    started with a generated config: a grid of small box zones over the scenario's
//!    region (so incursions begin and end steadily rather than all at once), its store
//!    in a temporary directory, and one Beast source dialling this tool.
//! 3. **Feed.** One thread writes the frames to the socket paced at `--rate` frames per
//!    second (or flat out with `--rate 0`; TCP backpressure then sets the pace), logging
//!    the wall-clock time of every write.
//! 4. **Measure.** An SSE client on `/api/events` stamps each `confirmed` event as it
//!    arrives. The event's `at` is the service's receive time of the confirming frame,
//!    so that frame is the target's last frame this tool wrote at or before `at` (+1 ms:
//!    `at` is printed in milliseconds); latency = SSE arrival − that write. `/metrics`
//!    (frames received, decoded, duplicate, dropped by reason; the service's own
//!    arrival → publish histogram) and `/proc/PID/status` (VmRSS, VmHWM) are read every
//!    second.
//!
//! Only loopback addresses are used. Every loop is bounded in time; a wall clock shared
//! by both processes (one machine) makes the two sides' times comparable.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::{Value, json};
use skyfence_core::Timestamp;
use skyfence_decode::beast::encode_beast;

use skyfence_core::time::wall_clock;
use skyfence_service::exit::input_error;
use skyfence_sim as sim;

/// Arguments of `skyfence load`.
#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Simulated targets (the `scale` scenario: about 15 frames per target-second).
    #[arg(long, default_value_t = 10_000)]
    pub targets: usize,
    /// Frames per second written to the service; 0: as fast as it takes them.
    #[arg(long, default_value_t = 100_000.0)]
    pub rate: f64,
    /// Seconds of traffic.
    #[arg(long, default_value_t = 40.0)]
    pub duration: f64,
    /// Seconds at the start left out of the latency and ingest figures (the first
    /// incursions of targets already inside a zone are all confirmed at once).
    #[arg(long, default_value_t = 15.0)]
    pub warmup: f64,
    /// Distance between the box zones' corners, degrees: each box is 0.2° square, so
    /// 0.6 puts about 11 % of the region inside a zone and 2.0 about 1 %.
    #[arg(long, value_name = "DEG", default_value_t = 0.6)]
    pub box_spacing: f64,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `[store] durability` of the service started.
    #[arg(long, value_enum, default_value_t = DurabilityArg::Full)]
    pub durability: DurabilityArg,
    /// Measure a running service instead: its HTTP API (loopback only). It should
    /// have no other traffic, as its counters are read whole.
    #[arg(long, value_name = "ADDR", requires = "feed")]
    pub api: Option<SocketAddr>,
    /// The running service's Beast `listen` source to push frames to (loopback only).
    #[arg(long, value_name = "ADDR", requires = "api")]
    pub feed: Option<SocketAddr>,
    /// The running service's process id, for its memory.
    #[arg(long, requires = "api")]
    pub pid: Option<u32>,
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// `--durability`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DurabilityArg {
    /// fsync at every commit.
    Full,
    /// fsync at checkpoints only.
    Normal,
}

/// Frames before the traffic repeats (about 31 bytes each in this tool's memory: 1.2 GB);
/// longer runs loop it, and targets jump back at the seam.
const MAX_FRAMES: usize = 40_000_000;
/// Frames kept when feeding flat out (looped).
const FLAT_OUT_FRAMES: usize = 3_000_000;
/// At most this many bytes per socket write (one logged send time each).
const WRITE_MAX: usize = 64 * 1024;
/// How long the service may take to start, connect, or drain its queue.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// The region of the `scale` scenario (sim::builtin::scale), degrees.
const REGION_LAT: (f64, f64) = (29.0, 37.0);
const REGION_LON: (f64, f64) = (62.0, 74.0);
/// Box zones: side, degrees (`--box-spacing` sets the grid).
const BOX_DEG: f64 = 0.2;

/// The simulated traffic, Beast-encoded.
struct Traffic {
    bytes: Vec<u8>,
    /// End offset in `bytes` of each frame.
    ends: Vec<u32>,
    /// ICAO address of each frame (0 when unknown).
    icao: Vec<u32>,
    /// Scenario seconds the frames cover.
    span_s: f64,
}

impl Traffic {
    fn generate(targets: usize, frames: usize, seed: u64) -> anyhow::Result<Traffic> {
        // 7 to 8 frames per target-second (all receivers together); simulate more than
        // needed and stop once there are enough.
        let sim_s = (frames as f64 / (targets as f64 * 4.0)).ceil() + 5.0;
        let mut scenario = sim::builtin::scale(targets, sim_s, seed)?;
        // No truth is needed (and it would keep every trajectory).
        scenario.truth = false;
        let start = scenario.start;
        let mut simulator = sim::Simulator::new(&scenario, seed);
        let mut t = Traffic {
            bytes: Vec::with_capacity(frames * 24),
            ends: Vec::with_capacity(frames),
            icao: Vec::with_capacity(frames),
            span_s: 0.0,
        };
        let mut batch = Vec::new();
        let (mut first, mut last) = (None, start);
        loop {
            let more = simulator.step(&mut batch)?;
            for r in batch.drain(..) {
                encode_beast(&r.frame(start), &mut t.bytes);
                t.ends
                    .push(u32::try_from(t.bytes.len()).context("traffic over 4 GB")?);
                let icao = match r.bytes[0] >> 3 {
                    11 | 17 | 18 => u32::from_be_bytes([0, r.bytes[1], r.bytes[2], r.bytes[3]]),
                    _ => r.message.map_or(0, |m| m.icao24.as_u32()),
                };
                t.icao.push(icao);
                first.get_or_insert(r.at);
                last = r.at;
            }
            if !more || t.ends.len() >= frames {
                break;
            }
        }
        anyhow::ensure!(!t.ends.is_empty(), "the simulation produced no frames");
        t.span_s = first.map_or(0.0, |f| last.secs_since(f)).max(1e-3);
        Ok(t)
    }

    fn len(&self) -> u64 {
        self.ends.len() as u64
    }

    /// Byte range of frames `[from, to)` (local indices).
    fn range(&self, from: usize, to: usize) -> std::ops::Range<usize> {
        let start = if from == 0 {
            0
        } else {
            self.ends[from - 1] as usize
        };
        start..self.ends[to - 1] as usize
    }
}

/// The box-zone grid as GeoJSON (docs/INTERFACES.md, "Zones").
fn zones_geojson(spacing_deg: f64) -> String {
    let mut features = Vec::new();
    let mut lat = REGION_LAT.0 + spacing_deg / 2.0;
    let mut row = 0;
    while lat + BOX_DEG < REGION_LAT.1 {
        let mut lon = REGION_LON.0 + spacing_deg / 2.0;
        let mut col = 0;
        while lon + BOX_DEG < REGION_LON.1 {
            let (a, b, c, d) = (lon, lat, lon + BOX_DEG, lat + BOX_DEG);
            features.push(json!({
                "type": "Feature",
                "properties": {"name": format!("LOAD-{row:02}-{col:02}")},
                "geometry": {"type": "Polygon",
                    "coordinates": [[[a, b], [c, b], [c, d], [a, d], [a, b]]]},
            }));
            lon += spacing_deg;
            col += 1;
        }
        lat += spacing_deg;
        row += 1;
    }
    json!({"type": "FeatureCollection", "features": features}).to_string()
}

/// A `skyfence run` child with its temporary directory.
struct ServiceChild {
    child: Child,
    dir: PathBuf,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl ServiceChild {
    fn log_tail(&self) -> String {
        self.log
            .lock()
            .map(|l| l.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// SIGTERM (the graceful shutdown), then SIGKILL if it takes longer than a minute.
    fn stop(mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STEP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts `skyfence run` on a generated config whose Beast source dials `feed`; returns
/// it with its API address.
fn start_service(
    feed: SocketAddr,
    time_factor: f64,
    durability: DurabilityArg,
    box_spacing: f64,
) -> anyhow::Result<(ServiceChild, SocketAddr)> {
    let dir = std::env::temp_dir().join(format!(
        "skyfence-load-{}-{}",
        std::process::id(),
        wall_clock().as_micros()
    ));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join("zones.geojson"), zones_geojson(box_spacing))?;
    // Faster than real time, durations shrink and speeds grow (as in the e2e tests).
    let k = time_factor.max(1.0);
    let config = format!(
        "# Written by `skyfence load`.\n[detection]\nconfirm_s = {}\ntrack_timeout_s = {}\nmax_speed_mps = {}\n\n\
         [[zones]]\nfile = \"zones.geojson\"\n\n[server]\nlisten = \"127.0.0.1:0\"\n\n\
         [store]\npath = \"load.db\"\ndurability = \"{}\"\n\n\
         [[source]]\nname = \"load\"\ntype = \"beast\"\nconnect = \"{feed}\"\n",
        5.0 / k,
        60.0 / k,
        1000.0 * k,
        match durability {
            DurabilityArg::Full => "full",
            DurabilityArg::Normal => "normal",
        }
    );
    let config_path = dir.join("config.toml");
    std::fs::write(&config_path, config)?;
    let mut child = Command::new(std::env::current_exe().context("cannot find this program")?)
        .arg("run")
        .arg("--config")
        .arg(&config_path)
        .env("SKYFENCE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start `skyfence run`")?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let log = Arc::new(Mutex::new(VecDeque::new()));
    let (tx, rx) = mpsc::channel();
    let tail = log.clone();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("skyfence run: http://") {
                let _ = tx.send(rest.trim_end_matches('/').to_string());
            }
            if let Ok(mut t) = tail.lock() {
                if t.len() >= 40 {
                    t.pop_front();
                }
                t.push_back(line);
            }
        }
    });
    let service = ServiceChild { child, dir, log };
    match rx.recv_timeout(STEP_TIMEOUT) {
        Ok(addr) => match addr.parse() {
            Ok(addr) => Ok((service, addr)),
            Err(e) => {
                service.stop();
                anyhow::bail!("the service printed a bad address {addr:?}: {e}")
            }
        },
        Err(_) => {
            let tail = service.log_tail();
            service.stop();
            anyhow::bail!("the service did not start:\n{tail}")
        }
    }
}

/// Accepts one connection on `listener` within [`STEP_TIMEOUT`].
fn accept(listener: &TcpListener) -> anyhow::Result<TcpStream> {
    listener.set_nonblocking(true)?;
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false)?;
                return Ok(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                anyhow::ensure!(
                    Instant::now() < deadline,
                    "the service did not connect to its feed"
                );
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Microseconds of wall-clock time.
fn wall_us() -> i64 {
    wall_clock().as_micros()
}

/// What the feeder did.
#[derive(Debug, Default)]
struct FeedLog {
    /// `(first global frame index, wall µs just before the write)` of every write.
    writes: Vec<(u64, i64)>,
    frames: u64,
    bytes: u64,
    seconds: f64,
    error: Option<String>,
}

/// Writes `traffic` (looping) to `stream` for `duration`, paced at `rate` frames/s or
/// flat out (`rate` 0).
fn feed(
    mut stream: TcpStream,
    traffic: &Traffic,
    rate: f64,
    duration: Duration,
    started: Instant,
) -> FeedLog {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let n = traffic.len();
    let per_write = (WRITE_MAX / 24) as u64;
    let mut log = FeedLog::default();
    let mut sent: u64 = 0;
    loop {
        let elapsed = started.elapsed();
        if elapsed >= duration {
            break;
        }
        let due = if rate > 0.0 {
            (elapsed.as_secs_f64() * rate) as u64
        } else {
            sent + per_write
        };
        while sent < due {
            // One write: up to WRITE_MAX bytes, not across the end of the loop.
            let local = (sent % n) as usize;
            let count = (due - sent).min(per_write).min(n - sent % n) as usize;
            let bytes = &traffic.bytes[traffic.range(local, local + count)];
            log.writes.push((sent, wall_us()));
            if let Err(e) = stream.write_all(bytes) {
                log.error = Some(format!("writing to the service: {e}"));
                log.seconds = started.elapsed().as_secs_f64();
                return log;
            }
            sent += count as u64;
            log.frames = sent;
            log.bytes += bytes.len() as u64;
            if started.elapsed() >= duration {
                break;
            }
        }
        if rate > 0.0 {
            thread::sleep(Duration::from_micros(250));
        }
    }
    log.seconds = started.elapsed().as_secs_f64();
    let _ = stream.flush();
    log
}

/// A `confirmed` event as the SSE client saw it.
#[derive(Clone, Copy, Debug)]
struct Confirmed {
    arrived_us: i64,
    at_us: i64,
    icao: u32,
}

/// The SSE client's tally.
#[derive(Debug, Default)]
struct SseLog {
    confirmed: Vec<Confirmed>,
    by_kind: BTreeMap<String, u64>,
}

/// Reads `/api/events` until `stop` (or `deadline`), stamping `confirmed` events.
/// Signals `ready` once the response has begun (the subscription exists).
fn read_events(
    mut stream: TcpStream,
    stop: Arc<AtomicBool>,
    deadline: Instant,
    ready: mpsc::Sender<()>,
) -> SseLog {
    let mut log = SseLog::default();
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    if write!(
        stream,
        "GET /api/events HTTP/1.0\r\nHost: {}\r\nAccept: text/event-stream\r\n\r\n",
        stream
            .peer_addr()
            .map_or_else(|_| "127.0.0.1".to_string(), |a| a.to_string())
    )
    .is_err()
    {
        return log;
    }
    let mut reader = BufReader::with_capacity(256 * 1024, stream);
    let mut line = Vec::new();
    let mut kind = String::new();
    let mut ready = Some(ready);
    while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) if line.ends_with(b"\n") => {}
            // A timeout keeps the partial line in `line`: read on.
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(_) => break,
        }
        let arrived_us = wall_us();
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end();
        if let Some(tx) = ready.take_if(|_| text.starts_with("HTTP/")) {
            let _ = tx.send(());
        }
        if let Some(k) = text.strip_prefix("event: ") {
            kind = k.to_string();
        } else if let Some(data) = text.strip_prefix("data: ") {
            *log.by_kind.entry(kind.clone()).or_default() += 1;
            if kind == "confirmed"
                && let Ok(v) = serde_json::from_str::<Value>(data)
                && let Some(at) = v["at"]
                    .as_str()
                    .and_then(|s| Timestamp::parse_rfc3339(s).ok())
                && let Some(icao) = v["incident"]["target"]["icao24"]
                    .as_str()
                    .and_then(|s| u32::from_str_radix(s, 16).ok())
            {
                log.confirmed.push(Confirmed {
                    arrived_us,
                    at_us: at.as_micros(),
                    icao,
                });
            }
        }
        line.clear();
    }
    log
}

/// The wall-clock write time of the frame that confirmed `ev`: the target's last frame
/// written at or before `ev.at` + 1 ms. `None` when no write matches.
fn confirming_write(ev: &Confirmed, traffic: &Traffic, feed: &FeedLog) -> Option<i64> {
    let writes = &feed.writes;
    let c = writes.partition_point(|w| w.1 <= ev.at_us + 1000);
    if c == 0 {
        return None;
    }
    let end = writes.get(c).map_or(feed.frames, |w| w.0);
    let n = traffic.len();
    // Targets send several frames a second: a few seconds of traffic back is plenty.
    let floor = end.saturating_sub(2_000_000);
    let mut g = end;
    while g > floor {
        g -= 1;
        if traffic.icao[(g % n) as usize] == ev.icao {
            let k = writes.partition_point(|w| w.0 <= g).checked_sub(1)?;
            return Some(writes[k].1);
        }
    }
    None
}

/// One `/metrics` scrape: series (`name{labels}`) → value.
type Scrape = BTreeMap<String, f64>;

fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("no HTTP response header")?;
    anyhow::ensure!(
        head.starts_with("HTTP/1.") && head.contains(" 200 "),
        "GET {path}: {head}"
    );
    Ok(body.to_string())
}

fn scrape(api: SocketAddr) -> anyhow::Result<Scrape> {
    let body = http_get(api, "/metrics")?;
    Ok(body
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect())
}

/// The sum of every series of metric `name`.
fn total(m: &Scrape, name: &str) -> f64 {
    m.iter()
        .filter(|(k, _)| {
            k.strip_prefix(name)
                .is_some_and(|r| r.is_empty() || r.starts_with('{'))
        })
        .map(|(_, v)| v)
        .sum()
}

/// `skyfence_frames_dropped_total` by reason (all sources).
fn drops(m: &Scrape) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (k, v) in m {
        if let Some(labels) = k.strip_prefix("skyfence_frames_dropped_total{")
            && let Some(reason) = labels
                .split("reason=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
        {
            *out.entry(reason.to_string()).or_default() += v;
        }
    }
    out
}

/// A quantile of a Prometheus histogram: the upper bound of the bucket it falls in.
fn histogram_quantile(m: &Scrape, name: &str, q: f64) -> Option<f64> {
    let count = *m.get(&format!("{name}_count"))?;
    if count == 0.0 {
        return None;
    }
    let mut buckets: Vec<(f64, f64)> = m
        .iter()
        .filter_map(|(k, v)| {
            let le = k.strip_prefix(&format!("{name}_bucket{{le=\""))?;
            let le = le.strip_suffix("\"}")?;
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().ok()?
            };
            Some((le, *v))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    buckets
        .iter()
        .find(|(_, c)| *c >= q * count)
        .map(|(le, _)| *le)
}

/// `VmRSS` and `VmHWM` of `pid`, bytes.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find_map(|l| {
            let kb = l.strip_prefix(name)?.trim().strip_suffix("kB")?.trim();
            kb.parse::<u64>().ok().map(|k| k * 1024)
        })
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One per-second sample.
#[derive(Clone, Debug, Default)]
struct Sample {
    t: f64,
    received: f64,
    processed: f64,
    rss: u64,
    tracks: f64,
}

/// Drop reasons of whole frames delivered by the framing layer (the others count bytes
/// between frames, frames cut short, or positions of accepted messages).
const FRAME_DROP_REASONS: [&str; 4] = [
    "bad_crc",
    "unknown_address",
    "unsupported_format",
    "future_time",
];

/// Frames the detector task has finished with: decoded, duplicate or dropped whole.
fn processed(m: &Scrape) -> f64 {
    total(m, "skyfence_messages_total")
        + total(m, "skyfence_frames_duplicate_total")
        + drops(m)
            .iter()
            .filter(|(r, _)| FRAME_DROP_REASONS.contains(&r.as_str()))
            .map(|(_, v)| v)
            .sum::<f64>()
}

fn sample(api: SocketAddr, pid: Option<u32>, t: f64) -> anyhow::Result<(Sample, Scrape)> {
    let m = scrape(api)?;
    let s = Sample {
        t,
        received: total(&m, "skyfence_frames_total"),
        processed: processed(&m),
        rss: pid.and_then(memory).map_or(0, |m| m.0),
        tracks: total(&m, "skyfence_tracks"),
    };
    Ok((s, m))
}

fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    Some(sorted[i])
}

/// Runs `skyfence load`.
pub fn run(args: LoadArgs) -> anyhow::Result<()> {
    if !(args.rate.is_finite() && args.rate >= 0.0 && args.rate <= 50e6) {
        return Err(input_error(format!(
            "--rate {} is out of range (expected 0 <= FRAMES_PER_S <= 50000000; 0: flat out)",
            args.rate
        )));
    }
    if !(args.duration.is_finite() && args.duration > 0.0 && args.duration <= 3600.0) {
        return Err(input_error(format!(
            "--duration {} is out of range (expected 0 < S <= 3600)",
            args.duration
        )));
    }
    if !(args.warmup.is_finite() && args.warmup >= 0.0 && args.warmup < args.duration) {
        return Err(input_error(format!(
            "--warmup {} is out of range (expected 0 <= S < --duration {})",
            args.warmup, args.duration
        )));
    }
    if !(args.box_spacing.is_finite() && (0.3..=12.0).contains(&args.box_spacing)) {
        return Err(input_error(format!(
            "--box-spacing {} is out of range (expected 0.3 to 12 degrees)",
            args.box_spacing
        )));
    }
    if !(1..=200_000).contains(&args.targets) {
        return Err(input_error(format!(
            "--targets {} is out of range (expected 1 to 200000)",
            args.targets
        )));
    }
    for (flag, addr) in [("--api", args.api), ("--feed", args.feed)] {
        if let Some(a) = addr
            && !a.ip().is_loopback()
        {
            return Err(input_error(format!(
                "{flag} {a}: only loopback addresses are measured (127.0.0.1 or ::1)"
            )));
        }
    }

    let wanted = if args.rate > 0.0 {
        ((args.rate * args.duration * 1.02) as usize).clamp(1000, MAX_FRAMES)
    } else {
        FLAT_OUT_FRAMES
    };
    let t0 = Instant::now();
    let traffic = Traffic::generate(args.targets, wanted, args.seed)?;
    let natural = traffic.len() as f64 / traffic.span_s;
    eprintln!(
        "skyfence load: {} frames of {} targets ({:.1} s of traffic, {:.0} frames/s in scenario time) simulated in {:.1} s",
        traffic.len(),
        args.targets,
        traffic.span_s,
        natural,
        t0.elapsed().as_secs_f64()
    );
    // Scenario seconds per wall second at the requested rate (flat out: assume 1 M/s).
    let time_factor = if args.rate > 0.0 { args.rate } else { 1e6 } / natural;

    let (service, api, feed_stream, pid) = match (args.api, args.feed) {
        (Some(api), Some(feed)) => {
            let s = TcpStream::connect_timeout(&feed, Duration::from_secs(5))
                .with_context(|| format!("cannot connect to --feed {feed}"))?;
            (None, api, s, args.pid)
        }
        _ => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let feed = listener.local_addr()?;
            let (child, api) = start_service(feed, time_factor, args.durability, args.box_spacing)?;
            let pid = child.child.id();
            match accept(&listener) {
                Ok(s) => (Some(child), api, s, Some(pid)),
                Err(e) => {
                    let tail = child.log_tail();
                    child.stop();
                    return Err(e.context(tail));
                }
            }
        }
    };
    // The store's WAL, when this run started the service (its store is ours to look at).
    let wal = service.as_ref().map(|s| s.dir.join("load.db-wal"));
    let result = measure(&args, &traffic, api, feed_stream, pid, time_factor, wal);
    if let Some(s) = service {
        if result.is_err() {
            eprintln!("service log:\n{}", s.log_tail());
        }
        s.stop();
    }
    let report = result?;
    if args.json {
        println!("{report}");
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// Feeds, samples and reports (as JSON).
fn measure(
    args: &LoadArgs,
    traffic: &Traffic,
    api: SocketAddr,
    feed_stream: TcpStream,
    pid: Option<u32>,
    time_factor: f64,
    wal: Option<PathBuf>,
) -> anyhow::Result<Value> {
    // The WAL file's largest size, sampled every 20 ms while feeding and after draining.
    let wal_now = || {
        wal.as_ref()
            .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
    };
    let mut wal_max = wal_now();
    let load_before = load_average();
    let before = scrape(api).context("cannot read /metrics")?;
    let duration = Duration::from_secs_f64(args.duration);
    let deadline = Instant::now() + duration + STEP_TIMEOUT * 2;

    let stop = Arc::new(AtomicBool::new(false));
    let sse_stream = TcpStream::connect_timeout(&api, Duration::from_secs(5))?;
    let sse_closer = sse_stream.try_clone()?;
    let (ready_tx, ready_rx) = mpsc::channel();
    let sse = {
        let stop = stop.clone();
        thread::spawn(move || read_events(sse_stream, stop, deadline, ready_tx))
    };
    ready_rx
        .recv_timeout(STEP_TIMEOUT)
        .context("no response from /api/events")?;

    let started = Instant::now();
    let started_us = wall_us();
    let feeder = thread::scope(|scope| -> anyhow::Result<(FeedLog, Vec<Sample>)> {
        let feeder = scope.spawn(|| feed(feed_stream, traffic, args.rate, duration, started));
        let mut samples = Vec::new();
        while !feeder.is_finished() && Instant::now() < deadline {
            let next = Instant::now() + Duration::from_secs(1);
            if let Ok((s, _)) = sample(api, pid, started.elapsed().as_secs_f64()) {
                samples.push(s);
            }
            while !feeder.is_finished() && Instant::now() < next {
                thread::sleep(Duration::from_millis(20));
                wal_max = wal_max.max(wal_now());
            }
        }
        let log = feeder
            .join()
            .map_err(|_| anyhow::anyhow!("the feeder panicked"))?;
        Ok((log, samples))
    });
    let (feed_log, mut samples) = feeder?;
    let fed_s = started.elapsed().as_secs_f64();

    // Drain: wait until the service has received and processed every frame written.
    let sent = feed_log.frames as f64;
    let received_before = total(&before, "skyfence_frames_total");
    let processed_before = processed(&before);
    let drain_until = Instant::now() + STEP_TIMEOUT;
    while Instant::now() < drain_until {
        let last = scrape(api)?;
        let received = total(&last, "skyfence_frames_total") - received_before;
        let done = processed(&last) - processed_before;
        if received >= sent && done >= received {
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let drained_s = started.elapsed().as_secs_f64();
    wal_max = wal_max.max(wal_now());
    // Events of the last frames: a store commit or two.
    thread::sleep(Duration::from_secs(2));
    let last = scrape(api)?;
    let mem = pid.and_then(memory);
    samples.push(Sample {
        t: started.elapsed().as_secs_f64(),
        received: total(&last, "skyfence_frames_total"),
        processed: processed(&last),
        rss: mem.map_or(0, |m| m.0),
        tracks: total(&last, "skyfence_tracks"),
    });
    stop.store(true, Ordering::Relaxed);
    let _ = sse_closer.shutdown(Shutdown::Both);
    let sse = sse
        .join()
        .map_err(|_| anyhow::anyhow!("the SSE reader panicked"))?;
    let load_after = load_average();

    // Latency of confirmations caused by frames written after the warm-up.
    let warm_us = started_us + (args.warmup * 1e6) as i64;
    let mut latencies = Vec::new();
    let (mut unmatched, mut in_warmup) = (0, 0);
    for ev in &sse.confirmed {
        match confirming_write(ev, traffic, &feed_log) {
            Some(w) if w < warm_us => in_warmup += 1,
            Some(w) => latencies.push(ev.arrived_us - w),
            None => unmatched += 1,
        }
    }
    latencies.sort_unstable();
    let ms = |us: Option<i64>| us.map(|u| u as f64 / 1000.0);

    // Ingest: frames processed per second between the end of the warm-up and the end of
    // the feed.
    let window: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.t >= args.warmup && s.t <= fed_s + 0.5)
        .collect();
    let ingest = match (window.first(), window.last()) {
        (Some(a), Some(b)) if b.t > a.t => Some((
            (b.received - a.received) / (b.t - a.t),
            (b.processed - a.processed) / (b.t - a.t),
        )),
        _ => None,
    };
    let received = total(&last, "skyfence_frames_total") - received_before;
    let messages =
        total(&last, "skyfence_messages_total") - total(&before, "skyfence_messages_total");
    let duplicates = total(&last, "skyfence_frames_duplicate_total")
        - total(&before, "skyfence_frames_duplicate_total");
    let drops_before = drops(&before);
    let dropped: BTreeMap<String, f64> = drops(&last)
        .into_iter()
        .map(|(r, v)| {
            let d = v - drops_before.get(&r).copied().unwrap_or(0.0);
            (r, d)
        })
        .filter(|(_, v)| *v > 0.0)
        .collect();
    let unaccounted = received - (processed(&last) - processed_before);
    let q = |p| histogram_quantile(&last, "skyfence_confirmed_latency_seconds", p).map(|s| s * 1e3);
    Ok(json!({
        "targets": args.targets,
        "rate_requested": args.rate,
        "durability": match args.durability { DurabilityArg::Full => "full", DurabilityArg::Normal => "normal" },
        "duration_s": args.duration,
        "box_spacing_deg": args.box_spacing,
        "warmup_s": args.warmup,
        "time_factor": time_factor,
        "load_average": {"before": load_before, "after": load_after},
        "feed": {
            "frames": feed_log.frames,
            "bytes": feed_log.bytes,
            "seconds": feed_log.seconds,
            "rate": feed_log.frames as f64 / feed_log.seconds.max(1e-9),
            "error": feed_log.error,
        },
        "service": {
            "received": received,
            "messages": messages,
            "duplicates": duplicates,
            "dropped": dropped,
            "unaccounted": unaccounted,
            "lost_in_transit": sent - received,
            "drained_after_s": drained_s - fed_s,
            "ingest_received_per_s": ingest.map(|i| i.0),
            "ingest_processed_per_s": ingest.map(|i| i.1),
            "tracks_max": samples.iter().map(|s| s.tracks).fold(0.0, f64::max),
            "rss_max_bytes": samples.iter().map(|s| s.rss).max(),
            "hwm_bytes": mem.map(|m| m.1),
            "wal_max_bytes": wal_max,
            "events_total": {
                "confirmed": total(&last, "skyfence_events_total{kind=\"confirmed\"}"),
                "closed": total(&last, "skyfence_events_total{kind=\"closed\"}"),
            },
            "confirmed_latency_ms_histogram": {"p50_le": q(0.5), "p99_le": q(0.99)},
            "store_commit_ms_histogram": {
                "p50_le": histogram_quantile(&last, "skyfence_store_commit_seconds", 0.5).map(|s| s * 1e3),
                "p99_le": histogram_quantile(&last, "skyfence_store_commit_seconds", 0.99).map(|s| s * 1e3),
                "count": total(&last, "skyfence_store_commit_seconds_count"),
            },
        },
        "sse": {
            "events": sse.by_kind,
            "confirmed_measured": latencies.len(),
            "confirmed_in_warmup": in_warmup,
            "confirmed_unmatched": unmatched,
        },
        "latency_ms": {
            "p50": ms(percentile(&latencies, 0.5)),
            "p90": ms(percentile(&latencies, 0.9)),
            "p99": ms(percentile(&latencies, 0.99)),
            "max": ms(latencies.last().copied()),
        },
    }))
}

/// The human summary of a report.
fn table(r: &Value) -> String {
    let f = |v: &Value| match v {
        Value::Null => "-".to_string(),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if x.fract() == 0.0 && x.abs() < 1e15 {
                format!("{x:.0}")
            } else {
                format!("{x:.2}")
            }
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mb = |v: &Value| {
        v.as_f64()
            .map_or("-".into(), |b| format!("{:.1} MB", b / 1e6))
    };
    let s = &r["service"];
    let l = &r["latency_ms"];
    let mut out = String::new();
    let rows: Vec<(&str, String)> = vec![
        ("targets", f(&r["targets"])),
        (
            "rate requested (frames/s)",
            if r["rate_requested"].as_f64() == Some(0.0) {
                "flat out".into()
            } else {
                f(&r["rate_requested"])
            },
        ),
        ("store durability", f(&r["durability"])),
        (
            "load average before / after",
            format!(
                "{} / {}",
                f(&r["load_average"]["before"]),
                f(&r["load_average"]["after"])
            ),
        ),
        ("frames written", f(&r["feed"]["frames"])),
        ("write rate (frames/s)", f(&r["feed"]["rate"])),
        ("frames received by the service", f(&s["received"])),
        ("  decoded", f(&s["messages"])),
        ("  duplicates", f(&s["duplicates"])),
        ("  dropped (frames, positions), by reason", f(&s["dropped"])),
        ("  unaccounted (must be 0)", f(&s["unaccounted"])),
        ("  lost in transit (must be 0)", f(&s["lost_in_transit"])),
        (
            "ingest after warm-up (frames/s)",
            f(&s["ingest_processed_per_s"]),
        ),
        ("queue drained after feed (s)", f(&s["drained_after_s"])),
        ("live tracks (max)", f(&s["tracks_max"])),
        (
            "service RSS max / VmHWM",
            format!("{} / {}", mb(&s["rss_max_bytes"]), mb(&s["hwm_bytes"])),
        ),
        ("store WAL max", mb(&s["wal_max_bytes"])),
        (
            "confirmed events measured",
            f(&r["sse"]["confirmed_measured"]),
        ),
        (
            "  in warm-up / unmatched",
            format!(
                "{} / {}",
                f(&r["sse"]["confirmed_in_warmup"]),
                f(&r["sse"]["confirmed_unmatched"])
            ),
        ),
        (
            "frame write -> confirmed SSE (ms) p50 / p90 / p99 / max",
            format!(
                "{} / {} / {} / {}",
                f(&l["p50"]),
                f(&l["p90"]),
                f(&l["p99"]),
                f(&l["max"])
            ),
        ),
        (
            "service histogram arrival -> publish (ms) p50 / p99 <=",
            format!(
                "{} / {}",
                f(&s["confirmed_latency_ms_histogram"]["p50_le"]),
                f(&s["confirmed_latency_ms_histogram"]["p99_le"])
            ),
        ),
        (
            "store commits, count and p50 / p99 <= (ms)",
            format!(
                "{}: {} / {}",
                f(&s["store_commit_ms_histogram"]["count"]),
                f(&s["store_commit_ms_histogram"]["p50_le"]),
                f(&s["store_commit_ms_histogram"]["p99_le"])
            ),
        ),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        let _ = writeln!(out, "{k:<width$}  {v}");
    }
    if let Some(e) = r["feed"]["error"].as_str() {
        let _ = writeln!(out, "feed error: {e}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantile_is_the_bucket_bound() {
        let text = "x_bucket{le=\"0.001\"} 50\nx_bucket{le=\"0.005\"} 98\nx_bucket{le=\"0.01\"} 100\nx_bucket{le=\"+Inf\"} 100\nx_count 100\n";
        let m: Scrape = text
            .lines()
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_string(), v.parse().ok()?))
            })
            .collect();
        assert_eq!(histogram_quantile(&m, "x", 0.5), Some(0.001));
        assert_eq!(histogram_quantile(&m, "x", 0.99), Some(0.01));
    }

    #[test]
    fn the_confirming_write_is_the_targets_last_before_the_event() {
        // Three frames of 1 byte each: a, b, a; written 100 ms apart (one target's
        // frames are tens of milliseconds apart or more).
        let traffic = Traffic {
            bytes: vec![0; 3],
            ends: vec![1, 2, 3],
            icao: vec![0xa, 0xb, 0xa],
            span_s: 1.0,
        };
        let feed = FeedLog {
            writes: vec![(0, 1_000_000), (1, 1_100_000), (2, 1_200_000)],
            frames: 3,
            ..FeedLog::default()
        };
        let ev = |at_us, icao| Confirmed {
            arrived_us: 9_000_000,
            at_us,
            icao,
        };
        let write = |at_us, icao| confirming_write(&ev(at_us, icao), &traffic, &feed);
        // Stamped 1.0004 s, printed as 1.000 s: frame 0 confirmed.
        assert_eq!(write(1_000_000, 0xa), Some(1_000_000));
        assert_eq!(write(1_150_000, 0xa), Some(1_000_000));
        assert_eq!(write(1_200_000, 0xa), Some(1_200_000));
        assert_eq!(write(1_150_000, 0xb), Some(1_100_000));
        assert_eq!(write(998_000, 0xa), None);
    }

    #[test]
    fn zone_grid_covers_the_region_with_named_boxes() {
        let v: Value = serde_json::from_str(&zones_geojson(0.6)).unwrap();
        let features = v["features"].as_array().unwrap();
        // 13 rows (29.3 .. 36.5) by 20 columns (62.3 .. 73.7).
        assert_eq!(features.len(), 13 * 20);
        assert_eq!(features[0]["properties"]["name"], "LOAD-00-00");
    }
}
