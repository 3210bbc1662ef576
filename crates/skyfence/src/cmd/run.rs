//! `skyfence run --config FILE` (docs/INTERFACES.md, "Command line"): the live service.

use std::path::PathBuf;

use skyfence_core::SourceId;

use skyfence_service::config::{Config, MAX_RETENTION_DAYS};
use skyfence_service::exit::input_error;
use skyfence_service::input::InputSpec;
use skyfence_service::source::{SourceKind, SourceSpec};
use skyfence_service::{self as service, Service, Settings};

/// Arguments of `skyfence run`.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Config file: [[source]] inputs, [[zones]], [detection], [server], [store], [[allow]].
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Also replay a recording as a source (FMT:PATH; any format of the registry: raw, beast, avr, sbs, remoteid), stamped
    /// with the time each item is sent. Repeatable.
    #[arg(long, value_name = "FMT:PATH")]
    pub replay: Vec<InputSpec>,
    /// Replay speed: 1 is real time, 10 ten times faster.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Keep closed and lost incidents, with their tracks and raw frames, this many days
    /// (purged hourly); open incidents are always kept. Overrides `[store]
    /// retention_days`; default: keep everything.
    #[arg(long, value_name = "DAYS")]
    pub retention_days: Option<f64>,
}

/// Runs the service until SIGINT or SIGTERM, then flushes the store and returns.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    // With [cluster], a detector node: its traffic is the relays' raw stream.
    if config.cluster.is_some() {
        if let Some(s) = config.sources.first() {
            return Err(input_error(format!(
                "config {}: [[source]] {:?}: a detector node ([cluster]) reads its traffic from the relays; [[source]] belongs in a relay's config (skyfence relay)",
                args.config.display(),
                s.name
            )));
        }
        if !args.replay.is_empty() {
            return Err(input_error(
                "--replay: a detector node ([cluster]) reads its traffic from the relays",
            ));
        }
    }
    let zones = config.load_zones(&[], &[])?;
    if zones.is_empty() {
        return Err(input_error(format!(
            "config {}: no zones to watch: add [[zones]] file = \"...\" or country = \"...\"",
            args.config.display()
        )));
    }
    if !(args.speed.is_finite() && args.speed > 0.0 && args.speed <= 1000.0) {
        return Err(input_error(format!(
            "--speed {} is out of range (expected 0 < X <= 1000)",
            args.speed
        )));
    }
    if args.replay.iter().any(|r| r.path.is_none()) {
        return Err(input_error("--replay needs a file, not standard input"));
    }
    if config.sources.is_empty() && args.replay.is_empty() && config.cluster.is_none() {
        tracing::warn!(
            "config {} has no [[source]]: the service will see no traffic",
            args.config.display()
        );
    }
    let retention = match args.retention_days {
        None => None,
        Some(d) if d.is_finite() && d > 0.0 && d <= MAX_RETENTION_DAYS => {
            Some(std::time::Duration::from_secs_f64(d * 86_400.0))
        }
        Some(d) => {
            return Err(input_error(format!(
                "--retention-days {d} is out of range (expected 0 < DAYS <= {MAX_RETENTION_DAYS})"
            )));
        }
    };
    let mut settings = Settings::from_config(config, zones)?;
    if retention.is_some() {
        settings.retention = retention;
    }
    for input in args.replay {
        let id = u16::try_from(settings.sources.len())
            .map_err(|_| input_error("too many sources (at most 65535)"))?;
        settings.sources.push(SourceSpec {
            id: SourceId(id),
            name: format!("replay-{}", id),
            // The recording's own format: a replay reads it with its registry codec.
            format: input.format,
            kind: SourceKind::Replay {
                input,
                speed: args.speed,
            },
        });
    }
    service::runtime()?.block_on(async move {
        let signal = service::ShutdownSignal::install()?;
        let service = Service::start(settings).await?;
        eprintln!("skyfence run: http://{}/", service.api_addr);
        signal.wait().await;
        service.shutdown().await
    })
}
