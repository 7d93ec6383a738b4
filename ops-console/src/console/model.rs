//! What the console's API says: the views of tracks, units, alerts, vessels and incidents
//! (JSON, described in `/api/openapi.json`). Units are in the field names; times are UTC
//! (RFC 3339).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use ingest::geodesy::Position;

/// What a track is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrackKind {
    /// A vessel heard on AIS (by MMSI).
    Ais,
    /// A target tracked by a patrol unit's radar.
    Radar,
    /// A sighting reported by a patrol unit.
    Sighting,
    /// A patrol unit (its own position).
    Unit,
}

/// One track on the picture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrackView {
    /// Stable id: `ais:247123456`, `radar:cp-301:7`, `sighting:<observation id>`, `unit:cp-301`.
    pub id: String,
    /// What it is.
    pub kind: TrackKind,
    /// MMSI (AIS tracks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mmsi: Option<u32>,
    /// The patrol unit (its own track, its radar's, its sightings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// What to call it: name, MMSI, or unit and target.
    pub label: String,
    /// Vessel type group: `cargo`, `tanker`, `passenger`, `fishing`, `pleasure`,
    /// `high_speed`, `tug`, `sar`, `law_enforcement`, `other`, `unknown`; `sart` for a
    /// SART/MOB/EPIRB; `radar`, `sighting`, `patrol` for the others.
    pub category: String,
    /// Latest (or, in a replay, as of then) position.
    pub position: Position,
    /// Speed over ground, knots.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sog_kn: Option<f64>,
    /// Course over ground, degrees true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cog_deg: Option<f64>,
    /// Heading, degrees true.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heading_deg: Option<f64>,
    /// When that position was reported (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// Risk score 0–1 (AIS vessels with anything against them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk: Option<f64>,
    /// Open alerts naming this track.
    pub open_alerts: u32,
    /// Sighting: craft, persons, condition; unit: its state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A unit's current taskings.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub taskings: Vec<TaskingView>,
}

/// A tasking sent to a unit, and its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskingView {
    /// Tasking id.
    pub id: String,
    /// The alert it answers.
    pub alert: String,
    /// `sar_search`, `intercept`, ...
    pub kind: String,
    /// What the unit is asked to do.
    pub instructions: String,
    /// Where to go.
    pub datum: Position,
    /// When it was sent (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// `sent`, `accepted` or `declined`.
    pub status: String,
    /// The unit's reason for declining.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The triage of an alert by the watch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriageStatus {
    /// Nobody has looked at it yet.
    New,
    /// Seen by the watch.
    Acknowledged,
    /// Someone is on it.
    Assigned,
    /// Judged not to need action (with a reason).
    Dismissed,
    /// Escalated to an incident.
    Escalated,
}

/// Where an alert stands with the watch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Triage {
    /// Status.
    pub status: TriageStatus,
    /// Who it is assigned to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Why it was dismissed, or re-raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The incident it was escalated to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident: Option<String>,
    /// Who made the last change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// When (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub at: Option<Timestamp>,
    /// The severity when it was dismissed: a later revision above it re-raises the alert.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dismissed_at_severity: Option<String>,
}

impl Default for Triage {
    fn default() -> Self {
        Triage {
            status: TriageStatus::New,
            assignee: None,
            reason: None,
            incident: None,
            by: None,
            at: None,
            dismissed_at_severity: None,
        }
    }
}

/// An alert as fusion raised it (latest revision, or as of a replay time), with its triage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AlertView {
    /// Alert id.
    pub id: String,
    /// `ais_gap`, `rendezvous`, `loitering`, `position_jump`, `identity_conflict`,
    /// `invalid_identity`, `zone_entry`, `dark_target`, `sar_beacon`, `distress`.
    pub kind: String,
    /// `info`, `low`, `medium`, `high`, `critical`.
    pub severity: String,
    /// Fusion's state: `open`, `closed`, `retracted`.
    pub state: String,
    /// Revision number, from 1.
    pub revision: u32,
    /// When this revision was made (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// When the behaviour started (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// When it ended (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end: Option<Timestamp>,
    /// The vessels concerned.
    pub mmsi: Vec<u32>,
    /// Contacts without MMSI (radar, sightings).
    pub contacts: Vec<String>,
    /// Where.
    pub position: Position,
    /// Confidence 0–1.
    pub score: f64,
    /// Why, in words with units.
    pub reasons: Vec<String>,
    /// The rule and its version.
    pub rule: String,
    /// The rule's parameters.
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// A search plan (rescue alerts), GeoJSON-ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub search_plan: Option<serde_json::Value>,
    /// Outside the centre's area of responsibility (`--area`): the console lists it last and
    /// only when asked (rescues always).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_area: bool,
    /// Where the watch stands with it.
    pub triage: Triage,
}

impl AlertView {
    /// The view of a fusion alert with its triage.
    pub fn new(a: &fusion::Alert, triage: Triage) -> AlertView {
        let name = |v: &dyn erased::Named| v.name();
        AlertView {
            id: a.id.clone(),
            kind: a.kind.as_str().to_owned(),
            severity: name(&a.severity),
            state: name(&a.state),
            revision: a.revision,
            time: a.time,
            start: a.start,
            end: a.end,
            mmsi: a.mmsi.clone(),
            contacts: a.contacts.clone(),
            position: Position {
                lat: a.position.lat,
                lon: a.position.lon,
            },
            score: a.score,
            reasons: a.reasons.clone(),
            rule: a.rule.clone(),
            params: a.params.clone(),
            search_plan: a.search_plan.clone(),
            outside_area: a.outside_area,
            triage,
        }
    }
}

mod erased {
    /// The serde name of a unit enum variant (`high`, `open`).
    pub(super) trait Named {
        fn name(&self) -> String;
    }
    impl<T: serde::Serialize> Named for T {
        fn name(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => s,
                _ => String::new(),
            }
        }
    }
}

/// The whole picture at one time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PictureView {
    /// The picture's time (UTC): the data's clock, or the replay time asked for.
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// True for a replay (`?at=`).
    pub replay: bool,
    /// Every track heard within the live window (or as of the replay time).
    pub tracks: Vec<TrackView>,
    /// Alerts open at that time (all of them in a replay as of then).
    pub alerts: Vec<AlertView>,
}

/// One change of identity or voyage data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IdentityChange {
    /// When (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// `name`, `callsign`, `imo`, `ship_type` or `destination`.
    pub field: String,
    /// Before (absent when first reported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// After.
    pub to: String,
    /// Where the vessel was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// A vessel near another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Nearby {
    /// Track id.
    pub id: String,
    /// Its label.
    pub label: String,
    /// Distance, metres.
    pub distance_m: f64,
    /// Bearing from the vessel, degrees true.
    pub bearing_deg: f64,
}

/// A vessel's risk score and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RiskView {
    /// 0 (nothing known against it) to 1.
    pub score: f64,
    /// Each contribution, largest first.
    pub reasons: Vec<String>,
}

/// Everything known about one AIS vessel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VesselCard {
    /// MMSI.
    pub mmsi: u32,
    /// Its track now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track: Option<TrackView>,
    /// Flag State from the MMSI's MID, when allocated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flag: Option<String>,
    /// Name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Call sign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callsign: Option<String>,
    /// IMO number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imo: Option<u32>,
    /// AIS ship and cargo type code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ship_type: Option<u8>,
    /// Length overall, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length_m: Option<u16>,
    /// Destination.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Messages received.
    pub reports: u32,
    /// Every change of identity or voyage data, oldest first.
    pub identity_history: Vec<IdentityChange>,
    /// Every alert naming it, newest first.
    pub alerts: Vec<AlertView>,
    /// Risk score with reasons.
    pub risk: RiskView,
    /// Tracks within 10 NM, nearest first (at most 10).
    pub nearby: Vec<Nearby>,
}

/// One point of a track's history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TrailPoint {
    /// When (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub time: Timestamp,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// An incident: alerts the watch escalated, for a case to be run on (SAR or
/// law enforcement).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Incident {
    /// `INC-20261122-001`.
    pub id: String,
    /// Title.
    pub title: String,
    /// `sar` (rescue first) or `law_enforcement`.
    pub kind: String,
    /// The alerts escalated into it.
    pub alerts: Vec<String>,
    /// Who opened it.
    pub created_by: String,
    /// When (UTC).
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}
