//! A decoded Mode S message as one line of JSON (docs/INTERFACES.md, "Decoded message"),
//! the output of `skyfence decode`.
//!
//! Written by hand into a byte buffer rather than through `serde` structs: `decode` prints
//! millions of lines, and a derived serializer spent more time building strings (time,
//! address, squawk) and a `Value` map for the Comm-B keys than the decoder spent decoding.
//! Here nothing is allocated per message; numbers go through `itoa` and `ryu`, the
//! formatters `serde_json` itself uses, so the text is the same byte for byte (the tests
//! hold a `serde` rendering as the reference).
//!
//! Keys appear in a fixed order and only when known; the keys of an inferred Comm-B
//! register follow the message's own, in alphabetical order.

use skyfence_core::Timestamp;

use crate::commb::CommB;
use crate::decoder::Message;

/// The Comm-B registers a BDS 1,7 capability map can announce, bit 1 first (ICAO Doc
/// 9871 Table A-2-23).
pub const GICB_REGISTERS: [&str; 24] = [
    "0,5", "0,6", "0,7", "0,8", "0,9", "0,A", "2,0", "2,1", "4,0", "4,1", "4,2", "4,3", "4,4",
    "4,5", "4,8", "5,0", "5,1", "5,2", "5,3", "5,4", "5,5", "5,6", "5,F", "6,0",
];

/// Rounds degrees to 1e-6° (≈ 0.1 m), far below the 17-bit CPR resolution (≈ 5 m), so
/// the output is short and stable across platforms.
pub fn round_deg(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One JSON object being written: keys separated by commas.
struct Object<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Object<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Object { out, first: true }
    }

    /// `"key":`; keys are literals of this module, never escaped.
    fn key(&mut self, key: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    fn int(&mut self, key: &str, v: Option<impl itoa::Integer>) {
        if let Some(v) = v {
            let mut b = itoa::Buffer::new();
            let text = b.format(v);
            self.key(key).extend_from_slice(text.as_bytes());
        }
    }

    fn f64(&mut self, key: &str, v: Option<f64>) {
        if let Some(v) = v {
            write_f64(self.key(key), v);
        }
    }

    fn f32(&mut self, key: &str, v: Option<f32>) {
        if let Some(v) = v {
            let out = self.key(key);
            if v.is_finite() {
                out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
            } else {
                out.extend_from_slice(b"null");
            }
        }
    }

    fn bool(&mut self, key: &str, v: bool) {
        self.key(key)
            .extend_from_slice(if v { b"true" } else { b"false" });
    }

    /// A string of ASCII that needs no escaping (digits, hex, fixed words).
    fn plain(&mut self, key: &str, v: &[u8]) {
        let out = self.key(key);
        out.push(b'"');
        out.extend_from_slice(v);
        out.push(b'"');
    }

    /// Any string, escaped as JSON requires.
    fn str(&mut self, key: &str, v: &str) {
        let out = self.key(key);
        // Writing into a Vec cannot fail.
        let _ = serde_json::to_writer(out, v);
    }

    fn close(self) {
        self.out.push(b'}');
    }
}

/// `f64` as `serde_json` writes it: shortest round-trip text, `null` when not finite.
fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// The six lower-case hex digits of a 24-bit address.
fn hex24(v: u32) -> [u8; 6] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    std::array::from_fn(|i| DIGITS[(v >> (20 - 4 * i) & 0xf) as usize])
}

/// Writes decoded messages as JSON lines. Remembers the text of the current minute of
/// the time (`2023-11-14T22:21:`): consecutive messages share it, and the calendar
/// arithmetic is then skipped.
#[derive(Clone, Debug, Default)]
pub struct LineWriter {
    minute: Option<(i64, [u8; 17])>,
}

impl LineWriter {
    /// Appends `m` as one JSON object (no newline).
    pub fn write(&mut self, out: &mut Vec<u8>, m: &Message) {
        let mut o = Object::open(out);
        self.write_time(&mut o, "at", m.at);
        o.int("df", m.df);
        o.plain("icao24", &hex24(m.icao24.as_u32()));
        o.int("tc", m.tc);
        if let Some(c) = m.callsign {
            o.str("callsign", c.as_str());
        }
        if let Some(c) = m.category {
            o.plain("category", &[c.set(), b'0' + c.category()]);
        }
        o.f64("lat", m.position.map(|p| round_deg(p.lat)));
        o.f64("lon", m.position.map(|p| round_deg(p.lon)));
        o.int("alt_ft", m.alt_ft);
        o.int("alt_geom_ft", m.alt_geom_ft);
        o.f32("gs_kt", m.gs_kt);
        o.f32("track_deg", m.track_deg);
        o.int("vrate_fpm", m.vrate_fpm);
        if let Some(s) = m.squawk {
            let v = s.value();
            o.plain(
                "squawk",
                &[9, 6, 3, 0].map(|shift| b'0' + (v >> shift & 7) as u8),
            );
        }
        if let Some(c) = m.cpr {
            o.plain("cpr", c.as_str().as_bytes());
        }
        o.int("nacp", m.nacp);
        o.int("adsb_version", m.adsb_version);
        o.f32("heading_deg", m.heading_deg);
        o.int("ias_kt", m.ias_kt);
        o.int("tas_kt", m.tas_kt);
        if let Some(c) = m.commb() {
            write_commb(&mut o, &c);
        }
        o.close();
    }

    /// The time as RFC 3339 with microseconds ([`Timestamp::rfc3339_micros_ascii`]).
    fn write_time(&mut self, o: &mut Object<'_>, key: &str, at: Timestamp) {
        let micros = at.as_micros();
        let secs = micros.div_euclid(1_000_000);
        let minute = secs.div_euclid(60);
        let prefix = match self.minute {
            Some((m, prefix)) if m == minute => prefix,
            _ => match at.rfc3339_micros_ascii() {
                Some(text) => {
                    let prefix = std::array::from_fn(|i| text[i]);
                    self.minute = Some((minute, prefix));
                    prefix
                }
                None => return o.str(key, &at.to_rfc3339_micros()),
            },
        };
        let out = o.key(key);
        out.push(b'"');
        out.extend_from_slice(&prefix);
        let mut tail = *b"00.000000Z\"";
        let mut put = |at: usize, width: usize, mut v: u32| {
            for i in (at..at + width).rev() {
                tail[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        };
        put(0, 2, secs.rem_euclid(60) as u32);
        put(3, 6, micros.rem_euclid(1_000_000) as u32);
        out.extend_from_slice(&tail);
    }
}

/// The keys of a decoded Comm-B register, `bds` among them, in alphabetical order.
/// Fields also copied onto the message (a 2,0 callsign, 5,0 ground speed, ...) appear
/// once, under their usual keys. Single-precision fields print as their `f64` widening.
fn write_commb(o: &mut Object<'_>, c: &CommB) {
    let bds = c.bds().as_str().as_bytes();
    let wide = |v: Option<f32>| v.map(f64::from);
    match c {
        CommB::DataLink(d) => {
            o.bool("acas_operational", d.acas_operational);
            o.plain("bds", bds);
            o.bool("ident_capable", d.identification);
            o.bool("squitter_capable", d.squitter);
            o.int("subnet_version", Some(d.subnet_version));
        }
        CommB::Gicb(map) => {
            o.plain("bds", bds);
            let out = o.key("gicb");
            out.push(b'[');
            let mut first = true;
            for (i, r) in GICB_REGISTERS.iter().enumerate() {
                if map >> (23 - i) & 1 == 1 {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.push(b'"');
                    out.extend_from_slice(r.as_bytes());
                    out.push(b'"');
                }
            }
            out.push(b']');
        }
        CommB::Identification(_) => o.plain("bds", bds),
        CommB::Ra(r) => {
            o.plain("bds", bds);
            o.int("ra_ara", Some(r.ara));
            o.bool("ra_multiple_threats", r.multiple_threats);
            o.int("ra_rac", Some(r.rac));
            o.bool("ra_terminated", r.terminated);
            if let Some(t) = r.threat {
                o.plain("ra_threat", &hex24(t.as_u32()));
            }
        }
        CommB::Vertical(v) => {
            o.f64(
                "baro_setting_hpa",
                v.baro_hpa.map(|p| (f64::from(p) * 10.0).round() / 10.0),
            );
            o.plain("bds", bds);
            o.int("fms_alt_ft", v.fms_alt_ft);
            o.int("selected_alt_ft", v.mcp_alt_ft);
        }
        CommB::TrackTurn(t) => {
            o.plain("bds", bds);
            o.f64("roll_deg", wide(t.roll_deg));
            o.f64("track_rate_dps", wide(t.track_rate_dps));
        }
        CommB::HeadingSpeed(h) => {
            o.plain("bds", bds);
            o.int("ivrate_fpm", h.inertial_vrate_fpm);
            o.f64("mach", wide(h.mach));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoder::{Decoder, DecoderConfig};
    use crate::raw::RawDecoder;
    use serde::Serialize;
    use serde_json::{Value, json};

    /// The reference: the message through `serde`, as `decode` wrote it before this
    /// module (a struct with `skip_serializing_if`, the Comm-B keys a flattened `Value`).
    #[derive(Serialize)]
    struct Reference {
        at: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        df: Option<u8>,
        icao24: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        tc: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        callsign: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        lat: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        lon: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        alt_ft: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        alt_geom_ft: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        gs_kt: Option<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        track_deg: Option<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        vrate_fpm: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        squawk: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cpr: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        nacp: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        adsb_version: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        heading_deg: Option<f32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        ias_kt: Option<u16>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tas_kt: Option<u16>,
        #[serde(flatten, skip_serializing_if = "Option::is_none")]
        commb: Option<Value>,
    }

    fn commb_value(c: &CommB) -> Value {
        let mut v = match c {
            CommB::DataLink(d) => json!({
                "subnet_version": d.subnet_version,
                "acas_operational": d.acas_operational,
                "squitter_capable": d.squitter,
                "ident_capable": d.identification,
            }),
            CommB::Gicb(map) => json!({
                "gicb": GICB_REGISTERS
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| map >> (23 - i) & 1 == 1)
                    .map(|(_, r)| *r)
                    .collect::<Vec<_>>(),
            }),
            CommB::Identification(_) => json!({}),
            CommB::Ra(r) => json!({
                "ra_ara": r.ara,
                "ra_rac": r.rac,
                "ra_terminated": r.terminated,
                "ra_multiple_threats": r.multiple_threats,
                "ra_threat": r.threat.map(|t| t.to_string()),
            }),
            CommB::Vertical(v) => json!({
                "selected_alt_ft": v.mcp_alt_ft,
                "fms_alt_ft": v.fms_alt_ft,
                "baro_setting_hpa": v.baro_hpa.map(|p| (f64::from(p) * 10.0).round() / 10.0),
            }),
            CommB::TrackTurn(t) => json!({
                "roll_deg": t.roll_deg,
                "track_rate_dps": t.track_rate_dps,
            }),
            CommB::HeadingSpeed(h) => json!({
                "mach": h.mach,
                "ivrate_fpm": h.inertial_vrate_fpm,
            }),
        };
        if let Value::Object(o) = &mut v {
            o.retain(|_, x| !x.is_null());
            o.insert("bds".into(), c.bds().as_str().into());
        }
        v
    }

    fn reference(m: &Message) -> String {
        serde_json::to_string(&Reference {
            at: m.at.to_rfc3339_micros(),
            df: m.df,
            icao24: m.icao24.to_string(),
            tc: m.tc,
            callsign: m.callsign.map(|c| c.to_string()),
            category: m.category.map(|c| c.to_string()),
            lat: m.position.map(|p| round_deg(p.lat)),
            lon: m.position.map(|p| round_deg(p.lon)),
            alt_ft: m.alt_ft,
            alt_geom_ft: m.alt_geom_ft,
            gs_kt: m.gs_kt,
            track_deg: m.track_deg,
            vrate_fpm: m.vrate_fpm,
            squawk: m.squawk.map(|s| s.to_string()),
            cpr: m.cpr.map(|c| c.as_str()),
            nacp: m.nacp,
            adsb_version: m.adsb_version,
            heading_deg: m.heading_deg,
            ias_kt: m.ias_kt,
            tas_kt: m.tas_kt,
            commb: m.commb().as_ref().map(commb_value),
        })
        .unwrap()
    }

    fn written(m: &Message) -> String {
        let mut out = Vec::new();
        LineWriter::default().write(&mut out, m);
        String::from_utf8(out).unwrap()
    }

    /// Every message of the real recording (ADS-B of every kind, Comm-B of every
    /// register, squawks, surface and airborne positions) is written as `serde` writes
    /// it.
    #[test]
    fn every_message_of_a_real_recording_is_the_serde_text() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/long_flight.csv"
        );
        let (frames, _) = RawDecoder::decode_all(&std::fs::read(path).unwrap());
        let mut d = Decoder::new(DecoderConfig::default());
        let mut seen = std::collections::BTreeSet::new();
        let mut n = 0;
        // One writer for the whole recording, as `decode` uses it (its minute remembered).
        let mut writer = LineWriter::default();
        let mut out = Vec::new();
        for f in &frames {
            if let Some(m) = d.decode(f) {
                out.clear();
                writer.write(&mut out, &m);
                assert_eq!(std::str::from_utf8(&out).unwrap(), reference(&m));
                if let Some(c) = m.commb() {
                    seen.insert(c.bds().as_str());
                }
                n += 1;
            }
        }
        assert!(n > 100_000, "{n}");
        assert_eq!(seen.len(), 7, "every Comm-B register was written: {seen:?}");
    }

    /// Fields a recording rarely holds: escapes in callsigns, a threat address, every
    /// squawk digit, non-finite floats, times outside four-digit years.
    #[test]
    fn unusual_fields_are_the_serde_text() {
        use skyfence_core::{Callsign, EmitterCategory, GeoPoint, Icao24, Squawk};
        let mut m = Message::new(
            Timestamp::from_micros(-1),
            Icao24::from_u32_masked(0x0a0b0c),
        );
        m.callsign = Callsign::new(b"A\"B\\C");
        m.category = EmitterCategory::new(b'B', 6);
        m.squawk = Squawk::new(0o7531);
        m.gs_kt = Some(f32::NAN);
        m.track_deg = Some(f32::INFINITY);
        m.position = Some(GeoPoint::new(-33.123_456_789, 151.987_654_321));
        assert_eq!(written(&m), reference(&m));
        m.at = Timestamp::from_micros(i64::MAX / 2);
        assert_eq!(written(&m), reference(&m));
        m.at = Timestamp::from_micros(i64::MIN / 2);
        assert_eq!(written(&m), reference(&m));
        // One writer across minutes, forwards and backwards, and out of its range.
        let mut writer = LineWriter::default();
        let base = Timestamp::parse_rfc3339("2023-11-14T22:21:03.120500Z").unwrap();
        for step in [
            0,
            59_999_999,
            1,
            60_000_000,
            -3_600_000_000,
            -base.as_micros() - 1,
            0,
        ] {
            m.at = if step == 0 {
                base
            } else {
                m.at.add_micros(step)
            };
            let mut out = Vec::new();
            writer.write(&mut out, &m);
            assert_eq!(
                std::str::from_utf8(&out).unwrap(),
                reference(&m),
                "{}",
                m.at.as_micros()
            );
        }
        // 3,0 with a threat address; 1,7 with every register announced.
        let ra = 0x30u64 << 48 | 1 << 26 | 0xabcdef << 2;
        let gicb = 0xff_ffff_u64 << 32;
        for (bds, mb) in [(crate::commb::Bds::B30, ra), (crate::commb::Bds::B17, gicb)] {
            m.commb_mb = Some((bds, mb));
            assert!(m.commb().is_some(), "{bds:?}");
            assert_eq!(written(&m), reference(&m));
        }
    }
}
