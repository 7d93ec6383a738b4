//! The engine's state as bytes, and back: what a restart starts from (with the journal of
//! what the engine took since, [`crate::memory`]).
//!
//! The encoding is `postcard` (compact and exact: an `f32` NaN — a report without speed —
//! and an infinite distance survive, which JSON cannot carry). Alerts and search plans,
//! which hold free JSON, are kept as their JSON text. Reference data and configuration are
//! not in a snapshot: they are read at start, as without one.

use crate::alert::Alert;
use crate::coverage::Coverage;
use crate::detector::{dark_target, rendezvous, sar_beacon};
use crate::engine::{EngineStats, UnitFix};
use crate::hash::FastMap;
use crate::track::Vessel;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// The format's version: a snapshot of another version is not read (the journal is
/// replayed from further back, or the engine starts empty). `postcard` is not
/// self-describing: any change to the layout of what a snapshot holds (a field added to a
/// vessel, a coverage cell, a beacon) changes this number. 2: coverage by receiver and
/// class, a vessel's last receiver, a beacon's silence.
pub(crate) const VERSION: u32 = 2;

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
#[error("engine snapshot: {0}")]
pub struct SnapshotError(pub String);

/// The names the engine keeps as `&'static str` (history field names, beacon doubts,
/// search patterns): a snapshot names them, and reading one maps each back.
const KNOWN: &[&str] = &[
    "name",
    "callsign",
    "imo",
    "ship_type",
    "destination",
    "speed",
    "land",
    "SS",
    "VS",
];

/// A name from [`KNOWN`]. (An alias, so that serde's derive does not take the field for
/// text borrowed from the input.)
pub(crate) type StaticName = &'static str;

/// `s` as the engine's own `&'static str`, if it is one it uses.
pub(crate) fn known(s: &str) -> Result<&'static str, String> {
    KNOWN
        .iter()
        .find(|k| **k == s)
        .copied()
        .ok_or_else(|| format!("unknown name {s:?}"))
}

/// Serde for a `&'static str` field ([`KNOWN`]).
pub(crate) mod static_str {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &&'static str, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
        let s = String::deserialize(d)?;
        known(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde for a `Vec<&'static str>` field ([`KNOWN`]).
pub(crate) mod static_strs {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &[&'static str], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<&'static str>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| known(s).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// The engine's state, borrowed to be written.
#[derive(Serialize)]
pub(crate) struct StateRef<'a> {
    pub(crate) version: u32,
    pub(crate) alerts: Vec<String>,
    pub(crate) vessels: &'a FastMap<u32, Vessel>,
    pub(crate) coverage: &'a Coverage,
    pub(crate) meetings: &'a rendezvous::Meetings,
    pub(crate) contacts: &'a dark_target::Contacts,
    pub(crate) beacons: &'a sar_beacon::Beacons,
    pub(crate) responses: &'a crate::sar::Responses,
    pub(crate) units: &'a BTreeMap<String, UnitFix>,
    pub(crate) stats: &'a EngineStats,
}

/// The engine's state, read back.
#[derive(Deserialize)]
pub(crate) struct State {
    pub(crate) version: u32,
    pub(crate) alerts: Vec<String>,
    pub(crate) vessels: FastMap<u32, Vessel>,
    pub(crate) coverage: Coverage,
    pub(crate) meetings: rendezvous::Meetings,
    pub(crate) contacts: dark_target::Contacts,
    pub(crate) beacons: sar_beacon::Beacons,
    pub(crate) responses: crate::sar::Responses,
    pub(crate) units: BTreeMap<String, UnitFix>,
    pub(crate) stats: EngineStats,
}

/// The alerts of the book as JSON lines (sorted by id, so equal states give equal bytes).
pub(crate) fn alerts_to_json<'a>(alerts: impl Iterator<Item = &'a Alert>) -> Vec<String> {
    let mut v: Vec<&Alert> = alerts.collect();
    v.sort_by(|a, b| a.id.cmp(&b.id));
    v.into_iter()
        .map(|a| serde_json::to_string(a).expect("alerts serialize"))
        .collect()
}

/// The alerts of a snapshot.
pub(crate) fn alerts_from_json(lines: &[String]) -> Result<Vec<Alert>, SnapshotError> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).map_err(|e| SnapshotError(format!("alert: {e}"))))
        .collect()
}

/// Write `state` as bytes.
pub(crate) fn encode(state: &StateRef<'_>) -> Vec<u8> {
    postcard::to_stdvec(state).expect("the engine's state serializes")
}

/// Read a state written by [`encode`].
pub(crate) fn decode(bytes: &[u8]) -> Result<State, SnapshotError> {
    // The version first, so another version is named as such rather than as garbage.
    let (version, _) = postcard::take_from_bytes::<u32>(bytes)
        .map_err(|e| SnapshotError(format!("version: {e}")))?;
    if version != VERSION {
        return Err(SnapshotError(format!(
            "version {version}, this build reads {VERSION}"
        )));
    }
    let state: State = postcard::from_bytes(bytes).map_err(|e| SnapshotError(e.to_string()))?;
    debug_assert_eq!(state.version, VERSION);
    Ok(state)
}
