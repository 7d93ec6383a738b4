//! Case-file actions of article 8: the flag-State request, authorization, boarding, search, measures, results, closure; actions taken in imminent danger.

use super::*;

impl CaseFile {
    pub(super) fn apply_art8(
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
            facts,
            ..
        } = cx;
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
                    None => reference.som_party(flag, utc_date(at))?,
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
            RecordRefusal {
                case,
                grounds,
                message,
            } => {
                self.case(*case)?.refused(
                    grounds.as_deref(),
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
                // R07: an agreement with the flag State in force on the day may cover it.
                let clause = match c.flag_state.clone() {
                    Some(flag) => facts.agreement(|| {
                        crate::flag_state::preauthorizing(
                            &reference.agreements,
                            &flag,
                            kind,
                            utc_date(at),
                        )
                    }),
                    None => None,
                };
                let id = format!("M-{}", c.measures.len() + 1);
                c.measure(&id, kind.clone(), &u, clause.as_ref(), by, at)?;
                json(serde_json::json!({"measure": id}))
            }
            DeemedAuthorization { case } => {
                let c = self.case(*case)?;
                let flag = c.flag_state.clone().unwrap_or_default();
                // R08: only a clause of an agreement in force on the day deems silence an
                // authorization; the log names it.
                let clause = facts.agreement(|| {
                    crate::flag_state::deeming_clause(&reference.agreements, &flag, utc_date(at))
                });
                c.silence(clause.as_ref(), at, by)?;
                json(serde_json::json!({"deemed_under": clause.map(|c| c.code)}))
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
            _ => unreachable!("dispatched by CaseFile::apply_inner"),
        }
    }
}

/// The UTC day of `at`: the day reference data (a State's ratification, an agreement in
/// force) is judged on.
pub(super) fn utc_date(at: Timestamp) -> jiff::civil::Date {
    at.to_zoned(jiff::tz::TimeZone::UTC).date()
}
