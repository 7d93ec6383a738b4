//! The fusion service: the engine over MQTT.
//!
//! ```text
//!  tidewatch/v1/obs/# ──(QoS 1, persistent session)──▶ engine ──▶ alerts.jsonl, taskings.jsonl (fsync'd)
//!                                                        │       ──▶ tidewatch/v1/alerts/{kind}
//!                                                        │       ──▶ tidewatch/v1/patrol/{unit}/tasking
//!                       ack ◀── after the alerts it caused are stored ┘
//! ```
//!
//! An observation is acknowledged only once the alert revisions it caused are in the
//! alert store, so a crash loses none (the broker redelivers). Alerts go out on a second
//! connection: on one, rumqttc sends nothing, acks included, while its own publish window
//! is full, and a burst of alerts could stall the subscription (ingest found this).
//!
//! The clock: the data's time, carried forward in real time between observations. Live
//! feeds keep it at wall-clock time; a replay or an accelerated demo drives it at its own
//! pace, and silences still become gaps when the feeds stop.

use crate::alert::Alert;
use crate::clock::{DATA_TICK, DataClock, advance_clock};
use crate::engine::{FusionEngine, FusionEvent};
use crate::memory::{self, Memory};
use crate::store::Store;
use ingest::link::client::{self, Failover};
use ingest::link::outbox::{Link, Outbox};
use ingest::model::Observation;
use ingest::wire::Tasking;
use ingest::wire::topics::{OBS_FILTER, Topic, UnitId};
use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, EventLoop, Packet, Publish, QoS};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where and how the service runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The broker, and who fusion is on it.
    pub broker: client::Endpoint,
    /// Directory of the alert store (`alerts.jsonl`) and refused observations
    /// (`rejects.jsonl`).
    pub dir: PathBuf,
    /// How often the engine ticks, wall time.
    pub tick: Duration,
    /// Observation ids remembered to drop redeliveries.
    pub remember_ids: usize,
    /// How often the engine's state is saved (`DIR/state/`), wall time: a restart
    /// replays at most about this much of the journal.
    pub snapshot_every: Duration,
    /// A tick every this much of the data's time, as it flows.
    pub data_tick: SignedDuration,
    /// Carry the clock forward in real time between observations (live feeds: silences
    /// become gaps when every feed stops). Off, the clock follows the data alone and the
    /// alerts are a function of the observations: a replay through the broker.
    pub carry_clock: bool,
    /// Days closed files of alert revisions and taskings are kept.
    pub retain_alerts_days: u32,
    /// Days closed files of refused messages are kept.
    pub retain_rejects_days: u32,
}

impl ServiceConfig {
    /// Defaults: client id `tidewatch-fusion`, a tick every 5 s (and every minute of the
    /// data's time), 200 000 ids remembered, the state saved every 30 s.
    pub fn new(host: &str, port: u16, dir: impl Into<PathBuf>) -> Self {
        ServiceConfig {
            broker: client::Endpoint::new(host, port, "tidewatch-fusion"),
            dir: dir.into(),
            tick: Duration::from_secs(5),
            remember_ids: 200_000,
            snapshot_every: Duration::from_secs(30),
            data_tick: DATA_TICK,
            carry_clock: true,
            retain_alerts_days: crate::store::DEFAULT_RETAIN_ALERTS_DAYS,
            retain_rejects_days: crate::store::DEFAULT_RETAIN_REJECTS_DAYS,
        }
    }
}

/// Why the service stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The alert store could not be written: the service stops rather than lose alerts.
    #[error("alert store {path}: {source}")]
    Store {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The MQTT client is gone (its event loop stopped).
    #[error("MQTT client: {0}")]
    Client(#[from] rumqttc::ClientError),
}

/// Counters, readable while the service runs (for `/metrics` and the status page).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceStats {
    /// Observations taken by the engine.
    pub observations: u64,
    /// Observations delivered again (same id), not taken twice.
    pub duplicates: u64,
    /// Messages refused, by reason (kept in `rejects.jsonl`).
    pub rejected: BTreeMap<&'static str, u64>,
    /// Alert revisions stored and published, by kind.
    pub alert_revisions: BTreeMap<String, u64>,
    /// Taskings stored and published to patrol units.
    pub taskings: u64,
    /// Observations stamped more than an hour ahead of both clocks, taken at the
    /// current clock instead.
    pub future_times: u64,
    /// Connections made to the broker (both connections).
    pub connects: u64,
    /// The subscription to observations is confirmed by the broker (SUBACK) on the current
    /// connection: from then on, what ingest publishes reaches fusion.
    pub subscribed: bool,
    /// Connection errors (each followed by a reconnect).
    pub connection_errors: u64,
    /// Vessels tracked now.
    pub vessels: u64,
    /// The fusion clock: the data's time carried forward.
    pub clock: Option<Timestamp>,
    /// The start found a snapshot of the engine's state.
    pub restored_from_snapshot: bool,
    /// Journal entries replayed at the start.
    pub replayed: u64,
    /// Journal lines that could not be read at the start (a line torn by a crash).
    pub journal_unreadable: u64,
    /// Seconds the start took to restore the state.
    pub restore_seconds: f64,
    /// Snapshots written since the start, and the latest one's size, bytes.
    pub snapshots: u64,
    /// See `snapshots`.
    pub snapshot_bytes: u64,
    /// The stores (journal, alerts, taskings) cannot be written now (a full disk):
    /// nothing is acknowledged until they can.
    pub store_failing: bool,
    /// Episodes of `store_failing`.
    pub store_failures: u64,
}

/// A handle on a running service's counters.
pub type ServiceHandle = ingest::stats::Shared<ServiceStats>;

/// Observation ids seen lately.
struct Seen {
    set: HashSet<String>,
    order: VecDeque<String>,
    cap: usize,
}

impl Seen {
    fn first_time(&mut self, id: &str) -> bool {
        if self.set.contains(id) {
            return false;
        }
        if self.order.len() >= self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        self.set.insert(id.to_owned());
        self.order.push_back(id.to_owned());
        true
    }
}

/// Poll an event loop for ever, forwarding incoming publishes and counting connections.
async fn poll(
    mut el: EventLoop,
    mut nodes: Failover,
    tx: Option<mpsc::Sender<Publish>>,
    client: Option<AsyncClient>,
    handle: ServiceHandle,
) {
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                nodes.connected();
                handle.update(|s| {
                    s.connects += 1;
                    if client.is_some() {
                        s.subscribed = false;
                    }
                });
                // Subscriptions are renewed on every connection (a broker may have lost them).
                if let Some(c) = &client {
                    let _ = c.subscribe(OBS_FILTER, QoS::AtLeastOnce).await;
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => handle.update(|s| s.subscribed = true),
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if let Some(tx) = &tx
                    && tx.send(p).await.is_err()
                {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                handle.update(|s| {
                    s.connection_errors += 1;
                    if client.is_some() {
                        s.subscribed = false;
                    }
                });
                tracing::warn!(error = %e, "fusion: MQTT connection lost; reconnecting");
                nodes.lost(&mut el).await;
            }
        }
    }
}

/// Everything the service's loop holds: the engine, its clock, what it remembers and
/// where it stores.
struct Fusion {
    engine: FusionEngine,
    seen: Seen,
    clock: Option<Timestamp>,
    /// The clock at the latest tick.
    last_tick: Option<Timestamp>,
    last_wall: Instant,
    events: Vec<FusionEvent>,
    /// Stored, not yet published.
    unpublished: Vec<FusionEvent>,
    /// The lengths of the alert and tasking stores whose every line the broker has
    /// confirmed (what a snapshot records: a restart publishes again what lies beyond).
    published: (u64, u64),
    /// After each commit that published: the outbox's count of publishes given, and the
    /// stores' lengths then; taken off once the broker has confirmed that many.
    marks: VecDeque<(u64, (u64, u64))>,
    store: Store,
    /// Compression and retention of closed days.
    _upkeep: ingest::hourly::Upkeep,
    /// When closing the day was last tried (it waits for a snapshot).
    last_day_check: Option<Instant>,
    memory: Memory,
    handle: ServiceHandle,
    /// Alert revisions and taskings a replay produced again that are already stored:
    /// not stored nor published twice.
    stored: HashSet<String>,
    data_tick: SignedDuration,
}

impl Fusion {
    /// Open the stores, load the newest snapshot and replay the journal after it.
    fn start(
        cfg: &ServiceConfig,
        engine: FusionEngine,
        handle: ServiceHandle,
    ) -> Result<Fusion, ServiceError> {
        let began = Instant::now();
        let store = Store::open(&cfg.dir).map_err(|source| ServiceError::Store {
            path: cfg.dir.display().to_string(),
            source,
        })?;
        let upkeep =
            crate::store::upkeep(&cfg.dir, cfg.retain_alerts_days, cfg.retain_rejects_days)
                .map_err(|source| ServiceError::Store {
                    path: cfg.dir.display().to_string(),
                    source,
                })?;
        let state_dir = cfg.dir.join("state");
        let err = |source| ServiceError::Store {
            path: state_dir.display().to_string(),
            source,
        };
        let mut engine = engine;
        let fresh = engine.save_state();
        let found = match memory::find(&state_dir, &mut engine) {
            Ok(f) => f,
            Err(e) => {
                // Never start on a state that cannot be trusted, and never destroy it:
                // set it aside, say so loudly, and start empty.
                let aside = cfg
                    .dir
                    .join(format!("state-unusable-{}", Timestamp::now().as_second()));
                tracing::error!(error = %e, aside = %aside.display(),
                    "fusion: the saved state cannot be read; it is set aside and fusion starts empty");
                std::fs::rename(&state_dir, &aside).map_err(err)?;
                engine.load_state(&fresh).expect("a fresh state reads back");
                memory::find(&state_dir, &mut engine).map_err(err)?
            }
        };
        for b in &found.bad_snapshots {
            tracing::error!(snapshot = %b, "fusion: a snapshot cannot be read; an older one is used");
        }
        let memory = Memory::start(&state_dir, &found, cfg.snapshot_every).map_err(err)?;
        let mut f = Fusion {
            engine,
            seen: Seen {
                set: HashSet::new(),
                order: VecDeque::new(),
                cap: cfg.remember_ids.max(1),
            },
            clock: found
                .standing
                .clock_ms
                .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            last_tick: found
                .standing
                .last_tick_ms
                .and_then(|ms| Timestamp::from_millisecond(ms).ok()),
            last_wall: Instant::now(),
            events: Vec::new(),
            unpublished: Vec::new(),
            published: (found.alerts_len, found.taskings_len),
            marks: VecDeque::new(),
            store,
            _upkeep: upkeep,
            last_day_check: None,
            memory,
            handle,
            stored: HashSet::new(),
            data_tick: cfg.data_tick,
        };
        for id in &found.standing.seen {
            f.seen.first_time(id);
        }
        // Replay: the engine takes again, at the same clock, what it took before it stopped.
        let (mut replayed, mut unreadable) = (0u64, found.unreadable);
        for e in &found.entries {
            match e {
                memory::Entry::Observation(ms, json) => {
                    let Ok(obs) = serde_json::from_slice::<Observation>(json) else {
                        // Counted and logged below (damage: a line torn by a crash has no
                        // newline and never gets here).
                        unreadable += 1;
                        continue;
                    };
                    let now = Timestamp::from_millisecond(*ms).unwrap_or(Timestamp::UNIX_EPOCH);
                    f.seen.first_time(&obs.id);
                    f.engine.observe(&obs, now, &mut f.events);
                    f.clock = Some(now);
                    replayed += 1;
                }
                memory::Entry::Tick(ms) => {
                    let now = Timestamp::from_millisecond(*ms).unwrap_or(Timestamp::UNIX_EPOCH);
                    f.events.extend(f.engine.tick(now));
                    f.clock = Some(now);
                    f.last_tick = Some(now);
                }
            }
        }
        // What the replay produced that the stores already hold is not issued again.
        f.stored = stored_since(&cfg.dir.join("alerts.jsonl"), found.alerts_len, true)
            .and_then(|mut a| {
                a.extend(stored_since(
                    &cfg.dir.join("taskings.jsonl"),
                    found.taskings_len,
                    false,
                )?);
                Ok(a)
            })
            .map_err(|source| ServiceError::Store {
                path: cfg.dir.display().to_string(),
                source,
            })?;
        // What the stores hold that the broker may never have confirmed (the process
        // stopped first, or a session was lost with it in flight) goes out again, first.
        f.unpublished =
            stored_events(&cfg.dir, f.published).map_err(|source| ServiceError::Store {
                path: cfg.dir.display().to_string(),
                source,
            })?;
        let restore = began.elapsed();
        let vessels = f.engine.vessels().count() as u64;
        tracing::info!(
            snapshot = ?found.snapshot, replayed, unreadable,
            vessels, seconds = restore.as_secs_f64(),
            "fusion: state restored"
        );
        if unreadable > 0 {
            // A line torn by a crash was never acknowledged (the broker delivers it again);
            // anything else is damage to the disk.
            tracing::warn!(
                unreadable,
                "fusion: journal lines could not be read at start (a torn last line is expected after a crash)"
            );
        }
        f.handle.update(|s| {
            s.restored_from_snapshot = found.snapshot.is_some();
            s.replayed = replayed;
            s.journal_unreadable = unreadable;
            s.restore_seconds = restore.as_secs_f64();
            s.vessels = vessels;
            s.clock = f.clock;
            s.observations = f.engine.stats().observations;
        });
        Ok(f)
    }

    /// Take one delivered message (journaled, not yet synced).
    fn take(&mut self, p: &Publish) {
        let topic = p.topic.as_str();
        let handle = &self.handle;
        let store = &mut self.store;
        let refuse = |store: &mut Store, reason: &'static str, error: &str| {
            store.reject(topic, reason, error, &p.payload);
            handle.update(|s| *s.rejected.entry(reason).or_default() += 1);
            tracing::warn!(topic = %topic, reason, error, "fusion: observation refused");
        };
        let parsed = Topic::parse(topic);
        if !matches!(
            parsed,
            Some(Topic::ObsAis(_) | Topic::ObsPatrol(_) | Topic::ObsRadar(_))
        ) {
            return refuse(store, "unknown_topic", "not an observation topic");
        }
        let obs: Observation = match serde_json::from_slice(&p.payload) {
            Ok(o) => o,
            Err(e) => return refuse(store, "bad_observation", &e.to_string()),
        };
        // The broker lets only ingest publish here, but cannot read the content: an observation
        // about another vessel or unit than its topic names is not what ingest publishes.
        let belongs = Topic::of_observation(&obs);
        if parsed.as_ref() != Some(&belongs) {
            return refuse(
                store,
                "topic_mismatch",
                &format!("an observation that belongs on {belongs}"),
            );
        }
        if !self.seen.first_time(&obs.id) {
            handle.update(|s| s.duplicates += 1);
            return;
        }
        let (now, advanced) = advance_clock(self.clock, obs.time, Timestamp::now());
        if advanced {
            self.last_wall = Instant::now();
        } else if obs.time > now {
            // A time far ahead (a sender's broken clock) would make every vessel look silent.
            handle.update(|s| s.future_times += 1);
        }
        self.clock = Some(now);
        self.memory.observation(now.as_millisecond(), &p.payload);
        self.engine.observe(&obs, now, &mut self.events);
        handle.update(|s| s.observations += 1);
        // Time passes with the data too: a tick every `data_tick` of the data's time, so
        // that what the engine does depends on the data alone while it flows.
        if DataClock::tick_due(self.last_tick, now, self.data_tick) {
            self.tick(now);
        }
    }

    /// A tick at `now` (journaled).
    fn tick(&mut self, now: Timestamp) {
        self.memory.tick(now.as_millisecond());
        self.events.extend(self.engine.tick(now));
        self.last_tick = Some(now);
    }

    /// Sync the journal, then store and publish what the engine produced. After this the
    /// observations taken may be acknowledged.
    ///
    /// A write that fails (a full disk) is undone — the files are cut back to what they
    /// held — and retried with backoff until it succeeds: nothing is acknowledged
    /// meanwhile, so the broker keeps the observations (and the embedded broker, the
    /// publishers' acknowledgements). Logged once per episode, shown in `/metrics`.
    async fn commit(&mut self, out: &Outbox) -> Result<(), ServiceError> {
        let mut delay = Duration::from_millis(100);
        let mut failing = false;
        loop {
            match self.store_all() {
                Ok(()) => break,
                Err((path, e)) => {
                    if !failing {
                        tracing::error!(path = %path, error = %e,
                            "fusion: cannot write its stores; nothing is acknowledged until it can (retrying)");
                        self.handle.update(|s| {
                            s.store_failing = true;
                            s.store_failures += 1;
                        });
                        failing = true;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        if failing {
            tracing::warn!("fusion: its stores can be written again");
            self.handle.update(|s| s.store_failing = false);
        }
        if !self.unpublished.is_empty() {
            publish(&mut self.unpublished, out)?;
            self.marks.push_back((out.produced(), self.store.lens()));
        }
        Ok(())
    }

    /// Move [`Fusion::published`] up to what the broker has confirmed.
    fn confirmed(&mut self, out: &Outbox) {
        let confirmed = out.confirmed();
        while let Some(&(produced, lens)) = self.marks.front() {
            if produced > confirmed {
                break;
            }
            self.published = lens;
            self.marks.pop_front();
        }
    }

    /// Sync the journal, then store the alert revisions and taskings (each store's append
    /// all or nothing), moving what is stored to `unpublished`.
    fn store_all(&mut self) -> Result<(), (String, std::io::Error)> {
        let path = self.memory.journal_path();
        self.memory
            .sync()
            .map_err(|e| (path.display().to_string(), e))?;
        // What was refused is kept before the batch is acknowledged.
        self.store.sync_rejects()?;
        if !self.stored.is_empty() {
            let stored = &mut self.stored;
            self.events.retain(|e| !stored.remove(&event_key(e)));
        }
        let alerts: Vec<&Alert> = self
            .events
            .iter()
            .filter_map(|e| match e {
                FusionEvent::Alert(a) => Some(a),
                _ => None,
            })
            .collect();
        self.store.append(false, &alerts)?;
        // Counted when stored: what goes out again after a restart or a lost session is not
        // counted twice.
        self.handle.update(|s| {
            for a in &alerts {
                *s.alert_revisions
                    .entry(a.kind.as_str().to_string())
                    .or_default() += 1;
            }
        });
        self.unpublished.extend(
            self.events
                .extract_if(.., |e| matches!(e, FusionEvent::Alert(_))),
        );
        let taskings: Vec<&Tasking> = self
            .events
            .iter()
            .filter_map(|e| match e {
                FusionEvent::Tasking(t) => Some(t),
                _ => None,
            })
            .collect();
        self.store.append(true, &taskings)?;
        self.handle.update(|s| s.taskings += taskings.len() as u64);
        self.unpublished.append(&mut self.events);
        Ok(())
    }

    /// What the loop keeps besides the engine, for a snapshot.
    fn standing(&self) -> memory::Standing {
        memory::Standing {
            clock_ms: self.clock.map(|c| c.as_millisecond()),
            last_tick_ms: self.last_tick.map(|c| c.as_millisecond()),
            seen: self.seen.order.iter().cloned().collect(),
        }
    }

    /// Save the state if a snapshot is due (or `now`, waiting for it). Call after a commit.
    fn save(&mut self, now: bool) {
        // A new day: close the stores' files, right after a snapshot that counts the live
        // files from their first byte (tried at most once a minute).
        // Only once the broker has confirmed everything in them (save follows a commit, so
        // nothing stored waits to be handed): their lines are not published again after.
        let close_day = self.store.day_over(Timestamp::now())
            && self.marks.is_empty()
            && self
                .last_day_check
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if close_day {
            self.last_day_check = Some(Instant::now());
            self.memory.finish();
            let standing = self.standing();
            match self.memory.snapshot(&self.engine, standing, 0, 0, true) {
                Ok(()) => match self.store.close_day(Timestamp::now()) {
                    Ok(()) => self.published = (0, 0),
                    Err(e) => {
                        tracing::error!(error = %e, "fusion: cannot close the day's stores; retried in a minute");
                    }
                },
                Err(e) => tracing::error!(error = %e,
                    "fusion: cannot save its state; the day's stores stay open until it can"),
            }
        }
        if !now && !self.memory.due() {
            let (n, bytes) = (self.memory.snapshots, self.memory.snapshot_bytes);
            if self.handle.read(|s| s.snapshots != n).unwrap_or(false) {
                self.handle.update(|s| {
                    s.snapshots = n;
                    s.snapshot_bytes = bytes;
                });
            }
            return;
        }
        let (a, t) = self.published;
        let standing = self.standing();
        if let Err(e) = self.memory.snapshot(&self.engine, standing, a, t, now) {
            tracing::error!(error = %e, "fusion: cannot save its state; a restart replays a longer journal");
        }
        if now {
            self.memory.finish();
        }
        let (n, bytes) = (self.memory.snapshots, self.memory.snapshot_bytes);
        self.handle.update(|s| {
            s.snapshots = n;
            s.snapshot_bytes = bytes;
        });
    }
}

/// The key by which a replayed event is known in the stores: an alert's id and revision,
/// a tasking's JSON.
fn event_key(e: &FusionEvent) -> String {
    match e {
        FusionEvent::Alert(a) => format!("{}#{}", a.id, a.revision),
        FusionEvent::Tasking(t) => serde_json::to_string(t).expect("taskings serialize"),
    }
}

/// The keys ([`event_key`]) of what `path` holds after its first `from` bytes.
fn stored_since(
    path: &std::path::Path,
    from: u64,
    alerts: bool,
) -> std::io::Result<HashSet<String>> {
    let mut keys = HashSet::new();
    for line in lines_after(path, from)? {
        if !alerts {
            keys.insert(String::from_utf8_lossy(&line).into_owned());
        } else if let Ok(a) = serde_json::from_slice::<Alert>(&line) {
            keys.insert(format!("{}#{}", a.id, a.revision));
        }
    }
    Ok(keys)
}

/// The alert revisions and taskings the stores in `dir` hold after their first
/// `(alerts, taskings)` bytes, in order (a line that does not read back, damaged by a crash,
/// is skipped).
fn stored_events(dir: &std::path::Path, from: (u64, u64)) -> std::io::Result<Vec<FusionEvent>> {
    let mut events = Vec::new();
    for line in lines_after(&dir.join("alerts.jsonl"), from.0)? {
        if let Ok(a) = serde_json::from_slice(&line) {
            events.push(FusionEvent::Alert(a));
        }
    }
    for line in lines_after(&dir.join("taskings.jsonl"), from.1)? {
        if let Ok(t) = serde_json::from_slice(&line) {
            events.push(FusionEvent::Tasking(t));
        }
    }
    Ok(events)
}

/// The lines of `path` after its first `from` bytes, as bytes (a damaged line is still a
/// line); none if there is no such file.
fn lines_after(path: &std::path::Path, from: u64) -> std::io::Result<Vec<Vec<u8>>> {
    use std::io::{BufRead, Seek};
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    f.seek(std::io::SeekFrom::Start(from))?;
    std::io::BufReader::new(f).split(b'\n').collect()
}

/// Run the engine over MQTT until `shutdown` completes. The engine's saved state, if
/// any, is restored first ([`crate::memory`]).
pub async fn run(
    cfg: ServiceConfig,
    engine: FusionEngine,
    handle: ServiceHandle,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    let mut f = Fusion::start(&cfg, engine, handle.clone())?;
    let consumer_nodes = Failover::new(cfg.broker.node_options("", true, 1 << 20));
    let (consumer, consumer_el) = consumer_nodes.connect(1024);
    // Alerts and taskings go out through an outbox: kept until the broker confirms them,
    // sent again on a new session (another node of a cluster, a restarted broker).
    let link_handle = handle.clone();
    let (out, out_task) = Outbox::start(
        Failover::new(cfg.broker.node_options("-pub", false, 1 << 20)),
        1024,
        move |l| {
            link_handle.update(|s| match l {
                Link::Connected => s.connects += 1,
                Link::Lost(_) => s.connection_errors += 1,
            })
        },
    );
    // What the replay produced and the stores did not yet hold goes out first.
    f.commit(&out).await?;
    let (tx, mut rx) = mpsc::channel::<Publish>(1024);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(poll(
        consumer_el,
        consumer_nodes,
        Some(tx),
        Some(consumer.clone()),
        handle.clone(),
    ));
    let mut ticker = tokio::time::interval(cfg.tick);
    let mut batch: Vec<Publish> = Vec::new();
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            _ = &mut shutdown => break Ok(()),
            _ = ticker.tick() => {
                // Carry the data's clock forward in real time (feeds that stop still
                // make gaps), unless the clock follows the data alone.
                let wall = Instant::now();
                if cfg.carry_clock
                    && let Some(mut c) = f.clock
                {
                    c += SignedDuration::try_from(wall - f.last_wall).unwrap_or_default();
                    f.clock = Some(c);
                    f.tick(c);
                }
                f.last_wall = wall;
                if let Err(e) = f.commit(&out).await {
                    break Err(e);
                }
                f.confirmed(&out);
                f.save(false);
                let vessels = f.engine.vessels().count() as u64;
                let clock = f.clock;
                handle.update(|s| {
                    s.vessels = vessels;
                    s.clock = clock;
                });
            }
            Some(p) = rx.recv() => {
                // Take what has arrived, up to a bound, then one fsync for all of it.
                batch.push(p);
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(p) => batch.push(p),
                        Err(_) => break,
                    }
                }
                for p in &batch {
                    f.take(p);
                }
                if let Err(e) = f.commit(&out).await {
                    break Err(e);
                }
                // Journaled and stored: now the broker may forget them.
                for p in batch.drain(..) {
                    let _ = consumer.ack(&p).await;
                }
                f.confirmed(&out);
                f.save(false);
            }
        }
    };
    if result.is_ok() {
        // A clean stop: a snapshot now, so the next start replays nothing (and publishes
        // nothing again, if the broker confirms what is in flight soon).
        out.settled(Duration::from_secs(2)).await;
        f.confirmed(&out);
        f.save(true);
    }
    f.memory.finish();
    let _ = consumer.disconnect().await;
    out.disconnect();
    tasks.abort_all();
    // Let the disconnect go out before the outbox's task stops.
    tokio::time::sleep(Duration::from_millis(20)).await;
    out_task.abort();
    result
}

/// Most observations taken between two fsyncs of the journal.
const MAX_BATCH: usize = 512;

/// Publish the alert revisions and taskings stored.
fn publish(events: &mut Vec<FusionEvent>, out: &Outbox) -> Result<(), ServiceError> {
    for e in events.drain(..) {
        match e {
            FusionEvent::Alert(a) => {
                let topic = Topic::Alert(a.kind.as_str().to_string()).to_string();
                let payload = serde_json::to_vec(&a).expect("alerts serialize");
                out.publish(topic, payload)?;
            }
            FusionEvent::Tasking(t) => {
                let Ok(unit) = UnitId::new(&t.unit) else {
                    continue;
                };
                let topic = Topic::PatrolTasking(unit).to_string();
                let payload = serde_json::to_vec(&t).expect("taskings serialize");
                out.publish(topic, payload)?;
            }
        }
    }
    Ok(())
}

/// The metrics of `/metrics`.
impl ingest::stats::Report for ServiceStats {
    fn describe() {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!(
            "tidewatch_fusion_observations_total",
            Unit::Count,
            "Observations taken by fusion: new, or redelivered (dropped by id)"
        );
        describe_counter!(
            "tidewatch_fusion_rejected_total",
            Unit::Count,
            "Messages fusion refused, by reason (kept in rejects.jsonl)"
        );
        describe_counter!(
            "tidewatch_fusion_alert_revisions_total",
            Unit::Count,
            "Alert revisions stored and published, by kind"
        );
        describe_counter!(
            "tidewatch_fusion_taskings_total",
            Unit::Count,
            "Taskings sent to patrol units"
        );
        describe_counter!(
            "tidewatch_fusion_future_times_total",
            Unit::Count,
            "Observations stamped more than an hour ahead, taken at the fusion clock"
        );
        describe_counter!(
            "tidewatch_fusion_connection_errors_total",
            Unit::Count,
            "MQTT connections lost or refused"
        );
        describe_gauge!(
            "tidewatch_fusion_vessels",
            Unit::Count,
            "Vessels tracked now"
        );
        describe_gauge!(
            "tidewatch_fusion_restore_seconds",
            Unit::Seconds,
            "How long the start took to restore the engine's state (snapshot and journal)"
        );
        describe_gauge!(
            "tidewatch_fusion_restored_from_snapshot",
            Unit::Count,
            "1 when the start found a snapshot of the engine's state"
        );
        describe_gauge!(
            "tidewatch_fusion_replayed_entries",
            Unit::Count,
            "Journal entries (observations and ticks) replayed at the start"
        );
        describe_gauge!(
            "tidewatch_fusion_journal_unreadable_lines",
            Unit::Count,
            "Journal lines that could not be read at the start (torn by a crash)"
        );
        describe_gauge!(
            "tidewatch_fusion_store_failing",
            Unit::Count,
            "1 while fusion cannot write its journal or alert store (a full disk): it acknowledges nothing until it can"
        );
        describe_counter!(
            "tidewatch_fusion_store_failures_total",
            Unit::Count,
            "Episodes of tidewatch_fusion_store_failing"
        );
        describe_counter!(
            "tidewatch_fusion_snapshots_total",
            Unit::Count,
            "Snapshots of the engine's state written since the start"
        );
        describe_gauge!(
            "tidewatch_fusion_snapshot_bytes",
            Unit::Bytes,
            "Size of the latest snapshot"
        );
        describe_gauge!(
            "tidewatch_fusion_lag_seconds",
            Unit::Seconds,
            "How far the fusion clock (the data's time) is behind the wall clock"
        );
    }

    fn record(&self) {
        use metrics::{counter, gauge};
        let s = self;
        counter!("tidewatch_fusion_observations_total", "kind" => "new").absolute(s.observations);
        counter!("tidewatch_fusion_observations_total", "kind" => "redelivered")
            .absolute(s.duplicates);
        for (reason, n) in &s.rejected {
            counter!("tidewatch_fusion_rejected_total", "reason" => *reason).absolute(*n);
        }
        for (kind, n) in &s.alert_revisions {
            counter!("tidewatch_fusion_alert_revisions_total", "kind" => kind.clone()).absolute(*n);
        }
        counter!("tidewatch_fusion_taskings_total").absolute(s.taskings);
        counter!("tidewatch_fusion_future_times_total").absolute(s.future_times);
        counter!("tidewatch_fusion_connection_errors_total").absolute(s.connection_errors);
        gauge!("tidewatch_fusion_vessels").set(s.vessels as f64);
        gauge!("tidewatch_fusion_restore_seconds").set(s.restore_seconds);
        gauge!("tidewatch_fusion_restored_from_snapshot")
            .set(u8::from(s.restored_from_snapshot) as f64);
        gauge!("tidewatch_fusion_replayed_entries").set(s.replayed as f64);
        gauge!("tidewatch_fusion_journal_unreadable_lines").set(s.journal_unreadable as f64);
        counter!("tidewatch_fusion_snapshots_total").absolute(s.snapshots);
        gauge!("tidewatch_fusion_store_failing").set(u8::from(s.store_failing) as f64);
        counter!("tidewatch_fusion_store_failures_total").absolute(s.store_failures);
        gauge!("tidewatch_fusion_snapshot_bytes").set(s.snapshot_bytes as f64);
        if let Some(c) = s.clock {
            let lag = jiff::Timestamp::now().duration_since(c).as_secs_f64();
            gauge!("tidewatch_fusion_lag_seconds").set(lag);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_engine() -> FusionEngine {
        let cfg = crate::FusionConfig::default();
        let geo = crate::Geodata::load(&cfg, None).unwrap();
        FusionEngine::new(cfg, geo)
    }

    /// Observation `i`, `i` minutes after `t0`, of a vessel whose MID (646) is not
    /// allocated: an `invalid_identity` alert each.
    fn take_unallocated(f: &mut Fusion, t0: Timestamp, i: u32) {
        let (mmsi, time) = (646_000_000 + i, t0 + SignedDuration::from_mins(i.into()));
        let o = serde_json::json!({"id": format!("o-{i}"), "time": time,
            "time_source": "tag_block", "received_at": time, "receivers": ["test"],
            "data": {"kind": "ais", "mmsi": mmsi, "msg_type": 1, "lat": 35.1,
            "lon": 12.8, "sog_kn": 7.5, "cog_deg": 270.0}});
        f.take(&Publish::new(
            format!("tidewatch/v1/obs/ais/{mmsi}"),
            QoS::AtLeastOnce,
            o.to_string(),
        ));
    }

    /// An observation whose topic names another subject than its content is refused (the
    /// broker lets a publisher use any observation topic; only the content says whose it is).
    #[test]
    fn review_17_5_fusion_refuses_an_observation_on_another_subjects_topic() {
        let dir = std::env::temp_dir().join(format!("tw-fusion-review-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let engine = test_engine();
        let handle = ServiceHandle::new();
        let mut fusion = Fusion::start(
            &ServiceConfig::new("127.0.0.1", 1, &dir),
            engine,
            handle.clone(),
        )
        .unwrap();
        let now = Timestamp::now();
        let obs = |id: &str, mmsi: u32| {
            serde_json::json!({"id": id, "time": now, "time_source": "tag_block",
                "received_at": now, "receivers": ["test"], "data": {"kind": "ais",
                "mmsi": mmsi, "msg_type": 1, "lat": 35.1, "lon": 12.8, "sog_kn": 7.5,
                "cog_deg": 270.0}})
            .to_string()
        };
        for (topic, payload) in [
            ("tidewatch/v1/obs/ais/247000222", obs("o-1", 247_000_111)),
            ("tidewatch/v1/obs/patrol/cp-301", obs("o-2", 247_000_111)),
            ("tidewatch/v1/obs/ais/247000222", obs("o-3", 247_000_222)),
        ] {
            let p = Publish::new(topic, QoS::AtLeastOnce, payload);
            fusion.take(&p);
        }
        let s = handle.stats();
        assert_eq!(
            s.observations, 1,
            "fusion took observations on another subject's topic: {s:?}"
        );
        assert_eq!(s.rejected.get("topic_mismatch"), Some(&2), "{s:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A store whose last line a crash left damaged (cut inside a multi-byte character, then
    /// more appended): fusion still starts, and publishes again every alert it stored that
    /// the broker never confirmed, the damaged line skipped.
    #[test]
    fn a_damaged_store_line_does_not_stop_a_restart_and_what_was_unconfirmed_goes_again() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ServiceConfig::new("127.0.0.1", 1, dir.path());
        let t0: Timestamp = "2026-12-03T10:00:00Z".parse().unwrap();
        let mut f = Fusion::start(&cfg, test_engine(), ServiceHandle::new()).unwrap();
        for i in 0..3u32 {
            take_unallocated(&mut f, t0, i);
        }
        f.store_all().unwrap();
        let stored = f.unpublished.len();
        assert!(stored >= 3, "{stored} alerts stored");
        drop(f); // a crash: nothing was confirmed by a broker
        let path = dir.path().join("alerts.jsonl");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"{\"id\":\"caf\xc3");
        std::fs::write(&path, &bytes).unwrap();
        let f = Fusion::start(&cfg, test_engine(), ServiceHandle::new())
            .expect("a damaged last line does not stop fusion");
        assert_eq!(
            f.unpublished.len(),
            stored,
            "the stored alerts go out again"
        );
    }

    /// Alerts stored before and after the day's files close, a crash after that (no
    /// snapshot since): the restart replays the journal since the closing snapshot and
    /// stores nothing twice, loses nothing, in either file.
    #[test]
    fn a_restart_after_the_day_closed_stores_no_alert_twice() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = ServiceConfig::new("127.0.0.1", 1, dir.path());
        let t0: Timestamp = "2026-12-03T23:50:00Z".parse().unwrap();
        let take = |f: &mut Fusion, i: u32| {
            take_unallocated(f, t0, i);
            f.store_all().unwrap();
        };
        let lines = |name: &str| {
            std::fs::read_to_string(dir.path().join(name))
                .unwrap_or_default()
                .lines()
                .count()
        };
        let mut f = Fusion::start(&cfg, test_engine(), ServiceHandle::new()).unwrap();
        take(&mut f, 1);
        f.save(true);
        take(&mut f, 2);
        // Midnight: the next save closes the day, right after a snapshot.
        f.store.set_day("2026-12-03".parse().unwrap());
        f.save(false);
        take(&mut f, 3);
        take(&mut f, 4);
        drop(f); // a crash: no snapshot since the day closed
        let mut f = Fusion::start(&cfg, test_engine(), ServiceHandle::new()).unwrap();
        f.store_all().unwrap();
        let today = crate::store::ALERTS.name_at("2026-12-03T00:00:00Z".parse().unwrap());
        assert_eq!(lines(&today), 2, "the closed day");
        assert_eq!(lines("alerts.jsonl"), 2, "the new day, once each");
        // And it goes on: the next vessel is new.
        take(&mut f, 5);
        assert_eq!(lines("alerts.jsonl"), 3);
    }
}
