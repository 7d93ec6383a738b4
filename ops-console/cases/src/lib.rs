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

/// The ISO 3166-1 alpha-2 codes, and `XK` (Kosovo, user-assigned, used on its travel
/// documents), sorted.
const STATE_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ \
BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ \
CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ \
EC EE EG EH ER ES ET FI FJ FK FM FO FR \
GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ \
LA LB LC LI LK LR LS LT LU LV LY \
MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ \
NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA \
RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ \
TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ \
VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// Is `code` a State's ISO 3166-1 alpha-2 code (either case)? States are compared by code
/// everywhere a rule acts on them (the States a person fears, R24 and R41; a place of
/// safety; a release), so a name or a typing error would slip past them.
pub fn is_state_code(code: &str) -> bool {
    code.len() == 2
        && code.is_ascii()
        && STATE_CODES.split(' ').any(|c| c.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod state_code_tests {
    use super::*;

    #[test]
    fn state_codes_are_iso_3166_alpha_2() {
        let codes: Vec<&str> = STATE_CODES.split(' ').collect();
        assert_eq!(codes.len(), 250);
        assert!(codes.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        for ok in ["LY", "ly", "Sy", "MT", "IT", "ER", "AF", "XK"] {
            assert!(is_state_code(ok), "{ok}");
        }
        for bad in ["Libya", "LYB", "L", "", " LY", "XX", "UK", "EU", "ÉT"] {
            assert!(!is_state_code(bad), "{bad}");
        }
    }
}
