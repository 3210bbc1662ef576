//! Drone Remote ID broadcasts (ASTM F3411 / EN 4709-002) and the receivers that hear
//! them.
//!
//! A drone with a `remote_id` broadcasts over its `transport`, at the standard's rates:
//!
//! - Bluetooth 4 legacy advertising (`ble4`, the default): one 25-byte message per
//!   advertisement from its advertiser address: Location / Vector once a second (F3411
//!   requires at least 1 Hz), and the static messages (Basic ID with its serial number,
//!   System with the operator's position, Self-ID, Operator ID) in turn every 0.75 s, so
//!   each of them every 3 s (the standard's maximum);
//! - Bluetooth 5 long range (`ble5`), Wi-Fi beacon (`wifi_beacon`) and Wi-Fi NAN
//!   (`wifi_nan`): a message pack of all five once a second, from the advertiser
//!   address or the Wi-Fi source address.
//!
//! Each transmission time carries a little jitter. The recording (`remoteid` lines)
//! holds the message or pack with its transmitter address, as a receiver hands it on.
//!
//! The broadcast position is the true one with GNSS noise (σ 3 m per axis, horizontal
//! accuracy code 10: < 10 m), the geodetic altitude the flight's altitude.
//!
//! Reception: a receiver hears a message within its range (a few kilometres for
//! Bluetooth), unless it is lost (probability `loss`, rising by 0.3 toward the edge of
//! range); the RSSI follows free-space loss at 2.4 GHz from 10 dBm. A received copy is
//! damaged with probability `corrupt`, in one of the ways the decoder must count and
//! skip: cut short (`bad_length`), a reserved message type (`unsupported_format`), a
//! pack whose count disagrees with its length (`bad_length`), or a Location with a
//! latitude beyond 90° (`bad_position`).
//!
//! Every random draw comes from the Remote ID stream of the seed, so adding Remote ID
//! drones changes none of a scenario's Mode S frames.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use skyfence_core::{GeoPoint, ShortName, Timestamp};
use skyfence_decode::remoteid::line::Record;
use skyfence_decode::remoteid::message::{
    BasicId, Decoded, HeightReference, IdType, Location, MESSAGE_LEN, Message, OperatorId,
    OperatorLocationType, SelfId, Status, System, UaType, encode_message, encode_pack,
};

use super::kinematics::{EARTH_RADIUS_M, M_PER_FT, State, destination, wrap180};
use super::scenario::{Receiver, RemoteIdSpec, Surveillance};

/// Seconds between two Location messages.
pub const LOCATION_S: f64 = 1.0;
/// Seconds between two static messages (each of the four every 3 s).
pub const STATIC_S: f64 = 0.75;
/// 2019-01-01T00:00:00Z, the epoch of System timestamps.
const EPOCH_2019_UNIX_S: i64 = 1_546_300_800;

/// One received Remote ID message, as the `remoteid` recording holds it.
#[derive(Clone, Debug)]
pub struct Heard {
    /// The message as received (receiver, RSSI, transmitter).
    pub record: Record,
    /// A damaged copy: only this many of its bytes were received.
    pub cut_to: Option<usize>,
}

/// A drone's broadcast schedule.
#[derive(Clone, Debug)]
pub struct Broadcaster {
    next_location_s: f64,
    next_static_s: f64,
    static_index: usize,
}

fn padded<const N: usize>(text: &str) -> [u8; N] {
    let mut b = [0u8; N];
    let n = text.len().min(N);
    b[..n].copy_from_slice(&text.as_bytes()[..n]);
    b
}

fn encode(message: Message) -> [u8; MESSAGE_LEN] {
    encode_message(&Decoded {
        version: 2,
        message,
    })
}

/// A standard normal deviate (Box–Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// What a Location message truly said, for the truth: when, the true state, the
/// broadcast position.
#[derive(Clone, Copy, Debug)]
pub struct Sent {
    /// Seconds from the start.
    pub t_s: f64,
    /// The true state.
    pub state: State,
    /// The broadcast position.
    pub broadcast: [f64; 2],
    /// Whether it was a Location message.
    pub location: bool,
    /// Whether it was a Basic ID message (a receiver names the drone from it).
    pub basic_id: bool,
    /// Whether at least one receiver heard it intact.
    pub heard: bool,
}

impl Broadcaster {
    /// A drone switched on at `start_s`, first messages spread over their intervals.
    pub fn new(start_s: f64, rng: &mut ChaCha8Rng) -> Self {
        Broadcaster {
            next_location_s: start_s + rng.random_range(0.0..LOCATION_S),
            next_static_s: start_s + rng.random_range(0.0..STATIC_S),
            static_index: 0,
        }
    }

    /// The messages due in `[t_s, t1_s)` for a drone whose state goes from `s0` to `s1`,
    /// heard by `receivers`: appended to `out`; what was sent to `sent`.
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        spec: &RemoteIdSpec,
        start: Timestamp,
        (t_s, t1_s): (f64, f64),
        (s0, s1): (&State, &State),
        receivers: &[Receiver],
        surv: &Surveillance,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<Heard>,
        sent: &mut Vec<Sent>,
    ) {
        let lerp = |tt: f64| s0.lerp(s1, (tt - t_s) / (t1_s - t_s));
        if spec.transport.packs() {
            // Bluetooth 5 and Wi-Fi: every message in one pack, once a second (the
            // Location's rate; F3411 asks the static messages at least every 3 s).
            while self.next_location_s < t1_s {
                let tt = self.next_location_s.max(t_s);
                self.next_location_s = tt + LOCATION_S + rng.random_range(-0.05..0.05);
                let st = lerp(tt);
                let at = start.add_micros((tt * 1e6).round() as i64);
                let (location, broadcast) = location_message(&st, at, rng);
                let messages = [
                    encode(basic_id_message(spec)),
                    encode(location),
                    encode(system_message(spec, at)),
                    encode(Message::SelfId(SelfId {
                        desc_type: 0,
                        text: padded(&spec.self_id),
                    })),
                    encode(Message::OperatorId(OperatorId {
                        id_type: 0,
                        id: padded(&spec.operator_id),
                    })),
                ];
                let mut pack = Vec::with_capacity(3 + messages.len() * MESSAGE_LEN);
                encode_pack(2, &messages, &mut pack);
                let heard = receive(spec, receivers, surv, &st, at, &pack, rng, out);
                sent.push(Sent {
                    t_s: tt,
                    state: st,
                    broadcast,
                    location: true,
                    basic_id: true,
                    heard,
                });
            }
            return;
        }
        while self.next_location_s < t1_s {
            let tt = self.next_location_s.max(t_s);
            self.next_location_s = tt + LOCATION_S + rng.random_range(-0.05..0.05);
            let st = lerp(tt);
            let at = start.add_micros((tt * 1e6).round() as i64);
            let (location, [lat, lon]) = location_message(&st, at, rng);
            let bytes = encode(location);
            let heard = receive(spec, receivers, surv, &st, at, &bytes, rng, out);
            sent.push(Sent {
                t_s: tt,
                state: st,
                broadcast: [lat, lon],
                location: true,
                basic_id: false,
                heard,
            });
        }
        while self.next_static_s < t1_s {
            let tt = self.next_static_s.max(t_s);
            self.next_static_s = tt + STATIC_S + rng.random_range(-0.05..0.05);
            let st = lerp(tt);
            let at = start.add_micros((tt * 1e6).round() as i64);
            let basic_id = self.static_index.is_multiple_of(4);
            let message = match self.static_index % 4 {
                0 => basic_id_message(spec),
                1 => system_message(spec, at),
                2 => Message::SelfId(SelfId {
                    desc_type: 0,
                    text: padded(&spec.self_id),
                }),
                _ => Message::OperatorId(OperatorId {
                    id_type: 0,
                    id: padded(&spec.operator_id),
                }),
            };
            self.static_index += 1;
            let bytes = encode(message);
            let heard = receive(spec, receivers, surv, &st, at, &bytes, rng, out);
            sent.push(Sent {
                t_s: tt,
                state: st,
                broadcast: [st.lat, st.lon],
                location: false,
                basic_id,
                heard,
            });
        }
    }
}

/// The Location message of a drone in state `st` at `at`: its true position with GNSS
/// noise (σ 3 m per axis), and that broadcast position.
fn location_message(st: &State, at: Timestamp, rng: &mut ChaCha8Rng) -> (Message, [f64; 2]) {
    let (lat, lon) = destination(st.lat, st.lon, 0.0, 3.0 * normal(rng));
    let (lat, lon) = destination(lat, lon, 90.0, 3.0 * normal(rng));
    let alt_m = (st.alt_ft * M_PER_FT) as f32;
    let tenths = (at.as_micros().rem_euclid(3_600_000_000) / 100_000) as u16;
    let message = Message::Location(Location {
        status: Status(2),
        height_ref: HeightReference::Takeoff,
        direction_deg: Some(st.track_deg.rem_euclid(360.0) as f32),
        speed_ms: Some(st.gs_mps.min(254.0) as f32),
        vspeed_ms: Some((st.vrate_fpm * M_PER_FT / 60.0).clamp(-62.0, 62.0) as f32),
        position: Some(GeoPoint::new(lat, lon)),
        alt_baro_m: Some(alt_m),
        alt_geo_m: Some(alt_m),
        height_m: None,
        h_accuracy: 10,
        v_accuracy: 3,
        baro_accuracy: 3,
        speed_accuracy: 3,
        tenths_after_hour: Some(tenths),
        time_accuracy_tenths: Some(1),
    });
    (message, [lat, lon])
}

fn basic_id_message(spec: &RemoteIdSpec) -> Message {
    Message::BasicId(BasicId {
        id_type: IdType::SerialNumber,
        ua_type: UaType(2),
        uas_id: padded(&spec.serial),
    })
}

fn system_message(spec: &RemoteIdSpec, at: Timestamp) -> Message {
    Message::System(System {
        operator_location_type: OperatorLocationType(1),
        classification_type: 1,
        operator: Some(GeoPoint::new(spec.operator[0], spec.operator[1])),
        area_count: 1,
        area_radius_m: 0,
        area_ceiling_m: None,
        area_floor_m: None,
        category_eu: 1,
        class_eu: 2,
        operator_alt_geo_m: None,
        timestamp_s: u32::try_from(at.as_micros() / 1_000_000 - EPOCH_2019_UNIX_S).ok(),
    })
}

/// How a damaged copy is damaged: every way the decoder must count and skip.
fn damage(bytes: &mut [u8], rng: &mut ChaCha8Rng) -> Option<usize> {
    let pack = bytes.first().is_some_and(|b| b >> 4 == 0xf);
    match rng.random_range(0..4u8) {
        // Cut short (a truncated frame): `bad_length`.
        0 => return Some(rng.random_range(1..bytes.len())),
        // A reserved message type: `unsupported_format`.
        1 => bytes[0] = 0xc0 | (bytes[0] & 0x0f),
        // A pack whose count disagrees with its length: `bad_length`.
        2 if pack => bytes[2] = bytes[2].wrapping_add(1),
        // A Location's latitude beyond 90°: `bad_position`. In a pack, the Location
        // is its second message.
        _ => {
            let location = if pack { 3 + MESSAGE_LEN } else { 0 };
            if bytes.get(location).is_some_and(|b| b >> 4 == 1) {
                bytes[location + 5..location + 9].copy_from_slice(&950_000_000i32.to_le_bytes());
            } else {
                bytes[0] = 0xc0 | (bytes[0] & 0x0f);
            }
        }
    }
    None
}

/// Hands one message to every receiver in range; whether one heard it intact.
#[allow(clippy::too_many_arguments)]
fn receive(
    spec: &RemoteIdSpec,
    receivers: &[Receiver],
    surv: &Surveillance,
    s: &State,
    at: Timestamp,
    bytes: &[u8],
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Heard>,
) -> bool {
    let mut heard = false;
    for r in receivers {
        let cos_mean = (s.lat.to_radians().cos() + r.lat.to_radians().cos()) / 2.0;
        let dy = (s.lat - r.lat).to_radians();
        let dx = wrap180(s.lon - r.lon).to_radians() * cos_mean;
        let ground = EARTH_RADIUS_M * (dx * dx + dy * dy).sqrt();
        let range = r.range_km * 1000.0;
        if ground > range {
            continue;
        }
        if rng.random::<f64>() < surv.loss + 0.3 * ground / range {
            continue;
        }
        // Free-space loss at 2.4 GHz: 40 dB at 1 m, 20 dB per decade.
        let d = ground.max(1.0);
        let rssi = (10.0 - 40.0 - 20.0 * d.log10()).round().clamp(-127.0, 0.0) as i8;
        let damaged = rng.random::<f64>() < surv.corrupt;
        let mut copy = bytes.to_vec();
        let cut_to = if damaged {
            damage(&mut copy, rng)
        } else {
            None
        };
        let Some(mut record) = Record::new(at, Some(spec.mac), &copy) else {
            continue;
        };
        record.receiver = ShortName::new(&r.name).ok();
        record.rssi_dbm = Some(rssi);
        heard |= !damaged;
        out.push(Heard { record, cut_to });
    }
    heard
}

/// Appends one `remoteid` line for `heard` (a damaged copy with its hex cut short).
pub fn write_line(heard: &Heard, out: &mut String) {
    let start = out.len();
    skyfence_decode::remoteid::line::encode_line(&heard.record, out);
    if let Some(n) = heard.cut_to {
        // The hex is the last field: keep its first `n` bytes.
        let hex_len = 2 * heard.record.data().len();
        let end = out.len() - 1;
        out.replace_range(end - hex_len + 2 * n..end, "");
        debug_assert!(out[start..].ends_with('\n'));
    }
}
