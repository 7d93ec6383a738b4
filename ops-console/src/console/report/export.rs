//! The investigator's export, and its offline check (`tidewatch verify DIR`).
//!
//! An export is a directory: `interception.json` (the interception log with its head hash,
//! the article-8 cases, the evidence register with its signed manifests),
//! `evidence/EX-nnnn/FILE` (every exhibit's files as captured), `report.html` and
//! `report.pdf` (the printable report, [`super::report`], [`super::pdf`]). [`verify`] needs nothing
//! but the directory: it re-checks the log's chain against the head written in the bundle,
//! every manifest's hash, link and Ed25519 signature, and every file against the SHA-256
//! taken when it was captured.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use tidewatch_cases::art8::Art8Case;
use tidewatch_cases::evidence::{Register, sha256_hex, verify_manifests};
use tidewatch_cases::log::{InterceptionLog, verify_redacted};

/// The bundle's file name.
pub const BUNDLE: &str = "interception.json";
/// The printable report's file name (derived from the bundle, not checked by `verify`).
pub const REPORT: &str = "report.html";
/// The printable report as PDF (derived from the bundle, like [`REPORT`]).
pub const REPORT_PDF: &str = "report.pdf";
/// The bundle format.
pub const FORMAT: &str = "tidewatch-interception-export/1";

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    /// [`FORMAT`].
    pub format: String,
    /// The incident.
    pub incident: String,
    /// When it was exported.
    pub exported_at: Timestamp,
    /// By whom.
    pub exported_by: String,
    /// The log's head hash when exported.
    pub log_head: String,
    /// The interception log.
    pub log: InterceptionLog,
    /// The article-8 cases.
    pub art8: Vec<Art8Case>,
    /// The evidence register.
    pub evidence: Register,
    /// The tracks of the incident's alerts (targets, contacts) as the console held them at
    /// export, for the map: context, not covered by the log's hash chain.
    #[serde(default)]
    pub tracks: Vec<Track>,
    /// Information exchanged with partner States that its caveats allow in a court export
    /// (R49: never intelligence-only items; R50: only for a permitted purpose).
    #[serde(default)]
    pub items: Vec<tidewatch_cases::caveat::Item>,
    /// Case actions signed at sea, as the officer signed them, for the log entries in the
    /// export (not those withheld from the exporter): a court checks each signature and that
    /// the entry says what was signed.
    #[serde(default)]
    pub signed_at_sea: Vec<SignedAtSea>,
}

/// A case action as an officer signed it at sea.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedAtSea {
    /// The record's id (the log entry's `details.at_sea.record_id`).
    pub id: String,
    /// The record, the very text signed.
    pub record: String,
    /// The officer's Ed25519 public key, hex.
    pub key: String,
    /// The signature, hex.
    pub signature: String,
}

/// Check the log entries made from records signed at sea against the records: the signature,
/// the hash the entry keeps, and that the entry records what was signed. Entries withheld
/// from the exporter are not checked (their content is not in the export).
fn verify_signed_at_sea(b: &Bundle, problems: &mut Vec<String>) -> usize {
    let records: BTreeMap<&str, &SignedAtSea> =
        b.signed_at_sea.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut checked = 0;
    for e in &b.log.entries {
        let at_sea = &e.entry.details["at_sea"];
        if e.withheld.is_some() || at_sea.is_null() {
            continue;
        }
        let id = at_sea["record_id"].as_str().unwrap_or_default();
        // What a person said asking for protection stays in the restricted records (R40),
        // with the record that says it: the entry keeps their hashes.
        if e.entry.details["case_action"]["type"] == "asylum_restricted" {
            continue;
        }
        let Some(r) = records.get(id) else {
            problems.push(format!(
                "interception log: entry {}: the record {id:?} signed at sea is not in the export",
                e.seq
            ));
            continue;
        };
        let mut wrong = Vec::new();
        if sha256_hex(r.record.as_bytes()) != at_sea["record_sha256"].as_str().unwrap_or_default() {
            wrong.push("the record does not hash to the SHA-256 the entry keeps".to_owned());
        }
        if at_sea["officer_key"].as_str() != Some(r.key.as_str())
            || at_sea["signature"].as_str() != Some(r.signature.as_str())
        {
            wrong.push("the key or signature differs from the entry's".to_owned());
        }
        if let Err(err) = ingest::wire::sea::verify(&r.record, &r.key, &r.signature) {
            wrong.push(err.to_string());
        }
        match serde_json::from_str::<ingest::wire::sea::SeaRecord>(&r.record) {
            Ok(rec) => {
                // Compared as actions: the log writes the defaults the officer's form left out.
                use tidewatch_cases::casefile::Action;
                let signed = serde_json::from_value::<Action>(rec.action.clone());
                let logged =
                    serde_json::from_value::<Action>(e.entry.details["case_action"].clone());
                if !matches!((&signed, &logged), (Ok(a), Ok(b)) if a == b) {
                    wrong.push("the entry's action is not the one signed".to_owned());
                }
                if rec.occurred_at != e.entry.occurred_at || rec.officer != e.entry.actor.user {
                    wrong.push("the entry's time or officer is not the one signed".to_owned());
                }
            }
            Err(err) => wrong.push(format!("not a record: {err}")),
        }
        if wrong.is_empty() {
            checked += 1;
        } else {
            problems.push(format!(
                "interception log: entry {} (signed at sea, {id}): {}",
                e.seq,
                wrong.join("; ")
            ));
        }
    }
    checked
}

/// A track's positions (UTC time, latitude, longitude), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// The track (`ais:247123456`, `radar:cp-301/3`).
    pub id: String,
    /// Its positions.
    pub points: Vec<(Timestamp, f64, f64)>,
}

/// Where an exhibit's files go in the export: `evidence/EX-nnnn/`.
fn exhibit_dir(number: &str) -> String {
    let last = number.rsplit('/').next().unwrap_or(number);
    last.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Is `name` usable as a file name in an export (no path, not `.` or `..`, not empty)?
pub fn safe_file_name(name: &str) -> bool {
    safe_name(name).is_some()
}

pub use tidewatch_cases::evidence::{MAX_FILE_NAME_BYTES, file_name_problem};

fn safe_name(name: &str) -> Option<&str> {
    (!name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']))
        .then_some(name)
}

/// Write an export of `bundle` with the exhibits' `files` (exhibit → name → bytes) into
/// `dir`, which must not exist yet.
pub fn write(
    dir: &Path,
    bundle: &Bundle,
    files: &BTreeMap<String, BTreeMap<String, Vec<u8>>>,
) -> io::Result<()> {
    std::fs::create_dir(dir)?;
    for (number, named) in files {
        let d = dir.join("evidence").join(exhibit_dir(number));
        std::fs::create_dir_all(&d)?;
        for (name, bytes) in named {
            let name = safe_name(name).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("file name {name:?}"))
            })?;
            std::fs::write(d.join(name), bytes)?;
        }
    }
    std::fs::write(dir.join(REPORT), super::html::html(bundle))?;
    std::fs::write(dir.join(REPORT_PDF), super::pdf::pdf(bundle))?;
    let text = serde_json::to_vec_pretty(bundle).map_err(io::Error::other)?;
    let tmp = dir.join(format!("{BUNDLE}.tmp"));
    std::fs::write(&tmp, text)?;
    std::fs::File::open(&tmp)?.sync_all()?;
    std::fs::rename(tmp, dir.join(BUNDLE))
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The incident.
    pub incident: String,
    /// Log entries checked.
    pub log_entries: usize,
    /// Of those, entries withheld from the exporter (R40): linked into the chain, their
    /// content not in the export.
    pub log_withheld: usize,
    /// The log's head hash.
    pub log_head: String,
    /// Manifests checked.
    pub manifests: usize,
    /// Files re-hashed.
    pub files: usize,
    /// Log entries signed at sea whose officer's signature was checked.
    pub signed_at_sea: usize,
    /// Every problem found (empty: intact).
    pub problems: Vec<String>,
}

/// True when `dir` holds an interception export.
pub fn is_export(dir: &Path) -> bool {
    dir.join(BUNDLE).is_file()
}

/// Check an export offline.
pub fn verify(dir: &Path) -> Result<Report, String> {
    let path = dir.join(BUNDLE);
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let b: Bundle = serde_json::from_slice(&text)
        .map_err(|e| format!("{}: not an interception export: {e}", path.display()))?;
    if b.format != FORMAT {
        return Err(format!(
            "{}: format {:?}, expected {FORMAT}",
            path.display(),
            b.format
        ));
    }
    let mut problems = Vec::new();
    // Entries withheld from the exporter (R40) are checked for their place in the chain.
    let v = verify_redacted(&b.log, Some(&b.log_head));
    if let Some((n, why)) = &v.first_break {
        problems.push(format!("interception log: entry {n}: {why}"));
    }
    let manifests = match verify_manifests(&b.evidence) {
        Ok(n) => n,
        Err(e) => {
            problems.push(format!("evidence: {e}"));
            0
        }
    };
    let signed_at_sea = verify_signed_at_sea(&b, &mut problems);
    let mut files = 0;
    for ex in b.evidence.exhibits.values() {
        let d: PathBuf = dir.join("evidence").join(exhibit_dir(&ex.number));
        for f in &ex.files {
            let Some(name) = safe_name(&f.name) else {
                problems.push(format!("{}: file name {:?}", ex.number, f.name));
                continue;
            };
            match std::fs::read(d.join(name)) {
                Ok(bytes) => {
                    files += 1;
                    let h = sha256_hex(&bytes);
                    if h != f.sha256 {
                        problems.push(format!(
                            "{} {}: hashes to {h}, not the {} taken at capture",
                            ex.number, f.name, f.sha256
                        ));
                    }
                }
                Err(e) => problems.push(format!("{} {}: {e}", ex.number, f.name)),
            }
        }
    }
    Ok(Report {
        incident: b.incident,
        log_entries: v.entries,
        log_withheld: v.withheld,
        log_head: v.head,
        manifests,
        files,
        signed_at_sea,
        problems,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use tidewatch_cases::evidence::{LegalBasis, Officer};
    use tidewatch_cases::log::{EventType, LogActor, NewEntry, TimeSource};

    pub(crate) const PHOTO: &[u8] = b"photo of the boat's engine plate";

    /// A small incident exported to `dir`.
    pub(crate) fn sample_export(dir: &Path) {
        let t: Timestamp = "2026-11-22T05:00:00Z".parse().unwrap();
        let mut log = InterceptionLog::new("INC-20261122-001");
        for (k, (event, why)) in [
            (EventType::Detection, "rendezvous alert escalated"),
            (
                EventType::AuthorizationRecorded,
                "flag State authorized boarding",
            ),
            (EventType::EvidenceSeized, "engine plate photographed"),
        ]
        .into_iter()
        .enumerate()
        {
            log.append(
                NewEntry {
                    occurred_at: t + jiff::SignedDuration::from_mins(k as i64),
                    time_source: TimeSource::Gnss,
                    actor: LogActor {
                        user: "bo".into(),
                        role: "boarding_officer".into(),
                        unit: Some("CP 301".into()),
                        on_behalf_of: None,
                    },
                    event,
                    position: None,
                    zone: Some("high_seas".into()),
                    why: why.into(),
                    details: serde_json::json!({}),
                    corrects: None,
                    late_reason: None,
                    occurred_at_given: None,
                },
                t + jiff::SignedDuration::from_mins(k as i64),
            )
            .unwrap();
        }
        let key = SigningKey::from_bytes(&[3; 32]);
        let mut reg = Register::new("INC-20261122-001");
        let n = reg
            .seize(
                "engine plate",
                "transom",
                LegalBasis::Art8Authorization("MT-AUTH-77".into()),
                vec![tidewatch_cases::evidence::FileRecord::of(
                    "plate.jpg",
                    PHOTO,
                )],
                "S-1",
                "CP 301",
                &Officer {
                    name: "bo",
                    key: &key,
                },
                t,
            )
            .unwrap();
        let bundle = Bundle {
            format: FORMAT.into(),
            incident: "INC-20261122-001".into(),
            exported_at: t,
            exported_by: "inv".into(),
            log_head: log.head().to_owned(),
            log,
            art8: vec![],
            evidence: reg,
            tracks: vec![],
            signed_at_sea: Vec::new(),
            items: vec![],
        };
        let files = [(
            n,
            [("plate.jpg".to_owned(), PHOTO.to_vec())]
                .into_iter()
                .collect(),
        )]
        .into_iter()
        .collect();
        write(dir, &bundle, &files).unwrap();
    }

    #[test]
    fn an_export_verifies_offline_and_any_tampering_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("export");
        sample_export(&dir);
        assert!(is_export(&dir));
        assert!(
            std::fs::read_to_string(dir.join(REPORT))
                .unwrap()
                .contains("engine plate photographed")
        );
        let r = verify(&dir).unwrap();
        assert_eq!((r.log_entries, r.manifests, r.files), (3, 1, 1));
        assert!(r.problems.is_empty(), "{:?}", r.problems);

        let bundle_path = dir.join(BUNDLE);
        let original = std::fs::read_to_string(&bundle_path).unwrap();
        // A log entry changed.
        std::fs::write(
            &bundle_path,
            original.replace("engine plate photographed", "nothing seized"),
        )
        .unwrap();
        let r = verify(&dir).unwrap();
        assert!(
            r.problems
                .iter()
                .any(|p| p.contains("interception log: entry 3")),
            "{:?}",
            r.problems
        );
        // A manifest changed (the seizing officer's place).
        std::fs::write(&bundle_path, original.replace("\"CP 301\"", "\"CP 302\"")).unwrap();
        let r = verify(&dir).unwrap();
        assert!(
            r.problems.iter().any(|p| p.contains("evidence")),
            "{:?}",
            r.problems
        );
        std::fs::write(&bundle_path, &original).unwrap();
        // An evidence file changed.
        let f = dir.join("evidence/EX-0001/plate.jpg");
        std::fs::write(&f, b"another photo").unwrap();
        let r = verify(&dir).unwrap();
        assert!(
            r.problems.iter().any(|p| p.contains("plate.jpg")),
            "{:?}",
            r.problems
        );
        // An evidence file removed.
        std::fs::remove_file(&f).unwrap();
        assert!(!verify(&dir).unwrap().problems.is_empty());
    }
}
