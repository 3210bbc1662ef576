//! What the transponders send and what the receivers hear.
//!
//! Schedule (DO-260B §2.2.3.3.1, randomised transmission intervals): airborne position
//! every 0.4–0.6 s alternating even and odd CPR format, airborne velocity every
//! 0.4–0.6 s, identification and category every 4.8–5.2 s, airborne operational status
//! (TC 31 subtype 0, ADS-B version 2, the flight's NACp) every 2.4–2.6 s
//! (§2.2.3.3.1.4.7, no change in the status), and the DF11 acquisition squitter every
//! 0.8–1.2 s (ICAO Annex 10 Vol IV §3.1.2.8.5).
//!
//! Broadcast position = true position + noise: a first-order Gauss–Markov error with a
//! 30 s correlation time and σ = EPU/2 per axis for the flight's NACp (DO-260B Table
//! 2-71: NACp 11 → EPU 3 m, 10 → 10 m, 9 → 30 m, 8 → 92.6 m, 7 → 185.2 m), plus white
//! GPS jitter and spoofed offsets where the scenario says so.
//!
//! Reception: a receiver hears a frame when the target is within its range and radio
//! line of sight (4.12 km × (√h_rx + √h_tx), heights in metres), unless the frame is
//! lost (probability `loss`, rising by 0.3 toward the edge of range). Its timestamp is
//! the transmission time plus the propagation delay, so several receivers hear the same
//! frame at slightly different times. A received copy is corrupted (2–3 flipped bits,
//! which fail the CRC) with probability `corrupt`.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use skyfence_core::{GeoPoint, Icao24, RawFrame, Timestamp};
use skyfence_decode::adsb;
use skyfence_decode::modes;
use skyfence_decode::{CprFormat, Frame, Message};

use super::kinematics::{EARTH_RADIUS_M, M_PER_FT, State, destination};
use super::scenario::{Flight, Receiver, Surveillance};

/// Speed of light, metres per second.
const C_MPS: f64 = 299_792_458.0;

/// One frame as one receiver heard it.
#[derive(Clone, Copy, Debug)]
pub struct Reception {
    /// Reception time.
    pub at: Timestamp,
    /// Index of the receiver in the scenario.
    pub receiver: u16,
    /// The frame bytes (first `len` meaningful).
    pub bytes: [u8; 14],
    /// 7 or 14.
    pub len: u8,
    /// Beast signal byte.
    pub signal: u8,
    /// The message content for SBS output; `None` when the copy is corrupted.
    pub message: Option<Message>,
}

impl Reception {
    /// The frame as the framing encoders and the decoder take it, with the 12 MHz
    /// counter of a receiver whose counter read 0 at `start` (the recordings' `--start`).
    pub fn frame(&self, start: Timestamp) -> Frame {
        Frame {
            at: self.at,
            counter: Some(skyfence_decode::beast::counter_12mhz(self.at, start)),
            raw: RawFrame {
                bytes: self.bytes,
                len: self.len,
                signal: Some(self.signal),
                mlat: false,
            },
        }
    }
}

/// The kinds of squitter a transponder sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Squitter {
    /// DF17 airborne position (TC 11).
    Position,
    /// DF17 airborne velocity (TC 19, subtype 1).
    Velocity,
    /// DF17 identification and category (TC 1–4).
    Identification,
    /// DF11 acquisition squitter.
    AllCall,
    /// DF17 aircraft operational status (TC 31 subtype 0, version 2): carries the NACp.
    OperationalStatus,
}

/// All squitter kinds, in the order their timers are kept.
pub const SQUITTERS: [Squitter; 5] = [
    Squitter::Position,
    Squitter::Velocity,
    Squitter::Identification,
    Squitter::AllCall,
    Squitter::OperationalStatus,
];

impl Squitter {
    /// Whether this kind draws its schedule and receptions from the simulator's second
    /// random stream. Operational status (added after the others) does, so that adding
    /// it left every other frame of a seeded run — positions, noise, losses — exactly as
    /// it was, and with it the recorded scenarios' outcomes.
    pub fn own_stream(self) -> bool {
        self == Squitter::OperationalStatus
    }

    /// The next interval, seconds.
    pub fn interval_s(self, rng: &mut ChaCha8Rng) -> f64 {
        match self {
            Squitter::Position | Squitter::Velocity => rng.random_range(0.4..0.6),
            Squitter::Identification => rng.random_range(4.8..5.2),
            Squitter::AllCall => rng.random_range(0.8..1.2),
            Squitter::OperationalStatus => rng.random_range(2.4..2.6),
        }
    }
}

/// A transponder's schedule and error state.
#[derive(Clone, Debug)]
pub struct Transponder {
    /// Next transmission time per squitter kind, seconds from the scenario start.
    pub next_s: [f64; SQUITTERS.len()],
    odd: bool,
    noise_north_m: f64,
    noise_east_m: f64,
    last_noise_s: f64,
}

/// What one position squitter broadcast.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Broadcast {
    /// Broadcast latitude.
    pub lat: f64,
    /// Broadcast longitude.
    pub lon: f64,
    /// Whether a spoofed offset was applied.
    pub spoofed: bool,
}

/// Standard deviation per axis of the position error for a NACp (EPU / 2).
pub fn nacp_sigma_m(nacp: u8) -> f64 {
    // The simulator never draws errors wider than NACp 3's bound (it flies nothing worse).
    skyfence_core::nacp_epu95_m(nacp).map_or(3704.0, |epu| epu.min(3704.0)) / 2.0
}

/// A standard normal deviate (Box–Muller; written here rather than adding `rand_distr`
/// for one function).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl Transponder {
    /// A transponder switched on at `start_s`, first squitters spread over their
    /// intervals; kinds with [`Squitter::own_stream`] draw from `status_rng`.
    pub fn new(start_s: f64, rng: &mut ChaCha8Rng, status_rng: &mut ChaCha8Rng) -> Self {
        let mut next_s = [0.0; SQUITTERS.len()];
        for (n, k) in next_s.iter_mut().zip(SQUITTERS) {
            let rng = if k.own_stream() {
                &mut *status_rng
            } else {
                &mut *rng
            };
            let first = k.interval_s(rng);
            *n = start_s + rng.random_range(0.0..first);
        }
        Transponder {
            next_s,
            odd: rng.random(),
            noise_north_m: 0.0,
            noise_east_m: 0.0,
            last_noise_s: start_s,
        }
    }

    /// The position broadcast at `t_s` for true state `s`.
    pub fn broadcast_position(
        &mut self,
        flight: &Flight,
        s: &State,
        t_s: f64,
        surv: &Surveillance,
        rng: &mut ChaCha8Rng,
    ) -> Broadcast {
        let (mut north, mut east) = (0.0, 0.0);
        if surv.noise {
            let sigma = nacp_sigma_m(flight.nacp);
            let a = (-(t_s - self.last_noise_s).max(0.0) / 30.0).exp();
            let k = (1.0 - a * a).sqrt() * sigma;
            self.noise_north_m = a * self.noise_north_m + k * normal(rng);
            self.noise_east_m = a * self.noise_east_m + k * normal(rng);
            self.last_noise_s = t_s;
            north += self.noise_north_m;
            east += self.noise_east_m;
            for j in &flight.jitter {
                if t_s >= j.from_s && t_s < j.to_s {
                    north += j.sigma_m * normal(rng);
                    east += j.sigma_m * normal(rng);
                }
            }
        }
        let mut spoofed = false;
        for sp in &flight.spoof {
            if t_s >= sp.from_s && t_s < sp.to_s {
                north += sp.north_m;
                east += sp.east_m;
                spoofed = true;
            }
        }
        let (lat, lon) = if north == 0.0 && east == 0.0 {
            (s.lat, s.lon)
        } else {
            let (lat, lon) = destination(s.lat, s.lon, 0.0, north);
            destination(lat, lon, 90.0, east)
        };
        Broadcast { lat, lon, spoofed }
    }

    /// Builds the frame and its decoded content for squitter `kind`. `None` when the
    /// flight has nothing to send (identification without a callsign) or a value cannot
    /// be encoded.
    pub fn frame(
        &mut self,
        kind: Squitter,
        flight: &Flight,
        s: &State,
        pos: Option<Broadcast>,
        at: Timestamp,
    ) -> Option<([u8; 14], u8, Message)> {
        let icao: Icao24 = flight.icao24;
        let mut m = Message::new(at, icao);
        m.df = Some(17);
        let alt = (!flight.no_altitude).then(|| s.alt_ft.round() as i32);
        let bytes = match kind {
            Squitter::Position => {
                let b = pos?;
                let odd = self.odd;
                self.odd = !odd;
                let f = adsb::encode_airborne_position(icao, GeoPoint::new(b.lat, b.lon), alt, odd)
                    .ok()?;
                m.tc = Some(11);
                m.position = Some(GeoPoint::new(b.lat, b.lon));
                m.alt_ft = alt.map(|a| (a + 12).div_euclid(25) * 25);
                m.cpr = Some(if odd { CprFormat::Odd } else { CprFormat::Even });
                f
            }
            Squitter::Velocity => {
                let gs_kt = (s.gs_mps * 3600.0 / 1852.0) as f32;
                let track = s.track_deg as f32;
                let vrate = s.vrate_fpm.round() as i32;
                m.tc = Some(19);
                m.gs_kt = Some(gs_kt);
                m.track_deg = Some(track);
                m.vrate_fpm = Some((vrate + 32).div_euclid(64) * 64);
                adsb::encode_velocity_ground(icao, gs_kt, track, Some(vrate))
            }
            Squitter::Identification => {
                let cs = flight.callsign?;
                m.tc = Some(flight.category.map_or(4, |c| b'A' + 4 - c.set()));
                m.callsign = Some(cs);
                m.category = flight.category;
                adsb::encode_identification(icao, flight.category, &cs).ok()?
            }
            Squitter::AllCall => {
                m.df = Some(11);
                let short = modes::encode_all_call(icao, 5, 0).ok()?;
                let mut f = [0u8; 14];
                f[..7].copy_from_slice(&short);
                return Some((f, 7, m));
            }
            Squitter::OperationalStatus => {
                m.tc = Some(31);
                m.adsb_version = Some(2);
                m.nacp = Some(flight.nacp);
                adsb::encode_operational_status(icao, false, 2, flight.nacp)
            }
        };
        Some((bytes, 14, m))
    }
}

/// Hands one transmission to every receiver that hears it. `rx_cos_lat` holds the
/// cosine of each receiver's latitude. Returns whether at least one intact copy was heard.
#[allow(clippy::too_many_arguments)]
pub fn receive(
    receivers: &[Receiver],
    rx_cos_lat: &[f64],
    surv: &Surveillance,
    s: &State,
    t_tx: Timestamp,
    bytes: [u8; 14],
    len: u8,
    message: Message,
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Reception>,
) -> bool {
    let mut heard = false;
    let h_tx = (s.alt_ft * M_PER_FT).max(1.0);
    let cos_lat = s.lat.to_radians().cos();
    for (i, r) in receivers.iter().enumerate() {
        // Equirectangular distance with the mean of the two latitudes' cosines: within
        // 0.1 % of the great circle over a receiver's range, and no trigonometry per
        // receiver (this runs for every frame).
        let cos_mean = (cos_lat + rx_cos_lat[i]) / 2.0;
        let dy = (s.lat - r.lat).to_radians();
        let dx = super::kinematics::wrap180(s.lon - r.lon).to_radians() * cos_mean;
        let d = EARTH_RADIUS_M * (dx * dx + dy * dy).sqrt();
        let horizon = 4_120.0 * (r.height_m.max(0.0).sqrt() + h_tx.sqrt());
        let range = (r.range_km * 1000.0).min(horizon);
        if d > range {
            continue;
        }
        let p_loss = surv.loss + 0.3 * d / range;
        if rng.random::<f64>() < p_loss {
            continue;
        }
        let slant = (d * d + h_tx * h_tx).sqrt();
        let at = t_tx.add_micros((slant / C_MPS * 1e6).round() as i64);
        // Received power falls with the square of range, so the Beast signal byte (an
        // amplitude) falls with range: -3 dBFS at 10 km or closer, floor at -45 dBFS.
        let amplitude = 0.708 * (10_000.0 / slant).min(1.0);
        let signal = (255.0 * amplitude).round().clamp(2.0, 255.0) as u8;
        let mut copy = bytes;
        let mut msg = Some(Message { at, ..message });
        if rng.random::<f64>() < surv.corrupt {
            let nbits = usize::from(len) * 8;
            // 2 or 3 distinct bits from bit 5 on (the downlink format stays intact).
            let first = rng.random_range(5..nbits);
            let mut bits = [first, 0, 0];
            let count = rng.random_range(2..=3);
            for k in 1..count {
                bits[k] = 5 + (bits[k - 1] - 5 + rng.random_range(1..8)) % (nbits - 5);
            }
            for &bit in &bits[..count] {
                copy[bit / 8] ^= 0x80 >> (bit % 8);
            }
            msg = None;
        } else {
            heard = true;
        }
        out.push(Reception {
            at,
            receiver: i as u16,
            bytes: copy,
            len,
            signal,
            message: msg,
        });
    }
    heard
}
