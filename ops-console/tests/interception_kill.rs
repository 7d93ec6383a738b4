//! SIGKILL during interception log updates, then restart: the log verifies and nothing
//! acknowledged to a user is lost.
//!
//! The child is this test binary run again (`--exact child_appends_until_killed`): it
//! appends entries to the console's database as fast as it can and prints `acked N`
//! after each commit, which is when the console would answer the user. The parent kills
//! it with SIGKILL mid-stream, then opens the database as a restarted console would.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use jiff::Timestamp;
use ops_console::console::store::Store;
use ops_console::interception::log::{EventType, LogActor, NewEntry, TimeSource, verify};

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
    }
}

#[test]
#[ignore = "the child process of sigkill_during_log_updates_loses_nothing_acknowledged"]
fn child_appends_until_killed() {
    let dir = std::env::var(DIR_VAR).expect("run by the parent test");
    let store = Store::open(std::path::Path::new(&dir)).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0.. {
        let e = store
            .append_interception("INC-KILL", entry(i), Timestamp::now())
            .unwrap()
            .unwrap();
        writeln!(out, "acked {}", e.seq).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn sigkill_during_log_updates_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
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
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut acked = 0u64;
        // Let it get well into its stream, then SIGKILL.
        for l in lines.by_ref() {
            let l = l.unwrap();
            if let Some(n) = l.strip_prefix("acked ") {
                acked = n.parse().unwrap();
                if acked >= 150 * (round + 1) {
                    break;
                }
            }
        }
        child.kill().unwrap();
        // Whatever it printed before dying was acknowledged too.
        for l in lines.map_while(Result::ok) {
            if let Some(n) = l.strip_prefix("acked ") {
                acked = n.parse().unwrap();
            }
        }
        child.wait().unwrap();
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
    }
}
