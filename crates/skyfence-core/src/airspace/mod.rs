//! The airspace engine: 3-D zones and the queries the detector asks of every position
//! (which zones contain it, how far it is from a zone's border, where a step crossed it).

pub mod builtin;
pub mod geodesy;
mod grid;
pub mod index;
pub mod load;
mod near;
pub mod openair;
pub mod validate;
pub mod zone;

pub use index::{AirspaceIndex, Crossing, ZoneId};
pub use zone::{Provenance, Zone, ZoneKind};
