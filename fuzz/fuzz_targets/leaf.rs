//! `EvidenceLeaf::decode` on arbitrary bytes: never panics, and whatever decodes is
//! canonical (encodes back to exactly the input), so no two byte strings are the same leaf
//! (skyfence_evidence::leaf, "canonical").
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_evidence::EvidenceLeaf;

fuzz_target!(|data: &[u8]| {
    if let Ok(leaf) = EvidenceLeaf::decode(data) {
        let bytes = leaf.encode().expect("a decoded leaf encodes");
        assert_eq!(bytes, data, "decoding accepted a non-canonical encoding");
        assert_eq!(data[1], leaf.kind_code());
    }
});
