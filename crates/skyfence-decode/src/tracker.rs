//! Per-aircraft decoder state: which addresses were heard, and the CPR positions that
//! resolve into trusted positions (DO-260B §A.1.7; ICAO Doc 9871 §C.2.6).
//!
//! # Why a single even/odd pair is not trusted
//!
//! A global CPR decode ([`crate::cpr::decode_global_airborne`]) takes the zone index
//! from *both* messages. A corrupted message that still passes its CRC (a
//! miscorrected bit, or an undetected multi-bit error) yields a pair that decodes to a
//! plausible-looking point hundreds of kilometres away, and a local decode against such
//! a point keeps producing positions on that wrong zone. The other decoders guard
//! against this: pyModeS holds positions until three pairwise-consistent global fixes
//! agree; readsb keeps per-format reliability counters and only outputs once both
//! reach a threshold.
//!
//! # The rule used here
//!
//! An aircraft is *unplaced*, *tentative* or *placed*.
//!
//! 1. **Unplaced → tentative.** An even and an odd message of the same kind (airborne
//!    or surface) received within `pair_window_s` (≤ 10 s, §A.1.7.7) decode globally to
//!    a tentative fix. Nothing is output. A pair that cannot decode (NL straddle, beyond
//!    a pole) is [`DropReason::BadCpr`].
//! 2. **Tentative → placed.** Each later message is decoded locally against the
//!    tentative fix and must lie within the speed gate of it (`max_speed_mps · |Δt| +
//!    position_slack_m`, capped during acquisition at [`ALIAS_GUARD_M`]). A message
//!    that agrees *confirms its format*; the fix follows it. Once a new even **and** a
//!    new odd message (each at least 0.2 s newer than the one of its format already
//!    counted, so duplicates from merged receivers do not count) have confirmed it, and
//!    the global decode of two confirming messages (neither of which made the fix)
//!    agrees with it, the aircraft is placed and the confirming message's position is
//!    the first output. That independent pair disagreeing starts acquisition again
//!    from it.
//!    A message that disagrees is [`DropReason::ImplausibleMotion`] and, when it forms a
//!    valid pair itself, that pair becomes the new tentative fix.
//! 3. **Placed.** Every message is decoded locally against the last accepted position,
//!    and cross-checked with the global decode whenever a fresh pair exists. A position
//!    beyond the speed gate is [`DropReason::ImplausibleMotion`] and does not move the
//!    aircraft; so is none at all (`BadCpr` when the local decode lands beyond a pole).
//!    After `max_rejections` consecutive rejections *or* global/local disagreements the
//!    track is distrusted: it restarts from the current pair as a tentative fix (or
//!    unplaced if there is none). A position older than `position_expiry_s` (or than
//!    the aircraft could cover within the local-decode range at `max_speed_mps`) is no
//!    reference any more and the aircraft is unplaced.
//!
//! Why both formats: one bad frame in the pair shifts the decoded zone index, but the
//! good frame's fraction stays right, so a later message *of the good frame's format*
//! decodes locally onto the wrong zone and agrees with the bad fix. A later message of
//! the *other* format cannot: on its grid the wrong fix is at least
//! `Dlat0 − Dlat1 = 6°/59 ≈ 11.3 km` (latitude) or `360°/(NL·(NL−1))·cos(lat) ≳ 11.5 km`
//! (longitude) from any point it can decode to, a quarter of that on the surface,
//! beyond [`ALIAS_GUARD_M`] / [`SURFACE_ALIAS_GUARD_M`] — except where the messages
//! straddle an NL boundary, where the two grids change under the fix (a property test
//! found a fix 746 km off confirmed so at 81° S). The independent pair of rule 2 closes
//! that: two confirming messages decode globally without the bad one. So a single bad
//! frame, or a single bad pair, can never place an aircraft in a wrong zone, and no output lies
//! farther from the true track than the speed gate (an error in the low bits that
//! stays inside the gate is indistinguishable from motion). The cost: the first
//! position comes with the fourth position message of an alternating stream
//! (pyModeS 3.6 holds positions until three pairwise-consistent global fixes, the
//! sixth message, then fills in the held ones for batch callers). `confirm_both_formats = false` gives
//! the weaker one-confirmation rule (first output with the third message), for
//! comparisons only; the tests show a case it lets through.
//!
//! # Frames without their own time
//!
//! AVR `*HEX;` lines (dump1090's port 30002, `rtl_adsb`) carry no time: every frame takes
//! the last timestamped line's time or `--start`; raw files with coarse or repeated
//! timestamps give runs of frames one timestamp. With `DecoderConfig::pace_untimed`
//! (`decode` and `analyze`; not the live service, whose receive times a replay played
//! faster than real time compresses) the [`crate::decoder::Decoder`] *paces* such runs: a
//! frame whose input time
//! equals the previous frame's is *untimed* and gets the decoder's paced clock (the
//! previous frame's time, never less than its input time); a DF17 position squitter
//! among them that is not a copy of its aircraft's stored message of its format is put
//! [`MIN_POSITION_INTERVAL_US`] (0.4 s, DO-260B's shortest broadcast interval) after the
//! aircraft's newest stored position message when that is later, and the clock moves on
//! to it. By induction every paced time is at most the true time of its frame (measured
//! from the last timed frame): the clock never runs ahead of real time, it lags it,
//! since each 0.4–0.6 s broadcast interval is counted as 0.4 s. In practice durations
//! come out at about 0.8 of the true ones (0.84 on the simulator's border scenario, whose
//! Beast and plain AVR copies give the same incidents) and speeds look up to 1.5 times
//! higher, which the speed gates tolerate (an airliner is far below 1000 m/s). Frames with
//! their own times are never changed (their input time differs from the previous
//! frame's).
//!
//! The position rule above is then applied unchanged. Its safety never rested on time: a
//! bad frame is caught by a message *of the other format* decoding away from the
//! tentative fix, whatever the clock says; time only tells a copy from the next message
//! and scales the speed gate. For what pacing does not reach (DF18 TIS-B/ADS-R, whose
//! rebroadcast rates are the ground station's), a message at **exactly** the time of the
//! one already counted for its format is new evidence when its CPR bits differ from the
//! stored message of that format (a copy has the same bits; an aircraft moving at all
//! changes them at 5 m resolution): pairing goes by arrival order, with the speed gate
//! reduced to `position_slack_m`. After a gap the aircraft is beyond the gate, its
//! positions are rejected (`implausible_motion`) and after `max_rejections` it is
//! re-acquired from a fresh pair; a stale pair across a gap gives a wrong tentative fix
//! that the next message of the other format contradicts, as for a bad frame.
//!
//! Untimed frames are counted ([`crate::decoder::Decoder::untimed`]); `decode` and
//! `analyze` print the count with a warning that their times are paced, not measured.
//!
//! # Time going backwards
//!
//! Merged receivers deliver frames slightly out of order; a replay may jump. Every time
//! difference is taken as `|Δt|`. Each format keeps its newest message (an older one is
//! decoded but not stored), unless the stored one is more than `pair_window_s` in the
//! future, which is taken as a clock jump and replaced. The accepted position only moves
//! forward in time: an older message that passes the gate is returned but does not move
//! the aircraft. During acquisition a message not newer than the evidence already
//! counted for its format is ignored (`Ok(None)`). A fix more than its validity away in
//! either direction is dropped. No time input can panic or wedge the state.
//!
//! # Cost
//!
//! One hash lookup, one local decode and (most messages) one global decode per frame;
//! no allocation after an aircraft's first message and no trigonometry on the common
//! path (the speed gate first tries a bound without trigonometry). State is 88 bytes
//! per aircraft.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use skyfence_core::{GeoPoint, Icao24, Timestamp};

use crate::cpr::{self, CprPosition};
use crate::stats::DropReason;

/// Metres per degree of arc on the sphere of the WGS-84 mean radius (the one
/// [`GeoPoint::haversine_m`] uses).
const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// One nautical mile, metres.
const M_PER_NM: f64 = 1852.0;

/// Cap on the speed gate while an aircraft is being acquired (airborne): below the
/// smallest distance, 11.3 km, between a true position and the alias a bad frame
/// produces on the other format's grid (module docs). Real aircraft confirm within a
/// few seconds, far inside it.
pub const ALIAS_GUARD_M: f64 = 10_000.0;

/// [`ALIAS_GUARD_M`] for surface positions, whose grid is four times finer (alias
/// ≥ 2.8 km).
pub const SURFACE_ALIAS_GUARD_M: f64 = 2_500.0;

/// A message of one format counts as new evidence during acquisition only this long
/// after the one already counted: position messages are broadcast every 0.4–0.6 s with
/// the format alternating (DO-260B's broadcast rates; surface low rate: every 5 s), so a
/// format repeats after ≥ 0.8 s, while the same frame from two receivers arrives within
/// milliseconds.
const DUPLICATE_US: i64 = 200_000;

/// The shortest interval between two position squitters of one aircraft: DO-260B
/// broadcasts airborne (and high-rate surface) positions at random intervals of 0.4 to
/// 0.6 s, low-rate surface positions every 4.8 to 5.2 s. Paces frames without a time of
/// their own (module docs).
pub const MIN_POSITION_INTERVAL_US: i64 = 400_000;

/// Sentinel time for "never".
const NEVER: i64 = i64::MIN;

/// Settings of the [`Tracker`]; [`Default`] gives values suited to a receiver's feed.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackerConfig {
    /// How long an address heard in a DF11/17/18 with a clean CRC keeps address/parity
    /// replies (DF0/4/5/16/20/21) from it trusted, seconds (dump1090 and readsb: 60 s).
    pub address_expiry_s: f64,
    /// Largest time between the even and odd message of a global pair, seconds; at most
    /// 10 (DO-260B §A.1.7.7 for airborne; the same window is used for surface).
    pub pair_window_s: f64,
    /// Largest distance from the reference for a local decode, nautical miles; at most
    /// 180 (half a 6° zone, §A.1.7.5). Surface positions use a quarter (45 NM, §A.1.7.6).
    pub local_max_range_nm: f64,
    /// Speed gate: a position implying faster motion from the aircraft's last accepted
    /// one is rejected, metres per second. Also bounds how long a position stays a
    /// reference: no longer than `local range / max_speed_mps`.
    pub max_speed_mps: f64,
    /// Distance allowed on top of `max_speed_mps · |Δt|`, metres: CPR quantisation
    /// (≈ 5 m) and timestamp jitter between merged receivers.
    pub position_slack_m: f64,
    /// How long the last accepted position is used as the reference for local decoding,
    /// seconds; after that the aircraft needs a fresh global pair.
    pub position_expiry_s: f64,
    /// Consecutive rejected positions, or disagreements between the local and the global
    /// decode, after which a placed aircraft's track is distrusted and re-acquired.
    pub max_rejections: u8,
    /// Whether placing an aircraft needs a confirming message of each format (see the
    /// module docs); `false` accepts one confirmation, which one bad frame can fool.
    pub confirm_both_formats: bool,
    /// The receiver's position: the reference that resolves the 90° ambiguity of a
    /// global surface decode when the aircraft has no position yet (§A.1.7.8). Without
    /// it, surface-only aircraft stay unresolved until seen airborne.
    pub receiver: Option<GeoPoint>,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            address_expiry_s: 60.0,
            pair_window_s: 10.0,
            local_max_range_nm: 180.0,
            // docs/INTERFACES.md `[detection] max_speed_mps` default.
            max_speed_mps: 1000.0,
            position_slack_m: 1000.0,
            position_expiry_s: 60.0,
            max_rejections: 3,
            confirm_both_formats: true,
            receiver: None,
        }
    }
}

/// Why a [`TrackerConfig`] is not usable as given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrackerConfigError {
    /// A setting outside its allowed range.
    #[error("tracker setting {name} = {value} is out of range (expected {expected})")]
    OutOfRange {
        /// The field's name.
        name: &'static str,
        /// The value given.
        value: f64,
        /// The allowed range, in words.
        expected: &'static str,
    },
}

impl TrackerConfig {
    /// Checks every setting, so that a runtime can report a bad configuration at start-up
    /// (ARCHITECTURE.md, "parse at the edge"). [`Tracker::new`] never fails: it clamps.
    pub fn validate(&self) -> Result<(), TrackerConfigError> {
        let check = |name, value: f64, ok: bool, expected| {
            if ok && value.is_finite() {
                Ok(())
            } else {
                Err(TrackerConfigError::OutOfRange {
                    name,
                    value,
                    expected,
                })
            }
        };
        check(
            "address_expiry_s",
            self.address_expiry_s,
            self.address_expiry_s > 0.0,
            "> 0",
        )?;
        check(
            "pair_window_s",
            self.pair_window_s,
            self.pair_window_s > 0.0 && self.pair_window_s <= 10.0,
            "> 0 and <= 10",
        )?;
        check(
            "local_max_range_nm",
            self.local_max_range_nm,
            self.local_max_range_nm > 0.0 && self.local_max_range_nm <= 180.0,
            "> 0 and <= 180",
        )?;
        check(
            "max_speed_mps",
            self.max_speed_mps,
            self.max_speed_mps > 0.0,
            "> 0",
        )?;
        check(
            "position_slack_m",
            self.position_slack_m,
            self.position_slack_m >= 0.0,
            ">= 0",
        )?;
        check(
            "position_expiry_s",
            self.position_expiry_s,
            self.position_expiry_s > 0.0,
            "> 0",
        )?;
        check(
            "max_rejections",
            f64::from(self.max_rejections),
            self.max_rejections >= 1,
            ">= 1",
        )?;
        if let Some(rx) = self.receiver {
            check(
                "receiver.lat",
                rx.lat,
                rx.lat.abs() <= 90.0 && rx.lon.is_finite(),
                "a latitude within ±90 and a finite longitude",
            )?;
        }
        Ok(())
    }
}

/// The config turned into the integer microseconds and metres the hot path uses.
#[derive(Clone, Debug)]
struct Limits {
    address_expiry_us: u64,
    pair_window_us: u64,
    /// How long a fix is a local-decode reference, `[airborne, surface]`.
    fix_valid_us: [u64; 2],
    max_speed_m_per_us: f64,
    slack_m: f64,
    forget_after_us: i64,
    max_rejections: u8,
    confirm_both: bool,
    receiver: Option<GeoPoint>,
}

/// `value` if finite and within `lo..=hi`, else the nearest bound (NaN → `default`).
fn clamp_or(value: f64, lo: f64, hi: f64, default: f64) -> f64 {
    if value.is_nan() {
        default
    } else {
        value.clamp(lo, hi)
    }
}

fn secs_to_us(s: f64) -> u64 {
    // Saturating float → int cast; inputs are clamped first.
    (s * 1e6) as u64
}

impl Limits {
    fn new(c: &TrackerConfig) -> (TrackerConfig, Limits) {
        let d = TrackerConfig::default();
        let day = 86_400.0;
        let cfg = TrackerConfig {
            address_expiry_s: clamp_or(c.address_expiry_s, 0.0, day, d.address_expiry_s),
            pair_window_s: clamp_or(c.pair_window_s, 0.0, 10.0, d.pair_window_s),
            local_max_range_nm: clamp_or(c.local_max_range_nm, 0.0, 180.0, d.local_max_range_nm),
            max_speed_mps: clamp_or(c.max_speed_mps, 1.0, 1e5, d.max_speed_mps),
            position_slack_m: clamp_or(c.position_slack_m, 0.0, 1e5, d.position_slack_m),
            position_expiry_s: clamp_or(c.position_expiry_s, 0.0, day, d.position_expiry_s),
            max_rejections: c.max_rejections.max(1),
            confirm_both_formats: c.confirm_both_formats,
            receiver: c
                .receiver
                .filter(|r| r.lat.abs() <= 90.0 && r.lon.is_finite()),
        };
        let range_m = cfg.local_max_range_nm * M_PER_NM;
        // A reference is good while the aircraft cannot have left the local-decode range.
        let valid = |range_m: f64| {
            let reach_s = ((range_m - cfg.position_slack_m) / cfg.max_speed_mps).max(0.0);
            secs_to_us(cfg.position_expiry_s.min(reach_s))
        };
        let limits = Limits {
            address_expiry_us: secs_to_us(cfg.address_expiry_s),
            pair_window_us: secs_to_us(cfg.pair_window_s),
            fix_valid_us: [valid(range_m), valid(range_m / 4.0)],
            max_speed_m_per_us: cfg.max_speed_mps / 1e6,
            slack_m: cfg.position_slack_m,
            forget_after_us: secs_to_us(
                cfg.address_expiry_s
                    .max(cfg.position_expiry_s)
                    .max(cfg.pair_window_s),
            ) as i64,
            max_rejections: cfg.max_rejections,
            confirm_both: cfg.confirm_both_formats,
            receiver: cfg.receiver,
        };
        (cfg, limits)
    }

    /// The speed gate for a time difference of `dt_us`, metres.
    #[inline]
    fn allowance_m(&self, dt_us: u64) -> f64 {
        self.max_speed_m_per_us * dt_us as f64 + self.slack_m
    }
}

/// Whether `b` lies within `limit_m` metres of `a`. First a bound without trigonometry:
/// the path north–south then east–west along a parallel is never shorter than the great
/// circle, and a parallel's arc is never longer than `Δlon` at the equator, so
/// `|Δlat| + |Δlon|` (in metres of a great circle) ≥ the distance. Real motion is far
/// inside the gate, so this settles nearly every call; the rest use the haversine.
#[inline]
fn within(a: GeoPoint, b: GeoPoint, limit_m: f64) -> bool {
    let dlat = (a.lat - b.lat).abs();
    let mut dlon = (a.lon - b.lon).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    if (dlat + dlon) * M_PER_DEG <= limit_m {
        return true;
    }
    a.haversine_m(b) <= limit_m
}

/// Whether a global and a local decode of the same message are the same grid point.
/// Both compute `Dlat · (zone + YZ/2^17)` for the same message, so they agree to
/// rounding or differ by a whole zone (≥ 160 km); 1e-6° (≈ 0.1 m) separates the cases.
#[inline]
fn same_point(a: GeoPoint, b: GeoPoint) -> bool {
    let mut dlon = (a.lon - b.lon).abs();
    if dlon > 180.0 {
        dlon = 360.0 - dlon;
    }
    (a.lat - b.lat).abs() < 1e-6 && dlon < 1e-6
}

/// The hasher of the aircraft table. Keys are 24-bit ICAO addresses, already
/// well-spread integers, so one multiplication by 2^64/φ (Fibonacci hashing) and a fold
/// of the high half into the low half (hashbrown takes the bucket from the low bits and
/// its tag from the top 7) do. SipHash, the std default, resists hash flooding at
/// several times the cost on every frame; addresses come from aircraft, and a sender
/// able to forge thousands of CRC-valid colliding addresses could flood the table
/// anyway. Hand-written (a dozen lines) rather than adding `rustc-hash` for it.
#[derive(Clone, Copy, Default)]
pub struct IcaoHasher(u64);

/// Builds [`IcaoHasher`]s: for maps and sets keyed by 24-bit addresses (as `u32`).
pub type IcaoBuildHasher = std::hash::BuildHasherDefault<IcaoHasher>;

const FIB: u64 = 0x9e37_79b9_7f4a_7c15;

impl Hasher for IcaoHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 32)
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(FIB);
        }
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0 ^ u64::from(n)).wrapping_mul(FIB);
    }
}

/// One stored position message: its 17-bit fields and when it was received.
#[derive(Clone, Copy, Debug)]
struct StoredCpr {
    lat: u32,
    lon: u32,
    at: i64,
}

const NO_CPR: StoredCpr = StoredCpr {
    lat: 0,
    lon: 0,
    at: NEVER,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Unplaced,
    Tentative,
    Placed,
}

/// `Aircraft::flags` bits.
const SURFACE: [u8; 2] = [1 << 0, 1 << 1];
const CONFIRMED: [u8; 2] = [1 << 2, 1 << 3];
/// The stored message of the format failed the gate while the aircraft was placed: it is
/// never paired. A corrupted message kept as a partner would otherwise give wrong global
/// decodes with every later message of the other format until one of its own format
/// replaces it, and enough of those disagreements move the track onto them.
const REJECTED: [u8; 2] = [1 << 4, 1 << 5];
/// During acquisition, a global decode of two messages that did not make the tentative
/// fix (each a message that confirmed it) agreed with it. Local decodes alone cannot tell
/// a fix one zone off from the truth: they pick the zone nearest to it.
const VERIFIED: u8 = 1 << 6;

/// What the aircraft's state knows: 88 bytes (checked by a test).
#[derive(Clone, Debug)]
struct Aircraft {
    /// Last DF11/17/18 with a clean CRC.
    heard_at: i64,
    /// Newest even (`[0]`) and odd (`[1]`) position message.
    frames: [StoredCpr; 2],
    /// The tentative fix (`Tentative`), the last accepted position (`Placed`), or the
    /// last known one (`Unplaced`, when `fix_at != NEVER`; a surface-decode reference).
    fix: GeoPoint,
    fix_at: i64,
    /// During acquisition, the time of the message of each format already counted.
    basis_at: [i64; 2],
    phase: Phase,
    flags: u8,
    /// Consecutive rejections or global/local disagreements while placed.
    strikes: u8,
}

/// What the other stored message says about the current one.
#[derive(Clone, Copy, Debug)]
enum Pair {
    /// No partner of the other format, same kind, within the pair window (or a surface
    /// pair with no reference to resolve it).
    None,
    /// A partner, but the pair does not decode (NL straddle, beyond a pole).
    Bad,
    /// The current message's position from the global decode; the partner's time.
    Fix(GeoPoint, i64),
}

impl Aircraft {
    fn new() -> Self {
        Aircraft {
            heard_at: NEVER,
            frames: [NO_CPR; 2],
            fix: GeoPoint { lat: 0.0, lon: 0.0 },
            fix_at: NEVER,
            basis_at: [NEVER; 2],
            phase: Phase::Unplaced,
            flags: 0,
            strikes: 0,
        }
    }

    fn last_seen(&self) -> i64 {
        self.heard_at
            .max(self.frames[0].at)
            .max(self.frames[1].at)
            .max(self.fix_at)
    }

    fn unplace(&mut self) {
        self.phase = Phase::Unplaced;
        self.strikes = 0;
    }

    fn start_tentative(&mut self, fix: GeoPoint, t: i64, f: usize, partner_at: i64) {
        self.phase = Phase::Tentative;
        self.fix = fix;
        self.fix_at = t;
        self.basis_at[f] = t;
        self.basis_at[1 - f] = partner_at;
        self.flags &= !(CONFIRMED[0] | CONFIRMED[1] | VERIFIED);
        self.strikes = 0;
    }

    /// The global decode of `cpr` with the stored message of the other format; a stored
    /// message the gate rejected only when `rejected_too` (the restart after
    /// `max_rejections`, when the track itself may be what is wrong).
    fn pair(&self, lim: &Limits, t: i64, cpr: CprPosition, rejected_too: bool) -> Pair {
        let other = 1 - usize::from(cpr.odd);
        let partner = self.frames[other];
        let partner_surface = self.flags & SURFACE[other] != 0;
        if partner.at == NEVER
            || (self.flags & REJECTED[other] != 0 && !rejected_too)
            || partner_surface != cpr.surface
            || t.abs_diff(partner.at) > lim.pair_window_us
        {
            return Pair::None;
        }
        let stored = CprPosition {
            odd: !cpr.odd,
            lat: partner.lat,
            lon: partner.lon,
            surface: cpr.surface,
        };
        let (even, odd) = if cpr.odd {
            (stored, cpr)
        } else {
            (cpr, stored)
        };
        let decoded = if cpr.surface {
            let reference = if self.fix_at != NEVER {
                Some(self.fix)
            } else {
                lim.receiver
            };
            let Some(reference) = reference else {
                return Pair::None;
            };
            cpr::decode_global_surface(even, odd, cpr.odd, reference)
        } else {
            cpr::decode_global_airborne(even, odd, cpr.odd)
        };
        match decoded {
            Some(p) => Pair::Fix(p, partner.at),
            None => Pair::Bad,
        }
    }

    /// Keeps `cpr` as the newest message of its format, unless a newer one is stored
    /// (out-of-order delivery); a stored one far in the future is a clock jump, replaced.
    fn store(&mut self, lim: &Limits, t: i64, cpr: CprPosition) {
        let f = usize::from(cpr.odd);
        let slot = &mut self.frames[f];
        if t >= slot.at || slot.at.abs_diff(t) > lim.pair_window_us {
            *slot = StoredCpr {
                lat: cpr.lat,
                lon: cpr.lon,
                at: t,
            };
            self.flags &= !REJECTED[f];
            if cpr.surface {
                self.flags |= SURFACE[f];
            } else {
                self.flags &= !SURFACE[f];
            }
        }
    }

    fn resolve(
        &mut self,
        lim: &Limits,
        t: i64,
        cpr: CprPosition,
    ) -> Result<Option<GeoPoint>, DropReason> {
        let age = t.abs_diff(self.fix_at);
        match self.phase {
            Phase::Placed if age > lim.fix_valid_us[usize::from(cpr.surface)] => self.unplace(),
            Phase::Tentative if age > lim.pair_window_us => self.unplace(),
            _ => {}
        }
        let pair = self.pair(lim, t, cpr, false);
        let f = usize::from(cpr.odd);
        // Another reception of the stored message of this format (same CPR bits), as
        // against a new message: what tells new evidence from a copy when the input
        // gives both the same time (module docs, "Frames without their own time").
        let copy = self.frames[f].lat == cpr.lat && self.frames[f].lon == cpr.lon;
        self.store(lim, t, cpr);
        match self.phase {
            Phase::Unplaced => match pair {
                Pair::Fix(p, partner_at) => {
                    self.start_tentative(p, t, f, partner_at);
                    Ok(None)
                }
                Pair::Bad => Err(DropReason::BadCpr),
                Pair::None => Ok(None),
            },
            Phase::Tentative => self.confirm(lim, t, cpr, pair, copy),
            Phase::Placed => self.track(lim, t, cpr, pair),
        }
    }

    /// Acquisition: does `cpr` agree with the tentative fix?
    fn confirm(
        &mut self,
        lim: &Limits,
        t: i64,
        cpr: CprPosition,
        pair: Pair,
        copy: bool,
    ) -> Result<Option<GeoPoint>, DropReason> {
        let f = usize::from(cpr.odd);
        // Frames without their own time share one timestamp: a message with new bits at
        // exactly the counted one's time is the next message, in arrival order.
        let untimed_new = t == self.basis_at[f] && !copy;
        if t < self.basis_at[f].saturating_add(DUPLICATE_US) && !untimed_new {
            // The same frame again (another receiver), or an older one: no evidence.
            return Ok(None);
        }
        let guard = if cpr.surface {
            SURFACE_ALIAS_GUARD_M
        } else {
            ALIAS_GUARD_M
        };
        let limit = lim.allowance_m(t.abs_diff(self.fix_at)).min(guard);
        let local = cpr::decode_local(cpr, self.fix).filter(|&p| within(self.fix, p, limit));
        let Some(p) = local else {
            // The tentative fix or this message is wrong; a pair of this message with the
            // other format is the better guess now.
            if let Pair::Fix(g, partner_at) = pair {
                self.start_tentative(g, t, f, partner_at);
            }
            return Err(DropReason::ImplausibleMotion);
        };
        // A pair of this message with the one that confirmed the other format: neither
        // made the tentative fix, so its global decode is an independent check of it.
        if let Pair::Fix(g, partner_at) = pair
            && self.flags & CONFIRMED[1 - f] != 0
            && partner_at == self.basis_at[1 - f]
        {
            if !same_point(g, p) {
                // The fix is wrong (made with a bad message, confirmed by local decodes
                // against it): start again from the independent pair.
                self.start_tentative(g, t, f, partner_at);
                return Err(DropReason::ImplausibleMotion);
            }
            self.flags |= VERIFIED;
        }
        self.flags |= CONFIRMED[f];
        self.basis_at[f] = t;
        if t >= self.fix_at {
            self.fix = p;
            self.fix_at = t;
        }
        let both = CONFIRMED[0] | CONFIRMED[1];
        let placed = if lim.confirm_both {
            self.flags & both == both && self.flags & VERIFIED != 0
        } else {
            // The one-confirmation rule (a setting, weaker by design): no independent
            // pair exists yet when it places.
            true
        };
        if placed {
            self.phase = Phase::Placed;
            self.strikes = 0;
            Ok(Some(p))
        } else {
            Ok(None)
        }
    }

    /// Tracking: local decode against the last accepted position, checked by the gate
    /// and by the global decode.
    fn track(
        &mut self,
        lim: &Limits,
        t: i64,
        cpr: CprPosition,
        pair: Pair,
    ) -> Result<Option<GeoPoint>, DropReason> {
        let limit = lim.allowance_m(t.abs_diff(self.fix_at));
        let Some(local) = cpr::decode_local(cpr, self.fix) else {
            return self.reject(lim, t, cpr, pair, DropReason::BadCpr);
        };
        if !within(self.fix, local, limit) {
            return self.reject(lim, t, cpr, pair, DropReason::ImplausibleMotion);
        }
        match pair {
            Pair::Fix(g, partner_at) if !same_point(g, local) => {
                // The pair disagrees with the track: one of its messages is bad, or the
                // track is. Keep going on the track unless this keeps happening.
                self.strikes = self.strikes.saturating_add(1);
                if self.strikes >= lim.max_rejections {
                    self.start_tentative(g, t, usize::from(cpr.odd), partner_at);
                    return Ok(None);
                }
            }
            // No pair because the other format's message was rejected: that rejection
            // stands (a track the other format keeps contradicting must not be held by
            // this format's local decodes alone).
            Pair::None if self.flags & REJECTED[1 - usize::from(cpr.odd)] != 0 => {}
            _ => self.strikes = 0,
        }
        if t >= self.fix_at {
            self.fix = local;
            self.fix_at = t;
        }
        Ok(Some(local))
    }

    fn reject(
        &mut self,
        lim: &Limits,
        t: i64,
        cpr: CprPosition,
        pair: Pair,
        reason: DropReason,
    ) -> Result<Option<GeoPoint>, DropReason> {
        let f = usize::from(cpr.odd);
        if self.frames[f].at == t && self.frames[f].lat == cpr.lat && self.frames[f].lon == cpr.lon
        {
            self.flags |= REJECTED[f];
        }
        self.strikes = self.strikes.saturating_add(1);
        if self.strikes >= lim.max_rejections {
            // Every recent message disagreed with the track: the track may be what is
            // wrong, so the pair may use a message the gate rejected.
            let pair = match pair {
                Pair::None => self.pair(lim, t, cpr, true),
                known => known,
            };
            match pair {
                Pair::Fix(g, partner_at) => {
                    self.start_tentative(g, t, usize::from(cpr.odd), partner_at)
                }
                _ => self.unplace(),
            }
        }
        Err(reason)
    }
}

/// Per-aircraft decoder state: the addresses heard recently (to trust address/parity
/// replies) and the CPR state that turns position messages into trusted positions
/// (module docs). Pure: time comes only from the arguments.
#[derive(Clone, Debug)]
pub struct Tracker {
    config: TrackerConfig,
    limits: Limits,
    aircraft: HashMap<u32, Aircraft, BuildHasherDefault<IcaoHasher>>,
}

impl Default for Tracker {
    fn default() -> Self {
        Tracker::new(TrackerConfig::default())
    }
}

impl Tracker {
    /// A tracker with no aircraft. Out-of-range settings are clamped into range (see
    /// [`TrackerConfig::validate`] to reject them instead).
    pub fn new(config: TrackerConfig) -> Self {
        let (config, limits) = Limits::new(&config);
        Tracker {
            config,
            limits,
            aircraft: HashMap::default(),
        }
    }

    /// The settings in force (after clamping).
    pub fn config(&self) -> &TrackerConfig {
        &self.config
    }

    /// An address heard in DF11 / DF17 / DF18 with a valid CRC (not recovered from
    /// parity). Makes address/parity replies from it trusted for `address_expiry_s`.
    pub fn note_address(&mut self, icao: Icao24, at: Timestamp) {
        let t = at.as_micros();
        let ac = self
            .aircraft
            .entry(icao.as_u32())
            .or_insert_with(Aircraft::new);
        // Keep the newest time, unless the stored one is beyond the expiry in the
        // future (a clock jump back), which would otherwise keep the address trusted.
        if t > ac.heard_at || ac.heard_at.abs_diff(t) > self.limits.address_expiry_us {
            ac.heard_at = t;
        }
    }

    /// Whether `icao` was heard in DF11/17/18 within `address_expiry_s` of `at` (either
    /// side: a reply slightly older than the squitter, from another receiver, counts).
    /// An address/parity reply (DF0/4/5/16/20/21) carries no checkable CRC, so this is
    /// what tells a real reply from noise (readsb's `icao_filter`).
    pub fn is_known(&self, icao: Icao24, at: Timestamp) -> bool {
        self.aircraft.get(&icao.as_u32()).is_some_and(|ac| {
            ac.heard_at != NEVER
                && at.as_micros().abs_diff(ac.heard_at) <= self.limits.address_expiry_us
        })
    }

    /// Resolves a CPR position from `icao` received at `at`. `Ok(Some(point))` when
    /// resolved and trusted; `Ok(None)` while waiting for a pair or a confirmation;
    /// `Err(DropReason::BadCpr)` for a field wider than 17 bits or an undecodable pair
    /// or position; `Err(DropReason::ImplausibleMotion)` for a position outside the speed
    /// gate of the aircraft's last one, or contradicting its tentative fix. The rules are
    /// in the module docs.
    pub fn resolve_position(
        &mut self,
        icao: Icao24,
        at: Timestamp,
        cpr: CprPosition,
    ) -> Result<Option<GeoPoint>, DropReason> {
        if !cpr.in_range() {
            return Err(DropReason::BadCpr);
        }
        let limits = &self.limits;
        self.aircraft
            .entry(icao.as_u32())
            .or_insert_with(Aircraft::new)
            .resolve(limits, at.as_micros(), cpr)
    }

    /// The earliest time `cpr`, a DF17 position squitter of `icao` received without a
    /// time of its own, can have been broadcast: [`MIN_POSITION_INTERVAL_US`] after the
    /// aircraft's newest stored position message. `None` when nothing is stored or `cpr`
    /// repeats the stored message of its format bit for bit (a copy, not a new
    /// broadcast). See the module docs, "Frames without their own time".
    pub fn earliest_broadcast(&self, icao: Icao24, cpr: CprPosition) -> Option<Timestamp> {
        let ac = self.aircraft.get(&icao.as_u32())?;
        let stored = ac.frames[usize::from(cpr.odd)];
        if stored.at != NEVER && stored.lat == cpr.lat && stored.lon == cpr.lon {
            return None;
        }
        let newest = ac.frames[0].at.max(ac.frames[1].at);
        (newest != NEVER)
            .then(|| Timestamp::from_micros(newest.saturating_add(MIN_POSITION_INTERVAL_US)))
    }

    /// The last accepted position of a placed aircraft and when it was received;
    /// `None` while it is unplaced or being acquired.
    pub fn position(&self, icao: Icao24) -> Option<(GeoPoint, Timestamp)> {
        self.aircraft
            .get(&icao.as_u32())
            .filter(|ac| ac.phase == Phase::Placed)
            .map(|ac| (ac.fix, Timestamp::from_micros(ac.fix_at)))
    }

    /// Forgets aircraft silent since before `now − expiry`, where expiry is the longest
    /// of `address_expiry_s`, `position_expiry_s` and `pair_window_s`: nothing of theirs
    /// could still be used. Call it periodically with the data time (never a clock).
    pub fn expire(&mut self, now: Timestamp) {
        let cutoff = now.as_micros().saturating_sub(self.limits.forget_after_us);
        self.aircraft.retain(|_, ac| ac.last_seen() >= cutoff);
    }

    /// Number of aircraft with any state.
    pub fn len(&self) -> usize {
        self.aircraft.len()
    }

    /// Whether no aircraft has any state.
    pub fn is_empty(&self) -> bool {
        self.aircraft.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_compact() {
        assert_eq!(std::mem::size_of::<Aircraft>(), 88);
    }

    #[test]
    fn hasher_spreads_sequential_addresses() {
        use std::hash::BuildHasher;
        let b = BuildHasherDefault::<IcaoHasher>::default();
        let mut buckets = [0u32; 64];
        let mut tags = [0u32; 128];
        for a in 0x4ca000u32..0x4ca000 + 6400 {
            let h = b.hash_one(a);
            buckets[(h & 63) as usize] += 1;
            tags[(h >> 57) as usize] += 1;
        }
        // 100 per bucket and 50 per tag on average; no bucket or tag more than doubled.
        assert!(
            buckets.iter().all(|&n| (50..=200).contains(&n)),
            "{buckets:?}"
        );
        assert!(tags.iter().all(|&n| (10..=100).contains(&n)), "{tags:?}");
    }

    #[test]
    fn within_agrees_with_haversine() {
        let a = GeoPoint::new(60.0, 10.0);
        let b = GeoPoint::new(60.0, 10.2); // ≈ 11.1 km east at 60° N
        let d = a.haversine_m(b);
        assert!(within(a, b, d + 1.0));
        assert!(!within(a, b, d - 1.0));
        let c = GeoPoint::new(0.0, 179.99);
        let e = GeoPoint::new(0.0, -179.99);
        assert!(within(c, e, 2_300.0));
        assert!(!within(c, e, 2_000.0));
    }

    #[test]
    fn config_clamps_and_validates() {
        let bad = TrackerConfig {
            pair_window_s: 30.0,
            local_max_range_nm: f64::NAN,
            ..TrackerConfig::default()
        };
        let err = bad.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "tracker setting pair_window_s = 30 is out of range (expected > 0 and <= 10)"
        );
        let t = Tracker::new(bad);
        assert_eq!(t.config().pair_window_s, 10.0);
        assert_eq!(t.config().local_max_range_nm, 180.0);
        assert!(TrackerConfig::default().validate().is_ok());
        // Airborne reference validity: min(60 s, (333.36 km − 1 km) / 1000 m/s) = 60 s;
        // surface: (83.34 km − 1 km) / 1000 m/s = 82.34 s → 60 s.
        assert_eq!(t.limits.fix_valid_us, [60_000_000, 60_000_000]);
    }
}
