//! `tidewatch verify DIR`: check a raw archive's hash chain, an interception export (its
//! log's chain, the evidence manifests' signatures and every evidence file), or the
//! console's own store (every incident's interception log, its case file replayed against
//! the evidence files and signed manifests, and the audit log), and name what is broken.

use anyhow::{Result, bail};
use ingest::archive;

use crate::cli::VerifyArgs;

/// `tidewatch verify`.
pub fn run(args: &VerifyArgs) -> Result<()> {
    let place = args.dir.to_string_lossy();
    if place.starts_with("postgres://") || place.starts_with("postgresql://") {
        let store = crate::console::store::Store::connect_postgres(&place)
            .map_err(|e| anyhow::anyhow!("{place}: {e}"))?;
        return console(store, &place, args.expect_head.as_deref());
    }
    if crate::console::report::export::is_export(&args.dir) {
        return export(args);
    }
    for d in [args.dir.clone(), args.dir.join("console")] {
        if d.join("console.db").is_file() {
            return console(
                crate::console::store::Store::open(&d)?,
                &d.display().to_string(),
                args.expect_head.as_deref(),
            );
        }
    }
    let report = archive::verify(&args.dir)?;
    if report.files == 0 && args.expect_head.is_none() {
        // An ingest instance's archive: one chain per slot it held (`DIR/raw/{slot}/`).
        let mut slots: Vec<_> = std::fs::read_dir(&args.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        slots.sort();
        let mut checked = 0;
        for slot in &slots {
            let r = archive::verify(slot)?;
            if r.files == 0 {
                continue;
            }
            if let Some(b) = r.first_break {
                bail!(
                    "{}: chain BROKEN after {} intact records: {b}",
                    slot.display(),
                    r.records
                );
            }
            println!(
                "{}: raw archive intact: {} files ({} compressed), {} records, head sha256 {}",
                slot.display(),
                r.files,
                r.compressed,
                r.records,
                r.head.unwrap_or_default()
            );
            checked += 1;
        }
        if checked > 0 {
            return Ok(());
        }
    }
    if report.files == 0 {
        bail!(
            "{}: no raw archive files (raw-*.nmea, raw-*.nmea.gz) found",
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
    // The head stays the last word (scripts take it from there).
    let retired = if report.retired > 0 {
        format!(
            ", after {} older files removed by retention (named in {}; the oldest kept file links to the last of them)",
            report.retired,
            archive::RETENTION_LOG
        )
    } else {
        String::new()
    };
    println!(
        "{}: raw archive intact: {} files ({} compressed), {} records{retired}, head sha256 {}",
        args.dir.display(),
        report.files,
        report.compressed,
        report.records,
        report.head.unwrap_or_default()
    );
    Ok(())
}

/// An interception export.
fn export(args: &VerifyArgs) -> Result<()> {
    let r = crate::console::report::export::verify(&args.dir).map_err(anyhow::Error::msg)?;
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
        "{}: interception export of {} intact: {} log entries{} (head sha256 {}), {} evidence manifests signed and chained, {} evidence files as captured, {} entries signed at sea by the officer's key",
        args.dir.display(),
        r.incident,
        r.log_entries,
        if r.log_withheld > 0 {
            format!(
                ", {} withheld from the exporter (R40: linked in the chain, content not exported)",
                r.log_withheld
            )
        } else {
            String::new()
        },
        r.log_head,
        r.manifests,
        r.files,
        r.signed_at_sea
    );
    Ok(())
}

/// The console's store (`DATA/console`): every incident's interception log chain, its case
/// file replayed (manifests re-signed and compared with the hashes
/// anchored in the log), every evidence file re-hashed, and the audit log's chain.
/// The console store's head: one hash over every incident's log head and the audit log's
/// head, so that a head noted earlier (`--expect-head`) catches a chain cut short or
/// rewritten whole since, which no link inside it shows.
fn console(
    store: crate::console::store::Store,
    place: &str,
    expect_head: Option<&str>,
) -> Result<()> {
    use tidewatch_cases::casefile::Reference;
    use tidewatch_cases::evidence::verify_manifests;
    use tidewatch_cases::log::verify as verify_log;
    let reference = Reference::default_demo();
    let mut problems = Vec::new();
    let (mut entries, mut manifests, mut exhibits) = (0, 0, 0);
    let incidents = store.logged_incidents()?;
    let mut heads = String::new();
    for inc in &incidents {
        let log = match store.interception_log(inc) {
            Ok(l) => l,
            Err(e) => {
                problems.push(format!("{inc}: {e}"));
                continue;
            }
        };
        let v = verify_log(&log, None);
        if let Some((n, why)) = v.first_break {
            problems.push(format!("{inc}: interception log entry {n}: {why}"));
        }
        heads.push_str(&format!("{inc}\t{}\n", v.head));
        entries += log.entries.len();
        let f = store.case_file(inc, &reference)?;
        problems.extend(f.problems.iter().map(|p| format!("{inc}: {p}")));
        problems.extend(
            store
                .evidence_problems(&f)?
                .iter()
                .map(|p| format!("{inc}: {p}")),
        );
        if let Err(e) = verify_manifests(&f.register) {
            problems.push(format!("{inc}: evidence manifests: {e}"));
        }
        manifests += f.register.manifests.len();
        exhibits += f.register.exhibits.len();
    }
    if let Some(seq) = store.verify_audit()? {
        problems.push(format!("audit log: chain broken at entry {seq}"));
    }
    heads.push_str(&format!("audit\t{}\n", store.audit_head()?));
    let head = crate::console::store::sha256_hex(heads.as_bytes());
    if let Some(expected) = expect_head
        && !expected.trim().eq_ignore_ascii_case(&head)
    {
        problems.push(format!(
            "BROKEN at its head: the store's head is {head}, not the noted {expected}: a log was cut short or rewritten, or entries were added since"
        ));
    }
    if !problems.is_empty() {
        bail!("{}: console store BROKEN: {}", place, problems.join("; "));
    }
    println!(
        "{}: console store intact: {} incidents, {} interception log entries chained, {} exhibits with {} manifests re-signed as logged, audit log chained, head sha256 {head}",
        place,
        incidents.len(),
        entries,
        exhibits,
        manifests
    );
    Ok(())
}
