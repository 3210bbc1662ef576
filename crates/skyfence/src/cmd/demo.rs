//! `skyfence demo [--listen ADDR] [--speed X]` (docs/INTERFACES.md, "Command line"):
//! the live service watching the `af-pk-border-radar` scenario, streamed in real time
//! (or faster) over real loopback connections: the Mode S receivers' Beast over TCP, the
//! radar sites' ASTERIX and the Remote ID receiver's lines over UDP.
//!
//! The scenario is simulated into a temporary directory; a Beast server task in this
//! process plays its frames on a loop, paced by the wall clock, and the service's
//! ordinary Beast client source dials it; a second task sends the ASTERIX data blocks
//! and Remote ID lines, on the same clock, as datagrams to the service's ordinary UDP
//! sources. Receive times are the machine clock, as in the field. The demo prints the
//! incursions the scenario holds, then each incident as the service confirms it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use skyfence_core::{SourceId, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::beast::{BeastClock, BeastDecoder, encode_beast};
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use skyfence_service::config::Config;
use skyfence_service::exit::input_error;
use skyfence_service::netlimits::ListenLimits;
use skyfence_service::source::{SourceKind, SourceSpec, stopped};
use skyfence_service::{self as service, Service, Settings};
use skyfence_sim as sim;

/// Arguments of `skyfence demo`.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Address of the HTTP API and map.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Play the scenario this many times faster than real time (detection thresholds
    /// are scaled to match, so the same incidents come out).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// The SQLite store.
    #[arg(long, value_name = "FILE", default_value = "skyfence-demo.db")]
    pub db: PathBuf,
}

/// Scenario seconds of silence between two plays of the loop: longer than the
/// scenario's `track_timeout_s` (60 s), so every track of one play is gone before the
/// next begins and no target seems to jump.
const LOOP_GAP_S: f64 = 75.0;
/// Where in the scenario the play starts, seconds: 22:04:30, with the airliners and
/// authorised UAVs already in the air, so a new user sees live traffic at once and the
/// first (authorised) incidents within seconds. The first unauthorised incursions are
/// confirmed within a minute: the Remote ID drone crosses into Pakistan at about
/// 22:04:58, AFDRN7 is first heard inside Pakistan at 22:05:00 and the silent drone,
/// seen by the Peshawar radar alone, crosses at about 22:05:12.
const START_AT_S: f64 = 270.0;

/// The frames of a scenario recording and how to pace them.
struct Recording {
    frames: Vec<Frame>,
    /// Seconds of scenario time of each frame since the first.
    offsets: Vec<f64>,
    loop_s: f64,
    /// The time of the first frame: the origin of every feed's offsets.
    first: Timestamp,
}

/// Datagrams of one UDP feed (radar ASTERIX or Remote ID lines), paced like the Beast
/// recording (offsets from its first frame).
struct DatagramFeed {
    to: SocketAddr,
    offsets: Vec<f64>,
    payloads: Vec<Vec<u8>>,
}

impl DatagramFeed {
    fn new(to: SocketAddr, mut datagrams: Vec<sim::feed::Datagram>, first: Timestamp) -> Self {
        datagrams.sort_by_key(|d| d.at);
        DatagramFeed {
            to,
            offsets: datagrams.iter().map(|d| d.at.secs_since(first)).collect(),
            payloads: datagrams.into_iter().map(|d| d.bytes).collect(),
        }
    }
}

impl Recording {
    fn load(path: &Path, start: Timestamp) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let (mut frames, _) = BeastDecoder::decode_all(BeastClock::Counter12Mhz { start }, &bytes);
        frames.sort_by_key(|f| f.at);
        let first = frames
            .first()
            .map(|f| f.at)
            .context("the simulated recording is empty")?;
        let offsets: Vec<f64> = frames.iter().map(|f| f.at.secs_since(first)).collect();
        let loop_s = offsets.last().copied().unwrap_or(0.0) + LOOP_GAP_S;
        Ok(Recording {
            frames,
            offsets,
            loop_s,
            first,
        })
    }
}

/// Serves `recording` to every receiver client that connects, on a loop paced by the
/// wall clock since `epoch`: a client joining late starts where the play is now.
async fn serve_beast(
    listener: TcpListener,
    recording: Arc<Recording>,
    epoch: Instant,
    speed: f64,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            () = stopped(&mut shutdown) => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let recording = recording.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            if let Err(e) = play(stream, &recording, epoch, speed, shutdown).await {
                tracing::debug!("demo feed client gone: {e}");
            }
        });
    }
}

async fn play(
    mut stream: TcpStream,
    rec: &Recording,
    epoch: Instant,
    speed: f64,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let position = || (START_AT_S + epoch.elapsed().as_secs_f64() * speed) % rec.loop_s;
    let mut next = rec.offsets.partition_point(|&o| o < position());
    let mut previous = position();
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let now = position();
        if now < previous {
            // The loop came round: finish the play, start again.
            for f in &rec.frames[next..] {
                encode_beast(f, &mut out);
            }
            next = 0;
        }
        previous = now;
        let end = next + rec.offsets[next..].partition_point(|&o| o <= now);
        for f in &rec.frames[next..end] {
            encode_beast(f, &mut out);
        }
        next = end;
        if !out.is_empty() {
            stream.write_all(&out).await?;
            out.clear();
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
            () = stopped(&mut shutdown) => return Ok(()),
        }
    }
}

/// Sends the UDP feeds' datagrams on the loop of `loop_s` seconds paced by the wall
/// clock since `epoch`, as [`play`] does for the Beast stream.
async fn play_datagrams(
    feeds: Vec<DatagramFeed>,
    loop_s: f64,
    epoch: Instant,
    speed: f64,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let position = || (START_AT_S + epoch.elapsed().as_secs_f64() * speed) % loop_s;
    let mut next: Vec<usize> = feeds
        .iter()
        .map(|f| f.offsets.partition_point(|&o| o < position()))
        .collect();
    let mut previous = position();
    loop {
        let now = position();
        for (f, next) in feeds.iter().zip(&mut next) {
            if now < previous {
                // The loop came round: finish the play, start again.
                for p in &f.payloads[*next..] {
                    let _ = socket.send_to(p, f.to).await;
                }
                *next = 0;
            }
            let end = *next + f.offsets[*next..].partition_point(|&o| o <= now);
            for p in &f.payloads[*next..end] {
                // A datagram the service could not take is lost, as on a real network.
                let _ = socket.send_to(p, f.to).await;
            }
            *next = end;
        }
        previous = now;
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
            () = stopped(&mut shutdown) => return Ok(()),
        }
    }
}

/// A free UDP port on loopback for one of the service's sources.
fn loopback_udp_addr() -> anyhow::Result<SocketAddr> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0")
        .context("cannot bind a UDP port on loopback for the demo feeds")?;
    Ok(s.local_addr()?)
}

/// One line about an incident, for the terminal: zone, who, what kind of target, and
/// whether a permit covers it.
pub fn incident_line(incident: &serde_json::Value) -> String {
    let target = &incident["target"];
    let kind = target["kind"].as_str().unwrap_or("?");
    let mut who = format!("{kind} {}", target["id"].as_str().unwrap_or("?"));
    if let Some(cs) = target["callsign"].as_str() {
        who.push_str(&format!(" ({cs})"));
    }
    let mut what = Vec::new();
    if let Some(c) = incident["classification"].as_str() {
        what.push(c.to_string());
    }
    match (kind, incident["cooperative"].as_bool()) {
        ("track", Some(false)) => what.push("radar only, no transponder or Remote ID".into()),
        (_, Some(false)) => what.push("not cooperative".into()),
        _ => {}
    }
    if let Some(sensors) = incident["sensors"].as_array().filter(|s| !s.is_empty()) {
        let names: Vec<&str> = sensors.iter().filter_map(|s| s.as_str()).collect();
        what.push(format!("sensors {}", names.join(", ")));
    }
    let op = &incident["operator"];
    if let (Some(lat), Some(lon)) = (op["lat"].as_f64(), op["lon"].as_f64()) {
        let id = op["id"]
            .as_str()
            .map(|i| format!("{i} "))
            .unwrap_or_default();
        what.push(format!("operator {id}at {lat:.4}, {lon:.4}"));
    }
    let permit = match incident["permit"].as_str() {
        Some(p) => format!("authorised: {p}"),
        None => "UNAUTHORISED".to_owned(),
    };
    format!(
        "{} {who} [{}] {permit}",
        incident["zone"].as_str().unwrap_or("?"),
        what.join("; ")
    )
}

/// The unauthorised incursions of the scenario's truth, one line each.
fn expected_lines(truth: &str) -> Vec<String> {
    truth
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("event").is_none() && v["authorised"] == false)
        .map(|v| {
            format!(
                "  {} from {}",
                incident_line(&v),
                v["entered_at"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

/// Runs `skyfence demo` until SIGINT or SIGTERM.
pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    if !(args.speed.is_finite() && args.speed > 0.0 && args.speed <= 1000.0) {
        return Err(input_error(format!(
            "--speed {} is out of range (expected 0 < X <= 1000)",
            args.speed
        )));
    }
    let dir = std::env::temp_dir().join(format!("skyfence-demo-{}", std::process::id()));
    let result = demo(&args, &dir);
    // After an early error (the normal path removes it as soon as it is loaded).
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn demo(args: &DemoArgs, dir: &Path) -> anyhow::Result<()> {
    let scenario = sim::builtin::af_pk_border_radar()?;
    tracing::info!(
        "simulating scenario {} into {}",
        scenario.name,
        dir.display()
    );
    sim::simulate(&scenario, 1, dir, &[&skyfence_decode::format::BEAST])?;
    let (asterix, remoteid) = sim::feed::read(dir, scenario.start)
        .with_context(|| format!("cannot read the simulated feeds in {}", dir.display()))?;
    let expected = expected_lines(&std::fs::read_to_string(dir.join("truth.jsonl"))?);
    let mut config = Config::load(&dir.join("config.toml"))?;
    let zones = config.load_zones(&[], &[])?;
    // Receive time is the wall clock: at X times real speed, scenario durations shrink
    // by X and speeds grow by X.
    let d = &mut config.detection;
    d.confirm_s /= args.speed;
    d.track_timeout_s /= args.speed;
    d.max_speed_mps *= args.speed;
    let recording = Arc::new(Recording::load(&dir.join("beast.bin"), scenario.start)?);
    let (radar_addr, rid_addr) = (loopback_udp_addr()?, loopback_udp_addr()?);
    let feeds = vec![
        DatagramFeed::new(radar_addr, asterix, recording.first),
        DatagramFeed::new(rid_addr, remoteid, recording.first),
    ];
    // Everything is in memory now: remove the files at once, so a demo that is killed
    // leaves nothing behind.
    let _ = std::fs::remove_dir_all(dir);
    let frames = recording.frames.len();
    let loop_s = recording.loop_s;
    let speed = args.speed;
    let mut settings = Settings::from_config(config, zones)?;
    settings.listen = args.listen;
    settings.store = skyfence_store::StoreUrl::sqlite(args.db.clone());
    let (detection, permits) = (settings.detection, settings.permits.clone());
    settings.evidence.for_demo(&detection, &permits, &args.db);
    // The radar sites, so a verifier re-places the radar plots of an exported bundle.
    settings
        .evidence
        .config_text
        .extend_from_slice(sim::sensors_toml(&scenario).as_bytes());
    service::runtime()?.block_on(async move {
        let feed = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on loopback for the demo feed")?;
        let feed_addr = feed.local_addr()?;
        let udp = |addr| SourceKind::Udp {
            addr,
            multicast: None,
            limits: ListenLimits::default(),
        };
        settings.sources = vec![
            SourceSpec {
                id: SourceId(0),
                name: "demo-beast".into(),
                format: &skyfence_decode::format::BEAST,
                kind: SourceKind::Connect(feed_addr.to_string()),
            },
            SourceSpec {
                id: SourceId(1),
                name: "demo-radar".into(),
                format: &skyfence_decode::format::ASTERIX,
                kind: udp(radar_addr),
            },
            SourceSpec {
                id: SourceId(2),
                name: "demo-remoteid".into(),
                format: &skyfence_decode::format::REMOTEID,
                kind: udp(rid_addr),
            },
        ];
        let (stop, stop_rx) = watch::channel(false);
        let epoch = Instant::now();
        let feeder = tokio::spawn(serve_beast(feed, recording, epoch, speed, stop_rx.clone()));
        let datagrams = tokio::spawn(play_datagrams(feeds, loop_s, epoch, speed, stop_rx));
        tracing::info!(
            %feed_addr, %radar_addr, %rid_addr, frames, loop_s, speed,
            "demo feeds playing af-pk-border-radar on a loop"
        );
        let signal = service::ShutdownSignal::install()?;
        let service = Service::start(settings).await?;
        let mut events = service.subscribe();
        println!(
            "skyfence demo: open http://{}/ (incidents: http://{}/api/incidents); Ctrl-C to stop",
            service.api_addr, service.api_addr
        );
        println!(
            "skyfence demo: Mode S (Beast, 5 receivers), 2 radar sites (ASTERIX over UDP) and a \
             Remote ID receiver (UDP); the unauthorised incursions to come:"
        );
        for l in &expected {
            println!("{l}");
        }
        let printer = tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(e) if e.kind == "confirmed" => {
                        if let Ok(v) = serde_json::from_str::<serde_json::Value>(&e.json) {
                            println!("skyfence demo: incident {}", incident_line(&v["incident"]));
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        signal.wait().await;
        let result = service.shutdown().await;
        let _ = stop.send(true);
        let _ = feeder.await;
        let _ = datagrams.await;
        printer.abort();
        result
    })
}
