//! CAT062, SDPS system tracks (EUROCONTROL ASTERIX Part 9, editions 1.16–1.21): fused
//! tracks already in WGS-84.

use skyfence_core::{GeoPoint, Icao24, Squawk};

use super::record::{Fields, subfield};
use super::uap::{CAT062, Fmt};
use super::{Report, be_i16, be_i32, be_u16, be_u24, callsign_6bit};

pub(super) const I010: usize = 1;
pub(super) const I070: usize = 4;
pub(super) const I105: usize = 5;
pub(super) const I185: usize = 7;
pub(super) const I060: usize = 9;
pub(super) const I245: usize = 10;
pub(super) const I380: usize = 11;
pub(super) const I040: usize = 12;
pub(super) const I080: usize = 13;
pub(super) const I136: usize = 17;

/// Subfields of I062/380 skyfence reads: target address and identification.
const ADR: usize = 0;
const ID: usize = 1;

/// Reads a walked CAT062 record into `r`.
pub(super) fn read(f: &Fields<'_>, r: &mut Report) {
    r.time_of_day = f.fixed::<3>(I070).map(be_u24);
    if let Some(b) = f.fixed::<8>(I105) {
        // Latitude, longitude: two's complement, LSB 180/2^25 degrees.
        let lsb = 180.0 / f64::from(1u32 << 25);
        let lat = f64::from(be_i32([b[0], b[1], b[2], b[3]])) * lsb;
        let lon = f64::from(be_i32([b[4], b[5], b[6], b[7]])) * lsb;
        if (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) {
            r.position = Some(GeoPoint::new(lat, lon));
        }
    }
    if let Some(b) = f.fixed::<4>(I185) {
        // Vx (east), Vy (north): two's complement, LSB 0.25 m/s.
        let vx = f64::from(be_i16([b[0], b[1]])) * 0.25;
        let vy = f64::from(be_i16([b[2], b[3]])) * 0.25;
        r.ground_speed_kt = Some((vx.hypot(vy) * 3600.0 / 1852.0) as f32);
        r.track_deg = Some(vx.atan2(vy).to_degrees().rem_euclid(360.0) as f32);
    }
    if let Some(b) = f.fixed::<2>(I060) {
        r.mode3a = Squawk::new(be_u16(b) & 0x0fff);
    }
    if let Some(b) = f.fixed::<7>(I245)
        && let Ok(chars) = <[u8; 6]>::try_from(&b[1..])
    {
        r.callsign = callsign_6bit(chars);
    }
    if let Some(item) = f.get(I380)
        && let Some(Some(Fmt::Compound(subs))) =
            CAT062.items.get(I380 - 1).map(|d| d.map(|d| d.fmt))
    {
        if let Some(adr) = subfield(subs, item, ADR).and_then(|b| <[u8; 3]>::try_from(b).ok()) {
            r.address = Icao24::new(be_u24(adr));
        }
        if let Some(id) = subfield(subs, item, ID).and_then(|b| <[u8; 6]>::try_from(b).ok()) {
            r.callsign = callsign_6bit(id).or(r.callsign);
        }
    }
    if let Some(b) = f.fixed::<2>(I040) {
        r.track_number = Some(u32::from(be_u16(b)));
    }
    if let Some(b) = f.get(I080) {
        // CNF (bit 2): tentative; first extension SIM (bit 8), TSE (bit 7): last message.
        r.track_tentative = Some(b[0] & 0x02 != 0);
        r.simulated = b.len() > 1 && b[1] & 0x80 != 0;
        r.track_ended = Some(b.len() > 1 && b[1] & 0x40 != 0);
    }
    if let Some(b) = f.fixed::<2>(I136) {
        // Two's complement, LSB 1/4 FL.
        r.flight_level = Some(f32::from(be_i16(b)) / 4.0);
    }
}
