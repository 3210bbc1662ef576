//! `TrackTable`: what the detector remembers about each target.
//!
//! Compact by design (at most 1 KB per live track; a track is 128 bytes plus
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

/// A track's key. ICAO addresses, nearly every target, are stored inline; any other id
/// (a Remote ID, a sensor's track) is boxed with what only such targets carry, so that
/// the key costs 16 bytes instead of a whole 32-byte [`TargetId`] in every entry.
#[derive(Clone, Debug)]
pub(crate) enum TrackKey {
    Icao(crate::Icao24),
    Other(Box<OtherTarget>),
}

/// The part of a non-ICAO track kept out of line.
#[derive(Clone, Debug)]
pub(crate) struct OtherTarget {
    id: TargetId,
    /// What the drone said over Remote ID, as of its last Remote ID observation.
    remoteid: Option<std::sync::Arc<crate::RemoteIdInfo>>,
}

impl TrackKey {
    fn new(target: TargetId) -> Self {
        match target {
            TargetId::Icao(a) => TrackKey::Icao(a),
            id => TrackKey::Other(Box::new(OtherTarget { id, remoteid: None })),
        }
    }

    #[inline]
    pub(crate) fn id(&self) -> TargetId {
        match self {
            TrackKey::Icao(a) => TargetId::Icao(*a),
            TrackKey::Other(o) => o.id,
        }
    }

    pub(crate) fn remoteid(&self) -> Option<&crate::RemoteIdInfo> {
        match self {
            TrackKey::Other(o) => o.remoteid.as_deref(),
            TrackKey::Icao(_) => None,
        }
    }

    #[inline]
    fn is(&self, target: &TargetId) -> bool {
        match (self, target) {
            (TrackKey::Icao(a), TargetId::Icao(b)) => a == b,
            (TrackKey::Other(o), t) => o.id == *t,
            _ => false,
        }
    }
}

/// One target.
///
/// `repr(C)` with the fields one observation touches first (`key`, compared on every
/// table probe, then `heard_at`, `last`, the altitude and `slots`); 64-byte aligned and
/// at most 128 bytes, so an entry is exactly two cache lines. The detector takes a cache
/// miss per observation on a table of 10 000 tracks, so each line the hot path touches
/// costs measurably (BENCHMARKS.md, "detect").
#[derive(Clone, Debug)]
#[repr(C, align(64))]
pub struct Track {
    pub(crate) key: TrackKey,
    /// Last observation of any kind.
    pub(crate) heard_at: Timestamp,
    /// Last accepted position report (cleared when it is older than `track_timeout_s`).
    pub(crate) last: Option<Report>,
    /// Last altitude heard (feet), and when (meaningless while `alt_ft` is `None`).
    pub(crate) alt_ft: Option<i32>,
    pub(crate) alt_at: Timestamp,
    /// Per-zone state, only for zones the target is near or in.
    pub(crate) slots: thin_vec::ThinVec<ZoneSlot>,
    pub(crate) velocity: Option<Velocity>,
    pub(crate) callsign: Option<Callsign>,
    pub(crate) squawk: Option<Squawk>,
    pub(crate) category: Option<EmitterCategory>,
    /// Last NACp announced (ADS-B operational status / target state).
    pub(crate) nacp: Option<u8>,
}

impl Track {
    pub(crate) fn new(target: TargetId, at: Timestamp) -> Self {
        Track {
            key: TrackKey::new(target),
            last: None,
            heard_at: at,
            alt_ft: None,
            alt_at: at,
            callsign: None,
            category: None,
            squawk: None,
            velocity: None,
            nacp: None,
            slots: thin_vec::ThinVec::new(),
        }
    }

    /// Who.
    #[inline]
    pub fn target(&self) -> TargetId {
        self.key.id()
    }
    /// Last altitude heard (feet) and its time.
    #[inline]
    pub(crate) fn alt(&self) -> Option<(i32, Timestamp)> {
        self.alt_ft.map(|a| (a, self.alt_at))
    }
    #[inline]
    pub(crate) fn set_alt(&mut self, feet: i32, at: Timestamp) {
        self.alt_ft = Some(feet);
        self.alt_at = at;
    }
    /// What the drone last said over Remote ID (Remote ID targets only).
    pub fn remoteid(&self) -> Option<&crate::RemoteIdInfo> {
        self.key.remoteid()
    }
    /// Keeps what a Remote ID observation said. Remote ID is only ever heard from Remote
    /// ID targets, never ICAO ones, whose key has no room for it.
    pub(crate) fn set_remoteid(&mut self, info: &Option<std::sync::Arc<crate::RemoteIdInfo>>) {
        if let TrackKey::Other(o) = &mut self.key {
            o.remoteid.clone_from(info);
        }
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
        self.alt_ft
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
        Classification::of(self.target(), self.category)
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
        std::mem::size_of::<Self>() + self.heap_bytes()
    }
    /// Bytes this track holds on the heap: its zone slots (behind a two-word header) and,
    /// for a target other than an ICAO address, its boxed id.
    fn heap_bytes(&self) -> usize {
        let slots = match self.slots.capacity() {
            0 => 0,
            n => 2 * std::mem::size_of::<usize>() + n * std::mem::size_of::<ZoneSlot>(),
        };
        let key = match self.key {
            TrackKey::Icao(_) => 0,
            TrackKey::Other(_) => std::mem::size_of::<OtherTarget>(),
        };
        slots + key
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
/// The tracks sit densely in one `Vec`, found through a small `hashbrown::HashTable` of
/// their positions in it (4 bytes a slot). The lookup, made once per observation, then
/// touches an index that stays in the L2 cache (64 KiB for 10 000 tracks) and one
/// densely packed entry, instead of an entry in a table kept a third empty for its
/// probes: 10 000 tracks span 1.3 MB of entries rather than 2.1 MB. The id is stored
/// once, inside the track.
#[derive(Clone, Debug, Default)]
pub struct TrackTable {
    index: HashTable<u32>,
    tracks: Vec<Track>,
}

impl TrackTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }
    /// Number of live tracks.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }
    /// True when no target is tracked.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }
    /// The track of `target`, if live.
    pub fn get(&self, target: TargetId) -> Option<&Track> {
        let tracks = &self.tracks;
        self.index
            .find(hash_target(&target), |&i| {
                tracks[i as usize].key.is(&target)
            })
            .map(|&i| &tracks[i as usize])
    }
    /// Every live track, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Track> + '_ {
        self.tracks.iter()
    }
    /// The track of `target`, created (and `created` counted) when it is new.
    #[inline]
    pub(crate) fn get_or_insert(
        &mut self,
        target: TargetId,
        at: Timestamp,
        created: &mut u64,
    ) -> &mut Track {
        let Self { index, tracks } = self;
        let found = {
            let tracks = &*tracks;
            index.entry(
                hash_target(&target),
                |&i| tracks[i as usize].key.is(&target),
                |&i| hash_target(&tracks[i as usize].target()),
            )
        };
        match found {
            Entry::Occupied(e) => &mut tracks[*e.get() as usize],
            Entry::Vacant(v) => {
                *created += 1;
                // At most 2^32 tracks: far beyond the 24-bit ICAO space and any budget.
                let i = u32::try_from(tracks.len()).expect("fewer than 2^32 tracks");
                v.insert(i);
                tracks.push(Track::new(target, at));
                tracks.last_mut().expect("just pushed")
            }
        }
    }
    /// Asks the CPU to start loading the track `target` most likely has, without waiting
    /// for it: the index is probed by hash alone (no key compared, so nothing waits on
    /// the track's memory), and the candidate's two cache lines are prefetched.
    #[inline]
    pub(crate) fn prefetch(&self, target: &TargetId) {
        if let Some(&i) = self.index.find(hash_target(target), |_| true)
            && let Some(t) = self.tracks.get(i as usize)
        {
            prefetch_lines(std::ptr::from_ref(t).cast());
        }
    }
    /// Keeps only the tracks for which `keep` says true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut Track) -> bool) {
        let mut i = 0;
        while i < self.tracks.len() {
            if keep(&mut self.tracks[i]) {
                i += 1;
                continue;
            }
            let at = i as u32;
            if let Ok(e) = self
                .index
                .find_entry(hash_target(&self.tracks[i].target()), |&j| j == at)
            {
                e.remove();
            }
            let last = (self.tracks.len() - 1) as u32;
            self.tracks.swap_remove(i);
            if at != last {
                // The last track moved into the hole: point its index slot there.
                let moved = hash_target(&self.tracks[i].target());
                if let Some(slot) = self.index.find_mut(moved, |&j| j == last) {
                    *slot = at;
                }
            }
        }
    }
    /// Bytes held by the table (entries, spare capacity and per-zone state): divide by
    /// [`TrackTable::len`] for the per-track cost.
    pub fn bytes(&self) -> usize {
        let slot = std::mem::size_of::<u32>() + 1;
        self.index.capacity() * slot
            + self.tracks.capacity() * std::mem::size_of::<Track>()
            + self.tracks.iter().map(Track::heap_bytes).sum::<usize>()
    }
}

/// Prefetches the two cache lines at `p` into every cache level.
///
/// The one `unsafe` block of the workspace (its lint is `deny`, allowed here only): the
/// `_mm_prefetch` intrinsic is declared unsafe because it takes a raw pointer, but a
/// prefetch is a hint that never faults and never reads into the program, whatever the
/// address. Measured on the detect bench (BENCHMARKS.md): it hides the track's cache miss
/// behind the zone lookup that follows it.
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_lines(p: *const i8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching any address is defined behaviour (it cannot fault).
    unsafe {
        use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(p);
        _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(64));
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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
            std::mem::size_of::<Track>() <= 128 && std::mem::align_of::<Track>() == 64,
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
