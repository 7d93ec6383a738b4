//! An incident's case file: its article-8 cases, the roster of the persons rescued, the
//! place of safety and disembarkations, and the evidence register, **event-sourced from
//! the incident's interception log**. Every change is an [`Action`] recorded as one log
//! entry (who, when it happened and when it was recorded, where, why, and the action
//! itself in `details`); the case file is the fold of those entries, so the log is the one
//! record, a court reads exactly what the console acted on, and a crash can lose nothing
//! the log does not (it commits before the user is answered).
//!
//! [`CaseFile::apply`] checks an action against the rules of DOMAIN.md §10 (through
//! [`super::art8`], [`super::roster`], [`super::evidence`]) and the role table below, and
//! changes nothing when it refuses. [`CaseFile::replay`] rebuilds the file from a log and
//! reports any entry that no longer applies (an evidence file altered in the store, an
//! entry edited by hand), which `tidewatch verify` and the console both show.
//!
//! Rules enforced here beyond those modules: R18 (every position-bearing action stores
//! its maritime zone and zone State; another State's territorial sea raises a legal
//! review), R23 (a place of safety before any disembarkation, never the assisting unit),
//! R24 (no disembarkation in a State a person fears without a protection override), R25
//! (screening never a prerequisite: disembarkation takes none), R59 (the auditor changes
//! nothing), R60 (operations roles do not touch evidence; the investigator does not
//! coordinate rescue).

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::art8::{
    self, Art8Case, Authorization, Condition, MeasureKind, Message, Unit, VesselKind, Welfare,
};
use super::evidence::{LegalBasis, Officer, Register, sha256_hex};
use super::log::{EventType, LogEntry};
use super::roster::{
    AsylumExpression, Headcount as Count, Offence, Roster, Status, Viewer, Vulnerability,
};
use super::{Refused, refuse};
use crate::console::auth::Role;

/// The reference data shipped for the demonstration area (see its header).
pub const DEFAULT_REFERENCE: &str = include_str!("reference.toml");

/// A State (DOMAIN.md §9 `State`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateRef {
    /// ISO 3166 alpha-2.
    pub code: String,
    /// Name.
    pub name: String,
    /// Party to the Protocol from this date (absent: not a party).
    #[serde(default)]
    pub som_party_from: Option<jiff::civil::Date>,
}

/// A unit and what it may do (R11).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitRef {
    /// Its name, as patrol telemetry names it.
    pub name: String,
    /// `warship`, `military_aircraft`, `coastguard_vessel`, `ngo_vessel`, …
    pub kind: String,
    /// Clearly marked and identifiable as on government service.
    pub clearly_marked_government_service: bool,
    /// Authorized for law enforcement.
    pub enforcement_capable: bool,
}

/// A maritime zone (DOMAIN.md §9 `MaritimeZone`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneRef {
    /// Name.
    pub name: String,
    /// `internal_waters`, `territorial_sea`, `contiguous_zone`, `eez`.
    pub kind: String,
    /// Its State.
    pub state: String,
    /// One ring of `[lon, lat]`.
    pub polygon: Vec<[f64; 2]>,
}

/// Reference data: States, units, zones.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Our State.
    pub own_state: String,
    /// How long we take at most to answer a request where we are the flag State, hours
    /// (art. 8(4) "expeditiously"; R17).
    #[serde(default = "default_sla_h")]
    pub incoming_sla_h: f64,
    /// States.
    #[serde(default, rename = "state")]
    pub states: Vec<StateRef>,
    /// Units.
    #[serde(default, rename = "unit")]
    pub units: Vec<UnitRef>,
    /// Zones.
    #[serde(default, rename = "zone")]
    pub zones: Vec<ZoneRef>,
}

impl Reference {
    /// Parse reference data (TOML).
    pub fn from_toml(text: &str) -> Result<Reference, String> {
        let r: Reference = toml::from_str(text).map_err(|e| format!("reference data: {e}"))?;
        if let Some(z) = r.zones.iter().find(|z| z.polygon.len() < 4) {
            return Err(format!(
                "reference data: zone {:?} needs a closed ring",
                z.name
            ));
        }
        Ok(r)
    }

    /// The shipped reference data.
    pub fn default_demo() -> Reference {
        Reference::from_toml(DEFAULT_REFERENCE).expect("the shipped reference data parses")
    }

    /// Is `state` a party to the Protocol on `date` (R02)?
    pub fn som_party(&self, state: &str, date: jiff::civil::Date) -> Result<bool, Refused> {
        let s = self
            .states
            .iter()
            .find(|s| s.code.eq_ignore_ascii_case(state))
            .ok_or_else(|| {
                refuse(
                    "R02",
                    format!("{state} is not in the reference data: its status under the Protocol is unknown"),
                )
            })?;
        Ok(s.som_party_from.is_some_and(|d| d <= date))
    }

    /// The unit as the Protocol sees it (R11); unknown units may not enforce.
    pub fn unit(&self, name: &str) -> Unit {
        let u = self
            .units
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name));
        Unit {
            name: name.to_owned(),
            warship_or_military_aircraft: u
                .is_some_and(|u| matches!(u.kind.as_str(), "warship" | "military_aircraft")),
            clearly_marked_government_service: u
                .is_some_and(|u| u.clearly_marked_government_service),
            enforcement_capable: u.is_some_and(|u| u.enforcement_capable),
        }
    }

    /// The maritime zone of a position: `(kind, state)`, `("high_seas", "")` outside all.
    pub fn zone(&self, lat: f64, lon: f64) -> (String, String) {
        self.zones
            .iter()
            .find(|z| inside(&z.polygon, lon, lat))
            .map_or_else(
                || ("high_seas".to_owned(), String::new()),
                |z| (z.kind.clone(), z.state.clone()),
            )
    }
}

fn default_sla_h() -> f64 {
    4.0
}

/// Ray casting: is `(x, y)` inside the ring?
fn inside(ring: &[[f64; 2]], x: f64, y: f64) -> bool {
    let mut odd = false;
    for w in ring.windows(2) {
        let ([x1, y1], [x2, y2]) = (w[0], w[1]);
        if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
            odd = !odd;
        }
    }
    odd
}

/// An external message as the user gives it: the content is hashed here (R15).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageIn {
    /// The counterpart authority.
    pub authority: String,
    /// Channel (phone, e-mail, secure messaging…).
    pub channel: String,
    /// Our reference.
    pub our_ref: String,
    /// Their reference (required on replies).
    #[serde(default)]
    pub their_ref: Option<String>,
    /// The content as sent or received.
    pub content: String,
}

impl MessageIn {
    fn message(&self, at: Timestamp) -> Message {
        Message {
            authority: self.authority.trim().to_owned(),
            channel: self.channel.trim().to_owned(),
            our_ref: self.our_ref.trim().to_owned(),
            their_ref: self.their_ref.as_ref().map(|r| r.trim().to_owned()),
            at,
            content_sha256: sha256_hex(self.content.as_bytes()),
        }
    }
}

/// A file captured with an exhibit, as recorded in the log: its bytes are kept in the store,
/// addressed by this hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Its name.
    pub name: String,
    /// SHA-256 at capture.
    pub sha256: String,
}

/// An interpreter at an interview (R54).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Interpreter {
    /// The language interpreted.
    pub language: String,
    /// Who (name and accreditation).
    pub id: String,
}

/// An interview as the case file keeps it (content restricted to the recording).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InterviewRecord {
    /// The person.
    pub tag: String,
    /// Witness or suspect.
    pub as_suspect: bool,
    /// Language.
    pub language: String,
    /// Interpreter, if any.
    pub interpreter: Option<Interpreter>,
    /// Legal advice given.
    pub legal_advice_given: bool,
    /// Recording hash.
    pub recording_sha256: Option<String>,
    /// Interviewer and when.
    pub by: (String, Timestamp),
}

/// Every change to a case file (the `details.case_action` of its log entry; `type` says which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Open an article-8 case on a suspect vessel (R01).
    OpenArt8 {
        /// The vessel (name, MMSI, description).
        target: String,
        /// What kind of vessel it is.
        vessel_kind: VesselKind,
        /// The grounds for suspicion.
        grounds: String,
    },
    /// Notify the flag State and ask it to confirm registry (R02, R15).
    NotifyFlagState {
        /// Case number (1…).
        case: usize,
        /// Claimed flag, ISO 3166 alpha-2.
        flag: String,
        /// The message.
        message: MessageIn,
    },
    /// The flag State's registry reply (R15).
    RegistryReply {
        /// Case number.
        case: usize,
        /// Registry confirmed.
        confirmed: bool,
        /// The reply.
        message: MessageIn,
    },
    /// Request authorization for measures.
    RequestAuthorization {
        /// Case number.
        case: usize,
        /// The measures asked for.
        measures: Vec<MeasureKind>,
        /// The request.
        message: MessageIn,
    },
    /// The flag State's authorization (R03, R61).
    RecordAuthorization {
        /// Case number.
        case: usize,
        /// Its reference.
        reference: String,
        /// The official who issued it.
        issued_by: String,
        /// Measures authorized.
        measures: Vec<MeasureKind>,
        /// Conditions imposed, each in words.
        conditions: Vec<String>,
        /// Valid for this many hours from its grant (absent: not limited).
        #[serde(default)]
        valid_hours: Option<f64>,
        /// The same reply confirms registry.
        #[serde(default)]
        registry_in_same_reply: bool,
        /// The reply.
        message: MessageIn,
    },
    /// Art. 8(7): the vessel is without nationality (R14).
    StatelessDetermination {
        /// Case number.
        case: usize,
        /// The facts.
        facts: String,
    },
    /// The executing commander acknowledges a condition (R09).
    AcknowledgeCondition {
        /// Case number.
        case: usize,
        /// Condition number (1…).
        condition: usize,
    },
    /// A unit boards (R04, R09, R11).
    Board {
        /// Case number.
        case: usize,
        /// The unit.
        unit: String,
    },
    /// The search begins (R05).
    Search {
        /// Case number.
        case: usize,
    },
    /// The search's outcome (R13).
    SearchOutcome {
        /// Case number.
        case: usize,
        /// Evidence of smuggling found.
        evidence: bool,
        /// Damage or delay caused, if any.
        #[serde(default)]
        damage_or_delay: Option<String>,
    },
    /// The boarding report's persons-welfare section (R12).
    FinaliseBoarding {
        /// Case number.
        case: usize,
        /// The section.
        welfare: Welfare,
    },
    /// A measure (R06, R07, R11).
    Measure {
        /// Case number.
        case: usize,
        /// What.
        kind: MeasureKind,
        /// The unit taking it.
        unit: String,
    },
    /// A condition's compliance (R09).
    ConditionCompliance {
        /// Case number.
        case: usize,
        /// Condition number (1…).
        condition: usize,
        /// Complied with.
        complied: bool,
    },
    /// Results reported to the flag State, naming every measure (R10).
    ReportResults {
        /// Case number.
        case: usize,
        /// The report.
        message: MessageIn,
    },
    /// The compensation review's decision (R13).
    DecideCompensation {
        /// Case number.
        case: usize,
        /// The decision.
        decision: String,
    },
    /// Close the case (R09, R10, R12, R13).
    CloseArt8 {
        /// Case number.
        case: usize,
    },
    /// Withdraw the case (R16).
    WithdrawArt8 {
        /// Case number.
        case: usize,
        /// Why.
        reason: String,
        /// The withdrawal sent to the flag State, if it was contacted.
        #[serde(default)]
        message: Option<MessageIn>,
    },
    /// A life-saving action beyond any authorization (R07, R21).
    ImminentDanger {
        /// The case it concerns, if any.
        #[serde(default)]
        case: Option<usize>,
        /// What was done.
        action: String,
        /// The danger.
        danger: String,
        /// Persons at risk.
        persons_at_risk: u32,
    },
    /// Persons rescued on board a unit: each is tagged now (R31).
    Rescue {
        /// The unit.
        unit: String,
        /// How many.
        count: u32,
    },
    /// A headcount (R32).
    Headcount {
        /// The unit.
        unit: String,
        /// Counted alive.
        alive: u32,
        /// Counted deceased.
        deceased: u32,
    },
    /// A vulnerability flag (R39).
    Vulnerability {
        /// The person.
        tag: String,
        /// The flag.
        flag: Vulnerability,
    },
    /// A person asked for protection (R24, R40, R41).
    Asylum {
        /// The person.
        tag: String,
        /// What they said (restricted to the protection officer).
        summary: String,
        /// States they fear.
        blocked_states: Vec<String>,
    },
    /// [`Action::Asylum`] as the log keeps it: what the person said and the States they fear
    /// are in the store's restricted records (R40), the log holds their SHA-256 only, so the
    /// log can be read and exported without them and still proves they were not changed.
    AsylumRestricted {
        /// The person.
        tag: String,
        /// SHA-256 of the restricted record (`{"summary", "blocked_states"}`).
        record_sha256: String,
    },
    /// A referral of a person to an authority or agency (asylum, child protection, medical,
    /// victims of trafficking).
    Referral {
        /// The person.
        tag: String,
        /// To whom.
        to: String,
        /// Why (codes of DOMAIN.md §3.2: `UASC`, `MED_EMERG`, `VOT`, `ASYLUM`…).
        reasons: Vec<String>,
    },
    /// Persons handed over to another unit (R33).
    TransferOut {
        /// The persons.
        tags: Vec<String>,
        /// From.
        from: String,
        /// To.
        to: String,
    },
    /// Their receipt (R33).
    TransferReceived {
        /// The transfer number.
        transfer: u32,
        /// The persons received.
        tags: Vec<String>,
    },
    /// The place of safety (R23).
    PlaceOfSafety {
        /// Port or facility.
        name: String,
        /// Its State.
        state: String,
        /// Is it the assisting unit itself?
        #[serde(default)]
        assisting_unit: bool,
        /// Why this place.
        rationale: String,
    },
    /// A protection override for one person and one State (R24).
    ProtectionOverride {
        /// The person.
        tag: String,
        /// The State.
        state: String,
        /// Why.
        justification: String,
    },
    /// Persons on board a unit land at the place of safety (R23, R24, R39).
    Disembark {
        /// The unit.
        unit: String,
    },
    /// An investigator's decision that a person is a suspect (R36).
    Suspect {
        /// The person.
        tag: String,
        /// Offences (never being smuggled).
        offences: Vec<Offence>,
        /// Grounds.
        grounds: String,
    },
    /// Evidence seized (R43, R44, R46, R48).
    Seize {
        /// What.
        description: String,
        /// Where on board.
        found: String,
        /// The seal number.
        seal: String,
        /// Where it is held.
        place: String,
        /// Files captured (their bytes are in the store).
        files: Vec<FileRef>,
        /// The art-8 case it was seized under (its authorization or determination is the
        /// legal basis, R44); absent: `legal_basis` says.
        #[serde(default)]
        case: Option<usize>,
        /// Another legal basis (coastal jurisdiction, a warrant…), when no case.
        #[serde(default)]
        legal_basis: Option<String>,
    },
    /// An exhibit handed over (R45, R46, R47).
    CustodyTransfer {
        /// The exhibit.
        exhibit: String,
        /// To whom.
        to: String,
        /// The seal as seen.
        seal: String,
        /// Where.
        place: String,
    },
    /// A mutual legal assistance request sent (R53: the contents UNTOC art. 18(15) requires).
    MlaRequest {
        /// The central authority it goes to.
        to: String,
        /// Our reference.
        our_ref: String,
        /// (a) The authority making the request.
        requesting_authority: String,
        /// (b) Subject matter and nature of the investigation, and the authority conducting it.
        subject_and_nature: String,
        /// (c) Summary of the relevant facts (not needed to serve judicial documents).
        #[serde(default)]
        facts_summary: String,
        /// (d) The assistance sought, and any procedure to follow.
        assistance_sought: String,
        /// (e) Identity, location and nationality of any person concerned, where possible.
        #[serde(default)]
        persons_concerned: Option<String>,
        /// (f) The purpose for which the evidence, information or action is sought.
        purpose: String,
        /// The request is only to serve judicial documents.
        #[serde(default)]
        service_of_documents: bool,
    },
    /// A witness or suspect interview recorded (R54); its content stays in the recording.
    Interview {
        /// The person.
        tag: String,
        /// Witness or suspect.
        as_suspect: bool,
        /// The language of the interview.
        language: String,
        /// Languages the interviewer speaks.
        interviewer_languages: Vec<String>,
        /// The interpreter: language and identity.
        #[serde(default)]
        interpreter: Option<Interpreter>,
        /// Legal advice given (or offered): the flag must be set either way.
        #[serde(default)]
        legal_advice_given: Option<bool>,
        /// SHA-256 of the recording, kept as evidence.
        #[serde(default)]
        recording_sha256: Option<String>,
    },
    /// An item of information exchanged with a partner State (art. 10), under its
    /// originator's caveat (R49, R50).
    InfoItem {
        /// What it says.
        content: String,
        /// Usable as evidence, or intelligence only (never in a court export, R49).
        evidence: bool,
        /// The originating State (ISO 3166 alpha-2).
        originator: String,
        /// The originator's reference.
        originator_ref: String,
        /// Purposes it may be used for: `sar`, `intelligence`, `statistics`,
        /// `investigation` or `prosecution` (of this incident).
        purposes: Vec<String>,
        /// States it may be shared with.
        recipients: Vec<String>,
        /// Not to be passed on by a recipient.
        #[serde(default)]
        no_further_dissemination: bool,
        /// Exculpatory for someone (disclosure follows R51).
        #[serde(default)]
        exculpatory: bool,
        /// How the log keeps it: the content is in the store's restricted records under
        /// this SHA-256 (`content` then empty), out of the log that many roles read (R50).
        #[serde(default)]
        content_sha256: Option<String>,
    },
    /// Release an item to a partner State's liaison officers (checked against its caveat,
    /// R50).
    Release {
        /// The item (`IX-1`…).
        item: String,
        /// The State.
        to_state: String,
    },
    /// The originator consents to another purpose (R50).
    OriginatorConsent {
        /// The item.
        item: String,
        /// The purpose added.
        purpose: String,
        /// The consent's reference.
        reference: String,
    },
    /// Notice to the originator of a disclosure: before it, or after it with why it could
    /// not be given before (R51).
    DisclosureNotice {
        /// The item.
        item: String,
        /// Given before the disclosure.
        before: bool,
        /// The notice's reference, or why it came only after.
        text: String,
    },
    /// A request from another State where we are the flag State (art. 8(4)): answered
    /// expeditiously, its latency against the SLA (R17).
    IncomingRequest {
        /// The requesting State.
        requesting_state: String,
        /// Its authority.
        authority: String,
        /// Their reference.
        their_ref: String,
        /// Our reference.
        our_ref: String,
    },
    /// Our registry checked for the vessel claimed.
    IncomingRegistry {
        /// The request number (1…).
        request: usize,
        /// What the registry says.
        result: super::flag_state::RegistryResult,
        /// The registry evidence consulted.
        evidence: String,
    },
    /// Our decision on the request.
    IncomingDecision {
        /// The request number.
        request: usize,
        /// Measures granted (none: refused).
        measures: Vec<MeasureKind>,
        /// Conditions attached.
        #[serde(default)]
        conditions: Vec<String>,
        /// We reserve jurisdiction.
        #[serde(default)]
        jurisdiction_reserved: bool,
    },
    /// Our answer sent.
    IncomingRespond {
        /// The request number.
        request: usize,
    },
    /// The requesting State's results report received.
    IncomingResults {
        /// The request number.
        request: usize,
    },
    /// Its receipt (R45, R46, R47).
    CustodyReceive {
        /// The exhibit.
        exhibit: String,
        /// The seal as seen.
        seal: String,
    },
}

impl Action {
    /// The log's event type for this action.
    pub fn event(&self) -> EventType {
        use Action::*;
        match self {
            OpenArt8 { .. } | SearchOutcome { .. } | DecideCompensation { .. } => {
                EventType::Decision
            }
            CloseArt8 { .. } | WithdrawArt8 { .. } | StatelessDetermination { .. } => {
                EventType::Decision
            }
            Suspect { .. } | ProtectionOverride { .. } | Vulnerability { .. } => {
                EventType::Decision
            }
            Asylum { .. } | AsylumRestricted { .. } | Referral { .. } => EventType::Decision,
            NotifyFlagState { .. } | RequestAuthorization { .. } | ReportResults { .. } => {
                EventType::MessageOut
            }
            RegistryReply { .. } => EventType::MessageIn,
            RecordAuthorization { .. } => EventType::AuthorizationRecorded,
            AcknowledgeCondition { .. } | ConditionCompliance { .. } => {
                EventType::ConditionAcknowledged
            }
            Board { .. } => EventType::BoardingStart,
            FinaliseBoarding { .. } => EventType::BoardingEnd,
            Search { .. } => EventType::Search,
            Measure { .. } => EventType::Measure,
            ImminentDanger { .. } => EventType::ImminentDangerAction,
            Rescue { .. } | Headcount { .. } => EventType::Headcount,
            TransferOut { .. } | TransferReceived { .. } => EventType::Transfer,
            PlaceOfSafety { .. } => EventType::PlaceOfSafetyDecision,
            Disembark { .. } => EventType::Disembarkation,
            Seize { .. } => EventType::EvidenceSeized,
            MlaRequest { .. } | Release { .. } | DisclosureNotice { .. } => EventType::MessageOut,
            InfoItem { .. } | OriginatorConsent { .. } => EventType::MessageIn,
            IncomingRequest { .. } | IncomingResults { .. } => EventType::MessageIn,
            IncomingRegistry { .. } | IncomingDecision { .. } => EventType::Decision,
            IncomingRespond { .. } => EventType::MessageOut,
            Interview { .. } => EventType::Note,
            CustodyTransfer { .. } | CustodyReceive { .. } => EventType::CustodyEvent,
        }
    }

    /// The roles that may take this action (DOMAIN.md §5; R14, R36, R59, R60).
    pub fn roles(&self) -> &'static [Role] {
        roles_for(&action_type(self))
    }

    /// True for the forms only the log keeps, which name a restricted record by its hash
    /// ([`Action::AsylumRestricted`], an [`Action::InfoItem`] with `content_sha256`): the
    /// store makes them from the action a user takes, and refuses them from anyone else,
    /// since naming a record would load it.
    pub fn names_restricted_record(&self) -> bool {
        matches!(
            self,
            Action::AsylumRestricted { .. }
                | Action::InfoItem {
                    content_sha256: Some(_),
                    ..
                }
        )
    }

    /// True for the actions of a rescue, never blocked (R21).
    pub fn rescue(&self) -> bool {
        use Action::*;
        matches!(
            self,
            ImminentDanger { .. }
                | Rescue { .. }
                | Headcount { .. }
                | TransferOut { .. }
                | TransferReceived { .. }
                | Vulnerability { .. }
        )
    }

    /// True when the action happens somewhere at sea (R18: its zone is stored).
    pub fn at_sea(&self) -> bool {
        use Action::*;
        matches!(
            self,
            Board { .. }
                | Search { .. }
                | Measure { .. }
                | ImminentDanger { .. }
                | Rescue { .. }
                | Seize { .. }
                | TransferOut { .. }
        )
    }
}

/// Who acts, as recorded in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// The user.
    pub user: String,
    /// Their role at the time.
    pub role: Role,
}

/// The place of safety decided (R23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlaceDecision {
    /// Port or facility.
    pub name: String,
    /// Its State.
    pub state: String,
    /// Why.
    pub rationale: String,
    /// Who decided, when.
    pub decided: (String, Timestamp),
}

/// A disembarkation (DOMAIN.md §9 `Disembarkation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disembarkation {
    /// The unit.
    pub unit: String,
    /// The port.
    pub port: String,
    /// When.
    pub at: Timestamp,
    /// Who, in landing order (medical emergencies first, families together, R39).
    pub tags: Vec<String>,
}

/// An incident's case file, folded from its interception log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFile {
    /// The incident.
    pub incident: String,
    /// Article-8 cases, numbered from 1, with their targets.
    pub art8: Vec<(String, Art8Case)>,
    /// The persons rescued.
    pub roster: Roster,
    /// The place of safety.
    pub place_of_safety: Option<PlaceDecision>,
    /// Protection overrides: tag, State, justification (R24).
    pub overrides: Vec<(String, String, String)>,
    /// Disembarkations.
    pub disembarkations: Vec<Disembarkation>,
    /// The evidence register.
    pub register: Register,
    /// Legal reviews raised (R18): the log entry and why.
    pub legal_reviews: Vec<(u64, String)>,
    /// Mutual legal assistance requests sent: to, our reference, when.
    pub mla_requests: Vec<(String, String, Timestamp)>,
    /// Interviews (R54).
    pub interviews: Vec<InterviewRecord>,
    /// Information exchanged with partner States, under caveats (R49–R52).
    pub items: Vec<super::caveat::Item>,
    /// Requests where we are the flag State (art. 8(4), R17).
    pub incoming: Vec<super::flag_state::IncomingRequest>,
    /// Referrals: person, to whom, why, by whom, when.
    pub referrals: Vec<(String, String, Vec<String>, String, Timestamp)>,
    /// Entries that no longer apply on replay (tampering, or a store out of step).
    pub problems: Vec<String>,
}

/// The key of a log entry's `details` that holds its [`Action`] (next to `produced` and
/// `legal_review`).
pub const DETAILS_KEY: &str = "case_action";

/// What an asylum expression's restricted record holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictedAsylum {
    /// What the person said.
    pub summary: String,
    /// The States they fear.
    pub blocked_states: Vec<String>,
}

/// What kind of restricted record: each is loaded only by its own kind's action, in its own
/// incident (a client never names one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictedKind {
    /// What a person said asking for protection and the States they fear (R40).
    Asylum,
    /// The content of an item exchanged with a partner State (R50).
    InfoItem,
}

impl RestrictedKind {
    /// Its name in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictedKind::Asylum => "asylum",
            RestrictedKind::InfoItem => "info_item",
        }
    }
}

/// A restricted record as stored: bound to its kind and incident, salted so that its hash
/// (which the log keeps, and reports print) cannot be used to confirm a guess of what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictedRecord {
    /// Its kind.
    pub kind: RestrictedKind,
    /// The incident it belongs to.
    pub incident: String,
    /// 128 random bits, hex.
    pub salt: String,
    /// What it holds: a [`RestrictedAsylum`], or an exchanged item's content.
    pub body: serde_json::Value,
}

impl RestrictedRecord {
    /// A new record of `kind` for `incident`, with a fresh salt; its stored JSON.
    pub fn seal(kind: RestrictedKind, incident: &str, body: serde_json::Value) -> String {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the operating system's random source");
        serde_json::to_string(&RestrictedRecord {
            kind,
            incident: incident.to_owned(),
            salt: salt.iter().map(|b| format!("{b:02x}")).collect(),
            body,
        })
        .expect("restricted records serialize")
    }
}

/// What the store supplies to apply an action: signing keys, evidence files and restricted
/// records.
pub trait Keys {
    /// The user's signing key: `None` when they have none and none may be made now (a
    /// replay signs with the keys the live actions made).
    fn signing_key(&self, user: &str) -> Option<SigningKey>;
    /// True while a live action is applied; false while a log is replayed, when evidence
    /// bytes are never read again (their hashes were checked when the action was taken).
    fn live(&self) -> bool;
    /// A stored file's size in bytes by SHA-256, without reading it.
    fn file_size(&self, sha256: &str) -> Option<u64>;
    /// A file's bytes by SHA-256, as stored (read only by live actions that re-verify
    /// evidence, R47).
    fn file(&self, sha256: &str) -> Option<Vec<u8>>;
    /// A restricted record (JSON) by SHA-256, as stored, if it is of `kind` and belongs to
    /// `incident`.
    fn restricted(&self, sha256: &str, kind: RestrictedKind, incident: &str) -> Option<String>;
}

/// The reference facts an action was judged on (zone, a flag State's Protocol status, a
/// unit's capabilities), recorded with it: a replay judges it on the same facts however the
/// reference data changes later (a State ratifies, a unit leaves the fleet).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Facts {
    /// Maritime zone kind and State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone: Option<(String, String)>,
    /// The flag State was a party to the Protocol on the date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flag_party: Option<bool>,
    /// The unit as the Protocol saw it (R11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<Unit>,
}

impl Facts {
    /// True when nothing was looked up.
    pub fn is_empty(&self) -> bool {
        self.zone.is_none() && self.flag_party.is_none() && self.unit.is_none()
    }

    fn unit(&mut self, reference: &Reference, name: &str) -> Unit {
        self.unit
            .get_or_insert_with(|| reference.unit(name))
            .clone()
    }
}

/// What an applied action adds to its log entry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Applied {
    /// The reference facts it was judged on (`details.facts`).
    pub facts: Facts,
    /// The maritime zone, `kind:STATE` (R18).
    pub zone: Option<String>,
    /// A legal review raised (R18).
    pub legal_review: Option<String>,
    /// What the action produced (tags issued, an exhibit number, a transfer number).
    pub produced: Option<serde_json::Value>,
}

impl CaseFile {
    /// An empty case file.
    pub fn new(incident: &str) -> CaseFile {
        CaseFile {
            incident: incident.to_owned(),
            art8: Vec::new(),
            roster: Roster::default(),
            place_of_safety: None,
            overrides: Vec::new(),
            disembarkations: Vec::new(),
            register: Register::new(incident),
            legal_reviews: Vec::new(),
            mla_requests: Vec::new(),
            interviews: Vec::new(),
            items: Vec::new(),
            referrals: Vec::new(),
            incoming: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Rebuild from an interception log: every entry whose `details.action` is an
    /// [`Action`] is applied again as it was recorded; one that is refused now is a problem.
    pub fn replay(
        incident: &str,
        entries: &[LogEntry],
        reference: &Reference,
        keys: &dyn Keys,
    ) -> CaseFile {
        let mut f = CaseFile::new(incident);
        let chain = super::log::verify(
            &super::log::InterceptionLog {
                incident: incident.to_owned(),
                entries: entries.to_vec(),
            },
            None,
        );
        if let Some((n, why)) = chain.first_break {
            f.problems.push(format!(
                "the log's hash chain is broken at entry {n}: {why}"
            ));
        }
        for e in entries {
            let Some(a) = e.entry.details.get(DETAILS_KEY) else {
                continue;
            };
            let action: Action = match serde_json::from_value(a.clone()) {
                Ok(a) => a,
                Err(err) => {
                    f.problems
                        .push(format!("entry {}: action unreadable: {err}", e.seq));
                    continue;
                }
            };
            let who = match e.entry.actor.role.parse::<Role>() {
                Ok(role) => Who {
                    user: e.entry.actor.user.clone(),
                    role,
                },
                Err(err) => {
                    f.problems.push(format!("entry {}: {err}", e.seq));
                    continue;
                }
            };
            let pos = e.entry.position.map(|p| (p.lat, p.lon));
            // Judged on the facts recorded with it, not on today's reference data.
            let facts: Facts = e
                .entry
                .details
                .get("facts")
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            match f.apply_in_place(
                &action,
                &who,
                e.entry.occurred_at,
                e.recorded_at,
                pos,
                e.seq,
                reference,
                keys,
                facts,
            ) {
                Err(r) => f
                    .problems
                    .push(format!("entry {} no longer applies: {r}", e.seq)),
                Ok(a) => {
                    let logged = e
                        .entry
                        .details
                        .get("produced")
                        .and_then(|p| p.get("manifest"));
                    let now = a.produced.as_ref().and_then(|p| p.get("manifest"));
                    if logged.is_some() && logged != now {
                        f.problems.push(format!(
                            "entry {}: the evidence manifest signed then was {}, replaying gives {}: a signing key or the register was changed",
                            e.seq,
                            logged.and_then(|v| v.as_str()).unwrap_or("?"),
                            now.and_then(|v| v.as_str()).unwrap_or("none")
                        ));
                    }
                }
            }
        }
        f
    }

    fn case(&mut self, n: usize) -> Result<&mut Art8Case, Refused> {
        self.art8
            .get_mut(n.wrapping_sub(1))
            .map(|(_, c)| c)
            .ok_or_else(|| refuse("state", format!("no article-8 case {n}")))
    }

    fn actor(who: &Who) -> art8::Actor {
        use art8::Role as A;
        art8::Actor {
            name: who.user.clone(),
            role: match who.role {
                Role::BoardingOfficer => A::PatrolCommander,
                Role::DutyOfficer => A::DutyOfficer,
                Role::LegalAdviser => A::LegalAdviser,
                Role::WatchOfficer => A::WatchOfficer,
                _ => A::Commander,
            },
        }
    }

    /// Apply `action` by `who`, which happened at `at` (at `pos`, if given) and is recorded
    /// at `recorded_at` as log entry `seq`. Refused: nothing changes.
    #[allow(clippy::too_many_arguments)]
    pub fn apply(
        &mut self,
        action: &Action,
        who: &Who,
        at: Timestamp,
        recorded_at: Timestamp,
        pos: Option<(f64, f64)>,
        seq: u64,
        reference: &Reference,
        keys: &dyn Keys,
    ) -> Result<Applied, Refused> {
        let mut next = self.clone();
        let a = next.apply_in_place(
            action,
            who,
            at,
            recorded_at,
            pos,
            seq,
            reference,
            keys,
            Facts::default(),
        )?;
        *self = next;
        Ok(a)
    }

    /// [`CaseFile::apply`] without the copy that makes a refusal change nothing: the rules
    /// are checked before anything changes, but an integrity incident found on the way is
    /// kept. For replays and for a file about to be discarded on refusal (the store's).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn apply_in_place(
        &mut self,
        action: &Action,
        who: &Who,
        at: Timestamp,
        recorded_at: Timestamp,
        pos: Option<(f64, f64)>,
        seq: u64,
        reference: &Reference,
        keys: &dyn Keys,
        mut facts: Facts,
    ) -> Result<Applied, Refused> {
        if !action.roles().contains(&who.role) {
            let rule = match (who.role, action) {
                (Role::Auditor, _) => "R59",
                (_, Action::StatelessDetermination { .. }) => "R14",
                (_, Action::Suspect { .. }) => "R36",
                (Role::WatchOfficer | Role::SarCoordinator, Action::Seize { .. })
                | (
                    Role::WatchOfficer | Role::SarCoordinator,
                    Action::CustodyTransfer { .. } | Action::CustodyReceive { .. },
                )
                | (Role::Investigator, Action::Rescue { .. } | Action::PlaceOfSafety { .. }) => {
                    "R60"
                }
                _ => "role",
            };
            return Err(refuse(
                rule,
                format!(
                    "a {} may not {}",
                    who.role.as_str().replace('_', " "),
                    action_name(action)
                ),
            ));
        }
        let mut applied = Applied::default();
        if let Some((lat, lon)) = pos {
            let (kind, state) = facts
                .zone
                .get_or_insert_with(|| reference.zone(lat, lon))
                .clone();
            applied.zone = Some(if state.is_empty() {
                kind.clone()
            } else {
                format!("{kind}:{state}")
            });
            if matches!(kind.as_str(), "territorial_sea" | "internal_waters")
                && !state.eq_ignore_ascii_case(&reference.own_state)
            {
                applied.legal_review = Some(format!(
                    "{} in the {} of {state}: the coastal State's sovereignty applies (art. 9(3)); legal review",
                    action_name(action),
                    kind.replace('_', " ")
                ));
            }
        } else if action.at_sea() {
            return Err(refuse(
                "R18",
                format!("{} happens at sea: give the position", action_name(action)),
            ));
        }
        let next = self;
        let manifests = next.register.manifests.len();
        applied.produced =
            next.apply_inner(action, who, at, recorded_at, reference, keys, &mut facts)?;
        // A signed manifest is anchored in the hash-chained log: its hash goes in the entry,
        // so a later change of a key, a file or the manifest itself shows on replay.
        if next.register.manifests.len() > manifests
            && let Some(m) = next.register.manifests.last()
        {
            let mut p = applied
                .produced
                .take()
                .unwrap_or_else(|| serde_json::json!({}));
            p["manifest"] = m.hash.clone().into();
            applied.produced = Some(p);
        }
        if let Some(why) = &applied.legal_review {
            next.legal_reviews.push((seq, why.clone()));
        }
        applied.facts = facts;
        Ok(applied)
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_inner(
        &mut self,
        action: &Action,
        who: &Who,
        at: Timestamp,
        recorded_at: Timestamp,
        reference: &Reference,
        keys: &dyn Keys,
        facts: &mut Facts,
    ) -> Result<Option<serde_json::Value>, Refused> {
        use Action::*;
        let by = Self::actor(who);
        let json = |v: serde_json::Value| Ok(Some(v));
        match action {
            OpenArt8 {
                target,
                vessel_kind,
                grounds,
            } => {
                if target.trim().is_empty() {
                    return Err(refuse("S0", "name the target vessel"));
                }
                let c = Art8Case::open(*vessel_kind, grounds, by, at, recorded_at)?;
                self.art8.push((target.trim().to_owned(), c));
                json(serde_json::json!({"case": self.art8.len()}))
            }
            NotifyFlagState {
                case,
                flag,
                message,
            } => {
                let party = match facts.flag_party {
                    Some(p) => p,
                    None => {
                        reference.som_party(flag, at.to_zoned(jiff::tz::TimeZone::UTC).date())?
                    }
                };
                facts.flag_party = Some(party);
                let flag = flag.trim().to_ascii_uppercase();
                self.case(*case)?.notify_flag_state(
                    &flag,
                    party,
                    message.message(at),
                    by,
                    recorded_at,
                )?;
                Ok(None)
            }
            RegistryReply {
                case,
                confirmed,
                message,
            } => {
                self.case(*case)?.registry_reply(
                    *confirmed,
                    message.message(at),
                    by,
                    recorded_at,
                )?;
                Ok(None)
            }
            RequestAuthorization {
                case,
                measures,
                message,
            } => {
                self.case(*case)?.request_authorization(
                    measures,
                    message.message(at),
                    by,
                    recorded_at,
                )?;
                Ok(None)
            }
            RecordAuthorization {
                case,
                reference: r,
                issued_by,
                measures,
                conditions,
                valid_hours,
                registry_in_same_reply,
                message,
            } => {
                if r.trim().is_empty() || issued_by.trim().is_empty() {
                    return Err(refuse(
                        "S4a",
                        "an authorization has a reference and the official who issued it",
                    ));
                }
                let valid_to = match valid_hours {
                    // At most a year: an authorization is for one operation.
                    Some(h) if h.is_finite() && *h > 0.0 && *h <= 8784.0 => Some(
                        at.checked_add(jiff::SignedDuration::from_secs_f64(h * 3600.0))
                            .map_err(|_| {
                                refuse("S4a", "the authorization would end after the year 9999")
                            })?,
                    ),
                    Some(_) => {
                        return Err(refuse(
                            "S4a",
                            "valid_hours: more than 0, at most 8784 (a year)",
                        ));
                    }
                    None => None,
                };
                let auth = Authorization {
                    reference: r.trim().to_owned(),
                    issued_by: issued_by.trim().to_owned(),
                    measures: measures.clone(),
                    conditions: conditions
                        .iter()
                        .filter(|c| !c.trim().is_empty())
                        .map(|c| Condition {
                            text: c.trim().to_owned(),
                            acknowledged: None,
                            complied: None,
                        })
                        .collect(),
                    valid_from: at,
                    valid_to,
                    deemed_under: None,
                };
                self.case(*case)?.authorized(
                    auth,
                    *registry_in_same_reply,
                    message.message(at),
                    by,
                    recorded_at,
                )?;
                Ok(None)
            }
            StatelessDetermination { case, facts } => {
                self.case(*case)?.stateless_determination(facts, by, at)?;
                Ok(None)
            }
            AcknowledgeCondition { case, condition } => {
                self.case(*case)?
                    .acknowledge_condition(condition.wrapping_sub(1), by, at)?;
                Ok(None)
            }
            Board { case, unit } => {
                let u = facts.unit(reference, unit);
                self.case(*case)?.board(u, by, at)?;
                Ok(None)
            }
            Search { case } => {
                self.case(*case)?.search(by, at)?;
                Ok(None)
            }
            SearchOutcome {
                case,
                evidence,
                damage_or_delay,
            } => {
                let d = damage_or_delay.as_deref().filter(|d| !d.trim().is_empty());
                self.case(*case)?.search_outcome(*evidence, d, by, at)?;
                Ok(None)
            }
            FinaliseBoarding { case, welfare } => {
                self.case(*case)?
                    .finalise_boarding(welfare.clone(), by, at)?;
                Ok(None)
            }
            Measure { case, kind, unit } => {
                let u = facts.unit(reference, unit);
                let c = self.case(*case)?;
                let id = format!("M-{}", c.measures.len() + 1);
                c.measure(&id, kind.clone(), &u, None, by, at)?;
                json(serde_json::json!({"measure": id}))
            }
            ConditionCompliance {
                case,
                condition,
                complied,
            } => {
                self.case(*case)?.condition_compliance(
                    condition.wrapping_sub(1),
                    *complied,
                    by,
                    at,
                )?;
                Ok(None)
            }
            ReportResults { case, message } => {
                let c = self.case(*case)?;
                let ids: Vec<String> = c.measures.iter().map(|(id, _, _)| id.clone()).collect();
                let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                c.report_results(&ids, message.message(at), by, recorded_at)?;
                Ok(None)
            }
            DecideCompensation { case, decision } => {
                self.case(*case)?.decide_compensation(decision, by, at)?;
                Ok(None)
            }
            CloseArt8 { case } => {
                self.case(*case)?.close(by, at)?;
                Ok(None)
            }
            WithdrawArt8 {
                case,
                reason,
                message,
            } => {
                let m = message.as_ref().map(|m| m.message(at));
                self.case(*case)?.withdraw(reason, m, by, at)?;
                Ok(None)
            }
            ImminentDanger {
                case,
                action,
                danger,
                persons_at_risk,
            } => {
                match case {
                    Some(n) => {
                        self.case(*n)?.imminent_danger_action(
                            action,
                            danger,
                            *persons_at_risk,
                            by,
                            at,
                        )?;
                    }
                    None if action.trim().is_empty()
                        || danger.trim().is_empty()
                        || *persons_at_risk == 0 =>
                    {
                        return Err(refuse(
                            "R07",
                            "an imminent-danger action states the action, the danger and the persons at risk",
                        ));
                    }
                    None => {}
                }
                Ok(None)
            }
            Rescue { unit, count } => {
                if *count == 0 || *count > 2000 || unit.trim().is_empty() {
                    return Err(refuse(
                        "R31",
                        "a rescue names the unit and tags 1 to 2000 persons",
                    ));
                }
                let tags: Vec<String> = (0..*count)
                    .map(|_| self.roster.tag(unit.trim(), at))
                    .collect();
                json(serde_json::json!({"tags": [tags.first(), tags.last()], "count": count}))
            }
            Headcount {
                unit,
                alive,
                deceased,
            } => {
                let d = self.roster.headcount(Count {
                    unit: unit.trim().to_owned(),
                    at,
                    alive: *alive,
                    deceased: *deceased,
                    by: who.user.clone(),
                });
                json(serde_json::json!({"discrepancy": d}))
            }
            Vulnerability { tag, flag } => {
                self.roster.flag(tag, flag.clone())?;
                Ok(None)
            }
            Asylum {
                tag,
                summary,
                blocked_states,
            } => {
                if summary.trim().is_empty() {
                    return Err(refuse("R40", "record what the person said"));
                }
                self.roster.asylum(
                    tag,
                    AsylumExpression {
                        at,
                        heard_by: who.user.clone(),
                        summary: summary.clone(),
                        blocked_states: blocked_states
                            .iter()
                            .map(|s| s.trim().to_ascii_uppercase())
                            .collect(),
                    },
                )?;
                Ok(None)
            }
            AsylumRestricted { tag, record_sha256 } => {
                let body = restricted(
                    keys,
                    record_sha256,
                    RestrictedKind::Asylum,
                    &self.incident,
                    "R40",
                )?;
                let r: RestrictedAsylum = serde_json::from_value(body)
                    .map_err(|e| refuse("R40", format!("restricted record unreadable: {e}")))?;
                self.apply_inner(
                    &Asylum {
                        tag: tag.clone(),
                        summary: r.summary,
                        blocked_states: r.blocked_states,
                    },
                    who,
                    at,
                    recorded_at,
                    reference,
                    keys,
                    facts,
                )
            }
            Referral { tag, to, reasons } => {
                if to.trim().is_empty() || reasons.is_empty() {
                    return Err(refuse(
                        "referral",
                        "a referral names the authority or agency and why",
                    ));
                }
                if !self.roster.persons.contains_key(tag) {
                    return Err(refuse("roster", format!("no person tagged {tag}")));
                }
                self.referrals.push((
                    tag.clone(),
                    to.trim().to_owned(),
                    reasons.clone(),
                    who.user.clone(),
                    at,
                ));
                Ok(None)
            }
            TransferOut { tags, from, to } => {
                let t: Vec<&str> = tags.iter().map(String::as_str).collect();
                let id = self.roster.transfer_out(&t, from, to, at)?;
                json(serde_json::json!({"transfer": id}))
            }
            TransferReceived { transfer, tags } => {
                let t: Vec<&str> = tags.iter().map(String::as_str).collect();
                self.roster
                    .transfer_received(*transfer, &t, &who.user, at)?;
                Ok(None)
            }
            PlaceOfSafety {
                name,
                state,
                assisting_unit,
                rationale,
            } => {
                if *assisting_unit {
                    return Err(refuse(
                        "R23",
                        "the assisting unit is a temporary refuge, never the place of safety (MSC.167 6.13)",
                    ));
                }
                if name.trim().is_empty() || state.trim().is_empty() || rationale.trim().is_empty()
                {
                    return Err(refuse(
                        "R23",
                        "a place of safety names the port, its State and why",
                    ));
                }
                self.place_of_safety = Some(PlaceDecision {
                    name: name.trim().to_owned(),
                    state: state.trim().to_ascii_uppercase(),
                    rationale: rationale.trim().to_owned(),
                    decided: (who.user.clone(), at),
                });
                Ok(None)
            }
            ProtectionOverride {
                tag,
                state,
                justification,
            } => {
                if justification.trim().is_empty() {
                    return Err(refuse("R24", "an override is justified"));
                }
                if !self.roster.persons.contains_key(tag) {
                    return Err(refuse("roster", format!("no person tagged {tag}")));
                }
                self.overrides.push((
                    tag.clone(),
                    state.trim().to_ascii_uppercase(),
                    justification.trim().to_owned(),
                ));
                Ok(None)
            }
            Disembark { unit } => {
                let Some(place) = self.place_of_safety.clone() else {
                    return Err(refuse(
                        "R23",
                        "a place of safety must be decided before anyone is disembarked",
                    ));
                };
                let order: Vec<String> = self
                    .roster
                    .disembarkation_order(unit)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                if order.is_empty() {
                    return Err(refuse("R32", format!("no one is on board {unit}")));
                }
                for tag in &order {
                    let feared = self.roster.persons[tag]
                        .asylum
                        .as_ref()
                        .is_some_and(|a| a.blocked_states.contains(&place.state));
                    let overridden = self
                        .overrides
                        .iter()
                        .any(|(t, s, _)| t == tag && *s == place.state);
                    if feared && !overridden {
                        return Err(refuse(
                            "R24",
                            format!(
                                "{tag} asked for protection from {}: disembarking there needs a protection override",
                                place.state
                            ),
                        ));
                    }
                }
                for tag in &order {
                    if let Some(p) = self.roster.persons.get_mut(tag) {
                        p.status = Status::Disembarked(place.name.clone());
                    }
                }
                self.disembarkations.push(Disembarkation {
                    unit: unit.clone(),
                    port: place.name.clone(),
                    at,
                    tags: order.clone(),
                });
                json(serde_json::json!({"disembarked": order.len(), "port": place.name}))
            }
            Suspect {
                tag,
                offences,
                grounds,
            } => {
                self.roster
                    .suspect(tag, Viewer::Investigator, &who.user, offences, grounds)?;
                Ok(None)
            }
            Seize {
                description,
                found,
                seal,
                place,
                files,
                case,
                legal_basis,
            } => {
                let basis = match (case, legal_basis) {
                    (Some(n), _) => {
                        let c = self.case(*n)?;
                        if let Some((adviser, when)) = &c.stateless_determination {
                            LegalBasis::Art8_7Determination(format!("{adviser} {when}"))
                        } else if let Some(a) = c
                            .authorization
                            .as_ref()
                            .filter(|a| a.covers(&MeasureKind::SeizeEvidence, at))
                        {
                            LegalBasis::Art8Authorization(a.reference.clone())
                        } else {
                            return Err(refuse(
                                "R44",
                                format!(
                                    "case {n} has no authorization covering evidence seizure now, nor an 8(7) determination"
                                ),
                            ));
                        }
                    }
                    (None, Some(b)) => LegalBasis::Other(b.clone()),
                    (None, None) => {
                        return Err(refuse("R44", "an exhibit is held on a stated legal basis"));
                    }
                };
                // What is seized is checked as it is taken; a replay applies what was
                // accepted then.
                if keys.live() {
                    let mut names = std::collections::BTreeSet::new();
                    let mut hashes = std::collections::BTreeSet::new();
                    for f in files {
                        if let Some(p) = super::export::file_name_problem(&f.name) {
                            return Err(refuse("R48", format!("file name {:?}: {p}", f.name)));
                        }
                        if !names.insert(f.name.as_str()) {
                            return Err(refuse(
                                "R48",
                                format!("file name {:?} is given twice", f.name),
                            ));
                        }
                        if !hashes.insert(f.sha256.as_str()) {
                            return Err(refuse(
                                "R48",
                                format!(
                                    "file {} ({}) is listed twice: a file is listed once per exhibit",
                                    f.name, f.sha256
                                ),
                            ));
                        }
                    }
                }
                // R48: each file as hashed when it was captured (the store keeps it by that
                // hash); its bytes are not read again here, nor on any replay.
                let mut records = Vec::with_capacity(files.len());
                for f in files {
                    let size = keys.file_size(&f.sha256).ok_or_else(|| {
                        refuse(
                            "R48",
                            format!("file {} ({}) is not in the store", f.name, f.sha256),
                        )
                    })?;
                    records.push(super::evidence::FileRecord {
                        name: f.name.clone(),
                        sha256: f.sha256.clone(),
                        size,
                    });
                }
                let key = keys.signing_key(&who.user).ok_or_else(|| {
                    refuse(
                        "R47",
                        format!("{} has no signing key in the store", who.user),
                    )
                })?;
                let number = self.register.seize(
                    description,
                    found,
                    basis,
                    records,
                    seal,
                    place,
                    &Officer {
                        name: &who.user,
                        key: &key,
                    },
                    at,
                )?;
                json(serde_json::json!({"exhibit": number}))
            }
            CustodyTransfer {
                exhibit,
                to,
                seal,
                place,
            } => {
                // R47: re-verified when it changes hands, not when the log is replayed.
                let files = keys.live().then(|| self.exhibit_files(exhibit, keys));
                let key = keys.signing_key(&who.user).ok_or_else(|| {
                    refuse(
                        "R47",
                        format!("{} has no signing key in the store", who.user),
                    )
                })?;
                self.register.transfer(
                    exhibit,
                    to,
                    seal,
                    place,
                    files.as_ref(),
                    &Officer {
                        name: &who.user,
                        key: &key,
                    },
                    at,
                )?;
                Ok(None)
            }
            MlaRequest {
                to,
                our_ref,
                requesting_authority,
                subject_and_nature,
                facts_summary,
                assistance_sought,
                persons_concerned: _,
                purpose,
                service_of_documents,
            } => {
                let missing: Vec<&str> = [
                    ("to", to.as_str()),
                    ("our_ref", our_ref.as_str()),
                    ("requesting_authority (a)", requesting_authority.as_str()),
                    ("subject_and_nature (b)", subject_and_nature.as_str()),
                    (
                        "facts_summary (c)",
                        if *service_of_documents {
                            "n/a"
                        } else {
                            facts_summary.as_str()
                        },
                    ),
                    ("assistance_sought (d)", assistance_sought.as_str()),
                    ("purpose (f)", purpose.as_str()),
                ]
                .into_iter()
                .filter(|(_, v)| v.trim().is_empty())
                .map(|(k, _)| k)
                .collect();
                if !missing.is_empty() {
                    return Err(refuse(
                        "R53",
                        format!(
                            "an MLA request is sent only with the contents of UNTOC art. 18(15): missing {}",
                            missing.join(", ")
                        ),
                    ));
                }
                self.mla_requests
                    .push((to.trim().to_owned(), our_ref.trim().to_owned(), at));
                Ok(None)
            }
            Interview {
                tag,
                as_suspect,
                language,
                interviewer_languages,
                interpreter,
                legal_advice_given,
                recording_sha256,
            } => {
                let Some(p) = self.roster.persons.get(tag) else {
                    return Err(refuse("roster", format!("no person tagged {tag}")));
                };
                if *as_suspect && p.suspect.is_none() {
                    return Err(refuse(
                        "R36",
                        format!(
                            "{tag} is interviewed as a suspect only after an investigator's suspect decision"
                        ),
                    ));
                }
                let shared = interviewer_languages
                    .iter()
                    .any(|l| l.trim().eq_ignore_ascii_case(language.trim()));
                if language.trim().is_empty()
                    || (!shared
                        && interpreter
                            .as_ref()
                            .is_none_or(|i| i.language.trim().is_empty() || i.id.trim().is_empty()))
                {
                    return Err(refuse(
                        "R54",
                        "the interview is in a language the interviewer does not speak: name the interpreter and their language",
                    ));
                }
                let Some(advice) = legal_advice_given else {
                    return Err(refuse("R54", "say whether legal advice was given"));
                };
                self.interviews.push(InterviewRecord {
                    tag: tag.clone(),
                    as_suspect: *as_suspect,
                    language: language.trim().to_owned(),
                    interpreter: interpreter.clone(),
                    legal_advice_given: *advice,
                    recording_sha256: recording_sha256.clone(),
                    by: (who.user.clone(), at),
                });
                Ok(None)
            }
            InfoItem {
                content,
                evidence,
                originator,
                originator_ref,
                purposes,
                recipients,
                no_further_dissemination,
                exculpatory,
                content_sha256,
            } => {
                let kept;
                let content = match content_sha256 {
                    Some(sha) => {
                        let body =
                            restricted(keys, sha, RestrictedKind::InfoItem, &self.incident, "R50")?;
                        kept = match body {
                            serde_json::Value::String(s) => s,
                            _ => {
                                return Err(refuse(
                                    "R50",
                                    format!("restricted record {sha} is not an item's content"),
                                ));
                            }
                        };
                        kept.as_str()
                    }
                    None => content.as_str(),
                };
                if content.trim().is_empty()
                    || originator.trim().is_empty()
                    || originator_ref.trim().is_empty()
                {
                    return Err(refuse(
                        "R50",
                        "an exchanged item says what it is, its originator and their reference",
                    ));
                }
                let purposes = purposes
                    .iter()
                    .map(|p| purpose(p, &self.incident))
                    .collect::<Result<Vec<_>, _>>()?;
                let id = format!("IX-{}", self.items.len() + 1);
                self.items.push(super::caveat::Item {
                    id: id.clone(),
                    content: content.trim().to_owned(),
                    evidential: if *evidence {
                        super::caveat::Evidential::Evidence
                    } else {
                        super::caveat::Evidential::IntelligenceOnly
                    },
                    caveat: super::caveat::Caveat {
                        originator: originator.trim().to_ascii_uppercase(),
                        originator_ref: originator_ref.trim().to_owned(),
                        purposes,
                        recipients: recipients
                            .iter()
                            .map(|r| r.trim().to_ascii_uppercase())
                            .collect(),
                        no_further_dissemination: *no_further_dissemination,
                        expires_at: None,
                    },
                    releases: Vec::new(),
                    consents: Vec::new(),
                    exculpatory: *exculpatory,
                    disclosure_notices: Vec::new(),
                });
                json(serde_json::json!({"item": id}))
            }
            Release { item, to_state } => {
                let incident = self.incident.clone();
                let i = self.item(item)?;
                let to = to_state.trim().to_ascii_uppercase();
                let d = super::caveat::check(
                    i,
                    &super::caveat::Request {
                        user: who.user.clone(),
                        state: reference.own_state.clone(),
                        liaison: false,
                        purpose: super::caveat::Purpose::Investigation(incident),
                        action: super::caveat::Action::Share(to.clone()),
                    },
                    at,
                );
                if let Some((rule, why)) = d.denied {
                    return Err(refuse(if rule == "R49" { "R49" } else { "R50" }, why));
                }
                i.releases.push((to, who.user.clone(), at));
                Ok(None)
            }
            OriginatorConsent {
                item,
                purpose: p,
                reference: r,
            } => {
                let p = purpose(p, &self.incident)?;
                if r.trim().is_empty() {
                    return Err(refuse("R50", "the originator's consent has a reference"));
                }
                self.item(item)?.consents.push((p, r.trim().to_owned()));
                Ok(None)
            }
            DisclosureNotice { item, before, text } => {
                if text.trim().is_empty() {
                    return Err(refuse(
                        "R51",
                        "a notice has its reference, or says why it could not be given before",
                    ));
                }
                self.item(item)?
                    .disclosure_notices
                    .push((*before, text.trim().to_owned()));
                Ok(None)
            }
            IncomingRequest {
                requesting_state,
                authority,
                their_ref,
                our_ref,
            } => {
                let r = super::flag_state::IncomingRequest::received(
                    requesting_state.trim(),
                    authority.trim(),
                    their_ref.trim(),
                    our_ref.trim(),
                    at,
                )
                .map_err(|e| refuse("R15", e.0))?;
                self.incoming.push(r);
                json(serde_json::json!({"request": self.incoming.len()}))
            }
            IncomingRegistry {
                request,
                result,
                evidence,
            } => {
                self.incoming_request(*request)?
                    .registry_checked(*result, evidence)
                    .map_err(|e| refuse("state", e.0))?;
                Ok(None)
            }
            IncomingDecision {
                request,
                measures,
                conditions,
                jurisdiction_reserved,
            } => {
                self.incoming_request(*request)?
                    .decide(
                        &who.user,
                        measures.clone(),
                        conditions.clone(),
                        *jurisdiction_reserved,
                    )
                    .map_err(|e| refuse("R03", e.0))?;
                Ok(None)
            }
            IncomingRespond { request } => {
                self.incoming_request(*request)?
                    .respond(at)
                    .map_err(|e| refuse("state", e.0))?;
                Ok(None)
            }
            IncomingResults { request } => {
                self.incoming_request(*request)?
                    .results_received(at)
                    .map_err(|e| refuse("state", e.0))?;
                Ok(None)
            }
            CustodyReceive { exhibit, seal } => {
                let files = keys.live().then(|| self.exhibit_files(exhibit, keys));
                let key = keys.signing_key(&who.user).ok_or_else(|| {
                    refuse(
                        "R47",
                        format!("{} has no signing key in the store", who.user),
                    )
                })?;
                self.register.receive(
                    exhibit,
                    seal,
                    files.as_ref(),
                    &Officer {
                        name: &who.user,
                        key: &key,
                    },
                    at,
                )?;
                Ok(None)
            }
        }
    }

    fn incoming_request(
        &mut self,
        n: usize,
    ) -> Result<&mut super::flag_state::IncomingRequest, Refused> {
        self.incoming
            .get_mut(n.wrapping_sub(1))
            .ok_or_else(|| refuse("state", format!("no incoming request {n}")))
    }

    /// SLA alerts of the requests where we are the flag State (R17), as of `now`.
    pub fn sla_alerts(&self, now: Timestamp, sla: jiff::SignedDuration) -> Vec<String> {
        self.incoming
            .iter()
            .filter_map(|r| r.sla_alert(now, sla))
            .collect()
    }

    fn item(&mut self, id: &str) -> Result<&mut super::caveat::Item, Refused> {
        self.items
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| refuse("R50", format!("no exchanged item {id}")))
    }

    /// An exhibit's files as held in the store now (name → bytes), for re-verification.
    pub fn exhibit_files(&self, exhibit: &str, keys: &dyn Keys) -> BTreeMap<String, Vec<u8>> {
        self.register
            .exhibits
            .get(exhibit)
            .map(|ex| {
                ex.files
                    .iter()
                    .filter_map(|f| Some((f.name.clone(), keys.file(&f.sha256)?)))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A restricted record of `kind` in `incident`, checked against the hash the log keeps; what
/// it holds. Records stored before they were sealed with their kind and incident are bare
/// (an asylum record's JSON, an item's content): the store binds those to the kind and
/// incident of the first entry that named them.
fn restricted(
    keys: &dyn Keys,
    sha256: &str,
    kind: RestrictedKind,
    incident: &str,
    rule: &'static str,
) -> Result<serde_json::Value, Refused> {
    let text = keys.restricted(sha256, kind, incident).ok_or_else(|| {
        refuse(
            rule,
            format!(
                "restricted record {sha256} is not in the store as a {} record of this incident",
                kind.as_str()
            ),
        )
    })?;
    if sha256_hex(text.as_bytes()) != sha256 {
        return Err(refuse(
            rule,
            format!("restricted record {sha256} was changed"),
        ));
    }
    match serde_json::from_str::<RestrictedRecord>(&text) {
        Ok(r) if r.kind == kind && r.incident == incident => Ok(r.body),
        Ok(_) => Err(refuse(
            rule,
            format!(
                "restricted record {sha256} is not a {} record of this incident",
                kind.as_str()
            ),
        )),
        Err(_) => Ok(match kind {
            RestrictedKind::Asylum => serde_json::from_str(&text)
                .map_err(|e| refuse(rule, format!("restricted record unreadable: {e}")))?,
            RestrictedKind::InfoItem => serde_json::Value::String(text),
        }),
    }
}

/// A purpose by name, for this incident (`investigation` and `prosecution` are of it).
fn purpose(name: &str, incident: &str) -> Result<super::caveat::Purpose, Refused> {
    use super::caveat::Purpose as P;
    Ok(match name.trim() {
        "sar" => P::Sar,
        "intelligence" => P::Intelligence,
        "statistics" => P::Statistics,
        "investigation" => P::Investigation(incident.to_owned()),
        "prosecution" => P::Prosecution(incident.to_owned()),
        other => {
            return Err(refuse(
                "R50",
                format!(
                    "purpose {other:?}: one of sar, intelligence, statistics, investigation, prosecution"
                ),
            ));
        }
    })
}

/// The action's `type` (`open_art8`, …).
pub fn action_type(a: &Action) -> String {
    let v = serde_json::to_value(a).unwrap_or_default();
    v.get("type")
        .and_then(|s| s.as_str())
        .unwrap_or("act")
        .to_owned()
}

/// The action in words, for refusals and the log.
pub fn action_name(a: &Action) -> String {
    action_type(a).replace('_', " ")
}

/// Every action type.
pub const ACTION_TYPES: &[&str] = &[
    "open_art8",
    "notify_flag_state",
    "registry_reply",
    "request_authorization",
    "record_authorization",
    "stateless_determination",
    "acknowledge_condition",
    "board",
    "search",
    "search_outcome",
    "finalise_boarding",
    "measure",
    "condition_compliance",
    "report_results",
    "decide_compensation",
    "close_art8",
    "withdraw_art8",
    "imminent_danger",
    "rescue",
    "headcount",
    "vulnerability",
    "asylum",
    "referral",
    "transfer_out",
    "transfer_received",
    "place_of_safety",
    "protection_override",
    "disembark",
    "suspect",
    "seize",
    "custody_transfer",
    "custody_receive",
    "mla_request",
    "interview",
    "info_item",
    "release",
    "incoming_request",
    "incoming_registry",
    "incoming_decision",
    "incoming_respond",
    "incoming_results",
    "originator_consent",
    "disclosure_notice",
];

/// The roles that may take an action of this `type` (DOMAIN.md §5; R14, R36, R59, R60):
/// the one table of who does what to a case file.
pub fn roles_for(action_type: &str) -> &'static [Role] {
    use Role::*;
    match action_type {
        "open_art8" => &[WatchOfficer, DutyOfficer, BoardingOfficer],
        // Messages with the flag State: the authority designated under art. 8(6).
        "notify_flag_state"
        | "registry_reply"
        | "request_authorization"
        | "record_authorization"
        | "report_results"
        | "withdraw_art8"
        | "close_art8"
        | "decide_compensation" => &[DutyOfficer],
        "stateless_determination" => &[LegalAdviser],
        "incoming_request" | "incoming_registry" | "incoming_decision" | "incoming_respond"
        | "incoming_results" => &[DutyOfficer],
        // On scene: the patrol commander / boarding officer.
        "acknowledge_condition"
        | "board"
        | "search"
        | "search_outcome"
        | "finalise_boarding"
        | "measure"
        | "condition_compliance" => &[BoardingOfficer],
        // Rescue first: every operational role may record a life-saving action (R21).
        "imminent_danger" => &[WatchOfficer, SarCoordinator, BoardingOfficer, DutyOfficer],
        "rescue" | "headcount" | "transfer_out" | "transfer_received" | "disembark" => {
            &[SarCoordinator, BoardingOfficer]
        }
        "vulnerability" => &[SarCoordinator, BoardingOfficer, ProtectionOfficer],
        "asylum" | "asylum_restricted" => &[ProtectionOfficer],
        // R24: a legal or protection override.
        "protection_override" => &[ProtectionOfficer, LegalAdviser],
        "referral" => &[ProtectionOfficer, SarCoordinator, BoardingOfficer],
        "place_of_safety" => &[SarCoordinator],
        "suspect" | "mla_request" | "interview" | "info_item" | "release"
        | "originator_consent" | "disclosure_notice" => &[Investigator],
        "seize" | "custody_transfer" | "custody_receive" => &[BoardingOfficer, Investigator],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::store::{CaseRefusal, Store};
    use crate::interception::art8::State;
    use crate::interception::log::{
        AppendError, LogActor, LogPosition, NewEntry, TimeSource, verify,
    };

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
            store: Store::in_memory().unwrap(),
            reference: Reference::default_demo(),
        }
    }

    /// An entry by `user` in `role`, at `pos`, when `occurred_at` (its `why` a placeholder).
    fn entry_by(
        user: &str,
        role: Role,
        pos: Option<(f64, f64)>,
        occurred_at: Timestamp,
    ) -> NewEntry {
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

    #[test]
    fn a_whole_interception_is_one_verified_log_and_replays_to_the_same_case_file() {
        let d = desk();
        use Role::*;
        d.ok(
            "owo",
            WatchOfficer,
            Action::OpenArt8 {
                target: "MV Aurora (MMSI 352001234)".into(),
                vessel_kind: VesselKind::Private,
                grounds: "met a rubber boat at sea, going dark".into(),
            },
        );
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
        let pos = |assisting_unit| Action::PlaceOfSafety {
            name: "cp-302".into(),
            state: "IT".into(),
            assisting_unit,
            rationale: "on board already".into(),
        };
        assert_eq!(d.rule("smc", Role::SarCoordinator, pos(true)), "R23");
        d.ok("smc", Role::SarCoordinator, pos(false));
        d.ok("bo", Role::BoardingOfficer, land);
    }

    #[test]
    fn r24_a_person_who_fears_a_state_is_not_disembarked_there_without_an_override() {
        let d = desk();
        rescue_47(&d);
        d.ok(
            "prot",
            Role::ProtectionOfficer,
            Action::Asylum {
                tag: "cp-302-0005".into(),
                summary: "fears return to Libya".into(),
                blocked_states: vec!["ly".into()],
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
        let iv = |interpreter: Option<Interpreter>, advice: Option<bool>, as_suspect| {
            Action::Interview {
                tag: "cp-302-0003".into(),
                as_suspect,
                language: "tigrinya".into(),
                interviewer_languages: vec!["italian".into(), "english".into()],
                interpreter,
                legal_advice_given: advice,
                recording_sha256: None,
            }
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
        d.store.tamper_for_tests(
            "DROP TRIGGER restricted_records_no_update;
             UPDATE restricted_records SET json = replace(json, 'ER', 'SD')",
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
                result: super::super::flag_state::RegistryResult::NotEntitled,
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
    fn r60_operations_roles_do_not_handle_evidence_and_the_investigator_does_not_coordinate_rescue()
    {
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

    #[test]
    fn an_evidence_file_altered_in_the_store_is_found_by_verify_and_when_it_changes_hands() {
        let d = desk();
        let sha = d.store.put_evidence_file(b"original photo").unwrap();
        let f = d.ok(
            "bo",
            Role::BoardingOfficer,
            seize_files(vec![FileRef {
                name: "p.jpg".into(),
                sha256: sha.clone(),
            }]),
        );
        assert!(d.store.evidence_problems(&f).unwrap().is_empty());
        d.store.tamper_for_tests(&format!(
            "DROP TRIGGER evidence_files_no_update; UPDATE evidence_files SET bytes = X'00' WHERE sha256 = '{sha}'"
        ));
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
                    exhibit: number,
                    to: "inv".into(),
                    seal: "S-1".into(),
                    place: "quay".into(),
                }
            ),
            "R47"
        );
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
        d.store.tamper_for_tests(
            "DROP TRIGGER evidence_files_no_update; UPDATE evidence_files SET bytes = X''",
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
        let big = "x".repeat(crate::interception::log::MAX_TEXT_CHARS + 1);
        let name = "u".repeat(crate::interception::log::MAX_NAME_CHARS + 1);
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
                    grounds: "y".repeat(crate::interception::log::MAX_TEXT_CHARS),
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
}
