//! The patrol client's arguments: the same for `tidewatch patrol` and `tidewatch-patrol`.

use std::path::PathBuf;

/// Arguments of `tidewatch patrol` and `tidewatch-patrol`.
#[derive(Debug, clap::Args)]
pub struct PatrolArgs {
    /// The unit's id (its topics are `tidewatch/v1/patrol/{ID}/...`); with `--credentials`,
    /// the file's (and if given, it must be the file's).
    #[arg(long, value_name = "ID", required_unless_present = "credentials")]
    pub unit: Option<String>,
    /// The credentials file made at the centre by `tidewatch unit add ID`: the unit id, its
    /// password, the centre's broker address(es) and the fingerprint of the certificate to pin.
    /// The link is then MQTT over TLS, trusting that certificate only.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["user", "password_file", "pin"])]
    pub credentials: Option<PathBuf>,
    /// Connect with TLS, trusting only the certificate with this SHA-256 fingerprint
    /// (`AB:CD:…`, as `tidewatch up` prints it), with `--broker`, `--user`, `--password-file`.
    /// Without `--pin` or `--credentials`, plain MQTT, to a loopback address only.
    #[arg(long, value_name = "FINGERPRINT")]
    pub pin: Option<String>,
    /// Where the ship's NMEA comes from: `tcp://IP:PORT` (a multiplexer or the radar's
    /// server), `udp://IP:PORT` (listen), or a serial device or file path (repeatable; set a
    /// serial device's speed first, e.g. `stty -F /dev/ttyUSB0 4800 raw`).
    #[arg(long, value_name = "SOURCE", required_unless_present = "add_crew")]
    pub nmea: Vec<crate::NmeaSource>,
    /// The broker, `HOST:PORT` (repeatable: tried in turn when one cannot be reached); default
    /// the credentials file's addresses, or `127.0.0.1:1883`.
    #[arg(long, value_name = "HOST:PORT")]
    pub broker: Vec<String>,
    /// User name at the broker (default: the unit id).
    #[arg(long, value_name = "NAME", requires = "password_file")]
    pub user: Option<String>,
    /// File holding the password (never on the command line, where `ps` shows it).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// MQTT client id (default `tidewatch-patrol-{ID}`); keep it stable: it names the session.
    /// A bus made by `tidewatch deploy` lets a unit hold that default session only.
    #[arg(long)]
    pub client_id: Option<String>,
    /// Data directory: the queue (`outbox/`) and the taskings received (`taskings.jsonl`).
    #[arg(long, value_name = "DIR", default_value = "tidewatch-patrol")]
    pub data: PathBuf,
    /// Most disk the queue may take, in MiB; past it the oldest unsent lines are discarded
    /// (counted and logged).
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    pub queue_max_mb: u64,
    /// MQTT keep-alive in seconds: a dead link is noticed within about 1.5 times this.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub keep_alive_secs: u64,
    /// Serve the crew's web interface here (`0.0.0.0:8443` for the ship's network), over
    /// HTTPS: with `--web-cert`/`--web-key`, else a self-signed certificate kept in
    /// `DIR/tls/` (its fingerprint printed, to check on the tablets once).
    #[arg(long, value_name = "ADDR")]
    pub web: Option<std::net::SocketAddr>,
    /// The interface's certificate (PEM), with `--web-key`.
    #[arg(long, value_name = "FILE", requires = "web_key")]
    pub web_cert: Option<PathBuf>,
    /// The interface's private key (PEM), with `--web-cert`.
    #[arg(long, value_name = "FILE", requires = "web_cert")]
    pub web_key: Option<PathBuf>,
    /// Add a crew account to the interface and make the officer's signing key, then exit: the
    /// password is read from the first line of standard input; the public key printed is
    /// registered at the centre (`tidewatch user sea-key NAME KEY --unit ID`).
    #[arg(long, value_name = "NAME", requires = "crew_role")]
    pub add_crew: Option<String>,
    /// The new account's role on board: commander, boarding_officer or bridge.
    #[arg(long, value_name = "ROLE")]
    pub crew_role: Option<crate::crew::CrewRole>,
}
