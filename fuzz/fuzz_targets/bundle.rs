//! A bundle's text files and manifest on arbitrary bytes: `leaves.txt`, `proofs.txt` and
//! `bundle.json` parsing never panics, and what parses writes back to text that parses to
//! the same values (the text forms are canonical), then the whole verifier runs on a
//! bundle made of the input without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_bundle::archive::{
    Bundle, Manifest, read_leaves, read_proofs, write_leaves, write_proofs,
};
use skyfence_bundle::{VERSION, files};

fuzz_target!(|data: &[u8]| {
    if let Ok(leaves) = read_leaves(data) {
        assert_eq!(
            read_leaves(&write_leaves(&leaves, VERSION)).unwrap(),
            leaves
        );
    }
    if let Ok(proofs) = read_proofs(data) {
        let list: Vec<_> = proofs.clone().into_iter().collect();
        assert_eq!(read_proofs(&write_proofs(&list, VERSION)).unwrap(), proofs);
    }
    if let Ok(m) = serde_json::from_slice::<Manifest>(data) {
        let back: Manifest = serde_json::from_slice(&m.to_bytes()).unwrap();
        assert_eq!(back, m);
    }
    // The input as every text file of a bundle with a minimal valid manifest: the checks
    // run on it (and fail) without panicking.
    let mut bundle = Bundle::default();
    for name in [
        files::LEAVES,
        files::PROOFS,
        files::CHECKPOINT,
        files::INCIDENT,
        files::CONFIG,
        files::ZONE,
    ] {
        bundle.files.insert(name.to_owned(), data.to_vec());
    }
    bundle.files.insert(
        files::MANIFEST.to_owned(),
        format!(
            r#"{{"format":"{}","version":{VERSION},"incident":"0000000000000000","exported_at":"x","exported_by":"fuzz","renderer":"r","log":{{"origin":"o","key":"k","checkpoint_size":0,"checkpoint_root":""}},"files":[]}}"#,
            skyfence_bundle::FORMAT
        )
        .into_bytes(),
    );
    let _ = skyfence_bundle::verify::verify(&bundle, &[]);
});
