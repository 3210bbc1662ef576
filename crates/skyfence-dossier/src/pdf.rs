//! `dossier.pdf`: the dossier paginated for print (A4, page numbers, the map as vector
//! paths), written with pdf-writer (the low-level PDF writer of the typst project) and
//! the standard Helvetica and Courier fonts every PDF reader has, so nothing is embedded
//! and the output is a pure function of the model (no dates, no ids): the verifier
//! re-creates it byte for byte.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use skyfence_bundle::render::key_fingerprint;

use crate::html::count_tables;
use crate::map::{self, LineKind};
use crate::model::{Counts, Model};

const W: f32 = 595.28;
const H: f32 = 841.89;
const MARGIN: f32 = 42.0;
const BOTTOM: f32 = 60.0;
const SANS: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");
const MONO: Name<'static> = Name(b"F3");

/// Text as the standard fonts' WinAnsi encoding shows it: printable ASCII kept, anything
/// else replaced by `?` (the report's names and ids are ASCII; a permit's reason may not be).
fn ascii(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| {
            if (' '..='~').contains(&c) {
                c as u8
            } else {
                b'?'
            }
        })
        .collect()
}

/// Cuts text to about `width` points of Helvetica at `size` (average glyph 0.55 em).
fn fit(s: &str, size: f32, width: f32) -> String {
    let max = ((width / (size * 0.55)) as usize).max(3);
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('~');
        t
    }
}

struct Pages {
    pages: Vec<Content>,
    y: f32,
}

impl Pages {
    fn new() -> Pages {
        let mut p = Pages {
            pages: Vec::new(),
            y: 0.0,
        };
        p.new_page();
        p
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = H - MARGIN;
    }

    fn cur(&mut self) -> &mut Content {
        self.pages.last_mut().expect("a page")
    }

    /// Room for `h` more points on this page, or a new page.
    fn need(&mut self, h: f32) {
        if self.y - h < BOTTOM {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, y: f32, font: Name<'static>, size: f32, text: &str) {
        let bytes = ascii(text);
        let c = self.cur();
        c.begin_text();
        c.set_font(font, size);
        c.next_line(x, y);
        c.show(Str(&bytes));
        c.end_text();
    }

    /// One line of text at the left margin (indented by `dx`), moving down.
    fn line(&mut self, font: Name<'static>, size: f32, dx: f32, text: &str) {
        let lead = size * 1.35;
        self.need(lead);
        self.y -= lead;
        let y = self.y;
        self.text_at(MARGIN + dx, y, font, size, text);
    }

    /// Text wrapped to the page width.
    fn para(&mut self, font: Name<'static>, size: f32, text: &str) {
        let max = ((W - 2.0 * MARGIN) / (size * 0.5)) as usize;
        let mut cur = String::new();
        for word in text.split(' ') {
            if !cur.is_empty() && cur.len() + 1 + word.len() > max {
                self.line(font, size, 0.0, &cur);
                cur.clear();
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        if !cur.is_empty() {
            self.line(font, size, 0.0, &cur);
        }
    }

    fn gap(&mut self, h: f32) {
        self.y -= h;
    }
}

fn draw_map(p: &mut Pages, m: &map::Map) {
    let scale = ((W - 2.0 * MARGIN) as f64) / m.width;
    let h = (m.height * scale) as f32;
    p.need(h + 8.0);
    p.y -= h + 4.0;
    let (x0, y0) = (MARGIN, p.y);
    let tx = |x: f64| x0 + (x * scale) as f32;
    let ty = |y: f64| y0 + h - (y * scale) as f32;
    let c = p.cur();
    c.save_state();
    c.set_fill_rgb(0.97, 0.985, 1.0);
    c.set_stroke_rgb(0.6, 0.6, 0.6);
    c.set_line_width(0.8);
    c.rect(x0, y0, W - 2.0 * MARGIN, h);
    c.fill_nonzero_and_stroke();
    for l in &m.lines {
        let (r, g, b, w) = match l.kind {
            LineKind::Border => (0.2, 0.2, 0.2, 1.0),
            LineKind::Authorised => (0.18, 0.49, 0.2, 0.8),
            LineKind::Unauthorised => (0.75, 0.22, 0.17, 0.8),
        };
        c.set_stroke_rgb(r, g, b);
        c.set_line_width(w);
        for (i, &(x, y)) in l.points.iter().enumerate() {
            if i == 0 {
                c.move_to(tx(x), ty(y));
            } else {
                c.line_to(tx(x), ty(y));
            }
        }
        c.stroke();
    }
    for &(auth, x, y) in &m.entries {
        if auth {
            c.set_fill_rgb(0.18, 0.49, 0.2);
        } else {
            c.set_fill_rgb(0.75, 0.22, 0.17);
        }
        c.rect(tx(x) - 1.8, ty(y) - 1.8, 3.6, 3.6);
        c.fill_nonzero();
    }
    let (len, km) = m.scale;
    c.set_stroke_rgb(0.0, 0.0, 0.0);
    c.set_line_width(1.5);
    c.move_to(x0 + 8.0, y0 + 8.0);
    c.line_to(x0 + 8.0 + (len * scale) as f32, y0 + 8.0);
    c.stroke();
    c.set_fill_rgb(0.0, 0.0, 0.0);
    c.restore_state();
    p.text_at(x0 + 8.0, y0 + 12.0, SANS, 8.0, &format!("{km} km"));
}

/// `dossier.pdf`.
pub fn dossier_pdf(model: &Model<'_>) -> Vec<u8> {
    let meta = model.meta;
    let counts = Counts::of(model.rows);
    let mut p = Pages::new();
    p.line(BOLD, 20.0, 0.0, "Airspace incursions");
    p.gap(4.0);
    p.line(
        SANS,
        11.0,
        0.0,
        &format!(
            "Period {} to {} (UTC; entry time in the period)",
            meta.period.from, meta.period.to
        ),
    );
    p.line(
        SANS,
        11.0,
        0.0,
        &format!(
            "Zones: {}{}",
            if meta.zones.is_empty() {
                "all".to_owned()
            } else {
                meta.zones.join(", ")
            },
            if meta.unauthorised_only {
                "; unauthorised incidents only"
            } else {
                ""
            }
        ),
    );
    p.line(
        SANS,
        9.0,
        0.0,
        &format!("Made {} by {}", meta.created_at, crate::model::RENDERER),
    );
    p.gap(6.0);
    if counts.total == 0 {
        p.line(BOLD, 13.0, 0.0, "No incursion was recorded in this period.");
    } else {
        p.line(
            BOLD,
            12.0,
            0.0,
            &format!(
                "{} incidents: {} unauthorised, {} authorised; {} UAV, {} aircraft, {} unknown",
                counts.total,
                counts.authorised[1],
                counts.authorised[0],
                counts.by_class[0],
                counts.by_class[1],
                counts.by_class[2]
            ),
        );
    }
    let m = map::layout(model.rows, model.zones, 1.0);
    draw_map(&mut p, &m);
    p.line(
        SANS,
        8.0,
        0.0,
        "Tracks: red unauthorised, green authorised; squares mark entry points; dark lines are zone borders.",
    );

    p.gap(8.0);
    p.line(BOLD, 14.0, 0.0, "Counts");
    for (title, rows) in count_tables(&counts) {
        if title.starts_with("hour") {
            // 24 hours in four columns of six.
            p.need(6.0 * 11.0 + 20.0);
            p.line(BOLD, 10.0, 0.0, &format!("by {title}"));
            let top = p.y;
            for (k, (label, n)) in rows.iter().enumerate() {
                let x = MARGIN + 10.0 + (k / 6) as f32 * 120.0;
                let y = top - 11.0 * (1 + k % 6) as f32;
                p.text_at(x, y, SANS, 9.0, &format!("{label}  {n}"));
            }
            p.y = top - 11.0 * 6.0;
            continue;
        }
        p.line(BOLD, 10.0, 0.0, &format!("by {title}"));
        for (label, n) in rows {
            p.line(
                SANS,
                9.0,
                10.0,
                &format!("{n:>6}   {}", fit(&label, 9.0, 380.0)),
            );
        }
    }

    p.gap(8.0);
    p.line(BOLD, 14.0, 0.0, "Incidents (newest first)");
    if model.rows.is_empty() {
        p.line(SANS, 11.0, 0.0, "No incursion was recorded in this period.");
    }
    let cols: [(&str, f32); 8] = [
        ("entered (UTC)", 0.0),
        ("incident", 112.0),
        ("zone", 196.0),
        ("target", 270.0),
        ("class", 350.0),
        ("auth", 395.0),
        ("dur s", 430.0),
        ("depth m", 470.0),
    ];
    let header = |p: &mut Pages| {
        p.need(12.0);
        p.y -= 11.0;
        let y = p.y;
        for (name, x) in cols {
            p.text_at(MARGIN + x, y, BOLD, 8.0, name);
        }
    };
    if !model.rows.is_empty() {
        header(&mut p);
    }
    for r in model.rows {
        if p.y - 10.0 < BOTTOM {
            p.new_page();
            header(&mut p);
        }
        p.y -= 10.0;
        let y = p.y;
        let i = &r.incident;
        let cells = [
            i.entered_at.to_rfc3339_millis()[..19].replace('T', " "),
            i.id.to_string(),
            fit(&i.zone, 8.0, 70.0),
            fit(&i.target.id.to_string(), 8.0, 78.0),
            i.classification.as_str().to_owned(),
            if i.authorised { "yes" } else { "no" }.to_owned(),
            format!("{:.0}", i.duration_s),
            format!("{:.0}", i.max_depth_m),
        ];
        for ((_, x), cell) in cols.iter().zip(cells) {
            p.text_at(MARGIN + x, y, SANS, 8.0, &cell);
        }
    }
    if !model.rows.is_empty() {
        p.gap(4.0);
        p.para(
            SANS,
            8.0,
            "Each incident's evidence bundle is incidents/ID.zip beside this file; check one with skyfence verify FILE.zip and the whole dossier with skyfence verify DIR.",
        );
    }

    p.gap(8.0);
    p.line(BOLD, 14.0, 0.0, "Evidence log");
    p.line(SANS, 9.0, 0.0, "Log key:");
    p.line(MONO, 7.5, 10.0, &meta.log.key);
    p.line(
        SANS,
        9.0,
        0.0,
        &format!("Fingerprint: {}", key_fingerprint(&meta.log.key)),
    );
    p.line(
        SANS,
        9.0,
        0.0,
        &format!(
            "Every incident is included in this signed checkpoint ({} leaves, root {}):",
            meta.log.checkpoint_size,
            fit(&meta.log.checkpoint_root, 9.0, 200.0)
        ),
    );
    for l in meta.checkpoint.lines() {
        // Signature lines are long base64; split them to the page width.
        let chars: Vec<char> = l.chars().collect();
        for chunk in chars.chunks(110) {
            p.line(MONO, 7.0, 10.0, &chunk.iter().collect::<String>());
        }
    }

    // Footers, now that the page count is known.
    let n = p.pages.len();
    let footer = format!(
        "skyfence dossier {} to {}",
        meta.period.from, meta.period.to
    );
    for (k, c) in p.pages.iter_mut().enumerate() {
        c.set_fill_rgb(0.3, 0.3, 0.3);
        for (x, text) in [
            (MARGIN, footer.clone()),
            (W - MARGIN - 60.0, format!("page {} of {n}", k + 1)),
        ] {
            let bytes = ascii(&text);
            c.begin_text();
            c.set_font(SANS, 8.0);
            c.next_line(x, 30.0);
            c.show(Str(&bytes));
            c.end_text();
        }
    }

    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let fonts = [
        (SANS, Ref::new(3), b"Helvetica".as_slice()),
        (BOLD, Ref::new(4), b"Helvetica-Bold".as_slice()),
        (MONO, Ref::new(5), b"Courier".as_slice()),
    ];
    let info = Ref::new(6);
    let first = 7;
    let page_ids: Vec<Ref> = (0..n).map(|k| Ref::new(first + 2 * k as i32)).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(n as i32);
    for (_, id, base) in fonts {
        pdf.type1_font(id)
            .base_font(Name(base))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    pdf.document_info(info)
        .title(TextStr(&format!(
            "Airspace incursions {} to {}",
            meta.period.from, meta.period.to
        )))
        .producer(TextStr(crate::model::RENDERER));
    for (k, content) in p.pages.into_iter().enumerate() {
        let page_id = page_ids[k];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, W, H));
        page.parent(tree);
        page.contents(content_id);
        let mut res = page.resources();
        let mut f = res.fonts();
        for (name, id, _) in fonts {
            f.pair(name, id);
        }
        f.finish();
        res.finish();
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{LogInfo, Meta, Period};

    fn meta() -> Meta {
        Meta {
            created_at: "2023-12-01T00:00:00.000Z".into(),
            period: Period {
                from: "2023-11-01T00:00:00.000Z".into(),
                to: "2023-12-01T00:00:00.000Z".into(),
            },
            zones: vec!["PK".into()],
            unauthorised_only: false,
            log: LogInfo {
                origin: "skyfence.test/log".into(),
                key: "k".into(),
                checkpoint_size: 7,
                checkpoint_root: "ab".repeat(32),
            },
            checkpoint: "skyfence.test/log\n7\nq83v\n\n\u{2014} skyfence.test/log AAAA\n".into(),
        }
    }

    #[test]
    fn an_empty_period_is_a_valid_deterministic_pdf_that_says_so() {
        let meta = meta();
        let zones = BTreeMap::new();
        let model = Model {
            meta: &meta,
            rows: &[],
            zones: &zones,
        };
        let a = dossier_pdf(&model);
        assert!(a.starts_with(b"%PDF-"));
        assert!(a.ends_with(b"%%EOF") || a.ends_with(b"%%EOF\n"));
        assert_eq!(
            a,
            dossier_pdf(&model),
            "the same model gives the same bytes"
        );
        // Content streams are not compressed: the text is there as written.
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("No incursion was recorded in this period."));
        assert!(text.contains("page 1 of"));
        // The em dash of the signature line is not WinAnsi-safe ASCII: replaced.
        assert!(text.contains("? skyfence.test/log AAAA"));
        let html = crate::html::index_html(&model);
        assert!(html.contains("No incursion was recorded in this period."));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn long_text_is_cut_to_its_column() {
        assert_eq!(fit("short", 8.0, 100.0), "short");
        let cut = fit(&"x".repeat(100), 8.0, 44.0);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('~'));
    }
}
