//! A simulation's radar and Remote ID recordings as the datagrams a live feed sends:
//! one ASTERIX data block per datagram (as radars send them), one Remote ID line per
//! datagram, each with its time. `skyfence demo` and the live tests play these over
//! loopback UDP.

use std::path::Path;

use skyfence_core::Timestamp;
use skyfence_decode::DropCounts;
use skyfence_decode::asterix::{DayClock, decode_block};

/// One datagram and when to send it.
#[derive(Clone, Debug, PartialEq)]
pub struct Datagram {
    /// The time of its first record.
    pub at: Timestamp,
    /// The payload.
    pub bytes: Vec<u8>,
}

/// The data blocks of an `asterix.ast` recording whose times of day fall on the date of
/// `start`, each with the time of its first record (blocks without a timed record
/// take the previous block's time).
pub fn asterix_datagrams(bytes: &[u8], start: Timestamp) -> Vec<Datagram> {
    let mut out = Vec::new();
    let mut clock = DayClock::new(start);
    let mut drops = DropCounts::default();
    let mut pos = 0;
    let mut last = start;
    while pos + 3 <= bytes.len() {
        let len = usize::from(u16::from_be_bytes([bytes[pos + 1], bytes[pos + 2]]));
        if len < 3 || pos + len > bytes.len() {
            break;
        }
        let block = &bytes[pos..pos + len];
        let mut first = None;
        decode_block(block, &mut drops, &mut |r, _| {
            if first.is_none() {
                first = clock.at(r.time_of_day);
            }
        });
        last = first.unwrap_or(last);
        out.push(Datagram {
            at: last,
            bytes: block.to_vec(),
        });
        pos += len;
    }
    out
}

/// The lines of a `remoteid.csv` recording (header skipped), each with its time.
pub fn remoteid_datagrams(text: &str) -> Vec<Datagram> {
    text.lines()
        .filter_map(|line| {
            let secs: f64 = line.split(',').next()?.parse().ok()?;
            Some(Datagram {
                at: Timestamp::from_micros((secs * 1e6).round() as i64),
                bytes: line.as_bytes().to_vec(),
            })
        })
        .collect()
}

/// The feeds of a simulation's output directory: ASTERIX datagrams (empty without
/// `asterix.ast`) and Remote ID datagrams (empty without `remoteid.csv`).
pub fn read(dir: &Path, start: Timestamp) -> std::io::Result<(Vec<Datagram>, Vec<Datagram>)> {
    let asterix = match std::fs::read(dir.join("asterix.ast")) {
        Ok(b) => asterix_datagrams(&b, start),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let remoteid = match std::fs::read_to_string(dir.join("remoteid.csv")) {
        Ok(t) => remoteid_datagrams(&t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    Ok((asterix, remoteid))
}
