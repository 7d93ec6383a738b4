//! Tidewatch integration tests: one binary, modules by capability.
mod bus_cluster;
mod case_roles;
mod conformance;
mod console_api;
mod console_disclosure;
mod fusion_analyze;
mod fusion_mqtt;
mod ingest_instances;
mod ingest_mqtt;
mod robustness;
mod roundtrip;
mod sar_case;
mod sar_e2e;
mod sim_scenarios;
mod tsdb_victoria;
