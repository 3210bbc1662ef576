//! One module per subcommand.

pub mod airspace;
pub mod decode;
pub mod simulate;
