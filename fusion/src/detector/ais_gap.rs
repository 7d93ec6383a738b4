//! `ais_gap`: a vessel stops reporting where other vessels are still heard.
//!
//! Reception-aware: a silence counts only
//! when at least `min_other_vessels` other vessels have been heard, in the last half of
//! the gap, both within `coverage_radius_m` of the vessel's last position and of where
//! it would be by now on its last course and speed, so a vessel that sailed out of
//! coverage, or sits in a coverage hole, raises nothing. Silences in port and of moored
//! vessels are not gaps. A report arriving late that splits the silence below the
//! threshold retracts the alert; the vessel's return closes it.

use crate::alert::{AlertKind, AlertState, Severity, duration_text, one_decimal};
use crate::coverage::Coverage;
use crate::engine::Ctx;
use crate::geodesy::{METERS_PER_NM, speed_kn};
use crate::track::{Fix, Vessel};
use jiff::Timestamp;

/// Re-run the coverage test for a silent vessel at most this often, ms.
const RECHECK_MS: i64 = 10 * 60_000;

pub(crate) fn on_tick(cx: &mut Ctx<'_>, v: &mut Vessel, coverage: &Coverage) {
    let c = &cx.cfg.ais_gap;
    let now_ms = cx.now.as_millisecond();
    let Some(last) = v.last_fix().copied() else {
        return;
    };
    let gap_ms = now_ms - last.time_ms;
    let min_gap_ms = (c.min_gap_min * 60_000.0) as i64;
    if v.gap_alert.is_some()
        || gap_ms < min_gap_ms
        || v.reports < c.min_reports
        || now_ms - v.gap_checked_ms < RECHECK_MS
        || last.nav_status == 5
        || !is_vessel_mmsi(v.mmsi)
    {
        return;
    }
    v.gap_checked_ms = now_ms;
    if cx.port_distance_m(v, last.position) <= c.port_radius_m {
        return;
    }
    let since = now_ms - gap_ms / 2;
    let at_last = coverage.others_heard(last.position, c.coverage_radius_m, v.mmsi, since);
    if (at_last.len() as u32) < c.min_other_vessels {
        return;
    }
    let reckoned = last.dead_reckon(now_ms);
    let at_reckoned = coverage.others_heard(reckoned, c.coverage_radius_m, v.mmsi, since);
    if (at_reckoned.len() as u32) < c.min_other_vessels {
        return;
    }
    let heard = at_last.len().max(at_reckoned.len());
    let mut reasons = vec![format!(
        "{} silent for {} since {}, {}; {} other vessels heard within {:.0} km of there since",
        v.label(),
        duration_text(gap_ms / 1000),
        last.position,
        cx.port_text(last.position),
        heard,
        c.coverage_radius_m / 1000.0,
    )];
    if reckoned.distance_m(last.position) > 1000.0 {
        reasons.push(format!(
            "its course and speed ({} kn on {:.0}°) would have kept it in coverage",
            one_decimal(last.sog().unwrap_or(0.0)),
            last.cog().unwrap_or(0.0)
        ));
    }
    let score = 0.5 + 0.1 * (heard.min(5) as f64) - 0.1 * (last.sog().is_none() as u8 as f64);
    let a = cx.alert(
        AlertKind::AisGap,
        &v.mmsi.to_string(),
        last.time(),
        Severity::Medium,
        vec![v.mmsi],
        last.position,
        score,
        reasons,
    );
    v.gap_alert = Some(cx.open(a));
    v.count(AlertKind::AisGap, 1);
}

/// The vessel reported again: its gap, if alerted, ends.
pub(crate) fn on_fix(cx: &mut Ctx<'_>, v: &mut Vessel, previous: Option<&Fix>, fix: &Fix) {
    let Some(id) = v.gap_alert.take() else {
        v.gap_checked_ms = 0;
        return;
    };
    v.gap_checked_ms = 0;
    let Some(prev) = previous else { return };
    let d = prev.position.distance_m(fix.position);
    let secs = (fix.time_ms - prev.time_ms) as f64 / 1000.0;
    let end = fix.time();
    let min_gap_ms = (cx.cfg.ais_gap.min_gap_min * 60_000.0) as i64;
    if fix.time_ms - prev.time_ms < min_gap_ms {
        // Made inside the silence, delivered late: there was no gap.
        let (made, now) = (fix.time(), cx.now);
        cx.revise(&id, |a| {
            a.state = AlertState::Retracted;
            a.reasons.push(format!(
                "retracted: a report made at {made} at {} arrived late (at {now}); the silence was {}, under {}",
                fix.position,
                duration_text(secs as i64),
                duration_text(min_gap_ms / 1000)
            ));
        });
        v.count(AlertKind::AisGap, -1);
        return;
    }
    cx.revise(&id, |a| {
        a.state = AlertState::Closed;
        a.end = Some(end);
        a.reasons.push(format!(
            "reported again after {} at {}, {} NM from its last position (implied {} kn)",
            duration_text(secs as i64),
            fix.position,
            one_decimal(d / METERS_PER_NM),
            one_decimal(speed_kn(d, secs)),
        ));
    });
}

/// A report older than the vessel's latest arrived: it may show the silence was shorter.
pub(crate) fn on_late_fix(cx: &mut Ctx<'_>, v: &mut Vessel, fix: &Fix) {
    let Some(id) = v.gap_alert.clone() else {
        return;
    };
    let Some(a) = cx.book.get(&id) else { return };
    let start_ms = a.start.as_millisecond();
    let end_ms = a
        .end
        .map_or(cx.now.as_millisecond(), Timestamp::as_millisecond);
    if fix.time_ms <= start_ms || fix.time_ms >= end_ms {
        return;
    }
    let min_gap_ms = (cx.cfg.ais_gap.min_gap_min * 60_000.0) as i64;
    let longest = (fix.time_ms - start_ms).max(end_ms - fix.time_ms);
    let when = fix.time();
    if longest < min_gap_ms {
        cx.revise(&id, |a| {
            a.state = AlertState::Retracted;
            a.reasons.push(format!(
                "retracted: a report made at {when} at {} arrived late; no silence of {} remains",
                fix.position,
                duration_text(min_gap_ms / 1000)
            ));
        });
        v.gap_alert = None;
        v.count(AlertKind::AisGap, -1);
    } else {
        cx.revise(&id, |a| {
            a.reasons.push(format!(
                "a report made at {when} at {} arrived late; the longest silence is {}",
                fix.position,
                duration_text(longest / 1000)
            ));
        });
    }
}

/// Ships and craft (MID first digit 2–7, or 98MID…): not beacons, stations or aids.
fn is_vessel_mmsi(mmsi: u32) -> bool {
    (200_000_000..800_000_000).contains(&mmsi) || (980_000_000..990_000_000).contains(&mmsi)
}
