//! The codec trait: every sensor format, whatever its framing, is bytes in chunks →
//! [`Item`]s, with what it rejected counted by reason ([`DropCounts`]) and, for formats
//! whose times come from a receiver clock, that clock's discontinuities ([`ClockStats`]).
//!
//! The concrete decoders ([`BeastDecoder`], [`AvrDecoder`], [`RawDecoder`],
//! [`SbsDecoder`], [`AsterixDecoder`], [`RemoteIdLineDecoder`]) keep their own generic `decode` methods (the fast path the benches
//! measure); the trait is the object-safe face the format registry ([`crate::format`])
//! hands out, so readers, live sources and the fuzzer drive any format alike.

use skyfence_core::Timestamp;

use crate::asterix::{AsterixDecoder, AsterixItem};
use crate::avr::AvrDecoder;
use crate::beast::{BeastClock, BeastDecoder, ClockStats};
use crate::raw::RawDecoder;
use crate::remoteid::line::{Record as RemoteIdRecord, RemoteIdLineDecoder};
use crate::sbs::SbsDecoder;
use crate::{DropCounts, Frame, Message};

/// What a codec delivers: a Mode S frame still to be decoded, a message the receiver
/// already decoded (SBS), an ASTERIX record (decoded with its raw bytes), or a received
/// Remote ID record.
///
/// Kept small (a frame's 48 bytes and a tag): items are queued and moved once per frame,
/// and a 144-byte decoded message inline made every Beast frame pay for copying it. The
/// rare large variants are boxed.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A Mode S frame.
    Frame(Frame),
    /// An already-decoded message.
    Decoded(Box<Message>),
    /// An ASTERIX record (boxed: Mode S items stay small).
    Asterix(Box<AsterixItem>),
    /// A Remote ID message or message pack with its receive time, receiver, RSSI and
    /// transmitter (boxed: a pack is up to 228 bytes, Mode S items stay small).
    RemoteId(Box<RemoteIdRecord>),
}

impl Item {
    /// The item's time.
    pub fn at(&self) -> Timestamp {
        match self {
            Item::Frame(f) => f.at,
            Item::Decoded(m) => m.at,
            Item::Asterix(a) => a.at,
            Item::RemoteId(r) => r.at,
        }
    }

    /// Replaces the item's time (live sources stamp items with their receive time).
    pub fn set_at(&mut self, at: Timestamp) {
        match self {
            Item::Frame(f) => f.at = at,
            Item::Decoded(m) => m.at = at,
            Item::Asterix(a) => a.at = at,
            Item::RemoteId(r) => r.at = at,
        }
    }
}

/// How receiver timestamps (Beast, AVR) become times.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockOptions {
    /// The time at which the 12 MHz counter read zero (`--start`); the Unix epoch if unset.
    pub start: Option<Timestamp>,
    /// Read Beast timestamps as Radarcape GPS time of day (on the date of `start`).
    pub gps: bool,
}

impl ClockOptions {
    /// The [`BeastClock`] these options describe.
    pub fn beast_clock(self) -> BeastClock {
        let start = self.start.unwrap_or(Timestamp::EPOCH);
        if self.gps {
            BeastClock::RadarcapeGps { date: start }
        } else {
            BeastClock::Counter12Mhz { start }
        }
    }
}

/// A streaming decoder of one sensor format: feed it the stream in chunks of any size
/// (the items do not depend on where the chunks are cut), then call [`Codec::finish`].
pub trait Codec: Send {
    /// Decodes the next chunk, calling `out` for every complete item.
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item));

    /// Ends the stream: a last record without its terminator is decoded or counted.
    fn finish(&mut self, out: &mut dyn FnMut(Item));

    /// What was dropped so far, by reason.
    fn drops(&self) -> &DropCounts;

    /// Wraps and restarts of the receiver clock so far; `None` for formats whose times
    /// do not come from a receiver clock.
    fn clock_stats(&self) -> Option<ClockStats> {
        None
    }
}

impl Codec for BeastDecoder {
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        BeastDecoder::decode(self, chunk, &mut |f| out(Item::Frame(f)));
    }

    fn finish(&mut self, _out: &mut dyn FnMut(Item)) {
        // A Beast record is complete or counted as truncated: nothing to hand out.
        BeastDecoder::finish(self);
    }

    fn drops(&self) -> &DropCounts {
        BeastDecoder::drops(self)
    }

    fn clock_stats(&self) -> Option<ClockStats> {
        Some(BeastDecoder::clock_stats(self))
    }
}

impl Codec for AvrDecoder {
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        AvrDecoder::decode(self, chunk, &mut |f| out(Item::Frame(f)));
    }

    fn finish(&mut self, out: &mut dyn FnMut(Item)) {
        AvrDecoder::finish(self, &mut |f| out(Item::Frame(f)));
    }

    fn drops(&self) -> &DropCounts {
        AvrDecoder::drops(self)
    }

    fn clock_stats(&self) -> Option<ClockStats> {
        Some(AvrDecoder::clock_stats(self))
    }
}

impl Codec for RawDecoder {
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        RawDecoder::decode(self, chunk, &mut |f| out(Item::Frame(f)));
    }

    fn finish(&mut self, out: &mut dyn FnMut(Item)) {
        RawDecoder::finish(self, &mut |f| out(Item::Frame(f)));
    }

    fn drops(&self) -> &DropCounts {
        RawDecoder::drops(self)
    }
}

impl Codec for SbsDecoder {
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        SbsDecoder::decode(self, chunk, &mut |m| out(Item::Decoded(Box::new(m))));
    }

    fn finish(&mut self, out: &mut dyn FnMut(Item)) {
        SbsDecoder::finish(self, &mut |m| out(Item::Decoded(Box::new(m))));
    }

    fn drops(&self) -> &DropCounts {
        SbsDecoder::drops(self)
    }
}

impl Codec for AsterixDecoder {
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        AsterixDecoder::decode(self, chunk, &mut |at, report, record| {
            out(Item::Asterix(Box::new(crate::asterix::item(
                at, report, record,
            ))));
        });
    }

    fn finish(&mut self, _out: &mut dyn FnMut(Item)) {
        // A block is complete or counted as truncated: nothing to hand out.
        AsterixDecoder::finish(self);
    }

    fn drops(&self) -> &DropCounts {
        AsterixDecoder::drops(self)
    }
}

impl Codec for RemoteIdLineDecoder {
    fn decode(&mut self, chunk: &[u8], out: &mut dyn FnMut(Item)) {
        RemoteIdLineDecoder::decode(self, chunk, &mut |r| out(Item::RemoteId(Box::new(r))));
    }

    fn finish(&mut self, out: &mut dyn FnMut(Item)) {
        RemoteIdLineDecoder::finish(self, &mut |r| out(Item::RemoteId(Box::new(r))));
    }

    fn drops(&self) -> &DropCounts {
        RemoteIdLineDecoder::drops(self)
    }
}

/// Decodes a whole buffer through any codec: its items and drop counts.
pub fn decode_all(codec: &mut dyn Codec, bytes: &[u8]) -> (Vec<Item>, DropCounts) {
    let mut items = Vec::new();
    codec.decode(bytes, &mut |i| items.push(i));
    codec.finish(&mut |i| items.push(i));
    (items, *codec.drops())
}
