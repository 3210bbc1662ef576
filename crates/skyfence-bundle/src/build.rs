//! From the log's evidence of one incident to the files of its bundle.
//!
//! [`Contents`] sorts decoded leaves into what a bundle needs (the incident's state
//! changes and acknowledgements, the zone, the config, the raw records); the exporter and
//! the verifier both use it, and both render the report, KML and GeoJSON through
//! [`render_files`], so the verifier can re-create those renderings and compare them.

use std::collections::HashMap;
use std::sync::Arc;

use skyfence_core::Timestamp;
use skyfence_core::airspace::{AirspaceIndex, Zone};
use skyfence_core::detect::{Incident, IncidentId};
use skyfence_evidence::{
    DatasetContent, DatasetKind, EvidenceLeaf, Hash, LeafSignal, Note, VerifierKey, to_hex,
};

use super::archive::{Bundle, LeafLine, LogInfo, Manifest, write_leaves, write_proofs};
use super::render::{self, RenderInput, TimelineRow};
use super::replay::{self, RecordLeaf};
use super::{VERSION, files};

/// An incident's state change as its leaf records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    /// Leaf index.
    pub index: u64,
    /// When.
    pub at: Timestamp,
    /// The event kind the log recorded.
    pub event: String,
    /// The incident JSON, exactly as logged.
    pub json: String,
}

/// An operator acknowledgement as its leaf records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AckLeaf {
    /// Leaf index.
    pub index: u64,
    /// When.
    pub at: Timestamp,
    /// Who.
    pub operator: String,
    /// Their note.
    pub note: String,
}

/// A zone dataset leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneLeaf {
    /// Leaf index.
    pub index: u64,
    /// The dataset name the log recorded.
    pub name: String,
    /// When it was loaded.
    pub loaded_at: Timestamp,
    /// SHA-256 of its provenance record.
    pub provenance_sha256: [u8; 32],
    /// The content (a GeoJSON Feature) or its hash.
    pub content: DatasetContent,
}

/// A config leaf.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigLeaf {
    /// Leaf index.
    pub index: u64,
    /// When it took effect.
    pub at: Timestamp,
    /// Where it came from.
    pub source: String,
    /// The config text.
    pub text: Vec<u8>,
}

/// The leaves of one incident's bundle, sorted by what they are.
#[derive(Clone, Debug, Default)]
pub struct Contents {
    /// The incident's state changes, by index.
    pub states: Vec<StateChange>,
    /// Its acknowledgements, by index.
    pub acks: Vec<AckLeaf>,
    /// Zone dataset leaves, by index.
    pub zones: Vec<ZoneLeaf>,
    /// Config leaves, by index.
    pub configs: Vec<ConfigLeaf>,
    /// Raw records (kind 0x03 frames and kind 0x06 records), by index.
    pub records: Vec<RecordLeaf>,
    /// The declared sensors' changes of state (kind 0x09), by index.
    pub sensors: Vec<render::SensorChange>,
    /// Leaves of other kinds or other incidents (listed, not used).
    pub other: Vec<u64>,
}

impl Contents {
    /// Sorts `leaves` (index, decoded leaf), by index, for incident `id`.
    pub fn sort(id: IncidentId, leaves: &[(u64, EvidenceLeaf)]) -> Contents {
        let mut leaves: Vec<&(u64, EvidenceLeaf)> = leaves.iter().collect();
        leaves.sort_by_key(|(i, _)| *i);
        let mut c = Contents::default();
        for (index, leaf) in leaves {
            let index = *index;
            match leaf {
                EvidenceLeaf::IncidentStateChanged {
                    incident_id,
                    at_us,
                    event,
                    incident_json,
                } if *incident_id == id.0 => c.states.push(StateChange {
                    index,
                    at: Timestamp::from_micros(*at_us),
                    event: event.clone(),
                    json: incident_json.clone(),
                }),
                EvidenceLeaf::OperatorAck {
                    incident_id,
                    operator,
                    note,
                    at_us,
                } if *incident_id == id.0 => c.acks.push(AckLeaf {
                    index,
                    at: Timestamp::from_micros(*at_us),
                    operator: operator.clone(),
                    note: note.clone(),
                }),
                EvidenceLeaf::DatasetLoaded {
                    kind: DatasetKind::Zones,
                    name,
                    loaded_at_us,
                    provenance_sha256,
                    content,
                } => c.zones.push(ZoneLeaf {
                    index,
                    name: name.clone(),
                    loaded_at: Timestamp::from_micros(*loaded_at_us),
                    provenance_sha256: *provenance_sha256,
                    content: content.clone(),
                }),
                EvidenceLeaf::ConfigChanged {
                    at_us,
                    source,
                    config,
                } => c.configs.push(ConfigLeaf {
                    index,
                    at: Timestamp::from_micros(*at_us),
                    source: source.clone(),
                    text: config.clone(),
                }),
                EvidenceLeaf::SensorState {
                    at_us,
                    sensor,
                    sensor_type,
                    up,
                    last_heard_us,
                } => c.sensors.push(render::SensorChange {
                    leaf: index,
                    at: Timestamp::from_micros(*at_us),
                    sensor: sensor.clone(),
                    sensor_type: sensor_type.clone(),
                    up: *up,
                    last_heard: Timestamp::from_micros(*last_heard_us),
                }),
                EvidenceLeaf::RawFrame { .. } | EvidenceLeaf::RawRecord { .. } => {
                    c.records.extend(RecordLeaf::from_leaf(index, leaf))
                }
                _ => c.other.push(index),
            }
        }
        c
    }

    /// The incident's latest state change: what `incident.json` must equal.
    pub fn latest_state(&self) -> Option<&StateChange> {
        self.states.last()
    }

    /// The zone leaf for zone `name`: the latest whose content is a zone of that name
    /// (the content's name is what detection used), else the latest with that dataset
    /// name.
    pub fn zone_for(&self, name: &str) -> Option<(&ZoneLeaf, Option<Zone>)> {
        let parsed = self.zones.iter().rev().find_map(|z| match &z.content {
            DatasetContent::Bytes(b) => std::str::from_utf8(b)
                .ok()
                .and_then(|t| replay::zone_from_geojson(t).ok())
                .filter(|zone| zone.name == name)
                .map(|zone| (z, Some(zone))),
            DatasetContent::Sha256(_) => None,
        });
        parsed.or_else(|| {
            self.zones
                .iter()
                .rev()
                .find(|z| z.name == name)
                .map(|z| (z, None))
        })
    }

    /// [`Contents::zone_for`], each zone leaf parsed through `cache` (so bundles of many
    /// incidents parse a zone once); the same answer.
    fn zone_for_cached(
        &self,
        name: &str,
        cache: &mut ZoneCache,
    ) -> Option<(&ZoneLeaf, Option<Arc<PreparedZone>>)> {
        let parsed = self.zones.iter().rev().find_map(|z| match &z.content {
            DatasetContent::Bytes(b) => cache
                .parse(z.index, b)
                .filter(|p| p.zone.name == name)
                .map(|p| (z, Some(p))),
            DatasetContent::Sha256(_) => None,
        });
        parsed.or_else(|| {
            self.zones
                .iter()
                .rev()
                .find(|z| z.name == name)
                .map(|z| (z, None))
        })
    }

    /// The config in force: the latest config leaf logged at or before `at`, else the
    /// earliest one.
    pub fn config_at(&self, at: Timestamp) -> Option<&ConfigLeaf> {
        self.configs
            .iter()
            .rev()
            .find(|c| c.at <= at)
            .or_else(|| self.configs.first())
    }

    /// The timeline: state changes and acknowledgements, by time then index.
    pub fn timeline(&self) -> Vec<TimelineRow> {
        let mut rows: Vec<TimelineRow> = self
            .states
            .iter()
            .map(|s| {
                let status = serde_json::from_str::<serde_json::Value>(&s.json)
                    .ok()
                    .and_then(|v| v.get("status").and_then(|s| s.as_str().map(str::to_owned)))
                    .unwrap_or_default();
                TimelineRow {
                    at: s.at,
                    leaf: s.index,
                    what: s.event.clone(),
                    detail: format!("status {status}"),
                }
            })
            .chain(self.acks.iter().map(|a| TimelineRow {
                at: a.at,
                leaf: a.index,
                what: "acknowledged".into(),
                detail: if a.note.is_empty() {
                    format!("by {}", a.operator)
                } else {
                    format!("by {}: {}", a.operator, a.note)
                },
            }))
            .collect();
        rows.sort_by_key(|r| (r.at, r.leaf));
        rows
    }
}

/// `frames.csv`: one line per raw record, by receive time then index. Bundle format 1:
/// `index,received_at,sensor,signal,mlat,hex` (Mode S frames only, exactly as format 1
/// always wrote it); format 2 adds `protocol` after `sensor` (`modes`, `asterix`,
/// `remoteid`, or the code in hex when unknown) and prints a dBm signal as `-67dBm`.
pub fn frames_csv(records: &[RecordLeaf], version: u32) -> Vec<u8> {
    let mut sorted: Vec<&RecordLeaf> = records.iter().collect();
    sorted.sort_by_key(|f| (f.received_at, f.index));
    let v1 = version == 1;
    let mut s = String::from(if v1 {
        "index,received_at,sensor,signal,mlat,hex\n"
    } else {
        "index,received_at,sensor,protocol,signal,mlat,hex\n"
    });
    for f in sorted {
        let signal = match f.signal {
            LeafSignal::None => String::new(),
            LeafSignal::Level(l) => l.to_string(),
            LeafSignal::Dbm(d) => format!("{d}dBm"),
        };
        let protocol = if v1 {
            String::new()
        } else {
            format!("{},", f.protocol_name())
        };
        s.push_str(&format!(
            "{},{},{},{protocol}{signal},{},{}\n",
            f.index,
            f.received_at.to_rfc3339_micros(),
            csv_field(&f.sensor),
            u8::from(f.mlat),
            to_hex(&f.record)
        ));
    }
    s.into_bytes()
}

/// Records per protocol name, by name (for the report's evidence row).
fn protocol_counts(records: &[RecordLeaf]) -> Vec<(String, usize)> {
    let mut counts = std::collections::BTreeMap::new();
    for r in records {
        *counts.entry(r.protocol_name()).or_insert(0) += 1;
    }
    counts.into_iter().collect()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// What the exporter gathered from the store for one incident.
#[derive(Clone, Debug)]
pub struct Evidence {
    /// The incident.
    pub incident: IncidentId,
    /// The signed checkpoint (a C2SP signed note) every proof leads to.
    pub checkpoint_note: String,
    /// The log's key.
    pub log_key: VerifierKey,
    /// Keys of witnesses whose cosignatures the note carries.
    pub witness_keys: Vec<VerifierKey>,
    /// The leaves: index and canonical bytes.
    pub leaves: Vec<(u64, Vec<u8>)>,
    /// Each leaf's inclusion proof in the checkpoint's tree.
    pub proofs: Vec<(u64, Vec<Hash>)>,
    /// The export time.
    pub exported_at: Timestamp,
}

/// Why a bundle cannot be built from the evidence given.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A leaf does not decode.
    #[error("leaf {index} does not decode: {reason}")]
    Leaf {
        /// The leaf.
        index: u64,
        /// Why.
        reason: String,
    },
    /// Something the bundle needs is not in the evidence.
    #[error("{0}")]
    Missing(String),
}

/// Everything the renderings need, all of it derivable from a bundle's verified files.
pub struct RenderSource<'a> {
    /// The incident (from `incident.json`).
    pub incident: &'a Incident,
    /// The sorted leaves.
    pub contents: &'a Contents,
    /// The zone.
    pub zone: &'a Zone,
    /// The target's track from the replay.
    pub track: &'a [skyfence_core::detect::TrackPoint],
    /// The manifest's log information.
    pub log: &'a LogInfo,
    /// The checkpoint note text (for the cosigners' names).
    pub checkpoint_note: &'a str,
    /// The export time as the manifest states it.
    pub exported_at: &'a str,
    /// The bundle format version (the renderings of format 1 stay exactly as they were).
    pub version: u32,
}

/// The three renderings (report, KML, GeoJSON), by bundle path.
pub fn render_files(src: &RenderSource<'_>) -> Vec<(&'static str, Vec<u8>)> {
    let signers: Vec<String> = Note::parse(src.checkpoint_note.as_bytes())
        .map(|n| {
            n.signatures
                .iter()
                .map(|s| format!("{} ({:08x})", s.name, s.key_id))
                .collect()
        })
        .unwrap_or_default();
    let sensors: std::collections::BTreeSet<&str> = src
        .contents
        .records
        .iter()
        .map(|f| f.sensor.as_str())
        .collect();
    let input = RenderInput {
        incident: src.incident,
        zone: src.zone,
        track: src.track,
        timeline: src.contents.timeline(),
        frames: src.contents.records.len(),
        protocols: protocol_counts(&src.contents.records),
        sensors: sensors.into_iter().map(str::to_owned).collect(),
        log: src.log,
        signers,
        exported_at: src.exported_at,
        sensor_changes: src.contents.sensors.clone(),
        version: src.version,
    };
    vec![
        (files::REPORT, render::report_html(&input).into_bytes()),
        (files::KML, render::track_kml(&input).into_bytes()),
        (files::GEOJSON, render::track_geojson(&input).into_bytes()),
    ]
}

/// A zone as a dataset leaf holds it, parsed and indexed for the replay.
#[derive(Debug)]
pub struct PreparedZone {
    /// The zone.
    pub zone: Zone,
    /// Its detection index (of this zone alone, as the replay watches it).
    pub index: Arc<AirspaceIndex>,
}

/// The zones of dataset leaves already parsed and indexed, by leaf index, for building
/// the bundles of many incidents ([`build_with`]): a country's border is about half a
/// megabyte of GeoJSON and takes tens of milliseconds to parse and index, and every
/// bundle in that zone carries the same leaf. Each entry keeps the leaf's bytes and is
/// used only for the same bytes, so a cache shared across logs is still right. Holds one
/// entry per zone leaf met, not per incident.
#[derive(Debug, Default)]
pub struct ZoneCache {
    zones: HashMap<u64, (Vec<u8>, Option<Arc<PreparedZone>>)>,
}

impl ZoneCache {
    /// The zone in the content `bytes` of zone leaf `index`, `None` when it is not a
    /// readable GeoJSON zone.
    fn parse(&mut self, index: u64, bytes: &[u8]) -> Option<Arc<PreparedZone>> {
        if let Some((cached, prepared)) = self.zones.get(&index)
            && cached.as_slice() == bytes
        {
            return prepared.clone();
        }
        let prepared = std::str::from_utf8(bytes)
            .ok()
            .and_then(|t| replay::zone_from_geojson(t).ok())
            .map(|zone| {
                Arc::new(PreparedZone {
                    index: Arc::new(AirspaceIndex::new(vec![zone.clone()])),
                    zone,
                })
            });
        self.zones.insert(index, (bytes.to_vec(), prepared.clone()));
        prepared
    }
}

/// Builds the bundle of `evidence`.
pub fn build(evidence: &Evidence) -> Result<Bundle, BuildError> {
    build_with(evidence, &mut ZoneCache::default())
}

/// Builds the bundle of `evidence`, its zone parsed and indexed through `zones`: for many
/// bundles of one log (a dossier). The bundle is byte for byte the one [`build`] makes.
pub fn build_with(evidence: &Evidence, zones: &mut ZoneCache) -> Result<Bundle, BuildError> {
    let mut decoded = Vec::with_capacity(evidence.leaves.len());
    for (index, bytes) in &evidence.leaves {
        let leaf = EvidenceLeaf::decode(bytes).map_err(|e| BuildError::Leaf {
            index: *index,
            reason: e.to_string(),
        })?;
        decoded.push((*index, leaf));
    }
    let contents = Contents::sort(evidence.incident, &decoded);
    let state = contents.latest_state().ok_or_else(|| {
        BuildError::Missing(format!(
            "the log has no state change of incident {}",
            evidence.incident
        ))
    })?;
    let incident: Incident = serde_json::from_str(&state.json)
        .map_err(|e| BuildError::Missing(format!("incident JSON of leaf {}: {e}", state.index)))?;
    let (zone_leaf, zone) = contents
        .zone_for_cached(&incident.zone, zones)
        .ok_or_else(|| {
            BuildError::Missing(format!(
                "the log has no dataset leaf of zone {:?}",
                incident.zone
            ))
        })?;
    let (DatasetContent::Bytes(zone_bytes), Some(zone)) = (&zone_leaf.content, zone) else {
        return Err(BuildError::Missing(format!(
            "dataset leaf {} of zone {:?} holds no readable GeoJSON zone",
            zone_leaf.index, incident.zone
        )));
    };
    let config = contents
        .config_at(incident.entered_at)
        .ok_or_else(|| BuildError::Missing("the log has no configuration leaf".into()))?;
    let config_text = std::str::from_utf8(&config.text)
        .map_err(|_| BuildError::Missing(format!("config leaf {} is not UTF-8", config.index)))?;
    let (detection, permits) = replay::settings_from_config(config_text)
        .map_err(|e| BuildError::Missing(e.to_string()))?;
    let decoding = replay::decoding_from_config(config_text)
        .map_err(|e| BuildError::Missing(e.to_string()))?;
    let replayed = replay::replay_indexed(
        &contents.records,
        incident.target.id,
        zone.index.clone(),
        detection,
        permits,
        &decoding,
        state.at,
    );

    let note = Note::parse(evidence.checkpoint_note.as_bytes())
        .map_err(|e| BuildError::Missing(format!("checkpoint: {e}")))?;
    let checkpoint = skyfence_evidence::Checkpoint::parse_body(&note.text)
        .map_err(|e| BuildError::Missing(format!("checkpoint: {e}")))?;
    let log = LogInfo {
        origin: checkpoint.origin.clone(),
        key: evidence.log_key.to_string(),
        checkpoint_size: checkpoint.size,
        checkpoint_root: to_hex(&checkpoint.root),
    };
    let exported_at = evidence.exported_at.to_rfc3339_millis();

    let mut bundle = Bundle::default();
    let mut put = |name: &str, bytes: Vec<u8>| {
        bundle.files.insert(name.to_owned(), bytes);
    };
    put(
        files::CHECKPOINT,
        evidence.checkpoint_note.clone().into_bytes(),
    );
    put(
        files::LOG_KEY,
        format!("{}\n", evidence.log_key).into_bytes(),
    );
    put(
        files::WITNESS_KEYS,
        evidence
            .witness_keys
            .iter()
            .map(|k| format!("{k}\n"))
            .collect::<String>()
            .into_bytes(),
    );
    let mut leaves: Vec<LeafLine> = evidence
        .leaves
        .iter()
        .map(|(index, bytes)| LeafLine {
            index: *index,
            bytes: bytes.clone(),
        })
        .collect();
    leaves.sort_by_key(|l| l.index);
    put(files::LEAVES, write_leaves(&leaves, VERSION));
    let mut proofs = evidence.proofs.clone();
    proofs.sort_by_key(|(i, _)| *i);
    put(files::PROOFS, write_proofs(&proofs, VERSION));
    put(files::INCIDENT, state.json.clone().into_bytes());
    put(files::ZONE, zone_bytes.clone());
    put(files::CONFIG, config.text.clone());
    put(files::FRAMES, frames_csv(&contents.records, VERSION));
    for (name, bytes) in render_files(&RenderSource {
        incident: &incident,
        contents: &contents,
        zone: &zone.zone,
        track: &replayed.track,
        log: &log,
        checkpoint_note: &evidence.checkpoint_note,
        exported_at: &exported_at,
        version: VERSION,
    }) {
        put(name, bytes);
    }
    let manifest = Manifest::describe(&bundle, evidence.incident.to_string(), exported_at, log);
    bundle
        .files
        .insert(files::MANIFEST.to_owned(), manifest.to_bytes());
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone_text(name: &str, lon: f64) -> Vec<u8> {
        format!(
            r#"{{"type":"Feature","properties":{{"name":"{name}","floor_ft":0,"ceiling_ft":20000}},
            "geometry":{{"type":"Polygon","coordinates":[[[{lon},30],[{},30],[{},31],[{lon},31],[{lon},30]]]}}}}"#,
            lon + 1.0,
            lon + 1.0
        )
        .into_bytes()
    }

    /// The cache answers a leaf index only for the bytes it parsed: the same bytes give
    /// the same prepared zone (parsed once), other bytes under that index are parsed
    /// again, and unreadable bytes give no zone.
    #[test]
    fn the_zone_cache_answers_only_for_the_same_bytes() {
        let mut cache = ZoneCache::default();
        let a = zone_text("BOX", 60.0);
        let first = cache.parse(3, &a).unwrap();
        assert_eq!(first.zone.name, "BOX");
        let again = cache.parse(3, &a).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let b = zone_text("OTHER", 70.0);
        let other = cache.parse(3, &b).unwrap();
        assert_eq!(other.zone.name, "OTHER");
        assert_eq!(
            other.zone,
            replay::zone_from_geojson(std::str::from_utf8(&b).unwrap()).unwrap()
        );
        assert!(cache.parse(3, b"{").is_none());
        assert!(cache.parse(4, &[0xff, 0xfe]).is_none());
    }
}
