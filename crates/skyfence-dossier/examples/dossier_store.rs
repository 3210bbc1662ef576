//! A store of N real incidents on disk, to time `skyfence dossier` on (BENCHMARKS.md).
//!
//! `cargo run --release -p skyfence-dossier --example dossier_store -- DIR AIRCRAFT [MAX_INCIDENTS]`
//! writes `DIR/skyfence.db` ([`skyfence_dossier::fixture::store_at`]: the real Mode S
//! frames of the `scale` scenario's aircraft and the incidents the detector finds in
//! them) and the log's key beside it, `DIR/skyfence.key` (mode 0600), so
//! `skyfence dossier --store DIR/skyfence.db` can sign; prints the period to give as
//! `--from` and `--to`.
//!
//! `... --example dossier_store -- --make DIR OUT` then makes the dossier with the library
//! at a fixed time (so two builds' dossiers can be compared byte for byte) and prints the
//! wall time.

use std::time::Instant;

use skyfence_core::Timestamp;
use skyfence_dossier::{Request, make};
use skyfence_evidence::Signer;
use skyfence_store::{StoreOptions, StoreUrl};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, dir, out] if flag == "--make" => make_at(dir.as_ref(), out.as_ref()),
        [dir, n] => fill(dir.as_ref(), n.parse().expect("AIRCRAFT"), usize::MAX),
        [dir, n, max] => fill(
            dir.as_ref(),
            n.parse().expect("AIRCRAFT"),
            max.parse().expect("MAX_INCIDENTS"),
        ),
        _ => {
            eprintln!("usage: dossier_store DIR AIRCRAFT [MAX_INCIDENTS] | --make DIR OUT");
            std::process::exit(2);
        }
    }
}

fn fill(dir: &std::path::Path, n: usize, max: usize) {
    std::fs::create_dir_all(dir).expect("create DIR");
    let started = Instant::now();
    let (signer, from, to, incidents) =
        skyfence_dossier::fixture::store_at(&dir.join("skyfence.db"), n, max);
    write_key(&dir.join("skyfence.key"), &signer);
    std::fs::write(
        dir.join("period"),
        format!("{} {}\n", from.to_rfc3339_millis(), to.to_rfc3339_millis()),
    )
    .expect("write DIR/period");
    eprintln!(
        "{incidents} incidents of {n} aircraft in {:.1} s; period {} {}",
        started.elapsed().as_secs_f64(),
        from.to_rfc3339_millis(),
        to.to_rfc3339_millis()
    );
}

fn write_key(path: &std::path::Path, signer: &Signer) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .expect("create the key file");
    writeln!(f, "{}", signer.to_private_key_text()).expect("write the key file");
}

fn make_at(dir: &std::path::Path, out: &std::path::Path) {
    let period = std::fs::read_to_string(dir.join("period")).expect("DIR/period");
    let (from, to) = period.trim().split_once(' ').expect("period");
    let key = std::fs::read_to_string(dir.join("skyfence.key")).expect("DIR/skyfence.key");
    let signer = Signer::from_private_key_text(key.trim_end()).expect("key");
    let url = StoreUrl::sqlite(dir.join("skyfence.db"));
    let mut store = skyfence_store::open(&url, StoreOptions::default()).expect("store");
    let req = Request::new(from, to, Vec::new(), false, out.to_path_buf()).expect("request");
    // A fixed time: the dossier's and bundles' creation times, and the checkpoint signed
    // on the first run.
    let now = Timestamp::from_secs(1_800_000_000);
    let started = Instant::now();
    let made = make(&mut *store, &signer, &[], &req, now, &mut |_| {}).expect("make");
    eprintln!(
        "dossier of {} incidents in {:.2} s",
        made.manifest.incidents.len(),
        started.elapsed().as_secs_f64()
    );
}
