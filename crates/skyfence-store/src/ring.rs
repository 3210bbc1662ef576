//! The pre-entry evidence ring ("the raw frames of every target with an
//! incident, including the minutes before its entry (kept in a per-target ring in
//! memory)").
//!
//! The runtime pushes every raw frame of a target without an incident here; when an
//! incursion is confirmed it [`FrameRing::take`]s the target's ring into the same
//! [`crate::StoreBatch`] as the `confirmed` event, and from then on sends the target's
//! frames straight to the store.
//!
//! Memory is bounded twice: by time (`window`) and by count per target (`per_target`),
//! because the time bound alone does not bound a chatty transponder. One frame takes
//! 48 bytes here (time, source id, and a `RawRecord`: a Mode S frame's 14 bytes inline
//! with protocol, signal and flags; longer records of other protocols are shared, not
//! copied, and counted here only by their pointer); with 10 000 live targets and
//! `per_target = 256` (about a minute of a typical airliner's frames) the ring holds at
//! most 123 MB of Mode S frames. Frames pushed out by the count bound are counted
//! ([`FrameRing::capped`]), not lost silently (ARCHITECTURE.md invariant 3).

use std::collections::{HashMap, VecDeque};
use std::num::NonZeroU16;
use std::time::Duration;

use skyfence_core::{RawRecord, SourceId, TargetId, Timestamp};

/// One raw record in the ring.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RingFrame {
    /// Receive (or GNSS) time.
    pub at: Timestamp,
    /// The source that heard it (the runtime names it when storing).
    pub source: SourceId,
    /// The receiver the record names itself (a Remote ID line's receiver), as an index
    /// into the runtime's table of such names; `None`: the record is named after its
    /// source. Two bytes, in what was padding: the entry stays 48 bytes.
    pub receiver: Option<NonZeroU16>,
    /// The record, of any protocol.
    pub record: RawRecord,
}

/// Per-target rings of recent raw frames.
#[derive(Debug)]
pub struct FrameRing {
    window_us: i64,
    per_target: usize,
    rings: HashMap<TargetId, VecDeque<RingFrame>>,
    len: usize,
    capped: u64,
}

impl FrameRing {
    /// Rings keeping each target's frames of the last `window` (before its newest
    /// frame), at most `per_target` of them (at least 1).
    pub fn new(window: Duration, per_target: usize) -> Self {
        FrameRing {
            window_us: i64::try_from(window.as_micros()).unwrap_or(i64::MAX),
            per_target: per_target.max(1),
            rings: HashMap::new(),
            len: 0,
            capped: 0,
        }
    }

    /// Adds a frame of `target`, dropping its frames older than `frame.at - window` and,
    /// when full, its oldest.
    pub fn push(&mut self, target: TargetId, frame: RingFrame) {
        let ring = self.rings.entry(target).or_default();
        let oldest_kept = frame.at.add_micros(-self.window_us);
        while ring.front().is_some_and(|f| f.at < oldest_kept) {
            ring.pop_front();
            self.len -= 1;
        }
        if ring.len() >= self.per_target {
            ring.pop_front();
            self.len -= 1;
            self.capped += 1;
        }
        ring.push_back(frame);
        self.len += 1;
    }

    /// Removes and returns `target`'s frames, oldest first (frames of several receivers
    /// can arrive slightly out of order; the sort is stable).
    pub fn take(&mut self, target: TargetId) -> Vec<RingFrame> {
        let Some(ring) = self.rings.remove(&target) else {
            return Vec::new();
        };
        self.len -= ring.len();
        let mut v: Vec<RingFrame> = ring.into();
        v.sort_by_key(|f| f.at);
        v
    }

    /// Drops every frame older than `now - window` and the targets left with none: the
    /// runtime's once-a-second tick, so silent targets do not hold memory.
    pub fn expire(&mut self, now: Timestamp) {
        let oldest_kept = now.add_micros(-self.window_us);
        let mut len = 0;
        self.rings.retain(|_, ring| {
            while ring.front().is_some_and(|f| f.at < oldest_kept) {
                ring.pop_front();
            }
            len += ring.len();
            !ring.is_empty()
        });
        self.len = len;
    }

    /// Frames held, over all targets.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no frame is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Targets with frames held.
    pub fn targets(&self) -> usize {
        self.rings.len()
    }

    /// Frames pushed out by the per-target count bound before their time was up.
    pub fn capped(&self) -> u64 {
        self.capped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::Icao24;

    /// `8D4840D6202CC371C32CE0576098`, "The 1090 MHz Riddle" (KLM1023 identification).
    const KLM1023: [u8; 14] = [
        0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
    ];

    fn t(a: u32) -> TargetId {
        TargetId::Icao(Icao24::from_u32_masked(a))
    }

    fn f(at_ms: i64, source: u16) -> RingFrame {
        RingFrame {
            at: Timestamp::from_micros(at_ms * 1000),
            source: SourceId(source),
            receiver: None,
            record: skyfence_core::RawFrame {
                bytes: KLM1023,
                len: 14,
                signal: Some(0x8c),
                mlat: false,
            }
            .into(),
        }
    }

    fn ms(v: &[RingFrame]) -> Vec<i64> {
        v.iter().map(|f| f.at.as_micros() / 1000).collect()
    }

    #[test]
    fn keeps_the_window_before_the_newest_frame() {
        let mut r = FrameRing::new(Duration::from_secs(2), 100);
        for at in [0, 500, 1000, 1500, 2000, 2500] {
            r.push(t(0x4840d6), f(at, 0));
        }
        r.push(t(0x484fde), f(2500, 1));
        assert_eq!((r.len(), r.targets()), (6, 2));
        // 2500 - 2000 ms: the frame at 0 is gone, the one at exactly 500 stays.
        assert_eq!(ms(&r.take(t(0x4840d6))), vec![500, 1000, 1500, 2000, 2500]);
        assert_eq!((r.len(), r.targets()), (1, 1));
        assert!(r.take(t(0x4840d6)).is_empty());
        assert_eq!(r.take(t(0x484fde))[0].source, SourceId(1));
        assert!(r.is_empty());
    }

    #[test]
    fn the_count_bound_drops_the_oldest_and_counts_it() {
        let mut r = FrameRing::new(Duration::from_secs(60), 3);
        for at in 0..5 {
            r.push(t(1), f(at, 0));
        }
        assert_eq!(r.capped(), 2);
        assert_eq!(ms(&r.take(t(1))), vec![2, 3, 4]);
    }

    #[test]
    fn take_sorts_frames_of_several_receivers() {
        let mut r = FrameRing::new(Duration::from_secs(60), 10);
        r.push(t(1), f(100, 0));
        r.push(t(1), f(90, 1));
        r.push(t(1), f(100, 1));
        let v = r.take(t(1));
        assert_eq!(ms(&v), vec![90, 100, 100]);
        assert_eq!((v[1].source, v[2].source), (SourceId(0), SourceId(1)));
    }

    #[test]
    fn expire_frees_silent_targets() {
        let mut r = FrameRing::new(Duration::from_secs(1), 10);
        r.push(t(1), f(0, 0));
        r.push(t(2), f(0, 0));
        r.push(t(2), f(900, 0));
        r.expire(Timestamp::from_micros(1_500_000));
        assert_eq!((r.len(), r.targets()), (1, 1));
        assert_eq!(ms(&r.take(t(2))), vec![900]);
    }

    /// Rings are per target whatever its kind, and keep records of every protocol whole
    /// (an ASTERIX record longer than a Mode S frame included).
    #[test]
    fn rings_hold_records_of_every_target_kind_and_protocol() {
        use skyfence_core::{Protocol, ShortName, Signal};
        let rid = TargetId::RemoteId(ShortName::new("1581F5FJD228500D").unwrap());
        let trk = TargetId::Track {
            sensor: ShortName::new("radar-kbl").unwrap(),
            number: 4711,
        };
        let mut asterix = RawRecord::new(Protocol::Asterix, &[48u8; 40]);
        asterix.signal = Some(Signal::Dbm(-60));
        let mut r = FrameRing::new(Duration::from_secs(60), 10);
        r.push(t(0x4840d6), f(0, 0));
        r.push(
            rid,
            RingFrame {
                at: Timestamp::from_micros(5),
                source: SourceId(2),
                receiver: None,
                record: RawRecord::new(Protocol::RemoteId, &[0xf2; 25]),
            },
        );
        r.push(
            trk,
            RingFrame {
                at: Timestamp::from_micros(7),
                source: SourceId(3),
                receiver: None,
                record: asterix.clone(),
            },
        );
        assert_eq!((r.len(), r.targets()), (3, 3));
        let back = r.take(trk);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].record, asterix);
        assert_eq!(back[0].record.data().len(), 40);
        assert_eq!(r.take(rid)[0].record.proto, Protocol::RemoteId);
        assert_eq!(r.take(t(0x4840d6))[0].record.data(), &KLM1023);
        assert!(r.is_empty());
    }

    /// The memory bound in the module documentation.
    #[test]
    fn a_ring_entry_takes_at_most_48_bytes() {
        assert!(std::mem::size_of::<RingFrame>() <= 48);
    }

    proptest::proptest! {
        /// Whatever arrives, each target holds at most `per_target` frames, `take` gives
        /// them oldest first and `len` counts them; with frames in time order (one
        /// receiver), none is older than `window` before the target's newest.
        #[test]
        fn bounds_hold(mut pushes in proptest::collection::vec((0u32..4, 0i64..10_000), 0..300),
                       per_target in 1usize..20) {
            for sorted in [false, true] {
                if sorted {
                    pushes.sort_by_key(|p| p.1);
                }
                let mut r = FrameRing::new(Duration::from_millis(1000), per_target);
                let mut newest = HashMap::new();
                for (a, at) in &pushes {
                    r.push(t(*a), f(*at, 0));
                    let n = newest.entry(*a).or_insert(*at);
                    *n = (*n).max(*at);
                }
                let held = r.len();
                let mut total = 0;
                for (a, n) in newest {
                    let v = r.take(t(a));
                    proptest::prop_assert!(!v.is_empty() && v.len() <= per_target);
                    proptest::prop_assert!(v.windows(2).all(|w| w[0].at <= w[1].at));
                    if sorted {
                        proptest::prop_assert!(ms(&v).iter().all(|&m| m >= n - 1000));
                        proptest::prop_assert_eq!(ms(&v).last().copied(), Some(n));
                    }
                    total += v.len();
                }
                proptest::prop_assert_eq!(total, held);
                proptest::prop_assert!(r.is_empty());
            }
        }
    }
}
