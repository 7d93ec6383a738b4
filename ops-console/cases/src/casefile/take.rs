//! Taking a case action live: what the domain requires around [`CaseFile::apply`] before
//! an action becomes a log entry. The store runs this inside one transaction and only
//! reads, keeps restricted records and inserts what it is given, so no rule lives in
//! storage code:
//!
//! - R40: a client never names a restricted record; what a person said asking for
//!   protection is kept out of the log, which keeps its hash;
//! - R50: the content of an item exchanged with a partner State, likewise;
//! - R56: a case file that does not replay cleanly takes only rescue actions (R21: rescue
//!   is never blocked) until it is resolved;
//! - R57 and the log's own limits (sizes, times) are checked before any rule is applied
//!   to what the action says.

use jiff::Timestamp;

use super::{Action, CaseFile, DETAILS_KEY, Facts, Keys, Reference, RestrictedAsylum};
use super::{RestrictedKind, Who, action_name};
use crate::log::{AppendError, LogEntry, NewEntry};
use crate::{Refused, refuse};

/// A case action refused: by the log (no reason, late without reason…) or by a rule.
#[derive(Debug, thiserror::Error)]
pub enum CaseRefusal {
    /// The log refused the entry.
    #[error(transparent)]
    Log(#[from] AppendError),
    /// A rule refused the action.
    #[error(transparent)]
    Rule(#[from] Refused),
}

/// An action a user takes now.
#[derive(Debug, Clone, Copy)]
pub struct LiveAction<'a> {
    /// Who takes it, in the role the rules see.
    pub who: &'a Who,
    /// The action as the client sent it.
    pub action: &'a Action,
    /// When it is recorded.
    pub recorded_at: Timestamp,
    /// For an action taken at sea: how it was signed on board (the record's id and SHA-256,
    /// the officer's key and signature), kept in the entry's `details.at_sea`.
    pub at_sea: Option<&'a serde_json::Value>,
    /// The console records it itself: an integrity incident a check outside any action
    /// found (an export's, R47). Only such an action may be one no client takes.
    pub by_store: bool,
}

/// Where a live action keeps what must stay out of the log: a restricted record of a kind,
/// for the incident, sealed; it answers with the record's SHA-256 (what the log keeps).
pub type KeepRestricted<'k, E> =
    dyn FnMut(RestrictedKind, serde_json::Value) -> Result<String, E> + 'k;

/// What a live action becomes.
#[derive(Debug)]
pub enum Taken {
    /// Applied: the entry to append after the last of the log, and the case file with it.
    Applied {
        /// The action's log entry.
        entry: LogEntry,
        /// The case file with the action applied.
        file: Box<CaseFile>,
    },
    /// Refused, with the rule or the log's reason.
    Refused {
        /// Why.
        refusal: CaseRefusal,
        /// The entry to append all the same when the action's check found an integrity
        /// incident (a seal or a file not as recorded, R46, R47), so that the incident
        /// outlives the refusal.
        incident: Option<LogEntry>,
    },
}

impl Taken {
    fn refused(r: impl Into<CaseRefusal>) -> Taken {
        Taken::Refused {
            refusal: r.into(),
            incident: None,
        }
    }
}

impl CaseFile {
    /// Take `live` on the incident whose log is `entries`: `entry` says when, where and
    /// why (its `event`, `details`, `zone` and actor are set here from the action and the
    /// rules). `replay_keys` rebuild the file from the log; `live_keys` apply the action
    /// (they may make a signing key and re-read evidence). `keep` is called only for an
    /// action that is then checked against the rules: a refusal after it is rolled back by
    /// the caller with everything else.
    ///
    /// `Err` is the store's own failure; a refusal to show the user is in the outcome.
    pub fn take<E>(
        incident: &str,
        entries: &[LogEntry],
        live: LiveAction<'_>,
        entry: NewEntry,
        reference: &Reference,
        keys: (&dyn Keys, &dyn Keys),
        keep: &mut KeepRestricted<'_, E>,
    ) -> Result<Taken, E> {
        let (replay_keys, _) = keys;
        let replayed = super::Replayed::from_log(incident, entries, reference, replay_keys);
        Self::take_after(incident, replayed, live, entry, reference, keys, keep)
    }

    /// [`CaseFile::take`] on a log already replayed (a store's [`super::Replayed`],
    /// carried on to the log's last entry).
    pub fn take_after<E>(
        incident: &str,
        replayed: super::Replayed,
        live: LiveAction<'_>,
        mut entry: NewEntry,
        reference: &Reference,
        keys: (&dyn Keys, &dyn Keys),
        keep: &mut KeepRestricted<'_, E>,
    ) -> Result<Taken, E> {
        let (_, live_keys) = keys;
        let super::Replayed { file, last, .. } = replayed;
        let last = last.as_ref();
        let LiveAction {
            who,
            action,
            recorded_at,
            at_sea,
            by_store,
        } = live;
        // A client never names a restricted record: naming one would load it.
        if action.names_restricted_record() {
            return Ok(Taken::refused(refuse(
                "R40",
                "a restricted record is made by the store from the action taken, never named by a client (record `asylum`, or `info_item` with its content)",
            )));
        }
        if !action.kind().taken_by_users() && !by_store {
            return Ok(Taken::refused(refuse(
                "R46",
                format!(
                    "{} is recorded by the store when a check finds one, never by a client",
                    action_name(action)
                ),
            )));
        }
        // States are compared by code wherever a rule acts on them: a name ("Libya") or a
        // typing error would slip past every list of States a person fears.
        if let Some((rule, code)) = action
            .state_codes()
            .into_iter()
            .find(|(_, c)| !crate::is_state_code(c.trim()))
        {
            return Ok(Taken::refused(refuse(
                rule,
                format!("{code:?} is not a State's ISO 3166 alpha-2 code (`LY`, `MT`)"),
            )));
        }
        // What the log requires of any entry (sizes, times) is checked before any rule is
        // applied to what the action says.
        let mut probe = entry.clone();
        probe.details = serde_json::json!({ DETAILS_KEY: action });
        if let Err(e) = crate::log::check(&probe, recorded_at) {
            return Ok(Taken::refused(e));
        }
        let restricted;
        let action = match keep_out_of_the_log(action, keep)? {
            Some(a) => {
                restricted = a;
                &restricted
            }
            None => action,
        };
        let mut file = file;
        // A case file that does not replay cleanly (a broken chain, a missing or changed
        // record) takes only rescue actions until it is resolved (R21: rescue is never
        // blocked): other rules would be checked against a state that may be wrong.
        if !file.problems.is_empty() && !action.rescue() {
            return Ok(Taken::refused(refuse(
                "R56",
                format!(
                    "the case file does not replay cleanly ({}); only rescue actions are taken until it is resolved",
                    file.problems.join("; ")
                ),
            )));
        }
        // After the checks `apply` makes first (the role, a closed incident), so that a
        // refusal names what is really wrong.
        if who.role.may_take(action.kind())
            && (file.closed.is_none() || action.rescue() || action.lands())
            && let Err(r) =
                file.live_checks(action, entry.actor.unit.as_deref(), reference, recorded_at)
        {
            return Ok(Taken::refused(r));
        }
        let seq = last.map_or(1, |l| l.seq + 1);
        let pos = entry.position.map(|p| (p.lat, p.lon));
        let incidents = file.register.incidents.len();
        // Refused, the replayed file is dropped: no copy needed to keep it unchanged.
        let applied = match file.apply(
            action,
            who,
            entry.occurred_at,
            recorded_at,
            pos,
            seq,
            reference,
            live_keys,
            Facts::default(),
        ) {
            Ok(a) => a,
            Err(r) => {
                // R46, R47: the refusal stands, and what its check found is recorded.
                let found = file.register.incidents[incidents..].join("; ");
                let found = (!found.is_empty())
                    .then(|| integrity_incident(incident, last, live, &r, found, entry));
                return Ok(Taken::Refused {
                    refusal: r.into(),
                    incident: found,
                });
            }
        };
        // The log names who acted as the rules saw them, so a replay applies it the same.
        entry.actor.user = who.user.clone();
        entry.actor.role = who.role.as_str().to_owned();
        entry.event = action.event();
        entry.zone = applied.zone.clone();
        let mut details = serde_json::json!({ DETAILS_KEY: action });
        if let Some(p) = applied.produced {
            details["produced"] = p;
        }
        if let Some(l) = applied.legal_review {
            details["legal_review"] = l.into();
        }
        if !applied.facts.is_empty() {
            details["facts"] = serde_json::to_value(&applied.facts).expect("facts serialize");
        }
        if let Some(s) = at_sea {
            details["at_sea"] = s.clone();
        }
        entry.details = details;
        Ok(
            match crate::log::next_entry(incident, last, entry, recorded_at) {
                Ok(entry) => Taken::Applied {
                    entry,
                    file: Box::new(file),
                },
                Err(e) => Taken::refused(e),
            },
        )
    }
}

/// The log entry of an integrity incident found by the check of `live`'s action, refused
/// with `refusal`: in the name of whoever's action found it, when and where they acted.
fn integrity_incident(
    incident: &str,
    last: Option<&LogEntry>,
    live: LiveAction<'_>,
    refusal: &Refused,
    problem: String,
    mut entry: NewEntry,
) -> LogEntry {
    let LiveAction {
        who,
        action,
        recorded_at,
        ..
    } = live;
    // What was found quotes what the user typed (a seal): kept within the log's limits.
    let problem: String = problem
        .chars()
        .take(crate::log::MAX_TEXT_CHARS / 3)
        .collect();
    let exhibit = match action {
        Action::CustodyTransfer { exhibit, .. }
        | Action::CustodyReceive { exhibit, .. }
        | Action::Reseal { exhibit, .. } => exhibit.clone(),
        _ => String::new(),
    };
    let record = Action::IntegrityIncident {
        exhibit,
        problem: problem.clone(),
        rule: refusal.rule.to_owned(),
    };
    entry.actor.user = who.user.clone();
    entry.actor.role = who.role.as_str().to_owned();
    entry.event = record.event();
    entry.zone = None;
    entry.why = format!(
        "integrity incident found when {} was refused ({}): {problem}",
        action_name(action),
        refusal.rule
    );
    entry.details = serde_json::json!({ DETAILS_KEY: record });
    // The action's entry passed the log's checks; this one differs only in what it says.
    crate::log::next_entry(incident, last, entry, recorded_at)
        .expect("an integrity incident's entry passes the checks its action's entry passed")
}

/// R40 and R50: the action as the log keeps it, when what it says must stay out of the
/// log (`None` when it may go in as sent).
fn keep_out_of_the_log<E>(
    action: &Action,
    keep: &mut KeepRestricted<'_, E>,
) -> Result<Option<Action>, E> {
    Ok(match action {
        // R40: what a person said asking for protection.
        Action::Asylum {
            tag,
            summary,
            blocked_states,
        } => {
            let body = serde_json::to_value(RestrictedAsylum {
                summary: summary.clone(),
                blocked_states: blocked_states.clone(),
            })
            .expect("restricted records serialize");
            Some(Action::AsylumRestricted {
                tag: tag.clone(),
                record_sha256: keep(RestrictedKind::Asylum, body)?,
            })
        }
        // R50: exchanged information stays out of the log, which many roles read and which
        // goes whole into a court export.
        Action::InfoItem {
            content,
            content_sha256: None,
            ..
        } if !content.trim().is_empty() => {
            let sha = keep(RestrictedKind::InfoItem, content.clone().into())?;
            let mut kept = action.clone();
            if let Action::InfoItem {
                content,
                content_sha256,
                ..
            } = &mut kept
            {
                content.clear();
                *content_sha256 = Some(sha);
            }
            Some(kept)
        }
        _ => None,
    })
}
