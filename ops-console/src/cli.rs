//! Command-line interface of `tidewatch` (runtime flags only; pipeline settings
//! will live in the configuration file).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Tidewatch: maritime smuggling detection and interception coordination.
#[derive(Debug, Parser)]
#[command(name = "tidewatch", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode NMEA (AIS and patrol telemetry) to JSON lines on stdout; a summary and the
    /// rejects by reason go to stderr.
    Decode(DecodeArgs),
    /// Replay NMEA logs (or observation JSON lines) through fusion on the log's own clock
    /// and print its alerts as JSON lines; a summary and progress go to stderr.
    Analyze(crate::cmd::analyze::AnalyzeArgs),
    /// Run Tidewatch in one process: the MQTT broker, ingest, fusion and the web console;
    /// `--demo` also runs a simulated scenario through them and shows
    /// the live picture.
    Up(UpArgs),
    /// Check what Tidewatch keeps and name the first thing broken: a raw archive's hash
    /// chain, an interception export (log chain, signed evidence manifests, evidence files),
    /// or the console's store (every incident's log and case file, and the audit log).
    Verify(VerifyArgs),
    /// Run the ingest service alone against an external MQTT broker (Mosquitto, EMQX, ...).
    Ingest(IngestArgs),
    /// Run the fusion service alone against an external MQTT broker: observations in,
    /// alerts out on `tidewatch/v1/alerts/{kind}` and stored in `DIR/fusion/alerts.jsonl`.
    Fusion(FusionArgs),
    /// Search and rescue planning by hand: `sar plan` (a first-order search plan as JSON or
    /// GeoJSON) and `sar objects` (the drift object classes).
    Sar(crate::cmd::sar::SarArgs),
    /// The patrol vessel's side: forward the ship's NMEA (GNSS, compass, radar) with
    /// store-and-forward on disk, send the crew's reports typed on stdin (`sighting`,
    /// `status`, `pob`), and show the unit's taskings.
    Patrol(tidewatch_patrol::PatrolArgs),
    /// Run the operations console alone (web UI and API) against an external broker.
    Console(ConsoleArgs),
    /// Console accounts: `user add NAME --role ROLE`, `user passwd NAME`, `user list`.
    User(crate::cmd::user::UserArgs),
    /// Patrol units' broker identities: `unit add ID` (writes the credentials file to carry to
    /// the vessel), `unit list`, `unit revoke ID` (a running `up` closes its connection at once).
    Unit(crate::cmd::identity::IdentityArgs),
    /// AIS receivers' broker identities: `receiver add NAME`, `receiver list`, `receiver revoke
    /// NAME`, like units.
    Receiver(crate::cmd::identity::IdentityArgs),
    /// The broker for deployments on another MQTT broker: `broker mosquitto-config DIR` writes a
    /// Mosquitto 2 configuration with the same identities, grants and certificate.
    Broker(crate::cmd::identity::BrokerArgs),
    /// Run a simulated scenario: its AIS lines to a file (as fast as it goes) or to a broker
    /// on `tidewatch/v1/raw/ais/{source}` (in scenario time, `--speed` times real time);
    /// `--list` names the scenarios.
    Simulate(crate::cmd::simulate::SimulateArgs),
    /// Start the multi-node layout on this machine, for trying it: three RabbitMQ nodes,
    /// PostgreSQL, two ingest instances, two fusion replicas, two consoles on the shared
    /// store, each a process of its own (DESIGN.md "Beyond one machine").
    Deploy(crate::cmd::deploy::DeployArgs),
}

/// Arguments of `console`.
#[derive(Debug, clap::Args)]
pub struct ConsoleArgs {
    /// The broker, `HOST:PORT`; a clustered broker's nodes as `HOST:PORT,HOST:PORT,…`
    /// (tried in turn when the connected one is lost).
    #[arg(long, value_name = "HOST:PORT[,…]", default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// MQTT client id; keep it stable: it names the console's persistent session.
    /// A bus made by `tidewatch deploy` lets it hold `tidewatch-console` alone or followed by `.` or
    /// `-` and anything.
    #[arg(long, default_value = "tidewatch-console")]
    pub client_id: String,
    /// User name, when the broker asks for one.
    #[arg(long, value_name = "NAME", requires = "password_file")]
    pub user: Option<String>,
    /// File holding the broker password (never on the command line, where `ps` shows it).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// HTTP listener of the console (UI, API, `/metrics`).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: std::net::SocketAddr,
    /// Data directory: the console's database is `DIR/console/console.db` (unless
    /// `--database`), and its refused messages and files arriving from sea are kept here.
    #[arg(long, value_name = "DIR", default_value = "tidewatch-data")]
    pub data: PathBuf,
    /// The console's store on PostgreSQL, shared by several consoles behind one address:
    /// `postgres://USER@HOST:PORT/DATABASE` (users, sessions, alerts and triage, incidents,
    /// case files and the audit log). Without it, SQLite in `--data`.
    #[arg(long, value_name = "URL")]
    pub database: Option<String>,
    /// File holding the PostgreSQL password (kept out of the URL, which `ps` shows).
    #[arg(long, value_name = "FILE", requires = "database")]
    pub database_password_file: Option<PathBuf>,
    /// Reference data for interception cases (TOML: our State, States and their Protocol
    /// status, units, maritime zones); default: the demonstration area's, shipped with the
    /// program (see `ops-console/src/interception/reference.toml`).
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// Mark the session cookie `Secure` (HTTPS terminated by a proxy in front; implied when
    /// the console serves HTTPS itself).
    #[arg(long)]
    pub secure_cookies: bool,
    /// HTTPS.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Fusion's configuration and reference files (the console's picture runs the same
    /// engine as fusion).
    #[command(flatten)]
    pub fusion: FusionFiles,
}

/// The certificate a centre serves HTTPS (and the broker's remote listener) with.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Certificate chain (PEM) for HTTPS. Without it, a listener outside loopback gets a
    /// self-signed certificate made on first start and kept in `DIR/tls/` (its SHA-256
    /// fingerprint is printed: give it to patrol units and check it in browsers); plain
    /// HTTP is served on loopback only.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl TlsArgs {
    /// The certificate and key files, when given.
    pub fn files(&self) -> Option<(&std::path::Path, &std::path::Path)> {
        self.tls_cert.as_deref().zip(self.tls_key.as_deref())
    }
}

/// Arguments of `ingest`.
#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// The broker, `HOST:PORT`; a clustered broker's nodes as `HOST:PORT,HOST:PORT,…`
    /// (tried in turn when the connected one is lost).
    #[arg(long, value_name = "HOST:PORT[,…]", default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// MQTT client id; keep it stable: it names ingest's persistent session.
    /// A bus made by `tidewatch deploy` lets it hold `tidewatch-ingest` alone or followed by `.` or
    /// `-` and anything.
    #[arg(long, default_value = "tidewatch-ingest")]
    pub client_id: String,
    /// User name, when the broker asks for one.
    #[arg(long, value_name = "NAME", requires = "password_file")]
    pub user: Option<String>,
    /// File holding the password (never on the command line, where `ps` shows it).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Data directory: the raw archive goes to `DIR/raw/`.
    #[arg(long, value_name = "DIR", default_value = "tidewatch-data")]
    pub data: PathBuf,
    /// Accept a receiver's NMEA over TCP: `NAME=ADDR` (NAME is the source; repeatable).
    #[arg(long, value_name = "NAME=ADDR")]
    pub tcp_listen: Vec<String>,
    /// Read NMEA from a receiver or feed's TCP server: `NAME=ADDR` (reconnects; repeatable).
    #[arg(long, value_name = "NAME=ADDR")]
    pub tcp_connect: Vec<String>,
    /// Receive NMEA datagrams: `NAME=ADDR` (repeatable).
    #[arg(long, value_name = "NAME=ADDR")]
    pub udp: Vec<String>,
    /// How the TCP and UDP feeds frame sentences.
    #[arg(long, value_enum, default_value_t = InputFormat::Nmea)]
    pub input_format: InputFormat,
    /// Write positions and ingest counters to this InfluxDB v2 write API (InfluxDB 2/3,
    /// or VictoriaMetrics), e.g. `http://127.0.0.1:8428`.
    #[arg(long, value_name = "URL")]
    pub influx_url: Option<String>,
    /// InfluxDB organisation.
    #[arg(long, default_value = "tidewatch", requires = "influx_url")]
    pub influx_org: String,
    /// InfluxDB bucket.
    #[arg(long, default_value = "tidewatch", requires = "influx_url")]
    pub influx_bucket: String,
    /// File holding the InfluxDB token (VictoriaMetrics needs none).
    #[arg(long, value_name = "FILE", requires = "influx_url")]
    pub influx_token_file: Option<PathBuf>,
    /// Serve `/metrics` (Prometheus text) on this address, e.g. `127.0.0.1:9187`.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Days the raw archive (the legal record) keeps an hour's file after the hour ends; then
    /// it is deleted, oldest first, and named with its SHA-256 in `DIR/raw/retention.log`.
    #[arg(long, value_name = "DAYS", default_value_t = ingest::service::DEFAULT_RETAIN_RAW_DAYS,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_raw: u32,
    /// Run as one of several ingest instances, under this name (unique among them; `a-z`,
    /// `0-9`, `-`, `_`): the slots are shared among the live instances, and those of an
    /// instance that is lost are taken over (`ingest::instances`). Each slot's archive goes
    /// to `DIR/raw/{slot}/`, the instance's own feeds' to `DIR/raw/feeds/`.
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// A slot of sources, held by one instance at a time: `NAME=FILTER[,FILTER…]`, filters
    /// under `tidewatch/v1/` (which may be left out), e.g. `north=raw/ais/north/#` or
    /// `units=patrol/+/nmea,patrol/+/report`. Repeatable; every instance is given the same
    /// list; the slot `rest` takes whatever no slot names.
    #[arg(long, value_name = "NAME=FILTER[,…]", requires = "instance")]
    pub slot: Vec<String>,
    /// How often an instance says it is alive, milliseconds; one silent for three is gone.
    #[arg(long, value_name = "MS", default_value_t = 1000, requires = "instance",
        value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub heartbeat_ms: u64,
}

/// Arguments of `fusion`.
#[derive(Debug, clap::Args)]
pub struct FusionArgs {
    /// The broker, `HOST:PORT`; a clustered broker's nodes as `HOST:PORT,HOST:PORT,…`
    /// (tried in turn when the connected one is lost).
    #[arg(long, value_name = "HOST:PORT[,…]", default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// MQTT client id; keep it stable: it names fusion's persistent session.
    /// A bus made by `tidewatch deploy` lets it hold `tidewatch-fusion` alone or followed by `.` or
    /// `-` and anything.
    #[arg(long, default_value = "tidewatch-fusion")]
    pub client_id: String,
    /// User name, when the broker asks for one.
    #[arg(long, value_name = "NAME", requires = "password_file")]
    pub user: Option<String>,
    /// File holding the password (never on the command line, where `ps` shows it).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Data directory: alerts go to `DIR/fusion/alerts.jsonl`, refused messages to
    /// `DIR/fusion/rejects.jsonl`, the engine's saved state to `DIR/fusion/state/`.
    #[arg(long, value_name = "DIR", default_value = "tidewatch-data")]
    pub data: PathBuf,
    /// Fusion's configuration and reference files.
    #[command(flatten)]
    pub fusion: FusionFiles,
    /// Serve `/metrics` (Prometheus text) on this address, e.g. `127.0.0.1:9188`.
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Save the engine's state (`DIR/fusion/state/`) this often, seconds: a restart loads
    /// it and replays the journal since, at most about this much.
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub snapshot_every: u64,
    /// The clock follows the data alone (no carrying forward in real time between
    /// observations): the alerts are then a function of the observations, as when
    /// replaying a recording through the broker. Live feeds want the default.
    #[arg(long)]
    pub data_clock: bool,
    /// How long fusion keeps its closed daily files.
    #[command(flatten)]
    pub fusion_retention: FusionRetention,
}

/// How long fusion keeps its closed daily files (`fusion` and `up`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct FusionRetention {
    /// Days fusion's closed daily files of alert revisions and taskings
    /// (`DIR/fusion/alerts-YYYYMMDDT00.jsonl.gz`) are kept.
    #[arg(long, value_name = "DAYS", default_value_t = fusion::store::DEFAULT_RETAIN_ALERTS_DAYS,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_alerts: u32,
    /// Days fusion's closed daily files of refused messages are kept.
    #[arg(long, value_name = "DAYS", default_value_t = fusion::store::DEFAULT_RETAIN_REJECTS_DAYS,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_rejects: u32,
}

/// Framing of the TCP and UDP feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// NMEA lines, tag blocks allowed.
    Nmea,
    /// AIS-catcher's JSON lines (sentences in its `nmea` array).
    AisCatcherJson,
}

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The directory to check: a raw archive (`tidewatch-data/raw`), an export, or a data
    /// directory (its console store); or the consoles' store on PostgreSQL, as a
    /// `postgres://…` URL.
    #[arg(value_name = "DIR|URL")]
    pub dir: PathBuf,
    /// The head hash noted earlier (printed by a previous `verify`, or kept in the
    /// interception log): the newest file must still hash to it. Without it, an
    /// alteration of the newest file cannot be seen, since no later file names its hash.
    #[arg(long, value_name = "SHA256")]
    pub expect_head: Option<String>,
}

/// Arguments of `up`.
#[derive(Debug, clap::Args)]
pub struct UpArgs {
    /// Run a simulated scenario (default `central-med`) so there is a live picture at once.
    #[arg(long, value_name = "SCENARIO", num_args = 0..=1, default_missing_value = "central-med")]
    pub demo: Option<String>,
    /// MQTT listener of the embedded broker (loopback only). Anonymous local clients may
    /// publish raw AIS feeds there (`tidewatch/v1/raw/ais/{source}`) and nothing else, and read
    /// nothing; ingest, fusion, the console and patrol units log in with passwords made at start.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1883")]
    pub mqtt: std::net::SocketAddr,
    /// The broker's remote listener for patrol units and AIS receivers, e.g. `0.0.0.0:8883`:
    /// MQTT over TLS only (even on loopback), with the certificate of `--tls-cert`/`--tls-key`
    /// or the self-signed one in `DIR/tls/` (the console's), and a username and password per
    /// identity (`tidewatch unit add ID`, `tidewatch receiver add NAME`; followed while `up`
    /// runs), each publishing and reading only its own topics.
    #[arg(long, value_name = "ADDR")]
    pub mqtt_remote: Option<std::net::SocketAddr>,
    /// A patrol unit that connects from another program (`tidewatch patrol`, `tidewatch
    /// simulate`), repeatable: its broker account (username = the unit id) is made at start,
    /// its password written to `DIR/units/ID.password`, readable by you only and replaced at
    /// every start. (The demo's own units log in with passwords kept in memory.)
    #[arg(long = "unit", value_name = "ID")]
    pub units: Vec<String>,
    /// HTTP listener: the console (web UI and API) and `/metrics` (Prometheus text).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub http: std::net::SocketAddr,
    /// Data directory: observations (`observations/`, hourly JSON-lines files), and the raw
    /// archive of every line received (`raw/`, hash-chained hourly files), are kept here;
    /// closed hours are compressed (`.gz`).
    #[arg(long, value_name = "DIR", default_value = "tidewatch-data")]
    pub data: PathBuf,
    /// Days the raw archive (the legal record) keeps an hour's file after the hour ends; then
    /// it is deleted, oldest first, and named with its SHA-256 in `DIR/raw/retention.log`.
    #[arg(long, value_name = "DAYS", default_value_t = ingest::service::DEFAULT_RETAIN_RAW_DAYS,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_raw: u32,
    /// Days the observation log (`DIR/observations/`) keeps an hour's file after the hour ends.
    #[arg(long, value_name = "DAYS", default_value_t = ingest::obslog::DEFAULT_RETAIN_DAYS,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub retain_observations: u32,
    /// How long fusion keeps its closed daily files.
    #[command(flatten)]
    pub fusion_retention: FusionRetention,
    /// Scenario time per wall-clock second of the demo (`30`: the demo's rescue unfolds in
    /// minutes), or `max`.
    #[arg(long, default_value = "30")]
    pub speed: String,
    /// Stop after this much scenario time (e.g. `30m`, `2h`); default: run until stopped.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Reference data for interception cases (TOML: our State, States and their Protocol
    /// status, units, maritime zones); default: the demonstration area's, shipped with the
    /// program (see `ops-console/src/interception/reference.toml`).
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,
    /// HTTPS for the console, and TLS for `--mqtt-remote`.
    #[command(flatten)]
    pub tls: TlsArgs,
    /// Fusion's configuration and reference files (the console's picture runs the same
    /// engine as fusion).
    #[command(flatten)]
    pub fusion: FusionFiles,
}

/// Output format of `decode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Our model: values in units (`speed_kn`, `course_deg`), `null` when not
    /// available, tag block time and source, patrol telemetry too.
    Json,
    /// gpsd's unscaled AIS JSON, as `gpsdecode -u -j` writes it (AIS only).
    Gpsd,
}

/// Arguments of `decode`.
#[derive(Debug, clap::Args)]
pub struct DecodeArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Write every rejected line, with its line number and reason, to this file (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// Input files (`.gz` is decompressed); `-` or nothing reads stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Fusion's configuration and reference files: the same flags wherever an engine runs
/// (`fusion`, `console`, `up`, `analyze`), so that every engine of a deployment is the same.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FusionFiles {
    /// Fusion configuration (TOML): detector parameters, watchlist, reference data.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Zones (GeoJSON FeatureCollection of Polygon/MultiPolygon with `properties.name`).
    #[arg(long, value_name = "FILE")]
    pub zones: Option<PathBuf>,
    /// Ports and anchorages (GeoJSON Points or Polygons with `properties.name`), replacing
    /// the built-in ones.
    #[arg(long, value_name = "FILE")]
    pub ports: Option<PathBuf>,
    /// The centre's area of responsibility (GeoJSON Polygons: a search-and-rescue region or
    /// area of interest): alerts outside it are kept, marked `outside_area` and ranked below
    /// those inside; the console shows them only when asked.
    #[arg(long, value_name = "FILE")]
    pub area: Option<PathBuf>,
}

impl FusionFiles {
    /// The configuration and geography these files name (built-in where they name none).
    pub fn setup(&self) -> anyhow::Result<fusion::Setup> {
        use anyhow::Context as _;
        let mut cfg = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                fusion::FusionConfig::from_toml(&text)
                    .with_context(|| format!("{}", p.display()))?
            }
            None => fusion::FusionConfig::default(),
        };
        if let Some(p) = &self.ports {
            cfg.geodata.ports = Some(p.clone());
        }
        if let Some(p) = &self.area {
            cfg.geodata.area = Some(p.clone());
        }
        let setup = fusion::Setup::load(cfg, self.zones.as_deref())?;
        // Said once, at start: what the files had that is not used.
        for note in &setup.geodata.notes {
            eprintln!("tidewatch: {note}");
        }
        Ok(setup)
    }
}
