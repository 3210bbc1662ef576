//! The detector task and the store writer ("Service" and "Store").
//!
//! One task owns the decoders and the [`Detector`] (ARCHITECTURE.md invariant 2): sources
//! send it [`SourceBatch`]es over a bounded channel, a tick every second expires silent
//! tracks. It keeps the raw frames and positions of targets without an incident in
//! per-target rings (the minutes before an entry); when an incursion is confirmed it
//! moves the target's rings into the next [`StoreBatch`], and from then on sends the
//! target's frames and positions there directly.
//!
//! The store writer, on its own blocking thread, commits each batch in one transaction
//! and only then publishes its events (to SSE clients, the log and the counters):
//! "an event is published only after it is stored" (invariant 3).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use serde::Serialize;
use skyfence_core::detect::{Classification, Detector, Event, Incident, IncidentId};
use skyfence_core::{SourceId, TargetId, Timestamp};
use skyfence_decode::DropCounts;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested, Lanes};
use skyfence_store::{
    FrameRecord, FrameRing, IncidentStore, PositionRecord, RingFrame, Store, StoreBatch, TrackPoint,
};
use tokio::sync::{broadcast, mpsc, watch};

use super::api::TargetKeys;
use super::metrics::Metrics;
use super::source::SourceBatch;
use skyfence_core::time::wall_clock;

/// How far before an entry the rings reach; the store's `pre_entry` is the same.
pub const PRE_ENTRY: Duration = Duration::from_secs(300);
/// At most this many raw records per target in the ring: about a minute of an airliner
/// heard by one receiver. 48 bytes each (`skyfence_store::FrameRing`): 123 MB for 10 000
/// targets with full rings (RSS ≤ 200 MB with 10k live tracks).
const RING_FRAMES_PER_TARGET: usize = 256;
/// The track before an entry is kept thinned to one position per this interval (and
/// always the newest): the raw frames are the evidence, these positions draw the track.
const RING_POSITION_SPACING: Duration = Duration::from_secs(3);
/// At most this many positions per target (the pre-entry window at that spacing): 32
/// bytes each, 32 MB for 10 000 targets with full rings.
const RING_POSITIONS_PER_TARGET: usize = 100;
/// How often retention purges the store.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Positions and frames go to the store at least this often; events go at once.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// At most this many positions and frames per store transaction of the steady stream
/// of open incidents' evidence: an event queued behind such a commit waits for one
/// short transaction, not for a whole 100 ms batch (≤ 5 ms at p99).
const BULK_ROWS_PER_COMMIT: usize = 64;
/// How far ahead of the machine clock an observation's time may be. The detector's
/// clock only moves forward, so one observation stamped far in the future (a receiver
/// with a wrong GNSS or SBS time) would expire every track at once; such observations
/// are dropped and counted (`skyfence_frames_dropped_total{reason="future_time"}`).
pub const MAX_AHEAD: Duration = Duration::from_secs(5);

/// An event as published to SSE clients: stored first, numbered by the store.
#[derive(Debug)]
pub struct Published {
    /// The store's sequence number (the SSE `id:`).
    pub seq: u64,
    /// `approach`, `confirmed`, `closed` or `lost` (the SSE `event:`).
    pub kind: &'static str,
    /// The event's JSON (the SSE `data:`).
    pub json: String,
}

impl Published {
    /// From an event and its sequence number.
    pub fn new(seq: u64, event: &Event) -> Self {
        Published {
            seq,
            kind: event.kind(),
            json: serde_json::to_string(event).unwrap_or_else(|_| "{}".into()),
        }
    }
}

/// One current target as `GET /api/tracks` lists it (docs/INTERFACES.md, "HTTP API").
#[derive(Clone, Debug, Serialize)]
pub struct TrackView {
    /// Who: `kind`, `id` and, for a transponder, `icao24` (6 lowercase hex digits), the
    /// keys an incident's `target` has.
    #[serde(flatten)]
    pub target: TargetKeys,
    /// Last callsign heard.
    pub callsign: Option<String>,
    /// Last accepted position.
    pub lat: Option<f64>,
    /// Last accepted position.
    pub lon: Option<f64>,
    /// Last altitude heard, feet.
    pub alt_ft: Option<i32>,
    /// Ground speed, knots.
    pub gs_kt: Option<f32>,
    /// Track over ground, degrees.
    pub track_deg: Option<f32>,
    /// Last time anything was heard from it.
    pub last_seen_at: Timestamp,
    /// `uav`, `aircraft` or `unknown`.
    pub classification: Classification,
    /// Names of the zones it is inside.
    pub zones: Vec<String>,
    /// Extension field: last NACp the target announced (0–11, DO-260B Table 2-70);
    /// the Cursor-on-Target feed derives `ce` from it.
    pub nacp: Option<u8>,
    /// Extension field: the multilateration verdict on the positions it broadcast
    /// (`method`, `receivers`, `residual_m`, `verdict`), when the service multilaterates
    /// and it broadcast ADS-B positions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<VerificationView>,
}

/// A track's `verification`: the incident key's shape.
pub type VerificationView = skyfence_core::detect::IncidentVerification;

/// What the detector task sends the store writer.
#[derive(Debug, Default)]
pub struct WriteJob {
    /// What to commit.
    pub batch: StoreBatch,
    /// For each event of the batch, when the frame that caused it arrived.
    pub arrivals: Vec<Instant>,
    /// Retention: after the commit, purge what ended before this time.
    pub purge_before: Option<Timestamp>,
}

impl WriteJob {
    /// Events go first: a job with events is committed before the queued steady
    /// stream of frames and positions.
    fn is_urgent(&self) -> bool {
        !self.batch.events.is_empty()
    }

    /// Splits off up to `rows` snapshots, positions and frames (with every event and the
    /// purge) as the next transaction of a large job.
    fn take_front(&mut self, rows: usize) -> WriteJob {
        let b = &mut self.batch;
        let snapshots = b.snapshots.len().min(rows);
        let positions = b.positions.len().min(rows - snapshots);
        let frames = b.frames.len().min(rows - snapshots - positions);
        WriteJob {
            batch: StoreBatch {
                events: std::mem::take(&mut b.events),
                snapshots: b.snapshots.drain(..snapshots).collect(),
                positions: b.positions.drain(..positions).collect(),
                frames: b.frames.drain(..frames).collect(),
            },
            arrivals: std::mem::take(&mut self.arrivals),
            purge_before: self.purge_before.take(),
        }
    }

    fn merge(&mut self, mut other: WriteJob) {
        let b = &mut self.batch;
        b.events.append(&mut other.batch.events);
        b.snapshots.append(&mut other.batch.snapshots);
        b.positions.append(&mut other.batch.positions);
        b.frames.append(&mut other.batch.frames);
        self.arrivals.append(&mut other.arrivals);
        self.purge_before = self.purge_before.max(other.purge_before);
    }

    fn is_empty(&self) -> bool {
        self.batch.is_empty() && self.purge_before.is_none()
    }
}

/// Recent positions of targets without an incident (the track before an entry).
#[derive(Debug, Default)]
struct PositionRing {
    rings: HashMap<TargetId, VecDeque<TrackPoint>>,
}

impl PositionRing {
    fn push(&mut self, target: TargetId, p: TrackPoint) {
        let ring = self.rings.entry(target).or_default();
        let oldest = p.at.add_micros(-(PRE_ENTRY.as_micros() as i64));
        // The newest position is provisional while it is less than the spacing after
        // the one before it: the next one replaces it.
        let spacing_us = RING_POSITION_SPACING.as_micros() as i64;
        let n = ring.len();
        if n >= 2 && ring[n - 1].at.micros_since(ring[n - 2].at) < spacing_us {
            ring.pop_back();
        }
        while ring.front().is_some_and(|q| q.at < oldest) || ring.len() >= RING_POSITIONS_PER_TARGET
        {
            ring.pop_front();
        }
        ring.push_back(p);
    }

    fn take(&mut self, target: TargetId) -> Vec<TrackPoint> {
        self.rings
            .remove(&target)
            .map(Vec::from)
            .unwrap_or_default()
    }

    fn expire(&mut self, now: Timestamp) {
        let oldest = now.add_micros(-(PRE_ENTRY.as_micros() as i64));
        self.rings.retain(|_, r| {
            while r.front().is_some_and(|q| q.at < oldest) {
                r.pop_front();
            }
            !r.is_empty()
        });
    }
}

/// The detector task's state.
pub struct DetectorTask {
    detector: Detector,
    /// Duplicate removal, a decoder per source, observations: the step `analyze` and a
    /// bundle's re-detection use too.
    ingest: Ingest,
    reported_drops: Vec<DropCounts>,
    source_names: Vec<Arc<str>>,
    /// The receivers records name themselves (Remote ID lines), interned: a record's
    /// evidence is named after its receiver ([`RingFrame::receiver`] indexes this).
    receivers: Receivers,
    frames: FrameRing,
    /// The checks of targets' broadcast positions (multilateration evidence) before an
    /// incident, apart so they never push a target's own frames out of `frames`.
    checks: FrameRing,
    positions: PositionRing,
    /// The steady stream: positions and frames of targets with an incident, snapshots.
    job: WriteJob,
    /// Events, with the evidence that must be stored with them (the pre-entry rings
    /// and the confirming frame): sent to the writer as soon as a batch makes one.
    urgent: WriteJob,
    events: Vec<Event>,
    metrics: Arc<Metrics>,
    tracks_out: watch::Sender<Arc<Vec<TrackView>>>,
    /// Ids of resumed incidents: the id the detector derives now → the stored id.
    resumed_ids: HashMap<IncidentId, IncidentId>,
    /// The stored verdicts of resumed incidents (stored id → verdict): theirs until the
    /// engine has checked their aircraft again, so a restart loses no verdict.
    resumed_verdicts: HashMap<IncidentId, VerificationView>,
    /// How long closed and lost incidents are kept; `None`: for ever.
    retention: Option<Duration>,
    next_purge: Instant,
    /// Multilateration over the Mode S receivers' sources, when any is declared.
    mlat: Option<skyfence_mlat::Engine>,
    /// Fixes waiting to be observed.
    fixes: Vec<skyfence_core::Observation>,
    /// On a detector node of a cluster: the targets of the partitions it owns; `None`
    /// (every target) on a single machine.
    partitions: Option<crate::leases::PartitionFilter>,
    /// On a detector node: the open incidents of newly owned partitions, from the
    /// shared store.
    resume_source: Option<ResumeSource>,
}

/// Reads the open incidents of the partitions given (a detector node taking them over),
/// each with the report to resume it from.
pub type ResumeSource =
    Box<dyn FnMut(&[u32]) -> anyhow::Result<Vec<(Incident, skyfence_core::detect::Report)>> + Send>;

impl DetectorTask {
    /// A task for `detector` (already resumed from the store) and the sources named.
    pub fn new(
        detector: Detector,
        source_names: Vec<Arc<str>>,
        metrics: Arc<Metrics>,
        tracks_out: watch::Sender<Arc<Vec<TrackView>>>,
    ) -> Self {
        DetectorTask {
            detector,
            ingest: Ingest::new(IngestConfig {
                lanes: Lanes::PerSource,
                ..IngestConfig::default()
            }),
            reported_drops: vec![DropCounts::default(); source_names.len()],
            source_names,
            receivers: Receivers::default(),
            frames: FrameRing::new(PRE_ENTRY, RING_FRAMES_PER_TARGET),
            checks: FrameRing::new(PRE_ENTRY, RING_FRAMES_PER_TARGET),
            positions: PositionRing::default(),
            job: WriteJob::default(),
            urgent: WriteJob::default(),
            events: Vec::new(),
            metrics,
            tracks_out,
            resumed_ids: HashMap::new(),
            resumed_verdicts: HashMap::new(),
            retention: None,
            next_purge: Instant::now(),
            mlat: None,
            fixes: Vec::new(),
            partitions: None,
            resume_source: None,
        }
    }

    /// Detects only the targets of the partitions this node owns (a detector node of a
    /// cluster, leases.rs); the others' observations are counted and left to their owners.
    pub fn with_partitions(mut self, filter: crate::leases::PartitionFilter) -> Self {
        self.partitions = Some(filter);
        self
    }

    /// Where a detector node reads the open incidents of partitions it takes over.
    pub fn with_resume_source(mut self, source: ResumeSource) -> Self {
        self.resume_source = Some(source);
        self
    }

    /// Follows the node's leases: forgets the tracks of partitions given away (their
    /// new owner resumes them from the store) and resumes the open incidents of those
    /// taken, before any of their traffic is observed.
    fn follow_ownership(&mut self) {
        let Some(f) = self.partitions.as_mut() else {
            return;
        };
        let Some(c) = f.changes() else { return };
        let n = f.partitions();
        if !c.lost.is_empty() {
            let lost = &c.lost;
            let forgotten = self
                .detector
                .release(|t| !lost.contains(&crate::leases::partition_of(&t, n)));
            tracing::info!(partitions = ?c.lost, forgotten, "partitions handed over: their tracks forgotten here");
        }
        if c.gained.is_empty() {
            return;
        }
        let Some(source) = self.resume_source.as_mut() else {
            return;
        };
        match source(&c.gained) {
            Ok(open) => {
                let mut resumed = 0;
                for (incident, last) in open {
                    if !c
                        .gained
                        .contains(&crate::leases::partition_of(&incident.target.id, n))
                    {
                        continue;
                    }
                    match self.detector.resume(&incident, last) {
                        Ok(()) => {
                            self.resumed(&incident);
                            resumed += 1;
                        }
                        Err(e) => tracing::warn!("cannot resume incident {}: {e}", incident.id),
                    }
                }
                tracing::info!(partitions = ?c.gained, resumed, "partitions taken: open incidents resumed");
            }
            Err(e) => {
                tracing::error!(partitions = ?c.gained, "cannot read the open incidents of partitions taken over: {e:#}")
            }
        }
    }

    /// Observations left to other nodes' partitions (0 on a single machine).
    pub fn not_owned(&self) -> u64 {
        self.partitions
            .as_ref()
            .map_or(0, crate::leases::PartitionFilter::skipped)
    }

    /// Multilaterates the frames of the sources bound to Mode S receivers
    /// (`[[source]] sensor` naming a `[[sensor]] type = "modes"`).
    pub fn with_mlat(mut self, engine: Option<skyfence_mlat::Engine>) -> Self {
        self.mlat = engine;
        self
    }

    /// Matches ASTERIX records to the declared sensors (`[[sensor]]`) by SAC/SIC, so
    /// radar plots are placed from their sites and named after them; the other
    /// records of source `i` are named after `source_sensors[i]` (its `[[source]]
    /// sensor`, else the source's own name), so incidents list every sensor that saw
    /// their target.
    pub fn with_sensors(
        self,
        sensors: Vec<skyfence_decode::sensor::Sensor>,
        source_sensors: &[Option<String>],
    ) -> Self {
        self.with_ingest(
            sensors,
            source_sensors,
            skyfence_decode::decoder::DecoderConfig::default(),
        )
    }

    /// [`DetectorTask::with_sensors`], with the decoder's settings (`[decoder]`).
    pub fn with_ingest(
        mut self,
        sensors: Vec<skyfence_decode::sensor::Sensor>,
        source_sensors: &[Option<String>],
        decoder: skyfence_decode::decoder::DecoderConfig,
    ) -> Self {
        let source_sensors = self
            .source_names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let named = source_sensors.get(i).and_then(|s| s.as_deref());
                skyfence_core::ShortName::new(named.unwrap_or(name)).ok()
            })
            .collect();
        self.ingest = Ingest::new(IngestConfig {
            lanes: Lanes::PerSource,
            sensors,
            source_sensors,
            decoder,
            ..IngestConfig::default()
        });
        self
    }

    /// Keeps closed and lost incidents (with their evidence) for `retention`: once at
    /// start and then hourly, the store purges what ended longer ago.
    pub fn with_retention(mut self, retention: Option<Duration>) -> Self {
        self.retention = retention;
        self
    }

    /// Registers an incident resumed into the detector from the store.
    ///
    /// The detector derives an incident's id from its entry time, and the store keeps
    /// times in JSON at millisecond precision, so a resumed incident whose entry time
    /// had microseconds would come back under another id. Its events are given the
    /// stored id again here, so a restart never splits an incident in two.
    ///
    /// Its stored `verification` stays with it until the engine has checked its
    /// aircraft again (a restarted engine has no verdict until then).
    pub fn resumed(&mut self, incident: &Incident) {
        if let Some(v) = incident.verification {
            self.resumed_verdicts.insert(incident.id, v);
        }
        let derived = IncidentId::derive(incident.target.id, &incident.zone, incident.entered_at);
        if derived != incident.id {
            self.resumed_ids.insert(derived, incident.id);
        }
    }

    fn restore_id(&mut self, incident: &mut Incident, ended: bool) {
        if self.resumed_ids.is_empty() {
            return;
        }
        if let Some(&stored) = self.resumed_ids.get(&incident.id) {
            if ended {
                self.resumed_ids.remove(&incident.id);
            }
            incident.id = stored;
        }
    }

    /// Gives `incident` the multilateration verdict on its target's broadcast positions
    /// (incident key `verification`), when the service multilaterates and the target
    /// broadcast positions, else the verdict it was resumed with (the engine has not
    /// checked its aircraft since the restart); leaves it without the key otherwise.
    fn verify(&self, incident: &mut Incident) {
        incident.verification = self
            .mlat
            .as_ref()
            .and_then(|m| verification(m, incident.target.id))
            .or_else(|| self.resumed_verdicts.get(&incident.id).copied());
    }

    /// The open incidents as the store snapshots them: stored ids, with their verdicts.
    fn open_incidents(&mut self) -> Vec<Incident> {
        let mut open = self.detector.open_incidents();
        for incident in &mut open {
            self.restore_id(incident, false);
            self.verify(incident);
        }
        open
    }

    fn push_event(&mut self, mut event: Event, arrived: Instant) {
        match &mut event {
            Event::Approach { .. } => {}
            Event::Confirmed { incident, .. } => {
                self.restore_id(incident, false);
                self.verify(incident);
            }
            Event::Closed { incident, .. } | Event::Lost { incident, .. } => {
                self.restore_id(incident, true);
                self.verify(incident);
                self.resumed_verdicts.remove(&incident.id);
            }
        }
        self.urgent.batch.events.push(event);
        self.urgent.arrivals.push(arrived);
    }

    /// Runs until `shutdown`, then processes what the sources already sent, hands the
    /// last batch to the writer and returns (dropping `store` closes the writer).
    pub async fn run(
        mut self,
        mut input: mpsc::Receiver<SourceBatch>,
        store: mpsc::Sender<WriteJob>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut flush = tokio::time::interval(FLUSH_EVERY);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_tick = Instant::now();
        loop {
            tokio::select! {
                batch = input.recv() => {
                    let Some(batch) = batch else { break };
                    self.process(batch);
                    if self.urgent.is_urgent() && !self.send_urgent(&store).await {
                        return;
                    }
                }
                _ = flush.tick() => {
                    if last_tick.elapsed() >= Duration::from_secs(1) {
                        last_tick = Instant::now();
                        self.tick(wall_clock());
                    }
                    if self.urgent.is_urgent() && !self.send_urgent(&store).await {
                        return;
                    }
                    if !self.job.is_empty() && !self.send(&store).await {
                        return;
                    }
                }
                () = super::source::stopped(&mut shutdown) => break,
            }
        }
        // Sources stop at the same signal; what they already queued is still processed.
        input.close();
        while let Some(batch) = input.recv().await {
            self.process(batch);
        }
        self.job.batch.snapshots = self.open_incidents();
        let urgent = std::mem::take(&mut self.urgent);
        self.job.merge(urgent);
        if !self.job.is_empty() {
            self.send(&store).await;
        }
    }

    /// Everything waiting for the store writer (the steady stream, then the events with
    /// their evidence), for a caller that drives the task with a clock of its own
    /// ([`DetectorTask::process`] and [`DetectorTask::tick`]) instead of [`DetectorTask::run`]:
    /// a recording replayed at its own times (the dossier's simulated-week test).
    /// Apply the job's batch to the store before taking the next.
    pub fn take_job(&mut self) -> WriteJob {
        let mut job = std::mem::take(&mut self.job);
        job.merge(std::mem::take(&mut self.urgent));
        job
    }

    async fn send(&mut self, store: &mpsc::Sender<WriteJob>) -> bool {
        let job = std::mem::take(&mut self.job);
        store.send(job).await.is_ok()
    }

    async fn send_urgent(&mut self, store: &mpsc::Sender<WriteJob>) -> bool {
        let job = std::mem::take(&mut self.urgent);
        store.send(job).await.is_ok()
    }

    /// Decodes and detects one batch, sorting its evidence into the rings or the store
    /// batch. Multilateration sees every frame of a receiver before duplicate removal;
    /// its fixes are observations like the others.
    pub fn process(&mut self, batch: SourceBatch) {
        self.follow_ownership();
        let src = usize::from(batch.source.0);
        if src >= self.source_names.len() {
            return;
        }
        let (mut accepted, mut duplicates, mut future) = (0u64, 0u64, 0u64);
        let latest = wall_clock().add_micros(MAX_AHEAD.as_micros() as i64);
        for item in &batch.items {
            self.metrics.sensors.heard(item);
            if let (Some(m), skyfence_decode::Item::Frame(f)) = (self.mlat.as_mut(), item) {
                m.frame(batch.source, f);
            }
            let ingested = self.ingest.observe(batch.source, item);
            if let Some(m) = self.mlat.as_mut() {
                if let Ingested::Accepted(obs) = &ingested {
                    m.decoded(obs);
                }
                m.poll(item.at(), &mut self.fixes);
            }
            self.observe_fixes(batch.received);
            let obs = match ingested {
                Ingested::Accepted(obs) => obs,
                Ingested::Duplicate => {
                    duplicates += 1;
                    continue;
                }
                // Service messages (ASTERIX CAT034) carry no target.
                Ingested::Rejected | Ingested::Service => continue,
            };
            if obs.at > latest {
                future += 1;
                continue;
            }
            accepted += 1;
            self.observe(obs, batch.source, batch.received);
        }
        // A Remote ID receiver is heard when its source's records arrive.
        if let Some(last @ skyfence_decode::Item::RemoteId(_)) = batch.items.last()
            && let Some(name) = self.ingest.source_sensor(batch.source)
        {
            self.metrics.sensors.heard_named(name.as_str(), last.at());
        }
        // A Mode S receiver is heard when its source's frames arrive.
        if let (Some(m), Some(last)) = (self.mlat.as_ref(), batch.items.last())
            && let Some(rx) = m.receiver_of(batch.source)
        {
            self.metrics
                .sensors
                .heard_named(m.sites()[rx].name.as_str(), last.at());
        }
        if let Some(m) = self.metrics.sources.get(src) {
            m.messages.fetch_add(accepted, Relaxed);
            m.duplicates.fetch_add(duplicates, Relaxed);
            m.future_time.fetch_add(future, Relaxed);
            let drops = self.ingest.lane_drops(batch.source);
            let before = &mut self.reported_drops[src];
            let mut delta = DropCounts::default();
            for r in skyfence_decode::DropReason::ALL {
                delta.add_n(r, drops.get(r).saturating_sub(before.get(r)));
            }
            m.add_drops(&delta);
            *before = drops;
        }
    }

    /// The multilateration fixes made so far, observed (their evidence, the fix with
    /// the copies it was computed from, goes where a frame's would).
    fn observe_fixes(&mut self, received: Instant) {
        if self.fixes.is_empty() {
            return;
        }
        let mut fixes = std::mem::take(&mut self.fixes);
        for fix in fixes.drain(..) {
            let source = fix.source;
            if fix.position.is_some() {
                self.observe(fix, source, received);
            } else {
                // A check of a broadcast position: evidence of its target, not detected.
                self.keep_evidence(fix, source);
            }
        }
        self.fixes = fixes;
    }

    /// Keeps an observation's raw record as evidence of its target, as [`Self::observe`]
    /// does, without detecting it: with the target's incident when it has one, else in
    /// the pre-entry ring.
    fn keep_evidence(&mut self, mut obs: skyfence_core::Observation, source: SourceId) {
        let Some(record) = obs.raw.take() else {
            return;
        };
        let target = obs.target;
        let f = RingFrame {
            at: obs.at,
            source,
            receiver: None,
            record,
        };
        let with_incident = self
            .detector
            .tracks()
            .get(target)
            .is_some_and(|t| t.zones_confirmed().next().is_some());
        if with_incident {
            self.job.batch.frames.push(frame_record(
                &self.source_names,
                &self.receivers,
                target,
                f,
            ));
        } else {
            self.checks.push(target, f);
        }
    }

    /// Detects one observation and sorts its evidence into the rings or the store batch.
    fn observe(
        &mut self,
        mut obs: skyfence_core::Observation,
        source: SourceId,
        received: Instant,
    ) {
        let target = obs.target;
        if let Some(f) = self.partitions.as_mut()
            && !f.owns(&target)
        {
            return;
        }
        self.detector.observe(&obs, &mut self.events);
        let mut fired = false;
        let mut events = std::mem::take(&mut self.events);
        for event in events.drain(..) {
            if let Event::Confirmed { incident, .. } = &event {
                let t = incident.target.id;
                self.urgent.batch.positions.extend(
                    self.positions
                        .take(t)
                        .into_iter()
                        .map(|point| PositionRecord { target: t, point }),
                );
                let (names, receivers) = (&self.source_names, &self.receivers);
                self.urgent.batch.frames.extend(
                    self.frames
                        .take(t)
                        .into_iter()
                        .chain(self.checks.take(t))
                        .map(|f| frame_record(names, receivers, t, f)),
                );
            }
            fired |= event.incident().is_some_and(|i| i.target.id == target);
            self.push_event(event, received);
        }
        self.events = events;
        let track = self.detector.tracks().get(target);
        let with_incident = fired || track.is_some_and(|t| t.zones_confirmed().next().is_some());
        let point = track
            .and_then(|t| t.last_report())
            .filter(|r| obs.position.is_some() && r.at == obs.at)
            .map(TrackPoint::from);
        // The raw evidence of any protocol, as received (a Mode S frame stays inline:
        // no allocation on the Mode S path), named after the receiver a Remote ID
        // record names (the sensor its assembly went by), so a bundle's re-detection
        // assembles it as the service did.
        let raw = obs.raw.take().map(|record| {
            let receiver = match (record.proto, obs.sensor) {
                (skyfence_core::Protocol::RemoteId, Some(name)) => self.receivers.index(
                    name,
                    self.source_names.get(usize::from(source.0)).map(|n| &**n),
                ),
                _ => None,
            };
            RingFrame {
                at: obs.at,
                source,
                receiver,
                record,
            }
        });
        if with_incident {
            // The report that fired an event is stored with it.
            let job = if fired {
                &mut self.urgent
            } else {
                &mut self.job
            };
            if let Some(point) = point {
                job.batch.positions.push(PositionRecord { target, point });
            }
            if let Some(f) = raw {
                job.batch
                    .frames
                    .push(frame_record(&self.source_names, &self.receivers, target, f));
            }
        } else {
            if let Some(point) = point {
                self.positions.push(target, point);
            }
            if let Some(f) = raw {
                self.frames.push(target, f);
            }
        }
    }

    /// The once-a-second tick: expiry, the open incidents' snapshots, the tracks view
    /// and the gauges.
    pub fn tick(&mut self, now: Timestamp) {
        self.follow_ownership();
        let arrived = Instant::now();
        if let Some(m) = self.mlat.as_mut() {
            m.poll(now, &mut self.fixes);
            self.metrics.mlat.update(m);
        }
        self.observe_fixes(arrived);
        self.detector.tick(now, &mut self.events);
        let mut events = std::mem::take(&mut self.events);
        for event in events.drain(..) {
            self.push_event(event, arrived);
        }
        self.events = events;
        // Sensors that came up or went down: announced on the event stream and counted.
        for c in self.metrics.sensors.changes(now) {
            tracing::info!(sensor = %c.sensor, at = %c.at, "{}", c.event);
        }
        self.ingest.expire(now);
        self.frames.expire(now);
        self.checks.expire(now);
        self.positions.expire(now);
        let open = self.open_incidents();
        let m = &self.metrics;
        m.incidents_open.store(open.len() as u64, Relaxed);
        m.tracks.store(self.detector.tracks().len() as u64, Relaxed);
        m.ring_capped.store(self.frames.capped(), Relaxed);
        if let Ok(mut d) = m.detector.lock() {
            *d = self.detector.stats();
        }
        self.job.batch.snapshots = open;
        if let Some(keep) = self.retention
            && arrived >= self.next_purge
        {
            let keep_us = i64::try_from(keep.as_micros()).unwrap_or(i64::MAX);
            self.job.purge_before = Some(now.add_micros(-keep_us));
            self.next_purge = arrived + PURGE_EVERY;
        }
        let detector = &self.detector;
        let mlat = self.mlat.as_ref();
        let tracks: Vec<TrackView> = detector
            .tracks()
            .iter()
            .map(|t| {
                let last = t.last_report();
                let v = t.velocity();
                TrackView {
                    target: TargetKeys(t.target()),
                    callsign: t.callsign().map(|c| c.as_str().to_string()),
                    lat: last.map(|r| r.pos.lat),
                    lon: last.map(|r| r.pos.lon),
                    alt_ft: t.altitude_ft(),
                    gs_kt: v.and_then(|v| v.gs_kt),
                    track_deg: v.and_then(|v| v.track_deg),
                    last_seen_at: t.last_seen_at(),
                    classification: t.classification(),
                    zones: t
                        .zones_inside()
                        .filter_map(|z| detector.zone_name(z).map(str::to_string))
                        .collect(),
                    nacp: t.nacp(),
                    verification: mlat.and_then(|m| verification(m, t.target())),
                }
            })
            .collect();
        self.tracks_out.send_replace(Arc::new(tracks));
    }
}

/// The multilateration verdict on the positions `target` broadcast (the incident and
/// track key `verification`); `None` when it is not a transponder or broadcast none.
fn verification(m: &skyfence_mlat::Engine, target: TargetId) -> Option<VerificationView> {
    let TargetId::Icao(icao) = target else {
        return None;
    };
    Some(m.verdict(icao)?.incident())
}

/// The multilateration engine of the live service: the declared Mode S receivers, each
/// source of `receivers` bound to its receiver; `None` when no source names one. Fix
/// times are the base receiver's receive times (the machine clock, like every frame's),
/// and each fix carries its evidence (the copies it was computed from).
///
/// `replay_speed`: how many times faster than the machine clock the receivers' counters
/// run (1 in the field; a replay's speed in `skyfence demo`). The engine's windows in
/// receive time (a group's completion, the age of a reported altitude, the ADS-B grace)
/// are divided by it, so a group is still solved while its clock relations predict; the
/// grouping window keeps a floor of 0.25 s for the sources' batching.
pub fn mlat_engine(
    sensors: &[skyfence_decode::sensor::Sensor],
    receivers: &[(SourceId, String)],
    replay_speed: f64,
) -> Option<skyfence_mlat::Engine> {
    if receivers.is_empty() {
        return None;
    }
    let sites = skyfence_mlat::ReceiverSite::from_sensors(sensors);
    let d = skyfence_mlat::MlatConfig::default();
    let speed = if replay_speed.is_finite() && replay_speed > 1.0 {
        replay_speed
    } else {
        1.0
    };
    let mut engine = skyfence_mlat::Engine::new(
        sites,
        skyfence_mlat::MlatConfig {
            anchor_to_reference: false,
            evidence: true,
            window_s: (d.window_s / speed).max(0.25f64.min(d.window_s)),
            adsb_grace_s: d.adsb_grace_s / speed,
            altitude_max_age_s: d.altitude_max_age_s / speed,
            ..d
        },
    );
    for (source, name) in receivers {
        if let Some(rx) = engine.receiver(name) {
            engine.bind(*source, rx);
        }
    }
    Some(engine)
}

fn frame_record(
    names: &[Arc<str>],
    receivers: &Receivers,
    target: TargetId,
    f: RingFrame,
) -> FrameRecord {
    let source = match f.receiver.and_then(|i| receivers.name(i)) {
        Some(name) => name.clone(),
        None => names
            .get(usize::from(f.source.0))
            .cloned()
            .unwrap_or_else(|| Arc::from("unknown")),
    };
    FrameRecord {
        target,
        at: f.at,
        source,
        record: f.record,
    }
}

/// The receivers named by records themselves, interned so that a ring entry names one
/// in two bytes. At most `u16::MAX` names; records of further receivers are named
/// after their source.
#[derive(Debug, Default)]
struct Receivers {
    names: Vec<Arc<str>>,
    index: HashMap<skyfence_core::ShortName, std::num::NonZeroU16>,
}

impl Receivers {
    /// The index of `name`, `None` when it is the source's own name (`source`) or the
    /// table is full.
    fn index(
        &mut self,
        name: skyfence_core::ShortName,
        source: Option<&str>,
    ) -> Option<std::num::NonZeroU16> {
        if source == Some(name.as_str()) {
            return None;
        }
        if let Some(i) = self.index.get(&name) {
            return Some(*i);
        }
        let i = std::num::NonZeroU16::new(u16::try_from(self.names.len() + 1).ok()?)?;
        self.names.push(Arc::from(name.as_str()));
        self.index.insert(name, i);
        Some(i)
    }

    fn name(&self, i: std::num::NonZeroU16) -> Option<&Arc<str>> {
        self.names.get(usize::from(i.get()) - 1)
    }
}

/// The store writer: commits each job in one transaction, then publishes its new events.
/// Runs on a blocking thread until the detector task drops its sender; a failed commit
/// is retried (batches are idempotent), and nothing is published before it succeeds.
pub fn write_store(
    mut store: Box<dyn Store>,
    mut jobs: mpsc::Receiver<WriteJob>,
    events: broadcast::Sender<Arc<Published>>,
    metrics: Arc<Metrics>,
) {
    while let Some(job) = jobs.blocking_recv() {
        // Whatever queued meanwhile is merged: events (with their evidence) into one
        // transaction committed first, the steady stream into short ones after it.
        let (mut urgent, mut bulk) = (WriteJob::default(), WriteJob::default());
        let mut sort = |job: WriteJob| {
            if job.is_urgent() {
                urgent.merge(job)
            } else {
                bulk.merge(job)
            }
        };
        sort(job);
        while let Ok(more) = jobs.try_recv() {
            sort(more);
        }
        if !urgent.is_empty() {
            commit(&mut *store, urgent, &events, &metrics);
        }
        while !bulk.is_empty() {
            let part = bulk.take_front(BULK_ROWS_PER_COMMIT);
            commit(&mut *store, part, &events, &metrics);
            // Events that arrived meanwhile go before the rest of the stream.
            let mut urgent = WriteJob::default();
            while let Ok(more) = jobs.try_recv() {
                if more.is_urgent() {
                    urgent.merge(more);
                } else {
                    bulk.merge(more);
                }
            }
            if !urgent.is_empty() {
                commit(&mut *store, urgent, &events, &metrics);
            }
        }
    }
    tracing::info!("store flushed");
}

/// How often the WAL is copied into the database file: often enough that the tail the
/// writer copies when it empties the WAL (`SqliteStore::bound_wal`) is a few
/// megabytes at 100 k frames/s, a millisecond or two.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Runs the store's deferred housekeeping ([`Store::maintain`]: SQLite copies its WAL into
/// the database file) about ten times a second on its own connection until `shutdown`.
/// The writer is opened with `auto_checkpoint: false`, so no commit (and no event
/// waiting behind it) pays for copying the WAL or for the database file's fsync.
pub fn checkpoint_store(store: Box<dyn Store>, shutdown: watch::Receiver<bool>) {
    let mut next = Instant::now() + CHECKPOINT_EVERY;
    while !*shutdown.borrow() {
        // Short naps, so shutdown is not delayed.
        std::thread::sleep(
            next.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(50)),
        );
        if Instant::now() < next {
            continue;
        }
        next = Instant::now() + CHECKPOINT_EVERY;
        if let Err(e) = store.maintain() {
            tracing::warn!("wal checkpoint failed (tried again shortly): {e}");
        }
    }
}

/// Commits one job (retrying until the store takes it), then publishes its new events.
fn commit(
    store: &mut dyn IncidentStore,
    job: WriteJob,
    events: &broadcast::Sender<Arc<Published>>,
    metrics: &Metrics,
) {
    let started = Instant::now();
    let applied = loop {
        match store.apply(&job.batch) {
            Ok(a) => break a,
            Err(e) => {
                metrics.store_errors.fetch_add(1, Relaxed);
                metrics.store_failed(&e.to_string());
                tracing::error!("store commit failed, retrying: {e}");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    };
    metrics.store_committed();
    metrics.store_batches.fetch_add(1, Relaxed);
    metrics.store_commit.observe(started.elapsed());
    if let Some(cut_off) = job.purge_before {
        match store.purge_older_than(cut_off) {
            Ok(p) => tracing::info!(
                before = %cut_off,
                incidents = p.incidents,
                events = p.events,
                positions = p.positions,
                frames = p.frames,
                "retention purge"
            ),
            // Tried again at the next hourly purge; nothing is lost by waiting.
            Err(e) => tracing::error!("retention purge failed: {e}"),
        }
    }
    for ((event, seq), arrived) in job
        .batch
        .events
        .iter()
        .zip(&applied.event_seqs)
        .zip(&job.arrivals)
    {
        let Some(seq) = *seq else { continue };
        log_event(event);
        metrics.count_event(event.kind());
        // No SSE client is not an error.
        let _ = events.send(Arc::new(Published::new(seq, event)));
        let latency = arrived.elapsed();
        metrics.event_latency.observe(latency);
        if matches!(event, Event::Confirmed { .. }) {
            metrics.confirmed_latency.observe(latency);
        }
    }
}

fn log_event(event: &Event) {
    let Some(i) = event.incident() else {
        tracing::debug!(zone = event.zone(), "approach");
        return;
    };
    let what = match event {
        Event::Confirmed { .. } => "incident opened",
        Event::Closed { .. } => "incident closed",
        _ => "incident lost",
    };
    tracing::info!(
        id = %i.id,
        zone = %i.zone,
        kind = i.target.id.kind().as_str(),
        target = %i.target.id,
        callsign = i.target.callsign.as_ref().map(|c| c.as_str()).unwrap_or(""),
        authorised = i.authorised,
        "{what}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::SourceId;
    use skyfence_core::airspace::AirspaceIndex;
    use skyfence_core::detect::DetectionConfig;
    use skyfence_decode::Frame;
    use skyfence_decode::codec::Item;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A receiver clock an hour fast must neither advance the detector's clock nor
    /// expire anything: its observations are dropped and counted as `future_time`.
    #[test]
    fn observations_far_ahead_of_the_clock_are_dropped_and_counted() {
        let metrics = Arc::new(Metrics::new(["rx".to_string()]));
        let (tracks, _) = watch::channel(Arc::new(Vec::new()));
        let detector = Detector::new(
            AirspaceIndex::new(Vec::new()),
            DetectionConfig::default(),
            Vec::new(),
        );
        let mut task = DetectorTask::new(detector, vec![Arc::from("rx")], metrics.clone(), tracks);
        let now = wall_clock();
        // "The 1090 MHz Riddle" (Junzi Sun): 40621D airborne position (even) and
        // 4840D6 (KLM1023) identification, both with valid CRC.
        let future = Frame::new(
            now.add_micros(3_600_000_000),
            &hex("8D40621D58C382D690C8AC2863A7"),
        );
        let present = Frame::new(now, &hex("8D4840D6202CC371C32CE0576098"));
        task.process(SourceBatch {
            source: SourceId(0),
            received: Instant::now(),
            items: vec![Item::Frame(future.unwrap()), Item::Frame(present.unwrap())],
        });
        let m = &metrics.sources[0];
        assert_eq!(m.future_time.load(Relaxed), 1);
        assert_eq!(m.messages.load(Relaxed), 1);
        assert!(
            task.detector
                .clock()
                .is_some_and(|c| c <= now.add_micros(1_000_000))
        );
        let icaos: Vec<String> = task
            .detector
            .tracks()
            .iter()
            .map(|t| t.target().to_string())
            .collect();
        assert_eq!(icaos, ["4840d6"]);
        assert!(
            metrics.render().contains(
                "skyfence_frames_dropped_total{source=\"rx\",reason=\"future_time\"} 1\n"
            )
        );
    }

    fn ms(v: i64) -> Timestamp {
        Timestamp::from_micros(v * 1000)
    }

    #[test]
    fn position_ring_keeps_the_pre_entry_window() {
        let t = TargetId::Icao(skyfence_core::Icao24::from_u32_masked(0x4840d6));
        let mut r = PositionRing::default();
        for s in [0i64, 100, 200, 301, 400] {
            r.push(
                t,
                TrackPoint {
                    at: ms(s * 1000),
                    lat: 52.0,
                    lon: 4.0,
                    alt_ft: Some(38000),
                },
            );
        }
        // 400 s - 300 s: the report at 0 s is gone, the one exactly 300 s old stays.
        let kept: Vec<i64> = r
            .take(t)
            .iter()
            .map(|p| p.at.as_micros() / 1_000_000)
            .collect();
        assert_eq!(kept, [100, 200, 301, 400]);
        assert!(r.take(t).is_empty());
    }

    /// Positions twice a second are kept one per `RING_POSITION_SPACING` (3 s), plus the
    /// newest; a full ring holds `RING_POSITIONS_PER_TARGET`.
    #[test]
    fn position_ring_thins_to_the_spacing_and_keeps_the_newest() {
        let t = TargetId::Icao(skyfence_core::Icao24::from_u32_masked(0x4840d6));
        let point = |ms_at| TrackPoint {
            at: ms(ms_at),
            lat: 52.0,
            lon: 4.0,
            alt_ft: None,
        };
        let mut r = PositionRing::default();
        for i in 0..=20 {
            r.push(t, point(i * 500));
        }
        let kept: Vec<i64> = r.take(t).iter().map(|p| p.at.as_micros() / 1000).collect();
        assert_eq!(kept, [0, 3000, 6000, 9000, 10_000]);
        for i in 0..2000 {
            r.push(t, point(i * 500));
        }
        let ring = r.take(t);
        assert_eq!(ring.len(), RING_POSITIONS_PER_TARGET);
        assert_eq!(ring.last().map(|p| p.at), Some(ms(1999 * 500)));
    }
}

#[cfg(test)]
mod resume_tests {
    use super::*;
    use skyfence_core::airspace::AirspaceIndex;
    use skyfence_core::airspace::load::parse_geojson;
    use skyfence_core::detect::{
        DetectionConfig, Fix, IncidentStatus, IncidentVerification, Report, SpoofVerdict,
        TargetInfo,
    };
    use skyfence_core::{GeoPoint, Icao24};

    const BOX: &str = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"BOX"},"geometry":{"type":"Polygon","coordinates":[[[70,33],[71,33],[71,34],[70,34],[70,33]]]}}]}"#;

    /// An open incident of a spoofer as the store gives it back after a restart: with
    /// the verdict logged before the restart.
    fn stored(verdict: Option<IncidentVerification>) -> Incident {
        let entered_at = Timestamp::from_secs(1_700_000_000);
        let target = TargetId::Icao(Icao24::new(0x700bad).unwrap());
        Incident {
            id: IncidentId::derive(target, "BOX", entered_at),
            zone: "BOX".into(),
            target: TargetInfo {
                id: target,
                callsign: None,
                category: None,
            },
            classification: Classification::Aircraft,
            authorised: false,
            permit: None,
            status: IncidentStatus::Open,
            entry_observed: true,
            entered_at,
            exited_at: None,
            last_seen_at: entered_at.add_micros(10_000_000),
            entry: Fix::new(GeoPoint::new(33.5, 70.5), Some(33_000)),
            exit: None,
            duration_s: 10.0,
            max_depth_m: 5_000.0,
            max_alt_ft: Some(33_000),
            reports: 20,
            cooperative: None,
            sensors: Vec::new(),
            operator: None,
            remoteid: None,
            verification: verdict,
        }
    }

    fn task_resuming(incident: &Incident) -> DetectorTask {
        let zones = parse_geojson("box.geojson", BOX).unwrap();
        let mut detector = Detector::new(
            AirspaceIndex::new(zones),
            DetectionConfig::default(),
            Vec::new(),
        );
        detector
            .resume(
                incident,
                Report {
                    at: incident.last_seen_at,
                    pos: GeoPoint::new(33.55, 70.5),
                    alt_ft: Some(33_000),
                },
            )
            .unwrap();
        let metrics = Arc::new(Metrics::new(["rx".to_string()]));
        let (tracks, _) = watch::channel(Arc::new(Vec::new()));
        // A multilaterating service that has not heard the aircraft since its start.
        let engine = skyfence_mlat::Engine::new(Vec::new(), skyfence_mlat::MlatConfig::default());
        let mut task = DetectorTask::new(detector, vec![Arc::from("rx")], metrics, tracks)
            .with_mlat(Some(engine));
        task.resumed(incident);
        task
    }

    /// After a restart the engine has no verdict on the aircraft until it checks it
    /// again: the resumed incident keeps the one it was stored with, in its snapshots and
    /// in the event that ends it; one stored without a verdict stays without.
    #[test]
    fn a_resumed_incident_keeps_its_stored_verdict() {
        let verdict = IncidentVerification::tdoa(6, 14_812.4, SpoofVerdict::SpoofSuspected);
        let incident = stored(Some(verdict));
        let mut task = task_resuming(&incident);
        let open = task.open_incidents();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, incident.id);
        assert_eq!(open[0].verification, Some(verdict));

        // Never heard again: lost, and the loss carries the verdict too.
        let later = incident.last_seen_at.add_micros(3_600_000_000);
        task.tick(later);
        let job = task.take_job();
        let lost: Vec<&Incident> = job
            .batch
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Lost { incident, .. } => Some(incident),
                _ => None,
            })
            .collect();
        assert_eq!(lost.len(), 1, "{:?}", job.batch.events);
        assert_eq!(lost[0].id, incident.id);
        assert_eq!(lost[0].verification, Some(verdict));
        assert!(task.resumed_verdicts.is_empty());

        let mut task = task_resuming(&stored(None));
        assert_eq!(task.open_incidents()[0].verification, None);
    }
}
