//! The printable report as PDF (`report.pdf`), for a court file that takes PDF only: the
//! same content as [`super::html::html`] (header with the log head, the positions on a
//! map, the timeline with each entry's hash, every authorization and decision, the evidence
//! with custody, manifests and hashes), laid out on A4 pages with the PDF standard fonts
//! (Helvetica for headings, Courier for the text, so hashes keep their columns). Written
//! directly (PDF 1.4, uncompressed, cross-reference table), no dependency.

use std::fmt::Write;

use super::export::Bundle;

/// A4 in points.
const PAGE_W: f64 = 595.0;
const PAGE_H: f64 = 842.0;
const MARGIN: f64 = 40.0;
/// Body text: Courier 8 pt (a character is 0.6 em wide).
const BODY_PT: f64 = 8.0;
const LINE: f64 = 10.0;
/// Characters per body line.
const COLS: usize = ((PAGE_W - 2.0 * MARGIN) / (BODY_PT * 0.6)) as usize;

/// One piece of a page.
enum Item {
    /// A heading (Helvetica-Bold 12 pt).
    Heading(String),
    /// A line of body text.
    Text(String),
    /// The map: the log's positions (numbered) and the alerts' tracks.
    Map(Vec<(u64, f64, f64)>, Vec<Vec<(f64, f64)>>),
}

/// PDF string literal, pure ASCII: Latin-1 letters as octal escapes (WinAnsi shows them),
/// dashes as `-`, anything else outside Latin-1 as `?`.
fn pdf_str(s: &str) -> Vec<u8> {
    let mut o = vec![b'('];
    for c in s.chars() {
        match c {
            '(' | ')' | '\\' => {
                o.push(b'\\');
                o.push(c as u8);
            }
            '\u{20}'..='\u{7e}' => o.push(c as u8),
            '\u{a0}'..='\u{ff}' => o.extend_from_slice(format!("\\{:03o}", c as u32).as_bytes()),
            '\u{2013}' | '\u{2014}' | '\u{2212}' => o.push(b'-'),
            _ => o.push(b'?'),
        }
    }
    o.push(b')');
    o
}

/// Wrap text to [`COLS`] characters, continuation lines indented.
fn wrap(text: &str, out: &mut Vec<Item>) {
    for para in text.split('\n') {
        let chars: Vec<char> = para.chars().collect();
        if chars.is_empty() {
            out.push(Item::Text(String::new()));
            continue;
        }
        let mut start = 0;
        let mut first = true;
        while start < chars.len() {
            let width = if first { COLS } else { COLS - 4 };
            let mut end = (start + width).min(chars.len());
            if end < chars.len()
                && let Some(sp) = chars[start..end].iter().rposition(|c| *c == ' ')
                && sp > width / 2
            {
                end = start + sp + 1;
            }
            let piece: String = chars[start..end].iter().collect();
            out.push(Item::Text(if first {
                piece.trim_end().to_owned()
            } else {
                format!("    {}", piece.trim_end())
            }));
            start = end;
            first = false;
        }
    }
}

fn items(b: &Bundle) -> Vec<Item> {
    let mut v = Vec::new();
    v.push(Item::Heading(format!("Interception log {}", b.incident)));
    wrap(
        &format!(
            "Exported {} by {}.\nLog head SHA-256 {}\nCheck the export offline: tidewatch verify DIR",
            b.exported_at, b.exported_by, b.log_head
        ),
        &mut v,
    );
    v.push(Item::Heading("Positions".into()));
    let pts: Vec<(u64, f64, f64)> = b
        .log
        .entries
        .iter()
        .filter_map(|e| e.entry.position.map(|p| (e.seq, p.lat, p.lon)))
        .collect();
    let tracks: Vec<Vec<(f64, f64)>> = b
        .tracks
        .iter()
        .map(|t| t.points.iter().map(|&(_, la, lo)| (la, lo)).collect())
        .filter(|p: &Vec<(f64, f64)>| !p.is_empty())
        .collect();
    if pts.is_empty() && tracks.is_empty() {
        wrap("No entry of this log carries a position.", &mut v);
    } else {
        v.push(Item::Map(pts, tracks));
    }
    for t in &b.tracks {
        if let (Some(a), Some(z)) = (t.points.first(), t.points.last()) {
            wrap(
                &format!(
                    "Track {} (dashed): {} positions from {} to {}",
                    t.id,
                    t.points.len(),
                    a.0,
                    z.0
                ),
                &mut v,
            );
        }
    }
    v.push(Item::Heading("Timeline".into()));
    for e in &b.log.entries {
        let n = &e.entry;
        let mut t = format!(
            "#{} {:?} occurred {} ({:?}), recorded {}\n  by {} ({}){}{}",
            e.seq,
            n.event,
            n.occurred_at,
            n.time_source,
            e.recorded_at,
            n.actor.user,
            n.actor.role,
            n.actor
                .unit
                .as_ref()
                .map_or(String::new(), |u| format!(", {u}")),
            n.actor
                .on_behalf_of
                .as_ref()
                .map_or(String::new(), |o| format!(", for {o}")),
        );
        if let Some(p) = n.position {
            let _ = write!(t, "\n  at {:.4}N {:.4}E", p.lat, p.lon);
            if let Some(z) = &n.zone {
                let _ = write!(t, " ({z})");
            }
        }
        let _ = write!(t, "\n  why: {}", n.why);
        if let Some(r) = &n.late_reason {
            let _ = write!(t, "\n  recorded late: {r}");
        }
        if let Some(c) = n.corrects {
            let _ = write!(t, "\n  corrects #{c}");
        }
        if !n.details.is_null() && n.details != serde_json::json!({}) {
            let _ = write!(t, "\n  details: {}", n.details);
        }
        let _ = write!(t, "\n  hash {}", e.hash);
        wrap(&t, &mut v);
    }
    v.push(Item::Heading("Authorizations and decisions".into()));
    if b.art8.is_empty() {
        wrap("No article-8 case.", &mut v);
    }
    for (i, c) in b.art8.iter().enumerate() {
        let mut t = format!(
            "Article-8 case {}: {:?}, basis {:?}, flag {}",
            i + 1,
            c.state,
            c.basis,
            c.flag_state.as_deref().unwrap_or("none")
        );
        if let Some(a) = &c.authorization {
            let _ = write!(
                t,
                "\nAuthorization {} by {}: {:?}, valid from {} to {}{}",
                a.reference,
                a.issued_by,
                a.measures,
                a.valid_from,
                a.valid_to.map_or("no end".into(), |t| t.to_string()),
                a.deemed_under
                    .as_ref()
                    .map_or(String::new(), |d| format!(" (deemed under {d})"))
            );
            for k in &a.conditions {
                let _ = write!(
                    t,
                    "\n  condition: {}; acknowledged {}; {}",
                    k.text,
                    k.acknowledged
                        .as_ref()
                        .map_or("NOT YET".into(), |(w, at)| format!("by {w} at {at}")),
                    match k.complied {
                        None => "compliance pending",
                        Some(true) => "complied with",
                        Some(false) => "NOT complied with",
                    }
                );
            }
        }
        for m in &c.messages {
            let _ = write!(
                t,
                "\n  message {} {} via {}, our ref {}, their ref {}, content SHA-256 {}",
                m.at,
                m.authority,
                m.channel,
                m.our_ref,
                m.their_ref.as_deref().unwrap_or("-"),
                m.content_sha256
            );
        }
        for e in &c.log {
            let _ = write!(
                t,
                "\n  {} {} ({:?}): {} -> {:?}",
                e.occurred_at, e.by.name, e.by.role, e.what, e.state
            );
        }
        wrap(&t, &mut v);
    }
    v.push(Item::Heading("Evidence".into()));
    for ex in b.evidence.exhibits.values() {
        let mut t = format!(
            "{}: {} (found: {}); legal basis {:?}; {:?}",
            ex.number, ex.description, ex.found, ex.basis, ex.status
        );
        for f in &ex.files {
            let _ = write!(
                t,
                "\n  file {} ({} bytes) SHA-256 {}",
                f.name, f.size, f.sha256
            );
        }
        for c in &ex.custody {
            let _ = write!(
                t,
                "\n  {:?} {} -> {} at {}, {}, seal {}{}",
                c.kind,
                c.from,
                c.to,
                c.at,
                c.place,
                c.seal,
                c.reason
                    .as_ref()
                    .map_or(String::new(), |r| format!(" ({r})"))
            );
        }
        wrap(&t, &mut v);
    }
    for (i, m) in b.evidence.manifests.iter().enumerate() {
        wrap(
            &format!(
                "Manifest {} {} {:?} signed by {}\n  key       {}\n  hash      {}\n  signature {}\n            {}",
                i + 1,
                m.exhibit,
                m.event.kind,
                m.signer,
                m.public_key,
                m.hash,
                m.signature.get(..64).unwrap_or(&m.signature),
                m.signature.get(64..).unwrap_or("")
            ),
            &mut v,
        );
    }
    v
}

/// The height of the map box, points.
const MAP_H: f64 = 300.0;

fn draw_map(pts: &[(u64, f64, f64)], tracks: &[Vec<(f64, f64)>], top: f64, s: &mut String) {
    let (la0, la1, lo0, lo1) = super::html::map_bounds(
        pts.iter()
            .map(|&(_, la, lo)| (la, lo))
            .chain(tracks.iter().flatten().copied()),
    );
    let k = ((la0 + la1) / 2.0).to_radians().cos();
    let w = PAGE_W - 2.0 * MARGIN;
    // One scale for both axes (a degree of longitude is cos(lat) of one of latitude).
    let scale = (w / ((lo1 - lo0) * k)).min(MAP_H / (la1 - la0));
    let x = |lo: f64| MARGIN + (lo - lo0) * k * scale;
    let y = |la: f64| top - (la1 - la) * scale;
    let _ = writeln!(
        s,
        "0.6 G 0.5 w {MARGIN:.1} {:.1} {w:.1} {MAP_H:.1} re S",
        top - MAP_H
    );
    for t in tracks {
        let _ = write!(s, "0.45 G 0.8 w [3 2] 0 d ");
        for (i, &(la, lo)) in t.iter().enumerate() {
            let _ = write!(
                s,
                "{:.1} {:.1} {} ",
                x(lo),
                y(la),
                if i == 0 { "m" } else { "l" }
            );
        }
        let _ = writeln!(s, "S [] 0 d");
    }
    let _ = write!(s, "0 0 0.6 RG 1 w ");
    for (i, &(_, la, lo)) in pts.iter().enumerate() {
        let _ = write!(
            s,
            "{:.1} {:.1} {} ",
            x(lo),
            y(la),
            if i == 0 { "m" } else { "l" }
        );
    }
    let _ = writeln!(s, "S");
    for &(seq, la, lo) in pts {
        let (px, py) = (x(lo), y(la));
        let _ = writeln!(
            s,
            "0.7 0 0 rg {:.1} {:.1} 3 3 re f 0 g BT /F2 7 Tf {:.1} {:.1} Td ",
            px - 1.5,
            py - 1.5,
            px + 3.0,
            py + 2.0
        );
        s.push_str(&String::from_utf8_lossy(&pdf_str(&format!("#{seq}"))));
        s.push_str(" Tj ET\n");
    }
    let _ = writeln!(
        s,
        "0 g BT /F2 7 Tf {MARGIN:.1} {:.1} Td ",
        top - MAP_H - 9.0
    );
    s.push_str(&String::from_utf8_lossy(&pdf_str(&format!(
        "{:.4}N to {:.4}N, {:.4}E to {:.4}E; points numbered by log entry",
        la0, la1, lo0, lo1
    ))));
    s.push_str(" Tj ET\n");
}

/// The report of `b` as a PDF document.
pub fn pdf(b: &Bundle) -> Vec<u8> {
    // Lay out pages as content streams.
    let mut pages: Vec<Vec<u8>> = Vec::new();
    let mut cur: Vec<u8> = Vec::new();
    let mut y = PAGE_H - MARGIN;
    let footer = |n: usize, page: &mut Vec<u8>| {
        let mut s = format!("0 g BT /F2 7 Tf {MARGIN:.1} 20 Td ");
        s.push_str(&String::from_utf8_lossy(&pdf_str(&format!(
            "Interception log {} - page {n} - log head {}",
            b.incident, b.log_head
        ))));
        s.push_str(" Tj ET\n");
        page.extend_from_slice(s.as_bytes());
    };
    for item in items(b) {
        let need = match &item {
            Item::Heading(_) => 24.0,
            Item::Text(_) => LINE,
            Item::Map(..) => MAP_H + 16.0,
        };
        if y - need < MARGIN {
            footer(pages.len() + 1, &mut cur);
            pages.push(std::mem::take(&mut cur));
            y = PAGE_H - MARGIN;
        }
        match item {
            Item::Heading(t) => {
                y -= 18.0;
                let mut s = format!("0 g BT /F1 12 Tf {MARGIN:.1} {y:.1} Td ");
                s.push_str(&String::from_utf8_lossy(&pdf_str(&t)));
                s.push_str(" Tj ET\n");
                cur.extend_from_slice(s.as_bytes());
                y -= 6.0;
            }
            Item::Text(t) => {
                y -= LINE;
                let mut s = format!("0 g BT /F2 {BODY_PT} Tf {MARGIN:.1} {y:.1} Td ").into_bytes();
                s.extend_from_slice(&pdf_str(&t));
                s.extend_from_slice(b" Tj ET\n");
                cur.extend_from_slice(&s);
            }
            Item::Map(pts, tracks) => {
                let mut s = String::new();
                draw_map(&pts, &tracks, y - 4.0, &mut s);
                cur.extend_from_slice(s.as_bytes());
                y -= MAP_H + 16.0;
            }
        }
    }
    footer(pages.len() + 1, &mut cur);
    pages.push(cur);

    // Objects: 1 catalog, 2 pages, 3 Helvetica-Bold, 4 Courier, then page and content pairs.
    let n = pages.len();
    let mut objs: Vec<Vec<u8>> = Vec::new();
    objs.push(b"<< /Type /Catalog /Pages 2 0 R >>".to_vec());
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 5 + 2 * i)).collect();
    objs.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes());
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>"
            .to_vec(),
    );
    objs.push(
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>".to_vec(),
    );
    for (i, content) in pages.iter().enumerate() {
        objs.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_W} {PAGE_H}] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents {} 0 R >>",
                6 + 2 * i
            )
            .into_bytes(),
        );
        let mut c = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
        c.extend_from_slice(content);
        c.extend_from_slice(b"\nendstream");
        objs.push(c);
    }
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::with_capacity(objs.len());
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut x = format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1);
    for off in offsets {
        let _ = writeln!(x, "{off:010} 00000 n ");
    }
    let _ = write!(
        x,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objs.len() + 1
    );
    out.extend_from_slice(x.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::report::export::{BUNDLE, tests::sample_export};

    #[test]
    fn the_pdf_has_a_valid_cross_reference_table_and_every_hash() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("export");
        sample_export(&dir);
        let b: Bundle = serde_json::from_slice(&std::fs::read(dir.join(BUNDLE)).unwrap()).unwrap();
        let doc = pdf(&b);
        // Kept for a look: target/test-artifacts/report/sample.pdf.
        let art = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../target/test-artifacts/report");
        std::fs::create_dir_all(&art).unwrap();
        std::fs::write(art.join("sample.pdf"), &doc).unwrap();
        // Latin-1 view: one char per byte, so byte offsets index it.
        let text: Vec<char> = doc.iter().map(|&c| c as char).collect();
        let at = |off: usize, what: &str| {
            text[off..]
                .iter()
                .take(what.len())
                .copied()
                .eq(what.chars())
        };
        let text: String = text.iter().collect::<String>();
        assert!(doc.starts_with(b"%PDF-1.4") && doc.ends_with(b"%%EOF\n"));
        let tail = String::from_utf8_lossy(&doc[doc.len() - 40..]).into_owned();
        let start: usize = tail
            .rsplit("startxref\n")
            .next()
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(doc[start..].starts_with(b"xref\n"));
        // Every offset in the table points at its object.
        let table = String::from_utf8_lossy(&doc[start..]).into_owned();
        let mut objects = 0;
        for (i, line) in table
            .lines()
            .skip(3)
            .take_while(|l| l.ends_with(" n "))
            .enumerate()
        {
            let off: usize = line[..10].parse().unwrap();
            assert!(at(off, &format!("{} 0 obj", i + 1)), "object {}", i + 1);
            objects += 1;
        }
        assert!(objects >= 6);
        // Latin-1 letters survive as octal escapes; the stream stays ASCII.
        assert_eq!(pdf_str("Café (x)"), b"(Caf\\351 \\(x\\))".to_vec());
        assert_eq!(pdf_str("→ 47"), b"(? 47)".to_vec());
        for e in &b.log.entries {
            assert!(text.contains(&e.hash), "entry {} hash", e.seq);
        }
        for m in &b.evidence.manifests {
            // A signature is printed in two halves, one per line.
            assert!(text.contains(&m.signature[..64]) && text.contains(&m.signature[64..]));
            assert!(text.contains(&m.hash));
        }
    }
}
