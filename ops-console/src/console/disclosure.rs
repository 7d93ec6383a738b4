//! What each role may see of an incident's protected data: the one filter that every
//! rendering of a case goes through — the log as read (`GET …/log`), the case file's view,
//! the HTML and PDF reports and the court export.
//!
//! Four classes of data are protected, and every kind of case action is placed in one or
//! none ([`class_of_kind`], with no default):
//! - **protection** (R40): what a person said asking for protection, the States they fear,
//!   why they were referred and why a landing was overridden — the protection officer's;
//! - **evidence** (R60): what was seized, its custody, reseals and integrity incidents —
//!   the investigator's, oversight's, and the boarding officer's for what they seized;
//! - **investigation** (R60): suspects, detentions, interviews, legal assistance and
//!   information exchanged with partner States — the investigator's and oversight's;
//! - **health** (R40, the role table): vulnerability flags, each seen by the roles that act
//!   on it ([`flag_visible`]).
//!
//! A partner State's liaison officer sees none of these: only items released to their State,
//! through the caveat checks of `interception::caveat`.

use std::collections::{BTreeMap, BTreeSet};

use super::auth::Role;
use tidewatch_cases::casefile::{ActionKind, CaseFile, DETAILS_KEY};
use tidewatch_cases::evidence::Register;
use tidewatch_cases::log::{InterceptionLog, LogEntry};
use tidewatch_cases::roster::{PersonView, Status, Viewer, Vulnerability};

/// A class of protected data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// What a person said asking for protection, feared States, referrals, overrides (R40).
    Protection,
    /// Seized items and their custody (R60).
    Evidence,
    /// Suspects, detentions, interviews, legal assistance, exchanged information (R60).
    Investigation,
    /// A person's health and what they survived, beyond what disembarkation needs (the
    /// vulnerability flags outside [`logistics_flag`]; the role table of DOMAIN.md).
    Health,
}

impl Class {
    /// The rule that protects it.
    pub fn rule(self) -> &'static str {
        match self {
            Class::Protection | Class::Health => "R40",
            Class::Evidence | Class::Investigation => "R60",
        }
    }

    /// Whose it is, in words.
    pub fn whose(self) -> &'static str {
        match self {
            Class::Protection => "the protection officer",
            Class::Evidence => "the investigator and the boarding officer who seized it",
            Class::Investigation => "the investigator",
            Class::Health => "the protection officer / medical lead",
        }
    }
}

/// Who reads: a role, and the user (a boarding officer reads the evidence they seized
/// themselves, and no one else's).
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    /// Their role.
    pub role: Role,
    /// Their user name.
    pub user: &'a str,
    /// An auditor's approved unmask request covering what is read (its number): personal
    /// data is then not pseudonymised (R58).
    pub unmasked_by: Option<i64>,
}

impl Reader<'_> {
    /// Does this reader read personal data pseudonymised ([`Oversight`], R58)? An auditor,
    /// unless an approved unmask request covers the read.
    pub fn pseudonymised(&self) -> bool {
        self.role == Role::Auditor && self.unmasked_by.is_none()
    }
}

/// The class of data an action of `kind` records, if protected. Every kind is placed here
/// (no default), so a new action is classed when it is added.
pub fn class_of_kind(kind: ActionKind) -> Option<Class> {
    use ActionKind::*;
    match kind {
        Asylum | AsylumRestricted | ProtectionOverride | Referral => Some(Class::Protection),
        Seize | CustodyTransfer | CustodyReceive | Reseal | IntegrityIncident => {
            Some(Class::Evidence)
        }
        Suspect | Detain | Interview | MlaRequest | InfoItem | Release | OriginatorConsent
        | DisclosureNotice => Some(Class::Investigation),
        // Which flag decides: see [`withheld_from`].
        Vulnerability => Some(Class::Health),
        OpenArt8
        | NotifyFlagState
        | RegistryReply
        | RequestAuthorization
        | RecordAuthorization
        | RecordRefusal
        | DeemedAuthorization
        | StatelessDetermination
        | AcknowledgeCondition
        | Board
        | Search
        | SearchOutcome
        | FinaliseBoarding
        | Measure
        | ConditionCompliance
        | ReportResults
        | DecideCompensation
        | CloseArt8
        | WithdrawArt8
        | ImminentDanger
        | Rescue
        | Headcount
        | TransferOut
        | TransferReceived
        | PlaceOfSafety
        | Disembark
        | Family
        | Age
        | Nationality
        | Medevac
        | PersonMissing
        | PersonFound
        | PersonDied
        | CloseIncident
        | IncomingRequest
        | IncomingRegistry
        | IncomingDecision
        | IncomingRespond
        | IncomingResults => None,
    }
}

/// The class of data a case action records, by its `type`. A `type` no action has is
/// withheld as investigation data: a filter that does not know what it holds shows it to
/// no one it might not be for.
pub fn class_of(action_type: &str) -> Option<Class> {
    match ActionKind::ALL.iter().find(|k| k.as_str() == action_type) {
        Some(kind) => class_of_kind(*kind),
        None => Some(Class::Investigation),
    }
}

/// May `role` see data of `class`? For [`Class::Health`] this is every flag; the flags
/// disembarkation needs are wider ([`flag_visible`]).
pub fn may_see(role: Role, class: Class) -> bool {
    match class {
        Class::Protection => role == Role::ProtectionOfficer,
        Class::Evidence => matches!(
            role,
            Role::Investigator | Role::Auditor | Role::BoardingOfficer
        ),
        Class::Investigation => matches!(role, Role::Investigator | Role::Auditor),
        Class::Health => matches!(role, Role::ProtectionOfficer | Role::Auditor),
    }
}

/// The flags rescue and disembarkation act on (R38, R39): the SAR mission coordinator and
/// the boarding officer see them. Torture or violence survived, mental illness, trafficking
/// indicators and any code not known here are health or protection data.
pub fn logistics_flag(flag: &Vulnerability) -> bool {
    match flag {
        Vulnerability::Uasc | Vulnerability::MedEmerg | Vulnerability::Pregnant => true,
        Vulnerability::Vot => false,
        Vulnerability::Other(code) => ["CHILD_ACC", "DISAB_ELD", "SINGLE_PARENT", "DECEASED"]
            .iter()
            .any(|c| c.eq_ignore_ascii_case(code.trim())),
    }
}

/// May `role` see that a person has `flag`? The protection officer / medical lead and
/// oversight see every flag; the SAR mission coordinator and the boarding officer those
/// disembarkation needs; the investigator that a child is unaccompanied and the
/// trafficking indicators (so that no victim is treated as a suspect, art. 5); the others
/// (the watch officer included) none: headcount totals only.
pub fn flag_visible(role: Role, flag: &Vulnerability) -> bool {
    match role {
        Role::ProtectionOfficer | Role::Auditor => true,
        Role::SarCoordinator | Role::BoardingOfficer => logistics_flag(flag),
        Role::Investigator => matches!(flag, Vulnerability::Uasc | Vulnerability::Vot),
        Role::WatchOfficer
        | Role::DutyOfficer
        | Role::LegalAdviser
        | Role::PartnerLiaison
        | Role::Admin => false,
    }
}

/// Exhibit numbers `user` seized, as the log says (a seizure's entry names its actor and the
/// number it produced).
fn seized_by(l: &InterceptionLog, user: &str) -> BTreeSet<String> {
    seizures(l)
        .filter(|(e, _)| e.entry.actor.user == user)
        .map(|(_, x)| x.to_owned())
        .collect()
}

/// Every seizure in a log: its entry (whose actor seized) and the exhibit number it produced.
pub fn seizures(l: &InterceptionLog) -> impl Iterator<Item = (&LogEntry, &str)> {
    l.entries.iter().filter_map(|e| {
        (e.entry.details[DETAILS_KEY]["type"] == "seize")
            .then(|| e.entry.details["produced"]["exhibit"].as_str())
            .flatten()
            .map(|x| (e, x))
    })
}

/// The class of a log entry's content that `reader` may not see, if any; `own` holds the
/// exhibits the reader seized.
fn withheld_from(e: &LogEntry, reader: Reader<'_>, own: &BTreeSet<String>) -> Option<Class> {
    let action = e.entry.details.get(DETAILS_KEY)?;
    let kind = action["type"].as_str().unwrap_or_default();
    let class = class_of(kind)?;
    let visible = match class {
        Class::Health => serde_json::from_value::<Vulnerability>(action["flag"].clone())
            .is_ok_and(|f| flag_visible(reader.role, &f)),
        // The boarding officer: only the exhibits they seized, and what became of them.
        Class::Evidence if reader.role == Role::BoardingOfficer => {
            let exhibit = if kind == "seize" {
                e.entry.details["produced"]["exhibit"].as_str()
            } else {
                action["exhibit"].as_str()
            };
            exhibit.is_some_and(|x| own.contains(x))
        }
        _ => may_see(reader.role, class),
    };
    (!visible).then_some(class)
}

/// A log entry as the reader may read it: when its content is withheld, its `why`,
/// `details` and late reason are replaced by what withholds them and it is marked withheld
/// (its place in the chain, time, actor and event stay).
fn entry(e: &LogEntry, reader: Reader<'_>, own: &BTreeSet<String>) -> LogEntry {
    let mut out = e.clone();
    if let Some(class) = withheld_from(e, reader, own) {
        let kind = e.entry.details[DETAILS_KEY]["type"]
            .as_str()
            .unwrap_or_default();
        out.entry.why = format!("withheld ({})", class.rule());
        out.entry.details = serde_json::json!({
            "withheld": format!("{kind}: for {} ({})", class.whose(), class.rule()),
        });
        out.entry.late_reason = None;
        out.withheld = Some(class.rule().to_owned());
    }
    out
}

/// A whole log as `reader` may read it: every rendering of a log goes through here. An
/// auditor reads it pseudonymised ([`Oversight`], R58).
pub fn log(l: &InterceptionLog, reader: Reader<'_>) -> InterceptionLog {
    let own = if reader.role == Role::BoardingOfficer {
        seized_by(l, reader.user)
    } else {
        BTreeSet::new()
    };
    let mut out = InterceptionLog {
        incident: l.incident.clone(),
        entries: l.entries.iter().map(|e| entry(e, reader, &own)).collect(),
    };
    if reader.pseudonymised() {
        let o = Oversight::of_log(l);
        for e in &mut out.entries {
            if e.withheld.is_some() {
                continue;
            }
            let action = &e.entry.details[DETAILS_KEY];
            let names_person = ["tag", "tags", "persons"]
                .iter()
                .any(|k| action.get(*k).is_some());
            // What an officer wrote about a person may name them: the reason is masked
            // whole; elsewhere the tags in it are.
            e.entry.why = if names_person {
                MASKED.to_owned()
            } else {
                o.text(&e.entry.why)
            };
            if let Some(r) = &mut e.entry.late_reason {
                *r = o.text(r);
            }
            o.mask(&mut e.entry.details);
        }
    }
    out
}

/// What replaces personal text an auditor may not read.
pub const MASKED: &str = "(masked for oversight, R58)";

/// The fields of a case action or a view whose text is about a person (what they did, said,
/// or are held for), masked for an auditor.
const PERSONAL_TEXT: [&str; 11] = [
    "grounds",
    "legal_basis",
    "circumstances",
    "content",
    "persons_concerned",
    "facts_summary",
    "summary",
    "interpreter_id",
    "justification",
    "consular_not_applicable",
    "reason",
];

/// R58: personal data as an auditor reads it — pseudonymised. Each person's tag becomes a
/// pseudonym (a keyed hash of the incident and the tag, the key drawn when the console
/// starts: the same person reads the same within an incident while it runs, and cannot be
/// told from the pseudonym), wherever it appears; texts about a person are masked. An
/// auditor whose unmask request a second auditor approved reads the incident unmasked
/// (`api::unmask`).
pub struct Oversight {
    incident: String,
    /// Tags by unit prefix (`cp-302-`): the numbers given.
    tags: BTreeMap<String, BTreeSet<u32>>,
}

fn pseudonym_key() -> &'static [u8; 32] {
    static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let mut k = [0u8; 32];
        getrandom::fill(&mut k).expect("the system's randomness");
        k
    })
}

impl Oversight {
    /// The persons of a case file.
    pub fn of_roster(incident: &str, roster: &tidewatch_cases::roster::Roster) -> Oversight {
        let mut o = Oversight {
            incident: incident.to_owned(),
            tags: BTreeMap::new(),
        };
        for (unit, n) in &roster.issued {
            o.tags.entry(format!("{unit}-")).or_default().extend(1..=*n);
        }
        o
    }

    /// The persons a log tagged (its rescues, each naming the first and last tag it gave).
    pub fn of_log(l: &InterceptionLog) -> Oversight {
        let mut o = Oversight {
            incident: l.incident.clone(),
            tags: BTreeMap::new(),
        };
        for e in &l.entries {
            if e.entry.details[DETAILS_KEY]["type"] != "rescue" {
                continue;
            }
            let range: Vec<(String, u32)> = e.entry.details["produced"]["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| split_tag(t.as_str()?))
                .collect();
            if let [(unit, first), (_, last)] = &range[..] {
                o.tags
                    .entry(unit.clone())
                    .or_default()
                    .extend(*first..=*last);
            }
        }
        o
    }

    fn pseudonym(&self, tag: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(pseudonym_key());
        h.update(self.incident.as_bytes());
        h.update([0]);
        h.update(tag.as_bytes());
        let d = h.finalize();
        let hex: String = d[..5].iter().map(|b| format!("{b:02x}")).collect();
        format!("person-{hex}")
    }

    /// `text` with every tag in it replaced by its pseudonym.
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        'scan: while !rest.is_empty() {
            for (prefix, numbers) in &self.tags {
                if let Some(tail) = rest.strip_prefix(prefix.as_str()) {
                    let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
                    if let Ok(n) = tail[..digits].parse::<u32>()
                        && numbers.contains(&n)
                    {
                        let tag = &rest[..prefix.len() + digits];
                        out.push_str(&self.pseudonym(tag));
                        rest = &rest[tag.len()..];
                        continue 'scan;
                    }
                }
            }
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// `v` with its personal texts masked and every tag in it pseudonymised.
    pub fn mask(&self, v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = self.text(s),
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| self.mask(x)),
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if PERSONAL_TEXT.contains(&k.as_str()) && !x.is_null() {
                        *x = MASKED.into();
                    } else {
                        self.mask(x);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `cp-302-0001` as (`cp-302-`, 1).
fn split_tag(tag: &str) -> Option<(String, u32)> {
    let (unit, n) = tag.rsplit_once('-')?;
    Some((format!("{unit}-"), n.parse().ok()?))
}

/// A log as a court export holds it ([`log`] first): the entries about an information item
/// that does not go in (intelligence only, R49, or its caveat not allowing a prosecution
/// export, R50) are withheld too (what was received, from whom, for whom, who it names),
/// their place in the chain kept.
pub fn for_court(l: &InterceptionLog, exported: &BTreeSet<&str>) -> InterceptionLog {
    let item_of = |e: &LogEntry| -> Option<String> {
        let action = e.entry.details.get(DETAILS_KEY)?;
        match action["type"].as_str()? {
            "info_item" => e.entry.details["produced"]["item"].as_str(),
            "release" | "originator_consent" | "disclosure_notice" => action["item"].as_str(),
            _ => None,
        }
        .map(str::to_owned)
    };
    let mut out = l.clone();
    for e in &mut out.entries {
        if e.withheld.is_some() {
            continue;
        }
        if let Some(item) = item_of(e)
            && !exported.contains(item.as_str())
        {
            let kind = e.entry.details[DETAILS_KEY]["type"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            e.entry.why = "withheld (R49)".to_owned();
            e.entry.details = serde_json::json!({
                "withheld": format!("{kind} of {item}: not for a court (R49, R50)"),
            });
            e.entry.late_reason = None;
            e.withheld = Some("R49".to_owned());
        }
    }
    out
}

/// The evidence register as `reader` may see it (R60): in full for the investigator and
/// oversight; for a boarding officer, the exhibits they seized with their manifests and
/// integrity incidents, and the others' numbers and status only; for everyone else, that
/// evidence exists, where it stands and who holds it.
pub fn evidence(register: &Register, reader: Reader<'_>) -> serde_json::Value {
    match reader.role {
        Role::BoardingOfficer => {
            let mut r = register.clone();
            r.exhibits
                .retain(|_, e| e.custody.first().is_some_and(|c| c.from == reader.user));
            r.manifests.retain(|m| r.exhibits.contains_key(&m.exhibit));
            // An integrity incident names its exhibit first (`{number}: …`).
            r.incidents.retain(|p| {
                r.exhibits.keys().any(|n| {
                    p.strip_prefix(n.as_str())
                        .is_some_and(|rest| rest.starts_with(':'))
                })
            });
            let mut v = serde_json::to_value(&r).unwrap_or_default();
            v["others"] = register
                .exhibits
                .values()
                .filter(|e| !r.exhibits.contains_key(&e.number))
                .map(|e| serde_json::json!({"number": e.number, "status": e.status}))
                .collect::<Vec<_>>()
                .into();
            v
        }
        role if may_see(role, Class::Evidence) => {
            serde_json::to_value(register).unwrap_or_default()
        }
        _ => serde_json::json!({
            "exhibits": register.exhibits.values().map(|e| serde_json::json!({
                "number": e.number, "status": e.status, "holder": e.holder().0,
            })).collect::<Vec<_>>(),
            "restricted": "evidence content is for the investigator and the boarding officer who seized it (R60)",
        }),
    }
}

/// The persons of a case file as `role` may see them: what they said asking for protection
/// to the protection officer alone (R40), and of their flags those [`flag_visible`].
pub fn people(f: &CaseFile, role: Role) -> Vec<PersonView> {
    let viewer = match role {
        Role::Investigator => Viewer::Investigator,
        Role::ProtectionOfficer => Viewer::ProtectionOfficer,
        Role::Auditor => Viewer::Auditor,
        _ => Viewer::Operations,
    };
    f.roster
        .persons
        .keys()
        .filter_map(|t| f.roster.view(t, viewer))
        .map(|mut p| {
            p.flags.retain(|fl| flag_visible(role, fl));
            p
        })
        .collect()
}

/// The persons on board each unit flagged as a medical emergency, who go first when any
/// are evacuated or landed (R39), for a role that may see that flag: `{unit: [tags]}`.
pub fn medevac_queue(f: &CaseFile, role: Role) -> BTreeMap<String, Vec<String>> {
    let mut queue: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if !flag_visible(role, &Vulnerability::MedEmerg) {
        return queue;
    }
    for p in f.roster.persons.values() {
        if let Status::OnBoard(unit) = &p.status
            && p.flags.contains(&Vulnerability::MedEmerg)
        {
            queue.entry(unit.clone()).or_default().push(p.tag.clone());
        }
    }
    queue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protection_data_is_the_protection_officers_alone() {
        for role in Role::ALL {
            assert_eq!(
                may_see(role, Class::Protection),
                role == Role::ProtectionOfficer,
                "{role:?}"
            );
        }
        for kind in [
            "asylum",
            "asylum_restricted",
            "protection_override",
            "referral",
        ] {
            assert_eq!(class_of(kind), Some(Class::Protection), "{kind}");
        }
    }
}
