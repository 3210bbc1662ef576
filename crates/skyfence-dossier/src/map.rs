//! The period map as lines in map units (x right, y down), shared by the inline SVG of
//! `index.html` and the vector drawing of `dossier.pdf`: every incident's track and entry
//! point against the zones' borders, in an equirectangular projection scaled by the cosine
//! of the mid latitude (true shape at the scale of a border region).
//!
//! The view is the incidents' extent (a border zone may be a whole country; the map shows
//! where the incursions are), and the borders are clipped to it segment by segment
//! (Liang-Barsky), so neither the SVG nor the PDF draws outside its frame.

use std::collections::BTreeMap;

use skyfence_core::airspace::Zone;

use crate::model::Row;

/// Map width in map units (SVG user units; PDF points are scaled from them).
pub const WIDTH: f64 = 800.0;

/// One line to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// What it is.
    pub kind: LineKind,
    /// Points, map units.
    pub points: Vec<(f64, f64)>,
}

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// A zone's boundary.
    Border,
    /// An authorised incident's track.
    Authorised,
    /// An unauthorised incident's track.
    Unauthorised,
}

/// The map.
#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    /// Width, map units.
    pub width: f64,
    /// Height, map units.
    pub height: f64,
    /// Borders first, then tracks.
    pub lines: Vec<Line>,
    /// Entry points: (authorised, x, y).
    pub entries: Vec<(bool, f64, f64)>,
    /// The view: west, south, east, north (degrees).
    pub view: (f64, f64, f64, f64),
    /// A scale bar: its length in map units and in kilometres.
    pub scale: (f64, f64),
}

/// A position a map can show (a bundle's file may hold anything).
fn valid(lon: f64, lat: f64) -> bool {
    (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat)
}

fn extend(b: &mut Option<(f64, f64, f64, f64)>, lon: f64, lat: f64) {
    if !valid(lon, lat) {
        return;
    }
    *b = Some(match *b {
        None => (lon, lat, lon, lat),
        Some((w, s, e, n)) => (w.min(lon), s.min(lat), e.max(lon), n.max(lat)),
    });
}

/// Lays out the map of `rows` against `zones`, `aspect_max` the tallest height / width.
pub fn layout(rows: &[Row], zones: &BTreeMap<String, Zone>, aspect_max: f64) -> Map {
    let mut b = None;
    for r in rows {
        extend(&mut b, r.incident.entry.lon, r.incident.entry.lat);
        for &(lon, lat) in &r.map_track {
            extend(&mut b, lon, lat);
        }
    }
    if b.is_none() {
        for z in zones.values() {
            if let Some((w, s, e, n)) = z.bounding_box() {
                extend(&mut b, w, s);
                extend(&mut b, e, n);
            }
        }
    }
    let (w, s, e, n) = b.unwrap_or((60.0, 29.0, 75.0, 39.0));
    // Pad by a fifth, at least 0.05° (about 5 km), so an incident's surroundings show.
    let pad_lat = ((n - s) * 0.2).max(0.05);
    let mid = (s + n) / 2.0;
    let k = mid.to_radians().cos().max(0.05);
    let pad_lon = ((e - w) * 0.2).max(0.05 / k);
    let (mut w, mut s, mut e, mut n) = (w - pad_lon, s - pad_lat, e + pad_lon, n + pad_lat);
    // Keep the aspect within bounds by widening the narrow side.
    let mut ground_w = (e - w) * k;
    let ground_h = n - s;
    if ground_h / ground_w > aspect_max {
        let extra = (ground_h / aspect_max - ground_w) / k / 2.0;
        w -= extra;
        e += extra;
        ground_w = (e - w) * k;
    } else if ground_h / ground_w < 0.35 {
        let extra = (ground_w * 0.35 - ground_h) / 2.0;
        s -= extra;
        n += extra;
    }
    let scale = WIDTH / ground_w;
    let height = (n - s) * scale;
    let project = |lon: f64, lat: f64| ((lon - w) * k * scale, (n - lat) * scale);
    let rect = (0.0, 0.0, WIDTH, height);

    let mut lines = Vec::new();
    for z in zones.values() {
        for poly in &z.shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let pts: Vec<(f64, f64)> = ring
                    .0
                    .iter()
                    .filter(|c| valid(c.x, c.y))
                    .map(|c| project(c.x, c.y))
                    .collect();
                for piece in clip_polyline(&thin_close(&pts, 0.6), rect) {
                    lines.push(Line {
                        kind: LineKind::Border,
                        points: piece,
                    });
                }
            }
        }
    }
    // Oldest drawn first, so the newest lie on top.
    for r in rows.iter().rev() {
        let pts: Vec<(f64, f64)> = r
            .map_track
            .iter()
            .filter(|&&(x, y)| valid(x, y))
            .map(|&(x, y)| project(x, y))
            .collect();
        let kind = if r.incident.authorised {
            LineKind::Authorised
        } else {
            LineKind::Unauthorised
        };
        for piece in clip_polyline(&pts, rect) {
            lines.push(Line {
                kind,
                points: piece,
            });
        }
    }
    let entries = rows
        .iter()
        .rev()
        .filter(|r| valid(r.incident.entry.lon, r.incident.entry.lat))
        .map(|r| {
            let (x, y) = project(r.incident.entry.lon, r.incident.entry.lat);
            (r.incident.authorised, x, y)
        })
        .collect();
    // A scale bar of a round length near a fifth of the width (1 degree of latitude is
    // 111.32 km on average; the projection keeps that along the mid latitude).
    let km_per_unit = 111.32 / scale;
    let target = WIDTH / 5.0 * km_per_unit;
    let mag = 10f64.powf(target.log10().floor());
    let nice = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .rfind(|&l| l <= target)
        .unwrap_or(mag);
    Map {
        width: WIDTH,
        height,
        lines,
        entries,
        view: (w, s, e, n),
        scale: (nice / km_per_unit, nice),
    }
}

/// Drops points closer than `min` to the last kept one (a country border has far more
/// vertices than a map can show); keeps the last point.
fn thin_close(pts: &[(f64, f64)], min: f64) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(pts.len().min(4096));
    for (i, &p) in pts.iter().enumerate() {
        match out.last() {
            Some(&q) if i + 1 < pts.len() && (p.0 - q.0).abs() < min && (p.1 - q.1).abs() < min => {
            }
            _ => out.push(p),
        }
    }
    out
}

/// The parts of a polyline inside `rect` (x0, y0, x1, y1).
pub fn clip_polyline(pts: &[(f64, f64)], rect: (f64, f64, f64, f64)) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    if pts.len() == 1 {
        let p = pts[0];
        if p.0 >= rect.0 && p.0 <= rect.2 && p.1 >= rect.1 && p.1 <= rect.3 {
            out.push(vec![p]);
        }
        return out;
    }
    for seg in pts.windows(2) {
        match clip_segment(seg[0], seg[1], rect) {
            Some((a, b)) => {
                if cur.last() != Some(&a) {
                    if cur.len() >= 2 {
                        out.push(std::mem::take(&mut cur));
                    }
                    cur.clear();
                    cur.push(a);
                }
                cur.push(b);
            }
            None => {
                if cur.len() >= 2 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
        }
    }
    if cur.len() >= 2 {
        out.push(cur);
    }
    out
}

/// Liang-Barsky: the part of segment a-b inside `rect`, if any.
fn clip_segment(
    a: (f64, f64),
    b: (f64, f64),
    rect: (f64, f64, f64, f64),
) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let mut t0 = 0.0f64;
    let mut t1 = 1.0f64;
    for (p, q) in [
        (-dx, a.0 - rect.0),
        (dx, rect.2 - a.0),
        (-dy, a.1 - rect.1),
        (dy, rect.3 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| {
        if t == 0.0 {
            a
        } else if t == 1.0 {
            b
        } else {
            (a.0 + t * dx, a.1 + t * dy)
        }
    };
    Some((at(t0), at(t1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_keeps_inside_and_splits_at_exits() {
        let rect = (0.0, 0.0, 10.0, 10.0);
        // Inside, out, back in: two pieces, cut exactly on the edge.
        let line = [(1.0, 1.0), (5.0, 5.0), (15.0, 5.0), (5.0, 8.0)];
        let parts = clip_polyline(&line, rect);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[0], vec![(1.0, 1.0), (5.0, 5.0), (10.0, 5.0)]);
        assert_eq!(parts[1].last(), Some(&(5.0, 8.0)));
        assert!((parts[1][0].0 - 10.0).abs() < 1e-9);
        // Wholly outside: nothing.
        assert!(clip_polyline(&[(20.0, 20.0), (30.0, 30.0)], rect).is_empty());
    }

    #[test]
    fn thinning_keeps_the_ends() {
        let pts: Vec<(f64, f64)> = (0..100).map(|i| (f64::from(i) * 0.01, 0.0)).collect();
        let t = thin_close(&pts, 0.5);
        assert_eq!(t.first(), Some(&(0.0, 0.0)));
        assert_eq!(t.last(), pts.last());
        assert!(t.len() < 10);
    }
}
