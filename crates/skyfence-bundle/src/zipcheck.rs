//! The zip container's structure, checked before any entry is inflated.
//!
//! A zip archive names each file twice: in its local header (which `unzip` and other
//! streaming readers follow) and in the central directory at the end (which the `zip`
//! crate follows, keeping the last entry of a name). A bundle whose two views differ could
//! show a forged `incident.json` in `unzip` while verifying the genuine one, so a bundle
//! must have exactly one view: every central directory entry names a distinct file, its
//! local header agrees with it (name, method, sizes and CRC unless the sizes follow in a
//! data descriptor), entries do not overlap and lie before the central directory, and
//! the declared inflated sizes add up to at most [`MAX_TOTAL_BYTES`].
//!
//! Written by hand (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16): the `zip` crate has no API for the
//! duplicate entries it merges or the local headers it does not compare, and only these
//! fixed-layout records are read.

use std::collections::BTreeSet;
use std::io::{Read, Seek, SeekFrom};

use super::archive::{ArchiveError, MAX_FILES, MAX_TOTAL_BYTES};

const EOCD_SIG: u32 = 0x0605_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const LOCAL_SIG: u32 = 0x0403_4b50;
const EOCD_LEN: usize = 22;
const CENTRAL_LEN: usize = 46;
const LOCAL_LEN: usize = 30;
/// The end record's comment is at most 65535 bytes.
const EOCD_SEARCH: u64 = EOCD_LEN as u64 + 0xffff;
/// General purpose flag bit 3: CRC and sizes follow the data in a data descriptor.
const DATA_DESCRIPTOR: u16 = 1 << 3;

/// One central directory entry, as far as the check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name, as stored.
    pub name: Vec<u8>,
    /// General purpose flags.
    pub flags: u16,
    /// Compression method.
    pub method: u16,
    /// CRC-32 of the inflated data.
    pub crc32: u32,
    /// Stored (compressed) size.
    pub compressed: u64,
    /// Inflated size.
    pub inflated: u64,
    /// Where the local header starts.
    pub local_offset: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn malformed(what: impl Into<String>) -> ArchiveError {
    ArchiveError::Malformed(what.into())
}

fn name_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Checks the archive's structure (see the module documentation) and returns its central
/// directory entries. Reads only headers; `input` is left at an unspecified position.
pub fn check<R: Read + Seek>(input: &mut R) -> Result<Vec<Entry>, ArchiveError> {
    let len = input.seek(SeekFrom::End(0))?;
    let tail_len = len.min(EOCD_SEARCH);
    input.seek(SeekFrom::Start(len - tail_len))?;
    let mut tail = vec![0; usize::try_from(tail_len).unwrap_or(0)];
    input.read_exact(&mut tail)?;
    // The last end record whose comment reaches exactly to the end of the file.
    let eocd = (0..tail.len().saturating_sub(EOCD_LEN - 1))
        .rev()
        .find(|&i| {
            u32_at(&tail, i) == EOCD_SIG
                && i + EOCD_LEN + usize::from(u16_at(&tail, i + 20)) == tail.len()
        })
        .ok_or_else(|| malformed("no end of central directory record"))?;
    let e = &tail[eocd..];
    let (disk, cd_disk) = (u16_at(e, 4), u16_at(e, 6));
    let (on_disk, count) = (u16_at(e, 8), u16_at(e, 10));
    let (cd_size, cd_offset) = (u64::from(u32_at(e, 12)), u64::from(u32_at(e, 16)));
    if count == 0xffff || cd_size == 0xffff_ffff || cd_offset == 0xffff_ffff {
        return Err(malformed(
            "a zip64 archive (a bundle is far smaller than zip64's sizes)",
        ));
    }
    if disk != 0 || cd_disk != 0 || on_disk != count {
        return Err(malformed("a multi-disk archive"));
    }
    if usize::from(count) > MAX_FILES {
        return Err(ArchiveError::TooManyFiles(usize::from(count)));
    }
    let eocd_at = len - tail_len + eocd as u64;
    if cd_offset.checked_add(cd_size) != Some(eocd_at) {
        return Err(malformed(format!(
            "the central directory ({cd_size} bytes at {cd_offset}) does not end where its end record starts ({eocd_at})"
        )));
    }
    input.seek(SeekFrom::Start(cd_offset))?;
    let mut cd = vec![0; usize::try_from(cd_size).unwrap_or(0)];
    input.read_exact(&mut cd)?;

    let mut entries = Vec::with_capacity(usize::from(count));
    let mut at = 0;
    for i in 0..count {
        if cd.len() < at + CENTRAL_LEN || u32_at(&cd, at) != CENTRAL_SIG {
            return Err(malformed(format!("central directory entry {i} is not one")));
        }
        let h = &cd[at..];
        let (n, m, k) = (
            usize::from(u16_at(h, 28)),
            usize::from(u16_at(h, 30)),
            usize::from(u16_at(h, 32)),
        );
        let end = at + CENTRAL_LEN + n + m + k;
        if cd.len() < end {
            return Err(malformed(format!(
                "central directory entry {i} runs past the directory"
            )));
        }
        entries.push(Entry {
            name: h[CENTRAL_LEN..CENTRAL_LEN + n].to_vec(),
            flags: u16_at(h, 8),
            method: u16_at(h, 10),
            crc32: u32_at(h, 16),
            compressed: u64::from(u32_at(h, 20)),
            inflated: u64::from(u32_at(h, 24)),
            local_offset: u64::from(u32_at(h, 42)),
        });
        at = end;
    }
    if at != cd.len() {
        return Err(malformed(format!(
            "{} bytes after the last central directory entry",
            cd.len() - at
        )));
    }

    let mut names = BTreeSet::new();
    let mut total: u64 = 0;
    for entry in &entries {
        if !names.insert(entry.name.as_slice()) {
            return Err(ArchiveError::Duplicate(name_of(&entry.name)));
        }
        total = total.saturating_add(entry.inflated);
    }
    if total > MAX_TOTAL_BYTES {
        return Err(ArchiveError::TotalTooLarge(total));
    }

    // Local headers agree with the directory, and entries neither overlap nor reach into
    // the directory.
    let mut spans: Vec<(u64, u64, &[u8])> = Vec::with_capacity(entries.len());
    for entry in &entries {
        let name = name_of(&entry.name);
        let disagree = |what: &str| ArchiveError::LocalHeader {
            name: name.clone(),
            what: what.to_owned(),
        };
        input.seek(SeekFrom::Start(entry.local_offset))?;
        let mut h = [0u8; LOCAL_LEN];
        input
            .read_exact(&mut h)
            .map_err(|_| disagree("its local header lies past the end of the archive"))?;
        if u32_at(&h, 0) != LOCAL_SIG {
            return Err(disagree("no local header where the directory points"));
        }
        let (n, m) = (usize::from(u16_at(&h, 26)), usize::from(u16_at(&h, 28)));
        let mut local_name = vec![0; n];
        input
            .read_exact(&mut local_name)
            .map_err(|_| disagree("its local header lies past the end of the archive"))?;
        if local_name != entry.name {
            return Err(disagree(&format!(
                "the local header names {:?}",
                name_of(&local_name)
            )));
        }
        if u16_at(&h, 8) != entry.method {
            return Err(disagree("the compression method differs"));
        }
        if u16_at(&h, 6) & DATA_DESCRIPTOR != entry.flags & DATA_DESCRIPTOR {
            return Err(disagree("the data descriptor flag differs"));
        }
        if entry.flags & DATA_DESCRIPTOR == 0
            && (u32_at(&h, 14) != entry.crc32
                || u64::from(u32_at(&h, 18)) != entry.compressed
                || u64::from(u32_at(&h, 22)) != entry.inflated)
        {
            return Err(disagree("the CRC or sizes differ"));
        }
        let data_end = entry.local_offset + (LOCAL_LEN + n + m) as u64 + entry.compressed;
        if data_end > cd_offset {
            return Err(disagree("its data runs into the central directory"));
        }
        spans.push((entry.local_offset, data_end, &entry.name));
    }
    spans.sort_unstable();
    for pair in spans.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(ArchiveError::LocalHeader {
                name: name_of(pair[1].2),
                what: format!("its data overlaps that of {:?}", name_of(pair[0].2)),
            });
        }
    }
    Ok(entries)
}
