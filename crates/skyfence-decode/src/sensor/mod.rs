//! Sensors as the configuration declares them (`[[sensor]]`): what each is, where it
//! stands and, for ASTERIX sources, the SAC/SIC its records carry. The decoders use
//! them to name a record's sensor and to place a radar's polar plots on the earth.

use skyfence_core::ShortName;

pub mod config;

/// What kind of sensor (`type` in `[[sensor]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SensorType {
    /// A radar site (ASTERIX CAT048 plots and tracks, CAT034 service messages).
    Radar,
    /// A system tracker (CAT062 system tracks).
    Tracker,
    /// An ADS-B ground station (CAT021).
    Adsb,
    /// A Mode S receiver (multilateration).
    ModeS,
    /// A Remote ID receiver (Bluetooth / Wi-Fi broadcasts of drones), named by the
    /// inputs that carry its records (`remoteid:PATH@SENSOR`, `[[source]] sensor`).
    RemoteId,
}

impl SensorType {
    /// Every type, in the order error messages list them.
    pub const ALL: [SensorType; 5] = [
        SensorType::Radar,
        SensorType::Tracker,
        SensorType::Adsb,
        SensorType::ModeS,
        SensorType::RemoteId,
    ];

    /// The name in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            SensorType::Radar => "radar",
            SensorType::Tracker => "tracker",
            SensorType::Adsb => "adsb",
            SensorType::ModeS => "modes",
            SensorType::RemoteId => "remoteid",
        }
    }

    /// Whether its records carry a SAC/SIC (ASTERIX sensors).
    pub const fn is_asterix(self) -> bool {
        !matches!(self, SensorType::ModeS | SensorType::RemoteId)
    }
}

/// A Mode S receiver's clock (`clock` in `[[sensor]]`), for multilateration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverClock {
    /// Beast: a free-running 12 MHz counter.
    Beast,
    /// Radarcape: 1 GHz, disciplined by GNSS.
    RadarcapeGps,
    /// dump1090: the 12 MHz sample clock of the SDR.
    Dump1090,
}

impl ReceiverClock {
    /// Every clock, in the order error messages list them.
    pub const ALL: [ReceiverClock; 3] = [
        ReceiverClock::Beast,
        ReceiverClock::RadarcapeGps,
        ReceiverClock::Dump1090,
    ];

    /// The name in the config.
    pub const fn as_str(self) -> &'static str {
        match self {
            ReceiverClock::Beast => "beast",
            ReceiverClock::RadarcapeGps => "radarcape_gps",
            ReceiverClock::Dump1090 => "dump1090",
        }
    }
}

/// A sensor's position: WGS-84 latitude and longitude, height above the ellipsoid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Site {
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Metres above the WGS-84 ellipsoid.
    pub alt_m: f64,
}

/// One declared sensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Sensor {
    /// Its name (incidents' `sensors`, track ids `SENSOR/NUMBER`).
    pub name: ShortName,
    /// What it is.
    pub kind: SensorType,
    /// The system area and identification codes of its ASTERIX records.
    pub sac_sic: Option<(u8, u8)>,
    /// Where it stands (required for radars and Mode S receivers).
    pub site: Option<Site>,
    /// Its clock (Mode S receivers).
    pub clock: Option<ReceiverClock>,
}
