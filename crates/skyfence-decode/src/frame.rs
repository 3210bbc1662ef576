//! A Mode S frame as framing layers deliver it.

use skyfence_core::{RawFrame, Timestamp};

/// One received Mode S frame with its time of reception.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Reception time: from the recording (raw), or derived from the receiver's clock
    /// (Beast/AVR: `--start` + counter / 12 MHz, or Radarcape GPS time).
    pub at: Timestamp,
    /// The receiver's own timestamp, when the format carries one (Beast and `@` AVR:
    /// 48-bit 12 MHz counter, or Radarcape GPS seconds-of-day/nanoseconds as received).
    pub counter: Option<u64>,
    /// The frame bytes, signal level and MLAT flag.
    pub raw: RawFrame,
}

impl Frame {
    /// A frame from bytes (7 or 14 of them); `None` for any other length.
    pub fn new(at: Timestamp, data: &[u8]) -> Option<Self> {
        if data.len() != 7 && data.len() != 14 {
            return None;
        }
        let mut bytes = [0u8; 14];
        bytes[..data.len()].copy_from_slice(data);
        Some(Frame {
            at,
            counter: None,
            raw: RawFrame {
                bytes,
                len: data.len() as u8,
                signal: None,
                mlat: false,
            },
        })
    }

    /// The meaningful bytes.
    pub fn data(&self) -> &[u8] {
        self.raw.data()
    }
}
