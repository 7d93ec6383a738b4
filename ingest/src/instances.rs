//! Ingest as several instances: the sources are divided into *slots*, each slot is held by
//! one live instance at a time, and the slots of an instance that is lost are taken over by
//! the others.
//!
//! ```text
//!  slot north = raw/ais/north/#   ──▶ session tidewatch-ingest.north ──▶ held by instance a
//!  slot units = patrol/+/nmea, …  ──▶ session tidewatch-ingest.units ──▶ held by instance b
//!  slot rest  = everything else   ──▶ session tidewatch-ingest       ──▶ held by instance a
//!             instances a, b: heartbeats on ingest/instances/{name}, a will when lost
//! ```
//!
//! - **A slot is a set of topic filters**, so a source (a receiver's topic, a unit) is
//!   always in one slot and its multi-sentence messages and numbered lines are never split
//!   between instances, as round-robin shared subscriptions would. Filters of different
//!   slots may not overlap (checked); the slot `rest` is always there and takes whatever no
//!   other slot names (a receiver added under a new region is ingested, never left without a
//!   subscriber), leaving the others' messages to them (counted `elsewhere`).
//! - **A slot is a persistent MQTT session** with its own client id (`{client id}.{slot}`;
//!   the rest keeps the client id's own session, so a single ingest's queue carries over),
//!   the same whichever instance holds it: what is published while a slot changes hands, and what its last
//!   holder had not acknowledged (archived and fsync'd), waits in that session for the
//!   next holder. The broker's session, not a lease, is what makes a takeover lose nothing.
//! - **Who holds a slot** is decided by every instance alike from the instances it knows
//!   to be alive: rendezvous hashing ([`owner`]), so when an instance joins or leaves only
//!   its slots move. An instance announces itself every `heartbeat` on
//!   `ingest/instances/{name}`, with a will the broker publishes when its connection dies
//!   (SIGKILL, a lost machine); one not heard for three heartbeats is gone too. An instance
//!   claims nothing until its view has settled (two heartbeats on a live connection), so a
//!   newcomer does not snatch slots before it has heard the others.
//! - **Each instance keeps its own archive chain per slot** (`DIR/raw/{slot}/`), and its own
//!   TCP and UDP feeds in `DIR/raw/feeds/`: a chain is written by one process only, and a
//!   slot's record over time is the union of its chains on each instance that held it.
//!
//! Two instances can briefly both believe they hold a slot (a view not yet updated); the
//! broker then lets only one connection hold its session (the newer takes it over), and
//! what the other had not acknowledged is delivered again: a line may be archived by both,
//! its observation published twice under the same id (dropped downstream), nothing lost.
//!
//! A multi-sentence message is never split by a takeover: the MQTT message bringing its first
//! sentence is acknowledged only with the one bringing its last ([`crate::service`] holds it
//! back, within bounds, so one broken feed cannot stall its slot), so a successor gets all of
//! it again or none. (What can come alone is a last sentence whose message was complete and
//! published, if the kill falls between two acknowledgements: archived as an orphan, nothing
//! lost.)

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{Event as MqttEvent, LastWill, Packet, QoS};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::inputs::LocalLine;
use crate::link::client::Failover;
use crate::service::{
    self, SUBSCRIPTIONS, ServiceConfig, ServiceError, ServiceHandle, ServiceStats,
};
use crate::wire::topics::{
    INGEST_INSTANCES_FILTER, PREFIX, Topic, UnitId, covers, is_topic_filter, overlap,
};

/// The slot that takes what no other slot names.
pub const REST: &str = "rest";

/// Where an instance's own TCP and UDP feeds are archived (`DIR/raw/feeds/`).
pub const FEEDS: &str = "feeds";

/// A named set of topic filters, as given: `NAME=FILTER[,FILTER…]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The slot's name (it names the slot's session and archive directory).
    pub name: String,
    /// Full topic filters.
    pub filters: Vec<String>,
}

impl Slot {
    /// Parse `NAME=FILTER[,FILTER…]`; a filter may leave out the prefix `tidewatch/v1/`.
    pub fn parse(spec: &str) -> Result<Slot, String> {
        let (name, filters) = spec
            .split_once('=')
            .ok_or_else(|| format!("slot {spec:?}: expected NAME=FILTER[,FILTER…]"))?;
        let name = UnitId::new(name)
            .map_err(|e| format!("slot {spec:?}: {e}"))?
            .as_str()
            .to_owned();
        let filters = filters
            .split(',')
            .map(|f| {
                let f = f.trim();
                if f.starts_with(PREFIX) {
                    f.to_owned()
                } else {
                    format!("{PREFIX}/{}", f.trim_start_matches('/'))
                }
            })
            .collect();
        Ok(Slot { name, filters })
    }
}

/// A slot as an instance runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPlan {
    /// The slot's name.
    pub name: String,
    /// What its session subscribes to.
    pub subscriptions: Vec<String>,
    /// The other slots' filters, left to them.
    pub elsewhere: Vec<String>,
}

/// Check the slots and add [`REST`]: names unique, every filter valid and inside what ingest
/// reads (raw AIS, patrol NMEA and reports), no two filters overlapping (a topic in two
/// slots would be archived by both).
pub fn plan(slots: &[Slot]) -> Result<Vec<SlotPlan>, String> {
    let mut names = BTreeSet::new();
    let mut all: Vec<(&str, &str)> = Vec::new();
    for s in slots {
        if s.name == REST || s.name == FEEDS {
            return Err(format!(
                "slot {:?} is reserved: {REST:?} takes what the others do not name, {FEEDS:?} is an instance's own feeds",
                s.name
            ));
        }
        if !names.insert(s.name.as_str()) {
            return Err(format!("slot {:?} is given twice", s.name));
        }
        if s.filters.is_empty() {
            return Err(format!("slot {:?} has no filter", s.name));
        }
        for f in &s.filters {
            if !is_topic_filter(f) {
                return Err(format!("slot {:?}: {f:?} is not a topic filter", s.name));
            }
            if !SUBSCRIPTIONS.iter().any(|c| covers(c, f)) {
                return Err(format!(
                    "slot {:?}: {f:?} is outside what ingest reads ({})",
                    s.name,
                    SUBSCRIPTIONS.join(", ")
                ));
            }
            if let Some((other, g)) = all.iter().find(|(_, g)| overlap(f, g)) {
                return Err(format!(
                    "slot {:?}: {f:?} overlaps {g:?} of slot {other:?}: a topic would be in both",
                    s.name
                ));
            }
            all.push((&s.name, f));
        }
    }
    let mut plans: Vec<SlotPlan> = slots
        .iter()
        .map(|s| SlotPlan {
            name: s.name.clone(),
            subscriptions: s.filters.clone(),
            elsewhere: Vec::new(),
        })
        .collect();
    plans.push(SlotPlan {
        name: REST.to_owned(),
        subscriptions: SUBSCRIPTIONS.iter().map(|f| (*f).to_owned()).collect(),
        elsewhere: all.iter().map(|(_, f)| (*f).to_owned()).collect(),
    });
    Ok(plans)
}

/// A fingerprint of the slots, so instances configured differently notice.
fn fingerprint(plans: &[SlotPlan], client_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(client_id.as_bytes());
    h.update(b"\n");
    for p in plans {
        h.update(p.name.as_bytes());
        for f in &p.subscriptions {
            h.update(b"\0");
            h.update(f.as_bytes());
        }
        h.update(b"\n");
    }
    crate::hourly::hex(&h.finalize()[..8])
}

/// The instance that holds `slot` among `alive`: the highest of a hash of (slot, instance),
/// so every instance that knows the same live set agrees, and an instance leaving moves only
/// its own slots.
pub fn owner<'a>(slot: &str, alive: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    alive.into_iter().max_by_key(|i| {
        let d = Sha256::new()
            .chain_update(slot.as_bytes())
            .chain_update(b"\0")
            .chain_update(i.as_bytes())
            .finalize();
        (
            u64::from_be_bytes(d[..8].try_into().unwrap_or_default()),
            *i,
        )
    })
}

/// How an instance takes part.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    /// The instance's name, unique among instances.
    pub name: UnitId,
    /// Every slot, [`REST`] included ([`plan`]).
    pub slots: Vec<SlotPlan>,
    /// How often the instance says it is alive; one not heard for three is gone.
    pub heartbeat: Duration,
}

/// What an instance knows and holds, for `/metrics` and tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstanceStats {
    /// Every slot configured: each is reported, 1 when held, 0 when not.
    pub slots: BTreeSet<String>,
    /// Slots this instance holds now.
    pub holds: BTreeSet<String>,
    /// Instances this one knows to be alive (itself included).
    pub alive: BTreeSet<String>,
    /// Times this instance took a slot.
    pub taken: u64,
    /// Times it gave one up (another instance is now its owner).
    pub released: u64,
    /// Heartbeats from instances whose slots are configured differently.
    pub plan_mismatches: u64,
    /// Heartbeats from another process under this instance's name.
    pub name_conflicts: u64,
}

#[derive(Default)]
struct Inner {
    instance: InstanceStats,
    /// Counters of slot runs that ended.
    retired: ServiceStats,
    /// The runs going on, by (slot, run).
    running: BTreeMap<(String, u64), ServiceHandle>,
}

/// A running instance's stats; clones share them.
#[derive(Clone, Default)]
pub struct InstanceHandle(Arc<Mutex<Inner>>);

impl InstanceHandle {
    /// A handle for an instance not yet started.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What the instance knows and holds.
    pub fn instance(&self) -> InstanceStats {
        self.lock().instance.clone()
    }

    /// The ingest counters of every slot this instance has run (those of slots it gave up
    /// included), and the gauges of those it runs now.
    pub fn stats(&self) -> ServiceStats {
        let g = self.lock();
        let mut s = g.retired.clone();
        for h in g.running.values() {
            absorb(&mut s, &h.stats());
        }
        s.subscribed = g.running.values().all(|h| h.stats().subscribed);
        s
    }
}

/// Add `o`'s counters and gauges to `s`.
fn absorb(s: &mut ServiceStats, o: &ServiceStats) {
    let sum = |a: &mut BTreeMap<String, u64>, b: &BTreeMap<String, u64>| {
        for (k, v) in b {
            *a.entry(k.clone()).or_default() += v;
        }
    };
    s.messages += o.messages;
    s.elsewhere += o.elsewhere;
    s.observations += o.observations;
    s.updates += o.updates;
    sum(&mut s.rejected, &o.rejected);
    sum(&mut s.accepted_by_source, &o.accepted_by_source);
    sum(&mut s.rejected_by_source, &o.rejected_by_source);
    s.queue_broker += o.queue_broker;
    s.queue_feeds += o.queue_feeds;
    s.unacked += o.unacked;
    s.unconfirmed += o.unconfirmed;
    s.unit_sequence_gaps += o.unit_sequence_gaps;
    s.unit_out_of_order += o.unit_out_of_order;
    s.payload_hash_collisions += o.payload_hash_collisions;
    s.connects += o.connects;
    s.connection_errors += o.connection_errors;
    s.unexpected_topics += o.unexpected_topics;
    s.disk_full |= o.disk_full;
    s.disk_full_episodes += o.disk_full_episodes;
    s.archive_pending_bytes += o.archive_pending_bytes;
}

impl crate::stats::Report for InstanceStats {
    fn describe() {
        use metrics::{Unit, describe_counter, describe_gauge};
        describe_gauge!(
            "tidewatch_ingest_slot_held",
            "1 for each ingest slot this instance holds, 0 for the others"
        );
        describe_gauge!(
            "tidewatch_ingest_instances_alive",
            Unit::Count,
            "Ingest instances this one knows to be alive, itself included"
        );
        describe_counter!(
            "tidewatch_ingest_slot_changes_total",
            Unit::Count,
            "Slots this instance took or gave up"
        );
        describe_counter!(
            "tidewatch_ingest_plan_mismatches_total",
            Unit::Count,
            "Heartbeats from ingest instances whose slots are configured differently"
        );
        describe_counter!(
            "tidewatch_ingest_name_conflicts_total",
            Unit::Count,
            "Heartbeats from another ingest process under this instance's name"
        );
    }

    fn record(&self) {
        use metrics::{counter, gauge};
        // Every slot, so that one given up reads 0 rather than its last 1.
        for slot in self.slots.union(&self.holds) {
            let held = if self.holds.contains(slot) { 1.0 } else { 0.0 };
            gauge!("tidewatch_ingest_slot_held", "slot" => slot.clone()).set(held);
        }
        gauge!("tidewatch_ingest_instances_alive").set(self.alive.len() as f64);
        counter!("tidewatch_ingest_slot_changes_total", "change" => "taken").absolute(self.taken);
        counter!("tidewatch_ingest_slot_changes_total", "change" => "released")
            .absolute(self.released);
        counter!("tidewatch_ingest_plan_mismatches_total").absolute(self.plan_mismatches);
        counter!("tidewatch_ingest_name_conflicts_total").absolute(self.name_conflicts);
    }
}

/// What the control connection hears.
enum Heard {
    Up,
    Down,
    Beat {
        name: String,
        plan: String,
        /// Which start of the instance (two processes given one name differ here).
        run: String,
    },
    Gone(String),
}

/// A slot this instance runs.
struct Running {
    /// Which run of the slot (a slot given up and taken again is a new run).
    run: u64,
    stop: oneshot::Sender<()>,
}

/// What a slot's task returns: its slot, its run, how it ended.
type Ended = (String, u64, Result<(), ServiceError>);

/// Run an instance until `shutdown` completes (or a slot's archive fails: the instance
/// stops, and its slots go to the others). `local` carries the instance's own TCP and UDP
/// feeds, if it has any; `base` is the configuration every slot starts from (its client id
/// is the prefix of the slots' session ids, its archive directory holds one per slot).
pub async fn run(
    base: ServiceConfig,
    inst: InstanceConfig,
    handle: InstanceHandle,
    local: Option<mpsc::Receiver<LocalLine>>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    let me = inst.name.as_str().to_owned();
    handle.lock().instance.slots = inst.slots.iter().map(|s| s.name.clone()).collect();
    // The slots and the sessions' names: instances that differ in either would not share.
    let plan = fingerprint(&inst.slots, &base.broker.client_id);

    // This start of the instance: a beat with our name and another run is a second process
    // given the same name.
    let run = format!(
        "{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_nanosecond()
    );
    let topic = Topic::IngestInstance(inst.name.clone()).to_string();
    let gone = serde_json::json!({ "instance": me, "gone": true }).to_string();
    let mut nodes: Vec<_> = base
        .broker
        // Its own per start (a clean session): two processes given one name both stay
        // connected, and hear each other.
        .node_options(&format!(".{me}.ctl.{run}"), false, 1 << 16);
    for o in &mut nodes {
        o.set_last_will(LastWill::new(&topic, gone.clone(), QoS::AtLeastOnce, false));
        // The will is how the others learn of a crash at once; keep-alive bounds the rest.
        o.set_keep_alive(inst.heartbeat.max(Duration::from_secs(5)));
    }
    let mut ctl_nodes = Failover::new(nodes);
    let (ctl, mut ctl_loop) = ctl_nodes.connect(64);
    let (heard_tx, mut heard) = mpsc::channel::<Heard>(1024);
    let ctl_poller = tokio::spawn(async move {
        loop {
            let h = match ctl_loop.poll().await {
                Ok(MqttEvent::Incoming(Packet::ConnAck(_))) => {
                    ctl_nodes.connected();
                    Some(Heard::Up)
                }
                Ok(MqttEvent::Incoming(Packet::Publish(p))) => {
                    let v: serde_json::Value =
                        serde_json::from_slice(&p.payload).unwrap_or_default();
                    match (Topic::parse(&p.topic), v["gone"].as_bool()) {
                        (Some(Topic::IngestInstance(n)), Some(true)) => {
                            Some(Heard::Gone(n.as_str().to_owned()))
                        }
                        (Some(Topic::IngestInstance(n)), _) => Some(Heard::Beat {
                            name: n.as_str().to_owned(),
                            plan: v["plan"].as_str().unwrap_or_default().to_owned(),
                            run: v["run"].as_str().unwrap_or_default().to_owned(),
                        }),
                        _ => None,
                    }
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(error = %e, "ingest instance: control connection lost; reconnecting");
                    let _ = heard_tx.send(Heard::Down).await;
                    ctl_nodes.lost(&mut ctl_loop).await;
                    None
                }
            };
            if let Some(h) = h
                && heard_tx.send(h).await.is_err()
            {
                return;
            }
        }
    });

    let mut runs: JoinSet<Ended> = JoinSet::new();
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut next_run = 0u64;
    let feeds = local.map(|rx| {
        let mut cfg = base.clone();
        cfg.broker.client_id = format!("{}.{me}.feeds", base.broker.client_id);
        cfg.publisher_suffix = format!(".{me}.{run}.pub");
        cfg.archive_dir = base.archive_dir.join(FEEDS);
        cfg.subscriptions.clear();
        cfg.elsewhere.clear();
        let h = ServiceHandle::new();
        handle
            .lock()
            .running
            .insert((FEEDS.to_owned(), 0), h.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        runs.spawn(async move {
            let r = service::run_with_inputs(cfg, h, rx, async {
                let _ = stopped.await;
            })
            .await;
            (FEEDS.to_owned(), 0, r)
        });
        stop
    });
    let mut seen: HashMap<String, Instant> = HashMap::new();
    let mut up_since: Option<Instant> = None;
    // Since when the control connection is lost (or never made).
    let mut down_since: Option<Instant> = Some(Instant::now());
    let mut tick = tokio::time::interval(inst.heartbeat);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let expiry = inst.heartbeat * 3;
    let settle = inst.heartbeat * 2;
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break Ok(()),
            Some(done) = runs.join_next() => {
                let (slot, run, r) = match done {
                    Ok(x) => x,
                    Err(e) => break Err(ServiceError::Archive(crate::archive::ArchiveError::Io {
                        path: base.archive_dir.clone(),
                        source: std::io::Error::other(format!("a slot's task failed: {e}")),
                    })),
                };
                retire(&handle, &slot, run);
                if running.get(&slot).is_some_and(|r| r.run == run) {
                    running.remove(&slot);
                }
                if let Err(e) = r {
                    tracing::error!(slot, error = %e, "ingest slot stopped: the instance stops, its slots go to the others");
                    break Err(e);
                }
            }
            Some(h) = heard.recv() => match h {
                Heard::Up => {
                    up_since = Some(Instant::now());
                    down_since = None;
                    let _ = ctl.try_subscribe(INGEST_INSTANCES_FILTER, QoS::AtMostOnce);
                    beat(&ctl, &topic, &me, &plan, &run, &running);
                }
                Heard::Down => {
                    up_since = None;
                    down_since.get_or_insert_with(Instant::now);
                }
                Heard::Beat { name, plan: theirs, run: their_run } => {
                    if theirs != plan {
                        handle.lock().instance.plan_mismatches += 1;
                        tracing::error!(instance = %name, "ingest instance with other slots or client id configured: every instance must be given the same --slot list and --client-id");
                    }
                    if name == me && their_run != run {
                        handle.lock().instance.name_conflicts += 1;
                        tracing::error!(instance = %name, "another ingest process runs under this instance's name: each instance needs a name of its own");
                    }
                    seen.insert(name, Instant::now());
                }
                Heard::Gone(name) => {
                    if name != me {
                        tracing::warn!(instance = %me, gone = %name, "ingest instance gone: its slots are taken over");
                        seen.remove(&name);
                    }
                }
            },
            _ = tick.tick() => {
                beat(&ctl, &topic, &me, &plan, &run, &running);
                let now = Instant::now();
                // Unheard for as long as the others take to count it gone, an instance gives
                // its slots up: they are being taken over, and two holders would take each
                // other's sessions in turn.
                if down_since.is_some_and(|at| now.duration_since(at) >= expiry) && !running.is_empty() {
                    tracing::warn!("ingest instance unheard by the others (control connection lost): its slots are given up");
                    for (slot, r) in running.drain() {
                        let _ = r.stop.send(());
                        let mut g = handle.lock();
                        g.instance.released += 1;
                        g.instance.holds.remove(&slot);
                    }
                }
                seen.retain(|_, at| now.duration_since(*at) < expiry);
                let mut alive: BTreeSet<String> = seen.keys().cloned().collect();
                alive.insert(me.clone());
                handle.lock().instance.alive = alive.clone();
                // Decide only on a view that has settled on a live connection.
                if up_since.is_none_or(|at| now.duration_since(at) < settle) {
                    continue;
                }
                for slot in &inst.slots {
                    let mine = owner(&slot.name, alive.iter().map(String::as_str)) == Some(me.as_str());
                    match (mine, running.contains_key(&slot.name)) {
                        (true, false) => {
                            tracing::info!(instance = %me, slot = %slot.name, "ingest instance takes slot");
                            next_run += 1;
                            let (r, h) = start(&base, (&me, &run), slot, next_run, &mut runs);
                            let mut g = handle.lock();
                            g.running.insert((slot.name.clone(), next_run), h);
                            g.instance.taken += 1;
                            g.instance.holds.insert(slot.name.clone());
                            drop(g);
                            running.insert(slot.name.clone(), r);
                        }
                        (false, true) => {
                            tracing::info!(instance = %me, slot = %slot.name, "ingest instance gives up slot (another instance is its owner now)");
                            if let Some(r) = running.remove(&slot.name) {
                                let _ = r.stop.send(());
                                let mut g = handle.lock();
                                g.instance.released += 1;
                                g.instance.holds.remove(&slot.name);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    };
    // Stop every slot: what was archived is synced, the rest waits in the slots' sessions.
    for (_, r) in running.drain() {
        let _ = r.stop.send(());
    }
    if let Some(stop) = feeds {
        let _ = stop.send(());
    }
    while let Some(done) = runs.join_next().await {
        if let Ok((slot, run, _)) = done {
            retire(&handle, &slot, run);
        }
    }
    // Leaving on purpose: say so, so the others need not wait for the expiry.
    let _ = ctl.try_publish(&topic, QoS::AtLeastOnce, false, gone);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = ctl.try_disconnect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    ctl_poller.abort();
    handle.lock().instance.holds.clear();
    result
}

/// Say the instance is alive, and what it holds.
fn beat(
    ctl: &rumqttc::AsyncClient,
    topic: &str,
    me: &str,
    plan: &str,
    run: &str,
    running: &HashMap<String, Running>,
) {
    let mut holds: Vec<&str> = running.keys().map(String::as_str).collect();
    holds.sort_unstable();
    let payload = serde_json::json!({ "instance": me, "plan": plan, "run": run, "holds": holds });
    let _ = ctl.try_publish(topic, QoS::AtMostOnce, false, payload.to_string());
}

/// Start running `slot`: its session (the same on every instance), this instance's
/// publisher and archive.
fn start(
    base: &ServiceConfig,
    (me, started): (&str, &str),
    slot: &SlotPlan,
    run: u64,
    runs: &mut JoinSet<Ended>,
) -> (Running, ServiceHandle) {
    let mut cfg = base.clone();
    // The rest keeps the client id's own session: one instance's session, moving to
    // instances, keeps what it holds.
    if slot.name != REST {
        cfg.broker.client_id = format!("{}.{}", base.broker.client_id, slot.name);
    }
    // A clean session of this start's own: never taken over by another process (two
    // given one name by mistake would otherwise take each other's in turn).
    cfg.publisher_suffix = format!(".{me}.{started}.pub");
    cfg.archive_dir = base.archive_dir.join(&slot.name);
    cfg.subscriptions = slot.subscriptions.clone();
    cfg.elsewhere = slot.elsewhere.clone();
    let handle = ServiceHandle::new();
    let (stop, stopped) = oneshot::channel::<()>();
    let name = slot.name.clone();
    let h = handle.clone();
    runs.spawn(async move {
        let r = service::run(cfg, h, async {
            let _ = stopped.await;
        })
        .await;
        (name, run, r)
    });
    (Running { run, stop }, handle)
}

/// A slot's run ended: keep its counters (not its gauges) in the instance's.
fn retire(handle: &InstanceHandle, slot: &str, run: u64) {
    let mut g = handle.lock();
    if let Some(h) = g.running.remove(&(slot.to_owned(), run)) {
        let mut s = h.stats();
        s.queue_broker = 0;
        s.queue_feeds = 0;
        s.unacked = 0;
        s.unconfirmed = 0;
        s.disk_full = false;
        s.archive_pending_bytes = 0;
        absorb(&mut g.retired, &s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(spec: &str) -> Slot {
        Slot::parse(spec).unwrap()
    }

    #[test]
    fn slots_are_checked_and_the_rest_is_added() {
        let plans = plan(&[
            slot("north=raw/ais/north/#"),
            slot("units=patrol/+/nmea,patrol/+/report"),
        ])
        .unwrap();
        assert_eq!(plans.len(), 3);
        assert_eq!(plans[0].subscriptions, ["tidewatch/v1/raw/ais/north/#"]);
        let rest = &plans[2];
        assert_eq!(rest.name, REST);
        assert_eq!(rest.subscriptions.len(), SUBSCRIPTIONS.len());
        assert_eq!(
            rest.elsewhere,
            [
                "tidewatch/v1/raw/ais/north/#",
                "tidewatch/v1/patrol/+/nmea",
                "tidewatch/v1/patrol/+/report"
            ]
        );
        for (bad, why) in [
            (vec!["a=raw/ais/x/#", "b=raw/ais/+/y"], "overlaps"),
            (vec!["a=raw/ais/x/#", "a=raw/ais/y"], "twice"),
            (vec!["a=obs/ais/#"], "outside"),
            (vec!["a=raw/ais/x#"], "not a topic filter"),
            (vec!["rest=raw/ais/x"], "reserved"),
            (vec!["feeds=raw/ais/x"], "reserved"),
            (vec!["a=raw/ais/x,raw/ais/+"], "overlaps"),
        ] {
            let slots: Vec<Slot> = bad.iter().map(|s| slot(s)).collect();
            let e = plan(&slots).unwrap_err();
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        assert!(Slot::parse("North=raw/ais/x").is_err());
        assert!(Slot::parse("north").is_err());
    }

    #[test]
    fn every_instance_agrees_on_owners_and_a_lost_instance_moves_only_its_slots() {
        let slots: Vec<String> = (0..40).map(|i| format!("s{i}")).collect();
        let three = ["a", "b", "c"];
        let before: Vec<&str> = slots.iter().map(|s| owner(s, three).unwrap()).collect();
        // The order the instances are known in does not matter.
        for (s, o) in slots.iter().zip(&before) {
            assert_eq!(owner(s, ["c", "a", "b"]), Some(*o));
        }
        // Spread over all three.
        for i in three {
            assert!(before.contains(&i), "{i} holds nothing: {before:?}");
        }
        // b lost: a and c keep theirs, b's go to them.
        for (s, o) in slots.iter().zip(&before) {
            let after = owner(s, ["a", "c"]).unwrap();
            if *o != "b" {
                assert_eq!(after, *o, "{s} moved though its owner lives");
            }
        }
        assert_eq!(owner("x", std::iter::empty()), None);
    }
}
