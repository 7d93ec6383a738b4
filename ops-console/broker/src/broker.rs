//! [`Broker`]: rumqttd on the caller's tokio runtime, behind the fronts of
//! [`super::front`]. This is the only file that names rumqttd.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rumqttd::protocol::v4::V4;
use rumqttd::{Acceptor, ConnectionSettings, Router, RouterConfig, Server, ServerSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tracing::info;

use super::config::{BrokerConfig, BrokerUser, ConfigError};
use super::front::{AccountsUpdate, AuthPolicy, Front, Listener, serve, update_accounts};
use super::hold::Ledger;
use super::packet::{Connect, encode_connect};
use super::stats::{BrokerStats, Counters};

/// How long the engine has to answer a probe CONNECT after being spawned.
const ENGINE_READY_TIMEOUT: Duration = Duration::from_secs(5);
/// The fronts' username at the engine (their password is made at start).
const ENGINE_USER: &str = "tidewatch-front";

/// Why [`Broker::start`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The configuration is not acceptable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not be opened.
    #[error("MQTT broker: cannot listen on {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// What the OS said.
        source: io::Error,
    },
    /// The engine did not come up.
    #[error("MQTT broker: the engine did not start: {0}")]
    Engine(String),
}

/// The embedded MQTT broker of `tidewatch up`.
///
/// ```text
///  local clients ──▶ listen (127.0.0.1: anonymous = raw AIS only,   ─┐
///                    or an account; CONNECT checked, ACL per packet) ├─▶ engine (rumqttd), an
///  units, feeds  ──▶ auth_listen (TLS when auth_tls, then username   │   in-process pipe per
///                    + password, CONNECT checked, ACL per packet) ───┘   connection, no port
/// ```
///
/// Accounts can be added and revoked while it runs ([`Broker::accounts`]); a revoked
/// account's connections are closed at once.
///
/// Everything but the engine's router runs as tasks on the caller's tokio runtime. The engine
/// listens on no port: each client connection the fronts admit reaches it through an
/// in-process pipe, on which the front logs in with a password made at start and kept in
/// memory (so that, should the engine ever be given a listener, nothing but the fronts gets
/// in). See [`BrokerConfig`] for the listeners, accounts and memory bound, and
/// [`super::Refusal`] for what the fronts refuse. Dropping the broker stops it like
/// [`shutdown`](Self::shutdown), without waiting.
#[derive(Debug)]
pub struct Broker {
    addr: SocketAddr,
    auth_addr: Option<SocketAddr>,
    counters: Arc<Counters>,
    /// Who has what, for held PUBACKs.
    ledger: Arc<Ledger>,
    /// The accounts, changeable while the broker runs.
    accounts: Accounts,
    /// The fronts' accept loops and the ledger's sweeper. Each accept loop owns the tasks of its
    /// connections, so aborting this set closes every listener and every client connection.
    tasks: JoinSet<()>,
}

impl Broker {
    /// Starts the broker on the current tokio runtime: opens the listeners (reporting the address
    /// actually bound, so port 0 works), starts the engine, and returns once the engine answers
    /// an MQTT CONNECT.
    pub async fn start(cfg: BrokerConfig) -> Result<Self, BrokerError> {
        cfg.validate()?;
        if let Some(a) = cfg.auth_listen
            && cfg.auth_tls.is_none()
            && !a.ip().is_loopback()
        {
            return Err(ConfigError::PlainRemote(a).into());
        }
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .and_then(|l| Ok((l.local_addr()?, l)))
                .map_err(|source| BrokerError::Bind { addr, source })
        };
        let (addr, loopback) = bind(cfg.listen).await?;
        let auth = match cfg.auth_listen {
            Some(a) => Some(bind(a).await?),
            None => None,
        };

        let mut tasks = JoinSet::new();
        let engine_login = (ENGINE_USER.to_owned(), engine_secret()?);
        let engine = start_engine(&cfg, &engine_login).await?;
        let counters = Arc::new(Counters::default());
        let ledger = Arc::new(Ledger::new(cfg.must_see.clone(), cfg.wait_for_services));
        let front = Arc::new(Front::new(
            engine,
            engine_login,
            counters.clone(),
            cfg.max_connections,
            ledger.clone(),
        ));
        let sweeper = ledger.clone();
        tasks.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                sweeper.sweep(std::time::Instant::now());
            }
        });
        let policy = Arc::new(AuthPolicy::new(&cfg));
        tasks.spawn(serve(
            loopback,
            front.clone(),
            policy.clone(),
            Listener::Loopback,
            None,
        ));
        let accounts = Accounts {
            front: front.clone(),
            policy: policy.clone(),
        };
        let tls = cfg
            .auth_tls
            .as_ref()
            .map(|t| tokio_rustls::TlsAcceptor::from(t.0.clone()));
        let auth_addr = auth.map(|(auth_addr, listener)| {
            tasks.spawn(serve(listener, front, policy, Listener::Auth, tls));
            auth_addr
        });
        info!(%addr, auth_addr = ?auth_addr, tls = cfg.auth_tls.is_some(), users = cfg.users.len(), "MQTT broker listening.");
        Ok(Broker {
            addr,
            auth_addr,
            counters,
            ledger,
            accounts,
            tasks,
        })
    }

    /// A handle that changes the accounts while the broker runs (cheap to clone, usable from
    /// another task).
    pub fn accounts(&self) -> Accounts {
        self.accounts.clone()
    }

    /// The loopback listener's address (anonymous clients and accounts).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The authenticated listener's address, if configured.
    pub fn auth_addr(&self) -> Option<SocketAddr> {
        self.auth_addr
    }

    /// The CONNACK return code with which the engine answers a CONNECT logging in as
    /// `login` on a new in-process connection (0: accepted), or the error that ended the
    /// connection first (tests check that only the fronts' secret gets in).
    #[doc(hidden)]
    pub async fn engine_connack(&self, login: (&str, &str)) -> io::Result<u8> {
        engine_connack(self.accounts.front.engine(), login).await
    }

    /// The counters so far.
    pub fn stats(&self) -> BrokerStats {
        self.stats_reader()()
    }

    /// A reader of the counters that outlives borrows of the broker (for `/metrics`).
    pub fn stats_reader(&self) -> impl Fn() -> BrokerStats + Send + Sync + 'static {
        let counters = self.counters.clone();
        let ledger = self.ledger.clone();
        move || BrokerStats {
            holds: ledger.stats(),
            ..counters.snapshot()
        }
    }

    /// Stops the broker: closes both listeners and every client connection (clients see the
    /// connection drop; the engine's links end as their relays close).
    ///
    /// rumqttd's router runs on an OS thread that cannot be stopped: it stays, idle, with the
    /// messages still in its log (at most the [`LogLimits`](super::LogLimits) bound) until the
    /// process exits. Start one broker per process.
    pub async fn shutdown(mut self) {
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Changes the accounts of a running [`Broker`] (both listeners).
#[derive(Clone)]
pub struct Accounts {
    front: Arc<Front>,
    policy: Arc<AuthPolicy>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Accounts(..)")
    }
}

impl Accounts {
    /// Makes `users` the accounts added to the configuration's (which stay, and win over one
    /// of the same name, reported as shadowed), and `revoked` the revoked ones (their right
    /// password is refused as [`Refusal::Revoked`](super::Refusal::Revoked)). Every live
    /// connection of an account that is gone, revoked, or has another role or password than
    /// when it connected is closed at once, counted as revoked. Each call replaces the whole
    /// set: give every added account each time. Names are expected valid
    /// ([`is_user_name`](super::is_user_name)); an invalid one can never log in.
    pub fn replace(&self, users: &[BrokerUser], revoked: &[BrokerUser]) -> AccountsUpdate {
        update_accounts(&self.front, &self.policy, users, revoked)
    }
}

/// The engine's router settings: the log bound, and room for both fronts' connections.
fn router_config(cfg: &BrokerConfig) -> RouterConfig {
    RouterConfig {
        // Both listeners at their limit, plus start-up probes.
        max_connections: cfg.max_connections * 2 + 8,
        max_outgoing_packet_count: 200,
        max_segment_size: cfg.log.segment_bytes,
        max_segment_count: cfg.log.segments,
        custom_segment: None,
        initialized_filters: None,
        ..RouterConfig::default()
    }
}

/// The fronts' password at the engine: 256 random bits, in memory only.
fn engine_secret() -> Result<String, BrokerError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret)
        .map_err(|e| BrokerError::Engine(format!("no randomness for the engine's secret: {e}")))?;
    Ok(secret.iter().map(|b| format!("{b:02x}")).collect())
}

/// The engine's connection settings: only the fronts' login (the fronts authenticated the
/// clients), the packet limit, and no dynamic filters (a publish nobody subscribed to is not
/// kept). Its listen address is never bound: the server is never started, only its
/// [`Acceptor`] used.
fn server_settings(cfg: &BrokerConfig, login: &(String, String)) -> ServerSettings {
    ServerSettings {
        name: "tidewatch-engine".into(),
        listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        tls: None,
        next_connection_delay_ms: 0,
        connections: ConnectionSettings {
            connection_timeout_ms: u16::try_from(cfg.connect_timeout_secs * 1000)
                .unwrap_or(u16::MAX),
            max_payload_size: cfg.max_packet_bytes,
            max_inflight_count: 100,
            auth: Some(std::collections::HashMap::from([login.clone()])),
            external_auth: None,
            dynamic_filters: false,
        },
    }
}

/// Spawns the router thread and returns what serves the fronts' connections to the engine,
/// once the engine has accepted the fronts' login on one (within [`ENGINE_READY_TIMEOUT`]).
/// The engine listens on no port.
async fn start_engine(
    cfg: &BrokerConfig,
    login: &(String, String),
) -> Result<Acceptor<V4>, BrokerError> {
    let router_tx = Router::new(0, router_config(cfg)).spawn();
    let engine = Server::new(server_settings(cfg, login), router_tx, V4).acceptor();
    match timeout(
        ENGINE_READY_TIMEOUT,
        engine_connack(&engine, (&login.0, &login.1)),
    )
    .await
    {
        Ok(Ok(0)) => Ok(engine),
        Ok(Ok(code)) => Err(BrokerError::Engine(format!(
            "it refused the fronts' login (CONNACK {code})"
        ))),
        Ok(Err(e)) => Err(BrokerError::Engine(format!("no CONNACK: {e}"))),
        Err(_) => Err(BrokerError::Engine("no answer to a CONNECT".into())),
    }
}

/// One MQTT 3.1.1 CONNECT / CONNACK (/ DISCONNECT) exchange with the engine on a new
/// in-process connection, logging in as `login`: the CONNACK's return code.
async fn engine_connack(engine: &Acceptor<V4>, login: (&str, &str)) -> io::Result<u8> {
    engine_connack_as(engine, "tidewatch-probe", login).await
}

/// [`engine_connack`] with client id `id`.
async fn engine_connack_as(engine: &Acceptor<V4>, id: &str, login: (&str, &str)) -> io::Result<u8> {
    let (mut s, engines) = tokio::io::duplex(4096);
    engine.serve(engines);
    s.write_all(&engine_connect(id, login)).await?;
    let mut ack = [0u8; 4];
    s.read_exact(&mut ack).await?;
    if ack[..3] != [0x20, 2, 0] {
        return Err(io::Error::other(format!("not a CONNACK: {ack:02x?}")));
    }
    let _ = s.write_all(&[0xe0, 0]).await;
    Ok(ack[3])
}

/// A CONNECT to the engine: client id `id`, a clean session, logging in as `login`.
fn engine_connect(id: &str, login: (&str, &str)) -> Vec<u8> {
    encode_connect(
        &Connect {
            clean_session: true,
            keep_alive: 10,
            client_id: "",
            will: None,
            username: None,
            password: None,
        },
        id,
        login,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rumqttd's third patch (PATCH.md): a client gone before the engine's CONNACK leaves its
    /// will sender with no task to receive it; the next connection of that client id unwrapped
    /// the failed send to it with the lock of the will senders held, which poisoned the lock,
    /// and from then on the engine refused every connection (seen in CI: a front's client
    /// reconnecting under load). Here the engine serves the id again, every time.
    #[tokio::test]
    async fn review_a_client_gone_before_its_connack_does_not_stop_the_engine() {
        let login = ("tidewatch-front".to_owned(), "engine-secret".to_owned());
        let engine = start_engine(&crate::testkit::test_config(), &login)
            .await
            .unwrap();
        let login = (login.0.as_str(), login.1.as_str());
        for round in 0..10 {
            // The CONNECT sent, the client gone: the engine's CONNACK finds no one to take it.
            let (mut s, engines) = tokio::io::duplex(4096);
            engine.serve(engines);
            s.write_all(&engine_connect("unit-7", login)).await.unwrap();
            drop(s);
            // The router answers connections in turn: once a later one is answered, the
            // lost one's CONNACK has been sent to it.
            assert_eq!(engine_connack(&engine, login).await.unwrap(), 0);
            tokio::task::yield_now().await;
            let again = timeout(
                Duration::from_secs(5),
                engine_connack_as(&engine, "unit-7", login),
            )
            .await;
            assert!(
                matches!(again, Ok(Ok(0))),
                "round {round}: the client id again: {again:?}"
            );
        }
    }

    /// rumqttd's fourth patch (PATCH.md): a client gone before the engine's CONNACK was
    /// written left its connection registered in the router, its slot held until the same
    /// client id came back. Clients of new ids doing that (anyone on loopback may) filled the
    /// router, and it answered no connection any more. Here three times the router's room of
    /// such clients come and go, and a client is still served.
    #[tokio::test]
    async fn review_clients_gone_before_their_connack_do_not_fill_the_engine() {
        let mut cfg = crate::testkit::test_config();
        cfg.max_connections = 4;
        let login = ("tidewatch-front".to_owned(), "engine-secret".to_owned());
        let engine = start_engine(&cfg, &login).await.unwrap();
        let login = (login.0.as_str(), login.1.as_str());
        let room = cfg.max_connections * 2 + 8;
        for n in 0..room * 3 {
            let (mut s, engines) = tokio::io::duplex(4096);
            engine.serve(engines);
            s.write_all(&engine_connect(&format!("gone-{n}"), login))
                .await
                .unwrap();
            drop(s);
            // Answered in turn: once this one is, the lost one's CONNACK was written (and
            // failed) before it.
            let served = timeout(Duration::from_secs(5), engine_connack(&engine, login)).await;
            assert!(
                matches!(served, Ok(Ok(0))),
                "after {n} clients gone before their CONNACK: {served:?}"
            );
        }
        // Nor do they leave their will senders: only connections still open hold one.
        let held = engine.wills_held();
        assert!(
            held <= room,
            "{held} will senders held after {} clients gone",
            room * 3
        );
    }
}
