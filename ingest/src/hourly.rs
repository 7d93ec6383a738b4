//! Stores kept as hourly files (the raw archive, the observation log): listing them by
//! hour, compressing closed ones, deleting expired ones, and measuring disk use.
//!
//! ```text
//!  raw-20261122T13.nmea.gz      closed, compressed
//!  raw-20261122T14.nmea.gz.tmp  compression in progress (deleted and redone after a crash)
//!  raw-20261122T14.nmea         closed, not yet compressed (kept until the .gz is complete)
//!  raw-20261122T15.nmea         the newest hour: the one being written, never compressed
//! ```
//!
//! Compression is crash-safe: the compressed copy is written to `NAME.gz.tmp`, fsync'd,
//! read back and compared (SHA-256 of the content) with the plain file, renamed to
//! `NAME.gz`, the directory fsync'd, and only then is the plain file removed. A crash at
//! any point leaves the plain file, the compressed one, or both complete; the next pass
//! deletes a leftover `.tmp` and finishes (or redoes) the job. Readers take either form:
//! [`open_content`] decompresses.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};

/// A kind of hourly file: `{prefix}YYYYMMDDTHH{suffix}`, with `.gz` when compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    /// Before the hour, e.g. `raw-`.
    pub prefix: &'static str,
    /// After the hour, e.g. `.nmea`.
    pub suffix: &'static str,
}

/// The raw archive's files: `raw-YYYYMMDDTHH.nmea[.gz]`.
pub const RAW: Kind = Kind {
    prefix: "raw-",
    suffix: ".nmea",
};

/// The observation log's files: `observations-YYYYMMDDTHH.jsonl[.gz]`.
pub const OBSERVATIONS: Kind = Kind {
    prefix: "observations-",
    suffix: ".jsonl",
};

/// Suffix of a compressed file.
pub const GZ: &str = ".gz";
/// Suffix of a compressed file being written.
const TMP: &str = ".gz.tmp";

impl Kind {
    /// The plain file name of the hour `t` falls in (UTC).
    pub fn name_at(&self, t: Timestamp) -> String {
        format!("{}{}{}", self.prefix, t.strftime("%Y%m%dT%H"), self.suffix)
    }

    /// When the hour of a plain or compressed file name of this kind starts.
    pub fn start_of(&self, name: &str) -> Option<Timestamp> {
        self.hour_of(name).and_then(hour_start)
    }

    /// The hour (`YYYYMMDDTHH`) of a plain or compressed file name of this kind.
    fn hour_of<'a>(&self, name: &'a str) -> Option<&'a str> {
        let rest = name.strip_prefix(self.prefix)?;
        let rest = rest.strip_suffix(GZ).unwrap_or(rest);
        let hour = rest.strip_suffix(self.suffix)?;
        hour_start(hour).map(|_| hour)
    }
}

/// The start of an hour written `YYYYMMDDTHH` (UTC).
fn hour_start(hour: &str) -> Option<Timestamp> {
    let b = hour.as_bytes();
    if b.len() != 11
        || b[8] != b'T'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 8 || c.is_ascii_digit())
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| hour[r].parse::<i16>().ok();
    let date = jiff::civil::Date::new(n(0..4)?, n(4..6)? as i8, n(6..8)? as i8).ok()?;
    let time = jiff::civil::Time::new(n(9..11)? as i8, 0, 0, 0).ok()?;
    date.to_datetime(time)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// One hour's file, plain, compressed, or (while being compressed) both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourFile {
    /// `YYYYMMDDTHH`.
    pub hour: String,
    /// The plain file name, e.g. `raw-20261122T14.nmea` (whether or not it exists).
    pub name: String,
    /// The plain file, if present.
    pub plain: Option<PathBuf>,
    /// The compressed file, if present.
    pub compressed: Option<PathBuf>,
}

impl HourFile {
    /// The file to read: the plain one while it exists (it is the original until its
    /// compressed copy is complete), else the compressed one.
    pub fn path(&self) -> &Path {
        self.plain
            .as_deref()
            .or(self.compressed.as_deref())
            .expect("an hour file has a plain or a compressed file")
    }

    /// When the hour starts.
    pub fn start(&self) -> Timestamp {
        hour_start(&self.hour).expect("a listed hour parses")
    }

    /// When the hour ends (its file receives nothing later, clock steps aside).
    pub fn end(&self) -> Timestamp {
        self.start() + SignedDuration::from_hours(1)
    }
}

/// The files of `kind` in `dir`, oldest hour first (leftover `.gz.tmp` files and anything
/// else are not listed). A missing directory has none.
pub fn list(dir: &Path, kind: Kind) -> io::Result<Vec<HourFile>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut by_hour: std::collections::BTreeMap<String, HourFile> = Default::default();
    for e in entries {
        let path = e?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(hour) = kind.hour_of(name) else {
            continue;
        };
        let f = by_hour.entry(hour.to_owned()).or_insert_with(|| HourFile {
            hour: hour.to_owned(),
            name: format!("{}{hour}{}", kind.prefix, kind.suffix),
            plain: None,
            compressed: None,
        });
        if name.ends_with(GZ) {
            f.compressed = Some(path);
        } else {
            f.plain = Some(path);
        }
    }
    Ok(by_hour.into_values().collect())
}

/// A file's content: decompressed when its name ends in `.gz`.
pub fn open_content(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    let f = File::open(path)?;
    Ok(if is_compressed(path) {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(1 << 16, f)))
    } else {
        Box::new(f)
    })
}

fn is_compressed(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(GZ))
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of a file's content (decompressed when it is a `.gz`), as lower-case hex.
pub fn content_sha256(path: &Path) -> io::Result<String> {
    sha256_of(open_content(path)?)
}

fn sha256_of(mut r: impl Read) -> io::Result<String> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

/// fsync a directory, so names created, renamed or removed in it survive a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Where a compression may be interrupted, to test that every state a crash can leave
/// is recovered (the job returns at that point as if the process had been killed).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashAt {
    /// Part of the `.gz.tmp` written, not fsync'd.
    TmpPartial,
    /// The `.gz.tmp` complete and fsync'd.
    TmpSynced,
    /// Renamed to `.gz`, the directory not yet fsync'd: both files present.
    Renamed,
    /// The directory fsync'd: both files present, the plain one not yet removed.
    DirSynced,
}

/// What an hourly store's upkeep did (the raw archive's and the observation log's
/// `maintain`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Upkept {
    /// Files removed by retention.
    pub removed: Vec<String>,
    /// What compression did.
    pub compression: CompressReport,
}

/// What a compression pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompressReport {
    /// Files compressed (their plain file removed).
    pub compressed: Vec<String>,
    /// Leftover `.gz.tmp` files deleted (a compression a crash interrupted).
    pub leftovers_removed: usize,
    /// Hours whose plain and compressed files differ: both kept, for a person to look at.
    pub differing: Vec<String>,
    /// Bytes of the plain files compressed.
    pub plain_bytes: u64,
    /// Bytes of the compressed files written.
    pub compressed_bytes: u64,
    /// The pass stopped early (`stop` was set).
    pub stopped: bool,
}

/// Chunk size for compression (and how often `stop` is looked at).
const CHUNK_BYTES: usize = 1 << 20;

/// Compress every closed file of `kind` in `dir` (all but the newest hour's), after
/// deleting leftover `.gz.tmp` files and finishing compressions a crash interrupted.
/// Checks `stop` between chunks and returns early when it is set.
pub fn compress_closed(dir: &Path, kind: Kind, stop: &AtomicBool) -> io::Result<CompressReport> {
    compress_closed_inner(dir, kind, stop, None)
}

/// [`compress_closed`], interrupted at `crash` in the first compression (tests only).
#[doc(hidden)]
pub fn compress_closed_crashing(
    dir: &Path,
    kind: Kind,
    crash: CrashAt,
) -> io::Result<CompressReport> {
    compress_closed_inner(dir, kind, &AtomicBool::new(false), Some(crash))
}

fn compress_closed_inner(
    dir: &Path,
    kind: Kind,
    stop: &AtomicBool,
    crash: Option<CrashAt>,
) -> io::Result<CompressReport> {
    let mut report = CompressReport::default();
    // Leftovers first: a .tmp is never complete until renamed, so it is always redone.
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            let leftover = p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_suffix(TMP)
                    .is_some_and(|plain| kind.hour_of(plain).is_some())
            });
            if leftover {
                fs::remove_file(&p)?;
                report.leftovers_removed += 1;
            }
        }
        if report.leftovers_removed > 0 {
            sync_dir(dir)?;
        }
    }
    let files = list(dir, kind)?;
    let Some((_newest, closed)) = files.split_last() else {
        return Ok(report);
    };
    for f in closed {
        let Some(plain) = &f.plain else {
            continue;
        };
        if stop.load(Ordering::Relaxed) {
            report.stopped = true;
            break;
        }
        match compress_file(dir, plain, stop, crash)? {
            Compressed::Done {
                plain_bytes,
                compressed_bytes,
            } => {
                report.compressed.push(f.name.clone());
                report.plain_bytes += plain_bytes;
                report.compressed_bytes += compressed_bytes;
            }
            Compressed::Differ => report.differing.push(f.name.clone()),
            Compressed::Stopped => {
                report.stopped = true;
                break;
            }
        }
        if crash.is_some() {
            break;
        }
    }
    Ok(report)
}

enum Compressed {
    Done {
        plain_bytes: u64,
        compressed_bytes: u64,
    },
    Differ,
    Stopped,
}

/// `path` with `suffix` added to its name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Compress one closed plain file (see the module's text for the steps).
fn compress_file(
    dir: &Path,
    plain: &Path,
    stop: &AtomicBool,
    crash: Option<CrashAt>,
) -> io::Result<Compressed> {
    let gz = with_suffix(plain, GZ);
    let tmp = with_suffix(plain, TMP);
    let plain_bytes = fs::metadata(plain)?.len();
    if gz.exists() {
        // A crash after the rename: the .gz is complete (fsync'd before it was renamed).
        // The plain file goes only if the two say the same.
        if content_sha256(&gz)? != content_sha256(plain)? {
            return Ok(Compressed::Differ);
        }
        fs::remove_file(plain)?;
        sync_dir(dir)?;
        return Ok(Compressed::Done {
            plain_bytes,
            compressed_bytes: fs::metadata(&gz)?.len(),
        });
    }
    let result = write_compressed(plain, &tmp, stop, crash);
    let plain_hash = match result {
        Ok(Some(h)) => h,
        // Stopped: the .tmp goes (a simulated crash leaves it, as a real one would).
        Ok(None) => {
            if crash.is_none() {
                let _ = fs::remove_file(&tmp);
            }
            return Ok(Compressed::Stopped);
        }
        Err(e) => {
            // A full disk, most likely: nothing is lost, the plain file stays.
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if crash == Some(CrashAt::TmpSynced) {
        return Ok(Compressed::Stopped);
    }
    // Read the copy back: it must hold exactly what the plain file holds.
    let copy = MultiGzDecoder::new(BufReader::with_capacity(1 << 16, File::open(&tmp)?));
    if sha256_of(copy)? != plain_hash {
        let _ = fs::remove_file(&tmp);
        return Err(io::Error::other(format!(
            "{}: the compressed copy does not read back as the original; kept the original",
            plain.display()
        )));
    }
    fs::rename(&tmp, &gz)?;
    if crash == Some(CrashAt::Renamed) {
        return Ok(Compressed::Stopped);
    }
    sync_dir(dir)?;
    if crash == Some(CrashAt::DirSynced) {
        return Ok(Compressed::Stopped);
    }
    fs::remove_file(plain)?;
    sync_dir(dir)?;
    Ok(Compressed::Done {
        plain_bytes,
        compressed_bytes: fs::metadata(&gz)?.len(),
    })
}

/// Write `plain` compressed to `tmp` and fsync it; the plain content's SHA-256, or `None`
/// when stopped (or crashed, in tests) before the end.
fn write_compressed(
    plain: &Path,
    tmp: &Path,
    stop: &AtomicBool,
    crash: Option<CrashAt>,
) -> io::Result<Option<String>> {
    let mut input = File::open(plain)?;
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)?;
    // The default level (6): measured on an hour of 10 000 sentences/s, the raw archive
    // shrinks 4.8× (level 1: 4.0×) at 37 MB/s, observation JSON 13.8× (level 1: 7.9×) at
    // 71 MB/s: a few minutes of one core per hour, for a sixth less disk than level 1 on
    // the archive and nearly half on observations.
    let mut enc = GzEncoder::new(
        BufWriter::with_capacity(1 << 16, out),
        Compression::default(),
    );
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK_BYTES];
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        enc.write_all(&buf[..n])?;
        if crash == Some(CrashAt::TmpPartial) {
            enc.get_mut().flush()?;
            return Ok(None);
        }
    }
    let out = enc.finish()?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(Some(hex(&h.finalize())))
}

/// The files of `kind` in `dir` whose hour ended more than `retain_days` days before
/// `now`, oldest first; never the newest hour's file (the one being written).
pub fn expired(
    dir: &Path,
    kind: Kind,
    now: Timestamp,
    retain_days: u32,
) -> io::Result<Vec<HourFile>> {
    let cutoff = now - SignedDuration::from_hours(24 * i64::from(retain_days));
    let mut files = list(dir, kind)?;
    files.pop();
    Ok(files
        .into_iter()
        .take_while(|f| f.end() <= cutoff)
        .collect())
}

/// Remove both forms of an hour's file, then fsync the directory.
pub fn remove(dir: &Path, f: &HourFile) -> io::Result<()> {
    for p in [&f.plain, &f.compressed].into_iter().flatten() {
        match fs::remove_file(p) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    sync_dir(dir)
}

/// Disk space used by everything under `path` (allocated blocks, so sparse and
/// compressed files count what they take); 0 when it does not exist.
pub fn disk_use_bytes(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    let own = meta.blocks() * 512;
    if !meta.is_dir() {
        return own;
    }
    let Ok(entries) = fs::read_dir(path) else {
        return own;
    };
    own + entries
        .flatten()
        .map(|e| disk_use_bytes(&e.path()))
        .sum::<u64>()
}

/// Bytes an unprivileged writer can still use on the file system holding `path`.
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let s = rustix::fs::statvfs(path)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// A background thread that runs a store's upkeep (compression, retention) at start and
/// then every `every`, until dropped.
pub struct Upkeep {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Upkeep {
    /// Run `pass` now and every `every` on a thread named `name`; `pass` is given the stop
    /// flag, to return early when it is set.
    pub fn spawn(
        name: &str,
        every: Duration,
        mut pass: impl FnMut(&AtomicBool) + Send + 'static,
    ) -> io::Result<Upkeep> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    pass(&flag);
                    let until = std::time::Instant::now() + every;
                    while !flag.load(Ordering::Relaxed) {
                        let now = std::time::Instant::now();
                        if now >= until {
                            break;
                        }
                        std::thread::park_timeout(until - now);
                    }
                }
            })?;
        Ok(Upkeep {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Upkeep {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for Upkeep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upkeep").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn names_parse_back_to_their_hour() {
        let t = at("2026-11-22T14:59:59Z");
        assert_eq!(RAW.name_at(t), "raw-20261122T14.nmea");
        assert_eq!(RAW.hour_of("raw-20261122T14.nmea"), Some("20261122T14"));
        assert_eq!(RAW.hour_of("raw-20261122T14.nmea.gz"), Some("20261122T14"));
        assert_eq!(RAW.hour_of("raw-20261122T14.nmea.gz.tmp"), None);
        assert_eq!(RAW.hour_of("raw-20261322T14.nmea"), None);
        assert_eq!(OBSERVATIONS.hour_of("raw-20261122T14.nmea"), None);
        assert_eq!(hour_start("20261122T14"), Some(at("2026-11-22T14:00:00Z")));
    }

    #[test]
    fn expired_files_are_the_oldest_never_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for h in ["20261101T00", "20261101T01", "20261120T10", "20261122T14"] {
            fs::write(dir.path().join(format!("observations-{h}.jsonl")), "{}\n").unwrap();
        }
        let now = at("2026-11-22T14:30:00Z");
        let names = |v: Vec<HourFile>| v.into_iter().map(|f| f.hour).collect::<Vec<_>>();
        // 10 days: the two of 1 November.
        assert_eq!(
            names(expired(dir.path(), OBSERVATIONS, now, 10).unwrap()),
            ["20261101T00", "20261101T01"]
        );
        // 1 day: all but the newest, even though the newest is old enough too at 0 days.
        assert_eq!(expired(dir.path(), OBSERVATIONS, now, 1).unwrap().len(), 3);
        assert_eq!(
            expired(
                dir.path(),
                OBSERVATIONS,
                now + SignedDuration::from_hours(999),
                1
            )
            .unwrap()
            .len(),
            3
        );
    }
}
