//! `zone_entry`: a vessel enters a configured zone (GeoJSON, rules per zone in its
//! properties: severity, the ship types it applies to, exempt MMSIs). Leaving the zone
//! closes the alert. A vessel first seen inside a zone counts as entering it.

use crate::alert::{AlertKind, AlertState, one_decimal};
use crate::engine::Ctx;
use crate::track::{Fix, Vessel};

pub(crate) fn on_fix(cx: &mut Ctx<'_>, v: &mut Vessel, fix: &Fix, first_fix: bool) {
    let zones = &cx.geo.zones;
    if zones.zones.is_empty() {
        return;
    }
    let now_in = zones.membership(fix.position);
    let entered = now_in & !v.zones;
    let left = v.zones & !now_in;
    v.zones = now_in;
    if left != 0 {
        let end = fix.time();
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut v.zone_alerts)
            .into_iter()
            .partition(|(i, _)| left & (1 << i) != 0);
        v.zone_alerts = kept;
        for (i, id) in gone {
            let name = zones.zones[i as usize].name.clone();
            cx.revise(&id, |a| {
                a.state = AlertState::Closed;
                a.end = Some(end);
                a.reasons.push(format!("left {name} at {}", fix.position));
            });
        }
    }
    for (i, zone) in zones.zones.iter().enumerate() {
        if entered & (1 << i) == 0 || zone.exempt_mmsi.contains(&v.mmsi) {
            continue;
        }
        if let (Some(types), Some(t)) = (&zone.ship_types, v.ship_type())
            && !types.contains(&t)
        {
            continue;
        }
        let how = if first_fix {
            "first seen inside".to_string()
        } else {
            "entered".to_string()
        };
        let mut reasons = vec![format!(
            "{} {how} {} at {}{}",
            v.label(),
            zone.name,
            fix.position,
            match (fix.sog(), fix.cog()) {
                (Some(s), Some(c)) => format!(", {} kn on {:.0}°", one_decimal(s), c),
                (Some(s), None) => format!(", {} kn", one_decimal(s)),
                _ => String::new(),
            }
        )];
        if zone.ship_types.is_some() && v.ship_type().is_none() {
            reasons.push(
                "ship type not reported: the zone's ship-type rule could not exclude it"
                    .to_string(),
            );
        }
        let mut a = cx.alert(
            AlertKind::ZoneEntry,
            &format!("{}-zone{i}", v.mmsi),
            fix.time(),
            zone.severity,
            vec![v.mmsi],
            fix.position,
            0.9,
            reasons,
        );
        a.params = serde_json::json!({
            "zone": zone.name,
            "ship_types": zone.ship_types,
            "exempt_mmsi": zone.exempt_mmsi,
        });
        // What the zone's file says that Tidewatch does not read travels with the alert.
        if !zone.other.is_empty() {
            a.params["zone_properties"] = zone.other.clone().into();
        }
        let id = cx.open(a);
        v.zone_alerts.push((i as u8, id));
        v.count(AlertKind::ZoneEntry, 1);
    }
}
