//! `index.html`: the dossier for a screen. One self-contained file (inline CSS and SVG, no
//! script, no request), so it opens offline and with JavaScript off.

use std::fmt::Write as _;

use skyfence_bundle::render::key_fingerprint;

use crate::map::{self, LineKind};
use crate::model::{Counts, Model};
use crate::tables::xml_escape as esc;

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#1d1d1f;padding:0 1em}\
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top}\
th{background:#f2f2f2}td.n{text-align:right}.grid{display:flex;flex-wrap:wrap;gap:2em}\
.bar{display:inline-block;height:10px;background:#c0392b}.empty{font-size:1.2em;padding:1em;background:#fff4d6;border:1px solid #e0c060}\
.auth{color:#2e7d32}.unauth{color:#c0392b}pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em;font-size:12px}\
svg{border:1px solid #999;background:#f7fbff;max-width:100%;height:auto}";

fn count_table(out: &mut String, title: &str, rows: &[(String, usize)], total: usize) {
    let _ = write!(
        out,
        "<table><caption><b>{}</b></caption><tr><th>{}</th><th>incidents</th><th></th></tr>",
        esc(title),
        esc(title)
    );
    for (k, n) in rows {
        let w = (n * 160).checked_div(total).unwrap_or(0);
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=n>{n}</td><td><span class=bar style=\"width:{w}px\"></span></td></tr>",
            esc(k)
        );
    }
    out.push_str("</table>");
}

/// The rows of each count table: (title, rows).
pub fn count_tables(c: &Counts) -> Vec<(&'static str, Vec<(String, usize)>)> {
    vec![
        (
            "zone",
            c.by_zone.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        ),
        (
            "classification",
            vec![
                ("uav".into(), c.by_class[0]),
                ("aircraft".into(), c.by_class[1]),
                ("unknown".into(), c.by_class[2]),
            ],
        ),
        (
            "authorised",
            vec![
                ("authorised".into(), c.authorised[0]),
                ("unauthorised".into(), c.authorised[1]),
            ],
        ),
        (
            "cooperative",
            vec![
                (
                    "cooperative (transponder, Remote ID)".into(),
                    c.cooperative[0],
                ),
                ("non-cooperative (sensor track)".into(), c.cooperative[1]),
            ],
        ),
        (
            "day (UTC)",
            c.by_day.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        ),
        (
            "hour of day (UTC)",
            c.by_hour
                .iter()
                .enumerate()
                .map(|(h, v)| (format!("{h:02}:00"), *v))
                .collect(),
        ),
    ]
}

/// The map as an inline SVG element.
pub fn map_svg(m: &map::Map) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {:.0} {:.0}\" width=\"{:.0}\" height=\"{:.0}\" role=\"img\" aria-label=\"map of the incidents\">",
        m.width, m.height, m.width, m.height
    );
    for l in &m.lines {
        let (stroke, width) = match l.kind {
            LineKind::Border => ("#333333", 1.5),
            LineKind::Authorised => ("#2e7d32", 1.2),
            LineKind::Unauthorised => ("#c0392b", 1.2),
        };
        s.push_str("<polyline fill=\"none\" stroke=\"");
        s.push_str(stroke);
        let _ = write!(s, "\" stroke-width=\"{width}\" points=\"");
        for (i, (x, y)) in l.points.iter().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            let _ = write!(s, "{x:.1},{y:.1}");
        }
        s.push_str("\"/>");
    }
    for (auth, x, y) in &m.entries {
        let _ = write!(
            s,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"/>",
            if *auth { "#2e7d32" } else { "#c0392b" }
        );
    }
    let (len, km) = m.scale;
    let y = m.height - 14.0;
    let _ = write!(
        s,
        "<line x1=\"12\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#000\" stroke-width=\"2\"/>\
<text x=\"12\" y=\"{:.1}\" font-size=\"12\">{} km</text>",
        12.0 + len,
        y - 5.0,
        km
    );
    let (w, so, e, n) = m.view;
    let _ = write!(
        s,
        "<text x=\"{:.1}\" y=\"14\" font-size=\"11\" text-anchor=\"end\">{:.3}..{:.3} E, {:.3}..{:.3} N</text></svg>",
        m.width - 6.0,
        w,
        e,
        so,
        n
    );
    s
}

/// `index.html`.
pub fn index_html(model: &Model<'_>) -> String {
    let meta = model.meta;
    let counts = Counts::of(model.rows);
    let mut h = String::with_capacity(16 * 1024 + model.rows.len() * 400);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Airspace incursions {} to {}</title>\
<meta name=\"viewport\" content=\"width=device-width\"><style>{CSS}</style></head><body>\n",
        esc(&meta.period.from),
        esc(&meta.period.to)
    );
    let _ = writeln!(
        h,
        "<h1>Airspace incursions</h1><p>Period <b>{}</b> to <b>{}</b> (UTC; entry time in the period). \
Zones: <b>{}</b>.{} Made {} by {}.</p>",
        esc(&meta.period.from),
        esc(&meta.period.to),
        if meta.zones.is_empty() {
            "all".to_owned()
        } else {
            esc(&meta.zones.join(", "))
        },
        if meta.unauthorised_only {
            " Unauthorised incidents only."
        } else {
            ""
        },
        esc(&meta.created_at),
        esc(crate::model::RENDERER),
    );
    if counts.total == 0 {
        h.push_str("<p class=empty>No incursion was recorded in this period.</p>\n");
    } else {
        let _ = writeln!(
            h,
            "<p><b>{}</b> incidents: <span class=unauth>{} unauthorised</span>, <span class=auth>{} authorised</span>; \
{} UAV, {} aircraft, {} unknown.</p>",
            counts.total,
            counts.authorised[1],
            counts.authorised[0],
            counts.by_class[0],
            counts.by_class[1],
            counts.by_class[2]
        );
    }
    h.push_str("<h2>Zones</h2><ul>");
    for z in model.zones.values() {
        let _ = write!(
            h,
            "<li>{} (floor {}, ceiling {}; geometry SHA-256 {})</li>",
            esc(&z.name),
            z.floor_ft.map_or("surface".into(), |f| format!("{f} ft")),
            z.ceiling_ft
                .map_or("unlimited".into(), |f| format!("{f} ft")),
            esc(&skyfence_core::airspace::zone::geometry_sha256(&z.shape))
        );
    }
    if model.zones.is_empty() {
        h.push_str("<li>none (no incident)</li>");
    }
    h.push_str("</ul>\n<h2>Map</h2>\n");
    let m = map::layout(model.rows, model.zones, 0.9);
    h.push_str(&map_svg(&m));
    h.push_str(
        "<p>Tracks: <span class=unauth>unauthorised</span>, <span class=auth>authorised</span>; dots mark entry points; dark lines are zone borders.</p>\n",
    );
    h.push_str("<h2>Counts</h2><div class=grid>");
    for (title, rows) in count_tables(&counts) {
        count_table(&mut h, title, &rows, counts.total);
    }
    h.push_str("</div>\n<h2>Incidents (newest first)</h2>\n");
    if model.rows.is_empty() {
        h.push_str("<p class=empty>No incursion was recorded in this period.</p>\n");
    } else {
        h.push_str(
            "<table><tr><th>#</th><th>entered (UTC)</th><th>incident</th><th>zone</th><th>target</th><th>class</th>\
<th>authorised</th><th>status</th><th>duration s</th><th>depth m</th><th>max alt ft</th></tr>\n",
        );
        for (n, r) in model.rows.iter().enumerate() {
            let i = &r.incident;
            let _ = writeln!(
                h,
                "<tr><td class=n>{}</td><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}{}</td><td>{}</td>\
<td class={}>{}</td><td>{}</td><td class=n>{:.0}</td><td class=n>{:.0}</td><td class=n>{}</td></tr>",
                n + 1,
                i.entered_at.to_rfc3339_millis(),
                esc(&r.bundle),
                i.id,
                esc(&i.zone),
                esc(&i.target.id.to_string()),
                i.target
                    .callsign
                    .map(|c| format!(" {}", esc(c.as_str().trim())))
                    .unwrap_or_default(),
                i.classification.as_str(),
                if i.authorised { "auth" } else { "unauth" },
                if i.authorised {
                    format!("yes: {}", esc(i.permit.as_deref().unwrap_or("")))
                } else {
                    "no".into()
                },
                crate::tables::csv_row(i, "", "")[9],
                i.duration_s,
                i.max_depth_m,
                i.max_alt_ft.map(|a| a.to_string()).unwrap_or_default()
            );
        }
        h.push_str("</table>\n<p>Each incident links to its evidence bundle (a zip with the report, the raw records and their proofs); check one with <code>skyfence verify FILE.zip</code>, and the whole dossier with <code>skyfence verify DIR</code>.</p>\n");
    }
    let _ = write!(
        h,
        "<h2>Evidence log</h2><p>Log key <code>{}</code><br>fingerprint <code>{}</code></p>\
<p>Every incident's evidence is included in this signed checkpoint ({} leaves, root {}):</p><pre>{}</pre>\n</body></html>\n",
        esc(&meta.log.key),
        esc(&key_fingerprint(&meta.log.key)),
        meta.log.checkpoint_size,
        esc(&meta.log.checkpoint_root),
        esc(&meta.checkpoint)
    );
    h
}
