//! `skyfence airspace list | show NAME | locate --lat X --lon Y [--alt-ft Z]` (in progress).

/// Airspace subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum AirspaceCommand {
    /// List the zones available.
    List,
}

/// Runs an airspace subcommand.
pub fn run(_command: AirspaceCommand) -> anyhow::Result<()> {
    anyhow::bail!("skyfence airspace is not built yet")
}
