//! The signing key on disk: the only module of this crate that does I/O.
//!
//! The file holds one line, the private key in Go's `golang.org/x/mod/sumdb/note` form
//! (`PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>`), so operators can use existing
//! note tools with it. It is created on first use with mode 0600 (owner read/write only) and
//! refused if group or others can read it, as OpenSSH refuses a readable private key. The key
//! is never printed: errors name the path, never the content.

use std::fs::{self, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::note::{Signer, SignerError};

/// Why the key file could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading, creating or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file's content is not a private key (the content is not echoed).
    #[error("key file {path}: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: SignerError,
    },
    /// The file holds a key for another name.
    #[error("key file {path} holds the key of {found:?}, expected {expected:?}")]
    WrongName {
        /// The file.
        path: PathBuf,
        /// Name in the file.
        found: String,
        /// Name asked for.
        expected: String,
    },
    /// Group or others may read the file.
    #[error("key file {path} has mode {mode:o}: group and others must have no access (chmod 600)")]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

/// Loads the signing key for `name` from `path`, or generates one there (mode 0600) if the
/// file does not exist. Returns the signer and whether it was newly generated.
pub fn load_or_generate(path: &Path, name: &str) -> Result<(Signer, bool), KeyFileError> {
    let io_err = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    match fs::read_to_string(path) {
        Ok(text) => {
            check_mode(path)?;
            let signer = Signer::from_private_key_text(text.trim_end()).map_err(|source| {
                KeyFileError::Malformed {
                    path: path.to_owned(),
                    source,
                }
            })?;
            if signer.name() != name {
                return Err(KeyFileError::WrongName {
                    path: path.to_owned(),
                    found: signer.name().to_owned(),
                    expected: name.to_owned(),
                });
            }
            Ok((signer, false))
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let signer = Signer::generate(name).map_err(|source| KeyFileError::Malformed {
                path: path.to_owned(),
                source,
            })?;
            let mut options = OpenOptions::new();
            // create_new: never overwrite a key another process wrote meanwhile.
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            let mut file = options.open(path).map_err(io_err)?;
            let mut text = signer.to_private_key_text();
            text.push('\n');
            let written = file
                .write_all(text.as_bytes())
                .and_then(|()| file.sync_all());
            // Overwrite our copy of the secret text before dropping it.
            let mut buf = text.into_bytes();
            buf.fill(0);
            written.map_err(io_err)?;
            Ok((signer, true))
        }
        Err(e) => Err(io_err(e)),
    }
}

#[cfg(unix)]
fn check_mode(path: &Path) -> Result<(), KeyFileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = fs::metadata(path).map_err(|source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyFileError::TooOpen {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path) -> Result<(), KeyFileError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_with_mode_0600_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        let (first, created) = load_or_generate(&path, "skyfence.example/log").unwrap();
        assert!(created);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let (again, created) = load_or_generate(&path, "skyfence.example/log").unwrap();
        assert!(!created);
        assert_eq!(first.verifier_key(), again.verifier_key());
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("PRIVATE+KEY+skyfence.example/log+"));
    }

    #[test]
    fn refuses_a_readable_file_a_wrong_name_and_garbage_without_echoing_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        load_or_generate(&path, "a.example/log").unwrap();
        let err = load_or_generate(&path, "b.example/log").unwrap_err();
        assert!(matches!(err, KeyFileError::WrongName { .. }), "{err}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            let err = load_or_generate(&path, "a.example/log").unwrap_err();
            assert!(err.to_string().contains("mode 644"), "{err}");
        }
        let junk = dir.path().join("junk.key");
        fs::write(&junk, "PRIVATE+KEY+x+00000000+c2VjcmV0c2VjcmV0\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&junk, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let err = load_or_generate(&junk, "x").unwrap_err().to_string();
        assert!(!err.contains("c2VjcmV0"), "{err}");
        assert!(err.contains("junk.key"), "{err}");
    }
}
