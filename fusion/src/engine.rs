//! The fusion engine: pure and synchronous. Observations and clock ticks in, events out;
//! no clock, thread or I/O inside, so a replay of the same input gives the same output.

use crate::Position;
use crate::alert::{Alert, AlertKind, AlertState, Severity};
use crate::config::FusionConfig;
use crate::coverage::{Class, Coverage};
use crate::detector::{
    ais_gap, dark_target, distress, identity_conflict, invalid_identity, loitering, position_jump,
    rendezvous, sar_beacon, zone_entry,
};
use crate::geodata::Geodata;
use crate::hash::FastMap;
use crate::risk::{self, Risk};
use crate::track::{self, Fix, Placement, Vessel};
use ingest::model::{AisObservation, Observation, ObservationData};
use jiff::Timestamp;
use serde::Serialize;
use std::collections::HashMap;

/// What the engine tells the world.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FusionEvent {
    /// A new revision of an alert.
    Alert(Alert),
    /// A tasking for a patrol unit (to `patrol/{unit}/tasking`).
    Tasking(ingest::wire::Tasking),
}

/// Counters of what the engine saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EngineStats {
    /// Observations given to the engine.
    pub observations: u64,
    /// AIS messages among them.
    pub ais_messages: u64,
    /// AIS position reports used for tracks.
    pub positions: u64,
    /// Position reports older than the vessel's latest (used for late-data corrections only).
    pub late_positions: u64,
    /// Position reports at exactly 0° N 0° E (a receiver without a fix), not used.
    pub null_island: u64,
    /// AIS messages of types fusion does not track (base stations, aids to navigation,
    /// binary and safety messages, …).
    pub untracked_messages: u64,
    /// Track segments started.
    pub segments_started: u64,
    /// Radar contact updates.
    pub radar_updates: u64,
    /// Radar updates that could not be placed (relative bearing without the unit's
    /// heading, or range and bearing without the unit's position).
    pub radar_unplaced: u64,
    /// Sighting reports.
    pub sightings: u64,
    /// Vessels forgotten after a long silence.
    pub vessels_forgotten: u64,
}

/// The current revision of every alert still of interest, by id.
#[derive(Debug, Default)]
pub(crate) struct Book {
    alerts: HashMap<Box<str>, Alert>,
}

impl Book {
    /// Issue a new alert (revision 1). An id already issued becomes a new revision.
    pub(crate) fn open(&mut self, mut a: Alert, out: &mut Vec<FusionEvent>) -> Box<str> {
        let id: Box<str> = a.id.clone().into();
        a.revision = self.alerts.get(&id).map_or(1, |old| old.revision + 1);
        out.push(FusionEvent::Alert(a.clone()));
        self.alerts.insert(id.clone(), a);
        id
    }

    /// Issue a new revision of alert `id`, changed by `f`.
    pub(crate) fn revise(
        &mut self,
        id: &str,
        now: Timestamp,
        out: &mut Vec<FusionEvent>,
        f: impl FnOnce(&mut Alert),
    ) -> Option<&Alert> {
        let a = self.alerts.get_mut(id)?;
        f(a);
        a.revision += 1;
        a.time = now;
        out.push(FusionEvent::Alert(a.clone()));
        Some(a)
    }

    /// The current revision of alert `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&Alert> {
        self.alerts.get(id)
    }

    /// Forget alerts that are over (closed, retracted, or one-off findings with an end)
    /// and older than `before`. The store keeps them; the book only holds what may
    /// still be revised.
    fn purge(&mut self, before: Timestamp) {
        self.alerts.retain(|_, a| {
            (a.state == AlertState::Open && a.end.is_none()) || a.end.unwrap_or(a.time) >= before
        });
    }

    /// Every alert held.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    /// Forget alert `id` (its subject is gone; nothing will revise it).
    fn drop_alert(&mut self, id: &str) {
        self.alerts.remove(id);
    }

    /// Alerts held.
    pub(crate) fn len(&self) -> usize {
        self.alerts.len()
    }
}

/// What every detector needs: configuration, geography, the alert book, the output and
/// the time.
pub(crate) struct Ctx<'a> {
    pub(crate) cfg: &'a FusionConfig,
    pub(crate) params: &'a FastMap<u8, serde_json::Value>,
    pub(crate) geo: &'a Geodata,
    pub(crate) book: &'a mut Book,
    pub(crate) out: &'a mut Vec<FusionEvent>,
    pub(crate) now: Timestamp,
}

impl Ctx<'_> {
    /// A new alert of `kind` (revision and id filled in), to be issued with
    /// [`Book::open`].
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn alert(
        &self,
        kind: AlertKind,
        subject: &str,
        start: Timestamp,
        severity: Severity,
        mmsi: Vec<u32>,
        position: Position,
        score: f64,
        reasons: Vec<String>,
    ) -> Alert {
        Alert {
            id: Alert::make_id(kind, subject, start),
            kind,
            severity,
            state: AlertState::Open,
            revision: 0,
            time: self.now,
            start,
            end: None,
            mmsi,
            contacts: Vec::new(),
            position,
            score: (score.clamp(0.0, 1.0) * 100.0).round() / 100.0,
            reasons,
            rule: format!("{kind}@{}", kind.rule_version()),
            params: self.params.get(&(kind as u8)).cloned().unwrap_or_default(),
            search_plan: None,
            outside_area: self
                .geo
                .area
                .as_ref()
                .is_some_and(|a| !a.contains(position)),
        }
    }

    /// Issue `a`.
    pub(crate) fn open(&mut self, a: Alert) -> Box<str> {
        self.book.open(a, self.out)
    }

    /// Issue a new revision of `id`.
    pub(crate) fn revise(&mut self, id: &str, f: impl FnOnce(&mut Alert)) -> Option<&Alert> {
        self.book.revise(id, self.now, self.out, f)
    }

    /// Distance from `p` to the nearest port, m (infinite beyond 50 km), cached on the
    /// vessel while it stays within 500 m.
    pub(crate) fn port_distance_m(&self, v: &mut Vessel, p: Position) -> f64 {
        if let Some((at, d)) = v.port_distance
            && at.fast_within_m(p, 500.0)
        {
            return d as f64;
        }
        let d = self
            .geo
            .ports
            .nearest_within(p, 50_000.0)
            .map_or(f64::INFINITY, |(_, d)| d);
        v.port_distance = Some((p, d as f32));
        d
    }

    /// The departure coast off which `p` or `q` lies, if any.
    pub(crate) fn departure_coast(&self, p: Position, q: Position) -> Option<&str> {
        (self.geo.departure_coasts.zones.iter())
            .find(|z| z.contains(p) || z.contains(q))
            .map(|z| z.name.as_str())
    }

    /// `", 41 km from Lampedusa"` or `", more than 50 km from any port"`.
    pub(crate) fn port_text(&self, p: Position) -> String {
        match self.geo.ports.nearest_within(p, 50_000.0) {
            Some((name, d)) => format!("{:.0} km from {name}", d / 1000.0),
            None => "more than 50 km from any known port".to_string(),
        }
    }
}

/// What every detector shares: configuration, its parameters as JSON, geography and
/// the alert book. Kept apart from the engine's other state so a [`Ctx`] can borrow it
/// while tracks, meetings and contacts are borrowed too.
struct Core {
    cfg: FusionConfig,
    params: FastMap<u8, serde_json::Value>,
    geo: Geodata,
    book: Book,
}

impl Core {
    fn ctx<'a>(&'a mut self, out: &'a mut Vec<FusionEvent>, now: Timestamp) -> Ctx<'a> {
        Ctx {
            cfg: &self.cfg,
            params: &self.params,
            geo: &self.geo,
            book: &mut self.book,
            out,
            now,
        }
    }
}

/// Where a patrol unit's radar target is, from an observation's fields: the target's own
/// position when the radar gave one (TLL), else the observing unit's position moved by the
/// range along the bearing (TTM), a relative bearing turned by the unit's heading, or its
/// course over ground without one. `None` when the target cannot be placed. The engine and
/// the console's picture both place contacts with it, so they agree.
pub fn radar_target_position(
    (lat, lon): (Option<f64>, Option<f64>),
    (range_nm, bearing_deg, bearing_true): (Option<f64>, Option<f64>, Option<bool>),
    unit: Option<(Position, Option<f64>, Option<f64>)>,
) -> Option<Position> {
    match (lat, lon, range_nm, bearing_deg) {
        (Some(lat), Some(lon), _, _) => Position::new(lat, lon),
        (_, _, Some(r), Some(b)) => {
            let (from, heading_deg, cog_deg) = unit?;
            let brg = if bearing_true.unwrap_or(true) {
                b
            } else {
                b + heading_deg.or(cog_deg)?
            };
            Some(from.destination(brg.rem_euclid(360.0), r * crate::geodesy::METERS_PER_NM))
        }
        _ => None,
    }
}

/// The latest position of a patrol unit (for placing its radar contacts).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct UnitFix {
    pub(crate) position: Option<Position>,
    pub(crate) heading_deg: Option<f64>,
    pub(crate) cog_deg: Option<f64>,
    /// As the unit last reported it.
    pub(crate) state: Option<ingest::wire::patrol::UnitState>,
}

/// The fusion engine.
pub struct FusionEngine {
    core: Core,
    vessels: FastMap<u32, Vessel>,
    coverage: Coverage,
    meetings: rendezvous::Meetings,
    contacts: dark_target::Contacts,
    beacons: sar_beacon::Beacons,
    responses: crate::sar::Responses,
    units: std::collections::BTreeMap<String, UnitFix>,
    stats: EngineStats,
}

impl std::fmt::Debug for FusionEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FusionEngine")
            .field("vessels", &self.vessels.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl FusionEngine {
    /// An engine with this configuration and geography.
    pub fn new(cfg: FusionConfig, geo: Geodata) -> FusionEngine {
        let mut params = FastMap::default();
        let json = |v: &dyn erased::Json| v.json();
        params.insert(AlertKind::AisGap as u8, json(&cfg.ais_gap));
        params.insert(AlertKind::Rendezvous as u8, json(&cfg.rendezvous));
        params.insert(AlertKind::Loitering as u8, json(&cfg.loitering));
        params.insert(AlertKind::PositionJump as u8, json(&cfg.position_jump));
        params.insert(
            AlertKind::IdentityConflict as u8,
            json(&cfg.identity_conflict),
        );
        params.insert(
            AlertKind::InvalidIdentity as u8,
            json(&cfg.invalid_identity),
        );
        params.insert(AlertKind::ZoneEntry as u8, json(&cfg.zone_entry));
        params.insert(AlertKind::DarkTarget as u8, json(&cfg.dark_target));
        params.insert(AlertKind::SarBeacon as u8, sar_beacon::params());
        params.insert(AlertKind::Distress as u8, json(&cfg.distress));
        for v in params.values_mut() {
            if let serde_json::Value::Object(m) = v {
                m.remove("enabled");
                m.remove("zones");
            }
        }
        FusionEngine {
            core: Core {
                cfg,
                params,
                geo,
                book: Book::default(),
            },
            vessels: FastMap::default(),
            coverage: Coverage::default(),
            meetings: rendezvous::Meetings::default(),
            contacts: dark_target::Contacts::default(),
            beacons: sar_beacon::Beacons::default(),
            responses: crate::sar::Responses::default(),
            units: Default::default(),
            stats: EngineStats::default(),
        }
    }

    /// The engine's state as bytes ([`FusionEngine::restore`] reads them): tracks,
    /// detectors' clocks, meetings, contacts, beacons, SAR responses, units and the
    /// alerts still open to revision. Configuration and geography are not included.
    pub fn save_state(&self) -> Vec<u8> {
        crate::snapshot::encode(&crate::snapshot::StateRef {
            version: crate::snapshot::VERSION,
            alerts: crate::snapshot::alerts_to_json(self.core.book.iter()),
            vessels: &self.vessels,
            coverage: &self.coverage,
            meetings: &self.meetings,
            contacts: &self.contacts,
            beacons: &self.beacons,
            responses: &self.responses,
            units: &self.units,
            stats: &self.stats,
        })
    }

    /// Take the state `bytes` hold ([`FusionEngine::save_state`]), in place of the
    /// current one: the engine goes on exactly as the saved one would have. On an error
    /// the engine is unchanged.
    pub fn load_state(&mut self, bytes: &[u8]) -> Result<(), crate::SnapshotError> {
        let s = crate::snapshot::decode(bytes)?;
        let alerts = crate::snapshot::alerts_from_json(&s.alerts)?;
        let e = self;
        e.core.book = Book::default();
        for a in alerts {
            e.core.book.alerts.insert(a.id.clone().into(), a);
        }
        e.vessels = s.vessels;
        e.coverage = s.coverage;
        e.meetings = s.meetings;
        e.contacts = s.contacts;
        e.beacons = s.beacons;
        e.responses = s.responses;
        e.units = s.units;
        e.stats = s.stats;
        Ok(())
    }

    /// The configuration in force.
    pub fn config(&self) -> &FusionConfig {
        &self.core.cfg
    }

    /// What the engine saw so far.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Vessels tracked now.
    pub fn vessels(&self) -> impl Iterator<Item = &Vessel> {
        self.vessels.values()
    }

    /// One vessel, if tracked.
    pub fn vessel(&self, mmsi: u32) -> Option<&Vessel> {
        self.vessels.get(&mmsi)
    }

    /// Alerts held for revision (open ones, and recent closed ones late data may change).
    pub fn alerts_held(&self) -> usize {
        self.core.book.len()
    }

    /// Cells of the learned coverage grid.
    pub fn coverage_cells(&self) -> usize {
        self.coverage.len()
    }

    /// Receivers the coverage tells apart (feeds, and tag block stations within them).
    pub fn coverage_receivers(&self) -> usize {
        self.coverage.receivers().len()
    }

    /// The risk score of a tracked vessel, with its reasons.
    pub fn risk(&self, mmsi: u32) -> Option<Risk> {
        self.vessels
            .get(&mmsi)
            .map(|v| risk::score(v, &self.core.cfg.risk))
    }

    /// Take one observation observed at `obs.time`, the engine's clock being `now`.
    #[must_use]
    pub fn on_observation(&mut self, obs: &Observation, now: Timestamp) -> Vec<FusionEvent> {
        let mut out = Vec::new();
        self.observe(obs, now, &mut out);
        out
    }

    /// [`FusionEngine::on_observation`], appending to `out`.
    pub fn observe(&mut self, obs: &Observation, now: Timestamp, out: &mut Vec<FusionEvent>) {
        self.stats.observations += 1;
        match &obs.data {
            ObservationData::Ais(ais) => self.on_ais(ais, &obs.receivers, obs.time, now, out),
            ObservationData::PatrolFix {
                unit,
                lat,
                lon,
                cog_deg,
                heading_deg,
                ..
            } => {
                let u = self.units.entry(unit.as_str().to_string()).or_default();
                if let (Some(lat), Some(lon)) = (lat, lon)
                    && let Some(p) = Position::new(*lat, *lon)
                {
                    u.position = Some(p);
                }
                if heading_deg.is_some() {
                    u.heading_deg = *heading_deg;
                }
                if cog_deg.is_some() {
                    u.cog_deg = *cog_deg;
                }
            }
            ObservationData::RadarTarget {
                unit,
                target,
                lat,
                lon,
                range_nm,
                bearing_deg,
                bearing_true,
                status,
                ..
            } => {
                self.stats.radar_updates += 1;
                let u = self.units.get(unit.as_str());
                let position = radar_target_position(
                    (*lat, *lon),
                    (*range_nm, *bearing_deg, *bearing_true),
                    u.and_then(|u| Some((u.position?, u.heading_deg, u.cog_deg))),
                );
                let Some(position) = position else {
                    self.stats.radar_unplaced += 1;
                    return;
                };
                let lost = matches!(status, Some(ingest::telemetry::TargetStatus::Lost));
                let mut cx = self.core.ctx(out, now);
                self.contacts.on_radar(
                    &mut cx,
                    &self.vessels,
                    unit.as_str(),
                    *target,
                    position,
                    obs.time,
                    lost,
                );
            }
            ObservationData::Report { unit, report } => {
                if let ingest::wire::PatrolReport::Status {
                    position, state, ..
                } = report
                {
                    let u = self.units.entry(unit.as_str().to_string()).or_default();
                    u.state = Some(*state);
                    if let Some(p) = position.and_then(|p| Position::new(p.lat, p.lon)) {
                        u.position = Some(p);
                    }
                }
                if let ingest::wire::PatrolReport::TaskingAck {
                    time,
                    tasking,
                    accepted,
                    reason,
                } = report
                {
                    let mut cx = self.core.ctx(out, now);
                    self.responses.on_ack(
                        &mut cx,
                        &self.units,
                        unit.as_str(),
                        tasking,
                        *accepted,
                        reason.as_deref(),
                        *time,
                    );
                    return;
                }
                if let ingest::wire::PatrolReport::Sighting { .. } = report {
                    self.stats.sightings += 1;
                    let mut cx = self.core.ctx(out, now);
                    self.contacts.on_sighting(
                        &mut cx,
                        &self.vessels,
                        unit.as_str(),
                        &obs.id,
                        report,
                    );
                    if let Some((alert, lkp, lkp_time, object)) =
                        distress::on_sighting(&mut cx, unit.as_str(), &obs.id, report)
                    {
                        self.responses.respond(
                            &mut cx,
                            &self.units,
                            crate::sar::Request {
                                alert: &alert,
                                lkp,
                                lkp_time,
                                object,
                                pattern: "SS",
                                task: true,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
    }

    /// Take one AIS message observed at `time` by `receivers` (feeds, or `feed/station` for
    /// a tag block's `s:`; none: coverage is learnt without telling receivers apart), the
    /// engine's clock being `now`.
    pub fn on_ais(
        &mut self,
        ais: &AisObservation,
        receivers: &[String],
        time: Timestamp,
        now: Timestamp,
        out: &mut Vec<FusionEvent>,
    ) {
        self.stats.ais_messages += 1;
        if sar_beacon::concerns(ais) {
            let mut cx = self.core.ctx(out, now);
            if let Some(act) = self.beacons.on_ais(&mut cx, ais, time) {
                self.responses.respond(
                    &mut cx,
                    &self.units,
                    crate::sar::Request {
                        alert: &act.alert,
                        lkp: act.position,
                        lkp_time: act.time,
                        object: act.object,
                        pattern: act.pattern,
                        task: true,
                    },
                );
            }
            // A beacon is not a vessel: no track, no loitering, no gap; where it is heard
            // tells where beacons reach the receivers.
            if sar_beacon::is_beacon(ais.mmsi) {
                if let (Some(lat), Some(lon)) = (ais.lat, ais.lon)
                    && let Some(p) = Position::new(lat, lon)
                    && (lat, lon) != (0.0, 0.0)
                {
                    // Never later than the engine's clock: a feed's future time must not
                    // keep a receiver alive or a cell heard for ever.
                    let t_ms = time.as_millisecond().min(now.as_millisecond());
                    (self.coverage).heard(p, ais.mmsi, t_ms, Class::Sart, receivers);
                }
                return;
            }
        }
        let tracked = matches!(ais.msg_type, 1 | 2 | 3 | 18 | 19 | 27);
        let static_msg = matches!(ais.msg_type, 5 | 19 | 24);
        if !tracked && !static_msg {
            self.stats.untracked_messages += 1;
            return;
        }
        let mut cx = self.core.ctx(out, now);
        let t_ms = time.as_millisecond();
        let v = self.vessels.entry(ais.mmsi).or_insert_with(|| Vessel {
            mmsi: ais.mmsi,
            ..Vessel::default()
        });
        v.reports += 1;
        v.last_heard_ms = v.last_heard_ms.max(t_ms);
        if static_msg {
            identity_conflict::on_static(&mut cx, v, ais, time);
        }
        if !tracked {
            return;
        }
        let (Some(lat), Some(lon)) = (ais.lat, ais.lon) else {
            return;
        };
        let Some(position) = Position::new(lat, lon) else {
            return;
        };
        if lat == 0.0 && lon == 0.0 {
            self.stats.null_island += 1;
            return;
        }
        let fix = Fix {
            time_ms: t_ms,
            position,
            sog_kn: ais.sog_kn.map_or(f32::NAN, |s| s as f32),
            cog_deg: ais.cog_deg.map_or(f32::NAN, |c| c as f32),
            nav_status: ais.nav_status.unwrap_or(15),
        };
        self.stats.positions += 1;
        v.class_b = matches!(ais.msg_type, 18 | 19);
        let class = if v.class_b { Class::B } else { Class::A };
        // Coverage never takes a time later than the engine's clock (a future tag block time
        // would keep a receiver alive, and a cell heard, for ever).
        let heard_ms = t_ms.min(now.as_millisecond());
        let station = (self.coverage).heard(position, ais.mmsi, heard_ms, class, receivers);
        if v.last_fix().is_some_and(|l| t_ms < l.time_ms) {
            self.stats.late_positions += 1;
            ais_gap::on_late_fix(&mut cx, v, &fix);
            return;
        }
        v.last_station = station;
        let previous = v.last_fix().copied();
        let tc = &cx.cfg.track;
        let placement = track::place(
            &mut v.segments,
            &mut v.segment_counter,
            fix,
            tc.max_speed_kn,
            (tc.max_gap_h * 3_600_000.0) as i64,
            tc.noise_m,
        );
        v.latest = v
            .segments
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.last.time_ms)
            .map_or(0, |(i, _)| i);
        let prev_in_segment = match placement {
            Placement::Continued { prev, .. } => Some(prev),
            Placement::Started { from, .. } => {
                self.stats.segments_started += 1;
                if let Some((from, d, kn)) = from
                    && cx.cfg.position_jump.enabled
                {
                    position_jump::on_jump(&mut cx, v, &from, &fix, d, kn);
                }
                None
            }
        };
        // Judged once, where the vessel is first seen.
        if !v.mmsi_checked {
            v.mmsi_checked = true;
            if cx.cfg.invalid_identity.enabled {
                invalid_identity::check_mmsi(&mut cx, v, time);
            }
        }
        if cx.cfg.identity_conflict.enabled {
            identity_conflict::on_fix(&mut cx, v, &fix);
        }
        if cx.cfg.position_jump.enabled && cx.cfg.position_jump.land {
            position_jump::on_land(&mut cx, v, &fix, prev_in_segment.as_ref());
        }
        let alerted = v.gap_alert.is_some();
        ais_gap::on_fix(&mut cx, v, previous.as_ref(), &fix, &self.coverage);
        // Where vessels come in and where they are lost teaches where the receivers' reach
        // ends: a vessel heard again after a silence shorter than a gap where it was (one
        // that sailed out of reach and back) was lost where it was last heard, and comes in
        // anew. A silence as long as a gap, or alerted as one, is not counted: where vessels
        // go dark must not be learnt as the edge of the reach.
        let silent_ms = previous.map_or(0, |p| fix.time_ms - p.time_ms);
        let returned = silent_ms >= crate::coverage::LOST_AFTER_MS;
        if let Some(p) = previous.filter(|p| {
            returned
                && !alerted
                && p.nav_status != 5
                && silent_ms < ais_gap::threshold_ms(&cx, p, fix.time_ms)
        }) {
            self.coverage.lost(p.position, class);
        }
        if returned || previous.is_none_or(|p| !Coverage::same_cell(p.position, fix.position)) {
            self.coverage.visit(fix.position, class);
        }
        if cx.cfg.zone_entry.enabled {
            zone_entry::on_fix(&mut cx, v, &fix, previous.is_none());
        }
        let speed_kn = fix.sog().or_else(|| {
            prev_in_segment.map(|p| {
                crate::geodesy::speed_kn(
                    p.position.fast_distance_m(fix.position),
                    (fix.time_ms - p.time_ms) as f64 / 1000.0,
                )
            })
        });
        if cx.cfg.loitering.enabled {
            loitering::on_fix(&mut cx, v, &fix, speed_kn);
        }
        distress::on_fix(&mut cx, v, &fix, speed_kn, matches!(ais.msg_type, 18 | 19));
        if cx.cfg.rendezvous.enabled {
            let slow = speed_kn.is_some_and(|s| s < cx.cfg.rendezvous.max_speed_kn)
                && fix.nav_status != 5
                && cx.port_distance_m(v, position) > cx.cfg.rendezvous.min_port_distance_m;
            self.meetings
                .on_fix(&mut cx, &self.vessels, ais.mmsi, &fix, slow);
            for mmsi in self.meetings.take_alerted() {
                if let Some(v) = self.vessels.get_mut(&mmsi) {
                    v.count(AlertKind::Rendezvous, 1);
                }
            }
        }
    }

    /// Let time pass to `now`: silences become gaps, meetings and contacts end, long-silent
    /// vessels are forgotten. Call it at least once a minute of the data's time.
    #[must_use]
    pub fn tick(&mut self, now: Timestamp) -> Vec<FusionEvent> {
        let mut out = Vec::new();
        let mut cx = self.core.ctx(&mut out, now);
        // Deterministic order: by MMSI.
        let mut mmsis: Vec<u32> = self.vessels.keys().copied().collect();
        mmsis.sort_unstable();
        let forget_ms = (cx.cfg.track.forget_after_h * 3_600_000.0) as i64;
        let now_ms = now.as_millisecond();
        for mmsi in &mmsis {
            let v = self.vessels.get_mut(mmsi).expect("listed");
            if cx.cfg.ais_gap.enabled {
                ais_gap::on_tick(&mut cx, v, &self.coverage);
            }
            loitering::on_tick(&mut cx, v);
            if let Some((alert, lkp, lkp_time)) = distress::on_tick(&mut cx, v, &self.coverage) {
                // A proposal: the plan is ready, the tasking is the coordinator's call.
                self.responses.respond(
                    &mut cx,
                    &self.units,
                    crate::sar::Request {
                        alert: &alert,
                        lkp,
                        lkp_time,
                        object: "flat_bottom_dinghy",
                        pattern: "SS",
                        task: false,
                    },
                );
            }
            identity_conflict::on_tick(&mut cx, v);
            if now_ms - v.last_heard_ms > forget_ms {
                self.stats.vessels_forgotten += 1;
                self.meetings.forget(*mmsi);
                let v = self.vessels.remove(mmsi).expect("listed");
                let ids = [
                    &v.gap_alert,
                    &v.land_alert,
                    &v.jump_alert,
                    &v.conflict_alert,
                ]
                .into_iter()
                .flatten()
                .chain(v.zone_alerts.iter().map(|(_, id)| id))
                .chain(v.loiter.as_ref().and_then(|l| l.alert.as_ref()));
                for id in ids {
                    cx.book.drop_alert(id);
                }
            }
        }
        self.meetings.on_tick(&mut cx);
        self.contacts.on_tick(&mut cx);
        self.beacons.on_tick(&mut cx, &self.coverage);
        // Learn the receivers' reach over the coverage memory; forget cells no question will
        // look at again: those heard before the longest silence still judged (half of
        // `forget_after_h`) and the coverage memory.
        let c = &self.core.cfg;
        let memory_ms = (c.ais_gap.coverage_memory_min * 60_000.0) as i64;
        let horizon_ms = memory_ms.max((c.track.forget_after_h * 1_800_000.0) as i64);
        (self.coverage).on_tick(now_ms, (memory_ms, horizon_ms), &c.ais_gap.receivers);
        self.core
            .book
            .purge(now - jiff::SignedDuration::from_hours(48));
        out
    }

    /// Bytes of live state per tracked vessel, on average (history excluded).
    pub fn live_bytes_per_vessel(&self) -> f64 {
        if self.vessels.is_empty() {
            return 0.0;
        }
        let per_entry = std::mem::size_of::<(u32, Vessel)>() + 1;
        let total: usize = self
            .vessels
            .values()
            .map(|v| v.live_bytes() - std::mem::size_of::<Vessel>() + per_entry)
            .sum();
        let shared = self.coverage.bytes() + self.meetings.bytes();
        (total + shared) as f64 / self.vessels.len() as f64
    }
}

/// Serialize a config section to JSON without naming each type.
mod erased {
    pub(super) trait Json {
        fn json(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
}

#[cfg(test)]
mod radar_placement {
    use super::*;

    #[test]
    fn a_radar_target_is_placed_from_its_fix_or_the_units_position_range_and_bearing() {
        let unit = Position::new(35.0, 12.0).unwrap();
        let at = |p: Option<Position>| p.map(|p| ((p.lat * 1e4).round(), (p.lon * 1e4).round()));
        // Its own fix wins.
        assert_eq!(
            at(radar_target_position(
                (Some(35.5), Some(12.5)),
                (Some(3.0), Some(90.0), Some(true)),
                None
            )),
            Some((355_000.0, 125_000.0))
        );
        // 60 NM due north of the unit: one degree of latitude.
        let north = radar_target_position(
            (None, None),
            (Some(60.0), Some(0.0), Some(true)),
            Some((unit, None, None)),
        );
        assert!((north.unwrap().lat - 36.0).abs() < 0.01, "{north:?}");
        // A relative bearing turns with the heading, or the course without one.
        let rel = |heading, cog| {
            radar_target_position(
                (None, None),
                (Some(60.0), Some(90.0), Some(false)),
                Some((unit, heading, cog)),
            )
        };
        assert!((rel(Some(270.0), None).unwrap().lat - 36.0).abs() < 0.01);
        assert!((rel(None, Some(270.0)).unwrap().lat - 36.0).abs() < 0.01);
        assert_eq!(
            rel(None, None),
            None,
            "no heading nor course: cannot be placed"
        );
        // No unit position, or no range: not placed.
        assert_eq!(
            radar_target_position((None, None), (Some(1.0), Some(0.0), None), None),
            None
        );
        assert_eq!(
            radar_target_position(
                (None, None),
                (None, Some(0.0), None),
                Some((unit, None, None))
            ),
            None
        );
    }
}
