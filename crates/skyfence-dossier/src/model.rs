//! What every rendering of a dossier is made of: the manifest's facts, one row per
//! incident (read from its verified bundle), the zones, and the counts and map derived
//! from them. The dossier writer and the verifier build this model the same way, from the
//! same bundle files, so the verifier can re-create each rendering and compare it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use skyfence_bundle::archive::Bundle;
use skyfence_bundle::files;
use skyfence_core::airspace::Zone;
use skyfence_core::detect::{Classification, Incident};

/// The manifest's `format` value.
pub const FORMAT: &str = "skyfence-dossier";
/// The manifest version this code writes and reads.
pub const VERSION: u32 = 1;
/// The renderer named in the manifest: a verifier re-creates the renderings byte for byte
/// only when it is the same renderer.
pub const RENDERER: &str = concat!("skyfence-dossier ", env!("CARGO_PKG_VERSION"));

/// Points of one incident's track kept for the period map (the full track goes to the
/// GeoJSON and KML files as it streams by); the map is a few hundred points wide, so more
/// would not show, and the model stays small however long the incidents are.
pub const MAP_POINTS: usize = 160;

/// The log a dossier's checkpoint belongs to (as in a bundle manifest).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogInfo {
    /// The checkpoint's origin line.
    pub origin: String,
    /// The log's public key (C2SP vkey).
    pub key: String,
    /// Leaves the checkpoint covers.
    pub checkpoint_size: u64,
    /// Its root hash, hex.
    pub checkpoint_root: String,
}

/// The period and selection a dossier covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Start (inclusive), RFC 3339.
    pub from: String,
    /// End (exclusive), RFC 3339.
    pub to: String,
}

/// One incident as the manifest lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestIncident {
    /// The incident id.
    pub id: String,
    /// Its zone.
    pub zone: String,
    /// Entry time (RFC 3339).
    pub entered_at: String,
    /// The bundle's path in the dossier.
    pub bundle: String,
    /// The bundle's SHA-256, hex.
    pub sha256: String,
}

/// One file of the dossier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the dossier directory (`/` separated).
    pub path: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// Size.
    pub bytes: u64,
}

/// `dossier.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// [`VERSION`].
    pub version: u32,
    /// When the dossier was made (RFC 3339).
    pub created_at: String,
    /// Which program rendered the tables, map and reports ([`RENDERER`]).
    pub renderer: String,
    /// The period.
    pub period: Period,
    /// The zones asked for (`--zone`); empty means every zone.
    pub zones: Vec<String>,
    /// `--unauthorised-only`.
    pub unauthorised_only: bool,
    /// The log and the checkpoint's size and root.
    pub log: LogInfo,
    /// The signed checkpoint (C2SP signed note) that includes every incident's evidence;
    /// every bundle carries exactly this note.
    pub checkpoint: String,
    /// The incidents, newest first.
    pub incidents: Vec<ManifestIncident>,
    /// Every other file with its hash (bundles included).
    pub files: Vec<FileEntry>,
    /// The log's signature over this manifest: a signed note by the log key whose text is
    /// [`crate::manifest_statement`] of [`crate::manifest_digest`] (the SHA-256 of this
    /// file as written with `signature` empty).
    pub signature: String,
}

impl Manifest {
    /// The manifest as written: pretty JSON and a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// The facts every rendering shows besides the incidents.
#[derive(Clone, Debug)]
pub struct Meta {
    /// When made.
    pub created_at: String,
    /// The period.
    pub period: Period,
    /// `--zone` names (empty: all).
    pub zones: Vec<String>,
    /// `--unauthorised-only`.
    pub unauthorised_only: bool,
    /// The log.
    pub log: LogInfo,
    /// The checkpoint note.
    pub checkpoint: String,
}

impl Meta {
    /// The facts as a manifest states them.
    pub fn of(m: &Manifest) -> Meta {
        Meta {
            created_at: m.created_at.clone(),
            period: m.period.clone(),
            zones: m.zones.clone(),
            unauthorised_only: m.unauthorised_only,
            log: m.log.clone(),
            checkpoint: m.checkpoint.clone(),
        }
    }
}

/// One point of a track as the bundle's `track.geojson` gives it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackPoint {
    /// Longitude, degrees.
    pub lon: f64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Altitude, metres, when known.
    pub alt_m: Option<f64>,
    /// Time (RFC 3339) when the bundle gives it.
    pub at: Option<String>,
}

/// One incident of the dossier.
#[derive(Clone, Debug)]
pub struct Row {
    /// The incident (the bundle's `incident.json`).
    pub incident: Incident,
    /// The bundle's path.
    pub bundle: String,
    /// The bundle's SHA-256.
    pub sha256: String,
    /// The track thinned to at most [`MAP_POINTS`] points (lon, lat).
    pub map_track: Vec<(f64, f64)>,
}

impl Row {
    /// True for a cooperative target: one that announced itself (a transponder or Remote
    /// ID), not a sensor track of a silent target. The incident says so itself; one
    /// written before it did is cooperative unless its target is a sensor's track.
    pub fn cooperative(&self) -> bool {
        self.incident
            .cooperative
            .unwrap_or_else(|| self.incident.target.id.kind().as_str() != "track")
    }
}

/// What one bundle gives the dossier: the incident and its full track.
pub struct BundleFacts {
    /// `incident.json`.
    pub incident: Incident,
    /// The track of `track.geojson`.
    pub track: Vec<TrackPoint>,
}

/// Reads the incident and track out of a bundle.
pub fn bundle_facts(bundle: &Bundle) -> Result<BundleFacts, String> {
    let incident_bytes = bundle
        .get(files::INCIDENT)
        .ok_or_else(|| format!("no {}", files::INCIDENT))?;
    let incident: Incident =
        serde_json::from_slice(incident_bytes).map_err(|e| format!("{}: {e}", files::INCIDENT))?;
    let track = match bundle.get(files::GEOJSON) {
        Some(bytes) => track_of_geojson(bytes).map_err(|e| format!("{}: {e}", files::GEOJSON))?,
        None => Vec::new(),
    };
    Ok(BundleFacts { incident, track })
}

/// The bundle's zone (`zone.geojson`), `None` when unreadable. Read once per zone name:
/// a country's border is large and every bundle in that zone carries the same one.
pub fn bundle_zone(bundle: &Bundle) -> Option<Zone> {
    bundle
        .get(files::ZONE)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|t| skyfence_bundle::replay::zone_from_geojson(t).ok())
}

/// `track.geojson` with each feature's geometry left unparsed: only the track's is read
/// (the file also holds the zone, which may be a whole country's border).
#[derive(Deserialize)]
struct LazyCollection<'a> {
    #[serde(borrow)]
    features: Vec<LazyFeature<'a>>,
}

#[derive(Deserialize)]
struct LazyFeature<'a> {
    #[serde(default)]
    properties: Option<serde_json::Value>,
    #[serde(borrow)]
    geometry: Option<&'a serde_json::value::RawValue>,
}

fn track_of_geojson(bytes: &[u8]) -> Result<Vec<TrackPoint>, String> {
    let fc: LazyCollection<'_> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let Some(track) = fc.features.iter().find(|f| {
        f.properties
            .as_ref()
            .and_then(|p| p.get("role"))
            .and_then(|r| r.as_str())
            == Some("track")
    }) else {
        return Ok(Vec::new());
    };
    let geometry: serde_json::Value = match track.geometry {
        Some(raw) => serde_json::from_str(raw.get()).map_err(|e| e.to_string())?,
        None => return Err("track without geometry".into()),
    };
    let times = track
        .properties
        .as_ref()
        .and_then(|p| p.get("times"))
        .and_then(|t| t.as_array());
    let coords = geometry["coordinates"]
        .as_array()
        .ok_or("track without coordinates")?;
    let mut out = Vec::with_capacity(coords.len());
    for (i, c) in coords.iter().enumerate() {
        let (Some(lon), Some(lat)) = (
            c.get(0).and_then(|v| v.as_f64()),
            c.get(1).and_then(|v| v.as_f64()),
        ) else {
            return Err(format!("track coordinate {i} is not a position"));
        };
        out.push(TrackPoint {
            lon,
            lat,
            alt_m: c.get(2).and_then(|a| a.as_f64()),
            at: times
                .and_then(|t| t.get(i))
                .and_then(|t| t.as_str())
                .map(str::to_owned),
        });
    }
    Ok(out)
}

/// At most `n` points of `track`, evenly spread, first and last kept.
pub fn thin(track: &[TrackPoint], n: usize) -> Vec<(f64, f64)> {
    if track.len() <= n {
        return track.iter().map(|p| (p.lon, p.lat)).collect();
    }
    let last = track.len() - 1;
    (0..n)
        .map(|k| {
            let p = &track[k * last / (n - 1)];
            (p.lon, p.lat)
        })
        .collect()
}

/// The lowercase name of a classification.
pub fn class_name(c: Classification) -> &'static str {
    match c {
        Classification::Uav => "uav",
        Classification::Aircraft => "aircraft",
        Classification::Unknown => "unknown",
    }
}

/// The counts the report shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Every incident.
    pub total: usize,
    /// By zone.
    pub by_zone: BTreeMap<String, usize>,
    /// By classification: uav, aircraft, unknown.
    pub by_class: [usize; 3],
    /// Authorised, unauthorised.
    pub authorised: [usize; 2],
    /// Cooperative, non-cooperative.
    pub cooperative: [usize; 2],
    /// By UTC day (`YYYY-MM-DD`) of entry.
    pub by_day: BTreeMap<String, usize>,
    /// By UTC hour of day of entry.
    pub by_hour: [usize; 24],
}

impl Counts {
    /// Counts over `rows`.
    pub fn of(rows: &[Row]) -> Counts {
        let mut c = Counts::default();
        for r in rows {
            let i = &r.incident;
            c.total += 1;
            *c.by_zone.entry(i.zone.clone()).or_default() += 1;
            c.by_class[match i.classification {
                Classification::Uav => 0,
                Classification::Aircraft => 1,
                Classification::Unknown => 2,
            }] += 1;
            c.authorised[usize::from(!i.authorised)] += 1;
            c.cooperative[usize::from(!r.cooperative())] += 1;
            let at = i.entered_at.to_rfc3339_millis();
            *c.by_day.entry(at[..10].to_owned()).or_default() += 1;
            if let Ok(h) = at[11..13].parse::<usize>()
                && h < 24
            {
                c.by_hour[h] += 1;
            }
        }
        c
    }
}

/// Sorts rows newest first (entry time, then id, so the order is total).
pub fn sort_newest_first<T>(items: &mut [T], key: impl Fn(&T) -> (i64, String)) {
    items.sort_by(|a, b| {
        let (ta, ia) = key(a);
        let (tb, ib) = key(b);
        tb.cmp(&ta).then(ia.cmp(&ib))
    });
}

/// Everything the HTML and PDF renderings are made from.
pub struct Model<'a> {
    /// The facts.
    pub meta: &'a Meta,
    /// The incidents, newest first.
    pub rows: &'a [Row],
    /// The zones the incidents are in, by name.
    pub zones: &'a BTreeMap<String, Zone>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_store::conformance::fixtures::{open_incident, open_incident_of, track};

    fn row(incident: Incident) -> Row {
        Row {
            incident,
            bundle: String::new(),
            sha256: String::new(),
            map_track: Vec::new(),
        }
    }

    #[test]
    fn the_incident_says_whether_it_was_cooperative() {
        // Older incidents do not say: the target's kind decides.
        let mut icao = open_incident(0x4b1805, "AF", 0);
        let mut radar = open_incident_of(track("kabul-psr", 417), "AF", 0);
        icao.cooperative = None;
        radar.cooperative = None;
        assert!(row(icao.clone()).cooperative());
        assert!(!row(radar.clone()).cooperative());
        // A sensor track of a target that answered (an SSR reply) is cooperative, and an
        // incident that says otherwise is believed.
        radar.cooperative = Some(true);
        icao.cooperative = Some(false);
        assert!(row(radar.clone()).cooperative());
        assert!(!row(icao.clone()).cooperative());
        let c = Counts::of(&[row(radar), row(icao)]);
        assert_eq!(c.cooperative, [1, 1]);
    }
}
