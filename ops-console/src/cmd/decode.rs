//! `tidewatch decode`: NMEA lines to JSON lines, with every reject counted by reason.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use ingest::ais::json::{GpsdWriter, OurWriter};
use ingest::ais::{DecodeError, Decoder, split_tag_block};
use ingest::telemetry;

use crate::cli::{DecodeArgs, Format};

/// What a decode run saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Lines read.
    pub lines: u64,
    /// AIS messages decoded.
    pub messages: u64,
    /// Patrol telemetry sentences decoded.
    pub telemetry: u64,
    /// Lines kept as fragments of a multi-sentence message.
    pub fragments: u64,
    /// Blank lines and `#` comments.
    pub skipped: u64,
    /// Rejected lines by reason.
    pub rejected: BTreeMap<&'static str, u64>,
    /// Multi-sentence messages that never completed, and the fragments they held.
    pub incomplete_groups: u64,
    /// Fragments lost with incomplete groups.
    pub fragments_lost: u64,
}

impl Summary {
    /// Total rejected lines.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} lines read: {} AIS messages decoded, {} telemetry sentences, {} fragments assembled, {} skipped (blank or comment), {} rejected",
            self.lines,
            self.messages,
            self.telemetry,
            self.fragments,
            self.skipped,
            self.rejected_total()
        )?;
        if !self.rejected.is_empty() {
            let parts: Vec<String> = self
                .rejected
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            write!(f, "\nrejected by reason: {}", parts.join(", "))?;
        }
        if self.incomplete_groups > 0 {
            write!(
                f,
                "\nincomplete multi-sentence messages dropped: {} ({} fragments)",
                self.incomplete_groups, self.fragments_lost
            )?;
        }
        Ok(())
    }
}

/// The decoder state of one run over several inputs.
pub struct Run<'w> {
    format: Format,
    decoder: Decoder,
    gpsd: GpsdWriter,
    ours: OurWriter,
    out: &'w mut dyn Write,
    rejects: Option<&'w mut dyn Write>,
    buf: Vec<u8>,
    /// What was seen so far.
    pub summary: Summary,
}

impl<'w> Run<'w> {
    /// A run writing records to `out` and, if given, rejected lines to `rejects`.
    pub fn new(format: Format, out: &'w mut dyn Write, rejects: Option<&'w mut dyn Write>) -> Self {
        Run {
            format,
            decoder: Decoder::new(),
            gpsd: GpsdWriter::new(),
            ours: OurWriter::new(),
            out,
            rejects,
            buf: Vec::with_capacity(64 * 1024),
            summary: Summary::default(),
        }
    }

    /// Decode every line of `input`; `source` keeps fragment assembly of different
    /// inputs apart.
    pub fn input(&mut self, input: &mut dyn BufRead, source: u32, name: &str) -> Result<()> {
        each_line(input, name, |line, line_no| {
            self.line(line, source, name, line_no)?;
            if self.buf.len() > 48 * 1024 {
                self.flush()?;
            }
            Ok(())
        })?;
        self.flush()
    }

    fn line(&mut self, line: &[u8], source: u32, name: &str, line_no: u64) -> Result<()> {
        self.summary.lines += 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed[0] == b'#' {
            self.summary.skipped += 1;
            return Ok(());
        }
        // Which parser: the first character after any tag block.
        let is_telemetry =
            matches!(split_tag_block(trimmed), Ok((_, s)) if s.first() == Some(&b'$'));
        if is_telemetry {
            return self.telemetry(trimmed, name, line_no);
        }
        match self.decoder.decode_line(trimmed, source) {
            Ok(Some(d)) => {
                self.summary.messages += 1;
                match self.format {
                    Format::Json => self.ours.write(&d, &mut self.buf),
                    Format::Gpsd => {
                        self.gpsd.write(&d.message, &mut self.buf);
                    }
                }
            }
            Ok(None) => self.summary.fragments += 1,
            Err(e) => self.reject(trimmed, e.reason(), &e.to_string(), name, line_no)?,
        }
        Ok(())
    }

    fn telemetry(&mut self, line: &[u8], name: &str, line_no: u64) -> Result<()> {
        match telemetry::parse_line(line) {
            Ok(t) => {
                self.summary.telemetry += 1;
                if self.format == Format::Json {
                    let mut v = serde_json::to_value(&t)?;
                    v["class"] = "TELEMETRY".into();
                    serde_json::to_writer(&mut self.buf, &v)?;
                    self.buf.push(b'\n');
                }
                Ok(())
            }
            // gpsd's format has no place for telemetry, but an unsupported sentence is
            // still a sentence we could not use: it is counted either way.
            Err(e) => self.reject(line, e.reason(), &e.to_string(), name, line_no),
        }
    }

    fn reject(
        &mut self,
        line: &[u8],
        reason: &'static str,
        error: &str,
        name: &str,
        line_no: u64,
    ) -> Result<()> {
        *self.summary.rejected.entry(reason).or_default() += 1;
        if let Some(w) = self.rejects.as_mut() {
            write_reject(*w, name, line_no, reason, error, line)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// End of all inputs: groups still in flight are counted as incomplete.
    pub fn finish(mut self) -> Result<Summary> {
        self.decoder.finish();
        let s = self.decoder.stats();
        self.summary.incomplete_groups = s.incomplete_groups;
        self.summary.fragments_lost = s.fragments_lost;
        self.flush()?;
        self.out.flush()?;
        if let Some(w) = self.rejects.as_mut() {
            w.flush()?;
        }
        Ok(self.summary)
    }
}

/// One rejected line as a JSON record: input, line number, reason, error, the line.
pub(crate) fn write_reject(
    w: &mut dyn Write,
    name: &str,
    line_no: u64,
    reason: &str,
    error: &str,
    line: &[u8],
) -> Result<()> {
    let rec = serde_json::json!({
        "input": name,
        "line_no": line_no,
        "reason": reason,
        "error": error,
        "line": String::from_utf8_lossy(line),
    });
    writeln!(w, "{rec}").context("writing rejects")
}

/// Call `f` with every line of `input` (its line end included, the last one perhaps without)
/// and its number, from 1. Lines are handed where they lie in the reader's buffer; only a
/// line that spans two reads is copied.
///
/// A line ends at a line feed (CR LF included). A file whose lines end with a carriage
/// return alone (some loggers write them so) is split at either from its first such line
/// on, the LF of a CR LF ending nothing more: read at LFs only it would be one endless line,
/// every sentence after the first lost. A line longer than [`LINE_MAX`] bytes is handed on
/// in pieces of that length (each one rejected by the caller), so memory stays bounded
/// whatever the input.
pub(crate) fn each_line(
    input: &mut dyn BufRead,
    name: &str,
    mut f: impl FnMut(&[u8], u64) -> Result<()>,
) -> Result<()> {
    let mut lines = Lines::default();
    loop {
        let buf = input
            .fill_buf()
            .with_context(|| format!("reading {name}"))?;
        if buf.is_empty() {
            break;
        }
        lines.feed(buf, &mut f)?;
        let used = buf.len();
        input.consume(used);
    }
    if !lines.carry.is_empty() {
        f(&lines.carry, lines.line_no + 1)?;
    }
    Ok(())
}

/// The longest line [`each_line`] hands on whole (an NMEA sentence is at most 82 bytes; a
/// tag block or an observation's JSON adds a few hundred).
pub(crate) const LINE_MAX: usize = 1 << 16;

/// [`each_line`]'s state between reads.
#[derive(Default)]
struct Lines {
    /// The start of a line that the next read ends.
    carry: Vec<u8>,
    /// Lines handed on so far.
    line_no: u64,
    /// Splitting at carriage returns too (CR-ended lines were seen).
    cr: bool,
    /// The last line ended at a CR: an LF right after it is the rest of a CR LF.
    after_cr: bool,
}

/// Is there a CR in `b` not followed by an LF (the last byte is left to the next read)?
/// One pass the compiler vectorizes, a read at a time: a check per line (a call to
/// `memchr`) cost a few percent of decoding.
fn lone_cr(b: &[u8]) -> bool {
    b.len() >= 2
        && b[..b.len() - 1]
            .iter()
            .zip(&b[1..])
            .fold(false, |acc, (&x, &y)| acc | ((x == b'\r') & (y != b'\n')))
}

impl Lines {
    fn feed(&mut self, data: &[u8], f: &mut impl FnMut(&[u8], u64) -> Result<()>) -> Result<()> {
        // The last read's CR (carried: no LF came after it) is lone unless this read begins
        // with its LF.
        if !self.cr
            && ((self.carry.last() == Some(&b'\r') && data.first() != Some(&b'\n'))
                || lone_cr(data))
        {
            self.cr = true;
        }
        let mut start = 0;
        loop {
            let rest = &data[start..];
            let hit = if self.cr {
                memchr::memchr2(b'\n', b'\r', rest)
            } else {
                memchr::memchr(b'\n', rest)
            };
            let Some(i) = hit else { break };
            let end = start + i + 1;
            let ends_at_cr = data[start + i] == b'\r';
            if self.after_cr && i == 0 && !ends_at_cr && self.carry.is_empty() {
                self.after_cr = false;
                start = end;
                continue;
            }
            self.after_cr = ends_at_cr;
            self.line_no += 1;
            if self.carry.is_empty() {
                f(&data[start..end], self.line_no)?;
            } else {
                self.carry.extend_from_slice(&data[start..end]);
                f(&self.carry, self.line_no)?;
                self.carry.clear();
            }
            start = end;
        }
        self.carry.extend_from_slice(&data[start..]);
        while self.carry.len() > LINE_MAX {
            self.line_no += 1;
            f(&self.carry[..LINE_MAX], self.line_no)?;
            self.carry.drain(..LINE_MAX);
        }
        Ok(())
    }
}

/// Open an input: `-` is stdin, `.gz` is decompressed.
pub(crate) fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufReader::with_capacity(1 << 16, io::stdin())));
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, reader)))
}

/// `tidewatch decode`.
pub fn run(args: &DecodeArgs) -> Result<()> {
    // Records are gathered in the run's own buffer and written in 48 KiB blocks: no second
    // buffer to copy them through.
    let stdout = io::stdout();
    let mut out = stdout.lock();
    let mut rejects_file = match &args.rejects {
        Some(p) => Some(BufWriter::new(
            File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let mut run = Run::new(
        args.format,
        &mut out,
        rejects_file.as_mut().map(|w| w as &mut dyn Write),
    );
    let stdin_only = [std::path::PathBuf::from("-")];
    let files = if args.files.is_empty() {
        &stdin_only[..]
    } else {
        &args.files[..]
    };
    for (i, path) in files.iter().enumerate() {
        let mut input = open(path)?;
        run.input(&mut input, i as u32, &path.display().to_string())?;
    }
    let summary = run.finish()?;
    eprintln!("tidewatch decode: {summary}");
    Ok(())
}

/// Reject reasons that mean "this is not AIS at all" (for callers that only want AIS).
pub fn is_not_ais(e: &DecodeError) -> bool {
    matches!(e, DecodeError::NotAis(_) | DecodeError::NotNmea)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_with_buffer(input: &[u8], capacity: usize, format: Format) -> (Vec<u8>, Summary) {
        let mut out = Vec::new();
        let mut rejects = Vec::new();
        let mut run = Run::new(format, &mut out, Some(&mut rejects));
        let mut reader = BufReader::with_capacity(capacity, input);
        run.input(&mut reader, 0, "test").unwrap();
        let summary = run.finish().unwrap();
        (out, summary)
    }

    /// Lines are cut where they lie in the reader's buffer, and a line split across two
    /// reads (or the last one, without a newline) is decoded whole: a reader that hands out
    /// a few bytes at a time gives the same records and counts as one that holds the file.
    #[test]
    fn lines_split_across_reads_decode_as_whole_lines() {
        let input = b"# a comment\n\
            !AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A\r\n\
            \n\
            !AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C\n\
            !AIVDM,2,2,1,A,88888888880,2*25\n\
            !AIVDM,1,1,,A,not a payload,0*00\n\
            !AIVDM,1,1,,B,15RTgt0PAso;90TKcjM8h6g208CQ,0*49";
        for format in [Format::Gpsd, Format::Json] {
            let (whole, s) = run_with_buffer(input, 1 << 16, format);
            assert_eq!(
                (s.lines, s.messages, s.skipped, s.rejected_total()),
                (7, 3, 2, 1)
            );
            for capacity in [1, 2, 7, 31] {
                let (pieces, t) = run_with_buffer(input, capacity, format);
                assert_eq!(pieces, whole, "buffer of {capacity} bytes");
                assert_eq!((t.lines, t.messages), (s.lines, s.messages));
            }
        }
    }
}
