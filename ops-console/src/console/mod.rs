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
pub mod cases;
pub mod feed;
pub mod live;
pub mod model;
pub mod picture;
pub mod store;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use jiff::Timestamp;
use tokio::sync::broadcast;

use self::auth::{LoginLimiter, Role};
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
    /// Alert revisions stored.
    pub alerts: AtomicU64,
    /// Browsers connected to the live stream now.
    pub live_clients: Arc<AtomicU64>,
}

/// The console's state, shared by every request.
pub struct Console {
    store: Store,
    picture: RwLock<Picture>,
    sessions: Mutex<HashMap<String, LiveSession>>,
    limiter: LoginLimiter,
    live: broadcast::Sender<Arc<LiveMessage>>,
    metrics: Arc<Metrics>,
    feed_up: AtomicBool,
    stats: ConsoleStats,
    /// Where refused broker messages are kept (JSON lines); none in tests in memory.
    rejects: Option<Mutex<std::fs::File>>,
    /// The live picture as JSON, rebuilt at most once a second (every tab asks for it).
    live_json: Mutex<Option<(std::time::Instant, bytes::Bytes)>>,
    /// Cookies get `Secure` (the console is behind TLS).
    pub secure_cookies: bool,
    /// Reference data for case files (States, units, zones).
    reference: crate::interception::casefile::Reference,
    /// The data directory (exports go under it), if not in memory.
    dir: Option<PathBuf>,
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
) -> anyhow::Result<Option<crate::interception::casefile::Reference>> {
    use anyhow::Context;
    let Some(p) = path else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(p).with_context(|| format!("reference data {}", p.display()))?;
    crate::interception::casefile::Reference::from_toml(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
}

/// What the console needs to start.
#[derive(Debug)]
pub struct ConsoleConfig {
    /// Data directory: `console.db` and `console-rejects.jsonl` go here (`None`: in memory).
    pub dir: Option<PathBuf>,
    /// What the picture keeps.
    pub picture: PictureConfig,
    /// Fusion rules for the picture's own engine (identity, risk).
    pub fusion: fusion::FusionConfig,
    /// Reference data for case files (`None`: the demonstration area's).
    pub reference: Option<crate::interception::casefile::Reference>,
}

impl Console {
    /// Open the store (creating it), load alerts, triage and incidents into the picture.
    pub fn open(
        cfg: ConsoleConfig,
        engine: fusion::FusionEngine,
        metrics: Arc<Metrics>,
    ) -> Result<Console, StoreError> {
        let store = match &cfg.dir {
            Some(d) => Store::open(d)?,
            None => Store::in_memory()?,
        };
        let rejects = match &cfg.dir {
            Some(d) => Some(Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(d.join("console-rejects.jsonl"))
                    .map_err(|e| StoreError::Corrupt(format!("console-rejects.jsonl: {e}")))?,
            )),
            None => None,
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
        let (live, _) = broadcast::channel(256);
        Ok(Console {
            store,
            picture: RwLock::new(picture),
            sessions: Mutex::new(HashMap::new()),
            limiter: LoginLimiter::default(),
            live,
            metrics,
            feed_up: AtomicBool::new(false),
            stats: ConsoleStats::default(),
            rejects,
            live_json: Mutex::new(None),
            secure_cookies: false,
            reference: cfg
                .reference
                .clone()
                .unwrap_or_else(crate::interception::casefile::Reference::default_demo),
            dir: cfg.dir.clone(),
        })
    }

    /// Reference data for case files.
    pub fn reference(&self) -> &crate::interception::casefile::Reference {
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

    /// Send a change to every browser.
    pub fn publish(&self, e: LiveEvent) {
        let _ = self.live.send(Arc::new(e.message()));
    }

    /// A new live stream.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveMessage>> {
        self.live.subscribe()
    }

    /// Count and keep a message from the broker that cannot be used.
    pub fn refuse(&self, reason: &'static str, topic: &str, error: &str) {
        *self
            .stats
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(reason)
            .or_default() += 1;
        tracing::warn!(topic, reason, error, "console: message refused");
        if let Some(f) = &self.rejects {
            use std::io::Write;
            let line = serde_json::json!({
                "time": Timestamp::now(), "topic": topic, "reason": reason, "error": error,
            });
            let mut f = f.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(f, "{line}");
        }
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

    /// The live picture as JSON: rebuilt when older than a second (tracks change once a
    /// second on the live stream anyway), so many tabs cost one serialization.
    pub fn live_picture_json(&self) -> bytes::Bytes {
        let mut cache = self.live_json.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, json)) = cache.as_ref()
            && at.elapsed() < std::time::Duration::from_secs(1)
        {
            return json.clone();
        }
        let snapshot = self.picture().snapshot(None);
        let json = bytes::Bytes::from(serde_json::to_vec(&snapshot).unwrap_or_default());
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
        .merge(docs)
        .merge(assets::router())
        .merge(metrics)
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

/// Start the console: open the store (creating the first administrator if there is no
/// account), connect the feed to the broker, serve HTTP on `http`.
pub async fn start(
    cfg: ConsoleConfig,
    feed_cfg: feed::FeedConfig,
    http: std::net::SocketAddr,
    metrics: Arc<Metrics>,
    secure_cookies: bool,
) -> anyhow::Result<Running> {
    use anyhow::Context;
    let geo = fusion::Geodata::load(&cfg.fusion, None).context("fusion reference data")?;
    let engine = fusion::FusionEngine::new(cfg.fusion.clone(), geo);
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
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        {
            tracing::error!(error = %e, "console HTTP server stopped");
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let feed = tokio::spawn(feed::run(feed_cfg, console.clone(), async move {
        let _ = stopped.await;
    }));
    Ok(Running {
        console,
        http: local,
        first_admin,
        stop: Some(stop),
        feed,
        server,
    })
}

fn add_console_metrics(m: &Metrics, c: Arc<Console>) {
    m.add_console(move || {
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
