//! Tidewatch integration tests: one binary, modules by capability.
mod conformance;
