//! A multilateration record (`skyfence_mlat::evidence`) from arbitrary bytes, as a
//! bundle verifier reads one from a raw record leaf of protocol `mlat`, a fix or a
//! check of a broadcast position: never panics; what decodes re-encodes to the same
//! bytes (one encoding per value) and recomputes to a result or a named mismatch.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_mlat::FixEvidence;
use skyfence_mlat::evidence::CheckEvidence;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = FixEvidence::decode(data) {
        assert_eq!(e.encode(), data);
        let _ = e.recompute();
        let _ = e.observation();
    }
    if let Ok(e) = CheckEvidence::decode(data) {
        assert_eq!(e.encode(), data);
        let _ = e.recompute(4, 1_000.0);
        let _ = e.verdict();
        let _ = e.verification();
    }
});
