//! `TrackTable`: what the detector remembers about each target.
//!
//! Compact by design (at most 1 KB per live track; a track is ~140 bytes plus
//! ~230 per zone it is near or in): per-zone state exists only for zones the target is
//! in or approaching, so a target far from every border costs one map entry.

use std::hash::{BuildHasher, BuildHasherDefault, Hasher};

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

use super::incident::Classification;
use super::incursion::{Phase, ZoneSlot};
use crate::airspace::ZoneId;
use crate::{Callsign, EmitterCategory, GeoPoint, Squawk, TargetId, Timestamp, Velocity};

/// An accepted position report: the unit the state machine steps on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// When.
    pub at: Timestamp,
    /// Where.
    pub pos: GeoPoint,
    /// Feet, when known (own or recently heard altitude).
    pub alt_ft: Option<i32>,
}

/// One point of a target's track, as the API prints it (docs/INTERFACES.md, `GET
/// /api/incidents/{id}`: `positions` of `at, lat, lon, alt_ft`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrackPoint {
    /// Report time.
    pub at: Timestamp,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Feet, `null` when unknown.
    pub alt_ft: Option<i32>,
}

impl From<Report> for TrackPoint {
    fn from(r: Report) -> Self {
        TrackPoint {
            at: r.at,
            lat: r.pos.lat,
            lon: r.pos.lon,
            alt_ft: r.alt_ft,
        }
    }
}

impl From<TrackPoint> for Report {
    fn from(p: TrackPoint) -> Self {
        Report {
            at: p.at,
            pos: GeoPoint {
                lat: p.lat,
                lon: p.lon,
            },
            alt_ft: p.alt_ft,
        }
    }
}

/// One target.
///
/// `repr(C)` with the fields one observation touches first (`target`, compared on every
/// table probe, then `heard_at`, `last`, `alt` and `slots`): with the 64-byte alignment
/// they share the entry's first two cache lines, whatever the id's kind. The detector
/// takes a cache miss per observation on a table of 10 000 tracks, so each line the hot
/// path touches costs measurably (BENCHMARKS.md, "detect").
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct Track {
    pub(crate) target: TargetId,
    /// Last observation of any kind.
    pub(crate) heard_at: Timestamp,
    /// Last accepted position report (cleared when it is older than `track_timeout_s`).
    pub(crate) last: Option<Report>,
    /// Last altitude heard, with its time.
    pub(crate) alt: Option<(i32, Timestamp)>,
    /// What the drone said over Remote ID, as of its last Remote ID observation.
    pub(crate) remoteid: Option<std::sync::Arc<crate::RemoteIdInfo>>,
    /// Per-zone state, only for zones the target is near or in.
    pub(crate) slots: Vec<ZoneSlot>,
    pub(crate) category: Option<EmitterCategory>,
    pub(crate) callsign: Option<Callsign>,
    pub(crate) squawk: Option<Squawk>,
    /// Last NACp announced (ADS-B operational status / target state).
    pub(crate) nacp: Option<u8>,
    pub(crate) velocity: Option<Velocity>,
}

impl Track {
    pub(crate) fn new(target: TargetId, at: Timestamp) -> Self {
        Track {
            target,
            last: None,
            heard_at: at,
            alt: None,
            callsign: None,
            category: None,
            squawk: None,
            velocity: None,
            nacp: None,
            remoteid: None,
            slots: Vec::new(),
        }
    }

    /// Who.
    pub fn target(&self) -> TargetId {
        self.target
    }
    /// Last accepted position report, if it is recent (within `track_timeout_s` of the
    /// detector's last sweep).
    pub fn last_report(&self) -> Option<Report> {
        self.last
    }
    /// Time of the last observation of any kind.
    pub fn last_seen_at(&self) -> Timestamp {
        self.heard_at
    }
    /// Last altitude heard (feet).
    pub fn altitude_ft(&self) -> Option<i32> {
        self.alt.map(|(a, _)| a)
    }
    /// Last callsign heard.
    pub fn callsign(&self) -> Option<Callsign> {
        self.callsign
    }
    /// Last emitter category heard.
    pub fn category(&self) -> Option<EmitterCategory> {
        self.category
    }
    /// Last Mode A code heard.
    pub fn squawk(&self) -> Option<Squawk> {
        self.squawk
    }
    /// Last velocity heard.
    pub fn velocity(&self) -> Option<Velocity> {
        self.velocity
    }
    /// Last navigation accuracy category for position (NACp 0–11, DO-260B Table 2-70)
    /// the target announced; `None` if it never did (no ADS-B, or ADS-B version 0).
    pub fn nacp(&self) -> Option<u8> {
        self.nacp
    }
    /// From the emitter category.
    pub fn classification(&self) -> Classification {
        Classification::of(self.target, self.category)
    }
    /// Zones the target is inside (confirmed or not yet).
    pub fn zones_inside(&self) -> impl Iterator<Item = ZoneId> + '_ {
        self.slots
            .iter()
            .filter(|s| s.phase != Phase::Near)
            .map(|s| s.zone)
    }
    /// Zones with a confirmed (open) incursion.
    pub fn zones_confirmed(&self) -> impl Iterator<Item = ZoneId> + '_ {
        self.slots
            .iter()
            .filter(|s| s.phase == Phase::Inside)
            .map(|s| s.zone)
    }
    /// Bytes this track holds (inline and on the heap), for the memory budget.
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.slots.capacity() * std::mem::size_of::<ZoneSlot>()
    }
}

/// A hasher for [`TargetId`] keys: the SplitMix64 finaliser over the key's integers.
///
/// Hand-written (a dozen lines) instead of SipHash: the map is hit once per observation
/// and SipHash would be a measurable share of the budget. The finaliser is a bijection
/// with full avalanche, so addresses a transmitter chooses cannot cluster in the table's
/// low bits any better than random ones (a 24-bit key space leaves no room for a flood
/// beyond 16 M distinct targets, which the table would hold anyway).
#[derive(Default, Clone, Copy, Debug)]
pub struct TargetHasher(u64);

impl Hasher for TargetHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }
    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(26) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn write_isize(&mut self, n: isize) {
        self.write_u64(n as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The hash of a target id in the track table. ICAO addresses, nearly every lookup,
/// take an inlined path (the derived `Hash` of the whole enum is not inlined); the table
/// hashes every key through here, so the two paths never meet.
#[inline]
fn hash_target(target: &TargetId) -> u64 {
    match target {
        TargetId::Icao(a) => {
            let mut h = TargetHasher::default();
            h.write_u32(a.as_u32());
            h.finish()
        }
        other => BuildHasherDefault::<TargetHasher>::default().hash_one(other),
    }
}

/// Every live target, keyed by id.
///
/// A `hashbrown::HashTable` of tracks rather than a map from id to track: the id is
/// stored once, inside the track, so an entry is one [`Track`] and its hot fields sit
/// next to the key the probe compares.
#[derive(Clone, Debug, Default)]
pub struct TrackTable {
    map: HashTable<Track>,
}

impl TrackTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of live tracks.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// True when no target is tracked.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// The track of `target`, if live.
    pub fn get(&self, target: TargetId) -> Option<&Track> {
        self.map.find(hash_target(&target), |t| t.target == target)
    }
    /// Every live track, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Track> + '_ {
        self.map.iter()
    }
    /// The track of `target`, created (and `created` counted) when it is new.
    #[inline]
    pub(crate) fn get_or_insert(
        &mut self,
        target: TargetId,
        at: Timestamp,
        created: &mut u64,
    ) -> &mut Track {
        match self.map.entry(
            hash_target(&target),
            |t| t.target == target,
            |t| hash_target(&t.target),
        ) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(v) => {
                *created += 1;
                v.insert(Track::new(target, at)).into_mut()
            }
        }
    }
    /// Keeps only the tracks for which `keep` says true.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&mut Track) -> bool) {
        self.map.retain(keep);
    }
    /// Bytes held by the table (entries, spare capacity and per-zone state): divide by
    /// [`TrackTable::len`] for the per-track cost.
    pub fn bytes(&self) -> usize {
        let entry = std::mem::size_of::<Track>() + 1;
        self.map.capacity() * entry
            + self
                .map
                .iter()
                .map(|t| t.slots.capacity() * std::mem::size_of::<ZoneSlot>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hasher_spreads_neighbouring_addresses() {
        let b = BuildHasherDefault::<TargetHasher>::default();
        let h = |a: u32| b.hash_one(TargetId::Icao(crate::Icao24::from_u32_masked(a)));
        // Consecutive addresses land in distinct low-bit buckets of a 1024-slot table.
        let buckets: std::collections::HashSet<u64> = (0..256).map(|a| h(a) & 1023).collect();
        assert!(buckets.len() > 200, "{}", buckets.len());
        assert_ne!(h(1), h(2));
    }

    #[test]
    fn a_track_fits_the_budget() {
        assert!(
            std::mem::size_of::<Track>() <= 192 && std::mem::align_of::<Track>() == 64,
            "{}",
            std::mem::size_of::<Track>()
        );
        assert!(
            std::mem::size_of::<ZoneSlot>() <= 256,
            "{}",
            std::mem::size_of::<ZoneSlot>()
        );
    }
}
