//! The detectors, one file each, named after what they detect. Each is a few functions
//! the engine calls at the right moment (a position report, static data, a clock tick),
//! with its parameters from [`crate::config`] and its state on the vessel, the meeting or
//! the contact it concerns. Every alert carries its rule version, the parameters in force
//! and reasons in words.

pub(crate) mod ais_gap;
pub(crate) mod dark_target;
pub(crate) mod distress;
pub(crate) mod identity_conflict;
pub(crate) mod invalid_identity;
pub(crate) mod loitering;
pub(crate) mod position_jump;
pub(crate) mod rendezvous;
pub(crate) mod sar_beacon;
pub(crate) mod zone_entry;

/// The words of a snake_case enum value as serde names it (`rubber_boat` → `rubber boat`).
pub(crate) trait Named {
    fn named(&self) -> String;
}

impl<T: serde::Serialize> Named for T {
    fn named(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(|s| s.replace('_', " ")))
            .unwrap_or_default()
    }
}
