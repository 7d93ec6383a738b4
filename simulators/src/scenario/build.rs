//! Setting a scenario up: reading its file, checking what it says, and placing its
//! vessels, units and receivers at the start.

use std::collections::BTreeMap;

use ingest::wire::UnitId;
use ingest::wire::patrol::{Condition, Craft, UnitState};
use jiff::{SignedDuration, Timestamp};

use super::{Receiver, Scenario, ScenarioError, Unit, UnitMode, Vessel};
use crate::ais_encode::{EncodeOptions, Encoder, TagBlockOptions};
use crate::area;
use crate::geodesy::Position;
use crate::rng::Rng;
use crate::spec::{Action, ScenarioSpec};

fn invalid(name: &str, problem: impl Into<String>) -> ScenarioError {
    ScenarioError::Invalid {
        scenario: name.to_owned(),
        problem: problem.into(),
    }
}

fn check_point(name: &str, what: &str, p: Position) -> Result<(), ScenarioError> {
    if (-90.0..=90.0).contains(&p.lat) && (-180.0..=180.0).contains(&p.lon) {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!(
                "{what}: [{}, {}] is not [lat, lon] in degrees",
                p.lat, p.lon
            ),
        ))
    }
}

fn check_speed(name: &str, what: &str, kn: f64) -> Result<(), ScenarioError> {
    if kn.is_finite() && (0.0..=60.0).contains(&kn) {
        Ok(())
    } else {
        Err(invalid(
            name,
            format!("{what}: speed {kn} kn is not within 0–60"),
        ))
    }
}

pub(super) fn condition(name: &str, c: &str) -> Result<Condition, ScenarioError> {
    serde_json::from_value(serde_json::Value::String(c.to_owned()))
        .map_err(|_| invalid(name, format!("condition {c:?} is not one a sighting reports (overcrowded, taking_water, adrift, …)")))
}

impl Scenario {
    /// Read a scenario file and set it at `start`; `seed` replaces the file's.
    pub fn from_toml(
        text: &str,
        start: Timestamp,
        seed: Option<u64>,
    ) -> Result<Scenario, ScenarioError> {
        let spec: ScenarioSpec =
            toml::from_str(text).map_err(|e| ScenarioError::Toml(e.to_string()))?;
        Scenario::from_spec(spec, start, seed)
    }

    /// Set a scenario at `start`; `seed` replaces the spec's.
    pub fn from_spec(
        mut spec: ScenarioSpec,
        start: Timestamp,
        seed: Option<u64>,
    ) -> Result<Scenario, ScenarioError> {
        let name = spec.name.clone();
        let seed = seed.unwrap_or(spec.seed);
        let area = match &spec.area {
            Some(a) => Some(area::area(a).ok_or_else(|| {
                invalid(
                    &name,
                    format!("no area {a:?}; areas: {}", area::AREAS.join(", ")),
                )
            })?),
            None => None,
        };
        if spec.receivers.is_empty() {
            spec.receivers = area
                .as_ref()
                .map(|a| a.receivers.clone())
                .unwrap_or_default();
        }
        if spec.receivers.is_empty() && spec.vessels.iter().any(|v| v.mmsi.is_some()) {
            return Err(invalid(
                &name,
                "no AIS receiver: give an area or [[receiver]]s",
            ));
        }
        if spec.background_vessels > 0 {
            let Some(a) = &area else {
                return Err(invalid(&name, "background_vessels needs an area"));
            };
            let taken: Vec<u32> = spec.vessels.iter().filter_map(|v| v.mmsi).collect();
            let mut bg = area::background(a, spec.background_vessels, seed, &taken);
            spec.vessels.append(&mut bg);
        }
        for r in &spec.receivers {
            check_point(&name, &format!("receiver {}", r.name), r.at)?;
            if !(r.range_nm > 0.0 && r.range_nm <= 500.0) {
                return Err(invalid(
                    &name,
                    format!("receiver {}: range {} NM", r.name, r.range_nm),
                ));
            }
            if r.name.is_empty()
                || r.name
                    .bytes()
                    .any(|c| !(c.is_ascii_graphic()) || b",*\\/+#".contains(&c))
            {
                return Err(invalid(
                    &name,
                    format!(
                        "receiver name {:?}: printable ASCII without , * \\ / + #",
                        r.name
                    ),
                ));
            }
        }
        let mut ids: Vec<&str> = Vec::new();
        for v in &spec.vessels {
            if ids.contains(&v.id.as_str()) {
                return Err(invalid(&name, format!("two vessels are called {:?}", v.id)));
            }
            ids.push(&v.id);
            if v.route.is_empty() {
                return Err(invalid(&name, format!("vessel {}: an empty route", v.id)));
            }
            for p in &v.route {
                check_point(&name, &format!("vessel {}", v.id), *p)?;
            }
            check_speed(&name, &format!("vessel {}", v.id), v.speed_kn)?;
            if let Some(m) = v.mmsi
                && !(1..=999_999_999).contains(&m)
            {
                return Err(invalid(
                    &name,
                    format!("vessel {}: MMSI {m} is not 9 digits", v.id),
                ));
            }
            if let Some(c) = &v.craft
                && serde_json::from_value::<Craft>(serde_json::Value::String(c.clone())).is_err()
            {
                return Err(invalid(
                    &name,
                    format!(
                        "vessel {}: craft {c:?} (rubber_boat, wooden_boat, fishing_vessel, …)",
                        v.id
                    ),
                ));
            }
            if let Some(a) = &v.appear_at
                && !spec.vessels.iter().any(|o| &o.id == a)
            {
                return Err(invalid(
                    &name,
                    format!("vessel {}: appear_at {a:?} is no vessel", v.id),
                ));
            }
        }
        let mut units = Vec::new();
        for u in &spec.units {
            let id =
                UnitId::new(&u.id).map_err(|e| invalid(&name, format!("unit {:?}: {e}", u.id)))?;
            if u.route.is_empty() {
                return Err(invalid(&name, format!("unit {}: an empty route", u.id)));
            }
            for p in &u.route {
                check_point(&name, &format!("unit {}", u.id), *p)?;
            }
            check_speed(&name, &format!("unit {}", u.id), u.speed_kn)?;
            check_speed(&name, &format!("unit {}", u.id), u.dash_kn)?;
            if !["ttm", "tll", "both"].contains(&u.radar.as_str()) {
                return Err(invalid(
                    &name,
                    format!("unit {}: radar {:?} (ttm, tll or both)", u.id, u.radar),
                ));
            }
            if u.fix_every_s == 0 || u.radar_every_s == 0 {
                return Err(invalid(
                    &name,
                    format!(
                        "unit {}: fix_every_s and radar_every_s must be at least 1",
                        u.id
                    ),
                ));
            }
            let mut rng = Rng::derive(seed, &u.id);
            let first = start + SignedDuration::from_secs(rng.below(5) as i64);
            units.push(Unit {
                spec: u.clone(),
                id,
                pos: u.route[0],
                course_deg: 0.0,
                speed_kn: u.speed_kn,
                patrol_next: 1 % u.route.len(),
                mode: UnitMode::Patrol,
                state: UnitState::OnPatrol,
                next_fix: first,
                next_radar: first + SignedDuration::from_secs(1),
                targets: BTreeMap::new(),
                next_target: 1,
                sighted: BTreeMap::new(),
                rescued: 0,
                rng,
            });
        }
        let mut events = Vec::new();
        for e in &spec.events {
            let i = spec
                .vessels
                .iter()
                .position(|v| v.id == e.vessel)
                .ok_or_else(|| {
                    invalid(
                        &name,
                        format!("event at {}: no vessel {:?}", e.at, e.vessel),
                    )
                })?;
            match &e.action {
                Action::Condition { condition: c } => {
                    condition(&name, c)?;
                }
                Action::Speed { speed_kn } => check_speed(&name, &e.vessel, *speed_kn)?,
                Action::Route { route, speed_kn } => {
                    if route.is_empty() {
                        return Err(invalid(&name, format!("event at {}: an empty route", e.at)));
                    }
                    for p in route {
                        check_point(&name, &e.vessel, *p)?;
                    }
                    if let Some(s) = speed_kn {
                        check_speed(&name, &e.vessel, *s)?;
                    }
                }
                Action::Drift { rate_kn, .. } | Action::Capsize { rate_kn, .. } => {
                    check_speed(&name, &e.vessel, *rate_kn)?
                }
                Action::Loiter {
                    speed_kn,
                    radius_nm,
                } => {
                    check_speed(&name, &e.vessel, *speed_kn)?;
                    if !(radius_nm.is_finite() && *radius_nm > 0.0) {
                        return Err(invalid(
                            &name,
                            format!("event at {}: loiter radius {radius_nm} NM", e.at),
                        ));
                    }
                }
                Action::AisOff
                | Action::AisOn
                | Action::Identity { .. }
                | Action::Spoof { .. }
                | Action::Sart { .. } => {
                    if matches!(
                        e.action,
                        Action::AisOff
                            | Action::AisOn
                            | Action::Identity { .. }
                            | Action::Spoof { .. }
                    ) && spec.vessels[i].mmsi.is_none()
                    {
                        return Err(invalid(
                            &name,
                            format!("event at {}: vessel {} has no AIS", e.at, e.vessel),
                        ));
                    }
                }
            }
            if e.at.is_negative() {
                return Err(invalid(
                    &name,
                    format!("event at {}: before the start", e.at),
                ));
            }
            events.push((start + e.at, i, e.action.clone()));
        }
        events.sort_by_key(|(t, _, _)| *t);
        for z in &spec.zones {
            if z.polygon.len() < 3 {
                return Err(invalid(
                    &name,
                    format!("zone {}: fewer than 3 points", z.name),
                ));
            }
            for p in &z.polygon {
                check_point(&name, &format!("zone {}", z.name), *p)?;
            }
        }
        let receivers = spec
            .receivers
            .iter()
            .enumerate()
            .map(|(k, r)| Receiver {
                spec: r.clone(),
                encoder: Encoder::new(EncodeOptions {
                    tag: Some(TagBlockOptions {
                        source: Some(r.name.clone()),
                        time: None,
                        group_id: 1 + k as u32 * 1000,
                    }),
                    ..EncodeOptions::default()
                }),
                channel_b: false,
            })
            .collect();
        let vessels = spec
            .vessels
            .iter()
            .cloned()
            .map(|v| Vessel::new(v, start, seed))
            .collect();
        Ok(Scenario {
            name,
            description: spec.description,
            duration: spec.duration,
            seed,
            start,
            now: start,
            expect: spec.expect,
            forbid: spec.forbid,
            zones: spec.zones,
            vessels,
            units,
            receivers,
            events,
            next_event: 0,
            reception: Rng::derive(seed, "reception"),
            out: Vec::new(),
        })
    }
}
