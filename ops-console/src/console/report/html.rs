//! The printable report of an export (`report.html`): one self-contained HTML page (no
//! script, no external resource) a reviewer can read or print: the positions of the log on
//! a map, the whole timeline, every authorization and decision of the article-8 cases, and
//! the evidence with its custody, manifests and hashes. It is derived from the bundle:
//! `tidewatch verify` checks the bundle, not the page.

use std::fmt::Write;

use super::export::Bundle;
use tidewatch_cases::art8::Art8Case;

/// HTML-escape text.
fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The bounds of a map of `points` (latitude, longitude): south, north, west, east, with a
/// margin, at least 2 NM across. Shared by the HTML and PDF reports.
pub(crate) fn map_bounds(points: impl Iterator<Item = (f64, f64)>) -> (f64, f64, f64, f64) {
    let (mut la0, mut la1, mut lo0, mut lo1) = (90.0f64, -90.0f64, 180.0f64, -180.0f64);
    for (la, lo) in points {
        la0 = la0.min(la);
        la1 = la1.max(la);
        lo0 = lo0.min(lo);
        lo1 = lo1.max(lo);
    }
    let pad = ((la1 - la0).max(lo1 - lo0) * 0.1).max(1.0 / 60.0);
    (la0 - pad, la1 + pad, lo0 - pad, lo1 + pad)
}

/// The positions of the log as an SVG map (equirectangular, scaled by latitude), with
/// numbered points in time order.
fn map(b: &Bundle) -> String {
    let pts: Vec<(u64, f64, f64)> = b
        .log
        .entries
        .iter()
        .filter_map(|e| e.entry.position.map(|p| (e.seq, p.lat, p.lon)))
        .collect();
    if pts.is_empty() && b.tracks.iter().all(|t| t.points.is_empty()) {
        return "<p>No entry of this log carries a position.</p>".to_owned();
    }
    let track_pts = b
        .tracks
        .iter()
        .flat_map(|t| t.points.iter().map(|&(_, la, lo)| (la, lo)));
    let (la0, la1, lo0, lo1) = map_bounds(pts.iter().map(|&(_, la, lo)| (la, lo)).chain(track_pts));
    let k = ((la0 + la1) / 2.0).to_radians().cos();
    let (w, h) = (640.0, 640.0 * (la1 - la0) / ((lo1 - lo0) * k));
    let h = h.clamp(200.0, 900.0);
    let x = |lo: f64| (lo - lo0) / (lo1 - lo0) * w;
    let y = |la: f64| (la1 - la) / (la1 - la0) * h;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="map" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img" aria-label="positions of the log">"#
    );
    let _ = write!(
        s,
        r##"<rect width="100%" height="100%" fill="#eef4f8"/><text x="4" y="14" font-size="11">{la1:.3}°N {lo0:.3}°E</text><text x="{:.0}" y="{:.0}" font-size="11" text-anchor="end">{la0:.3}°N {lo1:.3}°E</text>"##,
        w - 4.0,
        h - 4.0
    );
    // The tracks of the incident's alerts, grey, each labelled at its newest point.
    for t in &b.tracks {
        let line: Vec<String> = t
            .points
            .iter()
            .map(|&(_, la, lo)| format!("{:.1},{:.1}", x(lo), y(la)))
            .collect();
        let _ = write!(
            s,
            r##"<polyline points="{}" fill="none" stroke="#777" stroke-width="1.5" stroke-dasharray="4 2"/>"##,
            line.join(" ")
        );
        if let Some(&(at, la, lo)) = t.points.last() {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#555">{} {}</text>"##,
                x(lo) + 4.0,
                y(la) + 12.0,
                esc(&t.id),
                at
            );
        }
    }
    let line: Vec<String> = pts
        .iter()
        .map(|&(_, la, lo)| format!("{:.1},{:.1}", x(lo), y(la)))
        .collect();
    let _ = write!(
        s,
        r##"<polyline points="{}" fill="none" stroke="#1f5f8b" stroke-width="2"/>"##,
        line.join(" ")
    );
    for &(seq, la, lo) in &pts {
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="4" fill="#c0392b"/><text x="{:.1}" y="{:.1}" font-size="11">{seq}</text>"##,
            x(lo),
            y(la),
            x(lo) + 6.0,
            y(la) - 6.0
        );
    }
    s.push_str("</svg>");
    s
}

fn art8(c: &Art8Case, n: usize) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<h3>Article-8 case {n}</h3><p>State <b>{:?}</b>; basis {}; flag State {}.</p>",
        c.state,
        esc(&c
            .basis
            .as_ref()
            .map_or("none yet".into(), |b| format!("{b:?}"))),
        esc(c.flag_state.as_deref().unwrap_or("none"))
    );
    if let Some(a) = &c.authorization {
        let _ = write!(
            s,
            "<p>Authorization <b>{}</b> by {}{}: measures {}; valid from {} to {}.</p><ul>",
            esc(&a.reference),
            esc(&a.issued_by),
            a.deemed_under.as_ref().map_or(String::new(), |d| format!(
                " (deemed under agreement clause {})",
                esc(d)
            )),
            esc(&format!("{:?}", a.measures)),
            a.valid_from,
            a.valid_to.map_or("no end".into(), |t| t.to_string())
        );
        for cond in &a.conditions {
            let _ = write!(
                s,
                "<li>Condition: {}; acknowledged {}; compliance {}</li>",
                esc(&cond.text),
                esc(&cond
                    .acknowledged
                    .as_ref()
                    .map_or("NOT YET".into(), |(w, t)| format!("by {w} at {t}"))),
                match cond.complied {
                    None => "pending",
                    Some(true) => "complied with",
                    Some(false) => "NOT complied with",
                }
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("<table><tr><th>at</th><th>authority</th><th>channel</th><th>our ref</th><th>their ref</th><th>content SHA-256</th></tr>");
    for m in &c.messages {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=h>{}</td></tr>",
            m.at,
            esc(&m.authority),
            esc(&m.channel),
            esc(&m.our_ref),
            esc(m.their_ref.as_deref().unwrap_or("")),
            esc(&m.content_sha256)
        );
    }
    s.push_str("</table><table><tr><th>occurred</th><th>recorded</th><th>who</th><th>what</th><th>state after</th></tr>");
    for e in &c.log {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{} ({:?})</td><td>{}</td><td>{:?}</td></tr>",
            e.occurred_at,
            e.recorded_at,
            esc(&e.by.name),
            e.by.role,
            esc(&e.what),
            e.state
        );
    }
    s.push_str("</table>");
    s
}

/// The report of `b` as one HTML page.
pub fn html(b: &Bundle) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Interception log {inc}</title><style>
body{{font:13px/1.4 system-ui,sans-serif;margin:2em;color:#111}} table{{border-collapse:collapse;width:100%;margin:.5em 0 1.5em}}
td,th{{border:1px solid #bbb;padding:3px 5px;vertical-align:top;text-align:left}} th{{background:#eee}}
.h{{font-family:monospace;font-size:11px;word-break:break-all}} h2{{border-bottom:2px solid #1f5f8b}}
@media print{{body{{margin:0}} h2{{break-before:page}} h2:first-of-type{{break-before:auto}} tr{{break-inside:avoid}}}}
</style></head><body><h1>Interception log {inc}</h1>
<p>Exported {at} by {by}. Log head SHA-256 <span class=h>{head}</span>. Check the export with <code>tidewatch verify DIR</code>.</p>"#,
        inc = esc(&b.incident),
        at = b.exported_at,
        by = esc(&b.exported_by),
        head = esc(&b.log_head)
    );
    let _ = write!(s, "<h2>Positions</h2>{}", map(b));
    s.push_str("<h2>Timeline</h2><table><tr><th>#</th><th>occurred</th><th>recorded</th><th>who</th><th>what</th><th>where</th><th>why</th><th>hash</th></tr>");
    for e in &b.log.entries {
        let n = &e.entry;
        let late = n
            .late_reason
            .as_ref()
            .map_or(String::new(), |r| format!("<br><i>late: {}</i>", esc(r)));
        let corrects = n
            .corrects
            .map_or(String::new(), |c| format!("<br><i>corrects #{c}</i>"));
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{} ({:?})</td><td>{}{late}</td><td>{} ({}){}</td><td>{:?}{corrects}</td><td>{}{}</td><td>{}</td><td class=h>{}</td></tr>",
            e.seq,
            n.occurred_at,
            n.time_source,
            e.recorded_at,
            esc(&n.actor.user),
            esc(&n.actor.role),
            esc(&n
                .actor
                .unit
                .as_ref()
                .map_or(String::new(), |u| format!(", {u}"))),
            n.event,
            n.position
                .map_or(String::new(), |p| format!("{:.4}°N {:.4}°E ", p.lat, p.lon)),
            esc(n.zone.as_deref().unwrap_or("")),
            esc(&n.why),
            esc(&e.hash)
        );
    }
    s.push_str("</table><h2>Authorizations and decisions</h2>");
    if b.art8.is_empty() {
        s.push_str("<p>No article-8 case.</p>");
    }
    for (i, c) in b.art8.iter().enumerate() {
        s.push_str(&art8(c, i + 1));
    }
    s.push_str("<h2>Evidence</h2>");
    for ex in b.evidence.exhibits.values() {
        let _ = write!(
            s,
            "<h3>{}</h3><p>{} — found: {}; legal basis: {}; status {:?}.</p><table><tr><th>file</th><th>bytes</th><th>SHA-256 at capture</th></tr>",
            esc(&ex.number),
            esc(&ex.description),
            esc(&ex.found),
            esc(&format!("{:?}", ex.basis)),
            ex.status
        );
        for f in &ex.files {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td class=h>{}</td></tr>",
                esc(&f.name),
                f.size,
                esc(&f.sha256)
            );
        }
        s.push_str("</table><table><tr><th>custody</th><th>from</th><th>to</th><th>at</th><th>place</th><th>seal</th><th>reason</th></tr>");
        for c in &ex.custody {
            let _ = write!(
                s,
                "<tr><td>{:?}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.kind,
                esc(&c.from),
                esc(&c.to),
                c.at,
                esc(&c.place),
                esc(&c.seal),
                esc(c.reason.as_deref().unwrap_or(""))
            );
        }
        s.push_str("</table>");
    }
    s.push_str("<h3>Signed manifests</h3><table><tr><th>#</th><th>exhibit</th><th>event</th><th>signer</th><th>Ed25519 public key</th><th>hash</th><th>signature</th></tr>");
    for (i, m) in b.evidence.manifests.iter().enumerate() {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{:?}</td><td>{}</td><td class=h>{}</td><td class=h>{}</td><td class=h>{}</td></tr>",
            i + 1,
            esc(&m.exhibit),
            m.event.kind,
            esc(&m.signer),
            esc(&m.public_key),
            esc(&m.hash),
            esc(&m.signature)
        );
    }
    s.push_str("</table></body></html>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::report::export::{BUNDLE, tests::sample_export};

    #[test]
    fn the_report_shows_the_timeline_map_evidence_and_hashes_escaped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("export");
        sample_export(&dir);
        let mut b: Bundle =
            serde_json::from_slice(&std::fs::read(dir.join(BUNDLE)).unwrap()).unwrap();
        b.exported_by = "<script>alert(1)</script>".into();
        let page = html(&b);
        assert!(!page.contains("<script>"));
        assert!(page.contains("&lt;script&gt;"));
        for e in &b.log.entries {
            assert!(page.contains(&e.hash), "entry {} hash", e.seq);
        }
        assert!(page.contains("engine plate photographed"));
        for m in &b.evidence.manifests {
            assert!(page.contains(&m.signature));
        }
        assert!(page.contains(&b.evidence.exhibits.values().next().unwrap().files[0].sha256));
        // No positions in this log: said, not drawn.
        assert!(page.contains("No entry of this log carries a position"));
        b.log.entries[0].entry.position = Some(tidewatch_cases::log::LogPosition {
            lat: 35.2,
            lon: 12.75,
            accuracy_nm: 0.01,
        });
        b.log.entries[1].entry.position = Some(tidewatch_cases::log::LogPosition {
            lat: 35.25,
            lon: 12.72,
            accuracy_nm: 0.01,
        });
        let page = html(&b);
        assert!(page.contains("<polyline") && page.matches("<circle").count() == 2);
    }
}
