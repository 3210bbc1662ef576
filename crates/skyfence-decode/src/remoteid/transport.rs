//! How Remote ID messages travel (ASTM F3411-22a §5.4.4–5.4.6, ASD-STAN EN 4709-002
//! §6.3): pure functions from link-layer bytes to the message or message pack they carry
//! and who sent it. Capture containers (pcap, pcapng) and the radio headers of a capture
//! (radiotap; [`strip_radiotap`]) are read elsewhere; these functions take the frame.
//!
//! | transport | carrier | payload |
//! |---|---|---|
//! | Bluetooth 4 legacy advertising | an AD structure of type 0x16 (service data, 16-bit UUID) with UUID 0xFFFA, application code 0x0D, a message counter | one 25-byte message |
//! | Bluetooth 5 extended advertising (long range) | the same AD structure in an AUX_ADV_IND | a message pack |
//! | Wi-Fi beacon | a vendor-specific element (221) with OUI FA:0B:BC, OUI type 0x0D, a message counter | a message pack |
//! | Wi-Fi NAN | a service discovery frame (public action, vendor OUI 50:6F:9A type 0x13) whose service descriptor attribute has the Remote ID service id 88:69:19:9D:92:09 (the first bytes of SHA-256 of `org.opendroneid.remoteid`); its service info: a message counter | a message pack |
//!
//! Bluetooth sends device addresses least significant byte first; they are returned in
//! the order they are written (`aa:bb:…`), as 802.11 addresses are.

/// The 16-bit service UUID of ASTM Remote ID over Bluetooth.
pub const BLE_SERVICE_UUID: u16 = 0xfffa;

/// The application code that follows the UUID.
pub const BLE_APP_CODE: u8 = 0x0d;

/// The OUI of the Wi-Fi beacon vendor element (ASD-STAN).
pub const WIFI_BEACON_OUI: [u8; 3] = [0xfa, 0x0b, 0xbc];

/// The vendor-specific type that follows it.
pub const WIFI_BEACON_OUI_TYPE: u8 = 0x0d;

/// The Wi-Fi Alliance OUI and the NAN type of a service discovery frame.
pub const NAN_OUI: [u8; 3] = [0x50, 0x6f, 0x9a];

/// NAN OUI type.
pub const NAN_OUI_TYPE: u8 = 0x13;

/// The NAN service id of Remote ID: SHA-256(`org.opendroneid.remoteid`), first 6 bytes.
pub const NAN_SERVICE_ID: [u8; 6] = [0x88, 0x69, 0x19, 0x9d, 0x92, 0x09];

/// One Remote ID payload found in a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Carried<'a> {
    /// The advertiser address or the Wi-Fi source address, when the frame names it.
    pub transmitter: Option<[u8; 6]>,
    /// The sender's message counter (it steps for every new message or pack).
    pub counter: u8,
    /// A 25-byte message (Bluetooth 4) or a message pack.
    pub payload: &'a [u8],
}

/// The Remote ID service data in Bluetooth advertising data (a sequence of AD structures:
/// length, type, data): `(counter, payload)`. `None` when none is there or the AD
/// structures run past the end.
pub fn ble_advertising_data(mut data: &[u8]) -> Option<(u8, &[u8])> {
    while let Some((&len, rest)) = data.split_first() {
        let len = usize::from(len);
        if len == 0 {
            // Early termination: the rest is padding.
            return None;
        }
        let ad = rest.get(..len)?;
        data = &rest[len..];
        if let [0x16, lo, hi, app, counter, payload @ ..] = ad
            && u16::from_le_bytes([*lo, *hi]) == BLE_SERVICE_UUID
            && *app == BLE_APP_CODE
        {
            return Some((*counter, payload));
        }
    }
    None
}

/// A Bluetooth LE address as written: the air sends it least significant byte first.
fn ble_address(air: &[u8]) -> Option<[u8; 6]> {
    let mut a: [u8; 6] = air.try_into().ok()?;
    a.reverse();
    Some(a)
}

/// A Bluetooth 4 legacy advertising PDU (2-byte header, AdvA, AdvData; without the
/// access address and CRC): the Remote ID message it carries. Advertising PDU types
/// ADV_IND (0), ADV_NONCONN_IND (2) and ADV_SCAN_IND (6) carry advertising data.
pub fn ble_legacy_pdu(pdu: &[u8]) -> Option<Carried<'_>> {
    let [header, len, rest @ ..] = pdu else {
        return None;
    };
    if !matches!(header & 0x0f, 0 | 2 | 6) {
        return None;
    }
    let body = rest.get(..usize::from(*len))?;
    let (adv_a, adv_data) = body.split_at_checked(6)?;
    let (counter, payload) = ble_advertising_data(adv_data)?;
    Some(Carried {
        transmitter: ble_address(adv_a),
        counter,
        payload,
    })
}

/// A Bluetooth 5 extended advertising PDU (ADV_EXT_IND / AUX_ADV_IND, PDU type 7; the
/// common extended advertising payload format, Core 5.x Vol 6 Part B §2.3.4): the
/// Remote ID payload of its advertising data, with the AdvA when the extended header
/// carries one.
pub fn ble_extended_pdu(pdu: &[u8]) -> Option<Carried<'_>> {
    let [header, len, rest @ ..] = pdu else {
        return None;
    };
    if header & 0x0f != 7 {
        return None;
    }
    let body = rest.get(..usize::from(*len))?;
    let (&ext, body) = body.split_first()?;
    let ext_len = usize::from(ext & 0x3f);
    let (ext_header, adv_data) = body.split_at_checked(ext_len)?;
    let mut transmitter = None;
    if let Some((&flags, fields)) = ext_header.split_first()
        && flags & 0x01 != 0
    {
        transmitter = ble_address(fields.get(..6)?);
    }
    let (counter, payload) = ble_advertising_data(adv_data)?;
    Some(Carried {
        transmitter,
        counter,
        payload,
    })
}

/// The frame inside a radiotap header (version 0; the header states its own length).
pub fn strip_radiotap(bytes: &[u8]) -> Option<&[u8]> {
    let [0, _, lo, hi, ..] = bytes else {
        return None;
    };
    bytes.get(usize::from(u16::from_le_bytes([*lo, *hi]))..)
}

/// The 802.11 management header: frame control (type and subtype), source address, body.
fn management(frame: &[u8]) -> Option<(u8, [u8; 6], &[u8])> {
    let fc = *frame.first()?;
    if (fc >> 2) & 0x03 != 0 {
        return None;
    }
    let sa: [u8; 6] = frame.get(10..16)?.try_into().ok()?;
    Some((fc >> 4, sa, frame.get(24..)?))
}

/// A Wi-Fi beacon (an 802.11 management frame of subtype 8, without radiotap): the
/// message pack of its Remote ID vendor element, sent by its source address.
pub fn wifi_beacon(frame: &[u8]) -> Option<Carried<'_>> {
    let (subtype, sa, body) = management(frame)?;
    if subtype != 8 {
        return None;
    }
    // Timestamp (8), beacon interval (2), capabilities (2), then the elements.
    let mut elements = body.get(12..)?;
    while let [id, len, rest @ ..] = elements {
        let data = rest.get(..usize::from(*len))?;
        elements = &rest[usize::from(*len)..];
        if *id == 221
            && let [o0, o1, o2, kind, counter, payload @ ..] = data
            && [*o0, *o1, *o2] == WIFI_BEACON_OUI
            && *kind == WIFI_BEACON_OUI_TYPE
        {
            return Some(Carried {
                transmitter: Some(sa),
                counter: *counter,
                payload,
            });
        }
    }
    None
}

/// A Wi-Fi NAN service discovery frame (an 802.11 action frame, subtype 13, without
/// radiotap): the message pack in the service info of its Remote ID service descriptor
/// attribute (attribute 0x03), sent by its source address.
pub fn wifi_nan(frame: &[u8]) -> Option<Carried<'_>> {
    let (subtype, sa, body) = management(frame)?;
    if subtype != 13 {
        return None;
    }
    let [4, 9, o0, o1, o2, NAN_OUI_TYPE, attributes @ ..] = body else {
        return None;
    };
    if [*o0, *o1, *o2] != NAN_OUI {
        return None;
    }
    let mut attributes = attributes;
    while let [id, lo, hi, rest @ ..] = attributes {
        let len = usize::from(u16::from_le_bytes([*lo, *hi]));
        let data = rest.get(..len)?;
        attributes = &rest[len..];
        if *id != 0x03 {
            continue;
        }
        let [
            s0,
            s1,
            s2,
            s3,
            s4,
            s5,
            _instance,
            _requestor,
            control,
            fields @ ..,
        ] = data
        else {
            continue;
        };
        let mut fields = fields;
        if [*s0, *s1, *s2, *s3, *s4, *s5] != NAN_SERVICE_ID {
            continue;
        }
        // Optional fields before the service info, each length-prefixed: matching filter
        // (control bit 2), service response filter (bit 3).
        for bit in [0x04, 0x08] {
            if control & bit != 0 {
                let (&l, rest) = fields.split_first()?;
                fields = rest.get(usize::from(l)..)?;
            }
        }
        if control & 0x10 == 0 {
            continue;
        }
        let (&info_len, rest) = fields.split_first()?;
        let (&counter, payload) = rest.get(..usize::from(info_len))?.split_first()?;
        return Some(Carried {
            transmitter: Some(sa),
            counter,
            payload,
        });
    }
    None
}
