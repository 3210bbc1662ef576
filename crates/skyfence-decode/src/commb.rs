//! Comm-B replies (DF20/21): which register (BDS) the 56-bit MB field holds, and its
//! fields.
//!
//! A Comm-B reply does not say which register it carries: the ground station asked for
//! one, and only the interrogator knows which. A passive receiver infers it, as the field
//! does (ICAO Doc 9871 Appendix A tables; the method of Sun, "The 1090 Megahertz Riddle",
//! ch. "Mode S Comm-B"), in three steps:
//!
//! 1. **Content checks** per register ([`candidates`]):
//!    - 1,0 (data link capability): first byte `0x10`, reserved bits 10–14 zero;
//!    - 1,7 (common-usage GICB capability): bits 25–56 (reserved) zero and bit 7 (2,0
//!      supported, which every transponder that reports 1,7 does) set;
//!    - 2,0 (aircraft identification): first byte `0x20`, eight characters of the 6-bit
//!      set (A–Z, 0–9, space), not all spaces;
//!    - 3,0 (ACAS resolution advisory): first byte `0x30`, threat type indicator not 3,
//!      the ACAS III bits of the ARA zero;
//!    - 4,0, 5,0, 6,0 (selected vertical intention, track and turn, heading and speed):
//!      no value bit set under a status bit that says "not available", reserved bits
//!      zero, at least one field available, and each available value in the range an
//!      aircraft flies (roll ≤ 35°: transport aircraft bank at most 30° in normal
//!      operation; ground and true airspeed ≤ 600 kt and within 200 kt of each other,
//!      indicated airspeed ≤ 500 kt, Mach ≤ 1, vertical rates ≤ 6000 ft/min, selected
//!      altitudes ≤ 50 000 ft, pressure setting 900–1100 hPa).
//! 2. **Consistency** ([`consistent`]) with what else is known about the aircraft: its
//!    ADS-B velocity of the last [`REFERENCE_MAX_AGE_US`] (5,0: ground speed within 50 kt
//!    and true track within 30°; 6,0: magnetic heading within 60° of the ADS-B track, for
//!    wind and magnetic variation, and barometric vertical rate within 2000 ft/min), and,
//!    for a DF20 with both Mach and indicated airspeed, the reply's own altitude: the
//!    calibrated airspeed the Mach implies at that altitude in the ICAO standard
//!    atmosphere must be within 50 kt of the indicated airspeed.
//! 3. **Exactly one** candidate left is the inferred register ([`infer`]); none or
//!    several leave the reply's MB undecoded (counted by the decoder as unknown or
//!    ambiguous). A 5,0 and a 6,0 reading of the same bits are common; without ADS-B
//!    they stay ambiguous rather than guessed.
//!
//! The format-identified registers (1,0, 2,0, 3,0) can never also pass the 4,0/5,0/6,0
//! checks: their first byte has bit 1 (a status bit) clear and a later bit of its field
//! set.

use skyfence_core::{Callsign, Icao24};

use crate::adsb::{CHARSET, bits};

/// How long an aircraft's ADS-B velocity is a reference for the consistency checks.
pub const REFERENCE_MAX_AGE_US: i64 = 30_000_000;

/// A Comm-B register (BDS code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bds {
    /// 1,0: data link capability report.
    B10,
    /// 1,7: common-usage GICB capability report.
    B17,
    /// 2,0: aircraft identification.
    B20,
    /// 3,0: ACAS active resolution advisory.
    B30,
    /// 4,0: selected vertical intention.
    B40,
    /// 5,0: track and turn report.
    B50,
    /// 6,0: heading and speed report.
    B60,
}

impl Bds {
    /// Every register inferred, in BDS order.
    pub const ALL: [Bds; 7] = [
        Bds::B10,
        Bds::B17,
        Bds::B20,
        Bds::B30,
        Bds::B40,
        Bds::B50,
        Bds::B60,
    ];

    /// `"1,0"`, `"2,0"`, ...
    pub const fn as_str(self) -> &'static str {
        match self {
            Bds::B10 => "1,0",
            Bds::B17 => "1,7",
            Bds::B20 => "2,0",
            Bds::B30 => "3,0",
            Bds::B40 => "4,0",
            Bds::B50 => "5,0",
            Bds::B60 => "6,0",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// BDS 1,0 (Doc 9871 Table A-2-16), the fields most useful to a watch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataLink {
    /// Mode S subnetwork version number (bits 17–23).
    pub subnet_version: u8,
    /// ACAS operating (bit 16).
    pub acas_operational: bool,
    /// Extended squitter capability (bit 34).
    pub squitter: bool,
    /// Aircraft identification capability (bit 33).
    pub identification: bool,
}

/// BDS 3,0 (Doc 9871 Table A-2-48).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AcasRa {
    /// Active resolution advisories, bits 9–22.
    pub ara: u16,
    /// Resolution advisory complements, bits 23–26.
    pub rac: u8,
    /// RA terminated (bit 27).
    pub terminated: bool,
    /// Multiple threat encounter (bit 28).
    pub multiple_threats: bool,
    /// The threat's address when the threat type indicator is 1.
    pub threat: Option<Icao24>,
}

/// BDS 4,0 (Doc 9871 Table A-2-64); fields absent when their status bit is clear.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct VerticalIntention {
    /// MCP/FCU selected altitude, feet.
    pub mcp_alt_ft: Option<i32>,
    /// FMS selected altitude, feet.
    pub fms_alt_ft: Option<i32>,
    /// Barometric pressure setting, hPa (millibars).
    pub baro_hpa: Option<f32>,
}

/// BDS 5,0 (Doc 9871 Table A-2-80).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TrackTurn {
    /// Roll angle, degrees, positive right wing down.
    pub roll_deg: Option<f32>,
    /// True track angle, degrees [0, 360).
    pub track_deg: Option<f32>,
    /// Ground speed, knots.
    pub gs_kt: Option<u16>,
    /// Track angle rate, degrees per second.
    pub track_rate_dps: Option<f32>,
    /// True airspeed, knots.
    pub tas_kt: Option<u16>,
}

/// BDS 6,0 (Doc 9871 Table A-2-96).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct HeadingSpeed {
    /// Magnetic heading, degrees [0, 360).
    pub heading_deg: Option<f32>,
    /// Indicated airspeed, knots.
    pub ias_kt: Option<u16>,
    /// Mach number.
    pub mach: Option<f32>,
    /// Barometric altitude rate, feet per minute.
    pub baro_vrate_fpm: Option<i32>,
    /// Inertial vertical velocity, feet per minute.
    pub inertial_vrate_fpm: Option<i32>,
}

/// A decoded Comm-B register.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CommB {
    /// 1,0.
    DataLink(DataLink),
    /// 1,7: the 24-bit capability map (bit 1 of the MB first).
    Gicb(u32),
    /// 2,0.
    Identification(Callsign),
    /// 3,0.
    Ra(AcasRa),
    /// 4,0.
    Vertical(VerticalIntention),
    /// 5,0.
    TrackTurn(TrackTurn),
    /// 6,0.
    HeadingSpeed(HeadingSpeed),
}

impl CommB {
    /// The register.
    pub fn bds(&self) -> Bds {
        match self {
            CommB::DataLink(_) => Bds::B10,
            CommB::Gicb(_) => Bds::B17,
            CommB::Identification(_) => Bds::B20,
            CommB::Ra(_) => Bds::B30,
            CommB::Vertical(_) => Bds::B40,
            CommB::TrackTurn(_) => Bds::B50,
            CommB::HeadingSpeed(_) => Bds::B60,
        }
    }
}

/// What else is known about the replying aircraft, for the consistency checks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reference {
    /// ADS-B ground speed, knots, and track, degrees (recent airborne velocity).
    pub gs_track: Option<(f32, f32)>,
    /// ADS-B vertical rate, feet per minute.
    pub vrate_fpm: Option<i32>,
    /// The reply's own altitude (DF20), feet.
    pub alt_ft: Option<i32>,
}

/// The 1-based MB bits `start..start+len`.
#[inline]
fn b(mb: u64, start: u32, len: u32) -> u32 {
    bits(mb, start, len)
}

/// A status bit at `status` guarding the `len` value bits after it: `Ok(Some(v))` when
/// available, `Ok(None)` when the status is clear and the value bits are zero, `Err(())`
/// when the status is clear but a value bit is set (not this register).
#[inline]
fn field(mb: u64, status: u32, len: u32) -> Result<Option<u32>, ()> {
    let v = b(mb, status + 1, len);
    match (b(mb, status, 1), v) {
        (1, v) => Ok(Some(v)),
        (_, 0) => Ok(None),
        _ => Err(()),
    }
}

/// A sign-and-magnitude field (two's complement over `1 + len` bits) scaled by `lsb`.
#[inline]
fn signed(raw: u32, len: u32, lsb: f64) -> f64 {
    let sign = raw >> len;
    let mag = raw & ((1 << len) - 1);
    let v = if sign == 1 {
        i64::from(mag) - (1i64 << len)
    } else {
        i64::from(mag)
    };
    v as f64 * lsb
}

/// An angle of a sign-and-magnitude field, in [-180, 180), as [0, 360) (no `fmod`: this
/// runs for most 5,0 and 6,0 replies).
#[inline]
fn normalise_deg(d: f64) -> f32 {
    (if d < 0.0 { d + 360.0 } else { d }) as f32
}

fn bds10(mb: u64) -> Option<DataLink> {
    (b(mb, 1, 8) == 0x10 && b(mb, 10, 5) == 0).then(|| DataLink {
        subnet_version: b(mb, 17, 7) as u8,
        acas_operational: b(mb, 16, 1) == 1,
        squitter: b(mb, 34, 1) == 1,
        identification: b(mb, 33, 1) == 1,
    })
}

fn bds17(mb: u64) -> Option<u32> {
    (mb & 0xFFFF_FFFF == 0 && b(mb, 7, 1) == 1).then(|| b(mb, 1, 24))
}

fn bds20(mb: u64) -> Option<Callsign> {
    if b(mb, 1, 8) != 0x20 {
        return None;
    }
    let mut text = [b' '; 8];
    for (i, c) in text.iter_mut().enumerate() {
        *c = CHARSET[b(mb, 9 + 6 * i as u32, 6) as usize];
        if *c == b'#' {
            return None;
        }
    }
    if text == [b' '; 8] {
        return None;
    }
    Callsign::new(&text)
}

fn bds30(mb: u64) -> Option<AcasRa> {
    let tti = b(mb, 29, 2);
    // ARA bits 16–22 are reserved for ACAS III: zero today.
    if b(mb, 1, 8) != 0x30 || tti == 3 || b(mb, 16, 7) != 0 {
        return None;
    }
    Some(AcasRa {
        ara: b(mb, 9, 14) as u16,
        rac: b(mb, 23, 4) as u8,
        terminated: b(mb, 27, 1) == 1,
        multiple_threats: b(mb, 28, 1) == 1,
        threat: (tti == 1).then(|| Icao24::from_u32_masked(b(mb, 31, 24))),
    })
}

fn bds40(mb: u64) -> Option<VerticalIntention> {
    let mcp = field(mb, 1, 12).ok()?;
    let fms = field(mb, 14, 12).ok()?;
    let baro = field(mb, 27, 12).ok()?;
    let mode = field(mb, 48, 3).ok()?;
    let source = field(mb, 54, 2).ok()?;
    if b(mb, 40, 8) != 0 || b(mb, 52, 2) != 0 {
        return None;
    }
    if mcp.is_none() && fms.is_none() && baro.is_none() && mode.is_none() && source.is_none() {
        return None;
    }
    let alt = |v: Option<u32>| -> Option<Option<i32>> {
        match v {
            None => Some(None),
            Some(raw) if raw * 16 <= 50_000 => Some(Some(raw as i32 * 16)),
            Some(_) => None,
        }
    };
    let baro_hpa = match baro {
        None => None,
        Some(raw) => {
            let hpa = 800.0 + f64::from(raw) * 0.1;
            if !(900.0..=1100.0).contains(&hpa) {
                return None;
            }
            Some(hpa as f32)
        }
    };
    Some(VerticalIntention {
        mcp_alt_ft: alt(mcp)?,
        fms_alt_ft: alt(fms)?,
        baro_hpa,
    })
}

fn bds50(mb: u64) -> Option<TrackTurn> {
    let roll = field(mb, 1, 10).ok()?;
    let track = field(mb, 12, 11).ok()?;
    let gs = field(mb, 24, 10).ok()?;
    let rate = field(mb, 35, 10).ok()?;
    let tas = field(mb, 46, 10).ok()?;
    if roll.is_none() && track.is_none() && gs.is_none() && rate.is_none() && tas.is_none() {
        return None;
    }
    let roll_deg = roll.map(|r| signed(r, 9, 45.0 / 256.0));
    let gs_kt = gs.map(|g| g * 2);
    let tas_kt = tas.map(|t| t * 2);
    if roll_deg.is_some_and(|r| r.abs() > 35.0)
        || gs_kt.is_some_and(|g| g > 600)
        || tas_kt.is_some_and(|t| t > 600)
        || gs_kt.zip(tas_kt).is_some_and(|(g, t)| g.abs_diff(t) > 200)
    {
        return None;
    }
    Some(TrackTurn {
        roll_deg: roll_deg.map(|r| r as f32),
        track_deg: track.map(|t| normalise_deg(signed(t, 10, 90.0 / 512.0))),
        gs_kt: gs_kt.map(|g| g as u16),
        track_rate_dps: rate.map(|r| signed(r, 9, 8.0 / 256.0) as f32),
        tas_kt: tas_kt.map(|t| t as u16),
    })
}

fn bds60(mb: u64) -> Option<HeadingSpeed> {
    let heading = field(mb, 1, 11).ok()?;
    let ias = field(mb, 13, 10).ok()?;
    let mach = field(mb, 24, 10).ok()?;
    let baro = field(mb, 35, 10).ok()?;
    let ins = field(mb, 46, 10).ok()?;
    if heading.is_none() && ias.is_none() && mach.is_none() && baro.is_none() && ins.is_none() {
        return None;
    }
    let mach = mach.map(|m| f64::from(m) * 2.048 / 512.0);
    let baro = baro.map(|v| signed(v, 9, 32.0) as i32);
    let ins = ins.map(|v| signed(v, 9, 32.0) as i32);
    if ias.is_some_and(|i| i > 500)
        || mach.is_some_and(|m| m > 1.0)
        || baro.is_some_and(|v| v.abs() > 6000)
        || ins.is_some_and(|v| v.abs() > 6000)
    {
        return None;
    }
    Some(HeadingSpeed {
        heading_deg: heading.map(|h| normalise_deg(signed(h, 10, 90.0 / 512.0))),
        ias_kt: ias.map(|i| i as u16),
        mach: mach.map(|m| m as f32),
        baro_vrate_fpm: baro,
        inertial_vrate_fpm: ins,
    })
}

/// The fields of `mb` read as register `bds`, when its content checks pass.
pub fn decode(bds: Bds, mb: u64) -> Option<CommB> {
    match bds {
        Bds::B10 => bds10(mb).map(CommB::DataLink),
        Bds::B17 => bds17(mb).map(CommB::Gicb),
        Bds::B20 => bds20(mb).map(CommB::Identification),
        Bds::B30 => bds30(mb).map(CommB::Ra),
        Bds::B40 => bds40(mb).map(CommB::Vertical),
        Bds::B50 => bds50(mb).map(CommB::TrackTurn),
        Bds::B60 => bds60(mb).map(CommB::HeadingSpeed),
    }
}

/// Every register whose content checks `mb` passes (step 1), decoded.
///
/// A format-identified register (1,0, 2,0, 3,0) that passes is the only candidate: it
/// cannot also pass 1,7 (its bit 7 is clear) nor the 4,0/5,0/6,0 checks (module
/// documentation), so those decoders, the costly part, are not run for it.
pub fn candidates(mb: u64, mut each: impl FnMut(CommB)) {
    if mb == 0 {
        return;
    }
    match b(mb, 1, 8) {
        0x10 => {
            if let Some(d) = bds10(mb) {
                return each(CommB::DataLink(d));
            }
        }
        0x20 => {
            if let Some(c) = bds20(mb) {
                return each(CommB::Identification(c));
            }
        }
        0x30 => {
            if let Some(r) = bds30(mb) {
                return each(CommB::Ra(r));
            }
        }
        _ => {}
    }
    if let Some(m) = bds17(mb) {
        each(CommB::Gicb(m));
    }
    if let Some(v) = bds40(mb) {
        each(CommB::Vertical(v));
    }
    if let Some(t) = bds50(mb) {
        each(CommB::TrackTurn(t));
    }
    if let Some(h) = bds60(mb) {
        each(CommB::HeadingSpeed(h));
    }
}

/// The difference of two angles in [0, 360), degrees in [0, 180].
#[inline]
fn angle_diff(a: f32, b: f32) -> f32 {
    let d = (a - b).abs();
    if d > 180.0 { 360.0 - d } else { d }
}

/// Sea-level speed of sound in the ICAO standard atmosphere, knots.
const A0_KT: f64 = 661.4786;

/// Static pressure over sea-level pressure at pressure altitude `alt_ft` in the ICAO
/// standard atmosphere (Doc 7488): the troposphere and lower stratosphere formulas.
pub fn pressure_ratio(alt_ft: f64) -> f64 {
    let h_m = alt_ft * 0.3048;
    if h_m <= 11_000.0 {
        (1.0 - 2.255_77e-5 * h_m).powf(5.255_88)
    } else {
        0.223_361 * (-(h_m - 11_000.0) / 6_341.62).exp()
    }
}

/// `(1 + 0.2 x²)^3.5 − 1`: the subsonic isentropic impact pressure over static pressure
/// for Mach `x` (or, at sea level, over sea-level pressure for `CAS / a0`).
#[inline]
fn impact(x: f64) -> f64 {
    let t = 1.0 + 0.2 * x * x;
    t * t * t * t.sqrt() - 1.0
}

/// The calibrated airspeed, knots, of Mach `m` at pressure altitude `alt_ft` (ICAO
/// standard atmosphere): impact pressure from the subsonic isentropic relation, CAS from
/// the same relation at sea level. The hot path compares impact pressures instead
/// ([`mach_matches_ias`]).
pub fn cas_from_mach_kt(m: f64, alt_ft: f64) -> f64 {
    let qc = pressure_ratio(alt_ft) * impact(m);
    A0_KT * (5.0 * ((qc + 1.0).powf(2.0 / 7.0) - 1.0)).sqrt()
}

/// Pressure ratios every 500 ft from −2000 ft to 66 000 ft, interpolated linearly
/// (error below 0.05 %, a fraction of a knot).
fn pressure_table() -> &'static [f64; 137] {
    static TABLE: std::sync::OnceLock<[f64; 137]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| pressure_ratio(-2000.0 + 500.0 * i as f64)))
}

/// Whether Mach `m` at pressure altitude `alt_ft` is a calibrated airspeed within
/// `tolerance_kt` of `ias_kt`. Impact pressure grows with CAS, so this compares the
/// Mach's impact pressure with those of `ias ± tolerance` (no logarithm or power on
/// this path: it runs for most BDS 6,0 replies).
pub fn mach_matches_ias(m: f64, alt_ft: f64, ias_kt: f64, tolerance_kt: f64) -> bool {
    let x = ((alt_ft + 2000.0) / 500.0).clamp(0.0, 135.999);
    let i = x as usize;
    let t = pressure_table();
    let delta = t[i] + (t[i + 1] - t[i]) * (x - i as f64);
    let qc = delta * impact(m);
    let lo = impact((ias_kt - tolerance_kt).max(0.0) / A0_KT);
    let hi = impact((ias_kt + tolerance_kt) / A0_KT);
    (lo..=hi).contains(&qc)
}

/// Whether a decoded register agrees with what else is known (step 2).
pub fn consistent(c: &CommB, r: &Reference) -> bool {
    match c {
        CommB::TrackTurn(t) => {
            let Some((gs, track)) = r.gs_track else {
                return true;
            };
            t.gs_kt.is_none_or(|g| (f32::from(g) - gs).abs() <= 50.0)
                && t.track_deg.is_none_or(|a| angle_diff(a, track) <= 30.0)
        }
        CommB::HeadingSpeed(h) => {
            let adsb = r.gs_track.is_none_or(|(_, track)| {
                h.heading_deg.is_none_or(|a| angle_diff(a, track) <= 60.0)
            }) && r
                .vrate_fpm
                .zip(h.baro_vrate_fpm)
                .is_none_or(|(a, v)| (a - v).abs() <= 2000);
            let air = match (h.mach, h.ias_kt, r.alt_ft) {
                (Some(m), Some(ias), Some(alt)) => {
                    mach_matches_ias(f64::from(m), f64::from(alt), f64::from(ias), 50.0)
                }
                _ => true,
            };
            adsb && air
        }
        _ => true,
    }
}

/// What inference concluded about one MB field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inferred {
    /// Exactly one register fits.
    One(CommB),
    /// No register fits (or the field is all zero).
    Unknown,
    /// Several fit (the set of registers, one bit per [`Bds`] in order).
    Ambiguous(u8),
}

/// Infers the register of `mb` (steps 1 to 3 of the module documentation).
pub fn infer(mb: u64, reference: &Reference) -> Inferred {
    let mut found = None;
    let mut set = 0u8;
    candidates(mb, |c| {
        if consistent(&c, reference) {
            set |= c.bds().bit();
            found = Some(c);
        }
    });
    match (set.count_ones(), found) {
        (1, Some(c)) => Inferred::One(c),
        (0, _) | (_, None) => Inferred::Unknown,
        _ => Inferred::Ambiguous(set),
    }
}

/// The registers of an [`Inferred::Ambiguous`] set.
pub fn registers(set: u8) -> impl Iterator<Item = Bds> {
    Bds::ALL.into_iter().filter(move |b| set & b.bit() != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The shortcut in `candidates` is exact: a field that passes 1,0, 2,0 or 3,0
        /// passes none of 1,7, 4,0, 5,0, 6,0.
        #[test]
        fn a_format_identified_register_excludes_the_others(
            first in proptest::sample::select(vec![0x10u64, 0x20, 0x30]),
            rest in 0u64..(1 << 48),
        ) {
            let mb = first << 48 | rest;
            if bds10(mb).is_some() || bds20(mb).is_some() || bds30(mb).is_some() {
                proptest::prop_assert!(bds17(mb).is_none());
                proptest::prop_assert!(bds40(mb).is_none());
                proptest::prop_assert!(bds50(mb).is_none());
                proptest::prop_assert!(bds60(mb).is_none());
            }
        }
    }

    fn mb(hex: &str) -> u64 {
        u64::from_str_radix(hex, 16).unwrap()
    }

    /// The MB field of a DF20/21 frame in hex (28 digits): bytes 5–11.
    fn mb_of(frame: &str) -> u64 {
        mb(&frame[8..22])
    }

    // Examples of "The 1090 Megahertz Riddle" (Sun), chapter on Comm-B, decoded there.

    #[test]
    fn bds20_callsign() {
        // A0001838 2004D1 7C8C31 ... : "KLM1017_" style example; built here from the
        // 6-bit set instead, checked both ways.
        let text = b"KLM1017 ";
        let mut v: u64 = 0x20;
        for &c in text {
            let i = CHARSET.iter().position(|&x| x == c).unwrap() as u64;
            v = (v << 6) | i;
        }
        match infer(v, &Reference::default()) {
            Inferred::One(CommB::Identification(c)) => assert_eq!(c.as_str(), "KLM1017"),
            other => panic!("{other:?}"),
        }
        // One character outside the set: not 2,0.
        assert_eq!(bds20(v | 0x3f), None);
    }

    #[test]
    fn bds40_riddle_example() {
        // A000029C85E42F313000007047D3: MCP 3008 ft, FMS 3008 ft, 1020 hPa.
        let v = mb_of("A000029C85E42F313000007047D3");
        let d = bds40(v).unwrap();
        assert_eq!(d.mcp_alt_ft, Some(3008));
        assert_eq!(d.fms_alt_ft, Some(3008));
        assert!((d.baro_hpa.unwrap() - 1020.0).abs() < 0.01);
    }

    #[test]
    fn bds50_riddle_example() {
        // A000139381951536E024D4CCF6B5: roll 2.1°, track 114.258°, GS 438 kt,
        // track rate 0.125°/s, TAS 424 kt.
        let v = mb_of("A000139381951536E024D4CCF6B5");
        let d = bds50(v).unwrap();
        assert!((d.roll_deg.unwrap() - 2.109).abs() < 0.01, "{d:?}");
        assert!((d.track_deg.unwrap() - 114.258).abs() < 0.01, "{d:?}");
        assert_eq!(d.gs_kt, Some(438));
        assert!((d.track_rate_dps.unwrap() - 0.125).abs() < 0.001, "{d:?}");
        assert_eq!(d.tas_kt, Some(424));
    }

    #[test]
    fn bds60_riddle_example() {
        // A00004128F39F91A7E27C46ADC21: heading 42.71°, IAS 252 kt, Mach 0.42,
        // baro rate -1920 ft/min, inertial -1920 ft/min.
        let v = mb_of("A00004128F39F91A7E27C46ADC21");
        let d = bds60(v).unwrap();
        assert!((d.heading_deg.unwrap() - 42.715).abs() < 0.01, "{d:?}");
        assert_eq!(d.ias_kt, Some(252));
        assert!((d.mach.unwrap() - 0.42).abs() < 0.001, "{d:?}");
        assert_eq!(d.baro_vrate_fpm, Some(-1920));
        assert_eq!(d.inertial_vrate_fpm, Some(-1920));
    }

    #[test]
    fn status_clear_with_value_bits_is_no_candidate() {
        // Roll status clear, a roll bit set: not 5,0.
        let v = 1u64 << (56 - 3);
        assert_eq!(bds50(v), None);
    }

    #[test]
    fn adsb_disambiguates_and_contradicts() {
        let v = mb_of("A000139381951536E024D4CCF6B5");
        let agree = Reference {
            gs_track: Some((440.0, 115.0)),
            ..Reference::default()
        };
        assert!(matches!(
            infer(v, &agree),
            Inferred::One(CommB::TrackTurn(_))
        ));
        let disagree = Reference {
            gs_track: Some((200.0, 300.0)),
            ..Reference::default()
        };
        assert!(!matches!(
            infer(v, &disagree),
            Inferred::One(CommB::TrackTurn(_))
        ));
    }

    #[test]
    fn cas_from_mach_matches_standard_values() {
        // Sea level: CAS = TAS = Mach · a0.
        assert!((cas_from_mach_kt(0.5, 0.0) - 330.7).abs() < 0.5);
        // FL350, Mach 0.78: about 260 kt CAS (standard tables).
        let cas = cas_from_mach_kt(0.78, 35_000.0);
        assert!((255.0..265.0).contains(&cas), "{cas}");
    }

    #[test]
    fn the_pressure_comparison_is_the_cas_comparison() {
        for alt in (-1000..60_000).step_by(700) {
            for m in [0.1, 0.3, 0.5, 0.7, 0.85, 0.99] {
                let cas = cas_from_mach_kt(m, f64::from(alt));
                for ias in [cas - 60.0, cas - 49.0, cas, cas + 49.0, cas + 60.0] {
                    if ias < 0.0 {
                        continue;
                    }
                    let want = (cas - ias).abs() <= 50.0;
                    assert_eq!(
                        mach_matches_ias(m, f64::from(alt), ias, 50.0),
                        want,
                        "M{m} at {alt} ft: CAS {cas}, IAS {ias}"
                    );
                }
            }
        }
    }

    #[test]
    fn arbitrary_fields_never_panic() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let _ = infer(x & ((1 << 56) - 1), &Reference::default());
        }
    }
}
