//! ASTERIX (EUROCONTROL's All-purpose Structured Surveillance Information Exchange):
//! radar plots and tracks, system tracks and ADS-B reports as radar networks send them.
//!
//! A stream is a sequence of data blocks: a category octet, a two-octet length counting
//! the whole block, then records. Each record is an FSPEC (one presence bit per field
//! reference number, FX in bit 1 of each octet) followed by the announced items in UAP
//! order (ASTERIX Part 1, §4). Layers:
//!
//! - [`uap`]: the tables, one per category and edition range (the only place an item's
//!   layout is written down);
//! - [`record`]: walks a record's FSPEC and items with a table, interpreting nothing;
//! - the category modules read the items skyfence uses into a [`Report`];
//! - [`AsterixDecoder`]: the streaming codec (blocks cut anywhere across chunks), the
//!   time-of-day clock (anchored on the date of `--start`, midnight roll-over), every
//!   rejection counted by [`DropReason`];
//! - [`encode`]: the encoder the simulator and the tests write records with.
//!
//! Supported: CAT048 1.27–1.32, CAT034 1.27–1.29, CAT062 1.16–1.21, CAT021 2.1–2.7 (each
//! checked against libasterix, tests/asterix_oracle.rs).
//! Other categories are skipped whole (counted `unknown_category`); an item or subfield
//! a table does not define ends its data block (`unknown_item`): its length cannot be
//! known, so nothing after it is guessed.

pub mod associate;
mod cat021;
mod cat034;
mod cat048;
mod cat062;
pub mod encode;
pub mod observe;
pub mod record;
pub mod uap;

use skyfence_core::{Callsign, GeoPoint, Icao24, Protocol, RawRecord, Squawk, Timestamp};

use crate::{DropCounts, DropReason};

/// What a CAT048 report detected (I048/020 TYP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detection {
    /// No detection (a track coasting).
    None,
    /// Primary radar only: the target did not answer (no transponder).
    Psr,
    /// Secondary radar (Mode A/C) only.
    Ssr,
    /// Secondary and primary.
    SsrPsr,
    /// Mode S all-call.
    ModeSAllCall,
    /// Mode S roll-call.
    ModeSRollCall,
    /// Mode S all-call and primary.
    ModeSAllCallPsr,
    /// Mode S roll-call and primary.
    ModeSRollCallPsr,
}

impl Detection {
    fn from_typ(typ: u8) -> Self {
        match typ & 7 {
            0 => Detection::None,
            1 => Detection::Psr,
            2 => Detection::Ssr,
            3 => Detection::SsrPsr,
            4 => Detection::ModeSAllCall,
            5 => Detection::ModeSRollCall,
            6 => Detection::ModeSAllCallPsr,
            _ => Detection::ModeSRollCallPsr,
        }
    }

    /// The TYP code.
    pub fn typ(self) -> u8 {
        self as u8
    }

    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Detection::None => "none",
            Detection::Psr => "psr",
            Detection::Ssr => "ssr",
            Detection::SsrPsr => "ssr_psr",
            Detection::ModeSAllCall => "modes_allcall",
            Detection::ModeSRollCall => "modes_rollcall",
            Detection::ModeSAllCallPsr => "modes_allcall_psr",
            Detection::ModeSRollCallPsr => "modes_rollcall_psr",
        }
    }
}

/// A measured position relative to the radar (I048/040): slant range and azimuth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Polar {
    /// Slant range, nautical miles.
    pub range_nm: f64,
    /// Azimuth, degrees clockwise from true north.
    pub azimuth_deg: f64,
}

/// What a CAT034 service message announces (I034/000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    /// The antenna passed north.
    NorthMarker,
    /// The antenna crossed a sector boundary.
    SectorCrossing,
    /// Geographical filtering.
    GeographicalFiltering,
    /// A jamming strobe.
    JammingStrobe,
    /// Another code.
    Other(u8),
}

impl ServiceKind {
    fn from_code(code: u8) -> Self {
        match code {
            1 => ServiceKind::NorthMarker,
            2 => ServiceKind::SectorCrossing,
            3 => ServiceKind::GeographicalFiltering,
            4 => ServiceKind::JammingStrobe,
            c => ServiceKind::Other(c),
        }
    }

    /// The I034/000 code.
    pub fn code(self) -> u8 {
        match self {
            ServiceKind::NorthMarker => 1,
            ServiceKind::SectorCrossing => 2,
            ServiceKind::GeographicalFiltering => 3,
            ServiceKind::JammingStrobe => 4,
            ServiceKind::Other(c) => c,
        }
    }

    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::NorthMarker => "north_marker",
            ServiceKind::SectorCrossing => "sector_crossing",
            ServiceKind::GeographicalFiltering => "geographical_filtering",
            ServiceKind::JammingStrobe => "jamming_strobe",
            ServiceKind::Other(_) => "other",
        }
    }
}

/// A CAT034 service message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Service {
    /// What it announces.
    pub kind: ServiceKind,
    /// The sector crossed (I034/020), degrees.
    pub sector_deg: Option<f32>,
    /// The antenna rotation period (I034/041), seconds.
    pub rotation_period_s: Option<f32>,
    /// I034/050 COM NOGO: the radar's data processing is inhibited.
    pub nogo: Option<bool>,
}

/// One decoded record: the fields skyfence uses, whatever its category. Absent items are
/// `None`; values are in the units their names say.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Report {
    /// The data block's category.
    pub category: u8,
    /// System area code of the data source (I0xx/010).
    pub sac: u8,
    /// System identification code of the data source (I0xx/010).
    pub sic: u8,
    /// Time of day, 1/128 s since midnight UTC (I048/140, I062/070, I021/073…, I034/030).
    pub time_of_day: Option<u32>,
    /// CAT048: what the radar detected.
    pub detection: Option<Detection>,
    /// A simulated target (I048/020 SIM, I062/080 SIM, I021/040 SIM).
    pub simulated: bool,
    /// A test target (I048/020 TST, I021/040 TST).
    pub test: bool,
    /// CAT048: slant range and azimuth from the radar.
    pub polar: Option<Polar>,
    /// CAT048: calculated position (x east, y north) from the radar, nautical miles.
    pub cartesian_nm: Option<(f64, f64)>,
    /// CAT062/021: WGS-84 position.
    pub position: Option<GeoPoint>,
    /// Mode 3/A code (validated and not garbled, for CAT048).
    pub mode3a: Option<Squawk>,
    /// Flight level (hundreds of feet of pressure altitude; validated, for CAT048).
    pub flight_level: Option<f32>,
    /// CAT021: geometric height, feet.
    pub geometric_height_ft: Option<f32>,
    /// Mode S address (I048/220, I062/380 ADR, I021/080).
    pub address: Option<Icao24>,
    /// Aircraft identification (I048/240, I062/380 ID or I062/245, I021/170).
    pub callsign: Option<Callsign>,
    /// The sensor's track number (I048/161, I062/040, I021/161).
    pub track_number: Option<u32>,
    /// The track is tentative (I048/170, I062/080 CNF).
    pub track_tentative: Option<bool>,
    /// This is the track's last report (I048/170 TRE, I062/080 TSE).
    pub track_ended: Option<bool>,
    /// Ground speed, knots.
    pub ground_speed_kt: Option<f32>,
    /// Track over ground, degrees clockwise from true north.
    pub track_deg: Option<f32>,
    /// CAT021 emitter category (I021/020; 13 = unmanned aerial vehicle).
    pub emitter_category: Option<u8>,
    /// CAT021 NACp (I021/090).
    pub nacp: Option<u8>,
    /// CAT021 NUCp or NIC (I021/090).
    pub nic: Option<u8>,
    /// CAT021 SIL (I021/090).
    pub sil: Option<u8>,
    /// CAT034: the service message.
    pub service: Option<Service>,
}

/// I021/020 emitter category of an unmanned aerial vehicle.
pub const EMITTER_UAV: u8 = 13;

impl Report {
    /// The time of day in seconds, when the record carries one.
    pub fn time_of_day_s(&self) -> Option<f64> {
        self.time_of_day.map(|t| f64::from(t) / 128.0)
    }
}

pub(crate) fn be_u16(b: [u8; 2]) -> u16 {
    u16::from_be_bytes(b)
}

pub(crate) fn be_i16(b: [u8; 2]) -> i16 {
    i16::from_be_bytes(b)
}

pub(crate) fn be_u24(b: [u8; 3]) -> u32 {
    u32::from_be_bytes([0, b[0], b[1], b[2]])
}

pub(crate) fn be_i24(b: [u8; 3]) -> i32 {
    (u32::from_be_bytes([b[0], b[1], b[2], 0]) as i32) >> 8
}

pub(crate) fn be_i32(b: [u8; 4]) -> i32 {
    i32::from_be_bytes(b)
}

/// 8 characters of 6 bits (ICAO Annex 10 Vol IV, Table 3-9: A–Z 1–26, space 32, digits
/// 48–57); `None` when a code is outside that set, and for eight spaces (no
/// identification: the item is present but blank, as radars send for aircraft that have
/// not announced one).
pub(crate) fn callsign_6bit(b: [u8; 6]) -> Option<Callsign> {
    let bits = u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]]);
    let mut text = [b' '; 8];
    for (i, c) in text.iter_mut().enumerate() {
        let code = ((bits >> (42 - 6 * i)) & 0x3f) as u8;
        *c = match code {
            1..=26 => b'A' + code - 1,
            32 => b' ',
            48..=57 => code,
            _ => return None,
        };
    }
    if text == [b' '; 8] {
        return None;
    }
    Callsign::new(&text)
}

/// Decodes the record at the start of `data` in a block of `category`: the report and
/// the record's length.
///
/// # Errors
/// The reason the record cannot be read (see [`record::walk`]); `UnknownCategory` for a
/// category without a table; `Unparsable` for a record without its data source
/// identifier (mandatory in every supported category).
pub fn decode_record(category: u8, data: &[u8]) -> Result<(Report, usize), DropReason> {
    let uap = uap::for_category(category).ok_or(DropReason::UnknownCategory)?;
    let fields = record::walk(uap, data)?;
    let mut r = Report {
        category,
        ..Report::default()
    };
    let source = match category {
        48 => cat048::I010,
        34 => cat034::I010,
        62 => cat062::I010,
        _ => cat021::I010,
    };
    let [sac, sic] = fields.fixed::<2>(source).ok_or(DropReason::Unparsable)?;
    (r.sac, r.sic) = (sac, sic);
    match category {
        48 => cat048::read(&fields, &mut r),
        34 => cat034::read(&fields, &mut r),
        62 => cat062::read(&fields, &mut r),
        _ => cat021::read(&fields, &mut r),
    }
    Ok((r, fields.record().len()))
}

/// Decodes every record of one data block (`block` holds exactly the block, header
/// included), calling `out` with each report and the record's bytes; rejections are
/// counted in `drops`. Returns the number of records delivered.
pub fn decode_block(
    block: &[u8],
    drops: &mut DropCounts,
    out: &mut impl FnMut(&Report, &[u8]),
) -> usize {
    let [category, ..] = *block else {
        drops.add(DropReason::Truncated);
        return 0;
    };
    if uap::for_category(category).is_none() {
        drops.add(DropReason::UnknownCategory);
        return 0;
    }
    let mut pos = 3;
    let mut n = 0;
    if block.len() <= pos {
        // A block with no record at all.
        drops.add(DropReason::BadLength);
        return 0;
    }
    while pos < block.len() {
        match decode_record(category, &block[pos..]) {
            Ok((report, len)) => {
                out(&report, &block[pos..pos + len]);
                pos += len;
                n += 1;
            }
            Err(reason) => {
                // The record's end is unknown: the rest of the block cannot be read.
                drops.add(reason);
                break;
            }
        }
    }
    n
}

/// Turns records' times of day into times: on the date of an anchor, rolling over to
/// the next day when the time of day jumps back by more than 12 hours (midnight), and
/// reading a record from just before midnight that arrives after the roll-over on the
/// day before.
#[derive(Clone, Copy, Debug)]
pub struct DayClock {
    /// Midnight UTC of the current day, microseconds since the epoch.
    day_us: i64,
    /// The last time of day seen, microseconds.
    last_tod_us: Option<i64>,
    /// The last time delivered (for records without a time of their own).
    last: Option<Timestamp>,
}

const DAY_US: i64 = 86_400_000_000;

impl DayClock {
    /// A clock on the date (UTC) of `anchor`.
    pub fn new(anchor: Timestamp) -> Self {
        DayClock {
            day_us: anchor.as_micros().div_euclid(DAY_US) * DAY_US,
            last_tod_us: None,
            last: None,
        }
    }

    /// The time of a record with this time of day (1/128 s), or of a record without one
    /// (the last time seen; `None` before any).
    pub fn at(&mut self, time_of_day: Option<u32>) -> Option<Timestamp> {
        let Some(tod) = time_of_day else {
            return self.last;
        };
        // 1/128 s = 7812.5 µs: exact in 1/2 µs, rounded half up to whole microseconds.
        let tod_us = (i64::from(tod) * 15_625 + 1) / 2;
        let mut day = self.day_us;
        match self.last_tod_us {
            Some(last) if tod_us < last - DAY_US / 2 => {
                self.day_us += DAY_US;
                day = self.day_us;
                self.last_tod_us = Some(tod_us);
            }
            Some(last) if tod_us > last + DAY_US / 2 => day -= DAY_US,
            _ => self.last_tod_us = Some(tod_us),
        }
        let at = Timestamp::from_micros(day + tod_us);
        self.last = Some(at);
        Some(at)
    }
}

/// One ASTERIX record as a codec delivers it.
#[derive(Clone, Debug, PartialEq)]
pub struct AsterixItem {
    /// Its time (time of day on the anchored date).
    pub at: Timestamp,
    /// What it says.
    pub report: Report,
    /// The record as raw evidence: a data block holding only this record, so any
    /// ASTERIX decoder reads it back.
    pub raw: RawRecord,
}

/// The bytes of a data block of `category` holding only `record`.
pub fn single_record_block(category: u8, record: &[u8], out: &mut Vec<u8>) {
    let len = (record.len() + 3).min(usize::from(u16::MAX)) as u16;
    out.push(category);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(record);
}

/// The streaming ASTERIX decoder: concatenated data blocks in chunks of any size.
pub struct AsterixDecoder {
    pending: Vec<u8>,
    drops: DropCounts,
    clock: DayClock,
    records: u64,
}

impl AsterixDecoder {
    /// A decoder whose times of day fall on the date of `anchor` (UTC).
    pub fn new(anchor: Timestamp) -> Self {
        AsterixDecoder {
            pending: Vec::new(),
            drops: DropCounts::default(),
            clock: DayClock::new(anchor),
            records: 0,
        }
    }

    /// Records delivered so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// What was dropped so far, by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }

    /// Decodes the next chunk, calling `out` with each record's time, report and bytes
    /// (the record alone, without the block header). Allocates nothing unless a block is
    /// cut by the chunk's end.
    pub fn decode(&mut self, chunk: &[u8], out: &mut impl FnMut(Timestamp, &Report, &[u8])) {
        if self.pending.is_empty() {
            let used = self.blocks(chunk, out);
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            // A block was cut at the end of the last chunk: go on from it (the buffer is
            // reused, so this allocates only while it grows).
            let mut pending = std::mem::take(&mut self.pending);
            pending.extend_from_slice(chunk);
            let used = self.blocks(&pending, out);
            pending.drain(..used);
            self.pending = pending;
        }
    }

    /// Ends the stream: a block cut short is counted as truncated.
    pub fn finish(&mut self) {
        if !self.pending.is_empty() {
            self.drops.add(DropReason::Truncated);
            self.pending.clear();
        }
    }

    /// Decodes the complete blocks at the start of `data`: how many bytes were used.
    fn blocks(&mut self, data: &[u8], out: &mut impl FnMut(Timestamp, &Report, &[u8])) -> usize {
        let mut pos = 0;
        while let Some(len) = block_len(&data[pos..]) {
            if len < 3 {
                // A length shorter than the header itself: not a block boundary. Skip a
                // byte and look for the next plausible block.
                self.drops.add(DropReason::BadLength);
                self.drops.add_n(DropReason::Garbage, 1);
                pos += 1;
                continue;
            }
            if data.len() - pos < len {
                break;
            }
            let block = &data[pos..pos + len];
            let (clock, drops, records) = (&mut self.clock, &mut self.drops, &mut self.records);
            let mut no_time = 0;
            decode_block(
                block,
                drops,
                &mut |report, record| match clock.at(report.time_of_day) {
                    Some(at) => {
                        *records += 1;
                        out(at, report, record);
                    }
                    None => no_time += 1,
                },
            );
            drops.add_n(DropReason::BadTimestamp, no_time);
            pos += len;
        }
        pos
    }
}

/// Decodes the data blocks of one datagram (a UDP payload holds whole blocks), calling
/// `out` with each record; a block running past the datagram is counted as truncated.
pub fn decode_datagram(
    payload: &[u8],
    drops: &mut DropCounts,
    out: &mut impl FnMut(&Report, &[u8]),
) {
    let mut pos = 0;
    while pos < payload.len() {
        match block_len(&payload[pos..]) {
            Some(len) if len >= 3 && pos + len <= payload.len() => {
                decode_block(&payload[pos..pos + len], drops, out);
                pos += len;
            }
            Some(len) if len < 3 => {
                drops.add(DropReason::BadLength);
                return;
            }
            _ => {
                drops.add(DropReason::Truncated);
                return;
            }
        }
    }
}

/// The length a data block at the start of `data` declares, once its header is there.
fn block_len(data: &[u8]) -> Option<usize> {
    match data {
        [_, hi, lo, ..] => Some(usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// Builds the [`AsterixItem`] of a decoded record.
pub fn item(at: Timestamp, report: &Report, record: &[u8]) -> AsterixItem {
    let mut block = Vec::with_capacity(record.len() + 3);
    single_record_block(report.category, record, &mut block);
    AsterixItem {
        at,
        report: *report,
        raw: RawRecord::new(Protocol::Asterix, &block),
    }
}

/// Re-decodes raw evidence (a data block, as [`AsterixItem::raw`] holds) at its known
/// time: the report of its one record.
pub fn decode_raw(bytes: &[u8]) -> Result<Report, DropReason> {
    let len = block_len(bytes).ok_or(DropReason::Truncated)?;
    if len != bytes.len() {
        return Err(DropReason::BadLength);
    }
    let (report, used) = decode_record(bytes[0], &bytes[3..])?;
    if used + 3 != len {
        return Err(DropReason::BadLength);
    }
    Ok(report)
}

#[cfg(test)]
mod tests;
