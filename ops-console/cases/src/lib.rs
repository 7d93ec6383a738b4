//! Interception cases (RULES.md): the legal workflow of article 8 of
//! the Smuggling of Migrants Protocol as data. Pure and deterministic: the console
//! persists, signs and shows what these types decide.
//!
//! Today: the [`art8`] case (flag-State request, authorization, boarding, search,
//! measures, results report, closure), the hash-chained interception [`log`], the
//! [`roster`] of persons (tags, headcounts, transfers, vulnerability, protection) and the
//! [`evidence`] register (exhibits, SHA-256 at capture, signed and chained custody
//! manifests), information [`caveat`]s checked on every read, export and share, and the
//! investigator's [`export`] with its offline check (`tidewatch verify`), requests where
//! we are the [`flag_state`] and the agreements configured per State. The log is kept in
//! the console's database (`console::store`). The API, the printable report and the
//! screens follow (issue 7).

pub mod art8;
pub mod casefile;
pub mod caveat;
pub mod evidence;
pub mod flag_state;
pub mod log;
pub mod role;
pub mod roster;
pub mod sar;

pub use casefile::{Action, ActionKind, CaseFile};
pub use role::{Permission, Role};

/// Why a command on a case, the roster or the evidence register was refused: the rule of
/// RULES.md it breaks and what is missing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{rule}: {problem}")]
pub struct Refused {
    /// `R04`, …, or `state` for a command that makes no sense in the current state.
    pub rule: &'static str,
    /// What is wrong.
    pub problem: String,
}

fn refuse(rule: &'static str, problem: impl Into<String>) -> Refused {
    Refused {
        rule,
        problem: problem.into(),
    }
}
