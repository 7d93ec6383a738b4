//! Clustered MQTT brokers from Debian, started on loopback for the bus tests and the
//! failover measurement (`cargo bench -p tidewatch-tests --bench bus_failover`): three
//! RabbitMQ nodes (MQTT plugin, quorum queues for persistent sessions), three NATS nodes
//! (MQTT on JetStream, three replicas), and one Mosquitto as the single-node control.
//!
//! Every node runs in a process group of its own so [`Cluster::kill`] takes it down the
//! way a failed server goes: SIGKILL to the whole group, nothing flushed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ingest::link::client::{self, Failover};
use ops_console::engines::rabbitmq;
use rumqttc::{Event, Packet};

/// A broker engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `rabbitmq-server` 3.10 with the MQTT plugin, `mqtt.durable_queue_type = quorum`.
    RabbitMq,
    /// `nats-server` 2.9 with JetStream and MQTT, streams and consumers on three replicas.
    Nats,
    /// `mosquitto` 2.0, one node, persistence saved every second (the control).
    Mosquitto,
}

impl Engine {
    /// The engine's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Engine::RabbitMq => "RabbitMQ 3.10 (3 nodes, quorum queues)",
            Engine::Nats => "NATS 2.9 (3 nodes, MQTT on JetStream R3)",
            Engine::Mosquitto => "Mosquitto 2.0 (1 node, control)",
        }
    }

    /// The program the engine needs; panics with the package to install when missing
    /// (tests that need it fail loudly, never skip).
    pub fn require(self) -> PathBuf {
        let (path, package) = match self {
            Engine::RabbitMq => ("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server"),
            Engine::Nats => ("/usr/sbin/nats-server", "nats-server"),
            Engine::Mosquitto => ("/usr/sbin/mosquitto", "mosquitto"),
        };
        let p = PathBuf::from(path);
        assert!(
            p.exists(),
            "{path} is missing: run tests/install-deps.sh (Debian package {package})"
        );
        p
    }
}

pub use crate::free_port;

#[derive(Debug)]
struct Node {
    name: String,
    mqtt_port: u16,
    child: Option<Child>,
}

/// A running cluster (or single node); every node is killed when it drops.
#[derive(Debug)]
pub struct Cluster {
    /// The engine.
    pub engine: Engine,
    dir: PathBuf,
    nodes: Vec<Node>,
    /// NATS: the cluster route ports of all nodes.
    routes: Vec<u16>,
}

impl Cluster {
    /// Start `engine` in `dir` (three nodes, or one for Mosquitto) and wait until every
    /// node accepts MQTT connections (and, for RabbitMQ, has joined the first).
    pub fn start(engine: Engine, dir: &Path) -> Cluster {
        engine.require();
        let n = if engine == Engine::Mosquitto { 1 } else { 3 };
        let tag = free_port();
        let nodes = (0..n)
            .map(|i| Node {
                name: format!("tw{tag}n{}", i + 1),
                mqtt_port: free_port(),
                child: None,
            })
            .collect();
        let routes = (0..n).map(|_| free_port()).collect();
        if engine == Engine::RabbitMq {
            // The nodes and rabbitmqctl share an Erlang cookie: one made here, in a home
            // of the cluster's own (three nodes starting at once would race to make one).
            rabbitmq::write_cookie(dir, &format!("TIDEWATCHTEST{tag}")).expect("cookie");
        }
        let mut c = Cluster {
            engine,
            dir: dir.to_owned(),
            nodes,
            routes,
        };
        for i in 0..n {
            c.spawn(i);
        }
        for i in 0..n {
            c.wait_ready(i);
        }
        if engine == Engine::RabbitMq {
            let nodes: Vec<_> = (0..n).map(|i| c.rabbit_node(i, 0, 0)).collect();
            rabbitmq::join(dir, &nodes).unwrap_or_else(|e| panic!("{e:#}"));
            for i in 0..n {
                c.wait_ready(i);
            }
        }
        c
    }

    /// `(host, port)` of every node's MQTT listener, the first node first.
    pub fn mqtt_nodes(&self) -> Vec<(String, u16)> {
        self.nodes
            .iter()
            .map(|n| ("127.0.0.1".to_owned(), n.mqtt_port))
            .collect()
    }

    /// The nodes starting at `first` and going round: the order a client tries them.
    pub fn nodes_from(&self, first: usize) -> Vec<(String, u16)> {
        let all = self.mqtt_nodes();
        (0..all.len())
            .map(|k| all[(first + k) % all.len()].clone())
            .collect()
    }

    /// How many nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never: a cluster has at least one node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// SIGKILL node `i` (its whole process group).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            ops_console::engines::signal(&child, "KILL", true);
            let _ = child.wait();
        }
    }

    /// Start node `i` again on its data and wait until it serves MQTT.
    pub fn restart(&mut self, i: usize) {
        self.spawn(i);
        self.wait_ready(i);
    }

    fn rabbit_node(&self, i: usize, amqp: u16, dist: u16) -> rabbitmq::RabbitNode {
        rabbitmq::RabbitNode {
            name: self.nodes[i].name.clone(),
            mqtt: self.nodes[i].mqtt_port,
            amqp,
            dist,
        }
    }

    fn spawn(&mut self, i: usize) {
        let node_dir = self.dir.join(&self.nodes[i].name);
        std::fs::create_dir_all(&node_dir).expect("node directory");
        let port = self.nodes[i].mqtt_port;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(node_dir.join("out.log"))
            .expect("node log");
        let mut cmd = match self.engine {
            Engine::RabbitMq => {
                // The same configuration `tidewatch deploy` runs.
                let n = self.rabbit_node(i, free_port(), free_port());
                rabbitmq::write_node(&node_dir, &n, None).expect("RabbitMQ configuration");
                rabbitmq::node_command(&self.dir, &node_dir, &n)
            }
            Engine::Nats => {
                let routes: Vec<String> = self
                    .routes
                    .iter()
                    .map(|p| format!("nats://127.0.0.1:{p}"))
                    .collect();
                std::fs::write(
                    node_dir.join("nats.conf"),
                    format!(
                        "server_name: {name}\nlisten: 127.0.0.1:{client}\n\
                         jetstream {{ store_dir: \"{store}\" }}\n\
                         cluster {{ name: tw, listen: 127.0.0.1:{route}, routes: [{routes}] }}\n\
                         mqtt {{ listen: 127.0.0.1:{port}, stream_replicas: 3, consumer_replicas: 3 }}\n",
                        name = self.nodes[i].name,
                        client = free_port(),
                        store = node_dir.join("js").display(),
                        route = self.routes[i],
                        routes = routes.join(", "),
                    ),
                )
                .expect("nats.conf");
                let mut c = Command::new(Engine::Nats.require());
                c.arg("-c").arg(node_dir.join("nats.conf"));
                c
            }
            Engine::Mosquitto => {
                std::fs::write(
                    node_dir.join("mosquitto.conf"),
                    format!(
                        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\n\
                         persistence_location {}/\nautosave_interval 1\n",
                        node_dir.display()
                    ),
                )
                .expect("mosquitto.conf");
                let mut c = Command::new(Engine::Mosquitto.require());
                c.arg("-c").arg(node_dir.join("mosquitto.conf"));
                c
            }
        };
        use std::os::unix::process::CommandExt;
        cmd.process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        self.nodes[i].child = Some(cmd.spawn().expect("start the broker node"));
    }

    /// Wait until node `i` accepts an MQTT connection (a CONNACK that accepts); a node whose
    /// program ends first fails at once, with its output.
    fn wait_ready(&mut self, i: usize) {
        let start = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.nodes[i].child.as_mut().map(Child::try_wait) {
                self.not_ready(i, &format!("ended before it served MQTT ({status})"));
            }
            if ops_console::engines::wait_mqtt(self.nodes[i].mqtt_port, Duration::from_secs(2)) {
                return;
            }
            if start.elapsed() > rabbitmq::READY_WITHIN {
                let within = rabbitmq::READY_WITHIN;
                self.not_ready(i, &format!("did not serve MQTT within {within:?}"));
            }
        }
    }

    fn not_ready(&self, i: usize, why: &str) -> ! {
        panic!(
            "{} node {} {why}; its output (the scratch directory goes with the run):\n{}",
            self.engine.name(),
            i + 1,
            tail(&self.dir.join(&self.nodes[i].name).join("out.log"), 4000)
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
    }
}

/// What one failover probe saw ([`probe`]).
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    /// Messages the publisher handed to its client.
    pub sent: usize,
    /// Of those, acknowledged by the broker (PUBACK).
    pub acked: usize,
    /// Acknowledged messages the persistent subscriber never received.
    pub lost_acked: usize,
    /// Deliveries beyond the first of a message.
    pub duplicates: usize,
    /// From the kill to the subscriber's next delivery.
    pub resumed_after: Option<Duration>,
    /// Messages received that were never acknowledged to the publisher (allowed: the
    /// acknowledgement, not the message, was lost).
    pub unacked_received: usize,
}

impl ProbeReport {
    /// One line for a table.
    pub fn line(&self) -> String {
        format!(
            "sent {} · acked {} · acked never delivered {} · duplicates {} · delivered unacked {} · deliveries resumed {}",
            self.sent,
            self.acked,
            self.lost_acked,
            self.duplicates,
            self.unacked_received,
            self.resumed_after
                .map(|d| format!("{:.1} s after the kill", d.as_secs_f64()))
                .unwrap_or_else(|| "never".into())
        )
    }
}

/// How a probe runs: `total` numbered QoS 1 messages, one every `interval`, from a
/// publisher on node `publisher` to a persistent QoS 1 subscriber on node `subscriber`;
/// node `victim` is SIGKILLed after a third and started again after two thirds; both
/// clients move between nodes with [`Failover`], as Tidewatch's services do.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Messages to send.
    pub total: usize,
    /// Between two publishes.
    pub interval: Duration,
    /// The publisher's first node.
    pub publisher: usize,
    /// The subscriber's first node.
    pub subscriber: usize,
    /// The node killed.
    pub victim: usize,
    /// After the last publish, how long to wait for deliveries still due.
    pub drain: Duration,
}

/// Run `p` against `cluster` (see [`Probe`]).
pub fn probe(cluster: &mut Cluster, p: Probe) -> ProbeReport {
    use rumqttc::QoS;
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    const TOPIC: &str = "tidewatch/v1/probe/seq";
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tag = free_port();
    let sub_nodes = cluster.nodes_from(p.subscriber);
    let pub_nodes = cluster.nodes_from(p.publisher);
    let received: Arc<Mutex<HashMap<usize, usize>>> = Arc::default();
    // When the node was killed, and how long until the next delivery.
    type KillClock = Option<(Instant, Option<Duration>)>;
    let kill_at: Arc<Mutex<KillClock>> = Arc::default();

    // The subscriber: a persistent session, acknowledging what it has kept.
    let sub_endpoint =
        client::Endpoint::cluster(&sub_nodes, &format!("probe-sub-{tag}")).expect("nodes");
    let mut sub_failover = Failover::new(sub_endpoint.node_options("", true, 1 << 16));
    let (sub, mut sub_el) = sub_failover.connect(1024);
    let subscribed = Arc::new(tokio::sync::Notify::new());
    {
        let received = received.clone();
        let kill_at = kill_at.clone();
        let subscribed = subscribed.clone();
        let sub = sub.clone();
        rt.spawn(async move {
            loop {
                match sub_el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        sub_failover.connected();
                        let _ = sub.subscribe(TOPIC, QoS::AtLeastOnce).await;
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => subscribed.notify_one(),
                    Ok(Event::Incoming(Packet::Publish(m))) => {
                        if let Some(seq) = std::str::from_utf8(&m.payload)
                            .ok()
                            .and_then(|s| s.parse::<usize>().ok())
                        {
                            *received.lock().unwrap().entry(seq).or_default() += 1;
                        }
                        if let Some((at, resumed @ None)) = &mut *kill_at.lock().unwrap() {
                            *resumed = Some(at.elapsed());
                        }
                        let _ = sub.ack(&m).await;
                    }
                    Ok(_) => {}
                    Err(_) => sub_failover.lost(&mut sub_el).await,
                }
            }
        });
    }
    let subscribed_in_time = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), subscribed.notified())
            .await
            .is_ok()
    });
    assert!(
        subscribed_in_time,
        "the probe's subscriber was never subscribed"
    );

    let publisher = AckedPublisher::start(&rt, &pub_nodes, &format!("probe-pub-{tag}"), p.total);
    let mut report = ProbeReport::default();
    for seq in 0..p.total {
        if seq == p.total / 3 {
            cluster.kill(p.victim);
            *kill_at.lock().unwrap() = Some((Instant::now(), None));
        }
        if seq == 2 * p.total / 3 {
            cluster.restart(p.victim);
        }
        publisher.publish(TOPIC, seq.to_string().into_bytes());
        report.sent += 1;
        std::thread::sleep(p.interval);
    }
    // Wait for what is due: every acknowledged message delivered, or the drain time up.
    let deadline = Instant::now() + p.drain;
    loop {
        let done = {
            let acked = publisher.acked();
            let received = received.lock().unwrap();
            acked
                .iter()
                .enumerate()
                .all(|(seq, a)| !a || received.contains_key(&seq))
        };
        if done || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // A little longer for late duplicates.
    std::thread::sleep(Duration::from_secs(1));
    let acked = publisher.acked();
    let received = received.lock().unwrap().clone();
    report.acked = acked.iter().filter(|a| **a).count();
    report.lost_acked = acked
        .iter()
        .enumerate()
        .filter(|(seq, a)| **a && !received.contains_key(seq))
        .count();
    report.duplicates = received.values().map(|n| n - 1).sum();
    report.unacked_received = received
        .keys()
        .filter(|seq| !acked.get(**seq).copied().unwrap_or(false))
        .count();
    report.resumed_after = kill_at.lock().unwrap().and_then(|(_, r)| r);
    rt.shutdown_timeout(Duration::from_secs(1));
    report
}

/// A QoS 1 publisher (a clean session, as receivers and Tidewatch's publishers have) that
/// moves between `nodes` and knows which of its messages the broker acknowledged: each
/// PUBACK is matched to its message through the packet id the client gave it when it first
/// went out (a resend keeps its id).
#[derive(Debug)]
pub struct AckedPublisher {
    client: rumqttc::AsyncClient,
    handed: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<usize>>>,
    acked: std::sync::Arc<std::sync::Mutex<Vec<bool>>>,
    next: std::sync::atomic::AtomicUsize,
}

impl AckedPublisher {
    /// Client `id` at `nodes` (the first first), on `rt`, for at most `capacity` messages.
    pub fn start(
        rt: &tokio::runtime::Runtime,
        nodes: &[(String, u16)],
        id: &str,
        capacity: usize,
    ) -> AckedPublisher {
        use rumqttc::Outgoing;
        use std::collections::HashMap;
        let endpoint = client::Endpoint::cluster(nodes, id).expect("at least one node");
        // Every message gets a packet id of its own (no id is reused within the run), so
        // a PUBACK names one message for sure, whatever was resent or held back.
        assert!(
            capacity < usize::from(u16::MAX) - 1,
            "at most 65 533 messages"
        );
        let mut nodes = endpoint.node_options("", false, 1 << 20);
        for o in &mut nodes {
            o.set_inflight(u16::MAX);
        }
        let mut failover = Failover::new(nodes);
        let (client, mut el) = failover.connect(capacity + 16);
        let acked = std::sync::Arc::new(std::sync::Mutex::new(vec![false; capacity]));
        let handed = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::new()));
        let (a, h) = (acked.clone(), handed.clone());
        rt.spawn(async move {
            let mut in_flight: HashMap<u16, usize> = HashMap::new();
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => failover.connected(),
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        if let std::collections::hash_map::Entry::Vacant(e) = in_flight.entry(pkid)
                            && let Some(seq) = h.lock().unwrap().pop_front()
                        {
                            e.insert(seq);
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        if let Some(seq) = in_flight.remove(&ack.pkid) {
                            a.lock().unwrap()[seq] = true;
                        }
                    }
                    Ok(_) => {}
                    Err(_) => failover.lost(&mut el).await,
                }
            }
        });
        AckedPublisher {
            client,
            handed,
            acked,
            next: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Hand message number `n` (0, 1, 2… in call order) to the client; returns `n`.
    ///
    /// # Panics
    /// Past the capacity given at start.
    pub fn publish(&self, topic: &str, payload: Vec<u8>) -> usize {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.handed.lock().unwrap().push_back(n);
        self.client
            .try_publish(topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .expect("room in the publisher's queue");
        n
    }

    /// Which messages the broker acknowledged, by number.
    pub fn acked(&self) -> Vec<bool> {
        self.acked.lock().unwrap().clone()
    }
}

/// The last `bytes` of the file at `path` (what a node said before it failed), or why not.
fn tail(path: &Path, bytes: usize) -> String {
    match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b[b.len().saturating_sub(bytes)..]).into_owned(),
        Err(e) => format!("{}: {e}", path.display()),
    }
}
