//! `dark_target`: a radar contact tracked for at least `min_duration_min` with no AIS
//! track within `max_distance_m`, or a sighting with none.
//!
//! Contacts are their own tracks: `{unit}/radar/{target}` for a unit's radar target
//! number, `{unit}/sighting/{n}` for a sighting report. Each update is associated with
//! the nearest AIS track whose latest report, dead-reckoned to the contact's time, is
//! within the gate; a contact with an AIS track in the gate is not dark. A sighting is
//! seen by a person, so it is judged at once rather than after a tracking period. A radar
//! contact ends when the radar reports it lost or after `contact_timeout_min` without an
//! update.

use crate::Position;
use crate::alert::{AlertKind, AlertState, Severity, duration_text};
use crate::engine::Ctx;
use crate::hash::FastMap;
use crate::track::Vessel;
use ingest::wire::PatrolReport;
use jiff::Timestamp;
use std::collections::BTreeMap;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Contact {
    first_ms: i64,
    last_ms: i64,
    position: Position,
    /// The latest time an AIS track was in the gate, ms.
    last_associated_ms: Option<i64>,
    alert: Option<Box<str>>,
}

/// Radar contacts being tracked.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Contacts {
    radar: BTreeMap<String, Contact>,
}

/// The nearest AIS vessel in the gate around `p` at `time_ms`: (MMSI, distance m).
fn associate(
    cx: &Ctx<'_>,
    vessels: &FastMap<u32, Vessel>,
    p: Position,
    time_ms: i64,
) -> Option<(u32, f64)> {
    let c = &cx.cfg.dark_target;
    let max_age = (c.max_ais_age_min * 60_000.0) as i64;
    let mut best: Option<(u32, f64)> = None;
    for v in vessels.values() {
        let Some(f) = v.last_fix() else { continue };
        if (time_ms - f.time_ms).abs() > max_age {
            continue;
        }
        // Cheap reject before the great circle: 0.1° is > 5 km everywhere below 60°.
        if (f.position.lat - p.lat).abs() > 0.1 {
            continue;
        }
        let d = f.dead_reckon(time_ms).distance_m(p);
        if d <= c.max_distance_m && best.is_none_or(|(m, bd)| d < bd || (d == bd && v.mmsi < m)) {
            best = Some((v.mmsi, d));
        }
    }
    best
}

impl Contacts {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn on_radar(
        &mut self,
        cx: &mut Ctx<'_>,
        vessels: &FastMap<u32, Vessel>,
        unit: &str,
        target: u8,
        position: Position,
        time: Timestamp,
        lost: bool,
    ) {
        let key = format!("{unit}/radar/{target}");
        let t_ms = time.as_millisecond();
        let assoc = associate(cx, vessels, position, t_ms);
        if lost {
            if let Some(c) = self.radar.remove(&key) {
                end(cx, &c, "the radar lost the contact");
            }
            return;
        }
        let timeout = (cx.cfg.dark_target.contact_timeout_min * 60_000.0) as i64;
        // A target number reused after a long silence is a new contact.
        if self
            .radar
            .get(&key)
            .is_some_and(|c| t_ms - c.last_ms > timeout)
        {
            let c = self.radar.remove(&key).expect("present");
            end(cx, &c, "no update from the radar");
        }
        let c = self.radar.entry(key.clone()).or_insert(Contact {
            first_ms: t_ms,
            last_ms: t_ms,
            position,
            last_associated_ms: None,
            alert: None,
        });
        c.last_ms = c.last_ms.max(t_ms);
        c.position = position;
        if let Some((mmsi, d)) = assoc {
            c.last_associated_ms = Some(t_ms);
            if let Some(id) = c.alert.take() {
                cx.revise(&id, |a| {
                    a.state = AlertState::Closed;
                    a.end = Some(time);
                    a.reasons
                        .push(format!("AIS vessel {mmsi} now {d:.0} m from the contact"));
                });
            }
            return;
        }
        let dark_since = c.last_associated_ms.unwrap_or(c.first_ms).max(c.first_ms);
        let min_ms = (cx.cfg.dark_target.min_duration_min * 60_000.0) as i64;
        if c.alert.is_some() || t_ms - dark_since < min_ms {
            return;
        }
        let reasons = vec![format!(
            "radar contact {target} of {unit} tracked for {} at {} with no AIS vessel within {:.0} m",
            duration_text((t_ms - dark_since) / 1000),
            position,
            cx.cfg.dark_target.max_distance_m,
        )];
        let mut a = cx.alert(
            AlertKind::DarkTarget,
            &key.replace('/', "-"),
            Timestamp::from_millisecond(dark_since).unwrap_or(time),
            Severity::High,
            Vec::new(),
            position,
            0.7,
            reasons,
        );
        a.contacts = vec![key];
        c.alert = Some(cx.open(a));
    }

    pub(crate) fn on_sighting(
        &mut self,
        cx: &mut Ctx<'_>,
        vessels: &FastMap<u32, Vessel>,
        unit: &str,
        observation_id: &str,
        report: &PatrolReport,
    ) {
        let PatrolReport::Sighting {
            time,
            position,
            craft,
            persons_estimate,
            condition,
            notes,
        } = report
        else {
            return;
        };
        let Some(p) = Position::new(position.lat, position.lon) else {
            return;
        };
        let name = |v: &dyn super::Named| v.named();
        if associate(cx, vessels, p, time.as_millisecond()).is_some() {
            return;
        }
        let mut reasons = vec![format!(
            "{unit} sighted a {} with about {persons_estimate} persons, {}, at {p}, with no AIS vessel within {:.0} m",
            name(craft),
            name(condition),
            cx.cfg.dark_target.max_distance_m,
        )];
        if let Some(n) = notes {
            reasons.push(format!("notes: {n}"));
        }
        let severity = if condition.is_distress() {
            reasons.push("the craft's condition is distress: rescue first".to_string());
            Severity::Critical
        } else {
            Severity::High
        };
        let key = format!("{unit}/sighting/{observation_id}");
        let mut a = cx.alert(
            AlertKind::DarkTarget,
            &key.replace('/', "-"),
            *time,
            severity,
            Vec::new(),
            p,
            0.9,
            reasons,
        );
        a.contacts = vec![key];
        cx.open(a);
    }

    /// Contacts without an update for `contact_timeout_min` end.
    pub(crate) fn on_tick(&mut self, cx: &mut Ctx<'_>) {
        let timeout = (cx.cfg.dark_target.contact_timeout_min * 60_000.0) as i64;
        let now_ms = cx.now.as_millisecond();
        let gone: Vec<String> = self
            .radar
            .iter()
            .filter(|(_, c)| now_ms - c.last_ms > timeout)
            .map(|(k, _)| k.clone())
            .collect();
        for k in gone {
            let c = self.radar.remove(&k).expect("listed");
            end(cx, &c, "no update from the radar");
        }
    }
}

fn end(cx: &mut Ctx<'_>, c: &Contact, why: &str) {
    let Some(id) = &c.alert else { return };
    let end = Timestamp::from_millisecond(c.last_ms).unwrap_or(cx.now);
    cx.revise(id, |a| {
        a.state = AlertState::Closed;
        a.end = Some(end);
        a.reasons.push(format!("ended: {why}"));
    });
}
