//! The operations console and the `tidewatch` command: the composition root of
//! Tidewatch. Today it holds the commands that exist; the console itself follows.

pub mod analyze;
pub mod cli;
pub mod console;
pub mod console_cmd;
pub mod decode;
pub mod drill;
pub mod embedded;
pub mod fusion_cmd;
#[doc(hidden)]
pub mod fuzz;
pub mod identities;
pub mod identity_cmd;
pub mod ingest_cmd;
pub mod interception;
pub mod metrics;
pub mod patrol;
pub mod sar_cmd;
pub mod simulate_cmd;
pub mod tls;
pub mod up;
pub mod user_cmd;
pub mod verify;
