//! The bundle as files: the zip container, the manifest (`bundle.json`) and the two text
//! formats that carry the log's evidence (`leaves.txt`, `proofs.txt`).

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use skyfence_evidence::{Hash, hash_from_hex, push_hex, to_hex};

use super::{FORMAT, VERSION, files};

/// The largest file a bundle may hold once inflated: a guard against zip bombs (a day of
/// one airliner's frames in hex is a few MB; a national border under 50 MB).
pub const MAX_FILE_BYTES: u64 = 256 << 20;
/// The most files a bundle may hold.
pub const MAX_FILES: usize = 64;
/// The most bytes all files of a bundle may inflate to together, checked on the declared
/// sizes before anything is inflated and on the bytes as they are inflated.
pub const MAX_TOTAL_BYTES: u64 = 256 << 20;

/// Why a bundle could not be read or written (the file is not a bundle of this format).
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The zip layer failed.
    #[error("not a readable zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
    /// Reading or writing failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A file too large to be part of a bundle.
    #[error("file {name:?} inflates to {bytes} bytes: at most {MAX_FILE_BYTES} expected")]
    TooLarge {
        /// The file.
        name: String,
        /// Its stated size.
        bytes: u64,
    },
    /// Too many files.
    #[error("archive holds {0} files: at most {MAX_FILES} expected")]
    TooManyFiles(usize),
    /// The same name twice.
    #[error("archive holds {0:?} twice")]
    Duplicate(String),
    /// A name that is not a plain relative path.
    #[error("archive entry {0:?} is not a plain relative path")]
    BadName(String),
    /// The files together inflate to too much.
    #[error("archive files inflate to {0} bytes together: at most {MAX_TOTAL_BYTES} expected")]
    TotalTooLarge(u64),
    /// An entry's local header disagrees with the central directory (two views of one
    /// archive).
    #[error("archive entry {name:?}: local header disagrees with the central directory: {what}")]
    LocalHeader {
        /// The entry, as the central directory names it.
        name: String,
        /// What differs.
        what: String,
    },
    /// The zip structure is not one a bundle has.
    #[error("archive structure: {0}")]
    Malformed(String),
}

/// The files of a bundle by path, in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bundle {
    /// Path inside the archive → content.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    /// The content of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.files.get(name).map(Vec::as_slice)
    }

    /// Writes the bundle as a zip archive: deflate, entries in path order with the manifest
    /// first, every time stamp 1980-01-01 (the zip epoch) so the same bundle always makes
    /// the same bytes.
    pub fn write_zip<W: Write + Seek>(&self, out: W) -> Result<W, ArchiveError> {
        let mut zip = zip::ZipWriter::new(out);
        // Deflate level 1: a bundle carries its zone's geometry (a country's border is
        // about 1 MB of GeoJSON) three times, and level 1 deflates it about five times
        // faster than the default level 6 for archives about 15 % larger (measured on the
        // PK and AF borders, BENCHMARKS.md "Dossier"). Readers are unaffected.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .compression_level(Some(1))
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(0o644);
        let manifest = self.files.get_key_value(files::MANIFEST);
        for (name, bytes) in manifest
            .into_iter()
            .chain(self.files.iter().filter(|(n, _)| *n != files::MANIFEST))
        {
            zip.start_file(name.as_str(), options)?;
            zip.write_all(bytes)?;
        }
        Ok(zip.finish()?)
    }

    /// Reads a zip archive, refusing oversized or duplicate entries, local headers that
    /// disagree with the central directory ([`crate::zipcheck`], checked before anything
    /// is inflated), more than [`MAX_TOTAL_BYTES`] inflated in all, and paths that could
    /// escape a directory if extracted. Directory entries are skipped.
    pub fn read_zip<R: Read + Seek>(mut input: R) -> Result<Bundle, ArchiveError> {
        crate::zipcheck::check(&mut input)?;
        input.seek(std::io::SeekFrom::Start(0))?;
        let mut zip = zip::ZipArchive::new(input)?;
        let mut budget = MAX_TOTAL_BYTES;
        if zip.len() > MAX_FILES {
            return Err(ArchiveError::TooManyFiles(zip.len()));
        }
        let mut bundle = Bundle::default();
        for i in 0..zip.len() {
            let file = zip.by_index(i)?;
            if file.is_dir() {
                continue;
            }
            let name = file.name()?.into_owned();
            if name.is_empty()
                || name.starts_with('/')
                || name.contains('\\')
                || name
                    .split('/')
                    .any(|c| c.is_empty() || c == "." || c == "..")
            {
                return Err(ArchiveError::BadName(name));
            }
            if file.size() > MAX_FILE_BYTES {
                return Err(ArchiveError::TooLarge {
                    name,
                    bytes: file.size(),
                });
            }
            if file.size() > budget {
                return Err(ArchiveError::TotalTooLarge(
                    MAX_TOTAL_BYTES + file.size() - budget,
                ));
            }
            let mut bytes = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0));
            // The stated size is checked above; `take` also bounds a lying header.
            file.take(MAX_FILE_BYTES.min(budget) + 1)
                .read_to_end(&mut bytes)?;
            if bytes.len() as u64 > MAX_FILE_BYTES {
                return Err(ArchiveError::TooLarge {
                    name,
                    bytes: bytes.len() as u64,
                });
            }
            // The declared sizes were summed by the structure check; a header that lies
            // about its size stops one byte past the budget.
            budget = budget
                .checked_sub(bytes.len() as u64)
                .ok_or(ArchiveError::TotalTooLarge(MAX_TOTAL_BYTES + 1))?;
            if bundle.files.insert(name.clone(), bytes).is_some() {
                return Err(ArchiveError::Duplicate(name));
            }
        }
        Ok(bundle)
    }
}

/// One entry of the manifest's file list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the archive.
    pub path: String,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
    /// Length in bytes.
    pub bytes: u64,
}

/// The log the bundle's evidence comes from, as the manifest states it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogInfo {
    /// The checkpoint's origin line (the log's identity).
    pub origin: String,
    /// The log's key, C2SP `vkey` form.
    pub key: String,
    /// The tree size of the checkpoint used.
    pub checkpoint_size: u64,
    /// Its root hash, lowercase hex.
    pub checkpoint_root: String,
}

/// `bundle.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// The incident id (16 hex digits).
    pub incident: String,
    /// When the bundle was made (RFC 3339).
    pub exported_at: String,
    /// The program that made it.
    pub exported_by: String,
    /// The renderer that drew `report.html`, `track.kml` and `track.geojson`
    /// ([`super::render::RENDERER`]): a verifier with the same renderer re-draws and
    /// compares them byte for byte.
    pub renderer: String,
    /// The log and checkpoint.
    pub log: LogInfo,
    /// Every other file of the bundle.
    pub files: Vec<FileEntry>,
}

impl Manifest {
    /// A manifest listing every file of `bundle` (except the manifest itself).
    pub fn describe(
        bundle: &Bundle,
        incident: String,
        exported_at: String,
        log: LogInfo,
    ) -> Manifest {
        let files = bundle
            .files
            .iter()
            .filter(|(n, _)| *n != files::MANIFEST)
            .map(|(path, bytes)| FileEntry {
                path: path.clone(),
                sha256: sha256_hex(bytes),
                bytes: bytes.len() as u64,
            })
            .collect();
        Manifest {
            format: FORMAT.to_string(),
            version: VERSION,
            incident,
            exported_at,
            exported_by: format!("skyfence {}", env!("CARGO_PKG_VERSION")),
            renderer: super::render::RENDERER.to_string(),
            log,
            files,
        }
    }

    /// The manifest as pretty JSON with a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

/// One leaf as `leaves.txt` carries it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafLine {
    /// The leaf's index in the log.
    pub index: u64,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
}

/// Why a line of `leaves.txt` or `proofs.txt` is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file} line {line}: {reason}")]
pub struct LineError {
    /// The file.
    pub file: &'static str,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// `leaves.txt`: a comment header naming bundle format `version`, then `INDEX HEX` per
/// leaf, by index.
pub fn write_leaves(leaves: &[LeafLine], version: u32) -> Vec<u8> {
    let mut s = if version == 1 {
        String::from(
            "# skyfence evidence leaves, bundle format 1: INDEX HEX, the canonical leaf bytes\n\
             # (skyfence_evidence::leaf version 1); leaf hash = SHA-256(0x00 || bytes), RFC 6962\n",
        )
    } else {
        format!(
            "# skyfence evidence leaves, bundle format {version}: INDEX HEX, the canonical leaf bytes\n\
             # (skyfence_evidence::leaf versions 1 and 2); leaf hash = SHA-256(0x00 || bytes), RFC 6962\n"
        )
    };
    s.reserve(leaves.iter().map(|l| 22 + 2 * l.bytes.len()).sum());
    for l in leaves {
        s.push_str(&l.index.to_string());
        s.push(' ');
        push_hex(&mut s, &l.bytes);
        s.push('\n');
    }
    s.into_bytes()
}

fn data_lines<'t>(file: &'static str, text: &'t [u8]) -> Result<Vec<(usize, &'t str)>, LineError> {
    let text = std::str::from_utf8(text).map_err(|e| LineError {
        file,
        line: 1 + text[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        reason: "not UTF-8".into(),
    })?;
    Ok(text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect())
}

/// A leaf index in canonical decimal: digits only, no sign, no leading zero. The text
/// forms are canonical so that no other spelling of the same evidence reads the same.
fn parse_index(file: &'static str, line: usize, text: &str) -> Result<u64, LineError> {
    let canonical = text == "0"
        || (!text.is_empty() && !text.starts_with('0') && text.bytes().all(|b| b.is_ascii_digit()));
    canonical
        .then(|| text.parse().ok())
        .flatten()
        .ok_or_else(|| LineError {
            file,
            line,
            reason: format!("index {text:?} is not a decimal number without sign or leading zero"),
        })
}

/// Lowercase hex digits only (what `to_hex` writes): `u8::from_str_radix` alone would
/// also take upper case and a `+` sign, other spellings of the same bytes.
fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn parse_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !is_lower_hex(text) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Parses `leaves.txt`.
pub fn read_leaves(text: &[u8]) -> Result<Vec<LeafLine>, LineError> {
    let file = files::LEAVES;
    data_lines(file, text)?
        .into_iter()
        .map(|(line, l)| {
            let (index, hex) = l.split_once(' ').ok_or_else(|| LineError {
                file,
                line,
                reason: "expected INDEX HEX".into(),
            })?;
            let bytes = parse_hex(hex).ok_or_else(|| LineError {
                file,
                line,
                reason: "leaf bytes are not an even number of hex digits".into(),
            })?;
            Ok(LeafLine {
                index: parse_index(file, line, index)?,
                bytes,
            })
        })
        .collect()
}

/// `proofs.txt`: a comment header naming bundle format `version`, then `INDEX HASH...`
/// per leaf.
pub fn write_proofs(proofs: &[(u64, Vec<Hash>)], version: u32) -> Vec<u8> {
    let mut s = format!(
        "# skyfence inclusion proofs, bundle format {version}: INDEX then the audit path (RFC 9162\n\
         # 2.1.3), hex SHA-256, from the leaf's sibling up, in the checkpoint's tree\n",
    );
    s.reserve(proofs.iter().map(|(_, p)| 22 + 65 * p.len()).sum());
    for (index, path) in proofs {
        s.push_str(&index.to_string());
        for h in path {
            s.push(' ');
            push_hex(&mut s, h);
        }
        s.push('\n');
    }
    s.into_bytes()
}

/// Parses `proofs.txt` into index → audit path.
pub fn read_proofs(text: &[u8]) -> Result<BTreeMap<u64, Vec<Hash>>, LineError> {
    let file = files::PROOFS;
    let mut out = BTreeMap::new();
    for (line, l) in data_lines(file, text)? {
        let mut parts = l.split(' ');
        let index = parse_index(file, line, parts.next().unwrap_or_default())?;
        let path = parts
            .map(|h| {
                is_lower_hex(h)
                    .then(|| hash_from_hex(h))
                    .flatten()
                    .ok_or_else(|| LineError {
                        file,
                        line,
                        reason: format!("{h:?} is not 64 lowercase hex digits"),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        if out.insert(index, path).is_some() {
            return Err(LineError {
                file,
                line,
                reason: format!("a second proof for leaf {index}"),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_and_proofs_round_trip() {
        let leaves = vec![
            LeafLine {
                index: 0,
                bytes: vec![0x01, 0x05, 0xab],
            },
            LeafLine {
                index: 17,
                bytes: vec![],
            },
        ];
        for version in [1, 2] {
            assert_eq!(
                read_leaves(&write_leaves(&leaves, version)).unwrap(),
                leaves
            );
            let text = String::from_utf8(write_leaves(&leaves, version)).unwrap();
            assert!(text.ends_with("0 0105ab\n17 \n"), "{text}");
            assert!(
                text.starts_with(&format!(
                    "# skyfence evidence leaves, bundle format {version}:"
                )),
                "{text}"
            );
        }
        let proofs = vec![(3u64, vec![[0xaa; 32], [0x01; 32]]), (4, vec![])];
        let back = read_proofs(&write_proofs(&proofs, 2)).unwrap();
        assert_eq!(back[&3], proofs[0].1);
        assert!(back[&4].is_empty());
    }

    #[test]
    fn malformed_lines_are_named() {
        let e = read_leaves(b"# c\n5 0g\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("leaves.txt line 2"), "{e}");
        let e = read_proofs(b"1 abcd\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("\"abcd\" is not 64 lowercase hex digits"),
            "{e}"
        );
        // Other spellings of the same bytes or index are refused: the text is canonical.
        assert!(read_leaves(b"1 0A\n").is_err());
        assert!(read_leaves(b"1 +a\n").is_err());
        assert!(read_leaves(b"+1 0a\n").is_err());
        assert!(read_leaves(b"01 0a\n").is_err());
        assert!(read_leaves(b"0 0a\n").is_ok());
        assert!(read_proofs(format!("1 {}\n", "A".repeat(64)).as_bytes()).is_err());
        let e = read_proofs(b"1\n1\n").unwrap_err();
        assert!(e.to_string().contains("a second proof for leaf 1"), "{e}");
    }

    #[test]
    fn zip_round_trip_is_deterministic() {
        let mut b = Bundle::default();
        b.files.insert("bundle.json".into(), b"{}\n".to_vec());
        b.files.insert("keys/log.vkey".into(), b"k\n".to_vec());
        let one = b.write_zip(std::io::Cursor::new(Vec::new())).unwrap();
        let two = b.write_zip(std::io::Cursor::new(Vec::new())).unwrap();
        assert_eq!(one.get_ref(), two.get_ref());
        let back = Bundle::read_zip(std::io::Cursor::new(one.into_inner())).unwrap();
        assert_eq!(back, b);
        assert!(Bundle::read_zip(std::io::Cursor::new(b"not a zip".to_vec())).is_err());
    }
}
