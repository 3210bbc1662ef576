//! What of the config file goes into the evidence log: the settings that shape detection,
//! with every secret removed.
//!
//! The evidence log is append-only and its leaves go to the other side in every bundle
//! (`config.toml`) and to anyone who may read `/api/log/leaves`, so nothing in it may be a
//! secret. The leaf is rebuilt from the parsed file, not copied from it:
//!
//! - only the sections that shape detection are kept ([`KEPT_SECTIONS`]): `[detection]`,
//!   `[decoder]`, `[[allow]]`, `[[zones]]`, `[[source]]` and `[[sensor]]`. `[server]` (the API token,
//!   tile URLs), `[store]` (a database URL), `[[alert]]` (webhook secrets and URLs) and
//!   `[evidence]` are left out, and so is any section a later version adds until it is
//!   listed here;
//! - in what is kept, keys that name a credential ([`SECRET_KEYS`]) are dropped and every
//!   URL loses its user information, query and fragment (`https://u:p@h/x?token=t` →
//!   `https://h/x`);
//! - the text starts with a comment saying so.
//!
//! The verifier reads `[detection]`, `[decoder]`, `[[allow]]` and `[[sensor]]` from this
//! text
//! (`skyfence_bundle::replay::settings_from_config`), so a bundle still re-runs detection
//! with the thresholds and permits in force.

/// The top-level sections recorded.
pub const KEPT_SECTIONS: [&str; 6] = ["detection", "decoder", "allow", "zones", "source", "sensor"];

/// Keys never recorded, wherever they appear (compared without regard to case).
pub const SECRET_KEYS: [&str; 8] = [
    "api_token",
    "token",
    "secret",
    "password",
    "passwd",
    "api_key",
    "credentials",
    "authorization",
];

/// The first line of every recorded config.
pub const HEADER: &str = "# skyfence: the detection settings of this configuration, secrets removed \
(only [detection], [decoder], [[allow]], [[zones]], [[source]] and [[sensor]] are recorded; \
tokens, secrets, URL credentials and URL query strings are left out)";

/// The text recorded for a config file's `text` (already parsed and validated by the
/// caller). A text that is not TOML (not expected) records the header alone.
pub fn recorded_config(text: &str) -> String {
    let Ok(table) = toml::from_str::<toml::Table>(text) else {
        return format!("{HEADER}\n");
    };
    let mut kept = toml::Table::new();
    for section in KEPT_SECTIONS {
        if let Some(value) = table.get(section) {
            kept.insert(section.to_owned(), scrub(value.clone()));
        }
    }
    let body = toml::to_string(&kept).unwrap_or_default();
    format!("{HEADER}\n\n{body}")
}

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(key))
}

fn scrub(value: toml::Value) -> toml::Value {
    match value {
        toml::Value::String(s) => toml::Value::String(strip_url_secrets(&s)),
        toml::Value::Array(items) => toml::Value::Array(items.into_iter().map(scrub).collect()),
        toml::Value::Table(table) => toml::Value::Table(
            table
                .into_iter()
                .filter(|(k, _)| !is_secret_key(k))
                .map(|(k, v)| (k, scrub(v)))
                .collect(),
        ),
        other => other,
    }
}

/// A URL (`scheme://…`) without user information, query or fragment; any other text
/// unchanged. Written by hand: the rule is three cuts on RFC 3986's delimiters, and a
/// URL parser would also normalise (and so change) the parts that are kept.
pub fn strip_url_secrets(s: &str) -> String {
    let Some(scheme_end) = s.find("://") else {
        return s.to_owned();
    };
    let (scheme, rest) = s.split_at(scheme_end + 3);
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
[detection]
confirm_s = 5.0

[server]
listen = "127.0.0.1:8080"
api_token = "TOKEN-server-1234"
tiles = "https://tileuser:TILEPASS@tiles.example/{z}/{x}/{y}.png?key=TILEKEY"

[store]
url = "sqlite:x.db"

[evidence]
origin = "skyfence.example/log"

[[zones]]
file = "zones.geojson"

[[source]]
name = "rx"
type = "beast"
connect = "127.0.0.1:30005"

[[alert]]
type = "webhook"
url = "https://hookuser:HOOKPASS@hooks.example/in?token=HOOKQUERY#frag"
secret = "HOOKSECRET"

[[allow]]
id = "AF*"
kind = "icao24"

[decoder]
commb_trust_replies = 3
"#;

    /// `[decoder]` shapes what is decoded, so re-detection needs it: it is recorded.
    #[test]
    fn the_decoder_settings_are_recorded() {
        let text = recorded_config(FULL);
        let table: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(
            table["decoder"]["commb_trust_replies"].as_integer(),
            Some(3),
            "{text}"
        );
    }

    #[test]
    fn urls_lose_credentials_query_and_fragment() {
        assert_eq!(
            strip_url_secrets("https://u:p@h.example:8443/a/b?token=t#f"),
            "https://h.example:8443/a/b"
        );
        assert_eq!(strip_url_secrets("http://h/x?y"), "http://h/x");
        assert_eq!(strip_url_secrets("tcp://u@h:1"), "tcp://h:1");
        assert_eq!(strip_url_secrets("zones.geojson"), "zones.geojson");
        assert_eq!(strip_url_secrets("127.0.0.1:30005"), "127.0.0.1:30005");
    }

    #[test]
    fn a_config_full_of_secrets_records_none_of_them() {
        let recorded = recorded_config(FULL);
        for secret in [
            "TOKEN-server-1234",
            "TILEPASS",
            "TILEKEY",
            "HOOKPASS",
            "HOOKQUERY",
            "HOOKSECRET",
            "hookuser",
            "api_token",
        ] {
            assert!(!recorded.contains(secret), "{secret} in:\n{recorded}");
        }
        assert!(recorded.starts_with(HEADER));
        // What shapes detection is still there, and reads back.
        let back: toml::Table = toml::from_str(&recorded).unwrap();
        assert_eq!(back["detection"]["confirm_s"].as_float(), Some(5.0));
        assert_eq!(back["allow"][0]["id"].as_str(), Some("AF*"));
        assert_eq!(back["zones"][0]["file"].as_str(), Some("zones.geojson"));
        assert_eq!(
            back["source"][0]["connect"].as_str(),
            Some("127.0.0.1:30005")
        );
        assert!(back.get("server").is_none() && back.get("alert").is_none());
    }

    #[test]
    fn secret_keys_are_dropped_in_kept_sections_too() {
        let recorded =
            recorded_config("[[source]]\nname = \"x\"\nToken = \"S1\"\npassword = \"S2\"\n");
        assert!(
            !recorded.contains("S1") && !recorded.contains("S2"),
            "{recorded}"
        );
        assert!(recorded.contains("name = \"x\""));
    }

    #[test]
    fn the_same_file_records_the_same_bytes() {
        assert_eq!(recorded_config(FULL), recorded_config(FULL));
    }
}
