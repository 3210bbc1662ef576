//! Multilateration (TDOA) of Mode S transponders.
pub mod clock;
pub mod geo;
pub mod solve;
#[cfg(test)]
mod testgeo;
