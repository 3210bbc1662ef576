//! `skyfence witness`: an independent party (the other government) cosigns the
//! log's checkpoints, each only after checking that it extends the last one it cosigned.
//!
//! One round: fetch `GET /api/log/checkpoint`; open it with the log's public key; fetch
//! `GET /api/log/consistency?old=<last cosigned>&new=<size>`; check the RFC 6962
//! consistency proof; cosign (C2SP tlog-cosignature `cosignature/v1`); save the new head
//! in the state file (before anything is sent, so a crash never lets the witness forget
//! what it vouched for); `POST /api/log/cosignature`. A log that shrank (rollback) or
//! whose new tree does not contain the cosigned one (a fork: two histories) is refused
//! loudly, the state is left as it was, and the command exits 1.
//!
//! The first contact is trust on first use: the witness cosigns whatever tree it sees
//! first and holds the log to it from then on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use skyfence_evidence::{
    Hash, Signer, VerifierKey, Witness, WitnessError, WitnessedHead, keyfile, open_checkpoint,
};

use skyfence_service::exit::input_error;

/// Arguments of `skyfence witness`.
#[derive(clap::Args, Debug)]
pub struct WitnessArgs {
    /// The log's service, e.g. http://127.0.0.1:8080.
    #[arg(long, value_name = "URL", required_unless_present = "print_key")]
    pub url: Option<String>,
    /// The log's public key (`vkey`, as `skyfence log key` prints it). Its name is the
    /// log's origin.
    #[arg(long, value_name = "VKEY", required_unless_present = "print_key")]
    pub log_key: Option<String>,
    /// The witness's signing key file (generated, mode 0600, when missing).
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
    /// The witness's name (its key name), used when generating the key.
    #[arg(long, value_name = "NAME", default_value = "skyfence-witness")]
    pub name: String,
    /// Where the last cosigned tree head of each log is kept (JSON).
    #[arg(long, value_name = "FILE", required_unless_present = "print_key")]
    pub state: Option<PathBuf>,
    /// Bearer token of the log's API (`[server] api_token`).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// One round, then exit.
    #[arg(long, conflicts_with = "every")]
    pub once: bool,
    /// Seconds between rounds (default 60).
    #[arg(long, value_name = "SECONDS")]
    pub every: Option<f64>,
    /// Print the witness's public key (the `vkey` to give the log's operator and
    /// verifiers), generating the key if needed, and exit.
    #[arg(long)]
    pub print_key: bool,
}

/// The state file: per log origin, the last head cosigned.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    logs: std::collections::BTreeMap<String, Head>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Head {
    size: u64,
    /// Standard base64 of the root, as in a checkpoint.
    root: String,
}

impl State {
    fn load(path: &Path) -> anyhow::Result<State> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                input_error(format!(
                    "witness state {}: not valid JSON: {e}",
                    path.display()
                ))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(input_error(format!(
                "cannot read witness state {}: {e}",
                path.display()
            ))),
        }
    }

    /// Writes atomically (a temporary file renamed over the old one), synced.
    fn save(&self, path: &Path) -> anyhow::Result<()> {
        use std::io::Write as _;
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(self)?;
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    }

    fn head(&self, origin: &str) -> anyhow::Result<Option<WitnessedHead>> {
        let Some(h) = self.logs.get(origin) else {
            return Ok(None);
        };
        let root: Hash = B64
            .decode(&h.root)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                input_error(format!(
                    "witness state: root {:?} of {origin} is not base64 of 32 bytes",
                    h.root
                ))
            })?;
        Ok(Some(WitnessedHead { size: h.size, root }))
    }
}

/// Why a round failed: a misbehaving log (exit 1, loudly, never retried into a
/// cosignature) or a transient failure (network, service down).
enum RoundError {
    Refused(WitnessError),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for RoundError {
    fn from(e: anyhow::Error) -> Self {
        RoundError::Failed(e)
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    async fn get(&self, path: &str) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.get(&url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let body = resp.text().await.with_context(|| format!("GET {url}"))?;
        if !status.is_success() {
            anyhow::bail!("GET {url}: {status}: {}", body.trim());
        }
        Ok(body)
    }

    async fn post(&self, path: &str, body: String) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.post(&url).body(body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.with_context(|| format!("POST {url}"))?;
        let status = resp.status();
        let text = resp.text().await.with_context(|| format!("POST {url}"))?;
        if !status.is_success() {
            anyhow::bail!("POST {url}: {status}: {}", text.trim());
        }
        Ok(text)
    }
}

/// Runs `skyfence witness`.
pub fn run(args: WitnessArgs) -> anyhow::Result<()> {
    let (signer, generated) = keyfile::load_or_generate(&args.key, &args.name)
        .with_context(|| format!("witness key {}", args.key.display()))?;
    if generated {
        eprintln!(
            "skyfence witness: generated key {} (public key {})",
            args.key.display(),
            signer.cosignature_verifier_key()
        );
    }
    if args.print_key {
        println!("{}", signer.cosignature_verifier_key());
        return Ok(());
    }
    let (Some(url), Some(log_key), Some(state_path)) = (&args.url, &args.log_key, &args.state)
    else {
        return Err(input_error("--url, --log-key and --state are required"));
    };
    let log_key =
        VerifierKey::parse(log_key).map_err(|e| input_error(format!("--log-key: {e}")))?;
    let every = match args.every {
        None => Duration::from_secs(60),
        Some(s) if s.is_finite() && (1.0..=86_400.0).contains(&s) => Duration::from_secs_f64(s),
        Some(s) => {
            return Err(input_error(format!(
                "--every {s}: expected 1 to 86400 seconds"
            )));
        }
    };
    let base = url.trim_end_matches('/').to_owned();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        return Err(input_error(format!(
            "--url {url}: expected http://HOST:PORT or https://HOST:PORT"
        )));
    }
    // reqwest is built without a TLS crypto provider of its own: ring's, for https logs.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the HTTP client")?;
    let client = Client {
        http,
        base,
        token: args.token.clone(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        loop {
            match round(&client, &signer, &log_key, state_path).await {
                Ok(line) => println!("{line}"),
                Err(RoundError::Refused(e)) => {
                    eprintln!("skyfence witness: REFUSED TO COSIGN: {e}");
                    eprintln!(
                        "skyfence witness: the log {} is not append-only as seen from here; \
                         keep its checkpoints and the state file {} as evidence",
                        log_key.name(),
                        state_path.display()
                    );
                    anyhow::bail!("refused to cosign {}: {e}", log_key.name());
                }
                Err(RoundError::Failed(e)) if args.once => return Err(e),
                Err(RoundError::Failed(e)) => eprintln!("skyfence witness: round failed: {e:#}"),
            }
            if args.once {
                return Ok(());
            }
            tokio::time::sleep(every).await;
        }
    })
}

async fn round(
    client: &Client,
    signer: &Signer,
    log_key: &VerifierKey,
    state_path: &Path,
) -> Result<String, RoundError> {
    let origin = log_key.name().to_owned();
    let mut state = State::load(state_path)?;
    let head = state.head(&origin)?;
    let note = client.get("/api/log/checkpoint").await?;
    let opened = open_checkpoint(
        note.as_bytes(),
        log_key,
        &[signer.cosignature_verifier_key()],
    )
    .map_err(|e| RoundError::Refused(WitnessError::Checkpoint(e)))?;
    let size = opened.checkpoint.size;
    if head.is_some_and(|h| h.size == size && h.root == opened.checkpoint.root)
        && !opened.cosignatures.is_empty()
    {
        return Ok(format!("{origin}: size {size} already cosigned"));
    }
    let proof = match head {
        Some(h) if h.size > 0 && h.size < size => {
            let text = client
                .get(&format!("/api/log/consistency?old={}&new={size}", h.size))
                .await?;
            text.lines()
                .filter(|l| !l.is_empty())
                .map(|l| {
                    B64.decode(l)
                        .ok()
                        .and_then(|b| <Hash>::try_from(b.as_slice()).ok())
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "consistency proof line {l:?} is not base64 of 32 bytes"
                            )
                        })
                })
                .collect::<anyhow::Result<Vec<Hash>>>()?
        }
        _ => Vec::new(),
    };
    let mut witness = Witness::new(signer.clone());
    witness.add_log(&origin, log_key.clone());
    if let Some(h) = head {
        witness
            .set_head(&origin, h)
            .map_err(|e| RoundError::Failed(e.into()))?;
    }
    let now = u64::try_from(skyfence_core::time::wall_clock().as_micros() / 1_000_000).unwrap_or(0);
    let cosigned = witness
        .cosign(note.as_bytes(), &proof, now)
        .map_err(RoundError::Refused)?;
    state.logs.insert(
        origin.clone(),
        Head {
            size,
            root: B64.encode(opened.checkpoint.root),
        },
    );
    state.save(state_path)?;
    let answer = client.post("/api/log/cosignature", cosigned.note).await?;
    Ok(format!(
        "{origin}: cosigned size {size} (from {}): {}",
        head.map_or("first contact".into(), |h| format!("size {}", h.size)),
        answer.trim()
    ))
}
