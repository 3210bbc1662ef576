//! Flight kinematics: great-circle legs flown with a realistic turn rate, climbs and
//! descents at a type's rate, racetrack orbits and circular loiters.
//!
//! The aircraft is integrated in fixed steps (the simulator uses 0.1 s): each step turns
//! the track toward the wanted one at no more than the type's turn rate, changes speed
//! and altitude toward the leg's values at the type's limits, and moves along the great
//! circle of the current track. A sphere of the mean Earth radius is accurate enough for
//! motion (the error over one 0.1 s step is far below a millimetre); containment and
//! depth in [`super::truth`] use the WGS-84 ellipsoid.

use skyfence_core::EmitterCategory;

/// Mean Earth radius (IUGG R1), metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Metres per foot.
pub const M_PER_FT: f64 = 0.3048;

/// The true state of one aircraft at one instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct State {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees in [-180, 180).
    pub lon: f64,
    /// Pressure altitude, feet (the simulator assumes a standard atmosphere).
    pub alt_ft: f64,
    /// Track over ground, degrees clockwise from true north, in [0, 360).
    pub track_deg: f64,
    /// Ground speed, metres per second.
    pub gs_mps: f64,
    /// Vertical rate, feet per minute.
    pub vrate_fpm: f64,
}

impl State {
    /// Linear interpolation between two states `dt` apart, at fraction `f` in [0, 1]. Over
    /// a 0.1 s step this is exact to well under a centimetre.
    pub fn lerp(&self, other: &State, f: f64) -> State {
        let dlon = wrap180(other.lon - self.lon);
        let dtrack = wrap180(other.track_deg - self.track_deg);
        State {
            lat: self.lat + (other.lat - self.lat) * f,
            lon: wrap180(self.lon + dlon * f),
            alt_ft: self.alt_ft + (other.alt_ft - self.alt_ft) * f,
            track_deg: (self.track_deg + dtrack * f).rem_euclid(360.0),
            gs_mps: self.gs_mps + (other.gs_mps - self.gs_mps) * f,
            vrate_fpm: self.vrate_fpm + (other.vrate_fpm - self.vrate_fpm) * f,
        }
    }
}

/// An angle difference wrapped into [-180, 180).
pub fn wrap180(deg: f64) -> f64 {
    (deg + 180.0).rem_euclid(360.0) - 180.0
}

/// Great-circle distance in metres (haversine on the mean sphere).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// Initial great-circle bearing from point 1 to point 2, degrees in [0, 360).
pub fn bearing_deg(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dl = (lon2 - lon1).to_radians();
    let y = dl.sin() * p2.cos();
    let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
    y.atan2(x).to_degrees().rem_euclid(360.0)
}

/// The point `dist_m` along the great circle leaving (lat, lon) on `bearing`.
pub fn destination(lat: f64, lon: f64, bearing: f64, dist_m: f64) -> (f64, f64) {
    let d = dist_m / EARTH_RADIUS_M;
    let (p1, l1, b) = (lat.to_radians(), lon.to_radians(), bearing.to_radians());
    let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos())
        .clamp(-1.0, 1.0)
        .asin();
    let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
    (p2.to_degrees(), wrap180(l2.to_degrees()))
}

/// The kinds of aircraft the simulator flies, with their performance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AircraftKind {
    /// Jet airliner: 230–250 m/s at FL300–400, emitter category A3 (large).
    Airliner,
    /// Medium-altitude long-endurance UAV: 60–100 m/s at 15–50 kft, category B6.
    MaleUav,
    /// Small drone: 10–30 m/s below 2,000 ft, category B6.
    SmallDrone,
    /// Light aircraft: ~60 m/s at 5–10 kft, category A1.
    Light,
}

/// How an aircraft kind manoeuvres.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Performance {
    /// Largest turn rate, degrees per second (airliners bank ~25°: about 1.2°/s at
    /// cruise; a rate-one turn is 3°/s).
    pub turn_rate_dps: f64,
    /// Climb rate, feet per minute.
    pub climb_fpm: f64,
    /// Descent rate, feet per minute.
    pub descent_fpm: f64,
    /// Speed change, metres per second squared.
    pub accel_mps2: f64,
}

impl AircraftKind {
    /// The kind's manoeuvre limits.
    pub fn performance(self) -> Performance {
        match self {
            AircraftKind::Airliner => Performance {
                turn_rate_dps: 1.2,
                climb_fpm: 1800.0,
                descent_fpm: 2000.0,
                accel_mps2: 0.7,
            },
            AircraftKind::MaleUav => Performance {
                turn_rate_dps: 3.0,
                climb_fpm: 1200.0,
                descent_fpm: 1500.0,
                accel_mps2: 1.0,
            },
            AircraftKind::SmallDrone => Performance {
                turn_rate_dps: 20.0,
                climb_fpm: 600.0,
                descent_fpm: 600.0,
                accel_mps2: 3.0,
            },
            AircraftKind::Light => Performance {
                turn_rate_dps: 3.0,
                climb_fpm: 700.0,
                descent_fpm: 800.0,
                accel_mps2: 1.0,
            },
        }
    }

    /// The emitter category the kind broadcasts (DO-260B §2.2.3.2.5.2): A3, B6, B6, A1
    /// (always `Some`; `EmitterCategory::new` checks its arguments).
    pub fn category(self) -> Option<EmitterCategory> {
        let (set, cat) = match self {
            AircraftKind::Airliner => (b'A', 3),
            AircraftKind::MaleUav | AircraftKind::SmallDrone => (b'B', 6),
            AircraftKind::Light => (b'A', 1),
        };
        EmitterCategory::new(set, cat)
    }

    /// Typical cruise speed (m/s) and altitude (ft).
    pub fn cruise(self) -> (f64, f64) {
        match self {
            AircraftKind::Airliner => (240.0, 35_000.0),
            AircraftKind::MaleUav => (80.0, 25_000.0),
            AircraftKind::SmallDrone => (20.0, 800.0),
            AircraftKind::Light => (60.0, 7_500.0),
        }
    }
}

/// One piece of a flight plan.
#[derive(Clone, Debug, PartialEq)]
pub enum Leg {
    /// Fly the great circle to a point, changing to the given altitude and speed.
    Fly {
        /// Latitude of the point, degrees.
        lat: f64,
        /// Longitude of the point, degrees.
        lon: f64,
        /// Altitude to change to (feet), `None` = keep.
        alt_ft: Option<f64>,
        /// Speed to change to (m/s), `None` = keep.
        speed_mps: Option<f64>,
    },
    /// Circle a centre at a radius (a loiter) for a time.
    Orbit {
        /// Latitude of the centre, degrees.
        lat: f64,
        /// Longitude of the centre, degrees.
        lon: f64,
        /// Radius, metres (raised to the smallest the type can fly).
        radius_m: f64,
        /// How long to orbit, seconds.
        duration_s: f64,
        /// Turn direction.
        clockwise: bool,
    },
    /// Fly back and forth between two points (a racetrack: the type's turn rate rounds
    /// the ends) for a time.
    Racetrack {
        /// First end (lat, lon).
        a: (f64, f64),
        /// Second end (lat, lon).
        b: (f64, f64),
        /// How long, seconds.
        duration_s: f64,
    },
}

/// Flies a list of legs.
#[derive(Clone, Debug)]
pub struct Pilot {
    legs: Vec<Leg>,
    leg: usize,
    leg_elapsed_s: f64,
    toward_b: bool,
    target_alt_ft: f64,
    target_speed_mps: f64,
    perf: Performance,
}

impl Pilot {
    /// A pilot for `legs`, starting at the given altitude and speed targets.
    pub fn new(legs: Vec<Leg>, perf: Performance, alt_ft: f64, speed_mps: f64) -> Self {
        Pilot {
            legs,
            leg: 0,
            leg_elapsed_s: 0.0,
            toward_b: false,
            target_alt_ft: alt_ft,
            target_speed_mps: speed_mps,
            perf,
        }
    }

    /// Whether every leg has been flown.
    pub fn done(&self) -> bool {
        self.leg >= self.legs.len()
    }

    /// Advances `s` by `dt` seconds. Returns `false` once the plan is finished (the state
    /// then keeps flying straight).
    pub fn step(&mut self, s: &mut State, dt: f64) -> bool {
        let desired = self.desired_track(s, dt);
        // Turn.
        let diff = wrap180(desired - s.track_deg);
        let max = self.perf.turn_rate_dps * dt;
        let new_track = (s.track_deg + diff.clamp(-max, max)).rem_euclid(360.0);
        // Speed.
        let dv = (self.target_speed_mps - s.gs_mps)
            .clamp(-self.perf.accel_mps2 * dt, self.perf.accel_mps2 * dt);
        let new_gs = s.gs_mps + dv;
        // Altitude.
        let dalt = self.target_alt_ft - s.alt_ft;
        let vrate = if dalt > 0.0 {
            self.perf.climb_fpm.min(dalt * 60.0 / dt)
        } else {
            -(self.perf.descent_fpm.min(-dalt * 60.0 / dt))
        };
        // Move along the mean track of the step.
        let mean_track = s.track_deg + wrap180(new_track - s.track_deg) / 2.0;
        let (lat, lon) = destination(s.lat, s.lon, mean_track, (s.gs_mps + new_gs) / 2.0 * dt);
        s.lat = lat;
        s.lon = lon;
        s.track_deg = new_track;
        s.gs_mps = new_gs;
        s.alt_ft += vrate * dt / 60.0;
        s.vrate_fpm = vrate;
        self.leg_elapsed_s += dt;
        !self.done()
    }

    /// The track wanted now, advancing through finished legs.
    fn desired_track(&mut self, s: &State, dt: f64) -> f64 {
        let turn_radius = s.gs_mps / self.perf.turn_rate_dps.to_radians();
        while let Some(leg) = self.legs.get(self.leg).cloned() {
            match leg {
                Leg::Fly {
                    lat,
                    lon,
                    alt_ft,
                    speed_mps,
                } => {
                    if let Some(a) = alt_ft {
                        self.target_alt_ft = a;
                    }
                    if let Some(v) = speed_mps {
                        self.target_speed_mps = v;
                    }
                    if !reached(s, lat, lon, dt, turn_radius) {
                        return bearing_deg(s.lat, s.lon, lat, lon);
                    }
                }
                Leg::Orbit {
                    lat,
                    lon,
                    radius_m,
                    duration_s,
                    clockwise,
                } => {
                    if self.leg_elapsed_s < duration_s {
                        let r = radius_m.max(turn_radius * 1.2);
                        let d = distance_m(lat, lon, s.lat, s.lon);
                        let out = bearing_deg(lat, lon, s.lat, s.lon);
                        let corr = ((d - r) / r * 90.0).clamp(-90.0, 90.0);
                        return if clockwise {
                            out + 90.0 + corr
                        } else {
                            out - 90.0 - corr
                        }
                        .rem_euclid(360.0);
                    }
                }
                Leg::Racetrack { a, b, duration_s } => {
                    if self.leg_elapsed_s < duration_s {
                        let (lat, lon) = if self.toward_b { b } else { a };
                        if reached(s, lat, lon, dt, turn_radius) {
                            self.toward_b = !self.toward_b;
                        }
                        let (lat, lon) = if self.toward_b { b } else { a };
                        return bearing_deg(s.lat, s.lon, lat, lon);
                    }
                }
            }
            self.leg += 1;
            self.leg_elapsed_s = 0.0;
            self.toward_b = false;
        }
        s.track_deg
    }
}

/// A point is reached when within one step, or when it is close and behind (it would
/// need a turn tighter than the type can fly).
fn reached(s: &State, lat: f64, lon: f64, dt: f64, turn_radius: f64) -> bool {
    let d = distance_m(s.lat, s.lon, lat, lon);
    if d <= s.gs_mps * dt + 1.0 {
        return true;
    }
    let off = wrap180(bearing_deg(s.lat, s.lon, lat, lon) - s.track_deg).abs();
    off > 90.0 && d < 2.0 * turn_radius
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_inverts_distance_and_bearing() {
        // Kabul (34.5553, 69.2075) to Islamabad (33.6844, 73.0479): ~ 367 km.
        let d = distance_m(34.5553, 69.2075, 33.6844, 73.0479);
        assert!((d - 366_600.0).abs() < 2_000.0, "{d}");
        let b = bearing_deg(34.5553, 69.2075, 33.6844, 73.0479);
        let (lat, lon) = destination(34.5553, 69.2075, b, d);
        assert!((lat - 33.6844).abs() < 1e-9 && (lon - 73.0479).abs() < 1e-9);
    }

    #[test]
    fn fly_leg_reaches_point_and_turns_at_rate() {
        let perf = AircraftKind::Airliner.performance();
        let mut s = State {
            lat: 34.0,
            lon: 70.0,
            alt_ft: 35_000.0,
            track_deg: 0.0,
            gs_mps: 240.0,
            vrate_fpm: 0.0,
        };
        // A point due east: a 90° turn at 1.2°/s takes 75 s.
        let legs = vec![Leg::Fly {
            lat: 34.0,
            lon: 71.0,
            alt_ft: Some(37_000.0),
            speed_mps: None,
        }];
        let mut p = Pilot::new(legs, perf, 35_000.0, 240.0);
        let mut t = 0.0;
        let mut turned_at = None;
        while p.step(&mut s, 0.1) && t < 1000.0 {
            t += 0.1;
            if turned_at.is_none() && (s.track_deg - 90.0).abs() < 3.0 {
                turned_at = Some(t);
            }
        }
        let turned_at = turned_at.unwrap_or(f64::NAN);
        assert!((70.0..80.0).contains(&turned_at), "{turned_at}");
        assert!(distance_m(s.lat, s.lon, 34.0, 71.0) < 100.0);
        // Climbed 2000 ft at 1800 fpm in 66.7 s.
        assert!((s.alt_ft - 37_000.0).abs() < 1.0);
    }

    #[test]
    fn orbit_holds_radius() {
        let perf = AircraftKind::MaleUav.performance();
        let mut s = State {
            lat: 33.0,
            lon: 69.5,
            alt_ft: 25_000.0,
            track_deg: 90.0,
            gs_mps: 80.0,
            vrate_fpm: 0.0,
        };
        let legs = vec![Leg::Orbit {
            lat: 33.0,
            lon: 69.6,
            radius_m: 5_000.0,
            duration_s: 900.0,
            clockwise: true,
        }];
        let mut p = Pilot::new(legs, perf, 25_000.0, 80.0);
        for i in 0..9010 {
            p.step(&mut s, 0.1);
            if i > 3000 {
                let d = distance_m(33.0, 69.6, s.lat, s.lon);
                assert!((d - 5_000.0).abs() < 300.0, "step {i}: {d}");
            }
        }
        assert!(p.done());
    }
}
