//! The observation log: every observation ingest published, one JSON line each, in
//! hourly files of the hour it was written (UTC), closed hours compressed, expired ones
//! deleted ([`maintain`]).
//!
//! ```text
//!  observations/observations-20261122T13.jsonl.gz   closed, compressed
//!  observations/observations-20261122T14.jsonl      being written
//! ```
//!
//! A time window is a range of file names, so replays and the console read only the hours
//! they need (`tidewatch analyze DIR/observations` replays them all, oldest first). A line
//! torn by a crash at the end of the newest file is cut when the log is opened again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use jiff::{SignedDuration, Timestamp};

use crate::hourly::{self, OBSERVATIONS};
use crate::model::Observation;

/// Days observations are kept by default.
pub const DEFAULT_RETAIN_DAYS: u32 = 30;

/// The file being written.
struct Open {
    name: String,
    path: PathBuf,
    out: BufWriter<File>,
    /// Lines written since the last flush.
    unflushed: u64,
}

/// Appends observations to the hourly files of a directory.
pub struct ObservationLog {
    dir: PathBuf,
    current: Option<Open>,
    /// Before the first write: the newest file's name and whether it is compressed only.
    newest: Option<(String, bool)>,
    /// Lines that could not be written ([`ObservationLog::write_lossy`]).
    lost: u64,
    /// The last write failed (an episode logged once).
    failing: bool,
}

impl std::fmt::Debug for ObservationLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservationLog")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl ObservationLog {
    /// Open (or create) the log in `dir`, cutting a line torn by a crash off the newest
    /// file.
    pub fn open(dir: impl Into<PathBuf>) -> io::Result<ObservationLog> {
        let dir = dir.into();
        fs::create_dir_all(&dir)?;
        let newest = hourly::list(&dir, OBSERVATIONS)?.pop();
        if let Some(p) = newest.as_ref().and_then(|f| f.plain.as_ref()) {
            cut_torn_line(p)?;
        }
        Ok(ObservationLog {
            dir,
            current: None,
            newest: newest.map(|f| (f.name, f.plain.is_none())),
            lost: 0,
            failing: false,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Append one observation, written at `now` (buffered: [`ObservationLog::flush`]).
    pub fn write(&mut self, o: &Observation, now: Timestamp) -> io::Result<()> {
        let mut line = Vec::with_capacity(768);
        o.write_json(&mut line).map_err(io::Error::other)?;
        let line = String::from_utf8(line).map_err(io::Error::other)?;
        self.write_line(&line, now)
    }

    /// Append one line (without its newline), written at `now`. A later hour starts the
    /// next file, after the current one is flushed and fsync'd; an earlier one (a clock
    /// step back) stays in the current file, so files never go back in time.
    pub fn write_line(&mut self, line: &str, now: Timestamp) -> io::Result<()> {
        let name = OBSERVATIONS.name_at(now);
        let target =
            match (&self.current, &self.newest) {
                (Some(c), _) if name <= c.name => None,
                (Some(_), _) => Some(name),
                (None, Some((n, false))) if name <= *n => Some(n.clone()),
                (None, Some((n, true))) if name <= *n => Some(OBSERVATIONS.name_at(
                    OBSERVATIONS.start_of(n).unwrap_or(now) + SignedDuration::from_hours(1),
                )),
                (None, _) => Some(name),
            };
        if let Some(t) = target {
            self.start(t)?;
        }
        let Some(c) = self.current.as_mut() else {
            unreachable!("a file was started");
        };
        c.out.write_all(line.as_bytes())?;
        c.out.write_all(b"\n")?;
        c.unflushed += 1;
        Ok(())
    }

    /// Hand what is buffered to the OS.
    pub fn flush(&mut self) -> io::Result<()> {
        match &mut self.current {
            Some(c) => {
                c.out.flush()?;
                c.unflushed = 0;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// [`ObservationLog::write`], never failing: the log is a convenience beside the raw
    /// archive (which keeps every line, and from which observations can be made again), so
    /// a full disk must not stop whoever writes it. A failure is logged once per episode,
    /// the lines it takes are counted ([`ObservationLog::lost`]), the file is cut back to
    /// its last whole line, and the next write starts again.
    pub fn write_lossy(&mut self, o: &Observation, now: Timestamp) {
        if let Err(e) = self.write(o, now) {
            self.failed(&e, 1);
        }
    }

    /// [`ObservationLog::flush`], never failing (see [`ObservationLog::write_lossy`]).
    pub fn flush_lossy(&mut self) {
        match self.flush() {
            Ok(()) if self.failing && self.current.is_some() => {
                self.failing = false;
                tracing::warn!(dir = %self.dir.display(), lost = self.lost, "The observation log is writable again.");
            }
            Ok(()) => {}
            Err(e) => self.failed(&e, 0),
        }
    }

    /// Observation lines lost to write failures so far.
    pub fn lost(&self) -> u64 {
        self.lost
    }

    fn failed(&mut self, e: &io::Error, lines: u64) {
        let mut lost = lines;
        if let Some(c) = self.current.take() {
            lost += c.unflushed;
            // What was buffered goes (never written whole); a torn line is cut.
            let (file, _) = c.out.into_parts();
            drop(file);
            let _ = cut_torn_line(&c.path);
            self.newest = Some((c.name, false));
        }
        self.lost += lost;
        if !self.failing {
            self.failing = true;
            tracing::error!(
                dir = %self.dir.display(),
                error = %e,
                "The observation log cannot be written (a full disk?): observations are not logged until it can; the raw archive keeps every line."
            );
        }
    }

    fn start(&mut self, name: String) -> io::Result<()> {
        // Complete on disk before the next file exists: the next file's existence is what
        // lets the upkeep compress this one.
        if let Some(mut c) = self.current.take() {
            c.out.flush()?;
            c.out.get_ref().sync_data()?;
        }
        let path = self.dir.join(&name);
        let existed = path.exists();
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        if !existed {
            hourly::sync_dir(&self.dir)?;
        }
        self.current = Some(Open {
            name,
            path,
            out: BufWriter::with_capacity(1 << 16, file),
            unflushed: 0,
        });
        self.newest = None;
        Ok(())
    }
}

impl ObservationLog {
    /// Flush and fsync the file being written.
    pub fn sync(&mut self) -> io::Result<()> {
        self.flush()?;
        if let Some(c) = &self.current {
            c.out.get_ref().sync_data()?;
        }
        Ok(())
    }
}

/// Moves a single-file log written by earlier versions (`DATA/observations.jsonl`, one file
/// that grew for ever) into the hourly files of `dir`, each line by the hour ingest received
/// it (a line that does not say goes with the line before), and deletes it once the hourly
/// files are fsync'd: the console, replays and retention then find all history in one place.
/// Lines are moved byte for byte. Interrupted (a crash), it runs again at the next start and
/// moves the whole file again: observations already moved come twice, which readers take as
/// an update (same id). Returns the lines moved.
pub fn adopt_single_file(legacy: &Path, dir: &Path) -> io::Result<u64> {
    #[derive(serde::Deserialize)]
    struct Received {
        received_at: Timestamp,
    }
    let mut log = ObservationLog::open(dir)?;
    let mut lines = io::BufRead::lines(io::BufReader::with_capacity(1 << 16, File::open(legacy)?));
    let (mut moved, mut last) = (0u64, None);
    while let Some(line) = lines.next().transpose()? {
        if line.trim().is_empty() {
            continue;
        }
        let at = serde_json::from_str::<Received>(&line)
            .ok()
            .map(|r| r.received_at)
            .or(last)
            .unwrap_or_else(Timestamp::now);
        last = Some(at);
        log.write_line(&line, at)?;
        moved += 1;
    }
    log.sync()?;
    hourly::sync_dir(dir)?;
    fs::remove_file(legacy)?;
    if let Some(parent) = legacy.parent() {
        hourly::sync_dir(parent)?;
    }
    Ok(moved)
}

impl Drop for ObservationLog {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Cut a file after its last newline (a line torn by a crash).
fn cut_torn_line(path: &Path) -> io::Result<()> {
    let mut f = OpenOptions::new().read(true).write(true).open(path)?;
    let len = f.metadata()?.len();
    let mut end = len;
    let mut buf = vec![0u8; 1 << 16];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        f.set_len(end)?;
        f.sync_all()?;
    }
    Ok(())
}

/// The log's files in `dir`, oldest first (plain or compressed: [`hourly::open_content`]
/// reads either; `tidewatch analyze` and `decode` take them as they are).
pub fn files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    Ok(hourly::list(dir, OBSERVATIONS)?
        .iter()
        .map(|f| f.path().to_owned())
        .collect())
}

/// Everything in the log, oldest first, as one text of JSON lines.
pub fn read_to_string(dir: &Path) -> io::Result<String> {
    let mut out = String::new();
    for f in files(dir)? {
        hourly::open_content(&f)?.read_to_string(&mut out)?;
    }
    Ok(out)
}

/// What [`maintain`] did.
pub use crate::hourly::Upkept;

/// The log's upkeep: delete files whose hour ended more than `retain_days` days before
/// `now` (oldest first, never the newest), then compress closed hours.
pub fn maintain(
    dir: &Path,
    retain_days: Option<u32>,
    now: Timestamp,
    stop: &AtomicBool,
) -> io::Result<Upkept> {
    let mut removed = Vec::new();
    if let Some(days) = retain_days {
        for f in hourly::expired(dir, OBSERVATIONS, now, days)? {
            hourly::remove(dir, &f)?;
            removed.push(f.name);
        }
    }
    let compression = hourly::compress_closed(dir, OBSERVATIONS, stop)?;
    Ok(Upkept {
        removed,
        compression,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_file_log_of_earlier_versions_moves_into_hourly_files() {
        let data = tempfile::tempdir().unwrap();
        let legacy = data.path().join("observations.jsonl");
        let lines = [
            r#"{"id":"a","received_at":"2026-11-22T13:10:00Z"}"#,
            r#"{"id":"b","received_at":"2026-11-22T13:59:59Z"}"#,
            "not an observation, kept with the line before",
            r#"{"id":"c","received_at":"2026-11-22T14:00:00Z"}"#,
        ];
        fs::write(&legacy, lines.join("\n") + "\n\n").unwrap();
        let dir = data.path().join("observations");
        assert_eq!(adopt_single_file(&legacy, &dir).unwrap(), 4);
        assert!(!legacy.exists());
        assert_eq!(
            names(&dir),
            [
                "observations-20261122T13.jsonl",
                "observations-20261122T14.jsonl"
            ]
        );
        assert_eq!(
            fs::read_to_string(dir.join("observations-20261122T13.jsonl")).unwrap(),
            lines[..3].join("\n") + "\n"
        );
        assert_eq!(read_to_string(&dir).unwrap(), lines.join("\n") + "\n");
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn hourly_files_rotate_compress_expire_and_read_back_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("observations");
        let mut log = ObservationLog::open(&dir).unwrap();
        log.write_line(r#"{"n":1}"#, at("2026-11-22T13:59:59Z"))
            .unwrap();
        log.write_line(r#"{"n":2}"#, at("2026-11-22T14:00:00Z"))
            .unwrap();
        // A clock step back stays in the newest file.
        log.write_line(r#"{"n":3}"#, at("2026-11-22T13:30:00Z"))
            .unwrap();
        log.write_line(r#"{"n":4}"#, at("2026-11-23T09:00:00Z"))
            .unwrap();
        drop(log);
        assert_eq!(
            names(&dir),
            [
                "observations-20261122T13.jsonl",
                "observations-20261122T14.jsonl",
                "observations-20261123T09.jsonl"
            ]
        );
        let stop = AtomicBool::new(false);
        let done = maintain(&dir, Some(30), at("2026-11-23T09:30:00Z"), &stop).unwrap();
        assert_eq!(done.compression.compressed.len(), 2);
        assert!(done.removed.is_empty());
        assert_eq!(
            names(&dir),
            [
                "observations-20261122T13.jsonl.gz",
                "observations-20261122T14.jsonl.gz",
                "observations-20261123T09.jsonl"
            ]
        );
        let text = read_to_string(&dir).unwrap();
        assert_eq!(text, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n");
        // A day kept, a day and an hour later: the two of the 22nd go.
        let done = maintain(&dir, Some(1), at("2026-11-23T15:00:00Z"), &stop).unwrap();
        assert_eq!(done.removed.len(), 2);
        assert_eq!(names(&dir), ["observations-20261123T09.jsonl"]);
    }

    #[test]
    fn a_full_disk_costs_lines_not_the_log() {
        // A 256 KiB tmpfs (needs root; fails rather than skip), filled but for a few KiB.
        let mnt = crate::test_tmpfs::Tmpfs::mount("256k");
        let dir = mnt.path().join("observations");
        let mut log = ObservationLog::open(&dir).unwrap();
        let ballast = mnt.path().join("ballast");
        let free = hourly::free_bytes(mnt.path()).unwrap();
        fs::write(&ballast, vec![0u8; free.saturating_sub(8 * 1024) as usize]).unwrap();
        let t = at("2026-11-22T14:00:00Z");
        let line = format!("{{\"pad\":\"{}\"}}", "x".repeat(500));
        for _ in 0..100 {
            if let Err(e) = log.write_line(&line, t).and_then(|()| log.flush()) {
                log.failed(&e, 1);
            }
        }
        assert!(log.lost() > 0);
        assert!(log.failing);
        fs::remove_file(&ballast).unwrap();
        log.write_line(r#"{"after":1}"#, t).unwrap();
        log.flush_lossy();
        assert!(!log.failing);
        drop(log);
        // Whole lines only, the last one written after space returned.
        let text = read_to_string(&dir).unwrap();
        assert!(
            text.ends_with("{\"after\":1}\n"),
            "{}",
            &text[text.len().saturating_sub(80)..]
        );
        for l in text.lines() {
            assert!(serde_json::from_str::<serde_json::Value>(l).is_ok(), "{l}");
        }
    }

    #[test]
    fn a_line_torn_by_a_crash_is_cut_and_writing_goes_on_in_the_newest_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut log = ObservationLog::open(dir).unwrap();
        log.write_line(r#"{"n":1}"#, at("2026-11-22T14:00:00Z"))
            .unwrap();
        drop(log);
        let f = dir.join("observations-20261122T14.jsonl");
        let mut file = OpenOptions::new().append(true).open(&f).unwrap();
        file.write_all(br#"{"n":2,"torn"#).unwrap();
        drop(file);
        // Reopened an hour earlier (a clock step back): still the newest file.
        let mut log = ObservationLog::open(dir).unwrap();
        log.write_line(r#"{"n":3}"#, at("2026-11-22T13:00:00Z"))
            .unwrap();
        drop(log);
        assert_eq!(fs::read_to_string(&f).unwrap(), "{\"n\":1}\n{\"n\":3}\n");
        assert_eq!(names(dir), ["observations-20261122T14.jsonl"]);
    }
}
