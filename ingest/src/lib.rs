//! Tidewatch ingest: the path every observation takes into Tidewatch.
//!
//! ```text
//!  AIS receivers, feeds ──NMEA──▶ ais::Decoder ──▶ AisMessage ──┐
//!  patrol units ────NMEA──▶ telemetry::parse ──▶ Telemetry ─────┴─▶ observations ─▶ fusion
//! ```
//!
//! Vocabulary: a *line* is one NMEA sentence with its optional tag block; a *message*
//! is one AIS message, possibly assembled from several sentences (*fragments*); a
//! *reject* is a line that could not be used, always counted by reason.

pub mod ais;
pub mod archive;
pub mod geodesy;
pub mod hourly;
pub mod inputs;
pub mod instances;
pub mod link;
pub mod model;
pub mod obslog;
pub mod pipeline;
pub mod service;
pub mod stats;
pub mod telemetry;
#[cfg(test)]
mod test_tmpfs;
pub mod tsdb;
pub mod wire;
