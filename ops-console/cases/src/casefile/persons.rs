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
                self.referrals.push(super::Referral {
                    tag: tag.clone(),
                    to: to.trim().to_owned(),
                    reasons: reasons.clone(),
                    by: who.user.clone(),
                    at,
                });
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
            _ => unreachable!("dispatched by CaseFile::apply_inner"),
        }
    }
}
