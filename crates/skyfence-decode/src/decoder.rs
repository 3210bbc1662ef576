//! One decoded message, as `skyfence decode` prints it (INTERFACES.md, "Decoded message").
//!
//! (in progress: the stateful decoder that produces it from frames)

use skyfence_core::{
    Altitude, AltitudeDatum, Callsign, EmitterCategory, GeoPoint, Icao24, Observation, RawFrame,
    SourceId, Squawk, Timestamp, Velocity,
};

/// The CPR format of a position message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CprFormat {
    /// F = 0.
    Even,
    /// F = 1.
    Odd,
}

impl CprFormat {
    /// `"even"` or `"odd"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CprFormat::Even => "even",
            CprFormat::Odd => "odd",
        }
    }
}

/// One accepted message with every field it carried, decoded. Fields are `None` when the
/// message did not carry them. `position` is set once resolved (global even/odd pair, or
/// locally against the aircraft's previous position).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Message {
    /// Reception time.
    pub at: Timestamp,
    /// Downlink format (absent for SBS input).
    pub df: Option<u8>,
    /// Aircraft address.
    pub icao24: Icao24,
    /// ADS-B type code (DF17/18 only).
    pub tc: Option<u8>,
    /// Flight identification.
    pub callsign: Option<Callsign>,
    /// Emitter category.
    pub category: Option<EmitterCategory>,
    /// Resolved position.
    pub position: Option<GeoPoint>,
    /// Barometric altitude, feet.
    pub alt_ft: Option<i32>,
    /// GNSS (geometric) height, feet.
    pub alt_geom_ft: Option<i32>,
    /// Ground speed, knots.
    pub gs_kt: Option<f32>,
    /// Track over ground, degrees from true north.
    pub track_deg: Option<f32>,
    /// Vertical rate, feet per minute.
    pub vrate_fpm: Option<i32>,
    /// Mode A code.
    pub squawk: Option<Squawk>,
    /// CPR format of a position message.
    pub cpr: Option<CprFormat>,
    /// The frame this came from (absent for SBS input).
    pub raw: Option<RawFrame>,
}

impl Message {
    /// A message from `icao24` at `at` with no fields yet.
    pub fn new(at: Timestamp, icao24: Icao24) -> Self {
        Message {
            at,
            df: None,
            icao24,
            tc: None,
            callsign: None,
            category: None,
            position: None,
            alt_ft: None,
            alt_geom_ft: None,
            gs_kt: None,
            track_deg: None,
            vrate_fpm: None,
            squawk: None,
            cpr: None,
            raw: None,
        }
    }

    /// The normalised observation for the detection core. Barometric altitude is
    /// preferred; GNSS height is used when it is the only altitude carried.
    pub fn to_observation(&self, source: SourceId) -> Observation {
        let mut o = Observation::new(self.icao24, self.at);
        o.position = self.position;
        o.altitude = match (self.alt_ft, self.alt_geom_ft) {
            (Some(feet), _) => Some(Altitude {
                feet,
                datum: AltitudeDatum::Barometric,
            }),
            (None, Some(feet)) => Some(Altitude {
                feet,
                datum: AltitudeDatum::Geometric,
            }),
            (None, None) => None,
        };
        if self.gs_kt.is_some() || self.track_deg.is_some() || self.vrate_fpm.is_some() {
            o.velocity = Some(Velocity {
                gs_kt: self.gs_kt,
                track_deg: self.track_deg,
                vrate_fpm: self.vrate_fpm,
            });
        }
        o.identity.callsign = self.callsign;
        o.identity.category = self.category;
        o.identity.squawk = self.squawk;
        o.source = source;
        o.raw = self.raw;
        o
    }
}
