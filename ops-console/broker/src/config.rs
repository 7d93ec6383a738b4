//! [`BrokerConfig`]: listeners, accounts and memory bounds of the embedded MQTT broker, and the
//! Mosquitto-compatible [`PasswordHash`] its accounts use.
//!
//! In TOML (`[broker]` section of the Tidewatch config; every field has a default):
//!
//! ```toml
//! listen = "127.0.0.1:1883"       # loopback only: anonymous (raw AIS only) or any account
//! auth_listen = "0.0.0.0:8883"    # optional; username + password required; outside
//!                                 # loopback only with TLS (auth_tls, from the certificate)
//! max_packet_bytes = 1049600
//! max_connections = 1024
//! connect_timeout_secs = 10
//!
//! [log]                          # per subscription filter: segment_bytes × segments
//! segment_bytes = 4194304
//! segments = 4
//!
//! [[users]]                      # on both listeners
//! name = "patrol-7"
//! role = "unit"                   # unit, receiver, ingest, fusion or console
//! password = "$7$100000$<salt, base64>$<PBKDF2-HMAC-SHA512, base64>"
//! ```

use std::collections::HashSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};

/// Configuration of the embedded MQTT broker.
///
/// Like Mosquitto 2, the broker listens on loopback only unless told otherwise, and there it
/// accepts anonymous clients; but not with full access, since another local user's process is
/// not Tidewatch: an anonymous client may publish raw AIS feeds (`tidewatch/v1/raw/ais/...`)
/// and nothing else, and reads nothing. A client that gives a username there is an account
/// like on the authenticated listener (Tidewatch's own services log in even on loopback). The
/// optional authenticated listener requires a username and password from [`users`](Self::users).
/// Every account is held to what its [`Role`] allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// Loopback listener: anonymous clients (raw AIS feeds only) and accounts. Must be a
    /// loopback address; port 0 picks a free port
    /// (see [`Broker::addr`](super::Broker::addr)). Default `127.0.0.1:1883`.
    pub listen: SocketAddr,
    /// Authenticated listener: accounts only. With [`auth_tls`](Self::auth_tls) it speaks
    /// MQTT over TLS (the remote listener of `tidewatch up --mqtt-remote`); without, plain TCP,
    /// which the embedded broker accepts on a loopback address only. `None` (the default)
    /// means no such listener. Port 0 picks a free port.
    pub auth_listen: Option<SocketAddr>,
    /// TLS on the authenticated listener: every connection completes a TLS handshake (within
    /// [`connect_timeout_secs`](Self::connect_timeout_secs), counted in the same
    /// [`max_connections`](Self::max_connections)) before its CONNECT is read. Not in the TOML:
    /// it comes from the certificate files.
    #[serde(skip)]
    pub auth_tls: Option<ListenerTls>,
    /// Accounts (on both listeners).
    pub users: Vec<BrokerUser>,
    /// Largest MQTT packet accepted, in bytes counted after the fixed header (variable header +
    /// payload, the MQTT "remaining length"). A larger packet closes the connection. Default
    /// 1 MiB + 1 KiB. (A CONNECT on the authenticated listener is held to 64 KiB, since it comes
    /// before authentication.)
    pub max_packet_bytes: usize,
    /// Connections accepted at once on each listener; more are closed at once. Default 1024.
    /// On the authenticated listener, once more than half are taken, one address (an IPv6 /64)
    /// may have at most eight not logged in yet; more from it are closed at once
    /// (`address_busy`). The authenticated front buffers at most one packet per connection, so its memory is at
    /// most `max_connections × 64 KiB` before authentication and `max_connections ×
    /// max_packet_bytes` after.
    pub max_connections: usize,
    /// Seconds a new connection has to send its CONNECT (on the TLS listener, to finish its
    /// handshake and send its CONNECT). Default 10.
    pub connect_timeout_secs: u64,
    /// The in-memory message log, the broker's main memory bound.
    pub log: LogLimits,
    /// Accounts whose sessions must see every message they subscribe to at QoS 1, besides the
    /// fusion and console accounts: a publisher's PUBACK waits until they have acknowledged it
    /// (flow control instead of loss; see the embedded broker's hold ledger). Default none.
    pub must_see: Vec<String>,
    /// A publish on a topic a service reads (ingest: raw AIS and the units' lines; fusion and
    /// the console: observations; the console: alerts and taskings) is not forwarded until a
    /// session of each such service has subscribed to it, so none is acknowledged, or lost,
    /// before they listen (`tidewatch up` starts the broker before its services). Default
    /// false.
    pub wait_for_services: bool,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 1883)),
            auth_listen: None,
            auth_tls: None,
            users: Vec::new(),
            max_packet_bytes: DEFAULT_MAX_PACKET_BYTES,
            max_connections: 1024,
            connect_timeout_secs: 10,
            log: LogLimits::default(),
            must_see: Vec::new(),
            wait_for_services: false,
        }
    }
}

/// The TLS server configuration of the authenticated listener (compared by identity: two are
/// equal when they are the same configuration).
#[derive(Clone)]
pub struct ListenerTls(pub Arc<rustls::ServerConfig>);

impl ListenerTls {
    /// MQTT over TLS with `identity` (TLS 1.2 and 1.3). It offers the ALPN protocol `mqtt`
    /// and takes clients that ask for none, but refuses one that asks only for another (a
    /// browser sent to this port with the console's certificate: no cross-protocol use of the
    /// one certificate).
    pub fn from_identity(identity: &ingest::link::tls::Identity) -> anyhow::Result<Self> {
        Ok(ListenerTls(Arc::new(
            identity.server_config_alpn(&[MQTT_ALPN])?,
        )))
    }
}

pub use ingest::link::MQTT_ALPN;

impl PartialEq for ListenerTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ListenerTls {}

impl fmt::Debug for ListenerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListenerTls(..)")
    }
}

/// Default of [`BrokerConfig::max_packet_bytes`]: a 1 MiB payload plus room for the topic.
pub const DEFAULT_MAX_PACKET_BYTES: usize = 1024 * 1024 + 1024;

/// The largest remaining length MQTT can encode (4 bytes of 7 bits).
const MQTT_MAX_REMAINING_LENGTH: usize = 268_435_455;

/// The message log that the broker keeps **per subscription filter**.
///
/// The embedded engine (rumqttd) appends every publish to the log of each subscription filter
/// that matches it, and keeps it there until the log is full, even after every subscriber has
/// read it. A log holds at most `segments` segments of `segment_bytes` each (a segment may
/// overshoot by one message); when the last one is full the oldest segment is dropped, and a
/// subscriber that had not read it yet skips ahead (counted by the engine, not by this broker).
/// A message counts as `4 + topic + payload` bytes; the engine's own per-message overhead adds
/// roughly 170 bytes on top (measured: about 286 bytes of memory per 110-byte NMEA message).
///
/// Bound: `filters × segments × (segment_bytes + max_packet_bytes)` counted bytes, where
/// `filters` is the number of distinct subscription filters ever subscribed (filters are never
/// freed). With the defaults, 16 MiB counted per filter, about 40 MiB of memory for short NMEA
/// messages, and about 12–16 MiB (roughly 100,000 NMEA messages) of history a reconnecting QoS 1
/// subscriber can still catch up on.
///
/// Not covered by this bound, and held down otherwise: the engine's retained messages (one per
/// retained topic; units and receivers may not retain), its topic-to-filter cache (one entry per
/// distinct topic that matched a subscription; units and receivers can invent topics only under
/// their own prefix), and its sessions of disconnected `clean_session = false` clients (one per
/// client id; units and receivers get one each, keyed by username).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogLimits {
    /// Bytes per segment. At least 1024. Default 4 MiB.
    pub segment_bytes: usize,
    /// Segments per filter. At least 1. Default 4.
    pub segments: usize,
}

impl Default for LogLimits {
    fn default() -> Self {
        LogLimits {
            segment_bytes: 4 * 1024 * 1024,
            segments: 4,
        }
    }
}

impl LogLimits {
    /// The counted bytes one subscription filter may hold at most.
    pub fn bytes_per_filter(&self, max_packet_bytes: usize) -> usize {
        self.segments
            .saturating_mul(self.segment_bytes.saturating_add(max_packet_bytes))
    }
}

/// One account of the authenticated listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrokerUser {
    /// Username: 1 to 64 characters from `A-Z a-z 0-9 . _ -`. For a unit it is the unit id
    /// (`patrol/{unit}/`), for a receiver the source id (`raw/ais/{source}`).
    pub name: String,
    /// What the account may do.
    pub role: Role,
    /// The password, hashed (never the password itself).
    pub password: PasswordHash,
}

impl BrokerUser {
    /// An account `name` in `role` with a random password made now (256 bits from the
    /// operating system, URL-safe base64), hashed with `iterations`: the account, and the
    /// credentials its client logs in with (the only copy of the password).
    pub fn generated(
        name: &str,
        role: Role,
        iterations: u32,
    ) -> Result<(BrokerUser, Credentials), getrandom::Error> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)?;
        let password = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let mut salt = [0u8; 12];
        getrandom::fill(&mut salt)?;
        let user = BrokerUser {
            name: name.to_owned(),
            role,
            password: PasswordHash::with_salt(&password, &salt, iterations),
        };
        Ok((
            user,
            Credentials {
                username: name.to_owned(),
                password,
            },
        ))
    }
}

/// What an account may do (the table is in `acl.rs`; none may retain messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A patrol unit: publishes only its `tidewatch/v1/patrol/{name}/nmea` and `…/report`,
    /// subscribes only to its `…/tasking` and `…/rejects`.
    Unit,
    /// An AIS receiver or feed: publishes only to `tidewatch/v1/raw/ais/{name}`, subscribes to
    /// nothing.
    Receiver,
    /// The ingest service: subscribes to the raw feeds and the units' NMEA and reports,
    /// publishes observations (`tidewatch/v1/obs/...`) and the units' `…/rejects`.
    Ingest,
    /// The fusion service: subscribes to observations, publishes alerts
    /// (`tidewatch/v1/alerts/{kind}`) and taskings (`tidewatch/v1/patrol/{unit}/tasking`).
    Fusion,
    /// The console: subscribes to observations, alerts and taskings, publishes nothing.
    Console,
}

/// A username and password for a client of the broker, in clear: what a client sends, never
/// what the broker keeps. `Debug` does not show the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The username.
    pub username: String,
    /// The password.
    pub password: String,
}

impl Credentials {
    /// As the `(username, password)` pair the services' configurations take.
    pub fn pair(&self) -> (String, String) {
        (self.username.clone(), self.password.clone())
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// PBKDF2 iterations of the hash of a [generated](BrokerConfig::add_generated_user) password.
/// Iterations slow down the guessing of a password a person chose; 256 random bits cannot be
/// guessed however fast each guess is, and every CONNECT of the services pays for them.
pub const GENERATED_ITERATIONS: u32 = 1;

/// Why a [`BrokerConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The anonymous listener must be on loopback.
    #[error(
        "broker.listen {0} is not a loopback address; anonymous clients are accepted on loopback only (use auth_listen for other interfaces)"
    )]
    NotLoopback(SocketAddr),
    /// Both listeners on the same address.
    #[error("broker.listen and broker.auth_listen are both {0}")]
    SameAddress(SocketAddr),
    /// A plain (unencrypted) authenticated listener outside loopback.
    #[error(
        "broker.auth_listen {0} is not a loopback address and has no TLS; passwords never cross a network in clear (give the listener a certificate)"
    )]
    PlainRemote(SocketAddr),
    /// A username outside the allowed alphabet or length.
    #[error("broker user {0:?}: a name is 1 to 64 characters from A-Z a-z 0-9 . _ -")]
    BadUserName(String),
    /// Two accounts with the same name.
    #[error("broker user {0:?} is listed twice")]
    DuplicateUser(String),
    /// A limit out of range.
    #[error("broker.{field} = {value}: {expected}")]
    Limit {
        /// The field.
        field: &'static str,
        /// Its value.
        value: u64,
        /// What it should be.
        expected: &'static str,
    },
}

impl BrokerConfig {
    /// Adds an account `name` in `role` with a random password made now (256 bits from the
    /// operating system), and returns the credentials its client logs in with. The broker keeps
    /// only the hash; the password lives where the caller keeps it (in memory, for the services
    /// `tidewatch up` runs in its own process). The name is checked by [`validate`](Self::validate).
    pub fn add_generated_user(
        &mut self,
        name: &str,
        role: Role,
    ) -> Result<Credentials, getrandom::Error> {
        let (user, login) = BrokerUser::generated(name, role, GENERATED_ITERATIONS)?;
        self.users.push(user);
        Ok(login)
    }

    /// Checks everything [`Broker::start`](super::Broker::start) and the
    /// Mosquitto writer rely on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.listen.ip().is_loopback() {
            return Err(ConfigError::NotLoopback(self.listen));
        }
        if let Some(a) = self.auth_listen
            && a == self.listen
            && a.port() != 0
        {
            return Err(ConfigError::SameAddress(a));
        }
        let mut seen = HashSet::new();
        for u in &self.users {
            if !is_user_name(&u.name) {
                return Err(ConfigError::BadUserName(u.name.clone()));
            }
            if !seen.insert(u.name.as_str()) {
                return Err(ConfigError::DuplicateUser(u.name.clone()));
            }
        }
        let limit = |field, value: usize, ok: bool, expected| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::Limit {
                    field,
                    value: value as u64,
                    expected,
                })
            }
        };
        limit(
            "max_packet_bytes",
            self.max_packet_bytes,
            (64..=MQTT_MAX_REMAINING_LENGTH).contains(&self.max_packet_bytes),
            "between 64 and 268435455",
        )?;
        limit(
            "max_connections",
            self.max_connections,
            (1..=65_536).contains(&self.max_connections),
            "between 1 and 65536",
        )?;
        limit(
            "connect_timeout_secs",
            self.connect_timeout_secs as usize,
            (1..=60).contains(&self.connect_timeout_secs),
            "between 1 and 60",
        )?;
        // rumqttd panics on a segment under 1 KiB or on zero segments.
        limit(
            "log.segment_bytes",
            self.log.segment_bytes,
            self.log.segment_bytes >= 1024,
            "at least 1024",
        )?;
        limit(
            "log.segments",
            self.log.segments,
            (1..=1024).contains(&self.log.segments),
            "between 1 and 1024",
        )?;
        Ok(())
    }

    /// [`connect_timeout_secs`](Self::connect_timeout_secs) as a `Duration`.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs)
    }
}

/// Is `name` a valid username: 1 to 64 characters from `A-Z a-z 0-9 . _ -`? Such a name is a
/// safe topic level, a safe Mosquitto password/ACL file token, and never a wildcard.
pub fn is_user_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A salted password hash in Mosquitto 2's `$7$` format:
/// `$7${iterations}${base64 salt}${base64 PBKDF2-HMAC-SHA512(password, salt, iterations)}`,
/// the format `mosquitto_passwd` writes by default.
///
/// One format for both brokers: the same [`BrokerConfig`] drives the embedded broker and a
/// Mosquitto deployment ([`super::mosquitto`]), and a hash made by `mosquitto_passwd` works here.
/// (Argon2 would be the stronger KDF, but Mosquitto cannot read it.) Broker accounts are machine
/// accounts; give them long random passwords and the KDF cost matters little.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PasswordHash {
    iterations: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

/// PBKDF2 iterations of [`PasswordHash::generate`]. Mosquitto's own default is 101.
pub const DEFAULT_ITERATIONS: u32 = 100_000;

/// Largest iteration count accepted when parsing, so a config cannot stall every CONNECT.
const MAX_ITERATIONS: u32 = 10_000_000;

/// A string that is not a `$7$` password hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "not a Mosquitto $7$ password hash ($7$iterations$salt$hash, base64, 1 to 10000000 iterations, 12- or 64-byte salt, 64-byte hash): {0}"
)]
pub struct PasswordHashError(&'static str);

impl PasswordHash {
    /// Hashes `password` with a random 12-byte salt and [`DEFAULT_ITERATIONS`].
    pub fn generate(password: &str) -> Result<Self, getrandom::Error> {
        let mut salt = [0u8; 12];
        getrandom::fill(&mut salt)?;
        Ok(Self::with_salt(password, &salt, DEFAULT_ITERATIONS))
    }

    /// Hashes `password` with the given salt and iteration count (at least 1). Mosquitto reads
    /// 12-byte salts (and 64-byte ones).
    pub fn with_salt(password: &str, salt: &[u8; 12], iterations: u32) -> Self {
        let iterations = iterations.max(1);
        PasswordHash {
            iterations,
            salt: salt.to_vec(),
            hash: derive(password.as_bytes(), salt, iterations).to_vec(),
        }
    }

    /// Does `password` match? Compares in constant time. Costs `iterations` HMAC rounds, so call
    /// it off the async executor.
    pub fn verify(&self, password: &[u8]) -> bool {
        let got = derive(password, &self.salt, self.iterations);
        got.len() == self.hash.len()
            && got
                .iter()
                .zip(&self.hash)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The PBKDF2 iteration count.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }
}

fn derive(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 64] {
    let mut out = [0u8; 64];
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(password, salt, iterations, &mut out);
    out
}

impl FromStr for PasswordHash {
    type Err = PasswordHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest = s
            .strip_prefix("$7$")
            .ok_or(PasswordHashError("no $7$ prefix"))?;
        let mut parts = rest.split('$');
        let (Some(it), Some(salt), Some(hash), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(PasswordHashError("expected three $-separated fields"));
        };
        let iterations: u32 = it
            .parse()
            .map_err(|_| PasswordHashError("bad iteration count"))?;
        if !(1..=MAX_ITERATIONS).contains(&iterations) {
            return Err(PasswordHashError("iteration count out of range"));
        }
        let salt = BASE64
            .decode(salt)
            .map_err(|_| PasswordHashError("salt is not base64"))?;
        let hash = BASE64
            .decode(hash)
            .map_err(|_| PasswordHashError("hash is not base64"))?;
        // Mosquitto reads nothing else (password_mosq.c).
        if salt.len() != 12 && salt.len() != 64 {
            return Err(PasswordHashError("salt is not 12 or 64 bytes"));
        }
        if hash.len() != 64 {
            return Err(PasswordHashError("hash is not 64 bytes"));
        }
        Ok(PasswordHash {
            iterations,
            salt,
            hash,
        })
    }
}

impl fmt::Display for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$7${}${}${}",
            self.iterations,
            BASE64.encode(&self.salt),
            BASE64.encode(&self.hash)
        )
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PasswordHash($7${}$…)", self.iterations)
    }
}

impl TryFrom<String> for PasswordHash {
    type Error = PasswordHashError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<PasswordHash> for String {
    fn from(h: PasswordHash) -> String {
        h.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by `mosquitto_passwd -b FILE alice secret` (mosquitto 2.0.11).
    const MOSQUITTO_ALICE: &str = "$7$101$oG03XaSPeuljNr8T$wiGv2t5MAmkatKNS+lHxH/qqvRTNXHasvIS2kaFlLvRsL47uOiKcIoaV4pQCYVredQ5cv+RoR1VDkdbHgr9JWg==";

    #[test]
    fn verifies_a_hash_written_by_mosquitto_passwd() {
        let h: PasswordHash = MOSQUITTO_ALICE.parse().unwrap();
        assert_eq!(h.iterations(), 101);
        assert!(h.verify(b"secret"));
        assert!(!h.verify(b"Secret"));
        assert!(!h.verify(b""));
        assert_eq!(h.to_string(), MOSQUITTO_ALICE);
    }

    #[test]
    fn generated_hash_round_trips() {
        let h = PasswordHash::with_salt("pw", b"0123456789ab", 10);
        let back: PasswordHash = h.to_string().parse().unwrap();
        assert_eq!(back, h);
        assert!(back.verify(b"pw"));
        let r = PasswordHash::generate("pw").unwrap();
        assert_eq!(r.iterations(), DEFAULT_ITERATIONS);
        assert_ne!(r.salt, h.salt);
    }

    #[test]
    fn rejects_other_hash_strings() {
        for bad in [
            "",
            "secret",
            "$6$abc$def",
            "$7$0$oG03XaSPeuljNr8T$wiGv",
            "$7$101$oG03XaSPeuljNr8T$wiGv",
            "$7$x$oG03XaSPeuljNr8T$wiGv",
            "$7$101$c2FsdA==$wiGv2t5MAmkatKNS+lHxH/qqvRTNXHasvIS2kaFlLvRsL47uOiKcIoaV4pQCYVredQ5cv+RoR1VDkdbHgr9JWg==",
            "$7$101$$wiGv2t5MAmkatKNS+lHxH/qqvRTNXHasvIS2kaFlLvRsL47uOiKcIoaV4pQCYVredQ5cv+RoR1VDkdbHgr9JWg==",
            "$7$99999999999$oG03XaSPeuljNr8T$wiGv2t5MAmkatKNS+lHxH/qqvRTNXHasvIS2kaFlLvRsL47uOiKcIoaV4pQCYVredQ5cv+RoR1VDkdbHgr9JWg==",
            "$7$101$oG03XaSPeuljNr8T$wiGv2t5MAmkatKNS+lHxH/qqvRTNXHasvIS2kaFlLvRsL47uOiKcIoaV4pQCYVredQ5cv+RoR1VDkdbHgr9JWg==$x",
        ] {
            assert!(bad.parse::<PasswordHash>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn config_from_json_with_defaults_and_unknown_fields_refused() {
        let cfg: BrokerConfig = serde_json::from_value(serde_json::json!({
            "auth_listen": "0.0.0.0:1884",
            "users": [{"name": "patrol-7", "role": "unit", "password": MOSQUITTO_ALICE}],
        }))
        .unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:1883".parse().unwrap());
        assert_eq!(cfg.log, LogLimits::default());
        assert_eq!(cfg.users[0].role, Role::Unit);
        cfg.validate().unwrap();
        let err = serde_json::from_value::<BrokerConfig>(serde_json::json!({"listn": "x"}));
        assert!(err.is_err());
        let err = serde_json::from_value::<BrokerConfig>(serde_json::json!({
            "users": [{"name": "a", "role": "unit", "password": "plain"}],
        }));
        assert!(err.unwrap_err().to_string().contains("$7$"));
    }

    #[test]
    fn a_generated_account_verifies_only_its_own_random_password() {
        let mut cfg = BrokerConfig::default();
        let a = cfg
            .add_generated_user("tidewatch.ingest", Role::Ingest)
            .unwrap();
        let b = cfg
            .add_generated_user("tidewatch.fusion", Role::Fusion)
            .unwrap();
        cfg.validate().unwrap();
        assert_ne!(a.password, b.password);
        assert!(a.password.len() >= 43, "{}", a.password);
        assert!(cfg.users[0].password.verify(a.password.as_bytes()));
        assert!(!cfg.users[0].password.verify(b.password.as_bytes()));
        assert_eq!(cfg.users[1].role, Role::Fusion);
        assert!(!format!("{a:?}").contains(&a.password));
    }

    #[test]
    fn validation() {
        let ok = BrokerConfig::default();
        ok.validate().unwrap();
        let user = |name: &str| BrokerUser {
            name: name.into(),
            role: Role::Unit,
            password: PasswordHash::with_salt("x", b"salt-salt-12", 1),
        };
        let cases = [
            BrokerConfig {
                listen: "0.0.0.0:1883".parse().unwrap(),
                ..ok.clone()
            },
            BrokerConfig {
                auth_listen: Some(ok.listen),
                ..ok.clone()
            },
            BrokerConfig {
                users: vec![user("a/b")],
                ..ok.clone()
            },
            BrokerConfig {
                users: vec![user("+")],
                ..ok.clone()
            },
            BrokerConfig {
                users: vec![user("")],
                ..ok.clone()
            },
            BrokerConfig {
                users: vec![user("a"), user("a")],
                ..ok.clone()
            },
            BrokerConfig {
                log: LogLimits {
                    segment_bytes: 100,
                    segments: 4,
                },
                ..ok.clone()
            },
            BrokerConfig {
                log: LogLimits {
                    segment_bytes: 4096,
                    segments: 0,
                },
                ..ok.clone()
            },
            BrokerConfig {
                max_packet_bytes: 0,
                ..ok.clone()
            },
        ];
        for c in cases {
            assert!(c.validate().is_err(), "{c:?}");
        }
    }
}
