//! `skyfence demo [--listen ADDR] [--speed X]` (docs/INTERFACES.md, "Command line"):
//! the live service watching the `af-pk-border-radar` scenario, streamed in real time
//! (or faster) over real loopback connections: the Mode S receivers' Beast over TCP, the
//! radar sites' ASTERIX and the Remote ID receiver's lines over UDP; beside it, the
//! `mlat-border` network: six multilaterating Mode S receivers, each its own Beast
//! stream over TCP, which locate a transponder-only aircraft (no position broadcast)
//! crossing into Afghanistan and flag a spoofer whose broadcast positions the times of
//! arrival contradict.
//!
//! The scenario is simulated into a temporary directory; a Beast server task in this
//! process plays its frames on a loop, paced by the wall clock, and the service's
//! ordinary Beast client source dials it; a second task sends the ASTERIX data blocks
//! and Remote ID lines, on the same clock, as datagrams to the service's ordinary UDP
//! sources. Receive times are the machine clock, as in the field. Each receiver of the
//! multilaterating network has its own Beast server task, all on one clock; every play
//! of the loop moves the receivers' counters on as their simulated clocks would have run
//! (drift and the one counter jump included), so the clocks stay synchronisable across
//! plays. The demo prints the incursions the scenario holds, then each incident as the
//! service confirms it.

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
/// Where in the `mlat-border` scenario its play starts, seconds: the receivers'
/// clocks synchronise on the ADS-B traffic within seconds, Khost's counter jumps at
/// 300 s (excluded, then back), and the transponder-only aircraft crosses into
/// Afghanistan at about 364 s, so its incident comes within a minute and a half.
const MLAT_START_AT_S: f64 = 280.0;

/// The frames of a scenario recording and how to pace them.
struct Recording {
    frames: Vec<Frame>,
    /// Seconds of scenario time of each frame since the first.
    offsets: Vec<f64>,
    loop_s: f64,
    /// The time of the first frame: the origin of every feed's offsets.
    first: Timestamp,
    /// Where in the recording the play starts, seconds.
    start_at_s: f64,
    /// Counter ticks added to every frame per play of the loop already made (0: the
    /// counters repeat), so a multilaterating receiver's clock runs on across plays.
    ticks_per_loop: u64,
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
            start_at_s: START_AT_S,
            ticks_per_loop: 0,
        })
    }

    /// One receiver's recording of the multilaterating network: offsets from the
    /// scenario's `start` (every receiver's loop is the scenario's length plus the gap,
    /// so all stay on one clock), and its counter moved on each play by what its clock
    /// counts over a loop: `loop_s · (1 + drift)` seconds, plus its counter jump.
    fn receiver(
        path: &Path,
        start: Timestamp,
        duration_s: f64,
        clock: &ClockTruth,
    ) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let (mut frames, _) = BeastDecoder::decode_all(BeastClock::Counter12Mhz { start }, &bytes);
        frames.sort_by_key(|f| f.at);
        let offsets: Vec<f64> = frames.iter().map(|f| f.at.secs_since(start)).collect();
        let loop_s = duration_s + LOOP_GAP_S;
        let ticks = (loop_s * (1.0 + clock.drift) + clock.jump_s) * 12e6;
        Ok(Recording {
            frames,
            offsets,
            loop_s,
            first: start,
            start_at_s: MLAT_START_AT_S,
            ticks_per_loop: ticks.round() as u64,
        })
    }

    /// Appends frame `i` of play `play` (counting from 0) as a Beast record.
    fn encode(&self, i: usize, play: u64, out: &mut Vec<u8>) {
        let mut f = self.frames[i];
        if self.ticks_per_loop > 0 {
            f.counter = f.counter.map(|c| c + play * self.ticks_per_loop);
        }
        encode_beast(&f, out);
    }
}

/// One receiver's simulated clock (`truth-clocks.csv`): what it counts per second more
/// than a true clock, and its counter jump.
struct ClockTruth {
    name: String,
    drift: f64,
    jump_s: f64,
}

/// The receivers' clocks of a `mlat-border` simulation, from its `truth-clocks.csv`
/// (`receiver,clock,offset_s,drift,jitter_s,jump_at_s,jump_s`).
fn clock_truth(text: &str) -> anyhow::Result<Vec<ClockTruth>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            anyhow::ensure!(f.len() == 7, "truth-clocks.csv: {l:?} has not 7 fields");
            Ok(ClockTruth {
                name: f[0].to_owned(),
                drift: f[3].parse().context("truth-clocks.csv: drift")?,
                jump_s: if f[6].is_empty() {
                    0.0
                } else {
                    f[6].parse().context("truth-clocks.csv: jump_s")?
                },
            })
        })
        .collect()
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
    // (play of the loop, seconds into it)
    let position = || {
        let p = rec.start_at_s + epoch.elapsed().as_secs_f64() * speed;
        ((p / rec.loop_s).floor() as u64, p % rec.loop_s)
    };
    let (mut play, start) = position();
    let mut next = rec.offsets.partition_point(|&o| o < start);
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let (now_play, now) = position();
        if now_play != play {
            // The loop came round: finish the play, start again.
            for i in next..rec.frames.len() {
                rec.encode(i, play, &mut out);
            }
            next = 0;
            play = now_play;
        }
        let end = next + rec.offsets[next..].partition_point(|&o| o <= now);
        for i in next..end {
            rec.encode(i, play, &mut out);
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
    let v = &incident["verification"];
    match v["verdict"].as_str() {
        Some("spoof_suspected") => what.push(format!(
            "SPOOF SUSPECTED: its broadcast positions are {:.0} m from where {} receivers place it",
            v["residual_m"].as_f64().unwrap_or(f64::NAN),
            v["receivers"].as_u64().unwrap_or(0)
        )),
        // `unverified`: too few checks so far, or never heard by the network.
        Some("consistent") => what.push("broadcast positions consistent".into()),
        _ => {}
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

/// The border crossings of the network's aircraft that broadcast no position
/// (`truth-mlat.jsonl`), one line each.
fn mlat_expected_lines(truth: &str) -> Vec<String> {
    truth
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "entry")
        .map(|v| {
            format!(
                "  {} icao {} [no position broadcast: located by multilateration] UNAUTHORISED from {}",
                v["zone"].as_str().unwrap_or("?"),
                v["icao24"].as_str().unwrap_or("?"),
                v["at"].as_str().unwrap_or("?")
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
    let mut expected = expected_lines(&std::fs::read_to_string(dir.join("truth.jsonl"))?);
    let mut config = Config::load(&dir.join("config.toml"))?;
    let zones = config.load_zones(&[], &[])?;
    // The multilaterating network: its receivers declared beside the radar sites, one
    // recording each.
    let network = sim::mlat::mlat_border();
    let mlat_dir = dir.join("mlat");
    let summary = sim::mlat::simulate(&network, 1, &mlat_dir)?;
    let network_toml = std::fs::read_to_string(mlat_dir.join("config.toml"))?;
    let receivers_toml = network_toml
        .find("[[sensor]]")
        .map_or("", |i| &network_toml[i..])
        .to_owned();
    let receivers = Config::parse(&receivers_toml)
        .map_err(|e| anyhow::anyhow!("the simulated receivers: {e}"))?
        .sensors;
    config.sensors.extend(receivers);
    let clocks = clock_truth(&std::fs::read_to_string(mlat_dir.join("truth-clocks.csv"))?)?;
    let mut network_feeds = Vec::new();
    for (name, path) in &summary.recordings {
        let clock = clocks
            .iter()
            .find(|c| &c.name == name)
            .with_context(|| format!("no simulated clock for receiver {name}"))?;
        let rec = Recording::receiver(path, network.start, network.duration_s, clock)?;
        network_feeds.push((name.clone(), Arc::new(rec)));
    }
    expected.extend(mlat_expected_lines(&std::fs::read_to_string(
        mlat_dir.join("truth-mlat.jsonl"),
    )?));
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
    settings.replay_speed = args.speed;
    settings.store = skyfence_store::StoreUrl::sqlite(args.db.clone());
    let (detection, permits) = (settings.detection, settings.permits.clone());
    settings.evidence.for_demo(&detection, &permits, &args.db);
    // The radar sites, so a verifier re-places the radar plots of an exported bundle.
    settings
        .evidence
        .config_text
        .extend_from_slice(sim::sensors_toml(&scenario).as_bytes());
    // The Mode S receivers, so a verifier recomputes the fixes and checks of a bundle.
    settings
        .evidence
        .config_text
        .extend_from_slice(format!("\n{receivers_toml}").as_bytes());
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
        // One Beast server per receiver of the network, each dialled by a source that
        // names its receiver.
        let mut network_servers = Vec::new();
        for (name, rec) in network_feeds {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .context("cannot listen on loopback for a demo receiver")?;
            let id = SourceId(u16::try_from(settings.sources.len())?);
            settings.sources.push(SourceSpec {
                id,
                name: format!("demo-rx-{name}"),
                format: &skyfence_decode::format::BEAST,
                kind: SourceKind::Connect(listener.local_addr()?.to_string()),
            });
            settings.receivers.push((id, name));
            network_servers.push((listener, rec));
        }
        let (stop, stop_rx) = watch::channel(false);
        let epoch = Instant::now();
        let feeder = tokio::spawn(serve_beast(feed, recording, epoch, speed, stop_rx.clone()));
        let network: Vec<_> = network_servers
            .into_iter()
            .map(|(l, rec)| tokio::spawn(serve_beast(l, rec, epoch, speed, stop_rx.clone())))
            .collect();
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
            "skyfence demo: Mode S (Beast, 5 receivers), 2 radar sites (ASTERIX over UDP), a \
             Remote ID receiver (UDP) and a multilaterating network of 6 Mode S receivers \
             (Beast; it locates aircraft that broadcast no position and checks those that do: \
             700bad broadcasts positions 15 km from where it is); the unauthorised incursions \
             to come:"
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
        for n in network {
            let _ = n.await;
        }
        let _ = datagrams.await;
        printer.abort();
        result
    })
}
