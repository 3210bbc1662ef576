//! A surveillance data processing system (SDPS): the system tracks a radar network's
//! tracker sends in ASTERIX CAT062, fed by the scenario's radar sites.
//!
//! The tracker updates every `period_s` seconds (CAT062 is periodic, not per scan).
//! A flight has a system track while one of the radars plotted it within the last
//! `coast_s` seconds; its first update opens the track (numbered from 1 in the order
//! tracks open, I062/040), and the update after the flight leaves every radar's cover,
//! or ends, closes it (I062/080 TSE) at its last position; a flight seen again later gets
//! a new number. Each update reports the flight's position at the update time with the
//! tracker's own error (Gaussian, `sigma_m` north and east; a real tracker's filtered
//! error is smaller than one plot's), its velocity (I062/185), and, while its
//! transponder answers, its Mode S address and identification (I062/380), Mode 3/A
//! code (I062/060) and measured flight level (I062/136).
//!
//! Its random draws come from a stream of the seed of its own (4), so adding a tracker
//! changes no other recording.

use rand_chacha::ChaCha8Rng;
use skyfence_core::{GeoPoint, Timestamp};
use skyfence_decode::asterix::{Report, encode};

use super::kinematics::State;
use super::radar::{RadarRecord, Seen, normal, time_of_day};
use super::scenario::TrackerSite;

/// Metres per degree of latitude on the mean earth.
const M_PER_DEG: f64 = super::kinematics::EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

/// The tracker's running state.
#[derive(Clone, Debug)]
pub struct TrackerState {
    /// Per flight: its open system track's number (0: none).
    tracks: Vec<u32>,
    /// Per flight: when a radar last plotted it, seconds from the start.
    last_plot_s: Vec<f64>,
    /// Per flight: its last reported state and what its transponder said then.
    last: Vec<Option<(State, Report)>>,
    next_track: u32,
    next_update_s: f64,
}

impl TrackerState {
    /// A tracker at the start of a run of `flights` flights.
    pub fn new(flights: usize) -> Self {
        TrackerState {
            tracks: vec![0; flights],
            last_plot_s: vec![f64::NEG_INFINITY; flights],
            last: vec![None; flights],
            next_track: 1,
            next_update_s: 0.0,
        }
    }

    /// A radar plotted flight `index` at `t_s`.
    pub fn plotted(&mut self, index: usize, t_s: f64) {
        self.last_plot_s[index] = self.last_plot_s[index].max(t_s);
    }

    /// The updates due in the step `[t_s, t1_s)`, appended to `out`. `targets` are the
    /// flights flying in this step (as the radars saw them).
    #[allow(clippy::too_many_arguments)]
    pub fn step(
        &mut self,
        site: &TrackerSite,
        start: Timestamp,
        t_s: f64,
        t1_s: f64,
        targets: &[Seen],
        rng: &mut ChaCha8Rng,
        out: &mut Vec<RadarRecord>,
    ) {
        while self.next_update_s < t1_s {
            let u = self.next_update_s.max(t_s);
            self.next_update_s += site.period_s;
            let at = start.add_micros((u * 1e6).round() as i64);
            let base = Report {
                category: 62,
                sac: site.sac,
                sic: site.sic,
                time_of_day: Some(time_of_day(at)),
                track_tentative: Some(false),
                ..Report::default()
            };
            let mut flying = vec![false; self.tracks.len()];
            for tgt in targets {
                flying[tgt.index] = true;
                let held = u - self.last_plot_s[tgt.index] <= site.coast_s;
                if !held {
                    continue;
                }
                let track = &mut self.tracks[tgt.index];
                if *track == 0 {
                    *track = self.next_track;
                    self.next_track += 1;
                }
                let st = tgt.s0.lerp(&tgt.s1, (u - t_s) / (t1_s - t_s));
                let mut r = base;
                r.track_number = Some(*track);
                let north = site.sigma_m * normal(rng);
                let east = site.sigma_m * normal(rng);
                r.position = Some(GeoPoint::new(
                    st.lat + north / M_PER_DEG,
                    st.lon + east / (M_PER_DEG * st.lat.to_radians().cos()),
                ));
                r.ground_speed_kt = Some((st.gs_mps * 3600.0 / 1852.0) as f32);
                r.track_deg = Some(st.track_deg.rem_euclid(360.0) as f32);
                r.address = tgt.address;
                r.callsign = tgt.callsign;
                r.mode3a = tgt.squawk;
                if tgt.altitude {
                    r.flight_level = Some(((st.alt_ft / 25.0).round() / 4.0) as f32);
                }
                self.last[tgt.index] = Some((st, r));
                out.push(RadarRecord {
                    at,
                    radar: 0,
                    category: 62,
                    record: encode::cat062(&r),
                });
            }
            // Tracks that lost their plots (or whose flight ended): a last message.
            for (index, track) in self.tracks.iter_mut().enumerate() {
                if *track == 0 || (flying[index] && u - self.last_plot_s[index] <= site.coast_s) {
                    continue;
                }
                if let Some((_, last)) = self.last[index].take() {
                    let mut r = last;
                    r.time_of_day = base.time_of_day;
                    r.track_ended = Some(true);
                    out.push(RadarRecord {
                        at,
                        radar: 0,
                        category: 62,
                        record: encode::cat062(&r),
                    });
                }
                *track = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use skyfence_core::Icao24;
    use skyfence_decode::asterix::decode_record;

    use super::*;

    fn site() -> TrackerSite {
        TrackerSite {
            name: "sdps".into(),
            sac: 2,
            sic: 100,
            period_s: 4.0,
            sigma_m: 30.0,
            coast_s: 10.0,
        }
    }

    /// A flight at 34 N 71 E flying east, plotted at 1 s and 5 s, then no more; a second
    /// flight never plotted.
    #[test]
    fn tracks_open_on_plots_update_periodically_and_close_once() {
        let s = State {
            lat: 34.0,
            lon: 71.0,
            alt_ft: 5000.0,
            track_deg: 90.0,
            gs_mps: 50.0,
            vrate_fpm: 0.0,
        };
        let seen = |index| Seen {
            index,
            s0: s,
            s1: s,
            address: Some(Icao24::new(0x700a01).unwrap()),
            callsign: None,
            squawk: None,
            altitude: true,
        };
        let mut t = TrackerState::new(2);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = Vec::new();
        let start = Timestamp::from_secs(1_700_000_000);
        for k in 0..300 {
            let t0 = f64::from(k) * 0.1;
            if k == 10 || k == 50 {
                t.plotted(0, t0);
            }
            t.step(
                &site(),
                start,
                t0,
                t0 + 0.1,
                &[seen(0), seen(1)],
                &mut rng,
                &mut out,
            );
        }
        let reports: Vec<_> = out
            .iter()
            .map(|r| (r.at, decode_record(62, &r.record).unwrap().0))
            .collect();
        // Updates at 4, 8, 12 s (plots at 1 and 5 s, held 10 s), the close at 16 s.
        let times: Vec<i64> = reports
            .iter()
            .map(|(at, _)| at.micros_since(start) / 1_000_000)
            .collect();
        assert_eq!(times, [4, 8, 12, 16]);
        for (i, (_, r)) in reports.iter().enumerate() {
            assert_eq!((r.sac, r.sic, r.track_number), (2, 100, Some(1)));
            assert_eq!(r.track_ended, Some(i == 3));
            assert_eq!(r.address.map(|a| a.as_u32()), Some(0x700a01));
            assert_eq!(r.flight_level, Some(50.0));
            let p = r.position.unwrap();
            // Within 5 σ of the truth.
            assert!(((p.lat - 34.0) * M_PER_DEG).abs() < 150.0, "{p:?}");
            assert!((r.ground_speed_kt.unwrap() - 97.19).abs() < 0.5);
        }
    }
}
