//! Engines people already run, started by Tidewatch on one machine: PostgreSQL for the consoles'
//! shared store and RabbitMQ for the clustered bus, for `tidewatch deploy` (the multi-node
//! layout on one machine, for trying it) and the tests that need them. Each is Debian's
//! package, run from a directory of its own on loopback.

pub mod postgres;
pub mod rabbitmq;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ingest::link::client;
use rumqttc::{Event, Packet};

/// Wait until the MQTT listener at `port` accepts a connection (a CONNACK), for at most
/// `within`.
pub fn wait_mqtt(port: u16, within: Duration) -> bool {
    let start = Instant::now();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return false;
    };
    rt.block_on(async {
        while start.elapsed() < within {
            let (_c, mut el) = client::connect(
                client::options(
                    format!("ready-{port}"),
                    "127.0.0.1",
                    port,
                    None,
                    false,
                    1 << 16,
                ),
                8,
            );
            let got = tokio::time::timeout(Duration::from_secs(5), async {
                loop {
                    match el.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => return true,
                        // It answers MQTT, and has no account for us yet (`tidewatch
                        // deploy` makes them once the nodes are up).
                        Err(rumqttc::ConnectionError::ConnectionRefused(_)) => return true,
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
            })
            .await;
            if got == Ok(true) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    })
}

/// Send `signal` (`INT`, `TERM`, `KILL`) to `child`, or to its whole process group.
pub fn signal(child: &Child, signal: &str, group: bool) {
    let target = if group {
        format!("-{}", child.id())
    } else {
        child.id().to_string()
    };
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &target])
        .stderr(Stdio::null())
        .status();
}

/// Wait for `child` to end until `deadline`, then SIGKILL what is left of its process group
/// and reap it.
pub fn reap(child: &mut Child, deadline: Instant) {
    while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    signal(child, "KILL", true);
    let _ = child.wait();
}
