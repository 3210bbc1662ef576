//! Why inputs are dropped, and how many (ARCHITECTURE.md invariant 3: nothing is lost
//! silently).

use std::fmt;

/// Why a byte range, line, frame or position was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DropReason {
    /// Bytes skipped while looking for the next frame boundary (Beast resync, junk lines).
    Garbage,
    /// A frame or line cut short (end of input, or a new frame started inside it).
    Truncated,
    /// A frame of a length its type does not allow (e.g. 10 hex digits).
    BadLength,
    /// Characters that are not hexadecimal where hex was expected.
    BadHex,
    /// A time field that could not be read.
    BadTimestamp,
    /// A Beast record type skipped on purpose (type '4' status, readsb 0xe3/0xe4 extensions).
    SkippedRecord,
    /// A frame whose CRC does not check (DF11/17/18 syndrome not zero, or uncorrectable).
    BadCrc,
    /// An address/parity reply (DF0/4/5/16/20/21) whose recovered address was not heard
    /// before in an all-call or squitter (DF11/17/18): most likely noise.
    UnknownAddress,
    /// A downlink format skyfence does not decode (DF 1–3, 6–10, 12–15, 19, 22–23, 24+).
    UnsupportedFormat,
    /// A CPR position out of range, or a pair straddling a latitude-zone boundary.
    BadCpr,
    /// A position implying motion faster than the speed gate from the aircraft's last one.
    ImplausibleMotion,
    /// An SBS line that is not a well-formed BaseStation message; an ASTERIX record
    /// without its mandatory data source identifier.
    Unparsable,
    /// A reported position outside ±90° latitude or ±180° longitude (Remote ID).
    BadPosition,
    /// An ASTERIX data block of a category skyfence has no table for (CAT 021, 034, 048
    /// and 062 are read).
    UnknownCategory,
    /// An ASTERIX record announcing an item or subfield its category's table does not
    /// define: its length is unknown, so the rest of the data block is skipped.
    UnknownItem,
    /// An ASTERIX radar report from a SAC/SIC no `[[sensor]]` declares: its polar
    /// position cannot be placed.
    UnknownSensor,
    /// An ASTERIX plot with neither track number nor Mode S address: nothing to follow
    /// it by.
    Untracked,
    /// A captured UDP datagram whose checksum does not match its bytes (pcap input).
    BadChecksum,
}

impl DropReason {
    /// Every reason, in counter order.
    pub const ALL: [DropReason; 18] = [
        DropReason::Garbage,
        DropReason::Truncated,
        DropReason::BadLength,
        DropReason::BadHex,
        DropReason::BadTimestamp,
        DropReason::SkippedRecord,
        DropReason::BadCrc,
        DropReason::UnknownAddress,
        DropReason::UnsupportedFormat,
        DropReason::BadCpr,
        DropReason::ImplausibleMotion,
        DropReason::Unparsable,
        DropReason::BadPosition,
        DropReason::UnknownCategory,
        DropReason::UnknownItem,
        DropReason::UnknownSensor,
        DropReason::Untracked,
        DropReason::BadChecksum,
    ];

    /// The snake_case name used on stderr, in JSON and as a Prometheus label.
    pub const fn name(self) -> &'static str {
        match self {
            DropReason::Garbage => "garbage",
            DropReason::Truncated => "truncated",
            DropReason::BadLength => "bad_length",
            DropReason::BadHex => "bad_hex",
            DropReason::BadTimestamp => "bad_timestamp",
            DropReason::SkippedRecord => "skipped_record",
            DropReason::BadCrc => "bad_crc",
            DropReason::UnknownAddress => "unknown_address",
            DropReason::UnsupportedFormat => "unsupported_format",
            DropReason::BadCpr => "bad_cpr",
            DropReason::ImplausibleMotion => "implausible_motion",
            DropReason::Unparsable => "unparsable",
            DropReason::BadPosition => "bad_position",
            DropReason::UnknownCategory => "unknown_category",
            DropReason::UnknownItem => "unknown_item",
            DropReason::UnknownSensor => "unknown_sensor",
            DropReason::Untracked => "untracked",
            DropReason::BadChecksum => "bad_checksum",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Counts of dropped inputs by reason. `Garbage` counts bytes; every other reason counts
/// frames, lines or positions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropReason::ALL.len()]);

impl DropCounts {
    /// Adds one drop for `reason`.
    #[inline]
    pub fn add(&mut self, reason: DropReason) {
        self.0[reason as usize] += 1;
    }

    /// Adds `n` drops for `reason`.
    #[inline]
    pub fn add_n(&mut self, reason: DropReason, n: u64) {
        self.0[reason as usize] += n;
    }

    /// The count for `reason`.
    pub fn get(&self, reason: DropReason) -> u64 {
        self.0[reason as usize]
    }

    /// Adds every count of `other` into `self`.
    pub fn merge(&mut self, other: &DropCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The non-zero counts, in `DropReason::ALL` order.
    pub fn nonzero(&self) -> impl Iterator<Item = (DropReason, u64)> + '_ {
        DropReason::ALL
            .iter()
            .map(|&r| (r, self.get(r)))
            .filter(|&(_, n)| n > 0)
    }

    /// Sum over all reasons except `Garbage` (which counts bytes, not messages).
    pub fn total_messages(&self) -> u64 {
        self.nonzero()
            .filter(|(r, _)| *r != DropReason::Garbage)
            .map(|(_, n)| n)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_reason_and_merges() {
        let mut a = DropCounts::default();
        a.add(DropReason::BadCrc);
        a.add(DropReason::BadCrc);
        a.add_n(DropReason::Garbage, 10);
        let mut b = DropCounts::default();
        b.add(DropReason::BadCpr);
        a.merge(&b);
        assert_eq!(a.get(DropReason::BadCrc), 2);
        assert_eq!(a.total_messages(), 3);
        let names: Vec<_> = a.nonzero().map(|(r, n)| format!("{r}={n}")).collect();
        assert_eq!(names, ["garbage=10", "bad_crc=2", "bad_cpr=1"]);
    }

    #[test]
    fn reason_indices_match_all() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }
}
