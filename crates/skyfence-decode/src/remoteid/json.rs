//! Receivers' Remote ID JSON (the DragonSync / DroneID shape), read by the `remoteid`
//! codec when a line starts with `[` or `{`: a convenience, like SBS for Mode S — the
//! receiver already decoded the messages, so skyfence encodes the fields it is given
//! back into F3411 messages ([`super::message::encode_message`]) and hands them on as
//! one message pack; assembly, evidence and `verify` then treat them as any record
//! (the evidence holds the re-encoded pack, quantised to the standard's steps).
//!
//! One JSON document per line, either a list of single-key objects (DroneID, DragonSync)
//! or one object holding the same keys (ESP32 receivers):
//!
//! | key | fields read (others ignored) |
//! |---|---|
//! | `Basic ID` | `id` (text), `id_type` (0–4 or its F3411 name: `Serial Number (ANSI/CTA-2063-A)`, `CAA Assigned Registration ID`, `UTM (USS) Assigned ID`, `Specific Session ID`), `ua_type` (0–15 or its name, e.g. `Helicopter (or Multirotor)`), `MAC`, `RSSI` |
//! | `Location/Vector Message` | `latitude`, `longitude` (degrees), `geodetic_altitude`, `pressure_altitude`, `height_agl` (m), `speed`, `vert_speed` (m/s), `direction` (degrees) |
//! | `Self-ID Message` | `text` |
//! | `System Message` | `operator_lat`, `operator_lon` (or `latitude`, `longitude`) |
//! | `Operator ID Message` | `operator_id` |
//! | `MAC`, `RSSI` | (a list item or top-level keys) the transmitter and its signal |
//! | `AUX_ADV_IND` / `aext` | `rssi`; `AdvA` (its first address) |
//! | `timestamp` | (a list item or top-level key) receive time, Unix seconds |
//! | `receiver` | (a list item or top-level key) the receiver's name |
//!
//! Numbers may be given as strings with a unit (`"1650.0 m"`). A document without a
//! `timestamp` is given the Unix epoch: live sources stamp every record with its
//! receive time anyway; a recording must carry times. Drops: a document that is not
//! valid JSON, or holds none of these messages, [`DropReason::Unparsable`]; a position
//! outside ±90°/±180° [`DropReason::BadPosition`]; a bad MAC or receiver name
//! [`DropReason::Unparsable`].

use serde_json::{Map, Value};
use skyfence_core::{GeoPoint, ShortName, Timestamp};

use super::line::{Record, parse_mac};
use super::message::{
    BasicId, Decoded, IdType, Location, MESSAGE_LEN, Message, OperatorId, SelfId, System, UaType,
    encode_message, encode_pack,
};
use crate::DropReason;

/// The protocol version of the messages encoded from JSON (F3411-22a).
const VERSION: u8 = 2;

/// A number, or a string whose first word is one.
fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.split_whitespace().next()?.parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

fn text(v: Option<&Value>) -> Option<&str> {
    v?.as_str()
}

fn padded<const N: usize>(s: &str) -> [u8; N] {
    let mut b = [0u8; N];
    for (d, c) in b.iter_mut().zip(s.bytes().filter(u8::is_ascii)) {
        *d = c;
    }
    b
}

/// `id_type`: a code or the F3411 name.
fn id_type(v: Option<&Value>) -> IdType {
    if let Some(n) = v.and_then(Value::as_u64) {
        return IdType::from_code(u8::try_from(n.min(15)).unwrap_or(0));
    }
    let name = text(v).unwrap_or("").to_ascii_lowercase();
    let code = if name.contains("serial") {
        1
    } else if name.contains("caa") || name.contains("registration") {
        2
    } else if name.contains("utm") {
        3
    } else if name.contains("session") {
        4
    } else if name.is_empty() {
        // No type given: an `id` is most often a serial number.
        1
    } else {
        0
    };
    IdType::from_code(code)
}

/// `ua_type`: a code or the F3411 name.
fn ua_type(v: Option<&Value>) -> UaType {
    if let Some(n) = v.and_then(Value::as_u64) {
        return UaType(u8::try_from(n.min(15)).unwrap_or(0));
    }
    let name = text(v).unwrap_or("").to_ascii_lowercase();
    const NAMES: [(&str, u8); 15] = [
        ("aeroplane", 1),
        ("airplane", 1),
        ("helicopter", 2),
        ("multirotor", 2),
        ("gyroplane", 3),
        ("hybrid", 4),
        ("ornithopter", 5),
        ("glider", 6),
        ("kite", 7),
        ("free balloon", 8),
        ("captive", 9),
        ("airship", 10),
        ("parachute", 11),
        ("rocket", 12),
        ("tethered", 13),
    ];
    let code = NAMES
        .iter()
        .find(|(n, _)| name.contains(n))
        .map(|&(_, c)| c)
        .or_else(|| name.contains("obstacle").then_some(14))
        .or_else(|| name.contains("other").then_some(15))
        .unwrap_or(0);
    UaType(code)
}

fn point(lat: Option<f64>, lon: Option<f64>) -> Result<Option<GeoPoint>, DropReason> {
    match (lat, lon) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                return Err(DropReason::BadPosition);
            }
            // 0, 0 is the standard's "unknown".
            Ok((lat != 0.0 || lon != 0.0).then(|| GeoPoint::new(lat, lon)))
        }
        _ => Ok(None),
    }
}

/// What one document says, gathered from its items.
#[derive(Default)]
struct Gathered {
    messages: Vec<[u8; MESSAGE_LEN]>,
    mac: Option<[u8; 6]>,
    rssi: Option<i8>,
    at: Option<Timestamp>,
    receiver: Option<ShortName>,
}

impl Gathered {
    fn push(&mut self, message: Message) {
        if self.messages.len() < 9 {
            self.messages.push(encode_message(&Decoded {
                version: VERSION,
                message,
            }));
        }
    }

    fn mac(&mut self, v: Option<&Value>) -> Result<(), DropReason> {
        if let Some(s) = text(v) {
            // `AdvA` may hold two addresses: the first is the advertiser.
            let first = s.split_whitespace().next().unwrap_or("");
            self.mac = Some(parse_mac(first.as_bytes()).ok_or(DropReason::Unparsable)?);
        }
        Ok(())
    }

    fn rssi(&mut self, v: Option<&Value>) {
        if let Some(r) = number(v).filter(|r| (-128.0..=20.0).contains(r)) {
            self.rssi = Some(r.round() as i8);
        }
    }

    /// One key of a document and its value.
    fn key(&mut self, key: &str, v: &Value) -> Result<(), DropReason> {
        let field = |name: &str| v.get(name);
        match key {
            "Basic ID" => {
                self.mac(field("MAC"))?;
                self.rssi(field("RSSI"));
                if let Some(id) = text(field("id")) {
                    self.push(Message::BasicId(BasicId {
                        id_type: id_type(field("id_type")),
                        ua_type: ua_type(field("ua_type")),
                        uas_id: padded(id),
                    }));
                }
            }
            "Location/Vector Message" => {
                let position = point(number(field("latitude")), number(field("longitude")))?;
                self.push(Message::Location(Location {
                    position,
                    alt_geo_m: number(field("geodetic_altitude")).map(|x| x as f32),
                    alt_baro_m: number(field("pressure_altitude")).map(|x| x as f32),
                    height_m: number(field("height_agl")).map(|x| x as f32),
                    speed_ms: number(field("speed")).map(|x| x as f32),
                    vspeed_ms: number(field("vert_speed")).map(|x| x as f32),
                    direction_deg: number(field("direction"))
                        .filter(|d| (0.0..=360.0).contains(d))
                        .map(|x| x as f32),
                    ..Location::default()
                }));
            }
            "Self-ID Message" => {
                if let Some(t) = text(field("text")) {
                    self.push(Message::SelfId(SelfId {
                        desc_type: 0,
                        text: padded(t),
                    }));
                }
            }
            "System Message" => {
                let lat = number(field("operator_lat")).or(number(field("latitude")));
                let lon = number(field("operator_lon")).or(number(field("longitude")));
                self.push(Message::System(System {
                    operator: point(lat, lon)?,
                    ..System::default()
                }));
            }
            "Operator ID Message" => {
                if let Some(id) = text(field("operator_id")) {
                    self.push(Message::OperatorId(OperatorId {
                        id_type: 0,
                        id: padded(id),
                    }));
                }
            }
            "MAC" => self.mac(Some(v))?,
            "RSSI" => self.rssi(Some(v)),
            "AUX_ADV_IND" => self.rssi(field("rssi")),
            "aext" => self.mac(field("AdvA"))?,
            "timestamp" => {
                if let Some(s) = number(Some(v)) {
                    self.at = Some(Timestamp::from_micros((s * 1e6).round() as i64));
                }
            }
            "receiver" => {
                let name = text(Some(v)).and_then(|s| ShortName::new(s).ok());
                self.receiver = Some(name.ok_or(DropReason::Unparsable)?);
            }
            _ => {}
        }
        Ok(())
    }

    fn object(&mut self, o: &Map<String, Value>) -> Result<(), DropReason> {
        for (k, v) in o {
            self.key(k, v)?;
        }
        Ok(())
    }
}

/// Reads one JSON document: the record it gives, or why not.
pub fn record(line: &[u8]) -> Result<Record, DropReason> {
    let doc: Value = serde_json::from_slice(line).map_err(|_| DropReason::Unparsable)?;
    let mut g = Gathered::default();
    match &doc {
        Value::Array(items) => {
            for item in items {
                // Items other than objects (DroneID lists may hold them) are skipped.
                if let Value::Object(o) = item {
                    g.object(o)?;
                }
            }
        }
        Value::Object(o) => g.object(o)?,
        _ => return Err(DropReason::Unparsable),
    }
    if g.messages.is_empty() {
        return Err(DropReason::Unparsable);
    }
    let mut pack = Vec::with_capacity(3 + g.messages.len() * MESSAGE_LEN);
    encode_pack(VERSION, &g.messages, &mut pack);
    let mut r =
        Record::new(g.at.unwrap_or(Timestamp::EPOCH), g.mac, &pack).ok_or(DropReason::BadLength)?;
    r.rssi_dbm = g.rssi;
    r.receiver = g.receiver;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remoteid::decode_record;
    use crate::remoteid::line::RemoteIdLineDecoder;

    /// The messages of a record, decoded.
    fn messages(r: &Record) -> Vec<Message> {
        let mut out = Vec::new();
        decode_record(r.data(), &mut |d| out.push(d.message), &mut |e| {
            panic!("{e:?}")
        });
        out
    }

    #[test]
    fn a_dragonsync_list_becomes_one_pack() {
        let doc = br#"[{"timestamp": 1700000000.25, "receiver": "wardragon-1"},
            {"Basic ID": {"id_type": "Serial Number (ANSI/CTA-2063-A)", "id": "1581F5FJD239C00DW22E", "ua_type": "Helicopter (or Multirotor)", "MAC": "60:60:1f:aa:bb:cc", "RSSI": -67}},
            {"Location/Vector Message": {"latitude": 34.1, "longitude": 70.97, "speed": 5.0, "vert_speed": "-1.5 m/s", "geodetic_altitude": "1650.0 m", "height_agl": 30.0, "direction": 90}},
            {"Self-ID Message": {"text": "Pipeline survey"}},
            {"System Message": {"latitude": 34.09, "longitude": 70.95}},
            {"Operator ID Message": {"operator_id_type": "Operator ID", "operator_id": "PAK-OP-12345"}},
            "junk", null]"#;
        let line: Vec<u8> = doc.iter().copied().filter(|&b| b != b'\n').collect();
        let r = record(&line).unwrap();
        assert_eq!(r.at, Timestamp::from_micros(1_700_000_000_250_000));
        assert_eq!(r.receiver.unwrap().as_str(), "wardragon-1");
        assert_eq!(r.transmitter, Some([0x60, 0x60, 0x1f, 0xaa, 0xbb, 0xcc]));
        assert_eq!(r.rssi_dbm, Some(-67));
        let m = messages(&r);
        assert_eq!(m.len(), 5);
        let Message::BasicId(b) = m[0] else { panic!() };
        assert_eq!(b.id_type, IdType::SerialNumber);
        assert_eq!(b.ua_type, UaType(2));
        assert_eq!(b.target_name().unwrap().as_str(), "1581F5FJD239C00DW22E");
        let Message::Location(l) = m[1] else { panic!() };
        let p = l.position.unwrap();
        assert!((p.lat - 34.1).abs() < 1e-7 && (p.lon - 70.97).abs() < 1e-7);
        assert_eq!((l.speed_ms, l.vspeed_ms), (Some(5.0), Some(-1.5)));
        assert_eq!(
            (l.alt_geo_m, l.height_m, l.direction_deg),
            (Some(1650.0), Some(30.0), Some(90.0))
        );
        let Message::System(s) = m[3] else { panic!() };
        assert!((s.operator.unwrap().lon - 70.95).abs() < 1e-7);
        let Message::OperatorId(o) = m[4] else {
            panic!()
        };
        assert_eq!(o.id().unwrap(), "PAK-OP-12345");
    }

    #[test]
    fn an_esp32_object_with_aux_adv_ind() {
        let r = record(
            br#"{"AUX_ADV_IND": {"rssi": -68}, "aext": {"AdvA": "AA:BB:CC:DD:EE:FF 12:34:56:78:90:AB"}, "Basic ID": {"id": "ESP32TEST", "id_type": "CAA Assigned Registration ID", "ua_type": 2}, "System Message": {"operator_lat": 3.0, "operator_lon": 4.0}}"#,
        )
        .unwrap();
        assert_eq!(r.transmitter, Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        assert_eq!((r.rssi_dbm, r.at), (Some(-68), Timestamp::EPOCH));
        let m = messages(&r);
        let Message::BasicId(b) = m[0] else { panic!() };
        assert_eq!(b.id_type, IdType::CaaRegistration);
        let Message::System(s) = m[1] else { panic!() };
        assert_eq!(s.operator, Some(GeoPoint::new(3.0, 4.0)));
    }

    #[test]
    fn bad_documents_are_counted_in_the_remoteid_codec() {
        let text = concat!(
            "timestamp,receiver,rssi,transmitter,hex\n",
            "[{\"Basic ID\": {\"id\": \"SKYF0001\"}}]\n",
            "{\"Location/Vector Message\": {\"latitude\": 91.0, \"longitude\": 2.0}}\n",
            "[1, 2, 3]\n",
            "{not json\n",
            "[{\"MAC\": \"nonsense\"}, {\"Basic ID\": {\"id\": \"X\"}}]\n",
        );
        let (records, drops) = RemoteIdLineDecoder::decode_all(text.as_bytes());
        assert_eq!(records.len(), 1);
        assert_eq!(drops.get(DropReason::BadPosition), 1);
        assert_eq!(drops.get(DropReason::Unparsable), 3);
        // A long document (beyond the 512-byte limit of other text formats) is read.
        let long = format!(
            "[{{\"Self-ID Message\": {{\"text\": \"x\"}}, \"pad\": \"{}\"}}]\n",
            "y".repeat(4000)
        );
        let (records, drops) = RemoteIdLineDecoder::decode_all(long.as_bytes());
        assert_eq!((records.len(), drops.total_messages()), (1, 0));
    }
}
