//! Scratch directories for tests that write recordings, stores and bundles: removed when
//! the test ends, passed or failed, so repeated runs do not fill the temporary directory.

use std::path::Path;

/// A test's scratch directory: a path (`Deref` to [`Path`]) until it is dropped, then
/// removed with its contents.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.path().as_os_str()
    }
}

/// A new, empty scratch directory in the system's temporary directory whose name starts
/// with `prefix`.
pub fn scratch_dir(prefix: &str) -> Scratch {
    Scratch(
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a scratch directory {prefix}*: {e}")),
    )
}
