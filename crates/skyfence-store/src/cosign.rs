//! What every backend checks before it stores witness cosignatures
//! ([`crate::EvidenceLogStore::add_cosignatures`]): the note given is the stored
//! checkpoint's text, and only signature lines the stored note lacks are new. The
//! backends differ only in how they count and insert the lines.

use skyfence_evidence::{Note, NoteSignature};

use crate::MAX_COSIGNATURES;

/// Why cosignatures were refused before anything was stored.
pub(crate) enum Refused {
    /// The stored checkpoint's note does not parse (the store is damaged).
    Stored(String),
    /// The given note does not parse, or its text is not the checkpoint's.
    Given(String),
}

/// The signature lines of `given` that the stored note of the checkpoint of `size` does
/// not already hold, in the order given.
pub(crate) fn new_signatures(
    stored: &str,
    given: &str,
    size: u64,
) -> Result<Vec<NoteSignature>, Refused> {
    let stored = Note::parse(stored.as_bytes()).map_err(|e| Refused::Stored(e.to_string()))?;
    let given = Note::parse(given.as_bytes()).map_err(|e| Refused::Given(e.to_string()))?;
    if given.text != stored.text {
        return Err(Refused::Given(format!(
            "the note's text is not that of the stored checkpoint of size {size}"
        )));
    }
    Ok(given
        .signatures
        .into_iter()
        .filter(|s| !stored.signatures.contains(s))
        .collect())
}

/// The refusal of a cosignature beyond [`MAX_COSIGNATURES`].
pub(crate) fn full(size: u64) -> String {
    format!(
        "the checkpoint of size {size} already holds {MAX_COSIGNATURES} cosignatures, the most one keeps"
    )
}
