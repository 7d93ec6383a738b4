//! Our State as the flag State (art. 8(4), 8(6); RULES.md), and the agreements with other
//! States in the reference data.
//!
//! An incoming request goes `Received → RegistryChecked → Decided → ResponseSent →
//! ResultsReceived → Closed`, recording the requesting authority and both references, the
//! registry evidence, who decided and on what conditions; the time to respond is measured
//! and an alert raised past the configured SLA (R17: "expeditiously").
//!
//! Agreements are reference data (`[[agreement]]` in `--reference`), per State and in force
//! between two dates: which measures a clause pre-authorizes and whether, after how long,
//! silence counts as authorization. Nothing else ever does (R08): [`deeming_clause`] is the
//! only way to a deemed authorization.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::art8::{AgreementClause, MeasureKind};

/// Where an incoming request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomingState {
    /// Received.
    Received,
    /// Our registry checked.
    RegistryChecked,
    /// Decided (granted with conditions, or refused).
    Decided,
    /// Our answer sent.
    ResponseSent,
    /// The requesting State's results received (art. 8(3)).
    ResultsReceived,
    /// Closed.
    Closed,
}

/// What our registry says of the vessel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegistryResult {
    /// Entitled to fly our flag.
    Confirmed,
    /// Not entitled.
    NotEntitled,
    /// Not known.
    Unknown,
}

/// A request from another State to board a vessel claiming our flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncomingRequest {
    /// The requesting State (ISO 3166 alpha-2).
    pub requesting_state: String,
    /// Its authority.
    pub authority: String,
    /// Their reference.
    pub their_ref: String,
    /// Our reference.
    pub our_ref: String,
    /// Received at.
    pub received_at: Timestamp,
    /// Where it stands.
    pub state: IncomingState,
    /// Registry result and the evidence consulted.
    pub registry: Option<(RegistryResult, String)>,
    /// The decision: who, granted measures (empty: refused), conditions, jurisdiction reserved.
    pub decision: Option<(String, Vec<MeasureKind>, Vec<String>, bool)>,
    /// When we answered.
    pub responded_at: Option<Timestamp>,
    /// When their results came.
    pub results_received_at: Option<Timestamp>,
}

/// Why a step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

impl IncomingRequest {
    /// A request received.
    pub fn received(
        requesting_state: &str,
        authority: &str,
        their_ref: &str,
        our_ref: &str,
        at: Timestamp,
    ) -> Result<IncomingRequest, Refused> {
        if [requesting_state, authority, their_ref, our_ref]
            .iter()
            .any(|s| s.trim().is_empty())
        {
            return Err(Refused(
                "R15: requesting State, authority and both references are required".into(),
            ));
        }
        Ok(IncomingRequest {
            requesting_state: requesting_state.to_owned(),
            authority: authority.to_owned(),
            their_ref: their_ref.to_owned(),
            our_ref: our_ref.to_owned(),
            received_at: at,
            state: IncomingState::Received,
            registry: None,
            decision: None,
            responded_at: None,
            results_received_at: None,
        })
    }

    fn expect(&self, s: IncomingState, what: &str) -> Result<(), Refused> {
        if self.state == s {
            Ok(())
        } else {
            Err(Refused(format!(
                "{what} is not possible in {:?}",
                self.state
            )))
        }
    }

    /// Our registry checked, with the evidence consulted.
    pub fn registry_checked(
        &mut self,
        result: RegistryResult,
        evidence: &str,
    ) -> Result<(), Refused> {
        self.expect(IncomingState::Received, "a registry check")?;
        if evidence.trim().is_empty() {
            return Err(Refused(
                "the registry evidence consulted is required".into(),
            ));
        }
        self.registry = Some((result, evidence.to_owned()));
        self.state = IncomingState::RegistryChecked;
        Ok(())
    }

    /// Decided by `by`: the measures granted (none: refused), conditions, whether we
    /// reserve jurisdiction.
    pub fn decide(
        &mut self,
        by: &str,
        granted: Vec<MeasureKind>,
        conditions: Vec<String>,
        jurisdiction_reserved: bool,
    ) -> Result<(), Refused> {
        self.expect(IncomingState::RegistryChecked, "a decision")?;
        if !granted.is_empty()
            && self.registry.as_ref().map(|r| r.0) != Some(RegistryResult::Confirmed)
        {
            return Err(Refused(
                "a vessel our registry does not confirm cannot be authorized as ours".into(),
            ));
        }
        self.decision = Some((by.to_owned(), granted, conditions, jurisdiction_reserved));
        self.state = IncomingState::Decided;
        Ok(())
    }

    /// Our answer sent.
    pub fn respond(&mut self, at: Timestamp) -> Result<(), Refused> {
        self.expect(IncomingState::Decided, "an answer")?;
        self.responded_at = Some(at);
        self.state = IncomingState::ResponseSent;
        Ok(())
    }

    /// Their results received (art. 8(3)).
    pub fn results_received(&mut self, at: Timestamp) -> Result<(), Refused> {
        self.expect(IncomingState::ResponseSent, "results")?;
        self.results_received_at = Some(at);
        self.state = IncomingState::ResultsReceived;
        Ok(())
    }

    /// How long we took, or have taken so far at `now` (R17).
    pub fn response_latency(&self, now: Timestamp) -> SignedDuration {
        self.responded_at
            .unwrap_or(now)
            .duration_since(self.received_at)
    }

    /// An alert when the answer is later than `sla` (R17): the words for the duty officer.
    pub fn sla_alert(&self, now: Timestamp, sla: SignedDuration) -> Option<String> {
        let took = self.response_latency(now);
        (took > sla).then(|| {
            format!(
                "art. 8(4) request {} from {} ({}) {} after {took:#}: the SLA is {sla:#}",
                self.their_ref,
                self.requesting_state,
                self.authority,
                if self.responded_at.is_some() {
                    "answered"
                } else {
                    "still unanswered"
                }
            )
        })
    }
}

/// One agreement with a State, from the reference data (`[[agreement]]`, RULES.md R07, R08).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agreement {
    /// Its id (`IT-MT-2024`).
    pub id: String,
    /// The other party (ISO 3166 alpha-2).
    pub state: String,
    /// The first day it is in force (`None`: since before any case).
    #[serde(default)]
    pub in_force_from: Option<jiff::civil::Date>,
    /// The last day it is in force (`None`: still in force).
    #[serde(default)]
    pub in_force_to: Option<jiff::civil::Date>,
    /// Clauses.
    #[serde(rename = "clause")]
    pub clauses: Vec<ClauseConfig>,
}

/// A clause as configured.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClauseConfig {
    /// Its code within the agreement (`§4.2`).
    pub code: String,
    /// Measures it pre-authorizes.
    #[serde(default)]
    pub measures: Vec<MeasureKind>,
    /// Silence for this many hours counts as authorization (only if the clause says so).
    #[serde(default)]
    pub deemed_after_h: Option<f64>,
}

impl Agreement {
    /// What is wrong with it, if anything.
    pub fn problem(&self) -> Option<String> {
        if let (Some(from), Some(to)) = (self.in_force_from, self.in_force_to)
            && to < from
        {
            return Some(format!("{}: in_force_to is before in_force_from", self.id));
        }
        self.clauses.iter().find_map(|c| {
            c.deemed_after_h
                .filter(|h| !(h.is_finite() && *h > 0.0))
                .map(|_| format!("{} {}: deemed_after_h must be positive", self.id, c.code))
        })
    }

    /// In force with `state` on `date`?
    fn applies(&self, state: &str, date: jiff::civil::Date) -> bool {
        self.state.eq_ignore_ascii_case(state.trim())
            && self.in_force_from.is_none_or(|d| d <= date)
            && self.in_force_to.is_none_or(|d| date <= d)
    }

    fn clause(&self, c: &ClauseConfig) -> AgreementClause {
        AgreementClause {
            code: format!("{} {}", self.id, c.code),
            measures: c.measures.clone(),
            deemed_after: c
                .deemed_after_h
                .map(|h| SignedDuration::from_secs_f64(h * 3600.0)),
        }
    }
}

/// The first clause of an agreement with `state` in force on `date` that `fits`.
fn clause_in_force(
    agreements: &[Agreement],
    state: &str,
    date: jiff::civil::Date,
    fits: impl Fn(&ClauseConfig) -> bool,
) -> Option<AgreementClause> {
    agreements
        .iter()
        .filter(|a| a.applies(state, date))
        .flat_map(|a| a.clauses.iter().map(move |c| (a, c)))
        .find(|(_, c)| fits(c))
        .map(|(a, c)| a.clause(c))
}

/// The clause of an agreement with `state` in force on `date` that deems authorization
/// after silence, if any (R08).
pub fn deeming_clause(
    agreements: &[Agreement],
    state: &str,
    date: jiff::civil::Date,
) -> Option<AgreementClause> {
    clause_in_force(agreements, state, date, |c| c.deemed_after_h.is_some())
}

/// A clause of an agreement with `state` in force on `date` that pre-authorizes `m`, if
/// any (R07).
pub fn preauthorizing(
    agreements: &[Agreement],
    state: &str,
    m: &MeasureKind,
    date: jiff::civil::Date,
) -> Option<AgreementClause> {
    clause_in_force(agreements, state, date, |c| c.measures.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(min: i64) -> Timestamp {
        "2026-11-22T05:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_mins(min)
    }

    #[test]
    fn r17_an_incoming_request_is_answered_within_the_sla_or_alerted() {
        let mut r =
            IncomingRequest::received("GR", "HCG JRCC Piraeus", "GR-2026-88", "IT-IN-12", t(0))
                .unwrap();
        let sla = SignedDuration::from_hours(4);
        assert_eq!(r.sla_alert(t(60), sla), None);
        r.registry_checked(
            RegistryResult::Confirmed,
            "ship register entry 4471, extract attached",
        )
        .unwrap();
        r.decide(
            "duty",
            vec![MeasureKind::Board, MeasureKind::Search],
            vec!["no use of force".into()],
            true,
        )
        .unwrap();
        let late = r.sla_alert(t(300), sla).expect("past the SLA, unanswered");
        assert!(
            late.contains("still unanswered") && late.contains("GR-2026-88"),
            "{late}"
        );
        r.respond(t(310)).unwrap();
        assert_eq!(r.response_latency(t(999)), SignedDuration::from_mins(310));
        assert!(r.sla_alert(t(999), sla).unwrap().contains("answered after"));
        r.results_received(t(2000)).unwrap();
        assert_eq!(r.state, IncomingState::ResultsReceived);
    }

    #[test]
    fn an_unconfirmed_vessel_is_not_authorized_as_ours() {
        let mut r = IncomingRequest::received("GR", "HCG", "GR-1", "IT-1", t(0)).unwrap();
        r.registry_checked(RegistryResult::NotEntitled, "no entry")
            .unwrap();
        assert!(
            r.decide("duty", vec![MeasureKind::Board], vec![], false)
                .is_err()
        );
        r.decide("duty", vec![], vec![], false).unwrap();
        assert!(IncomingRequest::received("GR", "", "GR-1", "IT-1", t(0)).is_err());
    }

    #[test]
    fn r08_only_a_clause_of_an_agreement_in_force_deems_authorization() {
        let r = crate::casefile::Reference::from_toml(
            r#"
            own_state = "IT"
            [[agreement]]
            id = "IT-MT-2024"
            state = "MT"
            in_force_from = "2024-03-01"
            [[agreement.clause]]
            code = "§3"
            measures = ["divert_to_port"]
            [[agreement.clause]]
            code = "§4.2"
            measures = ["board", "search"]
            deemed_after_h = 4.0
            [[agreement]]
            id = "IT-TN-2019"
            state = "TN"
            in_force_to = "2025-12-31"
            [[agreement.clause]]
            code = "§2"
            measures = ["board"]
            "#,
        )
        .unwrap();
        let a = &r.agreements;
        let day = |s: &str| s.parse::<jiff::civil::Date>().unwrap();
        let c = deeming_clause(a, "mt", day("2026-11-22")).unwrap();
        assert_eq!(c.code, "IT-MT-2024 §4.2");
        assert_eq!(c.deemed_after, Some(SignedDuration::from_hours(4)));
        assert!(
            deeming_clause(a, "MT", day("2024-02-29")).is_none(),
            "not yet in force"
        );
        assert!(
            deeming_clause(a, "TN", day("2025-06-01")).is_none(),
            "no clause says silence authorizes"
        );
        assert!(deeming_clause(a, "GR", day("2026-11-22")).is_none());
        assert_eq!(
            preauthorizing(a, "MT", &MeasureKind::DivertToPort, day("2026-11-22"))
                .unwrap()
                .code,
            "IT-MT-2024 §3"
        );
        assert!(preauthorizing(a, "TN", &MeasureKind::Board, day("2025-12-31")).is_some());
        assert!(
            preauthorizing(a, "TN", &MeasureKind::Board, day("2026-01-01")).is_none(),
            "expired"
        );
        let head = "own_state = \"IT\"\n[[agreement]]\nid = \"x\"\nstate = \"MT\"\n";
        for (bad, says) in [
            ("clause = []\nsilence = 1\n", "unknown field"),
            (
                "[[agreement.clause]]\ncode = \"1\"\ndeemed_after_h = 0\n",
                "deemed_after_h must be positive",
            ),
            (
                "in_force_from = \"2026-01-02\"\nin_force_to = \"2026-01-01\"\nclause = []\n",
                "in_force_to is before in_force_from",
            ),
        ] {
            let e = crate::casefile::Reference::from_toml(&format!("{head}{bad}")).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
