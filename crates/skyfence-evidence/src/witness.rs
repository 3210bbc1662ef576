//! A witness: an independent party (the other government) that cosigns a log's checkpoints
//! only after checking that each one extends the last it cosigned, so the log cannot show
//! different histories to different people (split view) or rewrite its past.
//!
//! The cosignature is a C2SP `cosignature/v1` Ed25519 timestamped signature
//! (<https://c2sp.org/tlog-cosignature>, signature type 0x04). The checks follow the
//! semantics that spec gives a cosignature: "as of the specified time, the consistent tree
//! head with the largest size the cosigner has observed for the log identified by the origin
//! line has the specified root hash".

use std::collections::BTreeMap;

use crate::checkpoint::{CheckpointError, open_checkpoint};
use crate::merkle::{Hash, ProofError, to_hex, verify_consistency};
use crate::note::{NoteSignature, Signer, VerifierKey};

/// The last tree head a witness cosigned for one log, to persist between runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WitnessedHead {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// Why a witness refused to cosign.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The checkpoint did not open (bad note, bad or missing log signature, bad body).
    #[error("checkpoint rejected: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The origin is not a log this witness was configured for.
    #[error("unknown log origin {0:?}: this witness cosigns only configured logs")]
    UnknownLog(String),
    /// The new checkpoint is smaller than the last cosigned one.
    #[error(
        "rollback refused for {origin}: checkpoint size {new_size} is smaller than the last cosigned size {witnessed_size}"
    )]
    Rollback {
        /// The log.
        origin: String,
        /// The size last cosigned.
        witnessed_size: u64,
        /// The size offered.
        new_size: u64,
    },
    /// The new checkpoint does not extend the last cosigned one: a fork.
    #[error(
        "inconsistent tree for {origin}: size {new_size} root {new_root} does not extend the cosigned size {witnessed_size} root {witnessed_root}: {reason}"
    )]
    Inconsistent {
        /// The log.
        origin: String,
        /// Size last cosigned.
        witnessed_size: u64,
        /// Root last cosigned (hex).
        witnessed_root: String,
        /// Size offered.
        new_size: u64,
        /// Root offered (hex).
        new_root: String,
        /// What the proof check said.
        reason: Box<ProofError>,
    },
    /// A timestamp beyond what tlog-cosignature allows.
    #[error("timestamp {0} exceeds 2^63-1 (tlog-cosignature \"Format\")")]
    BadTimestamp(u64),
}

struct LogState {
    key: VerifierKey,
    head: Option<WitnessedHead>,
}

/// A witness for one or more logs. Pure: it holds state in memory; the caller persists
/// [`Witness::head`] after each cosignature and restores it with [`Witness::set_head`].
pub struct Witness {
    signer: Signer,
    logs: BTreeMap<String, LogState>,
}

/// The result of a cosigning: the signature line and the whole note with it appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The cosignature.
    pub signature: NoteSignature,
    /// The checkpoint note with the cosignature line appended.
    pub note: String,
}

impl Witness {
    /// A witness signing with `signer` (its verifier key for clients is
    /// [`Signer::cosignature_verifier_key`]).
    pub fn new(signer: Signer) -> Self {
        Self {
            signer,
            logs: BTreeMap::new(),
        }
    }

    /// The verifier key clients use to check this witness's cosignatures (type 0x04).
    pub fn verifier_key(&self) -> VerifierKey {
        self.signer.cosignature_verifier_key()
    }

    /// Configures a log: its origin and the key its checkpoints must be signed with.
    pub fn add_log(&mut self, origin: &str, log_key: VerifierKey) {
        self.logs.insert(
            origin.to_owned(),
            LogState {
                key: log_key,
                head: None,
            },
        );
    }

    /// The last head cosigned for `origin`, if any (what the log must prove consistency from).
    pub fn head(&self, origin: &str) -> Option<WitnessedHead> {
        self.logs.get(origin).and_then(|l| l.head)
    }

    /// Restores the last cosigned head of a configured log (after a restart).
    pub fn set_head(&mut self, origin: &str, head: WitnessedHead) -> Result<(), WitnessError> {
        let log = self
            .logs
            .get_mut(origin)
            .ok_or_else(|| WitnessError::UnknownLog(origin.to_owned()))?;
        log.head = Some(head);
        Ok(())
    }

    /// Checks and cosigns a signed checkpoint. `proof` is the consistency proof from
    /// [`Witness::head`] (empty on first contact, which is trust on first use, or when the
    /// size is unchanged). Refuses a checkpoint not signed by the log's key, a smaller tree
    /// (rollback) and one that does not extend the last cosigned tree (fork). On success the
    /// head advances and the cosigned note is returned. `now_unix_s` is the POSIX time to
    /// state in the cosignature.
    pub fn cosign(
        &mut self,
        note_bytes: &[u8],
        proof: &[Hash],
        now_unix_s: u64,
    ) -> Result<Cosigned, WitnessError> {
        if now_unix_s > i64::MAX as u64 {
            return Err(WitnessError::BadTimestamp(now_unix_s));
        }
        // The origin is read before we know which key to check against; it is trusted only
        // after the signature by that origin's configured key verifies.
        let origin = std::str::from_utf8(note_bytes)
            .ok()
            .and_then(|s| s.split('\n').next())
            .unwrap_or_default()
            .to_owned();
        let log = self
            .logs
            .get_mut(&origin)
            .ok_or_else(|| WitnessError::UnknownLog(origin.clone()))?;
        let opened = open_checkpoint(note_bytes, &log.key, &[])?;
        let cp = &opened.checkpoint;
        if let Some(head) = log.head {
            if cp.size < head.size {
                return Err(WitnessError::Rollback {
                    origin,
                    witnessed_size: head.size,
                    new_size: cp.size,
                });
            }
            verify_consistency(head.size, cp.size, &head.root, &cp.root, proof).map_err(
                |reason| WitnessError::Inconsistent {
                    origin: origin.clone(),
                    witnessed_size: head.size,
                    witnessed_root: to_hex(&head.root),
                    new_size: cp.size,
                    new_root: to_hex(&cp.root),
                    reason: Box::new(reason),
                },
            )?;
        }
        let signature = self.signer.cosign(&opened.note.text, now_unix_s);
        log.head = Some(WitnessedHead {
            size: cp.size,
            root: cp.root,
        });
        let mut note = opened.note;
        note.signatures.push(signature.clone());
        Ok(Cosigned {
            signature,
            note: note.to_text(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::merkle::{MemoryStore, MerkleLog};

    const ORIGIN: &str = "skyfence.example/log";

    struct Fixture {
        log: MerkleLog<MemoryStore>,
        log_signer: Signer,
        witness: Witness,
    }

    fn fixture() -> Fixture {
        let log_signer = Signer::from_seed(ORIGIN, [3; 32]).unwrap();
        let mut witness = Witness::new(Signer::from_seed("witness.example/w1", [4; 32]).unwrap());
        witness.add_log(ORIGIN, log_signer.verifier_key());
        Fixture {
            log: MerkleLog::in_memory(),
            log_signer,
            witness,
        }
    }

    impl Fixture {
        fn grow_and_sign(&mut self, n: u32) -> String {
            for i in 0..n {
                self.log.append(&i.to_be_bytes()).unwrap();
            }
            let size = self.log.size();
            Checkpoint::new(ORIGIN, size, self.log.root(size).unwrap())
                .unwrap()
                .sign(&self.log_signer)
                .unwrap()
        }

        fn proof_to(&self, size: u64) -> Vec<Hash> {
            let old = self.witness.head(ORIGIN).map_or(0, |h| h.size);
            self.log.consistency_proof(old, size).unwrap()
        }
    }

    #[test]
    fn cosigns_a_consistent_sequence_and_clients_verify_it() {
        let mut f = fixture();
        let n1 = f.grow_and_sign(5);
        let c1 = f.witness.cosign(n1.as_bytes(), &[], 1_700_000_000).unwrap();
        let n2 = f.grow_and_sign(9);
        let proof = f.proof_to(14);
        let c2 = f
            .witness
            .cosign(n2.as_bytes(), &proof, 1_700_000_060)
            .unwrap();
        assert_eq!(f.witness.head(ORIGIN).unwrap().size, 14);
        assert!(c1.note.starts_with(&n1));
        let wkey = f.witness.verifier_key();
        let opened = open_checkpoint(
            c2.note.as_bytes(),
            &f.log_signer.verifier_key(),
            std::slice::from_ref(&wkey),
        )
        .unwrap();
        assert_eq!(opened.checkpoint.size, 14);
        assert_eq!(opened.cosignatures.len(), 1);
        assert_eq!(opened.cosignatures[0].name, "witness.example/w1");
        assert_eq!(opened.cosignatures[0].timestamp, Some(1_700_000_060));
        // The same size again (nothing appended) is cosigned with an empty proof.
        f.witness.cosign(n2.as_bytes(), &[], 1_700_000_120).unwrap();
    }

    #[test]
    fn a_changed_cosignature_or_checkpoint_fails_client_verification() {
        let mut f = fixture();
        let n1 = f.grow_and_sign(3);
        let c1 = f.witness.cosign(n1.as_bytes(), &[], 1_700_000_000).unwrap();
        let wkey = f.witness.verifier_key();
        let lkey = f.log_signer.verifier_key();
        // The cosignature line is the last line; change one byte inside its base64.
        let mut bytes = c1.note.clone().into_bytes();
        let at = bytes.len() - 10;
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        assert!(open_checkpoint(&bytes, &lkey, std::slice::from_ref(&wkey)).is_err());
        // A cosignature checked with the log-style (type 0x01) key of the same signer is
        // ignored: the key id differs, so it is not a known key.
        let plain = Signer::from_seed("witness.example/w1", [4; 32])
            .unwrap()
            .verifier_key();
        let opened = open_checkpoint(c1.note.as_bytes(), &lkey, &[plain]).unwrap();
        assert!(opened.cosignatures.is_empty());
    }

    #[test]
    fn cosignatures_of_two_witnesses_merge_into_one_note() {
        let mut f = fixture();
        let mut second = Witness::new(Signer::from_seed("witness.example/w2", [9; 32]).unwrap());
        second.add_log(ORIGIN, f.log_signer.verifier_key());
        let note = f.grow_and_sign(7);
        let a = f.witness.cosign(note.as_bytes(), &[], 10).unwrap();
        let b = second.cosign(note.as_bytes(), &[], 11).unwrap();
        let mut merged = crate::note::Note::parse(a.note.as_bytes()).unwrap();
        merged
            .merge_signatures(&crate::note::Note::parse(b.note.as_bytes()).unwrap())
            .unwrap();
        assert_eq!(merged.signatures.len(), 3);
        let keys = [f.witness.verifier_key(), second.verifier_key()];
        let opened = open_checkpoint(
            merged.to_text().as_bytes(),
            &f.log_signer.verifier_key(),
            &keys,
        )
        .unwrap();
        let stamps: Vec<_> = opened.cosignatures.iter().map(|c| c.timestamp).collect();
        assert_eq!(stamps, [Some(10), Some(11)]);
        let other = crate::note::Note::parse(f.grow_and_sign(1).as_bytes()).unwrap();
        assert!(merged.merge_signatures(&other).is_err());
    }

    #[test]
    fn refuses_a_rollback() {
        let mut f = fixture();
        let small = f.grow_and_sign(4);
        let big = f.grow_and_sign(4);
        f.witness.cosign(small.as_bytes(), &[], 1).unwrap();
        let proof = f.proof_to(8);
        f.witness.cosign(big.as_bytes(), &proof, 2).unwrap();
        let err = f.witness.cosign(small.as_bytes(), &[], 3).unwrap_err();
        assert!(
            matches!(
                err,
                WitnessError::Rollback {
                    witnessed_size: 8,
                    new_size: 4,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(f.witness.head(ORIGIN).unwrap().size, 8);
    }

    #[test]
    fn refuses_a_forked_tree() {
        let mut f = fixture();
        let n1 = f.grow_and_sign(6);
        f.witness.cosign(n1.as_bytes(), &[], 1).unwrap();
        // A second history sharing the first 5 leaves but not the 6th, then grown to 10:
        // signed by the same (compromised or dishonest) log key.
        let mut fork = MerkleLog::in_memory();
        for i in 0u32..5 {
            fork.append(&i.to_be_bytes()).unwrap();
        }
        fork.append(b"rewritten").unwrap();
        for i in 6u32..10 {
            fork.append(&i.to_be_bytes()).unwrap();
        }
        let forked = Checkpoint::new(ORIGIN, 10, fork.root(10).unwrap())
            .unwrap()
            .sign(&f.log_signer)
            .unwrap();
        let proof = fork.consistency_proof(6, 10).unwrap();
        let err = f.witness.cosign(forked.as_bytes(), &proof, 2).unwrap_err();
        assert!(
            matches!(
                err,
                WitnessError::Inconsistent {
                    witnessed_size: 6,
                    new_size: 10,
                    ..
                }
            ),
            "{err}"
        );
        // Same size, different root: also a fork.
        let same_size = Checkpoint::new(ORIGIN, 6, fork.root(6).unwrap())
            .unwrap()
            .sign(&f.log_signer)
            .unwrap();
        assert!(matches!(
            f.witness.cosign(same_size.as_bytes(), &[], 3),
            Err(WitnessError::Inconsistent { .. })
        ));
        assert_eq!(f.witness.head(ORIGIN).unwrap().size, 6);
    }

    #[test]
    fn refuses_unknown_logs_and_foreign_signatures() {
        let mut f = fixture();
        let stranger = Signer::from_seed("other.example/log", [5; 32]).unwrap();
        let note = Checkpoint::new("other.example/log", 0, crate::merkle::EMPTY_ROOT)
            .unwrap()
            .sign(&stranger)
            .unwrap();
        assert!(matches!(
            f.witness.cosign(note.as_bytes(), &[], 1),
            Err(WitnessError::UnknownLog(_))
        ));
        // Right origin, wrong key.
        let impostor = Signer::from_seed(ORIGIN, [6; 32]).unwrap();
        let note = Checkpoint::new(ORIGIN, 0, crate::merkle::EMPTY_ROOT)
            .unwrap()
            .sign(&impostor)
            .unwrap();
        assert!(matches!(
            f.witness.cosign(note.as_bytes(), &[], 1),
            Err(WitnessError::Checkpoint(CheckpointError::NoLogSignature(_)))
        ));
        let _ = f.grow_and_sign(0);
    }
}
