//! Synchronisation of the receivers' clocks from aircraft whose positions are known.
//!
//! A Beast receiver's 12 MHz counter runs free: its origin is when it was switched on and
//! its rate is off by a few ppm. The copies of one ADS-B position message fix both: the
//! aircraft said where it was when it transmitted, so each receiver's counter at the
//! *emission* is its reception counter less the propagation time from that position.
//! For a pair of receivers (a, b), each such message gives one point
//! `(e_a, e_b − e_a)`: the offset of b's clock from a's at time `e_a` on a's clock. A
//! straight line through the recent points (least squares over a sliding window) gives
//! the pair's offset and relative drift and predicts the offset at any nearby time, with
//! the standard error of the prediction (the pairwise scheme of mlat-server and of
//! Calvo-Palomino et al., "Nanosecond-precision time-of-arrival estimation for aircraft
//! signals with low-cost SDR receivers", IPSN 2018).
//!
//! Outliers: a point further from the line than [`OUTLIER_FLOOR_S`] or eight standard
//! errors is not added (a spoofed or stale position, a false pairing). A receiver whose
//! counter jumps (lost USB samples: some tens of milliseconds) makes every pair it is in
//! an outlier, by one shift, while the pairs of three or more others agree; it is
//! excluded from fixes
//! at once, its pairs are cleared, and it comes back when one of its pairs has
//! [`MIN_POINTS`] new points. A pair with [`RESET_AFTER`] outliers in a row is
//! restarted (when the other receivers of the messages did not tell which of the two
//! jumped).

use std::collections::VecDeque;

use skyfence_decode::sensor::ReceiverClock;

/// Points a pair needs before it predicts offsets.
pub const MIN_POINTS: usize = 4;
/// Points a pair keeps (the newest).
pub const MAX_POINTS: usize = 48;
/// Seconds of a pair's points kept: drift changes slowly (temperature), so a line holds
/// over this span.
pub const WINDOW_S: f64 = 60.0;
/// A pair without a new point for this long no longer predicts.
pub const STALE_S: f64 = 30.0;
/// The smallest disagreement with the line that makes a point an outlier, seconds
/// (300 m of range).
pub const OUTLIER_FLOOR_S: f64 = 1e-6;
/// Outliers in a row after which a pair is restarted.
pub const RESET_AFTER: u32 = 3;
/// Receivers judged for counter jumps (the first ones of a network; more is unusual
/// for one site's coverage).
pub const MAX_JUDGED: usize = 64;
/// The smallest counter jump detected as such, seconds (3 km of range; smaller steps
/// restart the pairs instead).
pub const MIN_JUMP_S: f64 = 10e-6;
/// Receivers that must agree among themselves, and disagree with a receiver by one
/// shift, for that receiver to be judged to have jumped: with two, a wrong position
/// seen from two receivers in about the same direction looks the same.
pub const MIN_WITNESSES: usize = 3;
/// How closely the pairs of a jumping receiver agree on its jump, seconds.
pub const JUMP_AGREEMENT_S: f64 = 2e-6;
/// The largest standard error of a pair's line accepted, seconds.
pub const MAX_PAIR_RMS_S: f64 = 2e-6;

/// Seconds on the receiver's own clock of a 48-bit timestamp.
pub fn counter_seconds(clock: ReceiverClock, counter: u64) -> f64 {
    match clock {
        ReceiverClock::Beast | ReceiverClock::Dump1090 => counter as f64 / 12e6,
        // Radarcape GPS: UTC seconds of the day in the top 18 bits, nanoseconds in the
        // low 30.
        ReceiverClock::RadarcapeGps => {
            (counter >> 30) as f64 + (counter & 0x3FFF_FFFF) as f64 * 1e-9
        }
    }
}

/// The standard deviation of one timestamp of a receiver with this clock, seconds:
/// one 12 MHz tick (83 ns) for a Beast, 15 ns for a GNSS-disciplined Radarcape, and
/// the 2.4 MHz sampling of an RTL-SDR behind dump1090 (≈ 400 ns, a quarter-sample
/// after interpolation is not assumed).
pub const fn jitter_s(clock: ReceiverClock) -> f64 {
    match clock {
        ReceiverClock::Beast => 83e-9,
        ReceiverClock::RadarcapeGps => 15e-9,
        ReceiverClock::Dump1090 => 400e-9,
    }
}

/// What became of one sync point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PointOutcome {
    /// Added to an established line.
    Accepted,
    /// Added to a line still being built.
    Building,
    /// Too far from the established line (by this many seconds, point less line): not
    /// added.
    Outlier(f64),
    /// The established line was restarted from this point after [`RESET_AFTER`]
    /// outliers in a row (the last one off by this many seconds).
    Restarted(f64),
    /// A line being built disagreed with this point and was started again from it.
    Rebuilt,
}

impl PointOutcome {
    /// The point's disagreement with an established line, when it disagreed.
    pub fn disagreement(self) -> Option<f64> {
        match self {
            PointOutcome::Outlier(d) | PointOutcome::Restarted(d) => Some(d),
            _ => None,
        }
    }
}

/// The clock relation of one pair of receivers (a, b), a before b in the receiver order.
#[derive(Clone, Debug, Default)]
pub struct PairSync {
    /// (e_a, e_b − e_a) of the sync messages, oldest first.
    points: VecDeque<(f64, f64)>,
    /// The line: mean x, mean y, slope, residual standard error, Σ(x − x̄)².
    x_mean: f64,
    y_mean: f64,
    drift: f64,
    rms: f64,
    sxx: f64,
    outliers_in_row: u32,
}

impl PairSync {
    /// Points on the line.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether it has no point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Relative drift of b's clock against a's (s/s).
    pub fn drift(&self) -> f64 {
        self.drift
    }

    /// Residual standard error of the line, seconds.
    pub fn rms_s(&self) -> f64 {
        self.rms
    }

    /// Forgets every point.
    pub fn clear(&mut self) {
        *self = PairSync::default();
    }

    fn newest_x(&self) -> Option<f64> {
        self.points.back().map(|p| p.0)
    }

    /// The offset of b's clock from a's at the newest point (a's clock), seconds.
    pub fn latest_offset(&self) -> Option<f64> {
        self.newest_x().map(|x| self.predict(x).0)
    }

    /// Whether the line predicts offsets at `x` (a's clock).
    pub fn is_valid_at(&self, x: f64) -> bool {
        self.points.len() >= MIN_POINTS
            && self.rms <= MAX_PAIR_RMS_S
            && self.newest_x().is_some_and(|n| (x - n).abs() <= STALE_S)
    }

    /// The offset of b's clock from a's at `x` on a's clock, with its standard error.
    pub fn predict(&self, x: f64) -> (f64, f64) {
        let n = self.points.len() as f64;
        let dx = x - self.x_mean;
        let y = self.y_mean + self.drift * dx;
        let se = self.rms * (1.0 / n + dx * dx / self.sxx.max(1e-9)).sqrt();
        (y, se)
    }

    fn refit(&mut self) {
        let n = self.points.len() as f64;
        let x_mean = self.points.iter().map(|p| p.0).sum::<f64>() / n;
        let y_mean = self.points.iter().map(|p| p.1).sum::<f64>() / n;
        let (mut sxx, mut sxy) = (0.0, 0.0);
        for &(x, y) in &self.points {
            sxx += (x - x_mean) * (x - x_mean);
            sxy += (x - x_mean) * (y - y_mean);
        }
        let drift = if sxx > 1e-6 { sxy / sxx } else { 0.0 };
        let ss: f64 = self
            .points
            .iter()
            .map(|&(x, y)| (y - y_mean - drift * (x - x_mean)).powi(2))
            .sum();
        // With two parameters fitted, n − 2 degrees of freedom; fewer points than three
        // say nothing about the scatter, so the floor stands in.
        let rms = if self.points.len() > 2 {
            (ss / (n - 2.0)).sqrt()
        } else {
            OUTLIER_FLOOR_S / 8.0
        };
        (self.x_mean, self.y_mean, self.drift, self.sxx) = (x_mean, y_mean, drift, sxx);
        // The line's scatter is never taken below the timestamp resolution it is made of.
        self.rms = rms.max(5e-9);
    }

    /// Adds the point `(x, y)` unless it is an outlier of the current line.
    pub fn add(&mut self, x: f64, y: f64) -> PointOutcome {
        let established = self.points.len() >= MIN_POINTS;
        if established {
            let (p, _) = self.predict(x);
            let d = y - p;
            if d.abs() > OUTLIER_FLOOR_S.max(8.0 * self.rms) {
                self.outliers_in_row += 1;
                if self.outliers_in_row < RESET_AFTER {
                    return PointOutcome::Outlier(d);
                }
                self.clear();
                self.points.push_back((x, y));
                self.refit();
                return PointOutcome::Restarted(d);
            }
        } else if self.points.back().is_some_and(|&(px, py)| {
            // Building: the point must agree with the newest one within what 50 ppm of
            // drift and four times the floor allow.
            (y - py).abs() > OUTLIER_FLOOR_S * 4.0 + 50e-6 * (x - px).abs()
        }) {
            self.clear();
            self.points.push_back((x, y));
            self.refit();
            return PointOutcome::Rebuilt;
        }
        self.outliers_in_row = 0;
        self.points.push_back((x, y));
        while self.points.len() > MAX_POINTS
            || self.points.front().is_some_and(|p| x - p.0 > WINDOW_S)
        {
            self.points.pop_front();
        }
        self.refit();
        if established {
            PointOutcome::Accepted
        } else {
            PointOutcome::Building
        }
    }
}

/// A receiver's synchronisation state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncState {
    /// No pair of it predicts yet.
    Unsynced,
    /// At least one pair of it predicts.
    Synced,
    /// Its counter jumped: left out of fixes until one of its pairs predicts again.
    Excluded,
}

impl SyncState {
    /// The name in the API and metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            SyncState::Unsynced => "unsynced",
            SyncState::Synced => "synced",
            SyncState::Excluded => "excluded",
        }
    }
}

/// Counters of the synchronisation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Sync messages (ADS-B positions heard by two or more receivers).
    pub messages: u64,
    /// Pair points added.
    pub points: u64,
    /// Pair points rejected as outliers.
    pub outliers: u64,
    /// Pairs restarted.
    pub restarts: u64,
    /// Counter jumps detected (a receiver excluded).
    pub jumps: u64,
    /// Excluded receivers that came back.
    pub resyncs: u64,
}

/// The clock relations of a network of receivers.
#[derive(Clone, Debug)]
pub struct ClockSync {
    n: usize,
    pairs: Vec<PairSync>,
    excluded: Vec<bool>,
    /// Newest sync time seen per receiver (own clock), for staleness.
    last: Vec<Option<f64>>,
    /// Counter jumps detected per receiver.
    jumps: Vec<u64>,
    counts: SyncCounts,
}

impl ClockSync {
    /// Relations of `n` receivers, none known yet.
    pub fn new(n: usize) -> Self {
        ClockSync {
            n,
            pairs: vec![PairSync::default(); n * n],
            excluded: vec![false; n],
            last: vec![None; n],
            jumps: vec![0; n],
            counts: SyncCounts::default(),
        }
    }

    /// The counters.
    pub fn counts(&self) -> SyncCounts {
        self.counts
    }

    /// The pair (a, b), a < b.
    pub fn pair(&self, a: usize, b: usize) -> &PairSync {
        &self.pairs[a * self.n + b]
    }

    fn pair_mut(&mut self, a: usize, b: usize) -> &mut PairSync {
        &mut self.pairs[a * self.n + b]
    }

    /// Whether the pair (a, b), a < b, predicts offsets now (at a's newest sync time)
    /// and neither receiver is excluded.
    pub fn pair_synced(&self, a: usize, b: usize) -> bool {
        !self.excluded[a]
            && !self.excluded[b]
            && self.last[a].is_some_and(|t| self.pair(a, b).is_valid_at(t))
    }

    /// Counter jumps detected on receiver `r`.
    pub fn jumps(&self, r: usize) -> u64 {
        self.jumps[r]
    }

    /// Receiver `r`'s state.
    pub fn state(&self, r: usize) -> SyncState {
        if self.excluded[r] {
            return SyncState::Excluded;
        }
        let Some(t) = self.last[r] else {
            return SyncState::Unsynced;
        };
        let synced = (0..self.n).filter(|&o| o != r).any(|o| {
            let (a, b) = (r.min(o), r.max(o));
            // Staleness is judged on a's clock; seconds apart, the clocks agree well
            // enough for that.
            self.pair(a, b).is_valid_at(t)
        });
        if synced {
            SyncState::Synced
        } else {
            SyncState::Unsynced
        }
    }

    /// The offset of `b`'s clock from `a`'s at time `t_a` on `a`'s clock, with its
    /// standard error; `None` unless their pair predicts and neither is excluded.
    pub fn offset(&self, a: usize, b: usize, t_a: f64) -> Option<(f64, f64)> {
        if a == b {
            return Some((0.0, 0.0));
        }
        if self.excluded[a] || self.excluded[b] {
            return None;
        }
        if a < b {
            let p = self.pair(a, b);
            p.is_valid_at(t_a).then(|| p.predict(t_a))
        } else {
            // The pair is kept as (b, a): its x is on b's clock, ≈ t_a + offset.
            let p = self.pair(b, a);
            if !p.is_valid_at(t_a) {
                return None;
            }
            let (y0, _) = p.predict(t_a);
            let (y, se) = p.predict(t_a - y0);
            Some((-y, se))
        }
    }

    /// One sync message: the emission time on each receiver's own clock
    /// (`(receiver, e)`, receivers distinct).
    pub fn add_message(&mut self, copies: &[(usize, f64)]) {
        if copies.len() < 2 {
            return;
        }
        self.counts.messages += 1;
        // Per receiver: established pairs that agreed, and the jump each established
        // pair that disagreed implies for it (b's clock ahead by d makes the pair's
        // point d above its line; a's, d below).
        let mut good = [0u16; MAX_JUDGED];
        let mut shifts: [Vec<f64>; MAX_JUDGED] = std::array::from_fn(|_| Vec::new());
        for (i, &(ra, ea)) in copies.iter().enumerate() {
            for &(rb, eb) in &copies[i + 1..] {
                let ((a, xa), (b, xb)) = if ra < rb {
                    ((ra, ea), (rb, eb))
                } else {
                    ((rb, eb), (ra, ea))
                };
                let outcome = self.pair_mut(a, b).add(xa, xb - xa);
                match outcome {
                    PointOutcome::Accepted | PointOutcome::Building => self.counts.points += 1,
                    PointOutcome::Outlier(_) => self.counts.outliers += 1,
                    PointOutcome::Restarted(_) | PointOutcome::Rebuilt => {
                        self.counts.restarts += 1;
                    }
                }
                if a >= MAX_JUDGED || b >= MAX_JUDGED {
                    continue;
                }
                if outcome == PointOutcome::Accepted {
                    good[a] += 1;
                    good[b] += 1;
                } else if let Some(d) = outcome.disagreement() {
                    shifts[b].push(d);
                    shifts[a].push(-d);
                }
            }
        }
        for &(r, e) in copies {
            self.last[r] = Some(e);
        }
        // A receiver at odds with two or more others that agree among themselves, all
        // seeing it shifted by the same large amount, has jumped: exclude it and forget
        // its pairs. (A wrong position shifts each pair differently; noise is small.)
        for &(r, _) in copies {
            if r >= MAX_JUDGED || self.excluded[r] || good[r] > 0 || shifts[r].len() < 2 {
                continue;
            }
            let s = &shifts[r];
            let mean = s.iter().sum::<f64>() / s.len() as f64;
            let same = s.iter().all(|d| (d - mean).abs() <= JUMP_AGREEMENT_S);
            let partners_fine = copies
                .iter()
                .filter(|&&(o, _)| o != r && o < MAX_JUDGED && good[o] > 0)
                .count();
            if same && mean.abs() >= MIN_JUMP_S && partners_fine >= MIN_WITNESSES {
                self.excluded[r] = true;
                self.counts.jumps += 1;
                self.jumps[r] += 1;
                for o in 0..self.n {
                    if o != r {
                        let (a, b) = (r.min(o), r.max(o));
                        self.pair_mut(a, b).clear();
                    }
                }
            }
        }
        // An excluded receiver returns once a pair of it predicts again.
        for &(r, e) in copies {
            if self.excluded[r] {
                let back = (0..self.n).filter(|&o| o != r).any(|o| {
                    let (a, b) = (r.min(o), r.max(o));
                    self.pair(a, b)
                        .is_valid_at(if a == r { e } else { e - 1.0e-3 })
                });
                if back {
                    self.excluded[r] = false;
                    self.counts.resyncs += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgeo::gauss;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn counters_in_seconds() {
        assert_eq!(counter_seconds(ReceiverClock::Beast, 12_000_000), 1.0);
        let gps = (3600u64 << 30) | 500_000_000;
        assert!((counter_seconds(ReceiverClock::RadarcapeGps, gps) - 3600.5).abs() < 1e-12);
    }

    /// Receiver clocks: offset (s) and drift (s/s) against true time.
    fn clock(offset: f64, drift: f64, t: f64) -> f64 {
        t + offset + drift * t
    }

    #[test]
    fn a_pair_learns_offset_and_drift_and_rejects_outliers() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut p = PairSync::default();
        let (oa, da, ob, db) = (0.31, 2e-6, -0.42, -3e-6);
        for k in 0..40 {
            let t = 100.0 + f64::from(k) * 0.5;
            let ea = clock(oa, da, t) + 83e-9 * gauss(&mut rng);
            let eb = clock(ob, db, t) + 83e-9 * gauss(&mut rng);
            let o = p.add(ea, eb - ea);
            assert!(
                matches!(o, PointOutcome::Accepted | PointOutcome::Building),
                "point {k}: {o:?}"
            );
        }
        assert!(p.is_valid_at(clock(oa, da, 120.0)));
        // Prediction at a later time: within 100 ns of the truth.
        let t = 121.0;
        let xa = clock(oa, da, t);
        let (y, se) = p.predict(xa);
        let truth = clock(ob, db, t) - xa;
        assert!((y - truth).abs() < 100e-9, "{} ns", (y - truth) * 1e9);
        assert!(se < 100e-9);
        assert!(
            (p.drift() - (db - da) / (1.0 + da)).abs() < 0.2e-6,
            "{}",
            p.drift()
        );
        // A point 20 µs off (a spoofed position 6 km away) is rejected, the line kept.
        assert!(
            matches!(p.add(xa, truth + 20e-6), PointOutcome::Outlier(d) if (d - 20e-6).abs() < 1e-7)
        );
        assert_eq!(
            p.add(xa + 0.5, clock(ob, db, t + 0.5) - clock(oa, da, t + 0.5)),
            PointOutcome::Accepted
        );
        // Stale after STALE_S without points.
        assert!(!p.is_valid_at(xa + STALE_S + 1.0));
    }

    /// Three, four or five receivers hearing the same aircraft; receiver 2 jumps by 50 ms
    /// at t = 30 s.
    #[test]
    fn a_jumping_receiver_is_excluded_then_comes_back() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let offsets = [0.1, -0.2, 0.35, 0.05];
        let drifts = [1e-6, -2e-6, 4e-6, 0.5e-6];
        let mut sync = ClockSync::new(4);
        let mut states = Vec::new();
        for k in 0..120 {
            let t = f64::from(k) * 0.5;
            let copies: Vec<(usize, f64)> = (0..4)
                .map(|r| {
                    let jump = if r == 2 && t >= 30.0 { 0.05 } else { 0.0 };
                    (
                        r,
                        clock(offsets[r], drifts[r], t) + jump + 83e-9 * gauss(&mut rng),
                    )
                })
                .collect();
            sync.add_message(&copies);
            states.push((t, sync.state(2)));
            if (10.0..30.0).contains(&t) {
                assert_eq!(sync.state(2), SyncState::Synced, "t {t}");
                assert!(sync.offset(0, 2, copies[0].1).is_some());
            }
        }
        // Excluded right at the jump, then back a few messages later.
        let at_jump = states.iter().find(|s| s.0 == 30.0).unwrap().1;
        assert_eq!(at_jump, SyncState::Excluded);
        let back = states
            .iter()
            .find(|s| s.0 > 30.0 && s.1 == SyncState::Synced)
            .expect("came back")
            .0;
        assert!(back <= 33.0, "back at {back}");
        assert_eq!(sync.counts().jumps, 1);
        assert_eq!(sync.counts().resyncs, 1);
        // The new offset is learnt: 50 ms more than before.
        let t = 59.0;
        let (y, _) = sync.offset(0, 2, clock(offsets[0], drifts[0], t)).unwrap();
        let truth = clock(offsets[2], drifts[2], t) + 0.05 - clock(offsets[0], drifts[0], t);
        assert!((y - truth).abs() < 200e-9, "{} ns", (y - truth) * 1e9);
        // The other receivers were never excluded.
        for r in [0, 1, 3] {
            assert_eq!(sync.state(r), SyncState::Synced);
        }
    }

    #[test]
    fn offsets_either_way_round_agree() {
        let mut sync = ClockSync::new(2);
        for k in 0..10 {
            let t = f64::from(k);
            sync.add_message(&[(0, clock(0.0, 0.0, t)), (1, clock(0.5, 3e-6, t))]);
        }
        let (ab, _) = sync.offset(0, 1, 5.0).unwrap();
        let (ba, _) = sync.offset(1, 0, 5.0 + ab).unwrap();
        assert!((ab + ba).abs() < 1e-9, "{ab} {ba}");
        assert!((ab - (0.5 + 3e-6 * 5.0)).abs() < 1e-9);
    }
}
