//! `position_jump`: consecutive reports of one MMSI implying more than `max_speed_kn` over
//! more than `min_distance_m` (a report no vessel could have made after the previous
//! one), or a step from open sea onto land: a report more than `land_margin_m` inland
//! right after one more than `land_margin_m` offshore.
//! Positions merely on land are not enough: Natural Earth counts rivers and lakes as
//! land, and the AISHub log showed thousands of inland-waterway vessels (Rhine, Scheldt,
//! Mississippi) "on land".
//!
//! A jump is judged when a report fits none of the MMSI's live tracks; reports that fit
//! a track (including a second vessel already tracked under the same MMSI) are not
//! jumps. When the jump turns out to be a second vessel sharing the MMSI, the
//! `identity_conflict` detector retracts it in favour of the conflict.

use crate::alert::{AlertKind, AlertState, Severity, duration_text, one_decimal};
use crate::engine::Ctx;
use crate::geodesy::METERS_PER_NM;
use crate::track::{Fix, Vessel};

/// A position this close to the last one found at sea is not tested again, m.
const SEA_CACHE_M: f64 = 200.0;

pub(crate) fn on_jump(
    cx: &mut Ctx<'_>,
    v: &mut Vessel,
    from: &Fix,
    to: &Fix,
    distance_m: f64,
    speed_kn: f64,
) {
    let c = &cx.cfg.position_jump;
    // An MMSI already found invalid is shared by many devices (0, 123456789, …): where
    // its reports are says nothing about one vessel.
    if speed_kn <= c.max_speed_kn || distance_m <= c.min_distance_m || v.invalid_mmsi {
        return;
    }
    let secs = (to.time_ms - from.time_ms).abs() / 1000;
    let speed = if speed_kn.is_finite() {
        format!("{} kn", one_decimal(speed_kn))
    } else {
        "an infinite speed (same time)".to_string()
    };
    let reasons = vec![format!(
        "{} reported {} then {} {} later, {} NM away: {speed}, more than the {} kn any vessel could make",
        v.label(),
        from.position,
        to.position,
        duration_text(secs),
        one_decimal(distance_m / METERS_PER_NM),
        c.max_speed_kn,
    )];
    let score = (0.5 + 0.1 * (speed_kn / c.max_speed_kn).min(5.0)).min(0.95);
    let mut a = cx.alert(
        AlertKind::PositionJump,
        &v.mmsi.to_string(),
        to.time(),
        Severity::Low,
        vec![v.mmsi],
        to.position,
        score,
        reasons,
    );
    a.start = from.time().min(to.time());
    a.end = Some(to.time());
    v.jump_alert = Some(cx.open(a));
    v.count(AlertKind::PositionJump, 1);
}

pub(crate) fn on_land(cx: &mut Ctx<'_>, v: &mut Vessel, fix: &Fix, prev_in_track: Option<&Fix>) {
    let Some(land) = &cx.geo.land else { return };
    let margin = cx.cfg.position_jump.land_margin_m;
    // Most reports are at sea: one point-in-land test; the coastline's distance only for
    // the rare step from sea onto land.
    let on_land = if v
        .sea_checked
        .is_some_and(|p| p.fast_within_m(fix.position, SEA_CACHE_M))
    {
        false
    } else {
        let c = land.contains_remembering(fix.position, &mut v.land_cell);
        if !c {
            v.sea_checked = Some(fix.position);
        }
        c
    };
    let was_on_land = std::mem::replace(&mut v.was_on_land, on_land);
    if !on_land {
        if let Some(id) = v.land_alert.take() {
            let end = fix.time();
            cx.revise(&id, |a| {
                a.state = AlertState::Closed;
                a.end = Some(end);
                a.reasons
                    .push(format!("back off the land at {}", fix.position));
            });
        }
        return;
    }
    // Only a step from open sea straight onto land: a vessel first seen inland, or one
    // that came in through the coastal band, is on a river or lake the land data does not
    // know (Natural Earth counts inland water as land).
    let Some(prev) = prev_in_track else { return };
    if was_on_land
        || v.land_alert.is_some()
        || v.invalid_mmsi
        || fix.time_ms - prev.time_ms > STEP_MS
        || land.coast_distance_m(fix.position, margin).is_some()
        || Shore::of(land, prev.position, margin) != Shore::OpenSea
    {
        return;
    }
    let reasons = vec![format!(
        "{} reported {}, on land more than {:.0} m from the coastline, {} after a report at sea ({}){}",
        v.label(),
        fix.position,
        margin,
        duration_text((fix.time_ms - prev.time_ms) / 1000),
        prev.position,
        fix.sog()
            .map(|s| format!(", at {} kn", one_decimal(s)))
            .unwrap_or_default(),
    )];
    let a = cx.alert(
        AlertKind::PositionJump,
        &format!("{}-land", v.mmsi),
        fix.time(),
        Severity::Low,
        vec![v.mmsi],
        fix.position,
        0.7,
        reasons,
    );
    v.land_alert = Some(cx.open(a));
    v.count(AlertKind::PositionJump, 1);
}

/// A step onto land counts only from a report at most this old, ms.
const STEP_MS: i64 = 30 * 60_000;

/// Where a position is relative to the coastline, with the coastline's tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shore {
    /// At sea, more than the margin from the coastline.
    OpenSea,
    /// Within the margin of the coastline, either side.
    Coastal,
    /// On land, more than the margin from the coastline.
    Inland,
}

impl Shore {
    fn of(land: &crate::geodata::LandMask, p: crate::Position, margin_m: f64) -> Shore {
        if land.coast_distance_m(p, margin_m).is_some() {
            Shore::Coastal
        } else if land.contains(p) {
            Shore::Inland
        } else {
            Shore::OpenSea
        }
    }
}
