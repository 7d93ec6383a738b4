//! Patrol unit reports: the JSON a patrol vessel publishes on `patrol/{unit}/report`.
//!
//! Three kinds, told apart by `"type"`. Unknown fields are refused, so a typo in a
//! field name is reported to the unit instead of being lost:
//!
//! ```json
//! {"type":"sighting","time":"2026-11-22T02:10:00Z","position":{"lat":35.1,"lon":12.5},
//!  "craft":"rubber_boat","persons_estimate":45,"condition":"overcrowded","notes":"no life jackets seen"}
//! {"type":"status","time":"2026-11-22T02:11:00Z","state":"responding","position":{"lat":35.2,"lon":12.4}}
//! {"type":"persons_on_board","time":"2026-11-22T03:40:00Z","rescued":44,"crew":12,"injured":3,"deceased":0}
//! ```
//!
//! | field | kinds | meaning |
//! |---|---|---|
//! | `time` | all | UTC, RFC 3339; at most 5 minutes in the future of the receiver's clock |
//! | `position` | sighting (required), status (optional) | `lat` −90..90, `lon` −180..180, degrees |
//! | `craft` | sighting | `rubber_boat`, `wooden_boat`, `fishing_vessel`, `sailing_yacht`, `speedboat`, `merchant_vessel`, `other`, `unknown` |
//! | `persons_estimate` | sighting | 0–2000 persons seen (an estimate) |
//! | `condition` | sighting | `under_way`, `stopped`, `adrift`, `overcrowded`, `taking_water`, `sinking`, `capsized`, `people_in_water`, `unknown` |
//! | `state` | status | `on_patrol`, `responding`, `on_scene`, `returning`, `in_port`, `unavailable` |
//! | `rescued`, `crew`, `injured`, `deceased` | persons_on_board | counts 0–2000; `injured` and `deceased` optional |
//! | `notes` | all, optional | free text, at most 1000 characters |

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

pub use crate::geodesy::Position;

/// What kind of craft was sighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Craft {
    /// Inflatable / rubber boat.
    RubberBoat,
    /// Wooden boat.
    WoodenBoat,
    /// Fishing vessel.
    FishingVessel,
    /// Sailing yacht.
    SailingYacht,
    /// Speedboat.
    Speedboat,
    /// Merchant vessel.
    MerchantVessel,
    /// Something else (say what in `notes`).
    Other,
    /// Not seen well enough to say.
    Unknown,
}

/// The condition of a sighted craft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Making way.
    UnderWay,
    /// Stopped, not in obvious difficulty.
    Stopped,
    /// Drifting, no propulsion.
    Adrift,
    /// More people than the craft can safely carry.
    Overcrowded,
    /// Taking water.
    TakingWater,
    /// Sinking.
    Sinking,
    /// Capsized.
    Capsized,
    /// People in the water.
    PeopleInWater,
    /// Could not tell.
    Unknown,
}

impl Condition {
    /// True when the condition is distress by itself: rescue first.
    pub fn is_distress(self) -> bool {
        matches!(
            self,
            Condition::Adrift
                | Condition::Overcrowded
                | Condition::TakingWater
                | Condition::Sinking
                | Condition::Capsized
                | Condition::PeopleInWater
        )
    }
}

/// A unit's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitState {
    /// Patrolling.
    OnPatrol,
    /// Under way to a tasking.
    Responding,
    /// On scene of a tasking.
    OnScene,
    /// Returning to port.
    Returning,
    /// In port.
    InPort,
    /// Not available for tasking.
    Unavailable,
}

/// A report from a patrol unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PatrolReport {
    /// A craft seen (by eye, radar or camera).
    Sighting {
        /// When it was seen, UTC.
        time: Timestamp,
        /// Where.
        position: Position,
        /// What kind of craft.
        craft: Craft,
        /// How many persons were seen (an estimate).
        persons_estimate: u32,
        /// Its condition.
        condition: Condition,
        /// Free text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
    },
    /// The unit's state.
    Status {
        /// When, UTC.
        time: Timestamp,
        /// The state.
        state: UnitState,
        /// Where the unit is, if it says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        position: Option<Position>,
        /// Free text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
    },
    /// The unit's answer to a tasking: accepted, or declined with the reason the master
    /// records (SOLAS V/33.1; RULES.md R20).
    TaskingAck {
        /// When, UTC.
        time: Timestamp,
        /// The tasking's id.
        tasking: String,
        /// True: proceeding; false: declined.
        accepted: bool,
        /// Why it was declined (required then).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Who is on board the unit.
    PersonsOnBoard {
        /// When, UTC.
        time: Timestamp,
        /// Persons rescued and on board.
        rescued: u32,
        /// The unit's crew.
        crew: u32,
        /// Of the rescued, how many injured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        injured: Option<u32>,
        /// Of the rescued, how many deceased.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        deceased: Option<u32>,
        /// Free text.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        notes: Option<String>,
    },
}

/// A tasking sent to a unit on `patrol/{unit}/tasking`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tasking {
    /// Stable id; the unit answers with a `tasking_ack` report naming it.
    pub id: String,
    /// When it was issued, UTC.
    pub time: Timestamp,
    /// The unit tasked.
    pub unit: String,
    /// `sar` (search and rescue) or `intercept`.
    pub kind: String,
    /// The alert it answers.
    pub alert: String,
    /// What to do, in words.
    pub instructions: String,
    /// Where to go: the datum.
    pub datum: Position,
    /// Search pattern: IAMSAR code (`SS`, `VS`, `PS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Track spacing (or sector radius), NM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spacing_nm: Option<f64>,
    /// Waypoints to fly, commence search point first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waypoints: Vec<Position>,
    /// Distance from the unit to the datum when tasked, NM.
    pub distance_nm: f64,
    /// Estimated time to reach the datum, minutes.
    pub eta_min: f64,
}

/// Why a report was refused, in words the unit's crew can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("report refused: {field}: {problem}")]
pub struct ReportError {
    /// The field at fault (`json` when the text is not a report at all).
    pub field: String,
    /// What is wrong and what is allowed.
    pub problem: String,
}

impl ReportError {
    fn new(field: &str, problem: impl Into<String>) -> Self {
        ReportError {
            field: field.to_owned(),
            problem: problem.into(),
        }
    }

    /// A stable code for counting refusals.
    pub fn reason(&self) -> &'static str {
        if self.field == "json" {
            "report_json"
        } else {
            "report_field"
        }
    }
}

/// Most persons a count may hold (the largest craft seen in this trade carry some
/// hundreds; a larger number is a typing error).
pub const MAX_PERSONS: u32 = 2000;
/// How far in the future a report's time may be (clock drift on board).
pub const MAX_FUTURE: SignedDuration = SignedDuration::from_mins(5);

impl PatrolReport {
    /// Parse and validate a report received at `now`.
    pub fn parse(payload: &[u8], now: Timestamp) -> Result<PatrolReport, ReportError> {
        let report: PatrolReport = serde_json::from_slice(payload).map_err(|e| {
            ReportError::new(
                "json",
                format!("{e} (a report is a JSON object with \"type\": sighting, status, tasking_ack or persons_on_board)"),
            )
        })?;
        report.validate(now)?;
        Ok(report)
    }

    /// The report's time.
    pub fn time(&self) -> Timestamp {
        match self {
            PatrolReport::Sighting { time, .. }
            | PatrolReport::Status { time, .. }
            | PatrolReport::TaskingAck { time, .. }
            | PatrolReport::PersonsOnBoard { time, .. } => *time,
        }
    }

    fn validate(&self, now: Timestamp) -> Result<(), ReportError> {
        if self.time() > now + MAX_FUTURE {
            return Err(ReportError::new(
                "time",
                format!(
                    "{} is more than 5 minutes after the receiving clock ({now}); check the unit's clock",
                    self.time()
                ),
            ));
        }
        let position = |p: &Position| -> Result<(), ReportError> {
            if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
                return Err(ReportError::new(
                    "position.lat",
                    format!("{} is not in -90..90", p.lat),
                ));
            }
            if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
                return Err(ReportError::new(
                    "position.lon",
                    format!("{} is not in -180..180", p.lon),
                ));
            }
            Ok(())
        };
        let count = |field: &str, n: u32| -> Result<(), ReportError> {
            if n > MAX_PERSONS {
                return Err(ReportError::new(
                    field,
                    format!("{n} is more than {MAX_PERSONS}"),
                ));
            }
            Ok(())
        };
        let notes = |n: &Option<String>| -> Result<(), ReportError> {
            match n {
                Some(n) if n.chars().count() > 1000 => {
                    Err(ReportError::new("notes", "at most 1000 characters"))
                }
                _ => Ok(()),
            }
        };
        match self {
            PatrolReport::Sighting {
                position: p,
                persons_estimate,
                notes: n,
                ..
            } => {
                position(p)?;
                count("persons_estimate", *persons_estimate)?;
                notes(n)
            }
            PatrolReport::Status {
                position: p,
                notes: n,
                ..
            } => {
                if let Some(p) = p {
                    position(p)?;
                }
                notes(n)
            }
            PatrolReport::TaskingAck {
                tasking,
                accepted,
                reason,
                ..
            } => {
                if tasking.is_empty() || tasking.len() > 128 {
                    return Err(ReportError::new(
                        "tasking",
                        "the tasking id: 1–128 characters",
                    ));
                }
                let has_reason = reason.as_deref().is_some_and(|r| !r.trim().is_empty());
                if !accepted && !has_reason {
                    return Err(ReportError::new(
                        "reason",
                        "a declined tasking must say why (SOLAS V/33.1: the master records the reason)",
                    ));
                }
                notes(reason)
            }
            PatrolReport::PersonsOnBoard {
                rescued,
                crew,
                injured,
                deceased,
                notes: n,
                ..
            } => {
                count("rescued", *rescued)?;
                count("crew", *crew)?;
                for (field, v) in [("injured", injured), ("deceased", deceased)] {
                    if let Some(v) = v {
                        count(field, *v)?;
                        if v > rescued {
                            return Err(ReportError::new(
                                field,
                                format!("{v} is more than the {rescued} rescued"),
                            ));
                        }
                    }
                }
                notes(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-22T02:15:00Z".parse().unwrap()
    }

    #[test]
    fn the_documented_examples_parse() {
        let s = br#"{"type":"sighting","time":"2026-11-22T02:10:00Z","position":{"lat":35.1,"lon":12.5},"craft":"rubber_boat","persons_estimate":45,"condition":"overcrowded","notes":"no life jackets seen"}"#;
        let r = PatrolReport::parse(s, now()).unwrap();
        let PatrolReport::Sighting {
            persons_estimate,
            condition,
            ..
        } = r
        else {
            panic!()
        };
        assert_eq!(persons_estimate, 45);
        assert!(condition.is_distress());
        PatrolReport::parse(
            br#"{"type":"status","time":"2026-11-22T02:11:00Z","state":"responding","position":{"lat":35.2,"lon":12.4}}"#,
            now(),
        )
        .unwrap();
        PatrolReport::parse(
            br#"{"type":"persons_on_board","time":"2026-11-22T02:14:00Z","rescued":44,"crew":12,"injured":3,"deceased":0}"#,
            now(),
        )
        .unwrap();
    }

    #[test]
    fn refusals_say_which_field_and_why() {
        let cases: [(&[u8], &str); 6] = [
            (b"not json", "json"),
            (br#"{"type":"sighting","time":"2026-11-22T02:10:00Z","position":{"lat":95,"lon":12.5},"craft":"rubber_boat","persons_estimate":45,"condition":"adrift"}"#, "position.lat"),
            (br#"{"type":"sighting","time":"2026-11-22T02:10:00Z","position":{"lat":35,"lon":12.5},"craft":"rubber_boat","persons_estimate":4500,"condition":"adrift"}"#, "persons_estimate"),
            (br#"{"type":"status","time":"2026-11-22T03:00:00Z","state":"on_patrol"}"#, "time"),
            (br#"{"type":"persons_on_board","time":"2026-11-22T02:10:00Z","rescued":4,"crew":9,"injured":7}"#, "injured"),
            (br#"{"type":"status","time":"2026-11-22T02:10:00Z","state":"on_patrol","speed":3}"#, "json"),
        ];
        for (payload, field) in cases {
            let e = PatrolReport::parse(payload, now()).unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
        let e = PatrolReport::parse(
            br#"{"type":"status","time":"2026-11-22T02:10:00Z","state":"on_patrol","speed":3}"#,
            now(),
        )
        .unwrap_err();
        assert!(e.problem.contains("unknown field `speed`"), "{e}");
    }
}
