//! The operations console: the web server and the browser UI it serves.
//!
//! ```text
//!  broker ──obs/#, alerts/#, patrol/+/tasking──▶ feed ──▶ Picture ──▶ REST API (/api/...)
//!                                                  │                  SSE (/api/live)
//!                                                  └──▶ Store (SQLite: users, sessions,
//!                                                        alerts, triage, incidents, audit)
//! ```
//!
//! Everything is served from the binary: the UI (`ops-console/ui/`, no bundler), Leaflet
//! and an offline Natural Earth basemap, the OpenAPI description (`/api/openapi.json`) and
//! its documentation page (`/api/docs`). Nothing is loaded from the internet.

pub mod api;
pub mod assets;
pub mod auth;
#[cfg(test)]
mod casefile_tests;
pub mod db;
pub mod disclosure;
pub mod feed;
pub mod live;
pub mod model;
pub mod picture;
pub mod report;
pub mod sea;
pub mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use jiff::Timestamp;
use tokio::sync::broadcast;

use self::auth::{LoginLimiter, PasswordGate, Role};
use self::live::{LiveEvent, LiveMessage};
use self::model::{AlertView, Incident, Triage};
use self::picture::{Picture, PictureConfig};
use self::store::{NewAudit, Store, StoreError, UserRecord};
use crate::metrics::Metrics;

/// A session held in memory (the store has it too).
#[derive(Debug, Clone)]
pub struct LiveSession {
    /// The user.
    pub user: String,
    /// Their role.
    pub role: Role,
    /// Must change the one-time password first.
    pub must_change: bool,
    /// Anti-CSRF token.
    pub csrf: String,
    /// Created, unix seconds.
    pub created_at: i64,
    /// Last used, unix seconds.
    pub last_seen: i64,
    /// Last written to the store, unix seconds.
    pub stored_seen: i64,
}

/// Counters of the console itself.
#[derive(Debug, Default)]
pub struct ConsoleStats {
    /// Messages from the broker refused, by reason.
    pub refused: Mutex<HashMap<&'static str, u64>>,
    /// Their sum, read by the feed for every message it takes (without the lock).
    pub refused_total: AtomicU64,
    /// Alert revisions stored.
    pub alerts: AtomicU64,
    /// Browsers connected to the live stream now.
    pub live_clients: Arc<AtomicU64>,
}

/// Messages for units (topic, payload), as the feed receives them to send.
pub(crate) type ToUnits = tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>;

/// The console's state, shared by every request.
pub struct Console {
    store: Store,
    picture: RwLock<Picture>,
    sessions: Mutex<HashMap<String, LiveSession>>,
    limiter: LoginLimiter,
    password_gate: PasswordGate,
    /// Bumped whenever sessions end: every open live stream re-checks its own.
    session_epoch: tokio::sync::watch::Sender<u64>,
    live: broadcast::Sender<Arc<LiveMessage>>,
    metrics: Arc<Metrics>,
    feed_up: AtomicBool,
    /// The feed's subscriptions are confirmed by the broker (SUBACK).
    feed_subscribed: AtomicBool,
    stats: ConsoleStats,
    /// Where refused broker messages are kept (JSON lines); none in tests in memory.
    rejects: Option<Mutex<fusion::store::DailyLog>>,
    /// Compression and retention of the closed days of `rejects`.
    _rejects_upkeep: Option<ingest::hourly::Upkeep>,
    /// The live picture as JSON, rebuilt at most once a second (every tab asks for it).
    live_json: Mutex<Option<(std::time::Instant, axum::body::Bytes)>>,
    /// Cookies get `Secure` (the console is behind TLS).
    pub secure_cookies: bool,
    /// Reference data for case files (States, units, zones).
    reference: tidewatch_cases::casefile::Reference,
    /// The data directory (exports go under it), if not in memory.
    dir: Option<PathBuf>,
    /// Messages for units at sea (case views), sent by the feed.
    to_units: tokio::sync::mpsc::UnboundedSender<(String, Vec<u8>)>,
    /// Its receiving end, until the feed takes it.
    to_units_rx: Mutex<Option<ToUnits>>,
    /// Evidence files arriving from units, in part, when the console keeps no directory.
    partial_files: Mutex<HashMap<String, Vec<u8>>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console").finish_non_exhaustive()
    }
}

/// Read reference data for case files from `path` (`None`: the shipped demonstration
/// data): refused at start when it does not parse, naming the file.
pub fn load_reference(
    path: Option<&std::path::Path>,
) -> anyhow::Result<Option<tidewatch_cases::casefile::Reference>> {
    use anyhow::Context;
    let Some(p) = path else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(p).with_context(|| format!("reference data {}", p.display()))?;
    tidewatch_cases::casefile::Reference::from_toml(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
}

/// What the console needs to start.
#[derive(Debug)]
pub struct ConsoleConfig {
    /// Data directory: `console.db` and `console-rejects.jsonl` (closed each day,
    /// `console-rejects-YYYYMMDDT00.jsonl.gz`, kept a year) go here (`None`: in memory).
    pub dir: Option<PathBuf>,
    /// What the picture keeps.
    pub picture: PictureConfig,
    /// Fusion rules for the picture's own engine (identity, risk).
    pub fusion: fusion::Setup,
    /// Reference data for case files (`None`: the demonstration area's).
    pub reference: Option<tidewatch_cases::casefile::Reference>,
    /// The store on PostgreSQL, shared with other consoles; `None`: SQLite's `console.db`
    /// in `dir`.
    pub database: Option<Database>,
}

/// Where a console's store is on PostgreSQL.
#[derive(Debug, Clone)]
pub struct Database {
    /// `postgres://USER@HOST:PORT/DATABASE` (or the `key=value` form).
    pub url: String,
    /// The password, if not in the URL.
    pub password: Option<String>,
}

/// Closed days of the console's refused messages.
const REJECTS: ingest::hourly::Kind = ingest::hourly::Kind {
    prefix: "console-rejects-",
    suffix: ".jsonl",
};

impl Console {
    /// Open the store (creating it), load alerts, triage and incidents into the picture.
    pub fn open(
        cfg: ConsoleConfig,
        engine: fusion::FusionEngine,
        metrics: Arc<Metrics>,
    ) -> Result<Console, StoreError> {
        let store = match (&cfg.database, &cfg.dir) {
            (Some(db), _) => Store::connect_postgres_with(&db.url, db.password.as_deref())?,
            (None, Some(d)) => Store::open(d)?,
            (None, None) => Store::in_memory()?,
        };
        let io = |e: std::io::Error| StoreError::Corrupt(format!("console-rejects.jsonl: {e}"));
        let (rejects, rejects_upkeep) = match &cfg.dir {
            Some(d) => (
                Some(Mutex::new(
                    fusion::store::DailyLog::open(d, "console-rejects.jsonl", REJECTS)
                        .map_err(io)?,
                )),
                Some(
                    fusion::store::upkeep_daily(
                        d,
                        REJECTS,
                        fusion::store::DEFAULT_RETAIN_REJECTS_DAYS,
                    )
                    .map_err(io)?,
                ),
            ),
            None => (None, None),
        };
        let mut picture = Picture::new(cfg.picture, engine);
        for json in store.alerts()? {
            let a: fusion::Alert = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("stored alert: {e}")))?;
            picture.alert(a);
        }
        for (id, json) in store.triages()? {
            let t: Triage = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("triage of {id}: {e}")))?;
            picture.set_triage(&id, t);
        }
        picture.restore(store.recent_positions(picture.history().as_secs())?);
        for json in store.incidents()? {
            let i: Incident = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("stored incident: {e}")))?;
            picture.add_incident(i);
        }
        for (json, status, reason) in store.taskings()? {
            let t: ingest::wire::Tasking = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("stored tasking: {e}")))?;
            picture.restore_tasking(t, status, reason);
        }
        let (live, _) = broadcast::channel(256);
        let (to_units, to_units_rx) = tokio::sync::mpsc::unbounded_channel();
        Ok(Console {
            to_units,
            to_units_rx: Mutex::new(Some(to_units_rx)),
            partial_files: Mutex::new(HashMap::new()),
            store,
            picture: RwLock::new(picture),
            sessions: Mutex::new(HashMap::new()),
            limiter: LoginLimiter::default(),
            password_gate: PasswordGate::default(),
            session_epoch: tokio::sync::watch::Sender::new(0),
            live,
            metrics,
            feed_up: AtomicBool::new(false),
            feed_subscribed: AtomicBool::new(false),
            stats: ConsoleStats::default(),
            rejects,
            _rejects_upkeep: rejects_upkeep,
            live_json: Mutex::new(None),
            secure_cookies: false,
            reference: cfg
                .reference
                .clone()
                .unwrap_or_else(tidewatch_cases::casefile::Reference::default_demo),
            dir: cfg.dir.clone(),
        })
    }

    /// A console for tests: default configuration, the store in `dir` (in memory without).
    #[cfg(test)]
    pub(crate) fn for_tests(dir: Option<PathBuf>) -> Console {
        // The same tests on PostgreSQL with TIDEWATCH_TEST_STORE=postgres.
        let db = crate::testkit::on_postgres().then(crate::testkit::TestDb::new);
        Console::for_tests_on(dir, db.as_ref())
    }

    /// [`Console::for_tests`] on the PostgreSQL database `db` (`None`: SQLite in `dir`), so
    /// that a test can start a console again on the same store.
    #[cfg(test)]
    pub(crate) fn for_tests_on(
        dir: Option<PathBuf>,
        db: Option<&crate::testkit::TestDb>,
    ) -> Console {
        let cfg = fusion::FusionConfig::default();
        let geo = fusion::Geodata::load(&cfg, None).unwrap();
        Console::open(
            ConsoleConfig {
                dir,
                picture: Default::default(),
                fusion: Default::default(),
                reference: None,
                database: db.map(|d| Database {
                    url: d.place(),
                    password: None,
                }),
            },
            fusion::FusionEngine::new(cfg, geo),
            Arc::new(Metrics::new()),
        )
        .unwrap()
    }

    /// Reference data for case files.
    pub fn reference(&self) -> &tidewatch_cases::casefile::Reference {
        &self.reference
    }

    /// The data directory, if the console keeps one.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Read the picture.
    pub fn picture(&self) -> RwLockReadGuard<'_, Picture> {
        self.picture.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Change the picture.
    pub fn picture_mut(&self) -> RwLockWriteGuard<'_, Picture> {
        self.picture.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The console's counters.
    pub fn stats(&self) -> &ConsoleStats {
        &self.stats
    }

    /// The metrics registry (`/metrics`, the status page).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Whether the feed is connected to the broker.
    pub fn feed_connected(&self, up: bool) {
        self.feed_up.store(up, Relaxed);
    }

    /// Is the feed connected?
    pub fn feed_is_up(&self) -> bool {
        self.feed_up.load(Relaxed)
    }

    /// Whether the broker confirmed every subscription of the feed's connection.
    pub fn feed_subscribed(&self, yes: bool) {
        self.feed_subscribed.store(yes, Relaxed);
    }

    /// Does the feed receive what is published (every subscription confirmed)?
    pub fn feed_is_subscribed(&self) -> bool {
        self.feed_subscribed.load(Relaxed)
    }

    /// Send a change to every browser.
    pub fn publish(&self, e: LiveEvent) {
        let _ = self.live.send(Arc::new(e.message()));
    }

    /// A new live stream.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveMessage>> {
        self.live.subscribe()
    }

    /// Count and keep a message from the broker that cannot be used.
    ///
    /// The message is kept whole (`payload`, as text) in `console-rejects.jsonl`, written
    /// before this returns; an error means it is not kept, and the caller leaves the message
    /// unacknowledged for the broker to deliver again.
    pub fn refuse(
        &self,
        reason: &'static str,
        topic: &str,
        error: &str,
        payload: &[u8],
    ) -> Result<(), StoreError> {
        if let Some(f) = &self.rejects {
            let line = serde_json::json!({
                "time": Timestamp::now(), "topic": topic, "reason": reason, "error": error,
                "payload": String::from_utf8_lossy(payload),
            });
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            // Written (a SIGKILL keeps it), not fsync'd one by one: a flood of bad messages
            // must not slow the feed to a disk's pace. The feed makes a batch's refusals
            // durable together before it acknowledges them ([`Console::sync_rejects`]).
            f.write_line(&line.to_string()).map_err(|e| {
                    tracing::error!(topic, reason, error = %e, "console: cannot keep a refused message; left unacknowledged");
                    StoreError::Io(e)
                })?;
        }
        // Counted once kept: a message delivered again after a failure is counted once.
        *self
            .stats
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reason)
            .or_default() += 1;
        self.stats.refused_total.fetch_add(1, Relaxed);
        tracing::warn!(topic, reason, error, "console: message refused");
        Ok(())
    }

    /// Make every refused message kept so far durable (one `fsync` for all of them): the
    /// feed calls it before acknowledging a batch's refusals, so a power cut loses no
    /// message the broker was told was taken.
    pub fn sync_rejects(&self) -> Result<(), StoreError> {
        if let Some(f) = &self.rejects {
            f.lock()
                .unwrap_or_else(|p| p.into_inner())
                .sync()
                .map_err(StoreError::Io)?;
        }
        Ok(())
    }

    /// How many messages were refused (and kept) since the console started.
    pub fn refused_total(&self) -> u64 {
        self.stats.refused_total.load(Relaxed)
    }

    /// Store an alert revision from fusion, then show it.
    pub fn take_alert(&self, a: fusion::Alert, raw: &[u8]) -> Result<(), StoreError> {
        let json = std::str::from_utf8(raw)
            .map(str::to_owned)
            .unwrap_or_else(|_| serde_json::to_string(&a).unwrap_or_default());
        self.store.add_alert(&a.id, a.revision, &json)?;
        let id = a.id.clone();
        let view = {
            let mut p = self.picture_mut();
            if !p.alert(a) {
                return Ok(());
            }
            p.alert_with_history(&id).map(|(v, _)| v)
        };
        self.stats.alerts.fetch_add(1, Relaxed);
        if let Some(v) = view {
            self.publish(LiveEvent::Alert(Box::new(v)));
        }
        Ok(())
    }

    /// Take into the picture the incidents the store holds and the picture does not
    /// (opened by another console sharing a PostgreSQL store); those it took.
    pub fn sync_incidents(&self) -> Result<Vec<Incident>, StoreError> {
        let stored = self.store.incidents()?;
        let mut p = self.picture_mut();
        let mut added = Vec::new();
        for json in stored {
            let i: Incident = serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("stored incident: {e}")))?;
            if !p.incidents().iter().any(|k| k.id == i.id) {
                p.add_incident(i.clone());
                added.push(i);
            }
        }
        Ok(added)
    }

    /// What a console sharing the store changed (`incident:ID`, `triage:ALERT`; `""`:
    /// anything, after the listener lost its connection), taken into the picture and shown
    /// to this console's users as if it had been done here. What this console did itself
    /// comes back too, and changes nothing.
    pub fn remote_change(&self, what: &str) -> Result<(), StoreError> {
        match what.split_once(':') {
            Some(("incident", _)) => self.incidents_from_store(),
            Some(("triage", alert)) => match self.store.triage(alert)? {
                Some(json) => self.take_triage(alert, &json),
                None => Ok(()),
            },
            _ if what.is_empty() => {
                self.incidents_from_store()?;
                for (alert, json) in self.store.triages()? {
                    self.take_triage(&alert, &json)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn incidents_from_store(&self) -> Result<(), StoreError> {
        for i in self.sync_incidents()? {
            self.publish(LiveEvent::Incident(i));
        }
        Ok(())
    }

    /// An alert's triage as stored, into the picture and onto the live stream if new.
    fn take_triage(&self, alert: &str, json: &str) -> Result<(), StoreError> {
        let t: Triage = serde_json::from_str(json)
            .map_err(|e| StoreError::Corrupt(format!("stored triage of {alert}: {e}")))?;
        let view = {
            let mut p = self.picture_mut();
            if p.triage(alert).is_some_and(|now| *now == t) {
                return Ok(());
            }
            p.set_triage(alert, t);
            p.alert_with_history(alert).map(|(v, _)| v)
        };
        if let Some(v) = view {
            self.publish(LiveEvent::Alert(Box::new(v)));
        }
        Ok(())
    }

    /// The live picture as JSON: rebuilt when older than a second (tracks change once a
    /// second on the live stream anyway), so many tabs cost one serialization.
    pub fn live_picture_json(&self) -> axum::body::Bytes {
        let mut cache = self.live_json.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, json)) = cache.as_ref()
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return json.clone();
        }
        let snapshot = self.picture().snapshot(None);
        let json = axum::body::Bytes::from(serde_json::to_vec(&snapshot).unwrap_or_default());
        *cache = Some((std::time::Instant::now(), json.clone()));
        json
    }

    /// Sessions held in memory.
    pub fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, LiveSession>> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The login limiter.
    pub fn limiter(&self) -> &LoginLimiter {
        &self.limiter
    }

    /// The bound on password checks running at once (and its gauges).
    pub fn password_gate(&self) -> &PasswordGate {
        &self.password_gate
    }

    /// Tell every open stream that sessions ended: each re-checks its own at once.
    pub fn sessions_ended(&self) {
        self.session_epoch.send_modify(|e| *e = e.wrapping_add(1));
    }

    /// End a session (memory and store); its open streams end with it.
    pub fn end_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        self.sessions().remove(token_sha256);
        let r = self.store.delete_session(token_sha256);
        self.sessions_ended();
        r
    }

    /// End every session of `user` but `keep` (a password change); their open streams end
    /// with them. Returns how many ended.
    pub fn end_other_sessions(&self, user: &str, keep: &str) -> Result<usize, StoreError> {
        let ended = self.store.delete_other_sessions(user, keep);
        {
            let mut s = self.sessions();
            s.retain(|h, v| h == keep || v.user != user);
        }
        self.sessions_ended();
        Ok(ended?.len())
    }

    /// Is the session `token_sha256` of `user` as `role` still going: not ended, not
    /// expired, its account there, active and of the same role?
    pub fn session_alive(
        &self,
        token_sha256: &str,
        user: &str,
        role: Role,
    ) -> Result<bool, StoreError> {
        let Some(rec) = self.store.session(token_sha256)? else {
            return Ok(false);
        };
        // Memory has the latest use; the store at most a minute older.
        let seen = self
            .sessions()
            .get(token_sha256)
            .map_or(rec.last_seen, |s| s.last_seen.max(rec.last_seen));
        let now = Timestamp::now().as_second();
        if now - seen > auth::IDLE_LIMIT_S || now - rec.created_at > auth::ABSOLUTE_LIMIT_S {
            return Ok(false);
        }
        let Some(account) = self.store.user(&rec.user)? else {
            return Ok(false);
        };
        Ok(account.name == user && account.role == role && !self.store.account_pending(user)?)
    }

    /// Resolves when the session `token_sha256` ends, for any reason: at once when a
    /// session ends in this console (logout, password change, expiry found by a request),
    /// else found by a re-check every [`live::SESSION_RECHECK_S`] (expiry, a change made
    /// by another process such as `tidewatch user passwd`). A store error ends it too.
    /// Holds no strong reference: the console going away ends it.
    pub fn session_end(
        self: &Arc<Self>,
        token_sha256: String,
        user: String,
        role: Role,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        let console = Arc::downgrade(self);
        let mut ended = self.session_epoch.subscribe();
        async move {
            let mut recheck =
                tokio::time::interval(std::time::Duration::from_secs(live::SESSION_RECHECK_S));
            recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                // The first tick is at once: a session ended before the stream began.
                tokio::select! {
                    changed = ended.changed() => if changed.is_err() { return },
                    _ = recheck.tick() => {}
                }
                let Some(c) = console.upgrade() else { return };
                match c.session_alive(&token_sha256, &user, role) {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => {
                        tracing::warn!(error = %e, "console: cannot re-check a live stream's session; ending the stream");
                        return;
                    }
                }
            }
        }
    }

    /// Change an alert's triage, log it (one transaction), show it.
    pub fn triage(
        &self,
        alert: &str,
        t: Triage,
        user: &str,
        role: Role,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<AlertView, StoreError> {
        let json = serde_json::to_string(&t).unwrap_or_default();
        self.store.set_triage(
            alert,
            &json,
            NewAudit {
                user: Some(user),
                role: Some(role),
                action,
                target: Some(alert),
                detail: &detail,
            },
        )?;
        let view = {
            let mut p = self.picture_mut();
            p.set_triage(alert, t);
            p.alert_with_history(alert).map(|(v, _)| v)
        };
        let view = view.ok_or_else(|| StoreError::Corrupt(format!("alert {alert} vanished")))?;
        self.publish(LiveEvent::Alert(Box::new(view.clone())));
        Ok(view)
    }
}

/// Create the first administrator when there is no account at all; returns the one-time
/// password to print (it must be changed at first login).
pub fn ensure_admin(store: &Store) -> Result<Option<(String, String)>, StoreError> {
    if !store.users()?.is_empty() {
        return Ok(None);
    }
    let password = create_user(store, "admin", Role::Admin, None, None)?
        .ok_or_else(|| StoreError::Corrupt("user \"admin\" exists".into()))?;
    Ok(Some(("admin".into(), password)))
}

/// Create an account and log it (`by`: who did, absent for the system or the command
/// line). With no `password` a one-time password is made, to be changed at first login.
/// Returns the password, or None when the name is taken. Hashes: slow by design.
pub fn create_user(
    store: &Store,
    name: &str,
    role: Role,
    password: Option<String>,
    by: Option<(&str, Role)>,
) -> Result<Option<String>, StoreError> {
    let one_time = password.is_none();
    let password = password.unwrap_or_else(auth::one_time_password);
    let phc = auth::hash_password(&password).map_err(StoreError::Corrupt)?;
    if !store.add_user(&UserRecord {
        name: name.into(),
        role,
        password: phc,
        must_change: one_time,
        created_at: Timestamp::now(),
    })? {
        return Ok(None);
    }
    store.audit(NewAudit {
        user: by.map(|b| b.0),
        role: by.map(|b| b.1),
        action: "user_add",
        target: Some(name),
        detail: &serde_json::json!({"role": role, "one_time_password": one_time}),
    })?;
    Ok(Some(password))
}

/// Ask for an account with a role that sees operational data, as the administrator `by`
/// (through the API): it is created inactive, with a password nobody knows, until someone
/// with [`auth::Permission::ApproveAccounts`] approves it ([`approve_user`]); the one-time
/// password goes to the approver, never to the administrator. False when the name is
/// taken. Hashes: slow by design.
pub fn request_user(
    store: &Store,
    name: &str,
    role: Role,
    by: (&str, Role),
) -> Result<bool, StoreError> {
    // Not a password anyone holds: the account cannot be used before approval.
    let phc = auth::hash_password(&auth::random_token(32)).map_err(StoreError::Corrupt)?;
    store.request_user(
        &UserRecord {
            name: name.into(),
            role,
            password: phc,
            must_change: true,
            created_at: Timestamp::now(),
        },
        NewAudit {
            user: Some(by.0),
            role: Some(by.1),
            action: "user_request",
            target: Some(name),
            detail: &serde_json::json!({"role": role, "awaits": "approval"}),
        },
    )
}

/// Approve an account the administrator asked for, as `by`: it gets a one-time password
/// (returned, for the approver to hand over; changed at first login) and becomes usable.
/// None when `name` awaits no approval. Hashes: slow by design.
pub fn approve_user(
    store: &Store,
    name: &str,
    by: (&str, Role),
) -> Result<Option<(store::AccountRequest, String)>, StoreError> {
    let Some(req) = store.account_request(name)? else {
        return Ok(None);
    };
    let password = auth::one_time_password();
    let phc = auth::hash_password(&password).map_err(StoreError::Corrupt)?;
    let approved = store.approve_user(
        name,
        &phc,
        NewAudit {
            user: Some(by.0),
            role: Some(by.1),
            action: "user_approve",
            target: Some(name),
            detail: &serde_json::json!({
                "role": req.role, "requested_by": req.requested_by, "one_time_password": true,
            }),
        },
    )?;
    Ok(approved.map(|r| (r, password)))
}

/// Where the console keeps its files under a data directory.
pub fn console_dir(data: &Path) -> PathBuf {
    data.join("console")
}

/// The console's whole HTTP surface: the UI, the API and its description, `/metrics`.
pub fn router(console: Arc<Console>) -> axum::Router {
    let (api, openapi) = api::routes();
    let metrics = crate::metrics::router(console.metrics.clone());
    let docs: axum::Router = utoipa_swagger_ui::SwaggerUi::new("/api/docs")
        .url("/api/openapi.json", openapi)
        .into();
    api.with_state(console)
        .merge(assets::router())
        .merge(metrics)
        .layer(axum::middleware::map_response(security_headers))
        // The API's documentation page runs its own scripts: no policy of ours on it.
        .merge(docs)
}

/// Headers every response carries (OWASP ASVS 14.4): no sniffing, no framing, no referrer;
/// what the API answers is never cached (it holds personal and protected data); a page the
/// API renders (the printable report) runs no script and loads nothing from elsewhere.
async fn security_headers(mut r: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = r.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ));
    r
}

/// A running console.
#[derive(Debug)]
pub struct Running {
    /// The state (tests read it).
    pub console: Arc<Console>,
    /// Where it listens.
    pub http: std::net::SocketAddr,
    /// The first administrator's name and one-time password, when just created.
    pub first_admin: Option<(String, String)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    feed: tokio::task::JoinHandle<()>,
    server: tokio::task::JoinHandle<()>,
    /// The SHA-256 fingerprint of the certificate served, when HTTPS.
    pub tls_fingerprint: Option<String>,
}

impl Running {
    /// Stop the feed and the server.
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let _ = (&mut self.feed).await;
        self.server.abort();
    }
}

/// How the console's web server is secured.
#[derive(Debug, Default)]
pub struct WebSecurity {
    /// Serve HTTPS with this identity (then cookies are `Secure` and responses carry HSTS).
    pub tls: Option<ingest::link::tls::Identity>,
    /// Mark cookies `Secure` even on plain HTTP (HTTPS terminated by a proxy in front).
    pub secure_cookies: bool,
}

impl From<bool> for WebSecurity {
    /// Plain HTTP, cookies `Secure` or not.
    fn from(secure_cookies: bool) -> Self {
        WebSecurity {
            tls: None,
            secure_cookies,
        }
    }
}

impl WebSecurity {
    /// The console's web security for `http`: the operator's certificate (`cert`, `key`)
    /// when given, plain HTTP on loopback, otherwise the self-signed certificate kept under
    /// `data` (made on first start). Plain HTTP is never served outside loopback.
    pub fn for_address(
        http: &std::net::SocketAddr,
        files: Option<(&std::path::Path, &std::path::Path)>,
        data: Option<&std::path::Path>,
        secure_cookies: bool,
    ) -> anyhow::Result<WebSecurity> {
        let dir = data.map(ingest::link::tls::default_dir);
        Ok(WebSecurity {
            tls: ingest::link::tls::for_listener(http, files, dir.as_deref())?,
            secure_cookies,
        })
    }
}

/// Start the console: open the store (creating the first administrator if there is no
/// account), connect the feed to the broker, serve HTTP on `http` (HTTPS when `web` has a
/// certificate; plain HTTP only on loopback).
pub async fn start(
    cfg: ConsoleConfig,
    feed_cfg: feed::FeedConfig,
    http: std::net::SocketAddr,
    metrics: Arc<Metrics>,
    web: impl Into<WebSecurity>,
) -> anyhow::Result<Running> {
    use anyhow::Context;
    let web = web.into();
    if web.tls.is_none() && !ingest::link::tls::is_loopback(&http) {
        anyhow::bail!(
            "the console serves plain HTTP on loopback only: {http} needs a certificate (--tls-cert FILE --tls-key FILE, or none to make a self-signed one)"
        );
    }
    let secure_cookies = web.secure_cookies || web.tls.is_some();
    let engine = cfg.fusion.engine();
    let mut console = Console::open(cfg, engine, metrics.clone()).context("console store")?;
    console.secure_cookies = secure_cookies;
    let first_admin = ensure_admin(console.store()).context("creating the first administrator")?;
    let console = Arc::new(console);
    add_console_metrics(&metrics, console.clone());
    let listener = tokio::net::TcpListener::bind(http)
        .await
        .with_context(|| format!("cannot listen for HTTP on {http}"))?;
    let local = listener.local_addr()?;
    let app = router(console.clone());
    let tls_fingerprint = web.tls.as_ref().map(|t| t.fingerprint());
    let server = match &web.tls {
        None => tokio::spawn(async move {
            if let Err(e) = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await
            {
                tracing::error!(error = %e, "console HTTP server stopped");
            }
        }),
        Some(id) => {
            let config = id.server_config_alpn(&[b"http/1.1"])?;
            let config = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config));
            // Browsers are told to use HTTPS only, from now on, for a year.
            let app = app.layer(axum::middleware::map_response(
                |mut r: axum::response::Response| async move {
                    r.headers_mut().insert(
                        axum::http::header::STRICT_TRANSPORT_SECURITY,
                        axum::http::HeaderValue::from_static("max-age=31536000"),
                    );
                    r
                },
            ));
            let server = axum_server::from_tcp_rustls(listener.into_std()?, config)?;
            tokio::spawn(async move {
                if let Err(e) = server
                    .serve(app.into_make_service_with_connect_info::<std::net::SocketAddr>())
                    .await
                {
                    tracing::error!(error = %e, "console HTTPS server stopped");
                }
            })
        }
    };
    // Consoles sharing a PostgreSQL store show each other's changes as they happen.
    let shared = Arc::downgrade(&console);
    console.store().listen(move |what| {
        let Some(c) = shared.upgrade() else {
            return false;
        };
        if let Err(e) = c.remote_change(what) {
            tracing::warn!(error = %e, what, "console: cannot take another console's change");
        }
        true
    })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let feed = tokio::spawn(feed::run(feed_cfg, console.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        console,
        http: local,
        tls_fingerprint,
        first_admin,
        stop: Some(stop),
        feed,
        server,
    })
}

fn add_console_metrics(m: &Metrics, c: Arc<Console>) {
    m.add(move || {
        let refused = c
            .stats
            .refused
            .lock()
            .map(|r| r.iter().map(|(k, v)| (*k, *v)).collect())
            .unwrap_or_default();
        crate::metrics::ConsoleFigures {
            tracks: c.picture().track_count() as u64,
            alerts: c.stats.alerts.load(Relaxed),
            live_clients: c.stats.live_clients.load(Relaxed),
            sessions: c.sessions().len() as u64,
            feed_connected: c.feed_is_up(),
            refused,
        }
    });
}
