//! The files for the other side's own tools, written one incident at a time (so a
//! period of any length needs the memory of one incident): `incidents.csv`,
//! `incidents.geojson` and `incidents.kml`.

use std::io::{self, Write};

use skyfence_core::detect::Incident;

use crate::model::TrackPoint;

/// `incidents.csv`'s columns, in order.
pub const CSV_HEADER: [&str; 26] = [
    "id",
    "zone",
    "target_kind",
    "target_id",
    "callsign",
    "category",
    "classification",
    "authorised",
    "permit",
    "status",
    "entry_observed",
    "entered_at",
    "exited_at",
    "last_seen_at",
    "entry_lat",
    "entry_lon",
    "entry_alt_ft",
    "exit_lat",
    "exit_lon",
    "exit_alt_ft",
    "duration_s",
    "max_depth_m",
    "max_alt_ft",
    "reports",
    "bundle",
    "bundle_sha256",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One incident's CSV fields, in [`CSV_HEADER`] order.
pub fn csv_row(i: &Incident, bundle: &str, sha256: &str) -> Vec<String> {
    let category = serde_json::to_value(i.target)
        .ok()
        .and_then(|v| {
            v.get("category")
                .and_then(|c| c.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    vec![
        i.id.to_string(),
        i.zone.clone(),
        i.target.id.kind().as_str().to_owned(),
        i.target.id.to_string(),
        opt(i.target.callsign.map(|c| c.as_str().trim().to_owned())),
        category,
        i.classification.as_str().to_owned(),
        i.authorised.to_string(),
        i.permit.clone().unwrap_or_default(),
        serde_json::to_value(i.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        i.entry_observed.to_string(),
        i.entered_at.to_rfc3339_millis(),
        opt(i.exited_at.map(|t| t.to_rfc3339_millis())),
        i.last_seen_at.to_rfc3339_millis(),
        format!("{:.6}", i.entry.lat),
        format!("{:.6}", i.entry.lon),
        opt(i.entry.alt_ft),
        opt(i.exit.map(|e| format!("{:.6}", e.lat))),
        opt(i.exit.map(|e| format!("{:.6}", e.lon))),
        opt(i.exit.and_then(|e| e.alt_ft)),
        format!("{:.1}", i.duration_s),
        format!("{:.1}", i.max_depth_m),
        opt(i.max_alt_ft),
        i.reports.to_string(),
        bundle.to_owned(),
        sha256.to_owned(),
    ]
}

/// Escapes text for XML content and attributes.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The three table files, streamed: [`Tables::add`] one incident at a time, then
/// [`Tables::finish`].
pub struct Tables<C: Write, G: Write, K: Write> {
    csv: csv::Writer<C>,
    geojson: G,
    kml: K,
    first: bool,
}

impl<C: Write, G: Write, K: Write> Tables<C, G, K> {
    /// Starts the three files (headers).
    pub fn new(csv_out: C, mut geojson: G, mut kml: K) -> io::Result<Self> {
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(csv_out);
        csv.write_record(CSV_HEADER).map_err(io::Error::other)?;
        geojson.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
        kml.write_all(
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n<name>skyfence dossier</name>\n\
<Style id=\"unauthorised\"><LineStyle><color>ff2020d0</color><width>2</width></LineStyle>\
<IconStyle><color>ff2020d0</color></IconStyle></Style>\n\
<Style id=\"authorised\"><LineStyle><color>ff40a040</color><width>2</width></LineStyle>\
<IconStyle><color>ff40a040</color></IconStyle></Style>\n",
        )?;
        Ok(Tables {
            csv,
            geojson,
            kml,
            first: true,
        })
    }

    /// Adds one incident: its CSV row, its entry point and track as GeoJSON Features,
    /// and a KML Folder with both.
    pub fn add(
        &mut self,
        i: &Incident,
        bundle: &str,
        sha256: &str,
        track: &[TrackPoint],
    ) -> io::Result<()> {
        use serde_json::json;
        self.csv
            .write_record(csv_row(i, bundle, sha256))
            .map_err(io::Error::other)?;

        let r6 = |v: f64| (v * 1e6).round() / 1e6;
        let props = json!({
            "id": i.id.to_string(),
            "zone": i.zone,
            "target": i.target.id.to_string(),
            "classification": i.classification.as_str(),
            "authorised": i.authorised,
            "entered_at": i.entered_at.to_rfc3339_millis(),
            "bundle": bundle,
        });
        let mut entry_props = props.clone();
        entry_props["role"] = json!("entry");
        entry_props["alt_ft"] = json!(i.entry.alt_ft);
        let entry = json!({"type": "Feature", "properties": entry_props,
            "geometry": {"type": "Point", "coordinates": [r6(i.entry.lon), r6(i.entry.lat)]}});
        let mut track_props = props;
        track_props["role"] = json!("track");
        let coords: Vec<serde_json::Value> = track
            .iter()
            .map(|p| match p.alt_m {
                Some(a) => json!([p.lon, p.lat, a]),
                None => json!([p.lon, p.lat]),
            })
            .collect();
        let line = json!({"type": "Feature", "properties": track_props,
            "geometry": {"type": "LineString", "coordinates": coords}});
        if !self.first {
            self.geojson.write_all(b",")?;
        }
        self.first = false;
        self.geojson.write_all(b"\n")?;
        serde_json::to_writer(&mut self.geojson, &entry)?;
        self.geojson.write_all(b",\n")?;
        serde_json::to_writer(&mut self.geojson, &line)?;

        let style = if i.authorised {
            "authorised"
        } else {
            "unauthorised"
        };
        let name = xml_escape(&format!(
            "{} {} {}",
            i.id,
            i.zone,
            i.entered_at.to_rfc3339_millis()
        ));
        let desc = xml_escape(&format!(
            "target {} ({}), {}, entered {}, {:.0} s, depth {:.0} m, bundle {}",
            i.target.id,
            i.classification.as_str(),
            if i.authorised {
                "authorised"
            } else {
                "unauthorised"
            },
            i.entered_at.to_rfc3339_millis(),
            i.duration_s,
            i.max_depth_m,
            bundle
        ));
        write!(
            self.kml,
            "<Folder><name>{name}</name><description>{desc}</description>\n\
<Placemark><name>entry {id}</name><styleUrl>#{style}</styleUrl><TimeStamp><when>{at}</when></TimeStamp>\
<Point><coordinates>{lon:.6},{lat:.6}</coordinates></Point></Placemark>\n",
            id = i.id,
            at = i.entered_at.to_rfc3339_millis(),
            lon = i.entry.lon,
            lat = i.entry.lat,
        )?;
        if track.len() >= 2 {
            let with_alt = track.iter().all(|p| p.alt_m.is_some());
            write!(
                self.kml,
                "<Placemark><name>track {}</name><styleUrl>#{style}</styleUrl><LineString><altitudeMode>{}</altitudeMode><coordinates>",
                i.id,
                if with_alt {
                    "absolute"
                } else {
                    "clampToGround"
                }
            )?;
            for p in track {
                match p.alt_m {
                    Some(a) if with_alt => write!(self.kml, "{},{},{} ", p.lon, p.lat, a)?,
                    _ => write!(self.kml, "{},{} ", p.lon, p.lat)?,
                }
            }
            self.kml
                .write_all(b"</coordinates></LineString></Placemark>\n")?;
        }
        self.kml.write_all(b"</Folder>\n")?;
        Ok(())
    }

    /// Ends the three files and returns their writers.
    pub fn finish(mut self) -> io::Result<(C, G, K)> {
        self.geojson.write_all(b"\n]}\n")?;
        self.kml.write_all(b"</Document>\n</kml>\n")?;
        let csv = self.csv.into_inner().map_err(|e| e.into_error())?;
        Ok((csv, self.geojson, self.kml))
    }
}
