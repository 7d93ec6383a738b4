//! Time series: positions and ingest counters, written without ever blocking ingest.
//!
//! ```text
//!  ingest ──try_write(points)──▶ bounded queue ──▶ writer task ──batches, retries──▶ TimeSeriesSink
//!           (full: counted, dropped)                                                 ├─ InfluxSink (InfluxDB v2 write API)
//!                                                                                    └─ MemorySink (embedded default, tests)
//! ```
//!
//! Vocabulary: a [`Point`] is one measurement at one time, with tags (bounded-cardinality
//! labels) and numeric fields; a *batch* is what the writer hands the sink in one call.
//! Every point handed to [`TsdbWriter::try_write`] ends up counted exactly once in
//! [`TsdbStats`]: written, dropped because the queue was full (or closed), or failed
//! after retries.
//!
//! Only numbers are fields: VictoriaMetrics stores a string field as `0`, so names and
//! other text belong in tags (bounded cardinality) or elsewhere.

pub mod influx;
pub mod memory;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::model::{Observation, ObservationData};
use crate::service::ServiceStats;

pub use influx::{InfluxConfig, InfluxSink};
pub use memory::MemorySink;

/// Measurement of an AIS position ([`points_from_observation`]).
pub const AIS_POSITION: &str = "ais_position";
/// Measurement of a patrol unit's own fix ([`points_from_observation`]).
pub const PATROL_FIX: &str = "patrol_fix";
/// Measurement of the ingest counters ([`points_from_service_stats`]).
pub const INGEST: &str = "ingest";
/// Measurement of the ingest rejects, one point per reason ([`points_from_service_stats`]).
pub const INGEST_REJECTED: &str = "ingest_rejected";

/// A numeric field value. There is deliberately no string variant (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue {
    /// A float; never NaN or infinite in a constructed [`Point`].
    F64(f64),
    /// An integer.
    I64(i64),
}

impl From<f64> for FieldValue {
    fn from(v: f64) -> Self {
        FieldValue::F64(v)
    }
}

impl From<i64> for FieldValue {
    fn from(v: i64) -> Self {
        FieldValue::I64(v)
    }
}

/// Why a [`Point`] could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PointError {
    /// A measurement, tag or field name (or a tag value) is empty.
    #[error("empty {0}")]
    Empty(&'static str),
    /// A name or tag value holds a control character (line protocol cannot carry it).
    #[error("control character in {what} {text:?}")]
    ControlChar {
        /// What holds it: `measurement`, `tag key`, `tag value`, `field name`.
        what: &'static str,
        /// The offending text.
        text: String,
    },
    /// The point has no field (line protocol needs at least one).
    #[error("no fields")]
    NoFields,
    /// A float field is NaN or infinite.
    #[error("field {0:?} is not finite")]
    NotFinite(String),
    /// Two tags or two fields have the same name.
    #[error("duplicate {what} {name:?}")]
    Duplicate {
        /// `tag` or `field`.
        what: &'static str,
        /// The repeated name.
        name: String,
    },
    /// The timestamp does not fit in i64 nanoseconds since 1970 (years 1677–2262).
    #[error("timestamp {0} out of range")]
    TimestampRange(Timestamp),
}

/// One measurement at one time: validated on construction, so sinks never re-check.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    measurement: String,
    tags: Vec<(String, String)>,
    fields: Vec<(String, FieldValue)>,
    time: Timestamp,
}

fn check_name(what: &'static str, text: &str) -> Result<(), PointError> {
    if text.is_empty() {
        return Err(PointError::Empty(what));
    }
    if text.chars().any(char::is_control) {
        return Err(PointError::ControlChar {
            what,
            text: text.to_owned(),
        });
    }
    Ok(())
}

impl Point {
    /// A point; tags and fields are sorted by name. Fails on empty names or tag values,
    /// control characters, duplicate names, no fields, a NaN or infinite float, or a time
    /// outside i64 nanoseconds.
    pub fn new(
        measurement: impl Into<String>,
        tags: impl IntoIterator<Item = (String, String)>,
        fields: impl IntoIterator<Item = (String, FieldValue)>,
        time: Timestamp,
    ) -> Result<Point, PointError> {
        let measurement = measurement.into();
        check_name("measurement", &measurement)?;
        let mut tags: Vec<(String, String)> = tags.into_iter().collect();
        for (k, v) in &tags {
            check_name("tag key", k)?;
            check_name("tag value", v)?;
        }
        tags.sort();
        if let Some(w) = tags.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(PointError::Duplicate {
                what: "tag",
                name: w[0].0.clone(),
            });
        }
        let mut fields: Vec<(String, FieldValue)> = fields.into_iter().collect();
        if fields.is_empty() {
            return Err(PointError::NoFields);
        }
        for (k, v) in &fields {
            check_name("field name", k)?;
            if let FieldValue::F64(x) = v
                && !x.is_finite()
            {
                return Err(PointError::NotFinite(k.clone()));
            }
        }
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = fields.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(PointError::Duplicate {
                what: "field",
                name: w[0].0.clone(),
            });
        }
        if i64::try_from(time.as_nanosecond()).is_err() {
            return Err(PointError::TimestampRange(time));
        }
        Ok(Point {
            measurement,
            tags,
            fields,
            time,
        })
    }

    /// The measurement name.
    pub fn measurement(&self) -> &str {
        &self.measurement
    }

    /// The tags, sorted by key.
    pub fn tags(&self) -> &[(String, String)] {
        &self.tags
    }

    /// The fields, sorted by name; never empty.
    pub fn fields(&self) -> &[(String, FieldValue)] {
        &self.fields
    }

    /// When.
    pub fn time(&self) -> Timestamp {
        self.time
    }

    /// The time in nanoseconds since 1970 (always fits: checked by [`Point::new`]).
    pub fn time_ns(&self) -> i64 {
        i64::try_from(self.time.as_nanosecond()).unwrap_or(i64::MAX)
    }
}

/// Why a sink could not write a batch.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SinkError {
    /// What went wrong, for the log.
    pub message: String,
    /// True when trying again may help (connection refused, timeout, 5xx, 429); false
    /// when the batch itself was refused (4xx): it is then counted as failed at once.
    pub retryable: bool,
}

impl SinkError {
    /// A failure that may go away: the writer retries.
    pub fn transient(message: impl Into<String>) -> SinkError {
        SinkError {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure that will not go away for this batch: the writer gives up on it.
    pub fn permanent(message: impl Into<String>) -> SinkError {
        SinkError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// The future a [`TimeSeriesSink::write`] returns.
pub type WriteFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// Where points go: a time-series database or memory. Called by the [`TsdbWriter`] task
/// only, one batch at a time, so an implementation may take its time; never call it
/// from the ingest path directly.
pub trait TimeSeriesSink: Send + Sync {
    /// Write one batch; `Ok` means every point was accepted.
    fn write<'a>(&'a self, points: &'a [Point]) -> WriteFuture<'a>;
}

/// How the [`TsdbWriter`] queues, batches and retries.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterConfig {
    /// Points the queue holds; beyond it `try_write` drops and counts.
    pub queue: usize,
    /// Most points per batch.
    pub batch: usize,
    /// Longest a queued point waits for its batch to fill.
    pub flush_every: Duration,
    /// Attempts per batch, the first included (at least 1).
    pub attempts: u32,
    /// Wait before the first retry; doubled each retry up to `max_backoff`.
    pub backoff: Duration,
    /// Longest wait between retries.
    pub max_backoff: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            queue: 10_000,
            batch: 1_000,
            flush_every: Duration::from_millis(1_000),
            attempts: 4,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// What the writer has done so far; every point offered is in exactly one of
/// `written`, `dropped_queue_full`, `dropped_closed`, `failed_after_retries`, or still
/// `pending()`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TsdbStats {
    /// Points offered to `try_write`.
    pub offered: u64,
    /// Points the sink accepted.
    pub written: u64,
    /// Points dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Points dropped because the writer was stopped.
    pub dropped_closed: u64,
    /// Points given up on: attempts exhausted, or refused by the sink.
    pub failed_after_retries: u64,
    /// Batches written.
    pub batches: u64,
    /// Failed attempts that were retried.
    pub retries: u64,
}

impl TsdbStats {
    /// Points offered but not yet written or given up on (queued or in flight).
    pub fn pending(&self) -> u64 {
        self.offered.saturating_sub(
            self.written
                + self.dropped_queue_full
                + self.dropped_closed
                + self.failed_after_retries,
        )
    }
}

/// The shared counters behind [`TsdbStats`].
#[derive(Debug, Default)]
struct Counters {
    offered: AtomicU64,
    written: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_closed: AtomicU64,
    failed_after_retries: AtomicU64,
    batches: AtomicU64,
    retries: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> TsdbStats {
        TsdbStats {
            offered: self.offered.load(Ordering::Relaxed),
            written: self.written.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            dropped_closed: self.dropped_closed.load(Ordering::Relaxed),
            failed_after_retries: self.failed_after_retries.load(Ordering::Relaxed),
            batches: self.batches.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
        }
    }
}

/// The ingest side of the writer: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct TsdbHandle {
    /// The bounded queue to the writer task; `try_send` only, so ingest never waits.
    tx: mpsc::Sender<Point>,
    /// Counters shared with the task.
    counters: Arc<Counters>,
}

impl TsdbHandle {
    /// Queue points without waiting; returns how many were queued. The rest are
    /// counted as `dropped_queue_full` (or `dropped_closed` after shutdown).
    pub fn try_write(&self, points: impl IntoIterator<Item = Point>) -> usize {
        let mut queued = 0;
        for p in points {
            self.counters.offered.fetch_add(1, Ordering::Relaxed);
            match self.tx.try_send(p) {
                Ok(()) => queued += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.counters
                        .dropped_queue_full
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.counters.dropped_closed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        queued
    }

    /// The counters now.
    pub fn stats(&self) -> TsdbStats {
        self.counters.snapshot()
    }
}

/// A running writer: a bounded queue and a task that batches points into a
/// [`TimeSeriesSink`], with bounded retries. Ingest uses [`TsdbWriter::handle`] (or
/// [`TsdbWriter::try_write`]) and never waits on the database. Dropping it without
/// [`TsdbWriter::shutdown`] also stops the task, which still writes what was queued.
#[derive(Debug)]
pub struct TsdbWriter {
    /// Queue and counters.
    handle: TsdbHandle,
    /// Tells the task to write what is queued and stop.
    stop: oneshot::Sender<()>,
    /// The batching task; joined by `shutdown`.
    task: JoinHandle<()>,
}

impl TsdbWriter {
    /// Start the writer task on the current tokio runtime. `cfg.queue`, `cfg.batch` and
    /// `cfg.attempts` are taken as at least 1.
    pub fn spawn(sink: Arc<dyn TimeSeriesSink>, cfg: WriterConfig) -> TsdbWriter {
        let (tx, rx) = mpsc::channel(cfg.queue.max(1));
        let (stop, stop_rx) = oneshot::channel();
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(sink, cfg, rx, stop_rx, Arc::clone(&counters)));
        TsdbWriter {
            handle: TsdbHandle { tx, counters },
            stop,
            task,
        }
    }

    /// A handle for ingest (clone it freely).
    pub fn handle(&self) -> TsdbHandle {
        self.handle.clone()
    }

    /// Queue points without waiting; see [`TsdbHandle::try_write`].
    pub fn try_write(&self, points: impl IntoIterator<Item = Point>) -> usize {
        self.handle.try_write(points)
    }

    /// The counters now.
    pub fn stats(&self) -> TsdbStats {
        self.handle.stats()
    }

    /// Write what is queued (with the usual retries), stop the task and return the
    /// final counters. Points offered through handles afterwards count as `dropped_closed`.
    pub async fn shutdown(self) -> TsdbStats {
        let TsdbWriter { handle, stop, task } = self;
        let _ = stop.send(());
        if let Err(e) = task.await {
            tracing::error!(error = %e, "Time-series writer task failed.");
        }
        handle.stats()
    }
}

/// The writer task: fill a batch (up to `batch` points or `flush_every` after its first
/// point), write it, repeat; on stop, drain the queue and return.
async fn run(
    sink: Arc<dyn TimeSeriesSink>,
    cfg: WriterConfig,
    mut rx: mpsc::Receiver<Point>,
    mut stop: oneshot::Receiver<()>,
    counters: Arc<Counters>,
) {
    let max = cfg.batch.max(1);
    let mut batch = Vec::with_capacity(max.min(4096));
    loop {
        let first = tokio::select! {
            biased;
            p = rx.recv() => p,
            _ = &mut stop => None,
        };
        let Some(first) = first else { break };
        batch.push(first);
        let deadline = tokio::time::Instant::now() + cfg.flush_every;
        let mut stopping = false;
        while batch.len() < max {
            tokio::select! {
                biased;
                p = rx.recv() => match p {
                    Some(p) => batch.push(p),
                    None => break,
                },
                _ = &mut stop => { stopping = true; break; }
                _ = tokio::time::sleep_until(deadline) => break,
            }
        }
        if stopping {
            // The partial batch goes on filling from the queue below.
            break;
        }
        write_with_retries(sink.as_ref(), &cfg, &mut batch, &counters).await;
    }
    // Stopping: refuse new points, then write everything already queued.
    rx.close();
    while let Some(p) = rx.recv().await {
        batch.push(p);
        if batch.len() >= max {
            write_with_retries(sink.as_ref(), &cfg, &mut batch, &counters).await;
        }
    }
    write_with_retries(sink.as_ref(), &cfg, &mut batch, &counters).await;
}

/// Write one batch with bounded exponential backoff, count the outcome, clear it.
async fn write_with_retries(
    sink: &dyn TimeSeriesSink,
    cfg: &WriterConfig,
    batch: &mut Vec<Point>,
    counters: &Counters,
) {
    if batch.is_empty() {
        return;
    }
    let n = batch.len() as u64;
    let attempts = cfg.attempts.max(1);
    let mut wait = cfg.backoff;
    for attempt in 1..=attempts {
        match sink.write(batch).await {
            Ok(()) => {
                counters.written.fetch_add(n, Ordering::Relaxed);
                counters.batches.fetch_add(1, Ordering::Relaxed);
                break;
            }
            Err(e) if e.retryable && attempt < attempts => {
                tracing::debug!(error = %e, attempt, points = n, "Time-series write failed; retrying.");
                counters.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(cfg.max_backoff);
            }
            Err(e) => {
                tracing::warn!(error = %e, attempt, points = n, "Dropped time-series batch.");
                counters
                    .failed_after_retries
                    .fetch_add(n, Ordering::Relaxed);
                break;
            }
        }
    }
    batch.clear();
}

fn push_field(fields: &mut Vec<(String, FieldValue)>, name: &str, v: Option<f64>) {
    if let Some(v) = v.filter(|v| v.is_finite()) {
        fields.push((name.to_owned(), FieldValue::F64(v)));
    }
}

/// The time-series points of an observation, at its `time`: an AIS message with a
/// position or motion gives `ais_position` (tag `mmsi`; fields `lat`, `lon`, `sog_kn`,
/// `cog_deg` when present), a patrol fix gives `patrol_fix` (tag `unit`; the same
/// fields plus `heading_deg`). Anything else (static data, radar, reports) gives none.
pub fn points_from_observation(obs: &Observation) -> Vec<Point> {
    let mut fields = Vec::new();
    let (measurement, tags) = match &obs.data {
        ObservationData::Ais(a) => {
            push_field(&mut fields, "lat", a.lat);
            push_field(&mut fields, "lon", a.lon);
            push_field(&mut fields, "sog_kn", a.sog_kn);
            push_field(&mut fields, "cog_deg", a.cog_deg);
            (AIS_POSITION, vec![("mmsi".to_owned(), a.mmsi.to_string())])
        }
        ObservationData::PatrolFix {
            unit,
            lat,
            lon,
            sog_kn,
            cog_deg,
            heading_deg,
        } => {
            push_field(&mut fields, "lat", *lat);
            push_field(&mut fields, "lon", *lon);
            push_field(&mut fields, "sog_kn", *sog_kn);
            push_field(&mut fields, "cog_deg", *cog_deg);
            push_field(&mut fields, "heading_deg", *heading_deg);
            (PATROL_FIX, vec![("unit".to_owned(), unit.to_string())])
        }
        _ => return Vec::new(),
    };
    if fields.is_empty() {
        return Vec::new();
    }
    match Point::new(measurement, tags, fields, obs.time) {
        Ok(p) => vec![p],
        Err(e) => {
            tracing::debug!(error = %e, id = %obs.id, "Observation not written as a time-series point.");
            Vec::new()
        }
    }
}

/// The ingest counters at `time`: one `ingest` point (fields `messages`,
/// `observations`, `updates`, `rejected`, `connects`, `connection_errors`,
/// `unexpected_topics`; cumulative) and one `ingest_rejected` point per reject reason
/// (tag `reason`, field `count`).
pub fn points_from_service_stats(stats: &ServiceStats, time: Timestamp) -> Vec<Point> {
    let int = |v: u64| FieldValue::I64(i64::try_from(v).unwrap_or(i64::MAX));
    let rejected: u64 = stats.rejected.values().sum();
    let fields = [
        ("messages", stats.messages),
        ("observations", stats.observations),
        ("updates", stats.updates),
        ("rejected", rejected),
        ("connects", stats.connects),
        ("connection_errors", stats.connection_errors),
        ("unexpected_topics", stats.unexpected_topics),
    ]
    .map(|(k, v)| (k.to_owned(), int(v)));
    let mut out: Vec<Point> = Point::new(INGEST, [], fields, time).into_iter().collect();
    out.extend(stats.rejected.iter().filter_map(|(reason, n)| {
        Point::new(
            INGEST_REJECTED,
            [("reason".to_owned(), reason.clone())],
            [("count".to_owned(), int(*n))],
            time,
        )
        .ok()
    }));
    out
}

impl fmt::Display for Point {
    /// A readable, line-protocol-like rendering, for logs and test failures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.measurement)?;
        for (k, v) in &self.tags {
            write!(f, ",{k}={v}")?;
        }
        for (i, (k, v)) in self.fields.iter().enumerate() {
            let sep = if i == 0 { ' ' } else { ',' };
            match v {
                FieldValue::F64(x) => write!(f, "{sep}{k}={x}")?,
                FieldValue::I64(x) => write!(f, "{sep}{k}={x}i")?,
            }
        }
        write!(f, " {}", self.time_ns())
    }
}

/// The metrics of `/metrics`.
impl crate::stats::Report for TsdbStats {
    fn describe() {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!(
            "tidewatch_tsdb_points_total",
            Unit::Count,
            "Time-series points by outcome"
        );
        describe_gauge!(
            "tidewatch_tsdb_queue_depth",
            Unit::Count,
            "Time-series points queued or in flight"
        );
    }

    fn record(&self) {
        use metrics::{counter, gauge};
        let s = self;
        for (outcome, n) in [
            ("offered", s.offered),
            ("written", s.written),
            ("dropped_queue_full", s.dropped_queue_full),
            ("dropped_closed", s.dropped_closed),
            ("failed", s.failed_after_retries),
        ] {
            counter!("tidewatch_tsdb_points_total", "outcome" => outcome).absolute(n);
        }
        gauge!("tidewatch_tsdb_queue_depth").set(s.pending() as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AisObservation, TimeSource};
    use std::sync::Mutex;

    fn pt(i: i64) -> Point {
        Point::new(
            "m",
            [("k".to_owned(), "v".to_owned())],
            [("i".to_owned(), FieldValue::I64(i))],
            Timestamp::UNIX_EPOCH,
        )
        .unwrap()
    }

    /// Records each batch; fails the first `fail` calls (transiently unless `permanent`).
    #[derive(Default)]
    struct Flaky {
        fail: Mutex<u32>,
        permanent: bool,
        calls: Mutex<u32>,
        batches: Mutex<Vec<Vec<Point>>>,
    }

    impl TimeSeriesSink for Flaky {
        fn write<'a>(&'a self, points: &'a [Point]) -> WriteFuture<'a> {
            *self.calls.lock().unwrap() += 1;
            let mut fail = self.fail.lock().unwrap();
            let r = if *fail > 0 {
                *fail -= 1;
                Err(if self.permanent {
                    SinkError::permanent("400")
                } else {
                    SinkError::transient("down")
                })
            } else {
                self.batches.lock().unwrap().push(points.to_vec());
                Ok(())
            };
            Box::pin(std::future::ready(r))
        }
    }

    fn cfg() -> WriterConfig {
        WriterConfig {
            queue: 100,
            batch: 3,
            flush_every: Duration::from_millis(100),
            attempts: 3,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(150),
        }
    }

    #[test]
    fn point_validation() {
        let t = Timestamp::UNIX_EPOCH;
        let f = || [("f".to_owned(), FieldValue::F64(1.0))];
        assert_eq!(
            Point::new("", [], f(), t),
            Err(PointError::Empty("measurement"))
        );
        assert_eq!(
            Point::new("m", [], [("f".to_owned(), FieldValue::F64(f64::NAN))], t),
            Err(PointError::NotFinite("f".into()))
        );
        assert!(matches!(
            Point::new(
                "m",
                [],
                [("f".to_owned(), FieldValue::F64(f64::INFINITY))],
                t
            ),
            Err(PointError::NotFinite(_))
        ));
        assert_eq!(Point::new("m", [], [], t), Err(PointError::NoFields));
        assert_eq!(
            Point::new("m", [("k".into(), String::new())], f(), t),
            Err(PointError::Empty("tag value"))
        );
        assert!(matches!(
            Point::new("m\n", [], f(), t),
            Err(PointError::ControlChar { .. })
        ));
        assert!(matches!(
            Point::new(
                "m",
                [("a".into(), "1".into()), ("a".into(), "2".into())],
                f(),
                t
            ),
            Err(PointError::Duplicate { what: "tag", .. })
        ));
        assert!(matches!(
            Point::new(
                "m",
                [],
                [
                    ("f".to_owned(), FieldValue::I64(1)),
                    ("f".to_owned(), FieldValue::I64(2))
                ],
                t
            ),
            Err(PointError::Duplicate { what: "field", .. })
        ));
        let far: Timestamp = "2300-01-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            Point::new("m", [], f(), far),
            Err(PointError::TimestampRange(far))
        );
        let p = Point::new(
            "m",
            [("z".into(), "1".into()), ("a".into(), "2".into())],
            [
                ("y".to_owned(), FieldValue::I64(1)),
                ("b".to_owned(), FieldValue::F64(0.5)),
            ],
            "2026-11-22T00:00:00.123456789Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(p.tags()[0].0, "a");
        assert_eq!(p.fields()[0].0, "b");
        assert_eq!(p.time_ns(), 1_795_305_600_123_456_789);
        assert_eq!(p.to_string(), "m,a=2,z=1 b=0.5,y=1i 1795305600123456789");
    }

    #[tokio::test(start_paused = true)]
    async fn batches_by_size_then_by_time() {
        let sink = Arc::new(Flaky::default());
        let w = TsdbWriter::spawn(sink.clone(), cfg());
        assert_eq!(w.try_write((0..7).map(pt)), 7);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let sizes = |s: &Flaky| {
            s.batches
                .lock()
                .unwrap()
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(&sink), [3, 3]);
        assert_eq!(w.stats().pending(), 1);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(sizes(&sink), [3, 3, 1]);
        let got: Vec<Point> = sink.batches.lock().unwrap().concat();
        assert_eq!(got, (0..7).map(pt).collect::<Vec<_>>());
        let st = w.shutdown().await;
        assert_eq!(
            (st.offered, st.written, st.batches, st.pending()),
            (7, 7, 3, 0)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn full_queue_drops_and_counts() {
        let sink = Arc::new(Flaky::default());
        let w = TsdbWriter::spawn(sink.clone(), WriterConfig { queue: 4, ..cfg() });
        // The task has not run yet (current-thread runtime): only 4 fit.
        assert_eq!(w.try_write((0..10).map(pt)), 4);
        let h = w.handle();
        assert_eq!(h.stats().dropped_queue_full, 6);
        let st = w.shutdown().await;
        assert_eq!(
            (st.offered, st.written, st.dropped_queue_full, st.pending()),
            (10, 4, 6, 0)
        );
        assert_eq!(h.try_write([pt(1)]), 0);
        assert_eq!(h.stats().dropped_closed, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_backoff_then_writes() {
        let sink = Arc::new(Flaky {
            fail: Mutex::new(2),
            ..Flaky::default()
        });
        let w = TsdbWriter::spawn(sink.clone(), cfg());
        let t0 = tokio::time::Instant::now();
        w.try_write((0..3).map(pt));
        let st = w.shutdown().await;
        assert_eq!((st.written, st.retries, st.failed_after_retries), (3, 2, 0));
        // 100 ms then 150 ms (200 capped).
        assert_eq!(t0.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn counts_failures_after_the_last_attempt() {
        let sink = Arc::new(Flaky {
            fail: Mutex::new(u32::MAX),
            ..Flaky::default()
        });
        let w = TsdbWriter::spawn(sink.clone(), cfg());
        w.try_write((0..5).map(pt));
        let st = w.shutdown().await;
        assert_eq!((st.written, st.failed_after_retries, st.retries), (0, 5, 4));
        assert_eq!(*sink.calls.lock().unwrap(), 6, "2 batches × 3 attempts");
        assert_eq!(st.pending(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let sink = Arc::new(Flaky {
            fail: Mutex::new(1),
            permanent: true,
            ..Flaky::default()
        });
        let w = TsdbWriter::spawn(sink.clone(), cfg());
        w.try_write((0..4).map(pt));
        let st = w.shutdown().await;
        assert_eq!((st.written, st.failed_after_retries, st.retries), (1, 3, 0));
    }

    #[tokio::test]
    async fn memory_sink_through_the_writer() {
        let sink = Arc::new(MemorySink::new(100));
        let w = TsdbWriter::spawn(sink.clone(), WriterConfig::default());
        w.try_write((0..10).map(pt));
        w.shutdown().await;
        assert_eq!(sink.snapshot(), (0..10).map(pt).collect::<Vec<_>>());
    }

    fn obs(data: ObservationData) -> Observation {
        Observation {
            id: "x".into(),
            time: "2026-11-22T02:10:07.5Z".parse().unwrap(),
            time_source: TimeSource::TagBlock,
            received_at: "2026-11-22T02:10:07.6Z".parse().unwrap(),
            receivers: vec!["r".into()],
            data,
        }
    }

    #[test]
    fn observation_to_points() {
        let a = AisObservation {
            mmsi: 244_123_456,
            msg_type: 1,
            lat: Some(35.5),
            lon: Some(12.25),
            sog_kn: Some(13.5),
            cog_deg: None,
            name: Some("NOT A FIELD".into()),
            ..AisObservation::default()
        };
        let o = obs(ObservationData::Ais(a.clone()));
        let pts = points_from_observation(&o);
        assert_eq!(pts.len(), 1);
        assert_eq!(
            pts[0].to_string(),
            "ais_position,mmsi=244123456 lat=35.5,lon=12.25,sog_kn=13.5 1795313407500000000"
        );
        assert_eq!(pts[0].time(), o.time);
        // Static data (no position or motion): nothing.
        let st = AisObservation {
            mmsi: 1,
            msg_type: 5,
            name: Some("X".into()),
            ..AisObservation::default()
        };
        assert!(points_from_observation(&obs(ObservationData::Ais(st))).is_empty());
        // A NaN is skipped, not a failure.
        let nan = AisObservation {
            lat: Some(f64::NAN),
            lon: Some(1.0),
            ..a
        };
        let pts = points_from_observation(&obs(ObservationData::Ais(nan)));
        assert_eq!(pts[0].fields().len(), 2);
    }

    #[test]
    fn counters_to_points() {
        let stats = ServiceStats {
            messages: 10,
            observations: 7,
            rejected: [("checksum".to_owned(), 2), ("syntax".to_owned(), 1)].into(),
            ..ServiceStats::default()
        };
        let t = Timestamp::UNIX_EPOCH;
        let pts = points_from_service_stats(&stats, t);
        let lines: Vec<String> = pts.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "ingest connection_errors=0i,connects=0i,messages=10i,observations=7i,rejected=3i,unexpected_topics=0i,updates=0i 0",
                "ingest_rejected,reason=checksum count=2i 0",
                "ingest_rejected,reason=syntax count=1i 0",
            ]
        );
    }
}
