//! Drone Remote ID: ASTM F3411-19/-22a and ASD-STAN EN 4709-002 broadcast messages.
//!
//! - [`message`]: the 25-byte messages and the message pack, decoded and encoded per
//!   the standards' tables (stateless, allocation-free);
//! - [`line`]: the `remoteid` text format (`TIMESTAMP,RECEIVER,RSSI,TRANSMITTER,HEX`), a
//!   [`crate::Codec`] of [`line::Record`]s, which also reads receivers' JSON
//!   ([`json`]: DragonSync, DroneID);
//! - [`radio`]: Remote ID frames in packet captures of the radio link (802.11 radiotap,
//!   Bluetooth LE link layer, nRF Sniffer), for the `pcap` codec;
//! - [`transport`]: the Bluetooth 4/5 and Wi-Fi beacon/NAN frames that carry them, as
//!   pure functions over link-layer bytes;
//! - [`assemble`]: each drone's records put together by transmitter into observations
//!   (target, self-reported position, accuracy, operator, raw evidence).
//!
//! Bad input (a wrong length, a reserved type or version, a pack whose count disagrees
//! with its length, an impossible position) is counted by [`crate::DropReason`] and
//! skipped; it never yields a position.

pub mod assemble;
pub mod json;
pub mod line;
pub mod message;
pub mod radio;
pub mod transport;

pub use message::{
    BasicId, Decoded, IdType, Location, MESSAGE_LEN, Message, MessageType, OperatorId, SelfId,
    System, UaType, decode_message, decode_record, encode_message, encode_pack,
};

#[cfg(test)]
mod tests;
