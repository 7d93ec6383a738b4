//! What fusion remembers across a restart: snapshots of the engine's state, and the
//! journal of what the engine took since the latest one.
//!
//! ```text
//!  DIR/state/snapshot-000000000007.bin   the state after everything in journals < 7
//!  DIR/state/journal-000000000007.log    then, in order: `o {clock ms} {observation}`
//!  DIR/state/journal-000000000008.log                    `t {clock ms}` (a tick)
//! ```
//!
//! Every observation the engine takes, and every tick, is a journal line, written and
//! fsync'd before the observation is acknowledged to the broker. At start the newest
//! readable snapshot is loaded and the journals from its number on are replayed: the
//! engine is then exactly where it stood when it stopped, killed or not, since the engine
//! is a pure function of what it took and the clock it took it at — both in the journal.
//! An observation the broker redelivers after a crash is known (its id is in the
//! replayed state) and not taken twice; one it never acknowledged and never journaled
//! is taken as new.
//!
//! A snapshot is written every [`crate::service::ServiceConfig::snapshot_every`] (and at
//! a clean stop) to a temporary file, fsync'd, renamed, and read back and decoded; only
//! then are the older snapshots and the journals before it deleted. Restart time is
//! bounded by the snapshot's size and one interval of journal, not by how long the
//! service has run.

use crate::engine::FusionEngine;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The snapshot file format's version.
const FILE_VERSION: u32 = 1;

/// What a snapshot file holds.
#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    version: u32,
    /// The journals numbered from `seq` on hold what the engine took after this state.
    seq: u64,
    /// The service's clock and its latest tick, ms.
    clock_ms: Option<i64>,
    last_tick_ms: Option<i64>,
    /// Bytes of the alert and tasking stores when the state was saved: what a replay
    /// produces again was stored after these.
    alerts_len: u64,
    taskings_len: u64,
    /// Observation ids remembered (oldest first), to drop redeliveries.
    seen: Vec<String>,
    /// [`FusionEngine::save_state`].
    engine: Vec<u8>,
}

/// Where the service stood: what is kept besides the engine's own state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Standing {
    /// The clock, ms.
    pub(crate) clock_ms: Option<i64>,
    /// The latest tick, ms.
    pub(crate) last_tick_ms: Option<i64>,
    /// Observation ids remembered, oldest first.
    pub(crate) seen: Vec<String>,
}

/// One journal entry, replayed.
#[derive(Debug)]
pub(crate) enum Entry {
    /// An observation taken at this clock: its JSON.
    Observation(i64, Vec<u8>),
    /// A tick at this clock.
    Tick(i64),
}

/// What a start found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// The snapshot loaded (its number), if any.
    pub(crate) snapshot: Option<u64>,
    /// Where the service stood at that snapshot.
    pub(crate) standing: Standing,
    /// Alert and tasking store sizes at that snapshot.
    pub(crate) alerts_len: u64,
    pub(crate) taskings_len: u64,
    /// The journal entries to replay, in order.
    pub(crate) entries: Vec<Entry>,
    /// Journal lines that could not be read (torn by a crash at the end of the newest
    /// journal, or damaged).
    pub(crate) unreadable: u64,
    /// Snapshots that could not be read (a newer one damaged): the older was used.
    pub(crate) bad_snapshots: Vec<String>,
}

/// The journal being written and the snapshots.
pub(crate) struct Memory {
    dir: PathBuf,
    seq: u64,
    journal: File,
    buf: Vec<u8>,
    every: Duration,
    last: Instant,
    writing: Option<std::thread::JoinHandle<io::Result<u64>>>,
    /// Snapshots written, and the size of the latest, bytes.
    pub(crate) snapshots: u64,
    pub(crate) snapshot_bytes: u64,
}

fn file_name(kind: &str, seq: u64, ext: &str) -> String {
    format!("{kind}-{seq:012}.{ext}")
}

/// The numbers of the files `{kind}-N.{ext}` in `dir`, ascending.
fn numbers(dir: &Path, kind: &str, ext: &str) -> io::Result<Vec<u64>> {
    let mut v: Vec<u64> = Vec::new();
    for e in fs::read_dir(dir)? {
        let name = e?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(n) = name
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix('-'))
            .and_then(|r| r.strip_suffix(ext))
            .and_then(|r| r.strip_suffix('.'))
            .and_then(|r| r.parse().ok())
        {
            v.push(n);
        }
    }
    v.sort_unstable();
    Ok(v)
}

/// Read the newest readable snapshot into `engine`, and the journal entries after it.
pub(crate) fn find(dir: &Path, engine: &mut FusionEngine) -> io::Result<Found> {
    fs::create_dir_all(dir)?;
    let mut found = Found::default();
    let journals = numbers(dir, "journal", "log")?;
    let mut from = journals.first().copied().unwrap_or(0);
    for seq in numbers(dir, "snapshot", "bin")?.into_iter().rev() {
        let path = dir.join(file_name("snapshot", seq, "bin"));
        let read = fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|b| postcard::from_bytes::<SnapshotFile>(&b).map_err(|e| e.to_string()))
            .and_then(|s| {
                if s.version != FILE_VERSION {
                    return Err(format!("version {}", s.version));
                }
                engine.load_state(&s.engine).map_err(|e| e.to_string())?;
                Ok(s)
            });
        match read {
            Ok(s) => {
                found.snapshot = Some(seq);
                found.standing = Standing {
                    clock_ms: s.clock_ms,
                    last_tick_ms: s.last_tick_ms,
                    seen: s.seen,
                };
                found.alerts_len = s.alerts_len;
                found.taskings_len = s.taskings_len;
                from = s.seq;
                break;
            }
            Err(e) => found.bad_snapshots.push(format!("{}: {e}", path.display())),
        }
    }
    if found.snapshot.is_none() && from > 0 {
        // No snapshot, and the journals do not go back to the start: what they hold
        // cannot be replayed onto an empty engine.
        return Err(io::Error::other(format!(
            "{}: no readable snapshot ({}) and the journals begin at {from}",
            dir.display(),
            found.bad_snapshots.join("; ")
        )));
    }
    for seq in journals.into_iter().filter(|s| *s >= from) {
        let mut r = BufReader::new(File::open(dir.join(file_name("journal", seq, "log")))?);
        let mut line = Vec::new();
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            match parse(&line) {
                Some(e) => found.entries.push(e),
                None => found.unreadable += 1,
            }
        }
    }
    Ok(found)
}

/// One journal line (with its newline: a line without one was torn by a crash).
fn parse(line: &[u8]) -> Option<Entry> {
    let line = line.strip_suffix(b"\n")?;
    let (kind, rest) = (line.first()?, line.get(2..)?);
    let (clock, payload) = match rest.iter().position(|b| *b == b' ') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let clock: i64 = std::str::from_utf8(clock).ok()?.parse().ok()?;
    match (kind, payload) {
        (b'o', Some(p)) => Some(Entry::Observation(clock, p.to_vec())),
        (b't', None) => Some(Entry::Tick(clock)),
        _ => None,
    }
}

impl Memory {
    /// Start a new journal in `dir` after those `found` read, snapshots every `every`.
    pub(crate) fn start(dir: &Path, found: &Found, every: Duration) -> io::Result<Memory> {
        let seq = numbers(dir, "journal", "log")?
            .last()
            .map_or(0, |n| n + 1)
            .max(found.snapshot.unwrap_or(0));
        let journal = open_journal(dir, seq)?;
        Ok(Memory {
            dir: dir.to_path_buf(),
            seq,
            journal,
            buf: Vec::new(),
            every,
            last: Instant::now(),
            writing: None,
            snapshots: 0,
            snapshot_bytes: 0,
        })
    }

    /// Journal an observation taken at `clock_ms` (written at the next [`Memory::sync`]).
    pub(crate) fn observation(&mut self, clock_ms: i64, json: &[u8]) {
        self.buf
            .extend_from_slice(format!("o {clock_ms} ").as_bytes());
        if json.contains(&b'\n') {
            // JSON may hold raw newlines as white space; a journal line may not.
            self.buf
                .extend(json.iter().map(|b| if *b == b'\n' { b' ' } else { *b }));
        } else {
            self.buf.extend_from_slice(json);
        }
        self.buf.push(b'\n');
    }

    /// Journal a tick at `clock_ms`.
    pub(crate) fn tick(&mut self, clock_ms: i64) {
        self.buf
            .extend_from_slice(format!("t {clock_ms}\n").as_bytes());
    }

    /// Write what was journaled and fsync it: after this, an acknowledgement may go. All
    /// or nothing: on an error (a full disk) the journal is cut back to what it held and
    /// the lines are kept for the next try.
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let before = self.journal.metadata()?.len();
        let res = self
            .journal
            .write_all(&self.buf)
            .and_then(|_| self.journal.sync_data());
        if let Err(e) = res {
            let _ = self.journal.set_len(before);
            return Err(e);
        }
        self.buf.clear();
        Ok(())
    }

    /// The journal being written.
    pub(crate) fn journal_path(&self) -> PathBuf {
        self.dir.join(file_name("journal", self.seq, "log"))
    }

    /// A snapshot is due (and none is being written).
    pub(crate) fn due(&mut self) -> bool {
        if let Some(w) = &self.writing {
            if !w.is_finished() {
                return false;
            }
            self.reap();
        }
        self.last.elapsed() >= self.every
    }

    fn reap(&mut self) {
        if let Some(w) = self.writing.take() {
            match w.join() {
                Ok(Ok(bytes)) => {
                    self.snapshots += 1;
                    self.snapshot_bytes = bytes;
                }
                Ok(Err(e)) => tracing::error!(
                    error = %e,
                    "fusion: a snapshot could not be written; a restart replays a longer journal"
                ),
                Err(_) => tracing::error!("fusion: the snapshot writer panicked"),
            }
        }
    }

    /// Save the state: a new journal starts, and the snapshot of everything before it
    /// is written (in a thread, unless `wait`). Call it with the journal synced.
    pub(crate) fn snapshot(
        &mut self,
        engine: &FusionEngine,
        standing: Standing,
        alerts_len: u64,
        taskings_len: u64,
        wait: bool,
    ) -> io::Result<()> {
        self.reap();
        debug_assert!(self.buf.is_empty(), "snapshot with journal lines unwritten");
        self.last = Instant::now();
        let seq = self.seq + 1;
        self.journal = open_journal(&self.dir, seq)?;
        self.seq = seq;
        let file = SnapshotFile {
            version: FILE_VERSION,
            seq,
            clock_ms: standing.clock_ms,
            last_tick_ms: standing.last_tick_ms,
            alerts_len,
            taskings_len,
            seen: standing.seen,
            engine: engine.save_state(),
        };
        let bytes = postcard::to_stdvec(&file).expect("snapshots serialize");
        let dir = self.dir.clone();
        let write = move || write_snapshot(&dir, seq, &bytes);
        if wait {
            let bytes = write()?;
            self.snapshots += 1;
            self.snapshot_bytes = bytes;
        } else {
            self.writing = Some(std::thread::spawn(write));
        }
        Ok(())
    }

    /// Wait for a snapshot being written.
    pub(crate) fn finish(&mut self) {
        self.reap();
    }
}

fn open_journal(dir: &Path, seq: u64) -> io::Result<File> {
    let f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(file_name("journal", seq, "log")))?;
    File::open(dir)?.sync_all()?;
    Ok(f)
}

/// Write snapshot `seq` atomically and read it back; then delete the older snapshots and
/// the journals before it. A snapshot that does not read back is deleted, and the older
/// ones and their journals kept.
fn write_snapshot(dir: &Path, seq: u64, bytes: &[u8]) -> io::Result<u64> {
    let path = dir.join(file_name("snapshot", seq, "bin"));
    let tmp = path.with_extension("bin.tmp");
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    fs::rename(&tmp, &path)?;
    File::open(dir)?.sync_all()?;
    let back = fs::read(&path)?;
    let readable = postcard::from_bytes::<SnapshotFile>(&back)
        .map_err(|e| e.to_string())
        .and_then(|s| crate::snapshot::decode(&s.engine).map_err(|e| e.to_string()));
    if let Err(e) = readable {
        let _ = fs::remove_file(&path);
        return Err(io::Error::other(format!(
            "{}: does not read back: {e}",
            path.display()
        )));
    }
    let keep_from = seq;
    for n in numbers(dir, "snapshot", "bin")? {
        if n < keep_from {
            fs::remove_file(dir.join(file_name("snapshot", n, "bin")))?;
        }
    }
    for n in numbers(dir, "journal", "log")? {
        if n < keep_from {
            fs::remove_file(dir.join(file_name("journal", n, "log")))?;
        }
    }
    Ok(bytes.len() as u64)
}
