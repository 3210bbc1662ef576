//! Multilateration (TDOA) of Mode S transponders.
//!
//! Several receivers hear the same reply at slightly different times; with their clocks
//! synchronised, the differences place the transmitter. Layers:
//!
//! - [`geo`]: WGS-84 geodetic ⇄ ECEF;
//! - [`solve`]: one transmission's times of arrival → a fix with its covariance;
//! - [`clock`]: pairwise synchronisation of the receivers' free-running counters from
//!   aircraft whose ADS-B positions are known, outliers rejected, counter jumps detected;
//! - [`evidence`]: a fix with everything needed to compute it again (the receivers'
//!   positions, raw timestamps and clock offsets), canonically encoded;
//! - [`engine`]: copies of each Mode S message grouped across receivers, clocks synced
//!   from the position messages, fixes from the others, turned into observations.

pub mod clock;
pub mod engine;
pub mod evidence;
pub mod geo;
pub mod solve;

#[cfg(test)]
mod testgeo;

pub use engine::{Engine, MlatConfig, MlatStats, PairClock, ReceiverSite, Verdict, Verification};
pub use evidence::FixEvidence;
pub use solve::{Fix, NoFix};
