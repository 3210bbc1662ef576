//! One module per subcommand.

pub mod airspace;
pub mod analyze;
pub mod decode;
pub mod demo;
pub mod dossier;
pub mod export;
pub mod log;
pub mod relay;
pub mod run;
pub mod simulate;
pub mod verify;
pub mod witness;
