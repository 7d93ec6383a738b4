//! The shell every Tidewatch MQTT client shares: how it logs in, its session, its socket
//! options and how it waits before it reconnects. The services' loops (ingest, fusion, the
//! console's feed, `up`'s own clients, the patrol unit) differ in what they do with what
//! arrives, never in these.

use std::time::Duration;

use rumqttc::{AsyncClient, EventLoop, MqttOptions};

/// MQTT keep-alive of a service on the centre's network: a dead connection is noticed
/// within about 1.5 times this.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Publishes a publisher's connection has at the broker unconfirmed at most (rumqttc's default
/// is 100). A broker that holds a publisher's PUBACK until its subscribers have the message (the
/// embedded one does, for fusion and the console) makes every window wait a round trip through
/// a subscriber: 100 capped ingest's observations at 100 per such round trip, and at 100 000
/// observations a second 1000 is only 10 ms of them (the loopback bench at 100k/s from four
/// receivers: p99 22–336 ms with 1000, 22–48 ms with 4000). Below the embedded broker's
/// `MAX_HELD_PER_CONNECTION` (4096), beyond which it stops reading a connection.
pub const PUBLISH_WINDOW: u16 = 4000;

/// Where a client connects and as whom: the one shape of every Tidewatch service's broker
/// (ingest, fusion, the console's feed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Broker host (the first node of a cluster).
    pub host: String,
    /// Broker port.
    pub port: u16,
    /// The cluster's other nodes, `(host, port)`, tried in turn when the current one is
    /// lost (a clustered broker keeps persistent sessions on every node).
    pub more: Vec<(String, u16)>,
    /// Client id: keep it stable, it names the persistent session.
    pub client_id: String,
    /// User name and password, when the broker asks for them.
    pub credentials: Option<(String, String)>,
}

impl Endpoint {
    /// Client `client_id` at `host:port`, no login.
    pub fn new(host: &str, port: u16, client_id: &str) -> Endpoint {
        Endpoint {
            host: host.to_owned(),
            port,
            more: Vec::new(),
            client_id: client_id.to_owned(),
            credentials: None,
        }
    }

    /// Client `client_id` of a broker reached at any of `nodes` (the first is tried
    /// first); `None` if the list is empty.
    pub fn cluster(nodes: &[(String, u16)], client_id: &str) -> Option<Endpoint> {
        let ((host, port), more) = nodes.split_first()?;
        let mut e = Endpoint::new(host, *port, client_id);
        e.more = more.to_vec();
        Some(e)
    }

    /// One [`Endpoint::options`] per node (the first node first), to hand to
    /// [`Failover`].
    pub fn node_options(
        &self,
        suffix: &str,
        persistent: bool,
        max_packet_bytes: usize,
    ) -> Vec<MqttOptions> {
        std::iter::once((self.host.as_str(), self.port))
            .chain(self.more.iter().map(|(h, p)| (h.as_str(), *p)))
            .map(|(host, port)| {
                options(
                    format!("{}{suffix}", self.client_id),
                    // An IPv6 address is written bracketed beside its port; the socket
                    // wants it bare.
                    host.trim_matches(['[', ']']),
                    port,
                    self.credentials.as_ref(),
                    persistent,
                    max_packet_bytes,
                )
            })
            .collect()
    }

    /// [`options`] of this endpoint's client, its id followed by `suffix` (a second
    /// connection of the same service: `-pub`).
    pub fn options(&self, suffix: &str, persistent: bool, max_packet_bytes: usize) -> MqttOptions {
        options(
            format!("{}{suffix}", self.client_id),
            self.host.clone(),
            self.port,
            self.credentials.as_ref(),
            persistent,
            max_packet_bytes,
        )
    }
}

/// Options of client `id` at `host:port`, logging in with `credentials` if given.
///
/// `persistent`: a persistent session (the broker keeps the subscriptions and what arrives
/// while the client is away) whose deliveries the client acknowledges itself, once it has
/// kept them; otherwise a clean session with acknowledgements sent at once (a publisher's
/// connection). Packets up to `max_packet_bytes` each way.
pub fn options(
    id: impl Into<String>,
    host: impl Into<String>,
    port: u16,
    credentials: Option<&(String, String)>,
    persistent: bool,
    max_packet_bytes: usize,
) -> MqttOptions {
    let mut o = MqttOptions::new(id, host, port);
    o.set_clean_session(!persistent);
    o.set_manual_acks(persistent);
    o.set_keep_alive(KEEP_ALIVE);
    o.set_max_packet_size(max_packet_bytes, max_packet_bytes);
    if !persistent {
        o.set_inflight(PUBLISH_WINDOW);
    }
    if let Some((u, p)) = credentials {
        o.set_credentials(u, p);
    }
    o
}

/// A client on `options` with room for `cap` requests, its socket without Nagle's delay:
/// acknowledgements are small, and a broker that holds its publishers' receipts until a
/// subscriber has a message waits on them.
pub fn connect(options: MqttOptions, cap: usize) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options, cap);
    no_delay(&mut eventloop);
    (client, eventloop)
}

/// Turn Nagle's delay off on `eventloop`'s socket.
pub fn no_delay(eventloop: &mut EventLoop) {
    let mut n = eventloop.network_options();
    n.set_tcp_nodelay(true);
    eventloop.set_network_options(n);
}

/// How every client waits before it polls a lost connection again (polling reconnects):
/// [`Backoff::FIRST`] after the first failure, doubling to [`Backoff::MAX`], and from the
/// start again once the broker has accepted the connection ([`Backoff::reset`] on CONNACK).
/// A dead broker is not hammered; a broker back after a restart is found within `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            next: Backoff::FIRST,
        }
    }
}

impl Backoff {
    /// The first wait.
    pub const FIRST: Duration = Duration::from_millis(100);
    /// The longest wait.
    pub const MAX: Duration = Duration::from_secs(5);

    /// The connection was accepted: the next failure waits [`Backoff::FIRST`] again.
    pub fn reset(&mut self) {
        self.next = Backoff::FIRST;
    }

    /// The wait after this failure (and the next one's doubles, up to [`Backoff::MAX`]).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Backoff::MAX);
        wait
    }

    /// Wait after a failure.
    pub async fn wait(&mut self) {
        tokio::time::sleep(self.next_wait()).await;
    }
}

/// How a client moves between the nodes of a clustered broker: on a lost connection it
/// points its event loop at the next node (keeping what is in flight, which the client
/// sends again once the session is resumed there) and waits as [`Backoff`] says. With one
/// node it only waits.
#[derive(Debug, Clone)]
pub struct Failover {
    nodes: Vec<MqttOptions>,
    at: usize,
    backoff: Backoff,
}

impl Failover {
    /// Over `nodes` (the options of one client at each node; at least one).
    ///
    /// # Panics
    /// If `nodes` is empty.
    pub fn new(nodes: Vec<MqttOptions>) -> Failover {
        assert!(!nodes.is_empty(), "a client needs at least one broker node");
        Failover {
            nodes,
            at: 0,
            backoff: Backoff::default(),
        }
    }

    /// The options to connect with first.
    pub fn first(&self) -> MqttOptions {
        self.nodes[0].clone()
    }

    /// A client on the first node ([`connect`]) with room for `cap` requests.
    pub fn connect(&self, cap: usize) -> (AsyncClient, EventLoop) {
        connect(self.first(), cap)
    }

    /// The broker accepted the connection (CONNACK).
    pub fn connected(&mut self) {
        self.backoff.reset();
    }

    /// `host:port` of the node the client is on (or trying).
    pub fn current(&self) -> String {
        let (h, p) = self.nodes[self.at].broker_address();
        format!("{h}:{p}")
    }

    /// The connection was lost or refused: point `eventloop` at the next node, then wait.
    pub async fn lost(&mut self, eventloop: &mut EventLoop) {
        if self.nodes.len() > 1 {
            self.at = (self.at + 1) % self.nodes.len();
            eventloop.mqtt_options = self.nodes[self.at].clone();
            tracing::info!(node = %self.current(), "trying the next broker node");
        }
        self.backoff.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_to_the_cap_and_start_again_after_a_connection() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..8).map(|_| b.next_wait().as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        b.reset();
        assert_eq!(b.next_wait(), Backoff::FIRST);
    }

    #[test]
    fn a_persistent_session_acknowledges_itself_a_clean_one_does_not() {
        let login = ("fusion".to_owned(), "secret".to_owned());
        let o = options("c", "127.0.0.1", 1883, Some(&login), true, 1 << 20);
        assert!(!o.clean_session());
        assert!(o.manual_acks());
        assert_eq!(o.keep_alive(), KEEP_ALIVE);
        let login = o.credentials().map(|l| (l.username, l.password));
        assert_eq!(login, Some(("fusion".to_owned(), "secret".to_owned())));
        let o = options("c-pub", "127.0.0.1", 1883, None, false, 1 << 20);
        assert!(o.clean_session());
        assert!(!o.manual_acks());
        assert_eq!(o.inflight(), PUBLISH_WINDOW);
        assert!(o.credentials().is_none());
    }

    #[tokio::test]
    async fn a_lost_connection_moves_the_client_to_the_next_node_and_round() {
        let nodes = [("10.0.0.1", 1883), ("10.0.0.2", 1884), ("10.0.0.3", 1885)]
            .map(|(h, p)| (h.to_owned(), p));
        let e = Endpoint::cluster(&nodes, "ingest").unwrap();
        let mut f = Failover::new(e.node_options("-pub", false, 1 << 16));
        let (_client, mut el) = f.connect(8);
        assert_eq!(el.mqtt_options.broker_address(), nodes[0]);
        assert_eq!(el.mqtt_options.client_id(), "ingest-pub");
        let mut seen = Vec::new();
        for _ in 0..3 {
            f.lost(&mut el).await;
            seen.push(el.mqtt_options.broker_address());
        }
        assert_eq!(seen, [nodes[1].clone(), nodes[2].clone(), nodes[0].clone()]);
        assert!(Endpoint::cluster(&[], "x").is_none());
    }
}
