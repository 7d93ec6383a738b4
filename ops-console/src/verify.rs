//! `tidewatch verify DIR`: check a raw archive's hash chain, or an interception export
//! (its log's chain, the evidence manifests' signatures and every evidence file), and name
//! the first break.

use anyhow::{Result, bail};
use ingest::archive;

use crate::cli::VerifyArgs;

/// `tidewatch verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    if crate::interception::export::is_export(&args.dir) {
        return export(args);
    }
    let report = archive::verify(&args.dir)?;
    if report.files == 0 {
        bail!(
            "{}: no raw archive files (raw-*.nmea) found",
            args.dir.display()
        );
    }
    if let Some(b) = report.first_break {
        bail!(
            "{}: chain BROKEN after {} intact records: {b}",
            args.dir.display(),
            report.records
        );
    }
    let head = report.head.clone().unwrap_or_default();
    if let Some(expected) = &args.expect_head
        && !expected.eq_ignore_ascii_case(&head)
    {
        bail!(
            "{}: chain BROKEN at its head: the newest file hashes to {head}, not the noted {expected}: it was altered, or files were added or removed since",
            args.dir.display()
        );
    }
    println!(
        "{}: raw archive intact: {} files, {} records, head sha256 {}",
        args.dir.display(),
        report.files,
        report.records,
        report.head.unwrap_or_default()
    );
    Ok(())
}

/// An interception export.
fn export(args: &VerifyArgs) -> Result<()> {
    let r = crate::interception::export::verify(&args.dir).map_err(anyhow::Error::msg)?;
    if let Some(expected) = &args.expect_head
        && !expected.eq_ignore_ascii_case(&r.log_head)
    {
        bail!(
            "{}: interception log head is {}, not the noted {expected}",
            args.dir.display(),
            r.log_head
        );
    }
    if !r.problems.is_empty() {
        bail!(
            "{}: interception export of {} BROKEN: {}",
            args.dir.display(),
            r.incident,
            r.problems.join("; ")
        );
    }
    println!(
        "{}: interception export of {} intact: {} log entries (head sha256 {}), {} evidence manifests signed and chained, {} evidence files as captured",
        args.dir.display(),
        r.incident,
        r.log_entries,
        r.log_head,
        r.manifests,
        r.files
    );
    Ok(())
}
