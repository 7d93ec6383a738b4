//! The MQTT contract: topics under a versioned prefix, and the payloads Tidewatch's
//! producers and patrol units exchange on them.
//!
//! Topic strings are built and parsed only here, so a change of contract is one file.
//! Payloads we produce reject unknown fields; third-party feeds are configured inputs,
//! not changes to this contract.

pub mod patrol;
pub mod sea;
pub mod topics;

pub use patrol::{PatrolReport, ReportError, Tasking};
pub use topics::{Topic, UnitId};
