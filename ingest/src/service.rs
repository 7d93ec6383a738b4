//! The ingest service over MQTT: the async shell around [`crate::pipeline::Pipeline`].
//!
//! ```text
//!  broker ──▶ poll task ──(bounded channel)──▶ worker: pipeline → archive → publish obs ─────────▶ PUBACK
//!  (connection 1: subscriptions, manual acks)     │      (connection 2: observations, notices to units)  ▲
//!                                                 └──▶ fsync thread: write, fsync (group commit) ────────┘
//! ```
//!
//! - QoS 1 with a persistent session (`clean_session = false`), subscriptions renewed on
//!   every CONNACK, so nothing published while ingest is away is lost.
//! - Acknowledged only after the line is in the raw archive and fsync'd, and the broker
//!   has confirmed the observations made from it (manual acks): a crash, SIGKILL included,
//!   loses nothing that was acknowledged; the broker redelivers the rest (so a redelivered
//!   line can be archived twice, the archive being a record of receptions, and its
//!   observation published twice: AIS, numbered patrol lines and reports keep their id).
//! - The event loop is polled continuously by its own task, as rumqttc requires; the
//!   worker does the blocking work (archive, fsync) off the poll path.
//! - Group commit: an fsync starts as soon as the worker has caught up with what the broker
//!   sent (and at least every `sync_every`), so a broker's window of unacknowledged
//!   deliveries (rumqttd 100, Mosquitto 20 by default) never waits for a timer;
//!   acknowledgements that waited only on the broker confirming observations go out the
//!   moment it does. (Acknowledging on a 20 ms tick capped ingest at one window per tick:
//!   100 messages per 20 ms, 50 000 lines/s at 10 lines a message.) The fsync runs off the
//!   worker, one at a time: the worker goes on decoding and publishing meanwhile, and when
//!   it ends the next starts with all that came during it (`Durable`). Decoding and
//!   publishing never wait on the disk; acknowledgements do.
//! - A full disk: when the archive cannot be written or fsync'd for lack of space, nothing
//!   more is acknowledged nor read (the broker keeps the rest for ingest's session), what
//!   was received stays pending in memory, `disk_full` is raised (logged once per episode),
//!   and the write is retried with backoff (100 ms to 5 s) until space returns; then
//!   ingest goes on by itself.
//! - Upkeep: a thread of its own compresses closed hours of the archive and applies its
//!   retention ([`crate::archive::maintain`]) at start and every `upkeep_every`.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::link::client::{self, Failover};
use crate::link::outbox::{Link, Outbox};
use jiff::Timestamp;
use rumqttc::{AsyncClient, Event as MqttEvent, Packet, Publish, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::archive::{self, Archive, ArchiveError, Record, Verdict};
use crate::hourly::Upkeep;
use crate::inputs::LocalLine;
use crate::pipeline::{Event, Input, Pipeline};
use crate::tsdb::{TsdbHandle, points_from_observation, points_from_service_stats};
use crate::wire::Topic;
use crate::wire::topics::{PATROL_NMEA_FILTER, PATROL_REPORT_FILTER, RAW_AIS_FILTER};

/// How the service connects and where it keeps the raw archive.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// The broker, and who ingest is on it.
    pub broker: client::Endpoint,
    /// Raw archive directory.
    pub archive_dir: PathBuf,
    /// Largest MQTT packet accepted (bigger ones are refused by the client).
    pub max_packet_bytes: usize,
    /// Most messages received but not yet archived (the poll task waits beyond it).
    pub queue: usize,
    /// Longest wait before unacknowledged lines are fsync'd and acknowledged.
    pub sync_every: Duration,
    /// Where positions and the service's counters go as time series, if anywhere (writes
    /// never wait: what cannot be queued is counted by the writer).
    pub tsdb: Option<TsdbHandle>,
    /// How often the counters are written to the time series.
    pub stats_every: Duration,
    /// Days the raw archive keeps an hour's file after the hour ends (`None`: for ever).
    pub retain_raw_days: Option<u32>,
    /// How often the archive's upkeep (compression of closed hours, retention) runs.
    pub upkeep_every: Duration,
    /// What the persistent session subscribes to: the contract's raw AIS and patrol
    /// filters, or one slot's ([`crate::instances`]); empty for an instance's own TCP and
    /// UDP feeds only.
    pub subscriptions: Vec<String>,
    /// Filters of the other slots: a message matching one is another slot's, acknowledged
    /// here without being archived or processed, and counted (`elsewhere`). The slot that
    /// takes the rest subscribes to everything and leaves these.
    pub elsewhere: Vec<String>,
    /// Appended to the client id for the observations' connection (`-pub`). Instances that
    /// take over each other's slot each use their own, so they never take over each other's
    /// connection.
    pub publisher_suffix: String,
}

/// Days the raw archive, the legal record, is kept by default: ten years.
pub const DEFAULT_RETAIN_RAW_DAYS: u32 = 3650;

impl ServiceConfig {
    /// Defaults for a broker at `host:port` with the archive in `archive_dir`.
    pub fn new(host: &str, port: u16, archive_dir: impl Into<PathBuf>) -> Self {
        ServiceConfig {
            broker: client::Endpoint::new(host, port, "tidewatch-ingest"),
            archive_dir: archive_dir.into(),
            max_packet_bytes: 2 << 20,
            queue: 4096,
            sync_every: Duration::from_millis(20),
            tsdb: None,
            stats_every: Duration::from_secs(10),
            retain_raw_days: Some(DEFAULT_RETAIN_RAW_DAYS),
            upkeep_every: Duration::from_secs(60),
            subscriptions: SUBSCRIPTIONS.iter().map(|f| (*f).to_owned()).collect(),
            elsewhere: Vec::new(),
            publisher_suffix: "-pub".to_owned(),
        }
    }
}

/// What the service has done, for `/metrics` and tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceStats {
    /// MQTT messages received.
    pub messages: u64,
    /// Messages of another ingest slot (the slot taking the rest receives them too), left to
    /// it: acknowledged, not archived.
    pub elsewhere: u64,
    /// Observations published (new ones).
    pub observations: u64,
    /// Observation updates published (more receivers).
    pub updates: u64,
    /// Lines and reports rejected, by reason.
    pub rejected: BTreeMap<String, u64>,
    /// Lines and reports accepted, by archive source (`ais:<receiver>`, `patrol:<unit>`).
    pub accepted_by_source: BTreeMap<String, u64>,
    /// Lines and reports rejected, by archive source.
    pub rejected_by_source: BTreeMap<String, u64>,
    /// Messages received from the broker and waiting for the worker.
    pub queue_broker: u64,
    /// Lines from TCP and UDP feeds waiting for the worker.
    pub queue_feeds: u64,
    /// Messages archived but not yet fsync'd and acknowledged.
    pub unacked: u64,
    /// Observations and notices handed to the broker and not yet confirmed by it.
    pub unconfirmed: u64,
    /// Lines patrol units numbered that never arrived (their `n:` count jumped ahead).
    pub unit_sequence_gaps: u64,
    /// Numbered lines that arrived after a later one.
    pub unit_out_of_order: u64,
    /// AIS transmissions whose payload hashed as another's heard within the dedup window,
    /// with other content: each still its own observation. More than the odd one is
    /// someone transmitting payloads made to collide.
    pub payload_hash_collisions: u64,
    /// Connections made (the first, and every reconnect).
    pub connects: u64,
    /// Every subscription of the current connection is confirmed by the broker (SUBACK):
    /// from then on what is published to the raw and patrol topics reaches ingest.
    pub subscribed: bool,
    /// Connection errors seen.
    pub connection_errors: u64,
    /// Messages on topics outside the contract.
    pub unexpected_topics: u64,
    /// The raw archive cannot be written for lack of space: nothing is acknowledged until
    /// it can (critical).
    pub disk_full: bool,
    /// Times the raw archive's disk was found full (episodes, not retries).
    pub disk_full_episodes: u64,
    /// While the disk is full: bytes received and waiting in memory to be written to the
    /// archive.
    pub archive_pending_bytes: u64,
}

/// Why the service stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// The raw archive could not be written: nothing more can be acknowledged.
    #[error("raw archive: {0}")]
    Archive(#[from] ArchiveError),
    /// The client could not send a request (the event loop is gone).
    #[error("MQTT client: {0}")]
    Client(#[from] rumqttc::ClientError),
}

/// A running service's stats, while it runs (pass a new one to [`run`]).
pub type ServiceHandle = crate::stats::Shared<ServiceStats>;

/// What ingest subscribes to, on every connection (one instance holding everything).
pub const SUBSCRIPTIONS: [&str; 3] = [RAW_AIS_FILTER, PATROL_NMEA_FILTER, PATROL_REPORT_FILTER];

/// What the poll task hands to the worker.
enum FromBroker {
    Connected,
    Message(Publish, Timestamp),
}

/// Run ingest until `shutdown` completes (or the archive fails).
pub async fn run(
    cfg: ServiceConfig,
    handle: ServiceHandle,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    // No network inputs: a channel nobody sends on.
    let (_none, local) = mpsc::channel(1);
    run_with_inputs(cfg, handle, local, shutdown).await
}

/// Run ingest with lines from network inputs ([`crate::inputs`]) besides MQTT. Their
/// lines are archived and processed like MQTT's; they need no acknowledgement, but are
/// fsync'd on the same schedule.
pub async fn run_with_inputs(
    cfg: ServiceConfig,
    handle: ServiceHandle,
    mut local: mpsc::Receiver<LocalLine>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    let nodes = |suffix: &str, persistent: bool| {
        Failover::new(
            cfg.broker
                .node_options(suffix, persistent, cfg.max_packet_bytes),
        )
    };
    let mut sub_nodes = nodes("", true);
    let (client, mut eventloop) = sub_nodes.connect(1024);
    // Observations go out on a connection of their own. On one connection, rumqttc stops
    // sending anything (acknowledgements included) while its window of unacknowledged
    // publishes is full, and a broker that holds deliveries until they are acknowledged
    // (rumqttd does, at 100) then waits on us while we wait on it: both stall. Two
    // connections also keep a slow consumer of observations from holding up the archive.
    // The worker never waits on it: what the client cannot take yet waits in the outbox's
    // backlog, and the worker goes on reading the broker meanwhile. Waiting instead closes a
    // cycle (worker waits on our publishes, the broker on our reading, our reading on the
    // worker) that stalled ingest against Mosquitto under overload.
    let pub_handle = handle.clone();
    let (out, pub_poller) = Outbox::start(nodes(&cfg.publisher_suffix, false), 1024, move |l| {
        if let Link::Lost(_) = l {
            pub_handle.update(|s| s.connection_errors += 1)
        }
    });
    let (tx, mut rx) = mpsc::channel::<FromBroker>(cfg.queue.max(1));

    // The poll task: never blocks on the client, only hands over what arrives.
    let poll_handle = handle.clone();
    let filters = cfg.subscriptions.len();
    let poller = tokio::spawn(async move {
        let mut awaiting = filters;
        loop {
            match eventloop.poll().await {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                    sub_nodes.connected();
                    awaiting = filters;
                    poll_handle.update(|s| {
                        s.connects += 1;
                        // Nothing to subscribe to (an instance's own feeds): ready now.
                        s.subscribed = filters == 0;
                    });
                    if tx.send(FromBroker::Connected).await.is_err() {
                        return;
                    }
                }
                Ok(MqttEvent::Incoming(Packet::SubAck(_))) => {
                    awaiting = awaiting.saturating_sub(1);
                    if awaiting == 0 {
                        poll_handle.update(|s| s.subscribed = true);
                    }
                }
                Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                    if tx
                        .send(FromBroker::Message(p, Timestamp::now()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    poll_handle.update(|s| {
                        s.connection_errors += 1;
                        s.subscribed = false;
                    });
                    tracing::warn!(client = %sub_nodes.first().client_id(), error = %e, "MQTT connection lost; reconnecting");
                    // Polling again reconnects (on the next node of a cluster); back off so
                    // a dead broker is not hammered.
                    sub_nodes.lost(&mut eventloop).await;
                }
            }
        }
    });

    let mut durable = Durable::new(Archive::open(&cfg.archive_dir)?, cfg.archive_dir.clone());
    let _upkeep = spawn_upkeep(&cfg);
    let mut disk = DiskFull::default();
    let mut pipeline = Pipeline::new();
    let mut unacked = Unacked::default();
    let mut unsynced_local = 0usize;
    let tsdb = cfg.tsdb.clone();
    let mut stats_tick = tokio::time::interval(cfg.stats_every);
    let mut tick = tokio::time::interval(cfg.sync_every);
    let mut retry = tokio::time::interval(Duration::from_millis(1));
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    // The worker; a shutdown stops it even mid-await (a publish or an acknowledgement
    // waiting on a broker that is gone): what was not acknowledged comes again.
    let worker = async {
        loop {
            tokio::select! {
                biased;
                _ = tick.tick(), if !disk.active && (!unacked.is_empty() || unsynced_local > 0) => {
                    unsynced_local = 0;
                    if let Some(upto) = durable.commit(unacked.pushed()) {
                        unacked.made_durable(upto);
                    }
                    if let Err(e) = unacked.ack_ready(&client, &out).await {
                        break Err(e);
                    }
                    let unconfirmed = out.unconfirmed();
                handle.update(|s| {
                    s.unacked = unacked.len() as u64;
                    s.unconfirmed = unconfirmed;
                });
                }
                _ = stats_tick.tick(), if tsdb.is_some() => {
                    if let Some(t) = &tsdb {
                        t.try_write(points_from_service_stats(&handle.stats(), Timestamp::now()));
                    }
                }
                // An fsync ended: acknowledge what it made durable, and start the next with
                // whatever came meanwhile (group commit).
                r = durable.finished(), if durable.running() => {
                    match r {
                        Ok(upto) => {
                            if disk.active {
                                disk.resumed(&handle);
                            }
                            unacked.made_durable(upto);
                            if !unacked.all_durable() || unsynced_local > 0 {
                                unsynced_local = 0;
                                if let Some(upto) = durable.commit(unacked.pushed()) {
                                    unacked.made_durable(upto);
                                }
                            }
                            if let Err(e) = unacked.ack_ready(&client, &out).await {
                                break Err(e);
                            }
                        }
                        Err(e) => {
                            if let Err(e) = disk.failed(e, durable.pending_bytes(), &handle) {
                                break Err(e);
                            }
                        }
                    }
                    handle.update(|s| s.unacked = unacked.len() as u64);
                }
                // The broker confirmed observations: acknowledge what waited only on them.
                () = out.confirmation(), if unacked.has_durable() => {
                    if let Err(e) = unacked.ack_ready(&client, &out).await {
                        break Err(e);
                    }
                    handle.update(|s| s.unacked = unacked.len() as u64);
                }
                // The disk was full: try the archive again (its fsync's end says how it went).
                () = tokio::time::sleep_until(disk.retry_at), if disk.active && !durable.running() => {
                    if let Some(upto) = durable.commit(unacked.pushed()) {
                        disk.resumed(&handle);
                        unacked.made_durable(upto);
                    }
                }
                _ = retry.tick(), if out.backlog_len() > 0 => {
                    if let Err(e) = out.drain() {
                        break Err(e.into());
                    }
                }
                Some(l) = local.recv(), if !disk.active && out.backlog_len() < MAX_BACKLOG => {
                    handle.update(|s| s.messages += 1);
                    let events = pipeline.on_input(
                        Input::AisStream {
                            source: &l.source,
                            stream: l.stream,
                            payload: &l.line,
                        },
                        l.received_at,
                    );
                    if let Err(e) = apply(events, l.received_at, &mut durable, &out, &handle, tsdb.as_ref()).await {
                        break Err(e);
                    }
                    unsynced_local += 1;
                    handle.update(|s| {
                        s.queue_feeds = local.len() as u64;
                        s.payload_hash_collisions = pipeline.hash_collisions;
                    });
                }
                msg = rx.recv(), if !disk.active && out.backlog_len() < MAX_BACKLOG => match msg {
                    None => break Ok(()),
                    Some(FromBroker::Connected) => {
                        // Renewed on every CONNACK (the session keeps them, but a broker that
                        // lost its state, or a first connection, needs them).
                        let mut failed = None;
                        for filter in &cfg.subscriptions {
                            if let Err(e) = client.subscribe(filter, QoS::AtLeastOnce).await {
                                failed = Some(e);
                                break;
                            }
                        }
                        if let Some(e) = failed {
                            break Err(e.into());
                        }
                    }
                    Some(FromBroker::Message(p, _)) if cfg.elsewhere.iter().any(|f| crate::wire::topics::covers(f, &p.topic)) => {
                        // Another slot's: its holder archives it.
                        handle.update(|s| s.elsewhere += 1);
                        unacked.push(p, out.produced(), &pipeline);
                    }
                    Some(FromBroker::Message(p, received_at)) => {
                        if let Err(e) = handle_message(&p, received_at, &mut pipeline, &mut durable, &out, &handle, tsdb.as_ref()).await {
                            break Err(e);
                        }
                        // Acknowledged once archived and once what it gave is with the broker.
                        unacked.push(p, out.produced(), &pipeline);
                        handle.update(|s| {
                            s.queue_broker = rx.len() as u64;
                            s.unacked = unacked.len() as u64;
                            s.unit_sequence_gaps = pipeline.sequence_gaps;
                            s.unit_out_of_order = pipeline.out_of_order;
                            s.payload_hash_collisions = pipeline.hash_collisions;
                        });
                        // Group commit: once the worker has caught up with the broker, fsync
                        // (unless an fsync runs: its end starts the next) rather than at the
                        // next tick. A broker sends a subscriber only so many unacknowledged
                        // messages (rumqttd 100, Mosquitto 20 by default): waiting for the
                        // tick capped throughput at that window per tick. Under load an
                        // fsync covers whatever arrived during the previous one.
                        if (rx.is_empty() || unacked.len() >= 512)
                            && let Some(upto) = durable.commit(unacked.pushed())
                        {
                            unacked.made_durable(upto);
                            if let Err(e) = unacked.ack_ready(&client, &out).await {
                                break Err(e);
                            }
                        }
                    }
                },
            }
        }
    };
    let result = {
        tokio::pin!(worker);
        tokio::select! {
            biased;
            () = &mut shutdown => Ok(()),
            r = &mut worker => r,
        }
    };
    // Whatever was archived is made durable; unacknowledged messages stay with the
    // broker's persistent session and come again.
    if durable.running() {
        let _ = durable.finished().await;
    }
    if let Some(a) = &mut durable.home {
        let _ = a.sync();
    }
    // Never wait on a request channel nobody may be draining any more.
    poller.abort();
    let _ = client.try_disconnect();
    out.disconnect();
    // Let the observations' disconnect go out before its poller stops.
    tokio::time::sleep(Duration::from_millis(20)).await;
    pub_poller.abort();
    result
}

/// The archive's upkeep thread (compression, retention), logging what it does.
fn spawn_upkeep(cfg: &ServiceConfig) -> Option<Upkeep> {
    let dir = cfg.archive_dir.clone();
    let retain = cfg.retain_raw_days;
    let spawned = Upkeep::spawn("tw-archive-upkeep", cfg.upkeep_every, move |stop| {
        match archive::maintain(&dir, retain, Timestamp::now(), stop) {
            Ok(u) => {
                if !u.removed.is_empty() {
                    tracing::info!(
                        files = u.removed.len(),
                        first = %u.removed[0],
                        retain_days = retain.unwrap_or_default(),
                        "Raw archive retention removed files (each noted in retention.log)."
                    );
                }
                let c = &u.compression;
                if !c.compressed.is_empty() {
                    tracing::info!(
                        files = c.compressed.len(),
                        plain_bytes = c.plain_bytes,
                        compressed_bytes = c.compressed_bytes,
                        "Raw archive: closed hours compressed."
                    );
                }
                for name in &c.differing {
                    tracing::error!(
                        file = %name,
                        "Raw archive: the plain and compressed copies of this hour differ; both kept (tidewatch verify names which)."
                    );
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "Raw archive upkeep failed; it is tried again at the next pass.")
            }
        }
    });
    match spawned {
        Ok(u) => Some(u),
        Err(e) => {
            tracing::error!(error = %e, "cannot start the raw archive's upkeep: closed hours stay uncompressed");
            None
        }
    }
}

/// The raw archive's disk is full: the worker neither reads nor acknowledges, and tries
/// the archive again with backoff.
struct DiskFull {
    active: bool,
    retry_at: tokio::time::Instant,
    backoff: Duration,
}

impl Default for DiskFull {
    fn default() -> Self {
        DiskFull {
            active: false,
            retry_at: tokio::time::Instant::now(),
            backoff: Duration::from_millis(100),
        }
    }
}

impl DiskFull {
    /// A settle failed: a full disk starts (or continues) an episode; any other error
    /// stops the service, as before.
    fn failed(
        &mut self,
        e: ServiceError,
        pending_bytes: usize,
        handle: &ServiceHandle,
    ) -> Result<(), ServiceError> {
        let ServiceError::Archive(a) = &e else {
            return Err(e);
        };
        if !a.is_disk_full() {
            return Err(e);
        }
        let pending = pending_bytes as u64;
        if self.active {
            self.backoff = (self.backoff * 2).min(Duration::from_secs(5));
        } else {
            self.active = true;
            self.backoff = Duration::from_millis(100);
            tracing::error!(
                error = %a,
                pending_bytes = pending,
                "CRITICAL: the raw archive's disk is full. Nothing more is acknowledged (the broker keeps it); what was received is kept in memory and written when space returns."
            );
            handle.update(|s| s.disk_full_episodes += 1);
        }
        self.retry_at = tokio::time::Instant::now() + self.backoff;
        handle.update(|s| {
            s.disk_full = true;
            s.archive_pending_bytes = pending;
        });
        Ok(())
    }

    /// The archive was written: the episode is over.
    fn resumed(&mut self, handle: &ServiceHandle) {
        self.active = false;
        tracing::warn!("The raw archive is writable again: ingest goes on.");
        handle.update(|s| {
            s.disk_full = false;
            s.archive_pending_bytes = 0;
        });
    }
}

/// Most observations waiting for the client before the worker stops reading the broker.
const MAX_BACKLOG: usize = 100_000;

/// Messages from the broker not yet acknowledged, oldest first, each with the count of
/// observations produced once it was handled (its observations are with the broker when
/// that many are confirmed, MQTT 3.1.1 §4.6) and its number in the order they came; those
/// numbered up to `durable` are in the archive and fsync'd.
///
/// A message that leaves a multi-sentence AIS message waiting for its next sentences is
/// *held*: it is acknowledged only with a later message that leaves none waiting (so with
/// the observation the group completes into). Acknowledging the first part alone would let a
/// crash hand the rest to a successor without it, and the message would be lost. Never more
/// than [`HOLD_MESSAGES`] messages are held back, nor for longer than [`HOLD_FOR`]: a group
/// that does not complete soon is broken, and one broken feed must not stall its slot.
#[derive(Default)]
struct Unacked {
    waiting: VecDeque<Waiting>,
    /// Messages pushed so far (the number of the last).
    pushed: u64,
    /// Messages up to this number are in the archive and fsync'd.
    durable: u64,
    /// AIS lines decoded when the last message was pushed.
    last_line: u64,
}

/// A message not yet acknowledged.
struct Waiting {
    publish: Publish,
    /// Its number, from 1, in the order messages came.
    seq: u64,
    /// Observations produced once it was handled.
    mark: u64,
    /// AIS lines decoded before it.
    first_line: u64,
    /// It left a multi-sentence message waiting.
    held: bool,
    at: tokio::time::Instant,
}

/// Later messages after which a held message is acknowledged anyway (below every broker's
/// window of unacknowledged deliveries: RabbitMQ's MQTT prefetch is 10).
const HOLD_MESSAGES: usize = 4;
/// Time after which a held message is acknowledged anyway.
const HOLD_FOR: Duration = Duration::from_millis(500);

impl Unacked {
    fn push(&mut self, publish: Publish, mark: u64, pipeline: &Pipeline) {
        let lines = pipeline.ais_lines();
        // Lines decoded before this message: those before the oldest waiting one's, plus
        // what came since; a group begun before the oldest waiting message is no concern of
        // the messages waiting now (it is broken, or its first part was acknowledged).
        let first_line = self.last_line;
        let since = self.waiting.front().map_or(first_line, |w| w.first_line);
        self.pushed += 1;
        self.waiting.push_back(Waiting {
            publish,
            seq: self.pushed,
            mark,
            first_line,
            held: pipeline.fragments_waiting_since(since),
            at: tokio::time::Instant::now(),
        });
        self.last_line = lines;
    }

    fn len(&self) -> usize {
        self.waiting.len()
    }

    fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// The number of the last message pushed.
    fn pushed(&self) -> u64 {
        self.pushed
    }

    /// Messages up to number `upto` are in the archive and fsync'd.
    fn made_durable(&mut self, upto: u64) {
        self.durable = self.durable.max(upto);
    }

    /// The oldest message is fsync'd (it waits on its observations, or on being held).
    fn has_durable(&self) -> bool {
        self.waiting.front().is_some_and(|w| w.seq <= self.durable)
    }

    /// Every message pushed is fsync'd.
    fn all_durable(&self) -> bool {
        self.durable >= self.pushed
    }

    /// How many of the oldest messages may be acknowledged now, `confirmed` observations
    /// being with the broker: those fsync'd whose observations are confirmed, up to the last
    /// that is not held (or is stale).
    fn ready(&self, confirmed: u64, now: tokio::time::Instant) -> usize {
        let total = self.waiting.len();
        let (mut eligible, mut unheld, mut old) = (0, 0, 0);
        for (i, w) in self.waiting.iter().enumerate() {
            if w.seq > self.durable || w.mark > confirmed {
                break;
            }
            eligible = i + 1;
            if !w.held {
                unheld = i + 1;
            }
            if now.duration_since(w.at) >= HOLD_FOR {
                old = i + 1;
            }
        }
        // Never more than HOLD_MESSAGES held back, nor for longer than HOLD_FOR.
        unheld
            .max(old)
            .max(eligible.min(total.saturating_sub(HOLD_MESSAGES)))
    }

    /// Acknowledge the fsync'd messages whose observations the broker has confirmed, up to
    /// the last that is not held: a crash at any point loses neither a line nor its
    /// observations (the broker delivers an unacknowledged message again).
    async fn ack_ready(&mut self, client: &AsyncClient, out: &Outbox) -> Result<(), ServiceError> {
        let ready = self.ready(out.confirmed(), tokio::time::Instant::now());
        for _ in 0..ready {
            if let Some(w) = self.waiting.pop_front() {
                client.ack(&w.publish).await?;
            }
        }
        Ok(())
    }
}

/// The raw archive, fsync'd off the worker's path (group commit). An fsync runs on a
/// blocking thread, with the archive; meanwhile the worker goes on reading, decoding and
/// publishing, and what it archives is staged here, in order, to join the archive when it
/// comes back. Then the messages the fsync covered may be acknowledged, and the next fsync
/// starts at once with everything that came during the last one. (Fsync'd on the worker,
/// each fsync stopped decoding and publishing: its time was in every observation's latency,
/// and messages trickling in, each fsync'd alone, held ingest to a few thousand a second.)
struct Durable {
    /// The archive, while no fsync runs.
    home: Option<Archive>,
    /// The fsync running, and the last message (in [`Unacked`]'s numbering) it covers.
    running: Option<(Fsync, u64)>,
    /// Records archived while the archive was away, in order.
    staged: Vec<Staged>,
    /// The archive's directory (to name it in an error).
    dir: PathBuf,
}

/// An fsync running: the archive comes back with its result.
type Fsync = JoinHandle<(Archive, Result<(), ArchiveError>)>;

/// A record archived while an fsync ran.
struct Staged {
    received_at: Timestamp,
    source: String,
    rejected: Option<&'static str>,
    line: Vec<u8>,
}

fn verdict(rejected: Option<&'static str>) -> Verdict<'static> {
    match rejected {
        None => Verdict::Accepted,
        Some(r) => Verdict::Rejected(r),
    }
}

impl Durable {
    fn new(archive: Archive, dir: PathBuf) -> Self {
        Durable {
            home: Some(archive),
            running: None,
            staged: Vec::new(),
            dir,
        }
    }

    /// Archive a line (in memory; durable once an fsync begun after it has ended). A source
    /// the archive refuses is refused here, whether or not an fsync runs.
    fn append(
        &mut self,
        received_at: Timestamp,
        source: String,
        rejected: Option<&'static str>,
        line: Vec<u8>,
    ) -> Result<(), ArchiveError> {
        match &mut self.home {
            Some(a) => a.append(&Record {
                received_at,
                source: &source,
                verdict: verdict(rejected),
                line: &line,
            }),
            None => {
                Archive::check_source(&source)?;
                self.staged.push(Staged {
                    received_at,
                    source,
                    rejected,
                    line,
                });
                Ok(())
            }
        }
    }

    /// An fsync runs.
    fn running(&self) -> bool {
        self.running.is_some()
    }

    /// Bytes archived and not written yet (an estimate while an fsync runs).
    fn pending_bytes(&self) -> usize {
        let home = self.home.as_ref().map_or(0, Archive::pending_bytes);
        home + self.staged.iter().map(|s| s.line.len()).sum::<usize>()
    }

    /// Make messages up to number `upto` durable: start an fsync for them, unless one
    /// runs (its end starts the next). With nothing to write they are durable already:
    /// `Some(upto)`.
    fn commit(&mut self, upto: u64) -> Option<u64> {
        if self.running.is_some() {
            return None;
        }
        let archive = self.home.take()?;
        if archive.pending_bytes() == 0 {
            self.home = Some(archive);
            return Some(upto);
        }
        let task = tokio::task::spawn_blocking(move || {
            let mut archive = archive;
            let r = archive.sync();
            (archive, r)
        });
        self.running = Some((task, upto));
        None
    }

    /// Wait for the running fsync (call only while one runs; cancel-safe). The archive is
    /// back, with what was staged meanwhile; `Ok` names the last message now durable; on
    /// an error nothing is lost (the archive writes it all again at the next fsync).
    async fn finished(&mut self) -> Result<u64, ServiceError> {
        let Some((task, upto)) = &mut self.running else {
            return std::future::pending().await;
        };
        let joined = task.await;
        let upto = *upto;
        self.running = None;
        let (mut archive, result) = joined.map_err(|e| ArchiveError::Io {
            path: self.dir.clone(),
            source: std::io::Error::other(format!("the archive's fsync stopped: {e}")),
        })?;
        // Their sources were checked when they were staged: appending cannot fail.
        let mut appended = Ok(());
        for s in self.staged.drain(..) {
            appended = appended.and_then(|()| {
                archive.append(&Record {
                    received_at: s.received_at,
                    source: &s.source,
                    verdict: verdict(s.rejected),
                    line: &s.line,
                })
            });
        }
        self.home = Some(archive);
        appended?;
        result?;
        Ok(upto)
    }
}

async fn handle_message(
    p: &Publish,
    received_at: Timestamp,
    pipeline: &mut Pipeline,
    archive: &mut Durable,
    out: &Outbox,
    handle: &ServiceHandle,
    tsdb: Option<&TsdbHandle>,
) -> Result<(), ServiceError> {
    let topic = p.topic.as_str();
    handle.update(|s| s.messages += 1);
    let events = match Topic::parse(topic) {
        Some(Topic::RawAis { source }) => {
            // Receiver names become archive source names: keep them printable.
            let source: String = source
                .chars()
                .map(|c| if c.is_ascii_graphic() { c } else { '_' })
                .collect();
            pipeline.on_input(
                Input::Ais {
                    source: &source,
                    payload: &p.payload,
                },
                received_at,
            )
        }
        Some(Topic::PatrolNmea(unit)) => pipeline.on_input(
            Input::PatrolNmea {
                unit: &unit,
                payload: &p.payload,
            },
            received_at,
        ),
        Some(Topic::PatrolReport(unit)) => pipeline.on_input(
            Input::PatrolReport {
                unit: &unit,
                payload: &p.payload,
            },
            received_at,
        ),
        _ => {
            handle.update(|s| {
                s.unexpected_topics += 1;
                *s.rejected.entry("unexpected_topic".to_owned()).or_default() += 1;
            });
            archive.append(
                received_at,
                "mqtt:unexpected-topic".to_owned(),
                Some("unexpected_topic"),
                p.payload.to_vec(),
            )?;
            return Ok(());
        }
    };
    apply(events, received_at, archive, out, handle, tsdb).await
}

/// Do what the pipeline says: archive, publish, tell units.
async fn apply(
    events: Vec<Event>,
    received_at: Timestamp,
    archive: &mut Durable,
    out: &Outbox,
    handle: &ServiceHandle,
    tsdb: Option<&TsdbHandle>,
) -> Result<(), ServiceError> {
    for e in events {
        match e {
            Event::Archive {
                source,
                line,
                rejected,
            } => {
                // Checked first: a source the archive refuses is counted nowhere.
                Archive::check_source(&source)?;
                handle.update(|s| {
                    let by_source = match rejected {
                        None => &mut s.accepted_by_source,
                        Some(reason) => {
                            *s.rejected.entry(reason.to_owned()).or_default() += 1;
                            &mut s.rejected_by_source
                        }
                    };
                    match by_source.get_mut(&source) {
                        Some(n) => *n += 1,
                        None => {
                            by_source.insert(source.clone(), 1);
                        }
                    }
                });
                archive.append(received_at, source, rejected, line)?;
            }
            Event::Publish {
                topic,
                observation,
                update,
            } => {
                if let Some(t) = tsdb
                    && !update
                {
                    t.try_write(points_from_observation(&observation));
                }
                // Sized for an observation: no reallocation as it is written.
                let mut json = Vec::with_capacity(768);
                if observation.write_json(&mut json).is_err() {
                    json.clear();
                }
                out.publish(topic.name(), json)?;
                handle.update(|s| {
                    if update {
                        s.updates += 1;
                    } else {
                        s.observations += 1;
                    }
                });
            }
            Event::NotifyUnit { unit, message } => {
                out.publish(Topic::PatrolRejects(unit).to_string(), message.into_bytes())?;
            }
        }
    }
    Ok(())
}

/// The metrics of `/metrics`.
impl crate::stats::Report for ServiceStats {
    fn describe() {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_counter!(
            "tidewatch_ingest_lines_total",
            Unit::Count,
            "Lines and reports archived, by source and verdict"
        );
        describe_counter!(
            "tidewatch_ingest_rejected_total",
            Unit::Count,
            "Lines and reports rejected, by reason"
        );
        describe_counter!(
            "tidewatch_ingest_mqtt_messages_total",
            Unit::Count,
            "MQTT messages and feed lines handed to ingest"
        );
        describe_counter!(
            "tidewatch_ingest_observations_total",
            Unit::Count,
            "Observations published: new, or update (heard by more receivers)"
        );
        describe_counter!(
            "tidewatch_ingest_connects_total",
            Unit::Count,
            "Connections to the MQTT broker, the first and every reconnect"
        );
        describe_counter!(
            "tidewatch_ingest_connection_errors_total",
            Unit::Count,
            "MQTT connections lost or refused"
        );
        describe_counter!(
            "tidewatch_ingest_unit_lines_missing_total",
            Unit::Count,
            "Lines patrol units numbered that never arrived"
        );
        describe_counter!(
            "tidewatch_ingest_unit_out_of_order_total",
            Unit::Count,
            "Numbered patrol lines that arrived after a later one"
        );
        describe_gauge!(
            "tidewatch_ingest_queue_depth",
            Unit::Count,
            "Items waiting in ingest's queues"
        );
        describe_gauge!(
            "tidewatch_ingest_disk_full",
            "1 while the raw archive's disk is full: nothing is acknowledged (critical)"
        );
        describe_counter!(
            "tidewatch_ingest_disk_full_episodes_total",
            Unit::Count,
            "Times the raw archive's disk was found full"
        );
        describe_gauge!(
            "tidewatch_ingest_archive_pending_bytes",
            Unit::Bytes,
            "While the raw archive's disk is full: bytes received and waiting in memory"
        );
    }

    fn record(&self) {
        use metrics::{counter, gauge};
        let s = self;
        for (source, n) in &s.accepted_by_source {
            counter!("tidewatch_ingest_lines_total", "source" => source.clone(), "verdict" => "accepted")
                .absolute(*n);
        }
        for (source, n) in &s.rejected_by_source {
            counter!("tidewatch_ingest_lines_total", "source" => source.clone(), "verdict" => "rejected")
                .absolute(*n);
        }
        for (reason, n) in &s.rejected {
            counter!("tidewatch_ingest_rejected_total", "reason" => reason.clone()).absolute(*n);
        }
        counter!("tidewatch_ingest_mqtt_messages_total").absolute(s.messages);
        counter!("tidewatch_ingest_observations_total", "kind" => "new").absolute(s.observations);
        counter!("tidewatch_ingest_observations_total", "kind" => "update").absolute(s.updates);
        counter!("tidewatch_ingest_connects_total").absolute(s.connects);
        counter!("tidewatch_ingest_connection_errors_total").absolute(s.connection_errors);
        counter!("tidewatch_ingest_unit_lines_missing_total").absolute(s.unit_sequence_gaps);
        counter!("tidewatch_ingest_unit_out_of_order_total").absolute(s.unit_out_of_order);
        counter!("tidewatch_ingest_payload_hash_collisions_total")
            .absolute(s.payload_hash_collisions);
        gauge!("tidewatch_ingest_queue_depth", "queue" => "broker").set(s.queue_broker as f64);
        gauge!("tidewatch_ingest_queue_depth", "queue" => "feeds").set(s.queue_feeds as f64);
        gauge!("tidewatch_ingest_queue_depth", "queue" => "unacked").set(s.unacked as f64);
        gauge!("tidewatch_ingest_queue_depth", "queue" => "unconfirmed").set(s.unconfirmed as f64);
        gauge!("tidewatch_ingest_disk_full").set(crate::stats::flag(s.disk_full));
        counter!("tidewatch_ingest_disk_full_episodes_total").absolute(s.disk_full_episodes);
        gauge!("tidewatch_ingest_archive_pending_bytes").set(s.archive_pending_bytes as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIRST: &[u8] =
        b"!AIVDM,2,1,3,B,55P5TL01VIaAL@7WKO@mBplU@<PDhh000000001S;AJ::4A80?4i@E53,0*3E";
    const SECOND: &[u8] = b"!AIVDM,2,2,3,B,1@0000000000000,2*55";
    const SINGLE: &[u8] = b"!AIVDM,1,1,,A,15RTgt0PAso;90TKcjM8h6g208CQ,0*4A";

    /// One MQTT message carrying `line`, handled by `p`: what it published.
    fn handle(p: &mut Pipeline, u: &mut Unacked, line: &'static [u8], produced: &mut u64) {
        let events = p.on_input(
            Input::Ais {
                source: "r1",
                payload: line,
            },
            Timestamp::now(),
        );
        *produced += events
            .iter()
            .filter(|e| matches!(e, Event::Publish { .. }))
            .count() as u64;
        let publish = Publish::new("tidewatch/v1/raw/ais/r1", QoS::AtLeastOnce, line);
        u.push(publish, *produced, p);
        u.made_durable(u.pushed());
    }

    /// The message bringing a multi-sentence message's first sentence is acknowledged only
    /// with the one bringing its last, once the observation it completes is with the broker:
    /// a crash in between hands both to the next holder of the slot, never the last alone.
    #[test]
    fn the_first_part_of_a_message_is_acknowledged_only_with_its_last() {
        let (mut p, mut u, mut produced) = (Pipeline::new(), Unacked::default(), 0);
        let now = tokio::time::Instant::now();
        handle(&mut p, &mut u, FIRST, &mut produced);
        assert_eq!(produced, 0);
        assert_eq!(u.ready(0, now), 0, "the first part alone is held");
        handle(&mut p, &mut u, SECOND, &mut produced);
        assert_eq!(produced, 1, "the two parts make an observation");
        assert_eq!(u.ready(0, now), 0, "its observation is not confirmed yet");
        assert_eq!(u.ready(1, now), 2, "both go together once it is");
    }

    /// A broken feed cannot stall its slot: a first part alone is acknowledged after
    /// HOLD_MESSAGES later messages or HOLD_FOR, and a group begun before every waiting
    /// message holds none of them.
    #[test]
    fn a_first_part_that_never_completes_is_acknowledged_after_a_bound() {
        let (mut p, mut u, mut produced) = (Pipeline::new(), Unacked::default(), 0);
        let now = tokio::time::Instant::now();
        handle(&mut p, &mut u, FIRST, &mut produced);
        assert_eq!(u.ready(0, now), 0);
        assert_eq!(
            u.ready(0, tokio::time::Instant::now() + HOLD_FOR),
            1,
            "stale after HOLD_FOR"
        );
        // By count: never more than HOLD_MESSAGES held back.
        for _ in 0..HOLD_MESSAGES {
            handle(&mut p, &mut u, SINGLE, &mut produced);
        }
        assert_eq!(u.ready(produced, now), 1, "at most HOLD_MESSAGES wait");
        assert_eq!(
            u.ready(produced, tokio::time::Instant::now() + HOLD_FOR),
            u.len()
        );
        // The broken group still waits in the decoder, but began before anything waiting now.
        u.waiting.clear();
        handle(&mut p, &mut u, SINGLE, &mut produced);
        assert_eq!(u.ready(produced, now), 1);
    }

    /// A message is acknowledged only once an fsync that began after it has ended, however
    /// many of its observations the broker has confirmed.
    #[test]
    fn nothing_is_acknowledged_before_an_fsync_covers_it() {
        let (mut p, mut u, now) = (
            Pipeline::new(),
            Unacked::default(),
            tokio::time::Instant::now(),
        );
        for line in [SINGLE, SINGLE, SINGLE] {
            let events = p.on_input(
                Input::Ais {
                    source: "r1",
                    payload: line,
                },
                Timestamp::now(),
            );
            let publish = Publish::new("tidewatch/v1/raw/ais/r1", QoS::AtLeastOnce, line);
            u.push(publish, events.len() as u64, &p);
        }
        assert_eq!(u.ready(u64::MAX, now), 0, "none fsync'd");
        assert!(!u.has_durable());
        u.made_durable(2);
        assert_eq!(u.ready(u64::MAX, now), 2, "the two an fsync covered");
        assert!(!u.all_durable());
        u.made_durable(1);
        assert_eq!(u.ready(u64::MAX, now), 2, "durability never goes back");
    }

    /// While an fsync runs, lines are archived all the same (staged); the next fsync
    /// writes them after the earlier ones, in order; a source the archive refuses is
    /// refused while an fsync runs too.
    #[tokio::test]
    async fn lines_archived_during_an_fsync_are_written_by_the_next_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        let mut d = Durable::new(Archive::open(tmp.path()).unwrap(), tmp.path().into());
        let t = Timestamp::now();
        let line = |n: u8| vec![b'a' + n; 3];
        let on_disk = || -> Vec<Vec<u8>> {
            let files = crate::archive::files(tmp.path()).unwrap();
            (files.iter())
                .flat_map(|f| crate::archive::read_file(f).unwrap())
                .map(|r| r.line)
                .collect()
        };
        assert_eq!(d.commit(0), Some(0), "nothing to write: durable now");
        d.append(t, "ais:r1".into(), None, line(0)).unwrap();
        assert_eq!(d.commit(1), None, "an fsync started");
        assert!(d.running());
        assert_eq!(d.commit(2), None, "one fsync at a time");
        d.append(t, "ais:r1".into(), Some("checksum"), line(1))
            .unwrap();
        d.append(t, "ais:r2".into(), None, line(2)).unwrap();
        assert!(matches!(
            d.append(t, "ais:bad source".into(), None, line(3)),
            Err(ArchiveError::BadSource(_))
        ));
        assert_eq!(d.finished().await.unwrap(), 1);
        assert_eq!(
            on_disk(),
            vec![line(0)],
            "the staged lines wait for the next fsync"
        );
        assert_eq!(d.commit(3), None);
        assert_eq!(d.finished().await.unwrap(), 3);
        assert_eq!(on_disk(), vec![line(0), line(1), line(2)]);
        assert_eq!(d.commit(4), Some(4));
    }
}
