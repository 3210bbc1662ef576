//! The one registry of sensor formats: every place that names a format (`FMT:PATH`
//! inputs of `decode` and `analyze`, `[[source]] type` of `run`, replay sources, the
//! simulator's `--formats`) looks it up here, so a new format is one codec module and
//! one entry in [`FORMATS`].
//!
//! An entry says what the format is called, what it carries, whether its times come
//! from a receiver clock (then `--start` anchors them), how to build its [`Codec`],
//! which [`Protocol`] its records are, whether it can be a live source (a receiver
//! serves or pushes it over TCP), and how the simulator writes it, if it can.

use std::fmt;

use skyfence_core::{Protocol, Timestamp};

use crate::codec::{ClockOptions, Codec};
use crate::{Frame, Message, asterix, avr, beast, capture, raw, remoteid, sbs};

/// How the simulator encodes a format.
#[derive(Clone, Copy, Debug)]
pub enum Encode {
    /// Each received frame as bytes.
    FrameBytes(fn(&Frame, &mut Vec<u8>)),
    /// Each received frame as text.
    FrameText(fn(&Frame, &mut String)),
    /// Each decoded message as text; the function returns false for messages the
    /// format cannot express (nothing written).
    MessageText(fn(&Message, &mut String) -> bool),
}

/// How the simulator writes a format: the file, what it starts with, each record.
#[derive(Clone, Copy, Debug)]
pub struct Writer {
    /// The file name in the simulator's output directory.
    pub file_name: &'static str,
    /// Written once at the start of the file.
    pub header: &'static str,
    /// The encoder of each record.
    pub encode: Encode,
}

/// One sensor format of the registry.
pub struct Format {
    /// Its name in `FMT:PATH`, `[[source]] type` and `--formats` (lowercase).
    pub name: &'static str,
    /// One line on what it is, for help texts and error messages.
    pub description: &'static str,
    /// Whether message times come from a receiver clock that `--start` anchors (else
    /// each record carries its own absolute time).
    pub receiver_clock: bool,
    /// The protocol of its records.
    pub protocol: Protocol,
    /// Whether it can be a live `[[source]]` (`connect` or `listen`): receivers serve
    /// or push it over TCP, or send it in UDP datagrams (ASTERIX, Remote ID lines). Any
    /// format can be replayed from a file.
    pub live: bool,
    /// Builds a codec at the start of a stream.
    pub codec: fn(ClockOptions) -> Box<dyn Codec>,
    /// How the simulator writes it; `None` when it cannot.
    pub writer: Option<Writer>,
}

impl Format {
    /// A codec at the start of a stream, reading receiver timestamps per `clock`.
    pub fn codec(&self, clock: ClockOptions) -> Box<dyn Codec> {
        (self.codec)(clock)
    }
}

impl PartialEq for Format {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for Format {}

impl fmt::Debug for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Format({})", self.name)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// `raw`: `TIMESTAMP,HEX` lines ([`crate::raw`]).
pub static RAW: Format = Format {
    name: "raw",
    description: "TIMESTAMP,HEX lines (Unix seconds, Mode S frame in hex)",
    receiver_clock: false,
    protocol: Protocol::ModeS,
    live: false,
    codec: |_| Box::new(raw::RawDecoder::new()),
    writer: Some(Writer {
        file_name: "raw.csv",
        header: "timestamp,rawmsg\n",
        encode: Encode::FrameText(raw::encode_raw_line),
    }),
};

/// `beast`: Beast binary ([`crate::beast`]), receivers' TCP port 30005.
pub static BEAST: Format = Format {
    name: "beast",
    description: "Beast binary (receivers' port 30005, pushed to 30104)",
    receiver_clock: true,
    protocol: Protocol::ModeS,
    live: true,
    codec: |clock| Box::new(beast::BeastDecoder::new(clock.beast_clock())),
    writer: Some(Writer {
        file_name: "beast.bin",
        header: "",
        encode: Encode::FrameBytes(beast::encode_beast),
    }),
};

/// `avr`: AVR text ([`crate::avr`]), TCP port 30002.
pub static AVR: Format = Format {
    name: "avr",
    description: "AVR text, *HEX; and @TTTTTTTTTTTTHEX; lines (port 30002)",
    receiver_clock: true,
    protocol: Protocol::ModeS,
    live: true,
    codec: |clock| Box::new(avr::AvrDecoder::new(clock.beast_clock())),
    writer: Some(Writer {
        file_name: "avr.txt",
        header: "",
        encode: Encode::FrameText(avr::encode_avr),
    }),
};

/// `sbs`: SBS-1 BaseStation CSV ([`crate::sbs`]), TCP port 30003: already decoded.
pub static SBS: Format = Format {
    name: "sbs",
    description: "SBS-1 BaseStation CSV, already decoded (port 30003)",
    receiver_clock: false,
    protocol: Protocol::ModeS,
    live: true,
    codec: |_| Box::new(sbs::SbsDecoder::new()),
    writer: Some(Writer {
        file_name: "sbs.csv",
        header: "",
        encode: Encode::MessageText(sbs::encode_sbs),
    }),
};

/// `asterix`: concatenated ASTERIX data blocks ([`crate::asterix`]; CAT 021, 034, 048,
/// 062) as recorded from a UDP feed; times of day on the date of `--start`.
pub static ASTERIX: Format = Format {
    name: "asterix",
    description: "ASTERIX data blocks (CAT 021, 034, 048, 062) as recorded from a feed; times of day on the date of --start",
    receiver_clock: true,
    protocol: Protocol::Asterix,
    // Radar feeds are UDP datagrams of whole data blocks (`[[source]] listen`).
    live: true,
    codec: |clock| {
        Box::new(asterix::AsterixDecoder::new(
            clock.start.unwrap_or(Timestamp::EPOCH),
        ))
    },
    writer: None,
};

/// `pcap`: pcap or pcapng captures ([`crate::capture`]) of UDP datagrams carrying
/// ASTERIX, or of Bluetooth LE / 802.11 frames carrying Remote ID; each record's time is
/// its packet's capture time. Its `protocol` names the UDP case; records say their own.
pub static PCAP: Format = Format {
    name: "pcap",
    description: "pcap or pcapng capture: ASTERIX in UDP payloads, Remote ID in Bluetooth LE or 802.11 frames; times are the packets' capture times",
    receiver_clock: false,
    protocol: Protocol::Asterix,
    live: false,
    codec: |_| Box::new(capture::PcapDecoder::new()),
    writer: None,
};

/// `remoteid`: received Remote ID records as text lines ([`crate::remoteid::line`]).
pub static REMOTEID: Format = Format {
    name: "remoteid",
    description: "TIMESTAMP,RECEIVER,RSSI,TRANSMITTER,HEX lines (Remote ID message or message pack)",
    receiver_clock: false,
    protocol: Protocol::RemoteId,
    // Receivers that forward Remote ID as text lines, over TCP or UDP.
    live: true,
    codec: |_| Box::new(remoteid::line::RemoteIdLineDecoder::new()),
    writer: None,
};

/// Every format, in the order help texts and error messages list them.
pub static FORMATS: &[&Format] = &[&RAW, &BEAST, &AVR, &SBS, &ASTERIX, &PCAP, &REMOTEID];

/// The format called `name` (ASCII case-insensitive).
pub fn lookup(name: &str) -> Option<&'static Format> {
    FORMATS
        .iter()
        .copied()
        .find(|f| f.name.eq_ignore_ascii_case(name))
}

/// The names of the formats `filter` keeps, as "a, b or c" for error messages.
pub fn names_where(filter: impl Fn(&Format) -> bool) -> String {
    let names: Vec<&str> = FORMATS
        .iter()
        .filter(|f| filter(f))
        .map(|f| f.name)
        .collect();
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Every format's name, as "raw, beast, avr, sbs, asterix, pcap or remoteid".
pub fn names() -> String {
    names_where(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Item;

    #[test]
    fn names_are_unique_lowercase_and_listed_in_order() {
        let mut seen = std::collections::HashSet::new();
        for f in FORMATS {
            assert!(seen.insert(f.name), "{} twice", f.name);
            assert_eq!(f.name, f.name.to_ascii_lowercase());
            assert_eq!(lookup(&f.name.to_ascii_uppercase()), Some(*f));
        }
        assert_eq!(names(), "raw, beast, avr, sbs, asterix, pcap or remoteid");
        assert_eq!(
            names_where(|f| f.live),
            "beast, avr, sbs, asterix or remoteid"
        );
        assert_eq!(lookup("mlat"), None);
    }

    /// What each format's simulator encoder writes, its codec reads back: the same frame
    /// (or message) and nothing dropped.
    #[test]
    fn every_writer_round_trips_through_its_codec() {
        let at = Timestamp::from_secs(1_700_000_000);
        // KLM1023's identification ("The 1090 Megahertz Riddle").
        let bytes = [
            0x8d, 0x48, 0x40, 0xd6, 0x20, 0x2c, 0xc3, 0x71, 0xc3, 0x2c, 0xe0, 0x57, 0x60, 0x98,
        ];
        let mut frame = Frame::new(at, &bytes).unwrap();
        // Beast and AVR carry the 12 MHz counter; it read 0 an hour before.
        let start = at.add_micros(-3_600_000_000);
        frame.counter = Some(beast::counter_12mhz(at, start));
        let mut decoder = crate::decoder::Decoder::new(Default::default());
        let message = decoder.decode(&frame).unwrap();
        for f in FORMATS {
            let Some(w) = f.writer else { continue };
            let mut out = w.header.as_bytes().to_vec();
            let mut text = String::new();
            match w.encode {
                Encode::FrameBytes(e) => e(&frame, &mut out),
                Encode::FrameText(e) => e(&frame, &mut text),
                Encode::MessageText(e) => assert!(e(&message, &mut text)),
            }
            out.extend_from_slice(text.as_bytes());
            let clock = ClockOptions {
                start: Some(start),
                gps: false,
            };
            let (items, drops) = crate::codec::decode_all(&mut *f.codec(clock), &out);
            assert_eq!(drops.total_messages(), 0, "{}", f.name);
            assert_eq!(items.len(), 1, "{}", f.name);
            match &items[0] {
                Item::Frame(g) => {
                    assert_eq!(g.data(), &bytes, "{}", f.name);
                    assert_eq!(g.at, at, "{}", f.name);
                }
                Item::Decoded(m) => {
                    assert_eq!(m.icao24, message.icao24, "{}", f.name);
                    assert_eq!(m.callsign, message.callsign, "{}", f.name);
                }
                Item::Asterix(a) => panic!("{}: a Mode S frame read back as {a:?}", f.name),
                Item::RemoteId(r) => panic!("{}: a Mode S writer gave {r:?}", f.name),
            }
        }
    }
}
