//! `loitering`: one vessel slower than `max_speed_kn` for at least `min_duration_min`,
//! farther than `min_port_distance_m` from any port or anchorage, not moored. Speed is the reported speed over ground, or the speed implied by
//! the track when none is reported. The stretch ends at the first report at or above the
//! speed; a vessel silent for an hour is taken to have ended it at its last report.

use crate::Position;
use crate::alert::{AlertKind, AlertState, Severity, duration_text, one_decimal};
use crate::engine::Ctx;
use crate::geodesy::METERS_PER_NM;
use crate::track::{Fix, Loiter, Vessel};
use jiff::Timestamp;

const SILENCE_ENDS_MS: i64 = 3_600_000;

pub(crate) fn on_fix(cx: &mut Ctx<'_>, v: &mut Vessel, fix: &Fix, speed_kn: Option<f64>) {
    let c = &cx.cfg.loitering;
    let slow = speed_kn.is_some_and(|s| s < c.max_speed_kn) && fix.nav_status != 5;
    if !slow {
        if let Some(l) = v.loiter.take() {
            let why = match speed_kn {
                Some(s) if fix.nav_status != 5 => format!("moved on at {} kn", one_decimal(s)),
                _ if fix.nav_status == 5 => "reported moored".to_string(),
                _ => "speed no longer known".to_string(),
            };
            end(cx, &l, &why);
        }
        return;
    }
    let Some(l) = v.loiter.as_deref_mut() else {
        v.loiter = Some(Box::new(Loiter {
            start_ms: fix.time_ms,
            last_ms: fix.time_ms,
            start: fix.position,
            spread_m: 0.0,
            near_port: None,
            alert: None,
        }));
        return;
    };
    l.last_ms = fix.time_ms;
    // A bound within the spread so far leaves it as it is, without the distance's cosine.
    if !l
        .start
        .fast_distance_bound_m(fix.position)
        .is_some_and(|bound| bound as f32 <= l.spread_m)
    {
        l.spread_m = l.spread_m.max(l.start.fast_distance_m(fix.position) as f32);
    }
    let min_ms = (c.min_duration_min * 60_000.0) as i64;
    if l.alert.is_some() || l.near_port == Some(true) || l.last_ms - l.start_ms < min_ms {
        return;
    }
    let (start_ms, last_ms, spread_m, start) = (l.start_ms, l.last_ms, l.spread_m, l.start);
    let near = cx.port_distance_m(v, fix.position) <= c.min_port_distance_m;
    let l = v.loiter.as_deref_mut().expect("present");
    l.near_port = Some(near);
    if near {
        return;
    }
    let hours = (last_ms - start_ms) as f64 / 3_600_000.0;
    let mut reasons = vec![format!(
        "{} under {} kn for {} within {} NM of {}, {}",
        v.label(),
        c.max_speed_kn,
        duration_text((last_ms - start_ms) / 1000),
        one_decimal(spread_m as f64 / METERS_PER_NM),
        start,
        cx.port_text(fix.position),
    )];
    if fix.nav_status == 1 {
        reasons.push("reports being at anchor".to_string());
    }
    let score = 0.5 + 0.1 * (hours / (c.min_duration_min / 60.0)).min(4.0);
    let a = cx.alert(
        AlertKind::Loitering,
        &v.mmsi.to_string(),
        Timestamp::from_millisecond(start_ms).unwrap_or(cx.now),
        Severity::Medium,
        vec![v.mmsi],
        mid(start, fix.position),
        score,
        reasons,
    );
    let id = cx.open(a);
    v.loiter.as_deref_mut().expect("present").alert = Some(id);
    v.count(AlertKind::Loitering, 1);
}

/// A vessel silent for an hour ended its loitering at its last report.
pub(crate) fn on_tick(cx: &mut Ctx<'_>, v: &mut Vessel) {
    if v.loiter
        .as_ref()
        .is_some_and(|l| cx.now.as_millisecond() - l.last_ms > SILENCE_ENDS_MS)
    {
        let l = v.loiter.take().expect("present");
        end(cx, &l, "no report for an hour");
    }
}

fn end(cx: &mut Ctx<'_>, l: &Loiter, why: &str) {
    let Some(id) = &l.alert else { return };
    let end = Timestamp::from_millisecond(l.last_ms).unwrap_or(cx.now);
    cx.revise(id, |a| {
        a.state = AlertState::Closed;
        a.end = Some(end);
        a.reasons.push(format!(
            "ended after {}: {why}",
            duration_text((l.last_ms - l.start_ms) / 1000)
        ));
    });
}

fn mid(a: Position, b: Position) -> Position {
    Position {
        lat: (a.lat + b.lat) / 2.0,
        lon: (a.lon + b.lon) / 2.0,
    }
}
