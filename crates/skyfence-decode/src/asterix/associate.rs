//! Radar plots and the tracks of other sensors: one target per aircraft.
//!
//! A radar report with a Mode S address is the ICAO target (its ADS-B track) already.
//! This module decides the rest, as a radar data processor's plot-to-track association
//! does (Bar-Shalom and Li, *Multitarget-Multisensor Tracking*, ch. 8; Blackman and
//! Popoli, *Design and Analysis of Modern Tracking Systems*, §6.3: a validation gate on
//! the normalised innovation, then the nearest neighbour in it):
//!
//! - **Binding.** A radar track that once carried a Mode S address (I048/220) is bound
//!   to that ICAO target; its later reports without the address (the reply was missed,
//!   only the primary radar saw it) stay the ICAO target while they pass the gate below.
//! - **Gate.** A radar report without an address (a primary plot, or a Mode 3/A-only
//!   secondary one) is compared with every known target's last position (ICAO targets,
//!   Remote ID drones; for a plot without a track number also that radar's own tracks),
//!   predicted to the
//!   plot's time along its velocity. With the plot's 95 % error `a_p`, the target's
//!   `a_t` (both divided by 2.45 to one σ of a circular normal error) and a manoeuvre
//!   allowance `σ_m = ½·A·Δt² + V_ERR·Δt` (or `V_MAX·Δt` without a velocity), the
//!   normalised distance is d² = |plot − prediction|² / (σ_p² + σ_t² + σ_m²); the plot
//!   is in a target's gate when d² ≤ 9.21 (χ² with two degrees of freedom at 99 %) and
//!   Δt ≤ 15 s. A Mode 3/A code that differs from the target's squawk, or a flight level
//!   more than 1000 ft from its altitude, rules the target out. The nearest target (the
//!   smallest d², ties by target id) takes the plot; a radar track so associated with an
//!   ICAO target or a Remote ID drone is bound to it. So a drone that broadcasts Remote
//!   ID and is seen by a primary radar is one target, its incidents listing both
//!   sensors.
//! - Otherwise the report stays the radar's own track (`SENSOR/NUMBER`), and a plot
//!   with neither track number nor association is dropped as `untracked`.
//!
//! Everything here runs inside the ingest step, so `analyze`, the live service and a
//! bundle's re-detection associate the same records the same way.

use std::collections::HashMap;

use skyfence_core::{GeoPoint, Icao24, Observation, ShortName, Squawk, TargetId, Timestamp};

/// χ² with two degrees of freedom at 99 %: the gate on the normalised distance.
pub const GATE_CHI2: f64 = 9.21;
/// The oldest target state a plot is compared with, seconds (a radar's longest
/// rotation period, 12 s, plus slack).
pub const MAX_AGE_S: f64 = 15.0;
/// Manoeuvre acceleration allowed for, m/s² (about 0.5 g).
const ACCEL_MPS2: f64 = 5.0;
/// Velocity error of a target that reports one, m/s.
const V_ERR_MPS: f64 = 5.0;
/// Speed allowed for a target without a velocity, m/s.
const V_MAX_MPS: f64 = 300.0;
/// The 95 % error assumed for a position without one, metres.
const DEFAULT_ACCURACY_M: f64 = 150.0;
/// A flight level further than this from the target's altitude rules it out, feet.
const MAX_ALT_DIFF_FT: i32 = 1000;
/// State older than this is forgotten, seconds.
const FORGET_S: i64 = 60;

/// What the associator knows of one target.
#[derive(Clone, Copy, Debug)]
struct Kin {
    at: Timestamp,
    pos: GeoPoint,
    /// Velocity east and north, m/s, when known.
    vel: Option<(f64, f64)>,
    /// When the target last reported its velocity (then positions do not replace it).
    vel_reported_at: Option<Timestamp>,
    /// One σ of the position's error, metres.
    sigma_m: f64,
    alt_ft: Option<(i32, Timestamp)>,
    squawk: Option<Squawk>,
}

/// Counts of what association did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssociationCounts {
    /// Reports without an address that joined an ICAO target through their radar
    /// track's binding.
    pub by_binding: u64,
    /// Reports that joined a target through the gate.
    pub by_gate: u64,
    /// Reports without an address that no target's gate took.
    pub unassociated: u64,
}

/// The plot-to-track associator (see the module documentation).
#[derive(Debug, Default)]
pub struct Associator {
    kin: HashMap<TargetId, Kin>,
    /// A radar track (sensor, number) → the target it is (ICAO or Remote ID), and when
    /// last used.
    bound: HashMap<(ShortName, u32), (TargetId, Timestamp)>,
    next_forget: Option<Timestamp>,
    counts: AssociationCounts,
}

/// Metres east and north from `a` to `b` (equirectangular: gates are a few km at most).
fn offset_m(a: GeoPoint, b: GeoPoint) -> (f64, f64) {
    const R: f64 = 6_371_008.8;
    let n = (b.lat - a.lat).to_radians() * R;
    let mut dlon = b.lon - a.lon;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let e = dlon.to_radians() * R * ((a.lat + b.lat) / 2.0).to_radians().cos();
    (e, n)
}

fn sigma_of(o: &Observation) -> f64 {
    f64::from(o.accuracy_m.unwrap_or(DEFAULT_ACCURACY_M as f32)) / 2.45
}

impl Associator {
    /// An associator that knows no target yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// What association did so far.
    pub fn counts(&self) -> AssociationCounts {
        self.counts
    }

    /// Targets whose state is kept.
    pub fn targets(&self) -> usize {
        self.kin.len()
    }

    /// Learns from an accepted observation (any protocol): its target's position,
    /// velocity, altitude and squawk.
    pub fn note(&mut self, o: &Observation) {
        if o.position.is_none()
            && o.velocity.is_none()
            && o.altitude.is_none()
            && o.identity.squawk.is_none()
        {
            return;
        }
        self.forget(o.at);
        let reported = o
            .velocity
            .and_then(|v| Some((v.gs_kt?, v.track_deg?)))
            .map(|(gs, trk)| {
                let v = f64::from(gs) * 1852.0 / 3600.0;
                let t = f64::from(trk).to_radians();
                (v * t.sin(), v * t.cos())
            });
        if let Some(pos) = o.position {
            let sigma_m = sigma_of(o);
            let k = self.kin.entry(o.target).or_insert(Kin {
                at: o.at,
                pos,
                vel: None,
                vel_reported_at: None,
                sigma_m,
                alt_ft: None,
                squawk: None,
            });
            let dt = o.at.secs_since(k.at);
            if dt >= 0.0 {
                // Without a recent reported velocity, the one between two positions at
                // least a second apart.
                let recent = k
                    .vel_reported_at
                    .is_some_and(|t| o.at.secs_since(t) <= MAX_AGE_S);
                if !recent && (1.0..=MAX_AGE_S).contains(&dt) {
                    let (e, n) = offset_m(k.pos, pos);
                    k.vel = Some((e / dt, n / dt));
                } else if !recent && dt > MAX_AGE_S {
                    k.vel = None;
                }
                k.at = o.at;
                k.pos = pos;
                k.sigma_m = sigma_m;
            }
        }
        if let Some(k) = self.kin.get_mut(&o.target) {
            if let Some(v) = reported {
                k.vel = Some(v);
                k.vel_reported_at = Some(o.at);
            }
            if let Some(a) = o.altitude {
                k.alt_ft = Some((a.feet, o.at));
            }
            if o.identity.squawk.is_some() {
                k.squawk = o.identity.squawk;
            }
        }
    }

    /// Binds radar track `number` of `sensor` to the ICAO target `icao` (a report of the
    /// track carried the address).
    pub fn bind(&mut self, sensor: ShortName, number: u32, icao: Icao24, at: Timestamp) {
        self.bound
            .insert((sensor, number), (TargetId::Icao(icao), at));
    }

    /// The normalised distance² of plot `o` from target `k`, when `k` may be the plot's
    /// target at all.
    fn distance2(o: &Observation, pos: GeoPoint, k: &Kin) -> Option<f64> {
        let dt = o.at.secs_since(k.at);
        if dt.abs() > MAX_AGE_S {
            return None;
        }
        if let (Some(a), Some(b)) = (o.identity.squawk, k.squawk)
            && a != b
        {
            return None;
        }
        if let (Some(a), Some((b, _))) = (o.altitude, k.alt_ft)
            && (a.feet - b).abs() > MAX_ALT_DIFF_FT
        {
            return None;
        }
        let (ve, vn, sigma_m) = match k.vel {
            Some((ve, vn)) => (ve, vn, 0.5 * ACCEL_MPS2 * dt * dt + V_ERR_MPS * dt.abs()),
            None => (0.0, 0.0, V_MAX_MPS * dt.abs()),
        };
        let (e, n) = offset_m(k.pos, pos);
        let (de, dn) = (e - ve * dt, n - vn * dt);
        let sp = sigma_of(o);
        let var = sp * sp + k.sigma_m * k.sigma_m + sigma_m * sigma_m;
        Some((de * de + dn * dn) / var)
    }

    /// Associates a radar observation without a Mode S address (`o.target` is the
    /// sensor's track; number 0 for a plot without one): re-targets `o` to the ICAO
    /// target it belongs to, or to the radar's own track that takes an untracked plot.
    /// Returns false for an untracked plot no target took.
    pub fn associate(&mut self, o: &mut Observation) -> bool {
        let TargetId::Track { sensor, number } = o.target else {
            return true;
        };
        let tracked = number != 0;
        // A bound radar track: its target while its reports stay in its gate.
        if tracked && let Some(&(target, _)) = self.bound.get(&(sensor, number)) {
            let fits = match (o.position, self.kin.get(&target)) {
                (Some(p), Some(k)) => {
                    Self::distance2(o, p, k).is_some_and(|d2| d2 <= GATE_CHI2)
                        || o.at.secs_since(k.at) > MAX_AGE_S
                }
                _ => true,
            };
            if fits {
                self.bound.insert((sensor, number), (target, o.at));
                o.target = target;
                self.counts.by_binding += 1;
                return true;
            }
            self.bound.remove(&(sensor, number));
        }
        let Some(pos) = o.position else {
            return tracked;
        };
        let mut best: Option<(f64, TargetId)> = None;
        for (id, k) in &self.kin {
            let eligible = match id {
                TargetId::Icao(_) | TargetId::RemoteId(_) => true,
                // An untracked plot may continue one of its radar's own tracks.
                TargetId::Track {
                    sensor: s,
                    number: n,
                } => !tracked && *s == sensor && *n != 0,
            };
            if !eligible {
                continue;
            }
            if let Some(d2) = Self::distance2(o, pos, k)
                && d2 <= GATE_CHI2
                && best.is_none_or(|(b, bid)| d2 < b || (d2 == b && *id < bid))
            {
                best = Some((d2, *id));
            }
        }
        match best {
            Some((_, id)) => {
                if tracked && matches!(id, TargetId::Icao(_) | TargetId::RemoteId(_)) {
                    self.bound.insert((sensor, number), (id, o.at));
                }
                o.target = id;
                self.counts.by_gate += 1;
                true
            }
            None => {
                self.counts.unassociated += 1;
                tracked
            }
        }
    }

    /// Forgets targets and bindings not heard for [`FORGET_S`] (every 10 s of data time).
    fn forget(&mut self, now: Timestamp) {
        if self.next_forget.is_some_and(|t| now < t) {
            return;
        }
        self.next_forget = Some(now.add_micros(10_000_000));
        let horizon = FORGET_S * 1_000_000;
        self.kin.retain(|_, k| now.micros_since(k.at) <= horizon);
        self.bound
            .retain(|_, (_, at)| now.micros_since(*at) <= horizon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::{Altitude, AltitudeDatum, PositionKind, Velocity};

    fn name(s: &str) -> ShortName {
        ShortName::new(s).unwrap()
    }

    fn adsb(icao: u32, secs: f64, lat: f64, lon: f64) -> Observation {
        let mut o = Observation::new(
            Icao24::new(icao).unwrap(),
            Timestamp::from_micros((secs * 1e6) as i64),
        );
        o.position = Some(GeoPoint::new(lat, lon));
        o.position_kind = PositionKind::Adsb;
        o.accuracy_m = Some(30.0);
        o
    }

    fn plot(number: u32, secs: f64, lat: f64, lon: f64) -> Observation {
        let mut o = Observation::of(
            TargetId::Track {
                sensor: name("psr"),
                number,
            },
            Timestamp::from_micros((secs * 1e6) as i64),
        );
        o.position = Some(GeoPoint::new(lat, lon));
        o.position_kind = PositionKind::Radar;
        o.accuracy_m = Some(180.0);
        o.sensor = Some(name("psr"));
        o
    }

    /// 0.001° of latitude is 111 m.
    const DEG_M: f64 = 111_195.0;

    #[test]
    fn a_plot_near_an_adsb_track_joins_it_and_binds_its_radar_track() {
        let mut a = Associator::new();
        // 4840d6 flies east at 200 kt (102.9 m/s) along latitude 34.
        let mut o = adsb(0x4840d6, 0.0, 34.0, 70.0);
        o.velocity = Some(Velocity {
            gs_kt: Some(200.0),
            track_deg: Some(90.0),
            vrate_fpm: None,
        });
        a.note(&o);
        // Four seconds later the radar sees it 412 m further east, 100 m off.
        let east = 4.0 * 102.9 / (DEG_M * 34f64.to_radians().cos());
        let mut p = plot(417, 4.0, 34.0 + 100.0 / DEG_M, 70.0 + east);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "4840d6");
        assert_eq!(a.counts().by_gate, 1);
        // Its track's next plot, not yet compared with any newer ADS-B, follows the
        // binding.
        let mut p = plot(417, 9.0, 34.0, 70.0 + 2.2 * east);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "4840d6");
        assert_eq!(a.counts().by_binding, 1);
        // A plot 3 km away is another target: it stays the radar's track.
        let mut p = plot(9, 9.0, 34.0 + 3000.0 / DEG_M, 70.0);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "psr/9");
        assert_eq!(a.counts().unassociated, 1);
        // Once its reports leave the gate the binding breaks.
        let mut p = plot(417, 10.0, 34.05, 70.0);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "psr/417");
    }

    #[test]
    fn squawk_altitude_and_age_rule_targets_out() {
        let mut a = Associator::new();
        let mut o = adsb(0x4840d6, 0.0, 34.0, 70.0);
        o.identity.squawk = Some(Squawk::new(0o1200).unwrap());
        o.altitude = Some(Altitude {
            feet: 8000,
            datum: AltitudeDatum::Barometric,
        });
        a.note(&o);
        // Same place, other code: not this aircraft.
        let mut p = plot(1, 1.0, 34.0, 70.0);
        p.identity.squawk = Some(Squawk::new(0o7000).unwrap());
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "psr/1");
        // Same code, 3000 ft lower: not this aircraft.
        let mut p = plot(2, 1.0, 34.0, 70.0);
        p.altitude = Some(Altitude {
            feet: 5000,
            datum: AltitudeDatum::Barometric,
        });
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "psr/2");
        // The right code and level: this aircraft.
        let mut p = plot(3, 1.0, 34.0, 70.0);
        p.identity.squawk = Some(Squawk::new(0o1200).unwrap());
        p.altitude = Some(Altitude {
            feet: 8100,
            datum: AltitudeDatum::Barometric,
        });
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "4840d6");
        // Twenty seconds on, the ADS-B state is too old to compare with.
        let mut p = plot(4, 20.0, 34.0, 70.0);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "psr/4");
    }

    #[test]
    fn untracked_plots_take_the_nearest_track_or_are_dropped() {
        let mut a = Associator::new();
        a.note(&adsb(0x000001, 0.0, 34.0, 70.0));
        a.note(&adsb(0x000002, 0.0, 34.0 + 250.0 / DEG_M, 70.0));
        // A radar track of the same radar, without address, 2 km north.
        let mut t = plot(7, 0.0, 34.0 + 2000.0 / DEG_M, 70.0);
        assert!(a.associate(&mut t));
        assert_eq!(t.target.to_string(), "psr/7");
        a.note(&t);
        // Between the two aircraft, nearer the second.
        let mut p = plot(0, 0.5, 34.0 + 150.0 / DEG_M, 70.0);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "000002");
        // Beside the radar track.
        let mut p = plot(0, 1.0, 34.0 + 2050.0 / DEG_M, 70.0);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "psr/7");
        // Far from everything: nothing takes it.
        let mut p = plot(0, 1.0, 35.0, 70.0);
        assert!(!a.associate(&mut p));
        // Another radar's untracked plot does not continue psr's track.
        let mut p = plot(0, 1.0, 34.0 + 2000.0 / DEG_M, 70.0);
        p.target = TargetId::Track {
            sensor: name("other"),
            number: 0,
        };
        assert!(!a.associate(&mut p));
    }

    /// A drone broadcasting Remote ID and painted by a primary radar is one target: the
    /// radar's plot near the drone's broadcast position joins it through the gate, and
    /// its radar track is bound to the drone; a plot beyond the gate stays the radar's.
    #[test]
    fn a_plot_near_a_remote_id_drone_joins_it_and_binds_its_radar_track() {
        let mut a = Associator::new();
        let drone =
            TargetId::parse(skyfence_core::TargetKind::RemoteId, "AF1581RID0000001").unwrap();
        let rid = |secs: f64, lat: f64| {
            let mut o = Observation::of(drone, Timestamp::from_micros((secs * 1e6) as i64));
            o.position = Some(GeoPoint::new(lat, 66.4));
            o.position_kind = PositionKind::RemoteId;
            o.accuracy_m = Some(10.0);
            o.altitude = Some(Altitude {
                feet: 400,
                datum: AltitudeDatum::Geometric,
            });
            o
        };
        // Flying north at 15 m/s, broadcasting once a second.
        for k in 0..5 {
            a.note(&rid(f64::from(k), 30.9 + f64::from(k) * 15.0 / DEG_M));
        }
        // The radar sees it 5 s after the first broadcast, 80 m off its track.
        let mut p = plot(31, 5.0, 30.9 + (75.0 + 80.0) / DEG_M, 66.4);
        assert!(a.associate(&mut p));
        assert_eq!(p.target, drone);
        assert_eq!(a.counts().by_gate, 1);
        a.note(&rid(6.0, 30.9 + 90.0 / DEG_M));
        // The same radar track's next plot follows the binding.
        let mut p = plot(31, 10.0, 30.9 + 150.0 / DEG_M, 66.4);
        assert!(a.associate(&mut p));
        assert_eq!(p.target, drone);
        assert_eq!(a.counts().by_binding, 1);
        // Another plot 2 km away is not the drone.
        let mut p = plot(32, 10.0, 30.9 + 2000.0 / DEG_M, 66.4);
        assert!(a.associate(&mut p));
        assert_eq!(p.target.to_string(), "psr/32");
    }

    #[test]
    fn old_state_is_forgotten() {
        let mut a = Associator::new();
        a.note(&adsb(0x000001, 0.0, 34.0, 70.0));
        a.bind(name("psr"), 5, Icao24::new(1).unwrap(), Timestamp::EPOCH);
        a.note(&adsb(0x000002, 61.0, 30.0, 70.0));
        assert_eq!(a.targets(), 1);
        assert!(a.bound.is_empty());
    }
}
