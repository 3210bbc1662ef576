//! C2SP signed notes (<https://c2sp.org/signed-note>), Ed25519 signature types 0x01 (log
//! signatures) and 0x04 (timestamped witness cosignatures, <https://c2sp.org/tlog-cosignature>).
//!
//! A note is a text ending in a newline, a blank line, then one or more signature lines
//! `— <key name> <base64(key id (4 bytes, big-endian) || signature)>`. Verifier keys are
//! exchanged in the `vkey` text form `<name>+<8 hex digits of the key id>+<base64(type ||
//! public key)>`, the form Go's `golang.org/x/mod/sumdb/note` reads, so the other side can use
//! any existing implementation to check our notes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;

/// Signature type byte of plain Ed25519 note signatures (signed-note, "Signature types").
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 cosignatures (tlog-cosignature, "Format").
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// The most signature lines a note may carry here. signed-note ("Format") requires verifiers
/// to accept at least 16 and to apply some limit.
pub const MAX_SIGNATURES: usize = 100;
/// The separator between the note text and a signature line's key name: U+2014 and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// Why a note, key or signature was rejected. Every message names the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// signed-note "Format": notes are UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// signed-note "Format": no ASCII control characters other than newline.
    #[error("note contains control character {0:#04x} at byte {1}: only newline is allowed")]
    ControlCharacter(u8, usize),
    /// No blank line separating text and signatures.
    #[error("note has no blank line separating the text from the signatures")]
    NoSeparator,
    /// Nothing after the blank line.
    #[error("note has no signature lines")]
    NoSignatures,
    /// A signature line of the wrong shape.
    #[error("malformed signature line {line:?}: {reason}")]
    BadSignatureLine {
        /// The line.
        line: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// More signatures than [`MAX_SIGNATURES`].
    #[error("note has {0} signatures, more than the limit of {MAX_SIGNATURES}")]
    TooManySignatures(usize),
    /// signed-note "Format": names are non-empty, without spaces or '+'.
    #[error("invalid key name {0:?}: must be non-empty, without spaces, '+' or control characters")]
    BadKeyName(String),
    /// A vkey of the wrong shape.
    #[error("malformed verifier key {key:?}: {reason}")]
    BadVerifierKey {
        /// The key text.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A vkey whose key id does not match its name and key.
    #[error(
        "verifier key {key:?} says key id {stated:08x}, but its name and key give {computed:08x}"
    )]
    KeyIdMismatch {
        /// The key text.
        key: String,
        /// The stated id.
        stated: u32,
        /// The computed id.
        computed: u32,
    },
    /// A signature type this crate does not implement.
    #[error(
        "unsupported signature type {0:#04x}: expected 0x01 (Ed25519) or 0x04 (cosignature/v1)"
    )]
    UnsupportedType(u8),
    /// signed-note "Signatures": a known key's signature that fails rejects the whole note.
    #[error("signature by {name} (key id {key_id:08x}) does not verify: {reason}")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
        /// Why.
        reason: String,
    },
    /// The same known key signed twice.
    #[error("key {name} (key id {key_id:08x}) signed the note more than once")]
    DuplicateSignature {
        /// Key name.
        name: String,
        /// Key id.
        key_id: u32,
    },
    /// signed-note "Signatures": no signature from a known key verified.
    #[error("no signature from a known key: signed by {0}")]
    NoKnownSignature(String),
    /// Signatures of two different texts cannot be merged.
    #[error("cannot merge signatures of notes with different texts")]
    DifferentText,
    /// The text of a note must end in a newline.
    #[error("note text must be non-empty and end with a newline")]
    TextNotTerminated,
}

/// Checks a key name against signed-note "Format": non-empty, no Unicode spaces, no `+`
/// (and, since the note may not contain them, no control characters).
pub fn validate_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// The key id: the first four bytes, big-endian, of `SHA-256(name || 0x0A || type || public
/// key)` (signed-note "Signatures"; tlog-cosignature "Format" for type 0x04).
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0A, sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id (first four bytes of the decoded signature).
    pub key_id: u32,
    /// The signature proper (the decoded bytes after the key id).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The signature line, without its final newline: `— name base64(id || sig)`.
    pub fn line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}", self.name, B64.encode(raw))
    }

    fn parse_line(line: &str) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::BadSignatureLine {
            line: line.to_owned(),
            reason,
        };
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or_else(|| bad("must start with an em dash (U+2014) and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or_else(|| bad("expected a key name, a space and a base64 signature"))?;
        validate_key_name(name).map_err(|_| bad("invalid key name"))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| bad("signature is not standard padded base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature shorter than a key id and one byte"));
        }
        Ok(NoteSignature {
            name: name.to_owned(),
            key_id: u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]),
            signature: raw[4..].to_vec(),
        })
    }
}

/// A parsed (not yet verified) signed note. Per signed-note, its text must be ignored until
/// [`Note::verify`] has accepted a signature from a trusted key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The text, including its final newline, excluding the blank separator line.
    pub text: String,
    /// The signature lines, in order.
    pub signatures: Vec<NoteSignature>,
}

/// A signature that verified against a known key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signer's key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// The signature type (0x01 or 0x04).
    pub sig_type: u8,
    /// For cosignatures (0x04): the POSIX time the cosigner states.
    pub timestamp: Option<u64>,
}

impl Note {
    /// Parses a signed note per signed-note "Format": UTF-8, no control characters but
    /// newline, text split from the signatures at the last blank line, at least one
    /// well-formed signature line, each ending in a newline.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        if let Some(pos) = s.bytes().position(|b| b < 0x20 && b != b'\n') {
            return Err(NoteError::ControlCharacter(bytes[pos], pos));
        }
        let split = s.rfind("\n\n").ok_or(NoteError::NoSeparator)?;
        let text = &s[..split + 1];
        let sigs = &s[split + 2..];
        if sigs.is_empty() {
            return Err(NoteError::NoSignatures);
        }
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(NoteError::BadSignatureLine {
                line: sigs.rsplit('\n').next().unwrap_or_default().to_owned(),
                reason: "the last signature line must end with a newline",
            });
        };
        let signatures = sigs
            .split('\n')
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(signatures.len()));
        }
        Ok(Note {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note in its wire form: text, blank line, one line per signature.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.line());
            out.push('\n');
        }
        out
    }

    /// Adds to this note the signature lines of `other` that it lacks, for gathering the
    /// cosignatures several witnesses returned for the same checkpoint. Both notes must have
    /// the same text; nothing is verified here (use [`Note::verify`] afterwards).
    pub fn merge_signatures(&mut self, other: &Note) -> Result<(), NoteError> {
        if other.text != self.text {
            return Err(NoteError::DifferentText);
        }
        for sig in &other.signatures {
            if !self.signatures.contains(sig) {
                self.signatures.push(sig.clone());
            }
        }
        if self.signatures.len() > MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures(self.signatures.len()));
        }
        Ok(())
    }

    /// Checks the signatures against `keys`, per signed-note "Signatures": signatures from
    /// unknown keys (name and id not both matching a key) are ignored; a known key's signature
    /// that fails rejects the whole note; a known key signing twice rejects it too. Returns
    /// the verified signatures, possibly none (for quorum checks; see [`Note::open`]).
    pub fn verify(&self, keys: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        for sig in &self.signatures {
            let Some(key) = keys
                .iter()
                .find(|k| k.name == sig.name && k.key_id == sig.key_id)
            else {
                continue;
            };
            if verified
                .iter()
                .any(|v| v.name == sig.name && v.key_id == sig.key_id)
            {
                return Err(NoteError::DuplicateSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            let timestamp = key.verify_note_signature(&self.text, &sig.signature)?;
            verified.push(VerifiedSignature {
                name: sig.name.clone(),
                key_id: sig.key_id,
                sig_type: key.sig_type,
                timestamp,
            });
        }
        Ok(verified)
    }

    /// [`Note::verify`], failing unless at least one known key's signature verified
    /// (signed-note: "If no signature from a known key verifies successfully, clients MUST
    /// reject the note").
    pub fn open(&self, keys: &[VerifierKey]) -> Result<Vec<VerifiedSignature>, NoteError> {
        let verified = self.verify(keys)?;
        if verified.is_empty() {
            let names: Vec<String> = self
                .signatures
                .iter()
                .map(|s| format!("{} ({:08x})", s.name, s.key_id))
                .collect();
            return Err(NoteError::NoKnownSignature(names.join(", ")));
        }
        Ok(verified)
    }
}

/// A public key that checks note signatures: name, type, Ed25519 key and key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    sig_type: u8,
    key_id: u32,
    public_key: VerifyingKey,
}

impl VerifierKey {
    /// A verifier key of type `sig_type` (0x01 or 0x04) for `name`.
    pub fn new(name: &str, sig_type: u8, public_key: VerifyingKey) -> Result<Self, NoteError> {
        validate_key_name(name)?;
        if sig_type != SIG_TYPE_ED25519 && sig_type != SIG_TYPE_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedType(sig_type));
        }
        Ok(Self {
            name: name.to_owned(),
            sig_type,
            key_id: key_id(name, sig_type, public_key.as_bytes()),
            public_key,
        })
    }

    /// Parses the `vkey` form `name+xxxxxxxx+base64(type || key)`, checking that the stated
    /// key id is the one the name and key give.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let bad = |reason: &str| NoteError::BadVerifierKey {
            key: vkey.to_owned(),
            reason: reason.to_owned(),
        };
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("expected name+keyid+base64key"));
        };
        validate_key_name(name).map_err(|_| bad("invalid key name"))?;
        if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("key id must be 8 hex digits"));
        }
        let stated =
            u32::from_str_radix(id_hex, 16).map_err(|_| bad("key id must be 8 hex digits"))?;
        let raw = B64
            .decode(b64)
            .map_err(|_| bad("key is not standard padded base64"))?;
        let Some((&sig_type, key)) = raw.split_first() else {
            return Err(bad("empty key"));
        };
        if sig_type != SIG_TYPE_ED25519 && sig_type != SIG_TYPE_COSIGNATURE_V1 {
            return Err(NoteError::UnsupportedType(sig_type));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| bad(&format!("Ed25519 key must be 32 bytes, got {}", key.len())))?;
        let public_key =
            VerifyingKey::from_bytes(&key).map_err(|_| bad("not a valid Ed25519 public key"))?;
        let computed = key_id(name, sig_type, &key);
        if computed != stated {
            return Err(NoteError::KeyIdMismatch {
                key: vkey.to_owned(),
                stated,
                computed,
            });
        }
        Ok(Self {
            name: name.to_owned(),
            sig_type,
            key_id: computed,
            public_key,
        })
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature type byte (0x01 or 0x04).
    pub fn sig_type(&self) -> u8 {
        self.sig_type
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.public_key
    }

    /// Checks one signature over `text`; for cosignatures returns the stated timestamp.
    fn verify_note_signature(&self, text: &str, sig: &[u8]) -> Result<Option<u64>, NoteError> {
        let fail = |reason: String| NoteError::BadSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            reason,
        };
        match self.sig_type {
            SIG_TYPE_ED25519 => {
                let sig = ed25519_dalek::Signature::from_slice(sig).map_err(|_| {
                    fail(format!(
                        "Ed25519 signature must be 64 bytes, got {}",
                        sig.len()
                    ))
                })?;
                self.public_key
                    .verify_strict(text.as_bytes(), &sig)
                    .map_err(|_| fail("Ed25519 verification failed".into()))?;
                Ok(None)
            }
            _ => {
                // tlog-cosignature "Format": timestamped_signature = u64 timestamp || 64 bytes.
                if sig.len() != 72 {
                    return Err(fail(format!(
                        "cosignature must be 72 bytes (timestamp and Ed25519 signature), got {}",
                        sig.len()
                    )));
                }
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&sig[..8]);
                let timestamp = u64::from_be_bytes(ts);
                if timestamp > i64::MAX as u64 {
                    return Err(fail(format!("timestamp {timestamp} exceeds 2^63-1")));
                }
                let ed = ed25519_dalek::Signature::from_slice(&sig[8..])
                    .map_err(|_| fail("malformed Ed25519 signature".into()))?;
                self.public_key
                    .verify_strict(cosignature_message(text, timestamp).as_bytes(), &ed)
                    .map_err(|_| fail("Ed25519 verification failed".into()))?;
                Ok(Some(timestamp))
            }
        }
    }
}

impl fmt::Display for VerifierKey {
    /// The `vkey` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = Vec::with_capacity(33);
        raw.push(self.sig_type);
        raw.extend_from_slice(self.public_key.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, B64.encode(raw))
    }
}

/// The message a `cosignature/v1` Ed25519 cosignature signs (tlog-cosignature "Ed25519 signed
/// message"): `cosignature/v1\ntime <timestamp>\n` followed by the whole note text.
pub fn cosignature_message(text: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{text}")
}

/// An Ed25519 signing key with its note key name. Signs notes (type 0x01) as a log and
/// checkpoints (type 0x04) as a witness; the secret never appears in `Debug` output.
#[derive(Clone)]
pub struct Signer {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field(
                "public_key",
                &B64.encode(self.key.verifying_key().as_bytes()),
            )
            .finish_non_exhaustive()
    }
}

/// Why a signing key could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// An invalid key name.
    #[error(transparent)]
    Name(#[from] NoteError),
    /// The OS random source failed.
    #[error("operating system random source failed: {0}")]
    Random(String),
    /// A malformed private key text (the text itself is never echoed).
    #[error("malformed private key: {0}")]
    BadPrivateKey(&'static str),
}

impl Signer {
    /// A signer for `name` from a 32-byte Ed25519 seed (RFC 8032 §5.1.5).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, SignerError> {
        validate_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A fresh key for `name` from the operating system's random source.
    pub fn generate(name: &str) -> Result<Self, SignerError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SignerError::Random(e.to_string()))?;
        let signer = Self::from_seed(name, seed);
        seed.fill(0);
        signer
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key for this signer's plain Ed25519 note signatures (type 0x01).
    pub fn verifier_key(&self) -> VerifierKey {
        self.verifier_of_type(SIG_TYPE_ED25519)
    }

    /// The verifier key for this signer's `cosignature/v1` cosignatures (type 0x04).
    pub fn cosignature_verifier_key(&self) -> VerifierKey {
        self.verifier_of_type(SIG_TYPE_COSIGNATURE_V1)
    }

    fn verifier_of_type(&self, sig_type: u8) -> VerifierKey {
        let public_key = self.key.verifying_key();
        VerifierKey {
            name: self.name.clone(),
            sig_type,
            key_id: key_id(&self.name, sig_type, public_key.as_bytes()),
            public_key,
        }
    }

    /// An Ed25519 (type 0x01) signature over a note text (signed-note "Ed25519 signatures").
    pub fn sign_note(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: key_id(
                &self.name,
                SIG_TYPE_ED25519,
                self.key.verifying_key().as_bytes(),
            ),
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }

    /// A `cosignature/v1` (type 0x04) cosignature over a checkpoint note text at POSIX time
    /// `timestamp` (tlog-cosignature "Format" and "Ed25519 signed message").
    pub fn cosign(&self, text: &str, timestamp: u64) -> NoteSignature {
        let sig = self
            .key
            .sign(cosignature_message(text, timestamp).as_bytes());
        let mut raw = Vec::with_capacity(72);
        raw.extend_from_slice(&timestamp.to_be_bytes());
        raw.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: key_id(
                &self.name,
                SIG_TYPE_COSIGNATURE_V1,
                self.key.verifying_key().as_bytes(),
            ),
            signature: raw,
        }
    }

    /// Signs `text` as a new note: the wire form with this signer's one signature. `text`
    /// must be non-empty and end with a newline.
    pub fn sign_new_note(&self, text: &str) -> Result<String, NoteError> {
        if !text.ends_with('\n') {
            return Err(NoteError::TextNotTerminated);
        }
        if let Some(pos) = text.bytes().position(|b| b < 0x20 && b != b'\n') {
            return Err(NoteError::ControlCharacter(text.as_bytes()[pos], pos));
        }
        let note = Note {
            text: text.to_owned(),
            signatures: vec![self.sign_note(text)],
        };
        Ok(note.to_text())
    }

    /// The private key in Go's `golang.org/x/mod/sumdb/note` text form,
    /// `PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>`. Secret: write it only to a
    /// 0600 file ([`crate::keyfile`]), never to a log.
    pub fn to_private_key_text(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(SIG_TYPE_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        let text = format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier_key().key_id,
            B64.encode(&raw)
        );
        raw.fill(0);
        text
    }

    /// Reads the form written by [`Signer::to_private_key_text`] (and by Go's `note.GenerateKey`).
    pub fn from_private_key_text(text: &str) -> Result<Self, SignerError> {
        let rest = text
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(SignerError::BadPrivateKey(
                "expected the prefix PRIVATE+KEY+",
            ))?;
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SignerError::BadPrivateKey("expected name+keyid+base64key"));
        };
        validate_key_name(name)?;
        let stated = (id_hex.len() == 8)
            .then(|| u32::from_str_radix(id_hex, 16).ok())
            .flatten()
            .ok_or(SignerError::BadPrivateKey("key id must be 8 hex digits"))?;
        let mut raw = B64
            .decode(b64)
            .map_err(|_| SignerError::BadPrivateKey("key is not standard padded base64"))?;
        let result = match raw.split_first() {
            Some((&SIG_TYPE_ED25519, seed)) => match <[u8; 32]>::try_from(seed) {
                Ok(seed) => Self::from_seed(name, seed),
                Err(_) => Err(SignerError::BadPrivateKey("Ed25519 seed must be 32 bytes")),
            },
            _ => Err(SignerError::BadPrivateKey(
                "key type must be 0x01 (Ed25519)",
            )),
        };
        raw.fill(0);
        let signer = result?;
        if signer.verifier_key().key_id != stated {
            return Err(SignerError::BadPrivateKey(
                "key id does not match the name and key",
            ));
        }
        Ok(signer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // golang.org/x/mod/sumdb/note, note_test.go and example_test.go (ExampleSign, ExampleOpen):
    // an independent implementation's key pair, text and signature.
    const GO_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n";
    const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                           then you don't know what your problem is.\n\
                           \n\
                           \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn signs_byte_for_byte_like_go_sumdb_note() {
        let signer = Signer::from_private_key_text(GO_SKEY).unwrap();
        assert_eq!(signer.to_private_key_text(), GO_SKEY);
        assert_eq!(signer.verifier_key().to_string(), GO_VKEY);
        assert_eq!(signer.sign_new_note(GO_TEXT).unwrap(), GO_NOTE);
    }

    #[test]
    fn opens_the_go_note_with_the_go_vkey() {
        let vkey = VerifierKey::parse(GO_VKEY).unwrap();
        assert_eq!(vkey.key_id(), 0xc74f20a3);
        assert_eq!(vkey.to_string(), GO_VKEY);
        let note = Note::parse(GO_NOTE.as_bytes()).unwrap();
        assert_eq!(note.text, GO_TEXT);
        let v = note.open(&[vkey]).unwrap();
        assert_eq!(v[0].name, "PeterNeumann");
        assert_eq!(v[0].timestamp, None);
        assert_eq!(note.to_text(), GO_NOTE);
    }

    #[test]
    fn other_implementations_vkeys_parse_and_print_back() {
        // signed-note's example key; transparency-dev/formats note_cosigv1_test.go (a type
        // 0x01 key whose base64 holds a '+', and a type 0x04 cosignature key).
        for k in [
            "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
            "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        ] {
            let v = VerifierKey::parse(k).unwrap();
            assert_eq!(v.to_string(), k);
        }
        let cosig = VerifierKey::parse(
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        )
        .unwrap();
        assert_eq!(cosig.sig_type(), SIG_TYPE_COSIGNATURE_V1);
    }

    #[test]
    fn mangled_vkeys_are_rejected() {
        // After golang.org/x/mod/sumdb/note TestNewVerifier: every proper substring and
        // every single-byte change must fail.
        let b = GO_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if i == 0 && j == b.len() {
                    continue;
                }
                if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                    assert!(VerifierKey::parse(s).is_err(), "accepted {s:?}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(VerifierKey::parse(s).is_err(), "accepted {s:?}");
            }
        }
        // An unknown signature type byte (0x65) is named as such.
        assert!(matches!(
            VerifierKey::parse(
                "PeterNeumann+c74f20a3+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(NoteError::UnsupportedType(0x65))
        ));
    }

    #[test]
    fn malformed_notes_are_rejected_with_the_reason() {
        let cases: [(&[u8], &str); 7] = [
            (b"\xff\n\n", "not valid UTF-8"),
            (
                b"text\x01\n\n\xe2\x80\x94 a AAAAAAA=\n",
                "control character 0x01",
            ),
            (b"text\n", "no blank line"),
            (b"text\n\n", "no signature lines"),
            (
                b"text\n\n\xe2\x80\x94 a AAAAAAA=",
                "must end with a newline",
            ),
            (b"text\n\n- a AAAAAAA=\n", "em dash"),
            (b"text\n\n\xe2\x80\x94 a AAAA\n", "shorter than a key id"),
        ];
        for (bytes, want) in cases {
            let err = Note::parse(bytes).unwrap_err().to_string();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
        let with_space_in_name = "text\n\n\u{2014} a\u{3000}b AAAAAAA=\n";
        assert!(Note::parse(with_space_in_name.as_bytes()).is_err());
    }

    #[test]
    fn verification_fails_for_a_wrong_key_or_a_changed_byte() {
        let signer = Signer::from_seed("skyfence.example/log", [7; 32]).unwrap();
        let other = Signer::from_seed("skyfence.example/log", [8; 32]).unwrap();
        let note = signer.sign_new_note("hello\n").unwrap();
        let parsed = Note::parse(note.as_bytes()).unwrap();
        assert_eq!(parsed.open(&[signer.verifier_key()]).unwrap().len(), 1);
        // Another key under the same name: its id differs, the signature is ignored.
        assert!(matches!(
            parsed.open(&[other.verifier_key()]),
            Err(NoteError::NoKnownSignature(_))
        ));
        // One changed byte of text.
        let tampered = note.replacen("hello", "hellp", 1);
        assert!(matches!(
            Note::parse(tampered.as_bytes())
                .unwrap()
                .open(&[signer.verifier_key()]),
            Err(NoteError::BadSignature { .. })
        ));
        // A note signed twice by the same key is refused.
        let mut twice = parsed.clone();
        twice.signatures.push(parsed.signatures[0].clone());
        assert!(matches!(
            twice.verify(&[signer.verifier_key()]),
            Err(NoteError::DuplicateSignature { .. })
        ));
    }

    #[test]
    fn signer_debug_hides_the_secret() {
        let signer = Signer::from_private_key_text(GO_SKEY).unwrap();
        let dbg = format!("{signer:?}");
        assert!(!dbg.contains("AYEKFALV"), "{dbg}");
        assert!(dbg.contains("PeterNeumann"));
    }

    #[test]
    fn cosignature_timestamp_is_read_from_the_reference_signature() {
        // transparency-dev/formats note_cosigv1_test.go TestCoSigV1Timestamp: the decoded
        // signature is key id (4 bytes) || timestamp 1727964367 (8 bytes) || signature.
        let raw = B64
            .decode("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
            .unwrap();
        assert_eq!(raw.len(), 4 + 72);
        let ts = u64::from_be_bytes(raw[4..12].try_into().unwrap());
        assert_eq!(ts, 1_727_964_367);
    }
}
