//! Alert rules ("Alert rules in the config"): which stored events an
//! `[[alert]]` delivers. Validated twice at start-up (ARCHITECTURE.md invariant 4): the
//! keys when the config is parsed ([`validate_config`], errors with the line), the zone
//! globs once the zones are loaded ([`Rule::from_config`], errors naming the rule).

use std::time::Duration;

use skyfence_core::detect::{Classification, Event, Glob};

use super::{AlertLevel, DeliveryPolicy};
use crate::config::{AlertConfig, AlertEvent, SinkConfig};

/// Why a rule cannot be used (found once the zones are loaded).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "[[alert]] {rule:?}: zones = {glob:?} matches none of the zones loaded (expected one of: {known})"
)]
pub struct UnknownZoneError {
    /// The rule's name.
    pub rule: String,
    /// The glob that matches nothing.
    pub glob: String,
    /// The zone names loaded, comma-separated (the first 20).
    pub known: String,
}

/// A validated rule: which stored events an alert sink delivers.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    name: String,
    events: Vec<AlertEvent>,
    zones: Vec<Glob>,
    classifications: Vec<Classification>,
    min_depth_m: Option<f64>,
    min_duration_s: Option<f64>,
    verdicts: Vec<skyfence_core::detect::SpoofVerdict>,
    include_authorised: bool,
    level: AlertLevel,
}

impl Rule {
    /// The rule of `[[alert]]` entry number `index` (0-based) and its retry timing; every
    /// zone glob must match one of `zone_names`. The keys themselves were checked by
    /// [`validate_config`] when the config was parsed.
    pub fn from_config(
        a: &AlertConfig,
        index: usize,
        zone_names: &[&str],
    ) -> Result<(Rule, DeliveryPolicy), UnknownZoneError> {
        let (k, name) = (&a.rule, a.effective_name(index));
        for g in &k.zones {
            if !zone_names.iter().any(|z| g.matches(z)) {
                return Err(UnknownZoneError {
                    rule: name,
                    glob: g.as_str().to_string(),
                    known: zone_names
                        .iter()
                        .take(20)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        let d = DeliveryPolicy::default();
        let secs = |v: Option<f64>, default: Duration| {
            v.and_then(|s| Duration::try_from_secs_f64(s).ok())
                .unwrap_or(default)
        };
        let policy = DeliveryPolicy {
            retry_initial: secs(k.retry_initial_s, d.retry_initial),
            retry_max: secs(k.retry_max_s, d.retry_max),
            dead_letter_after: secs(k.dead_letter_after_s, d.dead_letter_after),
            timeout: secs(k.timeout_s, d.timeout),
        };
        let rule = Rule {
            name,
            events: k.events.clone(),
            zones: k.zones.clone(),
            classifications: k.classifications.clone(),
            min_depth_m: k.min_depth_m,
            min_duration_s: k.min_duration_s,
            verdicts: k.verdicts.clone(),
            include_authorised: k.include_authorised,
            level: k.level,
        };
        Ok((rule, policy))
    }

    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rule's level.
    pub fn level(&self) -> AlertLevel {
        self.level
    }

    /// Whether the rule wants `event`: its kind is listed, its zone matches a glob (if
    /// any are given), its classification is listed (if any are), and for incident
    /// events the incident is unauthorised (unless `include_authorised`) and reaches
    /// `min_depth_m` and `min_duration_s` as the event carries it (a `confirmed`
    /// incident is as deep and long as it was when confirmed), and, when `verdicts` is
    /// given, carries a `verification` whose verdict is listed. An `approach` has no
    /// incident: it matches on zone and the target's classification.
    pub fn matches(&self, event: &Event) -> bool {
        let kind = match event {
            Event::Approach { .. } => AlertEvent::Approach,
            Event::Confirmed { .. } => AlertEvent::Confirmed,
            Event::Closed { .. } => AlertEvent::Closed,
            Event::Lost { .. } => AlertEvent::Lost,
        };
        if !self.events.contains(&kind) {
            return false;
        }
        if !self.zones.is_empty() && !self.zones.iter().any(|g| g.matches(event.zone())) {
            return false;
        }
        let classification = match event {
            Event::Approach { target, .. } => Classification::of(target.id, target.category),
            _ => match event.incident() {
                Some(i) => i.classification,
                None => Classification::Unknown,
            },
        };
        if !self.classifications.is_empty() && !self.classifications.contains(&classification) {
            return false;
        }
        let Some(i) = event.incident() else {
            return true;
        };
        (self.include_authorised || !i.authorised)
            && self.min_depth_m.is_none_or(|m| i.max_depth_m >= m)
            && self.min_duration_s.is_none_or(|m| i.duration_s >= m)
            && (self.verdicts.is_empty()
                || i.verification
                    .as_ref()
                    .is_some_and(|v| self.verdicts.contains(&v.verdict)))
    }
}

/// 1-based line of `key` inside the `index`-th (0-based) `[[alert]]` table of `text`,
/// or of that table's header when the key is not written there.
fn alert_key_line(text: &str, index: usize, key: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim() == "[[alert]]")
        .nth(index)
        .map(|(i, _)| i)?;
    for (i, l) in lines.iter().enumerate().skip(header + 1) {
        let l = l.trim_start();
        if l.starts_with('[') {
            break;
        }
        if l.strip_prefix(key)
            .is_some_and(|r| r.trim_start().starts_with('='))
        {
            return Some(i + 1);
        }
    }
    Some(header + 1)
}

/// Checks the shared keys of every `[[alert]]` (names, numbers, combinations) and the
/// webhook's `url`; the error names the line, the rule and the key.
pub fn validate_config(alerts: &[AlertConfig], text: &str) -> Result<(), String> {
    let mut names = std::collections::HashSet::new();
    for (i, a) in alerts.iter().enumerate() {
        let (k, name) = (&a.rule, a.effective_name(i));
        let fail = |key: &str, msg: String| {
            let at = alert_key_line(text, i, key)
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            Err(format!("{at}[[alert]] {name:?}: {msg}"))
        };
        if name.is_empty()
            || name.len() > 64
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return fail(
                "name",
                format!(
                    "name = {name:?} is not a valid name (expected 1 to 64 of A-Z a-z 0-9 - _ .)"
                ),
            );
        }
        if !names.insert(name.clone()) {
            return fail(
                "name",
                format!("name {name:?} is used twice (names must be unique)"),
            );
        }
        if k.events.is_empty() {
            return fail(
                "events",
                "events = [] selects nothing (expected some of confirmed, closed, lost, approach)"
                    .into(),
            );
        }
        if let Some(g) = k.zones.iter().find(|g| g.as_str().is_empty()) {
            return fail(
                "zones",
                format!(
                    "zones = {:?} is empty (expected a zone name or glob)",
                    g.as_str()
                ),
            );
        }
        if !k.verdicts.is_empty() && k.events.contains(&AlertEvent::Approach) {
            return fail(
                "verdicts",
                "verdicts cannot apply to approach events (an approach has no incident): put approach in an [[alert]] of its own".into(),
            );
        }
        for (key, v) in [
            ("min_depth_m", k.min_depth_m),
            ("min_duration_s", k.min_duration_s),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return fail(key, format!("{key} = {v} is out of range (expected >= 0)"));
                }
                if k.events.contains(&AlertEvent::Approach) {
                    return fail(
                        key,
                        format!(
                            "{key} cannot apply to approach events (an approach has no incident): put approach in an [[alert]] of its own"
                        ),
                    );
                }
            }
        }
        for (key, v, max) in [
            (
                "dead_letter_after_s",
                k.dead_letter_after_s,
                30.0 * 86_400.0,
            ),
            ("retry_initial_s", k.retry_initial_s, 3600.0),
            ("retry_max_s", k.retry_max_s, 86_400.0),
            ("timeout_s", k.timeout_s, 600.0),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0 && v <= max)
            {
                return fail(
                    key,
                    format!("{key} = {v} is out of range (expected 0 < seconds <= {max})"),
                );
            }
        }
        if let (Some(lo), Some(hi)) = (k.retry_initial_s, k.retry_max_s)
            && hi < lo
        {
            return fail(
                "retry_max_s",
                format!(
                    "retry_max_s = {hi} is below retry_initial_s = {lo} (expected at least it)"
                ),
            );
        }
        if let SinkConfig::Webhook(crate::config::WebhookConfig { url, secret }) = &a.sink {
            match reqwest::Url::parse(url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
                Ok(_) | Err(_) => {
                    return fail(
                        "url",
                        format!("url = {url:?} is not an http:// or https:// URL with a host"),
                    );
                }
            }
            if secret.as_deref() == Some("") {
                return fail(
                    "secret",
                    "secret = \"\" is empty (expected a shared key, or no secret key at all)"
                        .into(),
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use skyfence_core::detect::{Fix, Incident, IncidentStatus, TargetInfo};
    use skyfence_core::{EmitterCategory, Icao24, TargetId, Timestamp};

    fn rule(text: &str) -> Rule {
        let c = Config::parse(text).unwrap();
        Rule::from_config(&c.alerts[0], 0, &["AF", "PK", "HELD-A"])
            .unwrap()
            .0
    }

    /// The docs/INTERFACES.md example incident (an unauthorised B6 UAV 14.9 km inside
    /// HELD-A for 333.4 s).
    fn incident() -> Incident {
        Incident {
            id: "0123456789abcdef".parse().unwrap(),
            zone: "HELD-A".into(),
            target: TargetInfo {
                id: TargetId::Icao(Icao24::from_u32_masked(0xadf7c1)),
                callsign: None,
                category: None,
            },
            classification: Classification::Uav,
            authorised: false,
            permit: None,
            status: IncidentStatus::Closed,
            entry_observed: true,
            entered_at: Timestamp::parse_rfc3339("2023-11-14T22:21:03.120Z").unwrap(),
            exited_at: Some(Timestamp::parse_rfc3339("2023-11-14T22:26:36.480Z").unwrap()),
            last_seen_at: Timestamp::parse_rfc3339("2023-11-14T22:26:36.000Z").unwrap(),
            entry: Fix {
                lat: 33.2177,
                lon: 69.8813,
                alt_ft: Some(48000),
            },
            exit: Some(Fix {
                lat: 33.2511,
                lon: 69.8889,
                alt_ft: Some(48000),
            }),
            duration_s: 333.4,
            max_depth_m: 14856.0,
            max_alt_ft: Some(48000),
            reports: 666,
            cooperative: None,
            sensors: Vec::new(),
            operator: None,
            remoteid: None,
            verification: None,
        }
    }

    fn closed(i: Incident) -> Event {
        Event::Closed {
            at: i.exited_at.unwrap(),
            incident: i,
        }
    }

    fn approach(zone: &str, category: Option<EmitterCategory>) -> Event {
        Event::Approach {
            at: Timestamp::from_secs(1_700_000_000),
            zone: zone.into(),
            target: TargetInfo {
                id: TargetId::Icao(Icao24::from_u32_masked(0x700c02)),
                callsign: None,
                category,
            },
            position: Fix {
                lat: 33.0,
                lon: 70.0,
                alt_ft: None,
            },
        }
    }

    const HOOK: &str = "[[alert]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:9/h\"\n";

    #[test]
    fn defaults_deliver_unauthorised_incident_events_of_every_zone() {
        let r = rule(HOOK);
        assert_eq!(r.name(), "webhook-1");
        assert_eq!(r.level(), AlertLevel::Warning);
        assert!(r.matches(&closed(incident())));
        let mut authorised = incident();
        authorised.authorised = true;
        authorised.permit = Some("overflight permit 2023/114".into());
        assert!(!r.matches(&closed(authorised.clone())));
        assert!(
            !r.matches(&approach("PK", None)),
            "approach is not a default"
        );
        let r = rule(&format!("{HOOK}include_authorised = true\n"));
        assert!(r.matches(&closed(authorised)));
    }

    #[test]
    fn zones_classifications_and_thresholds_narrow_a_rule() {
        let r = rule(&format!(
            "{HOOK}zones = [\"HELD-*\"]\nclassifications = [\"uav\"]\n"
        ));
        assert!(r.matches(&closed(incident())));
        let mut elsewhere = incident();
        elsewhere.zone = "PK".into();
        assert!(!r.matches(&closed(elsewhere)));
        let mut aircraft = incident();
        aircraft.classification = Classification::Aircraft;
        assert!(!r.matches(&closed(aircraft)));

        // 14856.0 m deep, 333.4 s long: the thresholds are inclusive.
        assert!(rule(&format!("{HOOK}min_depth_m = 14856.0\n")).matches(&closed(incident())));
        assert!(!rule(&format!("{HOOK}min_depth_m = 14856.1\n")).matches(&closed(incident())));
        assert!(rule(&format!("{HOOK}min_duration_s = 333.4\n")).matches(&closed(incident())));
        assert!(!rule(&format!("{HOOK}min_duration_s = 334\n")).matches(&closed(incident())));
    }

    /// `verdicts` selects incidents by the multilateration verdict on what the target
    /// broadcast; an incident without one (never checked) is not selected.
    #[test]
    fn verdicts_select_suspected_spoofers() {
        use skyfence_core::detect::{IncidentVerification, SpoofVerdict};
        let r = rule(&format!("{HOOK}verdicts = [\"spoof_suspected\"]\n"));
        assert!(
            !r.matches(&closed(incident())),
            "no verification: not selected"
        );
        let mut spoofer = incident();
        spoofer.verification = Some(IncidentVerification::tdoa(
            5,
            812.3,
            SpoofVerdict::SpoofSuspected,
        ));
        assert!(r.matches(&closed(spoofer.clone())));
        let mut honest = incident();
        honest.verification = Some(IncidentVerification::tdoa(
            5,
            12.0,
            SpoofVerdict::Consistent,
        ));
        assert!(!r.matches(&closed(honest.clone())));
        let either = rule(&format!(
            "{HOOK}verdicts = [\"consistent\", \"spoof_suspected\"]\n"
        ));
        assert!(either.matches(&closed(honest)) && either.matches(&closed(spoofer)));
        let e = Config::parse(&format!(
            "{HOOK}events = [\"approach\"]\nverdicts = [\"unverified\"]\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("verdicts") && e.contains("approach"), "{e}");
        let e = Config::parse(&format!("{HOOK}verdicts = [\"spoofed\"]\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("spoofed"), "{e}");
    }

    #[test]
    fn event_kinds_select_and_approach_matches_on_zone_and_target() {
        let r = rule(&format!(
            "{HOOK}events = [\"approach\", \"confirmed\"]\nzones = [\"PK\"]\nclassifications = [\"uav\"]\nlevel = \"caution\"\n"
        ));
        assert_eq!(r.level(), AlertLevel::Caution);
        assert!(!r.matches(&closed(incident())), "closed is not listed");
        // Emitter category B6 (set B, code 6: UAV, DO-260B §2.2.3.2.5.2) is a UAV.
        let b6 = EmitterCategory::new(b'B', 6);
        assert!(r.matches(&approach("PK", b6)));
        assert!(!r.matches(&approach("AF", b6)));
        assert!(!r.matches(&approach("PK", None)), "unknown is not uav");
        let mut i = incident();
        i.zone = "PK".into();
        i.status = IncidentStatus::Open;
        let confirmed = Event::Confirmed {
            at: i.entered_at,
            incident: i,
        };
        assert!(r.matches(&confirmed));
    }

    #[test]
    fn unknown_zone_is_an_error_naming_the_rule() {
        let c = Config::parse(&format!(
            "{HOOK}name = \"ops\"\nzones = [\"HELD-A\", \"XX*\"]\n"
        ))
        .unwrap();
        let e = Rule::from_config(&c.alerts[0], 0, &["AF", "HELD-A"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "[[alert]] \"ops\": zones = \"XX*\" matches none of the zones loaded (expected one of: AF, HELD-A)"
        );
    }

    #[test]
    fn bad_keys_name_line_rule_and_key() {
        let text = "[server]\nlisten = \"127.0.0.1:0\"\n\n[[alert]]\ntype = \"webhook\"\nurl = \"http://a/\"\nname = \"a\"\n\n[[alert]]\ntype = \"webhook\"\nname = \"b\"\nurl = \"ftp://x/\"\n";
        let e = Config::parse(text).unwrap_err();
        assert_eq!(
            e,
            "line 12: [[alert]] \"b\": url = \"ftp://x/\" is not an http:// or https:// URL with a host"
        );
        let e = Config::parse(&format!("{HOOK}name = \"x\"\n{HOOK}name = \"x\"\n")).unwrap_err();
        assert!(e.starts_with("line 8: ") && e.contains("used twice"), "{e}");
        let e = Config::parse(&format!("{HOOK}name = \"a b\"\n")).unwrap_err();
        assert!(e.starts_with("line 4: ") && e.contains("\"a b\""), "{e}");
        let e = Config::parse(&format!("{HOOK}min_depth_m = -1\n")).unwrap_err();
        assert!(
            e.starts_with("line 4: ") && e.contains("min_depth_m = -1"),
            "{e}"
        );
        let e = Config::parse(&format!(
            "{HOOK}events = [\"approach\"]\nmin_duration_s = 5\n"
        ))
        .unwrap_err();
        assert!(e.contains("min_duration_s cannot apply to approach"), "{e}");
        let e =
            Config::parse(&format!("{HOOK}retry_initial_s = 10\nretry_max_s = 5\n")).unwrap_err();
        assert!(
            e.starts_with("line 5: ") && e.contains("retry_max_s = 5"),
            "{e}"
        );
        let e = Config::parse(&format!("{HOOK}timeout_s = 0\n")).unwrap_err();
        assert!(e.contains("timeout_s = 0 is out of range"), "{e}");
        // serde reads a tagged table whole: the line is that of its `[[alert]]` header.
        let e = Config::parse(&format!("{HOOK}level = \"panic\"\n")).unwrap_err();
        assert!(e.starts_with("line 1: ") && e.contains("panic"), "{e}");
        let e = Config::parse(&format!("{HOOK}events = []\n")).unwrap_err();
        assert!(e.contains("selects nothing"), "{e}");
    }

    /// `examples/alerts.toml` parses, and its rules do what its comments say.
    #[test]
    fn the_example_config_is_valid() {
        let c = Config::parse(include_str!("../../../../examples/alerts.toml")).unwrap();
        let specs: Vec<(Rule, DeliveryPolicy)> = c
            .alerts
            .iter()
            .enumerate()
            .map(|(i, a)| Rule::from_config(a, i, &["PK", "AF"]).unwrap())
            .collect();
        let names: Vec<&str> = specs.iter().map(|(r, _)| r.name()).collect();
        assert_eq!(names, ["ops-room", "duty-pager", "approach-watch"]);
        let mut deep = incident();
        deep.zone = "PK".into();
        assert!(specs[0].0.matches(&closed(deep.clone())));
        assert!(specs[1].0.matches(&closed(deep.clone())));
        deep.max_depth_m = 4999.0;
        assert!(!specs[1].0.matches(&closed(deep)), "shallower than 5 km");
        assert_eq!(specs[1].1.dead_letter_after, Duration::from_secs(900));
        assert!(specs[2].0.matches(&approach("AF", None)));
        assert_eq!(specs[2].0.level(), AlertLevel::Advisory);
    }

    #[test]
    fn delivery_keys_set_the_policy() {
        let c = Config::parse(&format!(
            "{HOOK}dead_letter_after_s = 60\nretry_initial_s = 0.05\nretry_max_s = 2\ntimeout_s = 3\n"
        ))
        .unwrap();
        let (_, p) = Rule::from_config(&c.alerts[0], 0, &["AF"]).unwrap();
        assert_eq!(p.dead_letter_after, Duration::from_secs(60));
        assert_eq!(p.retry_initial, Duration::from_millis(50));
        assert_eq!(p.retry_max, Duration::from_secs(2));
        assert_eq!(p.timeout, Duration::from_secs(3));
        let c = Config::parse(HOOK).unwrap();
        let (_, p) = Rule::from_config(&c.alerts[0], 0, &["AF"]).unwrap();
        assert_eq!(p, DeliveryPolicy::default());
    }
}
