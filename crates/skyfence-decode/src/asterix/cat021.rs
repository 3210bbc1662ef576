//! CAT021, ADS-B target reports (EUROCONTROL ASTERIX Part 12, editions 2.1–2.7).

use skyfence_core::{GeoPoint, Icao24, Squawk};

use super::record::Fields;
use super::{Report, be_i16, be_i24, be_i32, be_u16, be_u24, callsign_6bit};

pub(super) const I010: usize = 1;
pub(super) const I040: usize = 2;
pub(super) const I161: usize = 3;
pub(super) const I071: usize = 5;
pub(super) const I130: usize = 6;
pub(super) const I131: usize = 7;
pub(super) const I072: usize = 8;
pub(super) const I080: usize = 11;
pub(super) const I073: usize = 12;
pub(super) const I075: usize = 14;
pub(super) const I140: usize = 16;
pub(super) const I090: usize = 17;
pub(super) const I070: usize = 19;
pub(super) const I145: usize = 21;
pub(super) const I160: usize = 26;
pub(super) const I077: usize = 28;
pub(super) const I170: usize = 29;
pub(super) const I020: usize = 30;

/// Reads a walked CAT021 record into `r`.
pub(super) fn read(f: &Fields<'_>, r: &mut Report) {
    // The time of the position if given, else of the report (LSB 1/128 s).
    r.time_of_day = [I073, I071, I075, I072, I077]
        .into_iter()
        .find_map(|frn| f.fixed::<3>(frn))
        .map(be_u24);
    if let Some(b) = f.get(I040) {
        // ATP ARC RC RAB FX; first extension DCR GBS SIM TST ...
        r.simulated = b.len() > 1 && b[1] & 0x20 != 0;
        r.test = b.len() > 1 && b[1] & 0x10 != 0;
    }
    if let Some(b) = f.fixed::<2>(I161) {
        r.track_number = Some(u32::from(be_u16(b) & 0x0fff));
    }
    let position = if let Some(b) = f.fixed::<8>(I131) {
        // High resolution: LSB 180/2^30 degrees.
        let lsb = 180.0 / f64::from(1u32 << 30);
        Some((
            f64::from(be_i32([b[0], b[1], b[2], b[3]])) * lsb,
            f64::from(be_i32([b[4], b[5], b[6], b[7]])) * lsb,
        ))
    } else {
        f.fixed::<6>(I130).map(|b| {
            // LSB 180/2^23 degrees.
            let lsb = 180.0 / f64::from(1u32 << 23);
            (
                f64::from(be_i24([b[0], b[1], b[2]])) * lsb,
                f64::from(be_i24([b[3], b[4], b[5]])) * lsb,
            )
        })
    };
    if let Some((lat, lon)) = position
        && (-90.0..=90.0).contains(&lat)
        && (-180.0..=180.0).contains(&lon)
    {
        r.position = Some(GeoPoint::new(lat, lon));
    }
    if let Some(b) = f.fixed::<3>(I080) {
        r.address = Icao24::new(be_u24(b));
    }
    if let Some(b) = f.fixed::<2>(I140) {
        // Geometric height, LSB 6.25 ft.
        r.geometric_height_ft = Some(f32::from(be_i16(b)) * 6.25);
    }
    if let Some(b) = f.get(I090) {
        // NUCr/NACv (8-6), NUCp/NIC (5-2), FX; extension NICbaro (8), SIL (7-6), NACp (5-2).
        r.nic = Some((b[0] >> 1) & 0x0f);
        if let Some(e) = b.get(1) {
            r.sil = Some((e >> 5) & 0x03);
            r.nacp = Some((e >> 1) & 0x0f);
        }
    }
    if let Some(b) = f.fixed::<2>(I070) {
        r.mode3a = Squawk::new(be_u16(b) & 0x0fff);
    }
    if let Some(b) = f.fixed::<2>(I145) {
        r.flight_level = Some(f32::from(be_i16(b)) / 4.0);
    }
    if let Some(b) = f.fixed::<4>(I160) {
        // RE (bit 16), ground speed LSB 2^-14 NM/s; track angle LSB 360/2^16 degrees.
        if b[0] & 0x80 == 0 {
            let gs = be_u16([b[0], b[1]]) & 0x7fff;
            r.ground_speed_kt = Some((f64::from(gs) * 3600.0 / 16384.0) as f32);
            r.track_deg = Some((f64::from(be_u16([b[2], b[3]])) * 360.0 / 65536.0) as f32);
        }
    }
    if let Some(b) = f.fixed::<6>(I170) {
        r.callsign = callsign_6bit(b);
    }
    if let Some([ecat]) = f.fixed::<1>(I020) {
        r.emitter_category = Some(ecat);
    }
}
