//! Key rotation: the statement, recorded in the log itself, that the log's signing key
//! is replaced by another.
//!
//! A verifier who trusts one key of the log must be able to follow the log to its next
//! key without trusting the operator's word, so the statement is a signed note
//! (the same format as the checkpoints) whose text names both keys and which both keys
//! sign:
//!
//! ```text
//! skyfence key rotation
//! old <vkey of the key that signed the log until now>
//! new <vkey of the key that signs it from now on>
//! at <µs since the Unix epoch>
//!
//! — <name> <signature by the old key>
//! — <name> <signature by the new key>
//! ```
//!
//! Both keys carry the log's origin as their name, so every checkpoint keeps its origin
//! line. The statement is appended as a kind-0x08 leaf; checkpoints of a size that
//! includes that leaf are signed by the new key.

use crate::note::{Note, NoteError, Signer, VerifierKey};

/// The first line of a rotation statement.
const HEADER: &str = "skyfence key rotation";

/// A rotation statement whose two signatures verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRotation {
    /// The key that signed the log until the rotation.
    pub old: VerifierKey,
    /// The key that signs it from the rotation on.
    pub new: VerifierKey,
    /// When the rotation was made, µs since the Unix epoch.
    pub at_us: i64,
}

/// Why a rotation statement was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RotationError {
    /// The note does not parse, or a signature failed.
    #[error("the rotation note: {0}")]
    Note(#[from] NoteError),
    /// The text is not the statement's four lines.
    #[error("the rotation note's text is not a skyfence key rotation: {0}")]
    Text(&'static str),
    /// A key in the text does not parse.
    #[error("the rotation note's {which} key: {error}")]
    Key {
        /// `old` or `new`.
        which: &'static str,
        /// Why.
        error: NoteError,
    },
    /// The two keys differ in name (the log's origin must not change) or are the same.
    #[error("the old and new keys must be two keys of the same name (the log's origin): {0}")]
    Keys(String),
    /// One of the two keys did not sign.
    #[error("the rotation note is not signed by the {0} key")]
    Unsigned(&'static str),
}

/// The statement's text.
fn text(old: &VerifierKey, new: &VerifierKey, at_us: i64) -> String {
    format!("{HEADER}\nold {old}\nnew {new}\nat {at_us}\n")
}

/// Signs the rotation from `old` to `new` at `at_us`, as the note a kind-0x08 leaf holds.
pub fn sign_rotation(old: &Signer, new: &Signer, at_us: i64) -> Result<String, RotationError> {
    let (ov, nv) = (old.verifier_key(), new.verifier_key());
    check_keys(&ov, &nv)?;
    let text = text(&ov, &nv, at_us);
    let note = Note {
        signatures: vec![old.sign_note(&text), new.sign_note(&text)],
        text,
    };
    Ok(note.to_text())
}

fn check_keys(old: &VerifierKey, new: &VerifierKey) -> Result<(), RotationError> {
    if old.name() != new.name() {
        return Err(RotationError::Keys(format!(
            "{:?} and {:?}",
            old.name(),
            new.name()
        )));
    }
    if old.key_id() == new.key_id() && old.public_key() == new.public_key() {
        return Err(RotationError::Keys(format!("both are {old}")));
    }
    Ok(())
}

/// Parses a rotation note and checks that both keys it names signed it.
pub fn open_rotation(note: &str) -> Result<KeyRotation, RotationError> {
    let parsed = Note::parse(note.as_bytes())?;
    let mut lines = parsed.text.lines();
    if lines.next() != Some(HEADER) {
        return Err(RotationError::Text(
            "the first line must be \"skyfence key rotation\"",
        ));
    }
    let mut field = |prefix: &'static str, what: &'static str| {
        lines
            .next()
            .and_then(|l| l.strip_prefix(prefix))
            .ok_or(RotationError::Text(what))
    };
    let old = field("old ", "the second line must be \"old VKEY\"")?;
    let new = field("new ", "the third line must be \"new VKEY\"")?;
    let at = field("at ", "the fourth line must be \"at MICROSECONDS\"")?;
    if lines.next().is_some() {
        return Err(RotationError::Text("four lines expected"));
    }
    let old = VerifierKey::parse(old).map_err(|error| RotationError::Key {
        which: "old",
        error,
    })?;
    let new = VerifierKey::parse(new).map_err(|error| RotationError::Key {
        which: "new",
        error,
    })?;
    let at_us: i64 = at
        .parse()
        .map_err(|_| RotationError::Text("the time must be an integer of microseconds"))?;
    check_keys(&old, &new)?;
    // The canonical text only: no other spelling of the same statement is accepted.
    if parsed.text != text(&old, &new, at_us) {
        return Err(RotationError::Text("not in canonical form"));
    }
    let verified = parsed.verify(&[old.clone(), new.clone()])?;
    for (which, key) in [("old", &old), ("new", &new)] {
        if !verified.iter().any(|v| v.key_id == key.key_id()) {
            return Err(RotationError::Unsigned(which));
        }
    }
    Ok(KeyRotation { old, new, at_us })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(seed: u8) -> Signer {
        Signer::from_seed("skyfence/test", [seed; 32]).unwrap()
    }

    #[test]
    fn a_rotation_signed_by_both_keys_opens() {
        let (a, b) = (signer(1), signer(2));
        let note = sign_rotation(&a, &b, 1_700_000_000_000_000).unwrap();
        let r = open_rotation(&note).unwrap();
        assert_eq!(r.old, a.verifier_key());
        assert_eq!(r.new, b.verifier_key());
        assert_eq!(r.at_us, 1_700_000_000_000_000);
    }

    #[test]
    fn a_rotation_missing_a_signature_or_altered_is_refused() {
        let (a, b, c) = (signer(1), signer(2), signer(3));
        let note = sign_rotation(&a, &b, 5).unwrap();
        // Only the old key's signature: the new key never agreed.
        let mut parsed = Note::parse(note.as_bytes()).unwrap();
        parsed.signatures.truncate(1);
        assert_eq!(
            open_rotation(&parsed.to_text()),
            Err(RotationError::Unsigned("new"))
        );
        // Only the new key's signature: whoever holds it cannot take the log over.
        let mut parsed = Note::parse(note.as_bytes()).unwrap();
        parsed.signatures.remove(0);
        assert_eq!(
            open_rotation(&parsed.to_text()),
            Err(RotationError::Unsigned("old"))
        );
        // The new key swapped in the text: both signatures fail.
        let forged = note.replace(&b.verifier_key().to_string(), &c.verifier_key().to_string());
        assert!(matches!(
            open_rotation(&forged),
            Err(RotationError::Note(_))
        ));
        // A key of another name, and a rotation to the same key.
        let other = Signer::from_seed("skyfence/other", [4; 32]).unwrap();
        assert!(matches!(
            sign_rotation(&a, &other, 5),
            Err(RotationError::Keys(_))
        ));
        assert!(matches!(
            sign_rotation(&a, &a, 5),
            Err(RotationError::Keys(_))
        ));
        // Not the statement at all.
        let checkpoint = a.sign_new_note("skyfence/test\n1\nAAAA\n").unwrap();
        assert!(matches!(
            open_rotation(&checkpoint),
            Err(RotationError::Text(_))
        ));
    }
}
