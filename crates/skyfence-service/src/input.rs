//! Reading recordings: `FMT:PATH` input specs, the framing decoder for each format, and
//! the Mode S decoder behind it. Shared by `decode` and `analyze`.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context as _;
use skyfence_core::Timestamp;
use skyfence_decode::avr::AvrDecoder;
use skyfence_decode::beast::{BeastClock, BeastDecoder, ClockStats};
use skyfence_decode::decoder::{Decoder, DecoderConfig};
use skyfence_decode::raw::RawDecoder;
use skyfence_decode::sbs::SbsDecoder;
use skyfence_decode::{DropCounts, Frame, Message};

use crate::exit::input_error;

/// The input formats of docs/INTERFACES.md ("Input formats").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    /// `TIMESTAMP,HEX` lines.
    Raw,
    /// Beast binary.
    Beast,
    /// `*HEX;` / `@TTTTTTTTTTTTHEX;` lines.
    Avr,
    /// SBS-1 BaseStation CSV.
    Sbs,
}

impl InputFormat {
    /// The format's name as written in `FMT:PATH`.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Raw => "raw",
            InputFormat::Beast => "beast",
            InputFormat::Avr => "avr",
            InputFormat::Sbs => "sbs",
        }
    }

    /// Whether message times come from a receiver counter that `--start` anchors.
    pub fn uses_receiver_clock(self) -> bool {
        matches!(self, InputFormat::Beast | InputFormat::Avr)
    }
}

/// `FMT:PATH` as given on the command line; `PATH` `-` is standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// The format.
    pub format: InputFormat,
    /// The file, or `None` for standard input.
    pub path: Option<PathBuf>,
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}:{}", self.format.name(), p.display()),
            None => write!(f, "{}:-", self.format.name()),
        }
    }
}

impl FromStr for InputSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (fmt, path) = s
            .split_once(':')
            .ok_or_else(|| format!("input {s:?} is not FMT:PATH (e.g. raw:flight.csv, beast:-)"))?;
        let format = match fmt.to_ascii_lowercase().as_str() {
            "raw" => InputFormat::Raw,
            "beast" => InputFormat::Beast,
            "avr" => InputFormat::Avr,
            "sbs" => InputFormat::Sbs,
            other => {
                return Err(format!(
                    "unknown input format {other:?} in {s:?}: expected raw, beast, avr or sbs"
                ));
            }
        };
        if path.is_empty() {
            return Err(format!(
                "input {s:?} has no path: use FMT:PATH, or FMT:- for stdin"
            ));
        }
        let path = (path != "-").then(|| PathBuf::from(path));
        Ok(InputSpec { format, path })
    }
}

/// How receiver timestamps (Beast, AVR) become times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockOptions {
    /// The time at which the 12 MHz counter read zero (`--start`); the Unix epoch if unset.
    pub start: Option<Timestamp>,
    /// Read Beast timestamps as Radarcape GPS time of day (on the date of `start`).
    pub gps: bool,
}

impl ClockOptions {
    fn beast_clock(self) -> BeastClock {
        let start = self.start.unwrap_or(Timestamp::EPOCH);
        if self.gps {
            BeastClock::RadarcapeGps { date: start }
        } else {
            BeastClock::Counter12Mhz { start }
        }
    }
}

/// What reading one input counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct InputStats {
    /// Bytes read.
    pub bytes: u64,
    /// Frames (or SBS lines) delivered by the framing layer.
    pub frames: u64,
    /// Messages accepted by the decoder.
    pub messages: u64,
    /// Accepted messages that carried a resolved position.
    pub positions: u64,
    /// Everything dropped, by reason (framing and decoding).
    pub drops: DropCounts,
    /// Receiver clock wraps and restarts (Beast, AVR).
    pub clock: ClockStats,
    /// DF17 frames repaired by single-bit correction.
    pub corrected: u64,
    /// Aircraft the decoder still tracks at the end.
    pub aircraft: usize,
}

/// The framing decoder for one format.
enum Framer {
    Raw(RawDecoder),
    Beast(BeastDecoder),
    Avr(AvrDecoder),
    Sbs(SbsDecoder),
}

/// What a framing decoder delivers: a frame still to be decoded, or (SBS) a message
/// the receiver already decoded.
#[derive(Clone, Copy, Debug)]
pub enum Item {
    /// A Mode S frame.
    Frame(Frame),
    /// An already-decoded message.
    Decoded(Message),
}

impl Item {
    /// The item's time.
    pub fn at(&self) -> Timestamp {
        match self {
            Item::Frame(f) => f.at,
            Item::Decoded(m) => m.at,
        }
    }
}

const CHUNK: usize = 1 << 18;

/// One input being read: bytes from a file or stdin, through its framing decoder, into
/// a queue of [`Item`]s refilled a chunk at a time.
pub struct InputReader {
    spec: InputSpec,
    reader: Box<dyn Read>,
    framer: Framer,
    buf: Vec<u8>,
    queue: VecDeque<Item>,
    eof: bool,
    /// Bytes read so far.
    pub bytes: u64,
    /// Items delivered so far.
    pub items: u64,
}

impl InputReader {
    /// Opens `spec`; a missing file is a user error (exit status 2).
    pub fn open(spec: &InputSpec, clock: ClockOptions) -> anyhow::Result<Self> {
        let reader: Box<dyn Read> =
            match &spec.path {
                None => Box::new(io::stdin().lock()),
                Some(path) => Box::new(File::open(path).map_err(|e| {
                    input_error(format!("cannot open input {}: {e}", path.display()))
                })?),
            };
        let framer = match spec.format {
            InputFormat::Raw => Framer::Raw(RawDecoder::new()),
            InputFormat::Beast => Framer::Beast(BeastDecoder::new(clock.beast_clock())),
            InputFormat::Avr => Framer::Avr(AvrDecoder::new(clock.beast_clock())),
            InputFormat::Sbs => Framer::Sbs(SbsDecoder::new()),
        };
        Ok(InputReader {
            spec: spec.clone(),
            reader,
            framer,
            buf: vec![0u8; CHUNK],
            queue: VecDeque::new(),
            eof: false,
            bytes: 0,
            items: 0,
        })
    }

    /// Reads until an item is queued or the input ends.
    fn fill(&mut self) -> anyhow::Result<()> {
        while self.queue.is_empty() && !self.eof {
            let n = match self.reader.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e).with_context(|| format!("reading input {}", self.spec)),
            };
            let q = &mut self.queue;
            let mut frame = |f| q.push_back(Item::Frame(f));
            if n == 0 {
                self.eof = true;
                match &mut self.framer {
                    Framer::Raw(d) => d.finish(&mut frame),
                    Framer::Beast(d) => d.finish(),
                    Framer::Avr(d) => d.finish(&mut frame),
                    Framer::Sbs(d) => d.finish(&mut |m| q.push_back(Item::Decoded(m))),
                }
            } else {
                self.bytes += n as u64;
                let chunk = &self.buf[..n];
                match &mut self.framer {
                    Framer::Raw(d) => d.decode(chunk, &mut frame),
                    Framer::Beast(d) => d.decode(chunk, &mut frame),
                    Framer::Avr(d) => d.decode(chunk, &mut frame),
                    Framer::Sbs(d) => d.decode(chunk, &mut |m| q.push_back(Item::Decoded(m))),
                }
            }
        }
        Ok(())
    }

    /// The next item, or `None` at the end of the input.
    pub fn next_item(&mut self) -> anyhow::Result<Option<Item>> {
        self.fill()?;
        let item = self.queue.pop_front();
        self.items += u64::from(item.is_some());
        Ok(item)
    }

    /// The time of the next item, without taking it.
    pub fn peek_at(&mut self) -> anyhow::Result<Option<Timestamp>> {
        self.fill()?;
        Ok(self.queue.front().map(Item::at))
    }

    /// What the framing layer dropped, by reason.
    pub fn drops(&self) -> DropCounts {
        match &self.framer {
            Framer::Raw(d) => *d.drops(),
            Framer::Beast(d) => *d.drops(),
            Framer::Avr(d) => *d.drops(),
            Framer::Sbs(d) => *d.drops(),
        }
    }

    /// Receiver clock wraps and restarts (Beast, AVR).
    pub fn clock_stats(&self) -> ClockStats {
        match &self.framer {
            Framer::Beast(d) => d.clock_stats(),
            Framer::Avr(d) => d.clock_stats(),
            Framer::Raw(_) | Framer::Sbs(_) => ClockStats::default(),
        }
    }
}

/// Reads `spec` to its end, decoding every frame, and calls `on_message` for each
/// accepted message in input order. Stops at the first error `on_message` returns.
pub fn read_messages(
    spec: &InputSpec,
    clock: ClockOptions,
    config: DecoderConfig,
    mut on_message: impl FnMut(&Message) -> io::Result<()>,
) -> anyhow::Result<InputStats> {
    let mut input = InputReader::open(spec, clock)?;
    let mut decoder = Decoder::new(config);
    let mut stats = InputStats::default();
    while let Some(item) = input.next_item()? {
        let message = match item {
            Item::Frame(f) => match decoder.decode(&f) {
                Some(m) => m,
                None => continue,
            },
            Item::Decoded(m) => m,
        };
        stats.messages += 1;
        stats.positions += u64::from(message.position.is_some());
        on_message(&message)?;
    }
    stats.bytes = input.bytes;
    stats.frames = input.items;
    stats.clock = input.clock_stats();
    stats.drops = input.drops();
    stats.drops.merge(decoder.drops());
    stats.corrected = decoder.corrected();
    stats.aircraft = decoder.tracker().len();
    Ok(stats)
}

/// The one-line summary of an input's counts, for stderr.
pub fn summary(spec: &InputSpec, s: &InputStats) -> String {
    let mut out = format!(
        "{spec}: {} bytes, {} frames, {} messages accepted, {} with positions, {} aircraft",
        s.bytes, s.frames, s.messages, s.positions, s.aircraft
    );
    let drops: Vec<String> = s.drops.nonzero().map(|(r, n)| format!("{r}={n}")).collect();
    if drops.is_empty() {
        out.push_str("; nothing dropped");
    } else {
        out.push_str("; dropped: ");
        out.push_str(&drops.join(" "));
    }
    if s.corrected > 0 {
        out.push_str(&format!("; single-bit corrected: {}", s.corrected));
    }
    if s.clock.wraps + s.clock.restarts > 0 {
        out.push_str(&format!(
            "; receiver clock: {} wraps, {} restarts",
            s.clock.wraps, s.clock.restarts
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_input_specs() {
        let s: InputSpec = "beast:-".parse().unwrap();
        assert_eq!(
            s,
            InputSpec {
                format: InputFormat::Beast,
                path: None
            }
        );
        let s: InputSpec = "RAW:C:/data/x.csv".parse().unwrap();
        assert_eq!(s.path.unwrap(), PathBuf::from("C:/data/x.csv"));
        assert!(
            "json:x"
                .parse::<InputSpec>()
                .unwrap_err()
                .contains("expected raw, beast")
        );
        assert!(
            "x.csv"
                .parse::<InputSpec>()
                .unwrap_err()
                .contains("FMT:PATH")
        );
        assert!("sbs:".parse::<InputSpec>().unwrap_err().contains("no path"));
    }
}
