//! How a client reaches the centre's broker over a network it does not trust: broker
//! addresses, the secrets kept in files, the credentials a patrol unit or receiver carries,
//! TLS (the centre's identity, and clients that pin its certificate), and the client shell
//! every MQTT client of Tidewatch shares ([`client`]: options, socket, reconnect policy).
//!
//! ```text
//!  tidewatch unit add cp-301 ──▶ credentials file (id, password, brokers, fingerprint)
//!        ──carried to the vessel──▶ tidewatch-patrol --credentials ──TLS, pinned──▶ broker
//! ```

pub mod client;
pub mod credentials;
pub mod tls;

use anyhow::{Context, Result, bail};

pub use credentials::{CredentialsFile, Kind, check_name};

/// The ALPN protocol id of MQTT (IANA).
pub const MQTT_ALPN: &[u8] = b"mqtt";

/// `HOST:PORT` of a broker, split (the host may be a name, an IPv4 address or a bracketed
/// IPv6 address).
pub fn parse_broker(s: &str) -> Result<(String, u16)> {
    let (host, port) = s
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
        .with_context(|| format!("--broker {s:?}: expected HOST:PORT"))?;
    if host.is_empty() {
        bail!("--broker {s:?}: the host is empty");
    }
    Ok((host, port))
}

/// A password or token kept in a file (never on the command line), without its line end.
pub fn read_secret(file: &std::path::Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the {what} file {}", file.display()))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}
