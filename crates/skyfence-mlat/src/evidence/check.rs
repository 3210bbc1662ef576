//! A check of a broadcast (ADS-B) position as evidence: the copies of the position
//! message, the claim, and what the check gave, so a verifier recomputes the residual
//! and the verdict on the aircraft without our service.
//!
//! Canonical encoding (as the fix record's, module [`super`]; a raw record of protocol
//! `mlat`, told from a fix by its first byte):
//!
//! ```text
//! record   = 0x02 icao:u24 at:i64 completed_at:i64 frame n:u8 copy{n} claim
//!            residual_m:f64 flags:u8 checked:u32 suspected:u32
//! claim    = lat:f64 lon:f64 h_m:f64      -- the position the message claimed
//! flags    = u8: bit 0 the times contradict the claim (others 0)
//! ```
//!
//! `at` is the first copy's receive time, `completed_at` the engine's time when it
//! checked the claim (a verdict taken at a moment counts the checks completed by then);
//! `n` is 4 to 16 copies, each already on the base receiver's clock (`offset_s`);
//! `checked` and `suspected` count the aircraft's checks so far, this one included.

use skyfence_core::{Icao24, Timestamp};

use super::{CopyEvidence, EvidenceError, MAX_COPIES, Reader};
use crate::engine::{Verdict, verdict_of};
use crate::geo;
use crate::solve::{self, Measurement};

/// The first byte of a check record.
pub const CHECK_VERSION: u8 = 0x02;
/// A recomputed residual this far (metres) from the recorded one disagrees with it.
pub const RESIDUAL_AGREEMENT_M: f64 = 0.01;

/// One check of a claimed position, with what it was computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckEvidence {
    /// The transponder.
    pub icao: Icao24,
    /// The first copy's receive time.
    pub at: Timestamp,
    /// When the engine checked it.
    pub completed_at: Timestamp,
    /// The position message's bytes.
    pub frame: Vec<u8>,
    /// The copies used (on the base receiver's clock), at least 4.
    pub copies: Vec<CopyEvidence>,
    /// The claimed position: degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Height above the ellipsoid, metres.
    pub h_m: f64,
    /// RMS range residual of the claim, metres (the best subset without one receiver
    /// when over the threshold and a receiver was to spare).
    pub residual_m: f64,
    /// Whether the times contradict the claim.
    pub suspect: bool,
    /// The aircraft's checks so far, this one included.
    pub checked: u32,
    /// Of which contradicted.
    pub suspected: u32,
}

/// Why a check record's result cannot be reproduced.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CheckMismatch {
    /// Too few copies to check anything.
    #[error("{0} copies are too few to check a claim")]
    TooFew(usize),
    /// Another residual.
    #[error(
        "the claim's residual recomputed from the receivers' times is {got:.2} m, the record says {recorded:.2} m"
    )]
    Residual {
        /// Recomputed, metres.
        got: f64,
        /// Recorded, metres.
        recorded: f64,
    },
    /// The residual is right, the flag is not.
    #[error("the record says the claim is {}, its residual of {residual_m:.1} m makes it {}", if *.recorded { "contradicted" } else { "consistent" }, if *.recorded { "consistent" } else { "contradicted" })]
    Flag {
        /// The recorded flag.
        recorded: bool,
        /// The residual, metres.
        residual_m: f64,
    },
    /// Counts that cannot be.
    #[error("the record counts {suspected} contradicted of {checked} checks")]
    Counts {
        /// Checks.
        checked: u32,
        /// Contradicted.
        suspected: u32,
    },
}

impl CheckEvidence {
    /// The canonical bytes (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Vec::with_capacity(64 + self.copies.len() * 80);
        let f = |w: &mut Vec<u8>, v: f64| w.extend_from_slice(&v.to_bits().to_be_bytes());
        w.push(CHECK_VERSION);
        w.extend_from_slice(&self.icao.as_u32().to_be_bytes()[1..]);
        w.extend_from_slice(&self.at.as_micros().to_be_bytes());
        w.extend_from_slice(&self.completed_at.as_micros().to_be_bytes());
        w.push(self.frame.len() as u8);
        w.extend_from_slice(&self.frame);
        w.push(self.copies.len() as u8);
        for c in &self.copies {
            c.encode(&mut w);
        }
        for v in [self.lat, self.lon, self.h_m, self.residual_m] {
            f(&mut w, v);
        }
        w.push(u8::from(self.suspect));
        w.extend_from_slice(&self.checked.to_be_bytes());
        w.extend_from_slice(&self.suspected.to_be_bytes());
        w
    }

    /// Reads [`CheckEvidence::encode`]'s bytes back.
    ///
    /// # Errors
    /// What is wrong with the bytes.
    pub fn decode(bytes: &[u8]) -> Result<CheckEvidence, EvidenceError> {
        let mut r = Reader { b: bytes };
        if r.u8()? != CHECK_VERSION {
            return Err(EvidenceError::Bad("version"));
        }
        let a = r.take(3)?;
        let icao = Icao24::from_u32_masked(u32::from_be_bytes([0, a[0], a[1], a[2]]));
        let at = Timestamp::from_micros(r.i64()?);
        let completed_at = Timestamp::from_micros(r.i64()?);
        let len = usize::from(r.u8()?);
        if len != 7 && len != 14 {
            return Err(EvidenceError::Bad("frame length"));
        }
        let frame = r.take(len)?.to_vec();
        let n = usize::from(r.u8()?);
        if !(4..=MAX_COPIES).contains(&n) {
            return Err(EvidenceError::Bad("copy count"));
        }
        let mut copies = Vec::with_capacity(n);
        for _ in 0..n {
            copies.push(CopyEvidence::decode(&mut r)?);
        }
        let lat = r.f64("claim latitude")?;
        let lon = r.f64("claim longitude")?;
        let h_m = r.f64("claim height")?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(EvidenceError::Bad("claim position"));
        }
        let residual_m = r.f64("residual")?;
        let flags = r.u8()?;
        if flags > 1 {
            return Err(EvidenceError::Bad("flags"));
        }
        let mut u32_ = || -> Result<u32, EvidenceError> {
            let mut a = [0u8; 4];
            a.copy_from_slice(r.take(4)?);
            Ok(u32::from_be_bytes(a))
        };
        let checked = u32_()?;
        let suspected = u32_()?;
        if !r.b.is_empty() {
            return Err(EvidenceError::Trailing(r.b.len()));
        }
        Ok(CheckEvidence {
            icao,
            at,
            completed_at,
            frame,
            copies,
            lat,
            lon,
            h_m,
            residual_m,
            suspect: flags & 1 != 0,
            checked,
            suspected,
        })
    }

    /// The claim's residual as the engine computes it: the RMS range residual of the
    /// claimed position over every copy and, when that exceeds `spoof_residual_m` and
    /// there are more than `min_receivers` copies, the best over the subsets without
    /// one copy (a receiver whose counter jumped must not make an honest claim look
    /// false).
    pub fn residual(
        meas: &[Measurement],
        claim: &geo::Ecef,
        min_receivers: usize,
        spoof_residual_m: f64,
    ) -> Option<f64> {
        if meas.len() < min_receivers {
            return None;
        }
        let mut residual_m = solve::residual_at(meas, claim)?;
        if residual_m > spoof_residual_m && meas.len() > min_receivers {
            let mut subset = Vec::with_capacity(meas.len() - 1);
            for leave in 0..meas.len() {
                subset.clear();
                subset.extend(
                    meas.iter()
                        .enumerate()
                        .filter(|(i, _)| *i != leave)
                        .map(|(_, m)| *m),
                );
                if let Some(r) = solve::residual_at(&subset, claim) {
                    residual_m = residual_m.min(r);
                }
            }
        }
        Some(residual_m)
    }

    /// The solver's measurements: each copy's time on the base receiver's clock.
    pub fn measurements(&self) -> Vec<Measurement> {
        self.copies.iter().map(CopyEvidence::measurement).collect()
    }

    /// The claimed position as ECEF.
    pub fn claim(&self) -> geo::Ecef {
        geo::to_ecef(self.lat, self.lon, self.h_m)
    }

    /// Computes the residual again from the recorded copies and checks it, the flag it
    /// gives under `spoof_residual_m`, and the counts.
    ///
    /// # Errors
    /// How the record disagrees with its own copies.
    pub fn recompute(
        &self,
        min_receivers: usize,
        spoof_residual_m: f64,
    ) -> Result<f64, CheckMismatch> {
        let meas = self.measurements();
        let claim = geo::to_ecef(self.lat, self.lon, self.h_m);
        let got = Self::residual(&meas, &claim, min_receivers, spoof_residual_m)
            .ok_or(CheckMismatch::TooFew(meas.len()))?;
        if (got - self.residual_m).abs() > RESIDUAL_AGREEMENT_M {
            return Err(CheckMismatch::Residual {
                got,
                recorded: self.residual_m,
            });
        }
        if (got > spoof_residual_m) != self.suspect {
            return Err(CheckMismatch::Flag {
                recorded: self.suspect,
                residual_m: got,
            });
        }
        if self.checked == 0
            || self.suspected > self.checked
            || (self.suspect && self.suspected == 0)
        {
            return Err(CheckMismatch::Counts {
                checked: self.checked,
                suspected: self.suspected,
            });
        }
        Ok(got)
    }

    /// The verdict on the aircraft after this check.
    pub fn verdict(&self) -> Verdict {
        verdict_of(u64::from(self.checked), u64::from(self.suspected))
    }

    /// The incident key `verification` as of this check (the engine's after it).
    pub fn verification(&self) -> skyfence_core::detect::IncidentVerification {
        crate::Verification {
            verdict: self.verdict(),
            receivers: self.copies.len(),
            residual_m: self.residual_m,
            at: self.at,
        }
        .incident()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Five receivers, exact times of a transmission from `truth`, claiming `claim`.
    fn sample(truth: (f64, f64), claim: (f64, f64)) -> CheckEvidence {
        let copies =
            super::super::test_copies(truth, 10e-9, |_| Timestamp::from_secs(1_700_000_000));
        let mut e = CheckEvidence {
            icao: Icao24::from_u32_masked(0x700bad),
            at: Timestamp::from_secs(1_700_000_000),
            completed_at: Timestamp::from_secs(1_700_000_002),
            frame: vec![0x8d, 0x70, 0x0b, 0xad, 0x58, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            copies,
            lat: claim.0,
            lon: claim.1,
            h_m: 9000.0,
            residual_m: 0.0,
            suspect: false,
            checked: 1,
            suspected: 0,
        };
        let meas: Vec<Measurement> = e.copies.iter().map(CopyEvidence::measurement).collect();
        let c = geo::to_ecef(claim.0, claim.1, 9000.0);
        e.residual_m = CheckEvidence::residual(&meas, &c, 4, 1000.0).unwrap();
        e.suspect = e.residual_m > 1000.0;
        e.suspected = u32::from(e.suspect);
        e
    }

    #[test]
    fn an_honest_and_a_false_claim_round_trip_and_recompute() {
        let honest = sample((34.5, 69.3), (34.5, 69.3));
        // Counters are whole 12 MHz ticks (±12 m of range).
        assert!(!honest.suspect && honest.residual_m < 20.0, "{honest:?}");
        let liar = sample((34.5, 69.3), (34.0, 69.8));
        assert!(liar.suspect && liar.residual_m > 1000.0, "{liar:?}");
        for e in [honest, liar] {
            let bytes = e.encode();
            let back = CheckEvidence::decode(&bytes).unwrap();
            assert_eq!(back, e);
            assert_eq!(back.encode(), bytes);
            assert!((back.recompute(4, 1000.0).unwrap() - e.residual_m).abs() < 1e-9);
        }
    }

    #[test]
    fn a_changed_claim_time_flag_or_count_is_named() {
        let liar = sample((34.5, 69.3), (34.0, 69.8));
        let mut e = liar.clone();
        e.suspect = false;
        assert!(matches!(
            e.recompute(4, 1000.0),
            Err(CheckMismatch::Flag { .. })
        ));
        let mut e = liar.clone();
        e.copies[1].counter += 1_000;
        let err = e.recompute(4, 1000.0).unwrap_err();
        assert!(matches!(err, CheckMismatch::Residual { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("recomputed from the receivers' times")
        );
        // Claiming the true position while the record says it was contradicted.
        let mut e = liar.clone();
        (e.lat, e.lon) = (34.5, 69.3);
        assert!(e.recompute(4, 1000.0).is_err());
        let mut e = liar;
        e.suspected = 0;
        assert!(matches!(
            e.recompute(4, 1000.0),
            Err(CheckMismatch::Counts { .. })
        ));
    }

    #[test]
    fn bad_bytes_are_refused_never_a_panic() {
        let bytes = sample((34.5, 69.3), (34.0, 69.8)).encode();
        for n in 0..bytes.len() {
            assert!(CheckEvidence::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut more = bytes.clone();
        more.push(0);
        assert_eq!(
            CheckEvidence::decode(&more),
            Err(EvidenceError::Trailing(1))
        );
        let mut v = bytes.clone();
        v[0] = 1;
        assert_eq!(
            CheckEvidence::decode(&v),
            Err(EvidenceError::Bad("version"))
        );
        let mut flags = bytes;
        let at = flags.len() - 9;
        flags[at] = 2;
        assert_eq!(
            CheckEvidence::decode(&flags),
            Err(EvidenceError::Bad("flags"))
        );
    }
}
