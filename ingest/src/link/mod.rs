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
pub mod outbox;
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

/// `HOST:PORT[,HOST:PORT…]`: the nodes of a (clustered) broker, in the order a client
/// tries them.
pub fn parse_brokers(s: &str) -> Result<Vec<(String, u16)>> {
    s.split(',').map(|node| parse_broker(node.trim())).collect()
}

/// A password or token kept in a file (never on the command line), without its line end.
pub fn read_secret(file: &std::path::Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the {what} file {}", file.display()))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broker_list_is_every_node_in_order_and_one_bad_node_refuses_the_list() {
        let nodes = parse_brokers("n1:1883, [::1]:1884,10.0.0.3:1885").unwrap();
        assert_eq!(
            nodes,
            [
                ("n1".to_owned(), 1883),
                ("[::1]".to_owned(), 1884),
                ("10.0.0.3".to_owned(), 1885)
            ]
        );
        assert!(parse_brokers("n1:1883,n2").is_err());
        assert!(parse_brokers("n1:1883,").is_err());
    }
}
