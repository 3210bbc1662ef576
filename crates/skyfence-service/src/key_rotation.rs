//! `skyfence log rotate-key`: replaces the evidence log's signing key without breaking
//! the chain of trust.
//!
//! The service refuses to sign on under a key that did not sign the store's latest
//! checkpoint ([`crate::evidence::load_continuing_key`]); this is the one way to change
//! it. The rotation is recorded in the log as a kind-0x08 leaf, a signed note naming
//! both keys and signed by both (`skyfence_evidence::rotation`), and the first checkpoint
//! that includes it is signed by the new key. A verifier who trusts either key follows
//! the chain (`skyfence log verify`).
//!
//! Crash safety, in the order of the steps:
//! 1. the new key is written beside the current one as `KEY.next` (mode 0600);
//! 2. the rotation leaf is appended;
//! 3. a checkpoint is signed with the new key;
//! 4. the current key moves to `KEY.retired-<time>` and `KEY.next` becomes `KEY`.
//!
//! A stop after step 2 leaves a rotation that no checkpoint includes yet: `run` and
//! `log checkpoint` refuse to start on it (the old key must not sign past it), and
//! running `rotate-key` again finishes it from `KEY.next`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use skyfence_core::Timestamp;
use skyfence_evidence::{
    EvidenceLeaf, KeyRotation, Signer, VerifierKey, keyfile, open_rotation, sign_rotation,
};
use skyfence_store::{EvidenceLogStore, sign_if_grown};

/// What a rotation did.
#[derive(Debug)]
pub struct Rotated {
    /// The key retired.
    pub old: VerifierKey,
    /// The key in force from now on.
    pub new: VerifierKey,
    /// The rotation leaf's index.
    pub leaf: u64,
    /// The size of the first checkpoint signed by the new key.
    pub checkpoint: u64,
    /// Where the retired key was kept.
    pub retired: PathBuf,
    /// True when this call finished a rotation an earlier one had started.
    pub resumed: bool,
}

/// `KEY.next`: where the new key waits until the rotation is complete.
pub fn staged_path(key: &Path) -> PathBuf {
    let mut s: OsString = key.as_os_str().to_owned();
    s.push(".next");
    PathBuf::from(s)
}

/// A rotation leaf that no checkpoint includes yet (the log's latest leaves are read from
/// the latest checkpoint's size on, so this costs what was appended since it).
pub fn pending(store: &dyn EvidenceLogStore) -> anyhow::Result<Option<(u64, KeyRotation)>> {
    let from = store
        .latest_checkpoint()
        .context("reading the store's latest checkpoint")?
        .map_or(0, |c| c.size);
    let size = store.evidence_size().context("reading the log's size")?;
    let mut found = None;
    for row in store
        .evidence_leaf_rows(from, size)
        .context("reading the log's unsigned leaves")?
    {
        if row.kind != 0x08 {
            continue;
        }
        let Some(bytes) = &row.bytes else { continue };
        if let Ok(EvidenceLeaf::KeyRotated { note, .. }) = EvidenceLeaf::decode(bytes) {
            let rotation = open_rotation(&note)
                .with_context(|| format!("the key rotation in leaf {}", row.index))?;
            found = Some((row.index, rotation));
        }
    }
    Ok(found)
}

/// Rotates the log key kept at `key` to `new_key` (a key file of the same name), or to a
/// newly generated key. `signer` is the current key, already checked against the store's
/// latest checkpoint (`load_continuing_key`); `None` when a rotation is pending, which
/// this call then finishes.
pub fn rotate(
    store: &mut dyn EvidenceLogStore,
    key: &Path,
    current: Option<&Signer>,
    new_key: Option<&Path>,
    now: Timestamp,
) -> anyhow::Result<Rotated> {
    let staged = staged_path(key);
    // A rotation started here already holds its new key; a pending one reads it back.
    let (leaf, rotation, next, resumed) = match pending(store)? {
        Some((leaf, rotation)) => {
            let next = staged_key(&staged, leaf, &rotation)?;
            (leaf, rotation, next, true)
        }
        None => {
            let Some(current) = current else {
                anyhow::bail!("no current log key to rotate from");
            };
            let name = current.name();
            if let Some(given) = new_key {
                if !given.exists() {
                    anyhow::bail!("the new key {} does not exist", given.display());
                }
                // Checked (mode, name, key) before it is copied beside the current key.
                keyfile::load_or_generate(given, name)
                    .with_context(|| format!("the new key {}", given.display()))?;
                if staged.exists() {
                    std::fs::remove_file(&staged)
                        .with_context(|| format!("removing {}", staged.display()))?;
                }
                copy_private(given, &staged)?;
            }
            let (next, _) = keyfile::load_or_generate(&staged, name)
                .with_context(|| format!("the new key {}", staged.display()))?;
            let note = sign_rotation(current, &next, now.as_micros())?;
            let rotation = open_rotation(&note)?;
            let leaf = store
                .append_evidence(&EvidenceLeaf::KeyRotated {
                    at_us: now.as_micros(),
                    note,
                })
                .context("appending the key rotation to the log")?;
            (leaf, rotation, next, false)
        }
    };
    let checkpoint = match sign_if_grown(store, &next, now)? {
        Some(size) => size,
        None => store.evidence_size()?,
    };
    let retired = retired_path(key, now);
    if key.exists() {
        std::fs::rename(key, &retired).with_context(|| {
            format!(
                "moving the retired key {} to {}",
                key.display(),
                retired.display()
            )
        })?;
    }
    std::fs::rename(&staged, key).with_context(|| {
        format!(
            "installing the new key {} as {}",
            staged.display(),
            key.display()
        )
    })?;
    if let Some(dir) = key.parent().filter(|d| !d.as_os_str().is_empty()) {
        // The renames must survive a power cut before anything signs with the new key.
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("syncing {}", dir.display()))?;
    }
    Ok(Rotated {
        old: rotation.old,
        new: rotation.new,
        leaf,
        checkpoint,
        retired,
        resumed,
    })
}

/// `KEY.retired-YYYYMMDDTHHMMSSZ`.
fn retired_path(key: &Path, at: Timestamp) -> PathBuf {
    let stamp = at
        .to_rfc3339_millis()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(15)
        .collect::<String>();
    let mut s: OsString = key.as_os_str().to_owned();
    s.push(format!(".retired-{stamp}Z"));
    PathBuf::from(s)
}

/// Copies a private key file, creating the copy with mode 0600.
fn copy_private(from: &Path, to: &Path) -> anyhow::Result<()> {
    use std::io::Write as _;
    let text = std::fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(to)
        .with_context(|| format!("creating {}", to.display()))?;
    file.write_all(&text)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", to.display()))
}

/// The new key a pending rotation (leaf `leaf`) staged at `staged`: it must still be
/// there, and be the key the rotation names.
fn staged_key(staged: &Path, leaf: u64, rotation: &KeyRotation) -> anyhow::Result<Signer> {
    if !staged.exists() {
        anyhow::bail!(
            "a key rotation to {} was started (leaf {leaf}) but its new key {} is gone: restore that file and run `skyfence log rotate-key` again",
            rotation.new,
            staged.display()
        );
    }
    let (next, _) = keyfile::load_or_generate(staged, rotation.new.name())
        .with_context(|| format!("the new key {}", staged.display()))?;
    if next.verifier_key() != rotation.new {
        anyhow::bail!(
            "the key rotation in leaf {leaf} is to {}, but {} holds {}: restore the file that rotation made",
            rotation.new,
            staged.display(),
            next.verifier_key()
        );
    }
    Ok(next)
}
