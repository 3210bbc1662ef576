//! From received Remote ID records to observations: each drone's messages are put
//! together by who sent them.
//!
//! A drone broadcasts its Basic ID, Location, System, Operator ID, Self-ID and
//! Authentication as separate messages (Bluetooth 4 legacy advertising: one per
//! advertisement, the same advertiser address for all of them) or together in a message
//! pack (Bluetooth 5, Wi-Fi). The [`Assembler`] keeps per drone what it said last, keyed
//! by the advertiser address / source MAC (or, for a pack heard without one, by the UAS ID
//! the pack carries), and turns every record into at most one [`Observation`]:
//!
//! - of [`TargetId::RemoteId`] named by the Basic ID ([`BasicId::target_name`]; a serial
//!   number is preferred to the other id types when a drone sends two);
//! - with the Location's position (`position_kind` [`PositionKind::RemoteId`], self-reported),
//!   its horizontal accuracy as `accuracy_m`, geodetic altitude (else pressure altitude),
//!   speed, track and vertical speed;
//! - carrying the raw record ([`Protocol::RemoteId`], [`Record::evidence_bytes`]) and the
//!   RSSI ([`Signal::Dbm`]), so every record of a drone is evidence;
//! - and [`RemoteIdInfo`]: UA type, Self-ID, operator position and id, whether an
//!   Authentication message was heard (its pages are assembled and kept).
//!
//! A record from a transmitter whose Basic ID was not heard yet names no target: it is
//! counted as [`DropReason::UnknownAddress`]. Messages the decoder rejects are counted
//! by their reason.

use std::collections::HashMap;
use std::sync::Arc;

use skyfence_core::{
    Altitude, AltitudeDatum, GeoPoint, Observation, OperatorFix, PositionKind, Protocol, RawRecord,
    RemoteIdInfo, ShortName, Signal, SourceId, TargetId, Timestamp, Velocity,
};

use super::line::Record;
use super::message::{
    AUTH_MAX_PAGES, AUTH_PAGE_DATA, AUTH_PAGE0_DATA, AuthPage, EPOCH_2019_UNIX_S, IdType, Location,
    Message, decode_record,
};
use crate::{DropCounts, DropReason};

/// How long a silent drone's state is kept, microseconds (Remote ID broadcasts at least
/// once a second; a minute without a message ends its assembly).
pub const DRONE_TIMEOUT_US: i64 = 60_000_000;

const MPS_TO_KT: f32 = 1.943_844;
const MPS_TO_FPM: f32 = 196.850_4;
const M_TO_FT: f32 = 3.280_84;

/// The pages of one authentication, as they arrive.
#[derive(Clone, Debug, Default)]
pub struct AuthPages {
    /// The pages heard, by page number: a drone that sends no Authentication costs
    /// nothing here (most do not; an inline array of 16 pages was 384 bytes per drone).
    pages: Vec<(u8, [u8; AUTH_PAGE_DATA])>,
    last_page: Option<u8>,
    length: Option<u8>,
}

impl AuthPages {
    /// Keeps `page` (a newer copy of a page replaces the older one; a page 0 of another
    /// length or page count than the previous page 0 starts afresh).
    pub fn add(&mut self, page: &AuthPage) {
        if page.page == 0 && (page.last_page, page.length) != (self.last_page, self.length) {
            if self.last_page.is_some() {
                *self = AuthPages::default();
            }
            self.last_page = page.last_page;
            self.length = page.length;
        }
        let mut data = [0u8; AUTH_PAGE_DATA];
        data[..page.data().len()].copy_from_slice(page.data());
        if usize::from(page.page) >= AUTH_MAX_PAGES {
            return;
        }
        match self.pages.iter_mut().find(|(n, _)| *n == page.page) {
            Some((_, d)) => *d = data,
            None => {
                // Most drones that authenticate send one or two pages: grow one at a time.
                self.pages.reserve_exact(1);
                self.pages.push((page.page, data));
            }
        }
    }

    /// The authentication data once page 0 and every page it announces are in: page 0's
    /// 17 bytes and 23 from each further page, cut to the announced length.
    pub fn assembled(&self) -> Option<Vec<u8>> {
        let last = usize::from(self.last_page?);
        let mut out = Vec::with_capacity(AUTH_PAGE0_DATA + last * AUTH_PAGE_DATA);
        for i in 0..=last {
            let (_, p) = self.pages.iter().find(|(n, _)| usize::from(*n) == i)?;
            out.extend_from_slice(if i == 0 { &p[..AUTH_PAGE0_DATA] } else { p });
        }
        out.truncate(usize::from(self.length?));
        Some(out)
    }
}

/// What one drone said so far.
#[derive(Clone, Debug, Default)]
struct Drone {
    name: Option<(IdType, ShortName)>,
    /// What observations carry, shared with them (and the detector's track): copied
    /// only when a message changes it while shared.
    info: Arc<RemoteIdInfo>,
    operator_id: Option<String>,
    auth: AuthPages,
    heard_at: Timestamp,
}

impl Drone {
    /// Applies `f` when `changes` says it would change the info.
    fn set_info(
        &mut self,
        changes: impl FnOnce(&RemoteIdInfo) -> bool,
        f: impl FnOnce(&mut RemoteIdInfo),
    ) {
        if changes(&self.info) {
            f(Arc::make_mut(&mut self.info));
        }
    }

    fn shared_info(&mut self) -> Arc<RemoteIdInfo> {
        self.info.clone()
    }
}

/// Who heard a record: the receiver its line names, else the sensor of its source, else
/// the source. A bundle's re-detection replays each evidence leaf's sensor (which is
/// this name) as its own lane, so keying the assembly by it live makes both put the
/// same records together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Heard {
    /// By the receiver or sensor of this index into [`Assembler::receivers`] (an index,
    /// not the name: the key of every drone stays small).
    By(u16),
    Source(SourceId),
}

/// Who sent a record, as heard by whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Key {
    Address(Heard, [u8; 6]),
    UasId(Heard, ShortName),
}

/// Per-drone assembly of Remote ID records into observations (see the module docs).
#[derive(Default)]
pub struct Assembler {
    /// Boxed: the map's empty slots (up to half of them after a resize) then cost a
    /// pointer each rather than a whole drone (measured in tests/remoteid_memory.rs).
    drones: HashMap<Key, Box<Drone>>,
    drops: Vec<DropCounts>,
    /// The receivers and sensors heard so far, by [`Heard::By`] index (at most
    /// `u16::MAX`: records of further receivers are assembled by their source).
    receivers: HashMap<ShortName, u16>,
}

impl Assembler {
    /// No drone heard yet.
    pub fn new() -> Self {
        Assembler::default()
    }

    fn drops_mut(&mut self, source: SourceId) -> &mut DropCounts {
        let i = usize::from(source.0);
        if self.drops.len() <= i {
            self.drops.resize(i + 1, DropCounts::default());
        }
        &mut self.drops[i]
    }

    /// Assembles one record heard by `source`: the observation it gives, if any.
    pub fn observe(&mut self, source: SourceId, record: &Record) -> Option<Observation> {
        self.observe_by(source, None, record)
    }

    /// Assembles one record heard by `source`, whose sensor is `sensor` (when named):
    /// the observation it gives, if any. The observation's sensor is the receiver the
    /// record names, else `sensor`; drones are assembled per receiver (see [`Heard`]).
    pub fn observe_by(
        &mut self,
        source: SourceId,
        sensor: Option<ShortName>,
        record: &Record,
    ) -> Option<Observation> {
        let sensor = record.receiver.or(sensor);
        let heard = match sensor {
            Some(name) => {
                let next = self.receivers.len();
                match self.receivers.get(&name) {
                    Some(&i) => Heard::By(i),
                    None => match u16::try_from(next) {
                        Ok(i) => {
                            self.receivers.insert(name, i);
                            Heard::By(i)
                        }
                        Err(_) => Heard::Source(source),
                    },
                }
            }
            None => Heard::Source(source),
        };
        let mut messages = [None; 1 + super::message::PACK_MAX_MESSAGES];
        let mut n = 0;
        let mut rejected = DropCounts::default();
        decode_record(
            record.data(),
            &mut |d| {
                messages[n] = Some(d.message);
                n += 1;
            },
            &mut |r| rejected.add(r),
        );
        self.drops_mut(source).merge(&rejected);
        let messages = &messages[..n];
        if messages.is_empty() {
            return None;
        }
        let key = match record.transmitter {
            Some(mac) => Key::Address(heard, mac),
            None => {
                // A pack heard without an address: named by the Basic ID it carries.
                let name = messages.iter().flatten().find_map(|m| match m {
                    Message::BasicId(b) => b.target_name(),
                    _ => None,
                });
                match name.and_then(|n| ShortName::new(n.as_str()).ok()) {
                    Some(n) => Key::UasId(heard, n),
                    None => {
                        self.drops_mut(source).add(DropReason::UnknownAddress);
                        return None;
                    }
                }
            }
        };
        let drone = self.drones.entry(key).or_default();
        drone.heard_at = drone.heard_at.max(record.at);
        let mut location: Option<Location> = None;
        for m in messages.iter().flatten() {
            match m {
                Message::BasicId(b) => {
                    let better = match drone.name {
                        None => true,
                        Some((t, _)) => {
                            t != IdType::SerialNumber && b.id_type == IdType::SerialNumber
                        }
                    };
                    if better
                        && let Some(name) = b
                            .target_name()
                            .and_then(|n| ShortName::new(n.as_str()).ok())
                    {
                        drone.name = Some((b.id_type, name));
                    }
                    let ua = b.ua_type.as_str();
                    drone.set_info(
                        |i| i.ua_type.as_deref() != Some(ua),
                        |i| i.ua_type = Some(ua.to_string()),
                    );
                }
                Message::Location(l) => location = Some(*l),
                Message::Auth(page) => {
                    drone.auth.add(page);
                    drone.set_info(|i| !i.authentication, |i| i.authentication = true);
                }
                Message::SelfId(s) => {
                    if let Some(text) = s.text().filter(|t| !t.is_empty()) {
                        drone.set_info(
                            |i| i.self_id.as_deref() != Some(text),
                            |i| i.self_id = Some(text.to_string()),
                        );
                    }
                }
                Message::System(s) => {
                    if let Some(p) = s.operator {
                        let at = s.timestamp_s.map_or(record.at, |t| {
                            Timestamp::from_secs(EPOCH_2019_UNIX_S + i64::from(t))
                        });
                        match &drone.info.operator {
                            None => {
                                let fix =
                                    OperatorFix::new(p.lat, p.lon, drone.operator_id.clone(), at);
                                Arc::make_mut(&mut drone.info).operator = Some(fix);
                            }
                            Some(op) if op.changes(p.lat, p.lon, at) => {
                                if let Some(op) = &mut Arc::make_mut(&mut drone.info).operator {
                                    op.moved_to(p.lat, p.lon, at);
                                }
                            }
                            Some(_) => {}
                        }
                    }
                }
                Message::OperatorId(o) => {
                    if let Some(id) = o.id() {
                        if drone.operator_id.as_deref() != Some(id) {
                            drone.operator_id = Some(id.to_string());
                        }
                        let id = &drone.operator_id;
                        if drone.info.operator.as_ref().is_some_and(|op| op.id != *id) {
                            let id = id.clone();
                            if let Some(op) = &mut Arc::make_mut(&mut drone.info).operator {
                                op.id = id;
                            }
                        }
                    }
                }
            }
        }
        let Some((_, name)) = drone.name else {
            self.drops_mut(source).add(DropReason::UnknownAddress);
            return None;
        };
        let mut obs = Observation::of(TargetId::RemoteId(name), record.at);
        obs.source = source;
        obs.sensor = sensor;
        obs.position_kind = PositionKind::RemoteId;
        if let Some(l) = location {
            apply_location(&mut obs, &l);
        }
        obs.remoteid = Some(drone.shared_info());
        let mut bytes = Vec::with_capacity(6 + record.data().len());
        record.evidence_bytes(&mut bytes);
        let mut raw = RawRecord::new(Protocol::RemoteId, &bytes);
        raw.signal = record.rssi_dbm.map(Signal::Dbm);
        obs.raw = Some(raw);
        Some(obs)
    }

    /// The assembled authentication data of the drone heard at `transmitter` by
    /// `source` (whose records name no receiver and which has no sensor name), once
    /// all its pages are in.
    pub fn authentication(&self, source: SourceId, transmitter: [u8; 6]) -> Option<Vec<u8>> {
        self.drones
            .get(&Key::Address(Heard::Source(source), transmitter))?
            .auth
            .assembled()
    }

    /// Forgets drones silent for [`DRONE_TIMEOUT_US`] as of `now`.
    pub fn expire(&mut self, now: Timestamp) {
        self.drones
            .retain(|_, d| now.micros_since(d.heard_at) <= DRONE_TIMEOUT_US);
    }

    /// What `source`'s records lost, by reason.
    pub fn drops(&self, source: SourceId) -> DropCounts {
        self.drops
            .get(usize::from(source.0))
            .copied()
            .unwrap_or_default()
    }

    /// What every source's records lost, by reason.
    pub fn all_drops(&self) -> DropCounts {
        let mut all = DropCounts::default();
        for d in &self.drops {
            all.merge(d);
        }
        all
    }

    /// Drones being assembled now.
    pub fn drones(&self) -> usize {
        self.drones.len()
    }
}

/// A Location's position, altitude and motion on an observation.
fn apply_location(obs: &mut Observation, l: &Location) {
    obs.position = l.position.map(|p| GeoPoint::new(p.lat, p.lon));
    obs.accuracy_m = if obs.position.is_some() {
        l.accuracy_m()
    } else {
        None
    };
    obs.altitude = match (l.alt_geo_m, l.alt_baro_m) {
        (Some(m), _) => Some(Altitude {
            feet: (m * M_TO_FT).round() as i32,
            datum: AltitudeDatum::Geometric,
        }),
        (None, Some(m)) => Some(Altitude {
            feet: (m * M_TO_FT).round() as i32,
            datum: AltitudeDatum::Barometric,
        }),
        (None, None) => None,
    };
    if l.speed_ms.is_some() || l.direction_deg.is_some() || l.vspeed_ms.is_some() {
        obs.velocity = Some(Velocity {
            gs_kt: l.speed_ms.map(|v| v * MPS_TO_KT),
            track_deg: l.direction_deg,
            vrate_fpm: l.vspeed_ms.map(|v| (v * MPS_TO_FPM).round() as i32),
        });
    }
}
