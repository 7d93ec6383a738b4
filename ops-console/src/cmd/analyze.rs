//! `tidewatch analyze`: replay logs through the fusion engine on the log's own clock and
//! print its alerts as JSON lines.
//!
//! A line's time is its tag block `c:`, else a trailing `,<unix seconds>` after the
//! checksum (the AMSA feed's convention), else the clock the log last set (`$GPZDA`, or
//! the previous timed line), else `--start` plus the line's rank over `--rate`. Lines
//! that are observation JSON (`{"id":…}`, as ingest publishes them) are replayed as they
//! are, with radar contacts and sightings. Patrol telemetry whose tag block `s:` names a
//! unit (RMC, HDT, TTM, TLL…), and patrol reports written as `{"unit":…,"report":{…}}`
//! (as `tidewatch simulate --out` writes them), go through ingest as that unit's. The
//! engine ticks every minute of log time (`fusion::clock::MinuteTicks`).

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fusion::{AlertKind, AlertState, FusionEngine, FusionEvent};
use ingest::ais::{Decoder, split_tag_block};
use ingest::model::{AisObservation, Observation};
use ingest::pipeline::{Event as PipelineEvent, Input, Pipeline};
use ingest::telemetry::{self, Telemetry};
use ingest::wire::UnitId;
use jiff::Timestamp;

use crate::cmd::decode::{open, write_reject};

/// Arguments of `analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Fusion's configuration and reference files.
    #[command(flatten)]
    pub fusion: crate::cli::FusionFiles,
    /// Time of the first line without a time of its own (RFC 3339, UTC).
    #[arg(long, value_name = "TIME")]
    pub start: Option<Timestamp>,
    /// Lines without a time are this many sentences per second apart from `--start`.
    #[arg(long, value_name = "N", default_value_t = 1000.0)]
    pub rate: f64,
    /// Write every rejected line, with its line number and reason, to this file (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Print the risk score of every vessel with one above zero at the end, as JSON lines
    /// (`{"risk":…}`) after the alerts.
    #[arg(long)]
    pub risk: bool,
    /// Input files (`.gz` is decompressed); `-` or nothing reads stdin; a directory is the
    /// observation log's (`DATA/observations/`): its hourly files, oldest first.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Files as given, each directory replaced by the observation log files in it, oldest
/// first.
fn expand_observation_dirs(given: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in given {
        if p.is_dir() {
            let files =
                ingest::obslog::files(p).with_context(|| format!("cannot list {}", p.display()))?;
            if files.is_empty() {
                bail!(
                    "{}: no observation log files (observations-*.jsonl[.gz]) in it",
                    p.display()
                );
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// What an analysis saw.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Lines read.
    pub lines: u64,
    /// AIS messages decoded.
    pub messages: u64,
    /// Lines kept as fragments of a multi-sentence message.
    pub fragments: u64,
    /// Observation JSON lines replayed.
    pub observations: u64,
    /// `$GPZDA` lines that set the clock.
    pub clock_lines: u64,
    /// Other patrol telemetry lines: valid, but without a unit to attach them to.
    pub telemetry_unused: u64,
    /// Blank lines and `#` comments.
    pub skipped: u64,
    /// Rejected lines by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Alerts opened, by kind.
    pub opened: BTreeMap<AlertKind, u64>,
    /// Alerts retracted, by kind.
    pub retracted: BTreeMap<AlertKind, u64>,
    /// Alert revisions written.
    pub revisions: u64,
    /// Taskings written (`{"tasking":…}` lines).
    pub taskings: u64,
    /// Earliest and latest line time.
    pub span: Option<(Timestamp, Timestamp)>,
    /// Receivers told apart (inputs, and tag block stations within them) and the cells of
    /// the coverage learnt from them.
    pub coverage: (usize, usize),
}

/// The log's clock.
struct Clock {
    start: Option<Timestamp>,
    rate: f64,
    /// Lines given a time from `start` and `rate` so far.
    untimed: u64,
    /// The same count as whole seconds and lines into the next, at rates that allow it.
    counted: Option<Counted>,
    /// The latest time set by the log itself.
    set: Option<Timestamp>,
}

/// Past this many seconds from `--start`, line times are computed, not counted (see
/// [`Counted`]).
const COUNTED_LIMIT_S: i64 = 4_000_000;

/// Line times counted instead of computed, at a rate of whole lines a second that divides a
/// second into whole nanoseconds (the default 1000/s is one): the `n`-th untimed line is
/// `n / rate` seconds after the start, kept as whole seconds and lines into the next.
///
/// The same to the nanosecond as `secs_f64(n as f64 / rate)` while `n / rate` is below
/// [`COUNTED_LIMIT_S`]: with `q` the quotient as a double, `k + m / rate` exact,
/// `|q − (k + m / rate)| ≤ q·2⁻⁵³`. That is less than `1 / rate ≥ 10⁻⁹` (the distance to
/// an integer when `m > 0`; when `m = 0`, `q` is the integer `k`), so the whole seconds
/// are `k`, and the fraction, subtracted exactly, times 10⁹ (rounded once more, by at most
/// 2⁻²⁴) is within `4·10⁶·2⁻⁵³·10⁹ + 2⁻²⁴ < 0.45` of the integer `m·10⁹ / rate`, to which
/// `secs_f64` rounds it. The float path's four dependent operations cost 4% of `analyze`.
struct Counted {
    per_s: u32,
    ns_per_line: u32,
    secs: i64,
    into: u32,
}

impl Counted {
    fn at_rate(rate: f64) -> Option<Counted> {
        let whole = (rate.fract() == 0.0 && (1.0..=1e9).contains(&rate)).then_some(rate as u32)?;
        (1_000_000_000 % whole == 0).then_some(Counted {
            per_s: whole,
            ns_per_line: 1_000_000_000 / whole,
            secs: 0,
            into: 0,
        })
    }
}

impl Clock {
    fn new(start: Option<Timestamp>, rate: f64) -> Clock {
        Clock {
            start,
            rate,
            untimed: 0,
            counted: Counted::at_rate(rate),
            set: None,
        }
    }

    /// The time of a line without its own.
    fn untimed(&mut self) -> Option<Timestamp> {
        if let Some(t) = self.set {
            return Some(t);
        }
        let start = self.start?;
        let offset = match &mut self.counted {
            Some(c) if c.secs < COUNTED_LIMIT_S => {
                let d = jiff::SignedDuration::new(c.secs, (c.into * c.ns_per_line) as i32);
                c.into += 1;
                if c.into == c.per_s {
                    c.into = 0;
                    c.secs += 1;
                }
                d
            }
            _ => secs_f64(self.untimed as f64 / self.rate),
        };
        self.untimed += 1;
        Some(start + offset)
    }
}

/// `jiff::SignedDuration::from_secs_f64(secs)`, the same to the nanosecond, without the
/// `trunc` and `round` calls it makes (no rounding instruction before SSE4.1): a line's
/// time costed more than the line's fusion checks. For `0 ≤ secs < 2⁵²`, truncating is
/// the cast, and rounding a non-negative number its truncation plus whether the fraction
/// left (exact) is a half or more; other values are jiff's.
fn secs_f64(secs: f64) -> jiff::SignedDuration {
    const LIMIT: f64 = (1u64 << 52) as f64;
    if !(0.0..LIMIT).contains(&secs) {
        return jiff::SignedDuration::from_secs_f64(secs);
    }
    let whole = secs as i64;
    let nanos_f = (secs - whole as f64) * 1e9;
    let truncated = nanos_f as i64;
    let nanos = truncated + i64::from(nanos_f - truncated as f64 >= 0.5);
    if nanos == 1_000_000_000 {
        jiff::SignedDuration::new(whole + 1, 0)
    } else {
        jiff::SignedDuration::new(whole, nanos as i32)
    }
}

/// A patrol report line as `tidewatch simulate --out` writes it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnitReport {
    unit: String,
    report: Box<serde_json::value::RawValue>,
}

/// One replay over several inputs.
pub struct Analysis<'w> {
    engine: FusionEngine,
    pipeline: Pipeline,
    decoder: Decoder,
    clock: Clock,
    now: Option<Timestamp>,
    ticks: fusion::clock::MinuteTicks,
    events: Vec<FusionEvent>,
    /// The receiver of the message being taken, kept between messages: it rarely changes,
    /// so it is not made anew (an allocation) for each.
    receiver: [String; 1],
    out: &'w mut dyn Write,
    rejects: Option<&'w mut dyn Write>,
    /// What was seen so far.
    pub summary: Summary,
}

impl<'w> Analysis<'w> {
    /// An analysis with `engine`, writing alerts to `out` and rejected lines to `rejects`.
    pub fn new(
        engine: FusionEngine,
        start: Option<Timestamp>,
        rate: f64,
        out: &'w mut dyn Write,
        rejects: Option<&'w mut dyn Write>,
    ) -> Self {
        Analysis {
            engine,
            pipeline: Pipeline::new(),
            decoder: Decoder::new(),
            clock: Clock::new(start, rate),
            now: None,
            ticks: fusion::clock::MinuteTicks::default(),
            events: Vec::new(),
            receiver: Default::default(),
            out,
            rejects,
            summary: Summary::default(),
        }
    }

    /// The engine (for its vessels and statistics).
    pub fn engine(&self) -> &FusionEngine {
        &self.engine
    }

    /// Replay every line of `input`; `source` keeps fragment assembly of inputs apart.
    /// `progress` is called every 64k lines with the bytes read so far.
    pub fn input(
        &mut self,
        input: &mut dyn BufRead,
        source: u32,
        name: &str,
        progress: &mut dyn FnMut(u64, &Summary),
    ) -> Result<()> {
        let mut bytes = 0u64;
        super::decode::each_line(input, name, |line, line_no| {
            bytes += line.len() as u64;
            self.line(line, source, name, line_no)?;
            if line_no.is_multiple_of(65_536) {
                progress(bytes, &self.summary);
            }
            Ok(())
        })
    }

    fn line(&mut self, line: &[u8], source: u32, name: &str, line_no: u64) -> Result<()> {
        self.summary.lines += 1;
        let trimmed = line.trim_ascii();
        if trimmed.is_empty() || trimmed[0] == b'#' {
            self.summary.skipped += 1;
            return Ok(());
        }
        if trimmed[0] == b'{' {
            if let Ok(r) = serde_json::from_slice::<UnitReport>(trimmed) {
                return self.unit_report(&r, trimmed, name, line_no);
            }
            return self.observation(trimmed, name, line_no);
        }
        if matches!(split_tag_block(trimmed), Ok((_, s)) if s.first() == Some(&b'$')) {
            match telemetry::parse_line(trimmed) {
                Ok(t) => match (&t.data, t.source.as_deref().map(UnitId::new)) {
                    (Telemetry::Zda { utc: Some(utc) }, _) => {
                        self.summary.clock_lines += 1;
                        self.clock.set = Some(*utc);
                    }
                    // A sentence whose tag block names a unit is that unit's.
                    (_, Some(Ok(unit))) => {
                        if let Some(c) = t.time {
                            self.clock.set = Some(c);
                        }
                        let Some(time) = t.time.or_else(|| self.clock.untimed()) else {
                            bail!(
                                "{name} line {line_no}: no time (no tag block c:, no $GPZDA before it)"
                            );
                        };
                        let input = Input::PatrolNmea {
                            unit: &unit,
                            payload: trimmed,
                        };
                        self.through_ingest(input, time, trimmed, name, line_no)?;
                    }
                    _ => self.summary.telemetry_unused += 1,
                },
                Err(e) => self.reject(trimmed, e.reason(), &e.to_string(), name, line_no)?,
            }
            return Ok(());
        }
        let trailing = trailing_time(trimmed);
        if let Some(t) = trailing {
            self.clock.set = Some(t);
        }
        // Matched by reference: moving a decoded message out of the result is a copy of
        // hundreds of bytes a message.
        let decoded = self.decoder.decode_line(trimmed, source);
        match &decoded {
            Ok(Some(d)) => {
                self.summary.messages += 1;
                if let Some(t) = d.heard.time() {
                    self.clock.set = Some(t);
                }
                let Some(time) = d.heard.time().or(trailing).or_else(|| self.clock.untimed())
                else {
                    bail!(
                        "{name} line {line_no}: no time (no tag block c:, no trailing time, no $GPZDA before it); \
                         give --start TIME (and --rate N sentences/s) for logs without times"
                    );
                };
                let now = self.advance(time);
                let ais = AisObservation::from_message(&d.message, d.heard.own_ship);
                let receiver = d.heard.receiver(name);
                if self.receiver[0] != receiver {
                    self.receiver[0].clear();
                    self.receiver[0].push_str(&receiver);
                }
                (self.engine).on_ais(&ais, &self.receiver, time, now, &mut self.events);
                self.write_events()?;
            }
            Ok(None) => self.summary.fragments += 1,
            Err(e) => self.reject(trimmed, e.reason(), &e.to_string(), name, line_no)?,
        }
        Ok(())
    }

    /// A patrol report as `tidewatch simulate --out` writes it: through ingest as the unit
    /// had sent it.
    fn unit_report(&mut self, r: &UnitReport, line: &[u8], name: &str, line_no: u64) -> Result<()> {
        let unit = match UnitId::new(&r.unit) {
            Ok(u) => u,
            Err(e) => return self.reject(line, "bad_unit", &e, name, line_no),
        };
        let payload = r.report.get().as_bytes();
        // Its own time is the clock; ingest then checks it as received then.
        let time = match serde_json::from_slice::<ingest::wire::PatrolReport>(payload) {
            Ok(p) => p.time(),
            Err(e) => return self.reject(line, "bad_report", &e.to_string(), name, line_no),
        };
        self.clock.set = Some(time);
        self.through_ingest(
            Input::PatrolReport {
                unit: &unit,
                payload,
            },
            time,
            line,
            name,
            line_no,
        )
    }

    /// A unit's line or report through ingest's pipeline, its observations to fusion.
    fn through_ingest(
        &mut self,
        input: Input<'_>,
        time: Timestamp,
        line: &[u8],
        name: &str,
        line_no: u64,
    ) -> Result<()> {
        for ev in self.pipeline.on_input(input, time) {
            match ev {
                PipelineEvent::Publish {
                    observation,
                    update: false,
                    ..
                } => {
                    self.summary.observations += 1;
                    let now = self.advance(observation.time.max(time));
                    self.engine.observe(&observation, now, &mut self.events);
                }
                PipelineEvent::Archive {
                    rejected: Some(reason),
                    ..
                } => self.reject(line, reason, reason, name, line_no)?,
                _ => {}
            }
        }
        self.write_events()
    }

    fn observation(&mut self, line: &[u8], name: &str, line_no: u64) -> Result<()> {
        match serde_json::from_slice::<Observation>(line) {
            Ok(obs) => {
                self.summary.observations += 1;
                let now = self.advance(obs.time);
                self.engine.observe(&obs, now, &mut self.events);
                self.write_events()
            }
            Err(e) => self.reject(line, "bad_observation", &e.to_string(), name, line_no),
        }
    }

    /// Move the clock to `time` (never back), ticking the engine every minute.
    fn advance(&mut self, time: Timestamp) -> Timestamp {
        self.summary.span = Some(match self.summary.span {
            None => (time, time),
            Some((a, b)) => (a.min(time), b.max(time)),
        });
        let now = self.now.map_or(time, |n| n.max(time));
        self.now = Some(now);
        self.ticks.at(now, &mut self.engine, &mut self.events);
        now
    }

    fn write_events(&mut self) -> Result<()> {
        for e in self.events.drain(..) {
            let a = match e {
                FusionEvent::Alert(a) => a,
                FusionEvent::Tasking(t) => {
                    self.summary.taskings += 1;
                    serde_json::to_writer(&mut *self.out, &serde_json::json!({ "tasking": t }))?;
                    self.out.write_all(b"\n")?;
                    continue;
                }
                _ => continue,
            };
            self.summary.revisions += 1;
            if a.revision == 1 {
                *self.summary.opened.entry(a.kind).or_default() += 1;
            }
            if a.state == AlertState::Retracted {
                *self.summary.retracted.entry(a.kind).or_default() += 1;
            }
            serde_json::to_writer(&mut *self.out, &a)?;
            self.out.write_all(b"\n")?;
        }
        Ok(())
    }

    fn reject(
        &mut self,
        line: &[u8],
        reason: &str,
        error: &str,
        name: &str,
        line_no: u64,
    ) -> Result<()> {
        *self.summary.rejected.entry(reason.to_string()).or_default() += 1;
        if let Some(w) = self.rejects.as_mut() {
            write_reject(*w, name, line_no, reason, error, line)?;
        }
        Ok(())
    }

    /// End of the inputs: a last tick at the log's end time. Returns the summary.
    pub fn finish(mut self, risk: bool) -> Result<Summary> {
        self.decoder.finish();
        let st = self.decoder.stats();
        if st.incomplete_groups > 0 {
            *self
                .summary
                .rejected
                .entry("incomplete_message".to_string())
                .or_default() += st.fragments_lost;
        }
        if let Some(now) = self.now {
            let events = self.engine.tick(now);
            self.events.extend(events);
            self.write_events()?;
        }
        self.summary.coverage = (
            self.engine.coverage_receivers(),
            self.engine.coverage_cells(),
        );
        if risk {
            let mut risks: Vec<_> = self
                .engine
                .vessels()
                .filter_map(|v| self.engine.risk(v.mmsi))
                .filter(|r| r.score > 0.0)
                .collect();
            risks.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.mmsi.cmp(&b.mmsi)));
            for r in risks {
                serde_json::to_writer(&mut *self.out, &serde_json::json!({ "risk": r }))?;
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()?;
        if let Some(w) = self.rejects.as_mut() {
            w.flush()?;
        }
        Ok(self.summary)
    }
}

/// `…*hh,1327664821`: the Unix time some feeds append after the checksum.
fn trailing_time(line: &[u8]) -> Option<Timestamp> {
    let star = line.iter().rposition(|&c| c == b'*')?;
    let rest = line.get(star + 3..)?;
    let digits = rest.strip_prefix(b",")?;
    if digits.len() != 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let secs: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Timestamp::from_second(secs).ok()
}

/// Build the engine from the arguments' configuration, ports and zones.
pub fn engine(args: &AnalyzeArgs) -> Result<FusionEngine> {
    Ok(args.fusion.setup()?.engine())
}

/// `tidewatch analyze`.
pub fn run(args: &AnalyzeArgs) -> Result<()> {
    if !(args.rate > 0.0 && args.rate.is_finite()) {
        bail!(
            "--rate {}: must be a positive number of sentences per second",
            args.rate
        );
    }
    let started = Instant::now();
    let engine = engine(args)?;
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut rejects_file = match &args.rejects {
        Some(p) => Some(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => None,
    };
    let mut analysis = Analysis::new(
        engine,
        args.start,
        args.rate,
        &mut out,
        rejects_file.as_mut().map(|w| w as &mut dyn Write),
    );
    let stdin_only = [PathBuf::from("-")];
    let files = if args.files.is_empty() {
        stdin_only.to_vec()
    } else {
        expand_observation_dirs(&args.files)?
    };
    let files = &files[..];
    let total: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let tty = io::stderr().is_terminal();
    let mut done = 0u64;
    for (i, path) in files.iter().enumerate() {
        let mut input = open(path)?;
        let name = path.display().to_string();
        let gz = path.extension().is_some_and(|e| e == "gz");
        let mut progress = |bytes: u64, s: &Summary| {
            if tty {
                let frac = if gz || total == 0 {
                    None
                } else {
                    Some((done + bytes) as f64 / total as f64)
                };
                progress_line(frac, s.lines, started.elapsed().as_secs_f64());
            }
        };
        analysis.input(&mut input, i as u32, &name, &mut progress)?;
        done += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    let vessels = analysis.engine().vessels().count();
    let stats = analysis.engine().stats();
    let per_vessel = analysis.engine().live_bytes_per_vessel();
    let summary = analysis.finish(args.risk)?;
    if tty {
        eprint!("\r\x1b[2K");
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!("tidewatch analyze: {}", summary_text(&summary, secs));
    eprintln!(
        "tracks: {vessels} vessels ({per_vessel:.0} bytes of live state each), {} segments started, {} positions ({} late, {} at 0°N 0°E not used), {} messages of untracked types",
        stats.segments_started,
        stats.positions,
        stats.late_positions,
        stats.null_island,
        stats.untracked_messages
    );
    Ok(())
}

fn summary_text(s: &Summary, secs: f64) -> String {
    let mut t = format!(
        "{} lines in {secs:.1} s ({:.0} lines/s): {} AIS messages, {} fragments, {} observations, {} clock lines, {} telemetry lines without a unit, {} skipped, {} rejected",
        s.lines,
        s.lines as f64 / secs.max(1e-9),
        s.messages,
        s.fragments,
        s.observations,
        s.clock_lines,
        s.telemetry_unused,
        s.skipped,
        s.rejected.values().sum::<u64>()
    );
    if !s.rejected.is_empty() {
        let parts: Vec<String> = s.rejected.iter().map(|(r, n)| format!("{r} {n}")).collect();
        t.push_str(&format!("\nrejected by reason: {}", parts.join(", ")));
    }
    if let Some((a, b)) = s.span {
        t.push_str(&format!("\nlog time {a} to {b}"));
    }
    t.push_str(&format!(
        "\ncoverage learnt: {} receivers, {} cells of 0.1°",
        s.coverage.0, s.coverage.1
    ));
    let kinds: Vec<String> = s
        .opened
        .iter()
        .map(|(k, n)| {
            let r = s.retracted.get(k).copied().unwrap_or(0);
            if r > 0 {
                format!("{k} {n} ({r} retracted)")
            } else {
                format!("{k} {n}")
            }
        })
        .collect();
    t.push_str(&format!(
        "\nalerts: {} ({} revisions){}",
        s.opened.values().sum::<u64>(),
        s.revisions,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(": {}", kinds.join(", "))
        }
    ));
    t
}

fn progress_line(frac: Option<f64>, lines: u64, secs: f64) {
    let rate = lines as f64 / secs.max(1e-9);
    match frac {
        Some(f) => {
            let filled = (f.clamp(0.0, 1.0) * 30.0) as usize;
            eprint!(
                "\r[{}{}] {:3.0}% {lines} lines, {rate:.0}/s",
                "#".repeat(filled),
                ".".repeat(30 - filled),
                f * 100.0
            );
        }
        None => eprint!("\r{lines} lines, {rate:.0}/s"),
    }
}

#[cfg(test)]
mod tests {
    /// `secs_f64` is jiff's conversion to the nanosecond: every line time of a million-line
    /// log at usual and odd rates, and numbers anywhere (halves of a nanosecond, the
    /// limits, negative, huge).
    #[test]
    fn line_times_are_jiffs_to_the_nanosecond() {
        for rate in [1000.0, 1.0, 3.0, 7.5, 0.1, 1e6, 123_456.789] {
            for n in (0..1_000_000u64).chain([1 << 40, (1 << 53) - 1, 1 << 53]) {
                let secs = n as f64 / rate;
                assert_eq!(
                    super::secs_f64(secs),
                    jiff::SignedDuration::from_secs_f64(secs),
                    "{n} at {rate}/s"
                );
            }
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1_000_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = f64::from_bits(x);
            if secs.is_finite() && secs.abs() < 9e18 {
                assert_eq!(
                    super::secs_f64(secs),
                    jiff::SignedDuration::from_secs_f64(secs),
                    "{secs:e}"
                );
            }
            let half = (x % 1_000_000) as f64 + 0.5e-9 * (x % 3) as f64;
            assert_eq!(
                super::secs_f64(half),
                jiff::SignedDuration::from_secs_f64(half),
                "{half}"
            );
        }
    }

    use super::*;

    /// A clock that has given `n` untimed lines their times already.
    fn clock_after(start: Timestamp, rate: f64, n: u64) -> Clock {
        let mut c = Clock::new(Some(start), rate);
        c.untimed = n;
        if let Some(k) = &mut c.counted {
            k.secs = (n / u64::from(k.per_s)) as i64;
            k.into = (n % u64::from(k.per_s)) as u32;
        }
        c
    }

    /// At every rate that divides a second into whole nanoseconds, counted line times are
    /// `--start` plus jiff's `from_secs_f64(n / rate)`: from the first line, at random
    /// points up to the limit, and across it (where the clock goes back to computing them).
    #[test]
    fn counted_line_times_are_jiffs_to_the_nanosecond() {
        let start: Timestamp = "2026-11-22T00:00:00Z".parse().unwrap();
        let mut rates = Vec::new();
        for twos in 0..10 {
            for fives in 0..10 {
                rates.push(2u64.pow(twos) * 5u64.pow(fives));
            }
        }
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for &rate in &rates {
            let limit = COUNTED_LIMIT_S as u64 * rate;
            let mut froms = vec![0, limit - 2 * rate.min(500), limit - 1];
            for _ in 0..40 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                froms.push(x % limit);
            }
            for from in froms {
                let mut clock = clock_after(start, rate as f64, from);
                assert!(clock.counted.is_some(), "{rate}/s is counted");
                for n in from..from + 1200 {
                    let want = start + jiff::SignedDuration::from_secs_f64(n as f64 / rate as f64);
                    assert_eq!(clock.untimed(), Some(want), "line {n} at {rate}/s");
                }
            }
        }
        for rate in [3.0, 7.5, 1024.0, 0.5, 2e9, 999.0] {
            assert!(
                Clock::new(Some(start), rate).counted.is_none(),
                "{rate}/s is computed"
            );
        }
    }

    #[test]
    fn trailing_unix_time_after_the_checksum() {
        let t =
            trailing_time(b"!AIVDM,1,1,,B,H52KsnQ8DDj1Lu9@PhE=>222220,2*30,1327664821").unwrap();
        assert_eq!(t.to_string(), "2012-01-27T11:47:01Z");
        assert_eq!(
            trailing_time(b"!AIVDM,1,1,,B,H52KsnQ8DDj1Lu9@PhE=>222220,2*30"),
            None
        );
        assert_eq!(trailing_time(b"!AIVDM,1,1,,B,H52,2*30,12"), None);
    }
}
