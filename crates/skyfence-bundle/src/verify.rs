//! `skyfence verify`'s checks: each one named, each one passes or fails on its own, so a
//! changed byte is reported by the check that covers it (and a careful forger who also
//! fixed the manifest is still caught by the signature, proof or replay check beneath).
//!
//! The order follows the chain of trust: the manifest (integrity of the container), the
//! log key (pinned or only self-asserted), the checkpoint signature and cosignatures, the
//! leaves and their inclusion proofs (the evidence itself), then that the readable files
//! say exactly what the leaves say, then the re-decoding and re-detection, then the
//! renderings.

use std::collections::{BTreeMap, BTreeSet};

use skyfence_core::detect::{Incident, IncidentId};
use skyfence_core::{GeoPoint, Timestamp};
use skyfence_evidence::{
    Checkpoint, DatasetContent, EvidenceLeaf, Note, VerifierKey, leaf_hash, open_checkpoint,
    to_hex, verify_inclusion,
};

use super::archive::{Bundle, Manifest, read_leaves, read_proofs, sha256_hex};
use super::build::{Contents, RenderSource, frames_csv, render_files};
use super::{FORMAT, VERSION, files};
use super::{render, replay};

/// Entry and exit times must agree within this: `incident.json` prints milliseconds, so a
/// replayed time with microseconds differs from the printed one by less than 1 ms.
pub const TIME_TOLERANCE_US: i64 = 1_000;
/// Entry and exit points, and the maximum depth, must agree within this many metres. The
/// replay is exact (the same frames through the same code); the JSON rounds coordinates
/// to 1e-6° (0.11 m) and depth to 0.1 m, which this bound absorbs.
pub const DISTANCE_TOLERANCE_M: f64 = 1.0;

/// How a check ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It holds.
    Pass,
    /// It does not: the bundle is not verified.
    Fail,
    /// It holds, with a caveat the reader must know (an unpinned key).
    Warn,
}

/// One named check and what it found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// Short name (`manifest`, `inclusion proofs`, `detection`, ...).
    pub name: &'static str,
    /// The outcome.
    pub outcome: Outcome,
    /// What was checked and what was found.
    pub detail: String,
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.outcome {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::Warn => "WARN",
        };
        write!(f, "{tag} {}: {}", self.name, self.detail)
    }
}

/// All checks of one bundle.
#[derive(Clone, Debug, Default)]
pub struct Verification {
    /// In the order run.
    pub checks: Vec<Check>,
}

impl Verification {
    fn push(&mut self, name: &'static str, result: Result<String, String>) {
        let (outcome, detail) = match result {
            Ok(d) => (Outcome::Pass, d),
            Err(d) => (Outcome::Fail, d),
        };
        self.checks.push(Check {
            name,
            outcome,
            detail,
        });
    }

    fn warn(&mut self, name: &'static str, detail: String) {
        self.checks.push(Check {
            name,
            outcome: Outcome::Warn,
            detail,
        });
    }

    /// True when no check failed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.outcome != Outcome::Fail)
    }

    /// The names of the failed checks.
    pub fn failed(&self) -> Vec<&'static str> {
        self.checks
            .iter()
            .filter(|c| c.outcome == Outcome::Fail)
            .map(|c| c.name)
            .collect()
    }
}

/// Why a bundle cannot be verified at all (not a bundle of this format): exit status 2.
#[derive(Debug, thiserror::Error)]
pub enum Unreadable {
    /// No manifest.
    #[error(
        "no {} in the archive: not a skyfence evidence bundle",
        files::MANIFEST
    )]
    NoManifest,
    /// The manifest is not the expected JSON.
    #[error("bundle.json: {0}")]
    Manifest(String),
}

/// Runs every check on `bundle`. `pins` are the keys the user trusts (`--key`): the log's
/// key must be one of them when any are given; pinned cosignature keys are witnesses.
pub fn verify(bundle: &Bundle, pins: &[VerifierKey]) -> Result<Verification, Unreadable> {
    let manifest_bytes = bundle.get(files::MANIFEST).ok_or(Unreadable::NoManifest)?;
    let manifest: Manifest =
        serde_json::from_slice(manifest_bytes).map_err(|e| Unreadable::Manifest(e.to_string()))?;
    if manifest.format != FORMAT || !(1..=VERSION).contains(&manifest.version) {
        return Err(Unreadable::Manifest(format!(
            "format {:?} version {}: expected {FORMAT:?} version 1 to {VERSION}",
            manifest.format, manifest.version
        )));
    }
    let version = manifest.version;
    let mut v = Verification::default();
    v.push("manifest", check_manifest(bundle, &manifest));

    // The log key: the bundle's own, accepted only if pinned when pins are given.
    let text = |name: &str| -> Result<String, String> {
        let bytes = bundle
            .get(name)
            .ok_or_else(|| format!("{name} is missing"))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{name} is not UTF-8"))
    };
    let log_key = text(files::LOG_KEY).and_then(|t| {
        VerifierKey::parse(t.trim_end()).map_err(|e| format!("{}: {e}", files::LOG_KEY))
    });
    let mut rotated_to: Option<VerifierKey> = None;
    let log_key = match log_key {
        Ok(k) if k.to_string() != manifest.log.key => {
            v.push(
                "log key",
                Err(format!(
                    "{} holds {k}, the manifest states {}",
                    files::LOG_KEY,
                    manifest.log.key
                )),
            );
            None
        }
        Ok(k) => {
            if pins.is_empty() {
                v.warn(
                    "log key",
                    format!(
                        "{k} is only self-asserted: the bundle names its own key and no --key was given; \
                         anyone can make a bundle that verifies with a key of their own. \
                         Obtain the log key from its operator and pass it with --key"
                    ),
                );
            } else if pins.contains(&k) {
                v.push(
                    "log key",
                    Ok(format!("{k} is one of the --key keys (pinned)")),
                );
            } else {
                // Perhaps a key the pinned one rotated to: decided once the bundle's
                // rotation leaves are proven included (below).
                rotated_to = Some(k.clone());
            }
            Some(k)
        }
        Err(e) => {
            v.push("log key", Err(e));
            None
        }
    };

    // The checkpoint: signed by the log key, stating what the manifest says.
    let note_text = text(files::CHECKPOINT).unwrap_or_default();
    let checkpoint = match &log_key {
        Some(k) => match open_checkpoint(note_text.as_bytes(), k, &[]) {
            Ok(c) => {
                let cp = &c.checkpoint;
                let root = to_hex(&cp.root);
                if cp.origin != manifest.log.origin
                    || cp.size != manifest.log.checkpoint_size
                    || root != manifest.log.checkpoint_root
                {
                    v.push(
                        "checkpoint signature",
                        Err(format!(
                            "signed checkpoint is {} size {} root {root}, the manifest states {} size {} root {}",
                            cp.origin,
                            cp.size,
                            manifest.log.origin,
                            manifest.log.checkpoint_size,
                            manifest.log.checkpoint_root
                        )),
                    );
                } else {
                    v.push(
                        "checkpoint signature",
                        Ok(format!(
                            "Ed25519 signature of {} verifies: origin {}, {} leaves, root {root}",
                            k.name(),
                            cp.origin,
                            cp.size
                        )),
                    );
                }
                Some(c.checkpoint)
            }
            Err(e) => {
                v.push(
                    "checkpoint signature",
                    Err(format!("{}: {e}", files::CHECKPOINT)),
                );
                None
            }
        },
        None => {
            v.push("checkpoint signature", Err("no usable log key".into()));
            None
        }
    };
    if checkpoint.is_some()
        && let Some(k) = &log_key
    {
        v.checks
            .push(check_cosignatures(bundle, &note_text, k, pins));
    }

    // The leaves and their proofs.
    let leaves = text(files::LEAVES)
        .map_err(|e| e.to_string())
        .and_then(|t| read_leaves(t.as_bytes()).map_err(|e| e.to_string()));
    let mut decoded: Vec<(u64, EvidenceLeaf)> = Vec::new();
    match &leaves {
        Ok(lines) => {
            let mut bad = Vec::new();
            let mut seen = BTreeSet::new();
            for l in lines {
                if !seen.insert(l.index) {
                    bad.push(format!("leaf {} appears twice", l.index));
                }
                match EvidenceLeaf::decode(&l.bytes) {
                    // Format 1 predates kind 0x06: its frames.csv cannot show a protocol.
                    Ok(leaf) if version == 1 && leaf.kind_code() == 0x06 => bad.push(format!(
                        "leaf {} is a kind 0x06 raw record: bundle format 1 carries raw frames as kind 0x03 leaves only, expected format 2",
                        l.index
                    )),
                    Ok(leaf) => decoded.push((l.index, leaf)),
                    Err(e) => bad.push(format!("leaf {}: {e}", l.index)),
                }
            }
            let kinds = count_kinds(&decoded);
            v.push(
                "leaves",
                if bad.is_empty() {
                    Ok(format!(
                        "{} leaves decode canonically ({kinds})",
                        lines.len()
                    ))
                } else {
                    Err(bad.join("; "))
                },
            );
        }
        Err(e) => v.push("leaves", Err(e.clone())),
    }
    let by_index: BTreeMap<u64, &EvidenceLeaf> = decoded.iter().map(|(i, l)| (*i, l)).collect();
    let proofs = match (&checkpoint, &leaves) {
        (Some(cp), Ok(lines)) => check_proofs(bundle, cp, lines, &by_index),
        _ => Err("not checked: no verified checkpoint or no readable leaves".into()),
    };
    let proven = proofs.is_ok();
    v.push("inclusion proofs", proofs);
    if let Some(k) = rotated_to {
        v.push("log key", follow_rotations(&decoded, pins, &k, proven));
    }

    // What the readable files say against what the leaves say.
    let id: Option<IncidentId> = manifest.incident.parse().ok();
    let contents = id.map(|id| Contents::sort(id, &decoded));
    let incident = match (&contents, id) {
        (Some(c), Some(id)) => check_incident(bundle, c, id),
        _ => Err(format!(
            "manifest incident {:?} is not an incident id",
            manifest.incident
        )),
    };
    let incident = match incident {
        Ok((i, detail)) => {
            v.push("incident", Ok(detail));
            Some(i)
        }
        Err(e) => {
            v.push("incident", Err(e));
            None
        }
    };
    let Some(contents) = contents else {
        return Ok(v);
    };
    let zone_name = incident
        .as_ref()
        .map(|i| i.zone.clone())
        .unwrap_or_default();
    let zone = check_zone(bundle, &contents, &zone_name);
    let zone = match zone {
        Ok((z, detail)) => {
            v.push("zone", Ok(detail));
            Some(z)
        }
        Err(e) => {
            v.push("zone", Err(e));
            None
        }
    };
    let at = incident.as_ref().map_or(Timestamp::EPOCH, |i| i.entered_at);
    let settings = match contents.config_at(at) {
        Some(c) => {
            let file = bundle.get(files::CONFIG);
            if file != Some(c.text.as_slice()) {
                Err(format!(
                    "{} is not the text of config leaf {} ({})",
                    files::CONFIG,
                    c.index,
                    describe_difference(file, &c.text)
                ))
            } else {
                std::str::from_utf8(&c.text)
                    .map_err(|_| format!("config leaf {} is not UTF-8", c.index))
                    .and_then(|t| {
                        let (d, p) = replay::settings_from_config(t).map_err(|e| e.to_string())?;
                        let decoding =
                            replay::decoding_from_config(t).map_err(|e| e.to_string())?;
                        Ok((d, p, decoding))
                    })
                    .map(|(d, p, decoding)| {
                        let detail = format!(
                            "{} is config leaf {} ({}, from {}): confirm_s {}, track_timeout_s {}, max_speed_mps {}, {} permit(s)",
                            files::CONFIG,
                            c.index,
                            c.at.to_rfc3339_millis(),
                            c.source,
                            d.confirm_s,
                            d.track_timeout_s,
                            d.max_speed_mps,
                            p.len()
                        ) + &if decoding.decoder.commb_trust_replies > 0 {
                            format!(
                                ", Comm-B trust after {} replies",
                                decoding.decoder.commb_trust_replies
                            )
                        } else {
                            String::new()
                        };
                        (d, p, decoding, detail)
                    })
            }
        }
        None => Err("the bundle has no config leaf".into()),
    };
    let settings = match settings {
        Ok((d, p, decoding, detail)) => {
            v.push("config", Ok(detail));
            Some((d, p, decoding))
        }
        Err(e) => {
            v.push("config", Err(e));
            None
        }
    };
    let csv = frames_csv(&contents.records, version);
    let file = bundle.get(files::FRAMES);
    let what = if version == 1 {
        "raw frame leaves"
    } else {
        "raw record leaves"
    };
    v.push(
        "frames",
        if file == Some(csv.as_slice()) {
            Ok(format!(
                "{} lists exactly the {} {what}",
                files::FRAMES,
                contents.records.len()
            ))
        } else {
            Err(format!(
                "{} differs from the {what} ({})",
                files::FRAMES,
                describe_difference(file, &csv)
            ))
        },
    );

    // Re-decoding and re-detection.
    let (Some(incident), Some(zone), Some((detection, permits, decoding))) =
        (incident, zone, settings)
    else {
        v.push(
            "decode",
            Err("not run: needs a verified incident, zone and config".into()),
        );
        v.push(
            "detection",
            Err("not run: needs a verified incident, zone and config".into()),
        );
        return Ok(v);
    };
    let until = contents
        .latest_state()
        .map_or(incident.last_seen_at, |s| s.at);
    let replayed = replay::replay(
        &contents.records,
        incident.target.id,
        zone.clone(),
        detection,
        permits,
        &decoding,
        until,
    );
    v.checks.push(decode_check(&replayed, &incident));
    if let Some(c) = mlat_check(&replayed) {
        v.checks.push(c);
    }
    v.checks.push(detection_check(&replayed, &incident));
    if let Some(c) = sensors_check(
        &contents,
        &incident,
        render::incursion_end_of(&incident, &replayed.track),
    ) {
        v.checks.push(c);
    }
    if let Some(c) = verdict_check(&replayed, &incident, until) {
        v.checks.push(c);
    }

    // The renderings, drawn again from the verified content by the same renderer.
    if manifest.renderer != render::RENDERER {
        v.warn(
            "renderings",
            format!(
                "{}, {} and {} were drawn by renderer {:?}, this verifier draws {:?}: not compared, \
                 so they are not verified; the figures verified above come from {}",
                files::REPORT,
                files::KML,
                files::GEOJSON,
                manifest.renderer,
                render::RENDERER,
                files::INCIDENT
            ),
        );
        return Ok(v);
    }
    let rendered = render_files(&RenderSource {
        incident: &incident,
        contents: &contents,
        zone: &zone,
        track: &replayed.track,
        log: &manifest.log,
        checkpoint_note: &note_text,
        exported_at: &manifest.exported_at,
        version,
    });
    let differing: Vec<&str> = rendered
        .iter()
        .filter(|(name, bytes)| bundle.get(name) != Some(bytes.as_slice()))
        .map(|(name, _)| *name)
        .collect();
    v.push(
        "renderings",
        if differing.is_empty() {
            Ok(format!(
                "{}, {} and {} are exactly what the verified evidence renders ({})",
                files::REPORT,
                files::KML,
                files::GEOJSON,
                render::RENDERER
            ))
        } else {
            Err(format!(
                "{} differ(s) from what the verified evidence renders ({})",
                differing.join(", "),
                render::RENDERER
            ))
        },
    );
    Ok(v)
}

/// The `log key` check of a bundle signed by a key that is not pinned: it passes when
/// the bundle's key rotation leaves (kind 0x08, included in the signed tree: `proven`)
/// lead from a pinned key to it, each statement signed by both the key it retires and
/// the key it installs, in log order. A statement that does not verify is named.
fn follow_rotations(
    decoded: &[(u64, EvidenceLeaf)],
    pins: &[VerifierKey],
    key: &VerifierKey,
    proven: bool,
) -> Result<String, String> {
    let not_pinned = format!("{key} is not among the {} --key key(s) given", pins.len());
    let mut rotations = Vec::new();
    for (index, leaf) in decoded {
        if let EvidenceLeaf::KeyRotated { note, .. } = leaf {
            match skyfence_evidence::open_rotation(note) {
                Ok(r) => rotations.push((*index, r)),
                Err(e) => return Err(format!("{not_pinned}, and leaf {index}: key rotation: {e}")),
            }
        }
    }
    if rotations.is_empty() {
        return Err(not_pinned);
    }
    if !proven {
        return Err(format!(
            "{not_pinned}; the bundle's {} key rotation leaf(s) are not proven to be in the log",
            rotations.len()
        ));
    }
    rotations.sort_by_key(|(i, _)| *i);
    for start in pins {
        let mut current = start;
        let mut path = Vec::new();
        for (index, r) in &rotations {
            if r.old == *current {
                current = &r.new;
                path.push(format!("leaf {index}"));
            }
        }
        if current == key && !path.is_empty() {
            return Ok(format!(
                "{key} is the pinned key {start} rotated by {} (each statement signed by the retiring and the new key, included in the signed log)",
                path.join(", ")
            ));
        }
    }
    Err(format!(
        "{not_pinned}, and the bundle's {} key rotation(s) lead from none of them to it",
        rotations.len()
    ))
}

fn check_manifest(bundle: &Bundle, manifest: &Manifest) -> Result<String, String> {
    let mut problems = Vec::new();
    let listed: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    for f in &manifest.files {
        match bundle.get(&f.path) {
            None => problems.push(format!("{} is listed but missing", f.path)),
            Some(bytes) => {
                let got = sha256_hex(bytes);
                if got != f.sha256 || bytes.len() as u64 != f.bytes {
                    problems.push(format!(
                        "{} has SHA-256 {got} ({} bytes), the manifest lists {} ({} bytes)",
                        f.path,
                        bytes.len(),
                        f.sha256,
                        f.bytes
                    ));
                }
            }
        }
    }
    for name in bundle.files.keys() {
        if name != files::MANIFEST && !listed.contains(name.as_str()) {
            problems.push(format!("{name} is not listed in the manifest"));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "{} files match their SHA-256 in {} (format {FORMAT} version {}, incident {})",
            manifest.files.len(),
            files::MANIFEST,
            manifest.version,
            manifest.incident
        ))
    } else {
        Err(problems.join("; "))
    }
}

fn check_cosignatures(
    bundle: &Bundle,
    note_text: &str,
    log_key: &VerifierKey,
    pins: &[VerifierKey],
) -> Check {
    let name = "cosignatures";
    let Ok(note) = Note::parse(note_text.as_bytes()) else {
        return Check {
            name,
            outcome: Outcome::Fail,
            detail: "checkpoint note does not parse".into(),
        };
    };
    let bundled: Vec<VerifierKey> = bundle
        .get(files::WITNESS_KEYS)
        .and_then(|b| std::str::from_utf8(b).ok())
        .map(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty())
                .filter_map(|l| VerifierKey::parse(l.trim()).ok())
                .collect()
        })
        .unwrap_or_default();
    let witness_pins: Vec<&VerifierKey> = pins
        .iter()
        .filter(|k| k.sig_type() == skyfence_evidence::note::SIG_TYPE_COSIGNATURE_V1)
        .collect();
    let mut found = Vec::new();
    let mut failed = Vec::new();
    let mut self_asserted = 0;
    for sig in note
        .signatures
        .iter()
        .filter(|s| !(s.name == log_key.name() && s.key_id == log_key.key_id()))
    {
        let pinned = witness_pins
            .iter()
            .find(|k| k.name() == sig.name && k.key_id() == sig.key_id);
        let key = pinned.copied().or_else(|| {
            bundled
                .iter()
                .find(|k| k.name() == sig.name && k.key_id() == sig.key_id)
        });
        let Some(key) = key else {
            found.push(format!(
                "{} ({:08x}): unknown key, not checked",
                sig.name, sig.key_id
            ));
            continue;
        };
        let single = Note {
            text: note.text.clone(),
            signatures: vec![sig.clone()],
        };
        match single.verify(std::slice::from_ref(key)) {
            Ok(ok) if !ok.is_empty() => {
                let when = ok[0]
                    .timestamp
                    .and_then(|t| i64::try_from(t).ok())
                    .map(|t| Timestamp::from_secs(t).to_rfc3339_millis())
                    .unwrap_or_default();
                if pinned.is_some() {
                    found.push(format!(
                        "{} verifies (pinned witness, cosigned {when})",
                        sig.name
                    ));
                } else {
                    self_asserted += 1;
                    found.push(format!(
                        "{} verifies with the key the bundle carries (not pinned, cosigned {when})",
                        sig.name
                    ));
                }
            }
            Ok(_) => found.push(format!("{}: not checked", sig.name)),
            Err(e) => failed.push(format!("{}: {e}", sig.name)),
        }
    }
    for k in &witness_pins {
        if !note
            .signatures
            .iter()
            .any(|s| s.name == k.name() && s.key_id == k.key_id())
        {
            found.push(format!("pinned witness {} did not cosign", k.name()));
        }
    }
    if !failed.is_empty() {
        return Check {
            name,
            outcome: Outcome::Fail,
            detail: failed.join("; "),
        };
    }
    let detail = if found.is_empty() {
        "none on the checkpoint".to_string()
    } else {
        found.join("; ")
    };
    Check {
        name,
        outcome: if self_asserted > 0 {
            Outcome::Warn
        } else {
            Outcome::Pass
        },
        detail,
    }
}

fn count_kinds(leaves: &[(u64, EvidenceLeaf)]) -> String {
    // By kind code (0x01 to 0x09); no other code decodes.
    let mut counts = [0usize; 10];
    for (_, l) in leaves {
        counts[usize::from(l.kind_code()).min(9)] += 1;
    }
    let mut text = format!(
        "{} raw frames, {} incident state changes, {} acknowledgements, {} datasets, {} configs",
        counts[3] + counts[6],
        counts[4],
        counts[5],
        counts[1],
        counts[2]
    );
    if counts[8] > 0 {
        text += &format!(", {} key rotations", counts[8]);
    }
    if counts[9] > 0 {
        text += &format!(", {} sensor state changes", counts[9]);
    }
    text
}

/// The `sensors` check: what the bundle's sensor state leaves (proven by the inclusion
/// check) say about each declared sensor over the incursion; `None` when it holds none.
fn sensors_check(contents: &Contents, incident: &Incident, end: Timestamp) -> Option<Check> {
    if contents.sensors.is_empty() {
        return None;
    }
    let coverage = render::sensor_coverage(&contents.sensors, incident.entered_at, end);
    let gaps = coverage.iter().filter(|c| !c.down.is_empty()).count();
    let detail = format!(
        "{} sensor state leaves (kind 0x09); {}{}",
        contents.sensors.len(),
        coverage
            .iter()
            .map(|c| format!(
                "{} ({}): {}",
                c.sensor,
                c.sensor_type,
                c.statement(incident.entered_at, end)
            ))
            .collect::<Vec<_>>()
            .join("; "),
        if gaps > 0 {
            format!(
                " -- {gaps} sensor(s) did not cover the whole incursion: the evidence of that time is what the other sensors saw"
            )
        } else {
            String::new()
        }
    );
    Some(Check {
        name: "sensors",
        outcome: Outcome::Pass,
        detail,
    })
}

fn describe_leaf(leaf: Option<&&EvidenceLeaf>) -> String {
    match leaf {
        Some(EvidenceLeaf::RawFrame {
            sensor,
            received_at_us,
            ..
        }) => format!(
            "raw frame from {sensor} at {}",
            Timestamp::from_micros(*received_at_us).to_rfc3339_micros()
        ),
        Some(EvidenceLeaf::RawRecord {
            sensor,
            received_at_us,
            protocol,
            ..
        }) => format!(
            "raw record ({}) from {sensor} at {}",
            skyfence_core::Protocol::from_code(*protocol).map_or_else(
                || format!("protocol {protocol:#04x}"),
                |p| p.as_str().to_owned()
            ),
            Timestamp::from_micros(*received_at_us).to_rfc3339_micros()
        ),
        Some(EvidenceLeaf::IncidentStateChanged { event, .. }) => {
            format!("incident state change {event:?}")
        }
        Some(EvidenceLeaf::OperatorAck { operator, .. }) => {
            format!("acknowledgement by {operator}")
        }
        Some(EvidenceLeaf::DatasetLoaded { name, .. }) => format!("dataset {name:?}"),
        Some(EvidenceLeaf::ConfigChanged { source, .. }) => format!("config from {source}"),
        Some(EvidenceLeaf::SensorState {
            at_us, sensor, up, ..
        }) => format!(
            "sensor {sensor} {} at {}",
            if *up { "up" } else { "down" },
            Timestamp::from_micros(*at_us).to_rfc3339_micros()
        ),
        Some(EvidenceLeaf::KeyRotated { at_us, .. }) => format!(
            "log key rotation at {}",
            Timestamp::from_micros(*at_us).to_rfc3339_micros()
        ),
        None => "undecodable leaf".into(),
    }
}

fn check_proofs(
    bundle: &Bundle,
    cp: &Checkpoint,
    lines: &[super::archive::LeafLine],
    by_index: &BTreeMap<u64, &EvidenceLeaf>,
) -> Result<String, String> {
    let proofs = bundle
        .get(files::PROOFS)
        .ok_or_else(|| format!("{} is missing", files::PROOFS))
        .and_then(|b| read_proofs(b).map_err(|e| e.to_string()))?;
    let mut bad = Vec::new();
    for l in lines {
        let what = describe_leaf(by_index.get(&l.index));
        match proofs.get(&l.index) {
            None => bad.push(format!("leaf {} ({what}) has no proof", l.index)),
            Some(path) => {
                if let Err(e) =
                    verify_inclusion(&leaf_hash(&l.bytes), l.index, cp.size, path, &cp.root)
                {
                    bad.push(format!(
                        "leaf {} ({what}) is not in the signed log: {e}",
                        l.index
                    ));
                }
            }
        }
    }
    let leaf_set: BTreeSet<u64> = lines.iter().map(|l| l.index).collect();
    for index in proofs.keys() {
        if !leaf_set.contains(index) {
            bad.push(format!(
                "proof for leaf {index}, which the bundle does not hold"
            ));
        }
    }
    if bad.is_empty() {
        Ok(format!(
            "all {} leaves are in the checkpoint's tree of {} leaves (RFC 9162 2.1.3.2)",
            lines.len(),
            cp.size
        ))
    } else {
        let n = bad.len();
        bad.truncate(5);
        Err(format!("{n} failure(s): {}", bad.join("; ")))
    }
}

fn check_incident(
    bundle: &Bundle,
    contents: &Contents,
    id: IncidentId,
) -> Result<(Incident, String), String> {
    let state = contents
        .latest_state()
        .ok_or_else(|| format!("no state-change leaf of incident {id}"))?;
    let file = bundle.get(files::INCIDENT);
    if file != Some(state.json.as_bytes()) {
        return Err(format!(
            "{} is not the incident JSON of leaf {} ({})",
            files::INCIDENT,
            state.index,
            describe_difference(file, state.json.as_bytes())
        ));
    }
    let incident: Incident = serde_json::from_str(&state.json)
        .map_err(|e| format!("incident JSON of leaf {}: {e}", state.index))?;
    if incident.id != id {
        return Err(format!(
            "{} holds incident {}, the manifest names {id}",
            files::INCIDENT,
            incident.id
        ));
    }
    let derived = IncidentId::derive(incident.target.id, &incident.zone, incident.entered_at);
    if derived != incident.id {
        return Err(format!(
            "incident id {} is not the id of its target, zone and entry time ({derived})",
            incident.id
        ));
    }
    Ok((
        incident,
        format!(
            "{} is byte for byte the JSON of leaf {} ({:?} at {}); id {id} derives from its target, zone and entry time",
            files::INCIDENT,
            state.index,
            state.event,
            state.at.to_rfc3339_millis()
        ),
    ))
}

fn check_zone(
    bundle: &Bundle,
    contents: &Contents,
    name: &str,
) -> Result<(skyfence_core::airspace::Zone, String), String> {
    let (leaf, _) = contents
        .zone_for(name)
        .ok_or_else(|| format!("no dataset leaf of zone {name:?}"))?;
    let file = bundle
        .get(files::ZONE)
        .ok_or_else(|| format!("{} is missing", files::ZONE))?;
    match &leaf.content {
        DatasetContent::Bytes(b) if b.as_slice() == file => {}
        DatasetContent::Sha256(h) if sha256_hex(file) == to_hex(h) => {}
        DatasetContent::Bytes(b) => {
            return Err(format!(
                "{} is not the zone of dataset leaf {} ({})",
                files::ZONE,
                leaf.index,
                describe_difference(Some(file), b)
            ));
        }
        DatasetContent::Sha256(h) => {
            return Err(format!(
                "{} has SHA-256 {}, dataset leaf {} records {}",
                files::ZONE,
                sha256_hex(file),
                leaf.index,
                to_hex(h)
            ));
        }
    }
    let zone = std::str::from_utf8(file)
        .map_err(|_| format!("{} is not UTF-8", files::ZONE))
        .and_then(|t| replay::zone_from_geojson(t).map_err(|e| e.to_string()))?;
    if zone.name != name {
        return Err(format!(
            "{} is zone {:?}, the incident's zone is {name:?}",
            files::ZONE,
            zone.name
        ));
    }
    // The service records the zone's geometry fingerprint as the leaf's provenance hash
    // (`Zone::provenance.sha256`, the canonical geometry encoding's SHA-256).
    let geometry = skyfence_core::airspace::zone::geometry_sha256(&zone.shape);
    if geometry != to_hex(&leaf.provenance_sha256) {
        return Err(format!(
            "{} has geometry SHA-256 {geometry}, dataset leaf {} records {}",
            files::ZONE,
            leaf.index,
            to_hex(&leaf.provenance_sha256)
        ));
    }
    let detail = format!(
        "{} is dataset leaf {} ({:?}, loaded {}): zone {name} from {}, {} vertices, geometry SHA-256 {geometry} as recorded",
        files::ZONE,
        leaf.index,
        leaf.name,
        leaf.loaded_at.to_rfc3339_millis(),
        zone.provenance.source,
        zone.vertex_count(),
    );
    Ok((zone, detail))
}

/// Where two texts first differ, for a failure message.
fn describe_difference(file: Option<&[u8]>, expected: &[u8]) -> String {
    let Some(file) = file else {
        return "file missing".into();
    };
    let at = file
        .iter()
        .zip(expected)
        .position(|(a, b)| a != b)
        .unwrap_or(file.len().min(expected.len()));
    let line = 1 + expected[..at].iter().filter(|&&b| b == b'\n').count();
    format!(
        "first difference at byte {at}, line {line}; {} bytes, expected {}",
        file.len(),
        expected.len()
    )
}

/// The records this verifier cannot re-decode: count, protocols, first leaf.
fn unsupported_text(r: &replay::Replay) -> Option<String> {
    let (first, _) = r.unsupported.first()?;
    let protocols: BTreeSet<&str> = r.unsupported.iter().map(|(_, p)| p.as_str()).collect();
    Some(format!(
        "{} record(s) of protocol {} (first: leaf {first})",
        r.unsupported.len(),
        protocols.into_iter().collect::<Vec<_>>().join(", "),
    ))
}

/// The `mlat` check, when the bundle holds multilateration fixes: every fix solved again
/// from its receivers' raw timestamps, positions and clock offsets gives the recorded
/// position and time; the first one that does not is named with why.
fn mlat_check(r: &replay::Replay) -> Option<Check> {
    let name = "mlat";
    if let Some((leaf, why)) = r.mlat_refused.first() {
        return Some(Check {
            name,
            outcome: Outcome::Fail,
            detail: format!(
                "{} of {} multilateration fix(es) not reproduced (first: leaf {leaf}: {why})",
                r.mlat_refused.len(),
                r.mlat_refused.len() + r.mlat_fixes
            ),
        });
    }
    (r.mlat_fixes > 0).then(|| Check {
        name,
        outcome: Outcome::Pass,
        detail: format!(
            "{} multilateration fixes recomputed from the raw timestamps of {} receivers ({}) give the recorded positions",
            r.mlat_fixes,
            r.mlat_receivers.len(),
            r.mlat_receivers.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
    })
}

/// The `verdict` check, when the incident states a `verification` or the bundle holds
/// checks of broadcast positions: every check's residual recomputed from its copies
/// (receivers' positions, raw timestamps, clock offsets) against its claim; their
/// counts run one by one; and the verdict of the last check completed by `until` (the
/// latest logged state change), its receivers and residual, are what the incident
/// states. A `FAIL` names the leaf or the disagreement.
fn verdict_check(r: &replay::Replay, incident: &Incident, until: Timestamp) -> Option<Check> {
    let name = "verdict";
    let fail = |detail: String| {
        Some(Check {
            name,
            outcome: Outcome::Fail,
            detail,
        })
    };
    if let Some((leaf, why)) = r.checks_refused.first() {
        return fail(format!(
            "{} of {} check(s) of broadcast positions not reproduced (first: leaf {leaf}: {why})",
            r.checks_refused.len(),
            r.checks_refused.len() + r.checks.len()
        ));
    }
    let claimed = incident.verification;
    if claimed.is_none() && r.checks.is_empty() {
        return None;
    }
    let mut checks: Vec<&(u64, skyfence_mlat::evidence::CheckEvidence)> = r.checks.iter().collect();
    checks.sort_by_key(|(i, e)| (e.checked, *i));
    for pair in checks.windows(2) {
        let ((ia, a), (ib, b)) = (pair[0], pair[1]);
        if b.checked != a.checked + 1 || b.suspected != a.suspected + u32::from(b.suspect) {
            return fail(format!(
                "the checks' counts do not follow one another: leaf {ia} counts {} of {} contradicted, leaf {ib} {} of {}",
                a.suspected, a.checked, b.suspected, b.checked
            ));
        }
    }
    let latest = checks
        .iter()
        .filter(|(_, e)| e.completed_at <= until)
        .max_by_key(|(_, e)| e.checked);
    let Some(claimed) = claimed else {
        return Some(Check {
            name,
            outcome: Outcome::Pass,
            detail: format!(
                "{} check(s) of broadcast positions recompute from the receivers' raw timestamps; the incident states no verdict",
                checks.len()
            ),
        });
    };
    let stated = format!(
        "{} ({} receivers, residual {:.1} m)",
        claimed.verdict.as_str(),
        claimed.receivers,
        claimed.residual_m
    );
    let Some((leaf, e)) = latest else {
        // No check completed yet: the only true statement is `unverified`, by no
        // receivers (what the live engine states of a broadcaster it has not checked).
        if claimed.verdict == skyfence_core::detect::SpoofVerdict::Unverified
            && claimed.receivers == 0
            && claimed.residual_m == 0.0
        {
            return Some(Check {
                name,
                outcome: Outcome::Pass,
                detail: format!(
                    "no check of a broadcast position was completed by {} ({} in the bundle in all): {stated}, as the incident states",
                    until.to_rfc3339_millis(),
                    checks.len()
                ),
            });
        }
        return fail(format!(
            "the incident states the verdict {stated}, but the bundle holds no check of a broadcast position completed by {}",
            until.to_rfc3339_millis()
        ));
    };
    let got = e.verification();
    if got != claimed {
        return fail(format!(
            "the incident states the verdict {stated}; the checks recomputed give {} ({} receivers, residual {:.1} m: {} of {} claims contradicted, the last check leaf {leaf})",
            got.verdict.as_str(),
            got.receivers,
            got.residual_m,
            e.suspected,
            e.checked
        ));
    }
    let receivers: std::collections::BTreeSet<&str> = checks
        .iter()
        .flat_map(|(_, e)| e.copies.iter().map(|c| c.receiver.as_str()))
        .collect();
    Some(Check {
        name,
        outcome: Outcome::Pass,
        detail: format!(
            "{} check(s) of broadcast positions recomputed from the raw timestamps of {} receivers; {} of {} claims contradicted by the last one completed by {} (leaf {leaf}): {stated}, as the incident states",
            checks.len(),
            receivers.len(),
            e.suspected,
            e.checked,
            until.to_rfc3339_millis()
        ),
    })
}

/// The `decode` check: [`check_decode`] on the Mode S frames; records of other protocols
/// make it a WARN that says so (never a silent skip), and a bundle of such records alone
/// is a WARN rather than "none decodes".
fn decode_check(r: &replay::Replay, incident: &Incident) -> Check {
    let name = "decode";
    let Some(unsupported) = unsupported_text(r) else {
        let (outcome, detail) = match check_decode(r, incident) {
            Ok(d) => (Outcome::Pass, d),
            Err(d) => (Outcome::Fail, d),
        };
        return Check {
            name,
            outcome,
            detail,
        };
    };
    if r.frames == 0 {
        return Check {
            name,
            outcome: Outcome::Warn,
            detail: format!(
                "cannot re-decode {unsupported} yet: this verifier re-decodes Mode S, ASTERIX and Remote ID only, and the bundle holds no record of these"
            ),
        };
    }
    match check_decode(r, incident) {
        Ok(d) => Check {
            name,
            outcome: Outcome::Warn,
            detail: format!(
                "{d}; cannot re-decode {unsupported} yet: this verifier re-decodes Mode S, ASTERIX and Remote ID only"
            ),
        },
        Err(d) => Check {
            name,
            outcome: Outcome::Fail,
            detail: format!("{d}; and cannot re-decode {unsupported} yet"),
        },
    }
}

/// The `detection` check: [`check_detection`] on the replay. When records were not
/// re-decoded and the re-decoded (Mode S, ASTERIX and Remote ID) records alone do not give the incident, the incident rests on
/// those records: a WARN that says re-detection could not be done, never a PASS.
fn detection_check(r: &replay::Replay, incident: &Incident) -> Check {
    let name = "detection";
    let result = check_detection(r, incident);
    let (outcome, detail) = match (result, unsupported_text(r)) {
        (Ok(d), None) => (Outcome::Pass, d),
        (Ok(d), Some(u)) => (
            Outcome::Pass,
            format!(
                "{d} (from the Mode S, ASTERIX and Remote ID records alone; {u} not re-decoded)"
            ),
        ),
        (Err(d), None) => (Outcome::Fail, d),
        (Err(d), Some(u)) => (
            Outcome::Warn,
            format!(
                "not re-done: the incident rests on {u}, which this verifier cannot re-decode yet; the Mode S, ASTERIX and Remote ID records alone give: {d}"
            ),
        ),
    };
    Check {
        name,
        outcome,
        detail,
    }
}

fn check_decode(r: &replay::Replay, incident: &Incident) -> Result<String, String> {
    if !r.other_targets.is_empty() {
        let (i, who) = &r.other_targets[0];
        return Err(format!(
            "{} frame(s) decode to another aircraft than {} (first: leaf {i}, {who})",
            r.other_targets.len(),
            incident.target.id
        ));
    }
    if r.decoded == 0 {
        return Err(format!("none of the {} frames decodes", r.frames));
    }
    let undecodable = if r.undecodable.is_empty() {
        String::new()
    } else {
        format!(
            "; {} frame(s) do not decode on their own (e.g. leaf {}: address/parity frames need the address announced by an earlier frame)",
            r.undecodable.len(),
            r.undecodable[0]
        )
    };
    Ok(format!(
        "{} of {} raw frames decode (skyfence-decode) to {}, {} positions{undecodable}",
        r.decoded,
        r.frames,
        incident.target.id,
        r.track.len()
    ))
}

fn check_detection(r: &replay::Replay, want: &Incident) -> Result<String, String> {
    let candidates = r.incidents();
    let got = candidates
        .iter()
        .find(|i| i.id == want.id)
        .or_else(|| {
            candidates
                .iter()
                .filter(|i| i.zone == want.zone)
                .min_by_key(|i| i.entered_at.micros_since(want.entered_at).unsigned_abs())
        })
        .ok_or_else(|| {
            format!(
                "re-running detection on the {} frames finds no incursion of {} into {}",
                r.frames, want.target.id, want.zone
            )
        })?;
    let mut diffs = Vec::new();
    let time = |a: Timestamp, b: Timestamp| a.micros_since(b).abs() <= TIME_TOLERANCE_US;
    let point = |a: &skyfence_core::detect::Fix, b: &skyfence_core::detect::Fix| {
        GeoPoint::new(a.lat, a.lon).haversine_m(GeoPoint::new(b.lat, b.lon))
    };
    if got.zone != want.zone || got.target.id != want.target.id {
        diffs.push(format!("incursion of {} into {}", got.target.id, got.zone));
    }
    if got.status != want.status {
        diffs.push(format!(
            "status {:?}, incident says {:?}",
            got.status, want.status
        ));
    }
    if !time(got.entered_at, want.entered_at) {
        diffs.push(format!(
            "entered_at {}, incident says {}",
            got.entered_at.to_rfc3339_micros(),
            want.entered_at.to_rfc3339_micros()
        ));
    }
    match (got.exited_at, want.exited_at) {
        (Some(a), Some(b)) if time(a, b) => {}
        (None, None) => {}
        (a, b) => diffs.push(format!(
            "exited_at {}, incident says {}",
            a.map_or("null".into(), |t| t.to_rfc3339_micros()),
            b.map_or("null".into(), |t| t.to_rfc3339_micros())
        )),
    }
    let entry_m = point(&got.entry, &want.entry);
    if entry_m > DISTANCE_TOLERANCE_M || got.entry.alt_ft != want.entry.alt_ft {
        diffs.push(format!(
            "entry point {:?} is {entry_m:.2} m from the incident's {:?}",
            got.entry, want.entry
        ));
    }
    let exit_m = match (&got.exit, &want.exit) {
        (Some(a), Some(b)) => {
            let d = point(a, b);
            if d > DISTANCE_TOLERANCE_M || a.alt_ft != b.alt_ft {
                diffs.push(format!(
                    "exit point {a:?} is {d:.2} m from the incident's {b:?}"
                ));
            }
            d
        }
        (None, None) => 0.0,
        (a, b) => {
            diffs.push(format!("exit point {a:?}, incident says {b:?}"));
            0.0
        }
    };
    let depth = (got.max_depth_m - want.max_depth_m).abs();
    if depth > DISTANCE_TOLERANCE_M {
        diffs.push(format!(
            "max_depth_m {:.1}, incident says {:.1}",
            got.max_depth_m, want.max_depth_m
        ));
    }
    if got.authorised != want.authorised || got.permit != want.permit {
        diffs.push(format!(
            "authorised {} (permit {:?}), incident says {} ({:?})",
            got.authorised, got.permit, want.authorised, want.permit
        ));
    }
    if got.entry_observed != want.entry_observed {
        diffs.push(format!(
            "entry_observed {}, incident says {}",
            got.entry_observed, want.entry_observed
        ));
    }
    // What a Remote ID drone said (its operator, UA type, Self-ID, authentication) comes
    // from the same records: it must be the same.
    // The operator's track is not compared: it may begin before the evidence kept (the
    // pre-entry ring), so re-detection from the evidence cannot re-derive its first
    // points; the latest position, id and time are compared.
    let untracked = |op: &Option<skyfence_core::OperatorFix>| {
        op.clone().map(|mut op| {
            op.track.clear();
            op
        })
    };
    let (got_operator, want_operator) = (untracked(&got.operator), untracked(&want.operator));
    if got_operator != want_operator || got.remoteid != want.remoteid {
        diffs.push(format!(
            "operator {:?} ({:?}), incident says {:?} ({:?})",
            got.operator, got.remoteid, want.operator, want.remoteid
        ));
    }
    if got.reports != want.reports || got.max_alt_ft != want.max_alt_ft {
        diffs.push(format!(
            "{} reports inside (max {:?} ft), incident says {} ({:?} ft)",
            got.reports, got.max_alt_ft, want.reports, want.max_alt_ft
        ));
    }
    if diffs.is_empty() {
        Ok(format!(
            "re-running detection on the frames with the bundle's zone and settings gives the same incident: \
             {} {}, entered {} (Δ {} µs), {}, entry point Δ {entry_m:.2} m, exit point Δ {exit_m:.2} m, \
             max depth {:.1} m (Δ {depth:.1} m), {} reports, authorised {}",
            got.id,
            got.status.as_str(),
            got.entered_at.to_rfc3339_millis(),
            got.entered_at.micros_since(want.entered_at),
            got.exited_at.map_or("not exited".into(), |t| format!(
                "exited {}",
                t.to_rfc3339_millis()
            )),
            got.max_depth_m,
            got.reports,
            got.authorised
        ))
    } else {
        Err(format!(
            "re-running detection gives a different incident {}: {}",
            got.id,
            diffs.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skyfence_core::detect::Event;

    /// docs/INTERFACES.md's example incident ("Incident"), with the id its fields derive.
    fn logged() -> Incident {
        let mut i: Incident = serde_json::from_str(
            r#"{"id":"0000000000000000","zone":"HELD-A","target":{"icao24":"adf7c1","callsign":"FORTE12","category":"B6"},"classification":"uav","authorised":false,"permit":null,"status":"closed","entry_observed":true,"entered_at":"2023-11-14T22:21:03.120Z","exited_at":"2023-11-14T22:26:36.480Z","last_seen_at":"2023-11-14T22:26:36.000Z","entry":{"lat":33.2177,"lon":69.8813,"alt_ft":48000},"exit":{"lat":33.2511,"lon":69.8889,"alt_ft":48000},"duration_s":333.36,"max_depth_m":14856.0,"max_alt_ft":48000,"reports":666}"#,
        )
        .unwrap();
        i.id = IncidentId::derive(i.target.id, &i.zone, i.entered_at);
        i
    }

    fn replayed(i: Incident) -> replay::Replay {
        replay::Replay {
            events: vec![Event::Closed {
                at: i.exited_at.unwrap(),
                incident: i,
            }],
            ..replay::Replay::default()
        }
    }

    #[test]
    fn the_same_incident_passes_with_the_microseconds_json_drops() {
        let want = logged();
        let mut got = want.clone();
        // The replay keeps microseconds the JSON's milliseconds dropped.
        got.entered_at = got.entered_at.add_micros(999);
        got.exited_at = got.exited_at.map(|t| t.add_micros(250));
        let detail = check_detection(&replayed(got), &want).unwrap();
        assert!(detail.contains("(Δ 999 µs)"), "{detail}");
    }

    /// A check of a claim at `claim` by five receivers hearing a transmitter at 34.5 N
    /// 69.3 E, the aircraft's `n`-th, `suspected` of them contradicted so far.
    fn check(claim: (f64, f64), n: u32, suspected: u32) -> skyfence_mlat::evidence::CheckEvidence {
        use skyfence_mlat::evidence::{CheckEvidence, CopyEvidence};
        use skyfence_mlat::geo;
        let sites = [
            (34.52, 69.18),
            (34.85, 69.05),
            (34.30, 69.65),
            (34.10, 68.95),
            (34.75, 69.60),
        ];
        let x = geo::to_ecef(34.5, 69.3, 9000.0);
        let copies = sites
            .iter()
            .enumerate()
            .map(|(i, &(lat, lon))| {
                let t = 1000.0 + (x - geo::to_ecef(lat, lon, 1800.0)).norm() / geo::C_MPS;
                CopyEvidence {
                    receiver: format!("rx{i}"),
                    lat,
                    lon,
                    alt_m: 1800.0,
                    clock: skyfence_decode::sensor::ReceiverClock::Beast,
                    counter: ((t + i as f64) * 12e6).round() as u64,
                    received_at: Timestamp::from_secs(1_700_000_000),
                    offset_s: i as f64,
                    offset_se_s: 10e-9,
                }
            })
            .collect();
        let mut e = CheckEvidence {
            icao: skyfence_core::Icao24::new(0xadf7c1).unwrap(),
            at: Timestamp::from_secs(1_700_000_000 + i64::from(n)),
            completed_at: Timestamp::from_secs(1_700_000_002 + i64::from(n)),
            frame: vec![0x8d, 0xad, 0xf7, 0xc1, 0x58, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            copies,
            lat: claim.0,
            lon: claim.1,
            h_m: 9000.0,
            residual_m: 0.0,
            suspect: false,
            checked: n,
            suspected,
        };
        e.residual_m = CheckEvidence::residual(&e.measurements(), &e.claim(), 4, 1000.0).unwrap();
        e.suspect = e.residual_m > 1000.0;
        e
    }

    #[test]
    fn the_stated_verdict_is_the_recomputed_checks_one() {
        use skyfence_core::detect::SpoofVerdict;
        let liar = (34.0, 69.8);
        let mut r = replayed(logged());
        r.checks = (1..=3)
            .map(|n| (100 + u64::from(n), check(liar, n, n)))
            .collect();
        let until = Timestamp::from_secs(1_800_000_000);
        let mut want = logged();
        let last = &r.checks[2].1;
        want.verification = Some(last.verification());
        assert_eq!(
            want.verification.unwrap().verdict,
            SpoofVerdict::SpoofSuspected
        );
        let c = verdict_check(&r, &want, until).unwrap();
        assert_eq!(c.outcome, Outcome::Pass, "{}", c.detail);
        assert!(
            c.detail.contains("3 of 3 claims contradicted"),
            "{}",
            c.detail
        );

        // A verdict the checks do not give is named.
        let mut lie = want.clone();
        lie.verification.as_mut().unwrap().verdict = SpoofVerdict::Consistent;
        let c = verdict_check(&r, &lie, until).unwrap();
        assert_eq!(c.outcome, Outcome::Fail);
        assert!(
            c.detail.contains("states the verdict consistent")
                && c.detail.contains("give spoof_suspected")
                && c.detail.contains("leaf 103"),
            "{}",
            c.detail
        );
        // So is another residual.
        let mut lie = want.clone();
        lie.verification.as_mut().unwrap().residual_m += 1.0;
        assert_eq!(
            verdict_check(&r, &lie, until).unwrap().outcome,
            Outcome::Fail
        );
        // Only the checks completed by the logged state change count: before the third,
        // two checks leave the aircraft unverified.
        let early = r.checks[1].1.completed_at;
        let c = verdict_check(&r, &want, early).unwrap();
        assert_eq!(c.outcome, Outcome::Fail, "{}", c.detail);
        assert!(c.detail.contains("give unverified"), "{}", c.detail);
        // A check left out of the middle breaks the counts.
        let mut gap = r.clone();
        gap.checks.remove(1);
        let c = verdict_check(&gap, &want, until).unwrap();
        assert!(
            c.outcome == Outcome::Fail && c.detail.contains("do not follow"),
            "{}",
            c.detail
        );
        // A verdict with no check at all.
        let mut none = r.clone();
        none.checks.clear();
        let c = verdict_check(&none, &want, until).unwrap();
        assert!(
            c.outcome == Outcome::Fail && c.detail.contains("holds no check"),
            "{}",
            c.detail
        );
        // A check that does not recompute fails, named.
        let mut refused = r.clone();
        refused
            .checks_refused
            .push((102, "the claim's residual ...".into()));
        let c = verdict_check(&refused, &want, until).unwrap();
        assert!(
            c.outcome == Outcome::Fail && c.detail.contains("leaf 102"),
            "{}",
            c.detail
        );
        // A broadcaster not yet checked when the incident was logged: `unverified` by no
        // receivers is what the live engine states, and all the bundle can show; any
        // other figure with no check behind it fails.
        let mut unchecked = logged();
        unchecked.verification = Some(skyfence_core::detect::IncidentVerification::tdoa(
            0,
            0.0,
            SpoofVerdict::Unverified,
        ));
        let c = verdict_check(&none, &unchecked, until).unwrap();
        assert_eq!(c.outcome, Outcome::Pass, "{}", c.detail);
        assert!(
            c.detail
                .contains("no check of a broadcast position was completed"),
            "{}",
            c.detail
        );
        // Checks completed only after the logged state change do not count either way.
        let c = verdict_check(&r, &unchecked, r.checks[0].1.completed_at.add_micros(-1)).unwrap();
        assert_eq!(c.outcome, Outcome::Pass, "{}", c.detail);
        for lie in [(3, 0.0), (0, 12.5)] {
            let mut lie_unchecked = unchecked.clone();
            let v = lie_unchecked.verification.as_mut().unwrap();
            (v.receivers, v.residual_m) = lie;
            let c = verdict_check(&none, &lie_unchecked, until).unwrap();
            assert_eq!(c.outcome, Outcome::Fail, "{lie:?}: {}", c.detail);
        }
        // No verdict stated and no check: no line.
        assert!(verdict_check(&none, &logged(), until).is_none());
        // An honest aircraft: its claims agree.
        let honest: Vec<_> = (1..=3)
            .map(|n| (200 + u64::from(n), check((34.5, 69.3), n, 0)))
            .collect();
        assert!(honest.iter().all(|(_, e)| !e.suspect));
        let mut h = r.clone();
        h.checks = honest;
        let mut want = logged();
        want.verification = Some(h.checks[2].1.verification());
        assert_eq!(want.verification.unwrap().verdict, SpoofVerdict::Consistent);
        assert_eq!(
            verdict_check(&h, &want, until).unwrap().outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn each_figure_beyond_its_tolerance_is_named() {
        let want = logged();
        type Change = fn(&mut Incident);
        let cases: [(&str, Change); 7] = [
            ("entered_at", |i| {
                i.entered_at = i.entered_at.add_micros(1_001)
            }),
            ("exited_at", |i| {
                i.exited_at = i.exited_at.map(|t| t.add_micros(-1_001))
            }),
            // 1e-5° of latitude is 1.1 m.
            ("entry point", |i| i.entry.lat += 1e-5),
            ("exit point", |i| i.exit.as_mut().unwrap().lon += 2e-5),
            ("max_depth_m", |i| i.max_depth_m += 1.1),
            ("status", |i| {
                i.status = skyfence_core::detect::IncidentStatus::Lost
            }),
            ("reports inside", |i| i.reports += 1),
        ];
        for (name, change) in cases {
            let mut got = want.clone();
            change(&mut got);
            let err = check_detection(&replayed(got), &want).unwrap_err();
            assert!(err.contains(name), "{name}: {err}");
        }
        // Within tolerance: 0.9 m of depth, 0.55 m of position.
        let mut got = want.clone();
        got.max_depth_m += 0.9;
        got.entry.lat += 5e-6;
        assert!(check_detection(&replayed(got), &want).is_ok());
    }

    #[test]
    fn no_incursion_in_the_replay_fails() {
        let err = check_detection(&replay::Replay::default(), &logged()).unwrap_err();
        assert!(
            err.contains("finds no incursion of adf7c1 into HELD-A"),
            "{err}"
        );
    }
}
