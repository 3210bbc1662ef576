//! The `skyfence` command-line tool (docs/INTERFACES.md, "Command line").

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;

/// skyfence: watches a nation's airspace and records every incursion as evidence.
#[derive(Parser, Debug)]
#[command(name = "skyfence", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Decode a recording into JSON lines, one per accepted message.
    Decode(cmd::decode::DecodeArgs),
    /// Detect incursions in recordings: incidents as JSON lines.
    Analyze(cmd::analyze::AnalyzeArgs),
    /// Inspect zones: the built-in country boundaries and zone files.
    #[command(subcommand)]
    Airspace(cmd::airspace::AirspaceCommand),
    /// Simulate border traffic: recordings in every input format plus the right answer.
    Simulate(cmd::simulate::SimulateArgs),
    /// The live service: sources, detection, store, HTTP API and live events.
    Run(cmd::run::RunArgs),
    /// A site's relay: its [[source]]s published into the cluster's NATS JetStream.
    Relay(cmd::relay::RelayArgs),
    /// Simulated border traffic streamed into the live service (prints the URL).
    Demo(cmd::demo::DemoArgs),
    /// Write an incident's evidence bundle (zip): frames, zone, proofs, signed checkpoint, report.
    Export(cmd::export::ExportArgs),
    /// Check an evidence bundle (or a whole dossier) offline: signatures, proofs, re-decoding and re-detection.
    Verify(cmd::verify::VerifyArgs),
    /// Write a period's incursions as one verifiable dossier: bundles, tables, map, HTML and PDF.
    Dossier(cmd::dossier::DossierArgs),
    /// Load-test a live service over loopback: latency, ingest and memory.
    Load(skyfence_load::LoadArgs),
    /// The evidence log: verify it all, sign a checkpoint, print its public key.
    #[command(subcommand)]
    Log(cmd::log::LogCommand),
    /// Cosign the log's checkpoints after checking each extends the last one cosigned.
    Witness(cmd::witness::WitnessArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, usage errors with exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SKYFENCE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let result = match cli.command {
        Command::Decode(args) => cmd::decode::run(args),
        Command::Analyze(args) => cmd::analyze::run(args),
        Command::Airspace(command) => cmd::airspace::run(command),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Run(args) => cmd::run::run(args),
        Command::Relay(args) => cmd::relay::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Dossier(args) => cmd::dossier::run(args),
        Command::Load(args) => skyfence_load::run(args),
        Command::Log(command) => cmd::log::run(command),
        Command::Witness(args) => cmd::witness::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skyfence: error: {e:#}");
            ExitCode::from(skyfence_service::exit::code_for(&e))
        }
    }
}
