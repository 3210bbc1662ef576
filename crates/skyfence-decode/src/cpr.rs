//! Compact Position Reporting (DO-260B §A.1.7; ICAO Doc 9871 §C.2.6).
//!
//! An ADS-B position message does not carry a latitude and longitude: it carries the
//! position's fraction within a latitude zone and a longitude zone (17 bits each), and a
//! format bit F saying which of two zone grids was used. The *even* grid (F = 0) cuts the
//! globe into 60 latitude zones of `Dlat0 = 360°/60`, the *odd* grid (F = 1) into 59
//! zones of `Dlat1 = 360°/59` (§A.1.7.2 b). Longitude zones depend on the latitude: there
//! are `NL(lat)` of them (§A.1.7.2 d, [`nl`]) on the even grid and `NL − 1` on the odd
//! one, so that every zone is about 360 NM wide on the ground.
//!
//! A receiver recovers the position in one of two ways:
//!
//! - **Globally** from one even and one odd message (§A.1.7.7, [`decode_global_airborne`]):
//!   the two grids drift apart by one zone every 6°, so the pair fixes the zone index
//!   `j`. The pair is only valid when both messages lie in the same longitude-zone band
//!   (`NL(lat_even) == NL(lat_odd)`) and were sent close enough in time (≤ 10 s
//!   airborne) for the aircraft not to have crossed a zone in between.
//! - **Locally** against a reference position less than half a zone away, 180 NM
//!   airborne, 45 NM on the surface (§A.1.7.5–6, [`decode_local`]).
//!
//! Surface messages (TC 5–8) use the same arithmetic on 90° instead of 360°
//! (§A.1.7.2 c; four times finer, ≈ 1.25 m): a global decode then leaves a choice of
//! two latitudes (northern or southern hemisphere) and four longitudes 90° apart, which
//! a reference position settles ([`decode_global_surface`]).
//!
//! These functions are pure arithmetic: they never panic and return `None` for input
//! that cannot be a position (fields wider than 17 bits, a pair landing beyond the
//! poles, a pair straddling an NL boundary, a non-finite reference). Deciding which
//! decoded positions to *trust* is the job of [`crate::tracker`].

use skyfence_core::GeoPoint;
use skyfence_core::position::wrap_lon;

/// An encoded CPR position as carried in an airborne (TC 9–18, 20–22) or surface
/// (TC 5–8) position message: 17-bit latitude and longitude and the even/odd format bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CprPosition {
    /// Format bit F: `false` = even, `true` = odd.
    pub odd: bool,
    /// 17-bit encoded latitude (YZ).
    pub lat: u32,
    /// 17-bit encoded longitude (XZ).
    pub lon: u32,
    /// Surface encoding (90° zones) rather than airborne (360°).
    pub surface: bool,
}

impl CprPosition {
    /// Whether both fields fit in the 17 bits the message carries. Values built from a
    /// frame always do; anything else is rejected by every decoder here.
    pub const fn in_range(&self) -> bool {
        self.lat <= CPR_MAX && self.lon <= CPR_MAX
    }
}

/// The largest value of a 17-bit CPR field.
pub const CPR_MAX: u32 = (1 << 17) - 1;

/// 2^Nb with Nb = 17: the number of steps a zone is cut into (§A.1.7.1, §A.1.7.3).
const SCALE: f64 = 131_072.0;

/// Number of latitude zones between the equator and a pole, NZ (§A.1.7.2 a).
const NZ: i32 = 15;

/// `Dlat_i = 360° / (4·NZ − i)` airborne and `90° / (4·NZ − i)` surface (§A.1.7.2 b–c),
/// indexed `[surface][i]`. One constant shared by encoder and decoders, so both compute
/// the zone latitude `Dlat · (zone + YZ/2^17)` with bit-identical operands: the NL of a
/// latitude exactly on a grid point is then the same on both sides.
const DLAT: [[f64; 2]; 2] = [
    [360.0 / (4 * NZ) as f64, 360.0 / (4 * NZ - 1) as f64],
    [90.0 / (4 * NZ) as f64, 90.0 / (4 * NZ - 1) as f64],
];

/// `1 / Dlat_i`, latitude zones per degree, indexed like [`DLAT`]; for the local
/// decode, which then multiplies instead of divides.
const ZONES_PER_DEG: [[f64; 2]; 2] = [
    [(4 * NZ) as f64 / 360.0, (4 * NZ - 1) as f64 / 360.0],
    [(4 * NZ) as f64 / 90.0, (4 * NZ - 1) as f64 / 90.0],
];

/// Latitudes (degrees, ascending) at which `NL` steps down by one: entry `k` is where NL
/// changes from `59 − k` to `58 − k`, i.e. the solution of
/// `cos²(lat) = (1 − cos(π/2NZ)) / (1 − cos(2π/NL))` (DO-260B §A.1.7.2 d, the closed form
/// inverted). Computed once with 60-digit arithmetic (mpmath) and rounded to the nearest
/// `f64`; the last entry, 87°, is exact (`NL = 2` at ±87°, 1 beyond, per the same
/// section).
///
/// Why a table rather than evaluating `floor(2π / acos(1 − a / cos²(lat)))` per call:
/// - speed: [`nl`] runs two or three times per position message; a table lookup
///   ([`NL_BUCKETS`] then one comparison, ~1 ns) replaces a `cos` and an `acos`
///   (~20 ns, see the `cpr` bench);
/// - exactness: `1 − a / cos²` cancels catastrophically in `f64` (`a ≈ 0.0055`), so the
///   closed form misplaces each boundary by up to ~1e-12° (a table derived from it in
///   `f64`, like pyModeS 3.6's, is off by up to 8e-13° from the values below), and the
///   formula needs special cases at 0° and 87°. With the table, `NL` is a step function
///   with its steps where the standard puts them, identical for encoder and decoder.
pub const NL_TRANSITIONS: [f64; 58] = [
    10.470_471_299_968_775,
    14.828_174_368_687_508,
    18.186_263_570_714_182,
    21.029_394_926_029_344,
    23.545_044_865_571_402,
    25.829_247_070_588_554,
    27.938_987_101_219_166,
    29.911_356_857_318_38,
    31.772_097_076_811_02,
    33.539_934_362_985_456,
    35.228_995_977_964_466,
    36.850_251_075_935_47,
    38.412_418_924_123_045,
    39.922_566_843_338_92,
    41.386_518_322_602_825,
    42.809_140_122_435_664,
    44.194_549_514_193_14,
    45.546_267_226_602_54,
    46.867_332_524_987_674,
    48.160_391_280_966_536,
    49.427_764_392_557_04,
    50.671_501_655_538_46,
    51.893_424_691_687_86,
    53.095_161_527_960_16,
    54.278_174_722_729_19,
    55.443_784_444_950_6,
    56.593_187_562_059_35,
    57.727_473_538_661_27,
    58.847_637_761_484_71,
    59.954_592_766_940_465,
    61.049_177_742_463_63,
    62.132_166_592_103_424,
    63.204_274_793_819_38,
    64.266_165_225_674_5,
    65.318_453_096_820_99,
    66.361_710_083_826_28,
    67.396_467_740_846_76,
    68.423_220_220_833_4,
    69.442_426_311_440_31,
    70.454_510_749_876_08,
    71.459_864_730_289_9,
    72.458_845_447_289_52,
    73.451_774_416_678_7,
    74.438_934_157_251_42,
    75.420_562_566_533_63,
    76.396_843_907_944_73,
    77.367_894_613_281_92,
    78.333_740_829_227_52,
    79.294_282_254_569_31,
    80.249_232_132_805_16,
    81.198_013_492_719_51,
    82.139_569_805_106_09,
    83.071_994_447_198_16,
    83.991_735_629_805_66,
    84.891_661_907_020_88,
    85.755_416_209_444_19,
    86.535_369_975_121_01,
    87.0,
];

/// Number of longitude zones NL at latitude `lat` (degrees), 1 to 59 (DO-260B §A.1.7.2 d;
/// Doc 9871 §C.2.6.2).
///
/// `NL(lat) = floor(2π / acos(1 − (1 − cos(π/2NZ)) / cos²(π·lat/180)))`, with
/// `NL(0) = 59`, `NL(±87) = 2` and `NL = 1` beyond ±87°. At a transition latitude
/// itself the closed form gives the larger count, and so does this function: it returns
/// `59 − (number of transitions strictly below |lat|)` from [`NL_TRANSITIONS`].
/// Symmetric in the hemisphere; `|lat| > 90` gives 1 and NaN gives 59 (callers check
/// their input first).
#[inline]
pub fn nl(lat: f64) -> u8 {
    let abs = lat.abs();
    if abs.is_nan() {
        return 59;
    }
    if abs >= 90.0 {
        return 1;
    }
    // `abs` in [0, 90): bucket 0..=359.
    let n = NL_BUCKETS[(abs * BUCKETS_PER_DEG) as usize];
    // The one transition that can lie inside the bucket is the first at or above its
    // start, where NL steps from `n` to `n − 1`.
    match NL_TRANSITIONS.get(usize::from(59 - n)) {
        Some(&t) if abs > t => n - 1,
        _ => n,
    }
}

/// Buckets per degree of [`NL_BUCKETS`]: 0.25° is narrower than the closest two
/// transitions (86.54° and 87°, 0.46° apart; checked by a test), so a bucket holds at
/// most one.
const BUCKETS_PER_DEG: f64 = 4.0;

/// `NL` at the start of each 0.25° latitude bucket, `NL_BUCKETS[i] = NL(i / 4)`, built at
/// compile time from [`NL_TRANSITIONS`]: [`nl`] is then one load and one comparison,
/// with no search.
pub const NL_BUCKETS: [u8; 360] = {
    let mut buckets = [0u8; 360];
    let mut i = 0;
    while i < 360 {
        let start = i as f64 / BUCKETS_PER_DEG;
        let mut below = 0;
        while below < NL_TRANSITIONS.len() && NL_TRANSITIONS[below] < start {
            below += 1;
        }
        buckets[i] = 59 - below as u8;
        i += 1;
    }
    buckets
};

/// Longitude-zone width `360° / n` for `n` = 0..=59 (index 0 unused), so the decoders
/// multiply instead of divide. Surface widths are a quarter of these, exactly.
const DLON: [f64; 60] = {
    let mut widths = [360.0; 60];
    let mut n = 1;
    while n < 60 {
        widths[n] = 360.0 / n as f64;
        n += 1;
    }
    widths
};

/// The longitude-zone width for `n` zones on the airborne or surface grid.
#[inline]
fn dlon(n: i32, surface: bool) -> f64 {
    // `n` is 1..=59 by construction (`max(NL − i, 1)`).
    let width = DLON[n.clamp(1, 59) as usize];
    if surface { width * 0.25 } else { width }
}

/// `m mod n` for the longitude index of a global decode, where `m` lies within a few
/// multiples of `n`: adds or subtracts instead of an integer division.
#[inline]
fn wrap_index(mut m: i32, n: i32) -> i32 {
    while m < 0 {
        m += n;
    }
    while m >= n {
        m -= n;
    }
    m
}

/// [`nl`] evaluated from the closed form with `cos` and `acos`, the way DO-260B writes
/// it. The reference the table is tested against and measured against in the `cpr`
/// bench; not for the hot path (slower, and off by up to ~1e-12° at the boundaries).
pub fn nl_closed_form(lat: f64) -> u8 {
    let abs = lat.abs();
    if abs == 0.0 {
        return 59;
    }
    if abs == 87.0 {
        return 2;
    }
    if abs > 87.0 {
        return 1;
    }
    let a = 1.0 - (std::f64::consts::PI / (2 * NZ) as f64).cos();
    let b = abs.to_radians().cos().powi(2);
    let nl = (2.0 * std::f64::consts::PI / (1.0 - a / b).acos()).floor();
    nl.clamp(1.0, 59.0) as u8
}

/// `MOD(x, y) = x − y·floor(x/y)` (DO-260B §A.1.7.1 b): always in `[0, y)` for `y > 0`.
#[inline]
fn modulo(x: f64, y: f64) -> f64 {
    x - y * (x / y).floor()
}

/// The number of longitude zones `n_i = max(NL(lat) − i, 1)` for format `i`.
#[inline]
fn lon_zones(lat: f64, odd: bool) -> i32 {
    (i32::from(nl(lat)) - i32::from(odd)).max(1)
}

/// Encodes `lat`, `lon` (degrees) for an airborne position message (DO-260B §A.1.7.3
/// with Nb = 17): `YZ = floor(2^17 · MOD(lat, Dlat)/Dlat + ½)`, the zone latitude
/// `Rlat = Dlat · (YZ/2^17 + floor(lat/Dlat))`, `Dlon = 360°/max(NL(Rlat) − i, 1)`,
/// `XZ = floor(2^17 · MOD(lon, Dlon)/Dlon + ½)`, both fields then taken modulo 2^17.
///
/// `lat` should lie in [-90, 90]; any other value (NaN included) still yields some
/// valid 17-bit encoding, never a panic. Used by the simulator and the tests.
pub fn encode_airborne(lat: f64, lon: f64, odd: bool) -> CprPosition {
    encode(lat, lon, odd, false)
}

/// Encodes `lat`, `lon` for a surface position message (DO-260B §A.1.7.3): the same
/// steps on a 90° span, so `Dlat = 90°/(60 − i)` and `Dlon = 90°/max(NL − i, 1)`.
///
/// The standard states this as Nb = 19 on the 360° grid with the 17 low bits
/// transmitted; that is the same number, since `2^19 · MOD(lat, 360/(60−i)) / (360/(60−i))`
/// and `2^17 · MOD(lat, 90/(60−i)) / (90/(60−i))` differ by a multiple of 2^17.
pub fn encode_surface(lat: f64, lon: f64, odd: bool) -> CprPosition {
    encode(lat, lon, odd, true)
}

fn encode(lat: f64, lon: f64, odd: bool, surface: bool) -> CprPosition {
    let dlat = DLAT[usize::from(surface)][usize::from(odd)];
    let yz = (SCALE * modulo(lat, dlat) / dlat + 0.5).floor();
    // The zone latitude, computed exactly as the decoders compute it: `Dlat · (zone + YZ/2^17)`.
    let rlat = dlat * ((lat / dlat).floor() + yz / SCALE);
    let dlon = dlon(lon_zones(rlat, odd), surface);
    let xz = (SCALE * modulo(lon, dlon) / dlon + 0.5).floor();
    // `as u32` saturates (NaN → 0), and the mask keeps 17 bits: YZ = 2^17 after rounding
    // up is transmitted as 0 (the next zone's first step).
    CprPosition {
        odd,
        lat: (yz as u32) & CPR_MAX,
        lon: (xz as u32) & CPR_MAX,
        surface,
    }
}

/// The zone latitude `Dlat · (zone + YZ/2^17)` of a global decode for latitude-zone
/// index `zone` (already reduced modulo the zone count), moved to the southern
/// hemisphere when it falls at or beyond 270° (DO-260B §A.1.7.7 a: "Rlat ≥ 270° ⇒
/// Rlat − 360°"). The southern value is computed as `Dlat · ((zone − count) + YZ/2^17)`
/// rather than by subtracting 360, so that it is bit-identical to the encoder's
/// `Dlat · (floor(lat/Dlat) + YZ/2^17)` and the NL check sees the same number.
#[inline]
fn global_zone_lat(dlat: f64, zone: i32, count: i32, yz: f64) -> f64 {
    let north = dlat * (f64::from(zone) + yz);
    if north >= 270.0 {
        dlat * (f64::from(zone - count) + yz)
    } else {
        north
    }
}

/// The latitude-zone index `j = floor(59·YZ0 − 60·YZ1 + ½)` of a global decode
/// (DO-260B §A.1.7.7 a, §A.1.7.8 a), with `YZ` already divided by 2^17.
#[inline]
fn zone_index(yz0: f64, yz1: f64) -> i32 {
    (59.0 * yz0 - 60.0 * yz1 + 0.5).floor() as i32
}

/// The longitude-zone index `m = floor(XZ0·(NL − 1) − XZ1·NL + ½)` (§A.1.7.7 b).
#[inline]
fn lon_index(xz0: f64, xz1: f64, nl: i32) -> i32 {
    (xz0 * f64::from(nl - 1) - xz1 * f64::from(nl) + 0.5).floor() as i32
}

/// Checks that `even` and `odd` are a well-formed pair of the given kind.
#[inline]
fn pair_ok(even: &CprPosition, odd: &CprPosition, surface: bool) -> bool {
    !even.odd
        && odd.odd
        && even.surface == surface
        && odd.surface == surface
        && even.in_range()
        && odd.in_range()
}

/// Globally unambiguous airborne decode from an even and an odd message (DO-260B
/// §A.1.7.7; Doc 9871 §C.2.6.7), returning the position of the newer one
/// (`latest_is_odd` says which).
///
/// Returns `None` when the pair cannot be one aircraft's position: a field wider than
/// 17 bits, format bits or surface flags that do not match their roles, a latitude in
/// (90°, 270°) (beyond a pole), or the two latitudes in bands of different `NL`
/// (§A.1.7.7 a: "if NL(Rlat0) ≠ NL(Rlat1) ... the position cannot be decoded"; the
/// aircraft crossed an NL boundary between the messages, or one message is corrupt).
/// The caller keeps the two messages within 10 s of each other (§A.1.7.7 note); the
/// arithmetic cannot check that.
pub fn decode_global_airborne(
    even: CprPosition,
    odd: CprPosition,
    latest_is_odd: bool,
) -> Option<GeoPoint> {
    if !pair_ok(&even, &odd, false) {
        return None;
    }
    let (yz0, yz1) = (f64::from(even.lat) / SCALE, f64::from(odd.lat) / SCALE);
    let j = zone_index(yz0, yz1);
    let lat0 = global_zone_lat(DLAT[0][0], j.rem_euclid(60), 60, yz0);
    let lat1 = global_zone_lat(DLAT[0][1], j.rem_euclid(59), 59, yz1);
    if lat0 > 90.0 || lat1 > 90.0 {
        return None;
    }
    let nl_even = nl(lat0);
    if nl_even != nl(lat1) {
        return None;
    }
    let (xz0, xz1) = (f64::from(even.lon) / SCALE, f64::from(odd.lon) / SCALE);
    let m = lon_index(xz0, xz1, i32::from(nl_even));
    let ni = (i32::from(nl_even) - i32::from(latest_is_odd)).max(1);
    let (lat, xz) = if latest_is_odd {
        (lat1, xz1)
    } else {
        (lat0, xz0)
    };
    let lon = dlon(ni, false) * (f64::from(wrap_index(m, ni)) + xz);
    Some(GeoPoint::new(lat, lon))
}

/// Globally unambiguous surface decode from an even and an odd surface message
/// (DO-260B §A.1.7.8; Doc 9871 §C.2.6.8), returning the position of the newer one.
///
/// The 90° grid leaves two latitudes (`Rlat` and `Rlat − 90°`) and four longitudes
/// (`Rlon + k·90°`); the ones nearest `reference` (the aircraft's last known position
/// or the receiver's, which must lie within 45° of longitude and in the right half of
/// the latitude range, as any receiver hearing the aircraft does) are chosen. `None`
/// as for [`decode_global_airborne`], or when `reference` is not a finite position.
pub fn decode_global_surface(
    even: CprPosition,
    odd: CprPosition,
    latest_is_odd: bool,
    reference: GeoPoint,
) -> Option<GeoPoint> {
    if !pair_ok(&even, &odd, true) || !reference_ok(reference) {
        return None;
    }
    let (yz0, yz1) = (f64::from(even.lat) / SCALE, f64::from(odd.lat) / SCALE);
    let j = zone_index(yz0, yz1);
    let (z0, z1) = (j.rem_euclid(60), j.rem_euclid(59));
    let north0 = DLAT[1][0] * (f64::from(z0) + yz0);
    let north1 = DLAT[1][1] * (f64::from(z1) + yz1);
    let north_latest = if latest_is_odd { north1 } else { north0 };
    // The southern candidate lies exactly 90° lower; pick the hemisphere from the newer
    // message and apply it to both, as the standard's two-solution step does.
    let south =
        (reference.lat - north_latest).abs() > (reference.lat - (north_latest - 90.0)).abs();
    let (lat0, lat1) = if south {
        (
            DLAT[1][0] * (f64::from(z0 - 60) + yz0),
            DLAT[1][1] * (f64::from(z1 - 59) + yz1),
        )
    } else {
        (north0, north1)
    };
    let nl_even = nl(lat0);
    if nl_even != nl(lat1) {
        return None;
    }
    let (xz0, xz1) = (f64::from(even.lon) / SCALE, f64::from(odd.lon) / SCALE);
    let m = lon_index(xz0, xz1, i32::from(nl_even));
    let ni = (i32::from(nl_even) - i32::from(latest_is_odd)).max(1);
    let (lat, xz) = if latest_is_odd {
        (lat1, xz1)
    } else {
        (lat0, xz0)
    };
    let base = dlon(ni, true) * (f64::from(wrap_index(m, ni)) + xz);
    // Of base + k·90°, the one nearest the reference: shift by whole quadrants.
    let quadrants = ((wrap_lon(reference.lon) - base) / 90.0).round();
    Some(GeoPoint::new(lat, base + 90.0 * quadrants))
}

/// Whether a reference position is usable: finite, latitude within ±90°.
#[inline]
fn reference_ok(reference: GeoPoint) -> bool {
    reference.lat.is_finite() && reference.lon.is_finite() && reference.lat.abs() <= 90.0
}

/// Locally unambiguous decode of one message against a reference position (DO-260B
/// §A.1.7.5 airborne, §A.1.7.6 surface; Doc 9871 §C.2.6.5–6):
/// `j = floor(lat_ref/Dlat) + floor(½ + MOD(lat_ref, Dlat)/Dlat − YZ/2^17)`,
/// `Rlat = Dlat · (j + YZ/2^17)`, and the same for longitude with
/// `Dlon = span/max(NL(Rlat) − i, 1)`. Computed as the equal
/// `j = floor(½ + lat_ref/Dlat − YZ/2^17)` (the two floors of the standard sum to it),
/// multiplying by zone counts instead of dividing by widths: the result can differ
/// from the standard's only for a reference exactly half a zone away, where either
/// zone is equally wrong.
///
/// The result is the grid point nearest the reference, so it is right only if the
/// aircraft is within half a zone of it: 180 NM airborne, 45 NM surface (the caller's
/// responsibility; [`crate::tracker`] bounds it with the speed gate). `None` for a
/// field wider than 17 bits, a non-finite reference or a result beyond a pole.
pub fn decode_local(cpr: CprPosition, reference: GeoPoint) -> Option<GeoPoint> {
    if !cpr.in_range() || !reference_ok(reference) {
        return None;
    }
    let (s, i) = (usize::from(cpr.surface), usize::from(cpr.odd));
    let dlat = DLAT[s][i];
    let yz = f64::from(cpr.lat) / SCALE;
    let j = (0.5 + reference.lat * ZONES_PER_DEG[s][i] - yz).floor();
    let lat = dlat * (j + yz);
    if lat.abs() > 90.0 {
        return None;
    }
    let ni = lon_zones(lat, cpr.odd);
    let xz = f64::from(cpr.lon) / SCALE;
    let ref_lon = wrap_lon(reference.lon);
    let per_deg = f64::from(ni) * if cpr.surface { 1.0 / 90.0 } else { 1.0 / 360.0 };
    let m = (0.5 + ref_lon * per_deg - xz).floor();
    Some(GeoPoint::new(lat, dlon(ni, cpr.surface) * (m + xz)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn air(odd: bool, lat: u32, lon: u32) -> CprPosition {
        CprPosition {
            odd,
            lat,
            lon,
            surface: false,
        }
    }

    fn surf(odd: bool, lat: u32, lon: u32) -> CprPosition {
        CprPosition {
            odd,
            lat,
            lon,
            surface: true,
        }
    }

    fn assert_close(p: GeoPoint, lat: f64, lon: f64, tol: f64) {
        assert!(
            (p.lat - lat).abs() <= tol && (p.lon - lon).abs() <= tol,
            "got ({}, {}), expected ({lat}, {lon}) ± {tol}",
            p.lat,
            p.lon
        );
    }

    // Junzi Sun, "The 1090 Megahertz Riddle" (2nd ed.), chapter "Airborne position":
    // even 8D40621D58C382D690C8AC2863A7 (YZ 93000, XZ 51372),
    // odd 8D40621D58C386435CC412692AD6 (YZ 74158, XZ 50194), the even one newer.
    // Expected values from pyModeS 3.6.1 `airborne_position_pair` (same as the book's
    // 52.2572°, 3.91937°).
    const BOOK_EVEN: CprPosition = CprPosition {
        odd: false,
        lat: 93000,
        lon: 51372,
        surface: false,
    };
    const BOOK_ODD: CprPosition = CprPosition {
        odd: true,
        lat: 74158,
        lon: 50194,
        surface: false,
    };

    #[test]
    fn book_airborne_pair_decodes_globally() {
        let p = decode_global_airborne(BOOK_EVEN, BOOK_ODD, false).expect("valid pair");
        assert_close(p, 52.257_202_148_437_5, 3.919_372_558_593_75, 1e-12);
        // The odd message's own position (pyModeS, even_is_newer=False).
        let p = decode_global_airborne(BOOK_EVEN, BOOK_ODD, true).expect("valid pair");
        assert_close(p, 52.265_780_174_126_06, 3.938_912_527_901_786, 1e-12);
    }

    #[test]
    fn book_airborne_local_decode() {
        // Same book, "locally unambiguous position": reference (52.258, 3.918).
        let p = decode_local(BOOK_EVEN, GeoPoint::new(52.258, 3.918)).expect("valid");
        assert_close(p, 52.257_202_148_437_5, 3.919_372_558_593_75, 1e-12);
    }

    // Same book, chapter "Surface position": even 8C4841753AAB238733C8CD4020B1
    // (YZ 115609, XZ 116941), odd 8C4841753A9A153237AEF0F275BE (YZ 39195, XZ 110320),
    // receiver at (51.990, 4.375). Values from pyModeS 3.6.1 `surface_position_pair`.
    #[test]
    fn book_surface_pair_decodes_globally() {
        let (e, o) = (surf(false, 115_609, 116_941), surf(true, 39_195, 110_320));
        let rx = GeoPoint::new(51.990, 4.375);
        let p = decode_global_surface(e, o, true, rx).expect("valid pair");
        assert_close(p, 52.320_560_519_978_15, 4.735_735_212_053_584, 1e-12);
        let p = decode_global_surface(e, o, false, rx).expect("valid pair");
        assert_close(p, 52.323_040_008_544_92, 4.730_472_564_697_266, 1e-12);
        // Local decode of each against the receiver gives the same points.
        let p = decode_local(o, rx).expect("valid");
        assert_close(p, 52.320_560_519_978_15, 4.735_735_212_053_572, 1e-12);
        let p = decode_local(e, rx).expect("valid");
        assert_close(p, 52.323_040_008_544_92, 4.730_472_564_697_266, 1e-12);
    }

    #[test]
    fn surface_global_picks_quadrant_from_reference() {
        // The same pair seen from a receiver in each other quadrant of the same
        // hemisphere lands 90° apart; from the southern hemisphere, 90° lower.
        let (e, o) = (surf(false, 115_609, 116_941), surf(true, 39_195, 110_320));
        let p = decode_global_surface(e, o, true, GeoPoint::new(50.0, 95.0)).expect("valid");
        assert_close(p, 52.320_560_519_978_15, 94.735_735_212_053_58, 1e-9);
        let p = decode_global_surface(e, o, true, GeoPoint::new(50.0, -85.0)).expect("valid");
        assert_close(p, 52.320_560_519_978_15, -85.264_264_787_946_42, 1e-9);
        let p = decode_global_surface(e, o, true, GeoPoint::new(50.0, 179.0)).expect("valid");
        assert_close(p, 52.320_560_519_978_15, -175.264_264_787_946_42, 1e-9);
    }

    #[test]
    fn encoders_reproduce_book_fields() {
        // Re-encoding the decoded position gives the transmitted fields back.
        let e = encode_airborne(52.257_202_148_437_5, 3.919_372_558_593_75, false);
        assert_eq!(e, BOOK_EVEN);
        let o = encode_airborne(52.265_780_174_126_06, 3.938_912_527_901_786, true);
        assert_eq!(o, BOOK_ODD);
        let s = encode_surface(52.320_560_519_978_15, 4.735_735_212_053_584, true);
        assert_eq!(s, surf(true, 39_195, 110_320));
    }

    #[test]
    fn nl_known_values() {
        assert_eq!(nl(0.0), 59);
        assert_eq!(nl(-0.0), 59);
        assert_eq!(nl(10.47), 59);
        assert_eq!(nl(10.48), 58);
        assert_eq!(nl(52.2572), 36); // the book's worked example
        assert_eq!(nl(-52.2572), 36);
        assert_eq!(nl(86.9), 2);
        assert_eq!(nl(87.0), 2);
        assert_eq!(nl(-87.0), 2);
        assert_eq!(nl(87.000_001), 1);
        assert_eq!(nl(90.0), 1);
        assert_eq!(nl(-90.0), 1);
        assert_eq!(nl(f64::NAN), 59);
        assert_eq!(nl(1000.0), 1);
    }

    #[test]
    fn nl_table_steps_exactly_at_each_transition() {
        for (k, &t) in NL_TRANSITIONS.iter().enumerate() {
            let n = 59 - k as u8;
            assert_eq!(nl(t), n, "at {t}");
            assert_eq!(nl(t.next_up()), n - 1, "just above {t}");
            assert_eq!(nl(t.next_down()), n, "just below {t}");
            assert_eq!(nl(-t), n);
        }
    }

    #[test]
    fn nl_buckets_hold_at_most_one_transition() {
        for w in NL_TRANSITIONS.windows(2) {
            assert!(w[1] - w[0] > 1.0 / BUCKETS_PER_DEG, "{w:?}");
        }
        // And the bucketed lookup agrees with counting the transitions below.
        let count = |lat: f64| 59 - NL_TRANSITIONS.iter().filter(|&&t| t < lat.abs()).count() as u8;
        let mut lat: f64 = -90.0;
        while lat <= 90.0 {
            assert_eq!(nl(lat), count(lat), "at {lat}");
            lat += 0.0007;
        }
        for &t in &NL_TRANSITIONS {
            for x in [t.next_down(), t, t.next_up(), (t * 4.0).floor() / 4.0] {
                assert_eq!(nl(x), count(x), "at {x}");
            }
        }
    }

    #[test]
    fn nl_table_matches_closed_form() {
        // The inverted closed form, evaluated in f64, agrees with the 60-digit table to
        // well within 1e-9°.
        let a = 1.0 - (std::f64::consts::PI / 30.0).cos();
        for (k, &t) in NL_TRANSITIONS.iter().enumerate() {
            let n = f64::from(59 - k as u8);
            let lat = (a / (1.0 - (2.0 * std::f64::consts::PI / n).cos()))
                .sqrt()
                .acos()
                .to_degrees();
            assert!(
                (lat - t).abs() < 1e-9,
                "NL {n}: table {t}, closed form {lat}"
            );
        }
        // And the two NL functions agree everywhere away from the boundaries.
        let mut lat: f64 = -90.0;
        while lat <= 90.0 {
            let near = NL_TRANSITIONS.iter().any(|t| (lat.abs() - t).abs() < 1e-9);
            if !near {
                assert_eq!(nl(lat), nl_closed_form(lat), "at {lat}");
            }
            lat += 0.001;
        }
    }

    #[test]
    fn out_of_range_fields_and_references_are_rejected() {
        let big = air(true, CPR_MAX + 1, 0);
        assert_eq!(decode_global_airborne(BOOK_EVEN, big, true), None);
        assert_eq!(decode_local(big, GeoPoint::new(0.0, 0.0)), None);
        assert_eq!(decode_local(BOOK_EVEN, GeoPoint::new(f64::NAN, 0.0)), None);
        assert_eq!(
            decode_local(BOOK_EVEN, GeoPoint::new(0.0, f64::INFINITY)),
            None
        );
        assert_eq!(decode_local(BOOK_EVEN, GeoPoint::new(91.0, 0.0)), None);
        // Roles swapped or kinds mixed.
        assert_eq!(decode_global_airborne(BOOK_ODD, BOOK_EVEN, true), None);
        let s = surf(true, 74_158, 50_194);
        assert_eq!(decode_global_airborne(BOOK_EVEN, s, true), None);
        assert_eq!(
            decode_global_surface(BOOK_EVEN, BOOK_ODD, true, GeoPoint::new(52.0, 4.0)),
            None
        );
    }

    #[test]
    fn pair_beyond_the_pole_is_rejected() {
        // YZ0 = 0, YZ1 = 2^16 gives j = -30 → 30: Rlat0 = 180°, which is no latitude.
        assert_eq!(
            decode_global_airborne(air(false, 0, 0), air(true, 1 << 16, 0), false),
            None
        );
    }

    #[test]
    fn pair_with_one_impossible_latitude_is_rejected() {
        // Found by a differential run against pyModeS 3.6.1 (200 000 random pairs, the
        // only disagreement): the even latitude is -89.978° but the odd one is 269.98°,
        // no latitude at all. pyModeS checks only the newer one and answers
        // (-89.978, 141.25); both must be valid for the pair to be one aircraft.
        let (e, o) = (air(false, 482, 51_428), air(true, 32_264, 84_543));
        assert_eq!(decode_global_airborne(e, o, false), None);
        assert_eq!(decode_global_airborne(e, o, true), None);
    }

    #[test]
    fn pair_straddling_an_nl_boundary_is_rejected() {
        // Even frame just south of the NL 59/58 boundary, odd frame just north of it:
        // the two zone latitudes fall in bands with different NL.
        let t = NL_TRANSITIONS[0];
        let e = encode_airborne(t - 0.01, 20.0, false);
        let o = encode_airborne(t + 0.01, 20.0, true);
        assert_eq!(decode_global_airborne(e, o, true), None);
        assert_eq!(decode_global_airborne(e, o, false), None);
    }

    #[test]
    fn antimeridian_wraps() {
        let (lat, lon) = (-16.5, 179.999);
        let e = encode_airborne(lat, lon, false);
        let o = encode_airborne(lat, lon, true);
        let p = decode_global_airborne(e, o, true).expect("valid pair");
        assert_close(p, lat, lon, 1e-4);
        // Local decode from the other side of the antimeridian.
        let p = decode_local(e, GeoPoint::new(-16.0, -179.5)).expect("valid");
        assert_close(p, lat, lon, 1e-4);
        let e = encode_airborne(lat, -179.999, false);
        let p = decode_local(e, GeoPoint::new(-16.0, 179.5)).expect("valid");
        assert_close(p, lat, -179.999, 1e-4);
    }

    #[test]
    fn southern_hemisphere_and_poles() {
        for &(lat, lon) in &[
            (-33.9, 151.2),
            (-89.9, 10.0),
            (89.9, -150.0),
            (-90.0, 0.0),
            (90.0, 0.0),
            (0.0, 0.0),
        ] {
            let e = encode_airborne(lat, lon, false);
            let o = encode_airborne(lat, lon, true);
            let p = decode_global_airborne(e, o, false).expect("valid pair");
            assert!((p.lat - lat).abs() < 1e-4, "{lat} → {}", p.lat);
            // Near the poles a longitude step is up to 360/2^17 degrees wide.
            let dlon = (p.lon - lon + 540.0).rem_euclid(360.0) - 180.0;
            assert!(dlon.abs() < 3e-3 || lat.abs() == 90.0, "{lon} → {}", p.lon);
        }
    }

    #[test]
    fn surface_southern_hemisphere_via_reference() {
        let (lat, lon) = (-33.9461, 151.1772); // Sydney airport
        let e = encode_surface(lat, lon, false);
        let o = encode_surface(lat, lon, true);
        let rx = GeoPoint::new(-33.8, 151.0);
        let p = decode_global_surface(e, o, false, rx).expect("valid pair");
        assert_close(p, lat, lon, 2e-5);
        let p = decode_local(o, rx).expect("valid");
        assert_close(p, lat, lon, 2e-5);
    }
}
