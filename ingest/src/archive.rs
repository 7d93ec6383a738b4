//! The raw archive: every line received, accepted or rejected, kept byte for byte in
//! hourly files whose SHA-256 hashes chain, so the original record can be proven
//! unaltered later.
//!
//! ```text
//!  raw-20261122T14.nmea                      raw-20261122T15.nmea
//!  #tidewatch-raw-archive v1 hour=… prev=…   #tidewatch-raw-archive v1 hour=… prev=sha256(raw-20261122T14.nmea)
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
//! Durability: [`Archive::sync`] flushes and fsyncs; whoever acknowledges a line (an
//! MQTT PUBACK, a TCP reader) does so after `sync`, so nothing acknowledged is lost to a
//! crash. A record torn by a crash (SIGKILL mid-write, never synced, so never
//! acknowledged) is cut off when the archive is opened again, and a `recovered` record
//! says how many bytes were cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use sha2::{Digest, Sha256};

/// File name prefix and suffix: `raw-YYYYMMDDTHH.nmea` (UTC hour).
const PREFIX: &str = "raw-";
const SUFFIX: &str = ".nmea";
const MAGIC: &str = "#tidewatch-raw-archive v1";

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

/// The hour a time falls in, as a file name.
fn file_name(t: Timestamp) -> String {
    format!("{PREFIX}{}{SUFFIX}", t.strftime("%Y%m%dT%H"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a whole file, as lower-case hex.
pub fn file_sha256(path: &Path) -> Result<String, ArchiveError> {
    let mut f = File::open(path).map_err(io_err(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io_err(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// The archive files in `dir`, oldest first.
pub fn files(dir: &Path) -> Result<Vec<PathBuf>, ArchiveError> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// The open, current hour's file.
struct Current {
    name: String,
    path: PathBuf,
    out: BufWriter<File>,
}

/// An append-only raw archive in one directory.
pub struct Archive {
    dir: PathBuf,
    current: Option<Current>,
    /// The hour (Unix hours) whose records were last checked against the current file.
    checked_hour: Option<i64>,
    /// Bytes cut from a torn tail when the archive was opened.
    recovered_bytes: u64,
}

impl Archive {
    /// Open (or create) the archive in `dir`, cutting off a record torn by a crash.
    pub fn open(dir: impl AsRef<Path>) -> Result<Archive, ArchiveError> {
        let dir = dir.as_ref().to_owned();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let mut archive = Archive {
            dir: dir.clone(),
            current: None,
            checked_hour: None,
            recovered_bytes: 0,
        };
        if let Some(last) = files(&dir)?.pop() {
            let good = valid_prefix_len(&last)?;
            let len = fs::metadata(&last).map_err(io_err(&last))?.len();
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&last)
                .map_err(io_err(&last))?;
            if good < len {
                file.set_len(good).map_err(io_err(&last))?;
                file.sync_all().map_err(io_err(&last))?;
                archive.recovered_bytes = len - good;
            }
            let mut file = file;
            file.seek(SeekFrom::End(0)).map_err(io_err(&last))?;
            let name = last
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned();
            archive.current = Some(Current {
                name,
                path: last,
                out: BufWriter::with_capacity(1 << 16, file),
            });
        }
        Ok(archive)
    }

    /// Bytes of a torn record cut off when the archive was opened (0 after a clean stop).
    pub fn recovered_bytes(&self) -> u64 {
        self.recovered_bytes
    }

    /// Append a record (buffered: call [`Archive::sync`] before acknowledging it).
    /// A record whose hour is later than the current file's starts the next file,
    /// chained to the current one; an earlier hour (a clock step back) stays in the
    /// current file, so files never go back in time.
    pub fn append(&mut self, rec: &Record<'_>) -> Result<(), ArchiveError> {
        if rec.source.is_empty()
            || rec.source.len() > 200
            || !rec.source.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(ArchiveError::BadSource(rec.source.to_owned()));
        }
        // Which file: decided once per hour of reception, not per record.
        let hour = rec.received_at.as_second().div_euclid(3600);
        if self.current.is_none() || self.checked_hour != Some(hour) {
            let name = file_name(rec.received_at);
            let roll = match &self.current {
                None => true,
                Some(c) => name > c.name,
            };
            if roll {
                self.start_file(&name, rec.received_at)?;
            }
            self.checked_hour = Some(hour);
        }
        let Current { path, out, .. } = self
            .current
            .as_mut()
            .expect("a current file after start_file");
        let written = match rec.verdict {
            Verdict::Accepted => write!(
                out,
                "{} {} ok {}\t",
                rec.received_at,
                rec.source,
                rec.line.len()
            ),
            Verdict::Rejected(reason) => write!(
                out,
                "{} {} rej:{reason} {}\t",
                rec.received_at,
                rec.source,
                rec.line.len()
            ),
        };
        written
            .and_then(|()| out.write_all(rec.line))
            .and_then(|()| out.write_all(b"\n"))
            .map_err(io_err(path))?;
        Ok(())
    }

    /// Flush and fsync: after this returns, every appended record survives a crash.
    pub fn sync(&mut self) -> Result<(), ArchiveError> {
        if let Some(c) = &mut self.current {
            c.out.flush().map_err(io_err(&c.path))?;
            c.out.get_ref().sync_data().map_err(io_err(&c.path))?;
        }
        Ok(())
    }

    /// Seal the current file (fsync) and start `name`, whose header names the sealed
    /// file's hash.
    fn start_file(&mut self, name: &str, t: Timestamp) -> Result<(), ArchiveError> {
        self.sync()?;
        let prev = match self.current.take() {
            Some(c) => Some(file_sha256(&c.path)?),
            None => match files(&self.dir)?.pop() {
                Some(p) => Some(file_sha256(&p)?),
                None => None,
            },
        };
        let path = self.dir.join(name);
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let header = format!(
            "{MAGIC} hour={} prev={}\n",
            t.strftime("%Y-%m-%dT%HZ"),
            prev.as_deref().unwrap_or("none")
        );
        out.write_all(header.as_bytes()).map_err(io_err(&path))?;
        out.flush().map_err(io_err(&path))?;
        out.get_ref().sync_all().map_err(io_err(&path))?;
        // The new file's name must survive a crash too.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        self.current = Some(Current {
            name: name.to_owned(),
            path,
            out,
        });
        Ok(())
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        let _ = self.sync();
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

/// Read the records of one file; `Err` at the first malformed one, with the byte
/// offset where the good part ends.
fn read_records(
    path: &Path,
    mut each: impl FnMut(StoredRecord),
) -> Result<Result<String, (u64, u64, String)>, ArchiveError> {
    let f = File::open(path).map_err(io_err(path))?;
    let mut r = BufReader::new(f);
    let mut header = String::new();
    let n = r.read_line(&mut header).map_err(io_err(path))?;
    if !header.starts_with(MAGIC) || !header.ends_with('\n') {
        return Ok(Err((0, 0, "not a tidewatch raw archive header".into())));
    }
    let mut offset = n as u64;
    let mut record = 0u64;
    loop {
        let mut head = Vec::new();
        let n = r.read_until(b'\t', &mut head).map_err(io_err(path))?;
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
        let mut line = vec![0u8; len + 1];
        if r.read_exact(&mut line).is_err() || line.pop() != Some(b'\n') {
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

/// Length of the valid part of a file (to cut a torn tail).
fn valid_prefix_len(path: &Path) -> Result<u64, ArchiveError> {
    match read_records(path, |_| {})? {
        Ok(_) => fs::metadata(path).map(|m| m.len()).map_err(io_err(path)),
        Err((offset, _, _)) => Ok(offset),
    }
}

/// Every record of one archive file.
pub fn read_file(path: &Path) -> Result<Vec<StoredRecord>, ArchiveError> {
    let mut v = Vec::new();
    let _ = read_records(path, |r| v.push(r))?;
    Ok(v)
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Files checked.
    pub files: usize,
    /// Records checked.
    pub records: u64,
    /// SHA-256 of the newest file (the head of the chain, to note elsewhere).
    pub head: Option<String>,
    /// The first break, if any.
    pub first_break: Option<Break>,
}

/// Check every file of the archive in `dir`: each header names the previous file's
/// SHA-256 (the first names none), and every record is well formed.
pub fn verify(dir: &Path) -> Result<VerifyReport, ArchiveError> {
    let files = files(dir)?;
    let mut report = VerifyReport {
        files: files.len(),
        records: 0,
        head: None,
        first_break: None,
    };
    let mut prev: Option<String> = None;
    for (i, path) in files.iter().enumerate() {
        let mut count = 0u64;
        let parsed = read_records(path, |_| count += 1)?;
        report.records += count;
        let header = match parsed {
            Ok(h) => h,
            Err((_, record, problem)) => {
                report.first_break = Some(Break {
                    file: path.clone(),
                    record,
                    problem,
                });
                return Ok(report);
            }
        };
        let stated = header
            .split(' ')
            .find_map(|f| f.strip_prefix("prev="))
            .unwrap_or("");
        let expected = prev.as_deref().unwrap_or("none");
        if stated != expected {
            let problem = match &prev {
                None => format!(
                    "the first file names a previous file ({stated}): files before it are missing"
                ),
                Some(_) => format!(
                    "names previous hash {stated}, but {} hashes to {expected}: it was altered, or a file between them is missing",
                    files[i - 1].display()
                ),
            };
            report.first_break = Some(Break {
                file: path.clone(),
                record: 0,
                problem,
            });
            return Ok(report);
        }
        prev = Some(file_sha256(path)?);
    }
    report.head = prev;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tw-archive-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
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

    #[test]
    fn hourly_files_chain_and_keep_any_bytes() {
        let dir = tmp("chain");
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
        let dir = tmp("break");
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
        let dir = tmp("torn");
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

    #[test]
    fn bad_sources_are_refused() {
        let dir = tmp("source");
        let mut a = Archive::open(&dir).unwrap();
        let mut r = rec("2026-11-22T14:00:00Z", b"x", Verdict::Accepted);
        r.source = "has space";
        assert!(matches!(a.append(&r), Err(ArchiveError::BadSource(_))));
    }
}
