//! The detectors, one file each, named after what they detect. Each is a few functions
//! the engine calls at the right moment (a position report, static data, a clock tick),
//! with its parameters from [`crate::config`] and its state on the vessel, the meeting or
//! the contact it concerns. Every alert carries its rule version, the parameters in force
//! and reasons in words.

pub(crate) mod ais_gap;
pub(crate) mod dark_target;
pub(crate) mod identity_conflict;
pub(crate) mod invalid_identity;
pub(crate) mod loitering;
pub(crate) mod position_jump;
pub(crate) mod rendezvous;
pub(crate) mod sar_beacon;
pub(crate) mod zone_entry;
