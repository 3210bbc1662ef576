//! The stateful Mode S decoder: frames in, [`Message`]s out (docs/INTERFACES.md, "Decoded
//! message"), every rejection counted by reason.
//!
//! Per frame: [`modes::check`] (format, length, parity), then the address rule: DF11/17/18
//! with an intact parity announce their address to the [`Tracker`]; replies whose address
//! is only recovered from the parity (DF0/4/5/16/20/21) are accepted only for addresses
//! announced recently ([`Tracker::is_known`]), since any corrupted frame yields *some*
//! address. Then the fields are decoded ([`modes`], [`adsb`]) and CPR positions are
//! resolved by the tracker. Nothing here allocates per frame.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use skyfence_core::{
    Altitude, AltitudeDatum, Callsign, EmitterCategory, GeoPoint, Icao24, Observation,
    PositionKind, RawFrame, RawRecord, SourceId, Squawk, Timestamp, Velocity, nacp_epu95_m,
};

use crate::adsb::{self, Adsb, Emergency};
use crate::commb::{self, Bds, CommB, Inferred};
use crate::modes::{self, AddressSource};
use crate::tracker::{IcaoHasher, Tracker, TrackerConfig};
use crate::{DropCounts, DropReason, Frame};

/// The CPR format of a position message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CprFormat {
    /// F = 0.
    Even,
    /// F = 1.
    Odd,
}

impl CprFormat {
    /// `"even"` or `"odd"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CprFormat::Even => "even",
            CprFormat::Odd => "odd",
        }
    }
}

/// One accepted message with every field it carried, decoded. Fields are `None` when the
/// message did not carry them. `position` is set once resolved (global even/odd pair, or
/// locally against the aircraft's previous position).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Message {
    /// Reception time.
    pub at: Timestamp,
    /// Downlink format (absent for SBS input).
    pub df: Option<u8>,
    /// Aircraft address.
    pub icao24: Icao24,
    /// ADS-B type code (DF17/18 only).
    pub tc: Option<u8>,
    /// Flight identification.
    pub callsign: Option<Callsign>,
    /// Emitter category.
    pub category: Option<EmitterCategory>,
    /// Resolved position.
    pub position: Option<GeoPoint>,
    /// Barometric altitude, feet.
    pub alt_ft: Option<i32>,
    /// GNSS (geometric) height, feet.
    pub alt_geom_ft: Option<i32>,
    /// Ground speed, knots.
    pub gs_kt: Option<f32>,
    /// Track over ground, degrees from true north.
    pub track_deg: Option<f32>,
    /// Vertical rate, feet per minute.
    pub vrate_fpm: Option<i32>,
    /// Mode A code.
    pub squawk: Option<Squawk>,
    /// CPR format of a position message.
    pub cpr: Option<CprFormat>,
    /// The frame this came from (absent for SBS input), as received (before any
    /// single-bit correction).
    pub raw: Option<RawFrame>,
    /// Magnetic heading, degrees (ADS-B airborne velocity subtypes 3–4).
    pub heading_deg: Option<f32>,
    /// Indicated airspeed, knots (ADS-B airborne velocity subtypes 3–4).
    pub ias_kt: Option<u16>,
    /// True airspeed, knots (ADS-B airborne velocity subtypes 3–4).
    pub tas_kt: Option<u16>,
    /// Emergency/priority status (ADS-B aircraft status, TC 28 subtype 1).
    pub emergency: Option<Emergency>,
    /// On the ground (surface position, CA 4, flight status 1/3, VS 1) or airborne (CA 5,
    /// flight status 0/2, VS 0, airborne position or velocity); `None` when not stated.
    pub on_ground: Option<bool>,
    /// The bit repaired by single-bit correction (0 = first bit of the frame), if any.
    pub corrected_bit: Option<u8>,
    /// Navigation accuracy category for position, NACp 0–11 (ADS-B operational status
    /// TC 31 version 1–2, or target state and status TC 29 subtype 1; DO-260B Table
    /// 2-70). 0 means the accuracy is unknown.
    pub nacp: Option<u8>,
    /// ADS-B version of the transmitter (TC 31): 0 DO-260, 1 DO-260A, 2 DO-260B.
    pub adsb_version: Option<u8>,
    /// The Comm-B register of a DF20/21 reply, when exactly one fits (`commb.rs`), with
    /// the MB field it was inferred from; [`Message::commb`] decodes its fields. Kept as
    /// 16 bytes rather than decoded: every message is returned by value.
    pub commb_mb: Option<(Bds, u64)>,
}

impl Message {
    /// A message from `icao24` at `at` with no fields yet.
    pub fn new(at: Timestamp, icao24: Icao24) -> Self {
        Message {
            at,
            df: None,
            icao24,
            tc: None,
            callsign: None,
            category: None,
            position: None,
            alt_ft: None,
            alt_geom_ft: None,
            gs_kt: None,
            track_deg: None,
            vrate_fpm: None,
            squawk: None,
            cpr: None,
            raw: None,
            heading_deg: None,
            ias_kt: None,
            tas_kt: None,
            emergency: None,
            on_ground: None,
            corrected_bit: None,
            nacp: None,
            adsb_version: None,
            commb_mb: None,
        }
    }

    /// The decoded Comm-B register of a DF20/21 reply, when one was inferred.
    pub fn commb(&self) -> Option<CommB> {
        self.commb_mb.and_then(|(bds, mb)| commb::decode(bds, mb))
    }

    /// The normalised observation for the detection core. Barometric altitude is
    /// preferred; GNSS height is used when it is the only altitude carried.
    pub fn to_observation(&self, source: SourceId) -> Observation {
        let mut o = Observation::new(self.icao24, self.at);
        o.position = self.position;
        o.altitude = match (self.alt_ft, self.alt_geom_ft) {
            (Some(feet), _) => Some(Altitude {
                feet,
                datum: AltitudeDatum::Barometric,
            }),
            (None, Some(feet)) => Some(Altitude {
                feet,
                datum: AltitudeDatum::Geometric,
            }),
            (None, None) => None,
        };
        if self.gs_kt.is_some() || self.track_deg.is_some() || self.vrate_fpm.is_some() {
            o.velocity = Some(Velocity {
                gs_kt: self.gs_kt,
                track_deg: self.track_deg,
                vrate_fpm: self.vrate_fpm,
            });
        }
        o.identity.callsign = self.callsign;
        o.identity.category = self.category;
        o.identity.squawk = self.squawk;
        o.source = source;
        // A frame is ADS-B (the target's own position) unless an MLAT server synthesised
        // it; a message without a frame came from a BaseStation (SBS) feed.
        o.position_kind = match self.raw {
            Some(f) if f.mlat => PositionKind::Mlat,
            Some(_) => PositionKind::Adsb,
            None => PositionKind::Sbs,
        };
        o.raw = self.raw.map(RawRecord::from);
        o.nacp = self.nacp;
        o.accuracy_m = self.nacp.and_then(nacp_epu95_m).map(|m| m as f32);
        o
    }
}

/// Settings of the [`Decoder`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DecoderConfig {
    /// Repair DF17 frames with exactly one bit in error (bits 6–112). Off by default: a
    /// repaired frame is only accepted for an address already announced with an intact
    /// parity, and every repair is counted ([`Decoder::corrected`]).
    pub correct_single_bit: bool,
    /// Address expiry, CPR pairing window and speed gate of the per-aircraft state.
    pub tracker: TrackerConfig,
    /// Pace the times of frames without their own time (tracker.rs, "Frames without
    /// their own time"). On for recordings (`decode`, `analyze`); off for the live
    /// service and bundle re-detection, whose frames carry their receive time (a replay
    /// played faster than real time breaks the 0.4 s rule in wall-clock terms).
    pub pace_untimed: bool,
    /// Whether DF20/21 MB fields are inferred (`commb.rs`). On by default.
    pub commb: CommBInference,
    /// Comm-B trust by repetition: 0 (the default) refuses every DF20/21 reply from an
    /// address not heard in DF11/17/18, as any corrupted frame yields *some* address.
    /// `N` >= 2 trusts such an address once `N` of its replies, within
    /// `address_expiry_s` of the first, each carry a register the content checks infer
    /// (`commb.rs`) and agree with one another (the same squawk in DF21, the same BDS 2,0
    /// callsign, DF20 altitudes within [`COMMB_TRUST_CLIMB_FPM`] of each other); the
    /// N-th reply and those after it, for `address_expiry_s`, are accepted. Counted in
    /// [`Decoder::commb_trust`].
    pub commb_trust_replies: u32,
}

/// Whether the decoder infers the register of Comm-B replies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommBInference {
    /// Infer each DF20/21 reply's register and copy its fields onto the message (and
    /// keep each aircraft's last ADS-B velocity as the reference for the consistency
    /// checks).
    #[default]
    Infer,
    /// Leave MB fields undecoded: the decoder does only what the aircraft states about
    /// itself. The benches use it to measure the rest of the decoder against builds that
    /// had no inference.
    Off,
}

/// The largest altitude change between two replies an address on Comm-B probation may
/// show, feet per minute of their time apart (plus [`COMMB_TRUST_ALT_SLACK_FT`]): twice
/// a steep descent.
pub const COMMB_TRUST_CLIMB_FPM: f64 = 12_000.0;

/// Altitude slack on top of [`COMMB_TRUST_CLIMB_FPM`], feet (Gillham steps are 100 ft).
pub const COMMB_TRUST_ALT_SLACK_FT: f64 = 500.0;

/// The most addresses on Comm-B probation at once: noise from a busy receiver cannot
/// grow the table without bound (a new address finds no room and stays refused).
pub const COMMB_PROBATION_MAX: usize = 65_536;

/// How often, in data time, the decoder forgets silent aircraft.
const EXPIRE_EVERY_US: i64 = 10_000_000;

/// Frames in, messages out; owns the per-aircraft state ([`Tracker`]) and the drop
/// counters. One per input stream (time must not run backwards by more than the tracker's
/// windows between frames).
pub struct Decoder {
    correct_single_bit: bool,
    pace_untimed: bool,
    infer_commb: bool,
    tracker: Tracker,
    drops: DropCounts,
    accepted: u64,
    corrected: u64,
    next_expiry: Option<Timestamp>,
    /// Input time of the previous frame: a frame with the same one is untimed.
    last_input: Option<Timestamp>,
    /// The paced clock (tracker.rs, "Frames without their own time").
    paced: Timestamp,
    /// Whether the frame being decoded is untimed.
    untimed_now: bool,
    /// Untimed frames so far.
    untimed: u64,
    /// Each aircraft's latest ADS-B airborne velocity: the Comm-B reference.
    velocities: HashMap<u32, AdsbVelocity, BuildHasherDefault<IcaoHasher>>,
    /// Comm-B replies by outcome.
    commb: CommBCounts,
    /// Comm-B trust by repetition ([`DecoderConfig::commb_trust_replies`]; 0: off).
    commb_trust_replies: u32,
    /// Addresses not heard in DF11/17/18 whose DF20/21 replies are being counted.
    probation: HashMap<u32, Probation, BuildHasherDefault<IcaoHasher>>,
    /// What trust by repetition did.
    trust: CommBTrustCounts,
}

/// An address on Comm-B probation: what its replies said so far.
#[derive(Clone, Copy, Debug)]
struct Probation {
    first_at: Timestamp,
    last_at: Timestamp,
    replies: u32,
    alt: Option<(Timestamp, i32)>,
    squawk: Option<Squawk>,
    callsign: Option<Callsign>,
    /// Trusted (from `last_at`, the reply that earned it, for the address expiry).
    trusted: bool,
}

/// What Comm-B trust by repetition ([`DecoderConfig::commb_trust_replies`]) did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommBTrustCounts {
    /// Addresses trusted after enough consistent replies.
    pub addresses: u64,
    /// DF20/21 replies accepted only because their address was trusted this way.
    pub replies: u64,
    /// Replies from an address on probation that disagreed with its earlier ones (the
    /// count starts again from that reply).
    pub inconsistent: u64,
}

impl CommBTrustCounts {
    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &CommBTrustCounts) {
        self.addresses += other.addresses;
        self.replies += other.replies;
        self.inconsistent += other.inconsistent;
    }
}

/// What a DF17/18 airborne velocity said, and when.
#[derive(Clone, Copy, Debug)]
struct AdsbVelocity {
    gs_kt: f32,
    track_deg: f32,
    vrate_fpm: Option<i32>,
    at: Timestamp,
}

/// DF20/21 replies by what their MB field was inferred to hold (`commb.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommBCounts {
    /// Replies per inferred register, in [`Bds::ALL`] order.
    pub inferred: [u64; 7],
    /// Replies whose MB fits no register (or is all zero).
    pub unknown: u64,
    /// Replies whose MB fits several registers, none contradicted.
    pub ambiguous: u64,
}

impl CommBCounts {
    /// `(register, count)` for the registers inferred at least once.
    pub fn nonzero(&self) -> impl Iterator<Item = (Bds, u64)> + '_ {
        Bds::ALL
            .into_iter()
            .zip(self.inferred)
            .filter(|(_, n)| *n > 0)
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &CommBCounts) {
        for (a, b) in self.inferred.iter_mut().zip(other.inferred) {
            *a += b;
        }
        self.unknown += other.unknown;
        self.ambiguous += other.ambiguous;
    }
}

impl Decoder {
    /// A decoder with no aircraft known yet.
    pub fn new(config: DecoderConfig) -> Self {
        Decoder {
            correct_single_bit: config.correct_single_bit,
            pace_untimed: config.pace_untimed,
            infer_commb: config.commb == CommBInference::Infer,
            tracker: Tracker::new(config.tracker),
            drops: DropCounts::default(),
            accepted: 0,
            corrected: 0,
            next_expiry: None,
            last_input: None,
            paced: Timestamp::EPOCH,
            untimed_now: false,
            untimed: 0,
            velocities: HashMap::default(),
            commb: CommBCounts::default(),
            commb_trust_replies: config.commb_trust_replies,
            probation: HashMap::default(),
            trust: CommBTrustCounts::default(),
        }
    }

    /// Validates and decodes one frame. `None` when it was rejected; the reason is counted
    /// in [`Decoder::drops`]. A message whose CPR position was rejected (`BadCpr`,
    /// `ImplausibleMotion`) is still returned, without `position`, and the rejection is
    /// counted too.
    pub fn decode(&mut self, frame: &Frame) -> Option<Message> {
        let at = self.pace(frame.at);
        self.expire_due(at);
        let data = frame.raw.bytes.get(..usize::from(frame.raw.len));
        let checked = data
            .ok_or(DropReason::BadLength)
            .and_then(|d| modes::check(d, self.correct_single_bit));
        let c = match checked {
            Ok(c) => c,
            Err(reason) => {
                self.drops.add(reason);
                return None;
            }
        };
        match (c.address, c.corrected_bit) {
            (AddressSource::Announced, None) => self.tracker.note_address(c.icao, at),
            (AddressSource::Announced, Some(_)) => {
                // A repaired frame could be noise repaired into a plausible one: trust it
                // only for an aircraft already heard intact.
                if !self.tracker.is_known(c.icao, at) {
                    self.drops.add(DropReason::BadCrc);
                    return None;
                }
                self.corrected += 1;
            }
            (AddressSource::Parity, _) => {
                if !self.tracker.is_known(c.icao, at) && !self.trusted_by_repetition(&c, at) {
                    self.drops.add(DropReason::UnknownAddress);
                    return None;
                }
            }
        }
        let mut m = Message::new(at, c.icao);
        m.df = Some(c.df);
        m.raw = Some(frame.raw);
        m.corrected_bit = c.corrected_bit;
        let f = c.data();
        match c.df {
            0 | 16 => {
                m.alt_ft = modes::decode_ac13(modes::field13(f));
                // VS (bit 6, §3.1.2.8.2.1): 1 on the ground, 0 airborne.
                m.on_ground = Some(c.bytes[0] & 0x04 != 0);
            }
            4 | 20 => {
                m.alt_ft = modes::decode_ac13(modes::field13(f));
                m.on_ground = on_ground_from_fs(modes::flight_status(f));
                if c.df == 20 && self.infer_commb {
                    self.decode_commb(&c.bytes, &mut m);
                }
            }
            5 | 21 => {
                m.squawk = modes::decode_id13(modes::field13(f));
                m.on_ground = on_ground_from_fs(modes::flight_status(f));
                if c.df == 21 && self.infer_commb {
                    self.decode_commb(&c.bytes, &mut m);
                }
            }
            11 => m.on_ground = on_ground_from_ca(c.bytes[0] & 7),
            _ => {
                if c.df == 17 {
                    m.on_ground = on_ground_from_ca(c.bytes[0] & 7);
                }
                self.decode_extended_squitter(&c.bytes, &mut m);
            }
        }
        self.accepted += 1;
        Some(m)
    }

    /// Fills `m` from the ME field of a DF17/18 and resolves its CPR position.
    fn decode_extended_squitter(&mut self, bytes: &[u8; 14], m: &mut Message) {
        let me = adsb::me_field(bytes);
        m.tc = Some(adsb::type_code(me));
        match adsb::decode_me(me) {
            Adsb::Identification(id) => {
                m.callsign = id.callsign;
                m.category = id.category;
            }
            Adsb::AirbornePosition(p) => {
                if p.gnss {
                    m.alt_geom_ft = p.alt_ft;
                } else {
                    m.alt_ft = p.alt_ft;
                }
                m.on_ground = Some(false);
                self.resolve(m, p.cpr);
            }
            Adsb::SurfacePosition(s) => {
                m.gs_kt = s.gs_kt;
                m.track_deg = s.track_deg;
                m.on_ground = Some(true);
                self.resolve(m, s.cpr);
            }
            Adsb::AirborneVelocity(v) => {
                m.gs_kt = v.gs_kt;
                m.track_deg = v.track_deg;
                m.heading_deg = v.heading_deg;
                if v.true_airspeed {
                    m.tas_kt = v.airspeed_kt;
                } else {
                    m.ias_kt = v.airspeed_kt;
                }
                m.vrate_fpm = v.vrate_fpm;
                m.on_ground = Some(false);
                if let (true, Some(gs_kt), Some(track_deg)) =
                    (self.infer_commb, v.gs_kt, v.track_deg)
                {
                    self.velocities.insert(
                        m.icao24.as_u32(),
                        AdsbVelocity {
                            gs_kt,
                            track_deg,
                            vrate_fpm: v.vrate_fpm,
                            at: m.at,
                        },
                    );
                }
            }
            Adsb::Status(s) => {
                m.emergency = Some(s.emergency);
                m.squawk = s.squawk;
            }
            Adsb::TargetState(t) => m.nacp = Some(t.nacp),
            Adsb::OperationalStatus(op) => {
                m.adsb_version = Some(op.version);
                m.nacp = op.nacp;
            }
            Adsb::Other { .. } => {}
        }
    }

    /// Infers the Comm-B register of a DF20/21 reply (`commb.rs`) and copies its fields
    /// onto the message: a BDS 2,0 callsign, BDS 5,0 ground speed, track and true
    /// airspeed, BDS 6,0 heading, airspeeds and barometric vertical rate, where the
    /// message has no value of its own.
    fn decode_commb(&mut self, bytes: &[u8; 14], m: &mut Message) {
        let mb = adsb::me_field(bytes);
        let adsb = self.velocities.get(&m.icao24.as_u32()).filter(|v| {
            m.at.micros_since(v.at).unsigned_abs() <= commb::REFERENCE_MAX_AGE_US as u64
        });
        let reference = commb::Reference {
            gs_track: adsb.map(|v| (v.gs_kt, v.track_deg)),
            vrate_fpm: adsb.and_then(|v| v.vrate_fpm),
            alt_ft: m.alt_ft,
        };
        match commb::infer(mb, &reference) {
            Inferred::One(c) => {
                self.commb.inferred[c.bds() as usize] += 1;
                m.commb_mb = Some((c.bds(), mb));
                match c {
                    CommB::Identification(cs) => m.callsign = Some(cs),
                    CommB::TrackTurn(t) => {
                        m.gs_kt = m.gs_kt.or(t.gs_kt.map(f32::from));
                        m.track_deg = m.track_deg.or(t.track_deg);
                        m.tas_kt = m.tas_kt.or(t.tas_kt);
                    }
                    CommB::HeadingSpeed(h) => {
                        m.heading_deg = m.heading_deg.or(h.heading_deg);
                        m.ias_kt = m.ias_kt.or(h.ias_kt);
                        m.vrate_fpm = m.vrate_fpm.or(h.baro_vrate_fpm);
                    }
                    CommB::DataLink(_) | CommB::Gicb(_) | CommB::Ra(_) | CommB::Vertical(_) => {}
                }
            }
            Inferred::Unknown => self.commb.unknown += 1,
            Inferred::Ambiguous(_) => self.commb.ambiguous += 1,
        }
    }

    /// Comm-B trust by repetition ([`DecoderConfig::commb_trust_replies`]): whether this
    /// DF20/21 reply from an address not heard in DF11/17/18 is accepted, counting it
    /// towards its address's trust when it agrees with the address's earlier replies.
    fn trusted_by_repetition(&mut self, c: &modes::Checked, at: Timestamp) -> bool {
        if self.commb_trust_replies == 0 || !matches!(c.df, 20 | 21) {
            return false;
        }
        // One reply is never enough: that is what a corrupted frame gives.
        let needed = self.commb_trust_replies.max(2);
        let window = self.tracker.config().address_expiry_s;
        let window_us = (window * 1e6) as u64;
        let key = c.icao.as_u32();
        if let Some(p) = self.probation.get(&key)
            && p.trusted
        {
            if at.micros_since(p.last_at).unsigned_abs() <= window_us {
                self.trust.replies += 1;
                return true;
            }
            // Trust expired: the address starts again.
            self.probation.remove(&key);
        }
        // What the reply says: altitude (DF20) or squawk (DF21), and an MB the content
        // checks place in exactly one register.
        let f = c.data();
        let (alt, squawk) = if c.df == 20 {
            (modes::decode_ac13(modes::field13(f)), None)
        } else {
            (None, modes::decode_id13(modes::field13(f)))
        };
        let reference = commb::Reference {
            gs_track: None,
            vrate_fpm: None,
            alt_ft: alt,
        };
        let Inferred::One(register) = commb::infer(adsb::me_field(&c.bytes), &reference) else {
            return false;
        };
        let callsign = match register {
            CommB::Identification(cs) => Some(cs),
            _ => None,
        };
        let fresh = Probation {
            first_at: at,
            last_at: at,
            replies: 1,
            alt: alt.map(|a| (at, a)),
            squawk,
            callsign,
            trusted: false,
        };
        let Some(p) = self.probation.get_mut(&key) else {
            if self.probation.len() < COMMB_PROBATION_MAX {
                self.probation.insert(key, fresh);
            }
            return false;
        };
        let stale = at.micros_since(p.first_at).unsigned_abs() > window_us;
        let agrees = (p.squawk.is_none() || squawk.is_none() || p.squawk == squawk)
            && (p.callsign.is_none() || callsign.is_none() || p.callsign == callsign)
            && match (p.alt, alt) {
                (Some((t0, a0)), Some(a1)) => {
                    let minutes = at.micros_since(t0).unsigned_abs() as f64 / 60e6;
                    f64::from((a1 - a0).abs())
                        <= COMMB_TRUST_CLIMB_FPM * minutes + COMMB_TRUST_ALT_SLACK_FT
                }
                _ => true,
            };
        if stale || !agrees {
            if !stale {
                self.trust.inconsistent += 1;
            }
            *p = fresh;
            return false;
        }
        p.replies += 1;
        p.last_at = at;
        if alt.is_some() {
            p.alt = alt.map(|a| (at, a));
        }
        p.squawk = squawk.or(p.squawk);
        p.callsign = callsign.or(p.callsign);
        if p.replies >= needed {
            p.trusted = true;
            self.trust.addresses += 1;
            self.trust.replies += 1;
            return true;
        }
        false
    }

    /// The time of a frame received at `input`: `input`, or for an untimed frame (the
    /// same input time as the previous frame) the paced clock (tracker.rs, "Frames
    /// without their own time").
    #[inline]
    fn pace(&mut self, input: Timestamp) -> Timestamp {
        self.untimed_now = self.last_input == Some(input);
        self.last_input = Some(input);
        if self.untimed_now && self.pace_untimed {
            self.untimed += 1;
            self.paced = self.paced.max(input);
        } else {
            self.paced = input;
        }
        self.paced
    }

    /// Asks the tracker for a position; counts a rejection.
    fn resolve(&mut self, m: &mut Message, cpr: crate::cpr::CprPosition) {
        m.cpr = Some(if cpr.odd {
            CprFormat::Odd
        } else {
            CprFormat::Even
        });
        // An untimed DF17 position squitter was broadcast at least 0.4 s after its
        // aircraft's previous one: the paced clock moves on to that.
        if self.untimed_now
            && self.pace_untimed
            && m.df == Some(17)
            && let Some(earliest) = self.tracker.earliest_broadcast(m.icao24, cpr)
            && earliest > m.at
        {
            m.at = earliest;
            self.paced = earliest;
        }
        match self.tracker.resolve_position(m.icao24, m.at, cpr) {
            Ok(p) => m.position = p,
            Err(reason) => self.drops.add(reason),
        }
    }

    /// Forgets silent aircraft every 10 s of data time (never a wall clock).
    fn expire_due(&mut self, at: Timestamp) {
        match self.next_expiry {
            // Not due yet, and time has not jumped back past the last expiry.
            Some(due) if at < due && due.micros_since(at) <= EXPIRE_EVERY_US => {}
            Some(due) if at >= due => {
                self.tracker.expire(at);
                let keep = commb::REFERENCE_MAX_AGE_US;
                self.velocities
                    .retain(|_, v| at.micros_since(v.at).abs() <= keep);
                if !self.probation.is_empty() {
                    let window_us = (self.tracker.config().address_expiry_s * 1e6) as i64;
                    self.probation
                        .retain(|_, p| at.micros_since(p.last_at).abs() <= window_us);
                }
                self.next_expiry = Some(at.add_micros(EXPIRE_EVERY_US));
            }
            // First frame, or the data clock went backwards (a new recording): restart.
            _ => self.next_expiry = Some(at.add_micros(EXPIRE_EVERY_US)),
        }
    }

    /// Forgets aircraft silent for longer than the tracker's expiry, as of `now` (live
    /// feeds call this on their periodic tick; replays rely on the automatic expiry).
    pub fn expire(&mut self, now: Timestamp) {
        self.tracker.expire(now);
    }

    /// Rejections so far, by reason.
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }

    /// Frames accepted (messages returned) so far.
    pub fn accepted(&self) -> u64 {
        self.accepted
    }

    /// Frames received with the same input time as the frame before them (no time of
    /// their own), whose times were paced (tracker.rs, "Frames without their own time").
    pub fn untimed(&self) -> u64 {
        self.untimed
    }

    /// DF20/21 replies by what their MB field was inferred to hold.
    pub fn commb(&self) -> &CommBCounts {
        &self.commb
    }

    /// What Comm-B trust by repetition did ([`DecoderConfig::commb_trust_replies`]).
    pub fn commb_trust(&self) -> &CommBTrustCounts {
        &self.trust
    }

    /// Accepted frames that needed single-bit correction.
    pub fn corrected(&self) -> u64 {
        self.corrected
    }

    /// The per-aircraft state.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }
}

/// Flight status (Annex 10 Vol IV §3.1.2.6.5.1): 0/2 airborne, 1/3 on the ground, 4/5
/// either (alert/SPI), 6–7 reserved.
fn on_ground_from_fs(fs: u8) -> Option<bool> {
    match fs {
        0 | 2 => Some(false),
        1 | 3 => Some(true),
        _ => None,
    }
}

/// Capability (§3.1.2.5.2.2.1): 4 on the ground, 5 airborne, others unstated.
fn on_ground_from_ca(ca: u8) -> Option<bool> {
    match ca {
        4 => Some(true),
        5 => Some(false),
        _ => None,
    }
}
