//! Signed notes, checkpoints and `vkey`s on arbitrary bytes: parsing never panics; a
//! note that parses writes back to text that parses to the same note; a checkpoint text
//! that parses renders back to itself; `open_checkpoint` with a fixed key and
//! `open_rotation` (a key-rotation statement) never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_evidence::{Checkpoint, Note, Signer, VerifierKey, open_checkpoint, open_rotation};

fuzz_target!(|data: &[u8]| {
    if let Ok(note) = Note::parse(data) {
        let back = Note::parse(note.to_text().as_bytes()).expect("a parsed note re-parses");
        assert_eq!(back, note);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(cp) = Checkpoint::parse_body(text) {
            assert_eq!(Checkpoint::parse_body(&cp.body()).unwrap(), cp);
        }
        let _ = VerifierKey::parse(text);
        let _ = open_rotation(text);
    }
    let key = Signer::from_seed("fuzz.example/log", [3; 32])
        .expect("a valid key name")
        .verifier_key();
    let _ = open_checkpoint(data, &key, &[]);
});
