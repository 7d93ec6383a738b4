//! The raw archive: every line received, accepted or rejected, kept byte for byte in
//! hourly files whose SHA-256 hashes chain, so the original record can be proven
//! unaltered later.
//!
//! ```text
//!  raw-20261122T14.nmea.gz                   raw-20261122T15.nmea
//!  #tidewatch-raw-archive v1 hour=… prev=…   #tidewatch-raw-archive v1 hour=… prev=sha256(content of raw-20261122T14)
//!  <received_at> <source> ok 47\t!AIVDM,…     …
//!  <received_at> <source> rej:checksum 47\t…
//! ```
//!
//! Each record is one line of text before a TAB (time of reception, source, verdict,
//! length in bytes), then exactly that many bytes of the line as received (any bytes:
//! invalid UTF-8 and 1 MB lines are kept as they came), then a newline. A file's header
//! names the previous file's SHA-256, so altering, removing or reordering any file
//! breaks the chain at the next one; [`verify`] names the first break.
//!
//! Closed hours are compressed in the background ([`maintain`], crash-safe: see
//! [`crate::hourly`]). The chain covers each file's *content*, its uncompressed bytes:
//! compressing a file changes nothing the chain says, and [`verify`] decompresses.
//!
//! Retention ([`maintain`] with a number of days) deletes the oldest files, after noting
//! each in `retention.log` (its name, SHA-256, the previous hash its header named, its
//! record count), so [`verify`] can check that the oldest kept file links to the last
//! file removed, and the removed files to each other.
//!
//! Durability: [`Archive::append`] only encodes a record in memory; [`Archive::sync`]
//! writes what is pending and fsyncs. Whoever acknowledges a line (an MQTT PUBACK, a TCP
//! reader) does so after `sync`, so nothing acknowledged is lost to a crash. A record torn
//! by a crash (SIGKILL mid-write, never synced, so never acknowledged) is cut off when the
//! archive is opened again, and [`Archive::recovered_bytes`] says how many bytes were cut.
//! When a write or an fsync fails (a full disk: [`ArchiveError::is_disk_full`]), the file
//! is cut back to what was synced and the pending records are kept: the next `sync`
//! writes them again whole, so a full disk loses nothing and a later `sync` resumes.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

use crate::hourly::{self, HourFile, RAW, hex};

const MAGIC: &str = "#tidewatch-raw-archive v1";

/// The file, in the archive's directory, naming every file retention removed.
pub const RETENTION_LOG: &str = "retention.log";
const RETENTION_MAGIC: &str = "#tidewatch-raw-retention v1";

/// Why the archive could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// A filesystem operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A source name that cannot be archived (empty, or with bytes outside `!`..=`~`).
    #[error("source {0:?} must be 1–200 printable ASCII characters without spaces")]
    BadSource(String),
}

impl ArchiveError {
    /// The file system is full (or the user's quota is): writing can resume when space
    /// returns, nothing pending was lost.
    pub fn is_disk_full(&self) -> bool {
        match self {
            ArchiveError::Io { source, .. } => matches!(
                source.kind(),
                io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
            ),
            ArchiveError::BadSource(_) => false,
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The verdict on an archived line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// Accepted (decoded, or kept as a fragment).
    Accepted,
    /// Rejected, with the reason code (`checksum`, `length`, ...).
    Rejected(&'a str),
}

/// One line as received.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// When it was received (ingest's clock).
    pub received_at: Timestamp,
    /// Where from: a receiver, a topic, a unit.
    pub source: &'a str,
    /// Accepted or rejected.
    pub verdict: Verdict<'a>,
    /// The bytes, exactly as received (without the line ending).
    pub line: &'a [u8],
}

/// SHA-256 of a file's content (decompressed when it is a `.gz`), as lower-case hex: what
/// the next file's header names.
pub fn file_sha256(path: &Path) -> Result<String, ArchiveError> {
    hourly::content_sha256(path).map_err(io_err(path))
}

/// The archive files in `dir`, oldest first: one per hour, the plain `raw-….nmea` while
/// it exists, else the compressed `raw-….nmea.gz` ([`read_file`] reads either).
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, ArchiveError> {
    Ok(hourly::list(dir, RAW)
        .map_err(io_err(dir))?
        .iter()
        .map(|f| f.path().to_owned())
        .collect())
}

/// The header of the file `name` (`raw-YYYYMMDDTHH.nmea`).
fn header(name: &str, prev: Option<&str>) -> String {
    let hour = RAW
        .start_of(name)
        .map(|t| t.strftime("%Y-%m-%dT%HZ").to_string())
        .unwrap_or_default();
    format!("{MAGIC} hour={hour} prev={}\n", prev.unwrap_or("none"))
}

/// The open, newest file.
struct Current {
    name: String,
    path: PathBuf,
    file: File,
    /// Bytes of the file written and fsync'd.
    synced_len: u64,
    /// SHA-256 of those bytes (so closing the file needs no second read of it).
    hasher: Sha256,
}

/// Records encoded, not yet written, for one file.
struct Segment {
    name: String,
    bytes: Vec<u8>,
}

/// An append-only raw archive in one directory.
pub struct Archive {
    dir: PathBuf,
    current: Option<Current>,
    /// With no current file but files in the directory (the newest one compressed): its
    /// name and content hash, for the next file.
    newest_closed: Option<(String, String)>,
    /// Encoded records waiting for [`Archive::sync`], oldest first.
    pending: VecDeque<Segment>,
    /// The file records of `checked_hour` go to.
    target: Option<String>,
    /// The hour (Unix hours) whose records were last checked against the files.
    checked_hour: Option<i64>,
    /// Bytes cut from a torn tail when the archive was opened.
    recovered_bytes: u64,
}

impl Archive {
    /// Open (or create) the archive in `dir`, cutting off a record torn by a crash.
    pub fn open(dir: impl AsRef<Path>) -> Result<Archive, ArchiveError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let list = hourly::list(&dir, RAW).map_err(io_err(&dir))?;
        let mut archive = Archive {
            dir: dir.clone(),
            current: None,
            newest_closed: None,
            pending: VecDeque::new(),
            target: None,
            checked_hour: None,
            recovered_bytes: 0,
        };
        let Some((newest, older)) = list.split_last() else {
            return Ok(archive);
        };
        let Some(last) = &newest.plain else {
            // Compressed by hand: it stays closed, the next record starts a new file.
            archive.newest_closed = Some((newest.name.clone(), file_sha256(newest.path())?));
            return Ok(archive);
        };
        let len = fs::metadata(last).map_err(io_err(last))?.len();
        let (good, whole_hash) = valid_prefix_len(last)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(last)
            .map_err(io_err(last))?;
        let (synced_len, hasher) = if good == 0 {
            // No whole header: a crash as the file was made, before anything was written
            // to it (its header is fsync'd before any record). Write the header again.
            let prev = match older.last() {
                Some(f) => Some(file_sha256(f.path())?),
                None => None,
            };
            let h = header(&newest.name, prev.as_deref());
            file.set_len(0)
                .and_then(|()| file.write_all_at(h.as_bytes(), 0))
                .and_then(|()| file.sync_all())
                .map_err(io_err(last))?;
            archive.recovered_bytes = len;
            (h.len() as u64, Sha256::new_with_prefix(h.as_bytes()))
        } else {
            if good < len {
                file.set_len(good)
                    .and_then(|()| file.sync_all())
                    .map_err(io_err(last))?;
                archive.recovered_bytes = len - good;
            }
            // Whole: hashed as it was checked; cut: hashed again up to the cut.
            let hasher = match whole_hash {
                Some(h) if good == len => h,
                _ => {
                    let mut h = Sha256::new();
                    io::copy(&mut (&file).take(good), &mut HashWriter(&mut h))
                        .map_err(io_err(last))?;
                    h
                }
            };
            (good, hasher)
        };
        archive.current = Some(Current {
            name: newest.name.clone(),
            path: last.clone(),
            file,
            synced_len,
            hasher,
        });
        Ok(archive)
    }

    /// Bytes of a torn record cut off when the archive was opened (0 after a clean stop).
    pub fn recovered_bytes(&self) -> u64 {
        self.recovered_bytes
    }

    /// Bytes appended and not yet written by [`Archive::sync`].
    pub fn pending_bytes(&self) -> usize {
        self.pending.iter().map(|s| s.bytes.len()).sum()
    }

    /// `source` as the archive can name it ([`Archive::check_source`]), the same name
    /// for the same source every time: anything not printable ASCII becomes `_`, an empty
    /// name `unnamed`, and a name longer than 200 characters its first 183 and `~` with 16
    /// hex digits of its SHA-256 (so that two long names stay two). A receiver names itself
    /// in its topic or tag block: no name it picks may stop ingest.
    pub fn source_name(source: String) -> String {
        if Self::check_source(&source).is_ok() {
            return source;
        }
        let printable: String = source
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .collect();
        if printable.is_empty() {
            return "unnamed".to_owned();
        }
        if printable.len() <= 200 {
            return printable;
        }
        let digest = hex(&Sha256::digest(source.as_bytes()));
        format!("{}~{}", &printable[..183], &digest[..16])
    }

    /// The error [`Archive::append`] gives for a record from `source`, if any: a source
    /// name must be 1–200 printable ASCII characters without spaces.
    pub fn check_source(source: &str) -> Result<(), ArchiveError> {
        if source.is_empty() || source.len() > 200 || !source.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ArchiveError::BadSource(source.to_owned()));
        }
        Ok(())
    }

    /// Append a record (in memory: call [`Archive::sync`] before acknowledging it).
    /// A record whose hour is later than the newest file's starts the next file,
    /// chained to it; an earlier hour (a clock step back) stays in the newest file, so
    /// files never go back in time.
    pub fn append(&mut self, rec: &Record<'_>) -> Result<(), ArchiveError> {
        Self::check_source(rec.source)?;
        // Which file: decided once per hour of reception, not per record.
        let hour = rec.received_at.as_second().div_euclid(3600);
        if self.target.is_none() || self.checked_hour != Some(hour) {
            let name = RAW.name_at(rec.received_at);
            let newest = self
                .pending
                .back()
                .map(|s| s.name.as_str())
                .or(self.current.as_ref().map(|c| c.name.as_str()));
            let target = match (newest, &self.newest_closed) {
                (Some(n), _) if name.as_str() <= n => n.to_owned(),
                (None, Some((closed, _))) if name <= *closed => {
                    let next = RAW
                        .start_of(closed)
                        .map(|t| t + SignedDuration::from_hours(1))
                        .unwrap_or(rec.received_at);
                    RAW.name_at(next)
                }
                _ => name,
            };
            self.target = Some(target);
            self.checked_hour = Some(hour);
        }
        let target = self.target.as_deref().unwrap_or_default();
        if self.pending.back().is_none_or(|s| s.name != target) {
            self.pending.push_back(Segment {
                name: target.to_owned(),
                bytes: Vec::new(),
            });
        }
        let Some(seg) = self.pending.back_mut() else {
            unreachable!("a segment was just pushed");
        };
        // `{received_at} {source} ok {len}\t` or `… rej:{reason} {len}\t`, written without
        // `core::fmt` (most of what appending a line cost): the time as its `Display`.
        let out = &mut seg.bytes;
        crate::model::json::push_timestamp(out, rec.received_at);
        out.push(b' ');
        out.extend_from_slice(rec.source.as_bytes());
        match rec.verdict {
            Verdict::Accepted => out.extend_from_slice(b" ok "),
            Verdict::Rejected(reason) => {
                out.extend_from_slice(b" rej:");
                out.extend_from_slice(reason.as_bytes());
                out.push(b' ');
            }
        }
        crate::ais::json::push_i64(out, rec.line.len() as i64);
        out.push(b'\t');
        out.extend_from_slice(rec.line);
        out.push(b'\n');
        Ok(())
    }

    /// Write what is pending and fsync: after this returns, every appended record
    /// survives a crash. On an error nothing is lost: the file is cut back to what was
    /// synced, and the next call writes the pending records again.
    pub fn sync(&mut self) -> Result<(), ArchiveError> {
        while let Some(seg) = self.pending.front() {
            if self.current.as_ref().is_none_or(|c| c.name != seg.name) {
                let name = seg.name.clone();
                self.start_file(&name)?;
            }
            let (Some(c), Some(seg)) = (self.current.as_mut(), self.pending.front()) else {
                unreachable!("a current file after start_file");
            };
            if let Err(e) = c
                .file
                .write_all_at(&seg.bytes, c.synced_len)
                .and_then(|()| c.file.sync_data())
            {
                // After a failed fsync the kernel may have dropped the written pages: rely
                // on nothing past what was synced, write it all again next time.
                let _ = c.file.set_len(c.synced_len);
                return Err(io_err(&c.path)(e));
            }
            c.hasher.update(&seg.bytes);
            c.synced_len += seg.bytes.len() as u64;
            self.pending.pop_front();
        }
        Ok(())
    }

    /// Start `name`, whose header names the newest file's hash (the current file is
    /// complete: everything for it was synced first). On failure nothing changes.
    fn start_file(&mut self, name: &str) -> Result<(), ArchiveError> {
        let prev = match (&self.current, &self.newest_closed) {
            (Some(c), _) => Some(hex(&c.hasher.clone().finalize())),
            (None, Some((_, h))) => Some(h.clone()),
            (None, None) => None,
        };
        let path = self.dir.join(name);
        let h = header(name, prev.as_deref());
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        // The header and the new file's name must survive a crash too.
        let written = file
            .write_all_at(h.as_bytes(), 0)
            .and_then(|()| file.sync_all())
            .and_then(|()| hourly::sync_dir(&self.dir));
        if let Err(e) = written {
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(io_err(&path)(e));
        }
        self.current = Some(Current {
            name: name.to_owned(),
            path,
            file,
            synced_len: h.len() as u64,
            hasher: Sha256::new_with_prefix(h.as_bytes()),
        });
        self.newest_closed = None;
        Ok(())
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        let _ = self.sync();
    }
}

/// Feeds what is written to it into a hash.
struct HashWriter<'a>(&'a mut Sha256);

impl Write for HashWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Hashes what is read through it.
struct HashReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// One parsed record of a file (owned), for readers and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Time of reception as written.
    pub received_at: String,
    /// Source.
    pub source: String,
    /// `ok` or `rej:<reason>`.
    pub verdict: String,
    /// The line's bytes.
    pub line: Vec<u8>,
}

/// What is wrong with a file, at which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// The file.
    pub file: PathBuf,
    /// 1-based record number (0: the header).
    pub record: u64,
    /// What is wrong.
    pub problem: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.record == 0 {
            write!(f, "{}: header: {}", self.file.display(), self.problem)
        } else {
            write!(
                f,
                "{}: record {}: {}",
                self.file.display(),
                self.record,
                self.problem
            )
        }
    }
}

/// A malformed part of a file: the byte offset where the good part ends, the record
/// number, what is wrong.
type Malformed = (u64, u64, String);

/// Read the records of one file's content; `Err` inside at the first malformed one.
fn read_records(
    r: &mut impl BufRead,
    mut each: impl FnMut(StoredRecord),
) -> io::Result<Result<String, Malformed>> {
    let mut header = String::new();
    let mut head_bytes = Vec::new();
    let n = r.read_until(b'\n', &mut head_bytes)?;
    if let Ok(h) = String::from_utf8(head_bytes) {
        header = h;
    }
    if !header.starts_with(MAGIC) || !header.ends_with('\n') {
        return Ok(Err((0, 0, "not a tidewatch raw archive header".into())));
    }
    let mut offset = n as u64;
    let mut record = 0u64;
    loop {
        let mut head = Vec::new();
        let n = r.read_until(b'\t', &mut head)?;
        if n == 0 {
            return Ok(Ok(header.trim_end().to_owned()));
        }
        record += 1;
        let bad = |what: &str| Ok(Err((offset, record, what.to_owned())));
        if head.last() != Some(&b'\t') {
            return bad("truncated record");
        }
        let Ok(text) = std::str::from_utf8(&head[..head.len() - 1]) else {
            return bad("record head is not text");
        };
        let parts: Vec<&str> = text.split(' ').collect();
        let [at, source, verdict, len] = parts[..] else {
            return bad("record head does not have 4 fields");
        };
        if at.parse::<Timestamp>().is_err() {
            return bad("bad time of reception");
        }
        if verdict != "ok" && !verdict.starts_with("rej:") {
            return bad("bad verdict");
        }
        let Ok(len) = len.parse::<usize>() else {
            return bad("bad length");
        };
        let mut line = Vec::with_capacity(len.min(1 << 24) + 1);
        let got = r.take(len as u64 + 1).read_to_end(&mut line)?;
        if got != len + 1 || line.pop() != Some(b'\n') {
            return bad("truncated record");
        }
        offset += (n + len + 1) as u64;
        each(StoredRecord {
            received_at: at.to_owned(),
            source: source.to_owned(),
            verdict: verdict.to_owned(),
            line,
        });
    }
}

/// Length of the valid part of a plain file (to cut a torn tail).
/// Length of the valid part of a plain file (to cut a torn tail), and the hash of the
/// whole file when all of it is valid (one read for both).
fn valid_prefix_len(path: &Path) -> Result<(u64, Option<Sha256>), ArchiveError> {
    let inner = File::open(path).map_err(io_err(path))?;
    let mut r = BufReader::with_capacity(
        1 << 16,
        HashReader {
            inner,
            hasher: Sha256::new(),
        },
    );
    match read_records(&mut r, |_| {}).map_err(io_err(path))? {
        Ok(_) => {
            let read = r.into_inner();
            let len = fs::metadata(path).map_err(io_err(path))?.len();
            Ok((len, Some(read.hasher)))
        }
        Err((offset, _, _)) => Ok((offset, None)),
    }
}

/// Every record of one archive file (plain or compressed), up to the first malformed one.
pub fn read_file(path: &Path) -> Result<Vec<StoredRecord>, ArchiveError> {
    let mut v = Vec::new();
    let r = hourly::open_content(path).map_err(io_err(path))?;
    let _ = read_records(&mut BufReader::with_capacity(1 << 16, r), |r| v.push(r))
        .map_err(io_err(path))?;
    Ok(v)
}

/// One pass over a file's content: its hash, header, records, first problem.
struct Scan {
    sha256: String,
    records: u64,
    /// The header's `prev=`, when the header is good.
    prev: Option<String>,
    /// The first malformed record (number, problem).
    problem: Option<(u64, String)>,
}

fn scan_file(path: &Path) -> Result<Scan, ArchiveError> {
    let inner = hourly::open_content(path).map_err(io_err(path))?;
    let mut r = BufReader::with_capacity(
        1 << 16,
        HashReader {
            inner,
            hasher: Sha256::new(),
        },
    );
    let mut records = 0u64;
    let parsed = read_records(&mut r, |_| records += 1).and_then(|p| {
        // Hash whatever is left too (after a malformed record).
        io::copy(&mut r, &mut io::sink())?;
        Ok(p)
    });
    let (prev, problem) = match parsed {
        Ok(Ok(header)) => (
            header
                .split(' ')
                .find_map(|f| f.strip_prefix("prev="))
                .map(str::to_owned),
            None,
        ),
        Ok(Err((_, record, problem))) => (None, Some((record, problem))),
        // A compressed file that does not decompress is a broken file, not a failed read.
        Err(e) if path.extension().is_some_and(|x| x == "gz") => (
            None,
            Some((records + 1, format!("does not decompress: {e}"))),
        ),
        Err(e) => return Err(io_err(path)(e)),
    };
    Ok(Scan {
        sha256: hex(&r.into_inner().hasher.finalize()),
        records,
        prev,
        problem,
    })
}

/// One file removed by retention, as `retention.log` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retired {
    /// When it was removed (RFC 3339).
    pub removed_at: String,
    /// Its plain name, `raw-YYYYMMDDTHH.nmea`.
    pub name: String,
    /// SHA-256 of its content.
    pub sha256: String,
    /// The previous hash its header named (`none` for the first file).
    pub prev: String,
    /// Records it held.
    pub records: u64,
}

/// The files retention removed, oldest first (a line torn by a crash, whose file was
/// therefore not removed, is left out); `Err` inside names a malformed line.
pub fn retired(dir: &Path) -> Result<Result<Vec<Retired>, (u64, String)>, ArchiveError> {
    let path = dir.join(RETENTION_LOG);
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Ok(Vec::new())),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let mut out = Vec::new();
    let whole = match text.iter().rposition(|&b| b == b'\n') {
        Some(i) => &text[..=i],
        None => &[][..],
    };
    for (i, line) in whole.split(|&b| b == b'\n').enumerate() {
        let n = i as u64 + 1;
        let Ok(line) = std::str::from_utf8(line) else {
            return Ok(Err((n, "not text".into())));
        };
        if line.is_empty() || (i == 0 && line == RETENTION_MAGIC) {
            continue;
        }
        let f: Vec<&str> = line.split(' ').collect();
        let field = |k: &str| f.iter().find_map(|x| x.strip_prefix(k)).map(str::to_owned);
        let (Some(name), Some(sha256), Some(prev), Some(records)) = (
            field("file="),
            field("sha256="),
            field("prev="),
            field("records=").and_then(|r| r.parse().ok()),
        ) else {
            return Ok(Err((n, format!("malformed line {line:?}"))));
        };
        out.push(Retired {
            removed_at: f[0].to_owned(),
            name,
            sha256,
            prev,
            records,
        });
    }
    Ok(Ok(out))
}

/// Note a file about to be removed in `retention.log` (appended, fsync'd).
fn log_retired(dir: &Path, r: &Retired) -> Result<(), ArchiveError> {
    let path = dir.join(RETENTION_LOG);
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    let mut text = Vec::new();
    f.read_to_end(&mut text).map_err(io_err(&path))?;
    // A line torn by a crash named a file that was not removed: drop it.
    let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let mut line = String::new();
    if whole == 0 {
        line.push_str(RETENTION_MAGIC);
        line.push('\n');
    }
    line.push_str(&format!(
        "{} file={} sha256={} prev={} records={}\n",
        r.removed_at, r.name, r.sha256, r.prev, r.records
    ));
    f.set_len(whole as u64)
        .and_then(|()| f.write_all_at(line.as_bytes(), whole as u64))
        .and_then(|()| f.sync_data())
        .map_err(io_err(&path))?;
    if whole == 0 {
        hourly::sync_dir(dir).map_err(io_err(dir))?;
    }
    Ok(())
}

/// Delete the files whose hour ended more than `retain_days` days before `now`, oldest
/// first (never the newest), each noted in `retention.log` before it goes. The names
/// removed.
pub fn apply_retention(
    dir: &Path,
    retain_days: u32,
    now: Timestamp,
    stop: &AtomicBool,
) -> Result<Vec<String>, ArchiveError> {
    let expired = hourly::expired(dir, RAW, now, retain_days).map_err(io_err(dir))?;
    if expired.is_empty() {
        return Ok(Vec::new());
    }
    let mut last_logged = match retired(dir)? {
        Ok(v) => v.last().map(|r| r.name.clone()),
        Err((line, problem)) => {
            return Err(io_err(&dir.join(RETENTION_LOG))(io::Error::other(format!(
                "line {line}: {problem}; retention stopped until it is repaired"
            ))));
        }
    };
    let mut removed = Vec::new();
    for f in expired {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        // Noted already when a crash came between the note and the removal.
        if last_logged.as_deref() != Some(f.name.as_str()) {
            let scan = scan_file(f.path())?;
            log_retired(
                dir,
                &Retired {
                    removed_at: now.to_string(),
                    name: f.name.clone(),
                    sha256: scan.sha256,
                    prev: scan.prev.unwrap_or_else(|| "unknown".into()),
                    records: scan.records,
                },
            )?;
            last_logged = Some(f.name.clone());
        }
        hourly::remove(dir, &f).map_err(io_err(f.path()))?;
        removed.push(f.name);
    }
    Ok(removed)
}

/// What [`maintain`] did.
pub use crate::hourly::Upkept;

/// The archive's upkeep: retention (when `retain_days` is given), then compression of
/// closed hours. Safe to run beside a writing [`Archive`] (it never touches the newest
/// hour) and to interrupt at any point.
pub fn maintain(
    dir: &Path,
    retain_days: Option<u32>,
    now: Timestamp,
    stop: &AtomicBool,
) -> Result<Upkept, ArchiveError> {
    let removed = match retain_days {
        Some(d) => apply_retention(dir, d, now, stop),
        None => Ok(Vec::new()),
    };
    // Compression goes on even when retention cannot (its error is returned after).
    let compression = hourly::compress_closed(dir, RAW, stop).map_err(io_err(dir))?;
    Ok(Upkept {
        removed: removed?,
        compression,
    })
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Files checked.
    pub files: usize,
    /// Of them, compressed.
    pub compressed: usize,
    /// Records checked.
    pub records: u64,
    /// Files removed by retention before the oldest kept one (named in `retention.log`).
    pub retired: usize,
    /// SHA-256 of the newest file's content (the head of the chain, to note elsewhere).
    pub head: Option<String>,
    /// The first break, if any.
    pub first_break: Option<Break>,
}

/// Check every file of the archive in `dir`, plain or compressed: each header names the
/// previous file's SHA-256 (the first names none, or the last file retention removed, as
/// `retention.log` says), every record is well formed, and a file present in both forms
/// (a compression under way) says the same in both.
pub fn verify(dir: &Path) -> Result<VerifyReport, ArchiveError> {
    let files = hourly::list(dir, RAW).map_err(io_err(dir))?;
    let mut report = VerifyReport {
        files: files.len(),
        compressed: files.iter().filter(|f| f.plain.is_none()).count(),
        records: 0,
        retired: 0,
        head: None,
        first_break: None,
    };
    let log_path = dir.join(RETENTION_LOG);
    let brk = |file: &Path, record: u64, problem: String| Break {
        file: file.to_owned(),
        record,
        problem,
    };
    let log = match retired(dir)? {
        Ok(v) => v,
        Err((line, problem)) => {
            report.first_break = Some(brk(&log_path, line, problem));
            return Ok(report);
        }
    };
    // The removed files chained too.
    for (i, r) in log.iter().enumerate() {
        let expected = if i == 0 { "none" } else { &log[i - 1].sha256 };
        if r.prev != expected {
            report.first_break = Some(brk(
                &log_path,
                i as u64 + 1,
                format!(
                    "{} named previous hash {}, but the file removed before it hashed to {expected}",
                    r.name, r.prev
                ),
            ));
            return Ok(report);
        }
    }
    let first_kept = files.first().map(|f| f.name.as_str());
    let removed: Vec<&Retired> = log
        .iter()
        .filter(|r| first_kept.is_none_or(|n| r.name.as_str() < n))
        .collect();
    report.retired = removed.len();
    let mut prev: Option<String> = removed.last().map(|r| r.sha256.clone());
    for (i, f) in files.iter().enumerate() {
        let mut path = f.path().to_owned();
        let scan = match scan_file(&path) {
            // Compressed (by a running ingest) since it was listed.
            Err(ArchiveError::Io { source, .. })
                if source.kind() == io::ErrorKind::NotFound && f.plain.is_some() =>
            {
                path = hourly::with_suffix(&path, hourly::GZ);
                scan_file(&path)?
            }
            r => r?,
        };
        let path = path.as_path();
        report.records += scan.records;
        if let Some((record, problem)) = scan.problem {
            report.first_break = Some(brk(path, record, problem));
            return Ok(report);
        }
        let stated = scan.prev.as_deref().unwrap_or("");
        let expected = prev.as_deref().unwrap_or("none");
        if stated != expected {
            let problem = match (&prev, i) {
                (None, _) => format!(
                    "the first file names a previous file ({stated}): files before it are missing"
                ),
                (Some(_), 0) => format!(
                    "names previous hash {stated}, but {RETENTION_LOG} says the last file removed, {}, hashed to {expected}: it was altered, or a file between them is missing",
                    removed.last().map_or("", |r| r.name.as_str())
                ),
                (Some(_), _) => format!(
                    "names previous hash {stated}, but {} hashes to {expected}: it was altered, or a file between them is missing",
                    files[i - 1].path().display()
                ),
            };
            report.first_break = Some(brk(path, 0, problem));
            return Ok(report);
        }
        if let Some(problem) = second_form_problem(f, &scan.sha256)? {
            report.first_break = Some(brk(f.compressed.as_deref().unwrap_or(path), 0, problem));
            return Ok(report);
        }
        // Noted for removal, but a crash came before it went: it must be what was noted.
        if let Some(r) = log.iter().find(|r| r.name == f.name)
            && r.sha256 != scan.sha256
        {
            report.first_break = Some(brk(
                path,
                0,
                format!(
                    "{RETENTION_LOG} noted it with hash {}, but it hashes to {}: it was altered",
                    r.sha256, scan.sha256
                ),
            ));
            return Ok(report);
        }
        prev = Some(scan.sha256);
    }
    report.head = if files.is_empty() { None } else { prev };
    Ok(report)
}

/// When an hour is there both plain and compressed: what is wrong with the compressed
/// copy, if anything.
fn second_form_problem(f: &HourFile, plain_sha256: &str) -> Result<Option<String>, ArchiveError> {
    let (Some(plain), Some(gz)) = (&f.plain, &f.compressed) else {
        return Ok(None);
    };
    Ok(match hourly::content_sha256(gz) {
        Ok(h) if h == plain_sha256 => None,
        Ok(h) => Some(format!(
            "its content hashes to {h}, but {} (the same hour, not compressed) hashes to {plain_sha256}: one of them was altered",
            plain.display()
        )),
        Err(e) => Some(format!("does not decompress: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_tmpfs::Tmpfs;

    /// A fresh directory, removed when the test ends, passed or not.
    fn tmp(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("tw-archive-{name}-"))
            .tempdir()
            .unwrap()
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn rec<'a>(t: &str, line: &'a [u8], verdict: Verdict<'a>) -> Record<'a> {
        Record {
            received_at: at(t),
            source: "rx-1",
            verdict,
            line,
        }
    }

    /// A record is `{received_at} {source} ok {len}\t{line}\n` (or `rej:{reason}`), the time
    /// as jiff's `Display` writes it: any time (with or without a fraction of a second), source,
    /// reason and length.
    #[test]
    fn records_are_written_as_formatting_writes_them() {
        let scratch = tmp("format");
        let dir = scratch.path().to_path_buf();
        let mut a = Archive::open(&dir).unwrap();
        let mut expected = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut received_at = at("1970-01-01T00:00:00Z");
        for i in 0..3000 {
            let r = next();
            // Mostly forward (files never go back), sometimes back, once in a while far.
            let step_s = match r % 10 {
                0 => -7200,
                1 => (r >> 8) as i64 % 4_000_000_000,
                _ => (r >> 8) as i64 % 5,
            };
            let nanos = match (r >> 40) % 4 {
                0 => 0,
                1 => ((r >> 20) % 1000) as i32 * 1_000_000,
                _ => ((r >> 20) % 1_000_000_000) as i32,
            };
            received_at = Timestamp::new(
                (received_at.as_second() + step_s).clamp(0, 4_102_444_800),
                nanos,
            )
            .unwrap();
            let source = ["ais:rx-1", "patrol:p1", "ais:a.b-c_9"][i % 3];
            let line = vec![b'x'; (r >> 50) as usize % 300];
            let verdict = if r % 7 == 0 {
                Verdict::Rejected(["not_nmea", "line_too_long"][i % 2])
            } else {
                Verdict::Accepted
            };
            a.append(&Record {
                received_at,
                source,
                verdict,
                line: &line,
            })
            .unwrap();
            let v = match verdict {
                Verdict::Accepted => "ok".to_owned(),
                Verdict::Rejected(reason) => format!("rej:{reason}"),
            };
            expected.extend_from_slice(
                format!("{received_at} {source} {v} {}\t", line.len()).as_bytes(),
            );
            expected.extend_from_slice(&line);
            expected.push(b'\n');
        }
        let written: Vec<u8> = a.pending.iter().flat_map(|s| s.bytes.clone()).collect();
        drop(a); // writes what is pending: then the directory goes
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&expected)
        );
    }

    #[test]
    fn hourly_files_chain_and_keep_any_bytes() {
        let scratch = tmp("chain");
        let dir = scratch.path().to_path_buf();
        let mut a = Archive::open(&dir).unwrap();
        let odd = [0xff, 0x00, b'\t', b'\n', b'x'];
        a.append(&rec(
            "2026-11-22T14:59:59Z",
            b"!AIVDM,1,1,,A,1,0*00",
            Verdict::Accepted,
        ))
        .unwrap();
        a.append(&rec(
            "2026-11-22T15:00:01Z",
            &odd,
            Verdict::Rejected("not_nmea"),
        ))
        .unwrap();
        a.append(&rec("2026-11-22T16:30:00Z", b"third", Verdict::Accepted))
            .unwrap();
        a.sync().unwrap();
        drop(a);
        let fs_ = files(&dir).unwrap();
        assert_eq!(fs_.len(), 3);
        let second = read_file(&fs_[1]).unwrap();
        assert_eq!(second[0].line, odd);
        assert_eq!(second[0].verdict, "rej:not_nmea");
        let r = verify(&dir).unwrap();
        assert_eq!((r.files, r.records, r.first_break), (3, 3, None));
        assert_eq!(r.head.unwrap(), file_sha256(&fs_[2]).unwrap());
    }

    #[test]
    fn verify_names_the_first_break() {
        let scratch = tmp("break");
        let dir = scratch.path().to_path_buf();
        let mut a = Archive::open(&dir).unwrap();
        for h in 10..14 {
            let t = format!("2026-11-22T{h}:00:00Z");
            a.append(&rec(&t, b"line", Verdict::Accepted)).unwrap();
        }
        drop(a);
        let fs_ = files(&dir).unwrap();
        // Alter one byte of the second file: the third file's header no longer matches.
        let mut bytes = fs::read(&fs_[1]).unwrap();
        let last = bytes.len() - 2;
        bytes[last] = b'X';
        fs::write(&fs_[1], &bytes).unwrap();
        let b = verify(&dir).unwrap().first_break.unwrap();
        assert_eq!(b.file, fs_[2]);
        assert_eq!(b.record, 0);
        assert!(b.problem.contains("altered"), "{b}");
        // Remove the first file: the (new) first file names a predecessor.
        fs::remove_file(&fs_[0]).unwrap();
        let b = verify(&dir).unwrap().first_break.unwrap();
        assert_eq!(b.file, fs_[1]);
        assert!(b.problem.contains("missing"), "{b}");
    }

    #[test]
    fn a_torn_tail_is_cut_on_open_and_appending_goes_on() {
        let scratch = tmp("torn");
        let dir = scratch.path().to_path_buf();
        let mut a = Archive::open(&dir).unwrap();
        a.append(&rec("2026-11-22T14:00:00Z", b"one", Verdict::Accepted))
            .unwrap();
        a.sync().unwrap();
        drop(a);
        let f = files(&dir).unwrap().pop().unwrap();
        let mut file = OpenOptions::new().append(true).open(&f).unwrap();
        file.write_all(b"2026-11-22T14:00:01Z rx-1 ok 100\tpartial")
            .unwrap();
        drop(file);
        let b = verify(&dir).unwrap().first_break.unwrap();
        assert_eq!((b.record, b.problem.as_str()), (2, "truncated record"));
        let mut a = Archive::open(&dir).unwrap();
        assert_eq!(a.recovered_bytes(), 40);
        a.append(&rec("2026-11-22T14:00:02Z", b"two", Verdict::Accepted))
            .unwrap();
        drop(a);
        let lines: Vec<Vec<u8>> = read_file(&f).unwrap().into_iter().map(|r| r.line).collect();
        assert_eq!(lines, [b"one".to_vec(), b"two".to_vec()]);
        assert_eq!(verify(&dir).unwrap().first_break, None);
    }

    /// An archive of `hours` hours of 2026-11-22 from 10:00, three records each.
    fn hours(dir: &Path, hours: u32) {
        let mut a = Archive::open(dir).unwrap();
        for h in 10..10 + hours {
            for m in 0..3 {
                let t = format!("2026-11-22T{h}:{m:02}:00Z");
                let line = format!("!AIVDM,1,1,,A,h{h}m{m},0*00");
                a.append(&rec(&t, line.as_bytes(), Verdict::Accepted))
                    .unwrap();
            }
        }
        a.sync().unwrap();
    }

    fn all_lines(dir: &Path) -> Vec<Vec<u8>> {
        files(dir)
            .unwrap()
            .iter()
            .flat_map(|f| read_file(f).unwrap())
            .map(|r| r.line)
            .collect()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn gunzip(path: &Path) -> Vec<u8> {
        let mut v = Vec::new();
        hourly::open_content(path)
            .unwrap()
            .read_to_end(&mut v)
            .unwrap();
        v
    }

    static NO_STOP: AtomicBool = AtomicBool::new(false);

    #[test]
    fn closed_hours_are_compressed_and_the_chain_still_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        hours(dir, 4);
        let before = verify(dir).unwrap();
        let lines = all_lines(dir);
        let plain_sizes: u64 = files(dir)
            .unwrap()
            .iter()
            .map(|f| fs::metadata(f).unwrap().len())
            .sum();
        let done = maintain(dir, None, Timestamp::now(), &NO_STOP).unwrap();
        assert_eq!(done.compression.compressed.len(), 3, "{done:?}");
        assert_eq!(
            names(dir),
            [
                "raw-20261122T10.nmea.gz",
                "raw-20261122T11.nmea.gz",
                "raw-20261122T12.nmea.gz",
                "raw-20261122T13.nmea",
            ]
        );
        // The chain says the same, the records read the same.
        let after = verify(dir).unwrap();
        assert_eq!(after.first_break, None, "{after:?}");
        assert_eq!((after.files, after.compressed, after.records), (4, 3, 12));
        assert_eq!(after.head, before.head);
        assert_eq!(all_lines(dir), lines);
        assert!(done.compression.plain_bytes > 0 && plain_sizes > 0);
        // Appending goes on in the newest hour, then a new one chained to it.
        let mut a = Archive::open(dir).unwrap();
        a.append(&rec("2026-11-22T13:30:00Z", b"late", Verdict::Accepted))
            .unwrap();
        a.append(&rec("2026-11-22T14:00:00Z", b"next", Verdict::Accepted))
            .unwrap();
        drop(a);
        maintain(dir, None, Timestamp::now(), &NO_STOP).unwrap();
        let r = verify(dir).unwrap();
        assert_eq!(
            (r.files, r.compressed, r.records, r.first_break),
            (5, 4, 14, None)
        );
        // Nothing to do twice.
        let again = maintain(dir, None, Timestamp::now(), &NO_STOP).unwrap();
        assert_eq!(again, Upkept::default());
    }

    #[test]
    fn a_byte_changed_inside_a_compressed_file_is_found() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        hours(dir, 4);
        maintain(dir, None, Timestamp::now(), &NO_STOP).unwrap();
        let f = files(dir).unwrap();
        // Its content altered and compressed again (a valid gzip file): the next file's
        // header no longer matches.
        let mut content = gunzip(&f[1]);
        let i = content.len() - 3;
        content[i] = b'X';
        let original = fs::read(&f[1]).unwrap();
        fs::write(&f[1], gzip(&content)).unwrap();
        let b = verify(dir).unwrap().first_break.unwrap();
        assert_eq!((b.file.as_path(), b.record), (f[2].as_path(), 0));
        assert!(b.problem.contains("altered"), "{b}");
        fs::write(&f[1], &original).unwrap();
        assert_eq!(verify(dir).unwrap().first_break, None);
        // A byte of the compressed stream changed: it no longer decompresses (its CRC).
        let mut bytes = original.clone();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x55;
        fs::write(&f[1], &bytes).unwrap();
        let b = verify(dir).unwrap().first_break.unwrap();
        assert_eq!(b.file, f[1]);
        assert!(b.problem.contains("decompress"), "{b}");
        fs::write(&f[1], &original).unwrap();
        // Both forms present (a compression under way) must say the same.
        let plain = dir.join("raw-20261122T11.nmea");
        fs::write(&plain, &content).unwrap();
        let b = verify(dir).unwrap().first_break.unwrap();
        assert_eq!(b.file, f[1]);
        assert!(b.problem.contains("one of them was altered"), "{b}");
        // ... and compression then keeps both, for a person to look at.
        let done = hourly::compress_closed(dir, RAW, &NO_STOP).unwrap();
        assert_eq!(done.differing, ["raw-20261122T11.nmea"]);
        assert!(plain.exists() && f[1].exists());
    }

    #[test]
    fn an_interrupted_compression_recovers_from_every_step() {
        use hourly::CrashAt;
        for crash in [
            CrashAt::TmpPartial,
            CrashAt::TmpSynced,
            CrashAt::Renamed,
            CrashAt::DirSynced,
        ] {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            hours(dir, 3);
            let head = verify(dir).unwrap().head;
            let lines = all_lines(dir);
            hourly::compress_closed_crashing(dir, RAW, crash).unwrap();
            let left = names(dir);
            match crash {
                CrashAt::TmpPartial | CrashAt::TmpSynced => {
                    assert!(
                        left.contains(&"raw-20261122T10.nmea.gz.tmp".into()),
                        "{left:?}"
                    )
                }
                CrashAt::Renamed | CrashAt::DirSynced => {
                    assert!(left.contains(&"raw-20261122T10.nmea.gz".into()), "{left:?}");
                    assert!(left.contains(&"raw-20261122T10.nmea".into()), "{left:?}");
                }
            }
            // Whatever the crash left verifies as it is, and reads the same.
            let r = verify(dir).unwrap();
            assert_eq!((r.first_break, &r.head), (None, &head), "{crash:?}");
            assert_eq!(all_lines(dir), lines, "{crash:?}");
            // The archive opens and the next pass finishes the job.
            drop(Archive::open(dir).unwrap());
            let done = hourly::compress_closed(dir, RAW, &NO_STOP).unwrap();
            assert_eq!(done.compressed.len(), 2, "{crash:?}: {done:?}");
            assert_eq!(
                names(dir),
                [
                    "raw-20261122T10.nmea.gz",
                    "raw-20261122T11.nmea.gz",
                    "raw-20261122T12.nmea"
                ],
                "{crash:?}"
            );
            let r = verify(dir).unwrap();
            assert_eq!(
                (r.first_break, r.head, r.records),
                (None, head, 9),
                "{crash:?}"
            );
            assert_eq!(all_lines(dir), lines, "{crash:?}");
        }
    }

    #[test]
    fn retention_removes_the_oldest_noting_each_and_the_rest_still_verifies() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        hours(dir, 5);
        maintain(dir, None, Timestamp::now(), &NO_STOP).unwrap();
        let head = verify(dir).unwrap().head;
        // Ten days on, keeping ten days: the hours that ended by 12:00 go (10 and 11).
        let now = at("2026-12-02T12:00:00Z");
        let done = maintain(dir, Some(10), now, &NO_STOP).unwrap();
        assert_eq!(
            done.removed,
            ["raw-20261122T10.nmea", "raw-20261122T11.nmea"]
        );
        let r = verify(dir).unwrap();
        assert_eq!(
            (r.files, r.retired, r.records, &r.first_break),
            (3, 2, 9, &None)
        );
        assert_eq!(r.head, head);
        let log = retired(dir).unwrap().unwrap();
        assert_eq!(log[0].prev, "none");
        assert_eq!(log[1].prev, log[0].sha256);
        assert_eq!(log[1].records, 3);
        // A crash after noting the next file but before removing it.
        let f12 = hourly::list(dir, RAW).unwrap().remove(0);
        let scan = scan_file(f12.path()).unwrap();
        log_retired(
            dir,
            &Retired {
                removed_at: now.to_string(),
                name: f12.name.clone(),
                sha256: scan.sha256,
                prev: scan.prev.unwrap(),
                records: scan.records,
            },
        )
        .unwrap();
        assert_eq!(verify(dir).unwrap().first_break, None);
        // A torn line at the end (the crash came while noting) is ignored too.
        let mut log_file = OpenOptions::new()
            .append(true)
            .open(dir.join(RETENTION_LOG))
            .unwrap();
        log_file
            .write_all(b"2026-12-02T13:00:00Z file=raw-2026")
            .unwrap();
        assert_eq!(verify(dir).unwrap().first_break, None);
        // The next pass removes it, noted once.
        let later = at("2026-12-02T13:00:00Z");
        let done = maintain(dir, Some(10), later, &NO_STOP).unwrap();
        assert_eq!(done.removed, ["raw-20261122T12.nmea"]);
        assert_eq!(retired(dir).unwrap().unwrap().len(), 3);
        let r = verify(dir).unwrap();
        assert_eq!(
            (r.files, r.retired, r.records, r.first_break),
            (2, 3, 6, None)
        );
        // The newest file stays, however old.
        let done = maintain(dir, Some(1), at("2030-01-01T00:00:00Z"), &NO_STOP).unwrap();
        assert_eq!(done.removed, ["raw-20261122T13.nmea"]);
        assert_eq!(files(dir).unwrap().len(), 1);
        assert_eq!(verify(dir).unwrap().first_break, None);
        // The log altered: the oldest kept file no longer links to what it names.
        let text = fs::read_to_string(dir.join(RETENTION_LOG)).unwrap();
        let last = retired(dir).unwrap().unwrap().pop().unwrap();
        fs::write(
            dir.join(RETENTION_LOG),
            text.replace(
                &format!("sha256={}", last.sha256),
                &format!("sha256={}", "0".repeat(64)),
            ),
        )
        .unwrap();
        let b = verify(dir).unwrap().first_break.unwrap();
        assert!(
            b.problem
                .contains("retention.log says the last file removed"),
            "{b}"
        );
        fs::write(dir.join(RETENTION_LOG), &text).unwrap();
        assert_eq!(verify(dir).unwrap().first_break, None);
    }

    #[test]
    fn a_file_torn_as_it_was_made_gets_its_header_again() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        hours(dir, 2);
        maintain(dir, None, Timestamp::now(), &NO_STOP).unwrap();
        // A crash right after the next hour's file was made, half its header written.
        fs::write(dir.join("raw-20261122T12.nmea"), b"#tidewatch-raw-arc").unwrap();
        let mut a = Archive::open(dir).unwrap();
        assert_eq!(a.recovered_bytes(), 18);
        a.append(&rec("2026-11-22T12:10:00Z", b"after", Verdict::Accepted))
            .unwrap();
        drop(a);
        let r = verify(dir).unwrap();
        assert_eq!((r.files, r.records, r.first_break), (3, 7, None));
    }

    #[test]
    fn a_newest_file_compressed_by_hand_stays_closed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        hours(dir, 2);
        let newest = dir.join("raw-20261122T11.nmea");
        fs::write(with_gz(&newest), gzip(&fs::read(&newest).unwrap())).unwrap();
        fs::remove_file(&newest).unwrap();
        let mut a = Archive::open(dir).unwrap();
        // Same hour: a new file (the next hour's name), chained to the compressed one.
        a.append(&rec(
            "2026-11-22T11:59:00Z",
            b"same hour",
            Verdict::Accepted,
        ))
        .unwrap();
        drop(a);
        assert!(dir.join("raw-20261122T12.nmea").exists());
        let r = verify(dir).unwrap();
        assert_eq!((r.files, r.records, r.first_break), (3, 7, None));
    }

    /// Fill the file system of `dir` with a file, leaving about `leave_bytes` free.
    fn ballast(dir: &Path, leave_bytes: u64) -> PathBuf {
        let path = dir.join("ballast");
        let free = hourly::free_bytes(dir).unwrap();
        let mut f = File::create(&path).unwrap();
        f.write_all(&vec![0u8; free.saturating_sub(leave_bytes) as usize])
            .unwrap();
        f.sync_all().unwrap();
        path
    }

    #[test]
    fn a_full_disk_loses_nothing_and_writing_resumes_when_space_returns() {
        let fs_ = Tmpfs::mount("512k");
        let dir = fs_.path().join("raw");
        let mut a = Archive::open(&dir).unwrap();
        a.append(&rec("2026-11-22T14:00:00Z", b"first", Verdict::Accepted))
            .unwrap();
        a.sync().unwrap();
        let ballast = ballast(fs_.path(), 16 * 1024);
        let mut lines: Vec<Vec<u8>> = vec![b"first".to_vec()];
        let mut synced = 1;
        // Append and sync in batches until the disk is full.
        let err = loop {
            for _ in 0..20 {
                let line = format!("!AIVDM,1,1,,A,{:0>60},0*00", lines.len()).into_bytes();
                a.append(&rec("2026-11-22T14:30:00Z", &line, Verdict::Accepted))
                    .unwrap();
                lines.push(line);
            }
            match a.sync() {
                Ok(()) => synced = lines.len(),
                Err(e) => break e,
            }
            assert!(lines.len() < 100_000, "the disk never filled");
        };
        assert!(err.is_disk_full(), "{err}");
        // What is on disk is exactly what was synced: no torn record, the chain verifies.
        assert_eq!(all_lines(&dir), lines[..synced]);
        assert_eq!(verify(&dir).unwrap().first_break, None);
        // Still full: more records wait, the next hour's file cannot be made either.
        for i in 0..5 {
            let line = format!("next hour {i}").into_bytes();
            a.append(&rec("2026-11-22T15:00:00Z", &line, Verdict::Accepted))
                .unwrap();
            lines.push(line);
        }
        let err = a.sync().unwrap_err();
        assert!(err.is_disk_full(), "{err}");
        assert_eq!(files(&dir).unwrap().len(), 1);
        assert_eq!(all_lines(&dir), lines[..synced]);
        // Space returns: everything is written, in order, once.
        fs::remove_file(ballast).unwrap();
        a.sync().unwrap();
        drop(a);
        assert_eq!(all_lines(&dir), lines);
        let r = verify(&dir).unwrap();
        assert_eq!((r.files, r.first_break), (2, None));
        assert_eq!(r.records as usize, lines.len());
    }

    fn with_gz(p: &Path) -> PathBuf {
        PathBuf::from(format!("{}.gz", p.display()))
    }

    #[test]
    fn bad_sources_are_refused() {
        let scratch = tmp("source");
        let dir = scratch.path().to_path_buf();
        let mut a = Archive::open(&dir).unwrap();
        let mut r = rec("2026-11-22T14:00:00Z", b"x", Verdict::Accepted);
        r.source = "has space";
        assert!(matches!(a.append(&r), Err(ArchiveError::BadSource(_))));
    }
}
