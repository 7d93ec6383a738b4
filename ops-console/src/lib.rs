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

/// Turn transparent huge pages off for this process, first thing in `main`, as Redis does.
///
/// mimalloc asks the kernel for 2 MiB pages (`madvise(MADV_HUGEPAGE)`), so each first touch
/// of fresh heap zeroes 2 MiB at once. On virtual machines whose host backs guest memory
/// lazily that took up to 6 ms a page, so a run's system time and a message's latency
/// depended on where the heap happened to cross a 2 MiB boundary: `analyze` of the 1M-sentence
/// bench spent 0.00 to 0.17 s of system time on the same input (up to a fifth of its CPU)
/// and its peak RSS was 58 MiB, against 0.01 to 0.03 s and 41 MiB with 4 KiB pages and
/// the same user time (README, Fusion → Throughput). The setting is the process's (and its
/// children's). A kernel without it (before Linux 3.15) refuses, and the process then runs as
/// before: nothing to report.
pub fn small_pages() {
    let _ = rustix::thread::disable_transparent_huge_pages(true);
}
