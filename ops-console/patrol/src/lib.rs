//! The patrol vessel's side of the link: `tidewatch-patrol` on the ship's computer (or
//! `tidewatch patrol`, the same client inside the centre's binary).
//!
//! ```text
//!  GNSS, compass, radar ──NMEA──▶ stamp (c: time read, n: count) ──▶ outbox on disk ──▶ MQTT patrol/{unit}/nmea
//!  crew at the console ──report──▶ validate ─────────────────────────▶ outbox ─────────▶ MQTT patrol/{unit}/report
//!  MQTT patrol/{unit}/tasking, patrol/{unit}/rejects ──▶ shown on the console (taskings also kept in DIR/taskings.jsonl)
//! ```
//!
//! Store and forward: each line is numbered and written to the [`outbox`] before it is
//! sent, and leaves it only when the broker acknowledged it (QoS 1). When the link is
//! down the outbox grows on disk; when it returns the backlog goes out in order, then live
//! lines again. Each line keeps the time it was read on board (tag block `c:`), so a
//! position sent ten minutes late is still placed at its own time, and its count (`n:`)
//! lets ingest drop a line sent twice and count any that never came.
//!
//! In-order delivery rests on MQTT: a broker acknowledges QoS 1 publishes in the order it
//! received them (MQTT 3.1.1 §4.6). If the broker kept our session, the client resends
//! what was in flight itself; if it lost it, we resend from the last acknowledged entry.
//!
//! At sea the link is MQTT over TLS to the centre's remote listener, trusting one certificate
//! by its fingerprint (`--credentials FILE` from `tidewatch unit add`, or `--pin`): a broker
//! with another certificate is refused, and said to be. Plain MQTT goes to a loopback address
//! only (a broker on board, or a test); a password never crosses a network in clear.

mod args;
pub mod board;
pub mod crew;
pub mod outbox;
pub mod web;

pub use args::PatrolArgs;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ingest::ais::tagblock::stamp;
use ingest::inputs::{self, FeedFormat, InputStats, LocalLine};
use ingest::wire::sea::{self, SeaDown, SeaRecord, SeaUp};
use ingest::wire::{PatrolReport, Topic, UnitId};
use jiff::Timestamp;
use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Packet, QoS};
use tokio::sync::{mpsc, oneshot};

use board::{Board, Recorded};
use ingest::link::client;
use ingest::link::{parse_broker, read_secret};
use outbox::{Kind, Outbox};
use web::{Cmd, Draft};

/// Where and how the unit reaches the centre.
#[derive(Debug)]
pub struct LinkSettings {
    /// The unit.
    pub unit: UnitId,
    /// The brokers, `(host, port)`, tried in turn.
    pub brokers: Vec<(String, u16)>,
    /// Username and password.
    pub login: Option<(String, String)>,
    /// The pinned certificate fingerprint: TLS trusting that certificate only. `None`: plain
    /// MQTT (loopback only).
    pub pin: Option<String>,
}

/// Is `host` a loopback address (`127.0.0.0/8`, `::1`, `localhost`)?
fn is_loopback_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl LinkSettings {
    /// The link of `args`: from the credentials file (its unit, password, brokers and pin; an
    /// explicit `--broker` wins), or from `--unit`, `--broker`, `--user`, `--password-file` and
    /// `--pin`. Plain MQTT to anything but a loopback address is refused.
    pub fn from_args(args: &PatrolArgs) -> Result<LinkSettings> {
        let parse_unit = |u: &str| {
            UnitId::new(u)
                .ok()
                .with_context(|| format!("--unit {u:?}: letters, digits, '-' and '_' only"))
        };
        let brokers = |list: &[String]| -> Result<Vec<(String, u16)>> {
            list.iter().map(|b| parse_broker(b)).collect()
        };
        let link = match &args.credentials {
            Some(path) => {
                let c = ingest::link::CredentialsFile::read(path)?;
                if c.kind != ingest::link::Kind::Unit {
                    bail!(
                        "{}: the credentials of {} {:?}, not of a patrol unit",
                        path.display(),
                        c.kind,
                        c.id
                    );
                }
                if let Some(u) = &args.unit
                    && *u != c.id
                {
                    bail!(
                        "--unit {u} but {} holds the credentials of unit {}",
                        path.display(),
                        c.id
                    );
                }
                LinkSettings {
                    unit: parse_unit(&c.id)?,
                    brokers: brokers(if args.broker.is_empty() {
                        &c.brokers
                    } else {
                        &args.broker
                    })?,
                    login: Some((c.username, c.password)),
                    pin: Some(c.fingerprint),
                }
            }
            None => {
                let unit = parse_unit(args.unit.as_deref().context("--unit ID is required")?)?;
                let login = match &args.password_file {
                    Some(file) => Some((
                        args.user.clone().unwrap_or_else(|| unit.to_string()),
                        read_secret(file, "password")?,
                    )),
                    None => None,
                };
                LinkSettings {
                    unit,
                    brokers: if args.broker.is_empty() {
                        vec![("127.0.0.1".to_owned(), 1883)]
                    } else {
                        brokers(&args.broker)?
                    },
                    login,
                    pin: args
                        .pin
                        .as_deref()
                        .map(ingest::link::tls::parse_fingerprint)
                        .transpose()
                        .context("--pin")?,
                }
            }
        };
        if link.pin.is_none()
            && let Some((host, port)) = link.brokers.iter().find(|(h, _)| !is_loopback_host(h))
        {
            bail!(
                "plain MQTT to {host}:{port} is refused: it is not a loopback address, and the unit's password and positions would cross the network in clear; give --credentials FILE (from tidewatch unit add) or --pin FINGERPRINT"
            );
        }
        Ok(link)
    }

    /// The MQTT options for each broker, in turn.
    fn options(&self, client_id: &str, keep_alive: Duration) -> Result<Vec<MqttOptions>> {
        let transport = match &self.pin {
            None => None,
            Some(pin) => {
                let mut tls = ingest::link::tls::pinned_client_config(pin)?;
                tls.alpn_protocols = vec![ingest::link::MQTT_ALPN.to_vec()];
                Some(rumqttc::Transport::tls_with_config(
                    rumqttc::TlsConfiguration::Rustls(Arc::new(tls)),
                ))
            }
        };
        Ok(self
            .brokers
            .iter()
            .map(|(host, port)| {
                let mut opts = MqttOptions::new(client_id, host.trim_matches(['[', ']']), *port);
                opts.set_clean_session(false);
                opts.set_keep_alive(keep_alive);
                opts.set_max_packet_size(1 << 20, 1 << 20);
                if let Some((u, p)) = &self.login {
                    opts.set_credentials(u, p);
                }
                if let Some(t) = &transport {
                    opts.set_transport(t.clone());
                }
                opts
            })
            .collect())
    }

    /// For the operator: the brokers and how they are reached.
    fn describe(&self) -> String {
        let brokers: Vec<String> = self
            .brokers
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect();
        match &self.pin {
            Some(pin) => format!(
                "broker {} (MQTT over TLS, trusting only the certificate SHA-256 {pin})",
                brokers.join(", ")
            ),
            None => format!("broker {} (plain MQTT, loopback)", brokers.join(", ")),
        }
    }
}

/// What a failed connection means to the crew.
fn explain(e: &ConnectionError) -> String {
    use rumqttc::ConnectReturnCode as C;
    match e {
        ConnectionError::ConnectionRefused(C::NotAuthorized | C::BadUserNamePassword) => {
            "the centre refused the unit's credentials (revoked, or a wrong password): ask the centre for new ones".to_owned()
        }
        ConnectionError::Tls(t) if t.to_string().contains("not the pinned") => format!(
            "REFUSED the broker: its certificate is not the centre's ({t}); not sending to it"
        ),
        ConnectionError::Tls(t) => format!("TLS failed: {t}"),
        other => other.to_string(),
    }
}

/// Publishes in flight at most (below rumqttc's window of 100).
const WINDOW: usize = 64;
/// NMEA lines per message when catching up.
const BATCH_LINES: usize = 100;
/// Bytes per message when catching up.
const BATCH_BYTES: usize = 16 * 1024;
/// How often the outbox is fsync'd.
const SYNC_EVERY: Duration = Duration::from_millis(200);

/// Where the ship's NMEA comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NmeaSource {
    /// Connect to a TCP server (a multiplexer, the radar's output), reconnecting.
    Tcp(SocketAddr),
    /// Listen for UDP datagrams.
    Udp(SocketAddr),
    /// Read a serial device or a file (set a device's speed first: `stty -F DEV 4800 raw`).
    Path(PathBuf),
}

impl std::str::FromStr for NmeaSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let addr = |a: &str| {
            a.parse::<SocketAddr>()
                .map_err(|_| format!("{s:?}: expected IP:PORT after the scheme"))
        };
        if let Some(a) = s.strip_prefix("tcp://") {
            Ok(NmeaSource::Tcp(addr(a)?))
        } else if let Some(a) = s.strip_prefix("udp://") {
            Ok(NmeaSource::Udp(addr(a)?))
        } else if s.contains("://") {
            Err(format!(
                "{s:?}: use tcp://IP:PORT, udp://IP:PORT or a device/file path"
            ))
        } else if s.is_empty() {
            Err("an empty source".to_owned())
        } else {
            Ok(NmeaSource::Path(PathBuf::from(s)))
        }
    }
}

impl std::fmt::Display for NmeaSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NmeaSource::Tcp(a) => write!(f, "tcp://{a}"),
            NmeaSource::Udp(a) => write!(f, "udp://{a}"),
            NmeaSource::Path(p) => write!(f, "{}", p.display()),
        }
    }
}

/// Turn a crew command into a report's JSON (validated later like any report):
///
/// ```text
/// sighting LAT LON CRAFT PERSONS CONDITION [NOTES...]
/// status STATE [LAT LON]
/// pob RESCUED CREW [INJURED [DECEASED]]
/// ack TASKING                       (proceeding)
/// decline TASKING REASON...         (the reason is required)
/// {"type":...}                      (a report as JSON)
/// ```
pub fn command_to_report(line: &str, now: Timestamp) -> Result<String, String> {
    let line = line.trim();
    if line.starts_with('{') {
        return Ok(line.to_owned());
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let num = |w: Option<&&str>, what: &str| -> Result<f64, String> {
        w.ok_or(format!("missing {what}"))?
            .parse::<f64>()
            .map_err(|_| format!("{what} must be a number"))
    };
    let count = |w: &str, what: &str| -> Result<u32, String> {
        w.parse::<u32>()
            .map_err(|_| format!("{what} must be a whole number"))
    };
    let time = now.to_string();
    let value = match words.first().copied() {
        Some("sighting") => {
            let (lat, lon) = (num(words.get(1), "LAT")?, num(words.get(2), "LON")?);
            let craft = words.get(3).ok_or("missing CRAFT")?;
            let persons = count(words.get(4).ok_or("missing PERSONS")?, "PERSONS")?;
            let condition = words.get(5).ok_or("missing CONDITION")?;
            let mut v = serde_json::json!({
                "type": "sighting", "time": time, "position": {"lat": lat, "lon": lon},
                "craft": craft, "persons_estimate": persons, "condition": condition,
            });
            if words.len() > 6 {
                v["notes"] = words[6..].join(" ").into();
            }
            v
        }
        Some("status") => {
            let state = words.get(1).ok_or("missing STATE")?;
            let mut v = serde_json::json!({"type": "status", "time": time, "state": state});
            if words.len() > 2 {
                v["position"] = serde_json::json!({
                    "lat": num(words.get(2), "LAT")?, "lon": num(words.get(3), "LON")?
                });
            }
            v
        }
        Some("pob") => {
            let rescued = count(words.get(1).ok_or("missing RESCUED")?, "RESCUED")?;
            let crew = count(words.get(2).ok_or("missing CREW")?, "CREW")?;
            let mut v = serde_json::json!({
                "type": "persons_on_board", "time": time, "rescued": rescued, "crew": crew,
            });
            if let Some(w) = words.get(3) {
                v["injured"] = count(w, "INJURED")?.into();
            }
            if let Some(w) = words.get(4) {
                v["deceased"] = count(w, "DECEASED")?.into();
            }
            v
        }
        Some("ack") => {
            let id = words.get(1).ok_or("missing TASKING (its id)")?;
            serde_json::json!({"type": "tasking_ack", "time": time, "tasking": id, "accepted": true})
        }
        Some("decline") => {
            let id = words.get(1).ok_or("missing TASKING (its id)")?;
            if words.len() < 3 {
                return Err("a declined tasking needs a REASON (the master records why)".to_owned());
            }
            serde_json::json!({
                "type": "tasking_ack", "time": time, "tasking": id, "accepted": false,
                "reason": words[2..].join(" "),
            })
        }
        _ => {
            return Err(
                "commands: sighting LAT LON CRAFT PERSONS CONDITION [NOTES], status STATE [LAT LON], pob RESCUED CREW [INJURED [DECEASED]], ack TASKING, decline TASKING REASON, or a JSON report"
                    .to_owned(),
            );
        }
    };
    Ok(value.to_string())
}

/// What the poll task tells the main loop.
enum Link {
    Event(Event),
    /// The connection failed; the poll task waits for the reply before reconnecting, so
    /// no publish is handed over between the failure and the next session.
    Down(ConnectionError, oneshot::Sender<()>),
}

/// `tidewatch patrol`.
pub fn run(args: &PatrolArgs) -> Result<()> {
    let link = LinkSettings::from_args(args)?;
    let unit = link.unit.clone();
    if let Some(name) = &args.add_crew {
        return add_crew(args, &unit, name);
    }
    let opts = link.options(
        &args
            .client_id
            .clone()
            .unwrap_or_else(|| format!("tidewatch-patrol-{unit}")),
        Duration::from_secs(args.keep_alive_secs.max(2)),
    )?;
    let queue_dir = args.data.join("outbox");
    let mut outbox = Outbox::open(&queue_dir, args.queue_max_mb.saturating_mul(1 << 20))
        .with_context(|| format!("cannot open the queue in {}", queue_dir.display()))?;
    let case_dir = args.data.join("case-outbox");
    // Case actions and evidence are never discarded: the disk filling up is said to the crew.
    let mut cases = Outbox::open(&case_dir, u64::MAX)
        .with_context(|| format!("cannot open the queue in {}", case_dir.display()))?;
    let board = Arc::new(Board::load(&args.data, unit.as_str())?);
    reconcile(&mut cases, &board).context("cannot read the case queue")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    eprintln!(
        "tidewatch patrol: unit {unit}, {}, queue {} ({} entries waiting, {} case actions and file parts)",
        link.describe(),
        queue_dir.display(),
        outbox.backlog(),
        cases.backlog()
    );
    runtime.block_on(async {
        let (tx, lines) = mpsc::channel::<LocalLine>(4096);
        let stats = Arc::new(InputStats::default());
        for source in &args.nmea {
            start_source(source, tx.clone(), stats.clone()).await?;
            eprintln!("  NMEA from {source}");
        }
        drop(tx);
        let (crew_tx, crew) = mpsc::channel::<String>(64);
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if crew_tx.blocking_send(line).is_err() {
                    break;
                }
            }
        });
        let (cmd_tx, cmds) = mpsc::channel::<Cmd>(64);
        if let Some(addr) = args.web {
            let crew = crew::Crew::load(&args.data)?;
            if crew.is_empty() {
                eprintln!(
                    "  no crew account can log in to the interface: add one with --add-crew NAME --crew-role ROLE"
                );
            }
            let identity = match (&args.web_cert, &args.web_key) {
                (Some(c), Some(k)) => ingest::link::tls::Identity::load(c, k)?,
                _ => ingest::link::tls::Identity::self_signed_in(
                    &ingest::link::tls::default_dir(&args.data),
                    &ingest::link::tls::names_for(&addr),
                )?,
            };
            let local = web::serve(addr, &identity, board.clone(), crew, cmd_tx.clone()).await?;
            eprintln!(
                "  crew interface -> https://{local}/ (certificate SHA-256 {})",
                identity.fingerprint()
            );
        }
        drop(cmd_tx);
        let station = Station {
            unit,
            outbox: &mut outbox,
            cases: &mut cases,
            board,
            pipeline: ingest::pipeline::Pipeline::new(),
            connected: false,
            last_error: None,
            next_send: 0,
            next_case: 0,
            inflight: VecDeque::new(),
            last_n: 0,
            resent: Default::default(),
            install: install_id(&args.data)?,
            case_ledger: Default::default(),
            deferred: Default::default(),
            case_progress: std::time::Instant::now(),
        };
        station.run(opts, lines, crew, cmds).await
    })?;
    outbox.sync().context("cannot sync the queue")?;
    cases.sync().context("cannot sync the queue")?;
    Ok(())
}

/// What the queue holds that the board does not show (the program was killed between queueing
/// a record or a file and listing it): listed now, so the crew sees everything not yet sent.
fn reconcile(cases: &mut Outbox, board: &Board) -> Result<()> {
    let mut seq = cases.acked() + 1;
    loop {
        let batch = cases.read(seq, 1000, usize::MAX)?;
        let Some(last) = batch.last().map(|e| e.seq) else {
            return Ok(());
        };
        for e in batch {
            match serde_json::from_slice::<SeaUp>(&e.data) {
                Ok(SeaUp::Action { record, .. }) => {
                    let Ok(rec) = serde_json::from_str::<SeaRecord>(&record) else {
                        continue;
                    };
                    if !board.lock().records.iter().any(|r| r.id == rec.id) {
                        board.recorded(Recorded::of(&rec, &sea::sha256_hex(record.as_bytes())))?;
                    }
                }
                Ok(SeaUp::FileChunk {
                    sha256, name, size, ..
                }) => {
                    if !board.lock().files.contains_key(&sha256) {
                        board.file(&sha256, &name, size)?;
                    }
                }
                Err(_) => {}
            }
        }
        seq = last + 1;
    }
}

/// `--add-crew NAME --crew-role ROLE`: the account and the officer's key, on board.
fn add_crew(args: &PatrolArgs, unit: &UnitId, name: &str) -> Result<()> {
    let role = args.crew_role.context("--crew-role ROLE")?;
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("password for {name} (at least 12 characters), then Enter:");
    }
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::stdin().lock(), &mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    let key = crew::add(&args.data, name, role, password)?;
    let role_name = serde_json::to_value(role).expect("a role serializes");
    println!(
        "crew member {name} ({}) added on {unit}; public key {key}",
        role_name.as_str().unwrap_or_default()
    );
    if role.signs_case_actions() {
        println!(
            "register it at the centre, so the actions {name} signs at sea are taken:\n  tidewatch user sea-key {name} {key} --unit {unit}"
        );
    }
    Ok(())
}

async fn start_source(
    source: &NmeaSource,
    tx: mpsc::Sender<LocalLine>,
    stats: Arc<InputStats>,
) -> Result<()> {
    let name = source.to_string();
    match source {
        NmeaSource::Tcp(addr) => {
            tokio::spawn(inputs::tcp_client(*addr, name, FeedFormat::Nmea, tx, stats));
        }
        NmeaSource::Udp(addr) => {
            let s = tokio::net::UdpSocket::bind(addr)
                .await
                .with_context(|| format!("--nmea {name}: cannot bind"))?;
            tokio::spawn(inputs::udp(s, name, FeedFormat::Nmea, tx, stats));
        }
        NmeaSource::Path(path) => {
            let f = tokio::fs::File::open(path)
                .await
                .with_context(|| format!("--nmea {name}: cannot open"))?;
            tokio::spawn(async move {
                inputs::read_stream(f, &name, FeedFormat::Nmea, &tx, &stats).await;
                eprintln!("NMEA source {name} ended");
            });
        }
    }
    Ok(())
}

struct Station<'a> {
    unit: UnitId,
    outbox: &'a mut Outbox,
    /// Case actions and evidence file parts: sent first, never cut.
    cases: &'a mut Outbox,
    /// What the crew's interface shows.
    board: Arc<Board>,
    /// Decodes the ship's own lines for the board, as ingest will at the centre.
    pipeline: ingest::pipeline::Pipeline,
    connected: bool,
    /// Why the last connection attempt failed, as said to the crew (said again only when it
    /// changes).
    last_error: Option<String>,
    /// The next entry to hand to the client.
    next_send: u64,
    /// The next case entry to hand to the client.
    next_case: u64,
    /// The last entry of each publish in flight (true: of the case queue), oldest first.
    inflight: VecDeque<(bool, u64)>,
    /// The last `n:` given to an NMEA line.
    last_n: u32,
    /// Evidence files sent again this run, by SHA-256.
    resent: std::collections::HashMap<String, u32>,
    /// This installation's mark in record ids (`DIR/install-id`): a data directory made anew
    /// never reuses an id the centre has taken.
    install: String,
    /// Which case entries the centre has answered.
    case_ledger: CaseLedger,
    /// Records the centre deferred until a file arrives: by the file's SHA-256, their entries.
    deferred: std::collections::HashMap<String, Vec<u64>>,
    /// When the case queue last moved (an acknowledgement or an answer).
    case_progress: std::time::Instant,
}

/// What a case entry is, to match the centre's answer to it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CaseKey {
    /// A record, by id.
    Record(String),
    /// A part of a file, by its SHA-256.
    File(String),
}

/// The case entries sent and answered: an entry leaves the queue when the centre has answered
/// it (not when the broker acknowledged it), and the queue's mark moves past every entry
/// answered in a row.
#[derive(Debug, Default)]
struct CaseLedger {
    /// What each entry sent is, by its number.
    keys: std::collections::BTreeMap<u64, CaseKey>,
    /// Entries answered, not yet contiguous with the queue's mark.
    answered: std::collections::BTreeSet<u64>,
}

impl CaseLedger {
    /// Entry `seq` (`data`) is sent.
    fn sent(&mut self, seq: u64, data: &[u8]) {
        if let Some(key) = CaseKey::of(data) {
            self.keys.insert(seq, key);
        }
    }

    /// The entries sent as `key`.
    fn seqs_of(&self, key: &CaseKey) -> Vec<u64> {
        self.keys
            .iter()
            .filter(|(_, k)| *k == key)
            .map(|(s, _)| *s)
            .collect()
    }

    /// The centre answered `key`; the queue's mark is `mark`: the new mark.
    fn answer(&mut self, key: &CaseKey, mut mark: u64) -> u64 {
        let done: Vec<u64> = self
            .keys
            .iter()
            .filter(|(_, k)| *k == key)
            .map(|(s, _)| *s)
            .collect();
        for s in done {
            self.keys.remove(&s);
            self.answered.insert(s);
        }
        self.answered.retain(|&s| s > mark);
        while self.answered.remove(&(mark + 1)) {
            mark += 1;
        }
        mark
    }
}

impl CaseKey {
    fn of(data: &[u8]) -> Option<CaseKey> {
        match serde_json::from_slice::<SeaUp>(data).ok()? {
            SeaUp::Action { record, .. } => serde_json::from_str::<SeaRecord>(&record)
                .ok()
                .map(|r| CaseKey::Record(r.id)),
            SeaUp::FileChunk { sha256, .. } => Some(CaseKey::File(sha256)),
        }
    }
}

/// Unanswered case entries are sent again when the case queue has not moved for this long
/// while the link is up.
const CASE_RESEND_AFTER: Duration = Duration::from_secs(60);

/// This installation's mark (8 hex digits), made at its first start.
fn install_id(data: &std::path::Path) -> Result<String> {
    let path = data.join("install-id");
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() == 8 && s.trim().bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(s.trim().to_ascii_lowercase())
        }
        Ok(s) => bail!("{}: {s:?} is not 8 hex digits", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = [0u8; 4];
            getrandom::fill(&mut b).context("the operating system's random source")?;
            let id: String = b.iter().map(|x| format!("{x:02x}")).collect();
            std::fs::create_dir_all(data)?;
            let tmp = data.join("install-id.tmp");
            std::fs::write(&tmp, &id)
                .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
                .and_then(|()| std::fs::rename(&tmp, &path))
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(id)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

/// How many times a run sends a file again that the centre did not keep.
const RESENDS: u32 = 3;

impl Station<'_> {
    async fn run(
        mut self,
        opts: Vec<MqttOptions>,
        mut lines: mpsc::Receiver<LocalLine>,
        mut crew: mpsc::Receiver<String>,
        mut cmds: mpsc::Receiver<Cmd>,
    ) -> Result<()> {
        self.next_send = self.outbox.acked() + 1;
        self.next_case = self.cases.acked() + 1;
        let mut cmds_open = true;
        self.last_n = self.last_line_count()?;
        anyhow::ensure!(!opts.is_empty(), "no broker");
        let mut nodes = client::Failover::new(opts);
        let (client, mut eventloop) = nodes.connect(2 * WINDOW);
        let (link_tx, mut link) = mpsc::channel::<Link>(256);
        let poller = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(ev) => {
                        if matches!(ev, Event::Incoming(Packet::ConnAck(_))) {
                            nodes.connected();
                        }
                        if link_tx.send(Link::Event(ev)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let (ok, wait) = oneshot::channel();
                        if link_tx.send(Link::Down(e, ok)).await.is_err() {
                            return;
                        }
                        let _ = wait.await;
                        // Whatever reached the request channel before the main loop knew
                        // the link was down joins the pending requests, which the client
                        // resends if the broker kept the session and drops if not (then
                        // the main loop resends from the last acknowledged entry).
                        eventloop.clean();
                        // The next broker, if there are several.
                        nodes.lost(&mut eventloop).await;
                    }
                }
            }
        });
        let mut sync = tokio::time::interval(SYNC_EVERY);
        let every = Duration::from_secs(30);
        let mut status = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut lines_open = true;
        let mut crew_open = true;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                _ = &mut ctrl_c => break,
                l = lines.recv(), if lines_open => match l {
                    Some(l) => self.queue_line(&l)?,
                    None => lines_open = false,
                },
                c = crew.recv(), if crew_open => match c {
                    Some(c) => self.crew_command(&c)?,
                    None => crew_open = false,
                },
                c = cmds.recv(), if cmds_open => match c {
                    Some(c) => self.command(c),
                    None => cmds_open = false,
                },
                Some(msg) = link.recv() => match msg {
                    Link::Event(ev) => self.on_event(ev, &client).await?,
                    Link::Down(e, ok) => {
                        let why = explain(&e);
                        if self.connected {
                            eprintln!("link down ({why}); queueing on disk");
                        } else if self.last_error.as_ref() != Some(&why) {
                            eprintln!("cannot connect: {why}; queueing on disk");
                        }
                        {
                            let mut b = self.board.lock();
                            b.link_up = false;
                            b.link_error = Some(why.clone());
                        }
                        self.last_error = Some(why);
                        self.connected = false;
                        let _ = ok.send(());
                    }
                },
                _ = sync.tick() => {
                    self.outbox.sync().context("cannot sync the queue")?;
                    self.cases.sync().context("cannot sync the queue")?;
                    self.resend_unanswered();
                }
                _ = status.tick() => eprintln!(
                    "status: link {}, {} entries waiting, {} acknowledged{}",
                    match (&self.connected, &self.last_error) {
                        (true, _) => "up".to_owned(),
                        (false, Some(why)) => format!("down ({why})"),
                        (false, None) => "down".to_owned(),
                    },
                    self.outbox.backlog(),
                    self.outbox.acked(),
                    if self.outbox.discarded > 0 { format!(", {} discarded (queue full)", self.outbox.discarded) } else { String::new() },
                ),
            }
            self.pump(&client)?;
            let mut b = self.board.lock();
            b.waiting_lines = self.outbox.backlog();
            b.waiting_case = self.cases.backlog();
        }
        poller.abort();
        let _ = client.try_disconnect();
        Ok(())
    }

    /// The `n:` of the newest NMEA line in the queue, so counting carries on after a restart.
    fn last_line_count(&mut self) -> Result<u32> {
        let newest = self.outbox.next_seq().saturating_sub(1);
        let start = newest.saturating_sub(outbox::SEGMENT_ENTRIES).max(1);
        let mut last = 0;
        let mut seq = start;
        while seq <= newest {
            let batch = self.outbox.read(seq, 1000, usize::MAX)?;
            let Some(end) = batch.last().map(|e| e.seq) else {
                break;
            };
            for e in batch.iter().filter(|e| e.kind == Kind::Nmea) {
                if let Some(n) = ingest::ais::tagblock::line_count(&e.data) {
                    last = n;
                }
            }
            seq = end + 1;
        }
        Ok(last)
    }

    fn queue_line(&mut self, l: &LocalLine) -> Result<()> {
        self.last_n = self.last_n.checked_add(1).unwrap_or(1);
        let line = stamp(&l.line, l.received_at, self.last_n);
        self.outbox
            .append(Kind::Nmea, &line)
            .context("cannot write to the queue")?;
        // The board shows what the instruments say, decoded as ingest decodes it.
        for e in self.pipeline.on_input(
            ingest::pipeline::Input::PatrolNmea {
                unit: &self.unit,
                payload: &line,
            },
            l.received_at,
        ) {
            if let ingest::pipeline::Event::Publish { observation, .. } = e {
                self.board.observed(&observation);
            }
        }
        Ok(())
    }

    /// What the crew's interface asks for: each answered only once it is on disk.
    fn command(&mut self, c: Cmd) {
        match c {
            Cmd::Report { json, reply } => {
                let now = Timestamp::now();
                let r = PatrolReport::parse(json.as_bytes(), now)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        let seq = self
                            .outbox
                            .append(Kind::Report, json.as_bytes())
                            .and_then(|seq| self.outbox.sync().map(|()| seq))
                            .map_err(|e| {
                                format!("NOT saved: cannot write the queue on board: {e}")
                            })?;
                        Ok(seq)
                    });
                let _ = reply.send(r);
            }
            Cmd::Case {
                draft,
                officer,
                key,
                reply,
            } => {
                let _ = reply.send(self.queue_case(draft, &officer, &key));
            }
            Cmd::File {
                sha256,
                name,
                path,
                reply,
            } => {
                let _ = reply.send(self.queue_file(&sha256, &name, &path));
            }
        }
    }

    /// Sign a case action with the officer's key and queue it: its id and hash at capture.
    fn queue_case(
        &mut self,
        d: Draft,
        officer: &str,
        key: &ed25519_dalek::SigningKey,
    ) -> Result<(String, String), String> {
        let now = Timestamp::now();
        let occurred_at = d.occurred_at.unwrap_or(now);
        if occurred_at > now + jiff::SignedDuration::from_mins(5) {
            return Err("occurred_at is in the future: check the time".to_owned());
        }
        let late_reason = d
            .late_reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        let ago = now.duration_since(occurred_at).as_mins();
        if ago > 30 && late_reason.is_none() {
            return Err(format!(
                "R57: it happened {ago} min ago: say why it is recorded only now"
            ));
        }
        let seq = self.cases.next_seq();
        let record = SeaRecord {
            id: format!("{}-{}-{seq}", self.unit, self.install),
            unit: self.unit.to_string(),
            incident: d.incident.trim().to_owned(),
            officer: officer.to_owned(),
            action: d.action,
            why: d.why.trim().to_owned(),
            occurred_at,
            captured_at: now,
            position: d.position,
            late_reason,
        };
        let up = sea::sign(&record, key);
        let SeaUp::Action { record: text, .. } = &up else {
            unreachable!("sign makes an action")
        };
        let sha256 = sea::sha256_hex(text.as_bytes());
        let bytes = serde_json::to_vec(&up).expect("a signed record serializes");
        self.cases
            .append(Kind::Case, &bytes)
            .and_then(|_| self.cases.sync())
            .map_err(|e| format!("NOT saved: cannot write the queue on board: {e}"))?;
        self.board
            .recorded(Recorded::of(&record, &sha256))
            .map_err(|e| format!("queued, but the journal on board: {e}"))?;
        Ok((record.id, sha256))
    }

    /// The centre answered `key`: its entries are done; the queue's mark moves past every
    /// entry done in a row.
    fn answered(&mut self, key: &CaseKey) -> Result<()> {
        let mark = self.case_ledger.answer(key, self.cases.acked());
        if mark > self.cases.acked() {
            self.cases.ack(mark).context("cannot update the queue")?;
            self.case_progress = std::time::Instant::now();
        }
        Ok(())
    }

    /// The file `sha256` is kept at the centre: the records that waited for it go again now
    /// (with the link down, they go with the rest after the reconnect).
    fn send_deferred(&mut self, sha256: &str, client: &AsyncClient) -> Result<()> {
        for seq in self.deferred.remove(sha256).unwrap_or_default() {
            let Some(e) = self
                .cases
                .read(seq, 1, usize::MAX)
                .context("cannot read the queue")?
                .into_iter()
                .next()
                .filter(|e| e.seq == seq)
            else {
                continue;
            };
            let topic = Topic::PatrolCase(self.unit.clone()).to_string();
            if self.connected
                && client
                    .try_publish(topic, QoS::AtLeastOnce, false, e.data)
                    .is_ok()
            {
                self.inflight.push_back((true, seq));
            }
        }
        Ok(())
    }

    /// The case queue has not moved for a while with the link up: its unanswered entries go
    /// again (an answer lost, or a record the broker dropped).
    fn resend_unanswered(&mut self) {
        if self.connected
            && self.cases.backlog() > 0
            && self.case_progress.elapsed() >= CASE_RESEND_AFTER
        {
            eprintln!(
                "{} case entries not answered by the centre: sending them again",
                self.cases.backlog()
            );
            self.next_case = self.cases.acked() + 1;
            self.case_progress = std::time::Instant::now();
        }
    }

    /// The centre did not keep a file (a part missing, or bytes not matching): it goes again
    /// from the copy kept on board, at most [`RESENDS`] times a run.
    fn resend_file(&mut self, sha256: &str) {
        let n = self.resent.entry(sha256.to_owned()).or_default();
        if *n >= RESENDS {
            eprintln!(
                "evidence file {sha256}: sent {RESENDS} times again already; not again until a restart"
            );
            return;
        }
        *n += 1;
        let path = self.board.evidence_dir().join(sha256);
        let name = self
            .board
            .lock()
            .files
            .get(sha256)
            .map(|f| f.name.clone())
            .unwrap_or_else(|| sha256.to_owned());
        match self.queue_file(sha256, &name, &path) {
            Ok(()) => eprintln!("evidence file {sha256} queued again from the copy on board"),
            Err(e) => eprintln!("evidence file {sha256} cannot be sent again: {e}"),
        }
    }

    /// Queue an evidence file kept on board, in parts, before any action that names it.
    fn queue_file(
        &mut self,
        sha256: &str,
        name: &str,
        path: &std::path::Path,
    ) -> Result<(), String> {
        use base64::Engine;
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if sea::sha256_hex(&bytes) != sha256 {
            return Err(format!(
                "{} changed on board since it was hashed",
                path.display()
            ));
        }
        let size = bytes.len() as u64;
        for (i, part) in bytes.chunks(sea::CHUNK_BYTES).enumerate() {
            let up = SeaUp::FileChunk {
                sha256: sha256.to_owned(),
                name: name.to_owned(),
                size,
                offset: (i * sea::CHUNK_BYTES) as u64,
                data: base64::engine::general_purpose::STANDARD.encode(part),
            };
            self.cases
                .append(
                    Kind::Case,
                    &serde_json::to_vec(&up).expect("a part serializes"),
                )
                .map_err(|e| format!("NOT saved: cannot write the queue on board: {e}"))?;
        }
        self.cases
            .sync()
            .map_err(|e| format!("NOT saved: cannot write the queue on board: {e}"))?;
        self.board
            .file(sha256, name, size)
            .map_err(|e| format!("queued, but the list on board: {e}"))
    }

    fn crew_command(&mut self, c: &str) -> Result<()> {
        if c.trim().is_empty() {
            return Ok(());
        }
        let now = Timestamp::now();
        let checked = command_to_report(c, now).and_then(|json| {
            PatrolReport::parse(json.as_bytes(), now)
                .map(|_| json)
                .map_err(|e| e.to_string())
        });
        match checked {
            Ok(json) => {
                let seq = self
                    .outbox
                    .append(Kind::Report, json.as_bytes())
                    .context("cannot write to the queue")?;
                self.outbox.sync().context("cannot sync the queue")?;
                println!("report queued (#{seq}): {json}");
                if let Ok(PatrolReport::TaskingAck {
                    tasking, accepted, ..
                }) = PatrolReport::parse(json.as_bytes(), now)
                {
                    self.board
                        .answered(&tasking, accepted)
                        .context("cannot keep the answer")?;
                }
            }
            Err(e) => println!("report NOT sent: {e}"),
        }
        Ok(())
    }

    async fn on_event(&mut self, ev: Event, client: &AsyncClient) -> Result<()> {
        match ev {
            Event::Incoming(Packet::ConnAck(ack)) => {
                self.connected = true;
                self.last_error = None;
                {
                    let mut b = self.board.lock();
                    b.link_up = true;
                    b.link_error = None;
                    b.last_contact = Some(Timestamp::now());
                }
                if !ack.session_present {
                    // The broker lost our session, and the client dropped what was in
                    // flight: send again from the last acknowledged entry.
                    self.inflight.clear();
                    self.next_send = self.outbox.acked() + 1;
                }
                // Case entries not answered yet go again (the centre takes each once).
                self.next_case = self.cases.acked() + 1;
                self.case_progress = std::time::Instant::now();
                eprintln!(
                    "link up; {} entries to send{}",
                    self.outbox.backlog(),
                    if ack.session_present {
                        ""
                    } else {
                        " (new session)"
                    }
                );
                for t in [
                    Topic::PatrolTasking(self.unit.clone()),
                    Topic::PatrolRejects(self.unit.clone()),
                    Topic::PatrolCaseUpdate(self.unit.clone()),
                ] {
                    client.subscribe(t.to_string(), QoS::AtLeastOnce).await?;
                }
            }
            Event::Incoming(Packet::PubAck(_)) => {
                // In order (MQTT 3.1.1 §4.6): this acknowledges the oldest in flight.
                match self.inflight.pop_front() {
                    Some((false, last)) => {
                        self.outbox.ack(last).context("cannot update the queue")?
                    }
                    // A case entry leaves the queue when the centre answers it.
                    Some((true, _)) => self.case_progress = std::time::Instant::now(),
                    None => {}
                }
                self.board.lock().last_contact = Some(Timestamp::now());
            }
            Event::Incoming(Packet::Publish(p)) => match Topic::parse(&p.topic) {
                Some(Topic::PatrolTasking(_)) => {
                    let text = String::from_utf8_lossy(&p.payload);
                    println!("TASKING {}: {text}", Timestamp::now());
                    self.board.tasking(&text)?;
                }
                Some(Topic::PatrolRejects(_)) => {
                    let text = String::from_utf8_lossy(&p.payload).into_owned();
                    println!("REFUSED by shore: {text}");
                    let mut b = self.board.lock();
                    b.refused.push(text);
                    let n = b.refused.len();
                    b.refused.drain(..n.saturating_sub(50));
                }
                Some(Topic::PatrolCaseUpdate(_)) => {
                    match serde_json::from_slice::<SeaDown>(&p.payload) {
                        Ok(d) => {
                            if let SeaDown::Result {
                                id,
                                outcome,
                                message,
                                ..
                            } = &d
                            {
                                println!("CASE {id}: {outcome:?}: {message}");
                            }
                            let resend = match &d {
                                SeaDown::File {
                                    sha256,
                                    stored: false,
                                    message,
                                    ..
                                } => {
                                    eprintln!(
                                        "evidence file {sha256} not kept by the centre: {message}"
                                    );
                                    Some(sha256.clone())
                                }
                                _ => None,
                            };
                            let key = match &d {
                                // Not taken yet: it waits for its file, and stays in the queue
                                // unless the file will not come again this run.
                                SeaDown::Result {
                                    id,
                                    outcome: sea::Outcome::Deferred,
                                    produced,
                                    ..
                                } => {
                                    let sha = produced
                                        .as_ref()
                                        .and_then(|p| p["waiting_for"].as_str())
                                        .unwrap_or_default()
                                        .to_owned();
                                    let key = CaseKey::Record(id.clone());
                                    if self.resent.get(&sha).copied().unwrap_or(0) >= RESENDS {
                                        Some(key)
                                    } else {
                                        let seqs = self.case_ledger.seqs_of(&key);
                                        self.deferred.entry(sha).or_default().extend(seqs);
                                        None
                                    }
                                }
                                SeaDown::Result { id, .. } => Some(CaseKey::Record(id.clone())),
                                SeaDown::File { sha256, stored, .. } => {
                                    if *stored {
                                        // What waited for this file goes again now.
                                        self.send_deferred(sha256, client)?;
                                    }
                                    Some(CaseKey::File(sha256.clone()))
                                }
                                SeaDown::Case(_) => None,
                            };
                            // Kept on board before the entry leaves the queue.
                            self.board
                                .centre_said(d)
                                .context("cannot keep the centre's answer")?;
                            if let Some(key) = key {
                                self.answered(&key)?;
                            }
                            if let Some(sha) = resend {
                                self.resend_file(&sha);
                            }
                        }
                        Err(e) => eprintln!(
                            "a case update that cannot be read ({e}): {}",
                            String::from_utf8_lossy(&p.payload)
                        ),
                    }
                }
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }

    /// Hand the client what it can take: case actions and evidence first (one per message),
    /// then the backlog of lines and reports in order, in batches.
    fn pump(&mut self, client: &AsyncClient) -> Result<()> {
        while self.connected && self.inflight.len() < WINDOW {
            let batch = self
                .cases
                .read(self.next_case, 1, usize::MAX)
                .context("cannot read the queue")?;
            let Some(e) = batch.into_iter().next() else {
                break;
            };
            let topic = Topic::PatrolCase(self.unit.clone()).to_string();
            self.case_ledger.sent(e.seq, &e.data);
            match client.try_publish(topic, QoS::AtLeastOnce, false, e.data) {
                Ok(()) => {
                    self.inflight.push_back((true, e.seq));
                    self.next_case = e.seq + 1;
                }
                Err(_) => return Ok(()),
            }
        }
        while self.connected && self.inflight.len() < WINDOW {
            let batch = self
                .outbox
                .read(self.next_send, BATCH_LINES, BATCH_BYTES)
                .context("cannot read the queue")?;
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                break;
            };
            // Entries before next_send may be gone (discarded at the bound).
            let (kind, last_seq) = (first.kind, last.seq);
            let (topic, payload, last_seq) = match kind {
                Kind::Report | Kind::Case => (
                    Topic::PatrolReport(self.unit.clone()),
                    first.data.clone(),
                    first.seq,
                ),
                Kind::Nmea => {
                    let mut payload =
                        Vec::with_capacity(batch.iter().map(|e| e.data.len() + 2).sum());
                    for e in &batch {
                        payload.extend_from_slice(&e.data);
                        payload.extend_from_slice(b"\r\n");
                    }
                    (Topic::PatrolNmea(self.unit.clone()), payload, last_seq)
                }
            };
            match client.try_publish(topic.to_string(), QoS::AtLeastOnce, false, payload) {
                Ok(()) => {
                    self.inflight.push_back((false, last_seq));
                    self.next_send = last_seq + 1;
                }
                Err(_) => break,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case entry leaves the queue only once the centre answered it, and the mark moves
    /// past answered entries in a row only: an answer lost keeps its entry (and those after)
    /// to be sent again.
    #[test]
    fn case_entries_leave_the_queue_when_answered_in_a_row() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let now = Timestamp::now();
        let record = |id: &str| {
            let r = SeaRecord {
                id: id.into(),
                unit: "cp-301".into(),
                incident: "INC-1".into(),
                officer: "bo".into(),
                action: serde_json::json!({"type": "search", "case": 1}),
                why: "x".into(),
                occurred_at: now,
                captured_at: now,
                position: None,
                late_reason: None,
            };
            serde_json::to_vec(&sea::sign(&r, &key)).unwrap()
        };
        let part = |offset: u64| {
            serde_json::to_vec(&SeaUp::FileChunk {
                sha256: "ab".repeat(32),
                name: "p.jpg".into(),
                size: 3,
                offset,
                data: "AA==".into(),
            })
            .unwrap()
        };
        let mut l = CaseLedger::default();
        // 1: record A; 2-4: a file's parts; 5: record B.
        l.sent(1, &record("cp-301-0badf00d-1"));
        for (seq, off) in [(2, 0), (3, 1), (4, 2)] {
            l.sent(seq, &part(off));
        }
        l.sent(5, &record("cp-301-0badf00d-5"));
        let a = CaseKey::Record("cp-301-0badf00d-1".into());
        let b = CaseKey::Record("cp-301-0badf00d-5".into());
        let f = CaseKey::File("ab".repeat(32));
        assert_eq!(l.answer(&b, 0), 0, "B answered, A not: nothing leaves");
        assert_eq!(l.answer(&a, 0), 1, "A leaves; the file's parts hold B");
        assert_eq!(l.answer(&f, 1), 5, "the file answered: all leave");
        // Sent again (an answer lost) and answered again: nothing moves backwards.
        l.sent(5, &record("cp-301-0badf00d-5"));
        assert_eq!(l.answer(&b, 5), 5);
        assert!(l.keys.is_empty() && l.answered.is_empty());
    }

    /// Killed between queueing a record and listing it: the record is listed at the next start,
    /// so the crew sees everything not yet sent.
    #[test]
    fn a_record_queued_but_not_listed_is_listed_at_the_next_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut cases = Outbox::open(&dir.path().join("case-outbox"), u64::MAX).unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
        let now = Timestamp::now();
        let rec = SeaRecord {
            id: "cp-301-1".into(),
            unit: "cp-301".into(),
            incident: "INC-1".into(),
            officer: "bo".into(),
            action: serde_json::json!({"type": "asylum", "tag": "cp-301-0001",
                "summary": "fears return", "blocked_states": ["LY"]}),
            why: "asked".into(),
            occurred_at: now,
            captured_at: now,
            position: None,
            late_reason: None,
        };
        let up = serde_json::to_vec(&sea::sign(&rec, &key)).unwrap();
        cases.append(Kind::Case, &up).unwrap();
        let part = SeaUp::FileChunk {
            sha256: "ab".repeat(32),
            name: "seal.jpg".into(),
            size: 3,
            offset: 0,
            data: "AAAA".into(),
        };
        cases
            .append(Kind::Case, &serde_json::to_vec(&part).unwrap())
            .unwrap();
        cases.sync().unwrap();
        let board = Board::load(dir.path(), "cp-301").unwrap();
        assert!(board.lock().records.is_empty());
        reconcile(&mut cases, &board).unwrap();
        reconcile(&mut cases, &board).unwrap();
        let s = board.snapshot();
        assert_eq!(s.records.len(), 1, "listed once");
        assert_eq!(s.records[0].id, "cp-301-1");
        // R40: the words are not shown back on board.
        assert!(
            !serde_json::to_string(&s.records)
                .unwrap()
                .contains("fears return")
        );
        assert!(s.files.contains_key(&"ab".repeat(32)));
        // And after a restart, from the journal on disk.
        let again = Board::load(dir.path(), "cp-301").unwrap();
        assert_eq!(again.lock().records.len(), 1);
    }

    #[test]
    fn sources_parse() {
        assert_eq!(
            "tcp://127.0.0.1:10110".parse::<NmeaSource>(),
            Ok(NmeaSource::Tcp("127.0.0.1:10110".parse().unwrap()))
        );
        assert_eq!(
            "udp://0.0.0.0:10110".parse::<NmeaSource>(),
            Ok(NmeaSource::Udp("0.0.0.0:10110".parse().unwrap()))
        );
        assert_eq!(
            "/dev/ttyUSB0".parse::<NmeaSource>(),
            Ok(NmeaSource::Path("/dev/ttyUSB0".into()))
        );
        assert!("serial://x".parse::<NmeaSource>().is_err());
        assert!("tcp://nohost".parse::<NmeaSource>().is_err());
    }

    #[test]
    fn crew_commands_become_valid_reports() {
        let now: Timestamp = "2026-11-22T02:10:00Z".parse().unwrap();
        for cmd in [
            "sighting 35.1 12.5 rubber_boat 45 overcrowded no life jackets seen",
            "status responding 35.2 12.4",
            "status on_patrol",
            "pob 44 12 3",
        ] {
            let json = command_to_report(cmd, now).unwrap();
            PatrolReport::parse(json.as_bytes(), now).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        }
        let json =
            command_to_report("sighting 35.1 12.5 rubber_boat 45 overcrowded a b", now).unwrap();
        assert!(json.contains(r#""notes":"a b""#), "{json}");
        // Mistakes are explained, not sent.
        assert!(command_to_report("sighting 35.1", now).is_err());
        let json = command_to_report("sighting 35.1 12.5 raft 45 overcrowded", now).unwrap();
        assert!(PatrolReport::parse(json.as_bytes(), now).is_err());
        assert!(command_to_report("hello", now).is_err());
    }
}
