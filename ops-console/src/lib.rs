//! The `tidewatch` command: the composition root of Tidewatch. It decides what runs in one
//! process (`tidewatch up`: the broker, ingest, fusion and the console) and holds the parts
//! that belong to no single crate below it.
//!
//! ```text
//!  cli ──▶ cmd::{up, console, ingest, fusion, patrol, decode, analyze, verify, …}
//!            │
//!            ├──▶ tidewatch_broker (ops-console/broker)   the MQTT broker, its identities
//!            ├──▶ ingest, fusion                          the data path
//!            ├──▶ console (here)                          the web console: api/, store, auth, picture, report/
//!            │      └──▶ tidewatch_cases (ops-console/cases)  the interception domain, pure
//!            └──▶ tidewatch_patrol (ops-console/patrol)   the vessel's client (also its own binary)
//! ```
//!
//! Where things are: `ARCHITECTURE.md` at the top of the repository.

pub mod cli;
pub mod cmd;
pub mod console;
pub mod engines;
#[doc(hidden)]
pub mod fuzz;
pub mod metrics;
pub mod testkit;
