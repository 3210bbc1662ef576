//! The TOML config on arbitrary text: `Config::parse` never panics (errors name the line
//! and key), and the evidence log's record of any TOML text (`recorded_config`) never
//! panics, parses back as TOML and holds no value of a secret key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skyfence_service::config::Config;
use skyfence_service::config_leaf::recorded_config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Config::parse(text);
    let recorded = recorded_config(text);
    let table: toml::Table = toml::from_str(&recorded).expect("the record is TOML");
    fn no_secret(v: &toml::Value) {
        if let toml::Value::Table(t) = v {
            for (k, v) in t {
                assert!(
                    !skyfence_service::config_leaf::SECRET_KEYS
                        .iter()
                        .any(|s| s.eq_ignore_ascii_case(k)),
                    "secret key {k} recorded"
                );
                no_secret(v);
            }
        } else if let toml::Value::Array(a) = v {
            a.iter().for_each(no_secret);
        }
    }
    no_secret(&toml::Value::Table(table));
});
