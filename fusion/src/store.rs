//! Fusion's stores: every alert revision and tasking, one JSON line each, fsync'd before
//! it is published, and the messages it refused.
//!
//! ```text
//!  DIR/alerts.jsonl                 being written (and taskings.jsonl, rejects.jsonl)
//!  DIR/alerts-20261203T00.jsonl     a closed day, waiting for the next to close
//!  DIR/alerts-20261202T00.jsonl.gz  closed days, compressed; deleted after --retain-alerts
//! ```
//!
//! At the first snapshot after midnight UTC the day's files are closed (renamed after
//! the day they were opened on) and new ones begun; closed days are compressed in the
//! background (crash-safe: [`ingest::hourly`]) and deleted when older than their
//! retention. A file is closed only right after a snapshot that says "everything in the
//! live files is newer than me", so a restart never confuses a closed file's lines with
//! the live one's.

use ingest::hourly::{self, Kind};
use jiff::Timestamp;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Closed days of the alert store: `alerts-YYYYMMDDT00.jsonl[.gz]`.
pub const ALERTS: Kind = Kind {
    prefix: "alerts-",
    suffix: ".jsonl",
};
/// Closed days of the tasking store.
pub const TASKINGS: Kind = Kind {
    prefix: "taskings-",
    suffix: ".jsonl",
};
/// Closed days of the refused messages.
pub const REJECTS: Kind = Kind {
    prefix: "rejects-",
    suffix: ".jsonl",
};

/// Days alert revisions and taskings are kept by default (as the raw archive: they are
/// what an investigation reviews).
pub const DEFAULT_RETAIN_ALERTS_DAYS: u32 = 3650;
/// Days refused messages are kept by default.
pub const DEFAULT_RETAIN_REJECTS_DAYS: u32 = 365;

const FILES: [(&str, Kind); 3] = [
    ("alerts.jsonl", ALERTS),
    ("taskings.jsonl", TASKINGS),
    ("rejects.jsonl", REJECTS),
];

/// The stores of one directory.
pub(crate) struct Store {
    dir: PathBuf,
    alerts: File,
    taskings: File,
    rejects: File,
    /// Refused messages not yet written: kept by [`Store::sync_rejects`] before the batch
    /// that brought them is acknowledged.
    pending_rejects: Vec<u8>,
    /// The UTC day the live files were begun on (at start: today).
    day: jiff::civil::Date,
}

fn day_of(t: Timestamp) -> jiff::civil::Date {
    t.to_zoned(jiff::tz::TimeZone::UTC).date()
}

impl Store {
    pub(crate) fn open(dir: &Path) -> io::Result<Store> {
        std::fs::create_dir_all(dir)?;
        let open = |name: &str| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(name))
        };
        Ok(Store {
            dir: dir.to_path_buf(),
            alerts: open(FILES[0].0)?,
            taskings: open(FILES[1].0)?,
            rejects: open(FILES[2].0)?,
            pending_rejects: Vec::new(),
            day: day_of(Timestamp::now()),
        })
    }

    /// Append records, one JSON line each, and fsync: `alerts.jsonl` or `taskings.jsonl`.
    /// All or nothing: on an error the file is cut back to its length before.
    pub(crate) fn append<T: serde::Serialize>(
        &mut self,
        taskings: bool,
        records: &[T],
    ) -> Result<(), (String, io::Error)> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r).expect("records serialize");
            buf.push(b'\n');
        }
        let (file, name) = if taskings {
            (&mut self.taskings, FILES[1].0)
        } else {
            (&mut self.alerts, FILES[0].0)
        };
        append_whole(file, &buf, true).map_err(|e| (self.dir.join(name).display().to_string(), e))
    }

    /// Bytes of the live alert and tasking files.
    pub(crate) fn lens(&self) -> (u64, u64) {
        let len = |f: &File| f.metadata().map_or(0, |m| m.len());
        (len(&self.alerts), len(&self.taskings))
    }

    /// Keep a refused message: held until [`Store::sync_rejects`] writes it, before the
    /// batch that brought it is acknowledged.
    pub(crate) fn reject(&mut self, topic: &str, reason: &str, error: &str, payload: &[u8]) {
        let rec = serde_json::json!({
            "time": Timestamp::now(), "topic": topic, "reason": reason, "error": error,
            "payload": String::from_utf8_lossy(payload),
        });
        serde_json::to_writer(&mut self.pending_rejects, &rec).expect("a record serializes");
        self.pending_rejects.push(b'\n');
    }

    /// Write and fsync the refused messages held, in one write: all or nothing (on an error
    /// the file is cut back to its length before and they stay held, to be tried again).
    pub(crate) fn sync_rejects(&mut self) -> Result<(), (String, io::Error)> {
        if self.pending_rejects.is_empty() {
            return Ok(());
        }
        append_whole(&mut self.rejects, &self.pending_rejects, true)
            .map_err(|e| (self.dir.join(FILES[2].0).display().to_string(), e))?;
        self.pending_rejects.clear();
        Ok(())
    }

    /// Pretend the live files were begun on `day` (tests).
    #[cfg(test)]
    pub(crate) fn set_day(&mut self, day: jiff::civil::Date) {
        self.day = day;
    }

    /// A new UTC day has begun since the live files were.
    pub(crate) fn day_over(&self, now: Timestamp) -> bool {
        day_of(now) > self.day
    }

    /// Close the live files (renamed after the day they were begun on) and begin new
    /// ones. Call it right after a snapshot that counts the live files from byte 0.
    pub(crate) fn close_day(&mut self, now: Timestamp) -> io::Result<()> {
        for (name, kind) in FILES {
            close_file(&self.dir, name, kind, self.day)?;
        }
        hourly::sync_dir(&self.dir)?;
        // Refusals not yet written go to the new day's file.
        let pending_rejects = std::mem::take(&mut self.pending_rejects);
        *self = Store {
            day: day_of(now),
            pending_rejects,
            ..Store::open(&self.dir)?
        };
        Ok(())
    }
}

/// Append `buf` to `file` (fsync'd when `sync`), all or nothing: a write that fails part-way
/// is cut back to the file's length before, so the next record is not glued onto a torn one.
fn append_whole(file: &mut File, buf: &[u8], sync: bool) -> io::Result<()> {
    let before = file.metadata().map(|m| m.len());
    let res = file
        .write_all(buf)
        .and_then(|()| if sync { file.sync_data() } else { Ok(()) });
    if res.is_err()
        && let Ok(len) = before
    {
        let _ = file.set_len(len);
    }
    res
}

/// Rename `dir/live` (begun on `day`) to its closed day's name, unless it is empty.
fn close_file(dir: &Path, live: &str, kind: Kind, day: jiff::civil::Date) -> io::Result<()> {
    let path = dir.join(live);
    if std::fs::metadata(&path).map_or(0, |m| m.len()) == 0 {
        return Ok(());
    }
    let start = day
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(io::Error::other)?
        .timestamp();
    // The day's name, or the next free hour of it (a clock set back).
    let closed = (0..24)
        .map(|h| dir.join(kind.name_at(start + jiff::SignedDuration::from_hours(h))))
        .find(|p| !p.exists() && !hourly::with_suffix(p, hourly::GZ).exists())
        .ok_or_else(|| io::Error::other(format!("{live}: no free name for its day")))?;
    std::fs::rename(&path, &closed)
}

/// A JSON-lines log that closes itself at the first line of each new UTC day
/// (`{kind}YYYYMMDDT00{suffix}`), for what nothing replays (refused messages); with
/// [`upkeep_daily`] closed days are compressed and expire.
pub struct DailyLog {
    dir: PathBuf,
    live: &'static str,
    kind: Kind,
    file: File,
    day: jiff::civil::Date,
    /// Lines written since the last [`DailyLog::sync`].
    unsynced: bool,
    /// The live file was created (or replaced a closed day) since the last sync: its name
    /// is not yet durable either.
    new_file: bool,
}

impl std::fmt::Debug for DailyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DailyLog")
            .field("path", &self.dir.join(self.live))
            .finish()
    }
}

impl DailyLog {
    /// Open (or create) `dir/live`, closed days named after `kind`.
    pub fn open(dir: &Path, live: &'static str, kind: Kind) -> io::Result<DailyLog> {
        std::fs::create_dir_all(dir)?;
        Ok(DailyLog {
            dir: dir.to_path_buf(),
            live,
            kind,
            file: OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join(live))?,
            day: day_of(Timestamp::now()),
            unsynced: false,
            new_file: true,
        })
    }

    /// Make every line written so far durable (and the live file's name, when new): one
    /// `fsync` for all the lines since the last, so a flood of lines is not slowed to a
    /// disk's pace line by line. Nothing to do when nothing was written.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.unsynced {
            self.file.sync_data()?;
            self.unsynced = false;
        }
        if self.new_file {
            hourly::sync_dir(&self.dir)?;
            self.new_file = false;
        }
        Ok(())
    }

    /// Append one line (a newline is added), closing the day first if a new one began.
    pub fn write_line(&mut self, line: &str) -> io::Result<()> {
        let now = Timestamp::now();
        if day_of(now) > self.day {
            // The day's last lines durable before it closes.
            self.sync()?;
            close_file(&self.dir, self.live, self.kind, self.day)?;
            hourly::sync_dir(&self.dir)?;
            *self = DailyLog::open(&self.dir, self.live, self.kind)?;
        }
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        self.unsynced = true;
        append_whole(&mut self.file, &buf, false)
    }
}

/// Compress the closed days of `kind` in `dir` and delete those that ended more than
/// `days` ago, now and every hour, until dropped.
pub fn upkeep_daily(dir: &Path, kind: Kind, days: u32) -> io::Result<hourly::Upkeep> {
    let dir = dir.to_path_buf();
    hourly::Upkeep::spawn("daily-upkeep", Duration::from_secs(3600), move |stop| {
        upkeep_pass(&dir, &[(kind, days)], Timestamp::now(), stop)
    })
}

/// Compress closed days and delete expired ones, now and every hour, until dropped.
pub(crate) fn upkeep(
    dir: &Path,
    retain_alerts_days: u32,
    retain_rejects_days: u32,
) -> io::Result<hourly::Upkeep> {
    let dir = dir.to_path_buf();
    hourly::Upkeep::spawn("fusion-upkeep", Duration::from_secs(3600), move |stop| {
        upkeep_pass(
            &dir,
            &[
                (ALERTS, retain_alerts_days),
                (TASKINGS, retain_alerts_days),
                (REJECTS, retain_rejects_days),
            ],
            Timestamp::now(),
            stop,
        )
    })
}

/// One pass of [`upkeep`] at `now`: for each kind, the days it keeps.
fn upkeep_pass(
    dir: &Path,
    kinds: &[(Kind, u32)],
    now: Timestamp,
    stop: &std::sync::atomic::AtomicBool,
) {
    for &(kind, days) in kinds {
        let pass = (|| -> io::Result<()> {
            // A closed file holds a whole day: it expires `days` after the day's end.
            let mut files = hourly::list(dir, kind)?;
            files.pop();
            let keep = jiff::SignedDuration::from_hours(24 * (i64::from(days) + 1));
            for f in files.iter().filter(|f| f.start() + keep <= now) {
                hourly::remove(dir, f)?;
                tracing::info!(file = %f.name, "fusion: retention removed a closed day");
            }
            hourly::compress_closed(dir, kind, stop)?;
            Ok(())
        })();
        if let Err(e) = pass {
            tracing::warn!(dir = %dir.display(), error = %e,
                "fusion: store upkeep failed; retried in an hour");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    /// Review 23: a refused message is kept before its batch is acknowledged — written and
    /// fsync'd whole by `sync_rejects` (which the commit before every acknowledgement calls,
    /// retrying while it fails), never a line lost or torn when the disk is full.
    #[test]
    fn a_refused_message_is_kept_whole_or_held_until_it_can_be() {
        let dir = tempfile::tempdir().unwrap();
        // A disk that is full: every write fails with ENOSPC.
        std::os::unix::fs::symlink("/dev/full", dir.path().join("rejects.jsonl")).unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        store.reject(
            "obs/ais/1",
            "bad_observation",
            "expected value",
            b"{not json",
        );
        let e = store.sync_rejects().unwrap_err();
        assert_eq!(e.1.raw_os_error(), Some(28), "{e:?}");
        // Still held, to be tried again (the batch is not acknowledged meanwhile).
        assert!(store.sync_rejects().is_err());
        assert!(!store.pending_rejects.is_empty());
        // On a disk with room: written whole, payload included, and no longer held.
        let dir = tempfile::tempdir().unwrap();
        let mut ok = Store::open(dir.path()).unwrap();
        ok.pending_rejects = std::mem::take(&mut store.pending_rejects);
        ok.reject("obs/ais/2", "topic_mismatch", "belongs elsewhere", b"{}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap(),
            "",
            "nothing written before the sync"
        );
        ok.sync_rejects().unwrap();
        let text = std::fs::read_to_string(dir.path().join("rejects.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["payload"], "{not json");
        assert_eq!(lines[1]["reason"], "topic_mismatch");
        assert!(ok.pending_rejects.is_empty());
    }

    #[test]
    fn a_daily_log_closes_its_day_at_the_first_line_of_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let kind = Kind {
            prefix: "x-",
            suffix: ".jsonl",
        };
        let mut log = DailyLog::open(dir.path(), "x.jsonl", kind).unwrap();
        log.write_line("one").unwrap();
        log.day = "2026-12-01".parse().unwrap();
        log.write_line("two").unwrap();
        let read = |n: &str| std::fs::read_to_string(dir.path().join(n)).unwrap();
        assert_eq!(read("x-20261201T00.jsonl"), "one\n");
        assert_eq!(read("x.jsonl"), "two\n");
    }

    #[test]
    fn a_day_closes_then_is_compressed_and_expires_and_its_lines_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let now: Timestamp = "2026-12-04T00:00:30Z".parse().unwrap();
        let mut store = Store::open(d).unwrap();
        // Three days of alerts: each closed when the next begins.
        for (i, day) in ["2025-10-01", "2026-12-02", "2026-12-03"]
            .iter()
            .enumerate()
        {
            store.day = day.parse().unwrap();
            store
                .append(false, &[serde_json::json!({"id": format!("a-{i}")})])
                .unwrap();
            store.reject("t", "bad_observation", "e", b"x");
            store.sync_rejects().unwrap();
            let next = store.day.tomorrow().unwrap();
            let at = next.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
            assert!(store.day_over(at), "{day}");
            store.close_day(at).unwrap();
        }
        assert_eq!(std::fs::metadata(d.join("alerts.jsonl")).unwrap().len(), 0);
        upkeep_pass(
            d,
            &[(ALERTS, 365), (TASKINGS, 365), (REJECTS, 1)],
            now,
            &std::sync::atomic::AtomicBool::new(false),
        );
        assert_eq!(
            names(d),
            [
                "alerts-20261202T00.jsonl.gz",
                "alerts-20261203T00.jsonl",
                "alerts.jsonl",
                "rejects-20261203T00.jsonl",
                "rejects.jsonl",
                "taskings.jsonl",
            ],
            "ended more than 365 days ago (alerts) or 1 day (rejects) removed; the newest closed day waits"
        );
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut hourly::open_content(&d.join("alerts-20261202T00.jsonl.gz")).unwrap(),
            &mut text,
        )
        .unwrap();
        assert_eq!(text, "{\"id\":\"a-1\"}\n");
    }
}
