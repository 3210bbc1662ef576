//! A multilateration fix record (`skyfence_mlat::evidence`) from arbitrary bytes, as a
//! bundle verifier reads one from a raw record leaf of protocol `mlat`: never panics;
//! what decodes re-encodes to the same bytes (one encoding per value) and recomputes to
//! a fix or a named mismatch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_mlat::FixEvidence;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = FixEvidence::decode(data) {
        assert_eq!(e.encode(), data);
        let _ = e.recompute();
        let _ = e.observation();
    }
});
