//! `skyfence decode --input FMT:PATH [--start RFC3339]` (in progress).

/// Arguments of `skyfence decode`.
#[derive(clap::Args, Debug)]
pub struct DecodeArgs {
    /// Input as FMT:PATH, FMT one of raw, beast, avr, sbs; PATH `-` for standard input.
    #[arg(long)]
    pub input: String,
}

/// Runs `skyfence decode`.
pub fn run(_args: DecodeArgs) -> anyhow::Result<()> {
    anyhow::bail!("skyfence decode is not built yet")
}
