//! The case file's rules, taken through the store's case action (what the API calls): every
//! refusal and every success as a user would meet it.

use crate::console::db::params;
use crate::console::store::{CaseRefusal, Store};
use jiff::Timestamp;
use tidewatch_cases::Role;
use tidewatch_cases::art8::State;
use tidewatch_cases::art8::{MeasureKind, VesselKind};
use tidewatch_cases::casefile::*;
use tidewatch_cases::log::EventType;
use tidewatch_cases::log::{AppendError, LogActor, LogPosition, NewEntry, TimeSource, verify};
use tidewatch_cases::roster::*;

/// Off Lampedusa, on the high seas.
const HIGH_SEAS: (f64, f64) = (35.2, 12.9);
/// Inside the demo's Maltese territorial sea.
const MALTA_TS: (f64, f64) = (35.9, 14.4);

struct Desk {
    store: Store,
    reference: Reference,
}

fn desk() -> Desk {
    Desk {
        store: crate::testkit::store(),
        reference: Reference::default_demo(),
    }
}

/// An entry by `user` in `role`, at `pos`, when `occurred_at` (its `why` a placeholder).
fn entry_by(user: &str, role: Role, pos: Option<(f64, f64)>, occurred_at: Timestamp) -> NewEntry {
    NewEntry {
        occurred_at,
        time_source: TimeSource::Ntp,
        actor: LogActor {
            user: user.into(),
            role: role.as_str().into(),
            unit: None,
            on_behalf_of: None,
        },
        event: EventType::Note,
        position: pos.map(|(lat, lon)| LogPosition {
            lat,
            lon,
            accuracy_nm: 0.1,
        }),
        zone: None,
        why: "recorded".into(),
        details: serde_json::Value::Null,
        corrects: None,
        late_reason: None,
        occurred_at_given: None,
    }
}

impl Desk {
    fn act_at(
        &self,
        user: &str,
        role: Role,
        action: Action,
        pos: Option<(f64, f64)>,
    ) -> Result<CaseFile, CaseRefusal> {
        let now = Timestamp::now();
        self.act_times(user, role, action, pos, now, now)
    }

    fn act_times(
        &self,
        user: &str,
        role: Role,
        action: Action,
        pos: Option<(f64, f64)>,
        occurred_at: Timestamp,
        now: Timestamp,
    ) -> Result<CaseFile, CaseRefusal> {
        let entry = NewEntry {
            why: format!("{} by {user}", action_name(&action)),
            ..entry_by(user, role, pos, occurred_at)
        };
        let who = Who {
            user: user.into(),
            role,
        };
        self.store
            .case_action("INC-1", &who, &action, entry, now, &self.reference)
            .unwrap()
            .map(|(_, f)| f)
    }

    fn act(&self, user: &str, role: Role, action: Action) -> Result<CaseFile, CaseRefusal> {
        let pos = action.at_sea().then_some(HIGH_SEAS);
        self.act_at(user, role, action, pos)
    }

    fn ok(&self, user: &str, role: Role, action: Action) -> CaseFile {
        self.act(user, role, action)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn rule(&self, user: &str, role: Role, action: Action) -> &'static str {
        match self.act(user, role, action) {
            Err(CaseRefusal::Rule(r)) => r.rule,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}

fn msg(our: &str, their: Option<&str>) -> MessageIn {
    MessageIn {
        authority: "Flag State MRCC".into(),
        channel: "secure e-mail".into(),
        our_ref: our.into(),
        their_ref: their.map(Into::into),
        content: format!("message {our}"),
    }
}

fn rescue_47(d: &Desk) -> CaseFile {
    d.ok(
        "bo",
        Role::BoardingOfficer,
        Action::Rescue {
            unit: "cp-302".into(),
            count: 47,
        },
    )
}

/// A desk whose reference data carries an agreement with Panama, in force from
/// 2026-01-01: §3 pre-authorizes a diversion to port, §5 deems silence an authorization to
/// board and search after 4 h.
fn desk_with_agreement() -> Desk {
    let mut reference = Reference::default_demo();
    reference.agreements = Reference::from_toml(
        r#"
        own_state = "IT"
        [[agreement]]
        id = "IT-PA-2026"
        state = "PA"
        in_force_from = "2026-01-01"
        [[agreement.clause]]
        code = "§3"
        measures = ["divert_to_port"]
        [[agreement.clause]]
        code = "§5"
        measures = ["board", "search"]
        deemed_after_h = 4
        "#,
    )
    .unwrap()
    .agreements;
    Desk {
        store: crate::testkit::store(),
        reference,
    }
}

/// Open case 1 against a Panamanian vessel and ask Panama to authorize boarding, at `t`.
fn ask_panama(d: &Desk, t: Timestamp) {
    notify_panama(d, t);
    d.act_times(
        "duty1",
        Role::DutyOfficer,
        Action::RequestAuthorization {
            case: 1,
            measures: vec![MeasureKind::Board, MeasureKind::Search],
            message: msg("IT-2", None),
        },
        None,
        t,
        t,
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Case 1 opened against the MV Aurora, a Panamanian vessel.
fn open_aurora() -> Action {
    Action::OpenArt8 {
        target: "MV Aurora (MMSI 352001234)".into(),
        vessel_kind: VesselKind::Private,
        grounds: "met a rubber boat at sea, going dark".into(),
    }
}

/// Open case 1 against a Panamanian vessel, notify Panama and have its registry reply, at `t`.
fn notify_panama(d: &Desk, t: Timestamp) {
    use Role::*;
    let step = |user: &str, role: Role, action: Action| {
        d.act_times(user, role, action, None, t, t)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    step("owo", WatchOfficer, open_aurora());
    for action in [
        Action::NotifyFlagState {
            case: 1,
            flag: "PA".into(),
            message: msg("IT-1", None),
        },
        Action::RegistryReply {
            case: 1,
            confirmed: true,
            message: msg("IT-1", Some("PA-9")),
        },
    ] {
        step("duty1", DutyOfficer, action);
    }
}

/// Review (issue 24 session): a flag State's refusal could not be recorded: a case whose
/// authorization was refused waited in S3 for ever, where silence or a later grant could
/// still be recorded over it. It is now S4b, kept in the log with the reply; nothing asked
/// for may then be done under art. 8(2), neither a grant nor a deemed authorization may
/// follow, the case closes, and a life-saving action stays open (R07, R21). (Who may
/// record it: `case_roles`, through the API.)
#[test]
fn a_flag_states_refusal_is_recorded_and_nothing_refused_is_done() {
    use Role::*;
    let d = desk_with_agreement();
    let h = jiff::SignedDuration::from_hours;
    let now = Timestamp::now();
    ask_panama(&d, now - h(5));
    let refusal = |message: MessageIn| Action::RecordRefusal {
        case: 1,
        grounds: Some("the vessel is not known to carry persons".into()),
        message,
    };
    // A reply without their reference is not a reply (R15).
    assert_eq!(
        d.rule("duty2", DutyOfficer, refusal(msg("IT-2", None))),
        "R15"
    );
    let f = d.ok("duty2", DutyOfficer, refusal(msg("IT-2", Some("PA-11"))));
    let case = &f.art8[0].1;
    assert_eq!(case.state, State::AuthorizationRefused);
    assert!(case.authorization.is_none());
    let last = case.log.last().unwrap();
    assert!(
        last.what.contains("refused") && last.what.contains("PA-11"),
        "{last:?}"
    );
    let log = d.store.interception_log("INC-1").unwrap();
    let entry = &log.entries.last().unwrap().entry;
    assert_eq!(entry.event, EventType::MessageIn);
    // Nothing refused is done: no boarding, no measure, no grant or deemed authorization
    // over the refusal (the agreement's clause would deem one after 4 h of silence).
    let board = Action::Board {
        case: 1,
        unit: "cp-301".into(),
    };
    assert_eq!(d.rule("bo", BoardingOfficer, board), "state");
    let divert = Action::Measure {
        case: 1,
        kind: MeasureKind::DivertToPort,
        unit: "cp-301".into(),
    };
    assert!(d.act("bo", BoardingOfficer, divert).is_err());
    assert_eq!(
        d.rule(
            "duty2",
            DutyOfficer,
            Action::DeemedAuthorization { case: 1 }
        ),
        "state"
    );
    let grant = Action::RecordAuthorization {
        case: 1,
        reference: "PA-AUTH-8".into(),
        issued_by: "Director of Merchant Marine".into(),
        measures: vec![MeasureKind::Board],
        conditions: vec![],
        valid_hours: None,
        registry_in_same_reply: false,
        message: msg("IT-2", Some("PA-12")),
    };
    assert_eq!(d.rule("duty2", DutyOfficer, grant), "state");
    assert_eq!(
        d.rule("duty2", DutyOfficer, refusal(msg("IT-2", Some("PA-13")))),
        "state"
    );
    // Rescue first: a life-saving action is still recorded.
    d.ok(
        "bo",
        BoardingOfficer,
        Action::ImminentDanger {
            case: Some(1),
            action: "took 4 persons off the sinking boat alongside".into(),
            danger: "boat taking water".into(),
            persons_at_risk: 4,
        },
    );
    let f = d.ok("duty2", DutyOfficer, Action::CloseArt8 { case: 1 });
    assert_eq!(f.art8[0].1.state, State::Closed);
}

/// Review (issue 24 session), R41: what goes to the flag State (the notification, the
/// request, the results report, a withdrawal) was never read for persons: a person who
/// fears that State, named by tag in a message's words, went to it. Every outgoing message
/// of an article-8 case is now read as an MLA request's words are.
#[test]
fn r41_a_message_to_the_flag_state_names_no_one_who_fears_it() {
    use Role::*;
    let d = desk();
    rescue_47(&d);
    d.ok(
        "prot",
        ProtectionOfficer,
        Action::Asylum {
            tag: tag_of(5),
            summary: "fears the authorities of the flag State".into(),
            blocked_states: vec!["PA".into()],
        },
    );
    d.ok("owo", WatchOfficer, open_aurora());
    let naming = |our: &str, their: Option<&str>| MessageIn {
        content: format!(
            "among those rescued, {} says he was forced on board",
            tag_of(5).to_uppercase()
        ),
        ..msg(our, their)
    };
    let notify = |message: MessageIn| Action::NotifyFlagState {
        case: 1,
        flag: "PA".into(),
        message,
    };
    assert_eq!(
        d.rule("duty1", DutyOfficer, notify(naming("IT-1", None))),
        "R41"
    );
    d.ok("duty1", DutyOfficer, notify(msg("IT-1", None)));
    d.ok(
        "duty1",
        DutyOfficer,
        Action::RegistryReply {
            case: 1,
            confirmed: true,
            message: msg("IT-1", Some("PA-9")),
        },
    );
    let request = |message: MessageIn| Action::RequestAuthorization {
        case: 1,
        measures: vec![MeasureKind::Board],
        message,
    };
    assert_eq!(
        d.rule("duty1", DutyOfficer, request(naming("IT-2", None))),
        "R41"
    );
    d.ok("duty1", DutyOfficer, request(msg("IT-2", None)));
    let withdraw = |message: MessageIn| Action::WithdrawArt8 {
        case: 1,
        reason: "the boat's crew identified; no boarding needed".into(),
        message: Some(message),
    };
    assert_eq!(
        d.rule("duty1", DutyOfficer, withdraw(naming("IT-3", None))),
        "R41"
    );
    // Another person, who fears no one, may be named.
    let other = MessageIn {
        content: format!("{} is the boat's pilot", tag_of(6)),
        ..msg("IT-3", None)
    };
    d.ok("duty1", DutyOfficer, withdraw(other));
}

/// Review (issue 24 session): a case withdrawn after its boarding ended without what closing
/// it owes: no welfare section (R12), no results report to the flag State (R10), no
/// compensation review (R13). Withdrawing is still open before a boarding, and after one
/// only once those are done.
#[test]
fn a_case_withdrawn_after_a_boarding_owes_what_closing_owes() {
    use Role::*;
    let withdraw = Action::WithdrawArt8 {
        case: 1,
        reason: "contact lost".into(),
        message: Some(msg("IT-9", None)),
    };
    let authorize = |d: &Desk| {
        d.ok(
            "duty2",
            DutyOfficer,
            Action::RecordAuthorization {
                case: 1,
                reference: "PA-AUTH-9".into(),
                issued_by: "Director of Merchant Marine".into(),
                measures: vec![MeasureKind::Board, MeasureKind::Search],
                conditions: vec![],
                valid_hours: Some(48.0),
                registry_in_same_reply: false,
                message: msg("IT-2", Some("PA-10")),
            },
        )
    };
    // Authorized, not boarded: withdrawn.
    let d = desk();
    ask_panama(&d, Timestamp::now());
    authorize(&d);
    let f = d.ok("duty1", DutyOfficer, withdraw.clone());
    assert_eq!(f.art8[0].1.state, State::Withdrawn);
    // Boarded: refused until the boarding's report and the results are done.
    let d = desk();
    ask_panama(&d, Timestamp::now());
    authorize(&d);
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Board {
            case: 1,
            unit: "cp-301".into(),
        },
    );
    assert_eq!(d.rule("duty1", DutyOfficer, withdraw.clone()), "R10");
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert_eq!(f.art8[0].1.state, State::Boarding);
}

/// Review (issue 24 session), R08: a clause's delay counted from the time a request said it
/// was sent: recorded late, stated five hours back, it was deemed at once. The delay now
/// also runs on the console's clock from when the request was recorded.
#[test]
fn r08_a_request_recorded_late_does_not_shorten_the_clauses_delay() {
    use Role::*;
    let d = desk_with_agreement();
    let h = jiff::SignedDuration::from_hours;
    let t = Timestamp::now() - h(10);
    // Notified and registry confirmed ten hours ago, as they happened.
    notify_panama(&d, t);
    // The request recorded at `t + 5 h`, saying it went at `t`.
    let at = t + h(5);
    let who = Who {
        user: "duty1".into(),
        role: DutyOfficer,
    };
    let entry = NewEntry {
        late_reason: Some("sent by phone from the bridge, logged on return".into()),
        ..entry_by("duty1", DutyOfficer, None, t)
    };
    let request = Action::RequestAuthorization {
        case: 1,
        measures: vec![MeasureKind::Board],
        message: msg("IT-2", None),
    };
    d.store
        .case_action("INC-1", &who, &request, entry, at, &d.reference)
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    let deemed = |recorded: Timestamp| {
        d.act_times(
            "duty2",
            DutyOfficer,
            Action::DeemedAuthorization { case: 1 },
            None,
            recorded,
            recorded,
        )
    };
    // An hour after it was recorded (six after its stated time): not yet.
    match deemed(at + h(1)) {
        Err(CaseRefusal::Rule(r)) => assert_eq!(r.rule, "R08", "{r}"),
        other => panic!("expected R08, got {other:?}"),
    }
    // The clause's four hours after it was recorded: deemed.
    let f =
        deemed(at + h(4) + jiff::SignedDuration::from_mins(1)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.art8[0].1.state, State::Authorized);
}

#[test]
fn r08_silence_authorizes_only_under_a_clause_of_an_agreement_in_force_and_the_log_names_it() {
    let deemed = Action::DeemedAuthorization { case: 1 };
    let rule = |d: &Desk, at: Timestamp| match d.act_times(
        "duty2",
        Role::DutyOfficer,
        deemed.clone(),
        None,
        at,
        at,
    ) {
        Err(CaseRefusal::Rule(r)) => r.rule,
        other => panic!("expected a refusal, got {other:?}"),
    };
    let now = Timestamp::now();
    let h = jiff::SignedDuration::from_hours;
    // No agreement (the shipped reference data): silence never authorizes.
    let d = desk();
    ask_panama(&d, now - h(10));
    assert_eq!(rule(&d, now), "R08");
    // With the agreement: not before the clause's 4 h…
    let d = desk_with_agreement();
    ask_panama(&d, now - h(3));
    assert_eq!(rule(&d, now), "R08");
    // …then deemed, and the case file and the log name the clause.
    let d = desk_with_agreement();
    ask_panama(&d, now - h(5));
    let f = d
        .act_times("duty2", Role::DutyOfficer, deemed.clone(), None, now, now)
        .unwrap();
    let a = f.art8[0].1.authorization.clone().unwrap();
    assert_eq!(a.deemed_under.as_deref(), Some("IT-PA-2026 §5"));
    assert_eq!(f.art8[0].1.state, State::Authorized);
    let log = d.store.interception_log("INC-1").unwrap();
    let last = &log.entries.last().unwrap().entry;
    assert_eq!(last.details["produced"]["deemed_under"], "IT-PA-2026 §5");
    assert_eq!(
        last.details["facts"]["agreement"]["clause"]["code"],
        "IT-PA-2026 §5"
    );
    // Judged on the facts recorded: the agreement's later end does not change the past.
    let mut ended = d.reference.clone();
    ended.agreements.clear();
    assert_eq!(d.store.case_file("INC-1", &ended).unwrap(), f);
    // An agreement not yet in force on the day gives nothing.
    let mut later = desk_with_agreement();
    later.reference.agreements[0].in_force_from = Some(jiff::civil::date(2100, 1, 1));
    ask_panama(&later, now - h(5));
    assert_eq!(rule(&later, now), "R08");
}

#[test]
fn r07_a_measure_outside_the_authorization_is_covered_only_by_a_clause_in_force() {
    use Role::*;
    let divert = Action::Measure {
        case: 1,
        kind: MeasureKind::DivertToPort,
        unit: "cp-301".into(),
    };
    let run = |d: &Desk| -> Result<CaseFile, CaseRefusal> {
        let now = Timestamp::now();
        ask_panama(d, now);
        d.ok(
            "duty2",
            DutyOfficer,
            Action::RecordAuthorization {
                case: 1,
                reference: "PA-AUTH-7".into(),
                issued_by: "Director of Merchant Marine".into(),
                measures: vec![MeasureKind::Board, MeasureKind::Search],
                conditions: vec![],
                valid_hours: Some(48.0),
                registry_in_same_reply: false,
                message: msg("IT-2", Some("PA-10")),
            },
        );
        d.ok(
            "bo",
            BoardingOfficer,
            Action::Board {
                case: 1,
                unit: "cp-301".into(),
            },
        );
        d.act("bo", BoardingOfficer, divert.clone())
    };
    match run(&desk()) {
        Err(CaseRefusal::Rule(r)) => assert_eq!(r.rule, "R07"),
        other => panic!("expected R07, got {other:?}"),
    }
    let d = desk_with_agreement();
    let f = run(&d).unwrap();
    assert_eq!(f.art8[0].1.measures.len(), 1);
    assert!(
        f.art8[0]
            .1
            .log
            .last()
            .unwrap()
            .what
            .contains("IT-PA-2026 §3"),
        "{:?}",
        f.art8[0].1.log.last()
    );
}

#[test]
fn r02_the_flag_states_protocol_status_is_taken_on_the_day() {
    // A State that becomes a party on 2026-12-10: a case on the 9th has no 8(2) basis with
    // it, one on the 10th has.
    let mut reference = Reference::default_demo();
    let pa = reference
        .states
        .iter_mut()
        .find(|s| s.code == "PA")
        .unwrap();
    pa.som_party_from = Some(jiff::civil::date(2026, 12, 10));
    let notify = |day: i8| {
        let d = Desk {
            store: crate::testkit::store(),
            reference: reference.clone(),
        };
        let t: Timestamp = format!("2026-12-{day:02}T12:00:00Z").parse().unwrap();
        let open = Action::OpenArt8 {
            target: "MV Aurora".into(),
            vessel_kind: VesselKind::Private,
            grounds: "going dark".into(),
        };
        d.act_times("owo", Role::WatchOfficer, open, None, t, t)
            .unwrap();
        d.act_times(
            "duty1",
            Role::DutyOfficer,
            Action::NotifyFlagState {
                case: 1,
                flag: "PA".into(),
                message: msg("IT-1", None),
            },
            None,
            t,
            t,
        )
    };
    match notify(9) {
        Err(CaseRefusal::Rule(r)) => assert_eq!(r.rule, "R02", "{r}"),
        other => panic!("expected R02, got {other:?}"),
    }
    assert!(notify(10).is_ok());
}

#[test]
fn a_whole_interception_is_one_verified_log_and_replays_to_the_same_case_file() {
    let d = desk();
    use Role::*;
    d.ok("owo", WatchOfficer, open_aurora());
    d.ok(
        "duty1",
        DutyOfficer,
        Action::NotifyFlagState {
            case: 1,
            flag: "PA".into(),
            message: msg("IT-1", None),
        },
    );
    d.ok(
        "duty1",
        DutyOfficer,
        Action::RegistryReply {
            case: 1,
            confirmed: true,
            message: msg("IT-1", Some("PA-9")),
        },
    );
    d.ok(
        "duty1",
        DutyOfficer,
        Action::RequestAuthorization {
            case: 1,
            measures: vec![
                MeasureKind::Board,
                MeasureKind::Search,
                MeasureKind::SeizeEvidence,
            ],
            message: msg("IT-2", None),
        },
    );
    let auth = Action::RecordAuthorization {
        case: 1,
        reference: "PA-AUTH-7".into(),
        issued_by: "Director of Merchant Marine".into(),
        measures: vec![
            MeasureKind::Board,
            MeasureKind::Search,
            MeasureKind::SeizeEvidence,
        ],
        conditions: vec!["Report results within 24 h".into()],
        valid_hours: Some(48.0),
        registry_in_same_reply: false,
        message: msg("IT-2", Some("PA-10")),
    };
    // R61: whoever asked cannot alone record the grant.
    assert_eq!(d.rule("duty1", DutyOfficer, auth.clone()), "R61");
    d.ok("duty2", DutyOfficer, auth);
    // R09: the commander acknowledges the condition before boarding.
    assert_eq!(
        d.rule(
            "bo",
            BoardingOfficer,
            Action::Board {
                case: 1,
                unit: "cp-301".into()
            }
        ),
        "R09"
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::AcknowledgeCondition {
            case: 1,
            condition: 1,
        },
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Board {
            case: 1,
            unit: "cp-301".into(),
        },
    );
    let f = rescue_47(&d);
    assert_eq!(f.roster.occupancy("cp-302"), 47);
    d.ok(
        "smc",
        SarCoordinator,
        Action::PlaceOfSafety {
            name: "Porto Empedocle".into(),
            state: "IT".into(),
            assisting_unit: false,
            rationale: "nearest port able to receive 47, medical team available".into(),
        },
    );
    let f = d.ok(
        "bo",
        BoardingOfficer,
        Action::Disembark {
            unit: "cp-302".into(),
        },
    );
    assert_eq!(f.disembarkations[0].tags.len(), 47);
    assert_eq!(f.roster.occupancy("cp-302"), 0);
    let sha = d
        .store
        .put_evidence_file(b"GPS track of the mother ship")
        .unwrap();
    let f = d.ok(
        "bo",
        BoardingOfficer,
        Action::Seize {
            description: "handheld GPS".into(),
            found: "wheelhouse".into(),
            seal: "S-100".into(),
            place: "cp-301 evidence locker".into(),
            files: vec![FileRef {
                name: "gps.gpx".into(),
                sha256: sha,
            }],
            case: Some(1),
            legal_basis: None,
        },
    );
    let number = f.register.exhibits.keys().next().unwrap().clone();
    d.ok(
        "bo",
        BoardingOfficer,
        Action::CustodyTransfer {
            exhibit: number.clone(),
            to: "inv".into(),
            seal: "S-100".into(),
            place: "Porto Empedocle quay".into(),
        },
    );
    let f = d.ok(
        "inv",
        Investigator,
        Action::CustodyReceive {
            exhibit: number,
            seal: "S-100".into(),
        },
    );
    assert_eq!(f.art8[0].1.state, State::Boarding);
    assert_eq!(f.register.manifests.len(), 3);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    // The log is the record: it verifies, and replaying it gives the same file.
    let log = d.store.interception_log("INC-1").unwrap();
    assert_eq!(verify(&log, None).first_break, None);
    assert_eq!(
        log.entries.len(),
        13,
        "one entry per action done, none for the two refused"
    );
    assert_eq!(d.store.case_file("INC-1", &d.reference).unwrap(), f);
    // Judged on the facts recorded with each entry: a later change of the reference
    // data (Panama's status, the fleet, the zones) does not change the past.
    let mut changed = d.reference.clone();
    changed.states.retain(|s| s.code != "PA");
    changed.units.clear();
    changed.zones.clear();
    assert_eq!(d.store.case_file("INC-1", &changed).unwrap(), f);
}

#[test]
fn r18_positions_store_their_zone_and_another_states_territorial_sea_raises_a_legal_review() {
    let d = desk();
    // An action at sea without a position is refused.
    assert_eq!(
        d.act_at(
            "bo",
            Role::BoardingOfficer,
            Action::Rescue {
                unit: "cp-302".into(),
                count: 3
            },
            None
        )
        .map(|_| ())
        .unwrap_err()
        .to_string()
        .split(':')
        .next()
        .unwrap(),
        "R18"
    );
    let f = d
        .act_at(
            "bo",
            Role::BoardingOfficer,
            Action::Rescue {
                unit: "cp-302".into(),
                count: 3,
            },
            Some(HIGH_SEAS),
        )
        .unwrap();
    assert!(f.legal_reviews.is_empty());
    let f = d
        .act_at(
            "bo",
            Role::BoardingOfficer,
            Action::Rescue {
                unit: "cp-302".into(),
                count: 2,
            },
            Some(MALTA_TS),
        )
        .unwrap();
    let log = d.store.interception_log("INC-1").unwrap();
    assert_eq!(log.entries[0].entry.zone.as_deref(), Some("high_seas"));
    assert_eq!(
        log.entries[1].entry.zone.as_deref(),
        Some("territorial_sea:MT")
    );
    assert!(log.entries[1].entry.details["legal_review"].is_string());
    assert_eq!(f.legal_reviews.len(), 1);
    assert_eq!(f.legal_reviews[0].0, 2);
    // Our own territorial sea raises none.
    let f = d
        .act_at(
            "bo",
            Role::BoardingOfficer,
            Action::Rescue {
                unit: "cp-302".into(),
                count: 1,
            },
            Some((35.5, 12.6)),
        )
        .unwrap();
    assert_eq!(f.legal_reviews.len(), 1);
}

#[test]
fn r23_no_disembarkation_before_a_place_of_safety_and_never_the_assisting_unit() {
    let d = desk();
    rescue_47(&d);
    let land = Action::Disembark {
        unit: "cp-302".into(),
    };
    assert_eq!(d.rule("bo", Role::BoardingOfficer, land.clone()), "R23");
    let pos = |name: &str, assisting_unit| Action::PlaceOfSafety {
        name: name.into(),
        state: "IT".into(),
        assisting_unit,
        rationale: "on board already".into(),
    };
    // The unit that rescued the 47 is decided from the log, whatever the form says and
    // however its name is written.
    for name in ["cp-302", "CP 302", "patrol boat CP302", " Cp-302 "] {
        assert_eq!(
            d.rule("smc", Role::SarCoordinator, pos(name, false)),
            "R23",
            "{name}"
        );
    }
    assert_eq!(
        d.rule("smc", Role::SarCoordinator, pos("Lampedusa", true)),
        "R23"
    );
    // A unit that later carries some of them is an assisting unit too.
    let f = d.ok(
        "bo",
        Role::BoardingOfficer,
        Action::TransferOut {
            tags: vec!["cp-302-0001".into()],
            from: "cp-302".into(),
            to: "MV Aurora".into(),
            reason: None,
        },
    );
    assert_eq!(f.roster.transfers.len(), 1);
    assert_eq!(
        d.rule("smc", Role::SarCoordinator, pos("mv aurora", false)),
        "R23"
    );
    // So is any vessel of the fleet.
    assert_eq!(
        d.rule("smc", Role::SarCoordinator, pos("CP-301", false)),
        "R23"
    );
    // Nothing was decided by the refusals: still no landing.
    assert_eq!(d.rule("bo", Role::BoardingOfficer, land.clone()), "R23");
    d.ok("smc", Role::SarCoordinator, pos("Porto Empedocle", false));
    d.ok("bo", Role::BoardingOfficer, land);
}

#[test]
fn r34_r37_r38_r42_persons_actions_through_the_store() {
    use Role::*;
    let d = desk();
    rescue_47(&d);
    // R42: an assessed age names its method and assessor.
    let age = |provenance| Action::Age {
        tag: tag_of(3),
        years: 15,
        provenance,
    };
    let assessed = |method: &str, by: &str| Provenance::Assessed {
        method: method.into(),
        by: by.into(),
    };
    assert_eq!(
        d.rule("prot", ProtectionOfficer, age(assessed(" ", "Dr Vella"))),
        "R42"
    );
    let f = d.ok(
        "prot",
        ProtectionOfficer,
        age(assessed("holistic interview", "Dr Vella")),
    );
    assert_eq!(f.roster.persons[&tag_of(3)].age.as_ref().unwrap().value, 15);
    d.ok("bo", BoardingOfficer, age(Provenance::Declared));
    // R38: a child alone joins adults only on the protection officer's approval, whatever
    // the order of the tags, and only theirs counts.
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Vulnerability {
            tag: tag_of(3),
            flag: Vulnerability::Uasc,
            over: false,
        },
    );
    let family = |tags: [u32; 2], approval: Option<&str>| Action::Family {
        tags: tags.iter().map(|n| tag_of(*n)).collect(),
        protection_approval: approval.map(String::from),
    };
    assert_eq!(d.rule("bo", BoardingOfficer, family([3, 4], None)), "R38");
    assert_eq!(d.rule("bo", BoardingOfficer, family([4, 3], None)), "R38");
    assert_eq!(
        d.rule("bo", BoardingOfficer, family([4, 3], Some("approved"))),
        "R38",
        "only a protection officer approves"
    );
    let f = d.ok(
        "prot",
        ProtectionOfficer,
        family([4, 3], Some("the aunt, identity confirmed by interview")),
    );
    assert_eq!(
        f.roster.persons[&tag_of(3)].family,
        f.roster.persons[&tag_of(4)].family
    );
    let f = d.ok("bo", BoardingOfficer, family([10, 11], None));
    assert_ne!(
        f.roster.persons[&tag_of(10)].family,
        f.roster.persons[&tag_of(4)].family
    );
    // R37: detention names its legal basis and the consular rights told, or why not.
    let detain = |at: Option<Timestamp>, why: Option<&str>| Action::Detain {
        tag: tag_of(20),
        legal_basis: "art. 12 d.lgs. 286/1998, order of the prosecutor".into(),
        consular_rights_informed_at: at,
        consular_not_applicable: why.map(String::from),
    };
    assert_eq!(d.rule("inv", Investigator, detain(None, None)), "R37");
    assert_eq!(d.rule("inv", Investigator, detain(None, Some(" "))), "R37");
    assert_eq!(
        d.rule(
            "inv",
            Investigator,
            detain(Some(Timestamp::now()), Some("x"))
        ),
        "R37"
    );
    assert_eq!(
        d.rule("bo", BoardingOfficer, detain(Some(Timestamp::now()), None)),
        "role"
    );
    let f = d.ok("inv", Investigator, detain(Some(Timestamp::now()), None));
    assert!(f.roster.persons[&tag_of(20)].detention.is_some());
    // R33: a transfer not received in time is alerted.
    let f = d.ok(
        "bo",
        BoardingOfficer,
        Action::TransferOut {
            tags: vec![tag_of(47)],
            from: "cp-302".into(),
            to: "cp-301".into(),
            reason: None,
        },
    );
    let later = Timestamp::now() + jiff::SignedDuration::from_hours(3);
    let alerts = f.transfer_alerts(later, tidewatch_cases::roster::TRANSFER_DUE);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].starts_with("R33"), "{alerts:?}");
    // R34: no closure while anyone is on board or in transfer…
    let close = |note: Option<&str>| Action::CloseIncident {
        reconciliation: note.map(String::from),
    };
    assert_eq!(d.rule("smc", SarCoordinator, close(None)), "R34");
    let f = d.ok(
        "bo",
        BoardingOfficer,
        Action::TransferReceived {
            transfer: 1,
            tags: vec![tag_of(47)],
        },
    );
    assert!(
        f.transfer_alerts(later, tidewatch_cases::roster::TRANSFER_DUE)
            .is_empty()
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Headcount {
            unit: "cp-302".into(),
            alive: 45,
            deceased: 0,
        },
    );
    land_everyone(&d);
    // …nor while the last headcounts and the persons tagged disagree without a note.
    assert_eq!(d.rule("smc", SarCoordinator, close(None)), "R34");
    let f = d.ok(
        "smc",
        SarCoordinator,
        close(Some(
            "two persons counted twice in the dark; tags checked at the quay",
        )),
    );
    assert!(f.closed.is_some());
    // Closed: only rescue actions are taken (a medical emergency flag is one).
    assert_eq!(
        d.rule(
            "bo",
            BoardingOfficer,
            Action::Age {
                tag: tag_of(5),
                years: 30,
                provenance: Provenance::Declared,
            }
        ),
        "R34"
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Vulnerability {
            tag: tag_of(5),
            flag: Vulnerability::MedEmerg,
            over: false,
        },
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Rescue {
            unit: "cp-301".into(),
            count: 1,
        },
    );
    // Review 23: whoever is rescued after the closure is landed too (R21), at a place of
    // safety decided then.
    d.ok(
        "smc",
        SarCoordinator,
        Action::PlaceOfSafety {
            name: "Porto Empedocle".into(),
            state: "IT".into(),
            assisting_unit: false,
            rationale: "nearest port able to receive".into(),
        },
    );
    let f = d.ok(
        "bo",
        BoardingOfficer,
        Action::Disembark {
            unit: "cp-301".into(),
        },
    );
    assert_eq!(f.disembarkations.last().unwrap().tags, vec!["cp-301-0001"]);
}

/// Review 23: a place of safety decided before a unit took part names no unit that then
/// lands persons there: the assisting unit is checked again when landing (R23).
/// R32, R34: a unit whose last headcount disagrees with the roster keeps its discrepancy
/// open until a recount agrees, and closure waits for a reconciliation note while any is
/// open, even when the totals of all units agree. Before, only the totals were compared: one
/// unit counting a person too many and another a person too few closed without a word.
#[test]
fn r32_r34_a_units_discrepancy_stays_open_until_recounted_and_totals_that_agree_do_not_hide_it() {
    use Role::*;
    let d = desk();
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Rescue {
            unit: "cp-302".into(),
            count: 10,
        },
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::TransferOut {
            tags: (6..=10).map(tag_of).collect(),
            from: "cp-302".into(),
            to: "cp-301".into(),
            reason: None,
        },
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::TransferReceived {
            transfer: 1,
            tags: (6..=10).map(tag_of).collect(),
        },
    );
    let count = |unit: &str, alive: u32| Action::Headcount {
        unit: unit.into(),
        alive,
        deceased: 0,
    };
    // Five on each; cp-302 counts six, cp-301 four: 10 in all, as tagged.
    d.ok("bo", BoardingOfficer, count("cp-302", 6));
    let f = d.ok("bo", BoardingOfficer, count("cp-301", 4));
    assert_eq!(
        f.roster.discrepancies.len(),
        2,
        "{:?}",
        f.roster.discrepancies
    );
    // A recount that agrees closes its unit's discrepancy, and only its own.
    let f = d.ok("bo", BoardingOfficer, count("cp-302", 5));
    assert_eq!(
        f.roster.discrepancies.keys().collect::<Vec<_>>(),
        ["cp-301"]
    );
    let f = d.ok("bo", BoardingOfficer, count("cp-301", 5));
    assert!(f.roster.discrepancies.is_empty());
    // Counted wrong again, the last counts total 10, as tagged.
    d.ok("bo", BoardingOfficer, count("cp-302", 6));
    d.ok("bo", BoardingOfficer, count("cp-301", 4));
    land_everyone(&d);
    let close = |note: Option<&str>| Action::CloseIncident {
        reconciliation: note.map(String::from),
    };
    match d.act("smc", SarCoordinator, close(None)) {
        Err(CaseRefusal::Rule(r)) => {
            assert_eq!(r.rule, "R34", "{r}");
            assert!(r.to_string().contains("cp-30"), "{r}");
        }
        other => panic!("closed over two units' discrepancies: {other:?}"),
    }
    let f = d.ok(
        "smc",
        SarCoordinator,
        close(Some(
            "counted at the quay by name: the man counted on cp-302 was on cp-301",
        )),
    );
    assert!(f.closed.is_some());
}

#[test]
fn review_23_a_place_named_before_its_ship_rescued_is_refused_when_landing() {
    use Role::*;
    let d = desk();
    d.ok(
        "smc",
        SarCoordinator,
        Action::PlaceOfSafety {
            name: "MV Aurora".into(),
            state: "MT".into(),
            assisting_unit: false,
            rationale: "the merchant ship standing by".into(),
        },
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Rescue {
            unit: "MV Aurora".into(),
            count: 30,
        },
    );
    let land = Action::Disembark {
        unit: "MV Aurora".into(),
    };
    assert_eq!(d.rule("bo", BoardingOfficer, land.clone()), "R23");
    d.ok(
        "smc",
        SarCoordinator,
        Action::PlaceOfSafety {
            name: "Valletta".into(),
            state: "MT".into(),
            assisting_unit: false,
            rationale: "the port the RCC assigned".into(),
        },
    );
    let f = d.ok("bo", BoardingOfficer, land);
    assert_eq!(f.disembarkations[0].port, "Valletta");
}

/// Review 23: States are named by their ISO code wherever a rule compares them, so a name
/// cannot slip past the States a person fears (R24, R41).
#[test]
fn review_23_states_are_codes_so_a_feared_state_cannot_be_spelled_past() {
    use Role::*;
    let d = desk();
    rescue_47(&d);
    assert_eq!(
        d.rule(
            "prot",
            ProtectionOfficer,
            Action::Asylum {
                tag: tag_of(5),
                summary: "fears return".into(),
                blocked_states: vec!["Libya".into()],
            }
        ),
        "R24"
    );
    d.ok(
        "prot",
        ProtectionOfficer,
        Action::Asylum {
            tag: tag_of(5),
            summary: "fears return".into(),
            blocked_states: vec!["ly".into()],
        },
    );
    let place = |state: &str| Action::PlaceOfSafety {
        name: "Tripoli".into(),
        state: state.into(),
        assisting_unit: false,
        rationale: "closest".into(),
    };
    assert_eq!(d.rule("smc", SarCoordinator, place("Libya")), "R24");
    d.ok("smc", SarCoordinator, place("LY"));
    assert_eq!(
        d.rule(
            "bo",
            BoardingOfficer,
            Action::Disembark {
                unit: "cp-302".into()
            }
        ),
        "R24"
    );
}

#[test]
fn r25_no_screening_or_interview_is_ever_a_condition_of_disembarkation() {
    use Role::*;
    let d = desk();
    rescue_47(&d);
    // A suspect decision, an interview not yet held, a person who asked for protection:
    // none of it holds anyone on board.
    d.ok(
        "inv",
        Investigator,
        Action::Suspect {
            tag: tag_of(9),
            offences: vec![Offence::Smuggling],
            grounds: "seen steering by three witnesses".into(),
        },
    );
    d.ok(
        "prot",
        ProtectionOfficer,
        Action::Asylum {
            tag: tag_of(10),
            summary: "fears persecution at home".into(),
            blocked_states: vec!["ER".into()],
        },
    );
    d.ok(
        "smc",
        SarCoordinator,
        Action::PlaceOfSafety {
            name: "Porto Empedocle".into(),
            state: "IT".into(),
            assisting_unit: false,
            rationale: "assigned by the RCC".into(),
        },
    );
    let f = d.ok(
        "bo",
        BoardingOfficer,
        Action::Disembark {
            unit: "cp-302".into(),
        },
    );
    assert!(f.interviews.is_empty(), "no interview was held");
    assert_eq!(f.disembarkations[0].tags.len(), 47, "everyone landed");
    assert_eq!(f.roster.occupancy("cp-302"), 0);
}

/// The RCC assigns Porto Empedocle, and cp-302 and cp-301 land everyone on board.
fn land_everyone(d: &Desk) {
    d.ok(
        "smc",
        Role::SarCoordinator,
        Action::PlaceOfSafety {
            name: "Porto Empedocle".into(),
            state: "IT".into(),
            assisting_unit: false,
            rationale: "assigned by the RCC".into(),
        },
    );
    for unit in ["cp-302", "cp-301"] {
        d.ok(
            "bo",
            Role::BoardingOfficer,
            Action::Disembark { unit: unit.into() },
        );
    }
}

/// 47 rescued on cp-302, of whom cp-302-0005 asked for protection from Libya and Tunisia;
/// the RCC names Tripoli.
fn tripoli_for_one_who_fears_libya() -> Desk {
    let d = desk();
    rescue_47(&d);
    d.ok(
        "prot",
        Role::ProtectionOfficer,
        Action::Asylum {
            tag: "cp-302-0005".into(),
            summary: "fears return to Libya and to Tunisia".into(),
            blocked_states: vec!["ly".into(), "TN".into()],
        },
    );
    d.ok(
        "smc",
        Role::SarCoordinator,
        Action::PlaceOfSafety {
            name: "Tripoli".into(),
            state: "LY".into(),
            assisting_unit: false,
            rationale: "closest".into(),
        },
    );
    d
}

fn tag_of(n: u32) -> String {
    format!("cp-302-{n:04}")
}

#[test]
fn r24_a_person_who_fears_a_state_is_not_disembarked_there_without_an_override() {
    let d = tripoli_for_one_who_fears_libya();
    let land = Action::Disembark {
        unit: "cp-302".into(),
    };
    assert_eq!(d.rule("bo", Role::BoardingOfficer, land.clone()), "R24");
    // Nobody landed: the refusal changed nothing.
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert_eq!(f.roster.occupancy("cp-302"), 47);
    d.ok(
        "prot",
        Role::ProtectionOfficer,
        Action::ProtectionOverride {
            tag: "cp-302-0005".into(),
            state: "LY".into(),
            justification: "the person withdrew the fear after counselling, recorded".into(),
        },
    );
    d.ok("bo", Role::BoardingOfficer, land);
}

/// R24 with R40: the refusal to land a person in a State they fear goes to whoever tried
/// (the boarding officer, and a crew at sea over the bus), who may not know who asked for
/// protection: it names neither the person nor any other State they fear. Before, it named
/// the person's tag.
#[test]
fn r24_the_refusal_to_land_names_no_one_who_asked_for_protection() {
    let d = tripoli_for_one_who_fears_libya();
    let land = Action::Disembark {
        unit: "cp-302".into(),
    };
    match d.act("bo", Role::BoardingOfficer, land) {
        Err(CaseRefusal::Rule(r)) => {
            assert_eq!(r.rule, "R24");
            let said = r.to_string();
            for secret in ["cp-302-0005", "0005", "TN"] {
                assert!(!said.contains(secret), "the refusal names {secret}: {said}");
            }
            assert!(said.contains("protection officer"), "{said}");
        }
        other => panic!("landed in a feared State: {other:?}"),
    }
}

#[test]
fn r40_what_a_person_said_when_asking_for_protection_is_for_the_protection_officer() {
    let d = desk();
    rescue_47(&d);
    // Only the protection officer records it.
    let asylum = Action::Asylum {
        tag: "cp-302-0001".into(),
        summary: "fears persecution".into(),
        blocked_states: vec!["ER".into()],
    };
    assert_eq!(d.rule("inv", Role::Investigator, asylum.clone()), "role");
    let f = d.ok("prot", Role::ProtectionOfficer, asylum);
    let inv = f.roster.view("cp-302-0001", Viewer::Investigator).unwrap();
    assert!(inv.asylum_expressed && inv.asylum.is_none());
    let prot = f
        .roster
        .view("cp-302-0001", Viewer::ProtectionOfficer)
        .unwrap();
    assert_eq!(prot.asylum.unwrap().summary, "fears persecution");
}

#[test]
fn r53_an_mla_request_is_sent_only_with_the_contents_untoc_18_15_requires() {
    let d = desk();
    let req = |facts: &str, service: bool| Action::MlaRequest {
        to: "Ministry of Justice, Panama".into(),
        our_ref: "MLA-2026-7".into(),
        requesting_authority: "Procura di Agrigento".into(),
        subject_and_nature: "smuggling of migrants, art. 6 SOM; prosecutor R. Conti".into(),
        facts_summary: facts.into(),
        assistance_sought: "ship's registry file and owner records".into(),
        persons_concerned: None,
        purpose: "identify the beneficial owner".into(),
        service_of_documents: service,
        persons: vec![],
        state: "PA".into(),
    };
    let r = d
        .act("inv", Role::Investigator, req("", false))
        .unwrap_err();
    assert!(
        r.to_string().starts_with("R53") && r.to_string().contains("facts_summary"),
        "{r}"
    );
    // Serving documents needs no summary of facts.
    d.ok("inv", Role::Investigator, req("", true));
    let f = d.ok(
        "inv",
        Role::Investigator,
        req("met a rubber boat at sea…", false),
    );
    assert_eq!(f.mla_requests.len(), 2);
}

#[test]
fn r54_interviews_name_the_interpreter_when_needed_and_say_whether_legal_advice_was_given() {
    let d = desk();
    rescue_47(&d);
    let iv =
        |interpreter: Option<Interpreter>, advice: Option<bool>, as_suspect| Action::Interview {
            tag: "cp-302-0003".into(),
            as_suspect,
            language: "tigrinya".into(),
            interviewer_languages: vec!["italian".into(), "english".into()],
            interpreter,
            legal_advice_given: advice,
            recording_sha256: None,
        };
    assert_eq!(
        d.rule("inv", Role::Investigator, iv(None, Some(true), false)),
        "R54"
    );
    let int = Interpreter {
        language: "tigrinya".into(),
        id: "A. Tesfaye, court register 118".into(),
    };
    assert_eq!(
        d.rule(
            "inv",
            Role::Investigator,
            iv(Some(int.clone()), None, false)
        ),
        "R54"
    );
    // A suspect interview needs the suspect decision first (R36).
    assert_eq!(
        d.rule(
            "inv",
            Role::Investigator,
            iv(Some(int.clone()), Some(true), true)
        ),
        "R36"
    );
    let f = d.ok("inv", Role::Investigator, iv(Some(int), Some(false), false));
    assert_eq!(f.interviews.len(), 1);
}

#[test]
fn r41_no_personal_data_of_a_person_who_asked_for_protection_goes_to_a_state_they_fear() {
    let d = desk();
    rescue_47(&d);
    d.ok(
        "prot",
        Role::ProtectionOfficer,
        Action::Asylum {
            tag: "cp-302-0005".into(),
            summary: "fears detention on return".into(),
            blocked_states: vec!["ly".into()],
        },
    );
    let item = |persons: Vec<&str>| Action::InfoItem {
        content: "identity documents found on two passengers".into(),
        evidence: true,
        originator: "IT".into(),
        originator_ref: "IT-GDF-9".into(),
        purposes: vec!["investigation".into()],
        recipients: vec!["LY".into(), "MT".into()],
        no_further_dissemination: false,
        exculpatory: false,
        content_sha256: None,
        persons: persons.into_iter().map(String::from).collect(),
    };
    assert_eq!(
        d.rule("inv", Role::Investigator, item(vec!["cp-302-9999"])),
        "roster"
    );
    d.ok(
        "inv",
        Role::Investigator,
        item(vec!["cp-302-0004", "cp-302-0005"]),
    );
    let release = |to: &str| Action::Release {
        item: "IX-1".into(),
        to_state: to.into(),
    };
    // The caveat allows Libya; the person's fear does not (whatever the case of the code).
    for to in ["LY", " ly "] {
        assert_eq!(
            d.rule("inv", Role::Investigator, release(to)),
            "R41",
            "{to}"
        );
    }
    let f = d.ok("inv", Role::Investigator, release("MT"));
    assert_eq!(f.items[0].releases.len(), 1);
    // An MLA request naming the person goes nowhere they fear, and names where it goes.
    let mla = |state: &str| Action::MlaRequest {
        to: "Ministry of Justice".into(),
        our_ref: "MLA-2026-9".into(),
        requesting_authority: "Procura di Agrigento".into(),
        subject_and_nature: "smuggling of migrants, art. 6 SOM".into(),
        facts_summary: "boat intercepted with 47 persons".into(),
        assistance_sought: "statements of the crew".into(),
        persons_concerned: Some("cp-302-0005, a witness".into()),
        purpose: "identify the organisers".into(),
        service_of_documents: false,
        persons: vec!["cp-302-0005".into()],
        state: state.into(),
    };
    assert_eq!(d.rule("inv", Role::Investigator, mla("LY")), "R41");
    assert_eq!(d.rule("inv", Role::Investigator, mla(" ")), "R41");
    d.ok("inv", Role::Investigator, mla("MT"));
    // Review (issue 24 session): the person named only in the request's words, not in its
    // list of persons, went anywhere; so did a request naming no State at all. Every word
    // of it is read for the tags of the roster, in any case, and it names its State.
    let in_words = |state: &str, where_: usize| {
        let mut texts: Vec<String> = vec!["".into(); 3];
        texts[where_] = "witness CP-302-0005 saw the organiser".into();
        Action::MlaRequest {
            to: "Ministry of Justice".into(),
            our_ref: "MLA-2026-10".into(),
            requesting_authority: "Procura di Agrigento".into(),
            subject_and_nature: "smuggling of migrants, art. 6 SOM".into(),
            facts_summary: format!("boat intercepted with 47 persons. {}", texts[0]),
            assistance_sought: format!("statements of the crew {}", texts[1]),
            persons_concerned: Some(texts[2].clone()),
            purpose: "identify the organisers".into(),
            service_of_documents: false,
            persons: vec![],
            state: state.into(),
        }
    };
    for where_ in 0..3 {
        assert_eq!(
            d.rule("inv", Role::Investigator, in_words("LY", where_)),
            "R41",
            "{where_}"
        );
        assert_eq!(
            d.rule("inv", Role::Investigator, in_words("", where_)),
            "R41",
            "{where_}"
        );
        d.ok("inv", Role::Investigator, in_words("MT", where_));
    }
    // A fear recorded after a release closes what was released: the liaison's read of it
    // is refused (the path GET /api/released takes).
    d.ok(
        "prot",
        Role::ProtectionOfficer,
        Action::Asylum {
            tag: "cp-302-0004".into(),
            summary: "fears the smugglers' network in Malta".into(),
            blocked_states: vec!["MT".into()],
        },
    );
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    let read = |state: &str| {
        f.read_item(
            &f.items[0],
            &tidewatch_cases::caveat::Request {
                user: "liaison".into(),
                state: state.into(),
                liaison: true,
                purpose: tidewatch_cases::caveat::Purpose::Investigation("INC-1".into()),
                action: tidewatch_cases::caveat::Action::Read,
            },
            Timestamp::now(),
        )
    };
    assert_eq!(read("MT").denied.map(|(rule, _)| rule), Some("R41".into()));
}

#[test]
fn r50_an_item_is_released_only_to_a_state_its_caveat_permits() {
    let d = desk();
    let f = d.ok(
        "inv",
        Role::Investigator,
        Action::InfoItem {
            content: "the mother ship's owner is under investigation in Malta".into(),
            evidence: false,
            originator: "mt".into(),
            originator_ref: "MT-POL-2026-55".into(),
            purposes: vec!["investigation".into()],
            recipients: vec!["GR".into()],
            no_further_dissemination: false,
            exculpatory: false,
            content_sha256: None,
            persons: vec![],
        },
    );
    assert_eq!(f.items[0].id, "IX-1");
    // The content is out of the log, which keeps its hash; the case file has it.
    let log = serde_json::to_string(&d.store.interception_log("INC-1").unwrap()).unwrap();
    assert!(!log.contains("under investigation in Malta") && log.contains("content_sha256"));
    assert!(f.items[0].content.contains("under investigation in Malta"));
    let release = |to: &str| Action::Release {
        item: "IX-1".into(),
        to_state: to.into(),
    };
    assert_eq!(d.rule("inv", Role::Investigator, release("LY")), "R50");
    let f = d.ok("inv", Role::Investigator, release("gr"));
    assert_eq!(f.items[0].releases[0].0, "GR");
    // A purpose not permitted needs the originator's consent (R50).
    assert_eq!(
        d.rule(
            "inv",
            Role::Investigator,
            Action::OriginatorConsent {
                item: "IX-1".into(),
                purpose: "prosecution".into(),
                reference: " ".into(),
            }
        ),
        "R50"
    );
}

#[test]
fn r40_what_a_person_said_stays_out_of_the_log_which_keeps_its_hash() {
    let d = desk();
    rescue_47(&d);
    d.ok(
        "prot",
        Role::ProtectionOfficer,
        Action::Asylum {
            tag: "cp-302-0002".into(),
            summary: "fled forced conscription".into(),
            blocked_states: vec!["ER".into()],
        },
    );
    let log = d.store.interception_log("INC-1").unwrap();
    let text = serde_json::to_string(&log).unwrap();
    assert!(
        !text.contains("conscription") && !text.contains("\"ER\""),
        "{text}"
    );
    assert!(text.contains("asylum_restricted"));
    // The case file, replayed, has it again, for the protection officer.
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    let p = f
        .roster
        .view("cp-302-0002", Viewer::ProtectionOfficer)
        .unwrap();
    assert_eq!(p.asylum.unwrap().blocked_states, ["ER"]);
    // Changing the restricted record is found.
    d.store.unguard_for_tests("restricted_records");
    d.store.tamper_for_tests(
        "UPDATE restricted_records SET json = replace(json, 'ER', 'SD')",
        params![],
    );
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert!(
        f.problems.iter().any(|p| p.contains("R40")),
        "{:?}",
        f.problems
    );
    // Until it is resolved, only rescue actions are taken: landing people on a state
    // that may be wrong is refused, rescuing more is not (R21).
    assert_eq!(
        d.rule(
            "smc",
            Role::SarCoordinator,
            Action::PlaceOfSafety {
                name: "Tripoli".into(),
                state: "LY".into(),
                assisting_unit: false,
                rationale: "closest".into(),
            }
        ),
        "R56"
    );
    d.ok(
        "bo",
        Role::BoardingOfficer,
        Action::Rescue {
            unit: "cp-302".into(),
            count: 2,
        },
    );
}

#[test]
fn r17_a_request_where_we_are_the_flag_state_is_answered_within_the_sla_or_alerted() {
    let d = desk();
    let f = d.ok(
        "duty1",
        Role::DutyOfficer,
        Action::IncomingRequest {
            requesting_state: "GR".into(),
            authority: "HCG JRCC Piraeus".into(),
            their_ref: "GR-2026-88".into(),
            our_ref: "IT-IN-12".into(),
        },
    );
    let now = Timestamp::now();
    let sla = jiff::SignedDuration::from_secs_f64(d.reference.incoming_sla_h * 3600.0);
    assert!(f.sla_alerts(now, sla).is_empty());
    assert_eq!(
        f.sla_alerts(now + sla + jiff::SignedDuration::from_mins(1), sla)
            .len(),
        1
    );
    // A vessel our registry does not confirm is not authorized as ours.
    d.ok(
        "duty1",
        Role::DutyOfficer,
        Action::IncomingRegistry {
            request: 1,
            result: tidewatch_cases::flag_state::RegistryResult::NotEntitled,
            evidence: "no entry under that name or IMO number".into(),
        },
    );
    assert_eq!(
        d.rule(
            "duty1",
            Role::DutyOfficer,
            Action::IncomingDecision {
                request: 1,
                measures: vec![MeasureKind::Board],
                conditions: vec![],
                jurisdiction_reserved: false,
            }
        ),
        "R03"
    );
    d.ok(
        "duty1",
        Role::DutyOfficer,
        Action::IncomingDecision {
            request: 1,
            measures: vec![],
            conditions: vec![],
            jurisdiction_reserved: false,
        },
    );
    let f = d.ok(
        "duty1",
        Role::DutyOfficer,
        Action::IncomingRespond { request: 1 },
    );
    assert!(f.sla_alerts(now, sla).is_empty(), "answered in time");
}

#[test]
fn r59_the_auditor_changes_nothing() {
    let d = desk();
    for a in [
        Action::Rescue {
            unit: "cp-302".into(),
            count: 1,
        },
        Action::OpenArt8 {
            target: "x".into(),
            vessel_kind: VesselKind::Private,
            grounds: "y".into(),
        },
    ] {
        assert_eq!(d.rule("aud", Role::Auditor, a), "R59");
    }
    assert!(
        d.store
            .interception_log("INC-1")
            .unwrap()
            .entries
            .is_empty()
    );
}

#[test]
fn r60_operations_roles_do_not_handle_evidence_and_the_investigator_does_not_coordinate_rescue() {
    let d = desk();
    let sha = d.store.put_evidence_file(b"photo").unwrap();
    let seize = Action::Seize {
        description: "phone".into(),
        found: "deck".into(),
        seal: "S-1".into(),
        place: "locker".into(),
        files: vec![FileRef {
            name: "p.jpg".into(),
            sha256: sha,
        }],
        case: None,
        legal_basis: Some("coastal State warrant 12/2026".into()),
    };
    assert_eq!(d.rule("owo", Role::WatchOfficer, seize.clone()), "R60");
    assert_eq!(d.rule("smc", Role::SarCoordinator, seize.clone()), "R60");
    assert_eq!(
        d.rule(
            "inv",
            Role::Investigator,
            Action::Rescue {
                unit: "cp-302".into(),
                count: 4
            }
        ),
        "R60"
    );
    d.ok("bo", Role::BoardingOfficer, seize);
}

#[test]
fn r02_the_flag_states_status_comes_from_reference_data_on_the_case_date() {
    let d = desk();
    d.ok(
        "owo",
        Role::WatchOfficer,
        Action::OpenArt8 {
            target: "MV X".into(),
            vessel_kind: VesselKind::Private,
            grounds: "transshipment".into(),
        },
    );
    for flag in ["XX", "ZZ"] {
        assert_eq!(
            d.rule(
                "duty1",
                Role::DutyOfficer,
                Action::NotifyFlagState {
                    case: 1,
                    flag: flag.into(),
                    message: msg("IT-1", None),
                }
            ),
            "R02",
            "{flag}"
        );
    }
}

/// The boarding officer seizes one file, `name` holding `bytes`: its hash and the case file.
fn seize_one_file(d: &Desk, name: &str, bytes: &[u8]) -> (String, CaseFile) {
    let sha = d.store.put_evidence_file(bytes).unwrap();
    let f = d.ok(
        "bo",
        Role::BoardingOfficer,
        seize_files(vec![FileRef {
            name: name.into(),
            sha256: sha.clone(),
        }]),
    );
    (sha, f)
}

fn seize_files(files: Vec<FileRef>) -> Action {
    Action::Seize {
        description: "phone".into(),
        found: "deck".into(),
        seal: "S-1".into(),
        place: "locker".into(),
        files,
        case: None,
        legal_basis: Some("warrant 12/2026".into()),
    }
}

/// R44: an exhibit is held on a stated legal basis: a blank one states none. Before, a
/// `legal_basis` of spaces was taken as the basis of a seizure made under no art-8 case.
#[test]
fn r44_an_exhibit_seized_on_a_blank_legal_basis_is_refused() {
    let d = desk();
    let sha = d.store.put_evidence_file(b"photo of the log book").unwrap();
    let with = |basis: Option<&str>| {
        let mut a = seize_files(vec![FileRef {
            name: "log.jpg".into(),
            sha256: sha.clone(),
        }]);
        if let Action::Seize { legal_basis, .. } = &mut a {
            *legal_basis = basis.map(String::from);
        }
        a
    };
    for blank in [None, Some(""), Some("  \t ")] {
        assert_eq!(
            d.rule("bo", Role::BoardingOfficer, with(blank)),
            "R44",
            "{blank:?}"
        );
    }
    let f = d.ok("bo", Role::BoardingOfficer, with(Some(" warrant 12/2026 ")));
    assert_eq!(f.register.exhibits.len(), 1);
}

#[test]
fn r46_a_seal_mismatch_is_refused_and_its_integrity_incident_outlives_the_refusal() {
    let d = desk();
    let sha = d
        .store
        .put_evidence_file(b"photo of the engine plate")
        .unwrap();
    let f = d.ok(
        "bo",
        Role::BoardingOfficer,
        seize_files(vec![FileRef {
            name: "plate.jpg".into(),
            sha256: sha,
        }]),
    );
    let number = f.register.exhibits.keys().next().unwrap().clone();
    let hand_over = |seal: &str| Action::CustodyTransfer {
        exhibit: number.clone(),
        to: "inv".into(),
        seal: seal.into(),
        place: "quay".into(),
    };
    let entries = |d: &Desk| d.store.interception_log("INC-1").unwrap().entries;
    assert_eq!(entries(&d).len(), 1);
    // Sealed S-1, seen as S-9: refused, and the incident is in the log, in the name of who
    // found it, and in the case file as replayed from it.
    assert_eq!(d.rule("bo", Role::BoardingOfficer, hand_over("S-9")), "R46");
    let log = entries(&d);
    assert_eq!(log.len(), 2, "the refusal left the incident's entry");
    let e = &log[1].entry;
    assert_eq!(e.actor.user, "bo");
    assert_eq!(e.details[DETAILS_KEY]["type"], "integrity_incident");
    assert_eq!(e.details[DETAILS_KEY]["exhibit"], number.as_str());
    assert_eq!(e.details[DETAILS_KEY]["rule"], "R46");
    assert!(e.why.contains("S-9") && e.why.contains("S-1"), "{}", e.why);
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert_eq!(f.register.incidents.len(), 1, "{:?}", f.register.incidents);
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    // Nothing else changed: the exhibit is still held by the officer, under S-1.
    assert_eq!(f.register.exhibits[&number].holder(), ("bo", "S-1"));
    // A client cannot write or forge one.
    let forged = Action::IntegrityIncident {
        exhibit: number.clone(),
        problem: "nothing".into(),
        rule: "R46".into(),
    };
    assert_eq!(d.rule("bo", Role::BoardingOfficer, forged), "R46");
    assert_eq!(entries(&d).len(), 2);
    // Opened and resealed with a reason, the new seal is the one expected next.
    let reseal = |reason: &str| Action::Reseal {
        exhibit: number.clone(),
        seal: "S-2".into(),
        reason: reason.into(),
    };
    assert_eq!(d.rule("bo", Role::BoardingOfficer, reseal(" ")), "R46");
    assert_eq!(
        d.rule("inv", Role::Investigator, reseal("examined")),
        "R45",
        "only the holder reseals"
    );
    d.ok(
        "bo",
        Role::BoardingOfficer,
        reseal("opened to photograph the serial"),
    );
    assert_eq!(d.rule("bo", Role::BoardingOfficer, hand_over("S-1")), "R46");
    d.ok("bo", Role::BoardingOfficer, hand_over("S-2"));
    let f = d.ok(
        "inv",
        Role::Investigator,
        Action::CustodyReceive {
            exhibit: number.clone(),
            seal: "S-2".into(),
        },
    );
    assert_eq!(f.register.incidents.len(), 2);
    assert_eq!(d.store.case_file("INC-1", &d.reference).unwrap(), f);
}

#[test]
fn an_evidence_file_altered_in_the_store_is_found_by_verify_and_when_it_changes_hands() {
    let d = desk();
    let (sha, f) = seize_one_file(&d, "p.jpg", b"original photo");
    assert!(d.store.evidence_problems(&f).unwrap().is_empty());
    d.store.unguard_for_tests("evidence_files");
    d.store.tamper_for_tests(
        "UPDATE evidence_files SET bytes = ?1 WHERE sha256 = ?2",
        params![vec![0u8], sha],
    );
    // Reading the case file does not re-read evidence bytes (review 17, hole 3)…
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    // …verifying the store does (tidewatch verify), and so does a hand-over (R47).
    let p = d.store.evidence_problems(&f).unwrap();
    assert!(
        p.iter().any(|p| p.contains("R48") && p.contains("p.jpg")),
        "{p:?}"
    );
    let number = f.register.exhibits.keys().next().unwrap().clone();
    assert_eq!(
        d.rule(
            "bo",
            Role::BoardingOfficer,
            Action::CustodyTransfer {
                exhibit: number.clone(),
                to: "inv".into(),
                seal: "S-1".into(),
                place: "quay".into(),
            }
        ),
        "R47"
    );
    // Review (issue 24 session): opening and resealing it signed a new manifest with the
    // hashes taken at seizure, never reading the file: the altered photo went on under a
    // fresh seal and signature. It is re-verified now, refused, and the incident kept.
    let incidents = |d: &Desk| {
        d.store
            .interception_log("INC-1")
            .unwrap()
            .entries
            .iter()
            .filter(|e| e.entry.details[DETAILS_KEY]["type"] == "integrity_incident")
            .count()
    };
    let before = incidents(&d);
    assert_eq!(
        d.rule(
            "bo",
            Role::BoardingOfficer,
            Action::Reseal {
                exhibit: number,
                seal: "S-2".into(),
                reason: "opened to photograph the engine plate".into(),
            }
        ),
        "R47"
    );
    assert_eq!(incidents(&d), before + 1);
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    let ex = f.register.exhibits.values().next().unwrap();
    assert!(
        ex.custody.iter().all(|c| c.seal != "S-2"),
        "{:?}",
        ex.custody
    );
}

/// Review (issue 24 session), R47: an export comes after the incident is closed, and what
/// its check finds must still be reported, but a closed incident refused every action but
/// rescue, the integrity incident included (R34). It is recorded after closure; nothing
/// else changes there.
#[test]
fn an_integrity_incident_is_recorded_after_the_incident_is_closed() {
    let d = desk();
    let (_, f) = seize_one_file(&d, "hull.jpg", b"photo of the hull");
    let exhibit = f.register.exhibits.keys().next().unwrap().clone();
    let f = d.ok(
        "smc",
        Role::SarCoordinator,
        Action::CloseIncident {
            reconciliation: None,
        },
    );
    assert!(f.closed.is_some());
    let reseal = Action::Reseal {
        exhibit: exhibit.clone(),
        seal: "S-2".into(),
        reason: "opened".into(),
    };
    assert_eq!(d.rule("bo", Role::BoardingOfficer, reseal), "R34");
    let problem = format!("{exhibit}: file hull.jpg hashes to 00, not the one taken at capture");
    let found = Action::IntegrityIncident {
        exhibit,
        problem: problem.clone(),
        rule: "R47".into(),
    };
    // No client records one (R46)…
    assert_eq!(d.rule("inv", Role::Investigator, found.clone()), "R46");
    // …the store does, as the investigator's export found it.
    let now = Timestamp::now();
    let who = Who {
        user: "inv".into(),
        role: Role::Investigator,
    };
    let entry = entry_by("inv", Role::Investigator, None, now);
    let (_, f) = d
        .store
        .found_integrity_incident("INC-1", &who, &found, entry, now, &d.reference)
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(f.register.incidents, std::slice::from_ref(&problem));
    // Replayed from the log, the same.
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.register.incidents, [problem]);
}

/// The hash of the restricted record an asylum action left in the log.
fn asylum_record_sha(d: &Desk, incident: &str) -> String {
    let log = d.store.interception_log(incident).unwrap();
    log.entries
        .iter()
        .find_map(|e| e.entry.details[DETAILS_KEY]["record_sha256"].as_str())
        .expect("an asylum entry")
        .to_owned()
}

#[test]
fn review_17_1_a_client_never_names_a_restricted_record() {
    let d = desk();
    rescue_47(&d);
    d.ok(
        "prot",
        Role::ProtectionOfficer,
        Action::Asylum {
            tag: "cp-302-0002".into(),
            summary: "fled forced conscription".into(),
            blocked_states: vec!["ER".into()],
        },
    );
    let sha = asylum_record_sha(&d, "INC-1");
    // The attack the review made: an item that names the asylum record, then released.
    let item = |content: &str| Action::InfoItem {
        content: content.into(),
        evidence: false,
        originator: "MT".into(),
        originator_ref: "MT-1".into(),
        purposes: vec!["investigation".into()],
        recipients: vec!["GR".into()],
        no_further_dissemination: false,
        exculpatory: false,
        content_sha256: Some(sha.clone()),
        persons: vec![],
    };
    for content in ["", "anything"] {
        assert_eq!(d.rule("inv", Role::Investigator, item(content)), "R40");
    }
    assert_eq!(
        d.rule(
            "prot",
            Role::ProtectionOfficer,
            Action::AsylumRestricted {
                tag: "cp-302-0003".into(),
                record_sha256: sha.clone(),
            }
        ),
        "R40"
    );
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert!(
        f.items.is_empty() && f.problems.is_empty(),
        "{:?}",
        f.problems
    );
    // The same words in another incident make another record: salted, bound to its
    // incident and kind, its hash confirms no guess.
    let other = Who {
        user: "prot".into(),
        role: Role::ProtectionOfficer,
    };
    let now = Timestamp::now();
    let mut e = entry_by("bo", Role::BoardingOfficer, Some(HIGH_SEAS), now);
    let bo = Who {
        user: "bo".into(),
        role: Role::BoardingOfficer,
    };
    d.store
        .case_action(
            "INC-2",
            &bo,
            &Action::Rescue {
                unit: "cp-302".into(),
                count: 3,
            },
            e.clone(),
            now,
            &d.reference,
        )
        .unwrap()
        .unwrap();
    e.actor.user = "prot".into();
    e.actor.role = "protection_officer".into();
    e.why = "asked for protection".into();
    d.store
        .case_action(
            "INC-2",
            &other,
            &Action::Asylum {
                tag: "cp-302-0002".into(),
                summary: "fled forced conscription".into(),
                blocked_states: vec!["ER".into()],
            },
            e,
            now,
            &d.reference,
        )
        .unwrap()
        .unwrap();
    assert_ne!(asylum_record_sha(&d, "INC-2"), sha);
    assert_ne!(
        sha,
        crate::console::store::sha256_hex(
            serde_json::to_string(&RestrictedAsylum {
                summary: "fled forced conscription".into(),
                blocked_states: vec!["ER".into()],
            })
            .unwrap()
            .as_bytes()
        ),
        "a guess of what was said cannot be confirmed from the hash"
    );
}

#[test]
fn review_17_3_one_file_listed_many_times_is_refused_and_reads_never_load_evidence() {
    let d = desk();
    let sha = d.store.put_evidence_file(&vec![7u8; 1 << 20]).unwrap();
    let many: Vec<FileRef> = (0..100)
        .map(|i| FileRef {
            name: format!("copy-{i}.jpg"),
            sha256: sha.clone(),
        })
        .collect();
    assert_eq!(
        d.rule("bo", Role::BoardingOfficer, seize_files(many)),
        "R48"
    );
    let f = d.ok(
        "bo",
        Role::BoardingOfficer,
        seize_files(vec![FileRef {
            name: "once.jpg".into(),
            sha256: sha.clone(),
        }]),
    );
    let ex = f.register.exhibits.values().next().unwrap();
    assert_eq!(ex.files[0].size, 1 << 20, "its size, from the store");
    // A replay does not read evidence bytes: with the bytes gone from the store (as if
    // they were huge and slow), the case file still reads, complete.
    d.store.unguard_for_tests("evidence_files");
    d.store.tamper_for_tests(
        "UPDATE evidence_files SET bytes = ?1",
        params![Vec::<u8>::new()],
    );
    let again = d.store.case_file("INC-1", &d.reference).unwrap();
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert_eq!(again.register.manifests, f.register.manifests);
    // Verifying the store reads them, and finds the change.
    assert!(!d.store.evidence_problems(&again).unwrap().is_empty());
}

#[test]
fn review_17_7_a_file_name_no_export_can_write_is_refused_at_seizure() {
    let d = desk();
    let sha = d.store.put_evidence_file(b"photo").unwrap();
    for name in [
        "x".repeat(300),
        "a/b.jpg".into(),
        "..".into(),
        "line\nbreak.jpg".into(),
        "CON:".into(),
        "trailing.".into(),
        "é".repeat(65),
    ] {
        let r = d.rule(
            "bo",
            Role::BoardingOfficer,
            seize_files(vec![FileRef {
                name: name.clone(),
                sha256: sha.clone(),
            }]),
        );
        assert_eq!(r, "R48", "{name:?}");
    }
    d.ok(
        "bo",
        Role::BoardingOfficer,
        seize_files(vec![FileRef {
            name: format!("{}.jpg", "x".repeat(124)),
            sha256: sha,
        }]),
    );
}

#[test]
fn review_17_9_times_at_the_end_of_the_calendar_are_refused_never_a_panic() {
    let d = desk();
    let end: Timestamp = "9999-12-30T00:00:00Z".parse().unwrap();
    let auth = Action::RecordAuthorization {
        case: 1,
        reference: "PA-AUTH-7".into(),
        issued_by: "Director of Merchant Marine".into(),
        measures: vec![MeasureKind::Board],
        conditions: vec![],
        valid_hours: Some(8784.0),
        registry_in_same_reply: false,
        message: msg("IT-2", Some("PA-10")),
    };
    // In the future of when it is recorded: the log refuses it before any rule runs.
    let r = d
        .act_times(
            "duty2",
            Role::DutyOfficer,
            auth.clone(),
            None,
            end,
            Timestamp::now(),
        )
        .unwrap_err();
    assert!(matches!(r, CaseRefusal::Log(AppendError::Future)), "{r}");
    // Recorded then too (a clock gone wrong): the rules refuse an end past the calendar.
    let steps = [
        (
            "owo",
            Role::WatchOfficer,
            Action::OpenArt8 {
                target: "MV Aurora".into(),
                vessel_kind: VesselKind::Private,
                grounds: "going dark".into(),
            },
        ),
        (
            "duty1",
            Role::DutyOfficer,
            Action::NotifyFlagState {
                case: 1,
                flag: "PA".into(),
                message: msg("IT-1", None),
            },
        ),
        (
            "duty1",
            Role::DutyOfficer,
            Action::RequestAuthorization {
                case: 1,
                measures: vec![MeasureKind::Board],
                message: msg("IT-2", None),
            },
        ),
    ];
    for (user, role, a) in steps {
        d.act_times(user, role, a, None, end, end).unwrap();
    }
    let r = d
        .act_times("duty2", Role::DutyOfficer, auth, None, end, end)
        .unwrap_err();
    assert!(r.to_string().contains("9999"), "{r}");
}

#[test]
fn review_17_10_no_field_of_an_entry_exceeds_its_documented_size() {
    let d = desk();
    let big = "x".repeat(tidewatch_cases::log::MAX_TEXT_CHARS + 1);
    let name = "u".repeat(tidewatch_cases::log::MAX_NAME_CHARS + 1);
    let r = d
        .act(
            "bo",
            Role::BoardingOfficer,
            Action::Rescue {
                unit: big.clone(),
                count: 1,
            },
        )
        .unwrap_err();
    assert!(
        matches!(r, CaseRefusal::Log(AppendError::TooLarge { .. })),
        "{r}"
    );
    let r = d
        .act(
            "owo",
            Role::WatchOfficer,
            Action::OpenArt8 {
                target: "MV X".into(),
                vessel_kind: VesselKind::Private,
                grounds: big.clone(),
            },
        )
        .unwrap_err();
    assert!(r.to_string().contains("grounds"), "{r}");
    // A text at its limit is kept.
    let r = d
        .act(
            "owo",
            Role::WatchOfficer,
            Action::OpenArt8 {
                target: "MV X".into(),
                vessel_kind: VesselKind::Private,
                grounds: "y".repeat(tidewatch_cases::log::MAX_TEXT_CHARS),
            },
        )
        .map(|_| ());
    assert!(r.is_ok(), "{r:?}");
    // The actor's unit is a name.
    let now = Timestamp::now();
    let mut e = entry_by("bo", Role::BoardingOfficer, None, now);
    e.actor.unit = Some(name);
    let r = d
        .store
        .case_action(
            "INC-1",
            &Who {
                user: "bo".into(),
                role: Role::BoardingOfficer,
            },
            &Action::Rescue {
                unit: "cp-302".into(),
                count: 1,
            },
            e,
            now,
            &d.reference,
        )
        .unwrap()
        .unwrap_err();
    assert!(r.to_string().contains("actor.unit"), "{r}");
}

/// Two consoles on one database act on one incident in turn, each carrying on its own kept
/// replay with what the other appended: every file they answer with is the one a replay of
/// the whole log gives, and a refused action leaves the kept file as it was.
#[test]
fn consoles_sharing_a_store_carry_their_kept_case_files_on_exactly_as_a_full_replay() {
    let db = crate::testkit::TestDb::new();
    let desks: Vec<Desk> = (0..2)
        .map(|_| Desk {
            store: db.open(),
            reference: Reference::default_demo(),
        })
        .collect();
    let fresh = || db.open();
    for i in 0..12u32 {
        let d = &desks[i as usize % 2];
        let got = match i % 4 {
            // Rescues; a vulnerability flag on a person never rescued is refused by a rule.
            0 | 1 => d.ok(
                "bo",
                Role::BoardingOfficer,
                Action::Rescue {
                    unit: "cp-302".into(),
                    count: 3,
                },
            ),
            2 => {
                let r = d.act(
                    "bo",
                    Role::BoardingOfficer,
                    serde_json::from_value(serde_json::json!(
                        {"type": "vulnerability", "tag": "cp-302-9999", "flag": "MED_EMERG"}
                    ))
                    .unwrap(),
                );
                assert!(matches!(r, Err(CaseRefusal::Rule(_))), "{r:?}");
                d.store.case_file("INC-1", &d.reference).unwrap()
            }
            _ => {
                // A plain entry by another path (not a case action) between actions.
                d.store
                    .append_interception(
                        "INC-1",
                        entry_by("smc", Role::SarCoordinator, None, Timestamp::now()),
                        Timestamp::now(),
                    )
                    .unwrap()
                    .unwrap();
                d.ok(
                    "bo",
                    Role::BoardingOfficer,
                    Action::Rescue {
                        unit: "cp-302".into(),
                        count: 1,
                    },
                )
            }
        };
        let whole = fresh().case_file("INC-1", &desks[0].reference).unwrap();
        assert_eq!(got, whole, "after action {i}");
        assert!(whole.problems.is_empty(), "{:?}", whole.problems);
    }
}

/// R38, R39: a family group travels whole, and medical emergencies leave first, in
/// transfers and medevacs alike, unless a reason is recorded; the queue is in the case view.
#[test]
fn r38_r39_families_travel_whole_and_medical_emergencies_go_first() {
    use Role::*;
    let d = desk();
    rescue_47(&d);
    let group = |tags: Vec<String>| {
        d.ok(
            "bo",
            BoardingOfficer,
            Action::Family {
                tags,
                protection_approval: None,
            },
        )
    };
    group(vec![tag_of(1), tag_of(2), tag_of(3)]);
    let transfer = |tags: &[u32], reason: Option<&str>| Action::TransferOut {
        tags: tags.iter().map(|n| tag_of(*n)).collect(),
        from: "cp-302".into(),
        to: "cp-301".into(),
        reason: reason.map(String::from),
    };
    // Two of a family of three: refused, naming who would stay; a blank reason is none.
    let e = d
        .act("bo", BoardingOfficer, transfer(&[1, 2], None))
        .unwrap_err();
    let CaseRefusal::Rule(r) = e else {
        panic!("{e:?}")
    };
    assert_eq!(r.rule, "R38");
    assert!(r.problem.contains(&tag_of(3)), "{}", r.problem);
    assert_eq!(
        d.rule("bo", BoardingOfficer, transfer(&[1, 2], Some(" "))),
        "R38"
    );
    // Whole, or with a reason.
    d.ok("bo", BoardingOfficer, transfer(&[1, 2, 3, 9], None));
    group(vec![tag_of(10), tag_of(11)]);
    let f = d.ok(
        "bo",
        BoardingOfficer,
        transfer(&[10], Some("the father stays to steer the boat's tow")),
    );
    assert!(matches!(
        f.roster.persons[&tag_of(11)].status,
        Status::OnBoard(_)
    ));

    // A child found to be unaccompanied after being grouped with adults leaves the group
    // (review 23: flagging after grouping dodged the protection officer's approval).
    group(vec![tag_of(40), tag_of(41)]);
    let f = d.ok(
        "bo",
        BoardingOfficer,
        Action::Vulnerability {
            tag: tag_of(40),
            flag: Vulnerability::Uasc,
            over: false,
        },
    );
    assert_eq!(f.roster.persons[&tag_of(40)].family, None);
    assert!(f.roster.persons[&tag_of(41)].family.is_some());

    // R39: a medical emergency on board goes before anyone else is evacuated.
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Vulnerability {
            tag: tag_of(20),
            flag: Vulnerability::MedEmerg,
            over: false,
        },
    );
    let medevac = |tags: &[u32], reason: Option<&str>| Action::Medevac {
        tags: tags.iter().map(|n| tag_of(*n)).collect(),
        unit: "cp-302".into(),
        facility: "helicopter I-HEMS to Palermo".into(),
        reason: reason.map(String::from),
    };
    let e = d
        .act("bo", BoardingOfficer, medevac(&[21], None))
        .unwrap_err();
    let CaseRefusal::Rule(r) = e else {
        panic!("{e:?}")
    };
    assert_eq!(r.rule, "R39");
    assert!(r.problem.contains(&tag_of(20)), "{}", r.problem);
    // A member of a family goes with the family, as in a transfer.
    group(vec![tag_of(30), tag_of(31)]);
    assert_eq!(
        d.rule("bo", BoardingOfficer, medevac(&[20, 30], None)),
        "R38"
    );
    assert_eq!(
        d.rule("watch", WatchOfficer, medevac(&[20], None)),
        "role",
        "rescue roles only"
    );
    let f = d.ok("bo", BoardingOfficer, medevac(&[20], None));
    assert_eq!(
        f.roster.persons[&tag_of(20)].status,
        Status::Medevac("helicopter I-HEMS to Palermo".into())
    );
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Vulnerability {
            tag: tag_of(22),
            flag: Vulnerability::MedEmerg,
            over: false,
        },
    );
    // The queue: who waits, seen by those who may see the flag.
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    let queue = crate::console::disclosure::medevac_queue(&f, BoardingOfficer);
    assert_eq!(queue["cp-302"], vec![tag_of(22)]);
    assert!(crate::console::disclosure::medevac_queue(&f, WatchOfficer).is_empty());
    let f = d.ok(
        "bo",
        BoardingOfficer,
        medevac(&[23], Some("burns: the only seat, 22 is stable")),
    );
    assert!(matches!(
        f.roster.persons[&tag_of(23)].status,
        Status::Medevac(_)
    ));
    // Review (issue 24 session): a medical emergency never ended: the person stayed first
    // in the queue and in the landing order, and every later medevac needed a reason, after
    // they were treated. It ends now; no other flag does.
    let over = |tag: u32, flag: Vulnerability| Action::Vulnerability {
        tag: tag_of(tag),
        flag,
        over: true,
    };
    assert_eq!(
        d.rule("bo", BoardingOfficer, over(40, Vulnerability::Uasc)),
        "R39"
    );
    assert_eq!(
        d.rule("bo", BoardingOfficer, over(24, Vulnerability::MedEmerg)),
        "R39"
    );
    assert_eq!(d.rule("bo", BoardingOfficer, medevac(&[24], None)), "R39");
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert_eq!(f.roster.disembarkation_order("cp-302")[0], tag_of(22));
    let f = d.ok("bo", BoardingOfficer, over(22, Vulnerability::MedEmerg));
    assert!(crate::console::disclosure::medevac_queue(&f, BoardingOfficer).is_empty());
    assert_ne!(f.roster.disembarkation_order("cp-302")[0], tag_of(22));
    d.ok("bo", BoardingOfficer, medevac(&[24], None));
    // Replayed from the log, the same.
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert!(
        !f.roster.persons[&tag_of(22)]
            .flags
            .contains(&Vulnerability::MedEmerg)
    );
}

/// Review 23: a log written before a transfer carried its reason (a family split without
/// one) still replays cleanly: the rules added later are checked on live actions only, or a
/// case file kept from before would hold everything but rescue (R56) and refuse its exports.
#[test]
fn review_23_a_log_from_before_the_new_rules_still_replays() {
    use Role::*;
    let d = desk();
    rescue_47(&d);
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Family {
            tags: vec![tag_of(1), tag_of(2)],
            protection_approval: None,
        },
    );
    // As an older console wrote it: no `reason`, and the family split.
    let now = Timestamp::now();
    let mut e = entry_by("bo", BoardingOfficer, Some(HIGH_SEAS), now);
    e.event = EventType::Transfer;
    e.details = serde_json::json!({DETAILS_KEY: {"type": "transfer_out",
        "tags": [tag_of(1)], "from": "cp-302", "to": "cp-301"}});
    d.store
        .append_interception("INC-1", e, now)
        .unwrap()
        .unwrap();
    let f = d.store.case_file("INC-1", &d.reference).unwrap();
    assert!(f.problems.is_empty(), "{:?}", f.problems);
    assert_eq!(f.roster.transfers.len(), 1);
    // The same split taken live now is refused.
    d.ok(
        "bo",
        BoardingOfficer,
        Action::Family {
            tags: vec![tag_of(3), tag_of(4)],
            protection_approval: None,
        },
    );
    let split = Action::TransferOut {
        tags: vec![tag_of(3)],
        from: "cp-302".into(),
        to: "cp-301".into(),
        reason: None,
    };
    assert_eq!(d.rule("bo", BoardingOfficer, split), "R38");
}

/// R42: a nationality keeps where it came from; an assessed one names its method and
/// assessor, and it is a State's code.
#[test]
fn r42_a_nationality_keeps_its_provenance() {
    use Role::*;
    let d = desk();
    rescue_47(&d);
    let nationality = |state: &str, provenance| Action::Nationality {
        tag: tag_of(5),
        state: state.into(),
        provenance,
    };
    let assessed = |method: &str, by: &str| Provenance::Assessed {
        method: method.into(),
        by: by.into(),
    };
    assert_eq!(
        d.rule(
            "prot",
            ProtectionOfficer,
            nationality("SY", assessed("language analysis", " "))
        ),
        "R42"
    );
    assert_eq!(
        d.rule(
            "prot",
            ProtectionOfficer,
            nationality("Syria", Provenance::Declared)
        ),
        "R42"
    );
    assert_eq!(
        d.rule("inv", Investigator, nationality("SY", Provenance::Declared)),
        "role"
    );
    let f = d.ok(
        "bo",
        BoardingOfficer,
        nationality("er", Provenance::Declared),
    );
    let n = f.roster.persons[&tag_of(5)].nationality.clone().unwrap();
    assert_eq!(
        (n.value.as_str(), n.provenance),
        ("ER", Provenance::Declared)
    );
    let f = d.ok(
        "prot",
        ProtectionOfficer,
        nationality("SY", assessed("language analysis", "Dr Vella")),
    );
    let n = f.roster.persons[&tag_of(5)].nationality.clone().unwrap();
    assert_eq!(n.value, "SY");
    assert_eq!(n.provenance, assessed("language analysis", "Dr Vella"));
}
