//! The live picture the console shows: every track (AIS vessels, radar contacts,
//! sightings, patrol units) with a bounded history for trails and replay, every alert
//! revision with its triage, the units' taskings. Fed from the broker by
//! [`super::feed`]; read by the API.
//!
//! Identity, static data and the risk score come from a [`FusionEngine`] fed the same
//! observations (deterministic, so it agrees with the fusion service); the alerts shown are
//! the fusion service's own, received over MQTT.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use fusion::geodata::MidTable;
use fusion::{Alert, AlertState, FusionEngine, Position};
use ingest::model::{Observation, ObservationData};
use ingest::wire::{PatrolReport, Tasking};
use jiff::{SignedDuration, Timestamp};

use super::model::*;

/// How much the picture keeps.
#[derive(Debug, Clone, Copy)]
pub struct PictureConfig {
    /// History kept per track (trails, replay).
    pub history: SignedDuration,
    /// At most one history point per track per this many seconds.
    pub history_step_s: i64,
    /// A track not heard for this long leaves the live picture (and, past `history`, memory).
    pub live_window: SignedDuration,
}

impl Default for PictureConfig {
    fn default() -> Self {
        PictureConfig {
            history: SignedDuration::from_hours(6),
            history_step_s: 30,
            live_window: SignedDuration::from_hours(1),
        }
    }
}

/// One history point, small (16 bytes): 10 000 tracks × 6 h × 2/min ≈ 115 MB at most.
#[derive(Debug, Clone, Copy)]
struct Hist {
    time_s: i64,
    lat: f32,
    lon: f32,
}

#[derive(Debug, Clone)]
struct Track {
    kind: TrackKind,
    mmsi: Option<u32>,
    unit: Option<String>,
    label: String,
    category: String,
    lat: f64,
    lon: f64,
    sog_kn: Option<f64>,
    cog_deg: Option<f64>,
    heading_deg: Option<f64>,
    time_ms: i64,
    detail: Option<String>,
    history: VecDeque<Hist>,
}

impl Track {
    /// A track not yet placed: the first report sets its position and time.
    fn new(
        kind: TrackKind,
        mmsi: Option<u32>,
        unit: Option<String>,
        label: &str,
        category: &str,
    ) -> Track {
        Track {
            kind,
            mmsi,
            unit,
            label: label.to_owned(),
            category: category.to_owned(),
            lat: 0.0,
            lon: 0.0,
            sog_kn: None,
            cog_deg: None,
            heading_deg: None,
            time_ms: i64::MIN,
            detail: None,
            history: VecDeque::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
struct AlertEntry {
    /// Every revision, in the order received.
    revisions: Vec<Alert>,
    triage: Triage,
}

impl AlertEntry {
    fn latest(&self) -> &Alert {
        self.revisions.last().expect("an entry has a revision")
    }
}

/// The picture.
pub struct Picture {
    cfg: PictureConfig,
    engine: FusionEngine,
    mid: MidTable,
    tracks: HashMap<String, Track>,
    alerts: BTreeMap<String, AlertEntry>,
    taskings: BTreeMap<String, (Tasking, String, Option<String>)>,
    incidents: Vec<Incident>,
    clock: Option<Timestamp>,
    /// Tracks changed since the last [`Picture::take_changed`].
    changed: HashSet<String>,
    /// History points not yet stored.
    pending: Vec<StoredPoint>,
}

/// A history point as the store keeps it (with what is needed to draw the track again).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPoint {
    /// Track id.
    pub track: String,
    /// What the track is.
    pub kind: TrackKind,
    /// MMSI (AIS).
    pub mmsi: Option<u32>,
    /// Patrol unit.
    pub unit: Option<String>,
    /// Label.
    pub label: String,
    /// Category.
    pub category: String,
    /// Unix seconds.
    pub time_s: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Picture")
            .field("tracks", &self.tracks.len())
            .field("alerts", &self.alerts.len())
            .finish_non_exhaustive()
    }
}

/// The vessel type group of an AIS ship and cargo type (ITU-R M.1371 table 53).
pub fn category(mmsi: u32, ship_type: Option<u8>) -> &'static str {
    if (970_000_000..=979_999_999).contains(&mmsi) {
        return "sart";
    }
    match ship_type {
        None | Some(0) => "unknown",
        Some(30) => "fishing",
        Some(31 | 32 | 52) => "tug",
        Some(36 | 37) => "pleasure",
        Some(40..=49) => "high_speed",
        Some(51) => "sar",
        Some(55) => "law_enforcement",
        Some(60..=69) => "passenger",
        Some(70..=79) => "cargo",
        Some(80..=89) => "tanker",
        Some(_) => "other",
    }
}

fn opt_f64(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

impl Picture {
    /// An empty picture.
    pub fn new(cfg: PictureConfig, engine: FusionEngine) -> Picture {
        Picture {
            cfg,
            engine,
            mid: MidTable::built_in(),
            tracks: HashMap::new(),
            alerts: BTreeMap::new(),
            taskings: BTreeMap::new(),
            incidents: Vec::new(),
            clock: None,
            changed: HashSet::new(),
            pending: Vec::new(),
        }
    }

    /// The history points made since the last call, to store.
    pub fn take_pending(&mut self) -> Vec<StoredPoint> {
        std::mem::take(&mut self.pending)
    }

    /// Rebuild tracks and their history from stored points (oldest first), after a
    /// restart; the clock starts at the newest. Speeds and courses come back with the next
    /// reports.
    pub fn restore(&mut self, points: Vec<StoredPoint>) {
        for p in points {
            let t_ms = p.time_s * 1000;
            let t = self
                .tracks
                .entry(p.track)
                .or_insert_with(|| Track::new(p.kind, p.mmsi, p.unit, &p.label, &p.category));
            if t.history.back().is_none_or(|h| p.time_s > h.time_s) {
                t.history.push_back(Hist {
                    time_s: p.time_s,
                    lat: p.lat as f32,
                    lon: p.lon as f32,
                });
            }
            if t_ms >= t.time_ms {
                (t.lat, t.lon, t.time_ms) = (p.lat, p.lon, t_ms);
                t.label = p.label;
                t.category = p.category;
            }
            let time = Timestamp::from_second(p.time_s).unwrap_or_default();
            if self.clock.is_none_or(|c| c < time) {
                self.clock = Some(time);
            }
        }
    }

    /// How much history the picture keeps.
    pub fn history(&self) -> SignedDuration {
        self.cfg.history
    }

    /// The picture's clock: the latest data time seen, carried forward by [`Picture::tick`].
    pub fn clock(&self) -> Timestamp {
        self.clock.unwrap_or_else(Timestamp::now)
    }

    /// Number of tracks held.
    pub fn track_count(&self) -> usize {
        self.tracks.len()
    }

    /// Take an observation.
    pub fn observe(&mut self, obs: &Observation) {
        // The same clock as the fusion service: the data's time, never moved by a sender
        // whose clock is far ahead.
        let (now, _) = fusion::clock::advance_clock(self.clock, obs.time, Timestamp::now());
        self.clock = Some(now);
        let _ = self.engine.on_observation(obs, now);
        let t_ms = obs.time.as_millisecond();
        match &obs.data {
            ObservationData::Ais(a) => {
                let id = format!("ais:{}", a.mmsi);
                let v = self.engine.vessel(a.mmsi);
                let label = v.map_or_else(|| a.mmsi.to_string(), |v| v.label());
                let cat = category(a.mmsi, v.and_then(|v| v.ship_type()));
                if let (Some(lat), Some(lon)) = (a.lat, a.lon) {
                    self.place(
                        id,
                        TrackKind::Ais,
                        Some(a.mmsi),
                        None,
                        t_ms,
                        lat,
                        lon,
                        (a.sog_kn, a.cog_deg, a.heading_deg.map(f64::from)),
                        label,
                        cat.to_owned(),
                        None,
                    );
                } else if let Some(t) = self.tracks.get_mut(&id) {
                    // Static data: a new name or type shows at once.
                    t.label = label;
                    t.category = cat.to_owned();
                    self.changed.insert(id);
                }
            }
            ObservationData::PatrolFix {
                unit,
                lat,
                lon,
                sog_kn,
                cog_deg,
                heading_deg,
            } => {
                let id = format!("unit:{unit}");
                match (lat, lon) {
                    (Some(lat), Some(lon)) => {
                        let detail = self.tracks.get(&id).and_then(|t| t.detail.clone());
                        self.place(
                            id,
                            TrackKind::Unit,
                            None,
                            Some(unit.to_string()),
                            t_ms,
                            *lat,
                            *lon,
                            (*sog_kn, *cog_deg, *heading_deg),
                            unit.to_string(),
                            "patrol".into(),
                            detail,
                        );
                    }
                    _ => {
                        if let Some(t) = self.tracks.get_mut(&id) {
                            t.heading_deg = heading_deg.or(t.heading_deg);
                            t.cog_deg = cog_deg.or(t.cog_deg);
                            t.sog_kn = sog_kn.or(t.sog_kn);
                        }
                    }
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
                speed_kn,
                course_deg,
                ..
            } => {
                // Placed as the engine places it (its own position, or the unit's
                // position, range and bearing).
                let own = self
                    .tracks
                    .get(&format!("unit:{unit}"))
                    .and_then(|u| Some((Position::new(u.lat, u.lon)?, u.heading_deg, u.cog_deg)));
                let pos = fusion::engine::radar_target_position(
                    (*lat, *lon),
                    (*range_nm, *bearing_deg, *bearing_true),
                    own,
                )
                .map(|p| (p.lat, p.lon));
                if let Some((lat, lon)) = pos {
                    self.place(
                        format!("radar:{unit}:{target}"),
                        TrackKind::Radar,
                        None,
                        Some(unit.to_string()),
                        t_ms,
                        lat,
                        lon,
                        (*speed_kn, *course_deg, None),
                        format!("{unit} radar target {target}"),
                        "radar".into(),
                        None,
                    );
                }
            }
            ObservationData::Report { unit, report } => self.report(obs, unit.as_str(), report),
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn report(&mut self, obs: &Observation, unit: &str, report: &PatrolReport) {
        match report {
            PatrolReport::Sighting {
                time,
                position,
                craft,
                persons_estimate,
                condition,
                notes,
            } => {
                let name = |v: &dyn Fn() -> serde_json::Value| match v() {
                    serde_json::Value::String(s) => s.replace('_', " "),
                    _ => String::new(),
                };
                let mut detail = format!(
                    "{}, about {persons_estimate} persons, {}",
                    name(&|| serde_json::to_value(craft).unwrap_or_default()),
                    name(&|| serde_json::to_value(condition).unwrap_or_default()),
                );
                if let Some(n) = notes {
                    detail.push_str(&format!(": {n}"));
                }
                self.place(
                    format!("sighting:{}", obs.id),
                    TrackKind::Sighting,
                    None,
                    Some(unit.to_owned()),
                    time.as_millisecond(),
                    position.lat,
                    position.lon,
                    (None, None, None),
                    format!("sighting by {unit}"),
                    "sighting".into(),
                    Some(detail),
                );
            }
            PatrolReport::Status {
                time,
                state,
                position,
                ..
            } => {
                let id = format!("unit:{unit}");
                let state = serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v.as_str().map(|s| s.replace('_', " ")));
                if let Some(p) = position {
                    self.place(
                        id.clone(),
                        TrackKind::Unit,
                        None,
                        Some(unit.to_owned()),
                        time.as_millisecond(),
                        p.lat,
                        p.lon,
                        (None, None, None),
                        unit.to_owned(),
                        "patrol".into(),
                        state.clone(),
                    );
                }
                if let Some(t) = self.tracks.get_mut(&id) {
                    t.detail = state;
                    self.changed.insert(id);
                }
            }
            PatrolReport::TaskingAck {
                tasking,
                accepted,
                reason,
                ..
            } => {
                // Only the unit tasked answers for its tasking (the report's unit is its
                // topic's, which the broker checks); another unit's answer is ignored.
                if let Some(t) = self
                    .taskings
                    .get_mut(tasking)
                    .filter(|(t, ..)| t.unit == unit)
                {
                    t.1 = if *accepted { "accepted" } else { "declined" }.into();
                    t.2 = reason.clone();
                    self.changed.insert(format!("unit:{unit}"));
                }
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        id: String,
        kind: TrackKind,
        mmsi: Option<u32>,
        unit: Option<String>,
        t_ms: i64,
        lat: f64,
        lon: f64,
        (sog_kn, cog_deg, heading_deg): (Option<f64>, Option<f64>, Option<f64>),
        label: String,
        category: String,
        detail: Option<String>,
    ) {
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return;
        }
        let step = self.cfg.history_step_s;
        let keep_from = self.clock().as_second() - self.cfg.history.as_secs();
        let t = self
            .tracks
            .entry(id.clone())
            .or_insert_with(|| Track::new(kind, mmsi, unit.clone(), &label, &category));
        let t_s = t_ms.div_euclid(1000);
        if t.history.back().is_none_or(|h| t_s >= h.time_s + step) {
            t.history.push_back(Hist {
                time_s: t_s,
                lat: lat as f32,
                lon: lon as f32,
            });
            // Kept on disk too, so a restarted console can still replay.
            self.pending.push(StoredPoint {
                track: id.clone(),
                kind,
                mmsi,
                unit: unit.clone(),
                label: label.clone(),
                category: category.clone(),
                time_s: t_s,
                lat,
                lon,
            });
        }
        while t.history.front().is_some_and(|h| h.time_s < keep_from) && t.history.len() > 1 {
            t.history.pop_front();
        }
        if t_ms >= t.time_ms {
            t.lat = lat;
            t.lon = lon;
            t.sog_kn = opt_f64(sog_kn);
            t.cog_deg = opt_f64(cog_deg);
            t.heading_deg = opt_f64(heading_deg);
            t.time_ms = t_ms;
            t.label = label;
            t.category = category;
            if detail.is_some() {
                t.detail = detail;
            }
        }
        self.changed.insert(id);
    }

    /// Take an alert revision from fusion; false if it was already known.
    pub fn alert(&mut self, a: Alert) -> bool {
        let e = self.alerts.entry(a.id.clone()).or_default();
        if e.revisions.iter().any(|r| r.revision == a.revision) {
            return false;
        }
        // A dismissed alert whose severity rises is back in front of the watch.
        if e.triage.status == TriageStatus::Dismissed
            && let Some(at) = &e.triage.dismissed_at_severity
            && severity_name(&a) != *at
            && a.severity > parse_severity(at).unwrap_or(a.severity)
        {
            e.triage.status = TriageStatus::New;
            e.triage.reason = Some(format!(
                "re-raised: severity rose to {} after it was dismissed",
                severity_name(&a)
            ));
            e.triage.dismissed_at_severity = None;
        }
        for m in &a.mmsi {
            self.changed.insert(format!("ais:{m}"));
        }
        e.revisions.push(a);
        e.revisions.sort_by_key(|r| r.revision);
        true
    }

    /// Take a tasking sent to a unit.
    /// A unit's tasking as kept by the store, with the unit's answer (after a restart).
    pub fn restore_tasking(&mut self, t: Tasking, status: String, reason: Option<String>) {
        self.changed.insert(format!("unit:{}", t.unit));
        self.taskings.insert(t.id.clone(), (t, status, reason));
    }

    /// A tasking's status (`sent`, `accepted`, `declined`) and the unit's reason, if held.
    pub fn tasking_status(&self, id: &str) -> Option<(&str, Option<&str>)> {
        self.taskings
            .get(id)
            .map(|(_, s, r)| (s.as_str(), r.as_deref()))
    }

    /// A tasking sent to a unit, `sent` until it answers (one already held is kept).
    pub fn tasking(&mut self, t: Tasking) {
        self.changed.insert(format!("unit:{}", t.unit));
        self.taskings
            .entry(t.id.clone())
            .or_insert((t, "sent".into(), None));
    }

    /// The latest revision held of an alert, if any.
    pub fn latest_revision(&self, id: &str) -> Option<&Alert> {
        self.alerts.get(id).and_then(|e| e.revisions.last())
    }

    /// Is this revision of this alert held?
    pub fn has_revision(&self, id: &str, revision: u32) -> bool {
        self.alerts
            .get(id)
            .is_some_and(|e| e.revisions.iter().any(|r| r.revision == revision))
    }

    /// Is there a tasking with this id?
    pub fn has_tasking(&self, id: &str) -> bool {
        self.taskings.contains_key(id)
    }

    /// The units tasked to any of `alerts`.
    pub fn units_tasked_for(&self, alerts: &[String]) -> Vec<String> {
        self.taskings
            .values()
            .filter(|(t, ..)| alerts.contains(&t.alert))
            .map(|(t, ..)| t.unit.clone())
            .collect()
    }

    /// Restore a triage (from the store).
    pub fn set_triage(&mut self, alert: &str, t: Triage) {
        if let Some(e) = self.alerts.get_mut(alert) {
            e.triage = t;
        } else {
            // Triage of an alert not (yet) received: kept for when it comes.
            let e = self.alerts.entry(alert.to_owned()).or_default();
            e.triage = t;
        }
    }

    /// An alert's triage.
    pub fn triage(&self, alert: &str) -> Option<&Triage> {
        self.alerts
            .get(alert)
            .filter(|e| !e.revisions.is_empty())
            .map(|e| &e.triage)
    }

    /// Restore or add an incident.
    pub fn add_incident(&mut self, i: Incident) {
        self.incidents.push(i);
    }

    /// Every incident, oldest first.
    pub fn incidents(&self) -> &[Incident] {
        &self.incidents
    }

    /// A fresh incident id for `now`: `INC-YYYYMMDD-NNN`.
    pub fn next_incident_id(&self, now: Timestamp) -> String {
        let day = now.strftime("%Y%m%d").to_string();
        let n = self
            .incidents
            .iter()
            .filter(|i| i.id.starts_with(&format!("INC-{day}-")))
            .count();
        format!("INC-{day}-{:03}", n + 1)
    }

    /// Carry the clock forward by `elapsed` (real time since the last tick) and let the
    /// engine's time-based rules run; forget tracks silent past the history window.
    pub fn tick(&mut self, elapsed: SignedDuration) {
        let Some(c) = self.clock.as_mut() else {
            return;
        };
        *c += elapsed;
        let now = *c;
        let _ = self.engine.tick(now);
        let forget_before = (now - self.cfg.history).as_millisecond();
        self.tracks.retain(|_, t| t.time_ms >= forget_before);
    }

    /// The tracks changed since the last call, as views.
    pub fn take_changed(&mut self) -> Vec<TrackView> {
        let ids: Vec<String> = self.changed.drain().collect();
        let open = self.open_alert_counts();
        let mut v: Vec<TrackView> = ids
            .iter()
            .filter_map(|id| self.tracks.get(id).map(|t| self.view(id, t, None, &open)))
            .collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    fn open_alert_counts(&self) -> HashMap<String, u32> {
        let mut n: HashMap<String, u32> = HashMap::new();
        for e in self.alerts.values().filter(|e| !e.revisions.is_empty()) {
            let a = e.latest();
            if a.state != AlertState::Open {
                continue;
            }
            for m in &a.mmsi {
                *n.entry(format!("ais:{m}")).or_default() += 1;
            }
            for c in &a.contacts {
                *n.entry(c.clone()).or_default() += 1;
            }
        }
        n
    }

    fn view(
        &self,
        id: &str,
        t: &Track,
        at: Option<&Hist>,
        open: &HashMap<String, u32>,
    ) -> TrackView {
        let (lat, lon, time, live) = match at {
            Some(h) => (
                h.lat as f64,
                h.lon as f64,
                Timestamp::from_second(h.time_s).unwrap_or_default(),
                false,
            ),
            None => (
                t.lat,
                t.lon,
                Timestamp::from_millisecond(t.time_ms).unwrap_or_default(),
                true,
            ),
        };
        let risk = t
            .mmsi
            .and_then(|m| self.engine.risk(m))
            .map(|r| r.score)
            .filter(|s| *s > 0.0);
        let taskings = match (&t.unit, t.kind) {
            (Some(u), TrackKind::Unit) => self
                .taskings
                .values()
                .filter(|(tk, _, _)| tk.unit == *u)
                .map(|(tk, status, reason)| tasking_view(tk, status, reason))
                .collect(),
            _ => Vec::new(),
        };
        TrackView {
            id: id.to_owned(),
            kind: t.kind,
            mmsi: t.mmsi,
            unit: t.unit.clone(),
            label: t.label.clone(),
            category: t.category.clone(),
            position: Position { lat, lon },
            sog_kn: t.sog_kn.filter(|_| live),
            cog_deg: t.cog_deg.filter(|_| live),
            heading_deg: t.heading_deg.filter(|_| live),
            time,
            risk,
            open_alerts: open.get(id).copied().unwrap_or(0),
            detail: t.detail.clone(),
            taskings,
        }
    }

    /// The picture now (`at` = None) or as it was at `at`, from the history kept.
    pub fn snapshot(&self, at: Option<Timestamp>) -> PictureView {
        let now = self.clock();
        let open = self.open_alert_counts();
        let mut tracks: Vec<TrackView> = match at {
            None => {
                let from = (now - self.cfg.live_window).as_millisecond();
                self.tracks
                    .iter()
                    .filter(|(_, t)| t.time_ms >= from)
                    .map(|(id, t)| self.view(id, t, None, &open))
                    .collect()
            }
            Some(at) => {
                let at_s = at.as_second();
                let from_s = at_s - self.cfg.live_window.as_secs();
                self.tracks
                    .iter()
                    .filter_map(|(id, t)| {
                        let i = t.history.partition_point(|h| h.time_s <= at_s);
                        let h = t.history.get(i.checked_sub(1)?)?;
                        (h.time_s >= from_s).then(|| self.view(id, t, Some(h), &open))
                    })
                    .collect()
            }
        };
        tracks.sort_by(|a, b| a.id.cmp(&b.id));
        let alerts = self.alerts_at(at, true);
        PictureView {
            time: at.unwrap_or(now),
            replay: at.is_some(),
            tracks,
            alerts,
        }
    }

    /// Alerts as of `at` (None: latest revisions); with `open_only`, only those open then.
    pub fn alerts_at(&self, at: Option<Timestamp>, open_only: bool) -> Vec<AlertView> {
        let mut v: Vec<AlertView> = self
            .alerts
            .values()
            .filter_map(|e| {
                let a = match at {
                    None => e.revisions.last()?,
                    Some(at) => e.revisions.iter().rev().find(|r| r.time <= at)?,
                };
                (!open_only || a.state == AlertState::Open)
                    .then(|| AlertView::new(a, e.triage.clone()))
            })
            .collect();
        v.sort_by(|a, b| b.time.cmp(&a.time).then_with(|| a.id.cmp(&b.id)));
        v
    }

    /// One alert (latest revision) and every revision, oldest first.
    pub fn alert_with_history(&self, id: &str) -> Option<(AlertView, Vec<AlertView>)> {
        let e = self.alerts.get(id).filter(|e| !e.revisions.is_empty())?;
        let revs = e
            .revisions
            .iter()
            .map(|r| AlertView::new(r, e.triage.clone()))
            .collect();
        Some((AlertView::new(e.latest(), e.triage.clone()), revs))
    }

    /// A track's trail between two times, oldest first.
    pub fn trail(&self, id: &str, from: Timestamp, to: Timestamp) -> Option<Vec<TrailPoint>> {
        let t = self.tracks.get(id)?;
        let (from, to) = (from.as_second(), to.as_second());
        Some(
            t.history
                .iter()
                .filter(|h| h.time_s >= from && h.time_s <= to)
                .map(|h| TrailPoint {
                    time: Timestamp::from_second(h.time_s).unwrap_or_default(),
                    lat: h.lat as f64,
                    lon: h.lon as f64,
                })
                .collect(),
        )
    }

    /// The vessel card of an MMSI, if anything is known of it.
    pub fn vessel(&self, mmsi: u32) -> Option<VesselCard> {
        let v = self.engine.vessel(mmsi)?;
        let id = format!("ais:{mmsi}");
        let open = self.open_alert_counts();
        let track = self.tracks.get(&id).map(|t| self.view(&id, t, None, &open));
        let s = v.static_info.as_deref();
        let risk = self.engine.risk(mmsi).map_or(
            RiskView {
                score: 0.0,
                reasons: Vec::new(),
            },
            |r| RiskView {
                score: r.score,
                reasons: r.reasons,
            },
        );
        let mut alerts: Vec<AlertView> = self
            .alerts
            .values()
            .filter(|e| e.revisions.last().is_some_and(|a| a.mmsi.contains(&mmsi)))
            .map(|e| AlertView::new(e.latest(), e.triage.clone()))
            .collect();
        alerts.sort_by_key(|a| std::cmp::Reverse(a.time));
        let mut nearby: Vec<Nearby> = Vec::new();
        if let Some(me) = self
            .tracks
            .get(&id)
            .and_then(|t| Position::new(t.lat, t.lon))
        {
            let from = (self.clock() - self.cfg.live_window).as_millisecond();
            for (oid, o) in &self.tracks {
                if *oid == id || o.time_ms < from {
                    continue;
                }
                let Some(p) = Position::new(o.lat, o.lon) else {
                    continue;
                };
                // 10 NM; a cheap box first.
                if (p.lat - me.lat).abs() > 0.2 || (p.lon - me.lon).abs() > 0.3 {
                    continue;
                }
                let d = me.distance_m(p);
                if d <= 18_520.0 {
                    nearby.push(Nearby {
                        id: oid.clone(),
                        label: o.label.clone(),
                        distance_m: d.round(),
                        bearing_deg: (me.bearing_deg(p) * 10.0).round() / 10.0,
                    });
                }
            }
            nearby.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
            nearby.truncate(10);
        }
        Some(VesselCard {
            mmsi,
            track,
            flag: self.mid.country(mid_of(mmsi)).map(str::to_owned),
            name: s.and_then(|s| s.name.as_deref().map(str::to_owned)),
            callsign: s.and_then(|s| s.callsign.as_deref().map(str::to_owned)),
            imo: s.and_then(|s| s.imo),
            ship_type: s.and_then(|s| s.ship_type),
            length_m: s.and_then(|s| s.length_m),
            destination: s.and_then(|s| s.destination.as_deref().map(str::to_owned)),
            reports: v.reports,
            identity_history: v
                .static_history
                .iter()
                .map(|c| IdentityChange {
                    time: Timestamp::from_millisecond(c.time_ms).unwrap_or_default(),
                    field: c.field.to_owned(),
                    from: c.from.clone(),
                    to: c.to.clone(),
                    position: c.position.map(|p| Position {
                        lat: p.lat,
                        lon: p.lon,
                    }),
                })
                .collect(),
            alerts,
            risk,
            nearby,
        })
    }
}

/// The MID of a ship station's MMSI (its first three digits).
fn mid_of(mmsi: u32) -> u16 {
    (mmsi / 1_000_000) as u16
}

fn severity_name(a: &Alert) -> String {
    match serde_json::to_value(a.severity) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

fn parse_severity(s: &str) -> Option<fusion::Severity> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).ok()
}

fn tasking_view(t: &Tasking, status: &str, reason: &Option<String>) -> TaskingView {
    TaskingView {
        id: t.id.clone(),
        alert: t.alert.clone(),
        kind: t.kind.clone(),
        instructions: t.instructions.clone(),
        datum: Position {
            lat: t.datum.lat,
            lon: t.datum.lon,
        },
        time: t.time,
        status: status.to_owned(),
        reason: reason.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Review (issue 24 session): a unit's `tasking_ack` changed the state of any tasking it
    /// named (their ids are predictable), so cp-301 could make the watch see cp-302 decline
    /// its tasking. Only the unit tasked answers for it now.
    #[test]
    fn review_a_unit_cannot_answer_for_another_unit_s_tasking() {
        let cfg = fusion::FusionConfig::default();
        let geo = fusion::Geodata::load(&cfg, None).unwrap();
        let mut p = Picture::new(PictureConfig::default(), FusionEngine::new(cfg, geo));
        let now = Timestamp::now();
        let tasking: Tasking = serde_json::from_value(serde_json::json!({
            "id": "task-A-cp-302", "time": now, "unit": "cp-302", "kind": "sar",
            "alert": "A", "instructions": "search", "datum": {"lat": 35.5, "lon": 12.5},
            "distance_nm": 12.0, "eta_min": 40.0,
        }))
        .unwrap();
        p.tasking(tasking);
        let answer = |unit: &str, accepted: bool| -> Observation {
            serde_json::from_value(serde_json::json!({
                "id": format!("{unit}-{accepted}"), "time": now, "time_source": "sender",
                "received_at": now, "receivers": [unit],
                "data": {"kind": "report", "unit": unit, "report": {
                    "type": "tasking_ack", "time": now, "tasking": "task-A-cp-302",
                    "accepted": accepted, "reason": "forged"}},
            }))
            .unwrap()
        };
        let status = |p: &Picture| p.taskings["task-A-cp-302"].1.clone();
        p.observe(&answer("cp-301", false));
        assert_eq!(status(&p), "sent", "another unit's answer was taken");
        p.observe(&answer("cp-302", true));
        assert_eq!(status(&p), "accepted");
    }
}
