//! Beast binary framing: the stream Mode-S Beast receivers, Radarcapes, dump1090 and
//! readsb send on TCP port 30005.
//!
//! # Wire format
//!
//! Every record starts with the escape byte `0x1a` and a type byte; every `0x1a` inside
//! a record is doubled (`0x1a 0x1a`). After un-escaping:
//!
//! | type | content | skyfence |
//! |---|---|---|
//! | `'1'` (0x31) | 6-byte timestamp, signal, 2-byte Mode A/C reply | skipped ([`DropReason::SkippedRecord`]); the all-zero record readsb sends as a heartbeat is ignored silently |
//! | `'2'` (0x32) | 6-byte timestamp, signal, 7-byte Mode S short frame | a [`Frame`] |
//! | `'3'` (0x33) | 6-byte timestamp, signal, 14-byte Mode S long frame | a [`Frame`] |
//! | `'4'` (0x34) | 6-byte timestamp, signal, 14 bytes of Radarcape status | skipped |
//! | `'5'` (0x35) | 21 bytes of Radarcape receiver position (no timestamp) | skipped |
//! | 0xe3 | readsb: 8-byte receiver id, sent before a frame when the id changes | skipped |
//! | 0xe4 | readsb: receiver UUID, 36 ASCII characters | skipped |
//!
//! Record lengths follow mlat-client's `modes_reader.c` (types `'1'`–`'5'`) and
//! readsb's `net_io.c` (0xe3, 0xe4). Any other type byte is not a record start: the two
//! bytes are counted as [`DropReason::Garbage`] and the decoder looks for the next
//! `0x1a`, as readsb does. A `0x1a` inside a record that is not followed by a second
//! `0x1a` starts a new record: the interrupted one counts as [`DropReason::Truncated`].
//!
//! # Time
//!
//! The 6-byte timestamp is read according to [`BeastClock`]; see there for the 12 MHz
//! counter (wrap and receiver restart) and Radarcape GPS time (day rollover). Three
//! values carry no time of reception: the MLAT magic `0xFF004D4C4154` (and the ten values
//! after it, which readsb and mlat-client also treat as synthetic) marks a frame
//! synthesised by multilateration: [`RawFrame::mlat`](skyfence_core::RawFrame) is set
//! and the frame takes the time of the latest real timestamp. A counter of 0 (dump1090-fa
//! without timestamps) or `0xFFFFFFFFFFFF` (readsb's "any time") also takes that time.
//! [`Frame::counter`] always holds the 48-bit value as received.
//!
//! # Signal
//!
//! The signal byte is kept in `raw.signal` as received (0, which readsb writes when it
//! has no level, becomes `None`); [`signal_dbfs`] converts it.

use skyfence_core::{RawFrame, Timestamp};

use crate::{DropCounts, DropReason, Frame};

/// The byte that starts every record and escapes itself inside one.
pub const ESCAPE: u8 = 0x1a;

/// The timestamp readsb and mlat-client put on frames synthesised by multilateration
/// ("MLAT" in ASCII after 0xFF00): such frames were not received over the air.
pub const MLAT_MAGIC: u64 = 0xFF00_4D4C_4154;

/// The 12 MHz counter and the GPS timestamp are 48 bits wide.
pub const COUNTER_MODULUS: u64 = 1 << 48;

/// Ticks of the Beast clock per microsecond.
const TICKS_PER_MICRO: i64 = 12;

/// A counter that goes back by at most this much is a reordering (dump1090 and readsb
/// forward frames slightly out of order), not a restart: 10 s of 12 MHz ticks.
const REORDER_TOLERANCE_TICKS: u64 = 10 * 12_000_000;

/// A backward jump from within this distance below 2^48 to within it above 0 is a
/// wrap of the 48-bit counter (every 2^48 / 12 MHz ≈ 271 days): 10 minutes of ticks.
const WRAP_WINDOW_TICKS: u64 = 600 * 12_000_000;

const DAY_MICROS: i64 = 86_400_000_000;

/// Longest record on the wire: `0x1a`, type, and 21 payload bytes all escaped.
const MAX_RECORD: usize = 2 + 2 * 21;

/// Bytes of a new chunk copied behind a saved tail to complete the record it holds:
/// enough that any record starting in the tail ends inside the copy.
const STITCH: usize = 2 * MAX_RECORD;

/// How the 6-byte timestamp of a Beast (or `@` AVR) record becomes a [`Timestamp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BeastClock {
    /// A free-running 12 MHz counter (Mode-S Beast, dump1090, readsb, Radarcape in
    /// legacy mode): time = `start` + counter / 12 MHz, floored to the microsecond.
    ///
    /// A counter that goes back by more than 10 s is either a wrap of the 48-bit counter
    /// (the previous value was within 10 minutes of 2^48 and the new one is within 10
    /// minutes of 0: counting continues past 2^48, so time keeps advancing) or a
    /// receiver restart (anything else: the clock is re-based so that the new counter
    /// value maps to the time of the latest frame, and time continues monotonically
    /// from there). Both are counted in [`ClockStats`]. Smaller backward steps are
    /// reorderings; those frames keep their (slightly earlier) time.
    Counter12Mhz {
        /// The time at which the counter read 0 (`--start`).
        start: Timestamp,
    },
    /// Radarcape GPS timestamps: UTC seconds of the day in the top 18 bits, nanoseconds
    /// in the low 30 bits. A time of day more than 12 hours earlier than the latest one
    /// starts the next UTC day (counted as a wrap in [`ClockStats`]); one more than
    /// 12 hours later is a straggler from the previous day. A nanosecond field of 10^9
    /// or more, or seconds past 86 400, is [`DropReason::BadTimestamp`].
    ///
    /// Old Radarcape firmware reported GPS time one second ahead of UTC (flagged in its
    /// type `'4'` status record); skyfence does not correct that.
    RadarcapeGps {
        /// Any instant within the UTC day of the first frame; only its date is used.
        date: Timestamp,
    },
}

/// Discontinuities of a receiver clock, counted (ARCHITECTURE.md invariant 3: nothing
/// is lost silently, and a clock that jumped is worth knowing about).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClockStats {
    /// 48-bit 12 MHz counter wraps, or UTC day rollovers of Radarcape GPS time.
    pub wraps: u64,
    /// 12 MHz counter restarts (receiver rebooted or reset its counter).
    pub restarts: u64,
}

/// Converts a Beast signal byte to dBFS. dump1090 and readsb write
/// `round(sqrt(power) * 255)` with power relative to full scale (readsb `net_io.c`,
/// `modesSendBeastOutput`), so power = (byte / 255)² and dBFS = 20·log10(byte / 255):
/// 255 → 0.0, 128 → −5.99, 26 → −19.83, 1 → −48.13. Byte 0 (no level) gives −∞.
pub fn signal_dbfs(byte: u8) -> f32 {
    if byte == 0 {
        return f32::NEG_INFINITY;
    }
    20.0 * (f32::from(byte) / 255.0).log10()
}

/// True for the timestamps that mark a frame synthesised by multilateration.
#[inline]
pub fn is_mlat_counter(counter: u64) -> bool {
    (MLAT_MAGIC..=MLAT_MAGIC + 10).contains(&counter)
}

/// The state that turns receiver timestamps into [`Timestamp`]s; shared with AVR.
#[derive(Clone, Debug)]
pub(crate) struct ReceiverClock {
    mode: BeastClock,
    /// Time of the latest real timestamp (or the start/midnight before the first one).
    last_time: Timestamp,
    /// 12 MHz: the time at `origin_ticks` (unwrapped ticks).
    origin_time: Timestamp,
    origin_ticks: u64,
    /// 12 MHz: what has been added to the raw counter for wraps so far.
    wrap_add: u64,
    /// 12 MHz: the largest unwrapped counter seen.
    high: Option<u64>,
    /// GPS: midnight UTC of the current day.
    day_start: Timestamp,
    /// GPS: whether `last_time` comes from a frame.
    seen: bool,
    stats: ClockStats,
}

impl ReceiverClock {
    pub(crate) fn new(mode: BeastClock) -> Self {
        let (start, day_start) = match mode {
            BeastClock::Counter12Mhz { start } => (start, start),
            BeastClock::RadarcapeGps { date } => {
                let midnight = date.as_micros().div_euclid(DAY_MICROS) * DAY_MICROS;
                let midnight = Timestamp::from_micros(midnight);
                (midnight, midnight)
            }
        };
        ReceiverClock {
            mode,
            last_time: start,
            origin_time: start,
            origin_ticks: 0,
            wrap_add: 0,
            high: None,
            day_start,
            seen: false,
            stats: ClockStats::default(),
        }
    }

    pub(crate) fn stats(&self) -> ClockStats {
        self.stats
    }

    /// The time of the latest real timestamp: what frames without one are given.
    pub(crate) fn last_time(&self) -> Timestamp {
        self.last_time
    }

    /// The time of a frame with this 48-bit timestamp and whether it was synthesised by
    /// multilateration; `None` when the timestamp cannot be read (GPS fields out of range).
    #[inline]
    pub(crate) fn stamp(&mut self, counter: u64) -> Option<(Timestamp, bool)> {
        if is_mlat_counter(counter) {
            return Some((self.last_time, true));
        }
        if counter == 0 || counter == COUNTER_MODULUS - 1 {
            return Some((self.last_time, false));
        }
        match self.mode {
            BeastClock::Counter12Mhz { .. } => Some((self.stamp_12mhz(counter), false)),
            BeastClock::RadarcapeGps { .. } => self.stamp_gps(counter).map(|t| (t, false)),
        }
    }

    /// Floor of (ticks − origin) / 12 µs after the origin, in unsigned arithmetic (a
    /// division by a constant, cheap on the hot path) and saturating: unwrapped ticks
    /// may exceed i64 after absurdly many wraps in a hostile stream.
    #[inline]
    fn time_at(&self, ticks: u64) -> Timestamp {
        const PER_MICRO: u64 = TICKS_PER_MICRO as u64;
        let micros = if ticks >= self.origin_ticks {
            i64::try_from((ticks - self.origin_ticks) / PER_MICRO).unwrap_or(i64::MAX)
        } else {
            let back = (self.origin_ticks - ticks).div_ceil(PER_MICRO);
            i64::try_from(back).map_or(i64::MIN, |b| -b)
        };
        self.origin_time.add_micros(micros)
    }

    #[inline]
    fn stamp_12mhz(&mut self, counter: u64) -> Timestamp {
        let counter = counter & (COUNTER_MODULUS - 1);
        // Saturating throughout: no input, however hostile, may overflow.
        let mut ticks = counter.saturating_add(self.wrap_add);
        match self.high {
            Some(high) if ticks.saturating_add(REORDER_TOLERANCE_TICKS) < high => {
                let high_counter = high.saturating_sub(self.wrap_add);
                if high_counter > COUNTER_MODULUS - WRAP_WINDOW_TICKS && counter < WRAP_WINDOW_TICKS
                {
                    self.wrap_add = self.wrap_add.saturating_add(COUNTER_MODULUS);
                    ticks = counter.saturating_add(self.wrap_add);
                    self.stats.wraps += 1;
                } else {
                    self.origin_time = self.time_at(high);
                    self.origin_ticks = ticks;
                    self.stats.restarts += 1;
                }
                self.high = Some(ticks);
            }
            Some(high) if ticks <= high => return self.time_at(ticks),
            _ => self.high = Some(ticks),
        }
        let t = self.time_at(ticks);
        self.last_time = t;
        t
    }

    fn stamp_gps(&mut self, counter: u64) -> Option<Timestamp> {
        let secs = counter >> 30;
        let nanos = counter & ((1 << 30) - 1);
        if nanos >= 1_000_000_000 || secs > 86_400 {
            return None;
        }
        let of_day = (secs * 1_000_000 + nanos / 1000) as i64;
        let mut t = self.day_start.add_micros(of_day);
        if self.seen {
            let half_day = DAY_MICROS / 2;
            let step = t.micros_since(self.last_time);
            if step < -half_day {
                self.day_start = self.day_start.add_micros(DAY_MICROS);
                t = t.add_micros(DAY_MICROS);
                self.stats.wraps += 1;
            } else if step > half_day {
                return Some(t.add_micros(-DAY_MICROS));
            }
        }
        if !self.seen || t > self.last_time {
            self.last_time = t;
        }
        self.seen = true;
        Some(t)
    }
}

/// What one parsing step did.
enum Step {
    /// Consumed input up to this position.
    Advance(usize),
    /// The record at the current position continues past the end of the buffer.
    NeedMore,
}

/// A streaming Beast decoder: feed it the stream in chunks of any size (a whole file,
/// or whatever each socket read returned); it hands out one [`Frame`] per Mode S record
/// and counts everything else by reason. Between calls it keeps at most one incomplete
/// record (≤ 44 bytes); it allocates nothing.
#[derive(Clone, Debug)]
pub struct BeastDecoder {
    clock: ReceiverClock,
    drops: DropCounts,
    tail: [u8; MAX_RECORD],
    tail_len: usize,
}

impl BeastDecoder {
    /// A decoder reading timestamps according to `clock`.
    pub fn new(clock: BeastClock) -> Self {
        BeastDecoder {
            clock: ReceiverClock::new(clock),
            drops: DropCounts::default(),
            tail: [0; MAX_RECORD],
            tail_len: 0,
        }
    }

    /// Decodes one whole buffer (a file in memory): the frames and the drop counts,
    /// including a truncated last record.
    pub fn decode_all(clock: BeastClock, bytes: &[u8]) -> (Vec<Frame>, DropCounts) {
        let mut d = BeastDecoder::new(clock);
        let mut frames = Vec::with_capacity(bytes.len() / 16);
        d.decode(bytes, &mut |f| frames.push(f));
        d.finish();
        (frames, d.drops)
    }

    /// Decodes the next chunk of the stream, calling `out` for every complete frame.
    pub fn decode(&mut self, chunk: &[u8], out: &mut impl FnMut(Frame)) {
        let mut chunk = chunk;
        if self.tail_len > 0 {
            // Complete the saved record from the start of this chunk, in a copy on the
            // stack, then carry on in the chunk itself.
            let t = self.tail_len;
            let k = chunk.len().min(STITCH);
            let mut joined = [0u8; MAX_RECORD + STITCH];
            joined[..t].copy_from_slice(&self.tail[..t]);
            joined[t..t + k].copy_from_slice(&chunk[..k]);
            let joined = &joined[..t + k];
            let mut pos = 0;
            while pos < t {
                match self.step(joined, pos, out) {
                    Step::Advance(p) => pos = p,
                    Step::NeedMore => {
                        // Only possible when the whole chunk is in `joined` (it holds
                        // more than a record's length past `t` otherwise).
                        self.save_tail(&joined[pos..]);
                        return;
                    }
                }
            }
            self.tail_len = 0;
            chunk = &chunk[pos - t..];
        }
        let mut pos = 0;
        while pos < chunk.len() {
            match self.step(chunk, pos, out) {
                Step::Advance(p) => pos = p,
                Step::NeedMore => {
                    self.save_tail(&chunk[pos..]);
                    return;
                }
            }
        }
    }

    /// Ends the stream: an incomplete last record counts as [`DropReason::Truncated`].
    pub fn finish(&mut self) {
        if self.tail_len > 0 {
            self.drops.add(DropReason::Truncated);
            self.tail_len = 0;
        }
    }

    /// What was dropped so far, by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }

    /// Wraps and restarts of the receiver clock so far.
    pub fn clock_stats(&self) -> ClockStats {
        self.clock.stats()
    }

    fn save_tail(&mut self, rest: &[u8]) {
        // A record needing more input is shorter than MAX_RECORD by construction; were it
        // ever longer, the excess would be counted rather than overflow the buffer.
        let keep = rest.len().min(MAX_RECORD);
        self.drops
            .add_n(DropReason::Garbage, (rest.len() - keep) as u64);
        self.tail[..keep].copy_from_slice(&rest[rest.len() - keep..]);
        self.tail_len = keep;
    }

    /// Parses whatever starts at `pos`: garbage up to the next `0x1a`, or one record.
    #[inline]
    fn step(&mut self, buf: &[u8], pos: usize, out: &mut impl FnMut(Frame)) -> Step {
        if buf[pos] != ESCAPE {
            let skip = buf[pos..]
                .iter()
                .position(|&b| b == ESCAPE)
                .unwrap_or(buf.len() - pos);
            self.drops.add_n(DropReason::Garbage, skip as u64);
            return Step::Advance(pos + skip);
        }
        let Some(&kind) = buf.get(pos + 1) else {
            return Step::NeedMore;
        };
        let len = match kind {
            b'2' => 14,
            b'3' => 21,
            b'1' => 9,
            b'4' | b'5' => 21,
            0xe3 => 8,
            0xe4 => return self.skip_uuid(buf, pos + 2),
            _ => {
                self.drops.add_n(DropReason::Garbage, 2);
                return Step::Advance(pos + 2);
            }
        };
        let body = pos + 2;
        // Fast path: no escaped byte inside the record, read it in place.
        if let Some(record) = buf.get(body..body + len)
            && !record.contains(&ESCAPE)
        {
            self.record(kind, record, out);
            return Step::Advance(body + len);
        }
        let mut record = [0u8; 21];
        let mut i = body;
        for slot in &mut record[..len] {
            let Some(&b) = buf.get(i) else {
                return Step::NeedMore;
            };
            if b == ESCAPE {
                match buf.get(i + 1) {
                    None => return Step::NeedMore,
                    Some(&ESCAPE) => i += 2,
                    Some(_) => {
                        // An unescaped 0x1a: a new record starts here.
                        self.drops.add(DropReason::Truncated);
                        return Step::Advance(i);
                    }
                }
            } else {
                i += 1;
            }
            *slot = b;
        }
        self.record(kind, &record[..len], out);
        Step::Advance(i)
    }

    /// readsb's 0xe4 record: the receiver UUID as 36 ASCII characters (never 0x1a).
    fn skip_uuid(&mut self, buf: &[u8], body: usize) -> Step {
        let end = buf.len().min(body + 36);
        let text = &buf[body.min(end)..end];
        match text.iter().position(|&b| b == ESCAPE) {
            Some(k) => {
                self.drops.add(DropReason::SkippedRecord);
                Step::Advance(body + k)
            }
            None if text.len() == 36 => {
                self.drops.add(DropReason::SkippedRecord);
                Step::Advance(end)
            }
            None => Step::NeedMore,
        }
    }

    /// One un-escaped record of type `kind`.
    #[inline]
    fn record(&mut self, kind: u8, record: &[u8], out: &mut impl FnMut(Frame)) {
        match kind {
            b'2' | b'3' => {
                let counter = record[..6]
                    .iter()
                    .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
                let Some((at, mlat)) = self.clock.stamp(counter) else {
                    self.drops.add(DropReason::BadTimestamp);
                    return;
                };
                let data = &record[7..];
                let mut bytes = [0u8; 14];
                bytes[..data.len()].copy_from_slice(data);
                out(Frame {
                    at,
                    counter: Some(counter),
                    raw: RawFrame {
                        bytes,
                        len: data.len() as u8,
                        signal: (record[6] != 0).then_some(record[6]),
                        mlat,
                    },
                });
            }
            // readsb's heartbeat: an all-zero Mode A/C record; not data, not counted.
            b'1' if record.iter().all(|&b| b == 0) => {}
            _ => self.drops.add(DropReason::SkippedRecord),
        }
    }
}

/// The 12 MHz counter value of a frame at `at` for a receiver whose counter read 0 at
/// `start` (the inverse of [`BeastClock::Counter12Mhz`]), modulo 2^48.
pub fn counter_12mhz(at: Timestamp, start: Timestamp) -> u64 {
    let ticks = i128::from(at.micros_since(start)) * i128::from(TICKS_PER_MICRO);
    ticks.rem_euclid(i128::from(COUNTER_MODULUS)) as u64
}

/// The Radarcape GPS timestamp of a frame at `at` (the inverse of
/// [`BeastClock::RadarcapeGps`]): seconds of the UTC day << 30 | nanoseconds.
pub fn radarcape_gps_counter(at: Timestamp) -> u64 {
    let of_day = at.as_micros().rem_euclid(DAY_MICROS) as u64;
    ((of_day / 1_000_000) << 30) | ((of_day % 1_000_000) * 1000)
}

/// The 48-bit timestamp an encoder writes for `frame`: the MLAT magic for a synthesised
/// frame without one, else the frame's own counter, else 0 ("no timestamp").
pub(crate) fn wire_counter(frame: &Frame) -> u64 {
    match frame.counter {
        Some(c) if !frame.raw.mlat || is_mlat_counter(c) => c & (COUNTER_MODULUS - 1),
        _ if frame.raw.mlat => MLAT_MAGIC,
        _ => 0,
    }
}

/// Appends `frame` as a Beast record, type `'2'` or `'3'` by length, escaping every
/// `0x1a`. The timestamp is the frame's counter (see [`encode_beast_since`] to derive it
/// from the frame's time); the MLAT magic when `raw.mlat` is set; 0 when there is none.
/// The signal byte is `raw.signal`, or 0 when unknown. Frames of a length other than
/// 7 or 14 bytes have no Beast form: nothing is written.
pub fn encode_beast(frame: &Frame, out: &mut Vec<u8>) {
    write_beast(frame, wire_counter(frame), out);
}

/// As [`encode_beast`], with the timestamp taken from the frame's time relative to
/// `start` ([`counter_12mhz`]) when the frame has no counter of its own.
pub fn encode_beast_since(frame: &Frame, start: Timestamp, out: &mut Vec<u8>) {
    let counter = match frame.counter {
        None if !frame.raw.mlat => counter_12mhz(frame.at, start),
        _ => wire_counter(frame),
    };
    write_beast(frame, counter, out);
}

fn write_beast(frame: &Frame, counter: u64, out: &mut Vec<u8>) {
    let kind = match frame.raw.len {
        7 => b'2',
        14 => b'3',
        _ => return,
    };
    out.extend_from_slice(&[ESCAPE, kind]);
    let mut push = |b: u8| {
        out.push(b);
        if b == ESCAPE {
            out.push(ESCAPE);
        }
    };
    for b in &counter.to_be_bytes()[2..] {
        push(*b);
    }
    push(frame.raw.signal.unwrap_or(0));
    for b in frame.data() {
        push(*b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_maps_counter_from_start() {
        let start = Timestamp::from_secs(1_700_000_000);
        let mut c = ReceiverClock::new(BeastClock::Counter12Mhz { start });
        assert_eq!(
            c.stamp(12_000_000),
            Some((start.add_micros(1_000_000), false))
        );
        assert_eq!(
            c.stamp(12_000_023),
            Some((start.add_micros(1_000_001), false))
        );
        // Slight reordering: earlier time, no restart.
        assert_eq!(c.stamp(6_000_000), Some((start.add_micros(500_000), false)));
        assert_eq!(c.stats(), ClockStats::default());
        // MLAT magic takes the latest real time.
        assert_eq!(
            c.stamp(MLAT_MAGIC),
            Some((start.add_micros(1_000_001), true))
        );
    }

    #[test]
    fn gps_clock_reads_seconds_of_day_and_rolls_over() {
        let date = Timestamp::from_secs(1_700_000_000); // 2023-11-14T22:13:20Z
        let midnight = Timestamp::from_secs(1_699_920_000);
        let mut c = ReceiverClock::new(BeastClock::RadarcapeGps { date });
        let late = (86_399u64 << 30) | 999_000_000;
        assert_eq!(
            c.stamp(late).unwrap().0,
            midnight.add_micros(86_399_999_000)
        );
        let early = (1u64 << 30) | 500;
        assert_eq!(
            c.stamp(early).unwrap().0,
            midnight.add_micros(86_400_000_000 + 1_000_000)
        );
        assert_eq!(c.stats().wraps, 1);
        // A straggler from before midnight keeps its day.
        assert_eq!(
            c.stamp(late).unwrap().0,
            midnight.add_micros(86_399_999_000)
        );
        assert_eq!(c.stamp((5u64 << 30) | 1_000_000_000), None);
    }
}
