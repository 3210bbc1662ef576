//! Radar sites: what a rotating surveillance radar reports in ASTERIX.
//!
//! Each site's antenna turns at a constant rate (`rotation_s`, 4–12 s per scan), from
//! a north angle drawn at the start. A target inside the site's coverage (its range and
//! radio line of sight, 4.12 km × (√antenna height + √target height), heights above
//! ground in metres) is seen when the beam sweeps its azimuth, with probability `pd`;
//! the plot is stamped with that instant. A target with a transponder answers the
//! secondary radar: its plot carries its Mode S address, Mode 3/A code and flight level
//! (CAT048 TYP Mode S roll-call + PSR). A target without one (or with it switched off)
//! is seen by the primary radar alone (TYP PSR): no address, no altitude.
//!
//! Measurement: the slant range from the antenna (its WGS-84 height) to the target and
//! the geodesic azimuth, each with Gaussian noise of the site's `range_sigma_m` and
//! `azimuth_sigma_deg`, then quantised by I048/040 (1/256 NM, 360/2¹⁶ degrees). The
//! slant range is computed on a sphere of the site's mean radius of curvature, as a
//! radar's own plot extractor does; targets are taken at their altitude above the
//! ellipsoid.
//!
//! Tracks: each site numbers the targets it sees in the order it first sees them
//! (I048/161, from 1); a target keeps its number for the whole run. False plots (a mean
//! of `false_plots_per_scan`, uniform over the coverage) carry no track number: they
//! are plots, not tracks.
//!
//! Service messages (CAT034): a north marker each time the antenna passes north and a
//! sector crossing every 45°, with the rotation period (I034/041): what tells a
//! receiving system that the radar is alive.
//!
//! Every random draw comes from the radar stream of the seed, in a fixed order, so
//! adding radars to a scenario changes none of its Mode S frames.

use geographiclib_rs::{Geodesic, InverseGeodesic};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use skyfence_core::{Callsign, Icao24, Squawk, Timestamp};
use skyfence_decode::asterix::encode;
use skyfence_decode::asterix::{Detection, Polar, Report, Service, ServiceKind};

use super::kinematics::{M_PER_FT, State, bearing_deg, wrap180};
use super::scenario::RadarSite;

/// Metres in a nautical mile.
const NM_M: f64 = 1852.0;
/// Sector crossings per scan (every 45°).
const SECTORS: u32 = 8;

/// One ASTERIX record a radar sent.
#[derive(Clone, Debug, PartialEq)]
pub struct RadarRecord {
    /// When the radar sent it (its time of day).
    pub at: Timestamp,
    /// The site, by index in the scenario.
    pub radar: u16,
    /// Its category (48 or 34).
    pub category: u8,
    /// The record (FSPEC and items), without a data block header.
    pub record: Vec<u8>,
}

/// What a radar knows of one target this step.
pub struct Seen {
    /// The flight's index.
    pub index: usize,
    /// Its state at the start and end of the step.
    pub s0: State,
    /// See `s0`.
    pub s1: State,
    /// Mode S address, when its transponder answers now.
    pub address: Option<Icao24>,
    /// Its identification, when its transponder answers now.
    pub callsign: Option<Callsign>,
    /// Its Mode 3/A code.
    pub squawk: Option<Squawk>,
    /// Whether its transponder reports altitude.
    pub altitude: bool,
}

/// A plot of a target (for the truth): which flight, when, where truly, and whether it
/// carried an address.
#[derive(Clone, Copy, Debug)]
pub struct Plot {
    /// The flight's index.
    pub index: usize,
    /// The site's index.
    pub radar: usize,
    /// Seconds from the start.
    pub t_s: f64,
    /// The true state.
    pub state: State,
    /// The measured position placed back on the earth at the true altitude (what a
    /// receiving system computes when it knows the altitude).
    pub measured: [f64; 2],
    /// The track number.
    pub track: u32,
    /// Whether the target's transponder answered (the plot carried its Mode S address,
    /// or from a Mode A/C radar its Mode 3/A code): then it belongs to the ICAO target.
    pub addressed: bool,
}

/// One site's running state.
#[derive(Clone, Debug)]
pub struct RadarState {
    /// Antenna azimuth at the scenario start, degrees.
    north0_deg: f64,
    /// Track number per flight (0: not seen yet).
    tracks: Vec<u32>,
    next_track: u32,
}

/// The WGS-84 mean radius of curvature at `lat` (degrees): √(M·N), metres.
pub fn mean_radius_m(lat: f64) -> f64 {
    const A: f64 = 6_378_137.0;
    const E2: f64 = 6.694_379_990_14e-3;
    let s = lat.to_radians().sin();
    A * (1.0 - E2).sqrt() / (1.0 - E2 * s * s)
}

/// The slant range, metres, from an antenna `h_a` metres up to a target `h_t` metres up
/// at ground distance `ground_m`, on a sphere of radius `r`.
pub fn slant_range_m(r: f64, h_a: f64, h_t: f64, ground_m: f64) -> f64 {
    let (a, b) = (r + h_a, r + h_t);
    let g = ground_m / r;
    (a * a + b * b - 2.0 * a * b * g.cos()).max(0.0).sqrt()
}

/// A standard normal deviate (Box–Muller).
pub(crate) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// 1/128 s since midnight UTC of `at`.
pub(crate) fn time_of_day(at: Timestamp) -> u32 {
    let us = at.as_micros().rem_euclid(86_400_000_000);
    ((us * 128 + 500_000) / 1_000_000) as u32 % (86_400 * 128)
}

impl RadarState {
    /// A site at the start of a run of `flights` flights; its antenna's north angle is
    /// drawn from `rng`.
    pub fn new(flights: usize, rng: &mut ChaCha8Rng) -> Self {
        RadarState {
            north0_deg: rng.random_range(0.0..360.0),
            tracks: vec![0; flights],
            next_track: 1,
        }
    }

    /// The unwrapped antenna angle at `t_s`, degrees.
    fn angle(&self, site: &RadarSite, t_s: f64) -> f64 {
        self.north0_deg + 360.0 * t_s / site.rotation_s
    }

    /// The step `[t_s, t1_s)` of site `ri`: its service messages and the plots of the
    /// targets its beam sweeps, appended to `out` (and the target plots to `plots`).
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        ri: usize,
        site: &RadarSite,
        start: Timestamp,
        t_s: f64,
        t1_s: f64,
        targets: &[Seen],
        rng: &mut ChaCha8Rng,
        out: &mut Vec<RadarRecord>,
        plots: &mut Vec<Plot>,
    ) {
        let (a0, a1) = (self.angle(site, t_s), self.angle(site, t1_s));
        let at_angle = |a: f64| t_s + (a - a0) / (a1 - a0) * (t1_s - t_s);
        let stamp = |t: f64| start.add_micros((t * 1e6).round() as i64);
        let report = |at: Timestamp, category: u8| Report {
            category,
            sac: site.sac,
            sic: site.sic,
            time_of_day: Some(time_of_day(at)),
            ..Report::default()
        };
        // Service messages: every 45° crossed in (a0, a1].
        let sector = 360.0 / f64::from(SECTORS);
        let mut k = (a0 / sector).floor() + 1.0;
        while k * sector <= a1 {
            let at = stamp(at_angle(k * sector));
            let index = (k as i64).rem_euclid(i64::from(SECTORS));
            let kind = if index == 0 {
                ServiceKind::NorthMarker
            } else {
                ServiceKind::SectorCrossing
            };
            let service = Service {
                kind,
                sector_deg: Some((index as f64 * sector) as f32),
                rotation_period_s: Some(site.rotation_s as f32),
                nogo: None,
            };
            let r = report(at, 34);
            out.push(RadarRecord {
                at,
                radar: ri as u16,
                category: 34,
                record: encode::cat034(&r, &service),
            });
            // False plots, spread over the scan, drawn at each north marker.
            if index == 0 && site.false_plots_per_scan > 0.0 {
                let n = poisson(site.false_plots_per_scan, rng);
                for _ in 0..n {
                    let range_m = rng.random_range(0.05..1.0) * site.range_km * 1000.0;
                    let az: f64 = rng.random_range(0.0..360.0);
                    let mut r = report(at, 48);
                    r.detection = Some(Detection::Psr);
                    r.polar = Some(Polar {
                        range_nm: range_m / NM_M,
                        azimuth_deg: az,
                    });
                    out.push(RadarRecord {
                        at,
                        radar: ri as u16,
                        category: 48,
                        record: encode::cat048(&r),
                    });
                }
            }
            k += 1.0;
        }
        let cos_site = site.lat.to_radians().cos();
        let ground_m = site.alt_m - site.height_m;
        for tgt in targets {
            let s = tgt.s0;
            // Coverage: range, then line of sight (cheap spherical distance first).
            let cos_mean = (cos_site + s.lat.to_radians().cos()) / 2.0;
            let dy = (s.lat - site.lat).to_radians();
            let dx = wrap180(s.lon - site.lon).to_radians() * cos_mean;
            let d = super::kinematics::EARTH_RADIUS_M * (dx * dx + dy * dy).sqrt();
            let h_t = (s.alt_ft * M_PER_FT - ground_m).max(1.0);
            let horizon = 4_120.0 * (site.height_m.max(0.0).sqrt() + h_t.sqrt());
            if d > (site.range_km * 1000.0).min(horizon) || d < 100.0 {
                continue;
            }
            // Does the beam sweep the target's azimuth in this step?
            let az = bearing_deg(site.lat, site.lon, s.lat, s.lon);
            let base = a0 - a0.rem_euclid(360.0);
            let mut hit = base + az;
            if hit <= a0 {
                hit += 360.0;
            }
            if hit > a1 {
                continue;
            }
            let tt = at_angle(hit);
            let st = tgt.s0.lerp(&tgt.s1, (tt - t_s) / (t1_s - t_s));
            if rng.random::<f64>() >= site.pd {
                continue;
            }
            let (s12, azi1, _, _): (f64, f64, f64, f64) =
                Geodesic::wgs84().inverse(site.lat, site.lon, st.lat, st.lon);
            let r_m = mean_radius_m(site.lat);
            let alt_m = st.alt_ft * M_PER_FT;
            let rho = slant_range_m(r_m, site.alt_m, alt_m, s12);
            let rho_meas = (rho + site.range_sigma_m * normal(rng)).max(0.0);
            let az_meas = (azi1 + site.azimuth_sigma_deg * normal(rng)).rem_euclid(360.0);
            let track = &mut self.tracks[tgt.index];
            if *track == 0 {
                *track = self.next_track;
                self.next_track += 1;
            }
            let at = stamp(tt);
            let mut r = report(at, 48);
            r.polar = Some(Polar {
                range_nm: rho_meas / NM_M,
                azimuth_deg: az_meas,
            });
            r.track_number = Some(*track);
            r.track_tentative = Some(false);
            r.ground_speed_kt = Some((st.gs_mps * 3600.0 / NM_M) as f32);
            r.track_deg = Some(st.track_deg.rem_euclid(360.0) as f32);
            match tgt.address {
                Some(a) if site.mode_s => {
                    r.detection = Some(Detection::ModeSRollCallPsr);
                    r.address = Some(a);
                    r.callsign = tgt.callsign;
                    r.mode3a = tgt.squawk;
                    if tgt.altitude {
                        // Flight level in quarters: 25 ft steps, as a Mode S reply.
                        r.flight_level = Some(((st.alt_ft / 25.0).round() / 4.0) as f32);
                    }
                }
                Some(_) => {
                    // A conventional SSR: Mode 3/A and Mode C (100 ft steps) only.
                    r.detection = Some(Detection::SsrPsr);
                    r.mode3a = tgt.squawk;
                    if tgt.altitude {
                        r.flight_level = Some((st.alt_ft / 100.0).round() as f32);
                    }
                }
                None => r.detection = Some(Detection::Psr),
            }
            // Where the measurement lands (at the true altitude), for the truth.
            let ground = ground_distance_m(r_m, site.alt_m, alt_m, rho_meas);
            let (lat, lon): (f64, f64) = geographiclib_rs::DirectGeodesic::direct(
                &Geodesic::wgs84(),
                site.lat,
                site.lon,
                az_meas,
                ground,
            );
            plots.push(Plot {
                index: tgt.index,
                radar: ri,
                t_s: tt,
                state: st,
                measured: [lat, lon],
                track: *track,
                addressed: tgt.address.is_some(),
            });
            out.push(RadarRecord {
                at,
                radar: ri as u16,
                category: 48,
                record: encode::cat048(&r),
            });
        }
    }
}

/// The ground distance on a sphere of radius `r` for slant range `rho` between heights
/// `h_a` and `h_t` (the inverse of [`slant_range_m`]).
pub fn ground_distance_m(r: f64, h_a: f64, h_t: f64, rho: f64) -> f64 {
    let (a, b) = (r + h_a, r + h_t);
    let cos_g = ((a * a + b * b - rho * rho) / (2.0 * a * b)).clamp(-1.0, 1.0);
    r * cos_g.acos()
}

/// A Poisson deviate of mean `mean` (Knuth; means here are a few at most).
fn poisson(mean: f64, rng: &mut ChaCha8Rng) -> u32 {
    let limit = (-mean.min(30.0)).exp();
    let mut p = 1.0;
    let mut k = 0;
    loop {
        p *= rng.random::<f64>();
        if p <= limit {
            return k;
        }
        k += 1;
    }
}

/// Groups time-ordered records into ASTERIX data blocks (consecutive records of one
/// site and category share a block) and appends them to `out`; `blocks` receives each
/// block's (time of its first record, byte range in `out`).
pub fn blocks(
    records: &[RadarRecord],
    out: &mut Vec<u8>,
    mut blocks: impl FnMut(Timestamp, std::ops::Range<usize>),
) {
    let mut i = 0;
    while i < records.len() {
        let first = &records[i];
        let mut j = i + 1;
        let mut len = 3 + first.record.len();
        while j < records.len()
            && records[j].radar == first.radar
            && records[j].category == first.category
            && len + records[j].record.len() <= 1400
        {
            len += records[j].record.len();
            j += 1;
        }
        let begin = out.len();
        let recs: Vec<Vec<u8>> = records[i..j].iter().map(|r| r.record.clone()).collect();
        encode::block(first.category, &recs, out);
        blocks(first.at, begin..out.len());
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slant_and_ground_distance_are_inverse() {
        let r = mean_radius_m(34.0);
        for (ha, ht, g) in [
            (360.0, 457.0, 60_000.0),
            (1791.0, 10_668.0, 35_960.0),
            (0.0, 0.0, 1000.0),
        ] {
            let rho = slant_range_m(r, ha, ht, g);
            assert!((ground_distance_m(r, ha, ht, rho) - g).abs() < 1e-3);
        }
    }

    #[test]
    fn time_of_day_in_128ths() {
        // 2023-11-14T22:00:00Z.
        let at = Timestamp::from_secs(1_699_999_200);
        assert_eq!(time_of_day(at), 22 * 3600 * 128);
        assert_eq!(time_of_day(at.add_micros(7_813)), 22 * 3600 * 128 + 1);
    }
}
