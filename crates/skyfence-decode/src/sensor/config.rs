//! `[[sensor]]` entries of a config file (docs/INTERFACES.md, "Sensors"): parsed with
//! the position of every value, so each error names the line and the key of the entry
//! at fault, and resolved once into [`Sensor`]s. Here rather than in the service so a
//! bundle's verifier reads the sensors of a logged config with the same rules.

use serde::Deserialize;
use skyfence_core::ShortName;
use toml::Spanned;

use super::{ReceiverClock, Sensor, SensorType, Site};
use crate::input::is_sensor_name;

/// One `[[sensor]]` as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SensorEntry {
    /// Its name: 1 to 24 letters, digits, `-` or `_`.
    pub name: Spanned<String>,
    /// `radar`, `tracker`, `adsb` or `modes`.
    #[serde(rename = "type")]
    pub kind: Spanned<String>,
    /// ASTERIX system area code, 0–255 (radar, tracker, adsb).
    pub sac: Option<Spanned<i64>>,
    /// ASTERIX system identification code, 0–255 (radar, tracker, adsb).
    pub sic: Option<Spanned<i64>>,
    /// Latitude, degrees (required for radar and modes).
    pub lat: Option<Spanned<f64>>,
    /// Longitude, degrees (required for radar and modes).
    pub lon: Option<Spanned<f64>>,
    /// Height above the WGS-84 ellipsoid, metres (required for radar and modes).
    pub alt_m: Option<Spanned<f64>>,
    /// A Mode S receiver's clock: `beast`, `radarcape_gps` or `dump1090` (modes only).
    pub clock: Option<Spanned<String>>,
}

/// The lowest and highest `alt_m` accepted (the Dead Sea shore to the highest peaks,
/// with margin).
const ALT_RANGE_M: (f64, f64) = (-1000.0, 9000.0);

fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Resolves the entries of `text` into sensors; the error names the line and key.
pub fn resolve(entries: &[SensorEntry], text: &str) -> Result<Vec<Sensor>, String> {
    let mut sensors: Vec<Sensor> = Vec::with_capacity(entries.len());
    for e in entries {
        let name = e.name.get_ref();
        let line = |pos: usize| format!("line {}: [[sensor]] {name:?}: ", line_of(text, pos));
        let name_at = e.name.span().start;
        if !is_sensor_name(name) {
            return Err(format!(
                "line {}: [[sensor]] name = {name:?} is not a sensor name (expected 1 to {} letters, digits, - or _)",
                line_of(text, name_at),
                ShortName::MAX
            ));
        }
        if sensors.iter().any(|s| s.name.as_str() == name) {
            return Err(format!("{}name is used twice", line(name_at)));
        }
        let kind_text = e.kind.get_ref();
        let kind = SensorType::ALL
            .into_iter()
            .find(|k| k.as_str() == kind_text)
            .ok_or_else(|| {
                format!(
                    "{}type = {kind_text:?} is not a sensor type (expected radar, tracker, adsb, modes or remoteid)",
                    line(e.kind.span().start)
                )
            })?;
        // SAC/SIC: required for the ASTERIX types, refused for Mode S receivers.
        let code = |v: &Option<Spanned<i64>>, key: &str| -> Result<Option<u8>, String> {
            match v {
                None if kind.is_asterix() => Err(format!(
                    "{}type = {:?} needs {key} = 0..255 (its ASTERIX records are matched by SAC/SIC)",
                    line(name_at),
                    kind.as_str()
                )),
                None => Ok(None),
                Some(s) if !kind.is_asterix() => Err(format!(
                    "{}{key} is only for ASTERIX sensors (radar, tracker, adsb), not type = {:?}",
                    line(s.span().start),
                    kind.as_str()
                )),
                Some(s) => u8::try_from(*s.get_ref()).map(Some).map_err(|_| {
                    format!(
                        "{}{key} = {} is out of range (expected 0 to 255)",
                        line(s.span().start),
                        s.get_ref()
                    )
                }),
            }
        };
        let sac_sic = match (code(&e.sac, "sac")?, code(&e.sic, "sic")?) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        if let Some((sac, sic)) = sac_sic
            && let Some(other) = sensors.iter().find(|s| s.sac_sic == sac_sic)
        {
            let at = e.sac.as_ref().map_or(name_at, |s| s.span().start);
            return Err(format!(
                "{}sac = {sac}, sic = {sic} is already sensor {:?}'s",
                line(at),
                other.name.as_str()
            ));
        }
        // Position: lat and lon together; required (with alt_m) for radars and receivers.
        let needs_site = matches!(kind, SensorType::Radar | SensorType::ModeS);
        let site = match (&e.lat, &e.lon) {
            (Some(lat), Some(lon)) => {
                let (la, lo) = (*lat.get_ref(), *lon.get_ref());
                if !(-90.0..=90.0).contains(&la) {
                    return Err(format!(
                        "{}lat = {la} is out of range (expected -90 to 90 degrees)",
                        line(lat.span().start)
                    ));
                }
                if !(-180.0..=180.0).contains(&lo) {
                    return Err(format!(
                        "{}lon = {lo} is out of range (expected -180 to 180 degrees)",
                        line(lon.span().start)
                    ));
                }
                let alt_m = match &e.alt_m {
                    Some(a) => {
                        let v = *a.get_ref();
                        if !(ALT_RANGE_M.0..=ALT_RANGE_M.1).contains(&v) {
                            return Err(format!(
                                "{}alt_m = {v} is out of range (expected {} to {} metres above the WGS-84 ellipsoid)",
                                line(a.span().start),
                                ALT_RANGE_M.0,
                                ALT_RANGE_M.1
                            ));
                        }
                        v
                    }
                    None if needs_site => {
                        return Err(format!(
                            "{}type = {:?} needs alt_m (the antenna's height above the WGS-84 ellipsoid, metres)",
                            line(name_at),
                            kind.as_str()
                        ));
                    }
                    None => 0.0,
                };
                Some(Site {
                    lat: la,
                    lon: lo,
                    alt_m,
                })
            }
            (None, None) => {
                if needs_site {
                    return Err(format!(
                        "{}type = {:?} needs its position: lat, lon and alt_m",
                        line(name_at),
                        kind.as_str()
                    ));
                }
                if let Some(a) = &e.alt_m {
                    return Err(format!("{}alt_m without lat and lon", line(a.span().start)));
                }
                None
            }
            (Some(v), None) | (None, Some(v)) => {
                return Err(format!("{}lat and lon go together", line(v.span().start)));
            }
        };
        let clock = match &e.clock {
            None => None,
            Some(c) if kind != SensorType::ModeS => {
                return Err(format!(
                    "{}clock is only for Mode S receivers (type = \"modes\")",
                    line(c.span().start)
                ));
            }
            Some(c) => Some(
                ReceiverClock::ALL
                    .into_iter()
                    .find(|k| k.as_str() == c.get_ref())
                    .ok_or_else(|| {
                        format!(
                            "{}clock = {:?} is not a receiver clock (expected beast, radarcape_gps or dump1090)",
                            line(c.span().start),
                            c.get_ref()
                        )
                    })?,
            ),
        };
        sensors.push(Sensor {
            name: ShortName::new(name).map_err(|e| format!("{}{e}", line(name_at)))?,
            kind,
            sac_sic,
            site,
            clock,
        });
    }
    Ok(sensors)
}

/// The `[[sensor]]`s of a whole config text (its other tables are not read).
///
/// # Errors
/// The TOML is invalid, or an entry is (the message names the line and key).
pub fn from_config_text(text: &str) -> Result<Vec<Sensor>, String> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        sensor: Vec<SensorEntry>,
    }
    let only: Only = toml::from_str(text).map_err(|e| match e.span() {
        Some(s) => format!("line {}: {}", line_of(text, s.start), e.message()),
        None => e.message().to_string(),
    })?;
    resolve(&only.sensor, text)
}
