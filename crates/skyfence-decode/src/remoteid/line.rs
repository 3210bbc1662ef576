//! The `remoteid` text format: one received Remote ID record per line,
//! `TIMESTAMP,RECEIVER,RSSI,TRANSMITTER,HEX` (docs/INTERFACES.md, "Input formats"):
//!
//! - `TIMESTAMP`: Unix seconds with an optional fraction (read exactly, as `raw`);
//! - `RECEIVER`: the receiver's name, printable ASCII without spaces, at most 24
//!   characters; may be empty;
//! - `RSSI`: received signal strength, dBm (−128 to 20, a fraction is rounded); may be
//!   empty;
//! - `TRANSMITTER`: the Bluetooth advertiser address or Wi-Fi source MAC,
//!   `aa:bb:cc:dd:ee:ff` (either case); may be empty for a message pack (a pack carries
//!   its own Basic ID);
//! - `HEX`: one 25-byte message (50 digits) or a message pack (3 + 25 × count bytes).
//!
//! A line starting with `[` or `{` is a receiver's JSON document instead (DragonSync,
//! DroneID; [`super::json`]).
//!
//! Skipped silently: blank lines, `#` comments and the header
//! `timestamp,receiver,rssi,transmitter,hex`. Spaces around fields and `\r\n` are
//! accepted.
//!
//! The codec frames records; what the messages say is judged by the ingest step
//! ([`crate::remoteid::assemble`]). Drops here: a line of other than five fields is
//! [`DropReason::Unparsable`] (a line without any comma: [`DropReason::Garbage`], its
//! bytes); an unreadable time [`DropReason::BadTimestamp`]; a bad receiver name, RSSI or
//! address [`DropReason::Unparsable`]; a non-hex record [`DropReason::BadHex`]; a record
//! that is neither 25 bytes nor 3 + 25 × (1–9) bytes [`DropReason::BadLength`], as is a
//! single message without a transmitter address (nothing says which drone sent it).

use std::fmt::Write as _;

use skyfence_core::{ShortName, Timestamp};

use super::message::{MESSAGE_LEN, MessageType, PACK_MAX_MESSAGES};
use crate::raw::parse_unix_seconds;
use crate::text::{Line, LineSplitter, decode_hex, is_hex, push_hex_upper};
use crate::{DropCounts, DropReason};

/// The longest record: a full message pack.
pub const MAX_RECORD: usize = 3 + PACK_MAX_MESSAGES * MESSAGE_LEN;

/// One received Remote ID record: a message or a message pack, who sent it, who heard
/// it, when and how strongly.
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// Receive time.
    pub at: Timestamp,
    /// The receiver's name, when given.
    pub receiver: Option<ShortName>,
    /// Received signal strength, dBm.
    pub rssi_dbm: Option<i8>,
    /// Bluetooth advertiser address or Wi-Fi source MAC.
    pub transmitter: Option<[u8; 6]>,
    len: u8,
    bytes: [u8; MAX_RECORD],
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut hex = String::new();
        push_hex_upper(&mut hex, self.data());
        f.debug_struct("Record")
            .field("at", &self.at)
            .field("receiver", &self.receiver)
            .field("rssi_dbm", &self.rssi_dbm)
            .field("transmitter", &self.transmitter.map(mac_string))
            .field("data", &hex)
            .finish()
    }
}

impl Record {
    /// A record of `data` (a 25-byte message or a message pack of 1–9 messages); `None`
    /// for any other length, or a single message without a transmitter.
    pub fn new(at: Timestamp, transmitter: Option<[u8; 6]>, data: &[u8]) -> Option<Self> {
        let pack = data.len() > MESSAGE_LEN;
        let valid = if pack {
            data.len() <= MAX_RECORD && (data.len() - 3).is_multiple_of(MESSAGE_LEN)
        } else {
            data.len() == MESSAGE_LEN && transmitter.is_some()
        };
        if !valid {
            return None;
        }
        let mut bytes = [0u8; MAX_RECORD];
        bytes[..data.len()].copy_from_slice(data);
        Some(Record {
            at,
            receiver: None,
            rssi_dbm: None,
            transmitter,
            len: data.len() as u8,
            bytes,
        })
    }

    /// The message or pack bytes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// Whether the record is a message pack.
    pub fn is_pack(&self) -> bool {
        self.bytes[0] >> 4 == MessageType::Pack as u8
    }

    /// The record as raw evidence bytes: the transmitter address (6 bytes) when known,
    /// then the message or pack. The lengths tell the two apart: a message or pack is
    /// 0 or 3 bytes past a multiple of 25, an addressed one 6 or 9 ([`Record::from_evidence`]).
    pub fn evidence_bytes(&self, out: &mut Vec<u8>) {
        if let Some(t) = self.transmitter {
            out.extend_from_slice(&t);
        }
        out.extend_from_slice(self.data());
    }

    /// Reads [`Record::evidence_bytes`] back, at `at`.
    pub fn from_evidence(at: Timestamp, bytes: &[u8]) -> Option<Self> {
        match bytes.len() % MESSAGE_LEN {
            0 | 3 => Record::new(at, None, bytes),
            6 | 9 if bytes.len() > 6 => {
                let (t, rest) = bytes.split_at(6);
                Record::new(at, Some(t.try_into().ok()?), rest)
            }
            _ => None,
        }
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn mac_string(mac: [u8; 6]) -> String {
    let mut s = String::with_capacity(17);
    for (i, b) in mac.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Reads `aa:bb:cc:dd:ee:ff` (either case).
pub fn parse_mac(text: &[u8]) -> Option<[u8; 6]> {
    if text.len() != 17 {
        return None;
    }
    let mut mac = [0u8; 6];
    for (i, m) in mac.iter_mut().enumerate() {
        if i > 0 && text[i * 3 - 1] != b':' {
            return None;
        }
        let mut b = [0u8; 1];
        decode_hex(&text[i * 3..i * 3 + 2], &mut b)?;
        *m = b[0];
    }
    Some(mac)
}

/// A streaming `remoteid` decoder: feed it chunks of any size; it keeps at most one
/// partial line between calls.
#[derive(Clone, Debug)]
pub struct RemoteIdLineDecoder {
    lines: LineSplitter,
    drops: DropCounts,
}

/// The longest line: a receiver's JSON document with every message spelled out is a
/// few kilobytes.
pub const MAX_LINE: usize = 16 * 1024;

impl Default for RemoteIdLineDecoder {
    fn default() -> Self {
        RemoteIdLineDecoder {
            lines: LineSplitter::with_max(MAX_LINE),
            drops: DropCounts::default(),
        }
    }
}

impl RemoteIdLineDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        RemoteIdLineDecoder::default()
    }

    /// Decodes the next chunk, calling `out` for every record.
    pub fn decode(&mut self, chunk: &[u8], out: &mut impl FnMut(Record)) {
        let drops = &mut self.drops;
        self.lines.feed(chunk, |line| handle_line(drops, line, out));
    }

    /// Ends the stream: a last line without a terminator is decoded as well.
    pub fn finish(&mut self, out: &mut impl FnMut(Record)) {
        let drops = &mut self.drops;
        self.lines.finish(|line| handle_line(drops, line, out));
    }

    /// What was dropped so far, by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }

    /// Decodes one whole buffer: the records and the drop counts.
    pub fn decode_all(bytes: &[u8]) -> (Vec<Record>, DropCounts) {
        let mut d = RemoteIdLineDecoder::new();
        let mut records = Vec::new();
        let mut push = |r| records.push(r);
        d.decode(bytes, &mut push);
        d.finish(&mut push);
        (records, d.drops)
    }
}

fn handle_line(drops: &mut DropCounts, line: Line<'_>, out: &mut impl FnMut(Record)) {
    let text = match line {
        Line::Text(t) => t.trim_ascii(),
        Line::Overlong(n) => {
            drops.add_n(DropReason::Garbage, n as u64);
            return;
        }
    };
    if text.is_empty() || text[0] == b'#' {
        return;
    }
    if matches!(text[0], b'[' | b'{') {
        // A receiver's JSON document (DragonSync, DroneID): see `super::json`.
        match super::json::record(text) {
            Ok(r) => out(r),
            Err(reason) => drops.add(reason),
        }
        return;
    }
    if !text.contains(&b',') {
        drops.add_n(DropReason::Garbage, text.len() as u64);
        return;
    }
    let mut fields = [&b""[..]; 5];
    let mut n = 0;
    for f in text.split(|&b| b == b',') {
        if n == fields.len() {
            drops.add(DropReason::Unparsable);
            return;
        }
        fields[n] = f.trim_ascii();
        n += 1;
    }
    if n != fields.len() {
        drops.add(DropReason::Unparsable);
        return;
    }
    let [time, receiver, rssi, transmitter, hex] = fields;
    if time.eq_ignore_ascii_case(b"timestamp") && hex.eq_ignore_ascii_case(b"hex") {
        return;
    }
    let Some(at) = parse_unix_seconds(time) else {
        drops.add(DropReason::BadTimestamp);
        return;
    };
    let receiver = match receiver {
        b"" => None,
        r => match std::str::from_utf8(r)
            .ok()
            .and_then(|s| ShortName::new(s).ok())
        {
            Some(name) => Some(name),
            None => {
                drops.add(DropReason::Unparsable);
                return;
            }
        },
    };
    let rssi_dbm = match rssi {
        b"" => None,
        r => match std::str::from_utf8(r)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
        {
            Some(v) if (-128.0..=20.0).contains(&v) => Some(v.round() as i8),
            _ => {
                drops.add(DropReason::Unparsable);
                return;
            }
        },
    };
    let transmitter = match transmitter {
        b"" => None,
        t => match parse_mac(t) {
            Some(mac) => Some(mac),
            None => {
                drops.add(DropReason::Unparsable);
                return;
            }
        },
    };
    if !is_hex(hex) {
        drops.add(DropReason::BadHex);
        return;
    }
    let mut bytes = [0u8; MAX_RECORD];
    let len = hex.len() / 2;
    if hex.len() % 2 != 0 || len > MAX_RECORD || decode_hex(hex, &mut bytes[..len]).is_none() {
        drops.add(DropReason::BadLength);
        return;
    }
    match Record::new(at, transmitter, &bytes[..len]) {
        Some(mut r) => {
            r.receiver = receiver;
            r.rssi_dbm = rssi_dbm;
            out(r);
        }
        None => drops.add(DropReason::BadLength),
    }
}

/// Appends `record` as one `remoteid` line: the time as Unix seconds with six decimals,
/// the receiver, the RSSI, the transmitter, the record in uppercase hex, `\n`.
pub fn encode_line(record: &Record, out: &mut String) {
    let micros = record.at.as_micros();
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    let _ = write!(out, "{sign}{}.{:06},", abs / 1_000_000, abs % 1_000_000);
    if let Some(r) = record.receiver {
        out.push_str(r.as_str());
    }
    out.push(',');
    if let Some(r) = record.rssi_dbm {
        let _ = write!(out, "{r}");
    }
    out.push(',');
    if let Some(t) = record.transmitter {
        out.push_str(&mac_string(t));
    }
    out.push(',');
    push_hex_upper(out, record.data());
    out.push('\n');
}
