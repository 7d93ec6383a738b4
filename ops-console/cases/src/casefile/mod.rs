//! An incident's case file: its article-8 cases, the roster of the persons rescued, the
//! place of safety and disembarkations, and the evidence register, **event-sourced from
//! the incident's interception log**. Every change is an [`Action`] recorded as one log
//! entry (who, when it happened and when it was recorded, where, why, and the action
//! itself in `details`); the case file is the fold of those entries, so the log is the one
//! record, a court reads exactly what the console acted on, and a crash can lose nothing
//! the log does not (it commits before the user is answered).
//!
//! [`CaseFile::apply`] checks an action against the rules of RULES.md (through
//! [`crate::art8`], [`crate::roster`], [`crate::evidence`]) and the role table
//! ([`crate::Role::may_take`]), and refuses before it changes anything (an integrity
//! incident found on the way is kept). [`CaseFile::replay`] rebuilds the file from a log and
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

use crate::art8::{
    Art8Case, Authorization, Condition, MeasureKind, Message, Unit, VesselKind, Welfare,
};
use crate::evidence::{LegalBasis, Officer, Register, sha256_hex};
use crate::log::{EventType, LogEntry};
use crate::role::Role;
use crate::roster::{
    AsylumExpression, Headcount as Count, Offence, Provenance, Roster, Sourced, Status, Viewer,
    Vulnerability,
};
use crate::{Refused, refuse};

mod action;
mod article8;
mod evidence;
mod exchange;
mod incoming;
mod persons;
mod reference;
mod take;

pub use action::*;
pub use reference::*;
pub use take::*;

/// A person referred to an authority or agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Referral {
    /// The person's tag.
    pub tag: String,
    /// The authority or agency.
    pub to: String,
    /// Why.
    pub reasons: Vec<String>,
    /// Who referred them.
    pub by: String,
    /// When.
    pub at: Timestamp,
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

/// A disembarkation (RULES.md `Disembarkation`).
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
    pub items: Vec<crate::caveat::Item>,
    /// Requests where we are the flag State (art. 8(4), R17).
    pub incoming: Vec<crate::flag_state::IncomingRequest>,
    /// Referrals to protection authorities or agencies.
    pub referrals: Vec<Referral>,
    /// Closed (R34): by whom and when. Afterwards only rescue actions are taken (R21).
    pub closed: Option<(String, Timestamp)>,
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
    /// A new record of `kind` for `incident`, with `salt` (128 random bits the store draws,
    /// fresh for every record); its stored JSON.
    pub fn seal(
        kind: RestrictedKind,
        incident: &str,
        body: serde_json::Value,
        salt: [u8; 16],
    ) -> String {
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
    /// The agreement clause that applied, as looked up (R07, R08).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<ClauseFact>,
}

/// An agreement clause looked up in the reference data: `clause` is `None` when no
/// agreement in force provided one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClauseFact {
    /// The clause.
    pub clause: Option<crate::art8::AgreementClause>,
}

impl Facts {
    /// True when nothing was looked up.
    pub fn is_empty(&self) -> bool {
        self.zone.is_none()
            && self.flag_party.is_none()
            && self.unit.is_none()
            && self.agreement.is_none()
    }

    /// The agreement clause as recorded, or as `look_up` finds it now (then recorded).
    fn agreement(
        &mut self,
        look_up: impl FnOnce() -> Option<crate::art8::AgreementClause>,
    ) -> Option<crate::art8::AgreementClause> {
        self.agreement
            .get_or_insert_with(|| ClauseFact { clause: look_up() })
            .clause
            .clone()
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
            closed: None,
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
        Replayed::from_log(incident, entries, reference, keys).file
    }

    /// Apply one entry of the log again, as it was recorded (a problem if it no longer
    /// applies).
    fn replay_entry(&mut self, e: &LogEntry, reference: &Reference, keys: &dyn Keys) {
        let Some(a) = e.entry.details.get(DETAILS_KEY) else {
            return;
        };
        let action: Action = match serde_json::from_value(a.clone()) {
            Ok(a) => a,
            Err(err) => {
                self.problems
                    .push(format!("entry {}: action unreadable: {err}", e.seq));
                return;
            }
        };
        let who = match e.entry.actor.role.parse::<Role>() {
            Ok(role) => Who {
                user: e.entry.actor.user.clone(),
                role,
            },
            Err(err) => {
                self.problems.push(format!("entry {}: {err}", e.seq));
                return;
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
        match self.apply(
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
            Err(r) => self
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
                    self.problems.push(format!(
                        "entry {}: the evidence manifest signed then was {}, replaying gives {}: a signing key or the register was changed",
                        e.seq,
                        logged.and_then(|v| v.as_str()).unwrap_or("?"),
                        now.and_then(|v| v.as_str()).unwrap_or("none")
                    ));
                }
            }
        }
    }

    fn case(&mut self, n: usize) -> Result<&mut Art8Case, Refused> {
        self.art8
            .get_mut(n.wrapping_sub(1))
            .map(|(_, c)| c)
            .ok_or_else(|| refuse("state", format!("no article-8 case {n}")))
    }

    /// Article-8 case `n` (1…), read only; `None` when there is none.
    fn case_ref(&self, n: usize) -> Option<&Art8Case> {
        self.art8.get(n.wrapping_sub(1)).map(|(_, c)| c)
    }

    fn actor(who: &Who) -> crate::art8::Actor {
        crate::art8::Actor {
            name: who.user.clone(),
            role: who.role,
        }
    }

    /// Apply `action` by `who`, which happened at `at` (at `pos`, if given) and is recorded
    /// at `recorded_at` as log entry `seq`. The rules are checked before anything changes,
    /// but an integrity incident found on the way is kept, so a refused action leaves the file
    /// changed only by such an incident: the store discards a file refused an action, and a
    /// replay reports the entry.
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
        mut facts: Facts,
    ) -> Result<Applied, Refused> {
        if !who.role.may_take(action.kind()) {
            let rule = match (who.role, action) {
                (Role::Auditor, _) => "R59",
                (_, Action::StatelessDetermination { .. }) => "R14",
                (_, Action::Suspect { .. }) => "R36",
                (Role::WatchOfficer | Role::SarCoordinator, Action::Seize { .. })
                | (
                    Role::WatchOfficer | Role::SarCoordinator,
                    Action::CustodyTransfer { .. }
                    | Action::CustodyReceive { .. }
                    | Action::Reseal { .. },
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
        // What a check of the evidence found is recorded whenever it is found (an export
        // comes after closure).
        if let Some((by, when)) = &self.closed
            && !action.rescue()
            && !action.lands()
            && !matches!(action, Action::IntegrityIncident { .. })
        {
            return Err(refuse(
                "R34",
                format!(
                    "the incident was closed by {by} at {when}: only rescue actions (landing included) are taken"
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
        let cx = Cx {
            who,
            at,
            recorded_at,
            reference,
            keys,
            facts,
        };
        match action {
            OpenArt8 { .. }
            | NotifyFlagState { .. }
            | RegistryReply { .. }
            | RequestAuthorization { .. }
            | RecordAuthorization { .. }
            | RecordRefusal { .. }
            | DeemedAuthorization { .. }
            | StatelessDetermination { .. }
            | AcknowledgeCondition { .. }
            | Board { .. }
            | Search { .. }
            | SearchOutcome { .. }
            | FinaliseBoarding { .. }
            | Measure { .. }
            | ConditionCompliance { .. }
            | ReportResults { .. }
            | DecideCompensation { .. }
            | CloseArt8 { .. }
            | WithdrawArt8 { .. }
            | ImminentDanger { .. } => self.apply_art8(action, cx),
            Rescue { .. }
            | Headcount { .. }
            | Vulnerability { .. }
            | Asylum { .. }
            | AsylumRestricted { .. }
            | Referral { .. }
            | TransferOut { .. }
            | TransferReceived { .. }
            | PlaceOfSafety { .. }
            | ProtectionOverride { .. }
            | Disembark { .. }
            | Suspect { .. }
            | Detain { .. }
            | Family { .. }
            | Age { .. }
            | Nationality { .. }
            | Medevac { .. }
            | PersonMissing { .. }
            | PersonFound { .. }
            | PersonDied { .. }
            | CloseIncident { .. } => self.apply_persons(action, cx),
            Seize { .. }
            | CustodyTransfer { .. }
            | CustodyReceive { .. }
            | Reseal { .. }
            | IntegrityIncident { .. } => self.apply_evidence(action, cx),
            MlaRequest { .. }
            | Interview { .. }
            | InfoItem { .. }
            | Release { .. }
            | OriginatorConsent { .. }
            | DisclosureNotice { .. } => self.apply_exchange(action, cx),
            IncomingRequest { .. }
            | IncomingRegistry { .. }
            | IncomingDecision { .. }
            | IncomingRespond { .. }
            | IncomingResults { .. } => self.apply_incoming(action, cx),
        }
    }

    fn incoming_request(
        &mut self,
        n: usize,
    ) -> Result<&mut crate::flag_state::IncomingRequest, Refused> {
        self.incoming
            .get_mut(n.wrapping_sub(1))
            .ok_or_else(|| refuse("state", format!("no incoming request {n}")))
    }

    /// Transfers not received within `window` of being sent, as of `now` (R33).
    pub fn transfer_alerts(&self, now: Timestamp, window: jiff::SignedDuration) -> Vec<String> {
        self.roster
            .overdue_transfers(now, window)
            .into_iter()
            .map(|t| {
                format!(
                    "R33: transfer {} of {} persons from {} to {} not received since {}",
                    t.id,
                    t.tags.len(),
                    t.from,
                    t.to,
                    t.at
                )
            })
            .collect()
    }

    /// SLA alerts of the requests where we are the flag State (R17), as of `now`.
    pub fn sla_alerts(&self, now: Timestamp, sla: jiff::SignedDuration) -> Vec<String> {
        self.incoming
            .iter()
            .filter_map(|r| r.sla_alert(now, sla))
            .collect()
    }

    fn item(&mut self, id: &str) -> Result<&mut crate::caveat::Item, Refused> {
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
fn purpose(name: &str, incident: &str) -> Result<crate::caveat::Purpose, Refused> {
    use crate::caveat::Purpose as P;
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

/// What every action is applied with.
pub(super) struct Cx<'a> {
    who: &'a Who,
    at: Timestamp,
    recorded_at: Timestamp,
    reference: &'a Reference,
    keys: &'a dyn Keys,
    facts: &'a mut Facts,
}

/// A case file replayed up to an entry of its log, to be carried on from there when more
/// entries come ([`Replayed::more`]) instead of replayed again from the first: a store keeps
/// one per busy incident, so an action costs what is new, not the whole log.
#[derive(Debug, Clone)]
pub struct Replayed {
    /// The file as of `last`.
    pub file: CaseFile,
    /// The last entry replayed (`None`: none yet).
    pub last: Option<LogEntry>,
    /// The chain was found broken (said once, in the file's problems).
    pub chain_broken: bool,
}

impl Replayed {
    /// Replay `entries`, the whole log of `incident` (as [`CaseFile::replay`]).
    pub fn from_log(
        incident: &str,
        entries: &[LogEntry],
        reference: &Reference,
        keys: &dyn Keys,
    ) -> Replayed {
        let mut f = CaseFile::new(incident);
        let chain = crate::log::verify(
            &crate::log::InterceptionLog {
                incident: incident.to_owned(),
                entries: entries.to_vec(),
            },
            None,
        );
        let chain_broken = chain.first_break.is_some();
        if let Some((n, why)) = chain.first_break {
            f.problems.push(format!(
                "the log's hash chain is broken at entry {n}: {why}"
            ));
        }
        for e in entries {
            f.replay_entry(e, reference, keys);
        }
        Replayed {
            file: f,
            last: entries.last().cloned(),
            chain_broken,
        }
    }

    /// Carry on with `entries`, the ones after [`Replayed::last`]: their links are checked
    /// from it, and they are applied as recorded.
    pub fn more(&mut self, entries: &[LogEntry], reference: &Reference, keys: &dyn Keys) {
        for e in entries {
            if !self.chain_broken
                && let Some(why) =
                    crate::log::link_problem(&self.file.incident, self.last.as_ref(), e, false)
            {
                self.file.problems.push(format!(
                    "the log's hash chain is broken at entry {}: {why}",
                    self.last.as_ref().map_or(1, |l| l.seq + 1)
                ));
                self.chain_broken = true;
            }
            self.file.replay_entry(e, reference, keys);
            self.last = Some(e.clone());
        }
    }

    /// How many entries it has replayed.
    pub fn seq(&self) -> u64 {
        self.last.as_ref().map_or(0, |l| l.seq)
    }
}
