//! Reading recordings: `FMT:PATH[@SENSOR]` input specs and the reader that runs a file
//! (or standard input) through its format's [`Codec`] into a queue of [`Item`]s.
//!
//! # `FMT:PATH@SENSOR`
//!
//! `FMT` is a name of the format registry ([`crate::format::FORMATS`], any case), `PATH`
//! a file or `-` for standard input. An optional `@SENSOR` names the sensor (a
//! `[[sensor]]` of the config) that recorded the file, e.g. `beast:site1.bin@kabul-1`.
//! Since a path may itself contain `@`, the text after the **last** `@` is taken as a
//! sensor only when both hold:
//!
//! 1. it is a valid sensor name ([`is_sensor_name`]: 1 to 24 ASCII letters, digits,
//!    `-` or `_`, so never a file name with an extension or a directory), and
//! 2. the whole of `PATH@SENSOR` is not an existing file.
//!
//! Otherwise the whole text after `FMT:` is the path. A file whose name ends in
//! `@name` and does not exist yet is therefore read as `PATH` recorded by `name`.

use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use skyfence_core::{ShortName, Timestamp};

use crate::DropCounts;
use crate::beast::ClockStats;
use crate::codec::{ClockOptions, Codec, Item};
use crate::format::{self, Format};

/// Why `FMT:PATH` text is not an input spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// No `:` at all.
    #[error("input {0:?} is not FMT:PATH (e.g. raw:flight.csv, beast:-)")]
    NotFmtPath(String),
    /// `FMT` is not in the registry.
    #[error("unknown input format {format:?} in {spec:?}: expected {expected}")]
    UnknownFormat {
        /// The format as written (lowercased).
        format: String,
        /// The whole spec.
        spec: String,
        /// The registry's names.
        expected: String,
    },
    /// Nothing after `FMT:`.
    #[error("input {0:?} has no path: use FMT:PATH, or FMT:- for stdin")]
    NoPath(String),
}

/// Why an input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file cannot be opened (missing, unreadable): the user's mistake.
    #[error("cannot open input {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Reading failed part-way.
    #[error("reading input {spec}: {source}")]
    Read {
        /// The input, as `FMT:PATH`.
        spec: String,
        /// What the system said.
        source: io::Error,
    },
}

/// `FMT:PATH[@SENSOR]` as given on the command line; `PATH` `-` is standard input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// The format.
    pub format: &'static Format,
    /// The file, or `None` for standard input.
    pub path: Option<PathBuf>,
    /// The sensor that recorded it (`@SENSOR`), when named.
    pub sensor: Option<ShortName>,
}

impl InputSpec {
    /// A spec for `path` in `format`, no sensor named.
    pub fn new(format: &'static Format, path: Option<PathBuf>) -> Self {
        InputSpec {
            format,
            path,
            sensor: None,
        }
    }
}

impl fmt::Display for InputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}:{}", self.format.name, p.display())?,
            None => write!(f, "{}:-", self.format.name)?,
        }
        match &self.sensor {
            Some(s) => write!(f, "@{}", s.as_str()),
            None => Ok(()),
        }
    }
}

/// Whether `name` can be the `@SENSOR` of a spec: 1 to 24 ASCII letters, digits, `-`
/// or `_` (a subset of the printable names [`ShortName`] holds).
pub fn is_sensor_name(name: &str) -> bool {
    (1..=ShortName::MAX).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Splits `PATH@SENSOR` by the rule of the module documentation; `exists` says whether
/// a path names an existing file.
fn split_sensor(text: &str, exists: impl Fn(&Path) -> bool) -> (&str, Option<ShortName>) {
    if let Some((path, sensor)) = text.rsplit_once('@')
        && !path.is_empty()
        && is_sensor_name(sensor)
        && !exists(Path::new(text))
        && let Ok(name) = ShortName::new(sensor)
    {
        return (path, Some(name));
    }
    (text, None)
}

impl InputSpec {
    /// Parses `FMT:PATH[@SENSOR]`, asking `exists` whether a path is an existing file
    /// (the `@` rule of the module documentation).
    pub fn parse_with(s: &str, exists: impl Fn(&Path) -> bool) -> Result<Self, SpecError> {
        let (fmt, rest) = s
            .split_once(':')
            .ok_or_else(|| SpecError::NotFmtPath(s.to_string()))?;
        let format = format::lookup(fmt).ok_or_else(|| SpecError::UnknownFormat {
            format: fmt.to_ascii_lowercase(),
            spec: s.to_string(),
            expected: format::names(),
        })?;
        if rest.is_empty() {
            return Err(SpecError::NoPath(s.to_string()));
        }
        let (path, sensor) = split_sensor(rest, exists);
        let path = (path != "-").then(|| PathBuf::from(path));
        Ok(InputSpec {
            format,
            path,
            sensor,
        })
    }
}

impl FromStr for InputSpec {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InputSpec::parse_with(s, Path::exists)
    }
}

/// Bytes read from the input per refill.
const CHUNK: usize = 1 << 18;

/// One input being read: bytes from a file or stdin, through its format's codec, into
/// a queue of [`Item`]s refilled a chunk at a time.
pub struct InputReader {
    spec: InputSpec,
    reader: Box<dyn Read>,
    codec: Box<dyn Codec>,
    buf: Vec<u8>,
    queue: VecDeque<Item>,
    eof: bool,
    /// Bytes read so far.
    pub bytes: u64,
    /// Items delivered so far.
    pub items: u64,
}

impl InputReader {
    /// Opens `spec`, reading receiver timestamps per `clock`.
    ///
    /// # Errors
    /// [`InputError::Open`] when the file cannot be opened.
    pub fn open(spec: &InputSpec, clock: ClockOptions) -> Result<Self, InputError> {
        let reader: Box<dyn Read> = match &spec.path {
            None => Box::new(io::stdin().lock()),
            Some(path) => {
                let open_error = |source| InputError::Open {
                    path: path.clone(),
                    source,
                };
                let file = File::open(path).map_err(open_error)?;
                // A directory opens on Unix and fails only at the first read, which
                // would look like an I/O failure rather than the user's mistake.
                if file.metadata().map_err(open_error)?.is_dir() {
                    return Err(open_error(io::Error::new(
                        io::ErrorKind::IsADirectory,
                        "it is a directory, expected a recording file",
                    )));
                }
                Box::new(file)
            }
        };
        Ok(Self::from_reader(spec, clock, reader))
    }

    /// Reads `reader` as the input `spec` (its path is only used in messages).
    pub fn from_reader(spec: &InputSpec, clock: ClockOptions, reader: Box<dyn Read>) -> Self {
        InputReader {
            spec: spec.clone(),
            reader,
            codec: spec.format.codec(clock),
            buf: vec![0u8; CHUNK],
            queue: VecDeque::new(),
            eof: false,
            bytes: 0,
            items: 0,
        }
    }

    /// The input being read.
    pub fn spec(&self) -> &InputSpec {
        &self.spec
    }

    /// Reads until an item is queued or the input ends.
    fn fill(&mut self) -> Result<(), InputError> {
        while self.queue.is_empty() && !self.eof {
            let n = match self.reader.read(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(InputError::Read {
                        spec: self.spec.to_string(),
                        source,
                    });
                }
            };
            let q = &mut self.queue;
            if n == 0 {
                self.eof = true;
                self.codec.finish(&mut |i| q.push_back(i));
            } else {
                self.bytes += n as u64;
                self.codec.decode(&self.buf[..n], &mut |i| q.push_back(i));
            }
        }
        Ok(())
    }

    /// The next item, or `None` at the end of the input.
    ///
    /// # Errors
    /// [`InputError::Read`] when reading fails.
    pub fn next_item(&mut self) -> Result<Option<Item>, InputError> {
        self.fill()?;
        let item = self.queue.pop_front();
        self.items += u64::from(item.is_some());
        Ok(item)
    }

    /// The time of the next item, without taking it.
    ///
    /// # Errors
    /// [`InputError::Read`] when reading fails.
    pub fn peek_at(&mut self) -> Result<Option<Timestamp>, InputError> {
        self.fill()?;
        Ok(self.queue.front().map(Item::at))
    }

    /// What the codec dropped, by reason.
    pub fn drops(&self) -> DropCounts {
        *self.codec.drops()
    }

    /// Receiver clock wraps and restarts (zero for formats without a receiver clock).
    pub fn clock_stats(&self) -> ClockStats {
        self.codec.clock_stats().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{BEAST, RAW};

    fn parse(s: &str) -> Result<InputSpec, SpecError> {
        InputSpec::parse_with(s, |_| false)
    }

    #[test]
    fn parses_input_specs() {
        let s = parse("beast:-").unwrap();
        assert_eq!(s, InputSpec::new(&BEAST, None));
        assert_eq!(s.to_string(), "beast:-");
        let s = parse("RAW:C:/data/x.csv").unwrap();
        assert_eq!(s.format, &RAW);
        assert_eq!(s.path.unwrap(), PathBuf::from("C:/data/x.csv"));
        let e = parse("json:x").unwrap_err().to_string();
        assert!(e.contains(&format!("expected {}", format::names())), "{e}");
        assert!(
            e.contains("raw, beast, avr, sbs, asterix, pcap or remoteid"),
            "{e}"
        );
        assert!(e.contains("\"json\""), "{e}");
        assert!(parse("x.csv").unwrap_err().to_string().contains("FMT:PATH"));
        assert!(parse("sbs:").unwrap_err().to_string().contains("no path"));
    }

    #[test]
    fn a_sensor_follows_the_last_at() {
        let s = parse("beast:site1.bin@kabul-1").unwrap();
        assert_eq!(s.path, Some(PathBuf::from("site1.bin")));
        assert_eq!(
            s.sensor.map(|n| n.as_str().to_string()),
            Some("kabul-1".into())
        );
        assert_eq!(s.to_string(), "beast:site1.bin@kabul-1");
        let s = parse("sbs:-@rx_2").unwrap();
        assert_eq!((s.path, s.sensor.is_some()), (None, true));
        let s = parse("raw:a@b/c@site").unwrap();
        assert_eq!(s.path, Some(PathBuf::from("a@b/c")));
        // Not a sensor name: the whole text is the path.
        for path in [
            "x@y.csv",
            "x@",
            "dir@v2/file",
            "x@name-that-is-longer-than-24",
        ] {
            let s = parse(&format!("raw:{path}")).unwrap();
            assert_eq!(
                (s.path, s.sensor),
                (Some(PathBuf::from(path)), None),
                "{path}"
            );
        }
        // "@" alone after FMT: is a path, not an empty path with a sensor.
        assert_eq!(parse("raw:@rx").unwrap().path, Some(PathBuf::from("@rx")));
    }

    #[test]
    fn an_existing_file_keeps_its_at() {
        let s = InputSpec::parse_with("beast:day@rx1", |p| p == Path::new("day@rx1")).unwrap();
        assert_eq!((s.path, s.sensor), (Some(PathBuf::from("day@rx1")), None));
        let dir = std::env::temp_dir().join(format!("skyfence-spec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rec@north");
        std::fs::write(&file, b"").unwrap();
        let s: InputSpec = format!("raw:{}", file.display()).parse().unwrap();
        assert_eq!((s.path.as_deref(), s.sensor), (Some(file.as_path()), None));
        let s: InputSpec = format!("raw:{}", dir.join("rec@south").display())
            .parse()
            .unwrap();
        assert_eq!(
            s.sensor.map(|n| n.as_str().to_string()),
            Some("south".into())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_reader_reads_through_the_registry_codec() {
        let text = b"timestamp,rawmsg\n1700000000.5,8D4840D6202CC371C32CE0576098\nbad\n";
        let spec = InputSpec::new(&RAW, Some(PathBuf::from("mem.csv")));
        let mut r = InputReader::from_reader(&spec, ClockOptions::default(), Box::new(&text[..]));
        assert_eq!(
            r.peek_at().unwrap(),
            Some(Timestamp::from_micros(1_700_000_000_500_000))
        );
        assert!(matches!(r.next_item().unwrap(), Some(Item::Frame(_))));
        assert_eq!(r.next_item().unwrap(), None);
        assert_eq!((r.bytes, r.items), (text.len() as u64, 1));
        assert_eq!(r.drops().get(crate::DropReason::Garbage), 3);
        let e = InputReader::open(
            &InputSpec::new(&RAW, Some(PathBuf::from("/nonexistent/x.csv"))),
            ClockOptions::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(e, InputError::Open { .. }));
        assert!(
            e.to_string()
                .starts_with("cannot open input /nonexistent/x.csv: "),
            "{e}"
        );
    }
}
