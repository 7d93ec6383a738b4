//! Every change to a case file, as the user asks for it and the log keeps it.

use super::*;

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
    /// Its words, as they go to the counterpart (R41 reads them for persons named).
    pub(crate) fn texts(&self) -> [&str; 5] {
        [
            &self.authority,
            &self.channel,
            &self.our_ref,
            self.their_ref.as_deref().unwrap_or_default(),
            &self.content,
        ]
    }

    pub(crate) fn message(&self, at: Timestamp) -> Message {
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
    /// The flag State's refusal of the authorization (R15): nothing asked for may then be
    /// done under art. 8(2).
    RecordRefusal {
        /// Case number.
        case: usize,
        /// The reasons the reply gives, if any.
        #[serde(default)]
        grounds: Option<String>,
        /// The reply.
        message: MessageIn,
    },
    /// The flag State has not replied: an authorization deemed under the clause of an
    /// agreement in force with it that says so, after the clause's delay (R08). Without
    /// such a clause it is refused: silence is never an authorization.
    DeemedAuthorization {
        /// Case number.
        case: usize,
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
    /// A vulnerability flag (R39), or a medical emergency over (`over`).
    Vulnerability {
        /// The person.
        tag: String,
        /// The flag.
        flag: Vulnerability,
        /// The flag no longer holds: only a medical emergency ends (treated, stabilised),
        /// and the person leaves the medevac queue; every other flag stays on record.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        over: bool,
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
        /// Why (codes of RULES.md: `UASC`, `MED_EMERG`, `VOT`, `ASYLUM`…).
        reasons: Vec<String>,
    },
    /// Persons handed over to another unit (R33). A family group is handed over whole, or
    /// `reason` says why not (R38).
    TransferOut {
        /// The persons.
        tags: Vec<String>,
        /// From.
        from: String,
        /// To.
        to: String,
        /// Why a family group is split, when it is.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
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
    /// A person detained (R37): the legal basis, and when they were told of their right to
    /// consular contact (art. 16(5)) or why that does not apply.
    Detain {
        /// The person.
        tag: String,
        /// The legal basis.
        legal_basis: String,
        /// When they were told of their consular rights.
        #[serde(default)]
        #[schema(value_type = Option<String>)]
        consular_rights_informed_at: Option<jiff::Timestamp>,
        /// Why consular notification does not apply (instead of the time).
        #[serde(default)]
        consular_not_applicable: Option<String>,
    },
    /// Persons kept together as a family through transfers and landing (R38, R39). An
    /// unaccompanied child joins a group with unrelated adults only on the protection
    /// officer's approval, given by the protection officer taking this action.
    Family {
        /// The persons, by tag.
        tags: Vec<String>,
        /// The protection officer's approval, with why (only a protection officer's counts).
        #[serde(default)]
        protection_approval: Option<String>,
    },
    /// Persons evacuated from a unit to a medical facility (R39). Medical emergencies on
    /// board go first and a family group goes whole (R38), or `reason` says why not.
    Medevac {
        /// The persons.
        tags: Vec<String>,
        /// The unit they leave.
        unit: String,
        /// The facility (hospital, helicopter, ambulance).
        facility: String,
        /// Why a medical emergency stays on board while others go, or a family is split.
        #[serde(default)]
        reason: Option<String>,
    },
    /// A person rescued is missing: lost overboard, or during a transfer (R22). Until found,
    /// the SAR case is not terminated as everyone accounted for.
    PersonMissing {
        /// The person.
        tag: String,
        /// What happened (required).
        circumstances: String,
    },
    /// A missing person found again, taken on board a unit (R22).
    PersonFound {
        /// The person.
        tag: String,
        /// The unit that has them now.
        unit: String,
    },
    /// A person died after rescue (R22; headcounts count them deceased, R32).
    PersonDied {
        /// The person.
        tag: String,
        /// What is known (required).
        circumstances: String,
    },
    /// A person's nationality, with where it came from (R42).
    Nationality {
        /// The person.
        tag: String,
        /// ISO 3166 alpha-2.
        state: String,
        /// Observed (documents seen), declared, or assessed (with the method and the
        /// assessor).
        provenance: Provenance,
    },
    /// A person's age, with where it came from (R42).
    Age {
        /// The person.
        tag: String,
        /// Years.
        years: u8,
        /// Observed, declared, or assessed (with the method and the assessor).
        provenance: Provenance,
    },
    /// The incident's persons are all accounted for and the case file closes (R34): nobody
    /// on board or in transfer, and the last headcounts agree with the persons tagged or a
    /// reconciliation note says why not. Afterwards only rescue actions are taken (R21).
    CloseIncident {
        /// Why the counts differ, if they do.
        #[serde(default)]
        reconciliation: Option<String>,
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
        /// The persons of this incident it concerns, by tag: it goes to no State any of
        /// them fears (R41).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        persons: Vec<String>,
        /// The State it goes to (ISO 3166 alpha-2): required when it names persons (R41).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        state: String,
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
        /// The persons of this incident it concerns, by tag: it is released to no State any
        /// of them fears (R41).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        persons: Vec<String>,
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
        result: crate::flag_state::RegistryResult,
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
    /// An exhibit opened (for examination) and sealed again by its holder, with a new seal
    /// and the reason (R46): the next custody event expects the new seal.
    Reseal {
        /// The exhibit.
        exhibit: String,
        /// The new seal.
        seal: String,
        /// Why it was opened.
        reason: String,
    },
    /// An integrity incident: a check of an action found an exhibit's seal or file not as
    /// recorded (R46, R47). Recorded by the store when it refuses that action, never by a
    /// client, so the incident survives the refusal.
    IntegrityIncident {
        /// The exhibit.
        exhibit: String,
        /// What was found.
        problem: String,
        /// The rule the check refused under.
        rule: String,
    },
}

impl Action {
    /// What kind of action this is.
    pub fn kind(&self) -> ActionKind {
        match self {
            Action::OpenArt8 { .. } => ActionKind::OpenArt8,
            Action::NotifyFlagState { .. } => ActionKind::NotifyFlagState,
            Action::RegistryReply { .. } => ActionKind::RegistryReply,
            Action::RequestAuthorization { .. } => ActionKind::RequestAuthorization,
            Action::RecordAuthorization { .. } => ActionKind::RecordAuthorization,
            Action::RecordRefusal { .. } => ActionKind::RecordRefusal,
            Action::DeemedAuthorization { .. } => ActionKind::DeemedAuthorization,
            Action::StatelessDetermination { .. } => ActionKind::StatelessDetermination,
            Action::AcknowledgeCondition { .. } => ActionKind::AcknowledgeCondition,
            Action::Board { .. } => ActionKind::Board,
            Action::Search { .. } => ActionKind::Search,
            Action::SearchOutcome { .. } => ActionKind::SearchOutcome,
            Action::FinaliseBoarding { .. } => ActionKind::FinaliseBoarding,
            Action::Measure { .. } => ActionKind::Measure,
            Action::ConditionCompliance { .. } => ActionKind::ConditionCompliance,
            Action::ReportResults { .. } => ActionKind::ReportResults,
            Action::DecideCompensation { .. } => ActionKind::DecideCompensation,
            Action::CloseArt8 { .. } => ActionKind::CloseArt8,
            Action::WithdrawArt8 { .. } => ActionKind::WithdrawArt8,
            Action::ImminentDanger { .. } => ActionKind::ImminentDanger,
            Action::Rescue { .. } => ActionKind::Rescue,
            Action::Headcount { .. } => ActionKind::Headcount,
            Action::Vulnerability { .. } => ActionKind::Vulnerability,
            Action::Asylum { .. } => ActionKind::Asylum,
            Action::AsylumRestricted { .. } => ActionKind::AsylumRestricted,
            Action::Referral { .. } => ActionKind::Referral,
            Action::TransferOut { .. } => ActionKind::TransferOut,
            Action::TransferReceived { .. } => ActionKind::TransferReceived,
            Action::PlaceOfSafety { .. } => ActionKind::PlaceOfSafety,
            Action::ProtectionOverride { .. } => ActionKind::ProtectionOverride,
            Action::Disembark { .. } => ActionKind::Disembark,
            Action::Suspect { .. } => ActionKind::Suspect,
            Action::Detain { .. } => ActionKind::Detain,
            Action::Family { .. } => ActionKind::Family,
            Action::Age { .. } => ActionKind::Age,
            Action::Medevac { .. } => ActionKind::Medevac,
            Action::PersonMissing { .. } => ActionKind::PersonMissing,
            Action::PersonFound { .. } => ActionKind::PersonFound,
            Action::PersonDied { .. } => ActionKind::PersonDied,
            Action::Nationality { .. } => ActionKind::Nationality,
            Action::CloseIncident { .. } => ActionKind::CloseIncident,
            Action::Seize { .. } => ActionKind::Seize,
            Action::CustodyTransfer { .. } => ActionKind::CustodyTransfer,
            Action::MlaRequest { .. } => ActionKind::MlaRequest,
            Action::Interview { .. } => ActionKind::Interview,
            Action::InfoItem { .. } => ActionKind::InfoItem,
            Action::Release { .. } => ActionKind::Release,
            Action::OriginatorConsent { .. } => ActionKind::OriginatorConsent,
            Action::DisclosureNotice { .. } => ActionKind::DisclosureNotice,
            Action::IncomingRequest { .. } => ActionKind::IncomingRequest,
            Action::IncomingRegistry { .. } => ActionKind::IncomingRegistry,
            Action::IncomingDecision { .. } => ActionKind::IncomingDecision,
            Action::IncomingRespond { .. } => ActionKind::IncomingRespond,
            Action::IncomingResults { .. } => ActionKind::IncomingResults,
            Action::CustodyReceive { .. } => ActionKind::CustodyReceive,
            Action::Reseal { .. } => ActionKind::Reseal,
            Action::IntegrityIncident { .. } => ActionKind::IntegrityIncident,
        }
    }

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
            Suspect { .. }
            | ProtectionOverride { .. }
            | Vulnerability { .. }
            | Detain { .. }
            | Family { .. }
            | Age { .. }
            | Nationality { .. }
            | CloseIncident { .. } => EventType::Decision,
            Medevac { .. } => EventType::Medevac,
            PersonDied { .. } => EventType::Death,
            PersonMissing { .. } | PersonFound { .. } => EventType::Headcount,
            Asylum { .. } | AsylumRestricted { .. } | Referral { .. } => EventType::Decision,
            NotifyFlagState { .. } | RequestAuthorization { .. } | ReportResults { .. } => {
                EventType::MessageOut
            }
            RegistryReply { .. } | RecordRefusal { .. } => EventType::MessageIn,
            RecordAuthorization { .. } | DeemedAuthorization { .. } => {
                EventType::AuthorizationRecorded
            }
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
            CustodyTransfer { .. } | CustodyReceive { .. } | Reseal { .. } => {
                EventType::CustodyEvent
            }
            IntegrityIncident { .. } => EventType::Note,
        }
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

    /// The State codes this action names, each with the rule that compares it: the States
    /// a person fears and a place of safety's State (R24), a nationality (R42), a claimed
    /// flag (R02), and the States information comes from or goes to (R41).
    pub fn state_codes(&self) -> Vec<(&'static str, &str)> {
        use Action::*;
        match self {
            NotifyFlagState { flag, .. } => vec![("R02", flag.as_str())],
            Asylum { blocked_states, .. } => {
                blocked_states.iter().map(|s| ("R24", s.as_str())).collect()
            }
            PlaceOfSafety { state, .. } | ProtectionOverride { state, .. } => {
                vec![("R24", state.as_str())]
            }
            Nationality { state, .. } => vec![("R42", state.as_str())],
            MlaRequest { state, .. } if !state.trim().is_empty() => vec![("R41", state.as_str())],
            InfoItem {
                originator,
                recipients,
                ..
            } => std::iter::once(originator)
                .chain(recipients)
                .map(|s| ("R41", s.as_str()))
                .collect(),
            Release { to_state, .. } => vec![("R41", to_state.as_str())],
            IncomingRequest {
                requesting_state, ..
            } => vec![("R41", requesting_state.as_str())],
            _ => Vec::new(),
        }
    }

    /// True for deciding the place of safety and landing there: how a rescue ends, so taken
    /// after an incident is closed as rescue actions are (persons rescued since must land).
    /// Not while the case file does not replay cleanly: who fears which State (R24) may be
    /// what it cannot read.
    pub fn lands(&self) -> bool {
        matches!(
            self,
            Action::PlaceOfSafety { .. } | Action::Disembark { .. }
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
                | Medevac { .. }
                | PersonMissing { .. }
                | PersonFound { .. }
                | PersonDied { .. }
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
                | Medevac { .. }
        )
    }
}

/// What kind of action an [`Action`] is: its `type`, one variant per [`Action`] variant, so
/// that [`Role::may_take`] is checked for every action at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionKind {
    /// [`Action::OpenArt8`].
    OpenArt8,
    /// [`Action::NotifyFlagState`].
    NotifyFlagState,
    /// [`Action::RegistryReply`].
    RegistryReply,
    /// [`Action::RequestAuthorization`].
    RequestAuthorization,
    /// [`Action::RecordAuthorization`].
    RecordAuthorization,
    /// [`Action::RecordRefusal`].
    RecordRefusal,
    /// [`Action::DeemedAuthorization`].
    DeemedAuthorization,
    /// [`Action::StatelessDetermination`].
    StatelessDetermination,
    /// [`Action::AcknowledgeCondition`].
    AcknowledgeCondition,
    /// [`Action::Board`].
    Board,
    /// [`Action::Search`].
    Search,
    /// [`Action::SearchOutcome`].
    SearchOutcome,
    /// [`Action::FinaliseBoarding`].
    FinaliseBoarding,
    /// [`Action::Measure`].
    Measure,
    /// [`Action::ConditionCompliance`].
    ConditionCompliance,
    /// [`Action::ReportResults`].
    ReportResults,
    /// [`Action::DecideCompensation`].
    DecideCompensation,
    /// [`Action::CloseArt8`].
    CloseArt8,
    /// [`Action::WithdrawArt8`].
    WithdrawArt8,
    /// [`Action::ImminentDanger`].
    ImminentDanger,
    /// [`Action::Rescue`].
    Rescue,
    /// [`Action::Headcount`].
    Headcount,
    /// [`Action::Vulnerability`].
    Vulnerability,
    /// [`Action::Asylum`].
    Asylum,
    /// [`Action::AsylumRestricted`].
    AsylumRestricted,
    /// [`Action::Referral`].
    Referral,
    /// [`Action::TransferOut`].
    TransferOut,
    /// [`Action::TransferReceived`].
    TransferReceived,
    /// [`Action::PlaceOfSafety`].
    PlaceOfSafety,
    /// [`Action::ProtectionOverride`].
    ProtectionOverride,
    /// [`Action::Disembark`].
    Disembark,
    /// [`Action::Suspect`].
    Suspect,
    /// [`Action::Detain`].
    Detain,
    /// [`Action::Family`].
    Family,
    /// [`Action::Age`].
    Age,
    /// [`Action::Medevac`].
    Medevac,
    /// [`Action::PersonMissing`].
    PersonMissing,
    /// [`Action::PersonFound`].
    PersonFound,
    /// [`Action::PersonDied`].
    PersonDied,
    /// [`Action::Nationality`].
    Nationality,
    /// [`Action::CloseIncident`].
    CloseIncident,
    /// [`Action::Seize`].
    Seize,
    /// [`Action::CustodyTransfer`].
    CustodyTransfer,
    /// [`Action::MlaRequest`].
    MlaRequest,
    /// [`Action::Interview`].
    Interview,
    /// [`Action::InfoItem`].
    InfoItem,
    /// [`Action::Release`].
    Release,
    /// [`Action::OriginatorConsent`].
    OriginatorConsent,
    /// [`Action::DisclosureNotice`].
    DisclosureNotice,
    /// [`Action::IncomingRequest`].
    IncomingRequest,
    /// [`Action::IncomingRegistry`].
    IncomingRegistry,
    /// [`Action::IncomingDecision`].
    IncomingDecision,
    /// [`Action::IncomingRespond`].
    IncomingRespond,
    /// [`Action::IncomingResults`].
    IncomingResults,
    /// [`Action::CustodyReceive`].
    CustodyReceive,
    /// [`Action::Reseal`].
    Reseal,
    /// [`Action::IntegrityIncident`].
    IntegrityIncident,
}

impl ActionKind {
    /// Every kind, in the order of [`Action`].
    pub const ALL: [ActionKind; 57] = [
        ActionKind::OpenArt8,
        ActionKind::NotifyFlagState,
        ActionKind::RegistryReply,
        ActionKind::RequestAuthorization,
        ActionKind::RecordAuthorization,
        ActionKind::RecordRefusal,
        ActionKind::DeemedAuthorization,
        ActionKind::StatelessDetermination,
        ActionKind::AcknowledgeCondition,
        ActionKind::Board,
        ActionKind::Search,
        ActionKind::SearchOutcome,
        ActionKind::FinaliseBoarding,
        ActionKind::Measure,
        ActionKind::ConditionCompliance,
        ActionKind::ReportResults,
        ActionKind::DecideCompensation,
        ActionKind::CloseArt8,
        ActionKind::WithdrawArt8,
        ActionKind::ImminentDanger,
        ActionKind::Rescue,
        ActionKind::Headcount,
        ActionKind::Vulnerability,
        ActionKind::Asylum,
        ActionKind::AsylumRestricted,
        ActionKind::Referral,
        ActionKind::TransferOut,
        ActionKind::TransferReceived,
        ActionKind::PlaceOfSafety,
        ActionKind::ProtectionOverride,
        ActionKind::Disembark,
        ActionKind::Suspect,
        ActionKind::Detain,
        ActionKind::Family,
        ActionKind::Age,
        ActionKind::Medevac,
        ActionKind::PersonMissing,
        ActionKind::PersonFound,
        ActionKind::PersonDied,
        ActionKind::Nationality,
        ActionKind::CloseIncident,
        ActionKind::Seize,
        ActionKind::CustodyTransfer,
        ActionKind::MlaRequest,
        ActionKind::Interview,
        ActionKind::InfoItem,
        ActionKind::Release,
        ActionKind::OriginatorConsent,
        ActionKind::DisclosureNotice,
        ActionKind::IncomingRequest,
        ActionKind::IncomingRegistry,
        ActionKind::IncomingDecision,
        ActionKind::IncomingRespond,
        ActionKind::IncomingResults,
        ActionKind::CustodyReceive,
        ActionKind::Reseal,
        ActionKind::IntegrityIncident,
    ];

    /// The `type` of the action (`open_art8`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::OpenArt8 => "open_art8",
            ActionKind::NotifyFlagState => "notify_flag_state",
            ActionKind::RegistryReply => "registry_reply",
            ActionKind::RequestAuthorization => "request_authorization",
            ActionKind::RecordAuthorization => "record_authorization",
            ActionKind::RecordRefusal => "record_refusal",
            ActionKind::DeemedAuthorization => "deemed_authorization",
            ActionKind::StatelessDetermination => "stateless_determination",
            ActionKind::AcknowledgeCondition => "acknowledge_condition",
            ActionKind::Board => "board",
            ActionKind::Search => "search",
            ActionKind::SearchOutcome => "search_outcome",
            ActionKind::FinaliseBoarding => "finalise_boarding",
            ActionKind::Measure => "measure",
            ActionKind::ConditionCompliance => "condition_compliance",
            ActionKind::ReportResults => "report_results",
            ActionKind::DecideCompensation => "decide_compensation",
            ActionKind::CloseArt8 => "close_art8",
            ActionKind::WithdrawArt8 => "withdraw_art8",
            ActionKind::ImminentDanger => "imminent_danger",
            ActionKind::Rescue => "rescue",
            ActionKind::Headcount => "headcount",
            ActionKind::Vulnerability => "vulnerability",
            ActionKind::Asylum => "asylum",
            ActionKind::AsylumRestricted => "asylum_restricted",
            ActionKind::Referral => "referral",
            ActionKind::TransferOut => "transfer_out",
            ActionKind::TransferReceived => "transfer_received",
            ActionKind::PlaceOfSafety => "place_of_safety",
            ActionKind::ProtectionOverride => "protection_override",
            ActionKind::Disembark => "disembark",
            ActionKind::Suspect => "suspect",
            ActionKind::Detain => "detain",
            ActionKind::Family => "family",
            ActionKind::Age => "age",
            ActionKind::Medevac => "medevac",
            ActionKind::PersonMissing => "person_missing",
            ActionKind::PersonFound => "person_found",
            ActionKind::PersonDied => "person_died",
            ActionKind::Nationality => "nationality",
            ActionKind::CloseIncident => "close_incident",
            ActionKind::Seize => "seize",
            ActionKind::CustodyTransfer => "custody_transfer",
            ActionKind::MlaRequest => "mla_request",
            ActionKind::Interview => "interview",
            ActionKind::InfoItem => "info_item",
            ActionKind::Release => "release",
            ActionKind::OriginatorConsent => "originator_consent",
            ActionKind::DisclosureNotice => "disclosure_notice",
            ActionKind::IncomingRequest => "incoming_request",
            ActionKind::IncomingRegistry => "incoming_registry",
            ActionKind::IncomingDecision => "incoming_decision",
            ActionKind::IncomingRespond => "incoming_respond",
            ActionKind::IncomingResults => "incoming_results",
            ActionKind::CustodyReceive => "custody_receive",
            ActionKind::Reseal => "reseal",
            ActionKind::IntegrityIncident => "integrity_incident",
        }
    }

    /// The action in words, for refusals and the log (`open art8`, …).
    pub fn name(self) -> String {
        self.as_str().replace('_', " ")
    }

    /// False for the forms only the log keeps ([`Action::AsylumRestricted`], made by the
    /// store from the action a user takes; [`Action::IntegrityIncident`], recorded when a
    /// check refuses an action).
    pub fn taken_by_users(self) -> bool {
        !matches!(
            self,
            ActionKind::AsylumRestricted | ActionKind::IntegrityIncident
        )
    }
}

/// The action in words, for refusals and the log.
pub fn action_name(a: &Action) -> String {
    a.kind().name()
}
