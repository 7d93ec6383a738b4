//! SIGKILL during case updates, then restart: the interception log verifies, the case file
//! replays from it without a problem, and nothing acknowledged to a user is lost.
//!
//! The child is this test binary run again (`--exact child_appends_until_killed`): as fast
//! as it can, it records case actions (a person rescued, the same path as the console's
//! `POST /api/incidents/{id}/case`) and plain log entries alternately, and prints
//! `acked N persons P` after each commit, which is when the console would answer the
//! user. The parent kills it with SIGKILL mid-stream, then opens the database as a
//! restarted console would.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use jiff::Timestamp;
use ops_console::console::auth::Role;
use ops_console::console::store::Store;
use tidewatch_cases::casefile::{Action, Reference, Who};
use tidewatch_cases::log::{EventType, LogActor, LogPosition, NewEntry, TimeSource, verify};

const DIR_VAR: &str = "TIDEWATCH_KILL_TEST_DIR";

fn entry(i: u64) -> NewEntry {
    NewEntry {
        occurred_at: Timestamp::now(),
        time_source: TimeSource::Ntp,
        actor: LogActor {
            user: "bo".into(),
            role: "boarding_officer".into(),
            unit: Some("CP 301".into()),
            on_behalf_of: None,
        },
        event: EventType::Headcount,
        position: None,
        zone: Some("high_seas".into()),
        why: format!("headcount {i} during the transfer of the rescued"),
        details: serde_json::json!({"alive": 47, "i": i}),
        corrects: None,
        late_reason: None,
        occurred_at_given: None,
    }
}

#[test]
#[ignore = "the child process of sigkill_during_log_updates_loses_nothing_acknowledged"]
fn child_appends_until_killed() {
    let dir = std::env::var(DIR_VAR).expect("run by the parent test");
    let store = Store::open(std::path::Path::new(&dir)).unwrap();
    let reference = Reference::default_demo();
    let who = Who {
        user: "bo".into(),
        role: Role::BoardingOfficer,
    };
    let mut persons = store
        .case_file("INC-KILL", &reference)
        .unwrap()
        .roster
        .persons
        .len();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let seq = if i % 2 == 0 {
            let mut e = entry(i);
            e.position = Some(LogPosition {
                lat: 35.2,
                lon: 12.9,
                accuracy_nm: 0.1,
            });
            let rescue = Action::Rescue {
                unit: "cp-302".into(),
                count: 1,
            };
            let (e, f) = store
                .case_action("INC-KILL", &who, &rescue, e, Timestamp::now(), &reference)
                .unwrap()
                .unwrap();
            persons = f.roster.persons.len();
            e.seq
        } else {
            store
                .append_interception("INC-KILL", entry(i), Timestamp::now())
                .unwrap()
                .unwrap()
                .seq
        };
        writeln!(out, "acked {seq} persons {persons}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_during_log_updates_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let stderr_path = tmp.path().join("child.stderr");
    let mut before = 0u64;
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "child_appends_until_killed",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(DIR_VAR, tmp.path())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_path).unwrap())
            .spawn()
            .unwrap();
        let stderr = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = 0u64;
        let mut persons = 0usize;
        let parse = |l: &str| -> Option<(u64, usize)> {
            let (a, p) = l.strip_prefix("acked ")?.split_once(" persons ")?;
            Some((a.parse().ok()?, p.parse().ok()?))
        };
        // Let it get well into its stream, then SIGKILL.
        let kill_at = 60 * (round + 1);
        for l in lines.by_ref() {
            let l = l.unwrap();
            if let Some((n, p)) = parse(&l) {
                (acked, persons) = (n, p);
                if acked >= kill_at {
                    break;
                }
            }
        }
        // It reached the kill point, acknowledging as it went, and is killed mid-stream:
        // a child that died early would leave nothing to check.
        assert!(
            acked >= kill_at && acked > before,
            "round {round}: the child acknowledged up to {acked} of {kill_at} and stopped; its stderr:\n{}",
            stderr()
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "round {round}: the child exited before the kill; its stderr:\n{}",
            stderr()
        );
        child.kill().unwrap();
        // Whatever it printed before dying was acknowledged too.
        for l in lines.map_while(Result::ok) {
            if let Some((n, p)) = parse(&l) {
                (acked, persons) = (n, p);
            }
        }
        let status = child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "round {round}: killed by SIGKILL, not {status}; its stderr:\n{}",
            stderr()
        );
        before = acked;
        // Restart: the log verifies and holds everything acknowledged.
        let store = Store::open(tmp.path()).unwrap();
        let log = store.interception_log("INC-KILL").unwrap();
        let v = verify(&log, None);
        assert!(
            v.first_break.is_none(),
            "round {round}: {:?}",
            v.first_break
        );
        assert!(
            log.entries.len() as u64 >= acked,
            "round {round}: {acked} acknowledged, {} in the log",
            log.entries.len()
        );
        assert!(
            log.entries
                .iter()
                .enumerate()
                .all(|(i, e)| e.seq == i as u64 + 1)
        );
        // The case file replays from the log without a problem, and every person whose
        // rescue was acknowledged is on the roster (one more if its commit beat the kill).
        let f = store
            .case_file("INC-KILL", &Reference::default_demo())
            .unwrap();
        assert!(f.problems.is_empty(), "round {round}: {:?}", f.problems);
        let n = f.roster.persons.len();
        assert!(
            n == persons || n == persons + 1,
            "round {round}: {persons} rescues acknowledged, {n} on the roster"
        );
        assert_eq!(f.roster.occupancy("cp-302") as usize, n);
    }
}

/// A console store with one incident: three rescued, a photo seized, handed over, received.
fn a_store_with_evidence(dir: &std::path::Path) {
    let store = Store::open(dir).unwrap();
    let reference = Reference::default_demo();
    let bo = Who {
        user: "bo".into(),
        role: Role::BoardingOfficer,
    };
    let inv = Who {
        user: "inv".into(),
        role: Role::Investigator,
    };
    let prot = Who {
        user: "prot".into(),
        role: Role::ProtectionOfficer,
    };
    let sha = store
        .put_evidence_file(b"photo of the engine plate")
        .unwrap();
    let actions = [
        (
            &bo,
            Action::Rescue {
                unit: "cp-302".into(),
                count: 3,
            },
        ),
        (
            &bo,
            serde_json::from_value(serde_json::json!({
                "type": "seize", "description": "engine plate photo", "found": "transom",
                "seal": "S-9", "place": "locker",
                "files": [{"name": "plate.jpg", "sha256": sha}],
                "legal_basis": "coastal State warrant 3/2026"}))
            .unwrap(),
        ),
        (
            &bo,
            Action::CustodyTransfer {
                exhibit: "INC-T/EX-0001".into(),
                to: "inv".into(),
                seal: "S-9".into(),
                place: "quay".into(),
            },
        ),
        (
            &inv,
            Action::CustodyReceive {
                exhibit: "INC-T/EX-0001".into(),
                seal: "S-9".into(),
            },
        ),
        (
            &prot,
            Action::Asylum {
                tag: "cp-302-0001".into(),
                summary: "fears return".into(),
                blocked_states: vec!["LY".into()],
            },
        ),
    ];
    for (i, (who, a)) in actions.into_iter().enumerate() {
        let mut e = entry(i as u64);
        e.position = Some(LogPosition {
            lat: 35.2,
            lon: 12.9,
            accuracy_nm: 0.1,
        });
        store
            .case_action("INC-T", who, &a, e, Timestamp::now(), &reference)
            .unwrap()
            .unwrap_or_else(|r| panic!("{r}"));
    }
}

fn verify_cli(dir: &std::path::Path) -> (bool, String) {
    verify_cli_with(dir, &[])
}

/// [`verify_cli`] with more arguments.
fn verify_cli_with(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tidewatch"))
        .arg("verify")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn tidewatch_verify_catches_any_change_to_a_stored_log_entry_evidence_file_restricted_record_or_manifest()
 {
    let tampering = [
        (
            "a log entry",
            "DROP TRIGGER interception_log_no_update;
             UPDATE interception_log SET json = replace(json, '\"count\":3', '\"count\":2') WHERE seq = 1",
            "entry 1",
        ),
        (
            "an evidence file",
            "DROP TRIGGER evidence_files_no_update; UPDATE evidence_files SET bytes = X'00'",
            "R48",
        ),
        (
            "a restricted record",
            "DROP TRIGGER restricted_records_no_update;
             UPDATE restricted_records SET json = replace(json, 'LY', 'TN')",
            "R40",
        ),
        (
            "a manifest's signer key",
            "UPDATE signing_keys SET secret = randomblob(32) WHERE user = 'bo'",
            "manifest",
        ),
    ];
    for (what, sql, expect) in tampering {
        let tmp = tempfile::tempdir().unwrap();
        a_store_with_evidence(tmp.path());
        let (ok, said) = verify_cli(tmp.path());
        assert!(ok && said.contains("console store intact"), "{said}");
        assert!(said.contains("1 exhibits with 3 manifests"), "{said}");
        let conn = rusqlite::Connection::open(tmp.path().join("console.db")).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        let (ok, said) = verify_cli(tmp.path());
        assert!(!ok, "changing {what} must be caught: {said}");
        assert!(
            said.contains("BROKEN") && said.contains(expect),
            "changing {what}: {said}"
        );
    }
}

/// Review (issue 24 session), R56: `verify --expect-head` was ignored for a console store,
/// so an interception log cut short (its newest entries deleted: every link left is
/// intact) passed even against a head noted earlier. The store now has one head over every
/// log's and the audit log's, printed last, and a noted one that differs is BROKEN.
#[test]
fn review_verify_catches_a_console_log_cut_short_against_the_head_noted() {
    let tmp = tempfile::tempdir().unwrap();
    a_store_with_evidence(tmp.path());
    let (ok, said) = verify_cli(tmp.path());
    assert!(ok, "{said}");
    let head = said
        .trim()
        .rsplit("head sha256 ")
        .next()
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(head.len(), 64, "{said}");
    let with_head =
        |dir: &std::path::Path, head: &str| verify_cli_with(dir, &["--expect-head", head]);
    let (ok, said) = with_head(tmp.path(), &head);
    assert!(ok, "{said}");
    let conn = rusqlite::Connection::open(tmp.path().join("console.db")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER interception_log_no_delete;
         DELETE FROM interception_log WHERE seq = (SELECT max(seq) FROM interception_log)",
    )
    .unwrap();
    drop(conn);
    // Every link left holds: only the head noted shows it.
    let (ok, said) = verify_cli(tmp.path());
    assert!(ok, "{said}");
    let (ok, said) = with_head(tmp.path(), &head);
    assert!(
        !ok,
        "a log cut short must be caught against the noted head: {said}"
    );
    assert!(
        said.contains("BROKEN at its head") && said.contains(&head),
        "{said}"
    );
}
