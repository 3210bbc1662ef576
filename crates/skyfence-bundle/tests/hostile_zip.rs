//! Hostile zip containers: each is refused by `verify` (the library run behind
//! `skyfence verify` and `skyfence-verify`) with a reason that names what is wrong, before
//! anything is inflated.
//!
//! Regression: the `zip` crate keeps the last central directory entry of a name, so a
//! bundle with forged files first and the genuine ones after them used to verify while
//! `unzip` showed the forgeries.

use std::io::Cursor;
use std::path::Path;

use skyfence_bundle::archive::{ArchiveError, Bundle, MAX_TOTAL_BYTES};
use skyfence_bundle::run::verify_file;

/// One stored (uncompressed) entry of a hand-built archive.
struct Raw {
    /// The name in the local header.
    local_name: &'static str,
    /// The name in the central directory.
    central_name: &'static str,
    data: Vec<u8>,
    /// The inflated size both headers declare (the data's length when `None`).
    declared: Option<u32>,
}

impl Raw {
    fn new(name: &'static str, data: &[u8]) -> Raw {
        Raw {
            local_name: name,
            central_name: name,
            data: data.to_vec(),
            declared: None,
        }
    }
}

/// A zip archive (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16) of stored entries, written field by
/// field so it can say things the `zip` crate's writer refuses to.
fn raw_zip(entries: &[Raw]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in entries {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(&e.data);
        let size = e.declared.unwrap_or(e.data.len() as u32);
        let common = |v: &mut Vec<u8>, name: &str| {
            v.extend_from_slice(&0u16.to_le_bytes()); // flags
            v.extend_from_slice(&0u16.to_le_bytes()); // method: stored
            v.extend_from_slice(&0u32.to_le_bytes()); // time, date
            v.extend_from_slice(&crc.to_le_bytes());
            v.extend_from_slice(&size.to_le_bytes()); // compressed
            v.extend_from_slice(&size.to_le_bytes()); // inflated
            v.extend_from_slice(&(name.len() as u16).to_le_bytes());
            v.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes());
        common(&mut out, e.local_name);
        out.extend_from_slice(e.local_name.as_bytes());
        out.extend_from_slice(&e.data);

        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        common(&mut central, e.central_name);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(e.central_name.as_bytes());
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// `verify_file` on `bytes` written to a file: the refusal's text.
fn refusal(dir: &Path, label: &str, bytes: &[u8]) -> String {
    let path = dir.join(format!("{label}.zip"));
    std::fs::write(&path, bytes).unwrap();
    match verify_file(&path, &[]) {
        Ok(run) => panic!("{label}: verified: {:?}", run.lines),
        Err(e) => e.0,
    }
}

#[test]
fn a_hand_built_archive_of_distinct_entries_reads() {
    let bytes = raw_zip(&[Raw::new("a.txt", b"one"), Raw::new("b/c.txt", b"two")]);
    let bundle = Bundle::read_zip(Cursor::new(bytes)).unwrap();
    assert_eq!(bundle.get("a.txt"), Some(&b"one"[..]));
    assert_eq!(bundle.get("b/c.txt"), Some(&b"two"[..]));
}

#[test]
fn a_name_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = raw_zip(&[
        Raw::new("incident.json", b"{\"forged\":true}"),
        Raw::new("bundle.json", b"{}"),
        Raw::new("incident.json", b"{\"genuine\":true}"),
    ]);
    let e = Bundle::read_zip(Cursor::new(bytes.clone())).unwrap_err();
    assert!(
        matches!(e, ArchiveError::Duplicate(ref n) if n == "incident.json"),
        "{e}"
    );
    let text = refusal(dir.path(), "duplicate", &bytes);
    assert!(
        text.contains("not a readable evidence bundle: archive holds \"incident.json\" twice"),
        "{text}"
    );
}

#[test]
fn a_local_header_that_names_another_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut forged = Raw::new("incident.json", b"{}");
    forged.local_name = "report.html";
    let bytes = raw_zip(&[Raw::new("bundle.json", b"{}"), forged]);
    let text = refusal(dir.path(), "local-name", &bytes);
    assert!(
        text.contains(
            "archive entry \"incident.json\": local header disagrees with the central directory: \
             the local header names \"report.html\""
        ),
        "{text}"
    );
}

#[test]
fn a_local_header_with_other_sizes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = raw_zip(&[Raw::new("incident.json", b"{\"a\":1}")]);
    // The local header's inflated size (offset 22) says one byte more.
    bytes[22] += 1;
    let text = refusal(dir.path(), "local-size", &bytes);
    assert!(
        text.contains("local header disagrees with the central directory: the CRC or sizes differ"),
        "{text}"
    );
}

#[test]
fn entries_declaring_more_than_the_total_limit_are_refused_before_inflating() {
    let dir = tempfile::tempdir().unwrap();
    // Eight entries each declaring 200 MiB, each 1 byte long: nothing could be inflated
    // without reading past the data, so only the declared sizes can refuse it.
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let entries: Vec<Raw> = names
        .iter()
        .map(|n| Raw {
            declared: Some(200 << 20),
            ..Raw::new(n, b"x")
        })
        .collect();
    let bytes = raw_zip(&entries);
    let e = Bundle::read_zip(Cursor::new(bytes.clone())).unwrap_err();
    assert!(
        matches!(e, ArchiveError::TotalTooLarge(n) if n == 8 * (200 << 20)),
        "{e}"
    );
    let text = refusal(dir.path(), "total", &bytes);
    assert!(
        text.contains(&format!(
            "archive files inflate to {} bytes together: at most {MAX_TOTAL_BYTES} expected",
            8u64 * (200 << 20)
        )),
        "{text}"
    );
}

#[test]
fn trailing_garbage_and_truncation_are_refused_by_name() {
    let good = raw_zip(&[Raw::new("a.txt", b"one")]);
    let mut cut = good.clone();
    cut.truncate(good.len() - 5);
    let e = Bundle::read_zip(Cursor::new(cut)).unwrap_err();
    assert!(
        e.to_string().contains("no end of central directory record"),
        "{e}"
    );
    let e = Bundle::read_zip(Cursor::new(b"PK\x05\x06".to_vec())).unwrap_err();
    assert!(e.to_string().contains("archive structure"), "{e}");
}
