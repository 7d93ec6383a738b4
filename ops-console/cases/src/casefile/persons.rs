//! Case-file actions of rescue and persons: rescues, headcounts, transfers, vulnerability, protection, the place of safety, disembarkation, suspects.

use super::*;

impl CaseFile {
    pub(super) fn apply_persons(
        &mut self,
        action: &Action,
        cx: Cx<'_>,
    ) -> Result<Option<serde_json::Value>, Refused> {
        use Action::*;
        let Cx {
            who,
            at,
            recorded_at,
            reference,
            keys,
            facts,
        } = cx;
        let json = |v: serde_json::Value| Ok(Some(v));
        match action {
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
            Vulnerability {
                tag,
                flag,
                over: true,
            } => {
                self.roster.emergency_over(tag, flag)?;
                Ok(None)
            }
            Vulnerability { tag, flag, .. } => {
                let left = self.roster.flag(tag, flag.clone())?;
                Ok(left.map(|g| serde_json::json!({"left_family": g})))
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
                self.referrals.push(super::Referral {
                    tag: tag.clone(),
                    to: to.trim().to_owned(),
                    reasons: reasons.clone(),
                    by: who.user.clone(),
                    at,
                });
                Ok(None)
            }
            // R38 is checked on a live action only (`CaseFile::live_checks`): a log written
            // before a transfer carried its reason still replays.
            TransferOut {
                tags,
                from,
                to,
                reason: _,
            } => {
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
                if name.trim().is_empty() || state.trim().is_empty() || rationale.trim().is_empty()
                {
                    return Err(refuse(
                        "R23",
                        "a place of safety names the port, its State and why",
                    ));
                }
                if let Some(unit) = self.assisting_unit_named(name, reference) {
                    return Err(refuse(
                        "R23",
                        format!(
                            "{:?} names the unit {unit}: an assisting unit is a temporary refuge, never the place of safety (MSC.167 6.13)",
                            name.trim()
                        ),
                    ));
                }
                if *assisting_unit {
                    return Err(refuse(
                        "R23",
                        "the assisting unit is a temporary refuge, never the place of safety (MSC.167 6.13)",
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
                    // Who tried may not know who asked for protection (R40): the refusal
                    // names the place's State only, never the person.
                    if feared && !overridden {
                        return Err(refuse(
                            "R24",
                            format!(
                                "someone on board {unit} asked for protection from {}, the place of safety's State: landing there needs the protection officer's override (they know who)",
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
            Detain {
                tag,
                legal_basis,
                consular_rights_informed_at,
                consular_not_applicable,
            } => {
                let consular = match (consular_rights_informed_at, consular_not_applicable) {
                    (Some(t), None) => Ok(*t),
                    (None, Some(why)) => Err(why.trim().to_owned()),
                    _ => {
                        return Err(refuse(
                            "R37",
                            "give when consular rights were told (consular_rights_informed_at) or why that does not apply (consular_not_applicable), one of them",
                        ));
                    }
                };
                self.roster.detain(tag, legal_basis.trim(), consular)?;
                Ok(None)
            }
            Family {
                tags,
                protection_approval,
            } => {
                if tags.len() < 2 {
                    return Err(refuse("R38", "a family group has two persons or more"));
                }
                // Only the protection officer approves a child alone joining adults.
                let approval = protection_approval
                    .as_deref()
                    .map(str::trim)
                    .filter(|a| !a.is_empty() && who.role == Role::ProtectionOfficer);
                // Whatever order the tags come in: a child alone with unrelated adults.
                let alone = |t: &String| {
                    self.roster
                        .persons
                        .get(t)
                        .is_some_and(|p| p.flags.contains(&crate::roster::Vulnerability::Uasc))
                };
                if approval.is_none() && tags.iter().any(alone) && !tags.iter().all(alone) {
                    return Err(refuse(
                        "R38",
                        "an unaccompanied child joins a group with adults only with the protection officer's approval",
                    ));
                }
                let family = self
                    .roster
                    .persons
                    .values()
                    .filter_map(|p| p.family)
                    .max()
                    .unwrap_or(0)
                    + 1;
                for tag in tags {
                    self.roster.group(tag, family, approval)?;
                }
                json(serde_json::json!({"family": family}))
            }
            Medevac {
                tags,
                unit,
                facility,
                reason,
            } => {
                if tags.is_empty() || facility.trim().is_empty() {
                    return Err(refuse(
                        "R39",
                        "a medevac names the persons and the facility",
                    ));
                }
                let t: Vec<&str> = tags.iter().map(String::as_str).collect();
                let reason = reason.as_deref().map(str::trim).filter(|r| !r.is_empty());
                // Medical emergencies first: none stays on board while others go, unless
                // a reason is recorded.
                let waiting: Vec<&str> = self
                    .roster
                    .medical_emergencies(unit)
                    .into_iter()
                    .filter(|e| !t.contains(e))
                    .collect();
                if !waiting.is_empty() && reason.is_none() {
                    return Err(refuse(
                        "R39",
                        format!(
                            "{} on {unit} {} a medical emergency and {} first, or give the reason",
                            waiting.join(", "),
                            if waiting.len() == 1 { "is" } else { "are" },
                            if waiting.len() == 1 { "goes" } else { "go" },
                        ),
                    ));
                }
                self.keeps_families(&t, unit, reason, "a medevac")?;
                self.roster.medevac(&t, unit, facility.trim())?;
                json(serde_json::json!({"evacuated": t.len(), "facility": facility.trim()}))
            }
            PersonMissing { tag, circumstances } | PersonDied { tag, circumstances } => {
                if circumstances.trim().is_empty() {
                    return Err(refuse("R22", "say what happened"));
                }
                if matches!(action, PersonMissing { .. }) {
                    self.roster.missing(tag)?;
                } else {
                    self.roster.died(tag)?;
                }
                Ok(None)
            }
            PersonFound { tag, unit } => {
                if unit.trim().is_empty() {
                    return Err(refuse("R22", "name the unit that has the person now"));
                }
                self.roster.found(tag, unit.trim())?;
                Ok(None)
            }
            Nationality {
                tag,
                state,
                provenance,
            } => {
                self.roster.set_nationality(
                    tag,
                    Sourced {
                        value: state.clone(),
                        provenance: provenance.clone(),
                    },
                )?;
                Ok(None)
            }
            Age {
                tag,
                years,
                provenance,
            } => {
                self.roster.set_age(
                    tag,
                    Sourced {
                        value: *years,
                        provenance: provenance.clone(),
                    },
                )?;
                Ok(None)
            }
            CloseIncident { reconciliation } => {
                let mut roster = self.roster.clone();
                if let Some(note) = reconciliation.as_deref().map(str::trim)
                    && !note.is_empty()
                {
                    roster.reconciliations.push(note.to_owned());
                }
                roster.can_close()?;
                self.roster = roster;
                self.closed = Some((who.user.clone(), at));
                Ok(None)
            }
            _ => unreachable!("dispatched by CaseFile::apply_inner"),
        }
    }
}

impl CaseFile {
    /// The rules added after case files were first written, checked on a live action only
    /// (before it is applied), so that a log written before them still replays as it was
    /// taken: a transfer splitting a family needs a reason (R38); the place of safety is
    /// checked again when landing, as the place may have been decided before the unit it
    /// names took part (R23).
    ///
    /// At sea (`unit`, the unit whose record it is), a unit confirms only a transfer handed
    /// over to it (R33): the alert for persons not received must not be cleared by the unit
    /// that sent them, or a third.
    pub(super) fn live_checks(
        &self,
        action: &Action,
        unit: Option<&str>,
        reference: &Reference,
        recorded_at: Timestamp,
    ) -> Result<(), Refused> {
        match action {
            Action::TransferReceived { transfer, .. } => {
                match (
                    unit,
                    self.roster.transfers.iter().find(|t| t.id == *transfer),
                ) {
                    (Some(unit), Some(t)) if unit_key(&t.to) != unit_key(unit) => Err(refuse(
                        "R33",
                        format!(
                            "transfer {transfer} was handed over to {}: only it confirms the receipt, not {unit}",
                            t.to
                        ),
                    )),
                    _ => Ok(()),
                }
            }
            Action::TransferOut {
                tags, from, reason, ..
            } => {
                let t: Vec<&str> = tags.iter().map(String::as_str).collect();
                self.keeps_families(&t, from, reason.as_deref(), "a transfer")
            }
            // R34: totals that agree can hide a unit that counted one too many and another
            // one too few; each unit's own last count is checked too (live: incidents closed
            // before this check still replay).
            Action::CloseIncident { reconciliation } => {
                let noted = reconciliation
                    .as_deref()
                    .is_some_and(|n| !n.trim().is_empty())
                    || !self.roster.reconciliations.is_empty();
                match self.roster.discrepancies.iter().next() {
                    Some((unit, d)) if !noted => Err(refuse(
                        "R34",
                        format!(
                            "the last headcount on {unit} disagrees with the roster ({d}): recount, or add a reconciliation note"
                        ),
                    )),
                    _ => Ok(()),
                }
            }
            // R41: what goes to a State names, anywhere in its words, no one who fears it.
            Action::MlaRequest {
                to,
                our_ref,
                requesting_authority,
                subject_and_nature,
                facts_summary,
                assistance_sought,
                persons_concerned,
                purpose,
                state,
                ..
            } => {
                if state.trim().is_empty() {
                    return Err(refuse(
                        "R41",
                        "an MLA request names the State it goes to (its ISO 3166 code): what it says of any person may go nowhere they fear",
                    ));
                }
                let texts = [
                    to.as_str(),
                    our_ref,
                    requesting_authority,
                    subject_and_nature,
                    facts_summary,
                    assistance_sought,
                    persons_concerned.as_deref().unwrap_or_default(),
                    purpose,
                ];
                self.may_send(&texts, state)
            }
            // R08: a clause's delay runs on the console's clock, from when the request was
            // recorded: a request recorded late with an earlier stated time never shortens it.
            Action::DeemedAuthorization { case } => {
                let Some(c) = self.case_ref(*case) else {
                    return Ok(());
                };
                let flag = c.flag_state.as_deref().unwrap_or_default();
                let clause = crate::flag_state::deeming_clause(
                    &reference.agreements,
                    flag,
                    super::article8::utc_date(recorded_at),
                );
                match clause.and_then(|k| k.deemed_after.map(|after| (k.code, after))) {
                    Some((code, after)) => {
                        c.silence_recorded_long_enough(&code, after, recorded_at)
                    }
                    None => Ok(()),
                }
            }
            Action::NotifyFlagState { flag, message, .. } => self.may_send(&message.texts(), flag),
            // After a boarding, what closing owes (R09, R10, R12, R13); and R41.
            Action::WithdrawArt8 { case, message, .. } => {
                if let Some(c) = self.case_ref(*case) {
                    c.withdrawal_obligations()?;
                }
                match (message, self.flag_state_of(*case)) {
                    (Some(m), Some(flag)) => self.may_send(&m.texts(), flag),
                    _ => Ok(()),
                }
            }
            Action::RequestAuthorization { case, message, .. }
            | Action::ReportResults { case, message } => match self.flag_state_of(*case) {
                Some(flag) => self.may_send(&message.texts(), flag),
                None => Ok(()),
            },
            Action::Disembark { .. } => {
                let Some(place) = &self.place_of_safety else {
                    return Ok(());
                };
                match self.assisting_unit_named(&place.name, reference) {
                    Some(u) => Err(refuse(
                        "R23",
                        format!(
                            "the place of safety {:?} names the unit {u}, which took part: an assisting unit is a temporary refuge, never the place of safety (MSC.167 6.13); decide another",
                            place.name
                        ),
                    )),
                    None => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// R38: moving `tags` off `unit` takes a family group whole, or `reason` says why not.
    fn keeps_families(
        &self,
        tags: &[&str],
        unit: &str,
        reason: Option<&str>,
        what: &str,
    ) -> Result<(), Refused> {
        let split = self.roster.families_split(tags, unit);
        if split.is_empty() || reason.is_some_and(|r| !r.trim().is_empty()) {
            return Ok(());
        }
        let (family, left) = &split[0];
        Err(refuse(
            "R38",
            format!(
                "{what} would leave {} of family group {family} on {unit}: families stay together unless a reason is recorded",
                left.join(", ")
            ),
        ))
    }

    /// The unit a place of safety's name names, if it is one (R23). Decided from what is
    /// recorded, not from what the form says: a unit that took part in the rescue (it
    /// tagged, holds, carried or counted persons of this case) or any unit of the fleet is a
    /// vessel, a temporary refuge.
    fn assisting_unit_named(&self, place: &str, reference: &Reference) -> Option<String> {
        self.rescue_units()
            .into_iter()
            .chain(reference.units.iter().map(|u| u.name.clone()))
            .find(|u| names_unit(place, u))
    }

    /// The units that took part in the rescue, as the case file records it: those that
    /// tagged persons, hold or held them, carried them in a transfer or counted them.
    fn rescue_units(&self) -> Vec<String> {
        use crate::roster::Status;
        let r = &self.roster;
        let mut units: Vec<String> = r
            .persons
            .values()
            .flat_map(|p| {
                let now = match &p.status {
                    Status::OnBoard(u) => vec![u.clone()],
                    Status::InTransfer { from, to } => vec![from.clone(), to.clone()],
                    _ => Vec::new(),
                };
                std::iter::once(p.first_contact.1.clone()).chain(now)
            })
            .chain(r.issued.keys().cloned())
            .chain(r.headcounts.iter().map(|h| h.unit.clone()))
            .chain(
                r.transfers
                    .iter()
                    .flat_map(|t| [t.from.clone(), t.to.clone()]),
            )
            .collect();
        units.sort();
        units.dedup();
        units
    }
}

/// A unit's name as compared: its letters and digits, lower case (`CP-302`, `cp 302`).
fn unit_key(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Does a place's name name `unit` (`CP-302`, `cp 302`, `patrol boat CP302`)? Letters and
/// digits compared, case and punctuation aside.
fn names_unit(place: &str, unit: &str) -> bool {
    let (place, unit) = (unit_key(place), unit_key(unit));
    !unit.is_empty() && (place == unit || (unit.len() >= 3 && place.contains(&unit)))
}
