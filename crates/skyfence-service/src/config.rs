//! The TOML config file (docs/INTERFACES.md, "Config"), parsed and validated once at start-up
//! (ARCHITECTURE.md invariant 4): every error names the file, the line and the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use skyfence_core::airspace::Zone;
use skyfence_core::airspace::builtin;
use skyfence_core::airspace::load::{check_unique_names, load_zone_file_with};
use skyfence_core::detect::{Classification, DetectionConfig, Glob, Permit, PermitError};

use skyfence_core::Protocol;
use skyfence_decode::format::{self, Format};

use skyfence_store::StoreUrl;

use crate::alerts::AlertLevel;
use crate::exit::input_error;

/// A whole config file. Unknown keys are errors, so a typo never silently changes
/// behaviour.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[detection]` thresholds.
    #[serde(default)]
    pub detection: DetectionConfig,
    /// `[decoder]`: Mode S decoding options.
    #[serde(default)]
    pub decoder: DecoderSettings,
    /// `[[zones]]`: zone files and built-in countries.
    #[serde(default)]
    pub zones: Vec<ZoneSource>,
    /// `[server]` (read by the live service).
    #[serde(default)]
    #[allow(dead_code, reason = "validated now, used by `skyfence run`")]
    pub server: ServerConfig,
    /// `[store]` (read by the live service).
    #[serde(default)]
    #[allow(dead_code, reason = "validated now, used by `skyfence run`")]
    pub store: StoreConfig,
    /// `[[source]]`: live inputs for `skyfence run`.
    #[serde(default, rename = "source")]
    pub sources: Vec<SourceConfig>,
    /// `[[sensor]]` as written (see [`Config::sensors`]).
    #[serde(default, rename = "sensor")]
    pub sensor_entries: Vec<crate::sensors::SensorEntry>,
    /// The sensors, resolved from `[[sensor]]` at load (not in the file).
    #[serde(skip)]
    pub sensors: Vec<skyfence_decode::sensor::Sensor>,
    /// `[[alert]]`: where unauthorised incursion events go.
    #[serde(default, rename = "alert")]
    pub alerts: Vec<AlertConfig>,
    /// `[[allow]]`: permits.
    #[serde(default, rename = "allow")]
    pub permits: Vec<Permit>,
    /// The directory relative paths in the file are resolved against (not in the file).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// `[evidence]`: the evidence log's key and checkpoints.
    #[serde(default)]
    pub evidence: crate::evidence::EvidenceConfig,
    /// `[cluster]`: the NATS JetStream cluster (`skyfence relay`).
    #[serde(default)]
    pub cluster: Option<crate::cluster::ClusterConfig>,
    /// `[relay]`: the site relay's spool.
    #[serde(default)]
    pub relay: crate::cluster::RelayConfig,
    /// The file and text it was loaded from (not in the file): recorded in the evidence log.
    #[serde(skip)]
    pub loaded_from: Option<(PathBuf, String)>,
}

/// `[decoder]`: Mode S decoding options.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DecoderSettings {
    /// Comm-B trust by repetition (`DecoderConfig::commb_trust_replies`): 0 (default)
    /// refuses DF20/21 replies from addresses not heard in DF11/17/18; 2 to 1000 trusts
    /// such an address after that many consistent replies.
    #[serde(default)]
    pub commb_trust_replies: u32,
}

/// One `[[zones]]` entry: exactly one of `file` or `country`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ZoneSource {
    /// A GeoJSON or OpenAir file, relative to the config file.
    pub file: Option<PathBuf>,
    /// An ISO 3166 alpha-2 or alpha-3 country code of the built-in boundaries.
    pub country: Option<String>,
    /// Load `file` leniently: bad zones skipped with a warning each, repeated names
    /// numbered, AGL ceilings loaded as unknown (default: refuse the file).
    #[serde(default)]
    pub lenient: bool,
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address the HTTP API listens on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// When set, every `/api` route requires `Authorization: Bearer TOKEN`.
    pub api_token: Option<String>,
    /// Raster tile URL template (`https://host/{z}/{x}/{y}.png`) drawn under the live
    /// map, for rooms that have a tile server; without it the map shows the built-in
    /// borders alone (no internet needed).
    #[serde(default)]
    pub tiles: Option<String>,
    /// Attribution the tile provider requires, shown on the map.
    #[serde(default)]
    pub tiles_attribution: Option<String>,
    /// API connections served at once; more are closed at once (`netlimits`).
    #[serde(default = "default_http_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to send a whole request head (also while a kept-alive
    /// connection waits for its next request).
    #[serde(default = "default_header_read_timeout_s")]
    pub header_read_timeout_s: u64,
    /// Seconds a client may leave a response unread (a write to it making no progress)
    /// before its connection is closed: bounds what a slow reader holds, live event
    /// streams included.
    #[serde(default = "default_send_timeout_s")]
    pub send_timeout_s: u64,
    /// Seconds a request's handler has to answer (its response head; a live event
    /// stream's body is not limited) before the client gets 503.
    #[serde(default = "default_request_timeout_s")]
    pub request_timeout_s: u64,
}

fn default_request_timeout_s() -> u64 {
    crate::netlimits::DEFAULT_REQUEST_TIMEOUT_S
}

fn default_send_timeout_s() -> u64 {
    crate::netlimits::DEFAULT_SEND_TIMEOUT_S
}

fn default_http_max_connections() -> usize {
    crate::netlimits::DEFAULT_HTTP_MAX_CONNECTIONS
}

fn default_header_read_timeout_s() -> u64 {
    crate::netlimits::DEFAULT_HEADER_READ_TIMEOUT_S
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            api_token: None,
            tiles: None,
            tiles_attribution: None,
            max_connections: default_http_max_connections(),
            header_read_timeout_s: default_header_read_timeout_s(),
            send_timeout_s: default_send_timeout_s(),
            request_timeout_s: default_request_timeout_s(),
        }
    }
}

/// `[store]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// Which store: `sqlite:PATH` (`postgres://` is not built in this version). At most
    /// one of `url` and `path`.
    #[serde(default)]
    pub url: Option<String>,
    /// The SQLite file, the same as `url = "sqlite:PATH"`; `skyfence.db` when neither is
    /// given.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// How hard each commit presses the data onto the disk (`full` or `normal`).
    #[serde(default)]
    pub durability: StoreDurability,
    /// Keep closed and lost incidents this many days (purged hourly); `None`: for ever.
    /// `skyfence run --retention-days` overrides it.
    #[serde(default)]
    pub retention_days: Option<f64>,
}

/// `[store] durability`: SQLite's `synchronous` level with the WAL journal (see
/// `skyfence_store::Durability`).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreDurability {
    /// fsync at every commit: a stored incident survives a power cut.
    #[default]
    Full,
    /// fsync only at checkpoints: survives a killed process (`kill -9`), not an OS crash
    /// or a power cut, which may lose the last commits (never corrupt the file).
    Normal,
}

/// The largest config file read.
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The largest `retention_days` / `--retention-days` (a century).
pub const MAX_RETENTION_DAYS: f64 = 36_500.0;
/// The fastest replay (`[[source]] speed`, `--speed`).
pub const MAX_REPLAY_SPEED: f64 = 1000.0;

/// The store when `[store]` names none.
pub const DEFAULT_STORE_PATH: &str = "skyfence.db";

impl StoreConfig {
    /// The store this section names (`url`, else `path`, else [`DEFAULT_STORE_PATH`]),
    /// a relative file path resolved against `base_dir` (the config file's directory).
    /// Fails only for a URL [`Config::parse`] would have refused.
    pub fn location(&self, base_dir: &Path) -> anyhow::Result<StoreUrl> {
        let url = match (&self.url, &self.path) {
            (Some(u), _) => StoreUrl::parse(u).map_err(|e| input_error(format!("[store] {e}")))?,
            (None, Some(p)) => StoreUrl::sqlite(p),
            (None, None) => StoreUrl::sqlite(DEFAULT_STORE_PATH),
        };
        Ok(url.relative_to(base_dir))
    }

    /// Points the section at the SQLite file `path` (a command's `--store FILE`).
    pub fn set_file(&mut self, path: PathBuf) {
        self.url = None;
        self.path = Some(path);
    }
}

/// `[[source]] type`: a name of the format registry ([`skyfence_decode::format`]).
fn deserialize_format<'de, D>(d: D) -> Result<&'static Format, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let name = String::deserialize(d)?;
    format::lookup(&name).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "type = {name:?} is not a sensor format (expected {})",
            format::names()
        ))
    })
}

/// One `[[source]]`: dial a receiver (`connect`), accept receivers that push (`listen`)
/// or replay a recording (`replay`, paced by its own times divided by `speed`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Name used in metrics, logs and evidence.
    pub name: String,
    /// Wire format, from the registry; `connect` and `listen` need a live one.
    #[serde(rename = "type", deserialize_with = "deserialize_format")]
    pub format: &'static Format,
    /// `host:port` to dial.
    pub connect: Option<String>,
    /// Address to listen on.
    pub listen: Option<SocketAddr>,
    /// A recording in the format `type` to replay once, relative to the config file.
    pub replay: Option<PathBuf>,
    /// Replay speed: 1 is real time, 10 ten times faster (only with `replay`).
    pub speed: Option<f64>,
    /// `listen` only: receivers connected at once (default 16).
    pub max_connections: Option<usize>,
    /// `listen` only: seconds of silence after which a receiver is disconnected
    /// (default 300).
    pub idle_timeout_s: Option<f64>,
    /// `listen` only: networks receivers may connect from (`"10.0.0.0/8"`, an address);
    /// default: any.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// `listen` only: `udp` (one datagram holds whole records: ASTERIX data blocks,
    /// Remote ID lines) or `tcp`; default `udp` for ASTERIX, `tcp` otherwise.
    pub transport: Option<Transport>,
    /// `udp` only: the IPv4 multicast group to join (listen on `0.0.0.0:PORT`).
    pub multicast_group: Option<std::net::Ipv4Addr>,
    /// `udp` only, with `multicast_group`: the address of the interface to join it on
    /// (default: the system's choice).
    pub multicast_interface: Option<std::net::Ipv4Addr>,
    /// The `[[sensor]]` that receives this feed: a Beast (or AVR) source naming a
    /// `type = "modes"` sensor is a receiver of the multilateration network.
    #[serde(default)]
    pub sensor: Option<String>,
}

/// How a `listen` source receives (`[[source]] transport`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Datagrams, each holding whole records.
    Udp,
    /// A byte stream per receiver.
    Tcp,
}

/// Whether `format` can arrive in UDP datagrams (each holding whole records): ASTERIX
/// feeds and Remote ID lines.
pub fn datagram_format(format: &Format) -> bool {
    format.live && matches!(format.protocol, Protocol::Asterix | Protocol::RemoteId)
}

impl SourceConfig {
    /// How this source receives: its `transport`, else `udp` for ASTERIX and `tcp` for
    /// the rest.
    pub fn transport(&self) -> Transport {
        self.transport
            .unwrap_or(if self.format.protocol == Protocol::Asterix {
                Transport::Udp
            } else {
                Transport::Tcp
            })
    }

    /// The limits of a `listen` source (validated with the config).
    pub fn listen_limits(&self) -> Result<crate::netlimits::ListenLimits, String> {
        let d = crate::netlimits::ListenLimits::default();
        let allow_from = self
            .allow_from
            .iter()
            .map(|c| crate::netlimits::Cidr::parse(c))
            .collect::<Result<_, _>>()?;
        Ok(crate::netlimits::ListenLimits {
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            idle_timeout: self
                .idle_timeout_s
                .map_or(d.idle_timeout, Duration::from_secs_f64),
            allow_from,
        })
    }
}

/// An event kind an alert can subscribe to.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AlertEvent {
    /// Entered an approach-warning buffer.
    Approach,
    /// An incursion was confirmed.
    Confirmed,
    /// The target left the zone.
    Closed,
    /// The target went silent inside the zone.
    Lost,
}

/// The keys every `[[alert]]` shares whatever its `type`: the rule (which events) and
/// the delivery timing. Written once, here, and read by every sink type.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Which events (default: confirmed, closed, lost).
    #[serde(default = "default_alert_events")]
    pub events: Vec<AlertEvent>,
    /// The rule's name: the sink's key in the store (its delivery position), the API
    /// and metrics, and `rule` in every alert. Default `<type>-<n>`, n the entry's
    /// position among the `[[alert]]` entries (name it, so reordering keeps it).
    pub name: Option<String>,
    /// Globs over zone names; default every zone. Each must match a loaded zone.
    #[serde(default)]
    pub zones: Vec<Glob>,
    /// Only these classifications (`uav`, `aircraft`, `unknown`); default all.
    #[serde(default)]
    pub classifications: Vec<Classification>,
    /// Only incidents at least this deep inside (`max_depth_m`), metres.
    pub min_depth_m: Option<f64>,
    /// Only incidents at least this long (`duration_s`), seconds.
    pub min_duration_s: Option<f64>,
    /// Only incidents whose `verification.verdict` is listed (`consistent`,
    /// `spoof_suspected`, `unverified`); default any, verified or not.
    #[serde(default)]
    pub verdicts: Vec<skyfence_core::detect::SpoofVerdict>,
    /// `advisory`, `caution` or `warning` (default), carried in every alert.
    #[serde(default)]
    pub level: AlertLevel,
    /// Also alert incidents a permit covers (default false: unauthorised only).
    #[serde(default)]
    pub include_authorised: bool,
    /// A delivery still failing this long after its first attempt is dead-lettered
    /// (default 3600 s).
    pub dead_letter_after_s: Option<f64>,
    /// First retry delay (default 1 s), doubling (with jitter) up to `retry_max_s`.
    pub retry_initial_s: Option<f64>,
    /// Longest retry delay (default 300 s).
    pub retry_max_s: Option<f64>,
    /// Time limit of one delivery attempt (default 10 s).
    pub timeout_s: Option<f64>,
}

impl RuleConfig {
    /// The keys of [`RuleConfig`], in declaration order: they are taken out of an
    /// `[[alert]]` table before the rest goes to its sink type (a test checks the list
    /// against the struct).
    pub const KEYS: &'static [&'static str] = &[
        "events",
        "name",
        "zones",
        "classifications",
        "min_depth_m",
        "min_duration_s",
        "verdicts",
        "level",
        "include_authorised",
        "dead_letter_after_s",
        "retry_initial_s",
        "retry_max_s",
        "timeout_s",
    ];
}

/// `[[alert]] type = "webhook"`: JSON POST to a URL.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// HMAC-SHA256 key for `X-Skyfence-Signature`.
    pub secret: Option<String>,
}

impl WebhookConfig {
    /// The keys of [`WebhookConfig`] (a test checks the list against the struct).
    pub const KEYS: &'static [&'static str] = &["url", "secret"];
}

/// `[[alert]] type = "cot"`: Cursor-on-Target XML over UDP or TCP.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CotConfig {
    /// `host:port` for UDP datagrams.
    pub udp: Option<String>,
    /// `host:port` of a TAK server.
    pub tcp: Option<String>,
    /// Live targets inside a zone or in its approach buffer are sent every this many
    /// seconds (default 5; 0: incidents only).
    #[serde(default = "default_cot_interval_s")]
    pub interval_s: u32,
    /// MIL-STD-2525 identity of live targets (default `unknown`).
    #[serde(default)]
    pub affiliation: crate::alerts::cot_xml::Affiliation,
    /// Identity of unauthorised incursions (default `suspect`; never `hostile`
    /// unless set here).
    #[serde(default = "default_cot_incident_affiliation")]
    pub incident_affiliation: crate::alerts::cot_xml::Affiliation,
    /// How long an incident marker stays valid, seconds (default 3600).
    #[serde(default = "default_cot_incident_stale_s")]
    pub incident_stale_s: u32,
}

impl CotConfig {
    /// The keys of [`CotConfig`] (a test checks the list against the struct).
    pub const KEYS: &'static [&'static str] = &[
        "udp",
        "tcp",
        "interval_s",
        "affiliation",
        "incident_affiliation",
        "incident_stale_s",
    ];
}

/// Where an `[[alert]]`'s alerts go: the keys of its `type` alone.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum SinkConfig {
    /// JSON POST to a URL.
    Webhook(WebhookConfig),
    /// Cursor-on-Target XML over UDP or TCP.
    Cot(CotConfig),
}

impl SinkConfig {
    /// `webhook` or `cot`.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Webhook(_) => "webhook",
            SinkConfig::Cot(_) => "cot",
        }
    }

    /// The keys of sink type `kind` (`None` for an unknown type).
    fn keys(kind: &str) -> Option<&'static [&'static str]> {
        match kind {
            "webhook" => Some(WebhookConfig::KEYS),
            "cot" => Some(CotConfig::KEYS),
            _ => None,
        }
    }
}

/// One `[[alert]]`: a rule (which events) and where its alerts go. The rule and
/// delivery keys ([`RuleConfig`]) are the same for every `type`; the sink's own keys
/// ([`SinkConfig`]) depend on it (see `service::alerts`).
///
/// Read by hand rather than with `#[serde(flatten)]`, which would switch off
/// `deny_unknown_fields`: the table's rule keys go to [`RuleConfig`], the rest to the
/// sink type, and any other key is an error naming it and the keys of that type.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertConfig {
    /// The shared keys.
    pub rule: RuleConfig,
    /// The type and its keys.
    pub sink: SinkConfig,
}

impl AlertConfig {
    /// The rule's name: `name`, or `<type>-<n>` with n the 1-based position of the entry
    /// among the `[[alert]]` entries.
    pub fn effective_name(&self, index: usize) -> String {
        match &self.rule.name {
            Some(n) => n.clone(),
            None => format!("{}-{}", self.sink.kind(), index + 1),
        }
    }
}

impl<'de> Deserialize<'de> for AlertConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut sink = toml::Table::deserialize(d)?;
        if let Some(keys) = sink
            .get("type")
            .and_then(toml::Value::as_str)
            .and_then(SinkConfig::keys)
            && let Some(unknown) = sink.keys().find(|k| {
                *k != "type"
                    && !keys.contains(&k.as_str())
                    && !RuleConfig::KEYS.contains(&k.as_str())
            })
        {
            let expected: Vec<String> = std::iter::once("type")
                .chain(keys.iter().copied())
                .chain(RuleConfig::KEYS.iter().copied())
                .map(|k| format!("`{k}`"))
                .collect();
            return Err(D::Error::custom(format_args!(
                "unknown field `{unknown}`, expected one of {}",
                expected.join(", ")
            )));
        }
        let rule: toml::Table = RuleConfig::KEYS
            .iter()
            .filter_map(|k| sink.remove_entry(*k))
            .collect();
        let sink = SinkConfig::deserialize(toml::Value::Table(sink))
            .map_err(|e| D::Error::custom(e.message()))?;
        let rule = RuleConfig::deserialize(toml::Value::Table(rule))
            .map_err(|e| D::Error::custom(e.message()))?;
        Ok(AlertConfig { rule, sink })
    }
}

fn default_cot_interval_s() -> u32 {
    5
}

fn default_cot_incident_affiliation() -> crate::alerts::cot_xml::Affiliation {
    crate::alerts::cot_xml::Affiliation::Suspect
}

fn default_cot_incident_stale_s() -> u32 {
    3600
}

fn default_alert_events() -> Vec<AlertEvent> {
    vec![AlertEvent::Confirmed, AlertEvent::Closed, AlertEvent::Lost]
}

impl Config {
    /// Reads and validates a config file. Errors exit with status 2 and name the file,
    /// line and key.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        // A config is a few KB; a device or a huge file is refused, not read.
        let bytes = skyfence_core::airspace::load::read_bounded(path, MAX_CONFIG_BYTES)
            .map_err(|e| input_error(format!("cannot read config {}: {e}", path.display())))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            input_error(format!(
                "cannot read config {}: not UTF-8 text (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ))
        })?;
        let mut config = Config::parse(&text)
            .map_err(|e| input_error(format!("config {}: {e}", path.display())))?;
        config.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        config.loaded_from = Some((path.to_path_buf(), text));
        Ok(config)
    }

    /// Parses and validates config text; the error says the line and key.
    pub fn parse(text: &str) -> Result<Config, String> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            match line {
                Some(line) => format!("line {line}: {}", e.message()),
                None => e.message().to_string(),
            }
        })?;
        config.validate(text)?;
        config.sensors = crate::sensors::resolve(&config.sensor_entries, text)?;
        config.validate_source_sensors(text)?;
        Ok(config)
    }

    /// Every `[[source]] sensor` names a declared `[[sensor]]`; a `type = "modes"` one
    /// only for formats carrying receiver timestamps (Beast, AVR).
    fn validate_source_sensors(&self, text: &str) -> Result<(), String> {
        for s in &self.sources {
            let Some(name) = &s.sensor else { continue };
            let line = find_key_line_in(text, "[[source]]", "sensor")
                .map_or_else(String::new, |l| format!("line {l}: "));
            let Some(sensor) = self.sensors.iter().find(|x| x.name.as_str() == name) else {
                return Err(format!(
                    "{line}[[source]] {:?}: sensor = {name:?} is not a [[sensor]] of the config",
                    s.name
                ));
            };
            if sensor.kind == skyfence_decode::sensor::SensorType::ModeS && !s.format.receiver_clock
            {
                return Err(format!(
                    "{line}[[source]] {:?}: sensor {name:?} is a Mode S receiver, but type = {:?} carries no receiver timestamps (use beast or avr)",
                    s.name, s.format.name
                ));
            }
        }
        Ok(())
    }

    fn validate(&self, text: &str) -> Result<(), String> {
        // Keys are known to exist here; their line is looked up for the message.
        let at = |key: &str| match find_key_line(text, key) {
            Some(line) => format!("line {line}: "),
            None => String::new(),
        };
        // A key of one table (`url` is also an alert's key).
        let at_in = |table: &str, key: &str| match find_key_line_in(text, table, key) {
            Some(line) => format!("line {line}: "),
            None => String::new(),
        };
        self.detection
            .validate()
            .map_err(|e| format!("{}{e}", at(e.key)))?;
        let n = self.decoder.commb_trust_replies;
        if n == 1 || n > 1000 {
            return Err(format!(
                "{}[decoder] commb_trust_replies = {n} is out of range (expected 0 to refuse replies from addresses not heard in DF11/17/18, or 2 to 1000)",
                at_in("[decoder]", "commb_trust_replies")
            ));
        }
        if let Some(token) = &self.server.api_token
            && (token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(format!(
                "{}[server] api_token is empty or holds spaces or control characters: give a token of visible characters, or remove the key to serve without one",
                at_in("[server]", "api_token")
            ));
        }
        if !(1..=65_536).contains(&self.server.max_connections) {
            return Err(format!(
                "{}[server] max_connections = {} is out of range (expected 1 to 65536)",
                at_in("[server]", "max_connections"),
                self.server.max_connections
            ));
        }
        if !(1..=3600).contains(&self.server.header_read_timeout_s) {
            return Err(format!(
                "{}[server] header_read_timeout_s = {} is out of range (expected 1 to 3600 seconds)",
                at_in("[server]", "header_read_timeout_s"),
                self.server.header_read_timeout_s
            ));
        }
        if !(1..=3600).contains(&self.server.send_timeout_s) {
            return Err(format!(
                "{}[server] send_timeout_s = {} is out of range (expected 1 to 3600 seconds)",
                at_in("[server]", "send_timeout_s"),
                self.server.send_timeout_s
            ));
        }
        if !(1..=3600).contains(&self.server.request_timeout_s) {
            return Err(format!(
                "{}[server] request_timeout_s = {} is out of range (expected 1 to 3600 seconds)",
                at_in("[server]", "request_timeout_s"),
                self.server.request_timeout_s
            ));
        }
        self.evidence
            .validate()
            .map_err(|e| format!("{}{e}", at("[evidence]")))?;
        if let Some(c) = &self.cluster {
            c.validate()
                .map_err(|(key, e)| format!("{}{e}", at_in("[cluster]", key)))?;
        }
        self.relay
            .validate()
            .map_err(|(key, e)| format!("{}{e}", at_in("[relay]", key)))?;
        for z in &self.zones {
            match (&z.file, &z.country) {
                (Some(_), None) => {}
                (None, Some(code)) => {
                    if builtin::country(code).is_none() {
                        return Err(format!(
                            "{}[[zones]] country = {code:?}: not an ISO 3166 code of the built-in boundaries (e.g. \"AF\" or \"AFG\"; see `skyfence airspace list`)",
                            at("country")
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "{}[[zones]] entry needs exactly one of file = \"...\" or country = \"...\"",
                        at("[[zones]]")
                    ));
                }
            }
        }
        for p in &self.permits {
            p.validate().map_err(|e| {
                let key = match e {
                    PermitError::IcaoOfOtherKind { .. } => "kind",
                    _ => "reason",
                };
                format!("{}[[allow]] {e}", at(key))
            })?;
        }
        if self.store.url.is_some() && self.store.path.is_some() {
            return Err(format!(
                "{}[store] gives both url and path: give one (path = \"FILE\" is the same as url = \"sqlite:FILE\")",
                at_in("[store]", "url")
            ));
        }
        if let Some(u) = &self.store.url {
            StoreUrl::parse(u).map_err(|e| format!("{}[store] {e}", at_in("[store]", "url")))?;
        }
        if let Some(d) = self.store.retention_days
            && !(d.is_finite() && d > 0.0 && d <= MAX_RETENTION_DAYS)
        {
            return Err(format!(
                "{}[store] retention_days = {d} is out of range (expected 0 < DAYS <= {MAX_RETENTION_DAYS})",
                at("retention_days")
            ));
        }
        let mut names = std::collections::HashSet::new();
        for s in &self.sources {
            let ways = [s.connect.is_some(), s.listen.is_some(), s.replay.is_some()];
            if ways.iter().filter(|w| **w).count() != 1 {
                return Err(format!(
                    "{}[[source]] {:?}: needs exactly one of connect = \"host:port\", listen = \"addr:port\" or replay = \"FILE\"",
                    at("name"),
                    s.name
                ));
            }
            if s.replay.is_none() && !s.format.live {
                return Err(format!(
                    "{}[[source]] {:?}: type = {:?} can only be replayed from a file; connect and listen take {}",
                    at("type"),
                    s.name,
                    s.format.name,
                    format::names_where(|f| f.live)
                ));
            }
            match s.speed {
                Some(_) if s.replay.is_none() => {
                    return Err(format!(
                        "{}[[source]] {:?}: speed is only for replay sources",
                        at("speed"),
                        s.name
                    ));
                }
                Some(x) if !(x.is_finite() && x > 0.0 && x <= MAX_REPLAY_SPEED) => {
                    return Err(format!(
                        "{}[[source]] {:?}: speed = {x} is out of range (expected 0 < X <= {MAX_REPLAY_SPEED})",
                        at("speed"),
                        s.name
                    ));
                }
                _ => {}
            }
            let udp = s.listen.is_some() && s.transport() == Transport::Udp;
            if s.transport.is_some() && s.listen.is_none() {
                return Err(format!(
                    "{}[[source]] {:?}: transport is only for listen sources",
                    at("transport"),
                    s.name
                ));
            }
            if udp && !datagram_format(s.format) {
                return Err(format!(
                    "{}[[source]] {:?}: type = {:?} does not come in datagrams; transport = \"udp\" takes {}",
                    at("transport"),
                    s.name,
                    s.format.name,
                    format::names_where(datagram_format)
                ));
            }
            if !udp && s.format.protocol == Protocol::Asterix && s.format.live && s.replay.is_none()
            {
                return Err(format!(
                    "{}[[source]] {:?}: type = \"asterix\" is received over UDP: listen = \"addr:port\" (transport = \"udp\")",
                    at("type"),
                    s.name
                ));
            }
            if (s.multicast_group.is_some() || s.multicast_interface.is_some())
                && !(udp && s.listen.is_some())
            {
                return Err(format!(
                    "{}[[source]] {:?}: multicast_group and multicast_interface are only for transport = \"udp\" listen sources",
                    at("multicast_group"),
                    s.name
                ));
            }
            if let Some(g) = s.multicast_group
                && !g.is_multicast()
            {
                return Err(format!(
                    "{}[[source]] {:?}: multicast_group = \"{g}\" is not a multicast address (expected 224.0.0.0 to 239.255.255.255)",
                    at("multicast_group"),
                    s.name
                ));
            }
            if s.multicast_interface.is_some() && s.multicast_group.is_none() {
                return Err(format!(
                    "{}[[source]] {:?}: multicast_interface needs multicast_group",
                    at("multicast_interface"),
                    s.name
                ));
            }
            if udp && (s.max_connections.is_some() || s.idle_timeout_s.is_some()) {
                return Err(format!(
                    "{}[[source]] {:?}: max_connections and idle_timeout_s are for TCP; a UDP source has no connections",
                    at("name"),
                    s.name
                ));
            }
            let limits_given = s.max_connections.is_some()
                || s.idle_timeout_s.is_some()
                || !s.allow_from.is_empty();
            if limits_given && s.listen.is_none() {
                return Err(format!(
                    "{}[[source]] {:?}: max_connections, idle_timeout_s and allow_from are only for listen sources",
                    at("name"),
                    s.name
                ));
            }
            if let Some(n) = s.max_connections
                && !(1..=4096).contains(&n)
            {
                return Err(format!(
                    "{}[[source]] {:?}: max_connections = {n} is out of range (expected 1 to 4096)",
                    at("max_connections"),
                    s.name
                ));
            }
            if let Some(x) = s.idle_timeout_s
                && !(x.is_finite() && (1.0..=86_400.0).contains(&x))
            {
                return Err(format!(
                    "{}[[source]] {:?}: idle_timeout_s = {x} is out of range (expected 1 to 86400 seconds)",
                    at("idle_timeout_s"),
                    s.name
                ));
            }
            if let Err(e) = s.listen_limits() {
                return Err(format!(
                    "{}[[source]] {:?}: allow_from: {e}",
                    at("allow_from"),
                    s.name
                ));
            }
            if !names.insert(s.name.as_str()) {
                return Err(format!(
                    "{}[[source]] name {:?} is used twice",
                    at("name"),
                    s.name
                ));
            }
        }
        for a in &self.alerts {
            let SinkConfig::Cot(cot) = &a.sink else {
                continue;
            };
            if cot.udp.is_some() == cot.tcp.is_some() {
                return Err(format!(
                    "{}[[alert]] type = \"cot\" needs exactly one of udp = \"host:port\" or tcp = \"host:port\"",
                    at("type")
                ));
            }
            if cot.interval_s > 3600 {
                return Err(format!(
                    "{}[[alert]] type = \"cot\": interval_s = {} is out of range (expected 0 to 3600 seconds)",
                    at("interval_s"),
                    cot.interval_s
                ));
            }
            if !(1..=604_800).contains(&cot.incident_stale_s) {
                return Err(format!(
                    "{}[[alert]] type = \"cot\": incident_stale_s = {} is out of range (expected 1 to 604800 seconds)",
                    at("incident_stale_s"),
                    cot.incident_stale_s
                ));
            }
        }
        crate::alerts::validate_config(&self.alerts, text)?;
        Ok(())
    }

    /// Loads every zone the config names, plus `extra_files` and `extra_countries` (from
    /// the command line), checking that names are unique.
    pub fn load_zones(
        &self,
        extra_files: &[PathBuf],
        extra_countries: &[String],
    ) -> anyhow::Result<Vec<Zone>> {
        self.load_zones_with(extra_files, extra_countries, false)
    }

    /// [`Config::load_zones`], with the files of the command line (`extra_files`) loaded
    /// leniently when `lenient` (as `[[zones]] lenient = true` does for a config's file).
    /// Every problem of a refused file is in the error, one per line; warnings and the
    /// zones skipped leniently are logged, one line each.
    pub fn load_zones_with(
        &self,
        extra_files: &[PathBuf],
        extra_countries: &[String],
        lenient: bool,
    ) -> anyhow::Result<Vec<Zone>> {
        let mut zones = Vec::new();
        let mut files: Vec<(PathBuf, bool)> = Vec::new();
        let mut countries: Vec<String> = Vec::new();
        for z in &self.zones {
            if let Some(f) = &z.file {
                files.push((self.base_dir.join(f), z.lenient));
            }
            if let Some(c) = &z.country {
                countries.push(c.clone());
            }
        }
        files.extend(extra_files.iter().map(|f| (f.clone(), lenient)));
        countries.extend(extra_countries.iter().cloned());
        // The same file named twice (config and flag) is loaded once.
        let mut seen = std::collections::HashSet::new();
        files.retain(|(f, _)| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())));
        for (f, lenient) in &files {
            let loaded =
                load_zone_file_with(f, *lenient).map_err(|e| input_error(e.to_string()))?;
            for w in &loaded.warnings {
                tracing::warn!("{w}");
            }
            for s in &loaded.skipped {
                tracing::warn!("zone skipped (lenient): {s}");
            }
            if !loaded.skipped.is_empty() {
                tracing::warn!(
                    file = %f.display(),
                    loaded = loaded.zones.len(),
                    skipped = loaded.skipped.len(),
                    "zone file loaded leniently"
                );
            }
            zones.extend(loaded.zones);
        }
        for c in &countries {
            let zone =
                builtin::load_country(c).map_err(|e| input_error(format!("--country {c}: {e}")))?;
            // The same country named twice (config and flag) is loaded once.
            if !zones.iter().any(|z: &Zone| z.name == zone.name) {
                zones.push(zone);
            }
        }
        check_unique_names(&zones).map_err(|e| input_error(e.to_string()))?;
        Ok(zones)
    }
}

/// 1-based line of byte offset `pos` in `text`.
fn line_of(text: &str, pos: usize) -> usize {
    text.as_bytes()[..pos.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// 1-based line of the first line that assigns `key` (or is the table header `key`).
fn find_key_line(text: &str, key: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.trim_end() == key
                || l.strip_prefix(key)
                    .is_some_and(|r| r.trim_start().starts_with('='))
        })
        .map(|i| i + 1)
}

/// 1-based line of the first line assigning `key` inside table `table` (e.g. `[store]`).
fn find_key_line_in(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut inside = false;
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.starts_with('[') {
            inside = l == table;
        } else if inside
            && l.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with('='))
        {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[detection]
confirm_s = 5
track_timeout_s = 60
max_speed_mps = 1000

[[zones]]
country = "AF"

[server]
listen = "127.0.0.1:8080"
api_token = "secret"

[store]
path = "skyfence.db"

[[source]]
name = "kabul-1"
type = "beast"
connect = "127.0.0.1:30005"

[[alert]]
type = "webhook"
url = "http://127.0.0.1:9000/hook"
secret = "s"
events = ["confirmed", "closed", "lost"]

[[allow]]
callsign = "PIA*"
reason = "overflight permit 2023/114"
from = "2023-11-14T00:00:00Z"
until = "2023-11-30T00:00:00Z"
"#;

    #[test]
    fn parses_the_interfaces_example() {
        let c = Config::parse(EXAMPLE).unwrap();
        assert_eq!(c.detection.confirm_s, 5.0);
        assert_eq!(c.zones[0].country.as_deref(), Some("AF"));
        assert_eq!(c.server.api_token.as_deref(), Some("secret"));
        assert_eq!(c.sources[0].format, &skyfence_decode::format::BEAST);
        assert_eq!(c.permits[0].reason, "overflight permit 2023/114");
        assert!(matches!(&c.alerts[0].sink, SinkConfig::Webhook(_)));
        assert_eq!(c.alerts[0].rule.events.len(), 3);
    }

    #[test]
    fn empty_config_has_interfaces_defaults() {
        let c = Config::parse("").unwrap();
        assert_eq!(c.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(
            c.store.location(Path::new("")).unwrap(),
            StoreUrl::sqlite("skyfence.db")
        );
        assert_eq!(c.detection.track_timeout_s, 60.0);
        assert_eq!(c.server.tiles, None);
    }

    #[test]
    fn map_tiles_are_optional_server_keys() {
        let c = Config::parse(
            "[server]\ntiles = \"http://10.0.0.5/osm/{z}/{x}/{y}.png\"\ntiles_attribution = \"© OpenStreetMap\"\n",
        )
        .unwrap();
        assert_eq!(
            c.server.tiles.as_deref(),
            Some("http://10.0.0.5/osm/{z}/{x}/{y}.png")
        );
        assert_eq!(
            c.server.tiles_attribution.as_deref(),
            Some("© OpenStreetMap")
        );
    }

    /// Regression: `api_token = ""` was accepted (and `Bearer ` with nothing after it
    /// would have matched it).
    #[test]
    fn an_empty_api_token_is_refused() {
        for token in ["", " ", "two words"] {
            let e = Config::parse(&format!("[server]\napi_token = {token:?}\n")).unwrap_err();
            assert!(e.starts_with("line 2: [server] api_token is empty"), "{e}");
        }
        assert!(Config::parse("[server]\napi_token = \"x7-Yz\"\n").is_ok());
    }

    /// A config that is a device is refused rather than read for ever.
    #[cfg(unix)]
    #[test]
    fn a_config_that_is_a_device_is_refused() {
        let e = Config::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    /// `[decoder] commb_trust_replies`: 0 (default) or 2 to 1000, errors name the line.
    #[test]
    fn decoder_commb_trust_replies() {
        assert_eq!(Config::parse("").unwrap().decoder.commb_trust_replies, 0);
        let c = Config::parse("[decoder]\ncommb_trust_replies = 3\n").unwrap();
        assert_eq!(c.decoder.commb_trust_replies, 3);
        for bad in ["1", "1001"] {
            let e =
                Config::parse(&format!("[decoder]\ncommb_trust_replies = {bad}\n")).unwrap_err();
            assert!(
                e.starts_with("line 2: [decoder] commb_trust_replies"),
                "{e}"
            );
        }
        let e = Config::parse("[decoder]\ncommb_trust = 3\n").unwrap_err();
        assert!(e.contains("commb_trust"), "{e}");
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let e = Config::parse("[detection]\nconfirm_s = 5\nconfirm_secs = 3\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        assert!(e.contains("confirm_secs"), "{e}");
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let e = Config::parse("[detection]\nconfirm_s = -1\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("confirm_s"), "{e}");
        let e = Config::parse("[[zones]]\ncountry = \"XX\"\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("\"XX\""), "{e}");
        let e = Config::parse("[[source]]\nname = \"a\"\ntype = \"beast\"\n").unwrap_err();
        assert!(e.contains("exactly one of connect"), "{e}");
        let e = Config::parse("[[source]]\nname = \"a\"\ntype = \"mlat\"\nconnect = \"x:1\"\n")
            .unwrap_err();
        assert!(e.contains("line 3") && e.contains("mlat"), "{e}");
        assert!(e.contains(&format!("expected {})", format::names())), "{e}");
        let e = Config::parse("[[source]]\nname = \"a\"\ntype = \"raw\"\nconnect = \"x:1\"\n")
            .unwrap_err();
        assert!(
            e.contains("line 3")
                && e.contains("\"raw\" can only be replayed")
                && e.contains("beast, avr, sbs, asterix or remoteid"),
            "{e}"
        );
        let c = Config::parse("[[source]]\nname = \"a\"\ntype = \"RAW\"\nreplay = \"x.csv\"\n")
            .unwrap();
        assert_eq!(c.sources[0].format, &skyfence_decode::format::RAW);
    }

    #[test]
    fn store_durability_and_retention_are_keys() {
        let c = Config::parse("[store]\ndurability = \"normal\"\nretention_days = 30\n").unwrap();
        assert_eq!(c.store.durability, StoreDurability::Normal);
        assert_eq!(c.store.retention_days, Some(30.0));
        assert_eq!(
            Config::parse("").unwrap().store.durability,
            StoreDurability::Full
        );
        let e = Config::parse("[store]\npath = \"a.db\"\nretention_days = 0\n").unwrap_err();
        assert!(
            e.starts_with("line 3:") && e.contains("retention_days = 0"),
            "{e}"
        );
        let e = Config::parse("[store]\ndurability = \"off\"\n").unwrap_err();
        assert!(e.starts_with("line 2:") && e.contains("off"), "{e}");
        let e = Config::parse("[server]\n\nrequest_timeout_s = 0\n").unwrap_err();
        assert!(
            e.starts_with("line 3:") && e.contains("request_timeout_s = 0 is out of range"),
            "{e}"
        );
        assert_eq!(
            Config::parse("[server]\nrequest_timeout_s = 5\n")
                .unwrap()
                .server
                .request_timeout_s,
            5
        );
    }

    #[test]
    fn the_store_is_a_url_or_a_path() {
        let base = Path::new("/etc/skyfence");
        let c = Config::parse("[store]\nurl = \"sqlite:data/s.db\"\n").unwrap();
        assert_eq!(
            c.store.location(base).unwrap(),
            StoreUrl::sqlite("/etc/skyfence/data/s.db")
        );
        let c = Config::parse("[store]\npath = \"data/s.db\"\n").unwrap();
        assert_eq!(
            c.store.location(base).unwrap(),
            StoreUrl::sqlite("/etc/skyfence/data/s.db")
        );
        let c = Config::parse("[store]\nurl = \"sqlite:/var/lib/s.db\"\n").unwrap();
        assert_eq!(
            c.store.location(base).unwrap(),
            StoreUrl::sqlite("/var/lib/s.db")
        );
        let c = Config::parse("").unwrap();
        assert_eq!(
            c.store.location(base).unwrap(),
            StoreUrl::sqlite("/etc/skyfence/skyfence.db")
        );
    }

    #[test]
    fn a_store_url_and_path_together_name_the_line_and_key() {
        // An alert's `url` before the store's must not be the line named.
        let text = "[[alert]]\ntype = \"webhook\"\nname = \"h\"\nurl = \"http://127.0.0.1:9/\"\n\n[store]\npath = \"a.db\"\nurl = \"sqlite:b.db\"\n";
        let e = Config::parse(text).unwrap_err();
        assert!(
            e.starts_with("line 8:") && e.contains("[store] gives both url and path"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_store_scheme_lists_the_known_ones() {
        let e =
            Config::parse("[store]\nretention_days = 3\nurl = \"mysql://db/sf\"\n").unwrap_err();
        assert!(
            e.starts_with("line 3:")
                && e.contains("\"mysql://db/sf\"")
                && e.contains("expected one of: sqlite:, postgres://"),
            "{e}"
        );
    }

    #[test]
    fn a_postgres_store_url_is_checked_when_the_config_loads() {
        let c =
            Config::parse("[store]\nurl = \"postgres://sf:pw@127.0.0.1:5433/skyfence\"\n").unwrap();
        assert_eq!(
            c.store.location(Path::new("/etc")).unwrap().to_string(),
            "postgres://sf@127.0.0.1:5433/skyfence"
        );
        let e =
            Config::parse("[store]\nurl = \"postgres://sf:pw@db:nope/skyfence\"\n").unwrap_err();
        assert!(
            e.starts_with("line 2:")
                && e.contains("postgres://sf@db:nope/skyfence")
                && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn asterix_and_remoteid_listen_on_udp() {
        let c = Config::parse(
            "[[source]]\nname = \"radar-feed\"\ntype = \"asterix\"\nlisten = \"127.0.0.1:8600\"\n\n\
             [[source]]\nname = \"rid\"\ntype = \"remoteid\"\nlisten = \"127.0.0.1:8601\"\ntransport = \"udp\"\n\n\
             [[source]]\nname = \"rid-tcp\"\ntype = \"remoteid\"\nlisten = \"127.0.0.1:8602\"\n\n\
             [[source]]\nname = \"mc\"\ntype = \"asterix\"\nlisten = \"0.0.0.0:8603\"\nmulticast_group = \"239.1.2.3\"\n",
        )
        .unwrap();
        let t: Vec<Transport> = c.sources.iter().map(SourceConfig::transport).collect();
        assert_eq!(
            t,
            [
                Transport::Udp,
                Transport::Udp,
                Transport::Tcp,
                Transport::Udp
            ]
        );
        assert_eq!(
            c.sources[3].multicast_group,
            Some("239.1.2.3".parse().unwrap())
        );
        let err = |text: &str| Config::parse(text).unwrap_err();
        let e = err(
            "[[source]]\nname = \"b\"\ntype = \"beast\"\nlisten = \"127.0.0.1:1\"\ntransport = \"udp\"\n",
        );
        assert!(
            e.starts_with("line 5:")
                && e.contains("does not come in datagrams")
                && e.contains("asterix or remoteid"),
            "{e}"
        );
        let e = err(
            "[[source]]\nname = \"a\"\ntype = \"asterix\"\nlisten = \"127.0.0.1:1\"\ntransport = \"tcp\"\n",
        );
        assert!(e.contains("received over UDP"), "{e}");
        let e = err("[[source]]\nname = \"a\"\ntype = \"asterix\"\nconnect = \"127.0.0.1:1\"\n");
        assert!(e.contains("received over UDP"), "{e}");
        let e = err(
            "[[source]]\nname = \"a\"\ntype = \"asterix\"\nlisten = \"0.0.0.0:1\"\nmulticast_group = \"10.0.0.1\"\n",
        );
        assert!(
            e.starts_with("line 5:") && e.contains("not a multicast address"),
            "{e}"
        );
        let e = err(
            "[[source]]\nname = \"a\"\ntype = \"asterix\"\nlisten = \"0.0.0.0:1\"\nmax_connections = 3\n",
        );
        assert!(e.contains("a UDP source has no connections"), "{e}");
        let e = err(
            "[[source]]\nname = \"a\"\ntype = \"remoteid\"\nlisten = \"0.0.0.0:1\"\nmulticast_group = \"239.1.1.1\"\n",
        );
        assert!(e.contains("only for transport = \"udp\""), "{e}");
        // A recording of a feed is replayed like any other.
        assert!(
            Config::parse("[[source]]\nname = \"r\"\ntype = \"pcap\"\nreplay = \"feed.pcap\"\n")
                .is_ok()
        );
    }

    #[test]
    fn cluster_and_relay_sections_are_checked_naming_the_key() {
        let c = Config::parse(
            "[cluster]\nnats = [\"nats://10.0.0.1:4222\", \"nats://10.0.0.2:4222\"]\nnode = \"kabul-1\"\n",
        )
        .unwrap();
        let cluster = c.cluster.unwrap();
        assert_eq!(cluster.nats.urls().len(), 2);
        assert_eq!(cluster.partitions, 32);
        let e = Config::parse("[cluster]\nnats = \"nats://h:4222\"\nnode = \"kabul site\"\n")
            .unwrap_err();
        assert!(e.starts_with("line 3:") && e.contains("node"), "{e}");
        let e = Config::parse("[cluster]\nnats = \"http://h:4222\"\nnode = \"k\"\n").unwrap_err();
        assert!(
            e.starts_with("line 2:") && e.contains("nats://HOST:PORT"),
            "{e}"
        );
        let e = Config::parse("[relay]\nspool_max_mb = 0\n").unwrap_err();
        assert!(
            e.starts_with("line 2:") && e.contains("spool_max_mb"),
            "{e}"
        );
        let e = Config::parse("[relay]\nspool_dir = \"x\"\n").unwrap_err();
        assert!(e.contains("spool_dir"), "{e}");
    }

    #[test]
    fn replay_sources_take_a_file_and_a_speed() {
        let c = Config::parse(
            "[[source]]\nname = \"rec\"\ntype = \"beast\"\nreplay = \"day.bin\"\nspeed = 10\n",
        )
        .unwrap();
        assert_eq!(c.sources[0].replay, Some(PathBuf::from("day.bin")));
        assert_eq!(c.sources[0].speed, Some(10.0));
        let e = Config::parse(
            "[[source]]\nname = \"rec\"\ntype = \"beast\"\nreplay = \"day.bin\"\nspeed = 0\n",
        )
        .unwrap_err();
        assert!(e.starts_with("line 5:") && e.contains("speed = 0"), "{e}");
        let e = Config::parse(
            "[[source]]\nname = \"rx\"\ntype = \"beast\"\nconnect = \"127.0.0.1:30005\"\nspeed = 2\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("line 5:") && e.contains("only for replay"),
            "{e}"
        );
        let e = Config::parse(
            "[[source]]\nname = \"rx\"\ntype = \"beast\"\nconnect = \"127.0.0.1:30005\"\nreplay = \"a.bin\"\n",
        )
        .unwrap_err();
        assert!(
            e.starts_with("line 2:") && e.contains("exactly one of"),
            "{e}"
        );
    }

    /// Every key of both sink types, the shared ones written once in [`RuleConfig`].
    const EVERY_ALERT_KEY: &str = "[[alert]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\nsecret = \"s\"\n\
        events = [\"closed\"]\nname = \"w\"\nzones = [\"A*\"]\nclassifications = [\"uav\"]\nmin_depth_m = 5\n\
        min_duration_s = 2.5\nlevel = \"caution\"\ninclude_authorised = true\ndead_letter_after_s = 60\n\
        retry_initial_s = 2\nretry_max_s = 30\ntimeout_s = 4\n\n\
        [[alert]]\ntype = \"cot\"\ntcp = \"127.0.0.1:8087\"\ninterval_s = 7\naffiliation = \"friend\"\n\
        incident_affiliation = \"hostile\"\nincident_stale_s = 60\n\
        events = [\"closed\"]\nname = \"c\"\nzones = [\"A*\"]\nclassifications = [\"uav\"]\nmin_depth_m = 5\n\
        min_duration_s = 2.5\nlevel = \"caution\"\ninclude_authorised = true\ndead_letter_after_s = 60\n\
        retry_initial_s = 2\nretry_max_s = 30\ntimeout_s = 4\n";

    #[test]
    fn every_alert_type_reads_the_same_rule_keys() {
        let c = Config::parse(EVERY_ALERT_KEY).unwrap();
        let [w, t] = &c.alerts[..] else {
            panic!("{:?}", c.alerts)
        };
        assert_eq!(w.rule.name.as_deref(), Some("w"));
        assert_eq!(t.rule.name.as_deref(), Some("c"));
        // The shared keys read the same whatever the type.
        let unnamed = |r: &RuleConfig| RuleConfig {
            name: None,
            ..r.clone()
        };
        assert_eq!(unnamed(&w.rule), unnamed(&t.rule));
        let r = &w.rule;
        assert_eq!(r.events, [AlertEvent::Closed]);
        assert_eq!(r.zones, [Glob::new("A*")]);
        assert_eq!(r.classifications, [Classification::Uav]);
        assert_eq!((r.min_depth_m, r.min_duration_s), (Some(5.0), Some(2.5)));
        assert_eq!(r.level, AlertLevel::Caution);
        assert!(r.include_authorised);
        assert_eq!(
            (
                r.dead_letter_after_s,
                r.retry_initial_s,
                r.retry_max_s,
                r.timeout_s
            ),
            (Some(60.0), Some(2.0), Some(30.0), Some(4.0))
        );
        assert_eq!(
            w.sink,
            SinkConfig::Webhook(WebhookConfig {
                url: "http://127.0.0.1:9/h".into(),
                secret: Some("s".into()),
            })
        );
        let SinkConfig::Cot(cot) = &t.sink else {
            panic!("{:?}", t.sink)
        };
        assert_eq!(cot.tcp.as_deref(), Some("127.0.0.1:8087"));
        assert_eq!((cot.interval_s, cot.incident_stale_s), (7, 60));
        assert_eq!(w.effective_name(0), "w");
    }

    /// The key lists that route a table's keys are exactly the structs' fields, in
    /// order, as serde lists them when it refuses an unknown key.
    #[test]
    fn the_key_lists_are_the_fields() {
        fn refusal<T: serde::de::DeserializeOwned + std::fmt::Debug>() -> String {
            let bogus = toml::Table::from_iter([("__".to_string(), toml::Value::Boolean(true))]);
            T::deserialize(toml::Value::Table(bogus))
                .unwrap_err()
                .message()
                .to_string()
        }
        fn listed(keys: &[&str]) -> String {
            let quoted: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
            match quoted.as_slice() {
                [a, b] => format!("unknown field `__`, expected {a} or {b}"),
                _ => format!("unknown field `__`, expected one of {}", quoted.join(", ")),
            }
        }
        assert_eq!(refusal::<RuleConfig>(), listed(RuleConfig::KEYS));
        assert_eq!(refusal::<WebhookConfig>(), listed(WebhookConfig::KEYS));
        assert_eq!(refusal::<CotConfig>(), listed(CotConfig::KEYS));
        let mut all: Vec<&str> = [RuleConfig::KEYS, WebhookConfig::KEYS, CotConfig::KEYS].concat();
        let n = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "a key is in two lists");
    }

    #[test]
    fn unknown_alert_keys_are_errors_naming_them() {
        const HOOK: &str = "[[alert]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\n";
        // A rule key misspelt, a key of the other type, a key of no type.
        for (extra, key) in [
            ("evnts = [\"closed\"]", "evnts"),
            ("interval_s = 5", "interval_s"),
            ("colour = \"red\"", "colour"),
        ] {
            let e = Config::parse(&format!("\n{HOOK}{extra}\n")).unwrap_err();
            assert!(
                e.starts_with("line 2: ") && e.contains(&format!("unknown field `{key}`")),
                "{e}"
            );
            assert!(e.contains("`url`") && e.contains("`min_depth_m`"), "{e}");
        }
        let e = Config::parse("[[alert]]\ntype = \"cot\"\nudp = \"a:1\"\nurl = \"http://a/\"\n")
            .unwrap_err();
        assert!(
            e.contains("unknown field `url`") && e.contains("`incident_stale_s`"),
            "{e}"
        );
        let e = Config::parse("[[alert]]\ntype = \"email\"\nurl = \"http://a/\"\n").unwrap_err();
        assert!(
            e.starts_with("line 1: ") && e.contains("unknown variant `email`"),
            "{e}"
        );
        let e = Config::parse("[[alert]]\nurl = \"http://a/\"\n").unwrap_err();
        assert!(e.contains("missing field `type`"), "{e}");
        let e = Config::parse("[[alert]]\ntype = \"webhook\"\n").unwrap_err();
        assert!(e.contains("missing field `url`"), "{e}");
    }

    #[test]
    fn allow_takes_an_id_glob_and_a_kind() {
        let c = Config::parse(
            "[[allow]]\nid = \"1581F5FJD*\"\nkind = \"remoteid\"\nreason = \"survey drone\"\n\n\
             [[allow]]\nid = \"kabul-psr/*\"\nreason = \"training tracks\"\n",
        )
        .unwrap();
        assert_eq!(
            c.permits[0].id.as_ref().map(Glob::as_str),
            Some("1581F5FJD*")
        );
        assert_eq!(c.permits[0].kind, Some(skyfence_core::TargetKind::RemoteId));
        assert_eq!(c.permits[1].kind, None);
        // A bad kind names its line, the value and what was expected.
        let e = Config::parse("[[allow]]\nid = \"X*\"\nkind = \"drone\"\nreason = \"r\"\n")
            .unwrap_err();
        assert!(
            e.starts_with("line 3:")
                && e.contains("unknown target kind \"drone\": expected icao, remoteid or track"),
            "{e}"
        );
        // icao24 can only match ICAO targets: with another kind it is refused at its line.
        let e = Config::parse("[[allow]]\nicao24 = \"75*\"\nkind = \"track\"\nreason = \"r\"\n")
            .unwrap_err();
        assert!(
            e.starts_with("line 3: [[allow]] permit \"r\" has icao24 with kind = \"track\""),
            "{e}"
        );
    }
}
