//! The article-8 case (RULES.md): one suspect vessel, us as requesting State, its
//! claimed flag State (or none). Every change is an [`Entry`] with who, in which role,
//! when it happened and when it was recorded, and why; a command that a rule forbids is
//! refused with the rule's number and changes nothing.
//!
//! Rules enforced here (RULES.md): R01 (no case against a warship or government
//! vessel), R02 (an 8(2) basis needs a flag State party to the Protocol on the date), R03
//! (registry confirmed before, or with, the authorization), R04 (boarding only under an
//! active authorization covering it at that time), R05 (search only when authorized or
//! under 8(7)), R06 (measures on persons or cargo only after evidence is found and when
//! authorized), R07 (anything else only as an imminent-danger action or under an
//! agreement clause), R08 (silence never authorizes; only an agreement's deemed
//! authorization does, and it is recorded), R09 (conditions acknowledged before boarding;
//! none pending at closure), R10 (results reported to the flag State, naming every
//! measure, before an 8(2) case closes), R11 (only warships or marked, enforcement-capable
//! government units board or act), R12 (a boarding is finalised with its persons-welfare
//! section), R13 (no evidence and damage or delay: a compensation review, decided before
//! closure), R14 (8(7) needs a legal adviser's determination), R15 (every external
//! message has channel, authority, our reference, time and content hash; replies their
//! reference), R16 (a withdrawal after contact is told to the flag State), R21 (rescue
//! actions are never blocked, whatever the state), R61 (whoever requested an
//! authorization cannot alone record its grant).

use jiff::{SignedDuration, Timestamp};
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

/// What kind of vessel the target is (art. 3(d): warships and government vessels on
/// non-commercial service are not "vessels" of the Protocol).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VesselKind {
    /// Any private or commercial craft.
    Private,
    /// A warship.
    Warship,
    /// A naval auxiliary.
    NavalAuxiliary,
    /// Owned or operated by a government, non-commercial service.
    GovernmentNonCommercial,
}

/// The legal basis of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Art. 8(2): a vessel of another State Party, with its authorization.
    Art8_2,
    /// Art. 8(7): a vessel without nationality or assimilated.
    Art8_7,
    /// An agreement (its id).
    Agreement(String),
}

/// The states of RULES.md
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// S0.
    SuspicionRecorded,
    /// S1.
    NationalityAssessed,
    /// S2a.
    FlagStateNotified,
    /// S2b.
    RegistryConfirmed,
    /// S2c.
    RegistryNotConfirmed,
    /// S3.
    AuthorizationRequested,
    /// S4a.
    Authorized,
    /// S4b.
    AuthorizationRefused,
    /// S5.
    StatelessAssessment,
    /// S5a.
    StatelessConfirmed,
    /// S6.
    Boarding,
    /// S7.
    Searching,
    /// S8a.
    EvidenceFound,
    /// S8b.
    NoEvidenceFound,
    /// S9.
    MeasuresInProgress,
    /// S10.
    ResultsReported,
    /// S11.
    CompensationReview,
    /// S12.
    Closed,
    /// S13.
    Withdrawn,
}

/// Measures a flag State can authorize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MeasureKind {
    /// Board the vessel.
    Board,
    /// Search it.
    Search,
    /// Detain the vessel.
    DetainVessel,
    /// Divert it to a port.
    DivertToPort,
    /// Seize cargo.
    SeizeCargo,
    /// Seize evidence.
    SeizeEvidence,
    /// Apprehend persons (suspected smugglers, never people for having been smuggled).
    ApprehendPersons,
}

impl MeasureKind {
    /// True when the measure acts on persons or cargo (art. 8(2)(c): only after evidence).
    pub fn on_persons_or_cargo(&self) -> bool {
        matches!(
            self,
            MeasureKind::SeizeCargo | MeasureKind::SeizeEvidence | MeasureKind::ApprehendPersons
        )
    }
}

/// A condition the flag State attached to its authorization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    /// What it says.
    pub text: String,
    /// Acknowledged by the executing commander: who and when.
    pub acknowledged: Option<(String, Timestamp)>,
    /// Complied with, at closure: `None` while pending.
    pub complied: Option<bool>,
}

/// An external message (R15).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The counterpart authority.
    pub authority: String,
    /// Channel (phone, e-mail, MRCC link…).
    pub channel: String,
    /// Our reference number.
    pub our_ref: String,
    /// Their reference (required on replies).
    pub their_ref: Option<String>,
    /// Sent or received at.
    pub at: Timestamp,
    /// SHA-256 of the content, hex.
    pub content_sha256: String,
}

/// The flag State's authorization (S4a).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authorization {
    /// Its reference.
    pub reference: String,
    /// The official who issued it.
    pub issued_by: String,
    /// The measures authorized (an explicit list: no free-text authorizations).
    pub measures: Vec<MeasureKind>,
    /// Conditions imposed.
    pub conditions: Vec<Condition>,
    /// Valid from.
    pub valid_from: Timestamp,
    /// Valid until, if limited.
    pub valid_to: Option<Timestamp>,
    /// Deemed under this agreement clause, not given by the flag State (R08).
    pub deemed_under: Option<String>,
}

impl Authorization {
    /// True when it covers `m` at `at`.
    pub fn covers(&self, m: &MeasureKind, at: Timestamp) -> bool {
        self.measures.contains(m) && at >= self.valid_from && self.valid_to.is_none_or(|t| at <= t)
    }
}

/// An agreement clause that pre-authorizes measures, or deems authorization after a
/// silence (RULES.md `Agreement`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementClause {
    /// The agreement and clause, e.g. `IT-TN-2024 §4.2`.
    pub code: String,
    /// Measures it pre-authorizes.
    pub measures: Vec<MeasureKind>,
    /// Authorization deemed after this long without a reply, if the clause says so.
    pub deemed_after: Option<SignedDuration>,
}

/// A unit that boards or acts (R11, art. 9(4)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Its name.
    pub name: String,
    /// A warship or military aircraft.
    pub warship_or_military_aircraft: bool,
    /// Clearly marked and identifiable as on government service.
    pub clearly_marked_government_service: bool,
    /// Authorized for law enforcement.
    pub enforcement_capable: bool,
}

impl Unit {
    /// Art. 9(4): may it act under article 8?
    pub fn may_enforce(&self) -> bool {
        self.enforcement_capable
            && (self.warship_or_military_aircraft || self.clearly_marked_government_service)
    }
}

/// The persons-welfare section of a boarding report (art. 9(1)(a), R12).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Welfare {
    /// Injuries seen or caused.
    pub injuries: String,
    /// Medical care given.
    pub medical_care: String,
    /// Food and water.
    pub food_water: String,
    /// Use of force and restraints.
    pub use_of_force: String,
}

/// One change of the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// When it happened.
    pub occurred_at: Timestamp,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// Who.
    pub by: Actor,
    /// What, in words.
    pub what: String,
    /// The state after it.
    pub state: State,
}

pub use super::Refused;
use super::refuse;

/// An article-8 case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Art8Case {
    /// Where it stands.
    pub state: State,
    /// Its basis, once chosen.
    pub basis: Option<Basis>,
    /// The claimed flag State (ISO 3166 alpha-2).
    pub flag_state: Option<String>,
    /// Messages out and in.
    pub messages: Vec<Message>,
    /// Who recorded the authorization request (R61).
    pub requested_by: Option<String>,
    /// Registry confirmed by the flag State.
    pub registry_confirmed: bool,
    /// The authorization, once given (or deemed).
    pub authorization: Option<Authorization>,
    /// The 8(7) determination: legal adviser and when.
    pub stateless_determination: Option<(String, Timestamp)>,
    /// Boarding: unit, on board at, welfare section once finalised.
    pub boarding: Option<(Unit, Timestamp, Option<Welfare>)>,
    /// Measures taken: id, kind, when.
    pub measures: Vec<(String, MeasureKind, Timestamp)>,
    /// Damage or delay caused to a vessel found without evidence.
    pub damage_or_delay: Option<String>,
    /// Compensation review decision (R13).
    pub compensation_decided: Option<String>,
    /// Results report sent: our reference and the measure ids it names.
    pub results_report: Option<(String, Vec<String>)>,
    /// Every change, in order.
    pub log: Vec<Entry>,
}

impl Art8Case {
    /// S0: suspicion recorded about a vessel of `kind` (R01).
    pub fn open(
        kind: VesselKind,
        grounds: &str,
        by: Actor,
        occurred_at: Timestamp,
        recorded_at: Timestamp,
    ) -> Result<Art8Case, Refused> {
        if kind != VesselKind::Private {
            return Err(refuse(
                "R01",
                format!("a {kind:?} is not a vessel of the Protocol (art. 3(d))"),
            ));
        }
        if grounds.trim().is_empty() {
            return Err(refuse("S0", "the grounds for suspicion are required"));
        }
        let mut c = Art8Case {
            state: State::SuspicionRecorded,
            basis: None,
            flag_state: None,
            messages: Vec::new(),
            requested_by: None,
            registry_confirmed: false,
            authorization: None,
            stateless_determination: None,
            boarding: None,
            measures: Vec::new(),
            damage_or_delay: None,
            compensation_decided: None,
            results_report: None,
            log: Vec::new(),
        };
        c.record(
            by,
            occurred_at,
            recorded_at,
            format!("suspicion recorded: {grounds}"),
            State::SuspicionRecorded,
        );
        Ok(c)
    }

    fn record(
        &mut self,
        by: Actor,
        occurred_at: Timestamp,
        recorded_at: Timestamp,
        what: String,
        state: State,
    ) {
        self.state = state;
        self.log.push(Entry {
            occurred_at,
            recorded_at,
            by,
            what,
            state,
        });
    }

    fn expect(&self, states: &[State], what: &str) -> Result<(), Refused> {
        if states.contains(&self.state) {
            Ok(())
        } else {
            Err(refuse(
                "state",
                format!("{what} is not possible in {:?}", self.state),
            ))
        }
    }

    fn check_message(m: &Message, reply: bool) -> Result<(), Refused> {
        let missing: Vec<&str> = [
            ("authority", m.authority.trim().is_empty()),
            ("channel", m.channel.trim().is_empty()),
            ("our_ref", m.our_ref.trim().is_empty()),
            (
                "content_sha256",
                m.content_sha256.len() != 64
                    || !m.content_sha256.bytes().all(|b| b.is_ascii_hexdigit()),
            ),
            (
                "their_ref",
                reply && m.their_ref.as_deref().is_none_or(|r| r.trim().is_empty()),
            ),
        ]
        .into_iter()
        .filter(|(_, bad)| *bad)
        .map(|(f, _)| f)
        .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(refuse(
                "R15",
                format!("the message lacks {}", missing.join(", ")),
            ))
        }
    }

    /// S1 → S2a: the flag State is notified and asked to confirm registry (R02, R15).
    pub fn notify_flag_state(
        &mut self,
        flag: &str,
        flag_is_party: bool,
        msg: Message,
        by: Actor,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(
            &[State::SuspicionRecorded, State::NationalityAssessed],
            "notifying the flag State",
        )?;
        if !flag_is_party {
            return Err(refuse(
                "R02",
                format!(
                    "{flag} is not a party to the Protocol on this date: art. 8(2) is not available"
                ),
            ));
        }
        Self::check_message(&msg, false)?;
        self.basis = Some(Basis::Art8_2);
        self.flag_state = Some(flag.to_owned());
        let at = msg.at;
        let what = format!(
            "flag State {flag} notified ({}), our ref {}",
            msg.channel, msg.our_ref
        );
        self.messages.push(msg);
        self.record(by, at, recorded_at, what, State::FlagStateNotified);
        Ok(())
    }

    /// S2a → S2b / S2c: the flag State's reply on registry (R15).
    pub fn registry_reply(
        &mut self,
        confirmed: bool,
        msg: Message,
        by: Actor,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(&[State::FlagStateNotified], "a registry reply")?;
        Self::check_message(&msg, true)?;
        self.registry_confirmed = confirmed;
        let at = msg.at;
        let what = format!(
            "registry {} by the flag State, their ref {}",
            if confirmed {
                "confirmed"
            } else {
                "not confirmed"
            },
            msg.their_ref.as_deref().unwrap_or_default()
        );
        self.messages.push(msg);
        let next = if confirmed {
            State::RegistryConfirmed
        } else {
            State::RegistryNotConfirmed
        };
        self.record(by, at, recorded_at, what, next);
        Ok(())
    }

    /// S2b → S3 (or S2a → S3 when the flag State may confirm and authorize in one reply).
    pub fn request_authorization(
        &mut self,
        scope: &[MeasureKind],
        msg: Message,
        by: Actor,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(
            &[State::RegistryConfirmed, State::FlagStateNotified],
            "requesting authorization",
        )?;
        Self::check_message(&msg, false)?;
        if scope.is_empty() {
            return Err(refuse("S3", "the scope requested is empty"));
        }
        self.requested_by = Some(by.name.clone());
        let at = msg.at;
        let what = format!(
            "authorization requested for {scope:?}, our ref {}",
            msg.our_ref
        );
        self.messages.push(msg);
        self.record(by, at, recorded_at, what, State::AuthorizationRequested);
        Ok(())
    }

    /// S3 → S4a: the flag State authorizes (R03, R15, R61). `registry_in_same_reply`: the
    /// same message confirms registry.
    pub fn authorized(
        &mut self,
        auth: Authorization,
        registry_in_same_reply: bool,
        msg: Message,
        by: Actor,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(
            &[State::AuthorizationRequested],
            "recording an authorization",
        )?;
        Self::check_message(&msg, true)?;
        if !self.registry_confirmed && !registry_in_same_reply {
            return Err(refuse(
                "R03",
                "the flag State has not confirmed registry, before or in this reply",
            ));
        }
        if self.requested_by.as_deref() == Some(by.name.as_str()) {
            return Err(refuse(
                "R61",
                format!(
                    "{} requested this authorization: another officer must record its grant",
                    by.name
                ),
            ));
        }
        if auth.measures.is_empty() {
            return Err(refuse(
                "S4a",
                "an authorization lists the measures it allows",
            ));
        }
        self.registry_confirmed = true;
        let at = msg.at;
        let what = format!(
            "authorized by {} (ref {}): {:?}, {} conditions",
            auth.issued_by,
            auth.reference,
            auth.measures,
            auth.conditions.len()
        );
        self.messages.push(msg);
        self.authorization = Some(auth);
        self.record(by, at, recorded_at, what, State::Authorized);
        Ok(())
    }

    /// S3 → S4b: the flag State refuses the authorization (R15). Nothing it asked for may
    /// be done under art. 8(2) (boarding, search and measures stay refused); the case can
    /// be closed or withdrawn, and what is done to save lives stays open to everyone (R07,
    /// R21). `grounds`: what the reply gives as reasons, if any.
    pub fn refused(
        &mut self,
        grounds: Option<&str>,
        msg: Message,
        by: Actor,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(&[State::AuthorizationRequested], "recording a refusal")?;
        Self::check_message(&msg, true)?;
        let at = msg.at;
        let mut what = format!(
            "authorization refused by the flag State, their ref {}",
            msg.their_ref.as_deref().unwrap_or_default()
        );
        if let Some(g) = grounds.map(str::trim).filter(|g| !g.is_empty()) {
            what.push_str(": ");
            what.push_str(g);
        }
        self.messages.push(msg);
        self.record(by, at, recorded_at, what, State::AuthorizationRefused);
        Ok(())
    }

    /// The flag State has not replied by `now`: only an agreement clause with a deemed
    /// authorization changes anything (R08).
    pub fn silence(
        &mut self,
        clause: Option<&AgreementClause>,
        now: Timestamp,
        by: Actor,
    ) -> Result<(), Refused> {
        self.expect(&[State::AuthorizationRequested], "a deemed authorization")?;
        let requested = self
            .log
            .iter()
            .rev()
            .find(|e| e.state == State::AuthorizationRequested)
            .map(|e| e.occurred_at)
            .unwrap_or(now);
        let Some(c) = clause else {
            return Err(refuse(
                "R08",
                "silence of the flag State is never an authorization; no agreement provides otherwise",
            ));
        };
        let Some(after) = c.deemed_after else {
            return Err(refuse(
                "R08",
                format!(
                    "agreement clause {} does not deem authorization after silence",
                    c.code
                ),
            ));
        };
        if now.duration_since(requested) < after {
            return Err(refuse(
                "R08",
                format!("clause {} deems authorization only after {after:#}", c.code),
            ));
        }
        let what = format!("authorization deemed under agreement clause {}", c.code);
        self.authorization = Some(Authorization {
            reference: c.code.clone(),
            issued_by: format!("agreement clause {}", c.code),
            measures: c.measures.clone(),
            conditions: Vec::new(),
            valid_from: now,
            valid_to: None,
            deemed_under: Some(c.code.clone()),
        });
        self.registry_confirmed = true;
        self.record(by, now, now, what, State::Authorized);
        Ok(())
    }

    /// R08 on the console's clock: `after` (clause `code`) has passed between the recording
    /// of the authorization request and `recorded_at`.
    pub fn silence_recorded_long_enough(
        &self,
        code: &str,
        after: SignedDuration,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        let Some(requested) = self
            .log
            .iter()
            .rev()
            .find(|e| e.state == State::AuthorizationRequested)
            .map(|e| e.recorded_at)
        else {
            return Ok(());
        };
        if recorded_at.duration_since(requested) < after {
            return Err(refuse(
                "R08",
                format!(
                    "clause {code} deems authorization only {after:#} after the request was recorded ({requested}), whatever time it gives"
                ),
            ));
        }
        Ok(())
    }

    /// S1/S2c → S5 → S5a: a legal adviser's determination that the vessel is without
    /// nationality (R14).
    pub fn stateless_determination(
        &mut self,
        facts: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(
            &[
                State::SuspicionRecorded,
                State::NationalityAssessed,
                State::RegistryNotConfirmed,
                State::StatelessAssessment,
            ],
            "a statelessness determination",
        )?;
        if by.role != Role::LegalAdviser {
            return Err(refuse(
                "R14",
                "only a legal adviser determines statelessness (art. 8(7))",
            ));
        }
        if facts.trim().is_empty() {
            return Err(refuse(
                "R14",
                "the facts supporting the determination are required",
            ));
        }
        self.basis = Some(Basis::Art8_7);
        self.stateless_determination = Some((by.name.clone(), at));
        self.record(
            by,
            at,
            at,
            format!("without nationality (art. 8(7)): {facts}"),
            State::StatelessConfirmed,
        );
        Ok(())
    }

    /// The executing commander acknowledges condition `i` (R09).
    pub fn acknowledge_condition(
        &mut self,
        i: usize,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        if by.role != Role::BoardingOfficer {
            return Err(refuse(
                "R09",
                "the executing commander acknowledges conditions",
            ));
        }
        let Some(c) = self
            .authorization
            .as_mut()
            .and_then(|a| a.conditions.get_mut(i))
        else {
            return Err(refuse("R09", format!("no condition {i}")));
        };
        c.acknowledged = Some((by.name.clone(), at));
        let what = format!("condition acknowledged: {}", c.text);
        let state = self.state;
        self.record(by, at, at, what, state);
        Ok(())
    }

    /// S4a/S5a → S6: boarding begins (R04, R09, R11).
    pub fn board(&mut self, unit: Unit, by: Actor, on_board_at: Timestamp) -> Result<(), Refused> {
        self.expect(&[State::Authorized, State::StatelessConfirmed], "boarding")?;
        if !unit.may_enforce() {
            return Err(refuse(
                "R11",
                format!(
                    "{} is not a warship or a clearly marked, enforcement-capable government unit (art. 9(4))",
                    unit.name
                ),
            ));
        }
        if self.basis != Some(Basis::Art8_7) {
            let Some(a) = &self.authorization else {
                return Err(refuse("R04", "no authorization from the flag State"));
            };
            if !a.covers(&MeasureKind::Board, on_board_at) {
                return Err(refuse(
                    "R04",
                    "the authorization does not cover boarding at this time",
                ));
            }
            if let Some(c) = a.conditions.iter().find(|c| {
                c.acknowledged
                    .as_ref()
                    .is_none_or(|(_, t)| *t > on_board_at)
            }) {
                return Err(refuse(
                    "R09",
                    format!("condition not acknowledged by the commander: {}", c.text),
                ));
            }
        } else if self.stateless_determination.is_none() {
            return Err(refuse("R14", "no statelessness determination"));
        }
        let what = format!("{} on board", unit.name);
        self.boarding = Some((unit, on_board_at, None));
        self.record(by, on_board_at, on_board_at, what, State::Boarding);
        Ok(())
    }

    /// S6 → S7: search begins (R05).
    pub fn search(&mut self, by: Actor, at: Timestamp) -> Result<(), Refused> {
        self.expect(&[State::Boarding], "a search")?;
        let allowed = self.basis == Some(Basis::Art8_7)
            || self
                .authorization
                .as_ref()
                .is_some_and(|a| a.covers(&MeasureKind::Search, at));
        if !allowed {
            return Err(refuse(
                "R05",
                "search is not in the authorization and there is no 8(7) determination",
            ));
        }
        self.record(by, at, at, "search begins".into(), State::Searching);
        Ok(())
    }

    /// S7 → S8a / S8b: what the search found; `damage_or_delay` when nothing was found
    /// and the vessel was damaged or delayed (R13).
    pub fn search_outcome(
        &mut self,
        evidence: bool,
        damage_or_delay: Option<&str>,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(&[State::Searching], "a search outcome")?;
        if evidence {
            self.record(
                by,
                at,
                at,
                "evidence of smuggling found".into(),
                State::EvidenceFound,
            );
        } else {
            let role = by.role;
            self.damage_or_delay = damage_or_delay.map(str::to_owned);
            self.record(
                by,
                at,
                at,
                "search completed: no evidence".into(),
                State::NoEvidenceFound,
            );
            if let Some(d) = damage_or_delay {
                // Opened by Tidewatch itself, on what the officer recorded.
                let system = Actor {
                    name: "tidewatch".into(),
                    role,
                };
                self.record(
                    system,
                    at,
                    at,
                    format!("compensation review opened (art. 9(2)): {d}"),
                    State::CompensationReview,
                );
            }
        }
        Ok(())
    }

    /// The boarding report's persons-welfare section (R12).
    pub fn finalise_boarding(
        &mut self,
        w: Welfare,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        let Some(b) = self.boarding.as_mut() else {
            return Err(refuse("state", "no boarding to finalise"));
        };
        let empty: Vec<&str> = [
            ("injuries", &w.injuries),
            ("medical_care", &w.medical_care),
            ("food_water", &w.food_water),
            ("use_of_force", &w.use_of_force),
        ]
        .into_iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(k, _)| k)
        .collect();
        if !empty.is_empty() {
            return Err(refuse(
                "R12",
                format!("the persons-welfare section lacks {}", empty.join(", ")),
            ));
        }
        b.2 = Some(w);
        let state = self.state;
        self.record(by, at, at, "boarding report finalised".into(), state);
        Ok(())
    }

    /// A measure (R06, R07, R11): on persons or cargo only after evidence, and only within
    /// the authorization (or under 8(7), or an agreement clause that pre-authorizes it).
    pub fn measure(
        &mut self,
        id: &str,
        kind: MeasureKind,
        unit: &Unit,
        clause: Option<&AgreementClause>,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(
            &[
                State::Boarding,
                State::Searching,
                State::EvidenceFound,
                State::MeasuresInProgress,
            ],
            "a measure",
        )?;
        if !unit.may_enforce() {
            return Err(refuse(
                "R11",
                format!("{} may not take measures (art. 9(4))", unit.name),
            ));
        }
        if kind.on_persons_or_cargo()
            && !matches!(self.state, State::EvidenceFound | State::MeasuresInProgress)
        {
            return Err(refuse(
                "R06",
                "measures on persons or cargo need evidence found first (art. 8(2)(c))",
            ));
        }
        let authorized = self.basis == Some(Basis::Art8_7)
            || self
                .authorization
                .as_ref()
                .is_some_and(|a| a.covers(&kind, at));
        let by_clause = clause.is_some_and(|c| c.measures.contains(&kind));
        if !authorized && !by_clause {
            return Err(refuse(
                "R07",
                format!(
                    "{kind:?} is outside the authorization: only an imminent-danger action or an agreement clause can cover it"
                ),
            ));
        }
        self.measures.push((id.to_owned(), kind.clone(), at));
        let why = match clause.filter(|_| !authorized) {
            Some(c) => format!(" under agreement clause {}", c.code),
            None => String::new(),
        };
        let state = if self.state == State::EvidenceFound {
            State::MeasuresInProgress
        } else {
            self.state
        };
        self.record(by, at, at, format!("measure {id}: {kind:?}{why}"), state);
        Ok(())
    }

    /// A life-saving action, in any state, before or beyond any authorization (Overlay D,
    /// R07, R21): never refused for the case's state, but it must say what danger to how
    /// many people, and it widens no enforcement scope.
    pub fn imminent_danger_action(
        &mut self,
        action: &str,
        danger: &str,
        persons_at_risk: u32,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        if danger.trim().is_empty() || persons_at_risk == 0 || action.trim().is_empty() {
            return Err(refuse(
                "R07",
                "an imminent-danger action states the action, the danger and the persons at risk",
            ));
        }
        let state = self.state;
        self.record(
            by,
            at,
            at,
            format!(
                "imminent-danger action: {action} ({persons_at_risk} persons at risk: {danger})"
            ),
            state,
        );
        Ok(())
    }

    /// → S10: results reported to the flag State, naming measures (R10, R15).
    pub fn report_results(
        &mut self,
        measure_ids: &[&str],
        msg: Message,
        by: Actor,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(
            &[
                State::EvidenceFound,
                State::MeasuresInProgress,
                State::NoEvidenceFound,
                State::CompensationReview,
            ],
            "a results report",
        )?;
        Self::check_message(&msg, false)?;
        let missing: Vec<&str> = self
            .measures
            .iter()
            .map(|(id, _, _)| id.as_str())
            .filter(|id| !measure_ids.contains(id))
            .collect();
        if !missing.is_empty() {
            return Err(refuse(
                "R10",
                format!(
                    "the results report does not name measures {}",
                    missing.join(", ")
                ),
            ));
        }
        let at = msg.at;
        let what = format!(
            "results reported to the flag State, our ref {}",
            msg.our_ref
        );
        self.results_report = Some((
            msg.our_ref.clone(),
            measure_ids.iter().map(|s| (*s).to_owned()).collect(),
        ));
        self.messages.push(msg);
        let next = if self.state == State::CompensationReview {
            State::CompensationReview
        } else {
            State::ResultsReported
        };
        self.record(by, at, recorded_at, what, next);
        Ok(())
    }

    /// The compensation review's decision (R13).
    pub fn decide_compensation(
        &mut self,
        decision: &str,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        self.expect(&[State::CompensationReview], "a compensation decision")?;
        if decision.trim().is_empty() {
            return Err(refuse("R13", "the decision is required"));
        }
        self.compensation_decided = Some(decision.to_owned());
        let next = if self.results_report.is_some() {
            State::ResultsReported
        } else {
            State::NoEvidenceFound
        };
        self.record(
            by,
            at,
            at,
            format!("compensation review decided: {decision}"),
            next,
        );
        Ok(())
    }

    /// Record the compliance of condition `i` with its authorization (for closure, R09).
    pub fn condition_compliance(
        &mut self,
        i: usize,
        complied: bool,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        let Some(c) = self
            .authorization
            .as_mut()
            .and_then(|a| a.conditions.get_mut(i))
        else {
            return Err(refuse("R09", format!("no condition {i}")));
        };
        c.complied = Some(complied);
        let what = format!(
            "condition {}: {}",
            if complied {
                "complied with"
            } else {
                "NOT complied with"
            },
            c.text
        );
        let state = self.state;
        self.record(by, at, at, what, state);
        Ok(())
    }

    /// → S12 (R09, R10, R12, R13).
    pub fn close(&mut self, by: Actor, at: Timestamp) -> Result<(), Refused> {
        self.expect(
            &[
                State::ResultsReported,
                State::AuthorizationRefused,
                State::NoEvidenceFound,
            ],
            "closing",
        )?;
        self.closing_obligations()?;
        self.record(by, at, at, "case closed".into(), State::Closed);
        Ok(())
    }

    /// What a case owes before it ends (R09, R10, R12, R13): the compensation review
    /// decided, the results reported to the flag State after a boarding under 8(2), every
    /// condition's compliance, the boarding's welfare section.
    pub fn closing_obligations(&self) -> Result<(), Refused> {
        if self.damage_or_delay.is_some() && self.compensation_decided.is_none() {
            return Err(refuse("R13", "the compensation review is not decided"));
        }
        if self.basis == Some(Basis::Art8_2)
            && self.boarding.is_some()
            && self.results_report.is_none()
        {
            return Err(refuse(
                "R10",
                "results not reported to the flag State (art. 8(3))",
            ));
        }
        if let Some(c) = self
            .authorization
            .iter()
            .flat_map(|a| &a.conditions)
            .find(|c| c.complied.is_none())
        {
            return Err(refuse(
                "R09",
                format!("condition without a compliance status: {}", c.text),
            ));
        }
        if let Some((_, _, None)) = &self.boarding {
            return Err(refuse(
                "R12",
                "the boarding report has no persons-welfare section",
            ));
        }
        Ok(())
    }

    /// What a withdrawal owes: nothing before a boarding; after one, what closing owes
    /// ([`Art8Case::closing_obligations`]): withdrawing is no way around the welfare
    /// section, the results report or the compensation review.
    pub fn withdrawal_obligations(&self) -> Result<(), Refused> {
        if self.boarding.is_none() {
            return Ok(());
        }
        self.closing_obligations()
    }

    /// → S13: we withdraw; the flag State is told if it was contacted (R16).
    pub fn withdraw(
        &mut self,
        reason: &str,
        msg: Option<Message>,
        by: Actor,
        at: Timestamp,
    ) -> Result<(), Refused> {
        if matches!(self.state, State::Closed | State::Withdrawn) {
            return Err(refuse("state", "the case is over"));
        }
        let contacted = !self.messages.is_empty();
        match (&msg, contacted) {
            (None, true) => {
                return Err(refuse(
                    "R16",
                    "the flag State was contacted: the withdrawal must be sent to it",
                ));
            }
            (Some(m), _) => Self::check_message(m, false)?,
            (None, false) => {}
        }
        if let Some(m) = msg {
            self.messages.push(m);
        }
        self.record(by, at, at, format!("withdrawn: {reason}"), State::Withdrawn);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        "2026-11-22T02:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(min)
    }

    fn who(name: &str, role: Role) -> Actor {
        Actor {
            name: name.into(),
            role,
        }
    }

    fn msg(our: &str, their: Option<&str>, min: i64) -> Message {
        Message {
            authority: "MRCC Valletta / art. 8(6) authority".into(),
            channel: "phone + e-mail".into(),
            our_ref: our.into(),
            their_ref: their.map(str::to_owned),
            at: t(min),
            content_sha256: "ab".repeat(32),
        }
    }

    fn cutter() -> Unit {
        Unit {
            name: "CP 301".into(),
            warship_or_military_aircraft: false,
            clearly_marked_government_service: true,
            enforcement_capable: true,
        }
    }

    fn condition(text: &str) -> Condition {
        Condition {
            text: text.into(),
            acknowledged: None,
            complied: None,
        }
    }

    /// A case up to an authorization to board and search, with one condition.
    fn authorized_case() -> Art8Case {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "rendezvous with a rubber boat; no AIS",
            who("olga", Role::WatchOfficer),
            t(0),
            t(1),
        )
        .unwrap();
        c.notify_flag_state(
            "MT",
            true,
            msg("IT-1", None, 5),
            who("duty", Role::DutyOfficer),
            t(5),
        )
        .unwrap();
        c.registry_reply(
            true,
            msg("IT-1", Some("MT-9"), 20),
            who("duty", Role::DutyOfficer),
            t(20),
        )
        .unwrap();
        c.request_authorization(
            &[
                MeasureKind::Board,
                MeasureKind::Search,
                MeasureKind::SeizeEvidence,
            ],
            msg("IT-2", None, 21),
            who("duty", Role::DutyOfficer),
            t(21),
        )
        .unwrap();
        c.authorized(
            Authorization {
                reference: "MT-AUTH-77".into(),
                issued_by: "Cdr. Vella".into(),
                measures: vec![
                    MeasureKind::Board,
                    MeasureKind::Search,
                    MeasureKind::SeizeEvidence,
                ],
                conditions: vec![condition("no use of force beyond self-defence")],
                valid_from: t(40),
                valid_to: Some(t(600)),
                deemed_under: None,
            },
            false,
            msg("IT-2", Some("MT-10"), 40),
            who("second", Role::DutyOfficer),
            t(40),
        )
        .unwrap();
        c
    }

    fn welfare() -> Welfare {
        Welfare {
            injuries: "none".into(),
            medical_care: "two treated for dehydration".into(),
            food_water: "water given to all".into(),
            use_of_force: "none".into(),
        }
    }

    #[test]
    fn r01_no_case_against_a_warship_or_government_vessel() {
        for k in [
            VesselKind::Warship,
            VesselKind::NavalAuxiliary,
            VesselKind::GovernmentNonCommercial,
        ] {
            let e = Art8Case::open(k, "x", who("o", Role::WatchOfficer), t(0), t(0)).unwrap_err();
            assert_eq!(e.rule, "R01");
        }
    }

    #[test]
    fn r02_art8_2_needs_a_flag_state_party_to_the_protocol() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        let e = c
            .notify_flag_state(
                "XX",
                false,
                msg("IT-1", None, 1),
                who("d", Role::DutyOfficer),
                t(1),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R02");
        assert_eq!(c.state, State::SuspicionRecorded);
    }

    #[test]
    fn r03_authorization_needs_registry_confirmed_before_or_in_the_same_reply() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        c.notify_flag_state(
            "MT",
            true,
            msg("IT-1", None, 1),
            who("d", Role::DutyOfficer),
            t(1),
        )
        .unwrap();
        c.request_authorization(
            &[MeasureKind::Board],
            msg("IT-2", None, 2),
            who("d", Role::DutyOfficer),
            t(2),
        )
        .unwrap();
        let auth = Authorization {
            reference: "A".into(),
            issued_by: "x".into(),
            measures: vec![MeasureKind::Board],
            conditions: vec![],
            valid_from: t(3),
            valid_to: None,
            deemed_under: None,
        };
        let e = c
            .authorized(
                auth.clone(),
                false,
                msg("IT-2", Some("MT-1"), 3),
                who("e", Role::DutyOfficer),
                t(3),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R03");
        c.authorized(
            auth,
            true,
            msg("IT-2", Some("MT-1"), 3),
            who("e", Role::DutyOfficer),
            t(3),
        )
        .unwrap();
        assert!(c.registry_confirmed && c.state == State::Authorized);
    }

    #[test]
    fn r04_boarding_requires_active_authorization() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        // Before the validity window, and after it.
        assert_eq!(
            c.clone()
                .board(cutter(), who("cdr", Role::BoardingOfficer), t(30))
                .unwrap_err()
                .rule,
            "R04"
        );
        assert_eq!(
            c.clone()
                .board(cutter(), who("cdr", Role::BoardingOfficer), t(700))
                .unwrap_err()
                .rule,
            "R04"
        );
        // Not covering boarding.
        let mut d = c.clone();
        d.authorization
            .as_mut()
            .unwrap()
            .measures
            .retain(|m| *m != MeasureKind::Board);
        assert_eq!(
            d.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
                .unwrap_err()
                .rule,
            "R04"
        );
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        assert_eq!(c.state, State::Boarding);
    }

    #[test]
    fn r05_search_requires_authorization_or_8_7() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        c.authorization
            .as_mut()
            .unwrap()
            .measures
            .retain(|m| *m != MeasureKind::Search);
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        assert_eq!(
            c.search(who("bo", Role::BoardingOfficer), t(55))
                .unwrap_err()
                .rule,
            "R05"
        );
    }

    #[test]
    fn r06_measures_on_persons_or_cargo_need_evidence_found() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        c.search(who("bo", Role::BoardingOfficer), t(55)).unwrap();
        let e = c
            .measure(
                "M1",
                MeasureKind::SeizeEvidence,
                &cutter(),
                None,
                who("bo", Role::BoardingOfficer),
                t(60),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R06");
        c.search_outcome(true, None, who("bo", Role::BoardingOfficer), t(70))
            .unwrap();
        c.measure(
            "M1",
            MeasureKind::SeizeEvidence,
            &cutter(),
            None,
            who("bo", Role::BoardingOfficer),
            t(72),
        )
        .unwrap();
        assert_eq!(c.state, State::MeasuresInProgress);
    }

    #[test]
    fn r07_actions_outside_the_authorization_only_as_imminent_danger_or_by_agreement() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        c.search(who("bo", Role::BoardingOfficer), t(55)).unwrap();
        c.search_outcome(true, None, who("bo", Role::BoardingOfficer), t(60))
            .unwrap();
        let e = c
            .measure(
                "M2",
                MeasureKind::DivertToPort,
                &cutter(),
                None,
                who("cdr", Role::BoardingOfficer),
                t(65),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R07");
        let clause = AgreementClause {
            code: "IT-MT-2024 §4".into(),
            measures: vec![MeasureKind::DivertToPort],
            deemed_after: None,
        };
        c.measure(
            "M2",
            MeasureKind::DivertToPort,
            &cutter(),
            Some(&clause),
            who("cdr", Role::BoardingOfficer),
            t(66),
        )
        .unwrap();
        assert!(c.log.last().unwrap().what.contains("IT-MT-2024 §4"));
        let e = c
            .imminent_danger_action("tow", "", 0, who("cdr", Role::BoardingOfficer), t(67))
            .unwrap_err();
        assert_eq!(e.rule, "R07");
    }

    #[test]
    fn r08_silence_never_authorizes_only_an_agreement_clause_does() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        c.notify_flag_state(
            "MT",
            true,
            msg("IT-1", None, 1),
            who("d", Role::DutyOfficer),
            t(1),
        )
        .unwrap();
        c.request_authorization(
            &[MeasureKind::Board],
            msg("IT-2", None, 2),
            who("d", Role::DutyOfficer),
            t(2),
        )
        .unwrap();
        // Days of silence.
        assert_eq!(
            c.silence(None, t(5000), who("d", Role::DutyOfficer))
                .unwrap_err()
                .rule,
            "R08"
        );
        let no_deeming = AgreementClause {
            code: "A §1".into(),
            measures: vec![MeasureKind::Board],
            deemed_after: None,
        };
        assert_eq!(
            c.silence(Some(&no_deeming), t(5000), who("d", Role::DutyOfficer))
                .unwrap_err()
                .rule,
            "R08"
        );
        let deeming = AgreementClause {
            code: "A §2".into(),
            measures: vec![MeasureKind::Board],
            deemed_after: Some(SignedDuration::from_hours(4)),
        };
        assert_eq!(
            c.silence(Some(&deeming), t(60), who("d", Role::DutyOfficer))
                .unwrap_err()
                .rule,
            "R08"
        );
        assert_eq!(c.state, State::AuthorizationRequested);
        c.silence(Some(&deeming), t(300), who("d", Role::DutyOfficer))
            .unwrap();
        assert_eq!(c.state, State::Authorized);
        assert_eq!(
            c.authorization.as_ref().unwrap().deemed_under.as_deref(),
            Some("A §2")
        );
        assert!(c.log.last().unwrap().what.contains("A §2"));
    }

    #[test]
    fn r09_conditions_acknowledged_before_boarding_and_complied_at_closure() {
        let mut c = authorized_case();
        assert_eq!(
            c.clone()
                .board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
                .unwrap_err()
                .rule,
            "R09"
        );
        assert_eq!(
            c.acknowledge_condition(0, who("w", Role::WatchOfficer), t(45))
                .unwrap_err()
                .rule,
            "R09"
        );
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        // A boarding dated before the acknowledgement is refused too.
        assert_eq!(
            c.clone()
                .board(cutter(), who("cdr", Role::BoardingOfficer), t(44))
                .unwrap_err()
                .rule,
            "R09"
        );
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        c.search(who("bo", Role::BoardingOfficer), t(55)).unwrap();
        c.search_outcome(false, None, who("bo", Role::BoardingOfficer), t(90))
            .unwrap();
        c.finalise_boarding(welfare(), who("bo", Role::BoardingOfficer), t(95))
            .unwrap();
        c.report_results(
            &[],
            msg("IT-3", None, 100),
            who("d", Role::DutyOfficer),
            t(100),
        )
        .unwrap();
        assert_eq!(
            c.clone()
                .close(who("cmd", Role::DutyOfficer), t(110))
                .unwrap_err()
                .rule,
            "R09"
        );
        c.condition_compliance(0, true, who("cdr", Role::BoardingOfficer), t(105))
            .unwrap();
        c.close(who("cmd", Role::DutyOfficer), t(110)).unwrap();
    }

    #[test]
    fn r10_an_8_2_case_closes_only_after_results_reported_naming_every_measure() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        c.search(who("bo", Role::BoardingOfficer), t(55)).unwrap();
        c.search_outcome(true, None, who("bo", Role::BoardingOfficer), t(60))
            .unwrap();
        c.measure(
            "M1",
            MeasureKind::SeizeEvidence,
            &cutter(),
            None,
            who("bo", Role::BoardingOfficer),
            t(62),
        )
        .unwrap();
        c.finalise_boarding(welfare(), who("bo", Role::BoardingOfficer), t(70))
            .unwrap();
        c.condition_compliance(0, true, who("cdr", Role::BoardingOfficer), t(71))
            .unwrap();
        assert_eq!(
            c.clone()
                .close(who("cmd", Role::DutyOfficer), t(80))
                .unwrap_err()
                .rule,
            "state"
        );
        let e = c
            .report_results(
                &[],
                msg("IT-3", None, 90),
                who("d", Role::DutyOfficer),
                t(90),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R10");
        c.report_results(
            &["M1"],
            msg("IT-3", None, 90),
            who("d", Role::DutyOfficer),
            t(90),
        )
        .unwrap();
        c.close(who("cmd", Role::DutyOfficer), t(100)).unwrap();
        assert_eq!(c.state, State::Closed);
    }

    #[test]
    fn r11_only_warships_or_marked_enforcement_capable_units_board() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        let ngo = Unit {
            name: "rescue ship".into(),
            warship_or_military_aircraft: false,
            clearly_marked_government_service: false,
            enforcement_capable: false,
        };
        assert_eq!(
            c.board(ngo, who("cdr", Role::BoardingOfficer), t(50))
                .unwrap_err()
                .rule,
            "R11"
        );
    }

    #[test]
    fn r12_a_boarding_is_finalised_only_with_its_persons_welfare_section() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        let mut w = welfare();
        w.food_water = " ".into();
        let e = c
            .finalise_boarding(w, who("bo", Role::BoardingOfficer), t(60))
            .unwrap_err();
        assert_eq!(e.rule, "R12");
        assert!(e.problem.contains("food_water"));
    }

    #[test]
    fn r13_no_evidence_with_damage_opens_a_compensation_review_decided_before_closure() {
        let mut c = authorized_case();
        c.acknowledge_condition(0, who("cdr", Role::BoardingOfficer), t(45))
            .unwrap();
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(50))
            .unwrap();
        c.search(who("bo", Role::BoardingOfficer), t(55)).unwrap();
        c.search_outcome(
            false,
            Some("vessel delayed 6 h"),
            who("bo", Role::BoardingOfficer),
            t(90),
        )
        .unwrap();
        assert_eq!(c.state, State::CompensationReview);
        c.finalise_boarding(welfare(), who("bo", Role::BoardingOfficer), t(95))
            .unwrap();
        c.condition_compliance(0, true, who("cdr", Role::BoardingOfficer), t(96))
            .unwrap();
        c.report_results(
            &[],
            msg("IT-3", None, 100),
            who("d", Role::DutyOfficer),
            t(100),
        )
        .unwrap();
        assert_eq!(
            c.clone()
                .close(who("cmd", Role::DutyOfficer), t(110))
                .unwrap_err()
                .rule,
            "state"
        );
        c.decide_compensation(
            "no compensation: grounds were reasonable",
            who("la", Role::LegalAdviser),
            t(120),
        )
        .unwrap();
        c.close(who("cmd", Role::DutyOfficer), t(130)).unwrap();
    }

    #[test]
    fn r14_art8_7_needs_a_legal_advisers_determination() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "no flag, no name",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        let e = c
            .stateless_determination(
                "no flag, no papers",
                who("cdr", Role::BoardingOfficer),
                t(5),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R14");
        assert_eq!(
            c.clone()
                .board(cutter(), who("cdr", Role::BoardingOfficer), t(6))
                .unwrap_err()
                .rule,
            "state"
        );
        c.stateless_determination("no flag, no papers", who("la", Role::LegalAdviser), t(5))
            .unwrap();
        c.board(cutter(), who("cdr", Role::BoardingOfficer), t(10))
            .unwrap();
        c.search(who("bo", Role::BoardingOfficer), t(12)).unwrap();
    }

    #[test]
    fn r15_every_external_message_is_complete() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        let mut m = msg("", None, 1);
        m.content_sha256 = "nothex".into();
        let e = c
            .notify_flag_state("MT", true, m, who("d", Role::DutyOfficer), t(1))
            .unwrap_err();
        assert_eq!(e.rule, "R15");
        assert!(e.problem.contains("our_ref") && e.problem.contains("content_sha256"));
        c.notify_flag_state(
            "MT",
            true,
            msg("IT-1", None, 1),
            who("d", Role::DutyOfficer),
            t(1),
        )
        .unwrap();
        // A reply without their reference.
        let e = c
            .registry_reply(
                true,
                msg("IT-1", None, 2),
                who("d", Role::DutyOfficer),
                t(2),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R15");
    }

    #[test]
    fn r16_a_withdrawal_after_contact_is_sent_to_the_flag_state() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        c.notify_flag_state(
            "MT",
            true,
            msg("IT-1", None, 1),
            who("d", Role::DutyOfficer),
            t(1),
        )
        .unwrap();
        let e = c
            .withdraw("contact lost", None, who("d", Role::DutyOfficer), t(30))
            .unwrap_err();
        assert_eq!(e.rule, "R16");
        c.withdraw(
            "contact lost",
            Some(msg("IT-4", None, 31)),
            who("d", Role::DutyOfficer),
            t(31),
        )
        .unwrap();
        assert_eq!(c.state, State::Withdrawn);
        // Before any contact, no message is needed.
        let mut d = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        d.withdraw("lost on radar", None, who("d", Role::DutyOfficer), t(5))
            .unwrap();
    }

    #[test]
    fn r21_rescue_actions_are_never_blocked_by_the_case_state() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        // No authorization at all: people in the water are taken aboard.
        c.imminent_danger_action(
            "persons taken aboard from the water",
            "boat capsizing",
            47,
            who("cdr", Role::BoardingOfficer),
            t(3),
        )
        .unwrap();
        // It widens no enforcement scope: still no boarding or search without authorization.
        assert_eq!(c.state, State::SuspicionRecorded);
        assert!(c.search(who("bo", Role::BoardingOfficer), t(4)).is_err());
    }

    #[test]
    fn r61_who_requested_an_authorization_cannot_alone_record_its_grant() {
        let mut c = Art8Case::open(
            VesselKind::Private,
            "g",
            who("o", Role::WatchOfficer),
            t(0),
            t(0),
        )
        .unwrap();
        c.notify_flag_state(
            "MT",
            true,
            msg("IT-1", None, 1),
            who("duty", Role::DutyOfficer),
            t(1),
        )
        .unwrap();
        c.registry_reply(
            true,
            msg("IT-1", Some("MT-1"), 2),
            who("duty", Role::DutyOfficer),
            t(2),
        )
        .unwrap();
        c.request_authorization(
            &[MeasureKind::Board],
            msg("IT-2", None, 3),
            who("duty", Role::DutyOfficer),
            t(3),
        )
        .unwrap();
        let auth = Authorization {
            reference: "A".into(),
            issued_by: "x".into(),
            measures: vec![MeasureKind::Board],
            conditions: vec![],
            valid_from: t(4),
            valid_to: None,
            deemed_under: None,
        };
        let e = c
            .authorized(
                auth,
                false,
                msg("IT-2", Some("MT-2"), 4),
                who("duty", Role::DutyOfficer),
                t(4),
            )
            .unwrap_err();
        assert_eq!(e.rule, "R61");
    }

    #[test]
    fn every_change_is_logged_with_who_when_and_the_state_after() {
        let c = authorized_case();
        let states: Vec<State> = c.log.iter().map(|e| e.state).collect();
        assert_eq!(
            states,
            [
                State::SuspicionRecorded,
                State::FlagStateNotified,
                State::RegistryConfirmed,
                State::AuthorizationRequested,
                State::Authorized
            ]
        );
        assert_eq!(c.log[0].by.name, "olga");
        assert_eq!((c.log[0].occurred_at, c.log[0].recorded_at), (t(0), t(1)));
        assert_eq!(c.messages.len(), 4);
    }
}
