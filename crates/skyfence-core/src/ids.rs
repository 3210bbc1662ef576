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

/// Who a track belongs to. Today the ICAO address; Remote ID serials and radar track
/// numbers join later without changing the detection core.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetId {
    /// A Mode S / ADS-B transponder.
    Icao(Icao24),
}

impl fmt::Display for TargetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetId::Icao(a) => a.fmt(f),
        }
    }
}

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
}
