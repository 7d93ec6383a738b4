//! Alerts: what fusion tells the watch officer.
//!
//! An alert is issued, then may be updated, closed (the behaviour ended) or retracted
//! (late data showed it did not happen). Each of those is a new *revision* of the same
//! alert id, published and stored in turn, so the history is kept and never rewritten.

use crate::Position;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// What an alert is about. The snake_case names are stable: topics, files and the
/// console use them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AlertKind {
    /// A vessel stopped reporting where others are still heard.
    AisGap,
    /// Two vessels met at sea.
    Rendezvous,
    /// One vessel lingered at sea.
    Loitering,
    /// A report no vessel could have made after the previous one, or a position on land.
    PositionJump,
    /// One MMSI in two places at once, or its identity changed at sea.
    IdentityConflict,
    /// An MMSI or IMO number that cannot be right.
    InvalidIdentity,
    /// A vessel entered a configured zone.
    ZoneEntry,
    /// A radar contact or sighting with no AIS.
    DarkTarget,
    /// An active AIS-SART, MOB or EPIRB-AIS.
    SarBeacon,
    /// A craft that may be in distress.
    Distress,
}

impl AlertKind {
    /// The version of the rule that raises it (`ais_gap@2`), raised when what the rule
    /// decides changes: 2 for `ais_gap` (coverage by receiver, reach and edge; departure
    /// coasts).
    pub fn rule_version(self) -> u32 {
        match self {
            AlertKind::AisGap => 2,
            _ => 1,
        }
    }

    /// Every kind, in a fixed order.
    pub const ALL: [AlertKind; 10] = [
        AlertKind::AisGap,
        AlertKind::Rendezvous,
        AlertKind::Loitering,
        AlertKind::PositionJump,
        AlertKind::IdentityConflict,
        AlertKind::InvalidIdentity,
        AlertKind::ZoneEntry,
        AlertKind::DarkTarget,
        AlertKind::SarBeacon,
        AlertKind::Distress,
    ];

    /// The stable snake_case name (`ais_gap`), as in topics `tidewatch/v1/alerts/{kind}`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::AisGap => "ais_gap",
            AlertKind::Rendezvous => "rendezvous",
            AlertKind::Loitering => "loitering",
            AlertKind::PositionJump => "position_jump",
            AlertKind::IdentityConflict => "identity_conflict",
            AlertKind::InvalidIdentity => "invalid_identity",
            AlertKind::ZoneEntry => "zone_entry",
            AlertKind::DarkTarget => "dark_target",
            AlertKind::SarBeacon => "sar_beacon",
            AlertKind::Distress => "distress",
        }
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// For the record.
    Info,
    /// Worth a look when time allows.
    Low,
    /// Look at it this watch.
    Medium,
    /// Look at it now.
    High,
    /// Lives may be at stake: act now.
    Critical,
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The behaviour is going on (or, for a one-off finding, was found).
    Open,
    /// The behaviour ended; `end` says when.
    Closed,
    /// Late data showed it did not happen; the last reason says why.
    Retracted,
}

/// One revision of an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alert {
    /// Stable id: `{kind}-{subject}-{start in ms}`, the same on every revision and on
    /// every replay of the same input.
    pub id: String,
    /// What it is about.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// Open, closed or retracted.
    pub state: AlertState,
    /// Revision number, from 1; each change is a new revision.
    pub revision: u32,
    /// When this revision was issued (the fusion clock: the data's time), UTC.
    pub time: Timestamp,
    /// When the behaviour started, UTC.
    pub start: Timestamp,
    /// When it ended, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
    /// The vessels involved (empty for a contact with no AIS).
    pub mmsi: Vec<u32>,
    /// Radar contacts or sightings involved: `{unit}/radar/{target}` or `{unit}/sighting/{n}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
    /// Where.
    pub position: Position,
    /// Confidence that this is what it says, 0–1.
    pub score: f64,
    /// Why, in words a watch officer reads at three in the morning, units stated.
    pub reasons: Vec<String>,
    /// The rule and its version: `rendezvous@1`.
    pub rule: String,
    /// The rule's parameters as configured when it fired.
    pub params: serde_json::Value,
    /// For SAR alerts: the search plan ([`crate::sar::SearchPlan`] as JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_plan: Option<serde_json::Value>,
    /// Outside the centre's area of responsibility (when one is configured): kept, ranked
    /// below those inside.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub outside_area: bool,
}

impl Alert {
    /// The id for an alert of `kind` about `subject` starting at `start`.
    pub fn make_id(kind: AlertKind, subject: &str, start: Timestamp) -> String {
        format!("{kind}-{subject}-{}", start.as_millisecond())
    }
}

/// Rounds for reasons: `1.23` → `"1.2"`.
pub(crate) fn one_decimal(x: f64) -> String {
    format!("{x:.1}")
}

/// `95` minutes → `"1 h 35 min"`.
pub(crate) fn duration_text(seconds: i64) -> String {
    let minutes = seconds.max(0) / 60;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(59), "0 min");
        assert_eq!(duration_text(52 * 60), "52 min");
        assert_eq!(duration_text(120 * 60), "2 h");
        assert_eq!(duration_text(95 * 60 + 10), "1 h 35 min");
    }

    #[test]
    fn kinds_serialize_as_their_stable_names() {
        for k in AlertKind::ALL {
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
    }
}
