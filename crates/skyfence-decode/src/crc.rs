//! The Mode S 24-bit parity (ICAO Annex 10 Vol IV §3.1.2.3.3; DO-181E §2.2.14.5).
//!
//! Every Mode S reply ends in a 24-bit parity field computed with the generator polynomial
//! `G(x) = x^24 + x^23 + … + x^10 + x^3 + 1` (0x1FFF409; written 0xFFF409 without the
//! leading term). The *syndrome* is the parity recomputed over the data bits XORed with
//! the received parity field: zero for an intact DF17/18, the interrogator code for a
//! DF11, and the aircraft address for the address/parity replies (DF0/4/5/16/20/21).
//!
//! The code is linear over GF(2) with no initial value or final XOR, so the syndrome is
//! the XOR of independent contributions of each byte at its position. [`syndrome`] uses
//! one 256-entry table per byte position (8 KB … 11 KB, fits L1): its 11 look-ups have no
//! data dependency on each other, unlike the classic byte-at-a-time loop
//! ([`syndrome_bytewise`]) whose every step waits for the previous one. The bench
//! `benches/modes.rs` measures both. A 16-bit table (256 KB per position) would not fit
//! in L1/L2 and is slower in practice.

/// The generator polynomial with its x^24 term (0xFFF409 without it).
pub const GENERATOR: u32 = 0x1FF_F409;

/// Bits of the parity field.
const MASK24: u32 = 0x00FF_FFFF;

/// Number of data bytes of a long (112-bit) frame: the positions the tables cover.
const LONG_DATA: usize = 11;

/// `POSITION_TABLES[k][b]` = `b · x^(24 + 8k) mod G`: the parity contribution of byte `b`
/// followed by `k` data bytes.
static POSITION_TABLES: [[u32; 256]; LONG_DATA] = build_position_tables();

const fn build_position_tables() -> [[u32; 256]; LONG_DATA] {
    let mut t = [[0u32; 256]; LONG_DATA];
    let mut b = 0;
    while b < 256 {
        // b · x^24 mod G, one bit at a time.
        let mut c = (b as u32) << 16;
        let mut i = 0;
        while i < 8 {
            c <<= 1;
            if c & 0x0100_0000 != 0 {
                c ^= GENERATOR;
            }
            i += 1;
        }
        t[0][b] = c & MASK24;
        b += 1;
    }
    let mut k = 1;
    while k < LONG_DATA {
        let mut b = 0;
        while b < 256 {
            // Multiply the previous contribution by x^8: one zero byte of data after it.
            let c = t[k - 1][b];
            t[k][b] = ((c << 8) & MASK24) ^ t[0][(c >> 16) as usize];
            b += 1;
        }
        k += 1;
    }
    t
}

/// The 24-bit parity of `data` (all bits of the frame before the parity field), as a
/// transmitter computes it before overlaying the address. Byte-at-a-time; used by the
/// encoders and as the reference for [`syndrome`].
pub fn parity(data: &[u8]) -> u32 {
    let t = &POSITION_TABLES[0];
    data.iter().fold(0u32, |crc, &b| {
        ((crc << 8) & MASK24) ^ t[(((crc >> 16) as u8) ^ b) as usize]
    })
}

/// The syndrome of a whole frame (data and parity field), byte-at-a-time: the reference
/// implementation that [`syndrome`] is checked against. Frames shorter than 3 bytes have
/// no parity field and give their own bytes' value.
pub fn syndrome_bytewise(frame: &[u8]) -> u32 {
    let split = frame.len().saturating_sub(3);
    let (data, pi) = frame.split_at(split);
    let received = pi.iter().fold(0u32, |a, &b| (a << 8) | u32::from(b));
    parity(data) ^ received
}

/// The syndrome of a 56-bit (7-byte) frame.
#[inline]
pub fn syndrome_short(f: &[u8; 7]) -> u32 {
    let t = &POSITION_TABLES;
    t[3][f[0] as usize]
        ^ t[2][f[1] as usize]
        ^ t[1][f[2] as usize]
        ^ t[0][f[3] as usize]
        ^ (u32::from(f[4]) << 16 | u32::from(f[5]) << 8 | u32::from(f[6]))
}

/// The syndrome of a 112-bit (14-byte) frame.
#[inline]
pub fn syndrome_long(f: &[u8; 14]) -> u32 {
    let t = &POSITION_TABLES;
    t[10][f[0] as usize]
        ^ t[9][f[1] as usize]
        ^ t[8][f[2] as usize]
        ^ t[7][f[3] as usize]
        ^ t[6][f[4] as usize]
        ^ t[5][f[5] as usize]
        ^ t[4][f[6] as usize]
        ^ t[3][f[7] as usize]
        ^ t[2][f[8] as usize]
        ^ t[1][f[9] as usize]
        ^ t[0][f[10] as usize]
        ^ (u32::from(f[11]) << 16 | u32::from(f[12]) << 8 | u32::from(f[13]))
}

/// The syndrome of a frame of any length: the per-position tables for 7 and 14 bytes,
/// the byte-at-a-time loop otherwise.
#[inline]
pub fn syndrome(frame: &[u8]) -> u32 {
    if let Ok(f) = <&[u8; 14]>::try_from(frame) {
        syndrome_long(f)
    } else if let Ok(f) = <&[u8; 7]>::try_from(frame) {
        syndrome_short(f)
    } else {
        syndrome_bytewise(frame)
    }
}

/// Bits of a long frame.
const LONG_BITS: usize = 112;

/// `(syndrome, bit)` for every single-bit error of a long frame, sorted by syndrome, so
/// a failed syndrome can be looked up by binary search. The syndrome of an error is the
/// syndrome of a frame with only that bit set (linearity).
static SINGLE_BIT_SYNDROMES: [(u32, u8); LONG_BITS] = build_single_bit_syndromes();

const fn build_single_bit_syndromes() -> [(u32, u8); LONG_BITS] {
    let mut out = [(0u32, 0u8); LONG_BITS];
    let tables = build_position_tables();
    let mut bit = 0;
    while bit < LONG_BITS {
        let byte = bit / 8;
        let value = 0x80u32 >> (bit % 8);
        let s = if byte < LONG_DATA {
            tables[LONG_DATA - 1 - byte][value as usize]
        } else {
            value << (8 * (13 - byte))
        };
        out[bit] = (s, bit as u8);
        bit += 1;
    }
    // Insertion sort by syndrome (const context: no slice::sort).
    let mut i = 1;
    while i < LONG_BITS {
        let mut j = i;
        while j > 0 && out[j - 1].0 > out[j].0 {
            let tmp = out[j - 1];
            out[j - 1] = out[j];
            out[j] = tmp;
            j -= 1;
        }
        i += 1;
    }
    out
}

/// The bit (0 = most significant bit of the first byte) of a 112-bit frame whose
/// inversion would explain `syndrome`, when exactly one bit in error explains it.
/// The 112 single-bit syndromes of this code are all distinct (a test checks it), so
/// the answer is unique.
pub fn single_bit_error_long(syndrome: u32) -> Option<usize> {
    SINGLE_BIT_SYNDROMES
        .binary_search_by_key(&syndrome, |&(s, _)| s)
        .ok()
        .map(|i| usize::from(SINGLE_BIT_SYNDROMES[i].1))
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

    #[test]
    fn intact_extended_squitters_have_zero_syndrome() {
        // Junzi Sun, "The 1090 Megahertz Riddle" (2nd ed.), ch. "Mode S basics" and
        // "ADS-B identification": KLM1023, ICAO 4840d6.
        let f = hex("8D4840D6202CC371C32CE0576098");
        assert_eq!(syndrome(&f), 0);
        assert_eq!(syndrome_bytewise(&f), 0);
        assert_eq!(parity(&f[..11]), 0x576098);
    }

    #[test]
    fn address_parity_replies_yield_the_address() {
        // pyModeS tests/test_surv.py (v2 vectors) and the 1090 MHz Riddle, "Mode S
        // surveillance replies"; addresses confirmed with pyModeS 3.6.1 `decode`.
        assert_eq!(syndrome(&hex("20001838CA3E51")), 0xDBBD0A);
        assert_eq!(syndrome(&hex("A0001838CA3E51F0A8000047A6B9")), 0xEF649E);
        assert_eq!(syndrome(&hex("A800161110010080E6000041C8E8")), 0x43A1E9);
    }

    #[test]
    fn all_call_syndrome_carries_the_interrogator_code() {
        // pyModeS tests (DF11 all-call reply, ICAO 484fde, capability 5); pyModeS 3.6.1
        // `crc_remainder` gives 0x16: the interrogator's II/SI code overlaid on the parity.
        assert_eq!(syndrome(&hex("5D484FDEA248F5")), 0x16);
    }

    #[test]
    fn corrupted_frame_is_detected_and_located() {
        // pyModeS tests: "8D4CA251204994B1C36E60A5343D" has a bad CRC (RYR1069).
        let f = hex("8D4CA251204994B1C36E60A5343D");
        let s = syndrome(&f);
        assert_ne!(s, 0);
        let mut good = hex("8D4840D6202CC371C32CE0576098");
        good[6] ^= 0x10; // bit 6*8+3 = 51
        let s = syndrome(&good);
        assert_eq!(single_bit_error_long(s), Some(51));
        assert_eq!(single_bit_error_long(0x123456 ^ 0x654321), None);
    }

    #[test]
    fn single_bit_syndromes_are_distinct() {
        for w in SINGLE_BIT_SYNDROMES.windows(2) {
            assert!(w[0].0 < w[1].0, "{:?}", w);
        }
    }

    proptest! {
        #[test]
        fn table_syndrome_equals_bytewise_reference(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            prop_assert_eq!(syndrome(&bytes), syndrome_bytewise(&bytes));
        }

        #[test]
        fn every_single_bit_error_is_located(bytes in proptest::array::uniform14(any::<u8>()), bit in 0usize..112) {
            let mut f = bytes;
            let p = parity(&f[..11]);
            f[11] = (p >> 16) as u8;
            f[12] = (p >> 8) as u8;
            f[13] = p as u8;
            prop_assert_eq!(syndrome_long(&f), 0);
            f[bit / 8] ^= 0x80 >> (bit % 8);
            prop_assert_eq!(single_bit_error_long(syndrome_long(&f)), Some(bit));
        }
    }
}
