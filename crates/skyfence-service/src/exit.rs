//! Exit statuses (docs/INTERFACES.md): 0 success, 2 bad usage, config, zone or input file,
//! 1 any other failure.

use std::fmt;

/// An error in what the user gave us (a flag, config, zone or input file). The message
/// names the file, line and key where there is one. Exits with status 2.
#[derive(Debug)]
pub struct InputError(pub String);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InputError {}

/// Builds an `anyhow::Error` that exits with status 2.
pub fn input_error(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(InputError(message.into()))
}

/// The exit status for an error: 2 when any cause in its chain is an [`InputError`].
pub fn code_for(e: &anyhow::Error) -> u8 {
    if e.chain().any(|c| c.is::<InputError>()) {
        2
    } else {
        1
    }
}
