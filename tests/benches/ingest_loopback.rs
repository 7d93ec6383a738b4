//! Loopback benchmark of the live path: receiver → MQTT broker → ingest (decode, raw
//! archive with fsync, dedup) → observation on `tidewatch/v1/obs/ais/...` → a subscriber.
//!
//! The same load runs against the embedded broker and against Mosquitto (Debian
//! `mosquitto`, started here), alternating, so the ratio is measured in one run on one
//! machine. Each sentence carries its send time (tag block `c:`, milliseconds); the
//! subscriber takes latency as arrival minus that time.
//!
//! ```text
//! cargo bench -p tidewatch-tests --bench ingest_loopback -- [--rate 50000] [--warmup 5] [--seconds 10] [--rounds 3] [--lines-per-message 10] [--window 100] [--receivers 1] [--embedded-only]
//! ```
//!
//! `--window`: the receiver's window of unacknowledged publishes (rumqttc's default 100; a
//! Mosquitto client's 20). The broker acknowledges a raw message only once ingest has archived
//! it and fusion has its observations, so one receiver's throughput is at most its window per
//! such round trip; a centre's receivers each have their own (`--receivers N`: the messages
//! go to N connections in turn, each on its own topic `raw/ais/bench-{i}`).
//!
//! Each round offers the rate for `--warmup` seconds and then for `--seconds` measured
//! ones; latency percentiles are of what was sent in the measured seconds, the warm-up's
//! p99 and max are printed beside them. Every sentence, warm-up included, must be observed.
//!
//! `TW_TRACE=1` prints every 25 000th latency as it arrives: a standing queue shows as steps
//! that never come down. `TW_DUMP=FILE` writes every arrival (seconds since the subscription,
//! latency in ms) to FILE: a stall shows as a gap followed by a step that drains slowly.
//!
//! Processes: ingest runs in this process on its own thread and runtime (as `tidewatch
//! up` runs it, with the embedded broker beside it on another); the publisher (the
//! receivers) and the subscriber (fusion) each have a thread of their own, as separate
//! processes would. (When both shared one thread, that thread was the busiest of all
//! and its own queueing was measured as the system's.)

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ingest::service::{self, ServiceConfig, ServiceHandle};
use jiff::Timestamp;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tidewatch_broker::{Broker, BrokerConfig, Role};

/// The `tidewatch` binary's allocator, so that ingest and the broker run here as in `up`.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    rate: u64,
    seconds: u64,
    rounds: usize,
    lines_per_message: usize,
    warmup: u64,
    /// Each receiver's window: publishes it has at the broker unacknowledged at most.
    window: u16,
    /// Receivers (connections) the load is spread over, message by message.
    receivers: usize,
}

fn args() -> Args {
    let mut a = Args {
        rate: 50_000,
        seconds: 10,
        rounds: 3,
        lines_per_message: 10,
        warmup: 5,
        window: 100,
        receivers: 1,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let value = argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (argv[i].as_str(), value) {
            ("--rate", Some(v)) => a.rate = v.max(1),
            ("--seconds", Some(v)) => a.seconds = v.max(1),
            ("--rounds", Some(v)) => a.rounds = v.max(1) as usize,
            ("--lines-per-message", Some(v)) => a.lines_per_message = v.max(1) as usize,
            ("--warmup", Some(v)) => a.warmup = v,
            ("--window", Some(v)) => a.window = v.clamp(1, u64::from(u16::MAX)) as u16,
            ("--receivers", Some(v)) => a.receivers = v.clamp(1, 1000) as usize,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

#[derive(Debug, Clone)]
struct RoundResult {
    sent: u64,
    received: u64,
    offered_per_s: f64,
    delivered_per_s: f64,
    /// Latencies of what was sent after the warm-up.
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    /// Latencies of what was sent during the warm-up.
    warmup_p99_ms: f64,
    warmup_max_ms: f64,
}

/// Run the future `make` gives on a thread named `name` with a runtime of its own, as a
/// separate process would have.
fn on_own_thread<T, F>(
    name: &str,
    make: impl FnOnce() -> F + Send + 'static,
) -> std::thread::JoinHandle<T>
where
    T: Send + 'static,
    F: std::future::Future<Output = T>,
{
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(make())
        })
        .expect("a thread")
}

/// Logins at the broker: ingest's and the subscriber's (none at a Mosquitto that lets anonymous
/// clients do everything; the embedded broker's anonymous clients may publish raw AIS only).
#[derive(Clone, Default)]
struct Logins {
    ingest: Option<(String, String)>,
    subscriber: Option<(String, String)>,
}

/// Run the ingest service against `broker` on its own thread until `stop` is set.
fn start_ingest(
    broker: SocketAddr,
    archive: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    login: Option<(String, String)>,
) -> std::thread::JoinHandle<()> {
    on_own_thread("ingest", move || async move {
        let mut cfg = ServiceConfig::new(&broker.ip().to_string(), broker.port(), archive);
        cfg.broker.client_id = format!("bench-ingest-{}", broker.port());
        cfg.broker.credentials = login;
        let handle = ServiceHandle::new();
        let h = handle.clone();
        if std::env::var_os("TW_TRACE").is_some() {
            // Where messages wait inside ingest, every 100 ms.
            let h = handle.clone();
            let start = Instant::now();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let s = h.stats();
                    eprintln!(
                        "  ingest at {:.1} s: {} messages, {} waiting for the worker, {} unacknowledged, {} observations unconfirmed",
                        start.elapsed().as_secs_f64(),
                        s.messages,
                        s.queue_broker,
                        s.unacked,
                        s.unconfirmed
                    );
                }
            });
        }
        service::run(cfg, handle, async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("ingest runs");
        let s = h.stats();
        eprintln!(
            "  ingest: {} messages, {} observations, {} connects, {} connection errors, rejected {:?}; at the end {} unacked, {} unconfirmed, {} queued",
            s.messages,
            s.observations,
            s.connects,
            s.connection_errors,
            s.rejected,
            s.unacked,
            s.unconfirmed,
            s.queue_broker
        );
    })
}

async fn client(
    id: &str,
    broker: SocketAddr,
    login: Option<&(String, String)>,
    window: u16,
) -> (AsyncClient, rumqttc::EventLoop) {
    let mut o = MqttOptions::new(id, broker.ip().to_string(), broker.port());
    o.set_inflight(window);
    if let Some((u, p)) = login {
        o.set_credentials(u, p);
    }
    o.set_max_packet_size(1 << 20, 1 << 20);
    o.set_keep_alive(Duration::from_secs(30));
    let (c, mut l) = AsyncClient::new(o, 1024);
    ingest::link::client::no_delay(&mut l);
    (c, l)
}

/// The subscriber (fusion's place), on a thread and runtime of its own as fusion is a
/// process of its own: latencies of every observation until `total` have come or none
/// has for two seconds after the publisher finished.
fn subscriber(
    broker: SocketAddr,
    total: u64,
    ready: std::sync::mpsc::Sender<()>,
    done: Arc<AtomicBool>,
    login: Option<(String, String)>,
) -> std::thread::JoinHandle<(Vec<(Timestamp, f64)>, Instant)> {
    on_own_thread("subscriber", move || async move {
        let (sub, mut sub_loop) = client("bench-sub", broker, login.as_ref(), 100).await;
        sub.subscribe("tidewatch/v1/obs/ais/#", QoS::AtLeastOnce)
            .await
            .unwrap();
        // The client's event loop runs as a task of its own, never cancelled
        // midway; arrivals come here stamped on arrival.
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Timestamp, Publish)>();
        let mut ready = Some(ready);
        let poller = tokio::spawn(async move {
            loop {
                match sub_loop.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(r) = ready.take() {
                            let _ = r.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((Timestamp::now(), p)).is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        eprintln!("  subscriber: {e}");
                        return;
                    }
                }
            }
        });
        let mut latencies = Vec::with_capacity(total as usize);
        let mut last = Instant::now();
        let started = Instant::now();
        let trace = std::env::var_os("TW_TRACE").is_some();
        // `TW_DUMP=FILE`: every arrival, seconds since the subscription, and its latency.
        let mut dump = std::env::var_os("TW_DUMP").map(|p| {
            std::io::BufWriter::new(std::fs::File::create(p).expect("TW_DUMP names a file"))
        });
        loop {
            let (now, p) = match tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
                Ok(Some(x)) => x,
                Ok(None) => break,
                Err(_) if done.load(Ordering::Relaxed) => break,
                Err(_) => continue,
            };
            let text = std::str::from_utf8(&p.payload).unwrap_or("");
            let Some(t) = text
                .split_once("\"time\":\"")
                .and_then(|(_, r)| r.split_once('"'))
                .and_then(|(t, _)| t.parse::<Timestamp>().ok())
            else {
                continue;
            };
            let ms = (now - t).total(jiff::Unit::Millisecond).unwrap_or(f64::NAN);
            if trace && latencies.len() % 25_000 == 0 {
                eprintln!(
                    "  trace: {} at {:?}: {ms:.1} ms",
                    latencies.len(),
                    last.elapsed()
                );
            }
            if let Some(d) = &mut dump {
                use std::io::Write as _;
                let _ = writeln!(d, "{:.4} {ms:.2}", started.elapsed().as_secs_f64());
            }
            latencies.push((t, ms));
            last = Instant::now();
            if latencies.len() as u64 >= total {
                break;
            }
        }
        poller.abort();
        let _ = sub.disconnect().await;
        (latencies, last)
    })
}

/// Publish at the offered rate for `warmup` then `seconds` (the receivers' place, on this
/// thread), while the subscriber collects observations on its own.
async fn drive(broker: SocketAddr, lines: &[String], a: &Args, logins: &Logins) -> RoundResult {
    let total = a.rate * (a.warmup + a.seconds);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let done = Arc::new(AtomicBool::new(false));
    let sub = subscriber(
        broker,
        total,
        ready_tx,
        done.clone(),
        logins.subscriber.clone(),
    );
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the subscriber subscribes");
    // Give ingest its subscription too.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut receivers = Vec::new();
    for r in 0..a.receivers {
        let (publisher, mut pub_loop) =
            client(&format!("bench-receiver-{r}"), broker, None, a.window).await;
        tokio::spawn(async move { while pub_loop.poll().await.is_ok() {} });
        receivers.push((publisher, format!("tidewatch/v1/raw/ais/bench-{r}")));
    }
    let mut messages = 0usize;
    let per_ms = a.rate as f64 / 1000.0;
    let start = Instant::now();
    // What is sent from here on is measured; before, the warm-up (a fresh broker's first
    // seconds: the engine's logs fill and wrap for the first time, with pauses of 20-40 ms
    // that do not come back once they have wrapped).
    let measure_from = Timestamp::now() + Duration::from_secs(a.warmup);
    let mut sent = 0u64;
    let mut n = 0u32;
    let mut message = Vec::with_capacity(a.lines_per_message * 100);
    let mut in_message = 0;
    while sent < total {
        let due = ((start.elapsed().as_secs_f64() * 1000.0 * per_ms) as u64).min(total);
        if sent >= due {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        while sent < due {
            n = n.wrapping_add(1);
            let line = &lines[sent as usize % lines.len()];
            message.extend_from_slice(&ingest::ais::tagblock::stamp(
                line.as_bytes(),
                Timestamp::now(),
                n,
            ));
            message.extend_from_slice(b"\r\n");
            in_message += 1;
            sent += 1;
            if in_message == a.lines_per_message || sent == total {
                let (publisher, topic) = &receivers[messages % receivers.len()];
                publisher
                    .publish(topic, QoS::AtLeastOnce, false, std::mem::take(&mut message))
                    .await
                    .unwrap();
                messages += 1;
                in_message = 0;
            }
        }
    }
    let offered_secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    let (latencies, last) = tokio::task::spawn_blocking(move || sub.join())
        .await
        .expect("the join task runs")
        .expect("the subscriber does not panic");
    let delivered_secs = (last - start).as_secs_f64();
    for (publisher, _) in &receivers {
        let _ = publisher.disconnect().await;
    }
    let received = latencies.len() as u64;
    let (warm, steady): (Vec<_>, Vec<_>) =
        latencies.into_iter().partition(|(t, _)| *t < measure_from);
    let pct = |v: &[f64], p: f64| -> f64 {
        if v.is_empty() {
            return f64::NAN;
        }
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    };
    let sorted = |v: Vec<(Timestamp, f64)>| {
        let mut ms: Vec<f64> = v.into_iter().map(|(_, ms)| ms).collect();
        ms.sort_by(f64::total_cmp);
        ms
    };
    let (warm, steady) = (sorted(warm), sorted(steady));
    RoundResult {
        sent: total,
        received,
        offered_per_s: total as f64 / offered_secs,
        delivered_per_s: received as f64 / delivered_secs,
        p50_ms: pct(&steady, 0.50),
        p99_ms: pct(&steady, 0.99),
        max_ms: pct(&steady, 1.0),
        warmup_p99_ms: pct(&warm, 0.99),
        warmup_max_ms: pct(&warm, 1.0),
    }
}

fn round(kind: &str, lines: &[String], a: &Args) -> RoundResult {
    let dir = std::env::temp_dir().join(format!(
        "tw-bench-{kind}-{}-{}",
        std::process::id(),
        tidewatch_tests::free_port()
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = match kind {
        "embedded" => {
            // The broker runs where `tidewatch up` runs it: beside ingest. Here it gets
            // its own thread, and ingest another, as the two tasks of `up` would share.
            let (addr_tx, addr_rx) = std::sync::mpsc::channel();
            let stop_broker = stop.clone();
            // Ingest and the subscriber (fusion's place) log in as `up`'s do; the receiver
            // publishes anonymously.
            let mut cfg = BrokerConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                ..BrokerConfig::default()
            };
            let logins = Logins {
                ingest: Some(
                    cfg.add_generated_user("ingest", Role::Ingest)
                        .unwrap()
                        .pair(),
                ),
                subscriber: Some(
                    cfg.add_generated_user("fusion", Role::Fusion)
                        .unwrap()
                        .pair(),
                ),
            };
            let broker_thread = on_own_thread("broker", move || async move {
                let broker = Broker::start(cfg)
                    .await
                    .expect("the embedded broker starts");
                addr_tx.send(broker.addr()).unwrap();
                while !stop_broker.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                eprintln!("  broker: {:?}", broker.stats());
                broker.shutdown().await;
            });
            let addr = addr_rx.recv().unwrap();
            let ingest = start_ingest(addr, dir.join("raw"), stop.clone(), logins.ingest.clone());
            let r = rt.block_on(drive(addr, lines, a, &logins));
            stop.store(true, Ordering::Relaxed);
            ingest.join().unwrap();
            broker_thread.join().unwrap();
            r
        }
        _ => {
            let mosquitto = tidewatch_tests::Mosquitto::start_with(false);
            let addr: SocketAddr = ([127, 0, 0, 1], mosquitto.port).into();
            let ingest = start_ingest(addr, dir.join("raw"), stop.clone(), None);
            let r = rt.block_on(drive(addr, lines, a, &Logins::default()));
            eprintln!(
                "  (mosquitto round done: {} of {} observed)",
                r.received, r.sent
            );
            stop.store(true, Ordering::Relaxed);
            ingest.join().unwrap();
            drop(mosquitto);
            r
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    // As `tidewatch` runs: 4 KiB pages (`ops_console::small_pages`).
    ops_console::small_pages();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // As `tidewatch up` logs: the engine's own logs off (its per-publish spans
                // cost the router thread more than the routing does).
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,rumqttd=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let a = args();
    // Distinct sentences for three seconds at the offered rate: ingest drops a sentence heard
    // again within its dedup window (2 s) as a duplicate.
    let lines = tidewatch_tests::position_reports((a.rate as usize * 3).max(200_000), 50_000);
    println!(
        "ingest loopback: {} sentences/s offered for {} s warm-up + {} s measured, {} sentences per MQTT message, QoS 1, {} receiver(s) with a window of {}, {} rounds per broker",
        a.rate, a.warmup, a.seconds, a.lines_per_message, a.receivers, a.window, a.rounds
    );
    let mut results: Vec<(&str, RoundResult)> = Vec::new();
    for r in 0..a.rounds {
        let kinds: &[&str] = if std::env::args().any(|x| x == "--embedded-only") {
            &["embedded"]
        } else {
            &["embedded", "mosquitto"]
        };
        for &kind in kinds {
            let res = round(kind, &lines, &a);
            println!(
                "round {} {kind:9}: sent {} observed {} | offered {:.0}/s delivered {:.0}/s | latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms | warm-up p99 {:.1} ms max {:.1} ms",
                r + 1,
                res.sent,
                res.received,
                res.offered_per_s,
                res.delivered_per_s,
                res.p50_ms,
                res.p99_ms,
                res.max_ms,
                res.warmup_p99_ms,
                res.warmup_max_ms
            );
            results.push((kind, res));
        }
    }
    let summary = |kind: &str| {
        let rs: Vec<&RoundResult> = results
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, r)| r)
            .collect();
        (
            median(rs.iter().map(|r| r.delivered_per_s).collect()),
            median(rs.iter().map(|r| r.p99_ms).collect()),
            rs.iter().map(|r| r.sent - r.received).sum::<u64>(),
        )
    };
    let (e_rate, e_p99, e_lost) = summary("embedded");
    let (m_rate, m_p99, m_lost) = summary("mosquitto");
    println!("median embedded : {e_rate:.0} sentences/s, p99 {e_p99:.1} ms, {e_lost} not observed");
    println!("median mosquitto: {m_rate:.0} sentences/s, p99 {m_p99:.1} ms, {m_lost} not observed");
    if e_p99.is_nan() || m_p99.is_nan() {
        println!(
            "(p99 NaN: none of the measured seconds' sentences was observed before the subscriber gave up, 2 s after the last arrival)"
        );
    }
    println!(
        "embedded / mosquitto: throughput {:.2}x, p99 {:.2}x",
        e_rate / m_rate,
        e_p99 / m_p99
    );
}
