//! Checkpoints: signed tree heads in the C2SP tlog-checkpoint format
//! (<https://c2sp.org/tlog-checkpoint>), carried in a signed note.
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeros>\n
//! <base64 root hash>\n
//! [<extension line>\n]...
//! \n
//! — <key name> <base64(key id || signature)>\n
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::merkle::Hash;
use crate::note::{Note, NoteError, Signer, VerifiedSignature, VerifierKey};

/// A tree head: who (origin), how many leaves, and the root (tlog-checkpoint "Note text").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `skyfence.example/kabul-1`. Non-empty. [`Checkpoint::new`]
    /// also requires no spaces and no `+` (the "SHOULD" of tlog-checkpoint) so our origins
    /// can double as key names; parsing accepts any non-empty origin, as the spec requires.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash of the first `size` leaves.
    pub root: Hash,
    /// Extension lines (opaque, non-empty; NOT RECOMMENDED by the spec, kept for reading).
    pub extensions: Vec<String>,
}

/// Why a checkpoint text or signed checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The note layer rejected it.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// Fewer than three lines, or an empty line where none may be.
    #[error(
        "checkpoint text must be at least three non-empty newline-terminated lines (origin, size, root): {0}"
    )]
    Shape(String),
    /// A bad origin line.
    #[error(
        "invalid checkpoint origin {0:?}: must be non-empty, without spaces, '+' or control characters"
    )]
    BadOrigin(String),
    /// A bad tree size line.
    #[error("invalid tree size {0:?}: expected a decimal number without leading zeros")]
    BadSize(String),
    /// A bad root hash line.
    #[error("invalid root hash {0:?}: expected the standard base64 of 32 bytes")]
    BadRoot(String),
    /// An extension line with a control character.
    #[error("invalid extension line {0:?}")]
    BadExtension(String),
    /// The key given as the log's is not a plain Ed25519 note key.
    #[error(
        "log key has signature type {0:#04x}: a log signs checkpoints with an Ed25519 (0x01) key"
    )]
    LogKeyType(u8),
    /// The log's own signature is missing (only witnesses signed, or nobody we know).
    #[error("checkpoint carries no valid signature by the log key {0}")]
    NoLogSignature(String),
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, CheckpointError> {
        validate_origin(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// The note text (tlog-checkpoint "Note text"), each line newline-terminated.
    pub fn body(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Parses a note text per tlog-checkpoint "Note text": origin, size in decimal with no
    /// leading zeros, root as base64 of 32 bytes, then non-empty extension lines.
    pub fn parse_body(text: &str) -> Result<Self, CheckpointError> {
        let Some(text_lines) = text.strip_suffix('\n') else {
            return Err(CheckpointError::Shape(
                "text does not end in a newline".into(),
            ));
        };
        let lines: Vec<&str> = text_lines.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::Shape(format!("{} lines", lines.len())));
        }
        if let Some(i) = lines.iter().position(|l| l.is_empty()) {
            return Err(CheckpointError::Shape(format!("line {} is empty", i + 1)));
        }
        // tlog-checkpoint: clients "MUST NOT assume that the origin is following" the
        // recommended format, so reading only requires it to be non-empty (checked above).
        let size_text = lines[1];
        let canonical = size_text == "0"
            || (!size_text.starts_with('0') && size_text.bytes().all(|b| b.is_ascii_digit()));
        let size = canonical
            .then(|| size_text.parse::<u64>().ok())
            .flatten()
            .ok_or_else(|| CheckpointError::BadSize(size_text.to_owned()))?;
        let root: Hash = B64
            .decode(lines[2])
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| CheckpointError::BadRoot(lines[2].to_owned()))?;
        let mut extensions = Vec::new();
        for e in &lines[3..] {
            if e.chars().any(char::is_control) {
                return Err(CheckpointError::BadExtension((*e).to_owned()));
            }
            extensions.push((*e).to_owned());
        }
        Ok(Self {
            origin: lines[0].to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Signs this checkpoint as its log and returns the signed note. tlog-checkpoint
    /// "Signatures": the key name SHOULD match the origin; a log MUST NOT sign a checkpoint
    /// inconsistent with one it signed before, which the caller guarantees by signing only
    /// roots of its own append-only [`crate::MerkleLog`].
    pub fn sign(&self, log_signer: &Signer) -> Result<String, CheckpointError> {
        Ok(log_signer.sign_new_note(&self.body())?)
    }
}

fn validate_origin(origin: &str) -> Result<(), CheckpointError> {
    if origin.is_empty()
        || origin
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(CheckpointError::BadOrigin(origin.to_owned()));
    }
    Ok(())
}

/// A checkpoint whose log signature verified, with the note it came in and the witness
/// cosignatures that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedCheckpoint {
    /// The tree head.
    pub checkpoint: Checkpoint,
    /// The whole note (to re-serialise or add cosignatures to).
    pub note: Note,
    /// The log's signature.
    pub log_signature: VerifiedSignature,
    /// Cosignatures from the given witness keys that verified (type 0x04), in note order.
    pub cosignatures: Vec<VerifiedSignature>,
}

/// Opens a signed checkpoint: parses the note, requires a valid signature by `log_key`,
/// checks every signature from `witness_keys` (a known witness's bad cosignature rejects the
/// note, per signed-note "Signatures"), then parses the checkpoint text. Signatures from
/// other keys are ignored. Whether enough witnesses cosigned is the caller's policy.
pub fn open_checkpoint(
    note_bytes: &[u8],
    log_key: &VerifierKey,
    witness_keys: &[VerifierKey],
) -> Result<VerifiedCheckpoint, CheckpointError> {
    if log_key.sig_type() != crate::note::SIG_TYPE_ED25519 {
        return Err(CheckpointError::LogKeyType(log_key.sig_type()));
    }
    let note = Note::parse(note_bytes)?;
    let mut keys = Vec::with_capacity(witness_keys.len() + 1);
    keys.push(log_key.clone());
    keys.extend_from_slice(witness_keys);
    let verified = note.verify(&keys)?;
    let mut log_signature = None;
    let mut cosignatures = Vec::new();
    for v in verified {
        if v.name == log_key.name() && v.key_id == log_key.key_id() {
            log_signature = Some(v);
        } else {
            cosignatures.push(v);
        }
    }
    let log_signature = log_signature.ok_or_else(|| {
        CheckpointError::NoLogSignature(format!("{} ({:08x})", log_key.name(), log_key.key_id()))
    })?;
    let checkpoint = Checkpoint::parse_body(&note.text)?;
    Ok(VerifiedCheckpoint {
        checkpoint,
        note,
        log_signature,
        cosignatures,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MerkleLog;

    fn log_signer() -> Signer {
        Signer::from_seed("skyfence.example/log", [1; 32]).unwrap()
    }

    #[test]
    fn the_spec_example_body_parses_and_prints_back() {
        // tlog-checkpoint's example note text.
        let body =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_body(body).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(cp.root[..3], [0x0a, 0xc5, 0x18]);
        assert_eq!(cp.body(), body);
    }

    #[test]
    fn round_trip_sign_and_open() {
        let mut log = MerkleLog::in_memory();
        for i in 0u8..10 {
            log.append(&[i]).unwrap();
        }
        let signer = log_signer();
        let cp = Checkpoint::new(signer.name(), 10, log.root(10).unwrap()).unwrap();
        let note = cp.sign(&signer).unwrap();
        let opened = open_checkpoint(note.as_bytes(), &signer.verifier_key(), &[]).unwrap();
        assert_eq!(opened.checkpoint, cp);
        assert_eq!(opened.note.to_text(), note);
        assert!(opened.cosignatures.is_empty());
    }

    #[test]
    fn tampering_with_size_root_or_signature_fails() {
        let signer = log_signer();
        let cp = Checkpoint::new(signer.name(), 5, [9; 32]).unwrap();
        let note = cp.sign(&signer).unwrap();
        let vkey = signer.verifier_key();
        // Changed tree size.
        let bigger = note.replacen("\n5\n", "\n6\n", 1);
        assert!(matches!(
            open_checkpoint(bigger.as_bytes(), &vkey, &[]),
            Err(CheckpointError::Note(NoteError::BadSignature { .. }))
        ));
        // Changed root.
        let other_root = B64.encode([8u8; 32]);
        let changed = note.replacen(&B64.encode([9u8; 32]), &other_root, 1);
        assert!(open_checkpoint(changed.as_bytes(), &vkey, &[]).is_err());
        // Every single byte changed anywhere in the note: rejected.
        let bytes = note.as_bytes();
        for i in 0..bytes.len() {
            let mut m = bytes.to_vec();
            m[i] ^= 0x01;
            assert!(
                open_checkpoint(&m, &vkey, &[]).is_err(),
                "byte {i} changed and still accepted"
            );
        }
        // A cosignature-type key in the log's place.
        assert_eq!(
            open_checkpoint(note.as_bytes(), &signer.cosignature_verifier_key(), &[]),
            Err(CheckpointError::LogKeyType(0x04))
        );
        // A wrong key.
        let other = Signer::from_seed(signer.name(), [2; 32]).unwrap();
        assert!(matches!(
            open_checkpoint(note.as_bytes(), &other.verifier_key(), &[]),
            Err(CheckpointError::NoLogSignature(_))
        ));
    }

    #[test]
    fn malformed_bodies_are_rejected() {
        let r = B64.encode([0u8; 32]);
        let cases = [
            (format!("o\n1\n{r}"), "newline"),
            ("o\n1\n".to_owned(), "2 lines"),
            (format!("o\n01\n{r}\n"), "tree size \"01\""),
            (format!("o\n-1\n{r}\n"), "tree size \"-1\""),
            (format!("o\n18446744073709551616\n{r}\n"), "tree size"),
            (format!("o\n+1\n{r}\n"), "tree size"),
            ("o\n1\nAAAA\n".to_owned(), "root hash"),
            (format!("\n1\n{r}\n"), "line 1 is empty"),
            (format!("o\n1\n{r}\n\nx\n"), "line 4 is empty"),
        ];
        for (body, want) in cases {
            let err = Checkpoint::parse_body(&body).unwrap_err().to_string();
            assert!(
                err.contains(want),
                "{body:?}: {err:?} should mention {want:?}"
            );
        }
        assert_eq!(
            Checkpoint::parse_body(&format!("o\n0\n{r}\n"))
                .unwrap()
                .size,
            0
        );
        // Origins other logs choose are read as they are (tlog-checkpoint "Note text").
        let spaced = Checkpoint::parse_body(&format!("a log+1\n0\n{r}\n")).unwrap();
        assert_eq!(spaced.origin, "a log+1");
        assert!(matches!(
            Checkpoint::new("a log", 0, [0; 32]),
            Err(CheckpointError::BadOrigin(_))
        ));
        let ext = Checkpoint::parse_body(&format!("o\n0\n{r}\nextra line\n")).unwrap();
        assert_eq!(ext.extensions, ["extra line"]);
    }
}
