//! The burst probe of issue 18 §2: a satellite feed reconnecting after an outage delivers
//! `--reports` position reports of `--vessels` vessels as fast as the broker takes them
//! (`--lines-per-message` lines a message, QoS 1). Does fusion see every observation ingest
//! made, and does a slow QoS 1 subscriber (`--slow-ms` per message, persistent session) lose
//! anything silently?
//!
//! ```text
//! cargo build --release -p ops-console
//! cargo bench -p tidewatch-tests --bench burst -- [--reports 200000] [--vessels 100000] [--lines-per-message 100] [--slow-ms 2] [--embedded-only]
//! ```
//!
//! Two systems, one after the other, the same burst:
//!
//! - **embedded**: `tidewatch up` (the real binary). Its broker admits no subscriber to
//!   observations but fusion and the console (by their roles), which it holds to "must see":
//!   a publisher's PUBACK waits until they have the message. The slow subscriber here is
//!   the console's own feed; nothing else can subscribe.
//! - **mosquitto**: Debian `mosquitto` with its default `max_queued_messages 1000`,
//!   `tidewatch ingest` and `tidewatch fusion` (the real binaries) against it, and the slow
//!   subscriber (anonymous, persistent session) beside fusion.
//!
//! Reported for each: how long the burst took to be acknowledged, observations ingest
//! made, what fusion took, what the slow subscriber got, what the broker counted as lost,
//! and the peak RSS of the processes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tidewatch_tests::bench::{Up, metric, peak_rss_mib, scrape, tidewatch};
use tidewatch_tests::{Mosquitto, free_port, position_reports};

struct Args {
    reports: usize,
    vessels: usize,
    lines_per_message: usize,
    slow_ms: u64,
    embedded_only: bool,
}

fn argv_has(flag: &str) -> bool {
    std::env::args().any(|a| a == flag)
}

fn args() -> Args {
    let mut a = Args {
        reports: 200_000,
        vessels: 100_000,
        lines_per_message: 100,
        slow_ms: 2,
        embedded_only: argv_has("--embedded-only"),
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (argv[i].as_str(), value) {
            ("--reports", Some(v)) => a.reports = v.max(1) as usize,
            ("--vessels", Some(v)) => a.vessels = v.max(1) as usize,
            ("--lines-per-message", Some(v)) => a.lines_per_message = v.max(1) as usize,
            ("--slow-ms", Some(v)) => a.slow_ms = v,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

/// Waits until `read` gives the same value for `quiet`, or `within` has passed; the value.
fn settle(mut read: impl FnMut() -> u64, quiet: Duration, within: Duration) -> u64 {
    let deadline = Instant::now() + within;
    let mut last = read();
    let mut since = Instant::now();
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        let v = read();
        if v != last {
            (last, since) = (v, Instant::now());
        } else if since.elapsed() >= quiet {
            break;
        }
    }
    last
}

/// Publishes the burst as one receiver, anonymously, at QoS 1; the time until every message
/// was acknowledged.
async fn publish(broker: SocketAddr, messages: &[Vec<u8>]) -> Duration {
    let mut o = MqttOptions::new("burst-receiver", broker.ip().to_string(), broker.port());
    o.set_max_packet_size(1 << 20, 1 << 20);
    o.set_keep_alive(Duration::from_secs(60));
    let (c, mut el) = AsyncClient::new(o, 1024);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match el.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => break,
            Ok(_) => {}
            Err(_) => {
                assert!(Instant::now() < deadline, "no broker at {broker}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    let start = Instant::now();
    let publisher = {
        let messages = messages.to_vec();
        tokio::spawn(async move {
            for m in messages {
                c.publish("tidewatch/v1/raw/ais/burst", QoS::AtLeastOnce, false, m)
                    .await
                    .unwrap();
            }
        })
    };
    let mut acked = 0;
    while acked < messages.len() {
        if let Event::Incoming(Packet::PubAck(_)) = el.poll().await.expect("the broker stays") {
            acked += 1;
        }
    }
    publisher.await.unwrap();
    start.elapsed()
}

/// The slow subscriber: persistent session, QoS 1, `slow_ms` a message; counts what it gets.
fn slow_subscriber(broker: SocketAddr, slow_ms: u64, got: Arc<AtomicU64>) {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let mut o = MqttOptions::new("slow-subscriber", "127.0.0.1", broker.port());
                o.set_clean_session(false);
                o.set_manual_acks(true);
                let (c, mut el) = AsyncClient::new(o, 64);
                c.subscribe("tidewatch/v1/obs/#", QoS::AtLeastOnce)
                    .await
                    .unwrap();
                loop {
                    match el.poll().await {
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            std::thread::sleep(Duration::from_millis(slow_ms));
                            got.fetch_add(1, Ordering::Relaxed);
                            let _ = c.ack(&p).await;
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            });
    });
}

struct Outcome {
    acked_in: Duration,
    ingest_obs: u64,
    fusion_obs: u64,
    slow_got: Option<u64>,
    broker_lost: Option<u64>,
    drained_in: Duration,
    rss_mib: f64,
    /// What fusion refused, by the metric's sum, and its connection errors.
    fusion_refused: u64,
    fusion_connection_errors: u64,
}

fn embedded(messages: &[Vec<u8>], rt: &tokio::runtime::Runtime) -> Outcome {
    let up = Up::start();
    let (mqtt_addr, http_addr) = (up.mqtt, up.http);
    let acked_in = rt.block_on(publish(mqtt_addr, messages));
    let t = Instant::now();
    let fusion_obs = settle(
        || metric(&scrape(http_addr), "tidewatch_fusion_observations_total"),
        Duration::from_secs(10),
        Duration::from_secs(600),
    );
    let drained_in = t.elapsed().saturating_sub(Duration::from_secs(10));
    let text = scrape(http_addr);
    let out = Outcome {
        fusion_refused: metric(&text, "tidewatch_fusion_rejected_total"),
        fusion_connection_errors: metric(&text, "tidewatch_fusion_connection_errors_total"),
        acked_in,
        ingest_obs: metric(&text, "tidewatch_ingest_observations_total"),
        fusion_obs,
        slow_got: None,
        broker_lost: Some(metric(&text, "tidewatch_broker_lost_total")),
        drained_in,
        rss_mib: peak_rss_mib(up.child.id()),
    };
    drop(up);
    out
}

fn mosquitto(a: &Args, messages: &[Vec<u8>], rt: &tokio::runtime::Runtime) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let broker = Mosquitto::start_queue(false, 1000);
    let broker_addr = format!("127.0.0.1:{}", broker.port);
    let (im, fm) = (free_port(), free_port());
    let ingest_metrics: SocketAddr = ([127, 0, 0, 1], im).into();
    let fusion_metrics: SocketAddr = ([127, 0, 0, 1], fm).into();
    let data = dir.path().to_str().unwrap();
    let mut ingest = tidewatch(&[
        "ingest",
        "--broker",
        &broker_addr,
        "--data",
        data,
        "--metrics",
        &ingest_metrics.to_string(),
    ]);
    let mut fusion = tidewatch(&[
        "fusion",
        "--broker",
        &broker_addr,
        "--data",
        data,
        "--metrics",
        &fusion_metrics.to_string(),
    ]);
    let slow = Arc::new(AtomicU64::new(0));
    slow_subscriber(
        ([127, 0, 0, 1], broker.port).into(),
        a.slow_ms,
        slow.clone(),
    );
    std::thread::sleep(Duration::from_secs(2)); // ingest, fusion and the subscriber subscribe
    let acked_in = rt.block_on(publish(([127, 0, 0, 1], broker.port).into(), messages));
    let t = Instant::now();
    let fusion_obs = settle(
        || {
            metric(
                &scrape(fusion_metrics),
                "tidewatch_fusion_observations_total",
            )
        },
        Duration::from_secs(10),
        Duration::from_secs(600),
    );
    let slow_got = settle(
        || slow.load(Ordering::Relaxed),
        Duration::from_secs(5),
        Duration::from_secs(600),
    );
    let drained_in = t.elapsed().saturating_sub(Duration::from_secs(15));
    let fusion_text = scrape(fusion_metrics);
    let out = Outcome {
        fusion_refused: metric(&fusion_text, "tidewatch_fusion_rejected_total"),
        fusion_connection_errors: metric(&fusion_text, "tidewatch_fusion_connection_errors_total"),
        acked_in,
        ingest_obs: metric(
            &scrape(ingest_metrics),
            "tidewatch_ingest_observations_total",
        ),
        fusion_obs,
        slow_got: Some(slow_got),
        broker_lost: None,
        drained_in,
        rss_mib: peak_rss_mib(ingest.id()) + peak_rss_mib(fusion.id()),
    };
    for p in [&mut ingest, &mut fusion] {
        let _ = p.kill();
        let _ = p.wait();
    }
    out
}

fn main() {
    let a = args();
    let lines = position_reports(a.reports, a.vessels);
    let messages: Vec<Vec<u8>> = lines
        .chunks(a.lines_per_message)
        .map(|c| {
            c.iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .into_bytes()
        })
        .collect();
    println!(
        "burst: {} reports of {} vessels in {} messages of {} lines; slow subscriber {} ms a message",
        a.reports,
        a.vessels,
        messages.len(),
        a.lines_per_message,
        a.slow_ms
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut runs = vec![("embedded (tidewatch up)", embedded(&messages, &rt))];
    if !a.embedded_only {
        runs.push((
            "mosquitto (max_queued_messages 1000) + tidewatch ingest + fusion",
            mosquitto(&a, &messages, &rt),
        ));
    }
    for (name, o) in runs {
        println!("{name}:");
        println!(
            "  burst acknowledged in {:.1} s; drained {:.1} s after",
            o.acked_in.as_secs_f64(),
            o.drained_in.as_secs_f64()
        );
        println!(
            "  observations: ingest {}, fusion {} ({} not seen by fusion)",
            o.ingest_obs,
            o.fusion_obs,
            o.ingest_obs.saturating_sub(o.fusion_obs)
        );
        println!(
            "  fusion refused {}, connection errors {}",
            o.fusion_refused, o.fusion_connection_errors
        );
        match o.slow_got {
            Some(n) => println!(
                "  slow subscriber: {n} of {} ({} dropped, counted nowhere)",
                o.ingest_obs,
                o.ingest_obs.saturating_sub(n)
            ),
            None => println!(
                "  slow subscriber: none can subscribe; fusion and the console are held to must-see"
            ),
        }
        if let Some(l) = o.broker_lost {
            println!("  broker: {l} messages counted lost");
        }
        println!("  peak RSS {:.0} MiB", o.rss_mib);
    }
}
