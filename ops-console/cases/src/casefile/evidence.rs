//! Case-file actions of evidence: seizure with files, signatures and seals, custody handed
//! over and received, resealing, and the integrity incidents a check finds (R46, R47).

use super::*;

impl CaseFile {
    pub(super) fn apply_evidence(
        &mut self,
        action: &Action,
        cx: Cx<'_>,
    ) -> Result<Option<serde_json::Value>, Refused> {
        use Action::*;
        let Cx { who, at, keys, .. } = cx;
        let json = |v: serde_json::Value| Ok(Some(v));
        match action {
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
                        if let Some(p) = crate::evidence::file_name_problem(&f.name) {
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
                    records.push(crate::evidence::FileRecord {
                        name: f.name.clone(),
                        sha256: f.sha256.clone(),
                        size,
                    });
                }
                let key = signing_key(keys, who)?;
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
                let key = signing_key(keys, who)?;
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
            CustodyReceive { exhibit, seal } => {
                let files = keys.live().then(|| self.exhibit_files(exhibit, keys));
                let key = signing_key(keys, who)?;
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
            Reseal {
                exhibit,
                seal,
                reason,
            } => {
                // R47: re-verified when it is opened, like a hand-over.
                let files = keys.live().then(|| self.exhibit_files(exhibit, keys));
                let key = signing_key(keys, who)?;
                self.register.reseal(
                    exhibit,
                    seal.trim(),
                    reason.trim(),
                    files.as_ref(),
                    &Officer {
                        name: &who.user,
                        key: &key,
                    },
                    at,
                )?;
                Ok(None)
            }
            IntegrityIncident { problem, .. } => {
                self.register.incidents.push(problem.clone());
                Ok(None)
            }
            _ => unreachable!("dispatched by CaseFile::apply_inner"),
        }
    }
}

/// The user's signing key, which every evidence action is signed with (R47).
fn signing_key(keys: &dyn Keys, who: &Who) -> Result<SigningKey, Refused> {
    keys.signing_key(&who.user).ok_or_else(|| {
        refuse(
            "R47",
            format!("{} has no signing key in the store", who.user),
        )
    })
}
