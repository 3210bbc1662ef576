//! Gathering what an evidence bundle of one incident carries (`skyfence export`), and
//! signing a checkpoint of the log when none covers it yet. Works on any
//! [`EvidenceLogStore`]; the bundle format itself is skyfence-bundle's (which never sees a
//! store).

use skyfence_core::Timestamp;
use skyfence_core::detect::{Incident, IncidentId};
use skyfence_evidence::{Checkpoint, DatasetKind, EvidenceLeaf, Hash, Note, Signer, VerifierKey};

use crate::{EvidenceLogStore, IndexedLeaf, StoreError};

/// Signs a checkpoint of the whole log when there is none yet or the log grew since the
/// latest; returns the size signed, or `None` when nothing was new. Safe beside other
/// writers: the size is read first and the root computed for that size, and stored nodes
/// never change, so the checkpoint is right even if leaves arrive meanwhile.
pub fn sign_if_grown(
    store: &mut dyn EvidenceLogStore,
    signer: &Signer,
    now: Timestamp,
) -> Result<Option<u64>, SignError> {
    let size = store.evidence_size()?;
    if let Some(latest) = store.latest_checkpoint()?
        && latest.size >= size
    {
        return Ok(None);
    }
    let root = store.evidence_root(size)?;
    let note = Checkpoint::new(signer.name(), size, root)
        .and_then(|cp| cp.sign(signer))
        .map_err(|e| SignError::Checkpoint(e.to_string()))?;
    store.add_checkpoint(size, now, &note)?;
    Ok(Some(size))
}

/// Why a checkpoint could not be signed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checkpoint could not be built or signed (a bad origin).
    #[error("cannot sign a checkpoint: {0}")]
    Checkpoint(String),
}

/// An incident's evidence as a bundle carries it: its leaves with their inclusion proofs
/// in one signed checkpoint's tree.
#[derive(Clone, Debug)]
pub struct IncidentEvidence {
    /// The incident.
    pub incident: IncidentId,
    /// The signed checkpoint (a C2SP signed note, with any cosignatures) every proof
    /// leads to.
    pub checkpoint_note: String,
    /// The log's key.
    pub log_key: VerifierKey,
    /// The leaves, by index: the incident's raw evidence over its window, its state
    /// changes and acknowledgements, and the zone and configuration leaves in force when
    /// it was confirmed.
    pub leaves: Vec<IndexedLeaf>,
    /// Each leaf's RFC 6962 inclusion proof in the checkpoint's tree, in leaf order.
    pub proofs: Vec<(u64, Vec<Hash>)>,
}

/// Why an incident's evidence cannot be gathered.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    /// No such incident in the store (a wrong id: the user's mistake).
    #[error("no incident {0} in the store")]
    UnknownIncident(IncidentId),
    /// The incident predates the evidence log.
    #[error(
        "the evidence log holds no state change of incident {0} (was it stored before the log existed?)"
    )]
    NoStateChange(IncidentId),
    /// The zone the incident is in was never logged.
    #[error("the evidence log holds no zone {0:?}")]
    NoZone(String),
    /// No configuration was ever logged.
    #[error("the evidence log holds no configuration")]
    NoConfig,
    /// A stored checkpoint covers the leaves, but the bundle needs the log's public key.
    #[error(
        "the bundle must carry the log's public key: give --config with the service's [evidence] key"
    )]
    NoLogKey,
    /// No stored checkpoint covers the leaves and there is no key to sign one.
    #[error(
        "no signed checkpoint covers the incident's leaves yet and no log key is configured to sign one \
         (give --config with the service's [evidence] key)"
    )]
    NoCheckpoint,
    /// The checkpoint just signed is not in the store.
    #[error("the checkpoint just signed is not in the store")]
    CheckpointVanished,
    /// The stored checkpoint does not parse.
    #[error("stored checkpoint: {0}")]
    BadCheckpoint(String),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Collects the evidence of incident `id`, signing (and storing) a fresh checkpoint with
/// `signer` at `now` when no stored one covers every leaf.
///
/// The zone and configuration are those in force when the incident was first logged (its
/// confirmation): a later restart with other settings does not change what detected it.
pub fn gather_incident(
    store: &mut dyn EvidenceLogStore,
    id: IncidentId,
    signer: Option<&Signer>,
    now: Timestamp,
) -> Result<IncidentEvidence, GatherError> {
    let leaves = incident_leaves(store, id, None)?;
    let needed = leaves.last().map_or(0, |(i, _)| i + 1);

    let stored = store.latest_checkpoint()?;
    let (checkpoint_note, log_key) = match (stored, signer) {
        (Some(cp), signer) if cp.size >= needed => match signer {
            Some(s) => (cp.note, s.verifier_key()),
            None => return Err(GatherError::NoLogKey),
        },
        (_, Some(signer)) => {
            sign_if_grown(store, signer, now)?;
            let cp = store
                .latest_checkpoint()?
                .ok_or(GatherError::CheckpointVanished)?;
            (cp.note, signer.verifier_key())
        }
        (_, None) => return Err(GatherError::NoCheckpoint),
    };
    with_proofs(store, id, leaves, checkpoint_note, log_key)
}

/// Collects the evidence of incident `id` as the log stood at the given signed checkpoint
/// (a C2SP signed note of this log, signed by `log_key`): only the leaves the checkpoint
/// covers, each with its inclusion proof in that tree. Many incidents gathered at one
/// checkpoint (a dossier) share one tree, so one checkpoint proves them all; leaves the
/// log gained after it (an incident still open) are left for a later checkpoint.
pub fn gather_incident_at(
    store: &mut dyn EvidenceLogStore,
    id: IncidentId,
    checkpoint_note: &str,
    log_key: VerifierKey,
) -> Result<IncidentEvidence, GatherError> {
    let cp = parse_checkpoint(checkpoint_note)?;
    let leaves = incident_leaves(store, id, Some(cp.size))?;
    with_proofs(store, id, leaves, checkpoint_note.to_owned(), log_key)
}

fn parse_checkpoint(note: &str) -> Result<Checkpoint, GatherError> {
    let note =
        Note::parse(note.as_bytes()).map_err(|e| GatherError::BadCheckpoint(e.to_string()))?;
    Checkpoint::parse_body(&note.text).map_err(|e| GatherError::BadCheckpoint(e.to_string()))
}

/// The incident's leaves plus the zone and configuration leaves in force, by index; with
/// `below`, only leaves of index under it.
fn incident_leaves(
    store: &mut dyn EvidenceLogStore,
    id: IncidentId,
    below: Option<u64>,
) -> Result<Vec<IndexedLeaf>, GatherError> {
    let mut leaves = store
        .incident_evidence(id)?
        .ok_or(GatherError::UnknownIncident(id))?;
    if let Some(size) = below {
        leaves.retain(|(i, _)| *i < size);
    }
    // The zone comes from the incident's latest state change.
    let incident: Incident = leaves
        .iter()
        .rev()
        .filter_map(|(_, b)| EvidenceLeaf::decode(b).ok())
        .find_map(|l| match l {
            EvidenceLeaf::IncidentStateChanged {
                incident_id,
                incident_json,
                ..
            } if incident_id == id.0 => serde_json::from_str(&incident_json).ok(),
            _ => None,
        })
        .ok_or(GatherError::NoStateChange(id))?;
    let size = match below {
        Some(size) => size,
        None => store.evidence_size()?,
    };
    let in_force = leaves
        .iter()
        .filter(|(_, b)| b.get(1) == Some(&0x04))
        .map(|(i, _)| i + 1)
        .min()
        .unwrap_or(size);
    let zone = store
        .dataset_leaf(DatasetKind::Zones, &incident.zone, in_force)?
        .ok_or_else(|| GatherError::NoZone(incident.zone.clone()))?;
    let config = store.config_leaf(in_force)?.ok_or(GatherError::NoConfig)?;
    let sensors = sensor_leaves_for(&incident, id, &leaves, store.sensor_state_leaves(size)?);
    leaves.push(zone);
    leaves.push(config);
    leaves.extend(sensors);
    leaves.sort_by_key(|(i, _)| *i);
    leaves.dedup_by_key(|(i, _)| *i);
    Ok(leaves)
}

/// The sensor state leaves (kind 0x09) a bundle of `incident` carries, from `all` (every
/// such leaf of the log, by index): each sensor's latest leaf at or before the entry (its
/// state when the incursion began, however long before that it changed) and every leaf
/// after the entry up to the incident's end: the latest of its state changes `own`, its
/// exit and its last report; no end while it is open. So a bundle shows whether each
/// declared sensor was looking for the whole incursion, and when one stopped.
fn sensor_leaves_for(
    incident: &Incident,
    id: IncidentId,
    own: &[IndexedLeaf],
    all: Vec<IndexedLeaf>,
) -> Vec<IndexedLeaf> {
    let start = incident.entered_at.as_micros();
    let end = if incident.status == skyfence_core::detect::IncidentStatus::Open {
        i64::MAX
    } else {
        own.iter()
            .filter_map(|(_, b)| match EvidenceLeaf::decode(b) {
                Ok(EvidenceLeaf::IncidentStateChanged {
                    incident_id, at_us, ..
                }) if incident_id == id.0 => Some(at_us),
                _ => None,
            })
            .chain([
                incident.last_seen_at.as_micros(),
                incident.exited_at.map_or(i64::MIN, |t| t.as_micros()),
            ])
            .max()
            .unwrap_or(i64::MAX)
    };
    let mut before: std::collections::BTreeMap<String, IndexedLeaf> = Default::default();
    let mut during = Vec::new();
    for (index, bytes) in all {
        let Ok(EvidenceLeaf::SensorState { at_us, sensor, .. }) = EvidenceLeaf::decode(&bytes)
        else {
            continue;
        };
        if at_us <= start {
            // By index, so the later of two leaves of one sensor wins.
            let replace = before
                .get(&sensor)
                .is_none_or(|(i, b)| match EvidenceLeaf::decode(b) {
                    Ok(EvidenceLeaf::SensorState { at_us: prev, .. }) => {
                        (prev, *i) <= (at_us, index)
                    }
                    _ => true,
                });
            if replace {
                before.insert(sensor, (index, bytes));
            }
        } else if at_us <= end {
            during.push((index, bytes));
        }
    }
    during.extend(before.into_values());
    during.sort_by_key(|(i, _)| *i);
    during
}

fn with_proofs(
    store: &mut dyn EvidenceLogStore,
    id: IncidentId,
    leaves: Vec<IndexedLeaf>,
    checkpoint_note: String,
    log_key: VerifierKey,
) -> Result<IncidentEvidence, GatherError> {
    let cp = parse_checkpoint(&checkpoint_note)?;
    // The log's key rotations up to the checkpoint: they link the key that signed it to
    // the keys a verifier may trust from before.
    let mut leaves = leaves;
    leaves.extend(store.key_rotation_leaves(cp.size)?);
    leaves.sort_by_key(|(i, _)| *i);
    leaves.dedup_by_key(|(i, _)| *i);
    let indices: Vec<u64> = leaves.iter().map(|(i, _)| *i).collect();
    let proofs = indices
        .iter()
        .copied()
        .zip(store.inclusion_proofs(&indices, cp.size)?)
        .collect();
    Ok(IncidentEvidence {
        incident: id,
        checkpoint_note,
        log_key,
        leaves,
        proofs,
    })
}
