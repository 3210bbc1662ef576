//! `[detection]`: the three numbers that decide when a position becomes an incident
//! (docs/INTERFACES.md, "Config").

/// Detection thresholds, as read from the `[detection]` table of the config file.
///
/// Every field is optional in the file; the defaults are docs/INTERFACES.md's.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetectionConfig {
    /// Seconds a target must stay continuously inside a zone (with at least two reports)
    /// before the incursion is confirmed. Shorter stays are border noise.
    pub confirm_s: f64,
    /// Seconds of silence after which a track is lost (and an open incursion becomes
    /// `lost`); also the longest gap across which two reports still form an observed
    /// segment (for crossing points) or a speed check.
    pub track_timeout_s: f64,
    /// Metres per second: a position implying faster motion from the track's last
    /// accepted position is discarded (spoofing, CPR decoding errors).
    pub max_speed_mps: f64,
}

impl Default for DetectionConfig {
    fn default() -> Self {
        DetectionConfig {
            confirm_s: 5.0,
            track_timeout_s: 60.0,
            max_speed_mps: 1000.0,
        }
    }
}

/// Why a `[detection]` value cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid [detection] {key} = {value}: expected {expected}")]
pub struct DetectionConfigError {
    /// The offending key.
    pub key: &'static str,
    /// Its value.
    pub value: f64,
    /// What would have been accepted.
    pub expected: &'static str,
}

impl DetectionConfig {
    /// Checks every value (ARCHITECTURE.md invariant 4: the core receives only valid
    /// values). Limits are generous: a day is the longest timeout that makes sense for
    /// tracking, and nothing airborne moves faster than 100 km/s.
    pub fn validate(&self) -> Result<(), DetectionConfigError> {
        let check = |key, value: f64, lo: f64, hi: f64, expected| {
            if value.is_finite() && value >= lo && value <= hi {
                Ok(())
            } else {
                Err(DetectionConfigError {
                    key,
                    value,
                    expected,
                })
            }
        };
        check(
            "confirm_s",
            self.confirm_s,
            0.0,
            86_400.0,
            "seconds between 0 and 86400",
        )?;
        check(
            "track_timeout_s",
            self.track_timeout_s,
            0.001,
            86_400.0,
            "seconds between 0.001 and 86400",
        )?;
        check(
            "max_speed_mps",
            self.max_speed_mps,
            1.0,
            100_000.0,
            "metres per second between 1 and 100000",
        )
    }

    /// `confirm_s` in microseconds.
    pub(crate) fn confirm_us(&self) -> i64 {
        secs_to_us(self.confirm_s)
    }

    /// `track_timeout_s` in microseconds.
    pub(crate) fn timeout_us(&self) -> i64 {
        secs_to_us(self.track_timeout_s)
    }
}

fn secs_to_us(s: f64) -> i64 {
    // `validate` bounds the values; the clamp keeps unvalidated input from overflowing.
    (s * 1e6).round().clamp(0.0, 1e17) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = DetectionConfig::default();
        assert_eq!(
            (c.confirm_s, c.track_timeout_s, c.max_speed_mps),
            (5.0, 60.0, 1000.0)
        );
        assert_eq!(c.confirm_us(), 5_000_000);
        assert_eq!(c.timeout_us(), 60_000_000);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn partial_tables_keep_defaults_and_unknown_keys_fail() {
        let c: DetectionConfig = serde_json::from_str(r#"{"confirm_s": 10}"#).unwrap();
        assert_eq!(c.confirm_s, 10.0);
        assert_eq!(c.track_timeout_s, 60.0);
        let e = serde_json::from_str::<DetectionConfig>(r#"{"confirm": 10}"#).unwrap_err();
        assert!(e.to_string().contains("confirm"), "{e}");
    }

    #[test]
    fn invalid_values_are_named() {
        let c = DetectionConfig {
            max_speed_mps: -3.0,
            ..DetectionConfig::default()
        };
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "invalid [detection] max_speed_mps = -3: expected metres per second between 1 and 100000"
        );
        let c = DetectionConfig {
            track_timeout_s: f64::NAN,
            ..DetectionConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().key, "track_timeout_s");
    }
}
