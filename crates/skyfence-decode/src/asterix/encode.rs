//! Writing ASTERIX: records from [`Report`]s for the simulator and the tests, in the
//! layout [`super::uap`] describes (the inverse of the category readers, item by item).

use super::uap::{self, Uap};
use super::{Report, Service};

/// Builds one record: items added in any order by FRN, written in UAP order behind the
/// FSPEC they imply.
pub struct RecordWriter {
    items: Vec<(usize, Vec<u8>)>,
}

impl RecordWriter {
    /// An empty record.
    pub fn new() -> Self {
        RecordWriter { items: Vec::new() }
    }

    /// Adds the item with this FRN (from 1), its bytes already encoded.
    pub fn item(&mut self, frn: usize, bytes: &[u8]) -> &mut Self {
        self.items.push((frn, bytes.to_vec()));
        self
    }

    /// Appends the record (FSPEC and items) to `out`.
    pub fn write(&mut self, out: &mut Vec<u8>) {
        self.items.sort_by_key(|(frn, _)| *frn);
        let max = self.items.last().map_or(1, |(frn, _)| *frn);
        let octets = max.div_ceil(7);
        let mut fspec = vec![0u8; octets];
        for (frn, _) in &self.items {
            fspec[(frn - 1) / 7] |= 0x80 >> ((frn - 1) % 7);
        }
        for b in &mut fspec[..octets - 1] {
            *b |= 1;
        }
        out.extend_from_slice(&fspec);
        for (_, bytes) in &self.items {
            out.extend_from_slice(bytes);
        }
    }
}

impl Default for RecordWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Appends a data block of `category` holding `records` (each FSPEC and items) to `out`.
pub fn block(category: u8, records: &[Vec<u8>], out: &mut Vec<u8>) {
    let len: usize = 3 + records.iter().map(Vec::len).sum::<usize>();
    out.push(category);
    out.extend_from_slice(&(len.min(usize::from(u16::MAX)) as u16).to_be_bytes());
    for r in records {
        out.extend_from_slice(r);
    }
}

fn frn(uap: &Uap, id: &str) -> usize {
    // The ids below are those of the tables: a miss is a bug of this module, caught by
    // its round-trip tests.
    uap.frn(id).unwrap_or(usize::MAX)
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_be_bytes();
    [b[1], b[2], b[3]]
}

/// 8 characters as 6-bit codes (the inverse of the identification readers); characters
/// outside A–Z, 0–9 and space become spaces.
fn chars_6bit(text: &str) -> [u8; 6] {
    let mut bits = 0u64;
    let bytes = text.as_bytes();
    for i in 0..8 {
        let c = bytes.get(i).copied().unwrap_or(b' ');
        let code = match c {
            b'A'..=b'Z' => c - b'A' + 1,
            b'0'..=b'9' => c,
            _ => 32,
        };
        bits = (bits << 6) | u64::from(code);
    }
    let b = bits.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

fn speed_2_14_nm_s(kt: f32) -> u16 {
    (f64::from(kt) / 3600.0 * 16384.0)
        .round()
        .clamp(0.0, 32767.0) as u16
}

fn angle_16(deg: f32) -> u16 {
    angle_16_f64(f64::from(deg))
}

fn angle_16_f64(deg: f64) -> u16 {
    (deg.rem_euclid(360.0) * 65536.0 / 360.0).round() as u32 as u16
}

fn quarter_fl(fl: f32) -> i16 {
    (f64::from(fl) * 4.0).round().clamp(-8192.0, 8191.0) as i16
}

/// A CAT048 record of `r` (the items [`super::cat048`] reads).
pub fn cat048(r: &Report) -> Vec<u8> {
    let u = &uap::CAT048;
    let mut w = RecordWriter::new();
    w.item(frn(u, "I048/010"), &[r.sac, r.sic]);
    if let Some(t) = r.time_of_day {
        w.item(frn(u, "I048/140"), &u24(t));
    }
    if let Some(d) = r.detection {
        let b0 = (d.typ() << 5) | if r.simulated { 0x10 } else { 0 };
        if r.test {
            w.item(frn(u, "I048/020"), &[b0 | 1, 0x80]);
        } else {
            w.item(frn(u, "I048/020"), &[b0]);
        }
    }
    if let Some(p) = r.polar {
        let rho = (p.range_nm * 256.0).round().clamp(0.0, 65535.0) as u16;
        let theta = angle_16_f64(p.azimuth_deg);
        let mut b = rho.to_be_bytes().to_vec();
        b.extend_from_slice(&theta.to_be_bytes());
        w.item(frn(u, "I048/040"), &b);
    }
    if let Some(s) = r.mode3a {
        w.item(frn(u, "I048/070"), &s.value().to_be_bytes());
    }
    if let Some(fl) = r.flight_level {
        let v = (quarter_fl(fl) as u16) & 0x3fff;
        w.item(frn(u, "I048/090"), &v.to_be_bytes());
    }
    if let Some(a) = r.address {
        w.item(frn(u, "I048/220"), &u24(a.as_u32()));
    }
    if let Some(c) = r.callsign {
        w.item(frn(u, "I048/240"), &chars_6bit(c.as_str()));
    }
    if let Some(n) = r.track_number {
        w.item(frn(u, "I048/161"), &((n & 0x0fff) as u16).to_be_bytes());
    }
    if let Some((x, y)) = r.cartesian_nm {
        let mut b = ((x * 128.0).round() as i16).to_be_bytes().to_vec();
        b.extend_from_slice(&((y * 128.0).round() as i16).to_be_bytes());
        w.item(frn(u, "I048/042"), &b);
    }
    if let (Some(gs), Some(trk)) = (r.ground_speed_kt, r.track_deg) {
        let mut b = speed_2_14_nm_s(gs).to_be_bytes().to_vec();
        b.extend_from_slice(&angle_16(trk).to_be_bytes());
        w.item(frn(u, "I048/200"), &b);
    }
    if let Some(tentative) = r.track_tentative {
        let b0 = if tentative { 0x80 } else { 0 };
        if r.track_ended == Some(true) {
            w.item(frn(u, "I048/170"), &[b0 | 1, 0x80]);
        } else {
            w.item(frn(u, "I048/170"), &[b0]);
        }
    }
    let mut out = Vec::new();
    w.write(&mut out);
    out
}

/// A CAT034 record of `r`'s service message.
pub fn cat034(r: &Report, s: &Service) -> Vec<u8> {
    let u = &uap::CAT034;
    let mut w = RecordWriter::new();
    w.item(frn(u, "I034/010"), &[r.sac, r.sic]);
    w.item(frn(u, "I034/000"), &[s.kind.code()]);
    if let Some(t) = r.time_of_day {
        w.item(frn(u, "I034/030"), &u24(t));
    }
    if let Some(deg) = s.sector_deg {
        let v = (f64::from(deg).rem_euclid(360.0) * 256.0 / 360.0).round() as u32 as u8;
        w.item(frn(u, "I034/020"), &[v]);
    }
    if let Some(p) = s.rotation_period_s {
        let v = (f64::from(p) * 128.0).round().clamp(0.0, 65535.0) as u16;
        w.item(frn(u, "I034/041"), &v.to_be_bytes());
    }
    if let Some(nogo) = s.nogo {
        // Primary subfield: COM only; COM octet NOGO in bit 8.
        w.item(frn(u, "I034/050"), &[0x80, if nogo { 0x80 } else { 0 }]);
    }
    let mut out = Vec::new();
    w.write(&mut out);
    out
}

/// A CAT062 record of `r`.
pub fn cat062(r: &Report) -> Vec<u8> {
    let u = &uap::CAT062;
    let mut w = RecordWriter::new();
    w.item(frn(u, "I062/010"), &[r.sac, r.sic]);
    if let Some(t) = r.time_of_day {
        w.item(frn(u, "I062/070"), &u24(t));
    }
    if let Some(p) = r.position {
        let k = f64::from(1u32 << 25) / 180.0;
        let mut b = ((p.lat * k).round() as i32).to_be_bytes().to_vec();
        b.extend_from_slice(&((p.lon * k).round() as i32).to_be_bytes());
        w.item(frn(u, "I062/105"), &b);
    }
    if let (Some(gs), Some(trk)) = (r.ground_speed_kt, r.track_deg) {
        let v = f64::from(gs) * 1852.0 / 3600.0;
        let a = f64::from(trk).to_radians();
        let vx = (v * a.sin() * 4.0).round() as i16;
        let vy = (v * a.cos() * 4.0).round() as i16;
        let mut b = vx.to_be_bytes().to_vec();
        b.extend_from_slice(&vy.to_be_bytes());
        w.item(frn(u, "I062/185"), &b);
    }
    if let Some(s) = r.mode3a {
        w.item(frn(u, "I062/060"), &s.value().to_be_bytes());
    }
    if r.address.is_some() || r.callsign.is_some() {
        // I062/380: primary ADR (bit 8), ID (bit 7).
        let mut b = vec![0u8];
        if let Some(a) = r.address {
            b[0] |= 0x80;
            b.extend_from_slice(&u24(a.as_u32()));
        }
        if let Some(c) = r.callsign {
            b[0] |= 0x40;
            b.extend_from_slice(&chars_6bit(c.as_str()));
        }
        w.item(frn(u, "I062/380"), &b);
    }
    if let Some(n) = r.track_number {
        w.item(frn(u, "I062/040"), &((n & 0xffff) as u16).to_be_bytes());
    }
    if let Some(tentative) = r.track_tentative {
        let b0 = if tentative { 0x02 } else { 0 };
        let b1 =
            if r.simulated { 0x80 } else { 0 } | if r.track_ended == Some(true) { 0x40 } else { 0 };
        if b1 != 0 {
            w.item(frn(u, "I062/080"), &[b0 | 1, b1]);
        } else {
            w.item(frn(u, "I062/080"), &[b0]);
        }
    }
    if let Some(fl) = r.flight_level {
        w.item(frn(u, "I062/136"), &quarter_fl(fl).to_be_bytes());
    }
    let mut out = Vec::new();
    w.write(&mut out);
    out
}

/// A CAT021 record of `r` (high-resolution position, time of reception of position).
pub fn cat021(r: &Report) -> Vec<u8> {
    let u = &uap::CAT021;
    let mut w = RecordWriter::new();
    w.item(frn(u, "I021/010"), &[r.sac, r.sic]);
    // Target report descriptor: ATP 24-bit address (bits 8-6 = 0), no extension needed
    // unless SIM or TST.
    if r.simulated || r.test {
        let e = if r.simulated { 0x20 } else { 0 } | if r.test { 0x10 } else { 0 };
        w.item(frn(u, "I021/040"), &[1, e]);
    } else {
        w.item(frn(u, "I021/040"), &[0]);
    }
    if let Some(n) = r.track_number {
        w.item(frn(u, "I021/161"), &((n & 0x0fff) as u16).to_be_bytes());
    }
    if let Some(p) = r.position {
        let k = f64::from(1u32 << 30) / 180.0;
        let mut b = ((p.lat * k).round() as i32).to_be_bytes().to_vec();
        b.extend_from_slice(&((p.lon * k).round() as i32).to_be_bytes());
        w.item(frn(u, "I021/131"), &b);
    }
    if let Some(a) = r.address {
        w.item(frn(u, "I021/080"), &u24(a.as_u32()));
    }
    if let Some(t) = r.time_of_day {
        w.item(frn(u, "I021/073"), &u24(t));
    }
    if let Some(h) = r.geometric_height_ft {
        w.item(
            frn(u, "I021/140"),
            &((f64::from(h) / 6.25).round() as i16).to_be_bytes(),
        );
    }
    if let Some(nic) = r.nic {
        let b0 = (nic & 0x0f) << 1;
        match (r.sil, r.nacp) {
            (None, None) => w.item(frn(u, "I021/090"), &[b0]),
            (sil, nacp) => w.item(
                frn(u, "I021/090"),
                &[
                    b0 | 1,
                    ((sil.unwrap_or(0) & 3) << 5) | ((nacp.unwrap_or(0) & 0x0f) << 1),
                ],
            ),
        };
    }
    if let Some(s) = r.mode3a {
        w.item(frn(u, "I021/070"), &s.value().to_be_bytes());
    }
    if let Some(fl) = r.flight_level {
        w.item(frn(u, "I021/145"), &quarter_fl(fl).to_be_bytes());
    }
    if let (Some(gs), Some(trk)) = (r.ground_speed_kt, r.track_deg) {
        let mut b = speed_2_14_nm_s(gs).to_be_bytes().to_vec();
        b.extend_from_slice(&angle_16(trk).to_be_bytes());
        w.item(frn(u, "I021/160"), &b);
    }
    if let Some(c) = r.callsign {
        w.item(frn(u, "I021/170"), &chars_6bit(c.as_str()));
    }
    if let Some(e) = r.emitter_category {
        w.item(frn(u, "I021/020"), &[e]);
    }
    let mut out = Vec::new();
    w.write(&mut out);
    out
}

/// The record of `r` in its category's layout; `None` for a category skyfence does not
/// write (or a CAT034 report without its service message).
pub fn record(r: &Report) -> Option<Vec<u8>> {
    match r.category {
        48 => Some(cat048(r)),
        34 => r.service.as_ref().map(|s| cat034(r, s)),
        62 => Some(cat062(r)),
        21 => Some(cat021(r)),
        _ => None,
    }
}
