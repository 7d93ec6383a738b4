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
    /// Suspended: on-scene activity stops, survivors may still be alive (R22).
    Suspended {
        /// Why.
        rationale: String,
    },
    /// Resumed after a suspension (R22).
    Resumed {
        /// Why.
        rationale: String,
    },
    /// Terminated (R22): over for good.
    Terminated {
        /// On what ground.
        ground: Ground,
        /// Why.
        rationale: String,
    },
}

/// The ground a SAR case is terminated on (R22).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "ground", rename_all = "snake_case")]
pub enum Ground {
    /// Everyone believed on board is accounted for: as many persons in the incident's case
    /// file as were reported on board, none of them missing.
    AllAccountedFor {
        /// Persons believed on board, as the coordinator states it.
        persons_reported: u32,
        /// Persons in the case file when it was terminated (rescued, transferred, landed,
        /// evacuated or dead), not missing.
        accounted: u32,
    },
    /// The coordinator's decision that there is no longer any reasonable hope of rescuing
    /// survivors.
    NoReasonableHope,
}

/// What the incident's case file says of the persons, when a case is terminated (R22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Accounted {
    /// Persons in the case file, not missing.
    pub found: u32,
    /// Persons recorded missing.
    pub missing: u32,
    /// Persons still on board a unit or in transfer: found, not yet delivered to a place of
    /// safety (or evacuated), so the rescue is not over (DOMAIN §3.3, invariant 3).
    pub on_board: u32,
}

impl Accounted {
    /// The count of a roster.
    pub fn of(roster: &crate::roster::Roster) -> Accounted {
        use crate::roster::Status;
        let count = |f: &dyn Fn(&Status) -> bool| {
            roster.persons.values().filter(|p| f(&p.status)).count() as u32
        };
        let missing = count(&|s| *s == Status::Missing);
        Accounted {
            found: roster.persons.len() as u32 - missing,
            missing,
            on_board: count(&|s| matches!(s, Status::OnBoard(_) | Status::InTransfer { .. })),
        }
    }
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
    /// The case is suspended already (R22).
    #[error("the case is suspended already")]
    Suspended,
    /// The case is not suspended: nothing to resume (R22).
    #[error("the case is not suspended: nothing to resume")]
    NotSuspended,
    /// Terminated as all accounted for while not everyone is (R22).
    #[error(
        "R22: {found} of the {reported} persons reported on board are accounted for ({missing} missing): a case is terminated only when everyone is accounted for, or on the decision that there is no longer any reasonable hope"
    )]
    NotAccountedFor {
        /// Persons reported on board.
        reported: u32,
        /// Persons in the case file, not missing.
        found: u32,
        /// Persons recorded missing.
        missing: u32,
    },
    /// Terminated as all accounted for while some are still on board a unit (R22).
    #[error(
        "R22: {0} persons rescued are still on board a unit or in transfer: the rescue ends when they are delivered to a place of safety (or evacuated)"
    )]
    StillOnBoard(u32),
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

    /// Suspend the case (R22): the coordinator, with a rationale; it can be resumed.
    pub fn suspend(&mut self, rationale: &str, by: Actor, at: Timestamp) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "suspend a case")?;
        needs_text(rationale, "suspending a SAR case (R22)")?;
        if self.status == Status::Suspended {
            return Err(CaseError::Suspended);
        }
        self.status = Status::Suspended;
        let rationale = rationale.trim().to_owned();
        self.record(at, by, Event::Suspended { rationale });
        Ok(())
    }

    /// Resume a suspended case (R22): the coordinator, with a rationale.
    pub fn resume(&mut self, rationale: &str, by: Actor, at: Timestamp) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "resume a case")?;
        needs_text(rationale, "resuming a SAR case (R22)")?;
        if self.status != Status::Suspended {
            return Err(CaseError::NotSuspended);
        }
        self.status = Status::Open;
        let rationale = rationale.trim().to_owned();
        self.record(at, by, Event::Resumed { rationale });
        Ok(())
    }

    /// Terminate the case (R22): the coordinator, with a rationale, either when everyone
    /// reported on board is accounted for in the incident's case file (`all_accounted_for`:
    /// the persons reported, and what the case file accounts for), or (`None`) on the
    /// decision that there is no longer any reasonable hope.
    pub fn terminate(
        &mut self,
        all_accounted_for: Option<(u32, Accounted)>,
        rationale: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "terminate a case")?;
        needs_text(rationale, "terminating a SAR case (R22)")?;
        let ground = match all_accounted_for {
            Some((reported, accounted)) => {
                if accounted.missing > 0 || accounted.found < reported {
                    return Err(CaseError::NotAccountedFor {
                        reported,
                        found: accounted.found,
                        missing: accounted.missing,
                    });
                }
                if accounted.on_board > 0 {
                    return Err(CaseError::StillOnBoard(accounted.on_board));
                }
                Ground::AllAccountedFor {
                    persons_reported: reported,
                    accounted: accounted.found,
                }
            }
            None => Ground::NoReasonableHope,
        };
        self.status = Status::Terminated;
        let rationale = rationale.trim().to_owned();
        self.record(at, by, Event::Terminated { ground, rationale });
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
