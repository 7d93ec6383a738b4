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

mod build;
#[cfg(test)]
mod tests;
mod units;
mod vessels;

use std::collections::BTreeMap;

use ingest::wire::patrol::{Condition, UnitState};
use ingest::wire::{Topic, UnitId};
use jiff::{SignedDuration, Timestamp};

use crate::ais_encode::Encoder;
use crate::geodesy::Position;
use crate::rng::Rng;
use crate::spec::{Action, AisClass, ExpectSpec, ReceiverSpec, UnitSpec, VesselSpec, ZoneSpec};

pub(crate) use vessels::{position_report, static_reports};

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
const BUILT_IN: [(&str, &str); 16] = [
    (
        "central-med",
        include_str!("../../scenarios/central-med.toml"),
    ),
    (
        "background",
        include_str!("../../scenarios/background.toml"),
    ),
    (
        "rendezvous",
        include_str!("../../scenarios/rendezvous.toml"),
    ),
    (
        "going-dark",
        include_str!("../../scenarios/going-dark.toml"),
    ),
    (
        "coverage-edge",
        include_str!("../../scenarios/coverage-edge.toml"),
    ),
    (
        "mmsi-clone",
        include_str!("../../scenarios/mmsi-clone.toml"),
    ),
    (
        "identity-swap",
        include_str!("../../scenarios/identity-swap.toml"),
    ),
    ("spoofing", include_str!("../../scenarios/spoofing.toml")),
    ("loitering", include_str!("../../scenarios/loitering.toml")),
    (
        "zone-entry",
        include_str!("../../scenarios/zone-entry.toml"),
    ),
    (
        "dark-dinghy",
        include_str!("../../scenarios/dark-dinghy.toml"),
    ),
    (
        "engine-failure",
        include_str!("../../scenarios/engine-failure.toml"),
    ),
    ("capsize", include_str!("../../scenarios/capsize.toml")),
    (
        "departure-coast",
        include_str!("../../scenarios/departure-coast.toml"),
    ),
    ("regional", include_str!("../../scenarios/regional.toml")),
    (
        "regional-dark",
        include_str!("../../scenarios/regional-dark.toml"),
    ),
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

impl Scenario {
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

    /// The shore receivers: name and where each stands.
    pub fn receiver_sites(&self) -> impl Iterator<Item = (&str, Position)> {
        self.receivers
            .iter()
            .map(|r| (r.spec.name.as_str(), r.spec.at))
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
}
