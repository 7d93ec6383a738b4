//! One module per `tidewatch` command: each parses nothing (that is `cli`'s job), starts
//! what the command runs and waits for it to end.

pub mod analyze;
pub mod console;
pub mod decode;
pub mod deploy;
pub mod drill;
pub mod fusion;
pub mod identity;
pub mod ingest;
pub mod sar;
pub mod simulate;
pub mod up;
pub mod user;
pub mod verify;
