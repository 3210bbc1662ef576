//! The bundle's renderings: `report.html` (self-contained: inline SVG and CSS, no script,
//! no external URL), `track.kml` (OGC KML 2.2) and `track.geojson` (RFC 7946).
//!
//! Every rendering is a pure function of the bundle's verified content, with numbers
//! printed at fixed precision, so `skyfence verify` can render again and compare bytes.

use std::fmt::Write as _;

use skyfence_core::Timestamp;
use skyfence_core::airspace::{Zone, multipolygon_geometry};
use skyfence_core::detect::TrackPoint;
use skyfence_core::detect::{Fix, Incident, IncidentStatus};
use skyfence_evidence::{VerifierKey, to_hex};

use super::archive::LogInfo;

/// The renderer's name and version, recorded in the manifest. Bump the number whenever
/// any rendering's bytes change for the same content: a verifier re-draws and compares
/// the renderings only when the bundle names the same renderer (another government's
/// verifier may be built from another release).
pub const RENDERER: &str = "skyfence-render/1";

/// Metres per foot (exact, international foot).
const M_PER_FT: f64 = 0.3048;
/// Metres per degree of latitude on a sphere of the WGS-84 mean radius; the map is a
/// local drawing, not a survey, so the spherical scale is enough.
const M_PER_DEG: f64 = 6_371_008.8 * std::f64::consts::PI / 180.0;

/// One row of the timeline table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineRow {
    /// When.
    pub at: Timestamp,
    /// The log leaf it comes from (`u64::MAX` for rows computed from the incident).
    pub leaf: u64,
    /// What happened.
    pub what: String,
    /// Details.
    pub detail: String,
}

/// A declared sensor's change of state, from its log leaf (kind 0x09).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensorChange {
    /// The leaf's index.
    pub leaf: u64,
    /// When the state changed.
    pub at: Timestamp,
    /// The sensor's name.
    pub sensor: String,
    /// Its type (`radar`, `tracker`, `adsb`, `modes`).
    pub sensor_type: String,
    /// `true`: it came up; `false`: it went down.
    pub up: bool,
    /// Its last record before the change.
    pub last_heard: Timestamp,
}

/// One sensor over an incursion, from its changes of state: its state at the entry and
/// the intervals of the incursion during which it was down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SensorCoverage {
    /// The sensor's name.
    pub sensor: String,
    /// Its type.
    pub sensor_type: String,
    /// Its state when the incursion began: `Some(true)` up, `Some(false)` down, `None`
    /// when the bundle holds no change of it at or before the entry.
    pub at_entry: Option<bool>,
    /// The intervals `[from, to]` within the incursion during which it was down (or, for
    /// a sensor whose state at the entry is unknown, not yet up), by time.
    pub down: Vec<(Timestamp, Timestamp)>,
}

impl SensorCoverage {
    /// The sensor's state over the incursion in one plain sentence.
    pub fn statement(&self, entered: Timestamp, end: Timestamp) -> String {
        let span = end.secs_since(entered).max(0.0);
        let whole = self.down.len() == 1 && self.down[0] == (entered, end);
        if whole {
            return format!("DOWN for the whole incursion ({span:.1} s): it saw nothing of it");
        }
        if self.down.is_empty() {
            return match self.at_entry {
                Some(true) => "up for the whole incursion".into(),
                _ => "up for the whole incursion (its state before the entry is not in the bundle)"
                    .into(),
            };
        }
        let gap: f64 = self.down.iter().map(|(a, b)| b.secs_since(*a)).sum();
        format!(
            "DOWN during the incursion: {} (coverage gap of {gap:.1} s of {span:.1} s)",
            self.down
                .iter()
                .map(|(a, b)| format!(
                    "from {} to {}",
                    a.to_rfc3339_millis(),
                    b.to_rfc3339_millis()
                ))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

/// Each sensor's coverage of the incursion `[entered, end]` from `changes`, by sensor name.
/// A sensor whose first change in the bundle comes after the entry and says `up` was
/// not up before it (the log records `up` only for a sensor down or never heard).
pub fn sensor_coverage(
    changes: &[SensorChange],
    entered: Timestamp,
    end: Timestamp,
) -> Vec<SensorCoverage> {
    let mut by_sensor: std::collections::BTreeMap<&str, Vec<&SensorChange>> = Default::default();
    for c in changes {
        by_sensor.entry(c.sensor.as_str()).or_default().push(c);
    }
    let end = end.max(entered);
    by_sensor
        .into_iter()
        .map(|(name, mut cs)| {
            cs.sort_by_key(|c| (c.at, c.leaf));
            let at_entry = cs.iter().rev().find(|c| c.at <= entered).map(|c| c.up);
            let mut up = at_entry.unwrap_or(false);
            let mut since = entered;
            let mut down = Vec::new();
            for c in cs.iter().filter(|c| c.at > entered && c.at <= end) {
                if c.up != up {
                    if !up {
                        down.push((since, c.at));
                    }
                    up = c.up;
                    since = c.at;
                }
            }
            if !up {
                down.push((since, end));
            }
            SensorCoverage {
                sensor: name.to_owned(),
                sensor_type: cs.last().map_or(String::new(), |c| c.sensor_type.clone()),
                at_entry,
                down,
            }
        })
        .collect()
}

/// Everything a rendering shows.
pub struct RenderInput<'a> {
    /// The incident.
    pub incident: &'a Incident,
    /// Its zone.
    pub zone: &'a Zone,
    /// The target's accepted positions.
    pub track: &'a [TrackPoint],
    /// State changes and acknowledgements from the log.
    pub timeline: Vec<TimelineRow>,
    /// Number of raw records (frames).
    pub frames: usize,
    /// Raw records per protocol name (`modes`, `remoteid`, ...), by name.
    pub protocols: Vec<(String, usize)>,
    /// Sensors that heard them.
    pub sensors: Vec<String>,
    /// The log and checkpoint.
    pub log: &'a LogInfo,
    /// Signature lines on the checkpoint: `name (keyid)`.
    pub signers: Vec<String>,
    /// Export time.
    pub exported_at: &'a str,
    /// The sensors' changes of state the bundle holds (kind 0x09 leaves; none before
    /// format 4), by index.
    pub sensor_changes: Vec<SensorChange>,
    /// The bundle format version: format 1 renders exactly as it always did (a verifier
    /// compares the bytes); format 2 adds the target kind and id to the GeoJSON track and
    /// the protocols to the report's evidence row.
    pub version: u32,
}

/// Escapes text for HTML and XML content and attributes.
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
}

fn fix_text(f: &Fix) -> String {
    format!(
        "{:.6}, {:.6}{}",
        f.lat,
        f.lon,
        f.alt_ft.map(|a| format!(", {a} ft")).unwrap_or_default()
    )
}

/// The SHA-256 of the log's raw Ed25519 public key, in groups of four hex digits: the
/// fingerprint to read out over the phone when pinning the key.
pub fn key_fingerprint(vkey: &str) -> String {
    use sha2::Digest;
    match VerifierKey::parse(vkey) {
        Ok(k) => {
            let hex = to_hex(&sha2::Sha256::digest(k.public_key().as_bytes()));
            hex.as_bytes()
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        }
        Err(_) => "(unreadable key)".into(),
    }
}

/// A local flat projection centred on the area of interest: metres east and north.
struct Projection {
    lat0: f64,
    lon0: f64,
    cos0: f64,
}

impl Projection {
    fn xy(&self, lon: f64, lat: f64) -> (f64, f64) {
        let mut dlon = lon - self.lon0;
        if dlon > 180.0 {
            dlon -= 360.0;
        } else if dlon < -180.0 {
            dlon += 360.0;
        }
        (dlon * self.cos0 * M_PER_DEG, (lat - self.lat0) * M_PER_DEG)
    }
}

/// The drawing area: projected bounds and the mapping to SVG pixels.
struct View {
    proj: Projection,
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
    scale: f64,
    width: f64,
    height: f64,
    pad: f64,
}

impl View {
    fn new(points: &[(f64, f64)], width: f64, height: f64) -> View {
        let (mut lat_lo, mut lat_hi, mut lon_lo, mut lon_hi) =
            (90.0f64, -90.0f64, 180.0f64, -180.0f64);
        for &(lon, lat) in points {
            lat_lo = lat_lo.min(lat);
            lat_hi = lat_hi.max(lat);
            lon_lo = lon_lo.min(lon);
            lon_hi = lon_hi.max(lon);
        }
        if points.is_empty() {
            (lat_lo, lat_hi, lon_lo, lon_hi) = (0.0, 0.0, 0.0, 0.0);
        }
        let lat0 = (lat_lo + lat_hi) / 2.0;
        let proj = Projection {
            lat0,
            lon0: (lon_lo + lon_hi) / 2.0,
            cos0: lat0.to_radians().cos(),
        };
        let (x0, y0) = proj.xy(lon_lo, lat_lo);
        let (x1, y1) = proj.xy(lon_hi, lat_hi);
        // At least 10 km across; 15 % margin around the track.
        let half_w = ((x1 - x0).abs() / 2.0 * 1.15).max(5_000.0);
        let half_h = ((y1 - y0).abs() / 2.0 * 1.15).max(5_000.0);
        let pad = 24.0;
        let scale =
            ((width - 2.0 * pad) / (2.0 * half_w)).min((height - 2.0 * pad) / (2.0 * half_h));
        let half_w = (width - 2.0 * pad) / scale / 2.0;
        let half_h = (height - 2.0 * pad) / scale / 2.0;
        View {
            proj,
            min_x: -half_w,
            min_y: -half_h,
            max_x: half_w,
            max_y: half_h,
            scale,
            width,
            height,
            pad,
        }
    }

    fn px(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (
            self.pad + (x - self.min_x) * self.scale,
            self.height - self.pad - (y - self.min_y) * self.scale,
        )
    }

    fn lonlat_px(&self, lon: f64, lat: f64) -> (f64, f64) {
        self.px(self.proj.xy(lon, lat))
    }
}

/// Sutherland–Hodgman clipping of a ring to an axis-aligned rectangle (for the fill).
fn clip_ring(ring: &[(f64, f64)], r: (f64, f64, f64, f64)) -> Vec<(f64, f64)> {
    let (x0, y0, x1, y1) = r;
    let mut out: Vec<(f64, f64)> = ring.to_vec();
    type Inside = fn(&(f64, f64), f64) -> bool;
    let edges: [(Inside, f64, bool); 4] = [
        (|p, v| p.0 >= v, x0, true),
        (|p, v| p.0 <= v, x1, true),
        (|p, v| p.1 >= v, y0, false),
        (|p, v| p.1 <= v, y1, false),
    ];
    for (inside, v, vertical) in edges {
        let input = std::mem::take(&mut out);
        let Some(&last) = input.last() else { break };
        let mut prev = last;
        for &cur in &input {
            let cross = |a: (f64, f64), b: (f64, f64)| {
                if vertical {
                    let t = (v - a.0) / (b.0 - a.0);
                    (v, a.1 + t * (b.1 - a.1))
                } else {
                    let t = (v - a.1) / (b.1 - a.1);
                    (a.0 + t * (b.0 - a.0), v)
                }
            };
            match (inside(&cur, v), inside(&prev, v)) {
                (true, true) => out.push(cur),
                (true, false) => {
                    out.push(cross(prev, cur));
                    out.push(cur);
                }
                (false, true) => out.push(cross(prev, cur)),
                (false, false) => {}
            }
            prev = cur;
        }
    }
    out
}

fn rings(zone: &Zone) -> impl Iterator<Item = &geo_types::LineString<f64>> {
    zone.shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
}

/// When the incursion ended, for colouring the track and shading the profile: the exit,
/// the last report inside of a lost incident, or for an incident still open the end of
/// the track (the bundle may hold frames after its latest logged state).
fn incursion_end(input: &RenderInput<'_>) -> Timestamp {
    incursion_end_of(input.incident, input.track)
}

/// When the incursion ended as the renderings draw it: the exit of a closed incident,
/// the last report of a lost one, the latest position of one still open.
pub fn incursion_end_of(inc: &Incident, track: &[TrackPoint]) -> Timestamp {
    match inc.status {
        IncidentStatus::Closed => inc.exited_at.unwrap_or(inc.last_seen_at),
        IncidentStatus::Lost => inc.last_seen_at,
        IncidentStatus::Open => track
            .last()
            .map_or(inc.last_seen_at, |p| p.at.max(inc.last_seen_at)),
    }
}

/// The sensors' down intervals within the incursion, by sensor then time.
fn coverage_gaps(input: &RenderInput<'_>) -> Vec<(String, (Timestamp, Timestamp))> {
    sensor_coverage(
        &input.sensor_changes,
        input.incident.entered_at,
        incursion_end(input),
    )
    .into_iter()
    .flat_map(|c| c.down.into_iter().map(move |d| (c.sensor.clone(), d)))
    .collect()
}

/// The report's sensor section: each declared sensor's state at the entry and over the
/// incursion, and any coverage gap stated plainly. Empty when the bundle holds no sensor
/// state leaf (bundles before format 4, deployments without declared sensors).
fn sensors_html(input: &RenderInput<'_>) -> String {
    if input.sensor_changes.is_empty() {
        return String::new();
    }
    let entered = input.incident.entered_at;
    let end = incursion_end(input);
    let coverage = sensor_coverage(&input.sensor_changes, entered, end);
    let mut s = String::from(
        "<h2>Sensors during the incursion</h2><table class=\"timeline\"><tr><th>Sensor</th><th>Type</th><th>At entry</th><th>Over the incursion</th></tr>",
    );
    for c in &coverage {
        let gap = !c.down.is_empty();
        let _ = write!(
            s,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td{}>{}</td></tr>",
            escape(&c.sensor),
            escape(&c.sensor_type),
            match c.at_entry {
                Some(true) => "up",
                Some(false) => "<b>down</b>",
                None => "not in the bundle",
            },
            if gap {
                " style=\"color:#a12a1f;font-weight:600\""
            } else {
                ""
            },
            escape(&c.statement(entered, end)),
        );
    }
    s.push_str("</table>");
    let gaps: Vec<&SensorCoverage> = coverage.iter().filter(|c| !c.down.is_empty()).collect();
    if gaps.is_empty() {
        s.push_str(
            "<p>Every declared sensor in this bundle was up from the entry to the end of the incursion (its sensor state leaves are below).</p>",
        );
    } else {
        for c in gaps {
            let _ = write!(
                s,
                "<p style=\"color:#a12a1f;font-weight:600\">Coverage gap: {} {} was {}. What it did not see is absent from its records; the gap is hatched grey on the altitude profile.</p>",
                escape(&c.sensor_type),
                escape(&c.sensor),
                escape(&c.statement(entered, end).replacen("DOWN", "down", 1)),
            );
        }
    }
    s
}

/// Text attributes of map labels: dark, with a white halo so they read over any line.
const LABEL: &str = "font-size=\"13\" font-weight=\"600\" fill=\"#1f2d3a\" stroke=\"#ffffff\" stroke-width=\"3\" paint-order=\"stroke\"";

/// `HH:MM:SS.mmmZ` of a time (the date is in the figures table).
fn clock_time(t: Timestamp) -> String {
    let s = t.to_rfc3339_millis();
    s.split_once('T').map_or(s.clone(), |(_, c)| c.to_owned())
}

/// Latitude and longitude ticks along the frame's left and top edges, at a round step,
/// so a reader can place the drawing on any other map.
fn graticule(view: &View, s: &mut String) {
    let m_per_deg_lon = view.proj.cos0 * M_PER_DEG;
    let lon_lo = view.proj.lon0 + view.min_x / m_per_deg_lon;
    let lon_hi = view.proj.lon0 + view.max_x / m_per_deg_lon;
    let lat_lo = view.proj.lat0 + view.min_y / M_PER_DEG;
    let lat_hi = view.proj.lat0 + view.max_y / M_PER_DEG;
    let step = [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
        .into_iter()
        .find(|&st| (lon_hi - lon_lo) / st <= 6.0 && (lat_hi - lat_lo) / st <= 6.0)
        .unwrap_or(10.0);
    let decimals = if step < 0.1 {
        2
    } else if step < 1.0 {
        1
    } else {
        0
    };
    let mut lon = (lon_lo / step).ceil() * step;
    while lon <= lon_hi {
        let (x, _) = view.lonlat_px(lon, view.proj.lat0);
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{y1}\" stroke=\"#5b6b7a\"/>\
             <text x=\"{x:.1}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6b7a\">{lon:.decimals$}°E</text>",
            y0 = view.pad,
            y1 = view.pad + 6.0,
            ty = view.pad + 18.0,
        );
        lon += step;
    }
    let mut lat = (lat_lo / step).ceil() * step;
    while lat <= lat_hi {
        let (_, y) = view.lonlat_px(view.proj.lon0, lat);
        let _ = write!(
            s,
            "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{x1}\" y2=\"{y:.1}\" stroke=\"#5b6b7a\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"11\" fill=\"#5b6b7a\">{lat:.decimals$}°N</text>",
            x0 = view.pad,
            x1 = view.pad + 6.0,
            tx = view.pad + 9.0,
            ty = y + 4.0,
        );
        lat += step;
    }
}

/// A "nice" scale-bar length (1, 2 or 5 × 10^n metres) near a quarter of the width.
fn nice_length(max_m: f64) -> f64 {
    let target = max_m / 4.0;
    let exp = 10f64.powf(target.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * exp)
        .find(|&v| v <= target)
        .unwrap_or(exp)
}

fn map_svg(input: &RenderInput<'_>) -> String {
    let inc = input.incident;
    let mut pts: Vec<(f64, f64)> = input.track.iter().map(|p| (p.lon, p.lat)).collect();
    pts.push((inc.entry.lon, inc.entry.lat));
    if let Some(e) = &inc.exit {
        pts.push((e.lon, e.lat));
    }
    // A Remote ID drone's operator stands in the picture too.
    if let Some(op) = &inc.operator {
        pts.push((op.lon, op.lat));
        pts.extend(op.track.iter().map(|p| (p.lon, p.lat)));
    }
    let view = View::new(&pts, 880.0, 560.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Track of the target against the border of zone {zone}\">\
         <defs><clipPath id=\"frame\"><rect x=\"{p}\" y=\"{p}\" width=\"{iw:.1}\" height=\"{ih:.1}\"/></clipPath></defs>\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#f4f6f8\"/>\
         <rect x=\"{p}\" y=\"{p}\" width=\"{iw:.1}\" height=\"{ih:.1}\" fill=\"#ffffff\" stroke=\"#b8c2cc\"/>\
         <g clip-path=\"url(#frame)\">",
        w = view.width,
        h = view.height,
        p = view.pad,
        iw = view.width - 2.0 * view.pad,
        ih = view.height - 2.0 * view.pad,
        zone = escape(&inc.zone),
    );
    // The zone, filled (clipped to a little beyond the frame) with holes by even-odd.
    let margin = (view.max_x - view.min_x) * 0.05;
    let rect = (
        view.min_x - margin,
        view.min_y - margin,
        view.max_x + margin,
        view.max_y + margin,
    );
    let mut fill = String::new();
    let mut border = String::new();
    for ring in rings(input.zone) {
        let proj: Vec<(f64, f64)> = ring.0.iter().map(|c| view.proj.xy(c.x, c.y)).collect();
        let clipped = clip_ring(&proj, rect);
        if clipped.len() >= 3 {
            for (i, &p) in clipped.iter().enumerate() {
                let (x, y) = view.px(p);
                let _ = write!(fill, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
            }
            fill.push('Z');
        }
        // The border line: only the edges that touch the drawing area.
        let mut pen_down = false;
        for w in proj.windows(2) {
            let (a, b) = (w[0], w[1]);
            let touches = a.0.max(b.0) >= rect.0
                && a.0.min(b.0) <= rect.2
                && a.1.max(b.1) >= rect.1
                && a.1.min(b.1) <= rect.3;
            if touches {
                if !pen_down {
                    let (x, y) = view.px(a);
                    let _ = write!(border, "M{x:.1},{y:.1}");
                }
                let (x, y) = view.px(b);
                let _ = write!(border, "L{x:.1},{y:.1}");
            }
            pen_down = touches;
        }
    }
    if !fill.is_empty() {
        let _ = write!(
            s,
            "<path d=\"{fill}\" fill=\"#d64545\" fill-opacity=\"0.10\" fill-rule=\"evenodd\" stroke=\"none\"/>"
        );
    }
    if !border.is_empty() {
        let _ = write!(
            s,
            "<path d=\"{border}\" fill=\"none\" stroke=\"#b02a2a\" stroke-width=\"2\" stroke-dasharray=\"8 4\"/>"
        );
    }
    // The track: outside the incursion grey, inside red.
    let end = incursion_end(input);
    let mut outside = String::new();
    let mut inside = String::new();
    for w in input.track.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let in_incursion = a.at >= inc.entered_at && b.at <= end;
        let (x0, y0) = view.lonlat_px(a.lon, a.lat);
        let (x1, y1) = view.lonlat_px(b.lon, b.lat);
        let target = if in_incursion {
            &mut inside
        } else {
            &mut outside
        };
        let _ = write!(target, "M{x0:.1},{y0:.1}L{x1:.1},{y1:.1}");
    }
    if !outside.is_empty() {
        let _ = write!(
            s,
            "<path d=\"{outside}\" fill=\"none\" stroke=\"#5b6b7a\" stroke-width=\"2\" stroke-linecap=\"round\"/>"
        );
    }
    if !inside.is_empty() {
        let _ = write!(
            s,
            "<path d=\"{inside}\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"3\" stroke-linecap=\"round\"/>"
        );
    }
    // Each decoded report, coloured like its segment.
    for p in input.track {
        let (x, y) = view.lonlat_px(p.lon, p.lat);
        let inside = p.at >= inc.entered_at && p.at <= end;
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"1.3\" fill=\"{}\"/>",
            if inside { "#8e1f14" } else { "#33414e" }
        );
    }
    // Entry: a red ring, label above left; exit: a green dot, label below right (they
    // are often close together when a target leaves where it came in). A label that
    // would leave the frame goes to the other side of its mark.
    const LABEL_WIDTH_PX: f64 = 175.0;
    let (x, y) = view.lonlat_px(inc.entry.lon, inc.entry.lat);
    let (tx, anchor) = if x - 12.0 - LABEL_WIDTH_PX < view.pad {
        (x + 12.0, "start")
    } else {
        (x - 12.0, "end")
    };
    let _ = write!(
        s,
        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"9\" fill=\"none\" stroke=\"#c0392b\" stroke-width=\"3\"/>\
         <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"{anchor}\" {LABEL}>ENTRY {t}</text>",
        ty = y - 10.0,
        t = clock_time(inc.entered_at),
    );
    if let (Some(e), Some(at)) = (&inc.exit, inc.exited_at) {
        let (x, y) = view.lonlat_px(e.lon, e.lat);
        let (tx, anchor) = if x + 12.0 + LABEL_WIDTH_PX > view.width - view.pad {
            (x - 12.0, "end")
        } else {
            (x + 12.0, "start")
        };
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"5\" fill=\"#1e7e34\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" text-anchor=\"{anchor}\" {LABEL}>EXIT {t}</text>",
            ty = y + 20.0,
            t = clock_time(at),
        );
    }
    if let Some(op) = &inc.operator {
        operator_svg(&view, op, (inc.entry.lon, inc.entry.lat), &mut s);
    }
    graticule(&view, &mut s);
    s.push_str("</g>");
    // Scale bar (bottom left) and north arrow (top right).
    let bar_m = nice_length(view.max_x - view.min_x);
    let bar_px = bar_m * view.scale;
    let (bx, by) = (view.pad + 16.0, view.height - view.pad - 18.0);
    let label = if bar_m >= 1000.0 {
        format!("{} km", bar_m / 1000.0)
    } else {
        format!("{bar_m} m")
    };
    let _ = write!(
        s,
        "<g font-size=\"12\" fill=\"#1f2d3a\"><rect x=\"{px:.1}\" y=\"{py:.1}\" width=\"{pw:.1}\" height=\"30\" rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.85\"/>\
         <rect x=\"{bx}\" y=\"{by}\" width=\"{bar_px:.1}\" height=\"6\" fill=\"#1f2d3a\"/>\
         <rect x=\"{bx}\" y=\"{by}\" width=\"{half:.1}\" height=\"6\" fill=\"#ffffff\" stroke=\"#1f2d3a\"/>\
         <text x=\"{bx}\" y=\"{ty}\">0</text><text x=\"{ex:.1}\" y=\"{ty}\" text-anchor=\"end\">{label}</text></g>",
        half = bar_px / 2.0,
        ty = by - 4.0,
        ex = bx + bar_px,
        px = bx - 8.0,
        py = by - 18.0,
        pw = bar_px + 16.0,
    );
    let (nx, ny) = (view.width - view.pad - 28.0, view.pad + 14.0);
    let _ = write!(
        s,
        "<g><rect x=\"{rx}\" y=\"{ry}\" width=\"32\" height=\"54\" rx=\"3\" fill=\"#ffffff\" fill-opacity=\"0.85\"/>\
         <path d=\"M{nx},{ny}l-9,26l9,-7l9,7z\" fill=\"#1f2d3a\"/>\
         <text x=\"{nx}\" y=\"{ty}\" font-size=\"13\" font-weight=\"700\" text-anchor=\"middle\" fill=\"#1f2d3a\">N</text></g>",
        ty = ny + 42.0,
        rx = nx - 16.0,
        ry = ny - 6.0,
    );
    s.push_str("</svg>");
    s
}

/// A Remote ID drone's operator on the map: where they stood over time (a teal line
/// through the track's points), their latest position (a teal square, labelled) and a
/// dashed line from there to where the drone entered the zone.
fn operator_svg(view: &View, op: &skyfence_core::OperatorFix, entry: (f64, f64), s: &mut String) {
    const OPERATOR: &str = "#1f8a70";
    let (ox, oy) = view.lonlat_px(op.lon, op.lat);
    let (ex, ey) = view.lonlat_px(entry.0, entry.1);
    let _ = write!(
        s,
        "<path d=\"M{ox:.1},{oy:.1}L{ex:.1},{ey:.1}\" fill=\"none\" stroke=\"{OPERATOR}\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>"
    );
    if op.track.len() > 1 {
        let mut d = String::new();
        for (i, p) in op
            .track
            .iter()
            .chain(std::iter::once(&skyfence_core::OperatorPoint {
                lat: op.lat,
                lon: op.lon,
                at: op.at,
            }))
            .enumerate()
        {
            let (x, y) = view.lonlat_px(p.lon, p.lat);
            let _ = write!(d, "{}{x:.1},{y:.1}", if i == 0 { "M" } else { "L" });
        }
        let _ = write!(
            s,
            "<path class=\"operator-track\" d=\"{d}\" fill=\"none\" stroke=\"{OPERATOR}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>"
        );
        for p in &op.track {
            let (x, y) = view.lonlat_px(p.lon, p.lat);
            let _ = write!(
                s,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"2\" fill=\"{OPERATOR}\"/>"
            );
        }
    }
    let _ = write!(
        s,
        "<rect class=\"operator\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"10\" height=\"10\" fill=\"{OPERATOR}\" stroke=\"#ffffff\" stroke-width=\"1.5\"/>\
         <text x=\"{tx:.1}\" y=\"{ty:.1}\" {LABEL}>OPERATOR {t}</text>",
        x = ox - 5.0,
        y = oy - 5.0,
        tx = ox + 9.0,
        ty = oy + 18.0,
        t = clock_time(op.at),
    );
}

fn profile_svg(input: &RenderInput<'_>) -> String {
    let inc = input.incident;
    let (w, h) = (880.0, 260.0);
    let (left, right, top, bottom) = (64.0, 16.0, 16.0, 36.0);
    let alts: Vec<(Timestamp, i32)> = input
        .track
        .iter()
        .filter_map(|p| p.alt_ft.map(|a| (p.at, a)))
        .collect();
    let t0 = input
        .track
        .first()
        .map_or(inc.entered_at, |p| p.at.min(inc.entered_at));
    let t1 = input.track.last().map_or(inc.last_seen_at, |p| {
        p.at.max(inc.exited_at.unwrap_or(inc.last_seen_at))
    });
    let span = (t1.secs_since(t0)).max(1.0);
    let mut hi = alts.iter().map(|&(_, a)| a).max().unwrap_or(1000).max(1000) as f64;
    let lo_data = alts.iter().map(|&(_, a)| a).min().unwrap_or(0).min(0) as f64;
    let z = input.zone;
    for limit in [z.floor_ft, z.ceiling_ft].into_iter().flatten() {
        // Limits far above the track (e.g. "FL660") would flatten it: shown when near.
        if f64::from(limit) <= hi * 1.5 {
            hi = hi.max(f64::from(limit));
        }
    }
    let hi = hi * 1.08;
    let lo = lo_data;
    let x = |t: Timestamp| left + t.secs_since(t0) / span * (w - left - right);
    let y = |a: f64| top + (hi - a) / (hi - lo).max(1.0) * (h - top - bottom);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"profile\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"Altitude profile\">\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>"
    );
    // The incursion interval.
    let end = incursion_end(input);
    let _ = write!(
        s,
        "<rect x=\"{x0:.1}\" y=\"{top}\" width=\"{iw:.1}\" height=\"{ih:.1}\" fill=\"#d64545\" fill-opacity=\"0.10\"/>",
        x0 = x(inc.entered_at),
        iw = (x(end) - x(inc.entered_at)).max(1.0),
        ih = h - top - bottom,
    );
    // Coverage gaps: each interval a sensor was down, hatched grey, named.
    for (i, (name, (a, b))) in coverage_gaps(input).into_iter().enumerate() {
        let (a, b) = (a.max(t0), b.min(t1));
        if b < a {
            continue;
        }
        let _ = write!(
            s,
            "<rect x=\"{x0:.1}\" y=\"{top}\" width=\"{iw:.1}\" height=\"{ih:.1}\" fill=\"#5b6b7a\" fill-opacity=\"0.22\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"11\" fill=\"#3d4a57\">{label}</text>",
            x0 = x(a),
            iw = (x(b) - x(a)).max(1.0),
            ih = h - top - bottom,
            tx = x(a) + 3.0,
            ty = top + 26.0 + 13.0 * (i % 4) as f64,
            label = escape(&format!("{name} down")),
        );
    }
    // Axes and grid.
    let step = nice_length((hi - lo) * 4.0 / 5.0).max(100.0);
    let mut a = (lo / step).ceil() * step;
    while a <= hi {
        let yy = y(a);
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{x2}\" y2=\"{yy:.1}\" stroke=\"#e3e8ed\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6b7a\">{a:.0} ft</text>",
            x2 = w - right,
            tx = left - 6.0,
            ty = yy + 4.0,
        );
        a += step;
    }
    for (label, limit) in [("floor", z.floor_ft), ("ceiling", z.ceiling_ft)] {
        if let Some(l) = limit.map(f64::from).filter(|&l| l >= lo && l <= hi) {
            let yy = y(l);
            let _ = write!(
                s,
                "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{x2}\" y2=\"{yy:.1}\" stroke=\"#b02a2a\" stroke-dasharray=\"6 4\"/>\
                 <text x=\"{tx}\" y=\"{ty:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#b02a2a\">zone {label} {l:.0} ft</text>",
                x2 = w - right,
                tx = w - right - 4.0,
                ty = yy - 4.0,
            );
        }
    }
    let mut d = String::new();
    for (i, &(t, a)) in alts.iter().enumerate() {
        let _ = write!(
            d,
            "{}{:.1},{:.1}",
            if i == 0 { "M" } else { "L" },
            x(t),
            y(f64::from(a))
        );
    }
    if !d.is_empty() {
        let _ = write!(
            s,
            "<path d=\"{d}\" fill=\"none\" stroke=\"#1f4e79\" stroke-width=\"2\"/>"
        );
    }
    for (t, label, anchor, dx) in [
        (Some(inc.entered_at), "entry", "start", 4.0),
        (inc.exited_at, "exit", "end", -4.0),
    ] {
        if let Some(t) = t {
            let xx = x(t);
            let _ = write!(
                s,
                "<line x1=\"{xx:.1}\" y1=\"{top}\" x2=\"{xx:.1}\" y2=\"{yb}\" stroke=\"#c0392b\"/>\
                 <text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"{anchor}\" fill=\"#c0392b\">{label}</text>",
                yb = h - bottom,
                tx = xx + dx,
                ty = top + 12.0,
            );
        }
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{yb}\" x2=\"{x2}\" y2=\"{yb}\" stroke=\"#5b6b7a\"/>\
         <text x=\"{left}\" y=\"{ty}\" font-size=\"11\" fill=\"#5b6b7a\">{t0}</text>\
         <text x=\"{x2}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6b7a\">{t1}</text>\
         <text x=\"{mid}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6b7a\">time (UTC), {span:.0} s</text></svg>",
        yb = h - bottom,
        x2 = w - right,
        ty = h - bottom + 18.0,
        mid = (left + w - right) / 2.0,
        t0 = t0.to_rfc3339_millis(),
        t1 = t1.to_rfc3339_millis(),
    );
    s
}

const CSS: &str = "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif;color:#1f2d3a;background:#eef1f4;margin:0}\
main{max-width:920px;margin:0 auto;padding:24px 20px 40px;background:#fff;box-shadow:0 0 0 1px #dde3e9}\
header{border-bottom:3px solid #1f4e79;padding-bottom:12px;margin-bottom:18px}\
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px;color:#1f4e79;text-transform:uppercase;letter-spacing:.04em}\
.sub{color:#5b6b7a}.badge{display:inline-block;padding:2px 8px;border-radius:3px;font-weight:600;font-size:12px;margin-left:6px;vertical-align:middle}\
.bad{background:#fbe3e1;color:#a12a1f}.ok{background:#e1f3e6;color:#1e6b34}.neutral{background:#e6ecf2;color:#1f4e79}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e8ed;vertical-align:top}\
th{color:#5b6b7a;font-weight:600;width:30%}table.timeline th{width:auto;background:#f4f6f8}\
.grid{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}\
pre{background:#f4f6f8;padding:10px 12px;border-left:3px solid #1f4e79;white-space:pre-wrap;word-break:break-all;font-size:12.5px}\
.legend span{margin-right:16px;font-size:12px;color:#5b6b7a}.sw{display:inline-block;width:18px;height:4px;vertical-align:middle;margin-right:5px}\
svg{display:block;max-width:100%;height:auto;border:1px solid #dde3e9}footer{margin-top:28px;color:#5b6b7a;font-size:12px}";

/// The status with the logged state it comes from: for an incident still open, the
/// figures are those of its latest logged state change, while the track may go further.
fn status_text(input: &RenderInput<'_>, status: &str) -> String {
    let logged = input
        .timeline
        .iter()
        .rev()
        .find(|r| r.what != "acknowledged" && r.leaf != u64::MAX);
    match (input.incident.status, logged) {
        (IncidentStatus::Open, Some(r)) => format!(
            "open: figures as logged at its latest state change ({} at {}, leaf {}); the map and profile show every frame in the bundle",
            escape(&r.what),
            r.at.to_rfc3339_millis(),
            r.leaf
        ),
        _ => status.to_owned(),
    }
}

/// `report.html`.
pub fn report_html(input: &RenderInput<'_>) -> String {
    let inc = input.incident;
    let t = &inc.target;
    let status = inc.status.as_str();
    let classification = inc.classification.as_str();
    let mut s = String::with_capacity(64 * 1024);
    let title = format!(
        "Incursion into {} by {} ({})",
        inc.zone,
        t.callsign
            .map(|c| c.as_str().to_owned())
            .unwrap_or_else(|| t.id.to_string()),
        t.id
    );
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>{CSS}</style></head><body><main>\
         <header><h1>{title}<span class=\"badge {auth_class}\">{auth}</span><span class=\"badge neutral\">{status}</span></h1>\
         <div class=\"sub\">Incident <span class=\"mono\">{id}</span> · evidence bundle exported {exported}</div></header>",
        title = escape(&title),
        auth_class = if inc.authorised { "ok" } else { "bad" },
        auth = if inc.authorised {
            "AUTHORISED"
        } else {
            "UNAUTHORISED"
        },
        id = inc.id,
        exported = escape(input.exported_at),
    );
    let row = |k: &str, v: String| format!("<tr><th>{k}</th><td>{v}</td></tr>");
    // What a Remote ID drone said about itself and its operator (absent for others).
    let mut remoteid_rows = String::new();
    if let Some(r) = &inc.remoteid {
        remoteid_rows.push_str(&row("UA type", escape(&opt(r.ua_type.clone()))));
        if let Some(text) = &r.self_id {
            remoteid_rows.push_str(&row("Self-ID", escape(text)));
        }
        remoteid_rows.push_str(&row(
            "Authentication message",
            (if r.authentication {
                "present (signature not verified)"
            } else {
                "none heard"
            })
            .into(),
        ));
    }
    if let Some(op) = &inc.operator {
        remoteid_rows.push_str(&row(
            "Operator",
            escape(&format!(
                "{:.6}, {:.6} at {}{}",
                op.lat,
                op.lon,
                op.at.to_rfc3339_millis(),
                op.id
                    .as_ref()
                    .map_or(String::new(), |id| format!(", id {id}"))
            )),
        ));
        if op.track.len() > 1 {
            let points: Vec<String> = op
                .track
                .iter()
                .map(|p| {
                    escape(&format!(
                        "{:.6}, {:.6} from {}",
                        p.lat,
                        p.lon,
                        p.at.to_rfc3339_millis()
                    ))
                })
                .collect();
            remoteid_rows.push_str(&row("Operator track", points.join("<br>")));
        }
    }
    let _ = write!(
        s,
        "<div class=\"grid\"><section><h2>Identity</h2><table>{}{}{}{}{}{remoteid_rows}</table></section>",
        row(
            match t.id.kind() {
                skyfence_core::TargetKind::Icao => "ICAO address",
                skyfence_core::TargetKind::RemoteId => "Remote ID",
                skyfence_core::TargetKind::Track => "Sensor track",
            },
            format!("<span class=\"mono\">{}</span>", escape(&t.id.to_string()))
        ),
        row(
            "Callsign",
            escape(&opt(t.callsign.map(|c| c.as_str().to_owned())))
        ),
        row("Emitter category", escape(&opt(t.category))),
        row("Classification", escape(classification)),
        row(
            "Permit",
            escape(&inc.permit.clone().unwrap_or_else(|| "none".into()))
        ),
    );
    let z = input.zone;
    let _ = write!(
        s,
        "<section><h2>Zone</h2><table>{}{}{}{}{}</table></section></div>",
        row("Name", escape(&z.name)),
        row(
            "Floor",
            z.floor_ft.map_or("surface".into(), |f| format!("{f} ft"))
        ),
        row(
            "Ceiling",
            z.ceiling_ft
                .map_or("unlimited".into(), |c| format!("{c} ft"))
        ),
        row("Source", escape(&z.provenance.source)),
        row(
            "Geometry SHA-256",
            format!(
                "<span class=\"mono\">{}</span>",
                escape(&z.provenance.sha256)
            )
        ),
    );
    let _ = write!(
        s,
        "<h2>Figures</h2><table>{}{}{}{}{}{}{}{}{}{}{}</table>",
        row("Status", status_text(input, status)),
        row(
            "Entered",
            format!(
                "{} ({})",
                inc.entered_at.to_rfc3339_millis(),
                if inc.entry_observed {
                    "border crossing observed, interpolated"
                } else {
                    "first report inside; crossing not observed"
                }
            )
        ),
        row("Entry point", fix_text(&inc.entry)),
        row("Exited", opt(inc.exited_at.map(|t| t.to_rfc3339_millis()))),
        row("Exit point", opt(inc.exit.as_ref().map(fix_text))),
        row("Last report inside", inc.last_seen_at.to_rfc3339_millis()),
        row("Duration", format!("{:.3} s", inc.duration_s)),
        row(
            "Maximum depth",
            format!(
                "{:.1} m ({:.2} km) inside the border",
                inc.max_depth_m,
                inc.max_depth_m / 1000.0
            )
        ),
        row(
            "Maximum altitude inside",
            opt(inc.max_alt_ft.map(|a| format!("{a} ft")))
        ),
        row("Position reports inside", inc.reports.to_string()),
        if input.version == 1 {
            row(
                "Raw frames in evidence",
                format!(
                    "{} from {}",
                    input.frames,
                    escape(&input.sensors.join(", "))
                ),
            )
        } else {
            row(
                "Raw records in evidence",
                format!(
                    "{} ({}) from {}",
                    input.frames,
                    escape(
                        &input
                            .protocols
                            .iter()
                            .map(|(p, n)| format!("{p} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    escape(&input.sensors.join(", "))
                ),
            )
        },
    );
    s.push_str(&sensors_html(input));
    let _ = write!(
        s,
        "<h2>Track against the border</h2>{}\
         <div class=\"legend\"><span><i class=\"sw\" style=\"background:#b02a2a\"></i>border of {} (dashed; inside shaded)</span>\
         <span><i class=\"sw\" style=\"background:#c0392b\"></i>track inside</span>\
         <span><i class=\"sw\" style=\"background:#5b6b7a\"></i>track outside</span>\
         <span>{} positions decoded from the raw frames</span></div>",
        map_svg(input),
        escape(&inc.zone),
        input.track.len(),
    );
    let _ = write!(s, "<h2>Altitude profile</h2>{}", profile_svg(input));
    // Timeline: the log's rows plus the computed crossings and the first/last report.
    let mut rows = input.timeline.clone();
    let computed = |at, what: &str, detail: String| TimelineRow {
        at,
        leaf: u64::MAX,
        what: what.into(),
        detail,
    };
    if let (Some(first), Some(last)) = (input.track.first(), input.track.last()) {
        rows.push(computed(
            first.at,
            "first position",
            format!("{:.6}, {:.6}", first.lat, first.lon),
        ));
        rows.push(computed(
            last.at,
            "last position",
            format!("{:.6}, {:.6}", last.lat, last.lon),
        ));
    }
    rows.push(computed(
        inc.entered_at,
        "entered zone",
        fix_text(&inc.entry),
    ));
    if let (Some(at), Some(exit)) = (inc.exited_at, &inc.exit) {
        rows.push(computed(at, "left zone", fix_text(exit)));
    }
    rows.extend(input.sensor_changes.iter().map(|c| TimelineRow {
        at: c.at,
        leaf: c.leaf,
        what: if c.up { "sensor up" } else { "sensor down" }.into(),
        detail: format!(
            "{} ({}), last heard {}",
            c.sensor,
            c.sensor_type,
            c.last_heard.to_rfc3339_millis()
        ),
    }));
    rows.sort_by_key(|r| (r.at, r.leaf));
    s.push_str("<h2>Timeline (UTC)</h2><table class=\"timeline\"><tr><th>Time</th><th>Event</th><th>Details</th><th>Log leaf</th></tr>");
    for r in &rows {
        let _ = write!(
            s,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td>{}</td><td class=\"mono\">{}</td></tr>",
            r.at.to_rfc3339_millis(),
            escape(&r.what),
            escape(&r.detail),
            if r.leaf == u64::MAX {
                "—".to_string()
            } else {
                r.leaf.to_string()
            }
        );
    }
    s.push_str("</table>");
    let log = input.log;
    let _ = write!(
        s,
        "<h2>Evidence and how to verify it</h2><table>{}{}{}{}{}{}</table>\
         <p>Every raw {record}, state change and the zone and configuration are leaves of an append-only Merkle log (RFC 6962). \
         The signed checkpoint commits to the log's first {size} leaves; each leaf ships with its inclusion proof. \
         To check this bundle without any network or service, run:</p>\
         <pre>skyfence verify BUNDLE.zip --key '{key}'</pre>\
         <p>where <code>BUNDLE.zip</code> is this bundle and the key is the log key you obtained from the operator through a trusted channel \
         (compare its fingerprint). The verifier checks the signatures, every inclusion proof, {decodes}, \
         re-runs detection with the zone and settings in the bundle and confirms the figures above.</p>",
        row(
            "Log origin",
            format!("<span class=\"mono\">{}</span>", escape(&log.origin))
        ),
        row(
            "Checkpoint",
            format!(
                "{} leaves, root <span class=\"mono\">{}</span>",
                log.checkpoint_size,
                escape(&log.checkpoint_root)
            )
        ),
        row("Signed by", escape(&input.signers.join(", "))),
        row(
            "Log key",
            format!("<span class=\"mono\">{}</span>", escape(&log.key))
        ),
        row(
            "Key fingerprint (SHA-256)",
            format!("<span class=\"mono\">{}</span>", key_fingerprint(&log.key))
        ),
        row("Incident JSON", "incident.json in this bundle".into()),
        size = log.checkpoint_size,
        key = escape(&log.key),
        record = if input.version == 1 {
            "frame"
        } else {
            "record"
        },
        decodes = if input.version == 1 {
            "decodes every raw frame again"
        } else {
            "decodes every raw Mode S frame again (and says so when it cannot re-decode records of another protocol yet)"
        },
    );
    s.push_str(
        "<footer>Generated by skyfence from the evidence in this bundle. Map: local flat projection centred on the track; \
         border drawn from the zone geometry in the bundle (zone.geojson).</footer></main></body></html>\n",
    );
    s
}

fn alt_m(ft: Option<i32>) -> Option<f64> {
    ft.map(|a| f64::from(a) * M_PER_FT)
}

/// `track.kml` (OGC KML 2.2): the track as a LineString with absolute altitudes (metres),
/// Placemarks for the entry and exit, and for a Remote ID drone its operator, a line
/// from the operator to the entry point and, when the operator moved, their track.
pub fn track_kml(input: &RenderInput<'_>) -> String {
    let inc = input.incident;
    let mut s = String::new();
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<kml xmlns=\"http://www.opengis.net/kml/2.2\">\n<Document>\n\
         <name>{name}</name>\n<description>{desc}</description>\n\
         <Style id=\"track\"><LineStyle><color>ff2b39c0</color><width>3</width></LineStyle></Style>\n\
         <Style id=\"entry\"><IconStyle><color>ff2b39c0</color></IconStyle></Style>\n\
         <Style id=\"exit\"><IconStyle><color>ff347e1e</color></IconStyle></Style>\n",
        name = escape(&format!(
            "skyfence incident {} ({} in {})",
            inc.id, inc.target.id, inc.zone
        )),
        desc = escape(&format!(
            "Status {:?}; entered {}; max depth {:.1} m; {} positions from the raw frames of the evidence bundle",
            inc.status,
            inc.entered_at.to_rfc3339_millis(),
            inc.max_depth_m,
            input.track.len()
        )),
    );
    let mut last_alt = None;
    let coords: Vec<String> = input
        .track
        .iter()
        .map(|p| {
            last_alt = alt_m(p.alt_ft).or(last_alt);
            format!("{:.6},{:.6},{:.1}", p.lon, p.lat, last_alt.unwrap_or(0.0))
        })
        .collect();
    if coords.len() >= 2 {
        let _ = write!(
            s,
            "<Placemark><name>Track {id}</name>\
             <TimeSpan><begin>{b}</begin><end>{e}</end></TimeSpan><styleUrl>#track</styleUrl>\
             <LineString><tessellate>1</tessellate><altitudeMode>absolute</altitudeMode><coordinates>{c}</coordinates></LineString></Placemark>",
            id = escape(&inc.target.id.to_string()),
            b = input.track[0].at.to_rfc3339_millis(),
            e = input.track[input.track.len() - 1].at.to_rfc3339_millis(),
            c = coords.join(" "),
        );
        s.push('\n');
    }
    let mut point = |label: &str, style: &str, at: Timestamp, f: &Fix| {
        let _ = write!(
            s,
            "<Placemark><name>{label}</name><description>{d}</description><TimeStamp><when>{w}</when></TimeStamp>\
             <styleUrl>#{style}</styleUrl><Point><altitudeMode>absolute</altitudeMode>\
             <coordinates>{lon:.6},{lat:.6},{alt:.1}</coordinates></Point></Placemark>",
            d = escape(&format!("{label} of zone {} at {}", inc.zone, fix_text(f))),
            w = at.to_rfc3339_millis(),
            lon = f.lon,
            lat = f.lat,
            alt = alt_m(f.alt_ft).unwrap_or(0.0),
        );
        s.push('\n');
    };
    point("Entry", "entry", inc.entered_at, &inc.entry);
    if let (Some(at), Some(exit)) = (inc.exited_at, &inc.exit) {
        point("Exit", "exit", at, exit);
    }
    // A Remote ID drone's operator, on the ground, and a line from there to the entry.
    if let Some(op) = &inc.operator {
        let _ = write!(
            s,
            "<Style id=\"operator\"><IconStyle><color>ffb4782e</color></IconStyle><LineStyle><color>ffb4782e</color><width>2</width></LineStyle></Style>\n\
             <Placemark><name>Operator</name><description>{d}</description><TimeStamp><when>{w}</when></TimeStamp>\
             <styleUrl>#operator</styleUrl><Point><altitudeMode>clampToGround</altitudeMode>\
             <coordinates>{lon:.6},{lat:.6},0</coordinates></Point></Placemark>\n\
             <Placemark><name>Operator to drone</name><styleUrl>#operator</styleUrl>\
             <LineString><tessellate>1</tessellate><altitudeMode>clampToGround</altitudeMode>\
             <coordinates>{lon:.6},{lat:.6},0 {elon:.6},{elat:.6},0</coordinates></LineString></Placemark>\n",
            d = escape(&format!(
                "Remote ID operator{} at {:.6}, {:.6}",
                op.id.as_ref().map_or(String::new(), |id| format!(" {id}")),
                op.lat,
                op.lon
            )),
            w = op.at.to_rfc3339_millis(),
            lon = op.lon,
            lat = op.lat,
            elon = inc.entry.lon,
            elat = inc.entry.lat,
        );
        // Where the operator stood over time, when they moved.
        if op.track.len() > 1 {
            s.push_str("<Placemark><name>Operator track</name><styleUrl>#operator</styleUrl>");
            let _ = write!(
                s,
                "<TimeSpan><begin>{}</begin><end>{}</end></TimeSpan>",
                op.track[0].at.to_rfc3339_millis(),
                op.at.to_rfc3339_millis()
            );
            s.push_str(
                "<LineString><tessellate>1</tessellate><altitudeMode>clampToGround</altitudeMode><coordinates>",
            );
            for (i, p) in op.track.iter().enumerate() {
                let _ = write!(
                    s,
                    "{}{:.6},{:.6},0",
                    if i == 0 { "" } else { " " },
                    p.lon,
                    p.lat
                );
            }
            let _ = write!(s, " {:.6},{:.6},0", op.lon, op.lat);
            s.push_str("</coordinates></LineString></Placemark>\n");
        }
    }
    s.push_str("</Document>\n</kml>\n");
    s
}

/// `track.geojson` (RFC 7946): the track LineString (third coordinate: metres), entry and
/// exit Points, for a Remote ID drone its operator (Point, role `operator`), the line
/// from it to the entry (role `operator_link`) and, when the operator moved, where they
/// stood over time (LineString, role `operator_track`, with `times`), and the zone.
pub fn track_geojson(input: &RenderInput<'_>) -> String {
    use serde_json::json;
    let inc = input.incident;
    let r6 = |v: f64| (v * 1e6).round() / 1e6;
    let pos = |lon: f64, lat: f64, alt: Option<f64>| match alt {
        Some(a) => json!([r6(lon), r6(lat), (a * 10.0).round() / 10.0]),
        None => json!([r6(lon), r6(lat)]),
    };
    let mut features = Vec::new();
    let times: Vec<String> = input
        .track
        .iter()
        .map(|p| p.at.to_rfc3339_millis())
        .collect();
    // Format 1 named the target `icao24` whatever it was (every target was a
    // transponder then); format 2 names it by kind and id, with `icao24` only when known.
    let properties = if input.version == 1 {
        json!({"role": "track", "icao24": inc.target.id.to_string(), "times": times})
    } else {
        let mut p = json!({"role": "track", "kind": inc.target.id.kind().as_str(),
            "id": inc.target.id.to_string(), "times": times});
        if let Some(a) = inc.target.id.icao() {
            p["icao24"] = json!(a.to_string());
        }
        p
    };
    features.push(json!({
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "LineString",
            "coordinates": input.track.iter().map(|p| pos(p.lon, p.lat, alt_m(p.alt_ft))).collect::<Vec<_>>()},
    }));
    features.push(json!({
        "type": "Feature",
        "properties": {"role": "entry", "at": inc.entered_at.to_rfc3339_millis(), "alt_ft": inc.entry.alt_ft},
        "geometry": {"type": "Point", "coordinates": pos(inc.entry.lon, inc.entry.lat, None)},
    }));
    if let (Some(at), Some(exit)) = (inc.exited_at, &inc.exit) {
        features.push(json!({
            "type": "Feature",
            "properties": {"role": "exit", "at": at.to_rfc3339_millis(), "alt_ft": exit.alt_ft},
            "geometry": {"type": "Point", "coordinates": pos(exit.lon, exit.lat, None)},
        }));
    }
    if let Some(op) = &inc.operator {
        features.push(json!({
            "type": "Feature",
            "properties": {"role": "operator", "id": op.id, "at": op.at.to_rfc3339_millis()},
            "geometry": {"type": "Point", "coordinates": pos(op.lon, op.lat, None)},
        }));
        features.push(json!({
            "type": "Feature",
            "properties": {"role": "operator_link"},
            "geometry": {"type": "LineString", "coordinates": [
                pos(op.lon, op.lat, None), pos(inc.entry.lon, inc.entry.lat, None)]},
        }));
        if op.track.len() > 1 {
            let times: Vec<String> = op.track.iter().map(|p| p.at.to_rfc3339_millis()).collect();
            features.push(json!({
                "type": "Feature",
                "properties": {"role": "operator_track", "times": times},
                "geometry": {"type": "LineString", "coordinates":
                    op.track.iter().map(|p| pos(p.lon, p.lat, None)).collect::<Vec<_>>()},
            }));
        }
    }
    features.push(json!({
        "type": "Feature",
        "properties": {"role": "zone", "name": input.zone.name,
            "floor_ft": input.zone.floor_ft, "ceiling_ft": input.zone.ceiling_ft},
        "geometry": multipolygon_geometry(&input.zone.shape),
    }));
    let fc = json!({"type": "FeatureCollection", "features": features});
    let mut text = serde_json::to_string(&fc).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn clip_keeps_inside_and_cuts_at_the_edge() {
        // A 4×4 square from (-2,-2) clipped to [-1,1]² is that square.
        let ring = [
            (-2.0, -2.0),
            (2.0, -2.0),
            (2.0, 2.0),
            (-2.0, 2.0),
            (-2.0, -2.0),
        ];
        let c = clip_ring(&ring, (-1.0, -1.0, 1.0, 1.0));
        assert!(c.iter().all(|p| p.0.abs() <= 1.0 && p.1.abs() <= 1.0));
        assert!(c.contains(&(1.0, 1.0)) && c.contains(&(-1.0, -1.0)));
        // A square wholly outside disappears.
        let far = [(5.0, 5.0), (6.0, 5.0), (6.0, 6.0), (5.0, 5.0)];
        assert!(clip_ring(&far, (-1.0, -1.0, 1.0, 1.0)).is_empty());
    }

    #[test]
    fn scale_bars_are_round() {
        assert_eq!(nice_length(40_000.0), 10_000.0);
        assert_eq!(nice_length(90_000.0), 20_000.0);
        assert_eq!(nice_length(3_000.0), 500.0);
    }
}
