//! Tidewatch simulators: make traffic, smuggling and distress visible and testable.
//!
//! A scenario file ([`spec`]) puts vessels, AIS receivers and patrol units on a sea
//! ([`area`] adds the background traffic of a region); [`scenario::Scenario`] runs it
//! deterministically for a seed and returns what each station sent; [`load`] makes N
//! sentences a second of realistic traffic for benchmarks.

pub mod ais_encode;
pub mod area;
pub mod geodesy;
pub mod load;
mod nmea;
pub mod rng;
pub mod scenario;
pub mod spec;
