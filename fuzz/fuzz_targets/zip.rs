//! The bundle's zip container on arbitrary bytes: `Bundle::read_zip` (the structure check
//! before anything is inflated, then the reader) never panics, and what it accepts has no
//! name twice and stays within the size limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_bundle::archive::{Bundle, MAX_FILES, MAX_TOTAL_BYTES};

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::read_zip(std::io::Cursor::new(data)) {
        assert!(bundle.files.len() <= MAX_FILES);
        let total: u64 = bundle.files.values().map(|b| b.len() as u64).sum();
        assert!(total <= MAX_TOTAL_BYTES);
    }
});
