//! SBS-1 BaseStation CSV, the already-decoded text that dump1090, readsb and
//! mlat-client serve on TCP port 30003.
//!
//! A transmission line has 22 comma-separated fields (Kinetic's BaseStation socket
//! format; readsb `net_io.c` `modesSendSBSOutput` writes it so):
//!
//! | # | field | skyfence |
//! |---|---|---|
//! | 1 | record type `MSG` | required |
//! | 2 | transmission type 1–8 | required |
//! | 3, 4, 6 | session, aircraft and flight ids | ignored |
//! | 5 | ICAO address, 6 hex digits | [`Message::icao24`] |
//! | 7, 8 | date and time generated, `2023/11/14`, `22:21:03.120`, read as UTC | [`Message::at`] |
//! | 9, 10 | date and time logged | ignored |
//! | 11 | callsign | [`Message::callsign`] |
//! | 12 | altitude, feet (readsb `--gnss` appends `H` for GNSS height) | [`Message::alt_ft`] (or `alt_geom_ft` with `H`) |
//! | 13 | ground speed, knots | [`Message::gs_kt`] |
//! | 14 | track, degrees | [`Message::track_deg`] |
//! | 15, 16 | latitude, longitude, degrees | [`Message::position`] |
//! | 17 | vertical rate, ft/min (`H` suffix: GNSS rate) | [`Message::vrate_fpm`] |
//! | 18 | squawk, 4 octal digits | [`Message::squawk`] |
//! | 19–22 | alert, emergency, SPI, on-ground flags | ignored |
//!
//! Empty fields are absent values; lines with fewer than 22 fields are accepted when
//! they reach field 10 (missing trailing fields are empty). A position needs both
//! latitude and longitude; `0,0` is treated as absent (readsb does so too). Decoded
//! messages have no `df`, `tc`, `cpr` or `raw`.
//!
//! Drops: the other record types (`SEL`, `ID`, `AIR`, `STA`, `CLK`) are
//! [`DropReason::SkippedRecord`]; a line whose generated date or time cannot be read is
//! [`DropReason::BadTimestamp`]; any other malformed line (unknown record type, type
//! outside 1–8, bad address, a field that does not parse or is out of range) is
//! [`DropReason::Unparsable`]; lines longer than 512 bytes are [`DropReason::Garbage`].
//! Blank lines (readsb's heartbeat) are ignored.

use std::fmt::Write as _;

use skyfence_core::{Callsign, GeoPoint, Icao24, Squawk, Timestamp};

use crate::text::{Line, LineSplitter, days_from_civil, hex_u64};
use crate::{DropCounts, DropReason, Message};

/// A streaming SBS decoder: feed it chunks of any size; it keeps at most one partial
/// line between calls and allocates nothing per message.
#[derive(Clone, Debug, Default)]
pub struct SbsDecoder {
    lines: LineSplitter,
    drops: DropCounts,
}

impl SbsDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        SbsDecoder::default()
    }

    /// Decodes one whole buffer: the messages and the drop counts.
    pub fn decode_all(bytes: &[u8]) -> (Vec<Message>, DropCounts) {
        let mut d = SbsDecoder::new();
        let mut messages = Vec::with_capacity(bytes.len() / 100);
        let mut push = |m| messages.push(m);
        d.decode(bytes, &mut push);
        d.finish(&mut push);
        (messages, d.drops)
    }

    /// Decodes the next chunk, calling `out` for every message.
    pub fn decode(&mut self, chunk: &[u8], out: &mut impl FnMut(Message)) {
        let drops = &mut self.drops;
        self.lines.feed(chunk, |line| handle_line(drops, line, out));
    }

    /// Ends the stream: a last line without a terminator is decoded as well.
    pub fn finish(&mut self, out: &mut impl FnMut(Message)) {
        let drops = &mut self.drops;
        self.lines.finish(|line| handle_line(drops, line, out));
    }

    /// What was dropped so far, by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }
}

fn handle_line(drops: &mut DropCounts, line: Line<'_>, out: &mut impl FnMut(Message)) {
    match line {
        Line::Overlong(n) => drops.add_n(DropReason::Garbage, n as u64),
        Line::Text(text) => {
            let text = text.trim_ascii();
            if text.is_empty() {
                return;
            }
            match parse_line(text) {
                Ok(m) => out(m),
                Err(reason) => drops.add(reason),
            }
        }
    }
}

/// Parses one SBS line (without its line terminator).
///
/// # Errors
/// The [`DropReason`] the line counts under (see the module documentation).
pub fn parse_line(line: &[u8]) -> Result<Message, DropReason> {
    let mut fields = [&[][..]; 22];
    let mut count = 0;
    for f in line.split(|&b| b == b',') {
        if count == fields.len() {
            return Err(DropReason::Unparsable);
        }
        fields[count] = f.trim_ascii();
        count += 1;
    }
    match fields[0] {
        b"MSG" => {}
        b"SEL" | b"ID" | b"AIR" | b"STA" | b"CLK" => return Err(DropReason::SkippedRecord),
        _ => return Err(DropReason::Unparsable),
    }
    if count < 10 {
        return Err(DropReason::Unparsable);
    }
    let bad = DropReason::Unparsable;
    if !matches!(fields[1], [b'1'..=b'8']) {
        return Err(bad);
    }
    let icao = match fields[4] {
        hex if hex.len() == 6 => hex_u64(hex).and_then(|a| Icao24::new(a as u32)),
        _ => None,
    }
    .ok_or(bad)?;
    let at = parse_date_time(fields[6], fields[7]).ok_or(DropReason::BadTimestamp)?;
    let mut m = Message::new(at, icao);
    if !fields[10].is_empty() {
        m.callsign = Some(Callsign::new(fields[10]).ok_or(bad)?);
    }
    if let Some(alt) = non_empty(fields[11]) {
        match alt.strip_suffix(b"H") {
            Some(geom) => m.alt_geom_ft = Some(parse_int(geom, -2_000, 200_000).ok_or(bad)?),
            None => m.alt_ft = Some(parse_int(alt, -2_000, 200_000).ok_or(bad)?),
        }
    }
    if let Some(gs) = non_empty(fields[12]) {
        m.gs_kt = Some(parse_float(gs, 0.0, 5_000.0).ok_or(bad)? as f32);
    }
    if let Some(track) = non_empty(fields[13]) {
        m.track_deg = Some(
            parse_float(track, -360.0, 360.0)
                .ok_or(bad)?
                .rem_euclid(360.0) as f32,
        );
    }
    match (non_empty(fields[14]), non_empty(fields[15])) {
        (Some(lat), Some(lon)) => {
            let lat = parse_float(lat, -90.0, 90.0).ok_or(bad)?;
            let lon = parse_float(lon, -180.0, 180.0).ok_or(bad)?;
            if lat != 0.0 || lon != 0.0 {
                m.position = Some(GeoPoint::new(lat, lon));
            }
        }
        (None, None) => {}
        _ => return Err(bad),
    }
    if let Some(rate) = non_empty(fields[16]) {
        let rate = rate.strip_suffix(b"H").unwrap_or(rate);
        m.vrate_fpm = Some(parse_int(rate, -100_000, 100_000).ok_or(bad)?);
    }
    if let Some(squawk) = non_empty(fields[17]) {
        m.squawk = Some(parse_squawk(squawk).ok_or(bad)?);
    }
    Ok(m)
}

fn non_empty(field: &[u8]) -> Option<&[u8]> {
    (!field.is_empty()).then_some(field)
}

/// `2023/11/14` (or `2023-11-14`) and `22:21:03[.fraction]`, as UTC.
fn parse_date_time(date: &[u8], time: &[u8]) -> Option<Timestamp> {
    let num = |t: &[u8]| -> Option<u32> {
        if t.is_empty() || t.len() > 4 || !t.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(t.iter().fold(0, |a, &d| a * 10 + u32::from(d - b'0')))
    };
    let mut parts = date.split(|&b| b == b'/' || b == b'-');
    let (y, mo, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 {
        return None;
    }
    let days = days_from_civil(i64::from(num(y)?), num(mo)?, num(d)?)?;
    let (hms, frac) = match time.iter().position(|&b| b == b'.') {
        Some(i) => (&time[..i], &time[i + 1..]),
        None => (time, &[][..]),
    };
    let mut parts = hms.split(|&b| b == b':');
    let (h, mi, s) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let (h, mi, s) = (num(h)?, num(mi)?, num(s)?);
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut micros = 0i64;
    for i in 0..6 {
        micros = micros * 10 + frac.get(i).map_or(0, |&d| i64::from(d - b'0'));
    }
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + s);
    Some(Timestamp::from_micros(secs * 1_000_000 + micros))
}

fn parse_int(text: &[u8], min: i32, max: i32) -> Option<i32> {
    let v: i32 = std::str::from_utf8(text).ok()?.parse().ok()?;
    (min..=max).contains(&v).then_some(v)
}

fn parse_float(text: &[u8], min: f64, max: f64) -> Option<f64> {
    let v: f64 = std::str::from_utf8(text).ok()?.parse().ok()?;
    (v.is_finite() && (min..=max).contains(&v)).then_some(v)
}

/// Four octal digits written as a decimal number (`7700`), as BaseStation writes them.
fn parse_squawk(text: &[u8]) -> Option<Squawk> {
    if text.len() != 4 || !text.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    Squawk::new(
        text.iter()
            .fold(0u16, |a, &d| (a << 3) | u16::from(d - b'0')),
    )
}

/// The BaseStation transmission type for a message, as readsb chooses it: from the
/// downlink format and type code when known (DF4/20 → 5, DF5/21 → 6, DF0/16 → 7,
/// DF11 → 8; DF17/18: TC 1–4 → 1, 5–8 → 2, 9–18 and 20–22 → 3, 19 → 4), otherwise from
/// the fields present (callsign → 1, position → 3, velocity → 4, squawk → 6,
/// altitude → 5, none → 8). `None` for a message BaseStation has no type for
/// (e.g. DF17 TC 28 or 31).
pub fn sbs_message_type(m: &Message) -> Option<u8> {
    match (m.df, m.tc) {
        (Some(4 | 20), _) => Some(5),
        (Some(5 | 21), _) => Some(6),
        (Some(0 | 16), _) => Some(7),
        (Some(11), _) => Some(8),
        (Some(17 | 18), Some(1..=4)) => Some(1),
        (Some(17 | 18), Some(5..=8)) => Some(2),
        (Some(17 | 18), Some(9..=18 | 20..=22)) => Some(3),
        (Some(17 | 18), Some(19)) => Some(4),
        (Some(_), _) => None,
        (None, _) => Some(if m.callsign.is_some() {
            1
        } else if m.position.is_some() {
            3
        } else if m.gs_kt.is_some() || m.track_deg.is_some() || m.vrate_fpm.is_some() {
            4
        } else if m.squawk.is_some() {
            6
        } else if m.alt_ft.is_some() || m.alt_geom_ft.is_some() {
            5
        } else {
            8
        }),
    }
}

/// Appends `m` as one BaseStation line the way readsb writes it: 22 fields,
/// `MSG,T,1,1,ADDRESS,1,` then the message time as both the generated and the logged
/// date and time (`2023/11/14,22:21:03.120`, milliseconds, truncated), the fields the
/// message carries (speed and track rounded to whole numbers, latitude and longitude
/// with 6 decimals, GNSS-only altitude with an `H` suffix), the emergency flag (-1 for
/// squawks 7500/7600/7700, 0 for others), and `\r\n`. Returns `false` and writes nothing
/// when BaseStation has no transmission type for the message ([`sbs_message_type`]).
pub fn encode_sbs(m: &Message, out: &mut String) -> bool {
    let Some(kind) = sbs_message_type(m) else {
        return false;
    };
    // Writing to a String cannot fail; the results are ignored throughout.
    let _ = write!(out, "MSG,{kind},1,1,{:06X},1,", m.icao24.as_u32());
    for _generated_then_logged in 0..2 {
        let _ = m.at.write_rfc3339(&mut SbsDateTime(out), 3);
        out.push(',');
    }
    if let Some(c) = m.callsign {
        out.push_str(c.as_str());
    }
    out.push(',');
    match (m.alt_ft, m.alt_geom_ft) {
        (Some(ft), _) => {
            let _ = write!(out, "{ft}");
        }
        (None, Some(ft)) => {
            let _ = write!(out, "{ft}H");
        }
        (None, None) => {}
    }
    out.push(',');
    if let Some(gs) = m.gs_kt {
        let _ = write!(out, "{gs:.0}");
    }
    out.push(',');
    if let Some(track) = m.track_deg {
        let _ = write!(out, "{track:.0}");
    }
    out.push(',');
    if let Some(p) = m.position {
        let _ = write!(out, "{:.6},{:.6}", p.lat, p.lon);
    } else {
        out.push(',');
    }
    out.push(',');
    if let Some(rate) = m.vrate_fpm {
        let _ = write!(out, "{rate}");
    }
    out.push(',');
    if let Some(sq) = m.squawk {
        let _ = write!(out, "{sq}");
    }
    out.push_str(",,");
    if let Some(sq) = m.squawk {
        let emergency = matches!(sq.value(), 0o7500 | 0o7600 | 0o7700);
        out.push_str(if emergency { "-1" } else { "0" });
    }
    out.push_str(",,\r\n");
    true
}

/// Writes an RFC 3339 time (`2023-11-14T22:21:03.120Z`) as BaseStation's date and
/// time fields (`2023/11/14,22:21:03.120`) without an intermediate string.
struct SbsDateTime<'a>(&'a mut String);

impl std::fmt::Write for SbsDateTime<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            match c {
                '-' => self.0.push('/'),
                'T' => self.0.push(','),
                'Z' => {}
                c => self.0.push(c),
            }
        }
        Ok(())
    }
}
