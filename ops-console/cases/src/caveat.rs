//! Information caveats as enforceable data (RULES.md, art. 10 of the Protocol, UNTOC
//! art. 18): who sent an item, for which purposes and to whom it may go. Every read, export
//! and share is checked here and the decision, allowed or denied, is logged.
//!
//! Rules: R49 (a court or prosecution export leaves out intelligence-only items), R50 (a
//! read, export or share is checked against the permitted purposes and recipients; another
//! purpose needs the originator's recorded consent), R51 (disclosing caveated exculpatory
//! information needs notice to the originating State first, or afterwards with why it
//! could not be given before), R52 (a partner State's liaison officer reads only what is
//! released to their State; other attempts are denied and logged).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What information may be used for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Intelligence.
    Intelligence,
    /// An investigation (case id).
    Investigation(String),
    /// A prosecution (case id).
    Prosecution(String),
    /// Search and rescue.
    Sar,
    /// Statistics.
    Statistics,
}

/// Evidential status of an exchanged item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidential {
    /// Intelligence only: never in a court export.
    IntelligenceOnly,
    /// Usable as evidence.
    Evidence,
}

/// A caveat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caveat {
    /// The originating State (ISO 3166 alpha-2).
    pub originator: String,
    /// The originator's reference.
    pub originator_ref: String,
    /// What it may be used for.
    pub purposes: Vec<Purpose>,
    /// States it may be shared with (ISO 3166 alpha-2).
    pub recipients: Vec<String>,
    /// Not to be passed on by a recipient.
    pub no_further_dissemination: bool,
    /// Until when the caveat holds.
    pub expires_at: Option<Timestamp>,
}

/// An item of exchanged information (RULES.md `InformationExchangeItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// Its id.
    pub id: String,
    /// What it says.
    pub content: String,
    /// Its evidential status.
    pub evidential: Evidential,
    /// Its caveat.
    pub caveat: Caveat,
    /// Released to these States (for their liaison officers), with who released it and when.
    pub releases: Vec<(String, String, Timestamp)>,
    /// Purposes added with the originator's consent: purpose, consent reference.
    pub consents: Vec<(Purpose, String)>,
    /// Exculpatory for someone (disclosure then follows R51).
    pub exculpatory: bool,
    /// Notices to the originator before (true) or after (false, with why) a disclosure.
    pub disclosure_notices: Vec<(bool, String)>,
    /// The persons it concerns, by tag (R41: released to no State any of them fears).
    #[serde(default)]
    pub persons: Vec<String>,
}

/// Who asks, for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    /// The user.
    pub user: String,
    /// The user's State (ISO 3166 alpha-2).
    pub state: String,
    /// A partner State's liaison officer.
    pub liaison: bool,
    /// For what.
    pub purpose: Purpose,
    /// Read, export or share (to whom: a State).
    pub action: Action,
}

/// What is done with the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Read it.
    Read,
    /// Export it (to a court bundle when the purpose is a prosecution).
    Export,
    /// Share it with a State.
    Share(String),
    /// Disclose it (to a defence, a court).
    Disclose,
}

/// One decision, allowed or denied: what the access log keeps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The item.
    pub item: String,
    /// The request.
    pub request: Request,
    /// When.
    pub at: Timestamp,
    /// `None` when allowed, else the rule and why.
    pub denied: Option<(String, String)>,
}

impl Decision {
    /// True when allowed.
    pub fn allowed(&self) -> bool {
        self.denied.is_none()
    }
}

/// Check a request against an item's caveat: the decision, allowed or denied, for the
/// access log.
pub fn check(item: &Item, req: &Request, at: Timestamp) -> Decision {
    let deny = |rule: &str, why: String| Decision {
        item: item.id.clone(),
        request: req.clone(),
        at,
        denied: Some((rule.to_owned(), why)),
    };
    let c = &item.caveat;
    let expired = c.expires_at.is_some_and(|e| at > e);
    if req.liaison
        && !item
            .releases
            .iter()
            .any(|(s, _, _)| s.eq_ignore_ascii_case(&req.state))
    {
        return deny(
            "R52",
            format!("{} is not released to {}", item.id, req.state),
        );
    }
    if !expired {
        let purpose_ok = c.purposes.contains(&req.purpose)
            || item.consents.iter().any(|(p, _)| *p == req.purpose);
        if !purpose_ok {
            return deny(
                "R50",
                format!(
                    "{:?} is not a purpose {} permitted (ref {}): record the originator's consent first",
                    req.purpose, c.originator, c.originator_ref
                ),
            );
        }
        if let Action::Share(to) = &req.action {
            let to_ok = c.recipients.iter().any(|r| r.eq_ignore_ascii_case(to));
            if !to_ok || (c.no_further_dissemination && !to.eq_ignore_ascii_case(&c.originator)) {
                return deny(
                    "R50",
                    format!(
                        "{} may not be passed to {to} under {}'s caveat",
                        item.id, c.originator
                    ),
                );
            }
        }
    }
    if req.action == Action::Export
        && matches!(req.purpose, Purpose::Prosecution(_))
        && item.evidential == Evidential::IntelligenceOnly
    {
        return deny(
            "R49",
            format!("{} is intelligence only: not in a court export", item.id),
        );
    }
    // A court export discloses to the court and the defence: an exculpatory item in it is
    // disclosed as much as by a disclosure.
    let discloses = req.action == Action::Disclose
        || (req.action == Action::Export && matches!(req.purpose, Purpose::Prosecution(_)));
    if discloses && item.exculpatory && item.disclosure_notices.is_empty() {
        return deny(
            "R51",
            format!(
                "notify {} before disclosing {} (or record afterwards why that was impossible)",
                c.originator, item.id
            ),
        );
    }
    Decision {
        item: item.id.clone(),
        request: req.clone(),
        at,
        denied: None,
    }
}

/// The items that go into an export for `req`: each checked (R49, R50); the decisions for
/// the access log.
pub fn export<'a>(
    items: &'a [Item],
    req: &Request,
    at: Timestamp,
) -> (Vec<&'a Item>, Vec<Decision>) {
    let mut out = Vec::new();
    let mut log = Vec::new();
    for i in items {
        let d = check(i, req, at);
        if d.allowed() {
            out.push(i);
        }
        log.push(d);
    }
    (out, log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: i64) -> Timestamp {
        "2026-11-22T06:00:00Z".parse::<Timestamp>().unwrap() + jiff::SignedDuration::from_hours(h)
    }

    fn item(id: &str, evidential: Evidential) -> Item {
        Item {
            id: id.into(),
            content: "the organiser's phone number and the departure beach".into(),
            evidential,
            caveat: Caveat {
                originator: "MT".into(),
                originator_ref: "MT-INT-31".into(),
                purposes: vec![
                    Purpose::Investigation("INC-1".into()),
                    Purpose::Prosecution("INC-1".into()),
                ],
                recipients: vec!["MT".into(), "GR".into()],
                no_further_dissemination: false,
                expires_at: None,
            },
            releases: vec![],
            persons: vec![],
            consents: vec![],
            exculpatory: false,
            disclosure_notices: vec![],
        }
    }

    fn inv(purpose: Purpose, action: Action) -> Request {
        Request {
            user: "inv".into(),
            state: "IT".into(),
            liaison: false,
            purpose,
            action,
        }
    }

    #[test]
    fn r49_court_exports_leave_out_intelligence_only_items() {
        let items = [
            item("I-1", Evidential::Evidence),
            item("I-2", Evidential::IntelligenceOnly),
        ];
        let (out, log) = export(
            &items,
            &inv(Purpose::Prosecution("INC-1".into()), Action::Export),
            t(0),
        );
        assert_eq!(
            out.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
            ["I-1"]
        );
        assert_eq!(log.len(), 2);
        assert_eq!(log[1].denied.as_ref().unwrap().0, "R49");
    }

    #[test]
    fn r50_purposes_and_recipients_are_enforced_and_consent_changes_purpose() {
        let mut i = item("I-1", Evidential::Evidence);
        let stats = inv(Purpose::Statistics, Action::Read);
        assert_eq!(check(&i, &stats, t(0)).denied.unwrap().0, "R50");
        i.consents
            .push((Purpose::Statistics, "MT consent 2026/44".into()));
        assert!(check(&i, &stats, t(1)).allowed());
        let to_tn = inv(
            Purpose::Investigation("INC-1".into()),
            Action::Share("TN".into()),
        );
        assert_eq!(check(&i, &to_tn, t(1)).denied.unwrap().0, "R50");
        let to_gr = inv(
            Purpose::Investigation("INC-1".into()),
            Action::Share("GR".into()),
        );
        assert!(check(&i, &to_gr, t(1)).allowed());
        i.caveat.no_further_dissemination = true;
        assert!(!check(&i, &to_gr, t(1)).allowed());
    }

    #[test]
    fn r51_exculpatory_disclosure_needs_notice_to_the_originator() {
        let mut i = item("I-1", Evidential::Evidence);
        i.exculpatory = true;
        let d = inv(Purpose::Prosecution("INC-1".into()), Action::Disclose);
        assert_eq!(check(&i, &d, t(0)).denied.unwrap().0, "R51");
        i.disclosure_notices
            .push((true, "notice MT-2026/12 sent 2026-11-22".into()));
        assert!(check(&i, &d, t(0)).allowed());
    }

    #[test]
    fn r52_a_liaison_officer_reads_only_what_is_released_to_their_state() {
        let mut i = item("I-1", Evidential::Evidence);
        let gr = Request {
            user: "liaison-gr".into(),
            state: "GR".into(),
            liaison: true,
            purpose: Purpose::Investigation("INC-1".into()),
            action: Action::Read,
        };
        let denied = check(&i, &gr, t(0));
        assert_eq!(denied.denied.as_ref().unwrap().0, "R52");
        assert_eq!(
            denied.request.user, "liaison-gr",
            "the attempt is logged with who"
        );
        i.releases.push(("GR".into(), "inv".into(), t(0)));
        assert!(check(&i, &gr, t(1)).allowed());
        let mt = Request {
            state: "MT".into(),
            user: "liaison-mt".into(),
            ..gr
        };
        assert!(!check(&i, &mt, t(1)).allowed());
    }
}
