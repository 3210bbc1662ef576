//! The evidence log in the live service: what the service records at start,
//! the checkpoint signer, and the routes witnesses use.
//!
//! - At start ([`record_start`]): one `DatasetLoaded` leaf per zone (the zone as GeoJSON,
//!   `skyfence_store::zone_geojson`), one for the permit set (canonical JSON) and one
//!   `ConfigChanged` leaf with the configuration's detection settings, secrets removed
//!   (`crate::config_leaf`), each only when it differs from the
//!   latest recorded one, so a restart does not grow the log.
//! - The checkpoint task ([`spawn_checkpoints`]) signs a C2SP tlog-checkpoint every
//!   `[evidence] checkpoint_every_s` seconds when the log grew, and at once when an incident
//!   closes or is lost (so the record of a finished incursion is signed within moments).
//!   [`LogApi::sign_now`] signs a last one at shutdown, after the store writer's last
//!   commit.
//! - Routes ([`routes`], under `/api`, behind the bearer token like every `/api` route):
//!   `GET /api/log/checkpoint` (the latest signed note with its cosignatures, `text/plain`),
//!   `GET /api/log/consistency?old=N&new=M` (the RFC 6962 consistency proof, one base64
//!   hash a line), `GET /api/log/leaves?start=&end=` (leaves as base64, JSON),
//!   `GET /api/log/key` (the log's public key, `vkey` form) and `POST /api/log/cosignature`
//!   (a witness returns the checkpoint with its C2SP cosignature appended).
//!
//! The log signs with an Ed25519 key kept in a file of mode 0600
//! (`skyfence_evidence::keyfile`), generated on first start. Its name is the log's origin
//! (tlog-checkpoint: the key name SHOULD be the origin).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Deserialize;
use skyfence_core::Timestamp;
use skyfence_core::airspace::Zone;
use skyfence_core::detect::{DetectionConfig, Permit};
use skyfence_core::time::wall_clock;
use skyfence_evidence::{
    Checkpoint, DatasetContent, DatasetKind, EvidenceLeaf, Note, Signer, VerifierKey, keyfile,
    open_checkpoint,
};
use skyfence_store::{EvidenceLogStore, Store, StoreError, zone_geojson};

pub use skyfence_store::{SignError, sign_if_grown};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;

use super::pipeline::Published;

/// The default of `[evidence] checkpoint_every_s`.
pub const DEFAULT_CHECKPOINT_EVERY_S: f64 = 60.0;
/// Most leaves one `GET /api/log/leaves` returns.
pub const MAX_LEAVES_PER_REQUEST: u64 = 1000;

/// `[evidence]` in the config file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    /// The log's signing key file, relative to the config file; default: beside the store,
    /// the store's name with extension `.key`. Generated (mode 0600) when missing.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Seconds between checkpoints while the log grows.
    #[serde(default = "default_checkpoint_every_s")]
    pub checkpoint_every_s: f64,
    /// The log's origin (and key name), e.g. `skyfence.example/kabul`; default: the name in
    /// an existing key file, else `skyfence/<host name>`.
    #[serde(default)]
    pub origin: Option<String>,
    /// Witness public keys (`vkey` form, as `skyfence witness keygen` prints them): when
    /// given, `POST /api/log/cosignature` stores only cosignatures that verify under one of
    /// them; when empty, any well-formed cosignature of our own checkpoint is stored
    /// (verifiers check cosignatures against the witness keys they trust).
    #[serde(default)]
    pub witnesses: Vec<String>,
}

fn default_checkpoint_every_s() -> f64 {
    DEFAULT_CHECKPOINT_EVERY_S
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            key: None,
            checkpoint_every_s: DEFAULT_CHECKPOINT_EVERY_S,
            origin: None,
            witnesses: Vec::new(),
        }
    }
}

impl EvidenceConfig {
    /// Checks each value; the message names the key and what was expected.
    pub fn validate(&self) -> Result<(), String> {
        let every = self.checkpoint_every_s;
        if !(every.is_finite() && (1.0..=86_400.0).contains(&every)) {
            return Err(format!(
                "[evidence] checkpoint_every_s = {every}: expected 1 to 86400 seconds"
            ));
        }
        if let Some(origin) = &self.origin {
            Checkpoint::new(origin, 0, [0; 32]).map_err(|_| {
                format!(
                    "[evidence] origin = {origin:?}: expected a name without spaces or '+', e.g. \"skyfence.example/kabul\""
                )
            })?;
        }
        if self.witnesses.len() > skyfence_store::MAX_COSIGNATURES {
            return Err(format!(
                "[evidence] witnesses: {} keys, at most {} (the cosignatures one checkpoint keeps)",
                self.witnesses.len(),
                skyfence_store::MAX_COSIGNATURES
            ));
        }
        for w in &self.witnesses {
            VerifierKey::parse(w)
                .map_err(|e| format!("[evidence] witnesses: {w:?} is not a witness key: {e}"))?;
        }
        Ok(())
    }
}

/// The evidence settings of a running service.
#[derive(Clone, Debug)]
pub struct EvidenceSettings {
    /// The signing key file.
    pub key_path: PathBuf,
    /// The configured origin, if any (see [`EvidenceConfig::origin`]).
    pub origin: Option<String>,
    /// How often to sign while the log grows.
    pub checkpoint_every: Duration,
    /// Witness keys whose cosignatures are accepted (empty: any well-formed one).
    pub witnesses: Vec<VerifierKey>,
    /// Where the configuration came from (a path, or `"demo"`).
    pub config_source: String,
    /// The configuration in force as recorded in the `ConfigChanged` leaf: its detection
    /// settings with every secret removed ([`crate::config_leaf::recorded_config`]).
    pub config_text: Vec<u8>,
}

impl EvidenceSettings {
    /// From a validated config: a relative key path is relative to the config file; the
    /// default key sits beside the store. `config_text` is the file's text; what is
    /// recorded of it is [`crate::config_leaf::recorded_config`] (no secrets).
    pub fn from_config(
        config: &EvidenceConfig,
        base_dir: &Path,
        store_path: &Path,
        config_source: &str,
        config_text: &str,
    ) -> anyhow::Result<Self> {
        let witnesses = config
            .witnesses
            .iter()
            .map(|w| VerifierKey::parse(w).map_err(|e| anyhow::anyhow!("witness key {w:?}: {e}")))
            .collect::<anyhow::Result<_>>()?;
        Ok(EvidenceSettings {
            key_path: key_path(config, base_dir, store_path),
            origin: config.origin.clone(),
            checkpoint_every: Duration::from_secs_f64(config.checkpoint_every_s),
            witnesses,
            config_source: config_source.to_owned(),
            config_text: crate::config_leaf::recorded_config(config_text).into_bytes(),
        })
    }
}

impl EvidenceSettings {
    /// From a loaded [`crate::config::Config`]: its `[evidence]` section, its store path and
    /// the text it was loaded from (empty for a config not read from a file).
    pub fn for_config(config: &crate::config::Config) -> anyhow::Result<Self> {
        let (source, text) = match &config.loaded_from {
            Some((path, text)) => (path.display().to_string(), text.as_str()),
            None => ("config".to_owned(), ""),
        };
        let store = config.store.location(&config.base_dir)?;
        // The key defaults to a file beside an SQLite store; a server's store (PostgreSQL)
        // has no such place, so its key must be named.
        let store_file = match (store.file(), &config.evidence.key) {
            (Some(file), _) => file.to_path_buf(),
            (None, Some(_)) => PathBuf::new(), // unused: `key_path` takes the named key
            (None, None) => anyhow::bail!(
                "store {store} is not a file: give [evidence] key = \"FILE\" for the log's signing key"
            ),
        };
        Self::from_config(
            &config.evidence,
            &config.base_dir,
            &store_file,
            &source,
            text,
        )
    }

    /// For `skyfence demo`, which has no config file: records the effective settings
    /// ([`effective_config_toml`]) and keeps the key beside the demo's store.
    pub fn for_demo(&mut self, detection: &DetectionConfig, permits: &[Permit], store: &Path) {
        self.config_source = "demo".to_owned();
        self.config_text = effective_config_toml(detection, permits).into_bytes();
        self.key_path = store.with_extension("key");
    }
}

/// The evidence side of a starting service: loads (or generates) the log key, opens the
/// log's connections, records the datasets and configuration in force, and signs a
/// checkpoint if the log grew since the last one.
pub async fn start(
    settings: &EvidenceSettings,
    store: &dyn Store,
    zones: &[Zone],
    permits: &[Permit],
) -> anyhow::Result<LogApi> {
    let signer = load_continuing_key(store, &settings.key_path, settings.origin.as_deref())?;
    check_tree(store, &signer)?;
    let log = LogApi::open(store, signer, settings.witnesses.clone())?;
    let (inner, settings_c, zones, permits) = (
        log.inner.clone(),
        settings.clone(),
        zones.to_vec(),
        permits.to_vec(),
    );
    let recorded = tokio::task::spawn_blocking(move || {
        let mut store = inner
            .writer
            .lock()
            .map_err(|_| anyhow::anyhow!("evidence writer lock poisoned"))?;
        record_start(&mut **store, &zones, &permits, &settings_c, wall_clock())
    })
    .await??;
    tracing::info!(
        origin = log.inner.signer.name(),
        public_key = %log.verifier_key(),
        zones_recorded = recorded.zones,
        permits_recorded = recorded.permits,
        config_recorded = recorded.config,
        "evidence log open"
    );
    log.sign_now().await;
    Ok(log)
}

/// The signing key file `[evidence] key` names (relative to `base_dir`, the config's
/// directory), or by default the store path with extension `.key`.
pub fn key_path(config: &EvidenceConfig, base_dir: &Path, store_path: &Path) -> PathBuf {
    match &config.key {
        Some(k) => base_dir.join(k),
        None => store_path.with_extension("key"),
    }
}

/// The default origin: `skyfence/<host name>` (characters a key name may not hold become
/// `-`), or `skyfence/local` when the host name is unknown.
pub fn default_origin() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "local".to_owned());
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_whitespace() || c == '+' || c.is_control() {
                '-'
            } else {
                c
            }
        })
        .collect();
    format!("skyfence/{host}")
}

/// Loads the log's signing key for a store that may already hold checkpoints: key
/// continuity. A log whose checkpoints were signed by one key and continue under another
/// cannot be linked to its past by a verifier or witness, so a store with a checkpoint
/// refuses a missing key file (rather than generating a new key) and a key that did not
/// sign its latest checkpoint (a swapped file). A store without checkpoints takes
/// [`load_log_key`] as it is (first start: the key is generated).
pub fn load_continuing_key(
    store: &dyn EvidenceLogStore,
    path: &Path,
    origin: Option<&str>,
) -> anyhow::Result<Signer> {
    let latest = store
        .latest_checkpoint()
        .context("reading the store's latest checkpoint")?;
    let signed_by = |note: &str| {
        Note::parse(note.as_bytes())
            .map(|n| {
                n.signatures
                    .iter()
                    .map(|s| format!("{} (key id {:08x})", s.name, s.key_id))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|e| format!("an unreadable note: {e}"))
    };
    if let Some(cp) = &latest
        && !path.exists()
    {
        anyhow::bail!(
            "the log key {} is missing, but the store {} holds checkpoints (the latest, of size {}, signed by {}): restore that key file; a new key would start a log nobody can link to the signed one",
            path.display(),
            store.log_location(),
            cp.size,
            signed_by(&cp.note)
        );
    }
    if let Some((leaf, rotation)) = crate::key_rotation::pending(store)? {
        anyhow::bail!(
            "the store {} holds a key rotation (leaf {leaf}, from {} to {}) that no checkpoint includes yet: run `skyfence log rotate-key` again to finish it (it needs the new key {})",
            store.log_location(),
            rotation.old,
            rotation.new,
            crate::key_rotation::staged_path(path).display()
        );
    }
    let signer = load_log_key(path, origin)?;
    if let Some(cp) = &latest
        && open_checkpoint(cp.note.as_bytes(), &signer.verifier_key(), &[]).is_err()
    {
        anyhow::bail!(
            "the log key {} ({}) did not sign the store's latest checkpoint (size {}, signed by {}): refusing to go on under another key; restore the key file that signed the log",
            path.display(),
            signer.verifier_key(),
            cp.size,
            signed_by(&cp.note)
        );
    }
    Ok(signer)
}

/// The start's check of the evidence tree: the stored tree must still have the root the
/// latest checkpoint signed (cheap: the root is read from stored nodes). A mismatch means
/// the store was changed outside skyfence; signing on would extend a history the signed
/// checkpoints contradict.
pub fn check_tree(store: &dyn EvidenceLogStore, signer: &Signer) -> anyhow::Result<()> {
    let Some(cp) = store
        .latest_checkpoint()
        .context("reading the store's latest checkpoint")?
    else {
        return Ok(());
    };
    let opened = open_checkpoint(cp.note.as_bytes(), &signer.verifier_key(), &[])
        .map_err(|e| anyhow::anyhow!("the store's latest checkpoint (size {}): {e}", cp.size))?;
    let root = store
        .evidence_root(cp.size)
        .with_context(|| format!("computing the evidence tree's root at size {}", cp.size))?;
    if root != opened.checkpoint.root {
        anyhow::bail!(
            "the evidence log in {} does not match its latest signed checkpoint: at size {} \
             the tree's root is {} but the checkpoint signed {}; the store was changed \
             outside skyfence. Restore it from a backup or a witness's mirror and run \
             `skyfence log verify`",
            store.log_location(),
            cp.size,
            skyfence_evidence::to_hex(&root),
            skyfence_evidence::to_hex(&opened.checkpoint.root)
        );
    }
    Ok(())
}

/// Loads the log's signing key from `path`, generating it (mode 0600) on first start.
/// The key's name is the origin: `origin` when given (an existing file must match it),
/// else the name in the existing file, else [`default_origin`].
pub fn load_log_key(path: &Path, origin: Option<&str>) -> anyhow::Result<Signer> {
    let name = match origin {
        Some(o) => o.to_owned(),
        None => match std::fs::read_to_string(path) {
            // The name is read from the file here; `load_or_generate` then checks the
            // file's mode and the key proper.
            Ok(text) => Signer::from_private_key_text(text.trim_end())
                .map(|s| s.name().to_owned())
                .map_err(|e| anyhow::anyhow!("log key {}: {e}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => default_origin(),
            Err(e) => anyhow::bail!("cannot read the log key {}: {e}", path.display()),
        },
    };
    let (signer, generated) = keyfile::load_or_generate(path, &name)
        .with_context(|| format!("log key {}", path.display()))?;
    if generated {
        tracing::info!(
            key = %path.display(),
            public_key = %signer.verifier_key(),
            "generated the evidence log's signing key (give the public key to verifiers and witnesses)"
        );
    }
    Ok(signer)
}

/// The effective settings `skyfence demo` runs with, as TOML (it has no config file of
/// its own): `[detection]` and the permits as `[[allow]]`, so a verifier can re-run
/// detection with exactly these thresholds.
pub fn effective_config_toml(detection: &DetectionConfig, permits: &[Permit]) -> String {
    #[derive(serde::Serialize)]
    struct Effective<'a> {
        detection: &'a DetectionConfig,
        #[serde(rename = "allow")]
        permits: &'a [Permit],
    }
    toml::to_string(&Effective { detection, permits }).unwrap_or_else(|e| {
        // Every field is a number, a string or a time: not expected.
        format!("# cannot render the effective settings: {e}\n")
    })
}

/// The permit set as recorded in its `DatasetLoaded` leaf: a JSON array of the `[[allow]]`
/// entries in config order (serde_json prints struct fields in declaration order, so the
/// same permits give the same bytes).
pub fn permits_json(permits: &[Permit]) -> Vec<u8> {
    serde_json::to_vec(permits).unwrap_or_default()
}

/// The name of the permit set's dataset leaf.
pub const PERMITS_NAME: &str = "permits";

/// What [`record_start`] appended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recorded {
    /// Zones whose leaf was new or changed.
    pub zones: usize,
    /// Whether the permit set was new or changed.
    pub permits: bool,
    /// Whether the configuration was new or changed.
    pub config: bool,
}

/// Records the zones, permits and configuration in force (see the module documentation).
pub fn record_start(
    store: &mut dyn EvidenceLogStore,
    zones: &[Zone],
    permits: &[Permit],
    settings: &EvidenceSettings,
    now: Timestamp,
) -> anyhow::Result<Recorded> {
    let mut recorded = Recorded::default();
    for zone in zones {
        let provenance =
            skyfence_evidence::hash_from_hex(&zone.provenance.sha256).with_context(|| {
                format!(
                    "zone {:?} has provenance hash {:?}, expected 64 hex digits",
                    zone.name, zone.provenance.sha256
                )
            })?;
        let leaf = EvidenceLeaf::DatasetLoaded {
            kind: DatasetKind::Zones,
            name: zone.name.clone(),
            loaded_at_us: now.as_micros(),
            provenance_sha256: provenance,
            content: DatasetContent::Bytes(zone_geojson(zone)),
        };
        if store.append_if_changed(&leaf)?.is_some() {
            recorded.zones += 1;
        }
    }
    let permits_bytes = permits_json(permits);
    let permits_leaf = EvidenceLeaf::DatasetLoaded {
        kind: DatasetKind::Permits,
        name: PERMITS_NAME.to_owned(),
        loaded_at_us: now.as_micros(),
        provenance_sha256: sha256(settings.config_source.as_bytes()),
        content: DatasetContent::Bytes(permits_bytes),
    };
    recorded.permits = store.append_if_changed(&permits_leaf)?.is_some();
    let config_leaf = EvidenceLeaf::ConfigChanged {
        at_us: now.as_micros(),
        source: settings.config_source.clone(),
        config: settings.config_text.clone(),
    };
    recorded.config = store.append_if_changed(&config_leaf)?.is_some();
    Ok(recorded)
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).into()
}

/// The log's state shared by the checkpoint task and the routes: cheap to clone.
#[derive(Clone)]
pub struct LogApi {
    inner: Arc<LogInner>,
}

struct LogInner {
    signer: Signer,
    witnesses: Vec<VerifierKey>,
    /// The checkpoint signer's and cosignature writer's connection.
    writer: Mutex<Box<dyn Store>>,
    /// Reads for the GET routes.
    reader: Mutex<Box<dyn Store>>,
}

impl LogApi {
    /// Opens the log's own connections to the store `store` is connected to.
    pub fn open(
        store: &dyn Store,
        signer: Signer,
        witnesses: Vec<VerifierKey>,
    ) -> anyhow::Result<Self> {
        let writer = store
            .writer()
            .context("opening the evidence log's connection")?;
        let reader = writer.reader().context("opening an evidence log reader")?;
        Ok(LogApi {
            inner: Arc::new(LogInner {
                signer,
                witnesses,
                writer: Mutex::new(writer),
                reader: Mutex::new(reader),
            }),
        })
    }

    /// The log's public key (`vkey` form).
    pub fn verifier_key(&self) -> VerifierKey {
        self.inner.signer.verifier_key()
    }

    /// Signs a checkpoint now if the log grew (on a blocking thread); logs failures.
    pub async fn sign_now(&self) -> Option<u64> {
        let inner = self.inner.clone();
        let result = tokio::task::spawn_blocking(move || {
            let mut store = inner
                .writer
                .lock()
                .map_err(|_| SignError::Checkpoint("evidence writer lock poisoned".into()))?;
            sign_if_grown(&mut **store, &inner.signer, wall_clock())
        })
        .await;
        match result {
            Ok(Ok(Some(size))) => {
                tracing::info!(size, "evidence checkpoint signed");
                Some(size)
            }
            Ok(Ok(None)) => None,
            Ok(Err(e)) => {
                tracing::error!("evidence checkpoint failed: {e}");
                None
            }
            Err(e) => {
                tracing::error!("evidence checkpoint task failed: {e}");
                None
            }
        }
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, Failure> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let store = inner
                .reader
                .lock()
                .map_err(|_| failure(StatusCode::INTERNAL_SERVER_ERROR, "reader lock poisoned"))?;
            f(&**store).map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
        })
        .await
        .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
    }
}

/// Starts the checkpoint task: every `every` when the log grew, and at once after each
/// stored `closed` or `lost` event, until shutdown.
pub fn spawn_checkpoints(
    log: LogApi,
    every: Duration,
    mut events: broadcast::Receiver<Arc<Published>>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                e = events.recv() => match e {
                    Ok(p) if p.kind == "closed" || p.kind == "lost" => {}
                    Ok(_) => continue,
                    // Missed events: sign anyway, something may have closed.
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                () = super::source::stopped(&mut shutdown) => return,
            }
            log.sign_now().await;
        }
    })
}

/// An error response of the log routes: `{"error": "..."}` with a status.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "error": self.message })),
        )
            .into_response()
    }
}

fn failure(status: StatusCode, message: impl Into<String>) -> Failure {
    Failure {
        status,
        message: message.into(),
    }
}

fn text(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// The query of `GET /api/log/consistency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The smaller tree size (the one the witness cosigned).
    pub old: u64,
    /// The larger tree size.
    pub new: u64,
}

/// The query of `GET /api/log/leaves`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeavesQuery {
    /// First index.
    pub start: u64,
    /// One past the last index (at most [`MAX_LEAVES_PER_REQUEST`] after `start`).
    pub end: u64,
}

/// The routes of the log (merged under `/api`, so the bearer token applies).
pub fn routes<S>(log: LogApi) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let (l1, l2, l3, l4, l5) = (log.clone(), log.clone(), log.clone(), log.clone(), log);
    Router::new()
        .route(
            "/log/checkpoint",
            get(move || {
                let log = l1.clone();
                async move {
                    match log.read(|s| s.latest_checkpoint()).await {
                        Ok(Some(cp)) => text(cp.note),
                        Ok(None) => failure(StatusCode::NOT_FOUND, "no checkpoint signed yet")
                            .into_response(),
                        Err(r) => r.into_response(),
                    }
                }
            }),
        )
        .route(
            "/log/consistency",
            get(move |q: Result<Query<ConsistencyQuery>, _>| {
                let log = l2.clone();
                async move { consistency(log, q).await }
            }),
        )
        .route(
            "/log/leaves",
            get(move |q: Result<Query<LeavesQuery>, _>| {
                let log = l3.clone();
                async move { leaves(log, q).await }
            }),
        )
        .route(
            "/log/key",
            get(move || {
                let key = l4.verifier_key().to_string();
                async move { text(format!("{key}\n")) }
            }),
        )
        .route(
            "/log/cosignature",
            post(move |body: String| {
                let log = l5.clone();
                async move { cosignature(log, body).await }
            }),
        )
}

async fn consistency(
    log: LogApi,
    query: Result<Query<ConsistencyQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return failure(StatusCode::BAD_REQUEST, e.body_text()).into_response(),
    };
    let size = match log.read(|s| s.evidence_size()).await {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if q.old > q.new || q.new > size {
        return failure(
            StatusCode::BAD_REQUEST,
            format!(
                "old={} new={}: expected old <= new <= {size} (the log's size)",
                q.old, q.new
            ),
        )
        .into_response();
    }
    match log.read(move |s| s.consistency_proof(q.old, q.new)).await {
        Ok(proof) => text(proof.iter().map(|h| B64.encode(h) + "\n").collect()),
        Err(r) => r.into_response(),
    }
}

async fn leaves(
    log: LogApi,
    query: Result<Query<LeavesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => return failure(StatusCode::BAD_REQUEST, e.body_text()).into_response(),
    };
    if q.end < q.start || q.end - q.start > MAX_LEAVES_PER_REQUEST {
        return failure(
            StatusCode::BAD_REQUEST,
            format!(
                "start={} end={}: expected start <= end <= start + {MAX_LEAVES_PER_REQUEST}",
                q.start, q.end
            ),
        )
        .into_response();
    }
    match log.read(move |s| s.evidence_leaves(q.start, q.end)).await {
        Ok(rows) => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|(i, b)| serde_json::json!({"index": i, "leaf": B64.encode(b)}))
                .collect();
            axum::Json(list).into_response()
        }
        Err(r) => r.into_response(),
    }
}

/// `POST /api/log/cosignature`: the body is one of our checkpoints with cosignature lines
/// appended. Our signature must verify, and at least one cosignature by a configured
/// witness key (`[evidence] witnesses`) must verify; only those are stored, so nothing a
/// client without a witness's private key can POST reaches the store. Without configured
/// witness keys the route refuses every request (403): an unverifiable cosignature in the
/// log's checkpoints would mislead exports, witnesses and `log verify`.
async fn cosignature(log: LogApi, body: String) -> Response {
    if log.inner.witnesses.is_empty() {
        return failure(
            StatusCode::FORBIDDEN,
            "cosignatures are refused: no witness keys are configured ([evidence] witnesses)",
        )
        .into_response();
    }
    let inner = log.inner.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<(u64, usize), Failure> {
        let bad = |m: String| failure(StatusCode::BAD_REQUEST, m);
        let opened = open_checkpoint(
            body.as_bytes(),
            &inner.signer.verifier_key(),
            &inner.witnesses,
        )
        .map_err(|e| bad(format!("checkpoint rejected: {e}")))?;
        let ours = inner.signer.verifier_key();
        let foreign: Vec<_> = opened
            .note
            .signatures
            .iter()
            .filter(|s| !(s.name == ours.name() && s.key_id == ours.key_id()))
            .collect();
        if foreign.is_empty() {
            return Err(bad("the note carries no cosignature".into()));
        }
        // tlog-cosignature "Format": a cosignature/v1 signature is an 8-byte timestamp and
        // a 64-byte Ed25519 signature after the key id.
        if let Some(s) = foreign.iter().find(|s| s.signature.len() != 72) {
            return Err(bad(format!(
                "signature by {:?} is {} bytes after its key id, expected 72 (a cosignature/v1)",
                s.name,
                s.signature.len()
            )));
        }
        if opened.cosignatures.is_empty() {
            return Err(failure(
                StatusCode::FORBIDDEN,
                "no cosignature from a configured witness ([evidence] witnesses)",
            ));
        }
        // Keep only our signature and the verified cosignatures.
        let mut keep = Note {
            text: opened.note.text.clone(),
            signatures: Vec::new(),
        };
        for s in &opened.note.signatures {
            let verified = (s.name == ours.name() && s.key_id == ours.key_id())
                || opened
                    .cosignatures
                    .iter()
                    .any(|v| v.name == s.name && v.key_id == s.key_id);
            if verified {
                keep.signatures.push(s.clone());
            }
        }
        let note = keep.to_text();
        let size = opened.checkpoint.size;
        let mut store = inner
            .writer
            .lock()
            .map_err(|_| failure(StatusCode::INTERNAL_SERVER_ERROR, "writer lock poisoned"))?;
        let added = store.add_cosignature(size, &note).map_err(|e| match e {
            StoreError::Conflict { .. } | StoreError::NotFound { .. } => {
                failure(StatusCode::CONFLICT, e.to_string())
            }
            other => failure(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
        })?;
        Ok((size, added))
    })
    .await;
    match result {
        Ok(Ok((size, added))) => {
            if added > 0 {
                tracing::info!(size, added, "witness cosignature stored");
            }
            axum::Json(serde_json::json!({"size": size, "stored": added})).into_response()
        }
        Ok(Err(r)) => r.into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_are_checked() {
        let ok = EvidenceConfig::default();
        assert_eq!(ok.validate(), Ok(()));
        let e = EvidenceConfig {
            checkpoint_every_s: 0.5,
            ..EvidenceConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("checkpoint_every_s = 0.5"), "{e}");
        let e = EvidenceConfig {
            origin: Some("a log".into()),
            ..EvidenceConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("\"a log\""), "{e}");
        let e = EvidenceConfig {
            witnesses: vec!["nonsense".into()],
            ..EvidenceConfig::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.contains("\"nonsense\""), "{e}");
    }

    #[test]
    fn key_path_defaults_beside_the_store() {
        let c = EvidenceConfig::default();
        assert_eq!(
            key_path(&c, Path::new("/etc/skyfence"), Path::new("/var/lib/sf.db")),
            PathBuf::from("/var/lib/sf.key")
        );
        let c = EvidenceConfig {
            key: Some("keys/log.key".into()),
            ..EvidenceConfig::default()
        };
        assert_eq!(
            key_path(&c, Path::new("/etc/skyfence"), Path::new("/var/lib/sf.db")),
            PathBuf::from("/etc/skyfence/keys/log.key")
        );
    }

    #[test]
    fn default_origin_is_a_valid_key_name() {
        let o = default_origin();
        assert!(o.starts_with("skyfence/"), "{o}");
        assert!(Checkpoint::new(&o, 0, [0; 32]).is_ok(), "{o}");
    }

    #[test]
    fn the_demo_config_renders_detection_and_permits() {
        let detection = DetectionConfig {
            confirm_s: 0.25,
            track_timeout_s: 3.0,
            max_speed_mps: 20_000.0,
        };
        let text = effective_config_toml(&detection, &[]);
        let back: toml::Table = toml::from_str(&text).unwrap();
        let d = back["detection"].as_table().unwrap();
        assert_eq!(d["confirm_s"].as_float(), Some(0.25));
        assert_eq!(d["track_timeout_s"].as_float(), Some(3.0));
        assert_eq!(d["max_speed_mps"].as_float(), Some(20_000.0));
        // And the service's own config parser reads it back.
        let parsed = crate::config::Config::parse(&text).unwrap();
        assert_eq!(parsed.detection, detection);
    }

    #[test]
    fn a_restart_records_nothing_new_and_a_changed_zone_is_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = skyfence_store::open(
            &skyfence_store::StoreUrl::sqlite(dir.path().join("s.db")),
            skyfence_store::StoreOptions::default(),
        )
        .unwrap();
        let zones = skyfence_core::airspace::load::parse_geojson(
            "z.geojson",
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"Z"},
            "geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}]}"#,
        )
        .unwrap();
        let settings = EvidenceSettings {
            key_path: dir.path().join("k"),
            origin: None,
            checkpoint_every: Duration::from_secs(60),
            witnesses: vec![],
            config_source: "c.toml".into(),
            config_text: b"[detection]\n".to_vec(),
        };
        let t = Timestamp::from_secs(1_700_000_000);
        let first = record_start(&mut *store, &zones, &[], &settings, t).unwrap();
        assert_eq!(
            first,
            Recorded {
                zones: 1,
                permits: true,
                config: true
            }
        );
        assert_eq!(store.evidence_size().unwrap(), 3);
        let again = record_start(&mut *store, &zones, &[], &settings, t).unwrap();
        assert_eq!(again, Recorded::default());
        let mut moved = zones.clone();
        moved[0].buffer_m = 500.0;
        let third = record_start(&mut *store, &moved, &[], &settings, t).unwrap();
        assert_eq!(third.zones, 1);
        assert_eq!(store.evidence_size().unwrap(), 4);

        // Checkpoints: one at the first call, none until the log grows.
        let signer = Signer::from_seed("skyfence.example/t", [9; 32]).unwrap();
        assert_eq!(sign_if_grown(&mut *store, &signer, t).unwrap(), Some(4));
        assert_eq!(sign_if_grown(&mut *store, &signer, t).unwrap(), None);
        let cp = store.latest_checkpoint().unwrap().unwrap();
        let opened = open_checkpoint(cp.note.as_bytes(), &signer.verifier_key(), &[]).unwrap();
        assert_eq!(opened.checkpoint.root, store.evidence_root(4).unwrap());
    }

    #[test]
    fn the_log_key_is_generated_once_with_mode_0600_and_keeps_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.key");
        let a = load_log_key(&path, Some("skyfence.example/a")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Without a configured origin, the file's name is used.
        let b = load_log_key(&path, None).unwrap();
        assert_eq!(b.verifier_key(), a.verifier_key());
        // A different configured origin is refused rather than silently re-keyed.
        assert!(load_log_key(&path, Some("skyfence.example/b")).is_err());
    }

    /// A store whose evidence tree was changed behind the log's back (a leaf's stored
    /// hash rewritten) is refused at start: its root no longer matches the signed checkpoint.
    #[test]
    fn a_changed_tree_is_refused_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let mut store = skyfence_store::open(
            &skyfence_store::StoreUrl::sqlite(db.clone()),
            skyfence_store::StoreOptions::default(),
        )
        .unwrap();
        let key = dir.path().join("log.key");
        let signer = load_continuing_key(&*store, &key, Some("skyfence.example/k")).unwrap();
        // Nothing signed yet: nothing to compare.
        check_tree(&*store, &signer).unwrap();
        for at_us in 1..=5 {
            store
                .append_evidence(&EvidenceLeaf::ConfigChanged {
                    at_us,
                    source: "t".into(),
                    config: format!("x{at_us}").into_bytes(),
                })
                .unwrap();
        }
        sign_if_grown(&mut *store, &signer, Timestamp::from_secs(1_700_000_000)).unwrap();
        check_tree(&*store, &signer).unwrap();
        drop(store);

        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "DROP TRIGGER evidence_leaves_only_clear;
             UPDATE evidence_leaves SET hash = zeroblob(32) WHERE idx = 4;",
        )
        .unwrap();
        drop(conn);
        let store = skyfence_store::open(
            &skyfence_store::StoreUrl::sqlite(db),
            skyfence_store::StoreOptions::default(),
        )
        .unwrap();
        let e = check_tree(&*store, &signer).unwrap_err().to_string();
        assert!(
            e.contains("does not match its latest signed checkpoint") && e.contains("size 5"),
            "{e}"
        );
    }

    /// Regression: a deleted log key was silently replaced by a new one, and a swapped key
    /// file silently used, splitting the log's checkpoints between two keys.
    #[test]
    fn a_store_with_checkpoints_keeps_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = skyfence_store::open(
            &skyfence_store::StoreUrl::sqlite(dir.path().join("s.db")),
            skyfence_store::StoreOptions::default(),
        )
        .unwrap();
        let key = dir.path().join("log.key");
        // First start: no checkpoint, the key is generated.
        let signer = load_continuing_key(&*store, &key, Some("skyfence.example/k")).unwrap();
        store
            .append_evidence(&EvidenceLeaf::ConfigChanged {
                at_us: 1,
                source: "t".into(),
                config: b"x".to_vec(),
            })
            .unwrap();
        sign_if_grown(&mut *store, &signer, Timestamp::from_secs(1_700_000_000)).unwrap();
        // The same key: accepted.
        let again = load_continuing_key(&*store, &key, None).unwrap();
        assert_eq!(again.verifier_key(), signer.verifier_key());

        // The key file deleted: refused, not regenerated.
        let saved = std::fs::read(&key).unwrap();
        std::fs::remove_file(&key).unwrap();
        let e = load_continuing_key(&*store, &key, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is missing") && e.contains("skyfence.example/k"),
            "{e}"
        );
        assert!(!key.exists(), "no key was generated");

        // Another key under the same name: refused.
        let other = dir.path().join("other.key");
        load_log_key(&other, Some("skyfence.example/k")).unwrap();
        std::fs::copy(&other, &key).unwrap();
        let e = load_continuing_key(&*store, &key, None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("did not sign the store's latest checkpoint"),
            "{e}"
        );

        // The right key restored: accepted.
        std::fs::write(&key, saved).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        load_continuing_key(&*store, &key, None).unwrap();
    }

    /// A log of three leaves with a signed checkpoint, and its API.
    async fn log_with_checkpoint(
        dir: &Path,
        witnesses: Vec<VerifierKey>,
    ) -> (LogApi, Signer, String) {
        let signer = Signer::from_seed("skyfence.example/api", [11; 32]).unwrap();
        let path = dir.join("s.db");
        {
            let mut store = skyfence_store::open(
                &skyfence_store::StoreUrl::sqlite(&path),
                skyfence_store::StoreOptions::default(),
            )
            .unwrap();
            for i in 0..3u8 {
                store
                    .append_evidence(&EvidenceLeaf::ConfigChanged {
                        at_us: i64::from(i),
                        source: "t".into(),
                        config: vec![i],
                    })
                    .unwrap();
            }
        }
        let store = skyfence_store::open(
            &skyfence_store::StoreUrl::sqlite(&path),
            skyfence_store::StoreOptions::default(),
        )
        .unwrap();
        let log = LogApi::open(&*store, signer.clone(), witnesses).unwrap();
        assert_eq!(log.sign_now().await, Some(3));
        let note = log
            .read(|s| s.latest_checkpoint())
            .await
            .unwrap()
            .unwrap()
            .note;
        (log, signer, note)
    }

    #[tokio::test]
    async fn cosignatures_are_checked_before_they_are_stored() {
        let dir = tempfile::tempdir().unwrap();
        let trusted = Signer::from_seed("witness.example/trusted", [12; 32]).unwrap();
        let stranger = Signer::from_seed("witness.example/stranger", [13; 32]).unwrap();
        let (log, signer, note) =
            log_with_checkpoint(dir.path(), vec![trusted.cosignature_verifier_key()]).await;
        let cosigned_by = |w: &Signer| {
            let mut witness = skyfence_evidence::Witness::new(w.clone());
            witness.add_log(signer.name(), signer.verifier_key());
            witness
                .cosign(note.as_bytes(), &[], 1_700_000_000)
                .unwrap()
                .note
        };
        // Nothing but our own signature: nothing to store.
        let r = cosignature(log.clone(), note.clone()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // A witness not configured: refused.
        let r = cosignature(log.clone(), cosigned_by(&stranger)).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        // Another log's checkpoint: refused.
        let other = Signer::from_seed("skyfence.example/api", [14; 32]).unwrap();
        let forged = Checkpoint::new(other.name(), 3, [0; 32])
            .unwrap()
            .sign(&other)
            .unwrap();
        let r = cosignature(log.clone(), forged).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        // The configured witness: stored, once.
        let r = cosignature(log.clone(), cosigned_by(&trusted)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let cp = log.read(|s| s.latest_checkpoint()).await.unwrap().unwrap();
        assert_eq!(cp.cosignatures, 1);
        let opened = open_checkpoint(
            cp.note.as_bytes(),
            &signer.verifier_key(),
            &[trusted.cosignature_verifier_key()],
        )
        .unwrap();
        assert_eq!(opened.cosignatures[0].name, "witness.example/trusted");
    }

    /// Regression: without configured witness keys any well-formed cosignature used to be
    /// stored, and hundreds of junk ones broke export, the witness and `log verify`.
    #[tokio::test]
    async fn without_configured_witnesses_no_cosignature_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let (log, signer, note) = log_with_checkpoint(dir.path(), vec![]).await;
        let other = Signer::from_seed("someone.example/x", [15; 32]).unwrap();
        for i in 0..20 {
            let mut parsed = Note::parse(note.as_bytes()).unwrap();
            parsed
                .signatures
                .push(other.cosign(&parsed.text, 1_700_000_000 + i));
            let r = cosignature(log.clone(), parsed.to_text()).await;
            assert_eq!(r.status(), StatusCode::FORBIDDEN);
        }
        let cp = log.read(|s| s.latest_checkpoint()).await.unwrap().unwrap();
        assert_eq!(cp.cosignatures, 0);
        assert_eq!(cp.note, note);
        open_checkpoint(cp.note.as_bytes(), &signer.verifier_key(), &[]).unwrap();
    }

    /// Each configured witness is stored once per checkpoint, however often it POSTs;
    /// junk beside its cosignature is dropped; and a store holds at most
    /// `MAX_COSIGNATURES` per checkpoint even when written around the route.
    #[tokio::test]
    async fn a_checkpoint_keeps_a_bounded_number_of_cosignatures() {
        let dir = tempfile::tempdir().unwrap();
        let trusted = Signer::from_seed("witness.example/trusted", [12; 32]).unwrap();
        let (log, signer, note) =
            log_with_checkpoint(dir.path(), vec![trusted.cosignature_verifier_key()]).await;
        let junk = Signer::from_seed("junk.example/x", [16; 32]).unwrap();
        for i in 0..5 {
            let mut parsed = Note::parse(note.as_bytes()).unwrap();
            parsed
                .signatures
                .push(trusted.cosign(&parsed.text, 1_700_000_000 + i));
            parsed
                .signatures
                .push(junk.cosign(&parsed.text, 1_700_000_000 + i));
            let r = cosignature(log.clone(), parsed.to_text()).await;
            assert_eq!(r.status(), StatusCode::OK);
        }
        let cp = log.read(|s| s.latest_checkpoint()).await.unwrap().unwrap();
        assert_eq!(cp.cosignatures, 1);
        assert!(!cp.note.contains("junk.example"), "{}", cp.note);

        // Written straight into the store (as an older version did): the cap holds.
        let mut writer = log.inner.writer.lock().unwrap();
        let mut refused = 0;
        for i in 0..(skyfence_store::MAX_COSIGNATURES + 4) {
            let junk = Signer::from_seed(&format!("junk.example/{i}"), [i as u8; 32]).unwrap();
            let mut parsed = Note::parse(note.as_bytes()).unwrap();
            parsed.signatures.push(junk.cosign(&parsed.text, 1));
            if writer.add_cosignature(3, &parsed.to_text()).is_err() {
                refused += 1;
            }
        }
        assert_eq!(refused, 5);
        let cp = writer.latest_checkpoint().unwrap().unwrap();
        assert_eq!(cp.cosignatures, skyfence_store::MAX_COSIGNATURES);
        open_checkpoint(cp.note.as_bytes(), &signer.verifier_key(), &[]).unwrap();
    }
}
