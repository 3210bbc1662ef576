//! `[[sensor]]` in the service's config: parsed by
//! [`skyfence_decode::sensor::config`] (shared with the bundle verifier); tested here
//! through [`crate::config::Config`].

pub use skyfence_decode::sensor::config::{SensorEntry, resolve};

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use skyfence_decode::sensor::{ReceiverClock, SensorType};

    /// docs/INTERFACES.md's example.
    const EXAMPLE: &str = r#"
[[sensor]]
name = "kabul-psr"
type = "radar"
sac = 1
sic = 2
lat = 34.566
lon = 69.212
alt_m = 1791

[[sensor]]
name = "national-sdps"
type = "tracker"
sac = 1
sic = 100

[[sensor]]
name = "kabul-1"
type = "modes"
lat = 34.52
lon = 69.18
alt_m = 1800
clock = "beast"
"#;

    #[test]
    fn parses_the_interfaces_example() {
        let c = Config::parse(EXAMPLE).unwrap();
        assert_eq!(c.sensors.len(), 3);
        let psr = &c.sensors[0];
        assert_eq!(
            (psr.name.as_str(), psr.kind),
            ("kabul-psr", SensorType::Radar)
        );
        assert_eq!(psr.sac_sic, Some((1, 2)));
        let site = psr.site.unwrap();
        assert_eq!((site.lat, site.lon, site.alt_m), (34.566, 69.212, 1791.0));
        assert_eq!(c.sensors[1].site, None);
        assert_eq!(c.sensors[1].kind, SensorType::Tracker);
        assert_eq!(c.sensors[2].clock, Some(ReceiverClock::Beast));
        assert_eq!(c.sensors[2].sac_sic, None);
    }

    fn err(text: &str) -> String {
        Config::parse(text).unwrap_err()
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let base = "[[sensor]]\nname = \"r1\"\ntype = \"radar\"\nsac = 1\nsic = 2\nlat = 34.0\nlon = 69.0\nalt_m = 10\n";
        assert!(Config::parse(base).is_ok());
        let e = err(&base.replace("sac = 1", "sac = 256"));
        assert!(
            e.starts_with("line 4: [[sensor]] \"r1\": sac = 256 is out of range"),
            "{e}"
        );
        let e = err(&base.replace("\"radar\"", "\"sonar\""));
        assert!(
            e.starts_with("line 3:")
                && e.contains("expected radar, tracker, adsb, modes or remoteid"),
            "{e}"
        );
        let e = err(&base.replace("lat = 34.0\n", ""));
        assert!(
            e.starts_with("line 6:") && e.contains("lat and lon go together"),
            "{e}"
        );
        let e = err(&base.replace("lat = 34.0\nlon = 69.0\nalt_m = 10\n", ""));
        assert!(e.contains("needs its position"), "{e}");
        let e = err(&base.replace("alt_m = 10\n", ""));
        assert!(e.contains("needs alt_m"), "{e}");
        let e = err(&base.replace("lon = 69.0", "lon = 190"));
        assert!(
            e.starts_with("line 7:") && e.contains("lon = 190 is out of range"),
            "{e}"
        );
        let e = err(&base.replace("sic = 2\n", ""));
        assert!(e.contains("needs sic = 0..255"), "{e}");
        let e = err(&format!("{base}clock = \"beast\"\n"));
        assert!(
            e.starts_with("line 9:") && e.contains("clock is only for Mode S"),
            "{e}"
        );
        let e = err(&format!("{base}range_nm = 3\n"));
        assert!(e.starts_with("line 9:") && e.contains("range_nm"), "{e}");
        // Two sensors with one SAC/SIC, or one name.
        let two =
            format!("{base}\n[[sensor]]\nname = \"t1\"\ntype = \"tracker\"\nsac = 1\nsic = 2\n");
        let e = err(&two);
        assert!(
            e.starts_with(
                "line 13: [[sensor]] \"t1\": sac = 1, sic = 2 is already sensor \"r1\"'s"
            ),
            "{e}"
        );
        let e = err(&format!(
            "{base}\n[[sensor]]\nname = \"r1\"\ntype = \"tracker\"\nsac = 1\nsic = 3\n"
        ));
        assert!(
            e.starts_with("line 11:") && e.contains("name is used twice"),
            "{e}"
        );
        let e = err("[[sensor]]\nname = \"a b\"\ntype = \"modes\"\nlat = 1\nlon = 2\nalt_m = 3\n");
        assert!(
            e.starts_with("line 2:") && e.contains("not a sensor name"),
            "{e}"
        );
        let e = err(
            "[[sensor]]\nname = \"m\"\ntype = \"modes\"\nlat = 1\nlon = 2\nalt_m = 3\nclock = \"gps\"\n",
        );
        assert!(
            e.starts_with("line 7:") && e.contains("radarcape_gps"),
            "{e}"
        );
        let e = err(
            "[[sensor]]\nname = \"m\"\ntype = \"modes\"\nsac = 1\nlat = 1\nlon = 2\nalt_m = 3\n",
        );
        assert!(
            e.starts_with("line 4:") && e.contains("only for ASTERIX sensors"),
            "{e}"
        );
    }

    /// `[[source]] sensor` names a declared sensor; a Mode S receiver only for a format
    /// with receiver timestamps.
    #[test]
    fn a_source_names_its_receiver() {
        let rx = "[[sensor]]\nname = \"kabul-1\"\ntype = \"modes\"\nlat = 34.52\nlon = 69.18\nalt_m = 1800\n";
        let ok = format!(
            "{rx}\n[[source]]\nname = \"feed\"\ntype = \"beast\"\nlisten = \"127.0.0.1:30104\"\nsensor = \"kabul-1\"\n"
        );
        let c = Config::parse(&ok).unwrap();
        assert_eq!(c.sources[0].sensor.as_deref(), Some("kabul-1"));
        let e = err(&ok.replace("sensor = \"kabul-1\"", "sensor = \"kabul-2\""));
        assert!(
            e.starts_with("line 12:") && e.contains("\"kabul-2\" is not a [[sensor]]"),
            "{e}"
        );
        let e = err(&ok.replace("type = \"beast\"", "type = \"sbs\""));
        assert!(e.contains("carries no receiver timestamps"), "{e}");
    }
}
