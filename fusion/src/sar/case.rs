//! The SAR case (DOMAIN.md §2.2, §9 "SAR"): emergency phases, taskings, place of safety,
//! disembarkation, suspension and termination, each change an entry in the case's log
//! with who, when and why. Pure: the console persists the log and signs the actor.
//!
//! The rules it enforces: R19 (a distress report may open a case in distress directly;
//! phase changes only by the SAR mission coordinator, with a rationale), R20 (a declined
//! tasking has a reason), R21 (no law-enforcement hold blocks a SAR action), R22
//! (termination needs everyone accounted for or the coordinator's decision that all
//! reasonable hope has passed; suspension needs a rationale and can be resumed), R23 (a
//! place-of-safety decision before any disembarkation; an assisting unit is never the
//! final place of safety), R24 (a person who asked for protection is not disembarked in a
//! State they fear without a recorded protection override), R25 (screening and interviews
//! are never prerequisites of disembarkation).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Roles that act on a SAR case (DOMAIN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operations-centre watch officer.
    WatchOfficer,
    /// SAR mission coordinator: owns the case.
    SarMissionCoordinator,
    /// On-scene coordinator.
    OnSceneCoordinator,
    /// Boarding officer.
    BoardingOfficer,
    /// Investigator.
    Investigator,
    /// Protection officer (UNHCR-trained, legal/protection overrides).
    ProtectionOfficer,
}

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

/// A place of safety.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceOfSafety {
    /// Port or facility name.
    pub name: String,
    /// The State it is in (ISO 3166 alpha-2).
    pub state: String,
    /// True when it is the assisting unit itself (a temporary refuge only, MSC.167 ¶6.13).
    pub assisting_unit: bool,
}

/// A person rescued, as far as the SAR case needs to know (the roster is issue 7's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Survivor {
    /// Wristband / tag id given at first contact.
    pub tag: String,
    /// States the person said they fear (an asylum expression restricts these, R24).
    pub blocked_states: Vec<String>,
}

/// How a case ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "basis", rename_all = "snake_case")]
pub enum Termination {
    /// Every person is accounted for.
    AllAccountedFor,
    /// All reasonable hope of rescuing survivors has passed (the coordinator's decision).
    ReasonableHopePassed {
        /// Why.
        rationale: String,
    },
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
    /// A unit tasked.
    Tasked {
        /// The unit.
        unit: String,
    },
    /// A unit declined (SOLAS V/33.1: with the reason recorded).
    TaskingDeclined {
        /// The unit.
        unit: String,
        /// Why.
        reason: String,
    },
    /// A law-enforcement hold was noted; it holds nothing back in SAR (R21).
    LawEnforcementHoldNoted {
        /// What was asked.
        note: String,
    },
    /// Persons rescued alive.
    Rescued {
        /// Their tags.
        tags: Vec<String>,
    },
    /// The place of safety decided.
    PlaceOfSafetyDecided {
        /// Where.
        place: PlaceOfSafety,
        /// Why.
        rationale: String,
    },
    /// A protection override recorded (R24).
    ProtectionOverride {
        /// The person.
        tag: String,
        /// The State.
        state: String,
        /// The legal/protection justification.
        justification: String,
    },
    /// Persons disembarked.
    Disembarked {
        /// Who.
        tags: Vec<String>,
        /// Where.
        place: String,
    },
    /// Suspended.
    Suspended {
        /// Why.
        rationale: String,
    },
    /// Resumed.
    Resumed {
        /// Why.
        rationale: String,
    },
    /// Terminated.
    Terminated(Termination),
}

/// An action refused, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// Only the SAR mission coordinator may do this (R19, R22).
    #[error("only the SAR mission coordinator may {0}")]
    NotCoordinator(&'static str),
    /// A rationale or reason is required (R19, R20, R22, R24).
    #[error("{0} needs a rationale")]
    NoRationale(&'static str),
    /// The case is terminated.
    #[error("the case is terminated")]
    Terminated,
    /// No place-of-safety decision yet (R23).
    #[error("a place of safety must be decided before anyone is disembarked")]
    NoPlaceOfSafety,
    /// An assisting unit cannot be the final place of safety (R23).
    #[error("an assisting unit is not a place of safety (MSC.167 ¶6.13): name a port or facility")]
    AssistingUnitNotPlaceOfSafety,
    /// A person would be disembarked in a State they fear (R24).
    #[error(
        "{tag} asked for protection from {state}: disembarking there needs a recorded protection override"
    )]
    FearedState {
        /// The person.
        tag: String,
        /// The State.
        state: String,
    },
    /// Not everyone is accounted for (R22).
    #[error(
        "{0} persons are not accounted for: terminate only when all are, or record that all reasonable hope has passed"
    )]
    NotAccounted(u32),
    /// Screening is never a prerequisite of disembarkation (R25).
    #[error("screening and interviews cannot be prerequisites of disembarkation (MSC.167 ¶6.20)")]
    ScreeningPrerequisite,
    /// An unknown person tag.
    #[error("no rescued person has tag {0}")]
    UnknownPerson(String),
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
    /// Persons estimated on board before rescue, if known.
    pub pob_estimate: Option<u32>,
    /// Persons rescued alive.
    pub survivors: Vec<Survivor>,
    /// Bodies recovered.
    pub bodies: u32,
    /// The place of safety decided, if any.
    pub place_of_safety: Option<PlaceOfSafety>,
    /// Protection overrides: (tag, State).
    pub overrides: Vec<(String, String)>,
    /// Tags disembarked.
    pub disembarked: Vec<String>,
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
            pob_estimate: None,
            survivors: Vec::new(),
            bodies: 0,
            place_of_safety: None,
            overrides: Vec::new(),
            disembarked: Vec::new(),
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
        if by.role == Role::SarMissionCoordinator {
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

    /// Task a unit. Nothing else is consulted: no hold can block it (R21).
    pub fn task(&mut self, unit: &str, by: Actor, at: Timestamp) -> Result<(), CaseError> {
        self.live()?;
        self.record(
            at,
            by,
            Event::Tasked {
                unit: unit.to_string(),
            },
        );
        Ok(())
    }

    /// A unit declined its tasking: the reason is required (R20).
    pub fn declined(
        &mut self,
        unit: &str,
        reason: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        needs_text(reason, "a declined tasking")?;
        self.record(
            at,
            by,
            Event::TaskingDeclined {
                unit: unit.to_string(),
                reason: reason.to_string(),
            },
        );
        Ok(())
    }

    /// A law-enforcement hold is noted in the log, and changes nothing for SAR (R21).
    pub fn note_law_enforcement_hold(&mut self, note: &str, by: Actor, at: Timestamp) {
        self.record(
            at,
            by,
            Event::LawEnforcementHoldNoted {
                note: note.to_string(),
            },
        );
    }

    /// Persons rescued alive, each with the states they said they fear.
    pub fn rescued(
        &mut self,
        survivors: Vec<Survivor>,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        self.live()?;
        let tags = survivors.iter().map(|s| s.tag.clone()).collect();
        self.survivors.extend(survivors);
        self.record(at, by, Event::Rescued { tags });
        Ok(())
    }

    /// Decide the place of safety: the coordinator, with a rationale; never the assisting
    /// unit itself (R23).
    pub fn decide_place_of_safety(
        &mut self,
        place: PlaceOfSafety,
        rationale: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "decide the place of safety")?;
        needs_text(rationale, "a place-of-safety decision")?;
        if place.assisting_unit {
            return Err(CaseError::AssistingUnitNotPlaceOfSafety);
        }
        self.place_of_safety = Some(place.clone());
        self.record(
            at,
            by,
            Event::PlaceOfSafetyDecided {
                place,
                rationale: rationale.to_string(),
            },
        );
        Ok(())
    }

    /// Record a legal/protection override for one person and one State (R24).
    pub fn protection_override(
        &mut self,
        tag: &str,
        state: &str,
        justification: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        if by.role != Role::ProtectionOfficer {
            return Err(CaseError::NotCoordinator(
                "record a protection override (a protection officer does)",
            ));
        }
        needs_text(justification, "a protection override")?;
        self.overrides.push((tag.to_string(), state.to_string()));
        self.record(
            at,
            by,
            Event::ProtectionOverride {
                tag: tag.to_string(),
                state: state.to_string(),
                justification: justification.to_string(),
            },
        );
        Ok(())
    }

    /// Disembark persons at the place of safety (R23, R24). `prerequisites` names anything
    /// the caller would make it wait for: screening or interviews are refused (R25).
    pub fn disembark(
        &mut self,
        tags: &[&str],
        prerequisites: &[&str],
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        self.live()?;
        if prerequisites.iter().any(|p| {
            matches!(
                p.to_ascii_lowercase().as_str(),
                "screening" | "interview" | "identification" | "registration"
            )
        }) {
            return Err(CaseError::ScreeningPrerequisite);
        }
        let place = self
            .place_of_safety
            .clone()
            .ok_or(CaseError::NoPlaceOfSafety)?;
        for tag in tags {
            let s = self
                .survivors
                .iter()
                .find(|s| s.tag == *tag)
                .ok_or_else(|| CaseError::UnknownPerson(tag.to_string()))?;
            if s.blocked_states.contains(&place.state)
                && !self
                    .overrides
                    .contains(&(tag.to_string(), place.state.clone()))
            {
                return Err(CaseError::FearedState {
                    tag: tag.to_string(),
                    state: place.state.clone(),
                });
            }
        }
        self.disembarked.extend(tags.iter().map(|t| t.to_string()));
        self.record(
            at,
            by,
            Event::Disembarked {
                tags: tags.iter().map(|t| t.to_string()).collect(),
                place: place.name,
            },
        );
        Ok(())
    }

    /// Suspend: the coordinator, with a rationale; the case can be resumed (R22).
    pub fn suspend(&mut self, rationale: &str, by: Actor, at: Timestamp) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "suspend a SAR case")?;
        needs_text(rationale, "a suspension")?;
        self.status = Status::Suspended;
        self.record(
            at,
            by,
            Event::Suspended {
                rationale: rationale.to_string(),
            },
        );
        Ok(())
    }

    /// Resume a suspended case on new information.
    pub fn resume(&mut self, rationale: &str, by: Actor, at: Timestamp) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "resume a SAR case")?;
        needs_text(rationale, "resuming")?;
        self.status = Status::Open;
        self.record(
            at,
            by,
            Event::Resumed {
                rationale: rationale.to_string(),
            },
        );
        Ok(())
    }

    /// Persons not accounted for: the estimate less those rescued and recovered.
    pub fn unaccounted(&self) -> u32 {
        self.pob_estimate.map_or(0, |pob| {
            pob.saturating_sub(self.survivors.len() as u32 + self.bodies)
        })
    }

    /// Terminate: the coordinator, when all are accounted for, or with the decision that
    /// all reasonable hope has passed (R22).
    pub fn terminate(
        &mut self,
        how: Termination,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), CaseError> {
        self.live()?;
        Self::coordinator(&by, "terminate a SAR case")?;
        match &how {
            Termination::AllAccountedFor if self.unaccounted() > 0 => {
                return Err(CaseError::NotAccounted(self.unaccounted()));
            }
            Termination::ReasonableHopePassed { rationale } => {
                needs_text(rationale, "terminating without everyone accounted for")?
            }
            _ => {}
        }
        self.status = Status::Terminated;
        self.record(at, by, Event::Terminated(how));
        Ok(())
    }
}
