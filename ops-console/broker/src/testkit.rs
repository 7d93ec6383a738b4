//! Test helpers: a real MQTT client (rumqttc over TCP) with waits that time out instead of
//! sleeping, and the accounts the tests use.

use std::net::SocketAddr;
use std::time::Duration;

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, Incoming, MqttOptions, Packet, QoS,
    SubscribeReasonCode,
};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

use super::config::{BrokerConfig, BrokerUser, LogLimits, PasswordHash, Role};

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// A free loopback port for a server a test starts as its own program (Mosquitto, RabbitMQ,
/// PostgreSQL: they cannot report a port 0 back), bound and released here.
///
/// It comes from below the kernel's ephemeral range (`ip_local_port_range`), never from it:
/// every connection a test makes takes its local port from that range, so a port picked there
/// and released could be taken by some other test's client before the server binds it, and
/// the server would fail to start (a RabbitMQ node, which binds its listeners seconds after
/// it starts, is the widest window). Within a process the ports are handed out in turn from a
/// random start, so two tests of one process never get the same one; processes start at
/// random places. Falls back to port 0's pick when the range leaves no room below it.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};
    const FLOOR: u32 = 10_000;
    static START: OnceLock<(u32, u32)> = OnceLock::new();
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let (first_ephemeral, start) = *START.get_or_init(|| {
        let first = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(32_768);
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        (first, h.finish() as u32)
    });
    let bind = |port: u16| {
        std::net::TcpListener::bind(("127.0.0.1", port))
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
    };
    if first_ephemeral > FLOOR + 1_000 {
        let span = first_ephemeral - FLOOR;
        for _ in 0..span {
            let k = start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed));
            let port = (FLOOR + k % span) as u16;
            if bind(port).is_ok() {
                return port;
            }
        }
    }
    bind(0).expect("a free port on loopback")
}

/// The test accounts: units `patrol-7` and `patrol-8`, receiver `shore-3`, services `ingest`,
/// `fusion` and `console` (each in its own role); each password is `pw-{name}`. Hashes use few PBKDF2 iterations to keep debug builds fast.
/// Both listeners on port 0, a small log.
pub fn test_config() -> BrokerConfig {
    let user = |name: &str, role| {
        let mut salt = [b'.'; 12];
        salt[..name.len()].copy_from_slice(name.as_bytes());
        BrokerUser {
            name: name.into(),
            role,
            password: PasswordHash::with_salt(&format!("pw-{name}"), &salt, 10),
        }
    };
    BrokerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        auth_listen: Some("127.0.0.1:0".parse().unwrap()),
        users: vec![
            user("patrol-7", Role::Unit),
            user("patrol-8", Role::Unit),
            user("shore-3", Role::Receiver),
            user("ingest", Role::Ingest),
            user("fusion", Role::Fusion),
            user("console", Role::Console),
        ],
        log: LogLimits {
            segment_bytes: 4096,
            segments: 4,
        },
        ..BrokerConfig::default()
    }
}

/// A received PUBLISH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub topic: String,
    pub payload: Vec<u8>,
}

/// A connected rumqttc client whose event loop runs in a task. The loop stops at the first error
/// (no reconnect), which [`TestClient::closed`] reports.
pub struct TestClient {
    client: AsyncClient,
    events: mpsc::UnboundedReceiver<Result<Event, ConnectionError>>,
    task: JoinHandle<()>,
    /// QoS 1 publishes requested so far.
    published: u64,
    /// PUBACKs received so far.
    acked: u64,
    /// PUBLISHes received so far (returned by `next_publish` or not).
    received: u64,
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestClient {
    /// Connects (clean session, QoS 1 everywhere) and waits for a successful CONNACK.
    pub async fn connect(
        addr: SocketAddr,
        id: &str,
        credentials: Option<(&str, &str)>,
    ) -> Result<Self, ConnectionError> {
        Self::connect_with(addr, id, credentials, |_| {}).await
    }

    /// [`connect`](Self::connect) with extra options.
    pub async fn connect_with(
        addr: SocketAddr,
        id: &str,
        credentials: Option<(&str, &str)>,
        tweak: impl FnOnce(&mut MqttOptions),
    ) -> Result<Self, ConnectionError> {
        let mut opts = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        opts.set_keep_alive(Duration::from_secs(5));
        if let Some((u, p)) = credentials {
            opts.set_credentials(u, p);
        }
        tweak(&mut opts);
        let (client, mut eventloop) = AsyncClient::new(opts, 16);
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            loop {
                let ev = eventloop.poll().await;
                let stop = ev.is_err();
                if tx.send(ev).is_err() || stop {
                    break;
                }
            }
        });
        let mut c = TestClient {
            client,
            events,
            task,
            published: 0,
            acked: 0,
            received: 0,
        };
        let deadline = Instant::now() + WAIT;
        loop {
            match c.next_event(deadline).await {
                Some(Ok(Event::Incoming(Packet::ConnAck(ack)))) => {
                    assert_eq!(ack.code, ConnectReturnCode::Success);
                    return Ok(c);
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(ConnectionError::NetworkTimeout),
            }
        }
    }

    /// Connects, retrying until `within` has passed (for a broker that is still starting).
    pub async fn connect_retrying(
        addr: SocketAddr,
        id: &str,
        credentials: Option<(&str, &str)>,
        within: Duration,
    ) -> Result<Self, ConnectionError> {
        let deadline = Instant::now() + within;
        loop {
            match Self::connect(addr, id, credentials).await {
                Ok(c) => return Ok(c),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }

    /// The next event before `deadline`; `None` on timeout or when the loop has ended.
    async fn next_event(&mut self, deadline: Instant) -> Option<Result<Event, ConnectionError>> {
        let ev = timeout(
            deadline.saturating_duration_since(Instant::now()),
            self.events.recv(),
        )
        .await
        .ok()
        .flatten();
        match &ev {
            Some(Ok(Event::Incoming(Packet::PubAck(_)))) => self.acked += 1,
            Some(Ok(Event::Incoming(Packet::Publish(_)))) => self.received += 1,
            _ => {}
        }
        ev
    }

    /// Waits for the first event `pick` accepts; panics on timeout or a connection error.
    async fn wait_for<T>(&mut self, what: &str, mut pick: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.next_event(deadline).await {
                Some(Ok(ev)) => {
                    if let Some(t) = pick(&ev) {
                        return t;
                    }
                }
                Some(Err(e)) => panic!("waiting for {what}: connection error {e}"),
                None => panic!("waiting for {what}: timed out"),
            }
        }
    }

    /// Subscribes at QoS 1 and waits for the SUBACK; returns whether it was granted.
    pub async fn subscribe(&mut self, filter: &str) -> bool {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .unwrap();
        self.wait_for("SUBACK", |ev| match ev {
            Event::Incoming(Packet::SubAck(s)) => Some(
                s.return_codes
                    .iter()
                    .all(|c| matches!(c, SubscribeReasonCode::Success(_))),
            ),
            _ => None,
        })
        .await
    }

    /// Sends a SUBSCRIBE at QoS 1 without waiting for the SUBACK.
    pub async fn subscribe_nowait(&mut self, filter: &str) {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .unwrap();
    }

    /// Publishes at QoS 1 without waiting.
    pub async fn publish(&mut self, topic: &str, payload: &[u8]) {
        self.publish_with(topic, payload, false).await;
    }

    /// Publishes at QoS 1 with the retain flag, without waiting.
    pub async fn publish_with(&mut self, topic: &str, payload: &[u8], retain: bool) {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.to_vec())
            .await
            .unwrap();
        self.published += 1;
    }

    /// Publishes at QoS 1 and waits until this and every earlier publish is acknowledged.
    pub async fn publish_acked(&mut self, topic: &str, payload: &[u8]) {
        self.publish(topic, payload).await;
        self.all_acked().await;
    }

    /// Publishes at QoS 1 and waits until every publish so far is acknowledged (`Ok`) or the
    /// broker closes the connection (`Err`, what the client saw). Panics on timeout.
    pub async fn try_publish_acked(
        &mut self,
        topic: &str,
        payload: &[u8],
    ) -> Result<(), ConnectionError> {
        self.publish(topic, payload).await;
        let deadline = Instant::now() + WAIT;
        while self.acked < self.published {
            match self.next_event(deadline).await {
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => panic!("waiting for a PUBACK or the connection's end: timed out"),
            }
        }
        Ok(())
    }

    /// Subscribes at QoS 1 and waits for the SUBACK (`Ok`, whether it was granted) or the
    /// connection's end (`Err`). Panics on timeout.
    pub async fn try_subscribe(&mut self, filter: &str) -> Result<bool, ConnectionError> {
        self.subscribe_nowait(filter).await;
        let deadline = Instant::now() + WAIT;
        loop {
            match self.next_event(deadline).await {
                Some(Ok(Event::Incoming(Packet::SubAck(s)))) => {
                    return Ok(s
                        .return_codes
                        .iter()
                        .all(|c| matches!(c, SubscribeReasonCode::Success(_))));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => panic!("waiting for a SUBACK or the connection's end: timed out"),
            }
        }
    }

    /// The PUBACKs received by the end of `window` (which this waits out: for checking that an
    /// acknowledgement has *not* come yet).
    pub async fn acked_after(&mut self, window: Duration) -> u64 {
        let deadline = Instant::now() + window;
        while let Some(ev) = self.next_event(deadline).await {
            if let Err(e) = ev {
                panic!("connection error {e}");
            }
        }
        self.acked
    }

    /// Waits until every publish so far is acknowledged; panics on timeout or error.
    pub async fn all_acked(&mut self) {
        let deadline = Instant::now() + WAIT;
        while self.acked < self.published {
            match self.next_event(deadline).await {
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("waiting for PUBACKs: connection error {e}"),
                None => panic!("waiting for PUBACKs: timed out"),
            }
        }
    }

    /// How many PUBLISHes this client has received so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next PUBLISH received.
    pub async fn next_publish(&mut self) -> Received {
        self.wait_for("a PUBLISH", |ev| match ev {
            Event::Incoming(Incoming::Publish(p)) => Some(Received {
                topic: p.topic.clone(),
                payload: p.payload.to_vec(),
            }),
            _ => None,
        })
        .await
    }

    /// Sends DISCONNECT and waits until the connection is closed.
    pub async fn disconnect(&mut self) {
        self.client.disconnect().await.unwrap();
        self.closed().await;
    }

    /// Waits until the broker closes the connection; returns the error the client saw. Panics
    /// on timeout.
    pub async fn closed(&mut self) -> ConnectionError {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.next_event(deadline).await {
                Some(Ok(_)) => {}
                Some(Err(e)) => return e,
                None => panic!("waiting for the broker to close the connection: timed out"),
            }
        }
    }
}

/// Reads from a raw socket until the peer closes it (EOF or reset); panics on timeout.
pub async fn wait_closed(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt as _;
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    let done = timeout(WAIT, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(done.is_ok(), "the broker did not close the connection");
    got
}

/// Polls `cond` every 5 ms until it holds; panics after [`WAIT`].
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[cfg(test)]
mod free_port_tests {
    /// Ports a test's servers get are free, never one twice in a process, and never in the
    /// range the kernel takes client connections' ports from (where another test's client
    /// could take one before its server binds it).
    #[test]
    fn free_ports_are_distinct_and_outside_the_ephemeral_range() {
        let first_ephemeral: u16 =
            std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
        let ports: Vec<u16> = (0..500).map(|_| super::free_port()).collect();
        let distinct: std::collections::HashSet<_> = ports.iter().collect();
        assert_eq!(distinct.len(), ports.len(), "a port handed out twice");
        for p in ports {
            assert!(p < first_ephemeral, "{p} is in the ephemeral range");
            std::net::TcpListener::bind(("127.0.0.1", p)).expect("a free port binds");
        }
    }
}
