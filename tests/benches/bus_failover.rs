//! The bus under a node kill: every engine of DESIGN.md "Beyond one machine" measured the
//! same way, with the clients Tidewatch's services use (rumqttc moving between nodes with
//! `ingest::link::client::Failover`).
//!
//! ```text
//! cargo bench -p tidewatch-tests --bench bus_failover            # all three engines
//! BUS_ENGINES=rabbitmq BUS_TOTAL=20000 cargo bench -p tidewatch-tests --bench bus_failover
//! ```
//!
//! Per engine and run: `BUS_TOTAL` (default 9 000) numbered QoS 1 messages, one a
//! millisecond, from a publisher on node 1 to a persistent QoS 1 subscriber on node 2;
//! node 2 is SIGKILLed after a third and restarted after two thirds (Mosquitto, alone, is
//! its own node 1 and 2). Reported: acknowledged messages never delivered (must be 0),
//! duplicates, how long the subscriber went without a delivery. `BUS_RUNS` runs each.

use std::time::Duration;

use tidewatch_tests::cluster::{Cluster, Engine, Probe, probe};

fn main() {
    let total: usize = std::env::var("BUS_TOTAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(9_000);
    let runs: usize = std::env::var("BUS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let engines = std::env::var("BUS_ENGINES").unwrap_or_else(|_| "rabbitmq,nats,mosquitto".into());
    for name in engines.split(',') {
        let engine = match name.trim() {
            "rabbitmq" => Engine::RabbitMq,
            "nats" => Engine::Nats,
            "mosquitto" => Engine::Mosquitto,
            other => panic!("BUS_ENGINES: unknown engine {other:?} (rabbitmq, nats, mosquitto)"),
        };
        for run in 1..=runs {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut cluster = Cluster::start(engine, dir.path());
            let (publisher, subscriber) = if cluster.len() > 1 { (0, 1) } else { (0, 0) };
            let report = probe(
                &mut cluster,
                Probe {
                    total,
                    interval: Duration::from_millis(1),
                    publisher,
                    subscriber,
                    victim: subscriber,
                    drain: Duration::from_secs(60),
                },
            );
            println!("{} run {run}: {}", engine.name(), report.line());
        }
    }
}
