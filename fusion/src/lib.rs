//! Tidewatch fusion: turns observations into tracks and flags suspicious behaviour.
//!
//! ```text
//!  observations ──▶ FusionEngine::observe ──▶ tracks (per MMSI, split into segments)
//!  (ingest::model)        │  tick(now)        radar contacts and sightings
//!                         ▼                   receiver coverage, meetings
//!                  alerts (revisions) ──▶ tidewatch/v1/alerts/{kind}, stored, console
//! ```
//!
//! Vocabulary: an *observation* is one thing seen at one time (ingest's type); a *track*
//! is the reports one vessel could have made ([`TrackId`]: MMSI and segment); a
//! *contact* is a radar target or sighting; an *alert* is a finding with its reasons,
//! issued in *revisions* (open, updated, closed, retracted).
//!
//! The engine is pure: it takes the time as an argument and does no I/O, so a log
//! replayed through it gives the same alerts, byte for byte, every time.
//!
//! ```
//! use fusion::{FusionConfig, FusionEngine, Geodata};
//! let cfg = FusionConfig::default();
//! let geo = Geodata::load(&cfg, None).unwrap();
//! let mut engine = FusionEngine::new(cfg, geo);
//! let events = engine.tick(jiff::Timestamp::UNIX_EPOCH);
//! assert!(events.is_empty());
//! ```

pub mod alert;
pub mod clock;
pub mod config;
mod coverage;
mod detector;
pub mod engine;
pub mod geodata;
mod hash;
mod memory;
pub mod risk;
pub mod sar;
pub mod service;
mod snapshot;
pub mod store;
pub mod track;

pub use alert::{Alert, AlertKind, AlertState, Severity};
pub use config::FusionConfig;
pub use config::Setup;
pub use detector::invalid_identity::{MmsiFormat, imo_valid, normalize_imo};
pub use engine::{EngineStats, FusionEngine, FusionEvent};
pub use geodata::Geodata;
pub use ingest::geodesy::{self, Position};
pub use risk::Risk;
pub use snapshot::SnapshotError;
pub use track::{TrackId, Vessel};
