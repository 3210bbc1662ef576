//! Re-decoding and re-detection from a bundle's own evidence: the raw records of its
//! leaves (kind 0x03 Mode S frames and kind 0x06 protocol-tagged records), the zone of its
//! dataset leaf and the `[detection]` and `[[allow]]` settings of its config leaf.
//! Re-decoding covers Mode S, ASTERIX (with the config leaf's `[[sensor]]`s) and Remote
//! ID; a multilateration fix record (protocol `mlat`) is solved again from its copies'
//! times, receivers' positions and clock offsets (`skyfence_mlat::evidence`) and
//! observed only when it gives the recorded fix; records of other protocols are counted in [`Replay::unsupported`] (the verifier
//! says it cannot re-decode them yet) and not replayed. The same code draws the bundle's
//! track at export and checks the incident
//! at verification, so both see exactly the same positions.
//!
//! Why the replay reproduces the live result: detection is a pure function of the
//! observations (ARCHITECTURE.md invariant 1: time comes from the data), the service
//! stores every frame of the target it decoded (duplicates across receivers were dropped
//! before decoding, so none are stored) from up to five minutes before the entry, and
//! the frames go through the same ingest step as in the service
//! ([`skyfence_decode::ingest::Ingest`], a decoder per sensor). Frames are replayed in
//! receive-time order, ties by log index (the order the service appended them).

use std::collections::HashMap;
use std::sync::Arc;

use skyfence_core::airspace::{AirspaceIndex, Zone};
use skyfence_core::detect::TrackPoint;
use skyfence_core::detect::{DetectionConfig, Detector, Event, Incident, Permit};
use skyfence_core::{Protocol, RawRecord, SourceId, TargetId, Timestamp};
use skyfence_decode::Frame;
use skyfence_decode::asterix::{self, AsterixItem};
use skyfence_decode::codec::Item;
use skyfence_decode::decoder::DecoderConfig;
use skyfence_decode::ingest::{Ingest, IngestConfig, Ingested, Lanes};
use skyfence_decode::remoteid::line::Record as RemoteIdRecord;
use skyfence_decode::sensor::Sensor;
use skyfence_evidence::{EvidenceLeaf, LeafSignal};
use skyfence_mlat::FixEvidence;
use skyfence_mlat::evidence::{CHECK_VERSION, CheckEvidence};

/// One raw record leaf: a kind 0x03 Mode S frame (bundle format 1 and 2) or a kind 0x06
/// protocol-tagged record (format 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordLeaf {
    /// Its index in the log.
    pub index: u64,
    /// The leaf kind it came from (0x03 or 0x06).
    pub leaf_kind: u8,
    /// The receiving sensor.
    pub sensor: String,
    /// Receive time.
    pub received_at: Timestamp,
    /// The protocol code ([`Protocol::code`]; a kind 0x03 leaf is Mode S). Kept as the
    /// leaf's byte so a code this verifier does not know is still shown and reported.
    pub protocol: u8,
    /// The receiver's signal.
    pub signal: LeafSignal,
    /// Multilateration flag.
    pub mlat: bool,
    /// The record's bytes as received.
    pub record: Vec<u8>,
}

impl RecordLeaf {
    /// The record of leaf `index`, when `leaf` is a raw frame or raw record.
    pub fn from_leaf(index: u64, leaf: &EvidenceLeaf) -> Option<RecordLeaf> {
        match leaf {
            EvidenceLeaf::RawFrame {
                sensor,
                received_at_us,
                signal,
                mlat,
                frame,
            } => Some(RecordLeaf {
                index,
                leaf_kind: leaf.kind_code(),
                sensor: sensor.clone(),
                received_at: Timestamp::from_micros(*received_at_us),
                protocol: Protocol::ModeS.code(),
                signal: signal.map_or(LeafSignal::None, LeafSignal::Level),
                mlat: *mlat,
                record: frame.clone(),
            }),
            EvidenceLeaf::RawRecord {
                sensor,
                received_at_us,
                protocol,
                signal,
                mlat,
                record,
            } => Some(RecordLeaf {
                index,
                leaf_kind: leaf.kind_code(),
                sensor: sensor.clone(),
                received_at: Timestamp::from_micros(*received_at_us),
                protocol: *protocol,
                signal: *signal,
                mlat: *mlat,
                record: record.clone(),
            }),
            _ => None,
        }
    }

    /// The protocol, when this verifier knows its code.
    pub fn known_protocol(&self) -> Option<Protocol> {
        Protocol::from_code(self.protocol)
    }

    /// The protocol's name (`modes`, `asterix`, `remoteid`), or its code in hex when
    /// unknown (`0x07`).
    pub fn protocol_name(&self) -> String {
        self.known_protocol().map_or_else(
            || format!("{:#04x}", self.protocol),
            |p| p.as_str().to_owned(),
        )
    }

    /// The codec item this record is, for the replay: a Mode S frame (the receiver's
    /// level becomes its signal byte; a dBm figure has no place there and does not affect
    /// decoding), an ASTERIX record (a one-record data block, decoded again) or a Remote
    /// ID record (transmitter address and message or pack, as
    /// [`RemoteIdRecord::evidence_bytes`] wrote them, with the RSSI); `None` for bytes
    /// that are none of these, or another protocol.
    fn item(&self) -> Option<Item> {
        match self.known_protocol()? {
            Protocol::ModeS => {
                let mut frame = Frame::new(self.received_at, &self.record)?;
                frame.raw.signal = match self.signal {
                    LeafSignal::Level(l) => Some(l),
                    LeafSignal::None | LeafSignal::Dbm(_) => None,
                };
                frame.raw.mlat = self.mlat;
                Some(Item::Frame(frame))
            }
            Protocol::RemoteId => {
                let mut record = RemoteIdRecord::from_evidence(self.received_at, &self.record)?;
                record.rssi_dbm = match self.signal {
                    LeafSignal::Dbm(d) => Some(d),
                    LeafSignal::None | LeafSignal::Level(_) => None,
                };
                Some(Item::RemoteId(Box::new(record)))
            }
            // Fixes are not decoded but recomputed ([`replay`]).
            Protocol::Mlat => None,
            Protocol::Asterix => {
                let report = asterix::decode_raw(&self.record).ok()?;
                Some(Item::Asterix(Box::new(AsterixItem {
                    at: self.received_at,
                    report,
                    raw: RawRecord::new(Protocol::Asterix, &self.record),
                })))
            }
        }
    }
}

/// Why the bundle's settings or zone cannot drive a replay.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    /// The config text is not TOML or its sections are invalid.
    #[error("config leaf: {0}")]
    Config(String),
    /// The zone text is not a zone.
    #[error("zone leaf: {0}")]
    Zone(String),
}

/// The detection settings a config text gives: its `[detection]` table (defaults where
/// absent) and its `[[allow]]` permits. Other sections (sources, server, store) do not
/// affect detection and are not read, so a config naming files the verifier lacks still
/// works.
pub fn settings_from_config(text: &str) -> Result<(DetectionConfig, Vec<Permit>), SettingsError> {
    let value: toml::Table =
        toml::from_str(text).map_err(|e| SettingsError::Config(e.to_string()))?;
    let detection = match value.get("detection") {
        Some(v) => v
            .clone()
            .try_into::<DetectionConfig>()
            .map_err(|e| SettingsError::Config(format!("[detection]: {e}")))?,
        None => DetectionConfig::default(),
    };
    detection
        .validate()
        .map_err(|e| SettingsError::Config(e.to_string()))?;
    let permits = match value.get("allow") {
        Some(v) => v
            .clone()
            .try_into::<Vec<Permit>>()
            .map_err(|e| SettingsError::Config(format!("[[allow]]: {e}")))?,
        None => Vec::new(),
    };
    for p in &permits {
        p.validate()
            .map_err(|e| SettingsError::Config(format!("[[allow]]: {e}")))?;
    }
    Ok((detection, permits))
}

/// The zone a dataset leaf's content gives: a GeoJSON FeatureCollection of exactly one
/// zone (or a bare Feature), read by the store's reader of zone leaves, which uses the
/// same loader as `--zones` and restores the kind, source and version the leaf records.
pub fn zone_from_geojson(text: &str) -> Result<Zone, SettingsError> {
    skyfence_core::airspace::zone_from_geojson(text.as_bytes())
        .map_err(|e| SettingsError::Zone(e.to_string()))
}

/// The decoder settings of a config text's `[decoder]` table (defaults where absent):
/// the service decoded with them, so re-detection must too (Comm-B trust by repetition
/// accepts replies the default refuses). Its other tables are not read.
pub fn decoder_from_config(text: &str) -> Result<DecoderConfig, SettingsError> {
    let value: toml::Table =
        toml::from_str(text).map_err(|e| SettingsError::Config(e.to_string()))?;
    let mut decoder = DecoderConfig::default();
    if let Some(n) = value
        .get("decoder")
        .and_then(|t| t.get("commb_trust_replies"))
    {
        decoder.commb_trust_replies = n
            .as_integer()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n == 0 || (2..=1000).contains(n))
            .ok_or_else(|| {
                SettingsError::Config(format!(
                    "[decoder] commb_trust_replies = {n}: expected 0 or 2 to 1000"
                ))
            })?;
    }
    Ok(decoder)
}

/// How a bundle's records are decoded, from its config leaf: the declared sensors
/// (`[[sensor]]`) and the decoder's settings (`[decoder]`).
#[derive(Clone, Debug, Default)]
pub struct Decoding {
    /// ASTERIX records are matched to them by SAC/SIC and radar plots placed from their
    /// sites.
    pub sensors: Vec<Sensor>,
    /// The Mode S decoder's settings.
    pub decoder: DecoderConfig,
}

/// [`Decoding`] of a config text.
pub fn decoding_from_config(text: &str) -> Result<Decoding, SettingsError> {
    Ok(Decoding {
        sensors: sensors_from_config(text)?,
        decoder: decoder_from_config(text)?,
    })
}

/// The `[[sensor]]`s of a config text (its other tables are not read): ASTERIX records
/// are matched to them by SAC/SIC and radar plots placed from their sites, as the
/// service did.
pub fn sensors_from_config(text: &str) -> Result<Vec<Sensor>, SettingsError> {
    skyfence_decode::sensor::config::from_config_text(text)
        .map_err(|e| SettingsError::Config(format!("[[sensor]]: {e}")))
}

/// What the replay found.
#[derive(Clone, Debug, Default)]
pub struct Replay {
    /// Frames replayed.
    pub frames: usize,
    /// Leaf indexes and protocol names of records of protocols this verifier cannot
    /// re-decode yet (everything but Mode S, ASTERIX and Remote ID): not replayed.
    pub unsupported: Vec<(u64, String)>,
    /// Frames that decoded to a message of the target.
    pub decoded: usize,
    /// Leaf indexes of frames that did not decode (CRC, unknown address, bad length).
    pub undecodable: Vec<u64>,
    /// Leaf indexes and addresses of frames that decoded to another aircraft.
    pub other_targets: Vec<(u64, String)>,
    /// The target's accepted positions, in order.
    pub track: Vec<TrackPoint>,
    /// The target's confirmed, closed and lost events in this zone, in order.
    pub events: Vec<Event>,
    /// The target's incursions still open at `until`, each as a log entry then holds it
    /// (its confirmation when it was confirmed at `until`).
    pub open: Vec<Incident>,
    /// Multilateration fix records recomputed from their copies' times (and then
    /// observed), and the receivers they used in all.
    pub mlat_fixes: usize,
    /// The receivers of those fixes, by name.
    pub mlat_receivers: std::collections::BTreeSet<String>,
    /// Leaf indexes of multilateration records that do not decode or whose fix the
    /// recorded times do not reproduce, with why (not observed).
    pub mlat_refused: Vec<(u64, String)>,
    /// Checks of the target's broadcast positions (`mlat` records of the check kind)
    /// whose residual and flag recompute from their copies: (leaf index, the check).
    pub checks: Vec<(u64, CheckEvidence)>,
    /// Check records that do not decode or recompute: (leaf index, why).
    pub checks_refused: Vec<(u64, String)>,
}

impl Replay {
    /// The last state of each incident of the replay: every `closed`/`lost` event's
    /// incident, then those still open.
    pub fn incidents(&self) -> Vec<&Incident> {
        let mut v: Vec<&Incident> = self
            .events
            .iter()
            .filter(|e| !matches!(e, Event::Confirmed { .. }))
            .filter_map(Event::incident)
            .collect();
        v.extend(self.open.iter());
        v
    }
}

/// Replays the Mode S, ASTERIX and Remote ID `records` of `target` through the ingest
/// step the service uses ([`skyfence_decode::ingest`], a decoder per sensor; no duplicate
/// removal, since the service stored only frames that passed its filter; ASTERIX records
/// matched to `decoding`'s sensors by SAC/SIC, decoded with its decoder settings) and a detector watching `zone` alone; records of
/// other protocols are listed in [`Replay::unsupported`]. The
/// incidents are taken at `until` (the time of the latest
/// logged state change), after advancing the detector's clock to it (so a silent target
/// is lost exactly as the live tick would have lost it); frames after `until` (an
/// incident still open at export) only extend the track and the frame counts.
pub fn replay(
    records: &[RecordLeaf],
    target: TargetId,
    zone: Zone,
    detection: DetectionConfig,
    permits: Vec<Permit>,
    decoding: &Decoding,
    until: Timestamp,
) -> Replay {
    let index = Arc::new(AirspaceIndex::new(vec![zone]));
    replay_indexed(records, target, index, detection, permits, decoding, until)
}

/// [`replay`] with the zone's index already built (`AirspaceIndex::new` of that one
/// zone): bundles of many incidents in one zone build it once (a country's border takes
/// tens of milliseconds to index). The result is the same.
pub fn replay_indexed(
    records: &[RecordLeaf],
    target: TargetId,
    index: Arc<AirspaceIndex>,
    detection: DetectionConfig,
    permits: Vec<Permit>,
    decoding: &Decoding,
    until: Timestamp,
) -> Replay {
    let mut out = Replay::default();
    let mut replayable: Vec<&RecordLeaf> = Vec::with_capacity(records.len());
    for r in records {
        match r.known_protocol() {
            Some(Protocol::ModeS | Protocol::Asterix | Protocol::RemoteId | Protocol::Mlat) => {
                replayable.push(r)
            }
            _ => out.unsupported.push((r.index, r.protocol_name())),
        }
    }
    replayable.sort_by_key(|r| (r.received_at, r.index));
    let mut detector = Detector::new(index, detection, permits);
    let mut lanes: HashMap<&str, SourceId> = HashMap::new();
    let mut ingest = Ingest::new(IngestConfig {
        dedup: false,
        lanes: Lanes::PerSource,
        sensors: decoding.sensors.clone(),
        decoder: decoding.decoder.clone(),
        ..IngestConfig::default()
    });
    let mut events = Vec::new();
    let mut snapshot_taken = false;
    for r in replayable {
        if !snapshot_taken && r.received_at > until {
            take_snapshot(&mut detector, target, until, &mut events, &mut out);
            snapshot_taken = true;
        }
        if r.known_protocol() == Some(Protocol::Mlat) && r.record.first() == Some(&CHECK_VERSION) {
            // A check of a broadcast position: recomputed, never observed (the position
            // message itself is in the bundle as a Mode S frame).
            let defaults = skyfence_mlat::MlatConfig::default();
            let check = CheckEvidence::decode(&r.record)
                .map_err(|e| e.to_string())
                .and_then(|e| {
                    e.recompute(defaults.verify_min_receivers, defaults.spoof_residual_m)
                        .map(|_| e)
                        .map_err(|m| m.to_string())
                });
            match check {
                Ok(e) if TargetId::Icao(e.icao) != target => {
                    out.other_targets
                        .push((r.index, format!("{:06x}", e.icao.as_u32())));
                }
                Ok(e) => out.checks.push((r.index, e)),
                Err(why) => out.checks_refused.push((r.index, why)),
            }
            continue;
        }
        if r.known_protocol() == Some(Protocol::Mlat) {
            // A fix: computed again from the receivers' times, and observed only when it
            // is the recorded one.
            let fix = FixEvidence::decode(&r.record)
                .map_err(|e| e.to_string())
                .and_then(|e| e.recompute().map(|_| e).map_err(|m| m.to_string()));
            let e = match fix {
                Ok(e) => e,
                Err(why) => {
                    out.mlat_refused.push((r.index, why));
                    continue;
                }
            };
            let obs = e.observation();
            if obs.target != target {
                out.other_targets.push((r.index, obs.target.to_string()));
                continue;
            }
            out.mlat_fixes += 1;
            out.mlat_receivers
                .extend(e.copies.iter().map(|c| c.receiver.clone()));
            observe(&mut detector, &obs, target, &mut events, &mut out);
            continue;
        }
        out.frames += 1;
        let next_id = SourceId(u16::try_from(lanes.len()).unwrap_or(u16::MAX));
        let source = *lanes.entry(r.sensor.as_str()).or_insert_with(|| {
            ingest.name_source(next_id, skyfence_core::ShortName::new(&r.sensor).ok());
            next_id
        });
        let Some(item) = r.item() else {
            out.undecodable.push(r.index);
            continue;
        };
        let Ingested::Accepted(obs) = ingest.observe(source, &item) else {
            out.undecodable.push(r.index);
            continue;
        };
        if obs.target != target {
            out.other_targets.push((r.index, obs.target.to_string()));
            continue;
        }
        out.decoded += 1;
        observe(&mut detector, &obs, target, &mut events, &mut out);
    }
    if !snapshot_taken {
        take_snapshot(&mut detector, target, until, &mut events, &mut out);
    }
    out
}

/// Detects one observation of the target, its accepted position added to the track.
fn observe(
    detector: &mut Detector<Arc<AirspaceIndex>>,
    obs: &skyfence_core::Observation,
    target: TargetId,
    events: &mut Vec<Event>,
    out: &mut Replay,
) {
    detector.observe(obs, events);
    if obs.position.is_some()
        && let Some(report) = detector
            .tracks()
            .get(target)
            .and_then(|t| t.last_report())
            .filter(|p| p.at == obs.at)
    {
        out.track.push(TrackPoint::from(report));
    }
}

/// The incidents of `target` at `until`: its closed and lost events so far and its
/// incursions still open.
fn take_snapshot(
    detector: &mut Detector<Arc<AirspaceIndex>>,
    target: TargetId,
    until: Timestamp,
    events: &mut Vec<Event>,
    out: &mut Replay,
) {
    // A lost event's time is the last report inside plus the timeout, and the detector
    // loses a track only once strictly more time has passed: one microsecond more.
    detector.tick(until.add_micros(1), events);
    out.events = events
        .drain(..)
        .filter(|e| e.incident().is_some_and(|i| i.target.id == target))
        .collect();
    out.open = detector
        .open_incidents()
        .into_iter()
        .filter(|i| i.target.id == target)
        .map(|open| logged_at(&out.events, open, until))
        .collect();
}

/// The state of the open incident `open` that a log entry at `until` holds: its
/// confirmation when that is what happened at `until`, else the detector's state then.
///
/// An open incident's logged state is usually its confirmation, made by the record
/// that confirmed it. Records of the same instant may follow that record (two fixes of
/// one reply time, plots of one scan): the live detector counted them after it logged
/// the confirmation, so the detector's state at `until` can hold more reports than the
/// log says.
fn logged_at(events: &[Event], open: Incident, until: Timestamp) -> Incident {
    events
        .iter()
        .rev()
        .find_map(|e| match e {
            Event::Confirmed { at, incident } if *at == until && incident.id == open.id => {
                Some(incident.clone())
            }
            _ => None,
        })
        .unwrap_or(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An open incident confirmed at `until` is its confirmation: a record of the
    /// confirming instant that followed it (counted live after the log) does not count.
    #[test]
    fn an_open_incident_confirmed_at_until_is_its_confirmation() {
        let at_confirmation: Incident = serde_json::from_str(
            r#"{"id":"0123456789abcdef","zone":"PK","target":{"icao24":"7a5c01","callsign":null,"category":null},"classification":"unknown","authorised":false,"permit":null,"status":"open","entry_observed":false,"entered_at":"2026-12-07T23:54:49.527Z","exited_at":null,"last_seen_at":"2026-12-07T23:54:49.797Z","entry":{"lat":33.828269,"lon":70.282724,"alt_ft":14783},"exit":null,"duration_s":0.27,"max_depth_m":15667.8,"max_alt_ft":14790,"reports":18}"#,
        )
        .unwrap();
        let until = at_confirmation.last_seen_at;
        let events = vec![Event::Confirmed {
            at: until,
            incident: at_confirmation.clone(),
        }];
        let mut at_until = at_confirmation.clone();
        at_until.reports = 19;
        assert_eq!(logged_at(&events, at_until.clone(), until), at_confirmation);
        // A state logged later than the confirmation is the detector's then.
        let later = until.add_micros(1);
        assert_eq!(logged_at(&events, at_until.clone(), later), at_until);
        // So is one of another incident.
        let mut other = at_until.clone();
        other.id = skyfence_core::detect::IncidentId([1; 8]);
        assert_eq!(logged_at(&events, other.clone(), until), other);
    }

    #[test]
    fn settings_read_detection_and_permits_only() {
        let text = "[detection]\nconfirm_s = 0.25\ntrack_timeout_s = 3\nmax_speed_mps = 20000\n\n\
                    [store]\npath = \"x.db\"\n\n[[allow]]\ncallsign = \"PIA*\"\nreason = \"permit 7\"\n";
        let (d, p) = settings_from_config(text).unwrap();
        assert_eq!(d.confirm_s, 0.25);
        assert_eq!(d.track_timeout_s, 3.0);
        assert_eq!(d.max_speed_mps, 20000.0);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].reason, "permit 7");
        let (d, p) = settings_from_config("").unwrap();
        assert_eq!(d, DetectionConfig::default());
        assert!(p.is_empty());
        let e = settings_from_config("[detection]\nconfirm_s = -1\n").unwrap_err();
        assert!(e.to_string().contains("confirm_s"), "{e}");
    }

    /// The service decoded with `[decoder]`: re-detection reads it (defaults without it;
    /// a value the service would refuse is an error naming the key).
    #[test]
    fn decoder_settings_are_read_from_the_config() {
        let d = decoder_from_config("[decoder]\ncommb_trust_replies = 3\n").unwrap();
        assert_eq!(d.commb_trust_replies, 3);
        assert_eq!(decoder_from_config("").unwrap(), DecoderConfig::default());
        for bad in ["1", "1001", "-2", "\"3\""] {
            let e = decoder_from_config(&format!("[decoder]\ncommb_trust_replies = {bad}\n"))
                .unwrap_err();
            assert!(e.to_string().contains("commb_trust_replies"), "{e}");
        }
        let both = decoding_from_config("[decoder]\ncommb_trust_replies = 2\n").unwrap();
        assert_eq!(both.decoder.commb_trust_replies, 2);
        assert!(both.sensors.is_empty());
    }

    #[test]
    fn a_feature_or_a_one_zone_collection_is_a_zone() {
        let feature = r#"{"type":"Feature","properties":{"name":"BOX","floor_ft":1000,"ceiling_ft":20000},
            "geometry":{"type":"Polygon","coordinates":[[[60,30],[61,30],[61,31],[60,31],[60,30]]]}}"#;
        let z = zone_from_geojson(feature).unwrap();
        assert_eq!(z.name, "BOX");
        assert_eq!((z.floor_ft, z.ceiling_ft), (Some(1000), Some(20000)));
        let fc = format!(r#"{{"type":"FeatureCollection","features":[{feature}]}}"#);
        assert_eq!(zone_from_geojson(&fc).unwrap().shape, z.shape);
        let two = format!(
            r#"{{"type":"FeatureCollection","features":[{feature},{}]}}"#,
            feature.replace("BOX", "BOX2")
        );
        assert!(
            zone_from_geojson(&two)
                .unwrap_err()
                .to_string()
                .contains("2 features")
        );
        assert!(zone_from_geojson("{").is_err());
    }
}
