//! The built-in scenarios: `af-pk-border` (the demo) and `scale` (benchmarks).
//!
//! # `af-pk-border`: the story
//!
//! 25 minutes over the Afghanistan–Pakistan border (the Durand Line) on the night of
//! 2023-11-14, from 22:00 UTC. Two zones are guarded: the sovereign airspace of Pakistan
//! (built-in `PK`) against targets coming from Afghanistan, and that of Afghanistan
//! (`AF`) against targets coming from Pakistan, each with a 3 km approach band. Aircraft
//! registered in a country (ICAO address blocks 700000–700FFF for Afghanistan,
//! 760000–767FFF for Pakistan) hold a permit for their own airspace; the airliners hold
//! overflight permits. Receivers at Peshawar, Dera Ismail Khan and Quetta (Pakistan) and
//! Kabul and Kandahar (Afghanistan) share one merged feed, so most frames are heard
//! several times.
//!
//! | target | what it does | expected incidents |
//! |---|---|---|
//! | THY716 (A3) | Istanbul–Delhi at FL350: over Afghanistan, into Pakistan | AF and PK, authorised (overflight permit) |
//! | UAE634 (A3) | Dubai–Almaty at FL370: Balochistan northward into Afghanistan | PK and AF, authorised |
//! | QTR350 (A3) | Doha–Tashkent at FL390 northward over Pakistan (from minute 4) | PK authorised, still open at the end |
//! | PIA249 (A3) | Islamabad–Kabul, descending from FL300 | PK authorised (registration), AF authorised (landing permit) |
//! | AFUAV1 (B6, 700a01) | racetrack near Khost, then a dash 25 km into North Waziristan, orbit, back | AF authorised; **PK unauthorised, closed** |
//! | PKUAV2 (B6, 760b01) | racetrack north of Pishin, then an incursion toward Kandahar and back | PK authorised; **AF unauthorised, closed** |
//! | AFUAV3 (B6, 700a02) | into South Waziristan, transponder off for 150 s inside, on again, back | AF authorised; **PK unauthorised: lost, then a second one not entry-observed, closed** |
//! | PKUAV4 (B6, 760b02) | skims the border 1.5 km inside Pakistan with 300 m GPS jitter | PK authorised only (the jitter must not make an AF incident) |
//! | AFUAV5 (B6, 700a03) | orbits near Jalalabad; broadcasts a position 80 km east (in Pakistan) for 15 s | AF authorised only (the spoofed jump must be discarded) |
//! | AFDRN6 (B6, 700c01) | small drone across the Torkham crossing (34.10, 71.09), no altitude | AF authorised; **PK unauthorised, closed, `alt_ft` null** |
//! | AFDRN7 (B6, 700c02) | small drone first heard inside Pakistan at Chaman (30.92, 66.45), flies out | **PK unauthorised, `entry_observed` false, closed**; AF authorised |
//!
//! Exact times and positions are in `truth.jsonl`, computed from the trajectories.
//!
//! # `scale`
//!
//! `--targets N` aircraft (60 % airliners, 30 % MALE UAVs, 10 % small drones) flying
//! racetracks between random points over Afghanistan and Pakistan for `--duration S`
//! seconds, heard by six receivers: about 15 frames per target per second. The
//! recordings are streamed. The truth holds every trajectory in memory, so it is
//! computed only up to [`SCALE_TRUTH_MAX_TARGET_S`] target-seconds (e.g. 300 targets for
//! 600 s); larger runs are for throughput and write no `truth.jsonl`.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use skyfence_core::airspace::Zone;
use skyfence_core::{Callsign, Icao24, Timestamp};

use super::borders;
use super::geometry::Shape;
use super::kinematics::{AircraftKind, Leg, bearing_deg};
use super::scenario::{
    Detection, Flight, Jitter, Permit, RadarSite, Receiver, RemoteIdSpec, RidTransport, Scenario,
    Spoof, Surveillance, TrackerSite, Window,
};

/// The story of `af-pk-border`, written into the output README (the same as the module
/// documentation above).
const AF_PK_STORY: &str = r#"25 minutes over the Afghanistan–Pakistan border (the Durand Line) on the night of
2023-11-14, from 22:00 UTC. Two zones are guarded: the sovereign airspace of Pakistan
(built-in `PK`) against targets coming from Afghanistan, and that of Afghanistan
(`AF`) against targets coming from Pakistan, each with a 3 km approach band. Aircraft
registered in a country (ICAO address blocks 700000–700FFF for Afghanistan,
760000–767FFF for Pakistan) hold a permit for their own airspace; the airliners hold
overflight permits. Receivers at Peshawar, Dera Ismail Khan and Quetta (Pakistan) and
Kabul and Kandahar (Afghanistan) share one merged feed, so most frames are heard
several times.

| target | what it does | expected incidents |
|---|---|---|
| THY716 (A3) | Istanbul–Delhi at FL350: over Afghanistan, into Pakistan | AF and PK, authorised (overflight permit) |
| UAE634 (A3) | Dubai–Almaty at FL370: Balochistan northward into Afghanistan | PK and AF, authorised |
| QTR350 (A3) | Doha–Tashkent at FL390 northward over Pakistan (from minute 4) | PK authorised, still open at the end |
| PIA249 (A3) | Islamabad–Kabul, descending from FL300 | PK authorised (registration), AF authorised (landing permit) |
| AFUAV1 (B6, 700a01) | racetrack near Khost, then a dash 25 km into North Waziristan, orbit, back | AF authorised; **PK unauthorised, closed** |
| PKUAV2 (B6, 760b01) | racetrack north of Pishin, then an incursion toward Kandahar and back | PK authorised; **AF unauthorised, closed** |
| AFUAV3 (B6, 700a02) | into South Waziristan, transponder off for 150 s inside, on again, back | AF authorised; **PK unauthorised: lost, then a second one not entry-observed, closed** |
| PKUAV4 (B6, 760b02) | skims the border 1.5 km inside Pakistan with 300 m GPS jitter | PK authorised only (the jitter must not make an AF incident) |
| AFUAV5 (B6, 700a03) | orbits near Jalalabad; broadcasts a position 80 km east (in Pakistan) for 15 s | AF authorised only (the spoofed jump must be discarded) |
| AFDRN6 (B6, 700c01) | small drone across the Torkham crossing (34.10, 71.09), no altitude | AF authorised; **PK unauthorised, closed, `alt_ft` null** |
| AFDRN7 (B6, 700c02) | small drone first heard inside Pakistan at Chaman (30.92, 66.45), flies out | **PK unauthorised, `entry_observed` false, closed**; AF authorised |

Exact times and positions are in `truth.jsonl`, computed from the trajectories."#;

/// What `af-pk-border-radar` adds to the story (written into the output README after it).
const RADAR_STORY: &str = r#"This variant adds the sensors that see what Mode S does not. Two radar sites report
in ASTERIX (`asterix.ast`): `peshawar-psr` (SAC 2, SIC 1; 5 s per scan, 150 km) and
`kabul-psr` (SAC 1, SIC 2; 10 s per scan, 150 km, on the Kabul plateau, so it sees
nothing low over the Khyber). A Remote ID receiver at the Chaman border post
(`chaman-rid`, 5 km) hears drones' Bluetooth broadcasts (`remoteid.csv`). Aircraft with
transponders answer the radars with their Mode S address: their plots belong to their
ICAO targets. Two more drones:

| target | what it does | expected incidents |
|---|---|---|
| silent drone (no transponder, no Remote ID) | from Nangarhar across the Khyber border south of Torkham (34.08 N), orbits 4 km inside Pakistan, returns; seen by `peshawar-psr` alone | **PK unauthorised, closed: target `track` `peshawar-psr/N`, `cooperative` false, `sensors` ["peshawar-psr"]**; AF authorised (permit for radar tracks over Afghanistan) |
| Remote ID drone `AF1581RID0000001` | from Afghanistan across the Chaman border (30.93 N), orbits inside Pakistan, returns; its operator stands in Afghanistan at (30.94, 66.37) | **PK unauthorised, closed: target `remoteid`, `operator` at the operator's position**; AF authorised (Afghan registration) |

Track numbers: each site numbers the targets it sees in the order it first sees them;
the truth names the number the site gave."#;

/// Names of the built-in scenarios.
pub const NAMES: [&str; 4] = [
    "af-pk-border",
    "af-pk-border-radar",
    "af-pk-border-ssr",
    "scale",
];

/// What `af-pk-border-ssr` changes (written into the output README after the radar story).
const SSR_STORY: &str = r#"This variant is `af-pk-border-radar` (every record byte for byte but the radars'
plots of transponders) with both radar sites conventional secondary radars (Mode A/C,
no Mode S), as many in service are: their plots of an aircraft carry its Mode 3/A code
and its Mode C altitude (100 ft steps), no address and no identification (CAT048 TYP
SSR + PSR). A receiving system must join them to the aircraft's ADS-B track by
position; the truth gives each such plot to its aircraft, so the expected incidents
are those of `af-pk-border-radar`."#;

/// 2023-11-14T22:00:00Z.
const START_UNIX_S: i64 = 1_699_999_200;

fn receiver(name: &str, lat: f64, lon: f64) -> Receiver {
    Receiver {
        name: name.into(),
        lat,
        lon,
        height_m: 30.0,
        range_km: 400.0,
    }
}

fn receivers() -> Vec<Receiver> {
    vec![
        receiver("peshawar", 34.01, 71.58),
        receiver("dera-ismail-khan", 31.83, 70.90),
        receiver("quetta", 30.18, 66.98),
        receiver("kabul", 34.56, 69.21),
        receiver("kandahar", 31.61, 65.71),
    ]
}

fn flight(icao: u32, callsign: &str, kind: AircraftKind, lat: f64, lon: f64) -> Flight {
    let mut f = Flight::new(Icao24::from_u32_masked(icao), kind, lat, lon, 0.0);
    f.callsign = Callsign::new(callsign.as_bytes());
    f
}

fn fly(lat: f64, lon: f64) -> Leg {
    Leg::Fly {
        lat,
        lon,
        alt_ft: None,
        speed_mps: None,
    }
}

/// Points the initial track at the first fly leg.
fn head_for_first_leg(f: &mut Flight) {
    if let Some(Leg::Fly { lat, lon, .. }) = f.legs.first() {
        f.initial.track_deg = bearing_deg(f.initial.lat, f.initial.lon, *lat, *lon);
    }
}

fn permit(
    icao24: Option<&str>,
    callsign: Option<&str>,
    zone: Option<&str>,
    reason: &str,
) -> Permit {
    Permit {
        icao24: icao24.map(Into::into),
        id: None,
        kind: None,
        callsign: callsign.map(Into::into),
        zone: zone.map(Into::into),
        reason: reason.into(),
        from: None,
        until: None,
    }
}

/// Waypoints skimming the PK side of the border `offset_m` inside, from `lat0` to `lat1`
/// where the border runs roughly north–south: for each latitude, the border is found by
/// bisection on longitude between `lon_w` (Afghan side) and `lon_e` (Pakistani side).
fn skim(pk: &Shape, lat0: f64, lat1: f64, lon_w: f64, lon_e: f64, offset_m: f64) -> Vec<Leg> {
    let mut legs = Vec::new();
    let steps = ((lat1 - lat0).abs() / 0.01).ceil().max(1.0) as i32;
    for i in 0..=steps {
        let lat = lat0 + (lat1 - lat0) * f64::from(i) / f64::from(steps);
        if pk.contains(lat, lon_w) || !pk.contains(lat, lon_e) {
            continue;
        }
        let (mut w, mut e) = (lon_w, lon_e);
        for _ in 0..40 {
            let mid = (w + e) / 2.0;
            if pk.contains(lat, mid) {
                e = mid;
            } else {
                w = mid;
            }
        }
        // Walk east until the distance to the border is the offset.
        let mut lon = e;
        let step = 50.0 / (111_320.0 * lat.to_radians().cos());
        for _ in 0..400 {
            if pk.contains(lat, lon) && pk.distance_m(lat, lon) >= offset_m {
                break;
            }
            lon += step;
        }
        legs.push(fly(lat, lon));
    }
    legs
}

/// The `af-pk-border` scenario (see the module documentation for the story).
pub fn af_pk_border() -> anyhow::Result<Scenario> {
    let load = |code: &str| -> anyhow::Result<Zone> {
        let mut z = borders::country(code)
            .ok_or_else(|| anyhow::anyhow!("built-in border {code} is missing"))?;
        z.buffer_m = 3_000.0;
        Ok(z)
    };
    let (af, pk) = (load("AF")?, load("PK")?);
    let pk_shape = Shape::new(&pk);
    let mut flights = Vec::new();

    // Airliners on the airways, under overflight permits.
    let mut f = flight(0x4b8a16, "THY716", AircraftKind::Airliner, 34.30, 67.60);
    f.legs = vec![fly(33.95, 70.20), fly(33.40, 73.20)];
    head_for_first_leg(&mut f);
    flights.push(f);

    let mut f = flight(0x896634, "UAE634", AircraftKind::Airliner, 29.20, 66.90);
    f.initial.alt_ft = 37_000.0;
    f.legs = vec![fly(31.40, 67.60), fly(34.60, 68.40)];
    head_for_first_leg(&mut f);
    flights.push(f);

    let mut f = flight(0x06a350, "QTR350", AircraftKind::Airliner, 28.60, 68.40);
    f.initial.alt_ft = 39_000.0;
    f.start_s = 240.0;
    f.legs = vec![fly(31.00, 68.90), fly(34.00, 68.00)];
    head_for_first_leg(&mut f);
    flights.push(f);

    let mut f = flight(0x760249, "PIA249", AircraftKind::Airliner, 33.75, 72.60);
    f.initial.alt_ft = 30_000.0;
    f.initial.gs_mps = 230.0;
    f.start_s = 60.0;
    f.legs = vec![
        fly(34.05, 70.80),
        Leg::Fly {
            lat: 34.45,
            lon: 69.40,
            alt_ft: Some(9_000.0),
            speed_mps: Some(140.0),
        },
    ];
    head_for_first_leg(&mut f);
    flights.push(f);

    // AFUAV1: racetrack near Khost, dash into North Waziristan, orbit, return.
    let mut f = flight(0x700a01, "AFUAV1", AircraftKind::MaleUav, 33.55, 69.55);
    f.initial.alt_ft = 20_000.0;
    f.initial.gs_mps = 90.0;
    f.legs = vec![
        Leg::Racetrack {
            a: (33.55, 69.55),
            b: (33.30, 69.65),
            duration_s: 180.0,
        },
        Leg::Fly {
            lat: 33.00,
            lon: 70.15,
            alt_ft: Some(18_000.0),
            speed_mps: Some(100.0),
        },
        Leg::Orbit {
            lat: 33.00,
            lon: 70.15,
            radius_m: 4_000.0,
            duration_s: 120.0,
            clockwise: true,
        },
        fly(33.40, 69.55),
    ];
    f.initial.track_deg = 160.0;
    flights.push(f);

    // PKUAV2: racetrack north of Pishin, incursion toward Kandahar, return.
    let mut f = flight(0x760b01, "PKUAV2", AircraftKind::MaleUav, 30.75, 66.95);
    f.initial.alt_ft = 24_000.0;
    f.initial.gs_mps = 100.0;
    f.legs = vec![
        Leg::Racetrack {
            a: (30.75, 66.95),
            b: (30.95, 67.15),
            duration_s: 120.0,
        },
        fly(31.25, 66.45),
        fly(30.75, 66.95),
    ];
    f.initial.track_deg = 40.0;
    flights.push(f);

    // AFUAV3: into South Waziristan; transponder off 150 s while inside.
    let mut f = flight(0x700a02, "AFUAV3", AircraftKind::MaleUav, 32.45, 69.05);
    f.initial.alt_ft = 18_000.0;
    f.initial.gs_mps = 100.0;
    f.start_s = 120.0;
    f.legs = vec![
        fly(32.35, 69.75),
        Leg::Orbit {
            lat: 32.35,
            lon: 69.75,
            radius_m: 5_000.0,
            duration_s: 120.0,
            clockwise: false,
        },
        fly(32.45, 69.05),
    ];
    head_for_first_leg(&mut f);
    f.transponder_off = vec![Window {
        from_s: 500.0,
        to_s: 650.0,
    }];
    flights.push(f);

    // PKUAV4: border skimmer 1 km inside Pakistan with GPS jitter.
    let mut f = flight(0x760b02, "PKUAV4", AircraftKind::MaleUav, 32.58, 69.6);
    f.initial.alt_ft = 16_000.0;
    f.initial.gs_mps = 50.0;
    let north = skim(&pk_shape, 32.58, 32.86, 69.0, 69.9, 1_500.0);
    // Turn back through a point 5 km further inside (a reversal on the spot would swing
    // wide, toward the border), then retrace the line southward.
    let mut legs = north.clone();
    if let Some(Leg::Fly { lat, lon, .. }) = north.last() {
        legs.push(fly(*lat, lon + 0.06));
    }
    legs.extend(north.iter().rev().skip(1).cloned());
    f.legs = legs;
    if let Some(Leg::Fly { lat, lon, .. }) = f.legs.first() {
        f.initial.lat = *lat;
        f.initial.lon = *lon;
    }
    if let Some(Leg::Fly { lat, lon, .. }) = f.legs.get(1) {
        f.initial.track_deg = bearing_deg(f.initial.lat, f.initial.lon, *lat, *lon);
    }
    f.jitter = vec![Jitter {
        from_s: 0.0,
        to_s: f64::INFINITY,
        sigma_m: 300.0,
    }];
    flights.push(f);

    // AFUAV5: orbit near Jalalabad, spoofed jump 80 km east for 15 s.
    let mut f = flight(0x700a03, "AFUAV5", AircraftKind::MaleUav, 34.43, 70.40);
    f.initial.alt_ft = 22_000.0;
    f.initial.track_deg = 90.0;
    f.legs = vec![Leg::Orbit {
        lat: 34.43,
        lon: 70.45,
        radius_m: 5_000.0,
        duration_s: 1_500.0,
        clockwise: true,
    }];
    f.spoof = vec![Spoof {
        from_s: 400.0,
        to_s: 415.0,
        north_m: 0.0,
        east_m: 80_000.0,
    }];
    flights.push(f);

    // AFDRN6: small drone across Torkham, no altitude.
    let mut f = flight(0x700c01, "AFDRN6", AircraftKind::SmallDrone, 34.12, 71.03);
    f.initial.alt_ft = 1_500.0;
    f.start_s = 200.0;
    f.no_altitude = true;
    f.legs = vec![
        fly(34.10, 71.13),
        Leg::Orbit {
            lat: 34.10,
            lon: 71.13,
            radius_m: 300.0,
            duration_s: 120.0,
            clockwise: true,
        },
        fly(34.12, 71.03),
    ];
    head_for_first_leg(&mut f);
    flights.push(f);

    // AFDRN7: small drone first heard inside Pakistan at Chaman, flies out.
    let mut f = flight(0x700c02, "AFDRN7", AircraftKind::SmallDrone, 30.915, 66.47);
    f.initial.alt_ft = 1_200.0;
    f.initial.gs_mps = 15.0;
    f.start_s = 300.0;
    f.legs = vec![Leg::Fly {
        lat: 31.00,
        lon: 66.36,
        alt_ft: None,
        speed_mps: Some(15.0),
    }];
    head_for_first_leg(&mut f);
    flights.push(f);

    let permits = vec![
        permit(
            Some("700*"),
            None,
            Some("AF"),
            "registered in Afghanistan (ICAO block 700000-700FFF), own airspace",
        ),
        permit(
            Some("760*"),
            None,
            Some("PK"),
            "registered in Pakistan (ICAO block 760000-767FFF; these aircraft use 760xxx), own airspace",
        ),
        permit(None, Some("THY*"), None, "overflight permit TR-2023/0412"),
        permit(None, Some("UAE*"), None, "overflight permit AE-2023/1187"),
        permit(None, Some("QTR*"), None, "overflight permit QA-2023/0930"),
        permit(
            None,
            Some("PIA*"),
            Some("AF"),
            "landing permit Kabul OAKB 2023/77",
        ),
    ];
    Ok(Scenario {
        name: "af-pk-border".into(),
        description: AF_PK_STORY.into(),
        start: Timestamp::from_secs(START_UNIX_S),
        duration_s: 1_500.0,
        detection: Detection::default(),
        surveillance: Surveillance::default(),
        zones: vec![af, pk],
        receivers: receivers(),
        radars: Vec::new(),
        tracker: None,
        remoteid_receivers: Vec::new(),
        permits,
        flights,
        truth: true,
        step_s: super::truth::SAMPLE_S,
    })
}

fn radar(
    name: &str,
    (sac, sic): (u8, u8),
    lat: f64,
    lon: f64,
    alt_m: f64,
    rotation_s: f64,
) -> RadarSite {
    RadarSite {
        name: name.into(),
        sac,
        sic,
        lat,
        lon,
        alt_m,
        height_m: 20.0,
        rotation_s,
        range_km: 150.0,
        pd: 0.9,
        range_sigma_m: 40.0,
        azimuth_sigma_deg: 0.08,
        false_plots_per_scan: 0.5,
        mode_s: true,
    }
}

/// The `af-pk-border-ssr` scenario: [`af_pk_border_radar`] with both radar sites
/// conventional secondary radars (Mode A/C): Mode 3/A-only plots (see [`SSR_STORY`]).
pub fn af_pk_border_ssr() -> anyhow::Result<Scenario> {
    let mut s = af_pk_border_radar()?;
    s.name = "af-pk-border-ssr".into();
    s.description = format!("{}\n\n{SSR_STORY}", s.description);
    for r in &mut s.radars {
        r.mode_s = false;
    }
    Ok(s)
}

/// The `af-pk-border-radar` scenario: `af-pk-border` (its Mode S frames byte for byte)
/// with two radar sites, a Remote ID receiver, a drone without transponder and a
/// Remote ID drone (see [`RADAR_STORY`]).
pub fn af_pk_border_radar() -> anyhow::Result<Scenario> {
    let mut s = af_pk_border()?;
    s.name = "af-pk-border-radar".into();
    s.description = format!("{AF_PK_STORY}\n\n{RADAR_STORY}");
    s.radars = vec![
        radar("peshawar-psr", (2, 1), 34.01, 71.58, 380.0, 5.0),
        radar("kabul-psr", (1, 2), 34.566, 69.212, 1791.0, 10.0),
    ];
    s.tracker = Some(TrackerSite {
        name: "pk-sdps".into(),
        sac: 2,
        sic: 100,
        period_s: 4.0,
        sigma_m: 30.0,
        coast_s: 25.0,
    });
    s.remoteid_receivers = vec![Receiver {
        name: "chaman-rid".into(),
        lat: 30.92,
        lon: 66.40,
        height_m: 5.0,
        range_km: 5.0,
    }];
    // The silent drone: no transponder, no Remote ID. Its address is an internal key.
    let mut f = Flight::new(
        Icao24::from_u32_masked(0xfff0a1),
        AircraftKind::SmallDrone,
        34.08,
        71.062,
        90.0,
    );
    f.callsign = None;
    f.category = None;
    f.transponder = false;
    f.initial.alt_ft = 2_500.0;
    f.start_s = 250.0;
    f.legs = vec![
        fly(34.075, 71.12),
        Leg::Orbit {
            lat: 34.075,
            lon: 71.12,
            radius_m: 400.0,
            duration_s: 120.0,
            clockwise: true,
        },
        fly(34.08, 71.04),
    ];
    head_for_first_leg(&mut f);
    s.flights.push(f);
    // The Remote ID drone across the Chaman border, its operator in Afghanistan.
    let mut f = Flight::new(
        Icao24::from_u32_masked(0xfff0a2),
        AircraftKind::SmallDrone,
        30.93,
        66.385,
        90.0,
    );
    f.callsign = None;
    f.category = None;
    f.transponder = false;
    f.initial.alt_ft = 4_500.0;
    f.start_s = 280.0;
    f.remote_id = Some(RemoteIdSpec {
        serial: "AF1581RID0000001".into(),
        mac: [0x60, 0x60, 0x1f, 0xaf, 0x00, 0x01],
        operator: [30.94, 66.37],
        operator_id: "AFG-OP-0042".into(),
        self_id: "Border survey".into(),
        transport: RidTransport::Ble4,
    });
    f.legs = vec![
        fly(30.925, 66.43),
        Leg::Orbit {
            lat: 30.925,
            lon: 66.43,
            radius_m: 300.0,
            duration_s: 120.0,
            clockwise: false,
        },
        fly(30.935, 66.37),
    ];
    head_for_first_leg(&mut f);
    s.flights.push(f);
    s.permits.push(Permit {
        kind: Some("track".into()),
        zone: Some("AF".into()),
        ..permit(
            None,
            None,
            None,
            "primary radar tracks over Afghanistan: reported to Kabul, not contested",
        )
    });
    s.permits.push(Permit {
        id: Some("AF1581*".into()),
        zone: Some("AF".into()),
        ..permit(
            None,
            None,
            None,
            "Remote ID serial registered in Afghanistan, own airspace",
        )
    });
    Ok(s)
}

/// The largest `scale` run (targets × seconds) whose truth is computed.
pub const SCALE_TRUTH_MAX_TARGET_S: f64 = 200_000.0;

/// The `scale` scenario: `targets` aircraft for `duration_s` seconds (see the module
/// documentation). The traffic depends only on `seed`, `targets` and `duration_s`.
pub fn scale(targets: usize, duration_s: f64, seed: u64) -> anyhow::Result<Scenario> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5ca1e);
    let mut flights = Vec::with_capacity(targets);
    for i in 0..targets {
        let kind = match rng.random_range(0..10) {
            0..6 => AircraftKind::Airliner,
            6..9 => AircraftKind::MaleUav,
            _ => AircraftKind::SmallDrone,
        };
        let mut point = || (rng.random_range(29.0..37.0), rng.random_range(62.0..74.0));
        let (a, b) = (point(), point());
        // Addresses from a block no real country holds in the region.
        let mut f = Flight::new(
            Icao24::from_u32_masked(0xe00000 + i as u32),
            kind,
            a.0,
            a.1,
            bearing_deg(a.0, a.1, b.0, b.1),
        );
        f.callsign = Callsign::new(format!("SIM{i:05}").as_bytes());
        f.legs = vec![Leg::Racetrack {
            a,
            b,
            duration_s: duration_s + 1.0,
        }];
        flights.push(f);
    }
    let mut receivers = receivers();
    receivers.push(receiver("gilgit", 35.92, 74.31));
    Ok(Scenario {
        name: "scale".into(),
        description: format!(
            "{targets} aircraft on racetracks over Afghanistan and Pakistan for {duration_s} s, \
             for benchmarks"
        ),
        start: Timestamp::from_secs(START_UNIX_S),
        duration_s,
        detection: Detection::default(),
        surveillance: Surveillance::default(),
        zones: ["AF", "PK"]
            .iter()
            .filter_map(|c| borders::country(c))
            .collect(),
        receivers,
        radars: Vec::new(),
        tracker: None,
        remoteid_receivers: Vec::new(),
        permits: Vec::new(),
        flights,
        // The truth samples every trajectory each 0.1 s and keeps the samples: 24 bytes
        // per target-tenth-second. Up to 200 000 target-seconds (48 MB) it is computed;
        // beyond, the recording is for throughput only and no truth.jsonl is written.
        truth: targets as f64 * duration_s <= SCALE_TRUTH_MAX_TARGET_S,
        step_s: 0.5,
    })
}
