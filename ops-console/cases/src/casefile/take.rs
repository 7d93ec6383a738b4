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
use super::{RestrictedKind, Who};
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
}

/// Where a live action keeps what must stay out of the log: a restricted record of a kind,
/// for the incident, sealed; it answers with the record's SHA-256 (what the log keeps).
pub type KeepRestricted<'k, E> =
    dyn FnMut(RestrictedKind, serde_json::Value) -> Result<String, E> + 'k;

/// What a live action becomes: the log entry to append (after the last of `entries`) and
/// the case file with the action applied.
pub type Taken = (LogEntry, CaseFile);

impl CaseFile {
    /// Take `live` on the incident whose log is `entries`: `entry` says when, where and
    /// why (its `event`, `details`, `zone` and actor are set here from the action and the
    /// rules). `replay_keys` rebuild the file from the log; `live_keys` apply the action
    /// (they may make a signing key and re-read evidence). `keep` is called only for an
    /// action that is then checked against the rules: a refusal after it is rolled back by
    /// the caller with everything else.
    ///
    /// `Err` is the store's own failure; `Ok(Err)` a refusal to show the user.
    pub fn take<E>(
        incident: &str,
        entries: &[LogEntry],
        live: LiveAction<'_>,
        mut entry: NewEntry,
        reference: &Reference,
        keys: (&dyn Keys, &dyn Keys),
        keep: &mut KeepRestricted<'_, E>,
    ) -> Result<Result<Taken, CaseRefusal>, E> {
        let (replay_keys, live_keys) = keys;
        let LiveAction {
            who,
            action,
            recorded_at,
        } = live;
        // A client never names a restricted record: naming one would load it.
        if action.names_restricted_record() {
            return Ok(Err(refuse(
                "R40",
                "a restricted record is made by the store from the action taken, never named by a client (record `asylum`, or `info_item` with its content)",
            )
            .into()));
        }
        // What the log requires of any entry (sizes, times) is checked before any rule is
        // applied to what the action says.
        let mut probe = entry.clone();
        probe.details = serde_json::json!({ DETAILS_KEY: action });
        if let Err(e) = crate::log::check(&probe, recorded_at) {
            return Ok(Err(e.into()));
        }
        let restricted;
        let action = match keep_out_of_the_log(action, keep)? {
            Some(a) => {
                restricted = a;
                &restricted
            }
            None => action,
        };
        let mut file = CaseFile::replay(incident, entries, reference, replay_keys);
        // A case file that does not replay cleanly (a broken chain, a missing or changed
        // record) takes only rescue actions until it is resolved (R21: rescue is never
        // blocked): other rules would be checked against a state that may be wrong.
        if !file.problems.is_empty() && !action.rescue() {
            return Ok(Err(refuse(
                "R56",
                format!(
                    "the case file does not replay cleanly ({}); only rescue actions are taken until it is resolved",
                    file.problems.join("; ")
                ),
            )
            .into()));
        }
        let seq = entries.len() as u64 + 1;
        let pos = entry.position.map(|p| (p.lat, p.lon));
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
            Err(r) => return Ok(Err(r.into())),
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
        entry.details = details;
        Ok(
            crate::log::next_entry(incident, entries.last(), entry, recorded_at)
                .map(|e| (e, file))
                .map_err(CaseRefusal::from),
        )
    }
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
            evidence,
            originator,
            originator_ref,
            purposes,
            recipients,
            no_further_dissemination,
            exculpatory,
        } if !content.trim().is_empty() => Some(Action::InfoItem {
            content: String::new(),
            content_sha256: Some(keep(RestrictedKind::InfoItem, content.clone().into())?),
            evidence: *evidence,
            originator: originator.clone(),
            originator_ref: originator_ref.clone(),
            purposes: purposes.clone(),
            recipients: recipients.clone(),
            no_further_dissemination: *no_further_dissemination,
            exculpatory: *exculpatory,
        }),
        _ => None,
    })
}
