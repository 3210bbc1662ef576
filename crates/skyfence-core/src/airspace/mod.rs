//! The airspace engine: 3-D zones and the queries the detector asks of every position
//! (which zones contain it, how far it is from a zone's border, where a step crossed it).

pub mod builtin;
pub mod geodesy;
pub mod geojson;
mod grid;
pub mod index;
pub mod load;
mod near;
pub mod openair;
pub mod validate;
pub mod zone;

pub use geojson::{multipolygon_geometry, zone_feature, zone_from_geojson, zone_geojson};
pub use index::{AirspaceIndex, Crossing, ZoneId};
pub use zone::{Provenance, Zone, ZoneKind};
