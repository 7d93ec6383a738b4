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
use crate::engine::{FusionEngine, FusionEvent};
use ingest::model::Observation;
use ingest::wire::Tasking;
use ingest::wire::topics::{OBS_FILTER, Topic, UnitId};
use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Where and how the service runs.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Broker host.
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// Client id: keep it stable, it names the persistent session.
    pub client_id: String,
    /// User name and password, when the broker asks for them.
    pub credentials: Option<(String, String)>,
    /// Directory of the alert store (`alerts.jsonl`) and refused observations
    /// (`rejects.jsonl`).
    pub dir: PathBuf,
    /// How often the engine ticks, wall time.
    pub tick: Duration,
    /// Observation ids remembered to drop redeliveries.
    pub remember_ids: usize,
}

impl ServiceConfig {
    /// Defaults: client id `tidewatch-fusion`, a tick every 5 s, 200 000 ids remembered.
    pub fn new(host: &str, port: u16, dir: impl Into<PathBuf>) -> Self {
        ServiceConfig {
            host: host.to_owned(),
            port,
            client_id: "tidewatch-fusion".to_owned(),
            credentials: None,
            dir: dir.into(),
            tick: Duration::from_secs(5),
            remember_ids: 200_000,
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
    /// Connection errors (each followed by a reconnect).
    pub connection_errors: u64,
    /// Vessels tracked now.
    pub vessels: u64,
    /// The fusion clock: the data's time carried forward.
    pub clock: Option<Timestamp>,
}

/// A handle on a running service: its counters, and its latest alerts.
#[derive(Debug, Clone, Default)]
pub struct ServiceHandle {
    stats: Arc<Mutex<ServiceStats>>,
}

impl ServiceHandle {
    /// A handle for a service not yet started.
    pub fn new() -> Self {
        Self::default()
    }

    /// The counters so far.
    pub fn stats(&self) -> ServiceStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut ServiceStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }
}

/// The alert store: every revision, one JSON line each, fsync'd before it is published.
struct Store {
    dir: PathBuf,
    file: File,
    taskings: File,
    rejects: File,
}

impl Store {
    fn open(dir: &std::path::Path) -> Result<Store, ServiceError> {
        let err = |path: &std::path::Path| {
            let path = path.display().to_string();
            move |source| ServiceError::Store { path, source }
        };
        std::fs::create_dir_all(dir).map_err(err(dir))?;
        let open = |name: &str| {
            let p = dir.join(name);
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
                .map_err(err(&p))
        };
        Ok(Store {
            dir: dir.to_path_buf(),
            file: open("alerts.jsonl")?,
            taskings: open("taskings.jsonl")?,
            rejects: open("rejects.jsonl")?,
        })
    }

    /// Append records, one JSON line each, and fsync: `alerts.jsonl` or `taskings.jsonl`.
    fn append<T: serde::Serialize>(
        &mut self,
        taskings: bool,
        records: &[T],
    ) -> Result<(), ServiceError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::new();
        for r in records {
            serde_json::to_writer(&mut buf, r).expect("records serialize");
            buf.push(b'\n');
        }
        let (file, name) = if taskings {
            (&mut self.taskings, "taskings.jsonl")
        } else {
            (&mut self.file, "alerts.jsonl")
        };
        let res = file.write_all(&buf).and_then(|_| file.sync_data());
        res.map_err(|source| ServiceError::Store {
            path: self.dir.join(name).display().to_string(),
            source,
        })
    }

    fn reject(&mut self, topic: &str, reason: &str, error: &str, payload: &[u8]) {
        let rec = serde_json::json!({
            "topic": topic, "reason": reason, "error": error,
            "payload": String::from_utf8_lossy(payload),
        });
        // Best effort: a refused message is counted even if it cannot be kept.
        let _ = writeln!(self.rejects, "{rec}");
    }
}

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
    tx: Option<mpsc::Sender<Publish>>,
    client: Option<AsyncClient>,
    handle: ServiceHandle,
) {
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                handle.update(|s| s.connects += 1);
                // Subscriptions are renewed on every connection (a broker may have lost them).
                if let Some(c) = &client {
                    let _ = c.subscribe(OBS_FILTER, QoS::AtLeastOnce).await;
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if let Some(tx) = &tx
                    && tx.send(p).await.is_err()
                {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                handle.update(|s| s.connection_errors += 1);
                tracing::warn!(error = %e, "fusion: MQTT connection lost; reconnecting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Run the engine over MQTT until `shutdown` completes.
pub async fn run(
    cfg: ServiceConfig,
    mut engine: FusionEngine,
    handle: ServiceHandle,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServiceError> {
    let mut store = Store::open(&cfg.dir)?;
    let options = |id: String, clean: bool| {
        let mut o = MqttOptions::new(id, &cfg.host, cfg.port);
        o.set_clean_session(clean);
        o.set_manual_acks(!clean);
        o.set_keep_alive(Duration::from_secs(10));
        o.set_max_packet_size(1 << 20, 1 << 20);
        if let Some((u, p)) = &cfg.credentials {
            o.set_credentials(u, p);
        }
        o
    };
    let (consumer, mut consumer_el) = AsyncClient::new(options(cfg.client_id.clone(), false), 1024);
    let (producer, mut producer_el) =
        AsyncClient::new(options(format!("{}-pub", cfg.client_id), true), 1024);
    // Acknowledgements and alerts are small: no Nagle delay (a broker that holds its
    // publishers' PUBACKs until fusion has a message waits on these).
    ingest::service::set_nodelay(&mut consumer_el);
    ingest::service::set_nodelay(&mut producer_el);
    let (tx, mut rx) = mpsc::channel::<Publish>(1024);
    let mut tasks = tokio::task::JoinSet::new();
    tasks.spawn(poll(
        consumer_el,
        Some(tx),
        Some(consumer.clone()),
        handle.clone(),
    ));
    tasks.spawn(poll(producer_el, None, None, handle.clone()));
    let mut seen = Seen {
        set: HashSet::new(),
        order: VecDeque::new(),
        cap: cfg.remember_ids.max(1),
    };
    let mut clock: Option<Timestamp> = None;
    let mut last_wall = Instant::now();
    let mut ticker = tokio::time::interval(cfg.tick);
    let mut events: Vec<FusionEvent> = Vec::new();
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            _ = &mut shutdown => break Ok(()),
            _ = ticker.tick() => {
                // Carry the data's clock forward in real time.
                let wall = Instant::now();
                if let Some(c) = clock.as_mut() {
                    *c += SignedDuration::try_from(wall - last_wall).unwrap_or_default();
                    events.extend(engine.tick(*c));
                }
                last_wall = wall;
                if let Err(e) = emit(&mut events, &mut store, &producer, &handle).await {
                    break Err(e);
                }
                let vessels = engine.vessels().count() as u64;
                handle.update(|s| {
                    s.vessels = vessels;
                    s.clock = clock;
                });
            }
            Some(p) = rx.recv() => {
                take(&p, &mut engine, &mut seen, &mut clock, &mut last_wall, &mut events, &mut store, &handle);
                if let Err(e) = emit(&mut events, &mut store, &producer, &handle).await {
                    break Err(e);
                }
                // Stored: now the broker may forget it.
                let _ = consumer.ack(&p).await;
            }
        }
    };
    let _ = consumer.disconnect().await;
    let _ = producer.disconnect().await;
    tasks.abort_all();
    result
}

#[allow(clippy::too_many_arguments)]
fn take(
    p: &Publish,
    engine: &mut FusionEngine,
    seen: &mut Seen,
    clock: &mut Option<Timestamp>,
    last_wall: &mut Instant,
    events: &mut Vec<FusionEvent>,
    store: &mut Store,
    handle: &ServiceHandle,
) {
    let topic = p.topic.as_str();
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
    if !seen.first_time(&obs.id) {
        handle.update(|s| s.duplicates += 1);
        return;
    }
    let (now, advanced) = advance_clock(*clock, obs.time, Timestamp::now());
    if advanced {
        *last_wall = Instant::now();
    } else if obs.time > now {
        // A time far ahead (a sender's broken clock) would make every vessel look silent.
        handle.update(|s| s.future_times += 1);
    }
    *clock = Some(now);
    engine.observe(&obs, now, events);
    handle.update(|s| s.observations += 1);
}

/// How far ahead of both the fusion clock and the wall clock an observation may move the
/// clock: more is a broken clock, not news.
const MAX_AHEAD: SignedDuration = SignedDuration::from_hours(1);

/// The data clock after an observation made at `obs_time`: it moves forward to it
/// (returning true), unless that is more than [`MAX_AHEAD`] past both the clock and the
/// wall clock, in which case the observation is taken at the current clock.
pub fn advance_clock(
    clock: Option<Timestamp>,
    obs_time: Timestamp,
    wall: Timestamp,
) -> (Timestamp, bool) {
    let reference = clock.map_or(wall, |c| c.max(wall));
    match clock {
        Some(c) if obs_time <= c => (c, false),
        _ if obs_time > reference + MAX_AHEAD => (clock.unwrap_or(wall), false),
        _ => (obs_time, true),
    }
}

/// Store, then publish, the alert revisions and taskings produced.
async fn emit(
    events: &mut Vec<FusionEvent>,
    store: &mut Store,
    producer: &AsyncClient,
    handle: &ServiceHandle,
) -> Result<(), ServiceError> {
    if events.is_empty() {
        return Ok(());
    }
    let mut alerts: Vec<Alert> = Vec::new();
    let mut taskings: Vec<Tasking> = Vec::new();
    for e in events.drain(..) {
        match e {
            FusionEvent::Alert(a) => alerts.push(a),
            FusionEvent::Tasking(t) => taskings.push(t),
        }
    }
    store.append(false, &alerts)?;
    store.append(true, &taskings)?;
    for a in &alerts {
        let topic = Topic::Alert(a.kind.as_str().to_string()).to_string();
        let payload = serde_json::to_vec(a).expect("alerts serialize");
        // The store has it; a publish lost to a broken link is found in the store.
        let _ = producer
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await;
        handle.update(|s| {
            *s.alert_revisions
                .entry(a.kind.as_str().to_string())
                .or_default() += 1
        });
    }
    for t in &taskings {
        let Ok(unit) = UnitId::new(&t.unit) else {
            continue;
        };
        let topic = Topic::PatrolTasking(unit).to_string();
        let payload = serde_json::to_vec(t).expect("taskings serialize");
        let _ = producer
            .publish(topic, QoS::AtLeastOnce, false, payload)
            .await;
        handle.update(|s| s.taskings += 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An observation whose topic names another subject than its content is refused (the
    /// broker lets a publisher use any observation topic; only the content says whose it is).
    #[test]
    fn review_17_5_fusion_refuses_an_observation_on_another_subjects_topic() {
        let dir = std::env::temp_dir().join(format!("tw-fusion-review-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut store = Store::open(&dir).unwrap();
        let cfg = crate::FusionConfig::default();
        let geo = crate::Geodata::load(&cfg, None).unwrap();
        let mut engine = FusionEngine::new(cfg, geo);
        let mut seen = Seen {
            set: HashSet::new(),
            order: VecDeque::new(),
            cap: 10,
        };
        let (mut clock, mut wall, mut events) = (None, Instant::now(), Vec::new());
        let handle = ServiceHandle::new();
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
            take(
                &p,
                &mut engine,
                &mut seen,
                &mut clock,
                &mut wall,
                &mut events,
                &mut store,
                &handle,
            );
        }
        let s = handle.stats();
        assert_eq!(
            s.observations, 1,
            "fusion took observations on another subject's topic: {s:?}"
        );
        assert_eq!(s.rejected.get("topic_mismatch"), Some(&2), "{s:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_clock_follows_the_data_but_not_a_broken_senders_clock() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let wall = t("2026-11-22T02:00:00Z");
        // First observation: the clock takes its time.
        assert_eq!(
            advance_clock(None, t("2026-11-22T01:59:00Z"), wall),
            (t("2026-11-22T01:59:00Z"), true)
        );
        // Older data does not move it back.
        let c = Some(t("2026-11-22T02:00:00Z"));
        assert_eq!(
            advance_clock(c, t("2026-11-22T01:00:00Z"), wall),
            (t("2026-11-22T02:00:00Z"), false)
        );
        // An accelerated demo runs ahead of the wall clock, step by step.
        let c = Some(t("2026-11-22T02:50:00Z"));
        assert_eq!(
            advance_clock(c, t("2026-11-22T03:10:00Z"), wall),
            (t("2026-11-22T03:10:00Z"), true)
        );
        // A year 2100 tag block does not.
        assert_eq!(
            advance_clock(c, t("2100-01-01T00:00:00Z"), wall),
            (t("2026-11-22T02:50:00Z"), false)
        );
        assert_eq!(
            advance_clock(None, t("2100-01-01T00:00:00Z"), wall),
            (wall, false)
        );
    }
}
