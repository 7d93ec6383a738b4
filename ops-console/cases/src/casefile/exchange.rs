//! Case-file actions of information exchange: mutual legal assistance, interviews, items with their caveats, releases, consents, disclosure.

use super::*;

impl CaseFile {
    pub(super) fn apply_exchange(
        &mut self,
        action: &Action,
        cx: Cx<'_>,
    ) -> Result<Option<serde_json::Value>, Refused> {
        use Action::*;
        let Cx {
            who,
            at,
            reference,
            keys,
            ..
        } = cx;
        let json = |v: serde_json::Value| Ok(Some(v));
        match action {
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
                persons,
                state,
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
                if !persons.is_empty() && state.trim().is_empty() {
                    return Err(refuse(
                        "R41",
                        "an MLA request that names persons names the State it goes to",
                    ));
                }
                self.may_share(persons, state)?;
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
                persons,
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
                if let Some(tag) = persons
                    .iter()
                    .find(|t| !self.roster.persons.contains_key(*t))
                {
                    return Err(refuse("roster", format!("no person tagged {tag}")));
                }
                let id = format!("IX-{}", self.items.len() + 1);
                self.items.push(crate::caveat::Item {
                    id: id.clone(),
                    content: content.trim().to_owned(),
                    evidential: if *evidence {
                        crate::caveat::Evidential::Evidence
                    } else {
                        crate::caveat::Evidential::IntelligenceOnly
                    },
                    caveat: crate::caveat::Caveat {
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
                    persons: persons.clone(),
                });
                json(serde_json::json!({"item": id}))
            }
            Release { item, to_state } => {
                let incident = self.incident.clone();
                let to = to_state.trim().to_ascii_uppercase();
                let persons = self.item(item)?.persons.clone();
                // The caveat first: a release its originator never allowed to that State is
                // refused for that alone, so refusals do not tell, State by State, which
                // States a person named in the item fears (R40: the feared States are the
                // protection officer's); only a release otherwise allowed meets R41.
                let i = self.item(item)?;
                let d = crate::caveat::check(
                    i,
                    &crate::caveat::Request {
                        user: who.user.clone(),
                        state: reference.own_state.clone(),
                        liaison: false,
                        purpose: crate::caveat::Purpose::Investigation(incident),
                        action: crate::caveat::Action::Share(to.clone()),
                    },
                    at,
                );
                if let Some((rule, why)) = d.denied {
                    return Err(refuse(if rule == "R49" { "R49" } else { "R50" }, why));
                }
                self.may_share(&persons, &to)?;
                let i = self.item(item)?;
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
            _ => unreachable!("dispatched by CaseFile::apply_inner"),
        }
    }
}

impl CaseFile {
    /// A read of item `item` under `req` (a liaison officer's, R52): its caveat (R50), and
    /// never an item about a person who fears the reader's State, even one released before
    /// the fear was recorded (R41).
    pub fn read_item(
        &self,
        item: &crate::caveat::Item,
        req: &crate::caveat::Request,
        at: Timestamp,
    ) -> crate::caveat::Decision {
        let mut d = crate::caveat::check(item, req, at);
        if d.allowed()
            && let Err(r) = self.may_share(&item.persons, &req.state)
        {
            d.denied = Some((r.rule.to_owned(), r.problem));
        }
        d
    }

    /// May words go to `state` (R41)? Not when they name, by tag (in any case, anywhere in
    /// them), a person who fears it: a message or a request's free text carries personal
    /// data as surely as its list of persons.
    pub(super) fn may_send(&self, texts: &[&str], state: &str) -> Result<(), Refused> {
        let texts: Vec<String> = texts.iter().map(|t| t.to_ascii_lowercase()).collect();
        let named: Vec<String> = self
            .roster
            .persons
            .keys()
            .filter(|tag| {
                let tag = tag.to_ascii_lowercase();
                texts.iter().any(|t| t.contains(&tag))
            })
            .cloned()
            .collect();
        self.may_share(&named, state)
    }

    /// The flag State case `case` (1…) was notified to, if any.
    pub(super) fn flag_state_of(&self, case: usize) -> Option<&str> {
        self.case_ref(case).and_then(|c| c.flag_state.as_deref())
    }

    /// May the data of `persons` (tags) go to `state` (R41)? Never to a State one of them
    /// fears, as the case file records it now.
    fn may_share(&self, persons: &[String], state: &str) -> Result<(), Refused> {
        let state = state.trim();
        persons
            .iter()
            .try_for_each(|tag| self.roster.may_share(tag, state))
    }
}
