//! Time as skyfence counts it: integer microseconds since the Unix epoch, UTC.
//!
//! Never `f64`: a day of recordings at microsecond resolution must compare and subtract
//! exactly, and an incident's times must print identically on every machine.

use std::fmt;

/// An instant in UTC, in microseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// Why a text could not be read as an RFC 3339 time.
#[derive(Debug, thiserror::Error)]
#[error("invalid RFC 3339 time {text:?}: {reason} (expected e.g. 2023-11-14T22:21:03Z)")]
pub struct ParseTimestampError {
    text: String,
    reason: String,
}

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From microseconds since the Unix epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// From whole seconds since the Unix epoch.
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs * 1_000_000)
    }

    /// From fractional seconds since the Unix epoch, rounded to the nearest microsecond.
    /// Returns `None` for non-finite or out-of-range values.
    pub fn from_secs_f64(secs: f64) -> Option<Self> {
        let micros = (secs * 1e6).round();
        if micros.is_finite() && micros.abs() < 9.0e18 {
            Some(Timestamp(micros as i64))
        } else {
            None
        }
    }

    /// Seconds since the Unix epoch as `f64` (for display and arithmetic on durations only).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// This instant shifted by `micros` microseconds (saturating).
    pub const fn add_micros(self, micros: i64) -> Self {
        Timestamp(self.0.saturating_add(micros))
    }

    /// Microseconds from `earlier` to `self` (negative when `earlier` is later).
    pub const fn micros_since(self, earlier: Timestamp) -> i64 {
        self.0.saturating_sub(earlier.0)
    }

    /// Seconds from `earlier` to `self`.
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        self.micros_since(earlier) as f64 / 1e6
    }

    /// Parses an RFC 3339 time such as `2023-11-14T22:21:03.120Z` or `...+04:30`.
    pub fn parse_rfc3339(text: &str) -> Result<Self, ParseTimestampError> {
        let err = |reason: String| ParseTimestampError {
            text: text.to_string(),
            reason,
        };
        let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .map_err(|e| err(e.to_string()))?;
        let micros = t.unix_timestamp_nanos() / 1000;
        i64::try_from(micros)
            .map(Timestamp)
            .map_err(|_| err("out of range".into()))
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2023-11-14T22:21:03.120Z`.
    pub fn to_rfc3339_millis(self) -> String {
        let mut s = String::with_capacity(24);
        self.write_rfc3339(&mut s, 3)
            .expect("writing to a String cannot fail");
        s
    }

    /// RFC 3339 in UTC with microsecond precision, e.g. `2023-11-14T22:21:03.120500Z`.
    pub fn to_rfc3339_micros(self) -> String {
        let mut s = String::with_capacity(27);
        self.write_rfc3339(&mut s, 6)
            .expect("writing to a String cannot fail");
        s
    }

    /// RFC 3339 UTC with microseconds as ASCII bytes (`2023-11-14T22:21:03.120500Z`),
    /// when the year is 0–9999 (four digits): the digits are placed directly, without
    /// the formatting machinery, for writers of millions of lines (`skyfence decode`).
    /// Identical to [`Timestamp::to_rfc3339_micros`] where it answers.
    pub fn rfc3339_micros_ascii(self) -> Option<[u8; 27]> {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000) as u32;
        let sod = secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
        let y = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
        let mut b = *b"0000-00-00T00:00:00.000000Z";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                b[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 4, y);
        put(5, 2, m);
        put(8, 2, d);
        put(11, 2, sod / 3600);
        put(14, 2, sod / 60 % 60);
        put(17, 2, sod % 60);
        put(20, 6, micros);
        Some(b)
    }

    /// Writes RFC 3339 UTC with `digits` (3 or 6) fractional digits. Written by hand
    /// because decoders print millions of these: it allocates nothing and needs no
    /// calendar tables (Howard Hinnant's days-to-civil algorithm).
    pub fn write_rfc3339(self, out: &mut impl fmt::Write, digits: u32) -> fmt::Result {
        let secs = self.0.div_euclid(1_000_000);
        let micros = self.0.rem_euclid(1_000_000);
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            out,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            sod / 3600,
            (sod / 60) % 60,
            sod % 60
        )?;
        match digits {
            0 => {}
            3 => write!(out, ".{:03}", micros / 1000)?,
            _ => write!(out, ".{micros:06}")?,
        }
        out.write_char('Z')
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The machine's clock now, as a [`Timestamp`] (the Unix epoch if the clock reads
/// before it, the largest time if beyond `i64` microseconds).
///
/// For the edges alone: the receive time of live frames, when an alert or CoT event is
/// sent, when an operator acknowledged, when a checkpoint is signed or a witness
/// cosigns. The detection core never calls it (everything in it is driven by the
/// timestamps its inputs carry, ARCHITECTURE.md invariant 1), and it is the only
/// reader of the system clock in the workspace: `clippy.toml` forbids
/// `SystemTime::now` everywhere else.
pub fn wall_clock() -> Timestamp {
    // The one allowed reading of the system clock (see the doc comment).
    #[allow(clippy::disallowed_methods)]
    let now = std::time::SystemTime::now();
    match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => Timestamp(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
        Err(_) => Timestamp::EPOCH,
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_rfc3339(f, 3)
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_wall_clock_reads_the_present() {
        // A real reading of the clock, not the epoch fallback: later than 2020.
        let before = super::Timestamp::parse_rfc3339("2020-01-01T00:00:00Z").unwrap();
        assert!(super::wall_clock() > before);
    }

    use super::*;

    #[test]
    fn formats_known_instants() {
        // 2023-11-14T22:13:20Z is Unix 1700000000.
        let t = Timestamp::from_secs(1_700_000_000).add_micros(120_500);
        assert_eq!(t.to_rfc3339_millis(), "2023-11-14T22:13:20.120Z");
        assert_eq!(t.to_rfc3339_micros(), "2023-11-14T22:13:20.120500Z");
        assert_eq!(
            Timestamp::EPOCH.to_rfc3339_millis(),
            "1970-01-01T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_secs(951_782_400).to_rfc3339_millis(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            Timestamp::from_micros(-1).to_rfc3339_micros(),
            "1969-12-31T23:59:59.999999Z"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let t = Timestamp::parse_rfc3339("2023-11-15T02:43:20.5+04:30").unwrap();
        assert_eq!(t, Timestamp::from_secs(1_700_000_000).add_micros(500_000));
        let e = Timestamp::parse_rfc3339("yesterday")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"yesterday\""), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn format_parse_round_trip(micros in -2_000_000_000_000_000i64..8_000_000_000_000_000i64) {
            let t = Timestamp::from_micros(micros);
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339_micros()).unwrap(), t);
        }

        /// The ASCII fast path writes what the formatter writes, for every four-digit
        /// year, and declines the others.
        #[test]
        fn ascii_micros_is_the_formatted_text(micros in i64::MIN / 2..i64::MAX / 2) {
            let t = Timestamp::from_micros(micros);
            let text = t.to_rfc3339_micros();
            match t.rfc3339_micros_ascii() {
                Some(b) => proptest::prop_assert_eq!(std::str::from_utf8(&b).unwrap(), text),
                None => proptest::prop_assert!(!text.as_bytes()[..4].iter().all(u8::is_ascii_digit) || text.len() != 27),
            }
        }
    }

    #[test]
    fn ascii_micros_edges() {
        for text in [
            "0000-01-01T00:00:00.000000Z",
            "1970-01-01T00:00:00.000000Z",
            "2023-11-14T22:21:03.120500Z",
            "9999-12-31T23:59:59.999999Z",
        ] {
            let t = Timestamp::parse_rfc3339(text).unwrap();
            assert_eq!(
                t.rfc3339_micros_ascii().map(|b| b.to_vec()),
                Some(text.as_bytes().to_vec())
            );
        }
        let after = Timestamp::parse_rfc3339("9999-12-31T23:59:59.999999Z")
            .unwrap()
            .add_micros(1);
        assert_eq!(after.rfc3339_micros_ascii(), None);
        assert_eq!(
            Timestamp::from_micros(-62_167_219_200_000_001).rfc3339_micros_ascii(),
            None
        );
    }
}
