//! `tidewatch verify DIR`: check a raw archive's hash chain and name the first break.

use anyhow::{Result, bail};
use ingest::archive;

use crate::cli::VerifyArgs;

/// `tidewatch verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
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
