//! `skyfence relay --config FILE` (docs/INTERFACES.md, "`skyfence relay`"): publishes a
//! site's live `[[source]]`s into the cluster's NATS JetStream, spooling to disk while
//! NATS is unreachable.

use std::path::PathBuf;
use std::sync::Arc;

use skyfence_service::config::Config;
use skyfence_service::relay::{self, RelayMetrics, RelaySettings};
use skyfence_service::{self as service};

/// Arguments of `skyfence relay`.
#[derive(clap::Args, Debug)]
pub struct RelayArgs {
    /// Config file: [cluster] (nats, node = the site), [relay] (spool), [[source]] inputs.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// Runs the relay until SIGINT or SIGTERM; what was read is published or spooled.
pub fn run(args: RelayArgs) -> anyhow::Result<()> {
    let config = Config::load(&args.config)?;
    let settings = RelaySettings::from_config(&config, &args.config)?;
    let metrics = Arc::new(RelayMetrics::default());
    service::runtime()?.block_on(async move {
        let signal = service::ShutdownSignal::install()?;
        let (stop, stopped) = tokio::sync::watch::channel(false);
        if let Some(addr) = settings.relay.metrics {
            let at = relay::serve_metrics(addr, metrics.clone(), stopped.clone()).await?;
            eprintln!("skyfence relay: metrics at http://{at}/metrics");
        }
        eprintln!(
            "skyfence relay: site {} publishing to {}",
            settings.cluster.node,
            settings.cluster.nats.urls().join(", ")
        );
        let task = tokio::spawn(relay::run(settings, metrics, stopped));
        signal.wait().await;
        let _ = stop.send(true);
        task.await?
    })
}
