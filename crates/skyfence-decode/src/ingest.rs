//! The ingest step: one codec [`Item`] in, at most one [`Observation`] out: duplicate
//! receptions dropped ([`DuplicateFilter`]), frames decoded ([`Decoder`]), messages
//! normalised ([`Message::to_observation`]: source, raw record, position kind, accuracy),
//! everything counted.
//!
//! `skyfence analyze`, the live service's detector task and a bundle's re-detection all
//! call this step, so what the verifier recomputes from a bundle's frames is what the
//! service computed when it received them, by construction. They differ only in the
//! [`IngestConfig`] they choose:
//!
//! | user | duplicates | decoders |
//! |---|---|---|
//! | `analyze` | dropped | [`Lanes::Shared`]: its inputs are merged in time order into one stream |
//! | live service | dropped | [`Lanes::PerSource`]: each source's stream has its own times |
//! | bundle re-detection | kept ([`IngestConfig::dedup`] off): a bundle holds only frames that already passed the service's filter | [`Lanes::PerSource`], one per sensor, as in the service |
//!
//! Nothing here allocates per frame: lanes and counters grow only when a new source
//! appears.

use skyfence_core::{Observation, ShortName, SourceId, TargetId, Timestamp};

use crate::asterix::associate::{AssociationCounts, Associator};
use crate::asterix::observe::Observed;
use crate::asterix::{self, AsterixItem};
use crate::codec::Item;
use crate::decoder::{Decoder, DecoderConfig};
use crate::dedup::DuplicateFilter;
use crate::remoteid::assemble::Assembler;
use crate::sensor::{Sensor, SensorType};
use crate::{DropCounts, Message};

/// Which decoder (per-aircraft state) a source's frames go through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lanes {
    /// One decoder for every source.
    #[default]
    Shared,
    /// One decoder per source.
    PerSource,
}

/// Settings of the [`Ingest`] step.
#[derive(Clone, Debug, PartialEq)]
pub struct IngestConfig {
    /// The Mode S decoder's settings (every lane gets the same).
    pub decoder: DecoderConfig,
    /// Drop frames whose bytes were already received within
    /// [`crate::dedup::DUPLICATE_WINDOW_US`].
    pub dedup: bool,
    /// Which decoder each source's frames go through.
    pub lanes: Lanes,
    /// The declared sensors: ASTERIX records are matched to them by SAC/SIC.
    pub sensors: Vec<Sensor>,
    /// The sensor of each source (indexed by [`SourceId`]), when named
    /// (`FMT:PATH@SENSOR`, `[[source]] sensor` or the source's name): observations of
    /// protocols that do not name their sensor themselves (Mode S, Remote ID) carry it.
    pub source_sensors: Vec<Option<ShortName>>,
}

impl Default for IngestConfig {
    /// Duplicates dropped, one shared decoder with default settings.
    fn default() -> Self {
        IngestConfig {
            decoder: DecoderConfig::default(),
            dedup: true,
            lanes: Lanes::Shared,
            sensors: Vec::new(),
            source_sensors: Vec::new(),
        }
    }
}

/// What the step counted for one source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IngestCounts {
    /// Items handed in.
    pub items: u64,
    /// Frames dropped as duplicate receptions.
    pub duplicates: u64,
    /// Frames the decoder rejected (the reasons are in [`Ingest::drops`]).
    pub rejected: u64,
    /// Messages delivered (decoded frames and already-decoded items).
    pub messages: u64,
    /// Delivered messages with a resolved position.
    pub positions: u64,
}

impl IngestCounts {
    /// Counts one item and what became of it (a service message, such as a radar's
    /// north marker, is an item and nothing more).
    #[inline]
    fn tally<T>(&mut self, result: &Ingested<T>, has_position: impl FnOnce(&T) -> bool) {
        self.items += 1;
        match result {
            Ingested::Accepted(x) => {
                self.messages += 1;
                self.positions += u64::from(has_position(x));
            }
            Ingested::Duplicate => self.duplicates += 1,
            Ingested::Rejected => self.rejected += 1,
            Ingested::Service => {}
        }
    }
}

/// What became of one item.
#[derive(Clone, Debug, PartialEq)]
pub enum Ingested<T> {
    /// The item gave this.
    Accepted(T),
    /// A duplicate reception, dropped.
    Duplicate,
    /// The decoder rejected the frame (counted by reason in its drops).
    Rejected,
    /// A record about the sensor itself, not a target (ASTERIX CAT034): no observation.
    Service,
}

impl<T> Ingested<T> {
    /// The accepted value, if any.
    pub fn accepted(self) -> Option<T> {
        match self {
            Ingested::Accepted(t) => Some(t),
            Ingested::Duplicate | Ingested::Rejected | Ingested::Service => None,
        }
    }
}

/// The ingest step (see the module documentation).
///
/// Counters (and, with [`Lanes::PerSource`], decoders) are kept in vectors indexed by
/// [`SourceId`], so callers number their sources densely from 0 (as the service's
/// `[[source]]` order, `analyze`'s input order and a bundle's sensor order do).
pub struct Ingest {
    config: DecoderConfig,
    lanes: Lanes,
    dedup: Option<DuplicateFilter>,
    decoders: Vec<Decoder>,
    counts: Vec<IngestCounts>,
    sensors: Vec<Sensor>,
    /// ASTERIX records that gave no observation, by reason.
    asterix_drops: DropCounts,
    /// Remote ID records, assembled per drone (one state for every lane: a drone is
    /// keyed by its source and transmitter).
    remoteid: Assembler,
    source_sensors: Vec<Option<ShortName>>,
    /// Radar reports without a Mode S address, associated with the targets of every
    /// sensor (one state for every lane: an aircraft is one target whatever sees it).
    associator: Associator,
    /// Whether a radar is declared (`[[sensor]] type = "radar"`; CAT048 plots of others
    /// cannot be placed): only then does association keep the state of every target,
    /// from the first record on, so inputs without radar pay nothing for it and a
    /// bundle's re-detection (with the logged config's sensors) associates as the
    /// service did.
    radar_declared: bool,
}

impl Ingest {
    /// A step with no source seen yet.
    pub fn new(config: IngestConfig) -> Self {
        Ingest {
            dedup: config.dedup.then(DuplicateFilter::new),
            lanes: config.lanes,
            decoders: Vec::new(),
            counts: Vec::new(),
            remoteid: Assembler::new(),
            config: config.decoder,
            sensors: config.sensors,
            source_sensors: config.source_sensors,
            asterix_drops: DropCounts::default(),
            associator: Associator::new(),
            radar_declared: false,
        }
        .with_radar_flag()
    }

    fn with_radar_flag(mut self) -> Self {
        self.radar_declared = self.sensors.iter().any(|s| s.kind == SensorType::Radar);
        self
    }

    /// The index of `source`'s decoder, created on first use.
    fn lane(&mut self, source: SourceId) -> usize {
        let lane = match self.lanes {
            Lanes::Shared => 0,
            Lanes::PerSource => usize::from(source.0),
        };
        while self.decoders.len() <= lane {
            self.decoders.push(Decoder::new(self.config.clone()));
        }
        lane
    }

    fn counts_mut(&mut self, source: SourceId) -> &mut IngestCounts {
        let i = usize::from(source.0);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, IngestCounts::default());
        }
        &mut self.counts[i]
    }

    /// Dedups and decodes one item from `source`: the message it gives, if any.
    #[inline]
    pub fn message(&mut self, source: SourceId, item: &Item) -> Ingested<Message> {
        let lane = self.lane(source);
        let result = match item {
            Item::Frame(f) => {
                if self.dedup.as_mut().is_some_and(|d| d.is_duplicate(f)) {
                    Ingested::Duplicate
                } else {
                    match self.decoders[lane].decode(f) {
                        Some(m) => Ingested::Accepted(m),
                        None => Ingested::Rejected,
                    }
                }
            }
            Item::Decoded(m) => Ingested::Accepted(**m),
            // Not Mode S messages: ASTERIX and Remote ID records become observations in
            // `observe`.
            Item::Asterix(_) | Item::RemoteId(_) => Ingested::Rejected,
        };
        self.counts_mut(source)
            .tally(&result, |m| m.position.is_some());
        result
    }

    /// Turns one ASTERIX record from `source` into its observation (no duplicate
    /// removal: a radar's reports are its own, never copies heard by another receiver).
    fn observe_asterix(&mut self, source: SourceId, item: &AsterixItem) -> Ingested<Observation> {
        let result = match asterix::observe::observe(&self.sensors, source, item) {
            Observed::Target(mut o) => {
                let r = &item.report;
                if let (Some(icao), Some(number), Some(sensor)) =
                    (r.address, r.track_number, o.sensor)
                {
                    self.associator.bind(sensor, number, icao, o.at);
                }
                if matches!(o.target, TargetId::Track { .. }) && r.category == 48 {
                    self.associator.associate(&mut o);
                }
                if self.radar_declared {
                    self.associator.note(&o);
                }
                Ingested::Accepted(*o)
            }
            Observed::Untracked(mut o) => {
                if self.associator.associate(&mut o) {
                    self.associator.note(&o);
                    Ingested::Accepted(*o)
                } else {
                    self.asterix_drops.add(crate::DropReason::Untracked);
                    Ingested::Rejected
                }
            }
            Observed::Service => Ingested::Service,
            Observed::Dropped(reason) => {
                self.asterix_drops.add(reason);
                Ingested::Rejected
            }
        };
        self.counts_mut(source)
            .tally(&result, |o| o.position.is_some());
        result
    }

    /// Dedups, decodes and normalises one item from `source`: the observation it gives.
    #[inline]
    pub fn observe(&mut self, source: SourceId, item: &Item) -> Ingested<Observation> {
        if let Item::Asterix(a) = item {
            return self.observe_asterix(source, a);
        }
        if let Item::RemoteId(record) = item {
            let sensor = self.source_sensor(source);
            let result = match self.remoteid.observe_by(source, sensor, record) {
                Some(o) => {
                    // A radar's plots of the drone join it through the gate.
                    if self.radar_declared {
                        self.associator.note(&o);
                    }
                    Ingested::Accepted(o)
                }
                None => Ingested::Rejected,
            };
            self.counts_mut(source)
                .tally(&result, |o| o.position.is_some());
            return result;
        }
        match self.message(source, item) {
            Ingested::Accepted(m) => {
                let mut o = m.to_observation(source);
                o.sensor = self.source_sensor(source);
                if self.radar_declared {
                    self.associator.note(&o);
                }
                Ingested::Accepted(o)
            }
            Ingested::Duplicate => Ingested::Duplicate,
            Ingested::Rejected => Ingested::Rejected,
            Ingested::Service => Ingested::Service,
        }
    }

    /// Names the sensor of `source` (as [`IngestConfig::source_sensors`] does for the
    /// sources known in advance).
    pub fn name_source(&mut self, source: SourceId, sensor: Option<ShortName>) {
        let i = usize::from(source.0);
        if self.source_sensors.len() <= i {
            self.source_sensors.resize(i + 1, None);
        }
        self.source_sensors[i] = sensor;
    }

    /// The named sensor of `source`, if any ([`IngestConfig::source_sensors`]).
    #[inline]
    pub fn source_sensor(&self, source: SourceId) -> Option<ShortName> {
        self.source_sensors
            .get(usize::from(source.0))
            .copied()
            .flatten()
    }

    /// What plot-to-track association did so far (see [`crate::asterix::associate`]).
    pub fn association(&self) -> AssociationCounts {
        self.associator.counts()
    }

    /// Forgets silent aircraft and old receptions as of `now` (data time or the
    /// machine clock, whichever drives the caller).
    pub fn expire(&mut self, now: Timestamp) {
        for d in &mut self.decoders {
            d.expire(now);
        }
        if let Some(d) = &mut self.dedup {
            d.expire(now);
        }
        self.remoteid.expire(now);
    }

    /// What the decoder of `source`'s lane dropped so far, by reason (with
    /// [`Lanes::Shared`], every source's).
    pub fn lane_drops(&self, source: SourceId) -> DropCounts {
        let lane = match self.lanes {
            Lanes::Shared => 0,
            Lanes::PerSource => usize::from(source.0),
        };
        let mut drops = self
            .decoders
            .get(lane)
            .map(|d| *d.drops())
            .unwrap_or_default();
        drops.merge(&self.remoteid.drops(source));
        drops
    }

    /// What every decoder dropped so far, by reason.
    pub fn drops(&self) -> DropCounts {
        let mut all = self.asterix_drops;
        for d in &self.decoders {
            all.merge(d.drops());
        }
        all.merge(&self.remoteid.all_drops());
        all
    }

    /// The counts of `source`.
    pub fn counts(&self, source: SourceId) -> IngestCounts {
        self.counts
            .get(usize::from(source.0))
            .copied()
            .unwrap_or_default()
    }

    /// The counts of every source together.
    pub fn total(&self) -> IngestCounts {
        self.counts
            .iter()
            .fold(IngestCounts::default(), |a, c| IngestCounts {
                items: a.items + c.items,
                duplicates: a.duplicates + c.duplicates,
                rejected: a.rejected + c.rejected,
                messages: a.messages + c.messages,
                positions: a.positions + c.positions,
            })
    }

    /// Duplicate receptions dropped so far.
    pub fn duplicates(&self) -> u64 {
        self.dedup.as_ref().map_or(0, DuplicateFilter::duplicates)
    }

    /// DF17 frames repaired by single-bit correction, over every lane.
    pub fn corrected(&self) -> u64 {
        self.decoders.iter().map(Decoder::corrected).sum()
    }

    /// Frames without a time of their own (the same input time as the frame before),
    /// whose times were paced, over every lane (tracker.rs, "Frames without their own
    /// time").
    pub fn untimed(&self) -> u64 {
        self.decoders.iter().map(Decoder::untimed).sum()
    }

    /// DF20/21 replies by inferred Comm-B register, over every lane.
    pub fn commb(&self) -> crate::decoder::CommBCounts {
        let mut all = crate::decoder::CommBCounts::default();
        for d in &self.decoders {
            all.merge(d.commb());
        }
        all
    }

    /// What Comm-B trust by repetition did, over every lane
    /// (`DecoderConfig::commb_trust_replies`).
    pub fn commb_trust(&self) -> crate::decoder::CommBTrustCounts {
        let mut all = crate::decoder::CommBTrustCounts::default();
        for d in &self.decoders {
            all.merge(d.commb_trust());
        }
        all
    }

    /// Aircraft the decoders track now, over every lane, and drones being assembled.
    pub fn aircraft(&self) -> usize {
        self.decoders
            .iter()
            .map(|d| d.tracker().len())
            .sum::<usize>()
            + self.remoteid.drones()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Frame;
    use crate::decoder::CommBInference;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn item(ms: i64, h: &str) -> Item {
        Item::Frame(Frame::new(Timestamp::from_micros(ms * 1000), &hex(h)).unwrap())
    }

    /// KLM1023's identification ("The 1090 Megahertz Riddle").
    const IDENT: &str = "8D4840D6202CC371C32CE0576098";

    #[test]
    fn duplicates_rejections_and_observations_are_counted_per_source() {
        let mut ingest = Ingest::new(IngestConfig::default());
        let (a, b) = (SourceId(0), SourceId(3));
        let obs = ingest.observe(a, &item(0, IDENT)).accepted().unwrap();
        assert_eq!(obs.source, a);
        assert_eq!(obs.target.to_string(), "4840d6");
        assert_eq!(
            obs.raw.as_ref().and_then(|r| r.mode_s()).map(|f| f.bytes),
            Some(Frame::new(Timestamp::EPOCH, &hex(IDENT)).unwrap().raw.bytes)
        );
        assert_eq!(ingest.observe(b, &item(5, IDENT)), Ingested::Duplicate);
        // A bad CRC.
        assert_eq!(
            ingest.observe(b, &item(10, "8D4840D6202CC371C32CE0576099")),
            Ingested::Rejected
        );
        let ca = ingest.counts(a);
        assert_eq!((ca.items, ca.messages, ca.duplicates), (1, 1, 0));
        let cb = ingest.counts(b);
        assert_eq!((cb.items, cb.duplicates, cb.rejected), (2, 1, 1));
        assert_eq!(ingest.duplicates(), 1);
        assert_eq!(ingest.total().items, 3);
        assert_eq!(ingest.drops().total_messages(), 1);
    }

    #[test]
    fn without_dedup_every_copy_is_decoded() {
        let mut ingest = Ingest::new(IngestConfig {
            dedup: false,
            lanes: Lanes::PerSource,
            ..IngestConfig::default()
        });
        for ms in [0, 5] {
            assert!(
                ingest
                    .observe(SourceId(1), &item(ms, IDENT))
                    .accepted()
                    .is_some()
            );
        }
        assert_eq!(ingest.duplicates(), 0);
        assert_eq!(ingest.counts(SourceId(1)).messages, 2);
    }

    /// A Comm-B identification (DF20, BDS 2,0) names an aircraft that never sent an
    /// ADS-B identification: the callsign is on its observations, so incidents name it.
    #[test]
    fn a_commb_callsign_names_the_target() {
        let callsign = b"PAF1234 ";
        let mut mb: u64 = 0x20;
        for &c in callsign {
            let i = crate::adsb::CHARSET.iter().position(|&x| x == c).unwrap() as u64;
            mb = (mb << 6) | i;
        }
        let mut f = [0u8; 14];
        f[0] = 20 << 3;
        f[2] = 0x18;
        f[3] = 0x38;
        f[4..11].copy_from_slice(&mb.to_be_bytes()[1..]);
        let ap = crate::crc::parity(&f[..11]) ^ 0x4840d6;
        f[11..14].copy_from_slice(&ap.to_be_bytes()[1..]);
        let df20: String = f.iter().map(|b| format!("{b:02X}")).collect();
        // An all-call reply (DF11) announces the address; no ADS-B identification.
        let df11 = {
            let mut g = [11 << 3 | 5, 0x48, 0x40, 0xd6, 0, 0, 0];
            let p = crate::crc::parity(&g[..4]);
            g[4..7].copy_from_slice(&p.to_be_bytes()[1..]);
            g.iter().map(|b| format!("{b:02X}")).collect::<String>()
        };
        for commb in [CommBInference::Infer, CommBInference::Off] {
            let mut ingest = Ingest::new(IngestConfig {
                decoder: DecoderConfig {
                    commb,
                    ..DecoderConfig::default()
                },
                ..IngestConfig::default()
            });
            assert!(
                ingest
                    .observe(SourceId(0), &item(0, &df11))
                    .accepted()
                    .is_some()
            );
            let obs = ingest
                .observe(SourceId(0), &item(50, &df20))
                .accepted()
                .expect("a DF20 from a heard address");
            let named = obs.identity.callsign.map(|c| c.to_string());
            if commb == CommBInference::Infer {
                assert_eq!(named.as_deref(), Some("PAF1234"));
                assert_eq!(ingest.commb().inferred[2], 1);
            } else {
                // Without inference the reply is still accepted, its MB left alone.
                assert_eq!(named, None);
                assert_eq!(ingest.commb().inferred, [0; 7]);
            }
        }
    }

    /// A DF4 reply's address comes from its parity: accepted only for an address its
    /// lane's decoder has heard announced. Shared lanes share what they heard.
    #[test]
    fn lanes_decide_which_announcements_a_source_sees() {
        // A DF4 altitude reply (FL 380 coding aside, any 13-bit field) from 4840D6:
        // parity of the first four bytes overlaid with the address.
        let df4 = {
            let mut f = [4 << 3, 0x00, 0x18, 0x38, 0, 0, 0];
            let ap = crate::crc::parity(&f[..4]) ^ 0x4840d6;
            f[4..7].copy_from_slice(&ap.to_be_bytes()[1..]);
            f.iter().map(|b| format!("{b:02X}")).collect::<String>()
        };
        for (lanes, accepted) in [(Lanes::Shared, true), (Lanes::PerSource, false)] {
            let mut ingest = Ingest::new(IngestConfig {
                lanes,
                ..IngestConfig::default()
            });
            assert!(
                ingest
                    .observe(SourceId(0), &item(0, IDENT))
                    .accepted()
                    .is_some()
            );
            let got = ingest.observe(SourceId(1), &item(100, &df4)).accepted();
            assert_eq!(got.is_some(), accepted, "{lanes:?}");
        }
    }
}
