//! Incursion detection: observations in, incidents and events out (the rules are
//! docs/INTERFACES.md's "Incident" and `[detection]`).
//!
//! Pure and deterministic (ARCHITECTURE.md invariant 1): time comes only from the data,
//! so a replay produces byte for byte the incidents a live run produced.
//!
//! * [`Detector`] owns the [`TrackTable`] and runs, per (target, zone), the state machine
//!   of [`incursion`](self#state-machine): outside → approaching (buffer band) → entering
//!   → inside (confirmed after `confirm_s` with ≥ 2 reports) → closed or lost.
//! * [`Incident`] serialises exactly as docs/INTERFACES.md shows; [`Event`] carries it.
//! * [`Permit`]s (`[[allow]]`) make incidents `authorised`.
//!
//! # State machine
//!
//! A position is *inside* a zone when the zone's lateral shape (holes excluded) contains
//! it and its altitude lies between floor and ceiling (unknown altitude counts as inside).
//! Entry and exit points are interpolated on the step between the last report on one
//! side and the first on the other (the lateral crossing from the airspace index, or the
//! floor/ceiling crossing by linear altitude, whichever comes later on entry and earlier
//! on exit), when the two reports are at most `track_timeout_s` apart; otherwise the first
//! report inside is the entry (`entry_observed: false`).
//!
//! `max_depth_m` comes from the airspace index's distance to the boundary, queried only
//! for reports that may lie deeper than the deepest so far by more than 25 m + 0.5 %
//! (the distance to a border changes no faster than the target moves; each incursion
//! keeps its last six measured points as references), so it is exact to within that
//! margin while a target loitering deep inside costs no query per report.
//!
//! # Time
//!
//! Event times come from the data: `confirmed` and `closed` carry the report's time,
//! `lost` the last report inside plus `track_timeout_s`. Observations sweep for silent
//! tracks every `track_timeout_s / 8` of data time (at least 1 s); [`Detector::tick`] and
//! [`Detector::finish`] always sweep. Positions must arrive in time order per target
//! (older ones are counted as `out_of_order` and dropped).

mod config;
mod detector;
mod event;
mod incident;
mod incursion;
mod permit;
mod track;
mod zones;

pub use config::{DetectionConfig, DetectionConfigError};
pub use detector::{ALTITUDE_HOLD_US, Detector, DetectorStats, GATE_SLACK_M, ResumeError};
pub use event::{Event, IncidentLog};
pub use incident::{
    Classification, Fix, Incident, IncidentId, IncidentStatus, IncidentVerification,
    ParseIncidentIdError, RemoteIdSummary, SpoofVerdict, TargetInfo, VerificationMethod,
};
pub use permit::{Glob, Permit, PermitError};
pub use track::{Report, TargetHasher, Track, TrackPoint, TrackTable};
pub use zones::ZoneQueries;
