//! The clustered bus (DESIGN.md "Beyond one machine"): three RabbitMQ nodes, ingest given
//! the list of nodes, the node ingest is on SIGKILLed mid-stream and started again. Every
//! line a receiver had acknowledged is archived and comes out as its observation to a
//! persistent subscriber on another node: ingest moved to the next node and resumed its
//! persistent session there (quorum queues keep it on every node).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ingest::service::{self, ServiceConfig, ServiceHandle};
use jiff::{SignedDuration, Timestamp};
use rumqttc::{Event, Packet, QoS};
use tidewatch_tests::cluster::{AckedPublisher, Cluster, Engine};

const RAW_TOPIC: &str = "tidewatch/v1/raw/ais/lampedusa";

/// The ids of the observations a local pipeline makes of `lines` (ids are derived from
/// content, so ingest's must be the same).
fn expected_ids(lines: &[String]) -> BTreeSet<String> {
    let mut p = ingest::pipeline::Pipeline::new();
    lines
        .iter()
        .flat_map(|l| {
            p.on_input(
                ingest::pipeline::Input::Ais {
                    source: "lampedusa",
                    payload: l.as_bytes(),
                },
                Timestamp::now(),
            )
        })
        .filter_map(|e| match e {
            ingest::pipeline::Event::Publish {
                observation,
                update: false,
                ..
            } => Some(observation.id.clone()),
            _ => None,
        })
        .collect()
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ingest_moves_to_another_rabbitmq_node_when_its_node_is_killed_and_loses_no_acknowledged_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut cluster = Cluster::start(Engine::RabbitMq, dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let start: Timestamp = "2026-11-22T02:00:00Z".parse().unwrap();
    let lines = simulators::scenario::receiver_lines(
        "central-med",
        "lampedusa",
        start,
        SignedDuration::from_mins(60),
    )
    .unwrap();
    let expected = expected_ids(&lines);
    assert!(expected.len() > 300, "{}", expected.len());

    // Fusion's place: a persistent subscriber on node 3 (then 1, 2).
    let seen = std::sync::Arc::new(std::sync::Mutex::new(BTreeSet::<String>::new()));
    let observer =
        ingest::link::client::Endpoint::cluster(&cluster.nodes_from(2), "bus-observer").unwrap();
    let mut observer_nodes =
        ingest::link::client::Failover::new(observer.node_options("", true, 1 << 20));
    let (obs_client, mut obs_el) = observer_nodes.connect(256);
    let subscribed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    {
        let (seen, subscribed) = (seen.clone(), subscribed.clone());
        rt.spawn(async move {
            loop {
                match obs_el.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        observer_nodes.connected();
                        let _ = obs_client
                            .subscribe("tidewatch/v1/obs/ais/#", QoS::AtLeastOnce)
                            .await;
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        subscribed.store(true, std::sync::atomic::Ordering::SeqCst)
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let o: ingest::model::Observation =
                            serde_json::from_slice(&p.payload).unwrap();
                        seen.lock().unwrap().insert(o.id);
                        let _ = obs_client.ack(&p).await;
                    }
                    Ok(_) => {}
                    Err(_) => observer_nodes.lost(&mut obs_el).await,
                }
            }
        });
    }
    wait_for("the observer subscribed", Duration::from_secs(60), || {
        subscribed.load(std::sync::atomic::Ordering::SeqCst)
    });

    // Ingest on node 2 first, knowing every node.
    let archive = dir.path().join("raw");
    let nodes = cluster.nodes_from(1);
    let mut cfg = ServiceConfig::new(&nodes[0].0, nodes[0].1, &archive);
    cfg.broker = ingest::link::client::Endpoint::cluster(&nodes, "tidewatch-ingest").unwrap();
    let handle = ServiceHandle::new();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = rt.spawn(service::run(cfg, handle.clone(), async move {
        let _ = stopped.await;
    }));
    wait_for("ingest subscribed", Duration::from_secs(60), || {
        handle.stats().subscribed
    });

    // A receiver on node 1, one line every 2 ms; node 2 dies a third of the way through
    // and comes back at two thirds.
    let receiver = AckedPublisher::start(&rt, &cluster.nodes_from(0), "bus-receiver", lines.len());
    for (i, l) in lines.iter().enumerate() {
        if i == lines.len() / 3 {
            cluster.kill(1);
        }
        if i == 2 * lines.len() / 3 {
            // Ingest is already on another node: it did not wait for its own to return.
            wait_for(
                "ingest connected and subscribed on another node while its own was down",
                Duration::from_secs(30),
                || {
                    let s = handle.stats();
                    s.connects >= 2 && s.subscribed
                },
            );
            cluster.restart(1);
        }
        receiver.publish(RAW_TOPIC, l.clone().into_bytes());
        std::thread::sleep(Duration::from_millis(2));
    }
    wait_for(
        "the receiver's lines acknowledged by node 1",
        Duration::from_secs(60),
        || receiver.acked().iter().all(|a| *a),
    );
    wait_for(
        "every observation delivered to the observer",
        Duration::from_secs(180),
        || seen.lock().unwrap().is_superset(&expected),
    );

    // And the archive holds every line.
    let _ = stop.send(());
    rt.block_on(task).unwrap().unwrap();
    let archived: BTreeSet<Vec<u8>> = ingest::archive::files(&archive)
        .unwrap()
        .iter()
        .flat_map(|f| ingest::archive::read_file(f).unwrap())
        .map(|r| r.line)
        .collect();
    let missing = lines
        .iter()
        .filter(|l| !archived.contains(l.as_bytes()))
        .count();
    assert_eq!(
        missing, 0,
        "lines acknowledged to the receiver but not archived"
    );
}
