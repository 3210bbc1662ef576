//! A multilateration fix as evidence: everything needed to compute it again, and what it
//! gave.
//!
//! A fix rests on the copies of one Mode S frame heard by several receivers: each
//! receiver's position and clock kind, its raw 48-bit timestamp of the copy and its
//! receive time, and the clock-synchronisation state at that moment (the offset of the
//! receiver's clock from the base receiver's, with its standard error, as the pair's
//! line predicted it). With those, the altitude constraint and the prior that were used,
//! [`FixEvidence::recompute`] runs the same solver again: a verifier needs neither the
//! other aircraft that synchronised the clocks nor our service. The record is stored as
//! a raw record of protocol `mlat` (code 0x04) in the evidence log.
//!
//! Canonical encoding (all integers big-endian; `f64` is the IEEE 754 binary64 bit
//! pattern, big-endian, never NaN or infinite; one value has exactly one encoding and
//! [`FixEvidence::decode`] rejects anything [`FixEvidence::encode`] would not write):
//!
//! ```text
//! record    = 0x01 icao:u24 at:i64 frame flags base:u8 n:u8 copy{n} [alt] [prior] result
//! frame     = len:u8 (7 or 14) bytes
//! flags     = u8: bit 0 altitude constraint present, bit 1 prior present, bit 2 the
//!             constraint is the altitude reported in this very frame (others 0)
//! copy      = name:(len:u8 1..=32 UTF-8) lat:f64 lon:f64 alt_m:f64 clock:u8
//!             counter:u64 (< 2^48) received_at:i64 offset_s:f64 offset_se_s:f64
//! clock     = 0x01 beast | 0x02 radarcape_gps | 0x03 dump1090
//! alt       = h_m:f64 sigma_m:f64          -- height above the ellipsoid, metres
//! prior     = x:f64 y:f64 z:f64            -- ECEF metres
//! result    = lat:f64 lon:f64 h_m:f64 accuracy_m:f64
//! ```
//!
//! `at` and `received_at` are microseconds since the Unix epoch; `base` indexes the copy
//! whose clock the others were put on (its offset is 0); `n` is 3 to 16.
//!
//! A record whose first byte is 0x02 is not a fix but a check of a broadcast position
//! ([`CheckEvidence`], module `check`): the same copies, the claim and its residual.

use skyfence_core::{
    Altitude, AltitudeDatum, GeoPoint, Icao24, Observation, PositionKind, Timestamp,
};
use skyfence_decode::sensor::ReceiverClock;

use crate::clock::{counter_seconds, jitter_s};

mod check;
use crate::geo::{self, Ecef};
use crate::solve::{self, AltitudeConstraint, Fix, Measurement, NoFix, SolveLimits};
pub use check::{CHECK_VERSION, CheckEvidence, CheckMismatch, RESIDUAL_AGREEMENT_M};

/// The encoding's version byte.
pub const VERSION: u8 = 0x01;
/// The most copies a record holds.
pub const MAX_COPIES: usize = 16;
/// A recomputed fix this far (metres, horizontally or in height) from the recorded one
/// disagrees with it: the solver is deterministic, so only changed inputs move it.
pub const AGREEMENT_M: f64 = 1.0;

/// One receiver's copy of the frame.
#[derive(Clone, Debug, PartialEq)]
pub struct CopyEvidence {
    /// The receiver's `[[sensor]]` name.
    pub receiver: String,
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Antenna height above the ellipsoid, metres.
    pub alt_m: f64,
    /// Its clock.
    pub clock: ReceiverClock,
    /// Its raw 48-bit timestamp of the copy.
    pub counter: u64,
    /// When the service received the copy.
    pub received_at: Timestamp,
    /// The offset of this receiver's clock from the base receiver's at that moment,
    /// seconds (0 for the base).
    pub offset_s: f64,
    /// The standard error of `offset_s`, seconds.
    pub offset_se_s: f64,
}

/// A fix with what it was computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct FixEvidence {
    /// The transponder.
    pub icao: Icao24,
    /// The fix's time (the observation's).
    pub at: Timestamp,
    /// The frame's bytes (the same in every copy).
    pub frame: Vec<u8>,
    /// The copies used, at least 3.
    pub copies: Vec<CopyEvidence>,
    /// The copy whose clock is the time base.
    pub base: usize,
    /// The altitude constraint used.
    pub altitude: Option<AltitudeConstraint>,
    /// Whether the constraint is the (barometric) altitude this frame reported: the
    /// fix's altitude is then that one, else the solved (geometric) height.
    pub altitude_reported: bool,
    /// The prior used (the aircraft's previous fix).
    pub prior: Option<Ecef>,
    /// The fix: degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Height above the ellipsoid, metres.
    pub h_m: f64,
    /// Its 95 % horizontal bound, metres.
    pub accuracy_m: f64,
}

/// Why a record does not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The bytes end early.
    #[error("truncated mlat fix record")]
    Truncated,
    /// Bytes follow the record.
    #[error("{0} bytes after the mlat fix record")]
    Trailing(usize),
    /// A field holds a value the encoding does not allow.
    #[error("mlat fix record: bad {0}")]
    Bad(&'static str),
}

/// Why a record's fix cannot be reproduced.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Mismatch {
    /// The recorded copies give no fix.
    #[error("the receivers' times give no fix ({})", .0.as_str())]
    NoFix(NoFix),
    /// They give another position.
    #[error(
        "the fix recomputed from the receivers' times lies {horizontal_m:.1} m (horizontally) and {vertical_m:.1} m (in height) from the recorded one"
    )]
    Moved {
        /// Horizontal distance, metres.
        horizontal_m: f64,
        /// Height difference, metres.
        vertical_m: f64,
    },
    /// The record's time is not the emission time its copies give.
    #[error("the fix's time is {0:.3} ms from the emission time its copies give")]
    Time(f64),
}

fn clock_code(c: ReceiverClock) -> u8 {
    match c {
        ReceiverClock::Beast => 0x01,
        ReceiverClock::RadarcapeGps => 0x02,
        ReceiverClock::Dump1090 => 0x03,
    }
}

fn clock_of(code: u8) -> Option<ReceiverClock> {
    match code {
        0x01 => Some(ReceiverClock::Beast),
        0x02 => Some(ReceiverClock::RadarcapeGps),
        0x03 => Some(ReceiverClock::Dump1090),
        _ => None,
    }
}

struct Reader<'a> {
    b: &'a [u8],
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], EvidenceError> {
        if self.b.len() < n {
            return Err(EvidenceError::Truncated);
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u8(&mut self) -> Result<u8, EvidenceError> {
        Ok(self.take(1)?[0])
    }
    fn u64(&mut self) -> Result<u64, EvidenceError> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(a))
    }
    fn i64(&mut self) -> Result<i64, EvidenceError> {
        Ok(self.u64()? as i64)
    }
    fn f64(&mut self, what: &'static str) -> Result<f64, EvidenceError> {
        let v = f64::from_bits(self.u64()?);
        if v.is_finite() {
            Ok(v)
        } else {
            Err(EvidenceError::Bad(what))
        }
    }
}

impl CopyEvidence {
    fn encode(&self, w: &mut Vec<u8>) {
        let f = |w: &mut Vec<u8>, v: f64| w.extend_from_slice(&v.to_bits().to_be_bytes());
        w.push(self.receiver.len() as u8);
        w.extend_from_slice(self.receiver.as_bytes());
        f(w, self.lat);
        f(w, self.lon);
        f(w, self.alt_m);
        w.push(clock_code(self.clock));
        w.extend_from_slice(&self.counter.to_be_bytes());
        w.extend_from_slice(&self.received_at.as_micros().to_be_bytes());
        f(w, self.offset_s);
        f(w, self.offset_se_s);
    }

    fn decode(r: &mut Reader<'_>) -> Result<CopyEvidence, EvidenceError> {
        let len = usize::from(r.u8()?);
        if !(1..=32).contains(&len) {
            return Err(EvidenceError::Bad("receiver name"));
        }
        let receiver = std::str::from_utf8(r.take(len)?)
            .map_err(|_| EvidenceError::Bad("receiver name"))?
            .to_owned();
        let lat = r.f64("latitude")?;
        let lon = r.f64("longitude")?;
        let alt_m = r.f64("height")?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(EvidenceError::Bad("receiver position"));
        }
        let clock = clock_of(r.u8()?).ok_or(EvidenceError::Bad("clock"))?;
        let counter = r.u64()?;
        if counter >= 1 << 48 {
            return Err(EvidenceError::Bad("counter"));
        }
        let received_at = Timestamp::from_micros(r.i64()?);
        let offset_s = r.f64("offset")?;
        let offset_se_s = r.f64("offset error")?;
        Ok(CopyEvidence {
            receiver,
            lat,
            lon,
            alt_m,
            clock,
            counter,
            received_at,
            offset_s,
            offset_se_s,
        })
    }

    /// The solver's measurement: the copy's time put on the base receiver's clock.
    fn measurement(&self) -> Measurement {
        let j = jitter_s(self.clock);
        Measurement {
            receiver: geo::to_ecef(self.lat, self.lon, self.alt_m),
            t_s: counter_seconds(self.clock, self.counter) - self.offset_s,
            sigma_s: (j * j + self.offset_se_s * self.offset_se_s).sqrt(),
        }
    }
}

impl FixEvidence {
    /// The canonical bytes (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 + self.copies.len() * 80);
        w.push(VERSION);
        w.extend_from_slice(&self.icao.as_u32().to_be_bytes()[1..]);
        w.extend_from_slice(&self.at.as_micros().to_be_bytes());
        w.push(self.frame.len() as u8);
        w.extend_from_slice(&self.frame);
        let reported = self.altitude.is_some() && self.altitude_reported;
        w.push(
            u8::from(self.altitude.is_some())
                | (u8::from(self.prior.is_some()) << 1)
                | (u8::from(reported) << 2),
        );
        w.push(self.base as u8);
        w.push(self.copies.len() as u8);
        let f = |w: &mut Vec<u8>, v: f64| w.extend_from_slice(&v.to_bits().to_be_bytes());
        for c in &self.copies {
            c.encode(&mut w);
        }
        if let Some(a) = self.altitude {
            f(&mut w, a.h_m);
            f(&mut w, a.sigma_m);
        }
        if let Some(p) = self.prior {
            f(&mut w, p.x);
            f(&mut w, p.y);
            f(&mut w, p.z);
        }
        for v in [self.lat, self.lon, self.h_m, self.accuracy_m] {
            f(&mut w, v);
        }
        w
    }

    /// Reads [`FixEvidence::encode`]'s bytes back.
    ///
    /// # Errors
    /// What is wrong with the bytes.
    pub fn decode(bytes: &[u8]) -> Result<FixEvidence, EvidenceError> {
        let mut r = Reader { b: bytes };
        if r.u8()? != VERSION {
            return Err(EvidenceError::Bad("version"));
        }
        let a = r.take(3)?;
        let icao = Icao24::from_u32_masked(u32::from_be_bytes([0, a[0], a[1], a[2]]));
        let at = Timestamp::from_micros(r.i64()?);
        let len = usize::from(r.u8()?);
        if len != 7 && len != 14 {
            return Err(EvidenceError::Bad("frame length"));
        }
        let frame = r.take(len)?.to_vec();
        let flags = r.u8()?;
        if flags & !0b111 != 0 || flags & 0b101 == 0b100 {
            return Err(EvidenceError::Bad("flags"));
        }
        let base = usize::from(r.u8()?);
        let n = usize::from(r.u8()?);
        if !(3..=MAX_COPIES).contains(&n) || base >= n {
            return Err(EvidenceError::Bad("copy count or base"));
        }
        let mut copies = Vec::with_capacity(n);
        for _ in 0..n {
            copies.push(CopyEvidence::decode(&mut r)?);
        }
        let altitude = if flags & 1 != 0 {
            Some(AltitudeConstraint {
                h_m: r.f64("altitude")?,
                sigma_m: r.f64("altitude sigma")?,
            })
        } else {
            None
        };
        let prior = if flags & 2 != 0 {
            Some(Ecef::new(r.f64("prior")?, r.f64("prior")?, r.f64("prior")?))
        } else {
            None
        };
        let lat = r.f64("fix latitude")?;
        let lon = r.f64("fix longitude")?;
        let h_m = r.f64("fix height")?;
        let accuracy_m = r.f64("fix accuracy")?;
        if !r.b.is_empty() {
            return Err(EvidenceError::Trailing(r.b.len()));
        }
        Ok(FixEvidence {
            icao,
            at,
            frame,
            copies,
            base,
            altitude,
            altitude_reported: flags & 4 != 0,
            prior,
            lat,
            lon,
            h_m,
            accuracy_m,
        })
    }

    /// The fix as an observation (position kind `mlat`, accuracy its 95 % horizontal
    /// bound, the frame's reported altitude or else the solved height): the live
    /// service and a bundle's re-detection make it the same way from the same record.
    pub fn observation(&self) -> Observation {
        let mut o = Observation::new(self.icao, self.at);
        o.position = Some(GeoPoint::new(self.lat, self.lon));
        o.position_kind = PositionKind::Mlat;
        o.accuracy_m = Some(self.accuracy_m as f32);
        o.altitude = Some(match self.altitude {
            Some(a) if self.altitude_reported => Altitude {
                feet: (a.h_m / 0.3048).round() as i32,
                datum: AltitudeDatum::Barometric,
            },
            _ => Altitude {
                feet: (self.h_m / 0.3048).round() as i32,
                datum: AltitudeDatum::Geometric,
            },
        });
        o
    }

    /// The solver's measurements: each copy's time put on the base receiver's clock.
    pub fn measurements(&self) -> Vec<Measurement> {
        self.copies.iter().map(CopyEvidence::measurement).collect()
    }

    /// Solves again from the recorded copies.
    ///
    /// # Errors
    /// Why the copies give no fix.
    pub fn solve(&self) -> Result<Fix, NoFix> {
        solve::solve_near(
            &self.measurements(),
            self.altitude,
            self.prior,
            &SolveLimits::default(),
        )
    }

    /// Solves again and checks that the result is the recorded fix, at the recorded time
    /// (the base copy's receive time less its flight time, within a millisecond).
    ///
    /// # Errors
    /// How the recomputed fix differs.
    pub fn recompute(&self) -> Result<Fix, Mismatch> {
        let fix = self.solve().map_err(Mismatch::NoFix)?;
        let recorded = geo::to_ecef(self.lat, self.lon, self.h_m);
        let horizontal_m = solve::horizontal_distance_m(&fix.ecef, &recorded);
        let vertical_m = (fix.h_m - self.h_m).abs();
        if horizontal_m > AGREEMENT_M || vertical_m > AGREEMENT_M {
            return Err(Mismatch::Moved {
                horizontal_m,
                vertical_m,
            });
        }
        let b = &self.copies[self.base];
        let expected = b.received_at.add_micros(
            ((fix.emitted_s - counter_seconds(b.clock, b.counter)) * 1e6).round() as i64,
        );
        let off_ms = self.at.micros_since(expected) as f64 / 1e3;
        if off_ms.abs() > 1.0 {
            return Err(Mismatch::Time(off_ms));
        }
        Ok(fix)
    }
}

/// The copies of one transmission from `truth` at 9 000 m, heard at exact times by the
/// five test receivers; each receiver's clock is 1 s + its index off, which `offset_s`
/// removes. `received_at` gives each copy's receive time from its time of arrival.
#[cfg(test)]
pub(crate) fn test_copies(
    truth: (f64, f64),
    offset_se_s: f64,
    received_at: impl Fn(f64) -> Timestamp,
) -> Vec<CopyEvidence> {
    let rx = crate::testgeo::receivers(5);
    let x = geo::to_ecef(truth.0, truth.1, 9000.0);
    let t = crate::testgeo::times(&rx, &x, 1000.0);
    rx.iter()
        .zip(&t)
        .enumerate()
        .map(|(i, (p, t))| {
            let (lat, lon, h) = geo::from_ecef(p);
            CopyEvidence {
                receiver: format!("rx{i}"),
                lat,
                lon,
                alt_m: h,
                clock: ReceiverClock::Beast,
                counter: ((t + 1.0 + i as f64) * 12e6).round() as u64,
                received_at: received_at(*t),
                offset_s: i as f64,
                offset_se_s,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testgeo;

    /// Four receivers and a transmitter in their hull, times exact: the record
    /// round-trips, recomputes, and a changed timestamp is caught.
    fn sample() -> FixEvidence {
        let copies = test_copies((34.5, 69.3), 20e-9, |t| {
            Timestamp::from_secs(1_700_000_000).add_micros((t * 1e6) as i64)
        });
        let mut e = FixEvidence {
            icao: Icao24::from_u32_masked(0x7a5c01),
            at: Timestamp::EPOCH,
            frame: vec![0x5d, 0x7a, 0x5c, 0x01, 0x12, 0x34, 0x56],
            copies,
            base: 0,
            altitude: Some(AltitudeConstraint {
                h_m: 9000.0,
                sigma_m: 60.0,
            }),
            altitude_reported: true,
            prior: None,
            lat: 0.0,
            lon: 0.0,
            h_m: 0.0,
            accuracy_m: 0.0,
        };
        let fix = e.solve().unwrap();
        let b = &e.copies[0];
        e.at = b.received_at.add_micros(
            ((fix.emitted_s - counter_seconds(b.clock, b.counter)) * 1e6).round() as i64,
        );
        (e.lat, e.lon, e.h_m, e.accuracy_m) = (fix.lat, fix.lon, fix.h_m, fix.horizontal_95_m);
        e
    }

    #[test]
    fn a_record_round_trips_and_recomputes() {
        let e = sample();
        let bytes = e.encode();
        let back = FixEvidence::decode(&bytes).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.encode(), bytes);
        let fix = back.recompute().unwrap();
        let truth = geo::to_ecef(34.5, 69.3, 9000.0);
        // Counters are whole 12 MHz ticks (±42 ns: ±12 m of range).
        assert!(testgeo::horizontal_m(&fix.ecef, &truth) < 30.0);
    }

    #[test]
    fn a_changed_timestamp_moves_the_fix_and_is_named() {
        let mut e = sample();
        // 12 ticks: one microsecond, 300 m of range.
        e.copies[2].counter += 12;
        let err = e.recompute().unwrap_err();
        assert!(
            matches!(err, Mismatch::Moved { horizontal_m, .. } if horizontal_m > 10.0),
            "{err}"
        );
        assert!(err.to_string().contains("from the recorded one"), "{err}");
        let mut e = sample();
        e.at = e.at.add_micros(5_000);
        assert!(matches!(e.recompute(), Err(Mismatch::Time(ms)) if (ms - 5.0).abs() < 0.01));
    }

    #[test]
    fn bad_bytes_are_refused_never_a_panic() {
        let bytes = sample().encode();
        for n in 0..bytes.len() {
            assert!(FixEvidence::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut more = bytes.clone();
        more.push(0);
        assert_eq!(FixEvidence::decode(&more), Err(EvidenceError::Trailing(1)));
        let mut nan = bytes.clone();
        let last = nan.len() - 8;
        nan[last..].copy_from_slice(&f64::NAN.to_bits().to_be_bytes());
        assert!(FixEvidence::decode(&nan).is_err());
        let mut v = bytes;
        v[0] = 2;
        assert_eq!(FixEvidence::decode(&v), Err(EvidenceError::Bad("version")));
    }
}
