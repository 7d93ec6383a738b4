//! The TCP fronts that clients actually connect to. The engine (rumqttd) listens only on an
//! internal loopback port and takes only the fronts (they log in with a secret made at start);
//! every client connection is relayed to it by one of two fronts, which work alike:
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
//! Engine-to-client bytes are relayed untouched (and acknowledged to the engine at once:
//! [`engine_to_client`]).
//!
//! Owning the client sockets also gives exact listen addresses (port 0 works) and a shutdown that
//! closes every client connection, which the engine alone cannot do.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;
use tracing::{debug, warn};

use super::acl::Grants;
use super::config::{BrokerConfig, DEFAULT_ITERATIONS, PasswordHash, Role};
use super::packet::{
    ClientPacket, ConnectError, FrameError, connack, connack_refusal, encode_connect, frame, kind,
    parse_client_packet, parse_connect,
};
use super::stats::{Counters, OpenGuard, Refusal};

/// How long a front waits to reach the engine.
const ENGINE_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
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
    /// The engine's internal listener.
    pub(crate) engine: SocketAddr,
    /// The fronts' username and password at the engine (the password made at start, in memory
    /// only).
    pub(crate) engine_login: (String, String),
    /// The broker's counters.
    pub(crate) counters: Arc<Counters>,
    /// Connections accepted at once per listener.
    pub(crate) max_connections: usize,
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

/// The fronts' accounts and limits.
pub(crate) struct AuthPolicy {
    users: HashMap<String, (Role, PasswordHash)>,
    /// Checked for unknown usernames, so they cost as much as known ones.
    dummy: PasswordHash,
    max_body: usize,
    connect_timeout: Duration,
    verify_slots: Arc<Semaphore>,
}

impl AuthPolicy {
    pub(crate) fn new(cfg: &BrokerConfig) -> Self {
        let iterations = cfg
            .users
            .iter()
            .map(|u| u.password.iterations())
            .max()
            .unwrap_or(DEFAULT_ITERATIONS);
        AuthPolicy {
            users: cfg
                .users
                .iter()
                .map(|u| (u.name.clone(), (u.role, u.password.clone())))
                .collect(),
            dummy: PasswordHash::with_salt("", b"tidewatch-no", iterations),
            max_body: cfg.max_packet_bytes,
            connect_timeout: cfg.connect_timeout(),
            verify_slots: Arc::new(Semaphore::new(VERIFY_SLOTS)),
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
) {
    let name = which.name();
    let slots = Arc::new(Semaphore::new(front.max_connections));
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
                let front = front.clone();
                let policy = policy.clone();
                conns.spawn(async move {
                    let _slot = slot;
                    let _open = OpenGuard::new(&front.counters);
                    let _ = stream.set_nodelay(true);
                    connection(stream, peer, &front, &policy, which).await;
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

async fn connect_engine(front: &Front) -> io::Result<TcpStream> {
    let s = timeout(ENGINE_CONNECT_TIMEOUT, TcpStream::connect(front.engine))
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "engine did not accept"))??;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// Relay what the engine sends to the client, acknowledging it to the engine at once.
///
/// The engine (rumqttd) does not set `TCP_NODELAY` on its sockets, so Nagle holds each small
/// packet it writes until the previous one is acknowledged, and the kernel's delayed ACK on our
/// side (up to 40 ms on Linux) turned that into a wait of tens of milliseconds per packet at
/// low rates. Linux leaves quick-ACK mode by itself, so it is re-armed after every read.
async fn engine_to_client(
    engine: &mut OwnedReadHalf,
    client: &mut OwnedWriteHalf,
) -> io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = engine.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        ack_now(engine.as_ref());
        client.write_all(&buf[..n]).await?;
    }
}

/// Send the ACK for what was just read now rather than after the delayed-ACK timer.
fn ack_now(socket: &TcpStream) {
    #[cfg(target_os = "linux")]
    let _ = socket2::SockRef::from(socket).set_tcp_quickack(true);
    #[cfg(not(target_os = "linux"))]
    let _ = socket;
}

/// How a client connection ended, when it did not end well.
enum End {
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

fn refused(reason: Refusal, detail: impl Into<String>) -> End {
    End::Refused(reason, detail.into())
}

/// A client whose CONNECT passed.
struct Admitted {
    /// The username; `None` for an anonymous client.
    user: Option<String>,
    grants: Grants,
    /// The CONNECT to send to the engine.
    connect: Vec<u8>,
}

/// A front for one connection.
async fn connection(
    mut client: TcpStream,
    peer: SocketAddr,
    front: &Front,
    policy: &AuthPolicy,
    which: Listener,
) {
    let name = which.name();
    let mut buf = BytesMut::with_capacity(4096);
    let admission = admit(&mut client, &mut buf, front, policy, which);
    let admitted = match timeout(policy.connect_timeout, admission).await {
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
    let engine = match connect_engine(front).await {
        Ok(s) => s,
        Err(e) => {
            warn!(%peer, user = admitted.user.as_deref().unwrap_or(""), error = %e, "MQTT engine unreachable; closing the client.");
            let _ = client
                .write_all(&connack_refusal(connack::SERVER_UNAVAILABLE))
                .await;
            return;
        }
    };
    let (cr, mut cw) = client.into_split();
    let (mut er, mut ew) = engine.into_split();
    if ew.write_all(&admitted.connect).await.is_err() {
        return;
    }
    if which == Listener::Auth {
        front.counters.auth_sessions.fetch_add(1, Relaxed);
    }

    let upstream = client_to_engine(cr, ew, buf, &admitted.grants, policy.max_body);
    let downstream = async {
        let _ = engine_to_client(&mut er, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::pin!(downstream);
    tokio::select! {
        end = upstream => match end {
            // The client closed its side: let the engine finish, briefly.
            Ok(()) => { let _ = timeout(CLOSE_GRACE, &mut downstream).await; }
            Err(End::Refused(reason, detail)) => {
                refuse(&front.counters, name, peer, admitted.user.as_deref(), reason, &detail);
            }
            Err(End::Gone) => {}
        },
        () = &mut downstream => {}
    }
}

/// Reads more bytes into `buf`, making room for at least `want` more (capped). `Gone` on EOF.
async fn fill(
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
    client: &mut TcpStream,
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
    let no = |reason, detail: String| Err((Some(connack::NOT_AUTHORIZED), refused(reason, detail)));
    let (user, grants) = match c.username {
        None if which == Listener::Loopback => (None, Grants::anonymous()),
        None => return no(Refusal::NoCredentials, "CONNECT without username".into()),
        Some(username) => (
            Some(username.to_owned()),
            authenticate(username, c.password, policy).await?,
        ),
    };
    let who = user.as_deref().unwrap_or("anonymous");
    if let Some(w) = &c.will
        && (!grants.may_publish(w.topic) || (w.retain && !grants.may_retain()))
    {
        return no(Refusal::WillDenied, format!("{who}: will on {:?}", w.topic));
    }
    let session = grants.session_id(c.client_id);
    let login = (front.engine_login.0.as_str(), front.engine_login.1.as_str());
    let connect = encode_connect(&c, &session, login);
    Ok(Admitted {
        user,
        grants,
        connect,
    })
}

/// Checks `username`'s password (off the executor, a few at a time); its grants, or the refusal.
async fn authenticate(
    username: &str,
    password: Option<&[u8]>,
    policy: &AuthPolicy,
) -> Result<Grants, (Option<u8>, End)> {
    let account = policy.users.get(username);
    let hash = account.map_or(&policy.dummy, |(_, h)| h).clone();
    let password = password.unwrap_or_default().to_vec();
    let ok = {
        let Ok(_slot) = policy.verify_slots.acquire().await else {
            return Err((None, End::Gone));
        };
        tokio::task::spawn_blocking(move || hash.verify(&password))
            .await
            .unwrap_or(false)
    };
    let Some(&(role, _)) = account.filter(|_| ok) else {
        return Err((
            Some(connack::NOT_AUTHORIZED),
            refused(
                Refusal::BadCredentials,
                format!("user {username:?}: unknown user or wrong password"),
            ),
        ));
    };
    Ok(Grants::new(role, username))
}

/// Answers a refused CONNECT, then closes gently: FIN first and a short drain, so the client
/// reads the CONNACK instead of a reset.
async fn refuse_with_connack(client: &mut TcpStream, code: u8) {
    if client.write_all(&connack_refusal(code)).await.is_err() {
        return;
    }
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

/// Client-to-engine direction: forwards every packet that passes, stops at the first that does
/// not. `Ok` when the client closed its side cleanly.
async fn client_to_engine(
    mut client: OwnedReadHalf,
    mut engine: OwnedWriteHalf,
    mut buf: BytesMut,
    grants: &Grants,
    max_body: usize,
) -> Result<(), End> {
    loop {
        // Judge every complete packet in the buffer; forward the good prefix.
        let mut good = 0;
        let verdict = loop {
            match frame(&buf[good..], max_body) {
                Ok(Some(f)) if buf.len() - good >= f.len() => {
                    let body = &buf[good + f.header_len..good + f.len()];
                    if let Err(e) = police(f.first, body, grants) {
                        break Err(e);
                    }
                    good += f.len();
                }
                Ok(Some(f)) => break Ok(f.len() - (buf.len() - good)),
                Ok(None) => break Ok(5),
                Err(FrameError::Oversized(n)) => {
                    break Err(refused(Refusal::Oversized, format!("packet of {n} bytes")));
                }
                Err(FrameError::Malformed(m)) => break Err(refused(Refusal::Malformed, m)),
            }
        };
        if good > 0 {
            engine.write_all(&buf[..good]).await?;
            buf.advance(good);
        }
        let want = verdict?;
        if let Err(End::Gone) = fill(&mut client, &mut buf, want).await {
            // EOF (mid-packet or not): pass the close on.
            let _ = engine.shutdown().await;
            return Ok(());
        }
    }
}

/// The ACL and shape checks of one client packet.
fn police(first: u8, body: &[u8], grants: &Grants) -> Result<(), End> {
    match parse_client_packet(first, body) {
        Err(m) => Err(refused(Refusal::Malformed, m)),
        Ok(ClientPacket::Publish { topic, retain }) => {
            if !grants.may_publish(topic) {
                Err(refused(
                    Refusal::PublishDenied,
                    format!("publish to {topic:?}"),
                ))
            } else if retain && !grants.may_retain() {
                Err(refused(
                    Refusal::RetainDenied,
                    format!("retained publish to {topic:?}"),
                ))
            } else {
                Ok(())
            }
        }
        Ok(ClientPacket::Subscribe(filters)) => {
            match filters.iter().find(|f| !grants.may_subscribe(f)) {
                Some(f) => Err(refused(
                    Refusal::SubscribeDenied,
                    format!("subscribe to {f:?}"),
                )),
                None => Ok(()),
            }
        }
        Ok(ClientPacket::Other) => Ok(()),
    }
}
