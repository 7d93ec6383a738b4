//! The interception domain of Tidewatch: the legal workflow of article 8 of the Smuggling
//! of Migrants Protocol, search and rescue, the persons rescued and the evidence seized, as
//! data and rules. Pure and deterministic: no I/O, no clock, no randomness; the console
//! persists, signs and shows what these types decide. The rules are stated in `RULES.md`
//! beside this crate, each with where it is enforced and its tests.
//!
//! ```text
//!  console (HTTP) ──action──▶ store (one transaction) ──▶ CaseFile::apply ──▶ Refused { rule, problem }
//!                                    │                         │                 or Applied
//!                                    └── interception log ◀────┘ (one entry per action)
//! ```
//!
//! - [`role`]: the one [`Role`] and both tables of who may do what.
//! - [`casefile`]: an incident's case file, the fold of its log; [`casefile::Action`] is every
//!   change, one file per family of actions.
//! - [`art8`]: the article-8 case (flag-State request, authorization, boarding, search,
//!   measures, results, closure); [`flag_state`]: requests where we are the flag State.
//! - [`sar`]: the SAR case's phases.
//! - [`roster`]: persons (tags, headcounts, transfers, vulnerability, protection);
//!   [`evidence`]: exhibits, hashes at capture, signed and chained custody manifests;
//!   [`caveat`]: information exchanged under caveats, checked on every read and share.
//! - [`log`]: the hash-chained interception log.

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
