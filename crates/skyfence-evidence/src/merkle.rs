//! The RFC 6962 Merkle hash tree (SHA-256), as an append-only log over a pluggable
//! [`HashStore`], with inclusion and consistency proofs.
//!
//! Hashing follows RFC 6962 §2.1 (identical to RFC 9162 §2.1.1): a leaf hashes as
//! `SHA-256(0x00 || data)`, an interior node as `SHA-256(0x01 || left || right)`, and the
//! tree over `n > 1` leaves splits at `k`, the largest power of two smaller than `n`. Proofs
//! are generated per RFC 6962 §2.1.1 (`PATH`) and §2.1.2 (`SUBPROOF`) and verified with the
//! algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2, so any other RFC 6962 implementation (Go's
//! transparency-dev/merkle, Certificate Transparency) computes the same roots and accepts the
//! same proofs.

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, an interior node hash or a tree root.
pub type Hash = [u8; 32];

/// The root of the empty tree: `SHA-256("")` (RFC 6962 §2.1, `MTH({}) = SHA-256()`).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// The hash of one leaf's data: `SHA-256(0x00 || data)` (RFC 6962 §2.1). The 0x00 prefix keeps
/// a leaf from ever being mistaken for an interior node (second-preimage resistance).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)` (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Lowercase hex of a hash, for error messages and reports.
pub fn to_hex(hash: &[u8]) -> String {
    let mut s = String::with_capacity(hash.len() * 2);
    push_hex(&mut s, hash);
    s
}

/// Appends the lowercase hex of `bytes` to `s`. By table rather than `write!("{b:02x}")`:
/// a bundle's `leaves.txt` and `proofs.txt` are megabytes of hex, and the formatter took
/// about a tenth of building a bundle (BENCHMARKS.md, "Dossier").
pub fn push_hex(s: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    s.reserve(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// Parses 64 hex digits (either case) as a hash, the inverse of [`to_hex`]; `None` for any
/// other text. For hashes carried in bundles and reports.
pub fn hash_from_hex(text: &str) -> Option<Hash> {
    // Checked digit by digit first: `from_str_radix` alone would accept a leading '+'.
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// The largest power of two strictly smaller than `n` (`n >= 2`): RFC 6962 §2.1's split point.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The root of the tree over `leaf_hashes`, computed directly (RFC 6962 §2.1 `MTH`). For a
/// verifier holding all the leaves of a small tree; a log uses [`MerkleLog::root`].
pub fn root_from_leaf_hashes(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes.len() {
        0 => EMPTY_ROOT,
        1 => leaf_hashes[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(
                &root_from_leaf_hashes(&leaf_hashes[..k]),
                &root_from_leaf_hashes(&leaf_hashes[k..]),
            )
        }
    }
}

/// A failure of the storage behind a [`HashStore`] (a database error, say), kept as the
/// source so the caller sees the real cause.
#[derive(Debug, thiserror::Error)]
#[error("hash store: {0}")]
pub struct StoreError(pub Box<dyn std::error::Error + Send + Sync>);

/// One stored node: the root of the complete subtree of `2^level` leaves starting at leaf
/// `index << level`. Level 0 holds the leaf hashes themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredNode {
    /// Height above the leaves (0 = leaf).
    pub level: u8,
    /// Position within the level, counted from the left.
    pub index: u64,
    /// The node's hash.
    pub hash: Hash,
}

/// Where a [`MerkleLog`] keeps its hashes. Only complete (perfect, power-of-two) subtrees are
/// stored, addressed by `(level, index)`; they never change once written, so a persistent
/// implementation (the SQLite store) is an append-only table keyed by `(level, index)`.
/// Roots and proofs for any size are assembled from at most `2·log2(n)` stored nodes.
///
/// A SQLite implementation needs one table, e.g.
/// `CREATE TABLE merkle_node (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT
/// NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID`, with `leaf_count` = `SELECT count(*) ...
/// WHERE level = 0` (or a cached counter) and `append_nodes` in one transaction, ideally the
/// same one that stores the leaf's bytes.
pub trait HashStore {
    /// How many leaves the store holds (the number of level-0 nodes).
    fn leaf_count(&self) -> Result<u64, StoreError>;

    /// The hash of the complete subtree at `(level, index)`, or `None` if not stored.
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError>;

    /// Stores the nodes that one append completed: the leaf `(0, n)` first, then each parent
    /// that became complete, bottom-up. A persistent store should write them atomically
    /// (one transaction), so a crash never leaves a leaf without its parents.
    fn append_nodes(&mut self, nodes: &[StoredNode]) -> Result<(), StoreError>;
}

/// The in-memory [`HashStore`]: one vector of hashes per level. Used by tests, the verifier
/// and any tree rebuilt from an exported list of leaves.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl HashStore for MemoryStore {
    fn leaf_count(&self) -> Result<u64, StoreError> {
        Ok(self.levels.first().map_or(0, |l| l.len() as u64))
    }

    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        Ok(self
            .levels
            .get(level as usize)
            .and_then(|l| usize::try_from(index).ok().and_then(|i| l.get(i)))
            .copied())
    }

    fn append_nodes(&mut self, nodes: &[StoredNode]) -> Result<(), StoreError> {
        for n in nodes {
            let level = n.level as usize;
            while self.levels.len() <= level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            if row.len() as u64 != n.index {
                return Err(StoreError(
                    format!(
                        "node ({}, {}) is not the next one at its level (expected index {})",
                        n.level,
                        n.index,
                        row.len()
                    )
                    .into(),
                ));
            }
            row.push(n.hash);
        }
        Ok(())
    }
}

/// Why a log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MerkleError {
    /// A size beyond what the log holds was asked for.
    #[error("tree size {requested} is larger than the log ({size} leaves)")]
    SizeBeyondLog {
        /// The size asked for.
        requested: u64,
        /// The log's size.
        size: u64,
    },
    /// An inclusion proof for a leaf the tree of that size does not contain.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// A node the log needs is missing from the store: the store is damaged.
    #[error("hash store is missing node (level {level}, index {index}) of a {size}-leaf log")]
    MissingNode {
        /// The missing node's level.
        level: u8,
        /// The missing node's index.
        index: u64,
        /// The log's size.
        size: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An append-only RFC 6962 log over a [`HashStore`]. Appending stores the leaf hash and every
/// complete subtree it closes (amortised two hashes per leaf); roots and proofs for any past
/// size are then computed from stored nodes, so old checkpoints stay provable.
#[derive(Debug)]
pub struct MerkleLog<S: HashStore> {
    store: S,
    size: u64,
}

impl MerkleLog<MemoryStore> {
    /// An empty in-memory log.
    pub fn in_memory() -> Self {
        Self {
            store: MemoryStore::new(),
            size: 0,
        }
    }
}

impl<S: HashStore> MerkleLog<S> {
    /// Opens the log kept in `store` (reads its leaf count).
    pub fn open(store: S) -> Result<Self, MerkleError> {
        let size = store.leaf_count()?;
        Ok(Self { store, size })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The store, for callers that persist extra data beside the hashes.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Appends a leaf's data (hashed with [`leaf_hash`]) and returns its index.
    pub fn append(&mut self, leaf_data: &[u8]) -> Result<u64, MerkleError> {
        self.append_leaf_hash(leaf_hash(leaf_data))
    }

    /// Appends an already computed leaf hash and returns its index.
    pub fn append_leaf_hash(&mut self, leaf: Hash) -> Result<u64, MerkleError> {
        let index = self.size;
        let mut nodes = vec![StoredNode {
            level: 0,
            index,
            hash: leaf,
        }];
        let (mut level, mut i, mut hash) = (0u8, index, leaf);
        // A right child (odd index) completes its parent.
        while i & 1 == 1 {
            let left = self.stored(level, i - 1)?;
            hash = node_hash(&left, &hash);
            level += 1;
            i >>= 1;
            nodes.push(StoredNode {
                level,
                index: i,
                hash,
            });
        }
        self.store.append_nodes(&nodes)?;
        self.size += 1;
        Ok(index)
    }

    /// The hash of leaf `index`.
    pub fn leaf_hash_at(&self, index: u64) -> Result<Hash, MerkleError> {
        if index >= self.size {
            return Err(MerkleError::IndexOutOfRange {
                index,
                size: self.size,
            });
        }
        self.stored(0, index)
    }

    /// The root of the tree made of the first `size` leaves (RFC 6962 §2.1 `MTH`).
    pub fn root(&self, size: u64) -> Result<Hash, MerkleError> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(EMPTY_ROOT);
        }
        self.subtree(0, size)
    }

    /// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962
    /// §2.1.1 `PATH`), ordered from the leaf's sibling up to the root's child. Verify with
    /// [`verify_inclusion`].
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(size)?;
        if index >= size {
            return Err(MerkleError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof)?;
        Ok(proof)
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves (RFC
    /// 6962 §2.1.2 `PROOF`); empty when `old` is 0 or equals `new`. Verify with
    /// [`verify_consistency`].
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, MerkleError> {
        self.check_size(new)?;
        if old > new {
            return Err(MerkleError::OldLargerThanNew { old, new });
        }
        let mut proof = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut proof)?;
        }
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), MerkleError> {
        if size > self.size {
            return Err(MerkleError::SizeBeyondLog {
                requested: size,
                size: self.size,
            });
        }
        Ok(())
    }

    fn stored(&self, level: u8, index: u64) -> Result<Hash, MerkleError> {
        self.store
            .node(level, index)?
            .ok_or(MerkleError::MissingNode {
                level,
                index,
                size: self.size,
            })
    }

    /// `MTH(D[start : start + n])`, for the ranges RFC 6962's recursion produces: `start` is a
    /// multiple of the largest power of two not above `n`, so a power-of-two range is a stored
    /// complete subtree and any other splits into a stored left part and a smaller right part.
    fn subtree(&self, start: u64, n: u64) -> Result<Hash, MerkleError> {
        if n.is_power_of_two() {
            let level = n.trailing_zeros() as u8;
            return self.stored(level, start >> level);
        }
        let k = split_point(n);
        let left = self.subtree(start, k)?;
        let right = self.subtree(start + k, n - k)?;
        Ok(node_hash(&left, &right))
    }

    /// RFC 6962 §2.1.1 `PATH(m, D[start : start + n])`.
    fn path(&self, m: u64, start: u64, n: u64, out: &mut Vec<Hash>) -> Result<(), MerkleError> {
        if n <= 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m < k {
            self.path(m, start, k, out)?;
            out.push(self.subtree(start + k, n - k)?);
        } else {
            self.path(m - k, start + k, n - k, out)?;
            out.push(self.subtree(start, k)?);
        }
        Ok(())
    }

    /// RFC 6962 §2.1.2 `SUBPROOF(m, D[start : start + n], b)`.
    fn subproof(
        &self,
        m: u64,
        start: u64,
        n: u64,
        complete: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), MerkleError> {
        if m == n {
            if !complete {
                out.push(self.subtree(start, n)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            self.subproof(m, start, k, complete, out)?;
            out.push(self.subtree(start + k, n - k)?);
        } else {
            self.subproof(m - k, start + k, n - k, false, out)?;
            out.push(self.subtree(start, k)?);
        }
        Ok(())
    }
}

/// Why a proof did not verify. Each message names the sizes and hashes involved so a reader
/// of a failed verification can see what disagreed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// RFC 9162 §2.1.3.2 step 1.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The proof holds more hashes than a tree of this size needs.
    #[error("proof has {len} hashes, more than a tree of size {size} needs")]
    TooLong {
        /// Hashes in the proof.
        len: usize,
        /// The (new) tree size.
        size: u64,
    },
    /// The proof holds fewer hashes than a tree of this size needs.
    #[error("proof has {len} hashes, fewer than a tree of size {size} needs")]
    TooShort {
        /// Hashes in the proof.
        len: usize,
        /// The (new) tree size.
        size: u64,
    },
    /// The root the proof leads to is not the expected one.
    #[error("proof leads to root {computed}, expected {expected}")]
    RootMismatch {
        /// Hex of the computed root.
        computed: String,
        /// Hex of the expected root.
        expected: String,
    },
    /// A consistency proof must go from a smaller (or equal) tree to a larger one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// Two trees of the same size must have the same root (a fork otherwise).
    #[error("trees of equal size {size} have different roots {old_root} and {new_root}")]
    SameSizeDifferentRoots {
        /// The size of both trees.
        size: u64,
        /// Hex of the old root.
        old_root: String,
        /// Hex of the new root.
        new_root: String,
    },
    /// The old tree's root computed from the proof differs from the claimed old root.
    #[error("proof leads to old root {computed} for size {size}, expected {expected}")]
    OldRootMismatch {
        /// The old size.
        size: u64,
        /// Hex of the computed old root.
        computed: String,
        /// Hex of the expected old root.
        expected: String,
    },
}

/// Verifies that `leaf` is leaf number `index` of the tree of `size` leaves whose root is
/// `root`, with the algorithm of RFC 9162 §2.1.3.2.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    // Step 1.
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    // Steps 2 and 3.
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    // Step 4.
    for p in proof {
        if sn == 0 {
            return Err(ProofError::TooLong {
                len: proof.len(),
                size,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            // "If LSB(fn) is not set, then right-shift both fn and sn equally until either
            // LSB(fn) is set or fn is 0."
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    if sn != 0 {
        return Err(ProofError::TooShort {
            len: proof.len(),
            size,
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch {
            computed: to_hex(&r),
            expected: to_hex(root),
        });
    }
    Ok(())
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root`, with the algorithm of RFC 9162 §2.1.4.2. The cases
/// that algorithm leaves out are decided as RFC 9162 §2.1.4 implies: equal sizes need equal
/// roots and an empty proof, and the empty tree is a prefix of every tree (empty proof).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldLargerThanNew {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(ProofError::TooLong {
                len: proof.len(),
                size: new_size,
            });
        }
        if old_size == new_size && old_root != new_root {
            return Err(ProofError::SameSizeDifferentRoots {
                size: old_size,
                old_root: to_hex(old_root),
                new_root: to_hex(new_root),
            });
        }
        return Ok(());
    }
    // Step 1.
    let Some((&first, rest)) = proof.split_first() else {
        return Err(ProofError::TooShort {
            len: 0,
            size: new_size,
        });
    };
    // Step 2: if the old size is a power of two, the old root is the first path element.
    let (start, path): (Hash, &[Hash]) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        (first, rest)
    };
    // Step 3.
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    // Step 4.
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (start, start);
    // Step 6.
    for c in path {
        if sn == 0 {
            return Err(ProofError::TooLong {
                len: proof.len(),
                size: new_size,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            // "If LSB(fn) is not set, then right-shift both fn and sn equally until either
            // LSB(fn) is set or fn is 0."
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    // Step 7.
    if sn != 0 {
        return Err(ProofError::TooShort {
            len: proof.len(),
            size: new_size,
        });
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            size: old_size,
            computed: to_hex(&fr),
            expected: to_hex(old_root),
        });
    }
    if sr != *new_root {
        return Err(ProofError::RootMismatch {
            computed: to_hex(&sr),
            expected: to_hex(new_root),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Hash {
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    // Test vectors: transparency-dev/merkle, testonly/constants.go (LeafInputs, RootHashes,
    // NodeHashes) and proof/verify_test.go (inclusionProofs, consistencyProofs); the same
    // values Certificate Transparency's C++ merkletree tests use.
    const LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference_log() -> MerkleLog<MemoryStore> {
        let mut log = MerkleLog::in_memory();
        for (i, leaf) in LEAVES.iter().enumerate() {
            assert_eq!(log.append(leaf).unwrap(), i as u64);
        }
        log
    }

    #[test]
    fn roots_match_the_rfc6962_reference_at_every_size() {
        let log = reference_log();
        assert_eq!(EMPTY_ROOT, h(ROOTS[0]));
        let leaf_hashes: Vec<Hash> = LEAVES.iter().map(|l| leaf_hash(l)).collect();
        for (size, want) in ROOTS.iter().enumerate() {
            assert_eq!(
                to_hex(&log.root(size as u64).unwrap()),
                *want,
                "size {size}"
            );
            assert_eq!(
                to_hex(&root_from_leaf_hashes(&leaf_hashes[..size])),
                *want,
                "direct, size {size}"
            );
        }
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        let all: Vec<u8> = (0..=255).collect();
        let want: String = all.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(to_hex(&all), want);
        let mut s = String::from("x ");
        push_hex(&mut s, &[0x00, 0x0f, 0xf0, 0xab]);
        assert_eq!(s, "x 000ff0ab");
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn stored_nodes_match_the_reference_complete_subtrees() {
        // transparency-dev/merkle testonly NodeHashes(): [level][index].
        let want: [&[&str]; 4] = [
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
                "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
                "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
            ],
            &[
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            ],
            &[
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
            &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
        ];
        let log = reference_log();
        for (level, row) in want.iter().enumerate() {
            for (index, hex) in row.iter().enumerate() {
                let got = log.store().node(level as u8, index as u64).unwrap();
                assert_eq!(got.map(|g| to_hex(&g)).as_deref(), Some(*hex));
            }
        }
    }

    #[test]
    fn inclusion_proofs_match_the_reference() {
        // proof/verify_test.go inclusionProofs: (1-based leaf, size, proof).
        let cases: [(u64, u64, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                3,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                2,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        let log = reference_log();
        for (leaf, size, want) in cases {
            let index = leaf - 1;
            let proof = log.inclusion_proof(index, size).unwrap();
            let got: Vec<String> = proof.iter().map(|p| to_hex(p)).collect();
            assert_eq!(got, want, "leaf {index} size {size}");
            let root = h(ROOTS[size as usize]);
            let lh = leaf_hash(LEAVES[index as usize]);
            verify_inclusion(&lh, index, size, &proof, &root).unwrap();
            // The probes of verify_test.go's corruptInclusionProof.
            let bad_sizes = [size * 2, size / 2];
            for s in bad_sizes {
                assert!(verify_inclusion(&lh, index, s, &proof, &root).is_err());
            }
            for i in [index.wrapping_sub(1), index + 1, index ^ 2] {
                assert!(verify_inclusion(&lh, i, size, &proof, &root).is_err());
            }
            assert!(verify_inclusion(&lh, index, size, &proof, &EMPTY_ROOT).is_err());
            let mut longer = proof.clone();
            longer.push(root);
            assert!(verify_inclusion(&lh, index, size, &longer, &root).is_err());
            let mut prefixed = vec![root];
            prefixed.extend_from_slice(&proof);
            assert!(verify_inclusion(&lh, index, size, &prefixed, &root).is_err());
            if !proof.is_empty() {
                let shorter = &proof[..proof.len() - 1];
                assert!(verify_inclusion(&lh, index, size, shorter, &root).is_err());
            }
        }
    }

    #[test]
    fn consistency_proofs_match_the_reference() {
        // proof/verify_test.go consistencyProofs: (size1, size2, proof).
        let cases: [(u64, u64, &[&str]); 5] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                5,
                &[
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
            (
                6,
                7,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        let log = reference_log();
        for (old, new, want) in cases {
            let proof = log.consistency_proof(old, new).unwrap();
            let got: Vec<String> = proof.iter().map(|p| to_hex(p)).collect();
            assert_eq!(got, want, "{old} -> {new}");
            let (r1, r2) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
            verify_consistency(old, new, &r1, &r2, &proof).unwrap();
            if proof.is_empty() {
                continue;
            }
            // The probes of verify_test.go's corruptConsistencyProof.
            for (o, n) in [
                (old - 1, new),
                (old + 1, new),
                (old ^ 2, new),
                (old, new * 2),
            ] {
                assert!(verify_consistency(o, n, &r1, &r2, &proof).is_err());
            }
            assert!(verify_consistency(old, new, &r2, &r1, &proof).is_err());
            assert!(verify_consistency(old, new, &r1, &r2, &[]).is_err());
            for extra in [r1, r2, proof[0]] {
                let mut longer = proof.clone();
                longer.push(extra);
                assert!(verify_consistency(old, new, &r1, &r2, &longer).is_err());
                let mut prefixed = vec![extra];
                prefixed.extend_from_slice(&proof);
                assert!(verify_consistency(old, new, &r1, &r2, &prefixed).is_err());
            }
            let shorter = &proof[..proof.len() - 1];
            assert!(verify_consistency(old, new, &r1, &r2, shorter).is_err());
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_other_text() {
        assert_eq!(hash_from_hex(ROOTS[0]), Some(EMPTY_ROOT));
        assert_eq!(hash_from_hex(&ROOTS[0].to_uppercase()), Some(EMPTY_ROOT));
        assert_eq!(hash_from_hex(&ROOTS[0][1..]), None);
        assert_eq!(hash_from_hex(&format!("+{}", &ROOTS[0][1..])), None);
        assert_eq!(hash_from_hex(&format!("{}g", &ROOTS[0][..63])), None);
        assert_eq!(hash_from_hex(&"é".repeat(32)), None);
    }

    #[test]
    fn trivial_consistency_cases_follow_the_reference() {
        // proof/verify_test.go TestVerifyConsistency's table.
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert!(verify_consistency(0, 0, &a, &b, &[]).is_err());
        assert!(verify_consistency(1, 1, &a, &b, &[]).is_err());
        assert!(verify_consistency(0, 0, &a, &a, &[]).is_ok());
        assert!(verify_consistency(0, 1, &a, &b, &[]).is_ok());
        assert!(verify_consistency(1, 1, &b, &b, &[]).is_ok());
        assert!(verify_consistency(1, 0, &a, &b, &[]).is_err());
        assert!(verify_consistency(2, 1, &a, &b, &[]).is_err());
        assert!(verify_consistency(1, 2, &a, &b, &[]).is_err());
        let e = EMPTY_ROOT;
        assert!(verify_consistency(0, 0, &e, &e, &[e]).is_err());
        assert!(verify_consistency(0, 1, &e, &e, &[e]).is_err());
        assert!(verify_consistency(1, 1, &e, &e, &[e]).is_err());
    }

    #[test]
    fn out_of_range_requests_are_errors_not_panics() {
        let log = reference_log();
        assert!(matches!(
            log.root(9),
            Err(MerkleError::SizeBeyondLog {
                requested: 9,
                size: 8
            })
        ));
        assert!(matches!(
            log.inclusion_proof(8, 8),
            Err(MerkleError::IndexOutOfRange { index: 8, size: 8 })
        ));
        assert!(matches!(
            log.consistency_proof(5, 4),
            Err(MerkleError::OldLargerThanNew { old: 5, new: 4 })
        ));
        assert!(verify_inclusion(&[0; 32], 0, 0, &[], &EMPTY_ROOT).is_err());
        assert!(verify_inclusion(&[0; 32], u64::MAX, u64::MAX, &[], &EMPTY_ROOT).is_err());
        assert!(
            verify_consistency(
                u64::MAX - 1,
                u64::MAX,
                &EMPTY_ROOT,
                &EMPTY_ROOT,
                &[[0; 32]; 70]
            )
            .is_err()
        );
    }

    #[test]
    fn reopening_a_store_continues_the_same_log() {
        let mut log = MerkleLog::in_memory();
        for i in 0u32..37 {
            log.append(&i.to_be_bytes()).unwrap();
        }
        let root37 = log.root(37).unwrap();
        let mut log = MerkleLog::open(log.into_store()).unwrap();
        assert_eq!(log.size(), 37);
        assert_eq!(log.root(37).unwrap(), root37);
        log.append(b"more").unwrap();
        let leaves: Vec<Hash> = (0u32..37)
            .map(|i| leaf_hash(&i.to_be_bytes()))
            .chain([leaf_hash(b"more")])
            .collect();
        assert_eq!(log.root(38).unwrap(), root_from_leaf_hashes(&leaves));
    }

    fn log_of(n: u64) -> MerkleLog<MemoryStore> {
        let mut log = MerkleLog::in_memory();
        for i in 0..n {
            log.append(&i.to_le_bytes()).unwrap();
        }
        log
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_inclusion_proof_verifies_and_any_flipped_byte_fails(
            size in 1u64..200, index_seed in any::<u64>(), byte in 0usize..32, bit in 0u8..8,
        ) {
            let log = log_of(size);
            let index = index_seed % size;
            let root = log.root(size).unwrap();
            let leaf = log.leaf_hash_at(index).unwrap();
            let proof = log.inclusion_proof(index, size).unwrap();
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
            // Each proof element, the leaf and the root: flip one bit, it must fail.
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][byte] ^= 1 << bit;
                prop_assert!(verify_inclusion(&leaf, index, size, &bad, &root).is_err());
            }
            let mut bad_leaf = leaf;
            bad_leaf[byte] ^= 1 << bit;
            prop_assert!(verify_inclusion(&bad_leaf, index, size, &proof, &root).is_err());
            let mut bad_root = root;
            bad_root[byte] ^= 1 << bit;
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &bad_root).is_err());
        }

        #[test]
        fn every_consistency_proof_verifies_and_any_flipped_byte_fails(
            new in 1u64..200, old_seed in any::<u64>(), byte in 0usize..32, bit in 0u8..8,
        ) {
            let log = log_of(new);
            let old = old_seed % (new + 1);
            let (r1, r2) = (log.root(old).unwrap(), log.root(new).unwrap());
            let proof = log.consistency_proof(old, new).unwrap();
            prop_assert!(verify_consistency(old, new, &r1, &r2, &proof).is_ok());
            for i in 0..proof.len() {
                let mut bad = proof.clone();
                bad[i][byte] ^= 1 << bit;
                prop_assert!(verify_consistency(old, new, &r1, &r2, &bad).is_err());
            }
            if old > 0 {
                let mut bad1 = r1;
                bad1[byte] ^= 1 << bit;
                prop_assert!(verify_consistency(old, new, &bad1, &r2, &proof).is_err());
                let mut bad2 = r2;
                bad2[byte] ^= 1 << bit;
                prop_assert!(verify_consistency(old, new, &r1, &bad2, &proof).is_err());
            }
        }

        #[test]
        fn stored_roots_equal_the_direct_definition(size in 0u64..300) {
            let log = log_of(size);
            let leaves: Vec<Hash> = (0..size).map(|i| leaf_hash(&i.to_le_bytes())).collect();
            for s in [0, size / 3, size / 2, size] {
                prop_assert_eq!(log.root(s).unwrap(), root_from_leaf_hashes(&leaves[..s as usize]));
            }
        }
    }
}
