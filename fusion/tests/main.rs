//! The fusion engine's behaviour as a watch officer meets it, driven directly (no broker, no
//! I/O): scenarios of every detector on a timeline (`scenarios`, with the `sim` harness), and
//! search planning (`sar_plan`). One test binary.

mod sar_plan;
mod scenarios;
mod sim;
