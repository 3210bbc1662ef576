//! Evidence bundles: one zip file that lets a sceptical second party check an
//! incident without trusting us, without a network and without our service.
//!
//! # Format, version 2 (and 1)
//!
//! Every new bundle is version 2, whatever its leaves hold; the verifier reads versions 1
//! and 2. Version 2 differs from version 1 only where a target or a raw record need not
//! be Mode S: raw records may be kind 0x06 leaves (protocol-tagged, leaf version 2) as
//! well as kind 0x03 frames; `frames.csv` has a `protocol` column; `track.geojson` names
//! the target by `kind` and `id` (with `icao24` only for ICAO targets); the report's
//! evidence row counts records per protocol. A version 1 bundle (written before kind 0x06
//! existed) holds kind 0x03 frames only, and its `frames.csv` and renderings are re-created
//! exactly as version 1 wrote them, so bundles exported by earlier releases keep verifying
//! byte for byte.
//!
//! A zip archive (deflate) holding these files; `bundle.json` lists every other file with
//! its SHA-256, so a reader sees at once which file was changed:
//!
//! | file | content |
//! |---|---|
//! | `bundle.json` | the manifest: `format` = `"skyfence-evidence-bundle"`, `version` = 2 (1 for older bundles), the incident id, the export time, the `renderer` of the three renderings, the log (`origin`, the log's key in C2SP `vkey` form, the checkpoint's `size` and `root` in hex) and `files`: `path`, `sha256`, `bytes` of each other file |
//! | `checkpoint.txt` | the signed checkpoint (C2SP tlog-checkpoint in a signed note): the log's Ed25519 signature and any witness cosignatures (`cosignature/v1`) |
//! | `keys/log.vkey` | the log's public key, one `vkey` line (name+keyid+base64) |
//! | `keys/witnesses.vkey` | public keys of the witnesses that cosigned, one per line (may be empty) |
//! | `leaves.txt` | every log entry the bundle relies on: lines `INDEX HEX`, the leaf's exact canonical bytes (`skyfence_evidence::leaf`, versions 1 and 2) in hex, by index; `#` lines are comments |
//! | `proofs.txt` | lines `INDEX HASH...`: each leaf's RFC 9162 §2.1.3 inclusion proof (hex SHA-256 hashes, leaf to root) in the checkpoint's tree |
//! | `incident.json` | the incident (docs/INTERFACES.md, "Incident"), byte for byte the `incident_json` of the incident's latest state-change leaf |
//! | `zone.geojson` | the zone as a GeoJSON FeatureCollection of that one zone (with its `source` and `version`), byte for byte the content of its dataset leaf; the leaf's provenance hash is the SHA-256 of its canonical geometry (`skyfence_core::airspace::zone::geometry_sha256`) |
//! | `config.toml` | the configuration in force (its `[detection]` and `[[allow]]` drive the re-detection), byte for byte the config leaf |
//! | `frames.csv` | the raw records, human-readable, by receive time: `index,received_at,sensor,protocol,signal,mlat,hex` (version 1: no `protocol`); `protocol` is `modes`, `asterix`, `remoteid` or the leaf's code in hex; `signal` is the receiver's level (0-255), a dBm figure as `-67dBm`, or empty |
//! | `report.html` | a self-contained report (inline SVG map and altitude profile, timeline, identity, every figure) |
//! | `track.kml` | the track for Google Earth (KML 2.2): a LineString with altitudes, entry and exit Placemarks |
//! | `track.geojson` | a FeatureCollection: the track, entry and exit points, the zone |
//!
//! The leaves are the evidence; everything else is either exactly what a leaf says
//! (checked byte for byte), or a rendering that `skyfence verify` re-creates from the
//! verified leaves and compares (`report.html`, `track.kml`, `track.geojson`), when the
//! bundle names the verifier's own renderer.
//!
//! Re-decoding covers Mode S (kind 0x03 frames and kind 0x06 records of protocol 0x01)
//! and ASTERIX (kind 0x06 records of protocol 0x02, matched to the config leaf's
//! `[[sensor]]`s by SAC/SIC). For records of other protocols the verifier says, in a WARN
//! line, that it cannot re-decode that protocol yet; when the incident rests on them (the
//! re-decoded records alone do not give it, as for every Remote ID target), the
//! detection check is a WARN, never a PASS.
//!
//! Format 4 (every new bundle) may also carry the declared sensors' changes of state
//! (kind 0x09) over the incident; the report states each sensor's state over the
//! incursion and names a coverage gap plainly, and `verify` prints a `sensors` line.
//!
//! The modules: [`archive`] (zip and manifest), [`build`] (evidence to files),
//! [`replay`] (re-decoding and re-detection), [`render`] (report, KML, GeoJSON),
//! [`verify`] (the checks).

pub mod archive;
pub mod build;
pub mod render;
pub mod replay;
pub mod run;
pub mod verify;
mod zipcheck;

/// The manifest's `format` value.
pub const FORMAT: &str = "skyfence-evidence-bundle";
/// The bundle format version this code writes; it reads every version from 1 to this.
///
/// - 2: kind 0x06 raw-record leaves of any protocol; `protocol` in `frames.csv`.
/// - 3: may also carry multilateration check records (protocol `mlat`, first byte 0x02)
///   and the log's key rotation leaves (kind 0x08). A verifier that reads only up to 2
///   would take a check for a fix and fail; it refuses version 3 instead, naming it.
/// - 4: may also carry the declared sensors' changes of state (kind 0x09) over the
///   incident, which the report states (a sensor down during the incursion is a coverage
///   gap). A verifier of version 3 would render the report without them and fail it; it
///   refuses version 4 instead, naming it.
pub const VERSION: u32 = 4;

/// File names inside a bundle.
pub mod files {
    /// The manifest.
    pub const MANIFEST: &str = "bundle.json";
    /// The signed checkpoint.
    pub const CHECKPOINT: &str = "checkpoint.txt";
    /// The log's verifier key.
    pub const LOG_KEY: &str = "keys/log.vkey";
    /// Witness verifier keys.
    pub const WITNESS_KEYS: &str = "keys/witnesses.vkey";
    /// Canonical leaf bytes.
    pub const LEAVES: &str = "leaves.txt";
    /// Inclusion proofs.
    pub const PROOFS: &str = "proofs.txt";
    /// The incident JSON.
    pub const INCIDENT: &str = "incident.json";
    /// The zone Feature.
    pub const ZONE: &str = "zone.geojson";
    /// The configuration text.
    pub const CONFIG: &str = "config.toml";
    /// Human-readable frames.
    pub const FRAMES: &str = "frames.csv";
    /// The report.
    pub const REPORT: &str = "report.html";
    /// The KML track.
    pub const KML: &str = "track.kml";
    /// The GeoJSON track.
    pub const GEOJSON: &str = "track.geojson";
}
