//! `skyfence simulate --scenario NAME --out-dir DIR [--seed N]` (docs/INTERFACES.md): writes
//! recordings of a scenario in every input format, the zones and config used, and the
//! right answer (`truth.jsonl`).

use std::path::PathBuf;
use std::time::Instant;

use skyfence_service::exit::input_error;
use skyfence_sim as sim;

/// Arguments of `skyfence simulate`.
#[derive(clap::Args, Debug)]
pub struct SimulateArgs {
    /// A built-in scenario (`af-pk-border`, `scale`, `mlat-border`) or a scenario TOML file.
    #[arg(long)]
    pub scenario: String,
    /// Directory for the outputs (created if needed).
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Seed of every random choice: the same seed gives the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `scale` only: number of targets.
    #[arg(long, default_value_t = 1000)]
    pub targets: usize,
    /// `scale` only: length in seconds.
    #[arg(long, default_value_t = 600.0)]
    pub duration: f64,
    /// Recordings to write, comma-separated: raw, beast, avr, sbs.
    #[arg(long, default_value = "raw,beast,avr,sbs")]
    pub formats: String,
}

/// The `--formats` list.
fn formats(list: &str) -> anyhow::Result<Vec<sim::write::Format>> {
    let mut out = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let f = sim::write::from_name(name).ok_or_else(|| {
            input_error(format!(
                "--formats: {name:?} is not a recording format (expected {})",
                sim::write::names()
            ))
        })?;
        if !out.contains(&f) {
            out.push(f);
        }
    }
    Ok(out)
}

/// Loads the scenario named or the scenario file at `name`.
pub fn load(args: &SimulateArgs) -> anyhow::Result<sim::scenario::Scenario> {
    match args.scenario.as_str() {
        "af-pk-border" => sim::builtin::af_pk_border(),
        "af-pk-border-radar" => sim::builtin::af_pk_border_radar(),
        "af-pk-border-ssr" => sim::builtin::af_pk_border_ssr(),
        "scale" => {
            if args.targets == 0 || args.targets > 1_000_000 {
                return Err(input_error(format!(
                    "--targets {} is out of range (expected 1 to 1000000)",
                    args.targets
                )));
            }
            if !(args.duration > 0.0 && args.duration <= 86_400.0) {
                return Err(input_error(format!(
                    "--duration {} is out of range (expected 0 < S <= 86400)",
                    args.duration
                )));
            }
            sim::builtin::scale(args.targets, args.duration, args.seed)
        }
        path => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                input_error(format!(
                    "scenario {path:?}: not a built-in scenario ({}) and cannot be read: {e}",
                    sim::builtin::NAMES.join(", ")
                ))
            })?;
            sim::scenario::parse_scenario(path, &text, &sim::borders::country)
                .map_err(|e| input_error(e.0))
        }
    }
}

/// Runs `skyfence simulate`.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    if args.scenario == "mlat-border" {
        // Per-receiver Beast recordings for multilateration (their own writer: every
        // receiver's clock is simulated, so `--formats` does not apply).
        let scenario = sim::mlat::mlat_border();
        let summary = sim::mlat::simulate(&scenario, args.seed, &args.out_dir)?;
        tracing::info!(
            scenario = scenario.name,
            frames = summary.frames,
            receivers = summary.recordings.len(),
            "simulation written to {}",
            args.out_dir.display()
        );
        return Ok(());
    }
    let formats = formats(&args.formats)?;
    let scenario = load(&args)?;
    let started = Instant::now();
    let summary = sim::simulate(&scenario, args.seed, &args.out_dir, &formats)?;
    let secs = started.elapsed().as_secs_f64();
    tracing::info!(
        scenario = %scenario.name,
        frames = summary.frames,
        flights = summary.flights,
        incidents = summary.incidents,
        approaches = summary.approaches,
        seconds = format_args!("{secs:.2}"),
        frames_per_s = format_args!("{:.0}", summary.frames as f64 / secs.max(1e-9)),
        "simulation written to {}",
        args.out_dir.display()
    );
    Ok(())
}
