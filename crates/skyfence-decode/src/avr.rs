//! AVR text framing: one Mode S frame per line in hexadecimal, as dump1090 and readsb
//! write on TCP port 30002 and the Mode-S Beast writes in AVR mode.
//!
//! Accepted records (the set readsb's `decodeHexMessage` in `net_io.c` reads):
//!
//! | line | content | time |
//! |---|---|---|
//! | `*HEX;` or `:HEX;` | the frame | the latest known time (below) |
//! | `@TTTTTTTTTTTTHEX;` | 12 hex digits of receiver timestamp, then the frame ("AVR-MLAT") | the timestamp, read as [`BeastClock`] says |
//! | `%TTTTTTTTTTTTHEX;` | as `@` (a receiver that checked the CRC) | as `@` |
//! | `<TTTTTTTTTTTTSSHEX;` | timestamp, signal byte (2 hex digits), frame | as `@` |
//!
//! `HEX` is 14 or 28 hex digits (Mode S short or long). Lines end in `\n` or `\r\n`;
//! spaces around a record and anything after its `;` (some receivers append
//! `(signal,quality,time)`) are ignored; blank lines are skipped.
//!
//! Lines without a timestamp carry no time of their own: they get the time of the latest
//! timestamped line, or the clock's start (`--start`) when there was none yet, so a
//! file of `*` lines all takes the `--start` time. The timestamp is handled exactly as in
//! Beast (wraps, restarts, MLAT magic; see [`crate::beast`]).
//!
//! Drops: a 4-digit Mode A/C reply is [`DropReason::SkippedRecord`] (except readsb's
//! heartbeat `*0000;`, which is ignored); a line not starting with one of the markers
//! above is [`DropReason::Garbage`] (its bytes); a record without `;` is
//! [`DropReason::Truncated`]; a non-hex character [`DropReason::BadHex`]; any other
//! number of digits [`DropReason::BadLength`]; a GPS timestamp out of range
//! [`DropReason::BadTimestamp`].

use std::fmt::Write as _;

use skyfence_core::RawFrame;

use crate::beast::{BeastClock, ClockStats, ReceiverClock, wire_counter};
use crate::text::{Line, LineSplitter, decode_hex, hex_u64, is_hex, push_hex_upper};
use crate::{DropCounts, DropReason, Frame};

/// A streaming AVR decoder: feed it chunks of any size; it keeps at most one partial
/// line between calls and allocates nothing per frame.
#[derive(Clone, Debug)]
pub struct AvrDecoder {
    clock: ReceiverClock,
    lines: LineSplitter,
    drops: DropCounts,
}

impl AvrDecoder {
    /// A decoder reading `@`/`%`/`<` timestamps according to `clock`.
    pub fn new(clock: BeastClock) -> Self {
        AvrDecoder {
            clock: ReceiverClock::new(clock),
            lines: LineSplitter::default(),
            drops: DropCounts::default(),
        }
    }

    /// Decodes one whole buffer: the frames and the drop counts.
    pub fn decode_all(clock: BeastClock, bytes: &[u8]) -> (Vec<Frame>, DropCounts) {
        let mut d = AvrDecoder::new(clock);
        let mut frames = Vec::with_capacity(bytes.len() / 30);
        let mut push = |f| frames.push(f);
        d.decode(bytes, &mut push);
        d.finish(&mut push);
        (frames, d.drops)
    }

    /// Decodes the next chunk, calling `out` for every complete frame.
    pub fn decode(&mut self, chunk: &[u8], out: &mut impl FnMut(Frame)) {
        let (clock, drops) = (&mut self.clock, &mut self.drops);
        self.lines
            .feed(chunk, |line| handle_line(clock, drops, line, out));
    }

    /// Ends the stream: a last line without a line terminator is decoded as well (a
    /// record cut short before its `;` counts as [`DropReason::Truncated`]).
    pub fn finish(&mut self, out: &mut impl FnMut(Frame)) {
        let (clock, drops) = (&mut self.clock, &mut self.drops);
        self.lines
            .finish(|line| handle_line(clock, drops, line, out));
    }

    /// What was dropped so far, by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }

    /// Wraps and restarts of the receiver clock so far.
    pub fn clock_stats(&self) -> ClockStats {
        self.clock.stats()
    }
}

fn handle_line(
    clock: &mut ReceiverClock,
    drops: &mut DropCounts,
    line: Line<'_>,
    out: &mut impl FnMut(Frame),
) {
    let text = match line {
        Line::Text(t) => t.trim_ascii(),
        Line::Overlong(n) => {
            drops.add_n(DropReason::Garbage, n as u64);
            return;
        }
    };
    let Some((&marker, rest)) = text.split_first() else {
        return;
    };
    let prefix_digits = match marker {
        b'*' | b':' => 0,
        b'@' | b'%' => 12,
        b'<' => 14,
        _ => {
            drops.add_n(DropReason::Garbage, text.len() as u64);
            return;
        }
    };
    let Some(end) = rest.iter().position(|&b| b == b';') else {
        drops.add(DropReason::Truncated);
        return;
    };
    let digits = &rest[..end];
    let (prefix, hex) = digits.split_at(prefix_digits.min(digits.len()));
    let mut bytes = [0u8; 14];
    let len = hex.len() / 2;
    // Happy path: one pass over the frame digits. Otherwise tell bad hex (first) from
    // a bad length.
    if !((len == 7 || len == 14) && decode_hex(hex, &mut bytes[..len]).is_some() && is_hex(prefix))
    {
        if !is_hex(digits) {
            drops.add(DropReason::BadHex);
        } else if prefix.len() < prefix_digits || !matches!(hex.len(), 4 | 14 | 28) {
            drops.add(DropReason::BadLength);
        } else if !(marker == b'*' && hex == b"0000") {
            // A 4-digit Mode A/C reply; readsb's heartbeat `*0000;` is not counted.
            drops.add(DropReason::SkippedRecord);
        }
        return;
    }
    let (counter, signal) = if prefix.is_empty() {
        (None, None)
    } else {
        let counter = hex_u64(&prefix[..12]);
        let signal = if prefix.len() == 14 {
            hex_u64(&prefix[12..]).map(|s| s as u8).filter(|&s| s != 0)
        } else {
            None
        };
        (counter, signal)
    };
    let (at, mlat) = match counter {
        None => (clock.last_time(), false),
        Some(c) => match clock.stamp(c) {
            Some(stamp) => stamp,
            None => {
                drops.add(DropReason::BadTimestamp);
                return;
            }
        },
    };
    out(Frame {
        at,
        counter,
        raw: RawFrame {
            bytes,
            len: len as u8,
            signal,
            mlat,
        },
    });
}

/// Appends `frame` as one AVR line: `@` + the 12-hex-digit timestamp + the frame when it
/// has a counter or is an MLAT frame (the timestamp as [`crate::beast::encode_beast`]
/// writes it), else `*` + the frame; uppercase hex, `;` and `\n`, as dump1090 writes.
/// Frames of a length other than 7 or 14 bytes have no AVR form: nothing is written.
pub fn encode_avr(frame: &Frame, out: &mut String) {
    if frame.raw.len != 7 && frame.raw.len != 14 {
        return;
    }
    if frame.counter.is_some() || frame.raw.mlat {
        // Writing to a String cannot fail.
        let _ = write!(out, "@{:012X}", wire_counter(frame));
    } else {
        out.push('*');
    }
    push_hex_upper(out, frame.data());
    out.push_str(";\n");
}
