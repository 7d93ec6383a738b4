//! Tidewatch simulators: make traffic, smuggling and distress visible and testable.

pub mod ais_encode;
pub mod scenario;
