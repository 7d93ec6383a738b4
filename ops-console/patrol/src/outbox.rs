//! The patrol unit's store-and-forward queue on disk.
//!
//! Every line read from the ship's instruments and every report the crew sends is
//! appended here first, numbered, and only then sent; the queue remembers how far the
//! broker has acknowledged. So a link that is down for hours, or a restart of the
//! program (SIGKILL included), loses nothing: what was not acknowledged is sent again,
//! in order.
//!
//! ```text
//!  DIR/seg-00000000000000000001.q   entries 1..=10000, one per line: `N <nmea line>` or `R <report json>`
//!  DIR/seg-00000000000000010001.q   ...
//!  DIR/acked                        the highest entry the broker acknowledged (all below it are too)
//! ```
//!
//! Entries are numbered from 1 by their place in the segments, so a number never needs
//! to be stored. Segments wholly acknowledged are deleted. The queue is bounded by
//! bytes: past the bound the oldest segment is discarded, counted and logged (the newest
//! positions matter most to a watch officer).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What an entry is: it decides the topic it is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An NMEA line (published on `patrol/{unit}/nmea`).
    Nmea,
    /// A JSON report (published on `patrol/{unit}/report`).
    Report,
    /// A signed case action or a part of an evidence file (published on
    /// `patrol/{unit}/case`; kept in a queue of their own that is never cut).
    Case,
}

impl Kind {
    fn tag(self) -> u8 {
        match self {
            Kind::Nmea => b'N',
            Kind::Report => b'R',
            Kind::Case => b'C',
        }
    }
}

/// One queued entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its number, from 1.
    pub seq: u64,
    /// Line or report.
    pub kind: Kind,
    /// The bytes to send.
    pub data: Vec<u8>,
}

/// Entries per segment file.
pub const SEGMENT_ENTRIES: u64 = 10_000;

#[derive(Debug)]
struct Segment {
    first: u64,
    entries: u64,
    bytes: u64,
    path: PathBuf,
}

/// A sequential reader, kept between reads so a backlog is read once, not rescanned.
#[derive(Debug)]
struct Cursor {
    next: u64,
    segment_first: u64,
    reader: BufReader<File>,
}

/// The queue; see the module docs.
#[derive(Debug)]
pub struct Outbox {
    dir: PathBuf,
    segments: Vec<Segment>,
    writer: Option<File>,
    acked: u64,
    acked_on_disk: u64,
    unsynced: bool,
    max_bytes: u64,
    cursor: Option<Cursor>,
    /// Entries thrown away unsent because the queue hit its bound.
    pub discarded: u64,
}

fn segment_path(dir: &Path, first: u64) -> PathBuf {
    dir.join(format!("seg-{first:020}.q"))
}

impl Outbox {
    /// Open (or create) the queue in `dir`, bounded to about `max_bytes` on disk. A
    /// torn last entry (the program died mid-write) is cut off.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Outbox> {
        fs::create_dir_all(dir)?;
        let mut firsts: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| {
                let name = e.ok()?.file_name();
                let name = name.to_str()?;
                name.strip_prefix("seg-")?.strip_suffix(".q")?.parse().ok()
            })
            .collect();
        firsts.sort_unstable();
        let mut segments = Vec::new();
        for (i, &first) in firsts.iter().enumerate() {
            let path = segment_path(dir, first);
            let last = i + 1 == firsts.len();
            let (entries, bytes) = scan(&path, last)?;
            segments.push(Segment {
                first,
                entries,
                bytes,
                path,
            });
        }
        let acked = match fs::read_to_string(dir.join("acked")) {
            Ok(s) => s.trim().parse().map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: not a number", dir.join("acked").display()),
                )
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                segments.first().map_or(0, |s| s.first.saturating_sub(1))
            }
            Err(e) => return Err(e),
        };
        let mut q = Outbox {
            dir: dir.to_owned(),
            segments,
            writer: None,
            acked,
            acked_on_disk: acked,
            unsynced: false,
            max_bytes: max_bytes.max(1),
            cursor: None,
            discarded: 0,
        };
        q.drop_acked_segments()?;
        Ok(q)
    }

    /// The number the next appended entry gets.
    pub fn next_seq(&self) -> u64 {
        self.segments
            .last()
            .map_or(self.acked + 1, |s| s.first + s.entries)
    }

    /// The highest entry acknowledged (every one below it is too).
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Entries not yet acknowledged.
    pub fn backlog(&self) -> u64 {
        self.next_seq() - 1 - self.acked
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// Append an entry (a line: any `\r` or `\n` in `data` would break the file, so
    /// they are refused); returns its number. Durable after [`sync`](Self::sync); a
    /// crash of the program alone loses nothing written.
    pub fn append(&mut self, kind: Kind, data: &[u8]) -> io::Result<u64> {
        if data.iter().any(|&b| b == b'\n' || b == b'\r') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "an entry must be one line",
            ));
        }
        let seq = self.next_seq();
        let full = self
            .segments
            .last()
            .is_none_or(|s| s.entries >= SEGMENT_ENTRIES);
        if full {
            self.writer = None;
            let path = segment_path(&self.dir, seq);
            self.segments.push(Segment {
                first: seq,
                entries: 0,
                bytes: 0,
                path,
            });
        }
        let seg = self.segments.last_mut().expect("a segment");
        if self.writer.is_none() {
            self.writer = Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&seg.path)?,
            );
        }
        let mut buf = Vec::with_capacity(data.len() + 3);
        buf.push(kind.tag());
        buf.push(b' ');
        buf.extend_from_slice(data);
        buf.push(b'\n');
        self.writer
            .as_mut()
            .expect("an open segment")
            .write_all(&buf)?;
        seg.entries += 1;
        seg.bytes += buf.len() as u64;
        self.unsynced = true;
        self.enforce_bound()?;
        Ok(seq)
    }

    /// Drop the oldest segments while over the bound (never the one being written).
    fn enforce_bound(&mut self) -> io::Result<()> {
        while self.bytes() > self.max_bytes && self.segments.len() > 1 {
            let old = self.segments.remove(0);
            let lost = (old.first + old.entries - 1).saturating_sub(self.acked);
            self.discarded += lost.min(old.entries);
            tracing::error!(
                entries = lost,
                "store-and-forward queue full: oldest unsent entries discarded"
            );
            self.acked = self.acked.max(old.first + old.entries - 1);
            self.cursor = None;
            fs::remove_file(&old.path)?;
        }
        Ok(())
    }

    /// Everything up to `seq` was acknowledged.
    pub fn ack(&mut self, seq: u64) -> io::Result<()> {
        if seq > self.acked {
            self.acked = seq.min(self.next_seq() - 1);
            self.drop_acked_segments()?;
        }
        Ok(())
    }

    fn drop_acked_segments(&mut self) -> io::Result<()> {
        while self.segments.len() > 1 {
            let s = &self.segments[0];
            if s.first + s.entries - 1 > self.acked {
                break;
            }
            fs::remove_file(&s.path)?;
            self.segments.remove(0);
        }
        Ok(())
    }

    /// Make appended entries and the acknowledged mark durable.
    pub fn sync(&mut self) -> io::Result<()> {
        if self.unsynced {
            if let Some(w) = &self.writer {
                w.sync_data()?;
            }
            self.unsynced = false;
        }
        if self.acked != self.acked_on_disk {
            let tmp = self.dir.join("acked.tmp");
            let mut f = File::create(&tmp)?;
            writeln!(f, "{}", self.acked)?;
            f.sync_data()?;
            fs::rename(&tmp, self.dir.join("acked"))?;
            self.acked_on_disk = self.acked;
        }
        Ok(())
    }

    /// Up to `max_entries` entries from `from` on (at most `max_bytes` of data, but at
    /// least one entry), all of one kind. Entries before what is still on disk are gone
    /// (acknowledged or discarded): reading starts at the oldest kept.
    pub fn read(
        &mut self,
        from: u64,
        max_entries: usize,
        max_bytes: usize,
    ) -> io::Result<Vec<Entry>> {
        let from = from.max(self.acked + 1);
        let end = self.next_seq();
        let mut out: Vec<Entry> = Vec::new();
        let mut bytes = 0;
        let mut seq = from;
        while seq < end && out.len() < max_entries && (out.is_empty() || bytes < max_bytes) {
            let Some(entry) = self.read_one(seq)? else {
                break;
            };
            if out.first().is_some_and(|f| f.kind != entry.kind) {
                // Put it back for the next read.
                self.cursor = None;
                break;
            }
            bytes += entry.data.len();
            out.push(entry);
            seq += 1;
        }
        Ok(out)
    }

    fn read_one(&mut self, seq: u64) -> io::Result<Option<Entry>> {
        let Some(seg) = self
            .segments
            .iter()
            .find(|s| s.first <= seq && seq < s.first + s.entries)
        else {
            return Ok(None);
        };
        let fresh = match &self.cursor {
            Some(c) => c.next != seq || c.segment_first != seg.first,
            None => true,
        };
        if fresh {
            let mut reader = BufReader::new(File::open(&seg.path)?);
            reader.seek(SeekFrom::Start(0))?;
            let mut skip = Vec::new();
            for _ in seg.first..seq {
                skip.clear();
                reader.read_until(b'\n', &mut skip)?;
            }
            self.cursor = Some(Cursor {
                next: seq,
                segment_first: seg.first,
                reader,
            });
        }
        let c = self.cursor.as_mut().expect("a cursor");
        let mut line = Vec::new();
        c.reader.read_until(b'\n', &mut line)?;
        if line.pop() != Some(b'\n') || line.len() < 2 {
            self.cursor = None;
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("queue entry {seq} is damaged"),
            ));
        }
        let kind = match line[0] {
            b'R' => Kind::Report,
            b'C' => Kind::Case,
            _ => Kind::Nmea,
        };
        c.next += 1;
        if c.next == seg.first + seg.entries && seg.entries >= SEGMENT_ENTRIES {
            self.cursor = None;
        }
        Ok(Some(Entry {
            seq,
            kind,
            data: line[2..].to_vec(),
        }))
    }
}

/// Count the entries of a segment; cut a torn tail off the last one.
fn scan(path: &Path, last: bool) -> io::Result<(u64, u64)> {
    let data = fs::read(path)?;
    let whole = data.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if whole < data.len() {
        if !last {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: damaged in the middle of the queue", path.display()),
            ));
        }
        tracing::warn!(path = %path.display(), bytes = data.len() - whole, "cutting a torn entry off the queue");
        OpenOptions::new()
            .write(true)
            .open(path)?
            .set_len(whole as u64)?;
    }
    let entries = data[..whole].iter().filter(|&&b| b == b'\n').count() as u64;
    Ok((entries, whole as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(q: &mut Outbox, from: u64, n: usize) -> Vec<u64> {
        q.read(from, n, usize::MAX)
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect()
    }

    #[test]
    fn entries_survive_reopening_and_acknowledged_ones_go() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Outbox::open(dir.path(), u64::MAX).unwrap();
        for i in 1..=25_000u64 {
            assert_eq!(
                q.append(Kind::Nmea, format!("$L{i}").as_bytes()).unwrap(),
                i
            );
        }
        q.ack(12_000).unwrap();
        q.sync().unwrap();
        drop(q);
        let mut q = Outbox::open(dir.path(), u64::MAX).unwrap();
        assert_eq!(
            (q.acked(), q.next_seq(), q.backlog()),
            (12_000, 25_001, 13_000)
        );
        // The first segment (1..=10000) was wholly acknowledged and deleted.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2 + 1);
        let got = q.read(12_001, 3, usize::MAX).unwrap();
        assert_eq!(got[0].data, b"$L12001");
        assert_eq!(seqs(&mut q, 12_004, 2), vec![12_004, 12_005]);
        // Reading again from an earlier place (a session the broker lost) works too.
        assert_eq!(seqs(&mut q, 12_001, 1), vec![12_001]);
        // Across a segment boundary.
        assert_eq!(seqs(&mut q, 19_999, 3), vec![19_999, 20_000, 20_001]);
        assert!(q.read(25_001, 5, usize::MAX).unwrap().is_empty());
    }

    #[test]
    fn a_read_is_of_one_kind_and_a_torn_tail_is_cut() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Outbox::open(dir.path(), u64::MAX).unwrap();
        q.append(Kind::Nmea, b"$A").unwrap();
        q.append(Kind::Nmea, b"$B").unwrap();
        q.append(Kind::Report, br#"{"type":"status"}"#).unwrap();
        q.append(Kind::Nmea, b"$C").unwrap();
        let a = q.read(1, 10, usize::MAX).unwrap();
        assert_eq!(a.len(), 2);
        let r = q.read(3, 10, usize::MAX).unwrap();
        assert_eq!((r.len(), r[0].kind), (1, Kind::Report));
        assert!(q.append(Kind::Nmea, b"two\nlines").is_err());
        drop(q);
        // A write cut short by a crash.
        let seg = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&seg).unwrap();
        f.write_all(b"N $TORN").unwrap();
        let mut q = Outbox::open(dir.path(), u64::MAX).unwrap();
        assert_eq!(q.next_seq(), 5);
        assert_eq!(q.append(Kind::Nmea, b"$D").unwrap(), 5);
        assert_eq!(q.read(4, 10, usize::MAX).unwrap()[1].data, b"$D");
    }

    #[test]
    fn past_its_bound_the_oldest_is_discarded_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = Outbox::open(dir.path(), 100_000).unwrap();
        for i in 0..30_000u64 {
            q.append(Kind::Nmea, format!("$GPXXX,{i:08}").as_bytes())
                .unwrap();
        }
        assert!(q.bytes() <= 100_000 + 10_000 * 20, "{}", q.bytes());
        assert!(q.discarded >= 20_000, "{}", q.discarded);
        assert_eq!(q.acked(), q.discarded);
        let first = q.read(1, 1, usize::MAX).unwrap();
        assert_eq!(first[0].seq, q.discarded + 1);
    }
}
