//! The pure detection core of skyfence.
//!
//! No I/O, no clocks, no async: every function here is driven by the timestamps carried
//! in its inputs, so replaying a recording gives byte-for-byte the same results as
//! watching the same traffic live (ARCHITECTURE.md, invariant 1). The one clock of the
//! workspace, [`time::wall_clock`], lives here so every edge reads it the same way; no
//! function of the core calls it.

pub mod airspace;
pub mod detect;
pub mod ids;
pub mod observation;
pub mod position;
pub mod time;

pub use ids::{Icao24, ParseIcao24Error, ParseTargetIdError, ShortName, TargetId, TargetKind};
pub use observation::{
    Altitude, AltitudeDatum, Callsign, EmitterCategory, Identity, Observation, OperatorFix,
    OperatorPoint, PositionKind, Protocol, RawFrame, RawRecord, RemoteIdInfo, Signal, SourceId,
    Squawk, Velocity, nacp_epu95_m,
};
pub use position::GeoPoint;
pub use time::{ParseTimestampError, Timestamp};
