//! `distress`: proposals that a craft may be in distress, for the SAR mission coordinator
//! to decide the phase (RULES.md). Three sources:
//!
//! - a patrol's **sighting** of a craft whose condition is distress (overcrowded, adrift,
//!   taking water, sinking, capsized, people in the water): positive information, so the
//!   nearest unit is tasked at once;
//! - a **small craft drifting** (under `drift_max_kn` for `drift_min_min`) farther than
//!   `drift_min_port_distance_m` from any port;
//! - a vessel that **slowed** in open sea (from `slowed_from_kn` to under `slowed_to_kn`)
//!   **and then went silent** for `silence_min` while others are still heard.
//!
//! Each proposal scores the factors of Reg. (EU) 656/2014 art. 9(2)(f) that are known and
//! lists those that are not: the decision stays a person's.

use crate::Position;
use crate::alert::{AlertKind, Severity, duration_text, one_decimal};
use crate::coverage::{Ask, Class, Coverage};
use crate::engine::Ctx;
use crate::track::{Fix, Vessel};
use ingest::wire::PatrolReport;
use ingest::wire::patrol::{Condition, Craft};
use jiff::Timestamp;

/// The ten factors of art. 9(2)(f), in order.
pub(crate) const FACTORS: [&str; 10] = [
    "a request for assistance",
    "seaworthiness and the likelihood of not reaching the destination",
    "persons on board relative to the type and condition of the craft",
    "fuel, water and food to reach shore",
    "qualified crew and command",
    "safety, navigation and communication equipment",
    "persons needing urgent medical help",
    "deceased persons",
    "pregnant women or children",
    "weather and sea state",
];

/// Known factors (index into [`FACTORS`], what is known, its weight 0–1) → reasons and a score.
fn assess(known: &[(usize, String, f64)]) -> (Vec<String>, f64) {
    let k: Vec<String> = known
        .iter()
        .map(|(i, what, _)| format!("({}) {}: {what}", i + 1, FACTORS[*i]))
        .collect();
    let unknown: Vec<String> = (0..FACTORS.len())
        .filter(|i| !known.iter().any(|(j, _, _)| j == i))
        .map(|i| format!("({}) {}", i + 1, FACTORS[i]))
        .collect();
    let score = 1.0 - known.iter().fold(1.0, |keep, (_, _, w)| keep * (1.0 - w));
    (
        vec![
            format!("art. 9(2)(f) factors known: {}", k.join("; ")),
            format!(
                "not known (ask, or send a unit to see): {}",
                unknown.join("; ")
            ),
        ],
        score,
    )
}

/// How many persons a craft of this kind carries safely, roughly (a rubber boat of
/// 10–12 m is built for about 15; larger numbers on such craft are the overcrowding this
/// trade is known for).
fn safe_persons(craft: Craft) -> Option<u32> {
    match craft {
        Craft::RubberBoat => Some(15),
        Craft::WoodenBoat => Some(30),
        Craft::Speedboat => Some(10),
        Craft::SailingYacht => Some(12),
        Craft::FishingVessel => Some(30),
        _ => None,
    }
}

/// A distress proposal from a sighting. Returns the alert id and the drift object class
/// for the search plan, when the sighting's condition is distress.
pub(crate) fn on_sighting(
    cx: &mut Ctx<'_>,
    unit: &str,
    observation_id: &str,
    report: &PatrolReport,
) -> Option<(Box<str>, Position, Timestamp, &'static str)> {
    let PatrolReport::Sighting {
        time,
        position,
        craft,
        persons_estimate,
        condition,
        notes,
    } = report
    else {
        return None;
    };
    if !cx.cfg.distress.enabled || !condition.is_distress() {
        return None;
    }
    let p = Position::new(position.lat, position.lon)?;
    let name = |v: &dyn super::Named| v.named();
    let mut known = vec![(
        1,
        format!("condition {}", name(condition)),
        match condition {
            Condition::Sinking | Condition::Capsized | Condition::PeopleInWater => 1.0,
            Condition::TakingWater => 0.9,
            _ => 0.6,
        },
    )];
    let overcrowded = safe_persons(*craft).map(|safe| *persons_estimate > safe);
    known.push((
        2,
        match safe_persons(*craft) {
            Some(safe) => format!(
                "about {persons_estimate} on a {} (safe for about {safe})",
                name(craft)
            ),
            None => format!("about {persons_estimate} on a {}", name(craft)),
        },
        if overcrowded == Some(true) || *condition == Condition::Overcrowded {
            0.8
        } else {
            0.2
        },
    ));
    if *condition == Condition::PeopleInWater {
        known.push((6, "people in the water".to_string(), 0.9));
    }
    let (mut reasons, score) = assess(&known);
    reasons.insert(
        0,
        format!(
            "{unit} sighted a {} with about {persons_estimate} persons, {}, at {p}: a possible distress for the SAR mission coordinator to decide, rescue first",
            name(craft),
            name(condition)
        ),
    );
    if let Some(n) = notes {
        reasons.push(format!("notes: {n}"));
    }
    let a = cx.alert(
        AlertKind::Distress,
        &format!("{unit}-sighting-{observation_id}"),
        *time,
        Severity::Critical,
        Vec::new(),
        p,
        score,
        reasons,
    );
    let id = cx.open(a);
    let object = match craft {
        Craft::RubberBoat | Craft::Unknown | Craft::Other => "overcrowded_inflatable",
        Craft::WoodenBoat | Craft::FishingVessel => "fishing_vessel",
        Craft::Speedboat => "motorboat",
        Craft::SailingYacht => "keel_dinghy",
        Craft::MerchantVessel => "coaster",
    };
    Some((id, p, *time, object))
}

/// Per report: small craft drifting far from port; remember when a vessel slowed.
pub(crate) fn on_fix(
    cx: &mut Ctx<'_>,
    v: &mut Vessel,
    fix: &Fix,
    speed_kn: Option<f64>,
    class_b: bool,
) {
    let c = &cx.cfg.distress;
    if !c.enabled {
        return;
    }
    let Some(speed) = speed_kn else { return };
    // Slowed: from under way to nearly stopped, at sea.
    if speed >= c.slowed_from_kn {
        v.slowed = None;
        v.was_under_way = true;
    } else if speed < c.slowed_to_kn && fix.nav_status != 5 && fix.nav_status != 1 {
        if v.was_under_way && v.slowed.is_none() {
            v.slowed = Some(fix.time_ms);
        }
    } else if speed >= c.slowed_to_kn {
        v.slowed = None;
    }
    if speed >= c.slowed_to_kn {
        v.drift_since = None;
    }
    // Drifting small craft.
    let small = class_b
        || v.static_info
            .as_ref()
            .and_then(|s| s.length_m)
            .is_some_and(|l| f64::from(l) <= c.small_max_length_m);
    if !small
        || speed >= c.drift_max_kn
        || fix.nav_status == 5
        || fix.nav_status == 1
        || v.distress_alert.is_some()
    {
        if speed >= c.drift_max_kn {
            v.drift_since = None;
        }
        return;
    }
    let since = *v.drift_since.get_or_insert(fix.time_ms);
    let min_ms = (c.drift_min_min * 60_000.0) as i64;
    if fix.time_ms - since < min_ms
        || cx.port_distance_m(v, fix.position) <= c.drift_min_port_distance_m
    {
        return;
    }
    let known = vec![(
        1,
        format!(
            "drifting at {} kn for {}",
            one_decimal(speed),
            duration_text((fix.time_ms - since) / 1000)
        ),
        0.4,
    )];
    let (mut reasons, score) = assess(&known);
    reasons.insert(
        0,
        format!(
            "{} (a small craft) drifting under {} kn for {} at {}, {}: engine failure or out of fuel?",
            v.label(),
            c.drift_max_kn,
            duration_text((fix.time_ms - since) / 1000),
            fix.position,
            cx.port_text(fix.position)
        ),
    );
    let a = cx.alert(
        AlertKind::Distress,
        &format!("{}-drift", v.mmsi),
        Timestamp::from_millisecond(since).unwrap_or(cx.now),
        Severity::High,
        vec![v.mmsi],
        fix.position,
        score,
        reasons,
    );
    v.distress_alert = Some(cx.open(a));
    v.count(AlertKind::Distress, 1);
}

/// Per tick: a vessel that slowed in open sea and then went silent where others are heard.
pub(crate) fn on_tick(
    cx: &mut Ctx<'_>,
    v: &mut Vessel,
    coverage: &Coverage,
) -> Option<(Box<str>, Position, Timestamp)> {
    let c = &cx.cfg.distress;
    let slowed = v.slowed?;
    let last = *v.last_fix()?;
    let now_ms = cx.now.as_millisecond();
    let silence_ms = (c.silence_min * 60_000.0) as i64;
    if !c.enabled || v.distress_alert.is_some() || now_ms - last.time_ms < silence_ms {
        return None;
    }
    if cx.port_distance_m(v, last.position) <= cx.cfg.ais_gap.port_radius_m {
        v.slowed = None;
        return None;
    }
    let near = coverage.near(
        last.position,
        cx.cfg.ais_gap.coverage_radius_m,
        Ask {
            except: v.mmsi,
            since_ms: now_ms - silence_ms / 2,
            alive_since_ms: last.time_ms + 1,
            // Rescue first: a silence that may be distress is judged on any vessel heard,
            // not only on vessels of its own class.
            class: Class::A,
            edge: None,
        },
    );
    let heard = near.vessels;
    if (heard.len() as u32) < cx.cfg.ais_gap.min_other_vessels {
        return None;
    }
    let known = vec![(
        1,
        format!(
            "slowed to {} kn at sea, then silent for {}",
            one_decimal(last.sog().unwrap_or(0.0)),
            duration_text((now_ms - last.time_ms) / 1000)
        ),
        0.5,
    )];
    let (mut reasons, score) = assess(&known);
    reasons.insert(
        0,
        format!(
            "{} slowed from under way to nearly stopped at {} and has been silent since {} while {} other vessels are heard within {:.0} km: breakdown, or worse?",
            v.label(),
            last.position,
            last.time(),
            heard.len(),
            cx.cfg.ais_gap.coverage_radius_m / 1000.0
        ),
    );
    let a = cx.alert(
        AlertKind::Distress,
        &format!("{}-silent", v.mmsi),
        Timestamp::from_millisecond(slowed).unwrap_or(cx.now),
        Severity::High,
        vec![v.mmsi],
        last.position,
        score,
        reasons,
    );
    let id = cx.open(a);
    v.distress_alert = Some(id.clone());
    v.count(AlertKind::Distress, 1);
    Some((id, last.position, last.time()))
}
