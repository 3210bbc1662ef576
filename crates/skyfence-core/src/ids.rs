//! Identifiers of surveillance targets.

use std::fmt;
use std::str::FromStr;

/// A 24-bit ICAO aircraft address (ICAO Annex 10 Vol III), printed as 6 lowercase hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Icao24(u32);

impl Icao24 {
    /// From the low 24 bits of `addr`; `None` if any higher bit is set.
    pub const fn new(addr: u32) -> Option<Self> {
        if addr <= 0x00ff_ffff {
            Some(Icao24(addr))
        } else {
            None
        }
    }

    /// From the low 24 bits of `addr`, ignoring the rest.
    pub const fn from_u32_masked(addr: u32) -> Self {
        Icao24(addr & 0x00ff_ffff)
    }

    /// The address as an integer.
    pub const fn as_u32(self) -> u32 {
        self.0
    }
}

impl fmt::Display for Icao24 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06x}", self.0)
    }
}

/// Why a text is not an ICAO address.
#[derive(Debug, thiserror::Error)]
#[error("invalid ICAO address {0:?}: expected 6 hex digits, e.g. \"adf7c1\"")]
pub struct ParseIcao24Error(String);

impl FromStr for Icao24 {
    type Err = ParseIcao24Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.len() != 6 {
            return Err(ParseIcao24Error(s.to_string()));
        }
        u32::from_str_radix(t, 16)
            .map(Icao24)
            .map_err(|_| ParseIcao24Error(s.to_string()))
    }
}

impl serde::Serialize for Icao24 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Icao24 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A short printable-ASCII name kept inline, so ids that carry one stay `Copy` and
/// allocation-free: a Remote ID (ASTM F3411 UAS ID: serial number, registration or
/// session id, at most 20 characters) or a sensor's name (config names are checked
/// against [`ShortName::MAX`] at load).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShortName {
    len: u8,
    bytes: [u8; ShortName::MAX],
}

impl ShortName {
    /// The longest name, in bytes.
    pub const MAX: usize = 24;

    /// From printable ASCII (no spaces, no control characters), 1 to [`Self::MAX`] bytes.
    pub fn new(text: &str) -> Result<Self, ParseTargetIdError> {
        let b = text.as_bytes();
        if b.is_empty() || b.len() > Self::MAX || !b.iter().all(u8::is_ascii_graphic) {
            return Err(ParseTargetIdError(format!(
                "invalid name {text:?}: expected 1 to {} printable ASCII characters without spaces",
                Self::MAX
            )));
        }
        let mut bytes = [0u8; Self::MAX];
        bytes[..b.len()].copy_from_slice(b);
        Ok(ShortName {
            len: b.len() as u8,
            bytes,
        })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Construction admits only ASCII, so this cannot fail.
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

impl fmt::Display for ShortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ShortName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Which kind of identity a [`TargetId`] is (incident JSON `target.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetKind {
    /// A Mode S address: `icao`.
    Icao,
    /// A Remote ID: `remoteid`.
    RemoteId,
    /// A sensor's own track number: `track`.
    Track,
}

impl TargetKind {
    /// The name in JSON and on the command line.
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetKind::Icao => "icao",
            TargetKind::RemoteId => "remoteid",
            TargetKind::Track => "track",
        }
    }
}

impl FromStr for TargetKind {
    type Err = ParseTargetIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "icao" => Ok(TargetKind::Icao),
            "remoteid" => Ok(TargetKind::RemoteId),
            "track" => Ok(TargetKind::Track),
            other => Err(ParseTargetIdError(format!(
                "unknown target kind {other:?}: expected icao, remoteid or track"
            ))),
        }
    }
}

/// Who a track belongs to, whatever sensor saw it: a transponder's ICAO address, a
/// drone's Remote ID, or a sensor's own track number (a radar plot with no identity).
/// `Copy` and 32 bytes, so the detection core keys its tables on it without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetId {
    /// A Mode S / ADS-B transponder.
    Icao(Icao24),
    /// A drone broadcasting Remote ID: its UAS ID (serial number, registration or
    /// session id).
    RemoteId(ShortName),
    /// A track number assigned by one sensor (radar, system tracker).
    Track {
        /// The sensor's name.
        sensor: ShortName,
        /// Its track number.
        number: u32,
    },
}

impl TargetId {
    /// Which kind of identity.
    pub const fn kind(&self) -> TargetKind {
        match self {
            TargetId::Icao(_) => TargetKind::Icao,
            TargetId::RemoteId(_) => TargetKind::RemoteId,
            TargetId::Track { .. } => TargetKind::Track,
        }
    }

    /// The ICAO address, when this is a transponder.
    pub const fn icao(&self) -> Option<Icao24> {
        match self {
            TargetId::Icao(a) => Some(*a),
            _ => None,
        }
    }

    /// From `kind` and the id as [`Display`](fmt::Display) prints it.
    pub fn parse(kind: TargetKind, id: &str) -> Result<Self, ParseTargetIdError> {
        match kind {
            TargetKind::Icao => id
                .parse()
                .map(TargetId::Icao)
                .map_err(|e: ParseIcao24Error| ParseTargetIdError(e.to_string())),
            TargetKind::RemoteId => ShortName::new(id).map(TargetId::RemoteId),
            TargetKind::Track => {
                let (sensor, number) = id.rsplit_once('/').ok_or_else(|| {
                    ParseTargetIdError(format!(
                        "invalid track id {id:?}: expected SENSOR/NUMBER, e.g. \"kabul-psr/417\""
                    ))
                })?;
                let number = number.parse().map_err(|_| {
                    ParseTargetIdError(format!(
                        "invalid track number in {id:?}: expected 0 to 4294967295"
                    ))
                })?;
                Ok(TargetId::Track {
                    sensor: ShortName::new(sensor)?,
                    number,
                })
            }
        }
    }

    /// The key a store files this target under: the ICAO address as printed (as every
    /// store written before other kinds existed did), `rid:ID` or `trk:SENSOR/NUMBER`.
    pub fn key(&self) -> String {
        match self {
            TargetId::Icao(a) => a.to_string(),
            TargetId::RemoteId(r) => format!("rid:{r}"),
            TargetId::Track { sensor, number } => format!("trk:{sensor}/{number}"),
        }
    }

    /// Reads [`Self::key`] back.
    pub fn from_key(key: &str) -> Result<Self, ParseTargetIdError> {
        if let Some(id) = key.strip_prefix("rid:") {
            Self::parse(TargetKind::RemoteId, id)
        } else if let Some(id) = key.strip_prefix("trk:") {
            Self::parse(TargetKind::Track, id)
        } else {
            Self::parse(TargetKind::Icao, key)
        }
    }
}

/// Prints `target.id`: 6 lowercase hex digits, the Remote ID, or `SENSOR/NUMBER`.
impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetId::Icao(a) => a.fmt(f),
            TargetId::RemoteId(r) => r.fmt(f),
            TargetId::Track { sensor, number } => write!(f, "{sensor}/{number}"),
        }
    }
}

/// Why a text is not a target id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseTargetIdError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icao_prints_lowercase_six_digits_and_parses_back() {
        let a = Icao24::new(0x00adf7c1).unwrap();
        assert_eq!(a.to_string(), "adf7c1");
        assert_eq!("ADF7C1".parse::<Icao24>().unwrap(), a);
        assert_eq!(Icao24::new(0x4b).unwrap().to_string(), "00004b");
        assert!(Icao24::new(0x0100_0000).is_none());
        assert!("adf7c".parse::<Icao24>().is_err());
        assert!("adf7cg".parse::<Icao24>().is_err());
    }

    #[test]
    fn target_ids_print_parse_and_key_back() {
        let ids = [
            TargetId::Icao(Icao24::new(0xadf7c1).unwrap()),
            TargetId::RemoteId(ShortName::new("1581F5FJD239C00DW22E").unwrap()),
            TargetId::Track {
                sensor: ShortName::new("kabul-psr").unwrap(),
                number: 417,
            },
        ];
        let printed: Vec<String> = ids.iter().map(ToString::to_string).collect();
        assert_eq!(printed, ["adf7c1", "1581F5FJD239C00DW22E", "kabul-psr/417"]);
        for id in ids {
            assert_eq!(TargetId::parse(id.kind(), &id.to_string()).unwrap(), id);
            assert_eq!(TargetId::from_key(&id.key()).unwrap(), id);
            assert_eq!(id.kind().as_str().parse::<TargetKind>().unwrap(), id.kind());
        }
        assert_eq!(ids[0].key(), "adf7c1");
        assert_eq!(ids[2].key(), "trk:kabul-psr/417");
        assert!(std::mem::size_of::<TargetId>() <= 32);
        assert!(TargetId::parse(TargetKind::Track, "kabul-psr").is_err());
        assert!(TargetId::parse(TargetKind::Track, "a b/1").is_err());
        assert!(ShortName::new(&"x".repeat(25)).is_err());
        assert!(ShortName::new("").is_err());
    }
}
