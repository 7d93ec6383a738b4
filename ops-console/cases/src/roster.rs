//! The roster of persons rescued or found on board (RULES.md): a tag for every person at first contact, where each person is, headcounts
//! reconciled against it, transfers received, vulnerability and protection.
//!
//! Migrants are people to protect, never suspects for having been smuggled: no record can
//! carry that as an offence (R36), and what a person said about asylum is seen by the
//! protection officer only and never shared with the State they fear (R40, R41).
//!
//! Rules: R31 (unique tags, never reassigned), R32 (occupancy never negative, equal to the
//! latest headcount or a discrepancy), R33 (every transfer out received, or an alert),
//! R34 (no closure while anyone is on board or counts disagree without a reconciliation
//! note), R35 (suspects are rescued persons, never counted twice), R36, R37 (detention
//! needs consular rights informed, or why not), R38 (an unaccompanied child is not grouped
//! with unrelated adults without the protection officer), R39 (medical emergencies first
//! at disembarkation), R40, R41, R42 (age and nationality keep their provenance; an
//! assessed age names its method and assessor).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Roles the roster distinguishes (RULES.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Viewer {
    /// Crews, watch officers, the SMC.
    Operations,
    /// Investigator.
    Investigator,
    /// Protection officer.
    ProtectionOfficer,
    /// Auditor.
    Auditor,
}

/// How long a transfer of persons may go unreceived before it is alerted (R33).
pub const TRANSFER_DUE: SignedDuration = SignedDuration::from_hours(2);

/// Where a value came from (R42).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// Seen by the crew.
    Observed,
    /// Said by the person.
    Declared,
    /// Assessed by a competent person, with a method.
    Assessed {
        /// How.
        method: String,
        /// By whom.
        by: String,
    },
}

/// A value with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sourced<T> {
    /// The value.
    pub value: T,
    /// Where it came from.
    pub provenance: Provenance,
}

/// Where a person is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// On board a unit.
    OnBoard(String),
    /// Handed over to another unit, not yet received.
    InTransfer {
        /// From.
        from: String,
        /// To.
        to: String,
    },
    /// Evacuated to a medical facility.
    Medevac(String),
    /// Disembarked at a port.
    Disembarked(String),
    /// Died after rescue.
    Died,
    /// Missing.
    Missing,
}

impl Status {
    /// Where the person is, in words.
    pub fn describe(&self) -> String {
        match self {
            Status::OnBoard(u) => format!("on board {u}"),
            Status::InTransfer { from, to } => format!("in transfer from {from} to {to}"),
            Status::Medevac(f) => format!("evacuated to {f}"),
            Status::Disembarked(p) => format!("disembarked at {p}"),
            Status::Died => "dead".to_owned(),
            Status::Missing => "missing".to_owned(),
        }
    }
}

/// Vulnerability codes (RULES.md), the ones the rules act on named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Vulnerability {
    /// Unaccompanied or separated child.
    Uasc,
    /// Medical emergency.
    MedEmerg,
    /// Pregnant.
    Pregnant,
    /// Possible victim of trafficking.
    Vot,
    /// Another code of §3.2.
    Other(String),
}

/// What a person said about seeking protection (restricted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsylumExpression {
    /// When.
    pub at: Timestamp,
    /// Heard by.
    pub heard_by: String,
    /// What was said (protection officer only).
    pub summary: String,
    /// States the person's data must never go to (ISO 3166 alpha-2).
    pub blocked_states: Vec<String>,
}

/// An offence a suspect decision can name (never being smuggled: art. 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Offence {
    /// Smuggling of migrants (art. 6(1)(a)).
    Smuggling,
    /// Document fraud for smuggling (art. 6(1)(b)).
    DocumentFraud,
    /// Enabling illegal stay (art. 6(1)(c)).
    EnablingStay,
    /// Being smuggled: not an offence (art. 5); exists only to be refused.
    BeingSmuggled,
}

/// One person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    /// The tag given at first contact.
    pub tag: String,
    /// When and by which unit.
    pub first_contact: (Timestamp, String),
    /// Where the person is.
    pub status: Status,
    /// Age, with provenance.
    pub age: Option<Sourced<u8>>,
    /// Nationality (ISO 3166 alpha-2), with provenance.
    pub nationality: Option<Sourced<String>>,
    /// Family group.
    pub family: Option<u32>,
    /// Vulnerabilities.
    pub flags: Vec<Vulnerability>,
    /// Asylum expression, if any (restricted).
    pub asylum: Option<AsylumExpression>,
    /// Suspect decision: investigator, offences, grounds.
    pub suspect: Option<(String, Vec<Offence>, String)>,
    /// Detention: legal basis, consular rights informed at (or why not).
    pub detention: Option<(String, Result<Timestamp, String>)>,
}

/// A headcount of a unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Headcount {
    /// The unit.
    pub unit: String,
    /// When.
    pub at: Timestamp,
    /// Counted alive.
    pub alive: u32,
    /// Counted deceased.
    pub deceased: u32,
    /// By whom.
    pub by: String,
}

/// A transfer between units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// Its id.
    pub id: u32,
    /// The persons.
    pub tags: Vec<String>,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
    /// Handed over at.
    pub at: Timestamp,
    /// Received: when and by whom.
    pub received: Option<(Timestamp, String)>,
}

pub use super::Refused;
use super::refuse;

/// A person as a viewer may see them (R40).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonView {
    /// Tag.
    pub tag: String,
    /// Status.
    pub status: Status,
    /// Vulnerabilities.
    pub flags: Vec<Vulnerability>,
    /// Whether the person expressed a wish for protection (everyone who sees the person
    /// sees that, so nobody acts against it).
    pub asylum_expressed: bool,
    /// What was said: the protection officer only.
    pub asylum: Option<AsylumExpression>,
}

/// The roster of one incident.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    /// Persons by tag.
    pub persons: BTreeMap<String, Person>,
    /// Tags given per unit so far (never decremented: R31).
    pub issued: BTreeMap<String, u32>,
    /// Headcounts, in order.
    pub headcounts: Vec<Headcount>,
    /// Transfers.
    pub transfers: Vec<Transfer>,
    /// Reconciliation notes (for closure with counts that disagree).
    pub reconciliations: Vec<String>,
    /// The discrepancies still open, by unit (R32): the last headcount on the unit
    /// disagreed with the roster. A later headcount that agrees closes it; closure waits for
    /// a reconciliation note while any is open (R34).
    #[serde(default)]
    pub discrepancies: BTreeMap<String, String>,
    /// Family groups a protection officer approved (a child alone with adults, R38).
    #[serde(default)]
    pub approved_families: std::collections::BTreeSet<u32>,
}

impl Roster {
    /// Tag a person at first contact on `unit` (R31): `{unit}-{n:04}`, never reused.
    pub fn tag(&mut self, unit: &str, at: Timestamp) -> String {
        let n = self.issued.entry(unit.to_owned()).or_default();
        *n += 1;
        let tag = format!("{unit}-{n:04}");
        self.persons.insert(
            tag.clone(),
            Person {
                tag: tag.clone(),
                first_contact: (at, unit.to_owned()),
                status: Status::OnBoard(unit.to_owned()),
                age: None,
                nationality: None,
                family: None,
                flags: Vec::new(),
                asylum: None,
                suspect: None,
                detention: None,
            },
        );
        tag
    }

    fn person(&mut self, tag: &str) -> Result<&mut Person, Refused> {
        self.persons
            .get_mut(tag)
            .ok_or_else(|| refuse("roster", format!("no person tagged {tag}")))
    }

    /// Persons on board `unit` now (R32: a count, never negative).
    pub fn occupancy(&self, unit: &str) -> u32 {
        self.persons
            .values()
            .filter(|p| matches!(&p.status, Status::OnBoard(u) if u == unit))
            .count() as u32
    }

    /// Record a headcount; the discrepancy with the roster, if any (R32).
    pub fn headcount(&mut self, h: Headcount) -> Option<String> {
        let on_board = self.occupancy(&h.unit);
        let dead = self
            .persons
            .values()
            .filter(|p| p.status == Status::Died && p.first_contact.1 == h.unit)
            .count() as u32;
        let d = (h.alive != on_board || h.deceased != dead).then(|| {
            format!(
                "{} counted {} alive and {} deceased on {} at {}; the roster has {on_board} on board and {dead} deceased",
                h.by, h.alive, h.deceased, h.unit, h.at
            )
        });
        match &d {
            Some(text) => self.discrepancies.insert(h.unit.clone(), text.clone()),
            None => self.discrepancies.remove(&h.unit),
        };
        self.headcounts.push(h);
        d
    }

    /// Every one of `tags` is a person on board `unit` (R32: nobody leaves a unit they are
    /// not on).
    fn all_on_board(&self, tags: &[&str], unit: &str) -> Result<(), Refused> {
        for t in tags {
            let p = self
                .persons
                .get(*t)
                .ok_or_else(|| refuse("roster", format!("no person tagged {t}")))?;
            if p.status != Status::OnBoard(unit.to_owned()) {
                return Err(refuse("R32", format!("{t} is not on board {unit}")));
            }
        }
        Ok(())
    }

    /// Hand persons over from one unit to another.
    pub fn transfer_out(
        &mut self,
        tags: &[&str],
        from: &str,
        to: &str,
        at: Timestamp,
    ) -> Result<u32, Refused> {
        self.all_on_board(tags, from)?;
        for t in tags {
            self.person(t)?.status = Status::InTransfer {
                from: from.to_owned(),
                to: to.to_owned(),
            };
        }
        let id = self.transfers.len() as u32 + 1;
        self.transfers.push(Transfer {
            id,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            from: from.to_owned(),
            to: to.to_owned(),
            at,
            received: None,
        });
        Ok(id)
    }

    /// Persons of a family group on board `from` whom handing over `tags` would leave behind
    /// (R38): each group moved in part, with the members who stay.
    pub fn families_split(&self, tags: &[&str], from: &str) -> Vec<(u32, Vec<String>)> {
        let mut groups: Vec<u32> = tags
            .iter()
            .filter_map(|t| self.persons.get(*t).and_then(|p| p.family))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups
            .into_iter()
            .filter_map(|g| {
                let left: Vec<String> = self
                    .persons
                    .values()
                    .filter(|p| {
                        p.family == Some(g)
                            && p.status == Status::OnBoard(from.to_owned())
                            && !tags.contains(&p.tag.as_str())
                    })
                    .map(|p| p.tag.clone())
                    .collect();
                (!left.is_empty()).then_some((g, left))
            })
            .collect()
    }

    /// A person rescued is missing: lost from a unit or during a transfer (R22). Missing
    /// persons are not accounted for, so the SAR case is not terminated as everyone
    /// accounted for until they are found.
    pub fn missing(&mut self, tag: &str) -> Result<(), Refused> {
        let p = self.person(tag)?;
        if !matches!(p.status, Status::OnBoard(_) | Status::InTransfer { .. }) {
            return Err(refuse(
                "R22",
                format!(
                    "{tag} is {}: only a person on board or in transfer goes missing",
                    p.status.describe()
                ),
            ));
        }
        p.status = Status::Missing;
        Ok(())
    }

    /// A missing person found, on board `unit` (R22).
    pub fn found(&mut self, tag: &str, unit: &str) -> Result<(), Refused> {
        let p = self.person(tag)?;
        if p.status != Status::Missing {
            return Err(refuse(
                "R22",
                format!("{tag} is {}, not missing", p.status.describe()),
            ));
        }
        p.status = Status::OnBoard(unit.to_owned());
        Ok(())
    }

    /// A person died after rescue, on board, in transfer, evacuated or missing (the body
    /// recovered): accounted for (R22), counted deceased by headcounts (R32).
    pub fn died(&mut self, tag: &str) -> Result<(), Refused> {
        let p = self.person(tag)?;
        if matches!(p.status, Status::Died | Status::Disembarked(_)) {
            return Err(refuse(
                "R22",
                format!(
                    "{tag} is {}: a death after disembarkation is not the incident's to record",
                    p.status.describe()
                ),
            ));
        }
        p.status = Status::Died;
        Ok(())
    }

    /// Persons evacuated from `unit` to a medical facility (R39).
    pub fn medevac(&mut self, tags: &[&str], unit: &str, facility: &str) -> Result<(), Refused> {
        self.all_on_board(tags, unit)?;
        for t in tags {
            self.person(t)?.status = Status::Medevac(facility.to_owned());
        }
        Ok(())
    }

    /// Persons on board `unit` flagged as a medical emergency, the medevac queue (R39).
    pub fn medical_emergencies(&self, unit: &str) -> Vec<&str> {
        self.persons
            .values()
            .filter(|p| {
                p.status == Status::OnBoard(unit.to_owned())
                    && p.flags.contains(&Vulnerability::MedEmerg)
            })
            .map(|p| p.tag.as_str())
            .collect()
    }

    /// Set a nationality with its provenance (R42).
    pub fn set_nationality(&mut self, tag: &str, n: Sourced<String>) -> Result<(), Refused> {
        let code = n.value.trim();
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(refuse(
                "R42",
                format!("{code:?}: a nationality is an ISO 3166 alpha-2 code (`SY`, `ER`)"),
            ));
        }
        if let Provenance::Assessed { method, by } = &n.provenance
            && (method.trim().is_empty() || by.trim().is_empty())
        {
            return Err(refuse(
                "R42",
                "an assessed nationality names its method and assessor",
            ));
        }
        self.person(tag)?.nationality = Some(Sourced {
            value: code.to_ascii_uppercase(),
            provenance: n.provenance,
        });
        Ok(())
    }

    /// The receiving unit confirms the same persons (R33).
    pub fn transfer_received(
        &mut self,
        id: u32,
        tags: &[&str],
        by: &str,
        at: Timestamp,
    ) -> Result<(), Refused> {
        // The transfer each person was last handed over in.
        let mut last_transfer: BTreeMap<&str, u32> = BTreeMap::new();
        for t in &self.transfers {
            for tag in &t.tags {
                last_transfer.insert(tag.as_str(), t.id);
            }
        }
        let tr = self
            .transfers
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| refuse("R33", format!("no transfer {id}")))?;
        let mut sent: Vec<&str> = if tr.received.is_some() {
            // Received again (a unit and the centre both confirming, as logs from before
            // allowed): only the same persons as handed over.
            tr.tags.iter().map(String::as_str).collect()
        } else {
            // Those handed over and still in this transfer: less any recorded missing or dead
            // on the way, found again elsewhere, or handed over since in another (R22).
            let in_transfer = Status::InTransfer {
                from: tr.from.clone(),
                to: tr.to.clone(),
            };
            tr.tags
                .iter()
                .map(String::as_str)
                .filter(|t| {
                    self.persons.get(*t).is_none_or(|p| p.status == in_transfer)
                        && last_transfer.get(t) == Some(&id)
                })
                .collect()
        };
        let mut got = tags.to_vec();
        sent.sort_unstable();
        got.sort_unstable();
        if sent != got {
            return Err(refuse(
                "R33",
                format!("received {got:?} but {sent:?} were handed over"),
            ));
        }
        let tr = self
            .transfers
            .iter_mut()
            .find(|t| t.id == id)
            .expect("found above");
        if tr.received.is_some() {
            // The first receipt stands; its persons are where it put them.
            return Ok(());
        }
        tr.received = Some((at, by.to_owned()));
        let to = tr.to.clone();
        for t in tags {
            self.person(t)?.status = Status::OnBoard(to.clone());
        }
        Ok(())
    }

    /// Transfers not received within `window` of `now`: each an alert (R33).
    pub fn overdue_transfers(&self, now: Timestamp, window: SignedDuration) -> Vec<&Transfer> {
        self.transfers
            .iter()
            .filter(|t| t.received.is_none() && now.duration_since(t.at) > window)
            .collect()
    }

    /// May the incident close (R34)?
    pub fn can_close(&self) -> Result<(), Refused> {
        if let Some(p) = self
            .persons
            .values()
            .find(|p| matches!(p.status, Status::OnBoard(_) | Status::InTransfer { .. }))
        {
            return Err(refuse(
                "R34",
                format!("{} is still on board or in transfer", p.tag),
            ));
        }
        let last_alive: u32 = {
            let mut latest: BTreeMap<&str, &Headcount> = BTreeMap::new();
            for h in &self.headcounts {
                latest.insert(&h.unit, h);
            }
            latest.values().map(|h| h.alive + h.deceased).sum()
        };
        let tagged = self.persons.len() as u32;
        if !self.headcounts.is_empty() && last_alive != tagged && self.reconciliations.is_empty() {
            return Err(refuse(
                "R34",
                format!(
                    "the last headcounts total {last_alive} but {tagged} persons are tagged: add a reconciliation note"
                ),
            ));
        }
        Ok(())
    }

    /// An investigator's decision that a rescued person is a suspect (R35, R36).
    pub fn suspect(
        &mut self,
        tag: &str,
        viewer: Viewer,
        by: &str,
        offences: &[Offence],
        grounds: &str,
    ) -> Result<(), Refused> {
        if viewer != Viewer::Investigator {
            return Err(refuse(
                "R36",
                "only an investigator decides that a person is a suspect",
            ));
        }
        if offences.is_empty() || offences.contains(&Offence::BeingSmuggled) {
            return Err(refuse(
                "R36",
                "being smuggled is not an offence (art. 5): name the smuggling offence",
            ));
        }
        if grounds.trim().is_empty() {
            return Err(refuse("R36", "the grounds are required"));
        }
        self.person(tag)?.suspect = Some((by.to_owned(), offences.to_vec(), grounds.to_owned()));
        Ok(())
    }

    /// Persons tagged, and of them suspects: suspects are never counted twice (R35).
    pub fn counts(&self) -> (u32, u32) {
        let all = self.persons.len() as u32;
        let suspects = self
            .persons
            .values()
            .filter(|p| p.suspect.is_some())
            .count() as u32;
        (all, suspects)
    }

    /// Detain a person (R37): consular rights informed at a time, or why not applicable.
    pub fn detain(
        &mut self,
        tag: &str,
        basis: &str,
        consular: Result<Timestamp, String>,
    ) -> Result<(), Refused> {
        if let Err(why) = &consular
            && why.trim().is_empty()
        {
            return Err(refuse(
                "R37",
                "consular rights informed, or why that does not apply (art. 16(5))",
            ));
        }
        if basis.trim().is_empty() {
            return Err(refuse(
                "R37",
                "the legal basis of the detention is required",
            ));
        }
        self.person(tag)?.detention = Some((basis.to_owned(), consular));
        Ok(())
    }

    /// Put a person in a family group (R38).
    pub fn group(
        &mut self,
        tag: &str,
        family: u32,
        protection_approval: Option<&str>,
    ) -> Result<(), Refused> {
        let child_alone = self.person(tag)?.flags.contains(&Vulnerability::Uasc);
        let adults_in_group = self.persons.values().any(|p| {
            p.family == Some(family) && p.tag != tag && !p.flags.contains(&Vulnerability::Uasc)
        });
        if child_alone && adults_in_group && protection_approval.is_none() {
            return Err(refuse(
                "R38",
                "an unaccompanied child joins a group with adults only with the protection officer's approval",
            ));
        }
        self.person(tag)?.family = Some(family);
        if protection_approval.is_some() {
            self.approved_families.insert(family);
        }
        Ok(())
    }

    /// Flag a vulnerability. A child found to be unaccompanied leaves a family group that
    /// holds adults (R38: grouped with unrelated adults only on the protection officer's
    /// approval, which the group was made without): the group it left, if any.
    pub fn flag(&mut self, tag: &str, v: Vulnerability) -> Result<Option<u32>, Refused> {
        let mut left = None;
        let newly = !self.person(tag)?.flags.contains(&v);
        if v == Vulnerability::Uasc
            && newly
            && let Some(g) = self.person(tag)?.family
            && !self.approved_families.contains(&g)
            && self.persons.values().any(|q| {
                q.family == Some(g) && q.tag != tag && !q.flags.contains(&Vulnerability::Uasc)
            })
        {
            self.person(tag)?.family = None;
            left = Some(g);
        }
        let p = self.person(tag)?;
        if !p.flags.contains(&v) {
            p.flags.push(v);
        }
        Ok(left)
    }

    /// A medical emergency over (R39): the person leaves the medevac queue and is no longer
    /// landed first. Only that flag ends; the others describe the person, not a moment.
    pub fn emergency_over(&mut self, tag: &str, v: &Vulnerability) -> Result<(), Refused> {
        if *v != Vulnerability::MedEmerg {
            return Err(refuse(
                "R39",
                format!("only a medical emergency is over; {v:?} stays on record"),
            ));
        }
        let p = self.person(tag)?;
        if !p.flags.contains(v) {
            return Err(refuse(
                "R39",
                format!("{tag} is not flagged as a medical emergency"),
            ));
        }
        p.flags.retain(|f| f != v);
        Ok(())
    }

    /// Set an age with its provenance (R42).
    pub fn set_age(&mut self, tag: &str, age: Sourced<u8>) -> Result<(), Refused> {
        if let Provenance::Assessed { method, by } = &age.provenance
            && (method.trim().is_empty() || by.trim().is_empty())
        {
            return Err(refuse(
                "R42",
                "an assessed age names its method and assessor",
            ));
        }
        self.person(tag)?.age = Some(age);
        Ok(())
    }

    /// Record what a person said about seeking protection.
    pub fn asylum(&mut self, tag: &str, a: AsylumExpression) -> Result<(), Refused> {
        self.person(tag)?.asylum = Some(a);
        Ok(())
    }

    /// The disembarkation order of the persons on `unit`: medical emergencies first, then
    /// by tag (R39); families stay together after their first member.
    pub fn disembarkation_order(&self, unit: &str) -> Vec<&str> {
        let mut on: Vec<&Person> = self
            .persons
            .values()
            .filter(|p| matches!(&p.status, Status::OnBoard(u) if u == unit))
            .collect();
        on.sort_by_key(|p| (!p.flags.contains(&Vulnerability::MedEmerg), p.tag.clone()));
        // Every medical emergency first, then the families (theirs first), together.
        let mut out: Vec<&str> = on
            .iter()
            .filter(|p| p.flags.contains(&Vulnerability::MedEmerg))
            .map(|p| p.tag.as_str())
            .collect();
        for p in &on {
            if !out.contains(&p.tag.as_str()) {
                out.push(&p.tag);
            }
            if let Some(f) = p.family {
                for q in on.iter().filter(|q| q.family == Some(f) && q.tag != p.tag) {
                    if !out.contains(&q.tag.as_str()) {
                        out.push(&q.tag);
                    }
                }
            }
        }
        out
    }

    /// A person as `viewer` sees them (R40).
    pub fn view(&self, tag: &str, viewer: Viewer) -> Option<PersonView> {
        let p = self.persons.get(tag)?;
        Some(PersonView {
            tag: p.tag.clone(),
            status: p.status.clone(),
            flags: p.flags.clone(),
            asylum_expressed: p.asylum.is_some(),
            asylum: p
                .asylum
                .clone()
                .filter(|_| viewer == Viewer::ProtectionOfficer),
        })
    }

    /// May a person's data go to `state` (R41)?
    pub fn may_share(&self, tag: &str, state: &str) -> Result<(), Refused> {
        let p = self
            .persons
            .get(tag)
            .ok_or_else(|| refuse("roster", format!("no person tagged {tag}")))?;
        match &p.asylum {
            Some(a)
                if a.blocked_states
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(state)) =>
            {
                Err(refuse(
                    "R41",
                    format!("{tag} asked for protection: their data never goes to {state}"),
                ))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        "2026-11-22T04:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(min)
    }

    /// 47 persons taken aboard CP 301.
    fn rescued() -> (Roster, Vec<String>) {
        let mut r = Roster::default();
        let tags = (0..47).map(|_| r.tag("CP301", t(0))).collect();
        (r, tags)
    }

    #[test]
    fn r31_every_person_gets_a_unique_tag_never_reassigned() {
        let (mut r, tags) = rescued();
        let mut u = tags.clone();
        u.sort();
        u.dedup();
        assert_eq!(u.len(), 47);
        assert_eq!(tags[0], "CP301-0001");
        // A person who died keeps the tag; the next one gets a new number.
        r.persons.get_mut("CP301-0047").unwrap().status = Status::Died;
        assert_eq!(r.tag("CP301", t(5)), "CP301-0048");
    }

    #[test]
    fn r32_occupancy_matches_the_headcount_or_a_discrepancy_is_raised() {
        let (mut r, _) = rescued();
        assert_eq!(r.occupancy("CP301"), 47);
        let ok = Headcount {
            unit: "CP301".into(),
            at: t(10),
            alive: 47,
            deceased: 0,
            by: "bo".into(),
        };
        assert_eq!(r.headcount(ok.clone()), None);
        let d = r
            .headcount(Headcount { alive: 46, ..ok })
            .expect("a discrepancy");
        assert!(d.contains("46") && d.contains("47"), "{d}");
        assert_eq!(r.occupancy("CP302"), 0);
    }

    #[test]
    fn r33_every_transfer_is_received_with_the_same_persons_or_alerted() {
        let (mut r, tags) = rescued();
        let moved: Vec<&str> = tags[..10].iter().map(String::as_str).collect();
        let id = r.transfer_out(&moved, "CP301", "CP302", t(30)).unwrap();
        assert_eq!(r.occupancy("CP301"), 37);
        assert_eq!(
            r.overdue_transfers(t(100), SignedDuration::from_mins(60))
                .len(),
            1
        );
        let e = r
            .transfer_received(id, &moved[..9], "cdr302", t(40))
            .unwrap_err();
        assert_eq!(e.rule, "R33");
        r.transfer_received(id, &moved, "cdr302", t(40)).unwrap();
        assert_eq!(r.occupancy("CP302"), 10);
        assert!(
            r.overdue_transfers(t(100), SignedDuration::from_mins(60))
                .is_empty()
        );
    }

    #[test]
    fn r34_no_closure_while_anyone_is_on_board_or_counts_disagree() {
        let (mut r, tags) = rescued();
        assert_eq!(r.can_close().unwrap_err().rule, "R34");
        for tag in &tags {
            r.persons.get_mut(tag).unwrap().status = Status::Disembarked("Lampedusa".into());
        }
        r.headcounts.push(Headcount {
            unit: "CP301".into(),
            at: t(120),
            alive: 46,
            deceased: 0,
            by: "bo".into(),
        });
        assert_eq!(r.can_close().unwrap_err().rule, "R34");
        r.reconciliations
            .push("one child counted with the mother at the 120 min count".into());
        r.can_close().unwrap();
    }

    #[test]
    fn r35_suspects_are_rescued_persons_never_counted_twice() {
        let (mut r, tags) = rescued();
        r.suspect(
            &tags[3],
            Viewer::Investigator,
            "inv",
            &[Offence::Smuggling],
            "steered the boat, identified by 5 witnesses",
        )
        .unwrap();
        assert_eq!(r.counts(), (47, 1));
    }

    #[test]
    fn r36_being_smuggled_is_never_an_offence() {
        let (mut r, tags) = rescued();
        let e = r
            .suspect(
                &tags[0],
                Viewer::Investigator,
                "inv",
                &[Offence::BeingSmuggled],
                "on the boat",
            )
            .unwrap_err();
        assert_eq!(e.rule, "R36");
        let e = r
            .suspect(
                &tags[0],
                Viewer::Operations,
                "cdr",
                &[Offence::Smuggling],
                "x",
            )
            .unwrap_err();
        assert_eq!(e.rule, "R36");
        assert_eq!(r.counts().1, 0);
    }

    #[test]
    fn r37_detention_needs_consular_rights_informed_or_why_not() {
        let (mut r, tags) = rescued();
        let e = r
            .detain(&tags[3], "arrest warrant 12/2026", Err(" ".into()))
            .unwrap_err();
        assert_eq!(e.rule, "R37");
        r.detain(&tags[3], "arrest warrant 12/2026", Ok(t(200)))
            .unwrap();
    }

    #[test]
    fn r38_an_unaccompanied_child_joins_adults_only_with_protection_approval() {
        let (mut r, tags) = rescued();
        r.group(&tags[0], 1, None).unwrap();
        r.flag(&tags[1], Vulnerability::Uasc).unwrap();
        assert_eq!(r.group(&tags[1], 1, None).unwrap_err().rule, "R38");
        r.group(
            &tags[1],
            1,
            Some("protection officer: declared aunt, consistent accounts"),
        )
        .unwrap();
    }

    #[test]
    fn r39_medical_emergencies_disembark_first_and_families_together() {
        let (mut r, tags) = rescued();
        r.flag(&tags[20], Vulnerability::MedEmerg).unwrap();
        r.group(&tags[20], 7, None).unwrap();
        r.group(&tags[30], 7, None).unwrap();
        let order = r.disembarkation_order("CP301");
        assert_eq!(order.len(), 47);
        assert_eq!(&order[..2], &[tags[20].as_str(), tags[30].as_str()]);
        // Review 23: a second emergency goes before the first one's family, and that family
        // stays together after the emergencies.
        r.flag(&tags[40], Vulnerability::MedEmerg).unwrap();
        r.group(&tags[31], 7, None).unwrap();
        let order = r.disembarkation_order("CP301");
        assert_eq!(
            &order[..4],
            &[
                tags[20].as_str(),
                tags[40].as_str(),
                tags[30].as_str(),
                tags[31].as_str()
            ]
        );
    }

    /// Review 23: a transfer's receipt expects those still in it — not a person lost on the
    /// way, found, and handed over again in a later transfer — and a second receipt (as logs
    /// from before allowed, the unit and the centre both confirming) changes nothing.
    #[test]
    fn r33_a_receipt_expects_those_still_in_its_transfer() {
        let (mut r, tags) = rescued();
        let two = [tags[0].as_str(), tags[1].as_str()];
        let first = r.transfer_out(&two, "CP301", "CP302", t(10)).unwrap();
        r.missing(two[0]).unwrap();
        r.found(two[0], "CP301").unwrap();
        let second = r.transfer_out(&[two[0]], "CP301", "CP302", t(20)).unwrap();
        // Transfer 1 now holds the second person only.
        assert_eq!(
            r.transfer_received(first, &two, "cdr302", t(30))
                .unwrap_err()
                .rule,
            "R33"
        );
        r.transfer_received(first, &[two[1]], "cdr302", t(30))
            .unwrap();
        r.transfer_received(second, &[two[0]], "cdr302", t(31))
            .unwrap();
        // Confirmed again with its persons: accepted, the first receipt stands.
        r.transfer_received(first, &two, "centre", t(40)).unwrap();
        let tr = r.transfers.iter().find(|x| x.id == first).unwrap();
        assert_eq!(tr.received, Some((t(30), "cdr302".to_owned())));
        // An empty receipt of a transfer received does not overwrite who received it.
        assert!(r.transfer_received(first, &[], "nobody", t(50)).is_err());
        assert_eq!(r.occupancy("CP302"), 2);
    }

    /// Review 23: a child flagged unaccompanied after being grouped with adults leaves the
    /// group (R38: only the protection officer puts a child alone with unrelated adults).
    #[test]
    fn r38_a_child_found_unaccompanied_leaves_a_group_of_adults() {
        let (mut r, tags) = rescued();
        r.group(&tags[1], 3, None).unwrap();
        r.group(&tags[2], 3, None).unwrap();
        assert_eq!(r.flag(&tags[1], Vulnerability::Uasc).unwrap(), Some(3));
        assert_eq!(r.persons[&tags[1]].family, None);
        assert_eq!(r.persons[&tags[2]].family, Some(3));
        // Two children alone together stay together.
        r.group(&tags[5], 4, None).unwrap();
        r.flag(&tags[5], Vulnerability::Uasc).unwrap();
        r.group(&tags[6], 4, None).unwrap();
        assert_eq!(r.flag(&tags[6], Vulnerability::Uasc).unwrap(), None);
        assert_eq!(r.persons[&tags[6]].family, Some(4));
    }

    #[test]
    fn r40_what_was_said_about_asylum_is_seen_by_the_protection_officer_only() {
        let (mut r, tags) = rescued();
        r.asylum(
            &tags[5],
            AsylumExpression {
                at: t(20),
                heard_by: "po".into(),
                summary: "fears persecution at home".into(),
                blocked_states: vec!["LY".into()],
            },
        )
        .unwrap();
        let inv = r.view(&tags[5], Viewer::Investigator).unwrap();
        assert!(inv.asylum_expressed && inv.asylum.is_none());
        let po = r.view(&tags[5], Viewer::ProtectionOfficer).unwrap();
        assert_eq!(po.asylum.unwrap().summary, "fears persecution at home");
        assert!(r.view(&tags[5], Viewer::Auditor).unwrap().asylum.is_none());
    }

    #[test]
    fn r41_no_personal_data_to_a_state_the_person_fears() {
        let (mut r, tags) = rescued();
        r.asylum(
            &tags[5],
            AsylumExpression {
                at: t(20),
                heard_by: "po".into(),
                summary: "x".into(),
                blocked_states: vec!["LY".into()],
            },
        )
        .unwrap();
        assert_eq!(r.may_share(&tags[5], "ly").unwrap_err().rule, "R41");
        r.may_share(&tags[5], "MT").unwrap();
        r.may_share(&tags[6], "LY").unwrap();
    }

    #[test]
    fn r42_an_assessed_age_names_its_method_and_assessor() {
        let (mut r, tags) = rescued();
        let e = r
            .set_age(
                &tags[1],
                Sourced {
                    value: 15,
                    provenance: Provenance::Assessed {
                        method: "".into(),
                        by: "dr".into(),
                    },
                },
            )
            .unwrap_err();
        assert_eq!(e.rule, "R42");
        r.set_age(
            &tags[1],
            Sourced {
                value: 15,
                provenance: Provenance::Declared,
            },
        )
        .unwrap();
    }
}
