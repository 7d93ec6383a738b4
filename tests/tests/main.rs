//! Tidewatch integration tests: one binary, modules by capability.
mod conformance;
mod robustness;
mod roundtrip;
