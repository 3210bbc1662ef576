//! `skyfence demo [--listen ADDR] [--speed X]` (docs/INTERFACES.md, "Command line"):
//! the live service watching the `af-pk-border` scenario, streamed in real time (or
//! faster) over a real loopback Beast connection.
//!
//! The scenario is simulated into a temporary directory; a Beast server task in this
//! process plays its frames on a loop, paced by the wall clock; the service's ordinary
//! Beast client source dials it. Receive times are the machine clock, as in the field.

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
/// first (authorised) incidents within seconds. The first unauthorised incursion
/// (AFDRN7, first heard inside Pakistan at 22:05:00) is confirmed about 42 s in.
const START_AT_S: f64 = 270.0;

/// The frames of a scenario recording and how to pace them.
struct Recording {
    frames: Vec<Frame>,
    /// Seconds of scenario time of each frame since the first.
    offsets: Vec<f64>,
    loop_s: f64,
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
    let scenario = sim::builtin::af_pk_border()?;
    tracing::info!(
        "simulating scenario {} into {}",
        scenario.name,
        dir.display()
    );
    sim::simulate(&scenario, 1, dir, &[&skyfence_decode::format::BEAST])?;
    let mut config = Config::load(&dir.join("config.toml"))?;
    let zones = config.load_zones(&[], &[])?;
    // Receive time is the wall clock: at X times real speed, scenario durations shrink
    // by X and speeds grow by X.
    let d = &mut config.detection;
    d.confirm_s /= args.speed;
    d.track_timeout_s /= args.speed;
    d.max_speed_mps *= args.speed;
    let recording = Arc::new(Recording::load(&dir.join("beast.bin"), scenario.start)?);
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
    service::runtime()?.block_on(async move {
        let feed = TcpListener::bind("127.0.0.1:0")
            .await
            .context("cannot listen on loopback for the demo feed")?;
        let feed_addr = feed.local_addr()?;
        settings.sources = vec![SourceSpec {
            id: SourceId(0),
            name: "demo-beast".into(),
            format: &skyfence_decode::format::BEAST,
            kind: SourceKind::Connect(feed_addr.to_string()),
        }];
        let (stop, stop_rx) = watch::channel(false);
        let feeder = tokio::spawn(serve_beast(feed, recording, Instant::now(), speed, stop_rx));
        tracing::info!(
            %feed_addr, frames, loop_s, speed,
            "demo beast feed playing af-pk-border on a loop"
        );
        let signal = service::ShutdownSignal::install()?;
        let service = Service::start(settings).await?;
        println!(
            "skyfence demo: open http://{}/ (incidents: http://{}/api/incidents); Ctrl-C to stop",
            service.api_addr, service.api_addr
        );
        signal.wait().await;
        let result = service.shutdown().await;
        let _ = stop.send(true);
        let _ = feeder.await;
        result
    })
}
