//! One transmission heard by several receivers: the duplicate-reception filter shared
//! by `skyfence analyze` and the live service, so a replay and a live run count an
//! incident's `reports` alike.

use rustc_hash::FxHashMap;
use skyfence_core::Timestamp;

use crate::Frame;

/// Frames with the same bytes within this window are one transmission heard by several
/// receivers, whether they come from separate inputs or from one merged feed. A
/// transponder repeats identical bytes only when nothing changed (an unchanged velocity
/// or identification): dropping such a repeat loses no information, and counting it
/// would inflate an incident's `reports`.
pub const DUPLICATE_WINDOW_US: i64 = 1_000_000;

/// Drops frames whose bytes were already delivered within [`DUPLICATE_WINDOW_US`] of
/// the first reception. Driven by the frames' own times (never a clock).
#[derive(Debug, Default)]
pub struct DuplicateFilter {
    /// Frame bytes (zero-padded to 14) → time of the first reception.
    seen: FxHashMap<[u8; 14], Timestamp>,
    next_expiry: Option<Timestamp>,
    duplicates: u64,
}

impl DuplicateFilter {
    /// An empty filter.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `frame` repeats one delivered within the window; counts it if so.
    /// Forgets old frames every ten windows of data time, so memory stays bounded by
    /// the traffic of about ten seconds.
    pub fn is_duplicate(&mut self, frame: &Frame) -> bool {
        let at = frame.at;
        if self.next_expiry.is_none_or(|t| at >= t) {
            self.expire(at);
            self.next_expiry = Some(at.add_micros(10 * DUPLICATE_WINDOW_US));
        }
        match self.seen.insert(frame.raw.bytes, at) {
            Some(first) if at.micros_since(first).abs() <= DUPLICATE_WINDOW_US => {
                // The first reception stays the reference for later copies.
                self.seen.insert(frame.raw.bytes, first);
                self.duplicates += 1;
                true
            }
            _ => false,
        }
    }

    /// Forgets frames first heard more than a window before `now`.
    pub fn expire(&mut self, now: Timestamp) {
        self.seen
            .retain(|_, t| now.micros_since(*t) <= DUPLICATE_WINDOW_US);
    }

    /// Duplicates dropped so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Frames remembered now.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// KLM1023's identification (Junzi Sun, "The 1090 Megahertz Riddle").
    const KLM1023: [u8; 14] = [
        0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
    ];

    fn frame(bytes: &[u8], ms: i64) -> Frame {
        Frame::new(Timestamp::from_micros(ms * 1000), bytes).unwrap()
    }

    #[test]
    fn copies_within_a_second_of_the_first_are_duplicates() {
        let mut d = DuplicateFilter::new();
        assert!(!d.is_duplicate(&frame(&KLM1023, 0)));
        assert!(d.is_duplicate(&frame(&KLM1023, 3)));
        assert!(d.is_duplicate(&frame(&KLM1023, 1000)));
        // A window after the first reception, the same bytes are a new transmission.
        assert!(!d.is_duplicate(&frame(&KLM1023, 1001)));
        let mut other = KLM1023;
        other[13] ^= 1;
        assert!(!d.is_duplicate(&frame(&other, 1001)));
        assert_eq!(d.duplicates(), 2);
    }

    #[test]
    fn memory_is_bounded_by_the_window() {
        let mut d = DuplicateFilter::new();
        for k in 0..100_000i64 {
            let mut b = KLM1023;
            b[4..12].copy_from_slice(&k.to_be_bytes());
            d.is_duplicate(&frame(&b, k));
        }
        // 1 ms apart: ten windows hold at most ~11 000 frames.
        assert!(d.len() <= 11_100, "{}", d.len());
    }
}
