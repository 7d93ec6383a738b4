//! `sar_beacon`: an AIS-SART (MMSI 970…), man-overboard device (972…) or EPIRB-AIS (974…)
//! transmitting. Rescue comes first: an active beacon raises a **critical** alert at the
//! first report that says so: a position report with navigational
//! status 14, or a safety broadcast (type 14) reading `SART ACTIVE`, `MOB ACTIVE` or
//! `EPIRB ACTIVE`. Test transmissions (status 15 from a beacon, `… TEST`) are shown as an
//! `info` alert and never alarm. A beacon that is implausible (moving at ship speed, on
//! land, or an active status from an MMSI that is not a beacon's) is still alerted, with
//! the doubt in its reasons: a spoofed SART must be checked, not ignored.
//!
//! While active, the alert follows the beacon: a new revision when it has moved more than
//! `MOVE_M` or every `UPDATE_MS`, so the console always shows where to search; when it falls
//! silent, a revision says whether beacons are still heard around it (learnt coverage of
//! SARTs and Class B transmitters) and so what the silence may mean.

use crate::Position;
use crate::alert::{AlertKind, Severity, duration_text, one_decimal};
use crate::coverage::{Ask, Class, Coverage};
use crate::detector::invalid_identity::MmsiFormat;
use crate::engine::Ctx;
use ingest::model::AisObservation;
use jiff::Timestamp;
use std::collections::BTreeMap;

/// A beacon moving faster than this is implausible (a raft or person drifts), kn.
const DRIFT_MAX_KN: f64 = 6.0;
/// The alert follows the beacon when it moved this far, m…
const MOVE_M: f64 = 200.0;
/// …or this long after the last revision, ms.
const UPDATE_MS: i64 = 5 * 60_000;
/// An active beacon silent this long is noted in its alert (a SART sends every minute), ms.
const SILENT_MS: i64 = 10 * 60_000;

/// What a message says about a beacon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Says {
    Active,
    Test,
    Nothing,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Beacon {
    position: Option<Position>,
    time_ms: i64,
    /// An active text arrived before any position: alert at the first position.
    active_pending: bool,
    alert: Option<Box<str>>,
    alert_at: Option<(Position, i64)>,
    test_alert: Option<Box<str>>,
    #[serde(with = "crate::snapshot::static_strs")]
    doubts: Vec<crate::snapshot::StaticName>,
    /// Its active alert says it has gone silent.
    #[serde(default)]
    silence_noted: bool,
}

/// A beacon just raised its critical alert: what the SAR response needs.
#[derive(Debug, Clone)]
pub(crate) struct Activated {
    pub(crate) alert: Box<str>,
    pub(crate) position: Position,
    pub(crate) time: Timestamp,
    /// Drift object class for the search plan.
    pub(crate) object: &'static str,
    /// Search pattern: sector for a person overboard, expanding square otherwise.
    pub(crate) pattern: &'static str,
}

/// Beacons heard.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Beacons {
    map: BTreeMap<u32, Beacon>,
}

/// The kind of device, from its MMSI.
fn device(mmsi: u32) -> Option<&'static str> {
    match MmsiFormat::of(mmsi) {
        MmsiFormat::Sart => Some("AIS-SART"),
        MmsiFormat::Mob => Some("MOB device"),
        MmsiFormat::Epirb => Some("EPIRB-AIS"),
        _ => None,
    }
}

/// True when this message concerns a beacon (the engine then leaves it to this detector).
pub(crate) fn concerns(ais: &AisObservation) -> bool {
    device(ais.mmsi).is_some() || says(ais) == Says::Active
}

/// True when the MMSI is a beacon's (not a vessel to track).
pub(crate) fn is_beacon(mmsi: u32) -> bool {
    device(mmsi).is_some()
}

/// The detector's fixed parameters, for the alerts' `params`.
pub(crate) fn params() -> serde_json::Value {
    serde_json::json!({ "drift_max_kn": DRIFT_MAX_KN, "move_m": MOVE_M, "update_min": UPDATE_MS / 60_000 })
}

fn says(ais: &AisObservation) -> Says {
    if let Some(text) = &ais.text {
        let t = text.to_ascii_uppercase();
        let t = t.trim();
        for dev in ["SART", "MOB", "EPIRB"] {
            if t.starts_with(dev) && t.ends_with("ACTIVE") {
                return Says::Active;
            }
            if t.starts_with(dev) && t.ends_with("TEST") {
                return Says::Test;
            }
        }
    }
    match (ais.msg_type, ais.nav_status) {
        (1..=3, Some(14)) => Says::Active,
        (1..=3, Some(15)) if device(ais.mmsi).is_some() => Says::Test,
        _ => Says::Nothing,
    }
}

impl Beacons {
    /// Per tick: an active beacon silent for [`SILENT_MS`] gets a revision saying whether
    /// SARTs and Class B transmitters are still heard around its last position (it was in
    /// the receivers' reach: it may have stopped) or not (the reach may be why). The alert
    /// stays open and critical either way: only the rescue coordinator closes it.
    pub(crate) fn on_tick(&mut self, cx: &mut Ctx<'_>, coverage: &Coverage) {
        let now_ms = cx.now.as_millisecond();
        for (mmsi, b) in &mut self.map {
            let (Some(id), Some(p)) = (b.alert.clone(), b.position) else {
                continue;
            };
            if b.silence_noted || now_ms - b.time_ms < SILENT_MS {
                continue;
            }
            b.silence_noted = true;
            let radius_m = cx.cfg.ais_gap.coverage_radius_m;
            let near = coverage.near(
                p,
                radius_m,
                Ask {
                    except: *mmsi,
                    since_ms: b.time_ms,
                    alive_since_ms: b.time_ms + 1,
                    class: Class::Sart,
                    edge: None,
                },
            );
            let silent = duration_text((now_ms - b.time_ms) / 1000);
            let note = if near.vessels.is_empty() {
                format!(
                    "silent for {silent}; no {} heard within {:.0} km of its last position since: the receivers' reach may be why (a SART's antenna is near the water); search from its last position, {p}, and its drift",
                    Class::Sart.heard_text(),
                    radius_m / 1000.0
                )
            } else {
                format!(
                    "silent for {silent} while {} {} are heard within {:.0} km{}: it was within the receivers' reach and may have stopped (battery, water, switched off by rescuers); search from its last position, {p}, and its drift",
                    near.vessels.len(),
                    Class::Sart.heard_text(),
                    radius_m / 1000.0,
                    coverage.by(&near.receivers)
                )
            };
            cx.revise(&id, |a| a.reasons.push(note));
        }
    }

    pub(crate) fn on_ais(
        &mut self,
        cx: &mut Ctx<'_>,
        ais: &AisObservation,
        time: Timestamp,
    ) -> Option<Activated> {
        let t_ms = time.as_millisecond();
        let b = self.map.entry(ais.mmsi).or_default();
        let said = says(ais);
        let device_name = device(ais.mmsi);
        if let (Some(lat), Some(lon)) = (ais.lat, ais.lon)
            && let Some(p) = Position::new(lat, lon)
            && !(lat == 0.0 && lon == 0.0)
        {
            // Plausibility: a beacon drifts.
            let moved_kn = b.position.filter(|_| t_ms > b.time_ms).map(|q| {
                crate::geodesy::speed_kn(q.distance_m(p), (t_ms - b.time_ms) as f64 / 1000.0)
            });
            let speed = ais
                .sog_kn
                .into_iter()
                .chain(moved_kn)
                .fold(0.0_f64, f64::max);
            if speed > DRIFT_MAX_KN && !b.doubts.contains(&"speed") {
                b.doubts.push("speed");
            }
            if let Some(land) = &cx.geo.land
                && land.inland(p, cx.cfg.position_jump.land_margin_m)
                && !b.doubts.contains(&"land")
            {
                b.doubts.push("land");
            }
            if b.silence_noted
                && t_ms > b.time_ms
                && let Some(id) = b.alert.clone()
            {
                let silent = duration_text((t_ms - b.time_ms) / 1000);
                cx.revise(&id, |a| {
                    a.reasons
                        .push(format!("heard again at {p} after {silent} silent"));
                });
                b.silence_noted = false;
            }
            b.position = Some(p);
            b.time_ms = t_ms;
        }
        let active = said == Says::Active || b.active_pending;
        // A beacon already active stays so whatever its later reports say.
        if said == Says::Test && !active && b.alert.is_none() {
            if b.test_alert.is_none()
                && let Some(p) = b.position
            {
                let reasons = vec![format!(
                    "{} {} transmits in TEST mode at {p}: shown, not an alarm",
                    device_name.unwrap_or("beacon"),
                    ais.mmsi
                )];
                let a = cx.alert(
                    AlertKind::SarBeacon,
                    &format!("{}-test", ais.mmsi),
                    time,
                    Severity::Info,
                    vec![ais.mmsi],
                    p,
                    1.0,
                    reasons,
                );
                b.test_alert = Some(cx.open(a));
            }
            return None;
        }
        if !active {
            return None;
        }
        let Some(p) = b.position else {
            b.active_pending = true;
            return None;
        };
        b.active_pending = false;
        let doubts: Vec<String> = b
            .doubts
            .iter()
            .map(|d| match *d {
                "speed" => format!(
                    "doubt: moving faster than {DRIFT_MAX_KN} kn, as no drifting raft or person does: possibly spoofed, or still aboard a vessel under way"
                ),
                _ => "doubt: the position is on land: possibly spoofed, or a beacon being tested ashore".to_string(),
            })
            .collect();
        match b.alert.clone() {
            None => {
                let what = match device_name {
                    Some(d) => format!("{d} {} ACTIVE at {p}", ais.mmsi),
                    None => format!(
                        "MMSI {} reports an active SART/MOB/EPIRB at {p}, but it is not a beacon's MMSI (970/972/974…): possibly misconfigured or spoofed",
                        ais.mmsi
                    ),
                };
                let mut reasons =
                    vec![format!("{what}: persons may be in the water, rescue first")];
                reasons.extend(doubts);
                let a = cx.alert(
                    AlertKind::SarBeacon,
                    &ais.mmsi.to_string(),
                    time,
                    Severity::Critical,
                    vec![ais.mmsi],
                    p,
                    if b.doubts.is_empty() && device_name.is_some() {
                        1.0
                    } else {
                        0.7
                    },
                    reasons,
                );
                let id = cx.open(a);
                b.alert = Some(id.clone());
                b.alert_at = Some((p, t_ms));
                let (object, pattern) = match MmsiFormat::of(ais.mmsi) {
                    MmsiFormat::Mob => ("person_in_water", "VS"),
                    _ => ("life_raft_4_6", "SS"),
                };
                return Some(Activated {
                    alert: id,
                    position: p,
                    time,
                    object,
                    pattern,
                });
            }
            Some(id) => {
                let (at, when) = b.alert_at.unwrap_or((p, t_ms));
                let moved = at.distance_m(p);
                let new_doubt = doubts.len();
                let known_doubts = cx.book.get(&id).map_or(0, |a| {
                    a.reasons.iter().filter(|r| r.starts_with("doubt:")).count()
                });
                if moved > MOVE_M || t_ms - when > UPDATE_MS || new_doubt > known_doubts {
                    let sog = ais.sog_kn;
                    cx.revise(&id, |a| {
                        a.position = p;
                        if new_doubt > known_doubts {
                            a.reasons.extend(doubts.into_iter().skip(known_doubts));
                            a.score = 0.7;
                        }
                        if moved > MOVE_M {
                            // Only the latest position note is kept: the revisions hold the path.
                            a.reasons.retain(|r| !r.starts_with("now at"));
                            a.reasons.push(format!(
                                "now at {p} ({} m from the last alerted position{})",
                                moved.round(),
                                sog.map(|s| format!(", {} kn", one_decimal(s)))
                                    .unwrap_or_default()
                            ));
                        }
                    });
                    b.alert_at = Some((p, t_ms));
                }
            }
        }
        None
    }
}
