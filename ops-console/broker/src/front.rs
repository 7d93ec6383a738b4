//! The TCP fronts that clients actually connect to. The engine (rumqttd) listens on no port:
//! each client connection a front admits reaches it through an in-process pipe, on which the
//! front logs in with a secret made at start. There are two fronts, which work alike:
//!
//! - the **loopback front** takes anonymous clients (no username) and accounts;
//! - the **authenticated front** takes accounts only.
//!
//! Each reads the CONNECT itself, checks username and password against
//! [`BrokerConfig::users`](super::BrokerConfig::users), answers a refusal with a CONNACK, and
//! otherwise forwards a rewritten CONNECT (the fronts' login instead of the client's; the client
//! id replaced by the identity's own session id, [`Grants::session_id`], so no client takes over
//! another identity's session) and then every client packet that passes the ACL ([`Grants`]: an
//! anonymous client's or the account's) and the MQTT 3.1.1 shape checks ([`super::packet`]). The
//! first packet that fails closes the connection; the packets before it have been forwarded.
//! Engine-to-client packets are relayed as they come, except the PUBACKs the ledger holds until
//! the consumers that must have a message have it ([`super::relay`], [`super::hold`]).
//!
//! Owning the client sockets also gives exact listen addresses (port 0 works) and a shutdown that
//! closes every client connection, which the engine alone cannot do.
//!
//! The authenticated listener may speak TLS ([`BrokerConfig::auth_tls`]): the handshake comes
//! first, in the same connection slot and within the same connect timeout as the CONNECT, and
//! what follows is the same front over the decrypted stream. A failed or late handshake (plain
//! MQTT to the TLS port, a client that does not trust the certificate) is a refusal like any
//! other ([`Refusal::TlsHandshake`]).
//!
//! Accounts can change while the broker runs ([`update_accounts`]): the fronts keep every live
//! connection of an account, and when that account is revoked or given new credentials they
//! close its connections at once ([`Refusal::Revoked`]). A client that presents the right
//! password of a revoked account is refused like a wrong password, and counted apart.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use rumqttd::Acceptor;
use rumqttd::protocol::v4::V4;
use tokio::io::{
    AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf,
};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use super::acl::Grants;
use super::config::{BrokerConfig, BrokerUser, DEFAULT_ITERATIONS, PasswordHash, Role};
use super::hold::{Consumer, Ledger};
use super::packet::{
    ConnectError, FrameError, MAX_NAME_BYTES, connack, connack_refusal, encode_connect, frame,
    kind, parse_connect,
};
use super::relay::{Lost, Relay, client_to_engine, engine_to_client};
use super::stats::{Counters, OpenGuard, Refusal};

/// Bytes in flight each way on a connection's pipe to the engine before the writer waits
/// (about what loopback TCP buffered, when the fronts reached the engine over it).
const ENGINE_PIPE_BYTES: usize = 256 * 1024;
/// How long a closing relay lets the engine's last bytes (e.g. a DISCONNECT's aftermath) through.
const CLOSE_GRACE: Duration = Duration::from_secs(2);
/// Password checks running at once (PBKDF2 is CPU-bound, on a blocking thread): a flood of
/// CONNECTs cannot take more than this many cores.
const VERIFY_SLOTS: usize = 2;
/// Largest CONNECT accepted (remaining length): a CONNECT arrives before authentication, so this,
/// not `max_packet_bytes`, bounds what an anonymous peer can make the front buffer. Room for a
/// will message of a few KiB.
const MAX_CONNECT_BYTES: usize = 64 * 1024;
/// Read granularity of the authenticated front.
const READ_CHUNK: usize = 16 * 1024;

/// What both fronts share.
pub(crate) struct Front {
    /// Serves the fronts' connections to the engine, each an in-process pipe.
    engine: Acceptor<V4>,
    /// The fronts' username and password at the engine (the password made at start, in memory
    /// only).
    engine_login: (String, String),
    /// The broker's counters.
    counters: Arc<Counters>,
    /// Connections accepted at once per listener.
    max_connections: usize,
    /// The live connections of each account (by username, then connection number), each with
    /// the bell that closes it.
    live: Mutex<HashMap<String, HashMap<u64, Arc<Notify>>>>,
    /// The next connection number.
    next_connection: AtomicU64,
    /// Who has what, for holding publishers' PUBACKs ([`super::hold`]).
    pub(crate) ledger: Arc<Ledger>,
}

impl Front {
    pub(crate) fn new(
        engine: Acceptor<V4>,
        engine_login: (String, String),
        counters: Arc<Counters>,
        max_connections: usize,
        ledger: Arc<Ledger>,
    ) -> Self {
        Front {
            engine,
            engine_login,
            counters,
            max_connections,
            live: Mutex::new(HashMap::new()),
            next_connection: AtomicU64::new(0),
            ledger,
        }
    }

    /// What serves the fronts' connections to the engine.
    pub(crate) fn engine(&self) -> &Acceptor<V4> {
        &self.engine
    }
}

/// One live connection of an account, listed in [`Front::live`] until dropped.
struct LiveConnection<'a> {
    front: &'a Front,
    user: String,
    id: u64,
    /// Rung when the account is revoked.
    bell: Arc<Notify>,
}

impl Drop for LiveConnection<'_> {
    fn drop(&mut self) {
        let mut live = self
            .front
            .live
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(conns) = live.get_mut(&self.user) {
            conns.remove(&self.id);
            if conns.is_empty() {
                live.remove(&self.user);
            }
        }
    }
}

/// Lists a connection admitted as `user` with `entry`, unless the account has changed since:
/// checked under the same lock [`update_accounts`] sweeps under, after it swapped the table, so
/// a connection is either listed before the sweep (and closed by it) or sees the new table.
fn go_live<'a>(
    front: &'a Front,
    policy: &AuthPolicy,
    user: &str,
    entry: &Entry,
) -> Option<LiveConnection<'a>> {
    let mut live = front.live.lock().unwrap_or_else(PoisonError::into_inner);
    if policy.current().users.get(user) != Some(entry) {
        return None;
    }
    let id = front.next_connection.fetch_add(1, Relaxed);
    let bell = Arc::new(Notify::new());
    live.entry(user.to_owned())
        .or_default()
        .insert(id, bell.clone());
    Some(LiveConnection {
        front,
        user: user.to_owned(),
        id,
        bell,
    })
}

/// Which listener a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listener {
    /// Loopback: anonymous clients too.
    Loopback,
    /// Authenticated: accounts only.
    Auth,
}

impl Listener {
    fn name(self) -> &'static str {
        match self {
            Listener::Loopback => "loopback",
            Listener::Auth => "auth",
        }
    }
}

/// What an account is: its role and password hash. A connection was admitted under one; when
/// the account's entry is no longer the same, the connection is closed.
type Entry = (Role, PasswordHash);

/// The accounts at one moment: those of the configuration and those added since.
pub(crate) struct Table {
    users: HashMap<String, Entry>,
    /// Revoked accounts' hashes: the right password of one is refused as [`Refusal::Revoked`].
    revoked: HashMap<String, PasswordHash>,
    /// Checked for unknown usernames, so they cost as much as known ones.
    dummy: PasswordHash,
}

impl Table {
    fn new<'a>(
        users: impl IntoIterator<Item = &'a BrokerUser>,
        revoked: impl IntoIterator<Item = &'a BrokerUser>,
    ) -> Table {
        let mut t = Table {
            users: HashMap::new(),
            revoked: HashMap::new(),
            dummy: PasswordHash::with_salt("", b"tidewatch-no", 1),
        };
        for u in users {
            t.users
                .entry(u.name.clone())
                .or_insert_with(|| (u.role, u.password.clone()));
        }
        for u in revoked {
            if !t.users.contains_key(&u.name) {
                t.revoked.insert(u.name.clone(), u.password.clone());
            }
        }
        let iterations = t
            .users
            .values()
            .map(|(_, h)| h)
            .chain(t.revoked.values())
            .map(PasswordHash::iterations)
            .max()
            .unwrap_or(DEFAULT_ITERATIONS);
        t.dummy = PasswordHash::with_salt("", b"tidewatch-no", iterations);
        t
    }
}

/// The fronts' accounts and limits.
pub(crate) struct AuthPolicy {
    /// The configuration's accounts, which later updates cannot replace.
    fixed: Vec<BrokerUser>,
    /// The accounts now; replaced whole by [`update_accounts`].
    table: RwLock<Arc<Table>>,
    max_body: usize,
    connect_timeout: Duration,
    verify_slots: Arc<Semaphore>,
}

impl AuthPolicy {
    pub(crate) fn new(cfg: &BrokerConfig) -> Self {
        AuthPolicy {
            fixed: cfg.users.clone(),
            table: RwLock::new(Arc::new(Table::new(&cfg.users, []))),
            max_body: cfg.max_packet_bytes,
            connect_timeout: cfg.connect_timeout(),
            verify_slots: Arc::new(Semaphore::new(VERIFY_SLOTS)),
        }
    }

    /// The accounts now.
    fn current(&self) -> Arc<Table> {
        self.table
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// What [`update_accounts`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountsUpdate {
    /// Live connections closed because their account was revoked or given new credentials.
    pub closed: usize,
    /// Accounts given that have the name of an account of the configuration (which stays).
    pub shadowed: Vec<String>,
}

/// Makes `users` (besides the configuration's) the accounts both fronts accept and `revoked`
/// the revoked ones, then closes at once every live connection of an account that is gone,
/// revoked, or has another role or password hash than when it connected.
pub(crate) fn update_accounts(
    front: &Front,
    policy: &AuthPolicy,
    users: &[BrokerUser],
    revoked: &[BrokerUser],
) -> AccountsUpdate {
    let shadowed: Vec<String> = users
        .iter()
        .filter(|u| policy.fixed.iter().any(|f| f.name == u.name))
        .map(|u| u.name.clone())
        .collect();
    let fixed_names = || policy.fixed.iter().map(|f| f.name.as_str());
    let new = Arc::new(Table::new(
        policy.fixed.iter().chain(users),
        revoked
            .iter()
            .filter(|r| !fixed_names().any(|f| f == r.name)),
    ));
    let old = std::mem::replace(
        &mut *policy.table.write().unwrap_or_else(PoisonError::into_inner),
        new.clone(),
    );
    let mut closed = 0;
    let live = front.live.lock().unwrap_or_else(PoisonError::into_inner);
    for (user, conns) in live.iter() {
        if old.users.get(user) != new.users.get(user) {
            info!(
                user,
                connections = conns.len(),
                "Account revoked or changed; closing its connections."
            );
            for bell in conns.values() {
                bell.notify_one();
            }
            closed += conns.len();
        }
    }
    AccountsUpdate { closed, shadowed }
}

/// A client's byte stream, split for the two directions of the relay: plain TCP, or TLS on the
/// authenticated listener.
pub(crate) trait ClientStream:
    AsyncRead + AsyncWrite + Unpin + Send + Sized + 'static
{
    /// The reading half.
    type Read: AsyncRead + Unpin + Send;
    /// The writing half.
    type Write: AsyncWrite + Unpin + Send;
    /// Both halves.
    fn halves(self) -> (Self::Read, Self::Write);
}

impl ClientStream for TcpStream {
    type Read = OwnedReadHalf;
    type Write = OwnedWriteHalf;
    fn halves(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }
}

impl ClientStream for tokio_rustls::server::TlsStream<TcpStream> {
    type Read = ReadHalf<Self>;
    type Write = WriteHalf<Self>;
    fn halves(self) -> (Self::Read, Self::Write) {
        tokio::io::split(self)
    }
}

/// Connections from one address (an IPv6 /64) the remote listener holds before they have
/// logged in, once it is more than half full. Beyond them that address is refused at once
/// ([`Refusal::AddressBusy`]): one host opening connections and saying nothing (each may wait
/// out the CONNECT deadline) cannot fill the listener and lock the units out; it takes many
/// addresses. Logged-in connections do not count, and with room to spare no address is held
/// to it (units behind one carrier's NAT share an address).
pub(crate) const MAX_UNAUTHENTICATED_PER_ADDRESS: usize = 8;

/// Where a remote connection comes from, for [`MAX_UNAUTHENTICATED_PER_ADDRESS`]: its IPv4
/// address, or the /64 of its IPv6 address (a host is given a whole /64).
fn address_of(peer: &SocketAddr) -> std::net::IpAddr {
    match peer.ip() {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                std::net::IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

/// The connections of each address not logged in yet.
type Unauthenticated = Arc<std::sync::Mutex<HashMap<std::net::IpAddr, usize>>>;

/// One connection not logged in yet, counted against its address until dropped.
pub(crate) struct NotLoggedIn {
    counts: Unauthenticated,
    address: std::net::IpAddr,
}

impl NotLoggedIn {
    /// Count a connection from `peer`, unless the listener is `pressed` (more than half
    /// full) and its address has its share already.
    fn take(counts: &Unauthenticated, peer: &SocketAddr, pressed: bool) -> Option<NotLoggedIn> {
        let address = address_of(peer);
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = c.entry(address).or_default();
        if pressed && *n >= MAX_UNAUTHENTICATED_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(NotLoggedIn {
            counts: counts.clone(),
            address,
        })
    }
}

impl Drop for NotLoggedIn {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = c.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                c.remove(&self.address);
            }
        }
    }
}

/// Accepts connections on `listener` until the task is aborted, which also aborts every
/// connection it accepted.
pub(crate) async fn serve(
    listener: TcpListener,
    front: Arc<Front>,
    policy: Arc<AuthPolicy>,
    which: Listener,
    tls: Option<TlsAcceptor>,
) {
    let name = which.name();
    let slots = Arc::new(Semaphore::new(front.max_connections));
    let unauthenticated = Unauthenticated::default();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        warn!(listener = name, error = %e, "MQTT accept failed.");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let counter = match which {
                    Listener::Auth => &front.counters.auth_connections,
                    Listener::Loopback => &front.counters.loopback_connections,
                };
                counter.fetch_add(1, Relaxed);
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    refuse(&front.counters, name, peer, None, Refusal::TooManyConnections, "listener full");
                    continue;
                };
                // The remote listener: a share per address until logged in (loopback's
                // clients are this host's own).
                let not_logged_in = match which {
                    Listener::Loopback => None,
                    Listener::Auth => {
                        let pressed = slots.available_permits() < front.max_connections / 2;
                        match NotLoggedIn::take(&unauthenticated, &peer, pressed) {
                            Some(n) => Some(n),
                            None => {
                                refuse(&front.counters, name, peer, None, Refusal::AddressBusy,
                                    "listener more than half full: too many connections not logged in from this address");
                                continue;
                            }
                        }
                    }
                };
                let front = front.clone();
                let policy = policy.clone();
                let tls = tls.clone();
                conns.spawn(async move {
                    let _slot = slot;
                    let _open = OpenGuard::new(&front.counters);
                    let _ = stream.set_nodelay(true);
                    // The handshake and the CONNECT share one deadline.
                    let deadline = Instant::now() + policy.connect_timeout;
                    let Some(acceptor) = tls else {
                        connection(stream, peer, &front, &policy, which, deadline, not_logged_in).await;
                        return;
                    };
                    match timeout_at(deadline, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            front.counters.tls_handshakes.fetch_add(1, Relaxed);
                            connection(stream, peer, &front, &policy, which, deadline, not_logged_in).await;
                        }
                        Ok(Err(e)) => refuse(&front.counters, name, peer, None, Refusal::TlsHandshake, &e.to_string()),
                        Err(_) => refuse(&front.counters, name, peer, None, Refusal::TlsHandshake, "no TLS handshake in time"),
                    }
                });
            }
        }
    }
}

/// Logs once and counts one refusal.
fn refuse(
    counters: &Counters,
    listener: &str,
    peer: SocketAddr,
    user: Option<&str>,
    reason: Refusal,
    detail: &str,
) {
    counters.refused(reason);
    warn!(
        listener,
        %peer,
        user = user.unwrap_or(""),
        reason = reason.as_str(),
        detail,
        "Refused MQTT client."
    );
}

/// A connection to the engine: an in-process pipe (the fronts once reached the engine over
/// loopback TCP, which cost every packet two more trips through the kernel: with the clients'
/// sockets, the kernel was a third of the broker thread's time at 100 000 publishes a second).
fn connect_engine(front: &Front) -> DuplexStream {
    let (ours, engines) = tokio::io::duplex(ENGINE_PIPE_BYTES);
    front.engine.serve(engines);
    ours
}

/// How a client connection ended, when it did not end well.
pub(crate) enum End {
    /// Refused by the front: log and count.
    Refused(Refusal, String),
    /// The client went away or the network failed: nothing to report.
    Gone,
}

impl From<io::Error> for End {
    fn from(_: io::Error) -> Self {
        End::Gone
    }
}

pub(crate) fn refused(reason: Refusal, detail: impl Into<String>) -> End {
    End::Refused(reason, detail.into())
}

/// A client whose CONNECT passed.
struct Admitted {
    /// The username and the account it was admitted as; `None` for an anonymous client.
    account: Option<(String, Entry)>,
    grants: Grants,
    /// Its session id at the engine, and whether it is a clean session.
    session: (String, bool),
    /// The CONNECT to send to the engine.
    connect: Vec<u8>,
}

impl Admitted {
    fn user(&self) -> Option<&str> {
        self.account.as_ref().map(|(u, _)| u.as_str())
    }
}

/// A front for one connection, whose CONNECT must be complete by `deadline`.
async fn connection<S: ClientStream>(
    mut client: S,
    peer: SocketAddr,
    front: &Front,
    policy: &AuthPolicy,
    which: Listener,
    deadline: Instant,
    not_logged_in: Option<NotLoggedIn>,
) {
    let name = which.name();
    let mut buf = BytesMut::with_capacity(4096);
    let admission = admit(&mut client, &mut buf, front, policy, which);
    let admitted = timeout_at(deadline, admission).await;
    // Logged in or gone: no longer counted against its address.
    drop(not_logged_in);
    let admitted = match admitted {
        Ok(Ok(a)) => a,
        Ok(Err((answer, End::Refused(reason, detail)))) => {
            // Counted before the answer, so whoever reads the CONNACK sees the count.
            refuse(&front.counters, name, peer, None, reason, &detail);
            if let Some(code) = answer {
                refuse_with_connack(&mut client, code).await;
            }
            return;
        }
        Ok(Err((_, End::Gone))) => {
            debug!(%peer, "MQTT client left before its CONNECT was done.");
            return;
        }
        Err(_) => {
            refuse(
                &front.counters,
                name,
                peer,
                None,
                Refusal::ConnectTimeout,
                "no CONNECT in time",
            );
            return;
        }
    };
    // An account's connection is listed, so that revoking the account closes it.
    let live = match &admitted.account {
        None => None,
        Some((user, entry)) => match go_live(front, policy, user, entry) {
            Some(l) => Some(l),
            None => {
                refuse(
                    &front.counters,
                    name,
                    peer,
                    Some(user),
                    Refusal::Revoked,
                    "account revoked while it connected",
                );
                refuse_with_connack(&mut client, connack::NOT_AUTHORIZED).await;
                return;
            }
        },
    };
    let (cr, mut cw) = client.halves();
    let (mut er, mut ew) = tokio::io::split(connect_engine(front));
    if ew.write_all(&admitted.connect).await.is_err() {
        return;
    }
    if which == Listener::Auth {
        front.counters.auth_sessions.fetch_add(1, Relaxed);
    }

    let relay = relay_for(front, &admitted);
    let upstream = client_to_engine(cr, &mut ew, buf, &admitted.grants, policy.max_body, &relay);
    let downstream = async {
        if let Ok(Err(Lost)) = engine_to_client(&mut er, &mut cw, &relay).await {
            warn!(%peer, user = admitted.user().unwrap_or(""), "A message held for its PUBACK never reached ingest: closing the client's connection without it, so that it sends it again.");
        }
        let _ = cw.shutdown().await;
    };
    tokio::pin!(downstream);
    let revoked = async {
        match &live {
            Some(l) => l.bell.notified().await,
            None => std::future::pending().await,
        }
    };
    let mut was_revoked = false;
    tokio::select! {
        end = upstream => match end {
            // The client closed its side: let the engine finish, briefly.
            Ok(()) => { let _ = timeout(CLOSE_GRACE, &mut downstream).await; }
            Err(End::Refused(reason, detail)) => {
                refuse(&front.counters, name, peer, admitted.user(), reason, &detail);
            }
            Err(End::Gone) => {}
        },
        () = &mut downstream => {}
        () = revoked => {
            refuse(&front.counters, name, peer, admitted.user(), Refusal::Revoked, "account revoked or changed; connection closed");
            was_revoked = true;
        }
    }
    if was_revoked {
        // The engine ends the session as if the client had said DISCONNECT, so it drops the
        // will: a will is the client's word, checked when it connected, and a revoked
        // account's (a stolen one's, say) must not be published as the unit after it.
        let _ = ew.write_all(&[kind::DISCONNECT << 4, 0]).await;
        let _ = ew.shutdown().await;
    }
}

/// The relay state of an admitted connection: its session, and what it is as a consumer.
fn relay_for(front: &Front, admitted: &Admitted) -> Relay {
    let (session, clean) = &admitted.session;
    let role = admitted.account.as_ref().map(|(_, (role, _))| *role);
    let consumer = front
        .ledger
        .kind_of(role, admitted.user().unwrap_or(""))
        .zip(role)
        .map(|(kind, role)| Consumer {
            // A clean session without a client id gets a unique one from the engine.
            session: if session.is_empty() {
                format!("~{}", front.next_connection.fetch_add(1, Relaxed))
            } else {
                session.clone()
            },
            kind,
            role,
            clean: *clean,
        });
    Relay::new(front.ledger.clone(), session.clone(), consumer)
}

/// Reads more bytes into `buf`, making room for at least `want` more (capped). `Gone` on EOF.
pub(crate) async fn fill(
    r: &mut (impl AsyncReadExt + Unpin),
    buf: &mut BytesMut,
    want: usize,
) -> Result<(), End> {
    buf.reserve(want.clamp(1, READ_CHUNK));
    if r.read_buf(buf).await? == 0 {
        return Err(End::Gone);
    }
    Ok(())
}

/// Reads and judges the CONNECT: the admitted client, or the CONNACK code to answer (if the
/// client can understand one) and why not.
async fn admit(
    client: &mut (impl AsyncRead + Unpin),
    buf: &mut BytesMut,
    front: &Front,
    policy: &AuthPolicy,
    which: Listener,
) -> Result<Admitted, (Option<u8>, End)> {
    let f = loop {
        if let Some(&first) = buf.first()
            && first >> 4 != kind::CONNECT
        {
            return Err((
                None,
                refused(Refusal::Malformed, "first packet is not CONNECT"),
            ));
        }
        let more = match frame(buf, policy.max_body.min(MAX_CONNECT_BYTES)) {
            Ok(Some(f)) if buf.len() >= f.len() => break f,
            Ok(Some(f)) => f.len() - buf.len(),
            Ok(None) => 5,
            Err(FrameError::Oversized(n)) => {
                return Err((
                    None,
                    refused(Refusal::Oversized, format!("CONNECT of {n} bytes")),
                ));
            }
            Err(FrameError::Malformed(m)) => return Err((None, refused(Refusal::Malformed, m))),
        };
        fill(client, buf, more).await.map_err(|e| (None, e))?;
    };
    let body = &buf[f.header_len..f.len()];
    let admitted = judge_connect(body, f.flags(), front, policy, which).await?;
    buf.advance(f.len());
    Ok(admitted)
}

/// The CONNECT verdict: the admitted client, or the CONNACK code to answer (if any) and why.
/// Without a username, the client is anonymous on the loopback listener and refused on the
/// authenticated one; with one, it is that account or nothing (a wrong password is refused,
/// never taken as anonymous).
async fn judge_connect(
    body: &[u8],
    flags: u8,
    front: &Front,
    policy: &AuthPolicy,
    which: Listener,
) -> Result<Admitted, (Option<u8>, End)> {
    let c = match parse_connect(flags, body) {
        Ok(c) => c,
        Err(ConnectError::UnsupportedVersion(v)) => {
            return Err((
                Some(connack::UNACCEPTABLE_PROTOCOL_VERSION),
                refused(
                    Refusal::ProtocolVersion,
                    format!("protocol level {v}; only MQTT 3.1.1"),
                ),
            ));
        }
        Err(ConnectError::Malformed(m)) => return Err((None, refused(Refusal::Malformed, m))),
    };
    if c.client_id.len() > MAX_NAME_BYTES {
        let detail = format!(
            "client id of {} bytes: at most {MAX_NAME_BYTES}",
            c.client_id.len()
        );
        return Err((
            Some(connack::IDENTIFIER_REJECTED),
            refused(Refusal::Malformed, detail),
        ));
    }
    let no = |reason, detail: String| Err((Some(connack::NOT_AUTHORIZED), refused(reason, detail)));
    let (account, grants) = match c.username {
        None if which == Listener::Loopback => (None, Grants::anonymous()),
        None => return no(Refusal::NoCredentials, "CONNECT without username".into()),
        Some(username) => {
            let entry = authenticate(username, c.password, policy).await?;
            let grants = Grants::new(entry.0, username);
            (Some((username.to_owned(), entry)), grants)
        }
    };
    let who = account.as_ref().map_or("anonymous", |(u, _)| u.as_str());
    if let Some(w) = &c.will
        && (w.topic.len() > MAX_NAME_BYTES
            || !grants.may_publish(w.topic)
            || (w.retain && !grants.may_retain()))
    {
        return no(Refusal::WillDenied, format!("{who}: will on {:?}", w.topic));
    }
    let session = grants.session_id(c.client_id);
    let login = (front.engine_login.0.as_str(), front.engine_login.1.as_str());
    let connect = encode_connect(&c, &session, login);
    Ok(Admitted {
        session: (session.into_owned(), c.clean_session),
        account,
        grants,
        connect,
    })
}

/// Checks `username`'s password (off the executor, a few at a time) against the accounts now;
/// the account, or the refusal. The right password of a revoked account is refused like a
/// wrong one, and counted as [`Refusal::Revoked`].
async fn authenticate(
    username: &str,
    password: Option<&[u8]>,
    policy: &AuthPolicy,
) -> Result<Entry, (Option<u8>, End)> {
    let table = policy.current();
    let account = table.users.get(username);
    let revoked = table.revoked.get(username);
    let hash = account
        .map(|(_, h)| h)
        .or(revoked)
        .unwrap_or(&table.dummy)
        .clone();
    let password = password.unwrap_or_default().to_vec();
    let ok = {
        let Ok(_slot) = policy.verify_slots.acquire().await else {
            return Err((None, End::Gone));
        };
        tokio::task::spawn_blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false)
    };
    match (account, ok) {
        (Some(entry), true) => Ok(entry.clone()),
        (None, true) if revoked.is_some() => Err((
            Some(connack::NOT_AUTHORIZED),
            refused(
                Refusal::Revoked,
                format!("user {username:?}: revoked credentials"),
            ),
        )),
        _ => Err((
            Some(connack::NOT_AUTHORIZED),
            refused(
                Refusal::BadCredentials,
                format!("user {username:?}: unknown user or wrong password"),
            ),
        )),
    }
}

/// Answers a refused CONNECT, then closes gently: FIN first (after TLS's close_notify) and a
/// short drain, so the client reads the CONNACK instead of a reset.
async fn refuse_with_connack(client: &mut (impl AsyncRead + AsyncWrite + Unpin), code: u8) {
    if client.write_all(&connack_refusal(code)).await.is_err() {
        return;
    }
    let _ = client.flush().await;
    let _ = client.shutdown().await;
    let mut sink = [0u8; 1024];
    let _ = timeout(Duration::from_millis(500), async {
        let mut total = 0usize;
        while total < 64 * 1024 {
            match client.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}
