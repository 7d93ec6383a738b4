//! What each role may see of an incident's protected data: the one filter that every
//! rendering of a case goes through — the log as read (`GET …/log`), the case file's view,
//! the HTML and PDF reports and the court export.
//!
//! Three classes of data are protected:
//! - **protection** (R40): what a person said asking for protection, the States they fear,
//!   why they were referred and why a landing was overridden — the protection officer's;
//! - **evidence** (R60): what was seized and its custody — the investigator's, the boarding
//!   officer's and oversight's;
//! - **investigation** (R60): suspects, interviews, legal assistance and information
//!   exchanged with partner States — the investigator's and oversight's.
//!
//! A partner State's liaison officer sees none of these: only items released to their State,
//! through the caveat checks of `interception::caveat`.

use super::auth::Role;
use tidewatch_cases::casefile::DETAILS_KEY;
use tidewatch_cases::log::{InterceptionLog, LogEntry};

/// A class of protected data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// What a person said asking for protection, feared States, referrals, overrides (R40).
    Protection,
    /// Seized items and their custody (R60).
    Evidence,
    /// Suspects, interviews, legal assistance, exchanged information (R60).
    Investigation,
}

impl Class {
    /// The rule that protects it.
    pub fn rule(self) -> &'static str {
        match self {
            Class::Protection => "R40",
            Class::Evidence | Class::Investigation => "R60",
        }
    }

    /// Whose it is, in words.
    pub fn whose(self) -> &'static str {
        match self {
            Class::Protection => "the protection officer",
            Class::Evidence => "the investigator and the boarding officer",
            Class::Investigation => "the investigator",
        }
    }
}

/// The class of data a case action records (by its `type`), if protected.
pub fn class_of(action_type: &str) -> Option<Class> {
    match action_type {
        "asylum" | "asylum_restricted" | "protection_override" | "referral" => {
            Some(Class::Protection)
        }
        "seize" | "custody_transfer" | "custody_receive" => Some(Class::Evidence),
        "suspect" | "interview" | "mla_request" | "info_item" | "release"
        | "originator_consent" | "disclosure_notice" => Some(Class::Investigation),
        _ => None,
    }
}

/// May `role` see data of `class`?
pub fn may_see(role: Role, class: Class) -> bool {
    match class {
        Class::Protection => role == Role::ProtectionOfficer,
        Class::Evidence => matches!(
            role,
            Role::Investigator | Role::Auditor | Role::BoardingOfficer
        ),
        Class::Investigation => matches!(role, Role::Investigator | Role::Auditor),
    }
}

/// The class of a log entry's content that `role` may not see, if any.
pub fn withheld_from(e: &LogEntry, role: Role) -> Option<Class> {
    let kind = e.entry.details[DETAILS_KEY]["type"].as_str()?;
    class_of(kind).filter(|c| !may_see(role, *c))
}

/// A log entry as `role` may read it: when its content is withheld, its `why`, `details`
/// and late reason are replaced by what withholds them and it is marked withheld (its place
/// in the chain, time, actor and event stay).
pub fn entry(e: &LogEntry, role: Role) -> LogEntry {
    let mut out = e.clone();
    if let Some(class) = withheld_from(e, role) {
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

/// A whole log as `role` may read it (see [`entry`]).
pub fn log(l: &InterceptionLog, role: Role) -> InterceptionLog {
    InterceptionLog {
        incident: l.incident.clone(),
        entries: l.entries.iter().map(|e| entry(e, role)).collect(),
    }
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
