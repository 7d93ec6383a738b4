//! The SAR case of an incident: its emergency phase and who declared it, why and when (R19;
//! R21: nothing a law-enforcement case holds can block it). What happens to the persons
//! (rescue, the place of safety, disembarkation, protection) is in the incident's case file
//! ([`crate::casefile`]), once.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use crate::role::Role;

/// Who acts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The person.
    pub name: String,
    /// In which role.
    pub role: Role,
}

/// Emergency phases (SAR Convention annex 4.4; ICAO codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// INCERFA.
    Uncertainty,
    /// ALERFA.
    Alert,
    /// DETRESFA.
    Distress,
}

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Under way.
    Open,
    /// On-scene activity impracticable, survivors may still be alive: can be resumed.
    Suspended,
    /// Over.
    Terminated,
}

/// One entry of the case log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When it happened.
    pub at: Timestamp,
    /// Who.
    pub by: Actor,
    /// What.
    pub event: Event,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// Opened, in a phase.
    Opened {
        /// The phase it opened in.
        phase: Phase,
        /// The alert or report that opened it.
        source: String,
        /// Why that phase.
        rationale: String,
    },
    /// A phase declared.
    PhaseDeclared {
        /// The new phase.
        phase: Phase,
        /// Why.
        rationale: String,
    },
}

/// An action refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// Only the SAR mission coordinator may do this (R19).
    #[error("only the SAR mission coordinator may {0}")]
    NotCoordinator(&'static str),
    /// A rationale is required (R19).
    #[error("{0} needs a rationale")]
    NoRationale(&'static str),
    /// The case is terminated.
    #[error("the case is terminated")]
    Terminated,
}

/// A SAR case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SarCase {
    /// Case id.
    pub id: String,
    /// Current phase.
    pub phase: Phase,
    /// Open, suspended or terminated.
    pub status: Status,
    /// The log, in order: every change, with who, when and why.
    pub log: Vec<Entry>,
}

fn needs_text(text: &str, what: &'static str) -> Result<(), CaseError> {
    if text.trim().is_empty() {
        Err(CaseError::NoRationale(what))
    } else {
        Ok(())
    }
}

impl SarCase {
    /// Open a case in `phase` from an alert or report. Anyone on watch may open one, in any
    /// phase, distress included (R19: a distress report opens it in distress directly).
    pub fn open(
        id: &str,
        phase: Phase,
        source: &str,
        rationale: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<SarCase, CaseError> {
        needs_text(rationale, "opening a SAR case")?;
        Ok(SarCase {
            id: id.to_string(),
            phase,
            status: Status::Open,
            log: vec![Entry {
                at,
                by,
                event: Event::Opened {
                    phase,
                    source: source.to_string(),
                    rationale: rationale.to_string(),
                },
            }],
        })
    }

    fn record(&mut self, at: Timestamp, by: Actor, event: Event) {
        self.log.push(Entry { at, by, event });
    }

    fn live(&self) -> Result<(), CaseError> {
        if self.status == Status::Terminated {
            Err(CaseError::Terminated)
        } else {
            Ok(())
        }
    }

    fn coordinator(by: &Actor, what: &'static str) -> Result<(), CaseError> {
        if by.role == Role::SarCoordinator {
            Ok(())
        } else {
            Err(CaseError::NotCoordinator(what))
        }
    }

    /// Declare a phase (up or down): the coordinator, with a rationale (R19).
    pub fn declare_phase(
        &mut self,
        phase: Phase,
        rationale: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "declare a phase")?;
        needs_text(rationale, "a phase change")?;
        self.phase = phase;
        self.record(
            at,
            by,
            Event::PhaseDeclared {
                phase,
                rationale: rationale.to_string(),
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(min: i64) -> Timestamp {
        "2026-11-22T02:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_mins(min)
    }

    fn smc() -> Actor {
        Actor {
            name: "M. Rossi".into(),
            role: Role::SarCoordinator,
        }
    }

    fn owo() -> Actor {
        Actor {
            name: "A. Borg".into(),
            role: Role::WatchOfficer,
        }
    }

    fn case_in_distress() -> SarCase {
        SarCase::open(
            "sar-1",
            Phase::Distress,
            "dark_target-cp-301-sighting-obs-1",
            "overcrowded rubber boat, about 47 persons, no life jackets: positive information of danger",
            owo(),
            at(0),
        )
        .unwrap()
    }

    #[test]
    fn r19_a_distress_report_opens_a_case_in_distress_and_only_the_coordinator_changes_phases_with_a_rationale()
     {
        let mut c = case_in_distress();
        assert_eq!(c.phase, Phase::Distress);
        assert!(matches!(
            c.log[0].event,
            Event::Opened {
                phase: Phase::Distress,
                ..
            }
        ));
        assert_eq!(
            c.declare_phase(
                Phase::Alert,
                "boat reached by a merchant ship",
                owo(),
                at(5)
            ),
            Err(CaseError::NotCoordinator("declare a phase"))
        );
        assert_eq!(
            c.declare_phase(Phase::Alert, "  ", smc(), at(5)),
            Err(CaseError::NoRationale("a phase change"))
        );
        c.declare_phase(
            Phase::Alert,
            "all persons aboard a merchant ship, condition good",
            smc(),
            at(5),
        )
        .unwrap();
        assert_eq!(c.phase, Phase::Alert);
        let last = c.log.last().unwrap();
        assert_eq!(last.by, smc());
        assert_eq!(last.at, at(5));
    }
}
