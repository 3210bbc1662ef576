//! `[[allow]]` permits: targets whose incursions are authorised (recorded, not alerted).
//! docs/INTERFACES.md, "Config": selectors `icao24`, `id`, `callsign`, `zone` are globs and
//! `kind` a target kind; every selector given must match; `from`/`until` bound the
//! validity window. `icao24` matches only transponders (ICAO targets), so a permit written
//! for an aircraft never covers a drone whose Remote ID happens to look like a hex
//! address; `id` matches `target.id` of any kind (with `kind` to say which).

use std::fmt::Write as _;

use crate::{TargetId, TargetKind, Timestamp};

/// A shell-style pattern: `*` matches any run of characters (also none), `?` exactly one;
/// every other character matches itself, ASCII case-insensitively (callsigns are upper
/// case on the air, ICAO addresses print lower case, operators type either).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    /// The pattern as written.
    pub fn new(pattern: impl Into<String>) -> Self {
        Glob(pattern.into())
    }

    /// The pattern text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `text` matches the whole pattern.
    ///
    /// Hand-written rather than a crate: two wildcards need 20 lines. The greedy match
    /// with a single backtrack point (the last `*`) runs in O(len(pattern) · len(text)).
    pub fn matches(&self, text: &str) -> bool {
        let (p, t) = (self.0.as_bytes(), text.as_bytes());
        let (mut pi, mut ti) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while ti < t.len() {
            if pi < p.len() && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&t[ti])) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == b'*' {
                star = Some((pi, ti));
                pi += 1;
            } else if let Some((sp, st)) = star {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == b'*')
    }
}

impl serde::Serialize for Glob {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for Glob {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Glob)
    }
}

/// One `[[allow]]` entry.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permit {
    /// Glob over the ICAO address as 6 lowercase hex digits; matches ICAO targets only.
    #[serde(default)]
    pub icao24: Option<Glob>,
    /// Glob over `target.id` as incidents print it, of any kind: 6 hex digits, the
    /// Remote ID, or `SENSOR/NUMBER` of a sensor track. Not written when absent, so the
    /// recorded permit set of a config without it keeps its bytes (and its leaf).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Glob>,
    /// The target kind (`icao`, `remoteid`, `track`); not written when absent.
    #[serde(default, with = "kind_serde", skip_serializing_if = "Option::is_none")]
    pub kind: Option<TargetKind>,
    /// Glob over the callsign; a target whose callsign is not (yet) known does not match.
    #[serde(default)]
    pub callsign: Option<Glob>,
    /// Glob over the zone name.
    #[serde(default)]
    pub zone: Option<Glob>,
    /// Why the flight is allowed (e.g. the permit number); written into the incident's
    /// `permit` field.
    pub reason: String,
    /// Start of validity (inclusive); open when absent.
    #[serde(default)]
    pub from: Option<Timestamp>,
    /// End of validity (exclusive); open when absent.
    #[serde(default)]
    pub until: Option<Timestamp>,
}

/// Why a permit cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermitError {
    /// No selector: it would authorise every incursion.
    #[error(
        "permit {reason:?} has no icao24, id, kind, callsign or zone: expected at least one selector"
    )]
    NoSelector {
        /// The permit's reason text.
        reason: String,
    },
    /// `icao24` with a `kind` other than `icao`: it could never match.
    #[error(
        "permit {reason:?} has icao24 with kind = {kind:?}: icao24 matches only ICAO targets, expected kind = \"icao\" or no kind"
    )]
    IcaoOfOtherKind {
        /// The permit's reason text.
        reason: String,
        /// The kind given.
        kind: &'static str,
    },
    /// `from` is not before `until`.
    #[error(
        "permit {reason:?} has from = {from} not before until = {until}: expected an ordered window"
    )]
    EmptyWindow {
        /// The permit's reason text.
        reason: String,
        /// Start.
        from: Timestamp,
        /// End.
        until: Timestamp,
    },
}

impl Permit {
    /// Checks the permit at start-up (ARCHITECTURE.md invariant 4).
    pub fn validate(&self) -> Result<(), PermitError> {
        if self.icao24.is_none()
            && self.id.is_none()
            && self.kind.is_none()
            && self.callsign.is_none()
            && self.zone.is_none()
        {
            return Err(PermitError::NoSelector {
                reason: self.reason.clone(),
            });
        }
        if let Some(kind) = self.kind.filter(|k| *k != TargetKind::Icao)
            && self.icao24.is_some()
        {
            return Err(PermitError::IcaoOfOtherKind {
                reason: self.reason.clone(),
                kind: kind.as_str(),
            });
        }
        if let (Some(from), Some(until)) = (self.from, self.until)
            && from >= until
        {
            return Err(PermitError::EmptyWindow {
                reason: self.reason.clone(),
                from,
                until,
            });
        }
        Ok(())
    }

    /// Whether the permit covers an incursion by `target` with `callsign` (when known)
    /// into `zone` that entered at `entered_at`: every selector given matches and
    /// `entered_at` lies in [`from`, `until`). `icao24` matches only an ICAO target's
    /// address; `id` matches `target.id` of any kind. The entry time decides, so a permit
    /// that expires during a long overflight still covers it, and a re-run gives the same
    /// answer whatever the time of the run.
    pub fn covers(
        &self,
        target: TargetId,
        callsign: Option<&str>,
        zone: &str,
        entered_at: Timestamp,
    ) -> bool {
        // The id printed on the stack: a ShortName is at most 24 bytes, a track id at
        // most 24 + 1 + 10, so detection never allocates to test a permit.
        let mut printed = IdText::default();
        if self.icao24.is_some() || self.id.is_some() {
            let _ = write!(printed, "{target}");
        }
        let id = printed.as_str();
        self.from.is_none_or(|f| entered_at >= f)
            && self.until.is_none_or(|u| entered_at < u)
            && self.kind.is_none_or(|k| k == target.kind())
            && self
                .icao24
                .as_ref()
                .is_none_or(|g| target.icao().is_some() && g.matches(id))
            && self.id.as_ref().is_none_or(|g| g.matches(id))
            && self.zone.as_ref().is_none_or(|g| g.matches(zone))
            && self
                .callsign
                .as_ref()
                .is_none_or(|g| callsign.is_some_and(|c| g.matches(c)))
    }
}

/// `target.id` printed into a fixed buffer (see [`Permit::covers`]).
struct IdText {
    buf: [u8; 40],
    len: usize,
}

impl Default for IdText {
    fn default() -> Self {
        IdText {
            buf: [0; 40],
            len: 0,
        }
    }
}

impl IdText {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for IdText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(std::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `kind = "icao" | "remoteid" | "track"`, read with [`TargetKind`]'s own parser so a
/// wrong name gets its message (naming the value and the three expected).
mod kind_serde {
    use crate::TargetKind;
    use serde::Deserialize as _;

    pub fn serialize<S: serde::Serializer>(
        k: &Option<TargetKind>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match k {
            Some(k) => s.serialize_some(k.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<TargetKind>, D::Error> {
        String::deserialize(d)?
            .parse()
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_wildcards() {
        let g = Glob::new("PIA*");
        assert!(g.matches("PIA123"));
        assert!(g.matches("pia"));
        assert!(!g.matches("XPIA1"));
        assert!(Glob::new("*").matches(""));
        assert!(Glob::new("a?c").matches("abc"));
        assert!(!Glob::new("a?c").matches("ac"));
        assert!(Glob::new("*7c*").matches("adf7c1"));
        assert!(Glob::new("a*b*c").matches("aXXbYYbZc"));
        assert!(!Glob::new("a*b*c").matches("aXXbYYbZ"));
        assert!(!Glob::new("").matches("x"));
        assert!(Glob::new("").matches(""));
    }

    fn permit() -> Permit {
        Permit {
            icao24: None,
            id: None,
            kind: None,
            callsign: Some(Glob::new("PIA*")),
            zone: None,
            reason: "overflight permit 2023/114".into(),
            from: Some(Timestamp::parse_rfc3339("2023-11-14T00:00:00Z").unwrap()),
            until: Some(Timestamp::parse_rfc3339("2023-11-30T00:00:00Z").unwrap()),
        }
    }

    #[test]
    fn window_is_half_open_and_callsign_must_be_known() {
        let p = permit();
        let at = |s| Timestamp::parse_rfc3339(s).unwrap();
        let t = icao("750123");
        assert!(p.covers(t, Some("PIA301"), "AF", at("2023-11-14T00:00:00Z")));
        assert!(!p.covers(t, Some("PIA301"), "AF", at("2023-11-13T23:59:59Z")));
        assert!(!p.covers(t, Some("PIA301"), "AF", at("2023-11-30T00:00:00Z")));
        assert!(!p.covers(t, None, "AF", at("2023-11-20T00:00:00Z")));
        assert!(!p.covers(t, Some("KLM1"), "AF", at("2023-11-20T00:00:00Z")));
    }

    #[test]
    fn validation_names_the_permit() {
        let mut p = permit();
        assert!(p.validate().is_ok());
        p.callsign = None;
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "permit \"overflight permit 2023/114\" has no icao24, id, kind, callsign or zone: expected at least one selector"
        );
        let mut p = permit();
        std::mem::swap(&mut p.from, &mut p.until);
        assert!(matches!(p.validate(), Err(PermitError::EmptyWindow { .. })));
        // icao24 with another kind could never match: refused, naming both.
        let mut p = permit();
        p.icao24 = Some(Glob::new("75*"));
        p.kind = Some(TargetKind::RemoteId);
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "permit \"overflight permit 2023/114\" has icao24 with kind = \"remoteid\": icao24 matches only ICAO targets, expected kind = \"icao\" or no kind"
        );
        p.kind = Some(TargetKind::Icao);
        assert!(p.validate().is_ok());
        // kind alone, or id alone, is a selector.
        let mut p = permit();
        p.callsign = None;
        p.kind = Some(TargetKind::Track);
        assert!(p.validate().is_ok());
        p.kind = None;
        p.id = Some(Glob::new("kabul-psr/*"));
        assert!(p.validate().is_ok());
    }

    fn icao(hex: &str) -> TargetId {
        TargetId::Icao(hex.parse().unwrap())
    }

    fn rid(id: &str) -> TargetId {
        TargetId::parse(TargetKind::RemoteId, id).unwrap()
    }

    fn track(id: &str) -> TargetId {
        TargetId::parse(TargetKind::Track, id).unwrap()
    }

    fn selecting(icao24: Option<&str>, id: Option<&str>, kind: Option<TargetKind>) -> Permit {
        Permit {
            icao24: icao24.map(Glob::new),
            id: id.map(Glob::new),
            kind,
            callsign: None,
            zone: None,
            reason: "r".into(),
            from: None,
            until: None,
        }
    }

    #[test]
    fn icao24_matches_only_icao_targets() {
        let at = Timestamp::EPOCH;
        let p = selecting(Some("*"), None, None);
        assert!(p.covers(icao("750123"), None, "AF", at));
        // A Remote ID or track id that reads like a hex address is not a transponder.
        assert!(!p.covers(rid("750123"), None, "AF", at));
        assert!(!p.covers(rid("ABC"), None, "AF", at));
        assert!(!p.covers(track("psr/750123"), None, "AF", at));
        let p = selecting(Some("75*"), None, None);
        assert!(p.covers(icao("750123"), None, "AF", at));
        assert!(!p.covers(icao("760123"), None, "AF", at));
        assert!(!p.covers(rid("750123"), None, "AF", at));
    }

    #[test]
    fn id_matches_the_printed_id_of_every_kind() {
        let at = Timestamp::EPOCH;
        // ICAO: the six lowercase hex digits (the glob is case-insensitive).
        let p = selecting(None, Some("75012?"), None);
        assert!(p.covers(icao("750123"), None, "AF", at));
        assert!(!p.covers(icao("750133"), None, "AF", at));
        // Remote ID: the UAS ID as broadcast.
        let p = selecting(None, Some("1581F5FJD*"), None);
        assert!(p.covers(rid("1581F5FJD239C00DW22E"), None, "AF", at));
        assert!(!p.covers(rid("1581F5FKD239C00DW22E"), None, "AF", at));
        // Track: SENSOR/NUMBER, also the longest id there is (24-byte sensor name).
        let p = selecting(None, Some("kabul-psr/*"), None);
        assert!(p.covers(track("kabul-psr/417"), None, "AF", at));
        assert!(!p.covers(track("herat-psr/417"), None, "AF", at));
        let long = format!("{}/4294967295", "s".repeat(24));
        let p = selecting(None, Some(&long), None);
        assert!(p.covers(track(&long), None, "AF", at));
        assert!(!p.covers(
            track(&format!("{}/4294967294", "s".repeat(24))),
            None,
            "AF",
            at
        ));
    }

    #[test]
    fn kind_restricts_id_to_one_kind() {
        let at = Timestamp::EPOCH;
        let p = selecting(None, Some("*"), Some(TargetKind::RemoteId));
        assert!(p.covers(rid("DRONE1"), None, "AF", at));
        assert!(!p.covers(icao("750123"), None, "AF", at));
        assert!(!p.covers(track("psr/1"), None, "AF", at));
        let p = selecting(None, None, Some(TargetKind::Track));
        assert!(p.covers(track("psr/1"), None, "AF", at));
        assert!(!p.covers(rid("DRONE1"), None, "AF", at));
        let p = selecting(Some("750123"), Some("750123"), Some(TargetKind::Icao));
        assert!(p.covers(icao("750123"), None, "AF", at));
        assert!(!p.covers(rid("750123"), None, "AF", at));
    }

    #[test]
    fn reads_the_documented_table() {
        let p: Permit = serde_json::from_str(
            r#"{"callsign":"PIA*","reason":"overflight permit 2023/114",
                "from":"2023-11-14T00:00:00Z","until":"2023-11-30T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(p, permit());
        assert!(
            serde_json::from_str::<Permit>(r#"{"callsign":"X","reason":"r","to":"x"}"#).is_err()
        );
        let p: Permit =
            serde_json::from_str(r#"{"id":"DRONE*","kind":"remoteid","reason":"r"}"#).unwrap();
        assert_eq!(
            p,
            selecting(None, Some("DRONE*"), Some(TargetKind::RemoteId))
        );
        assert_eq!(
            serde_json::to_value(&p).unwrap()["kind"],
            serde_json::json!("remoteid")
        );
        // Without id and kind the JSON is what it was before they existed (the permit set's
        // evidence leaf keeps its bytes).
        assert_eq!(
            serde_json::to_string(&permit()).unwrap(),
            r#"{"icao24":null,"callsign":"PIA*","zone":null,"reason":"overflight permit 2023/114","from":"2023-11-14T00:00:00.000Z","until":"2023-11-30T00:00:00.000Z"}"#
        );
        let e = serde_json::from_str::<Permit>(r#"{"kind":"drone","reason":"r"}"#).unwrap_err();
        assert!(
            e.to_string()
                .contains("unknown target kind \"drone\": expected icao, remoteid or track"),
            "{e}"
        );
    }
}
