//! The `raw` text format: one frame per line as `TIMESTAMP,HEX`, the shape of
//! rs1090's and pyModeS's recordings (e.g. rs1090 `data/short_flights.csv`:
//! `1753827785.8086092,8DADA5265851E6616376C2EB4463`).
//!
//! - `TIMESTAMP`: Unix seconds, optionally negative, with an optional fraction of any
//!   length, read exactly (no `f64`) and rounded to the nearest microsecond.
//! - `HEX`: 14 or 28 hex digits, either case; or, as in rs1090's original
//!   `data/long_flight.csv`, a whole un-escaped Beast message in hex (`1a32`/`1a33`,
//!   the 6-byte 12 MHz counter, the signal byte, the frame: 32 or 46 digits), whose
//!   counter and signal are kept in [`Frame::counter`] and `raw.signal` (the time is
//!   still `TIMESTAMP`).
//! - Skipped silently: blank lines, `#` comments, and the header `timestamp,rawmsg`.
//! - Spaces around either field and `\r\n` line ends are accepted.
//!
//! Times are taken as they are, including steps backwards (the recording is the
//! evidence; ordering is the consumer's concern).
//!
//! Drops: a line without a comma is [`DropReason::Garbage`] (its bytes); an unreadable
//! timestamp [`DropReason::BadTimestamp`]; a non-hex character in the frame
//! [`DropReason::BadHex`]; any other number of digits [`DropReason::BadLength`].

use std::fmt::Write as _;

use skyfence_core::{RawFrame, Timestamp};

use crate::text::{Line, LineSplitter, decode_hex, hex_u64, is_hex, push_hex_upper};
use crate::{DropCounts, DropReason, Frame};

/// A streaming `raw` decoder: feed it chunks of any size; it keeps at most one partial
/// line between calls and allocates nothing per frame.
#[derive(Clone, Debug, Default)]
pub struct RawDecoder {
    lines: LineSplitter,
    drops: DropCounts,
}

impl RawDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        RawDecoder::default()
    }

    /// Decodes one whole buffer: the frames and the drop counts.
    pub fn decode_all(bytes: &[u8]) -> (Vec<Frame>, DropCounts) {
        let mut d = RawDecoder::new();
        let mut frames = Vec::with_capacity(bytes.len() / 40);
        let mut push = |f| frames.push(f);
        d.decode(bytes, &mut push);
        d.finish(&mut push);
        (frames, d.drops)
    }

    /// Decodes the next chunk, calling `out` for every complete frame.
    pub fn decode(&mut self, chunk: &[u8], out: &mut impl FnMut(Frame)) {
        let drops = &mut self.drops;
        self.lines.feed(chunk, |line| handle_line(drops, line, out));
    }

    /// Ends the stream: a last line without a terminator is decoded as well.
    pub fn finish(&mut self, out: &mut impl FnMut(Frame)) {
        let drops = &mut self.drops;
        self.lines.finish(|line| handle_line(drops, line, out));
    }

    /// What was dropped so far, by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }
}

fn handle_line(drops: &mut DropCounts, line: Line<'_>, out: &mut impl FnMut(Frame)) {
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
    let Some(comma) = text.iter().position(|&b| b == b',') else {
        drops.add_n(DropReason::Garbage, text.len() as u64);
        return;
    };
    let (time, hex) = (text[..comma].trim_ascii(), text[comma + 1..].trim_ascii());
    if time.eq_ignore_ascii_case(b"timestamp") && hex.eq_ignore_ascii_case(b"rawmsg") {
        return;
    }
    let Some(at) = parse_unix_seconds(time) else {
        drops.add(DropReason::BadTimestamp);
        return;
    };
    let (beast, hex) = split_beast_prefix(hex);
    let mut bytes = [0u8; 14];
    let len = hex.len() / 2;
    if !((hex.len() == 14 || hex.len() == 28) && decode_hex(hex, &mut bytes[..len]).is_some()) {
        drops.add(if is_hex(hex) {
            DropReason::BadLength
        } else {
            DropReason::BadHex
        });
        return;
    }
    let (counter, signal) = match beast.map(|b| (hex_u64(&b[4..16]), hex_u64(&b[16..18]))) {
        None => (None, None),
        Some((Some(counter), Some(signal))) => {
            (Some(counter), (signal != 0).then_some(signal as u8))
        }
        Some(_) => {
            drops.add(DropReason::BadHex);
            return;
        }
    };
    out(Frame {
        at,
        counter,
        raw: RawFrame {
            bytes,
            len: len as u8,
            signal,
            mlat: false,
        },
    });
}

/// Splits a Beast-message prefix (`1a32`/`1a33`, 12 digits of counter, 2 of signal) off
/// a hex field of the matching length: (prefix, frame digits).
fn split_beast_prefix(hex: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let kind = match hex.get(..4) {
        Some(k) if k.eq_ignore_ascii_case(b"1a32") => 14,
        Some(k) if k.eq_ignore_ascii_case(b"1a33") => 28,
        _ => return (None, hex),
    };
    if hex.len() == 18 + kind {
        let (prefix, frame) = hex.split_at(18);
        (Some(prefix), frame)
    } else {
        (None, hex)
    }
}

/// Reads `[-]SECONDS[.FRACTION]` as a [`Timestamp`], exactly: the fraction is rounded to
/// the nearest microsecond (half away from zero). `None` for anything else, or a time
/// outside ±292 000 years.
pub fn parse_unix_seconds(text: &[u8]) -> Option<Timestamp> {
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let (int, frac) = match text.iter().position(|&b| b == b'.') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &[][..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.iter().chain(frac).all(u8::is_ascii_digit) || int.len() > 15 {
        return None;
    }
    let secs = int
        .iter()
        .fold(0i64, |acc, &d| acc * 10 + i64::from(d - b'0'));
    let mut micros = 0i64;
    for i in 0..6 {
        micros = micros * 10 + frac.get(i).map_or(0, |&d| i64::from(d - b'0'));
    }
    if frac.get(6).is_some_and(|&d| d >= b'5') {
        micros += 1;
    }
    let total = secs.checked_mul(1_000_000)?.checked_add(micros)?;
    Some(Timestamp::from_micros(if negative {
        -total
    } else {
        total
    }))
}

/// Appends `frame` as one `raw` line: the time as Unix seconds with six decimals (exact),
/// a comma, the frame in uppercase hex, `\n`. Frames of a length other than 7 or 14
/// bytes have no `raw` form: nothing is written.
pub fn encode_raw_line(frame: &Frame, out: &mut String) {
    if frame.raw.len != 7 && frame.raw.len != 14 {
        return;
    }
    let micros = frame.at.as_micros();
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    // Writing to a String cannot fail.
    let _ = write!(out, "{sign}{}.{:06},", abs / 1_000_000, abs % 1_000_000);
    push_hex_upper(out, frame.data());
    out.push('\n');
}
