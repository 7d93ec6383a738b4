//! `tidewatch unit|receiver add|list|revoke` (the broker identities of patrol units and AIS
//! receivers, in [`tidewatch_broker::identities`]) and `tidewatch broker mosquitto-config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;

use ingest::link::parse_broker;
use ingest::link::tls::{self, Identity};
use tidewatch_broker::identities::{CredentialsFile, Kind, RemoteListener, Store, credentials_dir};
use tidewatch_broker::mosquitto::{MosquittoTls, write_config_tls};
use tidewatch_broker::{BrokerConfig, BrokerUser, GENERATED_ITERATIONS, Role};

/// The port of MQTT over TLS (IANA), where `unit add` says vessels reach the centre when
/// nothing else is known.
pub const MQTTS_PORT: u16 = 8883;

/// Arguments of `unit` and `receiver`.
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    /// Data directory (the store is `DIR/broker/identities.toml`, credentials files go to
    /// `DIR/credentials/`).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "tidewatch-data",
        global = true
    )]
    pub data: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub action: IdentityAction,
}

/// `unit` and `receiver` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum IdentityAction {
    /// Create the identity with a random password (stored hashed) and write its credentials
    /// file, readable by you only, to carry to the vessel or receiver: the id, the password,
    /// the centre's broker address(es) and the certificate's fingerprint. A running `tidewatch
    /// up` accepts it within a second.
    Add {
        /// Unit id or receiver name: 1–32 characters of a-z, 0-9, '-' and '_'.
        name: String,
        /// Where vessels and receivers reach the centre's broker (`--mqtt-remote` of `up`, or
        /// Mosquitto's TLS listener), repeatable; default the host name of this machine and the
        /// port of `up --mqtt-remote` (8883 if it never ran).
        #[arg(long = "broker-address", value_name = "HOST:PORT")]
        broker_address: Vec<String>,
        /// The certificate the broker serves, when it is not the self-signed one in `DIR/tls/`
        /// (the same `--tls-cert` as `up`'s).
        #[arg(long, value_name = "FILE")]
        tls_cert: Option<PathBuf>,
        /// Where to write the credentials file (default `DIR/credentials/NAME.toml`).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// List the identities, active and revoked.
    List,
    /// Revoke the identity: its password no longer logs in, and a running `tidewatch up` closes
    /// its live connections at once. `add` issues new credentials under the same name.
    Revoke {
        /// Unit id or receiver name.
        name: String,
    },
}

/// `tidewatch unit ...` (`kind` unit) and `tidewatch receiver ...`.
pub fn run(kind: Kind, args: &IdentityArgs) -> Result<()> {
    let store = Store::new(&args.data);
    match &args.action {
        IdentityAction::Add {
            name,
            broker_address,
            tls_cert,
            out,
        } => {
            let (fingerprint, certificate) =
                centre_certificate(&args.data, tls_cert.as_deref(), broker_address)?;
            let brokers = match broker_address.is_empty() {
                false => broker_address.clone(),
                true => vec![default_broker_address(&args.data)?],
            };
            for b in &brokers {
                parse_broker(b).with_context(|| format!("--broker-address {b}"))?;
            }
            let (identity, login) = store.add(kind, name)?;
            let file = CredentialsFile {
                kind,
                id: identity.name.clone(),
                username: login.username.clone(),
                password: login.password.clone(),
                brokers: brokers.clone(),
                fingerprint: fingerprint.clone(),
                issued: identity.created,
                certificate: Some(certificate),
            };
            let path = out
                .clone()
                .unwrap_or_else(|| credentials_dir(&args.data).join(format!("{name}.toml")));
            file.write(&path)?;
            println!(
                "{kind} {name} created; credentials in {} (readable by you only: carry it to the {} and delete it here)\n  broker       -> {} (MQTT over TLS)\n  certificate  -> SHA-256 {fingerprint}",
                path.display(),
                match kind {
                    Kind::Unit => "vessel",
                    Kind::Receiver => "receiver",
                },
                brokers.join(", "),
            );
            if kind == Kind::Unit {
                println!(
                    "  on board     -> tidewatch patrol --credentials {name}.toml --nmea SOURCE"
                );
            }
            if broker_address.is_empty() {
                println!(
                    "  (vessels reach the centre at {}? if not, revoke and add again with --broker-address HOST:PORT)",
                    brokers.join(", ")
                );
            }
        }
        IdentityAction::List => {
            println!(
                "{:<32} {:<9} {:<22} REVOKED UTC",
                "NAME", "KIND", "ISSUED UTC"
            );
            for i in store.load()?.iter().filter(|i| i.kind == kind) {
                println!(
                    "{:<32} {:<9} {:<22} {}",
                    i.name,
                    i.kind,
                    i.created.strftime("%Y-%m-%d %H:%M:%S"),
                    i.revoked.map_or("-".to_owned(), |t| t
                        .strftime("%Y-%m-%d %H:%M:%S")
                        .to_string())
                );
            }
        }
        IdentityAction::Revoke { name } => {
            let at = store.revoke(kind, name)?;
            println!(
                "{kind} {name} revoked at {at}; a running tidewatch up closes its connections within a second (a Mosquitto deployment: run tidewatch broker mosquitto-config again and reload Mosquitto)"
            );
        }
    }
    Ok(())
}

/// The fingerprint and PEM of the certificate the centre's broker serves: `--tls-cert`'s, or
/// the self-signed one in `DATA/tls/` (made now if there is none, as `up` would). Refused when
/// `up --mqtt-remote` last served another certificate: a unit would be sent to sea with a pin
/// that fails.
fn centre_certificate(
    data: &Path,
    cert: Option<&Path>,
    brokers: &[String],
) -> Result<(String, String)> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let path = match cert {
        Some(p) => p.to_owned(),
        None => {
            let names: Vec<String> = brokers
                .iter()
                .filter_map(|b| parse_broker(b).ok())
                .map(|(h, _)| h.trim_matches(['[', ']']).to_owned())
                .chain(tls::names_for(&SocketAddr::from(([0, 0, 0, 0], 0))))
                .collect();
            Identity::self_signed_in(&tls::default_dir(data), &names)?;
            tls::default_dir(data).join("cert.pem")
        }
    };
    let leaf = CertificateDer::pem_file_iter(&path)
        .with_context(|| format!("{}: cannot read the certificate", path.display()))?
        .next()
        .with_context(|| format!("{}: no certificate in it", path.display()))?
        .with_context(|| format!("{}: not a PEM certificate", path.display()))?;
    let fingerprint = tls::fingerprint(&leaf);
    if let Some(served) = RemoteListener::read(data)?
        && served.fingerprint != fingerprint
    {
        bail!(
            "the broker's remote listener (tidewatch up --mqtt-remote {}) serves the certificate {}, not {} ({}): give the same --tls-cert as up",
            served.address,
            served.fingerprint,
            fingerprint,
            path.display()
        );
    }
    let pem = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok((fingerprint, pem))
}

/// `HOSTNAME:PORT`, the port of the remote listener `up` last ran (8883 if none).
fn default_broker_address(data: &Path) -> Result<String> {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    let port = RemoteListener::read(data)?
        .map(|r| r.address.port())
        .filter(|p| *p != 0)
        .unwrap_or(MQTTS_PORT);
    Ok(format!("{host}:{port}"))
}

/// Arguments of `broker`.
#[derive(Debug, clap::Args)]
pub struct BrokerArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: BrokerAction,
}

/// `broker` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BrokerAction {
    /// Write a Mosquitto 2 configuration (`DIR/mosquitto.conf`, `passwd`, `acl`, `cert.pem`,
    /// `key.pem`) with the embedded broker's policy: the units and receivers of the identity
    /// store and the services (ingest, fusion, console: their passwords in
    /// `DIR/{service}.password`, kept when the command runs again), each allowed only its own
    /// topics; a TLS listener for units and receivers with the same certificate as `up`; the
    /// anonymous loopback listener with raw-AIS-only rights. Run it again after `unit add` or
    /// `revoke`, then reload Mosquitto (SIGHUP).
    MosquittoConfig {
        /// The directory to write into (made if missing).
        dir: PathBuf,
        /// Data directory (the identity store, `DIR/tls/`).
        #[arg(long, value_name = "DIR", default_value = "tidewatch-data")]
        data: PathBuf,
        /// Mosquitto's loopback listener.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:1883")]
        listen: SocketAddr,
        /// Mosquitto's TLS listener for units and receivers.
        #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:8883")]
        remote: SocketAddr,
        /// The certificate and key.
        #[command(flatten)]
        tls: crate::cli::TlsArgs,
    },
}

/// The services' usernames at a broker and the files `mosquitto-config` keeps their
/// passwords in.
pub const SERVICES: [(&str, Role, &str); 3] = [
    (crate::cmd::up::INGEST_USER, Role::Ingest, "ingest.password"),
    (crate::cmd::up::FUSION_USER, Role::Fusion, "fusion.password"),
    (
        crate::cmd::up::CONSOLE_USER,
        Role::Console,
        "console.password",
    ),
];

/// `tidewatch broker ...`.
pub fn run_broker(args: &BrokerArgs) -> Result<()> {
    let BrokerAction::MosquittoConfig {
        dir,
        data,
        listen,
        remote,
        tls: tls_args,
    } = &args.action;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (cert, key) = match tls_args.files() {
        Some((c, k)) => {
            Identity::load(c, k)?;
            (c.to_owned(), k.to_owned())
        }
        None => {
            let d = tls::default_dir(data);
            Identity::self_signed_in(&d, &tls::names_for(remote))?;
            (d.join("cert.pem"), d.join("key.pem"))
        }
    };
    let fingerprint = Identity::load(&cert, &key)?.fingerprint();
    let mut cfg = BrokerConfig {
        listen: *listen,
        auth_listen: Some(*remote),
        ..BrokerConfig::default()
    };
    let mut services = Vec::new();
    for (user, role, file) in SERVICES {
        let path = dir.join(file);
        let password = match std::fs::read_to_string(&path) {
            Ok(p) if !p.trim().is_empty() => p.trim().to_owned(),
            _ => {
                let (_, login) = BrokerUser::generated(user, role, GENERATED_ITERATIONS)
                    .map_err(|e| anyhow::anyhow!("no randomness for a password: {e}"))?;
                let _ = std::fs::remove_file(&path);
                tls::write_private(&path, format!("{}\n", login.password).as_bytes())?;
                login.password
            }
        };
        let mut salt = [0u8; 12];
        getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        cfg.users.push(BrokerUser {
            name: user.to_owned(),
            role,
            password: tidewatch_broker::PasswordHash::with_salt(
                &password,
                &salt,
                tidewatch_broker::identities::STORED_ITERATIONS,
            ),
        });
        services.push((user, path));
    }
    let identities = Store::new(data).load()?;
    let (active, revoked) = tidewatch_broker::identities::broker_users(&identities);
    cfg.users.extend(active.iter().cloned());
    let files = write_config_tls(&cfg, dir, Some(&MosquittoTls { cert, key }))?;
    println!(
        "Mosquitto configuration written: mosquitto -c {}\n  loopback     -> {listen} (anonymous: publish raw AIS only; services log in)\n  TLS          -> {remote} (units and receivers; certificate SHA-256 {fingerprint})\n  identities   -> {} active, {} revoked (left out) as of {}",
        files.config.display(),
        active.len(),
        revoked.len(),
        Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC"),
    );
    for (user, path) in services {
        println!(
            "  service      -> --user {user} --password-file {}",
            path.display()
        );
    }
    println!(
        "  (Mosquitto reads these files as the user it runs as: make them readable by it; after unit/receiver add or revoke, run this again and reload Mosquitto: kill -HUP)"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_17_tls_unit_add_refuses_a_certificate_the_remote_listener_does_not_serve() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path();
        // No `up` ever ran here: the self-signed certificate is made, as up would make it.
        let (fingerprint, pem) = centre_certificate(data, None, &[]).unwrap();
        assert!(pem.contains("BEGIN CERTIFICATE"));
        assert_eq!(
            Identity::self_signed_in(&tls::default_dir(data), &[])
                .unwrap()
                .fingerprint(),
            fingerprint
        );
        // `up --mqtt-remote` served it: the port is the one vessels are given by default.
        RemoteListener {
            address: "0.0.0.0:18883".parse().unwrap(),
            fingerprint: fingerprint.clone(),
        }
        .write(data)
        .unwrap();
        assert!(default_broker_address(data).unwrap().ends_with(":18883"));
        assert_eq!(centre_certificate(data, None, &[]).unwrap().0, fingerprint);
        // It served another (the operator's own certificate): a unit would go to sea with a
        // pin that fails, so nothing is issued.
        RemoteListener {
            address: "0.0.0.0:8883".parse().unwrap(),
            fingerprint: format!(
                "{}{}",
                if fingerprint.starts_with('0') {
                    '1'
                } else {
                    '0'
                },
                &fingerprint[1..]
            ),
        }
        .write(data)
        .unwrap();
        let e = centre_certificate(data, None, &[]).unwrap_err();
        assert!(
            format!("{e:#}").contains("give the same --tls-cert as up"),
            "{e:#}"
        );
    }
}
