//! `[[allow]]` permits: targets whose incursions are authorised (recorded, not alerted).
//! docs/INTERFACES.md, "Config": selectors `icao24`, `callsign`, `zone` are globs; every
//! selector given must match; `from`/`until` bound the validity window.

use crate::Timestamp;

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
    /// Glob over the ICAO address as 6 lowercase hex digits.
    #[serde(default)]
    pub icao24: Option<Glob>,
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
    #[error("permit {reason:?} has no icao24, callsign or zone: expected at least one selector")]
    NoSelector {
        /// The permit's reason text.
        reason: String,
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
        if self.icao24.is_none() && self.callsign.is_none() && self.zone.is_none() {
            return Err(PermitError::NoSelector {
                reason: self.reason.clone(),
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

    /// Whether the permit covers an incursion by `icao24` (6 hex digits) with `callsign`
    /// (when known) into `zone` that entered at `entered_at`: every selector given matches
    /// and `entered_at` lies in [`from`, `until`). The entry time decides, so a permit
    /// that expires during a long overflight still covers it, and a re-run gives the same
    /// answer whatever the time of the run.
    pub fn covers(
        &self,
        icao24: &str,
        callsign: Option<&str>,
        zone: &str,
        entered_at: Timestamp,
    ) -> bool {
        self.from.is_none_or(|f| entered_at >= f)
            && self.until.is_none_or(|u| entered_at < u)
            && self.icao24.as_ref().is_none_or(|g| g.matches(icao24))
            && self.zone.as_ref().is_none_or(|g| g.matches(zone))
            && self
                .callsign
                .as_ref()
                .is_none_or(|g| callsign.is_some_and(|c| g.matches(c)))
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
        assert!(p.covers("750123", Some("PIA301"), "AF", at("2023-11-14T00:00:00Z")));
        assert!(!p.covers("750123", Some("PIA301"), "AF", at("2023-11-13T23:59:59Z")));
        assert!(!p.covers("750123", Some("PIA301"), "AF", at("2023-11-30T00:00:00Z")));
        assert!(!p.covers("750123", None, "AF", at("2023-11-20T00:00:00Z")));
        assert!(!p.covers("750123", Some("KLM1"), "AF", at("2023-11-20T00:00:00Z")));
    }

    #[test]
    fn validation_names_the_permit() {
        let mut p = permit();
        assert!(p.validate().is_ok());
        p.callsign = None;
        assert_eq!(
            p.validate().unwrap_err().to_string(),
            "permit \"overflight permit 2023/114\" has no icao24, callsign or zone: expected at least one selector"
        );
        let mut p = permit();
        std::mem::swap(&mut p.from, &mut p.until);
        assert!(matches!(p.validate(), Err(PermitError::EmptyWindow { .. })));
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
    }
}
