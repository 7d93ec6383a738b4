//! The SAR case: DOMAIN.md R19–R25 as named tests.

use fusion::sar::case::{
    Actor, CaseError, Event, Phase, PlaceOfSafety, Role, SarCase, Status, Survivor, Termination,
};
use jiff::Timestamp;

fn at(min: i64) -> Timestamp {
    "2026-11-22T02:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_mins(min)
}

fn smc() -> Actor {
    Actor {
        name: "M. Rossi".into(),
        role: Role::SarMissionCoordinator,
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

fn survivor(tag: &str, blocked: &[&str]) -> Survivor {
    Survivor {
        tag: tag.into(),
        blocked_states: blocked.iter().map(|s| s.to_string()).collect(),
    }
}

fn port(state: &str) -> PlaceOfSafety {
    PlaceOfSafety {
        name: format!("port in {state}"),
        state: state.into(),
        assisting_unit: false,
    }
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

#[test]
fn r20_a_declined_tasking_carries_its_reason() {
    let mut c = case_in_distress();
    c.task("cp-301", smc(), at(1)).unwrap();
    assert_eq!(
        c.declined("cp-301", "", smc(), at(2)),
        Err(CaseError::NoRationale("a declined tasking"))
    );
    c.declined("cp-301", "engine failure", smc(), at(2))
        .unwrap();
    assert!(
        matches!(&c.log.last().unwrap().event, Event::TaskingDeclined { reason, .. } if reason == "engine failure")
    );
}

#[test]
fn r21_no_law_enforcement_hold_blocks_a_sar_action() {
    let mut c = case_in_distress();
    c.note_law_enforcement_hold(
        "flag-State authorization pending: do not board",
        owo(),
        at(1),
    );
    // Every SAR action still goes through.
    c.task("cp-301", smc(), at(2)).unwrap();
    c.rescued(vec![survivor("T-001", &[])], smc(), at(30))
        .unwrap();
    c.decide_place_of_safety(
        port("MT"),
        "nearest port able to receive 47 persons",
        smc(),
        at(40),
    )
    .unwrap();
    c.disembark(&["T-001"], &[], smc(), at(200)).unwrap();
    assert_eq!(c.disembarked, vec!["T-001"]);
}

#[test]
fn r22_termination_needs_everyone_accounted_for_or_the_coordinators_decision_and_suspension_is_reversible()
 {
    let mut c = case_in_distress();
    c.pob_estimate = Some(3);
    c.rescued(
        vec![survivor("T-001", &[]), survivor("T-002", &[])],
        smc(),
        at(30),
    )
    .unwrap();
    assert_eq!(
        c.terminate(Termination::AllAccountedFor, smc(), at(60)),
        Err(CaseError::NotAccounted(1))
    );
    assert_eq!(
        c.terminate(
            Termination::ReasonableHopePassed {
                rationale: "".into()
            },
            smc(),
            at(60)
        ),
        Err(CaseError::NoRationale(
            "terminating without everyone accounted for"
        ))
    );
    assert_eq!(
        c.terminate(Termination::AllAccountedFor, owo(), at(60)),
        Err(CaseError::NotCoordinator("terminate a SAR case"))
    );
    assert_eq!(
        c.suspend("", smc(), at(61)),
        Err(CaseError::NoRationale("a suspension"))
    );
    c.suspend(
        "night, sea state 6: on-scene search impracticable",
        smc(),
        at(61),
    )
    .unwrap();
    assert_eq!(c.status, Status::Suspended);
    c.resume("daylight, aircraft available", smc(), at(400))
        .unwrap();
    assert_eq!(c.status, Status::Open);
    c.bodies = 1;
    c.terminate(Termination::AllAccountedFor, smc(), at(500))
        .unwrap();
    assert_eq!(c.status, Status::Terminated);
    assert_eq!(c.task("cp-302", smc(), at(501)), Err(CaseError::Terminated));
}

#[test]
fn r23_a_place_of_safety_before_disembarkation_and_never_the_assisting_unit() {
    let mut c = case_in_distress();
    c.rescued(vec![survivor("T-001", &[])], smc(), at(30))
        .unwrap();
    assert_eq!(
        c.disembark(&["T-001"], &[], smc(), at(40)),
        Err(CaseError::NoPlaceOfSafety)
    );
    let unit = PlaceOfSafety {
        name: "CP 301".into(),
        state: "IT".into(),
        assisting_unit: true,
    };
    assert_eq!(
        c.decide_place_of_safety(unit, "survivors are safe aboard", smc(), at(41)),
        Err(CaseError::AssistingUnitNotPlaceOfSafety)
    );
    c.decide_place_of_safety(
        port("IT"),
        "Lampedusa hotspot can receive them",
        smc(),
        at(42),
    )
    .unwrap();
    c.disembark(&["T-001"], &[], smc(), at(120)).unwrap();
}

#[test]
fn r24_a_person_who_asked_for_protection_is_not_disembarked_in_a_feared_state_without_an_override()
{
    let mut c = case_in_distress();
    c.rescued(
        vec![survivor("T-007", &["LY"]), survivor("T-008", &[])],
        smc(),
        at(30),
    )
    .unwrap();
    c.decide_place_of_safety(port("LY"), "nearest port", smc(), at(40))
        .unwrap();
    c.disembark(&["T-008"], &[], smc(), at(100)).unwrap();
    assert_eq!(
        c.disembark(&["T-007"], &[], smc(), at(100)),
        Err(CaseError::FearedState {
            tag: "T-007".into(),
            state: "LY".into()
        })
    );
    // Only a protection officer may override, with a justification.
    assert!(
        c.protection_override("T-007", "LY", "x", smc(), at(101))
            .is_err()
    );
    let po = Actor {
        name: "UNHCR liaison".into(),
        role: Role::ProtectionOfficer,
    };
    assert_eq!(
        c.protection_override("T-007", "LY", " ", po.clone(), at(101)),
        Err(CaseError::NoRationale("a protection override"))
    );
    c.protection_override(
        "T-007",
        "LY",
        "withdrew the fear after counselling, asks to return",
        po,
        at(102),
    )
    .unwrap();
    c.disembark(&["T-007"], &[], smc(), at(103)).unwrap();
}

#[test]
fn r25_screening_is_never_a_prerequisite_of_disembarkation() {
    let mut c = case_in_distress();
    c.rescued(vec![survivor("T-001", &[])], smc(), at(30))
        .unwrap();
    c.decide_place_of_safety(port("MT"), "Valletta", smc(), at(40))
        .unwrap();
    for p in ["screening", "interview", "identification"] {
        assert_eq!(
            c.disembark(&["T-001"], &[p], smc(), at(41)),
            Err(CaseError::ScreeningPrerequisite)
        );
    }
    c.disembark(&["T-001"], &["medical triage"], smc(), at(42))
        .unwrap();
}
