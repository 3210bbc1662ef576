//! `skyfence log verify` and `skyfence log checkpoint`: check the whole evidence
//! log kept in a store, and sign a checkpoint by hand.
//!
//! `verify` trusts nothing in the file: it recomputes every leaf hash from the leaf bytes,
//! rebuilds the RFC 6962 tree from them and compares every stored node, opens every
//! stored checkpoint with the log's public key (and the cosignatures with the witness keys
//! given), compares each checkpoint's root with the rebuilt tree's, and checks an RFC 6962
//! consistency proof between each pair of consecutive checkpoints. Exit 0 only if every
//! check passes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use skyfence_evidence::{
    EvidenceLeaf, Hash, HashStore as _, MerkleLog, VerifierKey, leaf_hash, open_checkpoint, to_hex,
    verify_consistency,
};
use skyfence_store::SqliteStore;

use skyfence_service::config::Config;
use skyfence_service::evidence::{self as log_service, load_log_key};
use skyfence_service::exit::input_error;

/// `skyfence log ...`.
#[derive(clap::Subcommand, Debug)]
pub enum LogCommand {
    /// Check every leaf, the tree, every checkpoint's signature and root, and the
    /// consistency between consecutive checkpoints; exit 0 only if all pass.
    Verify(VerifyArgs),
    /// Sign a checkpoint of the whole log now (with the service's key), if it grew.
    Checkpoint(StoreArgs),
    /// Print the log's public key (the `vkey` verifiers and witnesses need).
    Key(StoreArgs),
}

/// Which store, and which key.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// The service's config file (its [store] path and [evidence] key).
    #[arg(long, value_name = "FILE", conflicts_with = "store")]
    pub config: Option<PathBuf>,
    /// The SQLite store itself (the key is then looked for beside it, as FILE.key).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

/// Arguments of `skyfence log verify`.
#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The log's public key (`vkey`, as `skyfence log key` prints it). Default: derived
    /// from the service's key file.
    #[arg(long, value_name = "VKEY")]
    pub log_key: Option<String>,
    /// A witness's public key; its cosignatures must verify. Repeatable.
    #[arg(long, value_name = "VKEY")]
    pub witness_key: Vec<String>,
}

/// The store path and key path `args` name.
fn locate(args: &StoreArgs) -> anyhow::Result<(PathBuf, PathBuf, Option<String>)> {
    match (&args.config, &args.store) {
        (Some(c), _) => {
            let config = Config::load(c)?;
            let store = config.base_dir.join(&config.store.path);
            let key = log_service::key_path(&config.evidence, &config.base_dir, &store);
            Ok((store, key, config.evidence.origin.clone()))
        }
        (None, Some(s)) => Ok((s.clone(), s.with_extension("key"), None)),
        (None, None) => Err(input_error(
            "give --config FILE (the service's config) or --store FILE (its SQLite store)",
        )),
    }
}

fn open_store(path: &Path) -> anyhow::Result<SqliteStore> {
    if !path.exists() {
        return Err(input_error(format!(
            "store {} does not exist",
            path.display()
        )));
    }
    SqliteStore::open(path).with_context(|| format!("cannot open store {}", path.display()))
}

/// Runs `skyfence log ...`.
pub fn run(command: LogCommand) -> anyhow::Result<()> {
    match command {
        LogCommand::Verify(args) => verify(&args),
        LogCommand::Checkpoint(args) => {
            let (store_path, key_path, origin) = locate(&args)?;
            let mut store = open_store(&store_path)?;
            let signer = load_log_key(&key_path, origin.as_deref())?;
            let now = skyfence_core::time::wall_clock();
            match log_service::sign_if_grown(&mut store, &signer, now)? {
                Some(size) => println!("signed checkpoint of size {size}"),
                None => println!(
                    "the log has not grown since its latest checkpoint (size {})",
                    store.evidence_size()?
                ),
            }
            Ok(())
        }
        LogCommand::Key(args) => {
            let (_, key_path, origin) = locate(&args)?;
            if !key_path.exists() {
                return Err(input_error(format!(
                    "no log key at {} (the service creates it at its first start)",
                    key_path.display()
                )));
            }
            let signer = load_log_key(&key_path, origin.as_deref())?;
            println!("{}", signer.verifier_key());
            Ok(())
        }
    }
}

/// The outcome of each check, printed as it is made.
#[derive(Default)]
struct Report {
    failed: usize,
    passed: usize,
}

impl Report {
    fn ok(&mut self, what: impl std::fmt::Display) {
        self.passed += 1;
        println!("ok    {what}");
    }

    fn fail(&mut self, what: impl std::fmt::Display) {
        self.failed += 1;
        println!("FAIL  {what}");
    }

    fn note(&self, what: impl std::fmt::Display) {
        println!("note  {what}");
    }
}

/// Leaves read per query.
const CHUNK: u64 = 10_000;

fn verify(args: &VerifyArgs) -> anyhow::Result<()> {
    let (store_path, key_path, origin) = locate(&args.store)?;
    let log_key = match &args.log_key {
        Some(k) => VerifierKey::parse(k).map_err(|e| input_error(format!("--log-key: {e}")))?,
        None if key_path.exists() => load_log_key(&key_path, origin.as_deref())?.verifier_key(),
        None => {
            return Err(input_error(format!(
                "no log key: give --log-key VKEY or keep the key at {}",
                key_path.display()
            )));
        }
    };
    let witness_keys = args
        .witness_key
        .iter()
        .map(|k| VerifierKey::parse(k).map_err(|e| input_error(format!("--witness-key: {e}"))))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let store = open_store(&store_path)?;
    println!("evidence log of {}", store_path.display());
    println!("log key {log_key}");
    let report = check_store(&store, &log_key, &witness_keys)?;
    if report.failed == 0 {
        println!("verdict: VALID ({} checks passed)", report.passed);
        Ok(())
    } else {
        println!(
            "verdict: INVALID ({} of {} checks failed)",
            report.failed,
            report.failed + report.passed
        );
        anyhow::bail!(
            "evidence log of {} failed {} checks",
            store_path.display(),
            report.failed
        )
    }
}

fn check_store(
    store: &SqliteStore,
    log_key: &VerifierKey,
    witness_keys: &[VerifierKey],
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let size = store.evidence_size()?;

    // 1. Leaves: each row decodes and hashes to the stored leaf hash; none missing.
    let mut rebuilt = MerkleLog::in_memory();
    let (mut bad_leaves, mut cleared, mut by_kind) = (0usize, 0u64, [0u64; 6]);
    let mut start = 0;
    while start < size {
        let end = (start + CHUNK).min(size);
        let rows = store.evidence_leaf_rows(start, end)?;
        let hashes = store.evidence_leaf_hashes(start, end)?;
        let mut rows = rows.into_iter().peekable();
        let mut hashes = hashes.into_iter().peekable();
        for index in start..end {
            let stored_hash = match hashes.peek() {
                Some((i, h)) if *i == index => {
                    let h = *h;
                    hashes.next();
                    Some(h)
                }
                _ => None,
            };
            let row = match rows.peek() {
                Some(r) if r.index == index => rows.next(),
                _ => None,
            };
            let computed: Option<Hash> = match &row {
                None => {
                    bad_leaves += 1;
                    report.fail(format!("leaf {index}: missing from the leaf table"));
                    None
                }
                Some(r) => match &r.bytes {
                    None => {
                        cleared += 1;
                        None
                    }
                    Some(bytes) => {
                        match EvidenceLeaf::decode(bytes) {
                            Ok(leaf) if leaf.kind_code() == r.kind => {
                                by_kind[usize::from(r.kind).min(5)] += 1;
                            }
                            Ok(leaf) => {
                                bad_leaves += 1;
                                report.fail(format!(
                                    "leaf {index}: kind {:#04x} stored beside a leaf of kind {:#04x}",
                                    r.kind,
                                    leaf.kind_code()
                                ));
                            }
                            Err(e) => {
                                bad_leaves += 1;
                                report.fail(format!("leaf {index}: does not decode: {e}"));
                            }
                        }
                        Some(leaf_hash(bytes))
                    }
                },
            };
            let hash = match (computed, stored_hash) {
                (Some(c), Some(s)) if c == s => c,
                (Some(c), Some(s)) => {
                    bad_leaves += 1;
                    report.fail(format!(
                        "leaf {index}: bytes hash to {} but the tree holds {}",
                        to_hex(&c),
                        to_hex(&s)
                    ));
                    c
                }
                (None, Some(s)) => s,
                (Some(c), None) => {
                    bad_leaves += 1;
                    report.fail(format!("leaf {index}: no leaf hash in the tree"));
                    c
                }
                // A missing row was reported above: its hash went with it.
                (None, None) if row.is_none() => [0; 32],
                (None, None) => {
                    bad_leaves += 1;
                    report.fail(format!("leaf {index}: neither bytes nor hash"));
                    [0; 32]
                }
            };
            rebuilt
                .append_leaf_hash(hash)
                .map_err(|e| anyhow::anyhow!("rebuilding the tree: {e}"))?;
        }
        start = end;
    }
    let extra = store.evidence_leaf_rows(size, u64::MAX)?;
    if let Some(r) = extra.first() {
        bad_leaves += extra.len();
        report.fail(format!(
            "leaf table holds {} rows beyond the tree's {size} leaves (first: index {})",
            extra.len(),
            r.index
        ));
    }
    if bad_leaves == 0 {
        report.ok(format!(
            "{size} leaves: every leaf decodes and hashes to its tree leaf \
             ({} datasets, {} config changes, {} raw frames, {} incident changes, {} acknowledgements)",
            by_kind[1], by_kind[2], by_kind[3], by_kind[4], by_kind[5]
        ));
    }
    if cleared > 0 {
        report.note(format!(
            "{cleared} leaves were cleared by retention: their hashes are in the tree, their content is gone"
        ));
    }

    // 2. The tree: every stored node equals the node rebuilt from the leaves.
    let mut bad_nodes = 0usize;
    let mut level = 1u8;
    while level < 64 && (size >> level) > 0 {
        let count = size >> level;
        let mut start = 0;
        while start < count {
            let end = (start + CHUNK).min(count);
            let stored = store.evidence_nodes(level, start, end)?;
            let mut stored = stored.into_iter().peekable();
            for index in start..end {
                let want = rebuilt.store().node(level, index).ok().flatten();
                let got = match stored.peek() {
                    Some((i, h)) if *i == index => {
                        let h = *h;
                        stored.next();
                        Some(h)
                    }
                    _ => None,
                };
                if got != want {
                    bad_nodes += 1;
                    if bad_nodes <= 10 {
                        report.fail(format!(
                            "tree node (level {level}, index {index}): stored {} but the leaves give {}",
                            got.map_or("nothing".into(), |h| to_hex(&h)),
                            want.map_or("nothing".into(), |h| to_hex(&h)),
                        ));
                    }
                }
            }
            start = end;
        }
        level += 1;
    }
    let root = rebuilt
        .root(size)
        .map_err(|e| anyhow::anyhow!("rebuilt tree: {e}"))?;
    if bad_nodes == 0 {
        report.ok(format!(
            "tree of {size} leaves: every stored node matches; root {}",
            to_hex(&root)
        ));
    } else if bad_nodes > 10 {
        report.fail(format!("... {} more tree nodes differ", bad_nodes - 10));
    }

    // 3. Checkpoints: signature, cosignatures, root against the rebuilt tree.
    let checkpoints = store.checkpoints()?;
    if checkpoints.is_empty() {
        report.fail("no signed checkpoint: nothing vouches for this log");
    }
    let mut previous: Option<(u64, Hash)> = None;
    for cp in &checkpoints {
        let opened = match open_checkpoint(cp.note.as_bytes(), log_key, witness_keys) {
            Ok(o) => o,
            Err(e) => {
                report.fail(format!("checkpoint {}: {e}", cp.size));
                continue;
            }
        };
        let c = &opened.checkpoint;
        if c.size != cp.size {
            report.fail(format!(
                "checkpoint {}: its note says size {}",
                cp.size, c.size
            ));
            continue;
        }
        if c.origin != log_key.name() {
            report.fail(format!(
                "checkpoint {}: origin {:?} is not the log key's name {:?}",
                cp.size,
                c.origin,
                log_key.name()
            ));
        }
        let want = if c.size <= size {
            rebuilt.root(c.size).ok()
        } else {
            None
        };
        match want {
            Some(r) if r == c.root => {
                let unknown = opened
                    .note
                    .signatures
                    .len()
                    .saturating_sub(1 + opened.cosignatures.len());
                let mut line = format!(
                    "checkpoint {} signed {}: log signature valid, root matches the leaves",
                    c.size,
                    cp.at.to_rfc3339_millis()
                );
                if !opened.cosignatures.is_empty() {
                    let names: Vec<&str> = opened
                        .cosignatures
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect();
                    line.push_str(&format!(", cosigned by {}", names.join(", ")));
                }
                if unknown > 0 {
                    line.push_str(&format!(
                        " ({unknown} signatures by keys not given with --witness-key, not checked)"
                    ));
                }
                report.ok(line);
            }
            Some(r) => report.fail(format!(
                "checkpoint {}: signed root {} but the leaves give {}",
                c.size,
                to_hex(&c.root),
                to_hex(&r)
            )),
            None => report.fail(format!(
                "checkpoint {}: beyond the log's {size} leaves",
                c.size
            )),
        }
        for w in witness_keys {
            if !opened.cosignatures.iter().any(|v| v.key_id == w.key_id()) {
                report.note(format!(
                    "checkpoint {}: no cosignature by witness {}",
                    c.size,
                    w.name()
                ));
            }
        }
        // 4. Consistency with the previous checkpoint, by an RFC 6962 proof.
        if let Some((old_size, old_root)) = previous
            && c.size <= size
        {
            let proof = rebuilt
                .consistency_proof(old_size, c.size)
                .map_err(|e| anyhow::anyhow!("consistency proof: {e}"))?;
            match verify_consistency(old_size, c.size, &old_root, &c.root, &proof) {
                Ok(()) => report.ok(format!(
                    "checkpoints {old_size} -> {}: consistent (append-only)",
                    c.size
                )),
                Err(e) => report.fail(format!(
                    "checkpoints {old_size} -> {}: not consistent: {e}",
                    c.size
                )),
            }
        }
        previous = Some((c.size, c.root));
    }
    if let Some((last, _)) = previous
        && last < size
    {
        report.note(format!(
            "{} leaves after the latest checkpoint ({last}) are not yet signed",
            size - last
        ));
    }
    Ok(report)
}
