//! Mode S frame validation and the fields common to all downlink formats (ICAO Annex 10
//! Vol IV §3.1.2; DO-181E), with their encoders.
//!
//! [`check`] is stateless: it reads the downlink format, checks the length, computes the
//! syndrome ([`crate::crc`]) and tells where the address came from. Whether an address
//! recovered from parity is believed is decided by the stateful [`crate::decoder`], which
//! remembers the addresses heard in DF11/17/18.
//!
//! Bit numbers in this module's docs count from 1 at the first bit of the frame, as the
//! standards do.

use skyfence_core::{Icao24, Squawk};

use crate::DropReason;
use crate::crc;

/// Why a message cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// Altitude outside what the 12/13-bit altitude codes can carry.
    #[error("altitude {0} ft out of range: expected -1000..=126700 ft")]
    Altitude(i32),
    /// A callsign character outside the ADS-B 6-bit character set.
    #[error("callsign character {0:?} cannot be encoded: expected A-Z, 0-9 or space")]
    CallsignChar(char),
    /// A field value larger than its field.
    #[error("{field} value {value} out of range: expected 0..={max}")]
    Field {
        /// Which field.
        field: &'static str,
        /// The value given.
        value: u32,
        /// Its largest allowed value.
        max: u32,
    },
}

/// Checks that `value` fits a field whose largest value is `max`.
pub(crate) fn field(field: &'static str, value: u32, max: u32) -> Result<u32, EncodeError> {
    if value <= max {
        Ok(value)
    } else {
        Err(EncodeError::Field { field, value, max })
    }
}

/// The downlink format (bits 1–5). Formats 24–31 all start with `11` and are read as 24
/// (Comm-D extended length message, Annex 10 Vol IV §3.1.2.3.2.1.3).
#[inline]
pub const fn downlink_format(first_byte: u8) -> u8 {
    let df = first_byte >> 3;
    if df >= 24 { 24 } else { df }
}

/// The frame length in bytes that skyfence accepts for `df`, or `None` for formats it does
/// not decode. DF 0–15 are 56-bit replies, DF 16 and up 112-bit ones (§3.1.2.3.2.1.2).
#[inline]
pub const fn supported_len(df: u8) -> Option<usize> {
    match df {
        0 | 4 | 5 | 11 => Some(7),
        16 | 17 | 18 | 20 | 21 => Some(14),
        _ => None,
    }
}

/// Where the address of an accepted frame came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AddressSource {
    /// Sent in the clear (AA field of DF11/17/18) and covered by a checked parity.
    Announced,
    /// Recovered from the parity (DF0/4/5/16/20/21, "address/parity", §3.1.2.3.3.2): any
    /// corrupted frame yields *some* address, so it is only trusted when already known.
    Parity,
}

/// A frame that passed the format, length and parity checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    /// Downlink format.
    pub df: u8,
    /// The aircraft address (AA field, or recovered from the parity).
    pub icao: Icao24,
    /// How the address was obtained.
    pub address: AddressSource,
    /// The frame bytes, with the corrected bit flipped back when `corrected_bit` is set.
    pub bytes: [u8; 14],
    /// 7 or 14.
    pub len: u8,
    /// The bit (0-based from the first bit) repaired by single-bit correction, if any.
    pub corrected_bit: Option<u8>,
}

impl Checked {
    /// The meaningful bytes.
    pub fn data(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(14)]
    }
}

/// Validates a frame: format, length and parity.
///
/// - DF17, and DF18 with CF 0 (ADS-B, ICAO address) or CF 6 (ADS-R, ICAO address), need a
///   zero syndrome. DF18 with other CF values (anonymous or non-ICAO addresses, TIS-B,
///   reserved) is [`DropReason::UnsupportedFormat`]: its AA field is not an aircraft's
///   ICAO address and must not create or move a track under one.
/// - With `correct_single_bit`, a DF17 whose syndrome matches a single-bit error outside
///   the DF field (bits 6–112) is repaired; `corrected_bit` says which bit.
/// - DF11 is accepted when the syndrome is zero or only carries an interrogator code
///   (II/SI, the low 7 bits: §3.1.2.5.2.2.2, "PI" field).
/// - DF0/4/5/16/20/21 yield the syndrome as the address ([`AddressSource::Parity`]).
/// - Other formats: [`DropReason::UnsupportedFormat`]; a length other than the format's:
///   [`DropReason::BadLength`]; a failing parity: [`DropReason::BadCrc`].
pub fn check(data: &[u8], correct_single_bit: bool) -> Result<Checked, DropReason> {
    let Some(&first) = data.first() else {
        return Err(DropReason::BadLength);
    };
    let df = downlink_format(first);
    let Some(len) = supported_len(df) else {
        return Err(DropReason::UnsupportedFormat);
    };
    if data.len() != len {
        return Err(DropReason::BadLength);
    }
    // Fixed-size copies and syndromes: no memcpy call or length dispatch per frame.
    let mut bytes = [0u8; 14];
    let syndrome = if let Ok(long) = <&[u8; 14]>::try_from(data) {
        bytes = *long;
        crc::syndrome_long(long)
    } else if let Ok(short) = <&[u8; 7]>::try_from(data) {
        bytes[..7].copy_from_slice(short);
        crc::syndrome_short(short)
    } else {
        return Err(DropReason::BadLength);
    };
    let aa = Icao24::from_u32_masked(
        u32::from(bytes[1]) << 16 | u32::from(bytes[2]) << 8 | u32::from(bytes[3]),
    );
    let mut out = Checked {
        df,
        icao: aa,
        address: AddressSource::Announced,
        bytes,
        len: len as u8,
        corrected_bit: None,
    };
    match df {
        17 | 18 => {
            if df == 18 && !matches!(first & 7, 0 | 6) {
                return Err(DropReason::UnsupportedFormat);
            }
            if syndrome != 0 {
                let bit = correct_single_bit
                    .then(|| crc::single_bit_error_long(syndrome))
                    .flatten()
                    .filter(|&bit| df == 17 && bit >= 5)
                    .ok_or(DropReason::BadCrc)?;
                out.bytes[bit / 8] ^= 0x80 >> (bit % 8);
                out.icao = Icao24::from_u32_masked(
                    u32::from(out.bytes[1]) << 16
                        | u32::from(out.bytes[2]) << 8
                        | u32::from(out.bytes[3]),
                );
                out.corrected_bit = Some(bit as u8);
            }
        }
        11 => {
            if syndrome & !0x7F != 0 {
                return Err(DropReason::BadCrc);
            }
        }
        _ => {
            out.icao = Icao24::from_u32_masked(syndrome);
            out.address = AddressSource::Parity;
        }
    }
    Ok(out)
}

/// The 13-bit altitude (AC, DF0/4/16/20) or identity (ID, DF5/21) field, bits 20–32.
#[inline]
pub fn field13(frame: &[u8]) -> u16 {
    match frame {
        [_, _, b2, b3, ..] => u16::from(b2 & 0x1F) << 8 | u16::from(*b3),
        _ => 0,
    }
}

/// The flight status (FS, bits 6–8) of DF4/5/20/21: alert, SPI and airborne/on-ground.
#[inline]
pub fn flight_status(frame: &[u8]) -> u8 {
    frame.first().map_or(0, |b| b & 7)
}

/// Bit masks of the 13-bit AC/ID field (Annex 10 Vol IV §3.1.2.6.5.4, §3.1.2.6.7.1):
/// `C1 A1 C2 A2 C4 A4 M/X B1 Q/D1 B2 D2 B4 D4`, most significant first.
mod bits13 {
    pub const C1: u16 = 1 << 12;
    pub const A1: u16 = 1 << 11;
    pub const C2: u16 = 1 << 10;
    pub const A2: u16 = 1 << 9;
    pub const C4: u16 = 1 << 8;
    pub const A4: u16 = 1 << 7;
    pub const M: u16 = 1 << 6;
    pub const B1: u16 = 1 << 5;
    pub const Q: u16 = 1 << 4;
    pub const D1: u16 = 1 << 4;
    pub const B2: u16 = 1 << 3;
    pub const D2: u16 = 1 << 2;
    pub const B4: u16 = 1 << 1;
    pub const D4: u16 = 1;
}

/// Gathers the bits `masks` (most significant first) of `code` into an integer.
#[inline]
fn gather(code: u16, masks: &[u16]) -> u16 {
    masks
        .iter()
        .fold(0, |acc, &m| (acc << 1) | u16::from(code & m != 0))
}

/// Spreads the bits of `value` (most significant first) onto `masks`.
#[inline]
fn spread(value: u16, masks: &[u16]) -> u16 {
    let n = masks.len();
    masks.iter().enumerate().fold(0, |acc, (i, &m)| {
        if value >> (n - 1 - i) & 1 != 0 {
            acc | m
        } else {
            acc
        }
    })
}

/// Decodes the 13-bit altitude code (AC13, Annex 10 Vol IV §3.1.2.6.5.4), in feet.
///
/// - all zero: altitude not available → `None`;
/// - M = 1: metric altitude. Its coding is not defined by the standard and no transponder
///   in service is known to use it; like readsb, dump1090 and pyModeS we return `None`;
/// - Q = 1: 25-ft steps, `N × 25 − 1000` over the 11 remaining bits (−1000 … 50 175 ft);
/// - Q = 0: Gillham (Mode C) code in 100-ft steps, used above 50 175 ft and by older
///   transponders; illegal code combinations give `None`.
pub fn decode_ac13(code: u16) -> Option<i32> {
    use bits13::*;
    let code = code & 0x1FFF;
    if code == 0 || code & M != 0 {
        return None;
    }
    if code & Q != 0 {
        // N = C1 A1 C2 A2 C4 A4 B1 B2 D2 B4 D4: the 13 bits without M (bit 6) and Q (bit 4).
        let n = ((code & 0x1F80) >> 2) | ((code & B1) >> 1) | (code & 0xF);
        return Some(i32::from(n) * 25 - 1000);
    }
    gillham_to_ft(code)
}

/// Gillham (reflected binary, "Mode C") altitude, ICAO Annex 10 Vol IV §3.1.1.7.12.2.3:
/// the 500-ft increments are Gray-coded in `D2 D4 A1 A2 A4 B1 B2 B4`, the 100-ft
/// increments in `C1 C2 C4` (counting 1-2-3-4-5 as 001 011 010 110 100, reversed when
/// the 500-ft count is odd). `alt = 500·n500 + 100·n100 − 1300`.
fn gillham_to_ft(code: u16) -> Option<i32> {
    use bits13::*;
    let n500 = gray_to_binary(gather(code, &[D2, D4, A1, A2, A4, B1, B2, B4]));
    let mut n100 = match gray_to_binary(gather(code, &[C1, C2, C4])) {
        n @ 1..=4 => n,
        7 => 5,
        _ => return None,
    };
    if n500 % 2 == 1 {
        n100 = 6 - n100;
    }
    Some(i32::from(n500) * 500 + i32::from(n100) * 100 - 1300)
}

/// Reflected binary (Gray) to binary.
#[inline]
fn gray_to_binary(mut g: u16) -> u16 {
    let mut b = 0;
    while g != 0 {
        b ^= g;
        g >>= 1;
    }
    b
}

/// Encodes an altitude as AC13 with M = 0: 25-ft steps (Q = 1) from −1000 to 50 175 ft,
/// Gillham 100-ft steps (Q = 0) above, up to 126 700 ft; rounded to the nearest step.
pub fn encode_ac13(alt_ft: i32) -> Result<u16, EncodeError> {
    use bits13::*;
    if !(-1000..=126_700).contains(&alt_ft) {
        return Err(EncodeError::Altitude(alt_ft));
    }
    let n25 = (alt_ft + 1000 + 12).div_euclid(25);
    if n25 <= 0x7FF {
        let bits = spread(n25 as u16, &[C1, A1, C2, A2, C4, A4, B1, B2, D2, B4, D4]);
        return Ok(bits | Q);
    }
    // Gillham: alt + 1300 = 500·n500 + 100·n100 with n100 in 1..=5.
    let t = (alt_ft + 1300 + 50).div_euclid(100);
    let n500 = (t - 1) / 5;
    let mut n100 = t - n500 * 5;
    if n500 % 2 == 1 {
        n100 = 6 - n100;
    }
    let c = if n100 == 5 { 7 } else { n100 as u16 };
    let n500 = n500 as u16;
    Ok(
        spread(n500 ^ (n500 >> 1), &[D2, D4, A1, A2, A4, B1, B2, B4])
            | spread(c ^ (c >> 1), &[C1, C2, C4]),
    )
}

/// AC13 from the 12-bit ADS-B altitude field (DO-260B §2.2.3.2.3.4): the same code
/// without the M bit.
#[inline]
pub fn ac12_to_ac13(ac12: u16) -> u16 {
    ((ac12 & 0xFC0) << 1) | (ac12 & 0x3F)
}

/// The 12-bit ADS-B altitude field from AC13 (drops the M bit).
#[inline]
pub fn ac13_to_ac12(ac13: u16) -> u16 {
    ((ac13 >> 1) & 0xFC0) | (ac13 & 0x3F)
}

/// Decodes the 13-bit identity code (ID13, Annex 10 Vol IV §3.1.2.6.7.1) to a Mode A
/// code: digit A = A4 A2 A1, B = B4 B2 B1, C = C4 C2 C1, D = D4 D2 D1. Every code
/// decodes (the X bit is ignored); the `Option` only mirrors [`Squawk::new`].
pub fn decode_id13(code: u16) -> Option<Squawk> {
    use bits13::*;
    Squawk::new(gather(
        code,
        &[A4, A2, A1, B4, B2, B1, C4, C2, C1, D4, D2, D1],
    ))
}

/// Encodes a Mode A code as ID13 (the X bit zero).
pub fn encode_id13(squawk: Squawk) -> u16 {
    use bits13::*;
    spread(
        squawk.value(),
        &[A4, A2, A1, B4, B2, B1, C4, C2, C1, D4, D2, D1],
    )
}

/// Writes the 24-bit parity of `frame` (7 or 14 bytes) into its last three bytes, XORed
/// with `overlay`: 0 for DF17/18 ("PI" with zero interrogator code), the interrogator
/// code for DF11, the aircraft address for address/parity replies (§3.1.2.3.3.2).
pub fn write_parity(frame: &mut [u8], overlay: u32) {
    let split = frame.len().saturating_sub(3);
    let (data, pi) = frame.split_at_mut(split);
    let p = (crc::parity(data) ^ overlay) & 0x00FF_FFFF;
    for (i, b) in pi.iter_mut().enumerate() {
        *b = (p >> (16 - 8 * i)) as u8;
    }
}

/// Builds a DF11 all-call reply (§3.1.2.5.2.2): capability `ca` (0–7), the address, and
/// the parity overlaid with interrogator code `ic` (0 for acquisition squitter, else the
/// II/SI code, 0–127).
pub fn encode_all_call(icao: Icao24, ca: u8, ic: u8) -> Result<[u8; 7], EncodeError> {
    let ca = field("capability", u32::from(ca), 7)? as u8;
    let ic = field("interrogator code", u32::from(ic), 0x7F)?;
    let a = icao.as_u32();
    let mut f = [
        11 << 3 | ca,
        (a >> 16) as u8,
        (a >> 8) as u8,
        a as u8,
        0,
        0,
        0,
    ];
    write_parity(&mut f, ic);
    Ok(f)
}

/// The first four bytes of DF4/5/20/21: DF, flight status `fs` (0–7), DR and UM zero,
/// and a 13-bit field.
fn surveillance_header(df: u8, fs: u8, code13: u16) -> Result<[u8; 4], EncodeError> {
    let fs = field("flight status", u32::from(fs), 7)? as u8;
    Ok([df << 3 | fs, 0, (code13 >> 8) as u8 & 0x1F, code13 as u8])
}

/// Builds a DF4 altitude reply (§3.1.2.6.5) with address/parity.
pub fn encode_altitude_reply(icao: Icao24, fs: u8, alt_ft: i32) -> Result<[u8; 7], EncodeError> {
    let h = surveillance_header(4, fs, encode_ac13(alt_ft)?)?;
    let mut f = [h[0], h[1], h[2], h[3], 0, 0, 0];
    write_parity(&mut f, icao.as_u32());
    Ok(f)
}

/// Builds a DF5 identity reply (§3.1.2.6.7) with address/parity.
pub fn encode_identity_reply(icao: Icao24, fs: u8, squawk: Squawk) -> Result<[u8; 7], EncodeError> {
    let h = surveillance_header(5, fs, encode_id13(squawk))?;
    let mut f = [h[0], h[1], h[2], h[3], 0, 0, 0];
    write_parity(&mut f, icao.as_u32());
    Ok(f)
}

/// Builds a DF20 Comm-B altitude reply (§3.1.2.6.6) carrying the 56-bit `mb` field.
pub fn encode_commb_altitude_reply(
    icao: Icao24,
    fs: u8,
    alt_ft: i32,
    mb: [u8; 7],
) -> Result<[u8; 14], EncodeError> {
    let h = surveillance_header(20, fs, encode_ac13(alt_ft)?)?;
    Ok(long_reply(h, mb, icao))
}

/// Builds a DF21 Comm-B identity reply (§3.1.2.6.8) carrying the 56-bit `mb` field.
pub fn encode_commb_identity_reply(
    icao: Icao24,
    fs: u8,
    squawk: Squawk,
    mb: [u8; 7],
) -> Result<[u8; 14], EncodeError> {
    let h = surveillance_header(21, fs, encode_id13(squawk))?;
    Ok(long_reply(h, mb, icao))
}

fn long_reply(h: [u8; 4], mb: [u8; 7], icao: Icao24) -> [u8; 14] {
    let mut f = [0u8; 14];
    f[..4].copy_from_slice(&h);
    f[4..11].copy_from_slice(&mb);
    write_parity(&mut f, icao.as_u32());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn icao(a: u32) -> Icao24 {
        Icao24::new(a).unwrap()
    }

    #[test]
    fn surveillance_replies_give_address_altitude_and_squawk() {
        // pyModeS tests/test_surv.py (vectors from pyModeS v2) and the 1090 MHz Riddle;
        // addresses and values as pyModeS 3.6.1 `decode` gives them.
        let c = check(&hex("20001718029FCD"), false).unwrap();
        assert_eq!((c.df, c.address), (4, AddressSource::Parity));
        assert_eq!(decode_ac13(field13(c.data())), Some(36000));

        let c = check(&hex("2A00516D492B80"), false).unwrap();
        assert_eq!((c.df, flight_status(c.data())), (5, 2));
        assert_eq!(decode_id13(field13(c.data())).unwrap().to_string(), "0356");

        let c = check(&hex("20001838CA3E51"), false).unwrap();
        assert_eq!(c.icao, icao(0xDBBD0A));
        assert_eq!(decode_ac13(field13(c.data())), Some(38000));

        let c = check(&hex("28001A1B3D5B58"), false).unwrap();
        assert_eq!(c.icao, icao(0x6EF430));
        assert_eq!(decode_id13(field13(c.data())).unwrap().to_string(), "3615");

        let c = check(&hex("A0001838CA3E51F0A8000047A6B9"), false).unwrap();
        assert_eq!((c.df, c.icao), (20, icao(0xEF649E)));
        assert_eq!(decode_ac13(field13(c.data())), Some(38000));

        let c = check(&hex("A0000638FA81C10000000081A92F"), false).unwrap();
        assert_eq!(c.icao, icao(0x484CB8));
        assert_eq!(decode_ac13(field13(c.data())), Some(9200));

        let c = check(&hex("A800161110010080E6000041C8E8"), false).unwrap();
        assert_eq!((c.df, c.icao), (21, icao(0x43A1E9)));
        assert_eq!(decode_id13(field13(c.data())).unwrap().to_string(), "2035");
    }

    #[test]
    fn all_call_with_interrogator_code_is_accepted() {
        // pyModeS tests: DF11, ICAO 484fde, CA 5, syndrome 0x16 (II/SI code).
        let c = check(&hex("5D484FDEA248F5"), false).unwrap();
        assert_eq!(
            (c.df, c.icao, c.address),
            (11, icao(0x484FDE), AddressSource::Announced)
        );
        let mut bad = hex("5D484FDEA248F5");
        bad[4] ^= 1;
        assert_eq!(check(&bad, false), Err(DropReason::BadCrc));
    }

    #[test]
    fn rejects_unsupported_formats_lengths_and_bad_parity() {
        assert_eq!(check(&[], false), Err(DropReason::BadLength));
        assert_eq!(
            check(&hex("08001838CA3E51"), false),
            Err(DropReason::UnsupportedFormat)
        );
        assert_eq!(
            check(&hex("FF001838CA3E51"), false),
            Err(DropReason::UnsupportedFormat)
        );
        assert_eq!(
            check(&hex("8D4840D6202CC371C32CE05760"), false),
            Err(DropReason::BadLength)
        );
        assert_eq!(
            check(&hex("20001838CA3E51F0A8000047A6B9"), false),
            Err(DropReason::BadLength)
        );
        // pyModeS tests: a DF17 with a bad CRC (RYR1069).
        // It is one bit (107, in the parity field) away from a valid frame.
        let f = hex("8D4CA251204994B1C36E60A5343D");
        assert_eq!(check(&f, false), Err(DropReason::BadCrc));
        let c = check(&f, true).unwrap();
        assert_eq!((c.icao, c.corrected_bit), (icao(0x4CA251), Some(107)));
        // DF18 CF=1 (non-ICAO address) is not taken as an aircraft address.
        let mut f = hex("8D4840D6202CC371C32CE0576098");
        f[0] = 18 << 3 | 1;
        write_parity(&mut f, 0);
        assert_eq!(check(&f, false), Err(DropReason::UnsupportedFormat));
        f[0] = 18 << 3 | 6;
        write_parity(&mut f, 0);
        assert_eq!(check(&f, false).map(|c| c.df), Ok(18));
    }

    #[test]
    fn single_bit_correction_repairs_df17_only_when_asked() {
        // 1090 MHz Riddle: KLM1023 identification, one bit flipped in the callsign.
        let good = hex("8D4840D6202CC371C32CE0576098");
        let mut f = good.clone();
        f[7] ^= 0x04;
        assert_eq!(check(&f, false), Err(DropReason::BadCrc));
        let c = check(&f, true).unwrap();
        assert_eq!(c.data(), &good[..]);
        assert_eq!(c.corrected_bit, Some(7 * 8 + 5));
        // A flipped DF bit is not "corrected" into a DF17.
        let mut f = good.clone();
        f[0] ^= 0x08; // DF 17 -> 16: a valid-length DF16 with a non-zero syndrome
        assert_eq!(
            check(&f, true).map(|c| c.address),
            Ok(AddressSource::Parity)
        );
    }

    #[test]
    fn altitude_codes() {
        // Q=1: pyModeS tests/test_altcode_gray.py, AC 0x1030 → 25000 ft.
        assert_eq!(decode_ac13(0x1030), Some(25000));
        assert_eq!(decode_ac13(0), None);
        assert_eq!(decode_ac13(0x1030 | bits13::M), None);
        // Gillham: pyModeS tests, C1=1 C2=0 C4=1 is illegal.
        assert_eq!(decode_ac13((1 << 12) | (1 << 8)), None);
        // Gillham 100-ft counts 1..5 are C1 C2 C4 = 001 011 010 110 100 (Annex 10 Vol IV
        // §3.1.1.7.12.2.3): with n500 = 0, C4 alone is -1200 ft and C1 alone -800 ft.
        assert_eq!(decode_ac13(bits13::C4), Some(-1200));
        assert_eq!(decode_ac13(bits13::C1), Some(-800));
        // 126 700 ft, the top of the Gillham range.
        assert_eq!(decode_ac13(encode_ac13(126_700).unwrap()), Some(126_700));
        assert_eq!(encode_ac13(25000), Ok(0x1030));
        assert!(encode_ac13(-1001).is_err());
        assert!(encode_ac13(126_701).is_err());
    }

    #[test]
    fn encoders_build_replies_that_check() {
        let a = icao(0x4840D6);
        let f = encode_all_call(a, 5, 0x16).unwrap();
        let c = check(&f, false).unwrap();
        assert_eq!((c.df, c.icao), (11, a));
        // pyModeS tests: the 484fde all-call rebuilt byte for byte.
        assert_eq!(
            encode_all_call(icao(0x484FDE), 5, 0x16).unwrap().to_vec(),
            hex("5D484FDEA248F5")
        );
        let f = encode_altitude_reply(icao(0xDBBD0A), 0, 38000).unwrap();
        assert_eq!(f.to_vec(), hex("20001838CA3E51"));
        let f = encode_identity_reply(icao(0x6EF430), 0, Squawk::new(0o3615).unwrap()).unwrap();
        assert_eq!(f.to_vec(), hex("28001A1B3D5B58"));
        let mb = [0xCA, 0x3E, 0x51, 0xF0, 0xA8, 0x00, 0x00];
        let f = encode_commb_altitude_reply(icao(0xEF649E), 0, 38000, mb).unwrap();
        assert_eq!(f.to_vec(), hex("A0001838CA3E51F0A8000047A6B9"));
        assert!(encode_all_call(a, 8, 0).is_err());
        assert!(encode_identity_reply(a, 9, Squawk::new(0).unwrap()).is_err());
    }

    proptest! {
        #[test]
        fn check_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..20), fix: bool) {
            let _ = check(&bytes, fix);
        }

        #[test]
        fn ac13_round_trips(alt in -1000i32..=126_700) {
            let code = encode_ac13(alt).unwrap();
            let back = decode_ac13(code).unwrap();
            let step = if alt + 1000 + 12 < 2048 * 25 { 25 } else { 100 };
            prop_assert!((back - alt).abs() <= step / 2, "{} -> {}", alt, back);
            prop_assert_eq!(decode_ac13(ac12_to_ac13(ac13_to_ac12(code))), Some(back));
        }

        #[test]
        fn ac13_decode_never_panics(code: u16) {
            let _ = decode_ac13(code);
        }

        #[test]
        fn id13_round_trips(v in 0u16..=0o7777) {
            let s = Squawk::new(v).unwrap();
            prop_assert_eq!(decode_id13(encode_id13(s)), Some(s));
        }

        #[test]
        fn surveillance_replies_round_trip(a in 0u32..0x100_0000, alt in -1000i32..=50_175, sq in 0u16..=0o7777, fs in 0u8..8) {
            let a = Icao24::new(a).unwrap();
            let c = check(&encode_altitude_reply(a, fs, alt).unwrap(), false).unwrap();
            prop_assert_eq!((c.df, c.icao, flight_status(c.data())), (4, a, fs));
            prop_assert_eq!(decode_ac13(field13(c.data())), Some((alt + 1000 + 12).div_euclid(25) * 25 - 1000));
            let s = Squawk::new(sq).unwrap();
            let c = check(&encode_commb_identity_reply(a, fs, s, [0; 7]).unwrap(), false).unwrap();
            prop_assert_eq!((c.df, c.icao), (21, a));
            prop_assert_eq!(decode_id13(field13(c.data())), Some(s));
        }
    }
}
