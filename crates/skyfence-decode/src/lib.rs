//! Byte codecs of skyfence: Mode S / ADS-B, Beast, AVR, raw and SBS; ASTERIX.
//!
//! Pure and synchronous: bytes in, frames and decoded messages out, with every rejected
//! input counted by reason ([`DropReason`]). Encoders live next to their decoders; the
//! simulator and the tests build on them.
//!
//! Layers:
//! - [`codec`]: the [`Codec`] trait every format implements (bytes in chunks → [`Item`]s,
//!   drops by reason, receiver clock statistics), and [`format`], the one registry of
//!   formats (name, codec, live use, simulator encoder); [`input`] reads `FMT:PATH`
//!   recordings through it;
//! - framing ([`beast`], [`avr`], [`raw`]) turns bytes into timestamped [`Frame`]s;
//!   [`sbs`] turns BaseStation lines into already-decoded messages;
//! - [`crc`] and [`modes`] validate a frame and decode its fields ([`adsb`] for the
//!   extended squitter payload), statelessly;
//! - [`cpr`] holds the Compact Position Reporting arithmetic, and [`tracker`] the
//!   per-aircraft state that resolves CPR positions and admits address/parity replies;
//! - [`asterix`]: ASTERIX data blocks (CAT 048, 034, 062, 021) into reports;
//! - [`remoteid`]: Drone Remote ID (ASTM F3411, ASD-STAN EN 4709-002) messages;
//! - [`ingest`]: the one step from codec items to observations (duplicate removal,
//!   decoding, normalisation) shared by `analyze`, the live service and bundle
//!   re-detection.

pub mod adsb;
pub mod asterix;
pub mod avr;
pub mod beast;
pub mod capture;
pub mod codec;
pub mod commb;
pub mod cpr;
pub mod crc;
pub mod decoder;
pub mod dedup;
pub mod format;
pub mod frame;
pub mod ingest;
pub mod input;
pub mod json;
pub mod modes;
pub mod raw;
pub mod remoteid;
pub mod sbs;
pub mod sensor;
pub mod stats;
mod text;
pub mod tracker;

pub use codec::{ClockOptions, Codec, Item};
pub use decoder::{CprFormat, Message};
pub use frame::Frame;
pub use stats::{DropCounts, DropReason};
