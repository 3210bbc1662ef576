//! Reading recordings for the command line: the `FMT:PATH` reader of
//! [`skyfence_decode::input`] with its errors mapped to exit statuses, the decode loop
//! of `skyfence decode` (the shared [`Ingest`] step, without duplicate removal) and its
//! summary line.

use std::collections::HashSet;
use std::io;

use skyfence_core::SourceId;
use skyfence_decode::beast::ClockStats;
use skyfence_decode::decoder::{CommBCounts, CommBTrustCounts, DecoderConfig};
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested, Lanes};
use skyfence_decode::tracker::IcaoBuildHasher;
use skyfence_decode::{DropCounts, Message};

pub use skyfence_decode::codec::{ClockOptions, Item};
pub use skyfence_decode::input::{InputError as ReadError, InputReader, InputSpec, SpecError};

use crate::exit::input_error;

/// Opens `spec`; a file that cannot be opened is a user error (exit status 2).
pub fn open(spec: &InputSpec, clock: ClockOptions) -> anyhow::Result<InputReader> {
    InputReader::open(spec, clock).map_err(|e| match e {
        ReadError::Open { .. } => input_error(e.to_string()),
        ReadError::Read { .. } => anyhow::Error::new(e),
    })
}

/// What reading one input counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct InputStats {
    /// Bytes read.
    pub bytes: u64,
    /// Frames (or SBS lines) delivered by the framing layer.
    pub frames: u64,
    /// Messages accepted by the decoder.
    pub messages: u64,
    /// Accepted messages that carried a resolved position.
    pub positions: u64,
    /// Everything dropped, by reason (framing and decoding).
    pub drops: DropCounts,
    /// Receiver clock wraps and restarts (Beast, AVR).
    pub clock: ClockStats,
    /// DF17 frames repaired by single-bit correction.
    pub corrected: u64,
    /// Frames without a time of their own, their times paced.
    pub untimed: u64,
    /// DF20/21 replies by inferred Comm-B register.
    pub commb: CommBCounts,
    /// What Comm-B trust by repetition did (`--commb-trust-replies`).
    pub commb_trust: CommBTrustCounts,
    /// Distinct targets heard: Mode S addresses of accepted messages (SBS lines
    /// included), Remote ID transmitters; not only those still tracked at the end.
    pub aircraft: usize,
}

/// Reads `spec` to its end, decoding every frame, and calls `on_message` for each
/// accepted message in input order. Stops at the first error `on_message` returns.
pub fn read_messages(
    spec: &InputSpec,
    clock: ClockOptions,
    config: DecoderConfig,
    mut on_message: impl FnMut(&Message) -> io::Result<()>,
) -> anyhow::Result<InputStats> {
    let mut input = open(spec, clock)?;
    // Every message of the one input, copies included: `decode` shows what was received.
    let mut ingest = Ingest::new(IngestConfig {
        decoder: config,
        dedup: false,
        lanes: Lanes::Shared,
        ..IngestConfig::default()
    });
    let source = SourceId(0);
    let mut heard: HashSet<u32, IcaoBuildHasher> = HashSet::default();
    while let Some(item) = input.next_item()? {
        if let Ingested::Accepted(message) = ingest.message(source, &item) {
            heard.insert(message.icao24.as_u32());
            on_message(&message)?;
        }
    }
    let counts = ingest.counts(source);
    let mut drops = input.drops();
    drops.merge(&ingest.drops());
    Ok(InputStats {
        bytes: input.bytes,
        frames: input.items,
        messages: counts.messages,
        positions: counts.positions,
        drops,
        clock: input.clock_stats(),
        corrected: ingest.corrected(),
        untimed: ingest.untimed(),
        commb: ingest.commb(),
        commb_trust: ingest.commb_trust(),
        aircraft: heard.len(),
    })
}

/// Reads a Remote ID input (`remoteid:PATH`) to its end and calls `on_message` for every
/// message of every record (a pack's one by one), in input order, with its record.
/// Messages are decoded alone (no per-drone assembly): `decode` shows what was received.
pub fn read_remoteid_messages(
    spec: &InputSpec,
    clock: ClockOptions,
    mut on_message: impl FnMut(
        &skyfence_decode::remoteid::line::Record,
        &skyfence_decode::remoteid::Decoded,
    ) -> io::Result<()>,
) -> anyhow::Result<InputStats> {
    use skyfence_decode::remoteid::{Message as RidMessage, decode_record};
    let mut input = open(spec, clock)?;
    let mut rejected = DropCounts::default();
    let (mut messages, mut positions) = (0u64, 0u64);
    let mut transmitters = HashSet::new();
    while let Some(item) = input.next_item()? {
        let mut failed = Ok(());
        let Item::RemoteId(record) = item else {
            continue;
        };
        if let Some(t) = record.transmitter {
            transmitters.insert(t);
        }
        decode_record(
            record.data(),
            &mut |d| {
                messages += 1;
                positions += u64::from(matches!(
                    d.message,
                    RidMessage::Location(l) if l.position.is_some()
                ));
                if failed.is_ok() {
                    failed = on_message(&record, &d);
                }
            },
            &mut |r| rejected.add(r),
        );
        failed?;
    }
    let mut drops = input.drops();
    drops.merge(&rejected);
    Ok(InputStats {
        bytes: input.bytes,
        frames: input.items,
        messages,
        positions,
        drops,
        clock: input.clock_stats(),
        corrected: 0,
        untimed: 0,
        commb: CommBCounts::default(),
        commb_trust: CommBTrustCounts::default(),
        aircraft: transmitters.len(),
    })
}

/// The warning for frames without a time of their own, or `None` when there were none.
pub fn untimed_warning(untimed: u64, frames: u64) -> Option<String> {
    (untimed > 0).then(|| {
        format!(
            "warning: {untimed} of {frames} frames had no time of their own (the same timestamp as the frame before, \
             as in AVR without timestamps): their times were paced from ADS-B's shortest position broadcast interval \
             (0.4 s), so they lag the true times and durations come out short (about 0.8 of the true ones); \
             record with timestamps (Beast, or AVR with @ timestamps) for measured times"
        )
    })
}

/// The one-line summary of an input's counts, for stderr.
pub fn summary(spec: &InputSpec, s: &InputStats) -> String {
    let mut out = format!(
        "{spec}: {} bytes, {} frames, {} messages accepted, {} with positions, {} aircraft",
        s.bytes, s.frames, s.messages, s.positions, s.aircraft
    );
    let drops: Vec<String> = s.drops.nonzero().map(|(r, n)| format!("{r}={n}")).collect();
    if drops.is_empty() {
        out.push_str("; nothing dropped");
    } else {
        out.push_str("; dropped: ");
        out.push_str(&drops.join(" "));
    }
    if s.corrected > 0 {
        out.push_str(&format!("; single-bit corrected: {}", s.corrected));
    }
    let commb: Vec<String> = s
        .commb
        .nonzero()
        .map(|(b, n)| format!("{}={n}", b.as_str()))
        .collect();
    if !commb.is_empty() || s.commb.unknown + s.commb.ambiguous > 0 {
        out.push_str(&format!(
            "; Comm-B: {}{}unknown={} ambiguous={}",
            commb.join(" "),
            if commb.is_empty() { "" } else { " " },
            s.commb.unknown,
            s.commb.ambiguous
        ));
    }
    let trust = &s.commb_trust;
    if trust.addresses + trust.replies + trust.inconsistent > 0 {
        out.push_str(&format!(
            "; Comm-B trusted by repetition: {} addresses, {} replies, {} inconsistent",
            trust.addresses, trust.replies, trust.inconsistent
        ));
    }
    if s.untimed > 0 {
        out.push_str(&format!("; untimed frames: {}", s.untimed));
    }
    if s.clock.wraps + s.clock.restarts > 0 {
        out.push_str(&format!(
            "; receiver clock: {} wraps, {} restarts",
            s.clock.wraps, s.clock.restarts
        ));
    }
    out
}
