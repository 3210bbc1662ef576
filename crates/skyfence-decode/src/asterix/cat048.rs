//! CAT048, monoradar target reports (EUROCONTROL ASTERIX Part 4, editions 1.27–1.32):
//! the items skyfence reads, by FRN of [`uap::CAT048`](super::uap::CAT048).

use skyfence_core::{Icao24, Squawk};

use super::record::Fields;
use super::{Detection, Polar, Report, be_i16, be_u16, be_u24, callsign_6bit};

pub(super) const I010: usize = 1;
pub(super) const I140: usize = 2;
pub(super) const I020: usize = 3;
pub(super) const I040: usize = 4;
pub(super) const I070: usize = 5;
pub(super) const I090: usize = 6;
pub(super) const I220: usize = 8;
pub(super) const I240: usize = 9;
pub(super) const I161: usize = 11;
pub(super) const I042: usize = 12;
pub(super) const I200: usize = 13;
pub(super) const I170: usize = 14;

/// Reads a walked CAT048 record into `r`.
pub(super) fn read(f: &Fields<'_>, r: &mut Report) {
    r.time_of_day = f.fixed::<3>(I140).map(be_u24);
    if let Some(b) = f.get(I020) {
        // TYP (bits 8-6), SIM (5), RDP (4), SPI (3), RAB (2), FX; extension TST in bit 8.
        r.detection = Some(Detection::from_typ(b[0] >> 5));
        r.simulated = b[0] & 0x10 != 0;
        r.test = b.len() > 1 && b[1] & 0x80 != 0;
    }
    if let Some(b) = f.fixed::<4>(I040) {
        // RHO LSB 1/256 NM, THETA LSB 360/2^16 degrees.
        r.polar = Some(Polar {
            range_nm: f64::from(be_u16([b[0], b[1]])) / 256.0,
            azimuth_deg: f64::from(be_u16([b[2], b[3]])) * 360.0 / 65536.0,
        });
    }
    if let Some(b) = f.fixed::<2>(I070) {
        // V (bit 16) not validated, G (15) garbled, L (14) smoothed; code in bits 12-1.
        if b[0] & 0xc0 == 0 {
            r.mode3a = Squawk::new(be_u16(b) & 0x0fff);
        }
    }
    if let Some(b) = f.fixed::<2>(I090) {
        // V, G, then a 14-bit two's complement flight level, LSB 1/4 FL.
        if b[0] & 0xc0 == 0 {
            let raw = (be_i16(b) << 2) >> 2;
            r.flight_level = Some(f32::from(raw) / 4.0);
        }
    }
    if let Some(b) = f.fixed::<3>(I220) {
        r.address = Icao24::new(be_u24(b));
    }
    if let Some(b) = f.fixed::<6>(I240) {
        r.callsign = callsign_6bit(b);
    }
    if let Some(b) = f.fixed::<2>(I161) {
        r.track_number = Some(u32::from(be_u16(b) & 0x0fff));
    }
    if let Some(b) = f.fixed::<4>(I042) {
        // X, Y two's complement, LSB 1/128 NM.
        r.cartesian_nm = Some((
            f64::from(be_i16([b[0], b[1]])) / 128.0,
            f64::from(be_i16([b[2], b[3]])) / 128.0,
        ));
    }
    if let Some(b) = f.fixed::<4>(I200) {
        // Ground speed LSB 2^-14 NM/s, heading LSB 360/2^16 degrees.
        r.ground_speed_kt = Some((f64::from(be_u16([b[0], b[1]])) * 3600.0 / 16384.0) as f32);
        r.track_deg = Some((f64::from(be_u16([b[2], b[3]])) * 360.0 / 65536.0) as f32);
    }
    if let Some(b) = f.get(I170) {
        // CNF (bit 8): tentative; first extension TRE (bit 8): last report of the track.
        r.track_tentative = Some(b[0] & 0x80 != 0);
        r.track_ended = Some(b.len() > 1 && b[1] & 0x80 != 0);
    }
}
