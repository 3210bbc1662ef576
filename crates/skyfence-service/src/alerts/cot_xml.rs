//! Cursor-on-Target (CoT) event XML: the pure part of the CoT sink (no I/O, no clock).
//!
//! CoT is MITRE's XML "what, where, when" message, version 2.0 ("CoT Event data model
//! (Version 2.0)", the base schema `Event.xsd`, public release MITRE case #11-3895), the
//! language of the TAK family (ATAK, WinTAK, iTAK, TAK Server, FreeTAKServer, taky):
//!
//! ```xml
//! <event version="2.0" uid="skyfence-adf7c1" type="a-u-A-M-F-Q" how="m-g"
//!        time="…" start="…" stale="…">
//!   <point lat="33.2177" lon="69.8813" hae="14630.4" ce="9999999.0" le="9999999.0"/>
//!   <detail>
//!     <contact callsign="FORTE12"/>
//!     <track course="87.0" speed="231.50"/>
//!     <remarks>…</remarks>
//!     <skyfence kind="icao" id="adf7c1" icao24="adf7c1" zone="HELD-A" incident="…" …/>
//!   </detail>
//! </event>
//! ```
//!
//! Choices, each documented in the README ("Cursor-on-Target"):
//! - `type` is an atom (`a`), its MIL-STD-2525B standard identity from [`Affiliation`]
//!   and battle dimension air (`A`); a UAV (emitter category B6) gets the 2525B function
//!   "military fixed-wing drone" (`A-M-F-Q`), anything else plain air (`A`): an ADS-B
//!   category says nothing of military or civil. Nothing is hostile unless configured.
//! - `uid` names the thing described, from its target id ([`target_uid`]): a transponder
//!   is `skyfence-<icao24>` (6 lowercase hex digits, as every release wrote it), a drone
//!   `skyfence-rid-<Remote ID>`, a sensor track `skyfence-trk-<sensor>-<number>` (no `/`:
//!   TAK servers put uids in URL paths; the number is the text after the last `-`); an
//!   incident marker is `skyfence-incident-<incident id>`. The prefixes keep the four
//!   apart (an ICAO uid is exactly six hex digits after `skyfence-`).
//! - `how="m-g"`: machine-generated (the position is a surveillance report, not a
//!   human's estimate).
//! - `hae` is the reported Mode S / ADS-B altitude in metres. That altitude is
//!   *barometric* (pressure altitude, 1013.25 hPa datum), not height above the WGS-84
//!   ellipsoid: the two differ by the geoid undulation (−106 … +85 m) plus the local
//!   deviation from the standard atmosphere (hundreds of metres at high levels), so
//!   `le` says "unknown" ([`UNKNOWN`]) whenever `hae` is given.
//! - `ce` comes from the position's NACp when known ([`ce_from_nacp`]); otherwise it
//!   is the CoT convention for unknown, 9 999 999 m. Live targets use the last NACp the
//!   target announced (ADS-B operational status TC 31 or target state TC 29, kept by the
//!   track: [`TrackView::nacp`]). Incident markers keep `ce` unknown: their point is the
//!   entry point, interpolated between two reports rather than reported, the stored
//!   [`Incident`] (the evidence format) carries no accuracy, and the event may be sent
//!   from the outbox long after confirmation (retries, a restart), when the track's
//!   present NACp says nothing of the entry.
//!
//! Written by hand rather than with an XML crate: the document is one fixed shape of
//! six elements whose only variable parts are attribute values and one text node, so
//! correct escaping ([`escape_into`]) is the whole job; the tests parse every output
//! with a real XML parser (quick-xml) and the oracle test validates it against an XSD
//! and TAK-ecosystem parsers.

use std::fmt::Write as _;

use serde::Deserialize;
use skyfence_core::detect::{Classification, Event, Incident};
use skyfence_core::{TargetId, Timestamp};

use crate::pipeline::TrackView;

/// CoT's value for an unknown `hae`, `ce` or `le` (the base schema's documentation:
/// "9999999.0 if unknown").
pub const UNKNOWN: f64 = 9_999_999.0;
/// Feet to metres (exact, by the international foot).
pub const M_PER_FT: f64 = 0.3048;
/// Knots to metres per second (exact: 1 NM = 1852 m). CoT `track speed` is m/s.
pub const MPS_PER_KT: f64 = 1852.0 / 3600.0;
/// 95 % radius of a circular 2-D normal error, in standard deviations
/// (√(−2 ln 0.05) = 2.4477): converts NACp's 95 % bound to CoT's 1-sigma `ce`.
const SIGMA_PER_95: f64 = 2.447_746_830_680_816;

/// A MIL-STD-2525B standard identity, the second atom of a CoT `type`
/// (`a-<identity>-…`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Affiliation {
    /// `p`: not yet assessed.
    Pending,
    /// `u`: assessed, identity unknown. The default for live targets.
    #[default]
    Unknown,
    /// `a`: assumed friend.
    AssumedFriend,
    /// `f`: friend.
    Friend,
    /// `n`: neutral.
    Neutral,
    /// `s`: suspect, "potentially hostile". The default for unauthorised incursions.
    Suspect,
    /// `h`: hostile. Only when configured; skyfence never infers hostility.
    Hostile,
    /// `j`: joker (friendly playing hostile in an exercise).
    Joker,
    /// `k`: faker.
    Faker,
}

impl Affiliation {
    /// The one-letter CoT atom.
    pub fn code(self) -> char {
        match self {
            Affiliation::Pending => 'p',
            Affiliation::Unknown => 'u',
            Affiliation::AssumedFriend => 'a',
            Affiliation::Friend => 'f',
            Affiliation::Neutral => 'n',
            Affiliation::Suspect => 's',
            Affiliation::Hostile => 'h',
            Affiliation::Joker => 'j',
            Affiliation::Faker => 'k',
        }
    }
}

/// The CoT `type` of an air track: `a-<identity>-A`, with the MIL-STD-2525B function
/// `M-F-Q` (military, fixed wing, drone/RPV) for a UAV.
pub fn air_type(affiliation: Affiliation, classification: Classification) -> String {
    let mut t = format!("a-{}-A", affiliation.code());
    if classification == Classification::Uav {
        t.push_str("-M-F-Q");
    }
    t
}

/// CoT `ce` (1-sigma circular error, metres) from an ADS-B Navigation Accuracy
/// Category for Position (DO-260B §2.2.3.2.7.2.7, Table 2-70: the 95 % Estimated
/// Position Uncertainty bound for each NACp), divided by 2.4477 to turn the 95 % radius
/// of a circular normal error into its sigma. `None` for NACp 0 (unknown) and
/// values above 11.
pub fn ce_from_nacp(nacp: u8) -> Option<f64> {
    skyfence_core::nacp_epu95_m(nacp).map(|epu95_m| epu95_m / SIGMA_PER_95)
}

/// `<point>`: where, in WGS-84 degrees and metres.
#[derive(Clone, Debug, PartialEq)]
pub struct CotPoint {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Height, metres ([`UNKNOWN`] when none; see the module docs for the datum caveat).
    pub hae_m: f64,
    /// 1-sigma circular error, metres.
    pub ce_m: f64,
    /// 1-sigma linear (vertical) error, metres.
    pub le_m: f64,
}

impl CotPoint {
    /// A point from a report: `alt_ft` (barometric) becomes `hae` with an unknown `le`;
    /// `ce` from the position's NACp when known.
    pub fn from_report(lat: f64, lon: f64, alt_ft: Option<i32>, nacp: Option<u8>) -> Self {
        CotPoint {
            lat,
            lon,
            hae_m: alt_ft.map_or(UNKNOWN, |ft| f64::from(ft) * M_PER_FT),
            ce_m: nacp.and_then(ce_from_nacp).unwrap_or(UNKNOWN),
            le_m: UNKNOWN,
        }
    }
}

/// skyfence's own `<detail>` child, `<skyfence …/>`: the facts a TAK user (or a
/// plugin) needs to relate the marker to skyfence's API.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SkyfenceDetail {
    /// The target kind: `icao`, `remoteid` or `track`.
    pub kind: &'static str,
    /// The target id as incidents print it (6 hex digits, the Remote ID, SENSOR/NUMBER).
    pub id: String,
    /// The ICAO address, 6 lowercase hex digits, when the target is a transponder.
    pub icao24: Option<String>,
    /// `uav`, `aircraft` or `unknown`.
    pub classification: &'static str,
    /// The zone the target is in or approaching.
    pub zone: String,
    /// `inside` or `approaching` for a live target; the event (`confirmed`, `closed`,
    /// `lost`) for an incident.
    pub state: &'static str,
    /// The incident's id (`GET /api/incidents/{id}`), when there is one.
    pub incident: Option<String>,
    /// The incident's status (`open`, `closed`, `lost`), when there is one.
    pub status: Option<&'static str>,
    /// Whether a permit covers the incident, when there is one.
    pub authorised: Option<bool>,
}

/// One CoT event, ready to write.
#[derive(Clone, Debug, PartialEq)]
pub struct CotEvent {
    /// Stable identity of the thing described: [`target_uid`] for a live target,
    /// `skyfence-incident-<id>` for an incident; a TAK client replaces the marker with
    /// the same uid.
    pub uid: String,
    /// `a-u-A`, `a-s-A-M-F-Q`, … ([`air_type`]).
    pub cot_type: String,
    /// When the event was generated.
    pub time: Timestamp,
    /// Start of validity.
    pub start: Timestamp,
    /// End of validity: a client drops or greys the marker after it.
    pub stale: Timestamp,
    /// Where.
    pub point: CotPoint,
    /// `<contact callsign>`: the flight's callsign, else its target id.
    pub callsign: String,
    /// `<track course speed>`: degrees true and metres per second, when known.
    pub track: Option<(f64, f64)>,
    /// `<remarks>`: one human sentence.
    pub remarks: String,
    /// `<skyfence …/>`.
    pub skyfence: SkyfenceDetail,
}

/// The uid of a live target's marker: `skyfence-<icao24>` for a transponder (unchanged
/// since the first release, so TAK clients keep their markers), `skyfence-rid-<id>` for a
/// Remote ID, `skyfence-trk-<sensor>-<number>` for a sensor track.
pub fn target_uid(target: TargetId) -> String {
    match target {
        TargetId::Icao(a) => format!("skyfence-{a}"),
        TargetId::RemoteId(r) => format!("skyfence-rid-{r}"),
        TargetId::Track { sensor, number } => format!("skyfence-trk-{sensor}-{number}"),
    }
}

/// `<skyfence>`'s identity attributes of `target`: kind, id and (when known) icao24.
fn identity(target: TargetId) -> (&'static str, String, Option<String>) {
    (
        target.kind().as_str(),
        target.to_string(),
        target.icao().map(|a| a.to_string()),
    )
}

/// Whether a live target is inside a zone or in its approach buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZoneRelation {
    /// Inside the zone's volume.
    Inside,
    /// Outside, within the zone's `buffer_m`.
    Approaching,
}

/// The CoT event for a live target near `zone` (`None` when the track has no position
/// yet). `time` is when it is sent; it stays valid until `stale`.
pub fn target_event(
    track: &TrackView,
    zone: &str,
    relation: ZoneRelation,
    affiliation: Affiliation,
    time: Timestamp,
    stale: Timestamp,
) -> Option<CotEvent> {
    let (lat, lon) = (track.lat?, track.lon?);
    if !(lat.is_finite() && lon.is_finite()) {
        return None;
    }
    let target = track.target.0;
    let (kind, id, icao24) = identity(target);
    let callsign = track
        .callsign
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| id.clone());
    let state = match relation {
        ZoneRelation::Inside => "inside",
        ZoneRelation::Approaching => "approaching",
    };
    let classification = track.classification.as_str();
    let remarks = format!(
        "{callsign} ({id}, {classification}) {where_} {zone}; last heard {seen}; altitude is barometric",
        where_ = match relation {
            ZoneRelation::Inside => "inside",
            ZoneRelation::Approaching => "approaching (in the buffer of)",
        },
        seen = track.last_seen_at.to_rfc3339_millis(),
    );
    let track_vec = match (track.track_deg, track.gs_kt) {
        (Some(course), Some(kt)) if course.is_finite() && kt.is_finite() => {
            Some((f64::from(course), f64::from(kt) * MPS_PER_KT))
        }
        _ => None,
    };
    Some(CotEvent {
        uid: target_uid(target),
        cot_type: air_type(affiliation, track.classification),
        time,
        start: time,
        stale,
        point: CotPoint::from_report(lat, lon, track.alt_ft, track.nacp),
        callsign,
        track: track_vec,
        remarks,
        skyfence: SkyfenceDetail {
            kind,
            id,
            icao24,
            classification,
            zone: zone.to_owned(),
            state,
            incident: None,
            status: None,
            authorised: None,
        },
    })
}

/// How incidents are typed: unauthorised ones get `unauthorised`, authorised ones (a
/// permit covers them) `authorised`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentAffiliation {
    /// For incursions no permit covers (default [`Affiliation::Suspect`]).
    pub unauthorised: Affiliation,
    /// For permitted ones (default [`Affiliation::Unknown`]: a permit says who may fly,
    /// not whose side they are on).
    pub authorised: Affiliation,
}

impl Default for IncidentAffiliation {
    fn default() -> Self {
        IncidentAffiliation {
            unauthorised: Affiliation::Suspect,
            authorised: Affiliation::Unknown,
        }
    }
}

/// The CoT event for an incident event (`confirmed`, `closed`, `lost`; `None` for an
/// `approach`, which has no incident). The marker stands at the entry point, the
/// evidence of the incursion, and keeps its uid through the incident's life, so a TAK
/// client shows one marker per incident that changes as it closes. `time` is when it is
/// sent: the event may be delivered late (retries), so validity runs from `time` to
/// `time + stale_s`, and the event's own time is in the remarks.
pub fn incident_event(
    event: &Event,
    affiliation: IncidentAffiliation,
    time: Timestamp,
    stale_s: u32,
) -> Option<CotEvent> {
    let incident = event.incident()?;
    if !(incident.entry.lat.is_finite() && incident.entry.lon.is_finite()) {
        return None;
    }
    let aff = if incident.authorised {
        affiliation.authorised
    } else {
        affiliation.unauthorised
    };
    let (kind, id, icao24) = identity(incident.target.id);
    let callsign = incident
        .target
        .callsign
        .as_ref()
        .map(|c| c.as_str().trim().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| id.clone());
    Some(CotEvent {
        uid: format!("skyfence-incident-{}", incident.id),
        cot_type: air_type(aff, incident.classification),
        time,
        start: time,
        stale: time.add_micros(i64::from(stale_s) * 1_000_000),
        point: CotPoint::from_report(
            incident.entry.lat,
            incident.entry.lon,
            incident.entry.alt_ft,
            None,
        ),
        remarks: incident_remarks(event.kind(), incident, &callsign, &id, event.at()),
        callsign,
        track: None,
        skyfence: SkyfenceDetail {
            kind,
            id,
            icao24,
            classification: incident.classification.as_str(),
            zone: incident.zone.clone(),
            state: event.kind(),
            incident: Some(incident.id.to_string()),
            status: Some(incident.status.as_str()),
            authorised: Some(incident.authorised),
        },
    })
}

fn incident_remarks(kind: &str, i: &Incident, callsign: &str, id: &str, at: Timestamp) -> String {
    let what = if i.authorised {
        "Authorised incursion"
    } else {
        "Unauthorised incursion"
    };
    let mut s = format!(
        "{what} into {zone}: {callsign} ({id}, {class}) entered {entered} ({how}); {kind} at {at}",
        zone = i.zone,
        class = i.classification.as_str(),
        entered = i.entered_at.to_rfc3339_millis(),
        how = if i.entry_observed {
            "crossing observed"
        } else {
            "first heard inside"
        },
        at = at.to_rfc3339_millis(),
    );
    let _ = write!(
        s,
        "; max depth {:.0} m; {} reports",
        i.max_depth_m, i.reports
    );
    if let Some(p) = &i.permit {
        let _ = write!(s, "; permit: {p}");
    }
    if let (Some(exit), Some(t)) = (&i.exit, i.exited_at) {
        let _ = write!(
            s,
            "; exited {} at {:.6},{:.6}",
            t.to_rfc3339_millis(),
            exit.lat,
            exit.lon
        );
    }
    s
}

impl CotEvent {
    /// The event as one XML document, without an XML declaration (so events can be
    /// concatenated on a TCP stream, as TAK servers read them).
    pub fn to_xml(&self) -> String {
        let mut s = String::with_capacity(640);
        s.push_str("<event version=\"2.0\"");
        attr(&mut s, "uid", &self.uid);
        attr(&mut s, "type", &self.cot_type);
        attr(&mut s, "how", "m-g");
        attr(&mut s, "time", &self.time.to_rfc3339_millis());
        attr(&mut s, "start", &self.start.to_rfc3339_millis());
        attr(&mut s, "stale", &self.stale.to_rfc3339_millis());
        s.push_str("><point");
        let p = &self.point;
        // Coordinates at 1e-7° (1 cm), heights and errors at 0.1 m: beyond any
        // surveillance source's precision. Non-finite values cannot be written as
        // xs:decimal; they become "unknown" (hae/ce/le) or clamp to 0 (never reached:
        // the constructors refuse non-finite positions).
        let _ = write!(
            s,
            " lat=\"{:.7}\" lon=\"{:.7}\" hae=\"{:.1}\" ce=\"{:.1}\" le=\"{:.1}\"/>",
            finite_or(p.lat.clamp(-90.0, 90.0), 0.0),
            finite_or(p.lon.clamp(-180.0, 180.0), 0.0),
            finite_or(p.hae_m, UNKNOWN),
            finite_or(p.ce_m, UNKNOWN),
            finite_or(p.le_m, UNKNOWN),
        );
        s.push_str("<detail><contact");
        attr(&mut s, "callsign", &self.callsign);
        s.push_str("/>");
        if let Some((course, speed)) = self.track
            && course.is_finite()
            && speed.is_finite()
        {
            let _ = write!(
                s,
                "<track course=\"{:.1}\" speed=\"{:.2}\"/>",
                course.rem_euclid(360.0),
                speed.max(0.0)
            );
        }
        s.push_str("<remarks>");
        escape_into(&mut s, &self.remarks, false);
        s.push_str("</remarks><skyfence");
        let d = &self.skyfence;
        attr(&mut s, "kind", d.kind);
        attr(&mut s, "id", &d.id);
        if let Some(a) = &d.icao24 {
            attr(&mut s, "icao24", a);
        }
        attr(&mut s, "classification", d.classification);
        attr(&mut s, "zone", &d.zone);
        attr(&mut s, "state", d.state);
        if let Some(id) = &d.incident {
            attr(&mut s, "incident", id);
        }
        if let Some(status) = d.status {
            attr(&mut s, "status", status);
        }
        if let Some(a) = d.authorised {
            attr(&mut s, "authorised", if a { "true" } else { "false" });
        }
        s.push_str("/></detail></event>");
        s
    }
}

fn finite_or(v: f64, fallback: f64) -> f64 {
    if v.is_finite() { v } else { fallback }
}

fn attr(out: &mut String, name: &str, value: &str) {
    out.push(' ');
    out.push_str(name);
    out.push_str("=\"");
    escape_into(out, value, true);
    out.push('"');
}

/// Appends `text` escaped for XML 1.0 (§2.4 character data, §3.3.3 attribute-value
/// normalisation): `&`, `<`, `>` always; in attributes also both quotes and TAB, LF,
/// CR as character references (a parser would otherwise turn them into spaces).
/// Characters XML 1.0 forbids even as references (§2.2: C0 controls other than TAB,
/// LF, CR; U+FFFE, U+FFFF) become U+FFFD.
pub fn escape_into(out: &mut String, text: &str, attribute: bool) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The incident of docs/INTERFACES.md ("Incident"), with a 16-hex-digit id.
    pub(crate) fn forte12() -> Incident {
        serde_json::from_str(
            r#"{
  "id": "5e1f0c2d3b4a6978",
  "zone": "HELD-A",
  "target": {"icao24": "adf7c1", "callsign": "FORTE12", "category": "B6"},
  "classification": "uav",
  "authorised": false,
  "permit": null,
  "status": "closed",
  "entry_observed": true,
  "entered_at": "2023-11-14T22:21:03.120Z",
  "exited_at": "2023-11-14T22:26:36.480Z",
  "last_seen_at": "2023-11-14T22:26:36.000Z",
  "entry": {"lat": 33.2177, "lon": 69.8813, "alt_ft": 48000},
  "exit": {"lat": 33.2511, "lon": 69.8889, "alt_ft": 48000},
  "duration_s": 333.4,
  "max_depth_m": 14856.0,
  "max_alt_ft": 48000,
  "reports": 666
}"#,
        )
        .expect("the docs/INTERFACES.md incident parses")
    }

    fn t(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap()
    }

    fn parse(xml: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not well-formed: {e}\n{xml}"))
    }

    fn child<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> roxmltree::Node<'a, 'a> {
        n.children()
            .find(|c| c.has_tag_name(name))
            .unwrap_or_else(|| panic!("no <{name}>"))
    }

    #[test]
    fn closed_incident_of_a_uav_is_a_suspect_drone_at_its_entry_point() {
        let event = Event::Closed {
            at: t("2023-11-14T22:26:36.480Z"),
            incident: forte12(),
        };
        let sent = t("2023-11-14T22:26:37.000Z");
        let cot = incident_event(&event, IncidentAffiliation::default(), sent, 3600).unwrap();
        let xml = cot.to_xml();
        let doc = parse(&xml);
        let e = doc.root_element();
        assert_eq!(e.tag_name().name(), "event");
        assert_eq!(e.attribute("version"), Some("2.0"));
        assert_eq!(
            e.attribute("uid"),
            Some("skyfence-incident-5e1f0c2d3b4a6978")
        );
        assert_eq!(e.attribute("type"), Some("a-s-A-M-F-Q"));
        assert_eq!(e.attribute("how"), Some("m-g"));
        assert_eq!(e.attribute("time"), Some("2023-11-14T22:26:37.000Z"));
        assert_eq!(e.attribute("start"), Some("2023-11-14T22:26:37.000Z"));
        assert_eq!(e.attribute("stale"), Some("2023-11-14T23:26:37.000Z"));
        let p = child(e, "point");
        assert_eq!(p.attribute("lat"), Some("33.2177000"));
        assert_eq!(p.attribute("lon"), Some("69.8813000"));
        // 48 000 ft × 0.3048 m/ft.
        assert_eq!(p.attribute("hae"), Some("14630.4"));
        assert_eq!(p.attribute("ce"), Some("9999999.0"));
        assert_eq!(p.attribute("le"), Some("9999999.0"));
        let d = child(e, "detail");
        assert_eq!(child(d, "contact").attribute("callsign"), Some("FORTE12"));
        assert!(d.children().all(|c| !c.has_tag_name("track")));
        let remarks = child(d, "remarks").text().unwrap();
        assert_eq!(
            remarks,
            "Unauthorised incursion into HELD-A: FORTE12 (adf7c1, uav) entered \
             2023-11-14T22:21:03.120Z (crossing observed); closed at 2023-11-14T22:26:36.480Z; \
             max depth 14856 m; 666 reports; exited 2023-11-14T22:26:36.480Z at 33.251100,69.888900"
        );
        let s = child(d, "skyfence");
        assert_eq!(s.attribute("kind"), Some("icao"));
        assert_eq!(s.attribute("id"), Some("adf7c1"));
        assert_eq!(s.attribute("zone"), Some("HELD-A"));
        assert_eq!(s.attribute("incident"), Some("5e1f0c2d3b4a6978"));
        assert_eq!(s.attribute("status"), Some("closed"));
        assert_eq!(s.attribute("state"), Some("closed"));
        assert_eq!(s.attribute("authorised"), Some("false"));
        assert_eq!(s.attribute("icao24"), Some("adf7c1"));
        assert_eq!(s.attribute("classification"), Some("uav"));
    }

    #[test]
    fn affiliation_follows_the_permit_and_the_configuration() {
        let mut i = forte12();
        i.authorised = true;
        i.permit = Some("overflight permit 2023/114".into());
        let at = t("2023-11-14T22:21:08.120Z");
        let confirmed = Event::Confirmed {
            at,
            incident: i.clone(),
        };
        let cot = incident_event(&confirmed, IncidentAffiliation::default(), at, 60).unwrap();
        assert_eq!(cot.cot_type, "a-u-A-M-F-Q");
        assert!(cot.remarks.starts_with("Authorised incursion into HELD-A"));
        assert!(
            cot.remarks
                .contains("; permit: overflight permit 2023/114; exited")
        );
        i.authorised = false;
        i.classification = Classification::Aircraft;
        let hostile = IncidentAffiliation {
            unauthorised: Affiliation::Hostile,
            authorised: Affiliation::Neutral,
        };
        let lost = Event::Lost { at, incident: i };
        assert_eq!(
            incident_event(&lost, hostile, at, 60).unwrap().cot_type,
            "a-h-A"
        );
        assert_eq!(
            air_type(Affiliation::Pending, Classification::Unknown),
            "a-p-A"
        );
    }

    #[test]
    fn an_approach_is_not_an_incident_event() {
        let i = forte12();
        let approach = Event::Approach {
            at: i.entered_at,
            zone: i.zone.clone(),
            target: i.target,
            position: i.entry,
        };
        assert!(
            incident_event(&approach, IncidentAffiliation::default(), i.entered_at, 60).is_none()
        );
    }

    fn track() -> TrackView {
        TrackView {
            target: crate::api::TargetKeys(TargetId::Icao("4840d6".parse().unwrap())),
            callsign: Some("KLM1023".into()),
            lat: Some(52.2572),
            lon: Some(3.91937),
            alt_ft: Some(38000),
            gs_kt: Some(450.0),
            track_deg: Some(87.5),
            last_seen_at: t("2023-11-14T22:00:00.500Z"),
            classification: Classification::Aircraft,
            zones: vec!["NL".into()],
            nacp: None,
            verification: None,
        }
    }

    #[test]
    fn live_target_carries_its_motion_in_metres_per_second() {
        let now = t("2023-11-14T22:00:01Z");
        let stale = now.add_micros(10_000_000);
        let cot = target_event(
            &track(),
            "NL",
            ZoneRelation::Inside,
            Affiliation::Unknown,
            now,
            stale,
        )
        .unwrap();
        let xml = cot.to_xml();
        let doc = parse(&xml);
        let e = doc.root_element();
        assert_eq!(e.attribute("uid"), Some("skyfence-4840d6"));
        assert_eq!(e.attribute("type"), Some("a-u-A"));
        assert_eq!(e.attribute("stale"), Some("2023-11-14T22:00:11.000Z"));
        let p = child(e, "point");
        assert_eq!(p.attribute("lat"), Some("52.2572000"));
        assert_eq!(p.attribute("lon"), Some("3.9193700"));
        // 38 000 ft × 0.3048.
        assert_eq!(p.attribute("hae"), Some("11582.4"));
        let d = child(e, "detail");
        let tr = child(d, "track");
        assert_eq!(tr.attribute("course"), Some("87.5"));
        // 450 kt × 1852 m / 3600 s.
        assert_eq!(tr.attribute("speed"), Some("231.50"));
        let s = child(d, "skyfence");
        assert_eq!(s.attribute("state"), Some("inside"));
        assert_eq!(s.attribute("incident"), None);
        assert_eq!(
            child(d, "remarks").text(),
            Some(
                "KLM1023 (4840d6, aircraft) inside NL; last heard 2023-11-14T22:00:00.500Z; altitude is barometric"
            )
        );
    }

    #[test]
    fn live_target_ce_comes_from_the_tracks_nacp() {
        // NACp 9: 95 % EPU < 30 m (DO-260B Table 2-70) → σ = 30 / 2.4477 = 12.26 m;
        // `le` stays unknown (the altitude is barometric, see the module docs).
        let now = t("2023-11-14T22:00:01Z");
        let ce = |nacp| {
            let tr = TrackView { nacp, ..track() };
            let cot = target_event(
                &tr,
                "NL",
                ZoneRelation::Inside,
                Affiliation::Unknown,
                now,
                now,
            )
            .unwrap();
            let xml = cot.to_xml();
            let doc = parse(&xml);
            let p = child(doc.root_element(), "point");
            (
                p.attribute("ce").map(str::to_owned),
                p.attribute("le").map(str::to_owned),
            )
        };
        let (ce9, le9) = ce(Some(9));
        // Written at 0.1 m.
        assert_eq!(ce9.as_deref(), Some("12.3"));
        assert_eq!(le9.as_deref(), Some("9999999.0"));
        assert_eq!(ce(None).0.as_deref(), Some("9999999.0"));
        assert_eq!(ce(Some(0)).0.as_deref(), Some("9999999.0"));
    }

    #[test]
    fn live_target_without_position_or_callsign() {
        let now = t("2023-11-14T22:00:01Z");
        let mut v = track();
        v.callsign = None;
        v.gs_kt = None;
        v.alt_ft = None;
        let cot = target_event(
            &v,
            "NL",
            ZoneRelation::Approaching,
            Affiliation::Unknown,
            now,
            now,
        )
        .unwrap();
        assert_eq!(cot.callsign, "4840d6");
        assert_eq!(cot.track, None);
        assert_eq!(cot.point.hae_m, UNKNOWN);
        assert_eq!(cot.skyfence.state, "approaching");
        v.lat = None;
        assert!(
            target_event(
                &v,
                "NL",
                ZoneRelation::Inside,
                Affiliation::Unknown,
                now,
                now
            )
            .is_none()
        );
        v.lat = Some(f64::NAN);
        assert!(
            target_event(
                &v,
                "NL",
                ZoneRelation::Inside,
                Affiliation::Unknown,
                now,
                now
            )
            .is_none()
        );
    }

    #[test]
    fn ce_follows_the_nacp_table() {
        // DO-260B Table 2-70: NACp 8 is EPU < 0.05 NM = 92.6 m (95 %).
        assert!((ce_from_nacp(8).unwrap() - 37.831).abs() < 1e-3);
        assert!((ce_from_nacp(11).unwrap() - 1.2256).abs() < 1e-3);
        assert_eq!(ce_from_nacp(0), None);
        assert_eq!(ce_from_nacp(12), None);
        let p = CotPoint::from_report(1.0, 2.0, Some(-1000), Some(10));
        assert!((p.ce_m - 4.0854).abs() < 1e-3);
        assert!((p.hae_m + 304.8).abs() < 1e-9);
    }

    #[test]
    fn markup_in_names_is_escaped() {
        let now = t("2023-11-14T22:00:01Z");
        let mut v = track();
        v.callsign = Some("A&B<\"x'>".into());
        let zone = "R&D <zone>\t\"1\"\n\u{1}";
        let cot = target_event(
            &v,
            zone,
            ZoneRelation::Inside,
            Affiliation::Unknown,
            now,
            now,
        )
        .unwrap();
        let xml = cot.to_xml();
        assert!(
            xml.contains("callsign=\"A&amp;B&lt;&quot;x&apos;&gt;\""),
            "{xml}"
        );
        let doc = parse(&xml);
        let d = child(doc.root_element(), "detail");
        assert_eq!(child(d, "contact").attribute("callsign"), Some("A&B<\"x'>"));
        assert_eq!(
            child(d, "skyfence").attribute("zone"),
            Some("R&D <zone>\t\"1\"\n\u{FFFD}")
        );
    }

    /// What a conforming parser returns for `s` after [`escape_into`]: the text, with
    /// the characters XML cannot carry replaced.
    fn xml_visible(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c,
                c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => '\u{FFFD}',
                c => c,
            })
            .collect()
    }

    proptest! {
        /// Whatever the names (zone names come from config files, callsigns from the
        /// air), the document is well-formed and every value reads back.
        #[test]
        fn any_text_round_trips(callsign in any::<String>(), zone in any::<String>(),
                                lat in -90.0f64..90.0, lon in -180.0f64..180.0,
                                alt in proptest::option::of(-2000i32..130_000)) {
            let now = Timestamp::from_secs(1_700_000_000);
            let mut v = track();
            v.callsign = Some(callsign.clone());
            v.lat = Some(lat);
            v.lon = Some(lon);
            v.alt_ft = alt;
            let cot = target_event(&v, &zone, ZoneRelation::Inside, Affiliation::Unknown, now, now).unwrap();
            let xml = cot.to_xml();
            let doc = roxmltree::Document::parse(&xml).map_err(|e| TestCaseError::fail(format!("{e}: {xml}")))?;
            let e = doc.root_element();
            let d = child(e, "detail");
            let expect_callsign = if callsign.is_empty() { "4840d6".to_owned() } else { xml_visible(&callsign) };
            prop_assert_eq!(child(d, "contact").attribute("callsign").unwrap(), expect_callsign.as_str());
            let expect_zone = xml_visible(&zone);
            prop_assert_eq!(child(d, "skyfence").attribute("zone").unwrap(), expect_zone.as_str());
            let p = child(e, "point");
            let lat_back: f64 = p.attribute("lat").unwrap().parse().unwrap();
            prop_assert!((lat_back - lat).abs() <= 5e-8);
        }
    }

    #[test]
    fn uids_are_per_kind_and_icao_keeps_its_uid() {
        use skyfence_core::TargetKind;
        let id = |k, s: &str| TargetId::parse(k, s).unwrap();
        assert_eq!(
            target_uid(id(TargetKind::Icao, "4840d6")),
            "skyfence-4840d6"
        );
        assert_eq!(
            target_uid(id(TargetKind::RemoteId, "1581F5FJD239C00DW22E")),
            "skyfence-rid-1581F5FJD239C00DW22E"
        );
        assert_eq!(
            target_uid(id(TargetKind::Track, "kabul-psr/417")),
            "skyfence-trk-kabul-psr-417"
        );
    }

    #[test]
    fn a_remote_id_target_and_incident_name_kind_and_id_without_icao24() {
        let rid = TargetId::parse(skyfence_core::TargetKind::RemoteId, "DRONE<1>").unwrap();
        let tr = TrackView {
            target: crate::api::TargetKeys(rid),
            callsign: None,
            classification: Classification::Uav,
            ..track()
        };
        let now = t("2023-11-14T22:00:01Z");
        let cot = target_event(
            &tr,
            "NL",
            ZoneRelation::Inside,
            Affiliation::Unknown,
            now,
            now,
        )
        .unwrap();
        let xml = cot.to_xml();
        let doc = parse(&xml);
        let e = doc.root_element();
        assert_eq!(e.attribute("uid"), Some("skyfence-rid-DRONE<1>"));
        let d = child(e, "detail");
        // No callsign: the contact is the Remote ID itself.
        assert_eq!(child(d, "contact").attribute("callsign"), Some("DRONE<1>"));
        let s = child(d, "skyfence");
        assert_eq!(s.attribute("kind"), Some("remoteid"));
        assert_eq!(s.attribute("id"), Some("DRONE<1>"));
        assert_eq!(s.attribute("icao24"), None);
        assert!(
            child(d, "remarks")
                .text()
                .unwrap()
                .starts_with("DRONE<1> (DRONE<1>, uav) inside NL;")
        );

        let mut i = forte12();
        i.target.id = TargetId::parse(skyfence_core::TargetKind::Track, "kabul-psr/417").unwrap();
        i.target.callsign = None;
        let closed = Event::Closed {
            at: i.exited_at.unwrap(),
            incident: i,
        };
        let cot = incident_event(&closed, IncidentAffiliation::default(), now, 60).unwrap();
        let xml = cot.to_xml();
        let doc = parse(&xml);
        let d = child(doc.root_element(), "detail");
        assert_eq!(
            child(d, "contact").attribute("callsign"),
            Some("kabul-psr/417")
        );
        let s = child(d, "skyfence");
        assert_eq!(s.attribute("kind"), Some("track"));
        assert_eq!(s.attribute("id"), Some("kabul-psr/417"));
        assert_eq!(s.attribute("icao24"), None);
        assert!(
            child(d, "remarks")
                .text()
                .unwrap()
                .contains(": kabul-psr/417 (kabul-psr/417, uav) entered")
        );
    }
}
