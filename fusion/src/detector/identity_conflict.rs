//! `identity_conflict`: one MMSI reported at two places no single vessel could link, or a
//! name, call sign or IMO number changed at sea.
//!
//! Two places: the MMSI has two live tracks (see [`crate::track`]), each with at least
//! `min_reports` reports, both reporting within the last 30 minutes, more than
//! `min_distance_m` apart. The
//! `position_jump` raised when the second track started is then retracted: it was two
//! vessels, not one jumping. Identity changes are recorded in the vessel's history
//! always, and alerted when made farther than `min_port_distance_m` from any port.

use crate::alert::{AlertKind, AlertState, Severity, duration_text, one_decimal};
use crate::detector::invalid_identity;
use crate::engine::Ctx;
use crate::geodesy::METERS_PER_NM;
use crate::track::{Fix, StaticChange, StaticInfo, Vessel};
use ingest::model::AisObservation;
use jiff::Timestamp;

/// Both tracks must have reported within this long for the MMSI to be in two places, ms.
const BOTH_LIVE_MS: i64 = 30 * 60_000;
/// The conflict ends when one track has been silent this long, ms.
const ENDS_MS: i64 = 60 * 60_000;
/// Identity changes within this long of an alerted one are added to it, ms.
const DAY_MS: i64 = 24 * 3_600_000;
/// Most reasons an identity-change alert collects.
const MAX_REASONS: usize = 12;

pub(crate) fn on_fix(cx: &mut Ctx<'_>, v: &mut Vessel, fix: &Fix) {
    if v.conflict_alert.is_some() || v.segments.len() < 2 {
        return;
    }
    let min = cx.cfg.identity_conflict.min_reports;
    let mut live: Vec<_> = v
        .segments
        .iter()
        .filter(|s| s.reports >= min && fix.time_ms - s.last.time_ms <= BOTH_LIVE_MS)
        .collect();
    if live.len() < 2 {
        return;
    }
    live.sort_by_key(|s| std::cmp::Reverse(s.last.time_ms));
    let (a, b) = (live[0], live[1]);
    let d = a.last.position.distance_m(b.last.position);
    let tc = &cx.cfg.track;
    let secs = ((a.last.time_ms - b.last.time_ms).abs().max(10_000)) as f64 / 1000.0;
    if d <= tc.noise_m || crate::geodesy::speed_kn(d, secs) <= tc.max_speed_kn {
        // One vessel after all (a track split by a bad report): keep the longer track.
        let drop = if a.reports >= b.reports {
            b.number
        } else {
            a.number
        };
        v.segments.retain(|s| s.number != drop);
        // Down to one: back inline.
        v.segments.shrink_to_fit();
        v.latest = v
            .segments
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.last.time_ms)
            .map_or(0, |(i, _)| i);
        return;
    }
    if v.invalid_mmsi || d <= cx.cfg.identity_conflict.min_distance_m {
        return;
    }
    let reasons = vec![
        format!(
            "MMSI {} is reported at two places at once: {} (track {}, {} reports) and {} (track {}, {} reports), {} NM apart",
            v.mmsi,
            a.last.position,
            a.number,
            a.reports,
            b.last.position,
            b.number,
            b.reports,
            one_decimal(d / METERS_PER_NM),
        ),
        format!(
            "reports {} apart: no vessel could link them",
            duration_text((a.last.time_ms - b.last.time_ms).abs() / 1000)
        ),
    ];
    let start = Timestamp::from_millisecond(a.first_ms.max(b.first_ms)).unwrap_or(cx.now);
    let alert = cx.alert(
        AlertKind::IdentityConflict,
        &format!("{}-tracks", v.mmsi),
        start,
        Severity::High,
        vec![v.mmsi],
        a.last.position,
        0.85,
        reasons,
    );
    let conflict_id = cx.open(alert);
    v.count(AlertKind::IdentityConflict, 1);
    if let Some(jump) = v.jump_alert.take() {
        let retracted = cx.revise(&jump, |j| {
            j.state = AlertState::Retracted;
            j.reasons.push(format!(
                "retracted: two vessels transmit MMSI {} (see {conflict_id})",
                v.mmsi
            ));
        });
        if retracted.is_some() {
            v.count(AlertKind::PositionJump, -1);
        }
    }
    v.conflict_alert = Some(conflict_id);
}

/// The conflict ends when only one track is still reporting.
pub(crate) fn on_tick(cx: &mut Ctx<'_>, v: &mut Vessel) {
    let Some(id) = &v.conflict_alert else { return };
    let now_ms = cx.now.as_millisecond();
    let live = v
        .segments
        .iter()
        .filter(|s| now_ms - s.last.time_ms <= ENDS_MS)
        .count();
    if live >= 2 {
        return;
    }
    let id = id.clone();
    let last_two = v
        .segments
        .iter()
        .map(|s| s.last.time_ms)
        .min()
        .unwrap_or(now_ms);
    let end = Timestamp::from_millisecond(last_two).unwrap_or(cx.now);
    cx.revise(&id, |a| {
        a.state = AlertState::Closed;
        a.end = Some(end);
        a.reasons
            .push("ended: only one track still reports".to_string());
    });
    v.conflict_alert = None;
    // The silent track is dropped so that a later second vessel is a new conflict.
    if v.segments.len() >= 2 {
        let keep = v.latest;
        let kept = v.segments[keep].clone();
        v.segments = smallvec::smallvec![kept];
        v.latest = 0;
    }
}

/// Static and voyage data: record changes, alert on identity changes at sea.
pub(crate) fn on_static(cx: &mut Ctx<'_>, v: &mut Vessel, ais: &AisObservation, time: Timestamp) {
    let t_ms = time.as_millisecond();
    let position = v.last_fix().map(|f| f.position);
    let info = v
        .static_info
        .get_or_insert_with(|| Box::new(StaticInfo::default()));
    let mut changes: Vec<StaticChange> = Vec::new();
    let mut change = |field: &'static str, old: Option<String>, new: String| {
        changes.push(StaticChange {
            time_ms: t_ms,
            field,
            from: old,
            to: new,
            position,
        });
    };
    let norm = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_uppercase()
    };
    if let Some(name) = ais.name.as_deref().map(norm).filter(|n| !n.is_empty())
        && info.name.as_deref() != Some(name.as_str())
    {
        change(
            "name",
            info.name.as_deref().map(str::to_string),
            name.clone(),
        );
        info.name = Some(name.into());
    }
    if let Some(cs) = ais.callsign.as_deref().map(norm).filter(|n| !n.is_empty())
        && info.callsign.as_deref() != Some(cs.as_str())
    {
        change(
            "callsign",
            info.callsign.as_deref().map(str::to_string),
            cs.clone(),
        );
        info.callsign = Some(cs.into());
    }
    if let Some(imo) = ais
        .imo
        .filter(|&i| i != 0)
        .map(invalid_identity::normalize_imo)
        && info.imo != Some(imo)
    {
        change("imo", info.imo.map(|i| i.to_string()), imo.to_string());
        info.imo = Some(imo);
    }
    if let Some(t) = ais.ship_type.filter(|&t| t != 0)
        && info.ship_type != Some(t)
    {
        change(
            "ship_type",
            info.ship_type.map(|i| i.to_string()),
            t.to_string(),
        );
        info.ship_type = Some(t);
    }
    if let Some(len) = ais.length_m.filter(|&l| l != 0) {
        info.length_m = Some(len);
    }
    if let Some(dest) = ais
        .destination
        .as_deref()
        .map(norm)
        .filter(|n| !n.is_empty())
        && info.destination.as_deref() != Some(dest.as_str())
    {
        change(
            "destination",
            info.destination.as_deref().map(str::to_string),
            dest.clone(),
        );
        info.destination = Some(dest.into());
    }
    let imo = info.imo;
    if cx.cfg.invalid_identity.enabled
        && let Some(imo) = imo
    {
        invalid_identity::check_imo(cx, v, imo, time);
    }
    if !cx.cfg.identity_conflict.enabled {
        v.static_history.extend(changes);
        return;
    }
    let at_sea_changes: Vec<&StaticChange> = changes
        .iter()
        .filter(|c| matches!(c.field, "name" | "callsign" | "imo") && c.from.is_some())
        .collect();
    if let (Some(first), Some(p)) = (at_sea_changes.first(), position)
        && v.last_fix()
            .is_some_and(|f| t_ms - f.time_ms <= BOTH_LIVE_MS)
        && cx.port_distance_m(v, p) > cx.cfg.identity_conflict.min_port_distance_m
    {
        let reasons: Vec<String> = at_sea_changes
            .iter()
            .map(|c| {
                format!(
                    "{} changed from {} to {} at sea, at {}, {}",
                    c.field,
                    c.from.as_deref().unwrap_or("?"),
                    c.to,
                    p,
                    cx.port_text(p)
                )
            })
            .collect();
        // Changes within a day of an alerted one add to it rather than flood.
        match v.identity_alert.clone() {
            Some((id, at)) if t_ms - at < DAY_MS => {
                cx.revise(&id, |a| {
                    if a.reasons.len() < MAX_REASONS {
                        a.reasons.extend(reasons);
                    }
                    a.end = Some(time);
                });
            }
            _ => {
                let mut a = cx.alert(
                    AlertKind::IdentityConflict,
                    &format!("{}-{}", v.mmsi, first.field),
                    time,
                    Severity::Medium,
                    vec![v.mmsi],
                    p,
                    0.6,
                    reasons,
                );
                a.end = Some(time);
                let id = cx.open(a);
                v.identity_alert = Some((id, t_ms));
                v.count(AlertKind::IdentityConflict, 1);
            }
        }
    }
    v.static_history.extend(changes);
}
