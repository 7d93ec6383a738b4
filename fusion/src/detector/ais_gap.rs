//! `ais_gap`: a vessel stops reporting where other vessels are still heard.
//!
//! Reception-aware: a silence counts only when at least `min_other_vessels` other vessels
//! have been heard, in the last half of the gap, both within `coverage_radius_m` of the
//! vessel's last position and of where it would be by now on its last course and speed,
//! and when at least `path_covered_share` of the way between (sampled every half
//! `path_radius_m`) is within `path_radius_m` of a vessel heard in the last
//! `coverage_memory_min` and inside a receiver's learnt reach (the hull of the positions it
//! heard, or with its site configured, its range around it): a vessel whose way left the
//! receivers' reach, or that sits in a
//! coverage hole, is out of coverage, not dark, and raises nothing. Only receivers that have
//! heard anything since the vessel's last report count (one that went quiet itself says
//! nothing of the vessel's silence), and a Class B vessel is judged where Class B
//! transmitters are heard. The silence that counts is `min_gap_min` in the open sea and
//! the shorter `departure_min_gap_min` when the vessel was, or by its course would be, off
//! a departure coast (`[geodata] departure_coasts`). Where the receivers' reach ends is
//! learnt too, as the cells where vessels are lost (at least `edge_min_lost` and
//! `edge_lost_share` of those that came in were lost there for a while, shorter than a
//! gap): a silence that starts in such a cell, or a way through them, is out of coverage;
//! so is one that starts within `edge_margin_m` of a configured site's learnt range (a turn
//! takes the vessel out). Silences in port and
//! of moored vessels are not gaps. A report arriving late that splits the silence below
//! the threshold the alert was raised under retracts it; so does the vessel's return where
//! its course would have taken it by a way that left coverage; any other return closes it.

use crate::alert::{AlertKind, AlertState, Severity, duration_text, one_decimal};
use crate::coverage::{Ask, Class, Coverage};
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
    let earliest_ms = (c.min_gap_min.min(c.departure_min_gap_min) * 60_000.0) as i64;
    if v.gap_alert.is_some()
        || gap_ms < earliest_ms
        || v.reports < c.min_reports
        || now_ms - v.gap_checked_ms < RECHECK_MS
        || last.nav_status == 5
        || !is_vessel_mmsi(v.mmsi)
    {
        return;
    }
    let reckoned = last.dead_reckon(now_ms);
    // Near a departure coast a silence matters sooner than in the open sea; the same
    // coverage test judges both.
    let coast = cx.departure_coast(last.position, reckoned);
    let min_gap_ms = min_gap_ms(cx, coast.is_some());
    if gap_ms < min_gap_ms {
        return;
    }
    v.gap_checked_ms = now_ms;
    if cx.port_distance_m(v, last.position) <= c.port_radius_m {
        return;
    }
    let class = if v.class_b { Class::B } else { Class::A };
    // Where vessels are lost to the receivers is the edge of their reach: a silence that
    // starts there is out of coverage, not dark.
    let losses = coverage.losses(last.position, class);
    if losses.is_edge(c.edge_min_lost, c.edge_lost_share) {
        return;
    }
    // Last heard at the edge of the range learnt around the receivers' sites: any turn
    // takes it out.
    let margin_m = coverage.reach_margin_m(last.position, last.time_ms + 1, class);
    if margin_m < c.edge_margin_m {
        return;
    }
    let ask = Ask {
        except: v.mmsi,
        since_ms: now_ms - gap_ms / 2,
        // Receivers that have heard nothing since the vessel's last report say nothing of
        // its silence.
        alive_since_ms: last.time_ms + 1,
        class,
        edge: None,
    };
    let at_last = coverage.near(last.position, c.coverage_radius_m, ask);
    if (at_last.vessels.len() as u32) < c.min_other_vessels {
        return;
    }
    let at_reckoned = coverage.near(reckoned, c.coverage_radius_m, ask);
    if (at_reckoned.vessels.len() as u32) < c.min_other_vessels {
        return;
    }
    // All along the way its course and speed would have taken it, receivers hear vessels:
    // a way that leaves their reach is out of coverage, not dark.
    let way = way_coverage(cx, coverage, v, (last.position, reckoned), &last);
    if way.share() < c.path_covered_share {
        return;
    }
    let heard = at_last.vessels.len().max(at_reckoned.vessels.len());
    let mut receivers = at_last.receivers.clone();
    receivers.extend(&at_reckoned.receivers);
    let mut reasons = vec![format!(
        "{} silent for {} since {}, {}; {} other {} heard within {:.0} km of there since{}{}",
        v.label(),
        duration_text(gap_ms / 1000),
        last.position,
        cx.port_text(last.position),
        heard,
        ask.class.heard_text(),
        c.coverage_radius_m / 1000.0,
        coverage.by(&receivers),
        match coverage.by(&[v.last_station]) {
            by if by.is_empty() => by,
            by => format!(" (it was last heard{by})"),
        },
    )];
    let mut edge = Vec::new();
    if margin_m.is_finite() {
        edge.push(format!("last heard {:.0} km inside it", margin_m / 1000.0));
    }
    if losses.visits > 0 {
        edge.push(format!(
            "of {} vessels that came where it was last heard, {} {} lost there for a while",
            losses.visits,
            losses.lost,
            if losses.lost == 1 { "was" } else { "were" }
        ));
    }
    if !edge.is_empty() {
        reasons.push(format!(
            "not where the receivers' reach ends: {}",
            edge.join("; ")
        ));
    }
    if let Some(coast) = coast {
        reasons.push(format!(
            "near the departure coast {coast}, where a silence of {} counts (in the open sea, {})",
            duration_text(min_gap_ms / 1000),
            duration_text((c.min_gap_min * 60.0) as i64),
        ));
    }
    if way.length_m > 1000.0 {
        reasons.push(format!(
            "in coverage all the way its course and speed ({} kn on {:.0}°) would have taken it: {} NM, {} of {} points along it within {:.0} km of a vessel heard in the last {}{}",
            one_decimal(last.sog().unwrap_or(0.0)),
            last.cog().unwrap_or(0.0),
            one_decimal(way.length_m / METERS_PER_NM),
            way.covered,
            way.points,
            c.path_radius_m / 1000.0,
            duration_text((c.coverage_memory_min * 60.0) as i64),
            coverage.by(&way.receivers),
        ));
    }
    let score = 0.5 + 0.1 * (heard.min(5) as f64) - 0.1 * (last.sog().is_none() as u8 as f64)
        + 0.1 * (coast.is_some() as u8 as f64);
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
    v.gap_threshold_ms = min_gap_ms;
    v.count(AlertKind::AisGap, 1);
}

/// The silence that counts as a gap for a vessel last heard as `last`, judged at `at_ms`:
/// sooner when it was, or by its course would be, off a departure coast.
pub(crate) fn threshold_ms(cx: &Ctx<'_>, last: &Fix, at_ms: i64) -> i64 {
    let coast = cx.departure_coast(last.position, last.dead_reckon(at_ms));
    min_gap_ms(cx, coast.is_some())
}

/// The silence that counts as a gap, ms: sooner near a departure coast.
fn min_gap_ms(cx: &Ctx<'_>, near_departure_coast: bool) -> i64 {
    let c = &cx.cfg.ais_gap;
    let min = if near_departure_coast {
        c.departure_min_gap_min.min(c.min_gap_min)
    } else {
        c.min_gap_min
    };
    (min * 60_000.0) as i64
}

/// How much of the way from `from` to `to` lies where receivers that still hear anything
/// heard other vessels lately.
fn way_coverage(
    cx: &Ctx<'_>,
    coverage: &Coverage,
    v: &Vessel,
    (from, to): (crate::Position, crate::Position),
    last: &Fix,
) -> crate::coverage::PathCoverage {
    let c = &cx.cfg.ais_gap;
    let ask = Ask {
        except: v.mmsi,
        since_ms: cx.now.as_millisecond() - (c.coverage_memory_min * 60_000.0) as i64,
        alive_since_ms: last.time_ms + 1,
        class: if v.class_b { Class::B } else { Class::A },
        edge: Some((c.edge_min_lost, c.edge_lost_share)),
    };
    // Sampled at half the radius: no stretch of the way falls between two points.
    coverage.along(from, to, (c.path_radius_m, c.path_radius_m / 2.0), ask)
}

/// The vessel reported again: its gap, if alerted, ends.
pub(crate) fn on_fix(
    cx: &mut Ctx<'_>,
    v: &mut Vessel,
    previous: Option<&Fix>,
    fix: &Fix,
    coverage: &Coverage,
) {
    let Some(id) = v.gap_alert.take() else {
        v.gap_checked_ms = 0;
        return;
    };
    v.gap_checked_ms = 0;
    let Some(prev) = previous else { return };
    let d = prev.position.distance_m(fix.position);
    let secs = (fix.time_ms - prev.time_ms) as f64 / 1000.0;
    let end = fix.time();
    let expected = prev.dead_reckon(fix.time_ms);
    // The threshold the alert was raised under.
    let min_gap_ms = v.gap_threshold_ms;
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
    // Back where its course and speed would have taken it: the time it spent silent
    // within the receivers' reach is the covered share of its way there. Under a gap's
    // length, it was out of coverage, not dark.
    let off_m = expected.distance_m(fix.position);
    let way = way_coverage(cx, coverage, v, (prev.position, fix.position), prev);
    let silent_in_coverage_ms = (way.share() * (fix.time_ms - prev.time_ms) as f64) as i64;
    if off_m <= (0.2 * d).max(5.0 * METERS_PER_NM) && silent_in_coverage_ms < min_gap_ms {
        let at = fix.position;
        cx.revise(&id, |a| {
            a.state = AlertState::Retracted;
            a.end = Some(end);
            a.reasons.push(format!(
                "retracted: heard again after {} at {at}, {} NM from where its course and speed would have taken it; {} of {} points of its {} NM way there are within reach of the receivers, so it was silent in coverage for about {}, under {}: out of coverage, not dark",
                duration_text(secs as i64),
                one_decimal(off_m / METERS_PER_NM),
                way.covered,
                way.points,
                one_decimal(way.length_m / METERS_PER_NM),
                duration_text(silent_in_coverage_ms / 1000),
                duration_text(min_gap_ms / 1000),
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
    // The threshold the alert was raised under.
    let min_gap_ms = v.gap_threshold_ms;
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
