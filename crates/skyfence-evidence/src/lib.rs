//! The evidence log of skyfence: what lets a sceptical second party check an
//! incident record without trusting us.
//!
//! - [`merkle`]: an append-only RFC 6962 Merkle tree (SHA-256) over a pluggable
//!   [`HashStore`], with inclusion and consistency proofs verified per RFC 9162 §2.1.3.2 and
//!   §2.1.4.2.
//! - [`leaf`]: the log's entries (datasets loaded, configuration changes, raw frames,
//!   incident state changes, operator acknowledgements) in a documented canonical binary
//!   encoding another implementation can reproduce.
//! - [`note`] and [`checkpoint`]: Ed25519-signed tree heads in the C2SP tlog-checkpoint /
//!   signed-note formats, readable by existing tools (Go's `sumdb/note`, transparency-dev).
//! - [`witness`]: C2SP tlog-cosignature `cosignature/v1` cosigning after a consistency check.
//! - [`keyfile`]: the signing key on disk (mode 0600), the crate's only I/O.
//!
//! Dependencies are kept to hashing, Ed25519, base64 and error derivation so the verifier
//! that depends on this crate stays small enough to audit.

pub mod checkpoint;
pub mod keyfile;
pub mod leaf;
pub mod merkle;
pub mod note;
pub mod rotation;
pub mod witness;

pub use checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoint, open_checkpoint};
pub use leaf::{DatasetContent, DatasetKind, EvidenceLeaf, LeafError, LeafSignal};
pub use merkle::{
    EMPTY_ROOT, Hash, HashStore, MemoryStore, MerkleError, MerkleLog, ProofError, StoreError,
    StoredNode, hash_from_hex, leaf_hash, node_hash, push_hex, root_from_leaf_hashes, to_hex,
    verify_consistency, verify_inclusion,
};
pub use note::{
    Note, NoteError, NoteSignature, Signer, SignerError, VerifiedSignature, VerifierKey,
};
pub use rotation::{KeyRotation, RotationError, open_rotation, sign_rotation};
pub use witness::{Cosigned, Witness, WitnessError, WitnessedHead};
