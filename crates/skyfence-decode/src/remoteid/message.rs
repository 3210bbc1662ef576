//! The 25-byte Remote ID messages of ASTM F3411-19/-22a and ASD-STAN EN 4709-002, and
//! the message pack that carries several of them.
//!
//! Every message starts with one header byte: the message type in the high nibble and
//! the protocol version in the low nibble (0: F3411-19, 1: F3411-20 and EN 4709-002,
//! 2: F3411-22a). Multi-byte fields are little-endian. Field tables (F3411-22a §5.4.5,
//! Tables 3–10; EN 4709-002 §6):
//!
//! | type | message | bytes 1–24 |
//! |---|---|---|
//! | 0x0 | Basic ID | ID type (high nibble) and UA type (low nibble); 20-byte UAS ID |
//! | 0x1 | Location / Vector | status, height type, E/W direction segment, speed multiplier; direction; horizontal and vertical speed; latitude, longitude (int32 × 1e-7°); pressure and geodetic altitude, height (uint16 × 0.5 m − 1000 m); accuracies; time (uint16, 0.1 s after the hour); time accuracy |
//! | 0x2 | Authentication | auth type and page number; page 0: last page index, length, time (uint32 s since 2019-01-01), 17 data bytes; pages 1–15: 23 data bytes |
//! | 0x3 | Self-ID | description type; 23 ASCII characters |
//! | 0x4 | System | operator location type, classification type; operator latitude and longitude; area count, radius (× 10 m), ceiling, floor; EU category and class; operator geodetic altitude; time (uint32 s since 2019-01-01) — bytes 17–23 from version 1 on |
//! | 0x5 | Operator ID | operator ID type; 20-byte operator ID |
//! | 0xF | Message pack | message size (25), count (1–9); count × 25 bytes |
//!
//! The standard's "unknown" encodings become `None`: direction > 360°, horizontal speed
//! 255 m/s, vertical speed beyond ±62 m/s, altitude code 0 (−1000 m), latitude and
//! longitude both 0, time 0xFFFF (Location) or 0 (System, Authentication). A position
//! outside ±90°/±180° is no position at all: the message is dropped as
//! [`DropReason::BadPosition`].
//!
//! Decoding is stateless and allocation-free; the encoder beside it writes the same
//! layout (the simulator and the tests build on it).

use skyfence_core::GeoPoint;

use crate::DropReason;

/// Length of every Remote ID message, bytes.
pub const MESSAGE_LEN: usize = 25;

/// The most messages a message pack holds (F3411-22a §5.4.5.23: 9 fit a Bluetooth 5
/// extended advertisement or a Wi-Fi frame alongside the headers).
pub const PACK_MAX_MESSAGES: usize = 9;

/// The most Authentication pages (F3411-22a: pages 0–15).
pub const AUTH_MAX_PAGES: usize = 16;

/// Data bytes on Authentication page 0.
pub const AUTH_PAGE0_DATA: usize = 17;

/// Data bytes on Authentication pages 1–15.
pub const AUTH_PAGE_DATA: usize = 23;

/// The highest protocol version skyfence reads (2: F3411-22a).
pub const MAX_VERSION: u8 = 2;

/// Unix time of 2019-01-01T00:00:00Z, the epoch of System and Authentication times.
pub const EPOCH_2019_UNIX_S: i64 = 1_546_300_800;

/// Message types (the header's high nibble).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// 0x0: Basic ID.
    BasicId = 0,
    /// 0x1: Location / Vector.
    Location = 1,
    /// 0x2: Authentication (one page).
    Auth = 2,
    /// 0x3: Self-ID.
    SelfId = 3,
    /// 0x4: System.
    System = 4,
    /// 0x5: Operator ID.
    OperatorId = 5,
    /// 0xF: Message pack.
    Pack = 0xF,
}

impl MessageType {
    /// From the header's high nibble; `None` for the reserved types 0x6–0xE.
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => MessageType::BasicId,
            1 => MessageType::Location,
            2 => MessageType::Auth,
            3 => MessageType::SelfId,
            4 => MessageType::System,
            5 => MessageType::OperatorId,
            0xF => MessageType::Pack,
            _ => return None,
        })
    }

    /// The snake_case name in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            MessageType::BasicId => "basic_id",
            MessageType::Location => "location",
            MessageType::Auth => "auth",
            MessageType::SelfId => "self_id",
            MessageType::System => "system",
            MessageType::OperatorId => "operator_id",
            MessageType::Pack => "message_pack",
        }
    }
}

/// What the UAS ID of a Basic ID message is (F3411-22a Table 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdType {
    /// 0: none.
    None,
    /// 1: a serial number per ANSI/CTA-2063-A (ASCII).
    SerialNumber,
    /// 2: a civil aviation authority registration (ASCII).
    CaaRegistration,
    /// 3: a UTM-assigned UUID (16 bytes, binary).
    UtmUuid,
    /// 4: a specific session id (F3411-22a; first byte: session id type, binary).
    SpecificSession,
    /// 5–15: reserved.
    Reserved(u8),
}

impl IdType {
    /// From the 4-bit code.
    pub const fn from_code(code: u8) -> Self {
        match code & 0x0f {
            0 => IdType::None,
            1 => IdType::SerialNumber,
            2 => IdType::CaaRegistration,
            3 => IdType::UtmUuid,
            4 => IdType::SpecificSession,
            c => IdType::Reserved(c),
        }
    }

    /// The 4-bit code.
    pub const fn code(self) -> u8 {
        match self {
            IdType::None => 0,
            IdType::SerialNumber => 1,
            IdType::CaaRegistration => 2,
            IdType::UtmUuid => 3,
            IdType::SpecificSession => 4,
            IdType::Reserved(c) => c & 0x0f,
        }
    }

    /// The snake_case name in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            IdType::None => "none",
            IdType::SerialNumber => "serial_number",
            IdType::CaaRegistration => "caa_registration",
            IdType::UtmUuid => "utm_uuid",
            IdType::SpecificSession => "session_id",
            IdType::Reserved(_) => "reserved",
        }
    }

    /// Whether the UAS ID is text (ASCII) rather than binary.
    pub const fn is_text(self) -> bool {
        matches!(self, IdType::SerialNumber | IdType::CaaRegistration)
    }
}

/// The kind of unmanned aircraft (F3411-22a Table 5), 4 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UaType(pub u8);

impl UaType {
    /// The snake_case name in JSON and incidents.
    pub const fn as_str(self) -> &'static str {
        match self.0 {
            0 => "none",
            1 => "aeroplane",
            2 => "helicopter_or_multirotor",
            3 => "gyroplane",
            4 => "hybrid_lift",
            5 => "ornithopter",
            6 => "glider",
            7 => "kite",
            8 => "free_balloon",
            9 => "captive_balloon",
            10 => "airship",
            11 => "free_fall_parachute",
            12 => "rocket",
            13 => "tethered_powered_aircraft",
            14 => "ground_obstacle",
            _ => "other",
        }
    }
}

/// Basic ID: who the aircraft is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BasicId {
    /// What `uas_id` is.
    pub id_type: IdType,
    /// The kind of aircraft.
    pub ua_type: UaType,
    /// The UAS ID, 20 bytes: ASCII padded with NULs, or binary (see [`IdType`]).
    pub uas_id: [u8; 20],
}

impl BasicId {
    /// The significant bytes of the UAS ID: without trailing NULs (and spaces, for text).
    pub fn id_bytes(&self) -> &[u8] {
        let text = self.id_type.is_text();
        let end = self
            .uas_id
            .iter()
            .rposition(|&b| b != 0 && !(text && b == b' '))
            .map_or(0, |i| i + 1);
        &self.uas_id[..end]
    }

    /// The UAS ID as skyfence names the target: the text of a serial number or
    /// registration (printable ASCII, at most 20 characters); for binary ids (UTM UUID,
    /// session id) the significant bytes in unpadded base64url (RFC 4648 §5), at most 24
    /// characters (the first 18 bytes; a DRIP session id of 17 bytes fits whole).
    /// `None` when the id is empty, of type none, or text that is not printable ASCII.
    pub fn target_name(&self) -> Option<TargetName> {
        let bytes = self.id_bytes();
        if bytes.is_empty() || self.id_type == IdType::None {
            return None;
        }
        let mut name = TargetName::default();
        if self.id_type.is_text() {
            if !bytes.iter().all(u8::is_ascii_graphic) {
                return None;
            }
            name.push_all(bytes);
        } else {
            base64url(&bytes[..bytes.len().min(18)], &mut name);
        }
        Some(name)
    }
}

/// A Remote ID as target name: at most 24 printable ASCII bytes, inline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TargetName {
    len: u8,
    bytes: [u8; 24],
}

impl TargetName {
    fn push_all(&mut self, b: &[u8]) {
        for &c in b {
            if usize::from(self.len) < self.bytes.len() {
                self.bytes[usize::from(self.len)] = c;
                self.len += 1;
            }
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or("")
    }
}

/// Unpadded base64url (RFC 4648 §5). Hand-written: 15 lines for the one place binary
/// ids become names, on the decode path, without allocating.
fn base64url(bytes: &[u8], out: &mut TargetName) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..chars {
            let idx = (n >> (18 - 6 * i)) & 0x3f;
            out.push_all(&[ALPHABET[idx as usize]]);
        }
    }
}

/// Operational status of the aircraft (F3411-22a Table 7), 4 bits: 0 undeclared,
/// 1 ground, 2 airborne, 3 emergency, 4 Remote ID system failure, 5–15 reserved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Status(pub u8);

impl Status {
    /// The snake_case name in JSON.
    pub const fn as_str(self) -> &'static str {
        match self.0 {
            0 => "undeclared",
            1 => "ground",
            2 => "airborne",
            3 => "emergency",
            4 => "remote_id_system_failure",
            _ => "reserved",
        }
    }
}

/// What the Location message's height is measured from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HeightReference {
    /// Above the take-off location (flag 0).
    #[default]
    Takeoff,
    /// Above the ground under the aircraft (flag 1).
    Ground,
}

impl HeightReference {
    /// The snake_case name in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            HeightReference::Takeoff => "takeoff",
            HeightReference::Ground => "ground",
        }
    }
}

/// Horizontal accuracy code (F3411-22a Table 8, the ADS-B NACp bounds) as a 95 % bound
/// in metres: 1 < 10 NM … 9 < 30 m, 10 < 10 m, 11 < 3 m, 12 < 1 m; `None` for 0
/// (unknown) and the reserved 13–15.
pub const fn horizontal_accuracy_m(code: u8) -> Option<f32> {
    Some(match code {
        1 => 18_520.0,
        2 => 7_408.0,
        3 => 3_704.0,
        4 => 1_852.0,
        5 => 926.0,
        6 => 555.6,
        7 => 185.2,
        8 => 92.6,
        9 => 30.0,
        10 => 10.0,
        11 => 3.0,
        12 => 1.0,
        _ => return None,
    })
}

/// Vertical (geodetic and pressure) accuracy code (F3411-22a Table 9) as a 95 % bound in
/// metres: 1 < 150 m, 2 < 45 m, 3 < 25 m, 4 < 10 m, 5 < 3 m, 6 < 1 m; `None` for 0 and
/// 7–15.
pub const fn vertical_accuracy_m(code: u8) -> Option<f32> {
    Some(match code {
        1 => 150.0,
        2 => 45.0,
        3 => 25.0,
        4 => 10.0,
        5 => 3.0,
        6 => 1.0,
        _ => return None,
    })
}

/// Speed accuracy code (F3411-22a Table 10) as a 95 % bound in m/s: 1 < 10, 2 < 3,
/// 3 < 1, 4 < 0.3; `None` for 0 and 5–15.
pub const fn speed_accuracy_ms(code: u8) -> Option<f32> {
    Some(match code {
        1 => 10.0,
        2 => 3.0,
        3 => 1.0,
        4 => 0.3,
        _ => return None,
    })
}

/// Location / Vector: where the aircraft is and how it moves.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Location {
    /// Operational status.
    pub status: Status,
    /// What `height_m` is measured from.
    pub height_ref: HeightReference,
    /// Track over ground, degrees clockwise from true north (0–360).
    pub direction_deg: Option<f32>,
    /// Ground speed, m/s (0–254.25; 0.25 m/s steps below 63.75, 0.75 above).
    pub speed_ms: Option<f32>,
    /// Vertical speed, m/s, positive up (±62, 0.5 m/s steps).
    pub vspeed_ms: Option<f32>,
    /// Latitude and longitude, 1e-7° steps.
    pub position: Option<GeoPoint>,
    /// Pressure altitude, metres (0.5 m steps, −1000 to 31767.5).
    pub alt_baro_m: Option<f32>,
    /// Geodetic (WGS-84 ellipsoid) altitude, metres.
    pub alt_geo_m: Option<f32>,
    /// Height above `height_ref`, metres.
    pub height_m: Option<f32>,
    /// Horizontal accuracy code ([`horizontal_accuracy_m`]).
    pub h_accuracy: u8,
    /// Geodetic altitude accuracy code ([`vertical_accuracy_m`]).
    pub v_accuracy: u8,
    /// Pressure altitude accuracy code ([`vertical_accuracy_m`]).
    pub baro_accuracy: u8,
    /// Speed accuracy code ([`speed_accuracy_ms`]).
    pub speed_accuracy: u8,
    /// Time of the position, tenths of a second after the full hour (0–35999).
    pub tenths_after_hour: Option<u16>,
    /// Time accuracy, tenths of a second (1–15); `None` when unknown (0).
    pub time_accuracy_tenths: Option<u8>,
}

impl Location {
    /// The 95 % horizontal bound of the position, metres.
    pub fn accuracy_m(&self) -> Option<f32> {
        horizontal_accuracy_m(self.h_accuracy)
    }
}

/// Authentication type (F3411-22a Table 11): 0 none, 1 UAS ID signature, 2 operator ID
/// signature, 3 message set signature, 4 network Remote ID, 5 specific method,
/// 6–9 reserved, 10–15 private.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AuthType(pub u8);

impl AuthType {
    /// The snake_case name in JSON.
    pub const fn as_str(self) -> &'static str {
        match self.0 {
            0 => "none",
            1 => "uas_id_signature",
            2 => "operator_id_signature",
            3 => "message_set_signature",
            4 => "network_remote_id",
            5 => "specific_method",
            6..=9 => "reserved",
            _ => "private",
        }
    }
}

/// One Authentication page, kept raw: page 0 carries the last page index, the total
/// data length and a time, and 17 data bytes; pages 1–15 carry 23 data bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AuthPage {
    /// Authentication type.
    pub auth_type: AuthType,
    /// Page number, 0–15.
    pub page: u8,
    /// Page 0: index of the last page.
    pub last_page: Option<u8>,
    /// Page 0: length of the whole authentication data, bytes.
    pub length: Option<u8>,
    /// Page 0: seconds since 2019-01-01T00:00:00Z; `None` when 0 (unknown).
    pub timestamp_s: Option<u32>,
    /// The page's data bytes (17 on page 0, 23 on others; see [`AuthPage::data`]).
    pub data: [u8; 23],
}

impl AuthPage {
    /// The data bytes this page carries.
    pub fn data(&self) -> &[u8] {
        if self.page == 0 {
            &self.data[..17]
        } else {
            &self.data
        }
    }
}

/// Self-ID: free text the operator chose (description type 0: text, 1: emergency,
/// 2: extended status, 201–255: private).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelfId {
    /// Description type.
    pub desc_type: u8,
    /// 23 ASCII bytes, NUL-padded.
    pub text: [u8; 23],
}

impl SelfId {
    /// The text up to the first NUL, trailing spaces trimmed; `None` if not ASCII.
    pub fn text(&self) -> Option<&str> {
        ascii_field(&self.text)
    }
}

/// Where the System message's operator position comes from (F3411-22a Table 13).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OperatorLocationType(pub u8);

impl OperatorLocationType {
    /// The snake_case name in JSON.
    pub const fn as_str(self) -> &'static str {
        match self.0 {
            0 => "takeoff",
            1 => "live_gnss",
            2 => "fixed",
            _ => "reserved",
        }
    }
}

/// System: the operator's position, the operating area and the EU classification.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct System {
    /// Where the operator position comes from.
    pub operator_location_type: OperatorLocationType,
    /// Classification type: 0 undeclared, 1 European Union, 2–7 reserved.
    pub classification_type: u8,
    /// The operator's (remote pilot's) position.
    pub operator: Option<GeoPoint>,
    /// Number of aircraft in the area (swarms).
    pub area_count: u16,
    /// Radius of the operating area, metres (10 m steps).
    pub area_radius_m: u16,
    /// Area ceiling, geodetic metres.
    pub area_ceiling_m: Option<f32>,
    /// Area floor, geodetic metres.
    pub area_floor_m: Option<f32>,
    /// EU category (0 undeclared, 1 open, 2 specific, 3 certified); version ≥ 1.
    pub category_eu: u8,
    /// EU class (0 undeclared, 1–7: class 0–6); version ≥ 1.
    pub class_eu: u8,
    /// Operator geodetic altitude, metres; version ≥ 1.
    pub operator_alt_geo_m: Option<f32>,
    /// Seconds since 2019-01-01T00:00:00Z; version ≥ 1, `None` when 0.
    pub timestamp_s: Option<u32>,
}

/// Operator ID: the operator's registration (type 0: operator ID; 1–200 reserved,
/// 201–255 private).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OperatorId {
    /// Operator ID type.
    pub id_type: u8,
    /// 20 ASCII bytes, NUL-padded.
    pub id: [u8; 20],
}

impl OperatorId {
    /// The id up to the first NUL, trailing spaces trimmed; `None` if not printable
    /// ASCII or empty.
    pub fn id(&self) -> Option<&str> {
        ascii_field(&self.id).filter(|s| !s.is_empty())
    }
}

/// The text of a NUL-padded ASCII field, trailing spaces trimmed.
fn ascii_field(bytes: &[u8]) -> Option<&str> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = &bytes[..end];
    if !text.iter().all(|&b| b == b' ' || b.is_ascii_graphic()) {
        return None;
    }
    std::str::from_utf8(text).ok().map(str::trim_end)
}

/// One decoded message (never a pack: packs are unpacked into these).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Message {
    /// Basic ID.
    BasicId(BasicId),
    /// Location / Vector.
    Location(Location),
    /// One Authentication page.
    Auth(AuthPage),
    /// Self-ID.
    SelfId(SelfId),
    /// System.
    System(System),
    /// Operator ID.
    OperatorId(OperatorId),
}

impl Message {
    /// The message type.
    pub const fn message_type(&self) -> MessageType {
        match self {
            Message::BasicId(_) => MessageType::BasicId,
            Message::Location(_) => MessageType::Location,
            Message::Auth(_) => MessageType::Auth,
            Message::SelfId(_) => MessageType::SelfId,
            Message::System(_) => MessageType::System,
            Message::OperatorId(_) => MessageType::OperatorId,
        }
    }
}

/// A decoded message with the protocol version it was written in.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decoded {
    /// Protocol version, 0–2.
    pub version: u8,
    /// The message.
    pub message: Message,
}

#[inline]
fn u16_le(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

#[inline]
fn i32_le(b: &[u8], i: usize) -> i32 {
    i32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

#[inline]
fn u32_le(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// An altitude or height code: 0.5 m steps from −1000 m; code 0 is "unknown".
#[inline]
fn altitude_m(code: u16) -> Option<f32> {
    (code != 0).then(|| f32::from(code) * 0.5 - 1000.0)
}

/// A latitude/longitude pair in 1e-7° steps: `Ok(None)` for the standard's "unknown"
/// (both 0), `Err` for values outside ±90°/±180°.
#[inline]
fn lat_lon(lat: i32, lon: i32) -> Result<Option<GeoPoint>, DropReason> {
    if lat == 0 && lon == 0 {
        return Ok(None);
    }
    if lat.unsigned_abs() > 900_000_000 || lon.unsigned_abs() > 1_800_000_000 {
        return Err(DropReason::BadPosition);
    }
    Ok(Some(GeoPoint::new(
        f64::from(lat) * 1e-7,
        f64::from(lon) * 1e-7,
    )))
}

/// Decodes one 25-byte message (not a pack; see [`decode_record`] for either).
///
/// Errors: a length other than 25 is [`DropReason::BadLength`]; a reserved message type,
/// a message pack, or a protocol version above [`MAX_VERSION`] is
/// [`DropReason::UnsupportedFormat`]; an impossible position is
/// [`DropReason::BadPosition`]; an Authentication page 0 announcing more than 16 pages or
/// more data than its pages hold is [`DropReason::Unparsable`].
pub fn decode_message(bytes: &[u8]) -> Result<Decoded, DropReason> {
    let b: &[u8; MESSAGE_LEN] = bytes.try_into().map_err(|_| DropReason::BadLength)?;
    let version = b[0] & 0x0f;
    if version > MAX_VERSION {
        return Err(DropReason::UnsupportedFormat);
    }
    let message = match MessageType::from_code(b[0] >> 4) {
        Some(MessageType::BasicId) => {
            let mut uas_id = [0u8; 20];
            uas_id.copy_from_slice(&b[2..22]);
            Message::BasicId(BasicId {
                id_type: IdType::from_code(b[1] >> 4),
                ua_type: UaType(b[1] & 0x0f),
                uas_id,
            })
        }
        Some(MessageType::Location) => Message::Location(decode_location(b)?),
        Some(MessageType::Auth) => {
            let page = b[1] & 0x0f;
            let mut data = [0u8; 23];
            let (last_page, length, timestamp_s) = if page == 0 {
                // Page 0 announces the pages (0–15) and the data length they hold: one
                // that announces more than 16 pages, or more data than its pages carry,
                // cannot be assembled.
                let (last, len) = (b[2], b[3]);
                if usize::from(last) >= AUTH_MAX_PAGES
                    || usize::from(len) > AUTH_PAGE0_DATA + usize::from(last) * AUTH_PAGE_DATA
                {
                    return Err(DropReason::Unparsable);
                }
                data[..17].copy_from_slice(&b[8..25]);
                let t = u32_le(b, 4);
                (Some(b[2]), Some(b[3]), (t != 0).then_some(t))
            } else {
                data.copy_from_slice(&b[2..25]);
                (None, None, None)
            };
            Message::Auth(AuthPage {
                auth_type: AuthType(b[1] >> 4),
                page,
                last_page,
                length,
                timestamp_s,
                data,
            })
        }
        Some(MessageType::SelfId) => {
            let mut text = [0u8; 23];
            text.copy_from_slice(&b[2..25]);
            Message::SelfId(SelfId {
                desc_type: b[1],
                text,
            })
        }
        Some(MessageType::System) => Message::System(decode_system(b)?),
        Some(MessageType::OperatorId) => {
            let mut id = [0u8; 20];
            id.copy_from_slice(&b[2..22]);
            Message::OperatorId(OperatorId { id_type: b[1], id })
        }
        Some(MessageType::Pack) | None => return Err(DropReason::UnsupportedFormat),
    };
    Ok(Decoded { version, message })
}

fn decode_location(b: &[u8; MESSAGE_LEN]) -> Result<Location, DropReason> {
    let flags = b[1];
    let east_west = flags & 0x02 != 0;
    let speed_mult = flags & 0x01 != 0;
    let direction = u16::from(b[2]) + if east_west { 180 } else { 0 };
    let speed = if speed_mult {
        f32::from(b[3]) * 0.75 + 255.0 * 0.25
    } else {
        f32::from(b[3]) * 0.25
    };
    let vspeed = f32::from(b[4] as i8) * 0.5;
    let tenths = u16_le(b, 21);
    let ts_acc = b[23] & 0x0f;
    Ok(Location {
        status: Status(flags >> 4),
        height_ref: if flags & 0x04 != 0 {
            HeightReference::Ground
        } else {
            HeightReference::Takeoff
        },
        direction_deg: (direction <= 360).then_some(f32::from(direction)),
        // 255 m/s (code 255 with the 0.75 multiplier) is "unknown".
        speed_ms: (speed < 255.0).then_some(speed),
        // ±63 m/s (code ±126) and beyond are "unknown".
        vspeed_ms: (vspeed.abs() <= 62.0).then_some(vspeed),
        position: lat_lon(i32_le(b, 5), i32_le(b, 9))?,
        alt_baro_m: altitude_m(u16_le(b, 13)),
        alt_geo_m: altitude_m(u16_le(b, 15)),
        height_m: altitude_m(u16_le(b, 17)),
        h_accuracy: b[19] & 0x0f,
        v_accuracy: b[19] >> 4,
        speed_accuracy: b[20] & 0x0f,
        baro_accuracy: b[20] >> 4,
        // 0xFFFF is "unknown"; anything past the hour cannot be a time after the hour.
        tenths_after_hour: (tenths < 36_000).then_some(tenths),
        time_accuracy_tenths: (ts_acc != 0).then_some(ts_acc),
    })
}

fn decode_system(b: &[u8; MESSAGE_LEN]) -> Result<System, DropReason> {
    let mut s = System {
        operator_location_type: OperatorLocationType(b[1] & 0x03),
        classification_type: (b[1] >> 2) & 0x07,
        operator: lat_lon(i32_le(b, 2), i32_le(b, 6))?,
        area_count: u16_le(b, 10),
        area_radius_m: u16::from(b[12]) * 10,
        area_ceiling_m: altitude_m(u16_le(b, 13)),
        area_floor_m: altitude_m(u16_le(b, 15)),
        ..System::default()
    };
    // F3411-19 (version 0) leaves bytes 17–24 reserved, but transmitters following
    // EN 4709-002 fill them in version 0 messages too (the opendroneid sample captures
    // in testdata/remoteid do), and the reference decoder reads them whatever the
    // version: a strict F3411-19 sender's zeros read as undeclared and unknown.
    s.category_eu = b[17] >> 4;
    s.class_eu = b[17] & 0x0f;
    s.operator_alt_geo_m = altitude_m(u16_le(b, 18));
    let t = u32_le(b, 20);
    s.timestamp_s = (t != 0).then_some(t);
    Ok(s)
}

/// Decodes a record of one message or one message pack, calling `out` for every message
/// it holds and `drop` for every message it rejects; returns how many messages were
/// delivered.
///
/// A pack (type 0xF) is `0xF?`, the message size (25), the count (1–9), then count × 25
/// bytes: a pack whose size byte is not 25, whose count is 0 or above 9, or whose length
/// disagrees with its count is one [`DropReason::BadLength`] drop; a pack inside a pack is
/// [`DropReason::UnsupportedFormat`]. Each message inside is judged alone.
pub fn decode_record(
    bytes: &[u8],
    out: &mut impl FnMut(Decoded),
    drop: &mut impl FnMut(DropReason),
) -> usize {
    match bytes.first() {
        Some(&h) if h >> 4 == MessageType::Pack as u8 => {
            if h & 0x0f > MAX_VERSION {
                drop(DropReason::UnsupportedFormat);
                return 0;
            }
            let Some(messages) = pack_messages(bytes) else {
                drop(DropReason::BadLength);
                return 0;
            };
            let mut n = 0;
            for m in messages.chunks_exact(MESSAGE_LEN) {
                match decode_message(m) {
                    Ok(d) => {
                        n += 1;
                        out(d);
                    }
                    Err(r) => drop(r),
                }
            }
            n
        }
        _ => match decode_message(bytes) {
            Ok(d) => {
                out(d);
                1
            }
            Err(r) => {
                drop(r);
                0
            }
        },
    }
}

/// The messages of a well-formed pack (count × 25 bytes), `None` when its size byte,
/// count or length is wrong.
pub fn pack_messages(bytes: &[u8]) -> Option<&[u8]> {
    let (&[_, size, count], rest) = bytes.split_first_chunk::<3>()?;
    let count = usize::from(count);
    (usize::from(size) == MESSAGE_LEN
        && (1..=PACK_MAX_MESSAGES).contains(&count)
        && rest.len() == count * MESSAGE_LEN)
        .then_some(rest)
}

// ---------------------------------------------------------------------------------------
// Encoding: the same tables backwards. Values are quantised to the field's step and
// clamped to its range, unknowns written as the standard's "unknown" codes, so that
// decoding an encoded message gives back the quantised values.
// ---------------------------------------------------------------------------------------

fn put_u16(b: &mut [u8], i: usize, v: u16) {
    b[i..i + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_i32(b: &mut [u8], i: usize, v: i32) {
    b[i..i + 4].copy_from_slice(&v.to_le_bytes());
}

fn altitude_code(m: Option<f32>) -> u16 {
    match m {
        None => 0,
        // Code 0 means unknown: the lowest known altitude is −999.5 m.
        Some(m) => ((m + 1000.0) / 0.5).round().clamp(1.0, 65_535.0) as u16,
    }
}

fn lat_lon_code(p: Option<GeoPoint>) -> (i32, i32) {
    match p {
        None => (0, 0),
        Some(p) => (
            (p.lat * 1e7).round().clamp(-900_000_000.0, 900_000_000.0) as i32,
            (p.lon * 1e7)
                .round()
                .clamp(-1_800_000_000.0, 1_800_000_000.0) as i32,
        ),
    }
}

/// Encodes one message in protocol version `version` (0–2; 25 bytes).
pub fn encode_message(d: &Decoded) -> [u8; MESSAGE_LEN] {
    let mut b = [0u8; MESSAGE_LEN];
    b[0] = ((d.message.message_type() as u8) << 4) | (d.version & 0x0f);
    match &d.message {
        Message::BasicId(m) => {
            b[1] = (m.id_type.code() << 4) | (m.ua_type.0 & 0x0f);
            b[2..22].copy_from_slice(&m.uas_id);
        }
        Message::Location(m) => encode_location(m, &mut b),
        Message::Auth(m) => {
            b[1] = ((m.auth_type.0 & 0x0f) << 4) | (m.page & 0x0f);
            if m.page == 0 {
                b[2] = m.last_page.unwrap_or(0);
                b[3] = m.length.unwrap_or(0);
                b[4..8].copy_from_slice(&m.timestamp_s.unwrap_or(0).to_le_bytes());
                b[8..25].copy_from_slice(&m.data[..17]);
            } else {
                b[2..25].copy_from_slice(&m.data);
            }
        }
        Message::SelfId(m) => {
            b[1] = m.desc_type;
            b[2..25].copy_from_slice(&m.text);
        }
        Message::System(m) => {
            b[1] = (m.operator_location_type.0 & 0x03) | ((m.classification_type & 0x07) << 2);
            let (lat, lon) = lat_lon_code(m.operator);
            put_i32(&mut b, 2, lat);
            put_i32(&mut b, 6, lon);
            put_u16(&mut b, 10, m.area_count);
            b[12] = (m.area_radius_m / 10).min(255) as u8;
            put_u16(&mut b, 13, altitude_code(m.area_ceiling_m));
            put_u16(&mut b, 15, altitude_code(m.area_floor_m));
            // In every version, as the decoder reads them (EN 4709-002 in version 0).
            b[17] = ((m.category_eu & 0x0f) << 4) | (m.class_eu & 0x0f);
            put_u16(&mut b, 18, altitude_code(m.operator_alt_geo_m));
            b[20..24].copy_from_slice(&m.timestamp_s.unwrap_or(0).to_le_bytes());
        }
        Message::OperatorId(m) => {
            b[1] = m.id_type;
            b[2..22].copy_from_slice(&m.id);
        }
    }
    b
}

fn encode_location(m: &Location, b: &mut [u8; MESSAGE_LEN]) {
    // Direction: 0–179 as is, 180–360 as value − 180 with the E/W flag; unknown is 361.
    let direction = m.direction_deg.map_or(361, |d| {
        let d = d.round() as i32;
        (if (0..=360).contains(&d) {
            d
        } else {
            d.rem_euclid(360)
        }) as u16
    });
    let east_west = direction >= 180;
    // Speed: 0.25 m/s steps up to 63.75 m/s, then 0.75 m/s steps; unknown is 255 m/s.
    let (speed_mult, speed) = match m.speed_ms {
        Some(s) if s <= 63.75 => (false, (s.max(0.0) / 0.25).round() as u8),
        Some(s) => (true, ((s - 63.75) / 0.75).round().clamp(0.0, 254.0) as u8),
        None => (true, 255),
    };
    let vspeed = m
        .vspeed_ms
        .map_or(126, |v| (v / 0.5).round().clamp(-124.0, 124.0) as i8);
    b[1] = ((m.status.0 & 0x0f) << 4)
        | if m.height_ref == HeightReference::Ground {
            0x04
        } else {
            0
        }
        | if east_west { 0x02 } else { 0 }
        | u8::from(speed_mult);
    b[2] = (direction - if east_west { 180 } else { 0 }) as u8;
    b[3] = speed;
    b[4] = vspeed as u8;
    let (lat, lon) = lat_lon_code(m.position);
    put_i32(b, 5, lat);
    put_i32(b, 9, lon);
    put_u16(b, 13, altitude_code(m.alt_baro_m));
    put_u16(b, 15, altitude_code(m.alt_geo_m));
    put_u16(b, 17, altitude_code(m.height_m));
    b[19] = ((m.v_accuracy & 0x0f) << 4) | (m.h_accuracy & 0x0f);
    b[20] = ((m.baro_accuracy & 0x0f) << 4) | (m.speed_accuracy & 0x0f);
    put_u16(b, 21, m.tenths_after_hour.unwrap_or(0xffff));
    b[23] = m.time_accuracy_tenths.unwrap_or(0) & 0x0f;
}

/// Encodes a message pack of `messages` (1–9 encoded messages) in protocol `version`.
pub fn encode_pack(version: u8, messages: &[[u8; MESSAGE_LEN]], out: &mut Vec<u8>) {
    out.push(((MessageType::Pack as u8) << 4) | (version & 0x0f));
    out.push(MESSAGE_LEN as u8);
    out.push(messages.len() as u8);
    for m in messages {
        out.extend_from_slice(m);
    }
}
