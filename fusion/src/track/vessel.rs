//! What fusion keeps per MMSI: its live segments, identity and the detectors' state.
//! Kept small (at most 1 KiB live, history excluded): see the `vessel_state_is_small` test.

use super::{Fix, Segment};
use crate::Position;
use crate::alert::AlertKind;

/// Static and voyage data as last reported.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StaticInfo {
    /// Name.
    pub name: Option<Box<str>>,
    /// Call sign.
    pub callsign: Option<Box<str>>,
    /// IMO number.
    pub imo: Option<u32>,
    /// AIS ship and cargo type.
    pub ship_type: Option<u8>,
    /// Length overall, m.
    pub length_m: Option<u16>,
    /// Destination.
    pub destination: Option<Box<str>>,
}

/// One change of identity or voyage data: history, kept apart from live state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StaticChange {
    /// When, ms since the epoch.
    pub time_ms: i64,
    /// `name`, `callsign`, `imo`, `ship_type` or `destination`.
    #[serde(with = "crate::snapshot::static_str")]
    pub field: crate::snapshot::StaticName,
    /// The value before (absent when first reported).
    pub from: Option<String>,
    /// The value after.
    pub to: String,
    /// Where the vessel was, if known.
    pub position: Option<Position>,
}

/// A stretch of slow reports (loitering).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Loiter {
    pub(crate) start_ms: i64,
    pub(crate) last_ms: i64,
    pub(crate) start: Position,
    /// Farthest from `start` while slow, m.
    pub(crate) spread_m: f32,
    /// Set once the port check has been made: true when near a port (never alerted).
    pub(crate) near_port: Option<bool>,
    pub(crate) alert: Option<Box<str>>,
}

/// Everything fusion keeps about one MMSI.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Vessel {
    /// The MMSI.
    pub mmsi: u32,
    /// Live segments (at most [`super::MAX_SEGMENTS`]).
    pub segments: super::Segments,
    /// Number given to the latest segment.
    pub(crate) segment_counter: u16,
    /// Index in `segments` of the one with the latest report.
    pub(crate) latest: usize,
    /// Reports received, positions or not.
    pub reports: u32,
    /// Time of the latest message of any kind, ms.
    pub last_heard_ms: i64,
    /// Identity and voyage data.
    pub static_info: Option<Box<StaticInfo>>,
    /// Changes of identity and voyage data (history).
    pub static_history: Vec<StaticChange>,
    /// Alerts raised per kind (for the risk score), retracted ones taken off.
    pub alert_counts: [u16; AlertKind::ALL.len()],
    pub(crate) loiter: Option<Box<Loiter>>,
    pub(crate) gap_alert: Option<Box<str>>,
    pub(crate) land_alert: Option<Box<str>>,
    pub(crate) jump_alert: Option<Box<str>>,
    pub(crate) conflict_alert: Option<Box<str>>,
    pub(crate) zone_alerts: Vec<(u8, Box<str>)>,
    /// When the vessel slowed from under way to nearly stopped, ms (distress).
    pub(crate) slowed: Option<i64>,
    /// It has been seen under way.
    pub(crate) was_under_way: bool,
    /// Since when a small craft has been drifting, ms (distress).
    pub(crate) drift_since: Option<i64>,
    /// Its open distress proposal.
    pub(crate) distress_alert: Option<Box<str>>,
    /// The latest identity-change alert and when it was raised, ms.
    pub(crate) identity_alert: Option<(Box<str>, i64)>,
    /// A bit per configured zone the vessel is in.
    pub(crate) zones: u64,
    /// Last position found at sea (skip the land test near it).
    pub(crate) sea_checked: Option<Position>,
    /// The last cell of the land grid found all land or all sea (its reports there answer
    /// the land test without the grid). Not saved: only ever the grid's own answer.
    #[serde(skip)]
    pub(crate) land_cell: Option<crate::geodata::UniformCell>,
    /// The latest report was on land (coastal band included).
    pub(crate) was_on_land: bool,
    /// `invalid_identity` found the MMSI itself invalid: it is likely shared by many
    /// devices, so jumps and two-place conflicts are not judged.
    pub(crate) invalid_mmsi: bool,
    /// Distance to the nearest port (m, infinite beyond the search radius) from a
    /// position: reused while the vessel stays within 500 m of it.
    pub(crate) port_distance: Option<(Position, f32)>,
    /// When the `ais_gap` coverage test last ran for the current silence, ms.
    pub(crate) gap_checked_ms: i64,
    /// Its latest position came as Class B (types 18, 19), heard over a shorter range than
    /// Class A: its silences are judged on where Class B vessels are heard.
    #[serde(default)]
    pub(crate) class_b: bool,
    /// The silence its open `ais_gap` alert was raised under, ms (45 min off a departure
    /// coast, 2 h in the open sea): its return and late reports are judged by the same.
    #[serde(default)]
    pub(crate) gap_threshold_ms: i64,
    /// The receiver that heard its latest position first (coverage's id; 0 none).
    #[serde(default)]
    pub(crate) last_station: u16,
    /// The identity checks ran (MMSI format once; IMO per value).
    pub(crate) mmsi_checked: bool,
    pub(crate) imo_checked: Option<u32>,
}

impl Vessel {
    /// The latest report of any segment.
    pub fn last_fix(&self) -> Option<&Fix> {
        self.segments.get(self.latest).map(|s| &s.last)
    }

    /// Reported ship type, if any.
    pub fn ship_type(&self) -> Option<u8> {
        self.static_info.as_ref().and_then(|s| s.ship_type)
    }

    /// Reported name, if any.
    pub fn name(&self) -> Option<&str> {
        self.static_info.as_ref().and_then(|s| s.name.as_deref())
    }

    /// `"ALPHA (247123456)"`, or the MMSI alone.
    pub fn label(&self) -> String {
        match self.name() {
            Some(n) => format!("{n} ({})", self.mmsi),
            None => self.mmsi.to_string(),
        }
    }

    pub(crate) fn count(&mut self, kind: AlertKind, delta: i32) {
        let i = AlertKind::ALL.iter().position(|k| *k == kind).unwrap_or(0);
        self.alert_counts[i] = (self.alert_counts[i] as i32 + delta).max(0) as u16;
    }

    /// Bytes this vessel holds, history (`static_history`) excluded.
    pub fn live_bytes(&self) -> usize {
        let boxed = |s: &Option<Box<str>>| s.as_ref().map_or(0, |s| s.len());
        std::mem::size_of::<Vessel>()
            + if self.segments.spilled() {
                self.segments.capacity() * std::mem::size_of::<Segment>()
            } else {
                0
            }
            + self.static_info.as_ref().map_or(0, |s| {
                std::mem::size_of::<StaticInfo>()
                    + boxed(&s.name)
                    + boxed(&s.callsign)
                    + boxed(&s.destination)
            })
            + self
                .loiter
                .as_ref()
                .map_or(0, |l| std::mem::size_of::<Loiter>() + boxed(&l.alert))
            + boxed(&self.gap_alert)
            + boxed(&self.land_alert)
            + boxed(&self.jump_alert)
            + boxed(&self.conflict_alert)
            + boxed(&self.distress_alert)
            + self.identity_alert.as_ref().map_or(0, |(s, _)| s.len())
            + self.zone_alerts.capacity() * std::mem::size_of::<(u8, Box<str>)>()
            + self.zone_alerts.iter().map(|(_, s)| s.len()).sum::<usize>()
    }
}
