//! `skyfence analyze`: recordings in, incidents out (docs/INTERFACES.md, "Command line" and
//! "Incident"). Merges several inputs in time order, drops frames heard by more than one
//! receiver, decodes, runs the detection engine and writes one incident per line.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use skyfence_core::airspace::AirspaceIndex;
use skyfence_core::detect::{Detector, Event, Incident, IncidentLog, IncidentVerification};
use skyfence_core::{SourceId, TargetId, Timestamp};
use skyfence_decode::DropCounts;
use skyfence_decode::Item;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested, Lanes};
use skyfence_mlat::{Engine as Mlat, MlatConfig, ReceiverSite};

use crate::cmd::decode::parse_time;
use skyfence_service::config::Config;
use skyfence_service::exit::input_error;
use skyfence_service::input::{self, ClockOptions, InputSpec};
use skyfence_service::sensor_state::SensorBoard;

/// Arguments of `skyfence analyze`.
#[derive(clap::Args, Debug)]
pub struct AnalyzeArgs {
    /// Input as FMT:PATH[@SENSOR] (raw, beast, avr, sbs, asterix, pcap, remoteid; `-` for stdin). Repeat for several
    /// receivers: inputs are merged in time order and duplicate receptions removed.
    #[arg(long, value_name = "FMT:PATH", required = true)]
    pub input: Vec<InputSpec>,
    /// A zone file (GeoJSON or OpenAir). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub zones: Vec<PathBuf>,
    /// A country's sovereign airspace from the built-in boundaries (ISO alpha-2 or
    /// alpha-3, e.g. AF or AFG). Repeatable.
    #[arg(long, value_name = "CODE")]
    pub country: Vec<String>,
    /// Load --zones files leniently: bad zones skipped (a warning each, naming file,
    /// line and zone), repeated names numbered, AGL ceilings loaded as unknown.
    #[arg(long)]
    pub lenient: bool,
    /// Trust a Comm-B (DF20/21) address never heard in DF11/17/18 once N of its replies
    /// within 60 s carry a register the content checks infer and agree with one another;
    /// overrides [decoder] commb_trust_replies (default 0: refuse them all).
    #[arg(long, value_name = "N", value_parser = crate::cmd::decode::parse_commb_trust)]
    pub commb_trust_replies: Option<u32>,
    /// Config file: [detection] thresholds, [[zones]], [[allow]] permits and [[sensor]]s.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Time at which Beast/AVR receiver counters read zero (RFC 3339); ASTERIX times of
    /// day fall on its date (UTC).
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub start: Option<Timestamp>,
    /// Write incidents here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write every event (approach, confirmed, closed, lost, and with declared
    /// [[sensor]]s sensor_up and sensor_down) as JSON lines here.
    #[arg(long, value_name = "FILE")]
    pub events: Option<PathBuf>,
}

/// Progress on a terminal for long inputs: bytes read over the total size of the files.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
}

impl Progress {
    fn new(inputs: &[InputSpec]) -> Self {
        let total: u64 = inputs
            .iter()
            .filter_map(|s| s.path.as_ref())
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum();
        // Only worth a bar on a terminal and for inputs that take a moment.
        let bar = (io::stderr().is_terminal() && total > 64 << 20).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} analyzing [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Progress { bar }
    }

    fn set(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn create(path: &PathBuf) -> anyhow::Result<BufWriter<Box<dyn Write>>> {
    let f = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::new(Box::new(f)))
}

/// Runs `skyfence analyze`.
pub fn run(args: AnalyzeArgs) -> anyhow::Result<()> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    let zones = config.load_zones_with(&args.zones, &args.country, args.lenient)?;
    if zones.is_empty() {
        return Err(input_error(
            "no zones to watch: give --zones FILE, --country CODE or [[zones]] in --config",
        ));
    }
    if args.start.is_none() && args.input.iter().any(|s| s.format.receiver_clock) {
        eprintln!(
            "skyfence analyze: note: no --start given; beast/avr times count from 1970-01-01T00:00:00Z, asterix times of day fall on 1970-01-01"
        );
    }
    let zone_names: Vec<String> = zones.iter().map(|z| z.name.clone()).collect();
    let mut detector = Detector::new(
        AirspaceIndex::new(zones),
        config.detection,
        config.permits.clone(),
    );
    let clock = ClockOptions {
        start: args.start,
        gps: false,
    };
    let mut mlat = mlat_engine(&args.input, &config)?;
    let mut inputs = args
        .input
        .iter()
        .map(|spec| input::open(spec, receiver_clock(spec, &config, clock)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut out: BufWriter<Box<dyn Write>> = match &args.out {
        Some(path) => create(path)?,
        None => BufWriter::new(Box::new(io::stdout().lock())),
    };
    let mut events_out = args.events.as_ref().map(create).transpose()?;

    // The inputs are merged in time order into one stream: one decoder for all of them.
    // ASTERIX records are matched to the config's [[sensor]]s by SAC/SIC.
    let mut ingest = Ingest::new(IngestConfig {
        // Recordings: frames without their own time are paced.
        decoder: skyfence_decode::decoder::DecoderConfig {
            pace_untimed: true,
            commb_trust_replies: args
                .commb_trust_replies
                .unwrap_or(config.decoder.commb_trust_replies),
            ..Default::default()
        },
        lanes: Lanes::Shared,
        sensors: config.sensors.clone(),
        // Incidents name the sensor of each input given as `FMT:PATH@SENSOR`.
        source_sensors: args.input.iter().map(|spec| spec.sensor).collect(),
        ..IngestConfig::default()
    });
    let progress = Progress::new(&args.input);
    let mut liveness = Liveness::new(&config, &args.input);
    let mut log = IncidentLog::new();
    let mut events: Vec<Event> = Vec::new();
    let (mut messages, mut last_at) = (0u64, None::<Timestamp>);
    let mut counts = EventCounts::default();
    let mut next_progress = 0u64;
    let mut fixes = Vec::new();
    loop {
        // The input whose next item is earliest (ties: the first input). Each input is
        // in time order on its own; a k-way merge keeps the whole stream so.
        let mut best: Option<(Timestamp, usize)> = None;
        for (i, input) in inputs.iter_mut().enumerate() {
            if let Some(t) = input.peek_at()?
                && best.is_none_or(|(bt, _)| t < bt)
            {
                best = Some((t, i));
            }
        }
        let Some((_, i)) = best else { break };
        let Some(item) = inputs[i].next_item()? else {
            continue;
        };
        let source = SourceId(u16::try_from(i).unwrap_or(u16::MAX));
        if let Some(l) = liveness.as_mut() {
            l.item(i, &item, &mut events_out, &mut counts)?;
        }
        // Multilateration sees every copy, before duplicate removal.
        if let (Some(m), Item::Frame(f)) = (mlat.as_mut(), &item) {
            m.frame(source, f);
        }
        let accepted = ingest.observe(source, &item);
        if let Some(m) = mlat.as_mut() {
            if let Ingested::Accepted(obs) = &accepted {
                m.decoded(obs);
            }
            m.poll(item.at(), &mut fixes);
            for fix in fixes.drain(..) {
                detector.observe(&fix, &mut events);
            }
        }
        let Ingested::Accepted(obs) = accepted else {
            if !events.is_empty() {
                flush_events(&mut events, &mut log, &mut events_out, &mut counts)?;
            }
            continue;
        };
        messages += 1;
        last_at = Some(last_at.map_or(obs.at, |t| t.max(obs.at)));
        detector.observe(&obs, &mut events);
        if !events.is_empty() {
            flush_events(&mut events, &mut log, &mut events_out, &mut counts)?;
        }
        if messages >= next_progress {
            progress.set(inputs.iter().map(|r| r.bytes).sum());
            next_progress = messages + 65_536;
        }
    }
    progress.finish();
    if let Some(m) = mlat.as_mut() {
        m.finish(&mut fixes);
        for fix in fixes.drain(..) {
            last_at = Some(last_at.map_or(fix.at, |t| t.max(fix.at)));
            detector.observe(&fix, &mut events);
        }
    }
    let open = detector.finish(last_at.unwrap_or(Timestamp::EPOCH), &mut events);
    flush_events(&mut events, &mut log, &mut events_out, &mut counts)?;
    if let Some(l) = liveness.as_mut() {
        l.finish(&mut events_out, &mut counts)?;
    }
    let incidents = log.finish(open);
    let write_result = (|| -> io::Result<()> {
        for incident in &incidents {
            match mlat.as_ref().and_then(|m| verification(m, incident)) {
                Some(v) => {
                    let incident = Incident {
                        verification: Some(v),
                        ..incident.clone()
                    };
                    serde_json::to_writer(&mut out, &incident)?;
                }
                None => serde_json::to_writer(&mut out, incident)?,
            }
            out.write_all(b"\n")?;
        }
        out.flush()?;
        if let Some(e) = events_out.as_mut() {
            e.flush()?;
        }
        Ok(())
    })();
    match write_result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.context("writing incidents")?,
    }

    // The summary: what was read, what was dropped and why, what was found.
    let mut drops = DropCounts::default();
    let mut frames = 0;
    for input in &inputs {
        drops.merge(&input.drops());
        frames += input.items;
    }
    drops.merge(&ingest.drops());
    let stats = detector.stats();
    let authorised = incidents.iter().filter(|i| i.authorised).count();
    eprintln!(
        "skyfence analyze: {} input(s), {frames} frames, {} duplicate receptions removed, {messages} messages decoded",
        inputs.len(),
        ingest.duplicates()
    );
    if let Some(w) = input::untimed_warning(ingest.untimed(), frames) {
        eprintln!("skyfence analyze: {w}");
    }
    let trust = ingest.commb_trust();
    if trust.addresses + trust.replies + trust.inconsistent > 0 {
        eprintln!(
            "skyfence analyze: Comm-B trusted by repetition: {} addresses, {} replies, {} inconsistent",
            trust.addresses, trust.replies, trust.inconsistent
        );
    }
    if let Some(m) = &mlat {
        print_mlat_summary(m);
    }
    let dropped: Vec<String> = drops.nonzero().map(|(r, n)| format!("{r}={n}")).collect();
    eprintln!(
        "  dropped: {}",
        if dropped.is_empty() {
            "nothing".to_string()
        } else {
            dropped.join(" ")
        }
    );
    eprintln!(
        "  positions: {} accepted, {} implausible motion, {} out of order; {} tracks",
        stats.accepted_positions,
        stats.implausible_motion,
        stats.out_of_order,
        stats.tracks_created
    );
    let assoc = ingest.association();
    if assoc != Default::default() {
        eprintln!(
            "  radar association: {} reports by their track's binding (a Mode S address or the gate before), {} by the gate, {} not associated",
            assoc.by_binding, assoc.by_gate, assoc.unassociated
        );
    }
    eprintln!(
        "  zones: {}; events: {} approach, {} confirmed, {} closed, {} lost",
        zone_names.join(", "),
        counts.approach,
        counts.confirmed,
        counts.closed,
        counts.lost
    );
    if liveness.is_some() {
        eprintln!(
            "  sensors: {} sensor_up, {} sensor_down",
            counts.sensor_up, counts.sensor_down
        );
    }
    eprintln!(
        "  incidents: {} ({} unauthorised, {authorised} authorised)",
        incidents.len(),
        incidents.len() - authorised
    );
    Ok(())
}

/// How an input's timestamps read: Radarcape GPS time of day when it names a Mode S
/// receiver declared with `clock = "radarcape_gps"`, else the 12 MHz counter.
fn receiver_clock(spec: &InputSpec, config: &Config, clock: ClockOptions) -> ClockOptions {
    let gps = spec.sensor.as_ref().is_some_and(|name| {
        config.sensors.iter().any(|s| {
            s.name == *name && s.clock == Some(skyfence_decode::sensor::ReceiverClock::RadarcapeGps)
        })
    });
    ClockOptions { gps, ..clock }
}

/// The multilateration engine when inputs name Mode S receivers (`beast:PATH@RECEIVER`
/// with `[[sensor]] type = "modes"`); every `@SENSOR` must be a declared sensor.
fn mlat_engine(inputs: &[InputSpec], config: &Config) -> anyhow::Result<Option<Mlat>> {
    for spec in inputs {
        if let Some(name) = &spec.sensor
            && !config.sensors.iter().any(|s| s.name == *name)
        {
            return Err(input_error(format!(
                "input {spec}: sensor {:?} is not a [[sensor]] of the config",
                name.as_str()
            )));
        }
    }
    let sites = ReceiverSite::from_sensors(&config.sensors);
    let bound: Vec<(usize, usize)> = inputs
        .iter()
        .enumerate()
        .filter(|(_, spec)| spec.format.receiver_clock)
        .filter_map(|(i, spec)| {
            let name = spec.sensor.as_ref()?;
            let rx = sites.iter().position(|s| s.name == *name)?;
            Some((i, rx))
        })
        .collect();
    if bound.is_empty() {
        return Ok(None);
    }
    let mut engine = Mlat::new(sites, MlatConfig::default());
    for (i, rx) in bound {
        engine.bind(SourceId(u16::try_from(i).unwrap_or(u16::MAX)), rx);
    }
    Ok(Some(engine))
}

/// The `verification` of an incident whose target broadcast ADS-B positions while
/// multilateration ran.
fn verification(m: &Mlat, incident: &Incident) -> Option<IncidentVerification> {
    let TargetId::Icao(icao) = incident.target.id else {
        return None;
    };
    Some(m.verdict(icao)?.incident())
}

fn print_mlat_summary(m: &Mlat) {
    let s = m.stats();
    let sync = m.sync_counts();
    let no_fix: Vec<String> = s
        .no_fix_reasons()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{}={n}", r.as_str()))
        .collect();
    let states: Vec<String> = (0..m.sites().len())
        .map(|r| {
            format!(
                "{}={} ({} jumps)",
                m.sites()[r].name.as_str(),
                m.sync_state(r).as_str(),
                m.jumps(r)
            )
        })
        .collect();
    eprintln!(
        "  mlat: {} frames in {} groups; {} fixes; no fix: {}; {} broadcast positions checked, {} spoof suspected",
        s.frames,
        s.groups,
        s.fixes,
        if no_fix.is_empty() {
            "none".to_string()
        } else {
            no_fix.join(" ")
        },
        s.verified,
        s.spoof_suspected
    );
    eprintln!(
        "  clock sync: {} messages, {} points, {} outliers, {} restarts, {} counter jumps, {} resyncs; {}",
        sync.messages,
        sync.points,
        sync.outliers,
        sync.restarts,
        sync.jumps,
        sync.resyncs,
        states.join(" ")
    );
}

#[derive(Default)]
struct EventCounts {
    approach: u64,
    confirmed: u64,
    closed: u64,
    lost: u64,
    sensor_up: u64,
    sensor_down: u64,
}

/// The declared sensors' liveness over the recording: `run`'s rule
/// (skyfence_service::sensor_state) with the data's time for the clock. `run` checks its
/// sensors every second of the machine's clock; here the check runs whenever the data's
/// time reaches a second past the previous check, before the record at that time is
/// heard, and once more at the end of the data. So a radar whose CAT034 messages stop
/// is `sensor_down` at its last message plus three rotations (at least 15 s) as soon as
/// the data passes that moment, and a gap in the whole recording is seen by the first
/// record after it.
struct Liveness {
    board: SensorBoard,
    /// Each input's declared sensor (`FMT:PATH@SENSOR`), heard by its records.
    named: Vec<Option<String>>,
    next_check: Option<Timestamp>,
    last_at: Option<Timestamp>,
}

impl Liveness {
    /// The liveness of `config`'s sensors; `None` when it declares none.
    fn new(config: &Config, inputs: &[InputSpec]) -> Option<Liveness> {
        if config.sensors.is_empty() {
            return None;
        }
        Some(Liveness {
            board: SensorBoard::new(&config.sensors),
            named: inputs
                .iter()
                .map(|spec| spec.sensor.as_ref().map(|n| n.as_str().to_owned()))
                .collect(),
            next_check: None,
            last_at: None,
        })
    }

    /// Input `input`'s next `item`: a check when its time is due, then the item heard.
    fn item(
        &mut self,
        input: usize,
        item: &Item,
        out: &mut Option<BufWriter<Box<dyn Write>>>,
        counts: &mut EventCounts,
    ) -> anyhow::Result<()> {
        let at = item.at();
        let now = self.last_at.map_or(at, |t| t.max(at));
        self.last_at = Some(now);
        if self.next_check.is_none_or(|t| now >= t) {
            self.check(now, out, counts)?;
            self.next_check = Some(now.add_micros(1_000_000));
        }
        self.board.heard(item);
        if let Some(Some(name)) = self.named.get(input) {
            self.board.heard_named(name, at);
        }
        Ok(())
    }

    /// The last check, at the data's last time.
    fn finish(
        &mut self,
        out: &mut Option<BufWriter<Box<dyn Write>>>,
        counts: &mut EventCounts,
    ) -> anyhow::Result<()> {
        match self.last_at {
            Some(now) => self.check(now, out, counts),
            None => Ok(()),
        }
    }

    fn check(
        &self,
        now: Timestamp,
        out: &mut Option<BufWriter<Box<dyn Write>>>,
        counts: &mut EventCounts,
    ) -> anyhow::Result<()> {
        for c in self.board.changes(now) {
            if c.event == "sensor_up" {
                counts.sensor_up += 1;
            } else {
                counts.sensor_down += 1;
            }
            if let Some(w) = out.as_mut() {
                serde_json::to_writer(&mut *w, &c).context("writing events")?;
                w.write_all(b"\n").context("writing events")?;
            }
        }
        Ok(())
    }
}

fn flush_events(
    events: &mut Vec<Event>,
    log: &mut IncidentLog,
    out: &mut Option<BufWriter<Box<dyn Write>>>,
    counts: &mut EventCounts,
) -> anyhow::Result<()> {
    for event in events.drain(..) {
        match &event {
            Event::Approach { .. } => counts.approach += 1,
            Event::Confirmed { .. } => counts.confirmed += 1,
            Event::Closed { .. } => counts.closed += 1,
            Event::Lost { .. } => counts.lost += 1,
        }
        if let Some(w) = out.as_mut() {
            serde_json::to_writer(&mut *w, &event).context("writing events")?;
            w.write_all(b"\n").context("writing events")?;
        }
        log.record(&event);
    }
    Ok(())
}
