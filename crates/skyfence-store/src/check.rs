//! The whole-log check behind `skyfence log verify`, for any [`EvidenceLogStore`].
//!
//! It trusts nothing in the store: it recomputes every leaf hash from the leaf bytes,
//! rebuilds the RFC 6962 tree from them and compares every stored node, opens every stored
//! checkpoint with the key in force at its size (the log's key, followed along its chain of
//! key rotations) and the cosignatures with the witness keys given,
//! compares each checkpoint's root with the rebuilt tree's, and checks an RFC 6962
//! consistency proof between each pair of consecutive checkpoints. The result is a
//! [`Report`] of lines the command prints; the log is valid only if no check failed.

use skyfence_evidence::{
    EvidenceLeaf, Hash, HashStore as _, KeyRotation, MerkleLog, VerifierKey, leaf_hash,
    open_checkpoint, open_rotation, to_hex, verify_consistency,
};

use crate::{EvidenceLogStore, StoreError};

/// How a line of the report counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A check passed.
    Ok,
    /// A check failed.
    Fail,
    /// Worth knowing, neither pass nor fail (cleared leaves, unsigned tail).
    Note,
}

impl Verdict {
    /// The label `skyfence log verify` prints before the line.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Fail => "FAIL",
            Verdict::Note => "note",
        }
    }
}

/// The outcome of each check, in the order made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Each check or note with what it found.
    pub lines: Vec<(Verdict, String)>,
    /// Checks failed.
    pub failed: usize,
    /// Checks passed.
    pub passed: usize,
}

impl Report {
    fn ok(&mut self, what: impl std::fmt::Display) {
        self.passed += 1;
        self.lines.push((Verdict::Ok, what.to_string()));
    }

    fn fail(&mut self, what: impl std::fmt::Display) {
        self.failed += 1;
        self.lines.push((Verdict::Fail, what.to_string()));
    }

    fn note(&mut self, what: impl std::fmt::Display) {
        self.lines.push((Verdict::Note, what.to_string()));
    }

    /// True when every check passed.
    pub fn is_valid(&self) -> bool {
        self.failed == 0
    }
}

/// Leaves read per query.
const CHUNK: u64 = 10_000;

/// Checks the whole evidence log of `store` against `log_key` (and the witnesses'
/// cosignatures against `witness_keys`). A store that fails to answer is an error; a log
/// that answers but is wrong is a [`Report`] with failed checks.
///
/// A log whose key was rotated (kind-0x08 leaves, each signed by the key it retires and
/// the key it brings in) is checked along that chain: each checkpoint must be signed by
/// the key in force at its size (the new key of the last rotation it includes, else the
/// first key). `log_key` is the trust anchor: it must be one of the chain's keys (the
/// first, the current one, or any between), since every link is signed by both ends.
pub fn verify_log(
    store: &dyn EvidenceLogStore,
    log_key: &VerifierKey,
    witness_keys: &[VerifierKey],
) -> Result<Report, StoreError> {
    let internal = |op: &'static str, e: &dyn std::fmt::Display| StoreError::Conflict {
        store: store.log_location(),
        op,
        reason: e.to_string(),
    };
    let mut report = Report::default();
    let size = store.evidence_size()?;

    // 1. Leaves: each row decodes and hashes to the stored leaf hash; none missing.
    let mut rebuilt = MerkleLog::in_memory();
    let (mut bad_leaves, mut cleared, mut by_kind) = (0usize, 0u64, [0u64; 9]);
    let mut rotations: Vec<(u64, KeyRotation)> = Vec::new();
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
                                by_kind[usize::from(r.kind).min(8)] += 1;
                                if let EvidenceLeaf::KeyRotated { note, .. } = &leaf {
                                    match open_rotation(note) {
                                        Ok(rot) => rotations.push((index, rot)),
                                        Err(e) => {
                                            bad_leaves += 1;
                                            report.fail(format!("leaf {index}: key rotation: {e}"));
                                        }
                                    }
                                }
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
                .map_err(|e| internal("rebuild the tree", &e))?;
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
             ({} datasets, {} config changes, {} raw frames, {} incident changes, {} acknowledgements{})",
            by_kind[1],
            by_kind[2],
            by_kind[3] + by_kind[6],
            by_kind[4],
            by_kind[5],
            match by_kind[8] {
                0 => String::new(),
                n => format!(", {n} key rotations"),
            }
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
        .map_err(|e| internal("rebuilt tree root", &e))?;
    if bad_nodes == 0 {
        report.ok(format!(
            "tree of {size} leaves: every stored node matches; root {}",
            to_hex(&root)
        ));
    } else if bad_nodes > 10 {
        report.fail(format!("... {} more tree nodes differ", bad_nodes - 10));
    }

    // 3. The key chain: each rotation retires the key the previous one brought in, and
    // the key given is one of the chain's.
    let mut chain_ok = true;
    for pair in rotations.windows(2) {
        let ((_, a), (i, b)) = (&pair[0], &pair[1]);
        if b.old != a.new {
            chain_ok = false;
            report.fail(format!(
                "leaf {i}: key rotation retires {} but the key in force is {}",
                b.old, a.new
            ));
        }
    }
    let first_key = rotations.first().map_or(log_key, |(_, r)| &r.old);
    if !rotations.is_empty() {
        let in_chain = *first_key == *log_key || rotations.iter().any(|(_, r)| r.new == *log_key);
        if !in_chain {
            chain_ok = false;
            report.fail(format!(
                "the log key {log_key} is none of the keys the log's rotations name"
            ));
        }
        if chain_ok {
            for (i, r) in &rotations {
                report.ok(format!(
                    "leaf {i}: key rotation from {} to {}, signed by both",
                    r.old, r.new
                ));
            }
        }
    }
    // The key that must have signed a checkpoint of `size` leaves.
    let key_at = |size: u64| -> &VerifierKey {
        rotations
            .iter()
            .rev()
            .find(|(i, _)| *i < size)
            .map_or(first_key, |(_, r)| &r.new)
    };

    // 4. Checkpoints: signature, cosignatures, root against the rebuilt tree.
    let checkpoints = store.checkpoints()?;
    if checkpoints.is_empty() {
        report.fail("no signed checkpoint: nothing vouches for this log");
    }
    let mut previous: Option<(u64, Hash)> = None;
    for cp in &checkpoints {
        let log_key = key_at(cp.size);
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
        // 5. Consistency with the previous checkpoint, by an RFC 6962 proof.
        if let Some((old_size, old_root)) = previous
            && c.size <= size
        {
            let proof = rebuilt
                .consistency_proof(old_size, c.size)
                .map_err(|e| internal("consistency proof", &e))?;
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
