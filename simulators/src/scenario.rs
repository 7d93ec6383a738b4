//! The scenario engine: vessels, AIS transponders, shore receivers and patrol units on
//! one clock, driven by a scenario file ([`crate::spec`]).
//!
//! [`Scenario::advance`] moves the sea to a time in one-second steps and returns what
//! was sent on the way ([`Emission`]s, in time order): AIS lines as each receiver in
//! range heard them (tag blocks `s:` receiver, `c:` time), each patrol unit's GNSS,
//! compass and radar sentences, and its JSON reports. A patrol unit answers a tasking
//! given to [`Scenario::tasking`]: it acknowledges, sails to the datum and the search
//! pattern, reports what it sees, and rescues the people it finds.
//!
//! The same scenario, start and seed always give the same emissions.
//!
//! Reporting follows ITU-R M.1371-5: class A every 10 s under 14 kn (3 s when changing
//! course), 6 s at 14–23 kn (2 s turning), 2 s above, 3 min at anchor or moored and
//! slow; class B "CS" every 30 s above 2 kn, 3 min below; static and voyage data (type 5,
//! or type 24 A and B) every 6 min; an AIS-SART every minute, with a "SART ACTIVE"
//! safety broadcast (type 14) every 4 min.

use std::collections::BTreeMap;

use ingest::ais::AisMessage;
use ingest::ais::message::{
    Body, ClassBPosition, DimsOrMothership, PositionReport, SafetyBroadcast, StaticData,
    StaticDataB, StaticVoyage,
};
use ingest::ais::walk::Eta;
use ingest::wire::patrol::{Condition, Craft, MAX_PERSONS, UnitState};
use ingest::wire::{PatrolReport, Tasking, Topic, UnitId};
use jiff::{SignedDuration, Timestamp};

use crate::ais_encode::{EncodeOptions, Encoder, TagBlockOptions, encode_armored, encode_payload};
use crate::area;
use crate::geodesy::{METERS_PER_NM, Position, angle_diff_deg};
use crate::nmea::{self, Target, TargetState};
use crate::rng::Rng;
use crate::spec::{
    Action, AisClass, ExpectSpec, ReceiverSpec, ScenarioSpec, UnitSpec, VesselSpec, ZoneSpec,
};

/// Where an emission goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// An AIS line heard by a shore receiver: `raw/ais/{receiver}`.
    Ais {
        /// The receiver.
        receiver: String,
    },
    /// A patrol unit's instrument sentence: `patrol/{unit}/nmea`.
    PatrolNmea(UnitId),
    /// A patrol unit's JSON report: `patrol/{unit}/report`.
    PatrolReport(UnitId),
}

/// One thing sent: a line, when and where to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emission {
    /// When it was sent, UTC.
    pub at: Timestamp,
    /// Where to.
    pub channel: Channel,
    /// One NMEA line (with its tag block), or one JSON report.
    pub payload: String,
}

impl Emission {
    /// The MQTT topic it is published on.
    pub fn topic(&self) -> Topic {
        match &self.channel {
            Channel::Ais { receiver } => Topic::RawAis {
                source: receiver.clone(),
            },
            Channel::PatrolNmea(u) => Topic::PatrolNmea(u.clone()),
            Channel::PatrolReport(u) => Topic::PatrolReport(u.clone()),
        }
    }

    /// What ingest takes it as.
    pub fn input(&self) -> ingest::pipeline::Input<'_> {
        use ingest::pipeline::Input;
        match &self.channel {
            Channel::Ais { receiver } => Input::Ais {
                source: receiver,
                payload: self.payload.as_bytes(),
            },
            Channel::PatrolNmea(unit) => Input::PatrolNmea {
                unit,
                payload: self.payload.as_bytes(),
            },
            Channel::PatrolReport(unit) => Input::PatrolReport {
                unit,
                payload: self.payload.as_bytes(),
            },
        }
    }

    /// The line as written to a file: NMEA as it is (its tag block names the receiver or
    /// unit), a report as `{"unit":…,"report":{…}}`.
    pub fn file_line(&self) -> String {
        match &self.channel {
            Channel::PatrolReport(u) => format!(r#"{{"unit":"{u}","report":{}}}"#, self.payload),
            _ => self.payload.clone(),
        }
    }
}

/// A scenario that cannot be run.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// Not valid TOML, or not a scenario.
    #[error("scenario file: {0}")]
    Toml(String),
    /// Something in it is inconsistent.
    #[error("scenario {scenario:?}: {problem}")]
    Invalid {
        /// The scenario's name.
        scenario: String,
        /// What is wrong.
        problem: String,
    },
    /// No scenario of that name.
    #[error("no scenario {0:?}; scenarios: {names}", names = NAMES.join(", "))]
    Unknown(String),
}

/// The built-in scenarios, by name, as TOML.
const BUILT_IN: [(&str, &str); 12] = [
    ("central-med", include_str!("../scenarios/central-med.toml")),
    ("background", include_str!("../scenarios/background.toml")),
    ("rendezvous", include_str!("../scenarios/rendezvous.toml")),
    ("going-dark", include_str!("../scenarios/going-dark.toml")),
    ("mmsi-clone", include_str!("../scenarios/mmsi-clone.toml")),
    (
        "identity-swap",
        include_str!("../scenarios/identity-swap.toml"),
    ),
    ("spoofing", include_str!("../scenarios/spoofing.toml")),
    ("loitering", include_str!("../scenarios/loitering.toml")),
    ("zone-entry", include_str!("../scenarios/zone-entry.toml")),
    ("dark-dinghy", include_str!("../scenarios/dark-dinghy.toml")),
    (
        "engine-failure",
        include_str!("../scenarios/engine-failure.toml"),
    ),
    ("capsize", include_str!("../scenarios/capsize.toml")),
];

/// The names of the built-in scenarios; `central-med` is the demo.
pub const NAMES: [&str; BUILT_IN.len()] = {
    let mut names = [""; BUILT_IN.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = BUILT_IN[i].0;
        i += 1;
    }
    names
};

/// A built-in scenario's TOML.
pub fn built_in(name: &str) -> Option<&'static str> {
    BUILT_IN.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// A built-in scenario by name, starting at `start`, with its own seed.
pub fn by_name(name: &str, start: Timestamp) -> Result<Scenario, ScenarioError> {
    let text = built_in(name).ok_or_else(|| ScenarioError::Unknown(name.to_owned()))?;
    Scenario::from_toml(text, start, None)
}

/// A built-in scenario's AIS lines from `start` for `duration`, as one receiver heard
/// them: one feed's lines, for tests and tools that take a single receiver.
pub fn receiver_lines(
    name: &str,
    receiver: &str,
    start: Timestamp,
    duration: SignedDuration,
) -> Result<Vec<String>, ScenarioError> {
    let mut sc = by_name(name, start)?;
    Ok(sc
        .advance(start + duration)
        .into_iter()
        .filter(|e| matches!(&e.channel, Channel::Ais { receiver: r } if r == receiver))
        .map(|e| e.payload)
        .collect())
}

/// How a vessel moves.
#[derive(Debug, Clone)]
enum Motion {
    /// Along waypoints.
    Route {
        points: Vec<Position>,
        next: usize,
        looping: bool,
    },
    /// Adrift.
    Drift { toward_deg: f64, rate_kn: f64 },
    /// Circling slowly.
    Loiter {
        centre: Position,
        radius_nm: f64,
        angle_deg: f64,
    },
}

/// What an AIS station says it is: the fields of its position and static reports.
#[derive(Debug, Clone)]
pub(crate) struct Station {
    pub(crate) class: AisClass,
    pub(crate) mmsi: u32,
    pub(crate) name: String,
    pub(crate) callsign: String,
    pub(crate) imo: u32,
    pub(crate) shiptype: u8,
    pub(crate) status: u8,
    /// Length overall, m (dimensions and draught in static reports).
    pub(crate) length_m: f64,
}

#[derive(Debug, Clone)]
struct Transponder {
    station: Station,
    on: bool,
    next_report: Timestamp,
    next_static: Timestamp,
    /// Reporting a false position: offset NM, bearing, until.
    spoof: Option<(f64, f64, Timestamp)>,
}

#[derive(Debug, Clone)]
struct Sart {
    mmsi: u32,
    next_report: Timestamp,
    next_text: Timestamp,
}

#[derive(Debug, Clone)]
struct Vessel {
    spec: VesselSpec,
    pos: Position,
    speed_kn: f64,
    course_deg: f64,
    motion: Motion,
    /// At sea (appeared, not yet rescued).
    at_sea: bool,
    appear: Option<Timestamp>,
    /// Turning: reports come faster until then.
    turning_until: Timestamp,
    ais: Option<Transponder>,
    sart: Option<Sart>,
    condition: Condition,
    persons: u32,
    rng: Rng,
}

impl Vessel {
    fn new(spec: VesselSpec, start: Timestamp, seed: u64) -> Vessel {
        let mut rng = Rng::derive(seed, &spec.id);
        let pos = spec.route[0];
        // Spread first reports so stations do not all speak in the same second.
        let first = start + SignedDuration::from_secs(rng.below(10) as i64);
        let ais = spec.mmsi.map(|mmsi| Transponder {
            station: Station {
                class: spec.class,
                mmsi,
                name: spec.name.clone(),
                callsign: spec.callsign.clone(),
                imo: spec.imo,
                shiptype: spec.shiptype,
                status: spec.status,
                length_m: spec.length_m,
            },
            on: true,
            next_report: first,
            next_static: first,
            spoof: None,
        });
        let appear = spec.appear.map(|d| start + d);
        let course = if spec.route.len() > 1 {
            pos.bearing_deg(spec.route[1])
        } else {
            0.0
        };
        Vessel {
            pos,
            speed_kn: spec.speed_kn,
            course_deg: course,
            motion: Motion::Route {
                points: spec.route.clone(),
                next: 1.min(spec.route.len() - 1),
                looping: spec.looping,
            },
            at_sea: appear.is_none(),
            appear,
            turning_until: start,
            ais,
            sart: None,
            condition: Condition::UnderWay,
            persons: spec.persons,
            rng,
            spec,
        }
    }

    /// One second on.
    fn step(&mut self, now: Timestamp) {
        let dist_m = self.speed_kn * METERS_PER_NM / 3600.0;
        match &mut self.motion {
            Motion::Route {
                points,
                next,
                looping,
            } => {
                if self.speed_kn <= 0.0 {
                    return;
                }
                let mut left = dist_m;
                loop {
                    let target = points[*next];
                    let d = self.pos.distance_m(target);
                    if d > left {
                        let c = self.pos.bearing_deg(target);
                        if angle_diff_deg(self.course_deg, c).abs() > 10.0 {
                            self.turning_until = now + SignedDuration::from_secs(30);
                        }
                        self.course_deg = c;
                        self.pos = self.pos.destination(c, left);
                        return;
                    }
                    self.pos = target;
                    left -= d;
                    if *next + 1 < points.len() {
                        *next += 1;
                    } else if *looping && points.len() > 1 {
                        *next = 0;
                    } else {
                        // Arrived: stays there.
                        self.speed_kn = 0.0;
                        return;
                    }
                }
            }
            Motion::Drift {
                toward_deg,
                rate_kn,
            } => {
                self.course_deg = *toward_deg;
                self.speed_kn = *rate_kn;
                self.pos = self
                    .pos
                    .destination(*toward_deg, *rate_kn * METERS_PER_NM / 3600.0);
            }
            Motion::Loiter {
                centre,
                radius_nm,
                angle_deg,
            } => {
                let r_m = (*radius_nm * METERS_PER_NM).max(50.0);
                *angle_deg = (*angle_deg + (dist_m / r_m).to_degrees()).rem_euclid(360.0);
                self.pos = centre.destination(*angle_deg, r_m);
                self.course_deg = (*angle_deg + 90.0).rem_euclid(360.0);
            }
        }
    }

    fn transmitting(&self) -> bool {
        self.at_sea && self.ais.as_ref().is_some_and(|a| a.on)
    }

    fn craft(&self) -> Craft {
        let named = self.spec.craft.as_deref().and_then(|c| {
            serde_json::from_value::<Craft>(serde_json::Value::String(c.to_owned())).ok()
        });
        named.unwrap_or(if self.spec.length_m < 12.0 {
            Craft::RubberBoat
        } else {
            Craft::WoodenBoat
        })
    }

    /// In distress: rescue first.
    fn distressed(&self) -> bool {
        self.condition.is_distress() || self.sart.is_some()
    }
}

/// ITU-R M.1371-5 tables 1 and 2: seconds to the next position report.
fn report_interval_s(class: AisClass, speed_kn: f64, status: u8, turning: bool) -> i64 {
    match class {
        AisClass::A => {
            let moored = status == 1 || status == 5;
            if moored && speed_kn <= 3.0 {
                180
            } else if speed_kn <= 14.0 {
                if turning { 3 } else { 10 }
            } else if speed_kn <= 23.0 {
                if turning { 2 } else { 6 }
            } else {
                2
            }
        }
        AisClass::B => {
            if speed_kn <= 2.0 {
                180
            } else {
                30
            }
        }
    }
}

struct Receiver {
    spec: ReceiverSpec,
    encoder: Encoder,
    /// Alternates A and B.
    channel_b: bool,
}

/// What a unit is doing.
#[derive(Debug, Clone)]
enum UnitMode {
    Patrol,
    /// Answering a tasking: sailing its legs.
    Tasked {
        legs: Vec<Position>,
        next: usize,
        on_scene: bool,
    },
    /// Alongside a craft in distress, taking the people on board.
    Rescue {
        vessel: usize,
        alongside_since: Option<Timestamp>,
    },
}

struct Unit {
    spec: UnitSpec,
    id: UnitId,
    pos: Position,
    course_deg: f64,
    speed_kn: f64,
    patrol_next: usize,
    mode: UnitMode,
    state: UnitState,
    next_fix: Timestamp,
    next_radar: Timestamp,
    /// Radar targets by vessel index: number, sweeps seen, sweeps missed in a row.
    targets: BTreeMap<usize, (u8, u32, u32)>,
    next_target: u8,
    /// Sightings reported: vessel index → (condition, when).
    sighted: BTreeMap<usize, (Condition, Timestamp)>,
    rescued: u32,
    rng: Rng,
}

/// A running scenario.
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// How long it runs unless told otherwise.
    pub duration: SignedDuration,
    /// The seed it runs with.
    pub seed: u64,
    /// When it started.
    pub start: Timestamp,
    /// Scenario time now.
    pub now: Timestamp,
    /// Alerts fusion must raise.
    pub expect: Vec<ExpectSpec>,
    /// Alerts fusion must not raise.
    pub forbid: Vec<ExpectSpec>,
    zones: Vec<ZoneSpec>,
    vessels: Vec<Vessel>,
    units: Vec<Unit>,
    receivers: Vec<Receiver>,
    events: Vec<(Timestamp, usize, Action)>,
    next_event: usize,
    reception: Rng,
    out: Vec<Emission>,
}

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

fn condition(name: &str, c: &str) -> Result<Condition, ScenarioError> {
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

    /// The scenario's zones as a GeoJSON FeatureCollection for fusion; `None` without zones.
    pub fn zones_geojson(&self) -> Option<String> {
        if self.zones.is_empty() {
            return None;
        }
        let features: Vec<serde_json::Value> = self
            .zones
            .iter()
            .map(|z| {
                let mut ring: Vec<[f64; 2]> = z.polygon.iter().map(|p| [p.lon, p.lat]).collect();
                if ring.first() != ring.last() {
                    ring.push(ring[0]);
                }
                let mut props = serde_json::json!({"name": z.name});
                if let Some(t) = &z.ship_types {
                    props["ship_types"] = serde_json::json!(t);
                }
                if let Some(sev) = &z.severity {
                    props["severity"] = serde_json::json!(sev);
                }
                serde_json::json!({
                    "type": "Feature",
                    "properties": props,
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                })
            })
            .collect();
        Some(serde_json::json!({"type": "FeatureCollection", "features": features}).to_string())
    }

    /// The MMSI a vessel transmits now (`None`: no AIS, or no such vessel).
    pub fn mmsi(&self, vessel: &str) -> Option<u32> {
        self.vessel(vessel)
            .and_then(|v| v.ais.as_ref())
            .map(|a| a.station.mmsi)
    }

    /// The MMSI a vessel started with.
    pub fn first_mmsi(&self, vessel: &str) -> Option<u32> {
        self.vessel(vessel).and_then(|v| v.spec.mmsi)
    }

    /// Where a vessel truly is now, if at sea.
    pub fn position(&self, vessel: &str) -> Option<Position> {
        self.vessel(vessel).filter(|v| v.at_sea).map(|v| v.pos)
    }

    /// Every vessel at sea now: id and true position.
    pub fn positions(&self) -> impl Iterator<Item = (&str, Position)> {
        self.vessels
            .iter()
            .filter(|v| v.at_sea)
            .map(|v| (v.spec.id.as_str(), v.pos))
    }

    /// Every patrol unit now: id and position.
    pub fn unit_positions(&self) -> impl Iterator<Item = (&str, Position)> {
        self.units.iter().map(|u| (u.spec.id.as_str(), u.pos))
    }

    /// Persons a unit has on board after rescues.
    pub fn rescued(&self, unit: &str) -> Option<u32> {
        self.units
            .iter()
            .find(|u| u.spec.id == unit)
            .map(|u| u.rescued)
    }

    fn vessel(&self, id: &str) -> Option<&Vessel> {
        self.vessels.iter().find(|v| v.spec.id == id)
    }

    /// Give a unit a tasking: it acknowledges and goes, or declines when it does not take
    /// taskings, is answering an earlier one, or is rescuing already (the SAR mission
    /// coordinator then tasks another). Unknown units are ignored (the tasking is for a unit of
    /// another scenario or a real one); the return says whether a unit took it.
    pub fn tasking(&mut self, t: &Tasking) -> bool {
        let now = self.now;
        let Some(u) = self.units.iter_mut().find(|u| u.spec.id == t.unit) else {
            return false;
        };
        let accepted = u.spec.answers_taskings && matches!(u.mode, UnitMode::Patrol);
        let ack = PatrolReport::TaskingAck {
            time: now,
            tasking: t.id.clone(),
            accepted,
            reason: (!accepted).then(|| {
                match u.mode {
                    UnitMode::Rescue { .. } => "on scene of a rescue with persons to take on board",
                    UnitMode::Tasked { .. } => "under way to an earlier tasking",
                    UnitMode::Patrol => "not available for tasking",
                }
                .to_owned()
            }),
        };
        let id = u.id.clone();
        self.out.push(report(now, &id, &ack));
        if !accepted {
            return false;
        }
        let datum = Position {
            lat: t.datum.lat,
            lon: t.datum.lon,
        };
        let mut legs = vec![datum];
        legs.extend(t.waypoints.iter().map(|w| Position {
            lat: w.lat,
            lon: w.lon,
        }));
        let u = self
            .units
            .iter_mut()
            .find(|u| u.spec.id == t.unit)
            .expect("found above");
        u.mode = UnitMode::Tasked {
            legs,
            next: 0,
            on_scene: false,
        };
        u.speed_kn = u.spec.dash_kn;
        set_state(
            (&mut u.state, &u.id, u.pos),
            UnitState::Responding,
            now,
            &mut self.out,
        );
        true
    }

    /// Run the scenario to `until`, returning everything sent on the way, in time order.
    pub fn advance(&mut self, until: Timestamp) -> Vec<Emission> {
        while self.now + SignedDuration::from_secs(1) <= until {
            self.now += SignedDuration::from_secs(1);
            self.second();
        }
        std::mem::take(&mut self.out)
    }

    fn second(&mut self) {
        let now = self.now;
        while let Some((at, i, action)) = self.events.get(self.next_event).cloned() {
            if at > now {
                break;
            }
            self.next_event += 1;
            self.apply(i, action);
        }
        for i in 0..self.vessels.len() {
            if !self.vessels[i].at_sea {
                match self.vessels[i].appear {
                    Some(t) if t <= now => self.appear(i),
                    _ => continue,
                }
            }
            self.vessels[i].step(now);
            self.transmit(i);
        }
        for k in 0..self.units.len() {
            self.unit_second(k);
        }
    }

    fn appear(&mut self, i: usize) {
        let at = self.vessels[i]
            .spec
            .appear_at
            .as_ref()
            .and_then(|a| self.vessels.iter().find(|v| &v.spec.id == a))
            .map(|v| v.pos);
        let v = &mut self.vessels[i];
        if let Some(p) = at {
            v.pos = p;
        }
        v.at_sea = true;
        v.appear = None;
        if let Some(a) = &mut v.ais {
            a.next_report = self.now;
            a.next_static = self.now;
        }
    }

    fn apply(&mut self, i: usize, action: Action) {
        let now = self.now;
        let v = &mut self.vessels[i];
        match action {
            Action::Speed { speed_kn } => {
                v.speed_kn = speed_kn;
                if !matches!(v.motion, Motion::Route { .. }) {
                    let mut route = vec![v.pos];
                    route.extend(v.spec.route.iter().skip(1));
                    v.motion = Motion::Route {
                        next: 1.min(route.len() - 1),
                        points: route,
                        looping: v.spec.looping,
                    };
                }
            }
            Action::Route { route, speed_kn } => {
                if let Some(s) = speed_kn {
                    v.speed_kn = s;
                }
                v.motion = Motion::Route {
                    points: route,
                    next: 0,
                    looping: false,
                };
            }
            Action::Drift {
                toward_deg,
                rate_kn,
            } => {
                v.motion = Motion::Drift {
                    toward_deg,
                    rate_kn,
                };
                v.condition = Condition::Adrift;
            }
            Action::Loiter {
                radius_nm,
                speed_kn,
            } => {
                let centre = v.pos.destination(
                    (v.course_deg + 90.0).rem_euclid(360.0),
                    radius_nm * METERS_PER_NM,
                );
                v.motion = Motion::Loiter {
                    centre,
                    radius_nm,
                    angle_deg: centre.bearing_deg(v.pos),
                };
                v.speed_kn = speed_kn;
            }
            Action::AisOff => {
                if let Some(a) = &mut v.ais {
                    a.on = false;
                }
            }
            Action::AisOn => {
                if let Some(a) = &mut v.ais {
                    a.on = true;
                    a.next_report = now;
                    a.next_static = now;
                }
            }
            Action::Identity {
                mmsi,
                name,
                callsign,
            } => {
                if let Some(a) = &mut v.ais {
                    if let Some(m) = mmsi {
                        a.station.mmsi = m;
                    }
                    if let Some(n) = name {
                        a.station.name = n;
                    }
                    if let Some(c) = callsign {
                        a.station.callsign = c;
                    }
                    a.next_static = now;
                }
            }
            Action::Spoof {
                offset_nm,
                bearing_deg,
                duration,
            } => {
                if let Some(a) = &mut v.ais {
                    a.spoof = Some((offset_nm, bearing_deg, now + duration));
                }
            }
            Action::Condition { condition: c } => {
                v.condition = condition("", &c).unwrap_or(Condition::Unknown);
            }
            Action::Capsize {
                toward_deg,
                rate_kn,
            } => {
                v.motion = Motion::Drift {
                    toward_deg,
                    rate_kn,
                };
                v.condition = Condition::Capsized;
                if let Some(a) = &mut v.ais {
                    a.on = false;
                }
            }
            Action::Sart { mmsi } => {
                v.sart = Some(Sart {
                    mmsi,
                    next_report: now,
                    next_text: now,
                });
            }
        }
    }

    /// A vessel's transponder and SART, if due.
    fn transmit(&mut self, i: usize) {
        let now = self.now;
        let mut msgs: Vec<(AisMessage, f64)> = Vec::new();
        let v = &mut self.vessels[i];
        let turning = v.turning_until > now;
        if v.transmitting() {
            let (pos, speed, course) = (v.pos, v.speed_kn, v.course_deg);
            let noise = (
                v.rng.normal(3.0),
                v.rng.normal(3.0),
                v.rng.normal(0.1),
                v.rng.normal(1.0),
            );
            let a = v.ais.as_mut().expect("transmitting");
            let range = match a.station.class {
                AisClass::A => 1.0,
                AisClass::B => 0.6,
            };
            if a.next_static <= now {
                msgs.extend(static_reports(&a.station).into_iter().map(|m| (m, range)));
                a.next_static = now + SignedDuration::from_mins(6);
            }
            if a.next_report <= now {
                let reported = match a.spoof {
                    Some((off, brg, until)) if until > now => {
                        pos.destination(brg, off * METERS_PER_NM)
                    }
                    Some(_) => {
                        a.spoof = None;
                        pos
                    }
                    None => pos,
                };
                let reported = reported
                    .destination(0.0, noise.0)
                    .destination(90.0, noise.1);
                let sog = if speed > 0.0 {
                    (speed + noise.2).max(0.0)
                } else {
                    0.0
                };
                let cog = (course + noise.3).rem_euclid(360.0);
                msgs.push((position_report(&a.station, now, reported, sog, cog), range));
                a.next_report = now
                    + SignedDuration::from_secs(report_interval_s(
                        a.station.class,
                        speed,
                        a.station.status,
                        turning,
                    ));
            }
        }
        if v.at_sea
            && let Some(s) = &mut v.sart
        {
            if s.next_report <= now {
                msgs.push((
                    sart_report(s.mmsi, now, v.pos, v.speed_kn, v.course_deg),
                    0.4,
                ));
                s.next_report = now + SignedDuration::from_secs(60);
            }
            if s.next_text <= now {
                msgs.push((
                    AisMessage {
                        msg_type: 14,
                        repeat: 0,
                        mmsi: s.mmsi,
                        body: Body::SafetyBroadcast(SafetyBroadcast {
                            spare: 0,
                            text: "SART ACTIVE".to_owned(),
                        }),
                    },
                    0.4,
                ));
                s.next_text = now + SignedDuration::from_mins(4);
            }
        }
        let pos = v.pos;
        for (m, range_factor) in msgs {
            self.broadcast(&m, pos, range_factor);
        }
    }

    /// Every receiver in range that decodes the message reports it.
    fn broadcast(&mut self, m: &AisMessage, from: Position, range_factor: f64) {
        let Ok((payload, fill)) = encode_payload(m) else {
            return;
        };
        let now = self.now;
        for r in &mut self.receivers {
            let range = r.spec.range_nm * range_factor;
            let d = r.spec.at.distance_nm(from);
            if d > range {
                continue;
            }
            // Reception falls off near the edge of range (slot collisions, fading).
            let p = if d < 0.7 * range {
                0.97
            } else {
                0.97 - 0.5 * (d - 0.7 * range) / (0.3 * range)
            };
            if !self.reception.chance(p) {
                continue;
            }
            r.channel_b = !r.channel_b;
            r.encoder.opts.channel = Some(if r.channel_b { 'B' } else { 'A' });
            if let Some(tag) = &mut r.encoder.opts.tag {
                tag.time = Some(now);
            }
            let Ok(lines) = encode_armored(&payload, fill, &r.encoder.opts) else {
                continue;
            };
            if lines.len() > 1 {
                r.encoder.opts.seq_id = (r.encoder.opts.seq_id + 1) % 10;
                if let Some(tag) = &mut r.encoder.opts.tag {
                    tag.group_id = tag.group_id.wrapping_add(1);
                }
            }
            for l in lines {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::Ais {
                        receiver: r.spec.name.clone(),
                    },
                    payload: l,
                });
            }
        }
    }

    fn unit_second(&mut self, k: usize) {
        let now = self.now;
        self.unit_move(k);
        let u = &mut self.units[k];
        if u.next_fix <= now {
            u.next_fix = now + SignedDuration::from_secs(u.spec.fix_every_s.into());
            let p = u
                .pos
                .destination(0.0, u.rng.normal(2.0))
                .destination(90.0, u.rng.normal(2.0));
            let sog = (u.speed_kn + u.rng.normal(0.05)).max(0.0);
            let cog = u.course_deg + u.rng.normal(0.5);
            let heading = u.course_deg + u.rng.normal(0.3);
            for body in [nmea::rmc(now, p, sog, cog), nmea::hdt(heading)] {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::PatrolNmea(u.id.clone()),
                    payload: nmea::sentence(u.id.as_str(), now, &body),
                });
            }
        }
        if u.next_radar <= now {
            u.next_radar = now + SignedDuration::from_secs(u.spec.radar_every_s.into());
            self.radar_sweep(k);
        }
        self.look_out(k);
    }

    /// Move a unit one second along what it is doing.
    fn unit_move(&mut self, k: usize) {
        let now = self.now;
        let u = &mut self.units[k];
        let (target, arrive) = match &mut u.mode {
            UnitMode::Patrol => (Some(u.spec.route[u.patrol_next]), 0.05),
            UnitMode::Tasked { legs, next, .. } => (legs.get(*next).copied(), 0.1),
            UnitMode::Rescue { vessel, .. } => (Some(self.vessels[*vessel].pos), 0.03),
        };
        let Some(target) = target else {
            return;
        };
        let d_nm = u.pos.distance_nm(target);
        if let UnitMode::Rescue { vessel, .. } = u.mode
            && d_nm < 0.3
        {
            // Closing slowly: a few knots faster than the craft.
            u.speed_kn = u.speed_kn.min(self.vessels[vessel].speed_kn + 3.0);
        }
        let step_nm = u.speed_kn / 3600.0;
        if d_nm > arrive {
            u.course_deg = u.pos.bearing_deg(target);
            u.pos = u
                .pos
                .destination(u.course_deg, step_nm.min(d_nm) * METERS_PER_NM);
            return;
        }
        match &mut u.mode {
            UnitMode::Patrol => {
                u.patrol_next = (u.patrol_next + 1) % u.spec.route.len();
            }
            UnitMode::Tasked {
                legs,
                next,
                on_scene,
            } => {
                if !*on_scene {
                    *on_scene = true;
                    u.speed_kn = u.spec.speed_kn.clamp(6.0, 12.0);
                    set_state(
                        (&mut u.state, &u.id, u.pos),
                        UnitState::OnScene,
                        now,
                        &mut self.out,
                    );
                }
                *next += 1;
                if *next >= legs.len() {
                    // Searched the whole pattern: found nothing, back on patrol.
                    u.mode = UnitMode::Patrol;
                    u.speed_kn = u.spec.speed_kn;
                    set_state(
                        (&mut u.state, &u.id, u.pos),
                        UnitState::OnPatrol,
                        now,
                        &mut self.out,
                    );
                }
            }
            UnitMode::Rescue {
                vessel,
                alongside_since,
            } => {
                u.speed_kn = 0.0;
                let vi = *vessel;
                let since = *alongside_since.get_or_insert(now);
                // The craft is stopped alongside while its people come on board.
                let v = &mut self.vessels[vi];
                if v.condition != Condition::Capsized {
                    v.motion = Motion::Drift {
                        toward_deg: v.course_deg,
                        rate_kn: 0.0,
                    };
                }
                u.pos = self.vessels[vi].pos;
                // Twenty minutes alongside to take everyone on board.
                if now.duration_since(since) >= SignedDuration::from_mins(20) {
                    let v = &mut self.vessels[vi];
                    u.rescued += v.persons;
                    let pob = PatrolReport::PersonsOnBoard {
                        time: now,
                        rescued: u.rescued,
                        crew: 14,
                        injured: Some(v.persons / 10),
                        deceased: Some(0),
                        notes: Some(format!(
                            "{} persons taken on board from the {}",
                            v.persons,
                            craft_words(v.craft())
                        )),
                    };
                    self.out.push(report(now, &u.id, &pob));
                    v.at_sea = false;
                    v.persons = 0;
                    v.sart = None;
                    u.mode = UnitMode::Patrol;
                    u.speed_kn = u.spec.speed_kn;
                    set_state(
                        (&mut u.state, &u.id, u.pos),
                        UnitState::Returning,
                        now,
                        &mut self.out,
                    );
                }
            }
        }
    }

    /// The radar's targets this sweep.
    fn radar_sweep(&mut self, k: usize) {
        let now = self.now;
        let u = &mut self.units[k];
        let mut seen = Vec::new();
        for (i, v) in self.vessels.iter().enumerate() {
            if !v.at_sea || v.condition == Condition::Capsized {
                continue;
            }
            let small = v.spec.length_m < 15.0;
            let range = if small {
                (u.spec.radar_range_nm / 3.0).min(6.0)
            } else {
                u.spec.radar_range_nm
            };
            let d = u.pos.distance_nm(v.pos);
            // Small craft in sea clutter are missed now and then.
            if d > range || d < 0.05 || (small && !u.rng.chance(0.9)) {
                continue;
            }
            seen.push(i);
            let (number, sweeps) = match u.targets.get(&i) {
                Some(&(n, s, _)) => (n, s + 1),
                None => {
                    let n = u.next_target;
                    u.next_target = if u.next_target >= 99 {
                        1
                    } else {
                        u.next_target + 1
                    };
                    (n, 1)
                }
            };
            u.targets.insert(i, (number, sweeps, 0));
            // Range noise 0.5 % (at least 15 m), bearing 0.7°.
            let range_nm = (d + u.rng.normal((d * 0.005).max(15.0 / METERS_PER_NM))).max(0.01);
            let bearing = u.pos.bearing_deg(v.pos) + u.rng.normal(0.7);
            let rad = bearing.to_radians();
            let rel = (range_nm * rad.sin(), range_nm * rad.cos());
            let (vs, vc) = (v.speed_kn, v.course_deg.to_radians());
            let (us, uc) = (u.speed_kn, u.course_deg.to_radians());
            let vel = (vs * vc.sin() - us * uc.sin(), vs * vc.cos() - us * uc.cos());
            let (cpa_nm, tcpa_min) = nmea::cpa(rel, vel);
            let state = if sweeps < 3 {
                TargetState::Acquiring
            } else {
                TargetState::Tracking
            };
            let t = Target {
                number,
                range_nm,
                bearing_deg: bearing,
                speed_kn: (vs + u.rng.normal(0.3)).max(0.0),
                course_deg: v.course_deg + u.rng.normal(3.0),
                cpa_nm,
                tcpa_min,
                state,
            };
            let measured = u.pos.destination(bearing, range_nm * METERS_PER_NM);
            let mut bodies = Vec::with_capacity(2);
            if u.spec.radar != "tll" {
                bodies.push(nmea::ttm(now, &t));
            }
            if u.spec.radar != "ttm" {
                bodies.push(nmea::tll(now, number, measured, state));
            }
            for b in bodies {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::PatrolNmea(u.id.clone()),
                    payload: nmea::sentence(u.id.as_str(), now, &b),
                });
            }
        }
        // A target missed three sweeps in a row is lost.
        let mut lost = Vec::new();
        for (&i, (n, _, missed)) in u.targets.iter_mut() {
            if !seen.contains(&i) {
                *missed += 1;
                if *missed >= 3 {
                    lost.push((i, *n));
                }
            }
        }
        for (i, n) in lost {
            u.targets.remove(&i);
            let t = Target {
                number: n,
                range_nm: 0.0,
                bearing_deg: 0.0,
                speed_kn: 0.0,
                course_deg: 0.0,
                cpa_nm: 0.0,
                tcpa_min: 0.0,
                state: TargetState::Lost,
            };
            if u.spec.radar != "tll" {
                self.out.push(Emission {
                    at: now,
                    channel: Channel::PatrolNmea(u.id.clone()),
                    payload: nmea::sentence(u.id.as_str(), now, &nmea::ttm(now, &t)),
                });
            }
        }
    }

    /// What the crew sees: a craft with no AIS within sight is reported (again when its
    /// condition changes); a craft in distress in sight is rescued.
    fn look_out(&mut self, k: usize) {
        let now = self.now;
        let u = &mut self.units[k];
        for (i, v) in self.vessels.iter().enumerate() {
            if !v.at_sea || v.transmitting() || u.pos.distance_nm(v.pos) > u.spec.sight_range_nm {
                continue;
            }
            // Reported once, and again when its condition changes: each report is a new
            // sighting to fusion.
            let due = u.sighted.get(&i).is_none_or(|(c, _)| *c != v.condition);
            if due {
                u.sighted.insert(i, (v.condition, now));
                let estimate = ((f64::from(v.persons) * (1.0 + u.rng.normal(0.08)))
                    .round()
                    .max(0.0)) as u32;
                let notes = match v.condition {
                    Condition::Capsized => Some("capsized, persons in the water".to_owned()),
                    Condition::Overcrowded => Some("no life jackets seen".to_owned()),
                    _ => None,
                };
                let s = PatrolReport::Sighting {
                    time: now,
                    position: ingest::wire::patrol::Position {
                        lat: v.pos.lat,
                        lon: v.pos.lon,
                    },
                    craft: v.craft(),
                    persons_estimate: estimate.min(MAX_PERSONS),
                    condition: v.condition,
                    notes,
                };
                self.out.push(report(now, &u.id, &s));
            }
            // Rescue first: a unit that is tasked, or that sees distress, goes alongside.
            let tasked = matches!(u.mode, UnitMode::Tasked { .. });
            if v.distressed()
                && v.persons > 0
                && u.spec.answers_taskings
                && (tasked || matches!(u.mode, UnitMode::Patrol))
            {
                u.mode = UnitMode::Rescue {
                    vessel: i,
                    alongside_since: None,
                };
                // At best speed to the craft, alongside slowly.
                u.speed_kn = u.spec.dash_kn;
                set_state(
                    (&mut u.state, &u.id, u.pos),
                    UnitState::OnScene,
                    now,
                    &mut self.out,
                );
            }
        }
    }
}

fn craft_words(c: Craft) -> &'static str {
    match c {
        Craft::RubberBoat => "rubber boat",
        Craft::WoodenBoat => "wooden boat",
        Craft::FishingVessel => "fishing vessel",
        Craft::SailingYacht => "sailing yacht",
        Craft::Speedboat => "speedboat",
        Craft::MerchantVessel => "merchant vessel",
        Craft::Other | Craft::Unknown => "craft",
    }
}

fn report(at: Timestamp, unit: &UnitId, r: &PatrolReport) -> Emission {
    Emission {
        at,
        channel: Channel::PatrolReport(unit.clone()),
        payload: serde_json::to_string(r).expect("reports serialize"),
    }
}

/// Report a unit's new state (nothing when unchanged).
fn set_state(
    (current, id, pos): (&mut UnitState, &UnitId, Position),
    state: UnitState,
    now: Timestamp,
    out: &mut Vec<Emission>,
) {
    if *current == state {
        return;
    }
    *current = state;
    let r = PatrolReport::Status {
        time: now,
        state,
        position: Some(ingest::wire::patrol::Position {
            lat: pos.lat,
            lon: pos.lon,
        }),
        notes: None,
    };
    out.push(report(now, id, &r));
}

/// A station's position report (type 1 or 18).
pub(crate) fn position_report(
    a: &Station,
    now: Timestamp,
    p: Position,
    sog_kn: f64,
    cog_deg: f64,
) -> AisMessage {
    let lon = (p.lon * 600_000.0).round() as i32;
    let lat = (p.lat * 600_000.0).round() as i32;
    let speed = ((sog_kn * 10.0).round() as u16).min(1022);
    let course = ((cog_deg * 10.0).round() as u16) % 3600;
    let second = now.as_second().rem_euclid(60) as u8;
    match a.class {
        AisClass::A => AisMessage {
            msg_type: 1,
            repeat: 0,
            mmsi: a.mmsi,
            body: Body::Position(PositionReport {
                status: a.status,
                turn: 0,
                speed,
                accuracy: true,
                lon,
                lat,
                course,
                heading: (course / 10) % 360,
                second,
                radio: 0x4000 | u32::from(second),
                ..Default::default()
            }),
        },
        AisClass::B => AisMessage {
            msg_type: 18,
            repeat: 0,
            mmsi: a.mmsi,
            body: Body::ClassB(ClassBPosition {
                speed,
                lon,
                lat,
                course,
                heading: 511,
                second,
                cs: true,
                band: true,
                msg22: true,
                radio: 0x60006,
                ..Default::default()
            }),
        },
    }
}

fn sart_report(mmsi: u32, now: Timestamp, p: Position, sog_kn: f64, cog_deg: f64) -> AisMessage {
    let second = now.as_second().rem_euclid(60) as u8;
    AisMessage {
        msg_type: 1,
        repeat: 0,
        mmsi,
        body: Body::Position(PositionReport {
            status: 14,
            turn: -128,
            speed: ((sog_kn * 10.0).round() as u16).min(1022),
            accuracy: true,
            lon: (p.lon * 600_000.0).round() as i32,
            lat: (p.lat * 600_000.0).round() as i32,
            course: ((cog_deg * 10.0).round() as u16) % 3600,
            heading: 511,
            second,
            radio: 0x4000 | u32::from(second),
            ..Default::default()
        }),
    }
}

/// A station's static reports (type 5, or type 24 parts A and B).
pub(crate) fn static_reports(a: &Station) -> Vec<AisMessage> {
    let length_m = a.length_m;
    let bow = (length_m * 0.7).round().clamp(1.0, 511.0) as u16;
    let stern = (length_m * 0.3).round().clamp(1.0, 511.0) as u16;
    let beam = (length_m / 6.0).round().clamp(2.0, 126.0) as u8;
    match a.class {
        AisClass::A => vec![AisMessage {
            msg_type: 5,
            repeat: 0,
            mmsi: a.mmsi,
            body: Body::StaticVoyage(StaticVoyage {
                ais_version: 2,
                imo: a.imo,
                callsign: a.callsign.clone(),
                shipname: a.name.clone(),
                shiptype: a.shiptype,
                to_bow: bow,
                to_stern: stern,
                to_port: beam / 2,
                to_starboard: beam - beam / 2,
                epfd: 1,
                eta: Eta {
                    month: 0,
                    day: 0,
                    hour: 24,
                    minute: 60,
                },
                draught: (length_m / 20.0 * 10.0).round().clamp(5.0, 250.0) as u8,
                ..Default::default()
            }),
        }],
        AisClass::B => vec![
            AisMessage {
                msg_type: 24,
                repeat: 0,
                mmsi: a.mmsi,
                body: Body::StaticData(StaticData::A {
                    shipname: a.name.clone(),
                    spare: 0,
                }),
            },
            AisMessage {
                msg_type: 24,
                repeat: 0,
                mmsi: a.mmsi,
                body: Body::StaticData(StaticData::B(StaticDataB {
                    shiptype: a.shiptype,
                    callsign: a.callsign.clone(),
                    dims: DimsOrMothership::Dims {
                        to_bow: bow.min(511),
                        to_stern: stern.min(511),
                        to_port: (beam / 2).min(63),
                        to_starboard: (beam - beam / 2).min(63),
                    },
                    ..Default::default()
                })),
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest::ais::Decoder;

    fn t0() -> Timestamp {
        "2026-11-22T02:00:00Z".parse().unwrap()
    }

    #[test]
    fn every_built_in_scenario_loads_and_runs_deterministically() {
        for name in NAMES {
            let mut a = by_name(name, t0()).unwrap_or_else(|e| panic!("{e}"));
            let mut b = by_name(name, t0()).unwrap();
            let end = t0() + SignedDuration::from_mins(10);
            let x = a.advance(end);
            assert_eq!(x, b.advance(end), "{name}");
            assert!(!x.is_empty(), "{name} says nothing in 10 minutes");
            assert!(
                x.windows(2).all(|w| w[0].at <= w[1].at),
                "{name}: out of order"
            );
        }
    }

    #[test]
    fn a_seed_changes_the_noise_not_the_story() {
        let text = built_in("background").unwrap();
        let end = t0() + SignedDuration::from_mins(5);
        let a = Scenario::from_toml(text, t0(), Some(1))
            .unwrap()
            .advance(end);
        let b = Scenario::from_toml(text, t0(), Some(2))
            .unwrap()
            .advance(end);
        assert_ne!(a, b);
    }

    #[test]
    fn class_a_reports_by_speed_and_class_b_every_30_s() {
        assert_eq!(report_interval_s(AisClass::A, 12.0, 0, false), 10);
        assert_eq!(report_interval_s(AisClass::A, 12.0, 0, true), 3);
        assert_eq!(report_interval_s(AisClass::A, 18.0, 0, false), 6);
        assert_eq!(report_interval_s(AisClass::A, 25.0, 0, false), 2);
        assert_eq!(report_interval_s(AisClass::A, 0.1, 1, false), 180);
        assert_eq!(report_interval_s(AisClass::B, 6.0, 0, false), 30);
        assert_eq!(report_interval_s(AisClass::B, 1.0, 0, false), 180);
    }

    #[test]
    fn receivers_hear_only_within_range_and_lines_decode() {
        let toml = r#"
            name = "t"
            description = "t"
            [[receiver]]
            name = "near"
            at = [35.0, 12.0]
            range_nm = 20.0
            [[receiver]]
            name = "far"
            at = [36.0, 12.0]
            range_nm = 20.0
            [[vessel]]
            id = "v"
            mmsi = 247000001
            name = "TEST"
            route = [[35.05, 12.0], [35.05, 12.5]]
            speed_kn = 12.0
        "#;
        let mut s = Scenario::from_toml(toml, t0(), None).unwrap();
        let out = s.advance(t0() + SignedDuration::from_mins(10));
        let mut d = Decoder::new();
        let mut positions = 0;
        for e in &out {
            assert_eq!(
                e.channel,
                Channel::Ais {
                    receiver: "near".into()
                },
                "{}",
                e.payload
            );
            if let Some(m) = d.decode_line(e.payload.as_bytes(), 0).unwrap() {
                assert_eq!(m.message.mmsi, 247_000_001);
                assert_eq!(m.heard.time(), Some(e.at));
                positions += usize::from(m.message.msg_type == 1);
            }
        }
        // 60 reports in 10 minutes at 12 kn, less the few lost.
        assert!((50..=61).contains(&positions), "{positions}");
    }

    #[test]
    fn a_bad_scenario_says_what_is_wrong() {
        let bad = [
            (
                "name = \"x\"\ndescription = \"d\"\n[[vessel]]\nid = \"a\"\nroute = []\nspeed_kn = 1.0\n",
                "empty route",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\narea = \"atlantis\"\n",
                "no area",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\narea = \"central-med\"\n[[event]]\nat = \"1m\"\nvessel = \"ghost\"\naction = \"ais_off\"\n",
                "no vessel",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\nspeed = 3\n",
                "unknown field",
            ),
            (
                "name = \"x\"\ndescription = \"d\"\narea = \"central-med\"\n[[vessel]]\nid = \"a\"\nroute = [[35.0, 12.0]]\nspeed_kn = 1.0\n[[event]]\nat = \"1m\"\nvessel = \"a\"\naction = \"condition\"\ncondition = \"sad\"\n",
                "condition",
            ),
        ];
        for (text, what) in bad {
            let e = Scenario::from_toml(text, t0(), None)
                .err()
                .unwrap_or_else(|| panic!("{what} accepted"));
            assert!(e.to_string().contains(what), "{what}: {e}");
        }
    }
}
