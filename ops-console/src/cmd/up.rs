//! `tidewatch up`: everything in one process on embedded defaults.
//!
//! ```text
//!  demo scenario ──NMEA──▶ embedded broker ──▶ ingest service ──▶ obs/... ──▶ fusion ──▶ alerts/...
//!  (with --demo)           (127.0.0.1:1883)     (raw archive)          │                        │
//!                                                                      └──▶ console (web, :8080) ◀┘
//! ```
//!
//! The embedded MQTT broker and the ingest service run as they would deployed: receivers
//! and patrol units publish to the broker, ingest archives every line and publishes
//! observations, fusion raises alerts, and the console shows the picture in the browser
//! (the terminal shows a table of it too).

use ingest::link::client::{self, Backoff};
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ingest::model::{Observation, ObservationData};
use ingest::obslog::ObservationLog;
use ingest::service::{self, ServiceConfig, ServiceHandle};
use ingest::wire::topics::OBS_FILTER;
use jiff::{SignedDuration, Timestamp};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use simulators::scenario::{self, Emission};
use tokio::sync::{mpsc, oneshot};

use crate::cli::UpArgs;
use crate::metrics::Metrics;
use tidewatch_broker::{Broker, BrokerConfig, Credentials, Role};

/// What the picture knows about one vessel.
#[derive(Debug, Clone, Default)]
struct Contact {
    name: String,
    position: Option<(f64, f64)>,
    speed_kn: Option<f64>,
    course_deg: Option<f64>,
    status: &'static str,
    last_heard: Option<Timestamp>,
    messages: u64,
}

/// How fast scenario time runs.
pub(crate) enum Speed {
    /// Scenario seconds per wall-clock second.
    Times(f64),
    /// As fast as the machine goes.
    Max,
}

pub(crate) fn parse_speed(s: &str) -> Result<Speed> {
    if s == "max" {
        return Ok(Speed::Max);
    }
    let x: f64 = s
        .parse()
        .ok()
        .filter(|x: &f64| x.is_finite() && *x > 0.0)
        .with_context(|| format!("--speed {s:?}: a positive number or `max`"))?;
    Ok(Speed::Times(x))
}

/// Where a run of `span` at `speed` starts so that it ends at `now` + its wall time, never
/// in the future: `now − span·(x−1)/x` at `x` times real time, `now − span` as fast as
/// possible, `now` at real time or slower.
pub(crate) fn accelerated_start(now: Timestamp, span: SignedDuration, speed: &Speed) -> Timestamp {
    match speed {
        Speed::Max => now - span,
        Speed::Times(x) if *x > 1.0 => {
            now - SignedDuration::from_secs_f64(span.as_secs_f64() * (x - 1.0) / x)
        }
        Speed::Times(_) => now,
    }
}

pub(crate) fn parse_duration(s: &str) -> Result<SignedDuration> {
    let d: jiff::Span = s
        .parse()
        .with_context(|| format!("--duration {s:?}: use a span like 30m, 2h or 90s"))?;
    let d = SignedDuration::try_from(d).context("--duration: calendar units are not allowed")?;
    if !d.is_positive() {
        bail!("--duration must be positive");
    }
    Ok(d)
}

/// `tidewatch up`.
pub fn run(args: &UpArgs) -> Result<()> {
    let speed = parse_speed(&args.speed)?;
    let duration = args.duration.as_deref().map(parse_duration).transpose()?;
    if matches!(speed, Speed::Max) && duration.is_none() {
        bail!("--speed max needs --duration (otherwise it never ends)");
    }
    let scenario = match &args.demo {
        Some(name) => {
            // An accelerated demo replays the hours before now and reaches the present as
            // it ends, then goes on live: the live system rightly refuses reports from the
            // future.
            let span = match duration {
                Some(d) => d,
                None => scenario::by_name(name, Timestamp::now())?.duration,
            };
            let start = accelerated_start(Timestamp::now(), span, &speed);
            Some(scenario::by_name(name, start)?)
        }
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run_async(args, speed, duration, scenario))
}

/// Usernames of the services' accounts at the broker. A `.` is in no unit id, so no unit given
/// with `--unit` (or in a scenario) can be called so.
pub(crate) const INGEST_USER: &str = "tidewatch.ingest";
pub(crate) const FUSION_USER: &str = "tidewatch.fusion";
pub(crate) const CONSOLE_USER: &str = "tidewatch.console";

/// The broker accounts `up` makes at start: one for each service and each patrol unit, each
/// with a random password kept in this process's memory. (A unit given with `--unit` also gets
/// its password in a file only this user can read: [`write_unit_password`].)
pub(crate) struct Accounts {
    /// Ingest's login.
    pub(crate) ingest: Credentials,
    /// Fusion's login.
    pub(crate) fusion: Credentials,
    /// The console's login (`up`'s own picture in the terminal reads with it too).
    pub(crate) console: Credentials,
    /// Each unit's login, by unit id (= username).
    pub(crate) units: BTreeMap<String, Credentials>,
}

/// The broker as `up` runs it: the loopback listener `listen` only, where anonymous local
/// clients may publish raw AIS feeds and nothing else (and read nothing), and an account made
/// now for each service and each of `units`, in its own role.
pub(crate) fn broker_config(
    listen: SocketAddr,
    units: &[String],
) -> Result<(BrokerConfig, Accounts)> {
    let mut cfg = BrokerConfig {
        listen,
        // Nothing is forwarded before the services that read it listen (ingest before the
        // receivers, fusion and the console before ingest's observations).
        wait_for_services: true,
        ..BrokerConfig::default()
    };
    let mut add = |name: &str, role| {
        cfg.add_generated_user(name, role)
            .map_err(|e| anyhow::anyhow!("no randomness for the broker's passwords: {e}"))
    };
    let ingest = add(INGEST_USER, Role::Ingest)?;
    let fusion = add(FUSION_USER, Role::Fusion)?;
    let console = add(CONSOLE_USER, Role::Console)?;
    let mut logins = BTreeMap::new();
    for u in units {
        let id = ingest::wire::UnitId::new(u).map_err(anyhow::Error::msg)?;
        if !logins.contains_key(id.as_str()) {
            logins.insert(id.to_string(), add(id.as_str(), Role::Unit)?);
        }
    }
    cfg.validate()?;
    Ok((
        cfg,
        Accounts {
            ingest,
            fusion,
            console,
            units: logins,
        },
    ))
}

/// Writes a unit's password where only this user can read it, `DATA/units/{unit}.password`
/// (the directory 0700, the file 0600, replaced at every start), for `tidewatch patrol
/// --password-file` or `tidewatch simulate --unit-passwords`.
pub(crate) fn write_unit_password(data: &Path, login: &Credentials) -> Result<PathBuf> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    let dir = data.join("units");
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))?;
    let path = dir.join(format!("{}.password", login.username));
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot replace {}", path.display())),
    }
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    writeln!(f, "{}", login.password)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// What [`Stack::start`] starts.
pub(crate) struct StackConfig {
    /// The broker's loopback listener.
    pub(crate) mqtt: SocketAddr,
    /// The console's HTTP listener.
    pub(crate) http: SocketAddr,
    /// The data directory.
    pub(crate) data: PathBuf,
    /// Reference data for interception cases (`None`: the demonstration area's).
    pub(crate) reference: Option<tidewatch_cases::casefile::Reference>,
    /// Fusion's configuration and geography: one for the fusion service and the console's
    /// picture.
    pub(crate) fusion: fusion::Setup,
    /// The patrol units that get accounts.
    pub(crate) units: Vec<String>,
    /// How the console's web server is secured.
    pub(crate) web: crate::console::WebSecurity,
    /// The broker's remote listener (`--mqtt-remote`): its address and certificate.
    pub(crate) remote: Option<(SocketAddr, ingest::link::tls::Identity)>,
    /// The identity store whose units and receivers the broker accepts, followed while it runs.
    pub(crate) identities: Option<tidewatch_broker::identities::Store>,
    /// Days the raw archive keeps an hour's file (`--retain-raw`).
    pub(crate) retain_raw_days: u32,
    /// Days fusion keeps closed days of alerts and taskings (`--retain-alerts`), and of
    /// refused messages (`--retain-rejects`).
    pub(crate) retain_alerts_days: u32,
    /// See `retain_alerts_days`.
    pub(crate) retain_rejects_days: u32,
}

/// What `up` runs besides its terminal: the embedded broker with the accounts made at start,
/// ingest, fusion and the console, each service logged in to the broker as itself.
pub(crate) struct Stack {
    /// The broker.
    pub(crate) broker: Broker,
    /// The logins made at start.
    pub(crate) accounts: Accounts,
    /// Ingest's counters.
    pub(crate) ingest: ServiceHandle,
    /// Fusion's counters.
    pub(crate) fusion: fusion::service::ServiceHandle,
    /// The console.
    pub(crate) console: crate::console::Running,
    /// The remote listener's fingerprint, when there is one.
    pub(crate) remote_fingerprint: Option<String>,
    /// Follows the identity store.
    follower: Option<tokio::task::JoinHandle<()>>,
    ingest_task: tokio::task::JoinHandle<Result<(), service::ServiceError>>,
    stop_ingest: oneshot::Sender<()>,
    fusion_task: tokio::task::JoinHandle<Result<(), fusion::service::ServiceError>>,
    stop_fusion: oneshot::Sender<()>,
}

impl Stack {
    /// Starts the broker, then ingest, fusion and the console on it.
    pub(crate) async fn start(cfg: StackConfig) -> Result<Stack> {
        let (mut broker_cfg, accounts) = broker_config(cfg.mqtt, &cfg.units)?;
        let remote_fingerprint = match &cfg.remote {
            Some((addr, identity)) => {
                broker_cfg.auth_listen = Some(*addr);
                broker_cfg.auth_tls = Some(
                    tidewatch_broker::ListenerTls::from_identity(identity)
                        .context("--mqtt-remote: TLS")?,
                );
                Some(identity.fingerprint())
            }
            None => None,
        };
        let broker = Broker::start(broker_cfg)
            .await
            .with_context(|| format!("cannot start the MQTT broker on {}", cfg.mqtt))?;
        // The store's units and receivers log in from the first moment, and as it changes.
        let follower = match cfg.identities {
            None => None,
            Some(store) => {
                let mut f = tidewatch_broker::identities::Follower::new(store, broker.accounts());
                if let Some(ev) = f.poll().context("the broker's identity store")? {
                    warn_shadowed(&ev);
                }
                Some(tokio::spawn(f.run(
                    tidewatch_broker::identities::FOLLOW_EVERY,
                    |ev: &tidewatch_broker::identities::FollowEvent| {
                        warn_shadowed(ev);
                        tracing::info!(
                            active = ev.active,
                            revoked = ev.revoked,
                            connections_closed = ev.closed,
                            "Broker identities changed."
                        );
                    },
                )))
            }
        };
        let mqtt = broker.addr();
        let host = mqtt.ip().to_string();
        let ingest = ServiceHandle::new();
        let (stop_ingest, ingest_stopped) = oneshot::channel::<()>();
        let mut ingest_cfg = ServiceConfig::new(&host, mqtt.port(), cfg.data.join("raw"));
        ingest_cfg.retain_raw_days = Some(cfg.retain_raw_days);
        ingest_cfg.broker.credentials = Some(accounts.ingest.pair());
        let ingest_task = tokio::spawn(service::run(ingest_cfg, ingest.clone(), async move {
            let _ = ingest_stopped.await;
        }));
        // Fusion, alerts under DIR/fusion/.
        let fusion_handle = fusion::service::ServiceHandle::new();
        let (stop_fusion, fusion_stopped) = oneshot::channel::<()>();
        let mut service_cfg =
            fusion::service::ServiceConfig::new(&host, mqtt.port(), cfg.data.join("fusion"));
        service_cfg.broker.credentials = Some(accounts.fusion.pair());
        service_cfg.retain_alerts_days = cfg.retain_alerts_days;
        service_cfg.retain_rejects_days = cfg.retain_rejects_days;
        let fusion_task = tokio::spawn(fusion::service::run(
            service_cfg,
            cfg.fusion.engine(),
            fusion_handle.clone(),
            async move {
                let _ = fusion_stopped.await;
            },
        ));
        let registry = Metrics::new();
        registry.add(broker.stats_reader());
        registry.add_service(ingest.clone());
        registry.add_service(fusion_handle.clone());
        registry.add_stores(
            cfg.data.clone(),
            vec![
                ("raw", cfg.data.join("raw")),
                ("observations", cfg.data.join(OBSERVATIONS_DIR)),
                ("console", crate::console::console_dir(&cfg.data)),
                ("fusion", cfg.data.join("fusion")),
            ],
        );
        let console = crate::console::start(
            crate::console::ConsoleConfig {
                dir: Some(crate::console::console_dir(&cfg.data)),
                picture: Default::default(),
                fusion: cfg.fusion,
                reference: cfg.reference,
                database: None,
            },
            crate::console::feed::FeedConfig {
                credentials: Some(accounts.console.pair()),
                ..crate::console::feed::FeedConfig::new(&host, mqtt.port(), "tidewatch-console")
            },
            cfg.http,
            Arc::new(registry),
            cfg.web,
        )
        .await
        .context("--http")?;
        Ok(Stack {
            broker,
            accounts,
            ingest,
            fusion: fusion_handle,
            console,
            remote_fingerprint,
            follower,
            ingest_task,
            stop_ingest,
            fusion_task,
            stop_fusion,
        })
    }

    /// Waits (at most 10 s) until every service is connected (each subscribes as it connects),
    /// and a moment for the subscriptions: a receiver that starts publishing on our word loses
    /// nothing.
    pub(crate) async fn ready(&self) {
        let ready_by = tokio::time::Instant::now() + Duration::from_secs(10);
        while (self.ingest.stats().connects == 0
            || self.fusion.stats().connects < 2
            || !self.console.console.feed_is_up())
            && tokio::time::Instant::now() < ready_by
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    /// Stops the console, fusion, ingest, then the broker.
    pub(crate) async fn shutdown(self) -> Result<()> {
        if let Some(f) = &self.follower {
            f.abort();
        }
        self.console.shutdown().await;
        let _ = self.stop_fusion.send(());
        self.fusion_task
            .await
            .context("fusion task")?
            .context("fusion stopped")?;
        let _ = self.stop_ingest.send(());
        self.ingest_task
            .await
            .context("ingest task")?
            .context("ingest stopped")?;
        self.broker.shutdown().await;
        Ok(())
    }
}

/// Says which identities of the store lose to an account made at start.
fn warn_shadowed(ev: &tidewatch_broker::identities::FollowEvent) {
    for name in &ev.shadowed {
        tracing::warn!(
            identity = %name,
            "The identity store has an identity named like a unit given with --unit or the demo's; that unit's account stays and the store's is not used."
        );
    }
}

/// The certificate of the remote listener on `addr`: `--tls-cert`/`--tls-key`, or the
/// self-signed one kept in `DATA/tls/` (the console's too), made on first start. TLS even on
/// loopback: this listener is for what crosses a network.
fn remote_identity(args: &UpArgs, addr: &SocketAddr) -> Result<ingest::link::tls::Identity> {
    match args.tls.files() {
        Some((cert, key)) => ingest::link::tls::Identity::load(cert, key),
        None => ingest::link::tls::Identity::self_signed_in(
            &ingest::link::tls::default_dir(&args.data),
            &ingest::link::tls::names_for(addr),
        ),
    }
}

/// Fusion's setup for `up`: the files given, and a demo's zones (a fishing closure), watched
/// like configured ones when no `--zones` file is given, and its receivers' sites when the
/// configuration names none.
pub(crate) fn fusion_setup(
    args: &UpArgs,
    sc: Option<&scenario::Scenario>,
) -> Result<fusion::Setup> {
    let mut setup = args.fusion.setup()?;
    if args.fusion.zones.is_none()
        && let Some(z) = sc.and_then(|s| s.zones_geojson())
    {
        setup.geodata.zones =
            fusion::geodata::Zones::from_geojson("the demo scenario's zones", z.as_bytes())
                .context("the demo scenario's zones")?;
    }
    // The demo's shore receivers stand where the scenario puts them.
    if setup.config.ais_gap.receivers.is_empty()
        && let Some(sc) = sc
    {
        setup.config.ais_gap.receivers = crate::cmd::drill::receiver_sites(sc);
    }
    Ok(setup)
}

async fn run_async(
    args: &UpArgs,
    speed: Speed,
    duration: Option<SignedDuration>,
    mut sc: Option<scenario::Scenario>,
) -> Result<()> {
    fs::create_dir_all(&args.data)
        .with_context(|| format!("cannot create data directory {}", args.data.display()))?;
    // The demo's units log in as themselves, like those given with --unit.
    let demo_units: Vec<String> = sc
        .as_ref()
        .map(|s| s.unit_positions().map(|(u, _)| u.to_owned()).collect())
        .unwrap_or_default();
    let stack = Stack::start(StackConfig {
        mqtt: args.mqtt,
        http: args.http,
        data: args.data.clone(),
        reference: crate::console::load_reference(args.reference.as_deref())?,
        fusion: fusion_setup(args, sc.as_ref())?,
        units: demo_units.iter().chain(&args.units).cloned().collect(),
        web: crate::console::WebSecurity::for_address(
            &args.http,
            args.tls.files(),
            Some(&args.data),
            false,
        )
        .context("--http: HTTPS")?,
        remote: match args.mqtt_remote {
            Some(addr) => Some((
                addr,
                remote_identity(args, &addr).context("--mqtt-remote: the certificate")?,
            )),
            None => None,
        },
        identities: Some(tidewatch_broker::identities::Store::new(&args.data)),
        retain_raw_days: args.retain_raw,
        retain_alerts_days: args.fusion_retention.retain_alerts,
        retain_rejects_days: args.fusion_retention.retain_rejects,
    })
    .await?;
    if let (Some(remote), Some(fingerprint)) = (stack.broker.auth_addr(), &stack.remote_fingerprint)
    {
        tidewatch_broker::identities::RemoteListener {
            address: remote,
            fingerprint: fingerprint.clone(),
        }
        .write(&args.data)?;
    }
    let mut unit_files = Vec::new();
    for u in &args.units {
        if let Some(login) = stack.accounts.units.get(u) {
            unit_files.push((u.clone(), write_unit_password(&args.data, login)?));
        }
    }
    let mqtt = stack.broker.addr();
    let raw_dir = args.data.join("raw");
    let (ingest, fusion_handle) = (stack.ingest.clone(), stack.fusion.clone());
    stack.ready().await;
    let mut observations = subscribe_observations(mqtt, &stack.accounts.console).await?;
    // Hourly files, closed ones compressed, expired ones deleted by their upkeep thread.
    let obs_dir = args.data.join(OBSERVATIONS_DIR);
    // Earlier versions kept one file that grew for ever: its lines move into the hours.
    let legacy = args.data.join("observations.jsonl");
    if legacy.exists() {
        eprintln!(
            "tidewatch up: moving {} into hourly files under {} (once)...",
            legacy.display(),
            obs_dir.display()
        );
        let moved =
            tokio::task::block_in_place(|| ingest::obslog::adopt_single_file(&legacy, &obs_dir))
                .with_context(|| {
                    format!(
                        "cannot move {} into {}",
                        legacy.display(),
                        obs_dir.display()
                    )
                })?;
        eprintln!("tidewatch up: {moved} observations moved.");
    }
    let mut obs_log = ObservationLog::open(&obs_dir)
        .with_context(|| format!("cannot open the observation log {}", obs_dir.display()))?;
    let _obs_upkeep = observations_upkeep(&obs_dir, args.retain_observations)?;
    eprintln!(
        "tidewatch up: MQTT broker on {mqtt} (anonymous local clients may publish raw AIS feeds on tidewatch/v1/raw/ais/... and nothing else, and read nothing; ingest, fusion, the console and patrol units log in with passwords made at start), ingest and fusion running\n  metrics      -> {scheme}://{http}/metrics\n  raw archive  -> {raw} (check it: tidewatch verify {raw})\n  observations -> {}\n  alerts       -> {} (and tidewatch/v1/alerts/{{kind}})",
        obs_dir.display(),
        args.data.join("fusion/alerts.jsonl").display(),
        http = ingest::link::tls::reachable(&stack.console.http),
        scheme = if stack.console.tls_fingerprint.is_some() {
            "https"
        } else {
            "http"
        },
        raw = raw_dir.display(),
    );
    if let (Some(remote), Some(fingerprint)) = (stack.broker.auth_addr(), &stack.remote_fingerprint)
    {
        eprintln!(
            "  MQTT remote  -> {remote} (MQTT over TLS only; patrol units and AIS receivers log in with their credentials: tidewatch unit add ID, tidewatch receiver add NAME)\n  certificate  -> SHA-256 {fingerprint} (units pin it: it is in their credentials files)"
        );
    }
    for (u, path) in &unit_files {
        eprintln!(
            "  unit {u:<7} -> logs in to {mqtt} as {u:?} with the password in {} (readable by you only; tidewatch patrol --unit {u} --user {u} --password-file FILE)",
            path.display()
        );
    }
    crate::cmd::console::announce(&stack.console);
    let console = &stack.console;
    if let Some(sc) = &sc {
        eprintln!("  demo scenario {}: {}", sc.name, sc.description);
        // The administrator sees no operational data (RULES.md): a demo's first start
        // also gets a watch officer to see the picture with, and the rest of the cast of an
        // interception (each with a one-time password, changed at first login).
        if console.first_admin.is_some() {
            use crate::console::auth::Role as R;
            let cast = [
                ("watch", R::WatchOfficer, None),
                ("smc", R::SarCoordinator, None),
                ("bo", R::BoardingOfficer, None),
                ("duty1", R::DutyOfficer, None),
                ("duty2", R::DutyOfficer, None),
                ("legal", R::LegalAdviser, None),
                ("prot", R::ProtectionOfficer, None),
                ("inv", R::Investigator, None),
                ("liaison-gr", R::PartnerLiaison, Some("GR")),
                ("auditor", R::Auditor, None),
            ];
            for (name, role, state) in cast {
                let password =
                    crate::console::create_user(console.console.store(), name, role, None, None)
                        .with_context(|| format!("creating the demo's {name}"))?
                        .with_context(|| format!("the demo's {name} exists already"))?;
                if let Some(st) = state {
                    console.console.store().set_user_state(name, st)?;
                }
                if name == "watch" {
                    eprintln!(
                        "  demo: watch officer {name:?} created; one-time password: {password} (log in as {name} to see the picture)"
                    );
                } else {
                    eprintln!("  demo: {role} {name:?}: one-time password {password}");
                }
            }
        }
    }
    let mut publisher = match &sc {
        Some(_) => {
            let logins = demo_units
                .iter()
                .filter_map(|u| Some((u.clone(), stack.accounts.units.get(u)?.pair())))
                .collect();
            Some(
                Publisher::connect(
                    &mqtt.ip().to_string(),
                    mqtt.port(),
                    "tidewatch-up-demo",
                    &logins,
                )
                .await?,
            )
        }
        None => None,
    };
    let tty = std::io::stdout().is_terminal();
    let mut picture: BTreeMap<u32, Contact> = BTreeMap::new();
    let start = sc.as_ref().map_or_else(Timestamp::now, |s| s.now);
    let end = duration.map(|d| start + d);
    let wall = tokio::time::Instant::now();
    let mut sent_lines = 0usize;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            Some(o) = observations.recv() => {
                obs_log.write_lossy(&o, Timestamp::now());
                update(&mut picture, &o);
            }
            _ = tick.tick() => {
                obs_log.flush_lossy();
                let now = match (&mut sc, &mut publisher) {
                    (Some(s), Some(p)) => {
                        let target = match speed {
                            Speed::Max => end.unwrap_or(s.now),
                            Speed::Times(x) => {
                                // Never past the present: once caught up, live.
                                let t = (start + SignedDuration::from_secs_f64(wall.elapsed().as_secs_f64() * x))
                                    .min(Timestamp::now());
                                end.map_or(t, |e| t.min(e))
                            }
                        };
                        // The demo's patrol units answer fusion's taskings.
                        for t in p.taskings() {
                            s.tasking(&t);
                        }
                        let lines = s.advance(target);
                        sent_lines += lines.len();
                        p.send(lines).await?;
                        s.now
                    }
                    _ => Timestamp::now(),
                };
                if tty {
                    show(&picture, now, &ingest, &fusion_handle, mqtt);
                }
                if end.is_some_and(|e| now >= e) {
                    // Everything sent has been through ingest once its count is reached
                    // and the observations have stopped coming.
                    if let Some(p) = &publisher {
                        p.flushed().await;
                    }
                    settle(&ingest, sent_lines, &mut observations, &mut picture, &mut obs_log).await?;
                    settle_fusion(&fusion_handle).await;
                    show(&picture, now, &ingest, &fusion_handle, mqtt);
                    break;
                }
            }
        }
    }
    obs_log.flush_lossy();
    drop(publisher);
    stack.shutdown().await
}

/// Wait until ingest has taken every line sent and no observation is still coming.
async fn settle(
    ingest: &ServiceHandle,
    sent_lines: usize,
    observations: &mut mpsc::UnboundedReceiver<Observation>,
    picture: &mut BTreeMap<u32, Contact>,
    log: &mut ObservationLog,
) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // Each MQTT message from the demo is one line.
    while (ingest.stats().messages as usize) < sent_lines && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    while let Ok(Some(o)) =
        tokio::time::timeout(Duration::from_millis(500), observations.recv()).await
    {
        log.write_lossy(&o, Timestamp::now());
        update(picture, &o);
    }
    Ok(())
}

/// The observation log's directory under the data directory.
pub(crate) const OBSERVATIONS_DIR: &str = "observations";

/// The observation log's upkeep: compression of closed hours, retention.
fn observations_upkeep(dir: &Path, retain_days: u32) -> Result<ingest::hourly::Upkeep> {
    let dir = dir.to_owned();
    ingest::hourly::Upkeep::spawn("tw-obs-upkeep", Duration::from_secs(60), move |stop| {
        match ingest::obslog::maintain(&dir, Some(retain_days), Timestamp::now(), stop) {
            Ok(u) if !u.removed.is_empty() || !u.compression.compressed.is_empty() => {
                tracing::info!(
                    removed = u.removed.len(),
                    compressed = u.compression.compressed.len(),
                    "Observation log upkeep."
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "Observation log upkeep failed; tried again in a minute."),
        }
    })
    .context("cannot start the observation log's upkeep")
}

/// Every observation ingest publishes, through the broker, read with the console's login.
async fn subscribe_observations(
    mqtt: SocketAddr,
    login: &Credentials,
) -> Result<mpsc::UnboundedReceiver<Observation>> {
    let login = (login.username.clone(), login.password.clone());
    let (client, mut el) = client::connect(
        client::options(
            "tidewatch-up-picture",
            mqtt.ip().to_string(),
            mqtt.port(),
            Some(&login),
            false,
            1 << 20,
        ),
        64,
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready, is_ready) = oneshot::channel();
    let mut ready = Some(ready);
    tokio::spawn(async move {
        let mut backoff = Backoff::default();
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    backoff.reset();
                    let _ = client.try_subscribe(OBS_FILTER, QoS::AtLeastOnce);
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if let Ok(o) = serde_json::from_slice::<Observation>(&p.payload)
                        && tx.send(o).is_err()
                    {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => backoff.wait().await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), is_ready)
        .await
        .context("the picture could not subscribe to observations")?
        .ok();
    Ok(rx)
}

/// A scenario's stations on a broker: publishes each emission on its topic (AIS on
/// `raw/ais/{receiver}`, patrol units on `patrol/{unit}/nmea` and `/report`), QoS 1, and
/// hands back the taskings sent to the units.
///
/// A unit with a login publishes on a connection of its own, logged in as itself (a broker
/// holds a unit to its own topics), and reads its own taskings there; the receivers' AIS, and
/// units without a login, go on one anonymous connection, which then reads every unit's
/// taskings (a broker that lets anonymous clients do that). When the next emission goes on
/// another connection than the last, everything sent so far is acknowledged first, so the
/// broker takes the scenario in the order it was made, as from one connection.
pub(crate) struct Publisher {
    /// The anonymous connection.
    shared: AsyncClient,
    /// Each unit's own connection, by unit id.
    units: BTreeMap<String, AsyncClient>,
    /// The connection of the last emission (`Some(None)`: the shared one).
    last: Option<Option<String>>,
    acked: tokio::sync::watch::Receiver<u64>,
    sent: u64,
    taskings: mpsc::UnboundedReceiver<ingest::wire::Tasking>,
}

/// Where a [`Publisher`]'s connections report.
#[derive(Clone)]
struct LinkEvents {
    acks: Arc<tokio::sync::watch::Sender<u64>>,
    taskings: mpsc::UnboundedSender<ingest::wire::Tasking>,
}

/// One connection of a [`Publisher`]: logged in as `login` (or anonymous), subscribed to
/// `taskings` (if any) once connected. Returns once connected and subscribed.
async fn publisher_link(
    host: &str,
    port: u16,
    client_id: String,
    login: Option<&(String, String)>,
    taskings: Option<String>,
    events: LinkEvents,
) -> Result<AsyncClient> {
    let anonymous_reader = login.is_none() && taskings.is_some();
    let (client, mut el) = client::connect(
        client::options(client_id.clone(), host, port, login, false, 1 << 20),
        1024,
    );
    let (ready, is_ready) = oneshot::channel();
    let mut ready = Some(ready);
    let sub = client.clone();
    tokio::spawn(async move {
        let mut backoff = Backoff::default();
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => match &taskings {
                    Some(filter) => {
                        let _ = sub.try_subscribe(filter, QoS::AtLeastOnce);
                    }
                    None => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                    }
                },
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(r) = ready.take() {
                        let _ = r.send(());
                    }
                }
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    events.acks.send_modify(|n| *n += 1);
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    match serde_json::from_slice::<ingest::wire::Tasking>(&p.payload) {
                        Ok(t) => {
                            let _ = events.taskings.send(t);
                        }
                        Err(e) => tracing::warn!(
                            topic = %p.topic,
                            error = %e,
                            "simulator: a tasking it cannot read"
                        ),
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(client = %client_id, error = %e, "simulator: MQTT connection lost; reconnecting");
                    backoff.wait().await;
                }
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), is_ready)
        .await
        .with_context(|| {
            format!(
                "the broker {host}:{port} did not take the simulator's connection{}",
                if anonymous_reader {
                    " (if it lets anonymous clients publish raw AIS only, as `tidewatch up` does, give the units' passwords: --unit-passwords)"
                } else {
                    ""
                }
            )
        })?
        .ok();
    Ok(client)
}

impl Publisher {
    /// Connects as `client_id` (anonymous), and as each unit of `logins` (unit id →
    /// username and password) with client id `{client_id}-{unit}`.
    pub(crate) async fn connect(
        host: &str,
        port: u16,
        client_id: &str,
        logins: &BTreeMap<String, (String, String)>,
    ) -> Result<Publisher> {
        let (acks, acked) = tokio::sync::watch::channel(0u64);
        let (tx, taskings) = mpsc::unbounded_channel();
        let events = LinkEvents {
            acks: Arc::new(acks),
            taskings: tx,
        };
        // Without unit logins, every unit's taskings come on the shared connection.
        let all_taskings = logins
            .is_empty()
            .then(|| ingest::wire::topics::TASKING_FILTER.to_owned());
        let shared = publisher_link(
            host,
            port,
            client_id.to_owned(),
            None,
            all_taskings,
            events.clone(),
        )
        .await?;
        let mut units = BTreeMap::new();
        for (unit, login) in logins {
            let id = ingest::wire::UnitId::new(unit).map_err(anyhow::Error::msg)?;
            let link = publisher_link(
                host,
                port,
                format!("{client_id}-{unit}"),
                Some(login),
                Some(ingest::wire::Topic::PatrolTasking(id).to_string()),
                events.clone(),
            )
            .await
            .with_context(|| format!("unit {unit}"))?;
            units.insert(unit.clone(), link);
        }
        Ok(Publisher {
            shared,
            units,
            last: None,
            acked,
            sent: 0,
            taskings,
        })
    }

    /// Publish emissions, in order, each on its topic.
    pub(crate) async fn send(&mut self, emissions: Vec<Emission>) -> Result<()> {
        use ingest::wire::Topic;
        for e in emissions {
            let topic = e.topic();
            let link = match &topic {
                Topic::PatrolNmea(u) | Topic::PatrolReport(u)
                    if self.units.contains_key(u.as_str()) =>
                {
                    Some(u.to_string())
                }
                _ => None,
            };
            if self.last.as_ref().is_some_and(|l| *l != link) {
                self.caught_up(Duration::from_secs(10)).await;
            }
            let client = link
                .as_ref()
                .and_then(|u| self.units.get(u))
                .unwrap_or(&self.shared);
            client
                .publish(topic.to_string(), QoS::AtLeastOnce, false, e.payload)
                .await
                .context("publishing the scenario's lines")?;
            self.sent += 1;
            self.last = Some(link);
        }
        Ok(())
    }

    /// Waits (at most `within`) until the broker has acknowledged everything sent.
    async fn caught_up(&self, within: Duration) -> u64 {
        let sent = self.sent;
        let mut acked = self.acked.clone();
        if tokio::time::timeout(within, acked.wait_for(|n| *n >= sent))
            .await
            .is_err()
        {
            tracing::warn!(
                sent,
                acknowledged = *acked.borrow(),
                "simulator: the broker is slow to acknowledge"
            );
        }
        *acked.borrow()
    }

    /// The taskings received since the last call.
    pub(crate) fn taskings(&mut self) -> Vec<ingest::wire::Tasking> {
        let mut out = Vec::new();
        while let Ok(t) = self.taskings.try_recv() {
            out.push(t);
        }
        out
    }

    /// Wait until the broker has acknowledged every line sent (at most 30 s); the lines
    /// (sent, acknowledged).
    pub(crate) async fn flushed(&self) -> (u64, u64) {
        let n = self.caught_up(Duration::from_secs(30)).await;
        (self.sent, n)
    }
}

fn update(picture: &mut BTreeMap<u32, Contact>, o: &Observation) {
    let ObservationData::Ais(a) = &o.data else {
        return;
    };
    let c = picture.entry(a.mmsi).or_default();
    c.messages += 1;
    c.last_heard = Some(o.time);
    if let (Some(lat), Some(lon)) = (a.lat, a.lon) {
        c.position = Some((lon, lat));
    }
    if a.sog_kn.is_some() || a.cog_deg.is_some() {
        c.speed_kn = a.sog_kn;
        c.course_deg = a.cog_deg;
    }
    if let Some(name) = &a.name {
        c.name = name.clone();
    }
    if let Some(s) = a.nav_status {
        c.status = match s {
            14 => "AIS-SART ACTIVE",
            1 => "at anchor",
            5 => "moored",
            7 => "fishing",
            _ => "under way",
        };
    } else if a.msg_type == 18 {
        c.status = "class B";
    }
}

/// Wait until fusion has taken every observation (its count stops moving).
async fn settle_fusion(fusion: &fusion::service::ServiceHandle) {
    let taken = |s: fusion::service::ServiceStats| s.observations + s.duplicates;
    let mut last = taken(fusion.stats());
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = taken(fusion.stats());
        if now == last {
            return;
        }
        last = now;
    }
}

fn show(
    picture: &BTreeMap<u32, Contact>,
    now: Timestamp,
    ingest: &ServiceHandle,
    fusion: &fusion::service::ServiceHandle,
    mqtt: SocketAddr,
) {
    let stats = ingest.stats();
    let fstats = fusion.stats();
    let mut out = String::new();
    if std::io::stdout().is_terminal() {
        out.push_str("\x1b[H\x1b[2J");
    }
    out.push_str(&format!(
        "Tidewatch - {} UTC - broker {mqtt} - {} vessels heard, {} messages in, {} observations, {} lines rejected\n\n",
        now.strftime("%Y-%m-%d %H:%M:%S"),
        picture.len(),
        stats.messages,
        stats.observations,
        stats.rejected.values().sum::<u64>(),
    ));
    let alerts: Vec<String> = fstats
        .alert_revisions
        .iter()
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    out.push_str(&format!(
        "fusion: {} observations, {} vessels tracked, alert revisions: {}\n\n",
        fstats.observations,
        fstats.vessels,
        if alerts.is_empty() {
            "none".to_string()
        } else {
            alerts.join(", ")
        },
    ));
    out.push_str(&format!(
        "{:<10} {:<20} {:>9} {:>10} {:>7} {:>8} {:<16} {:>10} {:>5}\n",
        "MMSI", "NAME", "LAT deg", "LON deg", "SOG kn", "COG degT", "STATUS", "HEARD UTC", "MSGS"
    ));
    for (mmsi, c) in picture {
        let (lat, lon) = c
            .position
            .map(|(lon, lat)| (format!("{lat:.4}"), format!("{lon:.4}")))
            .unwrap_or_else(|| ("-".into(), "-".into()));
        let opt = |v: Option<f64>| v.map_or("-".to_owned(), |v| format!("{v:.1}"));
        let heard = c
            .last_heard
            .map_or("-".to_owned(), |t| t.strftime("%H:%M:%S").to_string());
        out.push_str(&format!(
            "{:<10} {:<20} {:>9} {:>10} {:>7} {:>8} {:<16} {:>10} {:>5}\n",
            mmsi,
            c.name,
            lat,
            lon,
            opt(c.speed_kn),
            opt(c.course_deg),
            c.status,
            heard,
            c.messages
        ));
    }
    print!("{out}");
    let _ = std::io::stdout().flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_accelerated_run_ends_at_the_present_never_in_the_future() {
        let now: Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
        let four_h = SignedDuration::from_hours(4);
        // 30 times real time: 4 h of scenario take 8 min, so it starts 3 h 52 min ago.
        let start = accelerated_start(now, four_h, &Speed::Times(30.0));
        assert_eq!(start, now - SignedDuration::from_mins(232));
        assert_eq!(start + four_h, now + SignedDuration::from_mins(8));
        assert_eq!(accelerated_start(now, four_h, &Speed::Max), now - four_h);
        assert_eq!(accelerated_start(now, four_h, &Speed::Times(1.0)), now);
        assert_eq!(accelerated_start(now, four_h, &Speed::Times(0.5)), now);
    }
}

#[cfg(test)]
#[path = "up_tests.rs"]
mod review_tests;
