//! The entries of the evidence log and their canonical binary encoding, versions 1 and 2.
//!
//! A leaf's bytes are what the Merkle tree hashes (`SHA-256(0x00 || bytes)`), so the encoding
//! is canonical: one value has exactly one encoding, and [`EvidenceLeaf::decode`] rejects
//! anything [`EvidenceLeaf::encode`] would not produce. Another government can re-implement
//! it from this description alone:
//!
//! ```text
//! leaf      = version kind body
//! version   = 0x01 for kinds 0x01 to 0x05 | 0x02 for kinds 0x06, 0x08, 0x09 (each kind
//!             has exactly one version, so one value still has one encoding; version 2
//!             added the protocol-tagged raw record and the key rotation, and left the
//!             bytes of every other kind as they were, so logs and bundles written before
//!             it verify unchanged)
//! u8        = 1 byte
//! i64, u64  = 8 bytes, big-endian (i64 in two's complement)
//! bool      = 0x00 (false) | 0x01 (true)
//! opt-u8    = 0x00 | 0x01 u8
//! bytes     = u32 length (big-endian) || that many bytes
//! string    = bytes, holding valid UTF-8
//! sha256    = 32 bytes
//! incident  = 8 bytes (the incident id, printed elsewhere as 16 hex digits)
//! time      = i64 microseconds since 1970-01-01T00:00:00Z (UTC)
//!
//! kind 0x01 dataset loaded:   dataset-kind:u8 (0x01 zones, 0x02 dataset, 0x03 permits)
//!                             name:string loaded_at:time provenance:sha256
//!                             content:(0x00 bytes            -- the content itself
//!                                     | 0x01 sha256)         -- only its SHA-256
//! kind 0x02 config changed:   at:time source:string config:bytes
//! kind 0x03 raw frame:        sensor:string received_at:time signal:opt-u8 mlat:bool
//!                             frame:bytes            -- Mode S only; read, no longer written
//! kind 0x04 incident change:  incident at:time event:string incident_json:string
//! kind 0x05 operator ack:     incident operator:string note:string at:time
//! kind 0x06 raw record:       sensor:string received_at:time protocol:u8 signal mlat:bool
//!                             record:bytes
//! kind 0x08 key rotation:     at:time note:string
//! kind 0x09 sensor state:     at:time sensor:string type:string up:bool last_heard:time
//!                             -- a declared sensor came up or went down (at: when it
//!                             -- changed; the gap runs from last_heard to the next up)
//!                             -- a signed note (crate::rotation) naming the old and the
//!                             -- new log key, signed by both
//! protocol  = 0x01 Mode S frame | 0x02 ASTERIX record | 0x03 Remote ID message or pack
//!             | 0x04 multilateration fix with its copies (skyfence_mlat::evidence)
//! signal    = 0x00 (none) | 0x01 u8 (the receiver's 0-255 level) | 0x02 i8 (dBm)
//! ```
//!
//! Nothing may follow the body. Times are integers so that no floating-point formatting can
//! make two implementations disagree.

use sha2::{Digest, Sha256};

/// The encoding version of kinds 0x01 to 0x05 (the first byte of their leaves).
pub const LEAF_VERSION: u8 = 0x01;
/// The encoding version of kind 0x06, the protocol-tagged raw record.
pub const LEAF_VERSION_RAW_RECORD: u8 = 0x02;

/// How strongly a raw record was received, as a leaf records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LeafSignal {
    /// Not reported (code 0x00).
    None,
    /// The receiver's own 0-255 level, e.g. Beast's signal byte (code 0x01).
    Level(u8),
    /// Received signal strength in dBm, e.g. a Bluetooth or Wi-Fi RSSI (code 0x02).
    Dbm(i8),
}

/// Which kind of reference data a [`EvidenceLeaf::DatasetLoaded`] records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DatasetKind {
    /// A zone set (borders, restricted areas): code 0x01.
    Zones,
    /// Another dataset the detection depends on: code 0x02.
    Dataset,
    /// A permit set (who may fly where): code 0x03.
    Permits,
}

impl DatasetKind {
    fn code(self) -> u8 {
        match self {
            DatasetKind::Zones => 0x01,
            DatasetKind::Dataset => 0x02,
            DatasetKind::Permits => 0x03,
        }
    }

    fn from_code(code: u8) -> Result<Self, LeafError> {
        match code {
            0x01 => Ok(DatasetKind::Zones),
            0x02 => Ok(DatasetKind::Dataset),
            0x03 => Ok(DatasetKind::Permits),
            other => Err(LeafError::UnknownDatasetKind(other)),
        }
    }
}

/// The content of a loaded dataset: the bytes themselves, or only their SHA-256 when the
/// bytes are kept elsewhere (a bundle then ships the bytes and the verifier hashes them).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DatasetContent {
    /// The full content (code 0x00).
    Bytes(Vec<u8>),
    /// Only the SHA-256 of the content (code 0x01).
    Sha256([u8; 32]),
}

impl DatasetContent {
    /// The SHA-256 of the content, whichever way it is recorded.
    pub fn sha256(&self) -> [u8; 32] {
        match self {
            DatasetContent::Bytes(b) => Sha256::digest(b).into(),
            DatasetContent::Sha256(h) => *h,
        }
    }
}

/// One entry of the evidence log (ARCHITECTURE.md invariant 5: evidence is kept raw).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EvidenceLeaf {
    /// A zone, dataset or permit set was loaded (kind 0x01).
    DatasetLoaded {
        /// Which kind of set.
        kind: DatasetKind,
        /// Its name (file name or built-in dataset name).
        name: String,
        /// When it was loaded, µs since the Unix epoch.
        loaded_at_us: i64,
        /// SHA-256 of the provenance record (source, licence, retrieval date).
        provenance_sha256: [u8; 32],
        /// The content or its hash.
        content: DatasetContent,
    },
    /// The configuration changed (kind 0x02).
    ConfigChanged {
        /// When, µs since the Unix epoch.
        at_us: i64,
        /// Where the configuration came from (a path, "api").
        source: String,
        /// The full configuration text in force from now on.
        config: Vec<u8>,
    },
    /// A raw surveillance frame of a target with an incident (kind 0x03).
    RawFrame {
        /// The sensor (configured source name) that received it.
        sensor: String,
        /// Receive time, µs since the Unix epoch.
        received_at_us: i64,
        /// Receiver signal byte, when the source reports one.
        signal: Option<u8>,
        /// True when synthesised by multilateration rather than received over the air.
        mlat: bool,
        /// The Mode S frame bytes (7 or 14).
        frame: Vec<u8>,
    },
    /// A raw surveillance record of any protocol, as received (kind 0x06, version 2).
    RawRecord {
        /// The sensor (configured source name) that received it.
        sensor: String,
        /// Receive time, µs since the Unix epoch.
        received_at_us: i64,
        /// The protocol code: 0x01 Mode S, 0x02 ASTERIX, 0x03 Remote ID, 0x04 a
        /// multilateration fix.
        protocol: u8,
        /// The receiver's signal.
        signal: LeafSignal,
        /// True when synthesised by multilateration rather than received over the air.
        mlat: bool,
        /// The record's bytes exactly as received.
        record: Vec<u8>,
    },
    /// An incident changed state (kind 0x04).
    IncidentStateChanged {
        /// The incident id.
        incident_id: [u8; 8],
        /// When, µs since the Unix epoch.
        at_us: i64,
        /// The event kind ("opened", "updated", "closed", ...).
        event: String,
        /// The incident as JSON, exactly as stored.
        incident_json: String,
    },
    /// The log's signing key was replaced (kind 0x08, version 2): checkpoints of the
    /// log from this leaf on are signed by the new key. `note` is a signed note naming
    /// both keys, signed by both ([`crate::rotation`]).
    KeyRotated {
        /// When, µs since the Unix epoch.
        at_us: i64,
        /// The rotation statement as a signed note (text, blank line, two signatures).
        note: String,
    },
    /// A declared sensor came up or went down (kind 0x09, version 2), so a log shows
    /// when a radar was looking and when it was not.
    SensorState {
        /// When the state changed, µs since the Unix epoch.
        at_us: i64,
        /// The sensor's name (`[[sensor]] name`).
        sensor: String,
        /// Its type (`radar`, `tracker`, `adsb`, `modes`).
        sensor_type: String,
        /// `true`: it came up; `false`: it went down.
        up: bool,
        /// Its last record before the change, µs since the Unix epoch.
        last_heard_us: i64,
    },
    /// An operator acknowledged an incident (kind 0x05).
    OperatorAck {
        /// The incident id.
        incident_id: [u8; 8],
        /// Who acknowledged.
        operator: String,
        /// Their note.
        note: String,
        /// When, µs since the Unix epoch.
        at_us: i64,
    },
}

/// Why bytes are not a version-1 evidence leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    /// No bytes at all.
    #[error("empty leaf: expected a version byte")]
    Empty,
    /// A version this code does not know.
    #[error("unknown leaf encoding version {0:#04x}: expected 0x01 or 0x02")]
    UnknownVersion(u8),
    /// A known version with a kind that is written in the other version.
    #[error("leaf kind {kind:#04x} is written with version {expected:#04x}, not {found:#04x}")]
    VersionMismatch {
        /// The kind.
        kind: u8,
        /// Its version.
        expected: u8,
        /// The version found.
        found: u8,
    },
    /// A signal tag other than 0x00, 0x01 or 0x02.
    #[error("unknown signal tag {0:#04x}: expected 0x00 none, 0x01 level or 0x02 dBm")]
    UnknownSignalTag(u8),
    /// A kind this code does not know.
    #[error("unknown leaf kind {0:#04x}: expected 0x01 to 0x06, 0x08 or 0x09")]
    UnknownKind(u8),
    /// An unknown dataset kind.
    #[error("unknown dataset kind {0:#04x}: expected 0x01 zones, 0x02 dataset or 0x03 permits")]
    UnknownDatasetKind(u8),
    /// An unknown dataset content tag.
    #[error("unknown dataset content tag {0:#04x}: expected 0x00 bytes or 0x01 sha256")]
    UnknownContentTag(u8),
    /// The input ended inside a field.
    #[error("leaf truncated in field {field}: needs {needed} more bytes, {left} left")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes needed.
        needed: u64,
        /// Bytes left.
        left: usize,
    },
    /// A boolean or option tag other than 0 or 1.
    #[error("field {field} has byte {value:#04x}: expected 0x00 or 0x01")]
    BadFlag {
        /// The field.
        field: &'static str,
        /// The byte found.
        value: u8,
    },
    /// A string field that is not UTF-8.
    #[error("field {0} is not valid UTF-8")]
    NotUtf8(&'static str),
    /// Bytes after the end of the body.
    #[error("{0} unexpected bytes after the end of the leaf")]
    TrailingBytes(usize),
    /// A field too long for its u32 length prefix (encoding only).
    #[error("field {field} is {len} bytes: at most 4294967295 can be encoded")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bool(&mut self, v: bool) {
        self.0.push(u8::from(v));
    }
    fn bytes(&mut self, field: &'static str, v: &[u8]) -> Result<(), LeafError> {
        let len = u32::try_from(v.len()).map_err(|_| LeafError::TooLong {
            field,
            len: v.len(),
        })?;
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(v);
        Ok(())
    }
    fn fixed(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], LeafError> {
        if self.0.len() < n {
            return Err(LeafError::Truncated {
                field,
                needed: n as u64,
                left: self.0.len(),
            });
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u8(&mut self, field: &'static str) -> Result<u8, LeafError> {
        Ok(self.take(field, 1)?[0])
    }
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], LeafError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(field, N)?);
        Ok(out)
    }
    fn i64(&mut self, field: &'static str) -> Result<i64, LeafError> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }
    fn bool(&mut self, field: &'static str) -> Result<bool, LeafError> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            value => Err(LeafError::BadFlag { field, value }),
        }
    }
    fn bytes(&mut self, field: &'static str) -> Result<&'a [u8], LeafError> {
        let len = u32::from_be_bytes(self.array(field)?);
        // Checked against what is left before any allocation: a hostile length costs nothing.
        if (self.0.len() as u64) < u64::from(len) {
            return Err(LeafError::Truncated {
                field,
                needed: u64::from(len),
                left: self.0.len(),
            });
        }
        self.take(field, len as usize)
    }
    fn string(&mut self, field: &'static str) -> Result<String, LeafError> {
        let b = self.bytes(field)?;
        std::str::from_utf8(b)
            .map(str::to_owned)
            .map_err(|_| LeafError::NotUtf8(field))
    }
}

impl EvidenceLeaf {
    /// The kind byte of this leaf (see the module documentation).
    pub fn kind_code(&self) -> u8 {
        match self {
            EvidenceLeaf::DatasetLoaded { .. } => 0x01,
            EvidenceLeaf::ConfigChanged { .. } => 0x02,
            EvidenceLeaf::RawFrame { .. } => 0x03,
            EvidenceLeaf::IncidentStateChanged { .. } => 0x04,
            EvidenceLeaf::OperatorAck { .. } => 0x05,
            EvidenceLeaf::RawRecord { .. } => 0x06,
            EvidenceLeaf::KeyRotated { .. } => 0x08,
            EvidenceLeaf::SensorState { .. } => 0x09,
        }
    }

    /// The encoding version of this leaf's kind.
    pub fn version(&self) -> u8 {
        version_of(self.kind_code())
    }

    /// The canonical encoding (the bytes the Merkle tree hashes). Fails only for a field
    /// longer than 4 GiB.
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        let mut w = Writer(Vec::with_capacity(64));
        w.u8(self.version());
        w.u8(self.kind_code());
        match self {
            EvidenceLeaf::DatasetLoaded {
                kind,
                name,
                loaded_at_us,
                provenance_sha256,
                content,
            } => {
                w.u8(kind.code());
                w.bytes("name", name.as_bytes())?;
                w.i64(*loaded_at_us);
                w.fixed(provenance_sha256);
                match content {
                    DatasetContent::Bytes(b) => {
                        w.u8(0x00);
                        w.bytes("content", b)?;
                    }
                    DatasetContent::Sha256(h) => {
                        w.u8(0x01);
                        w.fixed(h);
                    }
                }
            }
            EvidenceLeaf::ConfigChanged {
                at_us,
                source,
                config,
            } => {
                w.i64(*at_us);
                w.bytes("source", source.as_bytes())?;
                w.bytes("config", config)?;
            }
            EvidenceLeaf::RawFrame {
                sensor,
                received_at_us,
                signal,
                mlat,
                frame,
            } => {
                w.bytes("sensor", sensor.as_bytes())?;
                w.i64(*received_at_us);
                match signal {
                    None => w.u8(0x00),
                    Some(s) => {
                        w.u8(0x01);
                        w.u8(*s);
                    }
                }
                w.bool(*mlat);
                w.bytes("frame", frame)?;
            }
            EvidenceLeaf::RawRecord {
                sensor,
                received_at_us,
                protocol,
                signal,
                mlat,
                record,
            } => {
                w.bytes("sensor", sensor.as_bytes())?;
                w.i64(*received_at_us);
                w.u8(*protocol);
                match signal {
                    LeafSignal::None => w.u8(0x00),
                    LeafSignal::Level(l) => {
                        w.u8(0x01);
                        w.u8(*l);
                    }
                    LeafSignal::Dbm(d) => {
                        w.u8(0x02);
                        w.fixed(&d.to_be_bytes());
                    }
                }
                w.bool(*mlat);
                w.bytes("record", record)?;
            }
            EvidenceLeaf::IncidentStateChanged {
                incident_id,
                at_us,
                event,
                incident_json,
            } => {
                w.fixed(incident_id);
                w.i64(*at_us);
                w.bytes("event", event.as_bytes())?;
                w.bytes("incident_json", incident_json.as_bytes())?;
            }
            EvidenceLeaf::OperatorAck {
                incident_id,
                operator,
                note,
                at_us,
            } => {
                w.fixed(incident_id);
                w.bytes("operator", operator.as_bytes())?;
                w.bytes("note", note.as_bytes())?;
                w.i64(*at_us);
            }
            EvidenceLeaf::KeyRotated { at_us, note } => {
                w.i64(*at_us);
                w.bytes("note", note.as_bytes())?;
            }
            EvidenceLeaf::SensorState {
                at_us,
                sensor,
                sensor_type,
                up,
                last_heard_us,
            } => {
                w.i64(*at_us);
                w.bytes("sensor", sensor.as_bytes())?;
                w.bytes("type", sensor_type.as_bytes())?;
                w.bool(*up);
                w.i64(*last_heard_us);
            }
        }
        Ok(w.0)
    }

    /// Parses a version-1 or version-2 encoding, rejecting anything that is not exactly
    /// canonical.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        let mut r = Reader(bytes);
        let version = r.u8("version").map_err(|_| LeafError::Empty)?;
        if version != LEAF_VERSION && version != LEAF_VERSION_RAW_RECORD {
            return Err(LeafError::UnknownVersion(version));
        }
        let kind = r.u8("kind")?;
        if KNOWN_KINDS.contains(&kind) && version_of(kind) != version {
            return Err(LeafError::VersionMismatch {
                kind,
                expected: version_of(kind),
                found: version,
            });
        }
        let leaf = match kind {
            0x01 => {
                let kind = DatasetKind::from_code(r.u8("dataset kind")?)?;
                let name = r.string("name")?;
                let loaded_at_us = r.i64("loaded_at")?;
                let provenance_sha256 = r.array("provenance")?;
                let content = match r.u8("content tag")? {
                    0x00 => DatasetContent::Bytes(r.bytes("content")?.to_vec()),
                    0x01 => DatasetContent::Sha256(r.array("content sha256")?),
                    other => return Err(LeafError::UnknownContentTag(other)),
                };
                EvidenceLeaf::DatasetLoaded {
                    kind,
                    name,
                    loaded_at_us,
                    provenance_sha256,
                    content,
                }
            }
            0x02 => EvidenceLeaf::ConfigChanged {
                at_us: r.i64("at")?,
                source: r.string("source")?,
                config: r.bytes("config")?.to_vec(),
            },
            0x03 => {
                let sensor = r.string("sensor")?;
                let received_at_us = r.i64("received_at")?;
                let signal = match r.bool("signal tag")? {
                    false => None,
                    true => Some(r.u8("signal")?),
                };
                EvidenceLeaf::RawFrame {
                    sensor,
                    received_at_us,
                    signal,
                    mlat: r.bool("mlat")?,
                    frame: r.bytes("frame")?.to_vec(),
                }
            }
            0x04 => EvidenceLeaf::IncidentStateChanged {
                incident_id: r.array("incident id")?,
                at_us: r.i64("at")?,
                event: r.string("event")?,
                incident_json: r.string("incident_json")?,
            },
            0x05 => EvidenceLeaf::OperatorAck {
                incident_id: r.array("incident id")?,
                operator: r.string("operator")?,
                note: r.string("note")?,
                at_us: r.i64("at")?,
            },
            0x06 => {
                let sensor = r.string("sensor")?;
                let received_at_us = r.i64("received_at")?;
                let protocol = r.u8("protocol")?;
                let signal = match r.u8("signal tag")? {
                    0x00 => LeafSignal::None,
                    0x01 => LeafSignal::Level(r.u8("signal")?),
                    0x02 => LeafSignal::Dbm(i8::from_be_bytes(r.array("signal")?)),
                    other => return Err(LeafError::UnknownSignalTag(other)),
                };
                EvidenceLeaf::RawRecord {
                    sensor,
                    received_at_us,
                    protocol,
                    signal,
                    mlat: r.bool("mlat")?,
                    record: r.bytes("record")?.to_vec(),
                }
            }
            0x08 => EvidenceLeaf::KeyRotated {
                at_us: r.i64("at")?,
                note: r.string("note")?,
            },
            0x09 => EvidenceLeaf::SensorState {
                at_us: r.i64("at")?,
                sensor: r.string("sensor")?,
                sensor_type: r.string("type")?,
                up: r.bool("up")?,
                last_heard_us: r.i64("last_heard")?,
            },
            other => return Err(LeafError::UnknownKind(other)),
        };
        if !r.0.is_empty() {
            return Err(LeafError::TrailingBytes(r.0.len()));
        }
        Ok(leaf)
    }

    /// The RFC 6962 leaf hash of the canonical encoding: what the log stores for this entry.
    pub fn leaf_hash(&self) -> Result<crate::merkle::Hash, LeafError> {
        Ok(crate::merkle::leaf_hash(&self.encode()?))
    }
}

/// The kinds this code reads.
const KNOWN_KINDS: [u8; 8] = [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x08, 0x09];

/// The one version each kind is written in.
fn version_of(kind: u8) -> u8 {
    if matches!(kind, 0x06 | 0x08 | 0x09) {
        LEAF_VERSION_RAW_RECORD
    } else {
        LEAF_VERSION
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn raw_record_encoding_is_byte_exact_and_version_2() {
        // The same ADS-B identification frame as below, as a protocol-tagged record.
        let frame = vec![
            0x8D, 0x48, 0x40, 0xD6, 0x20, 0x2C, 0xC3, 0x71, 0xC3, 0x2C, 0xE0, 0x57, 0x60, 0x98,
        ];
        let leaf = EvidenceLeaf::RawRecord {
            sensor: "kbl1".into(),
            received_at_us: 1_700_000_000_123_456,
            protocol: 0x01,
            signal: LeafSignal::Level(0xA0),
            mlat: false,
            record: frame.clone(),
        };
        let mut want = vec![0x02, 0x06, 0, 0, 0, 4, b'k', b'b', b'l', b'1'];
        want.extend_from_slice(&1_700_000_000_123_456i64.to_be_bytes());
        want.extend_from_slice(&[0x01, 0x01, 0xA0, 0x00, 0, 0, 0, 14]);
        want.extend_from_slice(&frame);
        assert_eq!(leaf.encode().unwrap(), want);
        assert_eq!(EvidenceLeaf::decode(&want).unwrap(), leaf);
        // A dBm signal is one signed byte.
        let rid = EvidenceLeaf::RawRecord {
            sensor: "ble".into(),
            received_at_us: 0,
            protocol: 0x03,
            signal: LeafSignal::Dbm(-67),
            mlat: false,
            record: vec![0x02; 25],
        };
        let bytes = rid.encode().unwrap();
        assert_eq!(&bytes[..2], &[0x02, 0x06]);
        assert_eq!(&bytes[17..20], &[0x03, 0x02, (-67i8) as u8]);
        assert_eq!(EvidenceLeaf::decode(&bytes).unwrap(), rid);
        // Each kind has one version: a raw record under version 1, or a version-1 kind
        // under version 2, is not canonical.
        let mut v1 = want.clone();
        v1[0] = 0x01;
        assert_eq!(
            EvidenceLeaf::decode(&v1),
            Err(LeafError::VersionMismatch {
                kind: 0x06,
                expected: 0x02,
                found: 0x01
            })
        );
        let mut bad_signal = want.clone();
        bad_signal[19] = 0x03;
        assert_eq!(
            EvidenceLeaf::decode(&bad_signal),
            Err(LeafError::UnknownSignalTag(0x03))
        );
    }

    #[test]
    fn raw_frame_encoding_is_byte_exact() {
        // An ADS-B identification frame (DF17, ICAO 4840D6, callsign KLM1023), the example of
        // "The 1090 MHz Riddle" (Junzi Sun), §"ADS-B identification".
        let frame = vec![
            0x8D, 0x48, 0x40, 0xD6, 0x20, 0x2C, 0xC3, 0x71, 0xC3, 0x2C, 0xE0, 0x57, 0x60, 0x98,
        ];
        let leaf = EvidenceLeaf::RawFrame {
            sensor: "kbl1".into(),
            received_at_us: 1_700_000_000_123_456,
            signal: Some(0xA0),
            mlat: false,
            frame: frame.clone(),
        };
        let mut want = vec![0x01, 0x03, 0, 0, 0, 4, b'k', b'b', b'l', b'1'];
        want.extend_from_slice(&1_700_000_000_123_456i64.to_be_bytes());
        want.extend_from_slice(&[0x01, 0xA0, 0x00, 0, 0, 0, 14]);
        want.extend_from_slice(&frame);
        assert_eq!(leaf.encode().unwrap(), want);
        assert_eq!(EvidenceLeaf::decode(&want).unwrap(), leaf);
    }

    #[test]
    fn operator_ack_encoding_is_byte_exact() {
        let leaf = EvidenceLeaf::OperatorAck {
            incident_id: [1, 2, 3, 4, 5, 6, 7, 8],
            operator: "op".into(),
            note: "".into(),
            at_us: -1,
        };
        let want = [
            0x01, 0x05, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 2, b'o', b'p', 0, 0, 0, 0, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(leaf.encode().unwrap(), want);
        assert_eq!(EvidenceLeaf::decode(&want).unwrap(), leaf);
    }

    #[test]
    fn non_canonical_inputs_are_rejected_with_the_reason() {
        assert_eq!(EvidenceLeaf::decode(&[]), Err(LeafError::Empty));
        assert_eq!(
            EvidenceLeaf::decode(&[0x03, 0x01]),
            Err(LeafError::UnknownVersion(3))
        );
        assert_eq!(
            EvidenceLeaf::decode(&[0x02, 0x01]),
            Err(LeafError::VersionMismatch {
                kind: 0x01,
                expected: 0x01,
                found: 0x02
            })
        );
        assert_eq!(
            EvidenceLeaf::decode(&[0x01, 0x0a]),
            Err(LeafError::UnknownKind(10))
        );
        assert_eq!(
            EvidenceLeaf::decode(&[0x01, 0x09]),
            Err(LeafError::VersionMismatch {
                kind: 0x09,
                expected: 0x02,
                found: 0x01
            })
        );
        let ack = EvidenceLeaf::OperatorAck {
            incident_id: [0; 8],
            operator: "a".into(),
            note: "b".into(),
            at_us: 0,
        };
        let mut bytes = ack.encode().unwrap();
        bytes.push(0);
        assert_eq!(
            EvidenceLeaf::decode(&bytes),
            Err(LeafError::TrailingBytes(1))
        );
        // A length prefix claiming 4 GiB is refused without allocating.
        let huge = [0x01, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(
            EvidenceLeaf::decode(&huge),
            Err(LeafError::Truncated {
                field: "source",
                ..
            })
        ));
        // mlat byte 2 is not a boolean.
        let frame = EvidenceLeaf::RawFrame {
            sensor: String::new(),
            received_at_us: 0,
            signal: None,
            mlat: true,
            frame: vec![],
        };
        let mut bytes = frame.encode().unwrap();
        let mlat_at = 2 + 4 + 8 + 1;
        bytes[mlat_at] = 2;
        assert_eq!(
            EvidenceLeaf::decode(&bytes),
            Err(LeafError::BadFlag {
                field: "mlat",
                value: 2
            })
        );
        let mut bad_utf8 = EvidenceLeaf::ConfigChanged {
            at_us: 0,
            source: "x".into(),
            config: vec![],
        }
        .encode()
        .unwrap();
        bad_utf8[2 + 8 + 4] = 0xff;
        assert_eq!(
            EvidenceLeaf::decode(&bad_utf8),
            Err(LeafError::NotUtf8("source"))
        );
    }

    #[test]
    fn dataset_content_hash_is_sha256_of_the_bytes() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        let want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let c = DatasetContent::Bytes(b"abc".to_vec());
        assert_eq!(crate::merkle::to_hex(&c.sha256()), want);
        assert_eq!(DatasetContent::Sha256(c.sha256()).sha256(), c.sha256());
    }

    fn any_leaf() -> impl Strategy<Value = EvidenceLeaf> {
        let kind = prop_oneof![
            Just(DatasetKind::Zones),
            Just(DatasetKind::Dataset),
            Just(DatasetKind::Permits)
        ];
        let content = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64).prop_map(DatasetContent::Bytes),
            any::<[u8; 32]>().prop_map(DatasetContent::Sha256),
        ];
        let signal = prop_oneof![
            Just(LeafSignal::None),
            any::<u8>().prop_map(LeafSignal::Level),
            any::<i8>().prop_map(LeafSignal::Dbm),
        ];
        prop_oneof![
            (kind, ".*", any::<i64>(), any::<[u8; 32]>(), content).prop_map(
                |(kind, name, loaded_at_us, provenance_sha256, content)| {
                    EvidenceLeaf::DatasetLoaded {
                        kind,
                        name,
                        loaded_at_us,
                        provenance_sha256,
                        content,
                    }
                }
            ),
            (
                any::<i64>(),
                ".*",
                proptest::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(at_us, source, config)| EvidenceLeaf::ConfigChanged {
                    at_us,
                    source,
                    config
                }),
            (
                ".*",
                any::<i64>(),
                any::<Option<u8>>(),
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..15)
            )
                .prop_map(|(sensor, received_at_us, signal, mlat, frame)| {
                    EvidenceLeaf::RawFrame {
                        sensor,
                        received_at_us,
                        signal,
                        mlat,
                        frame,
                    }
                }),
            (
                ".*",
                any::<i64>(),
                any::<u8>(),
                signal,
                any::<bool>(),
                // Up to 300 bytes: past the 255 of a u8 length, so the u32 length prefix
                // and ASTERIX-sized records are exercised.
                proptest::collection::vec(any::<u8>(), 0..300)
            )
                .prop_map(
                    |(sensor, received_at_us, protocol, signal, mlat, record)| {
                        EvidenceLeaf::RawRecord {
                            sensor,
                            received_at_us,
                            protocol,
                            signal,
                            mlat,
                            record,
                        }
                    }
                ),
            (any::<[u8; 8]>(), any::<i64>(), ".*", ".*").prop_map(
                |(incident_id, at_us, event, incident_json)| EvidenceLeaf::IncidentStateChanged {
                    incident_id,
                    at_us,
                    event,
                    incident_json
                }
            ),
            (any::<[u8; 8]>(), ".*", ".*", any::<i64>()).prop_map(
                |(incident_id, operator, note, at_us)| EvidenceLeaf::OperatorAck {
                    incident_id,
                    operator,
                    note,
                    at_us
                }
            ),
            (any::<i64>(), ".*").prop_map(|(at_us, note)| EvidenceLeaf::KeyRotated { at_us, note }),
            (any::<i64>(), ".*", ".*", any::<bool>(), any::<i64>()).prop_map(
                |(at_us, sensor, sensor_type, up, last_heard_us)| EvidenceLeaf::SensorState {
                    at_us,
                    sensor,
                    sensor_type,
                    up,
                    last_heard_us
                }
            ),
        ]
    }

    proptest! {
        #[test]
        fn every_leaf_round_trips(leaf in any_leaf()) {
            let bytes = leaf.encode().unwrap();
            // Each kind has exactly one version byte: 0x02 for the raw record and the key
            // rotation, else 0x01.
            let version = if matches!(leaf.kind_code(), 0x06 | 0x08 | 0x09) { LEAF_VERSION_RAW_RECORD } else { LEAF_VERSION };
            prop_assert_eq!(bytes[..2].to_vec(), vec![version, leaf.kind_code()]);
            prop_assert_eq!(EvidenceLeaf::decode(&bytes).unwrap(), leaf);
        }

        /// Decoding stays canonical when the bytes start like a raw record: random bodies
        /// behind the version 2, kind 0x06 prefix reach the record's field decoding, which
        /// fully random bytes rarely do.
        #[test]
        fn raw_record_prefixed_bytes_decode_canonically_or_not_at_all(
            sensor in proptest::collection::vec(any::<u8>(), 0..8),
            at in any::<i64>(),
            tail in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            // A well-formed sensor and time, then random protocol, signal, mlat and record
            // bytes (a random u32 sensor length would almost always end the decoding early).
            let mut bytes = vec![LEAF_VERSION_RAW_RECORD, 0x06];
            bytes.extend((sensor.len() as u32).to_be_bytes());
            bytes.extend(&sensor);
            bytes.extend(at.to_be_bytes());
            bytes.extend(tail);
            if let Ok(leaf) = EvidenceLeaf::decode(&bytes) {
                prop_assert_eq!(leaf.encode().unwrap(), bytes);
            }
        }

        #[test]
        fn decoding_is_canonical_and_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(leaf) = EvidenceLeaf::decode(&bytes) {
                prop_assert_eq!(leaf.encode().unwrap(), bytes);
            }
        }

        #[test]
        fn truncating_a_leaf_always_fails(leaf in any_leaf(), cut in any::<prop::sample::Index>()) {
            let bytes = leaf.encode().unwrap();
            let n = cut.index(bytes.len());
            prop_assert!(EvidenceLeaf::decode(&bytes[..n]).is_err());
        }
    }
}
