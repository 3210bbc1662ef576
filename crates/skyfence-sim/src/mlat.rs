//! The multilateration scenario `mlat-border`: a network of Mode S receivers with
//! free-running clocks, ADS-B aircraft to synchronise them, a spoofer, and an aircraft
//! whose transponder answers interrogations and squits but broadcasts no position
//! (DF 4, 5 and 11 only) crossing the Afghanistan–Pakistan border.
//!
//! Each receiver's recording is a Beast stream (`rx-NAME.beast`) whose 48-bit
//! timestamps are what the receiver's clock read at each arrival:
//!
//! - arrival = emission + straight-line distance (ECEF) / c;
//! - a Beast or dump1090 clock: 12 MHz counter = (arrival − start + offset + drift ·
//!   (arrival − start) + jitter) · 12 MHz, with the offset (the coarse anchoring error of
//!   `--start`) within ±0.4 s, the drift within ±5 ppm and the jitter normal with
//!   σ = 83 ns (one tick); a `radarcape_gps` clock: GNSS time of day, σ = 15 ns, no
//!   offset or drift;
//! - a receiver may lose samples: its counter jumps forward (50 ms) once;
//! - a copy is heard when the aircraft is above the receiver's horizon (0.5° of
//!   refraction allowed) within 400 km, and survives a 5 % loss.
//!
//! `truth-mlat.csv` has every transmission of the aircraft without ADS-B positions
//! (`icao24,time,lat,lon,alt_m`), `truth-mlat.jsonl` its border crossing,
//! `truth-clocks.csv` each receiver's clock (offset, drift, jitter, jump), `config.toml`
//! the receivers as `[[sensor]] type = "modes"` and `README.md` the `analyze` command.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skyfence_core::{GeoPoint, Icao24, Squawk, Timestamp};
use skyfence_decode::beast::encode_beast;
use skyfence_decode::sensor::ReceiverClock;
use skyfence_decode::{Frame, adsb, modes};
use skyfence_mlat::geo::{self, C_MPS};

use crate::borders;
use crate::geometry::Shape;
use crate::kinematics::destination;

/// A receiver of the network.
#[derive(Clone, Debug, PartialEq)]
pub struct Site {
    /// Its `[[sensor]]` name.
    pub name: &'static str,
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Antenna height above the ellipsoid, metres.
    pub alt_m: f64,
    /// Its clock.
    pub clock: ReceiverClock,
    /// When its counter jumps forward and by how much (seconds after start, seconds).
    pub jump: Option<(f64, f64)>,
}

/// What an aircraft transmits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Transmits {
    /// ADS-B airborne positions (DF17), twice a second.
    Adsb,
    /// ADS-B positions `east_km` east of where it is.
    Spoofer {
        /// The lie, kilometres east.
        east_km: f64,
    },
    /// DF11 squitters (1 per second), DF4 altitude and DF5 identity replies to
    /// interrogations; no position.
    TransponderOnly,
}

/// A straight, level flight.
#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    /// Its address.
    pub icao24: u32,
    /// Where it is at the start.
    pub lat: f64,
    /// Where it is at the start.
    pub lon: f64,
    /// Height above the ellipsoid, metres (its pressure altitude is taken as equal).
    pub alt_m: f64,
    /// Degrees from true north.
    pub track_deg: f64,
    /// Ground speed, m/s.
    pub speed_mps: f64,
    /// What it sends.
    pub transmits: Transmits,
}

impl Flight {
    /// Latitude and longitude `t` seconds after the start.
    pub fn at(&self, t: f64) -> (f64, f64) {
        destination(self.lat, self.lon, self.track_deg, self.speed_mps * t)
    }
}

/// The scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct MlatScenario {
    /// Its name.
    pub name: &'static str,
    /// When the recording starts (what `--start` anchors the counters to).
    pub start: Timestamp,
    /// Its length, seconds.
    pub duration_s: f64,
    /// The receivers.
    pub sites: Vec<Site>,
    /// The aircraft.
    pub flights: Vec<Flight>,
    /// The country whose border is watched (ISO alpha-2).
    pub country: &'static str,
}

/// The built-in `mlat-border` scenario: six Beast receivers in eastern Afghanistan
/// (one loses samples at 300 s), six ADS-B overflights, a spoofer, and a
/// transponder-only aircraft entering Afghanistan from Kurram at 4 500 m.
pub fn mlat_border() -> MlatScenario {
    let beast = |name, lat, lon, alt_m| Site {
        name,
        lat,
        lon,
        alt_m,
        clock: ReceiverClock::Beast,
        jump: None,
    };
    let mut sites = vec![
        beast("kabul", 34.52, 69.18, 1_800.0),
        beast("jalalabad", 34.43, 70.45, 600.0),
        beast("gardez", 33.60, 69.22, 2_300.0),
        beast("khost", 33.34, 69.92, 1_200.0),
        beast("asadabad", 34.87, 71.15, 850.0),
        beast("pulialam", 33.99, 69.03, 1_950.0),
    ];
    sites[3].jump = Some((300.0, 0.05));
    let adsb = |icao24, lat, lon, alt_m, track_deg, speed_mps| Flight {
        icao24,
        lat,
        lon,
        alt_m,
        track_deg,
        speed_mps,
        transmits: Transmits::Adsb,
    };
    MlatScenario {
        name: "mlat-border",
        start: Timestamp::from_secs(1_700_000_000),
        duration_s: 600.0,
        sites,
        flights: vec![
            adsb(0x70_0001, 33.2, 68.6, 11_000.0, 45.0, 230.0),
            adsb(0x70_0002, 35.0, 71.3, 10_400.0, 235.0, 240.0),
            adsb(0x70_0003, 34.2, 68.4, 9_800.0, 90.0, 220.0),
            adsb(0x70_0004, 33.5, 71.0, 11_600.0, 300.0, 235.0),
            adsb(0x70_0005, 34.9, 69.5, 7_500.0, 160.0, 200.0),
            adsb(0x70_0006, 33.9, 70.6, 8_800.0, 20.0, 210.0),
            Flight {
                transmits: Transmits::Spoofer { east_km: 15.0 },
                ..adsb(0x70_0bad, 34.0, 69.6, 10_000.0, 350.0, 220.0)
            },
            Flight {
                icao24: 0x7a_5c01,
                lat: 33.82,
                lon: 70.30,
                alt_m: 4_500.0,
                track_deg: 300.0,
                speed_mps: 120.0,
                transmits: Transmits::TransponderOnly,
            },
        ],
        country: "AF",
    }
}

/// What a run wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MlatSummary {
    /// Frames written, over all receivers.
    pub frames: u64,
    /// The recordings, one per receiver: (receiver name, path).
    pub recordings: Vec<(String, PathBuf)>,
    /// Transmissions of the transponder-only aircraft.
    pub transponder_only_transmissions: u64,
}

/// A standard normal deviate (Box–Muller).
fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.random_range(f64::EPSILON..1.0);
    let u2: f64 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A receiver's clock as simulated.
struct Clock {
    offset_s: f64,
    drift: f64,
    jitter_s: f64,
}

/// Runs `scenario` with `seed`, writing into `out_dir` (created if needed).
///
/// # Errors
/// A file cannot be written, or the scenario's country is unknown.
pub fn simulate(scenario: &MlatScenario, seed: u64, out_dir: &Path) -> anyhow::Result<MlatSummary> {
    fs::create_dir_all(out_dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out_dir.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let clocks: Vec<Clock> = scenario
        .sites
        .iter()
        .map(|s| match s.clock {
            ReceiverClock::RadarcapeGps => Clock {
                offset_s: 0.0,
                drift: 0.0,
                jitter_s: 15e-9,
            },
            ReceiverClock::Beast | ReceiverClock::Dump1090 => Clock {
                offset_s: rng.random_range(-0.4..0.4),
                drift: rng.random_range(-5e-6..5e-6),
                jitter_s: 83e-9,
            },
        })
        .collect();
    let ecef: Vec<_> = scenario
        .sites
        .iter()
        .map(|s| (geo::to_ecef(s.lat, s.lon, s.alt_m), geo::up(s.lat, s.lon)))
        .collect();
    // Per receiver: (counter, frame bytes).
    let mut heard: Vec<Vec<(u64, [u8; 14], u8)>> = vec![Vec::new(); scenario.sites.len()];
    let mut truth_csv = String::from("icao24,time,lat,lon,alt_m\n");
    let mut transponder_only = 0u64;
    let squawk = Squawk::new(0o2000).ok_or_else(|| anyhow::anyhow!("squawk 2000"))?;
    for f in &scenario.flights {
        let icao = Icao24::new(f.icao24)
            .ok_or_else(|| anyhow::anyhow!("address {:x} is not 24 bits", f.icao24))?;
        let alt_ft = (f.alt_m / 0.3048).round() as i32;
        // The transmissions of this aircraft: (time, kind) with kind 0 = position,
        // 11/4/5 = DF.
        let mut tx: Vec<(f64, u8)> = Vec::new();
        match f.transmits {
            Transmits::Adsb | Transmits::Spoofer { .. } => {
                let mut t = rng.random_range(0.0..0.5);
                while t < scenario.duration_s {
                    tx.push((t, 0));
                    t += rng.random_range(0.4..0.6);
                }
            }
            Transmits::TransponderOnly => {
                for (df, lo, hi) in [(11u8, 0.8, 1.2), (4, 0.3, 0.7), (5, 1.5, 2.5)] {
                    let mut t = rng.random_range(0.0..lo);
                    while t < scenario.duration_s {
                        tx.push((t, df));
                        t += rng.random_range(lo..hi);
                    }
                }
                tx.sort_by(|a, b| a.0.total_cmp(&b.0));
            }
        }
        let mut odd = false;
        for (t, kind) in tx {
            let (lat, lon) = f.at(t);
            let x = geo::to_ecef(lat, lon, f.alt_m);
            let (bytes, len): ([u8; 14], u8) = match kind {
                0 => {
                    let east_km = match f.transmits {
                        Transmits::Spoofer { east_km } => east_km,
                        _ => 0.0,
                    };
                    let (clat, clon) = destination(lat, lon, 90.0, east_km * 1000.0);
                    odd = !odd;
                    let b = adsb::encode_airborne_position(
                        icao,
                        GeoPoint::new(clat, clon),
                        Some(alt_ft),
                        odd,
                    )
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    (b, 14)
                }
                _ => {
                    let short = match kind {
                        11 => modes::encode_all_call(icao, 5, 0),
                        4 => modes::encode_altitude_reply(icao, 0, alt_ft),
                        _ => modes::encode_identity_reply(icao, 0, squawk),
                    }
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                    let mut b = [0u8; 14];
                    b[..7].copy_from_slice(&short);
                    transponder_only += 1;
                    let at = scenario.start.add_micros((t * 1e6).round() as i64);
                    let _ = writeln!(
                        truth_csv,
                        "{:06x},{},{lat:.7},{lon:.7},{:.1}",
                        f.icao24,
                        at.to_rfc3339_micros(),
                        f.alt_m
                    );
                    (b, 7)
                }
            };
            for (r, site) in scenario.sites.iter().enumerate() {
                let (rx, up) = &ecef[r];
                let d = (x - rx).norm();
                if d > 400_000.0 || !geo::above_horizon(rx, up, &x, 0.5f64.to_radians()) {
                    continue;
                }
                if rng.random::<f64>() < 0.05 {
                    continue;
                }
                let arrival = t + d / C_MPS;
                let c = &clocks[r];
                let mut own =
                    arrival + c.offset_s + c.drift * arrival + c.jitter_s * gauss(&mut rng);
                if let Some((at, by)) = site.jump
                    && arrival >= at
                {
                    own += by;
                }
                let counter = match site.clock {
                    ReceiverClock::Beast | ReceiverClock::Dump1090 => (own * 12e6).round() as u64,
                    ReceiverClock::RadarcapeGps => {
                        // Seconds of the day first: nanoseconds since 1970 are beyond
                        // the precision of an f64 (256 ns steps).
                        let day_s =
                            (scenario.start.as_micros() / 1_000_000).rem_euclid(86_400) as f64;
                        let day_ns = ((day_s + own) * 1e9).round() as u64 % 86_400_000_000_000;
                        ((day_ns / 1_000_000_000) << 30) | (day_ns % 1_000_000_000)
                    }
                };
                heard[r].push((counter, bytes, len));
            }
        }
    }
    let mut summary = MlatSummary {
        transponder_only_transmissions: transponder_only,
        ..MlatSummary::default()
    };
    let mut config = String::from(
        "# Written by `skyfence simulate --scenario mlat-border`.\n\n[[zones]]\nfile = \"zones.geojson\"\n",
    );
    let mut inputs = Vec::new();
    for (r, site) in scenario.sites.iter().enumerate() {
        let frames = &mut heard[r];
        frames.sort_by_key(|f| f.0);
        let mut out = Vec::with_capacity(frames.len() * 24);
        for &(counter, bytes, len) in frames.iter() {
            let mut frame = Frame::new(scenario.start, &bytes[..usize::from(len)])
                .ok_or_else(|| anyhow::anyhow!("frame of {len} bytes"))?;
            frame.counter = Some(counter);
            frame.raw.signal = Some(100);
            encode_beast(&frame, &mut out);
        }
        let name = format!("rx-{}.beast", site.name);
        let path = out_dir.join(&name);
        fs::write(&path, &out)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
        summary.frames += frames.len() as u64;
        summary.recordings.push((site.name.to_string(), path));
        inputs.push(format!("--input beast:{name}@{}", site.name));
        let _ = write!(
            config,
            "\n[[sensor]]\nname = \"{}\"\ntype = \"modes\"\nlat = {}\nlon = {}\nalt_m = {}\nclock = \"{}\"\n",
            site.name,
            site.lat,
            site.lon,
            site.alt_m,
            site.clock.as_str()
        );
    }
    let zone = borders::country(scenario.country)
        .ok_or_else(|| anyhow::anyhow!("unknown country {}", scenario.country))?;
    // The border crossings of the aircraft without ADS-B positions, to the second.
    let shape = Shape::new(&zone);
    let mut truth_jsonl = String::new();
    for f in scenario
        .flights
        .iter()
        .filter(|f| f.transmits == Transmits::TransponderOnly)
    {
        let mut was_inside = None;
        let steps = (scenario.duration_s * 10.0) as u32;
        for k in 0..=steps {
            let t = f64::from(k) / 10.0;
            let (lat, lon) = f.at(t);
            let inside = shape.contains(lat, lon);
            if was_inside == Some(false) && inside {
                let at = scenario.start.add_micros((t * 1e6).round() as i64);
                let _ = writeln!(
                    truth_jsonl,
                    "{{\"event\":\"entry\",\"icao24\":\"{:06x}\",\"zone\":\"{}\",\"at\":\"{}\",\"lat\":{lat:.6},\"lon\":{lon:.6}}}",
                    f.icao24,
                    zone.name,
                    at.to_rfc3339_millis()
                );
            }
            was_inside = Some(inside);
        }
    }
    let write = |name: &str, text: &str| -> anyhow::Result<()> {
        let path = out_dir.join(name);
        fs::write(&path, text).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
    };
    write(
        "zones.geojson",
        &borders::to_geojson(std::slice::from_ref(&zone)),
    )?;
    write("config.toml", &config)?;
    write("truth-mlat.csv", &truth_csv)?;
    write("truth-mlat.jsonl", &truth_jsonl)?;
    let mut clocks_csv = String::from("receiver,clock,offset_s,drift,jitter_s,jump_at_s,jump_s\n");
    for (site, c) in scenario.sites.iter().zip(&clocks) {
        let (jump_at, jump) = site.jump.map_or((String::new(), String::new()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        let _ = writeln!(
            clocks_csv,
            "{},{},{},{},{},{jump_at},{jump}",
            site.name,
            site.clock.as_str(),
            c.offset_s,
            c.drift,
            c.jitter_s
        );
    }
    write("truth-clocks.csv", &clocks_csv)?;
    write(
        "README.md",
        &format!(
            "# Scenario {} (seed {seed})\n\nOne Beast recording per Mode S receiver; each counter reads 0 near the start \
             (within ±0.4 s: the receivers' clocks are free-running, with drift up to 5 ppm). \
             The aircraft {} broadcasts no position: locate it by multilateration:\n\n```\n\
             skyfence analyze --config config.toml --start {} {}\n```\n\n\
             `truth-mlat.csv`: its every transmission; `truth-mlat.jsonl`: its border crossing.\n",
            scenario.name,
            scenario
                .flights
                .iter()
                .filter(|f| f.transmits == Transmits::TransponderOnly)
                .map(|f| format!("{:06x}", f.icao24))
                .collect::<Vec<_>>()
                .join(", "),
            scenario.start.to_rfc3339_millis(),
            inputs.join(" ")
        ),
    )?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transponder_only_aircraft_enters_afghanistan() {
        let s = mlat_border();
        let zone = borders::country(s.country).unwrap();
        let shape = Shape::new(&zone);
        let f = s
            .flights
            .iter()
            .find(|f| f.transmits == Transmits::TransponderOnly)
            .unwrap();
        let (lat0, lon0) = f.at(0.0);
        let (lat1, lon1) = f.at(s.duration_s);
        assert!(!shape.contains(lat0, lon0), "starts in Pakistan");
        assert!(shape.contains(lat1, lon1), "ends in Afghanistan");
        // Every receiver is in Afghanistan.
        for site in &s.sites {
            assert!(shape.contains(site.lat, site.lon), "{}", site.name);
        }
    }

    #[test]
    fn recordings_hold_every_receivers_frames() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = mlat_border();
        s.duration_s = 20.0;
        let summary = simulate(&s, 1, dir.path()).unwrap();
        assert_eq!(summary.recordings.len(), 6);
        assert!(summary.frames > 6 * 8 * 20, "{summary:?}");
        // Same seed, same bytes.
        let again = tempfile::tempdir().unwrap();
        simulate(&s, 1, again.path()).unwrap();
        for (name, path) in &summary.recordings {
            let other = again.path().join(path.file_name().unwrap());
            assert_eq!(fs::read(path).unwrap(), fs::read(other).unwrap(), "{name}");
        }
        let config = fs::read_to_string(dir.path().join("config.toml")).unwrap();
        let sensors = skyfence_decode::sensor::config::from_config_text(&config).unwrap();
        assert_eq!(sensors.len(), 6);
    }
}
